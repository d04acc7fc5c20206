"""Command-line interface ``planner`` — a thin layer over the library.

Every planner error is printed as a clear message (in the chosen language) and
exits with status 2; no traceback for bad input; outputs are written atomically.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from planner._errors import ConfigError, PlannerError
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
SUBCOMMAND_MODULES: list[str] = ["planner.cli.site", "planner.cli.onboarding"]


def common_config(args: argparse.Namespace) -> tuple[Config, tuple[Tier, ...]]:
    """Standards from ``--config`` with ``--tier/--mode/--minutes/--intervals/--max-snap`` applied; the tiers to run."""
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
    """Load inputs into a workspace, evaluate, and write the report files; return the summary.

    The same pipeline as the app and the notebook: :meth:`planner.workspace.workspace.Workspace.from_files`,
    :meth:`~planner.workspace.workspace.Workspace.evaluate` and :func:`planner.report.files.report_files`.
    """
    from planner.network.osm import describe_network
    from planner.report.files import CLI_FILES, report_files, write_files
    from planner.workspace.workspace import Workspace

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ws, scenario = Workspace.from_files(
        network=network_path,
        stations=stations_path,
        demand=demand_path,
        areas=areas_path,
        coords=coords,
        config=config,
        allow_off_network_stations=allow_off_network,
        label=label,
    )
    ws.stations_file = str(stations_path)
    timings["read_inputs_s"] = time.perf_counter() - t0
    desc = describe_network(ws.network)
    logger.info(t("osm.summary", **desc))
    if desc.get("components", 1) > 1:
        logger.warning(t("cli.disconnected", pieces=desc["components"], nodes=desc["nodes_outside_largest"]))
    t0 = time.perf_counter()
    result = ws.evaluate(scenario.stations, tiers=tiers)
    timings["coverage_s"] = time.perf_counter() - t0
    extra: dict[str, Any] = {"network_description": desc, "timings": {k: round(v, 3) for k, v in timings.items()}}
    files = report_files(
        ws,
        scenario.stations,
        include=CLI_FILES,
        result=result,
        tiers=tiers,
        isochrones=isochrones,
        station_isochrones=station_isochrones,
        extra_summary=extra,
    )
    write_files(files, out_dir=out_dir)
    return json.loads(files["summary.json"])


#: Figures in the CLI's per-tier table (labels and definitions: :mod:`planner.report.figures`).
CLI_TABLE_FIGURES: tuple[str, ...] = (
    "stations",
    "demand",
    "covered_population",
    "percent_population",
    "outside_population",
    "off_network_population",
    "unreachable_population",
    "uncovered",
)


def print_summary(summary: dict[str, Any], *, out_dir: str | Path, label: str | None = None) -> None:
    """Print the per-tier coverage table for people (figure names from :mod:`planner.report.figures`)."""
    from planner.report import figures

    lines = []
    if label:
        lines.append(label)
    head = [t("cli.col.tier"), t("cli.col.mode"), t("cli.col.standard")]
    lines.append(" | ".join(head + [figures.label(k) for k in CLI_TABLE_FIGURES]))
    for tier_key, s in summary["tiers"].items():
        cells = [t(f"tier.{tier_key}"), t(f"mode.{s['mode']}"), t("cli.standard_value", minutes=f"{s['minutes']:g}")]
        cells += [figures.display(k, s[k]) for k in CLI_TABLE_FIGURES]
        lines.append(" | ".join(cells))
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
        cfg, tiers = common_config(args)
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
            from planner.demo.county import write_demo

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
