"""Folium maps of coverage: styled stations, isochrones, demand, townships, proposals.

:func:`build_map` assembles the map from the layers of :mod:`planner.report.webmap_layers`
(roads, townships, isochrones, demand, stations, proposals) with a title, a legend and a
layer control; :func:`build_base_and_layers` gives the same map as a base map plus the
layers an edit changes (the live app swaps only those). Everything works offline: the
assets are local (:mod:`planner.report.webmap_assets`, which also writes the standalone
HTML page). No basemap tiles are loaded unless a tile URL is given.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Sequence

import branca
import folium
import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd

from planner.coverage.analyse import CoverageResult
from planner.i18n import t
from planner.report.colours import COVERED_HEX, OFF_NETWORK_HEX, UNCOVERED_HEX
from planner.report.webmap_assets import STATIC_URL, localise_assets
from planner.report.webmap_layers import (
    CHANGE_STYLES,
    ISOCHRONE_FILL_OPACITY,
    PROPOSAL_HEX,
    TIER_STYLES,
    _Raw,
    add_areas,
    add_changes,
    add_demand,
    add_isochrones,
    add_proposals,
    add_roads,
    add_stations,
    change_badge_html,
    interval_colours,
    script_json,
)
from planner.settings import TIERS, Tier

logger = logging.getLogger(__name__)

#: A basemap tile URL the map takes: http(s), no quotes, blanks or angle brackets, and
#: only Leaflet's own placeholders ({s} subdomain, {z}/{x}/{y} tile, {-y} TMS row, {r} retina).
_TILE_URL = re.compile(r"https?://(?:[^\s\"'<>`\\{}]|\{(?:s|z|x|y|-y|r)\})+", re.IGNORECASE)


def tile_url(text: str | None) -> str | None:
    """``text`` as a basemap tile URL the map can use, or ``None`` (nothing given, or not a tile URL).

    A tile URL is typed by a user (the app's basemap field): it is taken only if it is
    an ``http(s)`` URL template with ``{z}``, ``{x}`` and ``{y}`` and no other
    placeholders than Leaflet's own, so it can neither carry markup nor make Leaflet
    fail on an unknown placeholder; a provider name is not looked up.
    """
    url = (text or "").strip()
    if not url:
        return None
    if _TILE_URL.fullmatch(url) and all(f"{{{k}}}" in url for k in ("z", "x")) and ("{y}" in url or "{-y}" in url):
        return url
    logger.warning("not a tile URL template (http(s)://.../{z}/{x}/{y}...): %r; no basemap", url)
    return None


def _bounds(
    result: CoverageResult, areas: gpd.GeoDataFrame | None, proposals: pd.DataFrame | None = None
) -> list[list[float]]:
    """``[[south, west], [north, east]]`` around the township areas, stations, demand points and proposals.

    Areas alone are not enough: an extract's administrative area may hold only part of
    the stations (every one of them should be on screen), and a proposed site may lie
    outside both.
    """
    frames = [result.demand, result.stations, *([proposals] if proposals is not None and len(proposals) else [])]
    lon = np.concatenate([f["lon"].to_numpy(float) for f in frames])
    lat = np.concatenate([f["lat"].to_numpy(float) for f in frames])
    if areas is not None and len(areas):
        x0, y0, x1, y1 = areas.to_crs("EPSG:4326").total_bounds
        lon, lat = np.append(lon, [x0, x1]), np.append(lat, [y0, y1])
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return [[0.0, 0.0], [0.0, 0.0]]
    return [[float(lat[ok].min()), float(lon[ok].min())], [float(lat[ok].max()), float(lon[ok].max())]]


def _swatch(colour: str, *, round_: bool = False, opacity: float = 1.0) -> str:
    radius = "50%" if round_ else "2px"
    return (
        f'<span style="display:inline-block;width:.9em;height:.9em;border-radius:{radius};background:{colour};'
        f'opacity:{opacity};margin:0 .35em 0 .1em;vertical-align:-.1em;border:1px solid rgba(0,0,0,.25)"></span>'
    )


def _legend_html(
    *,
    tiers: Sequence[Tier],
    circle: gpd.GeoDataFrame | None,
    has_proposals: bool,
    presentation: bool,
    lang: str | None,
    extra: str = "",
) -> str:
    """The legend: the viewed tier's circle per interval, coverage colours, stations, edits, proposals.

    A ``<details>`` element, open at first: a click on its heading folds it away
    (it never hides part of the map for good). ``tiers[0]`` is the viewed tier. The
    lines of the edits are filled in by a layer (:class:`_EditLegend`), so that an edit
    swaps layers without reloading the base map.
    """
    font = 15 if presentation else 12
    view = tiers[0] if tiers else Tier.VILLAGE
    view_name = t(f"tier.{view}", lang=lang)
    rows: list[str] = []
    if circle is not None and len(circle):
        minutes = sorted(float(x) for x in circle["minutes"])
        mode = str(circle["mode"].iloc[0]) if "mode" in circle else ""
        head = t("app.map.circle_legend", lang=lang, tier=view_name, mode=t(f"app.mode.{mode}", lang=lang))
        rows.append(f'<div style="font-weight:600;margin-top:2px">{html.escape(head)}</div>')
        for colour, m in zip(interval_colours(view, len(minutes)), minutes, strict=True):
            label = t("app.map.circle_interval", lang=lang, minutes=m)
            rows.append(f"<div>{_swatch(colour, opacity=ISOCHRONE_FILL_OPACITY)}{html.escape(label)}</div>")
    if extra:  # the demand points are coloured by something else (accessibility): its classes
        rows.append(extra)
    else:
        cov = t("app.map.demand_legend", lang=lang, tier=view_name)
        rows.append(f'<div style="font-weight:600;margin-top:4px">{html.escape(cov)}</div>')
        for colour, key in ((COVERED_HEX, "covered"), (UNCOVERED_HEX, "uncovered"), (OFF_NETWORK_HEX, "off_network")):
            rows.append(f"<div>{_swatch(colour, round_=True)}{html.escape(t(f'app.map.{key}', lang=lang))}</div>")
    head = html.escape(t("app.map.stations_legend", lang=lang))
    rows.append(f'<div style="font-weight:600;margin-top:4px">{head}</div>')
    for tier in TIERS:
        st = TIER_STYLES[tier]
        mark = "" if tier == view else " style='opacity:.55'"
        rows.append(
            f'<div{mark}><i class="fa-solid fa-{st.icon}" style="color:{st.hex};width:1.4em;text-align:center"></i>'
            f" {html.escape(t(f'tier.{tier}', lang=lang))}</div>"
        )
    rows.append('<div id="planner-legend-edits"></div>')
    if has_proposals:
        label = html.escape(t("app.map.proposal_legend", lang=lang))
        rows.append(f"<div>{_swatch(PROPOSAL_HEX, round_=True)}{label}</div>")
    return (
        '<details id="planner-legend" open style="position:absolute;bottom:28px;right:10px;z-index:9999;'
        "background:rgba(255,255,255,.93);padding:6px 10px;border-radius:6px;box-shadow:0 0 6px rgba(0,0,0,.3);"
        f'font-size:{font}px;line-height:1.4;max-height:calc(100% - 90px);overflow:auto">'
        f'<summary style="font-weight:bold;cursor:pointer">{html.escape(t("app.map.legend", lang=lang))}</summary>'
        + "".join(rows)
        + "</details>"
    )


def _html_text(text: str) -> str:
    """User text as HTML text that no template pass can read as code.

    ``html.escape`` plus the braces as character references: branca compiles the
    rendered script and HTML of folium's own elements (the tile layer's attribution
    among them) as Jinja templates once more, so a typed ``{{ ... }}`` would run on
    the server; ``&#123;`` shows as ``{`` and means nothing to Jinja.
    """
    return html.escape(text).replace("{", "&#123;").replace("}", "&#125;")


def _title_html(title: str, *, presentation: bool) -> str:
    font = 30 if presentation else 16
    return (
        f'<div id="planner-title" style="position:absolute;top:10px;left:50%;transform:translateX(-50%);z-index:9999;'
        f"background:rgba(255,255,255,.9);padding:4px 14px;border-radius:6px;font-weight:bold;font-size:{font}px;"
        f'box-shadow:0 0 6px rgba(0,0,0,.3)">{_html_text(title)}</div>'
    )


def build_base_and_layers(
    *,
    result: CoverageResult,
    isochrones: dict[Tier, gpd.GeoDataFrame] | None = None,
    roads: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    proposals: pd.DataFrame | None = None,
    tiers: Sequence[Tier | str] | None = None,
    intervals: Sequence[float] | None = None,
    tiles: str | None = None,
    tiles_attribution: str = "",
    presentation: bool = False,
    lang: str | None = None,
    title: str | None = None,
    asset_base_url: str = STATIC_URL,
    demand_first_tier_only: bool = False,
    changes: pd.DataFrame | None = None,
    access: tuple[pd.DataFrame, str] | None = None,
) -> tuple[folium.Map, list[folium.FeatureGroup]]:
    """Build the coverage map as a base map plus the layers an edit changes.

    Same parameters as :func:`build_map`, which adds the layers and a layer control to
    the base map. The live app (``planner.app.map_parts.build_map_parts``) hands the
    layers to streamlit-folium as ``feature_group_to_add``: while the base map is
    unchanged, the browser swaps these layers in the existing map instead of reloading
    it (and the view the user panned to is kept). The base map's script carries a
    signature of its title and legend, so a change there reloads the map.

    Returns
    -------
    tuple[folium.Map, list[folium.FeatureGroup]]
        The base map (basemap, roads, townships, view, title, legend) and the feature
        groups that follow every edit (isochrones, demand, stations, proposals), all
        assets local. With ``access`` (the viewed tier's accessibility frame and its
        method, :mod:`planner.report.access_map`), the viewed tier's demand points are
        coloured by accessibility class instead of coverage, its service circle is left
        out and the legend shows the classes.
    """
    from planner.report.access_map import access_legend_html, add_access, add_access_pane

    shown = [Tier(x) for x in (tiers or TIERS)]
    view = shown[0]
    bounds = _bounds(result, areas, proposals)
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    # quarter zoom steps: the fitted view fills the frame (whole steps often leave it half empty)
    m = folium.Map(location=centre, zoom_start=11, tiles=None, control_scale=True, prefer_canvas=False, zoom_snap=0.25)
    url = tile_url(tiles)
    if url:
        # Leaflet shows the attribution as HTML: a typed text is data, escaped
        attribution = _html_text(tiles_attribution.strip()) or "tiles"
        folium.TileLayer(tiles=url, attr=attribution, name=t("app.map.basemap", lang=lang)).add_to(m)
    else:
        fig: branca.element.Figure = m.get_root()  # type: ignore[assignment]
        # !important: leaflet.css (inlined after this in the standalone export) sets its own grey
        fig.header.add_child(branca.element.Element("<style>.leaflet-container{background:#f4f1ea !important}</style>"))
    if presentation:
        # in the app the map's frame is as high as the window (planner.app.widgets.presentation_css):
        # the map fills the frame, whatever height the component was given
        head: branca.element.Figure = m.get_root()  # type: ignore[assignment]
        head.header.add_child(branca.element.Element("<style>#map_div,#map_div2{height:100vh !important}</style>"))
    if roads is not None and len(roads):
        add_roads(m, roads, lang=lang)
    if areas is not None and len(areas):
        add_areas(m, areas, lang=lang)
    # room for the title above; not for the legend (it folds away): on a narrow map its
    # width would leave the county a third of the frame
    m.fit_bounds(bounds, padding_top_left=(20, 60 if presentation else 45), padding_bottom_right=(20, 20))
    # coloured by accessibility, the viewed tier's circle and coverage colouring are left out:
    # the circle's fill would hide the classes' light colours (and streamlit-folium draws every
    # layer it is given, hidden or not)
    circle = isochrones.get(view) if isochrones and access is None else None
    overlay = _title_html(title or t("app.title", lang=lang), presentation=presentation) + _legend_html(
        tiers=shown,
        circle=circle,
        has_proposals=proposals is not None and len(proposals) > 0,
        presentation=presentation,
        lang=lang,
        extra=access_legend_html(access[0], tier=view, method=access[1], lang=lang) if access is not None else "",
    )
    if access is not None:
        add_access_pane(m)
    root: branca.element.Figure = m.get_root()  # type: ignore[assignment]
    root.html.add_child(_Raw(overlay))  # rendered text: no Jinja pass over the typed title
    _Signature(hashlib.sha1(overlay.encode("utf-8")).hexdigest()).add_to(m)
    _FoldLegendWhenNarrow().add_to(m)

    holder = folium.Map(tiles=None)  # layers are built on a scratch map, then detached
    for tier in shown:
        if isochrones and tier in isochrones and not (access is not None and tier == view):
            # one circle at a time (they overlap): the viewed tier's; the others in the layer control
            add_isochrones(holder, tier, isochrones[tier], intervals=intervals, lang=lang, show=tier == view)
    for i, tier in enumerate(shown[: 1 if demand_first_tier_only else None]):
        if access is None or tier != view:
            add_demand(holder, tier, result.demand, show=i == 0, lang=lang)
    if access is not None:
        add_access(holder, access[0], tier=view, lang=lang)
    for tier in shown[::-1]:  # the viewed tier's stations last: on top
        add_stations(holder, tier, result.stations, lang=lang, emphasised=tier == view)
    if changes is not None:
        add_changes(holder, changes, lang=lang)
    legend = folium.FeatureGroup(name="legend-edits", control=False)
    _EditLegend(_edit_legend_html(changes, lang=lang)).add_to(legend)
    legend.add_to(holder)
    if proposals is not None:
        add_proposals(holder, proposals, big=presentation, lang=lang)
    layers = [el for el in holder._children.values() if isinstance(el, folium.FeatureGroup)]
    for fg in layers:
        fg._parent = None
        localise_assets(fg, base_url=asset_base_url)  # type: ignore[arg-type]
    return localise_assets(m, base_url=asset_base_url), layers


def _edit_legend_html(changes: pd.DataFrame | None, *, lang: str | None) -> str:
    """Legend lines of the kinds of edit present in ``changes`` (empty when there are none)."""
    present = set() if changes is None else set(changes["change"].astype(str))
    rows = [
        change_badge_html(kind, size_px=15, inline=True) + html.escape(t(f"app.map.change.{kind}", lang=lang))
        for kind in CHANGE_STYLES
        if kind in present
    ]
    return "".join(f"<div>{row}</div>" for row in rows)


class _EditLegend(branca.element.MacroElement):
    """A layer script that writes the edits' lines into the legend (``#planner-legend-edits``).

    Always among the layers, so that after every edit (a swap of layers) the legend
    says which kinds of edit the map shows, and nothing once they are undone.
    """

    _template = jinja2.Template(
        """{% macro script(this, kwargs) %}
