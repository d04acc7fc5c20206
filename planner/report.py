"""Reports and exports of coverage results: CSV, JSON and GeoPackage, written atomically.

``write_coverage_outputs`` writes into a temporary folder beside the destination and
moves the files into place only when everything succeeded, so a failed run never
leaves half-written outputs or clobbers a previous good run.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from planner._atomic import atomic_output_dir
from planner.coverage import CoverageResult
from planner.i18n import t

logger = logging.getLogger(__name__)

#: Columns of ``demand.csv`` in order (the first six are the documented contract).
DEMAND_COLUMNS: tuple[str, ...] = (
    "id",
    "tier",
    "minutes",
    "station_id",
    "covered",
    "snap_m",
    "name",
    "township",
    "population",
    "status",
    "interval_min",
    "beyond_min",
    "on_main_network",
    "lon",
    "lat",
)


def _json_default(o: object) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if math.isnan(float(o)) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, Path):
        return str(o)
    msg = f"not JSON serialisable: {type(o).__name__}"
    raise TypeError(msg)


def _clean_json(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _clean_json(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean_json(v) for v in o]
    if isinstance(o, float) and (math.isnan(o) or math.isinf(o)):
        return None
    return o


def demand_table(result: CoverageResult) -> pd.DataFrame:
    """The per demand × tier table in the documented column order."""
    d = result.demand
    cols = [c for c in DEMAND_COLUMNS if c in d]
    return d[cols]


def demand_layer(result: CoverageResult) -> gpd.GeoDataFrame:
    """Demand points with results (one feature per demand point and tier)."""
    d = demand_table(result).copy()
    d["covered"] = d["covered"].astype("object").where(d["covered"].notna(), None)
    return gpd.GeoDataFrame(d, geometry=gpd.points_from_xy(d["lon"], d["lat"]), crs="EPSG:4326")


def station_layer(result: CoverageResult) -> gpd.GeoDataFrame:
    """Stations with snap distances and loads."""
    s = result.stations.copy()
    return gpd.GeoDataFrame(s, geometry=gpd.points_from_xy(s["lon"], s["lat"]), crs="EPSG:4326")


def layer_names() -> dict[str, str]:
    """GeoPackage layer names in the active language."""
    return {k: t(f"report.layer.{k}") for k in ("demand", "stations", "isochrones", "station_isochrones", "areas")}


def write_coverage_outputs(
    result: CoverageResult,
    *,
    out_dir: str | Path,
    isochrones: gpd.GeoDataFrame | None = None,
    station_isochrones: gpd.GeoDataFrame | None = None,
    extra_summary: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``demand.csv``, ``summary.json``, ``areas.csv``, ``gaps.csv``, ``coverage.gpkg``.

    CSV files are UTF-8 with BOM so that Excel on Chinese Windows opens them correctly.

    Parameters
    ----------
    result
        Output of :func:`planner.coverage.analyse`.
    out_dir
        Destination folder (created; files of the same name are replaced atomically).
    isochrones, station_isochrones
        Tier-union and per-station polygons (EPSG:4326).
    extra_summary
        Added to ``summary.json`` (e.g. input file names, timings).

    Returns
    -------
    dict
        Output name → final path.
    """
    out = Path(out_dir)
    names = layer_names()
    written: dict[str, Path] = {}
    summary = dict(result.summary)
    if extra_summary:
        summary.update(extra_summary)
    with atomic_output_dir(out) as tmp:
        demand_table(result).to_csv(tmp / "demand.csv", index=False, encoding="utf-8-sig")
        result.areas.to_csv(tmp / "areas.csv", index=False, encoding="utf-8-sig")
        result.gaps.to_csv(tmp / "gaps.csv", index=False, encoding="utf-8-sig")
        result.stations.to_csv(tmp / "stations.csv", index=False, encoding="utf-8-sig")
        (tmp / "summary.json").write_text(
            json.dumps(_clean_json(summary), ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8"
        )
        gpkg = tmp / "coverage.gpkg"
        pyogrio.write_dataframe(demand_layer(result), gpkg, layer=names["demand"], driver="GPKG")
        pyogrio.write_dataframe(station_layer(result), gpkg, layer=names["stations"], driver="GPKG", append=True)
        if isochrones is not None and len(isochrones):
            pyogrio.write_dataframe(isochrones, gpkg, layer=names["isochrones"], driver="GPKG", append=True)
        if station_isochrones is not None and len(station_isochrones):
            pyogrio.write_dataframe(
                station_isochrones, gpkg, layer=names["station_isochrones"], driver="GPKG", append=True
            )
        written = {p.name: out / p.name for p in tmp.iterdir()}
    logger.info("wrote %s", ", ".join(sorted(written)))
    return written
