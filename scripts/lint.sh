#!/usr/bin/env bash
# Lint and type checks of the whole tree, configured in pyproject.toml ([tool.ruff], [tool.mypy]):
#   ruff check            lint (pyflakes, pycodestyle, isort, bugbear, pyupgrade, numpy, pandas, pytest…)
#   ruff format --check   formatting (line length 120)
#   mypy                  types of the package (`files = ["proximity"]`)
# Runs all three and exits 1 if any of them fails. Fix with `ruff check --fix` and `ruff format`.
# scripts/test.sh calls it (see LINT_GATE there).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${PROXIMITY_BIN:-.venv/bin}

status=0
echo "lint: ruff check" >&2
"$BIN/ruff" check --output-format concise . || status=1
echo "lint: ruff format --check" >&2
"$BIN/ruff" format --check --output-format concise . || status=1
echo "lint: mypy" >&2
"$BIN/mypy" || status=1
exit "$status"
