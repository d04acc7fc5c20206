"""Shared helpers for the benchmark scripts (timing, test networks, networkx reference).

Not part of the package: benchmark scripts put the repository root on ``sys.path``
and import this module as ``_common``.
"""

from __future__ import annotations

import logging
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from planner.network.roads import RoadNetwork, TravelGraph  # noqa: E402
from planner.network.snapping import Snap  # noqa: E402

SHARED = ROOT.parent / "shared"
ANDORRA_PBF = SHARED / "data" / "andorra.osm.pbf"

logger = logging.getLogger("benchmarks")

T = TypeVar("T")


def median_time(fn: Callable[[], T], *, repeat: int) -> tuple[float, T]:
    """Median wall-clock seconds of ``repeat`` calls of ``fn`` and the last result."""
    times: list[float] = []
    result: Any = None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def parse_sizes(text: str) -> list[int]:
    """``"10000,100000"`` → ``[10000, 100000]``; accepts ``10k``/``1m`` suffixes."""
    out: list[int] = []
    for part in text.split(","):
        p = part.strip().lower()
        if not p:
            continue
        mult = 1
        if p.endswith("k"):
            mult, p = 1000, p[:-1]
        elif p.endswith("m"):
            mult, p = 1_000_000, p[:-1]
        out.append(int(float(p) * mult))
    return out


def grid_network(n_nodes: int, *, seed: int = 1) -> RoadNetwork:
    """The generated benchmark network of about ``n_nodes`` nodes."""
    from planner.demo.grid import generate_grid_network

    return generate_grid_network(n_nodes=n_nodes, seed=seed)


def andorra_network() -> RoadNetwork | None:
    """The real Andorra network from ../shared, or ``None`` when absent."""
    if not ANDORRA_PBF.exists():
        return None
    from planner.network.load import load_network

    return load_network(ANDORRA_PBF)


def points_on(
    net: RoadNetwork, *, n: int, seed: int, max_offset_m: float = 100.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``n`` (lon, lat) points near the roads of ``net``."""
    from planner.demo.grid import random_points_near

    return random_points_near(net, n=n, seed=seed, max_offset_m=max_offset_m)


def split_digraph(graph: TravelGraph, *, points: Snap) -> Any:
    """networkx DiGraph of ``graph`` with every attachment of the snapped points inserted into its segment.

    Node ``i < n_nodes`` is road node ``i``; attachment ``j`` of ``points.attachments()``
    (the nearest segment of each point, then its alternates on one-way networks) is
    node ``n_nodes + j``. A segment holding attachments is split into pieces between
    consecutive positions, each piece costing its fraction of the segment time in
    each allowed direction (a zero-length piece costs zero). Parallel pieces keep
    the fastest time. Built the same way as ``tests/conftest.py::nx_best_times``
    but with array code so that it scales to a million nodes.
    """
    import networkx as nx

    net = graph.network
    n = net.n_nodes
    att = points.attachments()
    pe = att.edge
    pf = att.frac
    order = np.lexsort((pf, pe))
    ok, pe, pf = order, pe[order], pf[order]
    pid = n + ok
    first = np.ones(len(pe), bool)
    first[1:] = pe[1:] != pe[:-1]
    last = np.ones(len(pe), bool)
    last[:-1] = pe[1:] != pe[:-1]
    prev_node = np.where(first, net.edge_u[pe], np.roll(pid, 1))
    prev_f = np.where(first, 0.0, np.roll(pf, 1))
    split = np.zeros(net.n_edges, bool)
    split[pe] = True
    whole = np.flatnonzero(~split)
    a = np.concatenate([net.edge_u[whole], prev_node, pid[last]])
    b = np.concatenate([net.edge_v[whole], pid, net.edge_v[pe[last]]])
    e = np.concatenate([whole, pe, pe[last]])
    span = np.concatenate([np.ones(len(whole)), pf - prev_f, 1.0 - pf[last]])
    with np.errstate(invalid="ignore"):
        fw = np.where(span > 0, span * graph.fwd_s[e], 0.0)
        bw = np.where(span > 0, span * graph.bwd_s[e], 0.0)
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    w = np.concatenate([fw, bw])
    keep = np.isfinite(w)
    src, dst, w = src[keep], dst[keep], w[keep]
    desc = np.argsort(-w, kind="stable")  # the last write of a pair wins: the fastest
    g_nx = nx.DiGraph()
    g_nx.add_nodes_from(range(n))
    g_nx.add_weighted_edges_from(zip(src[desc].tolist(), dst[desc].tolist(), w[desc].tolist(), strict=True))
    return g_nx


def networkx_nearest(
    g_nx: Any, graph: TravelGraph, *, sources: Snap, targets: Snap, limit_s: float, n_sources: int
) -> NDArray[np.float64]:
    """The straightforward networkx way: one bounded Dijkstra per station, minimum per target.

    ``g_nx`` comes from :func:`split_digraph` with the points ``sources`` followed by
    ``targets``; a station leaves from all its attachments (a temporary node with an
    edge of its walking access time to each), a demand point's time is the best over
    its attachments plus their access. Times include both walking access legs; ``inf``
    beyond ``limit_s``.
    """
    import networkx as nx

    n = graph.network.n_nodes
    walk = graph.walk_speed_mps
    att = Snap.concat(sources, targets).attachments()
    access = att.access_m / walk
    node = n + np.arange(len(att))
    best = np.full(len(targets), np.inf)
    is_t = att.point >= n_sources
    t_point = np.full(n + len(att), -1, dtype=np.int64)
    t_point[node[is_t]] = att.point[is_t] - n_sources
    t_access = np.zeros(n + len(att))
    t_access[node[is_t]] = access[is_t]
    for i in np.flatnonzero(sources.on_network):
        mine = np.flatnonzero(att.point == i)
        g_nx.add_weighted_edges_from((-1, int(node[j]), float(access[j])) for j in mine)
        lengths = nx.single_source_dijkstra_path_length(g_nx, -1, cutoff=limit_s, weight="weight")
        g_nx.remove_node(-1)
        keys = np.fromiter((k for k in lengths if k != -1), dtype=np.int64)
        vals = np.fromiter((v for k, v in lengths.items() if k != -1), dtype=np.float64)
        sel = t_point[keys] >= 0
        np.minimum.at(best, t_point[keys[sel]], vals[sel] + t_access[keys[sel]])
    return np.where(best <= limit_s, best, np.inf)


def concat_snaps(a: Snap, b: Snap) -> Snap:
    """Sources followed by targets, as one :class:`Snap`."""
    return Snap.concat(a, b)


def fmt_s(seconds: float) -> str:
    """Seconds with three significant digits."""
    if not math.isfinite(seconds):
        return "-"
    return f"{seconds:.3g}"


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """Print a Markdown table to stdout (benchmark output, not user-facing messages)."""
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h) for k, h in enumerate(header)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    sys.stdout.write(line + "\n")
    sys.stdout.write("|" + "|".join("-" * (w + 2) for w in widths) + "|\n")
    for r in rows:
        sys.stdout.write("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |\n")
    sys.stdout.flush()
