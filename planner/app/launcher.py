"""Server side of the Streamlit app: warm start and per-session result caches.

``python -m planner.app.launcher [streamlit options]`` starts the app like ``streamlit run
app.py``, on 127.0.0.1 unless told otherwise (:data:`SAFE_DEFAULTS`); once the web server
answers, a background thread imports the heavy modules, loads the demo county and draws
its map once, while a browser loads the page, so the first visitor does not wait for
them. The app takes the demo county from :func:`demo_state` (loaded at most once per
process, by whichever caller comes first), which also works under plain ``streamlit run
app.py``.

The demo county is generated and evaluated once (about 1.3 s) and kept as a pickle in
the user's cache folder under a key of the planner's code and library versions
(:func:`demo_cache_key`); ``python -m planner.app.launcher --prepare-demo`` (run by
``scripts/run.sh``) writes it ahead of the first start.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import pickle
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from planner.settings import Tier

if TYPE_CHECKING:  # the launcher imports this module before Streamlit: keep it light
    import geopandas as gpd
    import pandas as pd

    from planner.coverage.analyse import CoverageResult
    from planner.workspace.scenario import Scenario
    from planner.workspace.workspace import Workspace

logger = logging.getLogger(__name__)

#: The Streamlit script started by :func:`main`.
APP_PATH: Path = Path(__file__).resolve().parents[2] / "app.py"
#: Longest wait for the web server to come up before warming up anyway (seconds).
SERVER_WAIT_S: float = 15.0
#: Results kept per session (the current scenario, the state before the last edit, ...).
RESULT_CACHE_SIZE: int = 4
#: Send each session's first page in two steps: title, map and figures first, then the
#: controls once the browser has drawn the map (the browser draws the map about 0.8 s
#: sooner when it does not lay out some 60 widgets at the same time). Set by :func:`main`;
#: off under plain ``streamlit run app.py`` and in Streamlit's AppTest, which has no
#: browser to send the map's signal.
TWO_STEP_FIRST_PAGE: bool = False
#: Streamlit options :func:`main` sets unless its command line or the environment gives
#: them (option → environment variable Streamlit reads it from): the app serves this
#: machine only (it has no authentication; serving a LAN is an explicit choice,
#: ``--server.address 0.0.0.0``) and the browser gets no error details (a message of the
#: app's own; the traceback goes to the server log).
SAFE_DEFAULTS: dict[str, tuple[str, str]] = {
    "server.address": ("127.0.0.1", "STREAMLIT_SERVER_ADDRESS"),
    "client.showErrorDetails": ("none", "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"),
}


def with_safe_defaults(options: Sequence[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    """``options`` for ``streamlit run`` with :data:`SAFE_DEFAULTS` added where neither they nor ``environ`` set them.

    Parameters
    ----------
    options
        Command-line options (``--server.address 0.0.0.0`` or ``--server.address=0.0.0.0``).
    environ
        Environment (default ``os.environ``): ``STREAMLIT_SERVER_ADDRESS=0.0.0.0`` also
        chooses the address, as it does for ``streamlit run``.
    """
    env = os.environ if environ is None else environ
    out = list(options)
    for key, (value, env_name) in SAFE_DEFAULTS.items():
        flag = f"--{key}"
        given = any(o == flag or o.startswith(f"{flag}=") for o in options)
        if not given and not env.get(env_name):
            out += [flag, value]
    return out


@dataclass(frozen=True)
class DemoState:
    """The generated demo county, evaluated once per process and shared by all sessions.

    Attributes
    ----------
    workspace
        Demo workspace; its caches hold the evaluated tiers and county isochrones.
        Sessions take their own copy (:meth:`Workspace.with_config`).
    scenario
        The demo's stations; sessions take their own copy (:meth:`Scenario.copy`).
    roads
        Drawn road lines of the demo network (:func:`planner.report.webmap_layers.road_lines`).
    result
        Coverage of ``scenario.stations`` (read-only, shared).
    isochrones
        County-tier isochrones of ``scenario.stations`` (read-only, shared: the map
        keeps their simplified drawing per frame, so sharing the frame shares that too).
    build_s
        Seconds spent building and evaluating the county.
    """

    workspace: Workspace
    scenario: Scenario
    roads: gpd.GeoDataFrame
    result: CoverageResult
    isochrones: gpd.GeoDataFrame
    build_s: float


_DEMO_LOCK = threading.Lock()
_demo: list[DemoState] = []
#: Environment variable naming the folder of the prepared demo county (default
#: ``$XDG_CACHE_HOME/planner`` or ``~/.cache/planner``).
CACHE_DIR_ENV: str = "PLANNER_CACHE_DIR"
#: Libraries whose versions are part of the prepared demo's key (their objects are pickled).
_KEY_LIBRARIES: tuple[str, ...] = ("numpy", "pandas", "scipy", "shapely", "pyproj", "geopandas")


def cache_dir() -> Path:
    """Folder of the prepared demo county (:data:`CACHE_DIR_ENV`, else the user's cache folder)."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "planner"


def demo_cache_key(*, package_dir: Path | None = None) -> str:
    """Digest of everything the prepared demo depends on: the planner's code and the library versions.

    Any change of a module under ``planner/`` (the generator, the engines, the map's
    road drawing) or of a pickled library's version gives a new key, so a stale demo is
    never loaded. ``package_dir`` (default: the installed ``planner`` folder) is for tests.
    """
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha1(f"{sys.version}|{pickle.HIGHEST_PROTOCOL}".encode())
    for name in _KEY_LIBRARIES:
        try:
            h.update(f"|{name}={version(name)}".encode())
        except PackageNotFoundError:
            h.update(f"|{name}=?".encode())
    package = package_dir or Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if not path.is_file() or rel.parts[0] == "static" or "__pycache__" in rel.parts:
            continue
        h.update(str(rel).encode("utf-8"))
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def demo_cache_path() -> Path:
    """Where the prepared demo county for this code and these libraries is kept."""
    return cache_dir() / f"demo-{demo_cache_key()}.pickle"


def _build_demo() -> DemoState:
    from planner.report.webmap_layers import road_lines
    from planner.workspace.workspace import Workspace

    t0 = time.perf_counter()
    ws, sc = Workspace.from_demo()
    result = ws.evaluate(sc.stations)
    iso = ws.isochrones(sc.stations, tier=Tier.VILLAGE)  # the map's default circle (the view tier at open)
    roads = road_lines(ws.network)
    demo = DemoState(ws, sc, roads, result, iso, time.perf_counter() - t0)
    logger.info("demo county generated and evaluated in %.2f s", demo.build_s)
    return demo


def _load_demo(path: Path) -> DemoState | None:
    """The prepared demo at ``path``; ``None`` (and a warning) when missing or unreadable."""
    if not path.is_file():
        return None
    t0 = time.perf_counter()
    try:
        with path.open("rb") as fh:
            # our own file, written by save_demo under the key of this code (see demo_cache_key)
            demo = pickle.load(fh)
    except Exception as exc:  # a truncated or foreign file: rebuild
        logger.warning("prepared demo county %s is unreadable (%s); building it anew", path, exc)
        return None
    if not isinstance(demo, DemoState):
        logger.warning("prepared demo county %s holds a %s; building it anew", path, type(demo).__name__)
        return None
    logger.info("demo county loaded from %s in %.2f s", path, time.perf_counter() - t0)
    return demo


def save_demo(demo: DemoState, *, path: Path | None = None) -> Path | None:
    """Write ``demo`` where :func:`demo_state` looks first (atomically); ``None`` if the folder is not writable.

    Older prepared demos in the folder (other code versions) are removed.
    """
    from planner._atomic import atomic_write

    target = path or demo_cache_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(target, mode="wb") as fh:
            pickle.dump(demo, fh, protocol=pickle.HIGHEST_PROTOCOL)
        for old in target.parent.glob("demo-*.pickle"):
            if old != target:
                old.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("could not keep the demo county in %s (%s); it will be generated at each start", target, exc)
        return None
    return target


def demo_state() -> DemoState:
    """The demo county: prepared on disk, else built (and kept); once per process, thread-safe.

    The first caller loads it from :func:`demo_cache_path` (written by an earlier start
    or by ``python -m planner.app.launcher --prepare-demo``), or generates and evaluates it
    and writes that file; later callers wait and share the same object.
    """
    with _DEMO_LOCK:
        if not _demo:
            path = demo_cache_path()
            demo = _load_demo(path)
            if demo is None:
                demo = _build_demo()
                save_demo(demo, path=path)
            _demo.append(demo)
        return _demo[0]


def prepare_demo() -> Path | None:
    """Generate the demo county and keep it on disk unless already there (run by ``scripts/run.sh``).

    Only checks that the file exists (fast: no heavy imports); an unreadable file is
    replaced by :func:`demo_state` at the next start. Returns the file, ``None`` when
    it could not be written.
    """
    path = demo_cache_path()
    if path.is_file():
        return path
    return save_demo(_build_demo(), path=path)


def warm_up() -> float:
    """Load (or build) the demo county, import what the app needs and render its map once.

    Building the map caches what every later map reuses (road GeoJSON text,
    simplified isochrones). The download modules (``exports``, ``printmap``) are left
    to the first download. Returns the seconds spent.
    """
    t0 = time.perf_counter()
    demo = demo_state()
    # not streamlit_folium itself: its component registers with the server only when
    # imported inside a script run; folium.plugins is its slow part (template compiling)
    import folium.plugins  # noqa: F401

    from planner.report.webmap import build_map

    m = build_map(
        result=demo.result,
        isochrones={Tier.COUNTY: demo.isochrones},
        roads=demo.roads,
        areas=demo.workspace.areas,
        demand_first_tier_only=True,
    )
    m.get_root().render()
    # the first inspect.stack() of the process maps every loaded module to its file
    # (~0.3 s); Streamlit calls it on the first widget of the first script run
    inspect.stack()
    # st.set_page_config's emoji check imports Streamlit's emoji table (~0.1 s) on first use
    from streamlit.string_util import is_emoji

    is_emoji("🗺️")
    seconds = time.perf_counter() - t0
    logger.info("warm start done in %.2f s", seconds)
    return seconds


def wait_for_server(*, timeout_s: float = SERVER_WAIT_S) -> bool:
    """Wait until the Streamlit server in this process accepts connections; ``False`` on timeout.

    First the runtime must have started (the configuration is loaded by then), then its
    TCP port must answer (the web server binds it about a second later).
    """
    from streamlit import config
    from streamlit.runtime import Runtime
    from streamlit.runtime.runtime import RuntimeState

    deadline = time.monotonic() + timeout_s
    while not (Runtime.exists() and Runtime.instance().state is not RuntimeState.INITIAL):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    address = str(config.get_option("server.address") or "127.0.0.1")
    if address.startswith("unix://"):
        return True
    if address in ("0.0.0.0", "::"):
        address = "127.0.0.1"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, int(config.get_option("server.port"))), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def start_warm_up(*, after_server_start: bool = False) -> threading.Thread:
    """Run :func:`warm_up` in a daemon thread (errors are logged; the app then builds lazily).

    Parameters
    ----------
    after_server_start
        Begin once the web server is up (:func:`wait_for_server`): both are CPU-bound
        Python, so the server answers sooner and the browser loads the page while the
        demo county is built.
    """

    def run() -> None:
        try:
            if after_server_start:
                t0 = time.perf_counter()
                started = wait_for_server()
                logger.info("warm start begins %.2f s after launch (server up: %s)", time.perf_counter() - t0, started)
            warm_up()
        except Exception:
            logger.exception("warm start failed; the app will build the demo county on first use")

    thread = threading.Thread(target=run, name="planner-warm-up", daemon=True)
    thread.start()
    return thread


