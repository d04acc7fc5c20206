"""A small streaming ``.xlsx`` writer for the report workbook: whole columns at a time, no cell objects.

:func:`planner.report.exports.excel_workbook` writes sheets of up to some 10⁵ rows (the gaps and
the accessibility of every demand point). openpyxl builds a Python object per cell and
serialises it through ElementTree: some 30 µs a cell, most of a ``planner coverage`` run on
a 50,000-point county. This module writes the same workbook parts (SpreadsheetML, ECMA-376)
as text, a column at a time: one title row merged across the columns (bold, 14 pt), a
header row (bold, filled, centred, wrapped), the data rows with a number format per column,
a grey italic note when a sheet has no rows, fitted column widths, panes frozen below the
header and an auto-filter over the table. Text goes in inline strings; characters XML
cannot carry (control characters) are dropped, and a text longer than a cell holds is cut
to :data:`MAX_CELL_CHARS`. Numbers are written as openpyxl writes them (``%.16g``), so a
workbook read back gives the values it gave before.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np

__all__ = ["Column", "Sheet", "column_letter", "workbook_bytes"]

#: Most characters a cell holds (Excel's limit).
MAX_CELL_CHARS: int = 32_767
#: Characters XML 1.0 cannot carry.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_FIRST_CUSTOM_FORMAT = 164
# cellXfs: 0 plain, 1 title, 2 header, 3 "none" note, then one per number format
_XF_TITLE, _XF_HEADER, _XF_NOTE, _XF_FORMATS = 1, 2, 3, 4


@dataclass(frozen=True)
class Column:
    """One column of data: its values and number format.

    Attributes
    ----------
    values
        Cell values: ``float``/``int``/``bool``/``str`` or ``None`` (an empty cell), or a
        float, integer or boolean array (NaN and ±inf: empty).
    number_format
        Excel number format code (``"#,##0"``, ``"0.0%"``), ``None`` for General.
    """

    values: Sequence[object] | np.ndarray
    number_format: str | None = None


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a title row, a header row and the columns below it."""

    name: str
    title: str
    headers: Sequence[str]
    columns: Sequence[Column]
    widths: Sequence[float]
    n_rows: int
    empty_note: str = ""


