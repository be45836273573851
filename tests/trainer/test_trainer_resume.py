"""Exact resume: two epochs in one run equal one epoch, a restart, and one more (bit for bit:
weights, optimizer, EMA, seki average, counters, file bookkeeping); SIGINT finishes the step,
saves a checkpoint and exits 0, giving unread files and untrained samples back."""
import json
import os
import signal
import subprocess
import sys
import time

import torch
from trainer_testdata import write_shuffle

from goloop.common.config import load_config
from goloop.trainer.config import TrainConfig
from goloop.trainer.daemon import run_train


def make_data(base):
    d = base / "shuffleddata" / "20240101-000000"
    write_shuffle(d, (0, 224), name="data0", total_rows=448)
    write_shuffle(d, (224, 448), name="data1", total_rows=448)
    return d


def cfg_for(base, **over) -> TrainConfig:
    keys = dict(base_dir=str(base), name="t", model_kind="b2c16", pos_len=9, batch_size=64,
                samples_per_epoch=192, swa_period_samples=64, lookahead_k=2, seed=7, cpu_threads=1,
                print_every_batches=2, quit_if_no_data=True)
    keys.update(over)
    return load_config(TrainConfig, None, keys)


def assert_same_checkpoint(a: dict, b: dict) -> None:
    for key in ("model", "swa_model"):
        assert sorted(a[key]) == sorted(b[key])
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), f"{key}.{name}"
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert sorted(sa) == sorted(sb)
    for i in sa:
        assert torch.equal(sa[i]["momentum_buffer"], sb[i]["momentum_buffer"]), f"momentum {i}"
    assert a["metrics"] == b["metrics"]
    assert a["train_state"] == b["train_state"]
    assert a["running_metrics"]["sums"] == b["running_metrics"]["sums"]


def test_resume_reproduces_the_next_epoch_bit_for_bit(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    for base in (straight, resumed):
        make_data(base)
    assert run_train(cfg_for(straight, max_epochs_this_instance=2), progress=False) == 0
    assert run_train(cfg_for(resumed, max_epochs_this_instance=1), progress=False) == 0
    first = torch.load(resumed / "train" / "t" / "checkpoint.ckpt", weights_only=True)
    assert first["train_state"]["global_step_samples"] == 192
    assert run_train(cfg_for(resumed, max_epochs_this_instance=1, seed=99), progress=False) == 0  # seed kept
    a = torch.load(straight / "train" / "t" / "checkpoint.ckpt", weights_only=True)
    b = torch.load(resumed / "train" / "t" / "checkpoint.ckpt", weights_only=True)
    assert a["train_state"]["global_step_samples"] == 384
    # The paths of the two data directories differ, and a restart re-reads the shuffle, which
    # restarts train_steps_since_last_reload (as in KataGo); everything else must be identical.
    for ckpt, base in ((a, straight), (b, resumed)):
        ts = ckpt["train_state"]
        ts.pop("train_steps_since_last_reload")
        for key in ("data_files_used", "rev_data_files_remaining", "old_train_data_dirs"):
            ts[key] = [os.path.relpath(p, base) for p in ts[key]]
    assert_same_checkpoint(a, b)
    # Both data files were used once, one per epoch; two exports, rotated checkpoints.
    assert sorted(a["train_state"]["data_files_used"]) == sorted(
        ["shuffleddata/20240101-000000/train/data0.npz", "shuffleddata/20240101-000000/train/data1.npz"])
    assert sorted(os.listdir(resumed / "torchmodels_toexport")) == ["t-s192-d448", "t-s384-d448"]
    assert os.path.exists(resumed / "train" / "t" / "checkpoint_prev0.ckpt")


def test_sigint_finishes_the_step_saves_and_exits_zero(tmp_path):
    make_data(tmp_path)
    write_shuffle(tmp_path / "shuffleddata" / "20240101-000000", (0, 1792), name="data2", total_rows=448)
    cmd = [sys.executable, "-m", "goloop", "train", "--base-dir", str(tmp_path), "--name", "t",
           "--model-config", "b2c16", "-pos-len", "9", "-batch-size", "64", "-samples-per-epoch", "1792",
           "--seed", "3", "--no-progress", "-max-train-bucket-per-new-data", "1",
           "--override", "cpu_threads=1,print_every_batches=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    metrics = tmp_path / "train" / "t" / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and metrics.read_text().count("\n") >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.stdout.read()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "saved checkpoint after stop" in out
    state = torch.load(tmp_path / "train" / "t" / "checkpoint.ckpt", weights_only=True)["train_state"]
    trained = state["global_step_samples"]
    assert 0 < trained < 1792 and trained % 64 == 0
    # The whole interrupted epoch went back into the bucket (one free epoch at the start), so a
    # restart trains a full epoch and exports it instead of stopping just short of one.
    assert state["train_bucket_level"] == 1792
    # Files the interrupted epoch never opened are queued again, not marked used.
    assert len(state["data_files_used"]) + len(state["rev_data_files_remaining"]) == 3
    exports = tmp_path / "torchmodels_toexport"
    assert not exports.exists() or not os.listdir(exports)
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert all("loss" in r for r in records)
