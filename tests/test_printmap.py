"""Static maps: PNG/PDF bytes of the demo county, CJK glyphs, colours of covered / uncovered demand,
one tier per map in its own shades, the atlas of every tier, edited stations, titles."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.text import Annotation, Text
from numpy.typing import NDArray

from planner._errors import InputError
from planner.i18n import get_language, set_language, t
from planner.report.colours import COVERED_HEX as _COVERED
from planner.report.colours import TIER_COLOURS, interval_shades
from planner.report.colours import UNCOVERED_HEX as _UNCOVERED
from planner.report.printmap import _figure, _nice_length, _style, cjk_font, map_title, render_atlas, render_map
from planner.settings import TIERS, Tier
from planner.workspace.scenario import Scenario, station_changes
from planner.workspace.workspace import Workspace
from tests.data.hostile.exports import named_county

from .helpers import line_case


@pytest.fixture(scope="module")
def demo() -> tuple[Workspace, Scenario]:
    return Workspace.from_demo()


@pytest.fixture
def english() -> Iterator[None]:
    old = get_language()
    set_language("en")
    yield
    set_language(old)


def _colour_share(png: bytes, colour: str, *, tol: float) -> float:
    """Share of the image's pixels within ``tol`` (per channel, 0–1) of ``colour``."""
    img = np.asarray(mpimg.imread(io.BytesIO(png), format="png"))[..., :3]
    target = np.asarray(to_rgb(colour))
    return float((np.abs(img - target).max(axis=-1) < tol).mean())


def _has_colour(png: bytes, colour: str, *, tol: float = 0.06) -> bool:
    return _colour_share(png, colour, tol=tol) > 0


def _demo_iso(ws: Workspace, stations: pd.DataFrame) -> gpd.GeoDataFrame:
    parts = [ws.isochrones(stations, tier=t) for t in ("township", "village")]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")


def test_png_and_pdf_of_demo_county(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = demo
    result = ws.evaluate(sc.stations)
    iso = _demo_iso(ws, sc.stations)
    title = f"{ws.label} 群团服务圈覆盖图"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_map(result=result, isochrones=iso, areas=ws.areas, network=ws.network, label=title, dpi=100)
        pdf = render_map(result=result, isochrones=iso, areas=ws.areas, network=ws.network, label=title, fmt="pdf")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    assert pdf[:5] == b"%PDF-" and b"/Type /Page" in pdf and len(pdf) > 50_000
    img = mpimg.imread(io.BytesIO(png), format="png")
    assert 700 < img.shape[1] < 2000 and 500 < img.shape[0] < 1500  # 11 x 9 in frame at 100 dpi, tight bbox
    # both covered and uncovered villages exist in the demo and are drawn in their colours
    village = result.demand[result.demand["tier"] == "village"]
    assert village["covered"].fillna(False).any() and (~village["covered"].fillna(False).astype(bool)).any()
    assert _has_colour(png, _COVERED) and _has_colour(png, _UNCOVERED)
    if cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk); glyph check skipped")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert missing == []


def test_uncovered_colour_disappears_when_everything_is_covered() -> None:
    ws, sc = line_case()
    r = ws.evaluate(sc.stations)
    png = render_map(result=r, network=ws.network, label="line", dpi=60)
    assert _has_colour(png, _UNCOVERED) and _has_colour(png, _COVERED)
    lon, lat = ws.network.to_lonlat(np.array([402500.0]), np.array([3030000.0]))
    sc.add_station(tier="village", lon=float(lon[0]), lat=float(lat[0]))
    r2 = ws.evaluate(sc.stations)
    assert r2.demand.query("tier == 'village'")["covered"].all()
    png2 = render_map(result=r2, network=ws.network, label="line", dpi=60)
    assert not _has_colour(png2, _UNCOVERED) and _has_colour(png2, _COVERED)
    # without a network the map picks a UTM zone around the data
    png3 = render_map(result=r2, label="no network", dpi=60)
    assert png3[:4] == b"\x89PNG"


def test_english_and_bad_options(english: None) -> None:
    ws, sc = line_case()
    r = ws.evaluate(sc.stations)
    assert render_map(result=r, network=ws.network, label="Coverage", fmt="pdf")[:5] == b"%PDF-"
    with pytest.raises(InputError, match="png or pdf"):
        render_map(result=r, label="x", fmt="svg")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="dpi"):
        render_map(result=r, label="x", dpi=5)
    only_village = ws.evaluate(sc.stations, tiers=(Tier.VILLAGE,))
    with pytest.raises(InputError, match=r"county tier was not evaluated.*Tiers with a map: village / community\."):
        render_map(result=only_village, tier="county")


