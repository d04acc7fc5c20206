"""Isochrone polygons: reached pieces, the walking access levels, and consistency with coverage.

Reached pieces are checked against exact partial lengths and an independent networkx
computation. The polygons are checked three ways: (1) on toy networks and pyrosm's real
OSM sample, against a brute-force evaluation of the level definition with shapely
distances (every point of a level region inside, nothing far beyond it outside); (2) on the
demo county, on real OSM samples (walking and driving, one-way streets) and on the 贵溪
extract, every demand point the coverage result counts as reached within an interval lies
inside that interval's polygon, as :meth:`Workspace.isochrones` draws it; (3) the raster
drawing against the exact vector one.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import ndimage

import planner.coverage.isochrones as iso
from planner.coverage.isochrones import (
    RASTER_CELLS_PER_BUFFER,
    RASTER_MARGIN_CELLS,
    access_levels,
    pieces_to_polygon,
    reach_polygons,
    reached_pieces,
    station_isochrones,
    tier_isochrones,
)
from planner.network.reach import nearest_node_times, nearest_times
from planner.network.roads import RoadNetwork, TravelGraph
from planner.network.snapping import Snap, snap_xy
from planner.settings import Config, Mode, Tier
from planner.workspace.workspace import Workspace
from tests.conftest import pyrosm_network, snap_attachments
from tests.helpers import trap_network

WALK = 4.0 / 3.6  # m/s
BUFFER_M = 60.0
#: The raster band's cells and how far beyond ``buffer_m`` it may reach: the margin,
#: the 16-gon's corners (≤ 10 % of the filter radius) and one cell of tracing.
BAND_CELL_M = BUFFER_M / RASTER_CELLS_PER_BUFFER
OUTSIDE_M = 1.1 * (BUFFER_M + RASTER_MARGIN_CELLS * BAND_CELL_M) + 1.5 * BAND_CELL_M


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
def test_toy_band_contains_reached_and_excludes_beyond(method: str) -> None:
    g = toy_network().travel_graph(mode=Mode.WALK)
    src = snap_xy(g, x_m=[250.0], y_m=[0.0], max_snap_m=10)
    budget = 1000.0 / WALK
    nt = nearest_node_times(g, sources=src, limit_s=budget)
    e, a, b = reached_pieces(g, node_time_s=nt, budget_s=budget, sources=src)
    poly = pieces_to_polygon(g, edge=e, start=a, end=b, buffer_m=BUFFER_M, method=method)  # type: ignore[arg-type]
    assert poly.is_valid and not poly.is_empty
    inside = sample_pieces(g, e, a, b, n=41)
    assert shapely.contains_xy(poly, inside[:, 0], inside[:, 1]).all()
    # the band is at least buffer_m wide everywhere: points just inside it, beside and beyond the roads
    edge_pts = np.array([[600.0, 0.99 * BUFFER_M], [600.0, -0.99 * BUFFER_M], [1000.0 - 0.99 * BUFFER_M, 200.0],
                         [1250.0 + 0.99 * BUFFER_M, 0.0], [1000.0, 250.0 + 0.99 * BUFFER_M],
                         [-0.99 * BUFFER_M, 0.0], [1250.0 + 0.7 * BUFFER_M, 0.7 * BUFFER_M]])  # fmt: skip
    assert shapely.contains_xy(poly, edge_pts[:, 0], edge_pts[:, 1]).all()
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
    out = np.array([[500.0 - OUTSIDE_M, 0.0], [0.0, 0.0], [1750.0 + OUTSIDE_M, 0.0]])
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
    kw = {"max_access_m": 0.0, "buffer_m": BUFFER_M}  # roads only: the band of the reached roads
    st = station_isochrones(g, sources=src, station_ids=["a", "b", "c"], intervals_min=[5, 10], **kw)
    assert list(st["station_id"]) == ["a", "a", "b", "b"]  # off-network 'c' gets none
    assert list(st["minutes"]) == [5.0, 10.0, 5.0, 10.0]
    assert st.crs.to_epsg() == 4326 and st.geometry.is_valid.all()
    assert (st.geometry.iloc[1].area > st.geometry.iloc[0].area) and st.geometry.iloc[0].within(
        st.geometry.iloc[1].buffer(1e-9)
    )
    tu = tier_isochrones(g, sources=src, intervals_min=[10, 5], tier="village", **kw)
    assert list(tu["minutes"]) == [5.0, 10.0]
    # the union covers both stations' 10-minute polygons
    both = shapely.union(st.geometry.iloc[1], st.geometry.iloc[3])
    assert tu.geometry.iloc[1].buffer(1e-7).covers(both)
    # 10 min walk = 666.7 m: from x=250 reaches x≈916.7, from x=2000 back to x≈1333.3
    lon, lat = net.to_lonlat(np.array([900.0, 1350.0, 1125.0]), np.array([0.0, 0.0, 0.0]))
    assert shapely.contains_xy(tu.geometry.iloc[1], lon[:2], lat[:2]).all()
    assert not shapely.contains_xy(tu.geometry.iloc[1], lon[2], lat[2])
    # with walking access the area grows around the roads, nested in the roads-only one's reach
    wide = tier_isochrones(g, sources=src, intervals_min=[5, 10], max_access_m=300.0, buffer_m=BUFFER_M)
    assert (wide.to_crs(net.crs).area > 2 * tu.to_crs(net.crs).area).all()
    off = net.to_lonlat(np.array([500.0]), np.array([250.0]))  # 250 m beside the road, 250 m from station a
    assert shapely.contains_xy(wide.geometry.iloc[1], *off) and not shapely.contains_xy(tu.geometry.iloc[1], *off)


# ----------------------------------------------------------------------------- walking levels
def test_access_levels() -> None:
    r, off = access_levels(max_access_m=500.0, min_halfwidth_m=60.0, walk_speed_mps=WALK)
    np.testing.assert_allclose(r, [100, 200, 300, 400, 500])
    np.testing.assert_allclose(off, np.array([0, 100, 200, 300, 400]) / WALK)
    r, off = access_levels(max_access_m=120.0, min_halfwidth_m=60.0, walk_speed_mps=WALK)
    np.testing.assert_allclose(r, [60, 80, 120])  # at least 3 levels, never narrower than the road band
    np.testing.assert_allclose(off, np.array([0, 40, 80]) / WALK)
    r, off = access_levels(max_access_m=0.0, min_halfwidth_m=60.0, walk_speed_mps=WALK)
    np.testing.assert_allclose(r, [60])
    np.testing.assert_allclose(off, [0])


def test_raster_filter_holds_the_disk_and_equals_a_direct_minimum() -> None:
    """The 16-gon of every radius reaches all lattice points of the disk, and the filter is its minimum."""
    rng = np.random.default_rng(5)
    for rho in (1.0, 2.5, 5.3, 8.5, 13.2, 18.1, 24.0):
        steps = iso._covering_steps(rho)
        foot = iso._footprint(steps)
        c = foot.shape[0] // 2
        d = np.arange(-c, c + 1)
        dist = np.hypot(d[:, None], d[None, :])
        assert foot[dist <= rho].all()
        assert dist[foot].max() <= 1.1 * rho + 1.0  # a tight polygon, not a square
        a = np.full((60 + 2 * c, 70 + 2 * c), 255, dtype=np.uint8)  # values at least the reach from the border,
        a[c:-c, c:-c] = rng.integers(0, 5, size=(60, 70))  # as the raster pads its grid
        a[rng.random(a.shape) < 0.7] = 255
        direct = ndimage.minimum_filter(a, footprint=foot, mode="constant", cval=255)
        np.testing.assert_array_equal(iso._zonotope_min(a, steps), direct)


def _level_distances(
    g: TravelGraph, nt: np.ndarray, budget_s: float, src: Snap, *, max_access_m: float, pts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each point and level, its distance to the level's road pieces (shapely), and the levels' radii."""
    radius, offset = access_levels(max_access_m=max_access_m, min_halfwidth_m=BUFFER_M, walk_speed_mps=g.walk_speed_mps)
    out = np.full((len(pts), len(radius)), np.inf)
    for k, off in enumerate(offset):
        _pts, lines = _reached_samples(g, nt, budget_s - off, src, None)
        if not lines.is_empty:
            out[:, k] = shapely.distance(lines, shapely.points(pts[:, 0], pts[:, 1]))
    return out, radius


