"""The Streamlit map app (the only package that imports Streamlit): ``main`` (pages), ``launcher`` (warm start)."""
