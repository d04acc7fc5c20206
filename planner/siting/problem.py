"""The coverage problem: who each candidate site covers, and its reduction before solving.

A :class:`CoverageProblem` holds which candidate site covers which demand point within
the standard (a boolean SciPy CSR matrix), the population per demand point, and which
demand existing stations already cover. It is independent of the road network: the
network side (or a planner's own travel-time table, :meth:`CoverageProblem.from_cost_matrix`)
only builds the matrix.

Before solving, the models (:mod:`planner.siting.models`) reduce the problem
(:func:`reduce_problem`): demand already covered or unreachable is dropped, demand rows
with identical candidate sets are merged, and dominated candidates are dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from planner._errors import InputError, SitingError, ids_text
from planner.i18n import t

logger = logging.getLogger(__name__)

#: Rows checked per candidate pair before the full subset test in domination.
PREFILTER_ROWS = 3


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
                ids=ids_text(demand_ids[bad]),
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
                    "siting.error.bad_cost",
                    source="candidate_cost",
                    row=int(np.argmax(bad)) + 1,
                    ids=ids_text(candidate_ids[bad]),
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
        reached: NDArray[np.bool_] = np.diff(self.cover.indptr) > 0
        return reached

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
        demand_source: str = "demand",
        candidates_source: str = "candidates",
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
        source, demand_source, candidates_source
            Names of the cost table, the demand and the candidates in messages (their file
            names, when read from files); a row is named by the table's ``source_row``
            column when it has one (:func:`planner.inputs.tables.read_table`).
        """
        if not np.isfinite(minutes) or minutes <= 0:
            raise InputError("siting.error.bad_minutes", minutes=minutes)
        _require_columns(costs, ("demand_id", "site_id", "minutes"), source=source)
        _require_columns(demand, ("id",), source=demand_source)
        _require_columns(candidates, ("id",), source=candidates_source)
        demand_ids = demand["id"].to_numpy()
        cand_all = candidates["id"].to_numpy()
        _check_unique(demand_ids, what=demand_source, rows=_source_rows(demand))
        _check_unique(cand_all, what=candidates_source, rows=_source_rows(candidates))
        existing_ids = np.asarray(list(existing_site_ids), dtype=object)
        in_existing = pd.Index(cand_all).isin(existing_ids)
        if in_existing.any():
            logger.warning(
                "%s", t("siting.existing_candidates", source=candidates_source, count=int(in_existing.sum()))
            )
        cand_keep = ~np.asarray(in_existing)
        cand_ids = cand_all[cand_keep]
        if len(cand_ids) == 0:
            raise SitingError("siting.error.no_candidates")

        if "population" in demand.columns:
            pop = pd.to_numeric(demand["population"], errors="coerce").to_numpy(dtype=np.float64)
            bad = ~np.isfinite(pop) | (pop < 0)
            if bad.any():
                raise InputError(
                    "siting.error.negative_population",
                    source=demand_source,
                    row=int(_source_rows(demand)[int(np.argmax(bad))]),
                    ids=ids_text(demand_ids[bad]),
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
            raise InputError("siting.error.unknown_demand", source=source, row=row + 1, ids=ids_text(unknown))
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
                ids=ids_text(pd.unique(site_col.to_numpy()[unknown_site])),
            )
        missing_existing = ~pd.Index(existing_ids).isin(site_col.to_numpy()) if len(existing_ids) else np.zeros(0, bool)
        if np.any(missing_existing):
            logger.warning(
                "%s", t("siting.existing_absent", source=source, ids=ids_text(existing_ids[missing_existing]))
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
                raise InputError(
                    "siting.error.bad_cost",
                    source=candidates_source,
                    row=int(_source_rows(candidates)[int(np.argmax(bad))]),
                    ids=ids_text(cand_all[bad]),
                )
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


def _source_rows(df: pd.DataFrame) -> NDArray[np.int64]:
    """Row numbers to name each row by: its ``source_row`` (spreadsheet row) when read from a file, else 1, 2, ..."""
    if "source_row" in df.columns:
        rows = pd.to_numeric(df["source_row"], errors="coerce").to_numpy(dtype=np.float64)
        if np.isfinite(rows).all():
            return rows.astype(np.int64)
    return np.arange(1, len(df) + 1, dtype=np.int64)


def _check_unique(ids: NDArray[Any], *, what: str, rows: NDArray[np.int64] | None = None) -> None:
    dup = pd.Index(ids).duplicated()
    if dup.any():
        first = int(np.argmax(dup))
        row = int(rows[first]) if rows is not None else first + 1
        raise InputError("siting.error.duplicate_ids", what=what, row=row, ids=ids_text(ids[dup]))


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

    for step in range(1, PREFILTER_ROWS + 1):
        has_t = col_len[pair_j] > step
        ok = np.ones(len(pair_j), dtype=bool)
        idx = np.flatnonzero(has_t)
        ok[idx] = contains(pair_k[idx], rows_by_rarity[first_entry[pair_j[idx]] + step])
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
