"""Text from input files shown as text in the app's Markdown: one escaper, one way to fill a message.

Streamlit renders Markdown in messages (``st.info``, ``st.warning``...), captions,
``st.markdown`` and the labels and help of widgets, with extensions of its own: LaTeX
between ``$``, coloured text ``:red[...]``, icons ``:material/...:`` and emoji
shortcodes. A station, township or file name from a user's sheet is data, so a name like
``![x](http://example.invalid/x.png)`` must not make the browser fetch a remote image,
``[a](javascript:...)`` must not become a link and ``$x^2$`` must not become LaTeX.

:func:`md_escape` escapes one value; :func:`tm` fills a message template of
:mod:`planner.i18n` with escaped values, so the template keeps its own Markdown and a
value never adds any. The result of :func:`tm` is :class:`Markdown`: a message built
from it (a nested message, a list of them) is not escaped twice. :func:`error_text`
renders a :class:`planner._errors.PlannerError` the same way, so the values an error
names (files, rows, names) are escaped.
:func:`html_text` is the same for a cell of the app's HTML tables.
"""

from __future__ import annotations

import html
import numbers
import re
import string
from collections.abc import Callable, Iterable
from typing import Any

from planner._errors import PlannerError
from planner.i18n import join_names, t

#: Every ASCII punctuation character is backslash-escaped: CommonMark shows each escaped
#: one as itself, and none of them then starts Markdown, LaTeX (``$``), an HTML tag or
#: entity (``<``, ``&``), a Streamlit directive or icon (``:``, ``/``) or a list marker.
_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
#: Line breaks (with the blanks around them) inside a value: a hard line break in
#: Markdown, so that a value's second line cannot start a code block or a heading.
_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|\r|\n)[ \t]*")


class Markdown(str):
    """Text that is Markdown on purpose: a message template filled with escaped values.

    :func:`md_escape` and :func:`tm` return it, and leave a value of this type as it is
    (it is escaped already). Any other ``str`` is data and gets escaped.
    """

    __slots__ = ()


def md_escape(text: object) -> Markdown:
    r"""``text`` (a name, a file name, a plain-text message) escaped for Markdown: shown exactly as written.

    Every ASCII punctuation character gets a backslash and line breaks become Markdown
    line breaks. :class:`Markdown` is returned unchanged (it is escaped already).

    Examples
    --------
    >>> print(md_escape("![x](y.png) $x$"))
    \!\[x\]\(y\.png\) \$x\$
    """
    if isinstance(text, Markdown):
        return text
    escaped = _SPECIAL.sub(r"\\\1", str(text))
    return Markdown(_LINE_BREAK.sub("  \n", escaped))


#: A backslash escape made by :func:`md_escape`.
_ESCAPED = re.compile(r"\\([" + re.escape(string.punctuation) + "])")


def plain_text(text: Markdown) -> str:
    r"""A message made by :func:`md_escape` / :func:`tm` as the reader sees it, for the server log.

    Examples
    --------
    >>> plain_text(md_escape("已新增 NEW-001 ![x](y.png)"))
    '已新增 NEW-001 ![x](y.png)'
    """
    return _ESCAPED.sub(r"\1", text.replace("  \n", "\n"))


def _param(value: Any) -> Any:
    """A message parameter as :func:`tm` passes it on: numbers as they are (format specs apply), text escaped."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return value
    return md_escape(value)


def tm(key: str, /, *, lang: str | None = None, **params: Any) -> Markdown:
    """``t(key, **params)`` for Markdown: the template as written, every text parameter escaped.

    Parameters
    ----------
    key
        Message key of :mod:`planner.i18n`.
    lang
        Language (default: the active one).
    **params
        Values of the message. Numbers are passed as they are; text is escaped with
        :func:`md_escape` unless it is :class:`Markdown` already (a message made by
        :func:`tm`, shown with its own Markdown).
    """
    return Markdown(t(key, lang=lang, **{k: _param(v) for k, v in params.items()}))


def md_names(names: Iterable[object], *, lang: str | None = None) -> Markdown:
    """``names`` joined into one list for a message (:func:`planner.i18n.join_names`), each escaped."""
    return Markdown(join_names((md_escape(x) for x in names), lang=lang))


def html_text(value: object) -> str:
    """A cell from a user's file as HTML text: escaped, its line breaks as ``<br>``.

    The tables are HTML inside Markdown (``planner.app.widgets``): a blank line in a name
    would end the HTML block, and the rest of the table would be read as Markdown.
    """
    return re.sub(r"\r\n|\r|\n", "<br>", html.escape(str(value)))


def error_text(exc: PlannerError, *, clean: Callable[[str], str] | None = None) -> Markdown:
    """The message of a planner error for Markdown: what it names from the user's files escaped.

    An error whose message is its key and parameters is filled with :func:`tm`; one that
    builds its message itself (a list of the problems of a file) is escaped as a whole.
    ``clean`` is applied to the text first (e.g. to take a temporary folder out of it).
    """
    keep: Callable[[str], str] = clean or (lambda x: x)
    if type(exc).message is PlannerError.message:
        return tm(exc.key, **{k: keep(v) if isinstance(v, str) else v for k, v in exc.params.items()})
    return md_escape(keep(exc.message()))
