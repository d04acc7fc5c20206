"""Travel-time location problems: the shared problem and result of p-median, p-center and their variants.

Coverage models (:mod:`planner.siting.models`) only ask *whether* a site reaches a demand
point within the standard. The location models ask *how long* it takes:

* p-median — the population-weighted total (and mean) of travel minutes to the nearest
  open site (existing stations included);
* p-center — the largest travel minutes over the demand points.

Both read a :class:`TimeProblem`: sparse travel minutes from the demand points to the
candidate sites (:class:`planner.network.times.TravelTimes`, pairs within a cutoff
only), the population per point, and the minutes to the nearest *existing* station,
which stays open. A pair slower than the existing station is never useful and is
dropped up front (:meth:`TimeProblem.useful_pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from planner._errors import InputError, ids_text
from planner.network.times import TravelTimes

__all__ = ["LocationResult", "TimeProblem"]


@dataclass(frozen=True, eq=False)
class TimeProblem:
    """Travel minutes from demand points to candidate sites, with existing stations fixed.

    Parameters
    ----------
    times
        Demand × candidate minutes within a cutoff (:class:`~planner.network.times.TravelTimes`).
    weights
        Population per demand point (≥ 0).
    existing_min
        Minutes from each demand point to its nearest existing station (``inf`` when none
        is within the cutoff); default: no existing station.
    demand_group, candidate_group
        Optional township label per demand point / candidate.
    """

    times: TravelTimes
    weights: NDArray[np.float64]
    existing_min: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    demand_group: NDArray[Any] | None = None
    candidate_group: NDArray[Any] | None = None

    def __post_init__(self) -> None:
        m = self.times.n_demand
        w = np.asarray(self.weights, dtype=np.float64).ravel()
        e = np.asarray(self.existing_min, dtype=np.float64).ravel()
        if len(e) == 0:
            e = np.full(m, np.inf)
        for name, arr in (("weights", w), ("existing_min", e)):
            if len(arr) != m:
                raise InputError("siting.error.length_mismatch", name=name, length=len(arr), expected=m)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise InputError(
                "siting.error.negative_population",
                source="weights",
                row=int(np.argmax(bad)) + 1,
                ids=ids_text(self.times.demand_ids[bad]),
            )
        if np.isnan(e).any() or (e < 0).any():
            raise InputError("siting.error.bad_option", name="existing_min", value="NaN / < 0")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "existing_min", e)

    @classmethod
    def split_existing(
        cls, times: TravelTimes, *, weights: NDArray[np.float64], existing: NDArray[np.bool_]
    ) -> TimeProblem:
        """Problem whose existing stations are the ``existing`` site columns of ``times`` (the rest are candidates).

        For a long table of times to every site (``--cost-matrix`` with ``--existing``):
        a point's existing minutes are those to its nearest ``existing`` column.
        """
        mask = np.asarray(existing, dtype=bool)
        existing_min = times.nearest_minutes(sites=mask) if mask.any() else np.zeros(0)
        return cls(times=times.subset_sites(~mask), weights=weights, existing_min=existing_min)

    @property
    def n_demand(self) -> int:
        """Number of demand points."""
        return self.times.n_demand

    @property
    def n_candidates(self) -> int:
        """Number of candidate sites."""
        return self.times.n_sites

    @property
    def demand_ids(self) -> NDArray[Any]:
        """Demand identifiers."""
        return self.times.demand_ids

    @property
    def candidate_ids(self) -> NDArray[Any]:
        """Candidate identifiers."""
        return self.times.site_ids

    @property
    def total_population(self) -> float:
        """Sum of the weights."""
        return float(self.weights.sum())

    def useful_pairs(self) -> NDArray[np.bool_]:
        """Pairs faster than the demand point's existing station (the only ones a new site can improve)."""
        useful: NDArray[np.bool_] = self.times.minutes < self.existing_min[self.times.rows]
        return useful

    def unreachable(self) -> NDArray[np.bool_]:
        """Demand points with neither an existing station nor a candidate within the cutoff."""
        out: NDArray[np.bool_] = ~np.isfinite(self.existing_min) & ~self.times.reached()
        return out

    def minutes_with(self, open_sites: NDArray[np.int64] | NDArray[np.bool_]) -> NDArray[np.float64]:
        """Minutes from each demand point to its nearest open site or existing station (``inf``: none).

        ``open_sites`` are candidate columns (indices or a mask). This is the one evaluation
        every model's objective, bound check and test uses.
        """
        mask = np.zeros(self.n_candidates, bool)
        mask[np.asarray(open_sites)] = True
        return np.minimum(self.existing_min, self.times.nearest_minutes(sites=mask))


