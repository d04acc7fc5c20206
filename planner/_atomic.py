"""Atomic file and folder writes: readers never see a half-written output.

The only module that writes files for keeps. ``atomic_write`` writes to a temporary
file in the destination folder, flushes and fsyncs it, then renames it over the
destination with :func:`os.replace` (atomic on POSIX and Windows for the same file
system). ``atomic_path`` does the same for libraries that write a file by name (GDAL
drivers). ``atomic_output_dir`` does it for a set of files: they are written into a
temporary folder beside the final one and moved into place only when the whole block
succeeded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, overload

logger = logging.getLogger(__name__)


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
    # 0o666 honours the umask, so the final file gets ordinary permissions.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if mode == "wb":
            fh: IO[Any] = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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
        ``path`` is left as it was.
    """
    final = Path(path)
    tmp = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:12]}.tmp{final.suffix}")
    try:
        yield tmp
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal"), tmp.with_name(tmp.name + "-wal")):
            leftover.unlink(missing_ok=True)


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

    Notes
    -----
    On error the temporary folder is deleted and ``final_dir`` is not touched. Each
    file is moved with :func:`os.replace`, so every single file is replaced
    atomically; the set as a whole appears within milliseconds.
    """
    final = Path(final_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield staging
        sources = sorted(p for p in staging.rglob("*") if p.is_file() or p.is_symlink())
        final.mkdir(parents=True, exist_ok=True)
        for src in sources:
            dest = final / src.relative_to(staging)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(src, dest)
        _fsync_dir(final)
        logger.debug("moved %d output files into %s", len(sources), final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
