"""Tests for planner.demo.province: the generated province, its two input forms and ``planner demo --province``.

Every check is made with an independent computation (shapely point-in-polygon and
nearest-segment queries, SciPy components and nearest neighbours, the project's own
readers on the written files), never with the generator's own bookkeeping columns.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from scipy.spatial import cKDTree

from planner._errors import ConfigError
from planner.cli import main
from planner.demo._common import ORIGIN_LAT, ORIGIN_LON
from planner.demo.province import Province, generate_province, write_province
from planner.inputs.tables import read_table
from planner.network.load import load_network
from planner.network.roads import RoadNetwork
from tests.helpers import components, digest

N_COUNTIES = 4
MIN_NODES, MAX_NODES = 1500, 6000
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module")
def province() -> Province:
    return generate_province(n_counties=N_COUNTIES, seed=7, min_nodes=MIN_NODES, max_nodes=MAX_NODES)


@pytest.fixture(scope="module")
def written(province: Province, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    out = tmp_path_factory.mktemp("province") / "p"
    return out, write_province(out, province=province)


def _utm(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
    x, y = tr.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.column_stack([x, y])


def _county_of(polys: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Row of the polygon containing each point (-1 if none), by shapely alone."""
    out = np.full(len(lon), -1)
    for k, geom in enumerate(polys.geometry):
        inside = shapely.contains_xy(geom, lon, lat)
        assert not (inside & (out >= 0)).any(), "county polygons overlap"
        out[inside] = k
    return out


def _nearest_station_elsewhere(
    d_lon: np.ndarray,
    d_lat: np.ndarray,
    d_county: np.ndarray,
    s_lon: np.ndarray,
    s_lat: np.ndarray,
    s_county: np.ndarray,
) -> int:
    """How many demand points have their nearest station (straight line, metres) in another county."""
    _, j = cKDTree(_utm(s_lon, s_lat)).query(_utm(d_lon, d_lat))
    return int((np.asarray(s_county)[j] != np.asarray(d_county)).sum())


# ----------------------------------------------------------------------------- generation


def test_counties_tile_the_region_from_the_origin_with_sizes_spread_geometrically(province: Province) -> None:
    c = province.counties
    assert list(c["code"]) == [f"9901{k:02d}" for k in range(1, N_COUNTIES + 1)]
    assert c["name"].is_unique and c["name"].str.endswith("县").all()
    metric = c.to_crs("EPSG:32650")
    union = shapely.union_all(metric.geometry.to_numpy())
    assert abs(union.area - metric.area.sum()) < 1e-6 * union.area  # no overlaps
    assert union.geom_type == "Polygon" and not union.interiors  # one region without gaps
    x0, y0 = _utm(np.array([ORIGIN_LON]), np.array([ORIGIN_LAT]))[0]
    assert abs(union.bounds[0] - x0) < 100 and abs(union.bounds[1] - y0) < 100
    for k, geom in enumerate(metric.geometry):  # every county borders another along a line
        shared = [geom.intersection(o).length for j, o in enumerate(metric.geometry) if j != k]
        assert max(shared) > 1000
    # road nodes per county (counted by point in polygon) spread geometrically, shuffled over the codes
    net = province.network
    owner = _county_of(c, net.node_lon, net.node_lat)
    assert (owner >= 0).all()
    n_nodes = np.bincount(owner, minlength=N_COUNTIES)
    np.testing.assert_allclose(np.sort(n_nodes), np.geomspace(MIN_NODES, MAX_NODES, N_COUNTIES), rtol=0.1)
    eight = generate_province(n_counties=8, seed=7, min_nodes=200, max_nodes=2000).counties["n_nodes"].to_numpy()
    assert not (np.all(np.diff(eight) > 0) or np.all(np.diff(eight) < 0))


@pytest.mark.parametrize(("n", "lo", "hi"), [(1, 100, 100), (2, 1000, 100_000), (5, 100, 50_000)])
def test_extreme_sizes_still_give_solid_counties(n: int, lo: int, hi: int) -> None:
    p = generate_province(n_counties=n, seed=1, min_nodes=lo, max_nodes=hi)
    metric = p.counties.to_crs("EPSG:32650")
    union = shapely.union_all(metric.geometry.to_numpy())
    assert abs(union.area - metric.area.sum()) < 1e-6 * union.area
    assert union.geom_type == "Polygon"
    b = metric.bounds
    width, height = (b["maxx"] - b["minx"]).to_numpy(), (b["maxy"] - b["miny"]).to_numpy()
    assert (np.minimum(width, height) >= 300).all()  # no county is a sliver a few roads wide
    assert (np.maximum(width / height, height / width) < 5).all()
    codes = p.counties["code"].to_numpy()
    for frame in (p.demand, p.stations):
        np.testing.assert_array_equal(codes[_county_of(p.counties, frame["lon"], frame["lat"])], frame["county"])
    owner = _county_of(p.counties, p.network.node_lon, p.network.node_lat)
    assert (owner >= 0).all()
    np.testing.assert_allclose(np.sort(np.bincount(owner, minlength=n)), np.geomspace(lo, hi, n), rtol=0.25)


