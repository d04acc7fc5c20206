"""Propose new station sites: coverage models on a :class:`~planner.siting.problem.CoverageProblem`.

Models, each returning a :class:`SitingResult`:

* :func:`maximal_covering` — ``p`` new sites (and/or a budget) covering the most
  population not covered today (MCLP, Church & ReVelle 1974);
* :func:`set_covering` — fewest (or cheapest) new sites covering all coverable demand or
  a target share of the total population (LSCP, Toregas et al. 1971; partial covering);
* :func:`multi_tier` — one problem per tier, each with its own ``p`` / budget;
* :func:`removal_ranking` and :func:`keep_best` — the reverse question (资源整合): which
  existing stations lose the least coverage when closed, and which ``q`` to keep.

Every model accepts per-township minimum / maximum numbers of sites (``group_min``,
``group_max``, keyed by the candidates' township label). Before solving, the problem is
reduced (:func:`~planner.siting.problem.reduce_problem`). Solvers: ``"greedy"`` (lazy
greedy + 1-swap, :mod:`planner.siting._heuristics`), ``"highs"`` (exact MIP,
:mod:`planner.siting._highs`, warm-started from the heuristic, with proven bound and gap).
Large plain MCLP models use both cores (:mod:`planner.siting._large_mclp`); the bound
reported is always a proven one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from planner._errors import SitingError, SolverError, ids_text
from planner.siting import _heuristics, _highs, _solvers
from planner.siting._large_mclp import solve_large_max_cover
from planner.siting._solvers import SideConstraints, SolverOutput
from planner.siting.problem import CoverageProblem, ReducedProblem, ReductionReport, reduce_problem

logger = logging.getLogger(__name__)

Solver = Literal["highs", "greedy"]

#: Default MIP time limit (s) and relative gap at which HiGHS stops.
DEFAULT_TIME_LIMIT_S = 60.0
DEFAULT_MIP_REL_GAP = 1e-6
#: Large plain MCLP (reduced non-zeros at least this) takes the route on both cores
#: (:func:`~planner.siting._large_mclp.solve_large_max_cover`).
LARGE_NNZ = 50_000
#: Seconds of the time limit kept for ranking the chosen sites and building the result.
RESULT_RESERVE_S = 0.25


# =========================================================================== results


@dataclass(frozen=True, eq=False)
class SitingResult:
    """Outcome of a siting model.

    Attributes
    ----------
    model
        ``"mclp"``, ``"set_cover"``, ``"partial_cover"``, ``"keep"`` or ``"backup"``.
    site_ids
        Selected candidate ids in rank order (largest marginal new coverage first).
    newly_covered
        Population each site adds, in rank order (marginal to existing + earlier sites).
    objective
        Covered population including what existing stations cover (for set covering
        too; ``n_sites`` / ``cost`` are what was minimised).
    bound
        Proven bound on the minimised / maximised quantity (covered population for
        MCLP; number or cost of sites for covering). ``nan`` for heuristics.
    gap
        Relative gap between objective and bound (0 when proven optimal).
    """

    model: str
    site_ids: NDArray[Any]
    newly_covered: NDArray[np.float64]
    site_cost: NDArray[np.float64]
    objective: float
    existing_covered: float
    total_population: float
    n_sites: int
    cost: float
    bound: float
    gap: float
    status: str
    solver: str
    seconds: float
    reduction: ReductionReport
    uncoverable_ids: NDArray[Any] = field(default_factory=lambda: np.zeros(0, dtype=object))
    #: Model-specific figures, added to :meth:`summary` (backup: ``covered_once``...).
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def newly_covered_total(self) -> float:
        """Population covered by the new sites only."""
        return float(self.newly_covered.sum())

    @property
    def covered_share(self) -> float:
        """Share of the total population covered (existing + new)."""
        return self.objective / self.total_population if self.total_population > 0 else 1.0

    def to_frame(self) -> pd.DataFrame:
        """Proposals as a table: rank, site_id, newly_covered, cost."""
        return pd.DataFrame(
            {
                "rank": np.arange(1, self.n_sites + 1),
                "site_id": self.site_ids,
                "newly_covered": self.newly_covered,
                "cost": self.site_cost,
            }
        )

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (model, objective, bound, gap, solver, seconds, sizes)."""
        r = self.reduction
        return {
            "model": self.model,
            "objective": self.objective,
            "existing_covered": self.existing_covered,
            "newly_covered": self.newly_covered_total,
            "total_population": self.total_population,
            "covered_share": self.covered_share,
            "n_sites": self.n_sites,
            "cost": self.cost,
            "bound": None if np.isnan(self.bound) else self.bound,
            "gap": None if np.isnan(self.gap) else self.gap,
            "status": self.status,
            "solver": self.solver,
            "seconds": self.seconds,
            "reduction": {
                "demand": [r.n_demand, r.n_demand_reduced],
                "candidates": [r.n_candidates, r.n_candidates_reduced],
                "nnz": [r.nnz, r.nnz_reduced],
            },
            **self.details,
        }


