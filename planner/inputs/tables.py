"""Read station lists, demand points and township areas into canonical tables.

Formats (decoded by :mod:`planner.inputs._decode`): CSV (UTF-8, UTF-8 with BOM, UTF-16
with BOM, GBK/GB18030), XLSX, GeoJSON, GeoPackage and zipped shapefiles
(:mod:`planner.inputs.shapezip`), with Chinese or English headers.
Each reader here matches its columns (and says what it did with them:
:mod:`planner.inputs.columns`) and turns them into values with the per-column parsers of
:mod:`planner.inputs._values`; demand kinds come from :mod:`planner.inputs.demand_kinds`.
Coordinates may be
decimal degrees or degrees-minutes-seconds and are converted to WGS-84 from GCJ-02
(Amap/Tencent) or BD-09 (Baidu) when ``coords=`` says so.

Every problem found is collected and reported in one :class:`~planner._errors.InputError`
with the file, row (header = row 1), column and how to fix it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._errors import InputError
from planner.i18n import t
from planner.inputs import _validate as v
from planner.inputs._decode import _Budget, _cell, _load, _read_geo, _Table
from planner.inputs._validate import MAX_INPUT_BYTES, ColumnSpec, ProblemLog
from planner.inputs._values import _as_str, _convert, _coordinates, _ids, _population, _text, _tiers
from planner.inputs.columns import TABLE_KINDS, ColumnReport, column_report
from planner.inputs.coords import System
from planner.inputs.demand_kinds import DemandKinds, demand_kinds
from planner.inputs.limits import CLI_LIMITS, Limits
from planner.inputs.population_source import parse_sources

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)

__all__ = [
    "COLUMN_SPECS",
    "ENTERPRISE_COLUMNS",
    "MAX_INPUT_BYTES",
    "TableRead",
    "combine_demand",
    "read_areas",
    "read_candidates",
    "read_cost_matrix",
    "read_demand",
    "read_demand_files",
    "read_stations",
    "read_supply",
    "read_table",
]

#: Separators of the services list; rejoined with "、".
SERVICE_SEPARATORS = r"[、，,;；/／|]"

_ID = ColumnSpec("id", ("编号", "序号", "id", "站点编号", "code"), hints=("编号", "编码", "代码", "序号", "code"))
_NAME_ALIASES = (
    "名称",
    "村庄名称",
    "村名",
    "村名称",
    "村（社区）名称",
    "村居名称",
    "社区名称",
    "站点名称",
    "站名",
    "单位名称",
    "企业名称",
    "地点名称",
    "点位名称",
    "名字",
    "name",
)
#: Words that make an unused header look like a name column (shown as a likely match, not used).
_NAME_HINTS = ("名称", "名字", "全称", "简称", "村委会", "居委会", "村庄", "行政村", "自然村", "村名", "站名", "name")
_LON = ColumnSpec("lon", ("经度", "lng", "lon", "long", "longitude", "x"), required=True, hints=("经度", "lng", "lon"))
_LAT = ColumnSpec("lat", ("纬度", "lat", "latitude", "y"), required=True, hints=("纬度", "lat"))
_TOWNSHIP = ColumnSpec(
    "township",
    (
        "所属乡镇",
        "所属街道",
        "所属镇街",
        "所属乡镇（街道）",
        "所属乡镇/街道",
        "所属乡镇名称",
        "乡镇（街道）",
        "乡镇/街道",
        "乡镇名称",
        "街道名称",
        "镇街名称",
        "镇街",
        "所属镇",
        "所属乡",
        "乡镇",
        "街道",
        "township",
        "town",
        "subdistrict",
    ),
    hints=("乡镇", "街道", "镇街", "所属镇", "所属乡", "township"),
)

#: A station's supply for the accessibility measures (:mod:`planner.coverage.access`); 服务能力 is the
#: capacity (below): ``planner access --supply-column capacity`` measures with the capacity as supply.
_SUPPLY = ColumnSpec(
    "supply",
    ("规模", "面积", "人员数", "供给", "supply"),
    hints=("规模", "面积", "人员", "供给", "supply", "staff"),
)

#: A station's or candidate site's capacity in people (empty: the tier's default, ``Config.tier_capacity``).
_CAPACITY = ColumnSpec(
    "capacity",
    ("容量", "服务能力", "服务人口上限", "服务容量", "capacity"),
    hints=("容量", "服务能力", "服务人口", "capacity"),
)

STATION_COLUMNS: tuple[ColumnSpec, ...] = (
    _ID,
    ColumnSpec("name", _NAME_ALIASES, required=True, hints=_NAME_HINTS),
    ColumnSpec(
        "tier",
        ("层级", "级别", "类型", "等级", "站点层级", "站点级别", "站点类型", "tier", "level"),
        required=True,
        hints=("层级", "级别", "等级", "类型", "类别", "tier", "level"),
    ),
    _LON,
    _LAT,
    ColumnSpec("organisation", ("运营单位", "主管单位", "organisation", "organization")),
    ColumnSpec("services", ("服务项目", "services")),
    ColumnSpec("address", ("地址", "address")),
    _TOWNSHIP,
    _SUPPLY,
    _CAPACITY,
)
DEMAND_COLUMNS: tuple[ColumnSpec, ...] = (
    _ID,
    ColumnSpec("name", _NAME_ALIASES, hints=_NAME_HINTS),
    ColumnSpec(
        "population",
        (
            "人口",
            "常住人口",
            "户籍人口",
            "人口数",
            "人口数量",
            "总人口",
            "常住人口数",
            "户籍人口数",
            "人数",
            "居民人数",
            "population",
            "pop",
        ),
        hints=("人口", "人数", "居民", "population", "inhabitants", "residents"),
    ),
    _LON,
    _LAT,
    _TOWNSHIP,
    ColumnSpec("kind", ("类型", "类别", "性质", "kind", "type")),
    ColumnSpec("population_source", ("人口来源", "population_source", "population source")),
)
AREA_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "name",
        ("名称", "乡镇", "街道", "乡镇名称", "街道名称", "乡镇（街道）", "乡镇/街道", "镇街", "镇街名称", "name"),
        required=True,
        hints=("名称", "乡镇", "街道", "镇街", "name"),
    ),
)
#: Headers enterprise lists use for their name and their number of workers (the
#: population of an enterprise row), on top of the demand file's.
_ENTERPRISE_HEADERS: Mapping[str, tuple[str, ...]] = {
    "name": ("企业名称", "单位名称", "企业"),
    "population": ("职工人数", "职工数", "员工人数", "员工数", "从业人员", "从业人数", "workers", "employees"),
}
#: Columns of an enterprise file (:func:`read_table` with ``kind="enterprises"``).
ENTERPRISE_COLUMNS: tuple[ColumnSpec, ...] = tuple(
    replace(c, aliases=tuple(dict.fromkeys((*c.aliases, *_ENTERPRISE_HEADERS.get(c.name, ()))))) for c in DEMAND_COLUMNS
)

STATION_OUTPUT = ("id", "name", "tier", "lon", "lat", "organisation", "services", "address", "township", "source_row")
DEMAND_OUTPUT = ("id", "name", "population", "lon", "lat", "township", "kind", "population_source", "source_row")


# =========================================================================== public API
class TableRead(NamedTuple):
    """A table read from a file, with what the reader did with its columns."""

    #: The canonical table (for ``kind="areas"`` a :class:`geopandas.GeoDataFrame`).
    frame: pd.DataFrame
    #: Which header was used for which column, which were not, likely matches, warnings.
    columns: ColumnReport
    #: For demand and enterprise files: where the rows' kinds came from.
    kinds: DemandKinds | None = None


def read_table(
    path: str | Path,
    *,
    kind: str,
    coords: System = "wgs84",
    sheet: str | None = None,
    limits: Limits = CLI_LIMITS,
) -> TableRead:
    """Read an input file of ``kind`` and say what was done with its columns.

    The same reading as :func:`read_stations`, :func:`read_demand`,
    :func:`read_candidates` and :func:`read_areas` (which return the table alone and
    log the report); callers that show the report themselves (the workspace,
    ``planner check``) use this so the file is read once.

    Parameters
    ----------
    path
        The file.
    kind
        ``"stations"``, ``"demand"``, ``"enterprises"`` (every row enterprise workers),
        ``"candidates"`` or ``"areas"``.
    coords
        Coordinate system of the file (see :func:`read_stations`); areas are read in
        the coordinate reference system their file declares, and this is not used.
    sheet
        XLSX sheet or GeoPackage layer; default: the one whose headers match.
    limits
        Refuse files over these limits (default :data:`~planner.inputs.limits.CLI_LIMITS`).

    Returns
    -------
    TableRead
        ``frame`` (the reader's table), ``columns`` (a
        :class:`~planner.inputs.columns.ColumnReport`, not yet logged) and, for demand
        and enterprise files, ``kinds`` (:class:`~planner.inputs.demand_kinds.DemandKinds`).

    Raises
    ------
    InputError
        As the reader of ``kind``; an :class:`~planner.inputs._validate.InputProblemsError`
        carries the column report as ``columns`` when the headers could be matched.
    ValueError
        For an unknown ``kind``.
    """
    if kind == "stations":
        return _read_stations(path, coords=coords, sheet=sheet, limits=limits)
    if kind in ("demand", "enterprises"):
        return _read_demand(path, coords=coords, sheet=sheet, limits=limits, enterprise=kind == "enterprises")
    if kind == "candidates":
        return _read_candidates(path, coords=coords, sheet=sheet, limits=limits)
    if kind == "areas":
        return _read_areas(path, sheet=sheet, limits=limits)
    msg = f"unknown table kind {kind!r}; use one of {TABLE_KINDS}"
    raise ValueError(msg)


def read_stations(
    path: str | Path,
    *,
    coords: System = "wgs84",
    sheet: str | None = None,
    limits: Limits = CLI_LIMITS,
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
    limits
        Refuse files over these limits (bytes, rows, columns, line and cell lengths;
        default :data:`~planner.inputs.limits.CLI_LIMITS`).

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
    return _logged(read_table(path, kind="stations", coords=coords, sheet=sheet, limits=limits))


def _read_stations(path: str | Path, *, coords: System, sheet: str | None, limits: Limits) -> TableRead:
    """Stations table and column report (:func:`read_stations`)."""
    table, found, log = _load(path, STATION_COLUMNS, coords=coords, sheet=sheet, limits=limits, kind="stations")
    report = _report(table, found, log, "stations", STATION_COLUMNS)
    n = table.n_rows
    rows = table.row_numbers
    ids = _ids(table, found, log, rows)
    lon, lat = _coordinates(table, found, log, rows)
    tiers = _tiers(table, found, log, rows)
    supply = _supply(table, found, log, rows, empty_ok=True) if "supply" in found else None
    capacity = _capacities(table, found, log, rows)
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
    if supply is not None:  # only when the file has one: empty cells stay NaN (checked where supply is used)
        out.insert(len(out.columns) - 1, "supply", supply)  # before source_row
    if capacity is not None:
        out.insert(len(out.columns) - 1, "capacity", capacity)
    logger.info("%s: read %d stations", table.file, n)
    return TableRead(_as_str(out, ("id", "name", "tier", "organisation", "services", "address", "township")), report)


def read_demand(
    path: str | Path,
    *,
    coords: System = "wgs84",
    sheet: str | None = None,
    limits: Limits = CLI_LIMITS,
    enterprise: bool = False,
) -> pd.DataFrame:
    """Read demand points (villages, communities, enterprises) with their population.

    The kind of every row (residents of a village or community, or enterprise workers)
    comes from exactly one source: a 类型 column (values such as 村, 社区, 村/社区, 居委会,
    企业, 职工, 工厂, 园区: :data:`planner.inputs.demand_kinds.KIND_WORDS`);
    ``enterprise=True`` (a file of enterprises: every row is enterprise workers, its
    population the number of workers); otherwise every row is residents. Names are
    never used to guess a kind. :func:`read_table` also says where the kinds came from.

    Parameters
    ----------
    path
        The file (CSV, XLSX, GeoJSON or GeoPackage).
    coords
        Coordinate system of the file (see :func:`read_stations`).
    sheet
        XLSX sheet or GeoPackage layer; default: the one whose headers match.
    limits
        Refuse files over these limits (default :data:`~planner.inputs.limits.CLI_LIMITS`).
    enterprise
        The file lists enterprises (its ids generated for rows without one start with
        ``ent-``, so they differ from a demand file's ``row2``...).

    Returns
    -------
    pandas.DataFrame
        Columns ``id, name, population`` (float; 1 for every point when the file has no
        population column), ``lon, lat`` (WGS-84), ``township``, ``kind`` (one of
        :data:`planner.settings.DEMAND_KINDS`), ``population_source`` (a code of
        :mod:`planner.inputs.population_source` such as ``estimate_low``, other text as
        written, ``""`` without a 人口来源 column) and ``source_row``.

    Raises
    ------
    InputError
        Listing every problem found (also negative or non-numeric population, and a
        类型 value that names no kind: once per distinct value, with its rows).
    """
    kind = "enterprises" if enterprise else "demand"
    return _logged(read_table(path, kind=kind, coords=coords, sheet=sheet, limits=limits))


def _read_demand(path: str | Path, *, coords: System, sheet: str | None, limits: Limits, enterprise: bool) -> TableRead:
    """Demand (or enterprise) table, column report and kinds (:func:`read_demand`)."""
    specs = ENTERPRISE_COLUMNS if enterprise else DEMAND_COLUMNS
    kind = "enterprises" if enterprise else "demand"
    table, found, log = _load(path, specs, coords=coords, sheet=sheet, limits=limits, kind=kind)
    report = _report(table, found, log, kind, specs, warnings=_name_warnings(found))
    n = table.n_rows
    rows = table.row_numbers
    ids = _ids(table, found, log, rows, generated_prefix="ent-" if enterprise else "")
    lon, lat = _coordinates(table, found, log, rows)
    population = _population(table, found, log, rows)
    kinds, source = demand_kinds(table, found, log, rows, enterprise=enterprise)
    log.raise_if_any()
    lon, lat = _convert(lon, lat, coords)
    names = _text(table, found, "name", n)
    names = np.where(names == "", ids, names)
    out = pd.DataFrame(
        {
            "id": ids,
            "name": names,
            "population": population,
            "lon": lon,
            "lat": lat,
            "township": _text(table, found, "township", n),
            "kind": kinds,
            "population_source": parse_sources(_text(table, found, "population_source", n)),
            "source_row": rows,
        }
    )
    logger.info("%s: read %d demand points, population %.0f", table.file, n, float(population.sum()))
    frame = _as_str(out, ("id", "name", "township", "kind", "population_source"))
    return TableRead(frame, report, source)


def read_demand_files(
    demand: str | Path,
    *,
    enterprises: str | Path | None = None,
    coords: Mapping[str, System] | System = "wgs84",
    limits: Limits = CLI_LIMITS,
) -> list[TableRead]:
    """Read a demand file and, when given, an enterprise file (:func:`read_table`).

    Parameters
    ----------
    demand, enterprises
        The files.
    coords
        One system for both, or ``{"demand": ..., "enterprises": ...}``.
    limits
        Refuse files over these limits (default :data:`~planner.inputs.limits.CLI_LIMITS`).

    Returns
    -------
    list
        One :class:`TableRead` per file (with its ``kinds``), the demand file first;
        :func:`combine_demand` makes them one table. The column reports are not logged.
    """
    systems: Mapping[str, System] = {"demand": coords, "enterprises": coords} if isinstance(coords, str) else coords
    out = [read_table(demand, kind="demand", coords=systems["demand"], limits=limits)]
    if enterprises is not None:
        out.append(read_table(enterprises, kind="enterprises", coords=systems["enterprises"], limits=limits))
    return out


def combine_demand(parts: Sequence[TableRead]) -> pd.DataFrame:
    """One demand table from the tables of :func:`read_demand_files`, in order.

    Raises
    ------
    InputError
        An id used in two files (every demand point needs its own id), listing each
        such id with its rows in both files.
    """
    seen: dict[str, tuple[str, int]] = {}
    lines: list[str] = []
    for part in parts:
        file = part.columns.file
        clash: dict[str, tuple[str, int]] = {}
        for i, r in zip(part.frame["id"].astype(str), part.frame["source_row"], strict=True):
            if i in seen:
                first_file, first_row = seen[i]
                lines.append(t("inputs.demand_id_in_two_files_line", id=i, first_file=first_file,
                               first_row=first_row, file=file, row=int(r)))  # fmt: skip
            clash[i] = (file, int(r))
        seen.update(clash)
    if lines:
        raise InputError(
            "inputs.demand_id_in_two_files",
            count=len(lines),
            lines="\n".join(lines[:20]) + ("\n…" if len(lines) > 20 else ""),
        )
    return pd.concat([part.frame for part in parts], ignore_index=True)


def read_areas(path: str | Path, *, sheet: str | None = None, limits: Limits = CLI_LIMITS) -> gpd.GeoDataFrame:
    """Read township / subdistrict polygons (GeoJSON or GeoPackage).

    Parameters
    ----------
    path
        The file.
    sheet
        GeoPackage layer; default: the first polygon layer.
    limits
        Refuse files over these limits (default :data:`~planner.inputs.limits.CLI_LIMITS`).

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
    return _logged(read_table(path, kind="areas", sheet=sheet, limits=limits))


def _read_areas(path: str | Path, *, sheet: str | None, limits: Limits) -> TableRead:
    """Areas table and column report (:func:`read_areas`)."""
    import geopandas as gpd
    import shapely

    p, kind = v.check_file(path, max_bytes=limits.file_bytes)
    file = str(path)
    if kind != "geo":
        raise InputError("inputs.areas_need_geo", file=file)
    gdf = _read_geo(
        p, file=file, layer=sheet, want="Polygon", budget=_Budget.of(file=file, limits=limits, kind="areas")
    )
    if len(gdf) == 0:
        raise InputError("inputs.empty_geo", file=file)
    log = ProblemLog(file, row_kind="feature")
    headers = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    found = v.match_columns(headers, AREA_COLUMNS, log=log)
    report = _report((file, headers), found, log, "areas", AREA_COLUMNS)
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
    return TableRead(out, report)


# =========================================================================== columns
def _report(
    table: _Table | tuple[str, Sequence[str]],
    found: dict[str, int],
    log: ProblemLog,
    kind: str,
    specs: Sequence[ColumnSpec],
    *,
    warnings: Sequence[tuple[str, str]] = (),
) -> ColumnReport:
    """The file's column report; also attached to the log, so an error carries it."""
    if "population" in (s.name for s in specs) and "population" not in found:
        warnings = (*warnings, ("inputs.columns.no_population", "population"))
    file, headers = (table.file, table.headers) if isinstance(table, _Table) else table
    report = column_report(file=file, kind=kind, headers=headers, specs=specs, found=found, warnings=warnings)
    log.columns = report
    return report


def _name_warnings(found: dict[str, int]) -> tuple[tuple[str, str], ...]:
    """Without a name column, names come from the ids, or without those from the row numbers: said, not silent."""
    if "name" in found:
        return ()
    return (("inputs.columns.no_name_ids" if "id" in found else "inputs.columns.no_name_rows", "name"),)


def _capacities(
    table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64]
) -> NDArray[np.float64] | None:
    """The capacity column in people (NaN where empty: the tier's default applies), or None without one.

    A cell that is not a number of 0 or more is logged with its row and column.
    """
    if "capacity" not in found:
        return None
    column = table.headers[found["capacity"]]
    cells = table.column(found["capacity"])
    capacity, empty, bad = v.parse_population(cells)
    for i in np.flatnonzero(bad | (~empty & ~bad & (capacity < 0))):
        log.add("inputs.capacity_bad", row=int(rows[i]), column=column, value=str(cells.iloc[i])[:40])
    out: NDArray[np.float64] = np.where(empty, np.nan, capacity).astype(np.float64)
    return out


