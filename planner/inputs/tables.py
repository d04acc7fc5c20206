"""Read station lists, demand points and township areas into canonical tables.

Formats: CSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM, GBK/GB18030; comma, tab,
semicolon or bar delimited), XLSX (the sheet whose headers match, or ``sheet=``),
GeoJSON and GeoPackage (point geometry, reprojected to EPSG:4326; ``sheet=`` names the
layer). Chinese or English headers are recognised through aliases (case, space and
bracket-insensitive; a title row above the header is skipped). Coordinates may be
decimal degrees or degrees-minutes-seconds and are converted to WGS-84 from GCJ-02
(Amap/Tencent) or BD-09 (Baidu) when ``coords=`` says so.

Every problem found is collected and reported in one :class:`~planner._errors.InputError`
with the file, row (header = row 1), column and how to fix it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._errors import ConfigError, InputError
from planner.inputs import _validate as v
from planner.inputs._validate import MAX_INPUT_BYTES, ColumnSpec, ProblemLog
from planner.inputs.coords import SYSTEMS, System, to_wgs84
from planner.settings import parse_tier

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)

__all__ = ["MAX_INPUT_BYTES", "read_areas", "read_candidates", "read_cost_matrix", "read_demand", "read_stations"]

#: Rows scanned for the header row (a title row often sits above it).
HEADER_SCAN_ROWS = 10
#: Separators of the services list; rejoined with "、".
SERVICE_SEPARATORS = r"[、，,;；/／|]"

_ID = ColumnSpec("id", ("编号", "序号", "id", "站点编号", "code"))
_NAME_ALIASES = ("名称", "站点名称", "村名", "社区名称", "name")
_LON = ColumnSpec("lon", ("经度", "lng", "lon", "long", "longitude", "x"), required=True)
_LAT = ColumnSpec("lat", ("纬度", "lat", "latitude", "y"), required=True)
_TOWNSHIP = ColumnSpec("township", ("所属乡镇", "所属街道", "所属乡镇（街道）", "乡镇", "街道", "township"))

STATION_COLUMNS: tuple[ColumnSpec, ...] = (
    _ID,
    ColumnSpec("name", _NAME_ALIASES, required=True),
    ColumnSpec("tier", ("层级", "级别", "类型", "等级", "tier", "level"), required=True),
    _LON,
    _LAT,
    ColumnSpec("organisation", ("运营单位", "主管单位", "organisation", "organization")),
    ColumnSpec("services", ("服务项目", "services")),
    ColumnSpec("address", ("地址", "address")),
    _TOWNSHIP,
)
DEMAND_COLUMNS: tuple[ColumnSpec, ...] = (
    _ID,
    ColumnSpec("name", _NAME_ALIASES),
    ColumnSpec("population", ("人口", "常住人口", "户籍人口", "人数", "population", "pop")),
    _LON,
    _LAT,
    _TOWNSHIP,
    ColumnSpec("kind", ("类型", "类别", "性质", "kind", "type")),
)
AREA_COLUMNS: tuple[ColumnSpec, ...] = (ColumnSpec("name", ("名称", "乡镇", "街道", "name"), required=True),)

STATION_OUTPUT = ("id", "name", "tier", "lon", "lat", "organisation", "services", "address", "township", "source_row")
DEMAND_OUTPUT = ("id", "name", "population", "lon", "lat", "township", "kind", "source_row")

#: Words in a demand point's type or name that give its kind (checked in this order).
_KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("community", ("社区", "居委", "community")),
    ("enterprise", ("企业", "公司", "厂", "职工", "enterprise", "company")),
    ("village", ("村", "village")),
)


@dataclass
class _Table:
    """Cells of one sheet/layer as stripped text (columns by position), with spreadsheet row numbers."""

    file: str
    headers: list[str]
    frame: pd.DataFrame
    row_numbers: NDArray[np.int64]
    row_kind: str = "row"
    geom_lon: NDArray[np.float64] | None = None
    geom_lat: NDArray[np.float64] | None = None
    problems: ProblemLog | None = None

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def column(self, pos: int) -> pd.Series:
        return self.frame[pos]


def _text_frame(records: Sequence[Sequence[object]], width: int) -> pd.DataFrame:
    """Return (possibly ragged) records as a DataFrame of stripped strings, at least ``width`` columns."""
    full = max([width, *(len(r) for r in records)])
    padded = [list(r) if len(r) == full else [*r, *([""] * (full - len(r)))] for r in records]
    frame = (
        pd.DataFrame(padded, dtype=object, columns=pd.RangeIndex(full))
        if padded
        else pd.DataFrame({pos: pd.Series(dtype=object) for pos in range(full)})
    )
    return frame.fillna("").astype(str).apply(lambda col: col.str.strip())


# =========================================================================== public API
def read_stations(
    path: str | Path,
    *,
    coords: System = "wgs84",
    sheet: str | None = None,
    max_bytes: int = MAX_INPUT_BYTES,
) -> pd.DataFrame:
    """Read a station list (CSV, XLSX, GeoJSON or GeoPackage).

    Parameters
    ----------
    path
        The file.
    coords
        Coordinate system of the file: ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"`` (Amap,
        Tencent) or ``"bd09"`` (Baidu). Output is always WGS-84.
    sheet
        XLSX sheet or GeoPackage layer; default: the one whose headers match.
    max_bytes
        Refuse files larger than this (default :data:`MAX_INPUT_BYTES`).

    Returns
    -------
    pandas.DataFrame
        Columns ``id, name, tier`` (a :class:`~planner.settings.Tier` value), ``lon, lat``
        (WGS-84 degrees), ``organisation, services`` ("、"-joined), ``address, township``
        and ``source_row`` (spreadsheet row, header = 1; feature number for geo files).

    Raises
    ------
    InputError
        Listing every problem found (missing columns, unknown tiers, bad or swapped
        coordinates, duplicate ids...), each with file, row, column and a fix.
    """
    table, found, log = _load(path, STATION_COLUMNS, coords=coords, sheet=sheet, max_bytes=max_bytes)
    n = table.n_rows
    rows = table.row_numbers
    ids = _ids(table, found, log, rows)
    lon, lat = _coordinates(table, found, log, rows)
    tiers = _tiers(table, found, log, rows)
    log.raise_if_any()
    names = _text(table, found, "name", n)
    blank = names == ""
    if blank.any():
        logger.warning("%s: %d stations have no name; using their id", table.file, int(blank.sum()))
        names = np.where(blank, ids, names)
    lon, lat = _convert(lon, lat, coords)
    services = pd.Series(_text(table, found, "services", n), dtype=object).astype(str)
    services_joined = services.str.replace(rf"(\s*{SERVICE_SEPARATORS}\s*)+", "、", regex=True).str.strip("、 ")
    out = pd.DataFrame(
        {
            "id": ids,
            "name": names,
            "tier": tiers,
            "lon": lon,
            "lat": lat,
            "organisation": _text(table, found, "organisation", n),
            "services": services_joined.to_numpy(dtype=object),
            "address": _text(table, found, "address", n),
            "township": _text(table, found, "township", n),
            "source_row": rows,
        }
    )
    logger.info("%s: read %d stations", table.file, n)
    return _as_str(out, ("id", "name", "tier", "organisation", "services", "address", "township"))


def read_demand(
    path: str | Path,
    *,
    coords: System = "wgs84",
    sheet: str | None = None,
    max_bytes: int = MAX_INPUT_BYTES,
) -> pd.DataFrame:
    """Read demand points (villages, communities, enterprises) with their population.

    Parameters
    ----------
    path
        The file (CSV, XLSX, GeoJSON or GeoPackage).
    coords
        Coordinate system of the file (see :func:`read_stations`).
    sheet
        XLSX sheet or GeoPackage layer; default: the one whose headers match.
    max_bytes
        Refuse files larger than this.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, name, population`` (float; 1 for every point when the file has no
        population column), ``lon, lat`` (WGS-84), ``township``, ``kind``
        (``"village"``, ``"community"``, ``"enterprise"`` or ``""``; from a type column,
        else guessed from the name ending) and ``source_row``.

    Raises
    ------
    InputError
        Listing every problem found (also negative or non-numeric population).
    """
    table, found, log = _load(path, DEMAND_COLUMNS, coords=coords, sheet=sheet, max_bytes=max_bytes)
    n = table.n_rows
    rows = table.row_numbers
    ids = _ids(table, found, log, rows)
    lon, lat = _coordinates(table, found, log, rows)
    population = _population(table, found, log, rows)
    log.raise_if_any()
    lon, lat = _convert(lon, lat, coords)
    names = _text(table, found, "name", n)
    names = np.where(names == "", ids, names)
    kinds = _kinds(_text(table, found, "kind", n)) if "kind" in found else _kinds(names, suffix_only=True)
    out = pd.DataFrame(
        {
            "id": ids,
            "name": names,
            "population": population,
            "lon": lon,
            "lat": lat,
            "township": _text(table, found, "township", n),
            "kind": kinds,
            "source_row": rows,
        }
    )
    logger.info("%s: read %d demand points, population %.0f", table.file, n, float(population.sum()))
    return _as_str(out, ("id", "name", "township", "kind"))


def read_areas(path: str | Path, *, sheet: str | None = None, max_bytes: int = MAX_INPUT_BYTES) -> gpd.GeoDataFrame:
    """Read township / subdistrict polygons (GeoJSON or GeoPackage).

    Parameters
    ----------
    path
        The file.
    sheet
        GeoPackage layer; default: the first polygon layer.
    max_bytes
        Refuse files larger than this.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name`` and ``geometry`` (Polygon/MultiPolygon, EPSG:4326). Invalid
        rings are repaired with :func:`shapely.make_valid`.

    Raises
    ------
    InputError
        Missing name column, empty names, non-polygon or missing geometry, or an
        unreadable file.
    """
    import geopandas as gpd
    import shapely

    p, kind = v.check_file(path, max_bytes=max_bytes)
    file = str(path)
    if kind != "geo":
        raise InputError("inputs.areas_need_geo", file=file)
    gdf = _read_geo(p, file=file, layer=sheet, want="Polygon")
    if len(gdf) == 0:
        raise InputError("inputs.empty_geo", file=file)
    log = ProblemLog(file, row_kind="feature")
    headers = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    found = v.match_columns(headers, AREA_COLUMNS, log=log)
    log.raise_if_any()
    names = gdf[headers[found["name"]]].map(_cell).astype(str).str.strip().to_numpy(dtype=object)
    geoms = gdf.geometry
    types = geoms.geom_type.fillna("").to_numpy(dtype=object)
    missing = geoms.isna().to_numpy() | geoms.is_empty.to_numpy()
    for i in range(len(gdf)):
        if names[i] == "":
            log.add("inputs.area_empty_name", row=i + 1, column=headers[found["name"]])
        if missing[i]:
            log.add("inputs.area_no_geometry", row=i + 1)
        elif types[i] not in ("Polygon", "MultiPolygon"):
            log.add("inputs.area_not_polygon", row=i + 1, geom_type=types[i])
    log.raise_if_any()
    geometry = gpd.GeoSeries(geoms.to_numpy(), crs=gdf.crs)
    invalid = ~geometry.is_valid.to_numpy()
    if invalid.any():
        logger.warning("%s: repaired %d invalid polygons", file, int(invalid.sum()))
        geometry = gpd.GeoSeries(shapely.make_valid(geometry.to_numpy()), crs=gdf.crs)
    out = gpd.GeoDataFrame({"name": pd.Series(names, dtype=str)}, geometry=geometry, crs=gdf.crs)
    return out


# =========================================================================== loading
def _load(
    path: str | Path, specs: Sequence[ColumnSpec], *, coords: str, sheet: str | None, max_bytes: int
) -> tuple[_Table, dict[str, int], ProblemLog]:
    if coords not in SYSTEMS:
        raise InputError("coords.unknown_system", value=coords, systems="、".join(SYSTEMS))
    p, kind = v.check_file(path, max_bytes=max_bytes)
    file = str(path)
    if kind == "csv":
        table = _read_csv(p, file=file, specs=specs)
    elif kind == "xlsx":
        table = _read_xlsx(p, file=file, specs=specs, sheet=sheet)
    else:
        table = _read_geo_table(p, file=file, layer=sheet)
    log = table.problems if table.problems is not None else ProblemLog(table.file, row_kind=table.row_kind)
    has_geom = table.geom_lon is not None
    found = v.match_columns(table.headers, specs, log=log, optional_present=("lon", "lat") if has_geom else ())
    if table.n_rows == 0:
        log.add("inputs.no_rows")
    if any(s.name == "population" for s in specs) and "population" not in found and table.n_rows:
        logger.warning("%s: no population column (人口); every demand point weighs 1", file)
    return table, found, log


def _best_header(records: Sequence[Sequence[str]], specs: Sequence[ColumnSpec]) -> tuple[int, tuple[int, int]]:
    """Index of the record (among the first non-blank ones) that looks most like the header."""
    best, best_score = -1, (-1, -1)
    seen = 0
    for i, rec in enumerate(records):
        if not any(str(c).strip() for c in rec):
            continue
        score = v.header_score(rec, specs)
        if score > best_score:
            best, best_score = i, score
        seen += 1
        if seen >= HEADER_SCAN_ROWS:
            break
    return best, best_score


def _table_from_records(file: str, records: list[list[str]], specs: Sequence[ColumnSpec], log: ProblemLog) -> _Table:
    """Split records into header and data rows; row numbers are record numbers (1-based)."""
    head, _ = _best_header(records, specs)
    if head < 0:
        raise InputError("inputs.empty_file", file=file)
    if head > 0:
        logger.info("%s: header found on row %d (rows above skipped)", file, head + 1)
    headers = [str(c).strip() if c is not None else "" for c in records[head]]
    width = len(headers)
    while width > 0 and headers[width - 1] == "":
        width -= 1
    headers = headers[:width]
    frame = _text_frame(records[head + 1 :], width)
    numbers = np.arange(len(frame), dtype=np.int64) + head + 2
    filled = (frame != "").to_numpy()
    nonblank = filled.any(axis=1)
    for i in np.flatnonzero(filled[:, width:].any(axis=1)):
        last = int(np.flatnonzero(filled[i])[-1]) + 1
        log.add("inputs.too_many_cells", row=int(numbers[i]), count=last, expected=width)
    frame = frame.iloc[np.flatnonzero(nonblank), :width].reset_index(drop=True)
    return _Table(file=file, headers=headers, frame=frame, row_numbers=numbers[nonblank], problems=log)


def _read_csv(path: Path, *, file: str, specs: Sequence[ColumnSpec]) -> _Table:
    text = v.decode_text(path.read_bytes(), file=file)
    candidates = ["\t", ",", ";", "|"] if path.suffix.lower() == ".tsv" else [",", "\t", ";", "|"]
    first_lines = "\n".join(text[:65536].splitlines()[: 3 * HEADER_SCAN_ROWS])
    best: tuple[tuple[int, int, int], str] | None = None
    for delim in candidates:
        records = _csv_records(first_lines, delim, file=file, strict=False)
        _, score = _best_header(records, specs)
        width = max((len(r) for r in records), default=0)
        key = (score[0], score[1], width)
        if best is None or key > best[0]:
            best = (key, delim)
    delim = best[1] if best else ","
    records = _csv_records(text, delim, file=file, strict=True)
    log = ProblemLog(file)
    return _table_from_records(file, records, specs, log)


def _csv_records(text: str, delim: str, *, file: str, strict: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    records: list[list[str]] = []
    try:
        for rec in reader:
            records.append(rec)
    except csv.Error as exc:
        if strict:
            raise InputError("inputs.csv_malformed", file=file, line=reader.line_num, reason=str(exc)) from None
    return records


def _read_xlsx(path: Path, *, file: str, specs: Sequence[ColumnSpec], sheet: str | None) -> _Table:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                names = list(wb.sheetnames)
                if sheet is not None and sheet not in names:
                    raise InputError("inputs.no_such_sheet", file=file, sheet=sheet, sheets="、".join(names))
                chosen: tuple[tuple[int, int], str] | None = None
                for name in [sheet] if sheet is not None else names:
                    # score only the top rows of each sheet; read the chosen one in full below
                    top = [
                        [_cell(c) for c in row]
                        for row in wb[name].iter_rows(max_row=3 * HEADER_SCAN_ROWS, values_only=True)
                    ]
                    _, score = _best_header(top, specs)
                    if chosen is None or score > chosen[0]:
                        chosen = (score, name)
                records = (
                    [[_cell(c) for c in row] for row in wb[chosen[1]].iter_rows(values_only=True)] if chosen else []
                )
            finally:
                wb.close()
    except InputError:
        raise
    except Exception as exc:  # openpyxl/zipfile raise many types for a damaged workbook
        raise InputError("inputs.bad_xlsx", file=file, reason=f"{type(exc).__name__}: {exc}"[:200]) from None
    if chosen is None:
        raise InputError("inputs.empty_file", file=file)
    logger.info("%s: using sheet %r", file, chosen[1])
    if not any(any(c for c in r) for r in records):
        raise InputError("inputs.empty_file", file=file)
    table = _table_from_records(file, records, specs, ProblemLog(f"{file} [{chosen[1]}]"))
    table.file = f"{file} [{chosen[1]}]"
    return table


def _read_geo(path: Path, *, file: str, layer: str | None, want: str) -> Any:
    """Read a GeoJSON/GeoPackage layer with pyogrio into a GeoDataFrame in EPSG:4326."""
    import pyogrio

    try:
        if layer is None and path.suffix.lower() == ".gpkg":
            layers = pyogrio.list_layers(path)
            matching = [str(name) for name, gtype in layers if gtype and want in str(gtype)]
            layer = matching[0] if matching else (str(layers[0][0]) if len(layers) else None)
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio/GDAL raise several types for unreadable data
        raise InputError("inputs.bad_geo", file=file, reason=f"{type(exc).__name__}: {exc}"[:200]) from None
    if not hasattr(gdf, "geometry"):
        raise InputError("inputs.bad_geo", file=file, reason="no geometry")
    if gdf.crs is None:
        logger.warning("%s: no coordinate reference system; assuming EPSG:4326 (longitude/latitude)", file)
        gdf = gdf.set_crs(4326)
    elif not gdf.crs.equals("EPSG:4326"):
        try:
            gdf = gdf.to_crs(4326)
        except Exception as exc:  # pyproj errors for unknown or broken CRS definitions
            raise InputError("inputs.bad_geo", file=file, reason=f"CRS: {exc}"[:200]) from None
    return gdf


def _read_geo_table(path: Path, *, file: str, layer: str | None) -> _Table:
    import shapely

    gdf = _read_geo(path, file=file, layer=layer, want="Point")
    log = ProblemLog(file, row_kind="feature")
    headers = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    attrs = gdf[headers] if headers else pd.DataFrame(index=gdf.index)
    frame = _text_frame([[_cell(x) for x in rec] for rec in attrs.itertuples(index=False, name=None)], len(headers))
    n = len(gdf)
    if n == 0:
        raise InputError("inputs.empty_geo", file=file)
    geoms = gdf.geometry.to_numpy()
    # single-part MultiPoints (common in GIS exports) count as points
    single = np.where(
        (shapely.get_type_id(geoms) == 4) & (shapely.get_num_geometries(geoms) == 1),
        shapely.get_geometry(geoms, 0),
        geoms,
    )
    is_point = (shapely.get_type_id(single) == 0) & ~shapely.is_empty(single)
    lon = np.where(is_point, shapely.get_x(np.where(is_point, single, None)), np.nan)
    lat = np.where(is_point, shapely.get_y(np.where(is_point, single, None)), np.nan)
    has_geom = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    types = gdf.geometry.geom_type.to_numpy(dtype=object)
    for i in np.flatnonzero(has_geom & ~is_point):
        log.add("inputs.not_point", row=int(i) + 1, geom_type=str(types[i]))
    return _Table(
        file=file,
        headers=headers,
        frame=frame,
        row_numbers=np.arange(1, n + 1, dtype=np.int64),
        row_kind="feature",
        geom_lon=lon.astype(np.float64),
        geom_lat=lat.astype(np.float64),
        problems=log,
    )


def _cell(value: object) -> str:
    """Cell value as text; integral floats lose their ``.0`` (ids read by Excel as numbers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (np.floating, np.integer)):
        return _cell(value.item())
    if value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


