"""Execute notebooks/demo_county.ipynb with nbclient (the venv's python3 kernel)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    for name in ("report.xlsx", "demand.csv", "layers.gpkg", "map.html", "project.gpkg"):
        assert name in listing
