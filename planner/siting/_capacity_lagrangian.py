"""Lagrangian bound of the capacitated p-median with split assignment (array core).

The model (:func:`planner.siting.capacity.capacitated_p_median`), on the sparse pairs
``e = (i, j)`` with per-person minutes ``t_e`` and population ``w_i``::

    min  sum_e w_i t_e f_e
    s.t. sum_(e ∋ i) f_e = 1                  every demand row i with w_i > 0
         sum_(e ∋ j) w_i f_e <= C_j y_j        every site j (existing: y_j = 1)
         f_e <= y_j,   sum_(new j) y_j <= p,   y binary,   0 <= f <= 1

Relaxing the demand rows with multipliers ``u_i = w_i v_i`` (``v_i``: minutes per
person) leaves one problem per site. For an open site it is a **continuous knapsack**:
take the people of the pairs with ``t_e < v_i``, most negative ``t_e - v_i`` first, up
to the capacity ``C_j`` (the last pair taken in part). Its value ``rho_j <= 0`` is what
the site would save at these multipliers. Then

    L(v) = sum_i w_i v_i + sum_(existing k) rho_k + (sum of the p most negative rho_j)

is a lower bound on the optimum for *every* ``v`` (weak duality: the relaxed problem's
feasible set contains every solution of the model). The site subproblem has integral
optimal ``y`` (its hull is its LP relaxation), so the best ``L(v)`` equals the bound of
the strong LP relaxation; it is approached by subgradient steps (Polyak step towards
the best known objective), never solving an LP over all pairs.

The multipliers also price the sites: forcing a candidate the relaxation leaves closed
to open costs at least ``rho_j - rho_p`` (``rho_p``: the p-th most negative), and
closing one it opens at least ``rho_p' - rho_j`` (``rho_p'``: the (p+1)-th). A site
whose forced change pushes the bound above the best known objective is fixed in every
better solution (:func:`fixed_sites`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.siting._pmedian import proven

logger = logging.getLogger(__name__)

#: Subgradient: initial step factor, halved after this many steps without a better bound,
#: stopped below the smallest factor.
STEP_START = 1.0
STEP_PATIENCE = 50
STEP_MIN = 1e-4


@dataclass(frozen=True, eq=False)
class CapArrays:
    """Pairs of the capacitated p-median: candidate columns ``0..n_new-1``, then existing stations.

    ``w`` is zero for rows with nobody to serve (they have no demand row); their pairs
    are dropped by :meth:`from_pairs`.
    """

    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    minutes: NDArray[np.float64]
    w: NDArray[np.float64]
    capacity: NDArray[np.float64]
    n_new: int

    @classmethod
    def from_pairs(
        cls,
        *,
        rows: NDArray[np.int64],
        cols: NDArray[np.int64],
        minutes: NDArray[np.float64],
        w: NDArray[np.float64],
        capacity: NDArray[np.float64],
        n_new: int,
    ) -> CapArrays:
        """The pairs of rows with people, sorted by column (the knapsacks read them per column)."""
        keep = w[rows] > 0
        r, c, t = rows[keep], cols[keep], minutes[keep]
        order = np.argsort(c, kind="stable")
        return cls(r[order], c[order], t[order], w, capacity, n_new)

    @property
    def m(self) -> int:
        """Number of demand rows."""
        return len(self.w)

    @property
    def n_cols(self) -> int:
        """Candidates and existing stations."""
        return len(self.capacity)


@dataclass(frozen=True, eq=False)
class Relaxed:
    """The relaxation's solution at one ``v``: its value, site values and the open knapsacks."""

    value: float
    rho: NDArray[np.float64]  # per column (existing stations included)
    selected: NDArray[np.int64]  # the candidates the relaxation opens
    served: NDArray[np.float64]  # per row, the share the open knapsacks take


def relax(arr: CapArrays, v: NDArray[np.float64], *, p: int) -> Relaxed:
    """``L(v)``: fill every site's knapsack, open the ``p`` best candidates."""
    rc = arr.minutes - v[arr.rows]
    neg = np.flatnonzero(rc < 0)
    rc_n, c_n, r_n = rc[neg], arr.cols[neg], arr.rows[neg]
    # pairs come sorted by column: sort within columns by reduced minutes (one float key)
    span = float(rc_n.max() - rc_n.min()) + 1.0 if len(neg) else 1.0
    order = np.argsort(c_n * (2.0 * span) + (rc_n - (rc_n.min() if len(neg) else 0.0)), kind="stable")
    rc_n, c_n, r_n = rc_n[order], c_n[order], r_n[order]
    people = arr.w[r_n]
    cum = np.cumsum(people)
    starts = np.searchsorted(c_n, np.arange(arr.n_cols))  # first sorted pair of each column
    before = cum - people - np.concatenate([[0.0], cum])[starts[c_n]]  # people of the column ahead of e
    take = np.clip(arr.capacity[c_n] - before, 0.0, people)
    gain = take * rc_n
    rho = np.bincount(c_n, weights=gain, minlength=arr.n_cols).astype(np.float64)
    cand = rho[: arr.n_new]
    k = min(p, int((cand < 0).sum()))
    selected = np.argpartition(cand, k - 1)[:k].astype(np.int64) if k > 0 else np.zeros(0, dtype=np.int64)
    open_col = np.zeros(arr.n_cols, bool)
    open_col[arr.n_new :] = True
    open_col[selected] = True
    value = float(arr.w @ v + rho[arr.n_new :].sum() + cand[selected].sum())
    on = open_col[c_n]
    with np.errstate(divide="ignore", invalid="ignore"):
        served = np.bincount(r_n[on], weights=take[on], minlength=arr.m) / np.where(arr.w > 0, arr.w, 1.0)
    return Relaxed(value, rho, selected, served)


