"""Atomic file and folder writes: readers never see a half-written output.

The only module that writes files for keeps. ``atomic_write`` writes to a temporary
file in the destination folder, flushes and fsyncs it, then renames it over the
destination with :func:`os.replace` (atomic on POSIX and Windows for the same file
system). ``atomic_path`` does the same for libraries that write a file by name (GDAL
drivers). ``atomic_output_dir`` does it for a set of files: they are written into a
temporary folder beside the final one and moved into place only when the whole block
succeeded, with every file it replaces kept aside until the last move succeeded, so a
failure between two moves puts the previous set back.

A failed write is an :class:`~planner._errors.OutputError` naming the file and the reason
(disk full, read-only folder, no permission) with how to fix it (:func:`output_error`).
Temporary files and folders are registered while they exist, so a front end that must end
the process at once (a second Ctrl-C, a read stuck in C code) can remove them first
(:func:`remove_staging`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, overload

from planner._errors import OutputError

logger = logging.getLogger(__name__)

#: What an ``errno`` of a failed write means for the user (``fault.reason.<word>`` / ``fault.fix.<word>``).
WRITE_ERRNOS: dict[int, str] = {
    errno.ENOSPC: "disk_full",
    errno.EDQUOT: "disk_full",
    errno.EFBIG: "too_big",
    errno.EROFS: "read_only",
    errno.EACCES: "permission",
    errno.EPERM: "permission",
}
#: Below this much free space after a failed write, the disk is taken to be full (GDAL and
#: SQLite report a full disk as "Failed to commit transaction", without an ``errno``).
FULL_DISK_BYTES = 1 << 20

#: Temporary files and folders that exist right now (see :func:`remove_staging`).
_live: set[Path] = set()
_live_lock = threading.Lock()


def _register(path: Path) -> None:
    with _live_lock:
        _live.add(path)


def _forget(path: Path) -> None:
    with _live_lock:
        _live.discard(path)


def remove_staging() -> list[Path]:
    """Remove every temporary file and folder the writers of this module hold right now.

    For a front end that must end the process without unwinding (``os._exit``): the
    destinations keep their previous content, and nothing half-written is left behind.

    Returns
    -------
    list of pathlib.Path
        The paths removed.
    """
    with _live_lock:
        paths = sorted(_live)
        _live.clear()
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            _remove_file(path)
    return paths


def _remove_file(path: Path) -> None:
    """Remove a temporary file and any SQLite journal beside it; quietly (a read-only disk refuses even that)."""
    for leftover in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _diagnose(path: Path) -> str | None:
    """Why writing at ``path`` failed, asked of its file system: ``"read_only"``, ``"disk_full"``... or None."""
    folder = path if path.is_dir() else path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if hasattr(os, "statvfs"):
        try:
            vfs = os.statvfs(folder)
        except OSError:
            return None
        if vfs.f_flag & getattr(os, "ST_RDONLY", 1):
            return "read_only"
        if vfs.f_bavail * vfs.f_frsize < FULL_DISK_BYTES:
            return "disk_full"
    if not os.access(folder, os.W_OK):
        return "permission"
    return None


def output_error(exc: BaseException, *, path: str | os.PathLike[str], scratch: bool = False) -> OutputError | None:
    """The OutputError for ``exc`` raised while writing ``path``; None if it is no write failure.

    Parameters
    ----------
    exc
        The error a write raised: an :class:`OSError` (any ``errno``), or a library error
        without one (pyogrio's ``DataSourceError("Failed to commit transaction")``), which
        counts only when the file system shows why (read-only, full, not writable).
    path
        The file or folder being written, named in the message.
    scratch
        ``path`` is in the system's temporary folder (:func:`scratch_dir`), not the
        output folder: the fix is to free space there or point ``TMPDIR`` elsewhere,
        not ``--out``.

    Returns
    -------
    OutputError or None
        The message says where, why (disk full, read-only, permission, file-size limit or
        the system's own words) and how to fix it.
    """
    if isinstance(exc, OutputError):
        return exc
    target = Path(path)
    if isinstance(exc, OSError):
        word = WRITE_ERRNOS.get(exc.errno or 0) or _diagnose(target) or "unknown"
    elif isinstance(exc, RuntimeError):
        word = _diagnose(target) or ""
        if not word:
            return None
    else:
        return None
    from planner.i18n import t

    detail = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
    reason = t(f"fault.reason.{word}", detail=detail)
    fix = t("fault.fix.scratch", tmp=tempfile.gettempdir()) if scratch else t(f"fault.fix.{word}")
    return OutputError("fault.cannot_write", path=str(target), reason=reason, fix=fix)


@contextlib.contextmanager
def _writing(path: Path, *, scratch: bool = False) -> Iterator[None]:
    """Raise write failures inside the block as :class:`~planner._errors.OutputError` about ``path``."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        err = output_error(exc, path=path, scratch=scratch)
        if err is None or err is exc:
            raise
        raise err from exc


def _fsync_dir(directory: Path) -> None:
    """Flush a folder entry to disk (best effort; not possible on every platform)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@overload
def atomic_write(
    path: str | os.PathLike[str], *, mode: Literal["w"] = ..., encoding: str = ..., newline: str | None = ...
) -> contextlib.AbstractContextManager[IO[str]]: ...
@overload
def atomic_write(
    path: str | os.PathLike[str], *, mode: Literal["wb"], encoding: str = ..., newline: str | None = ...
) -> contextlib.AbstractContextManager[IO[bytes]]: ...
def atomic_write(
    path: str | os.PathLike[str],
    *,
    mode: Literal["w", "wb"] = "w",
    encoding: str = "utf-8",
    newline: str | None = None,
) -> contextlib.AbstractContextManager[IO[Any]]:
    """Open ``path`` for writing so that it is replaced atomically on success.

    Parameters
    ----------
    path
        Destination file. Its folder must exist.
    mode
        ``"w"`` (text) or ``"wb"`` (binary).
    encoding
        Text encoding (text mode only), UTF-8 by default.
    newline
        Passed to :func:`open` in text mode.

    Returns
    -------
    context manager
        Yields the open file. When the block ends without error the data is flushed,
        fsynced and renamed over ``path``; on error the temporary file is removed and
        ``path`` is left as it was.

    Examples
    --------
    >>> with atomic_write(tmp / "out.csv") as fh:  # doctest: +SKIP
    ...     fh.write("名称,人口")
    """
    if mode not in ("w", "wb"):
        msg = f"atomic_write mode must be 'w' or 'wb', got {mode!r}"
        raise ValueError(msg)
    return _atomic_write(Path(path), mode=mode, encoding=encoding, newline=newline)


@contextlib.contextmanager
def _atomic_write(path: Path, *, mode: str, encoding: str, newline: str | None) -> Iterator[IO[Any]]:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    _register(tmp)
    try:
        with _writing(path):
            # 0o666 honours the umask, so the final file gets ordinary permissions.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            if mode == "wb":
                fh: IO[Any] = os.fdopen(fd, "wb")
            else:
                fh = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        except BaseException:
            os.close(fd)
            raise
        with _writing(path):
            with fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    finally:
        _remove_file(tmp)
        _forget(tmp)
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path to write ``path`` through a library that opens files by name (GDAL, pyogrio).

    Parameters
    ----------
    path
        Destination file. Its folder must exist.

    Yields
    ------
    pathlib.Path
        A temporary name in the same folder with the same suffix (so a driver is
        recognised). When the block ends without error the file is fsynced and renamed
        over ``path``; on error it (and any SQLite journal beside it) is removed and
        ``path`` is left as it was. A write failure in the block (also a GDAL one) is
        raised as :class:`~planner._errors.OutputError`.
    """
    final = Path(path)
    tmp = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:12]}.tmp{final.suffix}")
    _register(tmp)
    try:
        with _writing(final):
            yield tmp
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        _fsync_dir(final.parent)
    finally:
        _remove_file(tmp)
        _forget(tmp)


