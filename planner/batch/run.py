"""County tasks on Dask distributed: a local cluster or a real one, retries, memory limits, resume.

:func:`run_batch` submits one task per county (its :class:`~planner.batch.tasks.CountyTask`:
paths, never frames), largest counties first, and collects a
:class:`~planner.batch.tasks.CountyOutcome` for every county whatever happens to the
others:

- ``ok``: the county function finished;
- ``skipped``: ``done.json`` in the county's folder already held the task's key (resume);
  the summary is read back from its ``summary.json``;
- ``failed``: its inputs are bad (a :class:`~planner._errors.PlannerError`, with its
  message in the client's language); not retried;
- ``memory``: the worker running it died each time it was tried (Dask's ``KilledWorker``;
  the usual cause is the worker's memory limit), after ``retries`` reruns;
- ``error``: any other exception, after ``retries`` reruns.

By default a :class:`distributed.LocalCluster` of ``workers`` processes (one thread each)
runs the tasks, each worker restarted by its nanny when it passes its memory limit;
``scheduler="tcp://host:8786"`` (or :data:`SCHEDULER_ENV`) sends them to a running cluster
instead. Cluster and client are closed when the run ends, also on error or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from planner._errors import ConfigError, PlannerError
from planner.batch.tasks import BatchSettings, CountyOutcome, CountyTask
from planner.i18n import get_language, set_language, t

logger = logging.getLogger(__name__)

__all__ = [
    "SCHEDULER_ENV",
    "CountyFn",
    "default_memory_limit",
    "resumed",
    "run_batch",
    "run_county_task",
]

#: A county function: ``fn(task, *, settings) -> CountyOutcome`` (:func:`planner.batch.county.run_county`).
CountyFn = Callable[..., CountyOutcome]

#: Environment variable naming a running scheduler (``tcp://host:8786``).
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
#: Share of the machine's memory the workers of a local cluster may use together.
MEMORY_FRACTION = 0.8
#: Width of the progress bar in characters.
BAR_WIDTH = 30


# =========================================================================== resume
def resumed(task: CountyTask) -> CountyOutcome | None:
    """The ``skipped`` outcome of a county whose ``done.json`` holds the task's key, else None.

    Its summary is read back from its ``summary.json`` (:func:`planner.batch.county.read_done`).
    """
    from planner.batch.county import read_done

    summary = read_done(task.out_dir, task.key)
    if summary is None:
        return None
    return CountyOutcome(code=task.county.code, name=task.county.name, status="skipped", summary=summary)


# ========================================================================== workers
def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB); 0 where the platform does not say."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""


def run_county_task(county_fn: CountyFn, task: CountyTask, settings: BatchSettings, lang: str) -> CountyOutcome:
    """Run one county on a worker: the county function in the client's language, timed.

    A :class:`~planner._errors.PlannerError` (bad inputs: rerunning will not help) becomes a
    ``failed`` outcome with its message; any other exception propagates, so that Dask
    retries the task. ``seconds``, ``peak_rss_mb`` and ``worker`` are filled in when the
    county function left them empty.
    """
    set_language(lang)
    t0 = time.perf_counter()
    try:
        out = county_fn(task, settings=settings)
    except PlannerError as exc:
        out = CountyOutcome(code=task.county.code, name=task.county.name, status="failed", message=str(exc))
    return dataclasses.replace(
        out,
        seconds=out.seconds or time.perf_counter() - t0,
        peak_rss_mb=out.peak_rss_mb or _peak_rss_mb(),
        worker=out.worker or _worker_name(),
    )


def default_memory_limit(workers: int) -> int:
    """Bytes each of ``workers`` local workers may use: :data:`MEMORY_FRACTION` of the machine's memory, shared."""
    import psutil

    return int(psutil.virtual_memory().total * MEMORY_FRACTION / max(workers, 1))


