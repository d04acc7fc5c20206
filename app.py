"""群团服务网络规划器 — Streamlit app (UI state and wiring only; the logic lives in planner/).

Run with ``scripts/run.sh`` (``python -m planner.app.launcher``: the demo county is built while
the server starts) or ``streamlit run app.py``. Opens on the generated demo county.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec

import pandas as pd
import streamlit as st

from planner._errors import InputError, PlannerError
from planner.app import launcher as appserver
from planner.app.launcher import IsochroneCache, ResultCache, demo_state
from planner.coverage.analyse import CoverageResult, off_network_lines
from planner.i18n import get_language, set_language, t
from planner.report import figures
from planner.report.webmap import MAP_READY_KEY, MapParts, build_map, build_map_parts, road_lines
from planner.settings import TIERS, Mode, Tier
from planner.workspace.project import load_project
from planner.workspace.scenario import Scenario, compare, compare_demand, newly_off_network
from planner.workspace.workspace import Workspace

logger = logging.getLogger("planner.app")
P = ParamSpec("P")
if not logger.handlers:
    _h = logging.StreamHandler()
    _h.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(_h)
    logger.setLevel(logging.INFO)

#: The three figures shown per tier (labels and definitions: planner.report.figures).
APP_FIGURES = ("percent_population", "outside_population", "uncovered")
#: Columns of the per-township table under the map (they add up to the tier's headline).
GAP_TABLE_FIGURES = (
    "population",
    "covered_population",
    "outside_population",
    "off_network_population",
    "unreachable_population",
    "percent_population",
)
#: Download buttons: file of planner.report.files.report_files, button key, label, MIME type.
DOWNLOADS = (
    ("report.xlsx", "excel", "app.dl.excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("demand.csv", "csv", "app.dl.csv", "text/csv"),
    ("coverage.gpkg", "gpkg", "app.dl.gpkg", "application/geopackage+sqlite3"),
    ("map.html", "html", "app.dl.html", "text/html"),
    ("map.png", "png", "app.dl.png", "image/png"),
    ("map.pdf", "pdf", "app.dl.pdf", "application/pdf"),
    ("project.gpkg", "project", "app.scen.save", "application/geopackage+sqlite3"),
)
MAX_UPLOAD_MB = 100
UPLOAD_TYPES = ["csv", "xlsx", "xls", "geojson", "json", "gpkg", "osm", "pbf", "zip", "shp"]
MAP_HEIGHT_PX = 620
PRESENTATION_MAP_HEIGHT_PX = 780
#: A first page sent in two steps (appserver.TWO_STEP_FIRST_PAGE) is completed after this
#: many seconds even if the map's drawn signal did not come (the map failed to load).
FIRST_PAGE_FALLBACK_S = 4.0
RUN_START_S = time.perf_counter()

st.set_page_config(page_title="群团服务网络规划器", page_icon="🗺️", layout="wide")


# --------------------------------------------------------------------------- cached state


def _roads() -> Any:
    """Road lines of the current network, built once per network (kept with the network)."""
    ss = st.session_state
    cached = ss.get("roads_cache")
    if cached is None or cached[0] is not ss.ws.network:
        cached = (ss.ws.network, road_lines(ss.ws.network))
        ss.roads_cache = cached
    return cached[1]


def _state() -> Any:
    return st.session_state


def _callback(fn: Callable[P, None]) -> Callable[P, None]:
    """A widget callback: it runs before the script body, so it sets the session's language first."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        set_language(_state().get("lang", "zh"))
        fn(*args, **kwargs)

    return run


def _init() -> None:
    ss = _state()
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
    ss.isochrones.put(ss.ws, ss.scenarios[sc.name].stations, Tier.COUNTY, demo.isochrones)
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


def _scenario() -> Scenario:
    ss = _state()
    return ss.scenarios[ss.current]


def _say(kind: str, text: str) -> None:
    _state().messages.append((kind, text))


def _guard(action: Callable[[], None], *, file: str = "") -> bool:
    """Run ``action``; show planner errors (and anything else) as a message, never a traceback."""
    try:
        action()
    except PlannerError as exc:
        _say("error", exc.message())
        return False
    except Exception as exc:
        logger.exception("action failed")
        _say("error", t("app.data.unexpected", file=file or "-", reason=f"{type(exc).__name__}: {exc}"))
        return False
    return True


def _evaluate() -> CoverageResult:
    ss = _state()
    return ss.results.evaluate(ss.ws, _scenario().stations)


