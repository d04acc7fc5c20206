"""The siting models a proposal can run: one table from a model's name to how it is solved.

:data:`MODELS` maps each name (``planner site --model``, the app's model choice) to a
:class:`SitingModel`: which problem it reads (a coverage problem — who is within the
standard — or a travel-time problem), which goals and options it accepts, and the
function that calls the model of :mod:`planner.siting`. The workspace
(:func:`planner.workspace.propose.propose`) and the cost-matrix path of ``planner site``
build the :class:`ModelInputs` their own way (the network, a long cost file) and both
run the same entry of this table, so the same inputs give the same sites.

Options are checked here, once, before any work (:func:`check_request`): a model that
needs ``p`` without it, ``weighted`` on anything but p-center, capacities on a model
without a capacitated variant ... are refused with a message naming the option and the
models that take it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from planner._errors import InputError, SitingError
from planner.i18n import t
from planner.network.times import TravelTimes
from planner.siting.backup import backup_coverage
from planner.siting.capacity import capacitated_max_cover, capacitated_p_median
from planner.siting.center import p_center
from planner.siting.location import LocationResult, TimeProblem
from planner.siting.median import p_median
from planner.siting.models import (
    DEFAULT_MIP_REL_GAP,
    DEFAULT_TIME_LIMIT_S,
    SitingResult,
    Solver,
    maximal_covering,
    set_covering,
)
from planner.siting.problem import CoverageProblem

__all__ = ["MODELS", "ModelInputs", "Request", "SitingModel", "check_request", "solve"]

#: What a proposal asks for: ``k`` new sites, a coverage ``target`` (percent), a ``budget``,
#: or the ``review`` of existing stations (which could close).
Goal = Literal["k", "target", "budget", "review"]
#: What to do with demand no site reaches within the cutoff: ``"error"`` (name it),
#: ``"cutoff"`` (count it at the cutoff: p-median, p-center) or ``"drop"`` (leave it out of
#: the objective: capacitated p-median).
UnreachableMode = Literal["error", "cutoff", "drop"]
#: What a model of :data:`MODELS` returns (``None``: no new site asked for).
Result = SitingResult | LocationResult | None


@dataclass(frozen=True)
class Request:
    """The goal and options of one proposal (every surface fills the same fields).

    ``weighted`` is p-center's (population × minutes), ``require_cover`` backup
    coverage's (cover every coverable point once as well), ``capacity`` asks for the
    capacitated variant (MCLP, p-median). ``unreachable``: see :data:`UnreachableMode`.
    """

    k: int | None = None
    target_percent: float | None = None
    budget: float | None = None
    review_existing: bool = False
    min_per_township: int | None = None
    max_per_township: int | None = None
    solver: Solver = "highs"
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP
    unreachable: UnreachableMode = "error"
    weighted: bool = False
    require_cover: bool = False
    capacity: bool = False

    @property
    def goal(self) -> Goal:
        """The one goal given (``k`` by default; :func:`check_request` refuses several)."""
        if self.review_existing:
            return "review"
        if self.target_percent is not None:
            return "target"
        if self.budget is not None:
            return "budget"
        return "k"

    def p(self) -> int:
        """``k`` as the number of new sites of a model that needs it."""
        if self.k is None:
            raise InputError("scenario.error.propose_options")
        return int(self.k)


@dataclass(frozen=True, eq=False)
class ModelInputs:
    """The problem of one proposal and what its model needs besides.

    Attributes
    ----------
    coverage
        Who each candidate reaches within the standard (coverage models).
    times
        Travel minutes to the candidates within a cutoff (location models).
    existing_count
        Backup: existing stations within the standard of each demand point.
    capacity
        Capacitated models: people each candidate can serve (``inf``: unlimited).
    existing_cover, existing_capacity
        Capacitated MCLP: demand × existing station (each point's current station within
        the standard) and their capacities (NaN: unlimited).
    existing_times
        Capacitated p-median: minutes to each existing station (``None`` with unlimited
        existing stations: each point keeps its nearest).
    """

    coverage: CoverageProblem | None = None
    times: TimeProblem | None = None
    existing_count: NDArray[np.int64] | None = None
    capacity: NDArray[np.float64] | None = None
    existing_cover: sp.csr_matrix | None = None
    existing_capacity: NDArray[np.float64] | None = None
    existing_times: TravelTimes | None = None

    def need_coverage(self) -> CoverageProblem:
        """The coverage problem (built by the surface for a ``"coverage"`` model)."""
        if self.coverage is None:
            raise SitingError("siting.error.no_candidates")
        return self.coverage

    def need_times(self) -> TimeProblem:
        """The travel-time problem (built by the surface for a ``"time"`` model)."""
        if self.times is None:
            raise SitingError("siting.error.no_candidates")
        return self.times

    def need_capacity(self) -> NDArray[np.float64]:
        """Candidate capacities (built by the surface when capacities are asked for)."""
        if self.capacity is None:
            raise SitingError("siting.error.capacity_missing", count=0, sources="", tier="")
        return self.capacity


@dataclass(frozen=True)
class SitingModel:
    """One entry of :data:`MODELS`.

    Attributes
    ----------
    name
        The model's name (``--model``).
    problem
        ``"coverage"`` (within the standard or not) or ``"time"`` (travel minutes).
    goals
        Goals it accepts; the first is what it needs when given another one.
    goal_error
        i18n key of the error for a goal it does not accept.
    unreachable
        ``unreachable`` modes it accepts besides ``"error"`` (uncapacitated variant).
    capacity
        Has a capacitated variant (``--capacity``).
    capacity_unreachable
        ``unreachable`` modes of the capacitated variant besides ``"error"``.
    quotas
        Accepts per-township quotas of new sites.
    counts_existing
        Reads the number of existing stations within the standard (backup coverage).
    cost_matrix
        Runs on a long cost file as well as on the road network.
    run
        Solves the problem for the request.
    """

    name: str
    problem: Literal["coverage", "time"]
    goals: tuple[Goal, ...]
    goal_error: str
    run: Callable[[ModelInputs, Request], Result]
    unreachable: tuple[UnreachableMode, ...] = ()
    capacity: bool = False
    capacity_unreachable: tuple[UnreachableMode, ...] = ()
    quotas: bool = False
    counts_existing: bool = False
    cost_matrix: bool = True

    @property
    def label_key(self) -> str:
        """i18n key of the model's label (``siting.model.<name>``)."""
        return f"siting.model.{self.name}"


