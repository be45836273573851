"""Train-bucket arithmetic on a table of cases (shuffler-and-window.md §8), and the file intake:
newest shuffle, row counts, KataGo's file queue with and without no_repeat_files."""
import json
import os
import random
import time

import pytest

from goloop.trainer import bucket
from goloop.trainer.datafiles import (
    FileQueue,
    RowCounts,
    files_for_subepoch,
    latest_data_dir,
    read_range,
)

SPE = 100_000   # samples per epoch (the synchronous loop's)

# (state before, total rows of the new shuffle, R, S) -> (state after)
REFILL_CASES = [
    # first shuffle seen: existing rows earn nothing
    ({"train_bucket_level": SPE}, 50_000, 8.0, 500_000,
     {"train_bucket_level": SPE, "train_bucket_level_at_row": 50_000}),
    # 10k new rows x 8 = 80k
    ({"train_bucket_level": 30_000, "train_bucket_level_at_row": 50_000}, 60_000, 8.0, 500_000,
     {"train_bucket_level": 110_000, "train_bucket_level_at_row": 60_000}),
    # capped at max(S, one epoch)
    ({"train_bucket_level": 450_000, "train_bucket_level_at_row": 50_000}, 60_000, 8.0, 500_000,
     {"train_bucket_level": 500_000, "train_bucket_level_at_row": 60_000}),
    ({"train_bucket_level": 0, "train_bucket_level_at_row": 0}, 1_000_000, 4.0, 10.0,
     {"train_bucket_level": SPE, "train_bucket_level_at_row": 1_000_000}),
    # fractional rate
    ({"train_bucket_level": 0.0, "train_bucket_level_at_row": 100}, 103, 0.5, 1e30,
     {"train_bucket_level": 1.5, "train_bucket_level_at_row": 103}),
    # same shuffle again: nothing
    ({"train_bucket_level": 7.0, "train_bucket_level_at_row": 60_000}, 60_000, 8.0, 500_000,
     {"train_bucket_level": 7.0, "train_bucket_level_at_row": 60_000}),
    # rows went backwards (data deleted, net moved to another run): mark reset, no credit
    ({"train_bucket_level": 7.0, "train_bucket_level_at_row": 60_000}, 20_000, 8.0, 500_000,
     {"train_bucket_level": 7.0, "train_bucket_level_at_row": 20_000}),
]


@pytest.mark.parametrize("before, total, rate, cap, after", REFILL_CASES)
def test_refill(before, total, rate, cap, after):
    state = dict(before)
    bucket.refill(state, total, rate, cap, SPE)
    assert state == after


# (level, samples per epoch) -> (may train, level after)
TAKE_CASES = [
    (SPE, SPE, True, 0),
    (0.991 * SPE, SPE, True, 0.991 * SPE - SPE),       # more than 99 % of an epoch is enough
    (0.99 * SPE, SPE, False, 0.99 * SPE),              # exactly 99 % is not
    (2.5 * SPE, SPE, True, 1.5 * SPE),
    (0, SPE, False, 0),
]


@pytest.mark.parametrize("level, spe, ok, level_after", TAKE_CASES)
def test_take_epoch(level, spe, ok, level_after):
    state = {"train_bucket_level": level}
    assert bucket.take_epoch(state, 8.0, spe) is ok
    assert state["train_bucket_level"] == pytest.approx(level_after)


def test_without_a_rate_there_is_no_bucket():
    state = {}
    bucket.init_bucket(state, None, SPE)
    assert state == {} and bucket.take_epoch(state, None, SPE) and bucket.refill(state, 10, None, 1, SPE) == {}
    bucket.init_bucket(state, 2.0, SPE)
    assert state == {"train_bucket_level": SPE}           # a fresh run gets one free epoch
    bucket.init_bucket(state, 2.0, 5)
    assert state == {"train_bucket_level": SPE}           # never reset once it exists


def test_a_synchronous_loop_trains_r_samples_per_new_row():
    """Sync loop: R = 8, S = 500k, epoch 100k; 12.5k new rows per cycle pay exactly one epoch."""
    state = {}
    bucket.init_bucket(state, 8.0, SPE)
    epochs = []
    rows = 100_000
    for _cycle in range(5):
        bucket.refill(state, rows, 8.0, 500_000, SPE)
        n = 0
        while bucket.take_epoch(state, 8.0, SPE):
            n += 1
        epochs.append(n)
        rows += 12_500
    assert epochs == [1, 1, 1, 1, 1]


