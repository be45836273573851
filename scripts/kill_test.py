#!/usr/bin/env python
"""Kill test of the synchronous loop: SIGKILL a random process of a running `goloop loop` (the
loop itself or the stage it runs) at random moments, restart, and check after every kill that
the run is intact. Run by hand before a release (minutes; not part of the test suite):

    python scripts/kill_test.py --base-dir /tmp/killrun --kills 12

Checks after each kill, and once more after a final clean cycle:
  * every npz under selfplay/*/tdata and every published shuffle loads and its rows are whole;
  * every published model (models/*/model.bin.gz) loads; the trainer's checkpoint loads;
  * nothing finished is lost: every selfplay data file and SGF file seen before is still there,
    unchanged in size (files are only ever added), and published models stay published;
  * counters never go back: the loop's cycle, the trainer's global_step_samples and
    total_num_data_rows, the games recorded in SGFs.
Prints one line per kill and a JSON summary; exit status 0 when every check passed.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time

from goloop.common.files.trainingdata import read_npz, read_npz_num_rows
from goloop.common.nn.checkpoint import read_checkpoint
from goloop.common.nn.modelfile import load_model_file

TINY = ("boardSize=7,numGamesPerCycle=12,maxVisits=8,cheapSearchVisits=2,numGameThreads=12,"
        "shuffleMinRows=150,batchSize=32,modelKind=b1c6nbt,ratingGames=4,gatekeeperVisits=8,"
        "targetCycleMinutes=1,device=cpu")


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def start_loop(base: str, settings: str, cycles: int, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "goloop", "loop", "--base-dir", base,
                             "--cycles", str(cycles), "--no-progress", "--override", settings],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_gone(pids: list[int], timeout: float = 120.0) -> None:
    end = time.time() + timeout
    for pid in pids:
        while time.time() < end:
            try:
                os.kill(pid, 0)
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break               # exited; its new parent has not reaped it yet
            except (ProcessLookupError, FileNotFoundError):
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)


def snapshot(base: str) -> dict:
    """Everything the checks compare; raises AssertionError on a file that does not load."""
    files, games = {}, 0
    for root, _, names in os.walk(os.path.join(base, "selfplay")):
        for n in names:
            path = os.path.join(root, n)
            if n.endswith(".npz"):
                arrays = read_npz(path)
                assert len(arrays["binaryInputNCHWPacked"]) == read_npz_num_rows(path), path
                files[path] = os.path.getsize(path)
            elif n.endswith(".sgfs"):
                with open(path, encoding="utf-8") as f:
                    games += sum(1 for line in f if line.strip())
                files[path] = os.path.getsize(path)
    shuffled = os.path.join(base, "shuffleddata")
    for d in sorted(os.listdir(shuffled)) if os.path.isdir(shuffled) else []:
        if d.endswith(".tmp") or d.startswith("."):
            continue
        for split in ("train", "val"):
            folder = os.path.join(shuffled, d, split)
            for n in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
                if n.endswith(".npz"):
                    try:
                        read_npz(os.path.join(folder, n))
                    except FileNotFoundError:
                        pass            # the shuffler removed an old shuffle meanwhile
    models = []
    models_dir = os.path.join(base, "models")
    for d in sorted(os.listdir(models_dir)) if os.path.isdir(models_dir) else []:
        load_model_file(os.path.join(models_dir, d, "model.bin.gz"))
        models.append(d)
    samples = rows = 0
    ckpt = os.path.join(base, "train", "demo", "checkpoint.ckpt")
    if os.path.exists(ckpt):
        ts = read_checkpoint(ckpt)["train_state"]
        samples, rows = int(ts["global_step_samples"]), int(ts["total_num_data_rows"])
    cycle = 0
    state = os.path.join(base, "loop", "state.json")
    if os.path.exists(state):
        with open(state, encoding="utf-8") as f:
            cycle = json.load(f)["cycle"]
    return dict(files=files, games=games, models=models, samples=samples, rows=rows, cycle=cycle)


def compare(before: dict, after: dict) -> list[str]:
    problems = []
    for path, size in before["files"].items():
        if path not in after["files"]:
            problems.append(f"lost {path}")
        elif after["files"][path] < size:
            problems.append(f"shrank {path}: {size} -> {after['files'][path]}")
    problems += [f"model unpublished: {m}" for m in before["models"] if m not in after["models"]]
    for k in ("games", "samples", "rows", "cycle"):
        if after[k] < before[k]:
            problems.append(f"{k} went back: {before[k]} -> {after[k]}")
    return problems


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base-dir", required=True)
    p.add_argument("--kills", type=int, default=12)
    p.add_argument("--min-wait", type=float, default=2.0)
    p.add_argument("--max-wait", type=float, default=25.0)
    p.add_argument("--settings", default=TINY, help="loop --override settings")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.base_dir, exist_ok=True)
    log = open(os.path.join(a.base_dir, "kill_test.log"), "ab")
    prev = snapshot(a.base_dir)
    problems, kills = [], []
    for i in range(a.kills):
        loop = start_loop(a.base_dir, a.settings, 0, log)
        time.sleep(rng.uniform(a.min_wait, a.max_wait))
        stage = children(loop.pid)
        victim, what = (loop.pid, "loop") if not stage or rng.random() < 0.3 else (stage[0], "stage")
        if what == "stage":
            with open(f"/proc/{victim}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            what = argv[argv.index(b"goloop") + 1].decode() if b"goloop" in argv else "stage"
        os.kill(victim, signal.SIGKILL)
        try:
            loop.wait(timeout=180)          # reaped here: a zombie still answers kill(pid, 0)
        except subprocess.TimeoutExpired:
            loop.kill()
            loop.wait()
        wait_gone(stage, 180)
        now = snapshot(a.base_dir)
        found = compare(prev, now)
        problems += [f"kill {i + 1} ({what}): {x}" for x in found]
        kills.append(what)
        print(f"kill {i + 1:2d}: SIGKILL {what:10s} cycle {now['cycle']} models {len(now['models'])} "
              f"games {now['games']} samples {now['samples']} rows {now['rows']} "
              f"{'OK' if not found else 'PROBLEMS: ' + '; '.join(found)}", flush=True)
        prev = now
    final = start_loop(a.base_dir, a.settings, 1, log)
    code = final.wait(timeout=1800)
    end = snapshot(a.base_dir)
    found = compare(prev, end)
    problems += [f"final cycle: {x}" for x in found]
    if code != 0:
        problems.append(f"final clean cycle exited {code} (see {a.base_dir}/kill_test.log)")
    if end["cycle"] <= prev["cycle"]:
        problems.append("final clean cycle did not complete a cycle")
    print(json.dumps(dict(kills=len(kills), victims={k: kills.count(k) for k in set(kills)},
                          cycle=end["cycle"], models=len(end["models"]), games=end["games"],
                          samples=end["samples"], rows=end["rows"], problems=problems)))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
