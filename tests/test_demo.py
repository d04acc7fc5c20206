"""Tests for planner.demo.county: the generated county, its road builder and its files.

Every check is made with an independent computation (SciPy components, brute-force
point-to-segment distances, shapely intersections, a separate rebuild of the topology
from the written GeoPackage), never by calling the generator's own helpers.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from planner._errors import ConfigError, InputError
from planner.demo.county import DemoCounty, generate_county, write_demo
from planner.demo.grid import generate_grid_network
from planner.network.roads import RoadNetwork
from planner.settings import Mode, Tier, parse_tier
from tests.helpers import components, digest, point_segment_distance

# ----------------------------------------------------------------------------- helpers


def _county_digest(c: DemoCounty) -> str:
    n = c.network
    return digest(
        n.node_lon,
        n.node_lat,
        n.edge_u,
        n.edge_v,
        n.edge_class,
        n.edge_oneway,
        n.edge_name,
        c.stations["name"],
        c.stations["lon"],
        c.stations["lat"],
        c.demand["name"],
        c.demand["population"],
        c.demand["lon"],
        c.townships.geometry.to_wkb(),
    )


def _segment_lines(net: RoadNetwork) -> np.ndarray:
    a = np.column_stack([net.node_lon[net.edge_u], net.node_lat[net.edge_u]])
    b = np.column_stack([net.node_lon[net.edge_v], net.node_lat[net.edge_v]])
    return shapely.linestrings(np.stack([a, b], axis=1))


@pytest.fixture(scope="module")
def county() -> DemoCounty:
    return generate_county()


# ----------------------------------------------------------------------------- county


def test_deterministic_same_seed_and_differs_by_seed(county: DemoCounty) -> None:
    again = generate_county()
    assert _county_digest(again) == _county_digest(county)
    other = generate_county(seed=7)
    assert _county_digest(other) != _county_digest(county)


def test_builds_fast() -> None:
    # CPU time, so a busy machine does not make the test flaky
    t0 = time.process_time()
    generate_county(seed=11)
    assert time.process_time() - t0 < 5.0


def test_network_size_classes_and_source(county: DemoCounty) -> None:
    net = county.network
    assert 8_000 <= net.n_nodes <= 25_000
    assert net.edge_length_m.max() <= 300.0
    # length recomputed independently from the projected coordinates
    dx = net.node_x_m[net.edge_u] - net.node_x_m[net.edge_v]
    length = np.hypot(dx, net.node_y_m[net.edge_u] - net.node_y_m[net.edge_v])
    np.testing.assert_allclose(net.edge_length_m, length)
    classes = set(net.edge_highway().tolist())
    assert {"primary", "secondary", "tertiary", "residential", "unclassified", "service", "footway"} <= classes
    assert 0 < net.edge_oneway.sum() < 0.1 * net.n_edges
    assert "程序生成" in net.source
    # extent ≈ 40 × 35 km around 116.2°E, 27.4°N
    w = net.node_x_m.max() - net.node_x_m.min()
    h = net.node_y_m.max() - net.node_y_m.min()
    assert 30_000 < w < 45_000
    assert 25_000 < h < 40_000
    lon0, lat0, lon1, lat1 = net.bounds_lonlat()
    assert lon0 < 116.2 < lon1
    assert lat0 < 27.4 < lat1
    # every node is used by a segment, no self-loops, no repeated segments
    assert np.union1d(net.edge_u, net.edge_v).size == net.n_nodes
    assert (net.edge_u != net.edge_v).all()
    key = np.sort(np.column_stack([net.edge_u, net.edge_v]), axis=1)
    assert len(np.unique(key, axis=0)) == net.n_edges


def test_roads_meet_at_shared_nodes(county: DemoCounty) -> None:
    """No two segments cross except at a common node (a real intersection)."""
    net = county.network
    lines = _segment_lines(net)
    tree = shapely.STRtree(lines)
    pairs = tree.query(lines, predicate="crosses")
    assert pairs.shape[1] == 0
    # and junctions exist: many nodes of degree ≥ 3
    deg = np.bincount(np.concatenate([net.edge_u, net.edge_v]), minlength=net.n_nodes)
    assert (deg >= 3).sum() > 500


def test_counts_and_population(county: DemoCounty) -> None:
    d = county.demand
    assert list(d.columns) == ["id", "name", "population", "lon", "lat", "township", "kind"]
    kinds = d["kind"].value_counts()
    assert 150 <= kinds["village"] <= 300
    assert kinds["village"] == 220
    assert 15 <= kinds["enterprise"] <= 40
    assert kinds["community"] >= 5
    assert d["name"].is_unique
    assert d["id"].is_unique
    pop = d.set_index("kind")["population"]
    assert pop["village"].between(500, 4000).all()
    assert pop["community"].between(3000, 12000).all()
    assert pop["enterprise"].between(100, 2000).all()
    assert 300_000 <= d["population"].sum() <= 500_000
    assert d.loc[d["kind"] == "village", "name"].str.endswith("村").all()
    assert d.loc[d["kind"] == "community", "name"].str.endswith("社区").all()
    assert set(d["township"]) <= set(county.townships["name"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranges_hold_for_other_seeds(seed: int) -> None:
    c = generate_county(seed=seed)
    assert 8_000 <= c.network.n_nodes <= 25_000
    assert 300_000 <= c.demand["population"].sum() <= 500_000
    assert c.network.components().n_components == 1
    vil = (c.demand["kind"] == "village").sum()
    n_vs = c.stations["name"].str.endswith("村群团服务站").sum()
    assert 0.55 <= n_vs / vil <= 0.70


def test_stations(county: DemoCounty) -> None:
    s = county.stations
    assert list(s.columns) == ["id", "name", "tier", "lon", "lat", "organisation", "services", "status"]
    tiers = s["tier"].value_counts()
    assert tiers["county"] == 1
    assert s.loc[s["tier"] == "county", "name"].item() == "示例县群团服务中心"
    n_seats = (county.townships["kind"] != "街道").sum()
    seat_centres = s["name"].str.endswith(("镇群团服务中心", "乡群团服务中心")).sum()
    assert n_seats // 2 < seat_centres < n_seats  # most, not all
    n_vil = (county.demand["kind"] == "village").sum()
    assert 0.55 <= s["name"].str.endswith("村群团服务站").sum() / n_vil <= 0.70
    assert s["name"].str.contains("驿站").sum() >= 2
    n_ent = (county.demand["kind"] == "enterprise").sum()
    assert 0 < tiers["enterprise"] < n_ent
    assert s.loc[s["tier"] == "enterprise", "name"].str.endswith("职工之家").all()
    assert s["id"].is_unique
    assert s["name"].is_unique
    assert s["services"].str.len().gt(0).all()
    assert {"正常运行"} <= set(s["status"])


def test_townships_across_river_lack_coverage(county: DemoCounty) -> None:
    """Gaps are real: some seats have no centre, and they lie mostly across the river."""
    t = county.townships
    seats = t[t["kind"] != "街道"]
    names = set(county.stations["name"])
    lacking = [nm for nm in seats["name"] if f"{nm}群团服务中心" not in names]
    assert lacking
    # village stations are sparser across the river than on the town's side
    town_xy = county.stations.loc[county.stations["tier"] == "county", ["lon", "lat"]].to_numpy()[0]
    d = county.demand[county.demand["kind"] == "village"]
    links = shapely.linestrings(np.stack([np.broadcast_to(town_xy, (len(d), 2)), d[["lon", "lat"]].to_numpy()], axis=1))
    across = shapely.get_num_geometries(shapely.intersection(links, county.river)) % 2 == 1
    has = d["name"].map(lambda nm: f"{nm}群团服务站" in names).to_numpy()
    assert 0 < across.sum() < len(d)
    assert has[across].mean() < has[~across].mean()


def test_stations_and_demand_sit_near_roads(county: DemoCounty) -> None:
    net = county.network
    ax, ay = net.node_x_m[net.edge_u], net.node_y_m[net.edge_u]
    bx, by = net.node_x_m[net.edge_v], net.node_y_m[net.edge_v]
    sx, sy = net.to_projected(county.stations["lon"], county.stations["lat"])
    ds = point_segment_distance(sx, sy, ax, ay, bx, by)
    assert ds.min() >= 5.0 - 0.5
    assert ds.max() <= 80.0 + 0.5
    dx, dy = net.to_projected(county.demand["lon"], county.demand["lat"])
    dd = point_segment_distance(dx, dy, ax, ay, bx, by)
    assert dd.max() <= 80.5


def test_townships_cover_the_county(county: DemoCounty) -> None:
    t = county.townships
    assert t.crs is not None and t.crs.to_epsg() == 4326
    assert len(t) == 12 + 2
    assert (t["kind"] == "街道").sum() == 2
    assert t["name"].is_unique
    assert t.geometry.is_valid.all()
    assert (t.geometry.geom_type.isin(["Polygon", "MultiPolygon"])).all()
    union = shapely.union_all(t.geometry.to_numpy())
    assert abs(union.area - county.outline.area) / county.outline.area < 1e-3
    # cells do not overlap
    assert abs(shapely.area(t.geometry.to_numpy()).sum() - union.area) / union.area < 1e-6
    # every demand point lies in (or within ~100 m of) the polygon of its township
    poly = t.set_index("name").geometry
    pts = shapely.points(county.demand["lon"], county.demand["lat"])
    own = poly.loc[county.demand["township"]].to_numpy()
    dist_deg = shapely.distance(own, pts)
    assert (dist_deg == 0).mean() > 0.98
    assert dist_deg.max() < 0.001


def test_river_is_crossed_only_by_bridges(county: DemoCounty) -> None:
    net = county.network
    lines = _segment_lines(net)
    crosses = shapely.intersects(lines, county.river)
    np.testing.assert_array_equal(crosses, county.edge_is_bridge)
    bridge_roads = county.roads[county.roads["bridge"]]
    assert 3 <= len(bridge_roads) <= 4


def test_river_separates_the_county(county: DemoCounty) -> None:
    net = county.network
    # sides from the outline cut by the river (independent of the generator's side rule)
    parts = shapely.get_parts(shapely.ops.split(county.outline, county.river))
    assert len(parts) == 2
    side = np.full(net.n_nodes, -1)
    for k, part in enumerate(parts):
        side[shapely.contains_xy(part, net.node_lon, net.node_lat)] = k
    assert (side == 0).sum() > 1000
    assert (side == 1).sum() > 1000
    # with the bridges the network is one piece ...
    lab_all = components(net.n_nodes, net.edge_u, net.edge_v)
    assert len(np.unique(lab_all)) == 1
    # ... without them no piece reaches both banks
    keep = ~county.edge_is_bridge
    lab = components(net.n_nodes, net.edge_u[keep], net.edge_v[keep])
    both = np.intersect1d(lab[side == 0], lab[side == 1])
    assert len(both) == 0


def test_every_village_reaches_the_county_town_by_road(county: DemoCounty) -> None:
    net = county.network
    graph = net.travel_graph(mode=Mode.DRIVE)
    drivable = np.zeros(net.n_nodes, bool)
    ok = graph.edge_allowed
    drivable[net.edge_u[ok]] = True
    drivable[net.edge_v[ok]] = True
    ids = np.flatnonzero(drivable)
    tree = cKDTree(np.column_stack([net.node_x_m[ids], net.node_y_m[ids]]))
    cx, cy = net.to_projected(
        county.stations.loc[county.stations["tier"] == Tier.COUNTY.value, "lon"],
        county.stations.loc[county.stations["tier"] == Tier.COUNTY.value, "lat"],
    )
    town = ids[tree.query([cx[0], cy[0]])[1]]
    vil = county.demand[county.demand["kind"] == "village"]
    vx, vy = net.to_projected(vil["lon"], vil["lat"])
    dist, near = tree.query(np.column_stack([vx, vy]))
    assert dist.max() < 100
    out = csgraph.dijkstra(graph.csr, indices=town)
    back = csgraph.dijkstra(graph.csr.T.tocsr(), indices=town)
    assert np.isfinite(out[ids[near]]).all()
    assert np.isfinite(back[ids[near]]).all()
    # and it takes a believable time: 3 … 90 minutes by car
    assert 3 * 60 < np.median(out[ids[near]]) < 90 * 60


def test_label_and_bad_parameters(county: DemoCounty) -> None:
    assert county.label == "示例县（程序生成数据）"
    with pytest.raises(ConfigError, match="n_townships=1"):
        generate_county(n_townships=1)
    with pytest.raises(ConfigError, match="n_villages"):
        generate_county(n_villages=5)
    with pytest.raises(ConfigError, match="n_nodes"):
        generate_grid_network(n_nodes=10)


# ----------------------------------------------------------------------------- writing


def test_write_demo_round_trip(county: DemoCounty, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    paths = write_demo(out, county=county)
    assert set(paths) == {"roads", "stations", "demand", "townships"}
    assert sorted(p.name for p in out.iterdir()) == ["demand.csv", "roads.gpkg", "stations.csv", "townships.geojson"]
    # CSV with BOM and Chinese headers
    assert paths["stations"].read_bytes().startswith(b"\xef\xbb\xbf")
    st = pd.read_csv(paths["stations"], encoding="utf-8-sig")
    assert list(st.columns) == ["编号", "名称", "层级", "经度", "纬度", "运营单位", "服务项目"]
    assert len(st) == len(county.stations)
    assert [parse_tier(v) for v in st["层级"]] == [Tier(v) for v in county.stations["tier"]]
    np.testing.assert_allclose(st["经度"], county.stations["lon"], atol=1e-6)
    dm = pd.read_csv(paths["demand"], encoding="utf-8-sig")
    assert list(dm.columns) == ["编号", "名称", "人口", "经度", "纬度", "所属乡镇", "类型"]
    assert dm["人口"].sum() == county.demand["population"].sum()
    assert set(dm["类型"]) == {"村", "社区", "企业"}
    tw = pyogrio.read_dataframe(paths["townships"])
    assert sorted(tw["name"]) == sorted(county.townships["name"])
    # overwrite works and leaves no temporary files behind
    write_demo(out, county=county)
    assert len(list(out.iterdir())) == 4


def test_roads_gpkg_rebuilds_the_same_topology(county: DemoCounty, tmp_path: Path) -> None:
    paths = write_demo(tmp_path, county=county)
    roads = pyogrio.read_dataframe(paths["roads"])
    assert {"highway", "oneway", "maxspeed", "name", "geometry"} <= set(roads.columns)
    assert (roads.geometry.geom_type == "LineString").all()
    net = county.network
    # one feature per road polyline, not per segment
    assert len(roads) < net.n_edges / 5
    # independent reconstruction: unique vertices are nodes, consecutive vertices segments
    coords, feat = shapely.get_coordinates(roads.geometry.to_numpy(), return_index=True)
    uniq, node = np.unique(coords, axis=0, return_inverse=True)
    node = node.ravel()
    same = feat[1:] == feat[:-1]
    su, sv = node[:-1][same], node[1:][same]
    assert len(uniq) == net.n_nodes
    assert len(su) == net.n_edges
    # the same segments, with the same one-way directions
    net_xy = np.column_stack([net.node_lon, net.node_lat])
    order = np.lexsort((net_xy[:, 1], net_xy[:, 0]))
    np.testing.assert_array_equal(uniq, net_xy[order])
    to_uniq = np.empty(net.n_nodes, dtype=np.int64)
    to_uniq[order] = np.arange(net.n_nodes)
    n = net.n_nodes
    gp_key = np.sort(np.minimum(su, sv) * n + np.maximum(su, sv))
    nu, nv = to_uniq[net.edge_u], to_uniq[net.edge_v]
    np.testing.assert_array_equal(gp_key, np.sort(np.minimum(nu, nv) * n + np.maximum(nu, nv)))
    seg_oneway = np.repeat(roads["oneway"].to_numpy(dtype=bool), shapely.get_num_points(roads.geometry.to_numpy()) - 1)
    gp_directed = set((su[seg_oneway] * n + sv[seg_oneway]).tolist())
    net_directed = set((nu[net.edge_oneway] * n + nv[net.edge_oneway]).tolist())
    assert gp_directed == net_directed
    # highway classes survive too
    seg_hw = np.repeat(roads["highway"].to_numpy(dtype=object), shapely.get_num_points(roads.geometry.to_numpy()) - 1)
    assert pd.Series(seg_hw).value_counts().to_dict() == pd.Series(net.edge_highway()).value_counts().to_dict()


def test_written_demo_loads_with_the_project_readers(county: DemoCounty, tmp_path: Path) -> None:
    """The files are what a planner would hand over: the project's own readers accept them."""
    from planner.inputs.tables import read_demand, read_stations
    from planner.network.load import load_network

    paths = write_demo(tmp_path, county=county)
    net = load_network(paths["roads"])
    assert (net.n_nodes, net.n_edges) == (county.network.n_nodes, county.network.n_edges)
    assert net.edge_oneway.sum() == county.network.edge_oneway.sum()
    st = read_stations(paths["stations"])
    assert len(st) == len(county.stations)
    assert sorted(map(str, st["tier"])) == sorted(county.stations["tier"])
    dm = read_demand(paths["demand"])
    assert dm["population"].sum() == county.demand["population"].sum()


