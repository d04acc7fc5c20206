"""Many counties: a serial loop, a plain 2-process pool and Dask (1 and 2 workers) on a generated province.

The province comes from :func:`planner.demo.province.generate_province` (``--counties``
counties of ``--min-nodes`` … ``--max-nodes`` road nodes, roads crossing their borders)
and is written in its manifest form; every way of running then gets the same
:class:`~planner.batch.tasks.CountyTask` list (largest first, each into its own folder,
so nothing is resumed) and the same :func:`planner.batch.county.run_county`:

* **serial** — a ``for`` loop in this process;
* **pool** — ``concurrent.futures.ProcessPoolExecutor`` with 2 processes, ``map`` over the tasks;
* **dask-1**, **dask-2** — :func:`planner.batch.run.run_batch` on a LocalCluster of 1 and
  2 worker processes (cluster start and stop included in the wall time).

Before any time is printed the county figures of every way are checked identical to
the serial loop's. Printed: wall time, counties per minute, speed-up and efficiency
against the serial loop, peak memory per county (median and largest, sampled in the
process that ran it), the scheduler's overhead per task (200 empty tasks on a running
2-worker cluster, and the real run's wall time beyond its busiest worker's task time),
and a cost model per county (seconds against the road nodes of the county plus its
halo, least squares over the serial run) with the wall time it extrapolates for 100 and
2,800 counties like these on 16, 64 and 256 workers.

Run ``.venv/bin/python benchmarks/bench_batch.py`` (16 counties of 10k … 300k nodes:
long on a 2-core machine) · ``--counties 16 --min-nodes 5000 --max-nodes 60000`` for a
shorter look.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from _common import parse_sizes  # also puts the repository root on sys.path

from planner.batch.county import run_county
from planner.batch.inputs import make_tasks, read_manifest
from planner.batch.run import run_batch
from planner.batch.tasks import BatchSettings, CountyOutcome, CountyTask
from planner.demo.province import generate_province, write_province
from planner.settings import Config, parse_tier

logger = logging.getLogger("benchmarks.batch")

#: Figures compared between the ways of running (every demand figure of every tier).
CHECKED = ("demand", "population", "covered_population", "outside_population", "uncovered")


def _tasks(manifest: Path, *, settings: BatchSettings, out: Path) -> list[CountyTask]:
    counties = read_manifest(manifest)
    tasks = make_tasks(counties, settings=settings, out_dir=out)
    return sorted(tasks, key=lambda task: -task.county.size_bytes)


def _serial(tasks: list[CountyTask], settings: BatchSettings) -> list[CountyOutcome]:
    return [run_county(task, settings=settings) for task in tasks]


def _pool(tasks: list[CountyTask], settings: BatchSettings, workers: int) -> list[CountyOutcome]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(partial(run_county, settings=settings), tasks))


def _dask(tasks: list[CountyTask], settings: BatchSettings, workers: int) -> list[CountyOutcome]:
    return run_batch(tasks, settings=settings, workers=workers, progress=False)


def _figures(outcomes: list[CountyOutcome]) -> dict[str, Any]:
    return {
        o.code: {tier: [s.get(k) for k in CHECKED] for tier, s in (o.summary or {}).get("tiers", {}).items()}
        for o in outcomes
    }


def _empty(_: int) -> int:
    return 0


def scheduler_overhead(*, workers: int, n_tasks: int = 200) -> tuple[float, float]:
    """Seconds to start and stop a LocalCluster, and wall seconds per empty task on it."""
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        started = time.perf_counter() - t0
        client.gather(client.map(_empty, range(10), pure=False))  # warm
        t1 = time.perf_counter()
        client.gather(client.map(_empty, range(n_tasks), pure=False))
        per_task = (time.perf_counter() - t1) / n_tasks
    return started, per_task


def cost_model(outcomes: list[CountyOutcome]) -> tuple[float, float, float, float]:
    """Seconds per county against its road nodes (county plus halo).

    Returns the cost per node through the origin (total seconds ÷ total nodes: what the
    extrapolation uses), and the least-squares line ``seconds = a + b × nodes`` with its R²
    (a, b, R²): when the halos make every county load about as many nodes, the line says little.
    """
    x = np.array([o.n_nodes for o in outcomes], dtype=float)
    y = np.array([o.seconds for o in outcomes], dtype=float)
    per_node = float(y.sum() / x.sum())
    b, a = np.polyfit(x, y, 1)
    pred = a + b * x
    ss_res = float(((y - pred) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    return per_node, float(a), float(b), 1.0 - ss_res / ss_tot


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counties", type=int, default=16)
    p.add_argument("--min-nodes", type=parse_sizes, default=[10_000])
    p.add_argument("--max-nodes", type=parse_sizes, default=[300_000])
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--tiers", default="county,township,village,enterprise")
    p.add_argument("--ways", default="serial,pool,dask-1,dask-2")
    p.add_argument("--workdir", type=Path, default=None, help="keep the files here (default: a temporary folder)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("distributed", *(f"distributed.{m}" for m in ("scheduler", "nanny", "core", "batched", "worker"))):
        logging.getLogger(name).setLevel(logging.ERROR)  # the cluster's own lines (start, stop, closed comms)

    cfg = Config()
    tiers = tuple(parse_tier(x) for x in args.tiers.split(","))
    settings = BatchSettings(config=cfg, tiers=tiers, isochrones=False)
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        root = args.workdir or Path(tmp)
        t0 = time.perf_counter()
        province = generate_province(
            n_counties=args.counties, seed=args.seed, min_nodes=args.min_nodes[0], max_nodes=args.max_nodes[0]
        )
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        write_province(root / "province", province=province)
        write_s = time.perf_counter() - t0
        manifest = root / "province" / "counties.csv"
        n_nodes = [int(n) for n in province.counties["n_nodes"]]
        print(
            f"province: {args.counties} counties, {sum(n_nodes):,} road nodes "
            f"({min(n_nodes, default=0):,} … {max(n_nodes, default=0):,}); generated in {gen_s:.1f} s, "
            f"written in {write_s:.1f} s"
        )
        results: dict[str, tuple[float, list[CountyOutcome], int]] = {}
        for way in ways:
            tasks = _tasks(manifest, settings=settings, out=root / way)
            t0 = time.perf_counter()
            if way == "serial":
                out, workers = _serial(tasks, settings), 1
            elif way == "pool":
                out, workers = _pool(tasks, settings, 2), 2
            elif way.startswith("dask-"):
                workers = int(way.split("-", 1)[1])
                out = _dask(tasks, settings, workers)
            else:
                raise SystemExit(f"unknown way {way!r}")
            wall = time.perf_counter() - t0
            bad = [o for o in out if o.status != "ok"]
            if bad:
                raise SystemExit(f"{way}: {[(o.code, o.status, o.message) for o in bad]}")
            results[way] = (wall, out, workers)
            print(f"  {way}: {wall:.1f} s", flush=True)
        first = next(iter(results.values()))[1]
        for way, (_, out, _) in results.items():
            if _figures(out) != _figures(first):
                raise SystemExit(f"{way}: county figures differ from {next(iter(results))}")
        print("county figures identical in every way of running\n")

        base = results["serial"][0] if "serial" in results else None
        print("| way | workers | wall s | counties/min | speed-up | efficiency | peak MB/county (median, max) |")
        print("|---|---|---|---|---|---|---|")
        for way, (wall, out, workers) in results.items():
            peaks = [o.peak_rss_mb for o in out]
            speed = base / wall if base else math.nan
            print(
                f"| {way} | {workers} | {wall:.1f} | {len(out) / wall * 60:.2f} | {speed:.2f} | "
                f"{speed / workers:.2f} | {statistics.median(peaks):.0f}, {max(peaks):.0f} |"
            )
        start_s, per_task_s = scheduler_overhead(workers=2)
        print(f"\nLocalCluster(2) start+stop {start_s:.2f} s; 200 empty tasks: {per_task_s * 1000:.1f} ms per task")
        for way, (wall, out, workers) in results.items():
            if way.startswith("dask-"):
                busy = sum(o.seconds for o in out) / workers
                print(
                    f"{way}: wall beyond the mean busy time per worker: {wall - busy:.1f} s "
                    f"({(wall - busy) / len(out):.2f} s per county, cluster start included)"
                )

        ref = results["serial"][1] if "serial" in results else first
        per_node, a, b, r2 = cost_model(ref)
        mean_nodes = statistics.mean(o.n_nodes for o in ref)
        mean_s = per_node * mean_nodes
        eff = (base / results["dask-2"][0] / 2) if base and "dask-2" in results else 1.0
        print(
            f"\ncost model (serial run): {per_node * 1e6:.1f} s per million road nodes of county + halo "
            f"(line: {a:.2f} s + {b * 1e6:.1f} s per million, R² = {r2:.3f}); "
            f"mean county + halo {mean_nodes:,.0f} nodes → {mean_s:.1f} s"
        )
        print("| county | own nodes | county + halo nodes | seconds | peak MB |")
        print("|---|---|---|---|---|")
        own_nodes = dict(zip(province.counties["code"].astype(str), province.counties["n_nodes"], strict=True))
        for o in sorted(ref, key=lambda o: o.n_nodes):
            print(
                f"| {o.code} | {own_nodes.get(o.code, 0):,} | {o.n_nodes:,} | {o.seconds:.1f} | {o.peak_rss_mb:.0f} |"
            )
        print(f"extrapolated wall time (counties like these; efficiency {eff:.2f} as measured on 2 Dask workers,")
        print(f"plus {per_task_s * 1000:.1f} ms scheduler time per task; the largest county bounds it from below):")
        print("| counties | 16 workers | 64 workers | 256 workers |")
        print("|---|---|---|---|")
        longest = max(o.seconds for o in ref)
        for n in (100, 2800):
            cells = []
            for w in (16, 64, 256):
                t = max(longest, n * mean_s / (w * eff)) + n * per_task_s + start_s
                cells.append(f"{t / 60:.1f} min" if t < 7200 else f"{t / 3600:.1f} h")
            print(f"| {n} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
