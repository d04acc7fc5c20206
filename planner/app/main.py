"""The page of the app: :func:`main` (run on every script run), the live fragment, the two-step first page.

The root ``app.py`` calls :func:`main`; Streamlit runs that script again on every
rerun, while this module is imported once per process. So everything that belongs to a
script run (page configuration, its start time, the session's start) happens in
:func:`main`, not at import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from planner.app import actions
from planner.app.access_view import access_tab, map_access
from planner.app.map_events import on_map_change
from planner.app.map_parts import MapParts, build_map_parts
from planner.app.state import (
    current_scenario,
    errors_shown_as_message,
    evaluate,
    init_session,
    keep_widget_state,
    roads,
    session,
    view_tier,
)
from planner.app.text import tm
from planner.app.widgets import (
    change_panel,
    compare_view,
    downloads,
    figures_panel,
    gaps_table,
    page_css,
    presentation_css,
    presentation_figures,
    proposals_table,
    sidebar,
    station_controls,
    view_tier_control,
)
from planner.coverage.analyse import CoverageResult
from planner.i18n import set_language, t
from planner.report.webmap import build_map
from planner.settings import TIERS
from planner.workspace.scenario import scenario_label

logger = logging.getLogger(__name__)

MAP_HEIGHT_PX = 620
#: Presentation mode sizes the map to the window with CSS (presentation_css); this is its
#: height until the page's style applies.
PRESENTATION_MAP_HEIGHT_PX = 560
#: A first page sent in two steps (appserver.TWO_STEP_FIRST_PAGE) is completed after this
#: many seconds even if the map's drawn signal did not come (the map failed to load).
FIRST_PAGE_FALLBACK_S = 4.0


def _log_to_stderr() -> None:
    """Write the app's log lines (logger ``planner.app`` and those below it) to stderr, once per process."""
    app_logger = logging.getLogger("planner.app")
    if not app_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        app_logger.addHandler(handler)
        app_logger.setLevel(logging.INFO)


@errors_shown_as_message
def main() -> None:
    """Draw the page: one script run of the app (the root ``app.py`` calls this on every run).

    An unexpected error shows the app's message, not a traceback
    (:func:`planner.app.state.errors_shown_as_message`).
    """
    run_start_s = time.perf_counter()
    _log_to_stderr()
    set_language(str(st.session_state.get("lang", "zh")))  # before the page title, which is in that language
    st.set_page_config(page_title=t("app.title"), page_icon="🗺️", layout="wide")
    init_session()
    ss = session()
    keep_widget_state()
    presentation = bool(ss.get("presentation_on"))
    page_css()
    if presentation:
        presentation_css()
    else:  # in presentation the map's own title names the app and the scenario
        st.title(t("app.title"))
        _data_notice()
    _live(presentation=presentation, run_start_s=run_start_s)
    if not presentation and ss.full_page:
        # sent after the live part: the browser shows figures ~1 s sooner on a first visit
        # (the widgets read their values from session state, with defaults, before this)
        sidebar()
    elif not presentation:  # first step of a two-step first page (see _live)
        st.sidebar.caption(t("app.controls_loading"))  # keeps the sidebar's place
        _complete_first_page()
    logger.info("script run done in %.2f s", time.perf_counter() - run_start_s)


def _data_notice(*, small: bool = False) -> None:
    """Whose data the page shows: the demo's notice, or the label of the files loaded (``small``: a caption)."""
    ss = session()
    if ss.is_demo:
        text = t("app.generated_data", label=t("demo.label"))
        if small:
            st.caption(text)
        else:
            st.info(text)
    else:
        st.caption(tm("app.own_data", label=ss.ws.shown_label()))  # a label from the file names


def _send_full_page(reason: str) -> None:
    """Second step of a two-step first page: rerun the whole script with the controls."""
    ss = session()
    ss.full_page = True
    ss.completing_page = True  # this run keeps the map's signal layer: its layers stay as they are
    logger.info("first page completed (%s)", reason)
    st.rerun(scope="app")


@st.fragment(run_every=FIRST_PAGE_FALLBACK_S)
@errors_shown_as_message
def _complete_first_page() -> None:
    """Send the whole page if the map has not reported itself drawn in time.

    Only drawn while the first page waits for the map; its timer stops with the
    whole page. The first call comes with the page itself and does nothing.
    """
    ss = session()
    ss.first_page_checks += 1
    if ss.first_page_checks > 1 and not ss.full_page:
        _send_full_page(f"no signal from the map after {FIRST_PAGE_FALLBACK_S:.0f} s")


