"""群团服务网络规划器 — Streamlit app: this script starts the page of ``planner.app``.

Run with ``scripts/run.sh`` (``python -m planner.app.launcher``: the demo county is built while
the server starts) or ``streamlit run app.py``. Opens on the generated demo county. Streamlit
runs this script on every rerun; :func:`planner.app.main.main` draws the page each time.
"""

from planner.app.main import main

main()