def rank_sites(
    problem: CoverageProblem, columns: NDArray[np.int64], *, covered: NDArray[np.bool_] | None = None
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Order ``columns`` by marginal new coverage (greedy over the chosen set).

    Returns the ordered columns and the population each adds given the existing
    coverage (or ``covered``) and the sites ranked before it.
    """
    cols = np.asarray(columns, dtype=np.int64)
    hit = problem.covered_by_existing.copy() if covered is None else covered.copy()
    a_s = sp.csc_matrix(problem.cover[:, cols], dtype=np.float64)
    w = problem.weights
    order: list[int] = []
    gains: list[float] = []
    remaining = np.ones(len(cols), dtype=bool)
    for _ in range(len(cols)):
        g = np.asarray(a_s.T @ (w * ~hit)).ravel()
        g[~remaining] = -np.inf
        best = int(np.argmax(g))
        order.append(best)
        gains.append(float(g[best]))
        remaining[best] = False
        hit[a_s.indices[a_s.indptr[best] : a_s.indptr[best + 1]]] = True
    return cols[np.array(order, dtype=np.int64)].astype(np.int64), np.array(gains, dtype=np.float64)


# =========================================================================== models


def _quota_side(
    problem: CoverageProblem,
    *,
    group_min: Mapping[Any, int] | None,
    group_max: Mapping[Any, int] | None,
) -> tuple[NDArray[np.int64] | None, NDArray[np.int64] | None, NDArray[np.int64] | None, NDArray[Any]]:
    """Encode township quotas as group codes and per-code min / max arrays."""
    if not group_min and not group_max:
        return None, None, None, np.zeros(0, dtype=object)
    if problem.candidate_group is None:
        raise SitingError("siting.error.no_groups")
    labels = pd.Series(problem.candidate_group, dtype=object).fillna("")
    codes, uniques = pd.factorize(labels)
    uniq = np.asarray(uniques, dtype=object)
    big = np.iinfo(np.int64).max // 2
    gmin = np.zeros(len(uniq), dtype=np.int64)
    gmax = np.full(len(uniq), big, dtype=np.int64)
    pos = {u: i for i, u in enumerate(uniq)}
    for bounds, arr in ((group_min or {}, gmin), (group_max or {}, gmax)):
        for label, v in bounds.items():
            if label not in pos:
                raise SitingError("siting.error.unknown_group", group=label, known=ids_text(uniq))
            if int(v) < 0:
                raise SitingError("siting.error.bad_quota", group=label, value=v)
            arr[pos[label]] = int(v)
    size = np.bincount(codes, minlength=len(uniq))
    short = gmin > np.minimum(size, gmax)
    if short.any():
        g = int(np.argmax(short))
        raise SitingError(
            "siting.error.quota_infeasible", group=uniq[g], count=int(gmin[g]), available=int(min(size[g], gmax[g]))
        )
    return codes.astype(np.int64), gmin, gmax, uniq


def _side_for(
    problem: CoverageProblem,
    reduced: ReducedProblem | None,
    *,
    p: int | None,
    budget: float | None,
    codes: NDArray[np.int64] | None,
    gmin: NDArray[np.int64] | None,
    gmax: NDArray[np.int64] | None,
) -> SideConstraints:
    cols = reduced.columns if reduced is not None else np.arange(problem.n_candidates)
    cost = problem.candidate_cost[cols] if problem.candidate_cost is not None else None
    return SideConstraints(
        p=p,
        cost=cost,
        budget=budget,
        group=None if codes is None else codes[cols],
        group_min=gmin,
        group_max=gmax,
    )


def _check_options(*, solver: str, time_limit_s: float, mip_rel_gap: float) -> None:
    if solver not in ("highs", "greedy"):
        raise SitingError("siting.error.bad_solver", solver=solver)
    if not time_limit_s > 0:
        raise SitingError("siting.error.bad_option", name="time_limit_s", value=time_limit_s)
    if not 0 <= mip_rel_gap < 1:
        raise SitingError("siting.error.bad_option", name="mip_rel_gap", value=mip_rel_gap)


def maximal_covering(
    problem: CoverageProblem,
    *,
    p: int | None,
    budget: float | None = None,
    group_min: Mapping[Any, int] | None = None,
    group_max: Mapping[Any, int] | None = None,
    solver: Solver = "highs",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    model: str = "mclp",
) -> SitingResult:
    """Choose up to ``p`` new sites (and/or within ``budget``) covering the most population.

    Existing stations stay; the objective counts the population they cover plus what the
    new sites newly cover. Sites that would add nothing are not proposed, so fewer than
    ``p`` sites are returned when fewer suffice.

    Parameters
    ----------
    problem
        The coverage problem.
    p
        Number of new sites (``None``: limited by ``budget`` only).
    budget
        Maximum total ``candidate_cost`` of the new sites.
    group_min, group_max
        Minimum / maximum number of new sites per township (``candidate_group`` label).
    solver
        ``"highs"`` (exact MIP, warm-started from greedy + swap) or ``"greedy"``.
    time_limit_s
        Time limit for the whole solve; the best solution and bound so far are returned.
    mip_rel_gap
        Relative gap at which HiGHS stops.
    model
        Label stored in the result.
    """
    t0 = time.perf_counter()
    _check_options(solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if p is None and budget is None:
        raise SitingError("siting.error.no_limit")
    if problem.n_candidates == 0:
        raise SitingError("siting.error.no_candidates")
    if p is not None:
        if p < 0:
            raise SitingError("siting.error.bad_p", p=p)
        if p > problem.n_candidates:
            raise SitingError("siting.error.p_too_large", p=p, count=problem.n_candidates)
    if budget is not None:
        if problem.candidate_cost is None:
            raise SitingError("siting.error.budget_without_cost")
        if not budget >= 0:
            raise SitingError("siting.error.bad_option", name="budget", value=budget)
    codes, gmin, gmax, _ = _quota_side(problem, group_min=group_min, group_max=group_max)
    if p is not None and gmin is not None and int(gmin.sum()) > p:
        raise SitingError("siting.error.quota_exceeds_p", total=int(gmin.sum()), count=p)
    reduced = reduce_problem(problem, cost=problem.candidate_cost, group=codes)
    side = _side_for(problem, reduced, p=p, budget=budget, codes=codes, gmin=gmin, gmax=gmax)
    out = _solve_max_cover(
        reduced,
        side,
        offset=problem.existing_population,
        solver=solver,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        t0=t0,
    )
    return _result(problem, reduced, out, model=model, t0=t0, maximise=True, drop_idle=gmin is None)


def _solve_max_cover(
    reduced: ReducedProblem,
    side: SideConstraints,
    *,
    offset: float,
    solver: Solver,
    time_limit_s: float,
    mip_rel_gap: float,
    t0: float,
) -> SolverOutput:
    a_csc = sp.csc_matrix(reduced.cover, dtype=np.float64)
    w = reduced.weights
    n = a_csc.shape[1]
    # keep a little time for ranking the sites and building the result
    deadline = t0 + time_limit_s - min(RESULT_RESERVE_S, 0.05 * time_limit_s)
    th = time.perf_counter()
    start = _heuristics.greedy_max_cover(a_csc, w, side=side)
    if side.p is not None and len(start) == side.p:
        start = _heuristics.swap_improve(a_csc, w, start, side=side, deadline=deadline)
    heuristic_ok = _solvers.feasible(side, start, n)
    value = offset + _solvers.covered_weight(a_csc, w, start)
    if solver == "greedy" or a_csc.shape[0] == 0:
        if not heuristic_ok:
            raise SitingError("siting.error.heuristic_infeasible")
        status = "optimal" if a_csc.shape[0] == 0 else "heuristic"
        bound = value if a_csc.shape[0] == 0 else float("nan")
        return SolverOutput(start, value, bound, status, "greedy+swap", time.perf_counter() - th)
    plain = side.p is not None and side.budget is None and not side.has_quotas
    if plain and heuristic_ok and a_csc.nnz >= LARGE_NNZ:
        return solve_large_max_cover(
            a_csc, w, start, p=int(side.p or 0), offset=offset, deadline=deadline, mip_rel_gap=mip_rel_gap, t0=th
        )
    remaining = max(deadline - time.perf_counter(), 0.1)
    try:
        out = _highs.highs_max_cover(
            sp.csr_matrix(a_csc, dtype=np.float64),
            w,
            side=side,
            offset=offset,
            start=start if heuristic_ok else None,
            time_limit_s=remaining,
            mip_rel_gap=mip_rel_gap,
        )
    except SolverError as err:
        if err.key != "siting.error.no_solution" or not heuristic_ok:
            raise
        out = SolverOutput(start, value, np.inf, "time_limit", "greedy+swap", time.perf_counter() - th)
    if heuristic_ok and value > out.objective + _solvers.WEIGHT_RTOL * max(1.0, value):
        out = SolverOutput(start, value, out.bound, out.status, out.solver, out.seconds)
    return out


def set_covering(
    problem: CoverageProblem,
    *,
    target_share: float | None = None,
    minimise: Literal["count", "cost"] = "count",
    budget: float | None = None,
    group_min: Mapping[Any, int] | None = None,
    group_max: Mapping[Any, int] | None = None,
    solver: Solver = "highs",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
) -> SitingResult:
    """Fewest (or cheapest) new sites reaching a coverage target.

    Parameters
    ----------
    problem
        The coverage problem.
    target_share
        ``None``: cover every demand point some candidate reaches (unreachable points
        are listed in ``uncoverable_ids``). A share in ``(0, 1]``: cover at least this
        share of the *total* population, existing coverage included; an unattainable
        share raises :class:`~planner._errors.SitingError` naming unreachable demand.
    minimise
        ``"count"`` (number of sites) or ``"cost"`` (total ``candidate_cost``).
    budget, group_min, group_max, solver, time_limit_s, mip_rel_gap
        As in :func:`maximal_covering`.
    """
    t0 = time.perf_counter()
    _check_options(solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if problem.n_candidates == 0:
        raise SitingError("siting.error.no_candidates")
    if minimise not in ("count", "cost"):
        raise SitingError("siting.error.bad_option", name="minimise", value=minimise)
    if (minimise == "cost" or budget is not None) and problem.candidate_cost is None:
        raise SitingError("siting.error.budget_without_cost")
    uncoverable = ~problem.covered_by_existing & ~problem.coverable
    uncoverable_ids = problem.demand_ids[uncoverable]
    reachable_total = problem.existing_population + float(
        problem.weights[~problem.covered_by_existing & problem.coverable].sum()
    )
    target_weight: float | None = None
    if target_share is not None:
        if not 0 < target_share <= 1:
            raise SitingError("siting.error.bad_target", share=target_share)
        need = target_share * problem.total_population
        if need > reachable_total * (1 + _solvers.WEIGHT_RTOL):
            raise SitingError(
                "siting.error.target_unreachable",
                share=f"{100 * target_share:.2f}",
                best=f"{100 * reachable_total / max(problem.total_population, 1e-300):.2f}",
                count=int(uncoverable.sum()),
                ids=ids_text(uncoverable_ids),
            )
        target_weight = max(need - problem.existing_population, 0.0)
    codes, gmin, gmax, _ = _quota_side(problem, group_min=group_min, group_max=group_max)
    cost_for_dom = problem.candidate_cost if minimise == "cost" or budget is not None else None
    reduced = reduce_problem(problem, cost=cost_for_dom, group=codes)
    side = _side_for(problem, reduced, p=None, budget=budget, codes=codes, gmin=gmin, gmax=gmax)
    if minimise == "count":
        side_obj = SideConstraints(
            p=None, cost=None, budget=None, group=side.group, group_min=side.group_min, group_max=side.group_max
        )
    else:
        side_obj = side
    a_csc = sp.csc_matrix(reduced.cover, dtype=np.float64)
    w = reduced.weights
    full = target_weight is None or target_weight >= float(w.sum()) * (1 - _solvers.WEIGHT_RTOL)
    goal = float(w.sum()) if full else float(target_weight or 0.0)
    # heuristic: greedy on the objective's costs; budget checked by feasibility
    th = time.perf_counter()
    start = _heuristics.greedy_cover(a_csc, w, target=goal, side=side_obj) if goal > 0 else np.zeros(0, dtype=np.int64)
    if start is not None and budget is not None and not _solvers.feasible(side, start, a_csc.shape[1]):
        start = None
    if solver == "greedy" or goal <= 0:
        if start is None:
            raise SitingError("siting.error.heuristic_infeasible")
        value = float(side_obj.costs(a_csc.shape[1])[start].sum())
        status = "optimal" if goal <= 0 else "heuristic"
        out = SolverOutput(
            start, value, value if goal <= 0 else float("nan"), status, "greedy", time.perf_counter() - th
        )
    else:
        out = _highs.highs_cover(
            sp.csr_matrix(a_csc),
            w,
            target=None if full else goal,
            side=side,
            objective_cost=side_obj.costs(a_csc.shape[1]),
            start=start,
            time_limit_s=max(t0 + time_limit_s - time.perf_counter(), 0.1),
            mip_rel_gap=mip_rel_gap,
        )
    model = "set_cover" if target_share is None else "partial_cover"
    res = _result(problem, reduced, out, model=model, t0=t0, maximise=False, drop_idle=False)
    return _replace(res, uncoverable_ids=uncoverable_ids)


def _replace(res: SitingResult, **changes: Any) -> SitingResult:
    from dataclasses import replace

    return replace(res, **changes)


def _result(
    problem: CoverageProblem,
    reduced: ReducedProblem,
    out: SolverOutput,
    *,
    model: str,
    t0: float,
    maximise: bool,
    drop_idle: bool,
) -> SitingResult:
    cols = reduced.columns[out.selected]
    ordered, gains = rank_sites(problem, cols)
    # sites adding nothing are not proposed (unless needed for a township minimum)
    keep = gains > 0 if drop_idle else np.ones(len(ordered), dtype=bool)
    if (~keep).any():
        logger.info("%d selected site(s) add no coverage and are not proposed", int((~keep).sum()))
        ordered, gains = ordered[keep], gains[keep]
    cost = problem.candidate_cost[ordered] if problem.candidate_cost is not None else np.ones(len(ordered))
    objective = problem.existing_population + float(gains.sum())
    if maximise:
        bound = out.bound
        gap = (bound - objective) / bound if np.isfinite(bound) and bound > 0 else (0.0 if bound == 0 else float("nan"))
    else:
        bound = out.bound
        value = out.objective
        gap = (value - bound) / value if np.isfinite(bound) and value > 0 else (0.0 if value == 0 else float("nan"))
    return SitingResult(
        model=model,
        site_ids=problem.candidate_ids[ordered],
        newly_covered=gains,
        site_cost=cost,
        objective=objective,
        existing_covered=problem.existing_population,
        total_population=problem.total_population,
        n_sites=len(ordered),
        cost=float(cost.sum()),
        bound=bound,
        gap=max(gap, 0.0) if np.isfinite(gap) else gap,
        status=out.status,
        solver=out.solver,
        seconds=time.perf_counter() - t0,
        reduction=reduced.report,
    )


# =========================================================================== multi-tier and reverse


def multi_tier(
    problems: Mapping[str, CoverageProblem],
    *,
    p: Mapping[str, int] | None = None,
    budget: Mapping[str, float] | None = None,
    **options: Any,
) -> dict[str, SitingResult]:
    """Run :func:`maximal_covering` once per tier, each with its own ``p`` and/or budget.

    Parameters
    ----------
    problems
        One coverage problem per tier key (``"township"``, ``"village"``...).
    p, budget
        Per-tier number of sites and/or budget; a tier needs at least one of them.
    **options
        Passed to :func:`maximal_covering` (solver, time_limit_s, quotas...).
    """
    p = p or {}
    budget = budget or {}
    unknown = (set(p) | set(budget)) - set(problems)
    if unknown:
        raise SitingError("siting.error.unknown_tier", tiers=", ".join(sorted(map(str, unknown))))
    results: dict[str, SitingResult] = {}
    for tier, prob in problems.items():
        if tier not in p and tier not in budget:
            raise SitingError("siting.error.tier_without_limit", tier=tier)
        results[tier] = maximal_covering(prob, p=p.get(tier), budget=budget.get(tier), **options)
    return results


def removal_ranking(problem: CoverageProblem) -> pd.DataFrame:
    """Rank the candidates — here: existing stations under review — for closure.

    ``problem.cover`` holds the stations' coverage columns; ``covered_by_existing``
    marks demand covered anyway (stations not under review). Stations are removed one
    by one, each time the one whose removal loses the least population given earlier
    removals.

    Returns
    -------
    pandas.DataFrame
        One row per station in removal order: ``order``, ``site_id``,
        ``lost_alone`` (population only this station covers today), ``lost`` (lost
        when removed at this step), ``covered_after`` (population still covered).
    """
    a = sp.csc_matrix(problem.cover, dtype=np.float64)
    w = problem.weights
    fixed = problem.covered_by_existing
    n = a.shape[1]
    cnt = np.asarray(a.sum(axis=1)).ravel()
    at_risk = w * (~fixed)
    lost_alone = np.asarray(a.T @ (at_risk * (cnt == 1))).ravel()
    covered = float(w[fixed | (cnt > 0)].sum())
    active = np.ones(n, dtype=bool)
    order: list[int] = []
    lost: list[float] = []
    after: list[float] = []
    for _ in range(n):
        loss = np.asarray(a.T @ (at_risk * (cnt == 1))).ravel()
        loss[~active] = np.inf
        j = int(np.argmin(loss))
        order.append(j)
        lost.append(float(loss[j]))
        covered -= float(loss[j])
        after.append(covered)
        active[j] = False
        cnt[a.indices[a.indptr[j] : a.indptr[j + 1]]] -= 1
    idx = np.array(order, dtype=np.int64)
    return pd.DataFrame(
        {
            "order": np.arange(1, n + 1),
            "site_id": problem.candidate_ids[idx],
            "lost_alone": lost_alone[idx],
            "lost": np.array(lost),
            "covered_after": np.array(after),
        }
    )


def keep_best(problem: CoverageProblem, *, q: int, **options: Any) -> SitingResult:
    """Which ``q`` of the stations under review to keep, maximising coverage.

    The same model as :func:`maximal_covering` with ``p = q`` over the stations'
    columns (``problem.candidate_ids`` are the stations under review).
    """
    return maximal_covering(problem, p=q, model="keep", **options)