def column_letter(index: int) -> str:
    """Spreadsheet column letters of a 1-based ``index`` (1 → A, 27 → AA)."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _text(value: str) -> str:
    return _texts([value])[0]


def _texts(values: list[str]) -> list[str]:
    """Inline-string bodies (``<is>…</is>``) of many texts, escaped in one pass over all of them."""
    if not values:
        return []
    if max(map(len, values)) > MAX_CELL_CHARS:
        values = [v[:MAX_CELL_CHARS] for v in values]
    joined = "\x00".join(values)  # NUL cannot be in XML text, so it separates safely once illegal ones are gone
    if _ILLEGAL.search(joined.replace("\x00", "")):
        joined = "\x00".join(_ILLEGAL.sub("", v) for v in values)
    return [f'<is><t xml:space="preserve">{e}</t></is>' for e in escape(joined).split("\x00")]


def _cells(col: Column, letter: str, *, first_row: int, n_rows: int, style: int) -> list[str]:
    """The ``<c>`` elements of one column, row by row ("" for an empty unstyled cell)."""
    s = f' s="{style}"' if style else ""
    empty = f'<c r="{letter}{{row}}"{s}/>' if style else ""
    rows = range(first_row, first_row + n_rows)
    values = col.values
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        if values.dtype.kind == "b":
            flags = values.tolist()
            return [f'<c r="{letter}{r}"{s} t="b"><v>{int(v)}</v></c>' for r, v in zip(rows, flags, strict=True)]
        if values.dtype.kind == "f":
            finite = np.isfinite(values).tolist()
            return [
                f'<c r="{letter}{r}"{s} t="n"><v>{v:.16g}</v></c>' if ok else (empty.format(row=r) if empty else "")
                for r, v, ok in zip(rows, values.tolist(), finite, strict=True)
            ]
        return [f'<c r="{letter}{r}"{s} t="n"><v>{v:.16g}</v></c>' for r, v in zip(rows, values.tolist(), strict=True)]
    out: list[str] = []
    text_at: list[int] = []
    texts: list[str] = []
    for r, v in zip(rows, values, strict=True):
        if isinstance(v, str) and v:
            text_at.append(len(out))
            texts.append(v)
            out.append("")
        elif isinstance(v, bool | np.bool_):
            out.append(f'<c r="{letter}{r}"{s} t="b"><v>{int(v)}</v></c>')
        elif isinstance(v, float | np.floating) and math.isfinite(v):
            out.append(f'<c r="{letter}{r}"{s} t="n"><v>{float(v):.16g}</v></c>')
        elif isinstance(v, int | np.integer):
            out.append(f'<c r="{letter}{r}"{s} t="n"><v>{int(v):.16g}</v></c>')
        elif v is None or isinstance(v, str | float | np.floating):  # empty, "", NaN, ±inf
            out.append(empty.format(row=r) if empty else "")
        else:
            text_at.append(len(out))
            texts.append(str(v))
            out.append("")
    for k, body in zip(text_at, _texts(texts), strict=True):
        out[k] = f'<c r="{letter}{first_row + k}"{s} t="inlineStr">{body}</c>'
    return out


def _sheet_xml(sheet: Sheet, formats: dict[str, int]) -> str:
    n_cols = max(len(sheet.headers), 1)
    letters = [column_letter(j) for j in range(1, n_cols + 1)]
    parts = [
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">',
        # the used range: read-only readers (openpyxl's) pad every row to it, empty cells included
        f'<dimension ref="A1:{letters[-1]}{2 + sheet.n_rows if sheet.n_rows else (3 if sheet.empty_note else 2)}"/>',
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="2" topLeftCell="A3" activePane="bottomLeft" '
        'state="frozen"/><selection pane="bottomLeft" activeCell="A3" sqref="A3"/></sheetView></sheetViews>',
    ]
    if sheet.widths:
        parts.append("<cols>")
        parts += [f'<col min="{j}" max="{j}" width="{w:g}" customWidth="1"/>' for j, w in enumerate(sheet.widths, 1)]
        parts.append("</cols>")
    parts.append("<sheetData>")
    parts.append(f'<row r="1"><c r="A1" s="{_XF_TITLE}" t="inlineStr">{_text(sheet.title)}</c></row>')
    header = "".join(
        f'<c r="{letters[j]}2" s="{_XF_HEADER}" t="inlineStr">{_text(h)}</c>' for j, h in enumerate(sheet.headers)
    )
    parts.append(f'<row r="2">{header}</row>')
    if sheet.n_rows:
        columns = [
            _cells(col, letters[j], first_row=3, n_rows=sheet.n_rows,
                   style=formats[col.number_format] if col.number_format else 0)
            for j, col in enumerate(sheet.columns)
        ]  # fmt: skip
        for r, cells in enumerate(zip(*columns, strict=True), start=3):
            parts.append(f'<row r="{r}">{"".join(cells)}</row>')
    elif sheet.empty_note:
        parts.append(f'<row r="3"><c r="A3" s="{_XF_NOTE}" t="inlineStr">{_text(sheet.empty_note)}</c></row>')
    parts.append("</sheetData>")
    if sheet.headers and sheet.n_rows:
        parts.append(f'<autoFilter ref="A2:{letters[len(sheet.headers) - 1]}{2 + sheet.n_rows}"/>')
    if n_cols > 1:
        parts.append(f'<mergeCells count="1"><mergeCell ref="A1:{letters[-1]}1"/></mergeCells>')
    parts.append("</worksheet>")
    return "".join(parts)


def _styles_xml(formats: dict[str, int]) -> str:
    num_fmts = "".join(
        f'<numFmt numFmtId="{_FIRST_CUSTOM_FORMAT + k}" formatCode={quoteattr(code)}/>'
        for k, code in enumerate(formats)
    )
    format_xfs = "".join(
        f'<xf numFmtId="{_FIRST_CUSTOM_FORMAT + k}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        for k in range(len(formats))
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
        f'<numFmts count="{len(formats)}">{num_fmts}</numFmts>'
        '<fonts count="4"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><i/><sz val="11"/><color rgb="FF808080"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
        '</fill><fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/></patternFill></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{_XF_FORMATS + len(formats)}">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="0" fontId="2" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" '
        'applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
        '<xf numFmtId="0" fontId="3" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        f"{format_xfs}</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    )


def _quoted_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def workbook_bytes(sheets: Sequence[Sheet], *, title: str, creator: str, compresslevel: int = 1) -> bytes:
    """The ``.xlsx`` file of ``sheets`` (in order), with the document's title and creator.

    ``compresslevel`` is zlib's (1: fast; the XML of large sheets compresses well anyway).
    """
    formats: dict[str, int] = {}
    for sheet in sheets:
        for col in sheet.columns:
            if col.number_format and col.number_format not in formats:
                formats[col.number_format] = _XF_FORMATS + len(formats)
    names = [escape(s.name, {'"': "&quot;"}) for s in sheets]
    sheet_list = "".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1))
    defined = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{escape(_quoted_sheet(s.name))}!$A$2:${column_letter(len(s.headers))}${2 + s.n_rows}</definedName>"
        for i, s in enumerate(sheets)
        if s.headers and s.n_rows
    )
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheet_list}</sheets>'
        + (f"<definedNames>{defined}</definedNames>" if defined else "")
        + "</workbook>"
    )
    wb_rels = (
        "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        + f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
    )
    sheet_types = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f"{sheet_types}"
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>'
    )
    root_rels = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
        'core-properties" Target="docProps/core.xml"/></Relationships>'
    )
    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties '
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(_ILLEGAL.sub('', title))}</dc:title>"
        f"<dc:creator>{escape(_ILLEGAL.sub('', creator))}</dc:creator></cp:coreProperties>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        zf.writestr("[Content_Types].xml", content_types)
        zf.writestr("_rels/.rels", root_rels)
        zf.writestr("docProps/core.xml", core)
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f'<Relationships xmlns="{_PKG_REL}">{wb_rels}</Relationships>')  # fmt: skip
        zf.writestr("xl/styles.xml", _styles_xml(formats))
        for i, sheet in enumerate(sheets, 1):
            zf.writestr(f"xl/worksheets/sheet{i}.xml", _sheet_xml(sheet, formats))
    return buf.getvalue()
