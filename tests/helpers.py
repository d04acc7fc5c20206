"""Helpers shared by several test modules."""

from __future__ import annotations

import re

import folium
import geopandas as gpd
import pandas as pd

from planner.coverage.analyse import CoverageResult
from planner.network.roads import RoadNetwork
from planner.settings import Config, Tier
from planner.workspace.workspace import Workspace


def analyse(
    network: RoadNetwork,
    *,
    stations: pd.DataFrame,
    demand: pd.DataFrame,
    config: Config | None = None,
    tiers: tuple[Tier, ...] | None = None,
    areas: gpd.GeoDataFrame | None = None,
    stations_file: str = "",
    allow_off_network_stations: bool = False,
) -> CoverageResult:
    """Coverage from scratch: a fresh workspace (no caches) evaluated once."""
    ws = Workspace(
        network=network,
        demand=demand,
        config=config or Config(),
        areas=areas,
        allow_off_network_stations=allow_off_network_stations,
        stations_file=stations_file,
    )
    return ws.evaluate(stations, tiers=tiers)


def normalised_page(m: folium.Map) -> str:
    """The rendered page of ``m`` with its random element ids numbered in order (equal maps, equal pages)."""
    ids: dict[str, str] = {}
    page = m.get_root().render()
    return re.sub(r"_[0-9a-f]{32}", lambda x: ids.setdefault(x.group(0), f"_id{len(ids)}"), page)
