"""Tests for planner.inputs.coords against published point pairs from other projects' test suites."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner._errors import InputError
from planner.inputs.coords import file_systems, from_wgs84, gcj02_to_wgs84, to_wgs84, wgs84_to_gcj02

EARTH_RADIUS_M = 6371008.8


def haversine_m(lon1, lat1, lon2, lat2):
    """Independent great-circle distance used to measure errors in metres."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


# (wgs_lon, wgs_lat, gcj_lon, gcj_lat)
WGS_GCJ_PAIRS = [
    # googollee/eviltransform python/test.py and go/transform_test.go TESTS (shanghai, shenzhen, beijing)
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
    # hujiulong/gcoord test/unit/crs/WGS84.spec.ts "WGS84 to GCJ02" ([123, 45])
    (123.0, 45.0, 123.00607541, 45.00197815),
    # coordtransform TypeScript port test ("wgs84ToGcj02(116.404, 39.915)"), same values as
    # wandergis/coordtransform's README example
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),
]

# (gcj_lon, gcj_lat, wgs_lon, wgs_lat): published inverse results.
GCJ_WGS_PAIRS = [
    # hujiulong/gcoord test/unit/crs/GCJ02.spec.ts "GCJ02 to WGS84" ([123, 45]); gcoord iterates too
    (123.0, 45.0, 122.99395597, 44.99804071),
]

# (bd_lon, bd_lat, wgs_lon, wgs_lat)
BD_WGS_PAIRS = [
    # hujiulong/gcoord test/unit/crs/BD09.spec.ts "BD09 to WGS84" ([123, 45])
    (123.0, 45.0, 122.98762210, 44.99171540),
]
# (wgs_lon, wgs_lat, bd_lon, bd_lat): gcoord WGS84.spec.ts "WGS84 to BD09"
WGS_BD_PAIRS = [(123.0, 45.0, 123.0124491, 45.0083293)]
# (bd_lon, bd_lat, gcj_lon, gcj_lat): dromara/hutool CoordinateUtilTest.bd09toGcj02Test / gcj02ToBd09Test
# (their reference: wandergis/coordtransform), and gcoord BD09.spec.ts "BD09 to GCJ02".
BD_GCJ_PAIRS = [
    (116.404, 39.915, 116.39762729119315, 39.90865673957631),
    (116.41036949371029, 39.92133699351022, 116.404, 39.915),
    (123.0, 45.0, 122.99363304, 44.99365430),
]


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), WGS_GCJ_PAIRS)
def test_wgs_to_gcj_matches_published(wlon, wlat, glon, glat):
    lon, lat = from_wgs84(wlon, wlat, system="gcj02")
    assert haversine_m(lon, lat, glon, glat) < 0.01  # same formula: equal to float noise
    assert haversine_m(wlon, wlat, glon, glat) > 100  # the offset itself is large


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), WGS_GCJ_PAIRS)
def test_gcj_to_wgs_inverts_published(wlon, wlat, glon, glat):
    lon, lat = to_wgs84(glon, glat, system="gcj02")
    assert haversine_m(lon, lat, wlon, wlat) < 0.05


@pytest.mark.parametrize(("glon", "glat", "wlon", "wlat"), GCJ_WGS_PAIRS)
def test_gcj_to_wgs_matches_published_inverse(glon, glat, wlon, wlat):
    lon, lat = to_wgs84(glon, glat, system="gcj02")
    assert haversine_m(lon, lat, wlon, wlat) < 2.0


def test_iterative_inverse_beats_one_step():
    # The one-step approximation w = g - offset(g) is off by up to metres; ours must be < 1 cm.
    rng = np.random.default_rng(7)
    wlon = rng.uniform(74, 134, 2000)
    wlat = rng.uniform(19, 53, 2000)
    glon, glat = wgs84_to_gcj02(wlon, wlat)
    off_lon, off_lat = wgs84_to_gcj02(glon, glat)
    one_step = haversine_m(wlon, wlat, 2 * glon - off_lon, 2 * glat - off_lat)
    exact = haversine_m(wlon, wlat, *gcj02_to_wgs84(glon, glat))
    assert exact.max() < 0.01
    assert one_step.max() > 0.5  # shows the test can tell the two apart


@pytest.mark.parametrize(("blon", "blat", "wlon", "wlat"), BD_WGS_PAIRS)
def test_bd_to_wgs_matches_published(blon, blat, wlon, wlat):
    lon, lat = to_wgs84(blon, blat, system="bd09")
    assert haversine_m(lon, lat, wlon, wlat) < 2.0


