"""``planner site``: propose new station sites (MCLP / set covering) or review existing ones.

Two sources of travel times:

* the road network (``--network --stations --demand --tier``), with candidate sites
  along the roads every ``--spacing`` metres and/or from ``--candidates``;
* a long-format cost file (``--cost-matrix --demand --candidates --minutes``) with
  ``demand_id, site_id, minutes`` rows, for planners who have times from elsewhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner._atomic import atomic_output_dir
from planner._errors import ConfigError, InputError, SitingError
from planner.i18n import t
from planner.settings import TIERS, Tier, parse_tier

logger = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    """Register ``planner site``."""
    p: argparse.ArgumentParser = sub.add_parser("site", help=t("site.help"))
    src = p.add_argument_group("network")
    src.add_argument("--network", help="road network (.osm/.osm.pbf/.gpkg...)")
    src.add_argument("--stations", help="existing stations (their coverage is kept)")
    src.add_argument("--areas", help="township polygons (for quotas and reports)")
    src.add_argument("--spacing", type=float, default=200.0, help="candidate spacing along roads, metres")
    src.add_argument("--no-road-candidates", action="store_true", help="use only --candidates")
    src.add_argument("--exclude", help="polygons where no site may be proposed (GeoJSON/GeoPackage)")
    cm = p.add_argument_group("cost matrix")
    cm.add_argument("--cost-matrix", dest="cost_matrix", help="CSV with demand_id, site_id, minutes")
    cm.add_argument("--existing", default="", help="comma-separated site ids in the cost file that already exist")
    p.add_argument("--demand", required=True, help="demand points with population")
    p.add_argument("--candidates", help="candidate sites file (id, name, lon, lat[, cost])")
    p.add_argument("--tier", help="tier whose standard applies (county/township/village/enterprise)")
    p.add_argument("--mode", help="override the tier's travel mode")
    p.add_argument("--minutes", type=float, help="N-minute standard (required with --cost-matrix)")
    p.add_argument("--config", help="TOML standards/speeds file")
    p.add_argument("--coords", default="wgs84", choices=["wgs84", "cgcs2000", "gcj02", "bd09"])
    p.add_argument("--max-snap", type=float, dest="max_snap")
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument("--p", dest="p", help="number of new sites, or per tier: village=10,township=2")
    goal.add_argument("--cover", type=float, help="target: percent of population covered (100 = all coverable)")
    goal.add_argument("--budget", type=float, help="total cost limit (candidates need a cost column)")
    goal.add_argument("--redundant", action="store_true", help="rank existing stations of --tier for closure")
    p.add_argument("--min-per-township", type=int, default=None, help="at least this many new sites per township")
    p.add_argument("--max-per-township", type=int, default=None, help="at most this many new sites per township")
    p.add_argument("--solver", choices=["highs", "greedy"], default="highs")
    p.add_argument("--time-limit", type=float, default=60.0, dest="time_limit", help="seconds")
    p.add_argument("--gap", type=float, default=1e-4, help="relative MIP gap at which to stop")
    p.add_argument("--out", required=True, help="output folder")
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


def _quotas(args: argparse.Namespace, groups: np.ndarray | None) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if groups is None or (args.min_per_township is None and args.max_per_township is None):
        return opts
    labels = sorted({str(g) for g in groups if str(g)})
    if args.min_per_township is not None:
        opts["group_min"] = dict.fromkeys(labels, args.min_per_township)
    if args.max_per_township is not None:
        opts["group_max"] = dict.fromkeys(labels, args.max_per_township)
    return opts


def run(args: argparse.Namespace) -> int:
    """Run ``planner site``; returns 0 (errors are raised as PlannerError)."""
    from planner import siting
    from planner.cli import _config

    if args.cost_matrix:
        return _run_cost_matrix(args)
    if not (args.network and args.stations):
        raise ConfigError("site.need_inputs")
    args.intervals = None
    cfg, _tiers = _config(args)
    tier = parse_tier(args.tier, where=" (--tier)") if args.tier else None
    p_map = _parse_p(args.p, tier) if args.p else {}
    run_tiers = tuple(p_map) if p_map else ((tier,) if tier else ())
    if not run_tiers:
        raise ConfigError("site.need_tier")
    from planner.candidates import combine_candidates, network_problem, road_candidates
    from planner.inputs import read_areas, read_demand, read_stations
    from planner.osm import load_network

    net = load_network(args.network)
    stations = read_stations(args.stations, coords=args.coords)
    demand = read_demand(args.demand, coords=args.coords)
    areas = read_areas(args.areas) if args.areas else None
    exclude = read_areas(args.exclude) if args.exclude else None
    user = _read_candidates(args.candidates, coords=args.coords) if args.candidates else None
    proposals, summaries = [], {}
    for tr in run_tiers:
        std = cfg.standards[tr]
        graph = net.travel_graph(mode=std.mode, config=cfg)
        road = (
            None
            if args.no_road_candidates or args.redundant
            else road_candidates(graph, spacing_m=args.spacing, prefix=f"{str(tr)[0].upper()}R")
        )
        cands = combine_candidates(user, road, exclude=exclude) if not args.redundant else pd.DataFrame()
        np_ = network_problem(
            net, stations=stations, demand=demand, candidates=cands, tier=tr, config=cfg, areas=areas,
            review_existing=args.redundant,
        )  # fmt: skip
        opts = dict(solver=args.solver, time_limit_s=args.time_limit, mip_rel_gap=args.gap)
        opts.update(_quotas(args, np_.problem.candidate_group))
        if args.redundant:
            table = siting.removal_ranking(np_.problem)
            summaries[str(tr)] = {"model": "redundancy", "stations": len(table), "minutes": np_.minutes}
            table.insert(0, "tier", str(tr))
            proposals.append(table)
            continue
        result = _solve(siting, np_.problem, args, p_map.get(tr), opts)
        proposals.append(_proposal_frame(result, np_.candidates, tr))
        summaries[str(tr)] = {
            **result.summary(),
            "tier": str(tr),
            "mode": str(std.mode),
            "minutes": std.minutes,
            "candidates": len(np_.candidates),
            "coverage_sets_seconds": round(np_.build_seconds, 3),
            "uncoverable_ids": [str(x) for x in result.uncoverable_ids[:50]],
        }
    _write(args.out, proposals, summaries, redundant=args.redundant)
    _print(summaries, args.out, redundant=args.redundant)
    return 0


def _solve(siting: Any, problem: Any, args: argparse.Namespace, p: int | None, opts: dict[str, Any]) -> Any:
    if args.cover is not None:
        if not 0 < args.cover <= 100:
            raise SitingError("siting.error.bad_option", name="--cover", value=args.cover)
        target = None if args.cover >= 100 else args.cover / 100.0
        return siting.set_covering(problem, target_share=target, **opts)
    if args.budget is not None:
        return siting.maximal_covering(problem, p=None, budget=args.budget, **opts)
    return siting.maximal_covering(problem, p=p, **opts)


def _proposal_frame(result: Any, cands: pd.DataFrame, tier: Tier | str) -> pd.DataFrame:
    df = result.to_frame().rename(columns={"newly_covered": "newly_covered_population"})
    info = cands.set_index(cands["id"].astype(str))
    ids = df["site_id"].astype(str)
    df["lon"] = info.loc[ids, "lon"].to_numpy(float) if len(df) else []
    df["lat"] = info.loc[ids, "lat"].to_numpy(float) if len(df) else []
    df["name"] = info.loc[ids, "name"].astype(str).to_numpy() if len(df) and "name" in info else ids
    df["tier"] = str(tier)
    return df[["rank", "site_id", "name", "lon", "lat", "tier", "newly_covered_population", "cost"]]


def _read_candidates(path: str, *, coords: str) -> pd.DataFrame:
    from planner.inputs import read_candidates

    return read_candidates(path, coords=coords)  # type: ignore[arg-type]


def _run_cost_matrix(args: argparse.Namespace) -> int:
    from planner import siting
    from planner.inputs import read_cost_matrix, read_demand

    if args.minutes is None or not args.candidates:
        raise ConfigError("site.need_cost_inputs")
    if args.redundant:
        raise ConfigError("site.redundant_needs_network")
    costs = read_cost_matrix(args.cost_matrix)
    demand = read_demand(args.demand, coords=args.coords)
    cands = _read_candidates(args.candidates, coords=args.coords)
    existing = [s.strip() for s in args.existing.replace("，", ",").split(",") if s.strip()]
    problem = siting.CoverageProblem.from_cost_matrix(
        costs, demand=demand, candidates=cands, minutes=args.minutes, existing_site_ids=existing,
        source=str(args.cost_matrix),
    )  # fmt: skip
    opts = dict(solver=args.solver, time_limit_s=args.time_limit, mip_rel_gap=args.gap)
    opts.update(_quotas(args, problem.candidate_group))
    p = None
    if args.p:
        p_map = _parse_p(args.p, Tier.VILLAGE if not args.tier else parse_tier(args.tier))
        p = next(iter(p_map.values()))
    result = _solve(siting, problem, args, p, opts)
    tier = str(parse_tier(args.tier)) if args.tier else ""
    props = _proposal_frame(result, cands, tier)
    summ = {"cost_matrix": {**result.summary(), "minutes": args.minutes,
                            "uncoverable_ids": [str(x) for x in result.uncoverable_ids[:50]]}}  # fmt: skip
    _write(args.out, [props], summ, redundant=False)
    _print(summ, args.out, redundant=False)
    return 0


def _write(out: str, frames: list[pd.DataFrame], summaries: dict[str, Any], *, redundant: bool) -> None:
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    name = "redundancy.csv" if redundant else "proposals.csv"
    try:
        with atomic_output_dir(out) as tmp:
            table.to_csv(tmp / name, index=False, encoding="utf-8-sig")
            body = (
                summaries if len(summaries) > 1 or redundant else {**next(iter(summaries.values())), "tiers": summaries}
            )
            (tmp / "summary.json").write_text(json.dumps(_clean(body), ensure_ascii=False, indent=2), encoding="utf-8")
    except OSError as exc:
        raise InputError("cli.cannot_write", path=str(out), reason=exc.strerror or str(exc)) from None


def _clean(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def _print(summaries: dict[str, Any], out: str, *, redundant: bool) -> None:
    lines = []
    for key, s in summaries.items():
        if redundant:
            lines.append(t("site.redundant_line", tier=t(f"tier.{key}") if key in map(str, TIERS) else key,
                           n=s["stations"]))  # fmt: skip
            continue
        gap = s.get("gap")
        lines.append(
            t(
                "site.result_line",
                tier=t(f"tier.{key}") if key in map(str, TIERS) else key,
                n=s["n_sites"],
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
