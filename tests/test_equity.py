"""Equity measures (planner.coverage.equity): hand-checkable Gini, Lorenz, Palma, quantiles and the township table."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from planner.coverage.equity import EQUITY_COLUMNS, equity_table, gini, lorenz, lorenz_share, palma, weighted_quantile


def _pairwise_gini(x: list[float]) -> float:
    """Mean absolute difference over twice the mean, from every ordered pair (the textbook definition)."""
    n, mean = len(x), sum(x) / len(x)
    return sum(abs(a - b) for a, b in itertools.product(x, x)) / (2 * n * n * mean)


def test_gini_by_hand() -> None:
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)  # Σ|xi−xj| = 20, 2·16·2.5 = 80
    assert math.isnan(gini([0, 0, 0]))
    assert math.isnan(gini([]))


def test_weighted_gini_equals_the_repeated_points() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 50, 30).round(1)
    w = rng.integers(0, 6, 30)
    repeated = np.repeat(x, w)
    assert gini(x, weights=w) == pytest.approx(_pairwise_gini(repeated.tolist()), rel=1e-12)
    assert gini(x) == pytest.approx(_pairwise_gini(x.tolist()), rel=1e-12)


def test_lorenz_endpoints_and_shape() -> None:
    p, v = lorenz([3, 1, 0, 4], weights=[1, 1, 1, 1])
    np.testing.assert_allclose(p, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(v, [0, 0, 1 / 8, 4 / 8, 1.0])
    p, v = lorenz([2.0, 8.0], weights=[3, 1])
    np.testing.assert_allclose(p, [0, 0.75, 1.0])
    np.testing.assert_allclose(v, [0, 6 / 14, 1.0])
    assert lorenz_share([2.0, 8.0], 0.375, weights=[3, 1]) == pytest.approx(3 / 14)  # half of the first segment


def test_palma_by_hand() -> None:
    # ten people, values 1..10: top 10 % hold 10/55, bottom 40 % hold (1+2+3+4)/55
    assert palma(np.arange(1, 11)) == pytest.approx(10 / 10)
    # twenty people at 1..20: top two hold 39, bottom eight hold 36
    assert palma(np.arange(1, 21)) == pytest.approx(39 / 36)
    assert palma([1, 1, 1, 1, 1]) == pytest.approx(0.1 / 0.4)
    # a point straddling the 40 % boundary is split: weights 3 and 2 at values 1 and 4
    # bottom 40 % = 2 people at 1 → 2; top 10 % = half a person at 4 → 2; total 11
    assert palma([1, 4], weights=[3, 2]) == pytest.approx((2 / 11) / (2 / 11))
    assert palma([0, 0, 0, 0, 0, 0, 0, 0, 0, 5]) == math.inf


def test_weighted_quantile_matches_numpy_inverted_cdf() -> None:
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 60, 41)
    for q in (0.0, 0.1, 0.5, 0.9, 1.0):
        assert weighted_quantile(x, q) == pytest.approx(float(np.quantile(x, q, method="inverted_cdf")))
    # weights: 90 % of 10 people are at ≤ 5 minutes only when the point at 5 has weight ≥ ...
    assert weighted_quantile([1, 5, 30], 0.9, weights=[5, 4, 1]) == 5
    assert weighted_quantile([1, 5, 30], 0.91, weights=[5, 4, 1]) == 30
    w = rng.integers(1, 5, 41)
    assert weighted_quantile(x, 0.9, weights=w) == pytest.approx(
        float(np.quantile(np.repeat(x, w), 0.9, method="inverted_cdf"))
    )


@pytest.mark.parametrize("bad", [{"values": [1, -1]}, {"values": [1, np.nan]}, {"weights": [1]}, {"weights": [1, -2]}])
def test_bad_values_are_refused(bad: dict[str, list[float]]) -> None:
    args = {"values": [1.0, 2.0], "weights": [1.0, 1.0], **bad}
    with pytest.raises(ValueError):
        gini(args["values"], weights=args["weights"])


def test_equity_table_by_hand() -> None:
    minutes = [5, 12, np.inf, 20, 3]
    pop = [100, 50, 30, 20, 0]
    town = ["甲", "甲", "乙", "乙", "乙"]
    table = equity_table(minutes, population=pop, within_min=15, horizon_min=45, township=town, access=[2, 1, 0, 1, 9])
    assert list(table.columns) == list(EQUITY_COLUMNS)
    total, a, b = (table.iloc[i] for i in range(3))
    assert total["township"] == "" and a["township"] == "甲" and b["township"] == "乙"
    assert total["population"] == 200 and total["within_population"] == 150 and total["percent_within"] == 75.0
    assert total["unreached_population"] == 30 and b["unreached_population"] == 30 and a["unreached_population"] == 0
    # the unreached point counts at the horizon (45)
    assert total["mean_min"] == pytest.approx((500 + 600 + 30 * 45 + 400) / 200)
    assert total["p90_min"] == 45  # 170 of 200 people are within 20 minutes: the 90 % point is the unreached one
    assert a["mean_min"] == pytest.approx((500 + 600) / 150) and a["p90_min"] == 12
    assert total["gini_min"] == pytest.approx(gini([5, 12, 45, 20], weights=[100, 50, 30, 20]))
    assert total["mean_access"] == pytest.approx((200 + 50 + 20) / 200)
    assert b["gini_access"] == pytest.approx(gini([0, 1], weights=[30, 20]))
    no_access = equity_table(minutes, population=pop, within_min=15, horizon_min=45)
    assert len(no_access) == 1 and no_access["gini_access"].isna().all()


def test_equity_table_refuses_times_beyond_the_horizon() -> None:
    with pytest.raises(ValueError, match="horizon"):
        equity_table([5, 50], population=[1, 1], within_min=15, horizon_min=45)
