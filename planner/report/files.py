"""Every output file of a scenario, built once: the CLI writes them, the app offers them, the notebook saves them.

:func:`report_files` turns a workspace and a scenario's stations into named files
(``bytes``); :func:`write_files` writes a set of them into a folder atomically. The
CLI's ``--out`` folder, the app's download buttons and the notebook's exports are the
same bytes for the same inputs and settings.

Files (:data:`FILES`):

- ``summary.json`` — per tier the figures of :mod:`planner.coverage.figures` and the parameters,
  and per tier the county's equity figures (``equity``: travel time and accessibility);
- ``demand.csv`` — one row per demand point and tier (UTF-8 with BOM; like every CSV and
  the workbook, text that would start a spreadsheet formula is written with a leading ``'``,
  :func:`planner._text.csv_bytes`, while ``summary.json`` and the GeoPackages keep it as it is);
- ``areas.csv`` — per township and tier, the same figures (they add up to the tier);
- ``gaps.csv`` — demand outside the circle, largest population first;
- ``stations.csv`` — stations with snap distance and load;
- ``report.xlsx`` — the workbook (:func:`planner.report.exports.excel_workbook`);
- ``coverage.gpkg`` — every layer (:func:`planner.report.exports.geopackage_bytes`);
- ``proposals.csv`` — proposed sites (when there are proposals);
- ``map.html`` — the web map;
- ``map.png`` / ``map.pdf`` — the printed map of one tier (``map_tier``);
- ``atlas.pdf`` — the printed maps of every tier evaluated, a page each;
- ``map_<tier>.png`` — one printed map per tier (``map_county.png`` …);
- ``project.gpkg`` — the scenarios as a project file.

The printed maps show the scenario's edits (``changes``: stations added, moved and
closed since its baseline). :func:`download_name` names a file for a download: scenario,
kind and date (``现状_覆盖统计_2026-12-04.xlsx``).
"""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner._atomic import atomic_output_dir, output_error, scratch_dir
from planner._text import csv_bytes
from planner.coverage.analyse import CoverageResult
from planner.i18n import printable, t
from planner.settings import TIERS, Tier, parse_tier

if TYPE_CHECKING:
    import geopandas as gpd

    from planner.coverage.access import Method
    from planner.workspace.scenario import Scenario
    from planner.workspace.workspace import Workspace

logger = logging.getLogger(__name__)

__all__ = [
    "CLI_FILES",
    "CLI_MAP_FILES",
    "FILES",
    "FILE_KINDS",
    "TIER_MAP_FILES",
    "download_name",
    "report_files",
    "summary_json",
    "write_files",
]

#: One printed map per tier, named after the tier's key.
TIER_MAP_FILES: Mapping[Tier, str] = {tier: f"map_{tier}.png" for tier in TIERS}

#: Every file :func:`report_files` can make, in the order the app offers them.
FILES: tuple[str, ...] = (
    "report.xlsx",
    "demand.csv",
    "coverage.gpkg",
    "map.html",
    "map.png",
    "map.pdf",
    "atlas.pdf",
    "project.gpkg",
    "summary.json",
    "areas.csv",
    "gaps.csv",
    "stations.csv",
    "proposals.csv",
    *TIER_MAP_FILES.values(),
)
#: What ``planner coverage`` writes into ``--out`` (the maps only on request: :data:`CLI_MAP_FILES`).
CLI_FILES: tuple[str, ...] = (
    "summary.json",
    "demand.csv",
    "areas.csv",
    "gaps.csv",
    "stations.csv",
    "coverage.gpkg",
    "report.xlsx",
)

#: What ``planner coverage --maps`` adds: a printed map per tier evaluated, and all of them in one PDF.
CLI_MAP_FILES: tuple[str, ...] = (*TIER_MAP_FILES.values(), "atlas.pdf")