def test_reload_limit():
    state = {"train_steps_since_last_reload": 150_000}
    assert not bucket.reload_limited(state, None, SPE, 1)
    assert bucket.reload_limited(state, 200_000, SPE, 1)        # 150k + 99k > 200k
    assert not bucket.reload_limited(state, 200_000, SPE, 2)    # 150k + 49.5k <= 200k


# ------------------------------------------------------------------------------------------------
# Data intake


def _touch(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    path.with_suffix(".json").write_text(json.dumps({"num_rows": rows}))


def test_latest_data_dir_skips_tmp_and_reads_the_range(tmp_path):
    assert latest_data_dir(str(tmp_path / "missing")) is None
    old, new, tmp = tmp_path / "20240101-000000", tmp_path / "20240102-000000", tmp_path / "20240103-000000.tmp"
    for d in (old, new, tmp):
        d.mkdir()
    now = time.time()
    os.utime(old, (now - 100, now - 100))
    os.utime(new, (now - 50, now - 50))
    os.utime(tmp, (now, now))
    assert latest_data_dir(str(tmp_path)) == str(new)
    assert read_range(str(new)) is None                      # not published completely yet
    (new / "train.json").write_text('{"range": [5, 1234]}')
    assert read_range(str(new)) == (5, 1234)


def test_row_counts_prefer_index_json(tmp_path):
    _touch(tmp_path / "data0.npz", 100)
    rows = RowCounts()
    assert rows(str(tmp_path / "data0.npz")) == 100
    (tmp_path / "index.json").write_text(json.dumps({"files": [{"name": "data0.npz", "num_rows": 7}]}))
    assert RowCounts()(str(tmp_path / "data0.npz")) == 7


def test_no_repeat_files_uses_each_file_once_across_restarts(tmp_path):
    for i in range(4):
        _touch(tmp_path / "train" / f"data{i}.npz", 640)
    state: dict = {}
    rng = random.Random(1)
    queue = FileQueue(state, no_repeat_files=True)
    assert queue.set_dir(str(tmp_path / "train"), rng)
    first = files_for_subepoch(queue, RowCounts(), 64, 1280, 1, rng)
    assert len(first) == 2                                 # 10 batches per file, 20 wanted
    restarted = FileQueue(state, no_repeat_files=True)     # a restart keeps the bookkeeping
    assert restarted.set_dir(str(tmp_path / "train"), rng)
    second = files_for_subepoch(restarted, RowCounts(), 64, 1280, 1, rng)
    assert {p for p, _ in first}.isdisjoint({p for p, _ in second}) and len(second) == 2
    assert files_for_subepoch(restarted, RowCounts(), 64, 1280, 1, rng) is None
    assert not FileQueue(state, no_repeat_files=True).set_dir(str(tmp_path / "train"), rng)


def test_repeating_passes_keep_files_apart(tmp_path):
    """Without no_repeat_files a finished pass is reshuffled so that a file never recurs within
    about a third of the dataset: files from the last third of the previous pass become
    eligible one by one."""
    n = 30
    for i in range(n):
        _touch(tmp_path / "train" / f"data{i:02d}.npz", 64)
    state: dict = {}
    rng = random.Random(5)
    queue = FileQueue(state, no_repeat_files=False)
    assert queue.set_dir(str(tmp_path / "train"), rng)
    order = [queue.pop(rng) for _ in range(3 * n)]
    for p in range(2):
        prev, nxt = order[p * n:(p + 1) * n], order[(p + 1) * n:(p + 2) * n]
        assert sorted(prev) == sorted(nxt)                 # each pass uses every file once
        min_gap = n - (2 * n + 1) // 3 + 1
        assert all((n - prev.index(f)) + nxt.index(f) >= min_gap for f in prev)


def test_small_files_are_skipped_and_overshooting_files_wait(tmp_path):
    _touch(tmp_path / "train" / "tiny.npz", 10)            # less than one batch
    for i in range(3):
        _touch(tmp_path / "train" / f"big{i}.npz", 640)
    state: dict = {}
    rng = random.Random(0)
    queue = FileQueue(state, no_repeat_files=True)
    queue.set_dir(str(tmp_path / "train"), rng)
    chosen = files_for_subepoch(queue, RowCounts(), 64, 1500, 1, rng)   # 23.4 batches wanted
    assert all("tiny" not in p for p, _ in chosen) and 2 <= len(chosen) <= 3
    assert any("tiny" in p for p in state["data_files_used"])          # consumed anyway
