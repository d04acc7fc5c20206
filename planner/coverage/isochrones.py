"""Isochrone polygons: reached road pieces buffered along the roads (no convex hulls).

For a time budget ``T`` a segment ``u → v`` is reached from ``u`` up to the fraction
``(T − t_u) / t_fwd`` and from ``v`` up to ``(T − t_v) / t_bwd``; whole segments
and the partially reached ends of cut-off segments become line pieces, as does the
stretch of a station's own segment on both sides of it. For small reaches only the
segments touching a reached node (found through a node → segment index) are examined.

The pieces are turned into a band of about ``buffer_m`` on each side of the roads.
The default ``method="raster"`` burns points sampled every half cell along the
pieces into a grid of ``buffer_m / 4`` cells, dilates it with a disk of three cells
(separable running maxima, :func:`scipy.ndimage.maximum_filter1d`) and traces the boundary with contourpy's
filled marching squares: every point of a reached piece lies inside the polygon
(at least ~1.8 cells = 0.45 × ``buffer_m`` from its edge) and no point farther than
about 1.05 × ``buffer_m`` from the pieces does. ``method="vector"`` buffers merged
pieces with GEOS and dissolves them (exact round band, 10–100× slower on large
reaches; see ``benchmarks/bench_isochrones.py``). Polygons are for display;
coverage counts always come from network times (:mod:`planner.coverage.analyse`).
"""

from __future__ import annotations

import logging
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

#: Raster cells per ``buffer_m`` (cell size = buffer / 4, e.g. 15 m for a 60 m band).
RASTER_CELLS_PER_BUFFER: int = 4
#: Dilation radius in cells; with the half-cell sampling and the contour at 0.5
#: the band reaches between ~1.8 and ~4.2 cells (0.45–1.05 × buffer) from the roads.
RASTER_DILATE_CELLS: int = 3

#: Largest raster (cells); beyond it the cells grow (the band then widens to ~1.05 × 4 cells).
RASTER_MAX_CELLS: int = 16_000_000

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
    net = graph.network
    reached = np.flatnonzero(node_time_s <= budget_s)
    # A large reach is cheaper as a plain scan of all segments than as a gather.
    e_all = np.arange(net.n_edges) if 8 * len(reached) > net.n_nodes else _edges_touching(graph, reached)
    tu = node_time_s[net.edge_u[e_all]]
    tv = node_time_s[net.edge_v[e_all]]
    with np.errstate(invalid="ignore", divide="ignore"):
        ru = np.where(tu <= budget_s, np.clip((budget_s - tu) / graph.fwd_s[e_all], 0.0, 1.0), 0.0)
        rv = np.where(tv <= budget_s, np.clip((budget_s - tv) / graph.bwd_s[e_all], 0.0, 1.0), 0.0)
    ru = np.nan_to_num(ru, nan=0.0)
    rv = np.nan_to_num(rv, nan=0.0)
    whole = (ru + rv >= 1.0) & ((ru > 0) | (rv > 0))
    parts_e = [e_all[whole]]
    parts_a = [np.zeros(int(whole.sum()))]
    parts_b = [np.ones(int(whole.sum()))]
    from_u = ~whole & (ru > 0)
    parts_e.append(e_all[from_u])
    parts_a.append(np.zeros(int(from_u.sum())))
    parts_b.append(ru[from_u])
    from_v = ~whole & (rv > 0)
    parts_e.append(e_all[from_v])
    parts_a.append(1.0 - rv[from_v])
    parts_b.append(np.ones(int(from_v.sum())))
    if sources is not None and sources.on_network.any():
        att = sources.attachments()  # the stretch around every attachment (its own access leg)
        e = att.edge
        f = att.frac
        rem = budget_s - att.access_m / graph.walk_speed_mps
        good = rem > 0
        e, f, rem = e[good], f[good], rem[good]
        with np.errstate(invalid="ignore", divide="ignore"):
            fwd_reach = np.nan_to_num(np.clip(rem / graph.fwd_s[e], 0.0, 1.0), nan=0.0)
            bwd_reach = np.nan_to_num(np.clip(rem / graph.bwd_s[e], 0.0, 1.0), nan=0.0)
        parts_e.append(e)
        parts_a.append(np.clip(f - bwd_reach, 0.0, 1.0))
        parts_b.append(np.clip(f + fwd_reach, 0.0, 1.0))
    return np.concatenate(parts_e), np.concatenate(parts_a), np.concatenate(parts_b)


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


