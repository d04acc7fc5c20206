"""The province's overview maps: the counties coloured by population covered, a PNG per tier and a web map.

:func:`overview_png` draws one tier with matplotlib (no basemap, no internet; Chinese in a
CJK font as the printed county maps do, :mod:`planner.report.printmap`), names drawn as
written, never as math text. :func:`overview_html` is a standalone folium map with one
layer per tier; Leaflet and its styles are inlined
(:func:`planner.report.webmap_assets.standalone_html`) and every name is escaped in the
tooltips. The classes are fixed (:data:`COVERAGE_BREAKS_PERCENT`) and coloured with the
project's sequential scale (:data:`planner.report.colours.ACCESS_CLASS_HEX`).
"""

from __future__ import annotations

import html
import io
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import numpy as np
import pandas as pd
import shapely

from planner.batch.province import ProvinceFigures, _number
from planner.coverage.figures import display, label
from planner.i18n import get_language, t
from planner.report.colours import ACCESS_CLASS_HEX, OFF_NETWORK_HEX
from planner.settings import Tier

__all__ = [
    "COVERAGE_BREAKS_PERCENT",
    "MAP_LABELS_MAX",
    "NO_RATE_HEX",
    "coverage_classes",
    "overview_html",
    "overview_png",
]

#: Upper bounds (percent of the population covered) of the map's classes but the last:
#: below 60 %, 60–75 %, 75–85 %, 85–95 %, 95 % and above. Fixed, so that a colour means
#: the same rate on every tier's map and in every run.
COVERAGE_BREAKS_PERCENT: tuple[float, ...] = (60.0, 75.0, 85.0, 95.0)
#: A county with no rate (it failed, or the tier has no population there).
NO_RATE_HEX = OFF_NETWORK_HEX
#: Counties named on the printed overview up to this many (more would overlap).
MAP_LABELS_MAX = 80


def coverage_classes(rates: Sequence[float | None]) -> list[int]:
    """Class of each rate (0 … len(:data:`COVERAGE_BREAKS_PERCENT`)), ``-1`` for no rate."""
    return [-1 if r is None else int(np.searchsorted(COVERAGE_BREAKS_PERCENT, r, side="right")) for r in rates]


def _class_labels(*, lang: str) -> list[str]:
    """The legend's text of each class, lowest first."""
    b = [f"{x:g}" for x in COVERAGE_BREAKS_PERCENT]
    middle = [t("batch_province.map.class_range", lang=lang, low=lo, high=hi) for lo, hi in itertools.pairwise(b)]
    return [
        t("batch_province.map.class_below", lang=lang, high=b[0]),
        *middle,
        t("batch_province.map.class_above", lang=lang, low=b[-1]),
    ]


def _map_title(figs: ProvinceFigures, tier: Tier, *, lang: str) -> str:
    row = figs.totals[figs.totals["tier"] == str(tier)].iloc[0]
    return t(
        "batch_province.map.title",
        lang=lang,
        tier=t(f"tier.{tier}", lang=lang),
        mode=t(f"mode.{row['mode']}", lang=lang),
        minutes=f"{float(row['standard_minutes']):g}",
    )


def _total_line(figs: ProvinceFigures, tier: Tier, *, lang: str) -> str:
    """The province total of ``tier`` in one line (population covered, people outside, gaps, counties)."""
    row = figs.totals[figs.totals["tier"] == str(tier)].iloc[0]
    keys = ("percent_population", "outside_population", "uncovered", "counties")
    parts = " · ".join(f"{label(k, lang=lang)} {display(k, _number(row[k]))}" for k in keys)
    return t("batch_province.map.total", lang=lang, figures=parts)


def overview_png(
    figs: ProvinceFigures, *, tier: Tier, lang: str | None = None, title: str = "", dpi: int = 150
) -> bytes:
    """``overview_<tier>.png``: the counties coloured by population covered in ``tier``, with a legend.

    Names are drawn as written, never as math text (a name with ``$`` is data), in a CJK
    font when one is installed (:func:`planner.report.printmap.cjk_font`).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from planner.network.roads import utm_crs_for
    from planner.report.printmap import _style
    from planner.report.printmap_layers import as_drawn

    lang = lang or get_language()
    areas = figs.areas[figs.areas.geometry.notna()]
    rates = figs.rate(tier)
    classes = coverage_classes([rates.get(str(c)) for c in areas["code"]])
    palette = [*ACCESS_CLASS_HEX, NO_RATE_HEX]
    centre = shapely.union_all(areas.geometry.to_numpy()).centroid if len(areas) else shapely.Point(0, 0)
    drawn = areas.to_crs(utm_crs_for(centre.x, centre.y))
    with _style():
        fig = Figure(figsize=(10.0, 8.0))
        ax = fig.add_axes((0.0, 0.0, 0.78, 0.9))
        ax.set_aspect("equal")
        ax.set_axis_off()
        failed = np.array([k < 0 for k in classes], dtype=bool)
        if len(drawn):
            drawn.plot(ax=ax, color=[palette[k] for k in classes], edgecolor="#444444", linewidth=0.8)
            if failed.any():
                drawn[failed].plot(ax=ax, facecolor="none", edgecolor="#444444", hatch="//", linewidth=0.8)
        if len(drawn) <= MAP_LABELS_MAX:
            for geom, name, code in zip(drawn.geometry, drawn["name"], drawn["code"], strict=True):
                p = geom.representative_point()
                rate = rates.get(str(code))
                text = f"{as_drawn(str(name))}\n{display('percent_population', rate)}"
                ax.text(p.x, p.y, text, ha="center", va="center", fontsize=8, parse_math=False,
                        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.7, "lw": 0})  # fmt: skip
        handles = [Patch(facecolor=c, edgecolor="#444444") for c in ACCESS_CLASS_HEX][::-1]
        texts = _class_labels(lang=lang)[::-1]
        handles.append(Patch(facecolor=NO_RATE_HEX, edgecolor="#444444", hatch="//"))
        texts.append(t("batch_province.map.no_rate", lang=lang))
        ax.legend(handles, texts, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, framealpha=0.95,
                  title=label("percent_population", lang=lang), title_fontsize=10)  # fmt: skip
        head = _map_title(figs, tier, lang=lang)
        ax.set_title(f"{head} · {as_drawn(title)}" if title.strip() else head, fontsize=14, fontweight="bold",
                     parse_math=False)  # fmt: skip
        ax.text(0.0, -0.02, _total_line(figs, tier, lang=lang), transform=ax.transAxes, fontsize=9, va="top",
                parse_math=False)  # fmt: skip
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Title": head})
    return buf.getvalue()


def _tooltip(
    name: str, code: str, status: str, fig_row: Mapping[str, Any] | None, n: int, *, tier: Tier, lang: str
) -> str:
    """A county's tooltip (HTML, every text escaped): name, code and tier, then its figures or why it has none."""
    head = f"<b>{html.escape(name)}</b> ({html.escape(code)}) · {html.escape(t(f'tier.{tier}', lang=lang))}"
    if fig_row is None:
        return f"{head}<br>{html.escape(t(f'batch_province.status.{status}', lang=lang))}"
    lines = [
        f"{html.escape(label(k, lang=lang))}: {html.escape(display(k, _number(fig_row[k])))}"
        for k in ("percent_population", "outside_population", "uncovered")
    ]
    rank = fig_row["rank"]
    if rank is not None and rank is not pd.NA:
        lines.append(html.escape(t("batch_province.map.rank", lang=lang, rank=int(rank), count=n)))
    return "<br>".join([head, *lines])


