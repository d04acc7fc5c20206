"""Session state of the app: its start, the current scenario, messages, the error guard, edits.

Each browser session keeps its workspace, scenarios and caches in ``st.session_state``
(:func:`init_session`); callbacks and views reach them through the helpers here.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec

import geopandas as gpd
import pandas as pd
import streamlit as st

from planner._errors import PlannerError
from planner.app import launcher as appserver
from planner.app.launcher import IsochroneCache, ResultCache, demo_state
from planner.app.text import Markdown, error_text, plain_text, tm
from planner.coverage.analyse import CoverageResult
from planner.i18n import set_language
from planner.report.webmap_layers import road_lines
from planner.settings import TIERS, Tier
from planner.workspace.edits import apply_edit
from planner.workspace.scenario import Scenario, station_changes

logger = logging.getLogger(__name__)
P = ParamSpec("P")

#: Widget values kept while the widgets are hidden (presentation mode drops the sidebar).
PERSISTENT_KEYS = (
    "lang_en",
    "click_action",
    "add_tier",
    "prop_tier",
    "prop_model",
    "prop_k",
    "prop_target",
    "prop_weighted",
    "prop_capacity",
    "access_method",
    "access_on_map",
    "coords_stations",
    "coords_demand",
    "allow_off_network",
    "view_tier",
    "tile_url",
    "tile_attr",
    *(f"{kind}_{tier}" for kind in ("mode", "minutes", "serves") for tier in TIERS),
)


#: Initial values of widgets (set through session state, so widgets take no default argument).
WIDGET_DEFAULTS: dict[str, Any] = {
    "add_tier": str(Tier.VILLAGE),
    "prop_tier": str(Tier.VILLAGE),
    "prop_model": "mclp",
    "prop_k": 3,
    "prop_target": 90.0,
    "view_tier": str(Tier.VILLAGE),
}


def session() -> Any:
    """The session state of the running script (``st.session_state``)."""
    return st.session_state


def roads() -> gpd.GeoDataFrame:
    """Road lines of the current network, built once per network (kept with the network)."""
    ss = session()
    cached = ss.get("roads_cache")
    if cached is None or cached[0] is not ss.ws.network:
        cached = (ss.ws.network, road_lines(ss.ws.network))
        ss.roads_cache = cached
    return cached[1]


def callback(fn: Callable[P, None]) -> Callable[P, None]:
    """A widget callback: it runs before the script body, so it sets the session's language first.

    An unexpected error is logged with its traceback (the server log) and shown as the
    app's message :func:`unexpected_error_text`, never as a traceback in the browser.
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        set_language(session().get("lang", "zh"))
        try:
            fn(*args, **kwargs)
        except Exception:
            logger.exception("callback %s failed", fn.__name__)
            if "messages" in session():
                say("error", unexpected_error_text())

    return run


def unexpected_error_text() -> Markdown:
    """What the browser is told of an error the app did not expect: the details are in the server log."""
    return tm("app.error.unexpected")


def errors_shown_as_message(fn: Callable[P, None]) -> Callable[P, None]:
    """Draw a part of the page; an unexpected error becomes a message there, its traceback goes to the log.

    Streamlit would show the traceback (server paths, library versions) in the page;
    ``client.showErrorDetails = "none"`` hides it behind an English sentence. This
    shows the app's own message in the session's language instead. Streamlit's own
    control flow (``st.rerun``, ``st.stop``) is not an ``Exception`` and passes through.
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:
            logger.exception("%s failed", fn.__name__)
            st.error(unexpected_error_text())

    return run


def init_session() -> None:
    """Open a new session on the demo county (shared, built once per process); nothing if already open."""
    ss = session()
    if "ws" in ss:
        return
    t0 = time.perf_counter()
    demo = demo_state()  # built once per process (at server start under planner.app.launcher)
    sc = demo.scenario
    ss.ws = demo.workspace.with_config(demo.workspace.config)
    ss.roads_cache = (ss.ws.network, demo.roads)  # shared by every demo session
    ss.is_demo = True
    ss.scenarios = {sc.name: sc.copy(sc.name)}
    ss.current = sc.name
    ss.results = ResultCache()
    ss.results.put(ss.ws, ss.scenarios[sc.name].stations, demo.result)
    ss.isochrones = IsochroneCache()
    ss.isochrones.put(ss.ws, ss.scenarios[sc.name].stations, Tier.VILLAGE, demo.isochrones)
    ss.proposals = None
    ss.proposal_tier = None
    ss.last_change = None  # (before, after) results of the last edit
    ss.messages = []  # (kind, text) shown once
    ss.last_click = None
    ss.map_logged = False
    ss.lang = "zh"
    # a two-step first page: map and figures first, the controls once the map is drawn
    ss.full_page = not appserver.TWO_STEP_FIRST_PAGE
    ss.first_page_checks = 0
    logger.info("session started on the demo county (waited %.2f s for it)", time.perf_counter() - t0)


def keep_widget_state() -> None:
    """Set the widgets' initial values and keep the values of widgets that are hidden in this run."""
    ss = session()
    for key, value in WIDGET_DEFAULTS.items():
        ss.setdefault(key, value)
    for key in PERSISTENT_KEYS:
        if key in ss:
            ss[key] = ss[key]


