#!/usr/bin/env bash
# Start goloop gatekeeper in the background (only with an exporter run --use-gating).
#   scripts/async/gatekeeper.sh BASEDIR [goloop gatekeeper options, e.g. --config gk.cfg]
set -euo pipefail
BASEDIR=${1:?usage: $0 BASEDIR [goloop gatekeeper options...]}
shift
source "$(dirname "$0")/lib.sh"
start_daemon gatekeeper "$BASEDIR" "${CPUS:-}" gatekeeper --base-dir "$BASEDIR" "$@"
