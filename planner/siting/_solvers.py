"""Coverage-optimisation solvers on a reduced sparse coverage matrix.

Everything here works on plain arrays, indexed ``0..m-1`` (demand rows) and ``0..n-1``
(candidate columns), after :mod:`planner.siting.models` has validated and reduced the
problem. Two families:

* heuristics, always available: lazy greedy on marginal gains (a heap of upper bounds,
  re-evaluated only when popped) and a vectorised 1-swap local search;
* the exact MIP through HiGHS (``highspy``), passed as CSR arrays in one call and
  warm-started with the heuristic solution; it reports the proven (dual) bound and gap.

Models (``w`` demand weights, ``A`` the 0/1 coverage matrix, ``x`` site choices):

* maximal covering: ``max w·y  s.t.  y_i <= sum_j A_ij x_j,  0 <= y <= 1``;
* set covering: ``min c·x  s.t.  A x >= 1`` (full) or ``w·y >= target`` (partial);

both with optional side constraints :class:`SideConstraints` (cardinality ``p``,
budget on ``c·x``, minimum / maximum number of sites per candidate group).
``y`` may stay continuous: for integral ``x`` the optimum sets ``y_i = min(1, A_i x)``.
"""

from __future__ import annotations

import functools
import heapq
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from planner._errors import SitingError, SolverError

logger = logging.getLogger(__name__)

#: Relative tolerance when comparing covered weights (sums of populations).
WEIGHT_RTOL = 1e-9
#: Upper limit of 1-swap rounds in the local search (each round applies one swap).
MAX_SWAP_ROUNDS = 10_000
#: Seconds HiGHS may run past its time limit before it is cancelled.
CANCEL_GRACE_S = 0.1
#: Optimality tolerance of the interior-point LP relaxation (the bound is exact for the
#: duals it returns; a looser tolerance is faster and leaves the bound a little higher).
LP_IPM_TOLERANCE = 1e-4

#: Work run in the calling thread while HiGHS solves; gets a "HiGHS still running" test.
Background = Callable[[Callable[[], bool]], None]


@dataclass(frozen=True, eq=False)
class SideConstraints:
    """Constraints on the chosen columns, shared by heuristics and the MIP.

    Parameters
    ----------
    p
        Maximum number of sites (``None``: no limit).
    cost
        Cost per column (``None``: every site costs 1).
    budget
        Maximum total cost (``None``: no budget).
    group
        Group code ``0..G-1`` per column (``None``: no group quotas).
    group_min, group_max
        Minimum / maximum number of sites per group code (length ``G``).
    """

    p: int | None = None
    cost: NDArray[np.float64] | None = None
    budget: float | None = None
    group: NDArray[np.int64] | None = None
    group_min: NDArray[np.int64] | None = None
    group_max: NDArray[np.int64] | None = None

    @property
    def has_quotas(self) -> bool:
        """Whether any group minimum or maximum applies."""
        return self.group is not None

    def costs(self, n: int) -> NDArray[np.float64]:
        """Return the cost vector (ones when no cost is given)."""
        return np.ones(n) if self.cost is None else self.cost


@dataclass(frozen=True)
class SolverOutput:
    """What a solver returns, in reduced-problem terms.

    ``objective`` and ``bound`` are for the model solved (covered weight for maximal
    covering, number or cost of sites for set covering), including ``offset``.
    """

    selected: NDArray[np.int64]
    objective: float
    bound: float
    status: str
    solver: str
    seconds: float


# --------------------------------------------------------------------------- helpers


def covered_weight(a_csc: sp.csc_matrix, w: NDArray[np.float64], selected: NDArray[np.int64]) -> float:
    """Total weight of rows covered by at least one selected column."""
    if len(selected) == 0:
        return 0.0
    hit = np.zeros(a_csc.shape[0], dtype=bool)
    hit[a_csc[:, selected].indices] = True
    return float(w[hit].sum())


def _group_counts(side: SideConstraints, selected: NDArray[np.int64]) -> NDArray[np.int64]:
    assert side.group is not None and side.group_max is not None
    return np.bincount(side.group[selected], minlength=len(side.group_max)).astype(np.int64)


def feasible(side: SideConstraints, selected: NDArray[np.int64], n: int) -> bool:
    """Whether ``selected`` satisfies the cardinality, budget and quota constraints."""
    if side.p is not None and len(selected) > side.p:
        return False
    if side.budget is not None:
        total = float(side.costs(n)[selected].sum())
        if total > side.budget * (1 + WEIGHT_RTOL) + WEIGHT_RTOL:
            return False
    if side.has_quotas:
        assert side.group_min is not None and side.group_max is not None
        cnt = _group_counts(side, selected)
        if np.any(cnt < side.group_min) or np.any(cnt > side.group_max):
            return False
    return True


# --------------------------------------------------------------------------- greedy


