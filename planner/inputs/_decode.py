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

import contextlib
import csv
import datetime as dt
import io
import logging
import math
import warnings
from collections.abc import Callable, Generator, Iterable, Sequence
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
from planner.inputs.limits import Limits, check_geopackage, check_workbook, limit_error
from planner.inputs.shapezip import open_shapefile_zip

logger = logging.getLogger(__name__)

#: Rows scanned for the header row (a title row often sits above it).
HEADER_SCAN_ROWS = 10
#: A blank record, shared by every blank line of a file (blank lines cost a pointer each).
_BLANK: list[str] = []


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


@dataclass(frozen=True)
class _Budget:
    """The limits one file is read under: :class:`~planner.inputs.limits.Limits` and its row limit."""

    file: str
    limits: Limits
    rows: int
    rows_name: str

    @classmethod
    def of(cls, *, file: str, limits: Limits, kind: str) -> _Budget:
        """The budget of a file of table ``kind`` (its row limit: :meth:`Limits.rows_for`)."""
        rows, rows_name = limits.rows_for(kind)
        return cls(file=file, limits=limits, rows=rows, rows_name=rows_name)

    def too_many_rows(self) -> InputError:
        return limit_error("inputs.limit.rows", file=self.file, limit=self.rows_name, value=self.rows)

    def record_error(self, record: Sequence[str], *, row: int) -> InputError:
        """The error for a record over :attr:`Limits.columns` or with a cell over :attr:`Limits.cell_chars`."""
        lim = self.limits
        if len(record) > lim.columns:
            return limit_error("inputs.limit.columns", file=self.file, limit="columns", value=lim.columns, row=row)
        return limit_error("inputs.limit.cell_chars", file=self.file, limit="cell_chars", value=lim.cell_chars, row=row)

    def check_cells(self, frame: pd.DataFrame) -> None:
        """Refuse a table of text cells (row = position + 1) with a cell over :attr:`Limits.cell_chars`."""
        if frame.empty:
            return
        lengths = np.column_stack([frame[c].str.len().to_numpy(dtype=np.int64) for c in frame.columns])
        over = np.flatnonzero((lengths > self.limits.cell_chars).any(axis=1))
        if len(over):
            value = self.limits.cell_chars
            raise limit_error(
                "inputs.limit.cell_chars", file=self.file, limit="cell_chars", value=value, row=int(over[0]) + 1
            )

    @property
    def most_records(self) -> int:
        """Non-blank records that surely hold more data rows than the limit.

        The header may sit below up to :data:`HEADER_SCAN_ROWS` title rows.
        """
        return self.rows + HEADER_SCAN_ROWS

    def collect(
        self, records: Iterable[list[str]], *, into: list[list[str]], line: Callable[[], int] | None = None
    ) -> list[list[str]]:
        """Append the records to ``into``, checked one by one; refuse once they are surely over the row limit.

        Non-blank records beyond :attr:`most_records` are surely too many; blank ones
        count as well beyond as many again (a file of blank lines is refused too).
        ``line`` says where the last record was (a CSV reader's line), for the message;
        default: its position.
        """
        out = into
        filled = 0
        most = self.most_records
        columns, cell_chars = self.limits.columns, self.limits.cell_chars
        for rec in records:
            if len(rec) > columns or (rec and max(map(len, rec)) > cell_chars):
                raise self.record_error(rec, row=line() if line is not None else len(out) + 1)
            if any(rec):
                filled += 1
                out.append(rec)
            else:
                out.append(_BLANK)
            if filled > most or len(out) > 2 * most:
                raise self.too_many_rows()
        return out


def _load(
    path: str | Path, specs: Sequence[ColumnSpec], *, coords: str, sheet: str | None, limits: Limits, kind: str
) -> tuple[_Table, dict[str, int], ProblemLog]:
    if coords not in SYSTEMS:
        raise InputError("coords.unknown_system", value=coords, systems="、".join(SYSTEMS))
    p, file_kind = v.check_file(path, max_bytes=limits.file_bytes)
    file = str(path)
    budget = _Budget.of(file=file, limits=limits, kind=kind)
    if file_kind == "csv":
        table = _read_csv(p, file=file, specs=specs, budget=budget)
    elif file_kind == "xlsx":
        table = _read_xlsx(p, file=file, specs=specs, sheet=sheet, budget=budget)
    else:
        table = _read_geo_table(p, file=file, layer=sheet, budget=budget)
    if table.n_rows > budget.rows:
        raise budget.too_many_rows()
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


