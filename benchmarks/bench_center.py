"""Benchmark the travel-time location models against PySAL spopt on identical inputs.

Usage::

    .venv/bin/python benchmarks/bench_center.py --model pcenter --sizes 2000x1000 --p 10
    .venv/bin/python benchmarks/bench_center.py --model backup

One function per model (``bench_<model>``). p-center: random demand and candidate points
in a 60 × 60 minute square, straight-line minutes rounded to 0.1 min (road-network
times come in such steps), every pair stored (no cutoff), so spopt's
``PCenter.from_cost_matrix`` (PuLP + CBC) gets exactly the same dense matrix; both
minimise the largest minutes (unweighted). spopt runs once under a CBC time limit (it
builds one assignment variable per pair and rarely proves optimality at this size); the
planner's median of ``--repeats`` runs is compared. Backup: spopt's ``LSCPB`` on its San
Francisco fixture (only when ../shared is present) beside
:func:`planner.siting.backup.backup_coverage` — the two shares differ on purpose.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import median_time  # noqa: E402

from planner.network.times import TravelTimes  # noqa: E402
from planner.siting.backup import backup_coverage  # noqa: E402
from planner.siting.center import p_center  # noqa: E402
from planner.siting.location import TimeProblem  # noqa: E402
from planner.siting.problem import CoverageProblem  # noqa: E402

SHARED = ROOT.parent / "shared"
logger = logging.getLogger("benchmarks")


def pcenter_instance(m: int, n: int, *, seed: int) -> np.ndarray:
    """Dense ``m × n`` minutes (rounded to 0.1) between random points in a 60-minute square."""
    rng = np.random.default_rng(seed)
    d, c = rng.uniform(0, 60, (m, 2)), rng.uniform(0, 60, (n, 2))
    return np.round(np.hypot(d[:, None, 0] - c[None, :, 0], d[:, None, 1] - c[None, :, 1]), 1)


def bench_pcenter(sizes: list[tuple[int, int]], *, p: int, repeats: int, spopt_limit_s: float, seed: int) -> None:
    """p-center: planner vs spopt ``PCenter`` (same matrix, same objective); prints a Markdown table."""
    import pulp
    from spopt.locate import PCenter

    print(
        "| demand × candidates | p | spopt objective (status) | planner objective | bound | gap "
        "| spopt s | planner s (median) | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for m, n in sizes:
        minutes = pcenter_instance(m, n, seed=seed)

        def ours(minutes: np.ndarray = minutes) -> tuple[float, float, float]:
            problem = TimeProblem(times=TravelTimes.from_dense(minutes), weights=np.ones(len(minutes)))
            res = p_center(problem, p=p, time_limit_s=max(spopt_limit_s, 60.0))
            return res.objective, res.bound, res.gap

        t_ours, (obj, bound, gap) = median_time(ours, repeat=repeats)
        t0 = time.perf_counter()
        model = PCenter.from_cost_matrix(minutes, p_facilities=p)
        try:
            model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=spopt_limit_s))
            status = pulp.LpStatus[model.problem.status]
            s_obj = float(model.problem.objective.value())
        except Exception as err:  # spopt raises a bare Exception on a non-optimal status
            status, s_obj = f"no optimum ({type(err).__name__})", float("nan")
        t_spopt = time.perf_counter() - t0
        stopped = t_spopt >= spopt_limit_s
        ratio = f"{'≥ ' if stopped else ''}{t_spopt / t_ours:.1f}×"
        print(
            f"| {m} × {n} | {p} | {s_obj:.1f} ({status}{', time limit' if stopped else ''}) | {obj:.1f} | "
            f"{bound:.1f} | {100 * gap:.2f} % | {t_spopt:.1f} | {t_ours:.2f} | {ratio} |",
            flush=True,
        )


def bench_backup() -> None:
    """Backup coverage vs spopt ``LSCPB`` on spopt's San Francisco fixture (S = 5000 m)."""
    path = SHARED / "benchmarks" / "spopt_sf" / "SF_network_distance_candidateStore_16_censusTract_205_new.csv"
    if not path.exists():
        logger.warning("%s absent: backup comparison skipped", path)
        return
    import pulp
    from spopt.locate import LSCPB

    costs = pd.read_csv(path)
    matrix = costs.pivot_table(values="distance", index="DestinationName", columns="name").to_numpy()
    t0 = time.perf_counter()
    spopt = LSCPB.from_cost_matrix(matrix, 5000.0, pulp.PULP_CBC_CMD(msg=False)).solve()
    spopt.get_percentage()
    t_spopt = time.perf_counter() - t0
    p = round(spopt.lscp_obj_value)
    problem = CoverageProblem.from_dense(matrix, max_distance=5000.0)
    t_ours, res = median_time(lambda: backup_coverage(problem, p=p, require_cover=True), repeat=3)
    print("| SF fixture (205 tracts × 16 stores, 5 km) | p | backed-up share | covered once | seconds |")
    print("|---|---|---|---|---|")
    print(f"| spopt LSCPB | {p} | {spopt.backup_perc:.2f} % | 100 % (required) | {t_spopt:.2f} |")
    print(
        f"| planner backup_coverage(require_cover=True) | {p} | {100 * res.objective / 205:.2f} % "
        f"| {100 * res.details['covered_once'] / 205:.2f} % | {t_ours:.3f} |"
    )
    print(
        f"\n{res.details['cannot_be_backed_up']} tracts have fewer than two stores in range: "
        "spopt counts them backed up."
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", choices=["pcenter", "backup", "all"], default="all")
    ap.add_argument("--sizes", default="2000x1000", help="demand×candidates, comma-separated")
    ap.add_argument("--p", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--spopt-time-limit", type=float, default=600.0, help="CBC time limit (s) for spopt")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = [(int(a), int(b)) for a, b in (s.split("x") for s in args.sizes.split(","))]
    if args.model in ("pcenter", "all"):
        bench_pcenter(sizes, p=args.p, repeats=args.repeats, spopt_limit_s=args.spopt_time_limit, seed=args.seed)
    if args.model in ("backup", "all"):
        bench_backup()


if __name__ == "__main__":
    main()
