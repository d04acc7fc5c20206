"""Isochrone polygons: reached pieces (exact partial lengths) and the band around them.

Every reached road point (sampled along the reached pieces, partial ones included)
must lie inside the polygon; road points well beyond the budget and farther than
the band from any reached road must lie outside. Node times on the real sample
network come from an independent networkx computation.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import shapely
from scipy import ndimage

from planner.coverage.isochrones import (
    RASTER_CELLS_PER_BUFFER,
    RASTER_DILATE_CELLS,
    _dilate_disk,
    pieces_to_polygon,
    reached_pieces,
    station_isochrones,
    tier_isochrones,
)
from planner.network.reach import nearest_node_times
from planner.network.roads import RoadNetwork, TravelGraph
from planner.network.snapping import Snap, snap_xy
from planner.settings import Config, Mode
from tests.conftest import snap_attachments
from tests.helpers import trap_network

WALK = 4.0 / 3.6  # m/s
BUFFER_M = 60.0
#: The band reaches at most (dilation + ~1.21 cells) from the pieces: 1.05 × buffer.
OUTSIDE_M = 1.25 * BUFFER_M


def toy_network(*, oneway: bool = False) -> RoadNetwork:
    """T shape: 0 (0,0) — 1 (1000,0) — 2 (2000,0), branch 1 — 3 (1000,1000); UTM metres."""
    return RoadNetwork.from_arrays(
        node_lon=[117.0, 117.01, 117.02, 117.01],
        node_lat=[28.0, 28.0, 28.0, 28.009],
        node_x_m=[0.0, 1000.0, 2000.0, 1000.0],
        node_y_m=[0.0, 0.0, 0.0, 1000.0],
        crs="EPSG:32650",
        edge_u=[0, 1, 1],
        edge_v=[1, 2, 3],
        edge_highway=["residential"] * 3,
        edge_oneway=[oneway] * 3,
    )


def pieces_as_set(e: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[tuple[int, float, float]]:
    return sorted((int(x), round(float(y), 9), round(float(z), 9)) for x, y, z in zip(e, a, b, strict=True))


def sample_pieces(g: TravelGraph, e: np.ndarray, a: np.ndarray, b: np.ndarray, *, n: int = 9) -> np.ndarray:
    """Points at n evenly spaced positions (ends included) along each piece."""
    net = g.network
    t = np.linspace(0.0, 1.0, n)
    f = a[:, None] + (b - a)[:, None] * t[None, :]
    ux, uy = net.node_x_m[net.edge_u[e]][:, None], net.node_y_m[net.edge_u[e]][:, None]
    vx, vy = net.node_x_m[net.edge_v[e]][:, None], net.node_y_m[net.edge_v[e]][:, None]
    return np.column_stack([(ux + f * (vx - ux)).ravel(), (uy + f * (vy - uy)).ravel()])


def test_toy_pieces_exact_partial_lengths() -> None:
    g = toy_network().travel_graph(mode=Mode.WALK)
    src = snap_xy(g, x_m=[250.0], y_m=[0.0], max_snap_m=10)
    budget = 1000.0 / WALK  # 1000 m of walking
    nt = nearest_node_times(g, sources=src, limit_s=budget)
    np.testing.assert_allclose(nt[:2], [250 / WALK, 750 / WALK])
    e, a, b = reached_pieces(g, node_time_s=nt, budget_s=budget, sources=src)
    got = pieces_as_set(e, a, b)
    # edge 0 whole; 250 m of both edges leaving node 1; the station's own stretch
    # (clipped to its segment) is repeated as its own piece.
    assert (0, 0.0, 1.0) in got
    assert (1, 0.0, 0.25) in got and (2, 0.0, 0.25) in got
    assert {p[0] for p in got} == {0, 1, 2}
    assert all(p[2] <= 0.25 + 1e-9 for p in got if p[0] != 0)


def test_toy_access_leg_shortens_reach() -> None:
    g = toy_network().travel_graph(mode=Mode.WALK)
    src = snap_xy(g, x_m=[500.0], y_m=[100.0], max_snap_m=200)  # 100 m access walk
    budget = 600.0 / WALK
    nt = nearest_node_times(g, sources=src, limit_s=budget)
    e, a, b = reached_pieces(g, node_time_s=nt, budget_s=budget, sources=src)
    lo = min(float(x) for x, ee in zip(a, e, strict=True) if ee == 0)
    hi = max(float(x) for x, ee in zip(b, e, strict=True) if ee == 0)
    assert lo == pytest.approx(0.0) and hi == pytest.approx(1.0)  # 500 m each way
    assert not np.isin(e, [1, 2]).any()  # node 1 reached with 0 s left


@pytest.mark.parametrize("method", ["raster", "vector"])
def test_toy_polygon_contains_reached_and_excludes_beyond(method: str) -> None:
    g = toy_network().travel_graph(mode=Mode.WALK)
    src = snap_xy(g, x_m=[250.0], y_m=[0.0], max_snap_m=10)
    budget = 1000.0 / WALK
    nt = nearest_node_times(g, sources=src, limit_s=budget)
    e, a, b = reached_pieces(g, node_time_s=nt, budget_s=budget, sources=src)
    poly = pieces_to_polygon(g, edge=e, start=a, end=b, buffer_m=BUFFER_M, method=method)  # type: ignore[arg-type]
    assert poly.is_valid and not poly.is_empty
    inside = sample_pieces(g, e, a, b, n=41)
    assert shapely.contains_xy(poly, inside[:, 0], inside[:, 1]).all()
    # reached ends: 1250 m east (x=1250) and 250 m north (y=250) of node 1
    beyond = np.array(
        [
            [1250.0 + OUTSIDE_M, 0.0],
            [2000.0, 0.0],
            [1000.0, 250.0 + OUTSIDE_M],
            [1000.0, 1000.0],
            [600.0, OUTSIDE_M],  # sideways from a reached road
            [-OUTSIDE_M, 0.0],
        ]
    )
    assert not shapely.contains_xy(poly, beyond[:, 0], beyond[:, 1]).any()
    # the band is roughly buffer_m wide: points at 0.4 × buffer beside the road are in
    near = np.array([[600.0, 0.4 * BUFFER_M], [1000.0 - 0.4 * BUFFER_M, 200.0]])
    assert shapely.contains_xy(poly, near[:, 0], near[:, 1]).all()


def test_oneway_street_when_driving() -> None:
    net = toy_network(oneway=True)
    drive = net.travel_graph(mode=Mode.DRIVE)
    speed = 25 / 3.6  # residential
    src = snap_xy(drive, x_m=[500.0], y_m=[0.0], max_snap_m=10)
    budget = 1250.0 / speed
    nt = nearest_node_times(drive, sources=src, limit_s=budget)
    assert math.isinf(nt[0])  # against the one-way
    e, a, b = reached_pieces(drive, node_time_s=nt, budget_s=budget, sources=src)
    poly = pieces_to_polygon(drive, edge=e, start=a, end=b, buffer_m=BUFFER_M)
    pts = sample_pieces(drive, e, a, b, n=21)
    assert shapely.contains_xy(poly, pts[:, 0], pts[:, 1]).all()
    assert pts[:, 0].min() == pytest.approx(500.0)  # nothing behind the car
    assert pts[:, 0].max() == pytest.approx(1750.0) and pts[:, 1].max() == pytest.approx(750.0)
    out = np.array([[500.0 - BUFFER_M - OUTSIDE_M, 0.0], [0.0, 0.0], [1750.0 + OUTSIDE_M, 0.0]])
    assert not shapely.contains_xy(poly, out[:, 0], out[:, 1]).any()
    # walking the same budget in time goes both ways
    walk = net.travel_graph(mode=Mode.WALK)
    s_w = snap_xy(walk, x_m=[500.0], y_m=[0.0], max_snap_m=10)
    nt_w = nearest_node_times(walk, sources=s_w, limit_s=600 / WALK)
    e_w, a_w, b_w = reached_pieces(walk, node_time_s=nt_w, budget_s=600 / WALK, sources=s_w)
    poly_w = pieces_to_polygon(walk, edge=e_w, start=a_w, end=b_w, buffer_m=BUFFER_M)
    assert shapely.contains_xy(poly_w, 0.0, 0.0)


def test_station_and_tier_isochrones_public_api() -> None:
    net = toy_network()
    g = net.travel_graph(mode=Mode.WALK)
    src = snap_xy(g, x_m=[250.0, 2000.0, 5000.0], y_m=[0.0, 0.0, 5000.0], max_snap_m=50)
    assert list(src.on_network) == [True, True, False]
    st = station_isochrones(g, sources=src, station_ids=["a", "b", "c"], intervals_min=[5, 10], buffer_m=BUFFER_M)
    assert list(st["station_id"]) == ["a", "a", "b", "b"]  # off-network 'c' gets none
    assert list(st["minutes"]) == [5.0, 10.0, 5.0, 10.0]
    assert st.crs.to_epsg() == 4326 and st.geometry.is_valid.all()
    assert (st.geometry.iloc[1].area > st.geometry.iloc[0].area) and st.geometry.iloc[0].within(
        st.geometry.iloc[1].buffer(1e-9)
    )
    tu = tier_isochrones(g, sources=src, intervals_min=[10, 5], buffer_m=BUFFER_M, tier="village")
    assert list(tu["minutes"]) == [5.0, 10.0]
    # the union covers both stations' 10-minute polygons
    both = shapely.union(st.geometry.iloc[1], st.geometry.iloc[3])
    assert tu.geometry.iloc[1].buffer(1e-7).covers(both)
    # 10 min walk = 666.7 m: from x=250 reaches x≈916.7, from x=2000 back to x≈1333.3
    lon, lat = net.to_lonlat(np.array([900.0, 1350.0, 1125.0]), np.array([0.0, 0.0, 0.0]))
    assert shapely.contains_xy(tu.geometry.iloc[1], lon[:2], lat[:2]).all()
    assert not shapely.contains_xy(tu.geometry.iloc[1], lon[2], lat[2])


def test_dilation_equals_scipy_disk() -> None:
    rng = np.random.default_rng(3)
    for r in (1, 2, 3, 5):
        m = rng.random((50, 61)) < 0.02
        d = np.arange(-r, r + 1)
        disk = (d[:, None] ** 2 + d[None, :] ** 2) <= r * r + r
        np.testing.assert_array_equal(_dilate_disk(m, r), ndimage.binary_dilation(m, structure=disk))
    assert RASTER_CELLS_PER_BUFFER >= RASTER_DILATE_CELLS + 1


def _nx_node_times(g: TravelGraph, src: Snap, i: int) -> np.ndarray:
    """Independent node times from snapped source ``i`` (networkx, both segment ends)."""
    net = g.network
    dg = nx.DiGraph()
    for e in range(net.n_edges):
        for a, b, w in ((net.edge_u[e], net.edge_v[e], g.fwd_s[e]), (net.edge_v[e], net.edge_u[e], g.bwd_s[e])):
            if math.isfinite(w) and (not dg.has_edge(int(a), int(b)) or dg[int(a)][int(b)]["weight"] > w):
                dg.add_edge(int(a), int(b), weight=float(w))
    dg.add_node("s")

    def link(node: int, w: float) -> None:
        if math.isfinite(w) and (not dg.has_edge("s", node) or dg["s"][node]["weight"] > w):
            dg.add_edge("s", node, weight=w)

    for e, f, d in snap_attachments(src)[i]:  # every attachment (one-way networks have several)
        access = d / g.walk_speed_mps
        link(int(net.edge_v[e]), access + ((1 - f) * g.fwd_s[e] if f < 1 else 0.0))
        link(int(net.edge_u[e]), access + (f * g.bwd_s[e] if f > 0 else 0.0))
    out = np.full(net.n_nodes, np.inf)
    for node, t in nx.single_source_dijkstra_path_length(dg, "s").items():
        if node != "s":
            out[int(node)] = t
    return out


def _reached_samples(
    g: TravelGraph, nt: np.ndarray, budget: float, src: Snap, i: int
) -> tuple[np.ndarray, shapely.Geometry]:
    """Reached road points and lines, edge by edge (loop; independent of reached_pieces)."""
    net = g.network
    pts: list[tuple[float, float]] = []
    lines: list[shapely.Geometry] = []

    def add(e: int, f0: float, f1: float) -> None:
        ux, uy = net.node_x_m[net.edge_u[e]], net.node_y_m[net.edge_u[e]]
        vx, vy = net.node_x_m[net.edge_v[e]], net.node_y_m[net.edge_v[e]]
        for f in np.linspace(f0, f1, 7):
            pts.append((ux + f * (vx - ux), uy + f * (vy - uy)))
        lines.append(shapely.LineString([pts[-7], pts[-1]]))

    for e in range(net.n_edges):
        tu, tv = nt[net.edge_u[e]], nt[net.edge_v[e]]
        if tu <= budget and math.isfinite(g.fwd_s[e]):
            add(e, 0.0, min(1.0, (budget - tu) / g.fwd_s[e]))
        if tv <= budget and math.isfinite(g.bwd_s[e]):
            add(e, max(0.0, 1.0 - (budget - tv) / g.bwd_s[e]), 1.0)
    for e, f, d in snap_attachments(src)[i]:
        rem = budget - d / g.walk_speed_mps
        if rem <= 0:
            continue
        if math.isfinite(g.fwd_s[e]):
            add(e, f, min(1.0, f + rem / g.fwd_s[e]))
        if math.isfinite(g.bwd_s[e]):
            add(e, max(0.0, f - rem / g.bwd_s[e]), f)
    return np.array(pts), shapely.MultiLineString(lines)


@pytest.mark.parametrize(("mode", "minutes"), [(Mode.WALK, 6.0), (Mode.DRIVE, 1.5), (Mode.EBIKE, 2.0)])
def test_real_sample_network(test_pbf_network, mode: Mode, minutes: float) -> None:  # type: ignore[no-untyped-def]
    net = test_pbf_network
    g = net.travel_graph(mode=mode, config=Config())
    rng = np.random.default_rng(11)
    cx, cy = np.median(net.node_x_m), np.median(net.node_y_m)
    src = snap_xy(g, x_m=cx + rng.normal(0, 150, 3), y_m=cy + rng.normal(0, 150, 3), max_snap_m=200)
    budget = minutes * 60.0
    n_outside_checked = 0
    for i in np.flatnonzero(src.on_network):
        ref_nt = _nx_node_times(g, src, int(i))
        one = src.subset(np.array([i]))
        nt = nearest_node_times(g, sources=one, limit_s=np.inf)
        np.testing.assert_allclose(np.where(np.isfinite(ref_nt), nt, 0), np.where(np.isfinite(ref_nt), ref_nt, 0))
        e, a, b = reached_pieces(g, node_time_s=ref_nt, budget_s=budget, sources=one)
        if mode is Mode.WALK:  # small reach: the node → segment gather path is the one tested
            assert 8 * (ref_nt <= budget).sum() < net.n_nodes
        poly = pieces_to_polygon(g, edge=e, start=a, end=b, buffer_m=BUFFER_M)
        assert poly.is_valid
        inside, reached_lines = _reached_samples(g, ref_nt, budget, src, int(i))
        assert len(inside) > 50
        assert shapely.contains_xy(poly, inside[:, 0], inside[:, 1]).all()
        # nodes clearly beyond the budget and farther than the band from every reached point
        speed_mps = float(np.nanmax(net.edge_length_m / np.where(np.isfinite(g.fwd_s), g.fwd_s, np.nan)))
        late = np.flatnonzero(ref_nt > budget + OUTSIDE_M / speed_mps)
        far = late[shapely.distance(reached_lines, shapely.points(net.node_x_m[late], net.node_y_m[late])) > OUTSIDE_M]
        n_outside_checked += len(far)
        assert not shapely.contains_xy(poly, net.node_x_m[far], net.node_y_m[far]).any()
    assert n_outside_checked > 20


def test_large_extent_coarsens_raster_but_keeps_roads_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.coverage.isochrones as iso

    g = toy_network().travel_graph(mode=Mode.WALK)
    e = np.array([0, 1, 2])
    a, b = np.zeros(3), np.ones(3)
    fine = pieces_to_polygon(g, edge=e, start=a, end=b, buffer_m=BUFFER_M)
    monkeypatch.setattr(iso, "RASTER_MAX_CELLS", 2_000)
    coarse = pieces_to_polygon(g, edge=e, start=a, end=b, buffer_m=BUFFER_M)
    pts = sample_pieces(g, e, a, b, n=51)
    assert coarse.is_valid and shapely.contains_xy(coarse, pts[:, 0], pts[:, 1]).all()
    assert coarse.area > 1.5 * fine.area  # ~34 m cells instead of 15 m: a wider band


def test_station_beside_a_one_way_out_of_the_map_reaches_the_town() -> None:
    """A station nearest a one-way leading out of the map drives off along the two-way street beside it."""
    net = trap_network()
    g = net.travel_graph(mode=Mode.DRIVE)
    src = snap_xy(g, x_m=[1500.0], y_m=[10.0], max_snap_m=500)  # 10 m from 1 → 4, ~40 m from 1 – 6
    gdf = tier_isochrones(g, sources=src, intervals_min=[5.0], buffer_m=BUFFER_M)
    poly = shapely.transform(gdf.geometry.iloc[0], lambda xy: np.column_stack(net.to_projected(xy[:, 0], xy[:, 1])))
    # walk ~40 m, drive 500 m to node 1 and 1000 m on to node 0: about 4.2 minutes
    assert shapely.contains_xy(poly, [500.0, 0.0, 1000.0], [0.0, 0.0, 500.0]).all()
    assert not shapely.contains_xy(poly, 0.0, 1000.0)  # node 3: 2 km from node 1, beyond 5 minutes
