"""The generated province's layout and roads: county rectangles and one perturbed grid.

:func:`county_cells` lays the counties out as rectangles of grid cells (squarified strips,
sizes by road nodes); :func:`build_grid` builds the perturbed road grid over them (classes
by grid line; at a county border only primary and secondary lines continue) and
:func:`road_pieces` chains its segments into road features. Used by
:mod:`planner.demo.province`, which adds people and stations and writes the files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from planner.demo._builder import MAXSPEED_KPH

#: Distance between neighbouring grid nodes (metres).
GRID_SPACING_M: float = 100.0
#: Node jitter, as a fraction of the spacing (nodes stay inside their county's cells).
JITTER_SHARE: float = 0.2
#: The layout keeps what is left of the region at most this elongated (see :func:`_squarify`).
MAX_REST_ASPECT: float = 4.0
#: Grid lines: primary every 24th, secondary every 8th, tertiary every 4th; the rest minor.
_LINE_STEPS: tuple[tuple[int, int], ...] = ((24, 12), (8, 4), (4, 2))
_CLASSES: tuple[str, ...] = ("primary", "secondary", "tertiary", "residential", "unclassified")
_ROAD_PREFIX: tuple[str, ...] = ("S", "X", "Y")


def _worst(areas: NDArray[np.float64], side: float) -> float:
    """The worst aspect ratio of a strip of ``areas`` along a side of length ``side``."""
    s = float(areas.sum())
    return max(side * side * float(areas.max()) / (s * s), s * s / (side * side * float(areas.min())))


def _squarify(areas: NDArray[np.float64], width: float, height: float) -> NDArray[np.float64]:
    """Rectangles ``(x0, y0, x1, y1)`` of the given areas (sorted descending) tiling about ``width × height``.

    Strips along the shorter side of what is left (Bruls, Huizing and van Wijk's squarified
    layout): the rectangles of a strip share its thickness and take lengths by area. When
    what is left becomes a sliver (a few small counties after large ones), it is made
    squarer (:data:`MAX_REST_ASPECT`) and sticks out of the region, leaving a notch, so
    no county is a thin strip. Shared edges are the same float, so rounding them keeps
    the tiling.
    """
    n = len(areas)
    rects = np.zeros((n, 4))
    x0, y0, xe, ye = 0.0, 0.0, width, height  # what is left: [x0, xe] × [y0, ye]
    i = 0
    while i < n:
        w, h = xe - x0, ye - y0
        if max(w / h, h / w) > MAX_REST_ASPECT:
            rest = float(areas[i:].sum())
            long_side = math.sqrt(rest * MAX_REST_ASPECT)
            if w > h:
                xe, ye = x0 + long_side, y0 + rest / long_side
            else:
                xe, ye = x0 + rest / long_side, y0 + long_side
            w, h = xe - x0, ye - y0
        side = min(w, h)
        j = i + 1
        while j < n and _worst(areas[i : j + 1], side) <= _worst(areas[i:j], side):
            j += 1
        row = areas[i:j]
        cum = np.concatenate([[0.0], np.cumsum(row) / row.sum()])
        last = j == n
        if w >= h:  # a column at the left of what is left, rectangles stacked upwards
            x1 = xe if last else x0 + float(row.sum()) / h
            ys = y0 + cum * h
            ys[-1] = ye
            rects[i:j] = np.column_stack([np.full(len(row), x0), ys[:-1], np.full(len(row), x1), ys[1:]])
            x0 = x1
        else:  # a row at the bottom of what is left, rectangles side by side
            y1 = ye if last else y0 + float(row.sum()) / w
            xs = x0 + cum * w
            xs[-1] = xe
            rects[i:j] = np.column_stack([xs[:-1], np.full(len(row), y0), xs[1:], np.full(len(row), y1)])
            y0 = y1
        i = j
    return rects


def _county_cells(target: NDArray[np.int64]) -> tuple[NDArray[np.int64], int, int]:
    """Integer node rectangles ``(c0, r0, c1, r1)`` per county (columns / rows, end exclusive)."""
    side = math.sqrt(float(target.sum()))
    by_size = np.argsort(-target, kind="stable")
    rects = np.rint(_squarify(target[by_size].astype(np.float64), side, side)).astype(np.int64)
    cells = np.empty_like(rects)
    cells[by_size] = rects
    return cells, int(cells[:, 2].max()), int(cells[:, 3].max())


def _county_polygon(cell: NDArray[np.int64], cols: NDArray[np.int64], rows: NDArray[np.int64]) -> shapely.Polygon:
    """A county's cells as a polygon in local metres, with a vertex at every corner column/row it passes.

    Every county edge gets the same vertices where it meets a neighbour (all corners of all
    counties are in ``cols``/``rows``), so the polygons still tile the province exactly
    once converted to WGS-84.
    """
    c0, r0, c1, r1 = (int(v) for v in cell)
    xc = cols[(cols >= c0) & (cols <= c1)]
    yr = rows[(rows >= r0) & (rows <= r1)]
    ring = np.concatenate(
        [
            np.column_stack([xc, np.full(len(xc), r0)]),
            np.column_stack([np.full(len(yr) - 2, c1), yr[1:-1]]),
            np.column_stack([xc[::-1], np.full(len(xc), r1)]),
            np.column_stack([np.full(len(yr) - 2, c0), yr[-2:0:-1]]),
        ]
    ).astype(np.float64)
    return shapely.Polygon((ring - 0.5) * GRID_SPACING_M)


# --------------------------------------------------------------------------- roads


@dataclass
class _Grid:
    """The province's road grid in local metres, before conversion to WGS-84."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    node_county: NDArray[np.int64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    rank: NDArray[np.int64]
    oneway: NDArray[np.bool_]
    edge_county: NDArray[np.int64]
    road: NDArray[np.int64]
    order: NDArray[np.int64]
    road_rank: NDArray[np.int64]
    road_name: NDArray[np.object_]
    road_county: NDArray[np.int64]


