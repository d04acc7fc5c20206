"""The shared travel-time problem: pairs a new site can improve, and the one evaluation of open sites."""

from __future__ import annotations

import numpy as np
import pytest

from planner._errors import InputError
from planner.network.times import TravelTimes
from planner.siting.location import LocationResult, TimeProblem


def toy() -> TimeProblem:
    a = np.array([[2.0, 9.0, np.inf], [np.inf, 4.0, 1.0], [np.inf, np.inf, np.inf]])
    w = np.array([10.0, 5.0, 1.0])
    return TimeProblem(times=TravelTimes.from_dense(a), weights=w, existing_min=np.array([5.0, 3.0, 7.0]))


def test_useful_pairs_and_evaluation() -> None:
    pr = toy()
    # pairs (0,0)=2 < 5 useful, (0,1)=9 not, (1,1)=4 ≥ 3 not, (1,2)=1 useful
    np.testing.assert_array_equal(pr.useful_pairs(), [True, False, False, True])
    np.testing.assert_array_equal(pr.minutes_with(np.array([], dtype=np.int64)), [5.0, 3.0, 7.0])
    np.testing.assert_array_equal(pr.minutes_with(np.array([0, 2])), [2.0, 1.0, 7.0])
    np.testing.assert_array_equal(pr.unreachable(), [False, False, False])
    no_existing = TimeProblem(times=pr.times, weights=pr.weights)
    np.testing.assert_array_equal(no_existing.unreachable(), [False, False, True])


def test_bad_inputs_are_named() -> None:
    pr = toy()
    with pytest.raises(InputError) as e:
        TimeProblem(times=pr.times, weights=[1.0, -1.0, 1.0])
    assert e.value.key == "siting.error.negative_population" and e.value.params["row"] == 2
    with pytest.raises(InputError):
        TimeProblem(times=pr.times, weights=[1.0, 1.0])


def test_result_means_skip_unreachable() -> None:
    res = LocationResult(
        model="pmedian",
        site_ids=np.array(["c0"], dtype=object),
        site_gain=np.array([30.0]),
        objective=35.0,
        bound=35.0,
        gap=0.0,
        minutes=np.array([2.0, 3.0, np.inf]),
        minutes_before=np.array([5.0, 3.0, np.inf]),
        weights=np.array([10.0, 5.0, 1.0]),
        status="optimal",
        solver="highs",
        seconds=0.1,
    )
    assert res.mean_minutes == pytest.approx((20 + 15) / 15)
    assert res.mean_minutes_before == pytest.approx((50 + 15) / 15)
    assert res.max_minutes == 3.0
    s = res.summary()
    assert s["model"] == "pmedian" and s["objective"] == 35.0 and s["gap"] == 0.0 and s["n_sites"] == 1
