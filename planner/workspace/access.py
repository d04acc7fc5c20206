"""Accessibility and equity of one tier, through the workspace (the one path from files to numbers).

:func:`tier_accessibility` measures every demand point of a tier against the tier's
stations, on network minutes of the tier's travel mode
(:func:`planner.network.times.network_times` from the same snapped stations and demand
points :meth:`Workspace.evaluate` uses: a station refused there as off the network is
refused here). :func:`tier_equity` puts the tier's minutes to the nearest station (from
:meth:`Workspace.evaluate`, so shares within N minutes are the covered shares) and, when
given, the accessibility per township (:func:`planner.coverage.equity.equity_table`).
:meth:`Workspace.accessibility` and :meth:`Workspace.equity` call these; the CLI
(``planner access``), the app and the workbook call those.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from planner._errors import InputError, ids_text
from planner.coverage.access import DEFAULT_FLOOR_MIN, Method, accessibility
from planner.coverage.analyse import CoverageResult
from planner.coverage.equity import EQUITY_COLUMNS, equity_table, gini, palma
from planner.i18n import t
from planner.network.times import network_times
from planner.settings import Tier, parse_tier
from planner.workspace.scenario import check_stations

if TYPE_CHECKING:
    from planner.workspace.workspace import Workspace

logger = logging.getLogger(__name__)

__all__ = [
    "ACCESS_FRAME_COLUMNS",
    "SUPPLY_COLUMN",
    "access_summary",
    "access_tables",
    "equity_summary",
    "station_supply",
    "tier_accessibility",
    "tier_equity",
]

#: The stations' supply column (:data:`planner.inputs.tables.STATION_COLUMNS`: 规模 / 面积 / 服务能力 / 人员数).
SUPPLY_COLUMN = "supply"
#: Columns of :func:`tier_accessibility`'s frame.
ACCESS_FRAME_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "township",
    "population",
    "value",
    "normalised",
    "reached",
    "minutes",
)


def station_supply(stations: pd.DataFrame, *, column: str | None = None, source: str = "") -> np.ndarray:
    """Supply of each station: ``column`` (default :data:`SUPPLY_COLUMN` when present), else 1 each.

    Raises
    ------
    InputError
        The named column is missing; a station's supply is empty, not a number or negative.
    """
    name = column or SUPPLY_COLUMN
    if name not in stations.columns:
        if column is not None:
            raise InputError("access.error.no_supply_column", column=column, source=source)
        return np.ones(len(stations), dtype=np.float64)
    values = pd.to_numeric(stations[name], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise InputError(
            "access.error.bad_supply",
            source=source,
            column=name,
            count=int(bad.sum()),
            ids=ids_text(stations["id"].to_numpy()[bad]),
        )
    return values


def access_summary(frame: pd.DataFrame) -> dict[str, float | None]:
    """Population-weighted mean, Gini and Palma of an accessibility frame's ``value`` (``None`` when undefined)."""
    pop = frame["population"].to_numpy(np.float64)
    val = frame["value"].to_numpy(np.float64)
    total = float(pop.sum())
    out = {
        "mean": float(pop @ val) / total if total > 0 else float("nan"),
        "gini": gini(val, weights=pop),
        "palma": palma(val, weights=pop),
    }
    return {k: v if np.isfinite(v) else (None if np.isnan(v) else v) for k, v in out.items()}


def _tier_demand(ws: Workspace, stations: pd.DataFrame, tier: Tier) -> pd.DataFrame:
    """The tier's demand rows as :meth:`Workspace.evaluate` reports them (township, minutes, status)."""
    result = ws.evaluate(stations, tiers=(tier,))
    rows = result.demand[result.demand["tier"].astype(str) == str(tier)]
    return rows.reset_index(drop=True)


