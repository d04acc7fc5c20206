"""The one pipeline: a workspace of roads, demand and standards that evaluates stations incrementally.

A :class:`Workspace` holds what stays the same while a planner edits stations: the road
network, the demand points, the standards and township areas, plus caches (demand
snapped per travel mode, one raw result per tier keyed on that tier's stations and
standard). :meth:`Workspace.evaluate` recomputes only the tiers whose stations or
standard changed since they were last computed, then rebuilds the tables with
:func:`planner.coverage.analyse.summarise` (cheap). A :class:`Scenario` is a named station
table with an undo history (:mod:`planner.workspace.scenario`); projects (several
scenarios) are saved to one GeoPackage (:mod:`planner.workspace.project`); new sites are
proposed through :meth:`Workspace.propose` (:mod:`planner.workspace.propose`).

Examples
--------
>>> ws, sc = Workspace.from_demo()                         # doctest: +SKIP
>>> before = ws.evaluate(sc.stations)                      # doctest: +SKIP
>>> sc.add_station(tier="village", lon=116.2, lat=27.4)    # doctest: +SKIP
'NEW-001'
>>> compare(before, ws.evaluate(sc.stations))              # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._errors import InputError, PlannerError
from planner.coverage.access import DEFAULT_FLOOR_MIN, Method
from planner.coverage.analyse import (
    CoverageResult,
    TierResult,
    assign_townships,
    check_stations_on_network,
    demand_rows_for_tier,
    no_demand_reason,
    stranded_lines,
    summarise,
    tier_result,
)
from planner.i18n import get_language, join_names, t
from planner.inputs._validate import read_failure
from planner.inputs.columns import ColumnReport
from planner.inputs.demand_kinds import DemandKinds
from planner.inputs.limits import CLI_LIMITS, Limits
from planner.inputs.tables import TableRead
from planner.network.roads import RoadNetwork, TravelGraph, speed_key
from planner.network.snapping import Snap, snap_points
from planner.settings import DEFAULT_TIER_DEMAND, TIERS, Config, Mode, Tier, parse_tier
from planner.siting.models import DEFAULT_MIP_REL_GAP, DEFAULT_TIME_LIMIT_S, Solver
from planner.workspace.propose import CandidateOptions, NetworkProblem, Proposal, propose, siting_problem
from planner.workspace.scenario import BASELINE_SCENARIO, Scenario, check_stations
from planner.workspace.siting_models import UnreachableMode

logger = logging.getLogger(__name__)

__all__ = ["Workspace"]

_TierKey = tuple[Any, ...]


def _graph_key(config: Config, mode: Mode) -> tuple[Any, ...]:
    """Cache key of demand snapped for ``mode``: the travel graph's key and the snap distance."""
    return (str(mode), speed_key(config, mode), float(config.max_snap_m))


def _check_file(
    df: pd.DataFrame, *, network: RoadNetwork, file: str | Path, role: str, coords: Mapping[str, Any], config: Config
) -> list[Any]:
    """Coordinate findings of one input file read in ``coords[role]``, each logged as a warning."""
    from planner.inputs.coords import FILE_OPTIONS
    from planner.inputs.sanity import check_coordinates

    findings = check_coordinates(
        df,
        network=network,
        file=str(file),
        coords=coords[role],
        option=FILE_OPTIONS[role],
        max_snap_m=config.max_snap_m,
    )
    for finding in findings:
        logger.warning("%s: %s", file, finding.message())
    return list(findings)


