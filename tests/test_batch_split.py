"""Province-wide files split into counties: by the county column, else by polygon; reuse; rows outside; OSM roads."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner._errors import InputError
from planner.batch.split import split_province
from planner.network.load import load_network
from tests.conftest import STRIP_CODES as CODES
from tests.conftest import STRIP_NAMES as NAMES
from tests.conftest import strip_of


@pytest.fixture(scope="module")
def demo(demo_strips: dict[str, object]) -> dict[str, object]:
    """The demo county's three strips (:func:`conftest.demo_strips`)."""
    return demo_strips


def province_demand(demo: dict[str, object], path: Path) -> tuple[Path, np.ndarray]:
    """The demand sheet with a county column naming some rows' county, against their strip; expected codes."""
    demand = demo["demand"]
    cuts = demo["cuts"]
    assert isinstance(demand, pd.DataFrame) and isinstance(cuts, np.ndarray)
    sheet = demand.copy()
    expected = np.array(CODES, dtype=object)[strip_of(sheet["经度"].to_numpy(), cuts)]
    column = [""] * len(sheet)
    column[0] = NAMES[2]  # a name, against its strip
    column[1] = CODES[1]  # a code
    column[2] = " " + NAMES[0]  # spaces around a name
    sheet["所属县（市、区）"] = column
    expected[0], expected[1], expected[2] = CODES[2], CODES[1], CODES[0]
    sheet.to_csv(path, index=False)
    return path, expected


def test_split_by_county_column_else_by_polygon(demo: dict[str, object], tmp_path: Path) -> None:
    root = demo["root"]
    files = demo["files"]
    stations = demo["stations"]
    cuts = demo["cuts"]
    assert isinstance(root, Path) and isinstance(files, dict) and isinstance(stations, pd.DataFrame)
    assert isinstance(cuts, np.ndarray)
    sheet, expected = province_demand(demo, tmp_path / "demand.csv")
    counties = split_province(
        network=files["roads"],
        counties=root / "counties.geojson",
        stations=files["stations"],
        demand=sheet,
        out_dir=tmp_path / "out",
    )
    assert [c.code for c in counties] == list(CODES)
    assert [c.name for c in counties] == list(NAMES)
    demand = pd.read_csv(sheet, dtype={"编号": str})
    for c in counties:
        assert Path(c.demand) == tmp_path / "out" / "_inputs" / c.code / "demand.csv"
        assert c.roads == str(files["roads"])
        part = pd.read_csv(c.demand, encoding="utf-8-sig", dtype={"编号": str, "所属县（市、区）": str})
        assert list(part.columns) == list(demand.columns)  # the rows as they were
        assert sorted(part["编号"]) == sorted(demand.loc[expected == c.code, "编号"])
        own = pd.read_csv(c.stations, encoding="utf-8-sig", dtype={"编号": str})
        in_strip = strip_of(stations["经度"].to_numpy(), cuts) == CODES.index(c.code)
        assert sorted(own["编号"]) == sorted(stations.loc[in_strip, "编号"])
        box = shapely.from_wkt(c.boundary_wkt)
        assert c.bounds == pytest.approx(shapely.bounds(box).tolist())


def test_split_is_reused_for_the_same_inputs_and_redone_when_one_changes(
    demo: dict[str, object], tmp_path: Path
) -> None:
    root = demo["root"]
    files = demo["files"]
    assert isinstance(root, Path) and isinstance(files, dict)
    sheet, _ = province_demand(demo, tmp_path / "demand.csv")
    kwargs = {"network": files["roads"], "counties": root / "counties.geojson", "stations": files["stations"]}
    first = split_province(**kwargs, demand=sheet, out_dir=tmp_path / "out")
    stamp = Path(first[0].demand).stat().st_mtime_ns
    again = split_province(**kwargs, demand=sheet, out_dir=tmp_path / "out")
    assert again == first
    assert Path(again[0].demand).stat().st_mtime_ns == stamp
    before = len(pd.read_csv(first[2].demand, encoding="utf-8-sig"))
    frame = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    frame = frame[frame["编号"] != frame["编号"].iloc[0]]  # the first row (named 丙县) is gone
    frame.to_csv(sheet, index=False)
    changed = split_province(**kwargs, demand=sheet, out_dir=tmp_path / "out")
    rows = pd.read_csv(changed[2].demand, encoding="utf-8-sig", dtype=str)
    assert len(rows) == before - 1


