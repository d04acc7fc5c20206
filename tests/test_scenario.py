"""Scenarios: incremental evaluation equals a full analysis; undo; comparisons; projects; proposals."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pytest

from planner._errors import InputError, SitingError
from planner.coverage.analyse import CoverageResult
from planner.network.roads import RoadNetwork
from planner.settings import Config, Tier
from planner.workspace.project import PROJECT_META_LAYER, load_project, project_config, save_project
from planner.workspace.scenario import Scenario, compare, compare_demand, newly_off_network
from planner.workspace.workspace import Workspace
from tests.helpers import analyse


@pytest.fixture(scope="module")
def demo() -> tuple[Workspace, Scenario]:
    return Workspace.from_demo()


def _fresh(demo: tuple[Workspace, Scenario]) -> tuple[Workspace, Scenario]:
    ws, sc = demo
    return ws, sc.copy("现状")


def _strip_timing(summary: dict[str, Any]) -> dict[str, Any]:
    out = dict(summary)
    out["tiers"] = {k: {kk: vv for kk, vv in v.items() if kk != "engine_seconds"} for k, v in out["tiers"].items()}
    return out


def assert_same_result(a: CoverageResult, b: CoverageResult) -> None:
    pd.testing.assert_frame_equal(a.demand, b.demand)
    pd.testing.assert_frame_equal(a.stations, b.stations)
    pd.testing.assert_frame_equal(a.areas, b.areas)
    pd.testing.assert_frame_equal(a.gaps, b.gaps)
    assert _strip_timing(a.summary) == _strip_timing(b.summary)
    for tier in a.tiers:
        np.testing.assert_array_equal(a.tiers[tier].station_row, b.tiers[tier].station_row)
        np.testing.assert_array_equal(a.tiers[tier].station_rows, b.tiers[tier].station_rows)


def _full(ws: Workspace, stations: pd.DataFrame) -> CoverageResult:
    return analyse(ws.network, stations=stations, demand=ws.demand, config=ws.config, areas=ws.areas)


# ----------------------------------------------------------------------------- incremental


def test_incremental_equals_full_analysis_after_edits(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = _fresh(demo)
    ws.evaluate(sc.stations)
    d = ws.demand
    gaps = ws.evaluate(sc.stations).gaps
    village_gap = gaps[gaps["tier"] == "village"].iloc[0]
    new_id = sc.add_station(tier="village", lon=float(village_gap["lon"]), lat=float(village_gap["lat"]), name="新驿站")
    assert new_id == "NEW-001"
    t0 = time.perf_counter()
    r = ws.evaluate(sc.stations)
    elapsed = time.perf_counter() - t0
    assert ws.last_recomputed == (Tier.VILLAGE,)
    assert_same_result(r, _full(ws, sc.stations))
    logging.getLogger(__name__).info("evaluate after one add on the demo county: %.3f s", elapsed)
    # move a township centre, close an early village station (shifts the rows of all later ones)
    township_id = str(sc.stations.loc[sc.stations["tier"] == "township", "id"].iloc[0])
    sc.move_station(township_id, lon=float(d["lon"].iloc[10]), lat=float(d["lat"].iloc[10]))
    first_village = str(sc.stations.loc[sc.stations["tier"] == "village", "id"].iloc[0])
    sc.close_station(first_village)
    r = ws.evaluate(sc.stations)
    assert set(ws.last_recomputed) == {Tier.TOWNSHIP, Tier.VILLAGE}
    assert_same_result(r, _full(ws, sc.stations))
    # close the second township station: rows of every later station move, cached tiers are reindexed
    township2 = str(sc.stations.loc[sc.stations["tier"] == "township", "id"].iloc[1])
    sc.close_station(township2)
    r = ws.evaluate(sc.stations)
    assert ws.last_recomputed == (Tier.TOWNSHIP,)
    assert_same_result(r, _full(ws, sc.stations))
    # closing the only county station leaves the tier without stations
    county_id = str(sc.stations.loc[sc.stations["tier"] == "county", "id"].iloc[0])
    sc.close_station(county_id)
    r = ws.evaluate(sc.stations)
    assert ws.last_recomputed == (Tier.COUNTY,)
    county = r.demand[r.demand["tier"] == "county"]
    assert r.summary["tiers"]["county"]["covered"] == 0 and (county["status"] == "no_station").all()
    assert_same_result(r, ws.evaluate(sc.stations))
    sc.undo()
    # undo everything: back to the cached original, same as the full analysis again
    while sc.undo():
        pass
    assert_same_result(ws.evaluate(sc.stations), _full(ws, sc.stations))


def test_with_config_recomputes_only_changed_tier(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = _fresh(demo)
    ws.evaluate(sc.stations)
    ws2 = ws.with_config(ws.config.with_overrides(tier=Tier.VILLAGE, minutes=10.0))
    r = ws2.evaluate(sc.stations)
    assert ws2.last_recomputed == (Tier.VILLAGE,)
    assert r.summary["tiers"]["village"]["minutes"] == 10.0
    assert_same_result(r, _full(ws2, sc.stations))
    assert (
        r.summary["tiers"]["village"]["covered_population"]
        <= ws.evaluate(sc.stations).summary["tiers"]["village"]["covered_population"]
    )


def test_off_network_station_is_reported(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = _fresh(demo)
    _, _, lon1, lat1 = ws.network.bounds_lonlat()
    sc.add_station(tier="village", lon=lon1 + 0.5, lat=lat1 + 0.5)
    with pytest.raises(InputError, match="NEW-001"):
        ws.evaluate(sc.stations)
    assert sc.undo()
    ws.evaluate(sc.stations)


def test_tolerant_workspace_lists_off_network_stations_and_new_ones(demo: tuple[Workspace, Scenario]) -> None:
    from planner.coverage.analyse import off_network_lines

    ws, sc = _fresh(demo)
    ws = ws.with_config(ws.config)
    ws.allow_off_network_stations = True
    _, _, lon1, lat1 = ws.network.bounds_lonlat()
    before = ws.evaluate(sc.stations).stations
    assert newly_off_network(before, before).empty and off_network_lines(before) == (0, "")
    far = sc.add_station(tier="village", lon=lon1 + 0.5, lat=lat1 + 0.5)
    after = ws.evaluate(sc.stations).stations
    new = newly_off_network(before, after)
    assert new["id"].tolist() == [far]
    count, lines = off_network_lines(after)
    # one line, no source row (added here), the distance to the nearest road (tens of km)
    assert count == 1 and far in lines and "第 — 行" in lines and lines.count("\n") == 0
    assert after.set_index("id").loc[far, "covered_population"] == 0
    # already off the network and not moved: not new; moved to another far place: new again
    assert newly_off_network(after, after).empty
    sc.move_station(far, lon=lon1 + 0.6, lat=lat1 + 0.5)
    moved = ws.evaluate(sc.stations).stations
    assert newly_off_network(after, moved)["id"].tolist() == [far]
    # moved next to a road: on the network, counted, nothing to list
    near = sc.stations[sc.stations["tier"] == "village"].iloc[0]
    sc.move_station(far, lon=float(near["lon"]), lat=float(near["lat"]))
    back = ws.evaluate(sc.stations).stations
    assert newly_off_network(moved, back).empty and off_network_lines(back)[0] == 0


def test_pickled_workspace_keeps_its_graphs_and_demand_snaps(
    demo: tuple[Workspace, Scenario], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app loads the demo from a pickle; its first edit must not compile graphs or snap demand again."""
    import pickle

    from planner.network import roads as network
    from planner.workspace import workspace as scenario

    ws, sc = _fresh(demo)
    ws.evaluate(sc.stations)
    ws2 = pickle.loads(pickle.dumps(ws))
    builds: list[object] = []
    snaps: list[int] = []
    real_build, real_snap = network.TravelGraph.build.__func__, scenario.snap_points  # type: ignore[attr-defined]
    monkeypatch.setattr(
        network.TravelGraph, "build", classmethod(lambda cls, *a, **k: builds.append(1) or real_build(cls, *a, **k))
    )
    monkeypatch.setattr(scenario, "snap_points", lambda *a, **k: snaps.append(len(k["lon"])) or real_snap(*a, **k))
    sc.add_station(
        tier=Tier.VILLAGE, lon=float(sc.stations["lon"].iloc[0]) + 0.01, lat=float(sc.stations["lat"].iloc[0])
    )
    after = ws2.evaluate(sc.stations)
    assert builds == []  # travel graphs found in the unpickled cache
    n_village = int((sc.stations["tier"].astype(str) == "village").sum())
    assert snaps == [n_village]  # only the edited tier's stations; demand snaps were kept
    pd.testing.assert_frame_equal(after.demand, ws.evaluate(sc.stations).demand)


