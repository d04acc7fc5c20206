"""Candidate sites and road-network coverage sets for siting.

The bridge between the road network and :mod:`planner.siting.models`: candidate sites along
the roads (thinned to a spacing), from a user file, or both, minus exclusion zones;
and for each candidate the set of demand points it reaches within the tier's
standard — a sparse demand × candidate matrix built from bounded per-candidate
shortest paths (:func:`planner.network.reach.times_by_source`), never a dense matrix.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray

from planner._errors import SitingError
from planner.i18n import t
from planner.network.reach import times_by_source
from planner.network.roads import TravelGraph
from planner.network.snapping import Snap, snap_points

logger = logging.getLogger(__name__)

#: Default spacing of candidate sites along the roads (metres).
CANDIDATE_SPACING_M: float = 200.0


def road_candidates(
    graph: TravelGraph,
    *,
    spacing_m: float = CANDIDATE_SPACING_M,
    exclude: gpd.GeoDataFrame | None = None,
    prefix: str = "R",
    max_candidates: int | None = None,
) -> pd.DataFrame:
    """Candidate sites on the roads usable by ``graph``'s mode, about ``spacing_m`` apart.

    Points are laid along every usable segment every ``spacing_m / 4`` metres, then
    thinned to one per ``spacing_m`` grid cell (the point nearest the cell centre),
    which spaces them evenly along roads of any segment length. With
    ``max_candidates`` the spacing widens until no more than that many remain.

    Returns
    -------
    pandas.DataFrame
        ``id, name, lon, lat, source`` (``source = "road"``).
    """
    if not (np.isfinite(spacing_m) and spacing_m > 0):
        raise SitingError("siting.error.bad_option", name="spacing_m", value=spacing_m)
    spacing = float(spacing_m)
    while True:
        x, y = _thinned_road_points(graph, spacing)
        if max_candidates is None or len(x) <= max(int(max_candidates), 1):
            break
        spacing *= float(np.sqrt(len(x) / max(int(max_candidates), 1))) * 1.05
    if spacing > spacing_m:
        logger.info("candidate spacing widened from %.0f m to %.0f m", spacing_m, spacing)
    lon, lat = graph.network.to_lonlat(x, y)
    df = pd.DataFrame({"lon": lon, "lat": lat})
    df = _exclude(df, exclude)
    df.insert(0, "id", [f"{prefix}{i + 1:05d}" for i in range(len(df))])
    df.insert(1, "name", df["id"])
    df["source"] = "road"
    return df.reset_index(drop=True)


def _thinned_road_points(graph: TravelGraph, spacing_m: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points along usable roads, one per ``spacing_m`` grid cell (metric CRS)."""
    net = graph.network
    e = np.flatnonzero(graph.edge_allowed)
    step = spacing_m / 4.0
    n_pts = np.maximum(1, np.ceil(net.edge_length_m[e] / step).astype(np.int64))
    rep = np.repeat(e, n_pts)
    offs = np.arange(n_pts.sum()) - np.repeat(np.cumsum(n_pts) - n_pts, n_pts)
    frac = (offs + 0.5) / np.repeat(n_pts, n_pts)
    ux, uy = net.node_x_m[net.edge_u[rep]], net.node_y_m[net.edge_u[rep]]
    x = ux + frac * (net.node_x_m[net.edge_v[rep]] - ux)
    y = uy + frac * (net.node_y_m[net.edge_v[rep]] - uy)
    cx = np.floor(x / spacing_m)
    cy = np.floor(y / spacing_m)
    d2 = (x - (cx + 0.5) * spacing_m) ** 2 + (y - (cy + 0.5) * spacing_m) ** 2
    order = np.lexsort((d2, cy, cx))
    cell = np.stack([cx[order], cy[order]], axis=1)
    first = np.ones(len(order), bool)
    first[1:] = np.any(cell[1:] != cell[:-1], axis=1)
    keep = order[first]
    keep.sort()
    return x[keep], y[keep]


