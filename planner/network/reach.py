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
from planner.network.snapping import Attachments, Snap

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
    """Virtual-source edges: (source position, road node, seconds) for sources ``src_idx``.

    Every attachment of a source links it to both ends of its segment (each with the
    attachment's own walking access leg); of several links to one node the fastest is kept.
    """
    net = graph.network
    a = sources.subset(src_idx).attachments()
    access = a.access_m / graph.walk_speed_mps
    to_v = access + _part(1.0 - a.frac, graph.fwd_s[a.edge])  # leave towards v: travel u->v direction
    to_u = access + _part(a.frac, graph.bwd_s[a.edge])  # leave towards u: travel v->u direction
    rows = np.concatenate([a.point, a.point])
    cols = np.concatenate([net.edge_v[a.edge], net.edge_u[a.edge]])
    w = np.concatenate([to_v, to_u])
    ok = np.isfinite(w)
    rows, cols, w = rows[ok], cols[ok], np.maximum(w[ok], MIN_EDGE_TIME_S)
    if len(a) > len(src_idx):  # several attachments may reach one node: keep the fastest link
        order = np.lexsort((w, cols, rows))
        first = np.ones(len(order), bool)
        first[1:] = (rows[order][1:] != rows[order][:-1]) | (cols[order][1:] != cols[order][:-1])
        sel = order[first]
        rows, cols, w = rows[sel], cols[sel], w[sel]
    return rows, cols, w


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
    graph: TravelGraph, node_time: NDArray[np.float64], att: Attachments
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Times at target attachments from node times (last axis = nodes), without the access leg; (time, came_via_u)."""
    net = graph.network
    e, f = att.edge, att.frac
    via_u = node_time[..., net.edge_u[e]] + _part(f, graph.fwd_s[e])
    via_v = node_time[..., net.edge_v[e]] + _part(1.0 - f, graph.bwd_s[e])
    with np.errstate(invalid="ignore"):
        use_u = via_u <= via_v
    return np.where(use_u, via_u, via_v), use_u


def _same_edge_direct(
    graph: TravelGraph, src: Attachments, tgt: Attachments
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Direct trips along a shared segment: (target attachment, source position, seconds excl. target access)."""
    shared = np.zeros(graph.network.n_edges, bool)
    shared[src.edge] = True
    cand = np.flatnonzero(shared[tgt.edge])  # target attachments on a segment holding a source
    if len(cand) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    order = np.argsort(src.edge, kind="stable")
    s_sorted = src.edge[order]
    lo = np.searchsorted(s_sorted, tgt.edge[cand], side="left")
    cnt = np.searchsorted(s_sorted, tgt.edge[cand], side="right") - lo
    t_rep = np.repeat(cand, cnt)
    offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    s_at = order[np.repeat(lo, cnt) + offs]
    e = tgt.edge[t_rep]
    ft = tgt.frac[t_rep]
    fs = src.frac[s_at]
    access = src.access_m[s_at] / graph.walk_speed_mps
    fwd = np.where(ft >= fs, _part(ft - fs, graph.fwd_s[e]), np.inf)
    bwd = np.where(ft <= fs, _part(fs - ft, graph.bwd_s[e]), np.inf)
    return t_rep, src.point[s_at], access + np.minimum(fwd, bwd)


def _first_of_each(key: NDArray[np.int64], value: NDArray[np.float64]) -> NDArray[np.int64]:
    """Index of the smallest ``value`` in every run of equal ``key`` (sorted keys; ties: first index)."""
    if len(key) == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.ones(len(key), bool)
    start[1:] = key[1:] != key[:-1]
    group = np.cumsum(start) - 1
    lowest = np.minimum.reduceat(value, np.flatnonzero(start))
    hit = np.flatnonzero(value == lowest[group])
    first = np.ones(len(hit), bool)
    first[1:] = group[hit][1:] != group[hit][:-1]
    return hit[first].astype(np.int64)


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
        Snapped stations and demand points (snapped on ``graph``); a target's time is
        the best over its attachments, each with its own access leg.
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
    ta = targets.subset(tgt_rows).attachments()
    t, use_u = _finish_at_targets(graph, node_time, ta)
    end_node = np.where(use_u, graph.network.edge_u[ta.edge], graph.network.edge_v[ta.edge])
    best_pos = np.where(np.isfinite(t), node_src[end_node], -1)
    # Same-segment direct trips may beat going round through a node.
    d_att, d_pos, d_time = _same_edge_direct(graph, sources.subset(src_idx).attachments(), ta)
    if len(d_att):
        sel = _first_of_each(d_att, d_time)
        ai, dp, dt = d_att[sel], d_pos[sel], d_time[sel]
        better = dt < t[ai]
        t[ai[better]] = dt[better]
        best_pos[ai[better]] = dp[better]
    t = t + ta.access_m / graph.walk_speed_mps
    if len(ta) > len(tgt_rows):  # best attachment of each target
        sel = _first_of_each(ta.point, t)
        t, best_pos = t[sel], best_pos[sel]
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
    if len(tgt_rows) == 0:
        return
    ta = targets.subset(tgt_rows).attachments()
    starts = ta.starts(len(tgt_rows))
    access = ta.access_m / graph.walk_speed_mps
    if batch_size is None:  # memory: k × (nodes + target attachments) times
        batch_size = _batch_size(graph.network.n_nodes + len(ta))
    for src_idx, node_t in node_times_by_source(graph, sources=sources, limit_s=limit_s, batch_size=batch_size):
        t, _ = _finish_at_targets(graph, node_t, ta)  # k × target attachments
        d_att, d_pos, d_time = _same_edge_direct(graph, sources.subset(src_idx).attachments(), ta)
        if len(d_att):
            np.minimum.at(t, (d_pos, d_att), d_time)
        t = t + access[None, :]
        if len(ta) > len(tgt_rows):  # best attachment of each target
            t = np.minimum.reduceat(t, starts, axis=1)
        si, ti = np.nonzero(t <= limit_s)
        yield src_idx[si], tgt_rows[ti], t[si, ti]


def _batch_size(width: int) -> int:
    """Sources per batch so that a ``batch × width`` float matrix stays near 200 MB (at most 256)."""
    return max(1, min(256, int(2e8 // (8 * max(width, 1)))))


def node_times_by_source(
    graph: TravelGraph, *, sources: Snap, limit_s: float, batch_size: int | None = None
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """Yield ``(source indices, times k × nodes)`` batches of bounded per-source node times."""
    src_all = np.flatnonzero(sources.on_network)
    n = graph.network.n_nodes
    if batch_size is None:
        batch_size = _batch_size(n)
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