@pytest.mark.parametrize("method", ["raster", "vector"])
def test_toy_service_area_is_the_level_definition(method: str) -> None:
    """Points of every level region lie inside; points well beyond all of them lie outside."""
    net = toy_network()
    g = net.travel_graph(mode=Mode.WALK)
    src = snap_xy(g, x_m=[250.0, 1000.0], y_m=[40.0, 900.0], max_snap_m=100)
    budget = 700.0 / WALK
    nt = nearest_node_times(g, sources=src, limit_s=budget)
    (poly,) = reach_polygons(
        g,
        node_time_s=nt,
        budgets_s=[budget],
        sources=src,
        max_access_m=300.0,
        buffer_m=BUFFER_M,
        method=method,  # type: ignore[arg-type]
    )
    assert poly.is_valid
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(-500, 2500, 20_000), rng.uniform(-500, 1500, 20_000)])
    dist, radius = _level_distances(g, nt, budget, src, max_access_m=300.0, pts=pts)
    inside = shapely.contains_xy(poly, pts[:, 0], pts[:, 1])
    in_level = (dist <= radius[None, :]).any(axis=1)
    assert in_level.sum() > 3000 and (~in_level).sum() > 3000
    if method == "vector":
        assert inside[in_level].all()
    else:  # the raster also applies the nearest-road rule: what coverage counts is inside, not the rest
        demand = snap_xy(g, x_m=pts[:, 0], y_m=pts[:, 1], max_snap_m=300.0)
        covered = nearest_times(g, sources=src, targets=demand, limit_s=budget).time_s <= budget + 1e-9
        not_covered = in_level & ~covered & demand.on_network
        assert covered.sum() > 3000 and not_covered.sum() > 300
        assert inside[covered].all()
        assert inside[not_covered].mean() < 0.5  # 0.40 (all of them before the rule)
    cell = max(radius[-1] / 16, radius[0] / 4)
    slack = 0.1 * radius + (RASTER_MARGIN_CELLS + 1.5) * cell if method == "raster" else 0.02 * radius + 1.0
    far = ~(dist <= (radius + slack)[None, :]).any(axis=1)
    assert far.sum() > 3000 and not inside[far].any()


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
    g: TravelGraph, nt: np.ndarray, budget: float, src: Snap, i: int | None
) -> tuple[np.ndarray, shapely.Geometry]:
    """Reached road points and lines of source ``i`` (all if ``None``), edge by edge (independent of reached_pieces)."""
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
    for e, f, d in [a for k, atts in enumerate(snap_attachments(src)) if i in (None, k) for a in atts]:
        rem = budget - d / g.walk_speed_mps
        if rem <= 0:
            continue
        if math.isfinite(g.fwd_s[e]):
            add(e, f, min(1.0, f + rem / g.fwd_s[e]))
        if math.isfinite(g.bwd_s[e]):
            add(e, max(0.0, f - rem / g.bwd_s[e]), f)
    return np.array(pts).reshape(-1, 2), shapely.MultiLineString(lines)


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
    assert coarse.area > 1.2 * fine.area  # ~34 m cells instead of 15 m: a wider margin