def test_topology_helpers_split_cut_and_reconnect() -> None:
    """The generator's safety nets: crossings become nodes, river crossings are cut,
    stray pieces are linked to the main piece on their own bank only."""
    from planner.demo import _builder

    river = _builder.River(np.array([-1000.0, 1000.0]), np.array([0.0, 0.0]))  # the x axis; north is y > 0
    b = _builder.Builder()
    rng = np.random.default_rng(0)
    # main road on the north bank (west → east), a north–south road crossing it and the river
    main = b.add_nodes(np.array([[-500.0, 100.0], [0.0, 100.0], [500.0, 100.0]]))
    b.add_road(main, highway="secondary")
    cross = b.add_nodes(np.array([[250.0, 300.0], [250.0, -300.0]]))
    b.add_road(cross, highway="unclassified")
    # a stray piece on the north bank and one on the south bank
    stray_n = b.add_nodes(np.array([[-600.0, 400.0], [-400.0, 420.0]]))
    b.add_road(stray_n, highway="track")
    stray_s = b.add_nodes(np.array([[-300.0, -400.0], [-100.0, -420.0]]))
    b.add_road(stray_s, highway="track")

    assert _builder.planarise(b) == 1  # the crossing road meets the main road at (250, 100)
    x, y = b.xy()
    u, v, _, _ = b.segments()
    mid = np.flatnonzero(np.isclose(x, 250.0) & np.isclose(y, 100.0))
    assert len(mid) == 1
    assert np.bincount(np.concatenate([u, v]))[mid[0]] == 4
    assert _builder.cut_river(b, river) == 1  # (250, 100) → (250, -300) crosses the river
    u, v, _, _ = b.segments()
    assert not shapely.intersects(_builder.segment_geoms(x, y, u, v), river.line).any()

    failed = _builder.connect_orphans(b, river, int(main[0]), rng)
    assert failed == 1  # the south piece cannot be reached without a bridge
    u, v, _, _ = b.segments()
    labels = components(b.n_nodes, u, v)
    assert labels[stray_n[0]] == labels[main[0]]
    assert labels[stray_s[0]] != labels[main[0]]
    x, y = b.xy()
    assert not shapely.intersects(_builder.segment_geoms(x, y, u, v), river.line).any()


def test_write_demo_reports_an_unusable_directory(county: DemoCounty, tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not_a_dir"):
        write_demo(blocker / "demo", county=county)
    # a failed write leaves the previous files intact and no temporary files behind
    out = tmp_path / "ok"
    write_demo(out, county=county)
    before = (out / "stations.csv").read_bytes()
    broken = DemoCounty(**{**county.__dict__, "townships": None})  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        write_demo(out, county=broken)
    assert (out / "stations.csv").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["demand.csv", "roads.gpkg", "stations.csv", "townships.geojson"]