def current_scenario() -> Scenario:
    """The scenario the session is editing."""
    ss = session()
    scenario: Scenario = ss.scenarios[ss.current]
    return scenario


def say(kind: str, text: Markdown) -> None:
    """Show ``text`` once, above the map, as ``st.<kind>`` (``"success"``, ``"error"``...).

    ``text`` is Markdown made by :func:`planner.app.text.tm` (or escaped with
    :func:`planner.app.text.md_escape`): values from the user's files show as written.
    """
    session().messages.append((kind, text))


def guard(action: Callable[[], None], *, file: str = "", folder: str = "") -> bool:
    """Run ``action``; show planner errors (and anything else) as a message, never a traceback.

    ``folder`` is a temporary folder the files were copied into: it is taken out of the
    message, so a file is named as the user chose it, never by its internal copy.
    """
    try:
        action()
    except PlannerError as exc:
        say("error", error_text(exc, clean=lambda text: _without_folder(text, folder)))
        return False
    except Exception as exc:
        logger.exception("action failed")
        reason = _without_folder(f"{type(exc).__name__}: {exc}", folder)
        say("error", tm("app.data.unexpected", file=file or "-", reason=reason))
        return False
    return True


def _without_folder(text: str, folder: str) -> str:
    if not folder:
        return text
    return text.replace(str(Path(folder)) + os.sep, "").replace(str(Path(folder)), "")


def evaluate() -> CoverageResult:
    """Coverage of the current scenario (from the session's result cache when unchanged)."""
    ss = session()
    result: CoverageResult = ss.results.evaluate(ss.ws, current_scenario().stations)
    return result


def view_tier() -> Tier:
    """The tier the map shows (its service circle, its demand's coverage, its stations on top)."""
    return Tier(session().get("view_tier") or Tier.VILLAGE)


def show_tier(tier: Tier | str) -> None:
    """Make ``tier`` the viewed tier (from a callback: the control above the map follows)."""
    session().view_tier = str(Tier(tier))


def show_tier_of_change(stations_before: pd.DataFrame) -> None:
    """Show the tier of the station the last edit (or undo) changed, if any."""
    changed = station_changes(current_scenario().stations, baseline=stations_before)
    if len(changed):
        show_tier(changed["tier"].iloc[0])


def edit(change: Callable[[Scenario], Markdown]) -> None:
    """Apply an edit to the current scenario (:func:`planner.workspace.edits.apply_edit`) and remember the results.

    ``change`` returns the message shown on success; the before/after results feed the
    before/after panel.
    """
    ss = session()
    t0 = time.perf_counter()
    msg = Markdown()

    def run(sc: Scenario) -> None:
        nonlocal msg
        msg = change(sc)

    def cached(stations: pd.DataFrame) -> CoverageResult:
        result: CoverageResult = ss.results.evaluate(ss.ws, stations)
        return result

    stations_before = current_scenario().stations
    before, after = apply_edit(ss.ws, current_scenario(), run, evaluate=cached)
    show_tier_of_change(stations_before)
    ss.last_change = (before, after)
    ss.edit_started = t0
    logger.info("edit evaluated in %.3f s (%s)", time.perf_counter() - t0, plain_text(msg))
    say("success", msg)
