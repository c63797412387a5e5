#!/usr/bin/env bash
# Set-up, then the whole test suite (offline, on the real data of the default territory):
# the lint and type checks (scripts/lint.sh), the tests, the docstring examples (doctests)
# and the notebooks. Extra arguments go to pytest, e.g. `-m unit` (the fast layer),
# `-m "not browser"`, `-x`.
#
# The exit code is pytest's own when pytest fails (CI relies on it); when the tests pass and
# the lint gate is enforced but a lint step failed, it is 1.
#
# LINT_GATE (or $PROXIMITY_LINT_GATE): "enforce" runs scripts/lint.sh and fails on any finding;
# "report" runs it and prints the findings without failing; "off" skips it.
# The default is "enforce": the tree is ruff-clean, ruff-formatted and mypy-clean (issue 13).
set -euo pipefail
cd "$(dirname "$0")/.."
LINT_GATE=${PROXIMITY_LINT_GATE:-enforce}

bash scripts/setup.sh --browser

lint_status=0
case "$LINT_GATE" in
  enforce|report) bash scripts/lint.sh || lint_status=$? ;;
  off) ;;
  *) echo "PROXIMITY_LINT_GATE=$LINT_GATE: use enforce, report or off" >&2; exit 2 ;;
esac
if [ "$lint_status" -ne 0 ]; then
  echo "lint: findings above (gate: $LINT_GATE)" >&2
fi

test_status=0
.venv/bin/python -m pytest --doctest-modules --nbmake proximity tests notebooks "$@" || test_status=$?
if [ "$test_status" -ne 0 ]; then
  exit "$test_status"
fi
if [ "$LINT_GATE" = enforce ] && [ "$lint_status" -ne 0 ]; then
  exit 1
fi
exit 0