# =========================================================================== columns
def _text(table: _Table, found: dict[str, int], name: str, n: int) -> NDArray[Any]:
    if name not in found:
        return np.full(n, "", dtype=object)
    return table.column(found[name]).to_numpy(dtype=object)


def _ids(table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64]) -> NDArray[Any]:
    n = table.n_rows
    generated = np.array([f"row{r}" for r in rows], dtype=object)
    if "id" not in found:
        if n:
            logger.info("%s: no id column (编号); ids generated from row numbers (row2, row3...)", table.file)
        return generated
    ids = table.column(found["id"]).to_numpy(dtype=object)
    blank = ids == ""
    if blank.any():
        logger.info("%s: %d rows without id; ids generated from row numbers", table.file, int(blank.sum()))
        ids = np.where(blank, generated, ids)
    v.check_duplicates(list(ids), rows=rows, column=table.headers[found["id"]], log=log)
    return ids


def _coordinates(
    table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n = table.n_rows
    lon = table.geom_lon.copy() if table.geom_lon is not None else np.full(n, np.nan)
    lat = table.geom_lat.copy() if table.geom_lat is not None else np.full(n, np.nan)
    if "lon" not in found or "lat" not in found:
        if table.geom_lon is not None:
            reported = {p.row for p in log.problems if p.key == "inputs.not_point"}
            for i in np.flatnonzero(np.isnan(lon) | np.isnan(lat)):
                if int(rows[i]) not in reported:
                    log.add("inputs.no_geometry", row=int(rows[i]))
        return lon, lat
    need = np.isnan(lon) | np.isnan(lat)
    headers = {axis: table.headers[found[axis]] for axis in ("lon", "lat")}
    parsed: dict[str, NDArray[np.float64]] = {}
    for axis in ("lon", "lat"):
        values, empty, bad = v.parse_coordinates(table.column(found[axis]), axis=axis)
        cells = table.column(found[axis]).to_numpy(dtype=object)
        for i in np.flatnonzero(need & empty):
            log.add("inputs.coord_empty", row=int(rows[i]), column=headers[axis])
        for i in np.flatnonzero(need & bad):
            log.add("inputs.coord_not_number", row=int(rows[i]), column=headers[axis], value=str(cells[i])[:40])
        parsed[axis] = values
    lon = np.where(need, parsed["lon"], lon)
    lat = np.where(need, parsed["lat"], lat)
    v.check_coordinates(lon, lat, rows=rows, lon_column=headers["lon"], lat_column=headers["lat"], log=log)
    return lon, lat


def _convert(
    lon: NDArray[np.float64], lat: NDArray[np.float64], coords: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if coords in ("gcj02", "bd09"):
        logger.info("converting %d points from %s to WGS-84", len(lon), coords)
        out_lon, out_lat = to_wgs84(lon, lat, system=coords)  # type: ignore[arg-type]
        return np.asarray(out_lon, dtype=np.float64), np.asarray(out_lat, dtype=np.float64)
    return lon, lat


def _tiers(table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64]) -> NDArray[Any]:
    n = table.n_rows
    out = np.full(n, "", dtype=object)
    if "tier" not in found:
        return out
    column = table.headers[found["tier"]]
    values = table.column(found["tier"])
    codes, uniques = pd.factorize(values)
    parsed: list[str] = []
    for word in uniques:  # once per distinct word, not per row
        try:
            parsed.append(str(parse_tier(word)))
        except ConfigError:
            parsed.append("")
    out = np.asarray(parsed, dtype=object)[codes] if n else out
    for i in np.flatnonzero(out == ""):
        if values.iloc[i] == "":
            log.add("inputs.tier_empty", row=int(rows[i]), column=column)
        else:
            log.add("inputs.unknown_tier", row=int(rows[i]), column=column, value=values.iloc[i])
    return out


def _population(table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64]) -> NDArray[np.float64]:
    n = table.n_rows
    if "population" not in found:
        return np.ones(n, dtype=np.float64)
    column = table.headers[found["population"]]
    cells = table.column(found["population"])
    values, empty, bad = v.parse_population(cells)
    for i in np.flatnonzero(empty):
        log.add("inputs.population_empty", row=int(rows[i]), column=column)
    for i in np.flatnonzero(bad):
        log.add("inputs.population_not_number", row=int(rows[i]), column=column, value=str(cells.iloc[i])[:40])
    for i in np.flatnonzero(values < 0):
        log.add("inputs.population_negative", row=int(rows[i]), column=column, value=v._fmt(values[i]))
    return values


