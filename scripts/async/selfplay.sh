#!/usr/bin/env bash
# Start goloop selfplay in the background on this machine, writing into a shared BASEDIR.
#   scripts/async/selfplay.sh BASEDIR [goloop selfplay options, e.g. --config selfplay.cfg]
# Run one per GPU (or per CPU box); any number may share BASEDIR. CPUS=0-7 pins it to cores.
set -euo pipefail
BASEDIR=${1:?usage: $0 BASEDIR [goloop selfplay options...]}
shift
source "$(dirname "$0")/lib.sh"
start_daemon selfplay "$BASEDIR" "${CPUS:-}" selfplay \
    --output-dir "$BASEDIR/selfplay" --models-dir "$BASEDIR/models" "$@"
