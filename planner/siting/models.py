"""Propose new station sites: coverage models on a sparse demand × candidate structure.

A :class:`CoverageProblem` holds which candidate site covers which demand point within
the standard (a boolean SciPy CSR matrix), the population per demand point, and which
demand existing stations already cover. It is independent of the road network: the
network side (or a planner's own travel-time table, :meth:`CoverageProblem.from_cost_matrix`)
only builds the matrix.

Models, each returning a :class:`SitingResult`:

* :func:`maximal_covering` — ``p`` new sites (and/or a budget) covering the most
  population not covered today (MCLP, Church & ReVelle 1974);
* :func:`set_covering` — fewest (or cheapest) new sites covering all coverable demand or
  a target share of the total population (LSCP, Toregas et al. 1971; partial covering);
* :func:`multi_tier` — one problem per tier, each with its own ``p`` / budget;
* :func:`removal_ranking` and :func:`keep_best` — the reverse question (资源整合): which
  existing stations lose the least coverage when closed, and which ``q`` to keep.

Every model accepts per-township minimum / maximum numbers of sites (``group_min``,
``group_max``, keyed by the candidates' township label). Before solving, the problem is
reduced (:func:`reduce_problem`): demand already covered or unreachable is dropped,
demand rows with identical candidate sets are merged, and dominated candidates are
dropped. Solvers (:mod:`planner.siting._solvers`): ``"greedy"`` (lazy greedy + 1-swap),
``"highs"`` (exact MIP, warm-started from the heuristic, with proven bound and gap).
Large plain MCLP models use both cores (:func:`_solve_large_max_cover`): HiGHS (the
MIP, or above ``LP_ROUTE_NNZ`` non-zeros the LP relaxation by interior point) beside a
Lagrangian bound, a Lagrangian heuristic and iterated local search; the bound reported
is always a proven one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from planner._errors import InputError, SitingError, SolverError
from planner.siting import _solvers
from planner.siting._solvers import SideConstraints, SolverOutput

logger = logging.getLogger(__name__)

Solver = Literal["highs", "greedy"]

#: Default MIP time limit (s) and relative gap at which HiGHS stops.
DEFAULT_TIME_LIMIT_S = 60.0
DEFAULT_MIP_REL_GAP = 1e-6
#: Large plain MCLP (reduced non-zeros at least this): while HiGHS solves in its own
#: thread, the Lagrangian bound runs for LAGRANGE_TIME_SHARE of HiGHS's time limit and
#: then iterated local search until that limit, both stopping as soon as HiGHS finishes.
LARGE_NNZ = 50_000
#: Seconds of the time limit kept for ranking the chosen sites and building the result.
RESULT_RESERVE_S = 0.25
LAGRANGE_TIME_SHARE = 0.75
#: Above this many reduced non-zeros HiGHS solves the LP relaxation (interior point)
#: instead of the MIP: measured on random 10,000 × 5,000 models (3.1e5 non-zeros) the
#: MIP did not finish its root LP in 10 s, the interior point method took ~8 s; on
#: 5,000 × 2,000 (1.7e5) the MIP proves the optimum in 1–3 s.
LP_ROUTE_NNZ = 250_000
#: Share of the time before HiGHS's limit for the Lagrangian dual when the LP gives the
#: bound: its multipliers start the search, its bound is the fallback if the LP is not
#: done in time. Uniform 10k × 5k, 10 s, 3–6 runs: gap median 0.93 % (0.5), 0.87 % (0.3),
#: 0.785 % (0.2), 0.89 % (0.1).
LAGRANGE_TIME_SHARE_LP = 0.2
#: Lagrangian multipliers of the last smoothing levels tried as primal hints (plus the final ones).
LAGRANGE_HINTS = 2
#: Rows checked per candidate pair before the full subset test in domination.
PREFILTER_ROWS = 3
#: How many ids an error message lists before "..." .
MAX_IDS_IN_MESSAGE = 10


def _ids_text(ids: ArrayLike) -> str:
    vals = [str(v) for v in np.asarray(ids, dtype=object).ravel()]
    more = "" if len(vals) <= MAX_IDS_IN_MESSAGE else f" … (+{len(vals) - MAX_IDS_IN_MESSAGE})"
    return ", ".join(vals[:MAX_IDS_IN_MESSAGE]) + more


# =========================================================================== problem


@dataclass(frozen=True, eq=False)
class CoverageProblem:
    """Which candidate covers which demand point, and who is covered today.

    Parameters
    ----------
    cover
        Boolean ``(n_demand, n_candidates)`` CSR matrix: ``cover[i, j]`` is true when
        candidate ``j`` reaches demand ``i`` within the standard.
    weights
        Population per demand point (≥ 0).
    covered_by_existing
        Boolean per demand point: already within the standard of an existing station.
    demand_ids, candidate_ids
        Identifiers (unique) of rows and columns.
    candidate_cost
        Optional cost per candidate (≥ 0), for budgets and least-cost covering.
    demand_group
        Optional label (township) per demand point, for per-township reports.
    candidate_group
        Optional label (township) per candidate, for per-township quotas.
    """

    cover: sp.csr_matrix
    weights: NDArray[np.float64]
    covered_by_existing: NDArray[np.bool_]
    demand_ids: NDArray[Any]
    candidate_ids: NDArray[Any]
    candidate_cost: NDArray[np.float64] | None = None
    demand_group: NDArray[Any] | None = None
    candidate_group: NDArray[Any] | None = None

    def __post_init__(self) -> None:
        cover = self.cover
        if not sp.issparse(cover):
            raise InputError("siting.error.not_sparse", kind=type(cover).__name__)
        cover = sp.csr_matrix(cover, dtype=bool)
        cover.eliminate_zeros()
        cover.sum_duplicates()
        cover.sort_indices()
        m, n = cover.shape
        weights = np.asarray(self.weights, dtype=np.float64).ravel()
        existing = np.asarray(self.covered_by_existing, dtype=bool).ravel()
        demand_ids = np.asarray(self.demand_ids).ravel()
        candidate_ids = np.asarray(self.candidate_ids).ravel()
        for name, arr, size in (
            ("weights", weights, m),
            ("covered_by_existing", existing, m),
            ("demand_ids", demand_ids, m),
            ("candidate_ids", candidate_ids, n),
        ):
            if len(arr) != size:
                raise InputError("siting.error.length_mismatch", name=name, length=len(arr), expected=size)
        bad = ~np.isfinite(weights) | (weights < 0)
        if bad.any():
            raise InputError(
                "siting.error.negative_population",
                source="weights",
                row=int(np.argmax(bad)) + 1,
                ids=_ids_text(demand_ids[bad]),
            )
        _check_unique(demand_ids, what="demand")
        _check_unique(candidate_ids, what="candidates")
        object.__setattr__(self, "cover", cover)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "covered_by_existing", existing)
        object.__setattr__(self, "demand_ids", demand_ids)
        object.__setattr__(self, "candidate_ids", candidate_ids)
        if self.candidate_cost is not None:
            cost = np.asarray(self.candidate_cost, dtype=np.float64).ravel()
            if len(cost) != n:
                raise InputError("siting.error.length_mismatch", name="candidate_cost", length=len(cost), expected=n)
            bad = ~np.isfinite(cost) | (cost < 0)
            if bad.any():
                raise InputError(
                    "siting.error.bad_cost", row=int(np.argmax(bad)) + 1, ids=_ids_text(candidate_ids[bad])
                )
            object.__setattr__(self, "candidate_cost", cost)
        for name, labels, size in (
            ("demand_group", self.demand_group, m),
            ("candidate_group", self.candidate_group, n),
        ):
            if labels is not None:
                arr = np.asarray(labels, dtype=object).ravel()
                if len(arr) != size:
                    raise InputError("siting.error.length_mismatch", name=name, length=len(arr), expected=size)
                object.__setattr__(self, name, arr)

    # ------------------------------------------------------------------ sizes
    @property
    def n_demand(self) -> int:
        """Number of demand points."""
        return int(self.cover.shape[0])

    @property
    def n_candidates(self) -> int:
        """Number of candidate sites."""
        return int(self.cover.shape[1])

    @property
    def total_population(self) -> float:
        """Total population of all demand points."""
        return float(self.weights.sum())

    @property
    def existing_population(self) -> float:
        """Population already covered by existing stations."""
        return float(self.weights[self.covered_by_existing].sum())

    @property
    def coverable(self) -> NDArray[np.bool_]:
        """Demand points some candidate reaches."""
        return np.diff(self.cover.indptr) > 0

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_cost_matrix(
        cls,
        costs: pd.DataFrame,
        *,
        demand: pd.DataFrame,
        candidates: pd.DataFrame,
        minutes: float,
        existing_site_ids: Sequence[Any] = (),
        source: str = "cost matrix",
    ) -> CoverageProblem:
        """Build a problem from a long-format travel-time table.

        Parameters
        ----------
        costs
            One row per reachable pair: columns ``demand_id``, ``site_id``, ``minutes``.
            Pairs not listed are not reachable. Rows with ``minutes`` above the standard
            are ignored; the matrix is built sparse (never dense).
        demand
            Columns ``id`` and ``population`` (optional: every point weighs 1 without
            it) and optionally ``township``.
        candidates
            Column ``id``, optionally ``cost`` and ``township`` (``lon``/``lat`` and
            other columns are ignored here).
        minutes
            The service standard N: demand within ``minutes`` of a site is covered.
        existing_site_ids
            Sites in ``costs`` that already exist; their coverage is fixed.
        source
            Name of the cost table used in error messages (e.g. its file name).
        """
        if not np.isfinite(minutes) or minutes <= 0:
            raise InputError("siting.error.bad_minutes", minutes=minutes)
        _require_columns(costs, ("demand_id", "site_id", "minutes"), source=source)
        _require_columns(demand, ("id",), source="demand")
        _require_columns(candidates, ("id",), source="candidates")
        demand_ids = demand["id"].to_numpy()
        cand_all = candidates["id"].to_numpy()
        _check_unique(demand_ids, what="demand")
        _check_unique(cand_all, what="candidates")
        existing_ids = np.asarray(list(existing_site_ids), dtype=object)
        in_existing = pd.Index(cand_all).isin(existing_ids)
        if in_existing.any():
            logger.warning("%d candidate(s) are existing stations and are not proposed again", int(in_existing.sum()))
        cand_keep = ~np.asarray(in_existing)
        cand_ids = cand_all[cand_keep]
        if len(cand_ids) == 0:
            raise SitingError("siting.error.no_candidates")

        if "population" in demand.columns:
            pop = pd.to_numeric(demand["population"], errors="coerce").to_numpy(dtype=np.float64)
            bad = ~np.isfinite(pop) | (pop < 0)
            if bad.any():
                row = int(np.argmax(bad))
                raise InputError(
                    "siting.error.negative_population", source="demand", row=row + 1, ids=_ids_text(demand_ids[bad])
                )
        else:
            logger.info("demand has no population column: every point weighs 1")
            pop = np.ones(len(demand_ids))

        mins = pd.to_numeric(costs["minutes"], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(mins) | (mins < 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(
                "siting.error.bad_minutes_row", source=source, row=row + 1, value=costs["minutes"].iloc[row]
            )
        d_idx = pd.Index(demand_ids).get_indexer(costs["demand_id"])
        if (d_idx < 0).any():
            row = int(np.argmax(d_idx < 0))
            unknown = pd.unique(costs["demand_id"].to_numpy()[d_idx < 0])
            raise InputError("siting.error.unknown_demand", source=source, row=row + 1, ids=_ids_text(unknown))
        site_col = costs["site_id"]
        c_idx = pd.Index(cand_ids).get_indexer(site_col)
        is_existing = site_col.isin(existing_ids).to_numpy() if len(existing_ids) else np.zeros(len(costs), bool)
        unknown_site = (c_idx < 0) & ~is_existing
        if unknown_site.any():
            row = int(np.argmax(unknown_site))
            raise InputError(
                "siting.error.unknown_site",
                source=source,
                row=row + 1,
                ids=_ids_text(pd.unique(site_col.to_numpy()[unknown_site])),
            )
        missing_existing = ~pd.Index(existing_ids).isin(site_col.to_numpy()) if len(existing_ids) else np.zeros(0, bool)
        if np.any(missing_existing):
            logger.warning(
                "existing stations absent from %s (they cover nothing): %s",
                source,
                _ids_text(existing_ids[missing_existing]),
            )

        within = mins <= minutes
        new_pair = within & (c_idx >= 0)
        cover = sp.csr_matrix(
            (np.ones(int(new_pair.sum()), dtype=bool), (d_idx[new_pair], c_idx[new_pair])),
            shape=(len(demand_ids), len(cand_ids)),
        )
        existing = np.zeros(len(demand_ids), dtype=bool)
        existing[d_idx[within & is_existing]] = True

        cost = None
        if "cost" in candidates.columns:
            cost_all = pd.to_numeric(candidates["cost"], errors="coerce").to_numpy(dtype=np.float64)
            bad = ~np.isfinite(cost_all) | (cost_all < 0)
            if bad.any():
                raise InputError("siting.error.bad_cost", row=int(np.argmax(bad)) + 1, ids=_ids_text(cand_all[bad]))
            cost = cost_all[cand_keep]
        cand_group = candidates["township"].to_numpy(dtype=object)[cand_keep] if "township" in candidates else None
        dem_group = demand["township"].to_numpy(dtype=object) if "township" in demand else None
        return cls(
            cover=cover,
            weights=pop,
            covered_by_existing=existing,
            demand_ids=demand_ids,
            candidate_ids=cand_ids,
            candidate_cost=cost,
            demand_group=dem_group,
            candidate_group=cand_group,
        )

    @classmethod
    def from_dense(
        cls,
        distance: ArrayLike,
        *,
        max_distance: float,
        weights: ArrayLike | None = None,
        existing: ArrayLike | None = None,
        demand_ids: ArrayLike | None = None,
        candidate_ids: ArrayLike | None = None,
    ) -> CoverageProblem:
        """Build a problem from a dense ``(n_demand, n_candidates)`` distance matrix.

        For small classic instances (Swain 55 nodes, spopt fixtures): ``i`` is covered by
        ``j`` when ``distance[i, j] <= max_distance``. ``existing`` (optional, indices or
        booleans over columns) marks columns that are existing stations: their coverage
        is fixed and they are not candidates.
        """
        dist = np.asarray(distance, dtype=np.float64)
        if dist.ndim != 2:
            raise InputError("siting.error.not_matrix", shape=str(dist.shape))
        m, n = dist.shape
        w = np.ones(m) if weights is None else np.asarray(weights, dtype=np.float64)
        d_ids = np.arange(m) if demand_ids is None else np.asarray(demand_ids)
        c_ids = np.arange(n) if candidate_ids is None else np.asarray(candidate_ids)
        within = dist <= max_distance
        is_existing = np.zeros(n, dtype=bool)
        if existing is not None:
            ex = np.asarray(existing)
            if ex.dtype == bool:
                is_existing = ex.copy()
            else:
                is_existing[ex.astype(np.int64)] = True
        return cls(
            cover=sp.csr_matrix(within[:, ~is_existing]),
            weights=w,
            covered_by_existing=np.asarray(within[:, is_existing].any(axis=1), dtype=bool),
            demand_ids=d_ids,
            candidate_ids=c_ids[~is_existing],
        )


def _require_columns(df: pd.DataFrame, cols: Sequence[str], *, source: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(
            "siting.error.missing_columns",
            source=source,
            columns=", ".join(missing),
            found=", ".join(map(str, df.columns)),
        )


def _check_unique(ids: NDArray[Any], *, what: str) -> None:
    dup = pd.Index(ids).duplicated()
    if dup.any():
        raise InputError("siting.error.duplicate_ids", what=what, row=int(np.argmax(dup)) + 1, ids=_ids_text(ids[dup]))


# =========================================================================== reduction


@dataclass(frozen=True)
class ReductionReport:
    """Sizes before and after :func:`reduce_problem`."""

    n_demand: int
    n_candidates: int
    nnz: int
    n_demand_reduced: int
    n_candidates_reduced: int
    nnz_reduced: int
    dropped_existing: int
    dropped_uncoverable: int
    merged_demand: int
    dominated_candidates: int
    seconds: float


@dataclass(frozen=True, eq=False)
class ReducedProblem:
    """The problem the solvers see: rows are merged demand classes, columns kept candidates."""

    cover: sp.csr_matrix
    weights: NDArray[np.float64]
    columns: NDArray[np.int64]
    report: ReductionReport


def reduce_problem(
    problem: CoverageProblem,
    *,
    keep_rows: NDArray[np.bool_] | None = None,
    cost: NDArray[np.float64] | None = None,
    group: NDArray[np.int64] | None = None,
    drop_dominated: bool = True,
) -> ReducedProblem:
    """Shrink a problem without changing its optimum.

    1. drop demand covered by existing stations or reached by no candidate;
    2. merge demand rows with identical candidate sets (weights summed);
    3. drop a candidate ``j`` whose covered rows are a subset of another candidate
       ``k``'s, when ``k`` is no dearer (``cost``) and in the same quota ``group`` —
       swapping ``j`` for ``k`` in any solution keeps it feasible and no worse. Ties
       (identical columns, equal cost) keep the lowest index.

    Parameters
    ----------
    keep_rows
        Demand rows to consider (default: those not covered by existing stations).
    cost, group
        Candidate costs and quota group codes that domination must respect.
    drop_dominated
        Set ``False`` to keep every candidate (e.g. when every column must stay).
    """
    t0 = time.perf_counter()
    a = problem.cover
    m, n = a.shape
    if keep_rows is None:
        keep_rows = ~problem.covered_by_existing
    coverable = np.diff(a.indptr) > 0
    rows = np.flatnonzero(keep_rows & coverable)
    dropped_existing = int((~keep_rows).sum())
    dropped_uncoverable = int((keep_rows & ~coverable).sum())
    sub = a[rows]
    w = problem.weights[rows]
    sub, w = _merge_identical_rows(sp.csr_matrix(sub), w)
    columns = np.arange(n, dtype=np.int64)
    n_dominated = 0
    if drop_dominated and n > 1:
        keep_cols = _undominated_columns(sub, cost=cost, group=group)
        n_dominated = int(n - keep_cols.sum())
        columns = columns[keep_cols]
        sub = sp.csr_matrix(sub[:, keep_cols])
    report = ReductionReport(
        n_demand=m,
        n_candidates=n,
        nnz=int(a.nnz),
        n_demand_reduced=int(sub.shape[0]),
        n_candidates_reduced=int(sub.shape[1]),
        nnz_reduced=int(sub.nnz),
        dropped_existing=dropped_existing,
        dropped_uncoverable=dropped_uncoverable,
        merged_demand=int(len(rows) - sub.shape[0]),
        dominated_candidates=n_dominated,
        seconds=time.perf_counter() - t0,
    )
    logger.info(
        "reduced %d×%d (nnz %d) to %d×%d (nnz %d) in %.3f s",
        m,
        n,
        a.nnz,
        sub.shape[0],
        sub.shape[1],
        sub.nnz,
        report.seconds,
    )
    return ReducedProblem(cover=sub, weights=w, columns=columns, report=report)


def _row_hashes(a: sp.csr_matrix, seed: int) -> NDArray[np.uint64]:
    """Order-independent 64-bit hash of each row's column set."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, np.iinfo(np.uint64).max, size=a.shape[1], dtype=np.uint64, endpoint=True)
    vals = keys[a.indices]
    row_of = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
    out = np.zeros(a.shape[0], dtype=np.uint64)
    np.add.at(out, row_of, vals)  # wraps modulo 2**64
    return out


