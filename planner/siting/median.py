"""p-median: new sites that minimise the population-weighted total travel minutes.

Each demand point goes to its nearest open site — a new one or an existing station,
which stays open. :func:`p_median` reads a :class:`~planner.siting.location.TimeProblem`
(sparse minutes within a cutoff) and never builds a dense demand × candidate matrix:
only the pairs faster than the point's existing station get a variable
(:meth:`~planner.siting.location.TimeProblem.useful_pairs`); a point whose pairs all lie
beyond its existing station needs none, and keeps its station's minutes.

**Points out of reach.** A point with no existing station and no candidate within the
cutoff has no finite travel time: the problem is infeasible as stated.

* ``unreachable="error"`` (default) raises :class:`~planner._errors.SitingError` naming
  those points; every other point must be served by an open site or its station.
* ``unreachable="cutoff"``: *a point farther than the cutoff counts as the cutoff* —
  its minutes are ``min(true minutes, times.cutoff_min)``, for the unreachable points
  and for any point the chosen sites leave beyond the cutoff. ``minutes`` and the
  objective use these capped values, so the objective equals the population-weighted
  sum of ``minutes``; ``unreachable_ids`` lists the points counted at the cutoff.

**Solving** (:mod:`planner.siting._pmedian`): greedy plus the fast interchange (vertex
substitution with incrementally updated gain/loss/extra arrays) for a first solution; a
Lagrangian relaxation of the assignment rows for a proven lower bound, whose open sites
(filled to p greedily, improved by the interchange) restart the search once it is close;
the pairs no better solution can use are removed and the HiGHS MIP runs on the pairs
kept, warm-started (``solver="highs"``), cancelled at the time limit. ``bound`` is always
proven, ``gap = (objective - bound) / objective``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from planner._errors import SitingError, ids_text
from planner.siting import _pmedian
from planner.siting._pmedian import MedianArrays
from planner.siting.location import LocationResult, TimeProblem
from planner.siting.models import DEFAULT_MIP_REL_GAP, DEFAULT_TIME_LIMIT_S, Solver, _check_options

logger = logging.getLogger(__name__)

__all__ = ["Unreachable", "p_median"]

Unreachable = Literal["error", "cutoff"]

#: Pairs (after the Lagrangian reduction) above which the HiGHS MIP is not attempted.
HIGHS_MAX_PAIRS = 200_000
#: Shares of the time limit for the heuristics, and heuristics plus Lagrangian bound.
HEURISTIC_SHARE = 0.3
LAGRANGIAN_SHARE = 0.85
#: Lagrangian multipliers stay below this multiple of each row's cost to its second-best
#: option in the first solution, and below its fallback (any multipliers give a proven
#: bound; above the fallback they cannot raise it; the cap lets the pairs above it out of
#: every step).
CAP_FACTOR = 1.5
#: HiGHS is not started with less than this many seconds (or a tenth of the limit) left.
HIGHS_MIN_LEFT_S = 1.0
#: Seconds of the time limit kept for ranking the sites and building the result.
RESULT_RESERVE_S = 0.25


def p_median(
    problem: TimeProblem,
    *,
    p: int,
    solver: Solver = "highs",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    unreachable: Unreachable = "error",
) -> LocationResult:
    """Choose ``p`` new sites minimising the population-weighted total minutes to the nearest open site.

    Parameters
    ----------
    problem
        Travel minutes, population and existing stations (:class:`~planner.siting.location.TimeProblem`).
    p
        Number of new sites (sites that would improve nothing are not proposed).
    solver
        ``"highs"`` (heuristics, Lagrangian bound, then the exact MIP) or ``"greedy"``
        (heuristics and the Lagrangian bound only).
    time_limit_s
        Wall-clock limit for the whole solve.
    mip_rel_gap
        Relative gap at which the search stops.
    unreachable
        ``"error"`` or ``"cutoff"`` (see the module docstring).

    Returns
    -------
    LocationResult
        Sites ranked by marginal gain, objective (weighted total minutes), proven bound, gap.

    Raises
    ------
    SitingError
        ``p`` negative or above the number of candidates; points out of reach (with
        ``unreachable="error"``, or with no finite cutoff to count them at); too few
        sites to reach every point that has no station (no cutoff).
    """
    t0 = time.perf_counter()
    _check_options(solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if unreachable not in ("error", "cutoff"):
        raise SitingError("siting.error.bad_option", name="unreachable", value=unreachable)
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0:
        raise SitingError("siting.error.bad_p", p=p)
    p = int(p)
    if p > problem.n_candidates:
        raise SitingError("siting.error.p_too_large", p=p, count=problem.n_candidates)
    cap = problem.times.cutoff_min if unreachable == "cutoff" else np.inf
    out = problem.unreachable()
    if out.any() and not np.isfinite(cap):
        key = "siting.error.pmedian_unreachable" if unreachable == "error" else "siting.error.pmedian_no_cutoff"
        raise SitingError(key, count=int(out.sum()), ids=ids_text(problem.demand_ids[out]))
    arr, model_rows, hard, const, integral = _arrays(problem, cap=cap)
    deadline = t0 + time_limit_s - min(RESULT_RESERVE_S, 0.05 * time_limit_s)
    info: dict[str, Any] = {"p": p, "pairs": len(arr.rows), "cutoff_min": _num(problem.times.cutoff_min)}
    if p == 0 or arr.m == 0:
        selected, status, name = np.zeros(0, dtype=np.int64), "optimal", "none"
        value = bound = _value(arr, selected)
    else:
        selected, value, bound, status, name = _solve(
            arr, p=p, hard=hard, solver=solver, t0=t0, time_limit_s=time_limit_s, deadline=deadline,
            mip_rel_gap=mip_rel_gap, integral=integral, info=info,
        )  # fmt: skip
    a = _pmedian.assign(arr, _mask(arr.n, selected))
    if (hard & (a.near < 0)).any():
        bad = model_rows[hard & (a.near < 0)]
        raise SitingError(
            "siting.error.pmedian_p_too_small", p=p, count=len(bad), ids=ids_text(problem.demand_ids[bad])
        )
    order, gain = _rank(arr, selected, hard=hard)
    open_cols = selected[order]
    minutes = np.minimum(problem.minutes_with(open_cols), cap)
    objective = _weighted_sum(problem.weights, minutes)
    if abs(objective - (const + value)) > 1e-6 * max(1.0, abs(objective)):
        logger.warning("p-median: evaluated objective %.9g differs from the solver's %.9g", objective, const + value)
    lower = min(const + bound, objective)
    gap = max(objective - lower, 0.0) / objective if objective > 0 else 0.0
    if status != "optimal" and gap <= mip_rel_gap:
        status = "optimal"
    reached = np.isfinite(problem.minutes_with(open_cols))
    return LocationResult(
        model="pmedian",
        site_ids=problem.candidate_ids[open_cols],
        site_gain=gain,
        objective=objective,
        bound=lower,
        gap=gap,
        minutes=minutes,
        minutes_before=np.minimum(problem.existing_min, cap),
        weights=problem.weights,
        status=status,
        solver=name,
        seconds=time.perf_counter() - t0,
        unreachable_ids=problem.demand_ids[~reached],
        details={**info, "unreachable_option": unreachable},
    )


def _solve(
    arr: MedianArrays,
    *,
    p: int,
    hard: NDArray[np.bool_],
    solver: Solver,
    t0: float,
    time_limit_s: float,
    deadline: float,
    mip_rel_gap: float,
    integral: bool,
    info: dict[str, Any],
) -> tuple[NDArray[np.int64], float, float, str, str]:
    """Heuristics, Lagrangian bound and (``highs``) the reduced MIP: (sites, value, bound, status, solver)."""
    selected = _pmedian.greedy(arr, p=p)
    selected = _pmedian.interchange(arr, selected, deadline=min(deadline, t0 + HEURISTIC_SHARE * time_limit_s))
    value, name = _value(arr, selected), "greedy+swap"
    lag_deadline = min(deadline, t0 + LAGRANGIAN_SHARE * time_limit_s)
    tried: set[tuple[int, ...]] = set()

    def from_relaxation(sites: NDArray[np.int64]) -> float:
        """Lagrangian-guided solution: the relaxation's sites, filled to p greedily, improved by swaps."""
        nonlocal selected, value, name
        start = _pmedian.greedy(arr, p=p, start=sites)
        key = tuple(np.sort(start).tolist())
        if key not in tried:
            tried.add(key)
            alt = _pmedian.interchange(arr, start, deadline=lag_deadline)
            v = _value(arr, alt)
            logger.debug("p-median: relaxation's sites give %.9g (best %.9g)", v, value)
            if v < value:
                selected, value, name = alt, v, "lagrangian+swap"
        return value

    a = _pmedian.assign(arr, _mask(arr.n, selected))
    lag = _pmedian.lagrangian_bound(
        arr, p=p, upper=value, start=np.minimum(a.c2, arr.fallback), target_gap=mip_rel_gap, integral=integral,
        cap=np.minimum(CAP_FACTOR * a.c2, arr.fallback), deadline=lag_deadline, heuristic=from_relaxation,
    )  # fmt: skip
    # every site open is a bound too (the first steps of the relaxation can be below it)
    bound = max(lag.bound, _pmedian.proven(_value(arr, np.arange(arr.n)), integral=integral))
    info["lagrangian_steps"] = lag.iterations
    if value - bound > mip_rel_gap * value:
        lag_deadline = deadline
        from_relaxation(lag.relaxed_sites)
    status = "optimal" if value - bound <= mip_rel_gap * value else "heuristic"
    if (
        solver == "highs"
        and status != "optimal"
        and time.perf_counter() < deadline - min(HIGHS_MIN_LEFT_S, 0.1 * time_limit_s)
    ):
        keep = _pmedian.reduce_pairs(arr, lag, upper=value)
        sub = arr.subset(keep)
        info["pairs_mip"] = len(sub.rows)
        if len(sub.rows) <= HIGHS_MAX_PAIRS:
            out = _pmedian.highs_pmedian(
                sub, p=p, start=selected, hard=hard, mip_rel_gap=mip_rel_gap, deadline=deadline
            )  # fmt: skip
            v = _value(arr, out.selected)
            if v < value:
                selected, value = out.selected, v
            bound = max(bound, _pmedian.proven(out.bound, integral=integral))
            name, status = "highs", out.status
    if status != "optimal" and time.perf_counter() >= deadline:
        status = "time_limit"
    return selected, value, bound, status, name


