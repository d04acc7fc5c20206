"""Benchmark the capacitated p-median (split assignment) at county scale: gap and time within the limit.

Usage::

    .venv/bin/python benchmarks/bench_capacity.py                     # both sizes, median of 3
    .venv/bin/python benchmarks/bench_capacity.py --sizes 2000x500:20 --repeats 1
    .venv/bin/python benchmarks/bench_capacity.py --mip-baseline       # also the plain MIP (slow)

Instances (seeded): demand, candidates and existing stations (p / 2) uniform in a 60 km
square, minutes = 2 × km (30 km/h), pairs within the cutoff only (30 min for 2,000 × 500,
22 min for 5,000 × 1,000), lognormal populations; capacities uniform in 0.6–1.4 × the mean
share 1.25 × population / (p + stations), so they bind. Existing stations have
capacities too (no pair can be dropped). Per size: the greedy start (the baseline, same
run) and :func:`planner.siting.capacity.capacitated_p_median` with the time limit
(Lagrangian bound and heuristic, relocations, swaps): objective, proven bound, gap, wall
time (median of the repeats; objective, bound and gap of the last repeat, every repeat's
gap in the run's name), and objective / greedy. ``--mip-baseline`` adds the MIP over
all pairs (the route below ``mip_max_pairs``), once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.network.times import TravelTimes
from planner.siting.capacity import capacitated_p_median
from planner.siting.location import LocationResult, TimeProblem

CUTOFF_MIN = {(2000, 500): 30.0, (5000, 1000): 22.0}


def instance(m: int, n: int, p: int, *, seed: int, cutoff_min: float) -> dict[str, Any]:
    """The problem and keyword arguments of one generated county."""
    rng = np.random.default_rng(seed)
    n_ex = p // 2
    d, c, e = rng.uniform(0, 60, (m, 2)), rng.uniform(0, 60, (n, 2)), rng.uniform(0, 60, (n_ex, 2))
    w = np.round(rng.lognormal(6.0, 1.0, m))

    def times(sites: np.ndarray) -> TravelTimes:
        pr = cKDTree(d).sparse_distance_matrix(cKDTree(sites), cutoff_min / 2.0, output_type="coo_matrix")
        return TravelTimes.from_pairs(
            rows=pr.row, columns=pr.col, minutes=2.0 * pr.data, demand_ids=np.arange(m),
            site_ids=np.arange(len(sites)), cutoff_min=cutoff_min,
        )  # fmt: skip

    cand, ex = times(c), times(e)
    mean_cap = 1.25 * w.sum() / (p + n_ex)
    return {
        "problem": TimeProblem(times=cand, weights=w, existing_min=ex.nearest_minutes()),
        "capacity": np.round(rng.uniform(0.6, 1.4, n) * mean_cap),
        "existing_capacity": np.round(rng.uniform(0.6, 1.4, n_ex) * mean_cap),
        "existing_times": ex,
    }


def timed(**kwargs: Any) -> tuple[float, LocationResult]:
    """Wall seconds and result of one :func:`capacitated_p_median` call."""
    t0 = time.perf_counter()
    res = capacitated_p_median(**kwargs)
    return time.perf_counter() - t0, res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000x500:20,5000x1000:40", help="DEMANDxCANDIDATES:P, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--mip-rel-gap", type=float, default=1e-6)
    parser.add_argument("--mip-baseline", action="store_true", help="also the MIP over all pairs, once")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| demand × candidates | p | pairs | run | objective | bound | gap % | status | s (median) | "
          "s max | objective / greedy |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for spec in args.sizes.split(","):
        shape, p_text = spec.split(":")
        m, n = (int(x) for x in shape.split("x"))
        p = int(p_text)
        kw = instance(m, n, p, seed=args.seed, cutoff_min=CUTOFF_MIN.get((m, n), 30.0))
        pairs = kw["problem"].times.n_pairs
        sec_g, greedy = timed(p=p, solver="greedy", **kw)
        runs = [
            ("greedy (baseline)", [sec_g], greedy),
        ]
        secs: list[float] = []
        gaps: list[float] = []
        res = greedy
        for _ in range(max(1, args.repeats)):
            s, res = timed(p=p, time_limit_s=args.time_limit, mip_rel_gap=args.mip_rel_gap, **kw)
            secs.append(s)
            gaps.append(res.gap)
            print(f"  run: {s:.1f} s, gap {100 * res.gap:.4f} %", file=sys.stderr, flush=True)
        every = ", ".join(f"{100 * g:.4f}" for g in gaps)
        runs.append((f"Lagrangian route, limit {args.time_limit:g} s (gaps %: {every})", secs, res))
        if args.mip_baseline:
            s, mip = timed(p=p, time_limit_s=args.time_limit, mip_max_pairs=10**9, **kw)
            runs.append((f"MIP over all pairs, limit {args.time_limit:g} s", [s], mip))
        for name, times_s, r in runs:
            bound = f"{r.bound:,.0f}" if np.isfinite(r.bound) else "-"
            gap = f"{100 * r.gap:.4f}" if np.isfinite(r.gap) else "-"
            print(f"| {m:,} × {n:,} | {p} | {pairs:,} | {name} | {r.objective:,.0f} | {bound} | {gap} | {r.status} | "
                  f"{statistics.median(times_s):.1f} | {max(times_s):.1f} | {r.objective / greedy.objective:.4f} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
