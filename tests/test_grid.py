"""Tests for planner.demo.grid: the synthetic benchmark networks.

Every check is made with an independent computation (SciPy components, brute-force
point-to-segment distances), never by calling the generator's own helpers.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from planner.demo.grid import generate_grid_network, random_points_near
from tests.helpers import components, digest, point_segment_distance


@pytest.mark.parametrize("n_nodes", [10_000, 100_000])
def test_grid_hits_node_target(n_nodes: int) -> None:
    net = generate_grid_network(n_nodes=n_nodes, seed=3)
    assert abs(net.n_nodes - n_nodes) <= 0.1 * n_nodes
    classes = pd.Series(net.edge_highway()).value_counts()
    assert {"primary", "secondary", "tertiary", "residential", "unclassified"} <= set(classes.index)
    assert classes["residential"] + classes["unclassified"] > classes["primary"] + classes["secondary"]
    assert 0.01 < net.edge_oneway.mean() < 0.2
    # not a perfect lattice: fewer segments than a full grid of this size would have
    side = np.sqrt(net.n_nodes)
    assert net.n_edges < 2 * side * (side - 1) * 0.98
    # a few disconnected pieces, one dominant
    labels = components(net.n_nodes, net.edge_u, net.edge_v)
    sizes = np.bincount(labels)
    assert 2 <= len(sizes) <= 50
    assert sizes.max() > 0.9 * net.n_nodes
    # segments are about spacing_m long
    assert 60 < np.median(net.edge_length_m) < 180


def test_grid_is_deterministic() -> None:
    a = generate_grid_network(n_nodes=20_000, seed=5)
    b = generate_grid_network(n_nodes=20_000, seed=5)
    c = generate_grid_network(n_nodes=20_000, seed=6)
    da = digest(a.node_lon, a.node_lat, a.edge_u, a.edge_v, a.edge_class, a.edge_oneway)
    assert da == digest(b.node_lon, b.node_lat, b.edge_u, b.edge_v, b.edge_class, b.edge_oneway)
    assert da != digest(c.node_lon, c.node_lat, c.edge_u, c.edge_v, c.edge_class, c.edge_oneway)


def test_random_points_near_roads() -> None:
    net = generate_grid_network(n_nodes=10_000, seed=1)
    lon, lat = random_points_near(net, n=400, seed=2, max_offset_m=50.0)
    assert lon.shape == lat.shape == (400,)
    x, y = net.to_projected(lon, lat)
    d = point_segment_distance(
        x, y, net.node_x_m[net.edge_u], net.node_y_m[net.edge_u], net.node_x_m[net.edge_v], net.node_y_m[net.edge_v]
    )
    assert d.max() <= 50.0 + 1e-6
    assert d.mean() > 5.0
    lon2, _ = random_points_near(net, n=400, seed=2, max_offset_m=50.0)
    np.testing.assert_array_equal(lon, lon2)


@pytest.mark.slow
def test_grid_one_million_nodes() -> None:
    t0 = time.perf_counter()
    net = generate_grid_network(n_nodes=1_000_000, seed=0)
    elapsed = time.perf_counter() - t0
    assert abs(net.n_nodes - 1_000_000) <= 100_000
    assert elapsed < 30.0
