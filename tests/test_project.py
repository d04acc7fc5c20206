"""Project files: scenarios saved to one GeoPackage and read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from planner._errors import InputError
from planner.i18n import set_language, t
from planner.settings import Tier
from planner.workspace.project import (
    PROJECT_META_LAYER,
    load_project,
    project_config,
    project_metadata,
    save_project,
    scenario_layers,
)
from planner.workspace.scenario import BASELINE_SCENARIO, Scenario, scenario_label
from planner.workspace.workspace import Workspace
from tests.data.hostile import NAMES
from tests.helpers import assert_same_result, fresh

# ----------------------------------------------------------------------------- projects


def test_project_round_trip(tmp_path: Path, demo: tuple[Workspace, Scenario]) -> None:
    ws, sc = fresh(demo)
    sc.add_station(tier="village", lon=116.2, lat=27.4, name="新驿站·河东", services="妈妈小屋、AED/急救")
    other = sc.copy("方案二：新增驿站")
    other.close_station(str(other.stations["id"].iloc[3]))
    ws2 = ws.with_config(ws.config.with_overrides(tier=Tier.VILLAGE, minutes=10.0))
    path = save_project(tmp_path / "项目.gpkg", scenarios=[sc, other], workspace=ws2)
    assert path.exists() and not list(tmp_path.glob(".*tmp*"))
    layers = {str(x[0]) for x in pyogrio.list_layers(path)}
    assert layers == {BASELINE_SCENARIO, "方案二：新增驿站", PROJECT_META_LAYER}
    loaded = load_project(path)
    assert [s.name for s in loaded] == [BASELINE_SCENARIO, "方案二：新增驿站"]
    for a, b in zip([sc, other], loaded, strict=True):
        pd.testing.assert_frame_equal(
            a.stations.astype({c: object for c in a.stations.columns if a.stations[c].dtype != float}),
            b.stations.astype({c: object for c in b.stations.columns if b.stations[c].dtype != float}),
        )
    assert "新驿站·河东" in set(loaded[0].stations["name"])
    # the second scenario's edits are shown against the first as saved
    assert loaded[0].changes().empty
    assert list(loaded[1].changes()["change"]) == ["closed"]
    cfg = project_config(path)
    assert cfg is not None and cfg.standards[Tier.VILLAGE].minutes == 10.0
    # same coverage from the loaded stations
    assert_same_result(ws.evaluate(loaded[1].stations), ws.evaluate(other.stations))
    # overwrite keeps a valid file; a duplicate name is refused before touching it
    save_project(path, scenarios=[other])
    assert [s.name for s in load_project(path)] == ["方案二：新增驿站"]
    with pytest.raises(InputError, match="重复"):
        save_project(path, scenarios=[sc, sc.copy("现状")])
    assert [s.name for s in load_project(path)] == ["方案二：新增驿站"]
    with pytest.raises(InputError, match="不存在"):
        load_project(tmp_path / "missing.gpkg")


@pytest.mark.parametrize("layer", ["现状", "current", "Current"])
def test_baseline_of_a_project_saved_under_its_shown_name_loads_as_the_baseline(
    tmp_path: Path, demo: tuple[Workspace, Scenario], layer: str
) -> None:
    """A project written with the baseline named in one language (older files) loads in either."""
    _ws, sc = fresh(demo)
    path = save_project(tmp_path / "p.gpkg", scenarios=[sc.copy(layer), sc.copy("方案B")])
    loaded = load_project(path)
    assert [s.name for s in loaded] == [BASELINE_SCENARIO, "方案B"]
    assert [scenario_label(s.name, lang="en") for s in loaded] == ["Current", "方案B"]  # typed names stay as typed
    assert [scenario_label(s.name, lang="zh") for s in loaded] == ["现状", "方案B"]


def test_baseline_is_named_in_the_active_language(demo: tuple[Workspace, Scenario]) -> None:
    _ws, sc = demo
    assert sc.name == BASELINE_SCENARIO
    assert scenario_label(sc.name) == t("scenario.current_name") == "现状"
    set_language("en")
    try:
        assert scenario_label(sc.name) == "Current"
        with pytest.raises(InputError, match="Current"):  # the same scenario under its other name
            save_project(Path("unused.gpkg"), scenarios=[sc, sc.copy("现状")])
    finally:
        set_language("zh")


# ----------------------------------------------------------------------------- hostile names


def test_any_scenario_names_save_and_load_back_exactly(tmp_path: Path, demo: tuple[Workspace, Scenario]) -> None:
    """Every payload (formulas, markup, ``#1 方案``, ``../x``, empty, blank) is saved and read back as typed.

    On the main of before issue 14 a name beginning with ``#``, ``-``, ``(``, ``$``, ``!`` ...
    failed with pyogrio's DataLayerError, and an empty or blank one was refused.
    """
    _ws, sc = fresh(demo)
    extra = [PROJECT_META_LAYER, "gpkg_contents", "Planner_Project", "A", "a", "scenario_25"]
    names = [*NAMES, *extra]
    scenarios = [sc, *(sc.copy(n) for n in names)]
    scenarios[-1].close_station(str(sc.stations["id"].iloc[0]))
    path = save_project(tmp_path / "p.gpkg", scenarios=scenarios)
    layers = [str(x[0]) for x in pyogrio.list_layers(path)]
    assert len({x.casefold() for x in layers}) == len(scenarios) + 1  # every scenario its own layer, and the metadata
    loaded = load_project(path)
    assert [s.name for s in loaded] == [BASELINE_SCENARIO, *names]
    assert len(loaded[-1].stations) == len(sc.stations) - 1
    assert all(len(s.stations) == len(sc.stations) for s in loaded[:-1])
    meta = project_metadata(path)
    assert list(meta["scenario"]) == [BASELINE_SCENARIO, *names]  # the raw name is the attribute


def test_scenario_layers_are_valid_distinct_and_readable() -> None:
    layers = scenario_layers(["baseline", "方案二：新增驿站", "=1+1", "+1+1", "", " ", "gpkg_x", PROJECT_META_LAYER])
    assert layers[:2] == ["baseline", "方案二：新增驿站"]  # names GDAL takes are kept
    assert layers[2:4] == ["1_1", "1_1_4"]
    assert layers[4:6] == ["scenario_5", "scenario_6"]
    assert layers[6] == "scenario_gpkg_x" and layers[7] == f"{PROJECT_META_LAYER}_8"
    every = scenario_layers(list(NAMES))
    assert len({x.casefold() for x in every}) == len(NAMES)
    assert all(x and (x[0].isalnum() or x[0] == "_") and x.isprintable() for x in every)


def test_project_of_the_older_format_loads(tmp_path: Path, demo: tuple[Workspace, Scenario]) -> None:
    """A project written before the ``layer`` column (format 1: layer = scenario name) still loads."""
    _ws, sc = fresh(demo)
    path = save_project(tmp_path / "p.gpkg", scenarios=[sc, sc.copy("方案B")])
    meta = project_metadata(path).drop(columns="layer").assign(format_version=1)
    old = tmp_path / "old.gpkg"
    for name in (BASELINE_SCENARIO, "方案B"):  # names GDAL takes: their layers are named so in both formats
        pyogrio.write_dataframe(pyogrio.read_dataframe(path, layer=name), old, layer=name, append=old.exists())
    pyogrio.write_dataframe(meta, old, layer=PROJECT_META_LAYER, driver="GPKG", append=True)
    assert [s.name for s in load_project(old)] == [BASELINE_SCENARIO, "方案B"]
