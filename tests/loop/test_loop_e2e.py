"""The closed loop end to end: two cycles of `goloop loop` on a 7x7 board with a tiny net, as
real subprocesses of the real daemons, the second cycle in a second invocation (a restart).

What it checks: each stage left its files (selfplay data and SGFs, a published shuffle, a
checkpoint, TensorBoard logs, exported models that load, rating games and the ladder), the
second model was trained on the first model's games (its data-row counter grew by exactly the
rows the first model's selfplay wrote), the restart continued the run, and `goloop status`
reads it.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from goloop.common.files.trainingdata import read_npz, read_npz_num_rows
from goloop.common.nn.modelfile import load_model_file

SETTINGS = ("boardSize=7,modelKind=b1c6nbt,numGamesPerCycle=12,maxVisits=8,cheapSearchVisits=2,"
            "numGameThreads=12,shuffleMinRows=150,batchSize=32,balance=false,runName=e2e,"
            "device=cpu,ratingGames=4,gatekeeperVisits=8")
NAME = re.compile(r"^e2e-s(\d+)-d(\d+)$")


def _loop(base, cycles: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "goloop", "loop", "--base-dir", str(base),
                           "--cycles", str(cycles), "--no-progress", "--override", SETTINGS],
                          capture_output=True, text=True, timeout=600)


def _models(base) -> list[tuple[int, int, str]]:
    """(samples, rows, name) of every exported model, oldest first."""
    out = []
    for name in os.listdir(base / "models"):
        m = NAME.match(name)
        assert m, f"unexpected model dir {name}"
        out.append((int(m.group(1)), int(m.group(2)), name))
    return sorted(out)


def _rows(folder) -> int:
    return sum(read_npz_num_rows(folder / f) for f in os.listdir(folder) if f.endswith(".npz"))


def test_two_cycles_in_two_invocations_make_a_run(tmp_path):
    """Cycle 1 (the random net's games, the first model), then a second invocation of the loop
    (a restart) for cycle 2, which must continue the run: the second model is trained on the
    first model's games and every counter goes on."""
    base = tmp_path / "run"
    first_run = _loop(base, 1)
    assert first_run.returncode == 0, first_run.stderr[-3000:]
    assert "Play the newest net:  goloop gtp --model" in first_run.stdout
    assert len(_models(base)) == 1
    done = _loop(base, 1)
    assert done.returncode == 0, done.stderr[-3000:]

    state = json.loads((base / "loop" / "state.json").read_text())
    assert state["cycle"] == 2 and state["stage"] is None and len(state["history"]) == 2
    assert state["model_kind"] == "b1c6nbt"

    # Selfplay: the random net's games first, then the first model's; every file loads.
    sp = base / "selfplay"
    assert (sp / "random" / "tdata").is_dir() and os.listdir(sp / "random" / "sgfs")
    for tdata in sp.glob("*/tdata"):
        for f in tdata.glob("*.npz"):
            assert len(read_npz(f)["binaryInputNCHWPacked"]) == read_npz_num_rows(f)

    # Shuffles published whole, a checkpoint, TensorBoard and metrics from the trainer.
    shuffles = sorted(p for p in (base / "shuffleddata").iterdir() if "." not in p.name)
    assert len(shuffles) >= 1 and (shuffles[-1] / "train.json").exists()
    train_dir = base / "train" / "e2e"
    assert (train_dir / "checkpoint.ckpt").exists()
    assert list((train_dir / "tensorboard").iterdir())
    assert (train_dir / "metrics.jsonl").read_text().strip()

    # Two exported models, each loading as a KataGo net, named by its counters.
    models = _models(base)
    assert len(models) == 2, models
    for _, _, name in models:
        model, info = load_model_file(base / "models" / name / "model.bin.gz")
        assert info.name == f"e2e-{name}"
    (s1, d1, first), (s2, d2, second) = models
    assert s2 > s1 and d2 > d1
    # The second model was trained on the first model's games: the trainer's row counter (the
    # window end of its shuffle) grew by exactly what selfplay wrote with the first model.
    first_rows = _rows(sp / first / "tdata")
    assert first_rows > 0
    assert d2 - d1 == first_rows
    assert json.loads((shuffles[-1] / "train.json").read_text())["range"][1] == d2
    leftovers = base / "torchmodels_toexport"
    assert not leftovers.exists() or not [p for p in leftovers.iterdir() if not p.name.startswith(".")]

    # The rating games of the second model against the first, and the ladder they feed.
    games = [json.loads(line) for line in (base / "ratings" / "games.jsonl").read_text().splitlines()]
    assert len(games) == 4 and {g["black"] for g in games} | {g["white"] for g in games} == {first, second}
    assert (base / "ratings" / "ratings.json").exists()

    status = subprocess.run([sys.executable, "-m", "goloop", "status", "--base-dir", str(base)],
                            capture_output=True, text=True, timeout=120)
    assert status.returncode == 0 and second in status.stdout
