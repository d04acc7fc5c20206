"""p-median: brute force on small instances, the OR-Library optima and spopt's San Francisco value."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from planner._errors import SitingError
from planner.network.times import TravelTimes
from planner.siting import _pmedian
from planner.siting._pmedian import MedianArrays
from planner.siting.location import TimeProblem
from planner.siting.median import _arrays, p_median
from tests.conftest import shared_path

#: Published optima of Beasley's OR-Library uncapacitated p-median instances (pmed_optimal.csv).
ORLIB_OPTIMA = {
    "pmed1": 5819, "pmed2": 4093, "pmed3": 4250, "pmed4": 3034, "pmed5": 1355,
    "pmed6": 7824, "pmed7": 5631, "pmed8": 4445, "pmed9": 2734, "pmed10": 1255,
    "pmed11": 7696, "pmed12": 6634, "pmed13": 4374, "pmed14": 2968, "pmed15": 1729,
}  # fmt: skip
#: spopt's test of PMedian on its San Francisco fixture (p = 4): mean distance in metres.
SPOPT_SF_MEAN = 2982.1268579890657


def generated(seed: int, *, m: int = 14, n: int = 7, existing: bool = True, holes: bool = False) -> TimeProblem:
    """Random planar points; minutes = distance; cutoff 40; optional existing stations and unreachable points."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 60, (m, 2))
    c = rng.uniform(0, 60, (n, 2))
    minutes = np.sqrt(((d[:, None] - c[None]) ** 2).sum(-1))
    if holes:
        minutes[:2] = np.inf  # no candidate reaches the first two points
    cutoff = 40.0
    times = TravelTimes.from_dense(np.where(minutes <= cutoff, minutes, np.inf), cutoff_min=cutoff)
    existing_min = np.where(rng.uniform(size=m) < 0.4, rng.uniform(5, 60, m), np.inf) if existing else np.zeros(0)
    if holes and existing:
        existing_min[0] = np.inf  # point 0: nothing at all; point 1 may have a station
    return TimeProblem(times=times, weights=np.round(rng.lognormal(3, 1, m)), existing_min=existing_min)


def brute_force(pr: TimeProblem, p: int, *, cap: float) -> float:
    best = np.inf
    for sites in itertools.combinations(range(pr.n_candidates), p):
        minutes = np.minimum(pr.minutes_with(np.array(sites, dtype=np.int64)), cap)
        best = min(best, float(np.where(pr.weights > 0, pr.weights * minutes, 0.0).sum()))
    return best


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("p", [1, 2, 3, 5])
@pytest.mark.parametrize("solver", ["highs", "greedy"])
def test_brute_force_with_cutoff(seed: int, p: int, solver: str) -> None:
    pr = generated(seed, holes=seed % 2 == 1)
    res = p_median(pr, p=p, unreachable="cutoff", solver=solver)  # type: ignore[arg-type]
    best = brute_force(pr, p, cap=pr.times.cutoff_min)
    assert res.bound <= best + 1e-6 * best  # the bound is proven
    if solver == "highs":
        assert res.objective == pytest.approx(best, rel=1e-9) and res.status == "optimal"
    assert res.objective >= best - 1e-6 * best
    # the objective is the one evaluation of the sites chosen, capped at the cutoff
    idx = pd.Index(pr.candidate_ids).get_indexer(res.site_ids)
    minutes = np.minimum(pr.minutes_with(idx), pr.times.cutoff_min)
    assert res.objective == pytest.approx(float((pr.weights * minutes).sum()), rel=1e-12)
    np.testing.assert_allclose(res.minutes, minutes)
    assert res.gap == pytest.approx((res.objective - res.bound) / res.objective)
    # gains in rank order add up to the improvement over the existing stations (all finite here)
    before = float((pr.weights * np.minimum(pr.existing_min, pr.times.cutoff_min)).sum())
    assert res.site_gain.sum() == pytest.approx(before - res.objective, rel=1e-9)
    assert (np.diff(res.site_gain) <= 1e-9).all() and len(res.site_ids) <= p
    assert res.mean_minutes == pytest.approx(res.objective / pr.weights.sum())


