"""The demo county's road builder, in local metres.

:class:`Builder` collects nodes and road polylines (traced with a gentle bend, or whole
street grids from :func:`street_grid`); :class:`River` is the line that roads cross only
on bridges. The clean-up turns the drawn polylines into a road network:
:func:`planarise` splits crossings at shared nodes, then :func:`merge_close_nodes`,
:func:`cut_river`, :func:`dedupe`, :func:`connect_orphans` and :func:`compact` (keep the
piece of the county town).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

logger = logging.getLogger(__name__)

#: Crossing points closer than this to a segment end snap onto that end (metres).
SNAP_EPS_M: float = 1.0
#: Non-bridge segments closer than this to the river are removed (metres).
RIVER_CLEARANCE_M: float = 5.0
#: Speed limits (km/h) of the generated main roads; other classes have none (NaN).
MAXSPEED_KPH = {"primary": 60.0, "secondary": 60.0, "tertiary": 40.0}


class River:
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


@dataclass
class Road:
    highway: str
    name: str
    oneway: bool
    maxspeed_kph: float
    bridge: bool


class Builder:
    """Collects nodes and road polylines; segments remember their road and order."""

    def __init__(self) -> None:
        self._xs: list[NDArray[np.float64]] = []
        self._ys: list[NDArray[np.float64]] = []
        self.n_nodes = 0
        self.roads: list[Road] = []
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
        self.roads.append(Road(highway, name, oneway, maxspeed_kph, bridge))
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


def segment_geoms(
    x: NDArray[np.float64], y: NDArray[np.float64], u: NDArray[np.int64], v: NDArray[np.int64]
) -> NDArray[np.object_]:
    coords = np.stack([np.column_stack([x[u], y[u]]), np.column_stack([x[v], y[v]])], axis=1)
    return np.asarray(shapely.linestrings(coords), dtype=object)


def planarise(b: Builder) -> int:
    """Split every pair of crossing segments at a shared node (real intersections).

    Crossings within :data:`SNAP_EPS_M` of a segment end reuse that end node, so a road
    ending on another road becomes a T-junction. Returns the number of crossings.
    """
    x, y = b.xy()
    u, v, road, order = b.segments()
    geoms = segment_geoms(x, y, u, v)
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


def merge_close_nodes(b: Builder) -> int:
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


def cut_river(b: Builder, river: River) -> int:
    """Remove non-bridge segments that cross (or touch) the river; returns how many."""
    x, y = b.xy()
    u, v, road, order = b.segments()
    geoms = segment_geoms(x, y, u, v)
    tree = shapely.STRtree(geoms)
    hit = tree.query(river.line, predicate="dwithin", distance=RIVER_CLEARANCE_M)
    is_bridge = np.array([r.bridge for r in b.roads], dtype=bool)[road]
    bad = np.zeros(len(u), bool)
    bad[hit] = True
    bad &= ~is_bridge
    b.set_segments(u[~bad], v[~bad], road[~bad], order[~bad])
    return int(bad.sum())


def dedupe(b: Builder) -> None:
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


def connect_orphans(b: Builder, river: River, main_node: int, rng: np.random.Generator) -> int:
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


def compact(b: Builder, keep_node: int) -> NDArray[np.int64]:
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


def street_grid(
    b: Builder,
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
                    maxspeed_kph=MAXSPEED_KPH.get(highway, math.nan),
                )
    return ids, kept
