"""Zipped shapefiles, friendly and hostile, written into a temporary folder.

:func:`shapefile_zip` zips a GeoDataFrame as a shapefile set the way Chinese GIS software
does (``.dbf`` in GBK, with or without a ``.cpg``, member names in GBK without the zip's
UTF-8 flag). The hostile generators add one fault each to a good set: a member path
outside the archive, an archive inside, thousands of tiny members, a zip bomb of zeros,
a missing part. Every generator writes one ``.zip`` and returns its path; nothing large
is kept in the repository.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd

#: The parts of a shapefile set, in the order they are zipped.
PARTS: tuple[str, ...] = (".shp", ".shx", ".dbf", ".prj", ".cpg")


class _GbkNamed(zipfile.ZipInfo):
    """A member whose name is stored in GBK without the UTF-8 flag (as Chinese Windows zip tools do)."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def _add(zf: zipfile.ZipFile, name: str, data: bytes, *, gbk_names: bool) -> None:
    info = _GbkNamed(name) if gbk_names else zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def shapefile_parts(
    gdf: gpd.GeoDataFrame, folder: Path, *, stem: str = "道路", encoding: str = "GBK", cpg: str | None = "GBK"
) -> dict[str, bytes]:
    """The bytes of ``gdf`` written as a shapefile set, by part suffix.

    ``encoding`` is the ``.dbf`` text encoding; ``cpg`` the ``.cpg`` text (None: no
    ``.cpg``). A GeoDataFrame without a CRS gives a set without ``.prj``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        if gdf.crs is None:  # a set without .prj is what is asked for
            warnings.filterwarnings("ignore", message="'crs' was not provided", category=UserWarning)
        gdf.to_file(folder / f"{stem}.shp", encoding=encoding, engine="pyogrio")
    parts = {
        suffix: (folder / f"{stem}{suffix}").read_bytes() for suffix in PARTS if (folder / f"{stem}{suffix}").exists()
    }
    parts.pop(".cpg", None)
    if cpg is not None:
        parts[".cpg"] = cpg.encode("ascii")
    return parts


def shapefile_zip(
    path: Path,
    parts: dict[str, bytes],
    *,
    stem: str = "道路",
    folder: str = "",
    gbk_names: bool = False,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Zip a shapefile set (``parts`` from :func:`shapefile_parts`) as ``folder/stem.*``, plus ``extra`` members."""
    with zipfile.ZipFile(path, "w") as zf:
        for suffix, data in parts.items():
            _add(zf, f"{folder}{stem}{suffix}", data, gbk_names=gbk_names)
        for name, data in (extra or {}).items():
            _add(zf, name, data, gbk_names=gbk_names)
    return path


def traversal_zip(path: Path, parts: dict[str, bytes], *, member: str = "../../逃逸.txt") -> Path:
    """A good set plus a member whose path leads outside the folder it is unpacked to."""
    return shapefile_zip(path, parts, extra={member: b"written outside"})


def nested_zip(path: Path, parts: dict[str, bytes]) -> Path:
    """A good set plus an archive inside the archive."""
    inner = path.with_name(f"inner-{path.name}")
    shapefile_zip(inner, parts)
    data = inner.read_bytes()
    inner.unlink()
    return shapefile_zip(path, parts, extra={"备份/道路.zip": data})


def many_members_zip(path: Path, parts: dict[str, bytes], *, count: int = 10_000) -> Path:
    """A good set plus ``count`` tiny members."""
    return shapefile_zip(path, parts, extra={f"tiles/{i:05d}.txt": b"x" for i in range(count)})


def bomb_zip(path: Path, parts: dict[str, bytes], *, uncompressed_bytes: int, chunk_bytes: int = 1 << 24) -> Path:
    """A good ``.shp``/``.shx`` with a ``.dbf`` of ``uncompressed_bytes`` zeros (compressed about 1000 times).

    Written as a stream in chunks, so memory stays at one chunk whatever the size.
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for suffix in (".shp", ".shx"):
            _add(zf, f"道路{suffix}", parts[suffix], gbk_names=False)
        with zf.open("道路.dbf", "w", force_zip64=True) as fh:
            zeros = bytes(min(chunk_bytes, uncompressed_bytes))
            left = uncompressed_bytes
            while left > 0:
                fh.write(zeros[: min(left, len(zeros))])
                left -= len(zeros)
    return path


def missing_part_zip(path: Path, parts: dict[str, bytes], *, missing: str = ".dbf") -> Path:
    """A set without one of its parts."""
    return shapefile_zip(path, {s: d for s, d in parts.items() if s != missing})
