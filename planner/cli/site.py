"""``planner site``: propose new station sites (the models of one table) or review existing ones.

Two sources of travel times:

* the road network (``--network --stations --demand --tier``), with candidate sites
  along the roads every ``--spacing`` metres and/or from ``--candidates``;
* a long-format cost file (``--cost-matrix --demand --candidates --minutes``) with
  ``demand_id, site_id, minutes`` rows, for planners who have times from elsewhere
  (every model; capacities and the review of existing stations need the network).

Either way the model is the ``--model`` entry of the one table
(:data:`planner.workspace.siting_models.MODELS`), checked against the options before any
file is read.
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
    workspace_of,
)
from planner.i18n import join_names, t
from planner.inputs.columns import ColumnReport
from planner.inputs.limits import Limits
from planner.inputs.tables import read_table
from planner.settings import TIERS, Tier, parse_tier
from planner.siting.models import DEFAULT_MIP_REL_GAP, DEFAULT_TIME_LIMIT_S
from planner.workspace.propose import CANDIDATE_SPACING_M
from planner.workspace.siting_models import MODELS, Request, SitingModel, check_request

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
    p.add_argument(
        "--unreachable", choices=["error", "cutoff", "drop"], default="error", help=t("site.opt.unreachable")
    )
    p.add_argument("--weighted", action="store_true", help=t("site.opt.weighted"))
    p.add_argument(
        "--backup-require-cover", dest="require_cover", action="store_true", help=t("site.opt.backup_require_cover")
    )
    p.add_argument("--capacity", action="store_true", help=t("site.opt.capacity"))
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


def _request(args: argparse.Namespace, *, k: int | None) -> Request:
    """The options of ``args`` as the :class:`~planner.workspace.siting_models.Request` every surface fills."""
    return Request(
        k=k, target_percent=args.cover, budget=args.budget, review_existing=args.redundant,
        min_per_township=args.min_per_township, max_per_township=args.max_per_township, solver=args.solver,
        time_limit_s=args.time_limit, mip_rel_gap=args.gap, unreachable=args.unreachable, weighted=args.weighted,
        require_cover=args.require_cover, capacity=args.capacity,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run ``planner site``; returns 0 (errors are raised as PlannerError).

    On a road network this is :meth:`planner.workspace.workspace.Workspace.propose` per tier: the
    same candidates (roads every ``--spacing`` m, the tier's demand locations, the
    ``--candidates`` file), the same off-network policy and the same solver defaults
    as the app.
    """
    from planner.inputs.tables import read_areas
    from planner.workspace.propose import CandidateOptions

    spec = check_request(args.model, _request(args, k=0 if args.p else None))  # before reading any file
    if args.cost_matrix:
        return _run_cost_matrix(args, spec)
    if not (args.network and args.stations):
        raise ConfigError("site.need_inputs")
    cfg, _tiers = common_config(args)
    tier = parse_tier(args.tier, where=" (--tier)") if args.tier else None
    p_map = _parse_p(args.p, tier) if args.p else {}
    run_tiers = tuple(p_map) if p_map else ((tier,) if tier else ())
    if not run_tiers:
        raise ConfigError("site.need_tier")
    ws, scenario = workspace_of(args, config=cfg)
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
                weighted=args.weighted,
                require_cover=args.require_cover,
                capacity=args.capacity,
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