def _merge_identical_rows(a: sp.csr_matrix, w: NDArray[np.float64]) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
    """Merge rows with equal column sets (two 64-bit hashes, then verified exactly)."""
    if a.shape[0] < 2:
        return a, w
    h = np.stack([_row_hashes(a, 1), _row_hashes(a, 2), np.diff(a.indptr).astype(np.uint64)], axis=1)
    _, first, inverse = np.unique(h, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if len(first) == a.shape[0]:
        return a, w
    rep = a[first[inverse]]
    a_b = sp.csr_matrix(a, dtype=np.int8)
    if (a_b - sp.csr_matrix(rep, dtype=np.int8)).count_nonzero():
        logger.warning("row hash collision: demand rows are not merged")
        return a, w
    merged_w = np.bincount(inverse, weights=w, minlength=len(first)).astype(np.float64)
    return sp.csr_matrix(a[first]), merged_w


def _undominated_columns(
    a: sp.csr_matrix,
    *,
    cost: NDArray[np.float64] | None,
    group: NDArray[np.int64] | None,
) -> NDArray[np.bool_]:
    """Mask of columns not dominated by another column (see :func:`reduce_problem`).

    Only columns sharing ``j``'s rarest row can contain ``j``; for each such pair the
    rows of ``j`` are looked up in ``k`` (a sorted key search), all vectorised.
    """
    m, n = a.shape
    csc = sp.csc_matrix(a)
    csc.sort_indices()
    col_len = np.diff(csc.indptr)
    row_deg = np.diff(a.indptr)
    cost_v = np.zeros(n) if cost is None else cost
    group_v = np.zeros(n, dtype=np.int64) if group is None else group
    keep = np.ones(n, dtype=bool)
    empty = col_len == 0
    if empty.any():
        # an empty column is dominated by any column of its group no dearer than it
        order = np.lexsort((np.arange(n), cost_v, group_v))
        g_sorted = group_v[order]
        first_in_group = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
        champion = np.full(int(group_v.max()) + 1, -1, dtype=np.int64)
        champion[g_sorted[first_in_group]] = order[first_in_group]
        keep[empty & (champion[group_v] != np.arange(n))] = False
    cols = np.flatnonzero(~empty)
    if len(cols) == 0:
        return keep
    # rarest row of each non-empty column
    row_of_entry = csc.indices
    col_of_entry = np.repeat(np.arange(n), col_len)
    deg_entry = row_deg[row_of_entry]
    order = np.lexsort((deg_entry, col_of_entry))
    first_entry = np.r_[0, np.cumsum(col_len)[:-1]]
    rarest = row_of_entry[order][first_entry[cols]]
    # candidate pairs (j, k): k in rarest row of j, k != j
    starts, lens = a.indptr[rarest], row_deg[rarest]
    pair_j = np.repeat(cols, lens)
    offs = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    pair_k = a.indices[np.repeat(starts, lens) + offs]
    ok = pair_k != pair_j
    ok &= col_len[pair_k] >= col_len[pair_j]
    ok &= group_v[pair_k] == group_v[pair_j]
    ok &= cost_v[pair_k] <= cost_v[pair_j]
    same_size = col_len[pair_k] == col_len[pair_j]
    # strict order for equal columns: cheaper wins, then lower index
    tie = same_size & (cost_v[pair_k] == cost_v[pair_j]) & (pair_k > pair_j)
    ok &= ~tie
    pair_j, pair_k = pair_j[ok], pair_k[ok]
    if len(pair_j) == 0:
        return keep
    # check rows(j) ⊆ rows(k) by looking up (k, row) keys among the non-zeros; first
    # only j's next-rarest rows (most pairs fail there), then all rows of the survivors
    nz_keys = np.sort(col_of_entry.astype(np.int64) * m + row_of_entry)
    rows_by_rarity = row_of_entry[order]

    def contains(k: NDArray[np.int64], rows: NDArray[np.int64]) -> NDArray[np.bool_]:
        query = k.astype(np.int64) * m + rows
        pos = np.minimum(np.searchsorted(nz_keys, query), len(nz_keys) - 1)
        return np.asarray(nz_keys[pos] == query)

    for t in range(1, PREFILTER_ROWS + 1):
        has_t = col_len[pair_j] > t
        ok = np.ones(len(pair_j), dtype=bool)
        idx = np.flatnonzero(has_t)
        ok[idx] = contains(pair_k[idx], rows_by_rarity[first_entry[pair_j[idx]] + t])
        pair_j, pair_k = pair_j[ok], pair_k[ok]
    plen = col_len[pair_j]
    pid = np.repeat(np.arange(len(pair_j)), plen)
    offs = np.arange(int(plen.sum())) - np.repeat(np.cumsum(plen) - plen, plen)
    rows_j = csc.indices[np.repeat(csc.indptr[pair_j], plen) + offs]
    hit = contains(pair_k[pid], rows_j)
    hits = np.bincount(pid, weights=hit, minlength=len(pair_j))
    dominated = pair_j[hits == plen]
    keep[dominated] = False
    return keep


# =========================================================================== results


@dataclass(frozen=True, eq=False)
class SitingResult:
    """Outcome of a siting model.

    Attributes
    ----------
    model
        ``"mclp"``, ``"set_cover"``, ``"partial_cover"`` or ``"keep"``.
    site_ids
        Selected candidate ids in rank order (largest marginal new coverage first).
    newly_covered
        Population each site adds, in rank order (marginal to existing + earlier sites).
    objective
        Covered population including what existing stations cover (for set covering
        too; ``n_sites`` / ``cost`` are what was minimised).
    bound
        Proven bound on the minimised / maximised quantity (covered population for
        MCLP; number or cost of sites for covering). ``nan`` for heuristics.
    gap
        Relative gap between objective and bound (0 when proven optimal).
    """

    model: str
    site_ids: NDArray[Any]
    newly_covered: NDArray[np.float64]
    site_cost: NDArray[np.float64]
    objective: float
    existing_covered: float
    total_population: float
    n_sites: int
    cost: float
    bound: float
    gap: float
    status: str
    solver: str
    seconds: float
    reduction: ReductionReport
    uncoverable_ids: NDArray[Any] = field(default_factory=lambda: np.zeros(0, dtype=object))

    @property
    def newly_covered_total(self) -> float:
        """Population covered by the new sites only."""
        return float(self.newly_covered.sum())

    @property
    def covered_share(self) -> float:
        """Share of the total population covered (existing + new)."""
        return self.objective / self.total_population if self.total_population > 0 else 1.0

    def to_frame(self) -> pd.DataFrame:
        """Proposals as a table: rank, site_id, newly_covered, cost."""
        return pd.DataFrame(
            {
                "rank": np.arange(1, self.n_sites + 1),
                "site_id": self.site_ids,
                "newly_covered": self.newly_covered,
                "cost": self.site_cost,
            }
        )

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (model, objective, bound, gap, solver, seconds, sizes)."""
        r = self.reduction
        return {
            "model": self.model,
            "objective": self.objective,
            "existing_covered": self.existing_covered,
            "newly_covered": self.newly_covered_total,
            "total_population": self.total_population,
            "covered_share": self.covered_share,
            "n_sites": self.n_sites,
            "cost": self.cost,
            "bound": None if np.isnan(self.bound) else self.bound,
            "gap": None if np.isnan(self.gap) else self.gap,
            "status": self.status,
            "solver": self.solver,
            "seconds": self.seconds,
            "reduction": {
                "demand": [r.n_demand, r.n_demand_reduced],
                "candidates": [r.n_candidates, r.n_candidates_reduced],
                "nnz": [r.nnz, r.nnz_reduced],
            },
        }


def rank_sites(
    problem: CoverageProblem, columns: NDArray[np.int64], *, covered: NDArray[np.bool_] | None = None
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Order ``columns`` by marginal new coverage (greedy over the chosen set).

    Returns the ordered columns and the population each adds given the existing
    coverage (or ``covered``) and the sites ranked before it.
    """
    cols = np.asarray(columns, dtype=np.int64)
    hit = problem.covered_by_existing.copy() if covered is None else covered.copy()
    a_s = sp.csc_matrix(problem.cover[:, cols], dtype=np.float64)
    w = problem.weights
    order: list[int] = []
    gains: list[float] = []
    remaining = np.ones(len(cols), dtype=bool)
    for _ in range(len(cols)):
        g = np.asarray(a_s.T @ (w * ~hit)).ravel()
        g[~remaining] = -np.inf
        best = int(np.argmax(g))
        order.append(best)
        gains.append(float(g[best]))
        remaining[best] = False
        hit[a_s.indices[a_s.indptr[best] : a_s.indptr[best + 1]]] = True
    return cols[np.array(order, dtype=np.int64)].astype(np.int64), np.array(gains, dtype=np.float64)


# =========================================================================== models


def _quota_side(
    problem: CoverageProblem,
    *,
    group_min: Mapping[Any, int] | None,
    group_max: Mapping[Any, int] | None,
) -> tuple[NDArray[np.int64] | None, NDArray[np.int64] | None, NDArray[np.int64] | None, NDArray[Any]]:
    """Encode township quotas as group codes and per-code min / max arrays."""
    if not group_min and not group_max:
        return None, None, None, np.zeros(0, dtype=object)
    if problem.candidate_group is None:
        raise SitingError("siting.error.no_groups")
    labels = pd.Series(problem.candidate_group, dtype=object).fillna("")
    codes, uniques = pd.factorize(labels)
    uniq = np.asarray(uniques, dtype=object)
    big = np.iinfo(np.int64).max // 2
    gmin = np.zeros(len(uniq), dtype=np.int64)
    gmax = np.full(len(uniq), big, dtype=np.int64)
    pos = {u: i for i, u in enumerate(uniq)}
    for bounds, arr in ((group_min or {}, gmin), (group_max or {}, gmax)):
        for label, v in bounds.items():
            if label not in pos:
                raise SitingError("siting.error.unknown_group", group=label, known=_ids_text(uniq))
            if int(v) < 0:
                raise SitingError("siting.error.bad_quota", group=label, value=v)
            arr[pos[label]] = int(v)
    size = np.bincount(codes, minlength=len(uniq))
    short = gmin > np.minimum(size, gmax)
    if short.any():
        g = int(np.argmax(short))
        raise SitingError(
            "siting.error.quota_infeasible", group=uniq[g], minimum=int(gmin[g]), available=int(min(size[g], gmax[g]))
        )
    return codes.astype(np.int64), gmin, gmax, uniq


def _side_for(
    problem: CoverageProblem,
    reduced: ReducedProblem | None,
    *,
    p: int | None,
    budget: float | None,
    codes: NDArray[np.int64] | None,
    gmin: NDArray[np.int64] | None,
    gmax: NDArray[np.int64] | None,
) -> SideConstraints:
    cols = reduced.columns if reduced is not None else np.arange(problem.n_candidates)
    cost = problem.candidate_cost[cols] if problem.candidate_cost is not None else None
    return SideConstraints(
        p=p,
        cost=cost,
        budget=budget,
        group=None if codes is None else codes[cols],
        group_min=gmin,
        group_max=gmax,
    )


def _check_options(*, solver: str, time_limit_s: float, mip_rel_gap: float) -> None:
    if solver not in ("highs", "greedy"):
        raise SitingError("siting.error.bad_solver", solver=solver)
    if not time_limit_s > 0:
        raise SitingError("siting.error.bad_option", name="time_limit_s", value=time_limit_s)
    if not 0 <= mip_rel_gap < 1:
        raise SitingError("siting.error.bad_option", name="mip_rel_gap", value=mip_rel_gap)


def maximal_covering(
    problem: CoverageProblem,
    *,
    p: int | None,
    budget: float | None = None,
    group_min: Mapping[Any, int] | None = None,
    group_max: Mapping[Any, int] | None = None,
    solver: Solver = "highs",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    model: str = "mclp",
) -> SitingResult:
    """Choose up to ``p`` new sites (and/or within ``budget``) covering the most population.

    Existing stations stay; the objective counts the population they cover plus what the
    new sites newly cover. Sites that would add nothing are not proposed, so fewer than
    ``p`` sites are returned when fewer suffice.

    Parameters
    ----------
    problem
        The coverage problem.
    p
        Number of new sites (``None``: limited by ``budget`` only).
    budget
        Maximum total ``candidate_cost`` of the new sites.
    group_min, group_max
        Minimum / maximum number of new sites per township (``candidate_group`` label).
    solver
        ``"highs"`` (exact MIP, warm-started from greedy + swap) or ``"greedy"``.
    time_limit_s
        Time limit for the whole solve; the best solution and bound so far are returned.
    mip_rel_gap
        Relative gap at which HiGHS stops.
    model
        Label stored in the result.
    """
    t0 = time.perf_counter()
    _check_options(solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if p is None and budget is None:
        raise SitingError("siting.error.no_limit")
    if problem.n_candidates == 0:
        raise SitingError("siting.error.no_candidates")
    if p is not None:
        if p < 0:
            raise SitingError("siting.error.bad_p", p=p)
        if p > problem.n_candidates:
            raise SitingError("siting.error.p_too_large", p=p, n=problem.n_candidates)
    if budget is not None:
        if problem.candidate_cost is None:
            raise SitingError("siting.error.budget_without_cost")
        if not budget >= 0:
            raise SitingError("siting.error.bad_option", name="budget", value=budget)
    codes, gmin, gmax, _ = _quota_side(problem, group_min=group_min, group_max=group_max)
    if p is not None and gmin is not None and int(gmin.sum()) > p:
        raise SitingError("siting.error.quota_exceeds_p", total=int(gmin.sum()), p=p)
    reduced = reduce_problem(problem, cost=problem.candidate_cost, group=codes)
    side = _side_for(problem, reduced, p=p, budget=budget, codes=codes, gmin=gmin, gmax=gmax)
    out = _solve_max_cover(
        reduced,
        side,
        offset=problem.existing_population,
        solver=solver,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        t0=t0,
    )
    return _result(problem, reduced, out, model=model, t0=t0, maximise=True, drop_idle=gmin is None)


def _solve_max_cover(
    reduced: ReducedProblem,
    side: SideConstraints,
    *,
    offset: float,
    solver: Solver,
    time_limit_s: float,
    mip_rel_gap: float,
    t0: float,
) -> SolverOutput:
    a_csc = sp.csc_matrix(reduced.cover, dtype=np.float64)
    w = reduced.weights
    n = a_csc.shape[1]
    # keep a little time for ranking the sites and building the result
    deadline = t0 + time_limit_s - min(RESULT_RESERVE_S, 0.05 * time_limit_s)
    th = time.perf_counter()
    start = _solvers.greedy_max_cover(a_csc, w, side=side)
    if side.p is not None and len(start) == side.p:
        start = _solvers.swap_improve(a_csc, w, start, side=side, deadline=deadline)
    heuristic_ok = _solvers.feasible(side, start, n)
    value = offset + _solvers.covered_weight(a_csc, w, start)
    if solver == "greedy" or a_csc.shape[0] == 0:
        if not heuristic_ok:
            raise SitingError("siting.error.heuristic_infeasible")
        status = "optimal" if a_csc.shape[0] == 0 else "heuristic"
        bound = value if a_csc.shape[0] == 0 else float("nan")
        return SolverOutput(start, value, bound, status, "greedy+swap", time.perf_counter() - th)
    plain = side.p is not None and side.budget is None and not side.has_quotas
    if plain and heuristic_ok and a_csc.nnz >= LARGE_NNZ:
        return _solve_large_max_cover(
            a_csc, w, start, p=int(side.p or 0), offset=offset, deadline=deadline, mip_rel_gap=mip_rel_gap, t0=th
        )
    remaining = max(deadline - time.perf_counter(), 0.1)
    try:
        out = _solvers.highs_max_cover(
            sp.csr_matrix(a_csc, dtype=np.float64),
            w,
            side=side,
            offset=offset,
            start=start if heuristic_ok else None,
            time_limit_s=remaining,
            mip_rel_gap=mip_rel_gap,
        )
    except SolverError as err:
        if err.key != "siting.error.no_solution" or not heuristic_ok:
            raise
        out = SolverOutput(start, value, np.inf, "time_limit", "greedy+swap", time.perf_counter() - th)
    if heuristic_ok and value > out.objective + _solvers.WEIGHT_RTOL * max(1.0, value):
        out = SolverOutput(start, value, out.bound, out.status, out.solver, out.seconds)
    return out


def _solve_large_max_cover(
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
    sites (:func:`~planner.siting._solvers.lagrangian_heuristic`) and runs iterated local
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
        stop = (lambda: False) if lp_route else highs_done
        now = time.perf_counter()
        end = min(deadline, highs_end)
        hints: list[NDArray[np.float64]] = []
        share = LAGRANGE_TIME_SHARE_LP if lp_route else LAGRANGE_TIME_SHARE
        bound, lam = _solvers.lagrangian_dual(
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
            keep(_solvers.lagrangian_heuristic(a_csc, w, hint, p=p, deadline=end), "Lagrangian heuristic")
        keep(_solvers.perturb_improve(a_csc, w, found["sel"], deadline=end, should_stop=stop), "local search")

    # HiGHS stops on its limit only at its next check: up to ~1.5 s late in the MIP on
    # large models, one iteration (~0.3 s) in the interior point method
    remaining = max(deadline - time.perf_counter(), 0.1)
    remaining = max(remaining - min(0.3 if lp_route else 1.5, 0.15 * remaining), 0.1)
    highs_end = time.perf_counter() + remaining
    if lp_route:
        lp = _solvers.highs_lp_relaxation(a_csr, w, p=p, time_limit_s=remaining, background=background)
        bound, status, solver = offset + lp.bound, "time_limit", "lp+lagrange+ils"
    else:
        try:
            out = _solvers.highs_max_cover(
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
        keep(_solvers.perturb_improve(a_csc, w, found["sel"], deadline=deadline, seed=1), "local search")
    objective = offset + found["value"]
    bound = min(bound, found["lagrange"])
    if objective >= bound - _solvers.WEIGHT_RTOL * max(1.0, abs(bound)):
        status = "optimal"
    return SolverOutput(found["sel"], objective, bound, status, solver, time.perf_counter() - t0)


def set_covering(
    problem: CoverageProblem,
    *,
    target_share: float | None = None,
    minimise: Literal["count", "cost"] = "count",
    budget: float | None = None,
    group_min: Mapping[Any, int] | None = None,
    group_max: Mapping[Any, int] | None = None,
    solver: Solver = "highs",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
) -> SitingResult:
    """Fewest (or cheapest) new sites reaching a coverage target.

    Parameters
    ----------
    problem
        The coverage problem.
    target_share
        ``None``: cover every demand point some candidate reaches (unreachable points
        are listed in ``uncoverable_ids``). A share in ``(0, 1]``: cover at least this
        share of the *total* population, existing coverage included; an unattainable
        share raises :class:`~planner._errors.SitingError` naming unreachable demand.
    minimise
        ``"count"`` (number of sites) or ``"cost"`` (total ``candidate_cost``).
    budget, group_min, group_max, solver, time_limit_s, mip_rel_gap
        As in :func:`maximal_covering`.
    """
    t0 = time.perf_counter()
    _check_options(solver=solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if problem.n_candidates == 0:
        raise SitingError("siting.error.no_candidates")
    if minimise not in ("count", "cost"):
        raise SitingError("siting.error.bad_option", name="minimise", value=minimise)
    if (minimise == "cost" or budget is not None) and problem.candidate_cost is None:
        raise SitingError("siting.error.budget_without_cost")
    uncoverable = ~problem.covered_by_existing & ~problem.coverable
    uncoverable_ids = problem.demand_ids[uncoverable]
    reachable_total = problem.existing_population + float(
        problem.weights[~problem.covered_by_existing & problem.coverable].sum()
    )
    target_weight: float | None = None
    if target_share is not None:
        if not 0 < target_share <= 1:
            raise SitingError("siting.error.bad_target", share=target_share)
        need = target_share * problem.total_population
        if need > reachable_total * (1 + _solvers.WEIGHT_RTOL):
            raise SitingError(
                "siting.error.target_unreachable",
                share=f"{100 * target_share:.2f}",
                best=f"{100 * reachable_total / max(problem.total_population, 1e-300):.2f}",
                count=int(uncoverable.sum()),
                ids=_ids_text(uncoverable_ids),
            )
        target_weight = max(need - problem.existing_population, 0.0)
    codes, gmin, gmax, _ = _quota_side(problem, group_min=group_min, group_max=group_max)
    cost_for_dom = problem.candidate_cost if minimise == "cost" or budget is not None else None
    reduced = reduce_problem(problem, cost=cost_for_dom, group=codes)
    side = _side_for(problem, reduced, p=None, budget=budget, codes=codes, gmin=gmin, gmax=gmax)
    if minimise == "count":
        side_obj = SideConstraints(
            p=None, cost=None, budget=None, group=side.group, group_min=side.group_min, group_max=side.group_max
        )
    else:
        side_obj = side
    a_csc = sp.csc_matrix(reduced.cover, dtype=np.float64)
    w = reduced.weights
    full = target_weight is None or target_weight >= float(w.sum()) * (1 - _solvers.WEIGHT_RTOL)
    goal = float(w.sum()) if full else float(target_weight or 0.0)
    # heuristic: greedy on the objective's costs; budget checked by feasibility
    th = time.perf_counter()
    start = _solvers.greedy_cover(a_csc, w, target=goal, side=side_obj) if goal > 0 else np.zeros(0, dtype=np.int64)
    if start is not None and budget is not None and not _solvers.feasible(side, start, a_csc.shape[1]):
        start = None
    if solver == "greedy" or goal <= 0:
        if start is None:
            raise SitingError("siting.error.heuristic_infeasible")
        value = float(side_obj.costs(a_csc.shape[1])[start].sum())
        status = "optimal" if goal <= 0 else "heuristic"
        out = SolverOutput(
            start, value, value if goal <= 0 else float("nan"), status, "greedy", time.perf_counter() - th
        )
    else:
        out = _solvers.highs_cover(
            sp.csr_matrix(a_csc),
            w,
            target=None if full else goal,
            side=side,
            objective_cost=side_obj.costs(a_csc.shape[1]),
            start=start,
            time_limit_s=max(t0 + time_limit_s - time.perf_counter(), 0.1),
            mip_rel_gap=mip_rel_gap,
        )
    model = "set_cover" if target_share is None else "partial_cover"
    res = _result(problem, reduced, out, model=model, t0=t0, maximise=False, drop_idle=False)
    return _replace(res, uncoverable_ids=uncoverable_ids)


def _replace(res: SitingResult, **changes: Any) -> SitingResult:
    from dataclasses import replace

    return replace(res, **changes)


def _result(
    problem: CoverageProblem,
    reduced: ReducedProblem,
    out: SolverOutput,
    *,
    model: str,
    t0: float,
    maximise: bool,
    drop_idle: bool,
) -> SitingResult:
    cols = reduced.columns[out.selected]
    ordered, gains = rank_sites(problem, cols)
    # sites adding nothing are not proposed (unless needed for a township minimum)
    keep = gains > 0 if drop_idle else np.ones(len(ordered), dtype=bool)
    if (~keep).any():
        logger.info("%d selected site(s) add no coverage and are not proposed", int((~keep).sum()))
        ordered, gains = ordered[keep], gains[keep]
    cost = problem.candidate_cost[ordered] if problem.candidate_cost is not None else np.ones(len(ordered))
    objective = problem.existing_population + float(gains.sum())
    if maximise:
        bound = out.bound
        gap = (bound - objective) / bound if np.isfinite(bound) and bound > 0 else (0.0 if bound == 0 else float("nan"))
    else:
        bound = out.bound
        value = out.objective
        gap = (value - bound) / value if np.isfinite(bound) and value > 0 else (0.0 if value == 0 else float("nan"))
    return SitingResult(
        model=model,
        site_ids=problem.candidate_ids[ordered],
        newly_covered=gains,
        site_cost=cost,
        objective=objective,
        existing_covered=problem.existing_population,
        total_population=problem.total_population,
        n_sites=len(ordered),
        cost=float(cost.sum()),
        bound=bound,
        gap=max(gap, 0.0) if np.isfinite(gap) else gap,
        status=out.status,
        solver=out.solver,
        seconds=time.perf_counter() - t0,
        reduction=reduced.report,
    )


# =========================================================================== multi-tier and reverse


def multi_tier(
    problems: Mapping[str, CoverageProblem],
    *,
    p: Mapping[str, int] | None = None,
    budget: Mapping[str, float] | None = None,
    **options: Any,
) -> dict[str, SitingResult]:
    """Run :func:`maximal_covering` once per tier, each with its own ``p`` and/or budget.

    Parameters
    ----------
    problems
        One coverage problem per tier key (``"township"``, ``"village"``...).
    p, budget
        Per-tier number of sites and/or budget; a tier needs at least one of them.
    **options
        Passed to :func:`maximal_covering` (solver, time_limit_s, quotas...).
    """
    p = p or {}
    budget = budget or {}
    unknown = (set(p) | set(budget)) - set(problems)
    if unknown:
        raise SitingError("siting.error.unknown_tier", tiers=", ".join(sorted(map(str, unknown))))
    results: dict[str, SitingResult] = {}
    for tier, prob in problems.items():
        if tier not in p and tier not in budget:
            raise SitingError("siting.error.tier_without_limit", tier=tier)
        results[tier] = maximal_covering(prob, p=p.get(tier), budget=budget.get(tier), **options)
    return results


def removal_ranking(problem: CoverageProblem) -> pd.DataFrame:
    """Rank the candidates — here: existing stations under review — for closure.

    ``problem.cover`` holds the stations' coverage columns; ``covered_by_existing``
    marks demand covered anyway (stations not under review). Stations are removed one
    by one, each time the one whose removal loses the least population given earlier
    removals.

    Returns
    -------
    pandas.DataFrame
        One row per station in removal order: ``order``, ``site_id``,
        ``lost_alone`` (population only this station covers today), ``lost`` (lost
        when removed at this step), ``covered_after`` (population still covered).
    """
    a = sp.csc_matrix(problem.cover, dtype=np.float64)
    w = problem.weights
    fixed = problem.covered_by_existing
    n = a.shape[1]
    cnt = np.asarray(a.sum(axis=1)).ravel()
    at_risk = w * (~fixed)
    lost_alone = np.asarray(a.T @ (at_risk * (cnt == 1))).ravel()
    covered = float(w[fixed | (cnt > 0)].sum())
    active = np.ones(n, dtype=bool)
    order: list[int] = []
    lost: list[float] = []
    after: list[float] = []
    for _ in range(n):
        loss = np.asarray(a.T @ (at_risk * (cnt == 1))).ravel()
        loss[~active] = np.inf
        j = int(np.argmin(loss))
        order.append(j)
        lost.append(float(loss[j]))
        covered -= float(loss[j])
        after.append(covered)
        active[j] = False
        cnt[a.indices[a.indptr[j] : a.indptr[j + 1]]] -= 1
    idx = np.array(order, dtype=np.int64)
    return pd.DataFrame(
        {
            "order": np.arange(1, n + 1),
            "site_id": problem.candidate_ids[idx],
            "lost_alone": lost_alone[idx],
            "lost": np.array(lost),
            "covered_after": np.array(after),
        }
    )


def keep_best(problem: CoverageProblem, *, q: int, **options: Any) -> SitingResult:
    """Which ``q`` of the stations under review to keep, maximising coverage.

    The same model as :func:`maximal_covering` with ``p = q`` over the stations'
    columns (``problem.candidate_ids`` are the stations under review).
    """
    return maximal_covering(problem, p=q, model="keep", **options)
