"""Tests for planner.inputs.columns: the column report of every reader, its wording and the generated page."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from planner.i18n import set_language
from planner.inputs.columns import ColumnReport, column_report, likely_column, page_text
from planner.inputs.tables import COLUMN_SPECS, DEMAND_COLUMNS, STATION_COLUMNS, read_demand, read_table

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    set_language("zh")
    yield
    set_language("zh")


def _csv(tmp_path: Path, header: str, row: str, name: str = "d.csv") -> Path:
    path = tmp_path / name
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    return path


def _demand_report(tmp_path: Path, header: str, row: str) -> ColumnReport:
    return read_table(_csv(tmp_path, header, row), kind="demand").columns


def test_used_columns_name_the_header_taken(tmp_path: Path) -> None:
    report = _demand_report(tmp_path, "编号,村庄名称,人口,经度,纬度,备注", "d1,上清村,1200,117.05,28.25,")
    assert report.used == (
        ("id", "编号"),
        ("name", "村庄名称"),
        ("population", "人口"),
        ("lon", "经度"),
        ("lat", "纬度"),
    )
    assert report.ignored == ("备注",) and report.hints == () and report.warnings == ()
    assert report.lines() == [
        ("info", "需求点表，使用的列：编号、名称 ← 村庄名称、人口、经度、纬度"),
        ("info", "未使用的列：备注"),
    ]
    en = [text for _, text in report.lines(lang="en")]
    assert en[0] == (
        "demand points, columns used: id ← 编号, name ← 村庄名称, population ← 人口, longitude ← 经度, latitude ← 纬度"
    )


def test_missing_name_is_a_warning_with_a_likely_match(tmp_path: Path) -> None:
    report = _demand_report(tmp_path, "编号,村委会,人口,经度,纬度", "d1,上清村,1200,117.05,28.25")
    assert report.hints == (("村委会", "name"),)
    assert report.warnings == (("inputs.columns.no_name_ids", "name"),)
    warnings = [text for level, text in report.lines() if level == "warning"]
    assert warnings[0].startswith("“村委会”列未使用，它是不是名称列？如果是，请把列名改为“名称”")
    assert warnings[1].startswith("没有名称列：各点的名称改用编号。")
    assert report.n_warnings == 2


def test_without_name_and_id_names_come_from_rows(tmp_path: Path) -> None:
    path = _csv(tmp_path, "人口,经度,纬度", "1200,117.05,28.25")
    df, report, _ = read_table(path, kind="demand")
    assert df["name"].tolist() == ["row2"]
    assert report.warnings == (("inputs.columns.no_name_rows", "name"),)
    assert "行号" in report.lines()[-1][1]


def test_missing_population_is_in_the_report_and_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _csv(tmp_path, "名称,经度,纬度", "上清村,117.05,28.25")
    with caplog.at_level(logging.INFO, logger="planner"):
        read_demand(path)
    report = read_table(path, kind="demand").columns
    assert report.warnings == (("inputs.columns.no_population", "population"),)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [f"{path}：{report.lines()[-1][1]}"]
    assert "没有人口列：每个需求点按 1 计" in warned[0]


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("村委会名称", "name"),
        ("企业全称", "name"),
        ("行政村", "name"),
        ("2023年末人口", "population"),
        ("乡镇人口", "population"),  # 乡镇 and 人口: a population, of the township
        ("所在乡镇", "township"),
        ("所属乡镇代码", "township"),
        ("行政区划代码", "id"),
        ("东经", None),
        ("备注", None),
    ],
)
def test_likely_column_of_an_unknown_header(header: str, column: str | None) -> None:
    assert likely_column(header, DEMAND_COLUMNS) == column


def test_no_hint_for_a_column_already_found(tmp_path: Path) -> None:
    report = _demand_report(tmp_path, "名称,村委会名称,人口,经度,纬度", "上清村,上清村委会,1200,117.05,28.25")
    assert report.ignored == ("村委会名称",) and report.hints == ()
    assert likely_column("村委会名称", DEMAND_COLUMNS, exclude=("name",)) is None


def test_station_error_keeps_the_report_and_suggests_the_likely_header(tmp_path: Path) -> None:
    from planner.inputs._validate import InputProblemsError

    path = _csv(tmp_path, "编号,站点全称,层级,经度,纬度", "S1,甲站,村,117.05,28.25", name="s.csv")
    with pytest.raises(InputProblemsError) as exc:
        read_table(path, kind="stations")
    assert "“站点全称”列是不是它" in exc.value.message("zh")
    assert exc.value.columns is not None
    assert exc.value.columns.hints == (("站点全称", "name"),)


def test_areas_and_candidates_have_reports(tmp_path: Path) -> None:
    ring = [[117.0, 28.0], [117.1, 28.0], [117.1, 28.1], [117.0, 28.0]]
    feature = {"type": "Feature", "properties": {"乡镇名称": "塘湾镇", "面积": 3},
               "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip
    areas = tmp_path / "areas.geojson"
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    gdf, report, _ = read_table(areas, kind="areas")
    assert gdf["name"].tolist() == ["塘湾镇"]
    assert report.used == (("name", "乡镇名称"),) and report.ignored == ("面积",)
    cands = _csv(tmp_path, "地点,成本价格,经度,纬度", "村部,3,117.05,28.25", name="c.csv")
    report = read_table(cands, kind="candidates").columns
    assert report.header("name") == "地点" and report.hints == (("成本价格", "cost"),)
    with pytest.raises(ValueError, match="unknown table kind"):
        read_table(cands, kind="roads")


def test_report_of_headers_alone() -> None:
    report = column_report(
        file="x.csv", kind="stations", headers=["名称", "", "层级", "站点层级"], specs=STATION_COLUMNS,
        found={"name": 0, "tier": 2},
    )  # fmt: skip
    assert report.ignored == ("站点层级",) and report.duplicates == (("站点层级", "tier"),)
    assert report.lines()[1] == ("info", "未使用的列：站点层级（也可作层级，已用“层级”）")
    with pytest.raises(ValueError, match="unknown table kind"):
        column_report(file="x", kind="roads", headers=[], specs=STATION_COLUMNS, found={})


def test_headers_from_files_are_data(tmp_path: Path) -> None:
    # a header is shown as written, never interpreted ({} placeholders, markup)
    report = _demand_report(tmp_path, "名称,{population}<b>,人口,经度,纬度", "上清村,x,1200,117.05,28.25")
    assert report.lines()[1] == ("info", "未使用的列：{population}<b>")


def test_inputs_page_is_generated_from_the_specs() -> None:
    page = (ROOT / "docs" / "inputs.md").read_text("utf-8")
    assert page == page_text()
    for specs in COLUMN_SPECS.values():
        for spec in specs:
            assert all(f"`{alias}`" in page for alias in spec.aliases)
    assert "`村/社区`" in page and "`乡镇（街道）`" in page
