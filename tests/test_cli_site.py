"""``planner site`` end to end: network and cost-matrix inputs, outputs, clean failures."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.cli import main
from planner.demo.county import write_demo


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_demo(tmp_path_factory.mktemp("demo"))


def _cost_case(tmp_path: Path) -> list[str]:
    (tmp_path / "cm.csv").write_text(
        "demand_id,site_id,minutes\nD1,A,3\nD1,B,12\nD2,B,4\nD3,C,5\nD4,C,2\nD4,A,4\nD5,B,1\n", encoding="utf-8"
    )
    (tmp_path / "d.csv").write_text(
        "编号,人口,经度,纬度\nD1,100,117,28\nD2,50,117.01,28\nD3,20,117.02,28\nD4,40,117.03,28\nD5,10,117.04,28\n"
        "D6,999,117.05,28\n",
        encoding="gbk",
    )
    (tmp_path / "c.csv").write_text(
        "编号,名称,经度,纬度\nA,甲,117,28\nB,乙,117.01,28\nC,丙,117.02,28\n", encoding="utf-8"
    )
    return ["site", "--cost-matrix", str(tmp_path / "cm.csv"), "--demand", str(tmp_path / "d.csv"),
            "--candidates", str(tmp_path / "c.csv"), "--minutes", "5"]  # fmt: skip


def _brute(p: int) -> float:
    cover = {"A": {"D1", "D4"}, "B": {"D2", "D5"}, "C": {"D3", "D4"}}
    pop = {"D1": 100, "D2": 50, "D3": 20, "D4": 40, "D5": 10, "D6": 999}
    return max(
        sum(pop[d] for d in set().union(*(cover[s] for s in combo))) for combo in itertools.combinations(cover, p)
    )


@pytest.mark.parametrize("p", [1, 2, 3])
def test_cost_matrix_mclp_equals_brute_force(tmp_path: Path, p: int) -> None:
    args = _cost_case(tmp_path)
    assert main([*args, "--p", str(p), "--out", str(tmp_path / "o")]) == 0
    props = pd.read_csv(tmp_path / "o" / "proposals.csv", encoding="utf-8-sig")
    assert list(props.columns[:7]) == ["rank", "site_id", "name", "lon", "lat", "tier", "newly_covered_population"]
    summ = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summ["objective"] == pytest.approx(_brute(p))
    assert props["newly_covered_population"].sum() == pytest.approx(_brute(p))
    assert summ["gap"] == pytest.approx(0.0, abs=1e-9) and summ["solver"] == "highs"


def test_cost_matrix_cover_all_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _cost_case(tmp_path)
    assert main([*args, "--cover", "100", "--out", str(tmp_path / "o")]) == 0
    summ = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summ["n_sites"] == 3 and summ["uncoverable_ids"] == ["D6"]
    assert main([*args, "--cover", "95", "--out", str(tmp_path / "x")]) == 2  # D6 (999 people) unreachable
    assert "D6" in capsys.readouterr().err
    assert main([*args, "--p", "9", "--out", str(tmp_path / "x")]) == 2
    assert "9" in capsys.readouterr().err
    (tmp_path / "cm.csv").write_text("demand_id,site_id,minutes\nD1,ZZ,3\n", encoding="utf-8")
    assert main([*args, "--p", "1", "--out", str(tmp_path / "x")]) == 2
    assert "ZZ" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cost_matrix_prints_the_column_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    args = _cost_case(tmp_path)
    with caplog.at_level("WARNING", logger="planner"):
        assert main([*args, "--p", "1", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path / 'd.csv'}：需求点表，使用的列：编号、人口、经度、纬度" in out
    assert f"{tmp_path / 'c.csv'}：候选点表，使用的列：编号、名称、经度、纬度" in out
    # the missing names are a warning, logged (shown on the terminal), not printed twice
    assert f"{tmp_path / 'd.csv'}：没有名称列" in caplog.text and "没有名称列" not in out


def test_network_siting_on_demo(demo_inputs: dict[str, Path], tmp_path: Path) -> None:
    base = ["site", "--network", str(demo_inputs["roads"]), "--stations", str(demo_inputs["stations"]),
            "--demand", str(demo_inputs["demand"]), "--areas", str(demo_inputs["townships"])]  # fmt: skip
    assert main([*base, "--tier", "村", "--p", "5", "--out", str(tmp_path / "a")]) == 0
    props = pd.read_csv(tmp_path / "a" / "proposals.csv", encoding="utf-8-sig")
    summ = json.loads((tmp_path / "a" / "summary.json").read_text(encoding="utf-8"))
    assert len(props) == 5 and (props["tier"] == "village").all()
    assert props["newly_covered_population"].is_monotonic_decreasing
    assert summ["newly_covered"] == pytest.approx(props["newly_covered_population"].sum())
    assert summ["objective"] > summ["existing_covered"] and summ["bound"] >= summ["objective"] - 1e-6
    assert main([*base, "--tier", "township", "--redundant", "--out", str(tmp_path / "r")]) == 0
    red = pd.read_csv(tmp_path / "r" / "redundancy.csv", encoding="utf-8-sig")
    assert len(red) == 12 and red["covered_after"].is_monotonic_decreasing


def test_site_for_a_tier_without_demand_exits_2_with_the_reason(
    demo_inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demand = pd.read_csv(demo_inputs["demand"], encoding="utf-8-sig", dtype=str).drop(columns=["类型"])
    demand.to_csv(tmp_path / "residents.csv", index=False, encoding="utf-8-sig")
    argv = ["site", "--network", str(demo_inputs["roads"]), "--stations", str(demo_inputs["stations"]),
            "--demand", str(tmp_path / "residents.csv"), "--tier", "enterprise", "--p", "2",
            "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "企业（职工之家）层级没有需求点" in err and "--enterprises" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_candidates_file_in_its_own_coordinate_system(demo_inputs: dict[str, Path], tmp_path: Path) -> None:
    """``--candidates-coords gcj02`` converts the candidates file only (stations and demand stay WGS-84)."""
    from planner.inputs.coords import from_wgs84

    demand = pd.read_csv(demo_inputs["demand"], encoding="utf-8-sig")
    sites = demand.iloc[::20].reset_index(drop=True)  # a dozen villages offered as sites
    glon, glat = from_wgs84(sites["经度"].to_numpy(), sites["纬度"].to_numpy(), system="gcj02")
    amap = pd.DataFrame(
        {"编号": [f"C{k}" for k in range(len(sites))], "名称": sites["名称"], "经度": glon, "纬度": glat}
    )
    amap.to_csv(tmp_path / "候选.csv", index=False, encoding="utf-8-sig", float_format="%.9f")
    base = ["site", "--network", str(demo_inputs["roads"]), "--stations", str(demo_inputs["stations"]),
            "--demand", str(demo_inputs["demand"]), "--tier", "村", "--p", "3", "--no-road-candidates",
            "--no-demand-candidates", "--candidates", str(tmp_path / "候选.csv")]  # fmt: skip
    assert main([*base, "--candidates-coords", "gcj02", "--out", str(tmp_path / "g")]) == 0
    props = pd.read_csv(tmp_path / "g" / "proposals.csv", encoding="utf-8-sig")
    summ = json.loads((tmp_path / "g" / "summary.json").read_text(encoding="utf-8"))
    assert len(props) == 3
    at = sites.set_index(amap["名称"]).loc[props["name"]]
    assert abs(props["lon"].to_numpy() - at["经度"].to_numpy()).max() < 1e-6  # back on the villages
    assert abs(props["lat"].to_numpy() - at["纬度"].to_numpy()).max() < 1e-6
    # --coords gcj02 with --stations-coords/--demand-coords wgs84: the same sites
    flags = ["--coords", "gcj02", "--stations-coords", "wgs84", "--demand-coords", "wgs84"]
    assert main([*base, *flags, "--out", str(tmp_path / "h")]) == 0
    again = pd.read_csv(tmp_path / "h" / "proposals.csv", encoding="utf-8-sig")
    assert again[["name", "lon", "lat"]].equals(props[["name", "lon", "lat"]])
    again_summ = json.loads((tmp_path / "h" / "summary.json").read_text(encoding="utf-8"))
    assert again_summ["objective"] == summ["objective"] and again_summ["newly_covered"] == summ["newly_covered"]


def test_site_and_coverage_share_allow_off_network() -> None:
    """Both take ``--allow-off-network`` from the one place (``_common.add_inputs``), same name, default and help."""
    from planner.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    options = {
        name: next(a for a in sub.choices[name]._actions if "--allow-off-network" in a.option_strings)  # type: ignore[attr-defined]
        for name in ("coverage", "site")
    }
    cov, site = options["coverage"], options["site"]
    assert (cov.dest, cov.default, cov.help, cov.nargs) == (site.dest, site.default, site.help, site.nargs)


# ----------------------------------------------------------------------------- p-median


def test_cost_matrix_pmedian_equals_brute_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--model pmedian`` on a cost file: A stays open (--existing), D6 reaches nothing within 5 min."""
    args = [*_cost_case(tmp_path), "--model", "pmedian", "--existing", "A", "--p", "1"]
    assert main([*args, "--out", str(tmp_path / "e")]) == 2
    assert "D6" in capsys.readouterr().err and not (tmp_path / "e").exists()
    assert main([*args, "--unreachable", "cutoff", "--out", str(tmp_path / "o")]) == 0
    pairs = {("D1", "A"): 3, ("D2", "B"): 4, ("D3", "C"): 5, ("D4", "C"): 2, ("D4", "A"): 4, ("D5", "B"): 1}
    pop = {"D1": 100, "D2": 50, "D3": 20, "D4": 40, "D5": 10, "D6": 999}

    def total(open_sites: set[str]) -> float:
        return sum(w * min([5.0, *(m for (d, s), m in pairs.items() if d == dem and s in open_sites)])
                   for dem, w in pop.items())  # fmt: skip

    best = min(("B", "C"), key=lambda s: total({"A", s}))
    summ = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    props = pd.read_csv(tmp_path / "o" / "proposals.csv", encoding="utf-8-sig")
    assert summ["model"] == "pmedian" and summ["objective"] == pytest.approx(total({"A", best}))
    assert list(props["site_id"]) == [best] and summ["gap"] <= 1e-6
    assert summ["mean_minutes"] == pytest.approx(total({"A", best}) / sum(pop.values()))
    assert "人口加权平均出行时间" in capsys.readouterr().out


