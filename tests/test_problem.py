"""Tests for planner.siting.problem: building a coverage problem from tables, input errors, reduction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from planner._errors import InputError, SitingError
from planner.siting.problem import CoverageProblem, reduce_problem

# --------------------------------------------------------------------------- construction


def _random_long(seed: int, m: int = 30, n: int = 12) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    minutes = rng.uniform(0, 40, size=(m, n))
    mask = rng.random((m, n)) < 0.6  # listed pairs; the rest unreachable
    di, sj = np.nonzero(mask)
    costs = pd.DataFrame(
        {"demand_id": [f"d{i}" for i in di], "site_id": [f"s{j}" for j in sj], "minutes": minutes[mask]}
    )
    demand = pd.DataFrame({"id": [f"d{i}" for i in range(m)], "population": rng.integers(0, 500, m)})
    cands = pd.DataFrame({"id": [f"s{j}" for j in range(n)], "cost": rng.integers(1, 5, n)})
    return costs, demand, cands


def test_from_cost_matrix_matches_dense_construction() -> None:
    costs, demand, cands = _random_long(0)
    prob = CoverageProblem.from_cost_matrix(
        costs, demand=demand, candidates=cands, minutes=15, existing_site_ids=["s0"]
    )
    dense = np.full((30, 12), np.inf)
    di = costs["demand_id"].str[1:].astype(int).to_numpy()
    sj = costs["site_id"].str[1:].astype(int).to_numpy()
    dense[di, sj] = costs["minutes"].to_numpy()
    assert list(prob.candidate_ids) == [f"s{j}" for j in range(1, 12)]
    np.testing.assert_array_equal(prob.cover.toarray(), dense[:, 1:] <= 15)
    np.testing.assert_array_equal(prob.covered_by_existing, dense[:, 0] <= 15)
    np.testing.assert_array_equal(prob.weights, demand["population"].to_numpy())
    np.testing.assert_array_equal(prob.candidate_cost, cands["cost"].to_numpy()[1:])
    assert prob.cover.dtype == bool and isinstance(prob.cover, sp.csr_matrix)


def test_from_cost_matrix_without_population_weighs_one() -> None:
    costs, demand, cands = _random_long(1)
    prob = CoverageProblem.from_cost_matrix(costs, demand=demand[["id"]], candidates=cands, minutes=15)
    assert prob.total_population == 30


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda c, d, s: (c.assign(site_id=c["site_id"].where(c.index != 3, "ghost")), d, s), InputError, "ghost"),
        (
            lambda c, d, s: (c.assign(demand_id=c["demand_id"].where(c.index != 5, "nobody")), d, s),
            InputError,
            "nobody",
        ),
        (lambda c, d, s: (c, d.assign(population=d["population"].where(d.index != 4, -3)), s), InputError, "d4"),
        (lambda c, d, s: (c.drop(columns="minutes"), d, s), InputError, "minutes"),
        (lambda c, d, s: (c, pd.concat([d, d.iloc[:1]]), s), InputError, "d0"),
        (lambda c, d, s: (c.assign(minutes=c["minutes"].where(c.index != 2, -1.0)), d, s), InputError, "row 3"),
        (lambda c, d, s: (c.iloc[:0], d, s.iloc[:0]), SitingError, "candidate"),
    ],
)
def test_from_cost_matrix_errors(mutate, error, match) -> None:  # type: ignore[no-untyped-def]
    from planner.i18n import set_language

    costs, demand, cands = _random_long(2)
    c, d, s = mutate(costs, demand, cands)
    set_language("en")
    try:
        with pytest.raises(error, match=match):
            CoverageProblem.from_cost_matrix(c, demand=d, candidates=s, minutes=15)
    finally:
        set_language("zh")


def test_unknown_site_message_names_row_and_fix() -> None:
    costs, demand, cands = _random_long(3)
    costs.loc[7, "site_id"] = "ghost"
    with pytest.raises(InputError) as info:
        CoverageProblem.from_cost_matrix(costs, demand=demand, candidates=cands, minutes=15, source="times.csv")
    en = info.value.message("en")
    assert "times.csv" in en and "row 8" in en and "ghost" in en and "candidates file" in en
    assert "ghost" in info.value.message("zh")


# --------------------------------------------------------------------------- reduction


def test_reduction_merges_rows_and_drops_dominated_columns() -> None:
    a = sp.csr_matrix(
        np.array(
            [
                [1, 1, 0, 0],  # rows 0 and 1 identical -> merged
                [1, 1, 0, 0],
                [0, 1, 1, 0],
                [0, 0, 0, 1],
                [0, 0, 0, 0],  # unreachable
                [1, 0, 0, 0],  # covered by existing
            ],
            dtype=bool,
        )
    )
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    prob = CoverageProblem(a, w, np.array([0, 0, 0, 0, 0, 1], bool), np.arange(6), np.array(list("abcd")))
    red = reduce_problem(prob)
    r = red.report
    assert (r.n_demand, r.n_demand_reduced) == (6, 3)
    assert (r.dropped_existing, r.dropped_uncoverable, r.merged_demand) == (1, 1, 1)
    # column a = {0,1} ⊂ b = {0,1,2}; c = {2} ⊂ b
    assert list(red.columns) == [1, 3]
    assert sorted(red.weights.tolist()) == [3.0, 3.0, 4.0]
    # with costs, a cheaper subset column survives
    red_cost = reduce_problem(prob, cost=np.array([1.0, 5.0, 5.0, 1.0]))
    assert list(red_cost.columns) == [0, 1, 3]
    # with quota groups, no domination across groups
    red_grp = reduce_problem(prob, group=np.array([0, 1, 0, 0]))
    assert list(red_grp.columns) == [0, 1, 2, 3]


def test_identical_columns_keep_one() -> None:
    a = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]], dtype=bool))
    prob = CoverageProblem(a, np.ones(2), np.zeros(2, bool), np.arange(2), np.arange(3))
    assert list(reduce_problem(prob).columns) == [0, 2]


def test_candidate_that_already_exists_is_not_proposed_again() -> None:
    costs, demand, cands = _random_long(5)
    prob = CoverageProblem.from_cost_matrix(
        costs, demand=demand, candidates=cands, minutes=15, existing_site_ids=["s3"]
    )
    assert "s3" not in set(prob.candidate_ids)
    assert prob.covered_by_existing.any()


def test_from_cost_matrix_errors_name_the_file_and_its_row() -> None:
    costs, demand, cands = _random_long(1)
    cands = cands.assign(cost=[1.0] * (len(cands) - 1) + [-5.0], source_row=np.arange(len(cands)) + 2)
    with pytest.raises(InputError) as info:
        CoverageProblem.from_cost_matrix(
            costs, demand=demand, candidates=cands, minutes=15, candidates_source="候选点.csv", source="times.csv"
        )
    assert info.value.message(lang="en").startswith(
        f"候选点.csv: invalid cost (negative or missing) from row {len(cands) + 1},"
    )
    dup = demand.assign(source_row=np.arange(len(demand)) + 2)
    dup.loc[2, "id"] = dup.loc[1, "id"]
    with pytest.raises(InputError, match=r"需求\.csv 第 4 行起编号重复"):
        CoverageProblem.from_cost_matrix(costs, demand=dup, candidates=cands, minutes=15, demand_source="需求.csv")
