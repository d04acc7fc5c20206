"""How fairly travel time and accessibility are spread over people: Gini, Lorenz, Palma, quantiles.

Every measure is population-weighted (a village of 800 counts 800 times) and defined on
the Lorenz curve of the values sorted ascending — the cumulative share of people
against the cumulative share of the value they hold:

* :func:`gini` — 1 − 2 × the area under the Lorenz curve, exact for weighted data
  (the trapezoid rule is exact on the piecewise-linear curve). With unit weights it is
  the mean absolute difference over twice the mean, ``Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² x̄)``.
  0: everyone equal; towards 1: one person holds everything.
* :func:`palma` — the share held by the top 10 % of people ÷ the share held by the
  bottom 40 %, read off the same curve (a point straddling a boundary is split).
  For accessibility (more is better) that is the usual Palma ratio. For travel
  minutes (more is worse) the same formula is applied to the burden: the minutes
  of the 10 % of people who travel longest ÷ the minutes of the 40 % who travel
  least — larger is more unequal; ``inf`` when the 40 % travel 0 minutes.
* :func:`weighted_quantile` — the inverted CDF: the smallest value whose population
  share at or below it reaches ``q`` (numpy's ``method="inverted_cdf"`` for unit
  weights).

:func:`equity_table` puts them per township. Points not reached within the search
horizon (``inf`` minutes, or NaN: off the network) enter the minutes at the horizon —
a lower bound of their real time, so means, 90th percentiles and Gini are lower bounds
too — and are counted in ``unreached_population``; they are never within N minutes.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

logger = logging.getLogger(__name__)

__all__ = ["EQUITY_COLUMNS", "equity_table", "gini", "lorenz", "lorenz_share", "palma", "weighted_quantile"]


def _prepare(values: ArrayLike, weights: ArrayLike | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Values and weights as float arrays, checked (finite, ≥ 0, same length), with zero weights dropped."""
    x = np.asarray(values, dtype=np.float64).ravel()
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if len(w) != len(x):
        msg = f"{len(w)} weights for {len(x)} values"
        raise ValueError(msg)
    if not (np.isfinite(x).all() and np.isfinite(w).all()) or (x < 0).any() or (w < 0).any():
        msg = "values and weights must be finite numbers ≥ 0"
        raise ValueError(msg)
    keep = w > 0
    return x[keep], w[keep]


