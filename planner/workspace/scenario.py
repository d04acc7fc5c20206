"""Scenarios and comparisons: a named stations table with an undo history, and before/after figures.

A :class:`Scenario` holds the stations a planner edits (add, move, close, undo);
:func:`compare` and :func:`compare_demand` set two coverage results side by side.
:func:`check_stations` is the check every stations table passes before it is
evaluated or edited.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planner._errors import InputError
from planner.coverage.analyse import CoverageResult
from planner.i18n import LANGUAGES, t
from planner.settings import TIERS, Tier, parse_tier

logger = logging.getLogger(__name__)

__all__ = ["BASELINE_SCENARIO", "CHANGE_KINDS", "COMPARISON_COLUMNS", "NEW_ID_PREFIX", "Scenario", "check_stations",
           "compare", "compare_demand", "newly_off_network", "scenario_label", "scenario_name",
           "station_changes"]  # fmt: skip

#: Prefix of ids given to stations added in a scenario.
NEW_ID_PREFIX: str = "NEW-"
#: How a station differs from the baseline (:func:`station_changes`), in drawing order.
CHANGE_KINDS: tuple[str, ...] = ("closed", "moved", "added")
#: A station counts as moved when it is farther than this from where it was (metres).
MOVED_MIN_M: float = 1.0
#: Columns every stations table must have.
_REQUIRED_STATION_COLUMNS: tuple[str, ...] = ("id", "tier", "lon", "lat")


def check_stations(stations: pd.DataFrame) -> None:
    """Refuse a stations table without id/tier/lon/lat, with duplicate ids or impossible coordinates."""
    missing = [c for c in _REQUIRED_STATION_COLUMNS if c not in stations.columns]
    if missing:
        raise InputError("scenario.error.missing_columns", columns="、".join(missing))
    ids = stations["id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError("scenario.error.duplicate_ids", ids="、".join(pd.unique(dup.to_numpy())[:10]))
    lon = pd.to_numeric(stations["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(stations["lat"], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(
            "scenario.error.bad_station_coordinates",
            id=str(ids.iloc[k]),
            lon=stations["lon"].iloc[k],
            lat=stations["lat"].iloc[k],
        )


def newly_off_network(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``after`` (evaluated stations) off the network that were not off it, at that place, in ``before``.

    A station added or moved to a place far from any road is listed; one that was
    already off the network (loaded from a file, see
    :attr:`Workspace.allow_off_network_stations`) and did not move is not.
    """
    key = ["id", "lon", "lat"]
    off_before = before.loc[~before["on_network"].astype(bool), key]
    off_after = after[~after["on_network"].astype(bool)]
    seen = off_after[key].merge(off_before, on=key, how="left", indicator=True)["_merge"].to_numpy() == "both"
    newly: pd.DataFrame = off_after[~seen]
    return newly


#: Stable id of the built-in scenario (the stations as loaded). It is its layer name in
#: project files and its key in the app; it is shown as ``scenario.current_name`` in the
#: active language (:func:`scenario_label`).
BASELINE_SCENARIO = "baseline"


def scenario_label(name: str, *, lang: str | None = None) -> str:
    """How a scenario is named to the user: the built-in baseline in ``lang``, a name the user typed as typed."""
    return t("scenario.current_name", lang=lang) if name == BASELINE_SCENARIO else name


def scenario_name(text: str) -> str:
    """The scenario id for a name as typed or read from a project file.

    The baseline's name in any language (a project saved before the id existed has a
    layer named so) is the baseline, :data:`BASELINE_SCENARIO`; any other name is kept.
    """
    name = text.strip()
    builtin = {BASELINE_SCENARIO, *(t("scenario.current_name", lang=lang).casefold() for lang in LANGUAGES)}
    if name.casefold() in builtin:
        return BASELINE_SCENARIO
    return name


