"""Road network: roads -> arrays, travel modes, snapping points onto roads, reach (shortest paths).

``roads`` (RoadNetwork, travel graphs per mode), ``osm`` (load OSM/PBF/line layers),
``snapping`` (points onto the nearest usable segment), ``reach`` (bounded multi-source
shortest paths on SciPy sparse graphs).
"""
