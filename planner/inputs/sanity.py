"""Coordinate sanity checks on station and demand tables, against a road network.

The readers in :mod:`planner.inputs.tables` reject what is certainly wrong (text in a
coordinate cell, latitude 120, a whole column pair swapped). This module looks for
what is *probably* wrong once the road network is known:

* **Swapped rows** — a point lies outside the reference extent (the network's bounding
  box plus :data:`OUTSIDE_MARGIN_M`, or China without a network) but would lie inside
  it with longitude and latitude exchanged (error).
* **Outside the network** — points beyond the network's extent plus the margin: they
  cannot be reached (warning; an error when *every* point is outside).
* **Far from any road** — points farther than ``max_snap_m`` from every walkable
  road: the coverage analysis would treat them as off-network (warning).
* **Systematic GCJ-02 / BD-09 offset** — snap the points to the network's roads
  (:func:`planner.network.snapping.snap_points`, walking graph) as given, and again after
  converting them as if they were GCJ-02 (Amap, Tencent) and BD-09 (Baidu). When the
  median snap distance drops by more than :data:`OFFSET_MIN_DROP_SHARE` *and* by more
  than :data:`OFFSET_MIN_DROP_M`, the sheet was most likely copied from that map and
  the warning suggests ``--coords gcj02`` / ``bd09``. A WGS-84 sheet gets worse when
  converted (its points move ~500 m off the roads), so it stays quiet. Outside China
  GCJ-02 equals WGS-84 by definition, so the test never fires there.

  Limitation: the signal needs points that sit near roads (stations at a road-side
  entrance, as copied from a map). Points placed 50–150 m off the roads in a dense town
  are no closer to the roads than shifted ones: the 24 candidates extracted from
  ``guixi_center.osm`` (place and office nodes) have a median road distance of 59 m as
  WGS-84 and 74 m when shifted to GCJ-02, so a shifted copy of *that* sheet is not
  flagged, while 30 points on 贵溪's roads shifted to GCJ-02 go from ~150 m to ~0 m and
  are.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.i18n import t
from planner.inputs._validate import CHINA_LAT_BAND_DEG, CHINA_LON_BAND_DEG
from planner.inputs.coords import System, to_wgs84
from planner.network.roads import RoadNetwork
from planner.network.snapping import snap_points
from planner.settings import MAX_SNAP_M, Mode

logger = logging.getLogger(__name__)

__all__ = ["Finding", "check_coordinates"]

#: Margin around the network's bounding box inside which points count as "inside".
OUTSIDE_MARGIN_M: float = 2000.0
#: The offset warning needs the median snap distance to drop by this share ...
OFFSET_MIN_DROP_SHARE: float = 0.4
#: ... and by at least this many metres.
OFFSET_MIN_DROP_M: float = 30.0
#: Fewer points than this inside the extent: no offset test (a median of two says little).
OFFSET_MIN_POINTS: int = 3
#: Snap limit used for measuring (distances are measured up to 10× this).
OFFSET_SNAP_LIMIT_M: float = 1000.0
#: Rows listed in one message before "…".
MAX_LISTED_ROWS: int = 20
_M_PER_DEG_LAT = 111_320.0

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One coordinate problem.

    Attributes
    ----------
    severity
        ``"error"`` (the data cannot be right) or ``"warning"`` (probably wrong).
    code
        i18n key of the message (``sanity.*``).
    rows
        Spreadsheet rows concerned (header = row 1), empty for the whole file.
    params
        Values for the message.
    file
        The file as the user named it ("" when unknown).
    """

    severity: Severity
    code: str
    rows: tuple[int, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    file: str = ""

    def message(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the active language)."""
        return t(self.code, lang=lang, **self.params)

    def __str__(self) -> str:
        return self.message()


def _rows_text(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:MAX_LISTED_ROWS])
    return shown + (f" … (+{len(rows) - MAX_LISTED_ROWS})" if len(rows) > MAX_LISTED_ROWS else "")


def _box(
    lon: NDArray[np.float64], lat: NDArray[np.float64], box: tuple[float, float, float, float]
) -> NDArray[np.bool_]:
    w, s, e, n = box
    return np.asarray((lon >= w) & (lon <= e) & (lat >= s) & (lat <= n), dtype=bool)


def _network_box(network: RoadNetwork, *, margin_m: float) -> tuple[float, float, float, float]:
    w, s, e, n = network.bounds_lonlat()
    mid = np.radians((s + n) / 2.0)
    dlat = margin_m / _M_PER_DEG_LAT
    dlon = margin_m / (_M_PER_DEG_LAT * max(float(np.cos(mid)), 0.01))
    return (w - dlon, s - dlat, e + dlon, n + dlat)


def snap_distances_m(network: RoadNetwork, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distance (m) from each point to the nearest walkable road segment (NaN beyond 10 km)."""
    graph = network.travel_graph(mode=Mode.WALK)
    snap = snap_points(graph, lon=lon, lat=lat, max_snap_m=OFFSET_SNAP_LIMIT_M)
    return snap.snap_m


def _median(d: NDArray[np.float64]) -> float:
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) else float("nan")


