"""Reach engine: bounded multi-source shortest paths on the compiled CSR graph.

Sources (stations) and targets (demand points) sit *on* segments (see
:mod:`planner.network.snapping`). Each source becomes a virtual node joined to the two ends
of its segment with the partial-segment time plus its walking access leg; one
SciPy Dijkstra pass (``min_only=True``) from all virtual nodes then gives, for every
road node, the time to the nearest source and which source it is. Targets finish
the trip along their own segment's partial edge and their access leg; a target on
the same segment as a source may also travel directly along that segment.

All times are seconds. Times above ``limit_s`` are reported as ``inf`` (exactly
correct up to the limit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse import csgraph

from planner.network.roads import MIN_EDGE_TIME_S, TravelGraph
from planner.network.snapping import Snap

logger = logging.getLogger(__name__)


def _part(frac: NDArray[np.float64], seconds: NDArray[np.float64]) -> NDArray[np.float64]:
    """Time for a fraction of a segment; zero length costs zero even on a forbidden direction."""
    with np.errstate(invalid="ignore"):
        return np.where(frac <= 0.0, 0.0, frac * seconds)


@dataclass(frozen=True)
class NearestTimes:
    """Travel time from every target to its nearest source.

    Attributes
    ----------
    time_s
        Seconds including both access legs; ``inf`` when unreachable within the
        limit or when either end is off-network.
    source
        Index (into the sources given) of the nearest source, ``-1`` if none.
    """

    time_s: NDArray[np.float64]
    source: NDArray[np.int64]


def _source_links(
    graph: TravelGraph, sources: Snap, src_idx: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Virtual-source edges: (source position, road node, seconds) for sources ``src_idx``."""
    net = graph.network
    e = sources.edge[src_idx]
    f = sources.frac[src_idx]
    access = sources.snap_m[src_idx] / graph.walk_speed_mps
    to_v = access + _part(1.0 - f, graph.fwd_s[e])  # leave towards v: travel u->v direction
    to_u = access + _part(f, graph.bwd_s[e])  # leave towards u: travel v->u direction
    pos = np.arange(len(src_idx), dtype=np.int64)
    rows = np.concatenate([pos, pos])
    cols = np.concatenate([net.edge_v[e], net.edge_u[e]])
    w = np.concatenate([to_v, to_u])
    ok = np.isfinite(w)
    return rows[ok], cols[ok], np.maximum(w[ok], MIN_EDGE_TIME_S)


def _augmented(
    graph: TravelGraph, rows: NDArray[np.int64], cols: NDArray[np.int64], w: NDArray[np.float64], k: int
) -> sp.csr_matrix:
    """The travel graph with ``k`` virtual source nodes appended (indices n..n+k-1)."""
    n = graph.network.n_nodes
    base = graph.csr
    extra = sp.csr_matrix((w, (rows, cols)), shape=(k, n + k))
    top = sp.csr_matrix((base.data, base.indices, base.indptr), shape=(n, n + k))
    return sp.vstack([top, extra], format="csr")


