"""File decoding for the table readers: CSV, XLSX, GeoJSON and GeoPackage as text tables.

Formats: CSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM, GBK/GB18030; comma, tab,
semicolon or bar delimited), XLSX (the sheet whose headers match, or ``sheet=``),
GeoJSON, GeoPackage and zipped shapefiles (point geometry, reprojected to EPSG:4326;
``sheet=`` names the layer, or the ``.shp`` inside the ``.zip``: see
:mod:`planner.inputs.shapezip`). Chinese or English headers are recognised through aliases (case, space and
bracket-insensitive; a title row above the header is skipped).

:func:`_load` opens a file as a :class:`_Table` (every cell as stripped text, with its
spreadsheet row numbers) and matches its headers against the reader's column specs;
the per-kind readers of :mod:`planner.inputs.tables` turn the columns into values. In CSV
and XLSX, the leading ``'`` the planner's exports write before text that would start a
spreadsheet formula is dropped (:func:`planner._text.restore_cell`): an exported sheet reads
back as the names it was written from.
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
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._errors import InputError
from planner._text import TEXT_PREFIX, restore_cell
from planner.inputs import _validate as v
from planner.inputs._validate import ColumnSpec, ProblemLog
from planner.inputs.coords import SYSTEMS
from planner.inputs.shapezip import open_shapefile_zip

logger = logging.getLogger(__name__)

#: Rows scanned for the header row (a title row often sits above it).
HEADER_SCAN_ROWS = 10


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
    cells: pd.DataFrame = frame.fillna("").astype(str).apply(lambda col: col.str.strip())
    return cells


def _restore_quoted(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells the planner's sheets wrote with a leading ``'`` (:func:`planner._text.neutralise_cell`) as they were.

    A CSV or workbook exported by the planner (or by ``planner extract``) and read back gives
    the names it was written from; the restored text is stripped like every cell.
    """
    for pos in frame.columns:
        col = frame[pos]
        quoted = col.str.startswith(TEXT_PREFIX).to_numpy(dtype=bool)
        if quoted.any():
            frame.loc[quoted, pos] = [restore_cell(str(x)).strip() for x in col[quoted]]
    return frame


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
    headers = [restore_cell(str(c).strip()).strip() if c is not None else "" for c in records[head]]
    width = len(headers)
    while width > 0 and headers[width - 1] == "":
        width -= 1
    headers = headers[:width]
    frame = _restore_quoted(_text_frame(records[head + 1 :], width))
    numbers = np.arange(len(frame), dtype=np.int64) + head + 2
    filled = (frame != "").to_numpy()
    nonblank = filled.any(axis=1)
    for i in np.flatnonzero(filled[:, width:].any(axis=1)):
        last = int(np.flatnonzero(filled[i])[-1]) + 1
        log.add("inputs.too_many_cells", row=int(numbers[i]), count=last, expected=width)
    frame = frame.iloc[np.flatnonzero(nonblank), :width].reset_index(drop=True)
    return _Table(file=file, headers=headers, frame=frame, row_numbers=numbers[nonblank], problems=log)


def _read_csv(path: Path, *, file: str, specs: Sequence[ColumnSpec]) -> _Table:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise v.read_failure(exc, path=path, file=file) or exc from None
    text = v.decode_text(raw, file=file)
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
        gone = v.read_failure(exc, path=path, file=file)
        if gone is not None:
            raise gone from None
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
    """Read a GeoJSON/GeoPackage layer or a zipped shapefile with pyogrio into a GeoDataFrame in EPSG:4326."""
    import pyogrio

    if path.suffix.lower() == ".zip":  # ``layer`` names the .shp set inside
        with open_shapefile_zip(path, member=layer) as shp:
            try:
                gdf = pyogrio.read_dataframe(shp.path, encoding=shp.encoding)
            except Exception as exc:  # pyogrio/GDAL raise several types for unreadable data
                raise InputError("inputs.bad_geo", file=shp.file, reason=f"{type(exc).__name__}: {exc}"[:200]) from None
        return _to_wgs84(gdf, file=file)
    try:
        if layer is None and path.suffix.lower() == ".gpkg":
            layers = pyogrio.list_layers(path)
            matching = [str(name) for name, gtype in layers if gtype and want in str(gtype)]
            layer = matching[0] if matching else (str(layers[0][0]) if len(layers) else None)
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio/GDAL raise several types for unreadable data
        gone = v.read_failure(exc, path=path, file=file)
        if gone is not None:
            raise gone from None
        raise InputError("inputs.bad_geo", file=file, reason=f"{type(exc).__name__}: {exc}"[:200]) from None
    return _to_wgs84(gdf, file=file)


def _to_wgs84(gdf: Any, *, file: str) -> Any:
    """The GeoDataFrame in EPSG:4326; one without a CRS is taken to be in it (with a warning)."""
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