def _edit(change: Callable[[Scenario], str]) -> None:
    """Apply an edit to the current scenario and remember the before/after results."""
    ss = _state()
    t0 = time.perf_counter()
    before = _evaluate()
    sc = _scenario()
    msg = change(sc)
    try:
        after = _evaluate()
        # uploads may hold stations off the network (loaded, not counted); an edit may not add one
        moved_off = newly_off_network(before.stations, after.stations)
        if len(moved_off):
            count, lines = off_network_lines(moved_off)
            raise InputError(
                "scenario.error.stations_off_network",
                tier=_join(t(f"tier.{x}") for x in dict.fromkeys(moved_off["tier"].astype(str))),
                count=count,
                max_snap_m=f"{ss.ws.config.max_snap_m:.0f}",
                lines=lines,
            )
    except PlannerError:
        sc.undo()
        raise
    ss.last_change = (before, after)
    ss.edit_started = t0
    logger.info("edit evaluated in %.3f s (%s)", time.perf_counter() - t0, msg)
    _say("success", msg)


# --------------------------------------------------------------------------- callbacks
@_callback
def _set_language() -> None:
    ss = _state()
    ss.lang = "en" if ss.get("lang_en") else "zh"


@_callback
def _set_standard(tier: Tier) -> None:
    ss = _state()
    mode = Mode(ss[f"mode_{tier}"])
    minutes = float(ss[f"minutes_{tier}"])
    old = ss.ws.config.standards[tier]
    intervals = tuple(sorted({iv for iv in old.intervals_min if iv < minutes} | {minutes}))

    def apply() -> None:
        cfg = ss.ws.config.with_overrides(tier=tier, mode=mode, minutes=minutes, intervals_min=intervals)
        ss.ws = ss.ws.with_config(cfg)
        ss.proposals = None

    _guard(apply)


@_callback
def _set_presentation() -> None:
    ss = _state()
    ss.presentation_on = bool(ss.get("presentation"))


@_callback
def _leave_presentation() -> None:
    ss = _state()
    ss.presentation_on = False
    ss.presentation = False


#: Widget values kept while the widgets are hidden (presentation mode drops the sidebar).
PERSISTENT_KEYS = (
    "lang_en",
    "click_action",
    "add_tier",
    "prop_tier",
    "prop_by",
    "prop_k",
    "prop_target",
    "coords",
    "allow_off_network",
    "iso_tiers",
    "tile_url",
    "tile_attr",
    "gap_tier",
    *(f"{kind}_{tier}" for kind in ("mode", "minutes") for tier in TIERS),
)


#: Initial values of widgets (set through session state, so widgets take no default argument).
WIDGET_DEFAULTS: dict[str, Any] = {
    "add_tier": str(Tier.VILLAGE),
    "prop_tier": str(Tier.VILLAGE),
    "prop_k": 3,
    "prop_target": 90.0,
    "iso_tiers": [str(Tier.COUNTY)],
    "gap_tier": str(Tier.VILLAGE),
}


def _keep_widget_state() -> None:
    ss = _state()
    for key, value in WIDGET_DEFAULTS.items():
        ss.setdefault(key, value)
    for key in PERSISTENT_KEYS:
        if key in ss:
            ss[key] = ss[key]


@_callback
def _undo() -> None:
    ss = _state()
    before = _evaluate()
    if _scenario().undo():
        ss.last_change = (before, _evaluate())
        _say("info", t("app.sim.undone"))
    else:
        _say("info", t("app.sim.nothing_to_undo"))


@_callback
def _close_selected() -> None:
    sid = _state().get("selected_station")
    if not sid:
        _say("warning", t("app.sim.select_first"))
        return

    def change(sc: Scenario) -> str:
        sc.close_station(sid)
        return t("app.sim.closed", id=sid)

    _guard(lambda: _edit(change))


@_callback
def _copy_scenario() -> None:
    ss = _state()
    name = str(ss.get("new_scenario_name") or "").strip()
    if not name:
        _say("warning", t("app.scen.empty_name"))
        return
    if name in ss.scenarios:
        _say("warning", t("app.scen.exists", name=name))
        return
    ss.scenarios[name] = _scenario().copy(name)
    ss.current = name
    ss.scenario_select = name
    ss.last_change = None


@_callback
def _select_scenario() -> None:
    ss = _state()
    ss.current = ss.scenario_select
    ss.last_change = None
    ss.proposals = None


