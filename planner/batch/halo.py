"""A county's roads plus a halo, read by bounding box, and the check that the halo was wide enough.

A county task counts only its own demand, but stations across the border may serve it.
So it loads the roads and stations of a *halo* around the county: for each travel mode
a tier uses, a ring as wide as that mode can travel within the tier's standard. The
rings differ by mode, and so do the roads carried: out to the walking ring every road,
beyond it only the roads the wider rings' modes may use (a drive ring carries no
footways). The first width of a ring is the standard's minutes at the mode's speed on
primary roads (:func:`first_widths_m`), plus twice the snap distance.

Whether a ring was wide enough is checked, not assumed (:func:`reached_edge`): a
reverse search from every demand point of the county, over the mode's travel graph and
within the tier's standard, must reach no *edge node* — a node with a road the ring cut
off that this mode may use. If it reaches none, no trip from a station outside the ring
and no detour over roads left out can change a figure; if it does, the ring is widened
(× :data:`WIDEN`) and the county loaded again (:mod:`planner.batch.county`). The search
starts at both ends of each demand point's road segment at time zero, so it reaches at
least as far as any real trip: it may widen a ring that was wide enough, never pass one
that was not.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
from numpy.typing import NDArray
from scipy.sparse import csgraph

from planner._errors import NetworkError
from planner.network.load import load_network
from planner.network.osm import OSM_SUFFIXES
from planner.network.road_layers import load_layer_features
from planner.network.roads import RoadNetwork, TravelGraph, utm_crs_for
from planner.network.snapping import Snap
from planner.settings import ROAD_CLASSES, Config, Mode, Tier

logger = logging.getLogger(__name__)

__all__ = [
    "M_PER_DEG_LAT",
    "M_PER_DEG_LON_EQUATOR",
    "WIDEN",
    "Bounds",
    "Halo",
    "expand_bounds",
    "first_widths_m",
    "inside",
    "load_halo",
    "merge_networks",
    "reached_edge",
    "widest_halo_m",
]

#: ``(min lon, min lat, max lon, max lat)`` in WGS-84 degrees.
Bounds = tuple[float, float, float, float]

#: Factor by which a ring is widened when its check fails.
WIDEN: float = 1.5

#: The road class whose speed sets a ring's first width.
FIRST_WIDTH_CLASS: str = "primary"

#: Extra width (metres) read around the widest ring from OSM files, where the roads are cut
#: at the box by the reader: segments that cross the ring's edge are then still seen whole.
OSM_MARGIN_M: float = 2000.0

#: Shortest metres per degree on WGS-84: of latitude (at the equator), and of longitude at
#: the equator (times cos(latitude) elsewhere, which the ellipsoid only exceeds): a box grown
#: by these is at least as wide as asked.
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_319.0


def first_widths_m(config: Config, tiers: Iterable[Tier], *, factor: float = 1.0) -> dict[Mode, float]:
    """First ring width per travel mode: the longest standard of its tiers at the mode's primary-road speed.

    Parameters
    ----------
    config
        Standards and speeds.
    tiers
        Tiers evaluated; a mode no tier uses gets no ring.
    factor
        Multiplier of the travel distance (``--halo-factor``).

    Returns
    -------
    dict
        Mode → width in metres (travel distance × ``factor`` + 2 × ``config.max_snap_m``).
    """
    widths: dict[Mode, float] = {}
    for tier in tiers:
        std = config.standards[tier]
        speed_kph = _first_speed_kph(config, std.mode)
        width = std.minutes / 60.0 * speed_kph * 1000.0 * factor + 2.0 * config.max_snap_m
        widths[std.mode] = max(widths.get(std.mode, 0.0), width)
    return widths


def _first_speed_kph(config: Config, mode: Mode) -> float:
    table = config.speed_table(mode)
    speed = table.get(FIRST_WIDTH_CLASS, math.nan)
    if not (math.isfinite(speed) and speed > 0):
        finite = [v for v in table.values() if math.isfinite(v) and v > 0]
        speed = max(finite) if finite else config.walk_speed_kph
    return float(speed)


def widest_halo_m(config: Config, tiers: Iterable[Tier], *, factor: float = 1.0, max_widen: int = 0) -> float:
    """The widest ring a county may load after ``max_widen`` widenings: how far its neighbours reach.

    The batch client reads the roads and stations of every county within this distance
    of a county (:func:`planner.batch.inputs.make_tasks`).
    """
    widths = first_widths_m(config, tiers, factor=factor)
    return max(widths.values(), default=0.0) * WIDEN**max_widen


def expand_bounds(bounds: Bounds, metres: float) -> Bounds:
    """``bounds`` grown by at least ``metres`` on every side (degrees at the box's poleward edge)."""
    w, s, e, n = bounds
    dlat = metres / M_PER_DEG_LAT
    lat = min(89.0, max(abs(s - dlat), abs(n + dlat)))
    dlon = min(180.0, metres / (M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat))))
    return (max(-180.0, w - dlon), max(-90.0, s - dlat), min(180.0, e + dlon), min(90.0, n + dlat))


