"""Tests of planner.app.map_parts: the live map's fixed base and edited layers, the drawn signal."""

from __future__ import annotations

import folium
import pandas as pd

from planner.app.map_parts import MAP_READY_KEY, build_map_parts
from planner.report.webmap_layers import _Layer, map_summary, road_lines
from planner.settings import TIERS, Config, Tier
from planner.workspace.workspace import Workspace
from tests.helpers import analyse, normalised_page


def test_map_parts_keep_the_base_fixed_while_layers_follow_edits(result, county) -> None:
    ws = Workspace(network=county.network, demand=county.demand, config=Config())
    iso = {Tier.TOWNSHIP: ws.isochrones(county.stations, tier=Tier.TOWNSHIP)}
    roads = road_lines(county.network)
    kw = dict(isochrones=iso, roads=roads, areas=county.townships)
    parts = build_map_parts(result=result, **kw)
    # the base holds roads and townships only; every station and demand point is in a layer
    assert map_summary(parts.base)["geojson"] == 2
    in_layers = sum(len(d["features"]) for fg in parts.layers for d in _geojson_layers_of(fg))
    n_points = len(result.stations) + int((result.demand["tier"] == str(TIERS[0])).sum())
    assert in_layers >= n_points
    # an edit (one station fewer) changes the layers, not the base page
    fewer = result.stations.iloc[1:]
    r2 = analyse(county.network, stations=fewer, demand=county.demand, areas=county.townships)
    parts2 = build_map_parts(result=r2, **kw)
    assert normalised_page(parts2.base) == normalised_page(build_map_parts(result=result, **kw).base)
    # proposals change the legend, so the base page differs (and the browser reloads it)
    props = pd.DataFrame(
        {"rank": [1], "tier": ["village"], "lon": [117.0], "lat": [28.0], "newly_covered_population": [5.0]}
    )
    with_props = build_map_parts(result=result, proposals=props, **kw)
    assert normalised_page(with_props.base) != normalised_page(parts2.base)


def test_ready_signal_is_a_hidden_layer_and_leaves_the_base_alone(result, county) -> None:
    kw = dict(areas=county.townships, immediate_clicks=True)
    plain = build_map_parts(result=result, **kw)
    ready = build_map_parts(result=result, ready_signal=True, **kw)
    # the same base page: the map is not reloaded when the signal layer goes away
    assert normalised_page(ready.base) == normalised_page(plain.base)
    assert len(ready.layers) == len(plain.layers) + 1
    signal = ready.layers[-1]
    assert signal.control is False  # not listed in the layer switcher
    (macro,) = signal._children.values()
    script = macro._template.module.script(macro)
    assert f"setComponentValue({{ {MAP_READY_KEY}: true }})" in script
    assert "__plannerReadySent" in script  # once per map page
    assert not any("setComponentValue({" in _layer_scripts(fg) for fg in plain.layers)


def _layer_scripts(fg: folium.FeatureGroup) -> str:
    return "".join(c._template.module.script(c) for c in fg._children.values() if hasattr(c._template.module, "script"))


def _geojson_layers_of(fg: folium.FeatureGroup) -> list[dict]:
    return [sub.data for sub in fg._children.values() if isinstance(sub, (folium.GeoJson, _Layer))]