def test_isochrones_cached_per_tier(demo: tuple[Workspace, Scenario], monkeypatch: pytest.MonkeyPatch) -> None:
    ws, sc = _fresh(demo)
    iso = ws.isochrones(sc.stations, tier=Tier.VILLAGE)
    assert list(iso.columns) == ["tier", "station_id", "minutes", "mode", "geometry"]
    assert iso.crs.to_epsg() == 4326
    assert sorted(iso["minutes"]) == [5.0, 10.0, 15.0]
    import planner.coverage.isochrones

    with monkeypatch.context() as m:
        m.setattr(planner.coverage.isochrones, "tier_isochrones", None)  # a recompute would fail
        again = ws.isochrones(sc.stations, tier=Tier.VILLAGE)
    assert again.geometry.geom_equals(iso.geometry).all()
    gap = ws.evaluate(sc.stations).gaps.query("tier == 'village'").iloc[0]
    sc.add_station(tier=Tier.VILLAGE, lon=float(gap["lon"]), lat=float(gap["lat"]))
    grown = ws.isochrones(sc.stations, tier=Tier.VILLAGE)
    assert grown.to_crs(ws.network.crs).area.iloc[-1] > iso.to_crs(ws.network.crs).area.iloc[-1]


# ----------------------------------------------------------------------------- scenario edits


