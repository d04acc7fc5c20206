"""Convert coordinates between WGS-84, CGCS2000, GCJ-02 (Amap/Tencent) and BD-09 (Baidu).

GCJ-02 is WGS-84 plus an obfuscating offset (about 100–700 m) computed on the
Krasovsky ellipsoid; BD-09 is a further rotation/shift of GCJ-02. The forward formulas
are the widely published ones; the GCJ-02 → WGS-84 inverse solves the forward map
iteratively (fixed point) to better than 1e-9 degrees (< 0.1 mm), instead of the common
one-step approximation that can be off by a few metres. CGCS2000 is treated as equal to
WGS-84 (they differ by centimetres). Everything works on scalars or NumPy arrays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from planner._errors import InputError

logger = logging.getLogger(__name__)

System = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
SYSTEMS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")
#: Input files that each have a coordinate system of their own.
FILE_ROLES: tuple[str, ...] = ("stations", "demand", "enterprises", "candidates")
#: The command-line option that sets each file's system (named in the offset warnings).
FILE_OPTIONS: dict[str, str] = {role: f"--{role}-coords" for role in FILE_ROLES}

#: Krasovsky 1940 ellipsoid used by GCJ-02: semi-major axis (m) and eccentricity squared.
KRASOVSKY_A_M = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323
#: BD-09 rotation constant.
X_PI = np.pi * 3000.0 / 180.0
#: GCJ-02 inverse: stop when the forward map reproduces the input to this (degrees).
INVERSE_TOLERANCE_DEG = 1e-10
INVERSE_MAX_ITERATIONS = 30

FloatArray = NDArray[np.float64]


def _out_of_china(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    """Rough bounding box outside which GCJ-02 equals WGS-84 (the published rule)."""
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_offset_deg(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at WGS-84 points; zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((KRASOVSKY_A_M * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (KRASOVSKY_A_M / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Forward GCJ-02 transform (points outside China are returned unchanged)."""
    dlon, dlat = _gcj_offset_deg(lon, lat)
    return lon + dlon, lat + dlat


def _fixed_point_inverse(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    lon: FloatArray,
    lat: FloatArray,
    *,
    start: tuple[FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(w) = (lon, lat)`` for ``w`` by iterating ``w <- w - (forward(w) - target)``.

    Works because both maps are the identity plus an offset that varies slowly (its
    derivative is well below 1 %), so each step gains about two orders of magnitude.
    """
    wlon, wlat = start[0].copy(), start[1].copy()
    for _ in range(INVERSE_MAX_ITERATIONS):
        flon, flat = forward(wlon, wlat)
        err_lon, err_lat = flon - lon, flat - lat
        wlon = wlon - err_lon
        wlat = wlat - err_lat
        err = np.fmax(np.abs(err_lon), np.abs(err_lat))
        if not np.any(err >= INVERSE_TOLERANCE_DEG):  # NaN compares False: NaN inputs stop too
            break
    return wlon, wlat


def gcj02_to_wgs84(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse GCJ-02 transform by fixed-point iteration (not the one-step approximation).

    Converges to :data:`INVERSE_TOLERANCE_DEG` (about 0.01 mm) in 3–5 iterations.
    """
    return _fixed_point_inverse(wgs84_to_gcj02, lon, lat, start=(lon, lat))


def gcj02_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 → BD-09 (published Baidu formula)."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: FloatArray, lat: FloatArray, *, refine: bool = True) -> tuple[FloatArray, FloatArray]:
    """BD-09 → GCJ-02.

    Starts from the published Baidu inverse formula, which is itself approximate (up to
    ~0.2 m off), and with ``refine`` polishes it by fixed-point iteration on
    :func:`gcj02_to_bd09` so that round trips agree to well below a millimetre.
    """
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    if refine:
        glon, glat = _fixed_point_inverse(gcj02_to_bd09, lon, lat, start=(glon, glat))
    return glon, glat


def _check_system(system: str) -> None:
    if system not in SYSTEMS:
        raise InputError("coords.unknown_system", value=system, systems="、".join(SYSTEMS))


def file_systems(
    coords: str | Mapping[str, str] = "wgs84",
    *,
    stations: str | None = None,
    demand: str | None = None,
    enterprises: str | None = None,
    candidates: str | None = None,
) -> dict[str, System]:
    """The coordinate system of each input file, from a default and per-file choices.

    Parameters
    ----------
    coords
        One system for every file (``--coords``), or a mapping from file role
        (:data:`FILE_ROLES`) to system; roles it leaves out are WGS-84.
    stations, demand, enterprises, candidates
        Per-file choices (``--stations-coords`` ...); each overrides ``coords`` for its file.

    Returns
    -------
    dict
        ``{"stations": ..., "demand": ..., "enterprises": ..., "candidates": ...}``.

    Raises
    ------
    InputError
        For an unknown system or file role.
    """
    if isinstance(coords, str):
        base = dict.fromkeys(FILE_ROLES, coords)
    else:
        unknown = [k for k in coords if k not in FILE_ROLES]
        if unknown:
            raise InputError("coords.unknown_file", value=unknown[0], files="、".join(FILE_ROLES))
        base = {role: coords.get(role, "wgs84") for role in FILE_ROLES}
    chosen = {"stations": stations, "demand": demand, "enterprises": enterprises, "candidates": candidates}
    out: dict[str, System] = {}
    for role in FILE_ROLES:
        system = chosen[role] or base[role]
        _check_system(system)
        out[role] = cast(System, system)
    return out


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray, bool]:
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    scalar = lon_a.ndim == 0 and lat_a.ndim == 0
    lon_b, lat_b = np.broadcast_arrays(np.atleast_1d(lon_a), np.atleast_1d(lat_a))
    return lon_b.astype(np.float64, copy=True), lat_b.astype(np.float64, copy=True), scalar


def _return(lon: FloatArray, lat: FloatArray, scalar: bool) -> tuple[FloatArray, FloatArray]:
    if scalar:
        return lon.reshape(()), lat.reshape(())
    return lon, lat


def to_wgs84(lon: ArrayLike, lat: ArrayLike, *, system: System) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates in ``system`` to WGS-84.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (scalars or arrays of the same shape).
    system
        ``"wgs84"`` / ``"cgcs2000"`` (returned unchanged), ``"gcj02"`` (Amap, Tencent)
        or ``"bd09"`` (Baidu).

    Returns
    -------
    tuple of numpy.ndarray
        WGS-84 longitude and latitude (0-d arrays for scalar input). NaN stays NaN.

    Raises
    ------
    InputError
        If ``system`` is not one of the four names.
    """
    _check_system(system)
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    if system == "bd09":
        lon_a, lat_a = bd09_to_gcj02(lon_a, lat_a)
    if system in ("gcj02", "bd09"):
        lon_a, lat_a = gcj02_to_wgs84(lon_a, lat_a)
    return _return(lon_a, lat_a, scalar)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, *, system: System) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 coordinates to ``system`` (inverse of :func:`to_wgs84`).

    Parameters
    ----------
    lon, lat
        WGS-84 longitude and latitude in degrees (scalars or arrays).
    system
        Target system: ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    tuple of numpy.ndarray
        Longitude and latitude in ``system``.
    """
    _check_system(system)
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    if system in ("gcj02", "bd09"):
        lon_a, lat_a = wgs84_to_gcj02(lon_a, lat_a)
    if system == "bd09":
        lon_a, lat_a = gcj02_to_bd09(lon_a, lat_a)
    return _return(lon_a, lat_a, scalar)