def _arrays(
    problem: TimeProblem, *, cap: float
) -> tuple[MedianArrays, NDArray[np.int64], NDArray[np.bool_], float, bool]:
    """The model's pairs: (arrays, problem row of each model row, hard rows, constant, integral costs)."""
    times, w = problem.times, problem.weights
    f = np.minimum(problem.existing_min, cap)
    rows = times.rows
    useful = times.minutes < f[rows]
    hard_all = ~np.isfinite(f)
    useful &= (w[rows] > 0) | hard_all[rows]
    r, c, d = rows[useful], times.indices[useful], times.minutes[useful]
    model_rows, r_new = np.unique(r, return_inverse=True)
    in_model = np.zeros(problem.n_demand, bool)
    in_model[model_rows] = True
    rest = ~in_model & np.isfinite(f)
    const = float((w[rest] * f[rest]).sum())
    hard = hard_all[model_rows]
    cost = w[r] * d
    fallback = w[model_rows] * np.where(hard, 0.0, f[model_rows])
    big = 2.0 * (float(cost.sum()) + float(fallback.sum()) + 1.0)
    fallback = np.where(hard, big, fallback)
    finite = np.concatenate([cost, fallback[~hard], [const]])
    integral = bool(np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**52))
    arr = MedianArrays.build(rows=r_new.astype(np.int64), cols=c, cost=cost, fallback=fallback, n=problem.n_candidates)
    return arr, model_rows.astype(np.int64), hard, const, integral


