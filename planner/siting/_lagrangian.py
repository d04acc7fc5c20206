"""Lagrangian relaxation of maximal covering with ``p`` sites: a proven bound and primal hints.

Relaxing ``y_i <= A_i x`` gives an upper bound for every multiplier vector
(:func:`lagrangian_dual`); the multipliers also suggest sites
(:func:`lagrangian_heuristic`). Arrays as in :mod:`planner.siting._solvers`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from planner.siting._heuristics import swap_improve
from planner.siting._solvers import SideConstraints

logger = logging.getLogger(__name__)

#: Smoothing levels of the Lagrangian dual (times the mean weight), each given an
#: equal share of the time; the last one runs until the end.
LAGRANGE_TAUS = (0.03, 0.003)


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
            z = lagrangian_value(w, lam, score, p=p)
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
    return with_margin(best_z), best_lam


def lagrangian_value(w: NDArray[np.float64], lam: NDArray[np.float64], score: NDArray[np.float64], *, p: int) -> float:
    """Exact ``Z(lam) = sum_i max(0, w_i - lam_i) + sum of the p largest scores`` (``score = A^T lam``)."""
    n = len(score)
    return float(np.maximum(w - lam, 0.0).sum() + np.partition(score, n - p)[n - p :].sum())


def with_margin(bound: float) -> float:
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
    and improves them by :func:`~planner.siting._heuristics.swap_improve`.
    """
    n = a_csc.shape[1]
    p = min(max(p, 0), n)
    if p == 0:
        return np.zeros(0, dtype=np.int64)
    score = np.asarray(a_csc.T @ lam).ravel()
    top = np.argpartition(-score, p - 1)[:p].astype(np.int64)
    return swap_improve(a_csc, w, top, side=SideConstraints(p=p), deadline=deadline)


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
