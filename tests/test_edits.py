"""Tests of planner.workspace.edits: an edit is evaluated before and after, and undone when refused."""

from __future__ import annotations

import pandas as pd
import pytest

from planner._errors import InputError
from planner.coverage.analyse import CoverageResult
from planner.workspace.edits import apply_edit
from planner.workspace.scenario import Scenario
from planner.workspace.workspace import Workspace

#: Figures compared with a direct evaluation (the summary also holds engine timings).
FIGURES = ("stations", "covered_population", "outside_population", "percent_population")


@pytest.fixture(scope="module")
def demo() -> tuple[Workspace, Scenario]:
    return Workspace.from_demo()


def test_edit_returns_the_coverage_before_and_after(demo: tuple[Workspace, Scenario]) -> None:
    ws, base = demo
    sc = base.copy("edit")
    township = str(sc.stations.loc[sc.stations["tier"] == "township", "id"].iloc[0])
    before, after = apply_edit(ws, sc, lambda s: s.close_station(township))
    assert township not in set(sc.stations["id"]) and sc.can_undo
    assert len(after.stations) == len(before.stations) - 1
    # the same figures as evaluating the two tables directly
    tiers_before, tiers_after = before.summary["tiers"], after.summary["tiers"]
    for got, stations in ((tiers_before, base.stations), (tiers_after, sc.stations)):
        direct = ws.evaluate(stations).summary["tiers"]
        for tier, s in direct.items():
            assert {k: got[tier][k] for k in FIGURES} == {k: s[k] for k in FIGURES}, tier
    assert tiers_after["township"]["covered_population"] < tiers_before["township"]["covered_population"]
    assert tiers_after["village"]["covered_population"] == tiers_before["village"]["covered_population"]


def test_evaluate_hook_is_used_for_both_sides(demo: tuple[Workspace, Scenario]) -> None:
    ws, base = demo
    sc = base.copy("edit")
    seen: list[int] = []

    def evaluate(stations: pd.DataFrame) -> CoverageResult:
        seen.append(len(stations))
        return ws.evaluate(stations)

    village = sc.stations[sc.stations["tier"] == "village"].iloc[0]
    lon, lat = float(village["lon"]), float(village["lat"])
    apply_edit(ws, sc, lambda s: s.add_station(tier="village", lon=lon, lat=lat), evaluate=evaluate)
    assert seen == [len(base.stations), len(base.stations) + 1]


def test_station_put_far_from_roads_is_refused_and_undone(demo: tuple[Workspace, Scenario]) -> None:
    ws, base = demo
    _, _, lon1, lat1 = ws.network.bounds_lonlat()
    for allow in (False, True):  # refused by the workspace's evaluation, or by the edit rule itself
        tolerant = ws.with_config(ws.config)
        tolerant.allow_off_network_stations = allow
        sc = base.copy("edit")
        with pytest.raises(InputError, match="NEW-001") as err:
            apply_edit(tolerant, sc, lambda s: s.add_station(tier="village", lon=lon1 + 0.5, lat=lat1 + 0.5))
        assert err.value.key == "scenario.error.stations_off_network"
        pd.testing.assert_frame_equal(sc.stations, base.stations)
        assert not sc.can_undo
    # moving a station there is refused too; the station stays where it was
    tolerant = ws.with_config(ws.config)
    tolerant.allow_off_network_stations = True
    sc = base.copy("edit")
    sid = str(sc.stations["id"].iloc[5])
    with pytest.raises(InputError, match=sid):
        apply_edit(tolerant, sc, lambda s: s.move_station(sid, lon=lon1 + 0.5, lat=lat1 + 0.5))
    pd.testing.assert_frame_equal(sc.stations, base.stations)


def test_error_of_the_change_itself_is_passed_on_without_undo(demo: tuple[Workspace, Scenario]) -> None:
    ws, base = demo
    sc = base.copy("edit")
    first = str(sc.stations["id"].iloc[0])
    sc.close_station(first)  # an earlier edit, which must stay
    with pytest.raises(InputError):
        apply_edit(ws, sc, lambda s: s.close_station("no-such-station"))
    assert first not in set(sc.stations["id"]) and sc.can_undo