def test_station_beside_a_one_way_out_of_the_map_reaches_the_town() -> None:
    """A station nearest a one-way leading out of the map drives off along the two-way street beside it."""
    net = trap_network()
    g = net.travel_graph(mode=Mode.DRIVE)
    src = snap_xy(g, x_m=[1500.0], y_m=[10.0], max_snap_m=500)  # 10 m from 1 → 4, ~40 m from 1 – 6
    gdf = tier_isochrones(g, sources=src, intervals_min=[5.0], max_access_m=0.0, buffer_m=BUFFER_M)
    poly = shapely.transform(gdf.geometry.iloc[0], lambda xy: np.column_stack(net.to_projected(xy[:, 0], xy[:, 1])))
    # walk ~40 m, drive 500 m to node 1 and 1000 m on to node 0: about 4.2 minutes
    assert shapely.contains_xy(poly, [500.0, 0.0, 1000.0], [0.0, 0.0, 500.0]).all()
    assert not shapely.contains_xy(poly, 0.0, 1000.0)  # node 3: 2 km from node 1, beyond 5 minutes


# ----------------------------------------------------------------------------- consistency with coverage
def _check_covered_inside(ws: Workspace, stations: pd.DataFrame) -> dict[str, tuple[int, int, int]]:
    """Every demand point reached within an interval lies inside that interval's polygon, for every tier.

    Uses the coverage result's ``interval_min`` (the smallest interval a point is reached
    within; NaN when off the network or beyond every interval). Returns, per tier, the
    reached points of its largest interval, the on-network points not reached within it,
    and how many of those lie inside its polygon.
    """
    result = ws.evaluate(stations)
    stats = {}
    for tier in result.tiers:
        demand = result.demand[result.demand["tier"] == str(tier)]
        polys = ws.isochrones(stations, tier=tier)
        lon, lat = demand["lon"].to_numpy(float), demand["lat"].to_numpy(float)
        reached_by = demand["interval_min"].to_numpy(float)
        on = demand["status"].to_numpy(object) != "off_network"
        assert list(polys["minutes"]) == sorted(polys["minutes"])
        for minutes, poly in zip(polys["minutes"], polys.geometry, strict=True):
            reached = reached_by <= minutes + 1e-9
            inside = shapely.contains_xy(poly, lon, lat)
            missed = demand.loc[reached & ~inside, ["id", "minutes", "snap_m"]]
            assert missed.empty, f"{tier} {minutes:g} min: reached but outside the polygon:\n{missed}"
        stats[str(tier)] = (int(reached.sum()), int((on & ~reached).sum()), int((on & ~reached & inside).sum()))
    return stats


