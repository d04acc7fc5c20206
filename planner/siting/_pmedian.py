"""Array cores of the p-median model: heuristics, Lagrangian bound, reduction and the HiGHS MIP.

The model, on arrays prepared by :func:`planner.siting.median.p_median`::

    min  sum_i f_i z_i + sum_(i,j) c_ij y_ij
    s.t. z_i + sum_j y_ij = 1          for every demand row i
         y_ij <= x_j                    for every stored pair
         sum_j x_j <= p,   x binary,   y, z >= 0

``c_ij`` is the weighted cost of serving row ``i`` from candidate ``j`` (population ×
minutes), stored only for the pairs that beat the row's fallback ``f_i`` (its existing
station, or the cutoff; a large penalty for a row that must be served). Every cost is
non-negative, so "at most p" has the optimum of "exactly p".

* :func:`greedy` and :func:`interchange` — a greedy start (or a fill of given sites) and
  best-improvement vertex substitution (Teitz–Bart swaps, every (in, out) pair evaluated
  at once from gain/loss/extra arrays that each swap updates for the rows near the two
  sites only: the fast interchange of Resende & Werneck, 2004);
* :func:`lagrangian_bound` — relaxes the assignment rows: for multipliers ``u``,
  ``L(u) = sum_i u_i + sum_i min(0, f_i - u_i) + (sum of the p most negative rho_j)``,
  ``rho_j = sum_i min(0, c_ij - u_i)``, is a lower bound for *every* ``u``; maximised by
  subgradient steps (Polyak step towards the best known objective);
* :func:`reduce_pairs` — drops the pairs (and sites) whose use would push the Lagrangian
  bound above the best known objective: no better solution uses them;
* :func:`highs_pmedian` — the MIP on the kept pairs, warm-started, through HiGHS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from planner.siting._highs import _run_highs
from planner.siting._solvers import SolverOutput

logger = logging.getLogger(__name__)

#: Subgradient: initial step factor, halved after this many steps without a better bound,
#: stopped below the smallest factor.
STEP_START = 2.0
STEP_PATIENCE = 60
STEP_MIN = 1e-5
#: Seconds HiGHS gets at least (it returns the warm start if it finds nothing better).
MIN_HIGHS_S = 0.05
#: The primal heuristic runs once the relaxation is within this share of the best
#: objective (its sites are then close to a good solution), at the earliest at step
#: ``HEURISTIC_FIRST``, and again each time the step count has doubled.
HEURISTIC_FIRST = 100
HEURISTIC_GAP = 0.03


@dataclass(frozen=True, eq=False)
class MedianArrays:
    """The pairs of the p-median model, sorted by row then cost.

    Attributes
    ----------
    rows, cols, cost
        Demand row, candidate column and weighted cost ``c_ij`` of each pair.
    fallback
        Weighted cost ``f_i`` of each row when no open candidate serves it.
    n
        Number of candidate columns.
    """

    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    cost: NDArray[np.float64]
    fallback: NDArray[np.float64]
    n: int

    @property
    def m(self) -> int:
        """Number of demand rows."""
        return len(self.fallback)

    @classmethod
    def build(
        cls,
        *,
        rows: NDArray[np.int64],
        cols: NDArray[np.int64],
        cost: NDArray[np.float64],
        fallback: NDArray[np.float64],
        n: int,
    ) -> MedianArrays:
        """Sort the pairs by row then cost (the order every routine relies on)."""
        order = np.lexsort((cost, rows))
        return cls(rows[order], cols[order], cost[order], fallback, n)

    def indptr(self) -> NDArray[np.int64]:
        """Row offsets of the pairs."""
        out = np.zeros(self.m + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.rows, minlength=self.m), out=out[1:])
        return out

    def subset(self, keep: NDArray[np.bool_]) -> MedianArrays:
        """The same rows with only the pairs in ``keep`` (order kept)."""
        return MedianArrays(self.rows[keep], self.cols[keep], self.cost[keep], self.fallback, self.n)


@dataclass(frozen=True, eq=False)
class Assignment:
    """Nearest and second-nearest open option of every row (``near``/``second`` = -1: the fallback)."""

    c1: NDArray[np.float64]
    c2: NDArray[np.float64]
    near: NDArray[np.int64]
    second: NDArray[np.int64]

    @property
    def value(self) -> float:
        """Objective of the open sites (without the model's constant)."""
        return float(self.c1.sum())


def assign(arr: MedianArrays, open_mask: NDArray[np.bool_]) -> Assignment:
    """Serve every row from its cheapest open site or its fallback (and record the second best)."""
    return _assign_pairs(arr, np.arange(len(arr.rows), dtype=np.int64), open_mask)


def _assign_pairs(arr: MedianArrays, pk: NDArray[np.int64], open_mask: NDArray[np.bool_]) -> Assignment:
    """:func:`assign` for the rows whose pairs are ``pk`` (whole rows, in storage order).

    The arrays have one entry per row of ``arr``; only the rows of ``pk`` are meaningful.
    """
    idx = pk[open_mask[arr.cols[pk]]]
    r = arr.rows[idx]
    first = np.ones(len(r), bool)
    first[1:] = r[1:] != r[:-1]
    second = np.zeros(len(r), bool)
    second[1:] = ~first[1:] & first[:-1]
    b1 = np.full(arr.m, np.inf)
    b2 = np.full(arr.m, np.inf)
    j1 = np.full(arr.m, -1, dtype=np.int64)
    j2 = np.full(arr.m, -1, dtype=np.int64)
    b1[r[first]] = arr.cost[idx[first]]
    j1[r[first]] = arr.cols[idx[first]]
    b2[r[second]] = arr.cost[idx[second]]
    j2[r[second]] = arr.cols[idx[second]]
    f = arr.fallback
    use_site = b1 < f
    c1 = np.where(use_site, b1, f)
    c2 = np.where(use_site, np.minimum(b2, f), b1)
    near = np.where(use_site, j1, -1)
    after = np.where(use_site, np.where(b2 < f, j2, -1), j1)
    return Assignment(c1, c2, near, after)


def greedy(arr: MedianArrays, *, p: int, start: NDArray[np.int64] | None = None) -> NDArray[np.int64]:
    """Add sites one at a time, each the one saving the most (gains updated incrementally).

    With ``start``, those sites are open first and the rest are added to reach ``p``.
    """
    indptr = arr.indptr()
    by_col, col_ptr = _by_column(arr)
    chosen = [] if start is None else [int(j) for j in np.unique(start)]
    c1 = arr.fallback.copy() if not chosen else assign(arr, _open(arr.n, np.array(chosen))).c1
    gain = np.bincount(arr.cols, weights=np.maximum(c1[arr.rows] - arr.cost, 0.0), minlength=arr.n)
    gain[chosen] = -np.inf
    while len(chosen) < min(p, arr.n):
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        k = by_col[col_ptr[j] : col_ptr[j + 1]]
        better = arr.cost[k] < c1[arr.rows[k]]
        rows = arr.rows[k[better]]
        # pairs of the improved rows: remove their old contribution, add the new one
        pk = _row_pairs(indptr, rows)
        old = c1[arr.rows[pk]]
        c1[rows] = arr.cost[k[better]]
        new = c1[arr.rows[pk]]
        delta = np.maximum(new - arr.cost[pk], 0.0) - np.maximum(old - arr.cost[pk], 0.0)
        gain += np.bincount(arr.cols[pk], weights=delta, minlength=arr.n)
        gain[j] = -np.inf
    return np.array(chosen, dtype=np.int64)


def _by_column(arr: MedianArrays) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pair indices ordered by column, and the column offsets into them."""
    by_col = np.argsort(arr.cols, kind="stable").astype(np.int64)
    col_ptr = np.zeros(arr.n + 1, dtype=np.int64)
    np.cumsum(np.bincount(arr.cols, minlength=arr.n), out=col_ptr[1:])
    return by_col, col_ptr


def _open(n: int, sites: NDArray[np.int64]) -> NDArray[np.bool_]:
    mask = np.zeros(n, bool)
    mask[sites] = True
    return mask


def _row_pairs(indptr: NDArray[np.int64], rows: NDArray[np.int64]) -> NDArray[np.int64]:
    """Indices of all pairs of ``rows`` (concatenated row slices)."""
    starts, ends = indptr[rows], indptr[rows + 1]
    lens = ends - starts
    if lens.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    out: NDArray[np.int64] = np.arange(int(lens.sum()), dtype=np.int64) + offs.astype(np.int64)
    return out


def interchange(
    arr: MedianArrays, selected: NDArray[np.int64], *, deadline: float, max_moves: int = 1_000_000
) -> NDArray[np.int64]:
    """Best-improvement swaps (one site in, one out) until none improves or the deadline.

    The fast interchange of Resende & Werneck (2004): for closed ``j`` and open ``r`` the
    saving of the swap is ``gain(j) - loss(r) + extra(j, r)`` — ``gain(j)`` what ``j``
    saves the rows, ``loss(r)`` what the rows served by ``r`` lose going to their second
    best option, ``extra(j, r)`` the part of that loss ``j`` wins back. The three are kept
    in arrays (``extra`` is candidates × open sites) and, after each swap, updated only for
    the rows whose nearest or second-nearest option changed (the rows near the two sites),
    so a move costs a few passes over those rows' pairs, not over the whole model.
    The result is a local optimum: no single swap improves it (unless ``deadline`` came first).
    """
    sites = np.unique(np.asarray(selected, dtype=np.int64))
    if len(sites) == 0 or len(sites) >= arr.n:
        return sites
    return _Swaps(arr, sites).run(deadline=deadline, max_moves=max_moves)


class _Swaps:
    """State of :func:`interchange`: the open sites, each row's two best options, gain/loss/extra."""

    def __init__(self, arr: MedianArrays, sites: NDArray[np.int64]) -> None:
        self.arr, self.sites, self.p = arr, sites.copy(), len(sites)
        self.indptr = arr.indptr()
        self.by_col, self.col_ptr = _by_column(arr)
        self.open = _open(arr.n, sites)
        self.slot = np.full(arr.n, -1, dtype=np.int64)
        self.slot[sites] = np.arange(self.p)
        self.a = assign(arr, self.open)
        self.gain = np.zeros(arr.n)
        self.loss = np.zeros(self.p)
        self.extra = np.zeros(arr.n * self.p)
        self._last_out = -1
        self._add(np.arange(len(arr.rows), dtype=np.int64), np.arange(arr.m, dtype=np.int64), 1.0)

    def run(self, *, deadline: float, max_moves: int) -> NDArray[np.int64]:
        n, p = self.arr.n, self.p
        for _ in range(max_moves):
            if time.perf_counter() > deadline:
                break
            tol = 1e-9 * max(1.0, abs(self.a.value))
            profit = self.extra.reshape(n, p) - self.loss[None, :]
            profit += np.where(self.open, -np.inf, self.gain)[:, None]
            k = int(np.argmax(profit))
            if profit.flat[k] <= tol:
                break
            j_in, s_out = divmod(k, p)
            before = self.a.value
            self._swap(j_in, s_out)
            if self.a.value > before - tol:  # rounding in the running sums: no true improvement
                self._swap(self._last_out, s_out)
                break
        return np.sort(self.sites)

    def _swap(self, j_in: int, s_out: int) -> None:
        """Open ``j_in`` in place of the site in slot ``s_out`` and update the state."""
        arr, a = self.arr, self.a
        r_out = int(self.sites[s_out])
        k = self.by_col[self.col_ptr[j_in] : self.col_ptr[j_in + 1]]
        near_in = arr.rows[k[arr.cost[k] < a.c2[arr.rows[k]]]]
        rows = np.unique(np.concatenate([near_in, np.flatnonzero((a.near == r_out) | (a.second == r_out))]))
        pk = _row_pairs(self.indptr, rows)
        self._add(pk, rows, -1.0)
        self.open[j_in], self.open[r_out] = True, False
        self.slot[j_in], self.slot[r_out] = s_out, -1
        self.sites[s_out] = j_in
        self._last_out = r_out
        new = _assign_pairs(arr, pk, self.open)
        for old_arr, new_arr in ((a.c1, new.c1), (a.c2, new.c2), (a.near, new.near), (a.second, new.second)):
            old_arr[rows] = new_arr[rows]
        self._add(pk, rows, 1.0)

    def _add(self, pk: NDArray[np.int64], rows: NDArray[np.int64], sign: float) -> None:
        """Add (``sign`` 1) or remove (-1) the contributions of ``rows`` (pairs ``pk``) to gain, loss, extra."""
        arr, a, n, p = self.arr, self.a, self.arr.n, self.p
        r, c, cost = arr.rows[pk], arr.cols[pk], arr.cost[pk]
        c1 = a.c1[r]
        g = cost < c1
        self.gain += sign * np.bincount(c[g], weights=c1[g] - cost[g], minlength=n)
        served = rows[a.near[rows] >= 0]
        self.loss += sign * np.bincount(self.slot[a.near[served]], weights=a.c2[served] - a.c1[served], minlength=p)
        near, c2 = a.near[r], a.c2[r]
        e = (near >= 0) & (cost < c2) & (c != near)
        val = c2[e] - np.maximum(cost[e], c1[e])
        self.extra += sign * np.bincount(c[e] * p + self.slot[near[e]], weights=val, minlength=n * p)


@dataclass(frozen=True, eq=False)
class LagrangianState:
    """Best Lagrangian bound and what :func:`reduce_pairs` needs of it."""

    bound: float
    u: NDArray[np.float64]
    rho: NDArray[np.float64]
    rho_p: float
    relaxed_sites: NDArray[np.int64]
    iterations: int


def lagrangian_value(
    arr: MedianArrays, u: NDArray[np.float64], *, p: int
) -> tuple[float, NDArray[np.float64], float, NDArray[np.int64], NDArray[np.bool_]]:
    """``L(u)``, ``rho``, the p-th smallest ``rho`` (0 if fewer are negative), relaxed sites, ``c < u`` pairs."""
    s = arr.cost - u[arr.rows]
    neg = s < 0
    rho = np.bincount(arr.cols[neg], weights=s[neg], minlength=arr.n).astype(np.float64)
    k = min(p, int((rho < 0).sum()))
    sel = np.argpartition(rho, k - 1)[:k].astype(np.int64) if k > 0 else np.zeros(0, dtype=np.int64)
    rho_p = float(rho[sel].max()) if k == p and k > 0 else 0.0
    value = float(u.sum() + np.minimum(arr.fallback - u, 0.0).sum() + rho[sel].sum())
    return value, rho, rho_p, sel, neg


def lagrangian_bound(
    arr: MedianArrays,
    *,
    p: int,
    upper: float,
    start: NDArray[np.float64],
    deadline: float,
    target_gap: float,
    integral: bool,
    cap: NDArray[np.float64] | None = None,
    max_iter: int = 5000,
    heuristic: Callable[[NDArray[np.int64]], float] | None = None,
) -> LagrangianState:
    """Maximise ``L(u)`` by subgradient steps from ``start``; the best value is a proven lower bound.

    Stops when the bound is within ``target_gap`` of ``upper``, after ``max_iter`` steps,
    at ``deadline`` or when the step factor falls below :data:`STEP_MIN`. With
    ``integral`` costs the bound is rounded up (the optimum is an integer).

    ``heuristic`` (a primal heuristic: the sites the relaxation opens → the objective of
    a solution built from them) is called once ``L(u)`` is within :data:`HEURISTIC_GAP`
    of ``upper`` (see :data:`HEURISTIC_FIRST`); the best objective it returns becomes
    ``upper`` (a closer ``upper`` gives better-sized steps and an earlier stop).
    """
    if cap is not None:
        # any multipliers give a bound: keeping u_i <= cap_i lets the pairs above the cap go
        arr = arr.subset(arr.cost < cap[arr.rows])
    hi = np.inf if cap is None else cap
    u = np.minimum(start.astype(np.float64), hi)
    best: LagrangianState | None = None
    alpha, stale, it, next_heuristic = STEP_START, 0, 0, HEURISTIC_FIRST
    for it in range(1, max_iter + 1):
        value, rho, rho_p, sel, neg = lagrangian_value(arr, u, p=p)
        if heuristic is not None and it >= next_heuristic and upper - value <= HEURISTIC_GAP * abs(upper):
            upper = min(upper, heuristic(sel))
            next_heuristic = 2 * it
        if best is None or value > best.bound:
            best = LagrangianState(value, u.copy(), rho, rho_p, sel, it)
            stale = 0
        else:
            stale += 1
            if stale >= STEP_PATIENCE:
                alpha, stale = alpha / 2, 0
        lb = proven(best.bound, integral=integral)
        if it % 50 == 0:
            logger.debug("Lagrangian step %d: bound %.9g, step factor %.3g", it, best.bound, alpha)
        if upper - lb <= target_gap * max(abs(upper), 1e-12) or alpha < STEP_MIN or time.perf_counter() > deadline:
            break
        open_mask = np.zeros(arr.n, bool)
        open_mask[sel] = True
        served = neg & open_mask[arr.cols]
        g = 1.0 - (arr.fallback < u) - np.bincount(arr.rows[served], minlength=arr.m)
        norm = float(g @ g)
        if norm == 0:  # the relaxation's solution is feasible: optimal
            break
        u = np.minimum(u + alpha * max(upper - value, 1e-9 * max(1.0, abs(upper))) / norm * g, hi)
    assert best is not None
    logger.info("p-median Lagrangian bound %.9g after %d steps", best.bound, it)
    return LagrangianState(proven(best.bound, integral=integral), best.u, best.rho, best.rho_p, best.relaxed_sites, it)


def proven(bound: float, *, integral: bool) -> float:
    """The bound with a margin for rounding; rounded up when the optimum is an integer."""
    b = bound - 1e-10 * max(1.0, abs(bound))  # a margin below for the rounding of the sums
    return float(np.ceil(b - 1e-6)) if integral else b


def reduce_pairs(arr: MedianArrays, lag: LagrangianState, *, upper: float) -> NDArray[np.bool_]:
    """Pairs some solution better than ``upper`` may use (the others cannot: their use costs more).

    Using pair ``(i, j)`` forces ``j`` open and row ``i`` onto it; in the relaxation with
    multipliers ``u`` that costs at least ``max(0, rho_j - rho_p) + max(0, c_ij - u_i)``
    more than ``L(u)``.
    """
    tol = 1e-9 * max(1.0, abs(upper))
    raise_j = np.maximum(lag.rho - lag.rho_p, 0.0)
    raise_ij = raise_j[arr.cols] + np.maximum(arr.cost - lag.u[arr.rows], 0.0)
    keep: NDArray[np.bool_] = lag.bound + raise_ij <= upper + tol
    return keep


def highs_pmedian(
    arr: MedianArrays,
    *,
    p: int,
    start: NDArray[np.int64],
    deadline: float,
    mip_rel_gap: float,
    hard: NDArray[np.bool_],
) -> SolverOutput:
    """The p-median MIP on ``arr``'s pairs through HiGHS, warm-started from ``start``, until ``deadline``.

    ``deadline`` (a :func:`time.perf_counter` time) includes building the model: HiGHS
    gets what is left of it once the model is built (and is cancelled past it).

    Columns ``[x (n), y (pairs), z (rows not in hard)]``; rows the assignments, the
    links ``y_ij <= x_j`` and the cardinality. ``hard`` rows have no ``z`` (they must be
    served by an open site).
    """
    m, n, k = arr.m, arr.n, len(arr.rows)
    soft = np.flatnonzero(~hard)
    nz = len(soft)
    pair_col = n + np.arange(k)
    z_col = n + k + np.arange(nz)
    assign_rows = sp.csr_matrix(
        (np.ones(k + nz), (np.concatenate([arr.rows, soft]), np.concatenate([pair_col, z_col]))),
        shape=(m, n + k + nz),
    )
    link = sp.csr_matrix(
        (np.concatenate([np.ones(k), -np.ones(k)]), (np.tile(np.arange(k), 2), np.concatenate([pair_col, arr.cols]))),
        shape=(k, n + k + nz),
    )
    card = sp.csr_matrix((np.ones(n), (np.zeros(n, dtype=np.int64), np.arange(n))), shape=(1, n + k + nz))
    rows = sp.csr_matrix(sp.vstack([assign_rows, link, card], format="csr"))
    row_lo = np.concatenate([np.ones(m), np.full(k, -np.inf), [-np.inf]])
    row_hi = np.concatenate([np.ones(m), np.zeros(k), [float(p)]])
    obj = np.concatenate([np.zeros(n), arr.cost, arr.fallback[soft]])
    integrality = np.concatenate([np.ones(n, dtype=np.int32), np.zeros(k + nz, dtype=np.int32)])
    x0 = np.zeros(n)
    x0[start] = 1.0
    a = assign(arr, x0 > 0.5)
    y0 = np.zeros(k)
    first_open = np.flatnonzero((arr.cols == a.near[arr.rows]) & (a.near[arr.rows] >= 0))
    # a row may list its nearest site once only (pairs are unique), so this is one per row
    y0[first_open] = 1.0
    z0 = (a.near[soft] < 0).astype(float)
    return _run_highs(
        obj=obj,
        maximise=False,
        offset=0.0,
        col_hi=np.ones(n + k + nz),
        integrality=integrality,
        rows=rows,
        row_lo=row_lo,
        row_hi=row_hi,
        n_x=n,
        start=np.concatenate([x0, y0, z0]),
        time_limit_s=max(deadline - time.perf_counter(), MIN_HIGHS_S),
        mip_rel_gap=mip_rel_gap,
    )
