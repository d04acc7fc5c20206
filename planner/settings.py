"""Tiers, default service standards and travel speeds — defined once, typed.

Sources for the defaults (see ``docs``/README "Standards"):

* GB 50180-2018 城市居住区规划设计标准: 5/10/15-minute life circles ≈ 300/500/1000 m on
  foot, i.e. about 4 km/h. The village/community tier uses 15 min walking, intervals
  5/10/15.
* Rural township centres are commonly planned at ~30 min by e-bike; the county centre at
  ~30 min by car. These are working assumptions from county plans, not national norms,
  and are configurable per tier.
* E-bike: legal maximum 25 km/h (GB 17761-2018); effective 15–20 km/h. Cycling 12–18
  km/h. Driving speeds by road class reflect effective rural/urban speeds (rural 30–40,
  arterials 50–60 km/h).

Everything here can be overridden by a TOML config file (:func:`load_config`) or CLI
flags; overriding never mutates these module-level defaults.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from planner._errors import ConfigError


class Tier(StrEnum):
    """The four tiers of the service network."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    ENTERPRISE = "enterprise"


class Mode(StrEnum):
    """Travel modes."""

    WALK = "walk"
    BIKE = "bike"
    EBIKE = "ebike"
    DRIVE = "drive"


TIERS: tuple[Tier, ...] = (Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE, Tier.ENTERPRISE)

#: Words planners use for each tier, as they write them in station lists. The first
#: :data:`TIER_EXAMPLES_SHOWN` of each tier are offered in error messages. Matching is done
#: on :func:`tier_key` (full-/half-width forms, spaces, case, bracket and slash variants do
#: not matter), and a combination of words of one tier joined by a slash or brackets
#: (``社区/村``, ``镇（街道）``) names that tier too. 驿站 are small village-level stations.
TIER_WORDS: Mapping[Tier, tuple[str, ...]] = MappingProxyType(
    {
        Tier.COUNTY: (
            "县级",
            "县/区",
            "县（市、区）",
            "county",
            "县",
            "区",
            "市",
            "区级",
            "市级",
            "县级/区级",
            "县级市",
            "县级群团服务中心",
        ),
        Tier.TOWNSHIP: (
            "乡镇",
            "乡镇/街道",
            "乡镇（街道）",
            "township",
            "乡",
            "镇",
            "街道",
            "乡/镇",
            "镇/街道",
            "乡镇级",
            "街道级",
            "街道办",
            "街道办事处",
            "town",
        ),
        Tier.VILLAGE: (
            "村/社区",
            "村（社区）",
            "驿站",
            "village",
            "村",
            "社区",
            "社区/村",
            "村居",
            "村级",
            "社区级",
            "服务驿站",
            "户外劳动者服务驿站",
            "community",
        ),
        Tier.ENTERPRISE: (
            "企业",
            "企业/职工之家",
            "工会",
            "enterprise",
            "职工之家",
            "企业职工之家",
            "企业工会",
        ),
    }
)
#: Spellings of each tier listed in the message for an unknown tier.
TIER_EXAMPLES_SHOWN: int = 4

_TIER_SEPARATORS = str.maketrans(
    {c: "/" for c in "、，,;；|\\"} | {c: "(" for c in "[【〔{"} | {c: ")" for c in "]】〕}"}
)


def tier_key(value: object) -> str:
    """Return ``value`` as a tier-matching key.

    NFKC (full-width letters, slashes and brackets become half-width), lower case, no
    whitespace anywhere; list separators (``、，,;；|``) become ``/`` and other brackets
    ``(`` / ``)``. ``"村 ／ 社区"``, ``"村/社区"`` and ``"村、社区"`` give the same key.
    """
    text = unicodedata.normalize("NFKC", "" if value is None else str(value)).lower()
    return re.sub(r"\s+", "", text).translate(_TIER_SEPARATORS)


#: Every spelling of :data:`TIER_WORDS`, by its :func:`tier_key`.
TIER_ALIASES: Mapping[str, Tier] = MappingProxyType(
    {tier_key(word): tier for tier, words in TIER_WORDS.items() for word in words}
)