def test_roads_cross_borders_on_main_roads_only(province: Province) -> None:
    net = province.network
    owner = _county_of(province.counties, net.node_lon, net.node_lat)
    hw = net.edge_highway()
    cross = owner[net.edge_u] != owner[net.edge_v]
    assert cross.sum() > 0
    assert set(hw[cross]) == {"primary", "secondary"}
    assert {"tertiary", "residential", "unclassified"} <= set(hw[~cross])
    # every pair of counties with a border of 2 km or more is joined by a road
    metric = province.counties.to_crs("EPSG:32650").geometry.to_numpy()
    pairs = {(min(a, b), max(a, b)) for a, b in zip(owner[net.edge_u][cross], owner[net.edge_v][cross], strict=True)}
    for a in range(N_COUNTIES):
        for b in range(a + 1, N_COUNTIES):
            if metric[a].intersection(metric[b]).length >= 2000:
                assert (a, b) in pairs
    # a perturbed grid with one-way minor lines, gaps, and one dominant piece
    assert 0.01 < net.edge_oneway.mean() < 0.2
    assert not net.edge_oneway[np.isin(hw, ["primary", "secondary", "tertiary"])].any()
    side = np.sqrt(net.n_nodes)
    assert net.n_edges < 2 * side * (side - 1) * 0.99
    assert 60 < np.median(net.edge_length_m) < 140
    sizes = np.bincount(components(net.n_nodes, net.edge_u, net.edge_v))
    assert sizes.max() > 0.95 * net.n_nodes


def test_road_pieces_rebuild_the_network(province: Province) -> None:
    roads, net = province.roads, province.network
    assert list(roads.columns) == ["highway", "oneway", "maxspeed", "name", "county", "geometry"]
    coords, piece = shapely.get_coordinates(roads.geometry.to_numpy(), return_index=True)
    same = piece[1:] == piece[:-1]
    assert same.sum() == net.n_edges  # one segment between consecutive vertices of a piece
    # each piece lies in the county it names (its segments' midpoints)
    mid = (coords[1:][same] + coords[:-1][same]) / 2
    owner = _county_of(province.counties, mid[:, 0], mid[:, 1])
    codes = province.counties["code"].to_numpy()
    np.testing.assert_array_equal(codes[owner], roads["county"].to_numpy()[piece[:-1][same]])
    # one-way pieces run in their direction of travel: the network's directed one-way segments
    key = {(a, b) for a, b in zip(net.node_lon[net.edge_u].round(9), net.node_lon[net.edge_v].round(9), strict=True)}
    ow = roads["oneway"].to_numpy()[piece[:-1][same]]
    first = [
        (a, b) in key for a, b in zip(coords[:-1][same][ow, 0].round(9), coords[1:][same][ow, 0].round(9), strict=True)
    ]
    assert ow.any() and all(first)


