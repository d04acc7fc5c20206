"""New-site proposals on a workspace: the one way from stations and demand to a siting problem.

:meth:`planner.workspace.workspace.Workspace.propose` (the app, the notebook) and ``planner site``
(the CLI) both come here, so the same inputs and options give the same candidates, the
same problem and the same sites. The candidate sites of a tier are, by default:

* points along the roads the tier's mode can use, every :data:`CANDIDATE_SPACING_M`
  metres (the spacing widens when there would be more than :data:`MAX_ROAD_CANDIDATES`);
* the tier's demand locations (a village square, a community office);
* and any sites from a planner's own file (``candidates``, with an optional cost);

minus exclusion polygons. Existing stations of the tier stay and their coverage counts
as already covered; stations too far from a road follow the workspace's off-network
policy (refused unless ``allow_off_network_stations``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._errors import InputError, SitingError
from planner.coverage.analyse import CoverageResult, TierResult, assign_townships, no_demand_reason
from planner.coverage.figures import no_demand_text
from planner.i18n import join_names, t
from planner.network.roads import RoadNetwork
from planner.network.snapping import snap_points
from planner.network.times import TravelTimes, network_times
from planner.settings import Config, Tier, parse_tier
from planner.siting.candidates import (
    CANDIDATE_SPACING_M,
    combine_candidates,
    coverage_sets,
    demand_candidates,
    nearest_label,
    road_candidates,
)
from planner.siting.capacity import CapacitatedSitingResult, existing_cover_from_assignment
from planner.siting.location import LocationResult, TimeProblem
from planner.siting.models import DEFAULT_MIP_REL_GAP, DEFAULT_TIME_LIMIT_S, SitingResult, Solver, removal_ranking
from planner.siting.problem import CoverageProblem
from planner.workspace.siting_models import (
    MODELS,
    ModelInputs,
    Request,
    Result,
    SitingModel,
    UnreachableMode,
    check_request,
    solve,
)


class Workspace(Protocol):
    """What a proposal needs of a :class:`planner.workspace.workspace.Workspace`."""

    network: RoadNetwork
    demand: pd.DataFrame
    config: Config
    areas: gpd.GeoDataFrame | None

    def evaluate(self, stations: pd.DataFrame, *, tiers: tuple[Tier, ...] | None = None) -> CoverageResult:
        """Coverage of ``stations`` (see :meth:`planner.workspace.workspace.Workspace.evaluate`)."""
        ...


logger = logging.getLogger(__name__)

__all__ = [
    "CANDIDATE_SPACING_M",
    "MAX_ROAD_CANDIDATES",
    "MODELS",
    "PROPOSAL_COLUMNS",
    "CandidateOptions",
    "Proposal",
    "candidate_capacity",
    "network_inputs",
    "proposal_of",
    "propose",
    "siting_problem",
    "solve",
    "station_times",
    "time_problem",
]

#: Road candidate sites above this number are thinned by widening the spacing (keeps a
#: county-wide drive-time proposal within seconds).
MAX_ROAD_CANDIDATES: int = 4000
#: Columns of :attr:`Proposal.sites`.
PROPOSAL_COLUMNS: tuple[str, ...] = (
    "rank",
    "site_id",
    "name",
    "lon",
    "lat",
    "tier",
    "newly_covered_population",
    "cost",
    "source",
    "township",
)


@dataclass(frozen=True)
class CandidateOptions:
    """Where candidate sites come from (the same defaults on every surface).

    Parameters
    ----------
    road
        Points along the roads usable by the tier's mode.
    demand
        The tier's demand locations.
    spacing_m
        Spacing of road candidates (metres).
    max_road
        Cap on road candidates (the spacing widens beyond it).
    extra
        A planner's own candidate sites (``id, name, lon, lat`` [, ``cost``, ``township``]).
    exclude
        Polygons where no site may be proposed.
    """

    road: bool = True
    demand: bool = True
    spacing_m: float = CANDIDATE_SPACING_M
    max_road: int = MAX_ROAD_CANDIDATES
    extra: pd.DataFrame | None = field(default=None, compare=False)
    exclude: gpd.GeoDataFrame | None = field(default=None, compare=False)


@dataclass(frozen=True)
class NetworkProblem:
    """A siting problem built on the road network, with the rows and candidates it came from."""

    problem: CoverageProblem
    candidates: pd.DataFrame  # candidates kept (on the network), aligned with problem columns
    demand_rows: Any  # rows of the demand table, aligned with problem rows
    tier: Tier
    minutes: float
    build_seconds: float


@dataclass(frozen=True)
class Proposal:
    """Proposed sites and what the solver says about them.

    Attributes
    ----------
    sites
        :data:`PROPOSAL_COLUMNS`, best first; for the redundancy question
        (``review_existing``) the ranking of existing stations instead.
    summary
        Model, objective (covered population including existing stations), newly
        covered, bound, gap, solver, seconds, candidates (JSON-ready).
    """

    sites: pd.DataFrame
    summary: dict[str, Any]


def _candidates(ws: Workspace, *, tier: Tier, options: CandidateOptions, rows: Any) -> pd.DataFrame:
    if not (math.isfinite(options.spacing_m) and options.spacing_m > 0):
        raise InputError("scenario.error.bad_spacing", value=options.spacing_m)
    graph = ws.network.travel_graph(mode=ws.config.standards[tier].mode, config=ws.config)
    road = (
        road_candidates(graph, spacing_m=options.spacing_m, max_candidates=options.max_road, prefix="R")
        if options.road
        else None
    )
    dem = demand_candidates(ws.demand.iloc[rows]) if options.demand else None
    extra = options.extra
    if extra is not None:
        extra = extra.assign(source=extra.get("source", "file"))
    return combine_candidates(extra, road, dem, exclude=options.exclude)


def siting_problem(
    ws: Workspace,
    stations: pd.DataFrame,
    *,
    tier: Tier | str,
    options: CandidateOptions | None = None,
    review_existing: bool = False,
) -> NetworkProblem:
    """The coverage problem of ``tier``: demand rows × candidate sites (or existing stations).

    Parameters
    ----------
    ws
        The workspace (network, demand, standards, areas, caches).
    stations
        Current stations (all tiers); the tier's own are kept and their coverage fixed.
    tier
        Tier whose standard (mode, N minutes) defines coverage.
    options
        Candidate sources (:class:`CandidateOptions`; defaults when ``None``).
    review_existing
        Build the problem over the tier's existing stations instead (which could close
        losing the least coverage).

    Raises
    ------
    InputError
        Stations off the network (unless the workspace allows them), bad spacing.
    SitingError
        No candidate site on the network.
    """
    t0 = time.perf_counter()
    tier = parse_tier(tier)
    options = options or CandidateOptions()
    # every tier, as ``planner coverage`` does: a station far from every road is refused
    # (unless the workspace allows it) whichever tier the proposal is for
    result = ws.evaluate(stations)
    tr = result.tiers[tier]
    std = ws.config.standards[tier]
    graph = ws.network.travel_graph(mode=std.mode, config=ws.config)
    if review_existing:
        own = result.stations.iloc[tr.station_rows]
        own = own[own["on_network"].astype(bool)]
        cands = own[["id", "name", "lon", "lat"]].assign(source="station").reset_index(drop=True)
        existing = np.zeros(len(tr.demand_rows), bool)
        if not len(cands):
            raise SitingError("siting.error.no_candidates")
    else:
        cands = _candidates(ws, tier=tier, options=options, rows=tr.demand_rows)
        existing = np.isfinite(tr.time_s) & (tr.time_s <= std.limit_s + 1e-6)
    cover, cands = coverage_sets(
        graph, candidates=cands, targets=tr.snap, limit_s=std.limit_s, max_snap_m=ws.config.max_snap_m
    )
    demand = ws.demand.iloc[tr.demand_rows].reset_index(drop=True)
    township_d = result.demand.loc[result.demand["tier"] == str(tier), "township"].astype(str).to_numpy(object)
    # a candidate's township: from the candidates file where it gives one, else the
    # township polygon it lies in, else the township of the nearest demand point
    township_c = assign_townships(
        cands.assign(township=""), areas=ws.areas, township_fallback=nearest_label(demand, township_d, cands)
    ).to_numpy(object)
    if "township" in cands:
        given = cands["township"].fillna("").astype(str).to_numpy(object)
        township_c = np.where(given != "", given, township_c)
    cost = cands["cost"].to_numpy(float) if "cost" in cands else None
    problem = CoverageProblem(
        cover=cover,
        weights=demand["population"].to_numpy(float) if "population" in demand else np.ones(len(demand)),
        covered_by_existing=existing,
        demand_ids=demand["id"].astype(str).to_numpy(object),
        candidate_ids=cands["id"].astype(str).to_numpy(object),
        candidate_cost=cost,
        demand_group=township_d,
        candidate_group=township_c,
    )
    cands = cands.assign(township=township_c)
    secs = time.perf_counter() - t0
    logger.info(
        "tier %s: %d demand × %d candidates, %d pairs within %g min (%.2f s)",
        tier, len(demand), len(cands), cover.nnz, std.minutes, secs,
    )  # fmt: skip
    return NetworkProblem(problem, cands, tr.demand_rows, tier, std.minutes, secs)


def propose(
    ws: Workspace,
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
    """Propose new sites for ``tier`` (see :meth:`planner.workspace.workspace.Workspace.propose`).

    The model is the :data:`MODELS` entry named ``model``; its options are checked before
    any work (:func:`planner.workspace.siting_models.check_request`).
    """
    tier = parse_tier(tier)
    goals = sum(x is not None for x in (k, target_percent, budget)) + int(review_existing)
    if goals != 1:
        raise InputError("scenario.error.propose_options")
    request = Request(
        k=k, target_percent=target_percent, budget=budget, review_existing=review_existing,
        min_per_township=min_per_township, max_per_township=max_per_township, solver=solver,
        time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, unreachable=unreachable, weighted=weighted,
        require_cover=require_cover, capacity=capacity,
    )  # fmt: skip
    spec = check_request(model, request)
    reason = no_demand_reason(ws.demand, serves=ws.config.tier_demand[tier])
    if reason is not None:  # nothing to cover: say why instead of "0 sites, 100 %"
        raise InputError(
            "scenario.error.propose_no_demand", tier=t(f"tier.{tier}"), reason=no_demand_text(reason), options=""
        )
    np_ = siting_problem(ws, stations, tier=tier, options=candidates, review_existing=review_existing)
    std = ws.config.standards[tier]
    base: dict[str, Any] = {"tier": str(tier), "mode": str(std.mode), "minutes": std.minutes}
    if review_existing:
        table = removal_ranking(np_.problem)
        table.insert(0, "tier", str(tier))
        return Proposal(table, {**base, "model": "redundancy", "stations": len(table)})
    t0 = time.perf_counter()
    inputs = network_inputs(ws, stations, np_, spec=spec, request=request, cutoff_min=cutoff_min)
    build_s = time.perf_counter() - t0
    res = spec.run(inputs, request)
    base.update(
        candidates=len(np_.candidates),
        candidate_sources=np_.candidates["source"].value_counts().to_dict(),
        coverage_sets_seconds=round(np_.build_seconds, 3),
    )
    if spec.problem == "time":
        base["times_seconds"] = round(build_s, 3)
    if res is not None:
        logger.info(
            "propose %s %s: %d candidates, %d pairs, build %.2f + %.2f s, solve %.2f s (%s, %s)",
            tier, spec.name, len(np_.candidates), np_.problem.cover.nnz, np_.build_seconds, build_s, res.seconds,
            res.solver, res.status,
        )  # fmt: skip
    return proposal_of(np_.candidates, res, tier=tier, base=base)


def proposal_of(candidates: pd.DataFrame, result: Result, *, tier: Tier | str, base: dict[str, Any]) -> Proposal:
    """The :class:`Proposal` of a model's result (every model, every surface).

    ``sites``: :data:`PROPOSAL_COLUMNS`, plus ``gain`` for the travel-time models and
    ``capacity`` / ``load`` (people) for the capacitated ones. ``summary``: ``base`` and
    the result's summary (``model``, ``objective``, ``mean_minutes`` for the travel-time
    models, ``bound``, ``gap`` and the model's details), the ids it could not serve.
    """
    if result is None:
        return Proposal(sites_frame(candidates, None, tier=tier), dict(base))
    summary = {**base, **result.summary()}
    if isinstance(result, LocationResult):
        sites = location_sites_frame(candidates, result, tier=tier)
        summary["unreachable_ids"] = [str(x) for x in result.unreachable_ids[:50]]
        load, cap = result.details.get("site_load"), result.details.get("site_capacity")
    else:
        sites = sites_frame(candidates, result, tier=tier)
        summary["uncoverable_ids"] = [str(x) for x in result.uncoverable_ids[:50]]
        load = cap = None
        if isinstance(result, CapacitatedSitingResult):
            load, cap = result.site_load.tolist(), _none_inf(result.site_capacity)
            summary.update(site_load=load, site_capacity=cap, existing_load=result.existing_load.tolist())
    if load is not None and cap is not None:
        summary["capacity"] = True
        sites = sites.assign(
            capacity=np.array([np.nan if c is None else c for c in cap], dtype=float),
            load=np.asarray(load, dtype=float),
        )
    return Proposal(sites, summary)


def _none_inf(values: Any) -> list[float | None]:
    return [None if not np.isfinite(x) else float(x) for x in np.asarray(values, dtype=float)]


def network_inputs(
    ws: Workspace,
    stations: pd.DataFrame,
    np_: NetworkProblem,
    *,
    spec: SitingModel,
    request: Request,
    cutoff_min: float | None = None,
) -> ModelInputs:
    """What ``spec`` needs on the road network besides ``np_``'s coverage problem.

    * travel-time models: :func:`time_problem`;
    * backup: the number of the tier's existing stations within the standard of each
      demand point (times from every station, not only the nearest);
    * capacities (``request.capacity``): :func:`candidate_capacity`; the existing
      stations' capacities are the load report's (``capacity`` column, else the tier's
      default) and each keeps the demand the load report assigns it (MCLP) or serves any
      point within the cutoff (p-median; only when some existing station is limited).
    """
    tier = np_.tier
    times = time_problem(ws, stations, np_, cutoff_min=cutoff_min) if spec.problem == "time" else None
    out = ModelInputs(coverage=np_.problem if spec.problem == "coverage" else None, times=times)
    if not (spec.counts_existing or request.capacity):
        return out
    result = ws.evaluate(stations)
    tr = result.tiers[tier]
    limit_s = ws.config.standards[tier].limit_s
    st_ids = result.stations["id"].astype(str).to_numpy(object)[tr.station_rows]
    if spec.counts_existing:
        within = station_times(ws, tr, site_ids=st_ids, cutoff_min=(limit_s + 1e-6) / 60.0)
        ok = within.minutes * 60.0 <= limit_s + 1e-6
        count = np.bincount(within.rows[ok], minlength=within.n_demand).astype(np.int64)
        covered = np_.problem.covered_by_existing
        if ((count > 0) != covered).any():  # the one definition of covered is the coverage figures'
            logger.warning(
                "backup: %d points' station count disagrees with coverage", int(((count > 0) != covered).sum())
            )
            count = np.where(covered, np.maximum(count, 1), 0)
        out = replace(out, existing_count=count)
    if request.capacity:
        cap = candidate_capacity(np_.candidates, config=ws.config, tier=tier)
        ex_cap = result.stations["capacity"].to_numpy(float)[tr.station_rows]
        if spec.problem == "coverage":
            covered = np_.problem.covered_by_existing
            col = pd.Index(tr.station_rows).get_indexer(pd.Index(tr.station_row))
            col = np.where(covered, col, -1)
            ex_cover = existing_cover_from_assignment(col, n_stations=len(tr.station_rows))
            out = replace(out, capacity=cap, existing_cover=ex_cover, existing_capacity=ex_cap)
        elif np.isfinite(ex_cap).any() and times is not None:
            ex_times = station_times(ws, tr, site_ids=st_ids, cutoff_min=times.times.cutoff_min)
            out = replace(out, capacity=cap, existing_times=ex_times, existing_capacity=ex_cap)
        else:  # every existing station unlimited: each point keeps its nearest
            out = replace(out, capacity=cap)
    return out


def station_times(ws: Workspace, tr: TierResult, *, site_ids: Any, cutoff_min: float) -> TravelTimes:
    """Minutes from each of the tier's stations to its demand points within ``cutoff_min``.

    The stations' and points' snaps are the coverage result's (``tr``), so a point is
    within the standard of a station here exactly when the coverage figures say so.
    """
    graph = ws.network.travel_graph(mode=ws.config.standards[tr.tier].mode, config=ws.config)
    demand_ids = ws.demand["id"].astype(str).to_numpy(object)[tr.demand_rows]
    return network_times(
        graph, sites=tr.station_snap, demand=tr.snap, cutoff_min=cutoff_min, demand_ids=demand_ids, site_ids=site_ids
    )


def candidate_capacity(candidates: pd.DataFrame, *, config: Config, tier: Tier) -> NDArray[np.float64]:
    """People each candidate can serve: its ``capacity`` column, else the tier's default.

    Raises
    ------
    SitingError
        Some candidates get no capacity from either (says how many, of which source, and
        where to add one: the candidates file's 容量 column or ``[tier_capacity]``).
    """
    given = (
        pd.to_numeric(candidates["capacity"], errors="coerce").to_numpy(np.float64)
        if "capacity" in candidates
        else np.full(len(candidates), np.nan)
    )
    cap: NDArray[np.float64] = np.where(np.isnan(given), config.capacity_of(tier), given)
    missing = ~np.isfinite(cap)
    if missing.any():
        src = candidates["source"].astype(str) if "source" in candidates else pd.Series("file", index=candidates.index)
        counts = src[missing].value_counts()
        raise SitingError(
            "siting.error.capacity_missing",
            count=int(missing.sum()),
            sources=join_names(f"{t(f'exports.source.{k}')} {v}" for k, v in counts.items()),
            tier=t(f"tier.{tier}"),
            tier_key=str(tier),
        )
    return cap


def time_problem(
    ws: Workspace, stations: pd.DataFrame, np_: NetworkProblem, *, cutoff_min: float | None = None
) -> TimeProblem:
    """Travel minutes from ``np_``'s candidates to its demand rows, with the tier's stations fixed.

    The cutoff is the tier's horizon (standard × ``config.horizon_factor``, the reach of
    the coverage figures) unless ``cutoff_min`` is given; a point's existing minutes are
    the coverage result's time to its nearest station (``inf`` beyond the horizon).
    """
    tier = np_.tier
    std = ws.config.standards[tier]
    tr = ws.evaluate(stations).tiers[tier]
    horizon = std.minutes * ws.config.horizon_factor if cutoff_min is None else float(cutoff_min)
    graph = ws.network.travel_graph(mode=std.mode, config=ws.config)
    cands = np_.candidates
    c_snap = snap_points(
        graph, lon=cands["lon"].to_numpy(float), lat=cands["lat"].to_numpy(float), max_snap_m=ws.config.max_snap_m
    )
    times = network_times(
        graph, sites=c_snap, demand=tr.snap, cutoff_min=horizon,
        demand_ids=np_.problem.demand_ids, site_ids=np_.problem.candidate_ids,
    )  # fmt: skip
    existing = np.where(np.isfinite(tr.time_s), tr.time_s / 60.0, np.inf)
    return TimeProblem(
        times=times,
        weights=np_.problem.weights,
        existing_min=existing,
        demand_group=np_.problem.demand_group,
        candidate_group=np_.problem.candidate_group,
    )


def location_sites_frame(candidates: pd.DataFrame, result: LocationResult, *, tier: Tier | str) -> pd.DataFrame:
    """The chosen sites of a travel-time model as :data:`PROPOSAL_COLUMNS` plus ``gain``.

    ``newly_covered_population`` is NaN (the model does not count coverage); ``gain`` is
    the population-weighted minutes each site saves (marginal, in rank order).
    """
    n = len(result.site_ids)
    frame = _frame(candidates, result.site_ids, newly=np.full(n, np.nan), cost=None, tier=tier)
    return frame.assign(gain=np.asarray(result.site_gain, dtype=float))


def sites_frame(candidates: pd.DataFrame, result: SitingResult | None, *, tier: Tier | str) -> pd.DataFrame:
    """The chosen candidates in rank order as :data:`PROPOSAL_COLUMNS` (empty for ``None``)."""
    if result is None:
        return _frame(candidates, np.zeros(0, dtype=object), newly=np.zeros(0), cost=np.zeros(0), tier=tier)
    return _frame(candidates, result.site_ids, newly=result.newly_covered, cost=result.site_cost, tier=tier)


def _frame(
    candidates: pd.DataFrame,
    site_ids: Any,
    *,
    newly: Any,
    cost: Any | None,
    tier: Tier | str,
) -> pd.DataFrame:
    cands = candidates.reset_index(drop=True)
    pos = pd.Index(cands["id"].astype(str)).get_indexer(pd.Index(np.asarray(site_ids)).astype(str))
    chosen, gains = cands.iloc[pos], newly
    if cost is None:
        cost = chosen["cost"].to_numpy(float) if "cost" in chosen else np.ones(len(chosen))
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1, dtype=np.int64),
            "site_id": chosen["id"].astype(str).to_numpy(object),
            "name": (chosen["name"] if "name" in chosen else chosen["id"]).astype(str).to_numpy(object),
            "lon": chosen["lon"].to_numpy(float),
            "lat": chosen["lat"].to_numpy(float),
            "tier": str(tier),
            "newly_covered_population": np.asarray(gains, dtype=float),
            "cost": np.asarray(cost, dtype=float),
            "source": (chosen["source"] if "source" in chosen else pd.Series("file", index=chosen.index))
            .astype(str)
            .to_numpy(object),
            "township": (chosen["township"] if "township" in chosen else pd.Series("", index=chosen.index))
            .fillna("")
            .astype(str)
            .to_numpy(object),
        }
    )
    return out[list(PROPOSAL_COLUMNS)]
