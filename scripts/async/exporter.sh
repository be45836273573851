#!/usr/bin/env bash
# Start goloop export in the background: checkpoints -> models/ (or modelstobetested/ with
# --use-gating, for the gatekeeper).
#   scripts/async/exporter.sh BASEDIR RUNNAME [--use-gating]
set -euo pipefail
BASEDIR=${1:?usage: $0 BASEDIR RUNNAME [goloop export options...]}
PREFIX=${2:?usage: $0 BASEDIR RUNNAME [goloop export options...]}
shift 2
source "$(dirname "$0")/lib.sh"
start_daemon exporter "$BASEDIR" "${CPUS:-}" export --base-dir "$BASEDIR" \
    --name-prefix "$PREFIX" "$@"