def solve(
    problem: CoverageProblem,
    *,
    k: int | None = None,
    target_percent: float | None = None,
    budget: float | None = None,
    min_per_township: int | None = None,
    max_per_township: int | None = None,
    solver: Solver = "highs",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
) -> SitingResult | None:
    """Solve ``problem`` for one goal: ``k`` sites, a coverage target in percent, or a budget.

    Township quotas apply to the candidates' township labels. ``None`` for ``k == 0``.
    """
    opts: dict[str, Any] = {"solver": solver, "time_limit_s": time_limit_s, "mip_rel_gap": mip_rel_gap}
    labels = sorted({str(g) for g in problem.candidate_group if str(g)}) if problem.candidate_group is not None else []
    if min_per_township is not None:
        opts["group_min"] = dict.fromkeys(labels, int(min_per_township))
    if max_per_township is not None:
        opts["group_max"] = dict.fromkeys(labels, int(max_per_township))
    if target_percent is not None:
        if not 0 < target_percent <= 100:
            raise SitingError("siting.error.bad_option", name="target_percent", value=target_percent)
        share = None if target_percent >= 100 else float(target_percent) / 100.0
        return set_covering(problem, target_share=share, **opts)
    if budget is not None:
        return maximal_covering(problem, p=None, budget=float(budget), **opts)
    if k is None:
        raise InputError("scenario.error.propose_options")
    if int(k) == 0:
        return None
    return maximal_covering(problem, p=int(k), **opts)


def _covering(inputs: ModelInputs, req: Request) -> Result:
    """MCLP / LSCP (:func:`solve`), or the capacitated MCLP with capacities."""
    problem = inputs.need_coverage()
    if req.capacity:
        return capacitated_max_cover(
            problem, p=req.p(), capacity=inputs.need_capacity(), existing_cover=inputs.existing_cover,
            existing_capacity=inputs.existing_capacity if inputs.existing_cover is not None else None,
            solver=req.solver, time_limit_s=req.time_limit_s, mip_rel_gap=req.mip_rel_gap,
        )  # fmt: skip
    return solve(
        problem, k=req.k, target_percent=req.target_percent, budget=req.budget,
        min_per_township=req.min_per_township, max_per_township=req.max_per_township, solver=req.solver,
        time_limit_s=req.time_limit_s, mip_rel_gap=req.mip_rel_gap,
    )  # fmt: skip


