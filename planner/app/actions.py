"""Widget callbacks of the app: standards, edits and undo, scenarios, proposals, uploads, project files.

Each callback runs before the script body reruns (:func:`planner.app.state.callback`);
it changes the session state and leaves messages for the page to show.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from planner._errors import InputError
from planner.app.state import (
    callback,
    current_scenario,
    edit,
    evaluate,
    guard,
    init_session,
    say,
    session,
    show_tier,
    show_tier_of_change,
)
from planner.app.text import Markdown, md_escape, md_names, tm
from planner.coverage.analyse import off_network_lines
from planner.i18n import t
from planner.inputs.columns import ColumnReport
from planner.inputs.limits import Limits, app_limits
from planner.settings import Mode, Tier, parse_tier_demand
from planner.workspace.project import load_project
from planner.workspace.scenario import Scenario, scenario_label, scenario_name
from planner.workspace.siting_models import MODELS
from planner.workspace.workspace import Workspace

logger = logging.getLogger(__name__)

#: Uploaded point files that each get a coordinate system choice, and the systems offered.
UPLOAD_COORDS_ROLES: tuple[str, ...] = ("stations", "demand", "enterprises")
UPLOAD_COORDS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")


@callback
def set_language() -> None:
    """Switch the session's language (the language toggle)."""
    ss = session()
    ss.lang = "en" if ss.get("lang_en") else "zh"


@callback
def set_standard(tier: Tier) -> None:
    """Apply the travel mode and minutes chosen for ``tier`` (its intervals end at the new minutes)."""
    ss = session()
    mode = Mode(ss[f"mode_{tier}"])
    minutes = float(ss[f"minutes_{tier}"])
    old = ss.ws.config.standards[tier]
    intervals = tuple(sorted({iv for iv in old.intervals_min if iv < minutes} | {minutes}))

    def apply() -> None:
        cfg = ss.ws.config.with_overrides(tier=tier, mode=mode, minutes=minutes, intervals_min=intervals)
        ss.ws = ss.ws.with_config(cfg)
        ss.proposals = None
        show_tier(tier)  # the map redraws the circle of the standard just changed

    guard(apply)


@callback
def set_tier_demand(tier: Tier) -> None:
    """Apply whom ``tier`` serves (residents, enterprise workers or all demand points)."""
    ss = session()
    serves = parse_tier_demand(ss[f"serves_{tier}"])

    def apply() -> None:
        ss.ws = ss.ws.with_config(ss.ws.config.with_overrides(tier_demand={tier: serves}))
        ss.proposals = None
        show_tier(tier)

    guard(apply)


@callback
def set_presentation() -> None:
    """Enter or leave presentation mode (the toggle in the sidebar)."""
    ss = session()
    ss.presentation_on = bool(ss.get("presentation"))


@callback
def leave_presentation() -> None:
    """Leave presentation mode (the button shown in it)."""
    ss = session()
    ss.presentation_on = False
    ss.presentation = False


@callback
def undo() -> None:
    """Undo the last edit of the current scenario."""
    ss = session()
    before = evaluate()
    stations_before = current_scenario().stations
    if current_scenario().undo():
        show_tier_of_change(stations_before)
        ss.last_change = (before, evaluate())
        say("info", tm("app.sim.undone"))
    else:
        say("info", tm("app.sim.nothing_to_undo"))


@callback
def close_selected() -> None:
    """Close the selected station."""
    sid = session().get("selected_station")
    if not sid:
        say("warning", tm("app.sim.select_first"))
        return

    def change(sc: Scenario) -> Markdown:
        sc.close_station(sid)
        return tm("app.sim.closed", id=sid)

    guard(lambda: edit(change))


@callback
def copy_scenario() -> None:
    """Copy the current scenario under the new name typed in and edit the copy."""
    ss = session()
    name = scenario_name(str(ss.get("new_scenario_name") or ""))
    if not name:
        say("warning", tm("app.scen.empty_name"))
        return
    if name in ss.scenarios:
        say("warning", tm("app.scen.exists", name=scenario_label(name)))
        return
    ss.scenarios[name] = current_scenario().copy(name)
    ss.current = name
    ss.scenario_select = name
    ss.last_change = None


