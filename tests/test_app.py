"""Streamlit AppTest of app.py: the flows that do not need the map component."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from planner.app.text import tm
from planner.coverage import figures
from planner.i18n import set_language, t
from planner.report.exports import SHEETS
from planner.settings import Tier
from planner.workspace.project import load_project
from planner.workspace.scenario import BASELINE_SCENARIO

APP = str(Path(__file__).resolve().parents[1] / "app.py")
AppTest = pytest.importorskip("streamlit.testing.v1").AppTest


@pytest.fixture(scope="module")
def opened():
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _figures(at) -> list[str]:
    return [m.value for m in at.metric]


def _texts(at, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def test_opens_on_the_demo_with_figures(opened):
    at = opened
    assert any(t("demo.label") in x for x in _texts(at, "info"))
    assert at.title[0].value == t("app.title", lang="zh")
    shown = _figures(at)
    assert len(shown) == 12  # 4 tiers x (percent, people outside, uncovered villages)
    # the figures match the summary of the same workspace, computed independently
    summary = at.session_state["ws"].evaluate(at.session_state["scenarios"][at.session_state["current"]].stations)
    village = summary.summary["tiers"]["village"]
    assert shown[6] == f"{village['percent_population']:.1f}%"
    assert shown[8] == str(village["demand"] - village["covered"])
    assert not at.error


def test_first_page_in_two_steps(monkeypatch):
    """Under the app server: map and figures first; the controls once the map reports itself drawn."""
    from planner.app import launcher as appserver

    monkeypatch.setattr(appserver, "TWO_STEP_FIRST_PAGE", True)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(_figures(at)) == 12
    assert at.sidebar.caption[0].value == t("app.controls_loading")
    assert not at.sidebar.toggle and not at.tabs and not at.selectbox  # no controls yet
    assert at.session_state["full_page"] is False
    # what the map's signal does (the component's callback; AppTest cannot run the map)
    at.session_state["map_drawn"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["full_page"] is True
    assert at.sidebar.toggle(key="lang_en").value is False
    assert [tab.label for tab in at.tabs][:2] == [t("app.figures.header"), t("app.prop.header")]
    assert len(_figures(at)) == 12
    assert t("app.controls_loading") not in [c.value for c in at.sidebar.caption]


def test_language_switch(opened):
    at = opened
    at.sidebar.toggle(key="lang_en").set_value(True).run()
    assert at.title[0].value == t("app.title", lang="en")
    assert at.metric[0].label == figures.label("percent_population", lang="en")
    # the language is per thread (session); AppTest calls the widgets' format_func in
    # this thread when it sends the next widget states, so this thread follows the session
    set_language("en")
    try:
        at.sidebar.toggle(key="lang_en").set_value(False).run()
    finally:
        set_language("zh")
    assert at.title[0].value == t("app.title", lang="zh")


def test_changing_minutes_changes_figures(opened):
    at = opened
    before = _figures(at)
    at.number_input(key="minutes_village").set_value(30).run()
    after = _figures(at)
    assert not at.exception and not at.error
    # more minutes: the village percentage rises, other tiers unchanged
    assert float(after[6].rstrip("%")) > float(before[6].rstrip("%"))
    assert after[:6] == before[:6]
    at.number_input(key="minutes_village").set_value(15).run()
    assert _figures(at) == before


def test_bad_upload_shows_a_message_and_keeps_the_scenario(opened):
    at = opened
    before = _figures(at)
    stations_before = at.session_state["scenarios"][at.session_state["current"]].stations.copy()
    at.session_state["staged_uploads"] = {
        "stations": ("stations.csv", "名称,层级\n甲,村\n".encode()),
        "demand": ("demand.csv", b"id,name,population,lon,lat\nD1,a,100,116.2,27.4\n"),
        "network": ("roads.geojson", b'{"type": "FeatureCollection", "features": []}'),
    }
    at.sidebar.button(key="load_uploads").click().run()
    assert not at.exception
    assert at.error, "a bad upload must show an error message"
    assert any(t("app.data.kept") in x for x in _texts(at, "info"))
    assert "Traceback" not in " ".join(_texts(at, "error"))
    assert _figures(at) == before
    after = at.session_state["scenarios"][at.session_state["current"]].stations
    assert after.equals(stations_before)
    assert at.session_state["is_demo"]


def test_too_large_upload_is_refused(opened, monkeypatch):
    at = opened
    big = b"x" * (101 * 1024 * 1024)
    at.session_state["staged_uploads"] = {
        "stations": ("big.csv", big),
        "demand": ("demand.csv", b"id\n"),
        "network": ("roads.osm", b"<osm/>"),
    }
    at.sidebar.button(key="load_uploads").click().run()
    assert any("100 MB" in x for x in _texts(at, "error")), _texts(at, "error")
    assert at.session_state["is_demo"]


def test_proposals_produce_rows_and_can_be_accepted(opened):
    at = opened
    at.sidebar.number_input(key="prop_k").set_value(2).run()
    at.sidebar.button(key="run_proposals").click().run()
    assert not at.exception and not at.error
    props = at.session_state["proposals"]
    assert props is not None and len(props) == 2
    assert list(props["rank"]) == [1, 2]
    assert (props["newly_covered_population"] > 0).all()
    before = _figures(at)
    at.session_state["section"] = t("app.prop.header")  # open the proposals tab (only the open tab is drawn)
    at.run()
    at.button(key="accept_proposal").click().run()
    assert not at.exception
    assert any(tm("app.prop.accepted", rank=1, id="NEW-001") in x for x in _texts(at, "success"))  # Markdown sent
    after = _figures(at)
    assert float(after[6].rstrip("%")) > float(before[6].rstrip("%"))
    assert len(at.session_state["proposals"]) == 1
    # undo restores the figures
    at.button(key="undo").click().run()
    assert _figures(at) == before


def test_scenario_copy_and_compare(opened):
    at = opened
    at.sidebar.text_input(key="new_scenario_name").input("方案B").run()
    at.sidebar.button(key="copy_scenario").click().run()
    assert at.session_state["current"] == "方案B"
    assert set(at.session_state["scenarios"]) == {BASELINE_SCENARIO, "方案B"}
    assert not at.exception
    at.session_state["section"] = t("app.scen.compare_header")
    at.run()
    # the comparison view shows both scenarios' figures
    assert len(at.metric) == 12 * 3


def test_downloads_exist(opened, tmp_path):
    at = opened
    at.session_state["section"] = t("app.dl.header")
    at.run()
    at.button(key="make_files").click().run()
    assert not at.exception, [e.value for e in at.exception]
    keys = {b.key for b in at.get("download_button")}
    assert {"dl_excel", "dl_csv", "dl_gpkg", "dl_html", "dl_png", "dl_pdf", "dl_atlas", "dl_project"} <= keys
    files = at.session_state["files"]
    sheets = load_workbook(io.BytesIO(files["report.xlsx"]), read_only=True).sheetnames
    assert sheets == [t(f"exports.sheet.{k}") for k in SHEETS]
    assert files["demand.csv"].startswith(b"\xef\xbb\xbf")
    assert files["coverage.gpkg"][:16] == b"SQLite format 3\x00"
    assert b"cdn.jsdelivr" not in files["map.html"] and b"<script>" in files["map.html"]
    assert files["map.png"].startswith(b"\x89PNG") and files["map.pdf"].startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", files["atlas.pdf"])) == 4  # a page per tier
    # the buttons name the files after the scenario and tier they were made for (download_name)
    scenario, map_tier, made_on = at.session_state["files_made_for"]
    assert made_on == date.today()
    assert scenario == at.session_state["current"] and map_tier == at.session_state["view_tier"]
    labels = {b.key: b.label for b in at.get("download_button")}
    assert labels["dl_png"] == t("app.dl.png", tier=t(f"tier.{map_tier}"))
    project = tmp_path / "project.gpkg"
    project.write_bytes(files["project.gpkg"])
    assert [s.name for s in load_project(project)] == list(at.session_state["scenarios"])


def test_presentation_mode_hides_controls(opened):
    at = opened
    at.sidebar.toggle(key="presentation").set_value(True).run()
    assert not at.exception
    assert len(at.sidebar.toggle) == 0
    assert at.button(key="exit_presentation")
    at.button(key="exit_presentation").click().run()
    assert len(at.sidebar.toggle) == 2


def test_close_selected_station_shows_the_difference_and_undo(opened):
    at = opened
    at.session_state["section"] = t("app.figures.header")
    at.run()
    stations = at.session_state["scenarios"][at.session_state["current"]].stations
    township = str(stations.loc[stations["tier"] == "township", "id"].iloc[0])
    before = _figures(at)
    at.selectbox(key="selected_station").set_value(township).run()
    at.button(key="close_station").click().run()
    assert not at.exception and not at.error
    assert any(t("app.sim.closed", id=township) in x for x in _texts(at, "success"))
    after = _figures(at)
    assert float(after[3].rstrip("%")) < float(before[3].rstrip("%"))  # township tier lost coverage
    assert after[6:] == before[6:]  # other tiers untouched
    assert any(t("app.sim.diff_header") in str(h.value) for h in at.subheader)
    at.button(key="undo").click().run()
    assert _figures(at) == before


def test_gaps_table_lists_every_township_of_the_tier(opened):
    import html

    at = opened
    at.session_state["section"] = t("app.figures.header")
    at.get("button_group")[0].set_value("village").run()  # the table follows the tier on the map
    tables = [
        str(m.value)
        for m in at.markdown
        if "<table" in str(m.value) and figures.label("outside_population", tier="village") in str(m.value)
    ]
    assert len(tables) == 1
    ws = at.session_state["ws"]
    result = ws.evaluate(at.session_state["scenarios"][at.session_state["current"]].stations)
    areas = result.areas[result.areas["tier"] == "village"]
    assert len(areas) > 3
    for name, outside in zip(areas["township"].astype(str), areas["outside_population"], strict=True):
        assert html.escape(name or "—") in tables[0]
        assert f">{outside:,.0f}<" in tables[0]
    # the township rows add up to the headline figure shown above the table
    headline = result.summary["tiers"]["village"]["outside_population"]
    assert areas["outside_population"].sum() == pytest.approx(headline)
    assert figures.display("outside_population", headline) in _figures(at)


def test_upload_with_a_station_far_from_roads_is_refused_unless_allowed(tmp_path):
    from planner.demo.county import write_demo

    paths = write_demo(tmp_path)
    lines = paths["stations"].read_text(encoding="utf-8-sig").splitlines()
    # the last station put 1° (~100 km) east, outside the county: far from any road
    cells = lines[-1].split(",")
    far_id, cells[3] = cells[0], f"{float(cells[3]) + 1.0:.7f}"
    lines[-1] = ",".join(cells)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    staged = {
        "stations": ("stations.csv", ("\n".join(lines) + "\n").encode("utf-8")),
        "demand": ("demand.csv", paths["demand"].read_bytes()),
        "network": ("roads.gpkg", paths["roads"].read_bytes()),
    }
    at.session_state["staged_uploads"] = staged
    at.sidebar.button(key="load_uploads").click().run()
    # the same policy as the CLI: refused by default, naming the station and the way out
    errors = " ".join(_texts(at, "error"))
    assert far_id in errors and t("app.data.allow_off_network") in errors, errors
    assert at.session_state["is_demo"]  # the current scenario is kept
    at.session_state["staged_uploads"] = staged
    at.sidebar.checkbox(key="allow_off_network").check().run()
    at.sidebar.button(key="load_uploads").click().run()
    assert not at.exception and not at.error, _texts(at, "error")
    assert not at.session_state["is_demo"]
    warnings = " ".join(_texts(at, "warning"))
    assert far_id in warnings and "500" in warnings, warnings
    # the stations' tier line says one is not counted; the others are evaluated
    assert any("其中 1 个离道路过远" in x for x in _texts(at, "markdown")), _texts(at, "markdown")
    result = at.session_state["ws"].evaluate(at.session_state["scenarios"][at.session_state["current"]].stations)
    far = result.stations.set_index("id").loc[far_id]
    assert not far["on_network"] and far["covered_population"] == 0
    assert len(_figures(at)) == 12


def test_upload_says_which_columns_were_used(tmp_path):
    import pandas as pd

    from planner.demo.county import generate_county, write_demo

    paths = write_demo(tmp_path, county=generate_county(seed=7, n_townships=4, n_villages=40))
    demand = pd.read_csv(paths["demand"], encoding="utf-8-sig", dtype=str)
    renamed = demand.rename(columns={"名称": "村庄名称"}).drop(columns=["人口"]).assign(**{"备注*": ""})
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.session_state["staged_uploads"] = {
        "stations": ("stations.csv", paths["stations"].read_bytes()),
        "demand": ("村庄.csv", renamed.to_csv(index=False).encode("utf-8")),
        "network": ("roads.gpkg", paths["roads"].read_bytes()),
    }
    at.sidebar.button(key="load_uploads").click().run()
    assert not at.exception and not at.error, _texts(at, "error")
    info = " ".join(_texts(at, "info"))
    assert "村庄\\.csv：需求点表，使用的列：" in info and "名称 ← 村庄名称" in info, info
    assert "未使用的列：备注\\*" in info  # a header from the file is escaped, shown as written
    warnings = " ".join(_texts(at, "warning"))
    assert "村庄\\.csv：没有人口列" in warnings, warnings
    names = at.session_state["ws"].demand["name"].tolist()
    assert names == demand["名称"].tolist()
    assert at.session_state["ws"].inputs["demand"] == "村庄.csv"  # the name uploaded, not the staged copy's path


def test_each_uploaded_file_has_its_own_coordinate_system(tmp_path):
    import pandas as pd

    from planner.demo.county import write_demo
    from planner.inputs.coords import from_wgs84

    paths = write_demo(tmp_path)
    st = pd.read_csv(paths["stations"], encoding="utf-8-sig")
    original = st[["经度", "纬度"]].to_numpy()
    st["经度"], st["纬度"] = from_wgs84(st["经度"].to_numpy(), st["纬度"].to_numpy(), system="gcj02")
    staged = {
        "stations": ("高德站点.csv", st.to_csv(index=False, float_format="%.9f").encode("utf-8")),
        "demand": ("demand.csv", paths["demand"].read_bytes()),
        "network": ("roads.gpkg", paths["roads"].read_bytes()),
    }
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.sidebar.selectbox(key="coords_stations").set_value("gcj02")
    at.session_state["staged_uploads"] = staged
    at.sidebar.button(key="load_uploads").click().run()
    assert not at.exception and not at.error, _texts(at, "error")
    assert not at.session_state["is_demo"]
    stations = at.session_state["scenarios"][at.session_state["current"]].stations
    assert abs(stations[["lon", "lat"]].to_numpy() - original).max() < 1e-7  # the Amap sheet converted
    assert not any("WGS\\-84" in x or "GCJ\\-02" in x for x in _texts(at, "warning")), _texts(at, "warning")
    # the demand file declared GCJ-02 too: the app says, for that file, that it looks like WGS-84
    at.sidebar.selectbox(key="coords_demand").set_value("gcj02")
    at.session_state["staged_uploads"] = staged
    at.sidebar.button(key="load_uploads").click().run()
    warnings = [x for x in _texts(at, "warning") if "WGS\\-84" in x]  # text from files is markdown-escaped
    assert len(warnings) == 1 and warnings[0].startswith("demand\\.csv：") and "高德站点" not in warnings[0], warnings


def test_demand_kinds_enterprise_upload_and_whom_a_tier_serves(county, tmp_path):  # type: ignore[no-untyped-def]
    """No 类型 column: the enterprise tier says why it has no figures; an enterprise file or 'serves all' fills it."""
    from planner.demo.county import write_demo

    paths = write_demo(tmp_path, county=county)
    sheet = pd.read_csv(paths["demand"], encoding="utf-8-sig", dtype={"编号": str})
    is_ent = sheet["类型"] == "企业"
    plain = sheet.drop(columns=["类型"])
    files = {"stations": ("stations.csv", paths["stations"].read_bytes()),
             "network": ("roads.gpkg", paths["roads"].read_bytes())}  # fmt: skip
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.session_state["staged_uploads"] = {**files, "demand": ("demand.csv", plain.to_csv(index=False).encode())}
    at.sidebar.button(key="load_uploads").click().run()
    assert not at.exception and not at.error, _texts(at, "error")
    reason = figures.no_demand_text("no_enterprise")
    assert reason in _texts(at, "info") and len(_figures(at)) == 9  # no bare "—" for the enterprise tier
    assert any("无类型列" in x for x in _texts(at, "info"))  # where the kinds came from, said on loading
    assert any("无类型列" in c.value for c in at.sidebar.caption)
    # the enterprise tier serves all demand points: its figures come back, the same rows as the villages
    at.sidebar.selectbox(key="serves_enterprise").set_value("all").run()
    assert not at.exception and len(_figures(at)) == 12
    result = at.session_state["ws"].evaluate(at.session_state["scenarios"][at.session_state["current"]].stations)
    assert result.summary["tiers"]["enterprise"]["demand"] == len(plain)
    # residents and enterprises in two files, loaded with the standards the sidebar shows ("all")
    at.session_state["staged_uploads"] = {
        **files,
        "demand": ("residents.csv", plain[~is_ent].to_csv(index=False).encode()),
        "enterprises": ("enterprises.csv", plain[is_ent].to_csv(index=False).encode()),
    }
    at.sidebar.button(key="load_uploads").click().run()
    assert not at.exception and not at.error, _texts(at, "error")
    assert at.session_state["ws"].config.tier_demand[Tier.ENTERPRISE] == "all"
    assert any(r"enterprises\.csv：企业文件" in x for x in _texts(at, "info"))  # escaped for Markdown
    at.sidebar.selectbox(key="serves_enterprise").set_value("enterprise").run()
    assert len(_figures(at)) == 12 and reason not in _texts(at, "info")
    result = at.session_state["ws"].evaluate(at.session_state["scenarios"][at.session_state["current"]].stations)
    ent = result.demand[result.demand["tier"] == "enterprise"]
    assert sorted(ent["id"]) == sorted(sheet.loc[is_ent, "编号"])


def test_estimated_populations_are_said_under_the_figures(opened, tmp_path):
    """A demand sheet with 人口来源 estimates: one caption under the figures, the CLI's and workbook's counts."""
    import pandas as pd

    from planner.demo.county import generate_county, write_demo
    from planner.report.exports import estimate_note

    assert not any("人口为估算值" in x for x in _texts(opened, "caption"))  # the demo's populations are data
    paths = write_demo(tmp_path, county=generate_county(seed=7, n_townships=4, n_villages=40))
    demand = pd.read_csv(paths["demand"], encoding="utf-8-sig", dtype=str)
    words = ["OSM标注", "估算", "估算（类型典型值）", "估算（建筑数据不全，按类型典型值，请核实）"]
    demand["人口来源"] = [words[k % len(words)] for k in range(len(demand))]
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.session_state["staged_uploads"] = {
        "stations": ("stations.csv", paths["stations"].read_bytes()),
        "demand": ("demand.csv", demand.to_csv(index=False).encode("utf-8")),
        "network": ("roads.gpkg", paths["roads"].read_bytes()),
    }
    at.sidebar.button(key="load_uploads").click().run()
    assert not at.exception and not at.error, _texts(at, "error")
    result = at.session_state["ws"].evaluate(at.session_state["scenarios"][at.session_state["current"]].stations)
    est = result.summary["population_estimates"]
    assert est["estimated_points"] == sum(k % 4 != 0 for k in range(len(demand)))
    assert est["typical_points"] == sum(k % 4 >= 2 for k in range(len(demand)))
    captions = [x for x in _texts(at, "caption") if "人口为估算值" in x]
    assert captions == [estimate_note(result.summary, short=True)], captions


def test_upload_errors_name_the_file_as_uploaded_not_its_temporary_copy(tmp_path):
    from planner.demo.county import write_demo

    paths = write_demo(tmp_path)
    lines = paths["stations"].read_text(encoding="utf-8-sig").splitlines()
    cells = lines[1].split(",")
    cells[2] = "党群中心"  # an unknown tier on row 2
    lines[1] = ",".join(cells)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.session_state["staged_uploads"] = {
        "stations": ("我的站点.csv", ("\n".join(lines) + "\n").encode("utf-8")),
        "demand": ("demand.csv", paths["demand"].read_bytes()),
        "network": ("roads.gpkg", paths["roads"].read_bytes()),
    }
    at.sidebar.button(key="load_uploads").click().run()
    errors = " ".join(_texts(at, "error"))
    assert "党群中心" in errors and "我的站点" in errors, errors
    assert "planner-upload-" not in errors and "/tmp" not in errors, errors


def test_the_map_shows_one_tier_and_follows_edits_proposals_and_standards():
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    (control,) = at.get("button_group")
    assert control.key == "view_tier" and control.value == "village"  # the village tier by default

    def viewed() -> str:
        return str(at.get("button_group")[0].value)

    stations = at.session_state["scenarios"][at.session_state["current"]].stations
    township = str(stations.loc[stations["tier"] == "township", "id"].iloc[0])
    at.selectbox(key="selected_station").set_value(township).run()
    at.button(key="close_station").click().run()
    assert viewed() == "township"  # the tier just edited
    at.button(key="undo").click().run()
    assert viewed() == "township"
    at.number_input(key="minutes_county").set_value(20).run()
    assert viewed() == "county"  # the standard just changed: its circle is redrawn
    iso = at.session_state["isochrones"].isochrones(
        at.session_state["ws"], at.session_state["scenarios"][at.session_state["current"]].stations, tier="county"
    )
    assert float(iso["minutes"].max()) == 20.0
    at.sidebar.selectbox(key="prop_tier").set_value("enterprise").run()
    at.sidebar.number_input(key="prop_k").set_value(1).run()
    at.sidebar.button(key="run_proposals").click().run()
    assert not at.exception and not at.error
    assert viewed() == "enterprise"  # the tier just proposed for
    control = at.get("button_group")[0]
    control.set_value("village").run()
    assert viewed() == "village" and not at.exception
    # the gaps table under the map is the viewed tier's
    at.session_state["section"] = t("app.figures.header")
    at.run()
    assert any(t("app.figures.gaps_header", tier=t("tier.village")) in str(h.value) for h in at.subheader)


CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def test_english_page_has_no_chinese_words_of_its_own():
    """In English every word the app writes is English; only data (names from the files) stays as it is."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.sidebar.toggle(key="lang_en").set_value(True).run()
    set_language("en")  # AppTest formats the next widget states in this thread (see test_language_switch)
    try:
        assert not at.exception, [e.value for e in at.exception]
        ws = at.session_state["ws"]
        data = {*ws.demand["name"].astype(str), *ws.demand["township"].astype(str)}
        shown: list[str] = [at.title[0].value]
        for kind in ("subheader", "markdown", "caption", "info", "warning", "success"):
            shown += [x for x in _texts(at, kind) if "<table" not in x and "<style" not in x]  # tables: data rows
        shown += [m.label for m in at.metric]
        for kind in ("toggle", "selectbox", "radio", "number_input", "text_input", "button", "checkbox", "expander"):
            shown += [str(w.label) for w in getattr(at.sidebar, kind)]
        shown += [str(o) for w in at.sidebar.selectbox for o in w.options if str(o) not in data]
        for name in sorted(data, key=len, reverse=True):  # names from the files are data, shown as they are
            shown = [x.replace(name, "") for x in shown]
        leaks = [x for x in shown if CJK.search(x)]
        assert not leaks, leaks
        # the built-in scenario in the active language; a tier with one station says "1 station"
        assert at.sidebar.selectbox(key="scenario_select").options == ["Current"]
        lines = [x for x in _texts(at, "markdown") if x.startswith("**")]
        counts = {int(n) for x in lines for n in re.findall(r"(\d+) stations?\b", x)}
        assert 1 in counts and any(re.search(r"\b1 station\b(?!s)", x) for x in lines), lines
        assert not any(re.search(r"\b1 stations\b", x) for x in lines)
        # the uploaders' own words, relabelled in the language (Streamlit has no option for them)
        # and name the app's own size limit (APP_LIMITS), not Streamlit's larger server.maxUploadSize
        css = " ".join(str(h.proto.body) for h in at.get("html"))
        assert 'content:"Upload"' in css and "Limit 100 MB per file" in css and not CJK.search(css)
        at.sidebar.toggle(key="lang_en").set_value(False).run()
    finally:
        set_language("zh")
    css = " ".join(str(h.proto.body) for h in at.get("html"))
    assert 'content:"上传"' in css and "每个文件不超过 100 MB" in css
    assert at.sidebar.selectbox(key="scenario_select").options == ["现状"]