def _pmedian(inputs: ModelInputs, req: Request) -> Result:
    """p-median, or the capacitated p-median (split assignment) with capacities."""
    problem = inputs.need_times()
    if req.capacity:
        return capacitated_p_median(
            problem, p=req.p(), capacity=inputs.need_capacity(),
            existing_capacity=inputs.existing_capacity if inputs.existing_times is not None else None,
            existing_times=inputs.existing_times, unreachable="drop" if req.unreachable == "drop" else "error",
            solver=req.solver, time_limit_s=req.time_limit_s, mip_rel_gap=req.mip_rel_gap,
        )  # fmt: skip
    return p_median(
        problem, p=req.p(), solver=req.solver, time_limit_s=req.time_limit_s, mip_rel_gap=req.mip_rel_gap,
        unreachable="cutoff" if req.unreachable == "cutoff" else "error",
    )  # fmt: skip


def _pcenter(inputs: ModelInputs, req: Request) -> Result:
    """p-center (the longest trip), population-weighted with ``weighted``."""
    return p_center(
        inputs.need_times(), p=req.p(), weighted=req.weighted, solver=req.solver, time_limit_s=req.time_limit_s,
        unreachable="cutoff" if req.unreachable == "cutoff" else "error",
    )  # fmt: skip


def _backup(inputs: ModelInputs, req: Request) -> Result:
    """Backup coverage with the counted existing stations."""
    return backup_coverage(
        inputs.need_coverage(), p=req.p(), existing_count=inputs.existing_count, require_cover=req.require_cover,
        solver=req.solver, time_limit_s=req.time_limit_s, mip_rel_gap=req.mip_rel_gap,
    )  # fmt: skip


#: The siting models, by name (the order the app lists them in). Labels:
#: ``t(MODELS[name].label_key)``.
MODELS: Mapping[str, SitingModel] = MappingProxyType(
    {
        m.name: m
        for m in (
            SitingModel(
                "mclp", "coverage", ("k", "budget", "target", "review"), "scenario.error.propose_options",
                _covering, capacity=True, quotas=True,
            ),
            SitingModel("lscp", "coverage", ("target",), "siting.error.lscp_needs_target", _covering, quotas=True),
            SitingModel(
                "pmedian", "time", ("k",), "siting.error.pmedian_needs_p", _pmedian, unreachable=("cutoff",),
                capacity=True, capacity_unreachable=("drop",),
            ),
            SitingModel("pcenter", "time", ("k",), "siting.error.model_needs_p", _pcenter, unreachable=("cutoff",)),
            SitingModel(
                "backup", "coverage", ("k",), "siting.error.model_needs_p", _backup, counts_existing=True
            ),
        )
    }
)  # fmt: skip


def _names(pred: Callable[[SitingModel], bool]) -> str:
    return ", ".join(name for name, m in MODELS.items() if pred(m))


def check_request(model: str, request: Request) -> SitingModel:
    """The table entry of ``model``, after checking ``request`` against it.

    Raises
    ------
    SitingError
        An unknown model; a goal the model does not take (p-median, p-center and backup
        need ``k``, set covering a target); an option of another model (``weighted``:
        p-center; ``require_cover``: backup; ``capacity``: MCLP and p-median with ``k``;
        township quotas: MCLP and set covering; ``unreachable`` modes).
    """
    spec = MODELS.get(model)
    if spec is None:
        raise SitingError("siting.error.bad_model", model=model, models=", ".join(MODELS))
    label = t(spec.label_key)
    if request.goal not in spec.goals:
        raise SitingError(spec.goal_error, model=label)

    def refuse(option: str, takes: str) -> None:
        raise SitingError("siting.error.option_for_model", option=option, model=label, models=takes)

    if request.weighted and spec.name != "pcenter":
        refuse("weighted", _names(lambda m: m.name == "pcenter"))
    if request.require_cover and spec.name != "backup":
        refuse("require_cover", _names(lambda m: m.name == "backup"))
    if request.capacity and not spec.capacity:
        refuse("capacity", _names(lambda m: m.capacity))
    if request.capacity and request.goal != "k":
        raise SitingError("siting.error.capacity_needs_p", model=label)
    if (request.min_per_township is not None or request.max_per_township is not None) and (
        not spec.quotas or request.capacity
    ):
        refuse("min/max_per_township", _names(lambda m: m.quotas))
    modes = spec.capacity_unreachable if request.capacity else spec.unreachable
    if request.unreachable != "error" and request.unreachable not in modes:
        takes = _names(lambda m: request.unreachable in m.unreachable)
        capacitated = _names(lambda m: request.unreachable in m.capacity_unreachable)
        refuse(f"unreachable={request.unreachable}", takes or t("siting.option.capacitated", models=capacitated))
    return spec