@contextlib.contextmanager
def scratch_dir(*, prefix: str) -> Iterator[Path]:
    """A temporary folder (in the system's temporary folder) removed after the block.

    For files built on disk only to be read back (a GeoPackage turned into bytes). It is
    registered for :func:`remove_staging`, and a write failure in the block is raised as
    :class:`~planner._errors.OutputError` naming the folder.
    """
    with _writing(Path(tempfile.gettempdir()), scratch=True):
        folder = Path(tempfile.mkdtemp(prefix=prefix))
    _register(folder)
    try:
        with _writing(folder, scratch=True):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _forget(folder)


@contextlib.contextmanager
def atomic_output_dir(final_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Collect outputs in a temporary folder and move them into ``final_dir`` on success.

    Parameters
    ----------
    final_dir
        Destination folder; created if missing. Files already there with the same
        relative path are replaced; other files are kept.

    Yields
    ------
    pathlib.Path
        A temporary folder beside ``final_dir`` to write into (subfolders allowed).

    Raises
    ------
    OutputError
        A write or a move failed (disk full, read-only, no permission...).

    Notes
    -----
    On error in the block the temporary folder is deleted and ``final_dir`` is not
    touched. Then each file is moved with :func:`os.replace`; the file it replaces is
    first moved aside into a second temporary folder. If any move fails (or Ctrl-C
    arrives between two moves), the new files are taken out again and the old ones put
    back, so ``final_dir`` holds either the whole previous set or the whole new one.
    """
    final = Path(final_dir)
    with _writing(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    _register(staging)
    try:
        with _writing(final):
            yield staging
            _move_set(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _forget(staging)


def _move_set(staging: Path, final: Path) -> None:
    """Move every file of ``staging`` into ``final``, all or none (see :func:`atomic_output_dir`)."""
    sources = sorted(p for p in staging.rglob("*") if p.is_file() or p.is_symlink())
    final.mkdir(parents=True, exist_ok=True)
    aside = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
    _register(aside)
    moved: list[tuple[Path, Path, Path | None, bool]] = []  # (new file, destination, old file aside, new in place)
    try:
        for src in sources:
            rel = src.relative_to(staging)
            dest = final / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            old: Path | None = None
            if dest.exists() or dest.is_symlink():
                old = aside / rel
                old.parent.mkdir(parents=True, exist_ok=True)
                os.replace(dest, old)
            moved.append((src, dest, old, False))
            os.replace(src, dest)
            moved[-1] = (src, dest, old, True)
    except BaseException:
        if not _put_back(moved):
            _forget(aside)  # keep the previous files where the message says they are
            logger.error("could not restore every previous file of %s; they are in %s", final, aside)
        raise
    finally:
        if aside in _live:
            shutil.rmtree(aside, ignore_errors=True)
            _forget(aside)
    _fsync_dir(final)
    logger.debug("moved %d output files into %s", len(sources), final)


def _put_back(moved: list[tuple[Path, Path, Path | None, bool]]) -> bool:
    """Undo the moves of :func:`_move_set`, last first; True when every previous file is back."""
    ok = True
    for src, dest, old, in_place in reversed(moved):
        try:
            if in_place:
                os.replace(dest, src)
            if old is not None:
                os.replace(old, dest)
        except OSError:
            logger.exception("could not put back %s", dest)
            ok = False
    return ok
