"""What the app draws: the sidebar, the figures, the before/after panel, tables, downloads, station controls.

Views read the session state (:mod:`planner.app.state`) and attach the callbacks of
:mod:`planner.app.actions`; the page (:mod:`planner.app.main`) places them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from planner.app import actions
from planner.app.state import current_scenario, session, view_tier
from planner.app.text import html_text, md_escape, md_names, tm
from planner.coverage import figures
from planner.coverage.analyse import CoverageResult
from planner.i18n import join_names, t
from planner.inputs.limits import app_limits
from planner.report.exports import estimate_note
from planner.report.webmap import tile_url
from planner.settings import TIER_DEMAND_CHOICES, TIERS, Mode, Tier
from planner.workspace.scenario import compare, compare_demand, scenario_label
from planner.workspace.siting_models import MODELS

logger = logging.getLogger(__name__)

#: The three figures shown per tier (labels and definitions: planner.coverage.figures).
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
#: Download buttons: file of planner.report.files.report_files, button key, label ({tier}: the map's tier), MIME type.
DOWNLOADS = (
    ("report.xlsx", "excel", "app.dl.excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("demand.csv", "csv", "app.dl.csv", "text/csv"),
    ("coverage.gpkg", "gpkg", "app.dl.gpkg", "application/geopackage+sqlite3"),
    ("map.html", "html", "app.dl.html", "text/html"),
    ("map.png", "png", "app.dl.png", "image/png"),
    ("map.pdf", "pdf", "app.dl.pdf", "application/pdf"),
    ("atlas.pdf", "atlas", "app.dl.atlas", "application/pdf"),
    ("project.gpkg", "project", "app.scen.save", "application/geopackage+sqlite3"),
)
UPLOAD_TYPES = ["csv", "xlsx", "xls", "geojson", "json", "gpkg", "osm", "pbf", "zip", "shp"]
#: The sidebar's file uploaders (widget key → accepted extensions); :func:`uploader_css` words each in the language.
UPLOADERS: dict[str, list[str]] = {
    **{f"up_{role}": UPLOAD_TYPES for role in actions.UPLOAD_COORDS_ROLES},
    "up_network": UPLOAD_TYPES,
    "up_areas": UPLOAD_TYPES,
    "project_upload": ["gpkg"],
}
_DROPZONE = '[data-testid="stFileUploaderDropzone"]'
_INSTRUCTIONS = '[data-testid="stFileUploaderDropzoneInstructions"]'


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string: quotes, backslashes, line breaks and ``<`` escaped (safe inside <style>)."""
    out = []
    for ch in text:
        if ch in {'"', "\\", "<", ">", "&"} or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):06x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def uploader_css(uploaders: dict[str, list[str]], *, max_upload_mb: float, lang: str | None = None) -> str:
    """CSS that words the file uploaders in ``lang``: the button, the drop hint and the size / types line.

    Streamlit (1.67) writes these in English and has no option for them (streamlit issue
    #13500); the widely used way is to hide its words and show ours with ``content:``.
    Each uploader is found by the ``st-key-<key>`` class Streamlit gives a keyed widget,
    so its own extensions are listed.
    """
    button, drop = css_string(t("app.upload.button", lang=lang)), css_string(t("app.upload.drop", lang=lang))
    rules = [
        f"{_DROPZONE} button > * {{display:none}}",
        f"{_DROPZONE} button::after {{content:{button}}}",
        # shown only while a file is dragged over the zone: the element before the button's and the hint's
        f"{_DROPZONE} > div:has(+ div + {_INSTRUCTIONS}) * {{display:none}}",
        f"{_DROPZONE} > div:has(+ div + {_INSTRUCTIONS})::after {{content:{drop}}}",
        f"{_INSTRUCTIONS} > * {{display:none}}",
        f"{_INSTRUCTIONS}::after {{font-size:0.875rem; opacity:0.6}}",
    ]
    for key, types in uploaders.items():
        limit = t(
            "app.upload.limit",
            lang=lang,
            size_mb=f"{max_upload_mb:g}",
            types=join_names(dict.fromkeys(x.upper() for x in types), lang=lang),
        )
        rules.append(f".st-key-{key} {_INSTRUCTIONS}::after {{content:{css_string(limit)}}}")
    return "\n".join(rules)


