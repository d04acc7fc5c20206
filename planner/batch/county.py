"""One county task of a batch run: its demand, the roads and stations of its halo, its report files.

:func:`run_county` runs in a Dask worker (or in the client, for a serial run). It reads
the county's demand, its own stations and its neighbours' stations, loads the roads of
the halo (:mod:`planner.batch.halo`), checks each ring and widens it where a demand
point's reverse search reached a road the ring cut off, then evaluates the one pipeline
(:meth:`planner.workspace.workspace.Workspace.from_tables` →
:meth:`~planner.workspace.workspace.Workspace.evaluate` →
:func:`planner.report.files.report_files`) and writes the same files as
``planner coverage`` into the county's folder, ``done.json`` last. Only the county's
own demand is counted; stations across the border serve it like its own, and the
population they alone cover is reported per tier (``cross_border_population``).

Bad inputs come back as an outcome with status ``failed`` and the message (the other
counties go on); any other exception propagates, so that the scheduler retries it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from planner._atomic import atomic_write
from planner._errors import PlannerError
from planner.batch.halo import WIDEN, Halo, first_widths_m, inside, load_halo, reached_edge
from planner.batch.tasks import BatchSettings, CountyOutcome, CountyTask
from planner.inputs._validate import InputProblemsError
from planner.inputs.columns import ColumnReport
from planner.inputs.coords import file_systems
from planner.inputs.tables import TableRead, read_demand_files, read_table
from planner.settings import Mode, Tier

logger = logging.getLogger(__name__)

__all__ = ["DONE_FILE", "read_done", "run_county"]

#: Written last into a county's folder: the task key and when it finished.
DONE_FILE = "done.json"

#: Columns of a station table read by :func:`planner.inputs.tables.read_table` (for a county without stations).
_STATION_COLUMNS: tuple[str, ...] = ("id", "name", "tier", "lon", "lat")

#: Seconds between two readings of the worker's memory while a task runs.
_MEMORY_SAMPLE_S = 0.05


def read_done(out_dir: str | os.PathLike[str], key: str) -> dict[str, Any] | None:
    """The county's ``summary.json`` when its folder was finished for ``key``, else ``None``."""
    out = Path(out_dir)
    try:
        done = json.loads((out / DONE_FILE).read_text(encoding="utf-8"))
        if done.get("key") != key:
            return None
        summary: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary


