"""``planner site``: propose new station sites (MCLP / set covering / p-median) or review existing ones.

Two sources of travel times:

* the road network (``--network --stations --demand --tier``), with candidate sites
  along the roads every ``--spacing`` metres and/or from ``--candidates``;
* a long-format cost file (``--cost-matrix --demand --candidates --minutes``) with
  ``demand_id, site_id, minutes`` rows, for planners who have times from elsewhere.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from planner._errors import ConfigError, InputError, SitingError
from planner.cli._common import (
    add_coords,
    add_inputs,
    add_standards,
    common_config,
    coords_of,
    limits_of,
    metavar,
    print_columns,
)
from planner.i18n import join_names, t
from planner.inputs.columns import ColumnReport
from planner.inputs.limits import Limits
from planner.inputs.tables import read_table
from planner.settings import TIERS, Tier, parse_tier
from planner.siting.models import DEFAULT_MIP_REL_GAP, DEFAULT_TIME_LIMIT_S
from planner.workspace.propose import CANDIDATE_SPACING_M, MODELS

logger = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    """Register ``planner site``."""
    p: argparse.ArgumentParser = sub.add_parser("site", help=t("site.help"))
    add_inputs(p, required=False)
    add_standards(p)
    file, number = metavar("file"), metavar("number")
    src = p.add_argument_group(t("site.opt.group_candidates"))
    src.add_argument(
        "--spacing", type=float, default=CANDIDATE_SPACING_M, metavar=metavar("metres"), help=t("site.opt.spacing")
    )
    src.add_argument("--no-road-candidates", action="store_true", help=t("site.opt.no_road_candidates"))
    src.add_argument("--no-demand-candidates", action="store_true", help=t("site.opt.no_demand_candidates"))
    src.add_argument("--candidates", metavar=file, help=t("site.opt.candidates"))
    add_coords(src, role="candidates")
    src.add_argument("--exclude", metavar=file, help=t("site.opt.exclude"))
    cm = p.add_argument_group(t("site.opt.group_cost_matrix"))
    cm.add_argument("--cost-matrix", dest="cost_matrix", metavar=file, help=t("site.opt.cost_matrix"))
    cm.add_argument("--existing", default="", metavar=metavar("list"), help=t("site.opt.existing"))
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument("--p", dest="p", metavar=number, help=t("site.opt.p"))
    goal.add_argument("--cover", type=float, metavar=number, help=t("site.opt.cover"))
    goal.add_argument("--budget", type=float, metavar=number, help=t("site.opt.budget"))
    goal.add_argument("--redundant", action="store_true", help=t("site.opt.redundant"))
    p.add_argument("--model", choices=list(MODELS), default="mclp", help=t("site.opt.model"))
    p.add_argument("--unreachable", choices=["error", "cutoff"], default="error", help=t("site.opt.unreachable"))
    p.add_argument("--min-per-township", type=int, default=None, metavar=number, help=t("site.opt.min_per_township"))
    p.add_argument("--max-per-township", type=int, default=None, metavar=number, help=t("site.opt.max_per_township"))
    p.add_argument("--solver", choices=["highs", "greedy"], default="highs", help=t("site.opt.solver"))
    p.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT_S,
        dest="time_limit",
        metavar=metavar("seconds"),
        help=t("site.opt.time_limit"),
    )
    p.add_argument("--gap", type=float, default=DEFAULT_MIP_REL_GAP, metavar=number, help=t("site.opt.gap"))
    p.add_argument("--out", required=True, metavar=metavar("folder"), help=t("cli.opt.out"))
    p.set_defaults(func=run)


def _parse_p(text: str, tier: Tier | None) -> dict[Tier, int]:
    out: dict[Tier, int] = {}
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        if "=" in part:
            k, v = part.split("=", 1)
            key = parse_tier(k, where=" (--p)")
        else:
            if tier is None:
                raise ConfigError("site.need_tier")
            key, v = tier, part
        try:
            n = int(v)
        except ValueError:
            raise SitingError("siting.error.bad_p", p=v) from None
        out[key] = n
    if not out:
        raise SitingError("siting.error.bad_p", p=text)
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``planner site``; returns 0 (errors are raised as PlannerError).

    On a road network this is :meth:`planner.workspace.workspace.Workspace.propose` per tier: the
    same candidates (roads every ``--spacing`` m, the tier's demand locations, the
    ``--candidates`` file), the same off-network policy and the same solver defaults
    as the app.
    """
    from planner.inputs.tables import read_areas
    from planner.workspace.propose import CandidateOptions
    from planner.workspace.workspace import Workspace

    if args.cost_matrix:
        return _run_cost_matrix(args)
    if not (args.network and args.stations):
        raise ConfigError("site.need_inputs")
    cfg, _tiers = common_config(args)
    tier = parse_tier(args.tier, where=" (--tier)") if args.tier else None
    p_map = _parse_p(args.p, tier) if args.p else {}
    run_tiers = tuple(p_map) if p_map else ((tier,) if tier else ())
    if not run_tiers:
        raise ConfigError("site.need_tier")
    ws, scenario = Workspace.from_files(
        network=args.network,
        stations=args.stations,
        demand=args.demand,
        enterprises=args.enterprises,
        areas=args.areas,
        coords=coords_of(args),
        config=cfg,
        allow_off_network_stations=args.allow_off_network,
        limits=limits_of(args),
    )
    ws.stations_file = str(args.stations)
    extra = ws.read_candidates(args.candidates) if args.candidates else None
    print_columns(ws.column_reports)
    options = CandidateOptions(
        road=not args.no_road_candidates,
        demand=not args.no_demand_candidates,
        spacing_m=args.spacing,
        extra=extra,
        exclude=read_areas(args.exclude, limits=ws.limits) if args.exclude else None,
    )
    proposals, summaries = [], {}
    for tr in run_tiers:
        try:
            prop = ws.propose(
                scenario.stations,
                tier=tr,
                k=p_map.get(tr) if args.p else None,
                target_percent=args.cover,
                budget=args.budget,
                review_existing=args.redundant,
                min_per_township=args.min_per_township,
                max_per_township=args.max_per_township,
                candidates=options,
                solver=args.solver,
                time_limit_s=args.time_limit,
                mip_rel_gap=args.gap,
                model=args.model,
                unreachable=args.unreachable,
            )
        except InputError as exc:  # a tier with no demand: add the options that fix it on the command line
            if exc.key != "scenario.error.propose_no_demand":
                raise
            fix = t("cli.options_for_demand", tier_key=str(tr))
            raise InputError(exc.key, **{**exc.params, "options": fix}) from None
        proposals.append(prop.sites)
        summaries[str(tr)] = prop.summary
    _write(args.out, proposals, summaries, redundant=args.redundant)
    _print(summaries, args.out, redundant=args.redundant)
    return 0