def _fmt(v: float) -> str:
    return f"{v:,.0f}"


def figures_panel(result: CoverageResult) -> None:
    """The three figures of every tier, with its standard and station count.

    When populations are estimated (a demand sheet's 人口来源), one caption says how many,
    in the words of the CLI summary and the workbook (:func:`planner.report.exports.estimate_note`).
    """
    st.subheader(t("app.figures.header"))
    note = estimate_note(result.summary, short=True)
    if note:
        st.caption(note)
    tiers = result.summary["tiers"]
    for tier in TIERS:
        s = tiers.get(str(tier))
        if s is not None:
            _tier_figures(tier, s, side_by_side=True)


def _tier_figures(tier: Tier, s: dict[str, Any], *, side_by_side: bool) -> None:
    """A tier's line (standard, stations) and its three figures, side by side or one under another.

    A tier without demand gets the reason instead (no "—" without a word).
    """
    st.markdown(_tier_line(tier, s))
    if s.get("no_demand_reason"):
        st.info(figures.no_demand_text(s["no_demand_reason"]))
        return
    places = st.columns(len(APP_FIGURES)) if side_by_side else [st.container() for _ in APP_FIGURES]
    for place, key in zip(places, APP_FIGURES, strict=True):
        place.metric(
            figures.label(key, tier=str(tier), serves=s.get("serves")),
            figures.display(key, s[key]),
            help=figures.definition(key),
        )


def _tier_line(tier: Tier, s: dict[str, Any]) -> str:
    """``**村（社区）** · 步行 15 分钟 · 155 个站点``: a tier's standard and stations (Markdown)."""
    standard = t("app.figures.standard", mode=t(f"app.mode.{s['mode']}"), minutes=float(s["minutes"]))
    n, off = int(s["stations"]), int(s["stations"]) - int(s["stations_on_network"])
    stations = t("app.figures.stations_off", count=n, off=off) if off else t("app.figures.stations", count=n)
    return f"**{t(f'tier.{tier}')}** · {standard} · {stations}"


def view_tier_control(*, compact: bool = False) -> None:
    """The control above the map: which tier's service circle, coverage and stations the map shows.

    ``compact`` (presentation): without its label line (the legend names the tier).
    """
    st.segmented_control(
        t("app.view_tier"),
        [str(x) for x in TIERS],
        format_func=lambda x: t(f"tier.{x}"),
        key="view_tier",
        required=True,
        help=t("app.view_tier_help"),
        label_visibility="collapsed" if compact else "visible",
    )


def presentation_figures(result: CoverageResult, *, tier: Tier) -> None:
    """The key figures for a meeting: the viewed tier's three, large; every other tier's coverage in a line."""
    tiers = result.summary["tiers"]
    s = tiers.get(str(tier))
    if s is not None:
        _tier_figures(tier, s, side_by_side=False)
    others = [
        t(
            "app.figures.tier_value",
            tier=t(f"tier.{x}"),
            value=figures.display("percent_population", tiers[str(x)]["percent_population"]),
        )
        for x in TIERS
        if x != tier and str(x) in tiers and not tiers[str(x)].get("no_demand_reason")
    ]
    if others:
        st.caption(figures.label("percent_population") + "  \n" + "  \n".join(others))