def _read_csv(path: Path, *, file: str, specs: Sequence[ColumnSpec], budget: _Budget) -> _Table:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise v.read_failure(exc, path=path, file=file) or exc from None
    text = v.decode_text(raw, file=file)
    _check_lines(text, budget=budget)  # before anything splits a line into cells
    candidates = ["\t", ",", ";", "|"] if path.suffix.lower() == ".tsv" else [",", "\t", ";", "|"]
    first_lines = "\n".join(text[:65536].splitlines()[: 3 * HEADER_SCAN_ROWS])
    best: tuple[tuple[int, int, int], str] | None = None
    for delim in candidates:
        records = _csv_records(first_lines, delim, file=file)
        _, score = _best_header(records, specs)
        width = max((len(r) for r in records), default=0)
        key = (score[0], score[1], width)
        if best is None or key > best[0]:
            best = (key, delim)
    delim = best[1] if best else ","
    if text.count("\n") > budget.most_records:  # count the records (cheaply) before keeping them
        with contextlib.suppress(csv.Error):  # the reading below reports it
            if sum(map(any, csv.reader(io.StringIO(text, newline=""), delimiter=delim))) > budget.most_records:
                raise budget.too_many_rows()
    records = _csv_records(text, delim, file=file, budget=budget)
    log = ProblemLog(file)
    return _table_from_records(file, records, specs, log)


def _check_lines(text: str, *, budget: _Budget) -> None:
    """Refuse text with a line longer than :attr:`Limits.line_chars` (a 25-million-column header).

    Lines are measured without splitting them into cells, so such a line costs its
    characters once, not a list of millions of cells.
    """
    limit = budget.limits.line_chars
    if max(map(len, io.StringIO(text, newline="")), default=0) <= limit:
        return
    buf = io.StringIO(text, newline="")
    number = 0
    while line := buf.readline(limit + 2):  # + 2: room for the line break
        number += 1
        if len(line.rstrip("\r\n")) > limit:
            raise limit_error("inputs.limit.line_chars", file=budget.file, limit="line_chars", value=limit, line=number)