@pytest.mark.parametrize("seed", range(6))
def test_brute_force_without_existing_stations_or_cutoff(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    minutes = rng.uniform(1, 50, (12, 8))
    pr = TimeProblem(times=TravelTimes.from_dense(minutes), weights=rng.uniform(0, 10, 12))
    for p in (1, 3, 4):
        res = p_median(pr, p=p)
        assert res.objective == pytest.approx(brute_force(pr, p, cap=np.inf), rel=1e-9)
        assert res.status == "optimal" and res.gap <= 1e-6 and len(res.site_ids) == p


def test_unreachable_points_error_names_them_and_the_option() -> None:
    pr = generated(1, holes=True)
    with pytest.raises(SitingError) as exc:
        p_median(pr, p=2)
    assert exc.value.key == "siting.error.pmedian_unreachable" and exc.value.params["count"] == 1
    assert exc.value.params["ids"] == "0" and "--unreachable cutoff" in str(exc.value)
    res = p_median(pr, p=2, unreachable="cutoff")
    assert "0" in [str(x) for x in res.unreachable_ids]
    assert res.minutes[0] == pr.times.cutoff_min


def test_sparse_times_without_cutoff_need_enough_sites() -> None:
    # two far groups, no existing stations, no cutoff: one site cannot reach both
    minutes = np.array([[1.0, np.inf], [2.0, np.inf], [np.inf, 1.0]])
    pr = TimeProblem(times=TravelTimes.from_dense(minutes), weights=np.ones(3))
    with pytest.raises(SitingError) as exc:
        p_median(pr, p=1)
    assert exc.value.key == "siting.error.pmedian_p_too_small" and exc.value.params["ids"] == "2"
    assert p_median(pr, p=2).objective == pytest.approx(4.0)
    no_pairs = TimeProblem(times=TravelTimes.from_dense(np.array([[1.0], [np.inf]])), weights=np.ones(2))
    with pytest.raises(SitingError) as exc:
        p_median(no_pairs, p=1, unreachable="cutoff")
    assert exc.value.key == "siting.error.pmedian_no_cutoff"


def test_p_zero_and_bad_p() -> None:
    pr = generated(3)
    res = p_median(pr, p=0, unreachable="cutoff")
    assert res.n_sites == 0 and res.status == "optimal" and res.gap == 0.0
    assert res.objective == pytest.approx(float((pr.weights * np.minimum(pr.existing_min, 40.0)).sum()))
    with pytest.raises(SitingError) as exc:
        p_median(pr, p=pr.n_candidates + 1, unreachable="cutoff")
    assert exc.value.key == "siting.error.p_too_large"
    for bad in (-1, 1.5):
        with pytest.raises(SitingError):
            p_median(pr, p=bad, unreachable="cutoff")  # type: ignore[arg-type]
    with pytest.raises(SitingError):
        p_median(pr, p=1, unreachable="ignore")  # type: ignore[arg-type]


def test_points_served_by_their_station_need_no_variable() -> None:
    # point 1's station (1 min) beats every candidate: only point 0 enters the model
    minutes = np.array([[3.0, 5.0], [4.0, 2.0]])
    pr = TimeProblem(
        times=TravelTimes.from_dense(minutes), weights=np.array([1.0, 10.0]), existing_min=np.array([9.0, 1.0])
    )
    res = p_median(pr, p=1)
    assert res.details["pairs"] == 2 and list(res.site_ids) == [0] and res.objective == pytest.approx(13.0)
    assert res.site_gain.tolist() == pytest.approx([6.0])


def orlib(name: str) -> tuple[np.ndarray, int]:
    """All-pairs shortest paths of an OR-Library graph (a repeated edge: the last one counts)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import shortest_path

    tokens = shared_path("benchmarks", "orlib_pmed", f"{name}.txt").read_text().split()
    n, m, p = map(int, tokens[:3])
    edges = np.array(tokens[3 : 3 + 3 * m], dtype=np.int64).reshape(m, 3)
    cost: dict[tuple[int, int], int] = {}
    for i, j, c in edges:
        cost[(i - 1, j - 1)] = cost[(j - 1, i - 1)] = int(c)
    ij = np.array(list(cost), dtype=np.int64)
    graph = sp.csr_matrix((np.array(list(cost.values()), float), (ij[:, 0], ij[:, 1])), shape=(n, n))
    return shortest_path(graph, directed=True), p


@pytest.mark.shared
@pytest.mark.parametrize("name", list(ORLIB_OPTIMA))
def test_orlib_published_optima(name: str) -> None:
    dist, p = orlib(name)
    pr = TimeProblem(times=TravelTimes.from_dense(dist), weights=np.ones(len(dist)))
    res = p_median(pr, p=p)
    assert res.objective == ORLIB_OPTIMA[name]
    assert res.bound == ORLIB_OPTIMA[name] and res.status == "optimal"


@pytest.mark.shared
def test_spopt_san_francisco_mean_distance() -> None:
    base = shared_path("benchmarks", "spopt_sf")
    long = pd.read_csv(
        base / "SF_network_distance_candidateStore_16_censusTract_205_new.csv", dtype={"DestinationName": str}
    )
    demand = pd.read_csv(base / "SF_demand_205_centroid_uniform_weight.csv", dtype={"NAME": str}).sort_values("NAME")
    cost = long.pivot_table(values="distance", index="DestinationName", columns="name")
    weights = demand.set_index("NAME").loc[cost.index, "POP2000"].to_numpy(float)
    times = TravelTimes.from_long(
        long.rename(columns={"DestinationName": "demand_id", "name": "site_id", "distance": "minutes"}),
        demand_ids=cost.index.to_numpy(),
        site_ids=cost.columns.to_numpy(),
    )
    res = p_median(TimeProblem(times=times, weights=weights), p=4)
    assert res.objective / weights.sum() == pytest.approx(SPOPT_SF_MEAN, rel=1e-9)
    assert res.mean_minutes == pytest.approx(SPOPT_SF_MEAN, rel=1e-9) and res.status == "optimal"


def _model(seed: int, *, m: int = 16, n: int = 9) -> MedianArrays:
    """The model arrays of a generated instance (with stations, a cutoff and unreachable points)."""
    arr, *_ = _arrays(generated(seed, m=m, n=n, holes=seed % 2 == 1), cap=40.0)
    return arr


def _plain_value(arr: MedianArrays, sites: list[int]) -> float:
    """Objective of ``sites`` row by row (independent of the vectorised assignment)."""
    total = 0.0
    for i in range(arr.m):
        mine = (arr.rows == i) & np.isin(arr.cols, sites)
        total += min([arr.fallback[i], *arr.cost[mine].tolist()])
    return total


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1, 2, 4])
def test_swap_profits_equal_brute_force_swaps_after_moves(seed: int, p: int) -> None:
    # gain(j) - loss(r) + extra(j, r) is the saving of every swap, also after incremental updates
    arr = _model(seed)
    state = _pmedian._Swaps(arr, np.arange(p, dtype=np.int64))
    rng = np.random.default_rng(seed)
    for _ in range(3):
        sites = state.sites.tolist()
        value = _plain_value(arr, sites)
        assert state.a.value == pytest.approx(value, rel=1e-12)
        extra = state.extra.reshape(arr.n, p)
        for j in set(range(arr.n)) - set(sites):
            for s, r in enumerate(sites):
                swapped = _plain_value(arr, [x for x in sites if x != r] + [j])
                profit = state.gain[j] - state.loss[s] + extra[j, s]
                assert profit == pytest.approx(value - swapped, abs=1e-9 * value)
        closed = np.flatnonzero(~state.open)
        state._swap(int(rng.choice(closed)), int(rng.integers(p)))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("p", [1, 2, 3, 5])
def test_interchange_ends_at_a_brute_force_local_optimum(seed: int, p: int) -> None:
    arr = _model(seed, m=18, n=10)
    start = np.random.default_rng(seed).choice(arr.n, p, replace=False)
    sites = _pmedian.interchange(arr, start, deadline=np.inf).tolist()
    assert len(sites) == p
    value = _plain_value(arr, sites)
    assert value <= _plain_value(arr, start.tolist()) + 1e-9
    for r, j in itertools.product(sites, set(range(arr.n)) - set(sites)):
        assert _plain_value(arr, [x for x in sites if x != r] + [j]) >= value - 1e-9 * value


def test_greedy_fills_a_start_to_p_by_marginal_gain() -> None:
    arr = _model(3, m=20, n=10)
    start = np.array([7], dtype=np.int64)
    sites = _pmedian.greedy(arr, p=3, start=start)
    assert sites[0] == 7 and len(set(sites.tolist())) == 3
    # each added site is the best addition to the ones before it
    for k in (1, 2):
        best = min(_plain_value(arr, [*sites[:k].tolist(), j]) for j in range(arr.n) if j not in sites[:k])
        assert _plain_value(arr, sites[: k + 1].tolist()) == pytest.approx(best)


def test_time_limit_reports_status_bound_and_gap() -> None:
    # large enough that a fraction of a second cannot prove optimality
    rng = np.random.default_rng(5)
    m, n = 3000, 1500
    d, c = rng.uniform(0, 40, (m, 2)), rng.uniform(0, 40, (n, 2))
    pairs = cKDTree(d).sparse_distance_matrix(cKDTree(c), 8.0, output_type="coo_matrix")
    times = TravelTimes.from_pairs(
        rows=pairs.row, columns=pairs.col, minutes=2.0 * pairs.data, demand_ids=np.arange(m),
        site_ids=np.arange(n), cutoff_min=16.0,
    )  # fmt: skip
    pr = TimeProblem(times=times, weights=np.round(rng.lognormal(6.0, 1.0, m)))
    res = p_median(pr, p=60, time_limit_s=0.5, unreachable="cutoff")
    assert res.status == "time_limit"
    assert np.isfinite(res.bound) and 0 < res.bound <= res.objective
    assert res.gap == pytest.approx((res.objective - res.bound) / res.objective) and res.gap > 0
    assert res.details["lagrangian_steps"] >= 1 and len(res.site_ids) == 60