def test_network_pmedian_cli_equals_workspace(demo_inputs: dict[str, Path], tmp_path: Path) -> None:
    from planner.workspace.workspace import Workspace

    base = ["site", "--network", str(demo_inputs["roads"]), "--stations", str(demo_inputs["stations"]),
            "--demand", str(demo_inputs["demand"]), "--areas", str(demo_inputs["townships"])]  # fmt: skip
    opts = ["--tier", "village", "--p", "3", "--model", "pmedian", "--unreachable", "cutoff"]
    assert main([*base, *opts, "--out", str(tmp_path / "pm")]) == 0
    props = pd.read_csv(tmp_path / "pm" / "proposals.csv", encoding="utf-8-sig", dtype={"site_id": str})
    summ = json.loads((tmp_path / "pm" / "summary.json").read_text(encoding="utf-8"))
    ws, scenario = Workspace.from_files(
        network=demo_inputs["roads"], stations=demo_inputs["stations"], demand=demo_inputs["demand"],
        areas=demo_inputs["townships"],
    )  # fmt: skip
    prop = ws.propose(scenario.stations, tier="village", k=3, model="pmedian", unreachable="cutoff")
    assert list(props["site_id"].str.lstrip("'")) == list(prop.sites["site_id"])  # CSV guards a leading @
    assert summ["objective"] == pytest.approx(prop.summary["objective"], rel=1e-12)
    for key in ("model", "objective", "mean_minutes", "bound", "gap"):
        assert key in summ
    np.testing.assert_allclose(props["gain"], prop.sites["gain"], rtol=1e-12)