def inside(lon: NDArray[np.float64], lat: NDArray[np.float64], box: Bounds) -> NDArray[np.bool_]:
    """True for the points within ``box`` (edges included)."""
    return np.asarray((lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3]), dtype=bool)


@dataclass(frozen=True, eq=False)
class Halo:
    """A county's roads plus its rings.

    Attributes
    ----------
    network
        The roads kept: within each mode's ring, those the mode may use.
    boxes
        Ring box per mode (WGS-84).
    width_m
        Ring width per mode (metres).
    edge_nodes
        Per mode, True for the nodes of ``network`` with a road cut off by a ring that
        this mode may use (see the module docstring).
    """

    network: RoadNetwork
    boxes: Mapping[Mode, Bounds]
    width_m: Mapping[Mode, float]
    edge_nodes: Mapping[Mode, NDArray[np.bool_]]

    def station_box(self, mode: Mode, *, max_snap_m: float) -> Bounds:
        """Where a station of ``mode``'s tiers is taken from: its ring less the snap distance.

        A station nearer the ring's edge might snap to a road the ring cut off.
        """
        return expand_bounds(self.boxes[mode], -max_snap_m) if max_snap_m > 0 else self.boxes[mode]


def merge_networks(networks: Sequence[RoadNetwork], *, source: str) -> RoadNetwork:
    """One network of several (a county's file and its neighbours'), joined where vertices coincide.

    Nodes closer than 1 cm (in the UTM zone of their median) become one; a segment present
    in two files (same ends, class and direction) is kept once.
    """
    if len(networks) == 1:
        return networks[0]
    lon = np.concatenate([n.node_lon for n in networks])
    lat = np.concatenate([n.node_lat for n in networks])
    utm = utm_crs_for(float(np.median(lon)), float(np.median(lat)))
    x, y = pyproj.Transformer.from_crs("EPSG:4326", utm, always_xy=True).transform(lon, lat)
    key = np.stack([np.round(np.asarray(x) / 0.01), np.round(np.asarray(y) / 0.01)], axis=1).astype(np.int64)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    offsets = np.cumsum([0, *(n.n_nodes for n in networks[:-1])])
    u = np.concatenate([inv[n.edge_u + o] for n, o in zip(networks, offsets, strict=True)])
    v = np.concatenate([inv[n.edge_v + o] for n, o in zip(networks, offsets, strict=True)])
    cls = np.concatenate([n.edge_class for n in networks])
    oneway = np.concatenate([n.edge_oneway for n in networks])
    speed = np.concatenate([n.edge_maxspeed_kph for n in networks])
    name = np.concatenate([n.edge_name for n in networks])
    frame = pd.DataFrame({"u": u, "v": v, "c": cls, "o": oneway})
    keep = ~frame.duplicated().to_numpy()
    return RoadNetwork.from_arrays(
        node_lon=lon[first],
        node_lat=lat[first],
        edge_u=u[keep],
        edge_v=v[keep],
        edge_class=cls[keep],
        edge_oneway=oneway[keep],
        edge_maxspeed_kph=speed[keep],
        edge_name=name[keep],
        source=source,
    )


def _read_roads(path: str, *, box: Bounds) -> RoadNetwork:
    """Every segment of the road features in ``path`` that meet ``box`` (OSM: cut at the box plus a margin)."""
    name = Path(path).name.lower()
    if name.endswith(OSM_SUFFIXES):
        return load_network(path, bbox=expand_bounds(box, OSM_MARGIN_M))
    return load_layer_features(Path(path), bbox=box, source=Path(path).name)