@pytest.mark.parametrize(("wlon", "wlat", "blon", "blat"), WGS_BD_PAIRS)
def test_wgs_to_bd_matches_published(wlon, wlat, blon, blat):
    lon, lat = from_wgs84(wlon, wlat, system="bd09")
    assert haversine_m(lon, lat, blon, blat) < 2.0


@pytest.mark.parametrize(("blon", "blat", "glon", "glat"), BD_GCJ_PAIRS)
def test_bd_to_gcj_matches_published(blon, blat, glon, glat):
    # BD-09 -> WGS-84 -> GCJ-02 must land on the published GCJ-02 point.
    wlon, wlat = to_wgs84(blon, blat, system="bd09")
    lon, lat = from_wgs84(wlon, wlat, system="gcj02")
    assert haversine_m(lon, lat, glon, glat) < 2.0


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_round_trip_below_one_centimetre(system):
    rng = np.random.default_rng(2024)
    lon = rng.uniform(73.6, 134.7, 5000)
    lat = rng.uniform(18.2, 53.5, 5000)
    there = from_wgs84(lon, lat, system=system)
    back = to_wgs84(*there, system=system)
    assert haversine_m(lon, lat, *back).max() < 0.01
    assert haversine_m(lon, lat, *there).min() > 1.0  # conversion really moved the points


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(73.6, 134.7), lat=st.floats(18.2, 53.5))
def test_round_trip_property(lon, lat):
    glon, glat = from_wgs84(lon, lat, system="gcj02")
    wlon, wlat = to_wgs84(glon, glat, system="gcj02")
    assert haversine_m(lon, lat, wlon, wlat) < 0.01


def test_outside_china_unchanged():
    lon = np.array([2.35, -74.0, 139.7, 183.0, 100.0])
    lat = np.array([48.85, 40.7, 35.7, 45.0, -10.0])
    for system in ("gcj02",):
        assert np.array_equal(np.stack(from_wgs84(lon, lat, system=system)), np.stack([lon, lat]))
        assert np.array_equal(np.stack(to_wgs84(lon, lat, system=system)), np.stack([lon, lat]))
    # gcoord GCJ02.spec.ts: "not in China" [183, 45] is returned as is
    assert tuple(map(float, to_wgs84(183, 45, system="gcj02"))) == (183.0, 45.0)


@pytest.mark.parametrize("system", ["wgs84", "cgcs2000"])
def test_wgs_and_cgcs_are_identity(system):
    lon, lat = np.array([117.2, 118.0]), np.array([28.3, 29.0])
    out = to_wgs84(lon, lat, system=system)
    assert np.array_equal(out[0], lon) and np.array_equal(out[1], lat)
    out[0][0] = 0.0  # returns copies, never views of the caller's arrays
    assert lon[0] == 117.2


def test_scalars_arrays_and_nan():
    lon, lat = to_wgs84(116.404, 39.915, system="bd09")
    assert lon.shape == () and lat.shape == ()
    arr_lon, arr_lat = to_wgs84([116.404, np.nan, 116.404], [39.915, 30.0, 39.915], system="bd09")
    assert arr_lon.shape == (3,)
    assert np.isnan(arr_lon[1]) and np.isnan(arr_lat[1])
    assert arr_lon[0] == pytest.approx(float(lon), abs=1e-12) and arr_lon[2] == arr_lon[0]
    # a list of lists keeps its shape
    two_d = from_wgs84([[117.0, 118.0]], [[28.0, 29.0]], system="gcj02")
    assert two_d[0].shape == (1, 2)


def test_unknown_system_is_input_error():
    with pytest.raises(InputError, match="gcj02"):
        to_wgs84(1.0, 2.0, system="mars")  # type: ignore[arg-type]


def test_file_systems_default_mapping_and_overrides() -> None:
    assert file_systems() == {"stations": "wgs84", "demand": "wgs84", "enterprises": "wgs84", "candidates": "wgs84"}
    assert file_systems("gcj02", demand="wgs84") == {
        "stations": "gcj02",
        "demand": "wgs84",
        "enterprises": "gcj02",
        "candidates": "gcj02",
    }
    assert file_systems({"stations": "bd09"}, candidates="gcj02") == {
        "stations": "bd09",
        "demand": "wgs84",
        "enterprises": "wgs84",
        "candidates": "gcj02",
    }
    with pytest.raises(InputError, match="mars"):
        file_systems("wgs84", stations="mars")
    with pytest.raises(InputError, match="villages"):
        file_systems({"villages": "gcj02"})
