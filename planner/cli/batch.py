"""``planner batch``: many counties at once, on Dask, from a manifest or from province-wide files.

Two forms of input (:mod:`planner.batch.inputs`)::

    planner batch --manifest counties.csv --out DIR
    planner batch --network roads.osm.pbf --counties counties.gpkg --stations stations.csv --demand demand.csv --out DIR

The counties run on a local Dask cluster (``--workers``, ``--memory-limit``) or on a
running one (``--scheduler tcp://host:8786`` or ``DASK_SCHEDULER_ADDRESS``) through
:func:`planner.batch.run.run_batch`; each county's files go to ``DIR/counties/<code>``,
the province's to ``DIR`` (:func:`planner.batch.province.write_province_outputs`). The
table printed lists every county with its status and coverage per tier, then the
counties that did not finish; the exit status is 2 when there are any.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from planner._errors import ConfigError
from planner.batch.tasks import BatchSettings, CountyInputs, CountyOutcome
from planner.cli._common import COORDS, add_limits, add_standards, common_config, coords_of, limits_of, metavar
from planner.i18n import t
from planner.settings import Tier, parse_tier

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

#: Statuses of a county that did not finish (listed after the table; exit status 2).
UNFINISHED: tuple[str, ...] = ("failed", "memory", "error")
#: Models that take a number of sites per county (``--site-model``; ``lscp`` takes a target instead).
SITE_MODELS: tuple[str, ...] = ("mclp", "pmedian", "pcenter", "backup")
#: The province-wide input options (all needed without ``--manifest``).
PROVINCE_OPTIONS: tuple[str, ...] = ("network", "counties", "stations", "demand")


def add_parser(sub: Any) -> None:
    """Register ``planner batch``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "batch", help=t("batch.cli.help"), description=t("batch.cli.description")
    )
    file, folder = metavar("file"), metavar("folder")
    src = p.add_argument_group(t("batch.cli.group_inputs"))
    src.add_argument("--manifest", metavar=file, help=t("batch.cli.opt.manifest"))
    src.add_argument("--network", metavar=file, help=t("batch.cli.opt.network"))
    src.add_argument("--counties", metavar=file, help=t("batch.cli.opt.counties"))
    src.add_argument("--stations", metavar=file, help=t("batch.cli.opt.stations"))
    src.add_argument("--demand", metavar=file, help=t("batch.cli.opt.demand"))
    src.add_argument("--enterprises", metavar=file, help=t("batch.cli.opt.enterprises"))
    src.add_argument("--strict", action="store_true", help=t("batch.cli.opt.strict"))
    src.add_argument("--coords", default="wgs84", choices=list(COORDS), help=t("cli.opt.coords"))
    add_limits(p)
    p.add_argument("--out", required=True, metavar=folder, help=t("batch.cli.opt.out"))
    add_standards(p)
    p.add_argument("--intervals", metavar=metavar("list"), help=t("cli.opt.intervals"))
    p.add_argument("--no-isochrones", action="store_true", help=t("cli.opt.no_isochrones"))
    p.add_argument("--maps", action="store_true", help=t("cli.opt.maps"))
    p.add_argument("--allow-off-network", action="store_true", help=t("cli.opt.allow_off_network"))
    run = p.add_argument_group(t("batch.cli.group_run"))
    run.add_argument("--workers", type=int, metavar=metavar("number"), help=t("batch.cli.opt.workers"))
    run.add_argument("--scheduler", metavar=t("batch.cli.metavar.address"), help=t("batch.cli.opt.scheduler"))
    run.add_argument(
        "--memory-limit", dest="memory_limit", metavar=t("batch.cli.metavar.size"), help=t("batch.cli.opt.memory_limit")
    )
    run.add_argument("--retries", type=int, default=2, metavar=metavar("number"), help=t("batch.cli.opt.retries"))
    run.add_argument("--quiet", action="store_true", help=t("batch.cli.opt.quiet"))
    run.add_argument(
        "--halo-factor", type=float, default=1.0, metavar=metavar("number"), help=t("batch.cli.opt.halo_factor")
    )
    site = p.add_argument_group(t("batch.cli.group_siting"))
    site.add_argument("--site-tier", metavar=metavar("tier"), help=t("batch.cli.opt.site_tier"))
    site.add_argument("--site-k", type=int, metavar=metavar("number"), help=t("batch.cli.opt.site_k"))
    site.add_argument("--site-total", type=int, metavar=metavar("number"), help=t("batch.cli.opt.site_total"))
    site.add_argument("--site-model", choices=SITE_MODELS, default="mclp", help=t("batch.cli.opt.site_model"))
    site.add_argument(
        "--site-time-limit",
        type=float,
        default=60.0,
        metavar=metavar("seconds"),
        help=t("batch.cli.opt.site_time_limit"),
    )
    p.set_defaults(func=run_cli)


def siting_of(args: argparse.Namespace) -> tuple[Tier | None, int, int | None]:
    """``--site-tier``, the sites a county may get and the province's total (``None``: each county its ``--site-k``).

    Raises
    ------
    ConfigError
        A count without a tier, a tier without a count, or a count below 1.
    """
    k, total = args.site_k, args.site_total
    if args.site_tier is None:
        if k is not None or total is not None:
            raise ConfigError("batch.cli.site_needs_tier")
        return None, 0, None
    tier = parse_tier(args.site_tier, where="--site-tier")
    if k is None and total is None:
        raise ConfigError("batch.cli.site_needs_count")
    for name, value in (("--site-k", k), ("--site-total", total)):
        if value is not None and value < 1:
            raise ConfigError("batch.cli.site_bad_count", option=name, value=value)
    per_county = k if k is not None else int(total or 0)
    if total is not None and k is not None:
        per_county = min(k, total)
    return tier, per_county, total