def greedy_max_cover(a_csc: sp.csc_matrix, w: NDArray[np.float64], *, side: SideConstraints) -> NDArray[np.int64]:
    """Lazy greedy for maximal covering under the side constraints.

    Picks the column with the largest marginal covered weight (divided by cost when a
    budget applies) until ``p`` sites, the budget or the gains run out. Group minima are
    honoured by restricting the choice to groups still short of their minimum as soon as
    the remaining slots are needed for them. With a budget, the best single affordable
    site is returned instead when it covers more (the classic 1/2-approximation fix).

    Returns
    -------
    numpy.ndarray
        Selected column indices in pick order.
    """
    n = a_csc.shape[1]
    cost = side.costs(n)
    use_ratio = side.budget is not None and side.cost is not None
    gains = np.asarray(a_csc.T @ w).ravel()
    keys = gains / np.maximum(cost, 1e-12) if use_ratio else gains
    selected = _lazy_greedy(a_csc, w, keys=keys, side=side, use_ratio=use_ratio, target=None)
    if side.budget is not None:
        affordable = np.flatnonzero(cost <= side.budget * (1 + WEIGHT_RTOL))
        if side.has_quotas:
            affordable = affordable[[feasible(side, np.array([j]), n) for j in affordable]]
        if len(affordable):
            best = affordable[np.argmax(gains[affordable])]
            if gains[best] > covered_weight(a_csc, w, selected) + WEIGHT_RTOL * max(1.0, float(gains[best])):
                selected = np.array([best], dtype=np.int64)
    return selected


def greedy_cover(
    a_csc: sp.csc_matrix, w: NDArray[np.float64], *, target: float, side: SideConstraints
) -> NDArray[np.int64] | None:
    """Greedy (partial) set covering: reach covered weight ``target`` at least cost.

    Picks by ``min(gain, remaining) / cost`` until the target is met, then drops
    redundant sites (most expensive first). Returns ``None`` when the heuristic finds
    no solution satisfying the side constraints.
    """
    n = a_csc.shape[1]
    cost = side.costs(n)
    gains = np.asarray(a_csc.T @ w).ravel()
    keys = np.minimum(gains, target) / np.maximum(cost, 1e-12)
    selected = _lazy_greedy(a_csc, w, keys=keys, side=side, use_ratio=True, target=target)
    if covered_weight(a_csc, w, selected) < target * (1 - WEIGHT_RTOL):
        return None
    selected = _prune(a_csc, w, selected, target=target, side=side)
    return selected if feasible(side, selected, n) else None


def _lazy_greedy(
    a_csc: sp.csc_matrix,
    w: NDArray[np.float64],
    *,
    keys: NDArray[np.float64],
    side: SideConstraints,
    use_ratio: bool,
    target: float | None,
) -> NDArray[np.int64]:
    n = a_csc.shape[1]
    indptr, indices = a_csc.indptr, a_csc.indices
    cost = side.costs(n)
    covered = np.zeros(a_csc.shape[0], dtype=bool)
    p_limit = n if side.p is None else min(side.p, n)
    spent, got = 0.0, 0.0
    gmin = side.group_min if side.group_min is not None else np.zeros(0, dtype=np.int64)
    gmax = side.group_max if side.group_max is not None else np.zeros(0, dtype=np.int64)
    gcount = np.zeros(len(gmin), dtype=np.int64)
    group = side.group
    selected: list[int] = []
    heap = [(-float(k), int(j)) for j, k in enumerate(keys)]
    heapq.heapify(heap)
    scale = max(1.0, float(w.sum()))
    while heap and len(selected) < p_limit:
        if target is not None and got >= target * (1 - WEIGHT_RTOL):
            break
        _, j = heapq.heappop(heap)
        if side.budget is not None and spent + cost[j] > side.budget * (1 + WEIGHT_RTOL) + WEIGHT_RTOL:
            continue  # budget only shrinks: never affordable again
        if group is not None:
            g = group[j]
            if gcount[g] >= gmax[g]:
                continue
            short = np.maximum(gmin - gcount, 0)
            if side.p is not None and short.sum() >= p_limit - len(selected) and short[g] == 0:
                continue  # remaining slots are needed for groups below their minimum
        rows = indices[indptr[j] : indptr[j + 1]]
        gain = float(w[rows][~covered[rows]].sum())
        gain_key = min(gain, target - got) if target is not None else gain
        key = gain_key / max(float(cost[j]), 1e-12) if use_ratio else gain_key
        if heap and key < -heap[0][0] - WEIGHT_RTOL * scale:
            heapq.heappush(heap, (-key, j))  # stale upper bound: re-queue with the true value
            continue
        needs_min = group is not None and bool(np.any(gcount < gmin))
        if gain <= WEIGHT_RTOL * scale and not needs_min:
            break
        if gain <= WEIGHT_RTOL * scale and group is not None and gcount[group[j]] >= gmin[group[j]]:
            continue
        selected.append(j)
        covered[rows] = True
        got += gain
        spent += float(cost[j])
        if group is not None:
            gcount[group[j]] += 1
    return np.array(selected, dtype=np.int64)


