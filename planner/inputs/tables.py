"""Read station lists, demand points and township areas into canonical tables.

Formats (decoded by :mod:`planner.inputs._decode`): CSV (UTF-8, UTF-8 with BOM, UTF-16
with BOM, GBK/GB18030), XLSX, GeoJSON and GeoPackage, with Chinese or English headers.
Each reader here matches its columns and turns them into values. Coordinates may be
decimal degrees or degrees-minutes-seconds and are converted to WGS-84 from GCJ-02
(Amap/Tencent) or BD-09 (Baidu) when ``coords=`` says so.

Every problem found is collected and reported in one :class:`~planner._errors.InputError`
with the file, row (header = row 1), column and how to fix it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._errors import ConfigError, InputError
from planner.i18n import get_language, t
from planner.inputs import _validate as v
from planner.inputs._decode import _cell, _load, _read_geo, _Table
from planner.inputs._validate import MAX_INPUT_BYTES, ColumnSpec, ProblemLog
from planner.inputs.coords import System, to_wgs84
from planner.settings import DEMAND_KINDS, DemandKind, parse_tier

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)

__all__ = [
    "KIND_WORDS",
    "MAX_INPUT_BYTES",
    "DemandKinds",
    "combine_demand",
    "kind_of",
    "read_areas",
    "read_candidates",
    "read_cost_matrix",
    "read_demand",
    "read_demand_files",
    "read_demand_with_kinds",
    "read_stations",
]

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
#: Headers enterprise lists use for their name and their number of workers (the
#: population of an enterprise row), on top of the demand file's.
_ENTERPRISE_HEADERS: Mapping[str, tuple[str, ...]] = {
    "name": ("企业名称", "单位名称", "企业"),
    "population": ("职工人数", "职工数", "员工人数", "员工数", "从业人员", "从业人数", "workers", "employees"),
}
#: Columns of an enterprise file (:func:`read_demand_with_kinds` with ``enterprise=True``).
ENTERPRISE_COLUMNS: tuple[ColumnSpec, ...] = tuple(
    replace(c, aliases=(*c.aliases, *_ENTERPRISE_HEADERS.get(c.name, ()))) for c in DEMAND_COLUMNS
)
AREA_COLUMNS: tuple[ColumnSpec, ...] = (ColumnSpec("name", ("名称", "乡镇", "街道", "name"), required=True),)

STATION_OUTPUT = ("id", "name", "tier", "lon", "lat", "organisation", "services", "address", "township", "source_row")
DEMAND_OUTPUT = ("id", "name", "population", "lon", "lat", "township", "kind", "source_row")

#: Values of a demand file's 类型 column and the kind they name, as matched: NFKC (full-width
#: forms become half-width), lower case, no spaces or brackets, separators 、，,|／ as "/".
#: A demand point's *name* is never used: a community called 化肥厂社区 is not a factory.
KIND_WORDS: Mapping[str, DemandKind] = {
    **dict.fromkeys(("村", "行政村", "自然村", "村庄", "村委会", "村民委员会", "village"), "village"),
    **dict.fromkeys(("社区", "居委会", "居民委员会", "社区居委会", "城市社区", "community"), "community"),
    **dict.fromkeys(
        ("村/社区", "社区/村", "村社区", "社区村", "村居", "居民", "居民点", "居民区", "residents", "resident"),
        "residents",
    ),
    **dict.fromkeys(
        ("企业", "职工", "企业职工", "职工之家", "企业职工之家", "工厂", "厂", "厂矿", "公司", "园区", "工业园",
         "工业园区", "产业园", "产业园区", "enterprise", "company", "factory", "workers", "employees"),
        "enterprise",
    ),
}  # fmt: skip
#: Endings that name a kind when the whole value is not in :data:`KIND_WORDS` (城中村, 民营企业,
#: 经济开发区园区...); checked in this order, only for values without a separator.
_KIND_ENDINGS: tuple[tuple[str, DemandKind], ...] = (
    ("村民委员会", "village"),
    ("居民委员会", "community"),
    ("村委会", "village"),
    ("居委会", "community"),
    ("社区", "community"),
    ("村", "village"),
    ("企业", "enterprise"),
    ("公司", "enterprise"),
    ("工厂", "enterprise"),
    ("园区", "enterprise"),
)
_KIND_SEPARATORS = re.compile(r"[、,;|/\\]+")
_KIND_DROP = str.maketrans("", "", "()[]{}<>【】《》\"'“”")


@dataclass(frozen=True)
class DemandKinds:
    """Where the kinds of one demand file's rows came from: shown by ``check``, the CLI log and the app.

    Attributes
    ----------
    file
        The file as the user named it (:meth:`describe` shows its name without folders).
    source
        ``"column"``: a 类型 column; ``"file"``: an enterprise file (every row enterprise
        workers); ``"none"``: neither (every row residents); ``"table"``: a table built in
        code with a ``kind`` column (the demo county).
    counts
        Rows per kind (:data:`planner.settings.DEMAND_KINDS`).
    column, column_number
        Header and 1-based position of the 类型 column (``"column"``), or of a 类型 column
        an enterprise file has and that is not used (``"file"``).
    blank
        Rows whose 类型 cell is empty (counted as residents).
    """

    file: str
    source: Literal["column", "file", "none", "table"]
    counts: Mapping[str, int] = field(default_factory=dict)
    column: str = ""
    column_number: int = 0
    blank: int = 0

    @classmethod
    def of_table(cls, demand: pd.DataFrame, *, file: str = "") -> DemandKinds:
        """The kinds of a demand table built in code (``""`` or a missing ``kind`` column: residents)."""
        kinds = demand["kind"].fillna("").astype(str).replace("", "residents") if "kind" in demand else None
        if kinds is None:
            return cls(file=file, source="none", counts={"residents": len(demand)})
        return cls(file=file, source="table", counts=_kind_counts(kinds.to_numpy(dtype=object)))

    def describe(self, *, lang: str | None = None) -> str:
        """One line: where the kinds came from and how many rows each kind has."""
        file = Path(self.file).name or self.file
        counts = _join(
            [f"{t(f'demand_kind.{k}', lang=lang)} {n:,}" for k, n in self.counts.items() if n],
            lang=lang,
        )
        if self.source == "column":
            blank = t("inputs.kinds.blank", lang=lang, count=self.blank) if self.blank else ""
            key, params = "inputs.kinds.column", {"column": self.column, "number": self.column_number}
            return t(key, lang=lang, file=file, counts=counts, blank=blank, **params)
        if self.source == "file":
            unused = t("inputs.kinds.column_unused", lang=lang, column=self.column) if self.column else ""
            n = sum(self.counts.values())
            return t("inputs.kinds.file", lang=lang, file=file, count=n, unused=unused)
        if self.source == "table":
            return t("inputs.kinds.table", lang=lang, file=file or "—", counts=counts)
        return t("inputs.kinds.none", lang=lang, file=file, count=sum(self.counts.values()))


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
    enterprise: bool = False,
) -> pd.DataFrame:
    """Read demand points (villages, communities, enterprises) with their population.

    The table of :func:`read_demand_with_kinds`, without the description of the kinds.
    """
    return read_demand_with_kinds(path, coords=coords, sheet=sheet, max_bytes=max_bytes, enterprise=enterprise)[0]


def read_demand_with_kinds(
    path: str | Path,
    *,
    coords: System = "wgs84",
    sheet: str | None = None,
    max_bytes: int = MAX_INPUT_BYTES,
    enterprise: bool = False,
) -> tuple[pd.DataFrame, DemandKinds]:
    """Read demand points with their population, and say where their kinds came from.

    The kind of every row (residents of a village or community, or enterprise workers)
    comes from exactly one source: a 类型 column (values such as 村, 社区, 村/社区, 居委会,
    企业, 职工, 工厂, 园区: :data:`KIND_WORDS`); ``enterprise=True`` (a file of enterprises:
    every row is enterprise workers, its population the number of workers); otherwise
    every row is residents. Names are never used to guess a kind.

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
    enterprise
        The file lists enterprises (its ids generated for rows without one start with
        ``ent-``, so they differ from a demand file's ``row2``...).

    Returns
    -------
    pandas.DataFrame
        Columns ``id, name, population`` (float; 1 for every point when the file has no
        population column), ``lon, lat`` (WGS-84), ``township``, ``kind`` (one of
        :data:`planner.settings.DEMAND_KINDS`) and ``source_row``.
    DemandKinds
        Where the kinds came from, with the rows per kind (:meth:`DemandKinds.describe`).

    Raises
    ------
    InputError
        Listing every problem found (also negative or non-numeric population, and a
        类型 value that names no kind: once per distinct value, with its rows).
    """
    specs = ENTERPRISE_COLUMNS if enterprise else DEMAND_COLUMNS
    table, found, log = _load(path, specs, coords=coords, sheet=sheet, max_bytes=max_bytes)
    n = table.n_rows
    rows = table.row_numbers
    ids = _ids(table, found, log, rows, generated_prefix="ent-" if enterprise else "")
    lon, lat = _coordinates(table, found, log, rows)
    population = _population(table, found, log, rows)
    kinds, source = _kinds(table, found, log, rows, enterprise=enterprise)
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
            "source_row": rows,
        }
    )
    logger.info("%s: read %d demand points, population %.0f", table.file, n, float(population.sum()))
    logger.info("%s", source.describe())
    return _as_str(out, ("id", "name", "township", "kind")), source


def read_demand_files(
    demand: str | Path,
    *,
    enterprises: str | Path | None = None,
    coords: System = "wgs84",
) -> list[tuple[str, pd.DataFrame, DemandKinds]]:
    """Read a demand file and, when given, an enterprise file (:func:`read_demand_with_kinds`).

    Returns
    -------
    list
        ``(file, table, kinds)`` per file, the demand file first; :func:`combine_demand`
        makes them one table.
    """
    files: list[tuple[str | Path, bool]] = [(demand, False)]
    if enterprises is not None:
        files.append((enterprises, True))
    out = []
    for path, enterprise in files:
        table, kinds = read_demand_with_kinds(path, coords=coords, enterprise=enterprise)
        out.append((str(path), table, kinds))
    return out


def combine_demand(parts: Sequence[tuple[str, pd.DataFrame, DemandKinds]]) -> pd.DataFrame:
    """One demand table from the tables of :func:`read_demand_files`, in order.

    Raises
    ------
    InputError
        An id used in two files (every demand point needs its own id), listing each
        such id with its rows in both files.
    """
    seen: dict[str, tuple[str, int]] = {}
    lines: list[str] = []
    for file, table, _ in parts:
        clash: dict[str, tuple[str, int]] = {}
        for i, r in zip(table["id"].astype(str), table["source_row"], strict=True):
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
    return pd.concat([table for _, table, _ in parts], ignore_index=True)


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


# =========================================================================== columns
def _text(table: _Table, found: dict[str, int], name: str, n: int) -> NDArray[Any]:
    if name not in found:
        return np.full(n, "", dtype=object)
    return table.column(found[name]).to_numpy(dtype=object)


def _ids(
    table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64], *, generated_prefix: str = ""
) -> NDArray[Any]:
    n = table.n_rows
    generated = np.array([f"{generated_prefix}row{r}" for r in rows], dtype=object)
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


def _kind_key(value: object) -> str:
    """A 类型 value as matched against :data:`KIND_WORDS`."""
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    text = re.sub(r"\s+", "", text).translate(_KIND_DROP)
    return _KIND_SEPARATORS.sub("/", text).strip("/")


def kind_of(value: object) -> DemandKind | None:
    """The demand kind a 类型 value names (:data:`KIND_WORDS`, then a few endings); ``None`` if none."""
    return _kind_of_key(_kind_key(value))


def _kind_of_key(key: str) -> DemandKind | None:
    kind = KIND_WORDS.get(key)
    if kind is None and key and "/" not in key:
        kind = next((k for ending, k in _KIND_ENDINGS if key.endswith(ending)), None)
    return kind


def _kind_counts(kinds: NDArray[Any]) -> dict[str, int]:
    values, counts = np.unique(np.asarray(kinds, dtype=str), return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist(), strict=True))
    return {k: int(found[k]) for k in DEMAND_KINDS if k in found}


def _row_ranges(rows: Sequence[int], *, limit: int = 8) -> str:
    """``[2, 3, 4, 7]`` → ``2–4, 7`` (at most ``limit`` ranges, then ``…``)."""
    spans: list[str] = []
    ordered = sorted(rows)
    start = prev = ordered[0]
    for r in [*ordered[1:], None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        spans.append(str(start) if start == prev else f"{start}–{prev}")
        if r is not None:
            start = prev = r
    return ", ".join(spans[:limit]) + (", …" if len(spans) > limit else "")


def _join(items: Sequence[str], *, lang: str | None) -> str:
    return ("、" if (lang or get_language()) == "zh" else ", ").join(items)


def _kinds(
    table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64], *, enterprise: bool
) -> tuple[NDArray[Any], DemandKinds]:
    """Kind of every row and where it came from (see :func:`read_demand_with_kinds`)."""
    n = table.n_rows
    column = table.headers[found["kind"]] if "kind" in found else ""
    number = found["kind"] + 1 if "kind" in found else 0
    if enterprise:
        if column:
            logger.info(
                "%s: every row of an enterprise file is enterprise workers; column %r not used", table.file, column
            )
        source = DemandKinds(table.file, "file", {"enterprise": n}, column=column, column_number=number)
        return np.full(n, "enterprise", dtype=object), source
    if not column:
        logger.info("%s: no 类型 column; every row counts as residents (names are not used to guess)", table.file)
        return np.full(n, "residents", dtype=object), DemandKinds(table.file, "none", {"residents": n})
    values = table.column(found["kind"])
    codes, uniques = pd.factorize(values.map(_kind_key))  # 学校 and 学 校 are one value
    parsed = [_kind_of_key(key) if key else "residents" for key in uniques]  # once per distinct value
    for j in range(len(uniques)):
        if parsed[j] is None:
            where = np.flatnonzero(codes == j)
            log.add(
                "inputs.unknown_kind",
                column=column,
                value=str(values.iloc[where[0]])[:40],
                rows=_row_ranges([int(rows[i]) for i in where]),
                count=len(where),
            )
    kinds = np.asarray([k or "" for k in parsed], dtype=object)[codes] if n else np.empty(0, dtype=object)
    blank = int((np.asarray(uniques, dtype=object)[codes] == "").sum()) if n else 0
    return kinds, DemandKinds(
        table.file, "column", _kind_counts(kinds), column=column, column_number=number, blank=blank
    )


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
