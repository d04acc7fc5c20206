"""Proposals on a workspace: accepted sites add what they promised; coverage targets are met."""

from __future__ import annotations

import numpy as np
import pytest

from planner._errors import InputError, SitingError
from planner.settings import Tier
from planner.workspace.scenario import Scenario, compare
from planner.workspace.workspace import Workspace
from tests.helpers import fresh

# ----------------------------------------------------------------------------- proposals


def test_proposals_accepted_into_scenario(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = fresh(demo)
    before = ws.evaluate(sc.stations)
    prop = ws.propose(sc.stations, tier=Tier.VILLAGE, k=3).sites
    assert list(prop.columns[:7]) == ["rank", "site_id", "name", "lon", "lat", "tier", "newly_covered_population"]
    assert list(prop["rank"]) == [1, 2, 3] and (prop["tier"] == "village").all()
    gains = prop["newly_covered_population"].to_numpy()
    assert (gains > 0).all() and (np.diff(gains) <= 1e-9).all()
    for _, p in prop.iterrows():
        sc.add_station(tier="village", lon=float(p["lon"]), lat=float(p["lat"]), name=str(p["site_id"]))
    after = ws.evaluate(sc.stations)
    delta = compare(before, after).set_index("tier").loc["village", "delta_population"]
    assert delta == pytest.approx(gains.sum(), rel=1e-9)
    # greedy never beats the exact optimum
    greedy = ws.propose(
        ws.evaluate(sc.stations).stations.iloc[: len(sc.stations) - 3], tier=Tier.VILLAGE, k=3, solver="greedy"
    ).sites
    assert greedy["newly_covered_population"].sum() <= gains.sum() + 1e-6


def test_proposals_reach_target(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = fresh(demo)
    before = ws.evaluate(sc.stations).summary["tiers"]["township"]
    target = min(before["percent_population"] + 3.0, 99.0)
    prop = ws.propose(sc.stations, tier=Tier.TOWNSHIP, target_percent=target).sites
    assert len(prop) >= 1
    for _, p in prop.iterrows():
        sc.add_station(tier="township", lon=float(p["lon"]), lat=float(p["lat"]))
    assert ws.evaluate(sc.stations).summary["tiers"]["township"]["percent_population"] >= target - 0.01
    with pytest.raises(InputError, match="k"):
        ws.propose(sc.stations, tier=Tier.VILLAGE)
    with pytest.raises(SitingError):
        ws.propose(sc.stations, tier=Tier.VILLAGE, k=-1)
