"""Tests of planner.report.webmap, webmap_layers and webmap_assets: layers, styles, local assets, standalone export."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import folium
import folium.plugins
import numpy as np
import pandas as pd
import pytest

from planner.report.webmap import build_map
from planner.report.webmap_assets import LOCAL_ASSETS, STATIC_DIR, STATIC_URL, localise_assets, standalone_html
from planner.report.webmap_layers import (
    PIN_TIERS,
    TIER_STYLES,
    _Layer,
    interval_colours,
    map_summary,
    station_id_from_tooltip,
)
from planner.settings import TIERS, Tier
from planner.workspace.workspace import Workspace
from tests.helpers import analyse, normalised_page


@pytest.fixture(scope="module")
def iso(county):
    ws = Workspace(
        network=county.network, demand=county.demand, config=__import__("planner.settings").settings.Config()
    )
    return {Tier.TOWNSHIP: ws.isochrones(county.stations, tier=Tier.TOWNSHIP)}


def _geojson_layers(m: folium.Map) -> list[dict]:
    out = []
    for el in m._children.values():
        for sub in getattr(el, "_children", {}).values():
            if isinstance(sub, (folium.GeoJson, _Layer)):
                out.append(sub.data)
    return out


def test_local_assets_exist_and_every_folium_default_is_mapped():
    m = folium.Map()
    names = {n for n, _ in m.default_js} | {n for n, _ in m.default_css}
    assert names <= set(LOCAL_ASSETS)
    for rel in filter(None, LOCAL_ASSETS.values()):
        assert (STATIC_DIR / rel).is_file(), rel
    assert (STATIC_DIR / "README.md").is_file()


def test_map_has_no_cdn_urls_and_counts_features(result, county, iso):
    m = build_map(result=result, isochrones=iso, areas=county.townships, tiers=[Tier.VILLAGE, Tier.TOWNSHIP])
    page = m.get_root().render()
    urls = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', page)
    assert urls and all(u.startswith(STATIC_URL + "/") for u in urls), urls
    assert "cdn" not in " ".join(urls)
    # no basemap tiles by default
    assert "tileLayer" not in page.replace("L.tileLayer.wms", "")
    feats = [f for layer in _geojson_layers(m) if layer.get("type") == "FeatureCollection" for f in layer["features"]]
    points = [f for f in feats if f["geometry"]["type"] == "Point"]
    # stations of the two tiers + demand of the two tiers, counted independently
    st = county.stations["tier"].isin(["village", "township"]).sum()
    dem = result.demand["tier"].isin(["village", "township"]).sum()
    assert len(points) == st + dem
    assert "L.control.layers" in page and "L.control.scale" in page
    assert 'id="planner-legend"' in page and 'id="planner-title"' in page
    summary = map_summary(m)
    assert summary["geojson"] >= 4
    assert summary["markers"] == st and summary["circles"] == dem


def test_demand_colours_follow_coverage_and_size_follows_population(result, county):
    m = build_map(result=result, areas=None, tiers=[Tier.VILLAGE])
    layers = [g for g in _geojson_layers(m) if g.get("features")]
    layer = next(g for g in layers if "radius" in g["features"][0]["properties"].get("style", {}))
    d = result.demand[result.demand["tier"] == "village"].reset_index(drop=True)
    colours = [f["properties"]["style"]["fillColor"] for f in layer["features"]]
    from planner.report.colours import COVERED_HEX, OFF_NETWORK_HEX, UNCOVERED_HEX

    covered = np.where(d["covered"].fillna(False), COVERED_HEX, UNCOVERED_HEX)
    expected = np.where(d["covered"].isna(), OFF_NETWORK_HEX, covered)
    assert colours == expected.tolist()
    radius = np.array([f["properties"]["style"]["radius"] for f in layer["features"]])
    order = np.argsort(d["population"].to_numpy())
    assert np.all(np.diff(radius[order]) >= -1e-9)
    assert "分钟" in layer["features"][0]["properties"]["popup"]


def test_station_icons_differ_per_tier(result):
    m = build_map(result=result, tiers=list(TIERS))
    page = m.get_root().render()
    for tier in TIERS:
        if (result.stations["tier"] == str(tier)).any():
            if tier in PIN_TIERS:
                style = TIER_STYLES[tier]
                assert f'"markerColor":"{style.colour}","iconColor":"white","icon":"{style.icon}"' in page
            else:
                assert f"fa-{TIER_STYLES[tier].icon}" in page and f"planner-{tier}" in page
                assert TIER_STYLES[tier].hex in page
    assert len({s.colour for s in TIER_STYLES.values()}) == 4
    assert len({s.icon for s in TIER_STYLES.values()}) == 4


def test_isochrones_are_nested_largest_first(result, iso):
    m = build_map(result=result, isochrones=iso, tiers=[Tier.TOWNSHIP])
    page = m.get_root().render()
    tips = re.findall(r"乡镇（街道） (\d+) 分钟可达|(\d+) 分钟可达", page)
    minutes = [int(a or b) for a, b in tips]
    assert minutes == sorted(minutes, reverse=True) and len(minutes) == len(iso[Tier.TOWNSHIP])


def test_proposals_numbered_and_english_labels(result):
    props = pd.DataFrame(
        {
            "rank": [2, 1],
            "lon": [116.1, 116.2],
            "lat": [27.4, 27.5],
            "tier": ["village", "village"],
            "newly_covered_population": [800.0, 1500.0],
        }
    )
    m = build_map(result=result, proposals=props, lang="en", tiers=[Tier.VILLAGE])
    page = m.get_root().render()
    ranks = re.findall(r"planner-proposal.*?(?:>|\\u003e)(\d+)(?:<|\\u003c)", page)
    assert ranks == ["1", "2"], ranks
    assert "Proposal 1 (village / community): 1,500 people newly covered" in page
    assert "Legend" in page and "图例" not in page


def test_tiles_url_is_used_only_when_given(result):
    url = "https://tile.example.org/{z}/{x}/{y}.png"
    page = build_map(result=result, tiles=url, tiles_attribution="© example").get_root().render()
    assert "tile.example.org" in page


def test_standalone_html_is_self_contained(result, county, iso):
    m = build_map(result=result, isochrones=iso, areas=county.townships)
    page = standalone_html(m)
    assert not re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="[^"]+"', page)
    assert "/app/static" not in page
    assert "cdn.jsdelivr" not in page and "cdnjs" not in page and "code.jquery" not in page
    assert "url(../webfonts" not in page and "url(images/" not in page
    # the inlined Leaflet and the map script are both present
    assert "Leaflet" in page and "L.map(" in page
    assert page.count("data:font/woff2;base64,") >= 3


def test_unknown_plugin_asset_is_refused(result):
    m = build_map(result=result)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(ValueError, match="no local copy of map asset"):
        localise_assets(m)


def test_geojson_popups_are_escaped(result):
    r = result
    demand = r.demand.copy()
    demand.loc[demand.index[0], "name"] = "<script>x</script>"
    r2 = type(r)(demand=demand, stations=r.stations, summary=r.summary, areas=r.areas, gaps=r.gaps)
    m = build_map(result=r2, tiers=[demand.loc[demand.index[0], "tier"]])
    data = json.dumps(_geojson_layers(m))
    assert "<script>x</script>" not in data and "&lt;script&gt;" in data


def test_road_lines_keep_every_segment_and_are_drawn() -> None:
    from planner.network.roads import RoadNetwork
    from planner.report.webmap_layers import road_lines

    net = RoadNetwork.from_arrays(
        node_lon=[117.0, 117.01, 117.02, 117.02],
        node_lat=[28.0, 28.0, 28.0, 28.01],
        edge_u=[0, 1, 2],
        edge_v=[1, 2, 3],
        edge_highway=["primary", "primary", "residential"],
    )
    roads = road_lines(net, simplify_m=0.0)
    assert sorted(roads["kind"]) == ["main", "minor"]
    # lengths survive merging (measured back in the network's CRS)
    total = roads.to_crs(net.crs).length.sum()
    assert total == pytest.approx(net.edge_length_m.sum(), rel=1e-6)
    main = roads[roads["kind"] == "main"].geometry.iloc[0]
    assert main.geom_type == "LineString"  # the two primary segments merged into one line


def test_one_pass_render_gives_branca_s_page(result, county, iso, monkeypatch) -> None:
    import branca

    from planner.report import webmap_layers

    fast = normalised_page(build_map(result=result, isochrones=iso, roads=webmap_layers.road_lines(county.network)))
    monkeypatch.setattr(webmap_layers._RawRender, "render", branca.element.MacroElement.render)
    slow = normalised_page(build_map(result=result, isochrones=iso, roads=webmap_layers.road_lines(county.network)))
    assert fast == slow


def test_drawn_roads_are_rounded_to_about_a_metre(county) -> None:
    from planner.report.webmap_layers import ROAD_PRECISION_DECIMALS, road_lines

    m = build_map(
        result=analyse(county.network, stations=county.stations, demand=county.demand), roads=road_lines(county.network)
    )
    roads = _geojson_layers(m)[0]
    coords = np.concatenate(
        [np.asarray(c, float).reshape(-1, 2) for f in roads["features"] for c in _parts(f["geometry"])]
    )
    assert np.allclose(coords, np.round(coords, ROAD_PRECISION_DECIMALS), atol=1e-12)
    exact = road_lines(county.network).geometry
    assert len(coords) == int(
        sum(
            len(np.asarray(g.coords)) if g.geom_type == "LineString" else sum(len(p.coords) for p in g.geoms)
            for g in exact
        )
    )


def _parts(geometry: dict) -> list:
    return [geometry["coordinates"]] if geometry["type"] == "LineString" else list(geometry["coordinates"])


def test_known_bounds_of_roads_and_townships_equal_folium_s_own(county) -> None:
    from folium.utilities import get_bounds

    from planner.report.webmap import build_base_and_layers
    from planner.report.webmap_layers import road_lines

    base, _ = build_base_and_layers(
        result=analyse(county.network, stations=county.stations, demand=county.demand),
        roads=road_lines(county.network),
        areas=county.townships,
    )
    layers = [
        sub
        for fg in base._children.values()
        for sub in getattr(fg, "_children", {}).values()
        if isinstance(sub, (folium.GeoJson, _Layer))
    ]
    assert len(layers) == 2
    # folium's own walk over every coordinate of each layer's data
    walked = np.array([get_bounds(layer.data, lonlat=True) for layer in layers])
    for layer, expected in zip(layers, walked, strict=True):
        assert np.allclose(layer._get_self_bounds(), expected, atol=1e-9)
    union = [[walked[:, 0, 0].min(), walked[:, 0, 1].min()], [walked[:, 1, 0].max(), walked[:, 1, 1].max()]]
    assert np.allclose(base.get_bounds(), union, atol=1e-9)


def test_maps_call_no_jquery_or_bootstrap_script(result, county, iso) -> None:
    # neither is shipped (planner/static) nor loaded: a folium element that needs jQuery
    # (e.g. folium.Popup's `$(...)`) would break the map in the browser
    from planner.report.webmap_layers import road_lines

    props = pd.DataFrame(
        {"rank": [1], "tier": ["village"], "lon": [116.2], "lat": [27.5], "newly_covered_population": [10.0]}
    )
    m = build_map(
        result=result, isochrones=iso, roads=road_lines(county.network), areas=county.townships, proposals=props
    )
    page = m.get_root().render()
    assert "$(" not in page and "jQuery" not in page
    assert "jquery" not in page.lower() and "bootstrap.bundle" not in page
    assert LOCAL_ASSETS["jquery"] is None and LOCAL_ASSETS["bootstrap"] is None


def test_script_json_cannot_end_the_script_and_keeps_chinese() -> None:
    from planner.report.webmap_layers import script_json

    text = script_json({"name": "</script><script>alert(1)</script>", "县": "贵溪 & 鹰潭", "sep": "a\u2028b"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert "贵溪" in text  # not \uXXXX-escaped
    assert json.loads(text) == {"name": "</script><script>alert(1)</script>", "县": "贵溪 & 鹰潭", "sep": "a\u2028b"}
    with pytest.raises(ValueError, match="Out of range float"):
        script_json({"radius": float("nan")})


def test_layer_refuses_markers_without_icon() -> None:
    with pytest.raises(ValueError, match="markers need an icon"):
        _Layer('{"type":"FeatureCollection","features":[]}', points="marker")
    with pytest.raises(ValueError, match="markers need an icon"):
        _Layer('{"type":"FeatureCollection","features":[]}', points="circle", icon=("div", {}))


def test_view_holds_every_station_even_outside_the_township_areas(result, county) -> None:
    import geopandas as gpd
    import shapely

    from planner.report.webmap import _bounds

    # one small township in the middle: the stations around it must still be in view
    lon, lat = float(result.stations["lon"].median()), float(result.stations["lat"].median())
    square = shapely.box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    small = gpd.GeoDataFrame({"name": ["城关镇"]}, geometry=[square], crs="EPSG:4326")
    (south, west), (north, east) = _bounds(result, small)
    points = pd.concat([result.stations[["lon", "lat"]], result.demand[["lon", "lat"]]])
    assert south == points["lat"].min() and north == points["lat"].max()
    assert west == points["lon"].min() and east == points["lon"].max()
    # an area larger than the points widens the view to it
    big = small.set_geometry([shapely.box(west - 1, south - 1, east + 1, north + 1)], crs="EPSG:4326")
    assert _bounds(result, big) == [[south - 1, west - 1], [north + 1, east + 1]]


def test_station_ids_read_back_from_the_markers_tooltips(result) -> None:
    m = build_map(result=result, tiers=list(TIERS))
    # stations are the point features with a tooltip and a popup only (demand has a style, proposals an icon)
    tips = [
        f["properties"]["tip"]
        for layer in _geojson_layers(m)
        for f in layer.get("features", [])
        if f["geometry"]["type"] == "Point" and set(f["properties"]) == {"tip", "popup"}
    ]
    assert len(tips) == len(result.stations)
    assert sorted(station_id_from_tooltip(x) for x in tips) == sorted(result.stations["id"].astype(str))
    # names with parentheses of their own; what is not a station's tooltip
    assert station_id_from_tooltip(" 文化站 (老馆) (T-01) ") == "T-01"
    assert station_id_from_tooltip("乡镇（街道）：<b>城关镇</b>") is None
    assert station_id_from_tooltip("") is None


def _layers_by_name(m: folium.Map) -> dict[str, list[_Layer]]:
    out: dict[str, list[_Layer]] = {}
    for el in m._children.values():
        if isinstance(el, folium.FeatureGroup):
            out[el.layer_name] = [c for c in el._children.values() if isinstance(c, _Layer)]
    return out


def test_the_circle_is_filled_and_graded_per_interval_and_in_the_legend(result, iso):
    m = build_map(result=result, isochrones=iso, tiers=[Tier.TOWNSHIP, Tier.VILLAGE])
    (layer,) = _layers_by_name(m)["乡镇（街道）等时圈"]
    fills = [f["properties"]["style"]["fillColor"] for f in layer.data["features"]]
    assert len(set(fills)) == len(fills) == len(iso[Tier.TOWNSHIP])  # one shade per interval
    assert json.loads(layer.style_json)["fillOpacity"] >= 0.3  # an area, not a hairline
    # the legend names the viewed tier's circle, its mode and every interval with its shade
    page = m.get_root().render()
    legend = page[page.index('id="planner-legend"') :]
    legend = legend[: legend.index("</details>")]
    assert "乡镇（街道）服务圈（电动自行车）" in legend
    minutes = sorted(float(x) for x in iso[Tier.TOWNSHIP]["minutes"])
    for colour, m_ in zip(interval_colours(Tier.TOWNSHIP, len(minutes)), minutes, strict=True):
        assert f"background:{colour}" in legend and f"{m_:g} 分钟内" in legend
    assert "<summary" in legend  # folds away with a click


def test_the_viewed_tier_s_stations_are_on_top_and_the_others_faded(result):
    m = build_map(result=result, tiers=[Tier.VILLAGE, *[x for x in TIERS if x != Tier.VILLAGE]])
    layers = _layers_by_name(m)
    village = json.loads(layers["村（社区）站点"][0].marker_json)
    county = json.loads(layers["县级站点"][0].marker_json)
    assert village["zIndexOffset"] > county["zIndexOffset"]
    assert "opacity" not in village and county["opacity"] < 1


def test_added_moved_and_closed_stations_are_marked(result):
    from planner.workspace.scenario import station_changes

    before = result.stations
    after = before.copy()
    closed_id = str(after["id"].iloc[1])
    after.loc[0, "lon"] += 0.01
    after = after[after["id"] != closed_id]
    new = after.iloc[[0]].assign(id="NEW-001", name="新驿站<b>", lon=116.0, lat=27.0)
    changes = station_changes(pd.concat([after, new]), baseline=before)
    m = build_map(result=result, tiers=list(TIERS), changes=changes)
    (line, badges) = _layers_by_name(m)["本方案的调整"]
    assert line.data["features"][0]["geometry"]["coordinates"][0] == [
        float(before["lon"].iloc[0]),
        float(before["lat"].iloc[0]),
    ]
    tips = [f["properties"]["tip"] for f in badges.data["features"]]
    kinds = [
        re.search(r"planner-(added|moved|closed)", f["properties"]["icon"]["html"])[1] for f in badges.data["features"]
    ]
    assert kinds == ["closed", "moved", "added"]
    assert "新驿站&lt;b&gt; · 新增站点" in tips  # escaped, and never read as a station click
    assert all(station_id_from_tooltip(tip) is None for tip in tips)
    page = m.get_root().render()
    for label in ("新增站点", "已移动站点", "已撤销站点"):
        assert label in page[page.index('id="planner-legend"') :]
    # no edits: no layer and no legend lines
    plain = build_map(result=result, tiers=list(TIERS), changes=changes.iloc[0:0])
    assert "本方案的调整" not in _layers_by_name(plain) and "新增站点" not in plain.get_root().render()


def test_the_view_holds_the_proposals(result):
    from planner.report.webmap import _bounds

    far = pd.DataFrame({"rank": [1], "lon": [float(result.demand["lon"].max()) + 0.5], "lat": [27.0],
                        "tier": ["village"], "newly_covered_population": [10.0]})  # fmt: skip
    (_, _), (_, east) = _bounds(result, None, far)
    assert east == float(far["lon"].iloc[0])


def test_drawn_circle_geometry_is_the_simplified_isochrone_and_the_cache_is_bounded(iso, monkeypatch) -> None:
    """The circle's display GeoJSON equals shapely's own of the simplified, rounded geometry.

    The cache of drawn circles is shared by every session of the app server: many new
    frames drawn from several threads at once keep it at its size and raise nothing.
    """
    import threading

    import shapely

    from planner.report import webmap_layers as wl

    frame = iso[Tier.TOWNSHIP]
    texts = wl._display_geometry(frame, frame.index.to_numpy())
    geoms = frame.to_crs("EPSG:4326").geometry.to_numpy()
    simple = shapely.transform(
        shapely.simplify(geoms, wl.ISOCHRONE_SIMPLIFY_DEG, preserve_topology=False), lambda xy: np.round(xy, 5)
    )
    assert [json.loads(x) for x in texts] == [json.loads(json.dumps(shapely.geometry.mapping(g))) for g in simple]

    monkeypatch.setattr(wl, "_SIMPLIFIED", {})
    monkeypatch.setattr(wl, "SIMPLIFIED_CACHE_SIZE", 3)
    small = frame.iloc[[0]]
    errors: list[BaseException] = []

    def draw() -> None:
        try:
            for _ in range(20):
                wl._display_geometry(small.copy(), small.index.to_numpy())  # a new frame each time
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=draw) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert len(wl._SIMPLIFIED) == 3


class _Tags(HTMLParser):
    """Every tag and attribute of a page, and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _json_unescaped(text: str) -> str:
    """``text`` with JSON's ``\\uXXXX`` escapes read (as Leaflet gets the strings)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


def _hostile_map(result, county):
    """The small county's map with every name a payload of issue 14, a typed basemap and a typed title."""
    from planner.workspace.scenario import station_changes
    from tests.data.hostile import NAMES

    def named(frame, column="name"):
        frame = frame.copy()
        frame[column] = [NAMES[i % len(NAMES)] for i in range(len(frame))]
        return frame

    stations, demand = named(result.stations), named(result.demand)
    hostile = type(result)(
        demand=demand, stations=stations, summary=result.summary, areas=result.areas, gaps=result.gaps
    )
    moved = stations.copy()
    moved.loc[0, "lon"] += 0.01
    added = moved.iloc[[1]].assign(id="<b>NEW</b>", name="<img src=x onerror=alert(1)>", lon=116.0, lat=27.0)
    changes = station_changes(pd.concat([moved, added]), baseline=stations)
    return build_map(
        result=hostile,
        areas=named(county.townships),
        tiers=list(TIERS),
        changes=changes,
        tiles="https://tile.example.org/{z}/{x}/{y}.png",
        tiles_attribution="<img src=x onerror=alert(1)><script>alert(2)</script>",
        title="<script>alert(3)</script> ![x](http://example.invalid/x.png)",
    )


