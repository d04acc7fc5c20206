"""``planner coverage`` and ``planner demo``: who is inside each tier's circle, written as report files.

Both run the one pipeline (:meth:`planner.workspace.workspace.Workspace.from_files` →
``evaluate`` → :func:`planner.report.files.report_files`) and print the per-tier table
with the figures' own names (:mod:`planner.coverage.figures`).
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from planner._errors import ConfigError
from planner.cli._common import (
    add_inputs,
    add_standards,
    common_config,
    coords_of,
    limits_of,
    metavar,
    print_columns,
)
from planner.i18n import join_names, t
from planner.inputs.limits import CLI_LIMITS, Limits
from planner.settings import Config, Tier

logger = logging.getLogger(__name__)


def _add_outputs(p: argparse.ArgumentParser, *, out_default: str | None = None) -> None:
    p.add_argument("--intervals", metavar=metavar("list"), help=t("cli.opt.intervals"))
    p.add_argument(
        "--out", required=out_default is None, default=out_default, metavar=metavar("folder"), help=t("cli.opt.out")
    )
    p.add_argument("--no-isochrones", action="store_true", help=t("cli.opt.no_isochrones"))
    p.add_argument("--station-isochrones", action="store_true", help=t("cli.opt.station_isochrones"))
    p.add_argument("--maps", action="store_true", help=t("cli.opt.maps"))


def add_parser(sub: Any) -> None:
    """Register ``planner coverage`` and ``planner demo``."""
    cov: argparse.ArgumentParser = sub.add_parser("coverage", help=t("cli.help.coverage"))
    add_inputs(cov)
    add_standards(cov)
    _add_outputs(cov)
    cov.set_defaults(func=run)
    demo: argparse.ArgumentParser = sub.add_parser("demo", help=t("cli.help.demo"))
    add_standards(demo)
    _add_outputs(demo, out_default="out/demo")
    number = metavar("number")
    demo.add_argument("--province", type=int, metavar=number, help=t("province.opt.province"))
    for option in ("min_nodes", "max_nodes", "seed"):
        flag = "--" + option.replace("_", "-")
        demo.add_argument(flag, type=int, dest=option, metavar=number, help=t(f"province.opt.{option}"))
    demo.set_defaults(func=run_demo)


def run(args: argparse.Namespace) -> int:
    """Run ``planner coverage``; returns 0 (errors are raised as PlannerError)."""
    cfg, tiers = common_config(args)
    summary = run_coverage(
        network_path=args.network,
        stations_path=args.stations,
        demand_path=args.demand,
        enterprises_path=args.enterprises,
        out_dir=args.out,
        config=cfg,
        tiers=tiers,
        coords=coords_of(args),
        areas_path=args.areas,
        isochrones=not args.no_isochrones,
        station_isochrones=args.station_isochrones,
        maps=args.maps,
        allow_off_network=args.allow_off_network,
        limits=limits_of(args),
    )
    print_summary(summary, out_dir=args.out)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Run ``planner demo``: write the generated demo county's files, then ``coverage`` on them.

    With ``--province N``, write a generated province of N counties instead (:func:`run_demo_province`).
    """
    from planner.demo.county import write_demo

    if args.province is not None:
        return run_demo_province(args)
    given = [f"--{k.replace('_', '-')}" for k in ("min_nodes", "max_nodes", "seed") if getattr(args, k) is not None]
    if given:
        raise ConfigError("province.needs_province", options=join_names(given))

    cfg, tiers = common_config(args)
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
        maps=args.maps,
        label=label,
    )
    print_summary(summary, out_dir=out, label=label)
    return 0


def run_demo_province(args: argparse.Namespace) -> int:
    """``planner demo --province N``: write a generated province in both input forms and say what to run next."""
    from planner.demo.province import generate_province, write_province

    t0 = time.perf_counter()
    sizes = {k: getattr(args, k) for k in ("min_nodes", "max_nodes", "seed") if getattr(args, k) is not None}
    province = generate_province(n_counties=args.province, **sizes)
    out = Path(args.out)
    paths = write_province(out, province=province)
    command = shlex.join(["planner", "batch", "--manifest", str(paths["manifest"]), "--out", str(out / "results")])
    text = t(
        "province.written",
        label=province.label,
        out=str(out),
        seconds=f"{time.perf_counter() - t0:.1f}",
        manifest=str(paths["manifest"]),
        province=str(paths["counties"].parent),
        command=command,
    )
    sys.stdout.write(text + "\n")
    return 0


