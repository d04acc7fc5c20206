"""Coverage: who is inside each tier's N-minute service circle, and summaries.

One bounded multi-source pass per tier (:func:`planner.network.reach.nearest_times`) gives
every demand point its travel time to the nearest station of that tier. From those
times this module derives coverage flags, interval distributions, per-township
tables, the ranked gap list and station loads.

Which demand counts for which tier is the configuration's choice
(:attr:`planner.settings.Config.tier_demand`): by default the enterprise tier counts the
demand rows of kind ``enterprise`` (a 类型 of 企业, or the rows of an enterprise file) and
the other tiers count residents (every other row, including rows of no stated kind).
When a tier has no demand rows, its summary says why (``no_demand_reason``, see
:func:`no_demand_reason`) instead of leaving a bare "—".
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._errors import InputError
from planner.coverage.figures import AREA_FIGURES, COUNT_FIGURES, figures_from_status, point_figures
from planner.inputs.population_source import estimate_summary
from planner.network.reach import nearest_times
from planner.network.roads import RoadNetwork, TravelGraph
from planner.network.snapping import Snap
from planner.settings import Config, Mode, Standard, Tier, TierDemand

logger = logging.getLogger(__name__)

#: Status of a demand point for a tier.
STATUSES: tuple[str, ...] = ("covered", "uncovered", "unreachable", "off_network", "no_station")


@dataclass
class TierResult:
    """Raw per-tier arrays (aligned with the tier's demand rows)."""

    tier: Tier
    mode: Mode
    minutes: float
    demand_rows: NDArray[np.int64]
    time_s: NDArray[np.float64]
    station_row: NDArray[np.int64]  # row in the stations table, -1 if none
    snap: Snap
    station_rows: NDArray[np.int64]
    station_snap: Snap
    engine_s: float


@dataclass
class CoverageResult:
    """Everything a coverage analysis produces.

    Attributes
    ----------
    demand
        One row per demand point and tier: id, name, tier, township, population,
        population_source (when the demand table has it: estimates stay marked),
        lon, lat, minutes (NaN if unreachable within the horizon or off-network),
        station_id, covered (True/False, <NA> when off-network), snap_m, status,
        interval_min (smallest interval reached), beyond_min, on_main_network,
        stranded (on the network, but only on road pieces that cannot reach or cannot
        be reached from the main network: see :mod:`planner.network.snapping`).
    stations
        The stations with snap distance, component and load: ``load_population``
        (population for which each is the nearest, within the search horizon) and
        ``covered_population`` (population for which it is the nearest within the
        standard: **the station's load**); ``capacity`` (people; the stations' 容量
        column, else the tier's ``Config.tier_capacity``; NaN: unlimited),
        ``load_ratio`` (load ÷ capacity; NaN when unlimited) and ``overloaded`` (load
        above capacity). See :func:`station_capacity_load`.
    summary
        Per-tier figures and the parameters used (JSON-friendly dict); with
        ``population_estimates`` (:func:`planner.inputs.population_source.estimate_summary`)
        when any demand population is an estimate.
    areas
        Per township and tier: demand, population, covered, covered population, percent.
    gaps
        Uncovered demand ranked by population, with minutes beyond the standard.
    tiers
        Raw per-tier arrays (for isochrones and incremental updates).
    """

    demand: pd.DataFrame
    stations: pd.DataFrame
    summary: dict[str, Any]
    areas: pd.DataFrame
    gaps: pd.DataFrame
    tiers: dict[Tier, TierResult] = field(default_factory=dict)


def demand_rows_for_tier(demand: pd.DataFrame, *, serves: TierDemand) -> NDArray[np.int64]:
    """Rows of ``demand`` a tier serving ``serves`` counts (see the module docstring).

    A row is enterprise workers when its ``kind`` is ``"enterprise"``; every other row
    (village, community, residents, empty or no ``kind`` column) is residents.
    """
    if serves == "all":
        return np.arange(len(demand), dtype=np.int64)
    kind = demand["kind"].fillna("").astype(str) if "kind" in demand else pd.Series("", index=demand.index)
    is_ent = (kind == "enterprise").to_numpy()
    return np.flatnonzero(is_ent if serves == "enterprise" else ~is_ent).astype(np.int64)


def no_demand_reason(demand: pd.DataFrame, *, serves: TierDemand) -> str | None:
    """Why a tier serving ``serves`` has no demand rows; ``None`` if it has some.

    One of :data:`planner.coverage.figures.NO_DEMAND_REASONS` (text:
    :func:`planner.coverage.figures.no_demand_text`).
    """
    if len(demand_rows_for_tier(demand, serves=serves)):
        return None
    if not len(demand):
        return "no_rows"
    return "no_enterprise" if serves == "enterprise" else "no_residents"


def _off_network_line(r: pd.Series, *, row: object, dist: float) -> str:
    from planner.i18n import t

    return t(
        "coverage.station_off_network_line",
        row=row,
        id=r["id"],
        name=r.get("name", ""),
        lon=f"{r['lon']:.6f}",
        lat=f"{r['lat']:.6f}",
        dist=("?" if not np.isfinite(dist) else f"{dist:.0f}"),
    )


def _joined_lines(problems: list[str], *, limit: int = 30) -> str:
    return "\n".join(problems[:limit]) + ("\n…" if len(problems) > limit else "")


def check_stations_on_network(
    stations: pd.DataFrame, snaps: dict[Tier, tuple[NDArray[np.int64], Snap]], *, max_snap_m: float, file: str
) -> None:
    """Raise one :class:`InputError` listing every station farther than ``max_snap_m`` from a road."""
    problems: list[str] = []
    for _tier, (rows, snap) in snaps.items():
        for k in np.flatnonzero(~snap.on_network):
            r = stations.iloc[int(rows[k])]
            problems.append(_off_network_line(r, row=r.get("source_row", int(rows[k]) + 2), dist=snap.snap_m[k]))
    if problems:
        raise InputError(
            "coverage.stations_off_network",
            file=file,
            count=len(problems),
            max_snap_m=f"{max_snap_m:.0f}",
            lines=_joined_lines(problems),
        )


def off_network_lines(stations: pd.DataFrame) -> tuple[int, str]:
    """Count and list (one line each, at most 30) the stations of an evaluated table that are off the network.

    ``stations`` has the result columns ``on_network`` and ``snap_m``. Same wording as
    the error of :func:`check_stations_on_network`: source row (``—`` for stations
    added in the app), id, name, coordinates, distance to the nearest road.
    """
    off = stations[~stations["on_network"].astype(bool)]
    problems = []
    for _, r in off.iterrows():
        row = r.get("source_row")
        if row is None or pd.isna(row):
            row = "—"
        elif float(row).is_integer():
            row = int(row)
        problems.append(_off_network_line(r, row=row, dist=float(r["snap_m"])))
    return len(problems), _joined_lines(problems)


def stranded_lines(table: pd.DataFrame, stranded: NDArray[np.bool_], *, limit: int = 30) -> str:
    """One line per stranded point of ``table`` (id, name, lon, lat; at most ``limit``), for warnings."""
    from planner.i18n import t

    rows = table.iloc[np.flatnonzero(stranded)]
    lines = [
        t(
            "coverage.stranded_line",
            id=r["id"],
            name=r.get("name", ""),
            lon=f"{r['lon']:.6f}",
            lat=f"{r['lat']:.6f}",
        )
        for _, r in rows.iterrows()
    ]
    return _joined_lines(lines, limit=limit)


def tier_result(
    graph: TravelGraph,
    *,
    tier: Tier,
    standard: Standard,
    station_rows: NDArray[np.int64],
    station_snap: Snap,
    demand_rows: NDArray[np.int64],
    demand_snap: Snap,
    horizon_factor: float,
    started: float | None = None,
) -> TierResult:
    """One tier's nearest-station times (one multi-source pass up to the horizon)."""
    t0 = time.perf_counter() if started is None else started
    res = nearest_times(graph, sources=station_snap, targets=demand_snap, limit_s=standard.limit_s * horizon_factor)
    st_row = np.full(len(res.source), -1, dtype=np.int64)
    hit = res.source >= 0
    st_row[hit] = station_rows[res.source[hit]]
    return TierResult(
        tier=tier,
        mode=standard.mode,
        minutes=standard.minutes,
        demand_rows=demand_rows,
        time_s=res.time_s,
        station_row=st_row,
        snap=demand_snap,
        station_rows=station_rows,
        station_snap=station_snap,
        engine_s=time.perf_counter() - t0,
    )


def _interval_of(minutes: NDArray[np.float64], intervals: tuple[float, ...]) -> NDArray[np.float64]:
    edges = np.asarray(intervals, dtype=np.float64)
    idx = np.searchsorted(edges, minutes - 1e-9, side="left")
    out = np.full(len(minutes), np.nan)
    ok = np.isfinite(minutes) & (idx < len(edges))
    out[ok] = edges[idx[ok]]
    return out


def assign_townships(
    demand: pd.DataFrame,
    *,
    areas: gpd.GeoDataFrame | None,
    township_fallback: pd.Series | None,
) -> pd.Series:
    """Township of every demand row: polygon layer, else the demand's field, else fallback."""
    if areas is not None and len(areas):
        pts = gpd.GeoDataFrame(
            {"_row": np.arange(len(demand))},
            geometry=gpd.points_from_xy(demand["lon"], demand["lat"]),
            crs="EPSG:4326",
        )
        joined = gpd.sjoin(pts, areas[["name", "geometry"]].to_crs("EPSG:4326"), how="left", predicate="within")
        joined = joined[~joined["_row"].duplicated()]
        out = pd.Series(joined.sort_values("_row")["name"].to_numpy(), index=demand.index, dtype=object)
        return out.fillna("")
    if "township" in demand and (demand["township"].fillna("").astype(str) != "").any():
        return demand["township"].fillna("").astype(str)
    if township_fallback is not None:
        return township_fallback.fillna("").astype(str)
    return pd.Series("", index=demand.index, dtype=object)


def summarise(
    network: RoadNetwork,
    *,
    stations: pd.DataFrame,
    demand: pd.DataFrame,
    raw: dict[Tier, TierResult],
    config: Config,
    areas: gpd.GeoDataFrame | None = None,
    area_townships: pd.Series | None = None,
) -> CoverageResult:
    """Turn per-tier arrays into tables (cheap; rerun after every what-if change).

    ``area_townships`` is ``assign_townships(demand, areas=areas, ...)`` when the caller
    keeps it (it depends on demand and areas only, not on the stations).
    """
    pop = demand["population"].to_numpy(float) if "population" in demand else np.ones(len(demand))
    if area_townships is not None and areas is not None and len(areas):
        township = area_townships
    else:
        fallback = None  # the serving township centre, when neither areas nor a township column name it
        if Tier.TOWNSHIP in raw:
            tr = raw[Tier.TOWNSHIP]
            names = np.full(len(demand), "", dtype=object)
            ok = tr.station_row >= 0
            names[tr.demand_rows[ok]] = stations["name"].to_numpy(object)[tr.station_row[ok]]
            fallback = pd.Series(names, index=demand.index)
        township = assign_townships(demand, areas=areas, township_fallback=fallback)
    frames: list[pd.DataFrame] = []
    summary: dict[str, Any] = {}
    sources = _population_sources(demand)
    station_load = pd.DataFrame(
        {
            "load_population": np.zeros(len(stations)),
            "load_demand": np.zeros(len(stations), dtype=np.int64),
            "covered_population": np.zeros(len(stations)),
            "snap_m": np.full(len(stations), np.nan),
            "on_network": np.zeros(len(stations), bool),
        }
    )
    for tier, tr in raw.items():
        std = config.standards[tier]
        rows = tr.demand_rows
        minutes = tr.time_s / 60.0
        reached = np.isfinite(minutes)
        on = tr.snap.on_network
        has_station = bool(tr.station_snap.on_network.any())
        covered = reached & (minutes <= std.minutes + 1e-9)
        not_covered = "uncovered" if has_station else "no_station"
        status = np.where(
            ~on,
            "off_network",
            np.where(
                covered, "covered", np.where(reached, not_covered, "unreachable" if has_station else "no_station")
            ),
        )
        p = pop[rows]
        # row -1 (no station within the horizon) picks the "" appended last; also with no station at all
        st_ids = np.append(stations["id"].astype(str).to_numpy(object), "")[tr.station_row]
        df = pd.DataFrame(
            {
                "id": demand["id"].astype(str).to_numpy(object)[rows],
                "name": demand["name"].astype(str).to_numpy(object)[rows] if "name" in demand else "",
                "tier": str(tier),
                "township": township.to_numpy(object)[rows],
                "population": p,
                "lon": demand["lon"].to_numpy(float)[rows],
                "lat": demand["lat"].to_numpy(float)[rows],
                "minutes": np.where(reached, np.round(minutes, 3), np.nan),
                "station_id": st_ids,
                "covered": pd.array(np.where(on, covered, False), dtype="boolean"),
                "snap_m": np.round(tr.snap.snap_m, 1),
                "status": status,
                "interval_min": _interval_of(minutes, std.all_intervals_min()),
                "beyond_min": np.where(reached & ~covered, np.round(minutes - std.minutes, 3), np.nan),
                "on_main_network": tr.snap.on_main,
                "stranded": tr.snap.stranded,
            }
        )
        df.loc[~on, "covered"] = pd.NA
        if sources is not None:  # estimates stay marked as such in every table (demand, gaps)
            df.insert(5, "population_source", sources[rows])
        frames.append(df)
        # station loads
        near = tr.station_row >= 0
        np.add.at(station_load["load_population"].to_numpy(), tr.station_row[near], p[near])
        np.add.at(station_load["load_demand"].to_numpy(), tr.station_row[near], 1)
        np.add.at(station_load["covered_population"].to_numpy(), tr.station_row[near & covered], p[near & covered])
        station_load.loc[tr.station_rows, "snap_m"] = np.round(tr.station_snap.snap_m, 1)
        station_load.loc[tr.station_rows, "on_network"] = tr.station_snap.on_network
        dist: dict[str, float] = {}
        lower = -np.inf
        for iv in std.all_intervals_min():
            m = reached & (minutes > lower + 1e-9) & (minutes <= iv + 1e-9)
            dist[f"{max(lower, 0):g}-{iv:g}"] = float(p[m & on].sum())
            lower = iv
        dist[f">{lower:g}"] = float(p[on & reached & (minutes > lower + 1e-9)].sum())
        dist["unreachable"] = float(p[on & ~reached].sum())
        dist["off_network"] = float(p[~on].sum())
        summary[str(tier)] = {
            "mode": str(std.mode),
            "minutes": std.minutes,
            "intervals_min": list(std.all_intervals_min()),
            "speeds_kph": {k: v for k, v in config.speed_table(std.mode).items() if np.isfinite(v)},
            "access_walk_speed_kph": config.walk_speed_kph,
            "stations": len(tr.station_rows),
            "stations_on_network": int(tr.station_snap.on_network.sum()),
            "stations_off_network": int((~tr.station_snap.on_network).sum()),
            "serves": str(config.tier_demand[tier]),
            "no_demand_reason": None if len(rows) else no_demand_reason(demand, serves=config.tier_demand[tier]),
            "stations_stranded": int(tr.station_snap.stranded.sum()),
            "stranded": int(tr.snap.stranded.sum()),
            "stranded_population": float(p[tr.snap.stranded].sum()),
            **figures_from_status(status, p),
            "population_by_interval": dist,
            "engine_seconds": round(tr.engine_s, 4),
        }
    demand_out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    capacity = station_capacity_load(stations, station_load["covered_population"].to_numpy(), config=config)
    for tier, tr in raw.items():
        summary[str(tier)]["stations_overloaded"] = int(capacity["overloaded"].to_numpy()[tr.station_rows].sum())
    # a table that is itself a result (re-evaluated) keeps one column of each name
    base = stations.reset_index(drop=True).drop(columns=[*station_load, *capacity], errors="ignore")
    st_out = pd.concat([base, station_load, capacity], axis=1)
    areas_out = _area_table(demand_out)
    gaps = _gap_table(demand_out)
    comps = network.components()
    summary_all: dict[str, Any] = {
        "tiers": summary,
        "network": {
            "source": network.source,
            "nodes": network.n_nodes,
            "segments": network.n_edges,
            "components": comps.n_components,
            "nodes_outside_largest_component": comps.nodes_outside_largest(),
        },
        "parameters": config.to_dict(),
    }
    if sources is not None:
        estimates = estimate_summary(sources, pop)
        if estimates is not None:
            summary_all["population_estimates"] = estimates
    return CoverageResult(
        demand=demand_out, stations=st_out, summary=summary_all, areas=areas_out, gaps=gaps, tiers=raw
    )


def station_capacity_load(stations: pd.DataFrame, load: NDArray[np.float64], *, config: Config) -> pd.DataFrame:
    """Capacity, load ratio and the overloaded flag of every station.

    Parameters
    ----------
    stations
        The stations table (``tier``; optional ``capacity`` in people, NaN where empty).
    load
        People each station serves: those for whom it is the nearest station within
        the standard (``covered_population``, the one definition of a station's load).
    config
        ``tier_capacity`` gives the capacity where the table has none.

    Returns
    -------
    pandas.DataFrame
        ``capacity`` (NaN: unlimited), ``load_ratio`` (load ÷ capacity; NaN when
        unlimited, ``inf`` for a capacity of 0 with a load) and ``overloaded`` (load
        above capacity), aligned with ``stations``.
    """
    n = len(stations)
    given = (
        pd.to_numeric(stations["capacity"], errors="coerce").to_numpy(np.float64)
        if "capacity" in stations
        else np.full(n, np.nan)
    )
    tiers = stations["tier"].astype(str).to_numpy(object) if "tier" in stations else np.full(n, "", object)
    default = {str(tr): config.capacity_of(tr) for tr in config.standards}
    fallback = np.array([default.get(x, np.inf) for x in tiers], dtype=np.float64)
    cap = np.where(np.isnan(given), fallback, given)
    cap = np.where(np.isinf(cap), np.nan, cap)
    load = np.asarray(load, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cap > 0, load / cap, np.where(load > 0, np.inf, 0.0))
    ratio = np.where(np.isnan(cap), np.nan, ratio)
    return pd.DataFrame(
        {"capacity": cap, "load_ratio": np.round(ratio, 6), "overloaded": ~np.isnan(cap) & (load > cap + 1e-9)}
    )


def _population_sources(demand: pd.DataFrame) -> NDArray[np.object_] | None:
    """The demand table's ``population_source`` values, or None when it has none (no 人口来源 column)."""
    if "population_source" not in demand:
        return None
    sources = demand["population_source"].fillna("").astype(str).to_numpy(object)
    return sources if (sources != "").any() else None


#: Columns of the per-township table (:attr:`CoverageResult.areas`): the township, the
#: tier and the township's figures (:data:`planner.coverage.figures.AREA_FIGURES`).
AREA_COLUMNS: tuple[str, ...] = ("township", "tier", *AREA_FIGURES)


def _area_table(demand_out: pd.DataFrame) -> pd.DataFrame:
    """Per township and tier, the same figures as the tier headline (so the rows add up to it)."""
    cols = list(AREA_COLUMNS)
    if demand_out.empty:
        return pd.DataFrame(columns=cols)
    points = pd.DataFrame(
        point_figures(demand_out["status"].to_numpy(object), demand_out["population"].to_numpy(float))
    )
    points["township"] = demand_out["township"].to_numpy(object)
    points["tier"] = demand_out["tier"].to_numpy(object)
    out = points.groupby(["township", "tier"], sort=True).sum().reset_index()
    for k in COUNT_FIGURES:
        out[k] = out[k].round().astype(int)
    pop, cov = out["population"].to_numpy(float), out["covered_population"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["percent_population"] = np.where(pop > 0, np.round(100.0 * cov / pop, 2), np.nan)
    return out[cols]


def _gap_table(demand_out: pd.DataFrame) -> pd.DataFrame:
    if demand_out.empty:
        return demand_out
    gaps = demand_out[demand_out["status"].isin(["uncovered", "unreachable", "no_station"])].copy()
    gaps["_beyond_sort"] = gaps["beyond_min"].fillna(np.inf)
    gaps = gaps.sort_values(["population", "_beyond_sort"], ascending=[False, False], kind="stable")
    gaps = gaps.drop(columns=["_beyond_sort"]).reset_index(drop=True)
    gaps.insert(0, "rank", np.arange(1, len(gaps) + 1))
    return gaps
