"""Execute notebooks/demo_county.ipynb with nbclient (the venv's python3 kernel)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from planner.i18n import t as t_

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "demo_county.ipynb"


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    # the notebook only calls the library: no function or class definitions of its own
    assert not any(line.lstrip().startswith(("def ", "class ")) for c in code for line in c.source.splitlines())


def test_notebook_runs(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # the last cell lists the two scenarios saved to and loaded back from the project file
    last = nb.cells[-1].outputs[-1]["data"]["text/plain"]
    assert "方案一" in last
    listing = nb.cells[-2].outputs[-1]["data"]["text/plain"]
    for name in ("report.xlsx", "demand.csv", "coverage.gpkg", "map.html", "project.gpkg", "summary.json"):
        assert name in listing
    # the notebook's figures are the CLI's for the same county (planner demo writes it to files and reads them back)
    from planner.cli import main
    from planner.coverage.figures import HEADLINE_FIGURES

    assert main(["demo", "--out", str(tmp_path / "cli"), "--no-isochrones"]) == 0
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text("utf-8"))["tiers"]
    book = json.loads((tmp_path / "demo-report" / "summary.json").read_text("utf-8"))["tiers"]
    assert {t: {k: s[k] for k in HEADLINE_FIGURES} for t, s in book.items()} == {
        t: {k: s[k] for k in HEADLINE_FIGURES} for t, s in cli.items()
    }
    cli_areas = pd.read_csv(tmp_path / "cli" / "areas.csv", encoding="utf-8-sig")
    book_wb = load_workbook(io.BytesIO((tmp_path / "demo-report" / "report.xlsx").read_bytes()), read_only=True)
    cli_wb = load_workbook(io.BytesIO((tmp_path / "cli" / "report.xlsx").read_bytes()), read_only=True)
    for sheet in ("summary", "townships"):
        name = t_(f"exports.sheet.{sheet}")
        rows_book = [r for r in book_wb[name].iter_rows(values_only=True)][1:]
        rows_cli = [r for r in cli_wb[name].iter_rows(values_only=True)][1:]
        assert rows_book == rows_cli, sheet
    assert len(cli_areas)