#: The kind of each file in a download's name (i18n ``exports.kind.<kind>``); the
#: printed map of one tier is ``map_<tier>``.
FILE_KINDS: Mapping[str, str] = {
    "report.xlsx": "report",
    "demand.csv": "demand",
    "coverage.gpkg": "coverage",
    "map.html": "web_map",
    "atlas.pdf": "atlas",
    "project.gpkg": "project",
    "summary.json": "summary",
    "areas.csv": "areas",
    "gaps.csv": "gaps",
    "stations.csv": "stations",
    "proposals.csv": "proposals",
    **{name: f"map_{tier}" for tier, name in TIER_MAP_FILES.items()},
}
#: Characters no file system takes in a name (Windows' set; ``/`` everywhere).
_UNSAFE_CHARS = re.compile(r'[/\\:*?"<>|]')
#: Longest scenario name kept in a download's name (characters).
SCENARIO_NAME_MAX_CHARS = 60


def _safe_name(text: str) -> str:
    """``text`` fit for a file name: no reserved or control / format characters, spaces collapsed, no leading dots."""
    spaced = "".join(" " if ch.isspace() else ch for ch in text)  # tabs and line breaks become spaces
    kept = "".join(ch for ch in spaced if not unicodedata.category(ch).startswith("C"))
    kept = _UNSAFE_CHARS.sub("", kept)
    return re.sub(r" +", " ", kept).strip(" .")


def download_name(
    *, file: str, scenario: str, on: date, tier: Tier | str | None = None, lang: str | None = None
) -> str:
    """The name a download of ``file`` is saved under: scenario, kind and date.

    ``现状_覆盖统计_2026-12-04.xlsx``, ``现状_村（社区）地图_2026-12-04.png``.

    Parameters
    ----------
    file
        A name of :data:`FILES`.
    scenario
        The scenario's name (user text: characters that file systems refuse, control
        and bidirectional-format characters are dropped; cut to
        :data:`SCENARIO_NAME_MAX_CHARS`; left out when nothing remains).
    on
        The date in the name (ISO, ``YYYY-MM-DD``).
    tier
        The tier shown by ``map.png`` / ``map.pdf`` (required for them).
    lang
        Language of the kind (default the active one).

    Returns
    -------
    str
        The file name.
    """
    if file in ("map.png", "map.pdf"):
        if tier is None:
            msg = f"{file} shows one tier: pass tier="
            raise ValueError(msg)
        kind = f"map_{parse_tier(tier)}"
    elif file in FILE_KINDS:
        kind = FILE_KINDS[file]
    else:
        msg = f"unknown output file {file!r}; choose from {FILES}"
        raise ValueError(msg)
    ext = file.rsplit(".", 1)[1]
    name = _safe_name(scenario)[:SCENARIO_NAME_MAX_CHARS].rstrip(" .")
    parts = [name, _safe_name(t(f"exports.kind.{kind}", lang=lang)), on.isoformat()]
    return "_".join(p for p in parts if p) + f".{ext}"


def _json_default(o: object) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if math.isnan(float(o)) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, Path):
        return str(o)
    msg = f"not JSON serialisable: {type(o).__name__}"
    raise TypeError(msg)


