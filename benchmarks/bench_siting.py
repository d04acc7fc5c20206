"""Benchmark planner.siting.models against PySAL spopt's MCLP (PuLP + CBC) on identical instances.

Usage::

    .venv/bin/python benchmarks/bench_siting.py               # all instances
    .venv/bin/python benchmarks/bench_siting.py --only random --repeats 3

Instances: Swain 55 nodes (S=10, p=5; tests/data/siting), spopt's San Francisco fixture
(S=5000, p=4; only when ../shared is present), a random 5,000 demand × 2,000 candidate
instance (each demand covered by ~10–60 candidates), and a large 10,000 × 5,000 instance
with p=100 solved by planner.siting.models alone under a time limit (objective, proven bound,
gap). Prints a table; objectives must be identical, the speed ratio is spopt / planner
(median of repeats, build + solve for both).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.siting.models import maximal_covering  # noqa: E402
from planner.siting.problem import CoverageProblem  # noqa: E402

SHARED = ROOT.parent / "shared"


def random_instance(
    m: int, n: int, *, mean_degree: float, seed: int
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, float]:
    """Uniform points in a 100×100 square, coverage radius giving ~mean_degree candidates per demand.

    Returns the sparse distance matrix (pairs within the radius), weights, a dense
    distance matrix builder's fill value and the radius.
    """
    rng = np.random.default_rng(seed)
    side = 100.0
    demand = rng.uniform(0, side, (m, 2))
    cands = rng.uniform(0, side, (n, 2))
    radius = float(np.sqrt(mean_degree * side * side / (n * np.pi)))
    pairs = cKDTree(demand).sparse_distance_matrix(cKDTree(cands), radius, output_type="coo_matrix")
    dist = sp.csr_matrix((pairs.data + 1e-9, (pairs.row, pairs.col)), shape=(m, n))
    weights = np.round(rng.lognormal(6.0, 1.0, m))
    return dist, weights, np.array([radius * 10.0]), radius


def clustered_instance(m: int, n: int, *, mean_degree: float, seed: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """County-like layout: demand in Gaussian settlement clusters, most candidates near demand.

    Radius chosen (bisection) so that demand points see ``mean_degree`` candidates on
    average. Returns the sparse distance matrix and weights.
    """
    rng = np.random.default_rng(seed)
    side = 100.0
    centres = rng.uniform(0, side, (max(m // 50, 1), 2))
    spread = rng.uniform(0.5, 4.0, len(centres))
    k = rng.integers(0, len(centres), m)
    demand = np.clip(centres[k] + rng.normal(0, 1, (m, 2)) * spread[k, None], 0, side)
    near = int(0.7 * n)
    anchor = demand[rng.integers(0, m, near)] + rng.normal(0, 1.0, (near, 2))
    cands = np.vstack([anchor, rng.uniform(0, side, (n - near, 2))])
    tree_d, tree_c = cKDTree(demand), cKDTree(cands)
    lo, hi = 0.01, side
    for _ in range(30):
        radius = 0.5 * (lo + hi)
        deg = np.asarray([len(x) for x in tree_c.query_ball_point(demand[:500], radius)])
        lo, hi = (radius, hi) if deg.mean() < mean_degree else (lo, radius)
    pairs = tree_d.sparse_distance_matrix(tree_c, radius, output_type="coo_matrix")
    dist = sp.csr_matrix((pairs.data + 1e-9, (pairs.row, pairs.col)), shape=(m, n))
    weights = np.round(rng.lognormal(6.0, 1.0, m))
    return dist, weights


def swain() -> tuple[np.ndarray, np.ndarray]:
    d = np.loadtxt(ROOT / "tests" / "data" / "siting" / "swain_medrano_pcenter.txt", skiprows=1)
    xy = d[:, 1:3]
    return np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)), d[:, 3]


def san_francisco() -> tuple[np.ndarray, np.ndarray] | None:
    base = SHARED / "benchmarks" / "spopt_sf"
    if not base.exists():
        return None
    long = pd.read_csv(
        base / "SF_network_distance_candidateStore_16_censusTract_205_new.csv", dtype={"DestinationName": str}
    )
    demand = pd.read_csv(base / "SF_demand_205_centroid_uniform_weight.csv", dtype={"NAME": str})
    cost = long.pivot_table(values="distance", index="DestinationName", columns="name")
    weights = demand.set_index("NAME").loc[cost.index, "POP2000"].to_numpy(dtype=float)
    return cost.to_numpy(), weights


def spopt_mclp(dense: np.ndarray, weights: np.ndarray, radius: float, p: int) -> float:
    import pulp
    from spopt.locate import MCLP

    model = MCLP.from_cost_matrix(dense, weights, service_radius=radius, p_facilities=p)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    return float(pulp.value(model.problem.objective))


def ours(cover: sp.csr_matrix, weights: np.ndarray, p: int, time_limit_s: float = 600.0) -> float:
    m, n = cover.shape
    prob = CoverageProblem(cover, weights, np.zeros(m, dtype=bool), np.arange(m), np.arange(n))
    return maximal_covering(prob, p=p, time_limit_s=time_limit_s).objective


def timed(fn: Callable[[], float], repeats: int) -> tuple[float, float]:
    values, seconds = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        values.append(fn())
        seconds.append(time.perf_counter() - t0)
    return values[0], statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["swain", "sf", "random", "large"], action="append")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of planner.siting.models (median time)")
    parser.add_argument(
        "--spopt-repeats",
        type=int,
        default=None,
        help="repeats of spopt (default: --repeats; 1 for the random instance)",
    )
    parser.add_argument("--random-p", type=int, default=150)
    parser.add_argument("--large-time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    which = set(args.only or ["swain", "sf", "random", "large"])

    rows: list[dict[str, object]] = []

    def compare(
        name: str, dense: np.ndarray, weights: np.ndarray, radius: float, p: int, repeats: int, spopt_repeats: int
    ) -> None:
        cover = sp.csr_matrix(dense <= radius)
        obj_s, sec_s = timed(lambda: spopt_mclp(dense, weights, radius, p), spopt_repeats)
        obj_o, sec_o = timed(lambda: ours(cover, weights, p), repeats)
        rows.append(
            {
                "instance": name,
                "demand": dense.shape[0],
                "candidates": dense.shape[1],
                "p": p,
                "spopt_objective": obj_s,
                "planner_objective": obj_o,
                "identical": abs(obj_s - obj_o) <= 1e-6 * max(1.0, abs(obj_s)),
                "spopt_s": round(sec_s, 3),
                "planner_s": round(sec_o, 3),
                "speedup": round(sec_s / sec_o, 1),
            }
        )
        print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)

    if "swain" in which:
        dist, w = swain()
        for p in (1, 5, 9):
            compare(f"swain S=10 p={p}", dist, w, 10.0, p, args.repeats, args.spopt_repeats or args.repeats)
    if "sf" in which:
        sf = san_francisco()
        if sf is None:
            print("San Francisco fixture: ../shared not present, skipped")
        else:
            compare("spopt SF S=5000 p=4", sf[0], sf[1], 5000.0, 4, args.repeats, args.spopt_repeats or args.repeats)
    if "random" in which:
        dist, w, fill, radius = random_instance(5000, 2000, mean_degree=35, seed=args.seed)
        deg = np.diff(dist.indptr)
        print(f"random 5000×2000: candidates per demand min {deg.min()} median {np.median(deg):.0f} max {deg.max()}")
        dense = np.full(dist.shape, fill[0])
        coo = dist.tocoo()
        dense[coo.row, coo.col] = coo.data
        compare(
            f"random 5000x2000 p={args.random_p}",
            dense,
            w,
            radius,
            args.random_p,
            args.repeats,
            args.spopt_repeats or 1,
        )
    if rows:
        table = pd.DataFrame(rows)
        print("\n" + table.to_string(index=False))
    if "large" in which:
        uniform, w_u, _, _ = random_instance(10_000, 5_000, mean_degree=35, seed=args.seed)
        clustered, w_c = clustered_instance(10_000, 5_000, mean_degree=35, seed=args.seed)
        for layout, dist, w in (("uniform", uniform, w_u), ("clustered", clustered, w_c)):
            m, n = dist.shape
            deg = np.diff(dist.indptr)
            prob = CoverageProblem(sp.csr_matrix(dist, dtype=bool), w, np.zeros(m, bool), np.arange(m), np.arange(n))
            t0 = time.perf_counter()
            res = maximal_covering(prob, p=100, time_limit_s=args.large_time_limit)
            sec = time.perf_counter() - t0
            r = res.reduction
            print(
                f"\nlarge {layout} 10000x5000 p=100 (candidates per demand min {deg.min()} median "
                f"{np.median(deg):.0f} max {deg.max()}; reduced to {r.n_demand_reduced}x{r.n_candidates_reduced}) "
                f"limit {args.large_time_limit:.0f}s: objective {res.objective:.0f} bound {res.bound:.0f} "
                f"gap {100 * res.gap:.2f}% status {res.status} solver {res.solver} seconds {sec:.1f} "
                f"(covered share {100 * res.covered_share:.1f}%)",
                flush=True,
            )


if __name__ == "__main__":
    main()