@contextmanager
def _peak_rss() -> Iterator[list[float]]:
    """Sample this process's resident memory while the block runs; yields ``[peak MB]``."""
    import psutil

    proc = psutil.Process()
    peak = [proc.memory_info().rss / 2**20]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(_MEMORY_SAMPLE_S):
            peak[0] = max(peak[0], proc.memory_info().rss / 2**20)

    thread = threading.Thread(target=sample, name="peak-rss", daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()
        peak[0] = max(peak[0], proc.memory_info().rss / 2**20)


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def run_county(task: CountyTask, *, settings: BatchSettings) -> CountyOutcome:
    """Run one county: read, load the halo, evaluate, write its files.

    Parameters
    ----------
    task
        The county, its neighbours and where its files go.
    settings
        The batch's standards and options.

    Returns
    -------
    CountyOutcome
        ``ok`` with the county's summary; ``skipped`` when its folder was already finished
        for the same key; ``failed`` with the message when its inputs are bad.
    """
    c = task.county
    t0 = time.perf_counter()
    done = read_done(task.out_dir, task.key)
    if done is not None:
        return CountyOutcome(code=c.code, name=c.name, status="skipped", summary=done, worker=_worker_name())
    with _peak_rss() as peak:
        try:
            outcome = _run(task, settings=settings)
        except PlannerError as exc:
            logger.warning("%s %s: %s", c.code, c.name, exc)
            outcome = CountyOutcome(code=c.code, name=c.name, status="failed", message=str(exc))
    return replace(outcome, seconds=time.perf_counter() - t0, peak_rss_mb=peak[0], worker=_worker_name())


def _stations_in_halo(
    own: TableRead, others: list[tuple[str, TableRead]], halo: Halo, settings: BatchSettings
) -> TableRead:
    """The county's stations, and each neighbour's inside the ring of its tier's mode.

    A neighbour's station id is prefixed with its county code (``990102:S0012``): ids
    need only be unique within one county's file.
    """
    cfg = settings.config
    frames = [own.frame]
    for code, table in others:
        st = table.frame
        if st.empty:
            continue
        lon, lat = st["lon"].to_numpy(float), st["lat"].to_numpy(float)
        keep = np.zeros(len(st), dtype=bool)
        for mode in halo.boxes:
            tiers = [str(t) for t in settings.tiers if cfg.standards[t].mode is mode]
            box = halo.station_box(mode, max_snap_m=cfg.max_snap_m)
            keep |= st["tier"].astype(str).isin(tiers).to_numpy() & inside(lon, lat, box)
        if keep.any():
            frames.append(st.loc[keep].assign(id=code + ":" + st.loc[keep, "id"].astype(str)))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else own.frame
    return TableRead(frame, own.columns)


def _station_sheet(path: str, *, coords: Any) -> TableRead | None:
    """A county's station sheet; ``None`` when it has a header but no rows (a county without stations yet).

    Its other problems stop the county (a neighbour's too: the figures would be wrong without them).
    """
    try:
        return read_table(path, kind="stations", coords=coords)
    except InputProblemsError as exc:
        if [p.key for p in exc.problems] == ["inputs.no_rows"]:
            return None
        raise


def _short_rings(ws: Any, halo: Halo, settings: BatchSettings) -> dict[Mode, int]:
    """Per mode whose ring was too narrow, the edge nodes the demand's reverse search reached."""
    cfg = settings.config
    short: dict[Mode, int] = {}
    for tier in settings.tiers:
        std = cfg.standards[tier]
        graph = ws.network.travel_graph(mode=std.mode, config=cfg)
        n = reached_edge(
            graph, demand=ws.demand_snap(std.mode), edge_nodes=halo.edge_nodes[std.mode], limit_s=std.limit_s
        )
        if n:
            short[std.mode] = max(short.get(std.mode, 0), n)
    return short


def _county_shape(task: CountyTask) -> shapely.Geometry:
    c = task.county
    if c.boundary_wkt:
        return shapely.from_wkt(c.boundary_wkt)
    return shapely.box(*c.bounds)


def _propose(
    ws: Any, stations: pd.DataFrame, *, tier: Tier, task: CountyTask, halo: Halo, settings: BatchSettings
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """New sites of ``settings.site_tier`` inside the county, with the halo's stations counted as existing."""
    import geopandas as gpd

    from planner.workspace.propose import CandidateOptions

    boxes = list(halo.boxes.values())
    outer = shapely.box(
        min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)
    )
    outside = gpd.GeoDataFrame(geometry=[outer.difference(_county_shape(task))], crs="EPSG:4326")
    proposal = ws.propose(
        stations,
        tier=tier,
        k=settings.site_k,
        model=settings.site_model,
        candidates=CandidateOptions(exclude=outside),
        time_limit_s=settings.site_time_limit_s,
    )
    sites = proposal.sites
    gain_col = (
        "gain" if "gain" in sites and sites["newly_covered_population"].isna().all() else "newly_covered_population"
    )
    info = {
        "tier": str(tier),
        "k": settings.site_k,
        "model": settings.site_model,
        "gain": gain_col,
        "objective": proposal.summary.get("objective"),
        "gap": proposal.summary.get("gap"),
        "sites": [
            {
                "rank": int(r["rank"]),
                "site_id": str(r["site_id"]),
                "name": str(r["name"]),
                "lon": float(r["lon"]),
                "lat": float(r["lat"]),
                "township": str(r["township"]),
                "gain": float(r[gain_col]),
            }
            for _, r in sites.iterrows()
        ],
    }
    return sites, info


def _run(task: CountyTask, *, settings: BatchSettings) -> CountyOutcome:
    from planner.report.files import CLI_FILES, CLI_MAP_FILES, report_files, write_files
    from planner.workspace.workspace import Workspace

    c = task.county
    cfg = settings.config
    systems = file_systems(settings.coords)
    t0 = time.perf_counter()
    parts = read_demand_files(c.demand, enterprises=c.enterprises, coords=systems)
    others = [
        (n.code, table)
        for n in task.neighbours
        if (table := _station_sheet(n.stations, coords=systems["stations"])) is not None
    ]
    areas = read_table(c.areas, kind="areas") if c.areas else None
    own = _station_sheet(c.stations, coords=systems["stations"])
    if own is None:  # no station of its own yet: only its neighbours' serve it
        columns = others[0][1].frame.columns if others else pd.Index(_STATION_COLUMNS)
        own = TableRead(pd.DataFrame(columns=columns), ColumnReport(file=str(c.stations), kind="stations"))
    roads = [c.roads, *(n.roads for n in task.neighbours)]
    widths = first_widths_m(cfg, settings.tiers, factor=settings.halo_factor)
    files = {
        "network": c.roads,
        "stations": c.stations,
        "demand": c.demand,
        "enterprises": c.enterprises,
        "areas": c.areas,
    }
    widened = 0
    while True:
        halo = load_halo(roads, bounds=c.bounds, widths_m=widths, config=cfg, source=c.name)
        stations = _stations_in_halo(own, others, halo, settings)
        ws, scenario = Workspace.from_tables(
            network=halo.network,
            stations=stations,
            demand=parts,
            areas=areas,
            files=files,
            systems=systems,
            config=cfg,
            allow_off_network_stations=settings.allow_off_network,
            label=c.name,
        )
        short = _short_rings(ws, halo, settings)
        if not short or widened >= settings.max_widen:
            break
        logger.info("%s %s: widening the %s ring(s)", c.code, c.name, ", ".join(str(m) for m in short))
        widths = {m: w * (WIDEN if m in short else 1.0) for m, w in widths.items()}
        widened += 1
    read_s = time.perf_counter() - t0
    ws.stations_file = str(c.stations)
    t0 = time.perf_counter()
    own_result = (
        ws.evaluate(own.frame, tiers=settings.tiers)
        if len(own.frame) and len(stations.frame) > len(own.frame)
        else None
    )
    result = ws.evaluate(scenario.stations, tiers=settings.tiers)
    coverage_s = time.perf_counter() - t0
    cross: dict[str, float] = {}
    for tier in settings.tiers:
        key = str(tier)
        all_cov = float(result.summary["tiers"][key]["covered_population"])
        if own_result is not None:
            own_cov = float(own_result.summary["tiers"][key]["covered_population"])
        else:  # the county's own stations are all there are, or there are none
            own_cov = all_cov if len(own.frame) else 0.0
        cross[key] = all_cov - own_cov
    batch_info: dict[str, Any] = {
        "code": c.code,
        "name": c.name,
        "own_stations": len(own.frame),
        "halo_stations": len(stations.frame) - len(own.frame),
        "own_stations_by_tier": {
            str(tier): int((own.frame["tier"].astype(str) == str(tier)).sum()) for tier in settings.tiers
        },
        "cross_border_population": cross,
        "halo_m": {str(m): round(w, 1) for m, w in halo.width_m.items()},
        "widened": widened,
        "halo_short": {str(m): n for m, n in short.items()},
        "network_nodes": halo.network.n_nodes,
    }
    extra = {"batch": batch_info, "timings": {"read_inputs_s": round(read_s, 3), "coverage_s": round(coverage_s, 3)}}
    proposals = None
    if settings.site_tier is not None and settings.site_k > 0:
        t0 = time.perf_counter()
        proposals, batch_info["siting"] = _propose(
            ws, scenario.stations, tier=settings.site_tier, task=task, halo=halo, settings=settings
        )
        extra["timings"]["siting_s"] = round(time.perf_counter() - t0, 3)
    out_files = report_files(
        ws,
        scenario.stations,
        include=(
            *CLI_FILES,
            *(CLI_MAP_FILES if settings.maps else ()),
            *(("proposals.csv",) if proposals is not None else ()),
        ),
        result=result,
        proposals=proposals,
        tiers=settings.tiers,
        isochrones=settings.isochrones,
        extra_summary=extra,
    )
    write_files(out_files, out_dir=task.out_dir)
    with atomic_write(Path(task.out_dir) / DONE_FILE, encoding="utf-8") as fh:
        json.dump({"key": task.key, "code": c.code, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, fh)
    summary: dict[str, Any] = json.loads(out_files["summary.json"])
    message = ""
    if short:
        from planner.i18n import t

        message = t("halo.short", modes=", ".join(t(f"mode.{m}") for m in short), times=widened)
        logger.warning("%s %s: %s", c.code, c.name, message)
    return CountyOutcome(
        code=c.code,
        name=c.name,
        status="ok",
        message=message,
        summary=summary,
        halo_m={str(m): w for m, w in halo.width_m.items()},
        widened=widened,
        n_nodes=halo.network.n_nodes,
    )
