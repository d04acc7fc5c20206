"""Limits on the work an input file may cause: bytes, rows, columns, line and cell lengths.

A file under the byte limit can still cost minutes and gigabytes: a 1.9 MB workbook
that expands to three million rows, a CSV header of 25 million columns, a GeoPackage
whose layer is a recursive view. The readers check these limits while streaming, before
anything is materialised, and refuse with a message naming the file, the limit and how
to change it.

:data:`CLI_LIMITS` are the command line's defaults (``planner coverage``, ``site``,
``check``), :data:`APP_LIMITS` the app's (one server shares its memory between
sessions). Both can be changed without editing code: ``--limits demand_rows=2000000``
on the command line, or the environment variable :data:`LIMITS_ENV` (same syntax,
read by :func:`cli_limits` and :func:`app_limits`). The README's "Limits" section gives
the peak memory measured at the limits (``benchmarks/limits_memory.py``).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import IO

from planner._errors import ConfigError, InputError, PlannerError

__all__ = [
    "APP_LIMITS",
    "CLI_LIMITS",
    "LIMITS_ENV",
    "Limits",
    "app_limits",
    "check_geopackage",
    "check_workbook",
    "cli_limits",
    "limit_error",
]

#: Environment variable with limit overrides, ``name=value,...`` (e.g. ``demand_rows=2000000``).
LIMITS_ENV = "PLANNER_LIMITS"


@dataclass(frozen=True)
class Limits:
    """How much work one input file may cause.

    Attributes
    ----------
    file_bytes
        Largest file (bytes).
    station_rows
        Data rows of a station list (also candidate sites).
    demand_rows
        Data rows of a demand or enterprise file (also a cost matrix).
    area_features
        Features of a township-areas file.
    columns
        Columns of a table (cells in one row).
    line_chars
        Characters in one line of a CSV file (the header too).
    cell_chars
        Characters in one cell (a name, an address, a list of services).
    xlsx_unzipped_bytes
        Uncompressed size of all the parts of a workbook (a zip bomb is refused before
        it is opened).
    gpkg_metadata_rows
        Rows of a GeoPackage's metadata tables (``gpkg_metadata``,
        ``gpkg_metadata_reference``); GDAL reads them all when it opens the file.
    gpkg_tables
        Tables, views, indexes and triggers of a GeoPackage (``sqlite_master`` entries).
    """

    file_bytes: int = 200 * 1024 * 1024
    station_rows: int = 10_000
    demand_rows: int = 300_000
    area_features: int = 10_000
    columns: int = 500
    line_chars: int = 100_000
    cell_chars: int = 1_000
    xlsx_unzipped_bytes: int = 1024 * 1024 * 1024
    gpkg_metadata_rows: int = 1_000
    gpkg_tables: int = 2_000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError("limits.bad_value", name=f.name, value=value, names=", ".join(_NAMES))

    def rows_for(self, kind: str) -> tuple[int, str]:
        """The row limit of a table ``kind`` (:func:`planner.inputs.tables.read_table`) and its name."""
        name = _ROW_LIMITS.get(kind, "demand_rows")
        value: int = getattr(self, name)
        return value, name

    def with_overrides(self, text: str | Mapping[str, int] | None) -> Limits:
        """These limits with some changed: ``"demand_rows=2000000,cell_chars=5000"`` or a mapping.

        Raises
        ------
        ConfigError
            An unknown name or a value that is not a positive whole number.
        """
        if not text:
            return self
        items = text.items() if isinstance(text, Mapping) else _parse(text)
        changes: dict[str, int] = {}
        for name, value in items:
            if name not in _NAMES:
                raise ConfigError("limits.unknown", name=name, names=", ".join(_NAMES))
            try:
                changes[name] = int(str(value).replace("_", ""))
            except ValueError:
                raise ConfigError("limits.bad_value", name=name, value=value, names=", ".join(_NAMES)) from None
        return replace(self, **changes)


def _parse(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise ConfigError("limits.unknown", name=part.strip(), names=", ".join(_NAMES))
        out.append((name.strip(), value.strip()))
    return out


_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Limits))
_ROW_LIMITS: Mapping[str, str] = {
    "stations": "station_rows",
    "candidates": "station_rows",
    "demand": "demand_rows",
    "enterprises": "demand_rows",
    "cost_matrix": "demand_rows",
    "supply": "station_rows",
    "areas": "area_features",
}

#: The command line's limits: stay under 4 GB of memory at them (README "Limits").
CLI_LIMITS = Limits()
#: The app's limits: one session stays under 2 GB at them (README "Limits").
APP_LIMITS = Limits(file_bytes=100 * 1024 * 1024, station_rows=5_000, demand_rows=200_000, area_features=5_000)


def cli_limits(overrides: str | None = None, *, environ: Mapping[str, str] = os.environ) -> Limits:
    """:data:`CLI_LIMITS` with :data:`LIMITS_ENV`, then ``overrides`` (the ``--limits`` option), applied."""
    return CLI_LIMITS.with_overrides(environ.get(LIMITS_ENV)).with_overrides(overrides)


def app_limits(*, environ: Mapping[str, str] = os.environ) -> Limits:
    """:data:`APP_LIMITS` with :data:`LIMITS_ENV` applied (set where the server is started)."""
    return APP_LIMITS.with_overrides(environ.get(LIMITS_ENV))


# --------------------------------------------------------------------------- file checks
def limit_error(key: str, *, file: str, limit: str, value: int, **params: object) -> InputError:
    """The error for a file over the limit ``limit`` (its name; the message says how to raise it)."""
    return InputError(key, file=file, limit=f"{value:,}", option=f"{limit}={value * 2}", env=LIMITS_ENV, **params)


def check_workbook(path: str | Path, *, file: str, limits: Limits, rows: int, rows_name: str) -> None:
    """Refuse a workbook that would unzip too large, or a sheet without dimension with too many rows.

    Reads the zip's table of contents first (a zip bomb, over
    :attr:`Limits.xlsx_unzipped_bytes`, is refused before it is opened). A sheet that does
    not declare its size (no ``<dimension>``) is parsed in full by openpyxl as soon as
    the workbook is opened, so its rows are counted here first, in the raw stream, and
    counting stops at ``rows`` (beyond which the caller's row limit, the attribute
    ``rows_name`` of ``limits``, is surely passed; the message names that limit).

    Raises
    ------
    InputError
        ``inputs.limit.xlsx_unzipped``, ``inputs.limit.rows``, or ``inputs.bad_xlsx`` for
        a file that is no zip.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = sum(info.file_size for info in infos)
            if total > limits.xlsx_unzipped_bytes:
                raise limit_error(
                    "inputs.limit.xlsx_unzipped",
                    file=file,
                    limit="xlsx_unzipped_bytes",
                    value=limits.xlsx_unzipped_bytes,
                    size_mb=f"{total / 2**20:,.0f}",
                )
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with archive.open(info) as sheet:
                        if _undeclared_rows_over(sheet, rows=rows):
                            raise limit_error(
                                "inputs.limit.rows", file=file, limit=rows_name, value=getattr(limits, rows_name)
                            )
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError("inputs.bad_xlsx", file=file, reason=f"{type(exc).__name__}: {exc}"[:200]) from None


