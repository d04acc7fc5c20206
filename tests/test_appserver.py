"""Tests of planner.app.launcher: shared demo county, warm start, per-session result cache."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from planner.app import launcher as appserver
from planner.app.launcher import (
    RESULT_CACHE_SIZE,
    IsochroneCache,
    ResultCache,
    demo_state,
    stations_fingerprint,
    tier_fingerprint,
    warm_up,
)
from planner.settings import Tier


@pytest.fixture(scope="module")
def demo() -> appserver.DemoState:
    return demo_state()


def test_demo_state_is_built_once_and_shared_across_threads(demo):
    seen: list[appserver.DemoState] = []
    threads = [threading.Thread(target=lambda: seen.append(demo_state())) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(seen) == 4 and all(s is demo for s in seen)
    assert demo.build_s > 0
    # the shared result is the coverage of the demo's stations, computed independently here
    fresh = demo.workspace.with_config(demo.workspace.config).evaluate(demo.scenario.stations.copy())
    assert demo.result.summary["tiers"] == fresh.summary["tiers"]
    # the map's circle at open (the village tier's, the default view tier) is already cached
    assert Tier.VILLAGE in demo.workspace._iso_cache
    assert len(demo.roads) > 0


def test_warm_up_reuses_the_demo_and_reports_seconds(demo):
    seconds = warm_up()
    assert seconds > 0
    assert demo_state() is demo


def test_fingerprint_follows_content_not_identity(demo):
    stations = demo.scenario.stations
    assert stations_fingerprint(stations) == stations_fingerprint(stations.copy())
    moved = stations.copy()
    moved.loc[0, "lon"] = float(moved.loc[0, "lon"]) + 1e-6
    assert stations_fingerprint(moved) != stations_fingerprint(stations)
    renamed = stations.rename(columns={"name": "label"})
    assert stations_fingerprint(renamed) != stations_fingerprint(stations)


def test_result_cache_reuses_equal_stations_and_recomputes_changes(demo):
    ws = demo.workspace.with_config(demo.workspace.config)
    stations = demo.scenario.stations.copy()
    cache = ResultCache(size=2)
    cache.put(ws, stations, demo.result)
    assert cache.evaluate(ws, stations.copy()) is demo.result
    # another workspace (e.g. new standards) never takes this one's results
    other = ws.with_config(ws.config)
    assert cache.evaluate(other, stations) is not demo.result
    # a closed station: recomputed, and equal to an uncached evaluation
    fewer = stations.iloc[1:].reset_index(drop=True)
    got = cache.evaluate(ws, fewer)
    expected = ws.with_config(ws.config).evaluate(fewer)
    assert got.summary["tiers"] == expected.summary["tiers"]
    pd.testing.assert_frame_equal(got.demand, expected.demand)
    assert cache.evaluate(ws, fewer) is got
    # size 2: the first entry (demo result for ws) was dropped by the two later ones
    assert cache.evaluate(ws, stations) is not demo.result


def test_isochrone_cache_keeps_the_frame_while_its_tier_is_unchanged(demo):
    ws = demo.workspace.with_config(demo.workspace.config)
    stations = demo.scenario.stations.copy()
    cache = IsochroneCache()
    county_iso = ws.isochrones(stations, tier=Tier.COUNTY)
    cache.put(ws, stations, Tier.COUNTY, county_iso)
    assert cache.isochrones(ws, stations, tier=Tier.COUNTY) is county_iso
    # a new village station leaves the county tier's frame as it was
    village = stations[stations["tier"] == "village"].iloc[[0]].assign(id="X-1", lon=lambda d: d["lon"] + 0.01)
    more = pd.concat([stations, village], ignore_index=True)
    assert tier_fingerprint(more, Tier.COUNTY) == tier_fingerprint(stations, Tier.COUNTY)
    assert tier_fingerprint(more, Tier.VILLAGE) != tier_fingerprint(stations, Tier.VILLAGE)
    assert cache.isochrones(ws, more, tier=Tier.COUNTY) is county_iso
    # moving the county station gives new isochrones, equal to the workspace's own
    county = int(np.flatnonzero((stations["tier"] == "county").to_numpy())[0])
    moved = stations.copy()
    moved.loc[county, "lon"] = float(moved.loc[county, "lon"]) + 0.02
    got = cache.isochrones(ws, moved, tier=Tier.COUNTY)
    assert got is not county_iso
    expected = ws.isochrones(moved, tier=Tier.COUNTY)
    area = lambda gdf: float(shapely.area(gdf.geometry.to_numpy()).sum())  # noqa: E731  # degrees², only compared
    assert area(got) == pytest.approx(area(expected))
    assert area(got) != pytest.approx(area(county_iso))
    assert cache.isochrones(ws, moved, tier=Tier.COUNTY) is got


def test_wait_for_server_gives_up_without_a_running_server():
    # no Streamlit runtime in the test process: the warm-up must not wait forever
    assert appserver.wait_for_server(timeout_s=0.2) is False


def test_prepared_demo_is_kept_on_disk_and_loads_equal(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(appserver.CACHE_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(appserver, "_demo", [])
    (tmp_path / "demo-0000000000000000.pickle").write_bytes(b"a prepared demo of older code")
    built = demo_state()
    path = appserver.demo_cache_path()
    assert path.parent == tmp_path and path.is_file()
    assert [p.name for p in tmp_path.glob("demo-*.pickle")] == [path.name]  # the older one is gone
    monkeypatch.setattr(appserver, "_demo", [])
    monkeypatch.setattr(appserver, "_build_demo", lambda: pytest.fail("the prepared demo was not used"))
    with caplog.at_level(logging.INFO, logger="planner.app.launcher"):
        loaded = demo_state()
    assert "loaded from" in caplog.text
    assert loaded is not built
    pd.testing.assert_frame_equal(loaded.scenario.stations, built.scenario.stations)
    assert loaded.result.summary["tiers"] == built.result.summary["tiers"]
    assert loaded.roads.geometry.equals(built.roads.geometry)
    # the loaded workspace computes like a freshly generated one (a closed station)
    fewer = built.scenario.stations.iloc[1:].reset_index(drop=True)
    got = loaded.workspace.evaluate(fewer)
    expected = built.workspace.with_config(built.workspace.config).evaluate(fewer)

    def untimed(r):  # the engine's seconds differ from run to run
        return {k: {f: v for f, v in s.items() if f != "engine_seconds"} for k, s in r.summary["tiers"].items()}

    assert untimed(got) == untimed(expected)
    pd.testing.assert_frame_equal(got.demand, expected.demand)


def test_unreadable_prepared_demo_is_rebuilt(tmp_path, monkeypatch, caplog, demo):
    monkeypatch.setenv(appserver.CACHE_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(appserver, "_demo", [])
    path = appserver.demo_cache_path()
    path.write_bytes(b"\x80\x05truncated")
    monkeypatch.setattr(appserver, "_build_demo", lambda: demo)
    with caplog.at_level(logging.WARNING, logger="planner.app.launcher"):
        assert demo_state() is demo
    assert "unreadable" in caplog.text
    monkeypatch.setattr(appserver, "_demo", [])
    monkeypatch.setattr(appserver, "_build_demo", lambda: pytest.fail("rebuilt twice"))
    assert demo_state().build_s == demo.build_s  # the rewritten file is read back


def test_prepare_demo_writes_once_and_a_read_only_folder_is_not_fatal(tmp_path, monkeypatch, demo):
    monkeypatch.setenv(appserver.CACHE_DIR_ENV, str(tmp_path / "cache"))
    calls: list[int] = []
    monkeypatch.setattr(appserver, "_build_demo", lambda: calls.append(1) or demo)
    path = appserver.prepare_demo()
    assert path is not None and path.is_file()
    assert appserver.prepare_demo() == path and calls == [1]
    # a cache folder that cannot be created: the app still runs, it generates the demo each start
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(appserver.CACHE_DIR_ENV, str(blocker / "cache"))
    assert appserver.save_demo(demo) is None


def test_demo_cache_key_follows_the_code(tmp_path: Path):
    pkg = tmp_path / "planner"
    (pkg / "i18n").mkdir(parents=True)
    (pkg / "static").mkdir()
    (pkg / "demo.py").write_text("SEED = 1\n")
    (pkg / "i18n" / "demo.toml").write_text("name = '示例县'\n", encoding="utf-8")
    key = appserver.demo_cache_key(package_dir=pkg)
    assert key == appserver.demo_cache_key(package_dir=pkg)
    (pkg / "static" / "leaflet.js").write_text("// served to browsers, not part of the demo")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "demo.cpython-311.pyc").write_bytes(b"compiled")
    assert appserver.demo_cache_key(package_dir=pkg) == key
    (pkg / "i18n" / "demo.toml").write_text("name = '另一个县'\n", encoding="utf-8")
    assert appserver.demo_cache_key(package_dir=pkg) != key


def test_sessions_share_the_demo_s_network_and_keep_bounded_caches(demo):
    """Two browser sessions: their own workspace and scenario, the one network, roads and snaps of the process."""
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    sessions = [AppTest.from_file(app, default_timeout=180) for _ in range(2)]
    for at in sessions:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    a, b = (at.session_state for at in sessions)
    assert a["ws"] is not b["ws"] and a["scenarios"] is not b["scenarios"]
    assert a["ws"].network is b["ws"].network is demo.workspace.network
    assert a["roads_cache"][1] is b["roads_cache"][1] is demo.roads
    snaps = demo.workspace._demand_snaps
    assert snaps and all(a["ws"]._demand_snaps[k] is v and b["ws"]._demand_snaps[k] is v for k, v in snaps.items())
    # per-session caches are bounded: many edits keep at most their size
    ws, stations = a["ws"], demo.scenario.stations
    for k in range(RESULT_CACHE_SIZE + 3):
        a["results"].evaluate(ws, stations.iloc[k:].reset_index(drop=True))
    assert len(a["results"]._items) == RESULT_CACHE_SIZE


def test_the_app_serves_this_machine_only_and_no_error_details_unless_told(monkeypatch):
    """Issue 14: localhost and no tracebacks by default; a LAN is an explicit option (flag or environment)."""
    import tomllib

    from planner.app.launcher import with_safe_defaults

    def options(args: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for i, arg in enumerate(args):
            if arg.startswith("--"):
                key, _, value = arg[2:].partition("=")
                out[key] = value or args[i + 1]
        return out

    default = options(with_safe_defaults(["--server.port", "8600"], environ={}))
    assert default == {"server.port": "8600", "server.address": "127.0.0.1", "client.showErrorDetails": "none"}
    lan = options(with_safe_defaults(["--server.address", "0.0.0.0"], environ={}))
    assert lan["server.address"] == "0.0.0.0" and lan["client.showErrorDetails"] == "none"
    assert options(with_safe_defaults(["--server.address=0.0.0.0"], environ={}))["server.address"] == "0.0.0.0"
    from_env = options(with_safe_defaults([], environ={"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}))
    assert "server.address" not in from_env  # Streamlit takes the environment's value
    # `streamlit run app.py` from the repository reads the same defaults from its config
    config = tomllib.loads((Path(appserver.APP_PATH).parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1" and config["client"]["showErrorDetails"] == "none"
    # and the launcher hands them to Streamlit
    seen: list[list[str]] = []
    from streamlit.web import cli

    monkeypatch.setattr(cli, "main", lambda args, **kw: seen.append(list(args)))
    monkeypatch.setattr(appserver, "start_warm_up", lambda **kw: None)
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    monkeypatch.delenv("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", raising=False)
    monkeypatch.setattr(appserver, "TWO_STEP_FIRST_PAGE", False)
    assert appserver.main(["--server.port", "8600"]) == 0
    assert options(seen[0][2:])["server.address"] == "127.0.0.1"
