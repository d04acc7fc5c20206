"""The generated demo county.

Nothing here describes a real place. :func:`generate_county` builds a believable rural
county in southern China (≈ 40 × 35 km around 116.2°E, 27.4°N): a county town with a
street grid, township seats joined by county roads, villages on village roads, a river
that roads cross only at a few bridges, an industrial park, stations of the four tiers
with real coverage gaps, and demand points (villages, town communities, enterprises)
with population. It is deterministic: the same seed gives identical arrays. The roads
are laid out by :mod:`planner.demo._layout` with the builder of
:mod:`planner.demo._builder`; this module adds townships, demand and stations.

:func:`write_demo` writes it the way a planner would hand it over (GeoPackage roads,
CSV station and demand lists with Chinese headers, GeoJSON townships).

All geometry is built in metres in the UTM zone of the origin and converted to WGS-84
once, so ``node_x_m``/``node_y_m`` are exact and ``node_lon``/``node_lat`` derived.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from planner._atomic import atomic_path, atomic_write
from planner._errors import InputError
from planner.demo._builder import Builder, Road, segment_geoms
from planner.demo._common import ORIGIN_LAT, ORIGIN_LON, check_int, origin_xy, unique_names
from planner.demo._layout import (
    TOWNSHIP_SYLLABLES,
    Plan,
    add_bridges,
    add_county_roads,
    add_footways,
    add_seat_grids,
    add_town_and_park,
    add_villages,
    finish_topology,
    lay_out,
    place_seats,
)
from planner.i18n import t
from planner.network.roads import RoadNetwork, road_class_codes, utm_crs_for

logger = logging.getLogger(__name__)

#: Station offsets from the nearest road (metres).
STATION_OFFSET_MIN_M: float = 5.0
STATION_OFFSET_MAX_M: float = 80.0

_COMMUNITY_NAMES: tuple[str, ...] = (
    "人民", "建设", "解放", "和平", "文化", "新华", "城南", "城北", "滨江", "东门", "西门", "南门",
    "北门", "朝阳", "育才", "府前", "站前", "龙山", "凤凰", "锦绣", "紫阳", "翠湖", "东升", "向阳",
)  # fmt: skip
_BRANDS: tuple[str, ...] = (
    "鑫达", "华兴", "恒盛", "宏远", "金诚", "瑞丰", "永泰", "佳和", "天成", "润发", "博联", "众鑫",
    "裕隆", "嘉禾", "正元", "东方", "绿源", "新锐", "百川", "长青",
)  # fmt: skip
_INDUSTRIES: tuple[str, ...] = (
    "电子科技", "竹木制品", "食品", "纺织", "机械制造", "新材料", "医药", "包装", "建材", "光电", "茶业",
    "农业开发",
)  # fmt: skip
_SERVICES: tuple[str, ...] = (
    "法律咨询", "就业服务", "心理疏导", "四点半课堂", "暑托班", "妈妈小屋", "AED/急救", "科普宣传",
    "文艺活动", "助残服务", "困难帮扶", "技能培训", "婚恋交友", "图书角",
)  # fmt: skip
_STATUS_CHOICES: tuple[str, ...] = ("正常运行", "有牌子无阵地", "阵地闲置")
_STATUS_P: tuple[float, ...] = (0.86, 0.08, 0.06)
_ORG_COUNTY = "县总工会、团县委、县妇联、县科协、县残联"
_ORG_TOWNSHIP = "{t}党委、{t}工会、{t}团委、{t}妇联"
_ORG_VILLAGE = "{v}党支部、妇联、团支部"
_ORG_ENTERPRISE = "{e}工会"
_ORG_POST = "县总工会、团县委"

_TIER_ZH = {"county": "县级", "township": "乡镇（街道）", "village": "村（社区）", "enterprise": "企业（职工之家）"}
_KIND_ZH = {"village": "村", "community": "社区", "enterprise": "企业"}


@dataclass(frozen=True, eq=False)
class DemoCounty:
    """A generated county: roads, stations, demand and township boundaries.

    Attributes
    ----------
    network
        The road network (segments between shared nodes).
    stations
        Existing service sites: id, name, tier, lon, lat, organisation, services, status.
    demand
        Population points: id, name, population, lon, lat, township, kind.
    townships
        Township / subdistrict polygons (name, kind, geometry) in EPSG:4326.
    label
        Display label ("示例县（程序生成数据）").
    roads
        One feature per road polyline (highway, oneway, maxspeed, name, bridge, geometry),
        sharing vertices with ``network`` nodes.
    edge_is_bridge
        True for the network segments that cross the river.
    river
        The river centre line in WGS-84.
    outline
        The county outline in WGS-84.
    """

    network: RoadNetwork
    stations: pd.DataFrame
    demand: pd.DataFrame
    townships: gpd.GeoDataFrame
    label: str
    roads: gpd.GeoDataFrame
    edge_is_bridge: NDArray[np.bool_]
    river: shapely.LineString
    outline: shapely.Polygon


def _place_near_road(
    b: Builder, targets: NDArray[np.float64], rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Move each target to 5–80 m off the nearest road near it (distance to the nearest segment)."""
    x, y = b.xy()
    u, v, _, _ = b.segments()
    geoms = segment_geoms(x, y, u, v)
    tree = shapely.STRtree(geoms)
    used = np.unique(np.concatenate([u, v]))
    kd = cKDTree(np.column_stack([x[used], y[used]]))
    _, near = kd.query(targets)
    base = np.column_stack([x[used[near]], y[used[near]]])
    out = base.copy()
    todo = np.arange(len(targets))
    for _ in range(200):
        if len(todo) == 0:
            break
        r = rng.uniform(STATION_OFFSET_MIN_M + 3.0, STATION_OFFSET_MAX_M - 3.0, len(todo))
        phi = rng.uniform(0, 2 * np.pi, len(todo))
        px = base[todo, 0] + r * np.cos(phi)
        py = base[todo, 1] + r * np.sin(phi)
        _, dist = tree.query_nearest(shapely.points(px, py), return_distance=True, all_matches=False)
        good = (dist >= STATION_OFFSET_MIN_M) & (dist <= STATION_OFFSET_MAX_M)
        out[todo[good], 0] = px[good]
        out[todo[good], 1] = py[good]
        todo = todo[~good]
    if len(todo):
        logger.warning("%d points could not be placed off-road; left on the road", len(todo))
    return out[:, 0], out[:, 1]


