"""Text cells of spreadsheets and CSV files: user text written as data, never as a formula.

Station, demand and township names come from sheets many people edit and from OSM, which
anyone may edit. A spreadsheet reads a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return as a formula (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``), in an
``.xlsx`` written by openpyxl and in a CSV opened in Excel or LibreOffice alike.
:func:`neutralise_cell` writes such text with a leading ``'``, as OWASP advises for CSV
injection; every workbook and CSV the planner writes passes its cells and headers through
it (:func:`neutralise_frame`). GeoPackages and JSON keep the text as it is: they are data
formats, no program runs their cells.

The readers undo it (:func:`restore_cell`): a sheet the planner exported and a user
re-imports gives back the names as they were. The cost is that a name that itself begins
with ``'`` and then one of those characters loses its ``'`` on reading; no real name does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FORMULA_STARTS", "TEXT_PREFIX", "csv_bytes", "neutralise_cell", "neutralise_frame", "restore_cell"]

#: First characters that make a spreadsheet read a text cell as a formula.
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: Written before a text cell that begins with one of :data:`FORMULA_STARTS`.
TEXT_PREFIX: str = "'"
#: What follows :data:`TEXT_PREFIX` in a cell :func:`restore_cell` restores: a formula start,
#: or a line feed (an ``.xlsx`` stores a carriage return as one, so ``'\r=1`` reads back ``'\n=1``).
_RESTORED_STARTS: tuple[str, ...] = (*FORMULA_STARTS, "\n")


def neutralise_cell(value: object) -> object:
    """``value`` fit for a spreadsheet cell: text that would start a formula gets a leading ``'``.

    Parameters
    ----------
    value
        A cell value. Only text (``str``) is changed, and only when it begins with one of
        :data:`FORMULA_STARTS`; numbers (``-2.0`` too), booleans and missing values are
        returned as they are.

    Returns
    -------
    object
        ``"'" + value`` for text starting a formula, otherwise ``value``.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return TEXT_PREFIX + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column headers pass :func:`neutralise_cell`.

    Numeric, boolean and datetime columns are kept with their dtypes; text columns
    (object, string or categorical) become object columns.
    """
    out = df.copy()
    for pos in range(out.shape[1]):
        col = out.iloc[:, pos]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        if pd.api.types.is_datetime64_any_dtype(col) or isinstance(col.dtype, pd.PeriodDtype):
            continue
        values = col.to_numpy(dtype=object)
        out.isetitem(pos, np.array([neutralise_cell(v) for v in values], dtype=object))
    out.columns = pd.Index([neutralise_cell(c) for c in out.columns], dtype=object)
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """``df`` as CSV in UTF-8 with BOM (opens correctly in Excel on Chinese Windows), text cells neutralised.

    Every CSV the planner writes is made here: headers and text cells that would start a
    formula get a leading ``'`` (:func:`neutralise_frame`), and rows end in CR LF (RFC 4180),
    so a cell holding a carriage return or a line feed is quoted and cannot start a new
    row (one whose first cell would be a formula). No index column.
    """
    return neutralise_frame(df).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def restore_cell(text: str) -> str:
    """The text a cell held before :func:`neutralise_cell`: a leading ``'`` before a formula start is dropped.

    A ``'`` before a line feed is dropped too: an ``.xlsx`` turns a carriage return into one.

    Used by the readers (:mod:`planner.inputs._decode`), so an exported sheet read back
    gives the names it was written from; any other text is returned unchanged.
    """
    if text.startswith(TEXT_PREFIX) and text[len(TEXT_PREFIX) :].startswith(_RESTORED_STARTS):
        return text[len(TEXT_PREFIX) :]
    return text
