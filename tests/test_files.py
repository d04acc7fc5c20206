"""Output files: download names (scenario, kind, date; safe for file systems) and the printed maps made."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pyogrio
import pytest

from planner.report.exports import demand_table
from planner.report.files import FILES, SCENARIO_NAME_MAX_CHARS, download_name, report_files
from planner.settings import TIERS, Tier
from tests.data.hostile import FORMULAS
from tests.data.hostile.exports import csv_rows, formula_text, named_county, shown_in_a_sheet, workbook_cells

from .helpers import line_case

ON = date(2026, 12, 4)


def test_download_names_carry_scenario_kind_and_date() -> None:
    assert download_name(file="report.xlsx", scenario="现状", on=ON) == "现状_覆盖统计_2026-12-04.xlsx"
    assert download_name(file="coverage.gpkg", scenario="现状", on=ON) == "现状_覆盖范围_2026-12-04.gpkg"
    assert download_name(file="project.gpkg", scenario="现状", on=ON) == "现状_项目_2026-12-04.gpkg"
    assert download_name(file="map.png", scenario="现状", on=ON, tier="village") == "现状_村（社区）地图_2026-12-04.png"
    assert download_name(file="map_county.png", scenario="现状", on=ON) == "现状_县级地图_2026-12-04.png"
    assert download_name(file="report.xlsx", scenario="current", on=ON, lang="en") == (
        "current_coverage-statistics_2026-12-04.xlsx"
    )
    # every file of one scenario gets its own name (coverage.gpkg and project.gpkg no longer collide);
    # only map.png of a tier is named like that tier's own map, the same picture
    for lang in ("zh", "en"):
        names = {f: download_name(file=f, scenario="现状", on=ON, tier=Tier.VILLAGE, lang=lang) for f in FILES}
        assert names["map.png"] == names["map_village.png"]
        assert len(set(names.values())) == len(FILES) - 1


def test_every_kind_is_safe_in_a_file_name_in_both_languages() -> None:
    for lang in ("zh", "en"):
        for f in FILES:
            for tier in TIERS:
                name = download_name(file=f, scenario="x", on=ON, tier=tier, lang=lang)
                assert not re.search(r'[/\\:*?"<>|\x00-\x1f]', name), name


def test_scenario_names_are_made_safe() -> None:
    name = download_name(file="report.xlsx", scenario='a/b\\c:d*e?f"g<h>i|j\x00k\u202el\tm\n', on=ON)
    assert name == "abcdefghijkl m_覆盖统计_2026-12-04.xlsx"
    # nothing left of the scenario's name: kind and date only; no leading dot (a hidden file)
    assert download_name(file="report.xlsx", scenario="../..", on=ON) == "覆盖统计_2026-12-04.xlsx"
    assert download_name(file="demand.csv", scenario=" .方案 B. ", on=ON) == "方案 B_需求点覆盖_2026-12-04.csv"
    long = download_name(file="summary.json", scenario="方" * 200, on=ON)
    assert long == "方" * SCENARIO_NAME_MAX_CHARS + "_摘要_2026-12-04.json"


def test_download_name_refuses_unknown_files_and_maps_without_tier() -> None:
    with pytest.raises(ValueError, match="unknown output file"):
        download_name(file="map.svg", scenario="x", on=ON)
    with pytest.raises(ValueError, match="tier="):
        download_name(file="map.pdf", scenario="x", on=ON)


def test_report_files_makes_a_map_per_tier_evaluated_and_the_atlas() -> None:
    ws, sc = line_case()
    before = sc.stations.copy()
    lon, lat = ws.network.node_lon, ws.network.node_lat
    sc.add_station(tier="village", lon=float(lon[25]), lat=float(lat[25]))
    from planner.workspace.scenario import station_changes

    changes = station_changes(sc.stations, baseline=before)
    wanted = ["map.png", "map.pdf", "atlas.pdf", "map_village.png", "map_county.png"]
    files = report_files(ws, sc.stations, include=wanted, tiers=(Tier.VILLAGE, Tier.TOWNSHIP), changes=changes,
                         title="线路", map_tier="township")  # fmt: skip
    # no county map: the county tier was not evaluated
    assert list(files) == ["map.png", "map.pdf", "atlas.pdf", "map_village.png"]
    assert len(re.findall(rb"/Type\s*/Page\b", files["atlas.pdf"])) == 2
    assert files["map.png"].startswith(b"\x89PNG") and files["map_village.png"].startswith(b"\x89PNG")
    assert files["map.png"] != files["map_village.png"]  # map.png is the township's


def test_every_spreadsheet_file_holds_the_names_as_text_and_the_rest_keeps_them(tmp_path: Path) -> None:
    """Names that are formulas, markup or odd file names: quoted in the CSVs and workbook, raw in JSON and GeoPackage.

    On the main of before issue 14: 76 formula cells in report.xlsx; demand.csv 701, gaps.csv 247,
    stations.csv 126 and areas.csv 29 cells a spreadsheet reads as formulas.
    """
    ws, sc = named_county(label=FORMULAS[0])
    result = ws.evaluate(sc.stations)
    sheets = ("report.xlsx", "demand.csv", "areas.csv", "gaps.csv", "stations.csv")
    files = report_files(ws, sc.stations, result=result, include=(*sheets, "summary.json", "coverage.gpkg"))
    assert [c.coordinate for c in workbook_cells(files["report.xlsx"]) if c.data_type == "f"] == []
    tables = {"demand.csv": demand_table(result), "areas.csv": result.areas, "gaps.csv": result.gaps,
              "stations.csv": result.stations}  # fmt: skip
    for name, frame in tables.items():
        rows = csv_rows(files[name])
        assert len(rows) == len(frame) + 1 and {len(r) for r in rows} == {frame.shape[1]}, name  # no row split
        assert not formula_text(rows), name
        col = "township" if name == "areas.csv" else "name"
        got = [r[rows[0].index(col)] for r in rows[1:]]
        assert got == [shown_in_a_sheet(str(v)) for v in frame[col]], name
    summary = json.loads(files["summary.json"])
    assert summary["label"] == FORMULAS[0]  # JSON is data: as given
    path = tmp_path / "coverage.gpkg"
    path.write_bytes(files["coverage.gpkg"])
    stations = pyogrio.read_dataframe(path, layer="站点")
    assert list(stations["name"].fillna("")) == list(result.stations["name"])
