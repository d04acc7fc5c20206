#!/usr/bin/env bash
# Start the planning app on the bundled (generated) demo county: http://localhost:8501
# Serves this machine only (127.0.0.1: the app has no authentication); to serve a LAN, pass
# --server.address 0.0.0.0 and put a password in front of it (README, "Serving the app to other computers").
# Extra arguments go to `streamlit run` (e.g. --server.port 8600). planner.app.launcher builds the demo
# county while the server starts (warm start), so the first visitor does not wait for it; the demo
# county itself is generated once and kept on disk (planner.app.launcher.prepare_demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# byte-compile the package (Python does not when PYTHONDONTWRITEBYTECODE is set: ~0.1 s per start)
.venv/bin/python -m compileall -q planner
# generate the demo county once and keep it in ~/.cache/planner (instant when already there)
.venv/bin/python -m planner.app.launcher --prepare-demo
exec .venv/bin/python -m planner.app.launcher --server.headless true --browser.gatherUsageStats false "$@"
