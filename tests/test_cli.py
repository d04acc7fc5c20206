"""The ``planner`` command: demo run, outputs, parameters and clean failures."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import pytest

from planner.cli import LogFormatter, main
from planner.cli._interrupt import GRACE_S
from planner.i18n import set_language, t
from tests.data.hostile import FORMULAS
from tests.data.hostile.exports import csv_rows, formula_text, shown_in_a_sheet, workbook_cells, write_named_inputs
from tests.data.hostile.faults import ctrl_c_script, small_disk


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--out", str(out)]) == 0
    set_language("zh")
    return out


def test_demo_outputs(demo_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demand = pd.read_csv(demo_run / "demand.csv", encoding="utf-8-sig", dtype={"id": str, "station_id": str})
    assert list(demand.columns[:6]) == ["id", "tier", "minutes", "station_id", "covered", "snap_m"]
    assert set(demand["tier"]) == {"county", "township", "village", "enterprise"}
    summary = json.loads((demo_run / "summary.json").read_text(encoding="utf-8"))
    assert "程序生成" in summary["label"]
    for tier, s in summary["tiers"].items():
        rows = demand[demand["tier"] == tier]
        assert s["demand"] == len(rows)
        assert s["covered"] == int((rows["covered"] == True).sum())  # noqa: E712
        assert 0 < s["percent_population"] < 100  # the demo has real gaps in every tier
        assert {"mode", "minutes", "speeds_kph", "population", "covered_population"} <= set(s)
    areas = pd.read_csv(demo_run / "areas.csv", encoding="utf-8-sig")
    assert {"township", "tier", "percent_population"} <= set(areas.columns)
    assert areas["township"].nunique() >= 10
    layers = {name for name, _ in pyogrio.list_layers(demo_run / "coverage.gpkg")}
    assert {"需求点", "站点", "服务圈"} <= layers
    iso = pyogrio.read_dataframe(demo_run / "coverage.gpkg", layer="服务圈")
    assert len(iso) == 12 and iso.geometry.is_valid.all()  # 4 tiers × 3 intervals
    assert (demo_run / "input" / "roads.gpkg").exists()


def test_coverage_on_files_with_overrides_in_english(
    demo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inp = demo_run / "input"
    out = tmp_path / "o"
    code = main(
        [
            "--lang", "en", "coverage", "--network", str(inp / "roads.gpkg"), "--stations", str(inp / "stations.csv"),
            "--demand", str(inp / "demand.csv"), "--out", str(out), "--tier", "村", "--mode", "bike",
            "--minutes", "10", "--no-isochrones",
        ]
    )  # fmt: skip
    set_language("zh")
    assert code == 0
    text = capsys.readouterr().out
    assert "village / community" in text and "bicycle" in text
    assert f"{inp / 'demand.csv'}: demand points, columns used: id ← 编号, name ← 名称" in text
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert list(s["tiers"]) == ["village"]
    assert s["tiers"]["village"]["mode"] == "bike" and s["tiers"]["village"]["minutes"] == 10


def test_bad_input_exit_2_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "stations.csv"
    bad.write_text("名称,层级,经度\n甲,村,117\n", encoding="utf-8")
    out = tmp_path / "never"
    code = main(["coverage", "--network", str(tmp_path / "none.osm"), "--stations", str(bad), "--demand", str(bad),
                 "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "none.osm" in err and "Traceback" not in err
    assert not out.exists()


def test_failed_run_keeps_previous_outputs(demo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp = demo_run / "input"
    out = tmp_path / "keep"
    args = ["coverage", "--network", str(inp / "roads.gpkg"), "--stations", str(inp / "stations.csv"),
            "--demand", str(inp / "demand.csv"), "--out", str(out), "--no-isochrones", "--tier", "county"]  # fmt: skip
    assert main(args) == 0
    before = (out / "summary.json").read_bytes()
    broken = tmp_path / "stations.csv"
    broken.write_text("编号,名称,层级,经度,纬度\nX1,甲,省级,116.2,27.4\n", encoding="utf-8")
    args[args.index(str(inp / "stations.csv"))] = str(broken)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "省级" in err and "层级" in err
    assert (out / "summary.json").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".keep")]  # no staging folder left


def test_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path / "x"), "--tier", "省级"]) == 2
    assert "省级" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path / "x"), "--mode", "boat"]) == 2
    assert main(["demo", "--out", str(tmp_path / "x"), "--minutes", "-3"]) == 2
    cfg = tmp_path / "c.toml"
    cfg.write_text("[standards.village]\nminutes = 'abc'\n", encoding="utf-8")
    assert main(["demo", "--out", str(tmp_path / "x"), "--config", str(cfg)]) == 2
    assert main(["demo", "--out", str(tmp_path / "x"), "--tier-demand", "enterprise=everyone"]) == 2
    assert "everyone" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_gcj02_sheet_is_flagged(demo_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from planner.inputs.coords import from_wgs84

    inp = demo_run / "input"
    st = pd.read_csv(inp / "stations.csv", encoding="utf-8-sig")
    st["经度"], st["纬度"] = from_wgs84(st["经度"].to_numpy(), st["纬度"].to_numpy(), system="gcj02")
    shifted = tmp_path / "高德坐标站点.csv"
    st.to_csv(shifted, index=False, encoding="utf-8-sig")
    args = ["coverage", "--network", str(inp / "roads.gpkg"), "--stations", str(shifted),
            "--demand", str(inp / "demand.csv"), "--out", str(tmp_path / "o"), "--no-isochrones"]  # fmt: skip
    with caplog.at_level("WARNING", logger="planner"):
        code = main(args)
    assert "--stations-coords gcj02" in caplog.text  # the stations file's own option
    assert code in (0, 2)  # some stations may now be off-network (an error naming them), never a traceback
    caplog.clear()
    with caplog.at_level("WARNING", logger="planner"):
        assert main([*args[:4], str(shifted), *args[5:], "--stations-coords", "gcj02"]) == 0
    assert "-coords" not in caplog.text


def _amap_stations(demo_run: Path, tmp_path: Path) -> Path:
    """The demo's station sheet as copied from Amap (GCJ-02); its demand sheet stays WGS-84."""
    from planner.inputs.coords import from_wgs84

    st = pd.read_csv(demo_run / "input" / "stations.csv", encoding="utf-8-sig")
    st["经度"], st["纬度"] = from_wgs84(st["经度"].to_numpy(), st["纬度"].to_numpy(), system="gcj02")
    path = tmp_path / "高德站点.csv"
    st.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.9f")
    return path


