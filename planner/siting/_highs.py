"""Exact coverage models through HiGHS (``highspy``): the MIPs and the LP relaxation.

The model's rows are built as one CSR matrix and passed in one call; HiGHS solves in
its own thread (cancelled past its time limit) while the caller may work beside it.
Arrays and models as in :mod:`planner.siting._solvers`.
"""

from __future__ import annotations

import functools
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
from planner.siting._lagrangian import lagrangian_value, with_margin
from planner.siting._solvers import SideConstraints, SolverOutput

logger = logging.getLogger(__name__)

#: Seconds HiGHS may run past its time limit before it is cancelled.
CANCEL_GRACE_S = 0.1
#: Optimality tolerance of the interior-point LP relaxation (the bound is exact for the
#: duals it returns; a looser tolerance is faster and leaves the bound a little higher).
LP_IPM_TOLERANCE = 1e-4

#: Work run in the calling thread while HiGHS solves; gets a "HiGHS still running" test.
Background = Callable[[Callable[[], bool]], None]


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

    ``bound`` is the exact Lagrangian value ``Z(lam)`` (see :func:`~planner.siting._lagrangian.lagrangian_dual`)
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
        z = lagrangian_value(w, lam, np.asarray(a_t @ lam).ravel(), p=p)
        if z < best:
            best, best_lam = z, lam
    logger.info("LP relaxation (interior point, %s) bound %.9g in %.2f s", label, best, seconds)
    return LPRelaxation(with_margin(best), best_lam, label, seconds)


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
