"""Map colours: four clearly different tier hues, graded interval shades, lightening."""

from __future__ import annotations

import colorsys
import itertools

import pytest
from matplotlib.colors import to_rgb

from planner.report.colours import COVERED_HEX, TIER_COLOURS, UNCOVERED_HEX, interval_shades, lighten
from planner.settings import TIERS


def _hue_deg(colour: str) -> float:
    return colorsys.rgb_to_hls(*to_rgb(colour))[0] * 360.0


def _hue_gap(a: str, b: str) -> float:
    d = abs(_hue_deg(a) - _hue_deg(b)) % 360.0
    return min(d, 360.0 - d)


def test_every_tier_has_its_own_hue_apart_from_the_demand_colours() -> None:
    assert set(TIER_COLOURS) == set(TIERS)
    for a, b in itertools.combinations(TIERS, 2):
        assert _hue_gap(TIER_COLOURS[a], TIER_COLOURS[b]) >= 40.0, (a, b)
    # a tier's circle never reads as covered (green) demand, nor the village circle as the red of uncovered
    for tier in TIERS:
        assert _hue_gap(TIER_COLOURS[tier], COVERED_HEX) >= 40.0, tier
        assert _hue_gap(TIER_COLOURS[tier], UNCOVERED_HEX) >= 20.0, tier


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_interval_shades_go_from_dark_to_light_in_the_same_hue(n: int) -> None:
    colour = TIER_COLOURS[TIERS[2]]
    shades = interval_shades(colour, n=n)
    assert len(shades) == n == len(set(shades))
    lightness = [colorsys.rgb_to_hls(*to_rgb(c))[1] for c in shades]
    assert lightness == sorted(lightness)  # smallest interval darkest
    assert all(_hue_gap(c, colour) < 3.0 for c in shades)
    with pytest.raises(ValueError, match="at least 1"):
        interval_shades(colour, n=0)


def test_lighten() -> None:
    assert lighten("#336699", share=1.0) == "#336699"
    assert lighten("#336699", share=0.0) == "#ffffff"
    assert lighten("#000000", share=0.5) == "#808080"
    with pytest.raises(ValueError, match="within 0 and 1"):
        lighten("#000000", share=1.5)
