"""The counties of a batch run, from a manifest or from province-wide files, and their tasks.

Two input forms end in the same ``list[CountyInputs]``:

- **A manifest** (:func:`read_manifest`): a CSV (or XLSX) with one row per county and
  its files, paths relative to the manifest's folder. Headers in Chinese or English
  (:data:`MANIFEST_COLUMNS`). A county's extent is its road file's
  (:func:`roads_bounds`).
- **Province-wide files** (:func:`split_province`): one road file, the county boundary
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
import pandas as pd
from numpy.typing import NDArray

from planner._atomic import atomic_path, atomic_write
from planner._errors import InputError, NetworkError
from planner._text import csv_bytes
from planner.batch.tasks import BatchSettings, CountyInputs, CountyTask
from planner.i18n import t
from planner.inputs._decode import _cell, _load
from planner.inputs._validate import ColumnSpec, InputProblemsError, ProblemLog, header_field, normalise_header
from planner.inputs.limits import CLI_LIMITS, Limits, check_geopackage
from planner.inputs.tables import DEMAND_COLUMNS, ENTERPRISE_COLUMNS, STATION_COLUMNS, read_table
from planner.network.osm import OSM_SUFFIXES
from planner.network.road_layers import LAYER_SUFFIXES

logger = logging.getLogger(__name__)

__all__ = [
    "BOUNDARY_COLUMNS",
    "COUNTY_COLUMN",
    "MANIFEST_COLUMNS",
    "file_digest",
    "halo_width_m",
    "make_tasks",
    "read_manifest",
    "roads_bounds",
    "split_province",
]

_CODE = ("县代码", "代码", "行政区划代码", "区划代码", "code")
_NAME = ("县名称", "名称", "name")

#: Columns of a manifest (one row per county; file paths relative to the manifest's folder).
MANIFEST_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("code", _CODE, required=True),
    ColumnSpec("name", _NAME, required=True),
    ColumnSpec("roads", ("路网文件", "路网", "roads"), required=True),
    ColumnSpec("stations", ("站点文件", "站点", "stations"), required=True),
    ColumnSpec("demand", ("需求文件", "需求", "demand"), required=True),
    ColumnSpec("areas", ("乡镇范围文件", "乡镇范围", "areas")),
    ColumnSpec("enterprises", ("企业文件", "企业", "enterprises")),
)
#: Columns of the county boundary polygons (province-wide form).
BOUNDARY_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("code", _CODE, required=True),
    ColumnSpec("name", _NAME, required=True),
)
#: The column of a province-wide sheet naming each row's county (by name or code).
COUNTY_COLUMN = ColumnSpec("county", ("所属县（市、区）", "所属县", "县（市、区）", "所属区县", "county"))

#: Folder of the province split inside the output folder, and the record written last.
SPLIT_DIR = "_inputs"
SPLIT_RECORD = "split.json"
#: Bumped when the meaning of a task key changes (old outputs are then recomputed).
KEY_VERSION = 1
#: Metres per degree of latitude (and of longitude at the equator).
M_PER_DEG = 111_320.0
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


def _is_roads_file(path: Path) -> bool:
    return path.name.lower().endswith(OSM_SUFFIXES + LAYER_SUFFIXES)


def _is_osm(path: Path) -> bool:
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
    p = Path(path)
    if not _is_roads_file(p):
        raise NetworkError(
            "osm.unsupported_format",
            file=str(p),
            osm_formats=", ".join(OSM_SUFFIXES),
            layer_formats=", ".join(LAYER_SUFFIXES),
        )
    if not p.is_file():
        raise NetworkError("osm.file_missing", file=str(p))
    box = _osm_bounds(p) if _is_osm(p) else _layer_bounds(p)
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
    seen: dict[str, list[int]] = {}
    for code, row in zip(codes, rows, strict=True):
        if code:
            seen.setdefault(code, []).append(int(row))
    for code, where in seen.items():
        if len(where) > 1:
            log.add_rows("batch.manifest.duplicate_code", rows=where, column=header["code"], code=code)
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
            elif role == "roads" and not _is_roads_file(p):
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


# ==================================================================== province split
def split_province(
    *,
    network: str | os.PathLike[str],
    counties: str | os.PathLike[str],
    stations: str | os.PathLike[str],
    demand: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    enterprises: str | os.PathLike[str] | None = None,
    coords: str = "wgs84",
    strict: bool = False,
    limits: Limits = CLI_LIMITS,
) -> list[CountyInputs]:
    """Split province-wide files into per-county inputs under ``out_dir/_inputs``.

    Parameters
    ----------
    network
        The province's road file (OSM or a line layer). An OSM file is converted once to
        ``_inputs/roads.gpkg`` (so that every county can read it by bounding box); a layer
        is used as it is.
    counties
        County boundary polygons (GeoPackage, GeoJSON, zipped shapefile) with a code and a
        name column (:data:`BOUNDARY_COLUMNS`).
    stations, demand, enterprises
        The province's sheets. A row's county is its :data:`COUNTY_COLUMN` value (a
        county's name or code) where the column exists and the cell is filled, else the
        county polygon holding its point.
    out_dir
        The batch's output folder.
    coords
        Coordinate system of the sheets; the rows are written unchanged, so the county
        tasks read them in the same system.
    strict
        Refuse rows that fall in no county (by default they are left out with a warning
        naming them).
    limits
        Limits on reading the files.

    Returns
    -------
    list of CountyInputs
        One per county polygon, in the polygons' order, with ``roads`` the province's road
        layer, ``stations``/``demand``/``enterprises`` the county's own rows
        (``_inputs/<code>/*.csv``), ``bounds`` and ``boundary_wkt`` from the polygon.

    Raises
    ------
    InputError
        Missing county columns, empty or duplicate codes, sheets the readers refuse, and
        (with ``strict``) rows in no county.
    NetworkError
        A missing or unreadable road file.
    """
    roads_in = Path(network)
    if not _is_roads_file(roads_in):
        raise NetworkError(
            "osm.unsupported_format",
            file=str(roads_in),
            osm_formats=", ".join(OSM_SUFFIXES),
            layer_formats=", ".join(LAYER_SUFFIXES),
        )
    if not roads_in.is_file():
        raise NetworkError("osm.file_missing", file=str(roads_in))
    sheets = {"stations": stations, "demand": demand, **({"enterprises": enterprises} if enterprises else {})}
    for kind, sheet in sheets.items():
        if not Path(sheet).is_file():
            raise InputError("batch.sheet_missing", file=str(sheet), role=t(f"batch.role.{kind}"))
    if not Path(counties).is_file():
        raise InputError("batch.sheet_missing", file=str(counties), role=t("batch.role.counties"))
    split_dir = Path(out_dir) / SPLIT_DIR
    inputs = {"network": roads_in, "counties": Path(counties), **{k: Path(v) for k, v in sheets.items()}}
    key = _digest_json(
        {
            "version": KEY_VERSION,
            "files": {role: file_digest(p) for role, p in inputs.items()},
            "coords": coords,
            "strict": strict,
        }
    )
    reused = _reuse_split(split_dir, key=key)
    if reused is not None:
        logger.info("%s: the split of the province's files is up to date", split_dir)
        return reused
    split_dir.mkdir(parents=True, exist_ok=True)
    bounds = read_boundaries(counties, limits=limits)
    roads = _province_roads(roads_in, split_dir=split_dir)
    polys = bounds.geometry.to_numpy()
    codes = bounds["code"].tolist()
    written: dict[str, dict[str, Path]] = {code: {} for code in codes}
    for kind, sheet in sheets.items():
        parts = _split_sheet(sheet, kind=kind, boundaries=bounds, coords=coords, strict=strict, limits=limits)
        for code in codes:
            target = split_dir / _safe_code(code) / f"{kind}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target, mode="wb") as fh:
                fh.write(csv_bytes(parts.get(code, parts[""])))
            written[code][kind] = target
    import shapely

    areas = shapely.area(polys)
    total_area = float(shapely.area(shapely.union_all(polys))) or 1.0
    roads_size = roads.stat().st_size
    out: list[CountyInputs] = []
    for i, code in enumerate(codes):
        files = written[code]
        own = sum(p.stat().st_size for p in files.values())
        minx, miny, maxx, maxy = (float(x) for x in shapely.bounds(polys[i]))
        out.append(
            CountyInputs(
                code=code,
                name=str(bounds["name"].iloc[i]),
                roads=str(roads),
                stations=str(files["stations"]),
                demand=str(files["demand"]),
                bounds=(minx, miny, maxx, maxy),
                boundary_wkt=shapely.to_wkt(polys[i], rounding_precision=7),
                enterprises=str(files["enterprises"]) if "enterprises" in files else None,
                size_bytes=own + round(roads_size * float(areas[i]) / total_area),
            )
        )
    record = {"key": key, "counties": [dataclasses.asdict(c) for c in out]}
    with atomic_write(split_dir / SPLIT_RECORD) as fh:
        json.dump(record, fh, ensure_ascii=False, indent=1)
    logger.info("%s: split into %d counties", split_dir, len(out))
    return out


def _safe_code(code: str) -> str:
    """A county code as a folder name (codes are digits; anything else is replaced)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in code) or "_"


def _reuse_split(split_dir: Path, *, key: str) -> list[CountyInputs] | None:
    """The counties of an earlier split with the same key whose files all still exist, else None."""
    record = split_dir / SPLIT_RECORD
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    try:
        out = [CountyInputs(**{**c, "bounds": tuple(c["bounds"])}) for c in data["counties"]]
    except (KeyError, TypeError):
        return None
    paths = [p for c in out for p in (c.roads, c.stations, c.demand, c.enterprises) if p]
    return out if all(Path(p).is_file() for p in paths) else None


def read_boundaries(path: str | os.PathLike[str], *, limits: Limits = CLI_LIMITS) -> Any:
    """County polygons as a GeoDataFrame ``code, name, geometry`` in WGS-84.

    Raises
    ------
    InputError
        An unreadable file, missing code or name columns, empty or duplicate codes, or
        features that are not polygons.
    """
    import pyogrio
    import shapely

    p = Path(path)
    file = str(path)
    if p.suffix.lower() == ".gpkg":
        check_geopackage(p, file=file, limits=limits)
    try:
        if p.suffix.lower() == ".zip":
            from planner.inputs.shapezip import open_shapefile_zip

            with open_shapefile_zip(p, member=None) as shp:
                gdf = pyogrio.read_dataframe(shp.path, encoding=shp.encoding)
        else:
            gdf = pyogrio.read_dataframe(p)
    except Exception as exc:  # pyogrio/GDAL raise several types for unreadable data
        raise InputError("inputs.bad_geo", file=file, reason=f"{type(exc).__name__}: {exc}"[:200]) from None
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    elif not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    log = ProblemLog(file, row_kind="feature")
    headers = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    from planner.inputs._validate import match_columns

    found = match_columns(headers, BOUNDARY_COLUMNS, log=log)
    log.raise_if_any()
    codes = [_cell(x).strip() for x in gdf[headers[found["code"]]]]
    names = [_cell(x).strip() for x in gdf[headers[found["name"]]]]
    rows = np.arange(1, len(gdf) + 1)
    if len(gdf) == 0:
        raise InputError("inputs.empty_geo", file=file)
    for label, values in (("code", codes), ("name", names)):
        empty = [int(r) for r, x in zip(rows, values, strict=True) if not x]
        if empty:
            log.add_rows("batch.manifest.empty_cell", rows=empty, column=headers[found[label]])
    seen: dict[str, list[int]] = {}
    for code, row in zip(codes, rows, strict=True):
        if code:
            seen.setdefault(code, []).append(int(row))
    for code, where in seen.items():
        if len(where) > 1:
            log.add_rows("batch.manifest.duplicate_code", rows=where, column=headers[found["code"]], code=code)
    geoms = gdf.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    for i in np.flatnonzero(~polygonal):
        log.add("batch.not_polygon", row=int(rows[i]))
    log.raise_if_any()
    import geopandas as gpd

    return gpd.GeoDataFrame({"code": codes, "name": names}, geometry=shapely.make_valid(geoms), crs="EPSG:4326")


def _province_roads(path: Path, *, split_dir: Path) -> Path:
    """The road layer every county reads by bounding box: the file itself, or an OSM file converted once."""
    if not _is_osm(path):
        return path
    from planner.network.load import load_network, network_to_geodataframe

    target = split_dir / "roads.gpkg"
    gdf = network_to_geodataframe(load_network(path))
    layer = gdf[["highway", "oneway", "maxspeed_kph", "name", "geometry"]].rename(columns={"maxspeed_kph": "maxspeed"})
    layer["oneway"] = np.where(layer["oneway"].to_numpy(dtype=bool), "yes", "no")
    with atomic_path(target) as tmp:
        layer.to_file(tmp, driver="GPKG", layer="roads", engine="pyogrio")
    logger.info("%s: converted to %s (%d segments)", path, target, len(layer))
    return target


def _split_sheet(
    path: str | os.PathLike[str],
    *,
    kind: str,
    boundaries: Any,
    coords: str,
    strict: bool,
    limits: Limits,
) -> dict[str, pd.DataFrame]:
    """A province-wide sheet's rows by county code, unchanged (``""``: the header-only table).

    The rows are checked by the sheet's own reader first (every problem reported at once);
    a geo file's point coordinates are written into its longitude/latitude columns.
    """
    read = read_table(path, kind=kind, coords=coords, limits=limits)  # type: ignore[arg-type]
    specs = {"stations": STATION_COLUMNS, "demand": DEMAND_COLUMNS, "enterprises": ENTERPRISE_COLUMNS}[kind]
    table, found, _log = _load(Path(path), specs, coords=coords, sheet=None, limits=limits, kind=kind)
    frame = table.frame.copy()
    headers = list(table.headers)
    if table.geom_lon is not None:
        assert table.geom_lat is not None
        for axis, values in (("lon", table.geom_lon), ("lat", table.geom_lat)):
            pos = found.get(axis)
            text = np.array([_cell(float(x)) for x in values], dtype=object)
            if pos is None:
                frame[len(headers)] = text
                headers.append("经度" if axis == "lon" else "纬度")
            else:
                frame[pos] = np.where(np.isfinite(values), text, frame[pos].to_numpy(dtype=object))
    frame.columns = pd.Index(headers, dtype=object)
    raw = np.searchsorted(table.row_numbers, read.frame["source_row"].to_numpy(dtype=np.int64))
    frame = frame.iloc[raw].reset_index(drop=True)
    rows = read.frame["source_row"].to_numpy(dtype=np.int64)
    county_pos = next((i for i, h in enumerate(table.headers) if header_field(h, (COUNTY_COLUMN,))), None)
    code_of = np.full(len(frame), "", dtype=object)
    unknown = np.zeros(len(frame), dtype=bool)
    if county_pos is not None:
        lookup = _county_lookup(boundaries)
        for i, cell in enumerate(frame.iloc[:, county_pos].astype(str).str.strip()):
            if cell:
                hit = lookup.get(normalise_header(cell))
                code_of[i] = hit or ""
                unknown[i] = hit is None
    by_point = _county_by_point(
        read.frame["lon"].to_numpy(dtype=np.float64), read.frame["lat"].to_numpy(dtype=np.float64), boundaries
    )
    code_of = np.where((code_of == "") & ~unknown, by_point, code_of)
    outside = code_of == ""
    if outside.any():
        _report_outside(
            path, kind=kind, rows=rows[outside], unknown=rows[unknown], strict=strict, row_kind=table.row_kind
        )
    parts = {code: frame.iloc[np.flatnonzero(code_of == code)].reset_index(drop=True) for code in np.unique(code_of)}
    parts.pop("", None)
    parts[""] = frame.iloc[0:0]
    logger.info("%s: %d rows over %d counties", path, len(frame) - int(outside.sum()), len(parts) - 1)
    return parts


def _county_lookup(boundaries: Any) -> dict[str, str]:
    """County code by normalised name or code (a code wins over a name spelled the same)."""
    lookup: dict[str, str] = {}
    for code, name in zip(boundaries["code"], boundaries["name"], strict=True):
        lookup.setdefault(normalise_header(name), code)
    for code in boundaries["code"]:
        lookup[normalise_header(code)] = code
    return lookup


def _county_by_point(lon: NDArray[np.float64], lat: NDArray[np.float64], boundaries: Any) -> NDArray[Any]:
    """Each point's county code by the polygon that holds it (the first, on a shared border), ``""`` for none."""
    import shapely

    out = np.full(len(lon), "", dtype=object)
    ok = np.isfinite(lon) & np.isfinite(lat)
    points = shapely.points(lon[ok], lat[ok])
    tree = shapely.STRtree(boundaries.geometry.to_numpy())
    pt, poly = tree.query(points, predicate="intersects")
    order = np.lexsort((poly, pt))
    pt, poly = pt[order], poly[order]
    first = np.unique(pt, return_index=True)[1]
    codes = boundaries["code"].to_numpy(dtype=object)
    idx = np.flatnonzero(ok)
    out[idx[pt[first]]] = codes[poly[first]]
    return out


def _report_outside(
    path: str | os.PathLike[str],
    *,
    kind: str,
    rows: NDArray[np.int64],
    unknown: NDArray[np.int64],
    strict: bool,
    row_kind: str,
) -> None:
    """Warn about (or, with ``strict``, refuse) rows in no county; unknown county names are named as such."""
    from planner.inputs._validate import Problem, row_ranges

    listed = row_ranges(rows.tolist(), max_spans=10)
    role = t(f"batch.role.{kind}")
    unknown_rows = row_ranges(unknown.tolist(), max_spans=10)
    if strict:
        problems = [Problem("batch.rows_outside", params={"role": role, "count": len(rows), "rows": listed})]
        if len(unknown):
            problems.append(Problem("batch.unknown_county", params={"rows": unknown_rows}))
        raise InputProblemsError(str(path), problems, row_kind=row_kind)
    logger.warning("%s", t("batch.rows_outside_warning", file=str(path), role=role, count=len(rows), rows=listed))
    if len(unknown):
        logger.warning("%s", t("batch.unknown_county_warning", file=str(path), rows=unknown_rows))


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
    gap_m = np.hypot(dx_deg * M_PER_DEG * cos_lat, dy_deg * M_PER_DEG)
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


def _digest_json(value: Any) -> str:
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
        key = _digest_json(
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
                out_dir=str(root / _safe_code(county.code)),
                key=key,
            )
        )
    return tasks
