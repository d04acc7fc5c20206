"""Accessibility on the web map: demand points graded by their access value, and the legend's classes.

The classes are population-weighted quintiles of the normalised value (1 = the
population-weighted mean; :mod:`planner.coverage.access`): each class holds about a fifth
of the people who have some service in reach (equal values share a class), so the map
shows who is in the lowest fifth rather than where the points are dense. Points with no station in reach (value 0)
are a class of their own.
"""

from __future__ import annotations

import html
from typing import Any

import folium
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.i18n import t
from planner.report.colours import ACCESS_CLASS_HEX, NO_ACCESS_HEX
from planner.report.webmap import _swatch
from planner.report.webmap_layers import _fmt_int, _Layer, _points
from planner.settings import Tier

__all__ = ["ACCESS_PANE", "access_classes", "access_legend_html", "add_access", "add_access_pane"]

#: The map pane of the accessibility circles: above the station badges (Leaflet's marker
#: pane is at 600), so that a village's class is not hidden under its own station.
ACCESS_PANE = "planner-access"
ACCESS_PANE_Z = 620


def access_classes(
    normalised: NDArray[np.float64], *, population: NDArray[np.float64], n: int = len(ACCESS_CLASS_HEX)
) -> tuple[NDArray[np.int64], list[tuple[float, float] | None]]:
    """Class of each point (0 … n-1, ``-1``: nothing in reach) and each class's value range.

    A point's class is its population-weighted percentile rank among the points with
    some service in reach, taken at the middle of its own population (and of everyone
    with the same value, so equal values share a class): class ``k`` holds the people
    ranked between ``k/n`` and ``(k+1)/n``. The ranges are the smallest and largest
    value in each class (``None`` for an empty class).
    """
    v = np.asarray(normalised, dtype=np.float64)
    w = np.clip(np.nan_to_num(np.asarray(population, dtype=np.float64)), 0.0, None)
    some = np.isfinite(v) & (v > 0)
    cls = np.full(len(v), -1, dtype=np.int64)
    if not some.any():
        return cls, [None] * n
    vals = v[some]
    wk = w[some] if w[some].sum() > 0 else np.ones(len(vals))
    uniq, inverse = np.unique(vals, return_inverse=True)
    per_value = np.bincount(inverse, weights=wk, minlength=len(uniq))
    below = np.cumsum(per_value) - per_value
    mid_rank = (below + per_value / 2.0) / per_value.sum()
    cls[some] = np.minimum((mid_rank[inverse] * n).astype(np.int64), n - 1)
    ranges: list[tuple[float, float] | None] = []
    for k in range(n):
        in_k = vals[cls[some] == k]
        ranges.append((float(in_k.min()), float(in_k.max())) if len(in_k) else None)
    return cls, ranges


def _class_labels(ranges: list[tuple[float, float] | None], *, lang: str | None) -> list[str]:
    labels = []
    for r in ranges:
        if r is None:
            labels.append("—")
        elif r[0] == r[1]:
            labels.append(f"{r[0]:.2f}")
        else:
            labels.append(t("app.access.class", lang=lang, low=f"{r[0]:.2f}", high=f"{r[1]:.2f}"))
    return labels


def access_legend_html(frame: pd.DataFrame, *, tier: Tier, method: str, lang: str | None) -> str:
    """Legend rows (HTML) of the accessibility classes of ``frame`` (one heading, one row per class)."""
    _cls, ranges = access_classes(frame["normalised"].to_numpy(float), population=frame["population"].to_numpy(float))
    tier_name = t(f"tier.{tier}", lang=lang)
    head = t("app.access.legend", lang=lang, tier=tier_name, method=t(f"access.method.{method}", lang=lang))
    rows = [f'<div style="font-weight:600;margin-top:4px">{html.escape(head)}</div>']
    for colour, label in zip(ACCESS_CLASS_HEX[::-1], _class_labels(ranges, lang=lang)[::-1], strict=False):
        rows.append(f"<div>{_swatch(colour, round_=True)}{html.escape(label)}</div>")
    rows.append(f"<div>{_swatch(NO_ACCESS_HEX, round_=True)}{html.escape(t('app.access.none', lang=lang))}</div>")
    return "".join(rows)


def add_access(m: folium.Map, frame: pd.DataFrame, *, tier: Tier, lang: str | None, show: bool = True) -> None:
    """Add the tier's demand points coloured by accessibility class to ``m`` (circles sized by population).

    ``frame`` has one row per demand point: ``lon, lat, name, population, value, normalised``.
    The circles are drawn in :data:`ACCESS_PANE`, which the map must have
    (:func:`add_access_pane`).
    """
    if not len(frame):
        return
    pop = frame["population"].to_numpy(float)
    norm = frame["normalised"].to_numpy(float)
    cls, _ranges = access_classes(norm, population=pop)
    palette = np.array([*ACCESS_CLASS_HEX, NO_ACCESS_HEX], dtype=object)
    colour = palette[np.where(cls >= 0, cls, len(ACCESS_CLASS_HEX))]
    top = max(float(np.nanmax(pop)), 1.0)
    radius = np.round(3.0 + 9.0 * np.sqrt(np.clip(np.nan_to_num(pop), 0, None) / top), 2)
    names = frame["name"].astype(str).map(html.escape).to_numpy(object)
    values = frame["value"].to_numpy(float)
    popup = [
        f"<b>{name}</b><br>{html.escape(t('app.map.population', lang=lang))}: {_fmt_int(p)}"
        f"<br>{html.escape(t('app.access.value', lang=lang))}: {v:.4g}"
        f"<br>{html.escape(t('app.access.normalised', lang=lang))}: {r:.2f}"
        for name, p, v, r in zip(names, pop, values, norm, strict=True)
    ]
    styles: list[dict[str, Any]] = [
        {"fillColor": c, "radius": r} for c, r in zip(colour.tolist(), radius.tolist(), strict=True)
    ]
    data = _points(frame, {"tip": names, "popup": popup, "style": styles})
    fg = folium.FeatureGroup(name=t("app.access.layer", lang=lang, tier=t(f"tier.{tier}", lang=lang)), show=show)
    style = {"weight": 1.0, "color": "#555555", "fill": True, "fillOpacity": 0.9, "pane": ACCESS_PANE}
    _Layer(data, style=style, points="circle").add_to(fg)
    fg.add_to(m)


def add_access_pane(m: folium.Map) -> None:
    """Give ``m`` the pane the accessibility circles are drawn in (above the stations, clickable)."""
    folium.map.CustomPane(ACCESS_PANE, z_index=ACCESS_PANE_Z, pointer_events=True).add_to(m)