def test_undo_restores_and_ids(demo: tuple[Workspace, Scenario]) -> None:
    _, sc = _fresh(demo)
    original = sc.stations.copy()
    assert not sc.can_undo and sc.undo() is False
    a = sc.add_station(tier="村（社区）", lon=116.2, lat=27.4)
    b = sc.add_station(tier="enterprise", lon=116.21, lat=27.41, organisation="某公司工会", services="法律咨询")
    assert (a, b) == ("NEW-001", "NEW-002")
    row = sc.stations.set_index("id").loc[b]
    assert row["tier"] == "enterprise" and row["organisation"] == "某公司工会" and row["services"] == "法律咨询"
    assert "NEW-002" in str(row["name"])
    sc.move_station(a, lon=116.3, lat=27.5)
    sc.close_station(str(original["id"].iloc[0]))
    assert len(sc.stations) == len(original) + 1
    assert sc.undo() and sc.undo()
    assert sc.stations.set_index("id").loc[a, "lon"] == 116.2
    assert sc.undo() and sc.undo()
    pd.testing.assert_frame_equal(sc.stations, original)
    assert not sc.can_undo
    with pytest.raises(InputError, match="XYZ"):
        sc.move_station("XYZ", lon=116.0, lat=27.0)
    with pytest.raises(InputError, match="经纬度无效"):
        sc.add_station(tier="village", lon=float("nan"), lat=27.0)
    with pytest.raises(ValueError, match=r"nonsense"):
        sc.add_station(tier="nonsense", lon=116.0, lat=27.0)
    copy = sc.copy("副本")
    copy.add_station(tier="village", lon=116.2, lat=27.4)
    assert len(copy.stations) == len(sc.stations) + 1 and not sc.can_undo


def test_duplicate_ids_rejected() -> None:
    st = pd.DataFrame(
        {"id": ["A", "A"], "name": ["x", "y"], "tier": ["village"] * 2, "lon": [116.0] * 2, "lat": [27.0] * 2}
    )
    with pytest.raises(InputError, match="A"):
        Scenario(name="x", stations=st)


# ----------------------------------------------------------------------------- compare by hand


def _line_workspace() -> tuple[Workspace, Scenario]:
    """A straight 3 km residential road, nodes every 100 m; demand at 0, 500, 1500, 2500 m."""
    crs = "EPSG:32650"
    x = 400000.0 + np.arange(31) * 100.0
    y = np.full(31, 3030000.0)
    import pyproj

    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    net = RoadNetwork.from_arrays(
        node_lon=lon,
        node_lat=lat,
        edge_u=np.arange(30),
        edge_v=np.arange(1, 31),
        edge_highway=["residential"] * 30,
        crs=crs,
        node_x_m=x,
        node_y_m=y,
        source="line",
    )
    at = [0, 5, 15, 25]
    demand = pd.DataFrame(
        {
            "id": ["D1", "D2", "D3", "D4"],
            "name": ["甲村", "乙村", "丙村", "丁村"],
            "population": [100.0, 200.0, 300.0, 400.0],
            "lon": np.asarray(lon)[at],
            "lat": np.asarray(lat)[at],
            "township": "",
            "kind": "village",
        }
    )
    stations = pd.DataFrame(
        {"id": ["S1"], "name": ["起点站"], "tier": ["village"], "lon": [float(lon[0])], "lat": [float(lat[0])]}
    )
    return Workspace(network=net, demand=demand, config=Config()), Scenario(name="line", stations=stations)


