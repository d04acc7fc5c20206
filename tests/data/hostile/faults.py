"""Faults of the machine, not of the data (issue 14, part 6): a small full or read-only disk, a read stuck in C.

* :func:`small_disk` mounts a tmpfs of a few hundred KB (root, or a user allowed to mount;
  otherwise the calling test is skipped) so GDAL's own writes meet a real ``ENOSPC``.
* :func:`stuck_in_c` runs an endless SQLite query: C code that, like GDAL reading a
  recursive GeoPackage view, never returns to Python and so never runs its SIGINT handler.
* :func:`ctrl_c_script` writes a script that runs ``planner`` with one function replaced
  by :func:`stuck_in_c` (after writing a marker file, so the test knows when to press Ctrl-C).
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Bytes of the small disk: a few CSV files fit, a GeoPackage of the demo county does not.
SMALL_DISK_BYTES = 200 * 1024


@contextlib.contextmanager
def small_disk(folder: Path, *, size_bytes: int = SMALL_DISK_BYTES) -> Iterator[Path]:
    """A tmpfs of ``size_bytes`` mounted at ``folder``; the test is skipped where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("no mount command")
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(folder)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def read_only(folder: Path) -> None:
    """Remount the :func:`small_disk` at ``folder`` read-only (the disk turned read-only under the run)."""
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def stuck_in_c() -> None:
    """Run C code that never returns and never checks for signals (an endless recursive SQLite query)."""
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    sqlite3.connect(":memory:").execute(sql).fetchone()


def ctrl_c_script(path: Path, *, module: str, name: str, marker: Path, after_calls: int = 0) -> Path:
    """Write a script running ``planner`` (its arguments) with ``module.name`` stuck in C.

    ``name`` may be dotted (``"Path.write_bytes"``). The replacement calls the original
    ``after_calls`` times first, then touches ``marker`` and runs :func:`stuck_in_c`.
    """
    owner, _, attr = name.rpartition(".")
    path.write_text(
        f"""import sys
from pathlib import Path
import importlib
from tests.data.hostile.faults import stuck_in_c
mod = importlib.import_module({module!r})
for part in {owner!r}.split(".") if {owner!r} else []:
    mod = getattr(mod, part)
name = {attr!r}
original = getattr(mod, name)
calls = [0]
def replacement(*args, **kwargs):
    calls[0] += 1
    if calls[0] <= {after_calls}:
        return original(*args, **kwargs)
    Path({str(marker)!r}).touch()
    stuck_in_c()
setattr(mod, name, replacement)
from planner.cli import main
raise SystemExit(main(sys.argv[1:]))
""",
        encoding="utf-8",
    )
    return path
