"""Peak memory of ``planner check`` / ``planner coverage`` and of an app upload at the input limits.

Usage::

    .venv/bin/python benchmarks/limits_memory.py                          # CLI and app limits
    .venv/bin/python benchmarks/limits_memory.py --demand-rows 200000 --station-rows 20000 --skip-app
    .venv/bin/python benchmarks/limits_memory.py --skip-cli

The demo county (:func:`planner.demo.county.write_demo`) is written to a temporary
folder and its demand and station files are grown to the row limits
(:class:`planner.inputs.limits.Limits`: ``CLI_LIMITS`` by default, ``APP_LIMITS`` for the
app): every row is a copy of a demo row moved by up to ±0.003° (about 300 m), with its own
id, so the points stay on the county's roads and the files look like the demo's (same
headers, Chinese tier and kind words). Each measurement runs in a fresh interpreter and
reports its own peak resident memory (``VmHWM`` of ``/proc/self/status``: interpreter,
imports and the run; ``ru_maxrss`` of a child would also count the parent's memory
inherited at fork) and wall time:

* ``check``: ``planner check STATIONS DEMAND --network ROADS``;
* ``coverage``: ``planner coverage`` on the grown files with the townships, every tier,
  isochrones on (the default outputs);
* ``app upload``: what the app's upload does (``Workspace.from_files`` with
  ``APP_LIMITS``, then one evaluation of the stations), at the app's limits.

Prints a Markdown table to stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from planner.inputs.limits import APP_LIMITS, CLI_LIMITS  # noqa: E402

logger = logging.getLogger("limits_memory")

#: Largest jitter of a copied row (degrees; about 300 m: the points stay near the roads).
JITTER_DEG = 0.003


def grow(src: Path, dst: Path, *, rows: int, id_prefix: str, seed: int) -> Path:
    """Write ``src`` (a demo CSV) grown to ``rows`` rows: copies of its rows, moved and renumbered."""
    base = pd.read_csv(src, dtype=str, encoding="utf-8-sig")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(base), size=rows)
    out = base.iloc[pick].reset_index(drop=True)
    lon_col, lat_col = "经度", "纬度"
    for col in (lon_col, lat_col):
        moved = out[col].astype(float).to_numpy() + rng.uniform(-JITTER_DEG, JITTER_DEG, size=rows)
        out[col] = np.round(moved, 6)
    out["编号"] = [f"{id_prefix}{i:07d}" for i in range(1, rows + 1)]
    out.to_csv(dst, index=False, encoding="utf-8-sig")
    return dst


_CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
mode, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
if mode == "cli":
    from planner.cli import main
    rc = main(args)
else:
    from planner.inputs.limits import APP_LIMITS
    from planner.workspace.workspace import Workspace
    ws, sc = Workspace.from_files(network=args[0], stations=args[1], demand=args[2], areas=args[3], limits=APP_LIMITS)
    ws.evaluate(sc.stations)
    rc = 0
hwm = next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:"))
Path(out).write_text(json.dumps({"rc": rc, "peak_mb": hwm / 1024, "wall_s": time.perf_counter() - t0}))
"""


def measure(mode: str, args: list[str], *, work: Path) -> dict[str, float]:
    """Run one measurement in a fresh interpreter; its exit code, peak memory (MB) and wall time (s)."""
    out = work / "measure.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-c", _CHILD, mode, str(out), *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if not out.exists():
        logger.error("measurement failed (exit %d):\n%s", proc.returncode, proc.stderr[-3000:])
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return {"rc": float(proc.returncode), "peak_mb": peak, "wall_s": time.perf_counter() - t0}
    result: dict[str, float] = json.loads(out.read_text())
    return result


def main() -> int:
    """Grow the demo files, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demand-rows", type=int, default=CLI_LIMITS.demand_rows)
    parser.add_argument("--station-rows", type=int, default=CLI_LIMITS.station_rows)
    parser.add_argument("--app-demand-rows", type=int, default=APP_LIMITS.demand_rows)
    parser.add_argument("--app-station-rows", type=int, default=APP_LIMITS.station_rows)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-app", action="store_true")
    parser.add_argument("--skip-coverage", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")

    from planner.demo.county import write_demo

    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="limits-memory-") as tmp:
        work = Path(tmp)
        demo = write_demo(work / "demo")
        roads, towns = str(demo["roads"]), str(demo["townships"])
        runs: list[tuple[str, str, int, int]] = []
        if not args.skip_cli:
            runs.append(("check", "cli", args.station_rows, args.demand_rows))
            if not args.skip_coverage:
                runs.append(("coverage", "cli", args.station_rows, args.demand_rows))
        if not args.skip_app:
            runs.append(("app upload", "app", args.app_station_rows, args.app_demand_rows))
        for name, mode, n_st, n_dem in runs:
            logger.info("%s: growing the demo to %d stations and %d demand points", name, n_st, n_dem)
            st = grow(demo["stations"], work / f"stations_{n_st}.csv", rows=n_st, id_prefix="S", seed=1)
            dem = grow(demo["demand"], work / f"demand_{n_dem}.csv", rows=n_dem, id_prefix="D", seed=2)
            if name == "check":
                argv = ["check", str(st), str(dem), "--network", roads]
            elif name == "coverage":
                argv = ["coverage", "--network", roads, "--stations", str(st), "--demand", str(dem)]
                argv += ["--areas", towns, "--out", str(work / "out")]
            else:
                argv = [roads, str(st), str(dem), towns]
            logger.info("%s: measuring", name)
            res = measure(mode, argv, work=work)
            sizes = f"{st.stat().st_size / 2**20:.1f} MB + {dem.stat().st_size / 2**20:.1f} MB"
            rows.append(
                [
                    name,
                    f"{n_st:,}",
                    f"{n_dem:,}",
                    sizes,
                    f"{res['peak_mb']:,.0f}",
                    f"{res['wall_s']:.0f}",
                    f"{res['rc']:g}",
                ]
            )
    header = ["run", "stations", "demand points", "file sizes", "peak MB", "wall s", "exit"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
