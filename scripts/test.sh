#!/usr/bin/env bash
# Set-up, then the whole test suite (offline, on the real data of the default territory).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
exec .venv/bin/python -m pytest --nbmake tests notebooks "$@"
