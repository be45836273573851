#!/usr/bin/env bash
# Start goloop shuffle in the background: reshuffles BASEDIR/selfplay into shuffleddata/ as
# data arrives (KataGo's shuffle loop).
#   scripts/async/shuffler.sh BASEDIR [goloop shuffle options, e.g. --min-rows 100000]
set -euo pipefail
BASEDIR=${1:?usage: $0 BASEDIR [goloop shuffle options...]}
shift
source "$(dirname "$0")/lib.sh"
start_daemon shuffler "$BASEDIR" "${CPUS:-}" shuffle --base-dir "$BASEDIR" "$@"
