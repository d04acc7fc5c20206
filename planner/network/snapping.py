"""Snap points onto road *segments* (not nodes): the nearest one, and on one-way networks a few more.

A snapped point remembers the segment, its position along it (fraction from ``u``
towards ``v``) and the straight access distance; the reach engine then charges the
access leg at walking speed and only the part of the segment beyond the snapped
position. Points farther than the maximum snap distance are *off-network*: they are
reported, never counted as covered or uncovered.

On a directed travel graph (one-way streets when driving) the nearest segment may be a
carriageway that leads out of the map, or a one-way loop that cannot be entered. Like
Valhalla, which correlates a location with every candidate edge within a search radius,
and OSRM, which keeps the nearest phantom node but adds the nearest one on a big
strongly connected component when the first lies on a tiny one, such a point gets
*alternate attachments*: the nearest position on every other usable segment within
``2 × nearest distance + 50 m`` (at most the maximum snap distance), the road's local
nearest points first, at most :data:`MAX_ATTACHMENTS` in all. If none of them can both
reach and be reached from the main (largest strongly connected) piece, the nearest
position that can, within the maximum snap distance, is added as well. The reach engine
leaves from every attachment and arrives at every attachment, each with its own
walking access leg, so the best way out and the best way in are chosen independently.
A point with no attachment linked with the main piece in both directions is
*stranded*. Undirected graphs (walking, cycling) keep the single nearest segment.
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

#: Alternate attachments are searched within ``ALT_RADIUS_FACTOR × nearest distance +
#: ALT_RADIUS_SLACK_M`` (and never beyond the maximum snap distance).
ALT_RADIUS_FACTOR: float = 2.0
#: See :data:`ALT_RADIUS_FACTOR` (metres).
ALT_RADIUS_SLACK_M: float = 50.0
#: Most attachments per point on a directed graph (the nearest one included), before the
#: one to the main piece that a point whose candidates all miss it gets in addition.
MAX_ATTACHMENTS: int = 6


@dataclass(frozen=True)
class Attachments:
    """Flat attachments of a set of points, sorted by point (a point's nearest one first).

    Attributes
    ----------
    point
        Index of the point each attachment belongs to.
    edge, frac
        Segment and position along it.
    access_m
        Straight distance from the point to that position (metres).
    """

    point: NDArray[np.int64]
    edge: NDArray[np.int64]
    frac: NDArray[np.float64]
    access_m: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.point)

    def starts(self, n_points: int) -> NDArray[np.int64]:
        """Index of the first attachment of each of ``n_points`` points (all must have one)."""
        return np.searchsorted(self.point, np.arange(n_points)).astype(np.int64)


@dataclass(frozen=True)
class Snap:
    """Where a set of points meets the road network.

    Attributes
    ----------
    edge
        Nearest usable segment per point, ``-1`` when off-network.
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
    stranded
        True for on-network points none of whose attachments can both reach and be
        reached from the main strongly connected piece (on undirected graphs: the
        nearest segment is off the largest piece).
    alt_point, alt_edge, alt_frac, alt_snap_m
        Alternate attachments (directed graphs only), sorted by point: the point they
        belong to, segment, position and access distance. Empty on undirected graphs.
    """

    edge: NDArray[np.int64]
    frac: NDArray[np.float64]
    snap_m: NDArray[np.float64]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    component: NDArray[np.int64]
    on_main: NDArray[np.bool_]
    stranded: NDArray[np.bool_]
    alt_point: NDArray[np.int64]
    alt_edge: NDArray[np.int64]
    alt_frac: NDArray[np.float64]
    alt_snap_m: NDArray[np.float64]

    @property
    def on_network(self) -> NDArray[np.bool_]:
        """True where the point snapped within the maximum distance."""
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)

    def subset(self, idx: NDArray[np.int64] | NDArray[np.bool_]) -> Snap:
        """Return the snaps of the points selected by ``idx`` (mask or indices), alternates included."""
        rows = np.flatnonzero(idx) if np.asarray(idx).dtype == bool else np.asarray(idx, dtype=np.int64)
        lo = np.searchsorted(self.alt_point, rows, side="left")
        cnt = np.searchsorted(self.alt_point, rows, side="right") - lo
        total = int(cnt.sum())
        take = np.repeat(lo, cnt) + (np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt))
        return Snap(
            edge=self.edge[rows],
            frac=self.frac[rows],
            snap_m=self.snap_m[rows],
            x_m=self.x_m[rows],
            y_m=self.y_m[rows],
            component=self.component[rows],
            on_main=self.on_main[rows],
            stranded=self.stranded[rows],
            alt_point=np.repeat(np.arange(len(rows), dtype=np.int64), cnt),
            alt_edge=self.alt_edge[take],
            alt_frac=self.alt_frac[take],
            alt_snap_m=self.alt_snap_m[take],
        )

    def attachments(self) -> Attachments:
        """Every attachment of the on-network points: the nearest segment, then the alternates."""
        on = np.flatnonzero(self.on_network)
        point = np.concatenate([on, self.alt_point])
        order = np.argsort(point, kind="stable")
        return Attachments(
            point=point[order],
            edge=np.concatenate([self.edge[on], self.alt_edge])[order],
            frac=np.concatenate([self.frac[on], self.alt_frac])[order],
            access_m=np.concatenate([self.snap_m[on], self.alt_snap_m])[order],
        )

    @classmethod
    def concat(cls, *snaps: Snap) -> Snap:
        """The points of ``snaps`` one after the other, as one :class:`Snap`."""
        offsets = np.cumsum([0, *(len(s) for s in snaps[:-1])])
        return cls(
            edge=np.concatenate([s.edge for s in snaps]),
            frac=np.concatenate([s.frac for s in snaps]),
            snap_m=np.concatenate([s.snap_m for s in snaps]),
            x_m=np.concatenate([s.x_m for s in snaps]),
            y_m=np.concatenate([s.y_m for s in snaps]),
            component=np.concatenate([s.component for s in snaps]),
            on_main=np.concatenate([s.on_main for s in snaps]),
            stranded=np.concatenate([s.stranded for s in snaps]),
            alt_point=np.concatenate([s.alt_point + o for s, o in zip(snaps, offsets, strict=True)]),
            alt_edge=np.concatenate([s.alt_edge for s in snaps]),
            alt_frac=np.concatenate([s.alt_frac for s in snaps]),
            alt_snap_m=np.concatenate([s.alt_snap_m for s in snaps]),
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


def _lexsort(*keys: NDArray[np.generic]) -> NDArray[np.int64]:
    """Same order as :func:`numpy.lexsort` (last key first), by chained stable argsorts (much faster on floats)."""
    order = np.argsort(keys[0], kind="stable")
    for k in keys[1:]:
        order = order[np.argsort(k[order], kind="stable")]
    return order.astype(np.int64)


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

    Candidate segments come from queries with growing radii (:func:`_within`), keeping
    those the mode may use: once any usable segment lies within radius ``r`` of a
    point, its nearest usable segment is among them. Points with no usable road
    within ``max_snap_m`` get the distance to the nearest road of any class from one
    ``query_nearest`` (for reporting only). Ties go to the lowest segment index.
    """
    net = graph.network
    out_e, out_f, out_d, out_r = [], [], [], []
    remaining = rows
    radii = [r for r in SEARCH_RADII_M if r < max_snap_m] + [max_snap_m]
    for radius in radii:
        if len(remaining) == 0:
            break
        inp, e, f, d = _within(graph, tree, px, py, remaining, radius)
        if len(inp):
            order = _lexsort(e, d, inp)
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


def _first_per_point(inp: NDArray[np.int64], order: NDArray[np.int64], *, keep: int | None) -> NDArray[np.int64]:
    """Positions in ``order`` (sorted by point first) of each point's first ``keep`` entries (all if ``None``)."""
    p = inp[order]
    if keep is None or len(p) == 0:
        return order
    start = np.ones(len(p), bool)
    start[1:] = p[1:] != p[:-1]
    first_pos = np.maximum.accumulate(np.where(start, np.arange(len(p)), 0))
    return order[np.arange(len(p)) - first_pos < keep]


def _within(
    graph: TravelGraph,
    tree: shapely.STRtree,
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    rows: NDArray[np.int64],
    radius_m: NDArray[np.float64] | float,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Every usable segment within ``radius_m`` of each point in ``rows``: (row position, edge, fraction, distance).

    The tree is asked for segments whose bounding box meets the square around each
    point (several times faster than GEOS's ``dwithin``); the exact distance
    (:func:`_project`) then keeps those within the radius.
    """
    r = np.broadcast_to(np.asarray(radius_m, dtype=np.float64), (len(rows),))
    x, y = px[rows], py[rows]
    inp, hit = tree.query(shapely.box(x - r, y - r, x + r, y + r))
    usable = graph.edge_allowed[hit]
    inp, e = inp[usable].astype(np.int64), hit[usable].astype(np.int64)
    f, d = _project(graph.network, e, x[inp], y[inp])
    ok = d <= r[inp]
    return inp[ok], e[ok], f[ok], d[ok]


def _alternates(
    graph: TravelGraph,
    tree: shapely.STRtree,
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    rows: NDArray[np.int64],
    primary: tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]],
    *,
    max_snap_m: float,
    max_attachments: int | None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Alternate attachments of the points ``rows`` (their nearest ``primary`` segments given).

    Candidates are the nearest positions on the usable segments within the alternate
    radius. Positions at a segment end are the node itself: several segments ending at
    the same node give one candidate, as does one ending where the nearest segment
    attaches. A candidate is a *local* nearest point of the roads when it is inside its
    segment, or at a node where no segment within reach gets nearer to the point; local
    ones come first, then by distance (ties: lowest node, then lowest segment). Returns
    (row position, edge, fraction, distance) sorted by row position.
    """
    net = graph.network
    n, m = net.n_nodes, net.n_edges
    e0, f0, d0 = primary
    radius = np.minimum(ALT_RADIUS_FACTOR * d0 + ALT_RADIUS_SLACK_M, max_snap_m)
    inp, e, f, d = _within(graph, tree, px, py, rows, radius)
    u, v = net.edge_u[e], net.edge_v[e]
    span = np.int64(n + m)

    def place(edge: NDArray[np.int64], frac: NDArray[np.float64]) -> NDArray[np.int64]:
        """Where an attachment sits: its node at a segment end, else ``n + segment``."""
        return np.where(frac <= 0.0, net.edge_u[edge], np.where(frac >= 1.0, net.edge_v[edge], n + edge))

    key = inp * span + place(e, f)
    # a segment whose nearest point is not its end ``u`` (``v``) gets nearer than that end
    nearer = np.sort(np.concatenate([inp[f > 0.0] * span + u[f > 0.0], inp[f < 1.0] * span + v[f < 1.0]]))
    at = np.minimum(np.searchsorted(nearer, key), max(len(nearer) - 1, 0))
    local = (nearer[at] != key) if len(nearer) else np.ones(len(key), bool)
    order = np.argsort(key, kind="stable")  # a position several segments end at: the first found
    first = np.ones(len(order), bool)
    first[1:] = key[order][1:] != key[order][:-1]
    sel = order[first]
    sel = sel[key[sel] != inp[sel] * span + place(e0, f0)[inp[sel]]]  # not where the nearest one attaches
    rank = d[sel] + np.where(local[sel], 0.0, 2.0 * max_snap_m + 1.0)  # local ones first, then nearest
    ranked = sel[_lexsort(rank, inp[sel])]
    take = _first_per_point(inp, ranked, keep=None if max_attachments is None else max(max_attachments - 1, 0))
    take = take[np.argsort(inp[take], kind="stable")]
    return inp[take], e[take], f[take], d[take]


def _main_fallback(
    graph: TravelGraph,
    tree: shapely.STRtree,
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    rows: NDArray[np.int64],
    *,
    max_snap_m: float,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Nearest position within ``max_snap_m`` linked with the main piece both ways, per point in ``rows``."""
    inp, e, f, d = _within(graph, tree, px, py, rows, max_snap_m)
    out, inn = graph.main_reach.attachment_links(graph, edge=e, frac=f)
    both = out & inn
    inp, e, f, d = inp[both], e[both], f[both], d[both]
    sel = _first_per_point(inp, _lexsort(e, d, inp), keep=1)
    return inp[sel], e[sel], f[sel], d[sel]


def snap_points(
    graph: TravelGraph,
    *,
    lon: ArrayLike,
    lat: ArrayLike,
    max_snap_m: float,
    max_attachments: int | None = MAX_ATTACHMENTS,
) -> Snap:
    """Snap WGS-84 points to the segments usable by ``graph``'s travel mode.

    Parameters
    ----------
    graph
        Travel graph; only segments its mode may use are candidates (a walker is
        not snapped onto a motorway).
    lon, lat
        Point coordinates (WGS-84 degrees).
    max_snap_m
        Maximum access distance; farther points are off-network.
    max_attachments
        On a directed graph, most attachments per point (the nearest segment
        included; see the module docstring); ``None``: every candidate within the
        alternate radius. Ignored on undirected graphs.

    Returns
    -------
    Snap
    """
    net = graph.network
    x, y = net.to_projected(lon, lat)
    return snap_xy(graph, x_m=x, y_m=y, max_snap_m=max_snap_m, max_attachments=max_attachments)


def snap_xy(
    graph: TravelGraph,
    *,
    x_m: ArrayLike,
    y_m: ArrayLike,
    max_snap_m: float,
    max_attachments: int | None = MAX_ATTACHMENTS,
) -> Snap:
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
    stranded = np.zeros(n, bool)
    no_alt = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
    tree = _segment_index(net)
    finite = np.isfinite(px) & np.isfinite(py)
    if n == 0 or not graph.edge_allowed.any() or not finite.any():
        return Snap(edge, frac, dist, sx, sy, comp, on_main, stranded, *no_alt)
    rows_all = np.flatnonzero(finite)
    e, f, d, rows = _nearest_segments(graph, tree, px, py, rows_all, max_snap_m=max_snap_m)
    by_row = np.argsort(rows, kind="stable")
    e, f, d, rows = e[by_row], f[by_row], d[by_row], rows[by_row]
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
    alt = no_alt
    if len(r_ok) and graph.is_directed:
        alt = _attach_directed(graph, tree, px, py, r_ok, (e[ok], f[ok], d[ok]), max_snap_m, max_attachments)
    links = graph.main_reach
    att_out, att_in = links.attachment_links(graph, edge=edge[r_ok], frac=frac[r_ok])
    if len(alt[0]):
        a_out, a_in = links.attachment_links(graph, edge=alt[1], frac=alt[2])
        att_out[np.searchsorted(r_ok, alt[0][a_out])] = True
        att_in[np.searchsorted(r_ok, alt[0][a_in])] = True
    stranded[r_ok] = ~(att_out & att_in)
    if stranded.any():
        logger.info("%d of %d points attach only to road pieces cut off from the main network", stranded.sum(), n)
    return Snap(edge, frac, dist, sx, sy, comp, on_main, stranded, *alt)


def _attach_directed(
    graph: TravelGraph,
    tree: shapely.STRtree,
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    rows: NDArray[np.int64],
    primary: tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]],
    max_snap_m: float,
    max_attachments: int | None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Alternates of the on-network points ``rows``, plus the main-piece fallback where needed (by point)."""
    inp, e, f, d = _alternates(
        graph, tree, px, py, rows, primary, max_snap_m=max_snap_m, max_attachments=max_attachments
    )
    links = graph.main_reach
    p_out, p_in = links.attachment_links(graph, edge=primary[0], frac=primary[1])
    a_out, a_in = links.attachment_links(graph, edge=e, frac=f)
    np.logical_or.at(p_out, inp, a_out)
    np.logical_or.at(p_in, inp, a_in)
    cut = np.flatnonzero(~(p_out & p_in))
    if len(cut):
        c_inp, c_e, c_f, c_d = _main_fallback(graph, tree, px, py, rows[cut], max_snap_m=max_snap_m)
        # (never a position the point has already: those all miss the main piece one way)
        c_inp = cut[c_inp]
        inp, e = np.concatenate([inp, c_inp]), np.concatenate([e, c_e])
        f, d = np.concatenate([f, c_f]), np.concatenate([d, c_d])
        order = np.argsort(inp, kind="stable")
        inp, e, f, d = inp[order], e[order], f[order], d[order]
    return rows[inp], e, f, d
