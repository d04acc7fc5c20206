"""Static maps for slides and printed reports (PNG / PDF), drawn offline with matplotlib.

One map shows one tier: its service circle per interval in graded shades of the tier's
colour (:mod:`planner.report.colours`; the smallest interval darkest), that tier's
demand coloured covered / uncovered / off-network, its stations emphasised and the other
tiers' stations small and muted, and the scenario's edits (added, moved and closed
stations of that tier). :func:`render_map` draws one tier; :func:`render_atlas` draws
one page per tier into one PDF. The layers are drawn by :mod:`planner.report.printmap_layers`.

No basemap and no internet: roads, township boundaries, isochrones, stations and demand
are drawn from the project's own data in the network's projected CRS (metres), so the
scale bar is true. Chinese text needs a CJK font: :func:`cjk_font` picks the first
installed one of :data:`CJK_FONT_NAMES` from matplotlib's font manager (Debian:
``apt-get install fonts-noto-cjk``) and logs a warning once when none is installed.

Every text is drawn as it is, never as math text: names with ``$`` (``$x$``) are data
(``text.parse_math`` is off for the whole figure, besides ``parse_math=False`` on the
labels drawn from user data).

The figure is built with :class:`matplotlib.figure.Figure` (no pyplot state), so maps
can be rendered from several app sessions at once.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Literal

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import pyproj
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from planner._errors import InputError
from planner.coverage.analyse import CoverageResult
from planner.coverage.figures import display, label, no_demand_text
from planner.i18n import join_names, t
from planner.network.roads import RoadNetwork, utm_crs_for
from planner.report.printmap_layers import (
    MapFrame,
    as_drawn,
    draw_background,
    draw_changes,
    draw_circles,
    draw_demand,
    draw_stations,
)
from planner.settings import TIERS, Tier, parse_tier

logger = logging.getLogger(__name__)

__all__ = [
    "CJK_FONT_NAMES",
    "PRINT_FIGURES",
    "cjk_font",
    "map_title",
    "render_atlas",
    "render_map",
]

#: CJK fonts tried in order (family names as matplotlib's font manager reports them).
CJK_FONT_NAMES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
)

#: Figures of the map's tier printed under the map (names: :mod:`planner.coverage.figures`).
PRINT_FIGURES: tuple[str, ...] = ("percent_population", "outside_population", "off_network_population", "uncovered")

#: Margin around the data, as a share of its larger side.
_MARGIN = 0.04
#: The map frame is never narrower or lower than this (inches), so the footer fits.
_MIN_FRAME_IN = 5.0
_CHANGE_COLUMNS = ("tier", "lon", "lat", "change", "from_lon", "from_lat")

MapFormat = Literal["png", "pdf"]


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Family name of an installed CJK font, or ``None`` (logged once)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONT_NAMES:
        if name in installed:
            logger.debug("CJK font: %s", name)
            return name
    logger.warning(t("exports.map.no_cjk_font", fonts=", ".join(CJK_FONT_NAMES[:4])))
    return None


@contextmanager
def _style() -> Iterator[None]:
    """Matplotlib settings of every map: the CJK font, a plain minus, PDF text as type 3, no math text."""
    font = cjk_font()
    rc: dict[str, Any] = {"axes.unicode_minus": False, "pdf.fonttype": 3, "text.parse_math": False}
    if font is not None:
        rc["font.family"] = "sans-serif"
        rc["font.sans-serif"] = [font, "DejaVu Sans"]
    with mpl.rc_context(rc):  # type: ignore[arg-type]
        yield


def _nice_length(span_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k metres) about a fifth of ``span_m``."""
    target = max(span_m / 5.0, 1.0)
    exp = 10.0 ** math.floor(math.log10(target))
    for m in (5.0, 2.0, 1.0):
        if m * exp <= target:
            return m * exp
    return exp


