"""Options every subcommand that reads a county shares: the same names, defaults and help everywhere."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from planner._errors import ConfigError
from planner.i18n import t
from planner.inputs.coords import System, file_systems
from planner.inputs.limits import LIMITS_ENV, Limits, cli_limits
from planner.settings import TIERS, Config, Tier, TierDemand, load_config, parse_mode, parse_tier, parse_tier_demand

if TYPE_CHECKING:
    from planner.inputs.columns import ColumnReport
    from planner.workspace.scenario import Scenario
    from planner.workspace.workspace import Workspace

#: Coordinate systems an input file may be in (converted to WGS-84 on reading).
COORDS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")


def metavar(name: str) -> str:
    """The placeholder for an option's value in ``--help`` ("FILE" / "文件"), from ``cli.metavar.<name>``."""
    return t(f"cli.metavar.{name}")


def intervals(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.replace("，", ",").split(",") if x.strip())
    except ValueError:
        raise ConfigError("config.bad_minutes", value=text, where=" (--intervals)") from None
    if not vals or any(v <= 0 for v in vals):
        raise ConfigError("config.bad_minutes", value=text, where=" (--intervals)")
    return vals


def add_coords(p: argparse.ArgumentParser | argparse._ArgumentGroup, *, role: str) -> None:
    """``--ROLE-coords``: the coordinate system of one input file (overrides ``--coords``)."""
    p.add_argument(
        f"--{role}-coords",
        dest=f"{role}_coords",
        choices=list(COORDS),
        help=t("cli.opt.file_coords", file=t(f"cli.role.{role}")),
    )


def coords_of(args: argparse.Namespace) -> dict[str, System]:
    """The system of each input file: ``--coords`` for all, a ``--ROLE-coords`` flag for its file."""
    return file_systems(
        args.coords,
        stations=getattr(args, "stations_coords", None),
        demand=getattr(args, "demand_coords", None),
        enterprises=getattr(args, "enterprises_coords", None),
        candidates=getattr(args, "candidates_coords", None),
    )


def add_limits(p: argparse.ArgumentParser) -> None:
    """``--limits name=value,...``: change the limits on reading input files (:mod:`planner.inputs.limits`)."""
    p.add_argument("--limits", metavar=metavar("list"), help=t("cli.opt.limits", env=LIMITS_ENV))


def limits_of(args: argparse.Namespace) -> Limits:
    """The command line's limits with :data:`~planner.inputs.limits.LIMITS_ENV` and ``--limits`` applied."""
    return cli_limits(getattr(args, "limits", None))


def tier_demand(text: str) -> dict[Tier, TierDemand]:
    """``enterprise=all,village=residents`` → whom each named tier serves (``--tier-demand``)."""
    out: dict[Tier, TierDemand] = {}
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ConfigError("config.unknown_tier_demand", value=part.strip(), where=" (--tier-demand)")
        tier, choice = part.split("=", 1)
        out[parse_tier(tier, where=" (--tier-demand)")] = parse_tier_demand(choice, where=" (--tier-demand)")
    return out


def add_inputs(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """The input files, ``--coords`` and per-file ``--X-coords``, ``--allow-off-network`` (coverage and site)."""
    file = metavar("file")
    p.add_argument("--network", required=required, metavar=file, help=t("cli.opt.network"))
    p.add_argument("--stations", required=required, metavar=file, help=t("cli.opt.stations"))
    p.add_argument("--demand", required=True, metavar=file, help=t("cli.opt.demand"))
    p.add_argument("--enterprises", metavar=file, help=t("cli.opt.enterprises"))
    p.add_argument("--areas", metavar=file, help=t("cli.opt.areas"))
    p.add_argument("--coords", default="wgs84", choices=list(COORDS), help=t("cli.opt.coords"))
    add_coords(p, role="stations")
    add_coords(p, role="demand")
    add_coords(p, role="enterprises")
    p.add_argument("--allow-off-network", action="store_true", help=t("cli.opt.allow_off_network"))
    add_limits(p)


def add_standards(p: argparse.ArgumentParser) -> None:
    """``--tier --mode --minutes --config --max-snap --tier-demand`` (the standards; see :func:`common_config`)."""
    p.add_argument("--tier", metavar=metavar("tier"), help=t("cli.opt.tier"))
    p.add_argument("--mode", metavar=metavar("mode"), help=t("cli.opt.mode"))
    p.add_argument("--minutes", type=float, metavar=metavar("minutes"), help=t("cli.opt.minutes"))
    p.add_argument("--config", metavar=metavar("file"), help=t("cli.opt.config"))
    p.add_argument("--max-snap", type=float, dest="max_snap", metavar=metavar("metres"), help=t("cli.opt.max_snap"))
    p.add_argument("--tier-demand", dest="tier_demand", metavar=metavar("list"), help=t("cli.opt.tier_demand"))


def common_config(args: argparse.Namespace) -> tuple[Config, tuple[Tier, ...]]:
    """Standards from ``--config`` with ``--tier/--mode/--minutes/--intervals/--max-snap/--tier-demand`` applied.

    Returns the configuration and the tiers to run.
    """
    cfg = load_config(args.config)
    tier = parse_tier(args.tier, where=" (--tier)") if args.tier else None
    mode = parse_mode(args.mode) if args.mode else None
    if args.minutes is not None and not args.minutes > 0:
        raise ConfigError("config.bad_minutes", value=args.minutes, where=" (--minutes)")
    ivs = intervals(args.intervals) if getattr(args, "intervals", None) else None
    serves = tier_demand(args.tier_demand) if getattr(args, "tier_demand", None) else None
    cfg = cfg.with_overrides(
        tier=tier, mode=mode, minutes=args.minutes, intervals_min=ivs, max_snap_m=args.max_snap, tier_demand=serves
    )
    return cfg, ((tier,) if tier else TIERS)


def print_columns(reports: Iterable[ColumnReport]) -> None:
    """Print which header was used for what in each file (``coverage``, ``site``).

    Only the plain lines: the likely matches and missing columns are warnings, which
    the reading already logged (shown on the terminal by default), so they are not
    printed twice.
    """
    lines = [r.line(text) for r in reports for level, text in r.lines() if level == "info"]
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")


def workspace_of(args: argparse.Namespace, *, config: Config) -> tuple[Workspace, Scenario]:
    """The workspace and scenario of the input options (``--network --stations --demand`` …).

    The one reading of the files every command that works on the road network shares
    (:meth:`planner.workspace.workspace.Workspace.from_files`); messages name the
    stations file. The caller prints the columns used (:func:`print_columns`) once it has
    read every file.
    """
    from planner.workspace.workspace import Workspace as _Workspace

    ws, scenario = _Workspace.from_files(
        network=args.network,
        stations=args.stations,
        demand=args.demand,
        enterprises=args.enterprises,
        areas=args.areas,
        coords=coords_of(args),
        config=config,
        allow_off_network_stations=args.allow_off_network,
        limits=limits_of(args),
    )
    ws.stations_file = str(args.stations)
    return ws, scenario