def test_rows_in_no_county_are_named_in_a_warning_or_refused_when_strict(
    demo: dict[str, object], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = demo["root"]
    files = demo["files"]
    assert isinstance(root, Path) and isinstance(files, dict)
    sheet, _ = province_demand(demo, tmp_path / "demand.csv")
    frame = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    frame.loc[3, "经度"] = "118.5"  # far east of every county: row 5 of the sheet
    frame.loc[4, "所属县（市、区）"] = "丁县"  # no such county: row 6
    frame.to_csv(sheet, index=False)
    kwargs = {"network": files["roads"], "counties": root / "counties.geojson", "stations": files["stations"]}
    with caplog.at_level(logging.WARNING, logger="planner.batch.inputs"):
        counties = split_province(**kwargs, demand=sheet, out_dir=tmp_path / "out")
    assert "2 rows" in caplog.text or "2 行" in caplog.text
    assert "5–6" in caplog.text
    kept = sum(len(pd.read_csv(c.demand, encoding="utf-8-sig")) for c in counties)
    assert kept == len(frame) - 2
    with pytest.raises(InputError) as info:
        split_province(**kwargs, demand=sheet, out_dir=tmp_path / "strict", strict=True)
    assert "5–6" in info.value.message("en") and "county" in info.value.message("en")


def test_an_osm_road_file_is_converted_once_to_a_layer(demo: dict[str, object], tmp_path: Path) -> None:
    root = demo["root"]
    files = demo["files"]
    assert isinstance(root, Path) and isinstance(files, dict)
    # a small grid of ways inside the demo county, one of them one-way
    w, s, e, n = gpd.read_file(root / "counties.geojson").total_bounds
    xs = np.linspace(w + 0.02, e - 0.02, 4)
    ys = np.linspace(s + 0.02, n - 0.02, 3)
    nodes, ways = [], []
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            nodes.append(f'<node id="{j * 10 + i + 1}" version="1" lat="{y:.7f}" lon="{x:.7f}"/>')
        refs = "".join(f'<nd ref="{j * 10 + i + 1}"/>' for i in range(len(xs)))
        oneway = '<tag k="oneway" v="yes"/>' if j == 0 else ""
        ways.append(f'<way id="{j + 1}" version="1">{refs}<tag k="highway" v="secondary"/>{oneway}</way>')
    osm = tmp_path / "province.osm"
    osm.write_text(f'<?xml version="1.0"?><osm version="0.6">{"".join(nodes)}{"".join(ways)}</osm>', encoding="utf-8")
    counties = split_province(
        network=osm,
        counties=root / "counties.geojson",
        stations=files["stations"],
        demand=files["demand"],
        out_dir=tmp_path / "out",
    )
    layer = tmp_path / "out" / "_inputs" / "roads.gpkg"
    assert {c.roads for c in counties} == {str(layer)}
    a, b = load_network(osm), load_network(layer)
    assert (a.n_nodes, a.n_edges) == (b.n_nodes, b.n_edges)
    assert b.edge_length_m.sum() == pytest.approx(a.edge_length_m.sum(), rel=1e-9)
    assert int(b.edge_oneway.sum()) == int(a.edge_oneway.sum()) == len(xs) - 1


def test_a_province_sheet_may_hold_every_countys_rows(demo: dict[str, object], tmp_path: Path) -> None:
    """The row limit of a province-wide sheet is a county's times the number of counties."""
    from planner.batch.split import province_limits
    from planner.inputs.limits import CLI_LIMITS
    from planner.inputs.tables import read_table

    root, files, stations = demo["root"], demo["files"], demo["stations"]
    assert isinstance(root, Path) and isinstance(files, dict) and isinstance(stations, pd.DataFrame)
    per_county = len(stations) // 2  # under the whole sheet's rows, over each strip's
    limits = CLI_LIMITS.with_overrides({"station_rows": per_county})
    assert province_limits(limits, counties=3).station_rows == 3 * per_county
    assert province_limits(limits, counties=3).demand_rows == 3 * limits.demand_rows
    assert province_limits(limits, counties=3).columns == limits.columns
    with pytest.raises(InputError):
        read_table(files["stations"], kind="stations", limits=limits)
    counties = split_province(
        network=files["roads"], counties=root / "counties.geojson", stations=files["stations"],
        demand=files["demand"], out_dir=tmp_path / "out", limits=limits,
    )  # fmt: skip
    assert sum(len(pd.read_csv(c.stations, encoding="utf-8-sig")) for c in counties) == len(stations)