def _draw_scale_bar(ax: Axes, *, x0: float, x1: float, y0: float, y1: float) -> None:
    length = _nice_length(x1 - x0)
    bx = x0 + 0.05 * (x1 - x0)
    by = y0 + 0.05 * (y1 - y0)
    h = 0.008 * (y1 - y0)
    ax.add_patch(mpl.patches.Rectangle((bx, by), length / 2, h, facecolor="black", edgecolor="black", zorder=20))
    ax.add_patch(
        mpl.patches.Rectangle((bx + length / 2, by), length / 2, h, facecolor="white", edgecolor="black", zorder=20)
    )
    text = (
        t("exports.map.scale_km", km=f"{length / 1000:g}")
        if length >= 1000
        else t("exports.map.scale_m", m=f"{length:g}")
    )
    ax.text(bx + length / 2, by + 2.2 * h, text, ha="center", va="bottom", fontsize=9, zorder=20)
    ax.text(bx, by - 1.2 * h, "0", ha="center", va="top", fontsize=7, zorder=20)


def _draw_north_arrow(ax: Axes) -> None:
    ax.annotate(
        t("exports.map.north"),
        xy=(0.95, 0.95),
        xytext=(0.95, 0.85),
        xycoords="axes fraction",
        textcoords="axes fraction",
        ha="center",
        va="top",
        fontsize=12,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "facecolor": "black", "lw": 1.5, "mutation_scale": 18},
        zorder=20,
    )


def _map_tier(result: CoverageResult, tier: Tier | str | None) -> Tier:
    """``tier`` parsed, or the default (village / community when evaluated, else the first tier evaluated)."""
    evaluated = [x for x in TIERS if x in result.tiers]
    if tier is None:
        if not evaluated:
            raise InputError("exports.map.nothing_to_draw")
        return Tier.VILLAGE if Tier.VILLAGE in evaluated else evaluated[0]
    parsed = parse_tier(tier)
    if parsed not in evaluated:
        raise InputError(
            "exports.map.tier_not_evaluated",
            tier=t(f"tier.{parsed}"),
            tiers=join_names(t(f"tier.{x}") for x in evaluated),
        )
    return parsed


def map_title(*, result: CoverageResult, tier: Tier | str, label: str = "") -> str:
    """The title of a tier's map: tier, travel mode and standard, then ``label`` (e.g. the scenario).

    Examples: ``村（社区）步行 15 分钟服务圈 · 现状``; in English
    ``village / community: 15-minute service circle on foot · current``. The label is user
    text: drawn as it is (:func:`~planner.report.printmap_layers.as_drawn`: white space as spaces).
    """
    key = str(parse_tier(tier))
    s = result.summary["tiers"][key]
    head = t(
        "exports.map.title", tier=t(f"tier.{key}"), mode=t(f"mode.{s['mode']}"), minutes=f"{float(s['minutes']):g}"
    )
    shown = as_drawn(label)
    return f"{head} · {shown}" if shown else head


def render_map(
    *,
    result: CoverageResult,
    tier: Tier | str | None = None,
    isochrones: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    network: RoadNetwork | None = None,
    changes: pd.DataFrame | None = None,
    label: str = "",
    fmt: MapFormat = "png",
    dpi: int = 150,
    size_in: tuple[float, float] = (11.0, 9.0),
) -> bytes:
    """Render one tier's coverage map to PNG or PDF bytes.

    Parameters
    ----------
    result
        Coverage result (stations and demand with covered flags).
    tier
        The tier shown (default village / community when evaluated, else the first
        tier of ``result``).
    isochrones
        Isochrones (EPSG:4326; columns ``tier, minutes``), one or more polygons per
        interval; the rows of ``tier`` are drawn, each interval in a shade of the tier's
        colour (:func:`planner.report.colours.interval_shades`).
    areas
        Township polygons (``name``, geometry); boundaries and names are drawn.
    network
        Road network: roads drawn thin grey; its CRS is the map's CRS (else a UTM
        zone around the data).
    changes
        The scenario's edits (:func:`planner.workspace.scenario.station_changes`); the
        added, moved and closed stations of ``tier`` are drawn apart from the others.
    label
        Appended to the title (e.g. the county and the scenario's name); drawn as
        plain text.
    fmt
        ``"png"`` or ``"pdf"``.
    dpi
        Resolution of PNG output.
    size_in
        The largest map frame in inches (width, height); the frame takes the shape of
        the data within it, the legend is to its right.

    Returns
    -------
    bytes
        The PNG or PDF file.

    Raises
    ------
    InputError
        Unknown format, a resolution outside 20–1200 dpi, a tier not in ``result``, or
        nothing with coordinates to draw.
    """
    if fmt not in ("png", "pdf"):
        raise InputError("exports.map.bad_format", fmt=fmt)
    if not (isinstance(dpi, int | float) and 20 <= dpi <= 1200):
        raise InputError("exports.map.bad_dpi", dpi=dpi)
    shown = _map_tier(result, tier)
    return _render(
        result=result,
        pages=[shown],
        fmt=fmt,
        dpi=dpi,
        doc_title=map_title(result=result, tier=shown, label=label),
        isochrones=isochrones,
        areas=areas,
        network=network,
        changes=changes,
        label=label,
        size_in=size_in,
    )


