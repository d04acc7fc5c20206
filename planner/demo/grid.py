"""Generated benchmark networks.

:func:`generate_grid_network` makes perturbed grid-like networks of 10k … 1M nodes for
benchmarks, fully vectorised; :func:`random_points_near` draws points near its roads.
They are placed at the demo county's origin and describe no real place.
"""

from __future__ import annotations

import math

import numpy as np
import pyproj
from numpy.typing import NDArray

from planner._errors import ConfigError
from planner.demo._common import ORIGIN_LAT, ORIGIN_LON, check_int, origin_xy
from planner.i18n import t
from planner.network.roads import RoadNetwork, road_class_codes, utm_crs_for

_GRID_CLASSES = ("primary", "secondary", "tertiary", "residential", "unclassified")


def generate_grid_network(*, n_nodes: int, seed: int = 0, spacing_m: float = 120.0) -> RoadNetwork:
    """Generate a perturbed grid-like road network of about ``n_nodes`` nodes, for benchmarks.

    Every 10th line is primary, every 5th secondary, every other tertiary, the rest
    residential or unclassified; about 7 % of minor segments are removed, some minor
    lines are one-way (alternating direction), and a few small separate grids are
    added as disconnected pieces. Fully vectorised.

    Parameters
    ----------
    n_nodes
        Target number of nodes (100 … 5,000,000).
    seed
        Random seed.
    spacing_m
        Grid spacing (metres).

    Returns
    -------
    RoadNetwork
        In the UTM zone of (116.2°E, 27.4°N).
    """
    check_int("n_nodes", n_nodes, 100, 5_000_000)
    if not (math.isfinite(spacing_m) and 5.0 <= spacing_m <= 5000.0):
        raise ConfigError("demo.bad_parameter", name="spacing_m", value=spacing_m, expected="5 … 5000")
    rng = np.random.default_rng(seed)
    n_islands = 3
    island_side = max(2, round(math.sqrt(n_nodes * 0.002)))
    side = max(3, round(math.sqrt(max(9, n_nodes - n_islands * island_side**2))))
    xs_list: list[NDArray[np.float64]] = []
    ys_list: list[NDArray[np.float64]] = []
    us: list[NDArray[np.int64]] = []
    vs: list[NDArray[np.int64]] = []
    cls_list: list[NDArray[np.int16]] = []
    ow_list: list[NDArray[np.bool_]] = []
    offset = 0
    codes = road_class_codes(list(_GRID_CLASSES))
    blocks = [(side, 0.0, 0.0)] + [
        (island_side, (side + 4 + k * (island_side + 4)) * spacing_m, -(island_side + 4) * spacing_m)
        for k in range(n_islands)
    ]
    for n_side, ox, oy in blocks:
        ii, jj = np.divmod(np.arange(n_side * n_side, dtype=np.int64), n_side)
        jitter = rng.uniform(-0.2, 0.2, (2, len(ii))) * spacing_m
        xs_list.append(ox + jj * spacing_m + jitter[0])
        ys_list.append(oy + ii * spacing_m + jitter[1])
        node = ii * n_side + jj
        # horizontal segments along row ii, vertical along column jj
        h = node[jj < n_side - 1]
        vv = node[ii < n_side - 1]
        hu, hv = h, h + 1
        vu, vvv = vv, vv + n_side
        line_h = h // n_side
        line_v = vv % n_side
        u = np.concatenate([hu, vu])
        v = np.concatenate([hv, vvv])
        line = np.concatenate([line_h, line_v])
        is_v = np.concatenate([np.zeros(len(hu), bool), np.ones(len(vu), bool)])
        rank = np.where(line % 10 == 0, 0, np.where(line % 5 == 0, 1, np.where(line % 2 == 0, 2, 3)))
        minor = rank == 3
        rank = np.where(minor & (rng.random(len(u)) < 0.3), 4, rank)
        cls_line = codes[rank]
        keep = ~((rank >= 3) & (rng.random(len(u)) < 0.07))
        oneway = (rank >= 3) & (line % 7 == 3)
        flip = oneway & (((line // 7) % 2) == 1)
        u2 = np.where(flip, v, u)
        v2 = np.where(flip, u, v)
        _ = is_v
        us.append(u2[keep] + offset)
        vs.append(v2[keep] + offset)
        cls_list.append(cls_line[keep])
        ow_list.append(oneway[keep])
        offset += n_side * n_side
    x = np.concatenate(xs_list)
    y = np.concatenate(ys_list)
    u = np.concatenate(us)
    v = np.concatenate(vs)
    used = np.zeros(len(x), bool)
    used[u] = True
    used[v] = True
    remap = np.cumsum(used) - 1
    x, y = x[used], y[used]
    u, v = remap[u], remap[v]
    crs = utm_crs_for(ORIGIN_LON, ORIGIN_LAT)
    x0, y0 = origin_xy(crs)
    xm = x + x0 - side * spacing_m / 2
    ym = y + y0 - side * spacing_m / 2
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xm, ym)
    cls_all = np.concatenate(cls_list)
    maxspeed = np.where(cls_all == codes[0], 60.0, np.where(cls_all == codes[1], 50.0, np.nan))
    return RoadNetwork.from_arrays(
        node_lon=lon,
        node_lat=lat,
        edge_u=u,
        edge_v=v,
        edge_class=cls_all,
        edge_oneway=np.concatenate(ow_list),
        edge_maxspeed_kph=maxspeed,
        crs=crs,
        node_x_m=xm,
        node_y_m=ym,
        source=t("demo.grid_source", n_nodes=n_nodes, seed=seed),
    )


def random_points_near(
    net: RoadNetwork, *, n: int, seed: int, max_offset_m: float = 100.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Draw ``n`` points near the roads of ``net`` (for benchmark stations / demand).

    A segment is chosen with probability proportional to its length, a position
    uniformly along it, and a sideways offset uniformly in ``±max_offset_m``.

    Returns
    -------
    tuple of ndarray
        ``(lon, lat)`` in WGS-84.
    """
    check_int("n", n, 1, 50_000_000)
    if not (math.isfinite(max_offset_m) and max_offset_m >= 0):
        raise ConfigError("demo.bad_parameter", name="max_offset_m", value=max_offset_m, expected=">= 0")
    rng = np.random.default_rng(seed)
    cum = np.cumsum(net.edge_length_m)
    e = np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), net.n_edges - 1)
    f = rng.random(n)
    ux, uy = net.node_x_m[net.edge_u[e]], net.node_y_m[net.edge_u[e]]
    dx, dy = net.node_x_m[net.edge_v[e]] - ux, net.node_y_m[net.edge_v[e]] - uy
    ln = np.hypot(dx, dy)
    ln[ln == 0] = 1.0
    off = rng.uniform(-max_offset_m, max_offset_m, n)
    px = ux + f * dx - off * dy / ln
    py = uy + f * dy + off * dx / ln
    return net.to_lonlat(px, py)


__all__ = [
    "generate_grid_network",
    "random_points_near",
]
