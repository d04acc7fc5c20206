#!/usr/bin/env bash
# Run the main job on the bundled (generated) demo county.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/planner demo --out out/demo "$@"