def test_upload_of_roads_as_a_zipped_shapefile(tmp_path):
    """The label promises SHP 压缩包: a zip from Chinese GIS software (GBK names, .cpg 936, CGCS2000) loads."""
    from planner.app.text import md_escape
    from planner.demo.county import generate_county, write_demo
    from planner.network.load import load_network
    from tests.data.hostile.archives import nested_zip, shapefile_parts, shapefile_zip

    county = generate_county(seed=7, n_townships=4, n_villages=40)
    paths = write_demo(tmp_path, county=county)
    parts = shapefile_parts(county.roads.to_crs(4548), tmp_path / "src", cpg="936")
    good = shapefile_zip(tmp_path / "县道路.zip", parts, folder="道路/", gbk_names=True)
    bad = nested_zip(tmp_path / "坏道路.zip", parts)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    files = {"stations": ("stations.csv", paths["stations"].read_bytes()),
             "demand": ("demand.csv", paths["demand"].read_bytes())}  # fmt: skip
    at.session_state["staged_uploads"] = {**files, "network": ("坏道路.zip", bad.read_bytes())}
    at.sidebar.button(key="load_uploads").click().run()
    errors = " ".join(_texts(at, "error"))
    assert "坏道路" in errors and md_escape("备份/道路") in errors and "嵌套" in errors, errors  # names shown escaped
    assert "planner-upload-" not in errors and "/tmp" not in errors, errors
    assert at.session_state["is_demo"]  # the current workspace is kept
    at.session_state["staged_uploads"] = {**files, "network": ("县道路.zip", good.read_bytes())}
    at.sidebar.button(key="load_uploads").click().run()
    assert not at.exception and not at.error, _texts(at, "error")
    assert not at.session_state["is_demo"]
    net = at.session_state["ws"].network
    same = load_network(paths["roads"])
    assert (net.n_nodes, net.n_edges) == (same.n_nodes, same.n_edges)
    assert net.edge_length_m.sum() == pytest.approx(same.edge_length_m.sum(), rel=1e-9)
    assert at.session_state["ws"].inputs["network"] == "县道路.zip"
    assert len(_figures(at)) == 12