@_callback
def _run_proposals() -> None:
    ss = _state()
    tier = Tier(ss.prop_tier)
    by_target = ss.get("prop_by") == "target"

    def run() -> None:
        t0 = time.perf_counter()
        ss.proposals = ss.ws.propose(
            _scenario().stations,
            tier=tier,
            k=None if by_target else int(ss.prop_k),
            target_percent=float(ss.prop_target) if by_target else None,
        ).sites
        ss.proposal_tier = tier
        logger.info("proposals for %s in %.2f s: %d sites", tier, time.perf_counter() - t0, len(ss.proposals))
        if not len(ss.proposals):
            _say("info", t("app.prop.none"))

    _guard(run)


@_callback
def _accept_proposal() -> None:
    ss = _state()
    props = ss.proposals
    if props is None or not len(props):
        return
    rank = int(ss.accept_rank)
    row = props[props["rank"] == rank].iloc[0]

    def change(sc: Scenario) -> str:
        sid = sc.add_station(tier=str(row["tier"]), lon=float(row["lon"]), lat=float(row["lat"]))
        return t("app.prop.accepted", rank=rank, id=sid)

    if _guard(lambda: _edit(change)):
        rest = props[props["rank"] != rank].reset_index(drop=True)
        ss.proposals = rest if len(rest) else None


def _stage_file(target: Path, name: str, data: bytes) -> Path:
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise InputError("app.data.too_large", file=name, size_mb=f"{len(data) / 1048576:.1f}", limit_mb=MAX_UPLOAD_MB)
    path = target / Path(name).name
    path.write_bytes(data)
    return path


@_callback
def _load_uploads() -> None:
    """Load the staged uploads as a new workspace; on any error keep the current one."""
    ss = _state()
    files: dict[str, tuple[str, bytes]] = dict(ss.get("staged_uploads") or {})
    for role in ("stations", "demand", "network", "areas"):
        up = ss.get(f"up_{role}")
        if up is not None:
            files[role] = (up.name, up.getvalue())
    if not all(r in files for r in ("stations", "demand", "network")):
        _say("warning", t("app.data.need_files"))
        return
    current = ", ".join(name for name, _ in files.values())

    def load() -> None:
        with tempfile.TemporaryDirectory(prefix="planner-upload-") as tmp:
            paths = {role: _stage_file(Path(tmp), name, data) for role, (name, data) in files.items()}
            allow = bool(ss.get("allow_off_network"))
            ws, sc = Workspace.from_files(
                network=paths["network"],
                stations=paths["stations"],
                demand=paths["demand"],
                areas=paths.get("areas"),
                coords=str(ss.get("coords") or "wgs84"),
                allow_off_network_stations=allow,
            )
            try:
                result = ws.evaluate(sc.stations)  # bad stations etc. are reported now, not later
            except InputError as exc:
                if exc.key != "scenario.error.stations_off_network":
                    raise
                raise InputError(
                    "app.data.off_network_refused", option=t("app.data.allow_off_network"), **exc.params
                ) from exc
            off_network = off_network_lines(result.stations) if allow else (0, "")
        ss.ws = ws
        ss.is_demo = False
        ss.scenarios = {sc.name: sc}
        ss.current = sc.name
        ss.scenario_select = sc.name
        ss.proposals = None
        ss.last_change = None
        _say("success", t("app.data.loaded", label=ws.label, stations=len(sc.stations), demand=len(ws.demand)))
        if off_network[0]:
            count, lines = off_network
            snap_m = f"{ws.config.max_snap_m:.0f}"
            _say("warning", t("app.data.off_network", count=count, max_snap_m=snap_m, lines=lines))

    if not _guard(load, file=current):
        _say("info", t("app.data.kept"))
    ss.staged_uploads = None


@_callback
def _reopen_demo() -> None:
    for key in ("ws", "scenarios", "current", "scenario_select"):
        _state().pop(key, None)
    _init()


@_callback
def _load_project_file() -> None:
    ss = _state()
    up = ss.get("project_upload")
    if up is None:
        return

    def load() -> None:
        with tempfile.TemporaryDirectory(prefix="planner-project-") as tmp:
            path = _stage_file(Path(tmp), up.name, up.getvalue())
            scenarios = load_project(path)
        for sc in scenarios:  # a project of other data (stations far from these roads): refused here
            ss.results.evaluate(ss.ws, sc.stations)
        for sc in scenarios:
            ss.scenarios[sc.name] = sc
        ss.current = scenarios[0].name
        ss.scenario_select = ss.current
        _say("success", t("app.scen.loaded", n=len(scenarios), names=_join(s.name for s in scenarios)))

    _guard(load, file=up.name)


