"""Capacitated MCLP and p-median against brute force: every subset of sites, each assignment by scipy's linprog."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import linprog

from planner._errors import InputError, SitingError
from planner.network.times import TravelTimes
from planner.siting.capacity import (
    capacitated_max_cover,
    capacitated_p_median,
    existing_cover_from_assignment,
)
from planner.siting.location import TimeProblem
from planner.siting.models import maximal_covering
from planner.siting.problem import CoverageProblem


def _assignment_lp(
    reach: NDArray[np.bool_],
    w: NDArray[np.float64],
    cap: NDArray[np.float64],
    *,
    minutes: NDArray[np.float64] | None = None,
) -> float:
    """Best split of ``w`` over the columns of the dense ``reach`` (``minutes``: p-median, else covering).

    Covering: the most people served; p-median: the least people × minutes with everyone
    served (``inf`` when infeasible). An independent dense formulation (``linprog``).
    """
    m, k = reach.shape
    ii, jj = np.nonzero(reach)
    n_var = len(ii)
    if n_var == 0:
        return 0.0 if minutes is None else (0.0 if not (w > 0).any() else np.inf)
    demand = np.zeros((m, n_var))
    demand[ii, np.arange(n_var)] = 1.0
    rows, rhs = [], []
    for j in range(k):
        if np.isfinite(cap[j]):
            row = np.zeros(n_var)
            row[jj == j] = w[ii[jj == j]]
            rows.append(row)
            rhs.append(cap[j])
    a_ub = np.array(rows) if rows else None
    b_ub = np.array(rhs) if rows else None
    if minutes is None:
        a_ub = demand if a_ub is None else np.vstack([a_ub, demand])
        b_ub = np.ones(m) if b_ub is None else np.concatenate([b_ub, np.ones(m)])
        res = linprog(-w[ii], A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
        assert res.status == 0
        return float(-res.fun)
    served = w > 0
    res = linprog(
        w[ii] * minutes[ii, jj],
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=demand[served],
        b_eq=np.ones(int(served.sum())),
        bounds=(0, 1),
        method="highs",
    )
    return float(res.fun) if res.status == 0 else np.inf


def _instance(seed: int, m: int = 14, n: int = 7, n_ex: int = 2) -> tuple[NDArray[np.float64], ...]:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 10, (m, 2))
    sites = rng.uniform(0, 10, (n + n_ex, 2))
    dist = np.linalg.norm(pts[:, None, :] - sites[None, :, :], axis=2) * 3.0  # minutes
    w = rng.integers(0, 120, m).astype(float)
    cap = rng.integers(80, 400, n + n_ex).astype(float)
    return dist, w, cap


# --------------------------------------------------------------------------- MCLP


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_capacitated_max_cover_matches_brute_force(seed: int, p: int) -> None:
    n, n_ex, std = 7, 2, 12.0
    dist, w, cap = _instance(seed, n=n, n_ex=n_ex)
    within = dist <= std
    # existing stations: each covered point assigned to its nearest existing station within the standard
    ex_min = dist[:, n:]
    nearest = np.where(within[:, n:].any(axis=1), np.argmin(np.where(within[:, n:], ex_min, np.inf), axis=1), -1)
    ex_cover = existing_cover_from_assignment(nearest, n_stations=n_ex)
    problem = CoverageProblem(
        cover=sp.csr_matrix(within[:, :n]),
        weights=w,
        covered_by_existing=nearest >= 0,
        demand_ids=np.arange(len(w)),
        candidate_ids=np.array([f"c{j}" for j in range(n)], dtype=object),
    )
    res = capacitated_max_cover(problem, p=p, capacity=cap[:n], existing_cover=ex_cover, existing_capacity=cap[n:])
    ex_reach = ex_cover.toarray()
    best = -np.inf
    for subset in itertools.combinations(range(n), p):
        reach = np.hstack([within[:, list(subset)], ex_reach])
        best = max(best, _assignment_lp(reach, w, np.concatenate([cap[list(subset)], cap[n:]])))
    assert res.objective == pytest.approx(best, rel=1e-6, abs=1e-6)
    assert res.bound >= res.objective - 1e-6 * max(1.0, best)
    assert res.status == "optimal" and res.gap <= 1e-6
    # the chosen sites' own assignment gives the objective, and the ranks add up to it
    cols = [int(str(s)[1:]) for s in res.site_ids]
    chosen_val = _assignment_lp(np.hstack([within[:, cols], ex_reach]), w, np.concatenate([cap[cols], cap[n:]]))
    assert chosen_val == pytest.approx(res.objective, rel=1e-6, abs=1e-6)
    assert res.existing_covered + res.newly_covered.sum() == pytest.approx(res.objective, rel=1e-6, abs=1e-6)
    assert (res.site_load <= res.site_capacity * (1 + 1e-7) + 1e-6).all()
    assert (res.existing_load <= cap[n:] * (1 + 1e-7) + 1e-6).all()


@pytest.mark.parametrize("seed", range(4))
def test_capacitated_max_cover_without_limits_is_the_mclp(seed: int) -> None:
    dist, w, _ = _instance(seed, m=40, n=12, n_ex=0)
    problem = CoverageProblem.from_dense(dist, max_distance=9.0, weights=w, existing=[0, 1])
    for p in (1, 3):
        unlimited = capacitated_max_cover(problem, p=p, capacity=np.full(problem.n_candidates, np.inf))
        plain = maximal_covering(problem, p=p)
        assert unlimited.objective == pytest.approx(plain.objective, rel=1e-9)
        assert unlimited.existing_covered == pytest.approx(problem.existing_population)


def test_capacitated_max_cover_greedy_is_feasible_and_not_better() -> None:
    dist, w, cap = _instance(3, m=30, n=10, n_ex=0)
    problem = CoverageProblem.from_dense(dist, max_distance=10.0, weights=w)
    exact = capacitated_max_cover(problem, p=3, capacity=cap)
    greedy = capacitated_max_cover(problem, p=3, capacity=cap, solver="greedy")
    assert greedy.status == "heuristic" and np.isnan(greedy.bound)
    assert greedy.objective <= exact.objective + 1e-6
    assert (greedy.site_load <= greedy.site_capacity + 1e-6).all()


def test_capacitated_max_cover_checks_inputs() -> None:
    problem = CoverageProblem.from_dense(np.array([[1.0, 2.0], [3.0, 1.0]]), max_distance=5.0)
    with pytest.raises(InputError, match="capacity"):
        capacitated_max_cover(problem, p=1, capacity=[10.0, -1.0])
    with pytest.raises(InputError):
        capacitated_max_cover(problem, p=1, capacity=[10.0])
    with pytest.raises(SitingError, match="existing"):
        capacitated_max_cover(problem, p=1, capacity=[1.0, 1.0], existing_capacity=[5.0])
    bad_cover = existing_cover_from_assignment([0, -1], n_stations=1)  # the problem says nobody is covered
    with pytest.raises(InputError, match="1"):
        capacitated_max_cover(problem, p=1, capacity=[1.0, 1.0], existing_cover=bad_cover)


def test_existing_cover_from_assignment() -> None:
    a = existing_cover_from_assignment([1, -1, 0, 1], n_stations=3)
    assert a.shape == (4, 3)
    assert a.toarray().tolist() == [
        [False, True, False],
        [False, False, False],
        [True, False, False],
        [False, True, False],
    ]


# --------------------------------------------------------------------------- p-median


def _time_problem(dist: NDArray[np.float64], w: NDArray[np.float64], n: int, cutoff: float) -> TimeProblem:
    times = TravelTimes.from_dense(np.where(dist[:, :n] <= cutoff, dist[:, :n], np.inf), cutoff_min=cutoff)
    ex = np.where(dist[:, n:] <= cutoff, dist[:, n:], np.inf)
    existing_min = ex.min(axis=1) if ex.shape[1] else np.full(len(w), np.inf)
    return TimeProblem(times=times, weights=w, existing_min=existing_min)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [2, 3])
def test_capacitated_p_median_matches_brute_force(seed: int, p: int) -> None:
    n, n_ex, cutoff = 7, 2, 25.0
    dist, w, cap = _instance(seed, n=n, n_ex=n_ex)
    cap = cap * 1.5
    problem = _time_problem(dist, w, n, cutoff)
    ex_times = TravelTimes.from_dense(np.where(dist[:, n:] <= cutoff, dist[:, n:], np.inf), cutoff_min=cutoff)
    reach_all = dist <= cutoff
    best = np.inf
    for subset in itertools.combinations(range(n), p):
        cols = [*subset, *range(n, n + n_ex)]
        best = min(best, _assignment_lp(reach_all[:, cols], w, cap[cols], minutes=dist[:, cols]))
    if not np.isfinite(best):
        with pytest.raises(SitingError):
            capacitated_p_median(problem, p=p, capacity=cap[:n], existing_capacity=cap[n:], existing_times=ex_times)
        return
    res = capacitated_p_median(problem, p=p, capacity=cap[:n], existing_capacity=cap[n:], existing_times=ex_times)
    assert res.objective == pytest.approx(best, rel=1e-6)
    assert res.bound <= res.objective * (1 + 1e-6)
    assert res.status == "optimal" and res.gap <= 1e-6
    # per-point minutes are the means of the split: their weighted sum is the objective
    assert float((res.minutes * w)[w > 0].sum()) == pytest.approx(res.objective, rel=1e-6)
    load = np.asarray(res.details["site_load"])
    assert load.sum() + sum(res.details["existing_load"]) == pytest.approx(w.sum())
    assert (load <= np.asarray(res.details["site_capacity"], float) + 1e-6).all()


@pytest.mark.parametrize("seed", range(4))
def test_capacitated_p_median_unlimited_is_the_p_median(seed: int) -> None:
    n, cutoff = 8, 30.0
    dist, w, _ = _instance(seed, m=18, n=n, n_ex=1)
    dist[:, n] = np.minimum(dist[:, n], cutoff)  # the existing station reaches everyone
    problem = _time_problem(dist, w, n, cutoff)
    d = np.where(dist <= cutoff, dist, np.inf)
    for p in (1, 2, 3):
        best = min(
            float((w * np.minimum(d[:, list(s)].min(axis=1), d[:, n])).sum())
            for s in itertools.combinations(range(n), p)
        )
        res = capacitated_p_median(problem, p=p, capacity=np.full(n, np.inf))
        assert res.objective == pytest.approx(best, rel=1e-9)
        assert np.array_equal(res.minutes_before, d[:, n])


def test_capacitated_p_median_says_how_short_the_capacity_is() -> None:
    dist, w, _ = _instance(1, m=10, n=5, n_ex=0)
    w = np.full(10, 100.0)
    problem = _time_problem(dist, w, 5, 100.0)
    with pytest.raises(SitingError, match="400") as err:  # 1000 people, two sites of 300
        capacitated_p_median(problem, p=2, capacity=np.full(5, 300.0))
    assert err.value.key == "siting.error.capacity_short"
    # enough in total, but a point only one small site reaches
    far = np.full((3, 2), np.inf)
    far[0, 0], far[1, 0], far[2, 1] = 1.0, 2.0, 1.0
    tp = TimeProblem(times=TravelTimes.from_dense(far), weights=np.array([50.0, 50.0, 10.0]))
    with pytest.raises(SitingError, match="40") as err2:
        capacitated_p_median(tp, p=2, capacity=[60.0, 100.0])
    assert err2.value.key == "siting.error.capacity_short_reach"


def test_capacitated_p_median_unreachable_points() -> None:
    d = np.array([[1.0, np.inf], [np.inf, 2.0], [np.inf, np.inf]])
    tp = TimeProblem(times=TravelTimes.from_dense(d, demand_ids=["a", "b", "c"]), weights=np.array([10.0, 20.0, 5.0]))
    with pytest.raises(SitingError, match="c"):
        capacitated_p_median(tp, p=2, capacity=[100.0, 100.0])
    res = capacitated_p_median(tp, p=2, capacity=[100.0, 100.0], unreachable="drop")
    assert list(res.unreachable_ids) == ["c"]
    assert res.objective == pytest.approx(10.0 * 1.0 + 20.0 * 2.0)
    assert np.isinf(res.minutes[2])


def test_capacitated_p_median_splits_a_point_over_two_sites() -> None:
    # one village of 100 people, two sites of 60 at 1 and 3 minutes: 60 × 1 + 40 × 3
    tp = TimeProblem(times=TravelTimes.from_dense(np.array([[1.0, 3.0]])), weights=np.array([100.0]))
    res = capacitated_p_median(tp, p=2, capacity=[60.0, 60.0])
    assert res.objective == pytest.approx(60.0 + 120.0)
    assert res.minutes[0] == pytest.approx(1.8)
    assert res.details["site_load"] == pytest.approx([60.0, 40.0])


# --------------------------------------------------------------------------- p-median, large-instance route


def _brute_p_median(dist: NDArray[np.float64], w: NDArray[np.float64], cap: NDArray[np.float64], n: int, p: int,
                    cutoff: float) -> float:  # fmt: skip
    reach_all = dist <= cutoff
    n_ex = dist.shape[1] - n
    return min(
        _assignment_lp(reach_all[:, cols], w, cap[cols], minutes=dist[:, cols])
        for cols in ([*s, *range(n, n + n_ex)] for s in itertools.combinations(range(n), p))
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [2, 3])
def test_capacitated_p_median_lagrangian_route_brackets_the_optimum(seed: int, p: int) -> None:
    n, n_ex, cutoff = 7, 2, 25.0
    dist, w, cap = _instance(seed, m=20, n=n, n_ex=n_ex)
    cap = cap * 1.5
    problem = _time_problem(dist, w, n, cutoff)
    ex_times = TravelTimes.from_dense(np.where(dist[:, n:] <= cutoff, dist[:, n:], np.inf), cutoff_min=cutoff)
    best = _brute_p_median(dist, w, cap, n, p, cutoff)
    kwargs = {"capacity": cap[:n], "existing_capacity": cap[n:], "existing_times": ex_times, "mip_max_pairs": 0}
    if not np.isfinite(best):
        with pytest.raises(SitingError):
            capacitated_p_median(problem, p=p, time_limit_s=5.0, **kwargs)
        return
    res = capacitated_p_median(problem, p=p, time_limit_s=5.0, **kwargs)
    assert res.solver != "highs" and res.details["lagrangian_steps"] >= 1  # the MIP never ran
    assert res.bound <= best * (1 + 1e-7)
    assert res.objective >= best * (1 - 1e-7)
    assert res.gap == pytest.approx((res.objective - res.bound) / res.objective, abs=1e-12)
    # the objective is the best split of the chosen sites (independent LP)
    cols = [int(str(s)) for s in res.site_ids]
    chosen = [*cols, *range(n, n + n_ex)]
    reach = dist <= cutoff
    assert _assignment_lp(reach[:, chosen], w, cap[chosen], minutes=dist[:, chosen]) == pytest.approx(res.objective)
    # site_gain: the rise if that site alone is closed
    for site, gain in zip(cols, res.site_gain, strict=True):
        rest = [c for c in chosen if c != site]
        alone = _assignment_lp(reach[:, rest], w, cap[rest], minutes=dist[:, rest])
        assert (
            gain == pytest.approx(alone - res.objective, rel=1e-6, abs=1e-6) if np.isfinite(alone) else np.isinf(gain)
        )


def test_capacitated_p_median_keeps_slower_pairs_when_the_station_is_full() -> None:
    # one village of 100 people; the existing station (1 min) serves 60, the candidate (5 min) the rest
    times = TravelTimes.from_dense(np.array([[5.0]]))
    ex_times = TravelTimes.from_dense(np.array([[1.0]]))
    tp = TimeProblem(times=times, weights=np.array([100.0]), existing_min=np.array([1.0]))
    res = capacitated_p_median(tp, p=1, capacity=[100.0], existing_capacity=[60.0], existing_times=ex_times)
    assert res.objective == pytest.approx(60.0 * 1.0 + 40.0 * 5.0)
    assert res.details["pairs_dropped"] == 0
    # without a capacity the station takes everyone and the candidate's pair is useless
    free = capacitated_p_median(tp, p=1, capacity=[100.0])
    assert free.objective == pytest.approx(100.0)
    assert free.details["pairs_dropped"] == 1


def test_capacitated_p_median_honours_the_time_limit() -> None:
    rng = np.random.default_rng(7)
    m, n, p, cutoff = 900, 250, 12, 30.0
    d, c = rng.uniform(0, 40, (m, 2)), rng.uniform(0, 40, (n, 2))
    dist = np.sqrt(((d[:, None] - c[None]) ** 2).sum(-1)) * 2.0
    w = np.round(rng.lognormal(5.0, 1.0, m))
    cap = np.round(rng.uniform(0.8, 1.6, n) * w.sum() / p)
    problem = TimeProblem(
        times=TravelTimes.from_dense(np.where(dist <= cutoff, dist, np.inf), cutoff_min=cutoff), weights=w
    )
    limit = 3.0
    res = capacitated_p_median(problem, p=p, capacity=cap, time_limit_s=limit, mip_max_pairs=0)
    assert res.seconds <= limit + 1.0
    assert res.status in ("time_limit", "optimal", "heuristic")
    if res.status == "time_limit":
        assert res.gap > 1e-6
    assert 0 < res.bound <= res.objective
    assert len(res.site_ids) == p
    load = np.asarray(res.details["site_load"])
    assert (load <= np.asarray(res.details["site_capacity"], float) * (1 + 1e-7) + 1e-6).all()
    assert load.sum() == pytest.approx(w.sum())
