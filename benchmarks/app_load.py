"""Load on the app: concurrent browser sessions editing the demo county, timed and checked.

Usage (from the repository root, with the project's virtualenv)::

    .venv/bin/python benchmarks/app_load.py                            # 10 sessions, 180 s
    .venv/bin/python benchmarks/app_load.py --sessions 10 --seconds 180
    .venv/bin/python benchmarks/app_load.py --sessions 3 --seconds 60 --release-wait-s 0   # quick look

Options: ``--sessions N`` concurrent browser sessions (default 10); ``--seconds S`` how long
they edit (default 180); ``--think-s T`` pause after each edit's page has settled, as a
planner would look at it (default 5); ``--baseline-actions K`` edits of the single session
run first (default 6, ``0`` skips it); ``--server-cpu C`` the core the server is pinned to
(default 0; the browsers get every other core; ``-1`` pins nothing); ``--release-wait-s W``
how long to wait after the sessions closed before measuring the server's memory again
(default 130; ``0`` skips that measurement); ``--chromium PATH`` (default
``/usr/bin/chromium``); ``--keep-log PATH`` copies the server's log there. Progress goes
to stderr, the Markdown tables to stdout.

What it does:

1. Starts the app like ``scripts/run.sh`` (``python -m planner.app.launcher`` after
   ``--prepare-demo``) on a free localhost port, pinned to ``--server-cpu``; this process,
   the Playwright driver and Chromium run on the other cores (``os.sched_setaffinity``,
   inherited by children), so the browsers' CPU does not count against the server.
2. Baseline: one session alone opens the app, waits for the first map and makes
   ``--baseline-actions`` edits; then it closes.
3. Load: ``--sessions`` sessions (one browser context each, one Chromium) open the app at
   the same moment and edit for ``--seconds``. An edit is a click on an uncovered village
   (a red circle: adds a village station there) or, after three additions, the undo button
   (three times), so each session cycles add ×3, undo ×3 and never runs out of villages.
4. After the sessions closed, waits ``--release-wait-s`` (Streamlit 1.67 keeps a
   disconnected session for 120 s in ``MemorySessionStorage``, a fixed value:
   ``server.disconnectedSessionTTL`` is defined but not read; expired sessions are dropped
   at the next write to that storage), then opens and closes one more session so that the
   expired ones are dropped, and measures the server's memory again.

Measured:

- first map: from ``page.goto`` to the first station marker drawn in the map frame;
- click-to-figures: from the click (``page.mouse.click``) to the figures on the page
  (``stMetricValue``) changing, as the browser sees them (includes the browsers' own CPU);
- the server's share: per edit, the server-side time from the click's callback to the
  figures computed (the app's ``edit evaluated in`` log line; the figures are sent before
  the map) and to the end of the rerun of the page's live part, map included (``edit to
  rendered page (server side)``), and the server process's CPU seconds (``/proc/<pid>/stat`` utime +
  stime) over the load window per edit, with its core's utilisation (near 100 %: the
  server is the bottleneck and edits queue behind each other);
- no state leaking: after every edit each session checks that the village tier's station
  count on its page is the demo's plus its own additions minus its own undos, and that an
  addition's message names the id its own count predicts (NEW-001, NEW-002, ...);
- the server's resident memory (``VmRSS``): after the baseline session closed, at peak
  during the load (sampled every 0.5 s) and after the load's sessions were dropped.

The load average of the machine is printed with every phase: on a shared machine the
absolute times are inflated; the ratio to the baseline is measured within the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, fmt_s, print_table

from planner.i18n import t

logger = logging.getLogger("app_load")

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
METRICS = '[data-testid="stMetricValue"]'
#: Server log line of one edit, from the click's callback to the rerun's end (planner.app.main).
EDIT_LINE = re.compile(r"edit to rendered page \(server side\) ([0-9.]+) s")
#: Server log line of one edit's evaluation, from the click's callback to the figures computed.
EVALUATED_LINE = re.compile(r"edit evaluated in ([0-9.]+) s")
#: Server log line of a session's first map (planner.app.main): from its first script run's start.
FIRST_MAP_LINE = re.compile(r"first map sent ([0-9.]+) s after the script run started")
#: Additions before the session undoes them again.
ADDS_PER_CYCLE = 3

FIGURES_CHANGED_JS = """
(before) => {
  const now = [...document.querySelectorAll('[data-testid="stMetricValue"]')].map(e => e.innerText);
  return now.length === before.length && now.join('|') !== before.join('|');
}
"""

#: Centre (in the map frame) of an uncovered-village circle that no marker hides, else null.
FREE_RED_CIRCLE_JS = """
() => {
  for (const p of document.querySelectorAll('.leaflet-overlay-pane path[fill="#e31a1c"]')) {
    const b = p.getBoundingClientRect();
    const x = b.x + b.width / 2, y = b.y + b.height / 2;
    if (b.width > 0 && document.elementFromPoint(x, y) === p) return [x, y];
  }
  return null;
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(values, q))


