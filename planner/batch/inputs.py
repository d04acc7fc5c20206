"""The counties of a batch run, from a manifest or from province-wide files, and their tasks.

Two input forms end in the same ``list[CountyInputs]``:

- **A manifest** (:func:`read_manifest`): a CSV (or XLSX) with one row per county and
  its files, paths relative to the manifest's folder. Headers in Chinese or English
  (:data:`MANIFEST_COLUMNS`). A county's extent is its road file's
  (:func:`roads_bounds`).
- **Province-wide files** (:func:`planner.batch.split.split_province`): one road file, the county boundary
  polygons, and the province's station and demand sheets. Each row's county comes from
  its 所属县（市、区） column (a county's name or code), else from the polygon it falls
  in; the rows of each county are written unchanged to ``OUT/_inputs/<code>/`` and every
  county reads the province's road file by bounding box (an OSM file is converted once
  to ``OUT/_inputs/roads.gpkg``). The split is skipped when it exists for the same inputs.

:func:`make_tasks` turns the counties into :class:`~planner.batch.tasks.CountyTask`: the
neighbours whose extent comes within the widest halo, the output folder, and a key over
the contents of the county's and its neighbours' files and the settings (a rerun skips a
county whose ``done.json`` holds the same key).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner._errors import NetworkError
from planner.batch.halo import M_PER_DEG_LAT, M_PER_DEG_LON_EQUATOR
from planner.batch.tasks import BatchSettings, CountyInputs, CountyTask
from planner.inputs._decode import _load
from planner.inputs._validate import ColumnSpec, ProblemLog
from planner.inputs.limits import CLI_LIMITS, Limits
from planner.network.osm import OSM_SUFFIXES
from planner.network.road_layers import LAYER_SUFFIXES

logger = logging.getLogger(__name__)

__all__ = [
    "CODE_ALIASES",
    "KEY_VERSION",
    "MANIFEST_COLUMNS",
    "NAME_ALIASES",
    "check_roads_file",
    "digest_json",
    "file_digest",
    "halo_width_m",
    "is_osm",
    "is_roads_file",
    "make_tasks",
    "read_manifest",
    "report_duplicate_codes",
    "roads_bounds",
    "safe_code",
]

CODE_ALIASES = ("县代码", "代码", "行政区划代码", "区划代码", "code")
NAME_ALIASES = ("县名称", "名称", "name")

#: Columns of a manifest (one row per county; file paths relative to the manifest's folder).
MANIFEST_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("code", CODE_ALIASES, required=True),
    ColumnSpec("name", NAME_ALIASES, required=True),
    ColumnSpec("roads", ("路网文件", "路网", "roads"), required=True),
    ColumnSpec("stations", ("站点文件", "站点", "stations"), required=True),
    ColumnSpec("demand", ("需求文件", "需求", "demand"), required=True),
    ColumnSpec("areas", ("乡镇范围文件", "乡镇范围", "areas")),
    ColumnSpec("enterprises", ("企业文件", "企业", "enterprises")),
)

#: Bumped when the meaning of a task key changes (old outputs are then recomputed).
KEY_VERSION = 1
_CHUNK_BYTES = 1 << 20

#: File digests of this process, by (path, size, mtime): each file is hashed once per run.
_DIGESTS: dict[tuple[str, int, int], str] = {}


# ============================================================================ files
def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's contents, computed once per process for the same path, size and mtime."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    hit = _DIGESTS.get(key)
    if hit is None:
        h = hashlib.sha256()
        with p.open("rb") as fh:
            while chunk := fh.read(_CHUNK_BYTES):
                h.update(chunk)
        hit = _DIGESTS[key] = h.hexdigest()
    return hit


def is_roads_file(path: Path) -> bool:
    """True for a file whose name says it holds roads (OSM or a line layer)."""
    return path.name.lower().endswith(OSM_SUFFIXES + LAYER_SUFFIXES)


def check_roads_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, when it names an existing road file.

    Raises
    ------
    NetworkError
        Not a road file's name (``osm.unsupported_format``), or no such file.
    """
    p = Path(path)
    if not is_roads_file(p):
        raise NetworkError(
            "osm.unsupported_format",
            file=str(p),
            osm_formats=", ".join(OSM_SUFFIXES),
            layer_formats=", ".join(LAYER_SUFFIXES),
        )
    if not p.is_file():
        raise NetworkError("osm.file_missing", file=str(p))
    return p


