"""Static maps for slides and printed reports (PNG / PDF), drawn offline with matplotlib.

One map shows one tier: its service circle per interval in graded shades of the tier's
colour (:mod:`planner.report.colours`; the smallest interval darkest), that tier's
demand coloured covered / uncovered / off-network, its stations emphasised and the other
tiers' stations small and muted, and the scenario's edits (added, moved and closed
stations of that tier). :func:`render_map` draws one tier; :func:`render_atlas` draws
one page per tier into one PDF.

No basemap and no internet: roads, township boundaries, isochrones, stations and demand
are drawn from the project's own data in the network's projected CRS (metres), so the
scale bar is true. Chinese text needs a CJK font: :func:`cjk_font` picks the first
installed one of :data:`CJK_FONT_NAMES` from matplotlib's font manager (Debian:
``apt-get install fonts-noto-cjk``) and logs a warning once when none is installed.

The figure is built with :class:`matplotlib.figure.Figure` (no pyplot state), so maps
can be rendered from several app sessions at once.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from numpy.typing import NDArray

from planner._errors import InputError
from planner.coverage.analyse import CoverageResult
from planner.coverage.figures import display, label, no_demand_text
from planner.i18n import join_names, t
from planner.network.roads import RoadNetwork, utm_crs_for
from planner.report.colours import (
    COVERED_HEX,
    OFF_NETWORK_HEX,
    TIER_COLOURS,
    UNCOVERED_HEX,
    interval_shades,
    lighten,
)
from planner.settings import TIERS, Tier, parse_tier

logger = logging.getLogger(__name__)

__all__ = [
    "CJK_FONT_NAMES",
    "PRINT_FIGURES",
    "TIER_MARKERS",
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

#: Marker and marker area (points²) of a tier's stations; colours: :data:`planner.report.colours.TIER_COLOURS`.
TIER_MARKERS: Mapping[Tier, tuple[str, float]] = {
    Tier.COUNTY: ("*", 320.0),
    Tier.TOWNSHIP: ("s", 70.0),
    Tier.VILLAGE: ("o", 22.0),
    Tier.ENTERPRISE: ("^", 45.0),
}
#: Figures of the map's tier printed under the map (names: :mod:`planner.coverage.figures`).
PRINT_FIGURES: tuple[str, ...] = ("percent_population", "outside_population", "off_network_population", "uncovered")

_ROAD = "#9e9e9e"
_MAJOR_ROAD = "#707070"
_BOUNDARY = "#525252"
#: Closed stations, the arrows of moved stations.
_CLOSED = "#616161"
_EDIT_LINE = "#212121"
#: Road classes drawn slightly thicker (codes are positions in settings.ROAD_CLASSES).
_MAJOR_CLASS_MAX = 9  # motorway … tertiary_link
#: Share of its colour kept by another tier's (muted) station marker, and its size factor.
_MUTED_SHARE = 0.45
_MUTED_SIZE = 0.35
#: Edited stations are drawn at least this large (points²) so a village dot stands out.
_EDIT_MIN_SIZE = 90.0
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
    """Matplotlib settings of every map: the CJK font, a plain minus, PDF text as type 3."""
    font = cjk_font()
    rc: dict[str, Any] = {"axes.unicode_minus": False, "pdf.fonttype": 3}
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
    ``village / community: 15-minute service circle on foot · current``.
    """
    key = str(parse_tier(tier))
    s = result.summary["tiers"][key]
    head = t(
        "exports.map.title", tier=t(f"tier.{key}"), mode=t(f"mode.{s['mode']}"), minutes=f"{float(s['minutes']):g}"
    )
    return f"{head} · {label}" if label else head


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
    title = map_title(result=result, tier=shown, label=label)
    with _style():
        fig = _figure(
            result=result,
            tier=shown,
            isochrones=isochrones,
            areas=areas,
            network=network,
            changes=changes,
            title=title,
            size_in=size_in,
        )
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata=_metadata(fmt, title))
    data = buf.getvalue()
    logger.info("map %s of %s: %d bytes", fmt, shown, len(data))
    return data


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
    from matplotlib.backends.backend_pdf import PdfPages

    pages = [_map_tier(result, x) for x in tiers] if tiers is not None else [x for x in TIERS if x in result.tiers]
    if not pages:
        raise InputError("exports.map.nothing_to_draw")
    doc_title = f"{t('exports.map.atlas_title')} · {label}" if label else t("exports.map.atlas_title")
    buf = io.BytesIO()
    with _style(), PdfPages(buf, metadata=_metadata("pdf", doc_title)) as pdf:
        for shown in pages:
            fig = _figure(
                result=result,
                tier=shown,
                isochrones=isochrones,
                areas=areas,
                network=network,
                changes=changes,
                title=map_title(result=result, tier=shown, label=label),
                size_in=size_in,
            )
            pdf.savefig(fig, bbox_inches="tight")
    data = buf.getvalue()
    logger.info("map atlas of %d tiers: %d bytes", len(pages), len(data))
    return data