def change_panel(*, compact: bool = False) -> None:
    """The before/after panel of the last edit (people newly covered and lost, per tier).

    ``compact`` (presentation): only the one-line summary, and nothing before the first edit.
    """
    ss = session()
    if not ss.last_change:
        if compact:
            return
        # the panel is always there: the first edit fills it instead of shifting the column
        st.subheader(t("app.sim.diff_header"))
        st.caption(t("app.sim.diff_empty"))
        return
    before, after = ss.last_change
    diff = compare(before, after)
    changed = compare_demand(before, after)
    gained = float(changed.loc[changed["change"] == "newly_covered", "population"].sum()) if len(changed) else 0.0
    lost = float(changed.loc[changed["change"] == "lost", "population"].sum()) if len(changed) else 0.0
    if compact:
        summary = t("app.sim.diff_summary", gained=_fmt(gained), lost=_fmt(lost))
        st.markdown(t("app.figures.tier_value", tier=f"**{t('app.sim.diff_header')}**", value=summary))
        return
    st.subheader(t("app.sim.diff_header"))
    st.markdown(f"**{t('app.sim.diff_summary', gained=_fmt(gained), lost=_fmt(lost))}**")
    show = diff[diff["delta_population"] != 0]
    if len(show):
        table = _compare_table(show)
        numbers: list[Hashable] = [c for c in table.columns if c != t("app.col.tier")]
        percents: list[Hashable] = [t("app.col.percent_before"), t("app.col.percent_after")]
        styled = table.style.format(precision=0, thousands=",", subset=numbers).format(precision=1, subset=percents)
        html_table(styled.set_properties(subset=numbers, **{"text-align": "right"}))


def html_table(styled: Any) -> None:
    """A small table as static HTML (``styled``: a pandas Styler whose text cells are escaped).

    Not ``st.dataframe``: its data grid is ~1.5 MB of script the browser loads and
    compiles on first use, which delayed a first visit's map by ~0.3 s and the first
    edit's update.
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


def gaps_table(result: CoverageResult) -> None:
    """Per-township table of the viewed tier's gaps, the worst three townships named above it."""
    tier = str(view_tier())
    st.subheader(t("app.figures.gaps_header", tier=t(f"tier.{tier}")))
    a = result.areas[result.areas["tier"] == tier].copy()
    if not len(a):
        return
    a = a.sort_values("outside_population", ascending=False)
    serves = result.summary["tiers"].get(tier, {}).get("serves")
    table = pd.DataFrame(
        {
            t("app.col.township"): a["township"].replace("", "—"),
            **{
                figures.label(k, tier=tier, serves=serves): a[k].round(2 if k.startswith("percent") else 0)
                for k in GAP_TABLE_FIGURES
            },
        }
    )
    worst = a.head(3)
    worst = worst[worst["outside_population"] > 0]
    if len(worst):
        st.warning(tm("app.figures.worst", names=md_names(worst["township"].astype(str))))
    n_worst = len(worst)
    col = figures.label("outside_population", tier=tier)
    percent = figures.label("percent_population", tier=tier)
    styled = table.style.apply(
        lambda s: ["background-color:#ffcdd2" if i < n_worst else "" for i in range(len(s))], subset=[col]
    ).format(precision=0, thousands=",", subset=[c for c in table.columns if c != t("app.col.township")])
    styled = styled.format(precision=1, subset=[percent])
    styled = styled.format(html_text, subset=[t("app.col.township")])  # names come from user files
    styled = styled.set_properties(
        subset=[c for c in table.columns if c != t("app.col.township")], **{"text-align": "right"}
    )
    html_table(styled)


