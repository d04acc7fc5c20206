"""Inputs: files -> canonical tables (stations, demand, areas, candidates), coordinates and checks.

``tables`` reads CSV/XLSX/GeoJSON/GeoPackage into canonical tables (files decoded by
``_decode``, values parsed by ``_values``), ``columns`` says which header each reader used
for what, ``demand_kinds`` where the demand rows' kinds came from, ``_validate`` holds the
checks every reader calls, ``coords`` converts GCJ-02/BD-09, ``sanity`` looks
for swapped, outside and offset coordinates. Starter sheets from an OSM extract:
``osm_extract`` (candidate stations and areas), ``osm_population`` (demand points with
estimated population), ``osm_sheets`` (writes them for review);
``population_source`` names where a population comes from (OSM tag or estimate).
"""
