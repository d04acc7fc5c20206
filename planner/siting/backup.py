"""Backup coverage: new sites that put the most population within the standard of two stations.

The question behind it: *which villages depend on one station only?* A demand point is
*backed up* when at least two stations — existing ones and new sites together — reach it
within the standard. :func:`backup_coverage` opens ``p`` new sites maximising the backed-up
population (the backup model of Hogan & ReVelle 1986; spopt's ``LSCPB``, after Church &
Murray 2018, with ``require_cover=True``)::

    maximise  sum_i w_i b_i
    subject to  (2 - c_i) b_i <= sum_j a_ij x_j     for every point i with c_i < 2
                sum_j x_j <= p,  x binary,  b_i binary (continuous when c_i = 1)
                [require_cover]  sum_j a_ij x_j >= 1  for every point with c_i = 0 some candidate reaches

where ``c_i`` is the number of existing stations within the standard of point ``i``
(capped at 2). Points with ``c_i >= 2`` are backed up already; points with
``c_i + (candidates in range) < 2`` can never be and are left out. That is
the difference from spopt's ``LSCPB``: it means ``sum_j a_ij y_j >= 1 + u_i`` for every
point, but for a point with fewer than two sites in range it writes ``>= 1 + 0 u_i``,
leaving ``u_i`` free, so the maximiser counts the point as backed up. On spopt's San Francisco fixture
(205 tracts, 16 stores, 5 km, p = 8 from set covering) that counts 22 tracts with one store
in range: spopt reports 81.46 % of tracts backed up, the true share is 70.73 %
(145 tracts; ``tests/test_backup.py`` reproduces it).

The result also reports the population covered at least once (``details["covered_once"]``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from planner._errors import InputError, SitingError, SolverError
from planner.siting import _highs
from planner.siting._solvers import WEIGHT_RTOL, SolverOutput
from planner.siting.models import DEFAULT_MIP_REL_GAP, DEFAULT_TIME_LIMIT_S, SitingResult, Solver, _check_options
from planner.siting.problem import CoverageProblem, ReductionReport

logger = logging.getLogger(__name__)

__all__ = ["backup_coverage"]

#: Upper limit of 1-swap rounds of the backup local search.
MAX_SWAP_ROUNDS = 1_000


def backup_coverage(
    problem: CoverageProblem,
    *,
    p: int,
    existing_count: ArrayLike | None = None,
    require_cover: bool = False,
    solver: Solver = "highs",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
) -> SitingResult:
    """Open up to ``p`` new sites maximising the population within the standard of two stations.

    Parameters
    ----------
    problem
        The coverage problem (who each candidate reaches within the standard).
    p
        Number of new sites.
    existing_count
        Number of existing stations within the standard of each demand point. ``None``:
        1 where ``problem.covered_by_existing``, else 0 (so 0 without existing stations).
    require_cover
        Also require every demand point some candidate reaches to be covered at least
        once (spopt's ``LSCPB``, where ``p`` is the set-covering minimum); infeasible
        ``p`` raises :class:`~planner._errors.SitingError`.
    solver
        ``"highs"`` (exact MIP warm-started from greedy + 1-swap) or ``"greedy"``.
    time_limit_s, mip_rel_gap
        As in :func:`~planner.siting.models.maximal_covering`.

    Returns
    -------
    SitingResult
        ``model="backup"``; ``objective`` the backed-up population (existing stations
        included), ``existing_covered`` what existing stations back up alone,
        ``newly_covered`` the backed-up population each site adds in rank order, ``bound``
        and ``gap`` on the backed-up population; ``details["covered_once"]`` the population
        within the standard of at least one station.
    """
    t0 = time.perf_counter()
    _check_options(solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 0:
        raise SitingError("siting.error.bad_p", p=p)
    if p > problem.n_candidates:
        raise SitingError("siting.error.p_too_large", p=p, count=problem.n_candidates)
    c = _existing_count(problem, existing_count)
    a = problem.cover
    w = problem.weights
    deg = np.diff(a.indptr)
    # rows the new sites can change: not yet backed up, and two stations possible in range
    rows = np.flatnonzero((c < 2) & (c + deg >= 2))
    must = np.flatnonzero((c == 0) & (deg >= 1)) if require_cover else np.zeros(0, dtype=np.int64)
    offset = float(w[c >= 2].sum())
    a_csc = sp.csc_matrix(a, dtype=np.float64)
    deadline = t0 + time_limit_s
    start = _greedy(a_csc, w, c, p=p, must=must)
    start = _swap(a_csc, w, c, start, must=must, deadline=deadline)
    start_ok = len(must) == 0 or bool(np.all(_counts(a_csc, start)[must] >= 1))
    value = offset + _backed(a_csc, w, c, start)
    if solver == "greedy" or len(rows) == 0:
        if not start_ok:
            raise SitingError("siting.backup.cover_infeasible", p=p)
        proven = len(rows) == 0
        out = SolverOutput(
            start, value, value if proven else float("nan"), "optimal" if proven else "heuristic", "greedy+swap", 0.0
        )
    else:
        out = _solve_mip(
            a,
            w,
            c,
            rows=rows,
            must=must,
            p=p,
            offset=offset,
            start=start if start_ok else None,
            time_limit_s=max(deadline - time.perf_counter(), 0.1),
            mip_rel_gap=mip_rel_gap,
        )
        if start_ok and value > out.objective + WEIGHT_RTOL * max(1.0, value):
            out = SolverOutput(start, value, out.bound, out.status, out.solver, out.seconds)
    return _result(problem, a_csc, c, out, offset=offset, rows=rows, t0=t0, keep_all=require_cover)


def _existing_count(problem: CoverageProblem, existing_count: ArrayLike | None) -> NDArray[np.int64]:
    m = problem.n_demand
    if existing_count is None:
        return problem.covered_by_existing.astype(np.int64)
    raw = np.asarray(existing_count, dtype=np.float64).ravel()
    if len(raw) != m:
        raise InputError("siting.error.length_mismatch", name="existing_count", length=len(raw), expected=m)
    bad = ~np.isfinite(raw) | (raw < 0) | (raw != np.round(raw))
    if bad.any():
        raise SitingError("siting.error.bad_option", name="existing_count", value=raw[int(np.argmax(bad))])
    return np.minimum(raw.astype(np.int64), 2)


def _counts(a_csc: sp.csc_matrix, cols: NDArray[np.int64]) -> NDArray[np.int64]:
    x = np.zeros(a_csc.shape[1])
    x[cols] = 1.0
    return np.asarray(a_csc @ x).ravel().round().astype(np.int64)


def _backed(a_csc: sp.csc_matrix, w: NDArray[np.float64], c: NDArray[np.int64], cols: NDArray[np.int64]) -> float:
    """Population newly backed up by ``cols`` (points with ``c < 2`` reaching two stations)."""
    tot = c + _counts(a_csc, cols)
    return float(w[(c < 2) & (tot >= 2)].sum())


def _greedy(
    a_csc: sp.csc_matrix, w: NDArray[np.float64], c: NDArray[np.int64], *, p: int, must: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Greedy start: half credit for a first station in range, full credit for the second.

    Points in ``must`` (``require_cover``) are covered first, greedily by count.
    """
    n = a_csc.shape[1]
    tot = c.copy()
    chosen = np.zeros(n, bool)
    out: list[int] = []
    need = np.zeros(len(c), bool)
    need[must] = True
    while len(out) < p:
        uncovered = need & (tot == 0)
        if uncovered.any():
            score = np.asarray(a_csc.T @ uncovered.astype(np.float64)).ravel()
            score += 1e-9 * np.asarray(a_csc.T @ (w * (tot == 1))).ravel() / max(float(w.sum()), 1.0)
        else:
            credit = np.where(tot == 1, 1.0, np.where(tot == 0, 0.5, 0.0))
            score = np.asarray(a_csc.T @ (w * credit)).ravel()
        score[chosen] = -1.0
        j = int(np.argmax(score))
        if not score[j] > 0:
            break
        out.append(j)
        chosen[j] = True
        tot[a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]]] += 1
    return np.array(out, dtype=np.int64)


