"""Many games in one process, their NN queries batched together.

Why coroutines: a selfplay game is a long chain of searches (the moves, the short searches
that make komi fair, raw evaluations for opening moves, forks and side positions). Written as
a plain generator per game, the game reads top to bottom like KataGo's Play::runGame, and the
scheduler below interleaves hundreds of them so every forward pass carries one leaf from each.

The protocol: a game coroutine is a generator that yields a list of `Searcher`s on which it
has called `begin(...)`; it is resumed (with `next`) once every one of them is done, and reads
their results itself. Its `return` value is the game's result. Nothing else is shared. Each
forward pass evaluates rows of one net: while games switch to a new model, the searches of
the old and the new net take turns.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Generator, List, Sequence

from goloop.common.search import core as search_core

Coroutine = Generator[Sequence, None, object]


def run_sync(coroutine: Coroutine, evaluator=None, pos_len: int = 19, batch_size: int = 64):
    """Drive one coroutine to its end (tests, one-off tools). Returns its return value.
    (`evaluator` is unused: each Searcher brings its own net.)"""
    sched = Scheduler(pos_len, batch_size)
    sched.add(coroutine)
    results = []
    while sched.busy:
        results.extend(sched.step())
    return results[0][1]


@dataclass
class _Task:
    coroutine: Coroutine
    tag: object
    waiting: List = field(default_factory=list)   # Searchers it waits on
    result: object = None


@dataclass
class SchedulerStats:
    """Where the time goes, for the daemon's log lines."""

    forward_passes: int = 0
    rows_evaluated: int = 0
    nn_seconds: float = 0.0        # inside evaluator.raw
    total_seconds: float = 0.0     # inside step()

    @property
    def average_batch(self) -> float:
        return self.rows_evaluated / self.forward_passes if self.forward_passes else 0.0


class Scheduler:
    """Runs coroutines until each returns; one forward pass per step over all waiting searches."""

    def __init__(self, pos_len: int = 19, batch_size: int = 128):
        """`pos_len`: the tensor every board is evaluated in (the largest board played), fixed
        so that the net sees few distinct input shapes, as KataGo's nnXLen/nnYLen."""
        if batch_size < 8:
            raise ValueError(f"batch size must be at least 8 (a root evaluates up to 8 symmetries), "
                             f"got {batch_size}")
        self.batch_size = batch_size
        self._tasks: List[_Task] = []
        self._buffers = search_core.BatchBuffers(batch_size, pos_len, pos_len)
        self._rotate = 0
        self._returned: list = []   # (tag, result) not yet handed out by step()
        self.stats = SchedulerStats()

    @property
    def busy(self) -> bool:
        return bool(self._tasks or self._returned)

    def __len__(self) -> int:
        return len(self._tasks)

    def add(self, coroutine: Coroutine, tag=None) -> None:
        """Start a coroutine; it runs up to its first yield now."""
        task = _Task(coroutine, tag)
        if self._advance(task):
            self._tasks.append(task)
        else:
            self._returned.append((task.tag, task.result))

    def _advance(self, task: _Task) -> bool:
        """Resume until the coroutine waits on unfinished searches; False when it returned."""
        while True:
            try:
                searchers = next(task.coroutine)
            except StopIteration as stop:
                task.result = stop.value
                return False
            task.waiting = list(searchers)
            if any(not s.core.done for s in task.waiting):
                return True

    def step(self) -> list:
        """One forward pass over the leaves of all waiting searches, then resume every
        coroutine whose searches are all done. Returns [(tag, result)] of the coroutines that
        returned in this step."""
        t0 = time.perf_counter()
        finished, self._returned = self._returned, []
        live = [s for t in self._tasks for s in t.waiting if not s.core.done]
        by_net: dict = {}
        for s in live:
            by_net.setdefault(id(s.evaluator), (s.evaluator, []))[1].append(s.core)
        for evaluator, cores in by_net.values():
            self._forward(evaluator, cores)
        keep = []
        for task in self._tasks:
            if all(s.core.done for s in task.waiting):
                if not self._advance(task):
                    finished.append((task.tag, task.result))
                    continue
            keep.append(task)
        self._tasks = keep
        self.stats.total_seconds += time.perf_counter() - t0
        return finished

    def _forward(self, evaluator, cores: list) -> None:
        """Gather leaves from the cores (rotating who goes first so a full batch starves
        nobody), evaluate once, hand results back."""
        buf = self._buffers
        buf.reset()
        k = self._rotate % len(cores)
        self._rotate += 1
        order = cores[k:] + cores[:k]
        gathered = []
        for c in order:
            c.gather(buf)
            gathered.append(c)
            if buf.n >= buf.capacity:
                break
        n = buf.n
        if n:
            t = time.perf_counter()
            out = evaluator.raw(buf.spatial[:n], buf.global_[:n], buf.symmetries[:n])
            self.stats.nn_seconds += time.perf_counter() - t
            self.stats.forward_passes += 1
            self.stats.rows_evaluated += n
            for c in gathered:
                c.apply(buf, *out)