@dataclass(eq=False)
class Workspace:
    """Heavy, reusable state: network, demand, config, township areas and caches.

    Parameters
    ----------
    network
        Road network.
    demand
        Canonical demand table (:func:`planner.inputs.tables.read_demand` columns).
    config
        Standards, speeds and snapping options.
    areas
        Township polygons (``name``, geometry) or ``None``.
    label
        Display label (e.g. ``t("demo.label")`` for the generated demo county).
    label_key
        i18n key of a built-in label (the demo county's): then the label is shown in the
        active language (:meth:`shown_label`), not in the one it was made in.
    allow_off_network_stations
        Evaluate anyway (leaving them out) when stations lie farther than the maximum
        snap distance from a usable road; by default that raises an
        :class:`~planner._errors.InputError` naming them.
    """

    network: RoadNetwork
    demand: pd.DataFrame
    config: Config
    areas: gpd.GeoDataFrame | None = None
    label: str = ""
    allow_off_network_stations: bool = False
    label_key: str | None = None
    #: Stations file named in the off-network error, worded for the command line (the
    #: CLI sets it); empty: worded for the map editor.
    stations_file: str = ""
    #: Input files and the coordinate system of each (``coords``: role → system, see
    #: :func:`planner.inputs.coords.file_systems`), for ``summary.json``; empty for the demo.
    inputs: dict[str, Any] = field(default_factory=dict)
    #: Coordinate findings of :meth:`from_files` and :meth:`read_candidates`
    #: (:class:`planner.inputs.sanity.Finding`).
    findings: list[Any] = field(default_factory=list, repr=False)
    #: What :meth:`from_files` did with each file's columns
    #: (:class:`planner.inputs.columns.ColumnReport`: stations, demand, enterprises, areas, candidates).
    column_reports: tuple[ColumnReport, ...] = field(default=(), repr=False)
    #: Warnings found while evaluating, once each, in the order found: demand points and
    #: stations stranded on road pieces cut off from the main network. Logged as well;
    #: the app shows them after loading files.
    network_notes: list[str] = field(default_factory=list, repr=False)
    #: Where the kinds of the demand rows came from, one entry per file read by
    #: :meth:`from_files`; empty: taken from the table's ``kind`` column (see
    #: :meth:`demand_description`).
    demand_kinds: tuple[DemandKinds, ...] = ()
    #: Limits on the input files read (:meth:`from_files`, :meth:`read_candidates`).
    limits: Limits = field(default=CLI_LIMITS, repr=False)
    _demand_snaps: dict[tuple[Any, ...], Snap] = field(default_factory=dict, repr=False)
    _tier_cache: dict[Tier, tuple[_TierKey, TierResult]] = field(default_factory=dict, repr=False)
    _iso_cache: dict[Tier, tuple[_TierKey, gpd.GeoDataFrame]] = field(default_factory=dict, repr=False)
    _area_townships: pd.Series | None = field(default=None, repr=False)
    #: Tiers recomputed by the last :meth:`evaluate` call (for logging and tests).
    last_recomputed: tuple[Tier, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        self.demand = self.demand.reset_index(drop=True)

    def shown_label(self, *, lang: str | None = None) -> str:
        """The label in ``lang`` (default: active) for a built-in one (:attr:`label_key`), else as given."""
        return t(self.label_key, lang=lang) if self.label_key else self.label

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_demo(cls, *, seed: int = 2024) -> tuple[Workspace, Scenario]:
        """Generated demo county (:func:`planner.demo.county.generate_county`) and its stations."""
        from planner.demo.county import generate_county

        county = generate_county(seed=seed)
        ws = cls(
            network=county.network,
            demand=county.demand,
            config=Config(),
            areas=county.townships,
            label=county.label,
            label_key="demo.label",  # its demand kinds are described under this label, in the language shown
        )
        return ws, Scenario(name=BASELINE_SCENARIO, stations=county.stations.copy())

    @classmethod
    def from_files(
        cls,
        *,
        network: str | Path,
        stations: str | Path,
        demand: str | Path,
        enterprises: str | Path | None = None,
        areas: str | Path | None = None,
        coords: str | Mapping[str, str] = "wgs84",
        stations_coords: str | None = None,
        demand_coords: str | None = None,
        enterprises_coords: str | None = None,
        candidates_coords: str | None = None,
        config: Config | None = None,
        allow_off_network_stations: bool = False,
        label: str | None = None,
        limits: Limits = CLI_LIMITS,
    ) -> tuple[Workspace, Scenario]:
        """Load a road network, a station list, demand points and (optionally) township areas.

        The one way from files to a workspace: the CLI, the app's upload and the
        notebook all call it. What was done with each file's columns (the header used
        for each, headers left unused and what they probably are, missing names or
        population) is logged (warnings as warnings) and kept in :attr:`column_reports`.
        Each file is read in its own coordinate system and checked on its own
        (:func:`planner.inputs.sanity.check_coordinates`): findings (swapped columns,
        points outside the network, a file or some rows in another system than declared)
        are logged as warnings and kept in :attr:`findings`.
        Where the kinds of the demand rows came from (a 类型 column, the enterprise file,
        or neither) is logged and kept in :attr:`demand_kinds`.

        Parameters
        ----------
        network
            ``.osm`` / ``.osm.pbf`` / road line layer, or ``download:PLACE`` (needs internet).
        stations, demand, areas
            Input files (:mod:`planner.inputs.tables`).
        enterprises
            A file of enterprises (:func:`planner.inputs.tables.read_table` with
            ``kind="enterprises"``): every row is enterprise workers, its population the number
            of workers. Its rows are added to the demand points; ids must differ from the
            demand file's.
        coords
            Coordinate system of every file (``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``,
            ``"bd09"``), or a mapping ``{"stations": ..., "demand": ..., "enterprises": ...,
            "candidates": ...}``; converted to WGS-84.
        stations_coords, demand_coords, enterprises_coords, candidates_coords
            The system of one file, overriding ``coords`` for it (the candidates' is
            used by :meth:`read_candidates`).
        config
            Standards and speeds (default :class:`~planner.settings.Config`).
        allow_off_network_stations
            See the class; by default stations far from every road are refused.
        label
            Display label; default the network file's name (e.g. ``guixi_center``).
        limits
            Limits on the work each file may cause (rows, columns, line and cell lengths,
            bytes; GeoPackages with views or huge metadata are refused): the command line's
            :data:`~planner.inputs.limits.CLI_LIMITS` by default, the app passes its own.
            Checked while the files stream, before they are materialised.

        Raises
        ------
        planner._errors.PlannerError
            :class:`~planner._errors.NetworkError` or :class:`~planner._errors.InputError`
            from the readers, naming file, row and column; an id used in both the demand
            and the enterprise file.
        """
        from planner.inputs.coords import file_systems
        from planner.inputs.tables import read_demand_files, read_table
        from planner.network.load import load_network_spec

        systems = file_systems(
            coords,
            stations=stations_coords,
            demand=demand_coords,
            enterprises=enterprises_coords,
            candidates=candidates_coords,
        )
        try:  # a file deleted or locked between its check and its read is named, not a traceback
            net = load_network_spec(network, limits=limits)
            st, st_columns, _ = read_table(stations, kind="stations", coords=systems["stations"], limits=limits)
            parts = read_demand_files(demand, enterprises=enterprises, coords=systems, limits=limits)
            reports = [st_columns, *(part.columns for part in parts)]
            ar = None
            if areas is not None:
                ar, ar_columns, _ = read_table(areas, kind="areas", limits=limits)
                reports.append(ar_columns)
        except OSError as exc:
            if isinstance(exc, PlannerError):
                raise
            name = (
                os.fsdecode(exc.filename)
                if exc.filename
                else join_names(str(f) for f in (network, stations, demand, enterprises, areas) if f is not None)
            )
            raise read_failure(exc, path=name, file=name) or exc from None
        return cls.from_tables(
            network=net,
            stations=TableRead(st, st_columns),
            demand=parts,
            areas=None if ar is None else TableRead(ar, ar_columns),
            files={
                "network": network,
                "stations": stations,
                "demand": demand,
                "enterprises": enterprises,
                "areas": areas,
            },
            systems=systems,
            config=config,
            allow_off_network_stations=allow_off_network_stations,
            label=label,
            limits=limits,
        )

    @classmethod
    def from_tables(
        cls,
        *,
        network: RoadNetwork,
        stations: TableRead,
        demand: Sequence[TableRead],
        areas: TableRead | None,
        files: Mapping[str, str | Path | None],
        systems: Mapping[str, Any],
        config: Config | None = None,
        allow_off_network_stations: bool = False,
        label: str | None = None,
        limits: Limits = CLI_LIMITS,
    ) -> tuple[Workspace, Scenario]:
        """The second half of :meth:`from_files`: a workspace of tables already read.

        For callers that read the files themselves (a county of a batch run reads its
        neighbours' stations inside the halo and its roads by bounding box:
        :mod:`planner.batch.county`). The column reports are logged and kept, each file's
        coordinates checked (:func:`planner.inputs.sanity.check_coordinates`) as in
        :meth:`from_files`.

        Parameters
        ----------
        network
            The road network.
        stations
            The stations and their column report (:func:`planner.inputs.tables.read_table`).
        demand
            The demand file's table and, when given, the enterprise file's
            (:func:`planner.inputs.tables.read_demand_files`).
        areas
            Township polygons, or ``None``.
        files
            The file names by role (``network``, ``stations``, ``demand``, ``enterprises``,
            ``areas``), for messages and ``summary.json``.
        systems
            Coordinate system by role (:func:`planner.inputs.coords.file_systems`).
        config, allow_off_network_stations, label, limits
            As :meth:`from_files`.
        """
        from planner.inputs.tables import combine_demand

        reports = [stations.columns, *(part.columns for part in demand)]
        if areas is not None:
            reports.append(areas.columns)
        for report in reports:
            report.log()
        cfg = config or Config()
        st = stations.frame
        network_file = files.get("network")
        findings = _check_file(
            st, network=network, file=str(files.get("stations")), role="stations", coords=systems, config=cfg
        )
        for part, role in zip(demand, ("demand", "enterprises"), strict=False):
            findings += _check_file(
                part.frame, network=network, file=str(files.get(role)), role=role, coords=systems, config=cfg
            )
        ws = cls(
            network=network,
            demand=combine_demand(demand),
            config=cfg,
            areas=None if areas is None else areas.frame,
            label=label if label is not None else Path(str(network_file).split(":", 1)[-1]).stem,
            allow_off_network_stations=allow_off_network_stations,
            inputs={
                **{role: (str(f) if f is not None else None) for role, f in files.items()},
                "coords": dict(systems),
            },
            findings=findings,
            column_reports=tuple(reports),
            demand_kinds=tuple(part.kinds for part in demand if part.kinds is not None),
            limits=limits,
        )
        logger.info("%s", ws.demand_description())
        return ws, Scenario(name=BASELINE_SCENARIO, stations=st)

    def read_candidates(self, path: str | Path, *, coords: str | None = None) -> pd.DataFrame:
        """Read a candidate sites file in its coordinate system and check it against the network.

        Parameters
        ----------
        path
            The file (:func:`planner.inputs.tables.read_candidates`).
        coords
            Its coordinate system; default the candidates' system given to
            :meth:`from_files` (``candidates_coords`` / ``coords``), else WGS-84.

        Returns
        -------
        pandas.DataFrame
            The candidates (WGS-84), ready for
            :attr:`planner.workspace.propose.CandidateOptions.extra`. The file's column
            report is logged and appended to :attr:`column_reports`; coordinate findings
            are logged and appended to :attr:`findings`.
        """
        from planner.inputs.coords import file_systems
        from planner.inputs.tables import read_table

        declared = dict(self.inputs.get("coords") or {})
        systems = file_systems(declared, candidates=coords)
        df, columns, _ = read_table(path, kind="candidates", coords=systems["candidates"], limits=self.limits)
        columns.log()
        self.column_reports = (*self.column_reports, columns)
        self.findings += _check_file(
            df, network=self.network, file=path, role="candidates", coords=systems, config=self.config
        )
        self.inputs["candidates"] = str(path)
        self.inputs["coords"] = {**declared, "candidates": systems["candidates"]}
        return df

    def demand_description(self, *, lang: str | None = None) -> str:
        """Where the demand rows' kinds came from, and what each tier counts; one line for people.

        One sentence per demand file (:meth:`planner.inputs.tables.DemandKinds.describe`),
        then every tier whose demand choice is not the default, then every tier that has
        no demand points (the figures give the reason). The CLI logs it, ``planner check`` prints the
        first part, the app shows it after loading files.
        """
        kinds = self.demand_kinds or (DemandKinds.of_table(self.demand, file=self.shown_label(lang=lang)),)
        parts = [k.describe(lang=lang) for k in kinds]
        for tier in TIERS:
            serves = self.config.tier_demand[tier]
            name = t(f"tier.{tier}", lang=lang)
            if serves != DEFAULT_TIER_DEMAND[tier]:
                parts.append(t("scenario.tier_serves", lang=lang, tier=name, serves=t(f"serves.{serves}", lang=lang)))
            if no_demand_reason(self.demand, serves=serves) is not None:
                parts.append(t("scenario.tier_no_demand", lang=lang, tier=name))
        return ("" if (lang or get_language()) == "zh" else " ").join(parts)

    def with_config(self, config: Config) -> Workspace:
        """A workspace with new standards; caches that still apply are kept (keys include the standard)."""
        return replace(
            self,
            config=config,
            _demand_snaps=dict(self._demand_snaps),
            _tier_cache=dict(self._tier_cache),
            _iso_cache=dict(self._iso_cache),
            last_recomputed=(),
        )

    # ------------------------------------------------------------------ caches
    def _graph(self, mode: Mode) -> TravelGraph:
        return self.network.travel_graph(mode=mode, config=self.config)

    def _townships_by_area(self) -> pd.Series | None:
        """Township of every demand point from the areas layer (a spatial join, kept); ``None`` without areas."""
        if self.areas is None or not len(self.areas):
            return None
        if self._area_townships is None:
            self._area_townships = assign_townships(self.demand, areas=self.areas, township_fallback=None)
        return self._area_townships

    def _note(self, message: str) -> None:
        """Log a warning about the network and keep it in :attr:`network_notes` (once)."""
        logger.warning("%s", message)
        if message not in self.network_notes:
            self.network_notes.append(message)

    def demand_snap(self, mode: Mode) -> Snap:
        """The demand points snapped on ``mode``'s travel graph (cached; see :meth:`evaluate`)."""
        return self._demand_snap(mode)

    def _demand_snap(self, mode: Mode) -> Snap:
        key = _graph_key(self.config, mode)
        snap = self._demand_snaps.get(key)
        if snap is None:
            snap = snap_points(
                self._graph(mode),
                lon=self.demand["lon"].to_numpy(float),
                lat=self.demand["lat"].to_numpy(float),
                max_snap_m=self.config.max_snap_m,
            )
            self._demand_snaps[key] = snap
            if snap.stranded.any():
                self._note(
                    t(
                        "coverage.demand_stranded",
                        count=int(snap.stranded.sum()),
                        mode=t(f"mode.{mode}"),
                        lines=stranded_lines(self.demand, snap.stranded),
                    )
                )
        return snap

    def _tier_key(self, stations: pd.DataFrame, tier: Tier) -> tuple[_TierKey, NDArray[np.int64]]:
        std = self.config.standards[tier]
        rows = np.flatnonzero((stations["tier"].astype(str) == str(tier)).to_numpy()).astype(np.int64)
        ids = tuple(stations["id"].astype(str).to_numpy(object)[rows])
        lon = stations["lon"].to_numpy(float)[rows].tobytes()
        lat = stations["lat"].to_numpy(float)[rows].tobytes()
        serves = str(self.config.tier_demand[tier])
        key = (
            str(tier),
            std,
            serves,
            _graph_key(self.config, std.mode),
            float(self.config.horizon_factor),
            ids,
            lon,
            lat,
        )
        return key, rows

    def _tier_result(self, stations: pd.DataFrame, tier: Tier, rows: NDArray[np.int64], key: _TierKey) -> TierResult:
        """Raw result of one tier for ``stations`` (reindexed to its rows), cached on ``key``."""
        cached = self._tier_cache.get(tier)
        if cached is not None and cached[0] == key:
            tr = cached[1]
            # the tier's stations are the same (ids, order, places) but may sit at other
            # rows of the table now: map positions within the tier back to rows
            pos = np.full(int(tr.station_rows.max(initial=-1)) + 1, -1, dtype=np.int64)
            pos[tr.station_rows] = np.arange(len(tr.station_rows))
            hit = tr.station_row >= 0
            station_row = np.full(len(tr.station_row), -1, dtype=np.int64)
            station_row[hit] = rows[pos[tr.station_row[hit]]]
            return replace(tr, station_rows=rows, station_row=station_row)
        t0 = time.perf_counter()
        std = self.config.standards[tier]
        graph = self._graph(std.mode)
        s_snap = snap_points(
            graph,
            lon=stations["lon"].to_numpy(float)[rows],
            lat=stations["lat"].to_numpy(float)[rows],
            max_snap_m=self.config.max_snap_m,
        )
        if not self.allow_off_network_stations:
            try:
                check_stations_on_network(
                    stations, {tier: (rows, s_snap)}, max_snap_m=self.config.max_snap_m, file=self.stations_file
                )
            except InputError as exc:
                if self.stations_file:  # stations as loaded from a file: the message names it and the CLI option
                    raise
                # same facts, worded for the what-if editor (no command-line options)
                raise InputError(
                    "scenario.error.stations_off_network",
                    tier=t(f"tier.{tier}"),
                    count=exc.params.get("count", ""),
                    max_snap_m=exc.params.get("max_snap_m", ""),
                    lines=exc.params.get("lines", ""),
                ) from exc
        if s_snap.stranded.any():
            self._note(
                t(
                    "coverage.stations_stranded",
                    tier=t(f"tier.{tier}"),
                    count=int(s_snap.stranded.sum()),
                    lines=stranded_lines(stations.iloc[rows], s_snap.stranded),
                )
            )
        d_rows = demand_rows_for_tier(self.demand, serves=self.config.tier_demand[tier])
        d_snap = self._demand_snap(std.mode).subset(d_rows)
        tr = tier_result(
            graph, tier=tier, standard=std, station_rows=rows, station_snap=s_snap, demand_rows=d_rows,
            demand_snap=d_snap, horizon_factor=self.config.horizon_factor, started=t0,
        )  # fmt: skip
        self._tier_cache[tier] = (key, tr)
        return tr

    # ------------------------------------------------------------------ analysis
    def evaluate(self, stations: pd.DataFrame, *, tiers: tuple[Tier, ...] | None = None) -> CoverageResult:
        """Coverage of ``stations``, recomputing only the tiers that changed.

        Parameters
        ----------
        stations
            Canonical stations table (``id, name, tier, lon, lat`` ...).
        tiers
            Tiers to evaluate (default: all four).

        Returns
        -------
        planner.coverage.analyse.CoverageResult
            Same content as :func:`planner.coverage.analyse.analyse` on the same inputs.

        Raises
        ------
        InputError
            Missing columns, duplicate ids, bad coordinates, or (unless
            ``allow_off_network_stations``) stations too far from any usable road.
        """
        t0 = time.perf_counter()
        check_stations(stations)
        stations = stations.reset_index(drop=True)
        raw: dict[Tier, TierResult] = {}
        recomputed: list[Tier] = []
        for tier in tiers or TIERS:
            key, rows = self._tier_key(stations, tier)
            cached = self._tier_cache.get(tier)
            if cached is None or cached[0] != key:
                recomputed.append(tier)
            raw[tier] = self._tier_result(stations, tier, rows, key)
        t1 = time.perf_counter()
        result = summarise(
            self.network,
            stations=stations,
            demand=self.demand,
            raw=raw,
            config=self.config,
            areas=self.areas,
            area_townships=self._townships_by_area(),
        )
        self.last_recomputed = tuple(recomputed)
        logger.info(
            "evaluate: recomputed %s in %.3f s, tables %.3f s",
            ",".join(map(str, recomputed)) or "nothing",
            t1 - t0,
            time.perf_counter() - t1,
        )
        return result

    def isochrones(self, stations: pd.DataFrame, *, tier: Tier | str) -> gpd.GeoDataFrame:
        """Tier-union service areas for every interval of the tier's standard (EPSG:4326).

        The reached roads plus walking access up to :attr:`Config.max_snap_m` (see
        :mod:`planner.coverage.isochrones`): every demand point :meth:`evaluate` counts as
        reached within an interval lies inside that interval's polygon. Columns ``tier,
        station_id, minutes, mode, geometry``; cached per tier like :meth:`evaluate`.
        """
        from planner.coverage.isochrones import tier_isochrones

        tier = parse_tier(tier)
        check_stations(stations)
        stations = stations.reset_index(drop=True)
        key, rows = self._tier_key(stations, tier)
        iso_key = (*key, float(self.config.isochrone_buffer_m), float(self.config.max_snap_m))
        cached = self._iso_cache.get(tier)
        if cached is not None and cached[0] == iso_key:
            return cached[1].copy()
        std = self.config.standards[tier]
        tr = self._tier_result(stations, tier, rows, key)
        t0 = time.perf_counter()
        gdf = tier_isochrones(
            self._graph(std.mode),
            sources=tr.station_snap,
            intervals_min=std.all_intervals_min(),
            max_access_m=self.config.max_snap_m,
            buffer_m=self.config.isochrone_buffer_m,
            tier=str(tier),
        )
        logger.info("isochrones %s: %.3f s", tier, time.perf_counter() - t0)
        self._iso_cache[tier] = (iso_key, gdf)
        return gdf.copy()

    def siting_problem(
        self,
        stations: pd.DataFrame,
        *,
        tier: Tier | str,
        candidates: CandidateOptions | None = None,
        review_existing: bool = False,
    ) -> NetworkProblem:
        """The coverage problem of ``tier`` (see :func:`planner.workspace.propose.siting_problem`)."""
        return siting_problem(self, stations, tier=tier, options=candidates, review_existing=review_existing)

    def propose(
        self,
        stations: pd.DataFrame,
        *,
        tier: Tier | str,
        k: int | None = None,
        target_percent: float | None = None,
        budget: float | None = None,
        min_per_township: int | None = None,
        max_per_township: int | None = None,
        review_existing: bool = False,
        candidates: CandidateOptions | None = None,
        solver: Solver = "highs",
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
        model: str = "mclp",
        unreachable: UnreachableMode = "error",
        cutoff_min: float | None = None,
        weighted: bool = False,
        require_cover: bool = False,
        capacity: bool = False,
    ) -> Proposal:
        """Propose new sites for ``tier`` (the app, the notebook and ``planner site`` all call this).

        Existing stations' coverage is fixed; candidates come from ``candidates``
        (:class:`planner.workspace.propose.CandidateOptions`: by default points along the roads
        every 200 m and the tier's demand locations); a candidate covers the demand
        points it reaches within the tier's standard.

        Parameters
        ----------
        stations
            Current stations.
        tier
            Tier of the new stations.
        k
            Number of new sites (maximal covering).
        target_percent
            Coverage target in percent of the tier's population (fewest sites; 100 =
            every coverable point).
        budget
            Total cost limit (maximal covering within a budget; candidates need a cost).
        min_per_township, max_per_township
            Quotas of new sites per township.
        review_existing
            Rank the tier's existing stations for closure instead (the redundancy
            question). Exactly one of ``k``, ``target_percent``, ``budget`` and
            ``review_existing`` is needed.
        candidates
            Candidate sources.
        solver
            ``"highs"`` (exact, time-limited) or ``"greedy"``.
        time_limit_s, mip_rel_gap
            Solver limits.
        model
            A name in :data:`planner.workspace.siting_models.MODELS`: ``"mclp"`` (``k``
            sites or a budget), ``"lscp"`` (a coverage target), ``"pmedian"`` (``k`` sites
            minimising the population-weighted travel minutes;
            :func:`planner.siting.median.p_median`), ``"pcenter"`` (``k`` sites minimising
            the longest trip; :func:`planner.siting.center.p_center`) or ``"backup"``
            (``k`` sites putting the most population within the standard of two stations;
            :func:`planner.siting.backup.backup_coverage`, existing stations counted per
            point on the network).
        unreachable, cutoff_min
            p-median / p-center: what to do with points no site reaches within the cutoff
            (``"error"``; ``"cutoff"``: they count as the cutoff; ``"drop"``, capacitated
            p-median: left out of the objective) and the cutoff (default: the tier's
            standard × ``config.horizon_factor``).
        weighted
            p-center: minimise the largest population × minutes instead of minutes.
        require_cover
            Backup: also cover every point a candidate reaches at least once.
        capacity
            MCLP / p-median with ``k``: every site serves at most its capacity (candidates:
            the candidates file's 容量 column, else ``config.tier_capacity``; existing
            stations: the load report's capacity and assignment;
            :mod:`planner.siting.capacity`).

        Returns
        -------
        planner.workspace.propose.Proposal
            ``sites`` (``rank, site_id, name, lon, lat, tier, newly_covered_population,
            cost, source, township``; ``gain`` for p-median / p-center; ``capacity`` and
            ``load`` with capacities) and the solver's ``summary`` (``model``,
            ``objective``, ``mean_minutes``, ``bound``, ``gap`` and the model's details).

        Raises
        ------
        InputError
            Not exactly one goal; stations off the network.
        SitingError
            Bad ``k`` / target, no candidates (from :mod:`planner.siting.models`); an
            option the model does not take; missing capacities.
        """
        return propose(
            self, stations, tier=tier, k=k, target_percent=target_percent, budget=budget,
            min_per_township=min_per_township, max_per_township=max_per_township, review_existing=review_existing,
            candidates=candidates, solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap,
            model=model, unreachable=unreachable, cutoff_min=cutoff_min, weighted=weighted,
            require_cover=require_cover, capacity=capacity,
        )  # fmt: skip

    # ------------------------------------------------------------------ accessibility and equity
    def accessibility(
        self,
        stations: pd.DataFrame,
        *,
        tier: Tier | str,
        method: Method = "2sfca",
        catchment_min: float | None = None,
        steps: Sequence[tuple[float, float]] | None = None,
        beta: float = 1.0,
        floor_min: float = DEFAULT_FLOOR_MIN,
        supply: str | None = None,
    ) -> pd.DataFrame:
        """Accessibility of the tier's demand points to the tier's stations (2SFCA family, gravity).

        Network minutes of the tier's mode from the tier's stations (snapped and checked
        as :meth:`evaluate` does) to the tier's demand points; the measures are
        :func:`planner.coverage.access.accessibility`'s.

        Parameters
        ----------
        stations
            Current stations.
        tier
            The tier.
        method
            ``"2sfca"``, ``"e2sfca"``, ``"gravity"``, ``"g2sfca"`` or ``"hansen"``.
        catchment_min
            Catchment in minutes; default the tier's standard N minutes.
        steps
            E2SFCA steps ``(minutes, weight)``; default thirds of the catchment weighted 1, 0.68, 0.22.
        beta, floor_min
            Gravity / Hansen decay exponent and the time below which the weight stops growing.
        supply
            Column of ``stations`` holding each station's supply; default ``supply`` (read
            from 规模 / 面积 / 服务能力 / 人员数) when present, else 1 per station.

        Returns
        -------
        pandas.DataFrame
            One row per demand point of the tier: ``id, name, township, population, value,
            normalised, reached, minutes`` (minutes to the nearest station as :meth:`evaluate`
            reports them). ``attrs["summary"]``: tier, mode, method, parameters, stations,
            supply column, population-weighted ``mean``, ``gini`` and ``palma`` of the value.

        Raises
        ------
        InputError
            Stations off the network (as :meth:`evaluate`); a supply that is empty, not a
            number or negative.
        ValueError
            Bad method, catchment or steps.
        """
        from planner.workspace.access import tier_accessibility

        return tier_accessibility(
            self, stations, tier=tier, method=method, catchment_min=catchment_min, steps=steps, beta=beta,
            floor_min=floor_min, supply=supply,
        )  # fmt: skip

    def equity(
        self,
        result_or_stations: CoverageResult | pd.DataFrame,
        *,
        tier: Tier | str,
        access: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Equity of the tier's travel times (and accessibility) for the county and per township.

        Parameters
        ----------
        result_or_stations
            A :class:`~planner.coverage.analyse.CoverageResult` of :meth:`evaluate`, or the
            stations (then evaluated, from the cache when unchanged).
        tier
            The tier.
        access
            :meth:`accessibility`'s frame of the same tier, for ``mean_access`` and ``gini_access``.

        Returns
        -------
        pandas.DataFrame
            ``tier`` and :data:`planner.coverage.equity.EQUITY_COLUMNS`: the county row first
            (``township`` empty), then one row per township. Minutes are to the nearest
            station; points not reached within the search horizon (the standard × the
            horizon factor) or off the network count at the horizon and in
            ``unreached_population``; ``within_population`` equals the covered population.
        """
        from planner.workspace.access import tier_equity

        return tier_equity(self, result_or_stations, tier=tier, access=access)