def demand_candidates(demand: pd.DataFrame) -> pd.DataFrame:
    """Demand locations as candidate sites (ids prefixed with ``@``)."""
    names = demand["name"].astype(str) if "name" in demand else demand["id"].astype(str)
    return pd.DataFrame(
        {
            "id": ("@" + demand["id"].astype(str)).to_numpy(object),
            "name": names.to_numpy(object),
            "lon": demand["lon"].to_numpy(float),
            "lat": demand["lat"].to_numpy(float),
            "source": "demand",
        }
    )


def coverage_sets(
    graph: TravelGraph, *, candidates: pd.DataFrame, targets: Snap, limit_s: float, max_snap_m: float
) -> tuple[sp.csr_matrix, pd.DataFrame]:
    """Sparse ``targets × candidates`` matrix: which candidate reaches which target in time.

    Candidates farther than ``max_snap_m`` from a usable road are dropped (logged);
    the returned table holds the kept candidates, aligned with the matrix columns.
    """
    c_snap = snap_points(
        graph, lon=candidates["lon"].to_numpy(float), lat=candidates["lat"].to_numpy(float), max_snap_m=max_snap_m
    )
    on = c_snap.on_network
    if not on.all():
        logger.warning("%s", t("siting.candidates_dropped", count=int((~on).sum()), max_snap_m=f"{max_snap_m:.0f}"))
    if not on.any():
        raise SitingError("siting.error.no_candidates")
    keep = np.flatnonzero(on)
    kept = candidates.iloc[keep].reset_index(drop=True)
    c_snap = c_snap.subset(keep)
    src_parts, tgt_parts = [], []
    for s_i, t_i, _secs in times_by_source(graph, sources=c_snap, targets=targets, limit_s=limit_s):
        src_parts.append(s_i)
        tgt_parts.append(t_i)
    src = np.concatenate(src_parts) if src_parts else np.zeros(0, np.int64)
    tgt = np.concatenate(tgt_parts) if tgt_parts else np.zeros(0, np.int64)
    cover = sp.csr_matrix((np.ones(len(src), bool), (tgt, src)), shape=(len(targets), len(kept)))
    return cover, kept


def _exclude(df: pd.DataFrame, exclude: gpd.GeoDataFrame | None) -> pd.DataFrame:
    if exclude is None or len(exclude) == 0 or len(df) == 0:
        return df
    zone = shapely.union_all(exclude.to_crs("EPSG:4326").geometry.to_numpy())
    inside = shapely.contains_xy(zone, df["lon"].to_numpy(float), df["lat"].to_numpy(float))
    logger.info("excluded %d candidate sites inside exclusion zones", int(inside.sum()))
    kept: pd.DataFrame = df.loc[~inside].reset_index(drop=True)
    return kept


def combine_candidates(*frames: pd.DataFrame | None, exclude: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Concatenate candidate tables (user file first), drop exclusion zones, check ids."""
    parts = [f for f in frames if f is not None and len(f)]
    if not parts:
        raise SitingError("siting.error.no_candidates")
    df = pd.concat(parts, ignore_index=True)
    df["id"] = df["id"].astype(str)
    if df["id"].duplicated().any():
        dup = df.loc[df["id"].duplicated(), "id"].head(5).tolist()
        raise SitingError("site.duplicate_candidates", ids=", ".join(dup))
    df = _exclude(df, exclude)
    if len(df) == 0:
        raise SitingError("siting.error.no_candidates")
    return df


def nearest_label(d: pd.DataFrame, labels: NDArray[np.object_], cands: pd.DataFrame) -> pd.Series:
    """Label of the nearest demand point (straight line), for candidates without a township."""
    if len(d) == 0:
        return pd.Series("", index=cands.index, dtype=object)
    from scipy.spatial import cKDTree

    lat0 = np.deg2rad(float(d["lat"].mean()))
    tree = cKDTree(np.column_stack([d["lon"].to_numpy(float) * np.cos(lat0), d["lat"].to_numpy(float)]))
    _, idx = tree.query(np.column_stack([cands["lon"].to_numpy(float) * np.cos(lat0), cands["lat"].to_numpy(float)]))
    return pd.Series(labels[idx], index=cands.index, dtype=object)
