"""A generated province: many adjacent counties for the batch demo, the tests and the benchmarks.

Nothing here describes a real place. :func:`generate_province` lays ``n_counties``
rectangles of different sizes (road node counts spread geometrically from ``min_nodes``
to ``max_nodes``, shuffled over the county codes) over one perturbed road grid starting
at the demo origin (:data:`planner.demo._common.ORIGIN_LON`/``ORIGIN_LAT``). Roads have
classes by grid line, as in :func:`planner.demo.grid.generate_grid_network`; at a county
border only primary and secondary lines continue, the others stop. Each county has a
county seat, township seats, villages near roads with population, enterprises and
stations of the four tiers, and a few villages by a border whose nearest station is in
the neighbouring county. Everything is vectorised with NumPy and deterministic for a seed.

:func:`write_province` writes it in both input forms of ``planner batch``: a manifest
(``counties.csv``) with one folder of files per county, and province-wide files with
county polygons. ``docs/province.md`` describes the layout.

All geometry is built in metres (local offsets from the origin in its UTM zone) and
converted to WGS-84 once.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from planner._atomic import atomic_output_dir
from planner.demo._builder import MAXSPEED_KPH
from planner.demo._common import ORIGIN_LAT, ORIGIN_LON, check_int, origin_xy, unique_names
from planner.demo._layout import _VILLAGE_FIRST, _VILLAGE_SECOND, TOWNSHIP_SYLLABLES
from planner.demo._province_grid import (
    _CLASSES,
    GRID_SPACING_M,
    _build_grid,
    _county_cells,
    _county_polygon,
    _Grid,
    _road_pieces,
)
from planner.demo.county import (
    _BRANDS,
    _INDUSTRIES,
    _ORG_ENTERPRISE,
    _ORG_TOWNSHIP,
    _ORG_VILLAGE,
    _SERVICES,
    demand_sheet,
    station_sheet,
)
from planner.i18n import t
from planner.network.roads import RoadNetwork, road_class_codes, utm_crs_for

logger = logging.getLogger(__name__)

#: Demand points and stations are kept at least this far inside their county (metres).
BORDER_MARGIN_M: float = 5.0
#: One village per this many road nodes (drawn per county from the range).
NODES_PER_VILLAGE: tuple[float, float] = (40.0, 60.0)
#: Village population range (people).
VILLAGE_POPULATION: tuple[int, int] = (300, 3000)
#: Share of villages with a village station.
VILLAGE_STATION_SHARE: float = 0.6
#: Villages per county placed by a border, their nearest station across it.
BORDER_VILLAGES_PER_COUNTY: int = 2
#: Most road nodes per county, and the largest ratio between the largest and smallest county.
MAX_COUNTY_NODES: int = 5_000_000
MAX_SIZE_RATIO: int = 1000
#: County name syllables: 56 × 50 = 2,800 names (the most counties).
_COUNTY_FIRST = (
    "岚澄翠霁汀芷槐榕桐枫楠樟檀苇蘅荻蓼蒲菱萍蕙芸苓橘柚杏棠桑榆柳杉柏梅桂荷莲菊葵鹤鹭雁燕鸾麟虹霞云雾露霜雪泓涟漪沅湘"
)
_COUNTY_SECOND = "川原溪源阳陵宁安平丰昌和兴隆泉江河湖塘山岭峰冈坪坂城池津渡浦洲湾屿滨亭桥关谷坝峪沟泽洋田州乡岩林水口"
_VILLAGE_VARIANTS: tuple[str, ...] = ("", "新", "上", "下", "东", "西", "中", "大")
_NUMERALS = "一二三四五六七八九十"
_SEAT_TOWNSHIP = "城关镇"
_ORG_COUNTY = "{c}总工会、团{c}委、{c}妇联、{c}科协、{c}残联"
#: Stations stand this far from their village, seat or enterprise (metres).
_VILLAGE_STATION_OFFSET_M: tuple[float, float] = (5.0, 30.0)
_TIER_ORDER: tuple[str, ...] = ("county", "township", "village", "enterprise")
_SERVICES_PER_TIER: dict[str, int] = {"county": 8, "township": 5, "village": 3, "enterprise": 3}
#: Headers of the written sheets (the same as :func:`planner.demo.county.write_demo`).
STATION_HEADERS: tuple[str, ...] = ("编号", "名称", "层级", "经度", "纬度", "运营单位", "服务项目")
DEMAND_HEADERS: tuple[str, ...] = ("编号", "名称", "人口", "经度", "纬度", "所属乡镇", "类型")
MANIFEST_HEADERS: tuple[str, ...] = ("县代码", "县名称", "路网文件", "站点文件", "需求文件")
COUNTY_COLUMN = "所属县（市、区）"


@dataclass(frozen=True, eq=False)
class Province:
    """A generated province: roads, counties, stations and demand.

    Attributes
    ----------
    network
        The whole province's road network.
    roads
        One feature per road piece (highway, oneway, maxspeed, name, county, geometry) in
        EPSG:4326; a piece lies in one county (``county`` is its code), its segments
        assigned by their midpoints; vertices are the network's nodes.
    counties
        County rectangles (code, name, n_nodes, geometry) in EPSG:4326, tiling the province;
        ``n_nodes`` counts the road nodes inside.
    stations
        id, name, tier, lon, lat, organisation, services, county (code).
    demand
        id, name, population, lon, lat, township, kind (village / enterprise), county (code).
    edge_county
        Row of ``counties`` of every network segment (the county holding its midpoint).
    label
        Display label ("示例省（程序生成数据，N 个县）").
    seed
        The random seed it was generated with.
    """

    network: RoadNetwork
    roads: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    stations: pd.DataFrame
    demand: pd.DataFrame
    edge_county: NDArray[np.int64]
    label: str
    seed: int


# --------------------------------------------------------------------------- places


def _off_road(
    base: NDArray[np.float64],
    county: NDArray[np.int64],
    boxes: NDArray[np.float64],
    rng: np.random.Generator,
    *,
    offset_m: tuple[float, float] = (10.0, 60.0),
) -> NDArray[np.float64]:
    """Move each point ``offset_m`` away in a random direction, kept inside its county's box."""
    r = rng.uniform(*offset_m, len(base))
    phi = rng.uniform(0.0, 2 * np.pi, len(base))
    return _inside(base + np.column_stack([r * np.cos(phi), r * np.sin(phi)]), boxes[county])


