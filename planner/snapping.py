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

from planner.network import TravelGraph

logger = logging.getLogger(__name__)

_INDEX_CACHE: weakref.WeakKeyDictionary[TravelGraph, tuple[shapely.STRtree, NDArray[np.int64]]] = (
    weakref.WeakKeyDictionary()
)


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
        Straight distance from the point to the snapped position (metres; measured
        even for off-network points when a road lies within 10× the limit, else NaN).
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


def _segment_index(graph: TravelGraph) -> tuple[shapely.STRtree, NDArray[np.int64]]:
    cached = _INDEX_CACHE.get(graph)
    if cached is None:
        net = graph.network
        edges = np.flatnonzero(graph.edge_allowed)
        coords = np.empty((len(edges), 2, 2))
        coords[:, 0, 0] = net.node_x_m[net.edge_u[edges]]
        coords[:, 0, 1] = net.node_y_m[net.edge_u[edges]]
        coords[:, 1, 0] = net.node_x_m[net.edge_v[edges]]
        coords[:, 1, 1] = net.node_y_m[net.edge_v[edges]]
        tree = shapely.STRtree(shapely.linestrings(coords))
        cached = (tree, edges)
        _INDEX_CACHE[graph] = cached
    return cached


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
    tree, edge_ids = _segment_index(graph)
    finite = np.isfinite(px) & np.isfinite(py)
    if n == 0 or len(edge_ids) == 0 or not finite.any():
        return Snap(edge, frac, dist, sx, sy, comp, on_main)
    pts = shapely.points(px[finite], py[finite])
    # One nearest segment per point (ties: the lowest index, deterministic).
    inp, hit = tree.query_nearest(pts, max_distance=10.0 * max_snap_m, all_matches=False)
    rows = np.flatnonzero(finite)[inp]
    e = edge_ids[hit]
    ux, uy = net.node_x_m[net.edge_u[e]], net.node_y_m[net.edge_u[e]]
    vx, vy = net.node_x_m[net.edge_v[e]], net.node_y_m[net.edge_v[e]]
    dx, dy = vx - ux, vy - uy
    seg2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(seg2 > 0, ((px[rows] - ux) * dx + (py[rows] - uy) * dy) / seg2, 0.0)
    f = np.clip(f, 0.0, 1.0)
    qx, qy = ux + f * dx, uy + f * dy
    d = np.hypot(px[rows] - qx, py[rows] - qy)
    dist[rows] = d
    ok = d <= max_snap_m
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
