"""Isochrone polygons: reached road pieces buffered along the roads (no convex hulls).

For a time budget ``T`` a segment ``u → v`` is reached from ``u`` up to the fraction
``(T − t_u) / t_fwd`` and from ``v`` up to ``(T − t_v) / t_bwd``; whole segments
and the partially reached ends of cut-off segments become line pieces, as does the
stretch of a station's own segment on both sides of it. The pieces are buffered by
``buffer_m`` and dissolved. Polygons are for display; coverage counts always come
from network times (:mod:`planner.coverage`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from planner.network import TravelGraph
from planner.reach import nearest_node_times, node_times_by_source
from planner.snapping import Snap

logger = logging.getLogger(__name__)


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
        Snapped sources whose own segments are covered around their position.
    """
    net = graph.network
    tu = node_time_s[net.edge_u]
    tv = node_time_s[net.edge_v]
    with np.errstate(invalid="ignore", divide="ignore"):
        ru = np.where(tu <= budget_s, np.clip((budget_s - tu) / graph.fwd_s, 0.0, 1.0), 0.0)
        rv = np.where(tv <= budget_s, np.clip((budget_s - tv) / graph.bwd_s, 0.0, 1.0), 0.0)
    ru = np.nan_to_num(ru, nan=0.0)
    rv = np.nan_to_num(rv, nan=0.0)
    whole = (ru + rv >= 1.0) & ((ru > 0) | (rv > 0))
    e_all = np.arange(net.n_edges)
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
        ok = sources.on_network
        e = sources.edge[ok]
        f = sources.frac[ok]
        rem = budget_s - sources.snap_m[ok] / graph.walk_speed_mps
        good = rem > 0
        e, f, rem = e[good], f[good], rem[good]
        with np.errstate(invalid="ignore", divide="ignore"):
            fwd_reach = np.nan_to_num(np.clip(rem / graph.fwd_s[e], 0.0, 1.0), nan=0.0)
            bwd_reach = np.nan_to_num(np.clip(rem / graph.bwd_s[e], 0.0, 1.0), nan=0.0)
        parts_e.append(e)
        parts_a.append(np.clip(f - bwd_reach, 0.0, 1.0))
        parts_b.append(np.clip(f + fwd_reach, 0.0, 1.0))
    return np.concatenate(parts_e), np.concatenate(parts_a), np.concatenate(parts_b)


def pieces_to_polygon(
    graph: TravelGraph,
    *,
    edge: NDArray[np.int64],
    start: NDArray[np.float64],
    end: NDArray[np.float64],
    buffer_m: float,
) -> shapely.Geometry:
    """Buffer line pieces (in the network CRS) into one dissolved polygon."""
    net = graph.network
    if len(edge) == 0:
        return shapely.Polygon()
    ux, uy = net.node_x_m[net.edge_u[edge]], net.node_y_m[net.edge_u[edge]]
    vx, vy = net.node_x_m[net.edge_v[edge]], net.node_y_m[net.edge_v[edge]]
    coords = np.empty((len(edge), 2, 2))
    coords[:, 0, 0] = ux + start * (vx - ux)
    coords[:, 0, 1] = uy + start * (vy - uy)
    coords[:, 1, 0] = ux + end * (vx - ux)
    coords[:, 1, 1] = uy + end * (vy - uy)
    lines = shapely.linestrings(coords)
    # Merge pieces into longer lines and thin their vertices (well under the band
    # width), buffer each, then dissolve: GEOS's cascaded union is orders of
    # magnitude faster than buffering one big (multi)line with overlapping parts.
    merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
    merged = shapely.simplify(merged, buffer_m / 8.0)
    return shapely.union_all(shapely.buffer(merged, buffer_m, quad_segs=2))


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