def _finish_at_targets(
    graph: TravelGraph, node_time: NDArray[np.float64], targets: Snap, tgt_ok: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Times at targets from node times (last axis = nodes); returns (time, came_via_u)."""
    net = graph.network
    e = targets.edge[tgt_ok]
    f = targets.frac[tgt_ok]
    u = net.edge_u[e]
    v = net.edge_v[e]
    via_u = node_time[..., u] + _part(f, graph.fwd_s[e])
    via_v = node_time[..., v] + _part(1.0 - f, graph.bwd_s[e])
    with np.errstate(invalid="ignore"):
        use_u = via_u <= via_v
    return np.where(use_u, via_u, via_v), use_u


def _same_edge_direct(
    graph: TravelGraph, sources: Snap, src_idx: NDArray[np.int64], targets: Snap, tgt_rows: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Direct trips along a shared segment: (target row, source position, seconds, excl. target access)."""
    s_edge = sources.edge[src_idx]
    order = np.argsort(s_edge, kind="stable")
    s_sorted = s_edge[order]
    t_edge = targets.edge[tgt_rows]
    lo = np.searchsorted(s_sorted, t_edge, side="left")
    hi = np.searchsorted(s_sorted, t_edge, side="right")
    cnt = hi - lo
    if not cnt.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    t_rep = np.repeat(np.arange(len(tgt_rows)), cnt)
    offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    s_pos = order[np.repeat(lo, cnt) + offs]
    e = t_edge[t_rep]
    ft = targets.frac[tgt_rows][t_rep]
    fs = sources.frac[src_idx][s_pos]
    access = sources.snap_m[src_idx][s_pos] / graph.walk_speed_mps
    fwd = np.where(ft >= fs, _part(ft - fs, graph.fwd_s[e]), np.inf)
    bwd = np.where(ft <= fs, _part(fs - ft, graph.bwd_s[e]), np.inf)
    return tgt_rows[t_rep], s_pos, access + np.minimum(fwd, bwd)


def nearest_times(
    graph: TravelGraph,
    *,
    sources: Snap,
    targets: Snap,
    limit_s: float = np.inf,
) -> NearestTimes:
    """Travel time from each target to the nearest source, in one Dijkstra pass.

    Parameters
    ----------
    graph
        Travel graph of the tier's mode.
    sources, targets
        Snapped stations and demand points (snapped on ``graph``).
    limit_s
        Search bound in seconds; longer trips come back as ``inf``.

    Returns
    -------
    NearestTimes
    """
    n_t = len(targets)
    time_s = np.full(n_t, np.inf)
    which = np.full(n_t, -1, dtype=np.int64)
    src_idx = np.flatnonzero(sources.on_network)
    tgt_rows = np.flatnonzero(targets.on_network)
    if len(src_idx) == 0 or len(tgt_rows) == 0:
        return NearestTimes(time_s, which)
    n = graph.network.n_nodes
    k = len(src_idx)
    rows, cols, w = _source_links(graph, sources, src_idx)
    aug = _augmented(graph, rows, cols, w, k)
    dist, _pred, origin = csgraph.dijkstra(
        aug, directed=True, indices=np.arange(n, n + k), limit=limit_s, min_only=True, return_predecessors=True
    )
    node_time = dist[:n]
    node_src = origin[:n].astype(np.int64) - n  # position in src_idx; negative where unreached
    t, use_u = _finish_at_targets(graph, node_time, targets, tgt_rows)
    e = targets.edge[tgt_rows]
    end_node = np.where(use_u, graph.network.edge_u[e], graph.network.edge_v[e])
    best_pos = np.where(np.isfinite(t), node_src[end_node], -1)
    # Same-segment direct trips may beat going round through a node.
    d_rows, d_pos, d_time = _same_edge_direct(graph, sources, src_idx, targets, tgt_rows)
    if len(d_rows):
        row_of = np.full(n_t, -1, dtype=np.int64)
        row_of[tgt_rows] = np.arange(len(tgt_rows))
        local = row_of[d_rows]
        order = np.lexsort((d_time, local))
        first = np.ones(len(order), bool)
        first[1:] = local[order][1:] != local[order][:-1]
        sel = order[first]
        li, dp, dt = local[sel], d_pos[sel], d_time[sel]
        better = dt < t[li]
        t[li[better]] = dt[better]
        best_pos[li[better]] = dp[better]
    t = t + targets.snap_m[tgt_rows] / graph.walk_speed_mps
    within = t <= limit_s
    time_s[tgt_rows[within]] = t[within]
    which[tgt_rows[within]] = src_idx[best_pos[within]]
    return NearestTimes(time_s, which)


def times_by_source(
    graph: TravelGraph,
    *,
    sources: Snap,
    targets: Snap,
    limit_s: float,
    batch_size: int | None = None,
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]]:
    """Per-source travel times to targets within ``limit_s``, as sparse triples.

    Runs bounded Dijkstra from sources in batches (memory ``batch × nodes``) and
    yields ``(source index, target index, seconds)`` arrays for every pair within
    the limit. Used to build siting coverage sets and per-station reach.
    """
    tgt_rows = np.flatnonzero(targets.on_network)
    for src_idx, node_t in node_times_by_source(graph, sources=sources, limit_s=limit_s, batch_size=batch_size):
        if len(tgt_rows) == 0:
            continue
        t, _ = _finish_at_targets(graph, node_t, targets, tgt_rows)  # k × targets
        d_rows, d_pos, d_time = _same_edge_direct(graph, sources, src_idx, targets, tgt_rows)
        if len(d_rows):
            row_of = np.full(len(targets), -1, dtype=np.int64)
            row_of[tgt_rows] = np.arange(len(tgt_rows))
            np.minimum.at(t, (d_pos, row_of[d_rows]), d_time)
        t = t + targets.snap_m[tgt_rows][None, :] / graph.walk_speed_mps
        si, ti = np.nonzero(t <= limit_s)
        yield src_idx[si], tgt_rows[ti], t[si, ti]


def node_times_by_source(
    graph: TravelGraph, *, sources: Snap, limit_s: float, batch_size: int | None = None
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """Yield ``(source indices, times k × nodes)`` batches of bounded per-source node times."""
    src_all = np.flatnonzero(sources.on_network)
    n = graph.network.n_nodes
    if batch_size is None:
        batch_size = max(1, min(256, int(2e8 // (8 * max(n, 1)))))
    for start in range(0, len(src_all), batch_size):
        src_idx = src_all[start : start + batch_size]
        k = len(src_idx)
        rows, cols, w = _source_links(graph, sources, src_idx)
        aug = _augmented(graph, rows, cols, w, k)
        dist = csgraph.dijkstra(aug, directed=True, indices=np.arange(n, n + k), limit=limit_s)
        yield src_idx, dist[:, :n]


def nearest_node_times(graph: TravelGraph, *, sources: Snap, limit_s: float) -> NDArray[np.float64]:
    """Time from the nearest source to every road node (one multi-source pass)."""
    n = graph.network.n_nodes
    src_idx = np.flatnonzero(sources.on_network)
    if len(src_idx) == 0:
        return np.full(n, np.inf)
    rows, cols, w = _source_links(graph, sources, src_idx)
    aug = _augmented(graph, rows, cols, w, len(src_idx))
    dist = csgraph.dijkstra(aug, directed=True, indices=np.arange(n, n + len(src_idx)), limit=limit_s, min_only=True)
    return np.asarray(dist[:n])