def _township_polygons(p: Plan) -> tuple[list[str], list[str], list[shapely.Geometry]]:
    """Voronoi cells of the seats (+ town) clipped to the outline; the town cell in two 街道."""
    sites = np.vstack([p.town[None, :], p.seats])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(sites), extend_to=p.outline.buffer(5000)))
    cell_of = np.full(len(sites), -1)
    for ci_, cell in enumerate(cells):
        hit = np.flatnonzero(shapely.contains_xy(cell, sites[:, 0], sites[:, 1]))
        if len(hit):
            cell_of[hit[0]] = ci_
    big = 1e6
    ca_t, sa_t = math.cos(p.town_angle), math.sin(p.town_angle)
    east_half = shapely.Polygon(
        [
            (p.town[0] + a * ca_t - c * sa_t, p.town[1] + a * sa_t + c * ca_t)
            for a, c in ((0, -big), (big, -big), (big, big), (0, big))
        ]
    )
    town_cell = cells[cell_of[0]].intersection(p.outline)
    n = len(p.seats)
    names = ["城东街道", "城西街道", *p.seat_full]
    kinds = ["街道", "街道"] + ["镇" if k < p.n_zhen else "乡" for k in range(n)]
    geoms = [town_cell.intersection(east_half), town_cell.difference(east_half)]
    geoms += [cells[cell_of[k + 1]].intersection(p.outline) for k in range(n)]
    return names, kinds, geoms


def _township_of(
    names: list[str], polys: list[shapely.Geometry], px: NDArray[np.float64], py: NDArray[np.float64]
) -> NDArray[np.object_]:
    """Name of the polygon containing each point (nearest polygon on a boundary)."""
    out = np.full(len(px), "", dtype=object)
    for nm, poly in zip(names, polys, strict=True):
        out[shapely.contains_xy(poly, px, py) & (out == "")] = nm
    missing = out == ""
    if missing.any():
        dists = np.array([shapely.distance(poly, shapely.points(px[missing], py[missing])) for poly in polys])
        out[missing] = np.asarray(names, dtype=object)[np.argmin(dists, axis=0)]
    return out


