"""Road network: roads -> arrays, travel modes, snapping points onto roads, reach (shortest paths).

``roads`` (RoadNetwork, travel graphs per mode), ``osm`` (read OSM XML/PBF files),
``road_layers`` (read GIS road line layers), ``load`` (load by file suffix, spec or
download; export and describe), ``snapping`` (points onto the nearest usable segment),
``reach`` (bounded multi-source shortest paths on SciPy sparse graphs).
"""
