"""Exports: the workbook, CSV and GeoPackage bytes open back with the expected content."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest

from planner.coverage.analyse import CoverageResult
from planner.i18n import get_language, set_language
from planner.report.exports import csv_bytes, excel_workbook, geopackage_bytes, localise, summary_frame
from planner.workspace.scenario import compare
from planner.workspace.workspace import Workspace
from tests.data.hostile import FORMULAS, NAMES
from tests.data.hostile.exports import csv_rows, is_formula_like, named_county, shown_in_a_sheet, workbook_cells


@pytest.fixture(scope="module")
def case() -> tuple[Workspace, CoverageResult, CoverageResult, pd.DataFrame]:
    ws, sc = Workspace.from_demo()
    before = ws.evaluate(sc.stations)
    proposals = ws.propose(sc.stations, tier="village", k=3, solver="greedy").sites
    for _, p in proposals.iterrows():
        sc.add_station(tier="village", lon=float(p["lon"]), lat=float(p["lat"]))
    after = ws.evaluate(sc.stations)
    return ws, before, after, proposals


@pytest.fixture
def english() -> Iterator[None]:
    old = get_language()
    set_language("en")
    yield
    set_language(old)


def _rows(sheet: openpyxl.worksheet.worksheet.Worksheet) -> list[list[Any]]:
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_workbook_sheets_headers_and_numbers(
    case: tuple[Workspace, CoverageResult, CoverageResult, pd.DataFrame],
) -> None:
    ws, before, after, proposals = case
    data = excel_workbook(result=after, proposals=proposals, comparison=compare(before, after), label=ws.label)
    assert data[:2] == b"PK"
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["汇总", "乡镇", "缺口", "站点", "可达性", "公平性", "建议站点", "方案对比"]
    summ = wb["汇总"]
    rows = _rows(summ)
    assert "程序生成" in str(rows[0][0]) and ws.label in str(rows[0][0])
    assert rows[1][:3] == ["层级", "出行方式", "服务圈（分钟）"]
    assert "覆盖人口" in rows[1] and "人口覆盖率" in rows[1] and "圈外人口" in rows[1]
    assert summ.freeze_panes == "A3"
    header = rows[1]
    by_tier = {r[0]: dict(zip(header, r, strict=True)) for r in rows[2:]}
    assert set(by_tier) == {"县级", "乡镇（街道）", "村（社区）", "企业（职工之家）"}
    # independent check from the per-demand table
    d = after.demand[after.demand["tier"] == "village"]
    cov = d["covered"].fillna(False).astype(bool)
    v = by_tier["村（社区）"]
    assert v["覆盖人口"] == pytest.approx(float(d.loc[cov, "population"].sum()))
    assert v["人口"] == pytest.approx(float(d["population"].sum()))
    assert v["人口覆盖率"] == pytest.approx(d.loc[cov, "population"].sum() / d["population"].sum(), abs=1e-4)
    outside = d["status"].isin(["uncovered", "unreachable", "no_station"])
    assert v["圈外人口"] == pytest.approx(float(d.loc[~cov, "population"].sum()))
    assert v["未覆盖需求点"] == int((~cov).sum())
    assert v["未接入路网人口"] + v["时限内不可达人口"] == pytest.approx(v["圈外人口"])
    assert int(outside.sum()) + int(d["status"].eq("off_network").sum()) == int((~cov).sum())
    assert v["出行方式"] == "步行" and v["服务圈（分钟）"] == 15
    col_pct = header.index("人口覆盖率") + 1
    assert summ.cell(row=3, column=col_pct).number_format.endswith("%")
    assert summ.cell(row=3, column=header.index("人口") + 1).number_format == "#,##0"
    assert summ.column_dimensions["A"].width >= 8
    # townships: per township and tier, populations add up to the tier total
    tw = _rows(wb["乡镇"])
    th = tw[1]
    village_rows = [r for r in tw[2:] if r[th.index("层级")] == "村（社区）"]
    assert sum(float(r[th.index("人口")]) for r in village_rows) == pytest.approx(float(d["population"].sum()))
    # gaps ranked by population
    gp = _rows(wb["缺口"])
    pops = [float(r[gp[1].index("人口")]) for r in gp[2:]]
    assert pops == sorted(pops, reverse=True) and len(pops) == len(after.gaps)
    # proposals and comparison
    pr = _rows(wb["建议站点"])
    assert pr[1][:3] == ["排序", "层级", "候选点编号"]
    assert [r[2] for r in pr[2:]] == list(proposals["site_id"])
    cmp_rows = _rows(wb["方案对比"])
    ch = cmp_rows[1]
    village_cmp = next(r for r in cmp_rows[2:] if r[0] == "村（社区）")
    assert village_cmp[ch.index("覆盖人口变化")] == pytest.approx(proposals["newly_covered_population"].sum())


def test_accessibility_and_equity_sheets_match_the_workspace(
    case: tuple[Workspace, CoverageResult, CoverageResult, pd.DataFrame],
) -> None:
    from planner.coverage.figures import label
    from planner.workspace.access import access_tables

    ws, _before, after, _ = case
    stations = after.stations[["id", "name", "tier", "lon", "lat"]]
    access, equity = access_tables(ws, stations, result=after)
    wb = openpyxl.load_workbook(io.BytesIO(excel_workbook(result=after, access=access, equity=equity)))
    acc = _rows(wb["可达性"])
    head = acc[1]
    assert label("access_value") in head and label("access_normalised") in head and "可达性方法" in head
    village = access[access["tier"] == "village"].reset_index(drop=True)
    got = [r for r in acc[2:] if r[head.index("层级")] == "村（社区）"]
    assert len(got) == len(village)
    assert [r[head.index("可达性方法")] for r in got[:1]] == ["两步移动搜索法（2SFCA）"]
    by_id = {str(r[head.index("编号")]): r for r in got}
    direct = ws.accessibility(stations, tier="village")
    for _, row in direct.head(20).iterrows():
        assert by_id[str(row["id"])][head.index(label("access_value"))] == pytest.approx(row["value"], rel=1e-12)
    eq = _rows(wb["公平性"])
    eh = eq[1]
    county = next(r for r in eq[2:] if r[eh.index("层级")] == "村（社区）" and r[eh.index("乡镇（街道）")] == "全县")
    summary = after.summary["tiers"]["village"]
    pct = eh.index(label("percent_within"))
    assert county[pct] == pytest.approx(summary["percent_population"] / 100, abs=1e-4)
    assert wb["公平性"].cell(row=3, column=pct + 1).number_format.endswith("%")
    assert county[eh.index(label("gini_min"))] == pytest.approx(
        float(ws.equity(after, tier="village")["gini_min"].iloc[0]), rel=1e-12
    )


def test_workbook_without_optional_tables_and_in_english(
    case: tuple[Workspace, CoverageResult, CoverageResult, pd.DataFrame], english: None
) -> None:
    _, _, after, _ = case
    wb = openpyxl.load_workbook(io.BytesIO(excel_workbook(result=after)))
    assert wb.sheetnames == [
        "Summary",
        "Townships",
        "Gaps",
        "Stations",
        "Accessibility",
        "Equity",
        "Proposals",
        "Comparison",
    ]
    rows = _rows(wb["Summary"])
    assert rows[1][:3] == ["Tier", "Travel mode", "Standard (minutes)"]
    assert rows[2][0] == "county" and rows[2][1] == "drive"
    assert _rows(wb["Proposals"])[2][0] == "(none)"
    assert wb["Gaps"]["J3"].value in {"outside the circle", "unreachable", "no station of this tier"}


def test_localise_and_summary_frame(case: tuple[Workspace, CoverageResult, CoverageResult, pd.DataFrame]) -> None:
    _, _, after, _ = case
    s = summary_frame(after)
    assert list(s["tier"]) == ["county", "township", "village", "enterprise"]
    assert (s["covered_population"] <= s["population"]).all()
    zh = localise(s, lang="zh")
    assert zh.columns[0] == "层级" and zh.iloc[0, 0] == "县级"
    odd = localise(pd.DataFrame({"tier": ["??"], "extra": [1]}), lang="en")
    assert list(odd.columns) == ["Tier", "extra"] and odd.iloc[0, 0] == "??"


def test_a_tier_without_demand_says_why_in_workbook_and_geopackage(
    tmp_path: Path, case: tuple[Workspace, CoverageResult, CoverageResult, pd.DataFrame]
) -> None:
    from planner.coverage.figures import no_demand_text

    ws, _, after, _ = case
    residents = Workspace(network=ws.network, demand=ws.demand.drop(columns=["kind"]), config=ws.config)
    loads = ["load_population", "load_demand", "covered_population", "snap_m", "on_network"]
    result = residents.evaluate(after.stations.drop(columns=loads))
    s = summary_frame(result, lang="en")
    assert list(s["note"]) == ["", "", "", no_demand_text("no_enterprise", lang="en")]
    assert summary_frame(after)["note"].eq("").all()  # the demo's enterprises come from its 类型 column
    rows = _rows(openpyxl.load_workbook(io.BytesIO(excel_workbook(result=result, lang="zh")))["汇总"])
    assert rows[1][-1] == "说明" and rows[5][-1] == no_demand_text("no_enterprise", lang="zh")
    path = tmp_path / "x.gpkg"
    path.write_bytes(geopackage_bytes(result=result))
    gp = pyogrio.read_dataframe(path, layer="汇总", read_geometry=False)
    assert gp.set_index("tier").loc["enterprise", "note"] == no_demand_text("no_enterprise", lang="zh")


def test_station_load_reaches_the_workbook_and_the_geopackage(
    tmp_path: Path,
) -> None:
    """The station sheet and layer carry load, capacity, ratio and the flag, under the figures' own labels."""
    from dataclasses import replace

    from planner.coverage import figures
    from planner.report.exports import layer_names
    from planner.settings import Tier

    ws, sc = Workspace.from_demo()  # its own: the module's workspace keeps its config
    ws.config = replace(ws.config, tier_capacity={Tier.VILLAGE: 400.0})
    res = ws.evaluate(sc.stations)
    st = res.stations
    assert st["overloaded"].any() and not st["overloaded"].all()
    wb = openpyxl.load_workbook(io.BytesIO(excel_workbook(result=res)))
    rows = _rows(wb["站点"])
    head = rows[1]
    for k in figures.STATION_FIGURES:
        assert figures.label(k) in head
    got = pd.DataFrame(rows[2:], columns=head)
    assert list(got["编号"].astype(str)) == list(st["id"].astype(str))
    np.testing.assert_allclose(got[figures.label("covered_population")].astype(float), st["covered_population"])
    np.testing.assert_allclose(
        got[figures.label("capacity")].astype(float), st["capacity"].astype(float), equal_nan=True
    )
    ratio = got[figures.label("load_ratio")].astype(float).to_numpy()
    np.testing.assert_allclose(ratio, st["load_ratio"].astype(float), equal_nan=True)
    assert list(got[figures.label("overloaded")]) == list(st["overloaded"])
    cell = wb["站点"].cell(row=3, column=head.index(figures.label("load_ratio")) + 1)
    assert cell.number_format == "0.0%"
    path = tmp_path / "s.gpkg"
    path.write_bytes(geopackage_bytes(result=res))
    layer = pyogrio.read_dataframe(path, layer=layer_names()["stations"])
    np.testing.assert_allclose(layer["load_ratio"].astype(float), st["load_ratio"].astype(float), equal_nan=True)
    assert list(layer["overloaded"].astype(bool)) == list(st["overloaded"])
    summary = summary_frame(res)
    counts = st.groupby("tier")["overloaded"].sum()
    for _, r in summary.iterrows():
        assert r["stations_overloaded"] == int(counts.get(r["tier"], 0))


