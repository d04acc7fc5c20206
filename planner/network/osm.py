"""Read OSM files (XML, PBF, compressed) into a road network: the per-way tag rules.

The reader ends in :meth:`planner.network.roads.RoadNetwork.from_arrays`: roads become
straight segments between consecutive vertices, nothing is simplified.
:func:`planner.network.load.load_network` uses it for the suffixes in :data:`OSM_SUFFIXES`.

OSM files (``.osm``, ``.osm.xml``, ``.osm.pbf``, ``.pbf``, ``.osm.bz2``, ``.osm.gz``)
are read with pyosmium. The rules, applied per way:

* **Kept classes.** A way is kept when its ``highway`` value is one of
  :data:`planner.settings.ROAD_CLASSES` (motorway … corridor), or ``busway``
  (treated as ``service``). Everything else is dropped, which includes
  ``proposed``, ``construction``, ``abandoned``, ``disused``, ``planned``,
  ``razed``, ``platform``, ``raceway``, ``bus_stop``, ``elevator``, ``rest_area``,
  ``services``, ``via_ferrata`` and ``bus_guideway``. Drop counts are logged.
* **Areas.** Ways tagged ``area=yes`` (pedestrian squares drawn as polygons) are
  dropped: their outline is not a route.
* **Access.** ``access=no`` or ``access=private`` drops a way unless one of ``foot``,
  ``bicycle``, ``motor_vehicle``, ``motorcar`` or ``vehicle`` is ``yes``,
  ``designated``, ``permissive`` or ``destination``. A re-allowed way is kept for
  every mode (the network has no per-mode access; this is a simplification).
* **One-way.** ``oneway=yes/true/1`` → one-way; ``oneway=-1/reverse`` → segments are
  flipped and one-way; ``junction=roundabout/circular`` and ``highway=motorway``
  imply one-way unless ``oneway=no``. Other values (``reversible``, ``alternating``)
  are two-way.
* **Speed.** ``maxspeed`` numbers are km/h, ``"50 mph"`` and ``"10 knots"`` are
  converted, lists ``"60;80"`` take the minimum, zone values such as ``"CN:urban"``,
  ``"RU:rural"``, ``"walk"`` or ``"none"`` become NaN (the class speed applies).
* **Name.** ``name``, else ``name:zh``, else ``""``.
* **Clipped extracts.** A way whose node is missing from the file (or outside
  ``bbox``) is cut at that node: the segments touching it are dropped, the rest of
  the way is kept.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner._errors import NetworkError
from planner.i18n import t
from planner.network.roads import RoadNetwork
from planner.settings import ROAD_CLASSES

logger = logging.getLogger(__name__)

#: File name endings read as OSM data (pyosmium).
OSM_SUFFIXES: tuple[str, ...] = (".osm", ".osm.xml", ".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz")

#: ``highway`` values kept, mapped to a road class of :data:`ROAD_CLASSES`.
KEPT_HIGHWAYS: dict[str, str] = {**{c: c for c in ROAD_CLASSES}, "busway": "service"}

#: ``access`` values that drop a way unless a mode-specific tag re-allows it.
_ACCESS_DENIED = frozenset({"no", "private"})
_ACCESS_REALLOW_KEYS = ("foot", "bicycle", "motor_vehicle", "motorcar", "vehicle")
_ACCESS_ALLOWED = frozenset({"yes", "designated", "permissive", "destination"})
_ONEWAY_YES = frozenset({"yes", "true", "1"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})
_ONEWAY_NO = frozenset({"no", "false", "0"})
_ROUNDABOUT = frozenset({"roundabout", "circular"})

_MPH_KPH = 1.609344
_KNOT_KPH = 1.852
_SPEED_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mph|knots|km/h|kmh|kph)?")


@lru_cache(maxsize=4096)
def parse_maxspeed(value: str | None) -> float:
    """Parse an OSM ``maxspeed`` value into km/h (NaN when unknown).

    Examples
    --------
    >>> parse_maxspeed("50"), round(parse_maxspeed("30 mph"), 2), parse_maxspeed("60;80")
    (50.0, 48.28, 60.0)
    >>> parse_maxspeed("CN:urban")
    nan
    """
    if value is None:
        return math.nan
    speeds: list[float] = []
    for part in re.split(r"[;|]", str(value)):
        m = _SPEED_RE.fullmatch(part.strip().lower())
        if m is None:
            continue  # zone values ("CN:urban"), "walk", "none", "signals"
        v = float(m.group(1).replace(",", "."))
        unit = m.group(2)
        if unit == "mph":
            v *= _MPH_KPH
        elif unit == "knots":
            v *= _KNOT_KPH
        if v > 0:
            speeds.append(v)
    return min(speeds) if speeds else math.nan


def _way_rules(tags: Any) -> tuple[str | None, str, bool, bool]:
    """Apply the module's keep / one-way rules to one way's tags.

    Returns (road class or None when dropped, drop reason, oneway, reversed).
    """
    hw = tags.get("highway")
    cls = KEPT_HIGHWAYS.get(hw) if hw is not None else None
    if cls is None:
        return None, f"highway={hw}", False, False
    if tags.get("area") == "yes":
        return None, "area=yes", False, False
    if tags.get("access") in _ACCESS_DENIED and not any(tags.get(k) in _ACCESS_ALLOWED for k in _ACCESS_REALLOW_KEYS):
        return None, f"access={tags.get('access')}", False, False
    ow = tags.get("oneway")
    if ow in _ONEWAY_YES:
        return cls, "", True, False
    if ow in _ONEWAY_REVERSE:
        return cls, "", True, True
    if ow in _ONEWAY_NO:
        return cls, "", False, False
    implied = tags.get("junction") in _ROUNDABOUT or hw == "motorway"
    return cls, "", implied, False


def _load_osm(path: Path, *, bbox: tuple[float, float, float, float] | None, source: str) -> RoadNetwork:
    import osmium

    class_index = {c: i for i, c in enumerate(ROAD_CLASSES)}
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    node_way: list[int] = []
    way_class: list[int] = []
    way_oneway: list[bool] = []
    way_reversed: list[bool] = []
    way_maxspeed: list[float] = []
    way_name: list[str] = []
    dropped: Counter[str] = Counter()
    nan = math.nan
    try:
        fp = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in fp:
            if not isinstance(way, osmium.osm.Way):
                continue
            tags = way.tags
            cls, reason, oneway, flip = _way_rules(tags)
            if cls is None:
                dropped[reason] += 1
                continue
            k = len(way_class)
            way_class.append(class_index[cls])
            way_oneway.append(oneway)
            way_reversed.append(flip)
            way_maxspeed.append(parse_maxspeed(tags.get("maxspeed")))
            way_name.append(tags.get("name") or tags.get("name:zh") or "")
            nodes = way.nodes
            node_way.extend([k] * len(nodes))
            for nd in nodes:
                loc = nd.location
                refs.append(nd.ref)
                if loc.valid():
                    lons.append(loc.lon)
                    lats.append(loc.lat)
                else:
                    lons.append(nan)
                    lats.append(nan)
    except (RuntimeError, OSError, ValueError) as exc:
        raise NetworkError("osm.unreadable", file=str(path), error=str(exc)) from exc
    n_highway = len(way_class) + sum(dropped.values())
    if dropped:
        logger.info("%s: dropped highway ways %s", source, dict(dropped.most_common()))
    ref = np.asarray(refs, dtype=np.int64)
    lon = np.asarray(lons, dtype=np.float64)
    lat = np.asarray(lats, dtype=np.float64)
    wid = np.asarray(node_way, dtype=np.int64)
    missing = np.flatnonzero(~np.isfinite(lon))
    store = fp.node_location_storage
    if len(missing) and store is not None:
        # files with ways before their nodes (unsorted XML): the nodes are in the
        # location store now, after the full pass
        for i in missing:
            try:
                loc = store.get(int(ref[i]))
            except KeyError:
                continue
            if loc.valid():
                lon[i], lat[i] = loc.lon, loc.lat
    ok: NDArray[np.bool_] = np.asarray(np.isfinite(lon), dtype=bool)
    n_missing = int((~ok).sum())
    if bbox is not None:
        ok &= (lon >= bbox[0]) & (lon <= bbox[2]) & (lat >= bbox[1]) & (lat <= bbox[3])
    if n_missing:
        ways = len(np.unique(wid[~np.isfinite(lon)]))
        logger.warning("%s", t("osm.missing_nodes", file=source, count=n_missing, ways=ways))
    pair = np.flatnonzero((wid[:-1] == wid[1:]) & ok[:-1] & ok[1:]) if len(wid) > 1 else np.zeros(0, np.int64)
    if len(pair) == 0:
        raise NetworkError("osm.no_highways", file=str(path), count=n_highway)
    seg_way = wid[pair]
    ends = np.concatenate([pair, pair + 1])
    uniq, first, inv = np.unique(ref[ends], return_index=True, return_inverse=True)
    m = len(pair)
    u = inv[:m]
    v = inv[m:]
    rev = np.asarray(way_reversed, dtype=bool)[seg_way]
    u, v = np.where(rev, v, u), np.where(rev, u, v)
    first_pos = ends[first]
    logger.debug("%s: %d kept ways, %d nodes", source, len(way_class), len(uniq))
    return RoadNetwork.from_arrays(
        node_lon=lon[first_pos],
        node_lat=lat[first_pos],
        edge_u=u,
        edge_v=v,
        edge_class=np.asarray(way_class, dtype=np.int16)[seg_way],
        edge_oneway=np.asarray(way_oneway, dtype=bool)[seg_way],
        edge_maxspeed_kph=np.asarray(way_maxspeed, dtype=np.float64)[seg_way],
        edge_name=np.asarray(way_name, dtype=object)[seg_way],
        source=source,
    )
