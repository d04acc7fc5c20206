"""Helpers shared by several test modules."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse import csgraph

from planner.coverage.analyse import CoverageResult
from planner.network.roads import RoadNetwork
from planner.settings import Config, Mode, Tier
from planner.workspace.scenario import BASELINE_SCENARIO, Scenario
from planner.workspace.workspace import Workspace


def fresh(demo: tuple[Workspace, Scenario]) -> tuple[Workspace, Scenario]:
    """The shared demo workspace with a copy of its scenario that a test may edit."""
    ws, sc = demo
    return ws, sc.copy(BASELINE_SCENARIO)


def analyse(
    network: RoadNetwork,
    *,
    stations: pd.DataFrame,
    demand: pd.DataFrame,
    config: Config | None = None,
    tiers: tuple[Tier, ...] | None = None,
    areas: gpd.GeoDataFrame | None = None,
    stations_file: str = "",
    allow_off_network_stations: bool = False,
) -> CoverageResult:
    """Coverage from scratch: a fresh workspace (no caches) evaluated once."""
    ws = Workspace(
        network=network,
        demand=demand,
        config=config or Config(),
        areas=areas,
        allow_off_network_stations=allow_off_network_stations,
        stations_file=stations_file,
    )
    return ws.evaluate(stations, tiers=tiers)


def _strip_timing(summary: dict[str, Any]) -> dict[str, Any]:
    out = dict(summary)
    out["tiers"] = {k: {kk: vv for kk, vv in v.items() if kk != "engine_seconds"} for k, v in out["tiers"].items()}
    return out


def assert_same_result(a: CoverageResult, b: CoverageResult) -> None:
    """Two coverage results are equal in every table and array (timings aside)."""
    pd.testing.assert_frame_equal(a.demand, b.demand)
    pd.testing.assert_frame_equal(a.stations, b.stations)
    pd.testing.assert_frame_equal(a.areas, b.areas)
    pd.testing.assert_frame_equal(a.gaps, b.gaps)
    assert _strip_timing(a.summary) == _strip_timing(b.summary)
    for tier in a.tiers:
        np.testing.assert_array_equal(a.tiers[tier].station_row, b.tiers[tier].station_row)
        np.testing.assert_array_equal(a.tiers[tier].station_rows, b.tiers[tier].station_rows)


def digest(*arrays: object) -> str:
    h = hashlib.sha256()
    for a in arrays:
        arr = np.asarray(a)
        if arr.dtype == object:
            h.update("\x1f".join(map(str, arr.tolist())).encode())
        else:
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def components(n_nodes: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    adj = sp.coo_matrix((np.ones(len(u)), (u, v)), shape=(n_nodes, n_nodes)).tocsr()
    return csgraph.connected_components(adj, directed=False)[1]


def point_segment_distance(px, py, ax, ay, bx, by) -> np.ndarray:
    """Brute-force distance from every point to its nearest segment (metres)."""
    dx, dy = bx - ax, by - ay
    ll = dx * dx + dy * dy
    out = np.full(len(px), np.inf)
    for k in range(len(px)):
        tt = np.clip(((px[k] - ax) * dx + (py[k] - ay) * dy) / ll, 0.0, 1.0)
        out[k] = np.sqrt((ax + tt * dx - px[k]) ** 2 + (ay + tt * dy - py[k]) ** 2).min()
    return out


def normalised_page(m: folium.Map) -> str:
    """The rendered page of ``m`` with its random element ids numbered in order (equal maps, equal pages)."""
    ids: dict[str, str] = {}
    page = m.get_root().render()
    return re.sub(r"_[0-9a-f]{32}", lambda x: ids.setdefault(x.group(0), f"_id{len(ids)}"), page)


# ------------------------------------------------------------------ hand-built OSM files
LON0, LAT0 = 117.2, 28.3
M_PER_DEG_LAT = 111_320.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))


def local_lonlat(x_m: float, y_m: float) -> tuple[float, float]:
    """(lon, lat) of a point x_m east and y_m north of (LON0, LAT0) (local flat approximation)."""
    return LON0 + x_m / M_PER_DEG_LON, LAT0 + y_m / M_PER_DEG_LAT


class OsmWriter:
    """Build a small OSM XML file by hand (independent of the code under test); positions in metres."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.ways: list[str] = []
        self.rels: list[str] = []
        self.next_id = 1

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    @staticmethod
    def _tags(tags: dict[str, str]) -> str:
        return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())

    def node(self, x_m: float, y_m: float, **tags: str) -> int:
        i = self._id()
        lon, lat = local_lonlat(x_m, y_m)
        self.nodes.append(f'<node id="{i}" version="1" lat="{lat:.9f}" lon="{lon:.9f}">{self._tags(tags)}</node>')
        return i

    def line(self, points: list[tuple[float, float]], **tags: str) -> int:
        """An open way through ``points`` (metres); returns its id."""
        ids = [self.node(x, y) for x, y in points]
        i = self._id()
        refs = "".join(f'<nd ref="{r}"/>' for r in ids)
        self.ways.append(f'<way id="{i}" version="1">{refs}{self._tags(tags)}</way>')
        return i

    def ring(self, x0: float, y0: float, w: float, h: float, **tags: str) -> tuple[int, list[tuple[float, float]]]:
        """A closed rectangular way; returns its id and its corner (lon, lat)s."""
        corners = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
        ids = [self.node(x, y) for x, y in corners]
        i = self._id()
        refs = "".join(f'<nd ref="{r}"/>' for r in [*ids, ids[0]])
        self.ways.append(f'<way id="{i}" version="1">{refs}{self._tags(tags)}</way>')
        return i, [local_lonlat(x, y) for x, y in corners]

    def relation(self, outer_way: int, **tags: str) -> int:
        i = self._id()
        self.rels.append(
            f'<relation id="{i}" version="1"><member type="way" ref="{outer_way}" role="outer"/>'
            f"{self._tags(tags)}</relation>"
        )
        return i

    def write(self, path: Path) -> Path:
        body = "\n".join([*self.nodes, *self.ways, *self.rels])
        path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n{body}\n</osm>\n', "utf-8")
        return path