def proposals_table() -> None:
    """The proposed sites and the control that accepts one."""
    ss = session()
    props = ss.proposals
    if props is None or not len(props):
        return
    summary = ss.get("proposal_summary") or {}
    model = str(summary.get("model", "mclp"))
    st.subheader(t({"pmedian": "app.prop.table_time", "pcenter": "app.prop.table_time"}.get(model, "app.prop.table")))
    line = _proposal_line(summary)
    if line:
        st.caption(line)
    if "gain" in props and props["newly_covered_population"].isna().all():  # travel-time models
        gain_label = t(f"app.col.gain_{model}") if model in ("pmedian", "pcenter") else t("app.col.gain")
        gain: dict[str, Any] = {gain_label: props["gain"].round(1)}
    else:
        key = "app.col.newly_backed_up" if model == "backup" else "app.col.newly_covered"
        gain = {t(key): props["newly_covered_population"].round(0)}
    st.dataframe(
        pd.DataFrame(
            {
                t("app.col.rank"): props["rank"],
                t("app.col.tier"): [t(f"tier.{x}") for x in props["tier"].astype(str)],
                **gain,
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
    c2.button(t("app.prop.accept_button"), key="accept_proposal", on_click=actions.accept_proposal)


def _proposal_line(summary: dict[str, Any]) -> str:
    """One line on what the proposal achieves: the model, its objective, the proven gap."""
    model = str(summary.get("model", ""))
    if model not in MODELS or summary.get("objective") is None:
        return ""
    gap = summary.get("gap")
    common = {"model": t(MODELS[model].label_key), "gap": "—" if gap is None else f"{100 * float(gap):.2f}"}
    if model in ("pmedian", "pcenter"):
        before, after = summary.get("mean_minutes_before"), summary.get("mean_minutes")
        people = model == "pmedian" or bool(summary.get("weighted"))
        unit = t("app.prop.unit_person_min") if people else t("app.prop.unit_min")
        return t(
            f"app.prop.line_{model}",
            objective=f"{float(summary['objective']):,.1f}{unit}",
            before="—" if before is None else f"{float(before):.1f}",
            after="—" if after is None else f"{float(after):.1f}",
            unreachable=int(summary.get("unreachable") or 0),
            **common,
        )
    share = summary.get("covered_share")
    key = "app.prop.line_backup" if model == "backup" else "app.prop.line_cover"
    return t(
        key,
        objective=f"{float(summary['objective']):,.0f}",
        share="—" if share is None else f"{100 * float(share):.1f}",
        **common,
    )


def compare_view() -> None:
    """Two scenarios side by side: their figures and the difference per tier."""
    ss = session()
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
        figures_panel(ra)
    with c2:
        figures_panel(rb)
    st.dataframe(_compare_table(compare(ra, rb)), hide_index=True, width="stretch")


def downloads(result: CoverageResult, full_map: Callable[[], Any]) -> None:
    """Prepare the output files of the current scenario on request and offer them for download.

    The printed maps show the tier on the map and the scenario's edits; each file
    is saved as scenario, kind and date (:func:`planner.report.files.download_name`),
    under the scenario and tier it was made for.
    """
    ss = session()
    st.subheader(t("app.dl.header"))
    sc = current_scenario()
    if st.button(t("app.dl.prepare"), key="make_files", type="primary"):
        from planner.report.files import report_files  # ~1 s of imports (matplotlib, openpyxl) not needed for the page

        t0 = time.perf_counter()
        map_tier = str(view_tier())
        built = report_files(
            ss.ws,
            sc.stations,
            include=[name for name, *_ in DOWNLOADS],
            result=result,
            proposals=ss.proposals,
            comparison=compare(*ss.last_change) if ss.last_change else None,
            scenarios=list(ss.scenarios.values()),
            title=" · ".join(x for x in (ss.ws.shown_label(), scenario_label(sc.name)) if x),
            map_tier=map_tier,
            changes=sc.changes(),
            web_map=full_map,
        )
        ss.files = built
        ss.files_made_for = (sc.name, map_tier, date.today())
        logger.info("download files prepared in %.2f s", time.perf_counter() - t0)
    files = ss.get("files") or {}
    if not files:
        return
    from planner.report.files import download_name

    scenario, map_tier, made_on = ss.get("files_made_for") or (sc.name, str(Tier.VILLAGE), date.today())
    cols = st.columns(4)
    for i, (name, key, label, mime) in enumerate(DOWNLOADS):
        if name in files:
            file_name = download_name(file=name, scenario=scenario_label(scenario), on=made_on, tier=map_tier)
            cols[i % 4].download_button(
                t(label, tier=t(f"tier.{map_tier}")), data=files[name], file_name=file_name, mime=mime, key=f"dl_{key}"
            )


def sidebar() -> None:
    """The controls in the sidebar: language, standards, click action, scenarios, proposals, data, basemap."""
    ss = session()
    sb = st.sidebar
    # the label names the app's own limit (a larger file gets its message from the app, not Streamlit's refusal)
    limit_mb = min(float(st.get_option("server.maxUploadSize")), app_limits().file_bytes / 2**20)
    css = uploader_css(UPLOADERS, max_upload_mb=limit_mb)
    st.html(f"<style>{css}</style>")  # style only: applied without taking space
    sb.toggle(t("app.language"), key="lang_en", on_change=actions.set_language)
    sb.toggle(t("app.presentation"), key="presentation", on_change=actions.set_presentation)

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
                on_change=actions.set_standard,
                args=(tier,),
            )
            c2.number_input(
                t("app.standard.minutes", tier=t(f"tier.{tier}")),
                min_value=1,
                max_value=180,
                step=5,
                key=f"minutes_{tier}",
                on_change=actions.set_standard,
                args=(tier,),
            )
        serves = st.columns(2)
        for k, tier in enumerate(TIERS):
            ss.setdefault(f"serves_{tier}", str(ss.ws.config.tier_demand[tier]))
            serves[k % 2].selectbox(
                t("app.standard.serves", tier=t(f"tier.{tier}")),
                list(TIER_DEMAND_CHOICES),
                format_func=lambda c: t(f"serves.{c}"),
                key=f"serves_{tier}",
                on_change=actions.set_tier_demand,
                args=(tier,),
                help=t("app.standard.serves_help"),
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
        st.selectbox(
            t("app.scen.current"),
            list(ss.scenarios),
            format_func=scenario_label,
            key="scenario_select",
            on_change=actions.select_scenario,
        )
        st.text_input(t("app.scen.new_name"), key="new_scenario_name")
        st.button(t("app.scen.copy"), key="copy_scenario", on_click=actions.copy_scenario)
        st.file_uploader(
            t("app.scen.load"),
            type=UPLOADERS["project_upload"],
            key="project_upload",
            on_change=actions.load_project_file,
        )

    with sb.expander(t("app.prop.header"), expanded=True):
        st.selectbox(t("app.prop.tier"), [str(x) for x in TIERS], format_func=lambda x: t(f"tier.{x}"), key="prop_tier")
        st.selectbox(
            t("app.prop.model"),
            list(MODELS),
            format_func=lambda m: t(MODELS[m].label_key),
            key="prop_model",
            help=t("app.prop.model_help"),
        )
        model = MODELS[str(ss.get("prop_model", "mclp"))]
        if model.goals[0] == "target":  # set covering: the fewest sites for a coverage target
            st.number_input(t("app.prop.target"), min_value=1.0, max_value=100.0, key="prop_target")
        else:
            st.number_input(t("app.prop.k"), min_value=1, max_value=50, key="prop_k")
        if model.name == "pcenter":
            st.checkbox(t("app.prop.weighted"), key="prop_weighted", help=t("site.opt.weighted"))
        if model.capacity:
            st.checkbox(t("app.prop.capacity"), key="prop_capacity", help=t("site.opt.capacity"))
        st.button(t("app.prop.run"), key="run_proposals", on_click=actions.run_proposals, type="primary")

    with sb.expander(t("app.data.header"), expanded=False):
        for role in actions.UPLOAD_COORDS_ROLES:  # each point file with its own coordinate system
            helps = {"demand": t("app.data.demand_help"), "enterprises": t("app.data.enterprises_help")}
            key = f"up_{role}"
            st.file_uploader(t(f"app.data.{role}"), type=UPLOADERS[key], key=key, help=helps.get(role))
            st.selectbox(
                t(f"app.data.coords_{role}"),
                list(actions.UPLOAD_COORDS),
                format_func=lambda c: t(f"app.data.coords_{c}"),
                key=f"coords_{role}",
            )
        st.file_uploader(t("app.data.network"), type=UPLOADERS["up_network"], key="up_network")
        st.file_uploader(t("app.data.areas"), type=UPLOADERS["up_areas"], key="up_areas")
        st.checkbox(t("app.data.allow_off_network"), key="allow_off_network", help=t("app.data.allow_off_network_help"))
        st.button(t("app.data.load"), key="load_uploads", on_click=actions.load_uploads)
        st.button(t("app.data.demo"), key="reopen_demo", on_click=actions.reopen_demo)
        st.caption(md_escape(ss.ws.demand_description()))  # where the demand rows' kinds came from

    with sb.expander(t("app.basemap.header"), expanded=False):
        st.text_input(t("app.basemap.url"), key="tile_url")
        if str(ss.get("tile_url") or "").strip() and tile_url(ss.get("tile_url")) is None:
            st.caption(tm("app.basemap.bad_url"))  # the map is drawn without a basemap
        st.text_input(t("app.basemap.attribution"), key="tile_attr")


def station_controls() -> None:
    """Select / close / undo under the map: they change with every edit, so they live in the fragment."""
    ss = session()
    if "select_request" in ss:
        ss.selected_station = ss.pop("select_request")
    st_ids = current_scenario().stations
    labels = dict(zip(st_ids["id"].astype(str), st_ids["name"].astype(str), strict=True))
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    c1.selectbox(
        t("app.sim.select"),
        [None, *labels],
        format_func=lambda x: "—" if x is None else f"{labels.get(x, x)} ({x})",
        key="selected_station",
    )
    c2.button(t("app.sim.close"), key="close_station", on_click=actions.close_selected, width="stretch")
    c3.button(
        t("app.sim.undo"), key="undo", on_click=actions.undo, disabled=not current_scenario().can_undo, width="stretch"
    )


def page_css() -> None:
    """Styles of every page: figures and labels that fit narrow columns (1366 px wide screens).

    Figure values shrink with the window instead of being cut to "209,…", figure labels
    wrap instead of ending in "…", and the view-tier control wraps its buttons.
    """
    st.markdown(
        """<style>
        [data-testid="stMetricValue"] {font-size:clamp(1.5rem, 2.3vw, 2.25rem)}
        [data-testid="stMetricValue"] > div, [data-testid="stMetricLabel"] p {white-space:normal !important}
        [data-testid="stMetricLabel"] {overflow:visible !important; height:auto !important}
        [data-testid="stButtonGroup"] [role="radiogroup"] {flex-wrap:wrap}
        </style>""",
        unsafe_allow_html=True,
    )


#: Height of the page above and below the map in presentation mode (the map takes the rest).
PRESENTATION_CHROME_PX = 120


def presentation_css() -> None:
    """Presentation mode: no sidebar or page header, large figures, the map as high as the window.

    The map's frame gets the window's height less :data:`PRESENTATION_CHROME_PX` (the
    exit button, the view-tier control, margins), so map, legend and figures fit on one
    screen at 1366×768 as at 1920×1080; inside the frame the map fills it
    (``planner.report.webmap``, ``presentation=True``).
    """
    st.markdown(
        f"""<style>
        [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"] {{display:none}}
        [data-testid="stMainBlockContainer"] {{padding:.6rem 1.5rem 0 1.5rem !important; max-width:100% !important}}
        [data-testid="stMetricValue"] {{font-size:2.6rem}}
        [data-testid="stMetricLabel"] p {{font-size:1.15rem}}
        iframe[title="streamlit_folium.st_folium"] {{height:calc(100vh - {PRESENTATION_CHROME_PX}px) !important}}
        </style>""",
        unsafe_allow_html=True,
    )
