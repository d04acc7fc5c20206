"""Whole-process cost of ``planner coverage`` against the plain osmnx/networkx script, per county.

Usage::

    .venv/bin/python benchmarks/bench_process.py                   # 100k nodes, 500 stations, 50k demand, 3 repeats
    .venv/bin/python benchmarks/bench_process.py --quick           # 10k nodes, 100 stations, 5k demand, 1 repeat
    .venv/bin/python benchmarks/bench_process.py --skip-plain --profile   # the planner's breakdown only

Inputs are generated with the project's own generators into a temporary folder:
:func:`planner.demo.grid.generate_grid_network` (seed 1) written as a GeoPackage road layer
with the columns ``highway``, ``oneway``, ``maxspeed`` and ``name``; stations drawn near the
roads by :func:`planner.demo.grid.random_points_near` (within 30 m, a road-side entrance) with
tiers (:data:`STATION_MIX`: county 2, township 20, village 430, enterprise 48 per 500); demand
points within 100 m of the roads with a population and a ``kind`` (10 % enterprise workers,
served by the enterprise tier; the rest villages, served by the other three tiers).

Each measurement is a separate subprocess, from the start of the interpreter to the last
output written, and the two sides alternate (planner, plain, planner, plain …) so that
both see the same load:

* **planner**: ``python -m planner.cli coverage --network … --stations … --demand … --out …``
  with the default outputs (``summary.json``, ``demand.csv``, ``areas.csv``, ``gaps.csv``,
  ``stations.csv``, ``coverage.gpkg`` with the service-area polygons, ``report.xlsx``);
* **plain**: :mod:`benchmarks.plain_coverage` (geopandas read, one ``nx.DiGraph`` per mode,
  ``osmnx.distance.nearest_nodes``, per-station ``single_source_dijkstra_path_length``
  with ``cutoff``, a CSV per tier and a summary), with the planner's default standards
  and speeds passed in a JSON file.

The covered population of each tier is compared: the planner snaps points to the nearest
road *segment*, the script to the nearest *node* (up to half a block farther), so the
script covers somewhat less; :data:`TOLERANCE` bounds the relative difference.

The breakdown of the planner's process (``--profile``, on by default): import time from
``-X importtime`` (top-level imports, cumulative), the phases from ``summary.json``'s
``timings``, and the main functions' cumulative time from one run under ``cProfile``
(profiling inflates pure-Python parts; read shares, not seconds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, print_table  # also puts the repository root on sys.path

#: Station tiers per 500 stations (a county: one centre or two, township centres, village stations, workers' homes).
STATION_MIX: dict[str, int] = {"county": 2, "township": 20, "village": 430, "enterprise": 48}
#: Largest relative difference in covered population per tier (node vs segment snapping).
TOLERANCE: float = 0.07
#: Functions whose cumulative time the profile breakdown shows: (label, file suffix, function name).
PROFILE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("read inputs (Workspace.from_files)", "workspace/workspace.py", "from_files"),
    ("  read road network", "network/load.py", "load_network"),
    ("  coordinate sanity check", "inputs/sanity.py", "check_coordinates"),
    ("evaluate (snap + reach + figures)", "workspace/workspace.py", "evaluate"),
    ("  snapping", "network/snapping.py", "snap_points"),
    ("report files", "report/files.py", "report_files"),
    ("  isochrones", "workspace/workspace.py", "isochrones"),
    ("  accessibility tables", "workspace/access.py", "access_tables"),
    ("  CSV files", "planner/_text.py", "csv_bytes"),
    ("  report.xlsx", "report/exports.py", "excel_workbook"),
    ("  coverage.gpkg", "report/exports.py", "geopackage_bytes"),
    ("write files", "report/files.py", "write_files"),
)
PLAIN_SCRIPT = Path(__file__).resolve().parent / "plain_coverage.py"


def write_inputs(folder: Path, *, n_nodes: int, n_stations: int, n_demand: int) -> dict[str, Path]:
    """Generate the county's files in ``folder``: roads.gpkg, stations.csv, demand.csv, settings.json."""
    import geopandas as gpd
    import shapely

    from planner.demo.grid import generate_grid_network, random_points_near
    from planner.settings import Config

    net = generate_grid_network(n_nodes=n_nodes, seed=1)
    lon, lat = net.node_lon, net.node_lat
    start = np.stack([lon[net.edge_u], lat[net.edge_u]], axis=1)
    end = np.stack([lon[net.edge_v], lat[net.edge_v]], axis=1)
    ms = net.edge_maxspeed_kph
    roads = gpd.GeoDataFrame(
        {
            "highway": net.edge_highway(),
            "oneway": np.where(net.edge_oneway, "yes", "no"),
            "maxspeed": [f"{v:g}" if np.isfinite(v) else None for v in ms],
            "name": [f"路{i}" for i in range(net.n_edges)],
        },
        geometry=shapely.linestrings(np.stack([start, end], axis=1)),
        crs="EPSG:4326",
    )
    paths = {k: folder / n for k, n in (("roads", "roads.gpkg"), ("stations", "stations.csv"),
                                         ("demand", "demand.csv"), ("settings", "settings.json"))}  # fmt: skip
    roads.to_file(paths["roads"], driver="GPKG", layer="roads", engine="pyogrio")
    scale = n_stations / sum(STATION_MIX.values())
    counts = {k: max(1, round(v * scale)) for k, v in STATION_MIX.items()}
    counts["village"] += n_stations - sum(counts.values())
    tiers = [k for k, v in counts.items() for _ in range(v)]
    s_lon, s_lat = random_points_near(net, n=n_stations, seed=11, max_offset_m=30.0)
    pd.DataFrame(
        {"id": range(1, n_stations + 1), "name": [f"站{i}" for i in range(1, n_stations + 1)], "tier": tiers,
         "lon": s_lon, "lat": s_lat}
    ).to_csv(paths["stations"], index=False)  # fmt: skip
    d_lon, d_lat = random_points_near(net, n=n_demand, seed=12, max_offset_m=100.0)
    rng = np.random.default_rng(3)
    pd.DataFrame(
        {"id": range(1, n_demand + 1), "name": [f"点{i}" for i in range(1, n_demand + 1)],
         "population": rng.integers(20, 800, n_demand),
         "kind": np.where(rng.random(n_demand) < 0.1, "enterprise", "village"), "lon": d_lon, "lat": d_lat}
    ).to_csv(paths["demand"], index=False)  # fmt: skip
    cfg = Config()
    settings = {
        "standards": {str(t): {"mode": str(s.mode), "minutes": s.minutes} for t, s in cfg.standards.items()},
        "speeds_kph": {
            str(m): {c: (None if math.isnan(v) else v) for c, v in tbl.items()} for m, tbl in cfg.speeds_kph.items()
        },
        "walk_speed_kph": cfg.walk_speed_kph,
        "max_snap_m": cfg.max_snap_m,
        "tier_demand": {str(t): v for t, v in cfg.tier_demand.items()},
    }
    paths["settings"].write_text(json.dumps(settings), encoding="utf-8")
    sys.stderr.write(f"inputs: {net.n_nodes:,} nodes, {net.n_edges:,} segments, {counts}, {n_demand:,} demand\n")
    return paths


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def planner_command(paths: dict[str, Path], out: Path, *, python_flags: tuple[str, ...] = ()) -> list[str]:
    """The ``planner coverage`` command line (default outputs)."""
    return [sys.executable, *python_flags, "-m", "planner.cli", "coverage", "--network", str(paths["roads"]),
            "--stations", str(paths["stations"]), "--demand", str(paths["demand"]), "--out", str(out),
            "--lang", "en"]  # fmt: skip


