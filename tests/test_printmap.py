"""Static maps: PNG/PDF bytes of the demo county, CJK glyphs, colours of covered / uncovered demand."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import geopandas as gpd
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pyproj
import pytest
from matplotlib.colors import to_rgb
from numpy.typing import NDArray

from planner._errors import InputError
from planner.i18n import get_language, set_language
from planner.network.roads import RoadNetwork
from planner.report.printmap import _COVERED, _UNCOVERED, _nice_length, cjk_font, render_map
from planner.settings import Config
from planner.workspace.scenario import Scenario
from planner.workspace.workspace import Workspace


@pytest.fixture(scope="module")
def demo() -> tuple[Workspace, Scenario]:
    return Workspace.from_demo()


@pytest.fixture
def english() -> Iterator[None]:
    old = get_language()
    set_language("en")
    yield
    set_language(old)


def _has_colour(png: bytes, colour: str, *, tol: float = 0.06) -> bool:
    img = np.asarray(mpimg.imread(io.BytesIO(png), format="png"))[..., :3]
    target = np.asarray(to_rgb(colour))
    return bool((np.abs(img - target).max(axis=-1) < tol).any())


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
        png = render_map(result=result, isochrones=iso, areas=ws.areas, network=ws.network, title=title, dpi=100)
        pdf = render_map(result=result, isochrones=iso, areas=ws.areas, network=ws.network, title=title, fmt="pdf")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    assert pdf[:5] == b"%PDF-" and b"/Type /Page" in pdf and len(pdf) > 50_000
    img = mpimg.imread(io.BytesIO(png), format="png")
    assert 700 < img.shape[1] < 2000 and 500 < img.shape[0] < 1500  # 13 x 10 in at 100 dpi, tight bbox
    # both covered and uncovered villages exist in the demo and are drawn in their colours
    village = result.demand[result.demand["tier"] == "village"]
    assert village["covered"].fillna(False).any() and (~village["covered"].fillna(False).astype(bool)).any()
    assert _has_colour(png, _COVERED) and _has_colour(png, _UNCOVERED)
    if cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk); glyph check skipped")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert missing == []


def _line_case() -> tuple[Workspace, Scenario]:
    crs = "EPSG:32650"
    x = 400000.0 + np.arange(31) * 100.0
    y = np.full(31, 3030000.0)
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    lon_a: NDArray[np.float64] = np.asarray(lon)
    lat_a: NDArray[np.float64] = np.asarray(lat)
    net = RoadNetwork.from_arrays(
        node_lon=lon_a,
        node_lat=lat_a,
        edge_u=np.arange(30),
        edge_v=np.arange(1, 31),
        edge_highway=["residential"] * 30,
        crs=crs,
        node_x_m=x,
        node_y_m=y,
        source="line",
    )
    at = [0, 5, 25]
    demand = pd.DataFrame(
        {
            "id": ["D1", "D2", "D3"],
            "name": ["甲村", "乙村", "丙村"],
            "population": [100.0, 200.0, 300.0],
            "lon": lon_a[at],
            "lat": lat_a[at],
            "township": "",
            "kind": "village",
        }
    )
    st = pd.DataFrame({"id": ["S1"], "name": ["站"], "tier": ["village"], "lon": [lon_a[0]], "lat": [lat_a[0]]})
    return Workspace(network=net, demand=demand, config=Config()), Scenario(name="line", stations=st)


def test_uncovered_colour_disappears_when_everything_is_covered() -> None:
    ws, sc = _line_case()
    r = ws.evaluate(sc.stations)
    png = render_map(result=r, network=ws.network, title="line", dpi=60)
    assert _has_colour(png, _UNCOVERED) and _has_colour(png, _COVERED)
    lon, lat = ws.network.to_lonlat(np.array([402500.0]), np.array([3030000.0]))
    sc.add_station(tier="village", lon=float(lon[0]), lat=float(lat[0]))
    r2 = ws.evaluate(sc.stations)
    assert r2.demand.query("tier == 'village'")["covered"].all()
    png2 = render_map(result=r2, network=ws.network, title="line", dpi=60)
    assert not _has_colour(png2, _UNCOVERED) and _has_colour(png2, _COVERED)
    # without a network the map picks a UTM zone around the data
    png3 = render_map(result=r2, title="no network", dpi=60)
    assert png3[:4] == b"\x89PNG"


def test_english_and_bad_options(english: None) -> None:
    ws, sc = _line_case()
    r = ws.evaluate(sc.stations)
    assert render_map(result=r, network=ws.network, title="Coverage", fmt="pdf")[:5] == b"%PDF-"
    with pytest.raises(InputError, match="png or pdf"):
        render_map(result=r, title="x", fmt="svg")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="dpi"):
        render_map(result=r, title="x", dpi=5)


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
