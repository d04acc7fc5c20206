"""Project files: several scenarios saved to, and read back from, one GeoPackage.

One point layer per scenario and the metadata table :data:`PROJECT_META_LAYER` (format
version, scenario order, each scenario's name as typed and its layer, column order,
standards as JSON, workspace label). Written atomically (:func:`planner._atomic.atomic_path`).

A scenario's name is user text (``#1 方案``, ``=1+1``, ``../x``, empty); GDAL refuses layer
names that begin with punctuation or ``gpkg``. The layer is named by :func:`scenario_layers`
(readable, valid and distinct), the name itself is kept in the metadata table and read back
exactly, so any name can be saved.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from planner._atomic import atomic_path
from planner._errors import InputError, OutputError, PlannerError
from planner.inputs.limits import CLI_LIMITS, Limits, check_geopackage
from planner.settings import Config, Standard, parse_mode, parse_tier
from planner.workspace.scenario import BASELINE_SCENARIO, Scenario, scenario_label, scenario_name

if TYPE_CHECKING:
    from planner.workspace.workspace import Workspace

logger = logging.getLogger(__name__)

__all__ = [
    "PROJECT_META_LAYER",
    "load_project",
    "project_config",
    "project_metadata",
    "save_project",
    "scenario_layers",
]

#: Name of the metadata table inside a project GeoPackage.
PROJECT_META_LAYER: str = "planner_project"
#: Project file format version written into the metadata table (2: layers named by
#: :func:`scenario_layers`, listed in the ``layer`` column; 1: layer = scenario name).
PROJECT_FORMAT_VERSION: int = 2
#: Longest layer name taken from a scenario's name (characters, before a distinguishing suffix).
LAYER_NAME_MAX_CHARS: int = 60
#: ASCII punctuation (``!`` to ``/``, ``:`` to ``@``, ``[`` to backtick, ``{`` to ``~``): ``_`` in a layer name.
_LAYER_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
#: Prefixes SQLite and GeoPackage keep for their own tables (compared case-insensitively).
_RESERVED_PREFIXES: tuple[str, ...] = ("gpkg", "rtree_", "sqlite_")


def _standards_json(config: Config) -> str:
    return json.dumps(config.to_dict()["standards"], ensure_ascii=False)


def scenario_layers(names: Sequence[str]) -> list[str]:
    """GeoPackage layer names for scenarios named ``names``, in order: readable, valid and distinct.

    Control and format characters are dropped, runs of white space become one space, ASCII
    punctuation becomes ``_`` (Chinese text and its punctuation are kept), ``_`` and spaces
    at either end are trimmed and the rest is cut to :data:`LAYER_NAME_MAX_CHARS`. A name left
    empty becomes ``scenario_<n>`` (``n`` its position from 1), one beginning with a reserved
    prefix (``gpkg``, ``rtree_``, ``sqlite_``) gets ``scenario_`` before it, and one equal
    (case-insensitively, as SQLite compares table names) to :data:`PROJECT_META_LAYER` or an
    earlier layer gets ``_<n>`` after it.

    Parameters
    ----------
    names
        Scenario names as typed (any text).

    Returns
    -------
    list of str
        One layer name per scenario.

    Examples
    --------
    >>> scenario_layers(["baseline", "=1+1", "+1+1", "", "方案二：新增驿站"])
    ['baseline', '1_1', '1_1_3', 'scenario_4', '方案二：新增驿站']
    """
    taken = {PROJECT_META_LAYER.casefold()}
    layers: list[str] = []
    for n, name in enumerate(names, start=1):
        shown = "".join(" " if ch.isspace() else ch for ch in name)
        kept = "".join(ch for ch in shown if not unicodedata.category(ch).startswith("C"))
        base = re.sub(r" +", " ", _LAYER_PUNCTUATION.sub("_", kept)).strip("_ ")[:LAYER_NAME_MAX_CHARS].strip("_ ")
        if not base:
            base = f"scenario_{n}"
        elif base.casefold().startswith(_RESERVED_PREFIXES):
            base = f"scenario_{base}"
        layer, k = base, n
        while layer.casefold() in taken:
            layer, k = f"{base}_{k}", k + 1
        taken.add(layer.casefold())
        layers.append(layer)
    return layers


def _check_scenario_names(scenarios: Sequence[Scenario]) -> None:
    """Refuse no scenarios, or two of the same name (the baseline's name in any language is the baseline)."""
    if not scenarios:
        raise InputError("scenario.error.no_scenarios")
    seen: set[str] = set()
    for sc in scenarios:
        key = BASELINE_SCENARIO if scenario_name(sc.name) == BASELINE_SCENARIO else sc.name
        if key in seen:
            raise InputError("scenario.error.duplicate_name", name=scenario_label(key))
        seen.add(key)


def save_project(path: str | Path, *, scenarios: Sequence[Scenario], workspace: Workspace | None = None) -> Path:
    """Save scenarios to a GeoPackage project file (written atomically).

    One point layer per scenario (named by :func:`scenario_layers`; attributes are the
    stations table, geometry the WGS-84 point) plus the metadata table
    :data:`PROJECT_META_LAYER` (format version, scenario order, each scenario's name as
    given and its layer, standards as JSON, workspace label). Any names can be saved;
    two scenarios of the same name are refused.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    import pyogrio  # project files only (0.03 s to import at the app's start)

    final = Path(path)
    _check_scenario_names(scenarios)
    if not final.parent.is_dir():
        raise InputError("scenario.error.no_directory", path=str(final.parent))
    layers = scenario_layers([s.name for s in scenarios])
    try:
        with atomic_path(final) as tmp:
            for k, (sc, layer) in enumerate(zip(scenarios, layers, strict=True)):
                st = sc.stations.reset_index(drop=True).copy()
                for c in st.columns:
                    if not pd.api.types.is_numeric_dtype(st[c]) and not pd.api.types.is_bool_dtype(st[c]):
                        st[c] = st[c].astype(object).where(st[c].notna(), "").astype(str)
                gdf = gpd.GeoDataFrame(
                    st, geometry=gpd.points_from_xy(st["lon"].astype(float), st["lat"].astype(float)), crs="EPSG:4326"
                )
                pyogrio.write_dataframe(
                    gdf, tmp, layer=layer, driver="GPKG", append=k > 0, geometry_type="Point", promote_to_multi=False
                )
            meta = pd.DataFrame(
                {
                    "position": np.arange(len(scenarios), dtype=np.int64),
                    "scenario": [s.name for s in scenarios],
                    "layer": layers,
                    "columns": [json.dumps(list(map(str, s.stations.columns)), ensure_ascii=False) for s in scenarios],
                    "standards_json": _standards_json(workspace.config) if workspace is not None else "",
                    "label": workspace.shown_label() if workspace is not None else "",
                    "format_version": PROJECT_FORMAT_VERSION,
                }
            )
            pyogrio.write_dataframe(meta, tmp, layer=PROJECT_META_LAYER, driver="GPKG", append=True)
    except OutputError:  # already says where, why and how to fix
        raise
    except OSError as exc:
        raise InputError("scenario.error.write_failed", path=str(final), reason=str(exc)) from exc
    except pyogrio.errors.DataSourceError as exc:
        raise InputError("scenario.error.write_failed", path=str(final), reason=str(exc)) from exc
    logger.info("saved project %s (%d scenarios)", final, len(scenarios))
    return final


def project_metadata(path: str | Path, *, limits: Limits = CLI_LIMITS) -> pd.DataFrame:
    """The metadata table of a project file (one row per scenario, in order).

    The file is checked against ``limits`` before GDAL opens it
    (:func:`planner.inputs.limits.check_geopackage`: views and huge metadata are refused).
    """
    import pyogrio  # project files only (0.03 s to import at the app's start)

    p = Path(path)
    if not p.is_file():
        raise InputError("scenario.error.project_missing", path=str(p))
    check_geopackage(p, file=p.name, limits=limits)
    try:
        layers = {str(x[0]) for x in pyogrio.list_layers(p)}
    except pyogrio.errors.DataSourceError as exc:
        raise InputError("scenario.error.not_project", path=str(p), reason=str(exc)) from exc
    if PROJECT_META_LAYER not in layers:
        raise InputError("scenario.error.not_project", path=str(p), reason=PROJECT_META_LAYER)
    meta = pyogrio.read_dataframe(p, layer=PROJECT_META_LAYER, read_geometry=False)
    return pd.DataFrame(meta).sort_values("position").reset_index(drop=True)


def project_config(path: str | Path, *, base: Config | None = None) -> Config | None:
    """Standards saved in a project file applied to ``base`` (``None`` when none were saved)."""
    meta = project_metadata(path)
    text = str(meta["standards_json"].iloc[0]) if len(meta) else ""
    if not text or text == "None":
        return None
    try:
        data = json.loads(text)
        standards = {
            parse_tier(k): Standard(parse_mode(v["mode"]), float(v["minutes"]), tuple(map(float, v["intervals_min"])))
            for k, v in data.items()
        }
    except (ValueError, KeyError, TypeError, PlannerError) as exc:
        raise InputError("scenario.error.not_project", path=str(path), reason=str(exc)) from exc
    cfg = base or Config()
    return replace(cfg, standards={**dict(cfg.standards), **standards})


def _meta_text(value: object) -> str:
    """A text cell of the metadata table (``""`` when missing)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def load_project(path: str | Path, *, limits: Limits = CLI_LIMITS) -> list[Scenario]:
    """Read the scenarios of a project file written by :func:`save_project`, in order.

    The file is checked against ``limits`` first (:func:`project_metadata`).
    """
    import pyogrio  # project files only (0.03 s to import at the app's start)

    p = Path(path)
    meta = project_metadata(p, limits=limits)
    out: list[Scenario] = []
    for _, m in meta.iterrows():
        name = _meta_text(m.get("scenario"))
        layer = _meta_text(m.get("layer")) or name  # format 1: the layer is named as the scenario
        df = pyogrio.read_dataframe(p, layer=layer)
        st = pd.DataFrame(df.drop(columns="geometry"))
        cols = json.loads(str(m["columns"])) if m.get("columns") else list(st.columns)
        cols = [c for c in cols if c in st.columns] + [c for c in st.columns if c not in cols]
        st = st[cols]
        for c in st.columns:
            if st[c].dtype == object or pd.api.types.is_string_dtype(st[c]):
                st[c] = st[c].fillna("").astype(str)
        # every scenario's edits are shown against the first one (the stations as they are)
        baseline = out[0].baseline if out else None
        sid = BASELINE_SCENARIO if scenario_name(name) == BASELINE_SCENARIO else name  # other names exactly as saved
        out.append(Scenario(name=sid, stations=st.reset_index(drop=True), baseline=baseline))
    logger.info("loaded project %s (%d scenarios)", p, len(out))
    return out
