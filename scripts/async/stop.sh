#!/usr/bin/env bash
# Stop the goloop daemons this machine started for BASEDIR: SIGINT (each finishes its pending
# writes: selfplay its finished games, the trainer its step and checkpoint), then wait.
#   scripts/async/stop.sh BASEDIR [daemon...]      (default: all; wait up to TIMEOUT=300 s)
set -uo pipefail
BASEDIR=${1:?usage: $0 BASEDIR [selfplay|shuffler|trainer|exporter|gatekeeper ...]}
shift
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(selfplay shuffler trainer exporter gatekeeper)
host=$(hostname)
pids=()
for n in "${names[@]}"; do
    f="$BASEDIR/logs/$n-$host.pid"
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill -INT "$pid" && echo "sent SIGINT to $n (pid $pid)"
        pids+=("$pid:$n:$f")
    else
        rm -f "$f"
    fi
done
deadline=$(( $(date +%s) + ${TIMEOUT:-300} ))
for entry in "${pids[@]}"; do
    IFS=: read -r pid n f <<< "$entry"
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "$n (pid $pid) still running after ${TIMEOUT:-300} s; sending SIGTERM" >&2
            kill -TERM "$pid" 2>/dev/null
            sleep 5
            break
        fi
        sleep 1
    done
    kill -0 "$pid" 2>/dev/null || { echo "$n stopped"; rm -f "$f"; }
done
