"""群团服务网络规划器 — plan a county's four-tier service network along real roads.

Data flows one way, and the folders say so::

    inputs     files -> canonical tables (stations, demand, areas), coordinates, checks
    network    roads -> arrays, travel modes, snapping, reach (shortest paths)
    coverage   who is inside each tier's N-minute circle; isochrones
    siting     candidate sites, coverage sets, models, solvers
    workspace  the one pipeline: load, evaluate, edit, propose, compare (Workspace)
    report     the table of figures, output files, workbook, GeoPackage, web and printed maps
    cli, app   thin front ends (the app is the only user of Streamlit)
    demo       the generated demo county (not a real place)

The public API: :class:`~planner.workspace.workspace.Workspace` (imported on first use),
the configuration (:class:`Config`, :class:`Tier`, :class:`Mode`, :class:`Standard`) and
the errors.
"""

from typing import TYPE_CHECKING, Any

from planner._errors import ConfigError, InputError, NetworkError, PlannerError, SitingError, SolverError
from planner.settings import Config, Mode, Standard, Tier

if TYPE_CHECKING:
    from planner.workspace.scenario import Scenario
    from planner.workspace.workspace import Workspace

__all__ = [
    "Config",
    "ConfigError",
    "InputError",
    "Mode",
    "NetworkError",
    "PlannerError",
    "Scenario",
    "SitingError",
    "SolverError",
    "Standard",
    "Tier",
    "Workspace",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``planner.Workspace`` and ``planner.Scenario``, imported on first use (they pull in geopandas)."""
    if name == "Workspace":
        from planner.workspace.workspace import Workspace

        return Workspace
    if name == "Scenario":
        from planner.workspace.scenario import Scenario

        return Scenario
    msg = f"module 'planner' has no attribute {name!r}"
    raise AttributeError(msg)