def _sample_workspace(net: RoadNetwork, *, config: Config, seed: int) -> tuple[Workspace, pd.DataFrame]:
    """Stations of every tier and 600 demand points (a fifth of them enterprises) laid on a real network.

    Demand lies up to 700 m beside the roads: long walking access legs, some points off the network.
    """
    from planner.demo.grid import random_points_near

    tiers = ["county", "township", "township", *["village"] * 6, "enterprise", "enterprise"]
    s_lon, s_lat = random_points_near(net, n=len(tiers), seed=seed, max_offset_m=60.0)
    stations = pd.DataFrame(
        {"id": [f"S{i}" for i in range(len(tiers))], "name": [f"站{i}" for i in range(len(tiers))],
         "tier": tiers, "lon": s_lon, "lat": s_lat}
    )  # fmt: skip
    d_lon, d_lat = random_points_near(net, n=600, seed=seed + 1, max_offset_m=700.0)
    demand = pd.DataFrame(
        {"id": [f"D{i}" for i in range(600)], "name": [f"村{i}" for i in range(600)], "population": 100.0,
         "lon": d_lon, "lat": d_lat, "kind": np.where(np.arange(600) % 5 == 0, "enterprise", "village")}
    )  # fmt: skip
    return Workspace(network=net, demand=demand, config=config, allow_off_network_stations=True), stations


def test_demo_county_covered_points_lie_inside_their_circles(demo) -> None:  # type: ignore[no-untyped-def]
    ws, sc = demo
    stats = _check_covered_inside(ws, sc.stations)
    assert set(stats) == {str(t) for t in Tier}
    assert sum(s[0] for s in stats.values()) > 400  # most demand is reached ...
    assert sum(s[1] - s[2] for s in stats.values()) > 150  # ... and most of the rest lies outside


def test_demo_county_circles_leave_out_most_uncovered_points(demo) -> None:  # type: ignore[no-untyped-def]
    """The nearest-road rule: few on-network points coverage does not reach lie inside the standard's circle.

    Measured: 6 of 267 over the four tiers (2.2 %; the three in the county tier come from
    driving's alternate attachments, which the rule leaves alone); 17 (6.4 %) without it.
    """
    ws, sc = demo
    stats = _check_covered_inside(ws, sc.stations)
    not_reached = sum(s[1] for s in stats.values())
    inside = sum(s[2] for s in stats.values())
    assert not_reached > 200
    assert inside <= 0.03 * not_reached, stats


#: Short standards for the 2 km pyrosm samples, so that coverage is partial: (mode or None, minutes, intervals).
SAMPLE_CONFIGS = {
    "test_pbf": Config().with_overrides(minutes=4.0, intervals_min=(1.0, 2.0, 4.0)),
    "helsinki_pbf": Config().with_overrides(mode=Mode.DRIVE, minutes=3.0, intervals_min=(1.0, 2.0), max_snap_m=300.0),
}