def _vector_band(coords: NDArray[np.float64], buffer_m: float) -> shapely.Geometry:
    # Merge pieces into longer lines and thin their vertices (well under the band
    # width), buffer each, then dissolve: GEOS's cascaded union is much faster than
    # buffering one big (multi)line with overlapping parts.
    lines = shapely.linestrings(coords)
    merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
    merged = shapely.simplify(merged, buffer_m / 8.0)
    return shapely.union_all(shapely.buffer(merged, buffer_m, quad_segs=2))


def _dilate_disk(mask: NDArray[np.bool_], radius_cells: int) -> NDArray[np.bool_]:
    """Binary dilation with the disk ``dx² + dy² ≤ r² + r``, as a union of rectangles.

    Each rectangle is two separable running-maximum passes
    (:func:`scipy.ndimage.maximum_filter1d`, O(cells) whatever the radius), several
    times faster than :func:`scipy.ndimage.binary_dilation` with a disk structure.
    """
    m = mask.view(np.uint8)
    out = np.zeros_like(m)
    r = radius_cells
    for half_x in range(r + 1):
        half_y = int(np.floor(np.sqrt(r * r + r - half_x * half_x)))
        if half_x < r and half_y == int(np.floor(np.sqrt(r * r + r - (half_x + 1) ** 2))):
            continue  # covered by the wider rectangle of the same height
        rect = ndimage.maximum_filter1d(m, 2 * half_x + 1, axis=1, mode="constant")
        rect = ndimage.maximum_filter1d(rect, 2 * half_y + 1, axis=0, mode="constant")
        np.maximum(out, rect, out=out)
    return out.view(bool)


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


def _raster_band(coords: NDArray[np.float64], buffer_m: float) -> shapely.Geometry:
    cell = buffer_m / RASTER_CELLS_PER_BUFFER
    extent_m2 = float(np.ptp(coords[..., 0]) + 2 * buffer_m) * float(np.ptp(coords[..., 1]) + 2 * buffer_m)
    if extent_m2 / cell**2 > RASTER_MAX_CELLS:  # very large areas: coarser cells, bounded memory
        cell = float(np.sqrt(extent_m2 / RASTER_MAX_CELLS))
        logger.info("isochrone raster coarsened to %.1f m cells (extent %.0f km²)", cell, extent_m2 / 1e6)
    rad = RASTER_DILATE_CELLS
    x0, y0 = coords[:, 0, 0], coords[:, 0, 1]
    dx, dy = coords[:, 1, 0] - x0, coords[:, 1, 1] - y0
    n_s = np.ceil(np.hypot(dx, dy) / (0.5 * cell)).astype(np.int64) + 1  # ≤ half a cell apart
    total = int(n_s.sum())
    piece = np.repeat(np.arange(len(x0)), n_s)
    step = np.arange(total) - np.repeat(np.cumsum(n_s) - n_s, n_s)
    t = step / np.maximum(n_s - 1, 1)[piece]
    px = x0[piece] + t * dx[piece]
    py = y0[piece] + t * dy[piece]
    pad = rad + 2
    gx0 = np.floor(px.min() / cell) * cell - pad * cell
    gy0 = np.floor(py.min() / cell) * cell - pad * cell
    ix = ((px - gx0) / cell).astype(np.int64)
    iy = ((py - gy0) / cell).astype(np.int64)
    shape = (int(iy.max()) + pad + 1, int(ix.max()) + pad + 1)
    mask = np.zeros(shape, dtype=bool)
    mask[iy, ix] = True
    mask = _dilate_disk(mask, rad)
    gen = contourpy.contour_generator(
        gx0 + (np.arange(shape[1]) + 0.5) * cell,
        gy0 + (np.arange(shape[0]) + 0.5) * cell,
        mask.astype(np.float64),
        fill_type=contourpy.FillType.ChunkCombinedOffsetOffset,
        name="serial",
    )
    points, offsets, outer = cast(tuple[Any, Any, Any], gen.filled(0.5, 1.5))
    if not points or points[0] is None:
        return shapely.Polygon()
    rings = np.asarray(offsets[0], dtype=np.int64)
    polys = np.asarray(outer[0], dtype=np.int64)
    # The staircase has many exactly collinear vertices: drop them (shape unchanged).
    pts, rings = _drop_collinear(np.asarray(points[0], dtype=np.float64), rings, 1e-6 * cell)
    geom = shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOLYGON, pts, (rings, polys, np.array([0, len(polys) - 1]))
    )[0]
    parts = shapely.get_parts(geom)
    return parts[0] if len(parts) == 1 else geom


