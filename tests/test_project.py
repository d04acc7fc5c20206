"""Project files: scenarios saved to one GeoPackage and read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from planner._errors import InputError
from planner.i18n import set_language, t
from planner.settings import Tier
from planner.workspace.project import PROJECT_META_LAYER, load_project, project_config, save_project
from planner.workspace.scenario import BASELINE_SCENARIO, Scenario, scenario_label
from planner.workspace.workspace import Workspace
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
    # overwrite keeps a valid file; bad names are refused before touching it
    save_project(path, scenarios=[other])
    assert [s.name for s in load_project(path)] == ["方案二：新增驿站"]
    with pytest.raises(InputError, match="重复"):
        save_project(path, scenarios=[sc, sc.copy("现状")])
    with pytest.raises(InputError, match=PROJECT_META_LAYER):
        save_project(path, scenarios=[sc.copy(PROJECT_META_LAYER)])
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