def counties_of(args: argparse.Namespace) -> list[CountyInputs]:
    """The counties of the command line: the manifest, or the province-wide files split under ``--out``.

    Raises
    ------
    ConfigError
        Both forms given, or neither, or a province-wide option missing.
    """
    from planner.batch.inputs import read_manifest
    from planner.batch.split import split_province

    given = [name for name in PROVINCE_OPTIONS if getattr(args, name)]
    if args.manifest:
        if given or args.enterprises:
            raise ConfigError("batch.cli.both_forms", options=", ".join(f"--{n}" for n in given or ["enterprises"]))
        return read_manifest(args.manifest, limits=limits_of(args))
    missing = [f"--{name}" for name in PROVINCE_OPTIONS if not getattr(args, name)]
    if missing:
        raise ConfigError("batch.cli.no_inputs", missing=", ".join(missing))
    return split_province(
        network=args.network,
        counties=args.counties,
        stations=args.stations,
        demand=args.demand,
        enterprises=args.enterprises,
        out_dir=args.out,
        coords=coords_of(args)["stations"],
        strict=args.strict,
        limits=limits_of(args),
    )


def run_cli(args: argparse.Namespace) -> int:
    """Run ``planner batch``; returns 0, or 2 when a county did not finish (bad inputs raise PlannerError)."""
    from planner.batch.inputs import make_tasks
    from planner.batch.run import run_batch

    config, tiers = common_config(args)
    site_tier, site_k, site_total = siting_of(args)
    if not (args.halo_factor > 0 and args.halo_factor < 100):
        raise ConfigError("batch.cli.bad_halo_factor", value=args.halo_factor)
    settings = BatchSettings(
        config=config,
        tiers=tiers,
        coords=coords_of(args)["stations"],
        isochrones=not args.no_isochrones,
        maps=args.maps,
        allow_off_network=args.allow_off_network,
        halo_factor=args.halo_factor,
        site_tier=site_tier,
        site_k=site_k,
        site_model=args.site_model,
        site_time_limit_s=args.site_time_limit,
    )
    t0 = time.perf_counter()
    counties = counties_of(args)
    tasks = make_tasks(counties, settings=settings, out_dir=args.out)
    outcomes = run_batch(
        tasks,
        settings=settings,
        workers=args.workers,
        scheduler=args.scheduler,
        memory_limit=args.memory_limit,
        retries=args.retries,
        progress=not args.quiet,
    )
    shares = None
    if site_tier is not None:
        from planner.batch.siting import share_out

        shares = share_out(outcomes, total=site_total if site_total is not None else site_k * len(outcomes))
    write_province(
        outcomes=outcomes,
        counties=counties,
        settings=settings,
        out_dir=args.out,
        seconds=time.perf_counter() - t0,
        shares=shares,
    )
    sys.stdout.write(county_table(outcomes, tiers=[str(x) for x in tiers]) + "\n")
    bad = [o for o in outcomes if o.status in UNFINISHED]
    if bad:
        lines = [t("batch.cli.unfinished", count=len(bad))]
        lines += [
            t(
                "batch.cli.unfinished_line",
                code=o.code,
                name=o.name,
                status=t(f"batch.status.{o.status}"),
                message=o.message,
            )
            for o in bad
        ]
        sys.stderr.write("\n".join(lines) + "\n")
        return 2
    return 0


def write_province(
    *,
    outcomes: Sequence[CountyOutcome],
    counties: Sequence[CountyInputs],
    settings: BatchSettings,
    out_dir: str,
    seconds: float,
    shares: pd.DataFrame | None = None,
) -> None:
    """The province's files (:func:`planner.batch.province.write_province_outputs`), with the new sites shared out."""
    from planner.batch.province import write_province_outputs

    files = write_province_outputs(
        outcomes=outcomes,
        counties=counties,
        out_dir=out_dir,
        settings=settings,
        extra={"timings": {"batch_s": round(seconds, 3)}},
        shares=shares,
    )
    logger.info("%s", t("batch.cli.province_files", out=out_dir, files=", ".join(files)))


def county_table(outcomes: Sequence[CountyOutcome], *, tiers: Sequence[str]) -> str:
    """One line per county: code, name, status and the covered share of the population per tier."""
    from planner.coverage import figures

    head = [t("batch.cli.col.code"), t("batch.cli.col.name"), t("batch.cli.col.status")]
    head += [f"{t(f'tier.{tier}')} {figures.label('percent_population')}" for tier in tiers]
    lines = [" | ".join(head)]
    for o in outcomes:
        per_tier = (o.summary or {}).get("tiers", {})
        cells = [o.code, o.name, t(f"batch.status.{o.status}")]
        cells += [
            figures.display("percent_population", per_tier.get(tier, {}).get("percent_population")) for tier in tiers
        ]
        lines.append(" | ".join(cells))
    return "\n".join(lines)