def _new_point(event: dict[str, Any], name: str) -> tuple[float, float] | None:
    """The (lat, lon) of ``event[name]`` if it differs from the last one seen."""
    ss = _state()
    value = event.get(name)
    if not value or value.get("lat") is None:
        return None
    point = (round(float(value["lat"]), 7), round(float(value["lng"]), 7))
    seen = ss.setdefault("seen_points", {})
    if seen.get(name) == point:
        return None
    seen[name] = point
    return point


def _handle_map_event(event: dict[str, Any] | None) -> bool:
    """Act on a new map click (add or move a station) or a station click (select it).

    A click on a demand circle counts as a click on the map at that point (Leaflet does
    not pass clicks on layers on to the map).
    """
    ss = _state()
    if not event:
        return False
    on_map = _new_point(event, "last_clicked")
    on_object = _new_point(event, "last_object_clicked")
    tip = str(event.get("last_object_clicked_tooltip") or "").strip()
    if on_object is not None and tip.endswith(")") and "(" in tip:
        sid = tip.rsplit("(", 1)[1][:-1]
        if sid in set(_scenario().stations["id"].astype(str)):
            ss.select_request = sid  # applied before the selectbox is drawn on the rerun
            return True
    point = on_object or on_map
    if point is None:
        return False
    action = ss.get("click_action", "add")
    lat, lon = point
    if action == "add":
        tier = Tier(ss.get("add_tier", str(Tier.VILLAGE)))

        def add(sc: Scenario) -> str:
            sid = sc.add_station(tier=tier, lon=lon, lat=lat)
            return t("app.sim.added", id=sid, tier=t(f"tier.{tier}"), lon=lon, lat=lat)

        _guard(lambda: _edit(add))
        return True
    if action == "move":
        sid = ss.get("selected_station")
        if not sid:
            _say("warning", t("app.sim.select_first"))
            return True

        def move(sc: Scenario) -> str:
            sc.move_station(sid, lon=lon, lat=lat)
            return t("app.sim.moved", id=sid, lon=lon, lat=lat)

        _guard(lambda: _edit(move))
        return True
    return False


# --------------------------------------------------------------------------- views
def _join(names: Any) -> str:
    return ("、" if get_language() == "zh" else ", ").join(str(x) for x in names)


def _fmt(v: float) -> str:
    return f"{v:,.0f}"


def _figures(result: CoverageResult, *, big: bool) -> None:
    st.subheader(t("app.figures.header"))
    tiers = result.summary["tiers"]
    for tier in TIERS:
        s = tiers.get(str(tier))
        if s is None:
            continue
        standard = t("app.figures.standard", mode=t(f"app.mode.{s['mode']}"), minutes=float(s["minutes"]))
        n, off = int(s["stations"]), int(s["stations"]) - int(s["stations_on_network"])
        stations = t("app.figures.stations_off", n=n, off=off) if off else t("app.figures.stations", n=n)
        st.markdown(f"**{t(f'tier.{tier}')}** · {standard} · {stations}")
        c1, c2, c3 = st.columns(3)
        for col, key in zip((c1, c2, c3), APP_FIGURES, strict=True):
            col.metric(figures.label(key, tier=str(tier)), figures.display(key, s[key]), help=figures.definition(key))
    if big:
        return


def _change_panel() -> None:
    ss = _state()
    if not ss.last_change:
        # the panel is always there: the first edit fills it instead of shifting the column
        st.subheader(t("app.sim.diff_header"))
        st.caption(t("app.sim.diff_empty"))
        return
    before, after = ss.last_change
    diff = compare(before, after)
    changed = compare_demand(before, after)
    gained = float(changed.loc[changed["change"] == "newly_covered", "population"].sum()) if len(changed) else 0.0
    lost = float(changed.loc[changed["change"] == "lost", "population"].sum()) if len(changed) else 0.0
    st.subheader(t("app.sim.diff_header"))
    st.markdown(f"**{t('app.sim.diff_summary', gained=_fmt(gained), lost=_fmt(lost))}**")
    show = diff[diff["delta_population"] != 0]
    if len(show):
        table = _compare_table(show)
        numbers = [c for c in table.columns if c != t("app.col.tier")]
        percents = [t("app.col.percent_before"), t("app.col.percent_after")]
        styled = table.style.format(precision=0, thousands=",", subset=numbers).format(precision=1, subset=percents)
        _html_table(styled.set_properties(subset=numbers, **{"text-align": "right"}))


