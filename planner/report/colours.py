"""The colours of the maps, in one place: one hue per tier, graded shades per interval, demand status.

The printed map (:mod:`planner.report.printmap`) reads these; the web map is meant to
read them too, so a tier has the same colour on the screen, in the PNG and in the PDF.

The four tier hues are at least 40° apart on the colour wheel, and none is the red or
green of uncovered / covered demand, so a tier's service circle never reads as a demand
status and two tiers' circles are never confused.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from planner.settings import Tier

__all__ = [
    "ACCESS_CLASS_HEX",
    "COVERED_HEX",
    "NO_ACCESS_HEX",
    "OFF_NETWORK_HEX",
    "TIER_COLOURS",
    "UNCOVERED_HEX",
    "interval_shades",
    "lighten",
]

#: One hue per tier (hex): purple, blue, orange, teal.
TIER_COLOURS: Mapping[Tier, str] = MappingProxyType(
    {
        Tier.COUNTY: "#7b3294",
        Tier.TOWNSHIP: "#2454a6",
        Tier.VILLAGE: "#e66101",
        Tier.ENTERPRISE: "#00897b",
    }
)
#: Demand inside the tier's service circle.
COVERED_HEX = "#33a02c"
#: Demand on the network but outside the circle.
UNCOVERED_HEX = "#e31a1c"
#: Demand too far from any road to be measured.
OFF_NETWORK_HEX = "#969696"

#: Share of the tier colour (over white) of the smallest and the largest interval.
_DARKEST_SHARE = 0.62
_LIGHTEST_SHARE = 0.2


def _rgb(colour: str) -> tuple[float, float, float]:
    """``"#rrggbb"`` as three floats in 0–1 (the web map imports this module: no matplotlib here)."""
    text = colour.lstrip("#")
    if len(text) != 6:
        msg = f"expected a colour as #rrggbb, got {colour!r}"
        raise ValueError(msg)
    r, g, b = (int(text[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    return r, g, b


def lighten(colour: str, *, share: float) -> str:
    """``colour`` (``#rrggbb``) mixed over white, ``share`` of it kept (1: unchanged, 0: white), as hex."""
    if not 0.0 <= share <= 1.0:
        msg = f"share must be within 0 and 1, got {share}"
        raise ValueError(msg)
    mixed = (share * c + (1.0 - share) for c in _rgb(colour))
    return "#" + "".join(f"{round(v * 255):02x}" for v in mixed)


def interval_shades(colour: str, *, n: int) -> tuple[str, ...]:
    """``n`` opaque shades of ``colour``, smallest interval first (darkest) to largest (lightest).

    Parameters
    ----------
    colour
        The tier's colour (:data:`TIER_COLOURS`).
    n
        Number of intervals (at least 1).

    Returns
    -------
    tuple of str
        Hex colours; one interval alone gets the middle shade.
    """
    if n < 1:
        msg = f"n must be at least 1, got {n}"
        raise ValueError(msg)
    if n == 1:
        return (lighten(colour, share=(_DARKEST_SHARE + _LIGHTEST_SHARE) / 2),)
    step = (_DARKEST_SHARE - _LIGHTEST_SHARE) / (n - 1)
    return tuple(lighten(colour, share=_DARKEST_SHARE - k * step) for k in range(n))


#: Accessibility classes on the map, lowest to highest (ColorBrewer YlGnBu, 5 classes:
#: sequential, readable for colour-blind viewers and in grey print); no service in reach
#: is drawn in the off-network grey's darker neighbour.
ACCESS_CLASS_HEX: tuple[str, ...] = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
NO_ACCESS_HEX = "#636363"
