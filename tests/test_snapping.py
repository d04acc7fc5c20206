from __future__ import annotations

import numpy as np
import pytest
import shapely

from planner.network.roads import RoadNetwork
from planner.network.snapping import MAX_ATTACHMENTS, Snap, snap_points, snap_xy
from planner.settings import Mode
from tests.conftest import brute_snap, snap_attachments


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


def _positions(net: RoadNetwork, atts: list[tuple[int, float, float]]) -> set[tuple[float, float]]:
    """Attachment positions as rounded coordinates (several segments ending at one node: one position)."""
    out = set()
    for e, f, _d in atts:
        ux, uy = net.node_x_m[net.edge_u[e]], net.node_y_m[net.edge_u[e]]
        vx, vy = net.node_x_m[net.edge_v[e]], net.node_y_m[net.edge_v[e]]
        out.add((round(float(ux + f * (vx - ux)), 5), round(float(uy + f * (vy - uy)), 5)))
    return out


def test_driving_alternates_are_every_candidate_within_the_radius(test_pbf_network) -> None:  # type: ignore[no-untyped-def]
    """One-way network: alternates = brute-force candidates within 2 × nearest + 50 m (+ the main-piece fallback)."""
    net = test_pbf_network
    g = net.travel_graph(mode=Mode.DRIVE)
    assert g.is_directed and not net.travel_graph(mode=Mode.WALK).is_directed
    rng = np.random.default_rng(5)
    x = rng.uniform(net.node_x_m.min(), net.node_x_m.max(), 150)
    y = rng.uniform(net.node_y_m.min(), net.node_y_m.max(), 150)
    ref, ref_stranded = brute_snap(g, x, y, max_snap_m=300)
    every = snap_xy(g, x_m=x, y_m=y, max_snap_m=300, max_attachments=None)
    capped = snap_xy(g, x_m=x, y_m=y, max_snap_m=300)
    got_every, got_capped = snap_attachments(every), snap_attachments(capped)
    assert sum(len(a) > 1 for a in got_every) > 50
    for i in range(len(x)):
        assert _positions(net, got_every[i]) == _positions(net, ref[i])
        assert len(_positions(net, got_every[i])) == len(got_every[i])  # no position twice
        assert _positions(net, got_capped[i]) <= _positions(net, got_every[i])
        assert len(got_capped[i]) <= MAX_ATTACHMENTS + 1  # (+1: the fallback to the main piece)
        if got_every[i]:
            assert got_capped[i][0] == got_every[i][0]  # the nearest segment stays the primary
            assert got_every[i][0][2] == pytest.approx(min(d for _e, _f, d in got_every[i]))
    assert np.array_equal(every.stranded, ref_stranded)
    assert np.array_equal(capped.stranded, ref_stranded)
    # capped sets keep the roads' local nearest points before the neighbours of the nearest segment
    assert sum(len(a) for a in got_capped) < sum(len(a) for a in got_every)


def test_undirected_snaps_are_unchanged_and_stranded_is_off_the_largest_piece(test_pbf_network) -> None:  # type: ignore[no-untyped-def]
    net = test_pbf_network
    g = net.travel_graph(mode=Mode.WALK)
    rng = np.random.default_rng(8)
    x = rng.uniform(net.node_x_m.min(), net.node_x_m.max(), 200)
    y = rng.uniform(net.node_y_m.min(), net.node_y_m.max(), 200)
    s = snap_xy(g, x_m=x, y_m=y, max_snap_m=250)
    assert len(s.alt_point) == 0
    assert np.array_equal(s.stranded, s.on_network & ~s.on_main)
    _ref, ref_stranded = brute_snap(g, x, y, max_snap_m=250)
    assert np.array_equal(s.stranded, ref_stranded)


def test_subset_and_concat_carry_alternates(test_pbf_network) -> None:  # type: ignore[no-untyped-def]
    net = test_pbf_network
    g = net.travel_graph(mode=Mode.DRIVE)
    rng = np.random.default_rng(2)
    x = rng.uniform(net.node_x_m.min(), net.node_x_m.max(), 60)
    y = rng.uniform(net.node_y_m.min(), net.node_y_m.max(), 60)
    s = snap_xy(g, x_m=x, y_m=y, max_snap_m=300)
    per_point = snap_attachments(s)
    idx = np.array([5, 3, 3, 40, 0])
    assert snap_attachments(s.subset(idx)) == [per_point[i] for i in idx]
    mask = np.zeros(len(s), bool)
    mask[[1, 7, 30]] = True
    assert snap_attachments(s.subset(mask)) == [per_point[i] for i in (1, 7, 30)]
    both = Snap.concat(s.subset(np.arange(10)), s.subset(np.arange(10, 60)))
    assert snap_attachments(both) == per_point
    a = s.attachments()
    assert np.all(np.diff(a.point) >= 0) and len(a) == sum(len(p) for p in per_point)