def _html_table(styled: Any) -> None:
    """A small table as static HTML (``styled``: a pandas Styler whose text cells are escaped).

    Not ``st.dataframe``: its data grid is ~1.5 MB of script the browser loads and
    compiles on first use, which delayed a first visit's map by ~0.3 s (A/B, 2 x 8
    visits) and the first edit's update.
    """
    styled = styled.hide(axis="index").set_table_styles([{"selector": "th, td", "props": "white-space: nowrap;"}])
    st.markdown(f'<div style="overflow-x: auto">{styled.to_html()}</div>', unsafe_allow_html=True)


def _compare_table(diff: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            t("app.col.tier"): [t(f"tier.{x}") for x in diff["tier"].astype(str)],
            t("app.col.before"): diff["covered_population_before"].round(0),
            t("app.col.after"): diff["covered_population_after"].round(0),
            t("app.col.delta"): diff["delta_population"].round(0),
            t("app.col.newly"): diff["newly_covered"],
            t("app.col.lost"): diff["lost"],
            t("app.col.percent_before"): diff["percent_before"],
            t("app.col.percent_after"): diff["percent_after"],
        }
    )
    return out


def _gaps_table(result: CoverageResult) -> None:
    tier = st.selectbox(
        t("app.figures.gap_tier"),
        [str(x) for x in TIERS],
        format_func=lambda x: t(f"tier.{x}"),
        key="gap_tier",
    )
    st.subheader(t("app.figures.gaps_header", tier=t(f"tier.{tier}")))
    a = result.areas[result.areas["tier"] == tier].copy()
    if not len(a):
        return
    a = a.sort_values("outside_population", ascending=False)
    table = pd.DataFrame(
        {
            t("app.col.township"): a["township"].replace("", "—"),
            **{figures.label(k, tier=tier): a[k].round(2 if k.startswith("percent") else 0) for k in GAP_TABLE_FIGURES},
        }
    )
    worst = a.head(3)
    worst = worst[worst["outside_population"] > 0]
    if len(worst):
        st.warning(t("app.figures.worst", names=_join(worst["township"].astype(str))))
    n_worst = len(worst)
    col = figures.label("outside_population", tier=tier)
    percent = figures.label("percent_population", tier=tier)
    styled = table.style.apply(
        lambda s: ["background-color:#ffcdd2" if i < n_worst else "" for i in range(len(s))], subset=[col]
    ).format(precision=0, thousands=",", subset=[c for c in table.columns if c != t("app.col.township")])
    styled = styled.format(precision=1, subset=[percent])
    styled = styled.format(escape="html", subset=[t("app.col.township")])  # names come from user files
    styled = styled.set_properties(
        subset=[c for c in table.columns if c != t("app.col.township")], **{"text-align": "right"}
    )
    _html_table(styled)


def _proposals_table() -> None:
    ss = _state()
    props = ss.proposals
    if props is None or not len(props):
        return
    st.subheader(t("app.prop.table"))
    st.dataframe(
        pd.DataFrame(
            {
                t("app.col.rank"): props["rank"],
                t("app.col.tier"): [t(f"tier.{x}") for x in props["tier"].astype(str)],
                t("app.col.newly_covered"): props["newly_covered_population"].round(0),
                t("app.col.township"): props.get("township", ""),
                t("app.col.lon"): props["lon"].round(6),
                t("app.col.lat"): props["lat"].round(6),
            }
        ),
        hide_index=True,
        width="stretch",
    )
    c1, c2 = st.columns([2, 1])
    c1.selectbox(t("app.prop.accept"), props["rank"].tolist(), key="accept_rank")
    c2.button(t("app.prop.accept_button"), key="accept_proposal", on_click=_accept_proposal)


