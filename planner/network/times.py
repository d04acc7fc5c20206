"""Sparse travel times between demand points and sites: the input of the location models and access measures.

A :class:`TravelTimes` holds, for every demand point (row), the sites (columns) it can
reach within a cutoff and the minutes it takes, in compressed-row form. Pairs beyond the
cutoff are simply not stored: the structure never grows to a dense demand × site
matrix. Zero minutes (a site on the demand point) are stored like any other time, so
the arrays are kept explicitly rather than as a SciPy matrix that could drop them.

Two ways in, one structure out:

* :func:`network_times` — bounded Dijkstra from every site on a
  :class:`~planner.network.roads.TravelGraph` (:func:`planner.network.reach.times_by_source`);
* :meth:`TravelTimes.from_long` — a planner's own long table ``demand_id, site_id,
  minutes`` (times from another tool), checked row by row.

The p-median / p-center models (:mod:`planner.siting`) and the accessibility measures
(:mod:`planner.coverage`) read only this structure.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from planner._errors import InputError, ids_text
from planner.network.reach import times_by_source
from planner.network.roads import TravelGraph
from planner.network.snapping import Snap

logger = logging.getLogger(__name__)

__all__ = ["TravelTimes", "network_times"]


@dataclass(frozen=True, eq=False)
class TravelTimes:
    """Travel minutes from each demand point to the sites within ``cutoff_min``.

    Attributes
    ----------
    indptr
        ``n_demand + 1`` offsets: the pairs of demand ``i`` are ``indptr[i]:indptr[i + 1]``.
    indices
        Site column of each pair (sorted within a row, unique).
    minutes
        Travel minutes of each pair (≥ 0, finite, ≤ ``cutoff_min``).
    n_sites
        Number of site columns.
    cutoff_min
        Pairs slower than this were not stored (``inf``: every reachable pair is stored).
    demand_ids, site_ids
        Row and column identifiers (strings or numbers, unique).
    """

    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]
    minutes: NDArray[np.float64]
    n_sites: int
    cutoff_min: float
    demand_ids: NDArray[Any]
    site_ids: NDArray[Any]

    def __post_init__(self) -> None:
        indptr = np.asarray(self.indptr, dtype=np.int64)
        indices = np.asarray(self.indices, dtype=np.int64)
        minutes = np.asarray(self.minutes, dtype=np.float64)
        if len(indptr) != len(self.demand_ids) + 1 or len(self.site_ids) != self.n_sites:
            raise ValueError("TravelTimes: ids do not match the shape")
        if len(indices) != len(minutes) or indptr[-1] != len(indices):
            raise ValueError("TravelTimes: indptr, indices and minutes disagree")
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "minutes", minutes)
        object.__setattr__(self, "demand_ids", np.asarray(self.demand_ids))
        object.__setattr__(self, "site_ids", np.asarray(self.site_ids))

    # ------------------------------------------------------------------ shape
    @property
    def n_demand(self) -> int:
        """Number of demand rows."""
        return len(self.indptr) - 1

    @property
    def n_pairs(self) -> int:
        """Number of stored (demand, site) pairs."""
        return len(self.indices)

    @property
    def rows(self) -> NDArray[np.int64]:
        """Demand row of each pair (expanded ``indptr``)."""
        return np.repeat(np.arange(self.n_demand, dtype=np.int64), np.diff(self.indptr))

    def reached(self) -> NDArray[np.bool_]:
        """Demand points with at least one site within the cutoff."""
        out: NDArray[np.bool_] = np.diff(self.indptr) > 0
        return out

    def nearest_minutes(self, *, sites: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
        """Minutes from each demand point to its nearest site (``inf`` beyond the cutoff).

        ``sites`` restricts to a boolean mask over the columns (open sites).
        """
        keep = np.ones(self.n_pairs, bool) if sites is None else np.asarray(sites, bool)[self.indices]
        out = np.full(self.n_demand, np.inf)
        np.minimum.at(out, self.rows[keep], self.minutes[keep])
        return out

    def within(self, minutes: float) -> sp.csr_matrix:
        """Boolean ``demand × sites`` CSR matrix of the pairs within ``minutes``."""
        keep = self.minutes <= minutes + 1e-9
        return sp.csr_matrix(
            (np.ones(int(keep.sum()), bool), (self.rows[keep], self.indices[keep])),
            shape=(self.n_demand, self.n_sites),
        )

    def subset_sites(self, columns: NDArray[np.int64] | NDArray[np.bool_]) -> TravelTimes:
        """The same rows with only the chosen site columns (renumbered in the given order)."""
        cols = np.flatnonzero(columns) if np.asarray(columns).dtype == bool else np.asarray(columns, np.int64)
        new_of_old = np.full(self.n_sites, -1, dtype=np.int64)
        new_of_old[cols] = np.arange(len(cols))
        mapped = new_of_old[self.indices]
        keep = mapped >= 0
        return TravelTimes.from_pairs(
            rows=self.rows[keep],
            columns=mapped[keep],
            minutes=self.minutes[keep],
            demand_ids=self.demand_ids,
            site_ids=self.site_ids[cols],
            cutoff_min=self.cutoff_min,
        )

    def to_long(self) -> pd.DataFrame:
        """The pairs as a long table ``demand_id, site_id, minutes`` (the ``--cost-matrix`` format)."""
        return pd.DataFrame(
            {
                "demand_id": self.demand_ids[self.rows],
                "site_id": self.site_ids[self.indices],
                "minutes": self.minutes,
            }
        )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_pairs(
        cls,
        *,
        rows: ArrayLike,
        columns: ArrayLike,
        minutes: ArrayLike,
        demand_ids: ArrayLike,
        site_ids: ArrayLike,
        cutoff_min: float = np.inf,
    ) -> TravelTimes:
        """Build from pair arrays (any order; a repeated pair keeps its smallest time).

        Pairs slower than ``cutoff_min`` are dropped.
        """
        r = np.asarray(rows, dtype=np.int64)
        c = np.asarray(columns, dtype=np.int64)
        m = np.asarray(minutes, dtype=np.float64)
        d_ids, s_ids = np.asarray(demand_ids), np.asarray(site_ids)
        keep = m <= cutoff_min
        r, c, m = r[keep], c[keep], m[keep]
        # one sort on a single int64 key (row, column); a repeated pair keeps its smallest time
        key = r * max(len(s_ids), 1) + c
        if len(key) > 1 and not (key[1:] > key[:-1]).all():
            order = np.argsort(key)
            key, m = key[order], m[order]
            first = np.ones(len(key), bool)
            first[1:] = key[1:] != key[:-1]
            starts = np.flatnonzero(first)
            m = np.minimum.reduceat(m, starts) if len(starts) else m
            key = key[starts]
        r, c = np.divmod(key, max(len(s_ids), 1))
        indptr = np.zeros(len(d_ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=len(d_ids)), out=indptr[1:])
        return cls(
            indptr=indptr,
            indices=c,
            minutes=m,
            n_sites=len(s_ids),
            cutoff_min=float(cutoff_min),
            demand_ids=d_ids,
            site_ids=s_ids,
        )

    @classmethod
    def from_dense(
        cls,
        minutes: ArrayLike,
        *,
        demand_ids: ArrayLike | None = None,
        site_ids: ArrayLike | None = None,
        cutoff_min: float = np.inf,
    ) -> TravelTimes:
        """Build from a dense ``demand × sites`` array (``inf``/NaN: unreachable); for small cases and tests."""
        a = np.asarray(minutes, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError("from_dense needs a 2-D array")
        r, c = np.nonzero(np.isfinite(a))
        return cls.from_pairs(
            rows=r,
            columns=c,
            minutes=a[r, c],
            demand_ids=np.arange(a.shape[0]) if demand_ids is None else demand_ids,
            site_ids=np.arange(a.shape[1]) if site_ids is None else site_ids,
            cutoff_min=cutoff_min,
        )

    @classmethod
    def from_long(
        cls,
        costs: pd.DataFrame,
        *,
        demand_ids: Sequence[Any] | NDArray[Any],
        site_ids: Sequence[Any] | NDArray[Any],
        cutoff_min: float = np.inf,
        source: str = "cost matrix",
    ) -> TravelTimes:
        """Build from a long table with columns ``demand_id, site_id, minutes``.

        Every ``demand_id`` and ``site_id`` must be one of the given ids, and ``minutes``
        a number ≥ 0; a bad row is named by the table's ``source_row`` column when it
        has one (:func:`planner.inputs.tables.read_table`), else by its position.
        A pair listed twice keeps its smallest time; pairs not listed are unreachable.

        Raises
        ------
        InputError
            A missing column, a time that is not a number ≥ 0, an unknown id.
        """
        missing = [c for c in ("demand_id", "site_id", "minutes") if c not in costs.columns]
        if missing:
            raise InputError(
                "siting.error.missing_columns",
                source=source,
                columns=", ".join(missing),
                found=", ".join(map(str, costs.columns)),
            )
        d_ids = np.asarray(demand_ids)
        s_ids = np.asarray(site_ids)
        row_no = (
            costs["source_row"].to_numpy(np.int64)
            if "source_row" in costs.columns
            else np.arange(1, len(costs) + 1, dtype=np.int64)
        )
        mins = pd.to_numeric(costs["minutes"], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(mins) | (mins < 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                "siting.error.bad_minutes_row", source=source, row=int(row_no[i]), value=costs["minutes"].iloc[i]
            )
        d_idx = _lookup(d_ids, costs["demand_id"])
        s_idx = _lookup(s_ids, costs["site_id"])
        for idx, col, key in (
            (d_idx, "demand_id", "siting.error.unknown_demand"),
            (s_idx, "site_id", "siting.error.unknown_site"),
        ):
            if (idx < 0).any():
                i = int(np.argmax(idx < 0))
                unknown = pd.unique(costs[col].to_numpy()[idx < 0])
                raise InputError(key, source=source, row=int(row_no[i]), ids=ids_text(unknown))
        return cls.from_pairs(
            rows=d_idx, columns=s_idx, minutes=mins, demand_ids=d_ids, site_ids=s_ids, cutoff_min=cutoff_min
        )


def _lookup(ids: NDArray[Any], values: pd.Series) -> NDArray[np.int64]:
    """Position of each value among ``ids`` (compared as text: ``7`` matches ``"7"``), -1 if absent."""
    known = pd.Index(pd.Series(ids).astype(str))
    pos: NDArray[np.int64] = known.get_indexer(pd.Index(values.astype(str))).astype(np.int64)
    return pos


def network_times(
    graph: TravelGraph,
    *,
    sites: Snap,
    demand: Snap,
    cutoff_min: float,
    demand_ids: ArrayLike,
    site_ids: ArrayLike,
) -> TravelTimes:
    """Travel minutes from every site to every demand point within ``cutoff_min`` on ``graph``.

    One bounded Dijkstra per site (in batches, :func:`planner.network.reach.times_by_source`);
    the times agree with :func:`planner.network.reach.nearest_times`, which the coverage
    figures use. Sites or demand points off the network get no pairs.
    """
    if not (cutoff_min > 0):
        raise ValueError("cutoff_min must be > 0")
    limit_s = float(cutoff_min) * 60.0 if np.isfinite(cutoff_min) else np.inf
    rows, cols, secs = [], [], []
    for s_i, d_i, t_s in times_by_source(graph, sources=sites, targets=demand, limit_s=limit_s):
        rows.append(d_i)
        cols.append(s_i)
        secs.append(t_s)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    m = np.concatenate(secs) / 60.0 if secs else np.zeros(0)
    return TravelTimes.from_pairs(
        rows=r, columns=c, minutes=m, demand_ids=demand_ids, site_ids=site_ids, cutoff_min=cutoff_min
    )
