"""Tests for planner.inputs.shapezip: zipped shapefile sets, their encodings, and hostile archives."""

from __future__ import annotations

import tempfile
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from shapely.geometry import LineString

from planner._errors import InputError
from planner.inputs import shapezip
from planner.inputs.shapezip import open_shapefile_zip, shapefile_members
from tests.data.hostile.archives import (
    bomb_zip,
    many_members_zip,
    missing_part_zip,
    nested_zip,
    shapefile_parts,
    shapefile_zip,
    traversal_zip,
)

NAMES = ["人民路", "文化路", "G320 国道"]


def _roads() -> gpd.GeoDataFrame:
    """Three roads with Chinese names and classes, in CGCS2000 / 3-degree GK CM 117E (metres)."""
    x0, y0 = 500000.0, 3130000.0
    return gpd.GeoDataFrame(
        {"道路等级": ["县道", "乡道", "国道"], "名称": NAMES},
        geometry=[
            LineString([(x0, y0), (x0 + 1000, y0)]),
            LineString([(x0 + 1000, y0), (x0 + 1000, y0 + 800)]),
            LineString([(x0, y0), (x0, y0 + 500)]),
        ],
        crs="EPSG:4548",
    )


@pytest.fixture
def parts(tmp_path: Path) -> dict[str, bytes]:
    return shapefile_parts(_roads(), tmp_path / "src")


def _read(path: Path, **kwargs: object) -> tuple[shapezip.Shapefile, gpd.GeoDataFrame]:
    with open_shapefile_zip(path, **kwargs) as shp:  # type: ignore[arg-type]
        return shp, pyogrio.read_dataframe(shp.path, encoding=shp.encoding)


@pytest.mark.parametrize("cpg", ["GBK", "936", "ANSI 936", "gb2312", None])
def test_gbk_dbf_with_or_without_cpg(tmp_path: Path, cpg: str | None) -> None:
    parts = shapefile_parts(_roads(), tmp_path / "src", encoding="GBK", cpg=cpg)
    shp, gdf = _read(shapefile_zip(tmp_path / "roads.zip", parts))
    assert shp.encoding == "gb18030"
    assert list(gdf.columns[:2]) == ["道路等级", "名称"]  # field names are GBK too
    assert gdf["名称"].tolist() == NAMES
    assert shp.has_prj and gdf.crs.equals("EPSG:4548")
    assert shp.member == "道路.shp" and shp.file == f"{tmp_path / 'roads.zip'} [道路.shp]"


@pytest.mark.parametrize("cpg", ["UTF-8", "65001", None])
def test_utf8_dbf_with_or_without_cpg(tmp_path: Path, cpg: str | None) -> None:
    parts = shapefile_parts(_roads().rename(columns={"道路等级": "class", "名称": "name"}), tmp_path / "src",
                            encoding="UTF-8", cpg=cpg)  # fmt: skip
    shp, gdf = _read(shapefile_zip(tmp_path / "roads.zip", parts))
    assert shp.encoding == "utf-8"
    assert gdf["name"].tolist() == NAMES


def test_member_names_in_gbk_are_shown_as_written(tmp_path: Path, parts: dict[str, bytes]) -> None:
    path = shapefile_zip(tmp_path / "roads.zip", parts, folder="县路网/", gbk_names=True)
    with zipfile.ZipFile(path) as zf:  # stored without the UTF-8 flag: Python reads CP437
        raw = zf.infolist()[0]
        assert not raw.flag_bits & 0x800 and raw.filename != "县路网/道路.shp"
    shp, gdf = _read(path)
    assert shp.member == "县路网/道路.shp"
    assert gdf["名称"].tolist() == NAMES
    bad = missing_part_zip(tmp_path / "bad.zip", parts, missing=".shx")
    with pytest.raises(InputError) as err, open_shapefile_zip(bad):
        pass
    assert err.value.key == "inputs.zip.missing_part"
    assert err.value.params["member"] == "道路.shp" and err.value.params["part"] == ".shx"


def test_several_sets_are_listed_unless_one_is_named(tmp_path: Path, parts: dict[str, bytes]) -> None:
    extra = {f"乡道{suffix}": data for suffix, data in parts.items()}
    path = shapefile_zip(tmp_path / "roads.zip", parts, extra=extra)
    assert shapefile_members(path) == ["道路.shp", "乡道.shp"]
    with pytest.raises(InputError) as err, open_shapefile_zip(path):
        pass
    assert err.value.key == "inputs.zip.several_shapefiles"
    assert "道路.shp" in str(err.value) and "乡道.shp" in str(err.value)
    for member in ("乡道", "乡道.shp", 1):
        shp, _ = _read(path, member=member)
        assert shp.member == "乡道.shp"
    with pytest.raises(InputError, match="村道") as err, open_shapefile_zip(path, member="村道"):
        pass
    assert err.value.key == "inputs.zip.no_such_member"


def test_macos_resource_forks_are_not_shapefiles(tmp_path: Path, parts: dict[str, bytes]) -> None:
    extra = {"__MACOSX/._道路.shp": b"\x00\x05\x16\x07", "._道路.shp": b"\x00\x05\x16\x07"}
    shp, gdf = _read(shapefile_zip(tmp_path / "roads.zip", parts, extra=extra))
    assert shp.member == "道路.shp" and len(gdf) == 3


