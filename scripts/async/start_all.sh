#!/usr/bin/env bash
# Start all five goloop daemons on this one machine for BASEDIR, each on its share of the cores.
#   scripts/async/start_all.sh BASEDIR RUNNAME [MODELKIND]   (GATING=1 to add the gatekeeper)
#
# Cores: selfplay gets about three quarters of them and the trainer the rest (KataGo's advice is
# to spend several times more compute on selfplay than on training); the shuffler, exporter and
# gatekeeper are mostly idle and run niced on all of them. Each daemon sizes its torch pools to
# the cores `taskset` gives it, so no two thread pools spin against each other. Override with
# SELFPLAY_CPUS=... TRAIN_CPUS=... (taskset lists). Extra options per daemon: SELFPLAY_ARGS,
# SHUFFLE_ARGS, TRAIN_ARGS, GATEKEEPER_ARGS (word-split). Stop with scripts/async/stop.sh BASEDIR.
set -euo pipefail
BASEDIR=${1:?usage: $0 BASEDIR RUNNAME [MODELKIND]}
NAME=${2:?usage: $0 BASEDIR RUNNAME [MODELKIND]}
KIND=${3:-b6c96}
here=$(dirname "$0")
n=$(nproc)
if [ "$n" -ge 2 ]; then
    t=$(( n / 4 )); [ "$t" -ge 1 ] || t=1
    SELFPLAY_CPUS=${SELFPLAY_CPUS:-0-$(( n - t - 1 ))}
    TRAIN_CPUS=${TRAIN_CPUS:-$(( n - t ))-$(( n - 1 ))}
else
    SELFPLAY_CPUS=${SELFPLAY_CPUS:-0}
    TRAIN_CPUS=${TRAIN_CPUS:-0}
fi
mkdir -p "$BASEDIR"
gating=()
[ "${GATING:-0}" = 1 ] && gating=(--use-gating)
# shellcheck disable=SC2086
CPUS=$SELFPLAY_CPUS "$here/selfplay.sh" "$BASEDIR" ${SELFPLAY_ARGS:-}
# shellcheck disable=SC2086
CPUS=$TRAIN_CPUS "$here/trainer.sh" "$BASEDIR" "$NAME" --model-config "$KIND" ${TRAIN_ARGS:-}
# shellcheck disable=SC2086
GOLOOP="nice -n 10 ${GOLOOP:-goloop}" "$here/shuffler.sh" "$BASEDIR" ${SHUFFLE_ARGS:-}
GOLOOP="nice -n 10 ${GOLOOP:-goloop}" "$here/exporter.sh" "$BASEDIR" "$NAME" "${gating[@]}"
if [ "${GATING:-0}" = 1 ]; then
    # shellcheck disable=SC2086
    CPUS=$SELFPLAY_CPUS GOLOOP="nice -n 5 ${GOLOOP:-goloop}" "$here/gatekeeper.sh" "$BASEDIR" ${GATEKEEPER_ARGS:-}
fi
echo "all started; watch with: goloop status --base-dir $BASEDIR"
