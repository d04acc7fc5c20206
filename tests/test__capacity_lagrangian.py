"""The capacitated p-median's Lagrangian relaxation against independent LPs (scipy's linprog)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from planner.siting._capacity_lagrangian import CapArrays, fixed_sites, relax, subgradient


def _instance(seed: int, m: int = 12, n: int = 6, n_ex: int = 1) -> tuple[CapArrays, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pts, sites = rng.uniform(0, 10, (m, 2)), rng.uniform(0, 10, (n + n_ex, 2))
    dist = np.linalg.norm(pts[:, None] - sites[None], axis=2) * 3.0
    dist[dist > 24.0] = np.inf
    dist[:, n:] = np.minimum(dist[:, n:], 30.0)  # the existing station reaches everyone
    w = rng.integers(1, 100, m).astype(float)
    cap = rng.integers(100, 300, n + n_ex).astype(float)
    cap[n:] = 0.6 * w.sum()  # a large existing station reaching everyone: always feasible, still binding
    r, c = np.nonzero(np.isfinite(dist))
    arr = CapArrays.from_pairs(rows=r, cols=c, minutes=dist[r, c], w=w, capacity=cap, n_new=n)
    return arr, dist, cap


def _site_value(dist: np.ndarray, w: np.ndarray, cap: float, v: np.ndarray, j: int) -> float:
    """Continuous knapsack of site j at multipliers v, as an LP: min sum (t - v) people, people <= w, sum <= cap."""
    ok = np.isfinite(dist[:, j])
    if not ok.any():
        return 0.0
    bounds = list(zip(np.zeros(int(ok.sum())), w[ok], strict=True))
    res = linprog(dist[ok, j] - v[ok], A_ub=np.ones((1, int(ok.sum()))), b_ub=[cap], bounds=bounds, method="highs")
    assert res.status == 0
    return float(res.fun)


def _optimum(dist: np.ndarray, w: np.ndarray, cap: np.ndarray, n: int, p: int) -> float:
    """Brute force: every set of p candidates, its split assignment by linprog."""
    best = np.inf
    for s in itertools.combinations(range(n), p):
        cols = [*s, *range(n, dist.shape[1])]
        d = dist[:, cols]
        ii, jj = np.nonzero(np.isfinite(d))
        a_eq = np.zeros((len(w), len(ii)))
        a_eq[ii, np.arange(len(ii))] = 1.0
        a_ub = np.zeros((len(cols), len(ii)))
        a_ub[jj, np.arange(len(ii))] = w[ii]
        res = linprog(
            w[ii] * d[ii, jj], A_ub=a_ub, b_ub=cap[cols], A_eq=a_eq, b_eq=np.ones(len(w)), bounds=(0, 1), method="highs"
        )
        if res.status == 0:
            best = min(best, float(res.fun))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_site_values_are_the_knapsack_lps(seed: int) -> None:
    arr, dist, cap = _instance(seed)
    rng = np.random.default_rng(100 + seed)
    v = rng.uniform(0, 25, arr.m)
    rel = relax(arr, v, p=2)
    for j in range(arr.n_cols):
        assert rel.rho[j] == pytest.approx(_site_value(dist, arr.w, cap[j], v, j), rel=1e-9, abs=1e-9)
    # the relaxation opens the p most negative candidates; its value adds them and the existing station
    best_two = np.sort(np.minimum(rel.rho[: arr.n_new], 0.0))[:2].sum()
    assert rel.value == pytest.approx(float(arr.w @ v) + rel.rho[arr.n_new :].sum() + best_two)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("p", [1, 2])
def test_every_multiplier_gives_a_lower_bound(seed: int, p: int) -> None:
    arr, dist, cap = _instance(seed)
    opt = _optimum(dist, arr.w, cap, arr.n_new, p)
    assert np.isfinite(opt)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        assert relax(arr, rng.uniform(0, 40, arr.m), p=p).value <= opt * (1 + 1e-9)
    res = subgradient(arr, p=p, v0=np.zeros(arr.m), upper=lambda: opt, deadline=np.inf, target_gap=1e-9, max_iter=3000)
    assert res.bound <= opt * (1 + 1e-9)
    assert res.bound >= 0.9 * opt  # the strong LP bound of these small instances is close
    # a site fixed closed / open by pricing: every plan that opens / closes it is worse than the upper value
    closed, opened = fixed_sites(res.relaxed, bound=res.bound, upper=opt * (1 + 1e-6), n_new=arr.n_new, p=p)
    for j in np.flatnonzero(closed | opened):
        forced = [s for s in itertools.combinations(range(arr.n_new), p) if (j in s) == bool(closed[j])]
        if not forced:
            continue
        sub_best = min(_optimum_of(dist, arr.w, cap, arr.n_new, s) for s in forced)
        assert sub_best >= opt * (1 + 1e-6) * (1 - 1e-9)  # forcing the change costs more than the upper value


def _optimum_of(dist: np.ndarray, w: np.ndarray, cap: np.ndarray, n: int, s: tuple[int, ...]) -> float:
    sub = dist[:, [*s, *range(n, dist.shape[1])]]
    return _optimum(sub, w, cap[[*s, *range(n, dist.shape[1])]], len(s), len(s))