#: A row element of sheet XML, with or without a namespace prefix.
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
#: Bytes of sheet XML read at a time while counting rows.
_CHUNK_BYTES = 1 << 20


def _undeclared_rows_over(sheet: IO[bytes], *, rows: int) -> bool:
    """Whether sheet XML without a ``<dimension>`` holds more than ``rows`` rows (counted as it streams)."""
    head = sheet.read(_CHUNK_BYTES)
    data_at = head.find(b"sheetData")
    if head.find(b"<dimension") != -1 and (data_at == -1 or head.find(b"<dimension") < data_at):
        return False  # declared: openpyxl reads the size from it, and the reader checks it
    count, tail = 0, b""
    chunk = head
    while chunk:
        block = tail + chunk
        count += len(_ROW_TAG.findall(block))
        if count > rows:
            return True
        tail = block[-16:]
        count -= len(_ROW_TAG.findall(tail))  # counted again with the next chunk
        chunk = sheet.read(_CHUNK_BYTES)
    return False


def check_geopackage(path: str | Path, *, file: str, limits: Limits, error: type[PlannerError] = InputError) -> None:
    """Refuse a GeoPackage that would make GDAL work without end, before GDAL opens it.

    Reads the file with :mod:`sqlite3` (read-only) and only its schema and row counts of
    small tables: views are refused (a view's rows are computed on every read, and a
    recursive one never ends: layers must be tables), and so are more than
    :attr:`Limits.gpkg_tables` schema entries or more than :attr:`Limits.gpkg_metadata_rows`
    rows in a metadata table (GDAL reads them all on opening the file).

    Raises
    ------
    InputError
        ``inputs.limit.gpkg_view``, ``inputs.limit.gpkg_tables``,
        ``inputs.limit.gpkg_metadata``.
    PlannerError
        ``inputs.bad_geo`` as ``error`` (:class:`~planner._errors.NetworkError` for a
        road network) for a file that is no SQLite database.
    """
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
            (entries,) = con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if entries > limits.gpkg_tables:
                raise limit_error("inputs.limit.gpkg_tables", file=file, limit="gpkg_tables", value=limits.gpkg_tables)
            views = [str(name) for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'view'")]
            if views:
                raise InputError("inputs.limit.gpkg_view", file=file, views="、".join(views[:5]))
            tables = {str(name) for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            cap = limits.gpkg_metadata_rows
            for table in ("gpkg_metadata", "gpkg_metadata_reference"):
                if table in tables:
                    # count at most cap + 1 rows: reading more would be the work refused here
                    (rows,) = con.execute(
                        f'SELECT count(*) FROM (SELECT 1 FROM "{table}" LIMIT ?)', (cap + 1,)
                    ).fetchone()
                    if rows > cap:
                        raise limit_error(
                            "inputs.limit.gpkg_metadata", file=file, limit="gpkg_metadata_rows", value=cap, table=table
                        )
    except sqlite3.Error as exc:
        raise error("inputs.bad_geo", file=file, reason=f"{type(exc).__name__}: {exc}"[:200]) from None
