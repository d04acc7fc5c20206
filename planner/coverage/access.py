"""Spatial accessibility per demand point: the two-step floating catchment family and gravity.

Every measure works on a :class:`~planner.network.times.TravelTimes` (sparse demand ×
station minutes): a weight ``w_ij = f(t_ij)`` per stored pair, then two sums over the
pairs, each one sparse matrix–vector product on the travel times' own CSR arrays
(:class:`scipy.sparse.csr_array`, no copy; never a dense demand × station matrix; two to
three times faster than :func:`numpy.bincount` over the expanded pairs)::

    D_j = Σ_i P_i w_ij          the (weighted) population competing for station j
    R_j = S_j / D_j             supply per head at station j (``station_ratio``)
    A_i = Σ_j R_j w_ij          accessibility of demand point i (``value``)

The methods differ only in ``f``:

``2sfca`` (Luo & Wang 2003)
    ``f(t) = 1`` for ``t ≤ catchment_min``, else 0.
``e2sfca`` (Luo & Qi 2009)
    A step function: ``f(t)`` is the weight of the first step whose upper bound is
    ``≥ t`` and 0 beyond the last step (and beyond ``catchment_min``). The default steps
    cut the catchment into thirds with Luo & Qi's weights 1, 0.68, 0.22 (for a
    30-minute catchment exactly PySAL ``access``'s default ``{10: 1, 20: 0.68, 30: 0.22}``).
    Like ``access`` (``weights.step_fn``) and the paper, the first step weighs what it is
    given (1 by default): there is no decay inside a step.
``gravity`` (Joseph & Bantock 1982; Wang's gravity-based 2SFCA)
    ``f(t) = max(t, floor_min) ** -beta`` within ``catchment_min`` (``inf``: no cutoff),
    in both steps, i.e. PySAL ``access``'s ``two_stage_fca(weight_fn=weights.gravity(
    scale, -beta, min_dist=floor_min))``. The competition denominator ``D_j`` is what
    separates it from the Hansen potential; the scale cancels in ``R_j w_ij``.
``g2sfca`` (Dai 2010)
    Gaussian decay that falls to 0 at the catchment:
    ``f(t) = (exp(-½ (t/d0)²) - exp(-½)) / (1 - exp(-½))`` for ``t ≤ d0 = catchment_min``.
    PySAL ``access`` has no such method; its ``weights.gaussian(sigma)`` is
    ``exp(-t²/2σ²)`` without the offset, so it jumps from ``exp(-½)`` to 0 at the
    catchment edge. We follow Dai (the literature): a station just inside and one just
    outside the catchment should weigh almost the same. ``access`` gives identical
    numbers when handed this ``f`` as ``weight_fn`` (tests/test_access.py).
``hansen`` (Hansen 1959 potential)
    ``A_i = Σ_j S_j (max(t_ij, floor_min)/scale_min) ** -beta``: no competition, i.e.
    ``access``'s ``weighted_catchment(weight_fn=weights.gravity(scale_min, -beta,
    floor_min))``. ``station_ratio`` is the supply itself.

Where this module and PySAL ``access`` differ, and why:

* A demand point with no station of positive weight in reach gets ``value = 0`` (and
  ``reached = False``); ``access`` leaves NaN. The planner's tables, Gini and maps need
  a number, and "no service within the catchment" is 0 service per head.
* A station whose catchment holds only zero-population points has ``R_j`` undefined:
  ``station_ratio`` is NaN and it adds nothing to anybody's value (``access`` divides by
  0 and spreads inf/NaN to those points).
* The normalisation is the same as ``access``'s ``normalize=True``: value divided by the
  population-weighted mean over all demand points (unreached points count with 0), so
  the population-weighted mean of ``normalised`` is 1.

A check that holds for every 2SFCA-type method: ``Σ_i P_i A_i = Σ_j S_j`` over the
stations some populated demand point reaches (all supply is handed out exactly once).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from planner.network.times import TravelTimes

logger = logging.getLogger(__name__)

__all__ = [
    "LUO_QI_WEIGHTS",
    "METHODS",
    "AccessResult",
    "Method",
    "accessibility",
    "default_steps",
    "pair_weights",
    "parse_steps",
]

Method = Literal["2sfca", "e2sfca", "gravity", "g2sfca", "hansen"]
#: The accessibility measures, in the order surfaces list them.
METHODS: tuple[str, ...] = get_args(Method)
#: Luo & Qi's (2009) E2SFCA step weights for three equal subzones of the catchment.
LUO_QI_WEIGHTS: tuple[float, ...] = (1.0, 0.68, 0.22)
#: Travel times below this count as this in the gravity weight (it is infinite at 0 minutes).
DEFAULT_FLOOR_MIN = 1.0
_HALF = float(np.exp(-0.5))


def default_steps(catchment_min: float) -> tuple[tuple[float, float], ...]:
    """E2SFCA steps: the catchment cut into thirds, weighted 1, 0.68, 0.22 (Luo & Qi 2009)."""
    c = float(catchment_min)
    return tuple((c * (k + 1) / 3.0, w) for k, w in enumerate(LUO_QI_WEIGHTS))


def parse_steps(text: str) -> tuple[tuple[float, float], ...]:
    """``"10:1,20:0.68,30:0.22"`` → ``((10, 1), (20, 0.68), (30, 0.22))`` (``ValueError`` if malformed).

    The steps are checked by :func:`pair_weights` (increasing bounds > 0, weights ≥ 0).
    """
    out = []
    for part in text.replace("，", ",").replace("：", ":").split(","):
        if not part.strip():
            continue
        bound, sep, weight = part.partition(":")
        if not sep:
            msg = f"step {part.strip()!r} is not MINUTES:WEIGHT"
            raise ValueError(msg)
        out.append((float(bound), float(weight)))
    _check_steps(out)
    return tuple(out)


def _check_steps(steps: Sequence[tuple[float, float]]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    bounds = np.array([float(b) for b, _ in steps], dtype=np.float64)
    weights = np.array([float(w) for _, w in steps], dtype=np.float64)
    if (
        not len(bounds)
        or not np.isfinite(bounds).all()
        or not np.isfinite(weights).all()
        or (bounds <= 0).any()
        or (np.diff(bounds) <= 0).any()
        or (weights < 0).any()
    ):
        msg = "steps need increasing upper bounds > 0 (minutes) and weights ≥ 0"
        raise ValueError(msg)
    return bounds, weights


def pair_weights(
    minutes: NDArray[np.float64],
    *,
    method: Method,
    catchment_min: float,
    steps: Sequence[tuple[float, float]] | None = None,
    beta: float = 1.0,
    floor_min: float = DEFAULT_FLOOR_MIN,
    scale_min: float = 1.0,
) -> NDArray[np.float64]:
    """The distance-decay weight ``f(t)`` of each travel time (0 beyond the catchment); see the module."""
    t = np.asarray(minutes, dtype=np.float64)
    inside = t <= catchment_min
    if method == "2sfca":
        w = inside.astype(np.float64)
    elif method == "e2sfca":
        bounds, weights = _check_steps(steps if steps is not None else default_steps(catchment_min))
        w = np.zeros(len(t))
        for bound, weight in zip(bounds[::-1], weights[::-1], strict=True):  # the first bound ≥ t wins
            w[t <= bound] = weight  # a few passes over the pairs beat a searchsorted of every time
        w[~inside] = 0.0
    elif method in ("gravity", "hansen"):
        with np.errstate(divide="ignore"):
            w = np.where(inside, np.power(np.maximum(t, floor_min) / scale_min, -beta), 0.0)
    elif method == "g2sfca":
        w = np.where(inside, (np.exp(-0.5 * (t / catchment_min) ** 2) - _HALF) / (1.0 - _HALF), 0.0)
        w = np.maximum(w, 0.0)  # rounding at t = d0
    else:
        msg = f"unknown accessibility method {method!r}; use one of {METHODS}"
        raise ValueError(msg)
    out: NDArray[np.float64] = w
    return out


@dataclass(frozen=True, eq=False)
class AccessResult:
    """Accessibility of every demand point (rows of the :class:`TravelTimes`).

    Attributes
    ----------
    value
        ``A_i``: supply per head reachable from each demand point (0 when none is in reach).
    normalised
        ``value`` ÷ the population-weighted mean of ``value`` (NaN when that mean is 0).
    reached
        Demand points with at least one station of positive weight within the catchment.
    station_ratio
        ``R_j`` per station (``hansen``: the supply); NaN where no populated point reaches it.
    station_demand
        ``D_j``: weighted population in each station's catchment (``hansen``: the same sum, for reference).
    population, supply
        The inputs, per demand point and per station.
    method, parameters
        The measure and its parameters (``catchment_min``, ``steps``, ``beta``, ...).
    demand_ids, site_ids
        From the travel times.
    """

    value: NDArray[np.float64]
    normalised: NDArray[np.float64]
    reached: NDArray[np.bool_]
    station_ratio: NDArray[np.float64]
    station_demand: NDArray[np.float64]
    population: NDArray[np.float64]
    supply: NDArray[np.float64]
    method: Method
    parameters: dict[str, Any] = field(default_factory=dict)
    demand_ids: NDArray[Any] = field(default_factory=lambda: np.zeros(0))
    site_ids: NDArray[Any] = field(default_factory=lambda: np.zeros(0))

    @property
    def mean(self) -> float:
        """Population-weighted mean of ``value`` (NaN without population)."""
        total = float(self.population.sum())
        return float(self.population @ self.value) / total if total > 0 else float("nan")

    def frame(self) -> pd.DataFrame:
        """Per demand point: ``id, population, value, normalised, reached``."""
        return pd.DataFrame(
            {
                "id": self.demand_ids,
                "population": self.population,
                "value": self.value,
                "normalised": self.normalised,
                "reached": self.reached,
            }
        )

    def stations_frame(self) -> pd.DataFrame:
        """Per station: ``site_id, supply, demand, ratio``."""
        return pd.DataFrame(
            {
                "site_id": self.site_ids,
                "supply": self.supply,
                "demand": self.station_demand,
                "ratio": self.station_ratio,
            }
        )

    def summary(self) -> dict[str, Any]:
        """Method, parameters, population-weighted mean and the counts (JSON-friendly)."""
        return {
            "method": self.method,
            "parameters": dict(self.parameters),
            "mean": self.mean,
            "demand": len(self.value),
            "stations": len(self.supply),
            "reached": int(self.reached.sum()),
            "unreached_population": float(self.population[~self.reached].sum()),
        }


def _vector(values: ArrayLike | None, n: int, *, name: str) -> NDArray[np.float64]:
    if values is None:
        return np.ones(n, dtype=np.float64)
    a = np.asarray(values, dtype=np.float64).ravel()
    if len(a) != n:
        msg = f"{name} has {len(a)} values for {n} rows"
        raise ValueError(msg)
    if not np.isfinite(a).all() or (a < 0).any():
        msg = f"{name} must be finite numbers ≥ 0"
        raise ValueError(msg)
    return a


def accessibility(
    times: TravelTimes,
    *,
    population: ArrayLike,
    supply: ArrayLike | None = None,
    method: Method = "2sfca",
    catchment_min: float,
    steps: Sequence[tuple[float, float]] | None = None,
    beta: float = 1.0,
    floor_min: float = DEFAULT_FLOOR_MIN,
    scale_min: float = 1.0,
) -> AccessResult:
    """Accessibility of every demand point to the stations of ``times`` (see the module for the measures).

    Parameters
    ----------
    times
        Demand × station minutes; pairs beyond ``times.cutoff_min`` are unreachable, so
        ``catchment_min`` must not exceed it.
    population
        Per demand point (≥ 0).
    supply
        Per station (≥ 0): 规模 / 面积 / 服务能力 / 人员数; default 1 each.
    method
        ``"2sfca"``, ``"e2sfca"``, ``"gravity"``, ``"g2sfca"`` or ``"hansen"``.
    catchment_min
        Pairs slower than this weigh 0 (``inf``: no cutoff, for ``gravity``/``hansen``).
    steps
        E2SFCA ``(upper bound minutes, weight)`` pairs; default :func:`default_steps`.
    beta
        Gravity / Hansen decay exponent (weight ``t ** -beta``).
    floor_min
        Gravity / Hansen: times below this count as this (``access``'s ``min_dist``).
    scale_min
        Hansen: times are divided by this before the power (``access``'s ``scale``).

    Returns
    -------
    AccessResult

    Raises
    ------
    ValueError
        Lengths that do not match, negative or non-finite population or supply, a
        catchment ≤ 0 or beyond the travel times' cutoff, bad steps, an unknown method.
    """
    n_d, n_s = times.n_demand, times.n_sites
    pop = _vector(population, n_d, name="population")
    sup = _vector(supply, n_s, name="supply")
    catchment = float(catchment_min)
    if not catchment > 0:
        msg = f"catchment_min must be > 0, got {catchment_min}"
        raise ValueError(msg)
    if catchment > times.cutoff_min:
        msg = f"catchment_min {catchment:g} is beyond the travel times' cutoff {times.cutoff_min:g}"
        raise ValueError(msg)
    if method == "g2sfca" and not np.isfinite(catchment):
        msg = "g2sfca needs a finite catchment_min"
        raise ValueError(msg)
    if method in ("gravity", "hansen") and not (np.isfinite(beta) and floor_min >= 0 and scale_min > 0):
        msg = "gravity needs a finite beta, floor_min ≥ 0 and scale_min > 0"
        raise ValueError(msg)
    if method == "e2sfca" and steps is None and not np.isfinite(catchment):
        msg = "e2sfca needs steps or a finite catchment_min"
        raise ValueError(msg)
    if method == "2sfca":
        w = (times.minutes <= catchment).astype(np.float64)
    else:
        w = pair_weights(
            times.minutes, method=method, catchment_min=catchment, steps=steps, beta=beta,
            floor_min=floor_min, scale_min=scale_min,
        )  # fmt: skip
    # the weights on the travel times' own CSR arrays (no copy; a zero weight is a pair out of reach)
    weights = sp.csr_array((w, times.indices, times.indptr), shape=(n_d, n_s))
    station_demand = np.asarray(weights.T @ pop, dtype=np.float64)
    if method == "hansen":
        ratio = sup.copy()
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(station_demand > 0, sup / station_demand, np.nan)
    value = np.asarray(weights @ np.nan_to_num(ratio, nan=0.0), dtype=np.float64)
    reached = np.asarray(weights @ np.ones(n_s), dtype=np.float64) > 0
    params: dict[str, Any] = {"catchment_min": catchment}
    if method == "e2sfca":
        params["steps"] = [[float(b), float(x)] for b, x in (steps if steps is not None else default_steps(catchment))]
    if method in ("gravity", "hansen"):
        params.update(beta=float(beta), floor_min=float(floor_min))
    if method == "hansen":
        params["scale_min"] = float(scale_min)
    total = float(pop.sum())
    mean = float(pop @ value) / total if total > 0 else 0.0
    normalised = value / mean if mean > 0 else np.full(n_d, np.nan)
    logger.debug("accessibility %s: %d demand, %d stations, %d pairs", method, n_d, n_s, times.n_pairs)
    return AccessResult(
        value=value,
        normalised=normalised,
        reached=reached,
        station_ratio=ratio,
        station_demand=station_demand,
        population=pop,
        supply=sup,
        method=method,
        parameters=params,
        demand_ids=times.demand_ids,
        site_ids=times.site_ids,
    )
