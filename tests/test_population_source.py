"""Tests for planner.inputs.population_source: the 人口来源 words, both languages, and the summary."""

from __future__ import annotations

import numpy as np
import pytest

from planner.i18n import LANGUAGES
from planner.inputs.population_source import (
    ESTIMATED_SOURCES,
    POPULATION_SOURCES,
    estimate_summary,
    is_estimated,
    parse_sources,
    source_word,
)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_words_round_trip(lang: str) -> None:
    words = [source_word(c, lang=lang) for c in POPULATION_SOURCES]
    assert len(set(words)) == len(words)
    assert parse_sources(words).tolist() == list(POPULATION_SOURCES)


def test_parse_variants_and_other_text() -> None:
    got = parse_sources(
        [
            "  OSM标注 ",
            "估算(偏低,请核实)",
            "ESTIMATE",
            "Estimate (implausibly low, check)",
            "统计年鉴2023",
            "",
            None,
            float("nan"),
        ]
    )
    assert got.tolist() == ["osm_tag", "estimate_low", "estimate", "estimate_low", "统计年鉴2023", "", "", ""]
    assert source_word("统计年鉴2023") == "统计年鉴2023"


def test_is_estimated_and_summary() -> None:
    values = ["OSM标注", "估算", "估算（类型典型值）", "估算（偏高，请核实）", "统计年鉴", ""]
    np.testing.assert_array_equal(is_estimated(values), [False, True, True, True, False, False])
    assert set(POPULATION_SOURCES) > ESTIMATED_SOURCES
    s = estimate_summary(values, [100.0, 200.0, 300.0, 400.0, 500.0, 600.0])
    assert s == {"points": 6, "estimated_points": 3, "estimated_population": 900.0, "flagged_points": 1}
    assert estimate_summary(["OSM标注", "", "统计年鉴"], [1.0, 2.0, 3.0]) is None