def stations_fingerprint(stations: pd.DataFrame) -> str:
    """A digest of a stations table's columns, index and values (equal tables, equal digests)."""
    import pandas as pd

    h = hashlib.sha1(repr(list(stations.columns)).encode("utf-8"))
    h.update(pd.util.hash_pandas_object(stations, index=True).to_numpy().tobytes())
    return h.hexdigest()


@dataclass
class ResultCache:
    """The last few coverage results of one session, keyed by workspace and stations.

    A rerun that changed neither the workspace (standards, data) nor the stations
    reuses the result instead of recomputing the summary tables.
    """

    size: int = RESULT_CACHE_SIZE
    _items: list[tuple[Workspace, str, CoverageResult]] = field(default_factory=list, repr=False)

    def put(self, workspace: Workspace, stations: pd.DataFrame, result: CoverageResult) -> None:
        """Remember ``result`` as the coverage of ``stations`` in ``workspace``."""
        fp = stations_fingerprint(stations)
        self._items = [it for it in self._items if not (it[0] is workspace and it[1] == fp)]
        self._items.append((workspace, fp, result))
        del self._items[: -self.size]

    def evaluate(self, workspace: Workspace, stations: pd.DataFrame) -> CoverageResult:
        """``workspace.evaluate(stations)``, from the cache when nothing changed."""
        fp = stations_fingerprint(stations)
        for ws, key, result in self._items:
            if ws is workspace and key == fp:
                return result
        result = workspace.evaluate(stations)
        self._items.append((workspace, fp, result))
        del self._items[: -self.size]
        return result


