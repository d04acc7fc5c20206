"""Coverage heuristics: lazy greedy, 1-swap local search and iterated local search.

Always available (no solver library): the starting solutions for HiGHS and the
``"greedy"`` solver of :mod:`planner.siting.models`. Arrays as in
:mod:`planner.siting._solvers`.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from planner.siting._solvers import WEIGHT_RTOL, SideConstraints, covered_weight, feasible, group_counts

logger = logging.getLogger(__name__)

#: Upper limit of 1-swap rounds in the local search (each round applies one swap).
MAX_SWAP_ROUNDS = 10_000


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
            ok = bool(np.all(group_counts(side, trial) >= side.group_min))
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
            gcnt = group_counts(side, sel)
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