def _markdown_shown(at) -> list[str]:
    """Every text the page renders as Markdown (messages, captions, Markdown; not the HTML tables)."""
    shown: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "success", "error", "subheader"):
        shown += [str(e.value) for e in getattr(at, kind) if not getattr(e.proto, "allow_html", False)]
    return shown


def test_names_from_the_files_are_shown_as_text(tmp_path):
    """Hostile names (issue 14): every message names them escaped, so Markdown shows them as written."""
    import html

    from planner.app.text import md_escape
    from tests.data.hostile import MARKUP
    from tests.data.hostile.county import FAR_STATION, TOWNSHIPS, write_hostile_county

    paths = write_hostile_county(tmp_path)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.session_state["staged_uploads"] = {
        "stations": (f"{MARKUP[1]}.csv", paths["stations"].read_bytes()),  # the file name a payload too
        "demand": ("demand.csv", paths["demand"].read_bytes()),
        "network": ("roads.gpkg", paths["roads"].read_bytes()),
    }
    at.sidebar.checkbox(key="allow_off_network").check().run()
    at.sidebar.button(key="load_uploads").click().run()
    assert not at.exception and not at.error, _texts(at, "error")
    assert not at.session_state["is_demo"]
    warnings = " ".join(_texts(at, "warning"))
    assert md_escape(FAR_STATION) in warnings, warnings  # the off-network station, in the warning
    assert md_escape(f"{MARKUP[1]}.csv") in warnings  # the finding names the file as uploaded
    # the gaps tab: the worst townships named in a warning, every township in the table
    at.session_state["section"] = t("app.figures.header")
    at.run()
    worst = [x for x in _texts(at, "warning") if t("app.figures.worst", names="").rstrip("。.") in x]
    assert len(worst) == 1 and sum(md_escape(x) in worst[0] for x in TOWNSHIPS) == 3, worst
    tables = [str(m.value) for m in at.markdown if "<table" in str(m.value)]
    assert all(html.escape(x) in " ".join(tables) for x in TOWNSHIPS[:5])
    assert "<img src=x" not in " ".join(tables)
    # no payload reaches Markdown as it is (it would fetch an image, link, typeset, colour)
    shown = _markdown_shown(at)
    leaks = [(p, x) for x in shown for p in MARKUP if p in x]
    assert not leaks, leaks


