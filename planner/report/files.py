"""Every output file of a scenario, built once: the CLI writes them, the app offers them, the notebook saves them.

:func:`report_files` turns a workspace and a scenario's stations into named files
(``bytes``); :func:`write_files` writes a set of them into a folder atomically. The
CLI's ``--out`` folder, the app's download buttons and the notebook's exports are the
same bytes for the same inputs and settings.

Files (:data:`FILES`):

- ``summary.json`` — per tier the figures of :mod:`planner.coverage.figures` and the parameters;
- ``demand.csv`` — one row per demand point and tier (UTF-8 with BOM);
- ``areas.csv`` — per township and tier, the same figures (they add up to the tier);
- ``gaps.csv`` — demand outside the circle, largest population first;
- ``stations.csv`` — stations with snap distance and load;
- ``report.xlsx`` — the workbook (:func:`planner.report.exports.excel_workbook`);
- ``coverage.gpkg`` — every layer (:func:`planner.report.exports.geopackage_bytes`);
- ``proposals.csv`` — proposed sites (when there are proposals);
- ``map.html`` / ``map.png`` / ``map.pdf`` — the web map and the printed map;
- ``project.gpkg`` — the scenarios as a project file.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner._atomic import atomic_output_dir
from planner._errors import InputError
from planner.coverage.analyse import CoverageResult
from planner.settings import TIERS, Tier

if TYPE_CHECKING:
    import geopandas as gpd

    from planner.workspace.scenario import Scenario
    from planner.workspace.workspace import Workspace

logger = logging.getLogger(__name__)

__all__ = ["CLI_FILES", "FILES", "report_files", "summary_json", "write_files"]

#: Every file :func:`report_files` can make, in the order the app offers them.
FILES: tuple[str, ...] = (
    "report.xlsx",
    "demand.csv",
    "coverage.gpkg",
    "map.html",
    "map.png",
    "map.pdf",
    "project.gpkg",
    "summary.json",
    "areas.csv",
    "gaps.csv",
    "stations.csv",
    "proposals.csv",
)
#: What ``planner coverage`` writes into ``--out`` (the maps only on request).
CLI_FILES: tuple[str, ...] = (
    "summary.json",
    "demand.csv",
    "areas.csv",
    "gaps.csv",
    "stations.csv",
    "coverage.gpkg",
    "report.xlsx",
)


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
        return {str(k): _clean_json(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean_json(v) for v in o]
    if isinstance(o, float) and (math.isnan(o) or math.isinf(o)):
        return None
    return o


def summary_json(summary: dict[str, Any]) -> bytes:
    """A summary dict as the bytes of ``summary.json`` (NaN as ``null``, UTF-8, indented)."""
    text = json.dumps(_clean_json(summary), ensure_ascii=False, indent=2, default=_json_default)
    return text.encode("utf-8")


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8-sig")


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
    extra_summary: dict[str, Any] | None = None,
    web_map: Callable[[], Any] | None = None,
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
        Map title and workbook label (default the workspace label).
    map_tier
        Tier whose demand points the printed map colours.
    extra_summary
        Added to ``summary.json`` (e.g. timings).
    web_map
        Builds the folium map saved as ``map.html`` (the app passes the map as shown);
        default :func:`planner.report.webmap.build_map` with every tier's isochrones.

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
    needs_iso = {"coverage.gpkg", "map.html", "map.png", "map.pdf"} & set(wanted)
    if isochrones and needs_iso:
        import geopandas as gpd

        parts = [ws.isochrones(stations, tier=tier) for tier in tiers]
        iso = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")
    st_iso = _station_isochrones(ws, stations, result) if station_isochrones and "coverage.gpkg" in wanted else None
    label = title or ws.label
    summary = dict(result.summary)
    if ws.inputs:
        summary["inputs"] = dict(ws.inputs)
    if ws.label:
        summary["label"] = ws.label
    summary["demand_kinds"] = ws.demand_description()
    if extra_summary:
        summary.update(extra_summary)
    files: dict[str, bytes] = {}
    for name in wanted:
        if name == "summary.json":
            files[name] = summary_json(summary)
        elif name == "demand.csv":
            files[name] = _csv(exports.demand_table(result))
        elif name == "areas.csv":
            files[name] = _csv(result.areas)
        elif name == "gaps.csv":
            files[name] = _csv(result.gaps)
        elif name == "stations.csv":
            files[name] = _csv(result.stations)
        elif name == "proposals.csv":
            if proposals is not None:
                files[name] = _csv(proposals)
        elif name == "report.xlsx":
            files[name] = exports.excel_workbook(
                result=result, proposals=proposals, comparison=comparison, label=ws.label
            )
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
                m = build_map(result=result, isochrones=by_tier, areas=ws.areas, proposals=proposals, title=label)
            files[name] = standalone_html(m).encode("utf-8")
        elif name in ("map.png", "map.pdf"):
            from planner.report import printmap

            files[name] = printmap.render_map(
                result=result,
                isochrones=iso,
                areas=ws.areas,
                network=ws.network,
                title=label,
                fmt="png" if name == "map.png" else "pdf",
                demand_tier=str(map_tier),
            )
        elif name == "project.gpkg" and scenarios:
            from planner.workspace.project import save_project

            with tempfile.TemporaryDirectory(prefix="planner-project-") as folder:
                files[name] = save_project(Path(folder) / name, scenarios=scenarios, workspace=ws).read_bytes()
    logger.info("report files: %s", ", ".join(f"{k} ({len(v)} bytes)" for k, v in files.items()))
    return files


def write_files(files: dict[str, bytes], *, out_dir: str | Path) -> dict[str, Path]:
    """Write ``files`` into ``out_dir`` atomically (all of them or none).

    Raises
    ------
    InputError
        The folder cannot be written (names the folder and the reason).
    """
    out = Path(out_dir)
    try:
        with atomic_output_dir(out) as tmp:
            for name, data in files.items():
                (tmp / name).write_bytes(data)
    except OSError as exc:
        raise InputError("cli.cannot_write", path=str(out), reason=exc.strerror or str(exc)) from None
    logger.info("wrote %s into %s", ", ".join(files), out)
    return {name: out / name for name in files}
