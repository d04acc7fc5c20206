"""Subcommands ``planner extract`` and ``planner check`` (data onboarding).

``planner extract --osm FILE --out DIR [--admin-level 8]`` writes ``stations.csv``,
``stations.xlsx``, ``demand.csv`` and (when the file holds complete boundaries of that
level) ``areas.geojson`` into ``DIR``, all at once (nothing is replaced when a step
fails).

``planner check FILE... [--network NET] [--kind stations|demand|enterprises] [--coords SYSTEM]``
reads every file with :mod:`planner.inputs.tables` (all in the one ``--coords`` system),
prints what was done with its columns (:mod:`planner.inputs.columns`), runs
:func:`planner.inputs.sanity.check_coordinates` on each file that could be read (the offset
checks on its values as given) and prints every problem with its row number. Exit status 2 when
any error was found, 0 otherwise (warnings are printed). Without ``--kind`` a file
whose name contains ``demand``, ``需求``, ``人口`` or ``pop`` is read as demand points,
anything else as stations; ``--kind enterprises`` reads enterprise files (every row
enterprise workers). For demand files it also prints where their rows' kinds came from.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner._errors import OutputError, PlannerError
from planner.cli._common import COORDS, add_limits, limits_of, metavar
from planner.i18n import join_names, t
from planner.settings import TIERS

if TYPE_CHECKING:
    from planner.inputs.columns import ColumnReport

logger = logging.getLogger(__name__)

_DEMAND_WORDS = ("demand", "需求", "人口", "pop")


def add_parser(subparsers: Any) -> None:
    """Register ``extract`` and ``check`` on the ``planner`` command's subparsers."""
    ex = subparsers.add_parser("extract", help=t("extract.cli.help"))
    file, number = metavar("file"), metavar("number")
    ex.add_argument("--osm", required=True, metavar=file, help=t("extract.opt.osm"))
    ex.add_argument("--out", required=True, metavar=metavar("folder"), help=t("cli.opt.out"))
    ex.add_argument(
        "--admin-level", dest="admin_level", default="8", metavar=metavar("level"), help=t("extract.opt.admin_level")
    )
    ex.add_argument(
        "--persons-per-m2",
        dest="persons_per_m2",
        type=float,
        default=None,
        metavar=number,
        help=t("extract.opt.persons_per_m2"),
    )
    ex.add_argument(
        "--default-levels",
        dest="default_levels",
        type=float,
        default=None,
        metavar=number,
        help=t("extract.opt.default_levels"),
    )
    ex.add_argument("--no-calibrate", action="store_true", help=t("extract.opt.no_calibrate"))
    ex.add_argument("--scale-to-tagged", action="store_true", help=t("extract.opt.scale_to_tagged"))
    ex.add_argument("--no-places", action="store_true", help=t("extract.opt.no_places"))
    ex.set_defaults(func=run_extract)

    ck = subparsers.add_parser("check", help=t("sanity.cli.help"))
    ck.add_argument("files", nargs="+", metavar=file, help=t("sanity.opt.files"))
    ck.add_argument("--network", metavar=file, help=t("sanity.opt.network"))
    ck.add_argument("--kind", choices=["stations", "demand", "enterprises"], help=t("sanity.opt.kind"))
    ck.add_argument("--coords", default="wgs84", choices=list(COORDS), help=t("sanity.opt.coords"))
    add_limits(ck)
    ck.set_defaults(func=run_check)


def run_extract(args: argparse.Namespace) -> int:
    """Run ``planner extract``; return the exit status."""
    from planner._atomic import atomic_output_dir
    from planner.inputs.osm_extract import extract_areas, extract_stations
    from planner.inputs.osm_population import extract_demand
    from planner.inputs.osm_sheets import sheet_population, write_demand_sheet, write_station_sheet

    stations = extract_stations(args.osm, include_places=not args.no_places)
    demand = extract_demand(
        args.osm,
        persons_per_m2=args.persons_per_m2,
        default_levels=args.default_levels,
        calibrate=not args.no_calibrate,
        scale_to_tagged=args.scale_to_tagged,
    )
    areas = extract_areas(args.osm, admin_level=args.admin_level)
    out = Path(args.out)
    try:
        with atomic_output_dir(out) as tmp:
            write_station_sheet(stations, tmp / "stations.csv")
            write_station_sheet(stations, tmp / "stations.xlsx")
            write_demand_sheet(demand, tmp / "demand.csv")
            if len(areas):
                areas.to_file(tmp / "areas.geojson", driver="GeoJSON", engine="pyogrio")
    except OutputError:  # already says where, why and how to fix
        raise
    except OSError as exc:
        raise PlannerError("extract.cannot_write", file=str(out), reason=exc.strerror or str(exc)) from None
    if not len(areas):
        logger.warning("%s", t("extract.cli.no_areas_written", level=args.admin_level))
    missing = [str(k) for k in TIERS if str(k) not in set(stations["tier"])]
    if missing:
        logger.warning("%s", t("extract.cli.tiers_missing", tiers=join_names(t(f"tier.{k}") for k in missing)))
    for line in _estimate_warnings(demand):
        logger.warning("%s", line)
    tiers = join_names(f"{t(f'tier.{k}')} {v}" for k, v in stations["tier"].value_counts().items())
    sys.stdout.write(
        t(
            "extract.cli.done",
            file=args.osm,
            stations=t("count.station", count=len(stations)),
            tiers=tiers or "-",
            demand=t("count.demand_point", count=len(demand)),
            population=f"{int(sheet_population(demand['population']).sum()):,}",  # as written in demand.csv
            estimated=int(demand["estimated"].sum()),
            areas=t("count.area", count=len(areas)),
            out=str(out),
        )
        + "\n"
    )
    return 0