def test_csv_has_bom_and_round_trips() -> None:
    df = pd.DataFrame({"名称": ["城东街道", "河西村"], "人口": [1200, 3400]})
    data = csv_bytes(df)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    pd.testing.assert_frame_equal(back, df)


def test_geopackage_layers(
    tmp_path: Path, case: tuple[Workspace, CoverageResult, CoverageResult, pd.DataFrame]
) -> None:
    ws, _, after, proposals = case
    iso = ws.isochrones(ws.evaluate(after.stations).stations, tier="village")
    data = geopackage_bytes(result=after, isochrones=iso, areas=ws.areas, proposals=proposals)
    path = tmp_path / "导出.gpkg"
    path.write_bytes(data)
    layers = dict(pyogrio.list_layers(path).tolist())
    assert set(layers) == {"需求点", "站点", "缺口", "服务圈", "乡镇", "建议站点", "汇总", "乡镇统计"}
    assert layers["需求点"] == "Point" and layers["建议站点"] == "Point" and "Polygon" in layers["服务圈"]
    dem = pyogrio.read_dataframe(path, layer="需求点")
    assert len(dem) == len(after.demand)
    assert dem.crs.to_epsg() == 4326
    np.testing.assert_allclose(dem.geometry.x.to_numpy(), after.demand["lon"].to_numpy())
    st = pyogrio.read_dataframe(path, layer="站点")
    assert set(st["id"]) == set(after.stations["id"])
    pr = pyogrio.read_dataframe(path, layer="建议站点")
    assert list(pr["site_id"]) == list(proposals["site_id"])
    assert len(pyogrio.read_dataframe(path, layer="服务圈")) == 3
    minimal = tmp_path / "min.gpkg"
    minimal.write_bytes(geopackage_bytes(result=after))
    assert {str(x[0]) for x in pyogrio.list_layers(minimal)} == {"需求点", "站点", "缺口", "汇总", "乡镇统计"}