def is_osm(path: Path) -> bool:
    """True for an OSM file (by its name)."""
    return path.name.lower().endswith(OSM_SUFFIXES)


def roads_bounds(path: str | os.PathLike[str]) -> tuple[float, float, float, float]:
    """The extent ``(min lon, min lat, max lon, max lat)`` of a road file in WGS-84.

    A line layer's extent from its header (pyogrio), reprojected when the layer is not in
    WGS-84; an OSM file's from its header box, else from one pass over its nodes.

    Raises
    ------
    NetworkError
        A missing, unreadable or unsupported file, or one without roads.
    """
    p = check_roads_file(path)
    box = _osm_bounds(p) if is_osm(p) else _layer_bounds(p)
    if not all(math.isfinite(x) for x in box) or box[0] > box[2] or box[1] > box[3]:
        raise NetworkError("batch.no_extent", file=str(p))
    return box


def _osm_bounds(path: Path) -> tuple[float, float, float, float]:
    import osmium

    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            header_box = reader.header().box()
        finally:
            reader.close()
        if header_box.valid():
            bl, tr = header_box.bottom_left, header_box.top_right
            return (float(bl.lon), float(bl.lat), float(tr.lon), float(tr.lat))
        w = s = math.inf
        e = n = -math.inf
        for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
            if not isinstance(node, osmium.osm.Node):
                continue
            loc = node.location
            if loc.valid():
                x, y = loc.lon, loc.lat
                w, e = min(w, x), max(e, x)
                s, n = min(s, y), max(n, y)
    except (RuntimeError, OSError, ValueError) as exc:
        raise NetworkError("osm.unreadable", file=str(path), error=str(exc)) from exc
    return (w, s, e, n)


