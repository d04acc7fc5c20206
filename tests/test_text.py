"""Tests of planner.app.text: names from input files reach the app's Markdown escaped, templates do not."""

from __future__ import annotations

import re
import string

import pytest

from planner.app.text import Markdown, html_text, md_escape, md_names, plain_text, tm
from planner.i18n import t
from tests.data.hostile import MARKUP, NAMES

_PUNCT = re.escape(string.punctuation)


def _unescape(text: str) -> str:
    """What CommonMark shows for ``text``: a backslash before ASCII punctuation shows that character."""
    return re.sub(rf"\\([{_PUNCT}])", r"\1", text)


def _unescaped_specials(text: str) -> list[str]:
    """ASCII punctuation in ``text`` not preceded by its escaping backslash."""
    out = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in string.punctuation:
            i += 2
            continue
        if text[i] in string.punctuation:
            out.append(text[i])
        i += 1
    return out


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_every_payload_is_escaped_and_shows_as_written(name):
    shown = md_escape(name)
    assert isinstance(shown, Markdown)
    assert not _unescaped_specials(shown), shown  # nothing left that starts Markdown, LaTeX, HTML or a directive
    one_line = re.sub(r"[ \t]*(\r\n|\r|\n)[ \t]*", "  \n", name)  # a line break in a name: a line break shown
    assert _unescape(shown) == one_line


def test_markup_payloads_lose_their_markup():
    image, link, macro = MARKUP[0], MARKUP[1], MARKUP[2]
    assert md_escape(image) == r"\!\[x\]\(http\:\/\/example\.invalid\/x\.png\)"
    assert "](" not in md_escape(link) and "\\(javascript\\:" in md_escape(link)
    assert md_escape(macro) == r"\$\\macro\$"
    # Streamlit's directives and icons start with a colon; its source rewrite of
    # ":material/" (to ":material_") finds nothing once the slash is escaped
    assert ":material/" not in md_escape(":material/warning:")
    assert ":red[" not in md_escape(":red[红色]")


def test_a_second_line_cannot_start_a_block():
    shown = md_escape("甲\n    # 标题\n\n- 项")
    assert shown == "甲  \n\\# 标题  \n  \n\\- 项"


def test_tm_escapes_values_not_the_template():
    name = "![x](http://example.invalid/x.png)"
    shown = tm("app.figures.worst", names=name)
    assert shown == t("app.figures.worst", names=md_escape(name))
    assert name not in shown
    # a message of tm is Markdown on purpose: passed on as it is, never escaped twice
    inner = tm("count.station", count=3)
    assert tm("app.figures.tier_value", tier=Markdown("**a**"), value=inner) == t(
        "app.figures.tier_value", tier="**a**", value=t("count.station", count=3)
    )
    # numbers stay numbers (format specs and plural forms apply)
    assert tm("count.station", count=1, lang="en") == t("count.station", count=1, lang="en")


def test_md_names_escapes_each_name():
    assert md_names(["a_b", "$c$"], lang="zh") == r"a\_b、\$c\$"
    assert md_escape(md_names(["*"])) == md_names(["*"])  # already Markdown: unchanged


def test_a_name_in_an_html_table_cannot_end_the_html_block():
    cell = html_text("甲\r\n\r\n![x](http://example.invalid/x.png)\n<b>")
    assert cell == "甲<br><br>![x](http://example.invalid/x.png)<br>&lt;b&gt;"
    assert "\n" not in cell and "\r" not in cell  # a blank line would end the HTML block: Markdown after it


def test_errors_name_what_they_name_escaped():
    from planner._errors import InputError
    from planner.app.text import error_text
    from planner.inputs._validate import InputProblemsError, Problem

    exc = InputError("app.data.too_large", file="![x](http://example.invalid/x.png)", size_mb="1.0", limit_mb=100)
    assert error_text(exc) == t("app.data.too_large", file=md_escape(exc.params["file"]), size_mb="1\\.0", limit_mb=100)
    assert error_text(exc, clean=lambda x: x.replace("example.invalid", "")) == tm(
        "app.data.too_large", file="![x](http:///x.png)", size_mb="1.0", limit_mb=100
    )
    # an error that lists the problems of a file builds its message itself: escaped as a whole
    problems = InputProblemsError(
        "$a$.csv",
        [Problem(key="inputs.unknown_tier", rows=(2,), params={"value": "[b](javascript:c)", "allowed": "x"})],
    )
    shown = error_text(problems)
    assert "$a$" not in shown and "[b](javascript" not in shown
    assert _unescape(shown) == re.sub(r"[ \t]*(\r\n|\r|\n)[ \t]*", "  \n", problems.message())


def test_plain_text_undoes_the_escapes_for_the_log():
    from tests.data.hostile import NAMES

    for name in NAMES:
        if "\n" not in name and "\r" not in name:
            assert plain_text(md_escape(name)) == name, name
    assert plain_text(md_escape("a\nb")) == "a\nb"
