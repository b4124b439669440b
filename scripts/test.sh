#!/usr/bin/env bash
# The test command: unit, integration (real Docker daemon) and e2e tests.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