def _layer_bounds(path: Path) -> tuple[float, float, float, float]:
    import pyogrio

    if path.suffix.lower() == ".zip":
        from planner.inputs.shapezip import open_shapefile_zip

        with open_shapefile_zip(path, member=None, error=NetworkError) as shp:
            return _layer_bounds(Path(shp.path))
    try:
        info = pyogrio.read_info(path, force_total_bounds=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as exc:
        raise NetworkError("osm.unreadable", file=str(path), error=str(exc)) from exc
    w, s, e, n = (float(x) for x in info["total_bounds"])
    crs = info.get("crs")
    if crs:
        import pyproj

        src = pyproj.CRS.from_user_input(crs)
        if not src.equals(pyproj.CRS.from_epsg(4326)):
            tf = pyproj.Transformer.from_crs(src, 4326, always_xy=True)
            w, s, e, n = (float(x) for x in tf.transform_bounds(w, s, e, n))
    return (w, s, e, n)


# ========================================================================= manifest
def report_duplicate_codes(log: ProblemLog, *, codes: Sequence[str], rows: Sequence[Any], column: str) -> None:
    """Add to ``log`` every county code used on more than one row (empty codes are reported elsewhere)."""
    seen: dict[str, list[int]] = {}
    for code, row in zip(codes, rows, strict=True):
        if code:
            seen.setdefault(code, []).append(int(row))
    for code, where in seen.items():
        if len(where) > 1:
            log.add_rows("batch.manifest.duplicate_code", rows=where, column=column, code=code)


def read_manifest(path: str | os.PathLike[str], *, limits: Limits = CLI_LIMITS) -> list[CountyInputs]:
    """The counties of a manifest: one row per county with its code, name and files.

    Parameters
    ----------
    path
        CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX with the headers of :data:`MANIFEST_COLUMNS`
        (县代码/code, 县名称/name, 路网文件/roads, 站点文件/stations, 需求文件/demand, and
        optionally 乡镇范围文件/areas, 企业文件/enterprises). File paths may be relative to
        the manifest's folder.
    limits
        Limits on reading the manifest (:mod:`planner.inputs.limits`).

    Returns
    -------
    list of CountyInputs
        In the manifest's order; ``bounds`` from each road file (:func:`roads_bounds`),
        ``size_bytes`` the total size of the county's files.

    Raises
    ------
    InputError
        Listing every problem: missing columns, empty cells, duplicate codes, files that
        do not exist or are not road files, each with its row and column.
    NetworkError
        A road file whose extent cannot be read.
    """
    table, found, log = _load(Path(path), MANIFEST_COLUMNS, coords="wgs84", sheet=None, limits=limits, kind="stations")
    log.raise_if_any()  # missing columns, no rows: nothing else can be checked
    folder = Path(path).resolve().parent
    rows = table.row_numbers
    header = {name: table.headers[pos] for name, pos in found.items()}
    cells = {name: table.column(pos).to_numpy(dtype=object) for name, pos in found.items()}
    for name in ("code", "name", "roads", "stations", "demand"):
        empty = [int(r) for r, x in zip(rows, cells[name], strict=True) if not str(x).strip()]
        if empty:
            log.add_rows("batch.manifest.empty_cell", rows=empty, column=header[name])
    codes = [str(x).strip() for x in cells["code"]]
    report_duplicate_codes(log, codes=codes, rows=list(rows), column=header["code"])
    resolved: dict[str, list[Path | None]] = {}
    for role in ("roads", "stations", "demand", "areas", "enterprises"):
        resolved[role] = []
        for i in range(table.n_rows):
            text = str(cells[role][i]).strip() if role in cells else ""
            if not text:
                resolved[role].append(None)
                continue
            p = Path(text) if Path(text).is_absolute() else folder / text
            resolved[role].append(p)
            if not p.is_file():
                log.add("batch.manifest.missing_file", row=int(rows[i]), column=header[role], path=str(p))
            elif role == "roads" and not is_roads_file(p):
                log.add(
                    "batch.manifest.not_roads",
                    row=int(rows[i]),
                    column=header[role],
                    path=str(p),
                    formats=", ".join(OSM_SUFFIXES + LAYER_SUFFIXES),
                )
    log.raise_if_any()
    out = []
    for i in range(table.n_rows):
        files = {role: resolved[role][i] for role in resolved}
        roads, stations, demand = files["roads"], files["stations"], files["demand"]
        assert roads is not None and stations is not None and demand is not None  # empty cells were refused
        out.append(
            CountyInputs(
                code=codes[i],
                name=str(cells["name"][i]).strip(),
                roads=str(roads),
                stations=str(stations),
                demand=str(demand),
                bounds=roads_bounds(roads),
                areas=_opt(files["areas"]),
                enterprises=_opt(files["enterprises"]),
                size_bytes=sum(p.stat().st_size for p in files.values() if p is not None),
            )
        )
    logger.info("%s: %d counties", path, len(out))
    return out


def _opt(path: Path | None) -> str | None:
    return None if path is None else str(path)


def safe_code(code: str) -> str:
    """A county code as a folder name (codes are digits; anything else is replaced)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in code) or "_"


# ============================================================================ tasks
def halo_width_m(settings: BatchSettings) -> float:
    """How far a county task may read beyond its extent (metres): its widest ring after every widening.

    :func:`planner.batch.halo.widest_halo_m` of the run's standards, tiers, ``halo_factor``
    and ``max_widen``: counties whose extent comes this close are a county's neighbours.
    """
    from planner.batch.halo import widest_halo_m

    return widest_halo_m(settings.config, settings.tiers, factor=settings.halo_factor, max_widen=settings.max_widen)


def _near(bounds: NDArray[np.float64], *, halo_m: float) -> NDArray[np.bool_]:
    """``near[i, j]``: county ``j``'s extent comes within ``halo_m`` of county ``i``'s.

    The gap between two boxes in metres, a degree of longitude taken at the higher
    latitude of the two (the shorter: a neighbour is never missed).
    """
    w, s, e, n = (bounds[:, k] for k in range(4))
    dx_deg = np.maximum(np.maximum(w[None, :] - e[:, None], w[:, None] - e[None, :]), 0.0)
    dy_deg = np.maximum(np.maximum(s[None, :] - n[:, None], s[:, None] - n[None, :]), 0.0)
    top = np.maximum(np.abs(s), np.abs(n))
    cos_lat = np.cos(np.radians(np.maximum(top[:, None], top[None, :])))
    gap_m = np.hypot(dx_deg * M_PER_DEG_LON_EQUATOR * cos_lat, dy_deg * M_PER_DEG_LAT)
    near = gap_m <= halo_m
    np.fill_diagonal(near, False)
    return np.asarray(near, dtype=bool)


def _files(county: CountyInputs) -> dict[str, str]:
    paths = {
        "roads": county.roads,
        "stations": county.stations,
        "demand": county.demand,
        "areas": county.areas,
        "enterprises": county.enterprises,
    }
    return {role: file_digest(p) for role, p in paths.items() if p}


def settings_record(settings: BatchSettings) -> dict[str, Any]:
    """The settings as JSON-friendly values (part of every task key)."""
    out: dict[str, Any] = {"config": settings.config.to_dict(), "tiers": [str(x) for x in settings.tiers]}
    for f in dataclasses.fields(settings):
        if f.name not in out:
            out[f.name] = getattr(settings, f.name)
    return out


def digest_json(value: Any) -> str:
    """SHA-256 of ``value`` as canonical JSON (keys sorted)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_tasks(
    counties: Sequence[CountyInputs],
    *,
    settings: BatchSettings,
    out_dir: str | os.PathLike[str],
    halo_m: float | None = None,
) -> list[CountyTask]:
    """One task per county: its neighbours within the halo, its output folder and its key.

    Parameters
    ----------
    counties
        The counties (:func:`read_manifest` or :func:`split_province`).
    settings
        The run's settings (part of the key).
    out_dir
        The batch's output folder; county ``c`` writes to ``out_dir/counties/<c.code>``.
    halo_m
        Neighbours are counties whose extent comes within this many metres; default
        :func:`halo_width_m`.

    Returns
    -------
    list of CountyTask
        In the order of ``counties``. ``key`` is a SHA-256 over the contents of the
        county's and its neighbours' files (each file hashed once), the settings and the
        halo width.
    """
    width = halo_width_m(settings) if halo_m is None else float(halo_m)
    box = np.array([c.bounds for c in counties], dtype=np.float64).reshape(-1, 4)
    near = _near(box, halo_m=width)
    digests = [_files(c) for c in counties]
    record = settings_record(settings)
    root = Path(out_dir) / "counties"
    tasks = []
    for i, county in enumerate(counties):
        nb = [int(j) for j in np.flatnonzero(near[i])]
        key = digest_json(
            {
                "version": KEY_VERSION,
                "county": {"code": county.code, "name": county.name, "files": digests[i]},
                "neighbours": [{"code": counties[j].code, "files": digests[j]} for j in nb],
                "settings": record,
                "halo_m": width,
            }
        )
        tasks.append(
            CountyTask(
                county=county,
                neighbours=tuple(counties[j] for j in nb),
                out_dir=str(root / safe_code(county.code)),
                key=key,
            )
        )
    return tasks