def _polyline_xy(network: RoadNetwork, sel: NDArray[np.bool_]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Segments as one NaN-separated polyline (one path: fast in PDF, unlike a collection)."""
    u, v = network.edge_u[sel], network.edge_v[sel]
    x = np.column_stack([network.node_x_m[u], network.node_x_m[v], np.full(len(u), np.nan)]).ravel()
    y = np.column_stack([network.node_y_m[u], network.node_y_m[v], np.full(len(u), np.nan)]).ravel()
    return x, y


def _metadata(fmt: str, title: str) -> dict[str, str]:
    return {"Title": title, "Creator": t("exports.creator")} if fmt == "pdf" else {"Title": title}


@dataclass(frozen=True)
class _Frame:
    """The map's projection and extent (metres)."""

    crs: Any
    to_xy: pyproj.Transformer
    x0: float
    x1: float
    y0: float
    y1: float


def _frame(*, result: CoverageResult, network: RoadNetwork | None, changes: pd.DataFrame | None) -> _Frame:
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
    return _Frame(crs=crs, to_xy=to_xy, x0=x0 - pad, x1=x1 + pad, y0=y0 - pad, y1=y1 + pad)


def _frame_size_in(frame: _Frame, size_in: tuple[float, float]) -> tuple[float, float]:
    """The map frame's size in inches: the data's shape, as large as fits in ``size_in``."""
    w, h = size_in
    aspect = (frame.x1 - frame.x0) / (frame.y1 - frame.y0)
    fw, fh = (w, w / aspect) if aspect >= w / h else (h * aspect, h)
    return max(fw, _MIN_FRAME_IN), max(fh, _MIN_FRAME_IN)


def _xy(frame: _Frame, lon: pd.Series, lat: pd.Series) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, y = frame.to_xy.transform(lon.to_numpy(float), lat.to_numpy(float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


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

    circles = _draw_circles(
        ax, frame=frame, isochrones=isochrones, tier=tier, mode=result.summary["tiers"][tier]["mode"]
    )
    background = _draw_background(ax, frame=frame, network=network, areas=areas)
    demand = _draw_demand(ax, frame=frame, demand=result.demand, tier=tier)
    stations, others = _draw_stations(ax, frame=frame, stations=result.stations, tier=tier)
    edits = _draw_changes(ax, frame=frame, changes=changes, tier=tier)

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
        line = " · ".join(f"{label(k, tier=str(tier))} {display(k, s[k])}" for k in PRINT_FIGURES)
    ax.text(0.0, -0.01, f"{t(f'tier.{tier}')}：{line}", transform=ax.transAxes, fontsize=9, ha="left", va="top")
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


#: A legend entry: a handle (or a tuple of handles drawn on top of each other) and its text.
_Entry = tuple[Any, str]


def _draw_circles(
    ax: Axes, *, frame: _Frame, isochrones: gpd.GeoDataFrame | None, tier: Tier, mode: str
) -> list[_Entry]:
    """The tier's service circle, largest interval first (lightest) so smaller ones lie on top."""
    if isochrones is None or not len(isochrones):
        return []
    part = isochrones[isochrones["tier"].astype(str) == str(tier)]
    part = part[[g is not None and not g.is_empty for g in part.geometry]]
    if part.empty:
        return []
    part = part.to_crs(frame.crs)
    minutes = sorted(float(m) for m in pd.unique(part["minutes"].astype(float)))
    shades = dict(zip(minutes, interval_shades(TIER_COLOURS[tier], n=len(minutes)), strict=True))
    for k, m in enumerate(reversed(minutes)):
        rows = part[part["minutes"].astype(float) == m]
        rows.plot(ax=ax, color=shades[m], linewidth=0, zorder=1 + 0.01 * k)
    mode_name = t(f"mode.{mode}")
    return [
        (Patch(facecolor=shades[m], edgecolor="none"), t("exports.map.interval", mode=mode_name, minutes=f"{m:g}"))
        for m in minutes
    ]


def _draw_background(
    ax: Axes, *, frame: _Frame, network: RoadNetwork | None, areas: gpd.GeoDataFrame | None
) -> list[_Entry]:
    """Roads (over the circles, so a circle's roads stay visible) and township boundaries with names."""
    entries: list[_Entry] = []
    if network is not None and network.n_edges:
        major = np.asarray(network.edge_class) <= _MAJOR_CLASS_MAX
        for sel, colour, width, z in ((~major, _ROAD, 0.3, 3), (major, _MAJOR_ROAD, 0.9, 4)):
            rx, ry = _polyline_xy(network, sel)
            ax.plot(rx, ry, color=colour, linewidth=width, zorder=z, solid_capstyle="round")
        entries.append((Line2D([], [], color=_ROAD, lw=0.8), t("exports.map.roads")))
    if areas is not None and len(areas):
        a = areas.to_crs(frame.crs)
        a.boundary.plot(ax=ax, color=_BOUNDARY, linewidth=0.8, linestyle="--", zorder=5)
        if "name" in a:
            pts = a.geometry.representative_point()
            for x, y, name in zip(pts.x, pts.y, a["name"].astype(str), strict=True):
                ax.text(x, y, name, fontsize=8, color="#404040", ha="center", va="center", alpha=0.8, zorder=6,
                        parse_math=False)  # fmt: skip
        entries.append((Line2D([], [], color=_BOUNDARY, lw=0.8, ls="--"), t("exports.map.townships")))
    return entries


def _draw_demand(ax: Axes, *, frame: _Frame, demand: pd.DataFrame, tier: Tier) -> list[_Entry]:
    """The tier's demand points coloured by status, their area by population."""
    d = demand[demand["tier"].astype(str) == str(tier)] if not demand.empty else demand
    if d.empty:
        return []
    x, y = _xy(frame, d["lon"], d["lat"])
    pop = d["population"].to_numpy(float)
    size = 12.0 + 90.0 * np.sqrt(np.clip(pop, 0, None) / max(float(np.nanmax(pop)), 1.0))
    covered = d["covered"].fillna(False).astype(bool).to_numpy()
    off = d["status"].astype(str).eq("off_network").to_numpy()
    colour = np.where(covered, COVERED_HEX, np.where(off, OFF_NETWORK_HEX, UNCOVERED_HEX))
    ax.scatter(x, y, s=size, c=list(colour), alpha=0.8, edgecolors="white", linewidths=0.4, zorder=30)
    name = t(f"tier.{tier}")
    return [
        (Line2D([], [], marker="o", ls="", color=c, markeredgecolor="white"), text)
        for present, c, text in (
            (covered, COVERED_HEX, t("exports.map.covered", tier=name)),
            (~covered & ~off, UNCOVERED_HEX, t("exports.map.uncovered", tier=name)),
            (off, OFF_NETWORK_HEX, t("exports.map.off_network")),
        )
        if present.any()
    ]


def _marker(marker: str, *, face: str, edge: str, edge_width: float = 0.6, small: bool = False) -> Line2D:
    """A legend handle showing one station marker."""
    size = (9.0 if marker == "*" else 7.0) * (0.7 if small else 1.0)
    return Line2D([], [], marker=marker, ls="", markerfacecolor=face, markeredgecolor=edge,
                  markeredgewidth=edge_width, markersize=size)  # fmt: skip


def _draw_stations(ax: Axes, *, frame: _Frame, stations: pd.DataFrame, tier: Tier) -> tuple[list[_Entry], list[_Entry]]:
    """The tier's stations in its colour with a black edge; other tiers' small, light and without edge."""
    own: list[_Entry] = []
    others: list[_Entry] = []
    if stations.empty:
        return own, others
    sx, sy = _xy(frame, stations["lon"], stations["lat"])
    st_tier = stations["tier"].astype(str).to_numpy()
    for x in TIERS:
        m = st_tier == str(x)
        if not m.any():
            continue
        marker, size = TIER_MARKERS[x]
        text = t("exports.map.stations", tier=t(f"tier.{x}"), n=int(m.sum()))
        if x == tier:
            colour = TIER_COLOURS[x]
            ax.scatter(sx[m], sy[m], s=size, c=colour, marker=marker, edgecolors="black", linewidths=0.6, zorder=40)
            own.append((_marker(marker, face=colour, edge="black"), text))
        else:
            muted = lighten(TIER_COLOURS[x], share=_MUTED_SHARE)
            ax.scatter(sx[m], sy[m], s=max(size * _MUTED_SIZE, 6.0), c=muted, marker=marker, linewidths=0, zorder=35)
            others.append((_marker(marker, face=muted, edge=muted, small=True), text))
    return own, others


def _draw_changes(ax: Axes, *, frame: _Frame, changes: pd.DataFrame | None, tier: Tier) -> list[_Entry]:
    """Edits of the tier: closed (hollow, crossed), moved (ghost at the old place, arrow), added (bold outline)."""
    if changes is None or not len(changes):
        return []
    ch = changes[changes["tier"].astype(str) == str(tier)]
    colour = TIER_COLOURS[tier]
    marker, size = TIER_MARKERS[tier]
    big = max(size * 1.6, _EDIT_MIN_SIZE)
    entries: list[_Entry] = []

    closed = ch[ch["change"] == "closed"]
    if len(closed):
        x, y = _xy(frame, closed["lon"], closed["lat"])
        ax.scatter(x, y, s=big, marker=marker, facecolors="white", edgecolors=_CLOSED, linewidths=1.4, zorder=42)
        ax.scatter(x, y, s=big * 0.55, marker="x", c=_CLOSED, linewidths=1.6, zorder=43)
        cross = Line2D([], [], marker="x", ls="", color=_CLOSED, markersize=6, markeredgewidth=1.6)
        hollow = _marker(marker, face="white", edge=_CLOSED, edge_width=1.4)
        entries.append(((hollow, cross), t("exports.map.closed", n=len(closed))))

    moved = ch[ch["change"] == "moved"]
    if len(moved):
        x0, y0 = _xy(frame, moved["from_lon"], moved["from_lat"])
        x1, y1 = _xy(frame, moved["lon"], moved["lat"])
        ghost = lighten(colour, share=0.35)
        ax.scatter(x0, y0, s=big, marker=marker, c=ghost, edgecolors=colour, linewidths=0.8, linestyles="--", zorder=41)
        for a, b, c, d in zip(x0, y0, x1, y1, strict=True):
            ax.annotate(
                "",
                xy=(c, d),
                xytext=(a, b),
                arrowprops={"arrowstyle": "-|>", "color": _EDIT_LINE, "lw": 1.4, "shrinkA": 6, "shrinkB": 7},
                zorder=44,
            )
        ax.scatter(x1, y1, s=big, marker=marker, c=colour, edgecolors=_EDIT_LINE, linewidths=1.0, zorder=45)
        line = Line2D([], [], color=_EDIT_LINE, lw=1.4)
        entries.append(((line, _marker(marker, face=ghost, edge=colour)), t("exports.map.moved", n=len(moved))))

    added = ch[ch["change"] == "added"]
    if len(added):
        x, y = _xy(frame, added["lon"], added["lat"])
        ax.scatter(x, y, s=big, marker=marker, c=colour, edgecolors="black", linewidths=2.4, zorder=46)
        entries.append(
            (_marker(marker, face=colour, edge="black", edge_width=2.4), t("exports.map.added", n=len(added)))
        )
    return entries
