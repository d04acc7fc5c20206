"""p-center: where new sites make the longest trip to the nearest station as short as possible.

The model (Hakimi 1965; the vertex p-center of Daskin 2013, §5.3, which spopt's
``PCenter`` cites) opens ``p`` new sites among the candidates of a
:class:`~planner.siting.location.TimeProblem`, existing stations staying open, and
minimises the largest travel minutes over the demand points::

    minimise  max_i  h_i · v_i(S),    v_i(S) = min(existing_i, min_{j in S} t_ij)

with ``h_i = 1`` (the default, spopt's ``PCenter``: ``W >= sum_j d_ij x_ij`` for every
client, no weights) or, with ``weighted=True``, ``h_i`` = the population of point ``i``
(Daskin's weighted vertex p-center, ``W >= h_i sum_j d_ij x_ij``; spopt has no weighted
variant). The weighted objective is in person-minutes; a point with no population then
never binds.

Method (exact, on the sparse pairs, never a dense matrix): the optimum is one of the
distinct values ``h_i t_ij`` or ``h_i existing_i`` (the *levels*). Level ``R`` is
attainable when ``p`` sites bring every point within it: a set cover of the points
whose existing station is beyond ``R`` by the candidates within ``R`` (Minieka 1970;
Daskin 2013). A binary search over the sorted levels decides each level by

1. a disjoint-rows packing bound (more than ``p`` points with pairwise disjoint candidate
   sets: not attainable) and greedy set covering (``<= p`` sites: attainable), first
   over the whole range (the heuristic start and its proven lower bound);
2. then, for the levels those quick checks leave open, the set-covering MIP of the
   reduced problem (:func:`~planner.siting.problem.reduce_problem`) by HiGHS, warm-started
   from greedy: attainable iff its minimum is ``<= p``.

The reported bound is the smallest level not proven unattainable (the next level after
the largest one proven unattainable); when the time limit stops the search the gap
``(objective - bound) / objective`` says how far it may be from the optimum.

A demand point no site reaches within the cutoff of the travel times
(``times.cutoff_min``) makes the problem infeasible as stated: ``unreachable="error"``
raises :class:`~planner._errors.SitingError` naming the points; ``"cutoff"`` counts every
point that is not served within the cutoff at ``cutoff_min`` minutes instead (its
``minutes`` in the result stay ``inf``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from planner._errors import SitingError, SolverError, ids_text
from planner.siting import _heuristics, _highs
from planner.siting._solvers import SideConstraints
from planner.siting.location import LocationResult, TimeProblem
from planner.siting.problem import CoverageProblem, reduce_problem

logger = logging.getLogger(__name__)

__all__ = ["p_center"]

Solver = Literal["highs", "greedy"]
Unreachable = Literal["error", "cutoff"]

#: Default time limit (s) of the whole p-center search.
DEFAULT_TIME_LIMIT_S = 60.0


@dataclass(frozen=True)
class _Levels:
    """The pairs and points of a p-center problem in level terms (``h · minutes``)."""

    rows: NDArray[np.int64]  # demand row of each useful pair, sorted by value
    cols: NDArray[np.int64]
    value: NDArray[np.float64]  # h_i t_ij, ascending
    base: NDArray[np.float64]  # h_i · (existing, capped at the cutoff when asked); 0 when h_i = 0
    levels: NDArray[np.float64]  # distinct candidate values of the optimum, ascending
    h: NDArray[np.float64]  # the objective's factor per point (1 or population)
    n_candidates: int

    def cover_at(self, level: float) -> tuple[NDArray[np.int64], sp.csr_matrix]:
        """Points not yet within ``level`` and the candidates that bring each within it."""
        need = np.flatnonzero(self.base > level)
        k = int(np.searchsorted(self.value, level, side="right"))
        pos = np.full(len(self.base), -1, dtype=np.int64)
        pos[need] = np.arange(len(need))
        r = pos[self.rows[:k]]
        keep = r >= 0
        a = sp.csr_matrix(
            (np.ones(int(keep.sum())), (r[keep], self.cols[:k][keep])), shape=(len(need), self.n_candidates)
        )
        a.sum_duplicates()
        return need, a

    def objective(self, open_cols: NDArray[np.int64]) -> float:
        """``max_i h_i v_i`` for the open candidate columns."""
        is_open = np.zeros(self.n_candidates, bool)
        is_open[open_cols] = True
        v = self.base.copy()
        sel = is_open[self.cols]
        np.minimum.at(v, self.rows[sel], self.value[sel])
        return float(v.max()) if len(v) else 0.0


@dataclass
class _Search:
    """State of the level search: ``levels[:lo]`` proven unattainable, ``levels[hi]`` attained."""

    lo: int
    hi: int
    best: NDArray[np.int64]
    tests: int = 0
    mip_solves: int = 0


def p_center(
    problem: TimeProblem,
    *,
    p: int,
    weighted: bool = False,
    solver: Solver = "highs",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    unreachable: Unreachable = "error",
) -> LocationResult:
    """Open ``p`` new sites minimising the largest travel minutes (or person-minutes).

    Parameters
    ----------
    problem
        Travel minutes to the candidates within a cutoff; existing stations stay open
        (``problem.existing_min``).
    p
        Number of new sites. Fewer suffice when the optimum needs fewer; the remaining
        ones are then chosen greedily to cut the population-weighted total minutes
        (they never raise the maximum).
    weighted
        ``False``: minimise the largest minutes (spopt's ``PCenter``); ``True``: the
        largest population × minutes (Daskin's weighted p-center).
    solver
        ``"highs"``: exact (HiGHS set-covering MIPs for the levels the quick checks leave
        open); ``"greedy"``: quick checks only (heuristic, still with a proven bound).
    time_limit_s
        Time limit of the whole search; the best solution and bound so far are returned.
    unreachable
        What a demand point no site reaches within ``times.cutoff_min`` does:
        ``"error"`` raises :class:`~planner._errors.SitingError` naming it; ``"cutoff"``
        counts it (and any point left unserved) at ``cutoff_min`` minutes.

    Returns
    -------
    LocationResult
        ``model="pcenter"``; ``objective`` the largest (weighted) minutes, ``bound`` the
        proven lower bound, ``gap`` their relative difference.

    Raises
    ------
    SitingError
        Bad options; demand unreachable within the cutoff (``unreachable="error"``); no
        ``p`` sites bring every point within the cutoff (``unreachable="error"``).
    """
    t0 = time.perf_counter()
    _check(problem, p=p, solver=solver, time_limit_s=time_limit_s, unreachable=unreachable)
    deadline = t0 + time_limit_s
    h = problem.weights if weighted else np.ones(problem.n_demand)
    cutoff = problem.times.cutoff_min
    unreached = problem.unreachable()
    binding = unreached & (h > 0)
    if binding.any() and (unreachable == "error" or not np.isfinite(cutoff)):
        raise SitingError(
            "siting.center.unreachable",
            count=int(binding.sum()),
            ids=ids_text(problem.demand_ids[binding]),
            cutoff=_num(cutoff),
        )
    lv = _levels(problem, h=h, cap_min=cutoff if unreachable == "cutoff" else np.inf)
    search = _search(lv, p=p, exact=solver == "highs", deadline=deadline)
    if search is None:
        raise SitingError("siting.center.too_few_sites", p=p, cutoff=_num(cutoff))
    chosen = search.best
    objective = lv.objective(chosen)
    bound = float(lv.levels[search.lo]) if search.lo < len(lv.levels) else objective
    bound = min(bound, objective)
    chosen = _fill(problem, chosen, p=p, cap_min=_cap_min(problem))
    order, gains = _rank(problem, lv, chosen, cap_all=unreachable == "cutoff")
    proven = search.lo >= search.hi
    status = "optimal" if proven else ("time_limit" if solver == "highs" else "heuristic")
    gap = (objective - bound) / objective if objective > 0 else 0.0
    logger.info(
        "p-center p=%d: objective %.6g, bound %.6g (%d of %d levels, %d tests, %d MIPs) in %.2f s",
        p,
        objective,
        bound,
        search.hi - search.lo,
        len(lv.levels),
        search.tests,
        search.mip_solves,
        time.perf_counter() - t0,
    )
    return LocationResult(
        model="pcenter",
        site_ids=problem.candidate_ids[order],
        site_gain=gains,
        objective=objective,
        bound=bound,
        gap=max(gap, 0.0),
        minutes=problem.minutes_with(order),
        minutes_before=problem.minutes_with(np.zeros(0, dtype=np.int64)),
        weights=problem.weights,
        status=status,
        solver="highs" if solver == "highs" else "greedy",
        seconds=time.perf_counter() - t0,
        unreachable_ids=problem.demand_ids[unreached],
        details={
            "weighted": weighted,
            "unreachable_mode": unreachable,
            "levels": len(lv.levels),
            "level_tests": search.tests,
            "mip_solves": search.mip_solves,
        },
    )


def _num(x: float) -> str:
    return f"{x:g}" if np.isfinite(x) else "∞"


def _check(problem: TimeProblem, *, p: int, solver: str, time_limit_s: float, unreachable: str) -> None:
    if solver not in ("highs", "greedy"):
        raise SitingError("siting.error.bad_solver", solver=solver)
    if not time_limit_s > 0:
        raise SitingError("siting.error.bad_option", name="time_limit_s", value=time_limit_s)
    if unreachable not in ("error", "cutoff"):
        raise SitingError("siting.error.bad_option", name="unreachable", value=unreachable)
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 0:
        raise SitingError("siting.error.bad_p", p=p)
    if p > problem.n_candidates:
        raise SitingError("siting.error.p_too_large", p=p, count=problem.n_candidates)


def _levels(problem: TimeProblem, *, h: NDArray[np.float64], cap_min: float) -> _Levels:
    """Useful pairs and points in level terms, sorted; levels below the trivial bound dropped."""
    tt = problem.times
    base_min = np.minimum(problem.existing_min, cap_min)
    rows = tt.rows
    useful = (tt.minutes < base_min[rows]) & (h[rows] > 0)
    rows, cols = rows[useful], tt.indices[useful]
    value = h[rows] * tt.minutes[useful]
    with np.errstate(invalid="ignore"):
        base = np.where(h > 0, h * base_min, 0.0)
    order = np.argsort(value, kind="stable")
    rows, cols, value = rows[order], cols[order], value[order]
    # every point's best possible value: no level below the largest of them is attainable
    best = base.copy()
    np.minimum.at(best, rows, value)
    floor = float(best.max()) if len(best) else 0.0
    cand = np.concatenate([value, base[np.isfinite(base)], [floor] if np.isfinite(floor) else []])
    levels = np.unique(cand[cand >= floor])
    return _Levels(rows=rows, cols=cols, value=value, base=base, levels=levels, h=h, n_candidates=problem.n_candidates)


# --------------------------------------------------------------------------- the level search


def _search(lv: _Levels, *, p: int, exact: bool, deadline: float) -> _Search | None:
    """Binary search over the levels; ``None`` when even the largest level is unattainable."""
    t0 = time.perf_counter()
    n_lv = len(lv.levels)
    if n_lv == 0:  # nothing to serve (every point has zero weight)
        return _Search(lo=0, hi=0, best=np.zeros(0, dtype=np.int64))
    top = n_lv - 1
    state = _Search(lo=0, hi=top, best=np.zeros(0, dtype=np.int64))
    verdict, sol = _test(lv, top, p=p, exact=exact, deadline=deadline, state=state)
    if verdict is False or (verdict is None and sol is None):
        if verdict is None:  # time ran out before even the largest level was decided
            raise SolverError("siting.error.no_solution", seconds=round(time.perf_counter() - t0, 1), solver="HiGHS")
        return None
    assert sol is not None
    state.best = sol
    state.hi = _level_index(lv, lv.objective(sol))
    # phase 1: quick checks only; phase 2: the exact test on what is left open
    for use_mip in (False, True) if exact else (False,):
        lo, hi = state.lo, state.hi
        while lo < hi and time.perf_counter() < deadline:
            mid = (lo + hi) // 2
            verdict, sol = _test(lv, mid, p=p, exact=use_mip, deadline=deadline, state=state)
            if verdict is True and sol is not None:
                state.best = sol
                hi = state.hi = min(_level_index(lv, lv.objective(sol)), mid)
            elif verdict is False:
                lo = state.lo = max(state.lo, mid + 1)
            elif use_mip:
                break  # undecided within the time limit
            else:
                lo = mid + 1  # open: left for the exact phase (state.lo not raised)
    return state


def _level_index(lv: _Levels, value: float) -> int:
    return int(np.searchsorted(lv.levels, value, side="left"))


def _test(
    lv: _Levels, k: int, *, p: int, exact: bool, deadline: float, state: _Search
) -> tuple[bool | None, NDArray[np.int64] | None]:
    """Decide level ``k``: (True, sites) attainable, (False, None) not, (None, None) open."""
    state.tests += 1
    need, a = lv.cover_at(float(lv.levels[k]))
    if len(need) == 0:
        return True, np.zeros(0, dtype=np.int64)
    if (np.diff(a.indptr) == 0).any():
        return False, None
    packed = _packing(a, np.arange(a.shape[0]))
    if len(packed) > p:
        return False, None
    a_csc = sp.csc_matrix(a)
    greedy = _heuristics.greedy_cover(a_csc, np.ones(a.shape[0]), target=float(a.shape[0]), side=SideConstraints())
    if greedy is not None and len(greedy) <= p:
        return True, greedy
    if not exact:
        return None, None
    return _row_generation(a, packed, greedy, p=p, deadline=deadline, state=state)


def _row_generation(
    a: sp.csr_matrix,
    rows: NDArray[np.int64],
    greedy: NDArray[np.int64] | None,
    *,
    p: int,
    deadline: float,
    state: _Search,
) -> tuple[bool | None, NDArray[np.int64] | None]:
    """Exact test of a level by set covering over a growing subset of the points.

    A subset's minimum cover is a lower bound on the whole one (more than ``p``: the
    level is unattainable); a cover of the subset with ``<= p`` sites that serves every
    point attains it; otherwise the points it misses join the subset (Contardo, Iori &
    Kramer 2019 use the same relaxation for large p-center instances). Each MIP is small.
    """
    m = a.shape[0]
    in_sub = np.zeros(m, bool)
    in_sub[rows] = True
    if greedy is not None:  # the points the greedy's first p sites miss
        in_sub[_missed(a, greedy[:p])] = True
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return None, None
        sub_rows = np.flatnonzero(in_sub)
        sub = a[sub_rows]
        prob = CoverageProblem(
            cover=sub,
            weights=np.ones(len(sub_rows)),
            covered_by_existing=np.zeros(len(sub_rows), bool),
            demand_ids=sub_rows,
            candidate_ids=np.arange(a.shape[1]),
        )
        red = reduce_problem(prob)
        state.mip_solves += 1
        try:
            out = _highs.highs_cover(
                sp.csr_matrix(red.cover, dtype=np.float64),
                red.weights,
                target=None,
                side=SideConstraints(),
                objective_cost=np.ones(red.cover.shape[1]),
                time_limit_s=remaining,
                mip_rel_gap=0.0,
            )
        except SolverError as err:
            if err.key != "siting.error.no_solution":
                raise
            return None, None
        if math.ceil(out.bound - 1e-6) > p:
            return False, None
        if len(out.selected) > p:
            return None, None  # undecided within the time limit
        chosen = red.columns[out.selected]
        missed = _missed(a, chosen)
        if len(missed) == 0:
            return True, chosen
        in_sub[_packing(a, missed)] = True


def _missed(a: sp.csr_matrix, cols: NDArray[np.int64]) -> NDArray[np.int64]:
    """Rows of ``a`` no column of ``cols`` covers."""
    x = np.zeros(a.shape[1])
    x[cols] = 1.0
    return np.flatnonzero(np.asarray(a @ x).ravel() < 0.5)


def _packing(a: sp.csr_matrix, rows: NDArray[np.int64]) -> NDArray[np.int64]:
    """Rows (among ``rows``) with pairwise disjoint column sets, picked greedily rarest first.

    Each such row needs a site of its own, so more than ``p`` of them prove a level
    unattainable; they also seed the row generation.
    """
    deg = np.diff(a.indptr)[rows]
    used = np.zeros(a.shape[1], bool)
    out: list[int] = []
    for i in rows[np.argsort(deg, kind="stable")]:
        cols = a.indices[a.indptr[i] : a.indptr[i + 1]]
        if not used[cols].any():
            used[cols] = True
            out.append(int(i))
    return np.array(out, dtype=np.int64)


# --------------------------------------------------------------------------- result


def _cap_min(problem: TimeProblem) -> float:
    """Minutes at which a point no open site reaches counts when ranking sites."""
    c = problem.times.cutoff_min
    if np.isfinite(c):
        return float(c)
    finite = problem.existing_min[np.isfinite(problem.existing_min)]
    tops = [float(problem.times.minutes.max()) if problem.times.n_pairs else 0.0]
    tops += [float(finite.max())] if len(finite) else []
    return max(tops)


def _fill(problem: TimeProblem, chosen: NDArray[np.int64], *, p: int, cap_min: float) -> NDArray[np.int64]:
    """Add sites up to ``p``, each the one cutting population-weighted total minutes most."""
    chosen = np.unique(np.asarray(chosen, dtype=np.int64))
    tt = problem.times
    rows = tt.rows
    w = problem.weights
    cur = np.minimum(problem.minutes_with(chosen), cap_min)
    is_open = np.zeros(problem.n_candidates, bool)
    is_open[chosen] = True
    out = list(chosen)
    while len(out) < p:
        cut = w[rows] * np.maximum(cur[rows] - tt.minutes, 0.0)
        gain = np.bincount(tt.indices, weights=cut, minlength=problem.n_candidates)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        if not gain[j] > 0:
            break
        out.append(j)
        is_open[j] = True
        sel = tt.indices == j
        np.minimum.at(cur, rows[sel], tt.minutes[sel])
    return np.array(out, dtype=np.int64)


def _rank(
    problem: TimeProblem, lv: _Levels, chosen: NDArray[np.int64], *, cap_all: bool
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Order the chosen sites by how much each lowers the objective given those before it.

    A point no station reaches counts at the cutoff here (so every gain is finite; with
    ``cap_all`` every point is capped there, as in the objective); ties go to the site
    cutting population-weighted total minutes most.
    """
    k = len(chosen)
    if k == 0:
        return chosen, np.zeros(0)
    sub = problem.times.subset_sites(chosen)
    dense = np.full((problem.n_demand, k), np.inf)  # demand × chosen sites only (k <= p)
    dense[sub.rows, sub.indices] = sub.minutes
    h, w = lv.h, problem.weights
    e, cap = problem.existing_min, _cap_min(problem)
    cur_min = np.minimum(e, cap) if cap_all else np.where(np.isfinite(e), e, cap)
    cur_obj = float((h * cur_min).max()) if len(h) else 0.0
    remaining = list(range(k))
    order: list[int] = []
    gains: list[float] = []
    for _ in range(k):
        trial = np.minimum(cur_min[:, None], dense[:, remaining])
        obj = (h[:, None] * trial).max(axis=0) if len(h) else np.zeros(len(remaining))
        total = (w[:, None] * trial).sum(axis=0)
        best = int(np.lexsort((total, obj))[0])
        order.append(remaining.pop(best))
        gains.append(cur_obj - float(obj[best]))
        cur_obj = float(obj[best])
        cur_min = trial[:, best]
    return chosen[np.array(order, dtype=np.int64)], np.array(gains, dtype=np.float64)