def parse_memory(value: str | int | None, *, workers: int) -> int:
    """A memory limit per worker in bytes: a number of bytes, ``"4GB"``, ``"2 GiB"``, ``"60%"`` of the machine's memory.

    Raises
    ------
    ConfigError
        For a value that is no size or not positive.
    """
    if value is None:
        return default_memory_limit(workers)
    if isinstance(value, int):
        size = value
    else:
        text = value.strip()
        try:
            if text.endswith("%"):
                import psutil

                size = int(psutil.virtual_memory().total * float(text[:-1]) / 100.0)
            else:
                from dask.utils import parse_bytes

                size = int(parse_bytes(text))
        except (ValueError, TypeError):
            raise ConfigError("batch.run.bad_memory", value=value) from None
    if size <= 0:
        raise ConfigError("batch.run.bad_memory", value=value)
    return size


@contextlib.contextmanager
def _dask_logs() -> Iterator[None]:
    """Dask's own log lines (failed tasks, restarted workers, cluster start) only at debug level (``-vv``).

    The outcomes say what happened to each county; the scheduler's lines would repeat it.
    """
    dask_logger = logging.getLogger("distributed")
    level = dask_logger.level
    dask_logger.setLevel(logging.WARNING if logger.isEnabledFor(logging.DEBUG) else logging.CRITICAL)
    try:
        yield
    finally:
        dask_logger.setLevel(level)


@contextlib.contextmanager
def _client(*, workers: int, scheduler: str | None, memory_limit: int, retries: int, processes: bool) -> Iterator[Any]:
    """A Dask client: to ``scheduler`` when given, else to a new local cluster closed on exit."""
    with (
        _dask_logs(),
        _connect(
            workers=workers, scheduler=scheduler, memory_limit=memory_limit, retries=retries, processes=processes
        ) as client,
    ):
        yield client