# ----------------------------------------------------------------------------- p-center, backup, capacities


def _demo_base(demo_inputs: dict[str, Path]) -> list[str]:
    return ["site", "--network", str(demo_inputs["roads"]), "--stations", str(demo_inputs["stations"]),
            "--demand", str(demo_inputs["demand"]), "--areas", str(demo_inputs["townships"])]  # fmt: skip


def _outputs(folder: Path) -> tuple[pd.DataFrame, dict[str, object]]:
    props = pd.read_csv(folder / "proposals.csv", encoding="utf-8-sig", dtype={"site_id": str})
    props["site_id"] = props["site_id"].str.lstrip("'")  # the CSV guards a leading @
    return props, json.loads((folder / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("opts", "kwargs"),
    [
        (["--tier", "township", "--p", "2", "--model", "pcenter", "--unreachable", "cutoff", "--weighted"],
         {"tier": "township", "k": 2, "model": "pcenter", "unreachable": "cutoff", "weighted": True}),
        (["--tier", "village", "--p", "3", "--model", "backup"], {"tier": "village", "k": 3, "model": "backup"}),
    ],
)  # fmt: skip
def test_network_location_models_cli_equal_workspace(
    demo_inputs: dict[str, Path], tmp_path: Path, opts: list[str], kwargs: dict[str, object]
) -> None:
    from planner.workspace.workspace import Workspace

    assert main([*_demo_base(demo_inputs), *opts, "--out", str(tmp_path / "o")]) == 0
    props, summ = _outputs(tmp_path / "o")
    ws, scenario = Workspace.from_files(
        network=demo_inputs["roads"], stations=demo_inputs["stations"], demand=demo_inputs["demand"],
        areas=demo_inputs["townships"],
    )  # fmt: skip
    prop = ws.propose(scenario.stations, **kwargs)  # type: ignore[arg-type]
    assert summ["model"] == kwargs["model"] and list(props["site_id"]) == list(prop.sites["site_id"])
    for key in ("objective", "bound", "gap", "mean_minutes"):  # mean_minutes: None for backup coverage
        want = prop.summary.get(key)
        assert summ.get(key) == (want if want is None else pytest.approx(want, rel=1e-12)), key


def _capacity_config(tmp_path: Path, people: int) -> Path:
    path = tmp_path / "cap.toml"
    path.write_text(f"[tier_capacity]\nvillage = {people}\n", encoding="utf-8")
    return path


def test_coverage_flags_overloaded_stations(demo_inputs: dict[str, Path], tmp_path: Path) -> None:
    from planner.coverage import figures

    cfg = _capacity_config(tmp_path, 3000)
    argv = ["coverage", "--network", str(demo_inputs["roads"]), "--stations", str(demo_inputs["stations"]),
            "--demand", str(demo_inputs["demand"]), "--config", str(cfg), "--no-isochrones"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "c")]) == 0
    st = pd.read_csv(tmp_path / "c" / "stations.csv", encoding="utf-8-sig", dtype={"id": str})
    village = st[st["tier"] == "village"]
    over = village["covered_population"] > 3000
    assert over.any() and (village["capacity"] == 3000).all()
    assert (village["overloaded"].astype(str) == over.astype(str)).all()
    np.testing.assert_allclose(village["load_ratio"], village["covered_population"] / 3000, rtol=1e-5)
    summ = json.loads((tmp_path / "c" / "summary.json").read_text(encoding="utf-8"))
    assert summ["tiers"]["village"]["stations_overloaded"] == int(over.sum())
    sheet = pd.read_excel(tmp_path / "c" / "report.xlsx", sheet_name=None, header=1)  # row 0: the title
    stations = next(df for df in sheet.values() if figures.label("overloaded") in df.columns)
    assert stations[figures.label("overloaded")].astype(str).isin(["True", "是", "1"]).sum() == int(over.sum())


