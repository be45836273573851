"""goloop.common.play.scheduler: many game coroutines, one forward pass per net per step.

Real searches on KataGo's random net (RandomEvaluator, counting the rows of each forward pass)
on 7x7: the batches must carry exactly the rows the searches gathered when padding is off (so
selfplay's batches are what they were), padded sizes when it is on (the gatekeeper), one pass
per net per step, and GTP-style Future waits must resume their games.
"""
from __future__ import annotations

import concurrent.futures as cf
import time
import zlib

import numpy as np
import pytest

from goloop.common.go.history import History
from goloop.common.go.rules import parse_rules
from goloop.common.nn.randomnet import RandomEvaluator
from goloop.common.play.scheduler import Scheduler, padded_batch, run_sync
from goloop.common.search.params import SearchParams
from goloop.common.search.searcher import Searcher


class CountingNet(RandomEvaluator):
    """KataGo's random net, recording the batch size of every forward pass."""

    def __init__(self, seed):
        super().__init__(seed)
        self.batches = []

    def raw(self, spatial, global_, symmetries):
        self.batches.append(len(spatial))
        return super().raw(spatial, global_, symmetries)


def game(net, seed, moves=6, visits=12):
    """Coroutine: `moves` searched moves of a 7x7 game; returns the moves played."""
    s = Searcher(net, SearchParams(maxVisits=visits, numSearchThreads=1), seed=seed)
    h = History(parse_rules("chinese"), 7)
    for _ in range(moves):
        s.set_position(h)
        s.begin(max_visits=visits)
        yield [s]
        h.play(s.choose_move(), h.next_player)
    return list(h.moves)


def run_all(sched, games):
    for tag, g in enumerate(games):
        sched.add(g, tag)
    out = {}
    while sched.busy:
        out.update(sched.step())
    return out


def test_padded_batch_sizes():
    assert [padded_batch(n, 1000) for n in range(1, 14)] == [1, 2, 3, 4, 6, 6, 8, 8, 12, 12, 12,
                                                             12, 16]
    assert padded_batch(17, 1000) == 24 and padded_batch(25, 1000) == 32
    assert padded_batch(100, 64) == 64


def test_without_padding_each_pass_has_exactly_the_rows_gathered():
    net = CountingNet(1)
    sched = Scheduler(7, 64)
    out = run_all(sched, [game(net, seed) for seed in range(5)])
    assert sorted(out) == list(range(5)) and all(len(m) == 6 for m in out.values())
    s = sched.stats
    # Every pass is at least its rows, so equal sums mean every pass was exactly its rows.
    assert sum(net.batches) == s.rows_evaluated and len(net.batches) == s.forward_passes
    assert max(net.batches) > 1                       # the games did share passes
    assert s.rows_by_net == {"net": s.rows_evaluated}
    assert s.average_batch == pytest.approx(s.rows_evaluated / s.forward_passes)


@pytest.mark.filterwarnings("ignore:divide by zero")   # the random net on empty padding rows
def test_with_padding_passes_run_at_padded_sizes():
    net = CountingNet(1)
    sched = Scheduler(7, 64, pad_batches=True)
    run_all(sched, [game(net, seed) for seed in range(5)])
    sizes = {padded_batch(n, 64) for n in range(1, 65)}
    assert set(net.batches) <= sizes
    assert sum(net.batches) >= sched.stats.rows_evaluated
    assert len(net.batches) == sched.stats.forward_passes


def test_one_pass_per_net_per_step_with_stats_by_name():
    a, b = CountingNet(1), CountingNet(2)
    sched = Scheduler(7, 64)
    sched.name_net(a, "a")
    sched.name_net(b, "b")
    for tag, g in enumerate([game(a, 1), game(b, 2), game(a, 3), game(b, 4)]):
        sched.add(g, tag)
    steps = 0
    while sched.busy:
        before = len(a.batches), len(b.batches)
        sched.step()
        steps += 1
        assert len(a.batches) - before[0] <= 1 and len(b.batches) - before[1] <= 1
    s = sched.stats
    assert s.rows_by_net == {"a": sum(a.batches), "b": sum(b.batches)}
    assert s.passes_by_net == {"a": len(a.batches), "b": len(b.batches)}
    assert s.forward_passes == len(a.batches) + len(b.batches) <= 2 * steps


def test_a_small_batch_still_serves_every_game():
    # More waiting searches than one pass holds: rotation lets every game move on.
    net = CountingNet(3)
    sched = Scheduler(7, 8)
    out = run_all(sched, [game(net, seed, moves=3) for seed in range(12)])
    assert len(out) == 12 and max(net.batches) <= 8


def test_future_waits_resume_their_games_beside_searches():
    net = CountingNet(4)

    def engine_game(pool, value):
        f = pool.submit(lambda: (time.sleep(0.05), value)[1])
        yield [f]
        first = f.result()
        s = Searcher(net, SearchParams(maxVisits=8), seed=value)
        s.set_position(History(parse_rules("chinese"), 7))
        s.begin(max_visits=8)
        g = pool.submit(lambda: value + 1)
        yield [s, g]                                 # a search and a reply at once
        return first, g.result(), s.core.root_visits

    with cf.ThreadPoolExecutor(2) as pool:
        sched = Scheduler(7, 16)
        out = run_all(sched, [engine_game(pool, 10), game(net, 5, moves=2), engine_game(pool, 20)])
    assert out[0][:2] == (10, 11) and out[2][:2] == (20, 21)
    assert out[0][2] >= 8 and len(out[1]) == 2


def test_coroutines_that_return_at_once_and_run_sync():
    def instant():
        return 7
        yield

    sched = Scheduler(7, 8)
    sched.add(instant(), "x")
    assert sched.busy and len(sched) == 0
    assert sched.step() == [("x", 7)] and not sched.busy
    assert run_sync(game(CountingNet(6), 1, moves=2), pos_len=7) is not None


def test_batch_size_below_a_roots_symmetries_is_refused():
    with pytest.raises(ValueError, match="at least 8"):
        Scheduler(7, 4)


def test_same_games_same_results_run_together_or_one_by_one():
    # With a net whose output for a row depends on that row alone (as a real net's does, up to
    # float rounding), sharing forward passes changes nothing a game sees.
    net = RandomEvaluatorPerRow(0)
    together = run_all(Scheduler(7, 64), [game(net, s) for s in range(3)])
    alone = {s: run_sync(game(RandomEvaluatorPerRow(0), s), pos_len=7) for s in range(3)}
    assert together == alone


class RandomEvaluatorPerRow(RandomEvaluator):
    """Random outputs that depend only on each row's input, not on what else is in the batch."""

    def raw(self, spatial, global_, symmetries):
        outs = []
        for i in range(len(spatial)):
            self._rng = np.random.default_rng(zlib.crc32(spatial[i].tobytes()))
            outs.append(super().raw(spatial[i:i + 1], global_[i:i + 1], symmetries[i:i + 1]))
        return tuple(np.concatenate([o[k] for o in outs]) for k in range(4))
