"""p-center: exact optimum against brute force over every p-subset, Swain's 55 nodes, errors."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from planner._errors import SitingError
from planner.network.times import TravelTimes
from planner.siting.center import p_center
from planner.siting.location import TimeProblem
from tests.conftest import shared_path


def brute_force(minutes: np.ndarray, existing: np.ndarray, h: np.ndarray, p: int, *, cap: float = np.inf) -> float:
    """min over every p-subset of max_i h_i · min(existing_i, nearest open, cap); h_i = 0 never binds."""
    m, n = minutes.shape
    best = np.inf
    for subset in itertools.combinations(range(n), p):
        near = minutes[:, list(subset)].min(axis=1) if p else np.full(m, np.inf)
        v = np.minimum(np.minimum(existing, near), cap)
        with np.errstate(invalid="ignore"):
            best = min(best, float(np.where(h > 0, h * v, 0.0).max()))
    return best


def random_instance(seed: int, *, cutoff: float = 20.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Integer minutes (many ties), some existing stations, some pairs beyond the cutoff."""
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(3, 12)), int(rng.integers(2, 8))
    minutes = np.round(rng.uniform(0, 30, (m, n)))
    minutes[minutes > cutoff] = np.inf
    existing = np.where(rng.random(m) < 0.3, np.round(rng.uniform(0, 30, m)), np.inf)
    weights = rng.integers(0, 5, m).astype(float)
    return minutes, existing, weights, int(rng.integers(1, n + 1))


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("mode", ["error", "cutoff"])
def test_matches_brute_force(seed: int, weighted: bool, mode: str) -> None:
    minutes, existing, w, p = random_instance(seed)
    cutoff = 20.0
    problem = TimeProblem(times=TravelTimes.from_dense(minutes, cutoff_min=cutoff), weights=w, existing_min=existing)
    h = w if weighted else np.ones(len(w))
    expected = brute_force(minutes, existing, h, p, cap=cutoff if mode == "cutoff" else np.inf)
    if not np.isfinite(expected):  # no p sites serve every (weighted) point within the cutoff
        with pytest.raises(SitingError):
            p_center(problem, p=p, weighted=weighted, unreachable=mode)  # type: ignore[arg-type]
        return
    res = p_center(problem, p=p, weighted=weighted, unreachable=mode)  # type: ignore[arg-type]
    assert res.objective == expected
    assert res.status == "optimal" and res.gap == 0.0 and res.bound == expected
    assert res.n_sites <= p and len(set(res.site_ids)) == res.n_sites
    # the reported minutes are those of the returned sites and give the objective
    after = problem.minutes_with(np.asarray(res.site_ids, dtype=np.int64))
    np.testing.assert_array_equal(res.minutes, after)
    capped = np.minimum(after, cutoff) if mode == "cutoff" else after
    with np.errstate(invalid="ignore"):
        assert float(np.where(h > 0, h * capped, 0.0).max()) == expected
    # the gains in rank order add up to the drop of the (cutoff-capped) objective
    start = np.minimum(existing, cutoff) if mode == "cutoff" else np.where(np.isfinite(existing), existing, cutoff)
    before = float(np.where(h > 0, h * start, 0.0).max())
    assert res.site_gain.sum() == pytest.approx(before - expected)
    assert np.all(res.site_gain >= 0)


@pytest.mark.parametrize("seed", range(20))
def test_greedy_bounds_the_optimum(seed: int) -> None:
    minutes, existing, w, p = random_instance(seed)
    problem = TimeProblem(times=TravelTimes.from_dense(minutes, cutoff_min=20.0), weights=w, existing_min=existing)
    exact = p_center(problem, p=p, unreachable="cutoff")
    quick = p_center(problem, p=p, unreachable="cutoff", solver="greedy")
    assert quick.bound <= exact.objective <= quick.objective
    assert quick.status in ("optimal", "heuristic")


def test_existing_stations_are_fixed_and_extra_sites_cut_the_mean() -> None:
    # points on a line at 0, 10, 20, 30; an existing station at 0; candidates at each point
    xy = np.array([0.0, 10.0, 20.0, 30.0])
    minutes = np.abs(xy[:, None] - xy[None, :])
    problem = TimeProblem(
        times=TravelTimes.from_dense(minutes), weights=np.array([1.0, 1.0, 1.0, 100.0]), existing_min=xy.copy()
    )
    one = p_center(problem, p=1)
    assert one.objective == 10.0  # a site at 20 or 30 leaves 10 minutes at point 10 (its existing station)
    assert one.minutes_before.tolist() == [0.0, 10.0, 20.0, 30.0]
    two = p_center(problem, p=2)
    assert two.objective == 10.0 and two.n_sites == 2  # the max cannot drop; the 2nd site cuts the mean
    assert two.mean_minutes < one.mean_minutes
    weighted = p_center(problem, p=1, weighted=True)
    # weighted: the site must go to the 100 people at 30 (else 100 × 10); then 1 person × 10 min binds
    assert weighted.objective == 10.0 and list(weighted.site_ids) == [3]