def roadside_points(net: RoadNetwork, n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stations beside the road: random points on walkable segments moved 10–20 m sideways."""
    rng = np.random.default_rng(seed)
    walkable = np.flatnonzero(net.travel_graph(mode=Mode.WALK).edge_allowed)
    e = rng.choice(walkable, size=n, replace=False)
    f = rng.random(n)
    ux, uy = net.node_x_m[net.edge_u[e]], net.node_y_m[net.edge_u[e]]
    dx, dy = net.node_x_m[net.edge_v[e]] - ux, net.node_y_m[net.edge_v[e]] - uy
    length = np.maximum(np.hypot(dx, dy), 1e-9)
    side = rng.uniform(10.0, 20.0, n) * rng.choice([-1.0, 1.0], n)
    return net.to_lonlat(ux + f * dx - dy / length * side, uy + f * dy + dx / length * side)


def trap_network() -> RoadNetwork:
    """A two-way square with one-way roads that leave it and enter it from outside the map.

    Square 0 (0,0) – 1 (1000,0) – 2 (1000,1000) – 3 (0,1000), two-way. One-way 1 → 4
    (2000,0) leads out of the map (4 is a dead end); one-way 5 (2000,1000) → 2 comes in
    from outside (nothing reaches 5). Two-way streets 1 – 6 (2000,−60) and 2 – 7
    (2000,1060) run beside them. One-way 8 (5000,0) → 9 (6000,0) is cut off entirely.
    """
    x = [0.0, 1000.0, 1000.0, 0.0, 2000.0, 2000.0, 2000.0, 2000.0, 5000.0, 6000.0]
    y = [0.0, 0.0, 1000.0, 1000.0, 0.0, 1000.0, -60.0, 1060.0, 0.0, 0.0]
    u = [0, 1, 2, 3, 1, 5, 1, 2, 8]
    v = [1, 2, 3, 0, 4, 2, 6, 7, 9]
    return RoadNetwork.from_arrays(
        node_lon=117.0 + np.array(x) / 1e5,
        node_lat=28.0 + np.array(y) / 1e5,
        node_x_m=x,
        node_y_m=y,
        crs="EPSG:32650",
        edge_u=u,
        edge_v=v,
        edge_highway=["residential"] * len(u),
        edge_oneway=[False, False, False, False, True, True, False, False, True],
    )


def line_case(*, demand_at: Sequence[int] = (0, 5, 25)) -> tuple[Workspace, Scenario]:
    """A 3 km straight residential street (nodes every 100 m, UTM 50N) and a village station at its start.

    Villages 甲村, 乙村, … with 100, 200, … people at the nodes ``demand_at`` (node k is
    k × 100 m along the street).
    """
    crs = "EPSG:32650"
    x = 400000.0 + np.arange(31) * 100.0
    y = np.full(31, 3030000.0)
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    lon_a: NDArray[np.float64] = np.asarray(lon)
    lat_a: NDArray[np.float64] = np.asarray(lat)
    net = RoadNetwork.from_arrays(
        node_lon=lon_a,
        node_lat=lat_a,
        edge_u=np.arange(30),
        edge_v=np.arange(1, 31),
        edge_highway=["residential"] * 30,
        crs=crs,
        node_x_m=x,
        node_y_m=y,
        source="line",
    )
    at = list(demand_at)
    demand = pd.DataFrame(
        {
            "id": [f"D{k + 1}" for k in range(len(at))],
            "name": [f"{'甲乙丙丁戊己庚辛'[k]}村" for k in range(len(at))],
            "population": [100.0 * (k + 1) for k in range(len(at))],
            "lon": lon_a[at],
            "lat": lat_a[at],
            "township": "",
            "kind": "village",
        }
    )
    st = pd.DataFrame({"id": ["S1"], "name": ["起点站"], "tier": ["village"], "lon": [lon_a[0]], "lat": [lat_a[0]]})
    return Workspace(network=net, demand=demand, config=Config()), Scenario(name="line", stations=st)
