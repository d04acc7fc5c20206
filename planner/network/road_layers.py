"""Read GIS road line layers (GeoPackage, shapefile, zipped shapefile, GeoJSON, FlatGeobuf) into a road network.

The reader ends in :meth:`planner.network.roads.RoadNetwork.from_arrays`. Road classes
map onto the OSM classes of :data:`planner.network.osm.KEPT_HIGHWAYS` and speeds are
parsed by :func:`planner.network.osm.parse_maxspeed`, as for OSM files.
:func:`planner.network.load.load_network` uses it for the suffixes in :data:`LAYER_SUFFIXES`.

Line layers (``.gpkg``, ``.shp``, ``.geojson``, ``.json``, ``.fgb``) are read with
pyogrio; a ``.zip`` holding one shapefile set is checked and extracted by
:func:`planner.inputs.shapezip.open_shapefile_zip` first (its ``.dbf`` text read as the
``.cpg`` says, else UTF-8 or GBK), and a layer without a CRS is read as for the other
formats below. A road class column is required (see :data:`CLASS_COLUMNS`); Chinese road
classes are mapped by :data:`CHINESE_CLASSES`. Nodes are the unique vertices after
snapping to a :data:`VERTEX_TOLERANCE_M` grid in a metric CRS (the layer's own CRS
when it is projected in metres, else the UTM zone of the data), so lines that share a
vertex connect. (Two vertices a few millimetres apart that straddle a grid line stay
apart; real shared vertices are bit-identical or far closer.) Lines that merely cross
without a shared vertex do **not** connect: that is how GIS road layers draw bridges
and tunnels.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from planner._errors import NetworkError
from planner.i18n import t
from planner.inputs._validate import read_failure
from planner.inputs.limits import CLI_LIMITS, Limits, check_geopackage
from planner.inputs.shapezip import open_shapefile_zip
from planner.network.osm import KEPT_HIGHWAYS, parse_maxspeed
from planner.network.roads import RoadNetwork, utm_crs_for
from planner.settings import ROAD_CLASSES

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)

#: File name endings read as GIS line layers (pyogrio).
LAYER_SUFFIXES: tuple[str, ...] = (".gpkg", ".shp", ".zip", ".geojson", ".json", ".fgb")

#: Accepted names of a line layer's road class column, in order of preference.
CLASS_COLUMNS: tuple[str, ...] = ("highway", "fclass", "道路等级", "等级", "class", "type")
#: Accepted names of the optional one-way, speed and name columns.
ONEWAY_COLUMNS: tuple[str, ...] = ("oneway", "one_way", "单行", "单向", "单行线")
MAXSPEED_COLUMNS: tuple[str, ...] = ("maxspeed", "max_speed", "限速", "最高限速")
NAME_COLUMNS: tuple[str, ...] = ("name", "名称", "道路名称", "路名", "name_zh")

#: Chinese road classes (公路等级 and 城市道路等级) → OSM highway class.
CHINESE_CLASSES: dict[str, str] = {
    "高速公路": "motorway",
    "高速": "motorway",
    "城市快速路": "trunk",
    "快速路": "trunk",
    "国道": "trunk",
    "省道": "primary",
    "县道": "secondary",
    "乡道": "tertiary",
    "村道": "unclassified",
    "专用公路": "service",
    "城市主干道": "primary",
    "主干道": "primary",
    "主干路": "primary",
    "城市次干道": "secondary",
    "次干道": "secondary",
    "次干路": "secondary",
    "支路": "residential",
    "城市支路": "residential",
    "步行道": "footway",
    "人行道": "footway",
    "步行街": "pedestrian",
    "自行车道": "cycleway",
    "机耕路": "track",
}

#: One-way column values (lower-cased). ``F``/``T``/``B`` follow the Geofabrik
#: shapefile convention (T = travel against the digitised direction only); ``FT``/``TF``
#: the ESRI one.
_LAYER_ONEWAY_FORWARD = frozenset({"yes", "y", "true", "1", "1.0", "ft", "f", "是"})
_LAYER_ONEWAY_REVERSE = frozenset({"-1", "-1.0", "tf", "t", "reverse"})

#: Vertices closer than this (metres, in a metric CRS) are the same node.
VERTEX_TOLERANCE_M = 0.01


def _find_column(columns: Sequence[str], aliases: Sequence[str]) -> str | None:
    lowered = {str(c).strip().lower(): str(c) for c in columns}
    for alias in aliases:
        hit = lowered.get(alias.lower())
        if hit is not None:
            return hit
    return None


def _layer_class(value: object) -> str | None:
    """Map one class-column value to a road class (None when unknown)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    s = str(value).strip()
    if s in CHINESE_CLASSES:
        return CHINESE_CLASSES[s]
    low = s.lower().replace(" ", "_")
    if low in KEPT_HIGHWAYS:
        return KEPT_HIGHWAYS[low]
    if low.startswith("track_grade"):  # Geofabrik shapefiles
        return "track"
    return None