@pytest.mark.parametrize("name", sorted(SAMPLE_CONFIGS))
def test_real_osm_covered_points_lie_inside_their_circles(name: str) -> None:
    """pyrosm's real OSM samples: mixed modes on test_pbf; every tier driving (one-way streets) on Helsinki."""
    ws, stations = _sample_workspace(pyrosm_network(name), config=SAMPLE_CONFIGS[name], seed=3)
    stats = _check_covered_inside(ws, stations)
    reached, not_reached, inside = np.array(list(stats.values())).sum(axis=0)
    assert reached > 300 and not_reached - inside > 100, stats
    if name == "helsinki_pbf":
        assert ws.network.travel_graph(mode=Mode.DRIVE).is_directed


@pytest.mark.shared
def test_guixi_covered_points_lie_inside_their_circles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """贵溪 (../shared): the stations `planner extract` finds and 600 generated demand points; two sets of standards."""
    import contextlib
    import io

    from planner.cli import main
    from planner.network.load import load_network
    from tests.conftest import shared_path

    osm = shared_path("data", "guixi_center.osm")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["extract", "--osm", str(osm), "--out", str(tmp_path)]) == 0
    extracted = pd.read_csv(tmp_path / "stations.csv", encoding="utf-8-sig")
    net = load_network(osm)
    for config in (Config(), Config().with_overrides(minutes=6.0, intervals_min=(2.0, 4.0, 6.0))):
        ws, stations = _sample_workspace(net, config=config, seed=11)
        real = pd.DataFrame(
            {"id": extracted["编号"].astype(str), "name": extracted["名称"].astype(str),
             "tier": extracted["层级"].map({"县级": "county", "乡镇": "township", "村（社区）": "village",
                                            "企业": "enterprise"}).fillna("village"),
             "lon": extracted["经度"], "lat": extracted["纬度"]}
        )  # fmt: skip
        stats = _check_covered_inside(ws, pd.concat([real, stations], ignore_index=True))
        reached, not_reached, _inside = np.array(list(stats.values())).sum(axis=0)
        assert reached > 300 and not_reached > 50, stats


def test_raster_agrees_with_the_exact_vector_drawing(test_pbf_network) -> None:  # type: ignore[no-untyped-def]
    """The raster holds the exact (vector) polygon and adds a rim no wider than its margin allows."""
    net = test_pbf_network
    radius = access_levels(max_access_m=500.0, min_halfwidth_m=BUFFER_M, walk_speed_mps=WALK)[0]
    cell = radius[-1] / iso.RASTER_CELLS_PER_BAND
    # 16-gon corners (≤ 10 % of the filter radius), the margin, a sample's cell centre and the tracing
    rim_m = 0.1 * (radius[-1] + RASTER_MARGIN_CELLS * cell) + (RASTER_MARGIN_CELLS + 1.5) * cell
    for mode, minutes in ((Mode.WALK, (2.0, 5.0)), (Mode.DRIVE, (0.5, 1.0))):
        g = net.travel_graph(mode=mode, config=Config())
        cx, cy = np.median(net.node_x_m), np.median(net.node_y_m)
        src = snap_xy(
            g, x_m=cx + np.array([-500.0, 0.0, 400.0]), y_m=cy + np.array([0.0, 300.0, -200.0]), max_snap_m=300
        )
        kw = {"sources": src, "intervals_min": minutes, "max_access_m": 500.0, "buffer_m": BUFFER_M}
        raster = tier_isochrones(g, **kw).to_crs(net.crs).geometry  # type: ignore[arg-type]
        vector = tier_isochrones(g, method="vector", **kw).to_crs(net.crs).geometry  # type: ignore[arg-type]
        for r, v in zip(raster, vector, strict=True):
            assert r.is_valid and v.is_valid and v.area > 2e5
            if g.is_directed:  # the raster holds the level regions (its nearest-road rule cuts undirected modes)
                assert shapely.difference(v, r).area < 1e-4 * v.area  # numerical slivers only
            else:
                assert 0.05 * v.area < shapely.difference(v, r).area < 0.6 * v.area
            rim = shapely.difference(r, v)
            assert (0.0 if g.is_directed else -1.0) < rim.area < v.length * rim_m
            assert shapely.distance(v, shapely.points(shapely.get_coordinates(r))).max() < rim_m
