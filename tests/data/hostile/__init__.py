"""Hostile inputs, generated: small generators, never large files kept in the repository.

Each module here writes one family of hostile cases into a temporary folder (names that are
formulas or markup, files that expand past the limits, archives with paths outside...). The
tests that use them live beside the module they exercise (``tests/test_<module>.py``); each
fails on the main of before issue 14 and passes since.

:data:`NAMES` are the text payloads found by the hostile-input run: spreadsheet formulas
(OWASP CSV injection, including a DDE command), Markdown that would fetch a remote image or
make a ``javascript:`` link, LaTeX / matplotlib math text, HTML and script, Jinja templates (folium/branca compile
some rendered parts as templates again: ``Q{{ 7*7 }}Q`` must stay literal, never ``Q49Q``), and characters
that break file and layer names.
"""

from __future__ import annotations

#: Names that start a formula in Excel, LibreOffice or a CSV opened in them.
FORMULAS: tuple[str, ...] = (
    '=HYPERLINK("http://x.invalid","y")',
    "=cmd|' /C calc'!A0",
    "=1+1",
    "+1+1",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
)

#: Names that are markup in Markdown, HTML, LaTeX or matplotlib math text.
MARKUP: tuple[str, ...] = (
    "![x](http://example.invalid/x.png)",
    "[clickme](javascript:alert(1))",
    "$\\macro$",
    "$\\x$",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "**粗体** _斜体_ `代码`",
    ":red[红色] :material/warning:",
    "Q{{ 7*7 }}Q",
    "{% for i in range(3) %}x{% endfor %}",
)

#: Names that break file or layer names (GeoPackage layers, download names).
FILE_NAMES: tuple[str, ...] = (
    "#1 方案",
    "-方案",
    "(方案)",
    "$方案",
    "!方案",
    "../../etc/passwd",
    'a/b\\c:d*e?f"g<h>i|j',
    "CON",
    "",
    " ",
)

#: Every text payload, in one tuple (the order is stable: tests index into it).
NAMES: tuple[str, ...] = FORMULAS + MARKUP + FILE_NAMES
