"""Capacitated location models: maximal covering and p-median where a site serves at most its capacity.

Each site (a new candidate or an existing station) serves at most its capacity in
people. Demand is **split**: a demand point's population may be shared among several
open sites that reach it. Demand points are villages and communities, not single
households, so sharing one between two stations is what happens on the ground, and it
keeps the assignment a linear programme (single-sourcing would make every pair a binary
variable and turn a small MIP into a generalised assignment problem).

Both models are one sparse MIP over ``[y (candidates), f (pairs)]``:

* ``y_j`` ∈ {0, 1}: candidate ``j`` is opened (existing stations are always open and
  have no ``y``);
* ``f_e`` ∈ [0, 1]: the share of demand ``i``'s population ``w_i`` served through the
  pair ``e = (i, j)``; pairs exist only where ``j`` reaches ``i`` (within the standard for
  covering, within the travel-time cutoff for p-median), never a dense matrix;
* ``Σ_e∋i f_e ≤ 1`` (covering) or ``= 1`` (p-median), ``f_e ≤ y_j`` (a closed site
  serves nobody; this also tightens the LP bound), ``Σ_e∋j w_i f_e ≤ C_j y_j``
  (capacity ``C_j``; none for an unlimited site), ``Σ y ≤ p``.

**Existing stations** stay open and join the same assignment as fixed sites with their
own capacity (``existing_capacity``): their *remaining* capacity is not an input but
what the optimum leaves after the demand they keep. A point an overloaded station
reaches may therefore move, wholly or in part, to a new site, and the new sites fill
first where the existing stations are short. Without ``existing_capacity`` the existing
stations are unlimited, and the models reduce to the uncapacitated ones
(:func:`planner.siting.models.maximal_covering`; the p-median with existing stations
fixed).

Solving: a greedy warm start (sites by capacity-capped gain), its exact assignment by
LP. The covering model then runs HiGHS (:mod:`planner.siting._highs`: its own thread,
time limit, quiet) with that start; the reported bound is HiGHS's proven dual bound.
The p-median's MIP carries one ``f <= y`` row per pair, and at county scale (150,000+
pairs) HiGHS does not finish its root LP within a minute, so the p-median first works on
the Lagrangian relaxation of the demand rows (:mod:`planner.siting._capacity_lagrangian`:
one continuous knapsack per site, a proven bound for any multipliers): the sites the
relaxation opens, Cooper's relocations (:func:`_relocate`) and swaps (:func:`_swaps`)
give the plans, each priced by its assignment LP over the open sites' pairs only. The
MIP runs only when the pairs left after the Lagrangian fixing of sites are few
(``mip_max_pairs``). Given the chosen sites, the best split is one LP; the results
carry it (loads per site, minutes per point).

Pairs: the uncapacitated p-median drops every pair no faster than the point's existing
station. With capacities that holds only for an existing station *without* a capacity
(:func:`_useful_pairs`); a capacitated station may be full, and then a slower
candidate is what serves the point, so its pairs stay up to the cutoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from planner._errors import InputError, SitingError, SolverError, ids_text
from planner.network.times import TravelTimes
from planner.siting import _capacity_lagrangian as _lag
from planner.siting import _highs
from planner.siting.location import LocationResult, TimeProblem
from planner.siting.models import DEFAULT_MIP_REL_GAP, DEFAULT_TIME_LIMIT_S, SitingResult, Solver
from planner.siting.problem import CoverageProblem, ReductionReport, _merge_identical_rows

logger = logging.getLogger(__name__)

__all__ = [
    "CapacitatedSitingResult",
    "capacitated_max_cover",
    "capacitated_p_median",
    "existing_cover_from_assignment",
]

#: Relative tolerance when comparing served populations and capacities.
CAPACITY_RTOL = 1e-7


# =========================================================================== inputs


def _capacity(values: ArrayLike | None, size: int, *, name: str) -> NDArray[np.float64]:
    """Capacities in people (``inf`` unlimited; ``NaN`` and ``None`` read as unlimited)."""
    if values is None:
        return np.full(size, np.inf)
    c = np.asarray(values, dtype=np.float64).ravel()
    if len(c) != size:
        raise InputError("siting.error.length_mismatch", name=name, length=len(c), expected=size)
    c = np.where(np.isnan(c), np.inf, c)
    if (c < 0).any():
        row = int(np.argmax(c < 0))
        raise InputError("siting.error.bad_capacity", name=name, row=row + 1, value=float(c[row]))
    return c


def existing_cover_from_assignment(station: ArrayLike, *, n_stations: int) -> sp.csr_matrix:
    """Demand × existing-station matrix from one station per demand point (``-1``: none).

    The coverage load report assigns each demand point to its nearest station within
    the standard (:func:`planner.coverage.analyse.summarise`); this turns that
    assignment into the ``existing_cover`` of :func:`capacitated_max_cover`, so the
    model's existing stations serve the demand the load report gives them.
    """
    s = np.asarray(station, dtype=np.int64).ravel()
    ok = s >= 0
    return sp.csr_matrix((np.ones(int(ok.sum()), bool), (np.flatnonzero(ok), s[ok])), shape=(len(s), int(n_stations)))


# =========================================================================== the model


@dataclass(frozen=True, eq=False)
class _Pairs:
    """Sparse assignment structure: ``n_new`` candidate columns first, then existing stations."""

    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    minutes: NDArray[np.float64]
    w: NDArray[np.float64]
    capacity: NDArray[np.float64]  # per column (candidates, then existing)
    n_new: int
    full: bool  # every demand row must be served (p-median) or at most (covering)

    @property
    def n_cols(self) -> int:
        return len(self.capacity)

    def keep(self, mask: NDArray[np.bool_]) -> _Pairs:
        return _Pairs(
            self.rows[mask], self.cols[mask], self.minutes[mask], self.w, self.capacity, self.n_new, self.full
        )

    def with_open(self, open_new: NDArray[np.bool_]) -> _Pairs:
        """The pairs of the open candidates and of every existing station."""
        is_open = np.concatenate([open_new, np.ones(self.n_cols - self.n_new, bool)])
        return self.keep(is_open[self.cols])


def _rows(pairs: _Pairs, *, with_y: bool) -> tuple[sp.csr_matrix, NDArray[np.float64], NDArray[np.float64]]:
    """Rows over ``[y (n_new, when with_y), f (pairs)]``: demand, capacity, linking."""
    m, n_e = len(pairs.w), len(pairs.rows)
    off = pairs.n_new if with_y else 0
    n_vars = off + n_e
    e = np.arange(n_e)
    blocks = [sp.csr_matrix((np.ones(n_e), (pairs.rows, off + e)), shape=(m, n_vars))]
    lo = [np.where(pairs.w > 0, 1.0, -np.inf) if pairs.full else np.full(m, -np.inf)]  # nobody to serve: free
    hi = [np.ones(m)]
    finite = np.isfinite(pairs.capacity)
    cap_row = np.full(pairs.n_cols, -1, dtype=np.int64)
    cap_row[finite] = np.arange(int(finite.sum()))
    k = cap_row[pairs.cols]
    on = k >= 0
    r_i = [k[on]]
    c_i = [off + e[on]]
    v_i = [pairs.w[pairs.rows[on]]]
    bound = pairs.capacity[finite].copy()
    new_finite = np.flatnonzero(finite[: pairs.n_new])
    if with_y:
        r_i.append(cap_row[new_finite])
        c_i.append(new_finite)
        v_i.append(-pairs.capacity[new_finite])
        bound[cap_row[new_finite]] = 0.0
    blocks.append(
        sp.csr_matrix(
            (np.concatenate(v_i), (np.concatenate(r_i), np.concatenate(c_i))), shape=(int(finite.sum()), n_vars)
        )
    )
    lo.append(np.full(int(finite.sum()), -np.inf))
    hi.append(bound)
    if with_y:  # f_e <= y_j for the candidates' pairs
        new = np.flatnonzero(pairs.cols < pairs.n_new)
        n_l = len(new)
        link = sp.csr_matrix(
            (
                np.concatenate([np.ones(n_l), -np.ones(n_l)]),
                (np.concatenate([np.arange(n_l), np.arange(n_l)]), np.concatenate([off + new, pairs.cols[new]])),
            ),
            shape=(n_l, n_vars),
        )
        blocks.append(link)
        lo.append(np.full(n_l, -np.inf))
        hi.append(np.zeros(n_l))
    return sp.csr_matrix(sp.vstack(blocks, format="csr")), np.concatenate(lo), np.concatenate(hi)


def _objective(pairs: _Pairs) -> NDArray[np.float64]:
    """Per pair: people served (covering, maximised) or people × minutes (p-median, minimised)."""
    people = pairs.w[pairs.rows]
    out: NDArray[np.float64] = people * pairs.minutes if pairs.full else people
    return out


@dataclass(frozen=True)
class _Assignment:
    """Best split of the demand over a fixed set of open sites."""

    feasible: bool
    objective: float
    share: NDArray[np.float64]  # f per pair of ``pairs``
    pairs: _Pairs
    minutes_dual: NDArray[np.float64] | None = None  # per demand row: the LP's marginal minutes per person
    timed_out: bool = False

    def load(self) -> NDArray[np.float64]:
        """People served by each column."""
        people = self.share * self.pairs.w[self.pairs.rows]
        out = np.bincount(self.pairs.cols, weights=people, minlength=self.pairs.n_cols).astype(np.float64)
        return out

    def served(self) -> NDArray[np.float64]:
        """Share of each demand row served."""
        out = np.bincount(self.pairs.rows, weights=self.share, minlength=len(self.pairs.w)).astype(np.float64)
        return out


def _lp(sub: _Pairs) -> tuple[Any, NDArray[np.float64]]:
    """HiGHS model of the assignment LP over the pairs ``sub`` (all open), not yet run; and its objective."""
    import highspy

    n_e = len(sub.rows)
    obj = _objective(sub)
    rows, lo, hi = _rows(sub, with_y=False)
    rows.sort_indices()
    inf = highspy.kHighsInf
    h = _highs._quiet_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")  # a transportation LP: presolve costs more than it saves (0.23 → 0.16 s)
    status = h.passModel(
        int(n_e),
        int(rows.shape[0]),
        int(rows.nnz),
        int(highspy.MatrixFormat.kRowwise),
        int(highspy.ObjSense.kMinimize if sub.full else highspy.ObjSense.kMaximize),
        0.0,
        obj.astype(np.float64),
        np.zeros(n_e),
        np.ones(n_e),
        np.where(np.isinf(lo), -inf, lo),
        np.where(np.isinf(hi), inf, hi),
        rows.indptr.astype(np.int32),
        rows.indices.astype(np.int32),
        rows.data.astype(np.float64),
        np.zeros(n_e, dtype=np.int32),
    )
    if status == highspy.HighsStatus.kError:
        raise SolverError("siting.error.solver_failed", status="passModel", solver="HiGHS")
    return h, obj


def _run_lp(h: Any, *, time_limit_s: float | None) -> str:
    """Run the LP ``h``: ``"optimal"``, ``"infeasible"`` or ``"time_limit"``."""
    import highspy

    h.setOptionValue("time_limit", float(time_limit_s) if time_limit_s is not None else highspy.kHighsInf)
    h.run()
    ms = h.getModelStatus()
    if ms == highspy.HighsModelStatus.kOptimal:
        return "optimal"
    if ms == highspy.HighsModelStatus.kInfeasible:
        return "infeasible"
    if ms in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt):
        return "time_limit"
    raise SolverError("siting.error.solver_failed", status=h.modelStatusToString(ms), solver="HiGHS")


def _assign(pairs: _Pairs, open_new: NDArray[np.bool_], *, time_limit_s: float | None = None) -> _Assignment:
    """Solve the assignment LP of the open candidates and the existing stations (HiGHS).

    Past ``time_limit_s`` the result is not feasible and has ``timed_out`` set.
    """
    sub = pairs.with_open(open_new)
    n_e = len(sub.rows)
    if n_e == 0:
        ok = not sub.full or not (sub.w > 0).any()
        return _Assignment(ok, 0.0 if ok else np.inf, np.zeros(0), sub)
    h, obj = _lp(sub)
    status = _run_lp(h, time_limit_s=time_limit_s)
    if status != "optimal":
        return _Assignment(False, np.inf, np.zeros(n_e), sub, timed_out=status == "time_limit")
    solution = h.getSolution()
    share = np.clip(np.asarray(solution.col_value, dtype=np.float64), 0.0, 1.0)
    dual = np.asarray(solution.row_dual, dtype=np.float64)[: len(sub.w)]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_person = np.where(sub.w > 0, dual / np.where(sub.w > 0, sub.w, 1.0), 0.0)
    return _Assignment(True, float(obj @ share), share, sub, per_person)


def _solve(
    pairs: _Pairs,
    *,
    p: int,
    start_open: NDArray[np.bool_] | None,
    solver: Solver,
    time_limit_s: float,
    mip_rel_gap: float,
) -> tuple[NDArray[np.bool_], float, str, str]:
    """The best open set: (open candidates, bound, status, solver label)."""
    start_val = np.inf if pairs.full else -np.inf
    start_asg = _assign(pairs, start_open) if start_open is not None else None
    if start_asg is not None and start_asg.feasible:
        start_val = start_asg.objective
    if solver == "greedy":
        if start_open is None or start_asg is None or not start_asg.feasible:
            raise SitingError("siting.error.heuristic_infeasible")
        return start_open, float("nan"), "heuristic", "greedy"
    n = pairs.n_new
    rows, lo, hi = _rows(pairs, with_y=True)
    p_row = sp.csr_matrix((np.ones(n), (np.zeros(n, dtype=np.int64), np.arange(n))), shape=(1, rows.shape[1]))
    rows = sp.csr_matrix(sp.vstack([rows, p_row], format="csr"))
    lo = np.concatenate([lo, [-np.inf]])
    hi = np.concatenate([hi, [float(p)]])
    obj = np.concatenate([np.zeros(n), _objective(pairs)])
    start = None
    if start_open is not None and start_asg is not None and start_asg.feasible:
        # the start's shares, placed on the full pair list (pairs of closed sites: 0)
        is_open = np.concatenate([start_open, np.ones(pairs.n_cols - n, bool)])
        f0 = np.zeros(len(pairs.rows))
        f0[is_open[pairs.cols]] = start_asg.share
        start = np.concatenate([start_open.astype(np.float64), f0])
    out = _highs._run_highs(
        obj=obj,
        maximise=not pairs.full,
        offset=0.0,
        col_hi=np.ones(len(obj)),
        integrality=np.concatenate([np.ones(n, dtype=np.int32), np.zeros(len(pairs.rows), dtype=np.int32)]),
        rows=rows,
        row_lo=lo,
        row_hi=hi,
        n_x=n,
        start=start,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
    )
    chosen = np.zeros(n, bool)
    chosen[out.selected] = True
    better = out.objective < start_val if pairs.full else out.objective > start_val
    if start_open is not None and np.isfinite(start_val) and not better:
        chosen = start_open
    return chosen, float(out.bound), out.status, "highs"


def _greedy(pairs: _Pairs, *, p: int, current: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Greedy warm start: ``p`` times the candidate whose capacity-capped gain is largest.

    ``current`` is, per demand row, what is left to gain: people not yet served
    (covering), or minutes to the best site so far (p-median; a large number when none).
    A site's gain is its people × improvement over the pairs it reaches, scaled down to
    its capacity when it reaches more people than it can serve.
    """
    n = pairs.n_new
    new = pairs.cols < n
    r, c, t = pairs.rows[new], pairs.cols[new], pairs.minutes[new]
    w = pairs.w[r]
    cur = current.copy()
    chosen = np.zeros(n, bool)
    for _ in range(min(p, n)):
        if pairs.full:
            gain_e = w * np.maximum(cur[r] - t, 0.0)
            reach_e = w * (cur[r] > t)
        else:  # ``current`` is already in people
            gain_e = cur[r]
            reach_e = gain_e
        gain = np.bincount(c, weights=gain_e, minlength=n)
        reach = np.bincount(c, weights=reach_e, minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(reach > pairs.capacity[:n], pairs.capacity[:n] / reach, 1.0)
        gain = np.where(chosen, -1.0, gain * scale)
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen[j] = True
        mine = c == j
        if pairs.full:
            np.minimum.at(cur, r[mine], t[mine])
        else:
            cur[r[mine]] *= 1.0 - min(float(scale[j]), 1.0)
    return chosen


def _gap(objective: float, bound: float, *, maximise: bool) -> float:
    if not np.isfinite(bound) or not np.isfinite(objective):
        return float("nan")
    if objective == bound:
        return 0.0
    gap = (bound - objective) / bound if maximise else (objective - bound) / objective
    return max(float(gap), 0.0) if (bound if maximise else objective) > 0 else 0.0


def _check(p: int, n: int, *, solver: str, time_limit_s: float, mip_rel_gap: float) -> None:
    if solver not in ("highs", "greedy"):
        raise SitingError("siting.error.bad_solver", solver=solver)
    if not time_limit_s > 0:
        raise SitingError("siting.error.bad_option", name="time_limit_s", value=time_limit_s)
    if not 0 <= mip_rel_gap < 1:
        raise SitingError("siting.error.bad_option", name="mip_rel_gap", value=mip_rel_gap)
    if n == 0:
        raise SitingError("siting.error.no_candidates")
    if p < 0:
        raise SitingError("siting.error.bad_p", p=p)
    if p > n:
        raise SitingError("siting.error.p_too_large", p=p, count=n)


# =========================================================================== capacitated MCLP


@dataclass(frozen=True, eq=False)
class CapacitatedSitingResult(SitingResult):
    """A :class:`~planner.siting.models.SitingResult` with the loads of the capacitated assignment.

    ``objective`` is the population *served* (assigned within the standard and within
    capacity), existing stations included; ``existing_covered`` what the existing
    stations serve alone; ``newly_covered`` what each new site adds in rank order.

    Attributes
    ----------
    site_load, site_capacity
        People each new site serves in the optimum and its capacity (rank order).
    existing_load
        People each existing station serves in the optimum (``existing_cover`` columns).
    """

    site_load: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    site_capacity: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    existing_load: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


def capacitated_max_cover(
    problem: CoverageProblem,
    *,
    p: int,
    capacity: ArrayLike,
    existing_cover: sp.spmatrix | None = None,
    existing_capacity: ArrayLike | None = None,
    solver: Solver = "highs",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
) -> CapacitatedSitingResult:
    """Choose up to ``p`` new sites serving the most population within the standard and the capacities.

    Parameters
    ----------
    problem
        The coverage problem (which candidate reaches which demand within the standard).
    p
        Number of new sites.
    capacity
        People each candidate can serve (``inf`` or ``NaN``: unlimited).
    existing_cover
        Demand × existing-station matrix of the pairs within the standard (e.g. the load
        report's assignment, :func:`existing_cover_from_assignment`). Its rows with a
        pair must be the problem's ``covered_by_existing``. ``None``: the existing
        stations serve all the demand they cover (unlimited).
    existing_capacity
        People each existing station (column of ``existing_cover``) can serve;
        ``None``: unlimited. Needs ``existing_cover``.
    solver
        ``"highs"`` (exact MIP, warm-started from greedy) or ``"greedy"``.
    time_limit_s, mip_rel_gap
        Limits of the MIP; the best sites and the proven bound so far are returned.

    Returns
    -------
    CapacitatedSitingResult
        ``model`` ``"mclp_capacitated"``; ``bound`` is a proven upper bound on the
        served population, ``gap`` relative to it.
    """
    t0 = time.perf_counter()
    n = problem.n_candidates
    _check(p, n, solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    cap = _capacity(capacity, n, name="capacity")
    m = problem.n_demand
    if existing_cover is None:
        if existing_capacity is not None:
            raise SitingError("siting.error.capacity_without_cover")
        ex = sp.csr_matrix((m, 0), dtype=bool)
        keep = ~problem.covered_by_existing
        fixed = problem.existing_population
    else:
        ex = sp.csr_matrix(existing_cover, dtype=bool)
        if ex.shape[0] != m:
            raise InputError("siting.error.length_mismatch", name="existing_cover", length=ex.shape[0], expected=m)
        has = np.diff(ex.indptr) > 0
        if (has != problem.covered_by_existing).any():
            bad = problem.demand_ids[has != problem.covered_by_existing]
            raise InputError("siting.error.existing_cover_mismatch", count=len(bad), ids=ids_text(bad))
        keep = np.ones(m, bool)
        fixed = 0.0
    ex_cap = _capacity(existing_capacity, ex.shape[1], name="existing_capacity")
    both = sp.csr_matrix(sp.hstack([problem.cover, ex], format="csr"))
    reached = keep & (np.diff(both.indptr) > 0) & (problem.weights > 0)
    merged, w = _merge_identical_rows(sp.csr_matrix(both[np.flatnonzero(reached)]), problem.weights[reached])
    merged = sp.csr_matrix(merged)
    merged.sort_indices()
    r = np.repeat(np.arange(merged.shape[0], dtype=np.int64), np.diff(merged.indptr))
    pairs = _Pairs(
        r, merged.indices.astype(np.int64), np.zeros(len(r)), w, np.concatenate([cap, ex_cap]), n, full=False
    )
    before = _assign(pairs, np.zeros(n, bool))
    th = time.perf_counter()
    start = _greedy(pairs, p=p, current=w * (1.0 - np.minimum(before.served(), 1.0)))
    logger.info("capacitated MCLP greedy start: %d sites in %.3f s", int(start.sum()), time.perf_counter() - th)
    remaining = max(t0 + time_limit_s - time.perf_counter(), 0.1)
    chosen, bound, status, label = _solve(
        pairs, p=p, start_open=start, solver=solver, time_limit_s=remaining, mip_rel_gap=mip_rel_gap
    )
    # rank the chosen sites by load, then the served population as they are added in that order
    best = _assign(pairs, chosen)
    cols = np.flatnonzero(chosen)
    order = cols[np.argsort(-best.load()[cols], kind="stable")]
    served = [before.objective]
    mask = np.zeros(n, bool)
    for j in order:
        mask[j] = True
        served.append(_assign(pairs, mask).objective)
    gains = np.diff(np.asarray(served))
    useful = gains > CAPACITY_RTOL * max(1.0, best.objective)
    order, gains = order[useful], gains[useful]
    objective = fixed + best.objective
    bound_total = fixed + bound if np.isfinite(bound) else bound
    cost = problem.candidate_cost[order] if problem.candidate_cost is not None else np.ones(len(order))
    report = ReductionReport(
        n_demand=m,
        n_candidates=n,
        nnz=int(problem.cover.nnz),
        n_demand_reduced=int(merged.shape[0]),
        n_candidates_reduced=n,
        nnz_reduced=len(r),
        dropped_existing=int((~keep).sum()),
        dropped_uncoverable=int((keep & ~reached).sum()),
        merged_demand=int(reached.sum() - merged.shape[0]),
        dominated_candidates=0,
        seconds=time.perf_counter() - t0,
    )
    gap = _gap(objective, bound_total, maximise=True)
    load = best.load()
    return CapacitatedSitingResult(
        model="mclp_capacitated",
        site_ids=problem.candidate_ids[order],
        newly_covered=gains,
        site_cost=cost,
        objective=objective,
        existing_covered=fixed + before.objective,
        total_population=problem.total_population,
        n_sites=len(order),
        cost=float(cost.sum()),
        bound=bound_total,
        gap=gap,
        status=status,
        solver=label,
        seconds=time.perf_counter() - t0,
        reduction=report,
        uncoverable_ids=problem.demand_ids[~problem.covered_by_existing & ~problem.coverable],
        site_load=load[order],
        site_capacity=cap[order],
        existing_load=load[n:],
    )


# =========================================================================== capacitated p-median


#: Largest MIP (pairs, after the Lagrangian fixing of sites) the capacitated p-median hands to
#: HiGHS; larger problems end with the Lagrangian bound and the swaps. The MIP's root LP
#: carries one ``f <= y`` row per pair: at 12,000 pairs it already takes HiGHS about a minute.
MIP_MAX_PAIRS = 5_000
#: Rounds of the search: subgradient steps (from the first step factor) until the first
#: share of the search time, then swaps until the second. The second round resumes from
#: the best multipliers, with smaller steps, towards the objective the swaps improved.
ROUNDS = ((1.0, 0.3, 0.55), (0.25, 0.75, 1.0))
#: Share of the subgradient phase's time its heuristic (one assignment LP per new set of
#: sites the relaxation opens) may use.
HEURISTIC_SHARE = 0.5
#: Swap-in candidates: this many times ``p`` unopened sites with the best Lagrangian value.
SWAP_CANDIDATES_PER_SITE = 3
#: Time kept back from the search for the result: these seconds, plus per chosen site this
#: share of a cold assignment LP (its closing rise is re-solved from a basis), at most
#: this share of the time limit.
RESULT_RESERVE_S = 0.3
CLOSING_LP_SHARE = 0.25
RESULT_RESERVE_SHARE = 0.25


def _useful_pairs(
    r: NDArray[np.int64],
    c: NDArray[np.int64],
    t: NDArray[np.float64],
    capacity: NDArray[np.float64],
    *,
    n_new: int,
    m: int,
) -> NDArray[np.bool_]:
    """Pairs some optimal split may need: all but those slower than an *unlimited* existing station.

    A pair no faster than a station without a capacity that reaches the same point can
    hand its people to that station at no extra minutes and frees its own capacity, so
    it is never needed (the uncapacitated p-median's reduction,
    :meth:`~planner.siting.location.TimeProblem.useful_pairs`). A station *with* a
    capacity may be full, and then a slower candidate is what serves the point: those
    pairs stay, up to the cutoff of the travel times. (The Lagrangian bound reads all of
    them at the cost of a few vector operations; the assignment LPs see only the pairs of
    the sites they open.)
    """
    free = (c >= n_new) & ~np.isfinite(capacity[c])
    fastest_free = np.full(m, np.inf)
    np.minimum.at(fastest_free, r[free], t[free])
    keep: NDArray[np.bool_] = np.where(c < n_new, t < fastest_free[r], t <= fastest_free[r])
    return keep


def _check_servable(pairs: _Pairs, *, demand_ids: NDArray[Any]) -> None:
    """Raise when even every candidate open leaves people unserved (one LP over all pairs: slow, only on failure)."""
    everything = _assign(replace(pairs, full=False), np.ones(pairs.n_new, bool))  # most servable
    need = float(pairs.w.sum())
    if everything.objective < need * (1 - CAPACITY_RTOL):
        short = (everything.served() < 1 - 1e-6) & (pairs.w > 0)
        raise SitingError(
            "siting.error.capacity_short_reach",
            short=f"{need - everything.objective:,.0f}",
            demand=f"{need:,.0f}",
            count=int(short.sum()),
            ids=ids_text(demand_ids[short]),
        )


class _Evaluator:
    """Assignment LPs of sets of open candidates, remembered, with the best feasible one kept.

    Calls past ``deadline`` return ``inf`` without solving; an LP is given the time left.
    """

    def __init__(self, pairs: _Pairs, *, deadline: float) -> None:
        self.pairs = pairs
        self.deadline = deadline
        self.values: dict[bytes, float] = {}
        self.best: _Assignment | None = None
        self.best_open = np.zeros(pairs.n_new, bool)
        self.count = 0
        self.seconds = 0.0
        people = pairs.w > 0
        self._needy = np.flatnonzero(people)
        is_ex = pairs.cols >= pairs.n_new
        self._ex_reached = np.bincount(pairs.rows[is_ex], minlength=len(pairs.w)) > 0

    @property
    def value(self) -> float:
        """Objective of the best feasible set so far (``inf``: none)."""
        return self.best.objective if self.best is not None else np.inf

    def reaches_all(self, open_new: NDArray[np.bool_]) -> bool:
        """Whether every point with people has an open site or an existing station in reach."""
        on = open_new[np.minimum(self.pairs.cols, self.pairs.n_new - 1)] & (self.pairs.cols < self.pairs.n_new)
        reached = self._ex_reached | (np.bincount(self.pairs.rows[on], minlength=len(self.pairs.w)) > 0)
        return bool(reached[self._needy].all())

    def __call__(self, open_new: NDArray[np.bool_]) -> float:
        """Objective of the open set (``inf``: infeasible, or no time left to find out)."""
        key = np.packbits(open_new).tobytes()
        if key in self.values:
            return self.values[key]
        left = self.deadline - time.perf_counter()
        if left <= 0:
            return np.inf
        if not self.reaches_all(open_new):
            self.values[key] = np.inf
            return np.inf
        t0 = time.perf_counter()
        asg = _assign(self.pairs, open_new, time_limit_s=left)
        self.seconds += time.perf_counter() - t0
        self.count += 1
        if asg.timed_out:
            return np.inf
        self.values[key] = asg.objective
        if asg.feasible and asg.objective < self.value:
            self.best, self.best_open = asg, open_new.copy()
        return asg.objective

    def assignment(self, open_new: NDArray[np.bool_]) -> _Assignment | None:
        """The assignment of ``open_new``: the best one kept, else solved again (no time limit)."""
        if self.best is not None and np.array_equal(open_new, self.best_open):
            return self.best
        return _assign(self.pairs, open_new)


@dataclass(frozen=True)
class _Found:
    """Outcome of a search: open candidates, proven bound, status, solver label."""

    open_new: NDArray[np.bool_]
    bound: float
    status: str
    solver: str
    proven_infeasible: bool = False


def _search(
    pairs: _Pairs,
    *,
    p: int,
    evaluate: _Evaluator,
    deadline: float,
    mip_rel_gap: float,
    mip_max_pairs: int,
    info: dict[str, Any],
) -> _Found:
    """Lagrangian bound with its heuristic, swaps, then the MIP when small enough.

    Each phase stops once the best objective is within ``mip_rel_gap`` of the bound.
    """
    t_start = time.perf_counter()
    n = pairs.n_new
    arr = _lag.CapArrays.from_pairs(
        rows=pairs.rows, cols=pairs.cols, minutes=pairs.minutes, w=pairs.w, capacity=pairs.capacity, n_new=n
    )
    v0 = evaluate.best.minutes_dual if evaluate.best is not None else None
    if v0 is None:  # no feasible start: begin at each point's slowest pair (every knapsack wants it)
        v0 = np.zeros(arr.m)
        np.maximum.at(v0, arr.rows, arr.minutes)
    label = "lagrangian"
    bound = -np.inf
    lag: _lag.LagrangianResult | None = None

    def done() -> bool:
        return evaluate.best is not None and evaluate.value - bound <= mip_rel_gap * evaluate.value

    if _relocate(evaluate, deadline=deadline):
        label = "lagrangian+relocate"
    # rounds of subgradient steps (their heuristic opens the relaxation's sites) and swaps;
    # the second round resumes from the best multipliers towards the better objective
    for alpha0, steps_until, swaps_until in ROUNDS:
        if done() or time.perf_counter() >= deadline:
            break
        lag = _lag.subgradient(
            arr,
            p=p,
            v0=v0 if lag is None else lag.v,
            upper=lambda: evaluate.value,
            deadline=min(deadline, t_start + steps_until * (deadline - t_start)),
            target_gap=mip_rel_gap,
            on_selection=_lagrangian_heuristic(evaluate, p=p),
            alpha0=alpha0,
        )
        info["lagrangian_steps"] = info.get("lagrangian_steps", 0) + lag.iterations
        bound = max(bound, lag.bound)
        swap_deadline = min(deadline, t_start + swaps_until * (deadline - t_start))
        if (
            not done()
            and evaluate.best is not None
            and _swaps(evaluate, arr=arr, p=p, deadline=swap_deadline, done=done)
        ):
            label = "lagrangian+swap"
    assert lag is not None
    if not done() and time.perf_counter() < deadline:
        closed, _ = _lag.fixed_sites(lag.relaxed, bound=lag.bound, upper=evaluate.value, n_new=n, p=p)
        closed &= ~evaluate.best_open
        sub = pairs.keep(~np.concatenate([closed, np.zeros(pairs.n_cols - n, bool)])[pairs.cols])
        info["sites_fixed_closed"] = int(closed.sum())
        info["pairs_mip"] = len(sub.rows)
        if len(sub.rows) <= mip_max_pairs:
            start = evaluate.best_open if evaluate.best is not None else None
            try:
                chosen, mip_bound, _, _ = _solve(
                    sub, p=p, start_open=start, solver="highs", mip_rel_gap=mip_rel_gap,
                    time_limit_s=max(deadline - time.perf_counter(), 0.1),
                )  # fmt: skip
            except SitingError as err:
                if err.key != "siting.error.infeasible_constraints":
                    raise
                # no better plan avoids the closed sites; without an incumbent, none at all
                proven = evaluate.value if evaluate.best is not None else bound
                return _Found(evaluate.best_open, proven, "optimal", label, proven_infeasible=evaluate.best is None)
            evaluate(chosen)
            bound = max(bound, float(mip_bound)) if np.isfinite(mip_bound) else bound
            label = "highs"
    status = "optimal" if done() else ("time_limit" if time.perf_counter() >= deadline else "heuristic")
    return _Found(evaluate.best_open, bound, status, label)


def _lagrangian_heuristic(evaluate: _Evaluator, *, p: int) -> Callable[[NDArray[np.int64]], None]:
    """Evaluate the relaxation's sites (topped up from the best set), within :data:`HEURISTIC_SHARE` of the time.

    A new best set is improved at once by :func:`_relocate`.
    """
    started, spent = time.perf_counter(), evaluate.seconds

    def run(selected: NDArray[np.int64]) -> None:
        if evaluate.seconds - spent > HEURISTIC_SHARE * (time.perf_counter() - started):
            return
        mask = np.zeros(len(evaluate.best_open), bool)
        mask[selected] = True
        before = evaluate.value
        if evaluate(_top_up(mask, evaluate.best_open, p=p)) < before:  # a new best: relocate its sites
            _relocate(evaluate, deadline=evaluate.deadline)

    return run


def _top_up(mask: NDArray[np.bool_], fill: NDArray[np.bool_], *, p: int) -> NDArray[np.bool_]:
    """``mask`` with sites of ``fill`` added up to ``p`` open (an extra site never hurts)."""
    out = mask.copy()
    extra = np.flatnonzero(fill & ~mask)[: max(p - int(mask.sum()), 0)]
    out[extra] = True
    return out


def _relocate(evaluate: _Evaluator, *, deadline: float) -> bool:
    """Cooper's locate–allocate step: move each open site's people, as a whole, to a better candidate.

    For every open candidate ``j`` and its people in the best split (its *cluster*), a
    closed candidate ``k`` that reaches every point of the cluster, has the capacity for
    all of it and serves it in fewer people × minutes can take ``j``'s place: the moved
    split stays feasible and costs less, and the assignment LP of the new sites can only
    improve on it. All such moves to distinct ``k`` are made at once (one sparse product
    prices every (cluster, candidate) pair), then the LP re-splits; repeated while it
    improves. Returns whether it did.
    """
    pairs = evaluate.pairs
    n = pairs.n_new
    new = pairs.cols < n
    m = len(pairs.w)
    # minutes + 1 keeps a zero-minute pair in the sparse product's pattern
    minutes_1 = sp.csr_matrix((pairs.minutes[new] + 1.0, (pairs.rows[new], pairs.cols[new])), shape=(m, n))
    reach = sp.csr_matrix((np.ones(int(new.sum())), (pairs.rows[new], pairs.cols[new])), shape=(m, n))
    improved = False
    while time.perf_counter() < deadline and evaluate.best is not None:
        best, cur = evaluate.best, evaluate.best_open
        sub = best.pairs
        on = (sub.cols < n) & (best.share > 0)
        people = best.share[on] * sub.w[sub.rows[on]]
        cluster = sp.csr_matrix((people, (sub.cols[on], sub.rows[on])), shape=(n, m))
        load = np.asarray(cluster.sum(axis=1)).ravel()
        own = np.bincount(sub.cols[on], weights=people * sub.minutes[on], minlength=n)
        priced = (cluster @ minutes_1).tocoo()
        j, k = priced.row.astype(np.int64), priced.col.astype(np.int64)
        got = np.asarray((cluster @ reach).tocsr()[j, k]).ravel()  # people of cluster j that k reaches
        value = priced.data - got
        ok = (
            cur[j]
            & ~cur[k]
            & (got >= load[j] * (1 - CAPACITY_RTOL))
            & (pairs.capacity[k] >= load[j] * (1 - CAPACITY_RTOL))
            & (value < own[j] * (1 - 1e-9))
        )
        if not ok.any():
            break
        j, k, gain = j[ok], k[ok], own[j[ok]] - value[ok]
        trial = cur.copy()
        taken = np.zeros(n, bool)
        for idx in np.argsort(-gain, kind="stable"):  # best first, each site and candidate once
            if trial[j[idx]] and not taken[j[idx]] and not trial[k[idx]]:
                trial[j[idx]], trial[k[idx]] = False, True
                taken[k[idx]] = True
        before = evaluate.value
        if not evaluate(trial) < before:
            break
        improved = True
    return improved


def _swaps(
    evaluate: _Evaluator,
    *,
    arr: _lag.CapArrays,
    p: int,
    deadline: float,
    done: Callable[[], bool],
) -> bool:
    """First-improvement swaps from the best set, tried in the order of an LP-dual estimate.

    At the best assignment's dual prices (minutes per person of each point), a site's
    knapsack value ``rho`` (:func:`~planner.siting._capacity_lagrangian.relax`) is what
    opening it would save (a closed site) or what it earns (an open one), so closing
    ``j`` and opening ``k`` is estimated at ``rho_k - rho_j``. (The Lagrangian's own
    values are nearly tied at its best multipliers, where the relaxation is fractional,
    and do not order the moves.) The moves are tried from the most promising, each by
    its assignment LP, after Cooper's relocations; the scan starts again after every
    improvement. Returns whether any swap improved.
    """
    n = len(evaluate.best_open)
    improved = False
    while time.perf_counter() < deadline and not done():
        improved |= _relocate(evaluate, deadline=deadline)
        cur = evaluate.best_open.copy()
        assert evaluate.best is not None and evaluate.best.minutes_dual is not None
        cand = _lag.relax(arr, evaluate.best.minutes_dual, p=p).rho[:n]
        if int(cur.sum()) < p:  # room left: the best unopened site joins first
            add = np.flatnonzero(~cur)[np.argsort(cand[~cur], kind="stable")][: p - int(cur.sum())]
            grown = cur.copy()
            grown[add] = True
            if evaluate(grown) < evaluate.value or np.array_equal(evaluate.best_open, grown):
                improved = True
                continue
        outs = np.flatnonzero(cur)
        ins = np.flatnonzero(~cur)
        ins = ins[np.argsort(cand[ins], kind="stable")][: SWAP_CANDIDATES_PER_SITE * max(p, 1)]
        est = cand[ins][None, :] - cand[outs][:, None]
        moves = np.argsort(est, axis=None, kind="stable")
        before = evaluate.value
        for flat in moves:
            if time.perf_counter() >= deadline:
                break
            j, k = outs[flat // len(ins)], ins[flat % len(ins)]
            trial = cur.copy()
            trial[j], trial[k] = False, True
            if evaluate(trial) < before:
                improved = True
                break
        else:
            break  # a local optimum over the candidate moves
    return improved


def _closing_rises(best: _Assignment, order: NDArray[np.int64], *, deadline: float) -> NDArray[np.float64]:
    """Rise of the objective if each open candidate of ``order`` alone were closed (``nan``: no time left).

    One LP over the open pairs, re-solved from the previous basis with each site's pairs
    held at zero in turn.
    """
    out = np.full(len(order), np.nan)
    if not len(order) or time.perf_counter() >= deadline:
        return out
    sub = best.pairs
    h, _ = _lp(sub)
    if _run_lp(h, time_limit_s=max(deadline - time.perf_counter(), 1e-3)) != "optimal":
        return out
    by_col = np.argsort(sub.cols, kind="stable")
    starts = np.searchsorted(sub.cols[by_col], np.arange(sub.n_cols + 1))
    for k, j in enumerate(order):
        left = deadline - time.perf_counter()
        if left <= 0:
            logger.info("capacitated p-median: no time left for the closing rise of %d sites", len(order) - k)
            break
        idx = by_col[starts[j] : starts[j + 1]].astype(np.int32)
        h.changeColsBounds(len(idx), idx, np.zeros(len(idx)), np.zeros(len(idx)))
        status = _run_lp(h, time_limit_s=left)
        if status == "optimal":
            out[k] = float(h.getInfo().objective_function_value) - best.objective
        elif status == "infeasible":
            out[k] = np.inf
        h.changeColsBounds(len(idx), idx, np.zeros(len(idx)), np.ones(len(idx)))
    return out


def capacitated_p_median(
    problem: TimeProblem,
    *,
    p: int,
    capacity: ArrayLike,
    existing_capacity: ArrayLike | None = None,
    existing_times: TravelTimes | None = None,
    unreachable: Literal["error", "drop"] = "error",
    solver: Solver = "highs",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    mip_max_pairs: int = MIP_MAX_PAIRS,
) -> LocationResult:
    """Choose ``p`` new sites minimising population-weighted minutes, every site within its capacity.

    Every demand point is served in full, split over the open sites and existing
    stations within the cutoff (see the module docstring for why split).

    Parameters
    ----------
    problem
        Travel minutes from the demand points to the candidates, existing stations fixed.
    p
        Number of new sites (at most; an extra site never lengthens a trip).
    capacity
        People each candidate can serve (``inf`` or ``NaN``: unlimited).
    existing_capacity
        People each existing station can serve (columns of ``existing_times``); ``None``:
        unlimited, and then each point may use its nearest existing station
        (``problem.existing_min``) without limit.
    existing_times
        Minutes from the demand points to each existing station (needed with
        ``existing_capacity``: a full station sends people to its second nearest).
    unreachable
        Demand points neither a candidate nor an existing station reaches within the
        cutoff: ``"error"`` (default) raises naming them; ``"drop"`` leaves them out of
        the objective and lists them in ``unreachable_ids``. Raising the cutoff of the
        travel times is the other way out.
    solver
        ``"highs"``: greedy start, Lagrangian bound and heuristic, swaps, then the exact
        MIP when the pairs left after the Lagrangian fixing of sites are at most
        ``mip_max_pairs``; ``"greedy"``: the greedy start only (no bound).
    time_limit_s
        Wall-clock limit for the whole call, the ranking of the sites included.
    mip_rel_gap
        Relative gap at which the search stops (``status`` ``"optimal"``).
    mip_max_pairs
        Largest MIP (pairs) handed to HiGHS; ``0`` never solves the MIP.

    Returns
    -------
    LocationResult
        ``model`` ``"pmedian_capacitated"``; ``objective`` the people × minutes of the
        split assignment, ``minutes`` per point the mean over its split, ``bound`` the
        proven lower bound (Lagrangian or MIP), ``status`` ``"optimal"`` (within
        ``mip_rel_gap``), ``"time_limit"`` or ``"heuristic"`` (the search ended without
        closing the gap). ``site_gain`` is the rise of the objective if that site alone
        were closed (the others kept; ``inf`` when the rest cannot serve everyone,
        ``nan`` when the time limit left no time to compute it): with capacities the
        sites' contributions do not add up, so no ranked marginal gain is given.
        ``details``: ``assignment`` (``"split"``), ``site_load``, ``site_capacity`` and
        ``existing_load`` (people), ``site_gain`` (``"closing_rise"``), ``pairs``,
        ``pairs_mip``, ``lagrangian_steps``, ``assignment_lps``.

    Raises
    ------
    SitingError
        Unreachable demand (with ``unreachable="error"``); the capacities cannot serve
        all demand (says by how many people and what to change); no plan serving
        everyone found within the time limit.
    """
    t0 = time.perf_counter()
    times = problem.times
    n = problem.n_candidates
    _check(p, n, solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if unreachable not in ("error", "drop"):
        raise SitingError("siting.error.bad_option", name="unreachable", value=unreachable)
    if isinstance(mip_max_pairs, bool) or not isinstance(mip_max_pairs, (int, np.integer)) or mip_max_pairs < 0:
        raise SitingError("siting.error.bad_option", name="mip_max_pairs", value=mip_max_pairs)
    cap = _capacity(capacity, n, name="capacity")
    m = problem.n_demand
    if existing_times is None:
        if existing_capacity is not None:
            raise SitingError("siting.error.capacity_without_cover")
        has = np.isfinite(problem.existing_min)
        ex_rows = np.flatnonzero(has)
        ex_cols = np.zeros(len(ex_rows), dtype=np.int64)
        ex_min = problem.existing_min[has]
        ex_cap = np.full(1 if len(ex_rows) else 0, np.inf)
    else:
        if existing_times.n_demand != m:
            raise InputError(
                "siting.error.length_mismatch", name="existing_times", length=existing_times.n_demand, expected=m
            )
        ex_rows, ex_cols, ex_min = existing_times.rows, existing_times.indices, existing_times.minutes
        ex_cap = _capacity(existing_capacity, existing_times.n_sites, name="existing_capacity")
    r = np.concatenate([times.rows, ex_rows])
    c = np.concatenate([times.indices, n + ex_cols])
    t = np.concatenate([times.minutes, ex_min])
    all_cap = np.concatenate([cap, ex_cap])
    useful = _useful_pairs(r, c, t, all_cap, n_new=n, m=m)
    r, c, t = r[useful], c[useful], t[useful]
    reach = np.bincount(r, minlength=m) > 0
    w = problem.weights.copy()
    lost = ~reach & (w > 0)
    if lost.any() and unreachable == "error":
        raise SitingError(
            "siting.error.capacity_unreachable", count=int(lost.sum()), ids=ids_text(problem.demand_ids[lost])
        )
    w[~reach] = 0.0
    pairs = _Pairs(r, c, t, w, all_cap, n, full=True)
    need = float(w.sum())
    top_p = float(np.sort(cap)[::-1][:p].sum()) + float(ex_cap.sum())
    if top_p < need * (1 - CAPACITY_RTOL):
        raise SitingError(
            "siting.error.capacity_short",
            p=p,
            short=f"{need - top_p:,.0f}",
            demand=f"{need:,.0f}",
            capacity=f"{top_p:,.0f}",
        )
    big = float(t.max()) * 10.0 + 1.0 if len(t) else 1.0
    current = np.where(np.isfinite(problem.existing_min) & (existing_times is None), problem.existing_min, big)
    th = time.perf_counter()
    start = _greedy(pairs, p=p, current=current)
    logger.info("capacitated p-median greedy start: %d sites in %.3f s", int(start.sum()), time.perf_counter() - th)
    evaluate = _Evaluator(pairs, deadline=t0 + time_limit_s)
    if not np.isfinite(evaluate(start)):
        _check_servable(pairs, demand_ids=problem.demand_ids)  # raises when even every candidate is not enough
    # keep back the time of the result: the closing rises re-solve one LP per site from a basis
    lp_s = evaluate.seconds / max(evaluate.count, 1)
    reserve = min(RESULT_RESERVE_S + CLOSING_LP_SHARE * lp_s * p, RESULT_RESERVE_SHARE * time_limit_s)
    deadline = evaluate.deadline = t0 + time_limit_s - reserve
    info: dict[str, Any] = {"pairs": len(r), "pairs_dropped": int((~useful).sum())}
    if solver == "greedy":
        if evaluate.best is None:
            raise SitingError("siting.error.capacity_no_plan", p=p, seconds=f"{time.perf_counter() - t0:.1f}")
        found = _Found(evaluate.best_open, float("nan"), "heuristic", "greedy")
    else:
        found = _search(pairs, p=p, evaluate=evaluate, deadline=deadline, mip_rel_gap=mip_rel_gap,
                        mip_max_pairs=mip_max_pairs, info=info)  # fmt: skip
    best = evaluate.assignment(found.open_new)
    if best is None or not best.feasible:
        if found.proven_infeasible:
            raise SitingError("siting.error.capacity_short_p", p=p, demand=f"{need:,.0f}")
        raise SitingError("siting.error.capacity_no_plan", p=p, seconds=f"{time.perf_counter() - t0:.1f}")
    load = best.load()
    cols = np.flatnonzero(found.open_new)
    order = cols[np.argsort(-load[cols], kind="stable")]
    gains = _closing_rises(best, order, deadline=t0 + time_limit_s)
    people = best.pairs.w[best.pairs.rows] * best.share
    pm = np.bincount(best.pairs.rows, weights=people * best.pairs.minutes, minlength=m)
    pw = np.bincount(best.pairs.rows, weights=best.share, minlength=m)
    with np.errstate(divide="ignore", invalid="ignore"):
        minutes = np.where(pw > 0, pm / np.where(w > 0, w, 1.0) / np.where(pw > 0, pw, 1.0), np.inf)
    # zero-population points: the minutes of their best open site
    nearest = problem.minutes_with(cols)
    minutes = np.where((w == 0) & reach, nearest, minutes)
    minutes[~reach] = np.inf
    objective = best.objective
    bound = min(found.bound, objective) if np.isfinite(found.bound) else found.bound
    gap = _gap(objective, bound, maximise=False)
    status = "optimal" if solver != "greedy" and gap <= mip_rel_gap else found.status
    info["assignment_lps"] = evaluate.count
    return LocationResult(
        model="pmedian_capacitated",
        site_ids=problem.candidate_ids[order],
        site_gain=gains,
        objective=objective,
        bound=bound,
        gap=gap,
        minutes=minutes,
        minutes_before=problem.existing_min.copy(),
        weights=problem.weights,
        status=status,
        solver=found.solver,
        seconds=time.perf_counter() - t0,
        unreachable_ids=problem.demand_ids[~reach],
        details={
            "assignment": "split",
            "site_gain": "closing_rise",
            "site_load": load[order].tolist(),
            "site_capacity": [None if not np.isfinite(x) else float(x) for x in cap[order]],
            "existing_load": load[n:].tolist(),
            **info,
        },
    )
