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


# ----------------------------------------------------------------------------- the table of models


def test_models_table_lists_every_model_with_a_label() -> None:
    from planner.i18n import t
    from planner.workspace.siting_models import MODELS

    assert list(MODELS) == ["mclp", "lscp", "pmedian", "pcenter", "backup"]
    for name, spec in MODELS.items():
        assert spec.label_key == f"siting.model.{name}" and t(spec.label_key) != spec.label_key
    assert {n for n, m in MODELS.items() if m.capacity} == {"mclp", "pmedian"}


@pytest.mark.parametrize("weighted", [False, True])
def test_pcenter_proposal_objective_is_the_evaluation_of_its_sites(
    demo: tuple[Workspace, Scenario], weighted: bool
) -> None:
    from planner.workspace.propose import PROPOSAL_COLUMNS, siting_problem, time_problem

    ws, sc = fresh(demo)
    prop = ws.propose(sc.stations, tier=Tier.TOWNSHIP, k=2, model="pcenter", weighted=weighted, unreachable="cutoff")
    s = prop.summary
    assert s["model"] == "pcenter" and s["weighted"] is weighted and len(prop.sites) == s["n_sites"] == 2
    assert list(prop.sites.columns) == [*PROPOSAL_COLUMNS, "gain"]
    problem = time_problem(ws, sc.stations, siting_problem(ws, sc.stations, tier=Tier.TOWNSHIP))
    idx = pd.Index(problem.candidate_ids).get_indexer(prop.sites["site_id"])
    assert (idx >= 0).all()
    minutes = np.minimum(problem.minutes_with(idx), problem.times.cutoff_min)
    h = problem.weights if weighted else np.ones(problem.n_demand)
    assert s["objective"] == pytest.approx(float((h * minutes).max()), rel=1e-12)
    assert s["bound"] <= s["objective"] + 1e-9 and s["gap"] == pytest.approx(0.0, abs=1e-9)
    assert s["mean_minutes"] is not None and s["mean_minutes"] <= s["mean_minutes_before"] + 1e-9


def test_backup_counts_existing_stations_on_the_network(demo: tuple[Workspace, Scenario]) -> None:
    """The objective is the population within the standard of two stations, counted directly."""
    from planner.siting.candidates import coverage_sets
    from planner.workspace.propose import network_inputs, siting_problem
    from planner.workspace.siting_models import MODELS, Request

    ws, sc = fresh(demo)
    prop = ws.propose(sc.stations, tier=Tier.VILLAGE, k=3, model="backup")
    s = prop.summary
    assert s["model"] == "backup" and len(prop.sites) == s["n_sites"] == 3
    np_ = siting_problem(ws, sc.stations, tier=Tier.VILLAGE)
    tr = ws.evaluate(sc.stations).tiers[Tier.VILLAGE]
    std = ws.config.standards[Tier.VILLAGE]
    graph = ws.network.travel_graph(mode=std.mode, config=ws.config)
    own = ws.evaluate(sc.stations).stations.iloc[tr.station_rows]
    ex_cover, _ = coverage_sets(
        graph,
        candidates=own[["id", "lon", "lat"]],
        targets=tr.snap,
        limit_s=std.limit_s,
        max_snap_m=ws.config.max_snap_m,
    )
    existing = np.diff(ex_cover.indptr)
    assert ((existing > 0) == np_.problem.covered_by_existing).all() and (existing >= 2).any()
    inputs = network_inputs(ws, sc.stations, np_, spec=MODELS["backup"], request=Request(k=3))
    assert inputs.existing_count is not None
    np.testing.assert_array_equal(inputs.existing_count, existing)
    idx = pd.Index(np_.problem.candidate_ids).get_indexer(prop.sites["site_id"])
    new = np.diff(np_.problem.cover[:, idx].tocsr().indptr)
    w = np_.problem.weights
    assert s["objective"] == pytest.approx(float(w[existing + new >= 2].sum()), rel=1e-12)
    assert s["covered_once"] == pytest.approx(float(w[existing + new >= 1].sum()), rel=1e-12)
    assert prop.sites["newly_covered_population"].sum() == pytest.approx(
        s["objective"] - float(w[existing >= 2].sum()), rel=1e-9
    )
    assert s["gap"] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(SitingError) as exc:
        ws.propose(sc.stations, tier=Tier.VILLAGE, k=3, model="backup", require_cover=True)
    assert exc.value.key == "siting.backup.cover_infeasible"