def _swap(
    a_csc: sp.csc_matrix,
    w: NDArray[np.float64],
    c: NDArray[np.int64],
    selected: NDArray[np.int64],
    *,
    must: NDArray[np.int64],
    deadline: float,
) -> NDArray[np.int64]:
    """Best-improvement 1-swap on the backed-up population (all swaps by one sparse product).

    With station counts ``t`` (existing + selected), swapping ``j`` out and ``k`` in
    changes the backed-up weight by ``G[k] - L[j] + (B2^T A)[j, k] - (B1^T A)[j, k]``:
    ``G`` the weight at ``t == 1`` that ``k`` reaches, ``L`` the weight at ``t == 2`` that
    ``j`` reaches, and the products correct points both reach (their count is unchanged).
    Swaps leaving a ``must`` point uncovered are not taken.
    """
    n = a_csc.shape[1]
    sel = np.array(selected, dtype=np.int64)
    if len(sel) == 0 or len(sel) >= n or len(must):
        return sel
    a_csr = sp.csr_matrix(a_csc)
    tol = WEIGHT_RTOL * max(1.0, float(w.sum()))
    live = (c < 2).astype(np.float64)
    for _ in range(MAX_SWAP_ROUNDS):
        if time.perf_counter() > deadline:
            break
        tot = c + _counts(a_csc, sel)
        a_s = a_csc[:, sel]
        g = np.asarray(a_csc.T @ (w * live * (tot == 1))).ravel()
        b2 = sp.csc_matrix(a_s.multiply((w * live * (tot == 2))[:, None]))
        b1 = sp.csc_matrix(a_s.multiply((w * live * (tot == 1))[:, None]))
        loss = np.asarray(b2.sum(axis=0)).ravel()
        delta = ((b2 - b1).T @ a_csr).toarray() + g[None, :] - loss[:, None]
        delta[:, sel] = -np.inf
        flat = int(np.argmax(delta))
        jj, k = divmod(flat, n)
        if not delta[jj, k] > tol:
            break
        sel[jj] = k
    return sel


