"""Static maps for slides and printed reports (PNG / PDF), drawn offline with matplotlib.

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
from collections.abc import Mapping
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
from planner.coverage.figures import display, label
from planner.i18n import t
from planner.network.roads import RoadNetwork, utm_crs_for
from planner.settings import TIERS, Tier

logger = logging.getLogger(__name__)

__all__ = ["CJK_FONT_NAMES", "TIER_STYLE", "cjk_font", "render_map"]

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

#: Colour and marker per tier (stations and their isochrones).
TIER_STYLE: Mapping[Tier, tuple[str, str, float]] = {
    Tier.COUNTY: ("#a50f15", "*", 260.0),
    Tier.TOWNSHIP: ("#1f78b4", "s", 70.0),
    Tier.VILLAGE: ("#ff7f00", "o", 14.0),
    Tier.ENTERPRISE: ("#6a3d9a", "^", 40.0),
}
_COVERED = "#33a02c"
_UNCOVERED = "#e31a1c"
_OFF_NETWORK = "#969696"
_ROAD = "#9e9e9e"
#: Road classes drawn slightly thicker (codes are positions in settings.ROAD_CLASSES).
_MAJOR_CLASS_MAX = 9  # motorway … tertiary_link

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


#: Figures of the coloured tier printed under the map (names: :mod:`planner.coverage.figures`).
PRINT_FIGURES: tuple[str, ...] = ("percent_population", "outside_population", "off_network_population", "uncovered")


def render_map(
    *,
    result: CoverageResult,
    isochrones: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    network: RoadNetwork | None = None,
    title: str,
    fmt: MapFormat = "png",
    dpi: int = 150,
    demand_tier: Tier | str | None = None,
    size_in: tuple[float, float] = (13.0, 10.0),
) -> bytes:
    """Render a coverage map to PNG or PDF bytes.

    Parameters
    ----------
    result
        Coverage result (stations and demand with covered flags).
    isochrones
        Tier-union isochrones (EPSG:4326; columns ``tier, minutes``), drawn
        semi-transparent in the tier's colour, larger intervals lighter.
    areas
        Township polygons (``name``, geometry); boundaries and names are drawn.
    network
        Road network: roads drawn thin grey; its CRS is the map's CRS (else a UTM
        zone around the data).
    title
        Map title (Chinese text needs a CJK font, see :func:`cjk_font`).
    fmt
        ``"png"`` or ``"pdf"``.
    dpi
        Resolution of PNG output.
    demand_tier
        Which tier's coverage colours the demand points (default: village / community
        when present, else the first tier in the result).
    size_in
        Figure size in inches.

    Returns
    -------
    bytes
        The PNG or PDF file.
    """
    if fmt not in ("png", "pdf"):
        raise InputError("exports.map.bad_format", fmt=fmt)
    if not (isinstance(dpi, int | float) and 20 <= dpi <= 1200):
        raise InputError("exports.map.bad_dpi", dpi=dpi)
    font = cjk_font()
    rc: dict[str, Any] = {"axes.unicode_minus": False, "pdf.fonttype": 3}
    if font is not None:
        rc["font.family"] = "sans-serif"
        rc["font.sans-serif"] = [font, "DejaVu Sans"]
    with mpl.rc_context(rc):  # type: ignore[arg-type]
        fig = _figure(
            result=result,
            isochrones=isochrones,
            areas=areas,
            network=network,
            title=title,
            demand_tier=demand_tier,
            size_in=size_in,
        )
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata=_metadata(fmt, title))
    data = buf.getvalue()
    logger.info("map %s: %d bytes", fmt, len(data))
    return data


def _polyline_xy(network: RoadNetwork, sel: NDArray[np.bool_]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Segments as one NaN-separated polyline (one path: fast in PDF, unlike a collection)."""
    u, v = network.edge_u[sel], network.edge_v[sel]
    x = np.column_stack([network.node_x_m[u], network.node_x_m[v], np.full(len(u), np.nan)]).ravel()
    y = np.column_stack([network.node_y_m[u], network.node_y_m[v], np.full(len(u), np.nan)]).ravel()
    return x, y


def _metadata(fmt: str, title: str) -> dict[str, str]:
    return {"Title": title, "Creator": t("exports.creator")} if fmt == "pdf" else {"Title": title}


