"""Province-wide files split into counties: each row's county from its column or its polygon.

:func:`split_province` reads one road file, the county boundary polygons and the
province's station and demand sheets. Each row's county comes from its 所属县（市、区）
column (:data:`COUNTY_COLUMN`: a county's name or code), else from the polygon it falls
in (:func:`read_boundaries`); rows in no county are named in a warning (an error with
``strict``). The rows of each county are written unchanged to ``OUT/_inputs/<code>/`` and
every county reads the province's road file by bounding box (an OSM file is converted
once to ``OUT/_inputs/roads.gpkg``). The split is skipped when ``split.json`` holds the
same inputs' key. The result is the manifest form's ``list[CountyInputs]``
(:mod:`planner.batch.inputs`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._atomic import atomic_path, atomic_write
from planner._errors import InputError
from planner._text import csv_bytes
from planner.batch.inputs import (
    CODE_ALIASES,
    KEY_VERSION,
    NAME_ALIASES,
    check_roads_file,
    digest_json,
    file_digest,
    is_osm,
    report_duplicate_codes,
    safe_code,
)
from planner.batch.tasks import CountyInputs
from planner.i18n import t
from planner.inputs._decode import _cell, _load
from planner.inputs._validate import ColumnSpec, InputProblemsError, ProblemLog, header_field, normalise_header
from planner.inputs.limits import CLI_LIMITS, Limits, check_geopackage
from planner.inputs.tables import DEMAND_COLUMNS, ENTERPRISE_COLUMNS, STATION_COLUMNS, read_table

logger = logging.getLogger(__name__)

__all__ = [
    "BOUNDARY_COLUMNS",
    "COUNTY_COLUMN",
    "SPLIT_DIR",
    "SPLIT_RECORD",
    "province_limits",
    "read_boundaries",
    "split_province",
]

#: Columns of the county boundary polygons (province-wide form).
BOUNDARY_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("code", CODE_ALIASES, required=True),
    ColumnSpec("name", NAME_ALIASES, required=True),
)

#: The column of a province-wide sheet naming each row's county (by name or code).
COUNTY_COLUMN = ColumnSpec("county", ("所属县（市、区）", "所属县", "县（市、区）", "所属区县", "county"))

#: Folder of the province split inside the output folder, and the record written last.
SPLIT_DIR = "_inputs"
SPLIT_RECORD = "split.json"


def split_province(
    *,
    network: str | os.PathLike[str],
    counties: str | os.PathLike[str],
    stations: str | os.PathLike[str],
    demand: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    enterprises: str | os.PathLike[str] | None = None,
    coords: str = "wgs84",
    strict: bool = False,
    limits: Limits = CLI_LIMITS,
) -> list[CountyInputs]:
    """Split province-wide files into per-county inputs under ``out_dir/_inputs``.

    Parameters
    ----------
    network
        The province's road file (OSM or a line layer). An OSM file is converted once to
        ``_inputs/roads.gpkg`` (so that every county can read it by bounding box); a layer
        is used as it is.
    counties
        County boundary polygons (GeoPackage, GeoJSON, zipped shapefile) with a code and a
        name column (:data:`BOUNDARY_COLUMNS`).
    stations, demand, enterprises
        The province's sheets. A row's county is its :data:`COUNTY_COLUMN` value (a
        county's name or code) where the column exists and the cell is filled, else the
        county polygon holding its point.
    out_dir
        The batch's output folder.
    coords
        Coordinate system of the sheets; the rows are written unchanged, so the county
        tasks read them in the same system.
    strict
        Refuse rows that fall in no county (by default they are left out with a warning
        naming them).
    limits
        Limits on reading the files.

    Returns
    -------
    list of CountyInputs
        One per county polygon, in the polygons' order, with ``roads`` the province's road
        layer, ``stations``/``demand``/``enterprises`` the county's own rows
        (``_inputs/<code>/*.csv``), ``bounds`` and ``boundary_wkt`` from the polygon.

    Raises
    ------
    InputError
        Missing county columns, empty or duplicate codes, sheets the readers refuse, and
        (with ``strict``) rows in no county.
    NetworkError
        A missing or unreadable road file.
    """
    roads_in = check_roads_file(network)
    sheets = {"stations": stations, "demand": demand, **({"enterprises": enterprises} if enterprises else {})}
    for kind, sheet in sheets.items():
        if not Path(sheet).is_file():
            raise InputError("batch.sheet_missing", file=str(sheet), role=t(f"batch.role.{kind}"))
    if not Path(counties).is_file():
        raise InputError("batch.sheet_missing", file=str(counties), role=t("batch.role.counties"))
    split_dir = Path(out_dir) / SPLIT_DIR
    inputs = {"network": roads_in, "counties": Path(counties), **{k: Path(v) for k, v in sheets.items()}}
    key = digest_json(
        {
            "version": KEY_VERSION,
            "files": {role: file_digest(p) for role, p in inputs.items()},
            "coords": coords,
            "strict": strict,
        }
    )
    reused = _reuse_split(split_dir, key=key)
    if reused is not None:
        logger.info("%s: the split of the province's files is up to date", split_dir)
        return reused
    split_dir.mkdir(parents=True, exist_ok=True)
    bounds = read_boundaries(counties, limits=limits)
    roads = _province_roads(roads_in, split_dir=split_dir)
    polys = bounds.geometry.to_numpy()
    codes = bounds["code"].tolist()
    written: dict[str, dict[str, Path]] = {code: {} for code in codes}
    sheet_limits = province_limits(limits, counties=len(codes))
    for kind, sheet in sheets.items():
        parts = _split_sheet(sheet, kind=kind, boundaries=bounds, coords=coords, strict=strict, limits=sheet_limits)
        for code in codes:
            target = split_dir / safe_code(code) / f"{kind}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target, mode="wb") as fh:
                fh.write(csv_bytes(parts.get(code, parts[""])))
            written[code][kind] = target
    import shapely

    areas = shapely.area(polys)
    total_area = float(shapely.area(shapely.union_all(polys))) or 1.0
    roads_size = roads.stat().st_size
    out: list[CountyInputs] = []
    for i, code in enumerate(codes):
        files = written[code]
        own = sum(p.stat().st_size for p in files.values())
        minx, miny, maxx, maxy = (float(x) for x in shapely.bounds(polys[i]))
        out.append(
            CountyInputs(
                code=code,
                name=str(bounds["name"].iloc[i]),
                roads=str(roads),
                stations=str(files["stations"]),
                demand=str(files["demand"]),
                bounds=(minx, miny, maxx, maxy),
                boundary_wkt=shapely.to_wkt(polys[i], rounding_precision=7),
                enterprises=str(files["enterprises"]) if "enterprises" in files else None,
                size_bytes=own + round(roads_size * float(areas[i]) / total_area),
            )
        )
    record = {"key": key, "counties": [dataclasses.asdict(c) for c in out]}
    with atomic_write(split_dir / SPLIT_RECORD) as fh:
        json.dump(record, fh, ensure_ascii=False, indent=1)
    logger.info("%s: split into %d counties", split_dir, len(out))
    return out


def _reuse_split(split_dir: Path, *, key: str) -> list[CountyInputs] | None:
    """The counties of an earlier split with the same key whose files all still exist, else None."""
    record = split_dir / SPLIT_RECORD
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    try:
        out = [CountyInputs(**{**c, "bounds": tuple(c["bounds"])}) for c in data["counties"]]
    except (KeyError, TypeError):
        return None
    paths = [p for c in out for p in (c.roads, c.stations, c.demand, c.enterprises) if p]
    return out if all(Path(p).is_file() for p in paths) else None


def province_limits(limits: Limits, *, counties: int) -> Limits:
    """The row limits of a province-wide sheet: a county's limit times the number of counties.

    A county's station or demand sheet is bounded by ``limits``; the province's sheet
    holds every county's rows, so its bound grows with them (the other limits — bytes,
    columns, cell lengths — stay as they are).
    """
    n = max(1, counties)
    return limits.with_overrides({"station_rows": limits.station_rows * n, "demand_rows": limits.demand_rows * n})


def read_boundaries(path: str | os.PathLike[str], *, limits: Limits = CLI_LIMITS) -> Any:
    """County polygons as a GeoDataFrame ``code, name, geometry`` in WGS-84.

    Raises
    ------
    InputError
        An unreadable file, missing code or name columns, empty or duplicate codes, or
        features that are not polygons.
    """
    import pyogrio
    import shapely

    p = Path(path)
    file = str(path)
    if p.suffix.lower() == ".gpkg":
        check_geopackage(p, file=file, limits=limits)
    try:
        if p.suffix.lower() == ".zip":
            from planner.inputs.shapezip import open_shapefile_zip

            with open_shapefile_zip(p, member=None) as shp:
                gdf = pyogrio.read_dataframe(shp.path, encoding=shp.encoding)
        else:
            gdf = pyogrio.read_dataframe(p)
    except Exception as exc:  # pyogrio/GDAL raise several types for unreadable data
        raise InputError("inputs.bad_geo", file=file, reason=f"{type(exc).__name__}: {exc}"[:200]) from None
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    elif not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    log = ProblemLog(file, row_kind="feature")
    headers = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    from planner.inputs._validate import match_columns

    found = match_columns(headers, BOUNDARY_COLUMNS, log=log)
    log.raise_if_any()
    codes = [_cell(x).strip() for x in gdf[headers[found["code"]]]]
    names = [_cell(x).strip() for x in gdf[headers[found["name"]]]]
    rows = np.arange(1, len(gdf) + 1)
    if len(gdf) == 0:
        raise InputError("inputs.empty_geo", file=file)
    for label, values in (("code", codes), ("name", names)):
        empty = [int(r) for r, x in zip(rows, values, strict=True) if not x]
        if empty:
            log.add_rows("batch.manifest.empty_cell", rows=empty, column=headers[found[label]])
    report_duplicate_codes(log, codes=codes, rows=list(rows), column=headers[found["code"]])
    geoms = gdf.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    for i in np.flatnonzero(~polygonal):
        log.add("batch.not_polygon", row=int(rows[i]))
    log.raise_if_any()
    import geopandas as gpd

    return gpd.GeoDataFrame({"code": codes, "name": names}, geometry=shapely.make_valid(geoms), crs="EPSG:4326")


def _province_roads(path: Path, *, split_dir: Path) -> Path:
    """The road layer every county reads by bounding box: the file itself, or an OSM file converted once."""
    if not is_osm(path):
        return path
    from planner.network.load import load_network, network_to_geodataframe

    target = split_dir / "roads.gpkg"
    gdf = network_to_geodataframe(load_network(path))
    layer = gdf[["highway", "oneway", "maxspeed_kph", "name", "geometry"]].rename(columns={"maxspeed_kph": "maxspeed"})
    layer["oneway"] = np.where(layer["oneway"].to_numpy(dtype=bool), "yes", "no")
    with atomic_path(target) as tmp:
        layer.to_file(tmp, driver="GPKG", layer="roads", engine="pyogrio")
    logger.info("%s: converted to %s (%d segments)", path, target, len(layer))
    return target


def _split_sheet(
    path: str | os.PathLike[str],
    *,
    kind: str,
    boundaries: Any,
    coords: str,
    strict: bool,
    limits: Limits,
) -> dict[str, pd.DataFrame]:
    """A province-wide sheet's rows by county code, unchanged (``""``: the header-only table).

    The rows are checked by the sheet's own reader first (every problem reported at once);
    a geo file's point coordinates are written into its longitude/latitude columns.
    """
    read = read_table(path, kind=kind, coords=coords, limits=limits)  # type: ignore[arg-type]
    specs = {"stations": STATION_COLUMNS, "demand": DEMAND_COLUMNS, "enterprises": ENTERPRISE_COLUMNS}[kind]
    table, found, _log = _load(Path(path), specs, coords=coords, sheet=None, limits=limits, kind=kind)
    frame = table.frame.copy()
    headers = list(table.headers)
    if table.geom_lon is not None:
        assert table.geom_lat is not None
        for axis, values in (("lon", table.geom_lon), ("lat", table.geom_lat)):
            pos = found.get(axis)
            text = np.array([_cell(float(x)) for x in values], dtype=object)
            if pos is None:
                frame[len(headers)] = text
                headers.append("经度" if axis == "lon" else "纬度")
            else:
                frame[pos] = np.where(np.isfinite(values), text, frame[pos].to_numpy(dtype=object))
    frame.columns = pd.Index(headers, dtype=object)
    raw = np.searchsorted(table.row_numbers, read.frame["source_row"].to_numpy(dtype=np.int64))
    frame = frame.iloc[raw].reset_index(drop=True)
    rows = read.frame["source_row"].to_numpy(dtype=np.int64)
    county_pos = next((i for i, h in enumerate(table.headers) if header_field(h, (COUNTY_COLUMN,))), None)
    code_of = np.full(len(frame), "", dtype=object)
    unknown = np.zeros(len(frame), dtype=bool)
    if county_pos is not None:
        lookup = _county_lookup(boundaries)
        for i, cell in enumerate(frame.iloc[:, county_pos].astype(str).str.strip()):
            if cell:
                hit = lookup.get(normalise_header(cell))
                code_of[i] = hit or ""
                unknown[i] = hit is None
    by_point = _county_by_point(
        read.frame["lon"].to_numpy(dtype=np.float64), read.frame["lat"].to_numpy(dtype=np.float64), boundaries
    )
    code_of = np.where((code_of == "") & ~unknown, by_point, code_of)
    outside = code_of == ""
    if outside.any():
        _report_outside(
            path, kind=kind, rows=rows[outside], unknown=rows[unknown], strict=strict, row_kind=table.row_kind
        )
    parts = {code: frame.iloc[np.flatnonzero(code_of == code)].reset_index(drop=True) for code in np.unique(code_of)}
    parts.pop("", None)
    parts[""] = frame.iloc[0:0]
    logger.info("%s: %d rows over %d counties", path, len(frame) - int(outside.sum()), len(parts) - 1)
    return parts


def _county_lookup(boundaries: Any) -> dict[str, str]:
    """County code by normalised name or code (a code wins over a name spelled the same)."""
    lookup: dict[str, str] = {}
    for code, name in zip(boundaries["code"], boundaries["name"], strict=True):
        lookup.setdefault(normalise_header(name), code)
    for code in boundaries["code"]:
        lookup[normalise_header(code)] = code
    return lookup


def _county_by_point(lon: NDArray[np.float64], lat: NDArray[np.float64], boundaries: Any) -> NDArray[Any]:
    """Each point's county code by the polygon that holds it (the first, on a shared border), ``""`` for none."""
    import shapely

    out = np.full(len(lon), "", dtype=object)
    ok = np.isfinite(lon) & np.isfinite(lat)
    points = shapely.points(lon[ok], lat[ok])
    tree = shapely.STRtree(boundaries.geometry.to_numpy())
    pt, poly = tree.query(points, predicate="intersects")
    order = np.lexsort((poly, pt))
    pt, poly = pt[order], poly[order]
    first = np.unique(pt, return_index=True)[1]
    codes = boundaries["code"].to_numpy(dtype=object)
    idx = np.flatnonzero(ok)
    out[idx[pt[first]]] = codes[poly[first]]
    return out


def _report_outside(
    path: str | os.PathLike[str],
    *,
    kind: str,
    rows: NDArray[np.int64],
    unknown: NDArray[np.int64],
    strict: bool,
    row_kind: str,
) -> None:
    """Warn about (or, with ``strict``, refuse) rows in no county; unknown county names are named as such."""
    from planner.inputs._validate import Problem, row_ranges

    listed = row_ranges(rows.tolist(), max_spans=10)
    role = t(f"batch.role.{kind}")
    unknown_rows = row_ranges(unknown.tolist(), max_spans=10)
    if strict:
        problems = [Problem("batch.rows_outside", params={"role": role, "count": len(rows), "rows": listed})]
        if len(unknown):
            problems.append(Problem("batch.unknown_county", params={"rows": unknown_rows}))
        raise InputProblemsError(str(path), problems, row_kind=row_kind)
    logger.warning("%s", t("batch.rows_outside_warning", file=str(path), role=role, count=len(rows), rows=listed))
    if len(unknown):
        logger.warning("%s", t("batch.unknown_county_warning", file=str(path), rows=unknown_rows))
