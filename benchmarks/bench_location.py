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
import logging
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import median_time

from planner.network.times import TravelTimes
from planner.siting.location import TimeProblem
from planner.siting.median import p_median

logger = logging.getLogger("benchmarks")


def spopt_pmedian(dense: np.ndarray, weights: np.ndarray, p: int, *, time_limit_s: float) -> dict[str, object]:
    """spopt's PMedian on the dense matrix with CBC under a time limit: build and solve seconds, objective, status."""
    import pulp
    from spopt.locate import PMedian

    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(dense, weights, p_facilities=p)
    t_build = time.perf_counter() - t0
    logger.info("spopt PMedian built in %.1f s", t_build)
    try:
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))
        status = pulp.LpStatus[model.problem.status]
    except Exception as err:  # spopt raises a bare Exception on a non-optimal status
        status = f"no optimum ({type(err).__name__})"
    t_total = time.perf_counter() - t0
    value = pulp.value(model.problem.objective)
    return {
        "build_s": t_build,
        "total_s": t_total,
        "objective": float(value) if value is not None else float("nan"),
        "status": status,
        "stopped": t_total - t_build >= time_limit_s,
    }


def pmedian(args: argparse.Namespace) -> None:
    """p-median: the spopt comparison and the large sparse instance."""
    if "compare" in args.only:
        rng = np.random.default_rng(args.seed)
        m, n, p = args.compare_size[0], args.compare_size[1], args.compare_p
        d, c = rng.uniform(0, 100, (m, 2)), rng.uniform(0, 100, (n, 2))
        dense = np.sqrt(((d[:, None] - c[None]) ** 2).sum(-1))
        w = np.round(rng.lognormal(3.0, 1.0, m))
        print("| instance | demand × candidates | p | spopt build s | spopt total s | planner s (median) "
              "| spopt objective (status) | planner objective | bound | gap % | speed-up |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        sec_o, obj_o, bound_o, gap_o = np.nan, np.nan, np.nan, np.nan
        if not args.spopt_only:

            def ours() -> tuple[float, float, float]:
                pr = TimeProblem(times=TravelTimes.from_dense(dense), weights=w)
                r = p_median(pr, p=p, time_limit_s=args.time_limit)
                return r.objective, r.bound, r.gap

            sec_o, (obj_o, bound_o, gap_o) = median_time(ours, repeat=args.repeats)
        s: dict[str, object] = {"build_s": np.nan, "total_s": np.nan, "objective": np.nan, "status": "-",
                                "stopped": False}  # fmt: skip
        if not args.no_spopt:
            s = spopt_pmedian(dense, w, p, time_limit_s=args.spopt_time_limit)
        stopped = ", CBC time limit" if s["stopped"] else ""
        ratio = float(s["total_s"]) / sec_o  # type: ignore[arg-type]
        print(f"| dense uniform (seed {args.seed}) | {m} × {n} | {p} | {s['build_s']:.1f} | {s['total_s']:.1f} "
              f"| {sec_o:.2f} | {s['objective']:.6f} ({s['status']}{stopped}) | {obj_o:.6f} | {bound_o:.6f} "
              f"| {100 * gap_o:.4f} | {'≥ ' if stopped else ''}{ratio:.1f}× |", flush=True)  # fmt: skip
    if "large" in args.only:
        rng = np.random.default_rng(args.seed)
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
        print("| instance | demand × candidates | p | pairs | run | time limit s | seconds (median) | gap % (median) "
              "| objective | bound | status |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for label, target in (("to ≤ 1 %", 0.01), ("gap at the limit", 1e-6)):
            runs = []
            for _ in range(max(1, args.repeats)):
                t0 = time.perf_counter()
                res = p_median(pr, p=p, time_limit_s=args.time_limit, unreachable="cutoff", mip_rel_gap=target)
                runs.append((time.perf_counter() - t0, res))
                logger.info("%s: %.2f s, gap %.4f %%, %s", label, runs[-1][0], 100 * res.gap, res.status)
            sec = float(np.median([t for t, _ in runs]))
            mid = sorted(runs, key=lambda tr: tr[1].gap)[len(runs) // 2][1]
            print(f"| sparse uniform, cutoff {args.cutoff_min:g} min | {m} × {n} | {p} | {times.n_pairs} | {label} "
                  f"| {args.time_limit:g} | {sec:.2f} | {100 * mid.gap:.3f} | {mid.objective:.0f} | {mid.bound:.0f} "
                  f"| {mid.status} |", flush=True)  # fmt: skip


MODELS = {"pmedian": pmedian}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=list(MODELS), default="pmedian")
    parser.add_argument("--only", choices=["compare", "large"], action="append")
    parser.add_argument("--repeats", type=int, default=1, help="repeats of planner (median time)")
    parser.add_argument("--compare-size", type=int, nargs=2, default=[2000, 1000], metavar=("DEMAND", "CANDIDATES"))
    parser.add_argument("--compare-p", type=int, default=5)
    parser.add_argument("--no-spopt", action="store_true", help="skip spopt (planner only)")
    parser.add_argument("--spopt-only", action="store_true", help="compare: run spopt only (no planner)")
    parser.add_argument("--spopt-time-limit", type=float, default=900.0, help="CBC time limit (s) for spopt")
    parser.add_argument("--cutoff-min", type=float, default=18.0)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.only = args.only or ["compare", "large"]
    MODELS[args.model](args)


if __name__ == "__main__":
    main()