def _solve_mip(
    a: sp.csr_matrix,
    w: NDArray[np.float64],
    c: NDArray[np.int64],
    *,
    rows: NDArray[np.int64],
    must: NDArray[np.int64],
    p: int,
    offset: float,
    start: NDArray[np.int64] | None,
    time_limit_s: float,
    mip_rel_gap: float,
) -> SolverOutput:
    """The backup MIP over columns ``[x (n), b (rows)]`` by HiGHS."""
    a = sp.csr_matrix(a, dtype=np.float64)
    n = a.shape[1]
    k = len(rows)
    need = (2 - c[rows]).astype(np.float64)  # 1 or 2 stations still needed
    # rows  need_i b_i - A_i x <= 0
    link = sp.hstack([-a[rows], sp.diags(need, format="csr")], format="csr")
    card = sp.csr_matrix((np.ones(n), (np.zeros(n, dtype=np.int64), np.arange(n))), shape=(1, n + k))
    cover = sp.hstack([a[must], sp.csr_matrix((len(must), k))], format="csr")
    matrix = sp.csr_matrix(sp.vstack([link, card, cover], format="csr"), dtype=np.float64)
    row_lo = np.concatenate([np.full(k, -np.inf), [-np.inf], np.ones(len(must))])
    row_hi = np.concatenate([np.zeros(k), [float(p)], np.full(len(must), np.inf)])
    integrality = np.concatenate([np.ones(n, dtype=np.int32), (need > 1).astype(np.int32)])
    start_vals = None
    if start is not None:
        x0 = np.zeros(n)
        x0[start] = 1.0
        tot = c[rows] + np.asarray(a[rows] @ x0).ravel()
        start_vals = np.concatenate([x0, (tot >= 2).astype(np.float64)])
    try:
        return _highs._run_highs(
            obj=np.concatenate([np.zeros(n), w[rows]]),
            maximise=True,
            offset=offset,
            col_hi=np.ones(n + k),
            integrality=integrality,
            rows=matrix,
            row_lo=row_lo,
            row_hi=row_hi,
            n_x=n,
            start=start_vals,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
        )
    except SitingError as err:
        if err.key == "siting.error.infeasible_constraints":
            raise SitingError("siting.backup.cover_infeasible", p=p) from err
        raise
    except SolverError as err:
        if err.key != "siting.error.no_solution" or start is None:
            raise
        value = offset + _backed(sp.csc_matrix(a, dtype=np.float64), w, c, start)
        return SolverOutput(start, value, np.inf, "time_limit", "greedy+swap", time_limit_s)


