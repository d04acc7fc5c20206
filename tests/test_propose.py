"""Proposals on a workspace: accepted sites add what they promised; coverage targets are met."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


def test_proposals_for_a_tier_without_demand_say_why(demo: tuple[Workspace, Scenario]) -> None:
    """No enterprise rows: proposing enterprise sites is refused with the reason, not "0 sites, 100 %"."""
    from dataclasses import replace

    ws, sc = fresh(demo)
    residents = replace(ws, demand=ws.demand.assign(kind="residents"))
    with pytest.raises(InputError) as exc:
        residents.propose(sc.stations, tier=Tier.ENTERPRISE, k=2)
    assert exc.value.key == "scenario.error.propose_no_demand"
    assert "企业（职工之家）层级没有需求点" in str(exc.value) and "企业文件" in str(exc.value)
    assert len(residents.propose(sc.stations, tier=Tier.VILLAGE, k=1).sites) == 1  # the other tiers still work


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


# ----------------------------------------------------------------------------- p-median


def test_pmedian_proposal_objective_is_the_evaluation_of_its_sites(demo: tuple[Workspace, Scenario]) -> None:
    """The objective equals an independent evaluation of the chosen sites; mclp stays as it was."""
    from planner.workspace.propose import siting_problem, time_problem

    ws, sc = fresh(demo)
    prop = ws.propose(sc.stations, tier=Tier.VILLAGE, k=3, model="pmedian", unreachable="cutoff")
    s = prop.summary
    assert s["model"] == "pmedian" and s["n_sites"] == len(prop.sites) <= 3
    assert prop.sites["newly_covered_population"].isna().all() and (prop.sites["gain"] > 0).all()
    np_ = siting_problem(ws, sc.stations, tier=Tier.VILLAGE)
    problem = time_problem(ws, sc.stations, np_)
    idx = pd.Index(problem.candidate_ids).get_indexer(prop.sites["site_id"])
    minutes = np.minimum(problem.minutes_with(idx), problem.times.cutoff_min)
    assert s["objective"] == pytest.approx(float((problem.weights * minutes).sum()), rel=1e-9)
    assert s["bound"] <= s["objective"] + 1e-9 and s["gap"] <= 1e-6
    before = np.minimum(problem.existing_min, problem.times.cutoff_min)
    assert prop.sites["gain"].sum() == pytest.approx(float((problem.weights * (before - minutes)).sum()), rel=1e-9)
    assert problem.times.cutoff_min == pytest.approx(
        ws.config.standards[Tier.VILLAGE].minutes * ws.config.horizon_factor
    )
    mclp = ws.propose(sc.stations, tier=Tier.VILLAGE, k=3)
    assert mclp.summary["model"] == "mclp"
    with pytest.raises(SitingError) as exc:
        ws.propose(sc.stations, tier=Tier.VILLAGE, target_percent=90.0, model="pmedian")
    assert exc.value.key == "siting.error.pmedian_needs_p"
    with pytest.raises(SitingError) as exc:
        ws.propose(sc.stations, tier=Tier.VILLAGE, k=2, model="lscp")
    assert exc.value.key == "siting.error.lscp_needs_target"
    with pytest.raises(SitingError):
        ws.propose(sc.stations, tier=Tier.VILLAGE, k=2, model="pcentre")
