"""Tests for planner.siting.models: published optima, brute force on small instances, bad input."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from planner._errors import InputError, SitingError
from planner.siting.models import (
    keep_best,
    maximal_covering,
    multi_tier,
    removal_ranking,
    set_covering,
)
from planner.siting.problem import CoverageProblem

DATA = Path(__file__).parent / "data" / "siting"
SHARED = Path(__file__).resolve().parents[2] / "shared"

# Published optima for the Swain (1971) 55-node network, Euclidean distances, every node
# both demand and candidate (total weight 640). Sources: Church & ReVelle (1974) "The
# maximal covering location problem" (S=10, p=1..9) and Toregas et al. (1971) for the
# set-covering counts, as collected in ../shared/benchmarks/SOURCES.md.
SWAIN_MCLP = {
    10: [425, 502, 548, 581, 609, 625, 633, 638, 640],
    15: [515, 593, 625, 638, 640],
    20: [573, 631, 640],
}
SWAIN_LSCP = {5: 30, 8: 13, 10: 9, 12: 7, 15: 5, 20: 3, 25: 2, 30: 1}


@pytest.fixture(scope="module")
def swain() -> tuple[np.ndarray, np.ndarray]:
    d = np.loadtxt(DATA / "swain_medrano_pcenter.txt", skiprows=1)
    xy, w = d[:, 1:3], d[:, 3]
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    return dist, w


@pytest.mark.parametrize("s", sorted(SWAIN_MCLP))
def test_swain_mclp_published_optima(swain: tuple[np.ndarray, np.ndarray], s: int) -> None:
    dist, w = swain
    prob = CoverageProblem.from_dense(dist, max_distance=s, weights=w)
    assert prob.total_population == 640
    for p, expected in enumerate(SWAIN_MCLP[s], start=1):
        res = maximal_covering(prob, p=p)
        assert res.objective == expected
        assert res.status == "optimal"
        assert res.bound >= res.objective - 1e-6
        assert res.n_sites <= p
        # independent recomputation of what the chosen sites cover
        cols = np.searchsorted(prob.candidate_ids, res.site_ids)
        assert w[(dist[:, cols] <= s).any(axis=1)].sum() == expected
        greedy = maximal_covering(prob, p=p, solver="greedy")
        assert greedy.objective <= expected


@pytest.mark.parametrize(("s", "expected"), sorted(SWAIN_LSCP.items()))
def test_swain_lscp_published_counts(swain: tuple[np.ndarray, np.ndarray], s: int, expected: int) -> None:
    dist, w = swain
    prob = CoverageProblem.from_dense(dist, max_distance=s, weights=w)
    res = set_covering(prob)
    assert res.n_sites == expected
    assert res.objective == 640
    assert res.bound == expected
    cols = np.searchsorted(prob.candidate_ids, res.site_ids)
    assert (dist[:, cols] <= s).any(axis=1).all()
    assert set_covering(prob, solver="greedy").n_sites >= expected


@pytest.mark.shared
def test_spopt_san_francisco_fixture() -> None:
    base = SHARED / "benchmarks" / "spopt_sf"
    if not base.exists():
        pytest.skip(f"{base} not present (../shared is only on development machines)")
    long = pd.read_csv(
        base / "SF_network_distance_candidateStore_16_censusTract_205_new.csv", dtype={"DestinationName": str}
    )
    demand = pd.read_csv(base / "SF_demand_205_centroid_uniform_weight.csv", dtype={"NAME": str})
    costs = long.rename(columns={"DestinationName": "demand_id", "name": "site_id", "distance": "minutes"})
    prob = CoverageProblem.from_cost_matrix(
        costs[["demand_id", "site_id", "minutes"]],
        demand=demand.rename(columns={"NAME": "id", "POP2000": "population"})[["id", "population"]],
        candidates=pd.DataFrame({"id": sorted(long["name"].unique())}),
        minutes=5000.0,
    )
    assert prob.total_population == 955_113
    res = maximal_covering(prob, p=4)
    assert res.objective == 875_247
    cols = np.searchsorted(prob.candidate_ids, res.site_ids)
    covered = np.asarray(prob.cover[:, cols].sum(axis=1)).ravel() > 0
    assert int((~covered).sum()) == 21
    assert set_covering(prob).n_sites == 8


# --------------------------------------------------------------------------- brute force


def _random_problem(seed: int, m: int = 14, n: int = 8, *, groups: bool = False) -> CoverageProblem:
    rng = np.random.default_rng(seed)
    a = rng.random((m, n)) < 0.25
    existing = rng.random(m) < 0.15
    return CoverageProblem(
        cover=sp.csr_matrix(a),
        weights=rng.integers(0, 100, m).astype(float),
        covered_by_existing=existing,
        demand_ids=np.array([f"d{i}" for i in range(m)]),
        candidate_ids=np.array([f"c{j}" for j in range(n)]),
        candidate_cost=rng.integers(1, 6, n).astype(float),
        candidate_group=rng.choice(np.array(["东城", "西城", "南山"]), n) if groups else None,
    )


def _covered(prob: CoverageProblem, cols: tuple[int, ...]) -> float:
    a = prob.cover.toarray()
    hit = prob.covered_by_existing | a[:, list(cols)].any(axis=1)
    return float(prob.weights[hit].sum())


def _subsets(n: int):  # type: ignore[no-untyped-def]
    for k in range(n + 1):
        yield from itertools.combinations(range(n), k)


@pytest.mark.parametrize("seed", range(8))
def test_mclp_matches_brute_force(seed: int) -> None:
    prob = _random_problem(seed)
    for p in (1, 2, 3):
        best = max(_covered(prob, s) for s in itertools.combinations(range(prob.n_candidates), p))
        res = maximal_covering(prob, p=p)
        assert res.objective == pytest.approx(best)
        assert res.bound >= res.objective - 1e-6
        assert maximal_covering(prob, p=p, solver="greedy").objective <= best + 1e-9
        # objective = existing + marginal gains, marginal gains non-increasing (greedy ranking)
        assert res.existing_covered + res.newly_covered.sum() == pytest.approx(res.objective)
        assert np.all(np.diff(res.newly_covered) <= 1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_budget_and_quotas_match_brute_force(seed: int) -> None:
    prob = _random_problem(seed, groups=True)
    assert prob.candidate_cost is not None and prob.candidate_group is not None
    cost, grp = prob.candidate_cost, prob.candidate_group
    budget = 7.0
    gmin, gmax = {"东城": 1}, {"西城": 1}
    best = -1.0
    for s in _subsets(prob.n_candidates):
        g = list(grp[list(s)])
        if len(s) > 3 or cost[list(s)].sum() > budget:
            continue
        if "东城" in grp and g.count("东城") < 1:
            continue
        if g.count("西城") > 1:
            continue
        best = max(best, _covered(prob, s))
    kwargs = {"p": 3, "budget": budget, "group_max": gmax}
    if "东城" in grp:
        kwargs["group_min"] = gmin
    if best < 0:
        with pytest.raises(SitingError):
            maximal_covering(prob, **kwargs)  # type: ignore[arg-type]
        return
    res = maximal_covering(prob, **kwargs)  # type: ignore[arg-type]
    assert res.objective == pytest.approx(best)
    assert res.cost <= budget
    assert res.bound >= res.objective - 1e-6
    try:
        greedy = maximal_covering(prob, solver="greedy", **kwargs)  # type: ignore[arg-type]
    except SitingError:
        return
    assert greedy.objective <= best + 1e-9 and greedy.cost <= budget


@pytest.mark.parametrize("seed", range(8))
def test_set_covering_matches_brute_force(seed: int) -> None:
    prob = _random_problem(seed)
    a = prob.cover.toarray()
    need = ~prob.covered_by_existing & a.any(axis=1)
    best = min(len(s) for s in _subsets(prob.n_candidates) if a[need][:, list(s)].any(axis=1).all() or not need.any())
    res = set_covering(prob)
    assert res.n_sites == best
    assert list(res.uncoverable_ids) == list(prob.demand_ids[~prob.covered_by_existing & ~a.any(axis=1)])
    assert set_covering(prob, solver="greedy").n_sites >= best
    # least cost
    cost = prob.candidate_cost
    assert cost is not None
    best_cost = min(
        cost[list(s)].sum()
        for s in _subsets(prob.n_candidates)
        if a[need][:, list(s)].any(axis=1).all() or not need.any()
    )
    assert set_covering(prob, minimise="cost").cost == pytest.approx(best_cost)


@pytest.mark.parametrize("seed", range(6))
def test_partial_covering_matches_brute_force(seed: int) -> None:
    prob = _random_problem(seed)
    reachable = _covered(prob, tuple(range(prob.n_candidates))) / prob.total_population
    share = 0.8 * reachable
    best = min(len(s) for s in _subsets(prob.n_candidates) if _covered(prob, s) >= share * prob.total_population)
    res = set_covering(prob, target_share=share)
    assert res.n_sites == best
    assert res.objective >= share * prob.total_population - 1e-9
    assert res.model == "partial_cover"


def test_keep_best_and_removal_ranking_against_brute_force() -> None:
    prob = _random_problem(11, m=20, n=7)
    a = prob.cover.toarray()
    q = 3
    best = max(_covered(prob, s) for s in itertools.combinations(range(7), q))
    res = keep_best(prob, q=q)
    assert res.objective == pytest.approx(best) and res.model == "keep"
    table = removal_ranking(prob)
    assert len(table) == 7 and set(table["site_id"]) == set(prob.candidate_ids)
    # lost_alone: population only this station reaches (independent dense computation)
    only = (a.sum(axis=1) == 1) & ~prob.covered_by_existing
    for _, row in table.iterrows():
        j = int(str(row["site_id"])[1:])
        assert row["lost_alone"] == pytest.approx(prob.weights[only & a[:, j]].sum())
    # the first removal loses the least possible, and coverage after each step is exact
    assert table["lost"].iloc[0] == pytest.approx(table["lost_alone"].min())
    remaining = list(range(7))
    for _, row in table.iterrows():
        remaining.remove(int(str(row["site_id"])[1:]))
        assert row["covered_after"] == pytest.approx(_covered(prob, tuple(remaining)))


def test_multi_tier_runs_each_tier_with_its_own_limit() -> None:
    probs = {"township": _random_problem(1), "village": _random_problem(2)}
    out = multi_tier(probs, p={"township": 1}, budget={"village": 6.0})
    assert out["township"].objective == maximal_covering(probs["township"], p=1).objective
    assert out["village"].objective == maximal_covering(probs["village"], p=None, budget=6.0).objective
    assert out["village"].cost <= 6.0
    with pytest.raises(SitingError, match="county"):
        multi_tier(probs, p={"county": 1})


def test_result_table_and_summary() -> None:
    prob = _random_problem(4)
    res = maximal_covering(prob, p=2)
    frame = res.to_frame()
    assert list(frame.columns) == ["rank", "site_id", "newly_covered", "cost"]
    assert list(frame["rank"]) == list(range(1, res.n_sites + 1))
    summary = res.summary()
    assert summary["objective"] == res.objective and summary["reduction"]["demand"][0] == prob.n_demand


# --------------------------------------------------------------------------- bad input


def test_error_cases() -> None:
    from planner.i18n import set_language

    prob = _random_problem(0)
    set_language("en")
    try:
        with pytest.raises(SitingError, match="p = 9 new sites is more than the 8 candidates"):
            maximal_covering(prob, p=9)
        empty = CoverageProblem(sp.csr_matrix((3, 0), dtype=bool), np.ones(3), np.zeros(3, bool), np.arange(3), [])
        with pytest.raises(SitingError, match="no candidate sites"):
            maximal_covering(empty, p=1)
        unreachable = ~prob.coverable & ~prob.covered_by_existing
        assert unreachable.any()
        with pytest.raises(SitingError, match=str(prob.demand_ids[unreachable][0])):
            set_covering(prob, target_share=1.0)
        with pytest.raises(InputError, match="invalid population"):
            CoverageProblem(
                prob.cover, -prob.weights - 1, prob.covered_by_existing, prob.demand_ids, prob.candidate_ids
            )
        with pytest.raises(SitingError, match="unknown-town"):
            maximal_covering(_random_problem(0, groups=True), p=2, group_min={"unknown-town": 1})
        no_cost = CoverageProblem(
            prob.cover, prob.weights, prob.covered_by_existing, prob.demand_ids, prob.candidate_ids
        )
        with pytest.raises(SitingError, match="cost column"):
            maximal_covering(no_cost, p=None, budget=3.0)
        with pytest.raises(SitingError, match="add up to 3"):
            maximal_covering(_random_problem(0, groups=True), p=2, group_min={"东城": 1, "西城": 1, "南山": 1})
    finally:
        set_language("zh")


@pytest.mark.parametrize("lp_route", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_large_instance_path_matches_brute_force(seed: int, lp_route: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The paths for large instances (local search + Lagrangian bound beside the MIP or the LP) stay exact."""
    import planner.siting._large_mclp as large
    import planner.siting.models as siting

    monkeypatch.setattr(siting, "LARGE_NNZ", 0)
    monkeypatch.setattr(large, "LP_ROUTE_NNZ", 0 if lp_route else 10**9)
    prob = _random_problem(seed, m=20, n=9)
    for p in (2, 3):
        best = max(_covered(prob, s) for s in itertools.combinations(range(prob.n_candidates), p))
        res = maximal_covering(prob, p=p, time_limit_s=1.0)
        assert res.objective == pytest.approx(best)
        assert res.bound >= best - 1e-6


def test_township_minimum_keeps_a_site_that_adds_nothing() -> None:
    a = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0]], dtype=bool))  # c2 covers nobody
    prob = CoverageProblem(
        a,
        np.array([5.0, 3.0, 1.0]),
        np.zeros(3, bool),
        np.arange(3),
        np.array(["c0", "c1", "c2"]),
        candidate_group=np.array(["甲", "甲", "乙"]),
    )
    res = maximal_covering(prob, p=2, group_min={"乙": 1})
    assert sorted(res.site_ids.tolist()) == ["c0", "c2"]
    assert res.objective == 6.0
    greedy = maximal_covering(prob, p=2, group_min={"乙": 1}, solver="greedy")
    assert sorted(greedy.site_ids.tolist()) == ["c0", "c2"]