@pytest.mark.parametrize(
    ("span_m", "expected"), [(32_000.0, 5000.0), (2_400.0, 200.0), (10_000.0, 2000.0), (900.0, 100.0)]
)
def test_scale_bar_lengths(span_m: float, expected: float) -> None:
    assert _nice_length(span_m) == expected


def test_missing_cjk_font_warns_once(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    cjk_font.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="planner.report.printmap"):
            assert cjk_font() is None
            assert cjk_font() is None
        assert len([r for r in caplog.records if "fonts-noto-cjk" in r.getMessage()]) == 1
    finally:
        cjk_font.cache_clear()


def _two_tier_case() -> tuple[Workspace, Scenario, NDArray[np.float64], NDArray[np.float64]]:
    """The line of :func:`_line_case` with a second village station (node 20) and a township centre (node 30)."""
    ws, sc = line_case()
    lon, lat = ws.network.node_lon, ws.network.node_lat
    more = pd.DataFrame(
        {
            "id": ["S3", "T1"],
            "name": ["站三", "乡镇中心"],
            "tier": ["village", "township"],
            "lon": [lon[20], lon[30]],
            "lat": [lat[20], lat[30]],
        }
    )
    stations = pd.concat([sc.stations, more], ignore_index=True)
    return ws, Scenario(name="line", stations=stations), lon, lat


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def test_a_tier_map_shows_that_tier_in_its_own_shades_only() -> None:
    ws, sc, _, _ = _two_tier_case()
    r = ws.evaluate(sc.stations)
    iso = gpd.GeoDataFrame(
        pd.concat([ws.isochrones(sc.stations, tier=x) for x in ("township", "village")], ignore_index=True),
        crs="EPSG:4326",
    )
    assert sorted(iso.loc[iso["tier"] == "village", "minutes"]) == [5.0, 10.0, 15.0]
    png = {x: render_map(result=r, tier=x, isochrones=iso, network=ws.network, dpi=60) for x in ("village", "township")}
    shades = {x: interval_shades(TIER_COLOURS[x], n=3) for x in TIERS}
    # village: 5, 10 and 15 minutes walk along the road are three bands, darkest the nearest
    assert all(_colour_share(png["village"], c, tol=0.02) > 1e-3 for c in shades[Tier.VILLAGE])
    # township: 10 minutes by e-bike already cover the whole line, so its darkest shade fills it
    assert _colour_share(png["township"], shades[Tier.TOWNSHIP][0], tol=0.02) > 1e-2
    # and neither map holds another tier's shades (no blend of every tier's circles)
    for shown in ("village", "township"):
        for other in TIERS:
            if other != shown:
                assert all(_colour_share(png[shown], c, tol=0.02) < 1e-4 for c in shades[other]), (shown, other)


def test_atlas_has_one_page_per_tier() -> None:
    ws, sc, _, _ = _two_tier_case()
    r = ws.evaluate(sc.stations)
    pdf = render_atlas(result=r, network=ws.network, label="line")
    assert pdf[:5] == b"%PDF-"
    assert _pages(pdf) == len(r.tiers) == 4
    two = render_atlas(result=r, tiers=["village", "township"], network=ws.network)
    assert _pages(two) == 2
    one = render_map(result=r, network=ws.network, fmt="pdf")
    assert _pages(one) == 1


def _legend_texts(fig: Any) -> list[str]:
    return [x.get_text() for x in fig.axes[0].get_legend().get_texts()]


def _arrows(fig: Any) -> int:
    return sum(1 for a in fig.axes[0].texts if isinstance(a, Annotation) and a.arrow_patch is not None)


