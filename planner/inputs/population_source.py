"""Where a demand point's population comes from: the ``population_source`` column.

A demand sheet may say, per row, whether its population is data or an estimate
(``人口来源``). :func:`planner.inputs.osm_population.extract_demand` fills it;
:func:`planner.inputs.tables.read_demand` reads it back (:func:`parse_sources`), and
the coverage result and the report carry it so that an estimate never passes for data.

Codes (:data:`POPULATION_SOURCES`), with their words in ``planner/i18n/population.toml``
(``population.source.<code>``):

``osm_tag``
    an OpenStreetMap ``population`` tag (data, not estimated);
``estimate``
    estimated from residential buildings, inside the plausible range of its place type;
``estimate_default``
    no buildings: the typical population of its place type;
``typical_low_buildings``
    the typical population of its place type, because the estimate from its buildings
    (kept in the sheet's 建筑估算人口 column) lies below the type's plausible range: OSM
    building data is incomplete there. To be checked;
``estimate_low`` / ``estimate_high``
    estimated, but below / above the plausible range of its place type
    (:data:`planner.inputs.osm_population.PLACE_CATEGORIES`): to be checked.

Any other text (e.g. ``统计年鉴2023``) is kept as written and counts as data.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from planner.i18n import LANGUAGES, t

__all__ = [
    "ESTIMATED_SOURCES",
    "FLAGGED_SOURCES",
    "POPULATION_SOURCES",
    "TYPICAL_SOURCES",
    "estimate_summary",
    "is_estimated",
    "parse_sources",
    "source_word",
]

POPULATION_SOURCES: tuple[str, ...] = (
    "osm_tag",
    "estimate",
    "estimate_default",
    "typical_low_buildings",
    "estimate_low",
    "estimate_high",
)
#: Codes meaning the population is an estimate.
ESTIMATED_SOURCES: frozenset[str] = frozenset(POPULATION_SOURCES) - {"osm_tag"}
#: Estimates that are the typical population of their place type (no buildings, or too few).
TYPICAL_SOURCES: frozenset[str] = frozenset({"estimate_default", "typical_low_buildings"})
#: Estimates outside the plausible range of their place type.
FLAGGED_SOURCES: frozenset[str] = frozenset({"estimate_low", "estimate_high"})


def source_word(code: str, *, lang: str | None = None) -> str:
    """The word for a source code in ``lang`` (e.g. ``估算（偏低，请核实）``); other text as it is."""
    return t(f"population.source.{code}", lang=lang) if code in POPULATION_SOURCES else code


@lru_cache(maxsize=1)
def _codes_by_word() -> dict[str, str]:
    out = {code: code for code in POPULATION_SOURCES}
    for code in POPULATION_SOURCES:
        for lang in LANGUAGES:
            out[_fold(source_word(code, lang=lang))] = code
    return out


def _fold(text: str) -> str:
    """Lower case, no spaces, half-width brackets and commas (so ``估算(偏低,请核实)`` matches)."""
    table = str.maketrans({"（": "(", "）": ")", "，": ",", "　": ""})
    return "".join(text.translate(table).lower().split())


def parse_sources(values: Iterable[object]) -> NDArray[np.object_]:
    """Map each cell to a code of :data:`POPULATION_SOURCES` when it is one's word (either language).

    Empty cells give ``""``; other text is kept (stripped).

    Examples
    --------
    >>> parse_sources(["OSM标注", "估算(偏低，请核实)", "estimate", "统计年鉴", None]).tolist()
    ['osm_tag', 'estimate_low', 'estimate', '统计年鉴', '']
    """
    codes = _codes_by_word()
    out: list[str] = []
    for v in values:
        text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
        out.append(codes.get(_fold(text), text) if text else "")
    return np.asarray(out, dtype=object)


def is_estimated(values: Iterable[object]) -> NDArray[np.bool_]:
    """True where a ``population_source`` value (code or word) says the population is estimated."""
    return np.isin(parse_sources(values), list(ESTIMATED_SOURCES))


def estimate_summary(sources: Iterable[object], population: Iterable[float]) -> dict[str, float | int] | None:
    """How much of the population is estimated, for the summary; None when none is.

    Returns
    -------
    dict or None
        ``points`` (all rows), ``estimated_points``, ``estimated_population``,
        ``typical_points`` (the typical population of their place type,
        :data:`TYPICAL_SOURCES`) and ``flagged_points`` (estimates outside their place
        type's plausible range, :data:`FLAGGED_SOURCES`).
    """
    codes = parse_sources(sources)
    pop = np.asarray(list(population), dtype=np.float64)
    est = np.isin(codes, list(ESTIMATED_SOURCES))
    if not est.any():
        return None
    return {
        "points": len(codes),
        "estimated_points": int(est.sum()),
        "estimated_population": float(pop[est].sum()),
        "typical_points": int(np.isin(codes, list(TYPICAL_SOURCES)).sum()),
        "flagged_points": int(np.isin(codes, list(FLAGGED_SOURCES)).sum()),
    }