def _logged(read: TableRead) -> pd.DataFrame:
    read.columns.log()
    return read.frame


# =========================================================================== siting inputs
CANDIDATE_COLUMNS: tuple[ColumnSpec, ...] = (
    _ID,
    ColumnSpec("name", (*_NAME_ALIASES, "地点", "site"), hints=_NAME_HINTS),
    _LON,
    _LAT,
    ColumnSpec(
        "cost",
        ("成本", "造价", "费用", "投资", "cost"),
        hints=("成本", "造价", "费用", "投资", "价格", "cost", "price"),
    ),
    _TOWNSHIP,
    _CAPACITY,
)
#: The columns of each kind of table :func:`read_table` reads (``docs/inputs.md`` lists them).
COLUMN_SPECS: Mapping[str, tuple[ColumnSpec, ...]] = MappingProxyType(
    {
        "stations": STATION_COLUMNS,
        "demand": DEMAND_COLUMNS,
        "enterprises": ENTERPRISE_COLUMNS,
        "candidates": CANDIDATE_COLUMNS,
        "areas": AREA_COLUMNS,
    }
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
    limits: Limits = CLI_LIMITS,
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
    return _logged(read_table(path, kind="candidates", coords=coords, sheet=sheet, limits=limits))


def _read_candidates(path: str | Path, *, coords: System, sheet: str | None, limits: Limits) -> TableRead:
    """Candidates table and column report (:func:`read_candidates`)."""
    table, found, log = _load(path, CANDIDATE_COLUMNS, coords=coords, sheet=sheet, limits=limits, kind="candidates")
    report = _report(table, found, log, "candidates", CANDIDATE_COLUMNS, warnings=_name_warnings(found))
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
    capacity = _capacities(table, found, log, rows)
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
    if capacity is not None:
        out.insert(len(out.columns) - 2, "capacity", capacity)
    logger.info("%s: read %d candidate sites", table.file, n)
    return TableRead(_as_str(out, ("id", "name", "township")), report)


def _supply(table: _Table, found: dict[str, int], log: ProblemLog, rows: np.ndarray, *, empty_ok: bool) -> np.ndarray:
    """The supply column as numbers ≥ 0 (``1.2万`` read as 12000); each bad cell logged with its row and column."""
    column = table.headers[found["supply"]]
    cells = table.column(found["supply"])
    supply, empty, bad = v.parse_population(cells)
    for i in np.flatnonzero(bad | (empty & (not empty_ok))):
        log.add("inputs.supply_bad", row=int(rows[i]), column=column, value=str(cells.iloc[i])[:40])
    for i in np.flatnonzero(~(empty | bad) & (supply < 0)):
        log.add("inputs.supply_bad", row=int(rows[i]), column=column, value=v._fmt(supply[i]))
    return supply


SUPPLY_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("id", ("站点编号", "site_id", "编号", "id", "候选点编号", "candidate_id", "code"), required=True),
    replace(_SUPPLY, required=True),
)