def _run_cost_matrix(args: argparse.Namespace) -> int:
    from planner.inputs.tables import combine_demand, read_cost_matrix, read_demand_files
    from planner.siting.problem import CoverageProblem
    from planner.workspace.propose import sites_frame, solve

    if (args.minutes is None and args.model != "pmedian") or not args.candidates:
        raise ConfigError("site.need_cost_inputs")
    if args.redundant:
        raise ConfigError("site.redundant_needs_network")
    limits = limits_of(args)
    costs = read_cost_matrix(args.cost_matrix, limits=limits)
    systems = coords_of(args)
    parts = read_demand_files(args.demand, enterprises=args.enterprises, coords=systems, limits=limits)
    for part in parts:
        part.columns.log()
    demand = combine_demand(parts)
    cands, cands_columns = _read_logged(args.candidates, kind="candidates", coords=systems["candidates"], limits=limits)
    print_columns((*(part.columns for part in parts), cands_columns))
    existing = [s.strip() for s in args.existing.replace("，", ",").split(",") if s.strip()]
    if args.model == "pmedian":
        return _run_cost_matrix_pmedian(args, costs=costs, demand=demand, cands=cands, existing=existing)
    problem = CoverageProblem.from_cost_matrix(
        costs, demand=demand, candidates=cands, minutes=args.minutes, existing_site_ids=existing,
        source=str(args.cost_matrix), demand_source=join_names(p for p in (args.demand, args.enterprises) if p),
        candidates_source=str(args.candidates),
    )  # fmt: skip
    k = None
    if args.p:
        p_map = _parse_p(args.p, Tier.VILLAGE if not args.tier else parse_tier(args.tier))
        k = next(iter(p_map.values()))
    result = solve(
        problem, k=k, target_percent=args.cover, budget=args.budget, min_per_township=args.min_per_township,
        max_per_township=args.max_per_township, solver=args.solver, time_limit_s=args.time_limit,
        mip_rel_gap=args.gap,
    )  # fmt: skip
    tier = str(parse_tier(args.tier)) if args.tier else ""
    props = sites_frame(cands.assign(source="file"), result, tier=tier)
    summ: dict[str, Any] = {"cost_matrix": {"minutes": args.minutes}}
    if result is not None:
        summ["cost_matrix"].update(
            {**result.summary(), "uncoverable_ids": [str(x) for x in result.uncoverable_ids[:50]]}
        )
    _write(args.out, [props], summ, redundant=False)
    _print(summ, args.out, redundant=False)
    return 0


