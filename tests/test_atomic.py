import os
import stat
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from planner._atomic import atomic_output_dir, atomic_path, atomic_write


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_atomic_write_text_creates_file(tmp_path: Path) -> None:
    target = tmp_path / "统计.csv"
    with atomic_write(target, encoding="utf-8-sig") as fh:
        fh.write("名称,人口\n")
        assert not target.exists()  # nothing visible before the block ends
    assert target.read_bytes() == "名称,人口\n".encode("utf-8-sig")
    assert _leftovers(tmp_path) == []


def test_atomic_write_binary_replaces_existing(tmp_path: Path) -> None:
    target = tmp_path / "map.png"
    target.write_bytes(b"old")
    with atomic_write(target, mode="wb") as fh:
        fh.write(b"\x89PNG new")
        assert target.read_bytes() == b"old"
    assert target.read_bytes() == b"\x89PNG new"


def test_atomic_write_error_keeps_old_file_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError, match="boom"), atomic_write(target) as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old"
    assert _leftovers(tmp_path) == []


def test_atomic_write_gets_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.txt") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_atomic_write_rejects_other_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode"):
        atomic_write(tmp_path / "a.txt", mode="a")  # type: ignore[call-overload]


def test_atomic_output_dir_moves_files_and_replaces(tmp_path: Path) -> None:
    final = tmp_path / "out"
    final.mkdir()
    (final / "keep.txt").write_text("keep", encoding="utf-8")
    (final / "stats.csv").write_text("old", encoding="utf-8")
    with atomic_output_dir(final) as staging:
        assert staging.parent == tmp_path and staging != final
        (staging / "stats.csv").write_text("new", encoding="utf-8")
        (staging / "maps").mkdir()
        (staging / "maps" / "a.html").write_text("<html/>", encoding="utf-8")
        assert (final / "stats.csv").read_text(encoding="utf-8") == "old"
    assert (final / "stats.csv").read_text(encoding="utf-8") == "new"
    assert (final / "keep.txt").read_text(encoding="utf-8") == "keep"
    assert (final / "maps" / "a.html").read_text(encoding="utf-8") == "<html/>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_output_dir_creates_missing_final(tmp_path: Path) -> None:
    final = tmp_path / "a" / "b"
    with atomic_output_dir(final) as staging:
        (staging / "x.txt").write_text("1", encoding="utf-8")
    assert (final / "x.txt").read_text(encoding="utf-8") == "1"


def test_atomic_output_dir_error_leaves_final_untouched(tmp_path: Path) -> None:
    final = tmp_path / "out"
    final.mkdir()
    (final / "stats.csv").write_text("old", encoding="utf-8")
    with pytest.raises(KeyError), atomic_output_dir(final) as staging:
        (staging / "stats.csv").write_text("new", encoding="utf-8")
        (staging / "extra.csv").write_text("x", encoding="utf-8")
        raise KeyError("fail")
    assert sorted(p.name for p in final.iterdir()) == ["stats.csv"]
    assert (final / "stats.csv").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_path_replaces_on_success_and_keeps_the_old_file_on_failure(tmp_path) -> None:
    target = tmp_path / "项目.gpkg"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.suffix == ".gpkg" and tmp.parent == tmp_path
        tmp.write_bytes(b"half")
        raise RuntimeError("writer failed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["项目.gpkg"]  # no temporary file or journal left
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=gpd.points_from_xy([116.0], [27.0]), crs="EPSG:4326")
    with atomic_path(target) as tmp:
        pyogrio.write_dataframe(gdf, tmp, layer="x", driver="GPKG")
    assert pyogrio.read_dataframe(target, layer="x")["a"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["项目.gpkg"]