def _near(
    tree: cKDTree,
    g: _Grid,
    targets: NDArray[np.float64],
    county: NDArray[np.int64],
    boxes: NDArray[np.float64],
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Place each target 10–60 m from its nearest road node, inside its county's box."""
    _, near = tree.query(targets)
    return _off_road(np.column_stack([g.x[near], g.y[near]]), county, boxes, rng)


def _inside(p: NDArray[np.float64], box: NDArray[np.float64]) -> NDArray[np.float64]:
    """Clip points into their boxes ``(x0, y0, x1, y1)`` shrunk by :data:`BORDER_MARGIN_M`."""
    lo = box[:, :2] + BORDER_MARGIN_M
    hi = box[:, 2:] - BORDER_MARGIN_M
    return np.minimum(np.maximum(p, lo), hi)


def _group_rank(group: NDArray[np.int64]) -> NDArray[np.int64]:
    """Rank of every element within its group, in the given order (groups need not be sorted)."""
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64)
    o = np.argsort(group, kind="stable")
    sg = group[o]
    start = np.r_[0, np.flatnonzero(sg[1:] != sg[:-1]) + 1]
    run = np.zeros(len(group), dtype=np.int64)
    run[start] = start
    rank = np.empty(len(group), dtype=np.int64)
    rank[o] = np.arange(len(group)) - np.maximum.accumulate(run)
    return rank


@dataclass
class _Places:
    """Points of one kind in local metres, with their county (row of the counties table)."""

    xy: NDArray[np.float64]
    county: NDArray[np.int64]
    name: NDArray[np.object_]


