"""``planner access`` end to end: cost-matrix and network inputs, outputs, clean failures (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.cli import main
from planner.demo.county import write_demo
from planner.workspace.workspace import Workspace


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_demo(tmp_path_factory.mktemp("demo"))


def _cost_case(tmp_path: Path, *, supply: str = "站点编号,规模\nA,10\nB,4\nC,6\n") -> list[str]:
    (tmp_path / "cm.csv").write_text(
        "demand_id,site_id,minutes\nD1,A,3\nD1,B,12\nD2,B,4\nD3,C,5\nD4,C,2\nD4,A,4\nD5,B,40\n", encoding="utf-8"
    )
    (tmp_path / "d.csv").write_text(
        "编号,人口,经度,纬度,乡镇\nD1,100,117,28,甲\nD2,50,117.01,28,甲\nD3,20,117.02,28,乙\nD4,40,117.03,28,乙\n"
        "D5,10,117.04,28,乙\n",
        encoding="gbk",
    )
    (tmp_path / "s.csv").write_text(supply, encoding="utf-8")
    return ["access", "--cost-matrix", str(tmp_path / "cm.csv"), "--demand", str(tmp_path / "d.csv"),
            "--supply", str(tmp_path / "s.csv")]  # fmt: skip


def _read(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, object]]:
    acc = pd.read_csv(out / "access.csv", encoding="utf-8-sig", dtype={"id": str})
    eq = pd.read_csv(out / "equity.csv", encoding="utf-8-sig", keep_default_na=False)
    return acc, eq, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_cost_matrix_2sfca_by_hand(tmp_path: Path) -> None:
    assert main([*_cost_case(tmp_path), "--catchment", "15", "--out", str(tmp_path / "o")]) == 0
    acc, eq, summ = _read(tmp_path / "o")
    assert list(acc.columns[:3]) == ["id", "value", "normalised"]
    assert {"name", "township", "population"} <= set(acc.columns)
    # catchment 15: A serves D1, D4 (140 people), B serves D1, D2 (150), C serves D3, D4 (60); D5 is 40 min away
    r_a, r_b, r_c = 10 / 140, 4 / 150, 6 / 60
    expected = {"D1": r_a + r_b, "D2": r_b, "D3": r_c, "D4": r_a + r_c, "D5": 0.0}
    got = dict(zip(acc["id"], acc["value"], strict=True))
    for k, v in expected.items():
        assert got[k] == pytest.approx(v)
    mean = sum(expected[k] * p for k, p in zip(expected, (100, 50, 20, 40, 10), strict=True)) / 220
    assert mean == pytest.approx(20 / 220)  # all supply is handed out once: Σ P·A = Σ S
    assert summ["method"] == "2sfca" and summ["parameters"] == {"catchment_min": 15.0}
    assert summ["mean"] == pytest.approx(mean)
    np.testing.assert_allclose(acc["normalised"], acc["value"] / mean)
    assert 0 < summ["gini"] < 1 and summ["palma"] is not None  # type: ignore[operator]
    assert eq["township"].tolist() == ["", "甲", "乙"]
    assert float(eq["within_population"].iloc[0]) == 210  # everyone but D5 (nearest 40 min) within 15
    assert float(eq["unreached_population"].iloc[0]) == 0


def test_cost_matrix_e2sfca_steps_and_gravity(tmp_path: Path) -> None:
    args = _cost_case(tmp_path)
    assert (
        main([*args, "--method", "e2sfca", "--steps", "3:1,15:0.5", "--catchment", "15", "--out", str(tmp_path / "e")])
        == 0
    )
    acc, _, summ = _read(tmp_path / "e")
    assert summ["parameters"] == {"catchment_min": 15.0, "steps": [[3.0, 1.0], [15.0, 0.5]]}
    # A: D1 at 3 (w 1), D4 at 4 (0.5) → 120; B: D1 at 12 (0.5), D2 at 4 (0.5) → 75; C: D3 (0.5), D4 at 2 (1) → 50
    d1 = 1 * 10 / 120 + 0.5 * 4 / 75
    assert dict(zip(acc["id"], acc["value"], strict=True))["D1"] == pytest.approx(d1)
    assert main([*args, "--method", "gravity", "--beta", "2", "--catchment", "inf", "--out", str(tmp_path / "g")]) == 0
    acc, _, summ = _read(tmp_path / "g")
    assert summ["parameters"]["beta"] == 2.0  # type: ignore[index]
    assert dict(zip(acc["id"], acc["value"], strict=True))["D5"] > 0  # no cutoff: D5 reaches B


def test_no_supply_column_counts_one_per_station(tmp_path: Path) -> None:
    args = _cost_case(tmp_path, supply="site_id,supply\nA,1\nB,1\nC,1\n")
    assert main([*args, "--minutes", "15", "--out", str(tmp_path / "o")]) == 0
    _, _, summ = _read(tmp_path / "o")
    assert summ["mean"] == pytest.approx(3 / 220)


@pytest.mark.parametrize(
    ("extra", "supply", "needle"),
    [
        (["--catchment", "15", "--steps", "10:x"], None, "10:x"),
        (["--catchment", "-3"], None, "-3"),
        (["--catchment", "15"], "站点编号,规模\nA,10\nB,-4\nC,6\n", "-4"),
        (["--catchment", "15"], "站点编号,规模\nA,10\nB,4\n", "C"),  # the cost matrix names a site the file lacks
        ([], None, "--catchment"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], supply: str | None, needle: str
) -> None:
    args = _cost_case(tmp_path) if supply is None else _cost_case(tmp_path, supply=supply)
    assert main([*args, *extra, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cost_matrix_needs_a_supply_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _cost_case(tmp_path)[:-2]
    assert main([*args, "--catchment", "15", "--lang", "en", "--out", str(tmp_path / "o")]) == 2
    assert "--supply" in capsys.readouterr().err


def test_network_access_is_the_workspace_s(demo_inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o"
    args = ["access", "--network", str(demo_inputs["roads"]), "--stations", str(demo_inputs["stations"]),
            "--demand", str(demo_inputs["demand"]), "--areas", str(demo_inputs["townships"]), "--tier", "village",
            "--method", "e2sfca", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    acc, eq, summ = _read(out)
    ws, sc = Workspace.from_files(
        network=demo_inputs["roads"], stations=demo_inputs["stations"], demand=demo_inputs["demand"],
        areas=demo_inputs["townships"],
    )  # fmt: skip
    frame = ws.accessibility(sc.stations, tier="village", method="e2sfca")
    np.testing.assert_allclose(acc["value"].to_numpy(), frame["value"].to_numpy(), rtol=1e-12)
    assert summ["mean"] == pytest.approx(frame.attrs["summary"]["mean"], rel=1e-12)
    assert summ["tier"] == "village" and summ["parameters"]["steps"] == [[5.0, 1.0], [10.0, 0.68], [15.0, 0.22]]  # type: ignore[index]
    result = ws.evaluate(sc.stations, tiers=("village",))  # type: ignore[arg-type]
    assert float(eq["within_population"].iloc[0]) == result.summary["tiers"]["village"]["covered_population"]


def test_network_access_refuses_a_supply_file(
    demo_inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["access", "--network", str(demo_inputs["roads"]), "--stations", str(demo_inputs["stations"]),
            "--demand", str(demo_inputs["demand"]), "--tier", "village", "--supply", "x.csv",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 2
    assert "--supply" in capsys.readouterr().err
