import errno
import os
import stat
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pytest

from planner._atomic import atomic_output_dir, atomic_path, atomic_write, remove_staging, scratch_dir
from planner._errors import OutputError
from planner.i18n import t
from tests.data.hostile.faults import read_only, small_disk


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


# ------------------------------------------------------------------- faults (issue 14, part 6)


def _old_set(final: Path) -> dict[str, str]:
    final.mkdir()
    (final / "maps").mkdir()
    files = {"a.csv": "old a", "b.csv": "old b", "maps/c.html": "old c", "keep.txt": "keep"}
    for name, text in files.items():
        (final / name).write_text(text, encoding="utf-8")
    return files


def _contents(final: Path) -> dict[str, str]:
    return {str(p.relative_to(final)): p.read_text(encoding="utf-8") for p in final.rglob("*") if p.is_file()}


def _fail_replace(monkeypatch: pytest.MonkeyPatch, *, call: int, error: BaseException) -> None:
    """Make the ``call``-th ``os.replace`` (1-based) raise ``error``; the others move as usual."""
    real_replace = os.replace
    calls = [0]

    def replace(src: Any, dst: Any) -> None:
        calls[0] += 1
        if calls[0] == call:
            raise error
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("failing_call", [1, 2, 3, 4, 5, 6])
def test_a_failed_move_puts_the_whole_previous_set_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_call: int
) -> None:
    final = tmp_path / "out"
    old = _old_set(final)
    _fail_replace(monkeypatch, call=failing_call, error=OSError(errno.EIO, "Input/output error", str(final)))
    with pytest.raises(OutputError) as caught, atomic_output_dir(final) as staging:
        (staging / "maps").mkdir()
        for name in ("a.csv", "b.csv", "maps/c.html", "new.csv"):
            (staging / name).write_text(f"new {name}", encoding="utf-8")
    assert caught.value.params["path"] == str(final)
    assert _contents(final) == old  # the whole previous set, not a mix of two runs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder, no folder of old files


def test_ctrl_c_between_moves_puts_the_previous_set_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    final = tmp_path / "out"
    old = _old_set(final)
    _fail_replace(monkeypatch, call=3, error=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt), atomic_output_dir(final) as staging:
        for name in ("a.csv", "b.csv"):
            (staging / name).write_text("new", encoding="utf-8")
    assert _contents(final) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    ("code", "word"),
    [(errno.ENOSPC, "disk_full"), (errno.EROFS, "read_only"), (errno.EACCES, "permission"), (errno.EFBIG, "too_big")],
)
def test_a_failed_write_is_an_output_error_with_the_reason_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, word: str
) -> None:
    target = tmp_path / "stats.csv"
    target.write_text("old", encoding="utf-8")

    def fsync(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OutputError) as caught, atomic_write(target) as fh:
        fh.write("new")
    err = caught.value
    assert isinstance(err, OSError) and err.key == "fault.cannot_write"
    assert err.params["reason"] == t(f"fault.reason.{word}") and err.params["fix"] == t(f"fault.fix.{word}")
    assert str(target) in str(err)
    assert target.read_text(encoding="utf-8") == "old"
    assert _leftovers(tmp_path) == []


def test_a_gdal_write_on_a_full_disk_is_an_output_error(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": [f"站点{i:05d}" * 4 for i in range(20_000)]},
        geometry=gpd.points_from_xy([116 + i * 1e-5 for i in range(20_000)], [27.0] * 20_000),
        crs="EPSG:4326",
    )
    with small_disk(tmp_path / "disk") as disk:
        target = disk / "coverage.gpkg"
        target.write_bytes(b"old")
        with pytest.raises(OutputError) as caught, atomic_path(target) as tmp:
            pyogrio.write_dataframe(gdf, tmp, layer="x", driver="GPKG")  # GDAL: "Failed to commit transaction"
        assert caught.value.params["reason"] == t("fault.reason.disk_full")
        assert target.read_bytes() == b"old"
        assert [p.name for p in disk.iterdir()] == ["coverage.gpkg"]
        read_only(disk)
        with pytest.raises(OutputError) as caught, atomic_path(target) as tmp:
            pyogrio.write_dataframe(gdf.head(3), tmp, layer="x", driver="GPKG")
        assert caught.value.params["reason"] == t("fault.reason.read_only")
        assert target.read_bytes() == b"old"


def test_a_library_error_on_a_healthy_disk_stays_what_it_is(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="bad layer"), atomic_path(tmp_path / "x.gpkg"):
        raise RuntimeError("bad layer")  # not a write failure: the disk is fine, so no OutputError


def test_remove_staging_removes_what_the_writers_hold(tmp_path: Path) -> None:
    final = tmp_path / "out"
    with atomic_output_dir(final) as staging, atomic_path(tmp_path / "p.gpkg") as tmp, scratch_dir(prefix="t-") as s:
        (staging / "a.csv").write_text("x", encoding="utf-8")
        tmp.write_bytes(b"x")
        removed = remove_staging()  # what a front end does before os._exit
        assert {staging, tmp, s} <= set(removed)
        assert not staging.exists() and not tmp.exists() and not s.exists()
        staging.mkdir()  # let the blocks end normally
        tmp.write_bytes(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "p.gpkg"]