def _seats(
    boxes: NDArray[np.float64], target: NDArray[np.int64], rng: np.random.Generator
) -> tuple[_Places, NDArray[np.bool_]]:
    """Township seats spread over each county on a jittered sub-grid; the one nearest the centre is the county seat."""
    xy, county, names, is_seat = [], [], [], []
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        n_t = int(np.clip(round(math.sqrt(float(target[k])) / 25.0), 3, 20))
        gx = max(1, round(math.sqrt(n_t * (x1 - x0) / (y1 - y0))))
        gy = math.ceil(n_t / gx)
        gx = max(gx, math.ceil(n_t / gy))
        cell = rng.choice(gx * gy, n_t, replace=False)
        cy, cx = np.divmod(cell, gx)
        jit = rng.uniform(-0.25, 0.25, (2, n_t))
        p = np.column_stack([x0 + (cx + 0.5 + jit[0]) * (x1 - x0) / gx, y0 + (cy + 0.5 + jit[1]) * (y1 - y0) / gy])
        seat = int(np.argmin(np.hypot(p[:, 0] - (x0 + x1) / 2, p[:, 1] - (y0 + y1) / 2)))
        others = unique_names(list(TOWNSHIP_SYLLABLES), n_t - 1, rng)
        n_zhen = round(0.6 * (n_t - 1))
        full = [nm + ("镇" if i < n_zhen else "乡") for i, nm in enumerate(others)]
        full.insert(seat, _SEAT_TOWNSHIP)
        xy.append(p)
        county.append(np.full(n_t, k, dtype=np.int64))
        names += full
        is_seat.append(np.arange(n_t) == seat)
    return (
        _Places(np.vstack(xy), np.concatenate(county), np.asarray(names, dtype=object)),
        np.concatenate(is_seat),
    )


