"""Accessibility on the web map: classes by population-weighted quintiles, escaped names, the legend."""

from __future__ import annotations

import folium
import numpy as np
import pandas as pd

from planner.report.access_map import access_classes, access_legend_html, add_access
from planner.report.colours import ACCESS_CLASS_HEX, NO_ACCESS_HEX
from planner.settings import Tier


def test_classes_hold_about_a_fifth_of_the_people_each() -> None:
    # ten points of equal population, values 1..10, and two with nothing in reach
    v = np.array([0.0, *range(1, 11), np.nan])
    cls, ranges = access_classes(v, population=np.ones(12))
    assert cls[0] == -1 and cls[-1] == -1
    counts = np.bincount(cls[cls >= 0], minlength=5)
    np.testing.assert_array_equal(counts, [2, 2, 2, 2, 2])
    assert ranges == [(1.0, 2.0), (3.0, 4.0), (5.0, 6.0), (7.0, 8.0), (9.0, 10.0)]
    # population weighting: the heavy point is the middle of the people (ranks 2 % … 100 %)
    cls_w, ranges_w = access_classes(np.array([1.0, 2.0, 3.0]), population=np.array([1.0, 1.0, 98.0]))
    np.testing.assert_array_equal(cls_w, [0, 0, 2])
    assert ranges_w[1] is None and ranges_w[2] == (3.0, 3.0)
    # equal values share a class whatever their order
    cls_t, _ = access_classes(np.array([2.0, 1.0, 2.0, 2.0]), population=np.ones(4))
    assert cls_t[0] == cls_t[2] == cls_t[3] != cls_t[1]


def test_layer_escapes_names_and_colours_by_class() -> None:
    frame = pd.DataFrame(
        {
            "lon": [117.0, 117.01, 117.02],
            "lat": [28.0, 28.01, 28.02],
            "name": ["<img src=x onerror=alert(1)>", "村二", "村三"],
            "population": [100.0, 200.0, 300.0],
            "value": [0.0, 1e-4, 3e-4],
            "normalised": [0.0, 0.5, 1.5],
        }
    )
    m = folium.Map(tiles=None)
    add_access(m, frame, tier=Tier.VILLAGE, lang="zh")
    html = m.get_root().render()
    assert "<img src=x" not in html
    assert "\\u0026lt;img src=x" in html  # escaped HTML, inside JSON that escapes & < > for the script
    # ranks of the two reached points: 200/500 / 2 = 0.2 → class 1, (200 + 150)/500 = 0.7 → class 3
    assert NO_ACCESS_HEX in html and ACCESS_CLASS_HEX[1] in html and ACCESS_CLASS_HEX[3] in html
    assert ACCESS_CLASS_HEX[0] not in html and ACCESS_CLASS_HEX[4] not in html
    legend = access_legend_html(frame, tier=Tier.VILLAGE, method="e2sfca", lang="en")
    assert "E2SFCA" in legend and "no station in reach" in legend and legend.count("<div>") == 6
