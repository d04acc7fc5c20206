"""Tests for planner.siting._solvers and its families (_heuristics, _lagrangian, _highs) against brute force."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import scipy.sparse as sp

from planner.siting import _heuristics, _highs, _lagrangian, _solvers


def _instance(seed: int, m: int = 16, n: int = 9) -> tuple[sp.csc_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random((m, n)) < 0.3
    return sp.csc_matrix(a, dtype=np.float64), rng.integers(1, 50, m).astype(float)


def _value(a: sp.csc_matrix, w: np.ndarray, cols: tuple[int, ...] | np.ndarray) -> float:
    dense = a.toarray() > 0
    return float(w[dense[:, list(cols)].any(axis=1)].sum())


def _naive_greedy(a: sp.csc_matrix, w: np.ndarray, p: int) -> float:
    dense = a.toarray() > 0
    covered = np.zeros(len(w), bool)
    for _ in range(p):
        gains = (dense & ~covered[:, None]).T @ w
        covered |= dense[:, int(np.argmax(gains))]
    return float(w[covered].sum())


@pytest.mark.parametrize("seed", range(10))
def test_lazy_greedy_equals_naive_greedy_and_bounds_hold(seed: int) -> None:
    a, w = _instance(seed)
    for p in (1, 2, 4):
        side = _solvers.SideConstraints(p=p)
        sel = _heuristics.greedy_max_cover(a, w, side=side)
        assert len(sel) <= p
        assert _solvers.covered_weight(a, w, sel) == pytest.approx(_naive_greedy(a, w, p))
        best = max(_value(a, w, c) for c in itertools.combinations(range(a.shape[1]), p))
        swapped = _heuristics.swap_improve(a, w, sel if len(sel) == p else np.arange(p), side=side)
        got = _solvers.covered_weight(a, w, swapped)
        assert _solvers.covered_weight(a, w, sel) <= got <= best + 1e-9
        exact = _highs.highs_max_cover(sp.csr_matrix(a), w, side=side, start=swapped)
        assert exact.objective == pytest.approx(best)
        assert _solvers.covered_weight(a, w, exact.selected) == pytest.approx(best)
        lag = _lagrangian.lagrangian_dual(a, w, p=p, lower=got, deadline=time.perf_counter() + 0.2, max_iter=300)[0]
        assert lag >= best - 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_swap_result_is_a_local_optimum(seed: int) -> None:
    a, w = _instance(seed, m=25, n=10)
    p = 3
    side = _solvers.SideConstraints(p=p)
    sel = _heuristics.swap_improve(a, w, np.arange(p), side=side)
    value = _solvers.covered_weight(a, w, sel)
    for j in range(p):
        for k in set(range(10)) - set(sel.tolist()):
            trial = sel.copy()
            trial[j] = k
            assert _solvers.covered_weight(a, w, trial) <= value + 1e-9


def test_feasible_checks_all_constraints() -> None:
    side = _solvers.SideConstraints(
        p=2,
        cost=np.array([1.0, 2.0, 3.0]),
        budget=4.0,
        group=np.array([0, 0, 1]),
        group_min=np.array([0, 1]),
        group_max=np.array([1, 1]),
    )
    assert _solvers.feasible(side, np.array([0, 2]), 3)
    assert not _solvers.feasible(side, np.array([1, 2]), 3)  # over budget
    assert not _solvers.feasible(side, np.array([0, 1]), 3)  # two in group 0, none in group 1
    assert not _solvers.feasible(side, np.array([0]), 3)  # group 1 below its minimum


def test_greedy_cover_reaches_target_and_prunes() -> None:
    a = sp.csc_matrix(np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1]], dtype=float))
    w = np.array([1.0, 1.0, 1.0])
    sel = _heuristics.greedy_cover(a, w, target=3.0, side=_solvers.SideConstraints())
    assert sel is not None and sel.tolist() == [1]


@pytest.mark.parametrize("seed", range(4))
def test_perturb_improve_never_worsens_and_keeps_p_distinct_sites(seed: int) -> None:
    a, w = _instance(seed, m=30, n=12)
    p = 4
    start = np.arange(p)
    out = _heuristics.perturb_improve(a, w, start, deadline=time.perf_counter() + 5.0, seed=seed, max_stall=20)
    assert len(out) == p and len(set(out.tolist())) == p
    best = max(_value(a, w, c) for c in itertools.combinations(range(12), p))
    assert _solvers.covered_weight(a, w, start) <= _solvers.covered_weight(a, w, out) <= best + 1e-9


def _lp_bound(a: sp.csc_matrix, w: np.ndarray, p: int) -> float:
    """LP relaxation of maximal covering by scipy's linprog (independent of the solvers)."""
    from scipy.optimize import linprog

    m, n = a.shape
    cover = sp.hstack([-sp.csr_matrix(a), sp.identity(m)], format="csr")
    card = sp.csr_matrix(np.concatenate([np.ones(n), np.zeros(m)])[None, :])
    res = linprog(
        -np.concatenate([np.zeros(n), w]),
        A_ub=sp.vstack([cover, card], format="csr"),
        b_ub=np.concatenate([np.zeros(m), [p]]),
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0
    return float(-res.fun)


def _weighted_instance(seed: int, *, m: int, n: int, density: float) -> tuple[sp.csc_matrix, np.ndarray]:
    """Sparse random coverage with log-normal weights (bound tests)."""
    rng = np.random.default_rng(seed)
    a = sp.csc_matrix(rng.random((m, n)) < density, dtype=np.float64)
    return a, rng.lognormal(3.0, 1.0, m)


@pytest.mark.parametrize("seed", range(6))
def test_lagrangian_bound_is_above_the_lp_bound_and_close_to_it(seed: int) -> None:
    # every multiplier vector gives at least the LP bound (its minimum), so the returned
    # bound must never be below it, whatever the convergence; with time it gets close
    a, w = _weighted_instance(100 + seed, m=300, n=80, density=0.04)
    p = 6
    lp = _lp_bound(a, w, p)
    for max_iter in (1, 5, 50):
        lag = _lagrangian.lagrangian_dual(a, w, p=p, lower=0.0, deadline=time.perf_counter() + 5.0, max_iter=max_iter)[
            0
        ]
        assert lag >= lp * (1 - 1e-9)
    bound, lam = _lagrangian.lagrangian_dual(a, w, p=p, lower=0.0, deadline=time.perf_counter() + 1.0, max_iter=4000)
    assert lp * (1 - 1e-9) <= bound <= lp * 1.01
    # the multipliers reproduce the bound: sum max(0, w - lam) + p largest column sums
    assert lam.min() >= 0
    score = a.T @ lam
    assert bound == pytest.approx(np.maximum(w - lam, 0).sum() + np.sort(score)[-p:].sum(), rel=1e-9)
    sel = _lagrangian.lagrangian_heuristic(a, w, lam, p=p)
    assert len(set(sel.tolist())) == p
    assert _solvers.covered_weight(a, w, sel) <= bound


@pytest.mark.parametrize("seed", range(4))
def test_lp_relaxation_bound_is_the_lp_value_and_valid_however_short_the_run(seed: int) -> None:
    a, w = _weighted_instance(300 + seed, m=400, n=120, density=0.03)
    p = 7
    lp = _lp_bound(a, w, p)
    out = _highs.highs_lp_relaxation(sp.csr_matrix(a), w, p=p, time_limit_s=30.0)
    assert lp * (1 - 1e-9) <= out.bound <= lp * (1 + 1e-3)
    # the bound is the exact Lagrangian value of the multipliers it returns
    assert out.lam.min() >= 0 and np.all(out.lam <= w)
    score = a.T @ out.lam
    assert out.bound == pytest.approx(np.maximum(w - out.lam, 0).sum() + np.sort(score)[-p:].sum(), rel=1e-9)
    # stopped almost at once: whatever comes back is still a valid bound (or none)
    early = _highs.highs_lp_relaxation(sp.csr_matrix(a), w, p=p, time_limit_s=1e-4)
    assert early.bound >= lp * (1 - 1e-9)
    # the background work runs while HiGHS solves and is told when it stops
    seen: list[bool] = []
    _highs.highs_lp_relaxation(sp.csr_matrix(a), w, p=p, time_limit_s=30.0, background=lambda r: seen.append(r()))
    assert seen == [True] or seen == [False]


@pytest.mark.parametrize("seed", range(20))
def test_lagrangian_bound_never_below_the_brute_force_optimum(seed: int) -> None:
    a, w = _instance(200 + seed, m=20, n=8)
    for p in (0, 1, 3, 5, 8):
        best = max(_value(a, w, c) for c in itertools.combinations(range(8), p)) if p else 0.0
        for max_iter in (1, 3, 40, 400):
            lag = _lagrangian.lagrangian_dual(
                a, w, p=p, lower=0.0, deadline=time.perf_counter() + 1.0, max_iter=max_iter
            )[0]
            assert lag >= best
