#!/usr/bin/env bash
# One command on a fresh machine: install everything the tests need, lint, run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh embedded,local,dataset,dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
