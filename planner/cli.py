"""Command-line interface ``planner`` — a thin layer over the library.

Every planner error is printed as a clear message (in the chosen language) and
exits with status 2; no traceback for bad input; outputs are written atomically.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from planner._errors import ConfigError, InputError, PlannerError
from planner.i18n import set_language, t
from planner.settings import TIERS, Config, Tier, load_config, parse_mode, parse_tier

logger = logging.getLogger("planner")


def _intervals(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.replace("，", ",").split(",") if x.strip())
    except ValueError:
        raise ConfigError("config.bad_minutes", value=text, where=" (--intervals)") from None
    if not vals or any(v <= 0 for v in vals):
        raise ConfigError("config.bad_minutes", value=text, where=" (--intervals)")
    return vals


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tier", help="county|township|village|enterprise (或 县级/乡镇/村/企业); default: all tiers")
    p.add_argument("--mode", help="walk|bike|ebike|drive: override the travel mode of --tier (or all tiers)")
    p.add_argument("--minutes", type=float, help="override the N-minute standard of --tier (or all tiers)")
    p.add_argument("--intervals", help="display intervals in minutes, e.g. 5,10,15")
    p.add_argument("--config", help="TOML file with standards and speeds (see README)")
    p.add_argument("--max-snap", type=float, dest="max_snap", help="maximum snap distance in metres (default 500)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-isochrones", action="store_true", help="skip isochrone polygons")
    p.add_argument(
        "--station-isochrones", action="store_true", help="also draw one polygon per station (standard minutes)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="planner", description=t("cli.description"))
    parser.add_argument("--lang", choices=["zh", "en"], default=None, help="message language (default zh)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)

    cov = sub.add_parser("coverage", help=t("cli.help.coverage"))
    cov.add_argument(
        "--network",
        required=True,
        help=".osm / .osm.pbf / road line layer (.gpkg/.shp/.geojson), or download:PLACE (OSM; needs internet)",
    )
    cov.add_argument("--stations", required=True, help="stations: CSV/XLSX/GeoJSON/GeoPackage")
    cov.add_argument("--demand", required=True, help="demand points: CSV/XLSX/GeoJSON/GeoPackage")
    cov.add_argument("--areas", help="township polygons (GeoJSON/GeoPackage) for per-township statistics")
    cov.add_argument("--coords", default="wgs84", choices=["wgs84", "cgcs2000", "gcj02", "bd09"])
    cov.add_argument(
        "--allow-off-network", action="store_true", help="skip stations farther than --max-snap from any road"
    )
    _add_common(cov)

    demo = sub.add_parser("demo", help=t("cli.help.demo"))
    demo.set_defaults(out=None)
    _add_common(demo)
    for a in demo._actions:
        if a.dest == "out":
            a.required = False
            a.default = "out/demo"
    for module_name in SUBCOMMAND_MODULES:
        module = importlib.import_module(module_name)
        module.add_parser(sub)
    return parser


#: Modules that add further subcommands: each defines ``add_parser(subparsers)`` which
#: registers a parser with ``set_defaults(func=run)``, where ``run(args) -> int`` may
#: raise :class:`~planner.PlannerError` (printed as a message, exit status 2).
SUBCOMMAND_MODULES: list[str] = ["planner._cli_site", "planner._cli_onboarding"]


def _config(args: argparse.Namespace) -> tuple[Config, tuple[Tier, ...]]:
    cfg = load_config(args.config)
    tier = parse_tier(args.tier, where=" (--tier)") if args.tier else None
    mode = parse_mode(args.mode) if args.mode else None
    if args.minutes is not None and not args.minutes > 0:
        raise ConfigError("config.bad_minutes", value=args.minutes, where=" (--minutes)")
    intervals = _intervals(args.intervals) if args.intervals else None
    cfg = cfg.with_overrides(
        tier=tier, mode=mode, minutes=args.minutes, intervals_min=intervals, max_snap_m=args.max_snap
    )
    return cfg, ((tier,) if tier else TIERS)


def run_coverage(
    *,
    network_path: str | Path,
    stations_path: str | Path,
    demand_path: str | Path,
    out_dir: str | Path,
    config: Config,
    tiers: tuple[Tier, ...],
    coords: str = "wgs84",
    areas_path: str | Path | None = None,
    isochrones: bool = True,
    station_isochrones: bool = False,
    allow_off_network: bool = False,
    label: str | None = None,
) -> dict[str, Any]:
    """Load inputs, analyse, draw isochrones and write outputs; return the summary."""
    from planner.coverage import analyse
    from planner.inputs import read_areas, read_demand, read_stations
    from planner.isochrones import station_isochrones as draw_station_isochrones
    from planner.isochrones import tier_isochrones
    from planner.osm import describe_network
    from planner.report import write_coverage_outputs

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    net = _network(network_path)
    timings["load_network_s"] = time.perf_counter() - t0
    desc = describe_network(net)
    logger.info(t("osm.summary", **desc))
    if desc.get("components", 1) > 1:
        logger.warning(t("cli.disconnected", pieces=desc["components"], nodes=desc["nodes_outside_largest"]))
    t0 = time.perf_counter()
    stations = read_stations(stations_path, coords=coords)  # type: ignore[arg-type]
    demand = read_demand(demand_path, coords=coords)  # type: ignore[arg-type]
    _warn_coordinates(net, stations=stations, demand=demand, files=(str(stations_path), str(demand_path)))
    areas = read_areas(areas_path) if areas_path else None
    timings["read_inputs_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = analyse(
        net,
        stations=stations,
        demand=demand,
        config=config,
        tiers=tiers,
        areas=areas,
        stations_file=str(stations_path),
        allow_off_network_stations=allow_off_network,
    )
    timings["coverage_s"] = time.perf_counter() - t0
    iso = st_iso = None
    t0 = time.perf_counter()
    if isochrones:
        import pandas as pd

        frames, st_frames = [], []
        for tier, tr in result.tiers.items():
            std = config.standards[tier]
            g = net.travel_graph(mode=std.mode, config=config)
            frames.append(
                tier_isochrones(
                    g,
                    sources=tr.station_snap,
                    intervals_min=std.all_intervals_min(),
                    buffer_m=config.isochrone_buffer_m,
                    tier=str(tier),
                )
            )
            if station_isochrones:
                ids = stations["id"].astype(str).to_numpy()[tr.station_rows]
                st_frames.append(
                    draw_station_isochrones(
                        g,
                        sources=tr.station_snap,
                        station_ids=list(ids),
                        intervals_min=[std.minutes],
                        buffer_m=config.isochrone_buffer_m,
                        tier=str(tier),
                    )
                )
        import geopandas as gpd

        iso = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326") if frames else None
        if st_frames:
            st_iso = gpd.GeoDataFrame(pd.concat(st_frames, ignore_index=True), crs="EPSG:4326")
    timings["isochrones_s"] = time.perf_counter() - t0
    extra: dict[str, Any] = {
        "inputs": {
            "network": str(network_path),
            "stations": str(stations_path),
            "demand": str(demand_path),
            "areas": str(areas_path) if areas_path else None,
            "coords": coords,
        },
        "network_description": desc,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    if label:
        extra["label"] = label
    try:
        write_coverage_outputs(result, out_dir=out_dir, isochrones=iso, station_isochrones=st_iso, extra_summary=extra)
    except OSError as exc:
        raise InputError("cli.cannot_write", path=str(out_dir), reason=exc.strerror or str(exc)) from None
    summary = dict(result.summary)
    summary.update(extra)
    return summary


def _network(spec: str | Path) -> Any:
    """Load a network file, or download one for ``download:PLACE`` (needs internet)."""
    from planner.osm import download_network, load_network

    text = str(spec)
    if text.startswith("download:"):
        return download_network(place=text.split(":", 1)[1].strip())
    return load_network(spec)


def _warn_coordinates(net: Any, *, stations: Any, demand: Any, files: tuple[str, str]) -> None:
    """Log the coordinate sanity findings (swapped, outside the network, GCJ-02/BD-09 offset)."""
    from planner.sanity import check_coordinates

    for df, file in zip((stations, demand), files, strict=True):
        for finding in check_coordinates(df, network=net, file=file):
            logger.warning("%s", finding.message())


def print_summary(summary: dict[str, Any], *, out_dir: str | Path, label: str | None = None) -> None:
    """Print the per-tier coverage table for people."""
    lines = []
    if label:
        lines.append(label)
    lines.append(t("cli.table_header"))
    for tier_key, s in summary["tiers"].items():
        pct = s["percent_population"]
        lines.append(
            t(
                "cli.table_row",
                tier=t(f"tier.{tier_key}"),
                mode=t(f"mode.{s['mode']}"),
                minutes=f"{s['minutes']:g}",
                stations=s["stations"],
                demand=s["demand"],
                covered=s["covered"],
                pct="-" if pct is None else f"{pct:.1f}",
                uncovered=f"{s['uncovered_population']:,.0f}",
                off=s["off_network"],
            )
        )
    lines.append(t("cli.outputs", out=str(out_dir)))
    sys.stdout.write("\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``planner`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--lang" in argv:
        i = argv.index("--lang")
        if i + 1 < len(argv) and argv[i + 1] in ("zh", "en"):
            set_language(argv[i + 1])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.lang:
        set_language(args.lang)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2) if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if getattr(args, "func", None) is not None:
            return int(args.func(args))
        cfg, tiers = _config(args)
        if args.command == "coverage":
            summary = run_coverage(
                network_path=args.network,
                stations_path=args.stations,
                demand_path=args.demand,
                out_dir=args.out,
                config=cfg,
                tiers=tiers,
                coords=args.coords,
                areas_path=args.areas,
                isochrones=not args.no_isochrones,
                station_isochrones=args.station_isochrones,
                allow_off_network=args.allow_off_network,
            )
            print_summary(summary, out_dir=args.out)
        elif args.command == "demo":
            from planner.demo import write_demo

            out = Path(args.out)
            label = t("demo.label")
            inputs = write_demo(out / "input")
            summary = run_coverage(
                network_path=inputs["roads"],
                stations_path=inputs["stations"],
                demand_path=inputs["demand"],
                areas_path=inputs["townships"],
                out_dir=out,
                config=cfg,
                tiers=tiers,
                isochrones=not args.no_isochrones,
                station_isochrones=args.station_isochrones,
                label=label,
            )
            print_summary(summary, out_dir=out, label=label)
    except PlannerError as exc:
        sys.stderr.write(t("cli.error_prefix") + str(exc) + "\n")
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
