"""A small county whose names are the hostile payloads: station, organisation, service, demand and township names.

Used by the app's tests (AppTest and the browser) to check that every name from an input
file is shown as text: in messages, the gaps table, the map's tooltips and popups and the
exported HTML map.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.data.hostile import MARKUP, NAMES

#: The township names, in the order of the county's own (the gaps table and its "worst
#: townships" warning show them): the three with the largest gaps (seed 7) are named with
#: LaTeX, a remote Markdown image and a ``javascript:`` link.
TOWNSHIPS: tuple[str, ...] = (MARKUP[0], MARKUP[1], MARKUP[4], MARKUP[3], MARKUP[2], *MARKUP[5:])
#: The payloads a CSV cell carries here: a carriage return inside a quoted cell splits the
#: row in the CSV reader (a reader matter, not this one's: see the report of issue 14).
CSV_NAMES: tuple[str, ...] = tuple(x for x in NAMES if "\r" not in x)
#: Name of the one station put far from every road (the off-network warning lists it).
FAR_STATION: str = MARKUP[0]


def write_hostile_county(directory: Path) -> dict[str, Path]:
    """Write a small demo county into ``directory`` with :data:`NAMES` as its names.

    Stations take the payloads (:data:`CSV_NAMES`) in turn as names (the first one :data:`FAR_STATION`,
    moved 1° east: far from every road), organisations and services; demand points the
    payloads as names; the townships are named :data:`TOWNSHIPS` in turn.

    Returns
    -------
    dict
        ``{"roads": …gpkg, "stations": …csv, "demand": …csv}`` (UTF-8 with BOM, as Excel writes).
    """
    from planner.demo.county import generate_county, write_demo

    paths = write_demo(directory, county=generate_county(seed=7, n_townships=4, n_villages=40))
    stations = pd.read_csv(paths["stations"], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    names = [CSV_NAMES[i % len(CSV_NAMES)] for i in range(len(stations))]
    stations["名称"] = [FAR_STATION, *names[1:]]
    stations["运营单位"] = names[::-1]
    stations["服务项目"] = names
    stations.loc[0, "经度"] = f"{float(stations.loc[0, '经度']) + 1.0:.7f}"
    stations.to_csv(paths["stations"], index=False, encoding="utf-8-sig")
    demand = pd.read_csv(paths["demand"], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    towns = {town: TOWNSHIPS[i % len(TOWNSHIPS)] for i, town in enumerate(sorted(set(demand["所属乡镇"])))}
    demand["所属乡镇"] = demand["所属乡镇"].map(towns)
    demand["名称"] = [CSV_NAMES[i % len(CSV_NAMES)] for i in range(len(demand))]
    demand.to_csv(paths["demand"], index=False, encoding="utf-8-sig")
    return {"roads": paths["roads"], "stations": paths["stations"], "demand": paths["demand"]}