@callback
def select_scenario() -> None:
    """Edit the scenario chosen in the sidebar.

    The browser may send the choice as the label it showed: after a language switch the
    baseline's old label ("现状" in an English page) is read as the baseline, and a
    label naming no scenario changes nothing.
    """
    ss = session()
    choice = scenario_name(str(ss.scenario_select))
    if choice not in ss.scenarios:
        logger.info("scenario choice %r names no scenario; kept %r", ss.scenario_select, ss.current)
        ss.scenario_select = ss.current
        return
    if choice == ss.current:
        ss.scenario_select = choice
        return
    ss.current = ss.scenario_select = choice
    ss.last_change = None
    ss.proposals = None


@callback
def run_proposals() -> None:
    """Propose new sites for the chosen tier with the chosen model (sites to add, or a coverage target)."""
    ss = session()
    tier = Tier(ss.prop_tier)
    model = MODELS[str(ss.get("prop_model", "mclp"))]
    by_target = model.goals[0] == "target"
    capacity = model.capacity and bool(ss.get("prop_capacity"))
    # the app proposes for everyone it can: points no site reaches count at the cutoff (or, in
    # the capacitated p-median, are left out); the table's caption says how many
    modes = model.capacity_unreachable if capacity else model.unreachable
    unreachable = next((m for m in ("cutoff", "drop") if m in modes), "error")

    def run() -> None:
        t0 = time.perf_counter()
        proposal = ss.ws.propose(
            current_scenario().stations,
            tier=tier,
            model=model.name,
            k=None if by_target else int(ss.prop_k),
            target_percent=float(ss.prop_target) if by_target else None,
            weighted=model.name == "pcenter" and bool(ss.get("prop_weighted")),
            capacity=capacity,
            unreachable=unreachable,
        )
        ss.proposals = proposal.sites
        ss.proposal_summary = proposal.summary
        ss.proposal_tier = tier
        show_tier(tier)
        logger.info("proposals for %s in %.2f s: %d sites", tier, time.perf_counter() - t0, len(ss.proposals))
        if not len(ss.proposals):
            say("info", tm("app.prop.none"))

    guard(run)


@callback
def accept_proposal() -> None:
    """Add the chosen proposed site as a station and drop it from the proposals."""
    ss = session()
    props = ss.proposals
    if props is None or not len(props):
        return
    rank = int(ss.accept_rank)
    row = props[props["rank"] == rank].iloc[0]

    def change(sc: Scenario) -> Markdown:
        sid = sc.add_station(tier=str(row["tier"]), lon=float(row["lon"]), lat=float(row["lat"]))
        return tm("app.prop.accepted", rank=rank, id=sid)

    if guard(lambda: edit(change)):
        rest = props[props["rank"] != rank].reset_index(drop=True)
        ss.proposals = rest if len(rest) else None


def column_messages(reports: Iterable[ColumnReport]) -> list[tuple[str, Markdown]]:
    """The column reports of an upload as at most two messages: the columns used (info), then the warnings.

    Each line names the file as uploaded; headers from the files are escaped, so they
    show as written.
    """
    info: list[str] = []
    warn: list[str] = []
    for report in reports:
        for level, text in report.lines():
            line = tm("inputs.columns.line", file=report.name, text=text)
            (warn if level == "warning" else info).append(line)
    out = [("info", Markdown("  \n".join(info)))] if info else []
    return out + ([("warning", Markdown("  \n".join(warn)))] if warn else [])


def _stage_file(target: Path, name: str, data: bytes, *, limits: Limits) -> Path:
    if len(data) > limits.file_bytes:
        size_mb, limit_mb = f"{len(data) / 2**20:.1f}", f"{limits.file_bytes / 2**20:g}"
        raise InputError("app.data.too_large", file=name, size_mb=size_mb, limit_mb=limit_mb)
    path = target / Path(name).name
    path.write_bytes(data)
    return path


