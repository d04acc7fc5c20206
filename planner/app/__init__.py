"""The Streamlit map app (the only package that imports Streamlit).

``main`` (the page, run by the root ``app.py``), ``state`` (session state), ``actions``
(widget callbacks), ``widgets`` (sidebar, figures, tables, downloads), ``map_events``
(map clicks), ``map_parts`` (the web map for streamlit-folium), ``launcher`` (warm start).
"""
