"""Many games in one process, their searches batched onto one forward pass per net.

Why coroutines: a game is a long chain of searches (the moves; in selfplay also the short
searches that make komi fair, raw evaluations for opening moves, forks and side positions).
Written as a plain generator per game, the game reads top to bottom like KataGo's
Play::runGame, and the scheduler below interleaves hundreds of them so that every forward pass
of a net carries one leaf of every game waiting on that net. KataGo gets the same batching from
one thread per game and an NN server; here the games are coroutines of one thread.

The protocol: a game coroutine is a generator that yields a list of what it waits on, either
`Searcher`s on which it called `begin(...)` or `concurrent.futures.Future`s (a GTP engine's
reply, computed on a worker thread). It is resumed (with `next`) once all of them are done, and
reads their results itself. Its `return` value is the game's result. Nothing else is shared.
Each step runs one forward pass per net over the leaves of every waiting search: while games
switch to a new model, or two nets play each other, the nets' passes take turns.
"""
from __future__ import annotations

import concurrent.futures as cf
import time
from dataclasses import dataclass, field
from typing import Dict, Generator, List, Sequence

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


def padded_batch(n: int, capacity: int) -> int:
    """The batch size a forward pass of `n` rows runs at with padding on: the next of 1, 2, 3,
    4, 6, 8, 12, .. (powers of two and their halfway points), at most `capacity`.

    Why pad: the evaluator traces one TorchScript graph per input shape it sees often (about a
    second each on CPU, per net), and a gating test's batch sizes wander over every value up to
    numGameThreads. Padding bounds the shapes to ~2 log2(capacity), at a cost of at most a third
    more rows (the padding rows are whatever the buffer held; the searches read back only their
    own rows)."""
    size = 1
    while size < n:
        if size < 2:
            size += 1
        else:
            size = size * 3 // 2 if size & (size - 1) == 0 else size * 4 // 3
    return min(size, capacity)


@dataclass
class _Task:
    coroutine: Coroutine
    tag: object
    waiting: List = field(default_factory=list)   # Searchers and Futures it waits on


def _done(item) -> bool:
    """A wait is over: the Future resolved, or the Searcher's search finished."""
    return item.done() if isinstance(item, cf.Future) else item.core.done


@dataclass
class SchedulerStats:
    """Where the time goes, overall and per net (by the name given to `name_net`), for the
    daemons' log lines."""

    forward_passes: int = 0
    rows_evaluated: int = 0        # rows the searches asked for (padding not counted)
    nn_seconds: float = 0.0        # inside evaluator.raw
    total_seconds: float = 0.0     # inside step()
    rows_by_net: Dict[str, int] = field(default_factory=dict)
    passes_by_net: Dict[str, int] = field(default_factory=dict)

    @property
    def average_batch(self) -> float:
        return self.rows_evaluated / self.forward_passes if self.forward_passes else 0.0


class Scheduler:
    """Runs coroutines until each returns; each `step` is one forward pass per net over every
    waiting search."""

    def __init__(self, pos_len: int = 19, batch_size: int = 128, pad_batches: bool = False):
        """`pos_len`: the tensor every board is evaluated in (the largest board played), fixed
        so that the net sees few distinct input shapes, as KataGo's nnXLen/nnYLen.
        `pad_batches`: run each pass at `padded_batch` rows (few shapes for nets loaded
        afresh and played briefly, as in gating tests); off, a pass has exactly the rows
        gathered."""
        if batch_size < 8:
            raise ValueError(f"batch size must be at least 8 (a root evaluates up to 8 "
                             f"symmetries), got {batch_size}")
        self.batch_size = batch_size
        self.pad_batches = pad_batches
        self._buffers = search_core.BatchBuffers(batch_size, pos_len, pos_len)
        self._tasks: List[_Task] = []
        self._returned: list = []   # (tag, result) not yet handed out by step()
        self._rotate = 0
        self._names: Dict[int, str] = {}
        self.stats = SchedulerStats()

    def name_net(self, evaluator, name: str) -> None:
        """Label a net's rows in `stats` (unnamed nets count as "net")."""
        self._names[id(evaluator)] = name

    @property
    def busy(self) -> bool:
        return bool(self._tasks or self._returned)

    def __len__(self) -> int:
        return len(self._tasks)

    def add(self, coroutine: Coroutine, tag=None) -> None:
        """Start a coroutine; it runs up to its first wait now."""
        task = _Task(coroutine, tag)
        if self._advance(task):
            self._tasks.append(task)

    def _advance(self, task: _Task) -> bool:
        """Resume until the coroutine waits on something unfinished; False when it returned
        (its result is then queued for the next `step`)."""
        while True:
            try:
                task.waiting = list(next(task.coroutine))
            except StopIteration as stop:
                self._returned.append((task.tag, stop.value))
                return False
            if not all(_done(w) for w in task.waiting):
                return True

    def step(self) -> list:
        """One forward pass per net over the leaves of all waiting searches (or, when only GTP
        replies are awaited, a short wait for one), then resume every coroutine whose waits are
        over. Returns [(tag, result)] of the coroutines that returned since the last step."""
        t0 = time.perf_counter()
        by_net: dict = {}
        futures = []
        for task in self._tasks:
            for w in task.waiting:
                if isinstance(w, cf.Future):
                    if not w.done():
                        futures.append(w)
                elif not w.core.done:
                    by_net.setdefault(id(w.evaluator), (w.evaluator, []))[1].append(w.core)
        for evaluator, cores in by_net.values():
            self._forward(evaluator, cores)
        if futures and not by_net:
            cf.wait(futures, timeout=0.25, return_when=cf.FIRST_COMPLETED)
        keep = []
        for task in self._tasks:
            if all(_done(w) for w in task.waiting) and not self._advance(task):
                continue
            keep.append(task)
        self._tasks = keep
        finished, self._returned = self._returned, []
        self.stats.total_seconds += time.perf_counter() - t0
        return finished

    def _forward(self, evaluator, cores: list) -> None:
        """Gather leaves from the cores (rotating who goes first so a full batch starves
        nobody), evaluate once, hand results back."""
        buf = self._buffers
        buf.reset()
        k = self._rotate % len(cores)
        self._rotate += 1
        gathered = []
        for c in cores[k:] + cores[:k]:
            c.gather(buf)
            gathered.append(c)
            if buf.n >= buf.capacity:
                break
        n = buf.n
        if n:
            m = padded_batch(n, buf.capacity) if self.pad_batches else n
            t = time.perf_counter()
            out = evaluator.raw(buf.spatial[:m], buf.global_[:m], buf.symmetries[:m])
            s = self.stats
            s.nn_seconds += time.perf_counter() - t
            s.forward_passes += 1
            s.rows_evaluated += n
            name = self._names.get(id(evaluator), "net")
            s.rows_by_net[name] = s.rows_by_net.get(name, 0) + n
            s.passes_by_net[name] = s.passes_by_net.get(name, 0) + 1
            for c in gathered:
                c.apply(buf, *out)
