"""Snap points onto the nearest usable road *segment* (not the nearest node).

A snapped point remembers the segment, its position along it (fraction from ``u``
towards ``v``) and the straight access distance; the reach engine then charges the
access leg at walking speed and only the part of the segment beyond the snapped
position. Points farther than the maximum snap distance are *off-network*: they are
reported, never counted as covered or uncovered.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from planner.network.roads import RoadNetwork, TravelGraph

logger = logging.getLogger(__name__)

_INDEX_CACHE: weakref.WeakKeyDictionary[RoadNetwork, shapely.STRtree] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Snap:
    """Where a set of points meets the road network.

    Attributes
    ----------
    edge
        Segment index per point, ``-1`` when off-network.
    frac
        Position along the segment, 0 at ``u`` and 1 at ``v``.
    snap_m
        Straight distance from the point to its snapped position (metres); for
        off-network points the distance to the nearest road of any class (NaN only
        for missing coordinates).
    x_m, y_m
        Snapped position in the network CRS (the original position when off-network).
    component
        Connected-piece label of the snapped segment (``-1`` when off-network).
    on_main
        True when the segment belongs to the network's largest connected piece.
    """

    edge: NDArray[np.int64]
    frac: NDArray[np.float64]
    snap_m: NDArray[np.float64]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    component: NDArray[np.int64]
    on_main: NDArray[np.bool_]

    @property
    def on_network(self) -> NDArray[np.bool_]:
        """True where the point snapped within the maximum distance."""
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)

    def subset(self, idx: NDArray[np.int64] | NDArray[np.bool_]) -> Snap:
        """Return the snaps of the points selected by ``idx`` (mask or indices)."""
        return Snap(
            edge=self.edge[idx],
            frac=self.frac[idx],
            snap_m=self.snap_m[idx],
            x_m=self.x_m[idx],
            y_m=self.y_m[idx],
            component=self.component[idx],
            on_main=self.on_main[idx],
        )


def _segment_index(net: RoadNetwork) -> shapely.STRtree:
    """STRtree over all segments of ``net`` (built once per network, shared by modes)."""
    tree = _INDEX_CACHE.get(net)
    if tree is None:
        tree = shapely.STRtree(net.segment_lines())
        _INDEX_CACHE[net] = tree
    return tree


#: Search radii (metres) tried in turn before the maximum snap distance; most points
#: lie within a few tens of metres of a road, so few candidate pairs are examined.
SEARCH_RADII_M: tuple[float, ...] = (20.0, 80.0)


def _project(
    net: RoadNetwork, e: NDArray[np.int64], px: NDArray[np.float64], py: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fraction along segments ``e`` of the projections of points, and the distances."""
    ux, uy = net.node_x_m[net.edge_u[e]], net.node_y_m[net.edge_u[e]]
    dx, dy = net.node_x_m[net.edge_v[e]] - ux, net.node_y_m[net.edge_v[e]] - uy
    seg2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(seg2 > 0, ((px - ux) * dx + (py - uy) * dy) / seg2, 0.0)
    f = np.clip(f, 0.0, 1.0)
    return f, np.hypot(px - (ux + f * dx), py - (uy + f * dy))