def test_demand_and_stations(province: Province) -> None:
    dm, st, c = province.demand, province.stations, province.counties
    assert dm["id"].is_unique and st["id"].is_unique
    assert (dm["id"].str[:6] == dm["county"]).all() and (st["id"].str[:6] == st["county"]).all()
    codes = c["code"].to_numpy()
    np.testing.assert_array_equal(codes[_county_of(c, dm["lon"].to_numpy(), dm["lat"].to_numpy())], dm["county"])
    np.testing.assert_array_equal(codes[_county_of(c, st["lon"].to_numpy(), st["lat"].to_numpy())], st["county"])
    villages = dm[dm["kind"] == "village"]
    assert villages["population"].between(300, 3000).all() and villages["population"].std() > 200
    net = province.network
    owner = _county_of(c, net.node_lon, net.node_lat)
    per_county = villages.groupby("county").size().reindex(codes).to_numpy()
    nodes = np.bincount(owner, minlength=len(codes))
    assert ((per_county >= nodes / 62) & (per_county <= nodes / 38 + 2 * 2)).all()
    tiers = st.groupby(["county", "tier"]).size().unstack(fill_value=0).reindex(codes)
    assert (tiers["county"] == 1).all() and (tiers["township"] >= 2).all()
    assert tiers["enterprise"].sum() >= 1
    assert 0.45 < tiers["village"].sum() / len(villages) < 0.75
    assert (dm[dm["kind"] == "enterprise"].groupby("county").size().reindex(codes) >= 2).all()
    towns = dm.groupby("county")["township"].nunique().reindex(codes)
    assert towns.between(3, 20).all()
    # the demand points lie near roads (nearest segment, metres)
    xy = _utm(dm["lon"].to_numpy(), dm["lat"].to_numpy())
    segs = net.segment_lines()
    _, dist = shapely.STRtree(segs).query_nearest(shapely.points(xy), return_distance=True, all_matches=False)
    assert dist.max() < 120 and np.median(dist) < 60
    # some demand points are served best (straight line) from a station across the county border
    across = _nearest_station_elsewhere(
        dm["lon"].to_numpy(),
        dm["lat"].to_numpy(),
        dm["county"],
        st["lon"].to_numpy(),
        st["lat"].to_numpy(),
        st["county"],
    )
    assert across >= N_COUNTIES


def _net_digest(p: Province) -> str:
    n = p.network
    return digest(n.node_lon, n.node_lat, n.edge_u, n.edge_v, n.edge_class, n.edge_oneway, n.edge_name)


def test_deterministic_for_a_seed(province: Province) -> None:
    again = generate_province(n_counties=N_COUNTIES, seed=7, min_nodes=MIN_NODES, max_nodes=MAX_NODES)
    assert _net_digest(again) == _net_digest(province)
    pd.testing.assert_frame_equal(again.stations, province.stations)
    pd.testing.assert_frame_equal(again.demand, province.demand)
    other = generate_province(n_counties=N_COUNTIES, seed=8, min_nodes=MIN_NODES, max_nodes=MAX_NODES)
    assert _net_digest(other) != _net_digest(province)


