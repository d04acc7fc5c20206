"""What the demo county and the benchmark grids share: their origin, parameter checks and name draws."""

from __future__ import annotations

import numpy as np
import pyproj

from planner._errors import ConfigError

#: WGS-84 origin of the demo county and of the benchmark grids (a rural area in
#: southern China; the generated roads do not follow any real road there).
ORIGIN_LON: float = 116.2
ORIGIN_LAT: float = 27.4


def check_int(name: str, value: int, lo: int, hi: int) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an integer in ``lo … hi``."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or not lo <= int(value) <= hi:
        raise ConfigError("demo.bad_parameter", name=name, value=value, expected=f"{lo} … {hi}")


def origin_xy(crs: str) -> tuple[float, float]:
    """The origin in ``crs`` (metres); local coordinates are offsets from it."""
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0 = tr.transform(ORIGIN_LON, ORIGIN_LAT)
    return float(x0), float(y0)


def unique_names(pool: list[str], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` different names drawn from ``pool``."""
    idx = rng.permutation(len(pool))[:n]
    return [pool[i] for i in idx]
