"""Ctrl-C ends a command promptly, also while the main thread is stuck in C code.

Python runs its SIGINT handler (which raises :class:`KeyboardInterrupt`) only between
bytecodes of the main thread. A read inside GDAL or SQLite that does not check for
signals (a recursive view, a huge metadata table) can run for many minutes with Ctrl-C
pending. :func:`interrupt_guard` therefore also watches the signal from a second thread
(through :func:`signal.set_wakeup_fd`, which the C-level handler writes to at once): when
the main thread has not finished within :data:`GRACE_S` of a Ctrl-C, or at a second
Ctrl-C, the watcher removes the temporary files and folders of the writers
(:func:`planner._atomic.remove_staging`), prints the message and ends the process with
status 130. The destinations keep their previous content: nothing is moved into place
after a Ctrl-C (:func:`planner._atomic.atomic_output_dir` puts a half-moved set back).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator

from planner._atomic import remove_staging
from planner.i18n import t

logger = logging.getLogger(__name__)

#: Seconds the main thread gets after a Ctrl-C to unwind (clean up, put back a half-moved
#: output set) before the process is ended from the watcher thread.
GRACE_S = 2.0
#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED_STATUS = 130


def interrupted_message() -> str:
    """The line printed after Ctrl-C, in the active language."""
    return t("cli.error_prefix") + t("fault.interrupted")


def write_stderr(text: str) -> None:
    """Write ``text`` to stderr whatever its encoding (characters it lacks are backslash-escaped)."""
    stream = sys.stderr
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()


def _end_now() -> None:
    """Remove the writers' temporary files, say so and end the process (no unwinding)."""
    removed = remove_staging()
    text = interrupted_message() + "\n"
    with contextlib.suppress(OSError):
        os.write(2, text.encode(getattr(sys.stderr, "encoding", None) or "utf-8", "backslashreplace"))
    logger.debug("ended from the watcher thread; removed %d temporary paths", len(removed))
    os._exit(INTERRUPTED_STATUS)


def _watch(sock: socket.socket, finished: threading.Event, grace_s: float) -> None:
    """Wait for SIGINT bytes on ``sock``; end the process if the main thread does not finish in time."""
    with contextlib.suppress(OSError):
        while not finished.is_set():
            data = sock.recv(64)
            if not data:  # the guard closed the other end: the command is over
                return
            if signal.SIGINT not in data:
                continue
            sock.settimeout(grace_s)
            try:
                while True:
                    more = sock.recv(64)
                    if not more or finished.is_set():
                        return
                    if signal.SIGINT in more:  # a second Ctrl-C: do not wait
                        break
            except TimeoutError:
                pass
            if not finished.is_set():
                _end_now()
            return


@contextlib.contextmanager
def interrupt_guard(*, grace_s: float = GRACE_S) -> Iterator[None]:
    """While the block runs, a Ctrl-C the main thread cannot act on still ends the process.

    Parameters
    ----------
    grace_s
        Seconds between the Ctrl-C and ending the process from the watcher thread, if
        the main thread has not finished by then (a second Ctrl-C ends it at once).

    Notes
    -----
    Does nothing outside the main thread, or when SIGINT is ignored (a command started
    in the background). The previous wakeup file descriptor is restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) in (
        signal.SIG_IGN,
        None,
    ):
        yield
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    try:
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except ValueError:  # pragma: no cover - only in the main thread, checked above
        reader.close()
        writer.close()
        yield
        return
    finished = threading.Event()
    watcher = threading.Thread(target=_watch, args=(reader, finished, grace_s), name="planner-ctrl-c", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        signal.set_wakeup_fd(previous)
        writer.close()
        watcher.join(timeout=1.0)
        reader.close()
