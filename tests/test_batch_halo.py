"""The halo: ring widths, boxes, road files joined, edge nodes and the reverse-search check (against networkx)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pyproj
import pytest

from planner.batch.halo import (
    WIDEN,
    expand_bounds,
    first_widths_m,
    inside,
    load_halo,
    merge_networks,
    reached_edge,
    widest_halo_m,
)
from planner.demo.county import generate_county
from planner.network.load import load_network, network_to_geodataframe
from planner.network.snapping import snap_points
from planner.settings import Config, Mode, Tier

GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def county():  # type: ignore[no-untyped-def]
    return generate_county()


@pytest.fixture(scope="module")
def halves(county, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The demo roads written as two files, split by each segment's midpoint longitude."""
    d = tmp_path_factory.mktemp("halves")
    segs = network_to_geodataframe(county.network).rename(columns={"maxspeed_kph": "maxspeed"})
    net = county.network
    mid = (net.node_lon[segs["u"].to_numpy()] + net.node_lon[segs["v"].to_numpy()]) / 2
    cut = float(np.median(mid))
    paths = []
    for name, sel in (("west", mid < cut), ("east", mid >= cut)):
        path = d / f"{name}.gpkg"
        segs[sel].drop(columns=["u", "v", "length_m"]).to_file(path, layer="roads", engine="pyogrio")
        paths.append(str(path))
    whole = d / "whole.gpkg"
    segs.drop(columns=["u", "v", "length_m"]).to_file(whole, layer="roads", engine="pyogrio")
    return paths, str(whole)


def test_first_widths_are_the_standard_at_primary_speed() -> None:
    cfg = Config()
    widths = first_widths_m(cfg, (Tier.VILLAGE, Tier.COUNTY), factor=1.0)
    assert set(widths) == {Mode.WALK, Mode.DRIVE}
    walk = cfg.standards[Tier.VILLAGE].minutes / 60 * cfg.speed_table(Mode.WALK)["primary"] * 1000
    assert widths[Mode.WALK] == pytest.approx(walk + 2 * cfg.max_snap_m)
    drive = cfg.standards[Tier.COUNTY].minutes / 60 * cfg.speed_table(Mode.DRIVE)["primary"] * 1000
    assert widths[Mode.DRIVE] == pytest.approx(drive + 2 * cfg.max_snap_m)
    half = first_widths_m(cfg, (Tier.COUNTY,), factor=0.5)[Mode.DRIVE]
    assert half == pytest.approx(drive / 2 + 2 * cfg.max_snap_m)
    assert widest_halo_m(cfg, (Tier.COUNTY,), max_widen=2) == pytest.approx(widths[Mode.DRIVE] * WIDEN**2)


@pytest.mark.parametrize("lat", [0.0, 27.4, 60.0, -45.0])
def test_expanded_box_is_at_least_the_distance_away(lat: float) -> None:
    box = (116.0, lat, 116.3, lat + 0.2)
    big = expand_bounds(box, 5000.0)
    for lon_in, lat_in, lon_out, lat_out in (
        (box[0], box[1], big[0], box[1]),
        (box[2], box[3], big[2], box[3]),
        (box[0], box[1], box[0], big[1]),
        (box[2], box[3], box[2], big[3]),
    ):
        _, _, dist = GEOD.inv(lon_in, lat_in, lon_out, lat_out)
        assert dist >= 5000.0 - 1e-6
    assert inside(np.array([116.1]), np.array([lat + 0.1]), box).all()
    assert not inside(np.array([116.31]), np.array([lat + 0.1]), box).any()


def test_two_files_join_into_the_whole_network(halves) -> None:  # type: ignore[no-untyped-def]
    paths, whole = halves
    full = load_network(whole)
    nets = [load_network(p) for p in paths]
    merged = merge_networks(nets, source="both")
    assert merged.n_nodes == full.n_nodes
    assert merged.n_edges == full.n_edges
    assert merged.edge_length_m.sum() == pytest.approx(full.edge_length_m.sum())
    assert merge_networks([nets[0], nets[0]], source="twice").n_edges == nets[0].n_edges


def _coord_edges(net, mask):  # type: ignore[no-untyped-def]
    lon, lat = np.round(net.node_lon, 7), np.round(net.node_lat, 7)
    return {
        frozenset({(lon[u], lat[u]), (lon[v], lat[v])}) for u, v in zip(net.edge_u[mask], net.edge_v[mask], strict=True)
    }


def test_rings_keep_each_modes_roads_and_mark_the_cut(county, halves) -> None:  # type: ignore[no-untyped-def]
    paths, whole = halves
    cfg = Config()
    full = load_network(whole)
    lon0, lat0 = float(np.median(full.node_lon)), float(np.median(full.node_lat))
    bounds = (lon0 - 0.02, lat0 - 0.02, lon0 + 0.02, lat0 + 0.02)
    widths = {Mode.WALK: 500.0, Mode.DRIVE: 4000.0}
    halo = load_halo(paths, bounds=bounds, widths_m=widths, config=cfg)
    net = halo.network
    # independent: every segment of the whole file, kept when a mode may use it and both ends lie in its box
    expect = np.zeros(full.n_edges, dtype=bool)
    for mode, width in widths.items():
        box = expand_bounds(bounds, width)
        ok = np.array([math.isfinite(cfg.speed_table(mode).get(c, math.nan)) for c in full.edge_highway()])
        ends = inside(full.node_lon, full.node_lat, box)
        expect |= ok & ends[full.edge_u] & ends[full.edge_v]
    assert _coord_edges(net, np.ones(net.n_edges, dtype=bool)) == _coord_edges(full, expect)
    # edge nodes: kept nodes touching a dropped segment the mode may use
    lon, lat = np.round(net.node_lon, 7), np.round(net.node_lat, 7)
    for mode in widths:
        ok = np.array([math.isfinite(cfg.speed_table(mode).get(c, math.nan)) for c in full.edge_highway()])
        cut = ~expect & ok
        cut_ends = {
            (round(float(full.node_lon[n]), 7), round(float(full.node_lat[n]), 7))
            for n in np.concatenate([full.edge_u[cut], full.edge_v[cut]])
        }
        want = np.array([(float(a), float(b)) in cut_ends for a, b in zip(lon, lat, strict=True)])
        assert np.array_equal(halo.edge_nodes[mode], want)
        assert want.any()


def test_reverse_search_reaches_what_networkx_reaches(county) -> None:  # type: ignore[no-untyped-def]
    cfg = Config()
    net = county.network
    graph = net.travel_graph(mode=Mode.DRIVE, config=cfg)
    demand = county.demand.iloc[::25]
    snap = snap_points(graph, lon=demand["lon"].to_numpy(), lat=demand["lat"].to_numpy(), max_snap_m=cfg.max_snap_m)
    rng = np.random.default_rng(3)
    edge_nodes = rng.random(net.n_nodes) < 0.05
    limit_s = 300.0
    got = reached_edge(graph, demand=snap, edge_nodes=edge_nodes, limit_s=limit_s)
    g = nx.DiGraph()
    coo = graph.csr.tocoo()
    g.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    att = snap.attachments()
    starts = set(net.edge_u[att.edge].tolist()) | set(net.edge_v[att.edge].tolist())
    dist = nx.multi_source_dijkstra_path_length(g.reverse(copy=False), starts, cutoff=limit_s)
    want = sum(1 for n in dist if edge_nodes[n])
    assert got == want > 0
    assert reached_edge(graph, demand=snap, edge_nodes=np.zeros(net.n_nodes, dtype=bool), limit_s=limit_s) == 0
