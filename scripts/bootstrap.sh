#!/usr/bin/env bash
# Create .venv (if missing) and install stack with its test extra into it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# A path-based editable install (a .pth line) rather than setuptools' import-hook finder, which
# costs ~12 ms at every interpreter start, a third of `stack --version`. Should a future setuptools
# drop the compat mode, the default editable install still works, only slower to start.
.venv/bin/python -m pip install -q -e '.[test]' --config-settings editable_mode=compat 2>/dev/null \
  || .venv/bin/python -m pip install -q -e '.[test]'
# Byte-compile the sources, as pip does for a regular install: with PYTHONDONTWRITEBYTECODE set
# (as on our machines) every `stack` command would otherwise recompile every module it imports.
.venv/bin/python -m compileall -q stack bench tests
