"""Benchmark isochrone polygons: per-station and tier-union, raster vs vector bands.

Usage::

    .venv/bin/python benchmarks/bench_isochrones.py                 # 100k nodes, 500 stations
    .venv/bin/python benchmarks/bench_isochrones.py --quick         # 10k nodes, 50 stations
    .venv/bin/python benchmarks/bench_isochrones.py --repeat 3 --sample 10

Part 1 (options): per-station polygon time for each tier (its default standard),
averaged over ``--sample`` stations, for the ways of drawing the band:

* ``vector, full scan`` — the original code: reached pieces from a scan of every
  segment, merged lines buffered with GEOS (quad_segs=2) and dissolved with union_all;
* ``vector`` — the same band, pieces only from segments touching reached nodes;
* ``vector coarse`` — quad_segs=1 and simplification at buffer/2 before buffering;
* ``raster`` — the default: burn pieces into a buffer/4 grid, separable disk
  dilation, contourpy marching squares.

Part 2 (goal): ``station_isochrones`` end to end (Dijkstra per station, pieces,
polygons, WGS-84 transform) for ``--stations`` stations at the tier standard, and
``tier_isochrones`` (union) for all intervals of every tier; medians of ``--repeat``.
Tiers listed in ``--extrapolate`` (default: county, township — whole-county reaches
per station, few stations in practice) are timed on ``--sample`` stations and scaled.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt_s, grid_network, median_time, points_on, print_table

from planner.coverage.isochrones import (
    _piece_coords,
    pieces_to_polygon,
    reached_pieces,
    station_isochrones,
    tier_isochrones,
)
from planner.network.reach import node_times_by_source
from planner.network.roads import TravelGraph
from planner.network.snapping import Snap, snap_points
from planner.settings import DEFAULT_STANDARDS, ISOCHRONE_BUFFER_M, MAX_SNAP_M, Config, Tier

logger = logging.getLogger("bench_isochrones")


def full_scan_pieces(
    graph: TravelGraph, node_time_s: np.ndarray, budget_s: float, one: Snap
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The original piece extraction: every segment examined (baseline only)."""
    net = graph.network
    tu, tv = node_time_s[net.edge_u], node_time_s[net.edge_v]
    with np.errstate(invalid="ignore", divide="ignore"):
        ru = np.nan_to_num(np.where(tu <= budget_s, np.clip((budget_s - tu) / graph.fwd_s, 0, 1), 0.0), nan=0.0)
        rv = np.nan_to_num(np.where(tv <= budget_s, np.clip((budget_s - tv) / graph.bwd_s, 0, 1), 0.0), nan=0.0)
    whole = (ru + rv >= 1.0) & ((ru > 0) | (rv > 0))
    e_all = np.arange(net.n_edges)
    fu, fv = ~whole & (ru > 0), ~whole & (rv > 0)
    e = np.concatenate([e_all[whole], e_all[fu], e_all[fv], one.edge])
    a = np.concatenate([np.zeros(whole.sum()), np.zeros(fu.sum()), 1.0 - rv[fv], np.zeros(len(one.edge))])
    b = np.concatenate([np.ones(whole.sum()), ru[fu], np.ones(fv.sum()), np.ones(len(one.edge))])
    return e, a, b


def vector_coarse(graph: TravelGraph, e: np.ndarray, a: np.ndarray, b: np.ndarray, buffer_m: float) -> object:
    """GEOS band with quad_segs=1 and simplification at buffer/2."""
    lines = shapely.linestrings(_piece_coords(graph, e, a, b))
    merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
    merged = shapely.simplify(merged, buffer_m / 2.0)
    return shapely.union_all(shapely.buffer(merged, buffer_m, quad_segs=1))


def options_table(net: object, *, sample: int, buffer_m: float, vector_limit_s: float) -> list[list[str]]:
    """Mean seconds per station polygon for each option, per tier."""
    rows = []
    for tier in Tier:
        std = DEFAULT_STANDARDS[tier]
        g = net.travel_graph(mode=std.mode, config=Config())  # type: ignore[attr-defined]
        lon, lat = points_on(net, n=sample, seed=21)  # type: ignore[arg-type]
        src = snap_points(g, lon=lon, lat=lat, max_snap_m=MAX_SNAP_M)
        budget = std.limit_s
        idx, dist = next(node_times_by_source(g, sources=src, limit_s=budget))
        times: dict[str, list[float]] = {k: [] for k in ("full", "pieces", "vector", "coarse", "raster")}
        n_pieces = []
        skipped_vector = False
        for k, s in enumerate(idx):
            one = src.subset(np.array([s]))
            t0 = time.perf_counter()
            full_scan_pieces(g, dist[k], budget, one)
            t1 = time.perf_counter()
            e, a, b = reached_pieces(g, node_time_s=dist[k], budget_s=budget, sources=one)
            t2 = time.perf_counter()
            times["full"].append(t1 - t0)
            times["pieces"].append(t2 - t1)
            n_pieces.append(len(e))
            if not skipped_vector:
                t3 = time.perf_counter()
                pieces_to_polygon(g, edge=e, start=a, end=b, buffer_m=buffer_m, method="vector")
                t4 = time.perf_counter()
                vector_coarse(g, e, a, b, buffer_m)
                t5 = time.perf_counter()
                times["vector"].append(t4 - t3)
                times["coarse"].append(t5 - t4)
                skipped_vector = (t4 - t3) * len(idx) > vector_limit_s and len(times["vector"]) >= 1
            t6 = time.perf_counter()
            pieces_to_polygon(g, edge=e, start=a, end=b, buffer_m=buffer_m)
            times["raster"].append(time.perf_counter() - t6)
        mean = {k: statistics.fmean(v) for k, v in times.items()}
        rows.append(
            [
                f"{tier} {std.mode} {std.minutes:g} min",
                f"{statistics.fmean(n_pieces):,.0f}",
                fmt_s(mean["full"]),
                fmt_s(mean["pieces"]),
                fmt_s(mean["full"] + mean["vector"]) + f" (n={len(times['vector'])})",
                fmt_s(mean["pieces"] + mean["vector"]),
                fmt_s(mean["pieces"] + mean["coarse"]),
                fmt_s(mean["pieces"] + mean["raster"]),
                f"{mean['vector'] / mean['raster']:.0f}x",
            ]
        )
        sys.stderr.write(f"options done: {rows[-1]}\n")
    return rows