def tier_fingerprint(stations: pd.DataFrame, tier: Tier | str) -> str:
    """A digest of the ids and places of one tier's stations (what its isochrones depend on)."""
    rows = stations.loc[stations["tier"].astype(str) == str(tier), ["id", "lon", "lat"]]
    return stations_fingerprint(rows.reset_index(drop=True))


@dataclass
class IsochroneCache:
    """Isochrone frames of one session, the same frame object while its tier is unchanged.

    :meth:`Workspace.isochrones` returns a fresh copy on every call; the map simplifies
    isochrone geometry once per frame object, so handing it the same frame after an
    edit of another tier (or a rerun without edits) skips that work.
    """

    size: int = 2 * len(Tier)
    _items: list[tuple[Workspace, str, str, gpd.GeoDataFrame]] = field(default_factory=list, repr=False)

    def put(self, workspace: Workspace, stations: pd.DataFrame, tier: Tier, frame: gpd.GeoDataFrame) -> None:
        """Remember ``frame`` as the isochrones of ``tier`` for ``stations`` in ``workspace``."""
        self._items.append((workspace, str(tier), tier_fingerprint(stations, tier), frame))
        del self._items[: -self.size]

    def isochrones(self, workspace: Workspace, stations: pd.DataFrame, *, tier: Tier) -> gpd.GeoDataFrame:
        """``workspace.isochrones(stations, tier=tier)``; treat the frame as read-only."""
        fp = tier_fingerprint(stations, tier)
        for ws, name, key, frame in reversed(self._items):
            if ws is workspace and name == str(tier) and key == fp:
                return frame
        frame = workspace.isochrones(stations, tier=tier)
        self.put(workspace, stations, tier, frame)
        return frame


