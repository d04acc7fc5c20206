"""Laying out the demo county, stage by stage, in local metres.

The stages share one :class:`Plan` and one random generator and are called in a fixed
order by :func:`planner.demo.county.generate_county`: :func:`lay_out` (outline, county
town, industrial park, river), :func:`add_bridges`, :func:`place_seats` (township
seats), :func:`add_town_and_park`, :func:`add_seat_grids`, :func:`add_county_roads`,
:func:`add_villages`, :func:`add_footways` and :func:`finish_topology`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse import csgraph
from scipy.spatial import Delaunay, cKDTree

from planner.demo._builder import (
    MAXSPEED_KPH,
    Builder,
    River,
    compact,
    connect_orphans,
    cut_river,
    dedupe,
    merge_close_nodes,
    planarise,
    street_grid,
)
from planner.demo._common import unique_names

logger = logging.getLogger(__name__)

#: Half extents of the county outline (metres): about 40 × 35 km.
COUNTY_HALF_WIDTH_M: float = 20_000.0
COUNTY_HALF_HEIGHT_M: float = 17_500.0
#: Distance from the river centre line to each end of a bridge segment (metres).
BRIDGE_HALF_LENGTH_M: float = 120.0

TOWNSHIP_SYLLABLES: tuple[str, ...] = (
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
_STREET_NAMES: tuple[str, ...] = (
    "人民", "建设", "解放", "中山", "胜利", "新华", "文昌", "和平", "团结", "民主", "光明", "幸福",
    "育才", "迎宾", "滨江", "体育", "振兴", "繁荣", "兴业", "学府", "纺织", "园丁", "长寿", "复兴",
    "青年", "书院", "东风", "红旗", "友谊", "龙泉", "钟楼", "沿河", "丰收", "金山", "银湖", "鼓楼",
    "紫荆", "桂花", "樱花", "玉兰", "荷花", "梧桐", "桃李", "翠竹", "松柏",
)  # fmt: skip


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


def _uniform_box(rng: np.random.Generator, n: int) -> NDArray[np.float64]:
    """Uniform points in the county's bounding box (local metres)."""
    lo = [-COUNTY_HALF_WIDTH_M, -COUNTY_HALF_HEIGHT_M]
    hi = [COUNTY_HALF_WIDTH_M, COUNTY_HALF_HEIGHT_M]
    return rng.uniform(lo, hi, (n, 2))


@dataclass
class Plan:
    """Working state shared by the stages of :func:`~planner.demo.county.generate_county` (local metres)."""

    rng: np.random.Generator
    b: Builder
    outline: shapely.Polygon
    inner: shapely.Polygon
    town: NDArray[np.float64]
    town_angle: float
    town_hw: float
    town_hh: float
    park: NDArray[np.float64]
    park_hw: float
    park_hh: float
    river: River
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


def lay_out(rng: np.random.Generator) -> Plan:
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
    river = River(rx, shape + (base_y - shape[near_town].max()))
    return Plan(
        rng=rng,
        b=Builder(),
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


def add_bridges(p: Plan) -> None:
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


def place_seats(p: Plan, n_townships: int) -> None:
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
    p.seat_names = unique_names(list(TOWNSHIP_SYLLABLES), n, p.rng)
    p.n_zhen = max(1, round(n * 0.6))
    p.seat_full = [nm + ("镇" if k < p.n_zhen else "乡") for k, nm in enumerate(p.seat_names)]


def add_town_and_park(p: Plan) -> None:
    """Add the county town's street grid and the industrial park's service roads."""
    rng, b = p.rng, p.b
    p.street_pool = unique_names(list(_STREET_NAMES), len(_STREET_NAMES), rng)
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

    tids, tkept = street_grid(
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

    pids, pkept = street_grid(
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


def add_seat_grids(p: Plan) -> None:
    """Add a small street grid around every township seat."""
    for k, (sx, sy) in enumerate(p.seats):
        nm = p.seat_names[k]

        def seat_class(i: int, ci: int, is_col: bool, nm: str = nm) -> tuple[str, str, bool]:
            if i == ci:
                return "tertiary", nm + ("路" if is_col else "街"), False
            return "residential", "", False

        gids, gkept = street_grid(
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


def add_county_roads(p: Plan) -> None:
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
            maxspeed_kph=MAXSPEED_KPH.get(highway, math.nan),
        )
        road_no += 1


def add_villages(p: Plan, n_villages: int) -> None:
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
    p.village_names = [nm + "村" for nm in unique_names(pool, n_villages, rng)]

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


def add_footways(p: Plan) -> None:
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


def finish_topology(p: Plan) -> NDArray[np.int64]:
    """Split crossings, cut the river, connect stray pieces; returns the old → new node map."""
    b = p.b
    n_cross = planarise(b)
    merge_close_nodes(b)
    n_cut = cut_river(b, p.river)
    dedupe(b)
    for _ in range(3):
        if connect_orphans(b, p.river, p.town_node, p.rng) == 0:
            break
        planarise(b)
        merge_close_nodes(b)
        cut_river(b, p.river)
        dedupe(b)
    logger.info("demo county: %d crossings split, %d river-crossing segments cut", n_cross, n_cut)
    return compact(b, p.town_node)
