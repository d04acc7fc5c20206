"""What travels between the batch client and its workers: paths and small values.

A county task names files, never carries frames: the worker reads what it needs (its
county's demand, the roads and stations within the halo) itself. Everything here is a
frozen dataclass of plain values, cheap to pickle and to hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from planner.settings import Config, Tier

__all__ = ["BatchSettings", "CountyInputs", "CountyOutcome", "CountyTask", "Status"]

#: ``ok``: the county's files were written; ``skipped``: its files already existed for the
#: same inputs and settings (resume); ``failed``: its inputs are bad (``message`` says what,
#: where and how to fix it); ``memory``: it needed more than a worker's memory limit;
#: ``error``: anything else, after the retries (``message`` holds the exception).
Status = Literal["ok", "skipped", "failed", "memory", "error"]


@dataclass(frozen=True)
class CountyInputs:
    """One county's files and extent.

    Attributes
    ----------
    code, name
        County code (e.g. ``"990101"``) and name.
    roads
        Road file holding at least the county's roads: its own file (manifest form) or the
        province's road file (province-wide form; read by bounding box).
    stations
        Station file with the county's own stations (the province split writes one per county).
    demand
        Demand file with the county's own demand rows only.
    areas
        Township polygons of the county, or ``None``.
    bounds
        ``(min lon, min lat, max lon, max lat)`` of the county in WGS-84: its boundary
        polygon's extent, else its roads file's.
    boundary_wkt
        The county's boundary polygon (WGS-84 WKT) where known, for the overview map.
    enterprises
        An enterprise file of the county, or ``None``.
    size_bytes
        Size of the county's own inputs (for ordering, largest first).
    """

    code: str
    name: str
    roads: str
    stations: str
    demand: str
    bounds: tuple[float, float, float, float]
    areas: str | None = None
    boundary_wkt: str | None = None
    enterprises: str | None = None
    size_bytes: int = 0


@dataclass(frozen=True)
class BatchSettings:
    """Settings shared by every county task of one batch run.

    Attributes
    ----------
    config
        Standards, speeds and snapping (the same :class:`~planner.settings.Config` as ``planner coverage``).
    tiers
        Tiers evaluated.
    coords
        Coordinate system of the station and demand files (``"wgs84"`` …).
    isochrones, maps
        As ``planner coverage --no-isochrones`` (negated) and ``--maps``.
    allow_off_network
        As ``planner coverage --allow-off-network``.
    halo_factor
        Multiplier of the first halo width (see :mod:`planner.batch.halo`); the check widens it.
    max_widen
        How many times a county's halo may be widened before the county is reported.
    site_tier, site_k, site_model, site_time_limit_s
        Optional siting per county: ``site_k`` new sites of ``site_tier`` proposed inside
        each county (``model`` as ``planner site --model``; candidates inside the county,
        existing stations on both sides of the border counted), or, for a province-wide
        number shared out by marginal gain (:func:`planner.batch.siting.share_out`), the
        most a county may get. ``None`` / 0: no siting.
    """

    config: Config
    tiers: tuple[Tier, ...]
    coords: str = "wgs84"
    isochrones: bool = True
    maps: bool = False
    allow_off_network: bool = False
    halo_factor: float = 1.0
    max_widen: int = 3
    site_tier: Tier | None = None
    site_k: int = 0
    site_model: str = "mclp"
    site_time_limit_s: float = 60.0


@dataclass(frozen=True)
class CountyTask:
    """One county's work: its inputs, the neighbours within the halo, where its files go.

    Attributes
    ----------
    county
        The county whose demand is counted.
    neighbours
        Counties whose extent comes within the widest halo of ``county``: their roads and
        stations are read inside the halo (their demand never).
    out_dir
        Folder of the county's files (``DIR/counties/<code>``).
    key
        Digest of the inputs' contents and the settings: a rerun skips the county when
        ``out_dir/done.json`` holds the same key.
    """

    county: CountyInputs
    neighbours: tuple[CountyInputs, ...]
    out_dir: str
    key: str


@dataclass(frozen=True)
class CountyOutcome:
    """What one county task reports back (small: the figures, never the frames).

    Attributes
    ----------
    code, name
        The county.
    status
        See :data:`Status`.
    message
        For ``failed``/``memory``/``error``: what went wrong, in the active language.
    summary
        The county's ``summary.json`` (per-tier figures under ``"tiers"``), or ``None``.
    halo_m
        Halo width used per travel mode (metres).
    widened
        How many times the halo was widened.
    n_nodes
        Road nodes of the county plus its halo.
    seconds
        Wall time of the task.
    peak_rss_mb
        Peak resident memory of the worker process during the task (MB).
    worker
        Address or name of the worker that ran it.
    """

    code: str
    name: str
    status: Status
    message: str = ""
    summary: dict[str, Any] | None = None
    halo_m: dict[str, float] = field(default_factory=dict)
    widened: int = 0
    n_nodes: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    worker: str = ""