def _nearest_segments(
    graph: TravelGraph,
    tree: shapely.STRtree,
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    rows: NDArray[np.int64],
    *,
    max_snap_m: float,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Exact nearest usable segment of each point in ``rows`` (edge, fraction, distance, row).

    Candidate segments come from ``dwithin`` queries with growing radii, keeping
    those the mode may use: once any usable segment lies within radius ``r`` of a
    point, its nearest usable segment is among them. Points with no usable road
    within ``max_snap_m`` get the distance to the nearest road of any class from one
    ``query_nearest`` (for reporting only). Ties go to the lowest segment index.
    """
    net = graph.network
    allowed = graph.edge_allowed
    out_e, out_f, out_d, out_r = [], [], [], []
    remaining = rows
    radii = [r for r in SEARCH_RADII_M if r < max_snap_m] + [max_snap_m]
    for radius in radii:
        if len(remaining) == 0:
            break
        pts = shapely.points(px[remaining], py[remaining])
        inp, hit = tree.query(pts, predicate="dwithin", distance=radius)
        usable = allowed[hit]
        inp, hit = inp[usable], hit[usable]
        if len(inp):
            e = hit.astype(np.int64)
            f, d = _project(net, e, px[remaining[inp]], py[remaining[inp]])
            order = np.lexsort((e, d, inp))
            first = np.ones(len(order), bool)
            first[1:] = inp[order][1:] != inp[order][:-1]
            sel = order[first]
            out_e.append(e[sel])
            out_f.append(f[sel])
            out_d.append(d[sel])
            out_r.append(remaining[inp[sel]])
            found = np.zeros(len(remaining), bool)
            found[inp[sel]] = True
            remaining = remaining[~found]
    if len(remaining):
        pts = shapely.points(px[remaining], py[remaining])
        inp, hit = tree.query_nearest(pts, all_matches=False)
        e = hit.astype(np.int64)
        f, d = _project(net, e, px[remaining[inp]], py[remaining[inp]])
        out_e.append(e)
        out_f.append(f)
        out_d.append(d)
        out_r.append(remaining[inp])
    if not out_r:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), np.zeros(0), empty
    return np.concatenate(out_e), np.concatenate(out_f), np.concatenate(out_d), np.concatenate(out_r)


def snap_points(
    graph: TravelGraph,
    *,
    lon: ArrayLike,
    lat: ArrayLike,
    max_snap_m: float,
) -> Snap:
    """Snap WGS-84 points to the nearest segment usable by ``graph``'s travel mode.

    Parameters
    ----------
    graph
        Travel graph; only segments its mode may use are candidates (a walker is
        not snapped onto a motorway).
    lon, lat
        Point coordinates (WGS-84 degrees).
    max_snap_m
        Maximum access distance; farther points are off-network.

    Returns
    -------
    Snap
    """
    net = graph.network
    x, y = net.to_projected(lon, lat)
    return snap_xy(graph, x_m=x, y_m=y, max_snap_m=max_snap_m)


def snap_xy(graph: TravelGraph, *, x_m: ArrayLike, y_m: ArrayLike, max_snap_m: float) -> Snap:
    """Same as :func:`snap_points` for coordinates already in the network CRS."""
    net = graph.network
    px = np.asarray(x_m, dtype=np.float64)
    py = np.asarray(y_m, dtype=np.float64)
    n = len(px)
    edge = np.full(n, -1, dtype=np.int64)
    frac = np.zeros(n)
    dist = np.full(n, np.nan)
    sx, sy = px.copy(), py.copy()
    comp = np.full(n, -1, dtype=np.int64)
    on_main = np.zeros(n, bool)
    tree = _segment_index(net)
    finite = np.isfinite(px) & np.isfinite(py)
    if n == 0 or not graph.edge_allowed.any() or not finite.any():
        return Snap(edge, frac, dist, sx, sy, comp, on_main)
    rows_all = np.flatnonzero(finite)
    e, f, d, rows = _nearest_segments(graph, tree, px, py, rows_all, max_snap_m=max_snap_m)
    ux, uy = net.node_x_m[net.edge_u[e]], net.node_y_m[net.edge_u[e]]
    vx, vy = net.node_x_m[net.edge_v[e]], net.node_y_m[net.edge_v[e]]
    qx, qy = ux + f * (vx - ux), uy + f * (vy - uy)
    dist[rows] = d
    ok = (d <= max_snap_m) & graph.edge_allowed[e]
    r_ok = rows[ok]
    edge[r_ok] = e[ok]
    frac[r_ok] = f[ok]
    sx[r_ok] = qx[ok]
    sy[r_ok] = qy[ok]
    comps = graph.components
    comp[r_ok] = comps.labels[net.edge_u[e[ok]]]
    on_main[r_ok] = comp[r_ok] == comps.largest
    n_off = int((edge < 0).sum())
    if n_off:
        logger.info("%d of %d points are farther than %.0f m from any usable road", n_off, n, max_snap_m)
    return Snap(edge, frac, dist, sx, sy, comp, on_main)