(function () {
    var el = document.getElementById("planner-legend-edits");
    if (el) { el.innerHTML = {{ this.text }}; }
})();
{% endmacro %}"""
    )

    def __init__(self, rows_html: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no annotations
        self._name = "EditLegend"
        self.text = script_json(rows_html)


#: A map narrower than this (pixels) starts with its legend folded (one click opens it).
LEGEND_OPEN_MIN_WIDTH_PX = 640


class _FoldLegendWhenNarrow(branca.element.MacroElement):
    """Fold the legend on a narrow map (e.g. the app's map column on a 1366 px screen).

    Open, the legend would cover a third of such a map; folded, its heading stays and a
    click opens it.
    """

    _template = jinja2.Template(
        """{% macro script(this, kwargs) %}
(function (map) {
    var legend = document.getElementById("planner-legend");
    if (legend && map.getSize().x < {{ this.min_width }}) { legend.open = false; }
})({{ this._parent.get_name() }});
{% endmacro %}"""
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no annotations
        self._name = "FoldLegendWhenNarrow"
        self.min_width = LEGEND_OPEN_MIN_WIDTH_PX


class _Signature(branca.element.MacroElement):
    """A script comment that makes the base map's script differ when its page overlay does."""

    _template = jinja2.Template("{% macro script(this, kwargs) %}// planner-overlay {{ this.sig }}\n{% endmacro %}")

    def __init__(self, sig: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no annotations
        self._name = "Signature"
        self.sig = sig


def build_map(
    *,
    result: CoverageResult,
    isochrones: dict[Tier, gpd.GeoDataFrame] | None = None,
    roads: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    proposals: pd.DataFrame | None = None,
    tiers: Sequence[Tier | str] | None = None,
    intervals: Sequence[float] | None = None,
    tiles: str | None = None,
    tiles_attribution: str = "",
    presentation: bool = False,
    lang: str | None = None,
    title: str | None = None,
    asset_base_url: str = STATIC_URL,
    demand_first_tier_only: bool = False,
    changes: pd.DataFrame | None = None,
    access: tuple[pd.DataFrame, str] | None = None,
) -> folium.Map:
    """Build the coverage map.

    Parameters
    ----------
    result
        Coverage of the current scenario (stations with loads, demand per tier).
    isochrones
        Per tier, the tier-union polygons per interval (``Workspace.isochrones``): the
        service circle, filled and graded per interval.
    roads
        Road lines to draw under everything else (:func:`road_lines`); recommended
        when there is no basemap.
    areas
        Township polygons drawn as boundaries.
    proposals
        Proposed sites (rank, lon, lat, tier, newly_covered_population), numbered markers.
    tiers
        Tiers to show (default all four). The first one is the viewed tier: its
        service circle is the one in the legend, its demand layer is visible (the
        others can be switched on in the layer control) and its stations are drawn on
        top, the other tiers' faded.
    intervals
        Isochrone intervals (minutes) to draw; default all.
    tiles
        Basemap tile URL template (``https://.../{z}/{x}/{y}.png``, see :func:`tile_url`);
        default none (works offline). Any other text: no basemap.
    tiles_attribution
        Attribution text required by the tile provider (plain text: shown as written).
    presentation
        Large title and legend for meetings.
    lang
        Language of labels (default: active language).
    title
        Map title (default: the app title).
    asset_base_url
        Where the vendored Leaflet assets are served (``/app/static`` under Streamlit).
    demand_first_tier_only
        Draw demand coverage only for the first tier (a smaller page for the live app;
        the other tiers' demand layers are otherwise present but switched off).
    changes
        Stations added, moved and closed in this scenario
        (:func:`planner.workspace.scenario.station_changes`), marked with badges.
    access
        The viewed tier's accessibility (:meth:`planner.workspace.workspace.Workspace.accessibility`
        with ``lon``/``lat``) and its method: the tier's demand points coloured by class.

    Returns
    -------
    folium.Map
        With layer control, scale bar, legend and title; all assets local.
    """
    m, layers = build_base_and_layers(
        result=result,
        isochrones=isochrones,
        roads=roads,
        areas=areas,
        proposals=proposals,
        tiers=tiers,
        intervals=intervals,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        presentation=presentation,
        lang=lang,
        title=title,
        asset_base_url=asset_base_url,
        demand_first_tier_only=demand_first_tier_only,
        changes=changes,
        access=access,
    )
    for fg in layers:
        fg.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m
