"""``planner access``: accessibility per demand point (2SFCA family, gravity) and its equity, as files.

Two sources of travel times, as ``planner site``:

* the road network (``--network --stations --demand --tier``):
  :meth:`planner.workspace.workspace.Workspace.accessibility` and
  :meth:`~planner.workspace.workspace.Workspace.equity`, the same numbers as the app;
* a long-format cost file (``--cost-matrix --demand --supply``) with ``demand_id,
  site_id, minutes`` rows and a supply file ``site_id, supply``.

Writes ``access.csv`` (``id, value, normalised``, then name, township, population,
reached, minutes), ``equity.csv`` (:data:`planner.coverage.equity.EQUITY_COLUMNS`) and
``summary.json`` (method, parameters, population-weighted mean, Gini and Palma of the
accessibility), atomically.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner._errors import ConfigError
from planner.cli._common import (
    add_inputs,
    add_standards,
    common_config,
    coords_of,
    limits_of,
    metavar,
    print_columns,
    workspace_of,
)
from planner.coverage.access import METHODS, Method, accessibility, parse_steps
from planner.i18n import join_names, t
from planner.settings import parse_tier

logger = logging.getLogger(__name__)

#: Columns of ``access.csv``, in order (``id, value, normalised`` first).
ACCESS_CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "value",
    "normalised",
    "name",
    "township",
    "population",
    "reached",
    "minutes",
)


def add_parser(sub: Any) -> None:
    """Register ``planner access``."""
    p: argparse.ArgumentParser = sub.add_parser("access", help=t("access.help"))
    add_inputs(p, required=False)
    add_standards(p)
    number, file = metavar("number"), metavar("file")
    m = p.add_argument_group(t("access.opt.group_method"))
    m.add_argument("--method", choices=list(METHODS), default="2sfca", help=t("access.opt.method"))
    m.add_argument("--catchment", type=float, metavar=metavar("minutes"), help=t("access.opt.catchment"))
    m.add_argument("--steps", metavar=metavar("list"), help=t("access.opt.steps"))
    m.add_argument("--beta", type=float, default=1.0, metavar=number, help=t("access.opt.beta"))
    m.add_argument(
        "--supply-column", dest="supply_column", metavar=t("access.metavar.column"), help=t("access.opt.supply_column")
    )
    cm = p.add_argument_group(t("access.opt.group_cost_matrix"))
    cm.add_argument("--cost-matrix", dest="cost_matrix", metavar=file, help=t("access.opt.cost_matrix"))
    cm.add_argument("--supply", metavar=file, help=t("access.opt.supply"))
    p.add_argument("--out", required=True, metavar=metavar("folder"), help=t("cli.opt.out"))
    p.set_defaults(func=run)


def _method_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--method --catchment --steps --beta`` checked; ConfigError for a bad value."""
    if args.catchment is not None and not args.catchment > 0:
        raise ConfigError("config.bad_minutes", value=args.catchment, where=" (--catchment)")
    if not math.isfinite(args.beta):
        raise ConfigError("access.bad_beta", value=args.beta)
    steps = None
    if args.steps:
        try:
            steps = parse_steps(args.steps)
        except ValueError:
            raise ConfigError("access.bad_steps", value=args.steps) from None
    method: Method = args.method
    return {"method": method, "steps": steps, "beta": float(args.beta)}


def run(args: argparse.Namespace) -> int:
    """Run ``planner access``; returns 0 (errors are raised as PlannerError)."""
    options = _method_options(args)
    if args.cost_matrix:
        frame, equity, summary = _run_cost_matrix(args, options)
    else:
        frame, equity, summary = _run_network(args, options)
    _write(args.out, frame, equity, summary)
    _print(summary, args.out)
    return 0