@contextlib.contextmanager
def _connect(*, workers: int, scheduler: str | None, memory_limit: int, retries: int, processes: bool) -> Iterator[Any]:
    """The client of :func:`_client`."""
    from distributed import Client, LocalCluster

    if scheduler:
        logger.info("connecting to the Dask scheduler at %s", scheduler)
        try:
            client = Client(scheduler, timeout="20s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise ConfigError("batch.run.no_scheduler", address=scheduler, error=str(exc), env=SCHEDULER_ENV) from None
        with client:
            yield client
        return
    import dask

    # a county whose worker dies (over its memory limit) is rerun ``retries`` times, then reported
    with (
        dask.config.set(
            {
                "distributed.scheduler.allowed-failures": max(retries, 0),
                # one county per worker thread at a time: a worker that dies takes no waiting county with it
                "distributed.scheduler.worker-saturation": 1.0,
            }
        ),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            memory_limit=memory_limit,
            # no dashboard; the scheduler's HTTP endpoint on a free loopback port (its default, 8787, may be taken)
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.WARNING if logger.isEnabledFor(logging.DEBUG) else logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        logger.info("local Dask cluster: %d workers, %.0f MB each", workers, memory_limit / 1e6)
        yield client


def _failure(future: Any, task: CountyTask) -> CountyOutcome:
    """The outcome of a future that ended in error (or was cancelled)."""
    from distributed import KilledWorker

    code, name = task.county.code, task.county.name
    try:
        exc = future.exception()
    except BaseException as cancelled:  # CancelledError and friends: the county did not finish
        exc = cancelled
    if isinstance(exc, KilledWorker):
        return CountyOutcome(code=code, name=name, status="memory", message=t("batch.run.killed", code=code))
    if isinstance(exc, PlannerError):
        return CountyOutcome(code=code, name=name, status="failed", message=str(exc))
    return CountyOutcome(code=code, name=name, status="error", message=f"{type(exc).__name__}: {exc}")


# ========================================================================= progress
class Progress:
    """A plain text bar on a terminal, updated as counties finish; silent elsewhere."""

    def __init__(self, *, total: int, done: int = 0, enabled: bool = True, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = total
        self.done = done
        self.bad = 0
        self.t0 = time.perf_counter()
        self._draw()

    def update(self, outcome: CountyOutcome) -> None:
        """Count one finished county and redraw."""
        self.done += 1
        self.bad += outcome.status in ("failed", "memory", "error")
        self._draw()

    def line(self) -> str:
        """The bar as text: ``[#####-----] 12/50``, then the failures and the elapsed time."""
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return t(
            "batch.run.progress",
            bar=bar,
            done=self.done,
            total=self.total,
            failed=self.bad,
            seconds=f"{time.perf_counter() - self.t0:.0f}",
        )

    def _draw(self) -> None:
        if self.enabled:
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


# ============================================================================== run
def run_batch(
    tasks: Sequence[CountyTask],
    *,
    settings: BatchSettings,
    workers: int | None = None,
    scheduler: str | None = None,
    memory_limit: str | int | None = None,
    retries: int = 2,
    progress: bool = True,
    county_fn: CountyFn | None = None,
    processes: bool = True,
) -> list[CountyOutcome]:
    """Run every county task on Dask; return one outcome per task, in the order of ``tasks``.

    Parameters
    ----------
    tasks
        The counties (:func:`planner.batch.inputs.make_tasks`). Tasks whose folder's
        ``done.json`` holds their key are not run (``skipped``).
    settings
        Sent with every task.
    workers
        Processes of the local cluster (default: the number of cores); one thread each.
    scheduler
        Address of a running scheduler (``tcp://host:8786``); default the environment
        variable :data:`SCHEDULER_ENV`, else a local cluster. Its workers keep their own
        memory limits.
    memory_limit
        Memory per local worker: bytes, ``"4GB"`` or ``"60%"`` of the machine; default
        :data:`MEMORY_FRACTION` of the machine's memory shared by the workers. A worker
        passing it is restarted and its county tried again, ``retries`` times.
    retries
        Reruns of a county whose task raised (other than for bad inputs) or whose worker died.
    progress
        Draw a progress bar on standard error when it is a terminal.
    county_fn
        The county function ``fn(task, *, settings) -> CountyOutcome``; default
        :func:`planner.batch.county.run_county`. Must be importable by the workers.
    processes
        Local workers as processes (``False``: threads of this process, for tests; no
        memory limit is enforced then).

    Returns
    -------
    list of CountyOutcome

    Raises
    ------
    ConfigError
        A bad ``workers``, ``retries`` or ``memory_limit``, or a scheduler that cannot be reached.
    """
    if workers is not None and workers < 1:
        raise ConfigError("batch.run.bad_workers", value=workers)
    if retries < 0:
        raise ConfigError("batch.run.bad_retries", value=retries)
    if county_fn is None:
        from planner.batch.county import run_county as county_fn
    n_workers = workers or os.cpu_count() or 1
    limit = parse_memory(memory_limit, workers=n_workers)
    outcomes: dict[int, CountyOutcome] = {}
    todo: list[int] = []
    for i, task in enumerate(tasks):
        done = resumed(task)
        if done is None:
            todo.append(i)
        else:
            outcomes[i] = done
    if len(outcomes):
        logger.info("%s", t("batch.run.resumed", count=len(outcomes)))
    todo.sort(key=lambda i: -tasks[i].county.size_bytes)  # largest first; stable for equal sizes
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    bar = Progress(total=len(tasks), done=len(outcomes), enabled=progress and bool(todo))
    if todo:
        from distributed import as_completed

        lang = get_language()
        with _client(
            workers=n_workers, scheduler=address, memory_limit=limit, retries=retries, processes=processes
        ) as client:
            futures = {}
            for rank, i in enumerate(todo):
                task = tasks[i]
                fut = client.submit(
                    run_county_task,
                    county_fn,
                    task,
                    settings,
                    lang,
                    key=f"county-{task.county.code}-{uuid.uuid4().hex[:8]}",
                    pure=False,
                    retries=retries,
                    priority=len(todo) - rank,
                )
                futures[fut] = i
            try:
                for fut in as_completed(futures):  # type: ignore[no-untyped-call]
                    i = futures[fut]
                    outcomes[i] = fut.result() if fut.status == "finished" else _failure(fut, tasks[i])
                    bar.update(outcomes[i])
            finally:
                bar.close()
                client.cancel(list(futures))
    return [outcomes[i] for i in range(len(tasks))]
