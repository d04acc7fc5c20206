"""Sharing a province's new sites between counties by marginal gain, against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from planner.batch.siting import SHARE_COLUMNS, share_out
from planner.batch.tasks import CountyOutcome


def _outcome(code: str, gains: list[float], *, status: str = "ok") -> CountyOutcome:
    sites = [
        {"rank": r + 1, "site_id": f"R{r}", "name": f"点{r}", "lon": 116.0, "lat": 27.0, "township": "", "gain": g}
        for r, g in enumerate(gains)
    ]
    return CountyOutcome(code=code, name=f"县{code}", status=status, summary={"batch": {"siting": {"sites": sites}}})  # type: ignore[arg-type]


def _brute(curves: list[list[float]], total: int) -> float:
    best = 0.0
    for take in itertools.product(*(range(len(c) + 1) for c in curves)):
        if sum(take) <= total:
            best = max(best, sum(sum(c[:k]) for c, k in zip(curves, take, strict=True)))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_share_out_is_the_best_split_of_falling_gains(seed: int) -> None:
    rng = np.random.default_rng(seed)
    curves = [sorted(rng.integers(0, 500, rng.integers(0, 5)).astype(float).tolist(), reverse=True) for _ in range(4)]
    total = int(rng.integers(0, 10))
    table = share_out([_outcome(f"9901{i:02d}", c) for i, c in enumerate(curves)], total=total)
    assert list(table.columns) == list(SHARE_COLUMNS)
    assert len(table) == sum(len(c) for c in curves)
    chosen = table[table["chosen"]]
    assert len(chosen) == min(total, len(table))
    assert chosen["gain"].sum() == pytest.approx(_brute(curves, total))
    # a county's sites are taken in its own order
    for _, grp in table.groupby("code"):
        taken = grp.sort_values("site_rank")["chosen"].to_numpy()
        assert not np.any(~taken[:-1] & taken[1:])
    assert sorted(chosen["pick"]) == list(range(1, len(chosen) + 1))


def test_rank_order_holds_even_when_a_later_site_gains_more() -> None:
    table = share_out([_outcome("990101", [10.0, 900.0]), _outcome("990102", [500.0])], total=1)
    assert table.loc[table["chosen"], "code"].tolist() == ["990102"]
    table = share_out([_outcome("990101", [10.0, 900.0]), _outcome("990102", [500.0])], total=2)
    assert table.loc[table["chosen"], "site_id"].tolist() == ["R0", "R0"]


def test_failed_counties_and_counties_without_siting_take_no_share() -> None:
    table = share_out(
        [
            _outcome("990101", [100.0], status="failed"),
            CountyOutcome(code="990102", name="乙", status="ok", summary={"batch": {}}),
            _outcome("990103", [5.0, 4.0]),
        ],
        total=5,
    )
    assert set(table["code"]) == {"990103"}
    assert table["chosen"].all()
