from __future__ import annotations

import numpy as np
import pytest
import shapely

from planner.network.roads import RoadNetwork
from planner.network.snapping import snap_points, snap_xy
from planner.settings import Mode


def test_snaps_to_segment_interior_not_node(test_pbf_network) -> None:  # type: ignore[no-untyped-def]
    net = test_pbf_network
    g = net.travel_graph(mode=Mode.WALK)
    rng = np.random.default_rng(3)
    x = rng.uniform(net.node_x_m.min(), net.node_x_m.max(), 300)
    y = rng.uniform(net.node_y_m.min(), net.node_y_m.max(), 300)
    s = snap_xy(g, x_m=x, y_m=y, max_snap_m=250)
    on = s.on_network
    assert on.sum() > 100
    # brute force: distance to every usable segment
    ok = np.flatnonzero(g.edge_allowed)
    segs = shapely.linestrings(
        np.stack(
            [
                np.column_stack([net.node_x_m[net.edge_u[ok]], net.node_y_m[net.edge_u[ok]]]),
                np.column_stack([net.node_x_m[net.edge_v[ok]], net.node_y_m[net.edge_v[ok]]]),
            ],
            axis=1,
        )
    )
    pts = shapely.points(x, y)
    d = shapely.distance(pts[:, None], segs[None, :]).min(axis=1)
    assert np.array_equal(on, d <= 250)
    np.testing.assert_allclose(s.snap_m[on], d[on], atol=1e-6)
    # off-network points report the distance to the nearest road of any class
    all_segs = shapely.linestrings(
        np.stack(
            [
                np.column_stack([net.node_x_m[net.edge_u], net.node_y_m[net.edge_u]]),
                np.column_stack([net.node_x_m[net.edge_v], net.node_y_m[net.edge_v]]),
            ],
            axis=1,
        )
    )
    d_any = shapely.distance(pts[~on][:, None], all_segs[None, :]).min(axis=1)
    np.testing.assert_allclose(s.snap_m[~on], d_any, atol=1e-6)
    # snapped position lies on its segment at the reported fraction
    e, f = s.edge[on], s.frac[on]
    qx = net.node_x_m[net.edge_u[e]] + f * (net.node_x_m[net.edge_v[e]] - net.node_x_m[net.edge_u[e]])
    np.testing.assert_allclose(s.x_m[on], qx, atol=1e-6)
    assert ((f > 0.01) & (f < 0.99)).mean() > 0.5  # mostly interior positions, not nodes


def test_off_network_and_lonlat_entry() -> None:
    net = RoadNetwork.from_arrays(node_lon=[117.0, 117.01], node_lat=[28.0, 28.0], edge_u=[0], edge_v=[1])
    g = net.travel_graph(mode=Mode.DRIVE)
    s = snap_points(g, lon=[117.005, 117.005, np.nan], lat=[28.001, 28.02, 28.0], max_snap_m=500)
    assert list(s.on_network) == [True, False, False]
    assert s.snap_m[0] == pytest.approx(111.0, abs=2.0)
    assert s.frac[0] == pytest.approx(0.5, abs=0.01)
    assert s.on_main[0] and not s.on_main[1]


def test_mode_specific_snapping_shares_one_index(test_pbf_network) -> None:  # type: ignore[no-untyped-def]
    """Walkers never snap onto motorways and drivers never onto footways, from the same tree."""
    net = test_pbf_network
    rng = np.random.default_rng(9)
    x = rng.uniform(net.node_x_m.min(), net.node_x_m.max(), 400)
    y = rng.uniform(net.node_y_m.min(), net.node_y_m.max(), 400)
    for mode in (Mode.WALK, Mode.DRIVE):
        g = net.travel_graph(mode=mode)
        s = snap_xy(g, x_m=x, y_m=y, max_snap_m=300)
        assert s.on_network.sum() > 50
        assert g.edge_allowed[s.edge[s.on_network]].all()
