#!/usr/bin/env bash
# Start the planning app on the bundled (generated) demo county: http://localhost:8501
# Extra arguments go to `streamlit run` (e.g. --server.port 8600). planner.appserver builds the demo
# county while the server starts (warm start), so the first visitor does not wait for it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m planner.appserver --server.headless true --browser.gatherUsageStats false "$@"
