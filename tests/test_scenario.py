"""Scenarios: edits and undo; comparisons checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner._errors import InputError
from planner.workspace.scenario import Scenario, compare, compare_demand
from planner.workspace.workspace import Workspace
from tests.helpers import fresh, line_case

# ----------------------------------------------------------------------------- scenario edits


def test_undo_restores_and_ids(demo: tuple[Workspace, Scenario]) -> None:
    _, sc = fresh(demo)
    original = sc.stations.copy()
    assert not sc.can_undo and sc.undo() is False
    a = sc.add_station(tier="村（社区）", lon=116.2, lat=27.4)
    b = sc.add_station(tier="enterprise", lon=116.21, lat=27.41, organisation="某公司工会", services="法律咨询")
    assert (a, b) == ("NEW-001", "NEW-002")
    row = sc.stations.set_index("id").loc[b]
    assert row["tier"] == "enterprise" and row["organisation"] == "某公司工会" and row["services"] == "法律咨询"
    assert "NEW-002" in str(row["name"])
    sc.move_station(a, lon=116.3, lat=27.5)
    sc.close_station(str(original["id"].iloc[0]))
    assert len(sc.stations) == len(original) + 1
    assert sc.undo() and sc.undo()
    assert sc.stations.set_index("id").loc[a, "lon"] == 116.2
    assert sc.undo() and sc.undo()
    pd.testing.assert_frame_equal(sc.stations, original)
    assert not sc.can_undo
    with pytest.raises(InputError, match="XYZ"):
        sc.move_station("XYZ", lon=116.0, lat=27.0)
    with pytest.raises(InputError, match="经纬度无效"):
        sc.add_station(tier="village", lon=float("nan"), lat=27.0)
    with pytest.raises(ValueError, match=r"nonsense"):
        sc.add_station(tier="nonsense", lon=116.0, lat=27.0)
    copy = sc.copy("副本")
    copy.add_station(tier="village", lon=116.2, lat=27.4)
    assert len(copy.stations) == len(sc.stations) + 1 and not sc.can_undo


def test_duplicate_ids_rejected() -> None:
    st = pd.DataFrame(
        {"id": ["A", "A"], "name": ["x", "y"], "tier": ["village"] * 2, "lon": [116.0] * 2, "lat": [27.0] * 2}
    )
    with pytest.raises(InputError, match="A"):
        Scenario(name="x", stations=st)


# ----------------------------------------------------------------------------- compare by hand


def _line_workspace() -> tuple[Workspace, Scenario]:
    """A straight 3 km residential road, nodes every 100 m; demand at 0, 500, 1500, 2500 m."""
    return line_case(demand_at=(0, 5, 15, 25))


def test_compare_by_hand() -> None:
    # walking 4 km/h: 15 min = 1000 m. S1 at 0 m covers D1 (0 m) and D2 (500 m = 7.5 min).
    ws, sc = _line_workspace()
    before = ws.evaluate(sc.stations)
    v = before.demand[before.demand["tier"] == "village"].set_index("id")
    assert v.loc["D2", "minutes"] == pytest.approx(7.5, abs=0.01)
    assert list(v["covered"]) == [True, True, False, False]
    # a station at 2000 m covers D3 (500 m) and D4 (500 m)
    x = 400000.0 + 2000.0
    lon, lat = ws.network.to_lonlat(np.array([x]), np.array([3030000.0]))
    sc.add_station(tier="village", lon=float(lon[0]), lat=float(lat[0]))
    after = ws.evaluate(sc.stations)
    c = compare(before, after).set_index("tier")
    assert c.loc["village", "covered_population_before"] == 300.0
    assert c.loc["village", "covered_population_after"] == 1000.0
    assert c.loc["village", "delta_population"] == 700.0
    assert (c.loc["village", "newly_covered"], c.loc["village", "lost"]) == (2, 0)
    assert c.loc["village", "percent_before"] == 30.0 and c.loc["village", "percent_after"] == 100.0
    assert c.loc["county", "delta_population"] == 0 and c.loc["county", "newly_covered"] == 0
    cd = compare_demand(before, after)
    assert list(cd["id"]) == ["D4", "D3"] and set(cd["change"]) == {"newly_covered"}
    assert list(cd["population"]) == [400.0, 300.0]
    # closing S1 loses D1 and D2 (D2 is 1500 m from the new station: 22.5 min)
    sc.close_station("S1")
    later = ws.evaluate(sc.stations)
    c2 = compare(after, later).set_index("tier")
    assert (c2.loc["village", "newly_covered"], c2.loc["village", "lost"]) == (0, 2)
    assert c2.loc["village", "delta_population"] == -300.0
    cd2 = compare_demand(after, later)
    assert list(cd2["id"]) == ["D2", "D1"] and set(cd2["change"]) == {"lost"}
    assert cd2.set_index("id").loc["D2", "minutes_after"] == pytest.approx(22.5, abs=0.01)


def test_changes_name_added_moved_and_closed_stations(demo: tuple[Workspace, Scenario]) -> None:
    _, sc = fresh(demo)
    assert sc.changes().empty
    first, second = (str(x) for x in sc.stations["id"].iloc[:2])
    lon0, lat0 = (float(x) for x in sc.stations.loc[1, ["lon", "lat"]])
    new = sc.add_station(tier="village", lon=116.2, lat=27.4)
    sc.close_station(first)
    sc.move_station(second, lon=lon0 + 0.01, lat=lat0)
    ch = sc.changes().set_index("id")
    assert list(ch["change"]) == ["closed", "moved", "added"]
    assert ch.loc[new, "change"] == "added" and ch.loc[new, "lon"] == 116.2
    assert ch.loc[second, ["from_lon", "from_lat"]].tolist() == [lon0, lat0]
    assert ch.loc[second, "lon"] == lon0 + 0.01
    # a copy keeps the baseline: its changes are still against the stations as loaded
    other = sc.copy("方案二")
    assert set(other.changes()["id"]) == {new, first, second}
    sc.undo()  # the move
    assert set(sc.changes()["change"]) == {"closed", "added"}
    # moving back to where it was is no change
    sc.move_station(second, lon=lon0, lat=lat0)
    assert second not in set(sc.changes()["id"])