@dataclass
class _Demand:
    """Demand points in local metres, before conversion to WGS-84."""

    names: list[str]
    kind: list[str]
    population: NDArray[np.int64]
    xy: NDArray[np.float64]
    comm_xy: NDArray[np.float64]
    ent_xy: NDArray[np.float64]


def _make_demand(p: Plan, remap: NDArray[np.int64]) -> _Demand:
    """Villages, town communities and enterprises with their population, placed near roads."""
    rng, b = p.rng, p.b
    n_villages = len(p.villages)
    n_comm = int(rng.integers(14, 21))
    ca_, sa_ = math.cos(p.town_angle), math.sin(p.town_angle)
    gp, gq = np.meshgrid(np.linspace(-0.75, 0.75, 6) * p.town_hw, np.linspace(-0.7, 0.7, 4) * p.town_hh)
    sel = rng.permutation(gp.size)[:n_comm]
    cp = gp.ravel()[sel] + rng.uniform(-90, 90, n_comm)
    cq = gq.ravel()[sel] + rng.uniform(-90, 90, n_comm)
    comm_xy = np.column_stack([p.town[0] + cp * ca_ - cq * sa_, p.town[1] + cp * sa_ + cq * ca_])
    comm_names = [nm + "社区" for nm in unique_names(list(_COMMUNITY_NAMES), n_comm, rng)]

    # enterprises: three quarters in the industrial park, the rest in township seats
    n_ent = int(rng.integers(18, 36))
    n_ent_park = round(n_ent * 0.75)
    xx, yy = b.xy()
    park_live = remap[p.park_nodes]
    park_live = park_live[park_live >= 0]
    ent_park = rng.choice(park_live, n_ent_park, replace=False)
    ent_xy = [np.column_stack([xx[ent_park], yy[ent_park]])]
    seat_live = [remap[g][remap[g] >= 0] for g in p.seat_grid_nodes]
    ent_seats = rng.choice(len(p.seats), n_ent - n_ent_park)
    ent_xy.append(np.array([[xx[s], yy[s]] for s in (rng.choice(seat_live[k]) for k in ent_seats)]).reshape(-1, 2))
    ent_all = np.vstack(ent_xy)
    ent_pool = [a + c for a in _BRANDS for c in _INDUSTRIES]
    ent_names = [nm + "有限公司" for nm in unique_names(ent_pool, n_ent, rng)]

    vpop = np.clip(np.round(rng.lognormal(math.log(1200), 0.45, n_villages), -1), 500, 4000)
    cpop = np.clip(np.round(rng.lognormal(math.log(6500), 0.35, n_comm), -1), 3000, 12000)
    epop = np.clip(np.round(rng.lognormal(math.log(380), 0.8, n_ent)), 100, 2000)
    vx_d, vy_d = _place_near_road(b, p.villages, rng)
    cx_d, cy_d = _place_near_road(b, comm_xy, rng)
    ex_d, ey_d = _place_near_road(b, ent_all, rng)
    return _Demand(
        names=p.village_names + comm_names + ent_names,
        kind=["village"] * n_villages + ["community"] * n_comm + ["enterprise"] * n_ent,
        population=np.concatenate([vpop, cpop, epop]).astype(np.int64),
        xy=np.column_stack([np.concatenate([vx_d, cx_d, ex_d]), np.concatenate([vy_d, cy_d, ey_d])]),
        comm_xy=comm_xy,
        ent_xy=ent_all,
    )