def _line_rank(line: NDArray[np.int64]) -> NDArray[np.int64]:
    """Road class rank of a grid line: 0 primary, 1 secondary, 2 tertiary, 3 minor."""
    rank = np.full(line.shape, 3, dtype=np.int64)
    for r, (step, offset) in reversed(list(enumerate(_LINE_STEPS))):
        rank[line % step == offset] = r
    return rank


def _build_grid(raster: NDArray[np.int64], drop_p: NDArray[np.float64], rng: np.random.Generator) -> _Grid:
    """Perturbed grid over the county raster (-1: none); minor lines stop at borders, some minor segments go."""
    n_rows, n_cols = raster.shape
    s = GRID_SPACING_M
    idx = np.arange(n_rows * n_cols, dtype=np.int64).reshape(n_rows, n_cols)
    jitter = rng.uniform(-JITTER_SHARE, JITTER_SHARE, (2, idx.size)) * s
    ii, jj = np.divmod(np.arange(idx.size, dtype=np.int64), n_cols)
    x = jj * s + jitter[0]
    y = ii * s + jitter[1]
    county = raster.ravel()
    # horizontal segments run along row ii, vertical ones along column jj
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    vertical = np.concatenate([np.zeros((n_cols - 1) * n_rows, bool), np.ones(n_cols * (n_rows - 1), bool)])
    line = np.where(vertical, jj[u], ii[u])
    pos = np.where(vertical, ii[u], jj[u])
    # a road is one grid line within one county; minor lines are residential or (30 %) unclassified
    n_keys = n_rows + n_cols
    line_key = np.where(vertical, n_rows + line, line)
    key_line = np.concatenate([np.arange(n_rows), np.arange(n_cols)])
    key_rank = _line_rank(key_line)
    key_rank[(key_rank == 3) & (rng.random(n_keys) < 0.3)] = 4
    rank = key_rank[line_key]
    mid_c = np.clip(np.floor((x[u] + x[v]) / (2 * s) + 0.5).astype(np.int64), 0, n_cols - 1)
    mid_r = np.clip(np.floor((y[u] + y[v]) / (2 * s) + 0.5).astype(np.int64), 0, n_rows - 1)
    edge_county = raster[mid_r, mid_c]
    cross = county[u] != county[v]
    minor = rank >= 3
    dropped = minor & (rng.random(len(u)) < drop_p[edge_county])
    keep = ((rank <= 1) | ~(cross | dropped)) & (county[u] >= 0) & (county[v] >= 0)
    oneway = minor & (line % 7 == 3)
    flip = oneway & ((line // 7) % 2 == 1)
    u, v = np.where(flip, v, u)[keep], np.where(flip, u, v)[keep]
    rank, oneway, edge_county, line_key = rank[keep], oneway[keep], edge_county[keep], line_key[keep]
    order = np.where(flip, -pos, pos)[keep]
    keys, road = np.unique(edge_county * n_keys + line_key, return_inverse=True)
    road_county, road_key = np.divmod(keys, n_keys)
    road_rank = key_rank[road_key]
    named = road_rank <= 2
    step = np.array([st for st, _ in _LINE_STEPS], dtype=np.int64)[np.minimum(road_rank, 2)]
    number = (1 + (road_key >= n_rows).astype(np.int64)) * 100 + key_line[road_key] // step
    road_name = np.full(len(keys), "", dtype=object)
    road_name[named] = [f"{_ROAD_PREFIX[r]}{n:03d}" for r, n in zip(road_rank[named], number[named], strict=True)]
    used = np.zeros(idx.size, bool)
    used[u] = True
    used[v] = True
    remap = np.cumsum(used) - 1
    return _Grid(
        x=x[used],
        y=y[used],
        node_county=county[used],
        u=remap[u],
        v=remap[v],
        rank=rank,
        oneway=oneway,
        edge_county=edge_county,
        road=road.astype(np.int64),
        order=order,
        road_rank=road_rank,
        road_name=road_name,
        road_county=road_county,
    )


def _road_pieces(g: _Grid, lon: NDArray[np.float64], lat: NDArray[np.float64], codes: list[str]) -> gpd.GeoDataFrame:
    """Chain the segments of each road (one grid line in one county) into polylines, in travel direction."""
    o = np.lexsort((g.order, g.road))
    u, v, r = g.u[o], g.v[o], g.road[o]
    brk = np.ones(len(u), bool)
    brk[1:] = (r[1:] != r[:-1]) | (u[1:] != v[:-1])
    piece = np.cumsum(brk) - 1
    starts = np.flatnonzero(brk)
    n_piece = len(starts)
    # vertices: the first u of each piece followed by every v
    vert_nodes = np.empty(len(u) + n_piece, dtype=np.int64)
    vert_piece = np.empty(len(u) + n_piece, dtype=np.int64)
    pos_v = np.arange(len(u)) + piece + 1
    pos_u = starts + np.arange(n_piece)
    vert_nodes[pos_v] = v
    vert_piece[pos_v] = piece
    vert_nodes[pos_u] = u[starts]
    vert_piece[pos_u] = np.arange(n_piece)
    lines = shapely.linestrings(np.column_stack([lon[vert_nodes], lat[vert_nodes]]), indices=vert_piece)
    rp = r[starts]
    rank = g.road_rank[rp]
    speeds = np.array([MAXSPEED_KPH.get(c, math.nan) for c in _CLASSES], dtype=np.float64)
    return gpd.GeoDataFrame(
        {
            "highway": np.asarray(_CLASSES, dtype=object)[rank],
            "oneway": g.oneway[o][starts],
            "maxspeed": speeds[rank],
            "name": g.road_name[rp],
            "county": np.asarray(codes, dtype=object)[g.road_county[rp]],
        },
        geometry=lines,
        crs="EPSG:4326",
    )