def _run_cost_matrix_pmedian(
    args: argparse.Namespace, *, costs: pd.DataFrame, demand: pd.DataFrame, cands: pd.DataFrame, existing: list[str]
) -> int:
    """p-median on a long cost file: ``--existing`` sites stay open, ``--minutes`` (optional) is the cutoff."""
    import numpy as np

    from planner.network.times import TravelTimes
    from planner.siting.location import TimeProblem
    from planner.siting.median import p_median
    from planner.workspace.propose import location_sites_frame

    if not args.p:
        raise SitingError("siting.error.pmedian_needs_p")
    cutoff = float(args.minutes) if args.minutes is not None else np.inf
    cand_ids = cands["id"].astype(str).to_numpy(object)
    times = TravelTimes.from_long(
        costs, demand_ids=demand["id"].astype(str).to_numpy(object), site_ids=cand_ids, cutoff_min=cutoff,
        source=str(args.cost_matrix),
    )  # fmt: skip
    weights = (
        pd.to_numeric(demand["population"], errors="coerce").to_numpy(float)
        if "population" in demand
        else np.ones(len(demand))
    )
    is_existing = pd.Index(cand_ids).isin([str(x) for x in existing])
    problem = TimeProblem.split_existing(times, weights=weights, existing=np.asarray(is_existing))
    k = next(iter(_parse_p(args.p, Tier.VILLAGE if not args.tier else parse_tier(args.tier)).values()))
    result = p_median(
        problem, p=k, solver=args.solver, time_limit_s=args.time_limit, mip_rel_gap=args.gap,
        unreachable=args.unreachable,
    )  # fmt: skip
    tier = str(parse_tier(args.tier)) if args.tier else ""
    props = location_sites_frame(cands[~is_existing].assign(source="file"), result, tier=tier)
    summ: dict[str, Any] = {
        "cost_matrix": {
            "minutes": args.minutes,
            **result.summary(),
            "unreachable_ids": [str(x) for x in result.unreachable_ids[:50]],
        }
    }
    _write(args.out, [props], summ, redundant=False)
    _print(summ, args.out, redundant=False)
    return 0


def _read_logged(path: str, *, kind: str, coords: str, limits: Limits) -> tuple[pd.DataFrame, ColumnReport]:
    """Read a file with its column report, logged as the workspace logs its own files'."""
    read = read_table(path, kind=kind, coords=coords, limits=limits)  # type: ignore[arg-type]
    read.columns.log()
    return read.frame, read.columns


def _write(out: str, frames: list[pd.DataFrame], summaries: dict[str, Any], *, redundant: bool) -> None:
    from planner._text import csv_bytes
    from planner.report.files import summary_json, write_files

    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    name = "redundancy.csv" if redundant else "proposals.csv"
    body = summaries if len(summaries) > 1 or redundant else {**next(iter(summaries.values())), "tiers": summaries}
    write_files({name: csv_bytes(table), "summary.json": summary_json(body)}, out_dir=out)


def _print(summaries: dict[str, Any], out: str, *, redundant: bool) -> None:
    lines = []
    for key, s in summaries.items():
        if redundant:
            lines.append(t("site.redundant_line", tier=t(f"tier.{key}") if key in map(str, TIERS) else key,
                           count=s["stations"]))  # fmt: skip
            continue
        gap = s.get("gap")
        if s.get("model") == "pmedian":
            lines.append(
                t(
                    "site.pmedian_line",
                    tier=t(f"tier.{key}") if key in map(str, TIERS) else key,
                    count=s["n_sites"],
                    mean="-" if s["mean_minutes"] is None else f"{s['mean_minutes']:.2f}",
                    before="-" if s["mean_minutes_before"] is None else f"{s['mean_minutes_before']:.2f}",
                    total=f"{s['objective']:,.0f}",
                    gap="-" if gap is None else f"{100 * gap:.2f}",
                    solver=s["solver"],
                    seconds=f"{s['seconds']:.2f}",
                )
            )
            continue
        lines.append(
            t(
                "site.result_line",
                tier=t(f"tier.{key}") if key in map(str, TIERS) else key,
                count=s["n_sites"],
                new=f"{s['newly_covered']:,.0f}",
                total=f"{s['objective']:,.0f}",
                share=f"{100 * s['covered_share']:.1f}",
                gap="-" if gap is None else f"{100 * gap:.2f}",
                solver=s["solver"],
                seconds=f"{s['seconds']:.2f}",
            )
        )
    lines.append(t("site.outputs", out=str(Path(out))))
    sys.stdout.write("\n".join(lines) + "\n")