def lorenz(values: ArrayLike, *, weights: ArrayLike | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The Lorenz curve: cumulative population share and value share, values sorted ascending.

    Both arrays start at 0 and end at 1 (one point more than the values with positive
    weight). Without any value (total 0) the value share is NaN after the start.

    Raises
    ------
    ValueError
        Negative or non-finite values or weights; lengths that differ.
    """
    x, w = _prepare(values, weights)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    pop = np.concatenate(([0.0], np.cumsum(w)))
    val = np.concatenate(([0.0], np.cumsum(x * w)))
    with np.errstate(invalid="ignore", divide="ignore"):
        p_share = pop / pop[-1] if pop[-1] > 0 else pop
        v_share = val / val[-1] if val[-1] > 0 else np.where(np.arange(len(val)) == 0, 0.0, np.nan)
    return p_share, v_share


def gini(values: ArrayLike, *, weights: ArrayLike | None = None) -> float:
    """Gini coefficient of ``values`` weighted by ``weights`` (people); see the module.

    ``gini([1, 1, 1]) == 0``; ``gini([0, 0, 0, 1]) == 0.75``. NaN when there is no
    weight or every value is 0 (nothing to share).
    """
    p, v = lorenz(values, weights=weights)
    if len(p) < 2 or not np.isfinite(v).all():
        return float("nan")
    area = float(np.sum(np.diff(p) * (v[1:] + v[:-1])) / 2.0)
    return max(0.0, 1.0 - 2.0 * area)


def lorenz_share(values: ArrayLike, share: float, *, weights: ArrayLike | None = None) -> float:
    """Share of the total held by the ``share`` of people with the smallest values (the Lorenz curve at ``share``)."""
    p, v = lorenz(values, weights=weights)
    if len(p) < 2:
        return float("nan")
    return float(np.interp(share, p, v))


def palma(values: ArrayLike, *, weights: ArrayLike | None = None) -> float:
    """Palma ratio: share of the top 10 % of people ÷ share of the bottom 40 % (see the module for minutes).

    ``inf`` when the bottom 40 % hold nothing; NaN without weight or value.
    """
    p, v = lorenz(values, weights=weights)
    if len(p) < 2 or not np.isfinite(v).all():
        return float("nan")
    top = 1.0 - float(np.interp(0.9, p, v))
    bottom = float(np.interp(0.4, p, v))
    if bottom <= 0:
        return float("inf") if top > 0 else float("nan")
    return top / bottom


def weighted_quantile(values: ArrayLike, q: float, *, weights: ArrayLike | None = None) -> float:
    """The smallest value whose population share at or below it is at least ``q`` (0 < q ≤ 1).

    NaN without weight. For unit weights this is ``np.quantile(values, q, method="inverted_cdf")``.
    """
    if not 0.0 <= q <= 1.0:
        msg = f"q must be in [0, 1], got {q}"
        raise ValueError(msg)
    x, w = _prepare(values, weights)
    if not len(x):
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, cum = x[order], np.cumsum(w[order])
    target = q * cum[-1]
    k = int(np.searchsorted(cum, target * (1 - 1e-12), side="left"))
    return float(x[min(k, len(x) - 1)])


#: Columns of :func:`equity_table` (labels and definitions: :mod:`planner.coverage.figures`).
EQUITY_COLUMNS: tuple[str, ...] = (
    "township",
    "demand",
    "population",
    "within_population",
    "percent_within",
    "unreached_population",
    "mean_min",
    "p90_min",
    "gini_min",
    "palma_min",
    "mean_access",
    "gini_access",
)


def _row(
    minutes: NDArray[np.float64],
    population: NDArray[np.float64],
    unreachable: NDArray[np.bool_],
    access: NDArray[np.float64] | None,
    *,
    within_min: float,
) -> dict[str, float | int | None]:
    total = float(population.sum())
    within = float(population[(minutes <= within_min + 1e-9) & ~unreachable].sum())
    has = total > 0
    row: dict[str, float | int | None] = {
        "demand": len(minutes),
        "population": total,
        "within_population": within,
        "percent_within": round(100.0 * within / total, 2) if has else None,
        "unreached_population": float(population[unreachable].sum()),
        "mean_min": float(population @ minutes) / total if has else None,
        "p90_min": weighted_quantile(minutes, 0.9, weights=population) if has else None,
        "gini_min": gini(minutes, weights=population) if has else None,
        "palma_min": palma(minutes, weights=population) if has else None,
        "mean_access": None,
        "gini_access": None,
    }
    if access is not None and has:
        row["mean_access"] = float(population @ access) / total
        row["gini_access"] = gini(access, weights=population)
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}


def equity_table(
    minutes: ArrayLike,
    *,
    population: ArrayLike,
    within_min: float,
    horizon_min: float,
    township: ArrayLike | None = None,
    access: ArrayLike | None = None,
) -> pd.DataFrame:
    """Equity of travel time (and accessibility) for the whole set, then per township.

    Parameters
    ----------
    minutes
        Minutes to the nearest station per demand point; ``inf`` / NaN: not reached
        within the horizon or off the network (entered at ``horizon_min``, counted in
        ``unreached_population``).
    population
        Per demand point (≥ 0).
    within_min
        N minutes of ``within_population`` / ``percent_within`` (the tier's standard).
    horizon_min
        Where unreached points enter the minutes (≥ every finite time given).
    township
        Township of each point; without it only the total row.
    access
        Accessibility per point (:class:`planner.coverage.access.AccessResult` ``value``)
        for ``mean_access`` and ``gini_access``.

    Returns
    -------
    pandas.DataFrame
        :data:`EQUITY_COLUMNS`; the first row is the total (``township`` empty), then
        one row per township in order of first appearance. Undefined figures (no
        population, every value 0) are ``None``; ``palma_min`` may be ``inf``.
    """
    m = np.asarray(minutes, dtype=np.float64).ravel()
    pop = np.asarray(population, dtype=np.float64).ravel()
    if len(pop) != len(m) or not np.isfinite(pop).all() or (pop < 0).any():
        msg = "population must be one finite number ≥ 0 per demand point"
        raise ValueError(msg)
    unreachable = ~np.isfinite(m)
    if (m[~unreachable] < 0).any() or (m[~unreachable] > horizon_min + 1e-9).any():
        msg = f"minutes must be in [0, {horizon_min:g}] (the horizon) or inf"
        raise ValueError(msg)
    m = np.where(unreachable, float(horizon_min), m)
    acc = None if access is None else np.asarray(access, dtype=np.float64).ravel()
    if acc is not None and len(acc) != len(m):
        msg = f"{len(acc)} accessibility values for {len(m)} demand points"
        raise ValueError(msg)
    rows = [{"township": "", **_row(m, pop, unreachable, acc, within_min=within_min)}]
    if township is not None:
        towns = pd.Series(np.asarray(township, dtype=object)).fillna("").astype(str).to_numpy()
        for town in pd.unique(towns):
            sel = towns == town
            rows.append(
                {
                    "township": town,
                    **_row(
                        m[sel], pop[sel], unreachable[sel], None if acc is None else acc[sel], within_min=within_min
                    ),
                }
            )
    return pd.DataFrame(rows, columns=list(EQUITY_COLUMNS))