def test_population_source_reaches_the_workbook(county: Any, tmp_path: Path) -> None:
    """A demand sheet's 人口来源 column goes through read_demand into demand.csv, the gap sheet and a note."""
    from planner.inputs.tables import read_demand
    from planner.report.exports import demand_table, estimate_note
    from tests.helpers import analyse

    d = county.demand
    codes_in_order = ["osm_tag", "estimate", "estimate_low", "estimate_default", "typical_low_buildings"]
    words = np.array(
        ["OSM标注", "估算", "估算（偏低，请核实）", "估算（类型典型值）", "估算（建筑数据不全，按类型典型值，请核实）"],
        dtype=object,
    )
    k = np.arange(len(d)) % len(words)
    sheet = pd.DataFrame(
        {
            "编号": d["id"],
            "名称": d["name"],
            "人口": d["population"],
            "经度": d["lon"],
            "纬度": d["lat"],
            "人口来源": words[k],
        }
    )
    path = tmp_path / "demand.csv"
    sheet.to_csv(path, index=False, encoding="utf-8-sig")
    demand = read_demand(path)
    codes = dict(zip(demand["id"], demand["population_source"], strict=True))
    assert set(codes.values()) == set(codes_in_order)
    result = analyse(county.network, stations=county.stations, demand=demand, areas=county.townships)
    est = result.summary["population_estimates"]
    assert est["points"] == len(d) and est["estimated_points"] == int((k != 0).sum())
    assert est["flagged_points"] == int((k == 2).sum())
    assert est["typical_points"] == int(np.isin(k, (3, 4)).sum())
    # one note, long for the CLI and the workbook, one line for the app: the same counts
    note, short = estimate_note(result.summary), estimate_note(result.summary, short=True)
    assert note is not None and short is not None and len(short) < len(note)
    for text in (note, short):
        assert f"{est['estimated_points']} " in text and f"{est['typical_points']} 个按" in text, text
    table = demand_table(result)
    assert (table["population_source"] == table["id"].map(codes)).all()
    wb = openpyxl.load_workbook(io.BytesIO(excel_workbook(result=result)))
    gp = _rows(wb["缺口"])
    header = gp[1]
    assert "人口来源" in header and len(result.gaps)
    shown = [r[header.index("人口来源")] for r in gp[2 : 2 + len(result.gaps)]]
    ids = [r[header.index("编号")] for r in gp[2 : 2 + len(result.gaps)]]
    assert shown == [words[codes_in_order.index(codes[i])] for i in ids]
    for name in ("汇总", "缺口"):  # the note sits in the title row: the rows below stay one table
        assert "人口为估算值" in str(_rows(wb[name])[0][0]) and note in str(_rows(wb[name])[0][0]), name
    # without the column: no empty 人口来源 column, no note
    plain = analyse(county.network, stations=county.stations, demand=county.demand, areas=county.townships)
    assert "population_estimates" not in plain.summary and "population_source" not in demand_table(plain)
    assert estimate_note(plain.summary, short=True) is None
    wb = openpyxl.load_workbook(io.BytesIO(excel_workbook(result=plain)))
    assert "人口来源" not in _rows(wb["缺口"])[1]
    assert "人口为估算值" not in str(_rows(wb["汇总"])[0][0])


