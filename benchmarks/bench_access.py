"""2SFCA and E2SFCA: ``planner.coverage.access`` vs PySAL ``access`` on identical cost matrices.

Demand points and stations are drawn uniformly (seeded) in a square county; travel time
is straight-line distance at ``--speed`` km/h, and every pair within ``--cutoff`` minutes
is one row of a long cost table (a KD-tree finds them: no dense demand × station matrix).
Both libraries get that same table, the same population and supply, the same catchment
and steps; the values are checked identical (``access``'s NaN = our 0 where nothing is
in reach) before any time is printed.

Times are medians of ``--repeat`` runs:

* ``access``: ``Access(...)`` (indexing the frames) and ``two_stage_fca`` /
  ``enhanced_two_stage_fca`` together, and the measure alone;
* ours: ``TravelTimes.from_pairs`` (sorting the pairs into rows) and
  :func:`planner.coverage.access.accessibility` together, and the measure alone.

Run ``.venv/bin/python benchmarks/bench_access.py`` (50,000 × 500, ~3 min on a busy
2-core machine) · ``--demand 5000 --stations 100 --repeat 3`` for a quick look.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings

import numpy as np
import pandas as pd
from _common import median_time  # also puts the repository root on sys.path
from scipy.spatial import cKDTree

from planner.coverage.access import accessibility
from planner.network.times import TravelTimes

logger = logging.getLogger("benchmarks.access")


def instance(
    n_demand: int, n_stations: int, *, side_km: float, speed_kph: float, cutoff_min: float, seed: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Long cost table ``origin, dest, cost`` (pairs within the cutoff), population and supply."""
    rng = np.random.default_rng(seed)
    demand_xy = rng.uniform(0, side_km, (n_demand, 2))
    station_xy = rng.uniform(0, side_km, (n_stations, 2))
    radius_km = cutoff_min / 60.0 * speed_kph
    pairs = cKDTree(demand_xy).sparse_distance_matrix(cKDTree(station_xy), radius_km, output_type="coo_matrix")
    cost = pd.DataFrame(
        {
            "origin": pairs.row.astype(np.int64),
            "dest": pairs.col.astype(np.int64),
            "cost": pairs.data / speed_kph * 60.0,
        }
    )
    population = rng.integers(50, 3000, n_demand).astype(np.float64)
    supply = rng.integers(1, 20, n_stations).astype(np.float64)
    return cost, population, supply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demand", type=int, default=50_000)
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--side-km", type=float, default=100.0, help="side of the square county")
    parser.add_argument("--speed", type=float, default=40.0, help="km/h")
    parser.add_argument("--cutoff", type=float, default=30.0, help="minutes: pairs stored, and the catchment")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    warnings.simplefilter("ignore")  # access uses pandas keywords that now warn
    from access import Access

    cost, pop, supply = instance(
        args.demand, args.stations, side_km=args.side_km, speed_kph=args.speed, cutoff_min=args.cutoff, seed=args.seed
    )
    n_d, n_s = args.demand, args.stations
    logger.info("%d demand × %d stations, %d pairs within %g min", n_d, n_s, len(cost), args.cutoff)
    demand_df = pd.DataFrame({"geoid": np.arange(n_d), "pop": pop})
    supply_df = pd.DataFrame({"geoid": np.arange(n_s), "doc": supply})
    steps = ((args.cutoff / 3, 1.0), (2 * args.cutoff / 3, 0.68), (args.cutoff, 0.22))

    def build_access() -> Access:
        return Access(
            demand_df=demand_df, demand_index="geoid", demand_value="pop", supply_df=supply_df, supply_index="geoid",
            supply_value="doc", cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="cost",
        )  # fmt: skip

    def build_ours() -> TravelTimes:
        return TravelTimes.from_pairs(
            rows=cost["origin"].to_numpy(), columns=cost["dest"].to_numpy(), minutes=cost["cost"].to_numpy(),
            demand_ids=np.arange(n_d), site_ids=np.arange(n_s), cutoff_min=args.cutoff,
        )  # fmt: skip

    def step_fn(t: float) -> float:  # access.weights.step_fn of the same steps
        for bound, w in steps:
            if t <= bound:
                return w
        return 0.0

    model = build_access()
    times = build_ours()
    rows = ["| method | access: measure (s) | access: + setup (s) | ours: measure (s) | ours: + setup (s) | "
            "ratio measure | ratio with setup | max abs diff |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for method in ("2sfca", "e2sfca"):

        def run_access(m: Access = model, method: str = method) -> np.ndarray:
            if method == "2sfca":
                out = m.two_stage_fca(name="x", max_cost=args.cutoff)
            else:
                out = m.enhanced_two_stage_fca(name="x", weight_fn=step_fn)
            return np.asarray(out["x_doc"].reindex(range(n_d)).fillna(0.0).to_numpy(), dtype=np.float64)

        def run_ours(tt: TravelTimes = times, method: str = method) -> np.ndarray:
            res = accessibility(
                tt, population=pop, supply=supply, method=method, catchment_min=args.cutoff,  # type: ignore[arg-type]
                steps=steps if method == "e2sfca" else None,
            )  # fmt: skip
            return res.value

        t_access, ref = median_time(run_access, repeat=args.repeat)
        t_access_all, _ = median_time(lambda method=method: run_access(build_access(), method), repeat=args.repeat)
        t_ours, got = median_time(run_ours, repeat=max(args.repeat, 5))
        t_ours_all, _ = median_time(lambda method=method: run_ours(build_ours(), method), repeat=max(args.repeat, 5))
        diff = float(np.max(np.abs(got - ref)))
        scale = float(np.max(np.abs(ref)))
        if not np.allclose(got, ref, rtol=1e-9, atol=1e-12 * scale):
            msg = f"{method}: values differ from access (max abs diff {diff:g})"
            raise SystemExit(msg)
        rows.append(
            f"| {method} | {t_access:.3f} | {t_access_all:.3f} | {t_ours:.4f} | {t_ours_all:.4f} | "
            f"{t_access / t_ours:.0f}× | {t_access_all / t_ours_all:.0f}× | {diff:.1e} (max value {scale:.2e}) |"
        )
        logger.info("%s done", method)
    print(f"\n{n_d:,} demand × {n_s:,} stations, {len(cost):,} pairs within {args.cutoff:g} min; "
          f"median of {args.repeat} (access) / {max(args.repeat, 5)} (ours) runs\n")  # fmt: skip
    print("\n".join(rows))


if __name__ == "__main__":
    main()