def _figure(
    *,
    result: CoverageResult,
    isochrones: gpd.GeoDataFrame | None,
    areas: gpd.GeoDataFrame | None,
    network: RoadNetwork | None,
    title: str,
    demand_tier: Tier | str | None,
    size_in: tuple[float, float],
) -> Figure:
    demand = result.demand
    stations = result.stations
    lon_all = np.concatenate([demand["lon"].to_numpy(float), stations["lon"].to_numpy(float)])
    lat_all = np.concatenate([demand["lat"].to_numpy(float), stations["lat"].to_numpy(float)])
    if network is not None:
        crs = network.crs
    else:
        ok = np.isfinite(lon_all) & np.isfinite(lat_all)
        if not ok.any():
            raise InputError("exports.map.nothing_to_draw")
        crs = utm_crs_for(float(np.median(lon_all[ok])), float(np.median(lat_all[ok])))
    to_xy = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)

    fig = Figure(figsize=size_in)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    handles: list[Any] = []

    if network is not None and network.n_edges:
        major = np.asarray(network.edge_class) <= _MAJOR_CLASS_MAX
        for sel, colour, width, z in ((~major, _ROAD, 0.3, 1), (major, "#707070", 0.9, 2)):
            rx, ry = _polyline_xy(network, sel)
            ax.plot(rx, ry, color=colour, linewidth=width, zorder=z, solid_capstyle="round")
        handles.append(Line2D([], [], color=_ROAD, lw=0.8, label=t("exports.map.roads")))

    if areas is not None and len(areas):
        a = areas.to_crs(crs)
        a.boundary.plot(ax=ax, color="#525252", linewidth=0.8, linestyle="--", zorder=3)
        if "name" in a:
            pts = a.geometry.representative_point()
            for x, y, name in zip(pts.x, pts.y, a["name"].astype(str), strict=True):
                ax.text(x, y, name, fontsize=8, color="#404040", ha="center", va="center", alpha=0.8, zorder=4)
        handles.append(Line2D([], [], color="#525252", lw=0.8, ls="--", label=t("exports.map.townships")))

    if isochrones is not None and len(isochrones):
        iso = isochrones.to_crs(crs)
        for tier in TIERS:
            part = iso[iso["tier"].astype(str) == str(tier)]
            if part.empty:
                continue
            colour = TIER_STYLE[tier][0]
            order = part.sort_values("minutes", ascending=False)
            n = len(order)
            for k, (_, row) in enumerate(order.iterrows()):
                alpha = 0.10 + 0.12 * (k / max(n - 1, 1))
                gpd.GeoSeries([row.geometry], crs=crs).plot(ax=ax, color=colour, alpha=alpha, linewidth=0, zorder=5 + k)
            handles.append(
                Patch(
                    facecolor=colour,
                    alpha=0.3,
                    label=t(
                        "exports.map.isochrone",
                        tier=t(f"tier.{tier}"),
                        minutes=f"{float(order['minutes'].max()):g}",
                    ),
                )
            )

    dt = ""
    if not demand.empty:
        tiers_present = list(pd.unique(demand["tier"].astype(str)))
        dt = str(demand_tier) if demand_tier is not None else ("village" if "village" in tiers_present else "")
        dt = dt or tiers_present[0]
        d = demand[demand["tier"].astype(str) == dt]
        x, y = to_xy.transform(d["lon"].to_numpy(float), d["lat"].to_numpy(float))
        pop = d["population"].to_numpy(float)
        size = 12.0 + 90.0 * np.sqrt(np.clip(pop, 0, None) / max(float(np.nanmax(pop)) if len(pop) else 1.0, 1.0))
        covered = d["covered"].fillna(False).astype(bool).to_numpy()
        off = d["status"].astype(str).eq("off_network").to_numpy()
        d_colour = np.where(covered, _COVERED, np.where(off, _OFF_NETWORK, _UNCOVERED))
        ax.scatter(x, y, s=size, c=list(d_colour), alpha=0.75, edgecolors="white", linewidths=0.4, zorder=30)
        tier_name = t(f"tier.{dt}")
        if covered.any():
            handles.append(
                Line2D([], [], marker="o", ls="", color=_COVERED, label=t("exports.map.covered", tier=tier_name))
            )
        if (~covered & ~off).any():
            handles.append(
                Line2D([], [], marker="o", ls="", color=_UNCOVERED, label=t("exports.map.uncovered", tier=tier_name))
            )
        if off.any():
            handles.append(Line2D([], [], marker="o", ls="", color=_OFF_NETWORK, label=t("exports.map.off_network")))

    if not stations.empty:
        sx, sy = to_xy.transform(stations["lon"].to_numpy(float), stations["lat"].to_numpy(float))
        st_tier = stations["tier"].astype(str).to_numpy()
        for tier in TIERS:
            m = st_tier == str(tier)
            if not m.any():
                continue
            colour, marker, size_pt = TIER_STYLE[tier]
            ax.scatter(sx[m], sy[m], s=size_pt, c=colour, marker=marker, edgecolors="black", linewidths=0.5, zorder=40)
            handles.append(
                Line2D(
                    [],
                    [],
                    marker=marker,
                    ls="",
                    markerfacecolor=colour,
                    markeredgecolor="black",
                    markersize=9 if marker == "*" else 7,
                    label=t("exports.map.stations", tier=t(f"tier.{tier}"), n=int(m.sum())),
                )
            )

    # extent: the network, else the data, with a margin
    if network is not None and network.n_nodes:
        xs, ys = network.node_x_m, network.node_y_m
    else:
        xs, ys = (np.asarray(v, dtype=float) for v in to_xy.transform(lon_all, lat_all))
    ok = np.isfinite(xs) & np.isfinite(ys)
    x0, x1 = float(np.min(xs[ok])), float(np.max(xs[ok]))
    y0, y1 = float(np.min(ys[ok])), float(np.max(ys[ok]))
    pad = 0.04 * max(x1 - x0, y1 - y0, 100.0)
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    _draw_scale_bar(ax, x0=x0, x1=x1, y0=y0, y1=y1)
    _draw_north_arrow(ax)
    ax.set_title(title, fontsize=16, fontweight="bold", pad=12)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=9,
        framealpha=0.95,
        title=t("exports.map.legend"),
        title_fontsize=11,
    )
    if not demand.empty and dt in result.summary.get("tiers", {}):
        s = result.summary["tiers"][dt]
        line = " · ".join(f"{label(k, tier=dt, serves=s.get('serves'))} {display(k, s[k])}" for k in PRINT_FIGURES)
        ax.text(0.0, -0.01, f"{t(f'tier.{dt}')}：{line}", transform=ax.transAxes, fontsize=9, ha="left", va="top")
    ax.text(
        1.0,
        -0.035,
        t("exports.map.footer", crs=crs),
        transform=ax.transAxes,
        fontsize=7,
        color="#606060",
        ha="right",
        va="top",
    )
    return fig
