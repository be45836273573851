"""loop/balance.py: the self-balancing of the synchronous loop, on tables of measurements."""
from __future__ import annotations

import pytest

from goloop.common.config import load_config
from goloop.loop.balance import Knobs, Measure, initial_knobs, next_knobs, samples_per_epoch_for
from goloop.loop.config import LoopConfig


def cfg(**kw):
    return load_config(LoopConfig, None, [{k: str(v) for k, v in kw.items()}])


def test_initial_knobs_follow_the_config():
    k = initial_knobs(cfg(numGamesPerCycle=50, maxTrainPerData=4, batchSize=64), 20.0)
    assert k.games_per_cycle == 50 and k.train_per_data == 4
    assert k.samples_per_epoch % 64 == 0 and k.samples_per_epoch == int(0.9 * 4 * 1000 // 64) * 64


def test_samples_per_epoch_is_under_the_bucket_a_cycle_adds():
    for tpd, rows, batch in [(4, 1000, 64), (8, 250, 128), (1, 10, 128), (16, 10_000, 256)]:
        e = samples_per_epoch_for(tpd, rows, batch)
        assert e % batch == 0 and e >= batch
        assert e <= max(batch, tpd * rows)


def test_games_follow_the_cycle_target():
    c = cfg(targetCycleMinutes=4, selfplayTrainRatio=4)
    k = Knobs(64, 4.0, 4096)
    # 64 games in 480 s: 7.5 s a game; a 240 s cycle with 20 s of other stages leaves 220 s,
    # 176 s of it for selfplay: 23 games, but a step moves at most a factor 2: 32.
    m = Measure(games=64, rows=1280, selfplay_seconds=480, train_samples=5120, train_seconds=60,
                other_seconds=20)
    new, why = next_knobs(c, k, m)
    assert new.games_per_cycle == 32
    assert any("games per cycle 64 -> 32" in r for r in why)


def test_training_per_row_moves_toward_the_ratio():
    c = cfg(targetCycleMinutes=4, selfplayTrainRatio=4, minTrainPerData=1, maxTrainPerDataCap=16)
    k = Knobs(24, 4.0, 1728)
    # Selfplay 180 s, training 90 s: ratio 2, twice too much training. At 56.9 samples/s the
    # target (ratio 4) is 45 s of training: half the samples, damped to a factor 1.5: 4 -> 2.67.
    m = Measure(games=24, rows=480, selfplay_seconds=180, train_samples=1920, train_seconds=90,
                other_seconds=15)
    new, why = next_knobs(c, k, m)
    assert new.train_per_data == pytest.approx(2.67, abs=0.01)
    assert any("training per new row 4 -> 2.67" in r for r in why)


def test_bounds_hold():
    c = cfg(minGamesPerCycle=10, maxGamesPerCycle=40, minTrainPerData=2, maxTrainPerDataCap=6)
    k = Knobs(40, 6.0, 4096)
    fast = Measure(games=40, rows=800, selfplay_seconds=10, train_samples=100, train_seconds=100,
                   other_seconds=0)
    new, _ = next_knobs(c, k, fast)
    assert new.games_per_cycle == 40 and 2 <= new.train_per_data <= 6


def test_nothing_measured_changes_nothing():
    c = cfg()
    k = initial_knobs(c)
    assert next_knobs(c, k, Measure(0, 0, 0.0, 0, 0.0, 0.0)) == (k, [])


def test_no_training_yet_keeps_training_per_row():
    c = cfg(targetCycleMinutes=4)
    k = Knobs(64, 4.0, 4096)
    m = Measure(games=64, rows=1000, selfplay_seconds=200, train_samples=0, train_seconds=3,
                other_seconds=5)
    new, _ = next_knobs(c, k, m)
    assert new.train_per_data == 4.0


def test_a_random_net_cycle_changes_only_the_epoch():
    """The random net's games are nearly free: timing them would double the games of the next
    cycle (played with a real net) and cut its training per row."""
    c = cfg(targetCycleMinutes=4, selfplayTrainRatio=4, batchSize=128)
    k = Knobs(80, 4.0, 5760)
    m = Measure(games=80, rows=2824, selfplay_seconds=59, train_samples=2816, train_seconds=12,
                other_seconds=7, random_net=True)
    new, why = next_knobs(c, k, m)
    assert (new.games_per_cycle, new.train_per_data) == (80, 4.0)
    assert new.samples_per_epoch == samples_per_epoch_for(4.0, 2824, 128) != 5760
    assert len(why) == 1 and "random net" in why[0]


def test_the_epoch_never_exceeds_what_this_cycles_rows_add():
    from goloop.loop.run import epoch_for_rows
    k = Knobs(80, 4.0, 5760)
    assert epoch_for_rows(k, 2000, 128) == 5760            # planned epoch fits 4 x 2000
    assert epoch_for_rows(k, 1000, 128) == 3968            # shorter games: 4 x 1000, whole batches
    assert epoch_for_rows(k, 10, 128) == 128               # at least one batch
    assert epoch_for_rows(k, 0, 128) == 5760               # nothing measured: as planned