def test_unreachable_demand_is_named_or_counted_at_the_cutoff() -> None:
    minutes = np.array([[5.0, np.inf], [np.inf, 8.0], [np.inf, np.inf]])
    times = TravelTimes.from_dense(minutes, demand_ids=["a", "b", "far"], cutoff_min=30.0)
    problem = TimeProblem(times=times, weights=np.ones(3))
    with pytest.raises(SitingError) as err:
        p_center(problem, p=2)
    assert err.value.key == "siting.center.unreachable" and "far" in err.value.params["ids"]
    assert "cutoff" in err.value.message("en")
    res = p_center(problem, p=2, unreachable="cutoff")
    assert res.objective == 30.0 and list(res.unreachable_ids) == ["far"]
    assert res.minutes[2] == np.inf
    # a zero-population point never binds the weighted objective, reachable or not
    light = TimeProblem(times=times, weights=np.array([1.0, 1.0, 0.0]))
    assert p_center(light, p=2, weighted=True).objective == 8.0
    # reachable by some candidate, but not by p of them together
    with pytest.raises(SitingError) as err:
        p_center(TimeProblem(times=TravelTimes.from_dense(minutes[:2], cutoff_min=30.0), weights=np.ones(2)), p=1)
    assert err.value.key == "siting.center.too_few_sites"


def test_bad_options() -> None:
    problem = TimeProblem(times=TravelTimes.from_dense(np.ones((2, 2))), weights=np.ones(2))
    for kwargs, key in (
        ({"p": 3}, "siting.error.p_too_large"),
        ({"p": -1}, "siting.error.bad_p"),
        ({"p": 1, "solver": "cbc"}, "siting.error.bad_solver"),
        ({"p": 1, "unreachable": "skip"}, "siting.error.bad_option"),
        ({"p": 1, "time_limit_s": 0}, "siting.error.bad_option"),
    ):
        with pytest.raises(SitingError) as err:
            p_center(problem, **kwargs)  # type: ignore[arg-type]
        assert err.value.key == key


def test_time_limit_keeps_a_valid_bound() -> None:
    rng = np.random.default_rng(3)
    d, c = rng.uniform(0, 60, (400, 2)), rng.uniform(0, 60, (200, 2))
    minutes = np.hypot(d[:, None, 0] - c[None, :, 0], d[:, None, 1] - c[None, :, 1])
    problem = TimeProblem(times=TravelTimes.from_dense(minutes), weights=np.ones(400))
    exact = p_center(problem, p=6)
    assert exact.status == "optimal"
    short = p_center(problem, p=6, time_limit_s=0.05)
    assert short.bound <= exact.objective <= short.objective
    assert short.gap == pytest.approx((short.objective - short.bound) / short.objective)


SWAIN_PCENTER = {  # swain_computed_optima.json (medrano copy), unweighted Euclidean, p = 1..10
    1: 28.284271247,
    2: 23.194827009,
    3: 17.464249197,
    4: 15.620499352,
    5: 13.601470509,
    6: 12.806248475,
    7: 10.295630141,
    8: 10.049875621,
    9: 9.848857802,
    10: 9.219544457,
}


@pytest.mark.shared
def test_swain_55_nodes() -> None:
    data = np.loadtxt(shared_path("benchmarks", "swain", "swain_medrano_pcenter.txt"), skiprows=1)
    xy = data[:, 1:3]
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    problem = TimeProblem(times=TravelTimes.from_dense(dist), weights=data[:, 3])
    for p, expected in SWAIN_PCENTER.items():
        res = p_center(problem, p=p)
        assert res.objective == pytest.approx(expected, abs=1e-8) and res.status == "optimal"
        if p <= 3:  # second reference: every p-subset
            assert res.objective == brute_force(dist, np.full(55, np.inf), np.ones(55), p)
    assert json.loads(shared_path("benchmarks", "swain", "swain_computed_optima.json").read_text())["medrano"][
        "pcenter"
    ] == {str(k): v for k, v in SWAIN_PCENTER.items()}