def _clean_json(o: Any) -> Any:
    if isinstance(o, dict):
        return {printable(str(k)): _clean_json(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean_json(v) for v in o]
    if isinstance(o, float) and (math.isnan(o) or math.isinf(o)):
        return None
    if isinstance(o, str):  # a file name that is not UTF-8 (summary["inputs"]) as \xff, not a UnicodeEncodeError
        return printable(o)
    return o


def summary_json(summary: dict[str, Any]) -> bytes:
    """A summary dict as the bytes of ``summary.json`` (NaN as ``null``, UTF-8, indented)."""
    text = json.dumps(_clean_json(summary), ensure_ascii=False, indent=2, default=_json_default)
    return text.encode("utf-8")


def _station_isochrones(ws: Workspace, stations: pd.DataFrame, result: CoverageResult) -> gpd.GeoDataFrame | None:
    """One polygon per station at its tier's N minutes (EPSG:4326); ``None`` without stations."""
    import geopandas as gpd

    from planner.coverage.isochrones import station_isochrones

    frames = []
    ids_all = stations.reset_index(drop=True)["id"].astype(str).to_numpy()
    for tier, tr in result.tiers.items():
        std = ws.config.standards[tier]
        frames.append(
            station_isochrones(
                ws.network.travel_graph(mode=std.mode, config=ws.config),
                sources=tr.station_snap,
                station_ids=list(ids_all[tr.station_rows]),
                intervals_min=[std.minutes],
                max_access_m=ws.config.max_snap_m,
                buffer_m=ws.config.isochrone_buffer_m,
                tier=str(tier),
            )
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326") if frames else None


def report_files(
    ws: Workspace,
    stations: pd.DataFrame,
    *,
    include: Iterable[str] = FILES,
    result: CoverageResult | None = None,
    proposals: pd.DataFrame | None = None,
    comparison: pd.DataFrame | None = None,
    scenarios: Sequence[Scenario] | None = None,
    tiers: tuple[Tier, ...] | None = None,
    isochrones: bool = True,
    station_isochrones: bool = False,
    title: str = "",
    map_tier: Tier | str = Tier.VILLAGE,
    changes: pd.DataFrame | None = None,
    extra_summary: dict[str, Any] | None = None,
    web_map: Callable[[], Any] | None = None,
    access_method: Method = "2sfca",
) -> dict[str, bytes]:
    """Build the output files of ``stations`` on ``ws`` (see the module docstring).

    Parameters
    ----------
    ws
        The workspace (network, demand, standards, areas).
    stations
        The scenario's stations.
    include
        Names from :data:`FILES` to build.
    result
        ``ws.evaluate(stations, tiers=tiers)`` when the caller already has it.
    proposals, comparison
        Proposed sites and a before/after comparison for the workbook, GeoPackage and maps.
    scenarios
        Scenarios saved in ``project.gpkg`` (default: none, and no project file).
    tiers
        Tiers evaluated (default all four).
    isochrones, station_isochrones
        Service-circle polygons per tier (and per station) in the GeoPackage and maps.
    title
        Label of the maps (after the tier and standard in a printed map's title;
        default the workspace label).
    map_tier
        The tier of ``map.png`` / ``map.pdf``.
    changes
        The scenario's edits (:meth:`planner.workspace.scenario.Scenario.changes`),
        drawn in the printed maps; ``None``: no edits shown.
    extra_summary
        Added to ``summary.json`` (e.g. timings).
    web_map
        Builds the folium map saved as ``map.html`` (the app passes the map as shown);
        default :func:`planner.report.webmap.build_map` with every tier's isochrones.
    access_method
        Accessibility method of the workbook's 可达性 / 公平性 sheets and ``summary.json``'s
        ``equity`` (:func:`planner.workspace.access.access_tables`, each tier's standard
        as catchment).

    Returns
    -------
    dict
        File name → bytes, in the order of ``include``.
    """
    from planner.report import exports

    wanted = list(dict.fromkeys(include))
    unknown = [n for n in wanted if n not in FILES]
    if unknown:
        msg = f"unknown output files {unknown}; choose from {FILES}"
        raise ValueError(msg)
    tiers = tiers or TIERS
    if result is None:
        result = ws.evaluate(stations, tiers=tiers)
    iso = None
    printed = {"map.png", "map.pdf", "atlas.pdf", *TIER_MAP_FILES.values()}
    needs_iso = {"coverage.gpkg", "map.html", *printed} & set(wanted)
    if isochrones and needs_iso:
        import geopandas as gpd

        parts = [ws.isochrones(stations, tier=tier) for tier in tiers]
        iso = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")
    st_iso = _station_isochrones(ws, stations, result) if station_isochrones and "coverage.gpkg" in wanted else None
    label = title or ws.shown_label()
    summary = dict(result.summary)
    access = equity = None
    if {"report.xlsx", "summary.json"} & set(wanted):
        from planner.workspace.access import access_tables, equity_summary

        access, equity = access_tables(ws, stations, result=result, method=access_method)
        summary["equity"] = equity_summary(equity, method=access_method)
    if ws.inputs:
        summary["inputs"] = dict(ws.inputs)
    if ws.label:
        summary["label"] = ws.shown_label()
    summary["demand_kinds"] = ws.demand_description()
    if extra_summary:
        summary.update(extra_summary)
    files: dict[str, bytes] = {}
    for name in wanted:
        if name == "summary.json":
            files[name] = summary_json(summary)
        elif name == "demand.csv":
            files[name] = csv_bytes(exports.demand_table(result))
        elif name == "areas.csv":
            files[name] = csv_bytes(result.areas)
        elif name == "gaps.csv":
            files[name] = csv_bytes(result.gaps)
        elif name == "stations.csv":
            files[name] = csv_bytes(result.stations)
        elif name == "proposals.csv":
            if proposals is not None:
                files[name] = csv_bytes(proposals)
        elif name == "report.xlsx":
            files[name] = exports.excel_workbook(
                result=result, proposals=proposals, comparison=comparison, access=access, equity=equity,
                label=ws.shown_label(),
            )  # fmt: skip
        elif name == "coverage.gpkg":
            files[name] = exports.geopackage_bytes(
                result=result, isochrones=iso, station_isochrones=st_iso, areas=ws.areas, proposals=proposals
            )
        elif name == "map.html":
            from planner.report.webmap import build_map
            from planner.report.webmap_assets import standalone_html

            if web_map is not None:
                m = web_map()
            else:
                by_tier = {} if iso is None else {Tier(str(k)): g for k, g in iso.groupby("tier")}
                view = Tier(str(map_tier))
                m = build_map(result=result, isochrones=by_tier, areas=ws.areas, proposals=proposals, title=label,
                              tiers=[view, *[x for x in TIERS if x != view]], changes=changes)  # fmt: skip
            files[name] = standalone_html(m).encode("utf-8")
        elif name in printed:
            printed_map = _printed_map(ws, result, name=name, isochrones=iso, changes=changes, label=label,
                                       map_tier=map_tier)  # fmt: skip
            if printed_map is not None:
                files[name] = printed_map
        elif name == "project.gpkg" and scenarios:
            from planner.workspace.project import save_project

            with scratch_dir(prefix="planner-project-") as folder:
                files[name] = save_project(folder / name, scenarios=scenarios, workspace=ws).read_bytes()
    logger.info("report files: %s", ", ".join(f"{k} ({len(v)} bytes)" for k, v in files.items()))
    return files


def _printed_map(
    ws: Workspace,
    result: CoverageResult,
    *,
    name: str,
    isochrones: gpd.GeoDataFrame | None,
    changes: pd.DataFrame | None,
    label: str,
    map_tier: Tier | str,
) -> bytes | None:
    """The printed map file ``name``; ``None`` for the map of a tier that was not evaluated."""
    from planner.report import printmap

    common: dict[str, Any] = {"result": result, "isochrones": isochrones, "areas": ws.areas, "network": ws.network,
                              "changes": changes, "label": label}  # fmt: skip
    if name == "atlas.pdf":
        return printmap.render_atlas(**common)
    if name in ("map.png", "map.pdf"):
        return printmap.render_map(tier=map_tier, fmt="png" if name == "map.png" else "pdf", **common)
    tier = next(x for x, n in TIER_MAP_FILES.items() if n == name)
    return printmap.render_map(tier=tier, **common) if tier in result.tiers else None


def write_files(files: dict[str, bytes], *, out_dir: str | Path) -> dict[str, Path]:
    """Write ``files`` into ``out_dir`` atomically (all of them or none).

    Raises
    ------
    OutputError
        The folder cannot be written (names the folder, the reason and the fix); the
        files that were there stay as they were.
    """
    out = Path(out_dir)
    try:
        with atomic_output_dir(out) as tmp:
            for name, data in files.items():
                (tmp / name).write_bytes(data)
    except OSError as exc:  # atomic_output_dir raises OutputError for every failed write or move
        raise output_error(exc, path=out) or exc from None
    logger.info("wrote %s into %s", ", ".join(files), out)
    return {name: out / name for name in files}
