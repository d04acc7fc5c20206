"""Workspace.accessibility / Workspace.equity (planner.workspace.access) on the demo county.

The accessibility is checked against the coverage the same workspace computes (reached
within the standard ⇔ covered) and against the 2SFCA identity Σ P·A = Σ S; the equity
table against the coverage figures per township.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner._errors import InputError
from planner.coverage.access import accessibility
from planner.network.times import TravelTimes, network_times
from planner.settings import Tier
from planner.workspace.scenario import Scenario
from planner.workspace.workspace import Workspace


@pytest.fixture(scope="module")
def demo() -> tuple[Workspace, Scenario]:
    return Workspace.from_demo()


def test_2sfca_reaches_exactly_the_covered_points(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = demo
    frame = ws.accessibility(sc.stations, tier="village")
    result = ws.evaluate(sc.stations, tiers=(Tier.VILLAGE,))
    rows = result.demand[result.demand["tier"] == "village"].set_index("id")
    covered = rows.loc[frame["id"], "covered"].fillna(False).to_numpy(bool)
    assert frame["reached"].to_numpy(bool).tolist() == covered.tolist()
    assert frame.attrs["summary"]["parameters"] == {"catchment_min": 15.0}
    # Σ P·A = Σ S over the stations some populated point reaches (supply 1 each)
    pop, val = frame["population"].to_numpy(), frame["value"].to_numpy()
    times = _village_times(ws, sc)
    served = np.unique(times.indices[frame["population"].to_numpy()[times.rows] > 0])
    assert 0 < len(served) <= times.n_sites
    assert pop @ val == pytest.approx(float(len(served)), rel=1e-12)
    assert pop @ frame["normalised"].to_numpy() / pop.sum() == pytest.approx(1.0)


def test_supply_column_scales_the_values(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = demo
    base = ws.accessibility(sc.stations, tier="township", method="g2sfca")
    doubled = ws.accessibility(sc.stations.assign(supply=2.0), tier="township", method="g2sfca")
    np.testing.assert_allclose(doubled["value"], 2 * base["value"], rtol=1e-12)
    np.testing.assert_allclose(doubled["normalised"], base["normalised"], rtol=1e-12)
    assert doubled.attrs["summary"]["supply_column"] == "supply"
    staff = sc.stations.assign(人员=3.0)
    np.testing.assert_allclose(
        ws.accessibility(staff, tier="township", method="g2sfca", supply="人员")["value"], 3 * base["value"]
    )


def test_bad_supply_names_the_stations(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = demo
    bad = sc.stations.assign(supply=1.0)
    first = bad.index[bad["tier"] == "village"][0]
    bad.loc[first, "supply"] = np.nan
    with pytest.raises(InputError, match=str(bad.loc[first, "id"])):
        ws.accessibility(bad, tier="village")
    with pytest.raises(InputError, match="规模X"):
        ws.accessibility(sc.stations, tier="village", supply="规模X")


def _village_times(ws: Workspace, sc: Scenario) -> TravelTimes:
    """Village stations → village demand minutes within 15, from the snaps the coverage uses."""
    key, rows = ws._tier_key(sc.stations, Tier.VILLAGE)
    tr = ws._tier_result(sc.stations, Tier.VILLAGE, rows, key)
    return network_times(
        ws._graph(ws.config.standards[Tier.VILLAGE].mode), sites=tr.station_snap, demand=tr.snap, cutoff_min=15,
        demand_ids=ws.demand["id"].astype(str).to_numpy(object)[tr.demand_rows],
        site_ids=sc.stations["id"].astype(str).to_numpy(object)[rows],
    )  # fmt: skip


def test_network_values_equal_the_measure_on_the_same_minutes(demo: tuple[Workspace, Scenario]) -> None:
    # the e2sfca values from the workspace equal the measure run on a long table of the
    # same pairs read back through TravelTimes.from_long (the --cost-matrix route)
    ws, sc = demo
    frame = ws.accessibility(sc.stations, tier="village", method="e2sfca")
    times = _village_times(ws, sc)
    ids, site_ids = times.demand_ids, times.site_ids
    assert frame["id"].astype(str).tolist() == ids.tolist()
    again = TravelTimes.from_long(times.to_long(), demand_ids=ids, site_ids=site_ids)
    res = accessibility(again, population=frame["population"], method="e2sfca", catchment_min=15)
    np.testing.assert_allclose(res.value, frame["value"], rtol=1e-12)


def test_equity_shares_are_the_coverage_figures(demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = demo
    result = ws.evaluate(sc.stations)
    for tier in ("village", "township"):
        access = ws.accessibility(sc.stations, tier=tier)
        table = ws.equity(result, tier=tier, access=access)
        again = ws.equity(sc.stations, tier=tier, access=access)
        pd.testing.assert_frame_equal(table, again)
        total = table.iloc[0]
        s = result.summary["tiers"][tier]
        assert total["within_population"] == s["covered_population"]
        assert total["percent_within"] == s["percent_population"]
        assert total["population"] == s["population"]
        areas = result.areas[result.areas["tier"] == tier].set_index("township")
        towns = table.iloc[1:].set_index("township")
        assert set(towns.index) == set(areas.index)
        np.testing.assert_allclose(towns["within_population"], areas.loc[towns.index, "covered_population"])
        assert towns["population"].sum() == pytest.approx(total["population"])
        assert total["mean_access"] == pytest.approx(access.attrs["summary"]["mean"])
        assert 0 <= total["gini_min"] <= 1 and 0 <= total["gini_access"] <= 1
    with pytest.raises(InputError):
        ws.equity(result, tier="township", access=ws.accessibility(sc.stations, tier="village").iloc[:5])


def test_equity_summary_of_a_tier_without_stations(demo: tuple[Workspace, Scenario]) -> None:
    """A tier with no station has no accessibility Gini: null in summary.json, not a crash."""
    from planner.workspace.access import access_tables, equity_summary

    ws, sc = demo
    stations = sc.stations[sc.stations["tier"].astype(str) != str(Tier.COUNTY)]
    result = ws.evaluate(stations)
    _, equity = access_tables(ws, stations, result=result)
    summary = equity_summary(equity, method="2sfca")
    assert summary[str(Tier.COUNTY)]["gini_access"] is None
    assert summary[str(Tier.VILLAGE)]["gini_access"] is not None
    assert all(v is None or isinstance(v, float | str) for s in summary.values() for v in s.values())