def _kinds(values: NDArray[Any], *, suffix_only: bool = False) -> NDArray[Any]:
    text = pd.Series(values, dtype=object).astype(str).str.strip().str.lower()
    out = np.full(len(text), "", dtype=object)
    for kind, words in reversed(_KIND_WORDS):
        for word in words:
            if suffix_only:
                hit = text.str.endswith(word) | text.str.endswith(word + "委会") | text.str.endswith(word + "民委员会")
            else:
                hit = text.str.contains(word, regex=False)
            out[hit.to_numpy()] = kind
    return out


def _as_str(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    for c in columns:
        df[c] = df[c].astype(str)
    return df


# =========================================================================== siting inputs
CANDIDATE_COLUMNS: tuple[ColumnSpec, ...] = (
    _ID,
    ColumnSpec("name", (*_NAME_ALIASES, "地点", "site")),
    _LON,
    _LAT,
    ColumnSpec("cost", ("成本", "造价", "费用", "投资", "cost")),
    _TOWNSHIP,
)
COST_MATRIX_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("demand_id", ("需求点编号", "需求编号", "村编号", "demand_id", "origin", "from_id"), required=True),
    ColumnSpec("site_id", ("站点编号", "候选点编号", "site_id", "destination", "to_id", "candidate_id"), required=True),
    ColumnSpec("minutes", ("分钟", "时间", "通行时间", "minutes", "time_min", "travel_time_min"), required=True),
)