def _rank(
    arr: MedianArrays, selected: NDArray[np.int64], *, hard: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Order of ``selected`` by marginal gain and the gains (points with no station count from their first site).

    Sites that improve nothing are left out.
    """
    if len(selected) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    pos = np.full(arr.n, -1, dtype=np.int64)
    pos[selected] = np.arange(len(selected))
    k = np.flatnonzero(pos[arr.cols] >= 0)
    r, c, cost = arr.rows[k], pos[arr.cols[k]], arr.cost[k]
    current = arr.fallback.copy()
    left = np.ones(len(selected), bool)
    order: list[int] = []
    gains: list[float] = []
    for _ in range(len(selected)):
        saving = np.maximum(current[r] - cost, 0.0)
        g = np.bincount(c, weights=saving, minlength=len(selected))
        g[~left] = -np.inf
        j = int(np.argmax(g))
        if g[j] <= 0:
            break
        mine = c == j
        reported = np.bincount(c[mine], weights=np.where(hard[r[mine]], 0.0, saving[mine]), minlength=len(selected))
        order.append(j)
        gains.append(float(reported[j]))
        np.minimum.at(current, r[mine], cost[mine])
        left[j] = False
    return np.array(order, dtype=np.int64), np.array(gains, dtype=np.float64)


def _mask(n: int, selected: NDArray[np.int64] | list[int]) -> NDArray[np.bool_]:
    mask = np.zeros(n, bool)
    mask[np.asarray(selected, dtype=np.int64)] = True
    return mask


def _value(arr: MedianArrays, selected: NDArray[np.int64] | list[int]) -> float:
    return _pmedian.assign(arr, _mask(arr.n, selected)).value


def _weighted_sum(w: NDArray[np.float64], minutes: NDArray[np.float64]) -> float:
    """``sum(w * minutes)`` with zero-population points contributing nothing (even at ``inf``)."""
    pos = w > 0
    return float((w[pos] * minutes[pos]).sum())


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
