"""shuffler/daemon.py and `goloop shuffle`: what gets published, when, and what a stop leaves.

The SIGINT and daemon-mode tests run the real command in a subprocess and signal it.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from goloop.common.config import load_config
from goloop.common.files.trainingdata import read_npz
from goloop.shuffler import daemon, window
from goloop.shuffler.config import ShufflerConfig


def _cfg(base, **over):
    keys = {"base-dir": str(base), "min-rows": 1000, "keep-target-rows": "all",
            "approx-rows-per-out-file": 700, "num-processes": 2, "seed": "test"}
    keys.update(over)
    return load_config(ShufflerConfig, None, keys)


def _published(base):
    d = base / "shuffleddata"
    return sorted(p for p in os.listdir(d) if not p.endswith(".tmp")) if d.exists() else []


def test_once_publishes_katago_layout(tmp_path, sample, helpers):
    sizes = [100] * 13 + [300, 170, 410, 90, 260, 333, 200, 150]     # file 19 hashes to val
    paths = helpers.make_basedir(tmp_path, sample, sizes,
                                 model_of=lambda i: "random" if i < 2 else "b6c96-s100")
    cfg = _cfg(tmp_path, **{"min-rows": 600, "expand-window-per-row": 1.0,
                            "taper-window-exponent": 1.0, "max-rows": 1200})
    assert daemon.run_shuffler(cfg, once=True, progress=False) == 0
    (name,) = _published(tmp_path)
    out = tmp_path / "shuffleddata" / name
    # The window: newest files until >= 1200 rows -> 150 + 200 + 333 + 260 + 90 + 410 = 1443.
    total = sum(sizes)
    assert json.load(open(out / "train.json")) == {"range": [total - 1443, total]}
    train, val = helpers.read_dir(out / "train"), helpers.read_dir(out / "val")
    chosen = paths[15:]
    want = sum((helpers.row_digests(read_npz(p)) for p in chosen), Counter())
    got = helpers.row_digests(train) + helpers.row_digests(val)
    assert got == want
    assert {int(v) for v in val["globalTargetsNC"][:, 79]} == {19}
    assert window.md5_split_value(paths[19]) >= 0.95
    assert json.load(open(out / "val.json")) == {"range": [total - 1443, total]}
    index = json.load(open(out / "train" / "index.json"))
    assert sum(f["num_rows"] for f in index["files"]) == len(train["globalTargetsNC"])
    assert os.listdir(tmp_path / "shufflescratch") == []
    summary = json.load(open(tmp_path / "selfplay.summary.json"))
    assert sum(len(d["filename_mtime_num_rowss"]) for d in summary.values()) == 21


def test_katago_written_files_end_to_end(tmp_path, helpers):
    # KataGo's own selfplay file (bare member names, libzip deflate), twice, as two model dirs.
    for i, model in enumerate(["random", "kata1-b6c96-s1"]):
        d = tmp_path / "selfplay" / model / "tdata"
        d.mkdir(parents=True)
        shutil.copy(helpers.SAMPLE, d / f"{0xC0 + i:016X}.npz")
    cfg = _cfg(tmp_path, **{"skip-validate": True, "approx-rows-per-out-file": 1000,
                            "expand-window-per-row": 1.0, "taper-window-exponent": 1.0})
    assert daemon.run_shuffler(cfg, once=True, progress=False) == 0   # window 1000 + 1827 rows
    (name,) = _published(tmp_path)
    got = helpers.read_dir(tmp_path / "shuffleddata" / name / "train")
    want = helpers.row_digests(read_npz(helpers.SAMPLE))
    assert helpers.row_digests(got) == want + want
    assert json.load(open(tmp_path / "shuffleddata" / name / "train.json")) == {"range": [0, 3654]}


def test_below_min_rows_waits_and_publishes_nothing(tmp_path, sample, helpers, caplog):
    helpers.make_basedir(tmp_path, sample, [300, 200])
    with caplog.at_level(logging.INFO, logger="goloop"):
        assert daemon.run_shuffler(_cfg(tmp_path), once=True, progress=False) == 0
    assert _published(tmp_path) == []
    assert any("waiting for more rows" in r.getMessage() for r in caplog.records)


def test_failed_shuffle_is_not_published(tmp_path, sample, helpers):
    paths = helpers.make_basedir(tmp_path, sample, [600, 600])
    for p in paths:         # headers fine, data not: the shuffle itself fails
        helpers.write_data_file(p, helpers.tagged_rows(sample, 0, 600, 0), 1e9, katago_zip=True)
        raw = bytearray(open(p, "rb").read())
        raw[len(raw) // 2:len(raw) // 2 + 200] = bytes(200)
        open(p, "wb").write(bytes(raw))
    assert daemon.run_shuffler(_cfg(tmp_path, **{"skip-validate": True}), once=True, progress=False) == 1
    assert _published(tmp_path) == []
    summary = json.load(open(tmp_path / "selfplay.summary.json"))
    (d,) = summary.values()
    assert all(size_pos_reason[2] for size_pos_reason in d["goloop_files"].values())


def test_restart_resumes_from_the_published_range(tmp_path, sample, helpers):
    helpers.make_basedir(tmp_path, sample, [600, 600])
    cfg = _cfg(tmp_path, **{"skip-validate": True, "reshuffle-min-new-rows": 500})
    assert daemon.run_shuffler(cfg, once=True, progress=False) == 0
    stop = daemon._Stop()
    again = daemon.Shuffler(cfg, stop, progress=False)
    assert again.last_end == 1200
    assert again.cycle(force=False) == "not-due"
    helpers.write_data_file(tmp_path / "selfplay/b6c96-s1/tdata/00000000000000AA.npz",
                            helpers.tagged_rows(sample, 50, 499, 1), 3e9)
    assert again.cycle(force=False) == "not-due"
    helpers.write_data_file(tmp_path / "selfplay/b6c96-s1/tdata/00000000000000AB.npz",
                            helpers.tagged_rows(sample, 51, 1, 1), 3e9)
    assert again.cycle(force=False) == "shuffled"
    assert again.last_end == 1700


def test_cleanup_keeps_what_a_trainer_may_read(tmp_path):
    d = tmp_path / "shuffleddata"
    now = 1_000_000.0
    ages = {"a": 10 * 3600, "b": 9 * 3600, "c": 8 * 3600, "d": 7 * 3600, "e": 3 * 3600,
            "f": 3600, "g": 60}
    for name, age in ages.items():
        (d / name).mkdir(parents=True)
        os.utime(d / name, (now - age, now - age))
    (d / "old.tmp" / "train").mkdir(parents=True)       # a killed shuffle's leftover
    for p in (d / "old.tmp", d / "old.tmp" / "train"):
        os.utime(p, (now - 5 * 3600, now - 5 * 3600))
    (d / "live.tmp" / "train").mkdir(parents=True)      # a shuffle being written: train/ is fresh
    os.utime(d / "live.tmp", (now - 5 * 3600, now - 5 * 3600))
    os.utime(d / "live.tmp" / "train", (now - 30, now - 30))
    removed = daemon.cleanup_old_shuffles(str(d), keep=3, age_seconds=7200, now=now)
    # Older than 2 h: a..e; the newest three of them stay; younger ones are never touched.
    assert sorted(os.path.basename(p) for p in removed) == ["a", "b", "old.tmp"]
    assert sorted(os.listdir(d)) == ["c", "d", "e", "f", "g", "live.tmp"]


def _cli(base, *args):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "goloop", "shuffle", "--base-dir", str(base),
                             "--no-progress", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_sigint_mid_shuffle_publishes_nothing(tmp_path, sample, helpers):
    helpers.make_basedir(tmp_path, sample, [1827] * 24)
    proc = _cli(tmp_path, "--once", "-min-rows", "1000", "-keep-target-rows", "all",
                "-expand-window-per-row", "1", "-taper-window-exponent", "1",
                "-approx-rows-per-out-file", "1000", "-num-processes", "1")
    scratch = tmp_path / "shufflescratch"
    shards = lambda: any(files for _, _, files in os.walk(scratch))   # noqa: E731
    try:
        assert _wait_for(shards), "the shuffle never started"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "shuffle in progress discarded" in out
    assert "published shuffle dir=" not in out
    assert os.listdir(tmp_path / "shuffleddata") == []
    assert not any(files for _, _, files in os.walk(scratch))


def test_daemon_reshuffles_when_rows_arrive(tmp_path, sample, helpers):
    helpers.make_basedir(tmp_path, sample, [700, 700])
    proc = _cli(tmp_path, "-min-rows", "1000", "-keep-target-rows", "all", "-num-processes", "1",
                "--override", "poll-seconds=0.2,reshuffle-sleep-seconds=0,skip-validate=true,"
                              "reshuffle-min-new-rows=100")
    try:
        assert _wait_for(lambda: len(_published(tmp_path)) == 1)
        time.sleep(1.0)         # no new rows: no new shuffle
        assert len(_published(tmp_path)) == 1
        helpers.write_data_file(tmp_path / "selfplay/b6c96-s2/tdata/00000000000000CC.npz",
                                helpers.tagged_rows(sample, 9, 300, 9), time.time())
        assert _wait_for(lambda: len(_published(tmp_path)) == 2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    newest = max((tmp_path / "shuffleddata" / n for n in _published(tmp_path)), key=os.path.getmtime)
    assert json.load(open(newest / "train.json"))["range"][1] == 1700


@pytest.mark.parametrize("value", ["0", "-3", "lots"])
def test_keep_target_rows_is_checked(tmp_path, value):
    from goloop.common.config import ConfigError
    with pytest.raises(ConfigError, match="keep-target-rows"):
        _cfg(tmp_path, **{"keep-target-rows": value})
