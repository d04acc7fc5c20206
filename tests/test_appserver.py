"""Tests of planner.appserver: shared demo county, warm start, per-session result cache."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from planner import appserver
from planner.appserver import ResultCache, demo_state, stations_fingerprint, warm_up
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
    # the demo's default map layer (county isochrones) is already cached
    assert Tier.COUNTY in demo.workspace._iso_cache
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
