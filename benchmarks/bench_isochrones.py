"""Benchmark isochrone polygons (service areas): per-station and tier-union, raster vs vector.

Usage::

    .venv/bin/python benchmarks/bench_isochrones.py                 # 100k nodes, 500 stations
    .venv/bin/python benchmarks/bench_isochrones.py --quick         # 10k nodes, 50 stations
    .venv/bin/python benchmarks/bench_isochrones.py --repeat 3 --sample 10

Part 1 (options): per-station polygon time for each tier (its default standard),
averaged over ``--sample`` stations:

* ``pieces`` — reached pieces from a scan of every segment / from the segments touching
  reached nodes (:func:`~planner.coverage.isochrones.reached_pieces`);
* ``roads only`` — the raster band of ``isochrone_buffer_m`` around the reached roads
  (``max_access_m=0``: what the polygons showed before walking access was drawn);
* ``vector`` — the service area (roads plus walking access up to the maximum snap
  distance) as the exact level regions: GEOS buffers per walking level, dissolved;
* ``raster`` — the default: timed samples, a 16-gon minimum filter per level, contourpy.

Part 2 (goal): ``station_isochrones`` end to end (Dijkstra per station, pieces,
polygons, WGS-84 transform) for ``--stations`` stations at the tier standard, and
``tier_isochrones`` (union) for all intervals of every tier; medians of ``--repeat``.
Tiers listed in ``--extrapolate`` (default: county, township — whole-county reaches
per station, few stations in practice) are timed on ``--sample`` stations and scaled.

Part 3 (consistency): on the generated demo county and, when ``../shared`` is present, on
the 贵溪 extract (its stations from ``planner extract`` and 600 demand points drawn up to
700 m beside its roads), ``Workspace.isochrones`` per tier: its time (median of
``--repeat``), whether every demand point reached within each interval lies inside that
interval's polygon, the share of on-network points *not* reached within the standard that
lie inside its polygon anyway, and the polygon's area against the exact 60 m band of the
reached roads (the area the polygons had before).
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
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SHARED, fmt_s, grid_network, median_time, points_on, print_table

from planner.coverage.isochrones import (
    pieces_to_polygon,
    reach_polygons,
    reached_pieces,
    station_isochrones,
    tier_isochrones,
)
from planner.network.reach import nearest_node_times, node_times_by_source
from planner.network.roads import TravelGraph
from planner.network.snapping import Snap, snap_points
from planner.settings import DEFAULT_STANDARDS, ISOCHRONE_BUFFER_M, MAX_SNAP_M, Config, Tier
from planner.workspace.workspace import Workspace

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
        times: dict[str, list[float]] = {k: [] for k in ("full", "pieces", "roads", "vector", "raster")}
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
            pieces_to_polygon(g, edge=e, start=a, end=b, buffer_m=buffer_m)
            times["roads"].append(time.perf_counter() - t2)
            kw = {"node_time_s": dist[k], "budgets_s": [budget], "sources": one, "max_access_m": MAX_SNAP_M}
            if not skipped_vector:
                t3 = time.perf_counter()
                reach_polygons(g, buffer_m=buffer_m, method="vector", **kw)  # type: ignore[arg-type]
                times["vector"].append(time.perf_counter() - t3)
                skipped_vector = times["vector"][-1] * len(idx) > vector_limit_s
            t4 = time.perf_counter()
            reach_polygons(g, buffer_m=buffer_m, **kw)  # type: ignore[arg-type]
            times["raster"].append(time.perf_counter() - t4)
        mean = {k: statistics.fmean(v) for k, v in times.items()}
        rows.append(
            [
                f"{tier} {std.mode} {std.minutes:g} min",
                f"{statistics.fmean(n_pieces):,.0f}",
                fmt_s(mean["full"]),
                fmt_s(mean["pieces"]),
                fmt_s(mean["pieces"] + mean["roads"]),
                fmt_s(mean["vector"]) + f" (n={len(times['vector'])})",
                fmt_s(mean["raster"]),
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
            return station_isochrones(
                g, sources=sub, station_ids=ids, intervals_min=[minutes], max_access_m=MAX_SNAP_M, buffer_m=buffer_m
            )

        st_s, gdf = median_time(run_station, repeat=1 if scaled else repeat)
        if scaled:
            st_s *= n_stations / sample
        intervals = std.all_intervals_min()

        def run_union(
            g: TravelGraph = g, src: Snap = src, intervals: tuple[float, ...] = intervals
        ) -> gpd.GeoDataFrame:
            return tier_isochrones(g, sources=src, intervals_min=intervals, max_access_m=MAX_SNAP_M, buffer_m=buffer_m)

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


def _guixi_workspace(config: Config) -> tuple[Workspace, pd.DataFrame] | None:
    """The 贵溪 extract: its stations from ``planner extract``, 600 demand points drawn beside its roads."""
    import contextlib
    import io
    import tempfile

    from planner.cli import main as cli_main
    from planner.demo.grid import random_points_near
    from planner.network.load import load_network

    osm = SHARED / "data" / "guixi_center.osm"
    if not osm.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        cli_main(["extract", "--osm", str(osm), "--out", tmp])
        sheet = pd.read_csv(Path(tmp) / "stations.csv", encoding="utf-8-sig")
    tiers = {"县级": "county", "乡镇": "township", "村（社区）": "village", "企业": "enterprise"}
    stations = pd.DataFrame(
        {"id": sheet["编号"].astype(str), "name": sheet["名称"].astype(str),
         "tier": sheet["层级"].map(tiers).fillna("village"), "lon": sheet["经度"], "lat": sheet["纬度"]}
    )  # fmt: skip
    net = load_network(osm)
    lon, lat = random_points_near(net, n=600, seed=12, max_offset_m=700.0)
    demand = pd.DataFrame(
        {"id": [f"D{i}" for i in range(600)], "population": 100.0, "lon": lon, "lat": lat,
         "kind": np.where(np.arange(600) % 5 == 0, "enterprise", "village")}
    )  # fmt: skip
    return Workspace(network=net, demand=demand, config=config, allow_off_network_stations=True), stations


def consistency_rows(*, repeat: int) -> list[list[str]]:
    """Per county and tier: ``tier_isochrones`` time, reached points outside (must be 0), uncovered inside, areas."""
    cases: list[tuple[str, Workspace, pd.DataFrame]] = []
    ws, sc = Workspace.from_demo()
    cases.append(("demo", ws, sc.stations))
    for label, config in (("guixi", Config()), ("guixi 6 min", Config().with_overrides(minutes=6.0))):
        made = _guixi_workspace(config)
        if made is not None:
            cases.append((label, *made))
    rows = []
    for label, ws, stations in cases:
        result = ws.evaluate(stations)
        for tier, tr in result.tiers.items():
            std = ws.config.standards[tier]
            graph = ws.network.travel_graph(mode=std.mode, config=ws.config)
            kw = {"sources": tr.station_snap, "intervals_min": std.all_intervals_min(), "tier": str(tier),
                  "max_access_m": ws.config.max_snap_m, "buffer_m": ws.config.isochrone_buffer_m}  # fmt: skip
            secs, direct = median_time(lambda g=graph, kw=kw: tier_isochrones(g, **kw), repeat=repeat)  # type: ignore[misc]
            polys = ws.isochrones(stations, tier=tier)  # what the app and the reports draw
            assert polys.geometry.geom_equals(direct.geometry).all()
            demand = result.demand[result.demand["tier"] == str(tier)]
            lon, lat = demand["lon"].to_numpy(float), demand["lat"].to_numpy(float)
            reached_by = demand["interval_min"].to_numpy(float)
            on = demand["status"].to_numpy(object) != "off_network"
            outside = sum(
                int(
                    (reached_by <= m + 1e-9).sum() - (shapely.contains_xy(g, lon, lat) & (reached_by <= m + 1e-9)).sum()
                )
                for m, g in zip(polys["minutes"], polys.geometry, strict=True)
            )
            poly = polys.geometry[polys["minutes"] == std.minutes].iloc[0]
            uncovered = on & ~(reached_by <= std.minutes + 1e-9)
            n_in = int((uncovered & shapely.contains_xy(poly, lon, lat)).sum())
            node_t = nearest_node_times(graph, sources=tr.station_snap, limit_s=std.limit_s)
            e, a, b = reached_pieces(graph, node_time_s=node_t, budget_s=std.limit_s, sources=tr.station_snap)
            band = pieces_to_polygon(
                graph, edge=e, start=a, end=b, buffer_m=ws.config.isochrone_buffer_m, method="vector"
            )
            area = float(gpd.GeoSeries([poly], crs="EPSG:4326").to_crs(ws.network.crs).area.iloc[0])
            rows.append(
                [
                    label,
                    f"{tier} {std.mode} {std.minutes:g} min",
                    fmt_s(secs),
                    str(outside),
                    f"{n_in}/{int(uncovered.sum())}"
                    + (f" ({100 * n_in / uncovered.sum():.0f} %)" if uncovered.any() else ""),
                    f"{area / 1e6:.1f}",
                    f"{band.area / 1e6:.1f}",
                    f"{area / band.area:.1f}" if band.area > 0 else "-",
                ]
            )
            sys.stderr.write(f"consistency done: {rows[-1]}\n")
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
    p.add_argument("--skip-goal", action="store_true")
    p.add_argument("--skip-consistency", action="store_true")
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
            "roads only (60 m band, raster)",
            "vector service area",
            "raster service area (default)",
            "vector/raster",
        ]
        print_table(
            header, options_table(net, sample=args.sample, buffer_m=buffer_m, vector_limit_s=args.vector_limit_s)
        )
    if not args.skip_goal:
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
    if not args.skip_consistency:
        sys.stdout.write(f"\n## Consistency with coverage (tier_isochrones, median of {args.repeat})\n\n")
        header = [
            "county",
            "tier standard",
            "tier s",
            "reached outside",
            "uncovered on-network inside",
            "area km²",
            "60 m road band km²",
            "area / band",
        ]
        print_table(header, consistency_rows(repeat=args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
