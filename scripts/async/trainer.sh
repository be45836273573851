#!/usr/bin/env bash
# Start goloop train in the background: trains on the newest shuffle, exports checkpoints.
#   scripts/async/trainer.sh BASEDIR NAME [goloop train options, e.g. --model-config b6c96]
# KataGo's async default caps training at 4 samples per new data row.
set -euo pipefail
BASEDIR=${1:?usage: $0 BASEDIR NAME [goloop train options...]}
NAME=${2:?usage: $0 BASEDIR NAME [goloop train options...]}
shift 2
source "$(dirname "$0")/lib.sh"
start_daemon trainer "$BASEDIR" "${CPUS:-}" train --base-dir "$BASEDIR" --name "$NAME" \
    --max-train-bucket-per-new-data 4 --max-train-bucket-size 5000000 --no-repeat-files "$@"