def _layer_oneway(values: pd.Series) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    text = values.astype("string").str.strip().str.lower().fillna("")
    fwd = text.isin(_LAYER_ONEWAY_FORWARD).to_numpy(dtype=bool)
    rev = text.isin(_LAYER_ONEWAY_REVERSE).to_numpy(dtype=bool)
    return fwd | rev, rev


def _layer_maxspeed(values: pd.Series) -> NDArray[np.float64]:
    text = values.astype("string").fillna("")
    codes, uniques = pd.factorize(text)
    parsed = np.array([parse_maxspeed(str(x)) for x in uniques] + [math.nan], dtype=np.float64)
    return parsed[codes]  # code -1 (missing) picks the trailing NaN


def _read_layer(
    path: Path,
    *,
    file: str,
    layer: str | int | None,
    encoding: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """One layer of a GIS file as a GeoDataFrame; ``file`` names it in messages.

    ``bbox`` (in the layer's coordinates) keeps the features that meet it, through the
    file's spatial index where it has one.
    """
    import pyogrio

    try:
        layers = [str(x[0]) for x in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, OSError, ValueError) as exc:
        raise read_failure(exc, path=path, file=file) or NetworkError(
            "osm.unreadable", file=file, error=str(exc)
        ) from exc
    if isinstance(layer, str) and layer not in layers:
        raise NetworkError("osm.layer_not_found", file=file, layer=layer, layers=", ".join(layers))
    try:
        gdf: gpd.GeoDataFrame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding, bbox=bbox)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as exc:
        raise read_failure(exc, path=path, file=file) or NetworkError(
            "osm.unreadable", file=file, error=str(exc)
        ) from exc
    return gdf


def _load_layer(
    path: Path,
    *,
    bbox: tuple[float, float, float, float] | None,
    source: str,
    layer: str | int | None,
) -> RoadNetwork:
    if path.suffix.lower() == ".zip":  # ``layer`` names the .shp set inside
        with open_shapefile_zip(path, member=layer, error=NetworkError) as shp:
            return _network_from_layer(
                _read_layer(shp.path, file=shp.file, layer=None, encoding=shp.encoding),
                file=shp.file,
                bbox=bbox,
                source=source,
            )
    return _network_from_layer(_read_layer(path, file=str(path), layer=layer), file=str(path), bbox=bbox, source=source)