def read_supply(path: str | Path, *, sheet: str | None = None, limits: Limits = CLI_LIMITS) -> pd.DataFrame:
    """Read a supply table ``site_id, supply`` (the stations of a cost matrix, for ``planner access``).

    Returns
    -------
    pandas.DataFrame
        ``id`` (text), ``supply`` (≥ 0) and ``source_row``.

    Raises
    ------
    InputError
        Missing columns, empty or repeated ids, empty, non-numeric or negative supply (with rows).
    """
    table, found, log = _load(path, SUPPLY_COLUMNS, coords="wgs84", sheet=sheet, limits=limits, kind="supply")
    rows = table.row_numbers
    ids = _ids(table, found, log, rows)
    supply = _supply(table, found, log, rows, empty_ok=False)
    log.raise_if_any()
    return pd.DataFrame({"id": pd.Series(ids, dtype=object).astype(str), "supply": supply, "source_row": rows})


def read_cost_matrix(path: str | Path, *, sheet: str | None = None, limits: Limits = CLI_LIMITS) -> pd.DataFrame:
    """Read a long-format travel-time table ``demand_id, site_id, minutes``.

    Raises
    ------
    InputError
        Missing columns, empty ids, non-numeric or negative minutes (with rows).
    """
    table, found, log = _load(path, COST_MATRIX_COLUMNS, coords="wgs84", sheet=sheet, limits=limits, kind="cost_matrix")
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
