"""Reach engine against hand-checked toy graphs and an independent networkx computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.network.reach import nearest_node_times, nearest_times, times_by_source
from planner.network.roads import RoadNetwork
from planner.network.snapping import snap_xy
from planner.settings import Config, Mode
from tests.conftest import nx_nearest_times

WALK = 4.0 / 3.6  # m/s


def line_network(*, oneway: bool = False, highway: str = "residential") -> RoadNetwork:
    """Three nodes on a straight east-west line 0 m, 1000 m, 2000 m (projected CRS given)."""
    return RoadNetwork.from_arrays(
        node_lon=[117.0, 117.01, 117.02],
        node_lat=[28.0, 28.0, 28.0],
        node_x_m=[0.0, 1000.0, 2000.0],
        node_y_m=[0.0, 0.0, 0.0],
        crs="EPSG:32650",
        edge_u=[0, 1],
        edge_v=[1, 2],
        edge_highway=[highway, highway],
        edge_oneway=[oneway, oneway],
    )


def test_partial_edges_and_access_legs_walk() -> None:
    net = line_network()
    g = net.travel_graph(mode=Mode.WALK)
    src = snap_xy(g, x_m=[250.0], y_m=[30.0], max_snap_m=500)  # 30 m off, 250 m along edge 0
    tgt = snap_xy(g, x_m=[1500.0, 100.0, 2000.0], y_m=[-40.0, 0.0, 600.0], max_snap_m=500)
    assert src.edge[0] == 0 and src.frac[0] == pytest.approx(0.25)
    res = nearest_times(g, sources=src, targets=tgt)
    # 30 m access + 1250 m along roads + 40 m access, all at 4 km/h
    assert res.time_s[0] == pytest.approx((30 + 1250 + 40) / WALK)
    # same segment, behind the source: direct 150 m along the segment
    assert res.time_s[1] == pytest.approx((30 + 150) / WALK)
    # third target is 600 m from the road: off-network, never timed
    assert not tgt.on_network[2] and math.isinf(res.time_s[2]) and res.source[2] == -1


def test_oneway_respected_when_driving_only() -> None:
    net = line_network(oneway=True)
    drive = net.travel_graph(mode=Mode.DRIVE)
    src = snap_xy(drive, x_m=[1500.0], y_m=[0.0], max_snap_m=100)
    tgt = snap_xy(drive, x_m=[500.0, 1900.0, 1200.0], y_m=[0.0, 0.0, 0.0], max_snap_m=100)
    res = nearest_times(drive, sources=src, targets=tgt)
    assert math.isinf(res.time_s[0])  # would need to drive against the one-way
    assert res.time_s[1] == pytest.approx(400 / (25 / 3.6))  # residential 25 km/h
    assert math.isinf(res.time_s[2])  # same segment but behind the car on a one-way
    walk = net.travel_graph(mode=Mode.WALK)
    res_w = nearest_times(
        walk,
        sources=snap_xy(walk, x_m=[1500.0], y_m=[0.0], max_snap_m=100),
        targets=snap_xy(walk, x_m=[500.0], y_m=[0.0], max_snap_m=100),
    )
    assert res_w.time_s[0] == pytest.approx(1000 / WALK)


def test_limit_and_nearest_source_identity() -> None:
    net = line_network()
    g = net.travel_graph(mode=Mode.WALK)
    src = snap_xy(g, x_m=[0.0, 2000.0], y_m=[0.0, 0.0], max_snap_m=10)
    tgt = snap_xy(g, x_m=[300.0, 1800.0, 1000.0], y_m=[0.0, 0.0, 0.0], max_snap_m=10)
    res = nearest_times(g, sources=src, targets=tgt, limit_s=900 / WALK)
    assert list(res.source[:2]) == [0, 1]
    assert math.isinf(res.time_s[2])  # 1000 m away from both, limit 900 m


def test_motorway_not_walkable_and_snaps_elsewhere() -> None:
    net = RoadNetwork.from_arrays(
        node_lon=[117.0, 117.01, 117.0, 117.01],
        node_lat=[28.0, 28.0, 28.001, 28.001],
        node_x_m=[0.0, 1000.0, 0.0, 1000.0],
        node_y_m=[0.0, 0.0, 100.0, 100.0],
        crs="EPSG:32650",
        edge_u=[0, 2],
        edge_v=[1, 3],
        edge_highway=["motorway", "residential"],
    )
    g = net.travel_graph(mode=Mode.WALK)
    s = snap_xy(g, x_m=[500.0], y_m=[10.0], max_snap_m=500)
    assert s.edge[0] == 1 and s.snap_m[0] == pytest.approx(90.0)


@pytest.mark.parametrize("mode", [Mode.WALK, Mode.DRIVE, Mode.EBIKE])
def test_matches_networkx_on_real_osm_sample(test_pbf_network, mode: Mode) -> None:  # type: ignore[no-untyped-def]
    net = test_pbf_network
    g = net.travel_graph(mode=mode, config=Config())
    rng = np.random.default_rng(7)
    xmin, xmax = net.node_x_m.min(), net.node_x_m.max()
    ymin, ymax = net.node_y_m.min(), net.node_y_m.max()
    sx, sy = rng.uniform(xmin, xmax, 6), rng.uniform(ymin, ymax, 6)
    tx, ty = rng.uniform(xmin, xmax, 120), rng.uniform(ymin, ymax, 120)
    src = snap_xy(g, x_m=sx, y_m=sy, max_snap_m=300)
    tgt = snap_xy(g, x_m=tx, y_m=ty, max_snap_m=300)
    assert src.on_network.sum() >= 3 and tgt.on_network.sum() >= 60
    ref = nx_nearest_times(g, src, tgt)
    got = nearest_times(g, sources=src, targets=tgt)
    np.testing.assert_allclose(got.time_s, ref, rtol=1e-9, atol=1e-6)
    # the reported nearest source really achieves that time
    fin = np.isfinite(ref)
    assert fin.sum() > 30
    for j in np.flatnonzero(fin)[:25]:
        one = src.subset(np.array([got.source[j]]))
        single = nearest_times(g, sources=one, targets=tgt.subset(np.array([j])))
        assert single.time_s[0] == pytest.approx(ref[j])
    # bounded search: exact up to the limit, inf beyond
    limit = float(np.nanmedian(ref[fin]))
    bounded = nearest_times(g, sources=src, targets=tgt, limit_s=limit)
    exp = np.where(ref <= limit, ref, np.inf)
    np.testing.assert_allclose(bounded.time_s, exp, rtol=1e-9, atol=1e-6)
    # per-source sparse triples agree with the nearest pass
    best = np.full(len(tgt), np.inf)
    for _s_i, t_i, secs in times_by_source(g, sources=src, targets=tgt, limit_s=limit, batch_size=4):
        np.minimum.at(best, t_i, secs)
        assert np.all(secs <= limit)
    np.testing.assert_allclose(best, exp, rtol=1e-9, atol=1e-6)
    # node times: a node's time is at most its neighbours' times plus the edge
    nt = nearest_node_times(g, sources=src, limit_s=np.inf)
    coo = g.csr.tocoo()
    assert np.all(nt[coo.col] <= nt[coo.row] + coo.data + 1e-6)