def check_coordinates(
    df: pd.DataFrame,
    *,
    network: RoadNetwork | None = None,
    file: str = "",
    margin_m: float = OUTSIDE_MARGIN_M,
    max_snap_m: float = MAX_SNAP_M,
) -> list[Finding]:
    """Look for swapped, out-of-extent and systematically offset coordinates.

    Parameters
    ----------
    df
        A table with WGS-84 ``lon`` and ``lat`` columns (as returned by
        :func:`planner.inputs.tables.read_stations` / :func:`~planner.inputs.tables.read_demand`);
        rows are named by its ``source_row`` column when present, else by position
        (first data row = 2, as in a spreadsheet with one header row).
    network
        The road network; without it only swapped rows (against China's extent) are
        checked.
    file
        File name stored in the findings.
    margin_m
        Margin added around the network's bounding box.
    max_snap_m
        Points farther than this from any walkable road get a warning (they would be
        off-network in the coverage analysis; default
        :data:`planner.settings.MAX_SNAP_M`).

    Returns
    -------
    list of Finding
        Errors first, then warnings; empty for a clean table.
    """
    lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype=np.float64)
    if "source_row" in df.columns:
        rows = pd.to_numeric(df["source_row"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    else:
        rows = np.arange(2, len(df) + 2, dtype=np.int64)
    finite = np.isfinite(lon) & np.isfinite(lat)
    findings: list[Finding] = []
    if network is not None:
        box = _network_box(network, margin_m=margin_m)
        where = t("sanity.where_network")
    else:
        box = (CHINA_LON_BAND_DEG[0], CHINA_LAT_BAND_DEG[0], CHINA_LON_BAND_DEG[1], CHINA_LAT_BAND_DEG[1])
        where = t("sanity.where_china")
    inside = finite & _box(lon, lat, box)
    swapped = finite & ~inside & _box(lat, lon, box)
    if swapped.any():
        r = tuple(int(x) for x in rows[swapped])
        findings.append(Finding("error", "sanity.swapped", r, {"rows": _rows_text(r), "where": where}, file))
    if network is None:
        return findings
    outside = finite & ~inside & ~swapped
    margin_km = f"{margin_m / 1000:g}"
    if finite.any() and not inside.any() and not swapped.any():
        findings.append(
            Finding("error", "sanity.all_outside", (), {"count": int(finite.sum()), "margin_km": margin_km}, file)
        )
        return findings
    if outside.any():
        r = tuple(int(x) for x in rows[outside])
        findings.append(Finding("warning", "sanity.outside", r, {"rows": _rows_text(r), "margin_km": margin_km}, file))
    dist = np.full(len(lon), np.nan)
    if inside.any():
        dist[inside] = snap_distances_m(network, lon[inside], lat[inside])
    far = inside & ~(dist <= max_snap_m)
    if far.any():
        r = tuple(int(x) for x in rows[far])
        findings.append(
            Finding(
                "warning", "sanity.far_from_road", r, {"rows": _rows_text(r), "max_snap_m": f"{max_snap_m:g}"}, file
            )
        )
    offset = _offset_finding(network, lon[inside], lat[inside], before=_median(dist[inside]), file=file)
    if offset is not None:
        findings.append(offset)
    return findings


def _offset_finding(
    network: RoadNetwork, lon: NDArray[np.float64], lat: NDArray[np.float64], *, before: float, file: str
) -> Finding | None:
    if len(lon) < OFFSET_MIN_POINTS or not np.isfinite(before):
        return None
    after: dict[str, float] = {}
    systems: tuple[System, ...] = ("gcj02", "bd09")
    for system in systems:
        clon, clat = to_wgs84(lon, lat, system=system)
        after[system] = _median(snap_distances_m(network, np.asarray(clon), np.asarray(clat)))
    logger.info("median snap distance %.1f m as given, %s after conversion", before, after)
    best = min(after, key=lambda k: after[k] if np.isfinite(after[k]) else np.inf)
    best_m = after[best]
    if not np.isfinite(best_m):
        return None
    drop = before - best_m
    if drop > OFFSET_MIN_DROP_M and drop > OFFSET_MIN_DROP_SHARE * before:
        params = {
            "system": best,
            "system_name": t(f"sanity.system.{best}"),
            "source": t(f"sanity.source.{best}"),
            "before_m": f"{before:.0f}",
            "after_m": f"{best_m:.0f}",
            "n": len(lon),
        }
        return Finding("warning", "sanity.offset", (), params, file)
    return None