def tier_examples() -> str:
    """The spellings offered for an unknown tier, grouped by tier (every one of them parses)."""
    return "；".join("、".join(words[:TIER_EXAMPLES_SHOWN]) for words in TIER_WORDS.values())


def parse_tier(value: object, *, where: str = "") -> Tier:
    """Return the tier named by ``value`` (key, Chinese or English word; see :data:`TIER_WORDS`).

    A value made of several words of the same tier, joined by slashes or brackets
    (``村/社区``, ``社区（村）``, ``县（市、区）``), names that tier.

    Raises
    ------
    ConfigError
        If the value names no tier, or words of different tiers; ``where`` (e.g. "file
        x, row 3, column 层级") is included in the message.
    """
    key = tier_key(value)
    tier = TIER_ALIASES.get(key)
    if tier is None:
        parts = {TIER_ALIASES.get(part) for part in re.split(r"[/()]", key) if part}
        if len(parts) == 1 and None not in parts:
            tier = parts.pop()
    if tier is None:
        raise ConfigError("config.unknown_tier", value=value, where=where, allowed=tier_examples())
    return tier


def parse_mode(value: object) -> Mode:
    """Return the travel mode named by ``value``."""
    try:
        return Mode(str(value).strip().lower())
    except ValueError:
        raise ConfigError("config.unknown_mode", value=value) from None


#: Walking speed used for walking trips and for every access leg (km/h). 4.0 km/h makes
#: 15 min ≈ 1000 m, matching GB 50180-2018's 15-minute life circle.
WALK_SPEED_KPH: float = 4.0

#: Road classes understood, in display order. Unknown classes map to "unclassified".
ROAD_CLASSES: tuple[str, ...] = (
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "road",
    "track",
    "pedestrian",
    "footway",
    "path",
    "cycleway",
    "bridleway",
    "steps",
    "corridor",
)

_NO = math.nan  # marker: mode not allowed on this class

#: Speed in km/h per mode and road class; NaN means the mode may not use the class.
#: walk: 4.0 everywhere but motorways; bike 15 / e-bike 20 (capped on tracks, dismount on
#: pedestrian ways); drive: effective speeds by class (maxspeed tags, where present,
#: replace the class speed but are capped by it times 1.2).
DEFAULT_SPEEDS_KPH: Mapping[Mode, Mapping[str, float]] = MappingProxyType(
    {
        Mode.WALK: MappingProxyType({c: (_NO if c.startswith("motorway") else WALK_SPEED_KPH) for c in ROAD_CLASSES}),
        Mode.BIKE: MappingProxyType(
            {
                **{c: 15.0 for c in ROAD_CLASSES},
                "motorway": _NO,
                "motorway_link": _NO,
                "track": 10.0,
                "path": 8.0,
                "bridleway": 8.0,
                "pedestrian": 6.0,
                "footway": 6.0,
                "corridor": 4.0,
                "steps": 2.0,
            }
        ),
        Mode.EBIKE: MappingProxyType(
            {
                **{c: 20.0 for c in ROAD_CLASSES},
                "motorway": _NO,
                "motorway_link": _NO,
                "residential": 18.0,
                "living_street": 12.0,
                "service": 15.0,
                "track": 12.0,
                "path": 8.0,
                "bridleway": 8.0,
                "pedestrian": 6.0,
                "footway": 6.0,
                "corridor": 4.0,
                "steps": 2.0,
            }
        ),
        Mode.DRIVE: MappingProxyType(
            {
                "motorway": 100.0,
                "motorway_link": 50.0,
                "trunk": 70.0,
                "trunk_link": 40.0,
                "primary": 50.0,
                "primary_link": 35.0,
                "secondary": 45.0,
                "secondary_link": 30.0,
                "tertiary": 40.0,
                "tertiary_link": 30.0,
                "unclassified": 30.0,
                "residential": 25.0,
                "living_street": 10.0,
                "service": 15.0,
                "road": 30.0,
                "track": 15.0,
                "pedestrian": _NO,
                "footway": _NO,
                "path": _NO,
                "cycleway": _NO,
                "bridleway": _NO,
                "steps": _NO,
                "corridor": _NO,
            }
        ),
    }
)


