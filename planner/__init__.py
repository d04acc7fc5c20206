"""群团服务网络规划器 — plan a county's four-tier service network along real roads.

Layers (one module each): road network (:mod:`planner.network`, :mod:`planner.osm`,
:mod:`planner.snapping`) → reach (:mod:`planner.reach`) → coverage and isochrones
(:mod:`planner.coverage`, :mod:`planner.isochrones`) → siting (:mod:`planner.siting`)
→ reports and exports (:mod:`planner.report`). The CLI (:mod:`planner.cli`) and the
Streamlit app (``app.py``) are thin layers on top.
"""

from planner._errors import ConfigError, InputError, NetworkError, PlannerError, SitingError, SolverError
from planner.settings import Config, Mode, Standard, Tier

__all__ = [
    "Config",
    "ConfigError",
    "InputError",
    "Mode",
    "NetworkError",
    "PlannerError",
    "SitingError",
    "SolverError",
    "Standard",
    "Tier",
]
__version__ = "0.1.0"