def test_per_file_coords_convert_only_their_file(
    demo_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inp = demo_run / "input"
    amap = _amap_stations(demo_run, tmp_path)
    base = ["coverage", "--network", str(inp / "roads.gpkg"), "--stations", str(amap), "--demand",
            str(inp / "demand.csv"), "--areas", str(inp / "townships.geojson"), "--no-isochrones"]  # fmt: skip
    demo = json.loads((demo_run / "summary.json").read_text(encoding="utf-8"))
    for flags in (["--stations-coords", "gcj02"], ["--coords", "gcj02", "--demand-coords", "wgs84"]):
        out = tmp_path / "_".join(flags)
        caplog.clear()
        with caplog.at_level("WARNING", logger="planner"):
            assert main([*base, "--out", str(out), *flags]) == 0
        assert "-coords" not in caplog.text  # nothing to suggest: each file read in its own system
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["inputs"]["coords"]["stations"] == "gcj02" and summary["inputs"]["coords"]["demand"] == "wgs84"
        # the stations are back where the demo put them, the demand points were not moved
        assert {k: s["covered_population"] for k, s in summary["tiers"].items()} == {
            k: s["covered_population"] for k, s in demo["tiers"].items()
        }
        demand = pd.read_csv(out / "demand.csv", encoding="utf-8-sig", dtype={"id": str})
        original = pd.read_csv(demo_run / "demand.csv", encoding="utf-8-sig", dtype={"id": str})
        assert (demand[["lon", "lat"]].to_numpy() == original[["lon", "lat"]].to_numpy()).all()
    # one system for both files moves the WGS-84 demand sheet too: the demand file is named
    caplog.clear()
    with caplog.at_level("WARNING", logger="planner"):
        assert main([*base, "--out", str(tmp_path / "both"), "--coords", "gcj02"]) == 0
    assert "--demand-coords wgs84" in caplog.text and "--stations-coords" not in caplog.text


def test_download_network_option(demo_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.network.load

    calls: list[str] = []

    def fake_download(*, place: str | None = None, bbox: object = None):  # type: ignore[no-untyped-def]
        calls.append(str(place))
        return planner.network.load.load_network(demo_run / "input" / "roads.gpkg")

    monkeypatch.setattr(planner.network.load, "download_network", fake_download)
    inp = demo_run / "input"
    code = main(["coverage", "--network", "download:示例县", "--stations", str(inp / "stations.csv"),
                 "--demand", str(inp / "demand.csv"), "--out", str(tmp_path / "o"), "--no-isochrones",
                 "--tier", "village"])  # fmt: skip
    assert code == 0 and calls == ["示例县"]


def test_station_isochrones_layer(tmp_path) -> None:
    from planner.report.exports import layer_names

    out = tmp_path / "demo"
    assert main(["demo", "--tier", "township", "--station-isochrones", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    layer = pyogrio.read_dataframe(out / "coverage.gpkg", layer=layer_names()["station_isochrones"])
    assert len(layer) == summary["tiers"]["township"]["stations"] - summary["tiers"]["township"]["stations_off_network"]
    assert set(layer["tier"]) == {"township"} and layer.geometry.is_valid.all() and not layer.geometry.is_empty.any()


def test_maps_option_writes_a_printed_map_per_tier_and_the_atlas(
    tmp_path: Path, demo_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    from PIL import Image

    out = tmp_path / "maps"
    assert main(["demo", "--maps", "--out", str(out)]) == 0
    names = ["map_county.png", "map_enterprise.png", "map_township.png", "map_village.png"]
    assert sorted(p.name for p in out.glob("map_*.png")) == names
    assert "map_enterprise.png、atlas.pdf）" in capsys.readouterr().out  # the files written are listed
    for name in names:
        with Image.open(out / name) as im:
            assert im.format == "PNG" and im.width > 800
    pdf = (out / "atlas.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 4  # a page per tier
    # without --maps: no printed maps (scripts rely on the folder's contents)
    assert not list(demo_run.glob("map_*.png")) and not (demo_run / "atlas.pdf").exists()


# ----------------------------------------------------------------------------- demand kinds
@pytest.fixture(scope="module")
def small_sheets(county, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """The small county's files; its demand sheet also without 类型, and its enterprises as a file of their own."""
    from planner.demo.county import write_demo

    tmp = tmp_path_factory.mktemp("kinds")
    paths = write_demo(tmp, county=county)
    sheet = pd.read_csv(paths["demand"], encoding="utf-8-sig", dtype={"编号": str})
    is_ent = sheet["类型"] == "企业"
    sheet.drop(columns=["类型"]).to_csv(tmp / "no_kinds.csv", index=False, encoding="utf-8-sig")
    sheet[~is_ent].drop(columns=["类型"]).to_csv(tmp / "residents.csv", index=False, encoding="utf-8-sig")
    sheet[is_ent].drop(columns=["类型"]).to_csv(tmp / "enterprises.csv", index=False, encoding="utf-8-sig")
    return {**paths, "no_kinds": tmp / "no_kinds.csv", "residents": tmp / "residents.csv",
            "enterprises": tmp / "enterprises.csv", "tmp": tmp}  # fmt: skip


def _coverage(sheets: dict[str, Path], out: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    argv = ["coverage", "--network", str(sheets["roads"]), "--stations", str(sheets["stations"]), "--out", str(out),
            "--no-isochrones", *extra]  # fmt: skip
    assert main(argv) == 0
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_demand_without_kinds_leaves_the_enterprise_tier_empty_and_says_why(
    small_sheets: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    n = len(pd.read_csv(small_sheets["no_kinds"], encoding="utf-8-sig"))
    s = _coverage(small_sheets, small_sheets["tmp"] / "o1", "--demand", str(small_sheets["no_kinds"]))
    printed = capsys.readouterr().out
    ent = s["tiers"]["enterprise"]
    assert (ent["demand"], ent["percent_population"]) == (0, None)  # not every village counted as an enterprise
    assert ent["no_demand_reason"] == "no_enterprise"
    assert s["tiers"]["village"]["demand"] == n  # every row is residents
    from planner.coverage.figures import no_demand_text

    assert "无类型列" in s["demand_kinds"] and "企业（职工之家）层级无需求点" in s["demand_kinds"]
    assert f"注：企业（职工之家）：{no_demand_text('no_enterprise')}" in printed
    assert "--tier-demand enterprise=all" in printed
    # "the enterprise tier serves everyone"
    s_all = _coverage(
        small_sheets, small_sheets["tmp"] / "o2", "--demand", str(small_sheets["no_kinds"]),
        "--tier-demand", "enterprise=all",
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert s_all["tiers"]["enterprise"]["demand"] == n and s_all["tiers"]["enterprise"]["no_demand_reason"] is None
    assert s_all["parameters"]["tier_demand"]["enterprise"] == "all"
    assert "注：" not in printed
    wb = pd.read_excel(small_sheets["tmp"] / "o1" / "report.xlsx", sheet_name="汇总", header=1)
    assert wb.set_index("层级").loc["企业（职工之家）", "说明"] == no_demand_text("no_enterprise")


def test_enterprises_option(small_sheets: dict[str, Path]) -> None:
    ents = pd.read_csv(small_sheets["enterprises"], encoding="utf-8-sig", dtype={"编号": str})
    s = _coverage(
        small_sheets, small_sheets["tmp"] / "o3", "--demand", str(small_sheets["residents"]),
        "--enterprises", str(small_sheets["enterprises"]),
    )  # fmt: skip
    assert s["tiers"]["enterprise"]["demand"] == len(ents)
    assert s["tiers"]["enterprise"]["population"] == pytest.approx(ents["人口"].sum())
    assert s["inputs"]["enterprises"] == str(small_sheets["enterprises"])
    demand = pd.read_csv(small_sheets["tmp"] / "o3" / "demand.csv", encoding="utf-8-sig", dtype={"id": str})
    assert sorted(demand.loc[demand["tier"] == "enterprise", "id"]) == sorted(ents["编号"])
    assert not set(ents["编号"]) & set(demand.loc[demand["tier"] == "village", "id"])


@pytest.mark.shared
def test_guixi_enterprise_tier_is_not_made_of_villages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Real 贵溪 sheets from ``planner extract``, without 类型 and without names: no village becomes an enterprise."""
    from tests.conftest import shared_path

    osm = shared_path("data", "guixi_center.osm")
    sheets = tmp_path / "sheets"
    assert main(["extract", "--osm", str(osm), "--out", str(sheets)]) == 0
    demand = pd.read_csv(sheets / "demand.csv", encoding="utf-8-sig", dtype=str)
    variants = {"names": demand.drop(columns=["类型"]), "no_names": demand[["编号", "人口", "经度", "纬度"]]}
    for name, sheet in variants.items():
        path = tmp_path / f"{name}.csv"
        sheet.to_csv(path, index=False, encoding="utf-8-sig")
        argv = ["coverage", "--network", str(osm), "--stations", str(sheets / "stations.csv"), "--demand", str(path),
                "--allow-off-network", "--no-isochrones", "--tier", "enterprise"]  # fmt: skip
        assert main([*argv, "--out", str(tmp_path / name)]) == 0
        ent = json.loads((tmp_path / name / "summary.json").read_text("utf-8"))["tiers"]["enterprise"]
        assert ent["demand"] == 0, (name, ent["demand"], ent["percent_population"])
        assert ent["no_demand_reason"] == "no_enterprise", name
        assert main([*argv, "--out", str(tmp_path / f"{name}_all"), "--tier-demand", "enterprise=all"]) == 0
        ent = json.loads((tmp_path / f"{name}_all" / "summary.json").read_text("utf-8"))["tiers"]["enterprise"]
        assert ent["demand"] == len(demand) and ent["no_demand_reason"] is None
    assert "无需求点" in capsys.readouterr().out


# ----------------------------------------------------------------------------- log lines
def test_log_lines_are_in_the_chosen_language() -> None:
    import logging

    from planner.cli import LogFormatter

    record = logging.LogRecord(
        "planner.workspace.workspace", logging.WARNING, __file__, 1, "demand.csv：第 3 行", None, None
    )
    assert LogFormatter().format(record) == "警告：demand.csv：第 3 行"
    assert LogFormatter(names=True).format(record) == "警告：demand.csv：第 3 行 [planner.workspace.workspace]"
    set_language("en")
    try:
        assert LogFormatter().format(record) == "warning: demand.csv：第 3 行"
    finally:
        set_language("zh")


def test_the_command_logs_without_english_level_names(tmp_path: Path) -> None:
    """A real run (own process, so the command configures logging): 警告：…, no ``WARNING planner…:``."""
    import subprocess
    import sys

    from planner.demo.county import write_demo

    paths = write_demo(tmp_path / "in")
    demand = pd.read_csv(paths["demand"], encoding="utf-8-sig", dtype=str).drop(columns=["人口"])
    demand.to_csv(tmp_path / "no_population.csv", index=False, encoding="utf-8-sig")
    argv = ["coverage", "--network", str(paths["roads"]), "--stations", str(paths["stations"]),
            "--demand", str(tmp_path / "no_population.csv"), "--out", str(tmp_path / "out"),
            "--no-isochrones"]  # fmt: skip
    code = f"from planner.cli import main; raise SystemExit(main({argv!r}))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith("警告：") and "no_population.csv：没有人口列" in run.stderr, run.stderr
    assert "WARNING" not in run.stderr and "planner.inputs" not in run.stderr


# ----------------------------------------------------------------------------- help and argparse's words
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
SUBCOMMAND_NAMES = ("coverage", "demo", "site", "extract", "check")


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    set_language("zh")
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", SUBCOMMAND_NAMES)
def test_help_is_chinese_by_default(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = _help([command, "--help"], capsys)
    assert text.startswith("用法：planner " + command) and "显示此帮助信息并退出" in text and "选项" in text
    for english in ("usage:", "options:", "show this help", "output folder", "FILE", "coordinate system"):
        assert english not in text, english


@pytest.mark.parametrize("command", SUBCOMMAND_NAMES)
def test_help_in_english_has_no_chinese(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["--lang", "en", command, "--help"], capsys)
    assert text.startswith("usage: planner " + command) and "show this help message and exit" in text
    assert not CJK.findall(text), CJK.findall(text)


def test_top_level_help_names_the_language_option_and_variable(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["--help"], capsys)
    assert "--lang" in text and "PLANNER_LANG" in text and "子命令" in text and "usage" not in text
    english = _help(["--lang", "en", "--help"], capsys)
    assert "PLANNER_LANG" in english and "commands:" in english and not CJK.findall(english)


def test_language_from_the_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PLANNER_LANG", "en")
    assert _help(["check", "--help"], capsys).startswith("usage: planner check")
    # --lang wins over the variable
    assert _help(["--lang", "zh", "check", "--help"], capsys).startswith("用法：planner check")
    monkeypatch.setenv("PLANNER_LANG", "fr")
    assert main(["check", "x.csv"]) == 2
    assert "PLANNER_LANG=fr" in capsys.readouterr().err


def test_argparse_errors_follow_the_language(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["coverage", "--coords", "utm"])
    err = capsys.readouterr().err
    assert "planner coverage：错误：" in err and "无效的选项值：'utm'" in err and "invalid choice" not in err
    with pytest.raises(SystemExit):
        main(["site", "--out", "x"])
    err = capsys.readouterr().err
    assert "缺少必需的参数：--demand" in err and "required" not in err
    with pytest.raises(SystemExit):
        main(["--lang", "en", "coverage", "--minutes", "ten"])
    set_language("zh")
    err = capsys.readouterr().err
    assert "argument --minutes: invalid float value: 'ten'" in err and not CJK.findall(err)
    with pytest.raises(SystemExit):
        main(["nonsense"])
    assert "无效的选项值：'nonsense'" in capsys.readouterr().err


def test_argparse_is_left_as_it_was_after_the_command() -> None:
    import argparse
    import gettext

    main(["--lang", "zh", "check", "--kind", "stations", "--coords", "wgs84", "does-not-exist.csv"])
    set_language("zh")
    assert argparse._ is gettext.gettext  # type: ignore[attr-defined]
    parser = argparse.ArgumentParser(prog="other")
    assert "usage: other" in parser.format_help() and "show this help message" in parser.format_help()


def test_every_argparse_message_has_a_translation() -> None:
    """Each text argparse (this Python's) passes through gettext is in the catalogue, %-fields intact."""
    import argparse
    import ast
    import inspect

    from planner.cli._argparse import ArgparseTranslations

    tr = ArgparseTranslations()
    singular, plural = [], []
    for node in ast.walk(ast.parse(inspect.getsource(argparse))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if node.func.id == "_" and texts:
            singular.append(texts[0])
        elif node.func.id == "ngettext" and len(texts) == 2:
            plural.append((texts[0], texts[1]))
    assert len(singular) > 25 and plural
    percent = re.compile(r"%(?:\([a-z_]+\))?[sr]")
    set_language("zh")
    missing = [m for m in singular if tr.gettext(m) == m]
    assert not missing, missing
    for msg in singular:
        assert sorted(percent.findall(tr.gettext(msg))) == sorted(percent.findall(msg)), msg
    for one, other in plural:
        assert tr.ngettext(one, other, 1) != one and CJK.search(tr.ngettext(one, other, 2))
    set_language("en")
    try:
        assert all(tr.gettext(m) == m for m in singular)
        assert all(tr.ngettext(one, other, 1) == one and tr.ngettext(one, other, 3) == other for one, other in plural)
    finally:
        set_language("zh")


def test_lang_after_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["check", "--lang", "en", "--help"], capsys)
    assert text.startswith("usage: planner check") and not CJK.findall(text)


# ------------------------------------------------------------------- faults (issue 14, part 6)


def _county_args(inp: Path, out: Path, *, stations: Path | None = None) -> list[str]:
    return ["coverage", "--network", str(inp / "roads.gpkg"), "--stations", str(stations or inp / "stations.csv"),
            "--demand", str(inp / "demand.csv"), "--out", str(out), "--no-isochrones", "--tier", "county"]  # fmt: skip


def _previous_run(demo_run: Path, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """An output folder holding a good run, and its files' bytes."""
    out = tmp_path / "out"
    assert main(_county_args(demo_run / "input", out)) == 0
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def _assert_intact(out: Path, before: dict[str, bytes]) -> None:
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging folder or temp file


@pytest.mark.skipif(os.name != "posix", reason="file names are bytes only on POSIX")
def test_a_file_name_that_is_not_utf8_is_shown_not_a_traceback(
    demo_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    named = Path(os.fsdecode(bytes(tmp_path) + b"/st\xff.csv"))  # "st\udcff.csv" in Python
    shutil.copy(demo_run / "input" / "stations.csv", named)
    assert main(_county_args(demo_run / "input", tmp_path / "out", stations=named)) == 0
    assert "st\\xff.csv" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"]["stations"].endswith("st\\xff.csv")
    missing = Path(os.fsdecode(bytes(tmp_path) + b"/nope\xff.csv"))
    assert main(_county_args(demo_run / "input", tmp_path / "o2", stations=missing)) == 2
    err = capsys.readouterr().err
    assert "nope\\xff.csv" in err and "Traceback" not in err


def test_log_lines_show_a_name_that_is_not_utf8() -> None:
    record = logging.LogRecord("planner", logging.WARNING, __file__, 1, "%s: odd", ("st\udcff.csv",), None)
    line = LogFormatter().format(record)
    assert "st\\xff.csv" in line
    line.encode("ascii", "backslashreplace").decode("ascii")  # and no lone surrogate is left to break a stream


def test_a_full_temporary_disk_while_the_geopackage_is_built(
    demo_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out, before = _previous_run(demo_run, tmp_path)
    with small_disk(tmp_path / "tmpdisk") as disk:
        monkeypatch.setattr(tempfile, "tempdir", str(disk))  # the GeoPackage is built in the temporary folder
        code = main(_county_args(demo_run / "input", out))
        assert list(disk.iterdir()) == []
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert t("fault.reason.disk_full") in err and str(disk) in err
    assert "TMPDIR" in err and "--out" not in err  # the fix is about the temporary folder, not the output folder
    _assert_intact(out, before)


@pytest.mark.parametrize(("code", "word"), [(errno.ENOSPC, "disk_full"), (errno.EROFS, "read_only")])
def test_a_disk_that_fills_or_turns_read_only_under_the_output_folder(
    demo_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    code: int,
    word: str,
) -> None:
    out, before = _previous_run(demo_run, tmp_path)
    write_bytes = Path.write_bytes

    def failing_write(self: Path, data: Any) -> int:
        if self.suffix == ".xlsx":  # a later file of the set, after others were written
            raise OSError(code, os.strerror(code), str(self))
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    assert main(_county_args(demo_run / "input", out)) == 2
    err = capsys.readouterr().err
    assert t(f"fault.reason.{word}") in err and t(f"fault.fix.{word}") in err and str(out) in err
    assert "Traceback" not in err
    _assert_intact(out, before)


@pytest.mark.parametrize("fault", ["deleted", "unreadable"])
def test_an_input_that_vanishes_between_check_and_read(
    demo_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    out, before = _previous_run(demo_run, tmp_path)
    stations = tmp_path / "站点.csv"
    shutil.copy(demo_run / "input" / "stations.csv", stations)
    from planner.inputs import _validate

    check_file = _validate.check_file
    read_bytes = Path.read_bytes

    def check_then_lose(path: Any, **kwargs: Any) -> Any:
        checked = check_file(path, **kwargs)
        if Path(path) == stations and fault == "deleted":
            stations.unlink()  # a sync client or a colleague removes it right after the check
        return checked

    def refuse(self: Path) -> bytes:
        if self == stations and fault == "unreadable":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(_validate, "check_file", check_then_lose)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert main(_county_args(demo_run / "input", out, stations=stations)) == 2
    err = capsys.readouterr().err
    reason = t("fault.read_reason.missing" if fault == "deleted" else "fault.read_reason.permission")
    assert str(stations) in err and reason in err and "Traceback" not in err
    _assert_intact(out, before)


def test_ctrl_c_during_a_run_says_interrupted(
    demo_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out, before = _previous_run(demo_run, tmp_path)
    from planner.report import files

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "report_files", interrupted)
    assert main(["--lang", "en", *_county_args(demo_run / "input", out)]) == 130
    set_language("zh")
    err = capsys.readouterr().err
    assert t("fault.interrupted", lang="en") in err and "Traceback" not in err
    _assert_intact(out, before)


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize(
    ("module", "name", "after_calls"),
    [
        ("planner.inputs.tables", "read_table", 0),  # a read stuck in C (a recursive GeoPackage view)
        ("pathlib", "Path.write_bytes", 2),  # a write stuck in C, with the staging folder half full
    ],
)
def test_ctrl_c_ends_a_command_stuck_in_c_code(
    demo_run: Path, tmp_path: Path, module: str, name: str, after_calls: int
) -> None:
    out, before = _previous_run(demo_run, tmp_path)
    marker = tmp_path / "stuck"
    script = ctrl_c_script(tmp_path / "run.py", module=module, name=name, marker=marker, after_calls=after_calls)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path])}
    proc = subprocess.Popen(
        [sys.executable, str(script), *_county_args(demo_run / "input", out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), proc.communicate(timeout=5)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        _stdout, err_bytes = proc.communicate(timeout=15)
        seconds = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = err_bytes.decode("utf-8", "replace")
    assert proc.returncode == 130 and seconds < GRACE_S + 3, (proc.returncode, seconds, err)
    assert t("fault.interrupted", lang="zh") in err and "Traceback" not in err
    marker.unlink()
    (tmp_path / "run.py").unlink()
    _assert_intact(out, before)


def test_coverage_outputs_hold_no_formula_from_hostile_names(tmp_path: Path) -> None:
    """Station, demand and township names that are formulas: no spreadsheet file of ``--out`` holds a formula.

    On the main of before issue 14: report.xlsx held 140 formula cells, demand.csv 701, gaps.csv 247,
    stations.csv 126 and areas.csv 23 cells a spreadsheet reads as formulas.
    """
    paths = write_named_inputs(tmp_path / "in")
    out = tmp_path / "out"
    argv = ["coverage", "--network", str(paths["roads"]), "--stations", str(paths["stations"]),
            "--demand", str(paths["demand"]), "--areas", str(paths["townships"]), "--out", str(out),
            "--no-isochrones"]  # fmt: skip
    assert main(argv) == 0
    made = sorted(out.iterdir())
    assert {p.suffix for p in made} >= {".xlsx", ".csv"}
    for p in made:
        if p.suffix == ".xlsx":
            assert [c.coordinate for c in workbook_cells(p.read_bytes()) if c.data_type == "f"] == [], p.name
        elif p.suffix == ".csv":
            assert formula_text(csv_rows(p.read_bytes())) == [], p.name
    stations = csv_rows((out / "stations.csv").read_bytes())
    names = {r[stations[0].index("name")] for r in stations[1:]}
    assert {shown_in_a_sheet(f) for f in FORMULAS if f.strip() == f} <= names  # the names, quoted