def _compare_view() -> None:
    ss = _state()
    names = list(ss.scenarios)
    st.subheader(t("app.scen.compare_header"))
    if len(names) < 2:
        st.caption(t("app.scen.copy"))
        return
    c1, c2 = st.columns(2)
    a = c1.selectbox(t("app.scen.compare_a"), names, index=0, key="cmp_a")
    b = c2.selectbox(t("app.scen.compare_b"), names, index=1, key="cmp_b")
    ra = ss.results.evaluate(ss.ws, ss.scenarios[a].stations)
    rb = ss.results.evaluate(ss.ws, ss.scenarios[b].stations)
    with c1:
        _figures(ra, big=False)
    with c2:
        _figures(rb, big=False)
    st.dataframe(_compare_table(compare(ra, rb)), hide_index=True, width="stretch")


def _downloads(result: CoverageResult, full_map: Callable[[], Any]) -> None:
    ss = _state()
    st.subheader(t("app.dl.header"))
    sc = _scenario()
    if st.button(t("app.dl.prepare"), key="make_files", type="primary"):
        from planner.report.files import report_files  # ~1 s of imports (matplotlib, openpyxl) not needed for the page

        t0 = time.perf_counter()
        built = report_files(
            ss.ws,
            sc.stations,
            include=[name for name, *_ in DOWNLOADS],
            result=result,
            proposals=ss.proposals,
            comparison=compare(*ss.last_change) if ss.last_change else None,
            scenarios=list(ss.scenarios.values()),
            title=f"{t('app.title')} · {sc.name}",
            map_tier=ss.get("gap_tier", str(Tier.VILLAGE)),
            web_map=full_map,
        )
        ss.files = built
        logger.info("download files prepared in %.2f s", time.perf_counter() - t0)
    files = ss.get("files") or {}
    cols = st.columns(4)
    for i, (name, key, label, mime) in enumerate(DOWNLOADS):
        if name in files:
            ext = name.rsplit(".", 1)[1]
            cols[i % 4].download_button(
                t(label), data=files[name], file_name=f"{sc.name}.{ext}", mime=mime, key=f"dl_{key}"
            )


def _sidebar() -> None:
    ss = _state()
    sb = st.sidebar
    sb.toggle(t("app.language"), key="lang_en", on_change=_set_language)
    sb.toggle(t("app.presentation"), key="presentation", on_change=_set_presentation)

    with sb.expander(t("app.standard.header"), expanded=True):
        for tier in TIERS:
            std = ss.ws.config.standards[tier]
            ss.setdefault(f"mode_{tier}", str(std.mode))
            ss.setdefault(f"minutes_{tier}", int(std.minutes))
            c1, c2 = st.columns(2)
            c1.selectbox(
                t("app.standard.mode", tier=t(f"tier.{tier}")),
                [str(m) for m in Mode],
                format_func=lambda m: t(f"app.mode.{m}"),
                key=f"mode_{tier}",
                on_change=_set_standard,
                args=(tier,),
            )
            c2.number_input(
                t("app.standard.minutes", tier=t(f"tier.{tier}")),
                min_value=1,
                max_value=180,
                step=5,
                key=f"minutes_{tier}",
                on_change=_set_standard,
                args=(tier,),
            )

    with sb.expander(t("app.sim.header"), expanded=True):
        st.radio(
            t("app.sim.click_action"),
            ["add", "move", "none"],
            format_func=lambda a: t(f"app.sim.action_{a}"),
            key="click_action",
        )
        st.selectbox(
            t("app.sim.add_tier"),
            [str(x) for x in TIERS],
            format_func=lambda x: t(f"tier.{x}"),
            key="add_tier",
        )

    with sb.expander(t("app.scen.header"), expanded=False):
        ss.setdefault("scenario_select", ss.current)
        st.selectbox(t("app.scen.current"), list(ss.scenarios), key="scenario_select", on_change=_select_scenario)
        st.text_input(t("app.scen.new_name"), key="new_scenario_name")
        st.button(t("app.scen.copy"), key="copy_scenario", on_click=_copy_scenario)
        st.file_uploader(t("app.scen.load"), type=["gpkg"], key="project_upload", on_change=_load_project_file)

    with sb.expander(t("app.prop.header"), expanded=True):
        st.selectbox(t("app.prop.tier"), [str(x) for x in TIERS], format_func=lambda x: t(f"tier.{x}"), key="prop_tier")
        st.radio(
            t("app.prop.by"),
            ["k", "target"],
            format_func=lambda x: t(f"app.prop.by_{x}"),
            key="prop_by",
            horizontal=True,
        )
        if ss.get("prop_by") == "target":
            st.number_input(t("app.prop.target"), min_value=1.0, max_value=100.0, key="prop_target")
        else:
            st.number_input(t("app.prop.k"), min_value=1, max_value=50, key="prop_k")
        st.button(t("app.prop.run"), key="run_proposals", on_click=_run_proposals, type="primary")

    with sb.expander(t("app.data.header"), expanded=False):
        st.file_uploader(t("app.data.stations"), type=UPLOAD_TYPES, key="up_stations")
        st.file_uploader(t("app.data.demand"), type=UPLOAD_TYPES, key="up_demand")
        st.file_uploader(t("app.data.network"), type=UPLOAD_TYPES, key="up_network")
        st.file_uploader(t("app.data.areas"), type=UPLOAD_TYPES, key="up_areas")
        st.radio(
            t("app.data.coords"),
            ["wgs84", "gcj02", "bd09"],
            format_func=lambda c: t(f"app.data.coords_{c}"),
            key="coords",
        )
        st.checkbox(t("app.data.allow_off_network"), key="allow_off_network", help=t("app.data.allow_off_network_help"))
        st.button(t("app.data.load"), key="load_uploads", on_click=_load_uploads)
        st.button(t("app.data.demo"), key="reopen_demo", on_click=_reopen_demo)

    with sb.expander(t("app.basemap.header"), expanded=False):
        st.multiselect(
            t("app.intervals"),
            [str(x) for x in TIERS],
            format_func=lambda x: t(f"tier.{x}"),
            key="iso_tiers",
        )
        st.text_input(t("app.basemap.url"), key="tile_url")
        st.text_input(t("app.basemap.attribution"), key="tile_attr")


