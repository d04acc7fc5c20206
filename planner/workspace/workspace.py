"""Scenarios for what-if planning: stations to add, move or close, evaluated incrementally.

A :class:`Workspace` holds what stays the same while a planner edits stations: the road
network, the demand points, the standards and township areas, plus caches (demand
snapped per travel mode, one raw result per tier keyed on that tier's stations and
standard). :meth:`Workspace.evaluate` recomputes only the tiers whose stations or
standard changed since they were last computed, then rebuilds the tables with
:func:`planner.coverage.analyse.summarise` (cheap). A :class:`Scenario` is a named station
table with an undo history. Projects (several scenarios) are saved to one GeoPackage.

Examples
--------
>>> ws, sc = Workspace.from_demo()                         # doctest: +SKIP
>>> before = ws.evaluate(sc.stations)                      # doctest: +SKIP
>>> sc.add_station(tier="village", lon=116.2, lat=27.4)    # doctest: +SKIP
'NEW-001'
>>> compare(before, ws.evaluate(sc.stations))              # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._atomic import atomic_path
from planner._errors import InputError, PlannerError
from planner.coverage.analyse import (
    CoverageResult,
    TierResult,
    assign_townships,
    check_stations_on_network,
    demand_rows_for_tier,
    summarise,
    tier_result,
)
from planner.i18n import t
from planner.network.roads import RoadNetwork, TravelGraph, speed_key
from planner.network.snapping import Snap, snap_points
from planner.settings import TIERS, Config, Mode, Standard, Tier, parse_mode, parse_tier
from planner.siting.models import DEFAULT_MIP_REL_GAP, DEFAULT_TIME_LIMIT_S, Solver
from planner.workspace.propose import CandidateOptions, NetworkProblem, Proposal, propose, siting_problem

logger = logging.getLogger(__name__)

__all__ = [
    "PROJECT_META_LAYER",
    "Scenario",
    "Workspace",
    "compare",
    "compare_demand",
    "load_project",
    "project_metadata",
    "save_project",
]

#: Name of the metadata table inside a project GeoPackage.
PROJECT_META_LAYER: str = "planner_project"
#: Project file format version written into the metadata table.
PROJECT_FORMAT_VERSION: int = 1
#: Prefix of ids given to stations added in a scenario.
NEW_ID_PREFIX: str = "NEW-"
#: Columns every stations table must have.
_REQUIRED_STATION_COLUMNS: tuple[str, ...] = ("id", "tier", "lon", "lat")

_TierKey = tuple[Any, ...]


def _graph_key(config: Config, mode: Mode) -> tuple[Any, ...]:
    """Cache key of demand snapped for ``mode``: the travel graph's key and the snap distance."""
    return (str(mode), speed_key(config, mode), float(config.max_snap_m))