def _legend_html(*, lang: str) -> str:
    from planner.report.webmap import _swatch

    rows = [f'<div style="font-weight:600">{html.escape(label("percent_population", lang=lang))}</div>']
    for colour, text in zip(ACCESS_CLASS_HEX[::-1], _class_labels(lang=lang)[::-1], strict=True):
        rows.append(f"<div>{_swatch(colour)}{html.escape(text)}</div>")
    rows.append(f"<div>{_swatch(NO_RATE_HEX)}{html.escape(t('batch_province.map.no_rate', lang=lang))}</div>")
    return (
        '<details id="planner-legend" open style="position:absolute;bottom:28px;right:10px;z-index:9999;'
        "background:rgba(255,255,255,.93);padding:6px 10px;border-radius:6px;box-shadow:0 0 6px rgba(0,0,0,.3);"
        'font-size:12px;line-height:1.4">'
        f'<summary style="font-weight:bold;cursor:pointer">{html.escape(t("app.map.legend", lang=lang))}</summary>'
        + "".join(rows)
        + "</details>"
    )


def overview_html(figs: ProvinceFigures, *, lang: str | None = None, title: str = "") -> str:
    """``overview.html``: a standalone web map, one layer per tier (counties coloured by population covered).

    The layers are base layers (one tier at a time); tooltips give each county's name,
    rate, people outside, gaps and rank, escaped. Leaflet and its styles are inlined
    (:func:`planner.report.webmap_assets.standalone_html`): the page loads nothing.
    """
    import branca

    from planner.report.webmap import _title_html
    from planner.report.webmap_assets import standalone_html
    from planner.report.webmap_layers import _feature_collection, _geometry_json, _Layer, _Raw

    lang = lang or get_language()
    areas = figs.areas[figs.areas.geometry.notna()]
    x0, y0, x1, y1 = (float(v) for v in areas.total_bounds) if len(areas) else (0.0, 0.0, 0.0, 0.0)
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=8, tiles=None, control_scale=True,
                   zoom_snap=0.25)  # fmt: skip
    root: branca.element.Figure = m.get_root()  # type: ignore[assignment]
    root.header.add_child(branca.element.Element("<style>.leaflet-container{background:#f4f1ea !important}</style>"))
    geoms = _geometry_json(areas.geometry.to_numpy())
    for i, tier in enumerate(figs.tiers):
        rows = figs.counties[figs.counties["tier"] == str(tier)].set_index("code")
        n = int(rows["rank"].notna().sum())
        props = []
        for code, name, status in zip(areas["code"], areas["name"], areas["status"], strict=True):
            row = rows.loc[code].to_dict() if code in rows.index else None
            k = coverage_classes([_number(row["percent_population"]) if row else None])[0]
            fill = ACCESS_CLASS_HEX[k] if k >= 0 else NO_RATE_HEX
            tip = _tooltip(str(name), str(code), str(status), row, n, tier=tier, lang=lang)
            props.append({"tip": tip, "style": {"fillColor": fill, "dashArray": None if k >= 0 else "4 3"}})
        fg = folium.FeatureGroup(name=t(f"tier.{tier}", lang=lang), overlay=False, show=i == 0)
        style = {"color": "#444444", "weight": 1.0, "fill": True, "fillOpacity": 0.85}
        _Layer(_feature_collection(geoms, props), style=style, bounds=[[y0, x0], [y1, x1]]).add_to(fg)
        fg.add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]], padding_top_left=(20, 45), padding_bottom_right=(20, 20))
    head = t("batch_province.map.web_title", lang=lang)
    root.html.add_child(_Raw(_title_html(f"{head} · {title}" if title.strip() else head, presentation=False)))
    root.html.add_child(_Raw(_legend_html(lang=lang)))
    folium.LayerControl(collapsed=False).add_to(m)
    return standalone_html(m)