def _make_stations(p: Plan, dem: _Demand) -> tuple[pd.DataFrame, NDArray[np.float64]]:
    """Existing stations with realistic gaps (fewer across the river); returns table and local xy."""
    rng, river = p.rng, p.river
    names: list[str] = ["示例县群团服务中心", "城东街道群团服务中心"]
    tiers: list[str] = ["county", "township"]
    orgs: list[str] = [_ORG_COUNTY, _ORG_TOWNSHIP.format(t="城东街道")]
    xy: list[NDArray[np.float64]] = [p.town + np.array([60.0, 40.0]), p.town + np.array([p.town_hw * 0.4, 0.0])]

    def add(name: str, tier: str, org: str, at: NDArray[np.float64]) -> None:
        names.append(name)
        tiers.append(tier)
        orgs.append(org)
        xy.append(np.asarray(at, dtype=np.float64))

    # township centres in most seats; seats across the river are likelier to lack one
    n = len(p.seats)
    far = river.side(p.seats[:, 0], p.seats[:, 1]) != p.town_side
    lacks = rng.random(n) < np.where(far, 0.45, 0.08)
    if not lacks.any():
        lacks[int(np.flatnonzero(far)[0]) if far.any() else 0] = True
    if lacks.sum() > n // 3:
        lacks[np.flatnonzero(lacks)[n // 3 :]] = False
    for k in np.flatnonzero(~lacks).tolist():
        add(f"{p.seat_full[k]}群团服务中心", "township", _ORG_TOWNSHIP.format(t=p.seat_full[k]), p.seats[k])
    # village stations in 63 % of villages, weighted towards the town's bank
    n_v = len(p.villages)
    w_v = np.where(river.side(p.villages[:, 0], p.villages[:, 1]) == p.town_side, 1.0, 0.45)
    has_v = np.zeros(n_v, bool)
    has_v[rng.choice(n_v, round(0.63 * n_v), replace=False, p=w_v / w_v.sum())] = True
    for k in np.flatnonzero(has_v).tolist():
        vn = p.village_names[k]
        add(f"{vn}群团服务站", "village", _ORG_VILLAGE.format(v=vn), p.villages[k])
    comm_names = [nm for nm, kd in zip(dem.names, dem.kind, strict=True) if kd == "community"]
    has_c = rng.random(len(comm_names)) < 0.6
    for k in np.flatnonzero(has_c).tolist():
        add(f"{comm_names[k]}群团服务站", "village", _ORG_VILLAGE.format(v=comm_names[k]), dem.comm_xy[k])
    # 驿站 in the town and at the park
    add("客运站群团服务驿站", "village", _ORG_POST, p.town + np.array([-p.town_hw * 0.6, p.town_hh * 0.3]))
    add(
        f"{p.street_pool[0]}路户外劳动者暖心驿站",
        "village",
        _ORG_POST,
        p.town + np.array([p.town_hw * 0.2, -p.town_hh * 0.4]),
    )
    add("滨江公园妈妈小屋驿站", "village", _ORG_POST, p.walk_pts[len(p.walk_pts) // 2])
    add("工业园区职工驿站", "village", _ORG_POST, p.park.copy())
    # workers' homes in about half of the enterprises
    ent_names = [nm for nm, kd in zip(dem.names, dem.kind, strict=True) if kd == "enterprise"]
    has_e = rng.random(len(ent_names)) < 0.5
    for k in np.flatnonzero(has_e).tolist():
        add(f"{ent_names[k]}职工之家", "enterprise", _ORG_ENTERPRISE.format(e=ent_names[k]), dem.ent_xy[k])
    sx, sy = _place_near_road(p.b, np.vstack(xy), rng)
    services = []
    for tier in tiers:
        k = {"county": 8, "township": 5, "village": 3, "enterprise": 3}[tier]
        k = int(rng.integers(max(2, k - 2), k + 2))
        chosen = np.sort(rng.choice(len(_SERVICES), k, replace=False))
        services.append("、".join(_SERVICES[c] for c in chosen))
    status = rng.choice(np.asarray(_STATUS_CHOICES, dtype=object), len(names), p=np.asarray(_STATUS_P))
    status[0] = "正常运行"
    table = pd.DataFrame(
        {
            "id": [f"S{k + 1:04d}" for k in range(len(names))],
            "name": names,
            "tier": tiers,
            "organisation": orgs,
            "services": services,
            "status": status,
        }
    )
    return table, np.column_stack([sx, sy])


def generate_county(*, seed: int = 2024, n_townships: int = 12, n_villages: int = 220) -> DemoCounty:
    """Generate the demo county.

    Parameters
    ----------
    seed
        Random seed; the same seed gives identical output.
    n_townships
        Number of rural township seats (乡/镇), besides the county town's two 街道.
    n_villages
        Number of administrative villages.

    Returns
    -------
    DemoCounty
        Roads, stations, demand points and township polygons.

    Raises
    ------
    ConfigError
        If a parameter is out of range.
    """
    check_int("seed", seed, 0, 2**32 - 1)
    check_int("n_townships", n_townships, 3, len(TOWNSHIP_SYLLABLES))
    check_int("n_villages", n_villages, 10, 600)
    crs = utm_crs_for(ORIGIN_LON, ORIGIN_LAT)
    x0, y0 = origin_xy(crs)
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def lonlat(xy: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        lon, lat = to_ll.transform(xy[:, 0] + x0, xy[:, 1] + y0)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def to_wgs(geom: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(geom, lambda c: np.column_stack(lonlat(c)))

    # roads, stage by stage (the order of random draws matters for reproducibility)
    p = lay_out(np.random.default_rng(seed))
    add_bridges(p)
    place_seats(p, n_townships)
    add_town_and_park(p)
    add_seat_grids(p)
    add_county_roads(p)
    add_villages(p, n_villages)
    add_footways(p)
    remap = finish_topology(p)

    b = p.b
    x, y = b.xy()
    u, v, road, order = b.segments()
    roads_tbl = b.roads
    lon, lat = lonlat(np.column_stack([x, y]))
    net = RoadNetwork.from_arrays(
        node_lon=lon,
        node_lat=lat,
        edge_u=u,
        edge_v=v,
        edge_class=road_class_codes([r.highway for r in roads_tbl])[road],
        edge_oneway=np.array([r.oneway for r in roads_tbl], dtype=bool)[road],
        edge_maxspeed_kph=np.array([r.maxspeed_kph for r in roads_tbl], dtype=np.float64)[road],
        edge_name=np.array([r.name for r in roads_tbl], dtype=object)[road],
        crs=crs,
        node_x_m=x + x0,
        node_y_m=y + y0,
        source=t("demo.source", seed=seed),
    )
    edge_is_bridge = np.array([r.bridge for r in roads_tbl], dtype=bool)[road]

    tw_names, tw_kinds, tw_geoms = _township_polygons(p)
    townships = gpd.GeoDataFrame(
        {"name": tw_names, "kind": tw_kinds}, geometry=[to_wgs(g) for g in tw_geoms], crs="EPSG:4326"
    )
    dem = _make_demand(p, remap)
    dlon, dlat = lonlat(dem.xy)
    demand = pd.DataFrame(
        {
            "id": [f"D{k + 1:04d}" for k in range(len(dem.names))],
            "name": dem.names,
            "population": dem.population,
            "lon": dlon,
            "lat": dlat,
            "township": _township_of(tw_names, tw_geoms, dem.xy[:, 0], dem.xy[:, 1]),
            "kind": dem.kind,
        }
    )
    st_table, st_xy = _make_stations(p, dem)
    slon, slat = lonlat(st_xy)
    stations = st_table.assign(lon=slon, lat=slat)[
        ["id", "name", "tier", "lon", "lat", "organisation", "services", "status"]
    ]
    river_clip = p.river.line.intersection(p.outline.buffer(3000))
    logger.info(
        "demo county: %d nodes, %d segments, %d stations, %d demand points (population %d)",
        net.n_nodes,
        net.n_edges,
        len(stations),
        len(demand),
        int(demand["population"].sum()),
    )
    return DemoCounty(
        network=net,
        stations=stations,
        demand=demand,
        townships=townships,
        label=t("demo.label"),
        roads=_road_features(net, road, order, roads_tbl),
        edge_is_bridge=edge_is_bridge,
        river=to_wgs(river_clip if isinstance(river_clip, shapely.LineString) else p.river.line),
        outline=to_wgs(p.outline),
    )


def _road_features(
    net: RoadNetwork, road: NDArray[np.int64], order: NDArray[np.float64], roads: list[Road]
) -> gpd.GeoDataFrame:
    """Chain segments back into one polyline per road piece (in travel direction)."""
    o = np.lexsort((order, road))
    u, v, r = net.edge_u[o], net.edge_v[o], road[o]
    brk = np.ones(len(u), bool)
    brk[1:] = (r[1:] != r[:-1]) | (u[1:] != v[:-1])
    piece = np.cumsum(brk) - 1
    n_piece = int(piece[-1]) + 1
    # vertices: the first u of each piece followed by every v
    starts = np.flatnonzero(brk)
    vert_nodes = np.empty(len(u) + n_piece, dtype=np.int64)
    vert_piece = np.empty(len(u) + n_piece, dtype=np.int64)
    pos_v = np.arange(len(u)) + piece + 1
    pos_u = starts + np.arange(n_piece)
    vert_nodes[pos_v] = v
    vert_piece[pos_v] = piece
    vert_nodes[pos_u] = u[starts]
    vert_piece[pos_u] = np.arange(n_piece)
    coords = np.column_stack([net.node_lon[vert_nodes], net.node_lat[vert_nodes]])
    lines = shapely.linestrings(coords, indices=vert_piece)
    rp = r[starts]
    return gpd.GeoDataFrame(
        {
            "highway": [roads[k].highway for k in rp],
            "oneway": [roads[k].oneway for k in rp],
            "maxspeed": [roads[k].maxspeed_kph for k in rp],
            "name": [roads[k].name for k in rp],
            "bridge": [roads[k].bridge for k in rp],
        },
        geometry=lines,
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- writing


def station_sheet(st: pd.DataFrame) -> pd.DataFrame:
    """The station list as a planner hands it over: Chinese headers and tier words (编号, 名称, 层级 …)."""
    return pd.DataFrame(
        {
            "编号": st["id"],
            "名称": st["name"],
            "层级": st["tier"].map(_TIER_ZH),
            "经度": st["lon"].round(7),
            "纬度": st["lat"].round(7),
            "运营单位": st["organisation"],
            "服务项目": st["services"],
        }
    )


def demand_sheet(dm: pd.DataFrame) -> pd.DataFrame:
    """The demand list as a planner hands it over: Chinese headers and kind words (编号, 名称, 人口 …)."""
    return pd.DataFrame(
        {
            "编号": dm["id"],
            "名称": dm["name"],
            "人口": dm["population"],
            "经度": dm["lon"].round(7),
            "纬度": dm["lat"].round(7),
            "所属乡镇": dm["township"],
            "类型": dm["kind"].map(_KIND_ZH),
        }
    )


def write_demo(directory: str | os.PathLike[str], *, county: DemoCounty | None = None) -> dict[str, Path]:
    """Write the demo county as a planner would receive it.

    Parameters
    ----------
    directory
        Output folder (created if missing).
    county
        The county to write (default: :func:`generate_county` with default arguments).

    Returns
    -------
    dict
        ``{"roads": …gpkg, "stations": …csv, "demand": …csv, "townships": …geojson}``.

    Raises
    ------
    InputError
        If the directory cannot be created or written.
    """
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError("demo.bad_directory", directory=str(out), reason=str(exc)) from None
    c = county if county is not None else generate_county()
    paths = {
        "roads": out / "roads.gpkg",
        "stations": out / "stations.csv",
        "demand": out / "demand.csv",
        "townships": out / "townships.geojson",
    }
    stations_zh = station_sheet(c.stations)
    demand_zh = demand_sheet(c.demand)
    try:
        with atomic_path(paths["roads"]) as tmp:
            c.roads.to_file(tmp, driver="GPKG", layer="roads", engine="pyogrio")
        for key, table in (("stations", stations_zh), ("demand", demand_zh)):
            with atomic_write(paths[key], encoding="utf-8-sig", newline="") as fh:
                table.to_csv(fh, index=False)
        with atomic_write(paths["townships"], encoding="utf-8") as fh:
            fh.write(c.townships.to_json(ensure_ascii=False))
    except OSError as exc:
        raise InputError("demo.bad_directory", directory=str(out), reason=str(exc)) from None
    logger.info("demo county written to %s", out)
    return paths


__all__ = [
    "DemoCounty",
    "demand_sheet",
    "generate_county",
    "station_sheet",
    "write_demo",
]