def test_generation_is_fast() -> None:
    t0 = time.perf_counter()
    generate_province(n_counties=N_COUNTIES, seed=11, min_nodes=MIN_NODES, max_nodes=MAX_NODES)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_counties": 0}, "n_counties"),
        ({"n_counties": 2, "min_nodes": 50}, "min_nodes"),
        ({"n_counties": 2, "min_nodes": 5000, "max_nodes": 4000}, "max_nodes"),
        ({"n_counties": 2, "min_nodes": 100, "max_nodes": 200_000}, "max_nodes"),
        ({"n_counties": 2, "seed": -1}, "seed"),
    ],
)
def test_bad_parameters(kwargs: dict[str, int], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        generate_province(**kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- files


def test_written_layout_and_manifest(province: Province, written: tuple[Path, dict[str, Path]]) -> None:
    out, paths = written
    codes = list(province.counties["code"])
    expected = {"README.txt", "counties.csv", "province/roads.gpkg", "province/counties.geojson"}
    expected |= {"province/stations.csv", "province/demand.csv"}
    expected |= {f"counties/{c}/{f}" for c in codes for f in ("roads.gpkg", "stations.csv", "demand.csv")}
    found = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert found == expected
    assert {p.relative_to(out).as_posix() for p in paths.values()} == expected
    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert "程序生成" in readme and "generated" in readme and "no real place" in readme
    raw = (out / "counties.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    manifest = pd.read_csv(out / "counties.csv", encoding="utf-8-sig", dtype=str)
    assert list(manifest.columns) == ["县代码", "县名称", "路网文件", "站点文件", "需求文件"]
    assert list(manifest["县代码"]) == codes and list(manifest["县名称"]) == list(province.counties["name"])
    for col, name in (("路网文件", "roads.gpkg"), ("站点文件", "stations.csv"), ("需求文件", "demand.csv")):
        assert list(manifest[col]) == [f"counties/{c}/{name}" for c in codes]
        assert all((out / rel).is_file() for rel in manifest[col])
    polys = gpd.read_file(out / "province" / "counties.geojson")
    assert list(polys["code"]) == codes and list(polys["name"]) == list(province.counties["name"])
    assert [name for name, _ in pyogrio.list_layers(out / "province" / "roads.gpkg")] == ["roads"]
    cols = pyogrio.read_info(out / "province" / "roads.gpkg", layer="roads")["fields"]
    assert list(cols) == ["highway", "oneway", "maxspeed", "name"]


def test_county_road_files_together_are_the_province_road_file(
    province: Province, written: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    out, paths = written
    whole = load_network(paths["roads"])
    assert (whole.n_nodes, whole.n_edges) == (province.network.n_nodes, province.network.n_edges)
    parts = [pyogrio.read_dataframe(out / "counties" / c / "roads.gpkg") for c in province.counties["code"]]
    assert sum(len(p) for p in parts) == len(pyogrio.read_dataframe(paths["roads"]))
    union_file = tmp_path / "union.gpkg"
    pd.concat(parts, ignore_index=True).to_file(union_file, driver="GPKG", layer="roads", engine="pyogrio")
    union = load_network(union_file)
    assert (union.n_nodes, union.n_edges) == (whole.n_nodes, whole.n_edges)
    np.testing.assert_array_equal(np.bincount(union.edge_class), np.bincount(whole.edge_class))
    assert union.edge_oneway.sum() == whole.edge_oneway.sum()
    # the pieces cross borders: some county files share vertices with their neighbours'
    county_nets: list[RoadNetwork] = [
        load_network(out / "counties" / c / "roads.gpkg") for c in province.counties["code"]
    ]
    assert sum(n.n_nodes for n in county_nets) > whole.n_nodes
    assert sum(n.n_edges for n in county_nets) == whole.n_edges


def test_written_sheets_read_back_inside_their_counties(
    province: Province, written: tuple[Path, dict[str, Path]]
) -> None:
    _, paths = written
    polys = gpd.read_file(paths["counties"])
    by_code = dict(zip(polys["code"], polys.geometry, strict=True))
    by_name = dict(zip(polys["name"], polys.geometry, strict=True))
    for kind in ("stations", "demand"):
        rows = 0
        for code in province.counties["code"]:
            frame = read_table(paths[f"{code}/{kind}"], kind=kind).frame
            assert shapely.contains_xy(by_code[code], frame["lon"], frame["lat"]).all()
            rows += len(frame)
        whole = read_table(paths[kind], kind=kind).frame
        assert len(whole) == rows == len(getattr(province, kind))
        assert whole["id"].is_unique
        raw = pd.read_csv(paths[kind], encoding="utf-8-sig", dtype={"编号": str})
        assert raw.columns[-1] == "所属县（市、区）"
        inside = [
            shapely.contains_xy(by_name[n], x, y)
            for n, x, y in zip(raw["所属县（市、区）"], raw["经度"], raw["纬度"], strict=True)
        ]
        assert all(inside)
    dm = read_table(paths["demand"], kind="demand").frame
    st = read_table(paths["stations"], kind="stations").frame
    assert set(dm["kind"]) == {"village", "enterprise"}
    assert set(st["tier"]) == {"county", "township", "village", "enterprise"}
    d_county = _county_of(polys, dm["lon"].to_numpy(), dm["lat"].to_numpy())
    s_county = _county_of(polys, st["lon"].to_numpy(), st["lat"].to_numpy())
    assert (d_county >= 0).all() and (s_county >= 0).all()
    across = _nearest_station_elsewhere(
        dm["lon"].to_numpy(), dm["lat"].to_numpy(), d_county, st["lon"].to_numpy(), st["lat"].to_numpy(), s_county
    )
    assert across >= 1


# ----------------------------------------------------------------------------- command line


def test_cli_writes_a_province_and_names_the_next_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "prov"
    argv = ["demo", "--province", "3", "--min-nodes", "1000", "--max-nodes", "2000", "--seed", "5", "--out", str(out)]
    assert main([*argv, "--lang", "en"]) == 0
    text = capsys.readouterr().out
    manifest = out / "counties.csv"
    assert f"planner batch --manifest {manifest} --out {out / 'results'}" in text
    assert not CJK.search(text)
    assert len(pd.read_csv(manifest, encoding="utf-8-sig")) == 3
    assert (out / "province" / "roads.gpkg").is_file()
    direct = generate_province(n_counties=3, min_nodes=1000, max_nodes=2000, seed=5)
    assert len(pd.read_csv(out / "province" / "demand.csv", encoding="utf-8-sig")) == len(direct.demand)
    assert not (out / "summary.json").exists()  # no coverage run of the demo county


def test_cli_province_options_need_province(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--seed", "3", "--out", str(tmp_path / "x"), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "--province" in err
    assert main(["demo", "--province", "0", "--out", str(tmp_path / "y")]) == 2
    assert "n_counties" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_cli_help_names_the_province_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--lang", "en", "demo", "--help"])
    text = capsys.readouterr().out
    assert "--province" in text and "--min-nodes" in text and "--max-nodes" in text and "--seed" in text
    assert not CJK.search(text)