def _csv_records(text: str, delim: str, *, file: str, budget: _Budget | None = None) -> list[list[str]]:
    """The records of ``text``; with a ``budget`` checked against its limits, and malformed CSV raises.

    Without one (trying delimiters on the top lines), the records read before an error.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    records: list[list[str]] = []
    try:
        if budget is None:
            records.extend(reader)
        else:
            budget.collect(reader, into=records, line=lambda: reader.line_num)
    except csv.Error as exc:
        if budget is not None:
            raise InputError("inputs.csv_malformed", file=file, line=reader.line_num, reason=str(exc)) from None
    return records


def _sheet_rows(ws: Any, *, budget: _Budget, max_row: int | None = None) -> Generator[list[str], None, None]:
    """The rows of a read-only sheet as text, refused at once when its dimension is over the limits.

    A sheet's dimension (``<dimension ref="A1:F3000001">``) may be missing or wrong, so
    :meth:`_Budget.collect` counts the rows as they stream as well; a dimension wider
    than the column limit is refused before any row is read (every row would be padded
    to it).
    """
    lim = budget.limits
    if ws.max_column is not None and ws.max_column > lim.columns:
        raise limit_error("inputs.limit.columns", file=budget.file, limit="columns", value=lim.columns, row=1)
    if max_row is None and ws.max_row is not None and ws.max_row > 2 * (budget.rows + HEADER_SCAN_ROWS):
        raise budget.too_many_rows()
    rows = ws.iter_rows(max_row=max_row, max_col=ws.max_column, values_only=True)
    try:
        for row in rows:
            yield [_cell(c) for c in row]
    finally:
        rows.close()  # closes the sheet's stream in the workbook, also when the limits stop the reading


def _read_xlsx(path: Path, *, file: str, specs: Sequence[ColumnSpec], sheet: str | None, budget: _Budget) -> _Table:
    import openpyxl

    check_workbook(path, file=file, limits=budget.limits, rows=2 * budget.most_records, rows_name=budget.rows_name)
    records: list[list[str]] = []
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
                    with contextlib.closing(_sheet_rows(wb[name], budget=budget, max_row=3 * HEADER_SCAN_ROWS)) as rows:
                        top = budget.collect(rows, into=[])
                    _, score = _best_header(top, specs)
                    if chosen is None or score > chosen[0]:
                        chosen = (score, name)
                if chosen:
                    with contextlib.closing(_sheet_rows(wb[chosen[1]], budget=budget)) as rows:
                        budget.collect(rows, into=records)
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


def _read_geo(path: Path, *, file: str, layer: str | None, want: str, budget: _Budget) -> Any:
    """Read a GeoJSON/GeoPackage layer or a zipped shapefile with pyogrio into a GeoDataFrame in EPSG:4326.

    A GeoPackage is checked first (:func:`planner.inputs.limits.check_geopackage`); a zip
    when it is opened (:func:`planner.inputs.shapezip.open_shapefile_zip`); at most one
    feature over the row limit is read.
    """
    if path.suffix.lower() == ".zip":  # ``layer`` names the .shp set inside
        with open_shapefile_zip(path, member=layer) as shp:
            gdf = _read_features(shp.path, file=shp.file, budget=budget, encoding=shp.encoding)
    else:
        if path.suffix.lower() == ".gpkg":
            check_geopackage(path, file=file, limits=budget.limits)
        gdf = _read_features(path, file=file, budget=budget, layer=layer, want=want)
    return _to_wgs84(_within_limits(gdf, file=file, budget=budget), file=file)


def _read_features(
    path: Path, *, file: str, budget: _Budget, layer: str | None = None, want: str = "", encoding: str | None = None
) -> Any:
    """A layer's features with pyogrio, at most one over the row limit; ``file`` names it in messages.

    With no ``layer``, a GeoPackage's first layer of geometry type ``want`` is read.
    """
    import pyogrio

    try:
        if layer is None and path.suffix.lower() == ".gpkg":
            layers = pyogrio.list_layers(path)
            matching = [str(name) for name, gtype in layers if gtype and want in str(gtype)]
            layer = matching[0] if matching else (str(layers[0][0]) if len(layers) else None)
        return pyogrio.read_dataframe(path, layer=layer, encoding=encoding, max_features=budget.rows + 1)
    except Exception as exc:  # pyogrio/GDAL raise several types for unreadable data
        gone = v.read_failure(exc, path=path, file=file)
        if gone is not None:
            raise gone from None
        raise InputError("inputs.bad_geo", file=file, reason=f"{type(exc).__name__}: {exc}"[:200]) from None


def _within_limits(gdf: Any, *, file: str, budget: _Budget) -> Any:
    """``gdf`` if it is a layer with geometry within the row and column limits; else the error."""
    if not hasattr(gdf, "geometry"):
        raise InputError("inputs.bad_geo", file=file, reason="no geometry")
    if len(gdf) > budget.rows:
        raise budget.too_many_rows()
    if len(gdf.columns) > budget.limits.columns + 1:  # + 1: the geometry
        raise limit_error("inputs.limit.columns", file=file, limit="columns", value=budget.limits.columns, row=1)
    return gdf


def _to_wgs84(gdf: Any, *, file: str) -> Any:
    """The GeoDataFrame in EPSG:4326; one without a CRS is taken to be in it (with a warning)."""
    if gdf.crs is None:
        logger.warning("%s: no coordinate reference system; assuming EPSG:4326 (longitude/latitude)", file)
        gdf = gdf.set_crs(4326)
    elif not gdf.crs.equals("EPSG:4326"):
        try:
            gdf = gdf.to_crs(4326)
        except Exception as exc:  # pyproj errors for unknown or broken CRS definitions
            raise InputError("inputs.bad_geo", file=file, reason=f"CRS: {exc}"[:200]) from None
    return gdf


def _read_geo_table(path: Path, *, file: str, layer: str | None, budget: _Budget) -> _Table:
    import shapely

    gdf = _read_geo(path, file=file, layer=layer, want="Point", budget=budget)
    log = ProblemLog(file, row_kind="feature")
    headers = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    attrs = gdf[headers] if headers else pd.DataFrame(index=gdf.index)
    frame = _text_frame([[_cell(x) for x in rec] for rec in attrs.itertuples(index=False, name=None)], len(headers))
    budget.check_cells(frame)
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