def plain_command(paths: dict[str, Path], out: Path) -> list[str]:
    """The plain script's command line."""
    return [sys.executable, str(PLAIN_SCRIPT), str(paths["roads"]), str(paths["stations"]), str(paths["demand"]),
            str(paths["settings"]), str(out)]  # fmt: skip


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall-clock seconds of one subprocess (it must succeed)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        msg = f"command failed ({proc.returncode}): {' '.join(cmd)}"
        raise RuntimeError(msg)
    return seconds, proc


def import_seconds(paths: dict[str, Path], out: Path) -> tuple[float, list[tuple[str, float]]]:
    """Total import time of one ``planner coverage`` run and the packages it goes to (``-X importtime``).

    Each module's own ("self") time is added to its top-level package, so the shares add up
    to the total.
    """
    _, proc = timed(planner_command(paths, out, python_flags=("-X", "importtime")))
    packages: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| \s*(\S+)", line)
        if m:
            root = m.group(3).split(".")[0]
            packages[root] = packages.get(root, 0.0) + int(m.group(1)) / 1e6
    top = sorted(packages.items(), key=lambda kv: -kv[1])[:10]
    return sum(packages.values()), top


def profile_rows(paths: dict[str, Path], out: Path, folder: Path) -> list[list[str]]:
    """Cumulative seconds of :data:`PROFILE_ROWS` in one ``planner coverage`` run under cProfile."""
    prof = folder / "planner.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), *planner_command(paths, out)[1:]]
    total, _ = timed(cmd)
    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]
    rows = [["whole process under cProfile", f"{total:.2f}", "100 %"]]
    for label, suffix, name in PROFILE_ROWS:
        cum = sum(v[3] for (file, _line, func), v in stats.items() if func == name and file.endswith(suffix))
        rows.append([label, f"{cum:.2f}", f"{100 * cum / total:.0f} %"])
    return rows


