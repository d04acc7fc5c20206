"""Map clicks in the app: add or move a station where the map was clicked, select a clicked station.

streamlit-folium reports clicks as the map component's value; :func:`on_map_change`
(the component's callback) handles them before the script reruns, and takes the map's
drawn signal (:data:`planner.app.map_parts.MAP_READY_KEY`) apart from clicks.
"""

from __future__ import annotations

from typing import Any

from planner.app.map_parts import MAP_READY_KEY
from planner.app.state import callback, current_scenario, edit, guard, say, session
from planner.app.text import Markdown, tm
from planner.i18n import t
from planner.report.webmap_layers import station_id_from_tooltip
from planner.settings import Tier
from planner.workspace.scenario import Scenario


def _new_point(event: dict[str, Any], name: str) -> tuple[float, float] | None:
    """The (lat, lon) of ``event[name]`` if it differs from the last one seen."""
    ss = session()
    value = event.get(name)
    if not value or value.get("lat") is None:
        return None
    point = (round(float(value["lat"]), 7), round(float(value["lng"]), 7))
    seen = ss.setdefault("seen_points", {})
    if seen.get(name) == point:
        return None
    seen[name] = point
    return point


def handle_map_event(event: dict[str, Any] | None) -> bool:
    """Act on a new map click (add or move a station) or a station click (select it).

    A click on a demand circle counts as a click on the map at that point (Leaflet does
    not pass clicks on layers on to the map).
    """
    ss = session()
    if not event:
        return False
    on_map = _new_point(event, "last_clicked")
    on_object = _new_point(event, "last_object_clicked")
    if on_object is not None:
        sid = station_id_from_tooltip(str(event.get("last_object_clicked_tooltip") or ""))
        if sid is not None and sid in set(current_scenario().stations["id"].astype(str)):
            ss.select_request = sid  # applied before the selectbox is drawn on the rerun
            return True
    point = on_object or on_map
    if point is None:
        return False
    action = ss.get("click_action", "add")
    lat, lon = point
    if action == "add":
        tier = Tier(ss.get("add_tier", str(Tier.VILLAGE)))

        def add(sc: Scenario) -> Markdown:
            sid = sc.add_station(tier=tier, lon=lon, lat=lat)
            return tm("app.sim.added", id=sid, tier=t(f"tier.{tier}"), lon=lon, lat=lat)

        guard(lambda: edit(add))
        return True
    if action == "move":
        sid = ss.get("selected_station")
        if not sid:
            say("warning", tm("app.sim.select_first"))
            return True

        def move(sc: Scenario) -> Markdown:
            sc.move_station(sid, lon=lon, lat=lat)
            return tm("app.sim.moved", id=sid, lon=lon, lat=lat)

        guard(lambda: edit(move))
        return True
    return False


@callback
def on_map_change() -> None:
    """Map clicks are handled in the component's callback, before the script reruns once."""
    ss = session()
    event = ss.get("map")
    if isinstance(event, dict) and event.get(MAP_READY_KEY):
        ss.map_drawn = True  # the map's signal, not a click (see planner.app.main._live)
        return
    handle_map_event(event)