def _result(
    problem: CoverageProblem,
    a_csc: sp.csc_matrix,
    c: NDArray[np.int64],
    out: SolverOutput,
    *,
    offset: float,
    rows: NDArray[np.int64],
    t0: float,
    keep_all: bool,
) -> SitingResult:
    """Rank the chosen sites by marginal backed-up population and build the result."""
    w = problem.weights
    cols = list(np.asarray(out.selected, dtype=np.int64))
    if not keep_all:  # drop sites the backed-up population does not need (latest first)
        value = _backed(a_csc, w, c, np.array(cols, dtype=np.int64))
        for j in list(reversed(cols)):
            rest = np.array([k for k in cols if k != j], dtype=np.int64)
            if _backed(a_csc, w, c, rest) >= value - WEIGHT_RTOL * max(1.0, value):
                cols = list(rest)
    tot = c.copy()
    order: list[int] = []
    gains: list[float] = []
    while cols:
        reach = [a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]] for j in cols]
        g = [float(w[r][tot[r] == 1].sum()) for r in reach]
        best = int(np.argmax(g))
        order.append(cols.pop(best))
        gains.append(g[best])
        tot[reach[best]] += 1
    idx = np.array(order, dtype=np.int64)
    gain = np.array(gains, dtype=np.float64)
    objective = offset + float(gain.sum())
    bound = out.bound
    gap = (bound - objective) / bound if np.isfinite(bound) and bound > 0 else (0.0 if bound == 0 else float("nan"))
    covered_once = float(w[(c + _counts(a_csc, idx)) >= 1].sum())
    cost = problem.candidate_cost[idx] if problem.candidate_cost is not None else np.ones(len(idx))
    report = ReductionReport(
        n_demand=problem.n_demand,
        n_candidates=problem.n_candidates,
        nnz=int(problem.cover.nnz),
        n_demand_reduced=len(rows),
        n_candidates_reduced=problem.n_candidates,
        nnz_reduced=int(problem.cover[rows].nnz),
        dropped_existing=int((c >= 2).sum()),
        dropped_uncoverable=int(((c < 2) & (c + np.diff(problem.cover.indptr) < 2)).sum()),
        merged_demand=0,
        dominated_candidates=0,
        seconds=0.0,
    )
    details: dict[str, Any] = {
        "covered_once": covered_once,
        "covered_once_share": covered_once / problem.total_population if problem.total_population > 0 else 1.0,
        "cannot_be_backed_up": report.dropped_uncoverable,
    }
    return SitingResult(
        model="backup",
        site_ids=problem.candidate_ids[idx],
        newly_covered=gain,
        site_cost=cost,
        objective=objective,
        existing_covered=offset,
        total_population=problem.total_population,
        n_sites=len(idx),
        cost=float(cost.sum()),
        bound=bound,
        gap=max(gap, 0.0) if np.isfinite(gap) else gap,
        status=out.status,
        solver=out.solver,
        seconds=time.perf_counter() - t0,
        reduction=report,
        details=details,
    )
