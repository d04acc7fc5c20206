"""The streaming ``.xlsx`` writer: read back with openpyxl, cell by cell, against the values given."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pytest

from planner.report._xlsx import MAX_CELL_CHARS, Column, Sheet, column_letter, workbook_bytes


def _sheet(n_rows: int, seed: int) -> tuple[Sheet, list[list[object]]]:
    rng = np.random.default_rng(seed)
    floats = rng.normal(0, 1e4, n_rows)
    floats[rng.random(n_rows) < 0.2] = np.nan
    ints = rng.integers(-(10**9), 10**9, n_rows)
    flags = rng.random(n_rows) < 0.5
    words = ["塘湾镇", " lead space", "a&b<c>\"'", "", "多\n行", "x" * 10]
    texts: list[object] = [words[k] if k < len(words) else None for k in rng.integers(0, len(words) + 2, n_rows)]
    mixed: list[object] = [[1.5, 7, True, None, "t", np.float64(2.25), np.int64(3)][k % 7] for k in range(n_rows)]
    cols = [
        Column(values=floats, number_format="#,##0"),
        Column(values=ints),
        Column(values=flags),
        Column(values=texts, number_format="@"),
        Column(values=mixed, number_format="0.0%"),
    ]
    sheet = Sheet(name="汇总 'A'", title="标题 & title", headers=["浮点", "int", "bool", "文字", "mixed"],
                  columns=cols, widths=[10, 12, 8, 20, 9.5], n_rows=n_rows, empty_note="无")  # fmt: skip
    expected = []
    for i in range(n_rows):
        f = floats[i]
        text = texts[i]
        m = mixed[i]
        expected.append([
            None if np.isnan(f) else float(f"{f:.16g}"),
            int(ints[i]),
            bool(flags[i]),
            None if text in (None, "") else text,
            m.item() if isinstance(m, np.generic) else m,
        ])  # fmt: skip
    return sheet, expected


@pytest.mark.parametrize("seed", [0, 1])
def test_cells_read_back(seed: int) -> None:
    sheet, expected = _sheet(300, seed)
    empty = Sheet(name="Empty", title="t", headers=["a", "b"], columns=[Column([]), Column([])], widths=[8, 8],
                  n_rows=0, empty_note="none")  # fmt: skip
    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes([sheet, empty], title="T", creator="C")))
    assert wb.sheetnames == ["汇总 'A'", "Empty"]
    ws = wb["汇总 'A'"]
    assert ws["A1"].value == "标题 & title" and ws["A1"].font.b and ws["A1"].font.sz == 14
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:E1"]
    assert [c.value for c in ws[2]] == sheet.headers and all(c.font.b for c in ws[2])
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:E302"
    assert [ws.column_dimensions[column_letter(j)].width for j in range(1, 6)] == [10, 12, 8, 20, 9.5]
    got = [[c.value for c in row] for row in ws.iter_rows(min_row=3, max_col=5)]
    for g, e in zip(got, expected, strict=True):
        assert g[0] == pytest.approx(e[0], rel=0, abs=0) if e[0] is not None else g[0] is None
        assert g[1:] == e[1:]
        assert all(type(a) is type(b) for a, b in zip(g[1:], e[1:], strict=True))
    formats = {ws.cell(row=r, column=1).number_format for r in range(3, 303) if ws.cell(row=r, column=1).value}
    assert formats == {"#,##0"}
    assert ws.cell(row=3, column=2).number_format == "General"
    assert {ws.cell(row=r, column=5).number_format for r in range(3, 303)} == {"0.0%"}
    e = wb["Empty"]
    assert e["A3"].value == "none" and e["A3"].font.i
    assert wb.properties.title == "T" and wb.properties.creator == "C"


def test_text_is_cleaned_and_cut() -> None:
    long = "长" * (MAX_CELL_CHARS + 10)
    sheet = Sheet(name="s", title="t", headers=["a"], columns=[Column(["bell\x07x", long, "=SUM(A1)"])],
                  widths=[8], n_rows=3)  # fmt: skip
    ws = openpyxl.load_workbook(io.BytesIO(workbook_bytes([sheet], title="t", creator="c")))["s"]
    assert ws["A3"].value == "bellx"
    assert ws["A4"].value == "长" * MAX_CELL_CHARS
    assert ws["A5"].value == "=SUM(A1)" and ws["A5"].data_type == "s"  # written as text, never a formula


def test_column_letters() -> None:
    assert [column_letter(j) for j in (1, 26, 27, 52, 53, 702, 703)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_read_only_rows_are_as_wide_as_the_header() -> None:
    """Trailing empty cells still count: a read-only reader pads every row to the used range."""
    sheet = Sheet(
        name="s", title="标题", headers=["a", "b", "c"], widths=[8, 8, 8], n_rows=2,
        columns=[Column([1.0, 2.0]), Column([None, "x"]), Column([None, None])],
    )  # fmt: skip
    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes([sheet], title="t", creator="c")), read_only=True)
    rows = [list(r) for r in wb["s"].iter_rows(values_only=True)]
    assert [len(r) for r in rows] == [3, 3, 3, 3]
    assert rows[2:] == [[1, None, None], [2, "x", None]]