def pieces_to_polygon(
    graph: TravelGraph,
    *,
    edge: NDArray[np.int64],
    start: NDArray[np.float64],
    end: NDArray[np.float64],
    buffer_m: float,
    method: Literal["raster", "vector"] = "raster",
) -> shapely.Geometry:
    """Turn line pieces into one polygon band of about ``buffer_m`` around them (network CRS).

    Parameters
    ----------
    graph
        Travel graph the pieces refer to.
    edge, start, end
        Pieces as returned by :func:`reached_pieces`.
    buffer_m
        Half-width of the band (metres).
    method
        ``"raster"`` (default, fast; band 0.45–1.05 × ``buffer_m``) or ``"vector"``
        (GEOS buffer + union; exact round band).

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
    return _raster_band(coords, buffer_m)


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
    buffer_m: float,
    tier: str = "",
) -> gpd.GeoDataFrame:
    """Union isochrones of all sources of a tier, one polygon per interval (EPSG:4326)."""
    budgets = sorted(float(m) for m in intervals_min)
    node_t = nearest_node_times(graph, sources=sources, limit_s=max(budgets) * 60.0)
    geoms, rows = [], []
    for m in budgets:
        e, a, b = reached_pieces(graph, node_time_s=node_t, budget_s=m * 60.0, sources=sources)
        poly = pieces_to_polygon(graph, edge=e, start=a, end=b, buffer_m=buffer_m)
        geoms.append(_to_lonlat(graph, poly))
        rows.append({"tier": tier, "station_id": "", "minutes": m, "mode": str(graph.mode)})
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


def station_isochrones(
    graph: TravelGraph,
    *,
    sources: Snap,
    station_ids: Sequence[str],
    intervals_min: Sequence[float],
    buffer_m: float,
    tier: str = "",
) -> gpd.GeoDataFrame:
    """One polygon per station and interval (EPSG:4326); off-network stations get none."""
    budgets = sorted(float(m) for m in intervals_min)
    geoms, rows = [], []
    for src_idx, dist in node_times_by_source(graph, sources=sources, limit_s=max(budgets) * 60.0):
        for k, s in enumerate(src_idx):
            one = sources.subset(np.array([s]))
            for m in budgets:
                e, a, b = reached_pieces(graph, node_time_s=dist[k], budget_s=m * 60.0, sources=one)
                poly = pieces_to_polygon(graph, edge=e, start=a, end=b, buffer_m=buffer_m)
                geoms.append(_to_lonlat(graph, poly))
                rows.append({"tier": tier, "station_id": str(station_ids[s]), "minutes": m, "mode": str(graph.mode)})
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


__all__ = ["pieces_to_polygon", "reached_pieces", "station_isochrones", "tier_isochrones"]
