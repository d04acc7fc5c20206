"""Load a road network from a file, a spec or (optionally) the internet; export and describe it.

:func:`load_network` reads a file by its suffix: OSM data with :mod:`planner.network.osm`
(:data:`~planner.network.osm.OSM_SUFFIXES`), GIS line layers with
:mod:`planner.network.road_layers` (:data:`~planner.network.road_layers.LAYER_SUFFIXES`).
:func:`download_network` fetches the roads through osmnx and :func:`network_from_graph`
converts an osmnx graph; :func:`load_network_spec` does one or the other for a file name
or ``download:PLACE``. :func:`network_to_geodataframe` exports the segments and
:func:`describe_network` summarises a network.

Every loader ends in :meth:`planner.network.roads.RoadNetwork.from_arrays`: roads become
straight segments between consecutive vertices, nothing is simplified.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from planner._errors import NetworkError
from planner.i18n import t
from planner.inputs.limits import CLI_LIMITS, Limits, check_geopackage
from planner.network.osm import KEPT_HIGHWAYS, OSM_SUFFIXES, _load_osm, parse_maxspeed
from planner.network.road_layers import LAYER_SUFFIXES, _load_layer
from planner.network.roads import RoadNetwork
from planner.settings import ROAD_CLASSES, Config, Mode

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

logger = logging.getLogger(__name__)


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
    limits: Limits = CLI_LIMITS,
) -> RoadNetwork:
    """Load a road network from an OSM file or a GIS line layer.

    Parameters
    ----------
    path
        ``.osm``/``.osm.xml``/``.osm.pbf``/``.pbf``/``.osm.bz2``/``.osm.gz`` (OSM) or
        ``.gpkg``/``.shp``/``.geojson``/``.json``/``.fgb`` (line layer), or ``.zip`` (a zipped
        shapefile: :mod:`planner.inputs.shapezip`).
    bbox
        Optional ``(min lon, min lat, max lon, max lat)`` in WGS-84 degrees; only
        segments with both ends inside are kept (roads crossing the edge are cut).
    source_name
        Description stored as :attr:`RoadNetwork.source` (default: the file name).
    layer
        Layer name or index of a multi-layer file (line layers only); in a ``.zip``, the
        ``.shp`` set to read when it holds several.
    limits
        A GeoPackage is checked against them before GDAL opens it
        (:func:`planner.inputs.limits.check_geopackage`: no views, bounded metadata).

    Returns
    -------
    RoadNetwork

    Raises
    ------
    NetworkError
        Missing, unreadable or unsupported file, no usable roads, a layer without a
        road class column, an archive refused by its checks (``inputs.zip.*`` keys).
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
    if name.endswith(".gpkg"):
        check_geopackage(p, file=str(p), limits=limits, error=NetworkError)
    t0 = time.perf_counter()
    net = _load_osm(p, bbox=box, source=source) if is_osm else _load_layer(p, bbox=box, source=source, layer=layer)
    logger.info(
        "loaded %s: %d nodes, %d segments in %.2f s", source, net.n_nodes, net.n_edges, time.perf_counter() - t0
    )
    return net


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
    one segment. Edges whose ``highway`` class is not kept (see
    :data:`planner.network.osm.KEPT_HIGHWAYS` and :mod:`planner.network.osm`) are dropped,
    as when reading a file. osmnx has already decided one-way (it does not imply one-way
    for ``highway=motorway`` or ``junction=circular``, and filters access by its own
    rules), so a downloaded network may differ from the same area read from a file on
    those points.

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


def load_network_spec(spec: str | Path, *, limits: Limits = CLI_LIMITS) -> RoadNetwork:
    """Load a network file (checked against ``limits``), or download one for ``download:PLACE`` (needs internet)."""
    text = str(spec)
    if text.startswith("download:"):
        return download_network(place=text.split(":", 1)[1].strip())
    return load_network(spec, limits=limits)


def describe_network(net: RoadNetwork) -> dict[str, Any]:
    """Summarise a network: sizes, km per road class and disconnected pieces.

    Returns
    -------
    dict
        ``source``, ``nodes``, ``segments``, ``oneway_segments``, ``length_km``,
        ``length_km_by_class`` (road class → km, classes present only, in
        :data:`ROAD_CLASSES` order), ``components`` (pieces with at least one
        segment), ``largest_component_nodes``, ``nodes_outside_largest`` and
        ``share_outside_largest`` (0..1). :func:`summary_text` words it as one line.
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


def summary_text(desc: dict[str, Any], *, lang: str | None = None) -> str:
    """One line for a :func:`describe_network` summary in ``lang``: "road network F: 12 nodes, 11 segments…"."""
    return t(
        "osm.summary",
        lang=lang,
        source=desc["source"],
        nodes=t("count.node", lang=lang, count=desc["nodes"]),
        segments=t("count.segment", lang=lang, count=desc["segments"]),
        length_km=desc["length_km"],
        components=t("count.piece", lang=lang, count=desc["components"]),
    )
