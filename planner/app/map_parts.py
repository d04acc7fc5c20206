"""The web map in the live app: base map and layers for streamlit-folium, click and drawn signals.

:func:`build_map_parts` splits the coverage map (:mod:`planner.report.webmap`) into what
changes rarely and what follows every edit, and adds the two scripts only the live
app needs: clicks sent without streamlit-folium's debounce and a signal once the map
has been drawn (:data:`MAP_READY_KEY`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import branca
import folium
import jinja2

from planner.report.webmap import build_base_and_layers


@dataclass
class MapParts:
    """A coverage map split for live updates (see :func:`build_map_parts`).

    Attributes
    ----------
    base
        Map with what changes rarely: basemap, roads, townships, view, title, legend.
    layers
        Feature groups that follow every edit: isochrones, demand, stations, proposals.
    control
        Layer control listing the base overlays and ``layers``.
    """

    base: folium.Map
    layers: list[folium.FeatureGroup]
    control: folium.LayerControl


def build_map_parts(*, immediate_clicks: bool = False, ready_signal: bool = False, **map_args: Any) -> MapParts:
    """Build the coverage map as a base map plus the layers an edit changes, for streamlit-folium.

    ``map_args`` are the parameters of :func:`planner.report.webmap.build_map`; the
    map is :func:`planner.report.webmap.build_base_and_layers`. The live app hands
    ``layers`` to streamlit-folium as ``feature_group_to_add``: while the base map is
    unchanged, the browser swaps these layers in the existing map instead of reloading
    it (and the view the user panned to is kept). ``immediate_clicks`` sends a map
    click to Streamlit without streamlit-folium's 250 ms debounce (see
    :class:`_ImmediateClicks`). ``ready_signal`` adds a hidden layer that sends
    ``{MAP_READY_KEY: true}`` as the component value once the map has been drawn (see
    :class:`_ReadySignal`).

    Returns
    -------
    MapParts
        Base map, dynamic feature groups and the layer control, all assets local.
    """
    base, layers = build_base_and_layers(**map_args)
    if immediate_clicks:
        _ImmediateClicks().add_to(base)
    if ready_signal:
        ready = folium.FeatureGroup(name="ready", control=False)
        _ReadySignal().add_to(ready)
        layers.append(ready)
    return MapParts(base=base, layers=layers, control=folium.LayerControl(collapsed=True))


class _ImmediateClicks(branca.element.MacroElement):
    """Send a map click to Streamlit at once instead of after streamlit-folium's 250 ms debounce.

    streamlit-folium records a click in ``window.__GLOBAL_DATA__`` and sends the
    component value 250 ms later (debounced, so that panning does not flood the
    server). For the returned objects the app asks for (clicks only, no bounds or
    zoom), this script sends the same value right after the click's handlers ran and
    records it as sent, so the debounced call finds nothing new. Outside Streamlit, or
    when other objects are asked for, it does nothing.
    """

    _template = jinja2.Template(
        """{% macro script(this, kwargs) %}
(function (map) {
    var KEYS = ["last_clicked", "last_object_clicked", "last_object_clicked_count",
                "last_object_clicked_tooltip", "last_object_clicked_popup"];
    // a DOM listener: Leaflet fires clicks on layers (a village circle, a station) on the
    // layer only, not on the map; every click passes the map's container
    map.getContainer().addEventListener("click", function () {
        setTimeout(function () {
            var g = window.__GLOBAL_DATA__, S = window.Streamlit;
            if (!g || !S || !S.setComponentValue || !Array.isArray(g.returned_objects)) { return; }
            if (!g.returned_objects.every(function (k) { return KEYS.indexOf(k) >= 0; })) { return; }
            var wrap = function (x) { return x && g.wrap_longitude ? map.wrapLatLng(x) : x; };
            var all = {
                last_clicked: wrap(g.lat_lng_clicked),
                last_object_clicked: wrap(g.last_object_clicked),
                last_object_clicked_count: g.last_object_clicked_count,
                last_object_clicked_tooltip: g.last_object_clicked_tooltip,
                last_object_clicked_popup: g.last_object_clicked_popup
            };
            var value = {};
            KEYS.forEach(function (k) { if (g.returned_objects.indexOf(k) >= 0) { value[k] = all[k]; } });
            if (JSON.stringify(g.previous_data) === JSON.stringify(value)) { return; }
            g.previous_data = value;
            S.setComponentValue(value);
        }, 0);
    });
})({{ this._parent.get_name() }});
{% endmacro %}"""
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's __init__ has no annotations
        self._name = "ImmediateClicks"


#: Component value key of the map's "drawn" signal (:class:`_ReadySignal`).
MAP_READY_KEY: str = "planner_map_ready"


class _ReadySignal(branca.element.MacroElement):
    """Tell Streamlit, once per map page, that the map has been drawn.

    A layer script (layers are evaluated after the base map): after the next frame has
    been painted it sends ``{MAP_READY_KEY: true}`` as the component value, so the app
    can send what it held back until the map was on screen. Outside Streamlit it does
    nothing.
    """

    _template = jinja2.Template(
        """{% macro script(this, kwargs) %}
(function () {
    if (window.__plannerReadySent) { return; }
    window.__plannerReadySent = true;
    // the callback of the next animation frame runs before that frame is painted;
    // a task queued from it runs after the paint
    requestAnimationFrame(function () {
        setTimeout(function () {
            var S = window.Streamlit;
            if (S && S.setComponentValue) { S.setComponentValue({ {{ this.key }}: true }); }
        }, 0);
    });
})();
{% endmacro %}"""
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's __init__ has no annotations
        self._name = "ReadySignal"
        self.key = MAP_READY_KEY
