"""Accessibility measures (planner.coverage.access): PySAL access's own fixtures, access on random data, invariants."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from planner.coverage.access import METHODS, accessibility, default_steps, pair_weights, parse_steps
from planner.network.times import TravelTimes


# --------------------------------------------------------------------------- access's fixtures
def _grid(n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """access's tests/util.py grid: ids 1..n², x outer loop, euclidean distances between all points."""
    xy = np.array([(x, y) for x in range(n) for y in range(n)], dtype=float)
    ids = np.arange(1, n * n + 1)
    return ids, np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))


def _rows(dist: np.ndarray, demand_ids: list[int]) -> TravelTimes:
    ids, _ = _grid()
    rows = [int(np.flatnonzero(ids == i)[0]) for i in demand_ids]
    return TravelTimes.from_dense(dist[rows], demand_ids=demand_ids, site_ids=ids)


# five demand points of population 1, 25 stations of supply 1 (test_floating_catchment_area.py)
@pytest.mark.parametrize("method", ["2sfca", "e2sfca"])
def test_access_fixture_large_catchment_gives_total_supply_over_total_demand(method: str) -> None:
    _, dist = _grid()
    times = _rows(dist, [3, 7, 12, 18, 25])
    catchment = math.inf if method == "2sfca" else 30.0  # e2sfca: access's default steps 10:1, 20:0.68, 30:0.22
    steps = ((10.0, 1.0), (20.0, 0.68), (30.0, 0.22)) if method == "e2sfca" else None
    res = accessibility(
        times, population=np.ones(5), supply=np.ones(25), method=method, catchment_min=catchment, steps=steps
    )  # type: ignore[arg-type]
    np.testing.assert_allclose(res.value, 5.0)  # access: == 5
    np.testing.assert_allclose(res.normalised, 1.0)


@pytest.mark.parametrize("method", ["2sfca", "e2sfca"])
def test_access_fixture_small_catchment_gives_one(method: str) -> None:
    _, dist = _grid()
    times = _rows(dist, [3, 7, 12, 18, 25])
    res = accessibility(times, population=np.ones(5), supply=np.ones(25), method=method, catchment_min=0.9)  # type: ignore[arg-type]
    np.testing.assert_allclose(res.value, 1.0)  # access: == 1 (each point reaches only its own station)


def test_access_fixture_zero_catchment_is_refused() -> None:
    # access returns NaN for max_cost=-1; a catchment that reaches nothing is an error here
    _, dist = _grid()
    with pytest.raises(ValueError, match="catchment_min"):
        accessibility(_rows(dist, [1]), population=[1.0], supply=np.ones(25), catchment_min=-1)


@pytest.mark.parametrize(("catchment", "expected"), [(0.5, 1.0), (10.0, 25.0)])
def test_access_fixture_weighted_catchment_counts(catchment: float, expected: float) -> None:
    # test_weighted_catchment.py: step weight 1 within the catchment → supply within reach
    _, dist = _grid()
    res = accessibility(
        _rows(dist, [13]), population=[1.0], supply=np.ones(25), method="hansen", catchment_min=catchment, beta=0.0
    )
    assert res.value[0] == pytest.approx(expected)


def test_access_fixture_gravity_weighted_catchment() -> None:
    # test_weighted_catchment_with_gravity_weights: weights.gravity(scale=60, alpha=1) on the 5×5 grid
    ids, dist = _grid()
    times = TravelTimes.from_dense(dist, demand_ids=ids, site_ids=ids)
    res = accessibility(
        times, population=np.ones(25), supply=np.ones(25), method="hansen", catchment_min=math.inf,
        beta=-1.0, scale_min=60.0, floor_min=0.0,
    )  # fmt: skip
    got = dict(zip(ids, res.value, strict=True))
    expected = {1: 1.322340210, 5: 1.322340210, 13: 0.780985109, 19: 0.925540119, 24: 1.133733026}
    for k, v in expected.items():
        assert got[k] == pytest.approx(v)