def test_capacitated_mclp_serves_no_more_than_capacity(demo: tuple[Workspace, Scenario]) -> None:
    from dataclasses import replace

    ws0, sc = fresh(demo)
    ws = replace(ws0, config=replace(ws0.config, tier_capacity={Tier.VILLAGE: 3000.0}))
    result = ws.evaluate(sc.stations)
    tr = result.tiers[Tier.VILLAGE]
    assert int(result.stations["overloaded"].to_numpy()[tr.station_rows].sum()) > 0  # the demo is over 3000
    prop = ws.propose(sc.stations, tier=Tier.VILLAGE, k=3, capacity=True)
    s, sites = prop.summary, prop.sites
    assert s["model"] == "mclp_capacitated" and s["capacity"] is True and len(sites) == 3
    assert (sites["capacity"] == 3000.0).all() and (sites["load"] <= sites["capacity"] + 1e-6).all()
    np.testing.assert_allclose(sites["load"], sites["newly_covered_population"], rtol=1e-9)
    assert len(s["existing_load"]) == len(tr.station_rows)
    assert (np.asarray(s["existing_load"]) <= 3000.0 + 1e-6).all()
    assert s["objective"] == pytest.approx(sum(s["existing_load"]) + sites["load"].sum(), rel=1e-9)
    # uncapacitated the same sites would add more: the capacities bind
    free = ws.propose(sc.stations, tier=Tier.VILLAGE, k=3)
    assert free.summary["newly_covered"] > sites["load"].sum()
    # capacity asked for with no column and no tier default: say what to add, where
    with pytest.raises(SitingError) as exc:
        ws0.propose(sc.stations, tier=Tier.VILLAGE, k=3, capacity=True)
    assert exc.value.key == "siting.error.capacity_missing" and "tier_capacity" in str(exc.value)


def test_capacitated_pmedian_objective_is_its_split_assignment(demo: tuple[Workspace, Scenario]) -> None:
    from dataclasses import replace

    ws0, sc = fresh(demo)
    ws = replace(ws0, config=replace(ws0.config, tier_capacity={Tier.TOWNSHIP: 150_000.0}))
    prop = ws.propose(sc.stations, tier=Tier.TOWNSHIP, k=2, model="pmedian", capacity=True, unreachable="drop")
    s, sites = prop.summary, prop.sites
    assert s["model"] == "pmedian_capacitated" and s["assignment"] == "split" and len(sites) <= 2
    assert (sites["load"] <= sites["capacity"] + 1e-6).all()
    assert (np.asarray(s["existing_load"]) <= 150_000.0 + 1e-6).all()
    assert s["bound"] <= s["objective"] * (1 + 1e-9) and s["mean_minutes"] is not None


def test_model_options_are_checked_before_any_work(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = fresh(demo)
    cases = [
        (dict(target_percent=90.0, model="pcenter"), "siting.error.model_needs_p"),
        (dict(budget=5.0, model="backup"), "siting.error.model_needs_p"),
        (dict(k=2, model="mclp", weighted=True), "siting.error.option_for_model"),
        (dict(k=2, model="pmedian", require_cover=True), "siting.error.option_for_model"),
        (dict(k=2, model="pcenter", capacity=True), "siting.error.option_for_model"),
        (dict(k=2, model="backup", capacity=True), "siting.error.option_for_model"),
        (dict(target_percent=90.0, model="lscp", capacity=True), "siting.error.option_for_model"),
        (dict(budget=5.0, capacity=True), "siting.error.capacity_needs_p"),
        (dict(k=2, model="pmedian", unreachable="drop"), "siting.error.option_for_model"),
        (dict(k=2, model="pmedian", capacity=True, unreachable="cutoff"), "siting.error.option_for_model"),
        (dict(k=2, model="pcenter", min_per_township=1), "siting.error.option_for_model"),
    ]
    for kw, key in cases:
        with pytest.raises(SitingError) as exc:
            ws.propose(sc.stations, tier=Tier.VILLAGE, **kw)  # type: ignore[arg-type]
        assert exc.value.key == key, kw
    with pytest.raises(SitingError, match="pcenter"):
        ws.propose(sc.stations, tier=Tier.VILLAGE, k=2, weighted=True)