@st.fragment
@errors_shown_as_message
def _live(*, presentation: bool, run_start_s: float) -> None:
    """Everything an edit changes: messages, map, figures, before/after, station controls, tabs.

    A fragment: a click on the map (or close, undo, accept) reruns only this part, not
    the sidebar. Widgets outside it do not depend on the scenario's stations. On the
    first step of a two-step first page it sends only messages, map, figures and the
    before/after panel; the map's drawn signal reruns it, which sends the whole page.
    ``run_start_s`` is when the script run that drew the page started (for the log).
    """
    started_s = time.perf_counter()
    ss = session()
    if not ss.full_page and ss.get("map_drawn"):
        _send_full_page("the map is drawn")
    # the map's drawn signal: a hidden layer, kept in the run that completes the page so
    # that the browser does not redraw the map's layers then (~0.25 s sooner controls)
    signal_layer = not ss.full_page or ss.get("completing_page", False)
    ss.completing_page = False
    set_language(ss.get("lang", "zh"))
    result = evaluate()
    view = view_tier()
    t0 = time.perf_counter()
    sc = current_scenario()
    map_args: dict[str, Any] = dict(
        result=result,
        isochrones={},  # filled in just before the map is built: the figures go out first
        roads=roads(),
        areas=ss.ws.areas,
        proposals=ss.proposals,
        tiers=[view, *[x for x in TIERS if x != view]],
        tiles=(ss.get("tile_url") or None),
        tiles_attribution=ss.get("tile_attr") or "",
        presentation=presentation,
        title=f"{t('app.title')} · {scenario_label(ss.current)}",
        demand_first_tier_only=True,
        changes=sc.changes(),
        access=map_access(),
    )
    build_s = time.perf_counter() - t0

    # always one container, so that messages do not shift the map's place in the page
    # (a shifted component is mounted anew: the map would reload instead of updating)
    with st.container():
        for kind, text in ss.messages:
            getattr(st, kind)(text)
    ss.messages = []

    # sent in the order figures, map, before/after panel (the map is the slow part of a
    # rerun; the panel's place is reserved, so it does not wait for the map)
    if presentation:
        # one screen: the map (as high as the window, see presentation_css) beside the figures
        left, right = st.columns([3, 1])
        with right:
            if st.button(t("app.presentation_exit"), key="exit_presentation"):
                actions.leave_presentation()
                st.rerun(scope="app")  # the sidebar is outside this fragment
            presentation_figures(result, tier=view)
            change_box = st.container()
            _data_notice(small=True)
        with left:
            view_tier_control(compact=True)
            build_s += _circle_and_map(
                map_args, signal_layer=signal_layer, run_start_s=run_start_s, height_px=PRESENTATION_MAP_HEIGHT_PX
            )
        with change_box:
            change_panel(compact=True)
    else:
        left, right = st.columns([3, 2])
        with right:
            change_box = st.container()
            figures_panel(result)
        with left:
            view_tier_control()
            st.caption(t("app.sim.hint", action=t(f"app.sim.action_{ss.get('click_action', 'add')}")))
            build_s += _circle_and_map(map_args, signal_layer=signal_layer, run_start_s=run_start_s)
        with change_box:
            change_panel()
        if ss.full_page:
            with left:
                station_controls()
            _sections(result, map_args)
    logger.info(
        "live part built in %.2f s (isochrones+map %.3f s)",
        time.perf_counter() - started_s,
        build_s,
    )
    if ss.get("edit_started"):
        logger.info("edit to rendered page (server side) %.3f s", time.perf_counter() - ss.edit_started)
        ss.edit_started = None


def _sections(result: CoverageResult, map_args: dict[str, Any]) -> None:
    """The tabs under the map: gaps, proposals, accessibility, scenario comparison, downloads."""
    tabs = st.tabs(
        [
            t("app.figures.header"),
            t("app.prop.header"),
            t("app.access.tab"),
            t("app.scen.compare_header"),
            t("app.dl.header"),
        ],
        key="section",  # keeps the open tab across reruns (messages above shift the layout)
        on_change="rerun",
    )
    # only the open tab is computed (tabs report .open because they have a key)
    views: tuple[Callable[[], None], ...] = (
        lambda: gaps_table(result),
        proposals_table,
        lambda: access_tab(result),
        compare_view,
        lambda: downloads(result, lambda: build_map(**map_args)),
    )
    for tab, view in zip(tabs, views, strict=True):
        if tab.open is not False:
            with tab:
                view()


def _circle_and_map(
    map_args: dict[str, Any], *, signal_layer: bool, run_start_s: float, height_px: int = MAP_HEIGHT_PX
) -> float:
    """Compute the viewed tier's circle into ``map_args``, build the map and send it; seconds spent building.

    Called after the figures are sent: the circle (recomputed after an edit of the viewed
    tier) is the slow part of a rerun. ``map_args["tiers"][0]`` is the viewed tier.
    """
    ss = session()
    view = map_args["tiers"][0]
    t0 = time.perf_counter()
    map_args["isochrones"] = {view: ss.isochrones.isochrones(ss.ws, current_scenario().stations, tier=view)}
    parts = build_map_parts(**map_args, immediate_clicks=True, ready_signal=signal_layer)
    build_s = time.perf_counter() - t0
    _map(parts, run_start_s=run_start_s, height_px=height_px)
    return build_s


def _map(parts: MapParts, *, run_start_s: float, height_px: int = MAP_HEIGHT_PX) -> None:
    """The map component: the base map reloads only when it changes, edits swap ``parts.layers``."""
    ss = session()
    from streamlit_folium import st_folium

    t0 = time.perf_counter()
    st_folium(
        parts.base,
        key="map",
        feature_group_to_add=parts.layers,
        layer_control=parts.control,
        height=height_px,
        use_container_width=True,
        returned_objects=["last_clicked", "last_object_clicked", "last_object_clicked_tooltip"],
        on_change=on_map_change,
    )
    logger.info("st_folium %.3f s", time.perf_counter() - t0)
    if not ss.map_logged:
        ss.map_logged = True
        logger.info("first map sent %.2f s after the script run started", time.perf_counter() - run_start_s)
