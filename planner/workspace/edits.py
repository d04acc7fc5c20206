"""Edits of a scenario under the planning rules: evaluated before and after, undone when refused.

The rule: an edit may not put a station far from every road. A workspace may hold
stations off the network that were loaded from a file
(:attr:`~planner.workspace.workspace.Workspace.allow_off_network_stations`: loaded, not
counted), but adding or moving a station to such a place is refused and undone. Every
surface that edits scenarios (the app, a notebook) goes through :func:`apply_edit`.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from planner._errors import InputError, PlannerError
from planner.coverage.analyse import CoverageResult, off_network_lines
from planner.i18n import join_names, t
from planner.workspace.scenario import Scenario, newly_off_network
from planner.workspace.workspace import Workspace


def apply_edit(
    ws: Workspace,
    scenario: Scenario,
    change: Callable[[Scenario], object],
    *,
    evaluate: Callable[[pd.DataFrame], CoverageResult] | None = None,
) -> tuple[CoverageResult, CoverageResult]:
    """Apply ``change`` to ``scenario`` and return the coverage before and after it.

    Parameters
    ----------
    ws
        Workspace the scenario is evaluated in.
    scenario
        Scenario to edit, in place.
    change
        Edits the scenario through its methods (``add_station``, ``move_station``,
        ``close_station``: one step of its undo history); what it returns is ignored.
    evaluate
        Coverage of a stations table; default ``ws.evaluate`` (the app passes its
        per-session result cache).

    Returns
    -------
    tuple[CoverageResult, CoverageResult]
        Coverage of the scenario before and after the edit.

    Raises
    ------
    planner._errors.PlannerError
        When the edited scenario cannot be evaluated, e.g. an
        :class:`~planner._errors.InputError` ``scenario.error.stations_off_network``
        naming the stations the edit put far from every road. The edit is undone
        first. An error raised by ``change`` itself is passed on as it is.

    Examples
    --------
    >>> ws, sc = Workspace.from_demo()  # doctest: +SKIP
    >>> before, after = apply_edit(ws, sc, lambda s: s.close_station("S0002"))  # doctest: +SKIP
    """
    evaluate = evaluate or ws.evaluate
    before = evaluate(scenario.stations)
    change(scenario)
    try:
        after = evaluate(scenario.stations)
        # uploads may hold stations off the network (loaded, not counted); an edit may not add one
        moved_off = newly_off_network(before.stations, after.stations)
        if len(moved_off):
            count, lines = off_network_lines(moved_off)
            raise InputError(
                "scenario.error.stations_off_network",
                tier=join_names(t(f"tier.{x}") for x in dict.fromkeys(moved_off["tier"].astype(str))),
                count=count,
                max_snap_m=f"{ws.config.max_snap_m:.0f}",
                lines=lines,
            )
    except PlannerError:
        scenario.undo()
        raise
    return before, after