@dataclass(frozen=True, eq=False)
class LagrangianResult:
    """Best bound found, its multipliers and relaxation, and the steps taken."""

    bound: float
    v: NDArray[np.float64]
    relaxed: Relaxed
    iterations: int


def subgradient(
    arr: CapArrays,
    *,
    p: int,
    v0: NDArray[np.float64],
    upper: Callable[[], float],
    deadline: float,
    target_gap: float,
    on_selection: Callable[[NDArray[np.int64]], None] | None = None,
    alpha0: float = STEP_START,
    max_iter: int = 100_000,
) -> LagrangianResult:
    """Maximise ``L(v)`` from ``v0`` by subgradient steps; the best value is a proven lower bound.

    ``upper()`` is the best known objective (it may improve while this runs, e.g. from
    ``on_selection``, which is called with every new set of candidates the relaxation
    opens once the steps have shrunk for the first time, for a primal heuristic; the
    multipliers of the first steps are too rough to be worth an LP). ``alpha0`` is the first step factor (smaller to
    resume from multipliers already near the best). Stops within ``target_gap`` of ``upper()``, at
    ``deadline``, after ``max_iter`` steps or when the step factor falls below
    :data:`STEP_MIN`.
    """
    v = v0.astype(np.float64).copy()
    active = arr.w > 0
    v[~active] = 0.0
    best: LagrangianResult | None = None
    alpha, stale, it = alpha0, 0, 0
    seen: set[bytes] = set()
    for it in range(1, max_iter + 1):
        rel = relax(arr, v, p=p)
        if best is None or rel.value > best.bound:
            best = LagrangianResult(rel.value, v.copy(), rel, it)
            stale = 0
        else:
            stale += 1
            if stale >= STEP_PATIENCE:
                alpha, stale = alpha / 2, 0
        if on_selection is not None and len(rel.selected) and alpha < alpha0:  # past the first plateau
            key = np.sort(rel.selected).tobytes()
            if key not in seen:
                seen.add(key)
                on_selection(rel.selected)
        ub = upper()
        closed = np.isfinite(ub) and ub - best.bound <= target_gap * max(abs(ub), 1e-12)
        if closed or alpha < STEP_MIN or time.perf_counter() > deadline:
            break
        g = np.where(active, arr.w * (1.0 - rel.served), 0.0)
        norm = float(g @ g)
        if norm <= 1e-18 * max(1.0, float(arr.w @ arr.w)):  # the relaxation's solution is feasible
            break
        step = (
            alpha * max(ub - rel.value, 1e-9 * max(1.0, abs(ub))) / norm if np.isfinite(ub) else alpha / np.sqrt(norm)
        )
        v = np.where(active, v + step * g, 0.0)
    assert best is not None
    logger.info("capacitated p-median Lagrangian bound %.9g after %d steps", best.bound, it)
    return LagrangianResult(proven(best.bound, integral=False), best.v, best.relaxed, it)


def fixed_sites(
    rel: Relaxed, *, bound: float, upper: float, n_new: int, p: int
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Candidates closed / open in every solution better than ``upper`` (Lagrangian pricing).

    With ``k`` candidates selected by the relaxation (the negative ``rho`` among the
    ``p`` smallest): opening an unselected ``j`` replaces the ``p``-th selected one
    (``rho_p``) or, with fewer than ``p`` selected, adds ``rho_j`` (≥ 0) — the bound rises
    by ``rho_j - min(rho_p, 0)``; closing a selected ``j`` lets in the best unselected
    one (``min(rho_next, 0)``) — the bound rises by ``min(rho_next, 0) - rho_j``.
    """
    cand = rel.rho[:n_new]
    sel = np.zeros(n_new, bool)
    sel[rel.selected] = True
    tol = 1e-9 * max(1.0, abs(upper))
    rho_p = float(cand[sel].max()) if len(rel.selected) == p and p > 0 else 0.0
    rho_next = float(cand[~sel].min()) if (~sel).any() else 0.0
    closed = ~sel & (bound + cand - min(rho_p, 0.0) > upper + tol)
    opened = sel & (bound + min(rho_next, 0.0) - cand > upper + tol)
    return closed, opened