@dataclass(frozen=True)
class Standard:
    """A tier's service standard: travel mode, N minutes and display intervals."""

    mode: Mode
    minutes: float
    intervals_min: tuple[float, ...]

    def __post_init__(self) -> None:
        for m in (self.minutes, *self.intervals_min):
            if not (isinstance(m, int | float) and math.isfinite(m) and m > 0):
                raise ConfigError("config.bad_minutes", value=m, where="")

    @property
    def limit_s(self) -> float:
        """The standard in seconds."""
        return float(self.minutes) * 60.0

    def all_intervals_min(self) -> tuple[float, ...]:
        """Sorted intervals, always including the standard itself."""
        return tuple(sorted({*map(float, self.intervals_min), float(self.minutes)}))


DEFAULT_STANDARDS: Mapping[Tier, Standard] = MappingProxyType(
    {
        Tier.COUNTY: Standard(Mode.DRIVE, 30.0, (10.0, 20.0, 30.0)),
        Tier.TOWNSHIP: Standard(Mode.EBIKE, 30.0, (10.0, 20.0, 30.0)),
        Tier.VILLAGE: Standard(Mode.WALK, 15.0, (5.0, 10.0, 15.0)),
        Tier.ENTERPRISE: Standard(Mode.EBIKE, 15.0, (5.0, 10.0, 15.0)),
    }
)

#: Kinds of demand rows: residents of a village, of a community, residents of no stated
#: subtype (a 类型 of 村/社区, or no 类型 at all) and enterprise workers.
DemandKind = Literal["village", "community", "residents", "enterprise"]
DEMAND_KINDS: tuple[DemandKind, ...] = ("village", "community", "residents", "enterprise")

#: Whom a tier serves: ``"residents"`` (demand rows of villages and communities, and rows
#: of no stated kind), ``"enterprise"`` (rows of enterprise workers: a 类型 of 企业, or the
#: rows of a separate enterprise file) or ``"all"`` (every row).
TierDemand = Literal["residents", "enterprise", "all"]
TIER_DEMAND_CHOICES: tuple[TierDemand, ...] = ("residents", "enterprise", "all")

#: Default demand of each tier: the enterprise tier serves enterprise workers, the others
#: residents. A planner with one sheet of everyone can set the enterprise tier to "all".
DEFAULT_TIER_DEMAND: Mapping[Tier, TierDemand] = MappingProxyType(
    {
        Tier.COUNTY: "residents",
        Tier.TOWNSHIP: "residents",
        Tier.VILLAGE: "residents",
        Tier.ENTERPRISE: "enterprise",
    }
)

_TIER_DEMAND_WORDS: Mapping[str, TierDemand] = MappingProxyType(
    {
        "residents": "residents",
        "resident": "residents",
        "居民": "residents",
        "enterprise": "enterprise",
        "enterprises": "enterprise",
        "企业": "enterprise",
        "职工": "enterprise",
        "企业职工": "enterprise",
        "all": "all",
        "全部": "all",
        "所有": "all",
        "全部人口": "all",
    }
)


def parse_tier_demand(value: object, *, where: str = "") -> TierDemand:
    """Return the tier demand choice named by ``value`` (``residents``/居民, ``enterprise``/企业, ``all``/全部).

    Raises
    ------
    ConfigError
        If the value names no choice.
    """
    text = str(value).strip().replace(" ", "").lower() if value is not None else ""
    choice = _TIER_DEMAND_WORDS.get(text)
    if choice is None:
        raise ConfigError("config.unknown_tier_demand", value=value, where=where)
    return choice


#: Default maximum distance from a point to the road it snaps to (metres).
MAX_SNAP_M: float = 500.0

#: Travel times are computed up to this multiple of the tier's standard, so gap lists
#: can say how far beyond the standard a village is; farther is reported unreachable.
HORIZON_FACTOR: float = 3.0

#: Minimum half-width of an isochrone polygon along the reached roads (metres). The
#: polygon holds the reached roads plus walking access up to the maximum snap distance
#: (:mod:`planner.coverage.isochrones`); this keeps the roads visible when that is small.
ISOCHRONE_BUFFER_M: float = 60.0


