"""Workspace: incremental evaluation equals a full analysis; caches; off-network stations."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import pytest

from planner._errors import InputError
from planner.coverage.analyse import CoverageResult
from planner.coverage.figures import HEADLINE_FIGURES
from planner.settings import Tier
from planner.workspace.scenario import Scenario, newly_off_network
from planner.workspace.workspace import Workspace
from tests.helpers import analyse, assert_same_result, fresh


def _full(ws: Workspace, stations: pd.DataFrame) -> CoverageResult:
    return analyse(ws.network, stations=stations, demand=ws.demand, config=ws.config, areas=ws.areas)


# ----------------------------------------------------------------------------- incremental


def test_incremental_equals_full_analysis_after_edits(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = fresh(demo)
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
    ws, sc = fresh(demo)
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
    ws, sc = fresh(demo)
    _, _, lon1, lat1 = ws.network.bounds_lonlat()
    sc.add_station(tier="village", lon=lon1 + 0.5, lat=lat1 + 0.5)
    with pytest.raises(InputError, match="NEW-001"):
        ws.evaluate(sc.stations)
    assert sc.undo()
    ws.evaluate(sc.stations)


def test_tolerant_workspace_lists_off_network_stations_and_new_ones(demo: tuple[Workspace, Scenario]) -> None:
    from planner.coverage.analyse import off_network_lines

    ws, sc = fresh(demo)
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

    ws, sc = fresh(demo)
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
    ws, sc = fresh(demo)
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


def test_isochrones_follow_the_maximum_snap_distance(demo: tuple[Workspace, Scenario]) -> None:
    """The circles reach as far as the walking access coverage allows: a smaller snap distance, a smaller area."""
    from dataclasses import replace

    ws, sc = fresh(demo)
    wide = ws.isochrones(sc.stations, tier=Tier.VILLAGE)
    narrow_ws = ws.with_config(replace(ws.config, max_snap_m=150.0))  # keeps the caches that still apply
    narrow = narrow_ws.isochrones(sc.stations, tier=Tier.VILLAGE)
    area_wide = wide.to_crs(ws.network.crs).area.to_numpy()
    area_narrow = narrow.to_crs(ws.network.crs).area.to_numpy()
    assert (area_narrow < 0.8 * area_wide).all()  # 0.72, 0.56, 0.49 (the wide one is cut by the nearest-road rule)
    assert ws.isochrones(sc.stations, tier=Tier.VILLAGE).geometry.geom_equals(wide.geometry).all()


# ----------------------------------------------------------------------------- column reports
def test_from_files_keeps_and_logs_the_column_reports(county, tmp_path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from planner.demo.county import write_demo

    paths = write_demo(tmp_path / "in", county=county)
    demand = pd.read_csv(paths["demand"], encoding="utf-8-sig", dtype=str)
    assert "名称" in demand.columns and "人口" in demand.columns
    renamed = tmp_path / "村庄.csv"
    demand.rename(columns={"名称": "村庄名称"}).drop(columns=["人口"]).assign(村委会="x").to_csv(
        renamed, index=False, encoding="utf-8-sig"
    )
    with caplog.at_level(logging.INFO, logger="planner"):
        ws, _sc = Workspace.from_files(
            network=paths["roads"], stations=paths["stations"], demand=renamed, areas=paths["townships"]
        )
    kinds = [r.kind for r in ws.column_reports]
    assert kinds == ["stations", "demand", "areas"]
    dem = ws.column_reports[1]
    assert dem.header("name") == "村庄名称" and dem.header("population") is None
    assert ws.demand["name"].tolist() == demand["名称"].tolist()  # real names, not ids or row numbers
    assert dem.warnings == (("inputs.columns.no_population", "population"),)
    logged = {(r.levelno, r.getMessage()) for r in caplog.records if r.name == "planner.inputs.columns"}
    for report in ws.column_reports:
        for level, text in report.lines():
            assert (logging.WARNING if level == "warning" else logging.INFO, report.line(text)) in logged
    assert any(lvl == logging.WARNING and "没有人口列" in msg for lvl, msg in logged)


# ------------------------------------------------------------------- coordinate systems per file
@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The demo's input files, plus its station sheet copied from Amap (GCJ-02)."""
    from planner.demo.county import write_demo
    from planner.inputs.coords import from_wgs84

    folder = tmp_path_factory.mktemp("files")
    paths: dict[str, object] = dict(write_demo(folder))
    st = pd.read_csv(paths["stations"], encoding="utf-8-sig")  # type: ignore[call-overload]
    st["经度"], st["纬度"] = from_wgs84(st["经度"].to_numpy(), st["纬度"].to_numpy(), system="gcj02")
    st.to_csv(folder / "amap_stations.csv", index=False, encoding="utf-8-sig", float_format="%.9f")
    paths["amap_stations"] = folder / "amap_stations.csv"
    paths["wgs84_stations"] = pd.read_csv(paths["stations"], encoding="utf-8-sig")  # type: ignore[call-overload]
    return paths