def _run_network(
    args: argparse.Namespace, options: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:

    if args.supply:
        raise ConfigError("access.supply_needs_cost_matrix")
    if not (args.network and args.stations and args.tier):
        raise ConfigError("access.need_inputs")
    cfg, _tiers = common_config(args)
    tier = parse_tier(args.tier, where=" (--tier)")
    ws, scenario = workspace_of(args, config=cfg)
    print_columns(ws.column_reports)
    frame = ws.accessibility(
        scenario.stations, tier=tier, catchment_min=args.catchment, supply=args.supply_column, **options
    )
    equity = ws.equity(scenario.stations, tier=tier, access=frame)
    summary = {**frame.attrs["summary"], **_demand_figures(frame)}
    return frame, equity, summary


def _run_cost_matrix(
    args: argparse.Namespace, options: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    from planner.coverage.equity import equity_table
    from planner.inputs.tables import combine_demand, read_cost_matrix, read_demand_files, read_supply
    from planner.network.times import TravelTimes
    from planner.workspace.access import access_summary

    if not args.supply:
        raise ConfigError("access.need_supply_file")
    catchment = args.catchment if args.catchment is not None else args.minutes
    if catchment is None:
        raise ConfigError("access.need_catchment")
    limits = limits_of(args)
    costs = read_cost_matrix(args.cost_matrix, limits=limits)
    parts = read_demand_files(args.demand, enterprises=args.enterprises, coords=coords_of(args), limits=limits)
    for part in parts:
        part.columns.log()
    print_columns(part.columns for part in parts)
    demand = combine_demand(parts)
    supply = read_supply(args.supply, limits=limits)
    times = TravelTimes.from_long(
        costs, demand_ids=demand["id"].astype(str).to_numpy(object), site_ids=supply["id"].to_numpy(object),
        source=str(args.cost_matrix),
    )  # fmt: skip
    res = accessibility(
        times, population=demand["population"].to_numpy(np.float64), supply=supply["supply"].to_numpy(np.float64),
        catchment_min=float(catchment), **options,
    )  # fmt: skip
    nearest = times.nearest_minutes()
    frame = pd.DataFrame(
        {
            "id": demand["id"].to_numpy(),
            "value": res.value,
            "normalised": res.normalised,
            "name": demand["name"].to_numpy(),
            "township": demand["township"].to_numpy(),
            "population": res.population,
            "reached": res.reached,
            "minutes": np.where(np.isfinite(nearest), nearest, np.nan),
        }
    )
    within = float(args.minutes if args.minutes is not None else catchment)
    finite = nearest[np.isfinite(nearest)]
    horizon = max(within, float(finite.max()) if len(finite) else within)
    equity = equity_table(
        nearest, population=res.population, within_min=within, horizon_min=horizon,
        township=demand["township"].to_numpy(object), access=res.value,
    )  # fmt: skip
    summary = {
        "method": res.method,
        "parameters": res.parameters,
        "stations": times.n_sites,
        "cost_matrix": str(args.cost_matrix),
        "within_min": within,
        "horizon_min": horizon,
        **access_summary(frame),
        **_demand_figures(frame),
    }
    return frame, equity, summary


def _demand_figures(frame: pd.DataFrame) -> dict[str, Any]:
    pop = frame["population"].to_numpy(np.float64)
    reached = frame["reached"].to_numpy(bool)
    return {
        "demand": len(frame),
        "population": float(pop.sum()),
        "reached_population": float(pop[reached].sum()),
    }


def _write(out: str, frame: pd.DataFrame, equity: pd.DataFrame, summary: dict[str, Any]) -> None:
    from planner._text import csv_bytes
    from planner.report.files import summary_json, write_files

    table = frame[[c for c in ACCESS_CSV_COLUMNS if c in frame.columns]]
    files = {"access.csv": csv_bytes(table), "equity.csv": csv_bytes(equity), "summary.json": summary_json(summary)}
    write_files(files, out_dir=out)


def _fmt(value: Any, digits: str) -> str:
    return "—" if value is None or (isinstance(value, float) and not math.isfinite(value)) else format(value, digits)


def _print(summary: dict[str, Any], out: str) -> None:
    lines = [
        t(
            "access.result_line",
            method=summary["method"],
            tier=t(f"tier.{summary['tier']}") if summary.get("tier") else "",
            demand=summary["demand"],
            stations=summary["stations"],
            mean=_fmt(summary.get("mean"), ".4g"),
            gini=_fmt(summary.get("gini"), ".3f"),
            palma=_fmt(summary.get("palma"), ".3f"),
        ),
        t("access.outputs", out=str(Path(out)), files=join_names(("access.csv", "equity.csv", "summary.json"))),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
