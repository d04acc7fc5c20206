"""Tests for planner.network.road_layers: GIS road line layers with Chinese road classes."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from shapely.geometry import LineString, MultiLineString, Point

from planner._errors import NetworkError
from planner.network.load import describe_network, load_network, network_to_geodataframe

# ------------------------------------------------------------------- line layers


def _layer(tmp_path: Path, name: str = "roads.gpkg") -> tuple[Path, gpd.GeoDataFrame]:
    """A CGCS2000 / 3-degree Gauss-Kruger CM 117E (EPSG:4548) road layer, metres."""
    x0, y0 = 500000.0, 3130000.0
    rows = [
        # (geometry, 道路等级, 单行, 限速, 名称)
        (LineString([(x0, y0), (x0 + 1000, y0)]), "国道", None, 80, "G320"),
        # shares vertex (x0+1000, y0) up to 4 mm: connects
        (LineString([(x0 + 1000.004, y0), (x0 + 1000, y0 + 500), (x0 + 1000, y0 + 1000)]), "县道", "FT", None, "X1"),
        (LineString([(x0, y0 + 1000), (x0 + 1000, y0 + 1000)]), "支路", "TF", 30, "文化路"),
        # crosses the national road at (x0+500, y0) without a shared vertex: no connection
        (LineString([(x0 + 500, y0 - 300), (x0 + 500, y0 + 300)]), "步行道", None, None, None),
        (
            MultiLineString([[(x0 - 500, y0), (x0 - 200, y0)], [(x0 - 200, y0), (x0, y0)]]),
            "神秘路",
            "1",
            None,
            "多段",
        ),
        (LineString([(x0, y0), (x0, y0 + 1000)]), "高速公路", None, "100 mph", None),
    ]
    gdf = gpd.GeoDataFrame(
        {
            "道路等级": [r[1] for r in rows],
            "单行": [r[2] for r in rows],
            "限速": [None if r[3] is None else str(r[3]) for r in rows],
            "名称": [r[4] for r in rows],
        },
        geometry=[r[0] for r in rows],
        crs="EPSG:4548",
    )
    path = tmp_path / name
    gdf.to_file(path, driver="GPKG" if name.endswith(".gpkg") else None)
    return path, gdf


def test_gpkg_chinese_classes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path, gdf = _layer(tmp_path)
    with caplog.at_level(logging.WARNING, logger="planner.network.road_layers"):
        net = load_network(path)
    assert "神秘路" in caplog.text  # unknown class reported with a count
    assert "1 条线" in caplog.text
    seg = network_to_geodataframe(net)
    # segments: 1 + 2 + 1 + 1 + (1 + 1) + 1 = 8
    assert net.n_edges == 8
    assert seg.groupby("highway").size().to_dict() == {
        "trunk": 1,
        "secondary": 2,
        "residential": 1,
        "footway": 1,
        "unclassified": 2,
        "motorway": 1,
    }
    # distinct vertices: x0,y0 / x0+1000,y0 (merged with +4mm) / x0+1000,y0+500 / x0+1000,y0+1000 /
    # x0,y0+1000 / footway 2 ends / x0-500,y0 / x0-200,y0  -> 9
    assert net.n_nodes == 9
    # node coordinates against an independent projection
    tr = pyproj.Transformer.from_crs("EPSG:4548", "EPSG:4326", always_xy=True)
    lon0, lat0 = tr.transform(500000.0, 3130000.0)
    d = np.hypot(net.node_lon - lon0, net.node_lat - lat0)
    assert d.min() < 1e-9
    # lengths: projected lengths agree (GK CM 117 vs UTM 50N differ by scale < 0.1 %)
    assert seg["length_m"].sum() == pytest.approx(gdf.geometry.length.sum(), rel=1e-3)
    # one-way: FT forward, TF flipped, "1" forward
    sec = seg[seg["highway"] == "secondary"]
    assert sec["oneway"].all()
    res = seg[seg["highway"] == "residential"].iloc[0]
    assert res["oneway"]
    lon_u = net.node_lon[res["u"]]
    lon_v = net.node_lon[res["v"]]
    assert lon_u > lon_v  # TF: travel from the line's end (east) to its start (west)
    assert seg.loc[seg["highway"] == "unclassified", "oneway"].all()
    assert not seg.loc[seg["highway"] == "trunk", "oneway"].any()
    # speeds and names
    assert seg.loc[seg["highway"] == "trunk", "maxspeed_kph"].iloc[0] == 80.0
    assert seg.loc[seg["highway"] == "motorway", "maxspeed_kph"].iloc[0] == pytest.approx(160.9344)
    assert res["name"] == "文化路"
    # connectivity: footway crosses without a shared vertex -> its own piece
    info = describe_network(net)
    assert info["components"] == 2
    assert info["nodes_outside_largest"] == 2


def test_layer_bbox_and_named_layer(tmp_path: Path) -> None:
    path, gdf = _layer(tmp_path)
    full = load_network(path, layer="roads")
    ll = gdf.to_crs("EPSG:4326")
    # keep the west half: x < x0 + 600 m in the layer CRS
    tr = pyproj.Transformer.from_crs("EPSG:4548", "EPSG:4326", always_xy=True)
    east_lon, _ = tr.transform(500600.0, 3130000.0)
    w, s, _, n = ll.total_bounds
    cut = load_network(path, bbox=(w - 0.01, s - 0.01, east_lon, n + 0.01))
    seg = network_to_geodataframe(cut)
    assert cut.n_edges < full.n_edges
    assert (seg.geometry.bounds["maxx"] <= east_lon).all()
    # kept: footway (x0+500), west multiline (2), motorway (x0), top and bottom roads are cut
    assert sorted(seg["highway"]) == ["footway", "motorway", "unclassified", "unclassified"]


def test_geojson_layer_same_as_gpkg(tmp_path: Path) -> None:
    gp, _ = _layer(tmp_path)
    gj, _ = _layer(tmp_path, "roads.geojson")
    a, b = load_network(gp), load_network(gj)
    assert (a.n_nodes, a.n_edges) == (b.n_nodes, b.n_edges)
    assert a.edge_length_m.sum() == pytest.approx(b.edge_length_m.sum(), rel=1e-6)


def test_layer_lonlat_without_crs_and_english_fclass(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gdf = gpd.GeoDataFrame(
        {"fclass": ["primary", "track_grade2"], "oneway": ["T", "B"]},
        geometry=[LineString([(117.2, 28.3), (117.21, 28.3)]), LineString([(117.21, 28.3), (117.21, 28.31)])],
    )
    path = tmp_path / "roads.shp"  # no .prj written: the layer has no CRS
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(path)
    with caplog.at_level(logging.WARNING, logger="planner.network.road_layers"):
        net = load_network(path)
    seg = network_to_geodataframe(net)
    assert list(seg["highway"]) == ["primary", "track"]
    assert list(seg["oneway"]) == [True, False]
    assert net.node_lon[seg["u"].iloc[0]] == pytest.approx(117.21)  # Geofabrik "T": reversed
    assert net.n_nodes == 3
    assert "没有坐标参考系（CRS）" in caplog.text


# ----------------------------------------------------------------------- errors


def test_layer_without_class_column(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"名称": ["a"], "width": [5.0]}, geometry=[LineString([(117.2, 28.3), (117.21, 28.3)])], crs="EPSG:4326"
    )
    p = tmp_path / "noclass.gpkg"
    gdf.to_file(p)
    with pytest.raises(NetworkError, match="名称, width") as exc:
        load_network(p)
    assert "道路等级" in str(exc.value)


def test_layer_of_points_and_missing_layer(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[Point(117.2, 28.3)], crs="EPSG:4326")
    p = tmp_path / "points.gpkg"
    gdf.to_file(p, layer="pts")
    with pytest.raises(NetworkError, match="Point"):
        load_network(p)
    with pytest.raises(NetworkError, match="pts"):
        load_network(p, layer="roads")


def test_layer_projected_without_crs(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[LineString([(500000, 3130000), (501000, 3130000)])])
    p = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(p)
    with pytest.raises(NetworkError, match="CRS"):
        load_network(p)


# ------------------------------------------------------------- zipped shapefiles


@pytest.fixture(scope="module")
def county_roads() -> gpd.GeoDataFrame:
    """The roads of a small demo county (WGS-84), with a Chinese 名称 column as GIS exports carry."""
    from planner.demo.county import generate_county

    roads = generate_county(seed=7, n_townships=4, n_villages=40).roads
    return roads.assign(名称=roads["name"]).drop(columns=["name", "bridge"])


@pytest.mark.parametrize(
    ("epsg", "cpg", "gbk_names"),
    [(4548, "936", False), (4548, None, True), (2384, "GBK", True)],  # CGCS2000 and Xian80 GK CM 117E
)
def test_zipped_shapefile_gives_the_network_of_the_geopackage(
    tmp_path: Path, county_roads: gpd.GeoDataFrame, epsg: int, cpg: str | None, gbk_names: bool
) -> None:
    from tests.data.hostile.archives import shapefile_parts, shapefile_zip

    roads = county_roads.to_crs(epsg)
    gpkg = tmp_path / "roads.gpkg"
    roads.to_file(gpkg, driver="GPKG")
    parts = shapefile_parts(roads, tmp_path / "src", encoding="GBK", cpg=cpg)
    assert b"PROJCS" in parts[".prj"]
    path = shapefile_zip(tmp_path / "县道路.zip", parts, folder="道路数据/", gbk_names=gbk_names)
    a, b = load_network(gpkg), load_network(path)
    assert (b.n_nodes, b.n_edges) == (a.n_nodes, a.n_edges) and b.n_edges > 1000
    np.testing.assert_allclose(b.edge_length_m, a.edge_length_m, rtol=1e-9)
    np.testing.assert_allclose(b.node_lon, a.node_lon, rtol=0, atol=1e-9)
    assert (b.edge_name == a.edge_name).all() and "迎宾街" in set(b.edge_name)  # GBK names read as written
    assert (b.edge_class == a.edge_class).all() and (b.edge_oneway == a.edge_oneway).all()
    assert b.source == "县道路.zip"
    if epsg == 4548:  # CGCS2000 agrees with WGS-84 to centimetres: the .prj was honoured
        ll = county_roads.geometry.get_coordinates()
        assert b.node_lon.min() == pytest.approx(ll["x"].min(), abs=1e-6)
        assert b.node_lat.max() == pytest.approx(ll["y"].max(), abs=1e-6)


def test_zipped_shapefile_without_prj_is_read_as_other_layers_without_crs(
    tmp_path: Path, county_roads: gpd.GeoDataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.data.hostile.archives import shapefile_parts, shapefile_zip

    lonlat = shapefile_parts(county_roads.set_crs(None, allow_override=True), tmp_path / "ll", cpg="GBK")
    assert ".prj" not in lonlat
    with caplog.at_level(logging.WARNING, logger="planner.network.road_layers"):
        net = load_network(shapefile_zip(tmp_path / "roads.zip", lonlat))
    assert "没有坐标参考系（CRS）" in caplog.text  # assumed lon/lat, as for a .shp or GeoJSON without CRS
    assert net.n_edges == load_network(_gpkg(tmp_path, county_roads)).n_edges
    metres = shapefile_parts(county_roads.to_crs(4548).set_crs(None, allow_override=True), tmp_path / "m", cpg="GBK")
    with pytest.raises(NetworkError, match="CRS") as err:
        load_network(shapefile_zip(tmp_path / "metres.zip", metres))
    assert err.value.key == "osm.no_crs" and "metres.zip [道路.shp]" in str(err.value)


def _gpkg(tmp_path: Path, gdf: gpd.GeoDataFrame) -> Path:
    path = tmp_path / "same.gpkg"
    gdf.to_file(path, driver="GPKG")
    return path


def test_hostile_zipped_roads_are_a_network_error(tmp_path: Path, county_roads: gpd.GeoDataFrame) -> None:
    from tests.data.hostile.archives import missing_part_zip, shapefile_parts, traversal_zip

    parts = shapefile_parts(county_roads.to_crs(4548), tmp_path / "src")
    with pytest.raises(NetworkError) as err:
        load_network(traversal_zip(tmp_path / "a.zip", parts))
    assert err.value.key == "inputs.zip.unsafe_path" and "../../逃逸.txt" in str(err.value)
    with pytest.raises(NetworkError) as err:
        load_network(missing_part_zip(tmp_path / "b.zip", parts, missing=".dbf"))
    assert err.value.key == "inputs.zip.missing_part" and "道路.shp" in str(err.value) and ".dbf" in str(err.value)
    assert not (tmp_path.parent / "逃逸.txt").exists()
