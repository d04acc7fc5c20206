"""Inputs: files -> canonical tables (stations, demand, areas, candidates), coordinates and checks.

``tables`` reads CSV/XLSX/GeoJSON/GeoPackage into canonical tables, ``_validate`` holds the
checks every reader calls, ``coords`` converts GCJ-02/BD-09, ``sanity`` looks for swapped,
outside and offset coordinates, ``osm_extract`` builds starter sheets from an OSM extract.
"""
