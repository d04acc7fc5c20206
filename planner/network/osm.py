"""Load road networks from OSM files, GIS line layers or (optionally) the internet.

Every loader ends in :meth:`planner.network.roads.RoadNetwork.from_arrays`: roads become
straight segments between consecutive vertices, nothing is simplified.

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

Line layers (``.gpkg``, ``.shp``, ``.geojson``, ``.json``, ``.fgb``) are read with
pyogrio. A road class column is required (see :data:`CLASS_COLUMNS`); Chinese road
classes are mapped by :data:`CHINESE_CLASSES`. Nodes are the unique vertices after
snapping to a :data:`VERTEX_TOLERANCE_M` grid in a metric CRS (the layer's own CRS
when it is projected in metres, else the UTM zone of the data), so lines that share a
vertex connect. (Two vertices a few millimetres apart that straddle a grid line stay
apart; real shared vertices are bit-identical or far closer.) Lines that merely cross
without a shared vertex do **not** connect: that is how GIS road layers draw bridges
and tunnels.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from planner._errors import NetworkError
from planner.i18n import t
from planner.network.roads import RoadNetwork, utm_crs_for
from planner.settings import ROAD_CLASSES, Config, Mode

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

logger = logging.getLogger(__name__)

#: File name endings read as OSM data (pyosmium).
OSM_SUFFIXES: tuple[str, ...] = (".osm", ".osm.xml", ".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz")
#: File name endings read as GIS line layers (pyogrio).
LAYER_SUFFIXES: tuple[str, ...] = (".gpkg", ".shp", ".geojson", ".json", ".fgb")

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

#: Accepted names of a line layer's road class column, in order of preference.
CLASS_COLUMNS: tuple[str, ...] = ("highway", "fclass", "道路等级", "等级", "class", "type")
#: Accepted names of the optional one-way, speed and name columns.
ONEWAY_COLUMNS: tuple[str, ...] = ("oneway", "one_way", "单行", "单向", "单行线")
MAXSPEED_COLUMNS: tuple[str, ...] = ("maxspeed", "max_speed", "限速", "最高限速")
NAME_COLUMNS: tuple[str, ...] = ("name", "名称", "道路名称", "路名", "name_zh")

#: Chinese road classes (公路等级 and 城市道路等级) → OSM highway class.
CHINESE_CLASSES: dict[str, str] = {
    "高速公路": "motorway",
    "高速": "motorway",
    "城市快速路": "trunk",
    "快速路": "trunk",
    "国道": "trunk",
    "省道": "primary",
    "县道": "secondary",
    "乡道": "tertiary",
    "村道": "unclassified",
    "专用公路": "service",
    "城市主干道": "primary",
    "主干道": "primary",
    "主干路": "primary",
    "城市次干道": "secondary",
    "次干道": "secondary",
    "次干路": "secondary",
    "支路": "residential",
    "城市支路": "residential",
    "步行道": "footway",
    "人行道": "footway",
    "步行街": "pedestrian",
    "自行车道": "cycleway",
    "机耕路": "track",
}

#: One-way column values (lower-cased). ``F``/``T``/``B`` follow the Geofabrik
#: shapefile convention (T = travel against the digitised direction only); ``FT``/``TF``
#: the ESRI one.
_LAYER_ONEWAY_FORWARD = frozenset({"yes", "y", "true", "1", "1.0", "ft", "f", "是"})
_LAYER_ONEWAY_REVERSE = frozenset({"-1", "-1.0", "tf", "t", "reverse"})

#: Vertices closer than this (metres, in a metric CRS) are the same node.
VERTEX_TOLERANCE_M = 0.01

_MPH_KPH = 1.609344
_KNOT_KPH = 1.852
_SPEED_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mph|knots|km/h|kmh|kph)?")


def _supported_formats() -> dict[str, str]:
    return {"osm_formats": ", ".join(OSM_SUFFIXES), "layer_formats": ", ".join(LAYER_SUFFIXES)}


def _check_bbox(bbox: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        w, s, e, n = (float(x) for x in bbox)
    except (TypeError, ValueError):
        raise NetworkError("osm.bad_bbox", bbox=bbox) from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise NetworkError("osm.bad_bbox", bbox=bbox)
    return (w, s, e, n)


def load_network(
    path: str | Path,
    *,
    bbox: Sequence[float] | None = None,
    source_name: str | None = None,
    layer: str | int | None = None,
) -> RoadNetwork:
    """Load a road network from an OSM file or a GIS line layer.

    Parameters
    ----------
    path
        ``.osm``/``.osm.xml``/``.osm.pbf``/``.pbf``/``.osm.bz2``/``.osm.gz`` (OSM) or
        ``.gpkg``/``.shp``/``.geojson``/``.json``/``.fgb`` (line layer).
    bbox
        Optional ``(min lon, min lat, max lon, max lat)`` in WGS-84 degrees; only
        segments with both ends inside are kept (roads crossing the edge are cut).
    source_name
        Description stored as :attr:`RoadNetwork.source` (default: the file name).
    layer
        Layer name or index of a multi-layer file (line layers only).

    Returns
    -------
    RoadNetwork

    Raises
    ------
    NetworkError
        Missing, unreadable or unsupported file, no usable roads, a layer without a
        road class column.
    """
    p = Path(path)
    box = _check_bbox(bbox)
    name = p.name.lower()
    is_osm = name.endswith(OSM_SUFFIXES)
    is_layer = name.endswith(LAYER_SUFFIXES)
    if not (is_osm or is_layer):
        raise NetworkError("osm.unsupported_format", file=str(p), **_supported_formats())
    if not p.is_file():
        raise NetworkError("osm.file_missing", file=str(p))
    source = source_name or p.name
    t0 = time.perf_counter()
    net = _load_osm(p, bbox=box, source=source) if is_osm else _load_layer(p, bbox=box, source=source, layer=layer)
    logger.info(
        "loaded %s: %d nodes, %d segments in %.2f s", source, net.n_nodes, net.n_edges, time.perf_counter() - t0
    )
    return net


# --------------------------------------------------------------------------- OSM


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
        logger.warning(
            "%s: %d node references of %d ways are missing from the file; ways are cut there",
            source,
            n_missing,
            len(np.unique(wid[~np.isfinite(lon)])),
        )
    pair = np.flatnonzero((wid[:-1] == wid[1:]) & ok[:-1] & ok[1:]) if len(wid) > 1 else np.zeros(0, np.int64)
    if len(pair) == 0:
        raise NetworkError("osm.no_highways", file=str(path), n_highway_ways=n_highway)
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


# --------------------------------------------------------------------- line layers


def _find_column(columns: Sequence[str], aliases: Sequence[str]) -> str | None:
    lowered = {str(c).strip().lower(): str(c) for c in columns}
    for alias in aliases:
        hit = lowered.get(alias.lower())
        if hit is not None:
            return hit
    return None


def _layer_class(value: object) -> str | None:
    """Map one class-column value to a road class (None when unknown)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    s = str(value).strip()
    if s in CHINESE_CLASSES:
        return CHINESE_CLASSES[s]
    low = s.lower().replace(" ", "_")
    if low in KEPT_HIGHWAYS:
        return KEPT_HIGHWAYS[low]
    if low.startswith("track_grade"):  # Geofabrik shapefiles
        return "track"
    return None


