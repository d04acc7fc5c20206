"""planner.batch.inputs: the manifest, the province-wide split, neighbours and task keys.

The counties are three strips of the generated demo county, cut by longitude; expected
values are computed here independently (geopandas extents, pandas row selections,
box distances).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner._errors import InputError
from planner.batch.inputs import make_tasks, read_manifest, roads_bounds, split_province
from planner.batch.tasks import BatchSettings, CountyInputs
from planner.demo.county import generate_county, write_demo
from planner.network.load import load_network
from planner.settings import TIERS, Config, Tier

CODES = ("990101", "990102", "990103")
NAMES = ("甲县", "乙县", "丙县")


def strip_of(lon: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Index of the longitude strip each longitude falls in (0, 1, 2)."""
    return np.clip(np.searchsorted(cuts, lon, side="right") - 1, 0, len(cuts) - 2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The demo county written once, plus three strips of it (roads, stations, demand each)."""
    root = tmp_path_factory.mktemp("batch_inputs")
    county = generate_county(n_townships=4, n_villages=40)
    files = write_demo(root / "whole", county=county)
    roads = county.roads
    w, s, e, n = roads.total_bounds
    cuts = np.array([w - 0.01, w + (e - w) / 3, w + 2 * (e - w) / 3, e + 0.01])
    mid = shapely.get_x(shapely.centroid(roads.geometry.to_numpy()))
    demand = pd.read_csv(files["demand"], encoding="utf-8-sig", dtype={"编号": str})
    stations = pd.read_csv(files["stations"], encoding="utf-8-sig", dtype={"编号": str})
    for k, code in enumerate(CODES):
        folder = root / code
        folder.mkdir()
        roads[strip_of(mid, cuts) == k].to_file(folder / "roads.gpkg", layer="roads")
        demand[strip_of(demand["经度"].to_numpy(), cuts) == k].to_csv(folder / "demand.csv", index=False)
        stations[strip_of(stations["经度"].to_numpy(), cuts) == k].to_csv(folder / "stations.csv", index=False)
    polygons = [shapely.box(cuts[k], s - 0.01, cuts[k + 1], n + 0.01) for k in range(3)]
    gpd.GeoDataFrame({"代码": list(CODES), "名称": list(NAMES)}, geometry=polygons, crs=4326).to_file(
        root / "counties.geojson"
    )
    return {"root": root, "files": files, "cuts": cuts, "demand": demand, "stations": stations}


def write_manifest(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8-sig") -> Path:
    pd.DataFrame(rows).to_csv(path, index=False, encoding=encoding)
    return path


def manifest_rows(*, english: bool = False) -> list[dict[str, str]]:
    keys = (
        ("code", "name", "roads", "stations", "demand")
        if english
        else ("县代码", "县名称", "路网文件", "站点文件", "需求文件")
    )
    return [
        dict(zip(keys, (code, name, f"{code}/roads.gpkg", f"{code}/stations.csv", f"{code}/demand.csv"), strict=True))
        for code, name in zip(CODES, NAMES, strict=True)
    ]


# ------------------------------------------------------------------ manifest
def test_manifest_in_gbk_gives_counties_with_their_road_extents(demo: dict[str, object]) -> None:
    root = demo["root"]
    assert isinstance(root, Path)
    counties = read_manifest(write_manifest(root / "counties.csv", manifest_rows(), encoding="gbk"))
    assert [c.code for c in counties] == list(CODES)
    assert [c.name for c in counties] == list(NAMES)
    for c in counties:
        folder = root / c.code
        assert Path(c.roads) == folder / "roads.gpkg"
        assert Path(c.demand) == folder / "demand.csv"
        expected = gpd.read_file(folder / "roads.gpkg").total_bounds
        np.testing.assert_allclose(c.bounds, expected, atol=1e-9)
        assert c.size_bytes == sum((folder / f).stat().st_size for f in ("roads.gpkg", "stations.csv", "demand.csv"))
        assert c.areas is None and c.enterprises is None


def test_manifest_with_english_headers_and_optional_files(demo: dict[str, object]) -> None:
    root = demo["root"]
    assert isinstance(root, Path)
    files = demo["files"]
    assert isinstance(files, dict)
    rows = manifest_rows(english=True)
    rows[1]["areas"] = str(files["townships"])  # absolute path
    rows[0]["areas"] = rows[2]["areas"] = ""
    counties = read_manifest(write_manifest(root / "counties_en.csv", rows))
    assert [c.areas for c in counties] == [None, str(files["townships"]), None]


def test_manifest_problems_are_listed_with_row_and_column(demo: dict[str, object]) -> None:
    root = demo["root"]
    assert isinstance(root, Path)
    rows = manifest_rows()
    rows.append({**rows[0]})  # row 5: duplicate code
    rows[1]["县名称"] = ""  # row 3: empty cell
    rows[2]["需求文件"] = "990103/nowhere.csv"  # row 4: missing file
    with pytest.raises(InputError) as info:
        read_manifest(write_manifest(root / "bad.csv", rows))
    text = info.value.message("en")
    assert "row 3, column '县名称'" in text and "empty" in text
    assert "rows 2, 5, column '县代码'" in text and "990101 appears more than once" in text
    assert "row 4, column '需求文件'" in text and "nowhere.csv" in text


def test_manifest_without_a_required_column_names_it(demo: dict[str, object]) -> None:
    root = demo["root"]
    assert isinstance(root, Path)
    rows = [{k: v for k, v in r.items() if k != "需求文件"} for r in manifest_rows()]
    with pytest.raises(InputError, match="需求文件") as info:
        read_manifest(write_manifest(root / "no_demand.csv", rows))
    assert "demand" in info.value.message("en")


def test_osm_extent_from_the_header_box_else_from_the_nodes(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    lon = 116.0 + rng.random(6) * 0.2
    lat = 27.0 + rng.random(6) * 0.2
    nodes = "".join(
        f'<node id="{i + 1}" version="1" lat="{y:.7f}" lon="{x:.7f}"/>'
        for i, (x, y) in enumerate(zip(lon, lat, strict=True))
    )
    way = '<way id="1" version="1">' + "".join(f'<nd ref="{i + 1}"/>' for i in range(6))
    way += '<tag k="highway" v="residential"/></way>'
    plain = tmp_path / "plain.osm"
    plain.write_text(f'<?xml version="1.0"?><osm version="0.6">{nodes}{way}</osm>', encoding="utf-8")
    np.testing.assert_allclose(roads_bounds(plain), (lon.min(), lat.min(), lon.max(), lat.max()), atol=1e-7)
    boxed = tmp_path / "boxed.osm"
    head = '<bounds minlat="26.5" minlon="115.5" maxlat="27.5" maxlon="116.5"/>'
    boxed.write_text(f'<?xml version="1.0"?><osm version="0.6">{head}{nodes}{way}</osm>', encoding="utf-8")
    assert roads_bounds(boxed) == pytest.approx((115.5, 26.5, 116.5, 27.5))


# ---------------------------------------------------------------- province split
def province_demand(demo: dict[str, object], path: Path) -> tuple[Path, np.ndarray]:
    """The demand sheet with a county column naming some rows' county, against their strip; expected codes."""
    demand = demo["demand"]
    cuts = demo["cuts"]
    assert isinstance(demand, pd.DataFrame) and isinstance(cuts, np.ndarray)
    sheet = demand.copy()
    expected = np.array(CODES, dtype=object)[strip_of(sheet["经度"].to_numpy(), cuts)]
    column = [""] * len(sheet)
    column[0] = NAMES[2]  # a name, against its strip
    column[1] = CODES[1]  # a code
    column[2] = " " + NAMES[0]  # spaces around a name
    sheet["所属县（市、区）"] = column
    expected[0], expected[1], expected[2] = CODES[2], CODES[1], CODES[0]
    sheet.to_csv(path, index=False)
    return path, expected


def test_split_by_county_column_else_by_polygon(demo: dict[str, object], tmp_path: Path) -> None:
    root = demo["root"]
    files = demo["files"]
    stations = demo["stations"]
    cuts = demo["cuts"]
    assert isinstance(root, Path) and isinstance(files, dict) and isinstance(stations, pd.DataFrame)
    assert isinstance(cuts, np.ndarray)
    sheet, expected = province_demand(demo, tmp_path / "demand.csv")
    counties = split_province(
        network=files["roads"],
        counties=root / "counties.geojson",
        stations=files["stations"],
        demand=sheet,
        out_dir=tmp_path / "out",
    )
    assert [c.code for c in counties] == list(CODES)
    assert [c.name for c in counties] == list(NAMES)
    demand = pd.read_csv(sheet, dtype={"编号": str})
    for c in counties:
        assert Path(c.demand) == tmp_path / "out" / "_inputs" / c.code / "demand.csv"
        assert c.roads == str(files["roads"])
        part = pd.read_csv(c.demand, encoding="utf-8-sig", dtype={"编号": str, "所属县（市、区）": str})
        assert list(part.columns) == list(demand.columns)  # the rows as they were
        assert sorted(part["编号"]) == sorted(demand.loc[expected == c.code, "编号"])
        own = pd.read_csv(c.stations, encoding="utf-8-sig", dtype={"编号": str})
        in_strip = strip_of(stations["经度"].to_numpy(), cuts) == CODES.index(c.code)
        assert sorted(own["编号"]) == sorted(stations.loc[in_strip, "编号"])
        box = shapely.from_wkt(c.boundary_wkt)
        assert c.bounds == pytest.approx(shapely.bounds(box).tolist())


def test_split_is_reused_for_the_same_inputs_and_redone_when_one_changes(
    demo: dict[str, object], tmp_path: Path
) -> None:
    root = demo["root"]
    files = demo["files"]
    assert isinstance(root, Path) and isinstance(files, dict)
    sheet, _ = province_demand(demo, tmp_path / "demand.csv")
    kwargs = {"network": files["roads"], "counties": root / "counties.geojson", "stations": files["stations"]}
    first = split_province(**kwargs, demand=sheet, out_dir=tmp_path / "out")
    stamp = Path(first[0].demand).stat().st_mtime_ns
    again = split_province(**kwargs, demand=sheet, out_dir=tmp_path / "out")
    assert again == first
    assert Path(again[0].demand).stat().st_mtime_ns == stamp
    before = len(pd.read_csv(first[2].demand, encoding="utf-8-sig"))
    frame = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    frame = frame[frame["编号"] != frame["编号"].iloc[0]]  # the first row (named 丙县) is gone
    frame.to_csv(sheet, index=False)
    changed = split_province(**kwargs, demand=sheet, out_dir=tmp_path / "out")
    rows = pd.read_csv(changed[2].demand, encoding="utf-8-sig", dtype=str)
    assert len(rows) == before - 1


def test_rows_in_no_county_are_named_in_a_warning_or_refused_when_strict(
    demo: dict[str, object], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = demo["root"]
    files = demo["files"]
    assert isinstance(root, Path) and isinstance(files, dict)
    sheet, _ = province_demand(demo, tmp_path / "demand.csv")
    frame = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    frame.loc[3, "经度"] = "118.5"  # far east of every county: row 5 of the sheet
    frame.loc[4, "所属县（市、区）"] = "丁县"  # no such county: row 6
    frame.to_csv(sheet, index=False)
    kwargs = {"network": files["roads"], "counties": root / "counties.geojson", "stations": files["stations"]}
    with caplog.at_level(logging.WARNING, logger="planner.batch.inputs"):
        counties = split_province(**kwargs, demand=sheet, out_dir=tmp_path / "out")
    assert "2 rows" in caplog.text or "2 行" in caplog.text
    assert "5–6" in caplog.text
    kept = sum(len(pd.read_csv(c.demand, encoding="utf-8-sig")) for c in counties)
    assert kept == len(frame) - 2
    with pytest.raises(InputError) as info:
        split_province(**kwargs, demand=sheet, out_dir=tmp_path / "strict", strict=True)
    assert "5–6" in info.value.message("en") and "county" in info.value.message("en")


def test_an_osm_road_file_is_converted_once_to_a_layer(demo: dict[str, object], tmp_path: Path) -> None:
    root = demo["root"]
    files = demo["files"]
    assert isinstance(root, Path) and isinstance(files, dict)
    # a small grid of ways inside the demo county, one of them one-way
    w, s, e, n = gpd.read_file(root / "counties.geojson").total_bounds
    xs = np.linspace(w + 0.02, e - 0.02, 4)
    ys = np.linspace(s + 0.02, n - 0.02, 3)
    nodes, ways = [], []
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            nodes.append(f'<node id="{j * 10 + i + 1}" version="1" lat="{y:.7f}" lon="{x:.7f}"/>')
        refs = "".join(f'<nd ref="{j * 10 + i + 1}"/>' for i in range(len(xs)))
        oneway = '<tag k="oneway" v="yes"/>' if j == 0 else ""
        ways.append(f'<way id="{j + 1}" version="1">{refs}<tag k="highway" v="secondary"/>{oneway}</way>')
    osm = tmp_path / "province.osm"
    osm.write_text(f'<?xml version="1.0"?><osm version="0.6">{"".join(nodes)}{"".join(ways)}</osm>', encoding="utf-8")
    counties = split_province(
        network=osm,
        counties=root / "counties.geojson",
        stations=files["stations"],
        demand=files["demand"],
        out_dir=tmp_path / "out",
    )
    layer = tmp_path / "out" / "_inputs" / "roads.gpkg"
    assert {c.roads for c in counties} == {str(layer)}
    a, b = load_network(osm), load_network(layer)
    assert (a.n_nodes, a.n_edges) == (b.n_nodes, b.n_edges)
    assert b.edge_length_m.sum() == pytest.approx(a.edge_length_m.sum(), rel=1e-9)
    assert int(b.edge_oneway.sum()) == int(a.edge_oneway.sum()) == len(xs) - 1


# ------------------------------------------------------------------ tasks
def box_gap_m(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Distance between two lon/lat boxes in metres (equirectangular, at the higher latitude)."""
    dx = max(b[0] - a[2], a[0] - b[2], 0.0)
    dy = max(b[1] - a[3], a[1] - b[3], 0.0)
    lat = math.radians(max(abs(a[1]), abs(a[3]), abs(b[1]), abs(b[3])))
    return math.hypot(dx * 111_320.0 * math.cos(lat), dy * 111_320.0)


def test_neighbours_are_the_counties_within_the_halo_and_keys_follow_their_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    counties = []
    for k in range(8):
        folder = tmp_path / f"c{k}"
        folder.mkdir()
        for name in ("roads.gpkg", "stations.csv", "demand.csv"):
            (folder / name).write_bytes(rng.bytes(64))
        x, y = 116.0 + rng.random() * 1.0, 27.0 + rng.random() * 1.0
        counties.append(
            CountyInputs(
                code=f"{k:02d}",
                name=f"c{k}",
                roads=str(folder / "roads.gpkg"),
                stations=str(folder / "stations.csv"),
                demand=str(folder / "demand.csv"),
                bounds=(x, y, x + 0.1, y + 0.1),
            )
        )
    settings = BatchSettings(config=Config(), tiers=TIERS)
    halo = 20_000.0
    tasks = make_tasks(counties, settings=settings, out_dir=tmp_path / "out", halo_m=halo)
    pairs = 0
    for i, task in enumerate(tasks):
        expected = {
            c.code for j, c in enumerate(counties) if j != i and box_gap_m(c.bounds, counties[i].bounds) <= halo
        }
        assert {c.code for c in task.neighbours} == expected
        pairs += len(expected)
        assert Path(task.out_dir) == tmp_path / "out" / "counties" / counties[i].code
    assert 0 < pairs < 8 * 7  # some neighbours, not all
    again = make_tasks(counties, settings=settings, out_dir=tmp_path / "out", halo_m=halo)
    assert [x.key for x in again] == [x.key for x in tasks]
    # a change in one county's demand file changes its key and its neighbours', no other
    victim = next(i for i, x in enumerate(tasks) if x.neighbours)
    Path(counties[victim].demand).write_bytes(rng.bytes(64))
    changed = make_tasks(counties, settings=settings, out_dir=tmp_path / "out", halo_m=halo)
    near = {victim} | {j for j, x in enumerate(tasks) if counties[victim] in x.neighbours}
    assert {i for i in range(8) if changed[i].key != tasks[i].key} == near
    # other standards change every key
    stricter = BatchSettings(config=Config().with_overrides(tier=Tier.VILLAGE, minutes=10), tiers=TIERS)
    other = make_tasks(counties, settings=stricter, out_dir=tmp_path / "out", halo_m=halo)
    assert all(a.key != b.key for a, b in zip(other, changed, strict=True))
