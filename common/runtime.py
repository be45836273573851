"""The compute a goloop process may use: which device the net runs on and how many CPU threads.

Why this exists: torch sizes its CPU thread pool to every core of the machine, whatever a
config says, and its OpenMP workers busy-wait between operations. On a box shared with a
trainer, a second engine or a browser, that pool fights the other processes for cores: a 4 ms
9x9 evaluation took 0.2-1.2 s and a 400-visit genmove 84 s instead of 3.9 s (issue 9). KataGo's
CPU backend runs the net on `numEigenThreadsPerModel` threads, by default
min(concurrent evaluations, cores). Every command that runs a network plans its threads here,
with the same key and the same default, and logs the plan once at start.

The plan (`plan_threads`):
* CPU: intra-op threads = `numEigenThreadsPerModel` when the config sets it (used as given,
  with a warning when it exceeds the cores this process may run on), else
  min(concurrent evaluations, free cores), where free cores are those of
  `os.sched_getaffinity` (so `taskset` and cgroup cpusets are honoured) minus the threads that
  keep searching while the net runs (none for gtp and selfplay, whose search waits for the net;
  one for the analysis engine's several search threads, which share the GIL). At least one.
* GPU: one CPU thread: the forward runs on the device and goloop's own CPU work is numpy.
* Inter-op threads: always one. goloop's graphs have no parallel branches, so that pool would
  only hold idle (or spinning) threads. KataGo's `numNNServerThreadsPerModel` has no CPU
  meaning (KataGo's Eigen backend ignores it too); on a GPU goloop runs one server per process.

Environment (`ENV_DEFAULTS`): libraries that size their pools when they load read these, so the
`goloop` entry point sets them before numpy or torch are imported (`prepare_environment`). A
value already in the environment wins, so a user can still choose otherwise.

The OpenMP wait policy is left at libgomp's default (spin about 300k iterations, then sleep) on
purpose. With one net thread, the default here on 2 cores for GTP and analysis, OpenMP starts
no workers and nothing spins. With two, the spin is what makes the second thread pay: on a b6c96
9x9 selfplay run (bench/selfplay_bench.py, batch 11) it gave 438 NN evals/s against 308 with one
thread, while OMP_WAIT_POLICY=PASSIVE gave 315, no better than one thread. Under contention the
answer is fewer threads, not sleeping ones (one busy process: 1 thread 309, 2 spinning 125,
2 passive 281), so a box shared by several daemons gives each its cores (`taskset`, which the
plan honours, or numEigenThreadsPerModel).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Mapping, MutableMapping, Optional

__all__ = ["ENV_DEFAULTS", "ThreadPlan", "available_cores", "prepare_environment",
           "resolve_device", "plan_threads", "apply_threads", "environment_help"]

log = logging.getLogger(__name__)

# name -> (value, why). Shown in every daemon's --help (environment_help).
ENV_DEFAULTS: Mapping[str, tuple[str, str]] = {
    "OPENBLAS_NUM_THREADS": ("1", "numpy's BLAS pool, whose threads spin after each call: "
                             "goloop's numpy work is small, and the net's threads are torch's."),
}


def prepare_environment(environ: Optional[MutableMapping[str, str]] = None) -> dict[str, str]:
    """Set each ENV_DEFAULTS variable the environment lacks; returns what was set.

    Must run before numpy or torch is imported (they read these once, at load)."""
    env = os.environ if environ is None else environ
    done = {}
    for name, (value, _) in ENV_DEFAULTS.items():
        if name not in env:
            env[name] = value
            done[name] = value
    return done


def environment_help() -> str:
    """The `Environment` section of a daemon's --help."""
    lines = [f"{name}={value}: {why}" for name, (value, why) in ENV_DEFAULTS.items()]
    lines.append("(set by goloop only when the environment does not already set it; torch's "
                 "own pools follow numEigenThreadsPerModel and the cores of `taskset`)")
    return "\n".join(lines)


def available_cores() -> int:
    """Cores this process may run on: its affinity mask (taskset, cpusets), else the count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_device(name: str) -> str:
    """`auto` means the first CUDA device when there is one, else the CPU."""
    if name != "auto":
        return name
    import torch
    return "cuda:0" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class ThreadPlan:
    """The CPU threads one process gives torch, and where the numbers came from (for the log)."""

    device: str
    intra_op: int
    inter_op: int
    cores: int
    source: str     # "numEigenThreadsPerModel", "default" or "gpu"

    def fields(self) -> dict:
        return dict(device=self.device, intra_op_threads=self.intra_op,
                    inter_op_threads=self.inter_op, cores_available=self.cores, source=self.source)


def plan_threads(device: str, requested: Optional[int], concurrent_evals: int,
                 busy_threads: int = 0, cores: Optional[int] = None) -> ThreadPlan:
    """The thread plan of the module docstring.

    requested: `numEigenThreadsPerModel` (None when the config leaves it unset);
    concurrent_evals: positions the search may have in flight at once (KataGo's
    expectedConcurrentEvals: search threads, times games or analysis threads);
    busy_threads: threads that keep computing while the net runs."""
    cores = available_cores() if cores is None else cores
    if not str(device).startswith("cpu"):
        return ThreadPlan(str(device), 1, 1, cores, "gpu")
    if requested is not None:
        if requested < 1:
            raise ValueError(f"numEigenThreadsPerModel must be at least 1, got {requested}")
        return ThreadPlan(str(device), requested, 1, cores, "numEigenThreadsPerModel")
    free = max(1, cores - max(0, busy_threads))
    return ThreadPlan(str(device), max(1, min(max(1, concurrent_evals), free)), 1, cores, "default")


def apply_threads(plan: ThreadPlan, logger: Optional[logging.Logger] = None) -> None:
    """Give torch the plan's pools and log it."""
    import torch
    logger = logger or log
    torch.set_num_threads(plan.intra_op)
    if torch.get_num_interop_threads() != plan.inter_op:
        try:
            torch.set_num_interop_threads(plan.inter_op)
        except RuntimeError as e:  # only settable before the first inter-op work of the process
            logger.warning("torch inter-op threads already fixed at %d (%s)",
                           torch.get_num_interop_threads(), e)
    from goloop.common.logs import kv
    logger.info("cpu threads", extra=kv(**plan.fields()))
    if plan.source == "numEigenThreadsPerModel" and plan.intra_op > plan.cores:
        logger.warning("numEigenThreadsPerModel = %d exceeds the %d cores this process may use: "
                       "its threads will compete with each other", plan.intra_op, plan.cores)

