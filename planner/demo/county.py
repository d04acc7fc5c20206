"""A generated demo county and scalable synthetic road networks.

Nothing here describes a real place. :func:`generate_county` builds a believable rural
county in southern China (≈ 40 × 35 km around 116.2°E, 27.4°N): a county town with a
street grid, township seats joined by county roads, villages on village roads, a river
that roads cross only at a few bridges, an industrial park, stations of the four tiers
with real coverage gaps, and demand points (villages, town communities, enterprises)
with population. It is deterministic: the same seed gives identical arrays.

:func:`write_demo` writes it the way a planner would hand it over (GeoPackage roads,
CSV station and demand lists with Chinese headers, GeoJSON townships).

:func:`generate_grid_network` makes perturbed grid-like networks of 10k … 1M nodes for
benchmarks, fully vectorised; :func:`random_points_near` draws points near its roads.

All geometry is built in metres in the UTM zone of the origin and converted to WGS-84
once, so ``node_x_m``/``node_y_m`` are exact and ``node_lon``/``node_lat`` derived.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse import csgraph
from scipy.spatial import Delaunay, cKDTree

from planner._atomic import atomic_path, atomic_write
from planner._errors import ConfigError, InputError
from planner.i18n import t
from planner.network.roads import RoadNetwork, road_class_codes, utm_crs_for

logger = logging.getLogger(__name__)

#: WGS-84 origin of the demo county and of the benchmark grids (a rural area in
#: southern China; the generated roads do not follow any real road there).
ORIGIN_LON: float = 116.2
ORIGIN_LAT: float = 27.4
#: Half extents of the county outline (metres): about 40 × 35 km.
COUNTY_HALF_WIDTH_M: float = 20_000.0
COUNTY_HALF_HEIGHT_M: float = 17_500.0
#: Distance from the river centre line to each end of a bridge segment (metres).
BRIDGE_HALF_LENGTH_M: float = 120.0
#: Crossing points closer than this to a segment end snap onto that end (metres).
SNAP_EPS_M: float = 1.0
#: Non-bridge segments closer than this to the river are removed (metres).
RIVER_CLEARANCE_M: float = 5.0
#: Station offsets from the nearest road (metres).
STATION_OFFSET_MIN_M: float = 5.0
STATION_OFFSET_MAX_M: float = 80.0

_TOWNSHIP_SYLLABLES: tuple[str, ...] = (
    "东岭", "石门", "青溪", "白沙", "龙潭", "桃源", "梅林", "枫坪", "黄竹", "金坑", "云峰", "双溪",
    "古城", "新丰", "长岗", "大洋", "茶亭", "高田", "凤岗", "马头", "柏树", "杨梅", "南塘", "上清",
)  # fmt: skip
_VILLAGE_FIRST: tuple[str, ...] = (
    "石", "上", "下", "东", "西", "南", "北", "新", "老", "大", "小", "高", "坪", "岭", "塘", "溪",
    "山", "竹", "松", "梅", "桃", "李", "黄", "陈", "刘", "张", "罗", "何", "洋", "田", "湖", "岗",
    "龙", "凤", "金", "银", "杨", "柳", "茶", "桂",
)  # fmt: skip
_VILLAGE_SECOND: tuple[str, ...] = (
    "桥", "头", "坑", "田", "塘", "坪", "岭", "溪", "源", "口", "湾", "洲", "背", "垅", "坊", "陂",
    "庄", "家", "林", "山",
)  # fmt: skip
_COMMUNITY_NAMES: tuple[str, ...] = (
    "人民", "建设", "解放", "和平", "文化", "新华", "城南", "城北", "滨江", "东门", "西门", "南门",
    "北门", "朝阳", "育才", "府前", "站前", "龙山", "凤凰", "锦绣", "紫阳", "翠湖", "东升", "向阳",
)  # fmt: skip
_STREET_NAMES: tuple[str, ...] = (
    "人民", "建设", "解放", "中山", "胜利", "新华", "文昌", "和平", "团结", "民主", "光明", "幸福",
    "育才", "迎宾", "滨江", "体育", "振兴", "繁荣", "兴业", "学府", "纺织", "园丁", "长寿", "复兴",
    "青年", "书院", "东风", "红旗", "友谊", "龙泉", "钟楼", "沿河", "丰收", "金山", "银湖", "鼓楼",
    "紫荆", "桂花", "樱花", "玉兰", "荷花", "梧桐", "桃李", "翠竹", "松柏",
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

_MAXSPEED_KPH = {"primary": 60.0, "secondary": 60.0, "tertiary": 40.0}


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


# --------------------------------------------------------------------------- helpers


def _check_int(name: str, value: int, lo: int, hi: int) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or not lo <= int(value) <= hi:
        raise ConfigError("demo.bad_parameter", name=name, value=value, expected=f"{lo} … {hi}")


def _origin_xy(crs: str) -> tuple[float, float]:
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0 = tr.transform(ORIGIN_LON, ORIGIN_LAT)
    return float(x0), float(y0)


class _River:
    """A river as a function ``y = f(x)`` in local metres (north side is positive)."""

    def __init__(self, xs: NDArray[np.float64], ys: NDArray[np.float64]) -> None:
        self.xs = xs
        self.ys = ys
        self.line = shapely.LineString(np.column_stack([xs, ys]))

    def y_at(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.interp(x, self.xs, self.ys)

    def side(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int8]:
        """+1 north of the river, -1 south."""
        return np.where(np.asarray(y) > self.y_at(np.asarray(x)), 1, -1).astype(np.int8)

    def clear_path(self, ax: float, ay: float, bx: float, by: float, *, margin_m: float) -> bool:
        """Return True if the straight path a → b stays on one side, ``margin_m`` away from the river."""
        s = np.linspace(0.0, 1.0, max(2, int(math.hypot(bx - ax, by - ay) / 50.0) + 2))
        px = ax + s * (bx - ax)
        py = ay + s * (by - ay)
        d = py - self.y_at(px)
        return bool((d > margin_m).all() or (d < -margin_m).all())


def _trace(
    points: NDArray[np.float64], *, step_m: float, wiggle_m: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Resample a polyline every ``step_m`` and bend it gently sideways.

    The offset is a sum of two sines under a ``sin(π s / L)`` envelope, so both ends
    stay exactly where they were.
    """
    d = np.hypot(*np.diff(points, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(d)])
    total = float(cum[-1])
    n = max(1, math.ceil(total / step_m))
    s = np.linspace(0.0, total, n + 1)
    x = np.interp(s, cum, points[:, 0])
    y = np.interp(s, cum, points[:, 1])
    if wiggle_m > 0 and n > 1:
        tx = np.gradient(x)
        ty = np.gradient(y)
        norm = np.hypot(tx, ty)
        norm[norm == 0] = 1.0
        nx, ny = -ty / norm, tx / norm
        lam1, lam2 = rng.uniform(1500.0, 4000.0), rng.uniform(400.0, 1200.0)
        ph1, ph2 = rng.uniform(0, 2 * np.pi, 2)
        amp = min(wiggle_m, 0.08 * total)
        off = (
            amp
            * np.sin(np.pi * s / total)
            * (0.65 * np.sin(2 * np.pi * s / lam1 + ph1) + 0.35 * np.sin(2 * np.pi * s / lam2 + ph2))
        )
        x = x + off * nx
        y = y + off * ny
    x[0], y[0], x[-1], y[-1] = points[0, 0], points[0, 1], points[-1, 0], points[-1, 1]
    return np.column_stack([x, y])