@dataclass
class Server:
    """The app server process, its log and URL."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def edit_times_s(self, *, start: int, end: int | None = None) -> list[float]:
        """Server-side seconds of the edits logged between character offsets ``start`` and ``end``."""
        return [float(m) for m in EDIT_LINE.findall(self.log_text()[start:end])]

    def evaluated_times_s(self, *, start: int) -> list[float]:
        """Server-side seconds from an edit's callback to its figures computed, logged after ``start``."""
        return [float(m) for m in EVALUATED_LINE.findall(self.log_text()[start:])]

    def first_map_times_s(self, *, start: int) -> list[float]:
        """Server-side seconds from a session's first script run to its map sent, logged after ``start``."""
        return [float(m) for m in FIRST_MAP_LINE.findall(self.log_text()[start:])]


def start_server(*, cpu: int, folder: Path) -> Server:
    """Prepare the demo county, start ``planner.app.launcher`` pinned to ``cpu`` and wait for its warm start."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "planner.app.launcher", "--prepare-demo"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    log = folder / "streamlit.log"
    args = [
        sys.executable, "-m", "planner.app.launcher",
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu >= 0 else None
    with log.open("w") as fh:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, preexec_fn=pin)
    url = f"http://127.0.0.1:{port}"
    server = Server(proc, url, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200 and "warm start done" in server.log_text():
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    proc.terminate()
    msg = f"the app server did not start; log:\n{server.log_text()[-3000:]}"
    raise RuntimeError(msg)


@dataclass
class SessionStats:
    """What one browser session measured."""

    name: str
    first_map_s: float = float("nan")
    clicks_s: list[float] = field(default_factory=list)
    adds: int = 0
    undos: int = 0
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def _village_count(page: Any) -> int:
    """The village tier's station count as the page states it (its line above the figures)."""
    tier = t("tier.village")
    texts = await page.locator('[data-testid="stMarkdownContainer"]').filter(has_text=tier).all_inner_texts()
    for text in texts:
        m = re.search(rf"{re.escape(tier)}\s*·.*?·\s*([\d,]+)", text)
        if m:
            return int(m.group(1).replace(",", ""))
    msg = f"no village station count on the page: {texts}"
    raise RuntimeError(msg)


async def _idle(page: Any) -> None:
    await page.wait_for_timeout(200)
    await page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=120_000)


async def _open(page: Any, url: str, stats: SessionStats) -> None:
    t0 = time.perf_counter()
    await page.goto(url, wait_until="commit", timeout=180_000)
    await (
        page.frame_locator(MAP_FRAME)
        .first.locator(".leaflet-marker-pane .awesome-marker")
        .first.wait_for(timeout=180_000)
    )
    stats.first_map_s = time.perf_counter() - t0
    await page.locator(METRICS).first.wait_for(timeout=120_000)
    # the controls (undo) come with the second step of the first page
    await page.get_by_role("button", name=t("app.sim.undo")).wait_for(timeout=120_000)
    await _idle(page)


