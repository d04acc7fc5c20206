"""Reports: output files, workbook and GeoPackage, web and printed maps (figures named by ``coverage.figures``).

``files`` builds every output file, ``exports`` the workbook and GeoPackage, ``webmap``
the folium map (its layers in ``webmap_layers``, its offline assets and standalone page in
``webmap_assets``), ``printmap`` the printed map (its layers in ``printmap_layers``);
``colours`` holds the colours both maps share.
"""