def render_atlas(
    *,
    result: CoverageResult,
    tiers: Sequence[Tier | str] | None = None,
    isochrones: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    network: RoadNetwork | None = None,
    changes: pd.DataFrame | None = None,
    label: str = "",
    size_in: tuple[float, float] = (11.0, 9.0),
) -> bytes:
    """One PDF with a page per tier, each page the map of :func:`render_map` for that tier.

    Parameters
    ----------
    tiers
        Tiers in page order (default every tier of ``result``, county first).
    result, isochrones, areas, network, changes, label, size_in
        As for :func:`render_map`.

    Returns
    -------
    bytes
        The PDF file.
    """
    pages = [_map_tier(result, x) for x in tiers] if tiers is not None else [x for x in TIERS if x in result.tiers]
    if not pages:
        raise InputError("exports.map.nothing_to_draw")
    doc_title = f"{t('exports.map.atlas_title')} · {label}" if label else t("exports.map.atlas_title")
    return _render(
        result=result,
        pages=pages,
        fmt="pdf",
        dpi=150,
        doc_title=doc_title,
        isochrones=isochrones,
        areas=areas,
        network=network,
        changes=changes,
        label=label,
        size_in=size_in,
    )


def _render(
    *,
    result: CoverageResult,
    pages: Sequence[Tier],
    fmt: MapFormat,
    dpi: int,
    doc_title: str,
    isochrones: gpd.GeoDataFrame | None,
    areas: gpd.GeoDataFrame | None,
    network: RoadNetwork | None,
    changes: pd.DataFrame | None,
    label: str,
    size_in: tuple[float, float],
) -> bytes:
    """The map of each tier of ``pages``: a PNG (one page) or a PDF page each."""
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with _style():
        figs = (
            _figure(
                result=result,
                tier=x,
                isochrones=isochrones,
                areas=areas,
                network=network,
                changes=changes,
                title=map_title(result=result, tier=x, label=label),
                size_in=size_in,
            )
            for x in pages
        )
        if fmt == "png":
            next(figs).savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Title": doc_title})
        else:
            with PdfPages(buf, metadata={"Title": doc_title, "Creator": t("exports.creator")}) as pdf:
                for fig in figs:
                    pdf.savefig(fig, bbox_inches="tight")
    data = buf.getvalue()
    logger.info("map %s of %s: %d bytes", fmt, join_names(pages), len(data))
    return data


