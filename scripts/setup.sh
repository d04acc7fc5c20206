#!/usr/bin/env bash
# Create .venv and install the project (and, with --test, test tools and system packages).
# Idempotent: re-installs only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
if [[ "${1:-}" == "--test" ]]; then
  extras="[test,bench]"
  # Debian packages for the browser test and CJK map rendering.
  if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == "0" ]]; then
    # (fc-list's output is read whole first: `fc-list | grep -q` under pipefail fails
    # whenever grep stops early and fc-list gets SIGPIPE)
    fonts="$(fc-list 2>/dev/null || true)"
    if ! command -v chromium >/dev/null 2>&1 || ! grep -qi "noto.*cjk" <<<"$fonts"; then
      echo "[setup] installing chromium and fonts-noto-cjk (apt-get)"
      apt-get -o DPkg::Lock::Timeout=600 update -qq
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium fonts-noto-cjk >/dev/null
    fi
  fi
fi
PY="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
stamp=".venv/.installed$(echo "$extras" | tr -d '[],')"
hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$hash" ]]; then
  echo "[setup] installing the project into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}"
  echo "$hash" > "$stamp"
fi
