"""Text cells: formula starts quoted for spreadsheets (OWASP), numbers left alone, the quote dropped on reading."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner._text import csv_bytes, neutralise_cell, neutralise_frame, restore_cell
from tests.data.hostile import FORMULAS, NAMES
from tests.data.hostile.exports import csv_rows, formula_text, shown_in_a_sheet


def test_formula_starts_get_a_quote_and_nothing_else_changes() -> None:
    for p in NAMES:
        assert neutralise_cell(p) == shown_in_a_sheet(p)
    assert all(str(neutralise_cell(p)).startswith("'") for p in FORMULAS)
    for value in (-2.0, -3, np.float64(-1.5), True, None, "", "'quoted", "a=1", "示例-1"):
        assert neutralise_cell(value) is value


def test_restore_undoes_neutralise_only() -> None:
    for p in NAMES:
        assert restore_cell(str(neutralise_cell(p))) == p
    assert restore_cell("'quoted") == "'quoted" and restore_cell("'") == "'" and restore_cell("it's") == "it's"


def test_frame_keeps_numbers_and_quotes_text_cells_and_headers() -> None:
    frame = pd.DataFrame(
        {
            "name": pd.Series(list(FORMULAS), dtype="string"),
            "-delta": np.linspace(-2.0, 2.0, len(FORMULAS)),
            "count": np.arange(len(FORMULAS)) - 4,
            "flag": [True, False] * (len(FORMULAS) // 2),
            "mixed": [FORMULAS[0], 1.5, None, "ok", -1, "+x", "", "@y"],
        }
    )
    out = neutralise_frame(frame)
    assert list(out.columns) == ["name", "'-delta", "count", "flag", "mixed"]
    assert list(out["name"]) == [shown_in_a_sheet(p) for p in FORMULAS]
    pd.testing.assert_series_equal(out["'-delta"], frame["-delta"], check_names=False)
    pd.testing.assert_series_equal(out["count"], frame["count"])
    pd.testing.assert_series_equal(out["flag"], frame["flag"])
    assert list(out["mixed"]) == [shown_in_a_sheet(FORMULAS[0]), 1.5, None, "ok", -1, "'+x", "", "'@y"]
    assert list(frame["name"]) == list(FORMULAS)  # the input is not changed
    rows = csv_rows(csv_bytes(frame))
    assert len(rows) == len(frame) + 1 and not formula_text(rows)
    assert [r[2] for r in rows[1:]] == [str(x) for x in frame["count"]]  # "-4" stays a number
