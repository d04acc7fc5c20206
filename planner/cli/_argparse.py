"""argparse's own words in the chosen language.

argparse passes every text of its own ("usage: ", "options", "show this help message and
exit", "the following arguments are required: %s"...) through :mod:`gettext`, under the
names ``argparse._`` and ``argparse.ngettext``, when it builds a parser, a help page or
an error. :class:`ArgparseTranslations` is a :class:`gettext.NullTranslations` whose
catalogue is the ``argparse.*`` keys of :mod:`planner.i18n` (``en`` is argparse's
message id, ``zh`` its translation), in the language active at the time of the call;
:func:`argparse_in_language` installs it for argparse while the ``planner`` command
builds and runs its parser, and puts argparse's own functions back afterwards, so other
users of argparse in the same process (pytest, Streamlit) are left as they were.
"""

from __future__ import annotations

import argparse
import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from planner.i18n import PLURAL_FORMS, catalogue, get_language, plural_form

#: Prefix of the i18n keys holding argparse's texts.
PREFIX = "argparse."


@lru_cache(maxsize=1)
def _keys() -> tuple[dict[str, str], dict[str, str]]:
    """Map argparse's message ids to i18n keys: plain messages, and singular forms to the key without variant."""
    plain: dict[str, str] = {}
    plural: dict[str, str] = {}
    for key, entry in catalogue().items():
        if not key.startswith(PREFIX):
            continue
        base, _, form = key.rpartition(".")
        if form in PLURAL_FORMS:
            if form == "one":
                plural[entry["en"]] = base
        else:
            plain[entry["en"]] = key
    return plain, plural


class ArgparseTranslations(gettext.NullTranslations):
    """argparse's messages from the i18n catalogue, in the active language (:func:`planner.i18n.get_language`).

    A message the catalogue does not hold (a newer argparse's, or a text of our own that
    argparse passes through, such as a group title) is returned unchanged.
    """

    def gettext(self, message: str) -> str:
        """``message`` (an argparse message id) in the active language."""
        key = _keys()[0].get(message) if isinstance(message, str) else None
        return catalogue()[key][get_language()] if key else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        """The singular or plural message for ``n`` things in the active language."""
        base = _keys()[1].get(msgid1)
        if base is None:
            return msgid1 if n == 1 else msgid2
        lang = get_language()
        return catalogue()[f"{base}.{plural_form(n, lang=lang)}"][lang]


@contextmanager
def argparse_in_language() -> Iterator[None]:
    """Within the block, argparse builds help and errors in the active language (re-entrant)."""
    names = ("_", "ngettext")
    saved = {name: getattr(argparse, name) for name in names}
    translations = ArgparseTranslations()
    setattr(argparse, "_", translations.gettext)  # noqa: B010 -- argparse's module-level gettext alias
    setattr(argparse, "ngettext", translations.ngettext)  # noqa: B010
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(argparse, name, function)