def read_candidates(
    path: str | Path,
    *,
    coords: System = "wgs84",
    sheet: str | None = None,
    max_bytes: int = MAX_INPUT_BYTES,
) -> pd.DataFrame:
    """Read candidate sites for new stations (public buildings, vacant lots...).

    Returns
    -------
    pandas.DataFrame
        ``id, name, lon, lat`` (WGS-84), ``cost`` (NaN-free; 1 when the file has no
        cost column), ``township``, ``source`` (``"file"``) and ``source_row``.

    Raises
    ------
    InputError
        Listing every problem (missing coordinates, duplicate ids, negative or
        non-numeric cost...).
    """
    table, found, log = _load(path, CANDIDATE_COLUMNS, coords=coords, sheet=sheet, max_bytes=max_bytes)
    n = table.n_rows
    rows = table.row_numbers
    ids = _ids(table, found, log, rows)
    lon, lat = _coordinates(table, found, log, rows)
    cost = np.ones(n, dtype=np.float64)
    if "cost" in found:
        column = table.headers[found["cost"]]
        cells = table.column(found["cost"])
        cost, empty, bad = v.parse_population(cells)
        for i in np.flatnonzero(empty | bad):
            log.add("inputs.cost_bad", row=int(rows[i]), column=column, value=str(cells.iloc[i])[:40])
        for i in np.flatnonzero(~(empty | bad) & (cost < 0)):
            log.add("inputs.cost_bad", row=int(rows[i]), column=column, value=v._fmt(cost[i]))
    log.raise_if_any()
    lon, lat = _convert(lon, lat, coords)
    names = _text(table, found, "name", n)
    out = pd.DataFrame(
        {
            "id": ids,
            "name": np.where(names == "", ids, names),
            "lon": lon,
            "lat": lat,
            "cost": cost,
            "township": _text(table, found, "township", n),
            "source": "file",
            "source_row": rows,
        }
    )
    logger.info("%s: read %d candidate sites", table.file, n)
    return _as_str(out, ("id", "name", "township"))


