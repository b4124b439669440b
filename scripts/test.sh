#!/usr/bin/env bash
# The test command: unit, integration (real Docker daemon) and e2e tests, then the swarm tests.
# tests/swarm make the daemon a swarm manager for their session (see tests/swarm/conftest.py), so
# they run on their own, after the others, never alongside them.  With arguments, pytest runs
# just those (swarm tests among others are skipped: run `scripts/test.sh tests/swarm` alone).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -gt 0 ]]; then
    exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
fi
# --durations: the slowest tests, in every CI log (the whole run should stay well under 25 min)
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 --ignore=tests/swarm
exec .venv/bin/python -m pytest -q -p no:cacheprovider --durations=5 -rw tests/swarm