def _village_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` different village names (a numeral is added once the syllables run out)."""
    n_first, n_second, n_var = len(_VILLAGE_FIRST), len(_VILLAGE_SECOND), len(_VILLAGE_VARIANTS)
    pool = n_first * n_second * n_var
    idx = rng.permutation(max(pool, n))[:n]
    rep, combo = np.divmod(idx, pool)
    first, rest = np.divmod(combo, n_second * n_var)
    second, var = np.divmod(rest, n_var)
    return [
        _VILLAGE_FIRST[a] + _VILLAGE_SECOND[b] + _VILLAGE_VARIANTS[c] + ("" if k == 0 else _numeral(int(k))) + "村"
        for a, b, c, k in zip(first, second, var, rep, strict=True)
    ]


def _numeral(k: int) -> str:
    return _NUMERALS[k] if k < len(_NUMERALS) else str(k + 1)


def _villages(
    g: _Grid, target: NDArray[np.int64], rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Road nodes of the villages (about one per 40–60 nodes of each county) and their counties."""
    o = np.argsort(g.node_county, kind="stable")
    count = np.bincount(g.node_county, minlength=len(target))
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    nodes, county = [], []
    for k in range(len(target)):
        n_v = max(3, round(count[k] / rng.uniform(*NODES_PER_VILLAGE)))
        nodes.append(o[start[k] + rng.choice(count[k], min(n_v, count[k]), replace=False)])
        county.append(np.full(len(nodes[-1]), k, dtype=np.int64))
    return np.concatenate(nodes), np.concatenate(county)


def _border_pairs(g: _Grid, rng: np.random.Generator) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Up to :data:`BORDER_VILLAGES_PER_COUNTY` road crossings per county: (node inside, node across)."""
    cross = g.node_county[g.u] != g.node_county[g.v]
    a = np.concatenate([g.u[cross], g.v[cross]])
    b = np.concatenate([g.v[cross], g.u[cross]])
    perm = rng.permutation(len(a))
    a, b = a[perm], b[perm]
    pick = _group_rank(g.node_county[a]) < BORDER_VILLAGES_PER_COUNTY
    return a[pick], b[pick]


def _services(tiers: NDArray[np.object_], rng: np.random.Generator) -> list[str]:
    """A few services per station (more for the higher tiers)."""
    n = len(tiers)
    base = np.array([_SERVICES_PER_TIER[str(tr)] for tr in tiers], dtype=np.int64)
    k = np.clip(base + rng.integers(-2, 2, n), 2, len(_SERVICES))
    chosen = np.argsort(rng.random((n, len(_SERVICES))), axis=1)
    return ["、".join(_SERVICES[c] for c in sorted(row[:kk])) for row, kk in zip(chosen, k, strict=True)]


@dataclass
class _Villages:
    """Villages in local metres, sorted by county."""

    places: _Places
    population: NDArray[np.int64]
    has_station: NDArray[np.bool_]
    #: For a village placed by a border: how far its station across the border may be (metres), else NaN.
    across_m: NDArray[np.float64]


def _all_villages(
    g: _Grid, boxes: NDArray[np.float64], target: NDArray[np.int64], rng: np.random.Generator
) -> _Villages:
    """Villages near roads, plus pairs by the borders: one without a station, one across with a station."""
    nodes, county = _villages(g, target, rng)
    xy = _off_road(np.column_stack([g.x[nodes], g.y[nodes]]), county, boxes, rng)
    a, b = _border_pairs(g, rng)
    pa = np.column_stack([g.x[a], g.y[a]])
    d = np.column_stack([g.x[b], g.y[b]]) - pa
    perp = np.column_stack([-d[:, 1], d[:, 0]]) / np.hypot(d[:, 0], d[:, 1])[:, None]
    ca, cb = g.node_county[a], g.node_county[b]
    inner = _inside(pa - 0.6 * d + perp * rng.uniform(-25.0, 25.0, len(a))[:, None], boxes[ca])
    outer = _inside(pa + 1.4 * d + perp * rng.uniform(-25.0, 25.0, len(a))[:, None], boxes[cb])
    n_reg, n_b = len(xy), len(a)
    all_xy = np.vstack([xy, inner, outer])
    all_county = np.concatenate([county, ca, cb])
    has = np.concatenate([rng.random(n_reg) < VILLAGE_STATION_SHARE, np.zeros(n_b, bool), np.ones(n_b, bool)])
    across = np.full(len(all_xy), np.nan)
    across[n_reg : n_reg + n_b] = np.hypot(*(outer - inner).T) + _VILLAGE_STATION_OFFSET_M[1]
    lo, hi = VILLAGE_POPULATION
    population = np.clip(np.round(rng.lognormal(math.log(1000.0), 0.6, len(all_xy)), -1), lo, hi).astype(np.int64)
    o = np.argsort(all_county, kind="stable")
    all_county = all_county[o]
    names = np.empty(len(o), dtype=object)
    count = np.bincount(all_county, minlength=len(target))
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    for k in range(len(target)):
        names[start[k] : start[k] + count[k]] = _village_names(int(count[k]), rng)
    return _Villages(_Places(all_xy[o], all_county, names), population[o], has[o], across[o])


def _enterprises(
    tree: cKDTree,
    g: _Grid,
    boxes: NDArray[np.float64],
    seats: _Places,
    is_seat: NDArray[np.bool_],
    n_villages: NDArray[np.int64],
    county_names: list[str],
    rng: np.random.Generator,
) -> tuple[_Places, NDArray[np.int64]]:
    """Enterprises around the county seat and the township seats (about one per 15 villages)."""
    targets, county, names = [], [], []
    pool = [a + c for a in _BRANDS for c in _INDUSTRIES]
    for k in range(len(boxes)):
        n_e = int(np.clip(n_villages[k] // 15, 2, len(pool)))
        own = np.flatnonzero(seats.county == k)
        main = own[is_seat[own]][0]
        pick = np.where(rng.random(n_e) < 0.5, main, rng.choice(own, n_e))
        r = rng.uniform(150.0, 1500.0, n_e)
        phi = rng.uniform(0.0, 2 * np.pi, n_e)
        targets.append(seats.xy[pick] + np.column_stack([r * np.cos(phi), r * np.sin(phi)]))
        county.append(np.full(n_e, k, dtype=np.int64))
        names += [county_names[k][:-1] + nm + "有限公司" for nm in unique_names(pool, n_e, rng)]
    c = np.concatenate(county)
    xy = _near(tree, g, _inside(np.vstack(targets), boxes[c]), c, boxes, rng)
    population = np.clip(np.round(rng.lognormal(math.log(300.0), 0.8, len(c))), 50, 2000).astype(np.int64)
    return _Places(xy, c, np.asarray(names, dtype=object)), population


def _stations(
    seats: _Places,
    is_seat: NDArray[np.bool_],
    vil: _Villages,
    ent: _Places,
    boxes: NDArray[np.float64],
    county_names: list[str],
    rng: np.random.Generator,
) -> tuple[_Places, NDArray[np.object_], NDArray[np.object_]]:
    """Stations of the four tiers (places, tier, organisation), sorted by county and tier."""
    has_t = is_seat | (rng.random(len(is_seat)) < 0.85)
    has_e = rng.random(len(ent.xy)) < 0.25
    if not has_e.any():
        has_e[0] = True
    cn = np.asarray(county_names, dtype=object)
    parts = [
        (seats, is_seat, "county", cn[seats.county[is_seat]] + "群团服务中心"),
        (seats, has_t, "township", seats.name[has_t] + "群团服务中心"),
        (vil.places, vil.has_station, "village", vil.places.name[vil.has_station] + "群团服务站"),
        (ent, has_e, "enterprise", ent.name[has_e] + "职工之家"),
    ]
    xy, county, tier, name, org = [], [], [], [], []
    for places, mask, tr, nm in parts:
        xy.append(_off_road(places.xy[mask], places.county[mask], boxes, rng, offset_m=_VILLAGE_STATION_OFFSET_M))
        county.append(places.county[mask])
        tier += [tr] * int(mask.sum())
        name.append(nm)
        who = places.name[mask]
        if tr == "county":
            org += [_ORG_COUNTY.format(c=c) for c in cn[places.county[mask]]]
        elif tr == "township":
            org += [_ORG_TOWNSHIP.format(t=w) for w in who]
        elif tr == "village":
            org += [_ORG_VILLAGE.format(v=w) for w in who]
        else:
            org += [_ORG_ENTERPRISE.format(e=w) for w in who]
    st_xy, st_county, st_tier = np.vstack(xy), np.concatenate(county), np.asarray(tier, dtype=object)
    # a village by a border keeps no lower-tier station of its own county nearer than its station across
    border = np.flatnonzero(np.isfinite(vil.across_m))
    near = cKDTree(st_xy).query_ball_point(vil.places.xy[border], r=vil.across_m[border])
    drop = np.zeros(len(st_xy), bool)
    for i, hits in zip(border.tolist(), near, strict=True):
        h = np.asarray(hits, dtype=np.int64)
        drop[h[(st_county[h] == vil.places.county[i]) & np.isin(st_tier[h], ["village", "enterprise"])]] = True
    keep = ~drop
    rank = np.array([_TIER_ORDER.index(tr) for tr in st_tier], dtype=np.int64)
    o = np.lexsort((rank, st_county))
    o = o[keep[o]]
    return (
        _Places(st_xy[o], st_county[o], np.concatenate(name)[o]),
        st_tier[o],
        np.asarray(org, dtype=object)[o],
    )


def _people(
    g: _Grid,
    boxes: NDArray[np.float64],
    target: NDArray[np.int64],
    codes: list[str],
    county_names: list[str],
    rng: np.random.Generator,
    lonlat: Callable[[NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The station and demand tables of every county (ids prefixed by the county code)."""
    tree = cKDTree(np.column_stack([g.x, g.y]), balanced_tree=False, compact_nodes=False)
    seats, is_seat = _seats(boxes, target, rng)
    seats.xy = _near(tree, g, seats.xy, seats.county, boxes, rng)
    vil = _all_villages(g, boxes, target, rng)
    n_vil = np.bincount(vil.places.county, minlength=len(codes))
    ent, ent_pop = _enterprises(tree, g, boxes, seats, is_seat, n_vil, county_names, rng)
    st, tier, org = _stations(seats, is_seat, vil, ent, boxes, county_names, rng)
    code = np.asarray(codes, dtype=object)
    slon, slat = lonlat(st.xy)
    stations = pd.DataFrame(
        {
            "id": [f"{c}-S{k + 1:05d}" for c, k in zip(code[st.county], _group_rank(st.county), strict=True)],
            "name": st.name,
            "tier": tier,
            "lon": slon,
            "lat": slat,
            "organisation": org,
            "services": _services(tier, rng),
            "county": code[st.county],
        }
    )
    d_xy = np.vstack([vil.places.xy, ent.xy])
    d_county = np.concatenate([vil.places.county, ent.county])
    o = np.argsort(d_county, kind="stable")
    d_xy, d_county = d_xy[o], d_county[o]
    # township: the nearest seat of the same county (counties far apart on a third axis)
    far = 1e9
    seat_tree = cKDTree(np.column_stack([seats.xy, seats.county * far]))
    _, seat = seat_tree.query(np.column_stack([d_xy, d_county * far]))
    dlon, dlat = lonlat(d_xy)
    demand = pd.DataFrame(
        {
            "id": [f"{c}-D{k + 1:05d}" for c, k in zip(code[d_county], _group_rank(d_county), strict=True)],
            "name": np.concatenate([vil.places.name, ent.name])[o],
            "population": np.concatenate([vil.population, ent_pop])[o],
            "lon": dlon,
            "lat": dlat,
            "township": seats.name[seat],
            "kind": np.asarray(["village"] * len(vil.population) + ["enterprise"] * len(ent_pop), dtype=object)[o],
            "county": code[d_county],
        }
    )
    return stations, demand


# --------------------------------------------------------------------------- generation


def generate_province(
    *, n_counties: int, seed: int = 2024, min_nodes: int = 10_000, max_nodes: int = 300_000
) -> Province:
    """Generate a province of ``n_counties`` adjacent counties of different sizes.

    Parameters
    ----------
    n_counties
        Number of counties (1 … 2,800).
    seed
        Random seed; the same seed gives identical output.
    min_nodes, max_nodes
        Road node counts of the smallest and largest county (100 … 5,000,000, at most
        1,000 times apart); the others are spread geometrically between them and
        shuffled over the county codes.

    Returns
    -------
    Province
        Roads, county polygons, stations and demand, in WGS-84.

    Raises
    ------
    ConfigError
        If a parameter is out of range.
    """
    t0 = time.perf_counter()
    check_int("n_counties", n_counties, 1, len(_COUNTY_FIRST) * len(_COUNTY_SECOND))
    check_int("seed", seed, 0, 2**32 - 1)
    check_int("min_nodes", min_nodes, 100, MAX_COUNTY_NODES)
    check_int("max_nodes", max_nodes, int(min_nodes), min(MAX_COUNTY_NODES, int(min_nodes) * MAX_SIZE_RATIO))
    rng = np.random.default_rng(seed)
    n = int(n_counties)
    target = np.rint(np.geomspace(min_nodes, max_nodes, n)).astype(np.int64)[rng.permutation(n)]
    codes = [f"99{k // 99 + 1:02d}{k % 99 + 1:02d}" for k in range(n)]
    names = [nm + "县" for nm in unique_names([a + b for a in _COUNTY_FIRST for b in _COUNTY_SECOND], n, rng)]

    cells, n_cols, n_rows = _county_cells(target)
    raster = np.full((n_rows, n_cols), -1, dtype=np.int64)
    for k, (c0, r0, c1, r1) in enumerate(cells):
        raster[r0:r1, c0:c1] = k
    boxes = (cells.astype(np.float64) - 0.5) * GRID_SPACING_M  # (x0, y0, x1, y1) local metres
    g = _build_grid(raster, rng.uniform(0.04, 0.12, n), rng)

    crs = utm_crs_for(ORIGIN_LON, ORIGIN_LAT)
    x0, y0 = origin_xy(crs)
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def lonlat(xy: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        lon, lat = to_ll.transform(xy[:, 0] + x0, xy[:, 1] + y0)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    node_lon, node_lat = lonlat(np.column_stack([g.x, g.y]))
    classes = road_class_codes(list(_CLASSES))
    speeds = np.array([MAXSPEED_KPH.get(c, math.nan) for c in _CLASSES], dtype=np.float64)
    net = RoadNetwork.from_arrays(
        node_lon=node_lon,
        node_lat=node_lat,
        edge_u=g.u,
        edge_v=g.v,
        edge_class=classes[g.rank],
        edge_oneway=g.oneway,
        edge_maxspeed_kph=speeds[g.rank],
        edge_name=g.road_name[g.road],
        crs=crs,
        node_x_m=g.x + x0,
        node_y_m=g.y + y0,
        source=t("province.source", count=n, seed=seed),
    )
    roads = _road_pieces(g, node_lon, node_lat, codes)

    corner_cols = np.unique(np.concatenate([cells[:, [0, 2]].ravel(), np.arange(0, n_cols + 1, 10)]))
    corner_rows = np.unique(np.concatenate([cells[:, [1, 3]].ravel(), np.arange(0, n_rows + 1, 10)]))
    polys = [_county_polygon(c, corner_cols, corner_rows) for c in cells]
    wgs_polys = [shapely.transform(p, lambda c: np.column_stack(lonlat(c))) for p in polys]
    counties = gpd.GeoDataFrame(
        {"code": codes, "name": names, "n_nodes": np.bincount(g.node_county, minlength=n)},
        geometry=wgs_polys,
        crs="EPSG:4326",
    )

    stations, demand = _people(g, boxes, target, codes, names, rng, lonlat)
    logger.info(
        "generated province: %d counties, %d nodes, %d segments, %d stations, %d demand points in %.2f s",
        n,
        net.n_nodes,
        net.n_edges,
        len(stations),
        len(demand),
        time.perf_counter() - t0,
    )
    return Province(
        network=net,
        roads=roads,
        counties=counties,
        stations=stations,
        demand=demand,
        edge_county=g.edge_county,
        label=t("province.label", count=n),
        seed=int(seed),
    )


# --------------------------------------------------------------------------- writing

#: How many counties :func:`write_province` generates when given no province.
DEFAULT_COUNTIES: int = 16


def _station_sheet(st: pd.DataFrame, county_name: pd.Series | None = None) -> pd.DataFrame:
    """The station list with Chinese headers (and the county's name for the province-wide sheet)."""
    out = station_sheet(st)
    if county_name is not None:
        out[COUNTY_COLUMN] = st["county"].map(county_name)
    return out


def _demand_sheet(dm: pd.DataFrame, county_name: pd.Series | None = None) -> pd.DataFrame:
    """The demand list with Chinese headers (and the county's name for the province-wide sheet)."""
    out = demand_sheet(dm)
    if county_name is not None:
        out[COUNTY_COLUMN] = dm["county"].map(county_name)
    return out


def province_files(codes: list[str]) -> dict[str, str]:
    """Every file :func:`write_province` writes, by key, as a path relative to its folder.

    Keys: ``readme``, ``manifest``; the province-wide ``roads``, ``counties``, ``stations``
    and ``demand``; per county ``<code>/roads``, ``<code>/stations`` and ``<code>/demand``.
    """
    files = {
        "readme": "README.txt",
        "manifest": "counties.csv",
        "roads": "province/roads.gpkg",
        "counties": "province/counties.geojson",
        "stations": "province/stations.csv",
        "demand": "province/demand.csv",
    }
    for code in codes:
        for kind, name in (("roads", "roads.gpkg"), ("stations", "stations.csv"), ("demand", "demand.csv")):
            files[f"{code}/{kind}"] = f"counties/{code}/{name}"
    return files


def write_province(directory: str | os.PathLike[str], *, province: Province | None = None) -> dict[str, Path]:
    """Write a generated province in both input forms of ``planner batch``, all or nothing.

    The manifest form: ``counties.csv`` (UTF-8 with BOM; 县代码, 县名称, 路网文件, 站点文件,
    需求文件, paths relative to it) and ``counties/<code>/`` with ``roads.gpkg``,
    ``stations.csv`` and ``demand.csv``. The province-wide form: ``province/roads.gpkg``,
    ``province/counties.geojson`` (properties ``code`` and ``name``), ``province/stations.csv``
    and ``province/demand.csv`` (the county sheets' headers plus 所属县（市、区）). A road
    segment is in the file of the county holding its midpoint, so the county road files
    together are the province road file, sharing the vertices where roads cross a border.
    ``README.txt`` says the data is generated.

    Parameters
    ----------
    directory
        Output folder (created if missing). Files of an earlier province with other
        county codes are left in place.
    province
        The province to write (default: :func:`generate_province` with
        :data:`DEFAULT_COUNTIES` counties).

    Returns
    -------
    dict
        Path of every file written, keyed as in :func:`province_files`.

    Raises
    ------
    OutputError
        If a file cannot be written (the folder then keeps its previous files).
    """
    t0 = time.perf_counter()
    p = province if province is not None else generate_province(n_counties=DEFAULT_COUNTIES)
    out = Path(directory)
    codes = [str(c) for c in p.counties["code"]]
    files = province_files(codes)
    county_name = pd.Series(p.counties["name"].to_numpy(), index=codes)
    roads = p.roads.drop(columns="county")
    with atomic_output_dir(out) as tmp:
        for folder in ("province", *(f"counties/{c}" for c in codes)):
            (tmp / folder).mkdir(parents=True, exist_ok=True)
        (tmp / files["readme"]).write_text(
            t("province.readme", lang="zh", n_counties=len(codes), seed=p.seed)
            + "\n\n"
            + t("province.readme", lang="en", n_counties=len(codes), seed=p.seed)
            + "\n",
            encoding="utf-8",
        )
        manifest = pd.DataFrame(
            {
                "县代码": codes,
                "县名称": p.counties["name"].to_numpy(),
                "路网文件": [files[f"{c}/roads"] for c in codes],
                "站点文件": [files[f"{c}/stations"] for c in codes],
                "需求文件": [files[f"{c}/demand"] for c in codes],
            }
        )
        manifest.to_csv(tmp / files["manifest"], index=False, encoding="utf-8-sig")
        roads.to_file(tmp / files["roads"], driver="GPKG", layer="roads", engine="pyogrio")
        (tmp / files["counties"]).write_text(
            p.counties[["code", "name", "geometry"]].to_json(ensure_ascii=False), encoding="utf-8"
        )
        _station_sheet(p.stations, county_name).to_csv(tmp / files["stations"], index=False, encoding="utf-8-sig")
        _demand_sheet(p.demand, county_name).to_csv(tmp / files["demand"], index=False, encoding="utf-8-sig")
        by_road = roads.groupby(p.roads["county"].to_numpy(), sort=False)
        by_station = p.stations.groupby("county", sort=False)
        by_demand = p.demand.groupby("county", sort=False)
        for code in codes:
            by_road.get_group(code).to_file(
                tmp / files[f"{code}/roads"], driver="GPKG", layer="roads", engine="pyogrio"
            )
            _station_sheet(by_station.get_group(code)).to_csv(
                tmp / files[f"{code}/stations"], index=False, encoding="utf-8-sig"
            )
            _demand_sheet(by_demand.get_group(code)).to_csv(
                tmp / files[f"{code}/demand"], index=False, encoding="utf-8-sig"
            )
    logger.info("province of %d counties written to %s in %.2f s", len(codes), out, time.perf_counter() - t0)
    return {key: out / rel for key, rel in files.items()}


__all__ = [
    "COUNTY_COLUMN",
    "DEMAND_HEADERS",
    "MANIFEST_HEADERS",
    "STATION_HEADERS",
    "Province",
    "generate_province",
    "province_files",
    "write_province",
]
