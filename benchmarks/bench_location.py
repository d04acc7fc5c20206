"""Benchmark the travel-time location models (planner.siting.median) against PySAL spopt.

Usage::

    .venv/bin/python benchmarks/bench_location.py --model pmedian            # both instances
    .venv/bin/python benchmarks/bench_location.py --model pmedian --only large

One function per model (``--model``); each prints a Markdown table.

p-median:

* ``compare`` — a dense ``demand × candidates`` instance (uniform points, Euclidean
  distances as minutes, lognormal populations), identical inputs and objective for
  spopt's ``PMedian.from_cost_matrix`` (PuLP + CBC) and :func:`planner.siting.median.p_median`;
  prints both objectives and the speed ratio spopt / planner (build + solve for both).
* ``large`` — 10,000 demand × 5,000 candidates, p = 100, sparse: uniform points in a
  60 km square, minutes = 2 × km (30 km/h), pairs within the cutoff only; prints
  objective, proven bound and gap within the time limit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import median_time

from planner.network.times import TravelTimes
from planner.siting.location import TimeProblem
from planner.siting.median import p_median


def spopt_pmedian(dense: np.ndarray, weights: np.ndarray, p: int) -> float:
    """spopt's PMedian on the dense matrix with CBC: the objective (weighted total)."""
    import pulp
    from spopt.locate import PMedian

    model = PMedian.from_cost_matrix(dense, weights, p_facilities=p)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    return float(pulp.value(model.problem.objective))


def pmedian(args: argparse.Namespace) -> None:
    """p-median: the spopt comparison and the large sparse instance."""
    rng = np.random.default_rng(args.seed)
    print("| instance | demand | candidates | p | pairs | spopt s | planner s | spopt objective | "
          "planner objective | bound | gap % | status | speed-up |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    if "compare" in args.only:
        m, n, p = args.compare_size[0], args.compare_size[1], args.compare_p
        d, c = rng.uniform(0, 100, (m, 2)), rng.uniform(0, 100, (n, 2))
        dense = np.sqrt(((d[:, None] - c[None]) ** 2).sum(-1))
        w = np.round(rng.lognormal(3.0, 1.0, m))

        def ours() -> object:
            pr = TimeProblem(times=TravelTimes.from_dense(dense), weights=w)
            return p_median(pr, p=p, time_limit_s=args.time_limit)

        sec_o, res = median_time(ours, repeat=args.repeats)
        sec_s, obj_s = (
            median_time(lambda: spopt_pmedian(dense, w, p), repeat=1) if not args.no_spopt else (np.nan, np.nan)
        )
        r = res  # type: ignore[assignment]
        print(f"| dense uniform | {m} | {n} | {p} | {m * n} | {sec_s:.2f} | {sec_o:.2f} | {obj_s:.6f} | "
              f"{r.objective:.6f} | {r.bound:.6f} | {100 * r.gap:.4f} | {r.status} | {sec_s / sec_o:.1f}× |",  # type: ignore[attr-defined]
              flush=True)  # fmt: skip
    if "large" in args.only:
        m, n, p = 10_000, 5_000, 100
        d, c = rng.uniform(0, 60, (m, 2)), rng.uniform(0, 60, (n, 2))
        radius_km = args.cutoff_min / 2.0
        pairs = cKDTree(d).sparse_distance_matrix(cKDTree(c), radius_km, output_type="coo_matrix")
        w = np.round(rng.lognormal(6.0, 1.0, m))
        times = TravelTimes.from_pairs(
            rows=pairs.row, columns=pairs.col, minutes=2.0 * pairs.data, demand_ids=np.arange(m),
            site_ids=np.arange(n), cutoff_min=args.cutoff_min,
        )  # fmt: skip
        pr = TimeProblem(times=times, weights=w)
        sec, res = median_time(
            lambda: p_median(pr, p=p, time_limit_s=args.time_limit, unreachable="cutoff"), repeat=args.repeats
        )
        print(f"| sparse uniform, cutoff {args.cutoff_min:g} min | {m} | {n} | {p} | {times.n_pairs} | - | {sec:.2f} "
              f"| - | {res.objective:.0f} | {res.bound:.0f} | {100 * res.gap:.3f} | {res.status} | - |",
              flush=True)  # fmt: skip


MODELS = {"pmedian": pmedian}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=list(MODELS), default="pmedian")
    parser.add_argument("--only", choices=["compare", "large"], action="append")
    parser.add_argument("--repeats", type=int, default=1, help="repeats of planner (median time)")
    parser.add_argument("--compare-size", type=int, nargs=2, default=[2000, 1000], metavar=("DEMAND", "CANDIDATES"))
    parser.add_argument("--compare-p", type=int, default=5)
    parser.add_argument("--no-spopt", action="store_true", help="skip spopt (planner only)")
    parser.add_argument("--cutoff-min", type=float, default=18.0)
    parser.add_argument("--time-limit", type=float, default=25.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.only = args.only or ["compare", "large"]
    MODELS[args.model](args)


if __name__ == "__main__":
    main()
