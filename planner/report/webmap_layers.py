"""The layers of the web map: styles, one-pass GeoJSON layers and a builder per kind of data.

Roads, township areas, isochrones, demand, stations and proposals each become a
feature group holding one :class:`_Layer`: GeoJSON text built once and styled and
labelled in the browser. :func:`road_lines` draws the road network for display.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import branca
import folium
import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from planner.i18n import t
from planner.network.roads import RoadNetwork
from planner.report.colours import COVERED_HEX, OFF_NETWORK_HEX, TIER_COLOURS, UNCOVERED_HEX, interval_shades
from planner.report.webmap_assets import walk_elements
from planner.settings import Tier


@dataclass(frozen=True)
class TierStyle:
    """Colour and icon of a tier on the map."""

    colour: str  # awesome-markers colour name
    hex: str  # same colour for polygons and the legend
    icon: str  # Font Awesome 6 solid icon name
    size_px: int


TIER_STYLES: dict[Tier, TierStyle] = {
    # pins (awesome-markers has a fixed palette: the names nearest the tier colours)
    Tier.COUNTY: TierStyle(colour="darkpurple", hex=TIER_COLOURS[Tier.COUNTY], icon="landmark", size_px=16),
    Tier.TOWNSHIP: TierStyle(colour="darkblue", hex=TIER_COLOURS[Tier.TOWNSHIP], icon="building", size_px=14),
    # badges, drawn in the tier colour itself
    Tier.VILLAGE: TierStyle(colour="orange", hex=TIER_COLOURS[Tier.VILLAGE], icon="house", size_px=11),
    Tier.ENTERPRISE: TierStyle(colour="cadetblue", hex=TIER_COLOURS[Tier.ENTERPRISE], icon="industry", size_px=11),
}
PROPOSAL_HEX = "#212121"  # near black with white numbers: apart from every tier and demand colour
#: Isochrones are simplified for display (about 20 m) and rounded to about 1 m.
ISOCHRONE_SIMPLIFY_DEG = 0.0002
ISOCHRONE_PRECISION_DEG = 0.00001


def _fmt_int(v: object) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return f"{f:,.0f}" if np.isfinite(f) else "—"


def _fmt_min(v: object, lang: str | None) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return t("app.map.unreachable", lang=lang)
    return f"{f:.1f}" if np.isfinite(f) else t("app.map.unreachable", lang=lang)


class _Raw(branca.element.Element):
    """Text that is already rendered (no second template pass)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _RawRender(branca.element.MacroElement):
    """``MacroElement.render`` without compiling each rendered part as a new template.

    branca wraps the rendered header, html and script of every element in an
    ``Element`` whose text is compiled by Jinja again; for a layer with a large GeoJSON
    that second pass costs more than everything else in a rerun of the live map.
    The text here is data (escaped), so it is kept as it is.
    """

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # branca returns None here too
        figure = self.get_root()
        if not isinstance(figure, branca.element.Figure):
            msg = "cannot render an element that is not in a figure"
            raise TypeError(msg)
        module = self._template.module.__dict__
        for part, box in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = module.get(part)
            if macro is not None:
                box.add_child(_Raw(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


def script_json(obj: Any) -> str:
    """Compact JSON text that is safe inside an HTML ``<script>`` (``<``, ``>``, ``&`` escaped).

    Chinese text stays as it is (UTF-8): a third of the size of six-character escapes.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _script_safe(text)


def _script_safe(text: str) -> str:
    # these characters occur only inside JSON strings, where the escapes mean the same
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _feature_collection(geometries: Sequence[str], properties: Sequence[dict[str, Any]]) -> str:
    """GeoJSON FeatureCollection text from geometry JSON texts and per-feature properties."""
    feats = [
        '{"type":"Feature","geometry":' + g + ',"properties":' + script_json(p) + "}"
        for g, p in zip(geometries, properties, strict=True)
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"


class _Layer(_RawRender):
    """A Leaflet GeoJSON layer from JSON text made once, styled and labelled in the browser.

    Stands in for ``folium.GeoJson`` on these maps: folium evaluates a style function
    per feature in Python, dumps the data again at each render and compiles a template
    per tooltip and popup (together most of a live map update). Here the data is text
    built once (cached while a layer is unchanged) and the browser reads, per feature:

    ``style``
        Leaflet path options merged over the layer's ``style`` (colour, radius...).
    ``tip``, ``popup``
        Tooltip and popup HTML (escaped by the caller).
    ``icon``
        Icon options of a marker merged over the layer's (e.g. a numbered badge).

    Parameters
    ----------
    data
        GeoJSON FeatureCollection text, safe inside a script (:func:`script_json`).
    style
        Path options of every feature (lines, polygons, circle points).
    points
        How point features are drawn: ``"circle"`` (``L.circleMarker``) or ``"marker"``
        (``L.marker`` with ``icon``).
    icon
        ``("awesome", options)`` for ``L.AwesomeMarkers.icon`` or ``("div", options)``
        for ``L.divIcon``: the options every marker's icon starts from.
    interactive
        ``False``: the layer takes no clicks or hovers (roads under everything).
    marker
        Options of every ``L.marker`` (e.g. ``opacity``, ``zIndexOffset``).
    bounds
        ``[[south, west], [north, east]]`` when known; otherwise computed from the data
        when asked for (streamlit-folium asks on every rerun).
    """

    _template = jinja2.Template(
        """{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJson({{ this.text }}, {
    interactive: {{ "true" if this.interactive else "false" }},
    style: function (f) { return Object.assign({}, {{ this.style_json }}, (f.properties || {}).style); },
{%- if this.points == "circle" %}
    pointToLayer: function (f, latlng) { return L.circleMarker(latlng); },
{%- elif this.points == "marker" %}
    pointToLayer: function (f, latlng) {
        var icon = Object.assign({}, {{ this.icon_options }}, (f.properties || {}).icon);
        return L.marker(latlng, Object.assign({icon: {{ this.icon_factory }}(icon)}, {{ this.marker_json }}));
    },
{%- endif %}
    onEachFeature: function (f, layer) {
        var p = f.properties || {};
        if (p.tip != null) { layer.bindTooltip(String(p.tip), {sticky: true}); }
        if (p.popup != null) { layer.bindPopup(String(p.popup), {maxWidth: 320}); }
    }
}).addTo({{ this._parent.get_name() }});{% endmacro %}"""
    )

    def __init__(
        self,
        data: str,
        *,
        style: dict[str, Any] | None = None,
        points: str | None = None,
        icon: tuple[str, dict[str, Any]] | None = None,
        interactive: bool = True,
        marker: dict[str, Any] | None = None,
        bounds: list[list[float]] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no annotations
        self._name = "PlannerLayer"
        if points not in (None, "circle", "marker") or (points == "marker") != (icon is not None):
            msg = f"points={points!r} with icon={icon!r}: markers need an icon, circles and shapes none"
            raise ValueError(msg)
        self.text = data
        self.style_json = script_json(style or {})
        self.points = points
        self.icon_factory, self.icon_options = "", "{}"
        if icon is not None:
            kind, options = icon
            self.icon_factory = {"awesome": "L.AwesomeMarkers.icon", "div": "L.divIcon"}[kind]
            self.icon_options = script_json(options)
        self.interactive = interactive
        self.marker_json = script_json(marker or {})
        self._known_bounds = bounds

    @property
    def data(self) -> dict[str, Any]:
        """The layer's GeoJSON, parsed (for tests and bounds; the map uses the text)."""
        parsed: dict[str, Any] = json.loads(self.text)
        return parsed

    def _get_self_bounds(self) -> list[list[float | None]]:
        if self._known_bounds is None:
            from folium.utilities import get_bounds

            return get_bounds(self.data, lonlat=True)
        return [list(corner) for corner in self._known_bounds]


def _geometry_json(geoms: NDArray[np.object_]) -> list[str]:
    """GeoJSON geometry texts (coordinates as Python writes floats: shortest round-trip form)."""
    return [json.dumps(shapely.geometry.mapping(g), separators=(",", ":"), allow_nan=False) for g in geoms]


def add_areas(m: folium.Map, areas: gpd.GeoDataFrame, *, lang: str | None) -> None:
    """Add the township boundaries (dashed, named in their tooltips) to ``m``."""
    gdf = areas.to_crs("EPSG:4326")
    gdf = gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]
    if not len(gdf):
        return
    label = t("app.map.township", lang=lang)
    tips = [{"tip": f"{html.escape(label)}：<b>{html.escape(str(name))}</b>"} for name in gdf["name"]]
    fg = folium.FeatureGroup(name=t("app.map.layer_areas", lang=lang), show=True)
    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    _Layer(
        _feature_collection(_geometry_json(gdf.geometry.to_numpy()), tips),
        style={"color": "#555555", "weight": 1.5, "dashArray": "5 4", "fill": False},
        bounds=[[y0, x0], [y1, x1]],
    ).add_to(fg)
    fg.add_to(m)


#: Display geometry (simplified, GeoJSON text) per isochrone frame: the app hands the same
#: frame while a tier is unchanged, so redrawing after an edit of another tier costs nothing.
#: Shared by every session of the app server (the frames of its last few edits).
_SIMPLIFIED: dict[int, tuple[gpd.GeoDataFrame, NDArray[np.object_]]] = {}
#: Frames kept in :data:`_SIMPLIFIED`.
SIMPLIFIED_CACHE_SIZE: int = 16
#: Guards the eviction of the module's caches: the app's sessions build maps in parallel threads.
_CACHE_LOCK = threading.Lock()


def _remember(cache: dict[int, Any], key: int, value: Any, *, size: int) -> None:
    """Put ``value`` into ``cache`` and drop its oldest entries beyond ``size`` (thread-safe)."""
    with _CACHE_LOCK:
        cache[key] = value
        while len(cache) > size:
            cache.pop(next(iter(cache)))


def _display_geometry(iso: gpd.GeoDataFrame, rows: NDArray[np.int64]) -> list[str]:
    """GeoJSON texts of the simplified geometry of ``iso``'s rows (index labels)."""
    hit = _SIMPLIFIED.get(id(iso))
    if hit is None or hit[0] is not iso:
        geoms = iso.to_crs("EPSG:4326").geometry.to_numpy()
        # display only: without topology preservation (10x faster on a county's circles) and
        # rounded rather than snapped by set_precision (which re-nodes every ring)
        decimals = round(-np.log10(ISOCHRONE_PRECISION_DEG))
        simple = shapely.transform(
            shapely.simplify(geoms, ISOCHRONE_SIMPLIFY_DEG, preserve_topology=False), lambda xy: np.round(xy, decimals)
        )
        drawn = np.array([g is not None and not shapely.is_empty(g) for g in simple], dtype=bool)
        texts = np.full(len(simple), "null", dtype=object)
        # GEOS writes the (rounded) coordinates ~8x faster than json.dumps of shapely's mapping
        texts[drawn] = shapely.to_geojson(simple[drawn])
        hit = (iso, texts)
        _remember(_SIMPLIFIED, id(iso), hit, size=SIMPLIFIED_CACHE_SIZE)
    return list(hit[1][iso.index.get_indexer(rows)])


def interval_colours(tier: Tier, n: int) -> list[str]:
    """Fill colours of ``n`` nested intervals of ``tier``'s service circle, shortest (darkest) first.

    The printed map's shades (:func:`planner.report.colours.interval_shades`), so a
    circle looks the same on screen and on paper.
    """
    return list(interval_shades(TIER_COLOURS[tier], n=n))


#: Fill opacity of every interval of a service circle (nested: inner areas build up).
ISOCHRONE_FILL_OPACITY = 0.6


def add_isochrones(
    m: folium.Map,
    tier: Tier,
    iso: gpd.GeoDataFrame,
    *,
    intervals: Sequence[float] | None,
    lang: str | None,
    show: bool = True,
) -> None:
    """Add ``tier``'s service circle to ``m``: one filled area per interval, largest first.

    Graded colours (:func:`interval_colours`): smaller intervals darker and on top.
    ``show=False``: listed in the layer control, switched off.
    """
    if iso is None or not len(iso):
        return
    gdf = iso[~iso.geometry.is_empty & iso.geometry.notna()]
    if intervals is not None:
        keep = np.isin(np.round(gdf["minutes"].to_numpy(float), 6), np.round(np.asarray(intervals, float), 6))
        gdf = gdf[keep]
    if not len(gdf):
        return
    gdf = gdf.sort_values("minutes", ascending=False)  # largest first, smaller on top (nested)
    colours = interval_colours(tier, len(gdf))[::-1]  # largest interval: lightest
    tier_name = t(f"tier.{tier}", lang=lang)
    props = [
        {
            "style": {"fillColor": c},
            "tip": html.escape(t("app.map.isochrone_tip", lang=lang, tier=tier_name, minutes=minutes)),
        }
        for c, minutes in zip(colours, gdf["minutes"].tolist(), strict=True)
    ]
    fg = folium.FeatureGroup(name=t("app.map.layer_isochrones", lang=lang, tier=tier_name), show=show)
    _Layer(
        _feature_collection(_display_geometry(iso, gdf.index.to_numpy()), props),
        # each interval's edge in the tier's own colour: the light shades stay readable as areas
        style={
            "color": TIER_COLOURS[tier],
            "weight": 1.2,
            "opacity": 0.85,
            "fillOpacity": ISOCHRONE_FILL_OPACITY,
            "className": "planner-circle",
        },
    ).add_to(fg)
    fg.add_to(m)


def _points(df: pd.DataFrame, props: dict[str, Any]) -> str:
    """GeoJSON FeatureCollection text of points with the given per-row properties.

    Rows without finite coordinates cannot be drawn and are left out.
    """
    lon = np.round(df["lon"].to_numpy(float), 6)
    lat = np.round(df["lat"].to_numpy(float), 6)
    ok = np.isfinite(lon) & np.isfinite(lat)
    cols = {k: (v.tolist() if isinstance(v, np.ndarray) else list(v)) for k, v in props.items()}
    keys = list(cols)
    geoms, rows = [], []
    for good, x, y, *vals in zip(ok.tolist(), lon.tolist(), lat.tolist(), *cols.values(), strict=True):
        if good:
            geoms.append(f'{{"type":"Point","coordinates":[{x!r},{y!r}]}}')
            rows.append(dict(zip(keys, vals, strict=True)))
    return _feature_collection(geoms, rows)


def add_demand(m: folium.Map, tier: Tier, demand: pd.DataFrame, *, show: bool, lang: str | None) -> None:
    """Add ``tier``'s demand points to ``m``: circles sized by population, coloured by coverage."""
    d = demand[demand["tier"] == str(tier)]
    if not len(d):
        return
    pop = d["population"].to_numpy(float)
    top = max(float(np.nanmax(pop)), 1.0)
    radius = np.round(3.0 + 9.0 * np.sqrt(np.clip(np.nan_to_num(pop), 0, None) / top), 2)
    covered = d["covered"].astype("boolean")
    colour = np.where(covered.isna(), OFF_NETWORK_HEX, np.where(covered.fillna(False), COVERED_HEX, UNCOVERED_HEX))
    names = d["name"].astype(str).map(html.escape).to_numpy(object)
    popup = (
        "<b>"
        + names
        + "</b><br>"
        + t("app.map.population", lang=lang)
        + ": "
        + np.array([_fmt_int(v) for v in pop], dtype=object)
        + "<br>"
        + t("app.map.minutes", lang=lang)
        + ": "
        + np.array([_fmt_min(v, lang) for v in d["minutes"].to_numpy(float)], dtype=object)
        + "<br>"
        + t("app.map.nearest", lang=lang)
        + ": "
        + d["station_id"].astype(str).map(html.escape).to_numpy(object)
    )
    styles = [{"fillColor": c, "radius": r} for c, r in zip(colour.tolist(), radius.tolist(), strict=True)]
    data = _points(d, {"tip": names, "popup": popup, "style": styles})
    fg = folium.FeatureGroup(name=t("app.map.layer_demand", lang=lang, tier=t(f"tier.{tier}", lang=lang)), show=show)
    # a white outline: covered (green) dots stay visible on a service circle of any colour
    outline = {"weight": 1.2, "color": "#ffffff", "fill": True, "fillOpacity": 0.85}
    _Layer(data, style=outline, points="circle").add_to(fg)
    fg.add_to(m)


#: Tiers drawn as large pins; the many small stations are small round badges so that the
#: demand circles under them stay visible.
PIN_TIERS: tuple[Tier, ...] = (Tier.COUNTY, Tier.TOWNSHIP)


def _station_icon(tier: Tier) -> tuple[str, dict[str, Any]]:
    """Leaflet icon of a tier's stations: ``("awesome", options)`` pins or ``("div", options)`` badges."""
    style = TIER_STYLES[tier]
    if tier in PIN_TIERS:
        return "awesome", {"markerColor": style.colour, "iconColor": "white", "icon": style.icon, "prefix": "fa"}
    size = style.size_px + 4  # 15 px: 155 village badges still leave the circle under them visible
    return "div", {
        "html": (
            f'<div class="planner-station planner-{tier}" style="width:{size}px;height:{size}px;'
            f"line-height:{size}px;border-radius:50%;background:{style.hex};color:#fff;text-align:center;"
            f'border:1.5px solid #fff;box-shadow:0 0 2px #000;font-size:{style.size_px - 3}px">'
            f'<i class="fa-solid fa-{style.icon}"></i></div>'
        ),
        "iconSize": [size, size],
        "iconAnchor": [size // 2, size // 2],
        "className": "planner-station-icon",
    }


#: Opacity of the stations of the tiers not viewed (the viewed tier's are opaque and on top).
MUTED_STATION_OPACITY = 0.55


def add_stations(
    m: folium.Map, tier: Tier, stations: pd.DataFrame, *, lang: str | None, emphasised: bool = True
) -> None:
    """Add ``tier``'s stations to ``m`` (pins or badges, :func:`_station_icon`), tooltip ``name (id)``.

    ``emphasised=False`` draws them faded and under the viewed tier's stations.
    """
    s = stations[stations["tier"].astype(str) == str(tier)]
    if not len(s):
        return
    cov = s["covered_population"].to_numpy(float) if "covered_population" in s else np.full(len(s), np.nan)
    names = s["name"].astype(str).map(html.escape).to_numpy(object)
    ids = s["id"].astype(str).map(html.escape).to_numpy(object)
    label = names + " (" + ids + ")"
    popup = (
        "<b>"
        + names
        + "</b><br>"
        + ids
        + " · "
        + t(f"tier.{tier}", lang=lang)
        + "<br>"
        + t("app.map.station_covers", lang=lang)
        + ": "
        + np.array([_fmt_int(v) for v in cov], dtype=object)
    )
    # the tooltip "name (id)" is read back by station_id_from_tooltip (a click on a station)
    data = _points(s, {"tip": label, "popup": popup})
    fg = folium.FeatureGroup(name=t("app.map.layer_stations", lang=lang, tier=t(f"tier.{tier}", lang=lang)))
    marker = {"zIndexOffset": 1000} if emphasised else {"opacity": MUTED_STATION_OPACITY, "zIndexOffset": -1000}
    _Layer(data, points="marker", icon=_station_icon(tier), marker=marker).add_to(fg)
    fg.add_to(m)


#: Colour and symbol of each kind of edit (:func:`planner.workspace.scenario.station_changes`).
CHANGE_STYLES: dict[str, tuple[str, str]] = {
    "added": ("#c51162", "+"),  # pink: no tier's, no demand status's
    "moved": ("#6d4c41", "↔"),  # brown
    "closed": ("#616161", "×"),  # grey, hollow
}


def change_badge_html(kind: str, *, size_px: int = 16, inline: bool = False) -> str:
    """The badge of an edit: a small coloured disc with the edit's symbol (``inline``: in a line of text)."""
    colour, symbol = CHANGE_STYLES[kind]
    hollow = kind == "closed"
    fill = "#ffffff" if hollow else colour
    ink = colour if hollow else "#ffffff"
    flow = "display:inline-block;vertical-align:middle;margin-right:.35em;" if inline else ""
    return (
        f'<div class="planner-change planner-{kind}" style="{flow}width:{size_px}px;height:{size_px}px;'
        f"line-height:{size_px - 3}px;border-radius:50%;background:{fill};color:{ink};text-align:center;"
        f"border:2px {'dashed' if hollow else 'solid'} {colour};font-weight:bold;font-size:{size_px - 4}px;"
        f'box-shadow:0 0 2px #000">{symbol}</div>'
    )


def add_changes(m: folium.Map, changes: pd.DataFrame, *, lang: str | None) -> None:
    """Mark the stations added, moved and closed in this scenario (:func:`station_changes` rows).

    Added and moved stations get a badge beside their marker, a moved one also a dashed
    line from where it was; a closed station a hollow badge where it was. Tooltips end
    with the kind of edit (never ``"(id)"``: a click on a badge is not a station click).
    """
    if changes is None or not len(changes):
        return
    fg = folium.FeatureGroup(name=t("app.map.layer_changes", lang=lang))
    moved = changes[changes["change"] == "moved"]
    if len(moved):
        lines = [
            json.dumps({"type": "LineString", "coordinates": [[float(a), float(b)], [float(c), float(d)]]})
            for a, b, c, d in zip(moved["from_lon"], moved["from_lat"], moved["lon"], moved["lat"], strict=True)
        ]
        colour = CHANGE_STYLES["moved"][0]
        _Layer(
            _feature_collection(lines, [{} for _ in lines]),
            style={"color": colour, "weight": 2.5, "dashArray": "6 5", "opacity": 0.9},
            interactive=False,
        ).add_to(fg)
    size = 16
    kinds = changes["change"].astype(str).tolist()
    names = changes["name"].astype(str).map(html.escape).tolist()
    tips = [f"{n} · {t(f'app.map.change.{k}', lang=lang)}" for n, k in zip(names, kinds, strict=True)]
    # added / moved: up and right of the station's own marker; closed: where it was
    icons: list[dict[str, Any]] = [
        {
            "html": change_badge_html(k, size_px=size),
            "iconAnchor": [-6, size + 6] if k != "closed" else [size // 2, size // 2],
        }
        for k in kinds
    ]
    badge = ("div", {"iconSize": [size, size], "className": ""})
    data = _points(changes, {"tip": tips, "icon": icons})
    _Layer(data, points="marker", icon=badge, marker={"zIndexOffset": 2000}).add_to(fg)
    fg.add_to(m)


def station_id_from_tooltip(text: str) -> str | None:
    """The station id in a station marker's tooltip ``"name (id)"`` (:func:`add_stations`); ``None`` if not one.

    The id is the text inside the last parentheses, so names with parentheses of their
    own are read correctly (``"文化站 (老馆) (T-01)"`` gives ``"T-01"``).
    """
    tip = text.strip()
    if tip.endswith(")") and "(" in tip:
        return tip.rsplit("(", 1)[1][:-1]
    return None


def add_proposals(m: folium.Map, proposals: pd.DataFrame, *, big: bool, lang: str | None) -> None:
    """Add the proposed sites to ``m`` as numbered badges (larger when ``big``)."""
    if proposals is None or not len(proposals):
        return
    size = 30 if big else 24
    p = proposals.sort_values("rank")
    ranks = p["rank"].to_numpy(int).tolist()
    tiers = [t(f"tier.{tier}", lang=lang) for tier in p["tier"].astype(str)]
    people = [_fmt_int(v) for v in p["newly_covered_population"].to_numpy(float)]
    labels = [
        html.escape(t("app.map.proposal_popup", lang=lang, rank=rank, tier=tier, people=n))
        for rank, tier, n in zip(ranks, tiers, people, strict=True)
    ]
    badge = (
        f'<div class="planner-proposal" style="width:{size}px;height:{size}px;line-height:{size}px;'
        f"border-radius:50%;background:{PROPOSAL_HEX};color:#fff;font-weight:bold;text-align:center;"
        f'border:2px solid #fff;box-shadow:0 0 3px #000;font-size:{size // 2}px">{{rank}}</div>'
    )
    icons = [{"html": badge.format(rank=rank)} for rank in ranks]
    icon = ("div", {"iconSize": [size, size], "iconAnchor": [size // 2, size // 2], "className": ""})
    fg = folium.FeatureGroup(name=t("app.map.layer_proposals", lang=lang))
    _Layer(_points(p, {"tip": labels, "popup": labels, "icon": icons}), points="marker", icon=icon).add_to(fg)
    fg.add_to(m)


#: Road classes drawn as main roads (wider lines) on the map.
MAIN_ROAD_CLASSES: frozenset[str] = frozenset(
    {"motorway", "trunk", "primary", "secondary", "motorway_link", "trunk_link", "primary_link", "secondary_link"}
)
#: Simplification tolerance of drawn roads (metres) — invisible at county zoom, keeps the page small.
ROAD_SIMPLIFY_M: float = 15.0


def road_lines(network: RoadNetwork, *, simplify_m: float = ROAD_SIMPLIFY_M) -> gpd.GeoDataFrame:
    """Roads for display: segments merged into lines per class and simplified (EPSG:4326).

    Offline there is no basemap, so this layer is what shows the planner why a
    village is outside the circle (no road, a river without a bridge...).
    """
    klass = network.edge_highway()
    main = np.isin(klass, list(MAIN_ROAD_CLASSES))
    segs = network.segment_lines()
    geoms, kinds = [], []
    for kind, mask in (("main", main), ("minor", ~main)):
        if not mask.any():
            continue
        merged = shapely.line_merge(shapely.multilinestrings(segs[mask]))
        geoms.append(shapely.simplify(merged, simplify_m))
        kinds.append(kind)

    def to_lonlat(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = network.to_lonlat(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return gpd.GeoDataFrame({"kind": kinds}, geometry=[shapely.transform(g, to_lonlat) for g in geoms], crs="EPSG:4326")


#: Drawn roads are rounded to about 1 m (5 decimals of a degree): half the page size.
ROAD_PRECISION_DECIMALS: int = 5
#: GeoJSON text of drawn road frames (the app keeps one frame per network, so reruns reuse it).
_ROADS_JSON: dict[int, tuple[gpd.GeoDataFrame, str, list[list[float]]]] = {}


def _roads_json(roads: gpd.GeoDataFrame) -> tuple[str, list[list[float]]]:
    """GeoJSON text of the drawn roads (styled per class) and their bounds ``[[south, west], [north, east]]``."""
    hit = _ROADS_JSON.get(id(roads))
    if hit is None or hit[0] is not roads:
        gdf = roads.to_crs("EPSG:4326")
        decimals = ROAD_PRECISION_DECIMALS
        geoms = shapely.transform(gdf.geometry.to_numpy(), lambda xy: np.round(xy, decimals))
        main = gdf["kind"].astype(str).to_numpy() == "main"
        props = [
            {"style": {"color": "#8a8a8a", "weight": 2.5} if m else {"color": "#b5b5b5", "weight": 1.0}} for m in main
        ]
        x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(geoms))
        hit = (roads, _feature_collection(_geometry_json(geoms), props), [[y0, x0], [y1, x1]])
        _remember(_ROADS_JSON, id(roads), hit, size=4)
    return hit[1], hit[2]


def add_roads(m: folium.Map, roads: gpd.GeoDataFrame, *, lang: str | None) -> None:
    """Add the drawn roads (:func:`road_lines`) to ``m``, under everything and taking no clicks."""
    fg = folium.FeatureGroup(name=t("app.map.layer_roads", lang=lang), show=True)
    text, bounds = _roads_json(roads)
    _Layer(text, style={"opacity": 0.9}, interactive=False, bounds=bounds).add_to(fg)
    fg.add_to(m)


def map_summary(m: folium.Map) -> dict[str, Any]:
    """Count the layers of a built map (for tests and logging).

    ``markers`` and ``circles`` count the points drawn as such, whether folium elements
    or features of a :class:`_Layer` (stations, proposals, demand).
    """
    counts: dict[str, int] = {"markers": 0, "circles": 0, "geojson": 0, "feature_groups": 0}
    for el in walk_elements(m):
        if isinstance(el, folium.CircleMarker):
            counts["circles"] += 1
        elif isinstance(el, folium.Marker):
            counts["markers"] += 1
        elif isinstance(el, (folium.GeoJson, _Layer)):
            counts["geojson"] += 1
            if isinstance(el, _Layer) and el.points is not None:
                drawn = {"marker": "markers", "circle": "circles"}[el.points]
                counts[drawn] += sum(f["geometry"]["type"] == "Point" for f in el.data["features"])
        elif isinstance(el, folium.FeatureGroup):
            counts["feature_groups"] += 1
    return counts