@dataclass(frozen=True, eq=False)
class LocationResult:
    """Outcome of a travel-time location model (p-median, p-center and variants).

    Attributes
    ----------
    model
        ``"pmedian"``, ``"pcenter"``, ``"pmedian_capacitated"`` ...
    site_ids
        Chosen candidate ids in rank order (largest marginal improvement first).
    site_gain
        Improvement of the objective each site brings, in rank order (marginal to the
        existing stations and the sites before it). ``pmedian_capacitated``: the rise of
        the objective if that site alone were closed, the others kept (``inf``: the rest
        cannot serve everyone; ``nan``: not computed within the time limit); with
        capacities the sites' contributions do not add up (``details["site_gain"]`` says
        ``"closing_rise"``).
    objective
        p-median: population-weighted total minutes; p-center: the largest minutes
        (population-weighted when asked), existing stations and new sites together.
    bound
        Proven lower bound on the objective (``nan`` for a heuristic without one).
    gap
        ``(objective - bound) / objective`` (0 when proven optimal).
    minutes
        Minutes from each demand point to its nearest open site or station afterwards
        (``inf``: unreachable within the cutoff).
    minutes_before
        The same with the existing stations only.
    unreachable_ids
        Demand points no site reaches within the cutoff (see the model's ``unreachable``
        option).
    """

    model: str
    site_ids: NDArray[Any]
    site_gain: NDArray[np.float64]
    objective: float
    bound: float
    gap: float
    minutes: NDArray[np.float64]
    minutes_before: NDArray[np.float64]
    weights: NDArray[np.float64]
    status: str
    solver: str
    seconds: float
    unreachable_ids: NDArray[Any] = field(default_factory=lambda: np.zeros(0, dtype=object))
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def n_sites(self) -> int:
        """Number of new sites."""
        return len(self.site_ids)

    @staticmethod
    def _mean(minutes: NDArray[np.float64], w: NDArray[np.float64]) -> float:
        ok = np.isfinite(minutes)
        total = float(w[ok].sum())
        return float((minutes[ok] * w[ok]).sum() / total) if total > 0 else float("nan")

    @property
    def mean_minutes(self) -> float:
        """Population-weighted mean minutes afterwards, over the reachable demand."""
        return self._mean(self.minutes, self.weights)

    @property
    def mean_minutes_before(self) -> float:
        """Population-weighted mean minutes with the existing stations only (reachable demand)."""
        return self._mean(self.minutes_before, self.weights)

    @property
    def max_minutes(self) -> float:
        """Largest finite minutes afterwards (``nan`` when nothing is reachable)."""
        ok = np.isfinite(self.minutes)
        return float(self.minutes[ok].max()) if ok.any() else float("nan")

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: model, objective, mean/max minutes, bound, gap, status, solver, seconds."""

        def num(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        return {
            "model": self.model,
            "objective": num(self.objective),
            "mean_minutes": num(self.mean_minutes),
            "mean_minutes_before": num(self.mean_minutes_before),
            "max_minutes": num(self.max_minutes),
            "bound": num(self.bound),
            "gap": num(self.gap),
            "n_sites": self.n_sites,
            "status": self.status,
            "solver": self.solver,
            "seconds": self.seconds,
            "unreachable": len(self.unreachable_ids),
            **self.details,
        }