def _prune(
    a_csc: sp.csc_matrix,
    w: NDArray[np.float64],
    selected: NDArray[np.int64],
    *,
    target: float,
    side: SideConstraints,
) -> NDArray[np.int64]:
    """Drop sites not needed to keep ``target`` covered, most expensive first."""
    n = a_csc.shape[1]
    cost = side.costs(n)
    keep = list(selected[np.argsort(-cost[selected], kind="stable")])
    i = 0
    while i < len(keep):
        trial = np.array(keep[:i] + keep[i + 1 :], dtype=np.int64)
        ok = covered_weight(a_csc, w, trial) >= target * (1 - WEIGHT_RTOL)
        if ok and side.has_quotas:
            assert side.group_min is not None
            ok = bool(np.all(_group_counts(side, trial) >= side.group_min))
        if ok:
            keep.pop(i)
        else:
            i += 1
    return np.array(keep, dtype=np.int64)


# --------------------------------------------------------------------------- local search


def swap_improve(
    a_csc: sp.csc_matrix,
    w: NDArray[np.float64],
    selected: NDArray[np.int64],
    *,
    side: SideConstraints,
    deadline: float | None = None,
    a_csr: sp.csr_matrix | None = None,
) -> NDArray[np.int64]:
    """1-swap local search for maximal covering (best improving swap per round).

    For the current selection ``S`` with cover counts ``c``, swapping ``j in S`` for
    ``k not in S`` changes the covered weight by ``g0[k] + M[j, k] - L[j]``, where
    ``g0 = A^T (w * [c == 0])``, ``L[j]`` is the weight only ``j`` covers and
    ``M = (A_S * w * [c == 1])^T A``. One sparse product per round evaluates all
    ``|S| * n`` swaps; infeasible swaps (quotas, budget) are masked out. ``a_csr`` is
    ``a_csc`` in CSR form when the caller has it (the product needs it).
    """
    n = a_csc.shape[1]
    sel = np.array(selected, dtype=np.int64)
    if len(sel) == 0 or len(sel) >= n:
        return sel
    cost = side.costs(n)
    tol = WEIGHT_RTOL * max(1.0, float(w.sum()))
    if a_csr is None:
        a_csr = sp.csr_matrix(a_csc)
    for _ in range(MAX_SWAP_ROUNDS):
        if deadline is not None and time.perf_counter() > deadline:
            logger.info("swap search stopped at the time limit")
            break
        a_s = a_csc[:, sel]
        cnt = np.asarray(a_s.sum(axis=1)).ravel()
        g0 = np.asarray(a_csc.T @ (w * (cnt == 0))).ravel()
        b = sp.csc_matrix(a_s.multiply((w * (cnt == 1))[:, None]))
        loss = np.asarray(b.sum(axis=0)).ravel()
        delta = (b.T @ a_csr).toarray() + g0[None, :] - loss[:, None]
        delta[:, sel] = -np.inf
        if side.budget is not None:
            total = float(cost[sel].sum())
            over = total - cost[sel][:, None] + cost[None, :] > side.budget * (1 + WEIGHT_RTOL) + WEIGHT_RTOL
            delta[over] = -np.inf
        if side.has_quotas:
            assert side.group is not None and side.group_min is not None and side.group_max is not None
            gcnt = _group_counts(side, sel)
            gj, gk = side.group[sel], side.group
            can_leave = gcnt[gj] > side.group_min[gj]
            can_enter = gcnt[gk] < side.group_max[gk]
            ok = (gj[:, None] == gk[None, :]) | (can_leave[:, None] & can_enter[None, :])
            delta[~ok] = -np.inf
        flat = int(np.argmax(delta))
        jj, k = divmod(flat, n)
        if not delta[jj, k] > tol:
            break
        sel[jj] = k
    return sel