def run_coverage(
    *,
    network_path: str | Path,
    stations_path: str | Path,
    demand_path: str | Path,
    out_dir: str | Path,
    config: Config,
    tiers: tuple[Tier, ...],
    coords: str | Mapping[str, str] = "wgs84",
    enterprises_path: str | Path | None = None,
    areas_path: str | Path | None = None,
    isochrones: bool = True,
    station_isochrones: bool = False,
    maps: bool = False,
    allow_off_network: bool = False,
    label: str | None = None,
    limits: Limits = CLI_LIMITS,
) -> dict[str, Any]:
    """Load inputs into a workspace, evaluate, and write the report files; return the summary.

    The same pipeline as the app and the notebook: :meth:`planner.workspace.workspace.Workspace.from_files`,
    :meth:`~planner.workspace.workspace.Workspace.evaluate` and :func:`planner.report.files.report_files`.
    ``coords`` is one system for every file or one per file (``{"stations": ..., "demand": ...,
    "enterprises": ...}``). ``maps`` adds the printed maps: ``map_<tier>.png`` for every tier
    evaluated and ``atlas.pdf`` with a page per tier. ``limits`` bound the work each input
    file may cause (:mod:`planner.inputs.limits`; ``--limits`` and ``PLANNER_LIMITS``).
    """
    from planner.network.load import describe_network, summary_text
    from planner.report.files import CLI_FILES, CLI_MAP_FILES, report_files, write_files
    from planner.workspace.workspace import Workspace

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ws, scenario = Workspace.from_files(
        network=network_path,
        stations=stations_path,
        demand=demand_path,
        enterprises=enterprises_path,
        areas=areas_path,
        coords=coords,
        config=config,
        allow_off_network_stations=allow_off_network,
        label=label,
        limits=limits,
    )
    ws.stations_file = str(stations_path)
    print_columns(ws.column_reports)
    timings["read_inputs_s"] = time.perf_counter() - t0
    desc = describe_network(ws.network)
    logger.info("%s", summary_text(desc))
    if desc.get("components", 1) > 1:
        logger.warning("%s", t("cli.disconnected", pieces=desc["components"], count=desc["nodes_outside_largest"]))
    t0 = time.perf_counter()
    result = ws.evaluate(scenario.stations, tiers=tiers)
    timings["coverage_s"] = time.perf_counter() - t0
    extra: dict[str, Any] = {"network_description": desc, "timings": {k: round(v, 3) for k, v in timings.items()}}
    files = report_files(
        ws,
        scenario.stations,
        include=(*CLI_FILES, *(CLI_MAP_FILES if maps else ())),
        result=result,
        tiers=tiers,
        isochrones=isochrones,
        station_isochrones=station_isochrones,
        extra_summary=extra,
    )
    write_files(files, out_dir=out_dir)
    summary: dict[str, Any] = json.loads(files["summary.json"])
    return summary


#: Figures in the CLI's per-tier table (labels and definitions: :mod:`planner.coverage.figures`).
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
    """Print the per-tier coverage table for people (figure names from :mod:`planner.coverage.figures`).

    Under the table: where the demand rows' kinds came from (``summary["demand_kinds"]``)
    and, for every tier without demand points, why (``no_demand_reason``).
    """
    from planner.coverage import figures
    from planner.report.exports import estimate_note

    lines = []
    if label:
        lines.append(label)
    head = [t("cli.col.tier"), t("cli.col.mode"), t("cli.col.standard")]
    lines.append(" | ".join(head + [figures.label(k) for k in CLI_TABLE_FIGURES]))
    notes = []
    for tier_key, s in summary["tiers"].items():
        cells = [t(f"tier.{tier_key}"), t(f"mode.{s['mode']}"), t("cli.standard_value", minutes=f"{s['minutes']:g}")]
        cells += [figures.display(k, s[k]) for k in CLI_TABLE_FIGURES]
        lines.append(" | ".join(cells))
        if s.get("no_demand_reason"):
            notes.append(
                t(
                    "cli.no_demand",
                    tier=t(f"tier.{tier_key}"),
                    reason=figures.no_demand_text(s["no_demand_reason"]),
                    options=t("cli.options_for_demand", tier_key=tier_key),
                )
            )
    if summary.get("demand_kinds"):
        lines.append(str(summary["demand_kinds"]))
    lines += notes
    note = estimate_note(summary)
    if note:
        lines.append(note)
    from planner.report.files import CLI_FILES, CLI_MAP_FILES

    written = [name for name in (*CLI_FILES, *CLI_MAP_FILES) if (Path(out_dir) / name).is_file()]
    lines.append(t("cli.outputs", out=str(out_dir), files=join_names(written)))
    sys.stdout.write("\n".join(lines) + "\n")