async def _timed(page: Any, stats: SessionStats, act: Any) -> None:
    """Run ``act`` (a click) and record the seconds until the figures change."""
    before = await page.locator(METRICS).all_inner_texts()
    t0 = time.perf_counter()
    await act()
    await page.wait_for_function(FIGURES_CHANGED_JS, arg=before, polling=50, timeout=120_000)
    stats.clicks_s.append(time.perf_counter() - t0)


async def _add(page: Any, stats: SessionStats) -> bool:
    frame = page.locator(MAP_FRAME).first
    box = await frame.bounding_box()
    inner = await (await frame.element_handle()).content_frame()
    xy = await inner.evaluate(FREE_RED_CIRCLE_JS)
    if box is None or xy is None:
        return False
    await _timed(page, stats, lambda: page.mouse.click(box["x"] + xy[0], box["y"] + xy[1]))
    stats.adds += 1
    expected = f"NEW-{stats.adds - stats.undos:03d}"
    message = t("app.sim.added", id=expected, tier=t("tier.village"), lon=0.0, lat=0.0).split(expected)[0] + expected
    try:
        await page.get_by_text(message).first.wait_for(timeout=30_000)
    except Exception:
        stats.leaks.append(f"{stats.name}: addition {stats.adds} did not report {expected}")
    return True


async def _undo(page: Any, stats: SessionStats) -> None:
    await _timed(page, stats, lambda: page.get_by_role("button", name=t("app.sim.undo")).click())
    stats.undos += 1


async def run_session(
    browser: Any, url: str, stats: SessionStats, *, until: float | None, actions: int, think_s: float
) -> None:
    """One browser session: open the app, then edit until ``until`` (monotonic) or for ``actions`` edits."""
    context = await browser.new_context(viewport={"width": 1600, "height": 1100}, locale="zh-CN")
    page = await context.new_page()
    try:
        await _open(page, url, stats)
        n0 = await _village_count(page)
        adding = True
        while (until is None and len(stats.clicks_s) < actions) or (until is not None and time.monotonic() < until):
            net = stats.adds - stats.undos
            adding = (adding and net < ADDS_PER_CYCLE) or net == 0
            if not (adding and await _add(page, stats)):
                if net == 0:
                    msg = "no uncovered village left to click"
                    raise RuntimeError(msg)
                adding = False
                await _undo(page, stats)
            await _idle(page)
            count = await _village_count(page)
            if count != n0 + stats.adds - stats.undos:
                stats.leaks.append(
                    f"{stats.name}: {count} village stations after {stats.adds} additions and {stats.undos} undos"
                    f" (started with {n0})"
                )
            await page.wait_for_timeout(think_s * 1000)
    except Exception as exc:  # a session that fails is reported, the others go on
        stats.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        logger.warning("%s failed: %s", stats.name, exc)
    finally:
        await context.close()


async def run_sessions(
    chromium: Path, url: str, *, n: int, seconds: float | None, actions: int, think_s: float
) -> list[SessionStats]:
    """``n`` concurrent sessions in one Chromium, each in its own browser context."""
    from playwright.async_api import async_playwright

    stats = [SessionStats(name=f"s{k + 1:02d}") for k in range(n)]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-renderer-backgrounding",
                  "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"],
        )  # fmt: skip
        until = None if seconds is None else time.monotonic() + seconds
        await asyncio.gather(
            *(run_session(browser, url, s, until=until, actions=actions, think_s=think_s) for s in stats)
        )
        await browser.close()
    return stats


