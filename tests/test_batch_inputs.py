"""planner.batch.inputs: the manifest, the province-wide split, neighbours and task keys.

The counties are three strips of the generated demo county, cut by longitude; expected
values are computed here independently (geopandas extents, pandas row selections,
box distances).
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from planner._errors import InputError
from planner.batch.inputs import make_tasks, read_manifest, roads_bounds
from planner.batch.tasks import BatchSettings, CountyInputs
from planner.settings import TIERS, Config, Tier
from tests.conftest import STRIP_CODES as CODES
from tests.conftest import STRIP_NAMES as NAMES


@pytest.fixture(scope="module")
def demo(demo_strips: dict[str, object]) -> dict[str, object]:
    """The demo county's three strips (:func:`conftest.demo_strips`)."""
    return demo_strips


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
    counties = read_manifest(write_manifest(root / "counties_gbk.csv", manifest_rows(), encoding="gbk"))
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