_HOSPITAL_COSTS = {  # test_hospital_example.py: origin → dest minutes per scenario (self 1 in all)
    0: {(1, 3): 40, (2, 3): 40, (3, 1): 40, (3, 2): 40, (1, 2): 80, (2, 1): 80},
    1: {(1, 3): 20, (2, 3): 20, (3, 1): 40, (3, 2): 40, (1, 2): 80, (2, 1): 80},
    2: {(1, 3): 40, (2, 3): 40, (3, 1): 20, (3, 2): 20, (1, 2): 80, (2, 1): 80},
    3: {(1, 3): 20, (2, 3): 20, (3, 1): 20, (3, 2): 20, (1, 2): 40, (2, 1): 40},
}
_HOSPITAL_EXPECTED = {  # access two_stage_fca(weight_fn=weights.gravity(1, -1), max_cost=61), tracts 1, 2, 3
    0: (0.3314441169802766, 0.5798281320669381, 7.286418169862544),
    1: (0.4353402208763805, 0.683724235963042, 5.727976611420986),
    2: (0.3310719131614654, 0.5778577857785778, 7.299991939492457),
    3: (0.4425683953985841, 0.6667582799658271, 5.7405246461850234),
}


def _hospital(n: int) -> np.ndarray:
    costs = {**{(i, i): 1 for i in (1, 2, 3)}, **_HOSPITAL_COSTS[n]}
    long = pd.DataFrame([(o, d, m) for (o, d), m in costs.items()], columns=["demand_id", "site_id", "minutes"])
    times = TravelTimes.from_long(long, demand_ids=[1, 2, 3], site_ids=[1, 2, 3])
    res = accessibility(
        times, population=[100, 50, 10], supply=[15, 20, 100], method="gravity", catchment_min=61,
        beta=1.0, floor_min=0.0,
    )  # fmt: skip
    return res.value


@pytest.mark.parametrize("scenario", [0, 1, 2, 3])
def test_access_fixture_hospital_example(scenario: int) -> None:
    np.testing.assert_allclose(_hospital(scenario), _HOSPITAL_EXPECTED[scenario], rtol=1e-12)


def test_access_fixture_hospital_scenarios_move_the_right_way() -> None:
    a = {n: _hospital(n) for n in range(4)}
    assert a[1][0] > a[0][0] and a[1][1] > a[0][1] and a[1][2] < a[0][2]  # faster into the city
    assert a[2][0] < a[0][0] and a[2][1] < a[0][1] and a[2][2] > a[0][2]  # faster out of the city
    assert a[3][0] > a[0][0] and a[3][1] > a[0][1] and a[3][2] < a[0][2]  # faster both ways