def load_layer_features(
    path: Path,
    *,
    bbox: tuple[float, float, float, float],
    source: str,
    layer: str | int | None = None,
    limits: Limits = CLI_LIMITS,
) -> RoadNetwork:
    """Every segment of the road features of a line layer that meet ``bbox``, whole.

    Unlike ``load_network(bbox=...)``, which cuts the roads at the box, a feature that
    crosses the box comes with all its segments: a batch county sees which roads its
    halo cuts off (:mod:`planner.batch.halo`). ``bbox`` is in WGS-84 degrees and is
    converted to the layer's coordinate system.

    Raises
    ------
    NetworkError
        As :func:`planner.network.load.load_network`; ``osm.no_highways`` when no feature meets the box.
    """
    import pyogrio

    file = str(path)
    if path.suffix.lower() == ".gpkg":
        check_geopackage(path, file=file, limits=limits, error=NetworkError)
    try:
        info = pyogrio.read_info(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as exc:
        raise read_failure(exc, path=path, file=file) or NetworkError(
            "osm.unreadable", file=file, error=str(exc)
        ) from exc
    box = bbox
    if info.get("crs") and not pyproj.CRS.from_user_input(info["crs"]).equals(pyproj.CRS.from_epsg(4326)):
        tr = pyproj.Transformer.from_crs("EPSG:4326", info["crs"], always_xy=True)
        box = tuple(float(c) for c in tr.transform_bounds(*bbox))  # type: ignore[assignment]
    gdf = _read_layer(path, file=file, layer=layer, bbox=box)
    if len(gdf) == 0:
        raise NetworkError("osm.no_highways", file=file, count=0)
    return _network_from_layer(gdf, file=file, bbox=None, source=source)


def _network_from_layer(
    gdf: gpd.GeoDataFrame,
    *,
    file: str,
    bbox: tuple[float, float, float, float] | None,
    source: str,
) -> RoadNetwork:
    """The road network of a line layer; ``file`` names it in messages."""
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    class_col = _find_column(columns, CLASS_COLUMNS)
    if class_col is None:
        raise NetworkError(
            "osm.no_class_column", file=file, aliases=", ".join(CLASS_COLUMNS), columns=", ".join(columns)
        )
    geoms = gdf.geometry.to_numpy()
    parts, row = shapely.get_parts(geoms, return_index=True)
    is_line = shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING
    if not is_line.any():
        types = sorted({str(g) for g in gdf.geometry.geom_type.dropna().unique()})
        raise NetworkError("osm.no_lines", file=file, geom_types=", ".join(types) or "-")
    if not is_line.all():
        logger.warning("%s: ignored %d non-line geometries", source, int((~is_line).sum()))
    parts, row = parts[is_line], row[is_line]
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        raise NetworkError("osm.no_highways", file=file, count=len(gdf))

    # --- road class, one-way, speed, name per feature
    codes, uniques = pd.factorize(gdf[class_col])
    mapped = [_layer_class(x) for x in uniques]
    class_index = {c: i for i, c in enumerate(ROAD_CLASSES)}
    unclassified = class_index["unclassified"]
    lut = np.array([unclassified if c is None else class_index[c] for c in mapped] + [unclassified], dtype=np.int16)
    known = np.array([c is not None for c in mapped] + [False], dtype=bool)
    unknown = ~known[codes]  # code -1 (empty cell) picks the trailing entry
    if unknown.any():
        examples = ", ".join(str(x) for x in pd.unique(gdf.loc[unknown, class_col].astype(str))[:5])
        logger.warning(
            "%s",
            t("osm.unknown_classes", file=file, column=class_col, count=int(unknown.sum()), examples=examples),
        )
    feat_class = lut[codes]
    ow_col = _find_column(columns, ONEWAY_COLUMNS)
    n_feat = len(gdf)
    if ow_col is not None:
        feat_oneway, feat_rev = _layer_oneway(gdf[ow_col])
    else:
        feat_oneway, feat_rev = np.zeros(n_feat, bool), np.zeros(n_feat, bool)
    sp_col = _find_column(columns, MAXSPEED_COLUMNS)
    feat_speed = _layer_maxspeed(gdf[sp_col]) if sp_col is not None else np.full(n_feat, np.nan)
    nm_col = _find_column(columns, NAME_COLUMNS)
    feat_name = (
        gdf[nm_col].astype("string").fillna("").to_numpy(dtype=object)
        if nm_col is not None
        else np.full(n_feat, "", dtype=object)
    )

    # --- coordinates: WGS-84 and a metric CRS for vertex matching
    crs = gdf.crs
    x, y = coords[:, 0], coords[:, 1]
    if crs is None:
        if np.abs(x).max() <= 180 and np.abs(y).max() <= 90:
            logger.warning("%s", t("osm.assumed_wgs84", file=source))
            crs = pyproj.CRS.from_epsg(4326)
        else:
            raise NetworkError("osm.no_crs", file=file)
    crs = pyproj.CRS.from_user_input(crs)
    if crs.equals(pyproj.CRS.from_epsg(4326)):
        lon, lat = x, y
    else:
        lon, lat = (
            np.asarray(a, dtype=np.float64)
            for a in pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        )
    metric = crs.is_projected and all((ax.unit_name or "").lower() in {"metre", "meter"} for ax in crs.axis_info[:2])
    if metric:
        mx, my = x, y
    else:
        utm = utm_crs_for(float(np.median(lon)), float(np.median(lat)))
        mx, my = (
            np.asarray(a, dtype=np.float64)
            for a in pyproj.Transformer.from_crs("EPSG:4326", utm, always_xy=True).transform(lon, lat)
        )
    key = np.stack([np.round(mx / VERTEX_TOLERANCE_M), np.round(my / VERTEX_TOLERANCE_M)], axis=1).astype(np.int64)

    # --- segments between consecutive vertices of one part
    ok: NDArray[np.bool_] = np.asarray(np.isfinite(lon) & np.isfinite(lat), dtype=bool)
    if bbox is not None:
        ok &= (lon >= bbox[0]) & (lon <= bbox[2]) & (lat >= bbox[1]) & (lat <= bbox[3])
    pair = np.flatnonzero((part_of[:-1] == part_of[1:]) & ok[:-1] & ok[1:])
    if len(pair) == 0:
        raise NetworkError("osm.no_highways", file=file, count=len(gdf))
    ends = np.concatenate([pair, pair + 1])
    _, first, inv = np.unique(key[ends], axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    m = len(pair)
    u, v = inv[:m], inv[m:]
    feat = row[part_of[pair]]
    rev = feat_rev[feat]
    u, v = np.where(rev, v, u), np.where(rev, u, v)
    first_pos = ends[first]
    return RoadNetwork.from_arrays(
        node_lon=lon[first_pos],
        node_lat=lat[first_pos],
        edge_u=u,
        edge_v=v,
        edge_class=feat_class[feat],
        edge_oneway=feat_oneway[feat],
        edge_maxspeed_kph=feat_speed[feat],
        edge_name=feat_name[feat],
        source=source,
    )