@dataclass(frozen=True)
class Config:
    """Everything an analysis needs to know besides the data.

    Build with :func:`load_config` or :meth:`with_overrides`; instances are immutable.
    """

    standards: Mapping[Tier, Standard] = field(default_factory=lambda: dict(DEFAULT_STANDARDS))
    speeds_kph: Mapping[Mode, Mapping[str, float]] = field(
        default_factory=lambda: {m: dict(v) for m, v in DEFAULT_SPEEDS_KPH.items()}
    )
    walk_speed_kph: float = WALK_SPEED_KPH
    max_snap_m: float = MAX_SNAP_M
    horizon_factor: float = HORIZON_FACTOR
    isochrone_buffer_m: float = ISOCHRONE_BUFFER_M
    #: Whom each tier serves (:data:`DEFAULT_TIER_DEMAND`).
    tier_demand: Mapping[Tier, TierDemand] = field(default_factory=lambda: dict(DEFAULT_TIER_DEMAND))
    #: Default capacity (people a station can serve) of each tier's stations and candidate
    #: sites, used where the stations' 容量 column is empty; a tier not named (``None``)
    #: is unlimited. The load report (:func:`planner.coverage.analyse.summarise`) flags
    #: stations serving more; the capacitated models (:mod:`planner.siting.capacity`) respect it.
    tier_capacity: Mapping[Tier, float | None] = field(default_factory=dict)

    def capacity_of(self, tier: Tier) -> float:
        """Default capacity of ``tier``'s stations in people (``inf``: unlimited)."""
        cap = self.tier_capacity.get(tier)
        return math.inf if cap is None else float(cap)

    def with_overrides(
        self,
        *,
        tier: Tier | None = None,
        mode: Mode | None = None,
        minutes: float | None = None,
        intervals_min: tuple[float, ...] | None = None,
        max_snap_m: float | None = None,
        tier_demand: Mapping[Tier, TierDemand] | None = None,
    ) -> Config:
        """Return a copy with CLI-style overrides applied (to ``tier`` or to all tiers).

        ``tier_demand`` replaces the demand choice of the tiers it names (the others keep theirs).
        """
        standards = dict(self.standards)
        targets = [tier] if tier is not None else list(standards)
        for tr in targets:
            st = standards[tr]
            new_minutes = float(minutes) if minutes is not None else st.minutes
            new_intervals = intervals_min if intervals_min is not None else st.intervals_min
            if minutes is not None and intervals_min is None:
                new_intervals = (*tuple(i for i in st.intervals_min if i < new_minutes), new_minutes)
            standards[tr] = Standard(mode if mode is not None else st.mode, new_minutes, new_intervals)
        out = replace(self, standards=standards)
        if max_snap_m is not None:
            if not (math.isfinite(max_snap_m) and max_snap_m > 0):
                raise ConfigError("config.bad_value", key="max_snap_m", value=max_snap_m, reason="> 0")
            out = replace(out, max_snap_m=float(max_snap_m))
        if tier_demand:
            choices = {tr: parse_tier_demand(c) for tr, c in tier_demand.items()}
            out = replace(out, tier_demand={**out.tier_demand, **choices})
        return out

    def speed_table(self, mode: Mode) -> Mapping[str, float]:
        """Speeds (km/h) by road class for ``mode``."""
        return self.speeds_kph[mode]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description of the parameters (written into summaries)."""
        return {
            "standards": {
                str(t): {
                    "mode": str(s.mode),
                    "minutes": s.minutes,
                    "intervals_min": list(s.all_intervals_min()),
                }
                for t, s in self.standards.items()
            },
            "speeds_kph": {
                str(m): {c: (None if math.isnan(v) else v) for c, v in tbl.items()}
                for m, tbl in self.speeds_kph.items()
            },
            "walk_speed_kph": self.walk_speed_kph,
            "max_snap_m": self.max_snap_m,
            "horizon_factor": self.horizon_factor,
            "tier_demand": {str(t): str(c) for t, c in self.tier_demand.items()},
            "tier_capacity": {str(t): c for t, c in self.tier_capacity.items() if c is not None},
        }


_CONFIG_KEYS = (
    "standards",
    "speeds_kph",
    "walk_speed_kph",
    "max_snap_m",
    "horizon_factor",
    "isochrone_buffer_m",
    "tier_demand",
    "tier_capacity",
)


def load_config(path: str | Path | None = None) -> Config:
    """Read a TOML config file over the defaults.

    Example file::

        walk_speed_kph = 4.5
        max_snap_m = 300
        [standards.village]
        mode = "walk"
        minutes = 10
        intervals_min = [5, 10]
        [speeds_kph.drive]
        residential = 20
        [tier_demand]
        enterprise = "all"
        [tier_capacity]          # people a station can serve (default: unlimited)
        village = 3000
        township = 30000

    Raises
    ------
    ConfigError
        Unknown keys, tiers, modes, road classes or non-positive values.
    """
    cfg = Config()
    if path is None:
        return cfg
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("config.bad_file", file=str(p), reason=str(exc)) from None
    for key in data:
        if key not in _CONFIG_KEYS:
            raise ConfigError("config.unknown_key", file=str(p), key=key, allowed=", ".join(_CONFIG_KEYS))
    standards = dict(cfg.standards)
    for tier_name, spec in dict(data.get("standards", {})).items():
        tier = parse_tier(tier_name, where=f" ({p})")
        if not isinstance(spec, dict):
            raise ConfigError("config.bad_value", key=f"standards.{tier_name}", value=spec, reason="table")
        base = standards[tier]
        for k in spec:
            if k not in ("mode", "minutes", "intervals_min"):
                raise ConfigError(
                    "config.unknown_key",
                    file=str(p),
                    key=f"standards.{tier_name}.{k}",
                    allowed="mode, minutes, intervals_min",
                )
        minutes = _positive(spec.get("minutes", base.minutes), f"standards.{tier_name}.minutes")
        intervals = spec.get("intervals_min", None)
        if intervals is None:
            ivals = (*tuple(i for i in base.intervals_min if i < minutes), minutes)
        else:
            ivals = tuple(_positive(v, f"standards.{tier_name}.intervals_min") for v in intervals)
        mode = parse_mode(spec["mode"]) if "mode" in spec else base.mode
        standards[tier] = Standard(mode, minutes, ivals)
    speeds = {m: dict(v) for m, v in cfg.speeds_kph.items()}
    for mode_name, table in dict(data.get("speeds_kph", {})).items():
        mode = parse_mode(mode_name)
        for cls, v in dict(table).items():
            if cls not in ROAD_CLASSES:
                raise ConfigError(
                    "config.unknown_key",
                    file=str(p),
                    key=f"speeds_kph.{mode_name}.{cls}",
                    allowed=", ".join(ROAD_CLASSES),
                )
            speeds[mode][cls] = _positive(v, f"speeds_kph.{mode_name}.{cls}", speed=True)
    tier_demand = dict(cfg.tier_demand)
    for tier_name, choice in dict(data.get("tier_demand", {})).items():
        tier_demand[parse_tier(tier_name, where=f" ({p})")] = parse_tier_demand(choice, where=f" ({p}, tier_demand)")
    tier_capacity: dict[Tier, float | None] = {}
    for tier_name, value in dict(data.get("tier_capacity", {})).items():
        tier_capacity[parse_tier(tier_name, where=f" ({p})")] = _capacity(value, f"tier_capacity.{tier_name}")
    return Config(
        standards=standards,
        speeds_kph=speeds,
        walk_speed_kph=_positive(data.get("walk_speed_kph", cfg.walk_speed_kph), "walk_speed_kph", speed=True),
        max_snap_m=_positive(data.get("max_snap_m", cfg.max_snap_m), "max_snap_m"),
        horizon_factor=max(1.0, _positive(data.get("horizon_factor", cfg.horizon_factor), "horizon_factor")),
        isochrone_buffer_m=_positive(data.get("isochrone_buffer_m", cfg.isochrone_buffer_m), "isochrone_buffer_m"),
        tier_demand=tier_demand,
        tier_capacity=tier_capacity,
    )


def _capacity(value: object, key: str) -> float:
    """A capacity in people: a number of 0 or more."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v >= 0):
        raise ConfigError("config.bad_value", key=key, value=value, reason=">= 0")
    return v


def _positive(value: object, key: str, *, speed: bool = False) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        if speed:
            raise ConfigError("config.bad_speed", value=value, where=key)
        raise ConfigError("config.bad_minutes", value=value, where=f" ({key})")
    return v
