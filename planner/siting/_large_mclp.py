"""Large plain maximal covering (cardinality only) on both cores, with a proven bound.

HiGHS (:mod:`planner.siting._highs`) solves in its own thread — the MIP, or above
``LP_ROUTE_NNZ`` non-zeros the LP relaxation by interior point — beside a Lagrangian
bound, a Lagrangian heuristic (:mod:`planner.siting._lagrangian`) and iterated local
search (:mod:`planner.siting._heuristics`); the bound reported is always a proven one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from planner._errors import SolverError
from planner.siting import _heuristics, _highs, _lagrangian, _solvers
from planner.siting._solvers import SideConstraints, SolverOutput

logger = logging.getLogger(__name__)

#: While HiGHS solves the MIP in its own thread, the Lagrangian bound runs for this share
#: of HiGHS's time limit and then iterated local search until that limit, both stopping
#: as soon as HiGHS finishes.
LAGRANGE_TIME_SHARE = 0.75
#: Above this many reduced non-zeros HiGHS solves the LP relaxation (interior point)
#: instead of the MIP: measured on random 10,000 × 5,000 models (3.1e5 non-zeros) the
#: MIP did not finish its root LP in 10 s, the interior point method took ~8 s; on
#: 5,000 × 2,000 (1.7e5) the MIP proves the optimum in 1–3 s.
LP_ROUTE_NNZ = 250_000
#: Share of the time before HiGHS's limit for the Lagrangian dual when the LP gives the
#: bound: its multipliers start the search, its bound is the fallback if the LP is not
#: done in time.
LAGRANGE_TIME_SHARE_LP = 0.2
#: Lagrangian multipliers of the last smoothing levels tried as primal hints (plus the final ones).
LAGRANGE_HINTS = 2


def solve_large_max_cover(
    a_csc: sp.csc_matrix,
    w: NDArray[np.float64],
    start: NDArray[np.int64],
    *,
    p: int,
    offset: float,
    deadline: float,
    mip_rel_gap: float,
    t0: float,
) -> SolverOutput:
    """Plain maximal covering on a large model: both cores, a valid bound whatever happens.

    HiGHS works in its own thread: the exact MIP (warm-started) on models up to
    ``LP_ROUTE_NNZ`` non-zeros, above that the LP relaxation by interior point (whose
    duals give a bound close to the LP value; the MIP would not finish its root LP).
    Meanwhile this thread computes a Lagrangian bound and multipliers, turns them into
    sites (:func:`~planner.siting._lagrangian.lagrangian_heuristic`) and runs iterated local
    search until HiGHS stops, then on until the deadline. The reported bound is the
    smallest valid one.
    """
    a_csr = sp.csr_matrix(a_csc, dtype=np.float64)
    lp_route = a_csc.nnz >= LP_ROUTE_NNZ
    lower = _solvers.covered_weight(a_csc, w, start)
    found: dict[str, Any] = {"sel": start, "value": lower, "lagrange": np.inf}

    def keep(trial: NDArray[np.int64], what: str) -> None:
        value = _solvers.covered_weight(a_csc, w, trial)
        logger.info("%s: %.9g (best so far %.9g)", what, value, found["value"])
        if value > found["value"]:
            found["sel"], found["value"] = trial, value

    def background(running: Callable[[], bool]) -> None:
        highs_done = lambda: not running()  # noqa: E731
        # the bound is not needed once HiGHS has one; the search stops with the MIP (whose
        # answer may be optimal) but goes on to the deadline beside the LP (which gives none)
        stop: Callable[[], bool] = (lambda: False) if lp_route else highs_done
        now = time.perf_counter()
        end = min(deadline, highs_end)
        hints: list[NDArray[np.float64]] = []
        share = LAGRANGE_TIME_SHARE_LP if lp_route else LAGRANGE_TIME_SHARE
        bound, lam = _lagrangian.lagrangian_dual(
            a_csc,
            w,
            p=p,
            lower=lower,
            deadline=now + share * max(end - now, 0.0),
            max_iter=1_000_000,
            should_stop=highs_done,
            on_level=hints.append,
        )
        found["lagrange"] = offset + bound
        end = deadline if lp_route else end
        for hint in [*hints[-LAGRANGE_HINTS:], lam]:
            if stop() or time.perf_counter() > end:
                break
            keep(_lagrangian.lagrangian_heuristic(a_csc, w, hint, p=p, deadline=end), "Lagrangian heuristic")
        keep(_heuristics.perturb_improve(a_csc, w, found["sel"], deadline=end, should_stop=stop), "local search")

    # HiGHS stops on its limit only at its next check: up to ~1.5 s late in the MIP on
    # large models, one iteration (~0.3 s) in the interior point method
    remaining = max(deadline - time.perf_counter(), 0.1)
    remaining = max(remaining - min(0.3 if lp_route else 1.5, 0.15 * remaining), 0.1)
    highs_end = time.perf_counter() + remaining
    if lp_route:
        lp = _highs.highs_lp_relaxation(a_csr, w, p=p, time_limit_s=remaining, background=background)
        bound, status, solver = offset + lp.bound, "time_limit", "lp+lagrange+ils"
    else:
        try:
            out = _highs.highs_max_cover(
                a_csr,
                w,
                side=SideConstraints(p=p),
                offset=offset,
                start=start,
                time_limit_s=remaining,
                mip_rel_gap=mip_rel_gap,
                background=background,
            )
        except SolverError as err:
            if err.key != "siting.error.no_solution":
                raise
            out = SolverOutput(start, offset + lower, np.inf, "time_limit", "greedy+swap", time.perf_counter() - t0)
        keep(out.selected, "HiGHS")
        bound, status, solver = out.bound, out.status, out.solver
        if status != "optimal":
            solver = "highs+lagrange+ils"
    if status != "optimal" and time.perf_counter() < deadline:
        # HiGHS stops early to be sure to meet its limit (or the LP bound left the
        # search with nothing to do): search on until the deadline
        keep(_heuristics.perturb_improve(a_csc, w, found["sel"], deadline=deadline, seed=1), "local search")
    objective = offset + found["value"]
    bound = min(bound, found["lagrange"])
    if objective >= bound - _solvers.WEIGHT_RTOL * max(1.0, abs(bound)):
        status = "optimal"
    return SolverOutput(found["sel"], objective, bound, status, solver, time.perf_counter() - t0)