def test_site_capacity_serves_no_more_than_capacity(demo_inputs: dict[str, Path], tmp_path: Path) -> None:
    cfg = _capacity_config(tmp_path, 3000)
    opts = ["--tier", "village", "--p", "3", "--model", "mclp", "--capacity", "--config", str(cfg)]
    assert main([*_demo_base(demo_inputs), *opts, "--out", str(tmp_path / "o")]) == 0
    props, summ = _outputs(tmp_path / "o")
    assert summ["model"] == "mclp_capacitated" and len(props) == 3
    assert (props["capacity"] == 3000).all() and (props["load"] <= 3000 + 1e-6).all()
    assert max(summ["existing_load"]) <= 3000 + 1e-6  # type: ignore[type-var]
    assert summ["objective"] == pytest.approx(sum(summ["existing_load"]) + props["load"].sum())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("opts", "text"),
    [
        (["--cover", "90", "--model", "pcenter"], "--p"),
        (["--p", "2", "--model", "pcenter", "--capacity"], "capacity"),
        (["--p", "2", "--model", "backup", "--capacity"], "capacity"),
        (["--cover", "90", "--model", "lscp", "--capacity"], "capacity"),
        (["--p", "2", "--weighted"], "weighted"),
        (["--p", "2", "--model", "pcenter", "--backup-require-cover"], "require_cover"),
        (["--p", "2", "--model", "pmedian", "--unreachable", "drop"], "drop"),
    ],
)
def test_bad_option_combinations_exit_2(
    demo_inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], opts: list[str], text: str
) -> None:
    assert main([*_demo_base(demo_inputs), "--tier", "village", *opts, "--out", str(tmp_path / "x")]) == 2
    assert text in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_cost_matrix_pcenter_and_backup_equal_brute_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Brute force over the pairs of the small cost case, with A open (--existing)."""
    pairs = {("D1", "A"): 3, ("D1", "B"): 12, ("D2", "B"): 4, ("D3", "C"): 5, ("D4", "C"): 2, ("D4", "A"): 4,
             ("D5", "B"): 1}  # fmt: skip
    pop = {"D1": 100, "D2": 50, "D3": 20, "D4": 40, "D5": 10, "D6": 999}
    base = [*_cost_case(tmp_path), "--existing", "A"]

    def minutes(dem: str, open_sites: set[str], cutoff: float) -> float:
        return min([cutoff, *(m for (d, s), m in pairs.items() if d == dem and s in open_sites and m <= cutoff)])

    assert main([*base, "--model", "pcenter", "--p", "1", "--unreachable", "cutoff", "--out", str(tmp_path / "c")]) == 0
    props, summ = _outputs(tmp_path / "c")
    best = min(max(minutes(d, {"A", s}, 5.0) for d in pop) for s in ("B", "C"))
    assert summ["model"] == "pcenter" and summ["objective"] == pytest.approx(best)
    assert max(minutes(d, {"A", props["site_id"][0]}, 5.0) for d in pop) == pytest.approx(best)
    assert "最长出行时间" in capsys.readouterr().out
    # backup: points within 5 min of two open sites (A stays), every pair of the other sites
    assert main([*base, "--model", "backup", "--p", "2", "--out", str(tmp_path / "b")]) == 0
    props, summ = _outputs(tmp_path / "b")

    def backed(open_sites: set[str]) -> float:
        return sum(w for d, w in pop.items() if sum((d, s) in pairs and pairs[d, s] <= 5 for s in open_sites) >= 2)

    assert summ["model"] == "backup" and summ["objective"] == pytest.approx(backed({"A", "B", "C"}))
    assert backed({"A", *props["site_id"]}) == pytest.approx(summ["objective"])
    assert main([*base, "--model", "mclp", "--p", "1", "--capacity", "--out", str(tmp_path / "x")]) == 2
    assert "--network" in capsys.readouterr().err
