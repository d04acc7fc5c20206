"""Coverage against an independent networkx computation and hand-checkable cases."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from planner._errors import InputError
from planner.coverage.analyse import demand_rows_for_tier, no_demand_reason
from planner.network.snapping import snap_points
from planner.settings import Config, Mode, Tier
from tests.conftest import nx_nearest_times
from tests.helpers import analyse


def _points(net, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Random points near the network's nodes (within ~80 m)."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, net.n_nodes, n)
    x = net.node_x_m[k] + rng.normal(0, 40, n)
    y = net.node_y_m[k] + rng.normal(0, 40, n)
    return net.to_lonlat(x, y)


@pytest.fixture(scope="module")
def case(test_pbf_network):  # type: ignore[no-untyped-def]
    net = test_pbf_network
    lon, lat = _points(net, 16, 1)
    tiers = ["county", "township", "township", "village", "village", "village", "village", "enterprise"] * 2
    stations = pd.DataFrame(
        {
            "id": [f"S{i}" for i in range(16)],
            "name": [f"站{i}" for i in range(16)],
            "tier": tiers,
            "lon": lon,
            "lat": lat,
        }
    )
    dlon, dlat = _points(net, 200, 2)
    kinds = np.where(np.arange(200) % 10 == 0, "enterprise", "village")
    demand = pd.DataFrame(
        {
            "id": [f"D{i}" for i in range(200)],
            "name": [f"村{i}" for i in range(200)],
            "population": np.random.default_rng(5).integers(100, 3000, 200).astype(float),
            "lon": dlon,
            "lat": dlat,
            "township": np.where(np.arange(200) < 100, "东镇", "西镇"),
            "kind": kinds,
        }
    )
    cfg = Config().with_overrides(tier=Tier.VILLAGE, minutes=6).with_overrides(tier=Tier.COUNTY, minutes=2)
    return net, stations, demand, cfg


def test_times_match_networkx_per_tier(case) -> None:  # type: ignore[no-untyped-def]
    net, stations, demand, cfg = case
    res = analyse(net, stations=stations, demand=demand, config=cfg)
    for tier in Tier:
        std = cfg.standards[tier]
        g = net.travel_graph(mode=std.mode, config=cfg)
        rows = demand_rows_for_tier(demand, serves=cfg.tier_demand[tier])
        s_rows = np.flatnonzero(stations["tier"] == str(tier))
        s = snap_points(g, lon=stations["lon"][s_rows], lat=stations["lat"][s_rows], max_snap_m=cfg.max_snap_m)
        d = snap_points(g, lon=demand["lon"][rows], lat=demand["lat"][rows], max_snap_m=cfg.max_snap_m)
        ref = nx_nearest_times(g, s, d) / 60.0
        horizon = std.minutes * cfg.horizon_factor
        ref = np.where(ref <= horizon, ref, np.nan)
        got = res.demand[res.demand["tier"] == str(tier)]
        assert list(got["id"]) == list(demand["id"][rows])
        np.testing.assert_allclose(got["minutes"].to_numpy(float), ref, atol=2e-3)  # rounded to 0.001 min
        cov = got["covered"].fillna(False).to_numpy(bool)
        assert np.array_equal(cov, np.nan_to_num(ref, nan=np.inf) <= std.minutes)
        summ = res.summary["tiers"][str(tier)]
        assert summ["covered"] == int(cov.sum())
        assert summ["covered_population"] == pytest.approx(float(demand["population"][rows][cov].sum()))
        assert summ["mode"] == str(std.mode) and summ["speeds_kph"]["residential"] > 0
        # intervals partition the on-network population
        by_int = summ["population_by_interval"]
        assert sum(by_int.values()) == pytest.approx(summ["population"])


def test_demand_without_kinds_is_residents_and_the_enterprise_tier_says_why(case) -> None:  # type: ignore[no-untyped-def]
    """A sheet without kinds: residents for the first three tiers, nothing for the enterprise tier, and the reason."""
    net, stations, demand, cfg = case
    plain = demand.drop(columns=["kind"])
    res = analyse(net, stations=stations, demand=plain, config=cfg)
    tiers = res.summary["tiers"]
    for tier in ("county", "township", "village"):
        assert tiers[tier]["demand"] == len(plain) and tiers[tier]["no_demand_reason"] is None
        assert tiers[tier]["serves"] == "residents"
    ent = tiers["enterprise"]
    assert (ent["demand"], ent["population"], ent["percent_population"]) == (0, 0.0, None)
    assert ent["no_demand_reason"] == "no_enterprise" and ent["serves"] == "enterprise"
    assert not (res.demand["tier"] == "enterprise").any()
    # "the enterprise tier serves everyone": every row, the same rows as the village tier
    everyone = cfg.with_overrides(tier_demand={Tier.ENTERPRISE: "all"})
    res_all = analyse(net, stations=stations, demand=plain, config=everyone)
    ent_all = res_all.summary["tiers"]["enterprise"]
    assert ent_all["demand"] == len(plain) and ent_all["no_demand_reason"] is None and ent_all["serves"] == "all"
    assert ent_all["population"] == pytest.approx(plain["population"].sum())


def test_only_enterprises_leave_the_resident_tiers_without_demand(case) -> None:  # type: ignore[no-untyped-def]
    net, stations, demand, cfg = case
    workers = demand[demand["kind"] == "enterprise"]
    res = analyse(net, stations=stations, demand=workers, config=cfg)
    assert res.summary["tiers"]["village"]["no_demand_reason"] == "no_residents"
    assert res.summary["tiers"]["enterprise"]["demand"] == len(workers)
    assert no_demand_reason(workers.iloc[:0], serves="all") == "no_rows"
    assert no_demand_reason(workers, serves="all") is None


def test_tables_are_consistent(case) -> None:  # type: ignore[no-untyped-def]
    net, stations, demand, cfg = case
    res = analyse(net, stations=stations, demand=demand, config=cfg)
    # enterprises are served by the enterprise tier only
    ent = res.demand[res.demand["tier"] == "enterprise"]
    assert len(ent) == 20 and set(ent["id"]) == set(demand["id"][demand["kind"] == "enterprise"])
    # per-township table adds up to the tier totals
    for tier, summ in res.summary["tiers"].items():
        a = res.areas[res.areas["tier"] == tier]
        assert a["covered_population"].sum() == pytest.approx(summ["covered_population"])
        assert set(a["township"]) <= {"东镇", "西镇"}
    # gaps: uncovered only, sorted by population then minutes beyond the standard
    gaps = res.gaps
    assert not gaps["covered"].fillna(False).any()
    assert list(gaps["rank"]) == list(range(1, len(gaps) + 1))
    assert gaps["population"].is_monotonic_decreasing
    beyond = gaps.dropna(subset=["beyond_min"])
    assert (beyond["beyond_min"] > 0).all()
    # station loads: population nearest to each station adds up per tier
    for tier in Tier:
        d = res.demand[(res.demand["tier"] == str(tier)) & (res.demand["station_id"] != "")]
        st = res.stations[res.stations["tier"] == str(tier)]
        assert st["load_population"].sum() == pytest.approx(d["population"].sum())


def test_townships_from_polygons_then_fallback(case) -> None:  # type: ignore[no-untyped-def]
    net, stations, demand, cfg = case
    lon0, lat0, lon1, lat1 = net.bounds_lonlat()
    mid = (lon0 + lon1) / 2
    areas = gpd.GeoDataFrame(
        {"name": ["西区", "东区"]},
        geometry=[shapely.box(lon0 - 1, lat0 - 1, mid, lat1 + 1), shapely.box(mid, lat0 - 1, lon1 + 1, lat1 + 1)],
        crs="EPSG:4326",
    )
    res = analyse(net, stations=stations, demand=demand, config=cfg, areas=areas, tiers=(Tier.VILLAGE,))
    exp = np.where(demand["lon"] < mid, "西区", "东区")[demand_rows_for_tier(demand, serves="residents")]
    assert list(res.demand["township"]) == list(exp)
    # no polygons and no township column: nearest township-tier station's name
    res2 = analyse(net, stations=stations, demand=demand.drop(columns=["township"]), config=cfg, tiers=(Tier.TOWNSHIP,))
    assert set(res2.demand["township"]) <= set(stations["name"]) | {""}


def test_off_network_demand_and_stations() -> None:
    from planner.network.roads import RoadNetwork

    net = RoadNetwork.from_arrays(
        node_lon=[117.0, 117.01, 117.02],
        node_lat=[28.0] * 3,
        edge_u=[0, 1],
        edge_v=[1, 2],
        edge_highway=["residential"] * 2,
    )
    stations = pd.DataFrame({"id": ["A"], "name": ["甲站"], "tier": ["village"], "lon": [117.0], "lat": [28.0003]})
    demand = pd.DataFrame(
        {
            "id": ["near", "far", "offroad"],
            "name": ["近村", "远村", "山里"],
            "population": [100.0, 200.0, 300.0],
            "lon": [117.005, 117.02, 117.01],
            "lat": [28.0, 28.0, 28.05],
        }
    )
    res = analyse(net, stations=stations, demand=demand, tiers=(Tier.VILLAGE,))
    d = res.demand.set_index("id")
    assert d.loc["near", "status"] == "covered"
    assert d.loc["far", "status"] == "uncovered" and d.loc["far", "beyond_min"] > 0
    assert d.loc["offroad", "status"] == "off_network" and pd.isna(d.loc["offroad", "covered"])
    s = res.summary["tiers"]["village"]
    assert s["off_network"] == 1 and s["off_network_population"] == 300.0
    assert s["percent_population"] == pytest.approx(100 * 100 / 600, abs=0.01)
    bad = stations.assign(lat=[28.2])
    with pytest.raises(InputError) as exc:
        analyse(net, stations=bad, demand=demand, tiers=(Tier.VILLAGE,), stations_file="站点.csv")
    msg = exc.value.message("en")
    assert "站点.csv" in msg and "A" in msg and "--stations-coords" in msg
    skipped = analyse(net, stations=bad, demand=demand, tiers=(Tier.VILLAGE,), allow_off_network_stations=True)
    assert set(skipped.demand["status"]) == {"no_station", "off_network"}


def test_mode_changes_results(case) -> None:  # type: ignore[no-untyped-def]
    net, stations, demand, cfg = case
    slow = analyse(net, stations=stations, demand=demand, config=cfg, tiers=(Tier.VILLAGE,))
    fast = analyse(
        net,
        stations=stations,
        demand=demand,
        config=cfg.with_overrides(tier=Tier.VILLAGE, mode=Mode.EBIKE),
        tiers=(Tier.VILLAGE,),
    )
    assert (
        fast.summary["tiers"]["village"]["covered_population"] > slow.summary["tiers"]["village"]["covered_population"]
    )


def test_tier_without_stations(case) -> None:  # type: ignore[no-untyped-def]
    net, stations, demand, cfg = case
    res = analyse(net, stations=stations[stations["tier"] != "county"], demand=demand, config=cfg)
    county = res.demand[res.demand["tier"] == "county"]
    assert set(county["status"]) <= {"no_station", "off_network"} and not county["covered"].fillna(False).any()
    assert res.summary["tiers"]["county"]["stations"] == 0
    assert res.summary["tiers"]["county"]["covered_population"] == 0


def test_stranded_demand_is_reported_not_silently_uncovered(caplog: pytest.LogCaptureFixture) -> None:
    """Demand beside a cut-off one-way piece: marked stranded, counted, and named in a warning."""
    from tests.helpers import trap_network

    net = trap_network()

    def lonlat(x: list[float], y: list[float]) -> tuple[np.ndarray, np.ndarray]:
        return net.to_lonlat(np.array(x), np.array(y))

    s_lon, s_lat = lonlat([500.0], [-5.0])
    stations = pd.DataFrame({"id": ["C"], "name": ["县中心"], "tier": ["county"], "lon": s_lon, "lat": s_lat})
    # beside the one-way 5 → 2 (two-way 2 – 7 close by), beside the cut-off 8 → 9, on the square
    d_lon, d_lat = lonlat([1500.0, 5500.0, 500.0], [990.0, 10.0, 20.0])
    demand = pd.DataFrame(
        {"id": ["A", "B", "C"], "name": ["城北", "孤岛", "城南"], "population": [3000.0, 500.0, 100.0],
         "lon": d_lon, "lat": d_lat}
    )  # fmt: skip
    with caplog.at_level("WARNING"):
        res = analyse(net, stations=stations, demand=demand, tiers=(Tier.COUNTY,))
    d = res.demand.set_index("id")
    assert list(d["stranded"]) == [False, True, False]
    assert d.loc["A", "status"] == "covered"
    assert d.loc["B", "status"] == "unreachable"
    summary = res.summary["tiers"]["county"]
    assert summary["stranded"] == 1 and summary["stranded_population"] == 500.0
    assert summary["stations_stranded"] == 0
    assert bool(res.gaps.set_index("id").loc["B", "stranded"])
    warned = [r.getMessage() for r in caplog.records if "孤岛" in r.getMessage()]
    assert len(warned) == 1 and "stranded=True" in warned[0]


def test_station_load_report_against_the_demand_table(case) -> None:  # type: ignore[no-untyped-def]
    """Load = people nearest to the station within the standard, recounted from the demand rows."""
    net, stations, demand, cfg = case
    st = stations.copy()
    st["capacity"] = [np.nan, 500.0, 1e9, 0.0, np.nan, 2000.0, np.nan, np.nan] * 2  # NaN: the tier's default
    cfg2 = replace(cfg, tier_capacity={Tier.VILLAGE: 3000.0, Tier.TOWNSHIP: None})
    res = analyse(net, stations=st, demand=demand, config=cfg2)
    out = res.stations
    covered = res.demand[res.demand["covered"].fillna(False).astype(bool)]
    load = covered.groupby("station_id")["population"].sum()
    want_load = st["id"].map(load).fillna(0.0).to_numpy()
    np.testing.assert_allclose(out["covered_population"].to_numpy(float), want_load)
    default = st["tier"].map({"village": 3000.0}).to_numpy(float)
    want_cap = np.where(np.isnan(st["capacity"]), default, st["capacity"])
    np.testing.assert_array_equal(out["capacity"].to_numpy(float), want_cap)  # NaN where unlimited
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(want_cap > 0, want_load / want_cap, np.where(want_load > 0, np.inf, 0.0))
    ratio[np.isnan(want_cap)] = np.nan  # unlimited: no ratio
    np.testing.assert_allclose(out["load_ratio"].to_numpy(float), np.round(ratio, 6), equal_nan=True)
    over = np.nan_to_num(want_load) > np.nan_to_num(want_cap, nan=np.inf)
    assert list(out["overloaded"]) == list(over)
    assert over.any() and not over.all()  # the case tests both
    for tier, s in res.summary["tiers"].items():
        assert s["stations_overloaded"] == int(over[(st["tier"] == tier).to_numpy()].sum())
    # a capacity of 0 with people nearest: an infinite ratio, overloaded
    zero = out[(st["capacity"] == 0).to_numpy()]
    assert ((zero["covered_population"] > 0) == zero["overloaded"]).all()
    # without any capacity every station is unlimited and none is overloaded
    plain = analyse(net, stations=stations, demand=demand, config=cfg)
    assert plain.stations["capacity"].isna().all() and not plain.stations["overloaded"].any()
    assert all(s["stations_overloaded"] == 0 for s in plain.summary["tiers"].values())


def test_no_station_at_all_leaves_everyone_outside(case) -> None:  # type: ignore[no-untyped-def]
    """An empty station table (a batch county with none of its own and none across) is a result, not a crash."""
    net, stations, demand, cfg = case
    res = analyse(net, stations=stations.iloc[:0], demand=demand, config=cfg)
    for s in res.summary["tiers"].values():
        assert s["covered_population"] == 0 and s["stations"] == 0
        assert s["outside_population"] == pytest.approx(s["population"])
    assert set(res.demand["status"]) <= {"no_station", "off_network"}
    assert (res.demand["station_id"] == "").all()