def _codes(ws: Workspace) -> list[str]:
    return [f.code for f in ws.findings]


def test_from_files_reads_each_file_in_its_own_system(demo_files: dict[str, object]) -> None:
    files = {"network": demo_files["roads"], "demand": demo_files["demand"], "stations": demo_files["amap_stations"]}
    original = demo_files["wgs84_stations"]
    assert isinstance(original, pd.DataFrame)
    for kwargs in (
        {"stations_coords": "gcj02"},
        {"coords": {"stations": "gcj02"}},
        {"coords": "gcj02", "demand_coords": "wgs84"},
    ):
        ws, sc = Workspace.from_files(**files, **kwargs)  # type: ignore[arg-type]
        assert abs(sc.stations["lon"].to_numpy() - original["经度"].to_numpy()).max() < 1e-7
        assert abs(sc.stations["lat"].to_numpy() - original["纬度"].to_numpy()).max() < 1e-7
        assert ws.inputs["coords"]["stations"] == "gcj02" and ws.inputs["coords"]["demand"] == "wgs84"
        assert not {"sanity.offset", "sanity.already_wgs84", "sanity.offset_rows"} & set(_codes(ws))
    # one system for both: the WGS-84 demand file is moved, and the finding says so for that file
    ws, _ = Workspace.from_files(**files, coords="gcj02")  # type: ignore[arg-type]
    already = [f for f in ws.findings if f.code == "sanity.already_wgs84"]
    assert len(already) == 1 and already[0].file == str(demo_files["demand"])
    assert "--demand-coords wgs84" in already[0].message()
    with pytest.raises(InputError, match="villages"):
        Workspace.from_files(**files, coords={"villages": "gcj02"})  # type: ignore[arg-type]


def test_read_candidates_in_the_candidates_system(demo_files: dict[str, object]) -> None:
    files = {"network": demo_files["roads"], "demand": demo_files["demand"], "stations": demo_files["stations"]}
    ws, _ = Workspace.from_files(**files)  # type: ignore[arg-type]
    before = len(ws.findings)
    cands = ws.read_candidates(demo_files["amap_stations"])  # type: ignore[arg-type]
    offset = [f for f in ws.findings[before:] if f.code == "sanity.offset"]
    assert len(offset) == 1 and "--candidates-coords gcj02" in offset[0].message()
    original = demo_files["wgs84_stations"]
    assert isinstance(original, pd.DataFrame)
    assert abs(cands["lon"].to_numpy() - original["经度"].to_numpy()).max() > 1e-3  # read as given
    ws, _ = Workspace.from_files(**files, candidates_coords="gcj02")  # type: ignore[arg-type]
    cands = ws.read_candidates(demo_files["amap_stations"])  # type: ignore[arg-type]
    assert abs(cands["lon"].to_numpy() - original["经度"].to_numpy()).max() < 1e-7
    assert ws.inputs["coords"]["candidates"] == "gcj02" and "sanity.offset" not in _codes(ws)