@callback
def load_uploads() -> None:
    """Load the staged uploads as a new workspace; on any error keep the current one."""
    ss = session()
    files: dict[str, tuple[str, bytes]] = dict(ss.get("staged_uploads") or {})
    for role in ("stations", "demand", "enterprises", "network", "areas"):
        up = ss.get(f"up_{role}")
        if up is not None:
            files[role] = (up.name, up.getvalue())
    if not all(r in files for r in ("stations", "demand", "network")):
        say("warning", tm("app.data.need_files"))
        return
    current = ", ".join(name for name, _ in files.values())

    tmp = tempfile.mkdtemp(prefix="planner-upload-")  # staged copies, removed below; messages hide it

    limits = app_limits()  # lower than the command line's: one server, many sessions

    def load() -> None:
        paths = {role: _stage_file(Path(tmp), name, data, limits=limits) for role, (name, data) in files.items()}
        allow = bool(ss.get("allow_off_network"))
        ws, sc = Workspace.from_files(
            network=paths["network"],
            stations=paths["stations"],
            demand=paths["demand"],
            enterprises=paths.get("enterprises"),
            areas=paths.get("areas"),
            coords={role: str(ss.get(f"coords_{role}") or "wgs84") for role in UPLOAD_COORDS_ROLES},
            config=ss.ws.config,  # the standards and whom each tier serves, as the sidebar shows them
            allow_off_network_stations=allow,
            limits=limits,
        )
        try:
            result = ws.evaluate(sc.stations)  # bad stations etc. are reported now, not later
        except InputError as exc:
            if exc.key != "scenario.error.stations_off_network":
                raise
            raise InputError(
                "app.data.off_network_refused", option=t("app.data.allow_off_network"), **exc.params
            ) from exc
        off_network = off_network_lines(result.stations) if allow else (0, "")
        ws.inputs.update({role: name for role, (name, _) in files.items()})  # not the staged copies' paths
        ss.ws = ws
        ss.is_demo = False
        ss.scenarios = {sc.name: sc}
        ss.current = sc.name
        ss.scenario_select = sc.name
        ss.proposals = None
        ss.last_change = None
        say(
            "success",
            tm(
                "app.data.loaded",
                label=ws.label,
                stations=tm("count.station", count=len(sc.stations)),
                demand=tm("count.demand_point", count=len(ws.demand)),
            ),
        )
        for kind, text in column_messages(ws.column_reports):
            say(kind, text)
        for finding in ws.findings:  # the same coordinate findings as the CLI's log and `planner check`
            name = Path(finding.file).name  # the staged copy keeps the uploaded file's name
            say("warning", tm("app.data.finding", file=name, message=finding.message()))
        say("info", md_escape(ws.demand_description()))
        for note in ws.network_notes:  # points stranded on road pieces cut off from the main network
            say("warning", md_escape(note))
        if off_network[0]:
            count, lines = off_network
            snap_m = f"{ws.config.max_snap_m:.0f}"
            say("warning", tm("app.data.off_network", count=count, max_snap_m=snap_m, lines=lines))

    try:
        if not guard(load, file=current, folder=tmp):
            say("info", tm("app.data.kept"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ss.staged_uploads = None


@callback
def reopen_demo() -> None:
    """Go back to the demo county."""
    for key in ("ws", "scenarios", "current", "scenario_select"):
        session().pop(key, None)
    init_session()


@callback
def load_project_file() -> None:
    """Add the scenarios of an uploaded project file (refused if its stations do not fit these roads)."""
    ss = session()
    up = ss.get("project_upload")
    if up is None:
        return

    tmp = tempfile.mkdtemp(prefix="planner-project-")  # the staged copy, removed below; messages hide it

    def load() -> None:
        limits = app_limits()
        scenarios = load_project(_stage_file(Path(tmp), up.name, up.getvalue(), limits=limits), limits=limits)
        for sc in scenarios:  # a project of other data (stations far from these roads): refused here
            ss.results.evaluate(ss.ws, sc.stations)
        for sc in scenarios:
            ss.scenarios[sc.name] = sc
        ss.current = scenarios[0].name
        ss.scenario_select = ss.current
        names = md_names(scenario_label(s.name) for s in scenarios)
        say("success", tm("app.scen.loaded", count=len(scenarios), names=names))

    try:
        guard(load, file=up.name, folder=tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