def test_compare_by_hand() -> None:
    # walking 4 km/h: 15 min = 1000 m. S1 at 0 m covers D1 (0 m) and D2 (500 m = 7.5 min).
    ws, sc = _line_workspace()
    before = ws.evaluate(sc.stations)
    v = before.demand[before.demand["tier"] == "village"].set_index("id")
    assert v.loc["D2", "minutes"] == pytest.approx(7.5, abs=0.01)
    assert list(v["covered"]) == [True, True, False, False]
    # a station at 2000 m covers D3 (500 m) and D4 (500 m)
    x = 400000.0 + 2000.0
    lon, lat = ws.network.to_lonlat(np.array([x]), np.array([3030000.0]))
    sc.add_station(tier="village", lon=float(lon[0]), lat=float(lat[0]))
    after = ws.evaluate(sc.stations)
    c = compare(before, after).set_index("tier")
    assert c.loc["village", "covered_population_before"] == 300.0
    assert c.loc["village", "covered_population_after"] == 1000.0
    assert c.loc["village", "delta_population"] == 700.0
    assert (c.loc["village", "newly_covered"], c.loc["village", "lost"]) == (2, 0)
    assert c.loc["village", "percent_before"] == 30.0 and c.loc["village", "percent_after"] == 100.0
    assert c.loc["county", "delta_population"] == 0 and c.loc["county", "newly_covered"] == 0
    cd = compare_demand(before, after)
    assert list(cd["id"]) == ["D4", "D3"] and set(cd["change"]) == {"newly_covered"}
    assert list(cd["population"]) == [400.0, 300.0]
    # closing S1 loses D1 and D2 (D2 is 1500 m from the new station: 22.5 min)
    sc.close_station("S1")
    later = ws.evaluate(sc.stations)
    c2 = compare(after, later).set_index("tier")
    assert (c2.loc["village", "newly_covered"], c2.loc["village", "lost"]) == (0, 2)
    assert c2.loc["village", "delta_population"] == -300.0
    cd2 = compare_demand(after, later)
    assert list(cd2["id"]) == ["D2", "D1"] and set(cd2["change"]) == {"lost"}
    assert cd2.set_index("id").loc["D2", "minutes_after"] == pytest.approx(22.5, abs=0.01)


# ----------------------------------------------------------------------------- projects


def test_project_round_trip(tmp_path: Path, demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = _fresh(demo)
    sc.add_station(tier="village", lon=116.2, lat=27.4, name="新驿站·河东", services="妈妈小屋、AED/急救")
    other = sc.copy("方案二：新增驿站")
    other.close_station(str(other.stations["id"].iloc[3]))
    ws2 = ws.with_config(ws.config.with_overrides(tier=Tier.VILLAGE, minutes=10.0))
    path = save_project(tmp_path / "项目.gpkg", scenarios=[sc, other], workspace=ws2)
    assert path.exists() and not list(tmp_path.glob(".*tmp*"))
    layers = {str(x[0]) for x in pyogrio.list_layers(path)}
    assert layers == {"现状", "方案二：新增驿站", PROJECT_META_LAYER}
    loaded = load_project(path)
    assert [s.name for s in loaded] == ["现状", "方案二：新增驿站"]
    for a, b in zip([sc, other], loaded, strict=True):
        pd.testing.assert_frame_equal(
            a.stations.astype({c: object for c in a.stations.columns if a.stations[c].dtype != float}),
            b.stations.astype({c: object for c in b.stations.columns if b.stations[c].dtype != float}),
        )
    assert "新驿站·河东" in set(loaded[0].stations["name"])
    cfg = project_config(path)
    assert cfg is not None and cfg.standards[Tier.VILLAGE].minutes == 10.0
    # same coverage from the loaded stations
    assert_same_result(ws.evaluate(loaded[1].stations), ws.evaluate(other.stations))
    # overwrite keeps a valid file; bad names are refused before touching it
    save_project(path, scenarios=[other])
    assert [s.name for s in load_project(path)] == ["方案二：新增驿站"]
    with pytest.raises(InputError, match="重复"):
        save_project(path, scenarios=[sc, sc.copy("现状")])
    with pytest.raises(InputError, match=PROJECT_META_LAYER):
        save_project(path, scenarios=[sc.copy(PROJECT_META_LAYER)])
    assert [s.name for s in load_project(path)] == ["方案二：新增驿站"]
    with pytest.raises(InputError, match="不存在"):
        load_project(tmp_path / "missing.gpkg")


# ----------------------------------------------------------------------------- proposals


def test_proposals_accepted_into_scenario(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = _fresh(demo)
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
    ws, sc = _fresh(demo)
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
