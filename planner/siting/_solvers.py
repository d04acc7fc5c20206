"""Shared vocabulary of the coverage solvers: side constraints, outputs, feasibility.

The solvers work on plain arrays, indexed ``0..m-1`` (demand rows) and ``0..n-1``
(candidate columns), after :mod:`planner.siting.models` has validated and reduced the
problem. Families:

* heuristics (:mod:`planner.siting._heuristics`), always available: lazy greedy on
  marginal gains (a heap of upper bounds, re-evaluated only when popped), a vectorised
  1-swap local search and iterated local search;
* Lagrangian relaxation of maximal covering (:mod:`planner.siting._lagrangian`): a
  proven bound and multipliers that seed a primal heuristic;
* the exact MIP through HiGHS (:mod:`planner.siting._highs`, ``highspy``), passed as CSR
  arrays in one call and warm-started with the heuristic solution; it reports the proven
  (dual) bound and gap.

Models (``w`` demand weights, ``A`` the 0/1 coverage matrix, ``x`` site choices):

* maximal covering: ``max w·y  s.t.  y_i <= sum_j A_ij x_j,  0 <= y <= 1``;
* set covering: ``min c·x  s.t.  A x >= 1`` (full) or ``w·y >= target`` (partial);

both with optional side constraints :class:`SideConstraints` (cardinality ``p``,
budget on ``c·x``, minimum / maximum number of sites per candidate group).
``y`` may stay continuous: for integral ``x`` the optimum sets ``y_i = min(1, A_i x)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

#: Relative tolerance when comparing covered weights (sums of populations).
WEIGHT_RTOL = 1e-9


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


def group_counts(side: SideConstraints, selected: NDArray[np.int64]) -> NDArray[np.int64]:
    """Number of selected columns per group code."""
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
        cnt = group_counts(side, selected)
        if np.any(cnt < side.group_min) or np.any(cnt > side.group_max):
            return False
    return True