# ----------------------------------------------------------------------------- hostile names


@pytest.fixture(scope="module")
def named() -> tuple[Workspace, CoverageResult]:
    """The demo county with every name a payload (formulas, markup, odd file names), labelled by a formula."""
    ws, sc = named_county(label=FORMULAS[0])
    return ws, ws.evaluate(sc.stations)


def test_workbook_writes_names_as_text_never_as_formulas(named: tuple[Workspace, CoverageResult]) -> None:
    """On the main of before issue 14 this workbook held 76 formula cells (乡镇 10, 缺口 66), a DDE command too."""
    ws, result = named
    cells = workbook_cells(excel_workbook(result=result, label=ws.label))
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    text = [c.value for c in cells if isinstance(c.value, str)]
    assert all(not is_formula_like(v) for v in text)
    assert all(c.data_type == "s" for c in cells if isinstance(c.value, str))
    shown = {v.replace("\n", "\r") for v in text}  # XML stores a carriage return as a line feed
    townships = set(result.areas["township"])
    assert {p for p in NAMES if p in townships} >= set(FORMULAS)  # every formula names a township
    for p in townships:
        assert shown_in_a_sheet(p) in shown, p
    gap_names = set(result.gaps["name"])
    assert {shown_in_a_sheet(p) for p in gap_names if p} <= shown  # an empty name is an empty cell
    assert any(str(v).startswith(shown_in_a_sheet(FORMULAS[0])) for v in text)  # the title row's label


