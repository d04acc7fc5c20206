"""Per-column value parsing shared by the table readers of :mod:`planner.inputs.tables`.

Each helper takes the decoded file (:class:`~planner.inputs._decode._Table`), its matched
columns and its problem log, turns one column into values (ids, coordinates converted to
WGS-84, tiers, population) and records every problem with its row and header.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from planner._errors import ConfigError
from planner.inputs import _validate as v
from planner.inputs._decode import _Table
from planner.inputs._validate import ProblemLog
from planner.inputs.coords import to_wgs84
from planner.settings import parse_tier, tier_examples

logger = logging.getLogger(__name__)


def _text(table: _Table, found: dict[str, int], name: str, n: int) -> NDArray[Any]:
    if name not in found:
        return np.full(n, "", dtype=object)
    return table.column(found[name]).to_numpy(dtype=object)


def _ids(
    table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64], *, generated_prefix: str = ""
) -> NDArray[Any]:
    n = table.n_rows
    generated = np.array([f"{generated_prefix}row{r}" for r in rows], dtype=object)
    if "id" not in found:
        if n:
            logger.info("%s: no id column (编号); ids generated from row numbers (row2, row3...)", table.file)
        return generated
    ids = table.column(found["id"]).to_numpy(dtype=object)
    blank = ids == ""
    if blank.any():
        logger.info("%s: %d rows without id; ids generated from row numbers", table.file, int(blank.sum()))
        ids = np.where(blank, generated, ids)
    v.check_duplicates(list(ids), rows=rows, column=table.headers[found["id"]], log=log)
    return ids


def _coordinates(
    table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n = table.n_rows
    lon = table.geom_lon.copy() if table.geom_lon is not None else np.full(n, np.nan)
    lat = table.geom_lat.copy() if table.geom_lat is not None else np.full(n, np.nan)
    if "lon" not in found or "lat" not in found:
        if table.geom_lon is not None:
            reported = {p.row for p in log.problems if p.key == "inputs.not_point"}
            for i in np.flatnonzero(np.isnan(lon) | np.isnan(lat)):
                if int(rows[i]) not in reported:
                    log.add("inputs.no_geometry", row=int(rows[i]))
        return lon, lat
    need = np.isnan(lon) | np.isnan(lat)
    headers = {axis: table.headers[found[axis]] for axis in ("lon", "lat")}
    parsed: dict[str, NDArray[np.float64]] = {}
    for axis in ("lon", "lat"):
        values, empty, bad = v.parse_coordinates(table.column(found[axis]), axis=axis)
        cells = table.column(found[axis]).to_numpy(dtype=object)
        for i in np.flatnonzero(need & empty):
            log.add("inputs.coord_empty", row=int(rows[i]), column=headers[axis])
        for i in np.flatnonzero(need & bad):
            log.add("inputs.coord_not_number", row=int(rows[i]), column=headers[axis], value=str(cells[i])[:40])
        parsed[axis] = values
    lon = np.where(need, parsed["lon"], lon)
    lat = np.where(need, parsed["lat"], lat)
    v.check_coordinates(lon, lat, rows=rows, lon_column=headers["lon"], lat_column=headers["lat"], log=log)
    return lon, lat


def _convert(
    lon: NDArray[np.float64], lat: NDArray[np.float64], coords: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if coords in ("gcj02", "bd09"):
        logger.info("converting %d points from %s to WGS-84", len(lon), coords)
        out_lon, out_lat = to_wgs84(lon, lat, system=coords)  # type: ignore[arg-type]
        return np.asarray(out_lon, dtype=np.float64), np.asarray(out_lat, dtype=np.float64)
    return lon, lat


def _tiers(table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64]) -> NDArray[Any]:
    """Tier of every row; each unknown spelling (and the empty cells) is reported once, with its rows."""
    n = table.n_rows
    out = np.full(n, "", dtype=object)
    if "tier" not in found:
        return out
    column = table.headers[found["tier"]]
    values = table.column(found["tier"])
    codes, uniques = pd.factorize(values)
    parsed: list[str] = []
    for word in uniques:  # once per distinct word, not per row
        try:
            parsed.append(str(parse_tier(word)))
        except ConfigError:
            parsed.append("")
    out = np.asarray(parsed, dtype=object)[codes] if n else out
    allowed = tier_examples()
    for code, word in enumerate(uniques):
        if parsed[code]:
            continue
        where = rows[codes == code]
        if word == "":
            log.add_rows("inputs.tier_empty", rows=where, column=column, allowed=allowed)
        else:
            log.add_rows("inputs.unknown_tier", rows=where, column=column, value=word, allowed=allowed)
    return out


def _population(table: _Table, found: dict[str, int], log: ProblemLog, rows: NDArray[np.int64]) -> NDArray[np.float64]:
    n = table.n_rows
    if "population" not in found:
        return np.ones(n, dtype=np.float64)
    column = table.headers[found["population"]]
    cells = table.column(found["population"])
    values, empty, bad = v.parse_population(cells)
    for i in np.flatnonzero(empty):
        log.add("inputs.population_empty", row=int(rows[i]), column=column)
    for i in np.flatnonzero(bad):
        log.add("inputs.population_not_number", row=int(rows[i]), column=column, value=str(cells.iloc[i])[:40])
    for i in np.flatnonzero(values < 0):
        log.add("inputs.population_negative", row=int(rows[i]), column=column, value=v._fmt(values[i]))
    return values


def _as_str(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    for c in columns:
        df[c] = df[c].astype(str)
    return df