def _layer_oneway(values: pd.Series) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    text = values.astype("string").str.strip().str.lower().fillna("")
    fwd = text.isin(_LAYER_ONEWAY_FORWARD).to_numpy(dtype=bool)
    rev = text.isin(_LAYER_ONEWAY_REVERSE).to_numpy(dtype=bool)
    return fwd | rev, rev


def _layer_maxspeed(values: pd.Series) -> NDArray[np.float64]:
    text = values.astype("string").fillna("")
    codes, uniques = pd.factorize(text)
    parsed = np.array([parse_maxspeed(str(x)) for x in uniques] + [math.nan], dtype=np.float64)
    return parsed[codes]  # code -1 (missing) picks the trailing NaN


def _load_layer(
    path: Path,
    *,
    bbox: tuple[float, float, float, float] | None,
    source: str,
    layer: str | int | None,
) -> RoadNetwork:
    import pyogrio

    try:
        layers = [str(x[0]) for x in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, OSError, ValueError) as exc:
        raise NetworkError("osm.unreadable", file=str(path), error=str(exc)) from exc
    if isinstance(layer, str) and layer not in layers:
        raise NetworkError("osm.layer_not_found", file=str(path), layer=layer, layers=", ".join(layers))
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as exc:
        raise NetworkError("osm.unreadable", file=str(path), error=str(exc)) from exc
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    class_col = _find_column(columns, CLASS_COLUMNS)
    if class_col is None:
        raise NetworkError(
            "osm.no_class_column", file=str(path), aliases=", ".join(CLASS_COLUMNS), columns=", ".join(columns)
        )
    geoms = gdf.geometry.to_numpy()
    parts, row = shapely.get_parts(geoms, return_index=True)
    is_line = shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING
    if not is_line.any():
        types = sorted({str(g) for g in gdf.geometry.geom_type.dropna().unique()})
        raise NetworkError("osm.no_lines", file=str(path), geom_types=", ".join(types) or "-")
    if not is_line.all():
        logger.warning("%s: ignored %d non-line geometries", source, int((~is_line).sum()))
    parts, row = parts[is_line], row[is_line]
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        raise NetworkError("osm.no_highways", file=str(path), n_highway_ways=len(gdf))

    # --- road class, one-way, speed, name per feature
    codes, uniques = pd.factorize(gdf[class_col])
    mapped = [_layer_class(x) for x in uniques]
    class_index = {c: i for i, c in enumerate(ROAD_CLASSES)}
    unclassified = class_index["unclassified"]
    lut = np.array([unclassified if c is None else class_index[c] for c in mapped] + [unclassified], dtype=np.int16)
    known = np.array([c is not None for c in mapped] + [False], dtype=bool)
    unknown = ~known[codes]  # code -1 (empty cell) picks the trailing entry
    if unknown.any():
        examples = ", ".join(str(x) for x in pd.unique(gdf.loc[unknown, class_col].astype(str))[:5])
        logger.warning(
            "%s",
            t("osm.unknown_classes", file=str(path), column=class_col, count=int(unknown.sum()), examples=examples),
        )
    feat_class = lut[codes]
    ow_col = _find_column(columns, ONEWAY_COLUMNS)
    n_feat = len(gdf)
    if ow_col is not None:
        feat_oneway, feat_rev = _layer_oneway(gdf[ow_col])
    else:
        feat_oneway, feat_rev = np.zeros(n_feat, bool), np.zeros(n_feat, bool)
    sp_col = _find_column(columns, MAXSPEED_COLUMNS)
    feat_speed = _layer_maxspeed(gdf[sp_col]) if sp_col is not None else np.full(n_feat, np.nan)
    nm_col = _find_column(columns, NAME_COLUMNS)
    feat_name = (
        gdf[nm_col].astype("string").fillna("").to_numpy(dtype=object)
        if nm_col is not None
        else np.full(n_feat, "", dtype=object)
    )

    # --- coordinates: WGS-84 and a metric CRS for vertex matching
    crs = gdf.crs
    x, y = coords[:, 0], coords[:, 1]
    if crs is None:
        if np.abs(x).max() <= 180 and np.abs(y).max() <= 90:
            logger.warning("%s: layer has no CRS; coordinates look like lon/lat, assuming EPSG:4326", source)
            crs = pyproj.CRS.from_epsg(4326)
        else:
            raise NetworkError("osm.no_crs", file=str(path))
    crs = pyproj.CRS.from_user_input(crs)
    if crs.equals(pyproj.CRS.from_epsg(4326)):
        lon, lat = x, y
    else:
        lon, lat = (
            np.asarray(a, dtype=np.float64)
            for a in pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        )
    metric = crs.is_projected and all((ax.unit_name or "").lower() in {"metre", "meter"} for ax in crs.axis_info[:2])
    if metric:
        mx, my = x, y
    else:
        utm = utm_crs_for(float(np.median(lon)), float(np.median(lat)))
        mx, my = (
            np.asarray(a, dtype=np.float64)
            for a in pyproj.Transformer.from_crs("EPSG:4326", utm, always_xy=True).transform(lon, lat)
        )
    key = np.stack([np.round(mx / VERTEX_TOLERANCE_M), np.round(my / VERTEX_TOLERANCE_M)], axis=1).astype(np.int64)

    # --- segments between consecutive vertices of one part
    ok: NDArray[np.bool_] = np.asarray(np.isfinite(lon) & np.isfinite(lat), dtype=bool)
    if bbox is not None:
        ok &= (lon >= bbox[0]) & (lon <= bbox[2]) & (lat >= bbox[1]) & (lat <= bbox[3])
    pair = np.flatnonzero((part_of[:-1] == part_of[1:]) & ok[:-1] & ok[1:])
    if len(pair) == 0:
        raise NetworkError("osm.no_highways", file=str(path), n_highway_ways=len(gdf))
    ends = np.concatenate([pair, pair + 1])
    _, first, inv = np.unique(key[ends], axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    m = len(pair)
    u, v = inv[:m], inv[m:]
    feat = row[part_of[pair]]
    rev = feat_rev[feat]
    u, v = np.where(rev, v, u), np.where(rev, u, v)
    first_pos = ends[first]
    return RoadNetwork.from_arrays(
        node_lon=lon[first_pos],
        node_lat=lat[first_pos],
        edge_u=u,
        edge_v=v,
        edge_class=feat_class[feat],
        edge_oneway=feat_oneway[feat],
        edge_maxspeed_kph=feat_speed[feat],
        edge_name=feat_name[feat],
        source=source,
    )


# ------------------------------------------------------------------------ download


def download_network(
    *,
    place: str | None = None,
    bbox: Sequence[float] | None = None,
) -> RoadNetwork:
    """Download a road network from OpenStreetMap through osmnx (needs internet).

    Parameters
    ----------
    place
        A place name osmnx can geocode (e.g. ``"贵溪市, 江西省, 中国"``).
    bbox
        ``(min lon, min lat, max lon, max lat)`` in WGS-84 degrees.

    Returns
    -------
    RoadNetwork
        Unsimplified (``simplify=False``), all road types (``network_type="all"``),
        converted with :func:`network_from_graph`.

    Raises
    ------
    NetworkError
        Neither or both of ``place``/``bbox`` given, osmnx missing, or the download
        failed (no internet, server error, nothing found).
    """
    if (place is None) == (bbox is None):
        raise NetworkError("osm.download_needs_area")
    box = _check_bbox(bbox)
    try:
        import osmnx as ox
        from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError
    except ImportError as exc:
        raise NetworkError("osm.download_unavailable", error=str(exc)) from exc
    area = place if place is not None else str(box)
    failures = (OSError, ConnectionError, TimeoutError, InsufficientResponseError, ResponseStatusCodeError, ValueError)
    try:
        if place is not None:
            graph = ox.graph_from_place(place, network_type="all", simplify=False, retain_all=True)
        else:
            assert box is not None
            graph = ox.graph_from_bbox(box, network_type="all", simplify=False, retain_all=True)
    except failures as exc:
        raise NetworkError("osm.download_failed", area=area, error=f"{type(exc).__name__}: {exc}") from exc
    return network_from_graph(graph, source=f"OpenStreetMap ({area})")


def _first(value: object) -> object:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def network_from_graph(graph: nx.MultiDiGraph, *, source: str = "osmnx graph") -> RoadNetwork:
    """Convert an unsimplified osmnx graph into a :class:`RoadNetwork`.

    Two-way roads appear in osmnx as two opposite edges of the same way; they become
    one segment. Edges whose ``highway`` class is not kept by this module (see the
    module docstring) are dropped, as when reading a file. osmnx has already decided
    one-way (it does not imply one-way for ``highway=motorway`` or
    ``junction=circular``, and filters access by its own rules), so a downloaded
    network may differ from the same area read from a file on those points.

    Raises
    ------
    NetworkError
        If the graph has no usable edges.
    """
    node_ids = list(graph.nodes)
    index = {n: i for i, n in enumerate(node_ids)}
    xs = np.array([graph.nodes[n]["x"] for n in node_ids], dtype=np.float64)
    ys = np.array([graph.nodes[n]["y"] for n in node_ids], dtype=np.float64)
    class_index = {c: i for i, c in enumerate(ROAD_CLASSES)}
    us: list[int] = []
    vs: list[int] = []
    classes: list[int] = []
    oneways: list[bool] = []
    speeds: list[float] = []
    names: list[str] = []
    seen: set[tuple[int, int, str]] = set()
    for a, b, data in graph.edges(data=True):
        cls = KEPT_HIGHWAYS.get(str(_first(data.get("highway"))))
        if cls is None:
            continue
        oneway = bool(data.get("oneway", False))
        u, v = index[a], index[b]
        if not oneway:
            key = (min(u, v), max(u, v), str(data.get("osmid")))
            if key in seen:
                continue
            seen.add(key)
        speed = data.get("maxspeed")
        if isinstance(speed, list):
            speed = ";".join(str(s) for s in speed)
        us.append(u)
        vs.append(v)
        classes.append(class_index[cls])
        oneways.append(oneway)
        speeds.append(parse_maxspeed(None if speed is None else str(speed)))
        names.append(str(_first(data.get("name")) or ""))
    if not us:
        raise NetworkError("network.no_edges", source=source)
    u_arr = np.asarray(us, dtype=np.int64)
    v_arr = np.asarray(vs, dtype=np.int64)
    used, inv = np.unique(np.concatenate([u_arr, v_arr]), return_inverse=True)
    return RoadNetwork.from_arrays(
        node_lon=xs[used],
        node_lat=ys[used],
        edge_u=inv[: len(us)],
        edge_v=inv[len(us) :],
        edge_class=np.asarray(classes, dtype=np.int16),
        edge_oneway=np.asarray(oneways, dtype=bool),
        edge_maxspeed_kph=np.asarray(speeds, dtype=np.float64),
        edge_name=np.asarray(names, dtype=object),
        source=source,
    )


# ------------------------------------------------------------------ export, summary


def network_to_geodataframe(
    net: RoadNetwork, *, mode: Mode | None = None, config: Config | None = None
) -> gpd.GeoDataFrame:
    """Return the segments as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    net
        The network.
    mode
        If given, keep only segments usable by this mode and add ``travel_time_s``
        (u → v) and ``travel_time_back_s`` (v → u, ``inf`` where not allowed).
    config
        Speeds for ``mode`` (default :class:`planner.settings.Config`).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``u, v, highway, oneway, maxspeed_kph, name, length_m, geometry``.
    """
    import geopandas as gpd

    seg = np.stack(
        [
            np.stack([net.node_lon[net.edge_u], net.node_lat[net.edge_u]], axis=1),
            np.stack([net.node_lon[net.edge_v], net.node_lat[net.edge_v]], axis=1),
        ],
        axis=1,
    )
    data: dict[str, Any] = {
        "u": net.edge_u,
        "v": net.edge_v,
        "highway": net.edge_highway(),
        "oneway": net.edge_oneway,
        "maxspeed_kph": net.edge_maxspeed_kph,
        "name": net.edge_name,
        "length_m": net.edge_length_m,
    }
    keep = slice(None)
    if mode is not None:
        graph = net.travel_graph(mode=mode, config=config)
        data["travel_time_s"] = graph.fwd_s
        data["travel_time_back_s"] = graph.bwd_s
        keep = graph.edge_allowed  # type: ignore[assignment]
    frame = pd.DataFrame(data)
    gdf = gpd.GeoDataFrame(frame, geometry=shapely.linestrings(seg), crs="EPSG:4326")
    return gdf.loc[keep].reset_index(drop=True)


def load_network_spec(spec: str | Path) -> RoadNetwork:
    """Load a network file, or download one for ``download:PLACE`` (needs internet)."""
    text = str(spec)
    if text.startswith("download:"):
        return download_network(place=text.split(":", 1)[1].strip())
    return load_network(spec)


def describe_network(net: RoadNetwork) -> dict[str, Any]:
    """Summarise a network: sizes, km per road class and disconnected pieces.

    Returns
    -------
    dict
        ``source``, ``nodes``, ``segments``, ``oneway_segments``, ``length_km``,
        ``length_km_by_class`` (road class → km, classes present only, in
        :data:`ROAD_CLASSES` order), ``components`` (pieces with at least one
        segment), ``largest_component_nodes``, ``nodes_outside_largest`` and
        ``share_outside_largest`` (0..1). Render with the ``osm.summary`` and
        ``osm.disconnected`` messages.
    """
    km = np.bincount(net.edge_class, weights=net.edge_length_m, minlength=len(ROAD_CLASSES)) / 1000.0
    comp = net.components()
    outside = comp.nodes_outside_largest()
    return {
        "source": net.source,
        "nodes": net.n_nodes,
        "segments": net.n_edges,
        "oneway_segments": int(net.edge_oneway.sum()),
        "length_km": float(net.edge_length_m.sum() / 1000.0),
        "length_km_by_class": {c: float(km[i]) for i, c in enumerate(ROAD_CLASSES) if km[i] > 0},
        "components": comp.n_components,
        "largest_component_nodes": int(comp.sizes.max()),
        "nodes_outside_largest": outside,
        "share_outside_largest": outside / net.n_nodes,
    }
