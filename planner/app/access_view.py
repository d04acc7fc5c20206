"""The 可达性 (accessibility) tab: a method, its county figures, the Lorenz curve, townships, and the map's colouring.

Everything comes from the workspace (:meth:`planner.workspace.workspace.Workspace.accessibility`
and :meth:`~planner.workspace.workspace.Workspace.equity`), so the tab shows the figures
the workbook's 可达性 and 公平性 sheets and ``planner access`` give for the same
stations, tier and method. The result is kept per scenario state and options
(:func:`tier_access`): the map's colouring (:func:`map_access`) and the tab share it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from planner.app.state import current_scenario, session, view_tier
from planner.app.text import html_text
from planner.app.widgets import html_table
from planner.coverage import figures
from planner.coverage.access import METHODS
from planner.coverage.analyse import CoverageResult
from planner.coverage.equity import lorenz
from planner.i18n import t
from planner.settings import Tier

logger = logging.getLogger(__name__)

__all__ = ["access_tab", "map_access"]

#: County figures shown above the chart (labels and definitions: the figures table).
TAB_FIGURES = ("mean_access", "gini_access", "mean_min", "p90_min", "gini_min", "palma_min")
#: Township table columns (figures), after the township name.
TOWNSHIP_FIGURES = ("population", "percent_within", "mean_min", "p90_min", "gini_min", "mean_access", "gini_access")
#: Points of the Lorenz chart (population share 0, 1 %, … 100 %).
LORENZ_POINTS = 101


def _options(tier: Tier) -> tuple[str, float]:
    ss = session()
    method = str(ss.get("access_method", "2sfca"))
    default = float(ss.ws.config.standards[tier].minutes)
    catchment = float(ss.get(f"access_catchment_{tier}", default))
    return method, catchment


def tier_access(tier: Tier) -> pd.DataFrame:
    """The tier's accessibility frame for the current scenario and the tab's options (kept while unchanged)."""
    ss = session()
    stations = current_scenario().stations
    method, catchment = _options(tier)
    digest = int(pd.util.hash_pandas_object(stations[["id", "tier", "lon", "lat"]], index=False).sum())
    key = (str(tier), method, catchment, digest, id(ss.ws), ss.ws.config)
    cached = ss.get("access_cache")
    if cached is not None and cached[0] == key:
        frame: pd.DataFrame = cached[1]
        return frame
    t0 = time.perf_counter()
    frame = ss.ws.accessibility(stations, tier=tier, method=method, catchment_min=catchment)
    where = ss.ws.demand.set_index(ss.ws.demand["id"].astype(str))[["lon", "lat"]]
    pos = where.index.get_indexer(pd.Index(frame["id"].astype(str)))
    frame = frame.assign(lon=where["lon"].to_numpy(float)[pos], lat=where["lat"].to_numpy(float)[pos])
    ss.access_cache = (key, frame)
    logger.info("accessibility %s %s in the app: %.2f s", tier, method, time.perf_counter() - t0)
    return frame


def map_access() -> tuple[pd.DataFrame, str] | None:
    """The viewed tier's accessibility and method when the map is to be coloured by it, else ``None``."""
    ss = session()
    if not ss.get("access_on_map"):
        return None
    tier = view_tier()
    return tier_access(tier), _options(tier)[0]


def _lorenz_chart(frame: pd.DataFrame, equity_minutes: pd.DataFrame) -> None:
    grid = np.linspace(0.0, 1.0, LORENZ_POINTS)
    pop = frame["population"].to_numpy(float)
    lines: dict[str, Any] = {}
    if pop.sum() > 0:
        p, v = lorenz(frame["value"].to_numpy(float), weights=pop)
        lines[t("app.access.lorenz_access")] = np.interp(grid, p, v)
        minutes = equity_minutes["minutes"].to_numpy(float)
        p, v = lorenz(minutes, weights=equity_minutes["population"].to_numpy(float))
        lines[t("app.access.lorenz_minutes")] = np.interp(grid, p, v)
    lines[t("app.access.lorenz_equal")] = grid
    x = t("app.access.lorenz_x")
    shares = {k: np.round(np.asarray(v) * 100, 2) for k, v in lines.items()}
    chart = pd.DataFrame({x: np.round(grid * 100, 1), **shares})
    st.caption(t("app.access.lorenz_caption"))
    st.line_chart(chart, x=x, y=list(lines), y_label=t("app.access.lorenz_y"), height=320)


def access_tab(result: CoverageResult) -> None:
    """The 可达性 tab of the viewed tier."""
    ss = session()
    tier = view_tier()
    std = ss.ws.config.standards[tier]
    st.subheader(t("app.access.header", tier=t(f"tier.{tier}")))
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    ss.setdefault("access_method", "2sfca")
    c1.selectbox(
        t("app.access.method"),
        list(METHODS),
        format_func=lambda m: t(f"access.method.{m}"),
        key="access_method",
        help=t("app.access.method_help"),
    )
    ss.setdefault(f"access_catchment_{tier}", int(std.minutes))
    c2.number_input(t("app.access.catchment"), min_value=1, max_value=240, step=5, key=f"access_catchment_{tier}")
    c3.toggle(t("app.access.on_map"), key="access_on_map")
    frame = tier_access(tier)
    if not len(frame):
        st.info(t("app.access.no_demand"))
        return
    equity = ss.ws.equity(result, tier=tier, access=frame)
    county = equity.iloc[0]
    serves = result.summary["tiers"].get(str(tier), {}).get("serves")
    cols = st.columns(len(TAB_FIGURES))
    for col, key in zip(cols, TAB_FIGURES, strict=True):
        col.metric(
            figures.label(key, tier=str(tier), serves=serves),
            figures.display(key, county[key]),
            help=figures.definition(key),
        )
    rows = result.demand[result.demand["tier"].astype(str) == str(tier)]
    horizon = float(std.minutes) * float(ss.ws.config.horizon_factor)
    minutes = rows["minutes"].to_numpy(float)
    by_minutes = pd.DataFrame(
        {
            "minutes": np.where(np.isfinite(minutes), np.minimum(minutes, horizon), horizon),
            "population": rows["population"].to_numpy(float),
        }
    )
    _lorenz_chart(frame, by_minutes)
    st.caption(t("app.access.townships_caption"))
    towns = equity.iloc[1:]
    text_col = t("app.col.township")
    table = pd.DataFrame(
        {
            text_col: towns["township"].astype(str).to_numpy(object),
            **{
                figures.label(k, tier=str(tier), serves=serves): [figures.display(k, v) for v in towns[k]]
                for k in TOWNSHIP_FIGURES
            },
        }
    )
    styled = table.style.format(html_text, subset=[text_col])  # names come from user files
    styled = styled.set_properties(subset=[c for c in table.columns if c != text_col], **{"text-align": "right"})
    html_table(styled)