@dataclass(eq=False)
class Scenario:
    """A named stations table with an undo history.

    Parameters
    ----------
    name
        Scenario name (also its layer name in a project file); :data:`BASELINE_SCENARIO`
        for the stations as loaded, shown with :func:`scenario_label`.
    stations
        Canonical stations table (:func:`planner.inputs.tables.read_stations` columns).
    """

    name: str
    stations: pd.DataFrame
    #: The stations edits are shown against (added, moved, closed; :meth:`changes`);
    #: default: the stations the scenario was created with.
    baseline: pd.DataFrame | None = field(default=None, repr=False)
    _history: list[pd.DataFrame] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        check_stations(self.stations)
        self.stations = self.stations.reset_index(drop=True)
        if self.baseline is None:
            self.baseline = self.stations.copy()

    def _row(self, station_id: str) -> int:
        hit = np.flatnonzero((self.stations["id"].astype(str) == str(station_id)).to_numpy())
        if len(hit) == 0:
            raise InputError("scenario.error.unknown_station", id=station_id, scenario=self.name)
        return int(hit[0])

    def _push(self) -> None:
        self._history.append(self.stations.copy())

    def _new_id(self) -> str:
        taken = set(self.stations["id"].astype(str))
        n = 1
        pattern = self.stations["id"].astype(str).str.extract(rf"^{NEW_ID_PREFIX}(\d+)$")[0].dropna()
        if len(pattern):
            n = int(pattern.astype(int).max()) + 1
        while f"{NEW_ID_PREFIX}{n:03d}" in taken:
            n += 1
        return f"{NEW_ID_PREFIX}{n:03d}"

    def add_station(
        self,
        *,
        tier: Tier | str,
        lon: float,
        lat: float,
        name: str | None = None,
        organisation: str = "",
        services: str = "",
    ) -> str:
        """Add a station and return its new id (``"NEW-001"``, ``"NEW-002"``...).

        Raises
        ------
        ConfigError
            Unknown tier.
        InputError
            Coordinates not finite or outside ±180 / ±90 degrees.
        """
        tr = parse_tier(tier, where=t("scenario.where_add"))
        _check_lonlat(lon, lat, what=name or "")
        sid = self._new_id()
        row: dict[str, Any] = {}
        for col in self.stations.columns:
            row[col] = np.nan if pd.api.types.is_numeric_dtype(self.stations[col]) else ""
        row.update(
            {
                "id": sid,
                "name": name if name else t("scenario.new_station_name", tier=t(f"tier.{tr}"), id=sid),
                "tier": str(tr),
                "lon": float(lon),
                "lat": float(lat),
                "organisation": organisation,
                "services": services,
            }
        )
        self._push()
        new = pd.DataFrame([row])
        self.stations = pd.concat([self.stations, new[[c for c in new.columns]]], ignore_index=True)
        logger.info("%s: added %s (%s) at %.6f, %.6f", self.name, sid, tr, lon, lat)
        return sid

    def move_station(self, station_id: str, *, lon: float, lat: float) -> None:
        """Move a station to ``lon, lat`` (WGS-84)."""
        r = self._row(station_id)
        _check_lonlat(lon, lat, what=str(station_id))
        self._push()
        st = self.stations.copy()
        st.loc[r, "lon"] = float(lon)
        st.loc[r, "lat"] = float(lat)
        self.stations = st

    def close_station(self, station_id: str) -> None:
        """Remove a station from the scenario."""
        r = self._row(station_id)
        self._push()
        self.stations = self.stations.drop(index=r).reset_index(drop=True)

    def undo(self) -> bool:
        """Undo the last change; ``False`` when there is nothing to undo."""
        if not self._history:
            return False
        self.stations = self._history.pop()
        return True

    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` would change anything."""
        return bool(self._history)

    def copy(self, name: str) -> Scenario:
        """A copy under a new name (fresh undo history, the same baseline)."""
        return Scenario(name=name, stations=self.stations.copy(), baseline=self.baseline)

    def changes(self) -> pd.DataFrame:
        """The stations added, moved or closed since the baseline (:func:`station_changes`)."""
        assert self.baseline is not None  # set in __post_init__
        return station_changes(self.stations, baseline=self.baseline)


def station_changes(stations: pd.DataFrame, *, baseline: pd.DataFrame) -> pd.DataFrame:
    """How ``stations`` differ from ``baseline``, matched by id.

    Parameters
    ----------
    stations
        The stations now (canonical stations table).
    baseline
        The stations before the edits.

    Returns
    -------
    pandas.DataFrame
        One row per changed station: ``id, name, tier, lon, lat, change, from_lon,
        from_lat``. ``change`` is ``"added"`` (id not in the baseline), ``"moved"``
        (position changed by more than :data:`MOVED_MIN_M`; ``from_lon, from_lat`` is
        where it was) or ``"closed"`` (in the baseline only; ``lon, lat`` is where it
        was). Rows in the order of :data:`CHANGE_KINDS`.
    """
    cols = ["id", "name", "tier", "lon", "lat"]

    def frame(df: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({c: df.get(c, "") for c in cols})
        out["id"] = out["id"].astype(str)
        return out.drop_duplicates("id").set_index("id")

    now, before = frame(stations), frame(baseline)
    added = now.loc[~now.index.isin(before.index)].assign(change="added")
    closed = before.loc[~before.index.isin(now.index)].assign(change="closed")
    both = now.index[now.index.isin(before.index)]
    lon0, lat0 = before.loc[both, "lon"].to_numpy(float), before.loc[both, "lat"].to_numpy(float)
    lon1, lat1 = now.loc[both, "lon"].to_numpy(float), now.loc[both, "lat"].to_numpy(float)
    # equirectangular metres: ample for telling a moved station from a rounding difference
    dx_m = np.radians(lon1 - lon0) * np.cos(np.radians((lat0 + lat1) / 2)) * 6_371_000.0
    dy_m = np.radians(lat1 - lat0) * 6_371_000.0
    moved_ids = both[np.hypot(dx_m, dy_m) > MOVED_MIN_M]
    moved = now.loc[moved_ids].assign(change="moved", from_lon=before.loc[moved_ids, "lon"],
                                      from_lat=before.loc[moved_ids, "lat"])  # fmt: skip
    out = pd.concat([closed, moved, added]).reset_index()
    for c in ("from_lon", "from_lat"):
        if c not in out:
            out[c] = np.nan
    out["tier"] = out["tier"].astype(str)
    result: pd.DataFrame = out[[*cols, "change", "from_lon", "from_lat"]].reset_index(drop=True)
    return result


def _check_lonlat(lon: float, lat: float, *, what: str) -> None:
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise InputError("scenario.error.bad_coordinates", lon=lon, lat=lat, what=what) from None
    if not (math.isfinite(x) and math.isfinite(y) and abs(x) <= 180 and abs(y) <= 90):
        raise InputError("scenario.error.bad_coordinates", lon=lon, lat=lat, what=what)


def _flags(result: CoverageResult) -> pd.DataFrame:
    d = result.demand
    if d.empty:
        return pd.DataFrame(columns=["id", "tier", "name", "population", "township", "covered", "minutes"])
    return pd.DataFrame(
        {
            "id": d["id"].astype(str),
            "tier": d["tier"].astype(str),
            "name": d["name"].astype(str),
            "population": d["population"].astype(float),
            "township": d["township"].astype(str),
            "covered": d["covered"].fillna(False).astype(bool),
            "minutes": d["minutes"].astype(float),
        }
    )


def _joined(before: CoverageResult, after: CoverageResult) -> pd.DataFrame:
    b = _flags(before)
    a = _flags(after)
    j = b.merge(a[["id", "tier", "covered", "minutes"]], on=["id", "tier"], how="outer", suffixes=("_before", "_after"))
    j["covered_before"] = j["covered_before"].fillna(False).astype(bool)
    j["covered_after"] = j["covered_after"].fillna(False).astype(bool)
    return j


#: Columns of :func:`compare`.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "tier",
    "covered_population_before",
    "covered_population_after",
    "delta_population",
    "newly_covered",
    "lost",
    "percent_before",
    "percent_after",
)


def compare(before: CoverageResult, after: CoverageResult) -> pd.DataFrame:
    """Per-tier before/after figures.

    Returns
    -------
    pandas.DataFrame
        One row per tier: ``tier, covered_population_before, covered_population_after,
        delta_population, newly_covered`` (demand points), ``lost`` (demand points),
        ``percent_before, percent_after``.
    """
    j = _joined(before, after)
    newly = j[~j["covered_before"] & j["covered_after"]].groupby("tier").size()
    lost = j[j["covered_before"] & ~j["covered_after"]].groupby("tier").size()
    tb = before.summary.get("tiers", {})
    ta = after.summary.get("tiers", {})
    rows = []
    for tier in [str(x) for x in TIERS if str(x) in tb or str(x) in ta]:
        sb, sa = tb.get(tier, {}), ta.get(tier, {})
        cb = float(sb.get("covered_population", 0.0))
        ca = float(sa.get("covered_population", 0.0))
        rows.append(
            {
                "tier": tier,
                "covered_population_before": cb,
                "covered_population_after": ca,
                "delta_population": ca - cb,
                "newly_covered": int(newly.get(tier, 0)),
                "lost": int(lost.get(tier, 0)),
                "percent_before": _pct(sb.get("percent_population")),
                "percent_after": _pct(sa.get("percent_population")),
            }
        )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _pct(v: object) -> float:
    return float(v) if isinstance(v, int | float) else float("nan")


def compare_demand(before: CoverageResult, after: CoverageResult) -> pd.DataFrame:
    """Demand rows whose covered flag changed.

    Returns
    -------
    pandas.DataFrame
        ``id, name, tier, population, change`` (``"newly_covered"`` / ``"lost"``),
        ``township, minutes_before, minutes_after``; largest population first.
    """
    j = _joined(before, after)
    changed = j[j["covered_before"] != j["covered_after"]].copy()
    changed["change"] = np.where(changed["covered_after"], "newly_covered", "lost")
    cols = ["id", "name", "tier", "population", "change", "township", "minutes_before", "minutes_after"]
    out = changed[cols].sort_values(["population", "id"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)