def _greedy_spread(
    cand: NDArray[np.float64], *, n: int, min_dist_m: float, fixed: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Pick up to ``n`` candidates in order, each ``min_dist_m`` from those picked (and ``fixed``)."""
    picked: list[NDArray[np.float64]] = []
    fixed_pts = np.empty((0, 2)) if fixed is None else fixed
    for p in cand:
        if len(picked) >= n:
            break
        if len(fixed_pts) and np.hypot(*(fixed_pts - p).T).min() < min_dist_m:
            continue
        if picked and np.hypot(*(np.asarray(picked) - p).T).min() < min_dist_m:
            continue
        picked.append(p)
    return np.asarray(picked, dtype=np.float64).reshape(-1, 2)


@dataclass
class _Road:
    highway: str
    name: str
    oneway: bool
    maxspeed_kph: float
    bridge: bool


class _Builder:
    """Collects nodes and road polylines; segments remember their road and order."""

    def __init__(self) -> None:
        self._xs: list[NDArray[np.float64]] = []
        self._ys: list[NDArray[np.float64]] = []
        self.n_nodes = 0
        self.roads: list[_Road] = []
        self._seg_u: list[NDArray[np.int64]] = []
        self._seg_v: list[NDArray[np.int64]] = []
        self._seg_road: list[NDArray[np.int64]] = []
        self._seg_order: list[NDArray[np.float64]] = []

    def add_nodes(self, xy: NDArray[np.float64]) -> NDArray[np.int64]:
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        ids = np.arange(self.n_nodes, self.n_nodes + len(xy), dtype=np.int64)
        self._xs.append(xy[:, 0].copy())
        self._ys.append(xy[:, 1].copy())
        self.n_nodes += len(xy)
        return ids

    def xy(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if len(self._xs) > 1:
            self._xs = [np.concatenate(self._xs)]
            self._ys = [np.concatenate(self._ys)]
        return self._xs[0], self._ys[0]

    def add_road(
        self,
        nodes: NDArray[np.int64],
        *,
        highway: str,
        name: str = "",
        oneway: bool = False,
        maxspeed_kph: float = math.nan,
        bridge: bool = False,
    ) -> int:
        nodes = np.asarray(nodes, dtype=np.int64)
        if len(nodes) < 2:
            return -1
        rid = len(self.roads)
        self.roads.append(_Road(highway, name, oneway, maxspeed_kph, bridge))
        self._seg_u.append(nodes[:-1])
        self._seg_v.append(nodes[1:])
        self._seg_road.append(np.full(len(nodes) - 1, rid, dtype=np.int64))
        self._seg_order.append(np.arange(len(nodes) - 1, dtype=np.float64))
        return rid

    def road_between(
        self,
        start: int,
        end: int,
        *,
        via: Sequence[tuple[float, float]] = (),
        step_m: float,
        wiggle_m: float,
        rng: np.random.Generator,
        **attrs: object,
    ) -> int:
        """Add a traced road from existing node ``start`` to existing node ``end``."""
        x, y = self.xy()
        pts = np.array([(x[start], y[start]), *via, (x[end], y[end])], dtype=np.float64)
        path = _trace(pts, step_m=step_m, wiggle_m=wiggle_m, rng=rng)
        inner = self.add_nodes(path[1:-1])
        nodes = np.concatenate([[start], inner, [end]]).astype(np.int64)
        return self.add_road(nodes, **attrs)  # type: ignore[arg-type]

    def segments(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        return (
            np.concatenate(self._seg_u),
            np.concatenate(self._seg_v),
            np.concatenate(self._seg_road),
            np.concatenate(self._seg_order),
        )

    def set_segments(
        self, u: NDArray[np.int64], v: NDArray[np.int64], road: NDArray[np.int64], order: NDArray[np.float64]
    ) -> None:
        self._seg_u, self._seg_v, self._seg_road, self._seg_order = [u], [v], [road], [order]

    def set_nodes(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> None:
        self._xs, self._ys, self.n_nodes = [x], [y], len(x)


def _segment_geoms(
    x: NDArray[np.float64], y: NDArray[np.float64], u: NDArray[np.int64], v: NDArray[np.int64]
) -> NDArray[np.object_]:
    coords = np.stack([np.column_stack([x[u], y[u]]), np.column_stack([x[v], y[v]])], axis=1)
    return np.asarray(shapely.linestrings(coords), dtype=object)


def _planarise(b: _Builder) -> int:
    """Split every pair of crossing segments at a shared node (real intersections).

    Crossings within :data:`SNAP_EPS_M` of a segment end reuse that end node, so a road
    ending on another road becomes a T-junction. Returns the number of crossings.
    """
    x, y = b.xy()
    u, v, road, order = b.segments()
    geoms = _segment_geoms(x, y, u, v)
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    share = (u[i] == u[j]) | (u[i] == v[j]) | (v[i] == u[j]) | (v[i] == v[j])
    i, j = i[~share], j[~share]
    px, py = x[u[i]], y[u[i]]
    rx, ry = x[v[i]] - px, y[v[i]] - py
    qx, qy = x[u[j]], y[u[j]]
    sx, sy = x[v[j]] - qx, y[v[j]] - qy
    li, lj = np.hypot(rx, ry), np.hypot(sx, sy)
    den = rx * sy - ry * sx
    ok = np.abs(den) > 1e-9 * li * lj
    if (~ok).any():
        logger.debug("skipping %d parallel overlapping segment pairs", int((~ok).sum()))
    i, j, px, py, rx, ry, qx, qy, sx, sy, li, lj, den = (
        a[ok] for a in (i, j, px, py, rx, ry, qx, qy, sx, sy, li, lj, den)
    )
    ti = ((qx - px) * sy - (qy - py) * sx) / den
    tj = ((qx - px) * ry - (qy - py) * rx) / den
    i0, i1 = ti * li < SNAP_EPS_M, (1 - ti) * li < SNAP_EPS_M
    j0, j1 = tj * lj < SNAP_EPS_M, (1 - tj) * lj < SNAP_EPS_M
    i_end = i0 | i1
    j_end = j0 | j1
    both = i_end & j_end  # two different end nodes meet: leave as they are
    node = np.full(len(i), -1, dtype=np.int64)
    node[i0] = u[i[i0]]
    node[i1 & ~i0] = v[i[i1 & ~i0]]
    node[~i_end & j0] = u[j[~i_end & j0]]
    node[~i_end & j1 & ~j0] = v[j[~i_end & j1 & ~j0]]
    new = node < 0
    new_xy = np.column_stack([px[new] + ti[new] * rx[new], py[new] + ti[new] * ry[new]])
    node[new] = b.add_nodes(new_xy)
    split_i = ~i_end & ~both
    split_j = ~j_end & ~both
    seg = np.concatenate([np.arange(len(u)), np.arange(len(u)), i[split_i], j[split_j]])
    tt = np.concatenate([np.zeros(len(u)), np.ones(len(u)), ti[split_i], tj[split_j]])
    nn = np.concatenate([u, v, node[split_i], node[split_j]])
    o = np.lexsort((tt, seg))
    seg, tt, nn = seg[o], tt[o], nn[o]
    pair = (seg[1:] == seg[:-1]) & (nn[1:] != nn[:-1])
    parent = seg[:-1][pair]
    b.set_segments(nn[:-1][pair], nn[1:][pair], road[parent], order[parent] + tt[:-1][pair])
    return int((split_i | split_j).sum())


def _merge_close_nodes(b: _Builder) -> int:
    """Merge nodes closer than :data:`SNAP_EPS_M` into one; returns how many were merged."""
    x, y = b.xy()
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(SNAP_EPS_M, output_type="ndarray")
    if len(pairs) == 0:
        return 0
    n = b.n_nodes
    adj = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = csgraph.connected_components(adj, directed=False)
    first = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))
    rep = first[labels]
    u, v, road, order = b.segments()
    u, v = rep[u], rep[v]
    keep = u != v
    b.set_segments(u[keep], v[keep], road[keep], order[keep])
    return int((rep != np.arange(n)).sum())


def _cut_river(b: _Builder, river: _River) -> int:
    """Remove non-bridge segments that cross (or touch) the river; returns how many."""
    x, y = b.xy()
    u, v, road, order = b.segments()
    geoms = _segment_geoms(x, y, u, v)
    tree = shapely.STRtree(geoms)
    hit = tree.query(river.line, predicate="dwithin", distance=RIVER_CLEARANCE_M)
    is_bridge = np.array([r.bridge for r in b.roads], dtype=bool)[road]
    bad = np.zeros(len(u), bool)
    bad[hit] = True
    bad &= ~is_bridge
    b.set_segments(u[~bad], v[~bad], road[~bad], order[~bad])
    return int(bad.sum())


def _dedupe(b: _Builder) -> None:
    """Drop repeated segments (same unordered node pair), keeping the first."""
    u, v, road, order = b.segments()
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    _, first = np.unique(lo * (b.n_nodes + 1) + hi, return_index=True)
    keep = np.sort(first)
    b.set_segments(u[keep], v[keep], road[keep], order[keep])


def _components(n: int, u: NDArray[np.int64], v: NDArray[np.int64]) -> NDArray[np.int32]:
    adj = sp.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
    _, labels = csgraph.connected_components(adj, directed=False)
    return np.asarray(labels, dtype=np.int32)


def _connect_orphans(b: _Builder, river: _River, main_node: int, rng: np.random.Generator) -> int:
    """Link every piece not connected to ``main_node`` to the main piece (same river side).

    Returns the number of pieces that could not be linked (they are dropped later).
    """
    x, y = b.xy()
    u, v, _, _ = b.segments()
    labels = _components(b.n_nodes, u, v)
    used = np.zeros(b.n_nodes, bool)
    used[u] = True
    used[v] = True
    main = labels[main_node]
    main_ids = np.flatnonzero(used & (labels == main))
    tree = cKDTree(np.column_stack([x[main_ids], y[main_ids]]))
    failed = 0
    for comp in np.unique(labels[used & (labels != main)]):
        ids = np.flatnonzero(used & (labels == comp))
        k = min(12, len(main_ids))
        dist, idx = tree.query(np.column_stack([x[ids], y[ids]]), k=k)
        dist = dist.reshape(len(ids), k)
        idx = idx.reshape(len(ids), k)
        best: tuple[float, int, int] | None = None
        for r in np.argsort(dist.min(axis=1))[:30]:
            for c in range(k):
                a, m = int(ids[r]), int(main_ids[idx[r, c]])
                if best is not None and dist[r, c] >= best[0]:
                    break
                if river.clear_path(x[a], y[a], x[m], y[m], margin_m=30.0):
                    best = (float(dist[r, c]), a, m)
                    break
        if best is None:
            failed += 1
            continue
        b.road_between(best[1], best[2], step_m=100.0, wiggle_m=0.0, rng=rng, highway="unclassified")
    return failed


def _compact(b: _Builder, keep_node: int) -> NDArray[np.int64]:
    """Keep only the piece containing ``keep_node``; renumber nodes. Returns old → new map."""
    x, y = b.xy()
    u, v, road, order = b.segments()
    labels = _components(b.n_nodes, u, v)
    main = labels[keep_node]
    ok = labels[u] == main
    if (~ok).any():
        logger.info("dropping %d segments not connected to the county town", int((~ok).sum()))
    u, v, road, order = u[ok], v[ok], road[ok], order[ok]
    used = np.zeros(b.n_nodes, bool)
    used[u] = True
    used[v] = True
    remap = np.full(b.n_nodes, -1, dtype=np.int64)
    remap[used] = np.arange(int(used.sum()))
    b.set_nodes(x[used], y[used])
    b.set_segments(remap[u], remap[v], road, order)
    return remap


def _street_grid(
    b: _Builder,
    *,
    centre: tuple[float, float],
    half_w_m: float,
    half_h_m: float,
    spacing_m: float,
    angle_rad: float,
    jitter_m: float,
    rng: np.random.Generator,
    classify: Callable[[int, int, bool], tuple[str, str, bool]],
    drop_p: float = 0.0,
    elliptic: bool = True,
    midpoints: bool = True,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Add a (rotated, jittered, optionally elliptic) grid of streets.

    ``classify(index, centre_index, is_column)`` returns (highway, name, oneway) for a
    grid line. Returns the intersection node ids (``-1`` where absent) and the mask of
    kept intersections.
    """
    nx = 2 * int(half_w_m // spacing_m) + 1
    ny = 2 * int(half_h_m // spacing_m) + 1
    ci, cj = nx // 2, ny // 2
    a = (np.arange(nx) - ci) * spacing_m
    c = (np.arange(ny) - cj) * spacing_m
    aa, cc = np.meshgrid(a, c, indexing="ij")
    if elliptic:
        rr = (aa / (half_w_m + 1.0)) ** 2 + (cc / (half_h_m + 1.0)) ** 2
        kept = rr <= 1.0 + rng.uniform(-0.12, 0.12, aa.shape)
        kept[ci, :] |= np.abs(cc[ci, :]) <= half_h_m
        kept[:, cj] |= np.abs(aa[:, cj]) <= half_w_m
    else:
        kept = np.ones(aa.shape, bool)
    jx = rng.uniform(-jitter_m, jitter_m, aa.shape)
    jy = rng.uniform(-jitter_m, jitter_m, aa.shape)
    jx[ci, cj] = jy[ci, cj] = 0.0
    ca, sa = math.cos(angle_rad), math.sin(angle_rad)
    gx = centre[0] + (aa + jx) * ca - (cc + jy) * sa
    gy = centre[1] + (aa + jx) * sa + (cc + jy) * ca
    ids = np.full(aa.shape, -1, dtype=np.int64)
    ids[kept] = b.add_nodes(np.column_stack([gx[kept], gy[kept]]))
    # a removed piece between two intersections
    drop_rows = rng.random((nx, ny)) < drop_p
    drop_cols = rng.random((nx, ny)) < drop_p
    for is_col, count in ((False, ny), (True, nx)):
        for k in range(count):
            line_ids = ids[k, :] if is_col else ids[:, k]
            drops = drop_cols[k, :] if is_col else drop_rows[:, k]
            centre_k = ci if is_col else cj
            highway, name, oneway = classify(k, centre_k, is_col)
            if highway != "residential":
                drops = np.zeros_like(drops)
            seg_ok = (line_ids[:-1] >= 0) & (line_ids[1:] >= 0) & ~drops[:-1]
            runs: list[list[int]] = []
            for s in range(len(seg_ok)):
                if not seg_ok[s]:
                    continue
                if runs and runs[-1][-1] == line_ids[s]:
                    runs[-1].append(int(line_ids[s + 1]))
                else:
                    runs.append([int(line_ids[s]), int(line_ids[s + 1])])
            x, y = b.xy()
            for run in runs:
                nodes = np.asarray(run, dtype=np.int64)
                if midpoints:
                    mid = np.column_stack(
                        [
                            (x[nodes[:-1]] + x[nodes[1:]]) / 2 + rng.uniform(-3, 3, len(nodes) - 1),
                            (y[nodes[:-1]] + y[nodes[1:]]) / 2 + rng.uniform(-3, 3, len(nodes) - 1),
                        ]
                    )
                    mids = b.add_nodes(mid)
                    full = np.empty(2 * len(nodes) - 1, dtype=np.int64)
                    full[0::2] = nodes
                    full[1::2] = mids
                    nodes = full
                if oneway and (k % 2):
                    nodes = nodes[::-1]
                b.add_road(
                    nodes,
                    highway=highway,
                    name=name,
                    oneway=oneway,
                    maxspeed_kph=_MAXSPEED_KPH.get(highway, math.nan),
                )
    return ids, kept


def _uniform_box(rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    """Uniform points in the county's bounding box (local metres)."""
    lo = [-COUNTY_HALF_WIDTH_M, -COUNTY_HALF_HEIGHT_M]
    hi = [COUNTY_HALF_WIDTH_M, COUNTY_HALF_HEIGHT_M]
    return rng.uniform(lo, hi, (n, 2))


def _unique_names(pool: list[str], n: int, rng: np.random.Generator) -> list[str]:
    idx = rng.permutation(len(pool))[:n]
    return [pool[i] for i in idx]


def _place_near_road(
    b: _Builder, targets: NDArray[np.float64], rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Move each target to 5–80 m off the nearest road near it (distance to the nearest segment)."""
    x, y = b.xy()
    u, v, _, _ = b.segments()
    geoms = _segment_geoms(x, y, u, v)
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


# --------------------------------------------------------------------------- county


@dataclass
class _Plan:
    """Working state shared by the stages of :func:`generate_county` (local metres)."""

    rng: np.random.Generator
    b: _Builder
    outline: shapely.Polygon
    inner: shapely.Polygon
    town: NDArray[np.float64]
    town_angle: float
    town_hw: float
    town_hh: float
    park: NDArray[np.float64]
    park_hw: float
    park_hh: float
    river: _River
    bridge_ends: list[tuple[int, int]] = field(default_factory=list)
    seats: NDArray[np.float64] = field(default_factory=lambda: np.empty((0, 2)))
    seat_names: list[str] = field(default_factory=list)
    seat_full: list[str] = field(default_factory=list)
    n_zhen: int = 0
    street_pool: list[str] = field(default_factory=list)
    town_node: int = -1
    town_nodes: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    park_nodes: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    seat_nodes: list[int] = field(default_factory=list)
    seat_grid_nodes: list[NDArray[np.int64]] = field(default_factory=list)
    villages: NDArray[np.float64] = field(default_factory=lambda: np.empty((0, 2)))
    village_names: list[str] = field(default_factory=list)
    walk_pts: NDArray[np.float64] = field(default_factory=lambda: np.empty((0, 2)))

    @property
    def town_side(self) -> int:
        return int(self.river.side(self.town[None, 0], self.town[None, 1])[0])

    def nearest_town_node(self, px: float, py: float) -> int:
        x, y = self.b.xy()
        tn = self.town_nodes
        return int(tn[np.argmin(np.hypot(x[tn] - px, y[tn] - py))])


def _lay_out(rng: np.random.Generator) -> _Plan:
    """Draw the county outline, the town and industrial park, and the river."""
    theta = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    ph = rng.uniform(0, 2 * np.pi, 3)
    wobble = 1 + 0.07 * np.sin(3 * theta + ph[0]) + 0.05 * np.sin(5 * theta + ph[1]) + 0.03 * np.sin(9 * theta + ph[2])
    outline = shapely.Polygon(
        np.column_stack(
            [COUNTY_HALF_WIDTH_M * 0.95 * wobble * np.cos(theta), COUNTY_HALF_HEIGHT_M * 0.95 * wobble * np.sin(theta)]
        )
    )
    town = np.array([rng.uniform(-6000, -2000), rng.uniform(2000, 4500)])
    town_angle = float(rng.uniform(-0.15, 0.15))
    town_hw, town_hh = float(rng.uniform(1900, 2300)), float(rng.uniform(1300, 1600))
    park = town + np.array([town_hw + rng.uniform(1600, 2200), rng.uniform(-600, 0)])
    park_hw, park_hh = 700.0, 450.0
    # the river meanders west → east and passes at least 500 m south of town and park
    rx = np.arange(-COUNTY_HALF_WIDTH_M * 1.3, COUNTY_HALF_WIDTH_M * 1.3 + 1, 100.0)
    rp = rng.uniform(0, 2 * np.pi, 3)
    shape = (
        rng.uniform(-0.12, 0.12) * rx
        + 1300 * np.sin(2 * np.pi * rx / rng.uniform(12000, 16000) + rp[0])
        + 450 * np.sin(2 * np.pi * rx / rng.uniform(4000, 6000) + rp[1])
        + 120 * np.sin(2 * np.pi * rx / 1300.0 + rp[2])
    )
    near_town = (rx > town[0] - town_hw - 800) & (rx < park[0] + park_hw + 800)
    base_y = min(town[1] - town_hh - 500, park[1] - park_hh - 500)
    river = _River(rx, shape + (base_y - shape[near_town].max()))
    return _Plan(
        rng=rng,
        b=_Builder(),
        outline=outline,
        inner=outline.buffer(-800.0),
        town=town,
        town_angle=town_angle,
        town_hw=town_hw,
        town_hh=town_hh,
        park=park,
        park_hw=park_hw,
        park_hh=park_hh,
        river=river,
    )


def _add_bridges(p: _Plan) -> None:
    """Add 3–4 bridges: one south of the town, the others spread along the river."""
    rng, river = p.rng, p.river
    n_bridges = int(rng.integers(3, 5))
    inside = shapely.contains_xy(p.inner, river.xs, river.ys)
    span = river.xs[inside].min() + 2500, river.xs[inside].max() - 2500
    bx = [float(p.town[0] + rng.uniform(-300, 300))]
    for cand in rng.permutation(np.linspace(span[0], span[1], 40)):
        if len(bx) >= n_bridges:
            break
        if min(abs(cand - q) for q in bx) > 7000:
            bx.append(float(cand))
    for k, xb in enumerate(sorted(bx)):
        yb = float(river.y_at(np.array([xb]))[0])
        slope = float((river.y_at(np.array([xb + 20])) - river.y_at(np.array([xb - 20])))[0] / 40.0)
        nrm = np.array([-slope, 1.0]) / math.hypot(slope, 1.0)
        ends = p.b.add_nodes(np.array([[xb, yb], [xb, yb]]) + np.array([nrm, -nrm]) * BRIDGE_HALF_LENGTH_M)
        is_town = abs(xb - bx[0]) < 1
        p.b.add_road(
            ends,
            highway="primary" if is_town else "secondary",
            name="示例大桥" if is_town else f"{_STREET_NAMES[k + 10]}大桥",
            maxspeed_kph=60.0 if is_town else math.nan,
            bridge=True,
        )
        p.bridge_ends.append((int(ends[0]), int(ends[1])))


def _place_seats(p: _Plan, n_townships: int) -> None:
    """Spread the township seats (away from the town, the park and the river)."""
    cand = _uniform_box(p.rng, 6000)
    ok = shapely.contains_xy(p.outline.buffer(-2500.0), cand[:, 0], cand[:, 1])
    ok &= np.abs(cand[:, 1] - p.river.y_at(cand[:, 0])) > 1500
    ok &= np.hypot(*(cand - p.town).T) > 7500
    ok &= np.hypot(*(cand - p.park).T) > 5000
    cand = cand[ok]
    for dmin in (7500.0, 6500.0, 5500.0, 4500.0, 3500.0):
        p.seats = _greedy_spread(cand, n=n_townships, min_dist_m=dmin, fixed=p.town[None, :])
        if len(p.seats) == n_townships:
            break
    n = len(p.seats)
    p.seat_names = _unique_names(list(_TOWNSHIP_SYLLABLES), n, p.rng)
    p.n_zhen = max(1, round(n * 0.6))
    p.seat_full = [nm + ("镇" if k < p.n_zhen else "乡") for k, nm in enumerate(p.seat_names)]


def _add_town_and_park(p: _Plan) -> None:
    """Add the county town's street grid and the industrial park's service roads."""
    rng, b = p.rng, p.b
    p.street_pool = _unique_names(list(_STREET_NAMES), len(_STREET_NAMES), rng)
    oneway_offsets = set(rng.choice(np.arange(1, 20), 3, replace=False).tolist())
    pool = p.street_pool

    def town_class(k: int, ck: int, is_col: bool) -> tuple[str, str, bool]:
        off = abs(k - ck)
        name = pool[(k + (23 if is_col else 0)) % len(pool)] + ("路" if is_col else "街")
        if off == 0:
            return "primary", name[:-1] + "大道", False
        if off % 4 == 0:
            return "secondary", name, False
        return "residential", name, (is_col and off in oneway_offsets)

    tids, tkept = _street_grid(
        b,
        centre=(float(p.town[0]), float(p.town[1])),
        half_w_m=p.town_hw,
        half_h_m=p.town_hh,
        spacing_m=rng.uniform(170, 200),
        angle_rad=p.town_angle,
        jitter_m=12.0,
        rng=rng,
        classify=town_class,
        drop_p=0.06,
    )
    p.town_node = int(tids[tids.shape[0] // 2, tids.shape[1] // 2])
    p.town_nodes = tids[tkept]

    def park_class(k: int, ck: int, is_col: bool) -> tuple[str, str, bool]:
        if k == ck and not is_col:
            return "secondary", "工业大道", False
        return "service", "", False

    pids, pkept = _street_grid(
        b,
        centre=(float(p.park[0]), float(p.park[1])),
        half_w_m=p.park_hw,
        half_h_m=p.park_hh,
        spacing_m=200.0,
        angle_rad=p.town_angle,
        jitter_m=5.0,
        rng=rng,
        classify=park_class,
        elliptic=False,
    )
    p.park_nodes = pids[pkept]
    x, y = b.xy()
    west = int(pids[0, pids.shape[1] // 2])
    b.road_between(
        p.nearest_town_node(x[west], y[west]),
        west,
        step_m=120.0,
        wiggle_m=20.0,
        rng=rng,
        highway="secondary",
        name="工业大道",
        maxspeed_kph=60.0,
    )


def _add_seat_grids(p: _Plan) -> None:
    """Add a small street grid around every township seat."""
    for k, (sx, sy) in enumerate(p.seats):
        nm = p.seat_names[k]

        def seat_class(i: int, ci: int, is_col: bool, nm: str = nm) -> tuple[str, str, bool]:
            if i == ci:
                return "tertiary", nm + ("路" if is_col else "街"), False
            return "residential", "", False

        gids, gkept = _street_grid(
            p.b,
            centre=(float(sx), float(sy)),
            half_w_m=p.rng.uniform(260, 400),
            half_h_m=p.rng.uniform(200, 300),
            spacing_m=130.0,
            angle_rad=p.rng.uniform(-0.6, 0.6),
            jitter_m=10.0,
            rng=p.rng,
            classify=seat_class,
        )
        p.seat_nodes.append(int(gids[gids.shape[0] // 2, gids.shape[1] // 2]))
        p.seat_grid_nodes.append(gids[gkept])


def _add_county_roads(p: _Plan) -> None:
    """Join town, seats and bridge ends: a minimum spanning tree on each bank + a few loops.

    Only pairs on the same bank whose straight line keeps 400 m from the river may be
    joined, so the banks are linked through the bridges alone.
    """
    rng, river, b = p.rng, p.river, p.b
    x, y = b.xy()
    key_nodes = [p.town_node, *p.seat_nodes] + [e for pair in p.bridge_ends for e in pair]
    kxy = np.column_stack([x[key_nodes], y[key_nodes]])
    kside = river.side(kxy[:, 0], kxy[:, 1])
    nk = len(key_nodes)
    nb0 = 1 + len(p.seat_nodes)  # first bridge end
    dist = np.hypot(kxy[:, None, 0] - kxy[None, :, 0], kxy[:, None, 1] - kxy[None, :, 1])
    w = np.full((nk, nk), np.inf)
    for a in range(nk):
        for c in range(a + 1, nk):
            if kside[a] == kside[c] and river.clear_path(*kxy[a], *kxy[c], margin_m=400.0):
                w[a, c] = w[c, a] = dist[a, c]
    for k in range(len(p.bridge_ends)):
        a, c = nb0 + 2 * k, nb0 + 2 * k + 1
        w[a, c] = w[c, a] = 1e-3
    mst = csgraph.minimum_spanning_tree(sp.csr_matrix(np.triu(np.where(np.isfinite(w), w, 0.0)))).tocoo()
    links = {(min(int(a), int(c)), max(int(a), int(c))) for a, c in zip(mst.row, mst.col, strict=True)}
    deg = np.zeros(nk, int)
    for a, c in links:
        deg[a] += 1
        deg[c] += 1
    for a in range(nb0, nk):  # each bridge end needs a road on its own bank
        if deg[a] < 2:
            order_ = np.argsort(w[a])
            c = int(next(o for o in order_ if o != a and not (nb0 <= o < nk and (o - nb0) // 2 == (a - nb0) // 2)))
            if np.isfinite(w[a, c]):
                links.add((min(a, c), max(a, c)))
    for a in range(1, nb0):  # loops: second-nearest same-bank seat
        near_ = [int(o) for o in np.argsort(w[a, :nb0]) if o != a and np.isfinite(w[a, o])]
        if len(near_) >= 2 and w[a, near_[1]] < 14000 and rng.random() < 0.5:
            c = near_[1]
            links.add((min(a, c), max(a, c)))
    road_no = 1
    for a, c in sorted(links):
        if nb0 <= a and c == a + 1 and (a - nb0) % 2 == 0:
            continue  # the bridge itself
        na, nc = key_nodes[a], key_nodes[c]
        if a == 0:  # leave the town from its node nearest the other end
            na = p.nearest_town_node(x[nc], y[nc])
        if c == 0:
            nc = p.nearest_town_node(x[na], y[na])
        touches_town = a == 0 or c == 0
        via_bridge = a >= nb0 or c >= nb0
        highway = "secondary" if touches_town or (via_bridge and rng.random() < 0.5) else "tertiary"
        if touches_town and any(key_nodes[q] in p.bridge_ends[0] for q in (a, c)):
            highway = "primary"
        name = f"S{200 + road_no:03d}" if highway == "primary" else f"X{road_no:03d}"
        b.road_between(
            na,
            nc,
            step_m=140.0,
            wiggle_m=min(250.0, 0.04 * dist[a, c]),
            rng=rng,
            highway=highway,
            name=name,
            maxspeed_kph=_MAXSPEED_KPH.get(highway, math.nan),
        )
        road_no += 1


def _add_villages(p: _Plan, n_villages: int) -> None:
    """Place villages, their lanes, their roads to the network and some village links."""
    rng, river, b = p.rng, p.river, p.b
    backbone = np.arange(b.n_nodes)
    x, y = b.xy()
    cand = _uniform_box(rng, 20000)
    ok = shapely.contains_xy(p.inner, cand[:, 0], cand[:, 1])
    ok &= np.abs(cand[:, 1] - river.y_at(cand[:, 0])) > 500
    rel = cand - p.town
    ca, sa = math.cos(-p.town_angle), math.sin(-p.town_angle)
    lx, ly = rel[:, 0] * ca - rel[:, 1] * sa, rel[:, 0] * sa + rel[:, 1] * ca
    ok &= (lx / (p.town_hw + 900)) ** 2 + (ly / (p.town_hh + 900)) ** 2 > 1
    ok &= (np.abs(cand[:, 0] - p.park[0]) > p.park_hw + 700) | (np.abs(cand[:, 1] - p.park[1]) > p.park_hh + 700)
    ok &= np.hypot(*(cand[:, None, :] - p.seats[None, :, :]).transpose(2, 0, 1)).min(axis=1) > 900
    cand = cand[ok]
    villages = np.empty((0, 2))
    for dmin in (1100.0, 950.0, 800.0, 650.0, 500.0):
        villages = _greedy_spread(cand, n=n_villages, min_dist_m=dmin)
        if len(villages) == n_villages:
            break
    n_villages = len(villages)
    vside = river.side(villages[:, 0], villages[:, 1])
    pool = [a + c for a in _VILLAGE_FIRST for c in _VILLAGE_SECOND if a != c]
    p.villages = villages
    p.village_names = [nm + "村" for nm in _unique_names(pool, n_villages, rng)]

    bb_tree = cKDTree(np.column_stack([x[backbone], y[backbone]]))
    bb_side = river.side(x[backbone], y[backbone])
    _, near_bb = bb_tree.query(villages)
    order_v = np.argsort(np.hypot(*(villages - np.column_stack([x[backbone[near_bb]], y[backbone[near_bb]]])).T))
    village_nodes = np.full(n_villages, -1, dtype=np.int64)
    for vi in order_v:  # nearest to the backbone first, so later villages can chain on
        vx, vy = villages[vi]
        centre_node = int(b.add_nodes(villages[vi][None, :])[0])
        village_nodes[vi] = centre_node
        for _ in range(int(rng.integers(2, 4))):  # lanes inside the village
            ang = rng.uniform(0, 2 * np.pi)
            ln = rng.uniform(180, 420)
            end = b.add_nodes(np.array([[vx + ln * math.cos(ang), vy + ln * math.sin(ang)]]))
            b.road_between(centre_node, int(end[0]), step_m=70.0, wiggle_m=20.0, rng=rng, highway="residential")
        # the village road: to the nearest backbone node or earlier village on this bank
        x, y = b.xy()
        placed = village_nodes[village_nodes >= 0]
        placed = placed[placed != centre_node]
        d_bb, i_bb = bb_tree.query([vx, vy], k=min(25, len(backbone)))
        cands = [(float(d), int(backbone[i])) for d, i in zip(d_bb, i_bb, strict=True) if bb_side[i] == vside[vi]]
        if len(placed):
            dv = np.hypot(x[placed] - vx, y[placed] - vy)
            cands += [(float(dv[q]) * 1.15, int(placed[q])) for q in np.argsort(dv)[:5]]
        cands.sort()
        target = next((nd for _, nd in cands if river.clear_path(vx, vy, x[nd], y[nd], margin_m=60.0)), None)
        if target is None:
            continue
        d_t = math.hypot(x[target] - vx, y[target] - vy)
        b.road_between(
            centre_node,
            target,
            step_m=110.0,
            wiggle_m=min(90.0, 0.06 * d_t),
            rng=rng,
            highway="tertiary" if d_t > 2500 and rng.random() < 0.5 else "unclassified",
            name=f"{p.village_names[vi][:-1]}通村公路",
        )
    # village-to-village links (short Delaunay neighbours on the same bank)
    tri = Delaunay(villages)
    edges = np.unique(
        np.sort(np.concatenate([tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]], tri.simplices[:, [0, 2]]]), axis=1),
        axis=0,
    )
    elen = np.hypot(*(villages[edges[:, 0]] - villages[edges[:, 1]]).T)
    pick = (elen < 2600) & (vside[edges[:, 0]] == vside[edges[:, 1]]) & (rng.random(len(edges)) < 0.35)
    for a, c in edges[pick]:
        if village_nodes[a] < 0 or village_nodes[c] < 0:
            continue
        if not river.clear_path(*villages[a], *villages[c], margin_m=60.0):
            continue
        b.road_between(
            int(village_nodes[a]),
            int(village_nodes[c]),
            step_m=110.0,
            wiggle_m=60.0,
            rng=rng,
            highway="unclassified" if rng.random() < 0.6 else "track",
        )


def _add_footways(p: _Plan) -> None:
    """Add a riverside walk south of the town and a few paths across town blocks."""
    rng, b = p.rng, p.b
    walk_x = np.arange(p.town[0] - p.town_hw * 0.8, p.town[0] + p.town_hw * 0.8, 120.0)
    ry_w = p.river.y_at(walk_x)
    walk_slope = np.gradient(ry_w, walk_x)
    nrm = np.column_stack([-walk_slope, np.ones_like(walk_slope)]) / np.hypot(walk_slope, 1.0)[:, None]
    p.walk_pts = np.column_stack([walk_x, ry_w]) + nrm * 170.0
    walk_nodes = b.add_nodes(p.walk_pts)
    b.add_road(walk_nodes, highway="footway", name="滨江步道")
    x, y = b.xy()
    for end in (walk_nodes[0], walk_nodes[-1]):
        b.road_between(
            int(end), p.nearest_town_node(x[end], y[end]), step_m=90.0, wiggle_m=15.0, rng=rng, highway="footway"
        )
    for k_path in range(4):
        a, c = rng.choice(p.town_nodes, 2, replace=False)
        if not 250 <= math.hypot(x[a] - x[c], y[a] - y[c]) <= 900:
            continue
        b.road_between(int(a), int(c), step_m=80.0, wiggle_m=25.0, rng=rng, highway=("footway", "path")[k_path % 2])


def _finish_topology(p: _Plan) -> NDArray[np.int64]:
    """Split crossings, cut the river, connect stray pieces; returns the old → new node map."""
    b = p.b
    n_cross = _planarise(b)
    _merge_close_nodes(b)
    n_cut = _cut_river(b, p.river)
    _dedupe(b)
    for _ in range(3):
        if _connect_orphans(b, p.river, p.town_node, p.rng) == 0:
            break
        _planarise(b)
        _merge_close_nodes(b)
        _cut_river(b, p.river)
        _dedupe(b)
    logger.info("demo county: %d crossings split, %d river-crossing segments cut", n_cross, n_cut)
    return _compact(b, p.town_node)


def _township_polygons(p: _Plan) -> tuple[list[str], list[str], list[shapely.Geometry]]:
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


def _make_demand(p: _Plan, remap: NDArray[np.int64]) -> _Demand:
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
    comm_names = [nm + "社区" for nm in _unique_names(list(_COMMUNITY_NAMES), n_comm, rng)]

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
    ent_names = [nm + "有限公司" for nm in _unique_names(ent_pool, n_ent, rng)]

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


def _make_stations(p: _Plan, dem: _Demand) -> tuple[pd.DataFrame, NDArray[np.float64]]:
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
    _check_int("seed", seed, 0, 2**32 - 1)
    _check_int("n_townships", n_townships, 3, len(_TOWNSHIP_SYLLABLES))
    _check_int("n_villages", n_villages, 10, 600)
    crs = utm_crs_for(ORIGIN_LON, ORIGIN_LAT)
    x0, y0 = _origin_xy(crs)
    to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def lonlat(xy: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        lon, lat = to_ll.transform(xy[:, 0] + x0, xy[:, 1] + y0)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def to_wgs(geom: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(geom, lambda c: np.column_stack(lonlat(c)))

    # roads, stage by stage (the order of random draws matters for reproducibility)
    p = _lay_out(np.random.default_rng(seed))
    _add_bridges(p)
    _place_seats(p, n_townships)
    _add_town_and_park(p)
    _add_seat_grids(p)
    _add_county_roads(p)
    _add_villages(p, n_villages)
    _add_footways(p)
    remap = _finish_topology(p)

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
    net: RoadNetwork, road: NDArray[np.int64], order: NDArray[np.float64], roads: list[_Road]
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
    st = c.stations
    stations_zh = pd.DataFrame(
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
    dm = c.demand
    demand_zh = pd.DataFrame(
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


# --------------------------------------------------------------------------- benchmark grids

_GRID_CLASSES = ("primary", "secondary", "tertiary", "residential", "unclassified")


def generate_grid_network(*, n_nodes: int, seed: int = 0, spacing_m: float = 120.0) -> RoadNetwork:
    """Generate a perturbed grid-like road network of about ``n_nodes`` nodes, for benchmarks.

    Every 10th line is primary, every 5th secondary, every other tertiary, the rest
    residential or unclassified; about 7 % of minor segments are removed, some minor
    lines are one-way (alternating direction), and a few small separate grids are
    added as disconnected pieces. Fully vectorised.

    Parameters
    ----------
    n_nodes
        Target number of nodes (100 … 5,000,000).
    seed
        Random seed.
    spacing_m
        Grid spacing (metres).

    Returns
    -------
    RoadNetwork
        In the UTM zone of (116.2°E, 27.4°N).
    """
    _check_int("n_nodes", n_nodes, 100, 5_000_000)
    if not (math.isfinite(spacing_m) and 5.0 <= spacing_m <= 5000.0):
        raise ConfigError("demo.bad_parameter", name="spacing_m", value=spacing_m, expected="5 … 5000")
    rng = np.random.default_rng(seed)
    n_islands = 3
    island_side = max(2, round(math.sqrt(n_nodes * 0.002)))
    side = max(3, round(math.sqrt(max(9, n_nodes - n_islands * island_side**2))))
    xs_list: list[NDArray[np.float64]] = []
    ys_list: list[NDArray[np.float64]] = []
    us: list[NDArray[np.int64]] = []
    vs: list[NDArray[np.int64]] = []
    cls_list: list[NDArray[np.int16]] = []
    ow_list: list[NDArray[np.bool_]] = []
    offset = 0
    codes = road_class_codes(list(_GRID_CLASSES))
    blocks = [(side, 0.0, 0.0)] + [
        (island_side, (side + 4 + k * (island_side + 4)) * spacing_m, -(island_side + 4) * spacing_m)
        for k in range(n_islands)
    ]
    for n_side, ox, oy in blocks:
        ii, jj = np.divmod(np.arange(n_side * n_side, dtype=np.int64), n_side)
        jitter = rng.uniform(-0.2, 0.2, (2, len(ii))) * spacing_m
        xs_list.append(ox + jj * spacing_m + jitter[0])
        ys_list.append(oy + ii * spacing_m + jitter[1])
        node = ii * n_side + jj
        # horizontal segments along row ii, vertical along column jj
        h = node[jj < n_side - 1]
        vv = node[ii < n_side - 1]
        hu, hv = h, h + 1
        vu, vvv = vv, vv + n_side
        line_h = h // n_side
        line_v = vv % n_side
        u = np.concatenate([hu, vu])
        v = np.concatenate([hv, vvv])
        line = np.concatenate([line_h, line_v])
        is_v = np.concatenate([np.zeros(len(hu), bool), np.ones(len(vu), bool)])
        rank = np.where(line % 10 == 0, 0, np.where(line % 5 == 0, 1, np.where(line % 2 == 0, 2, 3)))
        minor = rank == 3
        rank = np.where(minor & (rng.random(len(u)) < 0.3), 4, rank)
        cls_line = codes[rank]
        keep = ~((rank >= 3) & (rng.random(len(u)) < 0.07))
        oneway = (rank >= 3) & (line % 7 == 3)
        flip = oneway & (((line // 7) % 2) == 1)
        u2 = np.where(flip, v, u)
        v2 = np.where(flip, u, v)
        _ = is_v
        us.append(u2[keep] + offset)
        vs.append(v2[keep] + offset)
        cls_list.append(cls_line[keep])
        ow_list.append(oneway[keep])
        offset += n_side * n_side
    x = np.concatenate(xs_list)
    y = np.concatenate(ys_list)
    u = np.concatenate(us)
    v = np.concatenate(vs)
    used = np.zeros(len(x), bool)
    used[u] = True
    used[v] = True
    remap = np.cumsum(used) - 1
    x, y = x[used], y[used]
    u, v = remap[u], remap[v]
    crs = utm_crs_for(ORIGIN_LON, ORIGIN_LAT)
    x0, y0 = _origin_xy(crs)
    xm = x + x0 - side * spacing_m / 2
    ym = y + y0 - side * spacing_m / 2
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xm, ym)
    cls_all = np.concatenate(cls_list)
    maxspeed = np.where(cls_all == codes[0], 60.0, np.where(cls_all == codes[1], 50.0, np.nan))
    return RoadNetwork.from_arrays(
        node_lon=lon,
        node_lat=lat,
        edge_u=u,
        edge_v=v,
        edge_class=cls_all,
        edge_oneway=np.concatenate(ow_list),
        edge_maxspeed_kph=maxspeed,
        crs=crs,
        node_x_m=xm,
        node_y_m=ym,
        source=t("demo.grid_source", n_nodes=n_nodes, seed=seed),
    )


def random_points_near(
    net: RoadNetwork, *, n: int, seed: int, max_offset_m: float = 100.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Draw ``n`` points near the roads of ``net`` (for benchmark stations / demand).

    A segment is chosen with probability proportional to its length, a position
    uniformly along it, and a sideways offset uniformly in ``±max_offset_m``.

    Returns
    -------
    tuple of ndarray
        ``(lon, lat)`` in WGS-84.
    """
    _check_int("n", n, 1, 50_000_000)
    if not (math.isfinite(max_offset_m) and max_offset_m >= 0):
        raise ConfigError("demo.bad_parameter", name="max_offset_m", value=max_offset_m, expected=">= 0")
    rng = np.random.default_rng(seed)
    cum = np.cumsum(net.edge_length_m)
    e = np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), net.n_edges - 1)
    f = rng.random(n)
    ux, uy = net.node_x_m[net.edge_u[e]], net.node_y_m[net.edge_u[e]]
    dx, dy = net.node_x_m[net.edge_v[e]] - ux, net.node_y_m[net.edge_v[e]] - uy
    ln = np.hypot(dx, dy)
    ln[ln == 0] = 1.0
    off = rng.uniform(-max_offset_m, max_offset_m, n)
    px = ux + f * dx - off * dy / ln
    py = uy + f * dy + off * dx / ln
    return net.to_lonlat(px, py)


__all__ = [
    "DemoCounty",
    "generate_county",
    "generate_grid_network",
    "random_points_near",
    "write_demo",
]