def _frame(*, result: CoverageResult, network: RoadNetwork | None, changes: pd.DataFrame | None) -> MapFrame:
    """Projection of the network (else a UTM zone around the data) and the extent with a margin."""
    tables = [result.demand, result.stations]
    if changes is not None and len(changes):
        tables.append(changes)
    lon_all = np.concatenate([d["lon"].to_numpy(float) for d in tables])
    lat_all = np.concatenate([d["lat"].to_numpy(float) for d in tables])
    ok = np.isfinite(lon_all) & np.isfinite(lat_all)
    if network is not None:
        crs = network.crs
    elif ok.any():
        crs = utm_crs_for(float(np.median(lon_all[ok])), float(np.median(lat_all[ok])))
    else:
        raise InputError("exports.map.nothing_to_draw")
    to_xy = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    px, py = (np.asarray(v, dtype=float) for v in to_xy.transform(lon_all[ok], lat_all[ok]))
    if network is not None and network.n_nodes:
        px, py = np.concatenate([px, network.node_x_m]), np.concatenate([py, network.node_y_m])
    fin = np.isfinite(px) & np.isfinite(py)
    if not fin.any():
        raise InputError("exports.map.nothing_to_draw")
    x0, x1 = float(np.min(px[fin])), float(np.max(px[fin]))
    y0, y1 = float(np.min(py[fin])), float(np.max(py[fin]))
    pad = _MARGIN * max(x1 - x0, y1 - y0, 100.0)
    return MapFrame(crs=crs, to_xy=to_xy, x0=x0 - pad, x1=x1 + pad, y0=y0 - pad, y1=y1 + pad)


def _frame_size_in(frame: MapFrame, size_in: tuple[float, float]) -> tuple[float, float]:
    """The map frame's size in inches: the data's shape, as large as fits in ``size_in``."""
    w, h = size_in
    aspect = (frame.x1 - frame.x0) / (frame.y1 - frame.y0)
    fw, fh = (w, w / aspect) if aspect >= w / h else (h * aspect, h)
    return max(fw, _MIN_FRAME_IN), max(fh, _MIN_FRAME_IN)


def _figure(
    *,
    result: CoverageResult,
    tier: Tier,
    isochrones: gpd.GeoDataFrame | None,
    areas: gpd.GeoDataFrame | None,
    network: RoadNetwork | None,
    changes: pd.DataFrame | None,
    title: str,
    size_in: tuple[float, float],
) -> Figure:
    if changes is not None:
        missing = [c for c in _CHANGE_COLUMNS if c not in changes]
        if missing:
            msg = f"changes lack columns {missing}; build them with planner.workspace.scenario.station_changes"
            raise ValueError(msg)
    frame = _frame(result=result, network=network, changes=changes)
    fw, fh = _frame_size_in(frame, size_in)
    fig = Figure(figsize=(fw, fh))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])

    circles = draw_circles(
        ax, frame=frame, isochrones=isochrones, tier=tier, mode=result.summary["tiers"][tier]["mode"]
    )
    background = draw_background(ax, frame=frame, network=network, areas=areas)
    demand = draw_demand(ax, frame=frame, demand=result.demand, tier=tier)
    stations, others = draw_stations(ax, frame=frame, stations=result.stations, tier=tier)
    edits = draw_changes(ax, frame=frame, changes=changes, tier=tier)

    ax.set_xlabel("")  # geopandas labels projected axes ("Easting [metre]"); the scale bar says it
    ax.set_ylabel("")
    ax.set_xlim(frame.x0, frame.x1)
    ax.set_ylim(frame.y0, frame.y1)
    _draw_scale_bar(ax, x0=frame.x0, x1=frame.x1, y0=frame.y0, y1=frame.y1)
    _draw_north_arrow(ax)
    ax.set_title(title, fontsize=16, fontweight="bold", pad=12, parse_math=False)
    entries = [*circles, *demand, *stations, *edits, *others, *background]
    ax.legend(
        [h for h, _ in entries],
        [text for _, text in entries],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=9,
        framealpha=0.95,
        title=t("exports.map.legend"),
        title_fontsize=11,
    )
    s = result.summary["tiers"][str(tier)]
    if s.get("no_demand_reason"):
        line = no_demand_text(s["no_demand_reason"])
    else:
        line = " · ".join(
            f"{label(k, tier=str(tier), serves=s.get('serves'))} {display(k, s[k])}" for k in PRINT_FIGURES
        )
    footer = t("app.figures.tier_value", tier=t(f"tier.{tier}"), value=line)
    ax.text(0.0, -0.01, footer, transform=ax.transAxes, fontsize=9, ha="left", va="top")
    ax.text(
        1.0,
        -0.035,
        t("exports.map.footer", crs=frame.crs),
        transform=ax.transAxes,
        fontsize=7,
        color="#606060",
        ha="right",
        va="top",
    )
    return fig