def test_edited_stations_are_drawn_apart_with_their_legend_entries() -> None:
    ws, sc, lon, lat = _two_tier_case()
    sc.add_station(tier="village", lon=float(lon[10]), lat=float(lat[10]))
    sc.move_station("S3", lon=float(lon[25]), lat=float(lat[25]))
    sc.close_station("S1")
    sc.move_station("T1", lon=float(lon[28]), lat=float(lat[28]))
    changes = sc.changes()
    assert sorted(changes["change"]) == ["added", "closed", "moved", "moved"]
    r = ws.evaluate(sc.stations)
    kw: dict[str, Any] = {"result": r, "isochrones": None, "areas": None, "network": ws.network, "title": "x",
                          "size_in": (6.0, 5.0)}  # fmt: skip
    edit_keys = ("exports.map.added", "exports.map.moved", "exports.map.closed")
    village = _figure(tier=Tier.VILLAGE, changes=changes, **kw)
    texts = _legend_texts(village)
    assert all(t(k, n=1) in texts for k in edit_keys)
    assert _arrows(village) == 2  # the north arrow and the moved station's
    # the township map shows the township's move only
    township = _figure(tier=Tier.TOWNSHIP, changes=changes, **kw)
    assert [k for k in edit_keys if t(k, n=1) in _legend_texts(township)] == ["exports.map.moved"]
    # without changes, or with only an addition, no other edit entry appears
    plain = _figure(tier=Tier.VILLAGE, changes=None, **kw)
    assert not any(t(k, n=1) in _legend_texts(plain) for k in edit_keys) and _arrows(plain) == 1
    added_only = station_changes(sc.stations, baseline=sc.stations.drop(index=sc.stations.index[-1]))
    assert list(added_only["change"]) == ["added"]
    fig = _figure(tier=Tier.VILLAGE, changes=added_only, **kw)
    assert [k for k in edit_keys if t(k, n=1) in _legend_texts(fig)] == ["exports.map.added"]
    png = render_map(result=r, changes=changes, network=ws.network, dpi=60)
    assert png[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="station_changes"):
        _figure(tier=Tier.VILLAGE, changes=changes.drop(columns="from_lon"), **kw)


def test_title_names_tier_mode_and_standard_and_the_label_is_plain_text() -> None:
    ws, sc = line_case()
    r = ws.evaluate(sc.stations)
    assert map_title(result=r, tier="village", label="现状") == "村（社区）步行 15 分钟服务圈 · 现状"
    assert map_title(result=r, tier=Tier.COUNTY) == "县级驾车 30 分钟服务圈"
    # a scenario name is user text: "$...$" is not TeX (an unbalanced \frac would make mathtext fail)
    label = r"方案 $\frac 5$ 50%"
    fig = _figure(result=r, tier=Tier.VILLAGE, isochrones=None, areas=None, network=ws.network, changes=None,
                  title=map_title(result=r, tier="village", label=label), size_in=(6.0, 5.0))  # fmt: skip
    assert fig.axes[0].get_title().endswith(label)
    assert render_map(result=r, network=ws.network, label=label, dpi=40)[:4] == b"\x89PNG"


def test_title_in_english(english: None) -> None:
    ws, sc = line_case()
    r = ws.evaluate(sc.stations)
    assert map_title(result=r, tier="village", label="Plan B") == (
        "village / community: 15-minute service circle (walk) · Plan B"
    )


@pytest.mark.parametrize(("offset", "label"), [(0, "$\\x$"), (14, "$\\macro$ · $方案")])
def test_names_are_drawn_as_text_not_math(offset: int, label: str) -> None:
    """Township and scenario names with ``$`` (matplotlib math text) are drawn as they are, in PNG, PDF and atlas."""
    ws, sc = named_county(offset=offset)
    result = ws.evaluate(sc.stations, tiers=(Tier.TOWNSHIP, Tier.VILLAGE))
    kw: dict[str, Any] = {"result": result, "areas": ws.areas, "network": ws.network, "label": label}
    assert render_map(fmt="png", dpi=40, size_in=(5.0, 4.0), **kw)[:4] == b"\x89PNG"
    assert render_map(fmt="pdf", size_in=(5.0, 4.0), **kw)[:5] == b"%PDF-"
    assert render_atlas(size_in=(5.0, 4.0), **kw)[:5] == b"%PDF-"
    frame_kw = {k: kw[k] for k in ("result", "areas", "network")}
    title = map_title(result=result, tier="village", label=label)
    with _style():
        fig = _figure(tier=Tier.VILLAGE, isochrones=None, changes=None, title=title, size_in=(5.0, 4.0), **frame_kw)
    texts = [x for x in fig.findobj(Text) if x.get_text()]
    drawn = {x.get_text() for x in texts}
    assert {" ".join(n.split()) for n in ws.areas["name"]} - {""} <= drawn  # tabs and line breaks as spaces
    assert any(label in x for x in drawn)
    assert [x.get_text() for x in texts if x.get_parse_math()] == []  # the legend's and the footer's too
