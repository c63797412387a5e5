#!/usr/bin/env bash
# Set up everything proximity needs on a fresh machine, idempotently:
# a virtual environment with the package and its test extras, and the default
# territory's data (from the local mirror ../shared/data/raw, or downloaded).
# Usage: scripts/setup.sh [--browser]   (--browser: also Debian chromium + npm assets for browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.proximity-deps
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[test]"
  echo "$want" > "$stamp"
fi

if [ "${1:-}" = "--browser" ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
  fi
  if [ -f tests/browser/package-lock.json ]; then
    lock=$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)
    if [ ! -f tests/browser/node_modules/.proximity-lock ] || [ "$(cat tests/browser/node_modules/.proximity-lock)" != "$lock" ]; then
      (cd tests/browser && npm ci --no-audit --no-fund --silent)
      echo "$lock" > tests/browser/node_modules/.proximity-lock
    fi
  fi
fi

.venv/bin/proximity data install
