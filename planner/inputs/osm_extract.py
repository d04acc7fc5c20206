"""Candidate stations and administrative areas from an OSM file: reading and classifying features.

A planner's first data is often only an OpenStreetMap extract of the county. This
module reads one ``.osm`` / ``.osm.pbf`` file (with pyosmium, one pass, with
multipolygon assembly) and classifies its features into the tables the rest of the
planner reads:

* :func:`extract_stations` — candidate service sites of each tier, matched by Chinese
  name patterns and by tags (see :data:`NAME_RULES` and :data:`TAG_RULES`), each row
  saying which rule matched. :func:`planner.inputs.osm_sheets.write_station_sheet`
  writes them as a sheet with the Chinese headers
  :func:`planner.inputs.tables.read_stations` reads, for review.
* :func:`extract_areas` — administrative boundary polygons of one ``admin_level``
  (for per-township statistics).

The same pass keeps the ``place=*`` nodes, the residential buildings
(:data:`RESIDENTIAL_BUILDINGS`) and the named roads that
:func:`planner.inputs.osm_population.extract_demand` turns into demand points with
population (the roads name unnamed settlements).

Ways and multipolygons are placed at the centroid of their area (open ways at the mean
of their vertices). Everything extracted is a *candidate*: the sheet is meant to be
reviewed and edited before it is used as the official station list.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from planner._errors import InputError
from planner.i18n import t
from planner.network.osm import OSM_SUFFIXES

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)

__all__ = ["extract_areas", "extract_stations"]

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
    b_type: list[str] = field(default_factory=list)  # the ``building`` value
    # named roads (to describe where an unnamed settlement lies)
    r_wkb: list[bytes] = field(default_factory=list)
    r_name: list[str] = field(default_factory=list)
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
                road_name = (tags.get("name") or tags.get("name:zh") or "") if "highway" in tags else ""
                interesting = _interesting(tags)
                if not (interesting or road_name):
                    continue
                locs = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                if road_name and len(locs) >= 2:
                    out.r_wkb.append(shapely.to_wkb(shapely.LineString(locs)))
                    out.r_name.append(road_name)
                if locs and interesting:
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
                    out.b_type.append(str(b))
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
        "%s: %d tagged features of interest, %d residential buildings, %d boundaries, %d named roads in %.2f s",
        path,
        len(out.kind),
        len(out.b_wkb),
        len(out.a_wkb),
        len(out.r_wkb),
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
