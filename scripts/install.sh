#!/usr/bin/env bash
# Creates .venv (if missing) and installs the sidecar with the given extras. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=${1:-embedded,local,dataset}
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip
# torch pinned and first: the CPU wheel, not the multi-GB CUDA build a bare 'torch' would pull.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
