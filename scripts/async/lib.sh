# shellcheck shell=bash
# Shared by the launch scripts: start one goloop daemon under nohup, logging to BASEDIR/logs/.
#
# Each daemon gets BASEDIR/logs/<name>-<host>.log (appended: a restart continues the same log)
# and BASEDIR/logs/<name>-<host>.pid, so that stop.sh on the same machine finds it. The daemons
# themselves only share files under BASEDIR; these scripts add nothing they depend on.

GOLOOP=${GOLOOP:-goloop}

start_daemon() {   # start_daemon NAME BASEDIR CPUS SUBCOMMAND ARGS...   (CPUS: taskset list or "")
    local name=$1 base=$2 cpus=$3
    shift 3
    local host logdir pidfile log
    host=$(hostname)
    logdir="$base/logs"
    mkdir -p "$logdir"
    pidfile="$logdir/$name-$host.pid"
    log="$logdir/$name-$host.log"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "$name already running (pid $(cat "$pidfile")); stop it first with stop.sh" >&2
        return 1
    fi
    local prefix=() goloop
    if [ -n "$cpus" ]; then
        prefix=(taskset -c "$cpus")
    fi
    read -ra goloop <<< "$GOLOOP"        # GOLOOP may carry a prefix, e.g. "nice -n 10 goloop"
    echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) starting: ${prefix[*]} ${goloop[*]} $*" >> "$log"
    nohup "${prefix[@]}" "${goloop[@]}" "$@" --no-progress >> "$log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    echo "$name started (pid $!), log $log"
}