def compare_figures(planner_out: Path, plain_out: Path) -> tuple[list[list[str]], bool]:
    """Covered population per tier on both sides and whether all agree within :data:`TOLERANCE`."""
    ours = json.loads((planner_out / "summary.json").read_text(encoding="utf-8"))["tiers"]
    theirs = json.loads((plain_out / "summary.json").read_text(encoding="utf-8"))["tiers"]
    rows, ok = [], True
    for tier, plain in theirs.items():
        a, b = float(ours[tier]["covered_population"]), float(plain["covered_population"])
        rel = abs(a - b) / max(a, b, 1.0)
        ok &= rel <= TOLERANCE
        rows.append([tier, f"{ours[tier]['demand']:,}", f"{a:,.0f}", f"{b:,.0f}", f"{100 * rel:.1f} %",
                     "yes" if rel <= TOLERANCE else "NO"])  # fmt: skip
    return rows, ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--stations", type=int, default=500)
    p.add_argument("--demand", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="10k nodes, 100 stations, 5,000 demand, 1 repeat")
    p.add_argument("--skip-plain", action="store_true", help="time the planner only")
    p.add_argument("--no-profile", action="store_true", help="skip the import-time and cProfile breakdown")
    p.add_argument("--keep", default="", help="write the inputs and outputs here instead of a temporary folder")
    args = p.parse_args()
    if args.quick:
        args.nodes, args.stations, args.demand, args.repeat = 10_000, 100, 5_000, 1
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = write_inputs(folder, n_nodes=args.nodes, n_stations=args.stations, n_demand=args.demand)
        planner_out, plain_out = folder / "out_planner", folder / "out_plain"
        ours: list[float] = []
        theirs: list[float] = []
        phases: list[dict[str, float]] = []
        for k in range(max(1, args.repeat)):
            seconds, _ = timed(planner_command(paths, planner_out))
            ours.append(seconds)
            summary = json.loads((planner_out / "summary.json").read_text(encoding="utf-8"))
            phases.append(summary.get("timings", {}))
            sys.stderr.write(f"run {k + 1}: planner {seconds:.2f} s")
            if not args.skip_plain:
                seconds, _ = timed(plain_command(paths, plain_out))
                theirs.append(seconds)
                sys.stderr.write(f", plain {seconds:.2f} s")
            sys.stderr.write("\n")
        written = sorted(f.name for f in planner_out.iterdir())
        sys.stdout.write(
            f"\n## Whole process: {args.nodes:,}-node network, {args.stations} stations, {args.demand:,} demand "
            f"(median of {len(ours)})\n\nplanner outputs: {', '.join(written)}\n\n"
        )
        rows = [["planner coverage", f"{statistics.median(ours):.2f}", " · ".join(f"{s:.2f}" for s in ours)]]
        if theirs:
            rows.append(["plain osmnx/networkx script", f"{statistics.median(theirs):.2f}",
                         " · ".join(f"{s:.2f}" for s in theirs)])  # fmt: skip
        print_table(["process", "median s", "runs s"], rows)
        if theirs:
            ratio = statistics.median(theirs) / statistics.median(ours)
            sys.stdout.write(f"\nratio plain / planner: **{ratio:.2f}×** (goal ≥ 3×)\n\n")
            fig_rows, _ok = compare_figures(planner_out, plain_out)
            print_table(["tier", "demand points", "planner covered pop.", "plain covered pop.", "difference",
                         f"within {100 * TOLERANCE:.0f} %"], fig_rows)  # fmt: skip
            plain_t = json.loads((plain_out / "summary.json").read_text(encoding="utf-8"))["timings"]
            sys.stdout.write("\nplain script phases (last run): "
                             + ", ".join(f"{k} {v:.2f}" for k, v in plain_t.items()) + "\n")  # fmt: skip
        keys = sorted({k for ph in phases for k in ph})
        sys.stdout.write("\nplanner phases (summary.json timings, median): "
                         + ", ".join(f"{k} {statistics.median(ph.get(k, 0.0) for ph in phases):.2f}" for k in keys)
                         + "\n")  # fmt: skip
        if not args.no_profile:
            imp, top = import_seconds(paths, planner_out)
            sys.stdout.write(f"\nplanner import time (-X importtime, self times by package): {imp:.2f} s; largest: "
                             + ", ".join(f"{k} {v:.2f}" for k, v in top) + "\n\n")  # fmt: skip
            print_table(["cProfile, cumulative", "s", "share"], profile_rows(paths, planner_out, folder))


if __name__ == "__main__":
    main()
