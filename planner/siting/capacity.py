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
LP, then HiGHS (:mod:`planner.siting._highs`: its own thread, time limit, quiet) with
that start; the reported bound is HiGHS's proven dual bound. Given the chosen sites, the
best split is one LP; the results carry it (loads per site, minutes per point).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from planner._errors import InputError, SitingError, SolverError, ids_text
from planner.network.times import TravelTimes
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

    def load(self) -> NDArray[np.float64]:
        """People served by each column."""
        people = self.share * self.pairs.w[self.pairs.rows]
        out = np.bincount(self.pairs.cols, weights=people, minlength=self.pairs.n_cols).astype(np.float64)
        return out

    def served(self) -> NDArray[np.float64]:
        """Share of each demand row served."""
        out = np.bincount(self.pairs.rows, weights=self.share, minlength=len(self.pairs.w)).astype(np.float64)
        return out


def _assign(pairs: _Pairs, open_new: NDArray[np.bool_]) -> _Assignment:
    """Solve the assignment LP of the open candidates and the existing stations (HiGHS, dual simplex)."""
    import highspy

    sub = pairs.with_open(open_new)
    n_e = len(sub.rows)
    obj = _objective(sub)
    if n_e == 0:
        ok = not sub.full or not (sub.w > 0).any()
        return _Assignment(ok, 0.0 if ok else np.inf, np.zeros(0), sub)
    rows, lo, hi = _rows(sub, with_y=False)
    rows.sort_indices()
    inf = highspy.kHighsInf
    h = _highs._quiet_highs(highspy)
    h.setOptionValue("output_flag", False)
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
    h.run()
    ms = h.getModelStatus()
    if ms == highspy.HighsModelStatus.kInfeasible:
        return _Assignment(False, np.inf, np.zeros(n_e), sub)
    if ms != highspy.HighsModelStatus.kOptimal:
        raise SolverError("siting.error.solver_failed", status=h.modelStatusToString(ms), solver="HiGHS")
    share = np.clip(np.asarray(h.getSolution().col_value, dtype=np.float64), 0.0, 1.0)
    return _Assignment(True, float(obj @ share), share, sub)


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
    solver, time_limit_s, mip_rel_gap
        As in :func:`capacitated_max_cover`.

    Returns
    -------
    LocationResult
        ``model`` ``"pmedian_capacitated"``; ``objective`` the people × minutes of the
        split assignment, ``minutes`` per point the mean over its split, ``bound`` the
        proven lower bound. ``details``: ``assignment`` (``"split"``), ``site_load``,
        ``site_capacity`` and ``existing_load`` (people).

    Raises
    ------
    SitingError
        Unreachable demand (with ``unreachable="error"``); the capacities cannot serve
        all demand (says by how many people and what to change).
    """
    t0 = time.perf_counter()
    times = problem.times
    n = problem.n_candidates
    _check(p, n, solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if unreachable not in ("error", "drop"):
        raise SitingError("siting.error.bad_option", name="unreachable", value=unreachable)
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
        cand_keep = problem.useful_pairs()  # with unlimited existing stations slower pairs never help
    else:
        if existing_times.n_demand != m:
            raise InputError(
                "siting.error.length_mismatch", name="existing_times", length=existing_times.n_demand, expected=m
            )
        ex_rows, ex_cols, ex_min = existing_times.rows, existing_times.indices, existing_times.minutes
        ex_cap = _capacity(existing_capacity, existing_times.n_sites, name="existing_capacity")
        cand_keep = np.ones(times.n_pairs, bool)
    r = np.concatenate([times.rows[cand_keep], ex_rows])
    c = np.concatenate([times.indices[cand_keep], n + ex_cols])
    t = np.concatenate([times.minutes[cand_keep], ex_min])
    reach = np.bincount(r, minlength=m) > 0
    w = problem.weights.copy()
    lost = ~reach & (w > 0)
    if lost.any() and unreachable == "error":
        raise SitingError(
            "siting.error.capacity_unreachable", count=int(lost.sum()), ids=ids_text(problem.demand_ids[lost])
        )
    w[~reach] = 0.0
    all_cap = np.concatenate([cap, ex_cap])
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
    everything = _assign(_Pairs(r, c, t, w, all_cap, n, full=False), np.ones(n, bool))  # most servable
    if everything.objective < need * (1 - CAPACITY_RTOL):
        short_rows = everything.served() < 1 - 1e-6
        raise SitingError(
            "siting.error.capacity_short_reach",
            short=f"{need - everything.objective:,.0f}",
            demand=f"{need:,.0f}",
            count=int((short_rows & (w > 0)).sum()),
            ids=ids_text(problem.demand_ids[short_rows & (w > 0)]),
        )
    big = float(t.max()) * 10.0 + 1.0 if len(t) else 1.0
    current = np.where(np.isfinite(problem.existing_min) & (existing_times is None), problem.existing_min, big)
    th = time.perf_counter()
    start = _greedy(pairs, p=p, current=current)
    logger.info("capacitated p-median greedy start: %d sites in %.3f s", int(start.sum()), time.perf_counter() - th)
    remaining = max(t0 + time_limit_s - time.perf_counter(), 0.1)
    try:
        chosen, bound, status, label = _solve(
            pairs, p=p, start_open=start, solver=solver, time_limit_s=remaining, mip_rel_gap=mip_rel_gap
        )
    except SitingError as err:
        if err.key != "siting.error.infeasible_constraints":
            raise
        raise SitingError("siting.error.capacity_short_p", p=p, demand=f"{need:,.0f}") from None
    best = _assign(pairs, chosen)
    if not best.feasible:
        raise SitingError("siting.error.capacity_short_p", p=p, demand=f"{need:,.0f}")
    load = best.load()
    cols = np.flatnonzero(chosen)
    order = cols[np.argsort(-load[cols], kind="stable")]
    gains = np.empty(len(order))
    for k, j in enumerate(order):  # what the objective loses without the site (others kept)
        without = chosen.copy()
        without[j] = False
        alt = _assign(pairs, without)
        gains[k] = alt.objective - best.objective if alt.feasible else np.inf
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
    gap = _gap(objective, bound, maximise=False)
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
        solver=label,
        seconds=time.perf_counter() - t0,
        unreachable_ids=problem.demand_ids[~reach],
        details={
            "assignment": "split",
            "site_load": load[order].tolist(),
            "site_capacity": [None if not np.isfinite(x) else float(x) for x in cap[order]],
            "existing_load": load[n:].tolist(),
        },
    )