def test_dbf_in_neither_utf8_nor_gbk(tmp_path: Path) -> None:
    # Latin-1: "é" followed by the field's space padding is no GBK pair, and no UTF-8
    roads = gpd.GeoDataFrame({"class": ["tertiary"] * 3, "name": ["rue", "café", "x"]}, geometry=_roads().geometry)
    parts = shapefile_parts(roads, tmp_path / "src", encoding="ISO-8859-1", cpg=None)
    with pytest.raises(InputError) as err, open_shapefile_zip(shapefile_zip(tmp_path / "roads.zip", parts)):
        pass
    assert err.value.key == "inputs.zip.bad_encoding"
    assert err.value.params["record"] == 2 and err.value.params["member"] == "道路.shp"
    # the same file read as its .cpg says
    parts[".cpg"] = b"ISO-8859-1"
    shp, gdf = _read(shapefile_zip(tmp_path / "named.zip", parts))
    assert shp.encoding == "iso8859-1" and gdf["name"].tolist() == ["rue", "café", "x"]


# ------------------------------------------------------------------ hostile archives


def _leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("planner-shpzip-*")}


def _not_a_zip(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 cut off after the signature")
    return path


HOSTILE = {
    "path outside (..)": (lambda p, parts: traversal_zip(p, parts), "inputs.zip.unsafe_path"),
    "absolute path": (
        lambda p, parts: traversal_zip(p, parts, member="/tmp/planner-evil.txt"),
        "inputs.zip.unsafe_path",
    ),
    "drive letter": (lambda p, parts: traversal_zip(p, parts, member="C:\\evil.txt"), "inputs.zip.unsafe_path"),
    "backslash ..": (lambda p, parts: traversal_zip(p, parts, member="a\\..\\..\\evil.txt"), "inputs.zip.unsafe_path"),
    "nested zip": (nested_zip, "inputs.zip.nested_archive"),
    "10,000 members": (many_members_zip, "inputs.zip.too_many_members"),
    "zip bomb (ratio)": (lambda p, parts: bomb_zip(p, parts, uncompressed_bytes=64 << 20), "inputs.zip.ratio"),
    "missing .dbf": (missing_part_zip, "inputs.zip.missing_part"),
    "no .shp": (lambda p, parts: missing_part_zip(p, parts, missing=".shp"), "inputs.zip.no_shapefile"),
    "not a zip": (lambda p, parts: _not_a_zip(p), "inputs.zip.unreadable"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_archives_are_refused_quickly(tmp_path: Path, parts: dict[str, bytes], case: str) -> None:
    make, key = HOSTILE[case]
    work = tmp_path / "work"
    work.mkdir()
    path = make(work / "roads.zip", parts)
    before = _leftovers()
    t0 = time.perf_counter()
    with pytest.raises(InputError) as err, open_shapefile_zip(path):
        pass
    assert time.perf_counter() - t0 < 5.0
    assert err.value.key == key
    assert str(path) in str(err.value)
    assert sorted(p.name for p in work.iterdir()) == ["roads.zip"]  # nothing unpacked beside it
    assert not (tmp_path / "逃逸.txt").exists() and not Path("/tmp/planner-evil.txt").exists()
    assert _leftovers() == before


def test_the_total_size_is_checked_before_extracting(
    tmp_path: Path, parts: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = bomb_zip(tmp_path / "roads.zip", parts, uncompressed_bytes=48 << 20)
    monkeypatch.setattr(shapezip, "MAX_ZIP_UNCOMPRESSED_BYTES", 32 << 20)
    monkeypatch.setattr(shapezip, "_extract", _never)
    with pytest.raises(InputError) as err, open_shapefile_zip(path):
        pass
    assert err.value.key == "inputs.zip.too_large"
    assert err.value.params["limit_mb"] == 32.0 and err.value.params["size_mb"] >= 48


def test_sparse_attribute_tables_are_not_taken_for_bombs(tmp_path: Path, parts: dict[str, bytes]) -> None:
    """Records of ten nearly empty 254-character fields compress about 240 times: under the cap, read."""
    records = b"".join(b" " + f"{i:<10d}".encode() + b" " * 2530 for i in range(1000))
    path = shapefile_zip(tmp_path / "roads.zip", parts, extra={"道路.shp.xml": records})
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("道路.shp.xml")
    assert 150 < info.file_size / info.compress_size < shapezip.MAX_ZIP_RATIO
    assert info.file_size >= shapezip.ZIP_RATIO_MIN_BYTES
    assert shapefile_members(path) == ["道路.shp"]


def _never(*args: object, **kwargs: object) -> None:
    raise AssertionError("extracted before the checks")


def test_the_declared_size_bounds_what_is_extracted(tmp_path: Path, parts: dict[str, bytes]) -> None:
    """A central directory that understates a member's size: extraction stops at the stated size and fails."""
    noise = np.random.default_rng(0).bytes(4 << 20)  # incompressible: the ratio check does not fire
    path = shapefile_zip(tmp_path / "roads.zip", {**parts, ".dbf": parts[".dbf"] + noise})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(".dbf"))
    stated = info.file_size
    # patch the uncompressed size (offset 24 of the central directory header) to a tenth
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(info.filename.encode()))
    data[at + 24 : at + 28] = (stated // 10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as err, open_shapefile_zip(path):
        pass
    assert err.value.key == "inputs.zip.unreadable" and "道路.dbf" in str(err.value)