def load_halo(
    roads: Sequence[str],
    *,
    bounds: Bounds,
    widths_m: Mapping[Mode, float],
    config: Config,
    source: str = "",
) -> Halo:
    """Load the roads of ``roads`` within each mode's ring around ``bounds``.

    Parameters
    ----------
    roads
        Road files (the county's own and its neighbours', or the province's); duplicates ignored.
    bounds
        The county's extent (WGS-84).
    widths_m
        Ring width per travel mode (metres), e.g. :func:`first_widths_m`.
    config
        Speeds: which road classes each mode may use.
    source
        :attr:`RoadNetwork.source` of the result.

    Returns
    -------
    Halo

    Raises
    ------
    NetworkError
        No road of any file lies within the rings.
    """
    boxes = {mode: expand_bounds(bounds, width) for mode, width in widths_m.items()}
    outer = (
        min(b[0] for b in boxes.values()),
        min(b[1] for b in boxes.values()),
        max(b[2] for b in boxes.values()),
        max(b[3] for b in boxes.values()),
    )
    nets: list[RoadNetwork] = []
    for path in dict.fromkeys(roads):
        try:
            nets.append(_read_roads(path, box=outer))
        except NetworkError as exc:
            if exc.key != "osm.no_highways":  # a neighbour's file with no road in the box adds nothing
                raise
    if not nets:
        raise NetworkError("osm.no_highways", file=", ".join(roads), count=0)
    net = merge_networks(nets, source=source or nets[0].source)
    usable = {
        mode: np.array([math.isfinite(config.speed_table(mode).get(c, math.nan)) for c in ROAD_CLASSES], dtype=bool)[
            net.edge_class
        ]
        for mode in boxes
    }
    keep = np.zeros(net.n_edges, dtype=bool)
    node_in: dict[Mode, NDArray[np.bool_]] = {}
    for mode, box in boxes.items():
        node_in[mode] = inside(net.node_lon, net.node_lat, box)
        keep |= usable[mode] & node_in[mode][net.edge_u] & node_in[mode][net.edge_v]
    if not keep.any():
        raise NetworkError("osm.no_highways", file=", ".join(roads), count=0)
    kept_nodes = np.zeros(net.n_nodes, dtype=bool)
    kept_nodes[net.edge_u[keep]] = True
    kept_nodes[net.edge_v[keep]] = True
    new_id = np.cumsum(kept_nodes) - 1
    dropped = ~keep
    edge_nodes: dict[Mode, NDArray[np.bool_]] = {}
    for mode in boxes:
        cut = dropped & usable[mode]
        mark = np.zeros(net.n_nodes, dtype=bool)
        mark[net.edge_u[cut]] = True
        mark[net.edge_v[cut]] = True
        edge_nodes[mode] = mark[kept_nodes]
    sub = RoadNetwork.from_arrays(
        node_lon=net.node_lon[kept_nodes],
        node_lat=net.node_lat[kept_nodes],
        edge_u=new_id[net.edge_u[keep]],
        edge_v=new_id[net.edge_v[keep]],
        edge_class=net.edge_class[keep],
        edge_oneway=net.edge_oneway[keep],
        edge_maxspeed_kph=net.edge_maxspeed_kph[keep],
        edge_name=net.edge_name[keep],
        source=net.source,
    )
    logger.info(
        "halo: %d of %d nodes kept, rings %s m",
        sub.n_nodes,
        net.n_nodes,
        ", ".join(f"{m}={w:.0f}" for m, w in widths_m.items()),
    )
    return Halo(network=sub, boxes=boxes, width_m=dict(widths_m), edge_nodes=edge_nodes)


def reached_edge(graph: TravelGraph, *, demand: Snap, edge_nodes: NDArray[np.bool_], limit_s: float) -> int:
    """How many edge nodes a reverse search from the demand reaches within ``limit_s``.

    Parameters
    ----------
    graph
        The tier's travel graph on the halo's network.
    demand
        The county's demand points snapped on ``graph``.
    edge_nodes
        :attr:`Halo.edge_nodes` of the graph's mode.
    limit_s
        The tier's standard (seconds).

    Returns
    -------
    int
        0 when the ring was wide enough for this tier.
    """
    if not edge_nodes.any():
        return 0
    att = demand.attachments()
    if len(att.edge) == 0:
        return 0
    net = graph.network
    starts = np.unique(np.concatenate([net.edge_u[att.edge], net.edge_v[att.edge]]))
    dist = csgraph.dijkstra(graph.csr.T.tocsr(), directed=True, indices=starts, limit=limit_s, min_only=True)
    return int(np.count_nonzero(edge_nodes & np.isfinite(dist)))