def perturb_improve(
    a_csc: sp.csc_matrix,
    w: NDArray[np.float64],
    selected: NDArray[np.int64],
    *,
    deadline: float,
    seed: int = 0,
    max_stall: int = 200,
    should_stop: Callable[[], bool] | None = None,
) -> NDArray[np.int64]:
    """Iterated local search for plain maximal covering (cardinality constraint only).

    Repeatedly drops ``k`` random sites of the best selection, refills them greedily
    (choosing at random among the three best marginal gains) and runs
    :func:`swap_improve`; keeps the result when it covers more. Stops at ``deadline``
    or after ``max_stall`` rounds without improvement. Seeded, so a given number of
    rounds is reproducible.
    """
    p = len(selected)
    n = a_csc.shape[1]
    if p == 0 or p >= n:
        return selected
    rng = np.random.default_rng(seed)
    side = SideConstraints(p=p)
    a_csr = sp.csr_matrix(a_csc)
    best = np.array(selected, dtype=np.int64)
    best_value = covered_weight(a_csc, w, best)
    k = max(1, min(p, max(2, p // 10)))
    stall = 0
    tol = WEIGHT_RTOL * max(1.0, float(w.sum()))
    while time.perf_counter() < deadline and stall < max_stall:
        if should_stop is not None and should_stop():
            break
        drop = rng.choice(p, size=k, replace=False)
        kept = np.delete(best, drop)
        covered = np.zeros(a_csc.shape[0], dtype=bool)
        covered[a_csc[:, kept].indices] = True
        chosen = np.zeros(n, dtype=bool)
        chosen[kept] = True
        added: list[int] = []
        for _ in range(k):
            gains = np.asarray(a_csc.T @ (w * ~covered)).ravel()
            gains[chosen] = -np.inf
            top = np.argpartition(-gains, min(2, n - 1))[:3]
            top = top[np.isfinite(gains[top])]
            j = int(rng.choice(top))
            added.append(j)
            chosen[j] = True
            covered[a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]]] = True
        trial = np.concatenate([kept, added]).astype(np.int64)
        trial = swap_improve(a_csc, w, trial, side=side, deadline=deadline, a_csr=a_csr)
        value = covered_weight(a_csc, w, trial)
        if value > best_value + tol:
            best, best_value, stall = trial, value, 0
        else:
            stall += 1
    return best


# --------------------------------------------------------------------------- Lagrangian bound


def lagrangian_dual(
    a_csc: sp.csc_matrix,
    w: NDArray[np.float64],
    *,
    p: int,
    lower: float,
    deadline: float,
    max_iter: int = 3000,
    should_stop: Callable[[], bool] | None = None,
    on_level: Callable[[NDArray[np.float64]], None] | None = None,
) -> tuple[float, NDArray[np.float64]]:
    """Upper bound for maximal covering with ``p`` sites by Lagrangian relaxation, and its multipliers.

    Relaxing ``y_i <= A_i x`` with multipliers ``0 <= lam <= w`` gives
    ``Z(lam) = sum_i (w_i - lam_i) + sum of the p largest (A^T lam)_j``, an upper bound
    for every such ``lam`` (its minimum is the LP bound). ``Z`` is minimised through
    its entropic smoothing (:func:`_smoothed_dual`, within ``tau (m + n) log 2`` of
    ``Z``) by accelerated projected gradient (FISTA with backtracking and restarts),
    lowering ``tau`` step by step; every evaluation also computes the exact ``Z``, and
    the smallest one is returned, so the result is a valid bound whatever the
    convergence. Each evaluation is two sparse products and a partial sort. Stops at
    ``deadline``, after ``max_iter`` evaluations, when ``should_stop()`` or when the
    bound reaches ``lower``.

    ``on_level(lam)`` is called with the best multipliers so far after each completed
    smoothing level (primal hints for :func:`lagrangian_heuristic`).
    """
    m, n = a_csc.shape
    if m == 0 or p >= n:
        return float(w.sum()), np.zeros(m)
    if p <= 0:
        return 0.0, np.asarray(w, dtype=np.float64).copy()
    a_t = sp.csr_matrix(a_csc.T)
    a_csr = sp.csr_matrix(a_csc)
    scale = max(float(np.mean(w)), 1e-12)
    best_z, best_lam = float(w.sum()), np.zeros(m)  # lam = 0 gives the trivial bound sum(w)
    evals = 0
    t_start = time.perf_counter()
    stop_at = lower * (1 + 1e-7) if lower > 0 else -np.inf

    def evaluate(lam: NDArray[np.float64], tau: float) -> tuple[float, NDArray[np.float64]]:
        nonlocal best_z, best_lam, evals
        evals += 1
        score = a_t @ lam
        # momentum steps may leave the box: the bound is only valid for lam >= 0
        # (the projected points, most of those evaluated, are inside)
        if bool(lam.min() >= 0.0):
            z = _lagrangian_value(w, lam, score, p=p)
            if z < best_z:
                best_z, best_lam = z, lam
        return _smoothed_dual(a_csr, w, lam, score, p=p, tau=tau)

    def done() -> bool:
        return (
            evals >= max_iter
            or time.perf_counter() > deadline
            or best_z <= stop_at
            or (should_stop is not None and should_stop())
        )

    lam = 0.5 * w
    # the levels share the time (and max_iter) equally; the last one runs until the end
    span = max(deadline - t_start, 0.0)
    slice_s = span / len(LAGRANGE_TAUS)
    iters = max(10, max_iter // (3 * len(LAGRANGE_TAUS)))
    for level, tau_rel in enumerate(LAGRANGE_TAUS):
        if done():
            break
        tau = tau_rel * scale
        last = level == len(LAGRANGE_TAUS) - 1
        level_end = t_start + (level + 1) * slice_s

        def level_done(level_end: float = level_end, last: bool = last) -> bool:
            return done() or (not last and time.perf_counter() > level_end)

        lam = _fista(evaluate, lam, w, tau=tau, iters=10**9 if last else iters, done=level_done)
        if on_level is not None and not last and not done():
            on_level(best_lam)
    logger.info("Lagrangian bound %.9g after %d evaluations in %.2f s", best_z, evals, time.perf_counter() - t_start)
    return _with_margin(best_z), best_lam


def _lagrangian_value(w: NDArray[np.float64], lam: NDArray[np.float64], score: NDArray[np.float64], *, p: int) -> float:
    """Exact ``Z(lam) = sum_i max(0, w_i - lam_i) + sum of the p largest scores`` (``score = A^T lam``)."""
    n = len(score)
    return float(np.maximum(w - lam, 0.0).sum() + np.partition(score, n - p)[n - p :].sum())


def _with_margin(bound: float) -> float:
    """``bound`` plus a margin for the rounding of its sums (it must never fall below the optimum)."""
    return bound + 1e-10 * max(1.0, abs(bound))


def lagrangian_heuristic(
    a_csc: sp.csc_matrix,
    w: NDArray[np.float64],
    lam: NDArray[np.float64],
    *,
    p: int,
    deadline: float | None = None,
) -> NDArray[np.int64]:
    """Primal solution from Lagrangian multipliers.

    Takes the ``p`` columns with the largest ``(A^T lam)_j`` (the relaxation's choice)
    and improves them by :func:`swap_improve`.
    """
    n = a_csc.shape[1]
    p = min(max(p, 0), n)
    if p == 0:
        return np.zeros(0, dtype=np.int64)
    score = np.asarray(a_csc.T @ lam).ravel()
    top = np.argpartition(-score, p - 1)[:p].astype(np.int64)
    return swap_improve(a_csc, w, top, side=SideConstraints(p=p), deadline=deadline)


#: Smoothing levels of the Lagrangian dual (times the mean weight), each given an
#: equal share of the time; the last one runs until the end.
LAGRANGE_TAUS = (0.03, 0.003)


def _smoothed_dual(
    a_csr: sp.csr_matrix,
    w: NDArray[np.float64],
    lam: NDArray[np.float64],
    score: NDArray[np.float64],
    *,
    p: int,
    tau: float,
) -> tuple[float, NDArray[np.float64]]:
    """Entropic smoothing of the Lagrangian dual and its gradient in ``lam``.

    ``max(0, t) ~ tau softplus(t / tau)`` and the sum of the ``p`` largest scores
    ``~ min_theta p theta + sum_j tau softplus((score_j - theta) / tau)`` (``theta`` by
    safeguarded Newton on ``sum_j expit((score_j - theta) / tau) = p``).
    """
    from scipy.special import expit  # 0.06 s to import: only the solvers need it, not the app's start

    n = len(score)
    kth = float(np.partition(score, n - p)[n - p])
    near = score[score > kth - 40 * tau]
    lo, hi, theta = kth - 40 * tau, float(score.max()) + 40 * tau, kth
    for _ in range(60):
        x = expit((near - theta) / tau)
        g = float(x.sum()) - p
        if abs(g) < 1e-9 * p:
            break
        if g > 0:
            lo = theta
        else:
            hi = theta
        d = float((x * (1 - x)).sum()) / tau
        step = theta + g / d if d > 0 else np.nan
        theta = step if lo < step < hi else 0.5 * (lo + hi)
    x_all = expit((score - theta) / tau)
    value = float(
        tau * np.logaddexp(0.0, (w - lam) / tau).sum()
        + p * theta
        + tau * np.logaddexp(0.0, (score - theta) / tau).sum()
    )
    grad = np.asarray(a_csr @ x_all).ravel() - expit((w - lam) / tau)
    return value, grad


def _fista(
    evaluate: Callable[[NDArray[np.float64], float], tuple[float, NDArray[np.float64]]],
    lam: NDArray[np.float64],
    w: NDArray[np.float64],
    *,
    tau: float,
    iters: int,
    done: Callable[[], bool],
) -> NDArray[np.float64]:
    """Accelerated projected gradient on ``[0, w]`` with backtracking and restarts."""
    lip = 1.0 / tau
    x, y, t = lam, lam, 1.0
    fy, gy = evaluate(y, tau)
    fx_prev = np.inf
    for _ in range(iters):
        while True:
            xn = np.clip(y - gy / lip, 0.0, w)
            fx, gx = evaluate(xn, tau)
            d = xn - y
            if fx <= fy + float(gy @ d) + 0.5 * lip * float(d @ d) + 1e-12 * abs(fy) or done():
                break
            lip *= 2.0
        tn = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        if fx > fx_prev:  # restart the momentum when the objective goes up
            y, tn = xn, 1.0
            fy, gy = fx, gx
        else:
            y = xn + (t - 1.0) / tn * (xn - x)
            fy, gy = evaluate(y, tau) if t > 1.0 else (fx, gx)
        fx_prev, x, t = fx, xn, tn
        lip *= 0.9
        if done():
            break
    return x


# --------------------------------------------------------------------------- HiGHS


def _side_rows(side: SideConstraints, n: int, n_cols: int) -> tuple[sp.csr_matrix, list[float], list[float]]:
    """Rows for cardinality, budget and group quotas over the first ``n`` columns."""
    blocks: list[sp.csr_matrix] = []
    lo: list[float] = []
    hi: list[float] = []
    inf = np.inf
    if side.p is not None:
        blocks.append(sp.csr_matrix((np.ones(n), (np.zeros(n, dtype=np.int64), np.arange(n))), shape=(1, n_cols)))
        lo.append(-inf)
        hi.append(float(side.p))
    if side.budget is not None:
        c = side.costs(n)
        blocks.append(sp.csr_matrix((c, (np.zeros(n, dtype=np.int64), np.arange(n))), shape=(1, n_cols)))
        lo.append(-inf)
        hi.append(float(side.budget))
    if side.has_quotas:
        assert side.group is not None and side.group_min is not None and side.group_max is not None
        n_groups = len(side.group_min)
        blocks.append(sp.csr_matrix((np.ones(n), (side.group, np.arange(n))), shape=(n_groups, n_cols)))
        lo.extend(side.group_min.astype(float).tolist())
        big = np.iinfo(np.int64).max // 2
        hi.extend([inf if v >= big else float(v) for v in side.group_max])
    if not blocks:
        return sp.csr_matrix((0, n_cols)), lo, hi
    return sp.csr_matrix(sp.vstack(blocks, format="csr")), lo, hi


def _max_cover_rows(
    a_csr: sp.csr_matrix, side: SideConstraints
) -> tuple[sp.csr_matrix, NDArray[np.float64], NDArray[np.float64]]:
    """Rows of maximal covering over the columns ``[x (n), y (m)]`` and their bounds.

    The first ``m`` rows are ``y_i - A_i x <= 0``, then the side constraints' rows.
    """
    m, n = a_csr.shape
    cover_rows = sp.hstack([-a_csr, sp.identity(m, format="csr")], format="csr")
    extra, lo, hi = _side_rows(side, n, n + m)
    rows = sp.csr_matrix(sp.vstack([cover_rows, extra], format="csr"))
    return rows, np.concatenate([np.full(m, -np.inf), lo]), np.concatenate([np.zeros(m), hi])


def highs_max_cover(
    a_csr: sp.csr_matrix,
    w: NDArray[np.float64],
    *,
    side: SideConstraints,
    offset: float = 0.0,
    start: NDArray[np.int64] | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 1e-6,
    background: Background | None = None,
) -> SolverOutput:
    """Solve maximal covering exactly with HiGHS (``max offset + w·y``).

    ``background(running)`` runs in the calling thread while HiGHS solves in its own
    (e.g. local search and a Lagrangian bound on the second core); ``running()`` tells
    whether HiGHS is still busy.
    """
    m, n = a_csr.shape
    rows, row_lo, row_hi = _max_cover_rows(a_csr, side)
    obj = np.concatenate([np.zeros(n), w])
    col_hi = np.ones(n + m)
    integrality = np.concatenate([np.ones(n, dtype=np.int32), np.zeros(m, dtype=np.int32)])
    start_vals = None
    if start is not None:
        x0 = np.zeros(n)
        x0[start] = 1.0
        y0 = np.minimum(np.asarray(a_csr @ x0).ravel(), 1.0)
        start_vals = np.concatenate([x0, y0])
    return _run_highs(
        obj=obj,
        maximise=True,
        offset=offset,
        col_hi=col_hi,
        integrality=integrality,
        rows=rows,
        row_lo=row_lo,
        row_hi=row_hi,
        n_x=n,
        start=start_vals,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        background=background,
    )


@dataclass(frozen=True)
class LPRelaxation:
    """Maximal-covering LP relaxation solved by HiGHS's interior-point method.

    ``bound`` is the exact Lagrangian value ``Z(lam)`` (see :func:`lagrangian_dual`)
    of the solver's row duals clipped to ``[0, w]``: a valid upper bound however
    accurate the interior-point solution is (``inf`` when HiGHS returned nothing).
    """

    bound: float
    lam: NDArray[np.float64]
    status: str
    seconds: float


def highs_lp_relaxation(
    a_csr: sp.csr_matrix,
    w: NDArray[np.float64],
    *,
    p: int,
    time_limit_s: float,
    background: Background | None = None,
) -> LPRelaxation:
    """Solve the LP relaxation of maximal covering with ``p`` sites (interior point, no crossover).

    On models too large for HiGHS's MIP to finish even its root LP (dual simplex)
    within the limit, the interior-point method still reaches the LP optimum, and its
    duals give a bound at most the LP value plus the solver's tolerance.
    ``background(running)`` runs in the calling thread meanwhile.
    """
    import highspy

    m, n = a_csr.shape
    t0 = time.perf_counter()
    rows, row_lo, row_hi = _max_cover_rows(a_csr, SideConstraints(p=p))
    rows.sort_indices()
    inf = highspy.kHighsInf
    h = _quiet_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    h.setOptionValue("ipm_optimality_tolerance", LP_IPM_TOLERANCE)
    status = h.passModel(
        int(n + m),
        int(rows.shape[0]),
        int(rows.nnz),
        int(highspy.MatrixFormat.kRowwise),
        int(highspy.ObjSense.kMaximize),
        0.0,
        np.concatenate([np.zeros(n), w]).astype(np.float64),
        np.zeros(n + m),
        np.ones(n + m),
        np.where(np.isinf(row_lo), -inf, row_lo),
        row_hi,
        rows.indptr.astype(np.int32),
        rows.indices.astype(np.int32),
        rows.data.astype(np.float64),
        np.zeros(n + m, dtype=np.int32),  # all continuous
    )
    if status == highspy.HighsStatus.kError:
        raise SolverError("siting.error.solver_failed", status="passModel", solver="HiGHS")
    _solve_in_thread(h, t0=t0, time_limit_s=time_limit_s, background=background)
    seconds = time.perf_counter() - t0
    label = h.modelStatusToString(h.getModelStatus())
    sol = h.getSolution()
    duals = np.asarray(sol.row_dual, dtype=np.float64)
    if len(duals) != rows.shape[0] or not sol.dual_valid:
        logger.info("LP relaxation gave no duals (%s, %.2f s)", label, seconds)
        return LPRelaxation(np.inf, np.zeros(m), label, seconds)
    a_t = sp.csr_matrix(a_csr.T)
    best, best_lam = np.inf, np.zeros(m)
    for sign in (1.0, -1.0):  # the sign convention of row duals for maximisation
        lam = np.clip(sign * duals[:m], 0.0, w)
        z = _lagrangian_value(w, lam, np.asarray(a_t @ lam).ravel(), p=p)
        if z < best:
            best, best_lam = z, lam
    logger.info("LP relaxation (interior point, %s) bound %.9g in %.2f s", label, best, seconds)
    return LPRelaxation(_with_margin(best), best_lam, label, seconds)


def highs_cover(
    a_csr: sp.csr_matrix,
    w: NDArray[np.float64],
    *,
    target: float | None,
    side: SideConstraints,
    objective_cost: NDArray[np.float64],
    start: NDArray[np.int64] | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 1e-6,
) -> SolverOutput:
    """Solve (partial) set covering exactly.

    ``min objective_cost·x`` with ``A x >= 1`` (``target`` is ``None``) or
    ``w·y >= target``, under the side constraints (the budget row uses ``side.cost``).
    """
    m, n = a_csr.shape
    if target is None:
        n_cols = n
        extra, lo, hi = _side_rows(side, n, n_cols)
        rows = sp.csr_matrix(sp.vstack([a_csr, extra], format="csr"))
        row_lo = np.concatenate([np.ones(m), lo])
        row_hi = np.concatenate([np.full(m, np.inf), hi])
        obj = objective_cost.astype(float)
        integrality = np.ones(n, dtype=np.int32)
    else:
        n_cols = n + m
        extra, lo, hi = _side_rows(side, n, n_cols)
        cover_rows = sp.hstack([-a_csr, sp.identity(m, format="csr")], format="csr")
        target_row = sp.csr_matrix(
            (w, (np.zeros(m, dtype=np.int64), n + np.arange(m))),
            shape=(1, n_cols),
        )
        rows = sp.csr_matrix(sp.vstack([cover_rows, target_row, extra], format="csr"))
        row_lo = np.concatenate([np.full(m, -np.inf), [target], lo])
        row_hi = np.concatenate([np.zeros(m), [np.inf], hi])
        obj = np.concatenate([objective_cost.astype(float), np.zeros(m)])
        integrality = np.concatenate([np.ones(n, dtype=np.int32), np.zeros(m, dtype=np.int32)])
    start_vals = None
    if start is not None:
        x0 = np.zeros(n)
        x0[start] = 1.0
        start_vals = x0 if target is None else np.concatenate([x0, np.minimum(np.asarray(a_csr @ x0).ravel(), 1.0)])
    return _run_highs(
        obj=obj,
        maximise=False,
        offset=0.0,
        col_hi=np.ones(n_cols),
        integrality=integrality,
        rows=rows,
        row_lo=row_lo,
        row_hi=row_hi,
        n_x=n,
        start=start_vals,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
    )


def _run_highs(
    *,
    obj: NDArray[np.float64],
    maximise: bool,
    offset: float,
    col_hi: NDArray[np.float64],
    integrality: NDArray[np.int32],
    rows: sp.csr_matrix,
    row_lo: NDArray[np.float64],
    row_hi: NDArray[np.float64],
    n_x: int,
    start: NDArray[np.float64] | None,
    time_limit_s: float,
    mip_rel_gap: float,
    background: Background | None = None,
) -> SolverOutput:
    t0 = time.perf_counter()
    solve = functools.partial(
        _highs_once,
        obj=obj,
        maximise=maximise,
        offset=offset,
        col_hi=col_hi,
        integrality=integrality,
        rows=rows,
        row_lo=row_lo,
        row_hi=row_hi,
        n_x=n_x,
        mip_rel_gap=mip_rel_gap,
    )
    out = solve(start=start, time_limit_s=time_limit_s, background=background)
    x_obj, reported, selected, bound, label = out
    tol = 1e-6 * max(1.0, abs(reported))
    if start is not None and abs(x_obj - reported) > tol:
        # HiGHS 1.16 with presolve can report the improved objective while returning the
        # warm-start columns; solve again without the start and trust only what x gives.
        logger.warning("HiGHS returned a solution inconsistent with its objective; solving again without warm start")
        remaining = max(time_limit_s - (time.perf_counter() - t0), 0.1)
        x_obj2, _, selected2, bound2, label2 = solve(start=None, time_limit_s=remaining)
        better = x_obj2 > x_obj if maximise else x_obj2 < x_obj
        if better or x_obj2 == x_obj:
            x_obj, selected, label = x_obj2, selected2, label2
        bound = min(bound, bound2) if maximise else max(bound, bound2)
        if abs(x_obj - bound) <= tol:
            label = "optimal"
    return SolverOutput(selected, x_obj, bound, label, "highs", time.perf_counter() - t0)


def _highs_once(
    *,
    obj: NDArray[np.float64],
    maximise: bool,
    offset: float,
    col_hi: NDArray[np.float64],
    integrality: NDArray[np.int32],
    rows: sp.csr_matrix,
    row_lo: NDArray[np.float64],
    row_hi: NDArray[np.float64],
    n_x: int,
    start: NDArray[np.float64] | None,
    time_limit_s: float,
    mip_rel_gap: float,
    background: Background | None = None,
) -> tuple[float, float, NDArray[np.int64], float, str]:
    """One HiGHS run: (objective of returned x, reported objective, selected, bound, status)."""
    import highspy

    t0 = time.perf_counter()
    h = _quiet_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("random_seed", 0)
    inf = highspy.kHighsInf
    rows.sort_indices()
    n_cols = len(obj)
    status = h.passModel(
        int(n_cols),
        int(rows.shape[0]),
        int(rows.nnz),
        int(highspy.MatrixFormat.kRowwise),
        int(highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize),
        float(offset),
        np.ascontiguousarray(obj, dtype=np.float64),
        np.zeros(n_cols),
        np.ascontiguousarray(col_hi, dtype=np.float64),
        np.where(np.isinf(row_lo), -inf, row_lo).astype(np.float64),
        np.where(np.isinf(row_hi), inf, row_hi).astype(np.float64),
        rows.indptr.astype(np.int32),
        rows.indices.astype(np.int32),
        rows.data.astype(np.float64),
        np.ascontiguousarray(integrality, dtype=np.int32),
    )
    if status == highspy.HighsStatus.kError:
        raise SolverError("siting.error.solver_failed", status="passModel", solver="HiGHS")
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = start.tolist()
        h.setSolution(sol)
    # solve in HiGHS's own thread so that the time limit is enforced by cancelling
    # (HiGHS can overrun its own limit in presolve / the root LP) and so that
    # ``background`` can use the calling thread meanwhile
    _solve_in_thread(h, t0=t0, time_limit_s=time_limit_s, background=background)
    model_status = h.getModelStatus()
    info = h.getInfo()
    seconds = time.perf_counter() - t0
    ms = highspy.HighsModelStatus
    if model_status == ms.kInfeasible:
        raise SitingError("siting.error.infeasible_constraints")
    has_solution = info.primal_solution_status == highspy.kSolutionStatusFeasible
    if model_status not in (ms.kOptimal, ms.kTimeLimit, ms.kIterationLimit, ms.kSolutionLimit, ms.kInterrupt):
        raise SolverError("siting.error.solver_failed", status=h.modelStatusToString(model_status), solver="HiGHS")
    if not has_solution:
        raise SolverError("siting.error.no_solution", seconds=round(seconds, 1), solver="HiGHS")
    if model_status == ms.kInterrupt:
        logger.info("HiGHS cancelled %.1f s after its time limit", seconds - time_limit_s)
    x = np.asarray(h.getSolution().col_value)
    x_int = np.where(integrality == 1, np.round(x), x)
    x_obj = float(offset + obj @ x_int)
    selected = np.flatnonzero(x[:n_x] > 0.5).astype(np.int64)
    reported = float(info.objective_function_value)
    bound = float(info.mip_dual_bound)
    if model_status == ms.kOptimal and not np.isfinite(bound):
        bound = reported
    label = "optimal" if model_status == ms.kOptimal else "time_limit"
    return x_obj, reported, selected, bound, label


def _solve_in_thread(h: Any, *, t0: float, time_limit_s: float, background: Background | None) -> None:
    """Run ``h`` in HiGHS's own thread, ``background`` in this one; cancel it past the limit.

    HiGHS can overrun its own limit (in presolve, in the root LP), so it is cancelled
    ``CANCEL_GRACE_S`` after ``t0 + time_limit_s``.
    """
    h.HandleUserInterrupt = True
    thread = h.startSolve()
    hard_deadline = t0 + time_limit_s + CANCEL_GRACE_S
    try:
        if background is not None:
            background(h.is_solver_running)
    finally:
        while h.is_solver_running():
            if time.perf_counter() > hard_deadline:
                h.cancelSolve()
            thread.join(0.02)
        h.joinSolve(thread)


_STDOUT_LOCK = threading.Lock()


def _quiet_highs(highspy: Any) -> Any:
    """Create a ``highspy.Highs`` without its copyright banner on standard output.

    HiGHS 1.16 prints the banner from C++ while constructing the object, before any
    option (``output_flag``) can be set, so file descriptor 1 is pointed at
    ``/dev/null`` for the construction only (under a lock: the descriptor is global).
    """
    with _STDOUT_LOCK:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            return highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