def goal_table(
    net: object, *, n_stations: int, repeat: int, buffer_m: float, extrapolate: set[str], sample: int
) -> list[list[str]]:
    """End-to-end station and tier-union isochrones per tier."""
    rows = []
    for tier in Tier:
        std = DEFAULT_STANDARDS[tier]
        g = net.travel_graph(mode=std.mode, config=Config())  # type: ignore[attr-defined]
        lon, lat = points_on(net, n=n_stations, seed=31 + list(Tier).index(tier))  # type: ignore[arg-type]
        src = snap_points(g, lon=lon, lat=lat, max_snap_m=MAX_SNAP_M)
        ids = [f"s{i}" for i in range(n_stations)]
        scaled = str(tier) in extrapolate
        sub = src.subset(np.arange(sample)) if scaled else src

        def run_station(
            sub: Snap = sub, g: TravelGraph = g, minutes: float = std.minutes, ids: list[str] = ids
        ) -> gpd.GeoDataFrame:
            return station_isochrones(g, sources=sub, station_ids=ids, intervals_min=[minutes], buffer_m=buffer_m)

        st_s, gdf = median_time(run_station, repeat=1 if scaled else repeat)
        if scaled:
            st_s *= n_stations / sample
        intervals = std.all_intervals_min()

        def run_union(
            g: TravelGraph = g, src: Snap = src, intervals: tuple[float, ...] = intervals
        ) -> gpd.GeoDataFrame:
            return tier_isochrones(g, sources=src, intervals_min=intervals, buffer_m=buffer_m)

        tu_s, tu = median_time(run_union, repeat=repeat)
        n_vert = int(shapely.get_num_coordinates(np.asarray(gdf.geometry)).sum())
        rows.append(
            [
                f"{tier} {std.mode} {std.minutes:g} min",
                f"{n_stations}" + (f" (timed {sample}, scaled)" if scaled else ""),
                fmt_s(st_s),
                f"{n_vert / len(gdf):,.0f}",
                "/".join(f"{m:g}" for m in intervals),
                fmt_s(tu_s),
                f"{int(shapely.get_num_coordinates(np.asarray(tu.geometry)).sum()):,}",
            ]
        )
        sys.stderr.write(f"goal done: {rows[-1]}\n")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=100_000, help="generated network size")
    p.add_argument("--stations", type=int, default=500)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--sample", type=int, default=10, help="stations per tier for the options table")
    p.add_argument("--extrapolate", default="county,township", help="tiers timed on --sample stations and scaled")
    p.add_argument("--vector-limit-s", type=float, default=60.0, help="stop timing vector options beyond this")
    p.add_argument("--quick", action="store_true", help="10k nodes, 50 stations, 1 repeat")
    p.add_argument("--skip-options", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.quick:
        args.nodes, args.stations, args.repeat, args.sample = 10_000, 50, 1, 5
    buffer_m = ISOCHRONE_BUFFER_M
    net = grid_network(args.nodes)
    sys.stdout.write(f"\nnetwork: generated, {net.n_nodes:,} nodes, {net.n_edges:,} segments; band {buffer_m:g} m\n")
    if not args.skip_options:
        sys.stdout.write(f"\n## Seconds per station polygon (mean of {args.sample} stations), by option\n\n")
        header = [
            "tier standard",
            "pieces",
            "full-scan pieces",
            "touching pieces",
            "vector, full scan (before)",
            "vector",
            "vector coarse",
            "raster (default)",
            "vector/raster",
        ]
        print_table(
            header, options_table(net, sample=args.sample, buffer_m=buffer_m, vector_limit_s=args.vector_limit_s)
        )
    sys.stdout.write(f"\n## End to end (raster), {args.stations} stations per tier, median of {args.repeat}\n\n")
    rows = goal_table(
        net,
        n_stations=args.stations,
        repeat=args.repeat,
        buffer_m=buffer_m,
        extrapolate={s.strip() for s in args.extrapolate.split(",") if s.strip()},
        sample=args.sample,
    )
    print_table(
        [
            "tier standard",
            "stations",
            "station polygons s",
            "vertices/polygon",
            "union intervals",
            "tier union s",
            "union vertices",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