def test_names_tiles_and_attribution_are_text_in_the_standalone_html(result, county):
    """Issue 14: no payload becomes a tag, an attribute or script in the exported HTML map."""
    page = standalone_html(_hostile_map(result, county))
    parser = _Tags()
    parser.feed(page)
    assert parser.tags
    for tag, attrs in parser.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)  # no onerror=… handler
        assert not any("example.invalid" in v or "javascript:" in v for v in attrs.values()), (tag, attrs)
        assert tag != "img" or attrs.get("src", "").startswith("data:"), attrs
    # inside the scripts, text handed to Leaflet (tooltips, popups, attribution) is HTML it
    # inserts as markup: once the JSON escapes are read, a payload is there only escaped
    code = _json_unescaped("".join(parser.scripts))
    for raw in ("<img src=x onerror", "<script>alert", "<b>NEW</b>"):
        assert raw not in code, code[max(0, code.find(raw) - 200) : code.find(raw) + 100]
    assert "&lt;img src=x onerror=alert(1)&gt;" in code  # the attribution and the added station, escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in code  # a station's tooltip
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page  # the title


def test_a_typed_tile_url_is_used_only_as_a_tile_template(result):
    from planner.report.webmap import tile_url

    good = "https://{s}.tile.example.org/{z}/{x}/{y}.png?key=a&b=1"
    assert tile_url(f"  {good} ") == good
    assert tile_url("https://t.example.org/{z}/{x}/{-y}.png") is not None  # TMS rows
    for bad in (
        "",
        "OpenStreetMap",  # a provider name: not looked up (folium would fail on an unknown one)
        "javascript:alert(1)//{z}/{x}/{y}",
        'https://t.example.org/{z}/{x}/{y}.png"><img src=x onerror=alert(1)>',
        "https://t.example.org/{z}/{x}/{y}/{apikey}.png",  # Leaflet fails on a placeholder it has no value for
        "https://t.example.org/tile.png",
    ):
        assert tile_url(bad) is None, bad
    page = build_map(result=result, tiles="OpenStreetMap", tiles_attribution="x").get_root().render()
    assert "L.tileLayer" not in page  # no basemap rather than an error


def test_typed_text_is_never_run_as_a_template(result, county):
    """Issue 14: branca compiles folium's rendered parts as Jinja once more; typed text stays text.

    On the main of before, a title or attribution ``Q{{ 7*7 }}Q`` came out as ``Q49Q`` (and
    ``{{ cycler.__init__.__globals__.os... }}`` ran Python on the server).
    """
    import html as html_module

    from tests.data.hostile import MARKUP

    payloads = [p for p in MARKUP if "{" in p]
    assert payloads
    for payload in payloads:
        stations = result.stations.assign(name=payload)
        hostile = type(result)(
            demand=result.demand.assign(name=payload),
            stations=stations,
            summary=result.summary,
            areas=result.areas,
            gaps=result.gaps,
        )
        m = build_map(
            result=hostile,
            areas=county.townships.assign(name=payload),
            tiles="https://tile.example.org/{z}/{x}/{y}.png",
            tiles_attribution=payload,
            title=payload,
        )
        page = standalone_html(m)
        code = _json_unescaped(page)
        shown = html_module.unescape(code)
        assert "Q49Q" not in shown, payload
        # the title and the attribution show the payload as typed (a {% for %} run would leave none)
        assert shown.count(payload) >= 2, (payload, shown.count(payload))
