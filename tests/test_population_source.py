"""Tests for planner.inputs.population_source: the 人口来源 words, both languages, and the summary."""

from __future__ import annotations

import numpy as np
import pytest

from planner.i18n import LANGUAGES
from planner.inputs.population_source import (
    ESTIMATED_SOURCES,
    FLAGGED_SOURCES,
    POPULATION_SOURCES,
    TYPICAL_SOURCES,
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


def test_typical_for_too_few_buildings_is_its_own_source() -> None:
    """The typical value standing in for a building estimate below the range: a word of its own, both ways."""
    got = parse_sources(
        [
            "估算（建筑数据不全，按类型典型值，请核实）",
            "估算(建筑数据不全,按类型典型值,请核实)",
            "estimate (building data incomplete: typical for its type, check)",
            "typical_low_buildings",
        ]
    )
    assert set(got.tolist()) == {"typical_low_buildings"}
    assert source_word("typical_low_buildings", lang="zh") == "估算（建筑数据不全，按类型典型值，请核实）"
    assert "typical_low_buildings" in ESTIMATED_SOURCES and "typical_low_buildings" in TYPICAL_SOURCES
    # its population lies inside the type's range: not counted with the estimates outside it
    assert not TYPICAL_SOURCES & FLAGGED_SOURCES


def test_is_estimated_and_summary() -> None:
    values = ["OSM标注", "估算", "估算（类型典型值）", "估算（偏高，请核实）", "统计年鉴", "", "typical_low_buildings"]
    np.testing.assert_array_equal(is_estimated(values), [False, True, True, True, False, False, True])
    assert set(POPULATION_SOURCES) > ESTIMATED_SOURCES
    s = estimate_summary(values, [100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 3000.0])
    assert s == {
        "points": 7,
        "estimated_points": 4,
        "estimated_population": 3900.0,
        "typical_points": 2,
        "flagged_points": 1,
    }
    assert estimate_summary(["OSM标注", "", "统计年鉴"], [1.0, 2.0, 3.0]) is None
