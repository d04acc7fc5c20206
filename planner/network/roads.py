"""Road network: one array-based representation, travel modes and compiled graphs.

Every road is stored as straight segments between nodes (OSM ways are *not*
simplified), so a point snaps onto an exact position along a segment and partial
edges are exact. Loaders (:mod:`planner.network.osm`, :mod:`planner.network.road_layers`,
:mod:`planner.demo.county`) all produce a :class:`RoadNetwork` through
:meth:`RoadNetwork.from_arrays`.

A :class:`TravelGraph` compiles the network for one travel mode into a SciPy CSR
matrix of travel times in seconds, respecting one-way streets when driving.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyproj
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csgraph

from planner._errors import NetworkError
from planner.settings import ROAD_CLASSES, Config, Mode

logger = logging.getLogger(__name__)

#: Smallest edge travel time (s); keeps zero-length segments as real CSR entries.
MIN_EDGE_TIME_S = 1e-6

_CLASS_INDEX = {c: i for i, c in enumerate(ROAD_CLASSES)}
_UNCLASSIFIED = _CLASS_INDEX["unclassified"]


def road_class_codes(highway: ArrayLike) -> NDArray[np.int16]:
    """Map OSM ``highway`` values to indices into :data:`ROAD_CLASSES`.

    Lists like ``"['residential', 'service']"`` or ``"residential;service"`` take the
    first value; unknown values (and ``None``) become ``unclassified``.
    """
    vals = np.asarray(highway, dtype=object)
    out = np.full(vals.shape, _UNCLASSIFIED, dtype=np.int16)
    for i, v in enumerate(vals):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        s = str(v).strip().strip("[]").split(",")[0].split(";")[0].strip().strip("'\"").lower()
        out[i] = _CLASS_INDEX.get(s, _UNCLASSIFIED)
    return out


def utm_crs_for(lon: float, lat: float) -> str:
    """Return the EPSG code string of the UTM zone containing ``(lon, lat)``."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A road network as arrays of nodes and straight segments.

    Attributes
    ----------
    crs
        Projected metric CRS of ``node_x_m``/``node_y_m`` (a UTM zone).
    node_lon, node_lat, node_x_m, node_y_m
        Node coordinates in WGS-84 degrees and in metres.
    edge_u, edge_v
        Node indices of each segment. For one-way roads travel is allowed u → v only
        (when driving).
    edge_length_m
        Segment length in metres.
    edge_class
        Index into :data:`planner.settings.ROAD_CLASSES`.
    edge_oneway
        True where driving is allowed only from u to v.
    edge_maxspeed_kph
        Posted speed (NaN when unknown).
    edge_name
        Road name or "" (used for display only).
    source
        Where the network came from (file name, "generated demo"...).
    """

    crs: str
    node_lon: NDArray[np.float64]
    node_lat: NDArray[np.float64]
    node_x_m: NDArray[np.float64]
    node_y_m: NDArray[np.float64]
    edge_u: NDArray[np.int64]
    edge_v: NDArray[np.int64]
    edge_length_m: NDArray[np.float64]
    edge_class: NDArray[np.int16]
    edge_oneway: NDArray[np.bool_]
    edge_maxspeed_kph: NDArray[np.float64]
    edge_name: NDArray[np.object_] = field(repr=False)
    source: str = ""

    @classmethod
    def from_arrays(
        cls,
        *,
        node_lon: ArrayLike,
        node_lat: ArrayLike,
        edge_u: ArrayLike,
        edge_v: ArrayLike,
        edge_highway: ArrayLike | None = None,
        edge_class: ArrayLike | None = None,
        edge_oneway: ArrayLike | None = None,
        edge_maxspeed_kph: ArrayLike | None = None,
        edge_name: ArrayLike | None = None,
        crs: str | None = None,
        node_x_m: ArrayLike | None = None,
        node_y_m: ArrayLike | None = None,
        source: str = "",
    ) -> RoadNetwork:
        """Build a network from node coordinates and segment endpoints.

        Parameters
        ----------
        node_lon, node_lat
            WGS-84 coordinates of the nodes.
        edge_u, edge_v
            Endpoint node indices of each straight segment. Self-loops are dropped.
        edge_highway, edge_class
            OSM ``highway`` strings or ready class codes (one of the two; default
            ``unclassified``).
        edge_oneway
            Booleans: driving allowed only u → v. (Reverse one-ways must be flipped by
            the loader.)
        edge_maxspeed_kph
            Posted speeds; NaN where unknown.
        edge_name
            Road names.
        crs, node_x_m, node_y_m
            Projected coordinates if already known (else computed in the UTM zone of
            the network's centre).
        source
            Description of the origin, for messages.

        Raises
        ------
        NetworkError
            If there are no edges or coordinates are invalid.
        """
        lon = np.asarray(node_lon, dtype=np.float64)
        lat = np.asarray(node_lat, dtype=np.float64)
        u = np.asarray(edge_u, dtype=np.int64)
        v = np.asarray(edge_v, dtype=np.int64)
        m = len(u)
        if m == 0 or len(lon) == 0:
            raise NetworkError("network.no_edges", source=source or "?")
        if lon.shape != lat.shape or u.shape != v.shape:
            msg = "node_lon/node_lat and edge_u/edge_v must have equal lengths"
            raise ValueError(msg)
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()) or np.abs(lat).max() > 90 or np.abs(lon).max() > 180:
            raise NetworkError("network.bad_coordinates", source=source or "?")
        if u.min() < 0 or v.min() < 0 or max(u.max(), v.max()) >= len(lon):
            msg = "edge endpoints must index into the node arrays"
            raise ValueError(msg)
        if edge_class is not None:
            cls_codes = np.asarray(edge_class, dtype=np.int16)
        elif edge_highway is not None:
            cls_codes = road_class_codes(edge_highway)
        else:
            cls_codes = np.full(m, _UNCLASSIFIED, dtype=np.int16)
        oneway = np.zeros(m, bool) if edge_oneway is None else np.asarray(edge_oneway, dtype=bool)
        maxspeed = np.full(m, np.nan) if edge_maxspeed_kph is None else np.asarray(edge_maxspeed_kph, dtype=np.float64)
        names = np.full(m, "", dtype=object) if edge_name is None else np.asarray(edge_name, dtype=object)
        keep = u != v
        if not keep.all():
            u, v, cls_codes, oneway, maxspeed, names = (a[keep] for a in (u, v, cls_codes, oneway, maxspeed, names))
            if len(u) == 0:
                raise NetworkError("network.no_edges", source=source or "?")
        if node_x_m is None or node_y_m is None or crs is None:
            crs = crs or utm_crs_for(float(np.median(lon)), float(np.median(lat)))
            tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
            x, y = tr.transform(lon, lat)
            x = np.asarray(x, dtype=np.float64)
            y = np.asarray(y, dtype=np.float64)
        else:
            x = np.asarray(node_x_m, dtype=np.float64)
            y = np.asarray(node_y_m, dtype=np.float64)
        length = np.hypot(x[u] - x[v], y[u] - y[v])
        return cls(
            crs=crs,
            node_lon=lon,
            node_lat=lat,
            node_x_m=x,
            node_y_m=y,
            edge_u=u,
            edge_v=v,
            edge_length_m=length,
            edge_class=cls_codes,
            edge_oneway=oneway,
            edge_maxspeed_kph=maxspeed,
            edge_name=names,
            source=source,
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_lon)

    @property
    def n_edges(self) -> int:
        """Number of segments."""
        return len(self.edge_u)

    def edge_highway(self) -> NDArray[np.object_]:
        """The road class name of every segment."""
        return np.asarray(ROAD_CLASSES, dtype=object)[self.edge_class]

    def segment_lines(self) -> NDArray[np.object_]:
        """Every segment as a shapely LineString in the network's metric CRS."""
        coords = np.empty((self.n_edges, 2, 2))
        coords[:, 0, 0] = self.node_x_m[self.edge_u]
        coords[:, 0, 1] = self.node_y_m[self.edge_u]
        coords[:, 1, 0] = self.node_x_m[self.edge_v]
        coords[:, 1, 1] = self.node_y_m[self.edge_v]
        return np.asarray(shapely.linestrings(coords), dtype=object)

    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat)."""
        return (
            float(self.node_lon.min()),
            float(self.node_lat.min()),
            float(self.node_lon.max()),
            float(self.node_lat.max()),
        )

    def to_projected(self, lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Project WGS-84 coordinates into the network's metric CRS."""
        x, y = self._to_xy.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_lonlat(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Inverse of :meth:`to_projected`."""
        lon, lat = self._to_ll.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    @cached_property
    def _to_xy(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    @cached_property
    def _to_ll(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def travel_graph(self, *, mode: Mode, config: Config | None = None) -> TravelGraph:
        """Compile (and cache) the travel-time graph for ``mode``."""
        cfg = config or Config()
        key = (mode, speed_key(cfg, mode))
        cache = self._graph_cache
        if key not in cache:
            cache[key] = TravelGraph.build(self, mode=mode, config=cfg)
        return cache[key]

    @cached_property
    def _graph_cache(self) -> dict[tuple[Mode, tuple[float | None, ...]], TravelGraph]:
        return {}

    def components(self) -> ComponentReport:
        """Weakly connected pieces of the whole network (all road classes)."""
        return self._components

    @cached_property
    def _components(self) -> ComponentReport:
        n = self.n_nodes
        adj = sp.coo_matrix((np.ones(self.n_edges), (self.edge_u, self.edge_v)), shape=(n, n)).tocsr()
        return ComponentReport.from_graph(adj, self.edge_u, self.edge_v)


def speed_key(cfg: Config, mode: Mode) -> tuple[float | None, ...]:
    """Cache key of ``mode``'s travel graph: speed per road class (``None`` when closed) and walking speed.

    Never NaN: NaN is unequal to itself, so a tuple holding NaN matches only while it holds
    the very same float object, and a key read back from a pickle (the prepared demo) never hit.
    """
    tbl = cfg.speed_table(mode)
    speeds = (tbl.get(c) for c in ROAD_CLASSES)
    return (*(None if v is None or math.isnan(v) else float(v) for v in speeds), float(cfg.walk_speed_kph))


@dataclass(frozen=True)
class ComponentReport:
    """Connected pieces of a network."""

    labels: NDArray[np.int64]
    sizes: NDArray[np.int64]

    @classmethod
    def from_graph(cls, adj: sp.csr_matrix, edge_u: NDArray[np.int64], edge_v: NDArray[np.int64]) -> ComponentReport:
        """Label weakly connected pieces of ``adj``; sizes count nodes touched by edges."""
        ncomp, labels = csgraph.connected_components(adj, directed=False)
        used = np.zeros(adj.shape[0], bool)
        used[edge_u] = True
        used[edge_v] = True
        sizes = np.bincount(labels[used], minlength=ncomp)
        return cls(labels=labels.astype(np.int64), sizes=sizes)

    @property
    def n_components(self) -> int:
        """Number of pieces that contain at least one edge."""
        return int((self.sizes > 0).sum())

    @property
    def largest(self) -> int:
        """Label of the largest piece."""
        return int(np.argmax(self.sizes))

    def nodes_outside_largest(self) -> int:
        """Number of road nodes not in the largest piece."""
        return int(self.sizes.sum() - self.sizes.max())


@dataclass(frozen=True, eq=False)
class TravelGraph:
    """A network compiled for one travel mode.

    Attributes
    ----------
    network
        The underlying :class:`RoadNetwork`.
    mode
        Travel mode.
    fwd_s, bwd_s
        Travel time (s) of every segment u → v and v → u; ``inf`` where not allowed.
    csr
        ``n × n`` CSR matrix of the fastest allowed time between adjacent nodes.
    walk_speed_mps
        Speed of access legs (m/s).
    """

    network: RoadNetwork
    mode: Mode
    fwd_s: NDArray[np.float64]
    bwd_s: NDArray[np.float64]
    csr: sp.csr_matrix
    walk_speed_mps: float

    @classmethod
    def build(cls, network: RoadNetwork, *, mode: Mode, config: Config) -> TravelGraph:
        """Compute edge times from the speed table and assemble the CSR matrix."""
        table = config.speed_table(mode)
        class_speed = np.array([table.get(c, math.nan) for c in ROAD_CLASSES], dtype=np.float64)
        speed = class_speed[network.edge_class]
        allowed = np.isfinite(speed) & (speed > 0)
        if mode is Mode.DRIVE:
            posted = network.edge_maxspeed_kph
            has_posted = np.isfinite(posted) & (posted > 0)
            speed = np.where(has_posted & allowed, np.minimum(posted, speed * 1.2), speed)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(allowed, network.edge_length_m / (speed / 3.6), np.inf)
        t = np.where(allowed, np.maximum(t, MIN_EDGE_TIME_S), np.inf)
        fwd = t
        bwd = np.where(network.edge_oneway, np.inf, t) if mode is Mode.DRIVE else t.copy()
        n = network.n_nodes
        rows = np.concatenate([network.edge_u, network.edge_v])
        cols = np.concatenate([network.edge_v, network.edge_u])
        w = np.concatenate([fwd, bwd])
        ok = np.isfinite(w)
        csr = min_csr(rows[ok], cols[ok], w[ok], n)
        return cls(
            network=network,
            mode=mode,
            fwd_s=fwd,
            bwd_s=bwd,
            csr=csr,
            walk_speed_mps=config.walk_speed_kph / 3.6,
        )

    @property
    def edge_allowed(self) -> NDArray[np.bool_]:
        """Segments usable in at least one direction."""
        return np.isfinite(self.fwd_s) | np.isfinite(self.bwd_s)

    @cached_property
    def usable_key(self) -> str:
        """Digest of which segments this mode may use in which direction: modes with equal keys snap alike."""
        bits = np.packbits(np.concatenate([np.isfinite(self.fwd_s), np.isfinite(self.bwd_s)]))
        return hashlib.blake2b(bits.tobytes(), digest_size=16).hexdigest()

    @cached_property
    def components(self) -> ComponentReport:
        """Weakly connected pieces of the roads this mode may use."""
        ok = self.edge_allowed
        return ComponentReport.from_graph(self.csr, self.network.edge_u[ok], self.network.edge_v[ok])

    @cached_property
    def is_directed(self) -> bool:
        """True when some segment's time differs by direction (one-way streets when driving)."""
        return not np.array_equal(self.fwd_s, self.bwd_s)

    @cached_property
    def main_reach(self) -> MainReach:
        """Which nodes can reach, and be reached from, the largest strongly connected piece."""
        return MainReach.from_graph(self)


@dataclass(frozen=True)
class MainReach:
    """Links of every road node with the *main* piece: the largest strongly connected component.

    On a directed graph a piece may be entered but never left (a one-way street leading
    out of the extract) or left but never entered; a point attached only to such pieces
    is *stranded*. On an undirected graph strong and weak pieces are the same.

    Attributes
    ----------
    strong
        Strongly connected pieces of the travel graph (sizes count nodes touched by
        usable segments).
    to_main
        Per node: the main piece can be reached from it.
    from_main
        Per node: it can be reached from the main piece.
    """

    strong: ComponentReport
    to_main: NDArray[np.bool_]
    from_main: NDArray[np.bool_]

    @classmethod
    def from_graph(cls, graph: TravelGraph) -> MainReach:
        """Label strong pieces of ``graph.csr`` and search forward and backward from the largest."""
        net = graph.network
        ok = graph.edge_allowed
        n = net.n_nodes
        ncomp, labels = csgraph.connected_components(graph.csr, directed=True, connection="strong")
        used = np.zeros(n, bool)
        used[net.edge_u[ok]] = True
        used[net.edge_v[ok]] = True
        sizes = np.bincount(labels[used], minlength=ncomp)
        strong = ComponentReport(labels=labels.astype(np.int64), sizes=sizes)
        to_main = np.zeros(n, bool)
        from_main = np.zeros(n, bool)
        if used.any():
            root = int(np.flatnonzero(labels == strong.largest)[0])
            from_main[csgraph.breadth_first_order(graph.csr, root, directed=True, return_predecessors=False)] = True
            to_main[
                csgraph.breadth_first_order(graph.csr.T.tocsr(), root, directed=True, return_predecessors=False)
            ] = True
        return cls(strong=strong, to_main=to_main, from_main=from_main)

    def attachment_links(
        self, graph: TravelGraph, *, edge: NDArray[np.int64], frac: NDArray[np.float64]
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Whether a position on a segment can drive to (``out``) and be reached from (``in``) the main piece.

        A position leaves its segment towards ``v`` when ``u → v`` is allowed (or it sits
        at ``v``) and towards ``u`` when ``v → u`` is allowed (or it sits at ``u``).
        """
        net = graph.network
        u, v = net.edge_u[edge], net.edge_v[edge]
        to_v = np.isfinite(graph.fwd_s[edge]) | (frac >= 1.0)
        to_u = np.isfinite(graph.bwd_s[edge]) | (frac <= 0.0)
        from_u = np.isfinite(graph.fwd_s[edge]) | (frac <= 0.0)
        from_v = np.isfinite(graph.bwd_s[edge]) | (frac >= 1.0)
        out = (to_v & self.to_main[v]) | (to_u & self.to_main[u])
        inn = (from_u & self.from_main[u]) | (from_v & self.from_main[v])
        return out, inn


def min_csr(rows: NDArray[np.int64], cols: NDArray[np.int64], w: NDArray[np.float64], n: int) -> sp.csr_matrix:
    """Build an ``n × n`` CSR matrix keeping the minimum of duplicate entries.

    (SciPy sums duplicates; parallel roads must keep the fastest one.)
    """
    if len(rows) == 0:
        return sp.csr_matrix((n, n), dtype=np.float64)
    key = rows * n + cols
    order = np.lexsort((w, key))
    key_s = key[order]
    first = np.ones(len(key_s), bool)
    first[1:] = key_s[1:] != key_s[:-1]
    sel = order[first]
    return sp.csr_matrix((w[sel], (rows[sel], cols[sel])), shape=(n, n))
