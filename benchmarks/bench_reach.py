"""Benchmark the reach engine against the straightforward networkx approach.

Usage::

    .venv/bin/python benchmarks/bench_reach.py                      # 10k, 100k, 1M + Andorra
    .venv/bin/python benchmarks/bench_reach.py --sizes 10000,100000 --repeat 5
    .venv/bin/python benchmarks/bench_reach.py --quick              # 10k only, 1 repeat

Part 1 (comparison): on identical inputs — the same travel graph, the same snapped
stations and demand points — ``planner.network.reach.nearest_times`` (one multi-source SciPy
Dijkstra pass) against networkx: a DiGraph with the same segment times in which each
snapped point splits its segment (as ``tests/test_reach.py::_nx_reference`` does),
then ``nx.single_source_dijkstra_path_length(G, station, cutoff=limit)`` per station
and the minimum per demand point. Results must be identical (times to 1e-6 s and the
same covered set). Times are medians of ``--repeat`` runs; the networkx graph build
is timed separately and not included in the ratio (conservative).

Part 2 (goal): all four tiers (each with its own default mode and standard, searched
to the coverage horizon as :func:`planner.coverage.analyse.analyse` does) for 500 stations
and 50,000 demand points on the 100k-node network, in a fresh subprocess: snapping
and reach time split, and the subprocess's peak resident memory (its
``VmHWM`` from ``/proc/self/status``, which includes the interpreter, imports and
network generation; ``ru_maxrss`` of a child would also count the parent's memory
inherited at fork).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    andorra_network,
    concat_snaps,
    fmt_s,
    grid_network,
    median_time,
    networkx_nearest,
    parse_sizes,
    points_on,
    print_table,
    split_digraph,
)

from planner.network.reach import nearest_times
from planner.network.roads import RoadNetwork
from planner.network.snapping import snap_points
from planner.settings import DEFAULT_STANDARDS, HORIZON_FACTOR, MAX_SNAP_M, Config, Tier

logger = logging.getLogger("bench_reach")


def compare(
    name: str,
    net: RoadNetwork,
    *,
    tier: Tier,
    n_stations: int,
    n_demand: int,
    repeat: int,
    nx_repeat: int,
    seed: int,
) -> list[str]:
    """One comparison row: engine vs networkx on the same snapped inputs."""
    std = DEFAULT_STANDARDS[tier]
    g = net.travel_graph(mode=std.mode, config=Config())
    s_lon, s_lat = points_on(net, n=n_stations, seed=seed)
    d_lon, d_lat = points_on(net, n=n_demand, seed=seed + 1)
    src = snap_points(g, lon=s_lon, lat=s_lat, max_snap_m=MAX_SNAP_M)
    tgt = snap_points(g, lon=d_lon, lat=d_lat, max_snap_m=MAX_SNAP_M)
    limit = std.limit_s
    eng_s, res = median_time(lambda: nearest_times(g, sources=src, targets=tgt, limit_s=limit), repeat=repeat)
    t0 = time.perf_counter()
    g_nx = split_digraph(g, points=concat_snaps(src, tgt))
    build_s = time.perf_counter() - t0
    nx_s, ref = median_time(
        lambda: networkx_nearest(g_nx, g, sources=src, targets=tgt, limit_s=limit, n_sources=len(src)),
        repeat=nx_repeat,
    )
    same_cover = bool(np.array_equal(np.isfinite(res.time_s), np.isfinite(ref)))
    fin = np.isfinite(ref)
    max_err = float(np.max(np.abs(res.time_s[fin] - ref[fin]))) if fin.any() else 0.0
    ok = same_cover and max_err <= 1e-6
    if not ok:
        logger.error("%s: results differ (same covered set: %s, max |Δt| = %.3g s)", name, same_cover, max_err)
    return [
        name,
        f"{net.n_nodes:,}",
        f"{int(src.on_network.sum())}",
        f"{int(tgt.on_network.sum()):,}",
        f"{tier} {std.mode} {std.minutes:g} min",
        f"{int(fin.sum()):,}",
        fmt_s(eng_s),
        fmt_s(nx_s),
        fmt_s(build_s),
        f"{nx_s / eng_s:.0f}x" if eng_s > 0 else "-",
        "yes" if ok else f"NO ({max_err:.2g} s)",
    ]


def goal_child(n_nodes: int, n_stations: int, n_demand: int, repeat: int) -> None:
    """Run in a subprocess: all four tiers, print JSON timings to stdout."""
    runs = []
    for r in range(repeat):
        net = grid_network(n_nodes, seed=1 + r)  # fresh network: cold graph and snapping caches
        d_lon, d_lat = points_on(net, n=n_demand, seed=11)
        per_tier = {}
        cfg = Config()
        demand_snaps: dict[str, object] = {}  # as planner.coverage.analyse.analyse: one snap per set of usable roads
        for tier in Tier:
            std = cfg.standards[tier]
            s_lon, s_lat = points_on(net, n=n_stations, seed=100 + list(Tier).index(tier))
            t0 = time.perf_counter()
            g = net.travel_graph(mode=std.mode, config=cfg)
            t1 = time.perf_counter()
            src = snap_points(g, lon=s_lon, lat=s_lat, max_snap_m=cfg.max_snap_m)
            if g.usable_key not in demand_snaps:
                demand_snaps[g.usable_key] = snap_points(g, lon=d_lon, lat=d_lat, max_snap_m=cfg.max_snap_m)
            tgt = demand_snaps[g.usable_key]
            t2 = time.perf_counter()
            res = nearest_times(g, sources=src, targets=tgt, limit_s=std.limit_s * HORIZON_FACTOR)  # type: ignore[arg-type]
            t3 = time.perf_counter()
            per_tier[str(tier)] = {
                "graph_s": t1 - t0,
                "snap_s": t2 - t1,
                "reach_s": t3 - t2,
                "covered": int((res.time_s <= std.limit_s).sum()),
            }
        runs.append(per_tier)
    sys.stdout.write(json.dumps({"runs": runs, "peak_mb": _peak_rss_mb()}) + "\n")


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM of /proc/self/status; ru_maxrss elsewhere).

    ``ru_maxrss`` of a child would include its parent's memory at fork time (Linux
    keeps the high-water mark across exec), so the child reports its own VmHWM.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def goal(n_nodes: int, n_stations: int, n_demand: int, repeat: int) -> list[list[str]]:
    """Run :func:`goal_child` in a fresh interpreter; rows of the goal table."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--goal-child",
        f"{n_nodes},{n_stations},{n_demand},{repeat}",
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    runs, peak_mb = data["runs"], float(data["peak_mb"])
    rows = []
    tot = {"graph_s": [], "snap_s": [], "reach_s": []}  # type: dict[str, list[float]]
    for tier in Tier:
        med = {k: statistics.median(run[str(tier)][k] for run in runs) for k in ("graph_s", "snap_s", "reach_s")}
        std = DEFAULT_STANDARDS[tier]
        rows.append(
            [
                str(tier),
                f"{std.mode} {std.minutes:g} min (search {std.minutes * HORIZON_FACTOR:g})",
                f"{runs[0][str(tier)]['covered']:,}",
                fmt_s(med["graph_s"]),
                fmt_s(med["snap_s"]),
                fmt_s(med["reach_s"]),
                fmt_s(med["snap_s"] + med["reach_s"]),
            ]
        )
    for k in tot:
        tot[k] = [sum(run[str(t)][k] for t in Tier) for run in runs]
    snap_reach = [a + b for a, b in zip(tot["snap_s"], tot["reach_s"], strict=True)]
    rows.append(
        [
            "all four",
            f"peak memory {peak_mb:,.0f} MB",
            "",
            fmt_s(statistics.median(tot["graph_s"])),
            fmt_s(statistics.median(tot["snap_s"])),
            fmt_s(statistics.median(tot["reach_s"])),
            fmt_s(statistics.median(snap_reach)),
        ]
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="generated network sizes (nodes)")
    p.add_argument("--repeat", type=int, default=3, help="repeats per measurement (median reported)")
    p.add_argument("--quick", action="store_true", help="10k nodes only, one repeat, small goal run")
    p.add_argument("--tier", default="township", help="tier whose standard the comparison uses, or 'all'")
    p.add_argument("--stations", type=int, default=500, help="stations (networkx limited at 1M nodes)")
    p.add_argument("--demand", type=int, default=50_000, help="demand points")
    p.add_argument("--nx-max-stations-1m", type=int, default=20, help="station count at ≥ 1M nodes")
    p.add_argument("--no-goal", action="store_true", help="skip the four-tier goal run")
    p.add_argument("--goal-only", action="store_true", help="only the four-tier goal run")
    p.add_argument("--goal-child", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.goal_child:
        n, s, d, r = (int(v) for v in args.goal_child.split(","))
        goal_child(n, s, d, r)
        return 0
    sizes = [10_000] if args.quick else parse_sizes(args.sizes)
    if args.goal_only:
        sizes = []
    repeat = 1 if args.quick else args.repeat
    tiers = list(Tier) if args.tier == "all" else [Tier(args.tier)]
    header = [
        "network",
        "nodes",
        "stations",
        "demand",
        "standard",
        "reached",
        "engine s",
        "networkx s",
        "nx build s",
        "ratio",
        "identical",
    ]
    rows: list[list[str]] = []
    notes: list[str] = []
    for n in sizes:
        net = grid_network(n)
        stations = min(args.stations, max(10, n // 200))
        demand = min(args.demand, max(1000, n // 2))
        nx_rep = repeat
        if n >= 1_000_000:
            stations = min(stations, args.nx_max_stations_1m)
            nx_rep = min(repeat, 1)
            notes.append(
                f"generated {n:,}: networkx limited to {stations} stations and 1 run; "
                "the engine is timed on the same stations"
            )
        for tier in tiers:
            rows.append(
                compare(
                    f"generated {n // 1000:,}k",
                    net,
                    tier=tier,
                    n_stations=stations,
                    n_demand=demand,
                    repeat=repeat,
                    nx_repeat=nx_rep,
                    seed=5,
                )
            )
            sys.stderr.write(f"done: {rows[-1]}\n")
    if not args.quick and not args.goal_only:
        real = andorra_network()
        if real is None:
            notes.append("Andorra skipped: ../shared/data/andorra.osm.pbf not present")
        else:
            for tier in tiers:
                rows.append(
                    compare(
                        "Andorra (OSM)",
                        real,
                        tier=tier,
                        n_stations=100,
                        n_demand=10_000,
                        repeat=repeat,
                        nx_repeat=repeat,
                        seed=5,
                    )
                )
    if rows:
        sys.stdout.write("\n## Engine vs networkx (identical inputs; medians)\n\n")
        print_table(header, rows)
    for note in notes:
        sys.stdout.write(f"- {note}\n")
    if not args.no_goal:
        n_goal = 10_000 if args.quick else 100_000
        sys.stdout.write(
            f"\n## Goal: four tiers, {args.stations} stations, {args.demand:,} demand, {n_goal:,}-node network "
            f"(median of {repeat}, fresh subprocess; peak = VmHWM of the subprocess)\n\n"
        )
        g_rows = goal(n_goal, args.stations, args.demand, repeat)
        print_table(["tier", "standard", "covered", "graph build s", "snap s", "reach s", "snap+reach s"], g_rows)
    return 0 if all(r[-1] == "yes" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
