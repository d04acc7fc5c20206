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
* **Wrong coordinate system for the whole file** — the offset check works on the
  file's values *as given* (before the conversion the user asked for): it snaps them to
  the network's roads (:func:`planner.network.snapping.snap_points`, walking graph) read
  as WGS-84, as GCJ-02 (Amap, Tencent) and as BD-09 (Baidu). When the median snap
  distance under another reading is lower than under the declared one by more than
  :data:`OFFSET_MIN_DROP_SHARE` *and* by more than :data:`OFFSET_MIN_DROP_M`, the file
  was most likely in that other system: a WGS-84 declaration gets "looks like GCJ-02,
  use ``--stations-coords gcj02``" (the option named is the file's own, ``option=``),
  a GCJ-02/BD-09 declaration on a file that sits on the roads as given gets "looks like
  WGS-84 already". Converting a correct file moves its points ~500 m off the roads, so
  a correct declaration stays quiet. Outside China GCJ-02 equals WGS-84 by definition,
  so the test never fires there.
* **A shifted subset of rows** — a row is a candidate when it lies at least
  :data:`SUBSET_OFF_ROAD_M` from every road as declared and within
  :data:`SUBSET_ON_ROAD_M` of a road under another reading. Some off-road rows land
  next to a road by chance after any shift of a few hundred metres; that chance is
  measured on the same rows by a control: the same displacement rotated by each angle
  of :data:`SUBSET_CONTROL_ANGLES_DEG` (an equally long move in a direction that is not
  the coordinate system's). The rows are listed only when there are at least
  :data:`SUBSET_MIN_ROWS`, they make up at least :data:`SUBSET_MIN_SHARE` of the rows
  that are off the roads as declared (the shift explains why rows are off the roads;
  in a sheet of points that lie away from the roads anyway a few landings say
  nothing), and chance landings explain that many with a probability below
  :data:`SUBSET_MAX_P` (binomial tail with the control's landing rate; by Hoeffding's
  inequality for sums of unequal Bernoulli trials this is conservative when the rate
  varies from row to row).

  Limitation: both checks need points that sit near roads (stations at a road-side
  entrance, as copied from a map). Points placed 50–150 m off the roads in a dense
  town are no closer to the roads than shifted ones: the 24 candidates extracted from
  ``guixi_center.osm`` (place and office nodes) have a median road distance of 59 m as
  WGS-84 and 74 m when shifted to GCJ-02, so a shifted copy of *that* sheet is not
  flagged, while 30 points on 贵溪's roads shifted to GCJ-02 go from ~150 m to ~0 m and
  are. For the same reason a shifted row that happens to land within
  :data:`SUBSET_OFF_ROAD_M` of another road cannot be told apart and is not listed, and
  a small subset is often missed where roads are dense: on ``guixi_center.osm`` one
  off-road point in seven to ten lands next to a road after a random 600 m move, and of
  14 road-side stations with 3 / 4 / 5 rows shifted to GCJ-02 the subset was listed in
  17 % / 44 % / 62 % of random sheets (all 5 rows in 34 %); on the generated demo
  county 38 % / 74 % / 93 %. No clean row was listed in any of them, and no clean sheet
  (200 random road-side and scattered sheets on each) got a subset warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner.i18n import t
from planner.inputs._validate import CHINA_LAT_BAND_DEG, CHINA_LON_BAND_DEG, row_ranges
from planner.inputs.coords import System, from_wgs84, to_wgs84
from planner.network.roads import RoadNetwork, TravelGraph
from planner.network.snapping import snap_points, snap_xy
from planner.settings import MAX_SNAP_M, Mode

logger = logging.getLogger(__name__)

__all__ = ["Finding", "check_coordinates", "sample_positions"]

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
#: Readings of the values as given that the offset checks compare (CGCS2000 reads as WGS-84).
READINGS: tuple[System, ...] = ("wgs84", "gcj02", "bd09")
#: Shifted subset: a candidate row lies at least this far from every road as declared ...
SUBSET_OFF_ROAD_M: float = 40.0
#: ... and at most this far under another reading (a road-side entrance).
SUBSET_ON_ROAD_M: float = 25.0
#: Fewest candidate rows listed.
SUBSET_MIN_ROWS: int = 3
#: Smallest share of the off-road rows (as declared) that the candidates must make up:
#: a shifted subset explains why rows are off the roads; a sheet of points that are off
#: the roads anyway (villages away from them) is not one.
SUBSET_MIN_SHARE: float = 0.5
#: Largest chance (all readings together) that landings by chance explain the candidates.
SUBSET_MAX_P: float = 2e-3
#: Control moves: the reading's displacement rotated by these angles (degrees); 60° and
#: more moves the end point at least as far from the tested position as the shift is long.
SUBSET_CONTROL_ANGLES_DEG: tuple[float, ...] = (60.0, 90.0, 120.0, 150.0, 180.0, 210.0, 240.0, 270.0, 300.0)
#: At most this many off-road rows take part in the control (evenly spaced), for speed.
SUBSET_CONTROL_MAX_ROWS: int = 2000
#: Rows listed in one message before "…".
MAX_LISTED_ROWS: int = 20
#: The checks that snap points to the roads (far from any road, offsets) look at a random
#: sample of this many of the points inside the extent (all of them when fewer): their cost
#: then does not grow with the table, and a median, a share or a chance rate of 2,000
#: points is as telling as one of 50,000. Rows with a problem are named when they are in
#: the sample, and the message says that a sample was checked.
SAMPLE_ROWS: int = 2000
#: Seed of that sample (the same table gives the same findings every time).
SAMPLE_SEED: int = 0
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
        Values for the message; ``sample_n`` and ``total`` when the finding comes from a
        sample of the rows (:data:`SAMPLE_ROWS`), which the message then says.
    file
        The file as the user named it ("" when unknown).
    """

    severity: Severity
    code: str
    rows: tuple[int, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    file: str = ""

    def message(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the active language).

        Names of coordinate systems (``system_name``, ``declared_name``, ``source``) and
        the row ranges (``rows``, and ``count`` for "row" or "rows") are worded here, in
        ``lang``, from the language-neutral ``system`` / ``declared`` / :attr:`rows`.
        """
        params = dict(self.params)
        if "system" in params:
            params["system_name"] = t(f"sanity.system.{params['system']}", lang=lang)
            params["source"] = t(f"sanity.source.{params['system']}", lang=lang)
        if "declared" in params:
            params["declared_name"] = t(f"sanity.system.{_reading(params['declared'])}", lang=lang)
        if self.rows:
            params["rows"] = row_ranges(self.rows, lang=lang, max_spans=MAX_LISTED_ROWS)
            params.setdefault("count", len(self.rows))  # "row 7" / "rows 7–9"
        text = t(self.code, lang=lang, **params)
        if "sample_n" in params:
            text += t("sanity.sampled", lang=lang, sample=f"{params['sample_n']:,}", total=f"{params['total']:,}")
        return text

    def __str__(self) -> str:
        return self.message()


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


def sample_positions(n: int, *, size: int = SAMPLE_ROWS, seed: int = SAMPLE_SEED) -> NDArray[np.int64]:
    """Sorted positions of a random sample of ``size`` of ``n`` items (all of them when ``n <= size``)."""
    if n <= size:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X > k) for X ~ Binomial(n, p), as ``scipy.stats.binom.sf(k, n, p)``.

    The regularised incomplete beta function I_p(k + 1, n − k), the same Boost routine that
    ``binom.sf`` calls, so the values are the same to the bit; importing ``scipy.stats`` for it
    would cost about a second per process.
    """
    from scipy.special import betainc

    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    return float(betainc(k + 1, n - k, p))


def _median(d: NDArray[np.float64]) -> float:
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) else float("nan")


def check_coordinates(
    df: pd.DataFrame,
    *,
    network: RoadNetwork | None = None,
    file: str = "",
    coords: System = "wgs84",
    option: str = "--coords",
    margin_m: float = OUTSIDE_MARGIN_M,
    max_snap_m: float = MAX_SNAP_M,
    sample: int | None = SAMPLE_ROWS,
) -> list[Finding]:
    """Look for swapped, out-of-extent and offset coordinates (whole file or some rows).

    Parameters
    ----------
    df
        A table with WGS-84 ``lon`` and ``lat`` columns (as returned by
        :func:`planner.inputs.tables.read_stations` / :func:`~planner.inputs.tables.read_demand`
        with ``coords=coords``); rows are named by its ``source_row`` column when present,
        else by position (first data row = 2, as in a spreadsheet with one header row).
    network
        The road network; without it only swapped rows (against China's extent) are
        checked.
    file
        File name stored in the findings.
    coords
        The coordinate system the file was declared in (and converted from). The offset
        checks work on the values as given, recovered exactly with
        :func:`planner.inputs.coords.from_wgs84`.
    option
        The command-line option that sets this file's system, named in the offset
        messages (``"--stations-coords"``, ``"--demand-coords"``, ``"--coords"``...).
    margin_m
        Margin added around the network's bounding box.
    max_snap_m
        Points farther than this from any walkable road get a warning (they would be
        off-network in the coverage analysis; default
        :data:`planner.settings.MAX_SNAP_M`).
    sample
        The checks that snap points to the roads (far from a road, whole-file and subset
        offsets) look at a random sample of this many of the points inside the extent
        (:func:`sample_positions`, fixed seed; default :data:`SAMPLE_ROWS`); ``None``: all of
        them. Swapped and outside rows are always looked for in every row.

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
        findings.append(Finding("error", "sanity.swapped", r, {"where": where}, file))
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
        findings.append(Finding("warning", "sanity.outside", r, {"margin_km": margin_km}, file))
    checked = np.flatnonzero(inside)
    picked = checked[sample_positions(len(checked), size=sample)] if sample is not None else checked
    extra: dict[str, Any] = {"sample_n": len(picked), "total": len(checked)} if len(picked) < len(checked) else {}
    if len(picked):
        dist = snap_distances_m(network, lon[picked], lat[picked])
        far = ~(dist <= max_snap_m)
        if far.any():
            r = tuple(int(x) for x in rows[picked[far]])
            params = {"max_snap_m": f"{max_snap_m:g}", **extra}
            findings.append(Finding("warning", "sanity.far_from_road", r, params, file))
        found = _system_findings(
            network, lon[picked], lat[picked], rows[picked], dist, coords=coords, option=option, file=file
        )
        findings += [Finding(f.severity, f.code, f.rows, {**f.params, **extra}, f.file) for f in found]
    return findings


def _reading(system: System) -> System:
    return "wgs84" if system == "cgcs2000" else system


def _system_findings(
    network: RoadNetwork,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    rows: NDArray[np.int64],
    declared_m: NDArray[np.float64],
    *,
    coords: System,
    option: str,
    file: str,
) -> list[Finding]:
    """Whole-file and subset offset findings for points inside the extent (WGS-84 as converted).

    ``declared_m`` are the points' road distances as read (in the declared system), already
    measured by :func:`check_coordinates`; only the other readings are snapped here.
    """
    declared = _reading(coords)
    given_lon, given_lat = from_wgs84(lon, lat, system=coords)
    graph = network.travel_graph(mode=Mode.WALK)
    xy: dict[System, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    dist: dict[System, NDArray[np.float64]] = {}
    for system in READINGS:
        if system == declared:  # the points as read: measured already
            xy[system], dist[system] = network.to_projected(lon, lat), declared_m
            continue
        xy[system] = network.to_projected(*to_wgs84(given_lon, given_lat, system=system))
        dist[system] = snap_xy(graph, x_m=xy[system][0], y_m=xy[system][1], max_snap_m=OFFSET_SNAP_LIMIT_M).snap_m
    medians = {s: _median(d) for s, d in dist.items()}
    logger.info("%s: median snap distance %s (declared %s)", file, {k: round(v, 1) for k, v in medians.items()}, coords)
    whole = _whole_file_finding(medians, coords=coords, n=len(lon), option=option, file=file)
    if whole is not None:
        return [whole]
    alternatives = [s for s in READINGS if s != declared]
    found = []
    for system in alternatives:
        subset = _subset_finding(
            graph, xy, dist, rows, declared=declared, system=system, tests=len(alternatives), option=option, file=file
        )
        if subset is not None:
            found.append(subset)
    return found


def _whole_file_finding(
    medians: dict[System, float], *, coords: System, n: int, option: str, file: str
) -> Finding | None:
    """The whole file reads better in another system: "looks like GCJ-02" or "looks like WGS-84 already"."""
    before = medians[_reading(coords)]
    if n < OFFSET_MIN_POINTS or not np.isfinite(before):
        return None
    others = {s: m for s, m in medians.items() if s != _reading(coords) and np.isfinite(m)}
    if not others:
        return None
    best = min(others, key=lambda s: others[s])
    drop = before - others[best]
    if not (drop > OFFSET_MIN_DROP_M and drop > OFFSET_MIN_DROP_SHARE * before):
        return None
    params = {
        "system": best,
        "option": option,
        "declared": coords,
        "before_m": f"{before:.0f}",
        "after_m": f"{others[best]:.0f}",
        "count": n,
    }
    code = "sanity.offset" if best != "wgs84" else "sanity.already_wgs84"
    return Finding("warning", code, (), params, file)


def _subset_finding(
    graph: TravelGraph,
    xy: dict[System, tuple[NDArray[np.float64], NDArray[np.float64]]],
    dist: dict[System, NDArray[np.float64]],
    rows: NDArray[np.int64],
    *,
    declared: System,
    system: System,
    tests: int,
    option: str,
    file: str,
) -> Finding | None:
    """Rows off the roads as declared that land next to a road read as ``system``, beyond chance."""
    off = np.flatnonzero(dist[declared] >= SUBSET_OFF_ROAD_M)
    candidates = off[dist[system][off] <= SUBSET_ON_ROAD_M]
    if len(candidates) < max(SUBSET_MIN_ROWS, SUBSET_MIN_SHARE * len(off)) or len(candidates) == len(rows):
        return None
    # control: the same rows moved as far, in directions that are not the system's
    sample = off[np.linspace(0, len(off) - 1, min(len(off), SUBSET_CONTROL_MAX_ROWS)).astype(np.int64)]
    x0, y0 = xy[declared][0][sample], xy[declared][1][sample]
    dx, dy = xy[system][0][sample] - x0, xy[system][1][sample] - y0
    hits = 0
    for angle in np.radians(SUBSET_CONTROL_ANGLES_DEG):
        cx = x0 + dx * np.cos(angle) - dy * np.sin(angle)
        cy = y0 + dx * np.sin(angle) + dy * np.cos(angle)
        hits += int(np.sum(snap_xy(graph, x_m=cx, y_m=cy, max_snap_m=OFFSET_SNAP_LIMIT_M).snap_m <= SUBSET_ON_ROAD_M))
    trials = len(sample) * len(SUBSET_CONTROL_ANGLES_DEG)
    chance = (hits + 1) / (trials + 2)  # Laplace: never zero on a small control
    p_value = binomial_tail(len(candidates) - 1, len(off), chance)
    logger.info(
        "%s: %d of %d off-road rows land next to a road read as %s; control rate %.3f; p = %.2g",
        file, len(candidates), len(off), system, chance, p_value,
    )  # fmt: skip
    if p_value > SUBSET_MAX_P / tests:
        return None
    listed = tuple(int(r) for r in rows[candidates])
    params = {
        "system": system,
        "option": option,
        "count": len(listed),
        "off_m": f"{SUBSET_OFF_ROAD_M:g}",
        "on_m": f"{SUBSET_ON_ROAD_M:g}",
        "chance_pct": f"{100 * chance:.0f}",
    }
    return Finding("warning", "sanity.offset_rows", listed, params, file)