def _station_controls() -> None:
    """Select / close / undo under the map: they change with every edit, so they live in the fragment."""
    ss = _state()
    if "select_request" in ss:
        ss.selected_station = ss.pop("select_request")
    st_ids = _scenario().stations
    labels = dict(zip(st_ids["id"].astype(str), st_ids["name"].astype(str), strict=True))
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    c1.selectbox(
        t("app.sim.select"),
        [None, *labels],
        format_func=lambda x: "—" if x is None else f"{labels.get(x, x)} ({x})",
        key="selected_station",
    )
    c2.button(t("app.sim.close"), key="close_station", on_click=_close_selected, width="stretch")
    c3.button(t("app.sim.undo"), key="undo", on_click=_undo, disabled=not _scenario().can_undo, width="stretch")


def _presentation_css() -> None:
    st.markdown(
        """<style>
        [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {display:none}
        [data-testid="stMetricValue"] {font-size:3rem}
        [data-testid="stMetricLabel"] p {font-size:1.3rem}
        h1 {font-size:3rem !important}
        </style>""",
        unsafe_allow_html=True,
    )


# --------------------------------------------------------------------------- page
def main() -> None:
    _init()
    ss = _state()
    set_language(ss.get("lang", "zh"))
    _keep_widget_state()
    presentation = bool(ss.get("presentation_on"))
    if presentation:
        _presentation_css()
        st.button(t("app.presentation_exit"), key="exit_presentation", on_click=_leave_presentation)
    st.title(t("app.title"))
    label = ss.ws.label or ""
    if ss.is_demo:
        st.info(t("app.generated_data", label=t("demo.label")))
    else:
        st.caption(t("app.own_data", label=label))
    _live(presentation=presentation)
    if not presentation and ss.full_page:
        # sent after the live part: the browser shows figures ~1 s sooner on a first visit
        # (the widgets read their values from session state, with defaults, before this)
        _sidebar()
    elif not presentation:  # first step of a two-step first page (see _live)
        st.sidebar.caption(t("app.controls_loading"))  # keeps the sidebar's place
        _complete_first_page()
    logger.info("script run done in %.2f s", time.perf_counter() - RUN_START_S)


def _send_full_page(reason: str) -> None:
    """Second step of a two-step first page: rerun the whole script with the controls."""
    ss = _state()
    ss.full_page = True
    ss.completing_page = True  # this run keeps the map's signal layer: its layers stay as they are
    logger.info("first page completed (%s)", reason)
    st.rerun(scope="app")


@st.fragment(run_every=FIRST_PAGE_FALLBACK_S)
def _complete_first_page() -> None:
    """Send the whole page if the map has not reported itself drawn in time.

    Only drawn while the first page waits for the map; its timer stops with the
    whole page. The first call comes with the page itself and does nothing.
    """
    ss = _state()
    ss.first_page_checks += 1
    if ss.first_page_checks > 1 and not ss.full_page:
        _send_full_page(f"no signal from the map after {FIRST_PAGE_FALLBACK_S:.0f} s")