def test_an_unexpected_error_in_a_run_is_a_message_without_details(monkeypatch):
    """Issue 14: an error the app did not expect shows a message in the page; the traceback goes to the log."""
    from planner.app import main as app_main

    def broken(*args, **kwargs):
        raise RuntimeError("/srv/planner/secret.py line 1: boom")

    monkeypatch.setattr(app_main, "figures_panel", broken)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = _texts(at, "error")
    assert errors == [t("app.error.unexpected")], errors
    page = " ".join(_markdown_shown(at))
    assert "secret.py" not in page and "Traceback" not in page and "RuntimeError" not in page


def test_an_unexpected_error_in_a_callback_is_a_message_without_details(opened, monkeypatch):
    from planner.app import actions

    def broken(*args, **kwargs):
        raise RuntimeError("/srv/planner/secret.py line 1: boom")

    monkeypatch.setattr(actions, "scenario_name", broken)  # copying a scenario has no message of its own
    at = opened
    at.sidebar.text_input(key="new_scenario_name").input("方案乙")
    at.sidebar.button(key="copy_scenario").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("app.error.unexpected") in _texts(at, "error")
    assert "secret.py" not in " ".join(_markdown_shown(at))
    monkeypatch.undo()
    at.run()
    assert not at.error  # the next run draws the page as before
