"""The plain script a planner would write with geopandas / osmnx / networkx (baseline of ``bench_process.py``).

Not part of the package and imports nothing from it: it stands for the alternative to
``planner coverage``. Usage::

    python benchmarks/plain_coverage.py ROADS.gpkg STATIONS.csv DEMAND.csv SETTINGS.json OUT_DIR

``SETTINGS.json`` carries the planner's default standards and speeds (written by
``bench_process.py`` from :class:`planner.settings.Config`) so that both sides use the same
numbers: ``{"standards": {tier: {"mode", "minutes"}}, "speeds_kph": {mode: {class: kph}},
"walk_speed_kph", "max_snap_m", "tier_demand": {tier: "residents" | "enterprise" | "all"}}``.

What it does, as a competent planner would:

1. read the road layer with geopandas, project it to its UTM zone;
2. nodes = segment end points (rounded to 1 cm), one ``nx.DiGraph`` per travel mode with
   the travel time of each segment (class speed; driving: posted ``maxspeed`` capped at
   1.2 × the class speed; one-way streets one-way when driving only);
3. nearest road node of every station and demand point (``osmnx.distance.nearest_nodes``,
   a KD-tree), a walking access leg at the walking speed, points farther than the
   maximum snap distance off the network;
4. per station ``nx.single_source_dijkstra_path_length`` with ``cutoff`` = the tier's
   minutes less the station's access leg; a demand point is covered when the node time
   plus its own access leg is within the standard;
5. a CSV per tier (every demand point of the tier, covered or not, with its time) and a
   ``summary.json`` with the covered population per tier.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

T0 = time.perf_counter()

import geopandas as gpd  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import osmnx as ox  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402


def build_graph(
    u: np.ndarray, v: np.ndarray, length_m: np.ndarray, highway: np.ndarray, maxspeed: np.ndarray,
    oneway: np.ndarray, xy: np.ndarray, *, mode: str, speeds: dict[str, float], crs: object,
) -> nx.DiGraph:  # fmt: skip
    """One travel mode's DiGraph (weight: seconds); nodes carry x/y for osmnx."""
    speed = np.array([speeds.get(h, math.nan) if speeds.get(h) is not None else math.nan for h in highway])
    allowed = np.isfinite(speed) & (speed > 0)
    if mode == "drive":
        posted = np.isfinite(maxspeed) & (maxspeed > 0)
        speed = np.where(posted & allowed, np.minimum(maxspeed, speed * 1.2), speed)
    g = nx.DiGraph(crs=crs)
    g.add_nodes_from((i, {"x": float(xy[i, 0]), "y": float(xy[i, 1])}) for i in range(len(xy)))
    for a, b, ln, sp, ok, ow in zip(u, v, length_m, speed, allowed, oneway, strict=True):
        if not ok:
            continue
        w = max(ln / (sp / 3.6), 0.01)
        for s, d in ((a, b), (b, a)) if not (ow and mode == "drive") else ((a, b),):
            if not g.has_edge(s, d) or g[s][d]["weight"] > w:
                g.add_edge(int(s), int(d), weight=w)
    return g


def main(argv: list[str]) -> int:
    roads_path, stations_path, demand_path, settings_path, out_dir = argv
    settings = json.loads(Path(settings_path).read_text(encoding="utf-8"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {"import_s": time.perf_counter() - T0}

    t = time.perf_counter()
    roads = gpd.read_file(roads_path, engine="pyogrio")
    crs = roads.estimate_utm_crs()
    roads = roads.to_crs(crs)
    stations = pd.read_csv(stations_path)
    demand = pd.read_csv(demand_path)
    timings["read_s"] = time.perf_counter() - t

    t = time.perf_counter()
    geoms = roads.geometry.values
    first = shapely.get_coordinates(shapely.get_point(geoms, 0))
    last = shapely.get_coordinates(shapely.get_point(geoms, -1))
    ends = np.round(np.vstack([first, last]), 2)
    xy, inverse = np.unique(ends, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    u, v = inverse[: len(roads)], inverse[len(roads) :]
    length_m = shapely.length(geoms)
    highway = roads["highway"].astype(str).to_numpy()
    maxspeed = pd.to_numeric(roads["maxspeed"], errors="coerce").to_numpy(dtype=float)
    oneway = roads["oneway"].astype(str).str.lower().isin(["yes", "true", "1"]).to_numpy()
    modes = sorted({s["mode"] for s in settings["standards"].values()})
    graphs = {
        m: build_graph(u, v, length_m, highway, maxspeed, oneway, xy, mode=m, speeds=settings["speeds_kph"][m], crs=crs)
        for m in modes
    }
    timings["graphs_s"] = time.perf_counter() - t

    t = time.perf_counter()
    to_m = gpd.GeoSeries.from_xy(stations["lon"], stations["lat"], crs="EPSG:4326").to_crs(crs)
    st_x, st_y = to_m.x.to_numpy(), to_m.y.to_numpy()
    to_m = gpd.GeoSeries.from_xy(demand["lon"], demand["lat"], crs="EPSG:4326").to_crs(crs)
    dm_x, dm_y = to_m.x.to_numpy(), to_m.y.to_numpy()
    walk_mps = settings["walk_speed_kph"] / 3.6
    nearest: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    for m, g in graphs.items():  # nearest node among nodes the mode can use
        sn, sd = ox.distance.nearest_nodes(g, st_x, st_y, return_dist=True)
        dn, dd = ox.distance.nearest_nodes(g, dm_x, dm_y, return_dist=True)
        nearest[m] = (np.asarray(sn), np.asarray(sd), np.asarray(dn), np.asarray(dd))
    timings["nearest_s"] = time.perf_counter() - t

    t = time.perf_counter()
    kinds = demand["kind"].astype(str).to_numpy() if "kind" in demand else np.full(len(demand), "")
    summary: dict[str, dict[str, float]] = {}
    for tier, std in settings["standards"].items():
        mode, limit_s = std["mode"], float(std["minutes"]) * 60.0
        serves = settings["tier_demand"][tier]
        mine = np.ones(len(demand), bool) if serves == "all" else (kinds == "enterprise") == (serves == "enterprise")
        sn, sd, dn, dd = nearest[mode]
        g = graphs[mode]
        best = {}
        for i in np.flatnonzero((stations["tier"].astype(str) == tier).to_numpy() & (sd <= settings["max_snap_m"])):
            access = sd[i] / walk_mps
            lengths = nx.single_source_dijkstra_path_length(g, int(sn[i]), cutoff=limit_s - access, weight="weight")
            for node, s in lengths.items():
                s += access
                if s < best.get(node, math.inf):
                    best[node] = s
        node_s = np.array([best.get(int(n), math.inf) for n in dn])
        time_s = np.where(dd <= settings["max_snap_m"], node_s + dd / walk_mps, math.inf)
        covered = mine & (time_s <= limit_s)
        table = demand.loc[mine].copy()
        table["minutes"] = np.where(np.isfinite(time_s[mine]), time_s[mine] / 60.0, np.nan)
        table["covered"] = covered[mine]
        table.to_csv(out / f"coverage_{tier}.csv", index=False)
        pop = demand["population"].to_numpy(dtype=float)
        summary[tier] = {
            "demand": int(mine.sum()),
            "covered": int(covered.sum()),
            "covered_population": float(pop[covered].sum()),
            "population": float(pop[mine].sum()),
        }
    timings["reach_s"] = time.perf_counter() - t
    (out / "summary.json").write_text(json.dumps({"tiers": summary, "timings": timings}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
