"""All user-facing strings, in Chinese (default) and English, from one place.

The catalogue lives in the ``*.toml`` files beside this module, one file per concern
(``core.toml``, ``inputs.toml``...). Each key maps to a table with ``zh`` and ``en``
strings using ``str.format`` fields. Keys must be unique across files; a test checks
that every key has both languages and the same fields in each.

A message with a number of something has two variants, ``KEY.one`` and ``KEY.other``,
and is looked up as ``t("KEY", count=n)``: English takes ``.one`` when ``n`` is 1 and
``.other`` otherwise ("1 station", "2 stations"); Chinese has no plural and always takes
``.other``. Both variants hold both languages and the same fields.

Examples
--------
>>> from planner.i18n import t, set_language
>>> t("tier.village")
'村（社区）'
>>> t("tier.village", lang="en")
'village / community'
>>> t("count.station", count=1, lang="en"), t("count.station", count=3, lang="en")
('1 station', '3 stations')
"""

from __future__ import annotations

import contextvars
import logging
import numbers
import string
import tomllib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = ("zh", "en")
#: The plural variants a key may have, ``KEY.one`` and ``KEY.other`` (see :func:`plural_form`).
PLURAL_FORMS: tuple[str, ...] = ("one", "other")
DEFAULT_LANGUAGE = "zh"
#: Process-wide language (the CLI, notebooks, the library) ...
_default: list[str] = [DEFAULT_LANGUAGE]
#: ... and the language of the current thread / context once it has set one: each
#: Streamlit script run has its own thread, so sessions in different languages whose
#: runs overlap do not switch each other's strings.
_context: contextvars.ContextVar[str | None] = contextvars.ContextVar("planner_language", default=None)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """Return the merged message catalogue ``{key: {"zh": ..., "en": ...}}``."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(Path(__file__).parent.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for key, entry in _flatten(data):
            if key in merged:
                msg = f"duplicate i18n key {key!r} in {path.name}"
                raise RuntimeError(msg)
            merged[key] = entry
    return merged


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and set(v) >= {"zh", "en"} and all(isinstance(x, str) for x in v.values()):
            out.append((key, {lang: str(v[lang]) for lang in LANGUAGES}))
        elif isinstance(v, dict):
            out.extend(_flatten(v, prefix=f"{key}."))
        else:
            msg = f"i18n entry {key!r} must be a table with 'zh' and 'en'"
            raise RuntimeError(msg)
    return out


def set_language(lang: str) -> None:
    """Set the active language (``"zh"`` or ``"en"``).

    It applies to the calling thread (context) and becomes the process default for
    threads that have not set one themselves.
    """
    if lang not in LANGUAGES:
        msg = f"unknown language {lang!r}; use one of {LANGUAGES}"
        raise ValueError(msg)
    _default[0] = lang
    _context.set(lang)


def get_language() -> str:
    """Return the active language code (this thread's, else the process default)."""
    return _context.get() or _default[0]


def join_names(names: Iterable[object], *, lang: str | None = None) -> str:
    """Join ``names`` into one list for a message in ``lang`` (default active): ``、`` in Chinese, ``, `` in English."""
    return ("、" if (lang or get_language()) == "zh" else ", ").join(str(x) for x in names)


def fields(text: str) -> set[str]:
    """Return the ``str.format`` field names used in ``text``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def plural_form(count: object, *, lang: str | None = None) -> str:
    """The plural variant (``"one"`` or ``"other"``) a message about ``count`` things takes in ``lang``.

    English: ``"one"`` for exactly 1, else ``"other"``; Chinese has no plural and always
    takes ``"other"``. ``count`` may be a number or a number as text (``"1,234"``).
    """
    if (lang or get_language()) != "en":
        return "other"
    if isinstance(count, str):
        try:
            return "one" if float(count.replace(",", "")) == 1 else "other"
        except ValueError:
            return "other"
    return "one" if isinstance(count, numbers.Real) and count == 1 else "other"


def t(key: str, /, *, lang: str | None = None, **params: Any) -> str:
    """Translate ``key`` into ``lang`` (default: active language) and fill ``params``.

    A key with plural variants (``KEY.one`` / ``KEY.other``) picks one by the ``count``
    parameter (:func:`plural_form`). Unknown keys are returned as the key itself (and
    logged) rather than failing, so a missing translation never hides the underlying error.
    """
    cat = catalogue()
    entry = cat.get(key)
    if entry is None and f"{key}.other" in cat:
        if "count" not in params:
            logger.warning("i18n key %s has plural variants but no count was given", key)
        entry = cat[f"{key}.{plural_form(params.get('count'), lang=lang)}"]
    if entry is None:
        logger.warning("missing i18n key %s", key)
        return key + (" " + repr(params) if params else "")
    text = entry[lang or get_language()]
    try:
        return printable(text.format(**params))
    except (KeyError, IndexError, ValueError):
        logger.warning("bad parameters for i18n key %s: %r", key, params)
        return text


def printable(text: str) -> str:
    r"""``text`` that can be written as UTF-8: bytes of a file name that are not UTF-8 shown as ``\xff``.

    On Linux a file name may hold any bytes; Python gives the undecodable ones as lone
    surrogates (``"st\udcff.csv"``), which no encoder accepts. Every message passes
    through here (:func:`t`), so such a name is shown, never a ``UnicodeEncodeError``.

    Examples
    --------
    >>> printable("st\udcff.csv")
    'st\\xff.csv'
    >>> printable("站点.csv")
    '站点.csv'
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:  # the bytes of the name, as the file system has them
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
