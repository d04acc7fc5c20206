from __future__ import annotations

import math

import numpy as np
import pytest

from planner._errors import NetworkError
from planner.network.roads import RoadNetwork, min_csr, road_class_codes, utm_crs_for
from planner.settings import ROAD_CLASSES, Config, Mode


def test_road_class_codes() -> None:
    codes = road_class_codes(["primary", "['residential', 'service']", "footway;path", None, "weird"])
    names = [ROAD_CLASSES[c] for c in codes]
    assert names == ["primary", "residential", "footway", "unclassified", "unclassified"]


def test_utm_zone() -> None:
    assert utm_crs_for(117.2, 28.3) == "EPSG:32650"  # 贵溪
    assert utm_crs_for(1.5, 42.5) == "EPSG:32631"  # Andorra


def test_lengths_are_geodesic_enough() -> None:
    net = RoadNetwork.from_arrays(node_lon=[117.0, 117.01], node_lat=[28.0, 28.0], edge_u=[0], edge_v=[1])
    # 0.01° of longitude at 28°N ≈ 983 m (UTM scale error < 0.1 %)
    assert net.edge_length_m[0] == pytest.approx(111_320 * 0.01 * math.cos(math.radians(28.0)), rel=2e-3)


def test_travel_graph_speeds_oneway_and_parallel_edges() -> None:
    net = RoadNetwork.from_arrays(
        node_lon=[117.0, 117.01],
        node_lat=[28.0, 28.0],
        node_x_m=[0.0, 1000.0],
        node_y_m=[0.0, 0.0],
        crs="EPSG:32650",
        edge_u=[0, 0, 1],
        edge_v=[1, 1, 1],  # parallel road and a self-loop (dropped)
        edge_highway=["residential", "primary", "service"],
        edge_oneway=[False, True, False],
        edge_maxspeed_kph=[np.nan, 80.0, np.nan],
    )
    assert net.n_edges == 2
    drive = net.travel_graph(mode=Mode.DRIVE)
    # primary 50 km/h, maxspeed 80 capped at 1.2 × 50 = 60 km/h, one-way 0 → 1
    assert drive.csr[0, 1] == pytest.approx(1000 / (60 / 3.6))
    assert drive.csr[1, 0] == pytest.approx(1000 / (25 / 3.6))  # only the residential road back
    walk = net.travel_graph(mode=Mode.WALK)
    assert walk.csr[1, 0] == pytest.approx(1000 / (4 / 3.6))
    assert net.travel_graph(mode=Mode.WALK) is walk  # cached
    cfg = Config().with_overrides()
    cfg.speeds_kph[Mode.WALK]["residential"] = 5.0  # a different table compiles a new graph
    assert net.travel_graph(mode=Mode.WALK, config=cfg) is not walk


def test_travel_graph_cache_survives_a_pickle() -> None:
    """The prepared demo is a pickle: its compiled graphs must still be found after loading."""
    import pickle

    net = RoadNetwork.from_arrays(
        node_lon=[117.0, 117.01], node_lat=[28.0, 28.0], edge_u=[0], edge_v=[1], edge_highway=["residential"]
    )
    graphs = {mode: net.travel_graph(mode=mode) for mode in Mode}  # drive closes some classes (no speed)
    loaded = pickle.loads(pickle.dumps(net))
    cached = dict(loaded._graph_cache)
    assert len(cached) == len(graphs)
    for mode in Mode:
        assert (
            loaded.travel_graph(mode=mode, config=Config()) is cached[(mode, next(k for m, k in cached if m == mode))]
        )
    assert len(loaded._graph_cache) == len(graphs)  # nothing compiled again


def test_min_csr_keeps_fastest_duplicate() -> None:
    m = min_csr(np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([5.0, 3.0, 7.0]), 2)
    assert m[0, 1] == 3.0 and m[1, 0] == 7.0


def test_components_and_errors() -> None:
    net = RoadNetwork.from_arrays(
        node_lon=[117.0, 117.001, 117.1, 117.101], node_lat=[28.0] * 4, edge_u=[0, 2], edge_v=[1, 3]
    )
    comps = net.components()
    assert comps.n_components == 2 and comps.nodes_outside_largest() == 2
    with pytest.raises(NetworkError):
        RoadNetwork.from_arrays(node_lon=[117.0], node_lat=[28.0], edge_u=[], edge_v=[])
    with pytest.raises(NetworkError):
        RoadNetwork.from_arrays(node_lon=[117.0, 200.0], node_lat=[28.0, 28.0], edge_u=[0], edge_v=[1])
