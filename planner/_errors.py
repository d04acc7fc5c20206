"""One error hierarchy for the planner.

Every error carries a message key from :mod:`planner.i18n` plus parameters, so the
text is rendered in the user's language (Chinese by default) when it is shown.
Classes also inherit from the matching built-in so callers can catch ``ValueError``.
"""

from __future__ import annotations

from typing import Any

#: How many ids an error message lists before "…".
MAX_IDS_IN_MESSAGE = 10


def ids_text(ids: Any) -> str:
    """Ids joined by commas for an error message (at most ``MAX_IDS_IN_MESSAGE``, then "…")."""
    import numpy as np

    vals = [str(v) for v in np.asarray(ids, dtype=object).ravel()]
    more = "" if len(vals) <= MAX_IDS_IN_MESSAGE else f" … (+{len(vals) - MAX_IDS_IN_MESSAGE})"
    return ", ".join(vals[:MAX_IDS_IN_MESSAGE]) + more


class PlannerError(Exception):
    """Base class of every error the planner raises on purpose.

    Parameters
    ----------
    key
        Message key in the i18n catalogue (``planner/i18n/*.toml``).
    **params
        Values substituted into the message (``file``, ``row``, ``column``...).
    """

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(key)

    def message(self, lang: str | None = None) -> str:
        """Return the message in ``lang`` (default: the active language)."""
        from planner.i18n import t

        return t(self.key, lang=lang, **self.params)

    def __str__(self) -> str:
        return self.message()


class InputError(PlannerError, ValueError):
    """A user-supplied file or value is wrong (missing column, bad coordinate...)."""


class NetworkError(PlannerError, ValueError):
    """The road network cannot be used (no edges, unreadable file...)."""


class ConfigError(PlannerError, ValueError):
    """A standard, mode, tier or option is invalid."""


class SitingError(PlannerError, ValueError):
    """A siting problem is ill-posed (p too large, infeasible target...)."""


class SolverError(PlannerError, RuntimeError):
    """The optimisation solver failed or returned an unexpected status."""


class OutputError(PlannerError, OSError):
    """An output cannot be written (disk full, read-only or forbidden folder...); nothing was replaced."""