def main(argv: Sequence[str] | None = None) -> int:
    """Start the warm-up thread, then ``streamlit run app.py`` in this process.

    The app then sends each session's first page in two steps (:data:`TWO_STEP_FIRST_PAGE`).

    Parameters
    ----------
    argv
        Options for ``streamlit run`` (e.g. ``--server.port 8600``); default ``sys.argv[1:]``.
        Unless they say otherwise, the app serves 127.0.0.1 only and shows no error
        details (:data:`SAFE_DEFAULTS`).
        ``["--prepare-demo"]`` only prepares the demo county on disk (:func:`prepare_demo`).

    Returns
    -------
    int
        Exit status of the Streamlit command.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    options = list(sys.argv[1:] if argv is None else argv)
    if options == ["--prepare-demo"]:
        return 0 if prepare_demo() is not None else 1
    global TWO_STEP_FIRST_PAGE  # a process-wide switch of the app server
    TWO_STEP_FIRST_PAGE = True

    from streamlit.web import cli

    start_warm_up(after_server_start=True)
    args = ["run", str(APP_PATH), *with_safe_defaults(options)]
    try:
        cli.main(args=args, prog_name="streamlit", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    # run the imported module's main, not this __main__ copy: the app shares that module's demo cache
    from planner.app.launcher import main as _main

    raise SystemExit(_main())