# ----------------------------------------------------------------------------- demand kinds
def test_enterprise_file_counts_exactly_its_rows(county, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The small county's enterprises as a file of their own give the enterprise figures of its 类型 column."""
    from planner.demo.county import write_demo

    paths = write_demo(tmp_path / "in", county=county)
    sheet = pd.read_csv(paths["demand"], encoding="utf-8-sig", dtype={"编号": str})
    is_ent = sheet["类型"] == "企业"
    assert 0 < is_ent.sum() < len(sheet)
    sheet[~is_ent].drop(columns=["类型"]).to_csv(tmp_path / "residents.csv", index=False, encoding="utf-8-sig")
    sheet[is_ent].drop(columns=["类型"]).rename(columns={"人口": "职工人数"}).to_csv(
        tmp_path / "enterprises.csv", index=False, encoding="utf-8-sig"
    )
    common = {"network": paths["roads"], "stations": paths["stations"], "areas": paths["townships"]}
    ws_col, sc = Workspace.from_files(**common, demand=paths["demand"])
    ws_file, _ = Workspace.from_files(
        **common, demand=tmp_path / "residents.csv", enterprises=tmp_path / "enterprises.csv"
    )
    by_col, by_file = ws_col.evaluate(sc.stations), ws_file.evaluate(sc.stations)
    ent = by_file.demand[by_file.demand["tier"] == "enterprise"]
    assert sorted(ent["id"]) == sorted(sheet.loc[is_ent, "编号"])
    for tier in ("county", "township", "village", "enterprise"):
        a, b = by_col.summary["tiers"][tier], by_file.summary["tiers"][tier]
        assert {k: a[k] for k in HEADLINE_FIGURES} == {k: b[k] for k in HEADLINE_FIGURES}, tier
    assert [k.source for k in ws_file.demand_kinds] == ["none", "file"]
    assert ws_file.inputs["enterprises"] == str(tmp_path / "enterprises.csv")
    text = ws_file.demand_description(lang="zh")
    assert "residents.csv：无类型列" in text and f"enterprises.csv：企业文件，{int(is_ent.sum())} 行" in text
    assert "层级无需求点" not in text


def test_demand_description_names_tiers_without_demand(demo: tuple[Workspace, Scenario]) -> None:
    ws, _ = demo
    assert ws.demand_description(lang="zh").endswith("企业职工 24。")  # the demo's 类型 column: no tier left out
    residents = Workspace(network=ws.network, demand=ws.demand.drop(columns=["kind"]), config=ws.config)
    assert residents.demand_description(lang="zh").endswith("企业（职工之家）层级无需求点。")
    everyone = residents.with_config(ws.config.with_overrides(tier_demand={Tier.ENTERPRISE: "all"}))
    assert everyone.demand_description(lang="en").endswith(
        "The enterprise (workers' home) tier serves all demand points."
    )


def test_changing_whom_a_tier_serves_recomputes_that_tier(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = fresh(demo)
    before = ws.evaluate(sc.stations)
    everyone = ws.with_config(ws.config.with_overrides(tier_demand={Tier.ENTERPRISE: "all"}))
    after = everyone.evaluate(sc.stations)
    assert everyone.last_recomputed == (Tier.ENTERPRISE,)
    assert after.summary["tiers"]["enterprise"]["demand"] == len(ws.demand)
    assert before.summary["tiers"]["enterprise"]["demand"] == int((ws.demand["kind"] == "enterprise").sum())


# ------------------------------------------------------------------- stranded points
def test_stranded_points_are_kept_as_network_notes_once() -> None:
    """Points beside a cut-off one-way piece are named in :attr:`Workspace.network_notes` (the app shows them)."""
    from planner.settings import Config, Tier
    from tests.helpers import trap_network

    net = trap_network()
    s_lon, s_lat = net.to_lonlat(np.array([500.0, 5500.0]), np.array([-5.0, -10.0]))
    stations = pd.DataFrame(
        {"id": ["C", "X"], "name": ["县中心", "孤岛站"], "tier": ["county", "county"], "lon": s_lon, "lat": s_lat}
    )
    d_lon, d_lat = net.to_lonlat(np.array([5500.0, 500.0]), np.array([10.0, 20.0]))
    demand = pd.DataFrame(
        {"id": ["B", "S"], "name": ["孤岛", "城南"], "population": [500.0, 100.0], "lon": d_lon, "lat": d_lat}
    )
    ws = Workspace(network=net, demand=demand, config=Config())
    assert ws.network_notes == []
    ws.evaluate(stations, tiers=(Tier.COUNTY,))
    ws.evaluate(stations.iloc[::-1].reset_index(drop=True), tiers=(Tier.COUNTY,))  # another key: same notes
    assert len(ws.network_notes) == 2, ws.network_notes
    station_note, demand_note = ws.network_notes  # the stations are checked before the demand is snapped
    assert "孤岛" in demand_note and "城南" not in demand_note and "stranded=True" in demand_note
    assert "孤岛站" in station_note and "县中心" not in station_note
