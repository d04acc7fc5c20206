#!/usr/bin/env bash
# Install what the tests need, then lint, type-check and run the whole test suite.
# Tests that need ../shared (real OSM extracts, published benchmarks) skip when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
echo "[test] ruff"
.venv/bin/ruff check planner tests benchmarks $(ls app.py 2>/dev/null || true)
echo "[test] mypy"
.venv/bin/mypy
echo "[test] pytest"
.venv/bin/python -m pytest "$@"
