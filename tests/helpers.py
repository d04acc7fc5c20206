"""Helpers shared by several test modules."""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph

from planner.coverage.analyse import CoverageResult
from planner.network.roads import RoadNetwork
from planner.settings import Config, Tier
from planner.workspace.workspace import Workspace


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
