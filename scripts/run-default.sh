#!/usr/bin/env bash
# The main job on the default territory (Hérault): set-up, then layers, network,
# travel-time tables into out/ (and, as the project grows, scores and maps into maps/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/proximity run --out out --maps maps "$@"
