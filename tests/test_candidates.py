"""Candidate sites and network coverage sets, checked against networkx and geometry."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner._errors import SitingError
from planner.network.snapping import snap_points
from planner.settings import Config, Mode, Tier
from planner.siting.candidates import combine_candidates, road_candidates
from planner.siting.models import maximal_covering
from planner.workspace.propose import CandidateOptions
from planner.workspace.workspace import Workspace
from tests.conftest import nx_nearest_times


def test_road_candidates_lie_on_roads_and_are_spaced(test_pbf_network) -> None:  # type: ignore[no-untyped-def]
    g = test_pbf_network.travel_graph(mode=Mode.WALK)
    c = road_candidates(g, spacing_m=150)
    assert len(c) > 50 and c["id"].is_unique
    s = snap_points(g, lon=c["lon"], lat=c["lat"], max_snap_m=5)
    assert s.on_network.all() and np.nanmax(s.snap_m) < 1e-3  # exactly on a road
    x, y = test_pbf_network.to_projected(c["lon"], c["lat"])
    cells = set(zip(np.floor(x / 150).astype(int), np.floor(y / 150).astype(int), strict=True))
    assert len(cells) == len(c)  # one per 150 m cell
    # exclusion zone removes the candidates inside it
    lon0, lat0, lon1, lat1 = test_pbf_network.bounds_lonlat()
    zone = gpd.GeoDataFrame(geometry=[shapely.box(lon0, lat0, (lon0 + lon1) / 2, lat1)], crs="EPSG:4326")
    kept = road_candidates(g, spacing_m=150, exclude=zone)
    assert 0 < len(kept) < len(c) and (kept["lon"] >= (lon0 + lon1) / 2).all()


def test_coverage_sets_match_networkx(test_pbf_network) -> None:  # type: ignore[no-untyped-def]
    net = test_pbf_network
    cfg = Config().with_overrides(tier=Tier.VILLAGE, minutes=5)
    g = net.travel_graph(mode=Mode.WALK, config=cfg)
    cands = road_candidates(g, spacing_m=400)
    rng = np.random.default_rng(11)
    k = rng.integers(0, net.n_nodes, 80)
    lon, lat = net.to_lonlat(net.node_x_m[k] + rng.normal(0, 30, 80), net.node_y_m[k] + rng.normal(0, 30, 80))
    demand = pd.DataFrame({"id": [f"d{i}" for i in range(80)], "population": rng.integers(1, 100, 80).astype(float),
                           "lon": lon, "lat": lat})  # fmt: skip
    stations = pd.DataFrame({"id": ["E1"], "name": ["现有"], "tier": ["village"], "lon": [lon[0]], "lat": [lat[0]]})
    ws = Workspace(network=net, demand=demand, config=cfg)
    only_these = CandidateOptions(road=False, demand=False, extra=cands)
    npb = ws.siting_problem(stations, tier=Tier.VILLAGE, candidates=only_these)
    prob = npb.problem
    d_snap = snap_points(g, lon=lon, lat=lat, max_snap_m=cfg.max_snap_m)
    c_snap = snap_points(g, lon=npb.candidates["lon"], lat=npb.candidates["lat"], max_snap_m=cfg.max_snap_m)
    dense = prob.cover.toarray()
    for j in range(0, len(npb.candidates), max(1, len(npb.candidates) // 25)):
        ref = nx_nearest_times(g, c_snap.subset(np.array([j])), d_snap)
        assert np.array_equal(dense[:, j], ref <= 300.0), j
    e_snap = snap_points(g, lon=[lon[0]], lat=[lat[0]], max_snap_m=cfg.max_snap_m)
    assert np.array_equal(prob.covered_by_existing, nx_nearest_times(g, e_snap, d_snap) <= 300.0)
    res = maximal_covering(prob, p=3)
    assert res.objective >= prob.existing_population and res.gap == pytest.approx(0.0, abs=1e-9)


def test_combine_and_errors() -> None:
    a = pd.DataFrame({"id": ["A"], "name": ["甲"], "lon": [117.0], "lat": [28.0]})
    with pytest.raises(SitingError):
        combine_candidates(None, None)
    with pytest.raises(SitingError, match="A"):
        combine_candidates(a, a)