def read_cost_matrix(path: str | Path, *, sheet: str | None = None, max_bytes: int = MAX_INPUT_BYTES) -> pd.DataFrame:
    """Read a long-format travel-time table ``demand_id, site_id, minutes``.

    Raises
    ------
    InputError
        Missing columns, empty ids, non-numeric or negative minutes (with rows).
    """
    table, found, log = _load(path, COST_MATRIX_COLUMNS, coords="wgs84", sheet=sheet, max_bytes=max_bytes)
    rows = table.row_numbers
    d_ids = table.column(found["demand_id"]).to_numpy(dtype=object)
    s_ids = table.column(found["site_id"]).to_numpy(dtype=object)
    for name, ids in (("demand_id", d_ids), ("site_id", s_ids)):
        for i in np.flatnonzero(ids == ""):
            log.add("inputs.id_empty", row=int(rows[i]), column=table.headers[found[name]])
    column = table.headers[found["minutes"]]
    cells = table.column(found["minutes"])
    minutes = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
    for i in np.flatnonzero(~np.isfinite(minutes) | (minutes < 0)):
        log.add("inputs.minutes_bad", row=int(rows[i]), column=column, value=str(cells.iloc[i])[:40])
    log.raise_if_any()
    return pd.DataFrame({"demand_id": d_ids.astype(str), "site_id": s_ids.astype(str), "minutes": minutes})