def _estimate_warnings(demand: Any, *, limit: int = 30) -> list[str]:
    """Lines naming the estimates to check.

    Outside their plausible range, typical values standing in for too few buildings (with
    the building estimate), type defaults without buildings, unnamed settlements.
    """
    from planner.inputs.osm_population import PLACE_CATEGORIES, SETTLEMENT
    from planner.inputs.population_source import FLAGGED_SOURCES

    def joined(items: list[str]) -> str:
        return "；".join(items[:limit]) + ("；…" if len(items) > limit else "")

    lines: list[str] = []
    source = demand["population_source"]
    flagged = demand[source.isin(FLAGGED_SOURCES)]
    if len(flagged):
        points = [
            t(
                "population.cli.point",
                name=r["name"],
                population=f"{r['population']:,.0f}",
                category=t(f"population.category.{r['category']}"),
                low=f"{PLACE_CATEGORIES[r['category']].low:,.0f}",
                high=f"{PLACE_CATEGORIES[r['category']].high:,.0f}",
                count=int(r["buildings"]),
            )
            for _, r in flagged.iterrows()
        ]
        lines.append(t("population.cli.implausible", count=len(flagged), points=joined(points)))
    typical = demand[source == "typical_low_buildings"]
    if len(typical):
        points = [
            t(
                "population.cli.typical_point",
                name=r["name"],
                population=f"{r['population']:,.0f}",
                building_population=f"{r['building_population']:,.0f}",
                count=int(r["buildings"]),
                category=t(f"population.category.{r['category']}"),
                low=f"{PLACE_CATEGORIES[r['category']].low:,.0f}",
            )
            for _, r in typical.iterrows()
        ]
        lines.append(t("population.cli.typical_low", count=len(typical), points=joined(points)))
    defaults = demand.loc[source == "estimate_default", "name"].astype(str).tolist()
    if defaults:
        lines.append(t("population.cli.defaults", count=len(defaults), names=joined(defaults)))
    unnamed = demand.loc[demand["category"] == SETTLEMENT, "name"].astype(str).tolist()
    if unnamed:
        lines.append(t("population.cli.unnamed", count=len(unnamed), names=joined(unnamed)))
    return lines


def _kind_of(path: str, kind: str | None) -> str:
    if kind:
        return kind
    name = Path(path).name.lower()
    return "demand" if any(w in name for w in _DEMAND_WORDS) else "stations"


def run_check(args: argparse.Namespace) -> int:
    """Run ``planner check``; return 2 when any file has an error, else 0.

    For every file it prints first what was done with its columns (the header used for
    each, the headers not used, likely matches and missing names or population; see
    :class:`planner.inputs.columns.ColumnReport`), then every problem found.
    """
    from planner.inputs._validate import InputProblemsError
    from planner.inputs.sanity import check_coordinates
    from planner.inputs.tables import read_table

    limits = limits_of(args)
    network = None
    if args.network:
        from planner.network.load import load_network

        network = load_network(args.network, limits=limits)
    lines: list[str] = []
    errors = warnings = 0
    for path in args.files:
        kind = _kind_of(path, args.kind)
        try:
            df, columns, kinds = read_table(path, kind=kind, coords=args.coords, limits=limits)
        except InputProblemsError as exc:
            if exc.columns is not None:
                lines += _column_lines(path, exc.columns)
                warnings += exc.columns.n_warnings
            for p in exc.problems:
                lines.append(_finding(path, "error", p.render(row_kind=exc.row_kind)))
            errors += len(exc.problems)
            continue
        except PlannerError as exc:
            lines.append(_finding(path, "error", str(exc)))
            errors += 1
            continue
        lines += _column_lines(path, columns)
        warnings += columns.n_warnings
        findings = check_coordinates(df, network=network, file=path, coords=args.coords, option="--coords")
        for f in findings:
            lines.append(_finding(path, f.severity, f.message()))
        errors += sum(f.severity == "error" for f in findings)
        warnings += sum(f.severity == "warning" for f in findings)
        if not findings and not columns.n_warnings:
            lines.append(t("sanity.cli.ok", file=path, kind=t(f"sanity.cli.kind.{kind}"), count=len(df)))
        if kinds is not None:
            lines.append(kinds.describe())
    lines.append(
        t(
            "sanity.cli.summary",
            files=t("count.file", count=len(args.files)),
            errors=t("count.error", count=errors),
            warnings=t("count.warning", count=warnings),
        )
    )
    sys.stdout.write("\n".join(lines) + "\n")
    return 2 if errors else 0


def _finding(path: str, severity: str, message: str) -> str:
    return t("sanity.cli.finding", file=path, severity=t(f"sanity.severity.{severity}"), message=message)


def _column_lines(path: str, columns: ColumnReport) -> list[str]:
    """The column report of one file: plain lines for the columns, warning lines for likely matches and gaps."""
    return [
        _finding(path, "warning", text) if level == "warning" else t("inputs.columns.line", file=path, text=text)
        for level, text in columns.lines()
    ]