def _run_cost_matrix(args: argparse.Namespace, spec: SitingModel) -> int:
    """Any model of the table on a long cost file: ``--existing`` sites stay open.

    ``--minutes`` is the standard of the coverage models (needed) and the cutoff of the
    travel-time models (optional: without it every listed pair counts).
    """
    import numpy as np

    from planner.inputs.tables import combine_demand, read_cost_matrix, read_demand_files
    from planner.network.times import TravelTimes
    from planner.siting.location import TimeProblem
    from planner.siting.problem import CoverageProblem
    from planner.workspace.propose import proposal_of
    from planner.workspace.siting_models import ModelInputs

    if (args.minutes is None and spec.problem == "coverage") or not args.candidates:
        raise ConfigError("site.need_cost_inputs")
    if args.redundant:
        raise ConfigError("site.redundant_needs_network")
    if args.capacity:
        raise ConfigError("site.capacity_needs_network")
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
    k = (
        next(iter(_parse_p(args.p, Tier.VILLAGE if not args.tier else parse_tier(args.tier)).values()))
        if args.p
        else None
    )
    cand_ids = cands["id"].astype(str).to_numpy(object)
    is_existing = np.asarray(pd.Index(cand_ids).isin(existing))
    cutoff = float(args.minutes) if args.minutes is not None else np.inf
    times = TravelTimes.from_long(
        costs, demand_ids=demand["id"].astype(str).to_numpy(object), site_ids=cand_ids, cutoff_min=cutoff,
        source=str(args.cost_matrix),
    )  # fmt: skip
    if spec.problem == "time":
        weights = (
            pd.to_numeric(demand["population"], errors="coerce").to_numpy(float)
            if "population" in demand
            else np.ones(len(demand))
        )
        inputs = ModelInputs(times=TimeProblem.split_existing(times, weights=weights, existing=is_existing))
    else:
        problem = CoverageProblem.from_cost_matrix(
            costs, demand=demand, candidates=cands, minutes=args.minutes, existing_site_ids=existing,
            source=str(args.cost_matrix), demand_source=join_names(p for p in (args.demand, args.enterprises) if p),
            candidates_source=str(args.candidates),
        )  # fmt: skip
        # existing sites within the standard of each point (backup coverage counts them)
        on_existing = is_existing[times.indices]
        count = np.bincount(times.rows[on_existing], minlength=times.n_demand).astype(np.int64)
        inputs = ModelInputs(coverage=problem, existing_count=count if spec.counts_existing else None)
    result = spec.run(inputs, _request(args, k=k))
    tier = str(parse_tier(args.tier)) if args.tier else ""
    prop = proposal_of(cands[~is_existing].assign(source="file"), result, tier=tier, base={"minutes": args.minutes})
    summ: dict[str, Any] = {"cost_matrix": prop.summary}
    _write(args.out, [prop.sites], summ, redundant=False)
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
        tier = t(f"tier.{key}") if key in map(str, TIERS) else key
        if redundant:
            lines.append(t("site.redundant_line", tier=tier, count=s["stations"]))
            continue
        lines.append(_result_line(tier, s))
    lines.append(t("site.outputs", out=str(Path(out))))
    sys.stdout.write("\n".join(lines) + "\n")


def _result_line(tier: str, s: dict[str, Any]) -> str:
    """One tier's result in words: the line of its model (coverage, travel time, p-center, backup)."""

    def num(x: float | None, fmt: str) -> str:
        return "-" if x is None else format(x, fmt)

    gap = s.get("gap")
    common = {
        "tier": tier,
        "count": s["n_sites"],
        "gap": num(None if gap is None else 100 * gap, ".2f"),
        "solver": s["solver"],
        "seconds": f"{s['seconds']:.2f}",
    }
    model = str(s.get("model", ""))
    if model == "pcenter":
        key = "site.pcenter_weighted_line" if s.get("weighted") else "site.pcenter_line"
        return t(
            key, **common, objective=num(s["objective"], ",.2f"), longest=num(s["max_minutes"], ".2f"),
            mean=num(s["mean_minutes"], ".2f"),
        )  # fmt: skip
    if model.startswith("pmedian"):
        return t(
            "site.pmedian_line", **common, mean=num(s["mean_minutes"], ".2f"),
            before=num(s["mean_minutes_before"], ".2f"), total=num(s["objective"], ",.0f"),
        )  # fmt: skip
    if model == "backup":
        return t(
            "site.backup_line", **common, total=f"{s['objective']:,.0f}", share=f"{100 * s['covered_share']:.1f}",
            new=f"{s['newly_covered']:,.0f}", once=f"{s['covered_once']:,.0f}",
        )  # fmt: skip
    return t(
        "site.result_line", **common, new=f"{s['newly_covered']:,.0f}", total=f"{s['objective']:,.0f}",
        share=f"{100 * s['covered_share']:.1f}",
    )  # fmt: skip
