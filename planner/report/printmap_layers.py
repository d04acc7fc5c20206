"""The layers of the printed map: the tier's service circle, roads and townships, demand, stations, edits.

Each ``draw_*`` function draws one kind of data onto the map's axes and returns its
legend entries; :mod:`planner.report.printmap` assembles the page. Colours come from
:mod:`planner.report.colours`, markers from :data:`TIER_MARKERS`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from numpy.typing import NDArray

from planner.i18n import t
from planner.network.roads import RoadNetwork
from planner.report.colours import (
    COVERED_HEX,
    OFF_NETWORK_HEX,
    TIER_COLOURS,
    UNCOVERED_HEX,
    interval_shades,
    lighten,
)
from planner.settings import TIERS, Tier

__all__ = [
    "TIER_MARKERS",
    "Entry",
    "MapFrame",
    "as_drawn",
    "draw_background",
    "draw_changes",
    "draw_circles",
    "draw_demand",
    "draw_stations",
]

#: Marker and marker area (points²) of a tier's stations; colours: :data:`planner.report.colours.TIER_COLOURS`.
TIER_MARKERS: Mapping[Tier, tuple[str, float]] = {
    Tier.COUNTY: ("*", 320.0),
    Tier.TOWNSHIP: ("s", 70.0),
    Tier.VILLAGE: ("o", 22.0),
    Tier.ENTERPRISE: ("^", 45.0),
}

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


@dataclass(frozen=True)
class MapFrame:
    """The map's projection (from WGS-84 lon/lat) and extent (metres)."""

    crs: Any
    to_xy: pyproj.Transformer
    x0: float
    x1: float
    y0: float
    y1: float

    def xy(self, lon: pd.Series, lat: pd.Series) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``lon, lat`` (WGS-84) in the map's CRS (metres)."""
        x, y = self.to_xy.transform(lon.to_numpy(float), lat.to_numpy(float))
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _polyline_xy(network: RoadNetwork, sel: NDArray[np.bool_]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Segments as one NaN-separated polyline (one path: fast in PDF, unlike a collection)."""
    u, v = network.edge_u[sel], network.edge_v[sel]
    x = np.column_stack([network.node_x_m[u], network.node_x_m[v], np.full(len(u), np.nan)]).ravel()
    y = np.column_stack([network.node_y_m[u], network.node_y_m[v], np.full(len(u), np.nan)]).ravel()
    return x, y


#: A legend entry: a handle (or a tuple of handles drawn on top of each other) and its text.
Entry = tuple[Any, str]


def draw_circles(
    ax: Axes, *, frame: MapFrame, isochrones: gpd.GeoDataFrame | None, tier: Tier, mode: str
) -> list[Entry]:
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


def as_drawn(text: str) -> str:
    """User text as a map label: white space (tabs, line breaks) as single spaces, control characters dropped.

    Fonts have no glyph for a tab or a carriage return (matplotlib warns and draws a box);
    the text is otherwise kept, and drawn without math text (``parse_math=False``).
    """
    spaced = " ".join(text.split())
    return "".join(ch for ch in spaced if not unicodedata.category(ch).startswith("C"))


def draw_background(
    ax: Axes, *, frame: MapFrame, network: RoadNetwork | None, areas: gpd.GeoDataFrame | None
) -> list[Entry]:
    """Roads (over the circles, so a circle's roads stay visible) and township boundaries with names."""
    entries: list[Entry] = []
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
            for x, y, name in zip(pts.x, pts.y, a["name"].astype(str).map(as_drawn), strict=True):
                ax.text(x, y, name, fontsize=8, color="#404040", ha="center", va="center", alpha=0.8, zorder=6,
                        parse_math=False)  # fmt: skip
        entries.append((Line2D([], [], color=_BOUNDARY, lw=0.8, ls="--"), t("exports.map.townships")))
    return entries


def draw_demand(ax: Axes, *, frame: MapFrame, demand: pd.DataFrame, tier: Tier) -> list[Entry]:
    """The tier's demand points coloured by status, their area by population."""
    d = demand[demand["tier"].astype(str) == str(tier)] if not demand.empty else demand
    if d.empty:
        return []
    x, y = frame.xy(d["lon"], d["lat"])
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


def marker_handle(marker: str, *, face: str, edge: str, edge_width: float = 0.6, small: bool = False) -> Line2D:
    """A legend handle showing one station marker."""
    size = (9.0 if marker == "*" else 7.0) * (0.7 if small else 1.0)
    return Line2D([], [], marker=marker, ls="", markerfacecolor=face, markeredgecolor=edge,
                  markeredgewidth=edge_width, markersize=size)  # fmt: skip


def draw_stations(ax: Axes, *, frame: MapFrame, stations: pd.DataFrame, tier: Tier) -> tuple[list[Entry], list[Entry]]:
    """The tier's stations in its colour with a black edge; other tiers' small, light and without edge."""
    own: list[Entry] = []
    others: list[Entry] = []
    if stations.empty:
        return own, others
    sx, sy = frame.xy(stations["lon"], stations["lat"])
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
            own.append((marker_handle(marker, face=colour, edge="black"), text))
        else:
            muted = lighten(TIER_COLOURS[x], share=_MUTED_SHARE)
            ax.scatter(sx[m], sy[m], s=max(size * _MUTED_SIZE, 6.0), c=muted, marker=marker, linewidths=0, zorder=35)
            others.append((marker_handle(marker, face=muted, edge=muted, small=True), text))
    return own, others


def draw_changes(ax: Axes, *, frame: MapFrame, changes: pd.DataFrame | None, tier: Tier) -> list[Entry]:
    """Edits of the tier: closed (hollow, crossed), moved (ghost at the old place, arrow), added (bold outline)."""
    if changes is None or not len(changes):
        return []
    ch = changes[changes["tier"].astype(str) == str(tier)]
    colour = TIER_COLOURS[tier]
    marker, size = TIER_MARKERS[tier]
    big = max(size * 1.6, _EDIT_MIN_SIZE)
    entries: list[Entry] = []

    closed = ch[ch["change"] == "closed"]
    if len(closed):
        x, y = frame.xy(closed["lon"], closed["lat"])
        ax.scatter(x, y, s=big, marker=marker, facecolors="white", edgecolors=_CLOSED, linewidths=1.4, zorder=42)
        ax.scatter(x, y, s=big * 0.55, marker="x", c=_CLOSED, linewidths=1.6, zorder=43)
        cross = Line2D([], [], marker="x", ls="", color=_CLOSED, markersize=6, markeredgewidth=1.6)
        hollow = marker_handle(marker, face="white", edge=_CLOSED, edge_width=1.4)
        entries.append(((hollow, cross), t("exports.map.closed", n=len(closed))))

    moved = ch[ch["change"] == "moved"]
    if len(moved):
        x0, y0 = frame.xy(moved["from_lon"], moved["from_lat"])
        x1, y1 = frame.xy(moved["lon"], moved["lat"])
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
        entries.append(((line, marker_handle(marker, face=ghost, edge=colour)), t("exports.map.moved", n=len(moved))))

    added = ch[ch["change"] == "added"]
    if len(added):
        x, y = frame.xy(added["lon"], added["lat"])
        ax.scatter(x, y, s=big, marker=marker, c=colour, edgecolors="black", linewidths=2.4, zorder=46)
        entries.append(
            (marker_handle(marker, face=colour, edge="black", edge_width=2.4), t("exports.map.added", n=len(added)))
        )
    return entries
