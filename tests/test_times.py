"""Sparse travel times: pair bookkeeping by hand, the network builder against networkx on real OSM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner._errors import InputError
from planner.network.snapping import snap_points
from planner.network.times import TravelTimes, network_times
from planner.settings import Mode
from tests.conftest import nx_best_times, snap_attachments


def test_pairs_keep_the_fastest_and_zero_minutes() -> None:
    tt = TravelTimes.from_pairs(
        rows=[1, 0, 1, 1, 0],
        columns=[2, 0, 2, 0, 1],
        minutes=[7.0, 0.0, 3.0, 12.0, 4.5],
        demand_ids=["a", "b", "c"],
        site_ids=["s0", "s1", "s2"],
        cutoff_min=10.0,
    )
    assert tt.n_demand == 3 and tt.n_sites == 3
    assert tt.n_pairs == 3  # (1,2) twice keeps 3.0; (1,0) = 12 is beyond the cutoff
    np.testing.assert_array_equal(tt.indptr, [0, 2, 3, 3])
    np.testing.assert_array_equal(tt.indices, [0, 1, 2])
    np.testing.assert_array_equal(tt.minutes, [0.0, 4.5, 3.0])  # the zero is kept
    np.testing.assert_array_equal(tt.nearest_minutes(), [0.0, 3.0, np.inf])
    np.testing.assert_array_equal(tt.nearest_minutes(sites=np.array([False, True, False])), [4.5, np.inf, np.inf])
    np.testing.assert_array_equal(tt.reached(), [True, True, False])
    assert tt.within(3.0).toarray().tolist() == [[True, False, False], [False, False, True], [False, False, False]]
    sub = tt.subset_sites(np.array([2, 1]))
    assert list(sub.site_ids) == ["s2", "s1"]
    np.testing.assert_array_equal(sub.nearest_minutes(), [4.5, 3.0, np.inf])
    long = tt.to_long()
    assert long.to_dict("list") == {
        "demand_id": ["a", "a", "b"],
        "site_id": ["s0", "s1", "s2"],
        "minutes": [0.0, 4.5, 3.0],
    }


def test_dense_round_trip() -> None:
    a = np.array([[1.0, np.inf, 2.0], [np.nan, 0.0, 9.0]])
    tt = TravelTimes.from_dense(a)
    back = np.full(a.shape, np.inf)
    back[tt.rows, tt.indices] = tt.minutes
    np.testing.assert_array_equal(back, np.where(np.isfinite(a), a, np.inf))


def test_long_table_rows_named_in_errors() -> None:
    ok = pd.DataFrame({"demand_id": [1, 2, 2], "site_id": ["x", "y", "y"], "minutes": ["3", 4, 2.5]})
    tt = TravelTimes.from_long(ok, demand_ids=["1", "2"], site_ids=["x", "y"])
    np.testing.assert_array_equal(tt.nearest_minutes(), [3.0, 2.5])
    with pytest.raises(InputError) as e:
        TravelTimes.from_long(ok.assign(minutes=[1, -1, 2]), demand_ids=["1", "2"], site_ids=["x", "y"], source="t.csv")
    assert e.value.key == "siting.error.bad_minutes_row" and e.value.params["row"] == 2
    with pytest.raises(InputError) as e:
        TravelTimes.from_long(ok.assign(source_row=[5, 6, 7]), demand_ids=["1", "2"], site_ids=["x"])
    assert e.value.key == "siting.error.unknown_site" and e.value.params["row"] == 6 and "y" in e.value.params["ids"]
    with pytest.raises(InputError) as e:
        TravelTimes.from_long(ok.drop(columns="minutes"), demand_ids=["1", "2"], site_ids=["x", "y"])
    assert e.value.key == "siting.error.missing_columns"


def test_network_times_match_networkx_on_real_osm(test_pbf_network) -> None:  # type: ignore[no-untyped-def]
    g = test_pbf_network.travel_graph(mode=Mode.WALK)
    rng = np.random.default_rng(3)
    lon0, lat0 = test_pbf_network.node_lon.mean(), test_pbf_network.node_lat.mean()
    lon = lon0 + rng.normal(0, 0.004, 30)
    lat = lat0 + rng.normal(0, 0.003, 30)
    sites = snap_points(g, lon=lon[:6], lat=lat[:6], max_snap_m=300)
    dem = snap_points(g, lon=lon[6:], lat=lat[6:], max_snap_m=300)
    tt = network_times(g, sites=sites, demand=dem, cutoff_min=12.0, demand_ids=np.arange(24), site_ids=np.arange(6))
    got = np.full((24, 6), np.inf)
    got[tt.rows, tt.indices] = tt.minutes
    s_att, d_att = snap_attachments(sites), snap_attachments(dem)
    for j in range(6):
        ref = nx_best_times(g, [s_att[j]], d_att) / 60.0
        ref[ref > 12.0] = np.inf
        np.testing.assert_allclose(got[:, j], ref, rtol=1e-9, atol=1e-9)
    assert np.isfinite(got).sum() > 20  # the sample is dense enough for the comparison to mean something