def test_csv_bytes_quotes_formulas_and_keeps_rows_whole() -> None:
    """``\\r=1+1`` used to start a row of its own (its first cell a formula) in any spreadsheet."""
    frame = pd.DataFrame({"name": list(NAMES), "n": np.arange(len(NAMES)) - 3.0, FORMULAS[2]: 1})
    rows = csv_rows(csv_bytes(frame))
    assert rows[0] == ["name", "n", shown_in_a_sheet(FORMULAS[2])]
    assert [r[0] for r in rows[1:]] == [shown_in_a_sheet(p) for p in NAMES]
    assert [float(r[1]) for r in rows[1:]] == list(np.arange(len(NAMES)) - 3.0)  # -3.0 is a number, not quoted


def test_geopackage_keeps_the_names_as_they_are(named: tuple[Workspace, CoverageResult]) -> None:
    _ws, result = named
    data = geopackage_bytes(result=result)
    path = Path(tempfile.mkdtemp(prefix="planner-test-")) / "c.gpkg"
    try:
        path.write_bytes(data)
        demand = pyogrio.read_dataframe(path, layer="需求点")
        stations = pyogrio.read_dataframe(path, layer="站点")
        townships = pyogrio.read_dataframe(path, layer="乡镇统计", read_geometry=False)
    finally:
        path.unlink()
        path.parent.rmdir()
    assert set(demand["name"].fillna("")) == set(result.demand["name"])
    assert set(stations["name"].fillna("")) == set(result.stations["name"]) and set(FORMULAS) <= set(stations["name"])
    assert set(townships["township"].fillna("")) == set(result.areas["township"])
