"""The province's files from county outcomes whose summaries come from real runs of the demo county.

Three "counties" are the generated demo county with different demand rows and stations
(so their populations and rates differ), each run through :func:`report_files` as
``planner coverage`` does; two more failed. Totals are checked against sums computed
here from the counties' own summaries.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pyogrio
import pytest
import shapely

from planner._text import restore_cell
from planner.batch import province, province_maps
from planner.batch.province import write_province_outputs
from planner.batch.tasks import BatchSettings, CountyInputs, CountyOutcome
from planner.coverage.figures import FIGURES, definition, label
from planner.i18n import t
from planner.report.files import report_files
from planner.settings import TIERS, Config
from planner.workspace.workspace import Workspace

HOSTILE = {"990101": "$\\x$", "990102": "<script>alert(1)</script>", "990103": "=1+1"}
FAIL_MESSAGE = '=HYPERLINK("http://example.org","x") 站点表缺少列'


@pytest.fixture(scope="module")
def summaries(demo: tuple[Workspace, Any]) -> list[dict[str, Any]]:
    """Three real county summaries: every k-th demand row and station of each tier (k = 1, 2, 3 / 1, 2, 4)."""
    ws, scenario = demo
    st = scenario.stations
    out = []
    for demand_step, station_step in ((1, 1), (2, 2), (3, 4)):
        county = Workspace(network=ws.network, demand=ws.demand.iloc[::demand_step], config=ws.config, areas=ws.areas)
        stations = st[st.groupby("tier").cumcount() % station_step == 0]
        files = report_files(county, stations, include=("summary.json",), isochrones=False)
        out.append(json.loads(files["summary.json"]))
    return out


@pytest.fixture(scope="module")
def batch(summaries: list[dict[str, Any]], demo: tuple[Workspace, Any]) -> dict[str, Any]:
    ws, _ = demo
    x0, y0 = float(ws.demand["lon"].min()), float(ws.demand["lat"].min())
    x1, y1 = float(ws.demand["lon"].max()), float(ws.demand["lat"].max())
    w, h = x1 - x0, y1 - y0
    boxes = [
        (x0, y0, x1, y1),
        (x1, y0, x1 + w, y1),
        (x0, y1, x1, y1 + h),
        (x1, y1, x1 + w, y1 + h),
        (x1 + w, y0, x1 + 2 * w, y1),
    ]
    polygon = f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0 + 0.3 * w} {y1},{x0} {y0}))"
    names = [*HOSTILE.values(), "失败县", "出错县"]
    counties = [
        CountyInputs(
            code=f"99010{i + 1}",
            name=n,
            roads="r.pbf",
            stations="s.csv",
            demand="d.csv",
            bounds=b,
            boundary_wkt=polygon if i == 0 else None,
        )
        for i, (n, b) in enumerate(zip(names, boxes, strict=True))
    ]
    outcomes = [
        CountyOutcome(code="990101", name=names[0], status="ok", summary=summaries[0]),
        CountyOutcome(code="990102", name=names[1], status="skipped", summary=summaries[1]),
        CountyOutcome(code="990103", name=names[2], status="ok", summary=summaries[2]),
        CountyOutcome(code="990104", name=names[3], status="failed", message=FAIL_MESSAGE),
        CountyOutcome(code="990105", name=names[4], status="error", message="MemoryError: worker died"),
    ]
    return {"counties": counties, "outcomes": outcomes, "polygon": polygon, "boxes": boxes}


SETTINGS = BatchSettings(config=Config(), tiers=TIERS)


@pytest.fixture(scope="module")
def written(batch: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("province")
    return write_province_outputs(
        outcomes=batch["outcomes"], counties=batch["counties"], out_dir=out, settings=SETTINGS, lang="zh",
        extra={"label": "示例省", "seconds": 1.5},
    )  # fmt: skip


def _independent_totals(summaries: list[dict[str, Any]], tier: str) -> dict[str, float]:
    heads = [s["tiers"][tier] for s in summaries]
    eq = [s["equity"][tier] for s in summaries]
    pop = sum(h["population"] for h in heads)
    cov = sum(h["covered_population"] for h in heads)
    return {
        "population": pop,
        "covered_population": cov,
        "outside_population": sum(h["outside_population"] for h in heads),
        "uncovered": sum(h["uncovered"] for h in heads),
        "demand": sum(h["demand"] for h in heads),
        "stations": sum(h["stations"] for h in heads),
        "percent_population": round(100.0 * cov / pop, 2),
        "mean_min": sum(e["mean_min"] * e["population"] for e in eq) / sum(e["population"] for e in eq),
    }


def _sheet_rows(path: Path, sheet: str) -> tuple[list[Any], list[tuple[Any, ...]]]:
    wb = openpyxl.load_workbook(path)
    rows = list(wb[sheet].iter_rows(min_row=2, values_only=True))
    return list(rows[0]), rows[1:]


def test_every_file_is_written(written: dict[str, Path]) -> None:
    expected = {*province.PROVINCE_FILES, *(f"overview_{x}.png" for x in TIERS)}
    assert set(written) == expected
    for tier in TIERS:
        assert written[f"overview_{tier}.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in written["summary.json"].parent.iterdir() if p.name.startswith(".")]


def test_totals_equal_an_independent_recomputation(written: dict[str, Path], summaries: list[dict[str, Any]]) -> None:
    pops = {s["tiers"]["village"]["population"] for s in summaries}
    assert len(pops) == 3  # different populations: a mean of rates would differ from the weighted rate
    summary = json.loads(written["summary.json"].read_text("utf-8"))
    header, rows = _sheet_rows(written["province.xlsx"], t("batch_province.sheet.totals", lang="zh"))
    sheet = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    gpkg = pyogrio.read_dataframe(written["province.gpkg"], layer=t("batch_province.layer.totals", lang="zh"))
    for tier in TIERS:
        want = _independent_totals(summaries, str(tier))
        got = summary["province"][str(tier)]
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-12), (tier, key)
        rates = [s["tiers"][str(tier)]["percent_population"] for s in summaries]
        assert got["percent_population"] != pytest.approx(float(np.mean(rates)), abs=0.01)
        assert got["counties"] == 3
        assert got["p90_min"] is None and got["gini_min"] is None  # no sum of county figures gives them
        row = sheet[t(f"tier.{tier}", lang="zh")]
        assert row[label("population", lang="zh")] == want["population"]
        assert row[label("percent_population", lang="zh")] == pytest.approx(want["percent_population"] / 100.0)
        assert row[label("uncovered", lang="zh")] == want["uncovered"]
        g = gpkg[gpkg["tier"] == str(tier)].iloc[0]
        assert g["covered_population"] == want["covered_population"]


def test_failed_counties_are_listed_and_left_out(written: dict[str, Path]) -> None:
    header, rows = _sheet_rows(written["province.xlsx"], t("batch_province.sheet.failures", lang="zh"))
    assert header == [
        label
        for label in (t(f"batch_province.col.{c}.label", lang="zh") for c in ("code", "name", "status", "message"))
    ]
    by_code = {r[0]: r for r in rows}
    assert set(by_code) == {"990104", "990105"}
    assert by_code["990104"][2] == t("batch_province.status.failed", lang="zh")
    assert by_code["990104"][3] == "'" + FAIL_MESSAGE  # text, not a formula
    assert restore_cell(by_code["990104"][3]) == FAIL_MESSAGE
    _, county_rows = _sheet_rows(written["province.xlsx"], t("batch_province.sheet.counties", lang="zh"))
    assert {r[2] for r in county_rows} == {"990101", "990102", "990103"}
    summary = json.loads(written["summary.json"].read_text("utf-8"))
    assert {f["code"]: f["message"] for f in summary["failures"]}["990104"] == FAIL_MESSAGE
    assert summary["counts"] == {
        "ok": 2,
        "skipped": 1,
        "failed": 1,
        "memory": 0,
        "error": 1,
        "missing": 0,
        "counties": 5,
    }
    assert {c["code"] for c in summary["counties"]} == {"990101", "990102", "990103"}


def test_counties_are_ranked_per_tier_lowest_coverage_first(
    written: dict[str, Path], summaries: list[dict[str, Any]]
) -> None:
    header, rows = _sheet_rows(written["province.xlsx"], t("batch_province.sheet.counties", lang="zh"))
    assert len(rows) == 3 * len(TIERS)
    col = {h: i for i, h in enumerate(header)}
    rate_col, rank_col = col[label("percent_population", lang="zh")], col[label("rank", lang="zh")]
    codes = ["990101", "990102", "990103"]
    for tier in TIERS:
        mine = [r for r in rows if r[0] == t(f"tier.{tier}", lang="zh")]
        rates = {c: s["tiers"][str(tier)]["percent_population"] for c, s in zip(codes, summaries, strict=True)}
        expected_order = sorted(codes, key=lambda c: (rates[c], c))
        assert [r[2] for r in mine] == expected_order  # rows sorted by rank
        for r in mine:
            assert r[rank_col] == 1 + sum(v < rates[r[2]] for v in rates.values())
            assert r[rate_col] == pytest.approx(rates[r[2]] / 100.0)
            assert (
                r[col[label("outside_population", lang="zh")]]
                == summaries[codes.index(r[2])]["tiers"][str(tier)]["outside_population"]
            )


def test_definitions_name_every_column(written: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(written["province.xlsx"])
    defined = {
        r[0] for r in wb[t("batch_province.sheet.definitions", lang="zh")].iter_rows(min_row=3, values_only=True)
    }
    for key in ("counties", "totals", "failures"):
        headers = next(
            wb[t(f"batch_province.sheet.{key}", lang="zh")].iter_rows(min_row=2, max_row=2, values_only=True)
        )
        assert set(headers) <= defined, key
    rows = {
        r[1]: r for r in wb[t("batch_province.sheet.definitions", lang="zh")].iter_rows(min_row=3, values_only=True)
    }
    assert rows["percent_population"][4] == t("batch_province.rule.ratio", lang="zh")
    assert rows["population"][4] == t("batch_province.rule.sum", lang="zh")


def test_hostile_names_are_text_everywhere(written: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(written["province.xlsx"])
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    _, rows = _sheet_rows(written["province.xlsx"], t("batch_province.sheet.counties", lang="zh"))
    names = {r[2]: r[3] for r in rows}
    assert names["990103"] == "'=1+1" and restore_cell(names["990103"]) == "=1+1"
    assert names["990101"] == "$\\x$" and names["990102"] == "<script>alert(1)</script>"
    page = written["overview.html"].read_text("utf-8")
    assert "<script>alert(1)" not in page
    assert "\\u0026lt;script\\u0026gt;alert(1)" in page  # escaped HTML inside the script's JSON
    gdf = pyogrio.read_dataframe(written["province.gpkg"], layer=t("batch_province.layer.counties", lang="zh"))
    assert set(gdf["name"]) >= set(HOSTILE.values())  # the GeoPackage keeps text as it is


def test_geopackage_has_a_county_row_with_figures_per_tier(
    written: dict[str, Path], batch: dict[str, Any], summaries: list[dict[str, Any]]
) -> None:
    layers = dict(pyogrio.list_layers(written["province.gpkg"]))
    name = t("batch_province.layer.counties", lang="zh")
    assert layers[name] == "Polygon"
    gdf = pyogrio.read_dataframe(written["province.gpkg"], layer=name).set_index("code")
    assert len(gdf) == 5
    for code, s in zip(("990101", "990102", "990103"), summaries, strict=True):
        for tier in TIERS:
            assert gdf.loc[code, f"percent_population_{tier}"] == s["tiers"][str(tier)]["percent_population"]
            assert gdf.loc[code, f"uncovered_{tier}"] == s["tiers"][str(tier)]["uncovered"]
    assert np.isnan(gdf.loc["990104", "percent_population_village"])
    assert gdf.loc["990104", "status"] == "failed"
    assert gdf.loc["990101"].geometry.equals_exact(shapely.from_wkt(batch["polygon"]), 1e-9)
    assert gdf.loc["990102"].geometry.equals(shapely.box(*batch["boxes"][1]))


def test_summary_holds_settings_and_extra(written: dict[str, Path]) -> None:
    summary = json.loads(written["summary.json"].read_text("utf-8"))
    assert summary["settings"]["config"] == json.loads(json.dumps(Config().to_dict()))
    assert summary["settings"]["tiers"] == [str(x) for x in TIERS]
    assert summary["seconds"] == 1.5 and summary["label"] == "示例省"
    c1 = next(c for c in summary["counties"] if c["code"] == "990101")
    assert c1["status"] == "ok" and c1["tiers"]["village"]["rank"] in (1, 2, 3)


def test_english_workbook_has_no_chinese_besides_data(batch: dict[str, Any], tmp_path: Path) -> None:
    paths = write_province_outputs(outcomes=batch["outcomes"][3:], counties=batch["counties"][3:], out_dir=tmp_path,
                                   settings=SETTINGS, lang="en")  # fmt: skip
    wb = openpyxl.load_workbook(paths["province.xlsx"])
    names = {c.name for c in batch["counties"]}
    # the figures table's English definitions name Chinese column headers (容量) on purpose
    quoted = {
        definition(f.key, lang="en") for f in FIGURES if re.search(r"[\u4e00-\u9fff]", definition(f.key, lang="en"))
    }
    for ws in wb.worksheets:
        assert not re.search(r"[\u4e00-\u9fff]", ws.title)
        for row in ws.iter_rows(values_only=True):
            for v in row:
                if isinstance(v, str) and v not in names | quoted and "站点表" not in v:
                    assert not re.search(r"[\u4e00-\u9fff]", v), v


def test_nothing_is_written_when_a_file_fails(
    batch: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "summary.json").write_text("earlier", encoding="utf-8")

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(province_maps, "overview_html", broken)
    with pytest.raises(RuntimeError, match="boom"):
        write_province_outputs(
            outcomes=batch["outcomes"], counties=batch["counties"], out_dir=tmp_path, settings=SETTINGS
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]
    assert (tmp_path / "summary.json").read_text("utf-8") == "earlier"