# --------------------------------------------------------------------------- against access itself
def _random_case(seed: int, n_d: int = 300, n_s: int = 25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    minutes = rng.uniform(0, 60, (n_d, n_s))
    minutes[rng.random((n_d, n_s)) < 0.3] = np.inf
    minutes[rng.random((n_d, n_s)) < 0.02] = 0.0  # stations on a demand point
    pop = rng.integers(0, 500, n_d).astype(float)
    supply = rng.integers(1, 10, n_s).astype(float)
    return minutes, pop, supply


def _dai(d0: float) -> Callable[[float], float]:
    return lambda t: max((math.exp(-0.5 * (t / d0) ** 2) - math.exp(-0.5)) / (1 - math.exp(-0.5)), 0.0)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("method", METHODS)
def test_same_values_as_pysal_access(method: str, seed: int) -> None:
    access = pytest.importorskip("access")
    from access import weights

    minutes, pop, supply = _random_case(seed)
    n_d, n_s = minutes.shape
    r, c = np.nonzero(np.isfinite(minutes))
    cost = pd.DataFrame({"origin": r, "dest": c, "cost": minutes[r, c]})
    kw: dict[str, float] = {}
    with warnings.catch_warnings():  # access uses pandas keywords that now warn
        warnings.simplefilter("ignore")
        model = access.Access(
            demand_df=pd.DataFrame({"geoid": np.arange(n_d), "pop": pop}), demand_index="geoid", demand_value="pop",
            supply_df=pd.DataFrame({"geoid": np.arange(n_s), "doc": supply}), supply_index="geoid", supply_value="doc",
            cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="cost",
        )  # fmt: skip
        if method == "2sfca":
            ref = model.two_stage_fca(name="x", max_cost=30)
            kw = {"catchment_min": 30}
        elif method == "e2sfca":  # access's default steps = the default for a 30-minute catchment
            ref = model.enhanced_two_stage_fca(name="x")
            kw = {"catchment_min": 30}
        elif method == "gravity":
            ref = model.two_stage_fca(name="x", max_cost=45, weight_fn=weights.gravity(1, -1.5, min_dist=1))
            kw = {"catchment_min": 45, "beta": 1.5}
        elif method == "g2sfca":
            ref = model.two_stage_fca(name="x", max_cost=40, weight_fn=_dai(40))
            kw = {"catchment_min": 40}
        else:
            ref = model.weighted_catchment(name="x", weight_fn=weights.gravity(60, -1, min_dist=1))
            kw = {"catchment_min": math.inf, "scale_min": 60}
        normalised_ref = (ref["x_doc"] * pop).sum() / pop.sum()
    times = TravelTimes.from_dense(minutes)
    res = accessibility(times, population=pop, supply=supply, method=method, **kw)  # type: ignore[arg-type]
    expected = ref["x_doc"].reindex(range(n_d)).fillna(0.0).to_numpy()  # access: NaN where nothing is in reach
    np.testing.assert_allclose(res.value, expected, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(res.normalised, expected / normalised_ref, rtol=1e-10)
    assert res.value.max() > 0 and (res.value == 0).sum() < n_d


# --------------------------------------------------------------------------- invariants and checks
@pytest.mark.parametrize("method", ["2sfca", "e2sfca", "gravity", "g2sfca"])
def test_supply_is_handed_out_exactly_once(method: str) -> None:
    minutes, pop, supply = _random_case(7)
    minutes[:, -1] = np.inf  # a station nobody reaches: its supply is not handed out
    res = accessibility(TravelTimes.from_dense(minutes), population=pop, supply=supply, method=method, catchment_min=20)  # type: ignore[arg-type]
    served = np.isfinite(res.station_ratio)
    assert pop @ res.value == pytest.approx(supply[served].sum(), rel=1e-12)
    assert pop @ res.normalised / pop.sum() == pytest.approx(1.0)
    assert not served.all()  # some stations have nobody reaches the last station: the check is not trivial


def test_unreached_points_get_zero_and_zero_population_stations_nan() -> None:
    minutes = np.array([[5.0, np.inf, np.inf], [np.inf, 50.0, np.inf], [np.inf, np.inf, 3.0]])
    res = accessibility(TravelTimes.from_dense(minutes), population=[10, 20, 0], supply=[4, 1, 7], catchment_min=30)
    np.testing.assert_allclose(res.value, [0.4, 0.0, 0.0])
    assert res.reached.tolist() == [True, False, True]
    assert res.station_ratio[0] == pytest.approx(0.4) and np.isnan(res.station_ratio[1:]).all()
    assert res.summary()["unreached_population"] == 20.0


def test_pair_weights_follow_the_definitions() -> None:
    t = np.array([0.0, 5.0, 10.0, 10.5, 20.0, 29.9, 30.0, 30.1])
    steps = parse_steps("10:1,20:0.68,30:0.22")
    assert steps == default_steps(30.0)
    np.testing.assert_allclose(
        pair_weights(t, method="e2sfca", catchment_min=30, steps=steps), [1, 1, 1, 0.68, 0.68, 0.22, 0.22, 0]
    )
    np.testing.assert_allclose(pair_weights(t, method="2sfca", catchment_min=10), [1, 1, 1, 0, 0, 0, 0, 0])
    g = pair_weights(t, method="g2sfca", catchment_min=30)
    assert g[0] == pytest.approx(1.0) and g[6] == pytest.approx(0.0, abs=1e-12) and (np.diff(g[:7]) <= 0).all()
    np.testing.assert_allclose(pair_weights(t[:3], method="gravity", catchment_min=30, beta=2), [1, 1 / 25, 1 / 100])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"population": [1, -1]}, "population"),
        ({"population": [1]}, "population"),
        ({"supply": [1, np.nan]}, "supply"),
        ({"catchment_min": 0}, "catchment_min"),
        ({"catchment_min": 100}, "cutoff"),
        ({"method": "e2sfca", "steps": ((10, 1), (5, 0.5))}, "steps"),
        ({"method": "nope"}, "unknown"),
    ],
)
def test_bad_inputs_are_refused(kwargs: dict[str, object], match: str) -> None:
    times = TravelTimes.from_dense([[1.0, 2.0], [3.0, np.inf]], cutoff_min=60)
    args: dict[str, object] = {"population": [1, 1], "supply": [1, 1], "catchment_min": 30, **kwargs}
    with pytest.raises(ValueError, match=match):
        accessibility(times, **args)  # type: ignore[arg-type]


def test_parse_steps_refuses_malformed_text() -> None:
    for bad in ("10", "10:x", "20:1,10:1", "0:1", "10:-1"):
        with pytest.raises(ValueError):
            parse_steps(bad)
    assert parse_steps("10：1，20：0.5") == ((10.0, 1.0), (20.0, 0.5))