@st.fragment
def _live(*, presentation: bool) -> None:
    """Everything an edit changes: messages, map, figures, before/after, station controls, tabs.

    A fragment: a click on the map (or close, undo, accept) reruns only this part, not
    the sidebar. Widgets outside it do not depend on the scenario's stations. On the
    first step of a two-step first page it sends only messages, map, figures and the
    before/after panel; the map's drawn signal reruns it, which sends the whole page.
    """
    started_s = time.perf_counter()
    ss = _state()
    if not ss.full_page and ss.get("map_drawn"):
        _send_full_page("the map is drawn")
    # the map's drawn signal: a hidden layer, kept in the run that completes the page so
    # that the browser does not redraw the map's layers then (~0.25 s sooner controls)
    signal_layer = not ss.full_page or ss.get("completing_page", False)
    ss.completing_page = False
    set_language(ss.get("lang", "zh"))
    result = _evaluate()
    iso_tiers = [Tier(x) for x in ss.get("iso_tiers", [str(Tier.COUNTY)])]
    t0 = time.perf_counter()
    isochrones = {tier: ss.isochrones.isochrones(ss.ws, _scenario().stations, tier=tier) for tier in iso_tiers}
    map_args: dict[str, Any] = dict(
        result=result,
        isochrones=isochrones,
        roads=_roads(),
        areas=ss.ws.areas,
        proposals=ss.proposals,
        tiers=[
            Tier(ss.get("gap_tier", str(Tier.VILLAGE))),
            *[x for x in TIERS if str(x) != ss.get("gap_tier", "village")],
        ],
        tiles=(ss.get("tile_url") or None),
        tiles_attribution=ss.get("tile_attr") or "",
        presentation=presentation,
        title=f"{t('app.title')} · {ss.current}",
        demand_first_tier_only=True,
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
        map_box = st.container()
        cols = st.columns(2)
        with cols[0]:
            _figures(result, big=True)
        change_box = cols[1].container()
        with map_box:
            t0 = time.perf_counter()
            parts = build_map_parts(**map_args, immediate_clicks=True, ready_signal=signal_layer)
            build_s += time.perf_counter() - t0
            _map(parts, height_px=PRESENTATION_MAP_HEIGHT_PX)
        with change_box:
            _change_panel()
    else:
        left, right = st.columns([3, 2])
        with right:
            change_box = st.container()
            _figures(result, big=False)
        with left:
            st.caption(t("app.sim.hint", action=t(f"app.sim.action_{ss.get('click_action', 'add')}")))
            t0 = time.perf_counter()
            parts = build_map_parts(**map_args, immediate_clicks=True, ready_signal=signal_layer)
            build_s += time.perf_counter() - t0
            _map(parts)
        with change_box:
            _change_panel()
        if ss.full_page:
            with left:
                _station_controls()
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
    """The tabs under the map: gaps, proposals, scenario comparison, downloads."""
    tabs = st.tabs(
        [t("app.figures.header"), t("app.prop.header"), t("app.scen.compare_header"), t("app.dl.header")],
        key="section",  # keeps the open tab across reruns (messages above shift the layout)
        on_change="rerun",
    )
    # only the open tab is computed (tabs report .open because they have a key)
    views = (
        lambda: _gaps_table(result),
        _proposals_table,
        _compare_view,
        lambda: _downloads(result, lambda: build_map(**map_args)),
    )
    for tab, view in zip(tabs, views, strict=True):
        if tab.open is not False:
            with tab:
                view()


@_callback
def _on_map_change() -> None:
    """Map clicks are handled in the component's callback, before the script reruns once."""
    ss = _state()
    event = ss.get("map")
    if isinstance(event, dict) and event.get(MAP_READY_KEY):
        ss.map_drawn = True  # the map's signal, not a click (see _live)
        return
    _handle_map_event(event)


def _map(parts: MapParts, *, height_px: int = MAP_HEIGHT_PX) -> None:
    """The map component: the base map reloads only when it changes, edits swap ``parts.layers``."""
    ss = _state()
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
        on_change=_on_map_change,
    )
    logger.info("st_folium %.3f s", time.perf_counter() - t0)
    if not ss.map_logged:
        ss.map_logged = True
        logger.info("first map sent %.2f s after the script run started", time.perf_counter() - RUN_START_S)


main()