def _check_stations(stations: pd.DataFrame) -> None:
    missing = [c for c in _REQUIRED_STATION_COLUMNS if c not in stations.columns]
    if missing:
        raise InputError("scenario.error.missing_columns", columns="、".join(missing))
    ids = stations["id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError("scenario.error.duplicate_ids", ids="、".join(pd.unique(dup.to_numpy())[:10]))
    lon = pd.to_numeric(stations["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(stations["lat"], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(
            "scenario.error.bad_station_coordinates",
            id=str(ids.iloc[k]),
            lon=stations["lon"].iloc[k],
            lat=stations["lat"].iloc[k],
        )


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
    #: Stations file named in the off-network error, worded for the command line (the
    #: CLI sets it); empty: worded for the map editor.
    stations_file: str = ""
    #: Input files and coordinate system (for ``summary.json``); empty for the demo.
    inputs: dict[str, Any] = field(default_factory=dict)
    #: Coordinate findings of :meth:`from_files` (:class:`planner.inputs.sanity.Finding`).
    findings: list[Any] = field(default_factory=list, repr=False)
    _demand_snaps: dict[tuple[Any, ...], Snap] = field(default_factory=dict, repr=False)
    _tier_cache: dict[Tier, tuple[_TierKey, TierResult]] = field(default_factory=dict, repr=False)
    _iso_cache: dict[Tier, tuple[_TierKey, gpd.GeoDataFrame]] = field(default_factory=dict, repr=False)
    _area_townships: pd.Series | None = field(default=None, repr=False)
    #: Tiers recomputed by the last :meth:`evaluate` call (for logging and tests).
    last_recomputed: tuple[Tier, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        self.demand = self.demand.reset_index(drop=True)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_demo(cls, *, seed: int = 2024) -> tuple[Workspace, Scenario]:
        """Generated demo county (:func:`planner.demo.county.generate_county`) and its stations."""
        from planner.demo.county import generate_county

        county = generate_county(seed=seed)
        ws = cls(
            network=county.network, demand=county.demand, config=Config(), areas=county.townships, label=county.label
        )
        return ws, Scenario(name=t("scenario.current_name"), stations=county.stations.copy())

    @classmethod
    def from_files(
        cls,
        *,
        network: str | Path,
        stations: str | Path,
        demand: str | Path,
        areas: str | Path | None = None,
        coords: str = "wgs84",
        config: Config | None = None,
        allow_off_network_stations: bool = False,
        label: str | None = None,
    ) -> tuple[Workspace, Scenario]:
        """Load a road network, a station list, demand points and (optionally) township areas.

        The one way from files to a workspace: the CLI, the app's upload and the
        notebook all call it. Coordinate findings (swapped columns, points outside the
        network, a GCJ-02/BD-09 offset) are logged as warnings and kept in
        :attr:`findings`.

        Parameters
        ----------
        network
            ``.osm`` / ``.osm.pbf`` / road line layer, or ``download:PLACE`` (needs internet).
        stations, demand, areas
            Input files (:mod:`planner.inputs.tables`).
        coords
            Coordinate system of the station and demand files (converted to WGS-84).
        config
            Standards and speeds (default :class:`~planner.settings.Config`).
        allow_off_network_stations
            See the class; by default stations far from every road are refused.
        label
            Display label; default the network file's name (e.g. ``guixi_center``).

        Raises
        ------
        planner._errors.PlannerError
            :class:`~planner._errors.NetworkError` or :class:`~planner._errors.InputError`
            from the readers, naming file, row and column.
        """
        from planner.inputs.sanity import check_coordinates
        from planner.inputs.tables import read_areas, read_demand, read_stations
        from planner.network.load import load_network_spec

        net = load_network_spec(network)
        st = read_stations(stations, coords=coords)  # type: ignore[arg-type]
        dem = read_demand(demand, coords=coords)  # type: ignore[arg-type]
        ar = read_areas(areas) if areas is not None else None
        cfg = config or Config()
        findings = []
        for df, file in ((st, stations), (dem, demand)):
            for finding in check_coordinates(df, network=net, file=str(file), max_snap_m=cfg.max_snap_m):
                logger.warning("%s", finding.message())
                findings.append(finding)
        ws = cls(
            network=net,
            demand=dem,
            config=cfg,
            areas=ar,
            label=label if label is not None else Path(str(network).split(":", 1)[-1]).stem,
            allow_off_network_stations=allow_off_network_stations,
            inputs={
                "network": str(network),
                "stations": str(stations),
                "demand": str(demand),
                "areas": str(areas) if areas is not None else None,
                "coords": coords,
            },
            findings=findings,
        )
        return ws, Scenario(name=t("scenario.current_name"), stations=st)

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
        return snap

    def _tier_key(self, stations: pd.DataFrame, tier: Tier) -> tuple[_TierKey, NDArray[np.int64]]:
        std = self.config.standards[tier]
        rows = np.flatnonzero((stations["tier"].astype(str) == str(tier)).to_numpy()).astype(np.int64)
        ids = tuple(stations["id"].astype(str).to_numpy(object)[rows])
        lon = stations["lon"].to_numpy(float)[rows].tobytes()
        lat = stations["lat"].to_numpy(float)[rows].tobytes()
        key = (str(tier), std, _graph_key(self.config, std.mode), float(self.config.horizon_factor), ids, lon, lat)
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
            if self.stations_file:  # stations as loaded from a file: name it (and the CLI option)
                check_stations_on_network(
                    stations, {tier: (rows, s_snap)}, max_snap_m=self.config.max_snap_m, file=self.stations_file
                )
            try:
                check_stations_on_network(stations, {tier: (rows, s_snap)}, max_snap_m=self.config.max_snap_m, file="")
            except InputError as exc:
                # same facts, worded for the what-if editor (no command-line options)
                raise InputError(
                    "scenario.error.stations_off_network",
                    tier=t(f"tier.{tier}"),
                    count=exc.params.get("count", ""),
                    max_snap_m=exc.params.get("max_snap_m", ""),
                    lines=exc.params.get("lines", ""),
                ) from exc
        d_rows = demand_rows_for_tier(self.demand, tier)
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
        _check_stations(stations)
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
        """Tier-union polygons for every interval of the tier's standard (EPSG:4326).

        Columns ``tier, station_id, minutes, mode, geometry``; cached per tier like
        :meth:`evaluate`.
        """
        from planner.coverage.isochrones import tier_isochrones

        tier = parse_tier(tier)
        _check_stations(stations)
        stations = stations.reset_index(drop=True)
        key, rows = self._tier_key(stations, tier)
        iso_key = (*key, float(self.config.isochrone_buffer_m))
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

        Returns
        -------
        planner.workspace.propose.Proposal
            ``sites`` (``rank, site_id, name, lon, lat, tier, newly_covered_population,
            cost, source, township``) and the solver's ``summary``.

        Raises
        ------
        InputError
            Not exactly one goal; stations off the network.
        SitingError
            Bad ``k`` / target, no candidates (from :mod:`planner.siting.models`).
        """
        return propose(
            self, stations, tier=tier, k=k, target_percent=target_percent, budget=budget,
            min_per_township=min_per_township, max_per_township=max_per_township, review_existing=review_existing,
            candidates=candidates, solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap,
        )  # fmt: skip


# =========================================================================== scenario


def newly_off_network(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``after`` (evaluated stations) off the network that were not off it, at that place, in ``before``.

    A station added or moved to a place far from any road is listed; one that was
    already off the network (loaded from a file, see
    :attr:`Workspace.allow_off_network_stations`) and did not move is not.
    """
    key = ["id", "lon", "lat"]
    off_before = before.loc[~before["on_network"].astype(bool), key]
    off_after = after[~after["on_network"].astype(bool)]
    seen = off_after[key].merge(off_before, on=key, how="left", indicator=True)["_merge"].to_numpy() == "both"
    return off_after[~seen]


@dataclass(eq=False)
class Scenario:
    """A named stations table with an undo history.

    Parameters
    ----------
    name
        Scenario name (also its layer name in a project file).
    stations
        Canonical stations table (:func:`planner.inputs.tables.read_stations` columns).
    """

    name: str
    stations: pd.DataFrame
    _history: list[pd.DataFrame] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        _check_stations(self.stations)
        self.stations = self.stations.reset_index(drop=True)

    def _row(self, station_id: str) -> int:
        hit = np.flatnonzero((self.stations["id"].astype(str) == str(station_id)).to_numpy())
        if len(hit) == 0:
            raise InputError("scenario.error.unknown_station", id=station_id, scenario=self.name)
        return int(hit[0])

    def _push(self) -> None:
        self._history.append(self.stations.copy())

    def _new_id(self) -> str:
        taken = set(self.stations["id"].astype(str))
        n = 1
        pattern = self.stations["id"].astype(str).str.extract(rf"^{NEW_ID_PREFIX}(\d+)$")[0].dropna()
        if len(pattern):
            n = int(pattern.astype(int).max()) + 1
        while f"{NEW_ID_PREFIX}{n:03d}" in taken:
            n += 1
        return f"{NEW_ID_PREFIX}{n:03d}"

    def add_station(
        self,
        *,
        tier: Tier | str,
        lon: float,
        lat: float,
        name: str | None = None,
        organisation: str = "",
        services: str = "",
    ) -> str:
        """Add a station and return its new id (``"NEW-001"``, ``"NEW-002"``...).

        Raises
        ------
        ConfigError
            Unknown tier.
        InputError
            Coordinates not finite or outside ±180 / ±90 degrees.
        """
        tr = parse_tier(tier, where=t("scenario.where_add"))
        _check_lonlat(lon, lat, what=name or "")
        sid = self._new_id()
        row: dict[str, Any] = {}
        for col in self.stations.columns:
            row[col] = np.nan if pd.api.types.is_numeric_dtype(self.stations[col]) else ""
        row.update(
            {
                "id": sid,
                "name": name if name else t("scenario.new_station_name", tier=t(f"tier.{tr}"), id=sid),
                "tier": str(tr),
                "lon": float(lon),
                "lat": float(lat),
                "organisation": organisation,
                "services": services,
            }
        )
        self._push()
        new = pd.DataFrame([row])
        self.stations = pd.concat([self.stations, new[[c for c in new.columns]]], ignore_index=True)
        logger.info("%s: added %s (%s) at %.6f, %.6f", self.name, sid, tr, lon, lat)
        return sid

    def move_station(self, station_id: str, *, lon: float, lat: float) -> None:
        """Move a station to ``lon, lat`` (WGS-84)."""
        r = self._row(station_id)
        _check_lonlat(lon, lat, what=str(station_id))
        self._push()
        st = self.stations.copy()
        st.loc[r, "lon"] = float(lon)
        st.loc[r, "lat"] = float(lat)
        self.stations = st

    def close_station(self, station_id: str) -> None:
        """Remove a station from the scenario."""
        r = self._row(station_id)
        self._push()
        self.stations = self.stations.drop(index=r).reset_index(drop=True)

    def undo(self) -> bool:
        """Undo the last change; ``False`` when there is nothing to undo."""
        if not self._history:
            return False
        self.stations = self._history.pop()
        return True

    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` would change anything."""
        return bool(self._history)

    def copy(self, name: str) -> Scenario:
        """A copy under a new name (fresh undo history)."""
        return Scenario(name=name, stations=self.stations.copy())


def _check_lonlat(lon: float, lat: float, *, what: str) -> None:
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise InputError("scenario.error.bad_coordinates", lon=lon, lat=lat, what=what) from None
    if not (math.isfinite(x) and math.isfinite(y) and abs(x) <= 180 and abs(y) <= 90):
        raise InputError("scenario.error.bad_coordinates", lon=lon, lat=lat, what=what)


# =========================================================================== comparison


def _flags(result: CoverageResult) -> pd.DataFrame:
    d = result.demand
    if d.empty:
        return pd.DataFrame(columns=["id", "tier", "name", "population", "township", "covered", "minutes"])
    return pd.DataFrame(
        {
            "id": d["id"].astype(str),
            "tier": d["tier"].astype(str),
            "name": d["name"].astype(str),
            "population": d["population"].astype(float),
            "township": d["township"].astype(str),
            "covered": d["covered"].fillna(False).astype(bool),
            "minutes": d["minutes"].astype(float),
        }
    )


def _joined(before: CoverageResult, after: CoverageResult) -> pd.DataFrame:
    b = _flags(before)
    a = _flags(after)
    j = b.merge(a[["id", "tier", "covered", "minutes"]], on=["id", "tier"], how="outer", suffixes=("_before", "_after"))
    j["covered_before"] = j["covered_before"].fillna(False).astype(bool)
    j["covered_after"] = j["covered_after"].fillna(False).astype(bool)
    return j


#: Columns of :func:`compare`.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "tier",
    "covered_population_before",
    "covered_population_after",
    "delta_population",
    "newly_covered",
    "lost",
    "percent_before",
    "percent_after",
)


def compare(before: CoverageResult, after: CoverageResult) -> pd.DataFrame:
    """Per-tier before/after figures.

    Returns
    -------
    pandas.DataFrame
        One row per tier: ``tier, covered_population_before, covered_population_after,
        delta_population, newly_covered`` (demand points), ``lost`` (demand points),
        ``percent_before, percent_after``.
    """
    j = _joined(before, after)
    newly = j[~j["covered_before"] & j["covered_after"]].groupby("tier").size()
    lost = j[j["covered_before"] & ~j["covered_after"]].groupby("tier").size()
    tb = before.summary.get("tiers", {})
    ta = after.summary.get("tiers", {})
    rows = []
    for tier in [str(x) for x in TIERS if str(x) in tb or str(x) in ta]:
        sb, sa = tb.get(tier, {}), ta.get(tier, {})
        cb = float(sb.get("covered_population", 0.0))
        ca = float(sa.get("covered_population", 0.0))
        rows.append(
            {
                "tier": tier,
                "covered_population_before": cb,
                "covered_population_after": ca,
                "delta_population": ca - cb,
                "newly_covered": int(newly.get(tier, 0)),
                "lost": int(lost.get(tier, 0)),
                "percent_before": _pct(sb.get("percent_population")),
                "percent_after": _pct(sa.get("percent_population")),
            }
        )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _pct(v: object) -> float:
    return float(v) if isinstance(v, int | float) else float("nan")


def compare_demand(before: CoverageResult, after: CoverageResult) -> pd.DataFrame:
    """Demand rows whose covered flag changed.

    Returns
    -------
    pandas.DataFrame
        ``id, name, tier, population, change`` (``"newly_covered"`` / ``"lost"``),
        ``township, minutes_before, minutes_after``; largest population first.
    """
    j = _joined(before, after)
    changed = j[j["covered_before"] != j["covered_after"]].copy()
    changed["change"] = np.where(changed["covered_after"], "newly_covered", "lost")
    cols = ["id", "name", "tier", "population", "change", "township", "minutes_before", "minutes_after"]
    out = changed[cols].sort_values(["population", "id"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


# =========================================================================== project files


def _standards_json(config: Config) -> str:
    return json.dumps(config.to_dict()["standards"], ensure_ascii=False)


def _check_scenario_names(scenarios: Sequence[Scenario]) -> None:
    names = [s.name for s in scenarios]
    if not names:
        raise InputError("scenario.error.no_scenarios")
    for n in names:
        if not isinstance(n, str) or not n.strip() or n == PROJECT_META_LAYER or n.lower().startswith("gpkg_"):
            raise InputError("scenario.error.bad_name", name=n, reserved=PROJECT_META_LAYER)
    seen: set[str] = set()
    for n in names:
        if n.lower() in seen:
            raise InputError("scenario.error.duplicate_name", name=n)
        seen.add(n.lower())


def save_project(path: str | Path, *, scenarios: Sequence[Scenario], workspace: Workspace | None = None) -> Path:
    """Save scenarios to a GeoPackage project file (written atomically).

    One point layer per scenario (layer name = scenario name; attributes are the
    stations table, geometry the WGS-84 point) plus the metadata table
    :data:`PROJECT_META_LAYER` (format version, scenario order, standards as JSON,
    workspace label).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    import pyogrio  # project files only (0.03 s to import at the app's start)

    final = Path(path)
    _check_scenario_names(scenarios)
    if not final.parent.is_dir():
        raise InputError("scenario.error.no_directory", path=str(final.parent))
    try:
        with atomic_path(final) as tmp:
            for k, sc in enumerate(scenarios):
                st = sc.stations.reset_index(drop=True).copy()
                for c in st.columns:
                    if not pd.api.types.is_numeric_dtype(st[c]) and not pd.api.types.is_bool_dtype(st[c]):
                        st[c] = st[c].astype(object).where(st[c].notna(), "").astype(str)
                gdf = gpd.GeoDataFrame(
                    st, geometry=gpd.points_from_xy(st["lon"].astype(float), st["lat"].astype(float)), crs="EPSG:4326"
                )
                pyogrio.write_dataframe(
                    gdf, tmp, layer=sc.name, driver="GPKG", append=k > 0, geometry_type="Point", promote_to_multi=False
                )
            meta = pd.DataFrame(
                {
                    "position": np.arange(len(scenarios), dtype=np.int64),
                    "scenario": [s.name for s in scenarios],
                    "columns": [json.dumps(list(map(str, s.stations.columns)), ensure_ascii=False) for s in scenarios],
                    "standards_json": _standards_json(workspace.config) if workspace is not None else "",
                    "label": workspace.label if workspace is not None else "",
                    "format_version": PROJECT_FORMAT_VERSION,
                }
            )
            pyogrio.write_dataframe(meta, tmp, layer=PROJECT_META_LAYER, driver="GPKG", append=True)
    except OSError as exc:
        raise InputError("scenario.error.write_failed", path=str(final), reason=str(exc)) from exc
    except pyogrio.errors.DataSourceError as exc:
        raise InputError("scenario.error.write_failed", path=str(final), reason=str(exc)) from exc
    logger.info("saved project %s (%d scenarios)", final, len(scenarios))
    return final


def project_metadata(path: str | Path) -> pd.DataFrame:
    """The metadata table of a project file (one row per scenario, in order)."""
    import pyogrio  # project files only (0.03 s to import at the app's start)

    p = Path(path)
    if not p.is_file():
        raise InputError("scenario.error.project_missing", path=str(p))
    try:
        layers = {str(x[0]) for x in pyogrio.list_layers(p)}
    except pyogrio.errors.DataSourceError as exc:
        raise InputError("scenario.error.not_project", path=str(p), reason=str(exc)) from exc
    if PROJECT_META_LAYER not in layers:
        raise InputError("scenario.error.not_project", path=str(p), reason=PROJECT_META_LAYER)
    meta = pyogrio.read_dataframe(p, layer=PROJECT_META_LAYER, read_geometry=False)
    return pd.DataFrame(meta).sort_values("position").reset_index(drop=True)


def project_config(path: str | Path, *, base: Config | None = None) -> Config | None:
    """Standards saved in a project file applied to ``base`` (``None`` when none were saved)."""
    meta = project_metadata(path)
    text = str(meta["standards_json"].iloc[0]) if len(meta) else ""
    if not text or text == "None":
        return None
    try:
        data = json.loads(text)
        standards = {
            parse_tier(k): Standard(parse_mode(v["mode"]), float(v["minutes"]), tuple(map(float, v["intervals_min"])))
            for k, v in data.items()
        }
    except (ValueError, KeyError, TypeError, PlannerError) as exc:
        raise InputError("scenario.error.not_project", path=str(path), reason=str(exc)) from exc
    cfg = base or Config()
    return replace(cfg, standards={**dict(cfg.standards), **standards})


def load_project(path: str | Path) -> list[Scenario]:
    """Read the scenarios of a project file written by :func:`save_project`, in order."""
    import pyogrio  # project files only (0.03 s to import at the app's start)

    p = Path(path)
    meta = project_metadata(p)
    out: list[Scenario] = []
    for _, m in meta.iterrows():
        name = str(m["scenario"])
        df = pyogrio.read_dataframe(p, layer=name)
        st = pd.DataFrame(df.drop(columns="geometry"))
        cols = json.loads(str(m["columns"])) if m.get("columns") else list(st.columns)
        cols = [c for c in cols if c in st.columns] + [c for c in st.columns if c not in cols]
        st = st[cols]
        for c in st.columns:
            if st[c].dtype == object or pd.api.types.is_string_dtype(st[c]):
                st[c] = st[c].fillna("").astype(str)
        out.append(Scenario(name=name, stations=st.reset_index(drop=True)))
    logger.info("loaded project %s (%d scenarios)", p, len(out))
    return out