class RssSampler(threading.Thread):
    """Samples a process's resident memory every ``every_s`` seconds; :attr:`peak_mb` is the highest."""

    def __init__(self, pid: int, *, every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s, self.peak_mb = pid, every_s, 0.0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.peak_mb = max(self.peak_mb, _rss_mb(self.pid))
            self.halt.wait(self.every_s)


def _summary(stats: list[SessionStats]) -> dict[str, Any]:
    clicks = [c for s in stats for c in s.clicks_s]
    firsts = [s.first_map_s for s in stats if s.first_map_s == s.first_map_s]
    return {"clicks": clicks, "firsts": firsts, "edits": sum(len(s.clicks_s) for s in stats)}


def main(argv: list[str] | None = None) -> int:
    """Run the load test; returns 1 when a session failed or saw another's state."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--think-s", type=float, default=5.0)
    p.add_argument("--baseline-actions", type=int, default=6)
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--release-wait-s", type=float, default=130.0)
    p.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    p.add_argument("--keep-log", type=Path, default=None, help="copy the server log here")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    cpus = sorted(os.sched_getaffinity(0))
    if a.server_cpu >= 0 and len(cpus) > 1:
        browser_cpus = set(cpus) - {a.server_cpu}
        os.sched_setaffinity(0, browser_cpus)  # inherited by the Playwright driver and Chromium
        placement = f"server on core {a.server_cpu}, browsers on {sorted(browser_cpus)}"
    else:
        a.server_cpu = -1
        placement = "not pinned (one core, or --server-cpu -1)"
    logger.info("%s; load average %s", placement, _load())
    rows: list[list[str]] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="app_load_") as tmp:
        server = start_server(cpu=a.server_cpu, folder=Path(tmp))
        pid = server.proc.pid
        try:
            base: dict[str, Any] = {"clicks": [], "firsts": [], "edits": 0}
            base_edit_s: list[float] = []
            base_first_s: list[float] = []
            base_eval_s: list[float] = []
            if a.baseline_actions > 0:
                logger.info("baseline: 1 session, %d edits; load average %s", a.baseline_actions, _load())
                mark = len(server.log_text())
                one = asyncio.run(
                    run_sessions(
                        a.chromium, server.url, n=1, seconds=None, actions=a.baseline_actions, think_s=a.think_s
                    )
                )
                base = _summary(one)
                base_edit_s = server.edit_times_s(start=mark)
                base_first_s = server.first_map_times_s(start=mark)
                base_eval_s = server.evaluated_times_s(start=mark)
                failed |= any(s.leaks or s.errors for s in one)
            rss_before = _rss_mb(pid)
            load_before = _load()
            logger.info(
                "load: %d sessions for %.0f s; RSS %.0f MB; load average %s",
                a.sessions,
                a.seconds,
                rss_before,
                load_before,
            )
            sampler = RssSampler(pid)
            sampler.start()
            mark = len(server.log_text())
            cpu0, wall0 = _cpu_s(pid), time.perf_counter()
            many = asyncio.run(
                run_sessions(a.chromium, server.url, n=a.sessions, seconds=a.seconds, actions=0, think_s=a.think_s)
            )
            cpu_s, wall_s = _cpu_s(pid) - cpu0, time.perf_counter() - wall0
            load_after = _load()
            sampler.halt.set()
            sampler.join()
            edit_s = server.edit_times_s(start=mark)
            first_s = server.first_map_times_s(start=mark)
            eval_s = server.evaluated_times_s(start=mark)
            rss_closed = _rss_mb(pid)
            load = _summary(many)
            rss_after = float("nan")
            if a.release_wait_s > 0:
                logger.info(
                    "sessions closed (RSS %.0f MB); waiting %.0f s for Streamlit to drop them",
                    rss_closed,
                    a.release_wait_s,
                )
                time.sleep(a.release_wait_s)
                # the expired sessions are dropped when the next one is stored (at its disconnect)
                asyncio.run(run_sessions(a.chromium, server.url, n=1, seconds=None, actions=0, think_s=0))
                time.sleep(2)
                rss_after = _rss_mb(pid)
            failed |= any(s.leaks or s.errors for s in many)
        finally:
            server.proc.terminate()
            try:
                server.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.proc.kill()
            log_text = server.log_text()
            if a.keep_log is not None:
                a.keep_log.write_text(log_text, encoding="utf-8")
    n_tb = log_text.count("Traceback")

    def ms(values: list[float], q: float) -> str:
        return fmt_s(_pct(values, q))

    ratio = lambda x, y: f"{_pct(x, 50) / _pct(y, 50):.2f}×" if x and y else "-"  # noqa: E731
    sys.stdout.write(
        f"\n## App load: {a.sessions} sessions × {a.seconds:.0f} s, think {a.think_s:g} s ({placement})\n\n"
        f"Load average before the load {load_before}, after {load_after}.\n\n"
    )
    header = ["measure", "baseline (1 session)", f"{a.sessions} sessions", "ratio (p50)"]
    rows = [
        ["edits (all sessions)", str(base["edits"]), str(load["edits"]), ""],
        ["first map s, p50 / p95", f"{ms(base['firsts'], 50)} / {ms(base['firsts'], 95)}",
         f"{ms(load['firsts'], 50)} / {ms(load['firsts'], 95)}", ratio(load["firsts"], base["firsts"])],
        ["first map s, max", ms(base["firsts"], 100), ms(load["firsts"], 100), ""],
        ["server side first map s (log), p50 / p95", f"{ms(base_first_s, 50)} / {ms(base_first_s, 95)}",
         f"{ms(first_s, 50)} / {ms(first_s, 95)}", ratio(first_s, base_first_s)],
        ["click-to-figures s (browser), p50 / p95", f"{ms(base['clicks'], 50)} / {ms(base['clicks'], 95)}",
         f"{ms(load['clicks'], 50)} / {ms(load['clicks'], 95)}", ratio(load["clicks"], base["clicks"])],
        ["click-to-figures s, max", ms(base["clicks"], 100), ms(load["clicks"], 100), ""],
        ["server side click to figures computed s (log), p50 / p95", f"{ms(base_eval_s, 50)} / {ms(base_eval_s, 95)}",
         f"{ms(eval_s, 50)} / {ms(eval_s, 95)}", ratio(eval_s, base_eval_s)],
        ["server side click to page incl. map s (log), p50 / p95", f"{ms(base_edit_s, 50)} / {ms(base_edit_s, 95)}",
         f"{ms(edit_s, 50)} / {ms(edit_s, 95)}", ratio(edit_s, base_edit_s)],
        ["server CPU s per edit (/proc, whole window)", "", fmt_s(cpu_s / load["edits"]) if load["edits"] else "-", ""],
        ["server CPU s over the load window", "", fmt_s(cpu_s), ""],
        ["server core busy (CPU s / wall s)", "", f"{100 * cpu_s / wall_s:.0f} %", ""],
    ]  # fmt: skip
    print_table(header, rows)
    sys.stdout.write("\n")
    mem = [
        ["server RSS MB before the sessions (after the baseline session)", f"{rss_before:.0f}"],
        ["server RSS MB at peak", f"{sampler.peak_mb:.0f}"],
        ["server RSS MB right after the sessions closed", f"{rss_closed:.0f}"],
        [f"server RSS MB after they were dropped ({a.release_wait_s:.0f} s + one session)",
         f"{rss_after:.0f} ({100 * (rss_after / rss_before - 1):+.1f} %)" if rss_after == rss_after else "-"],
    ]  # fmt: skip
    print_table(["memory", "MB"], mem)
    leaks = [x for s in many for x in s.leaks]
    errors = [f"{s.name}: {e}" for s in many for e in s.errors]
    sys.stdout.write(
        f"\nState leaks between sessions: {len(leaks)}{': ' + '; '.join(leaks[:5]) if leaks else ''}\n"
        f"Session errors: {len(errors)}{': ' + '; '.join(errors[:5]) if errors else ''}\n"
        f"Tracebacks in the server log: {n_tb}\n"
    )
    return 1 if failed or n_tb else 0


if __name__ == "__main__":
    raise SystemExit(main())