def tier_accessibility(
    ws: Workspace,
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
    """Accessibility of the tier's demand points to the tier's stations (see :meth:`Workspace.accessibility`)."""
    tier = parse_tier(tier)
    check_stations(stations)
    stations = stations.reset_index(drop=True)
    std = ws.config.standards[tier]
    catchment = float(std.minutes if catchment_min is None else catchment_min)
    key, rows = ws._tier_key(stations, tier)
    tr = ws._tier_result(stations, tier, rows, key)
    tier_stations = stations.iloc[rows]
    sup = station_supply(tier_stations, column=supply, source=ws.stations_file or t(f"tier.{tier}"))
    demand = ws.demand.iloc[tr.demand_rows]
    times = network_times(
        ws._graph(std.mode),
        sites=tr.station_snap,
        demand=tr.snap,
        cutoff_min=catchment,
        demand_ids=demand["id"].astype(str).to_numpy(object),
        site_ids=tier_stations["id"].astype(str).to_numpy(object),
    )
    res = accessibility(
        times, population=demand["population"].to_numpy(np.float64), supply=sup, method=method,
        catchment_min=catchment, steps=steps, beta=beta, floor_min=floor_min,
    )  # fmt: skip
    shown = _tier_demand(ws, stations, tier)
    pos = pd.Index(shown["id"].astype(str)).get_indexer(pd.Index(demand["id"].astype(str)))
    frame = pd.DataFrame(
        {
            "id": demand["id"].to_numpy(),
            "name": shown["name"].to_numpy()[pos],
            "township": shown["township"].to_numpy()[pos],
            "population": res.population,
            "value": res.value,
            "normalised": res.normalised,
            "reached": res.reached,
            "minutes": shown["minutes"].to_numpy(np.float64)[pos],
        },
        columns=list(ACCESS_FRAME_COLUMNS),
    )
    frame.attrs["summary"] = {
        "tier": str(tier),
        "mode": str(std.mode),
        "method": method,
        "parameters": res.parameters,
        "stations": len(rows),
        "supply_column": supply or (SUPPLY_COLUMN if SUPPLY_COLUMN in stations.columns else None),
        **access_summary(frame),
    }
    logger.info("accessibility %s %s: %d demand points, %d stations", tier, method, len(frame), len(rows))
    return frame


def tier_equity(
    ws: Workspace,
    result_or_stations: CoverageResult | pd.DataFrame,
    *,
    tier: Tier | str,
    access: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Equity of the tier per township (see :meth:`Workspace.equity`)."""
    tier = parse_tier(tier)
    if isinstance(result_or_stations, CoverageResult):
        rows = result_or_stations.demand
        rows = rows[rows["tier"].astype(str) == str(tier)].reset_index(drop=True)
    else:
        rows = _tier_demand(ws, result_or_stations, tier)
    std = ws.config.standards[tier]
    acc = None
    if access is not None:
        pos = pd.Index(access["id"].astype(str)).get_indexer(pd.Index(rows["id"].astype(str)))
        if (pos < 0).any():
            raise InputError("access.error.access_mismatch", tier=t(f"tier.{tier}"))
        acc = access["value"].to_numpy(np.float64)[pos]
    minutes = rows["minutes"].to_numpy(np.float64)
    table = equity_table(
        np.where(np.isnan(minutes), np.inf, minutes),
        population=rows["population"].to_numpy(np.float64),
        within_min=float(std.minutes),
        horizon_min=float(std.minutes) * float(ws.config.horizon_factor),
        township=rows["township"].to_numpy(object),
        access=acc,
    )
    table.insert(0, "tier", str(tier))
    return table


def access_tables(
    ws: Workspace,
    stations: pd.DataFrame,
    *,
    result: CoverageResult,
    method: Method = "2sfca",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accessibility of every evaluated tier's demand points and every tier's equity table.

    What the workbook's 可达性 and 公平性 sheets and ``summary.json``'s ``equity`` hold, in
    the CLI's ``--out`` folder and the app's downloads alike: ``method`` at each tier's
    standard catchment, supply from the stations' supply column (1 each without one).
    Tiers without demand points are left out. Both frames start with a ``tier`` column;
    the accessibility frame also names the ``method``.
    """
    acc_parts, eq_parts = [], []
    for tier in result.tiers:
        if not (result.demand["tier"].astype(str) == str(tier)).any():
            continue
        acc = tier_accessibility(ws, stations, tier=tier, method=method)
        eq_parts.append(tier_equity(ws, result, tier=tier, access=acc))
        acc_parts.append(acc.assign(method=method))
        acc_parts[-1].insert(0, "tier", str(tier))
    acc_cols = ["tier", *ACCESS_FRAME_COLUMNS, "method"]
    access = pd.concat(acc_parts, ignore_index=True) if acc_parts else pd.DataFrame(columns=acc_cols)
    equity = pd.concat(eq_parts, ignore_index=True) if eq_parts else pd.DataFrame(columns=["tier", *EQUITY_COLUMNS])
    return access, equity


def equity_summary(equity: pd.DataFrame, *, method: str) -> dict[str, dict[str, float | str | None]]:
    """Per tier, the county row of :func:`access_tables`'s equity frame (``summary.json``'s ``equity``)."""
    out: dict[str, dict[str, float | str | None]] = {}
    county = equity[~equity["tier"].astype(str).duplicated()]  # each tier's first row: the whole county
    for _, row in county.iterrows():
        vals: dict[str, float | str | None] = {"access_method": method}
        for col in EQUITY_COLUMNS[1:]:
            v = pd.to_numeric(row[col], errors="coerce")  # None where a tier has no demand point
            vals[col] = float(v) if pd.notna(v) and np.isfinite(v) else None
        out[str(row["tier"])] = vals
    return out
