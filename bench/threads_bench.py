"""CPU contention: a 400-visit genmove, goloop against the real KataGo, on an idle machine and
while other processes keep cores busy, all in one run.

Each engine is a real GTP process started as a user would (`goloop gtp`, `katago gtp`), with
KataGo's GTP settings, 1 search thread, no pondering, no randomized symmetries. A third column,
"goloop untuned", runs goloop's GTP engine the way it ran before issue 9: torch's default thread
pool (one thread per core) and no thread-pool environment variables.

For each condition (0, 1, ... busy processes, each a shell loop spinning on one core) and each
position (the empty 9x9 and 19x19 boards and the 64-move 9x9 position of
shared/reference/search_9x9_late_pass_komi7_chinese.json), every engine plays `--reps` genmoves
after `clear_cache` (tree and NN cache cleared) and `undo`, interleaved engine by engine so that
all see the same machine. Reported: the median seconds per genmove and goloop's ratio to KataGo
(below 1 is faster).

    python bench/threads_bench.py --katago PATH [--visits 400] [--reps 3] [--busy 0,1]
                                  [--positions empty9,empty19,late9]

Nothing else should run meanwhile: the busy processes are the only load it means to measure.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_MODEL = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
LATE = SHARED / "reference" / "search_9x9_late_pass_komi7_chinese.json"

UNTUNED = """
import sys
from goloop.common.config import load_config
from goloop.engine.gtp import GtpConfig, run_gtp
import torch
config = load_config(GtpConfig, [sys.argv[1]], [{"model": sys.argv[2],
                     "numEigenThreadsPerModel": str(torch.get_num_threads())}])
sys.exit(run_gtp(config, sys.stdin, sys.stdout))
"""


class Gtp:
    """One GTP engine process: send a command, get its reply lines."""

    def __init__(self, name: str, argv: list, env: dict):
        self.name = name
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, env=env)

    def send(self, cmd: str) -> str:
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        lines = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name} exited on {cmd!r}")
            if not line.strip():
                if lines:
                    break
                continue
            lines.append(line.rstrip("\n"))
        if lines[0].startswith("?"):
            raise RuntimeError(f"{self.name}: {cmd!r} -> {lines[0]}")
        return "\n".join(lines)

    def close(self) -> None:
        try:
            self.send("quit")
        except (RuntimeError, BrokenPipeError):
            pass
        self.p.wait(timeout=30)


def positions(names: list) -> dict:
    """name -> GTP commands that set the position up (black to move in all three)."""
    out = {"empty9": ["boardsize 9", "clear_board", "komi 7"],
           "empty19": ["boardsize 19", "clear_board", "komi 7.5"]}
    late = json.loads(LATE.read_text())
    moves = late["moves"]
    if isinstance(moves, str):
        moves = json.loads(moves.replace("'", '"'))
    out["late9"] = ["boardsize 9", "clear_board", "komi 7"] + [f"play {c} {v}" for c, v in moves]
    return {n: out[n] for n in names}


def genmove_seconds(engine: Gtp) -> float:
    engine.send("clear_cache")
    t = time.perf_counter()
    engine.send("genmove b")
    dt = time.perf_counter() - t
    engine.send("undo")
    return dt


def start_busy(n: int) -> list:
    return [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(n)]


def stop_busy(procs: list) -> None:
    for p in procs:
        p.kill()
        p.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--katago", required=True, help="a KataGo binary (Eigen backend)")
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--visits", type=int, default=400)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--busy", default="0,1", help="numbers of busy processes, one condition each")
    ap.add_argument("--positions", default="empty9,empty19,late9")
    ap.add_argument("--no-untuned", action="store_true", help="skip the pre-issue-9 column")
    args = ap.parse_args()

    work = pathlib.Path(tempfile.mkdtemp(prefix="threads_bench_"))
    cfg = work / "gtp.cfg"
    # KataGo's GTP defaults plus what makes the two comparable and repeatable.
    cfg.write_text(f"maxVisits = {args.visits}\nnumSearchThreads = 1\nponderingEnabled = false\n"
                   "nnRandomize = false\nrules = chinese\nallowResignation = false\n"
                   "resignThreshold = -0.90\nlogToStderr = false\nlogAllGTPCommunication = false\nlogSearchInfo = false\n"
                   f"logDir = {work / 'logs'}\n")
    goloop_cfg = work / "goloop.cfg"
    goloop_cfg.write_text(f"maxVisits = {args.visits}\nnumSearchThreads = 1\nponderingEnabled = false\n"
                          "nnRandomize = false\nrules = chinese\nallowResignation = false\n")
    clean_env = {k: v for k, v in os.environ.items()
                 if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    engines = [
        Gtp("katago", [args.katago, "gtp", "-model", args.model, "-config", str(cfg)], clean_env),
        Gtp("goloop", [sys.executable, "-m", "goloop", "gtp", "--model", args.model,
                       "--config", str(goloop_cfg)], clean_env),
    ]
    if not args.no_untuned:
        engines.append(Gtp("goloop untuned", [sys.executable, "-c", UNTUNED, str(goloop_cfg),
                                              args.model], clean_env))
    pos = positions(args.positions.split(","))
    results: dict = {}
    print(f"{args.visits}-visit genmove, 1 search thread, median of {args.reps}; "
          f"{os.cpu_count()} cores; engines: {', '.join(e.name for e in engines)}")
    try:
        for name, setup in pos.items():       # warm-up on an idle machine: traces, allocations
            for e in engines:
                for c in setup:
                    e.send(c)
                genmove_seconds(e)
        for busy in [int(b) for b in args.busy.split(",")]:
            procs = start_busy(busy)
            try:
                time.sleep(0.5)
                for name, setup in pos.items():
                    times = {e.name: [] for e in engines}
                    for e in engines:
                        for c in setup:
                            e.send(c)
                    for _ in range(args.reps):
                        for e in engines:
                            times[e.name].append(genmove_seconds(e))
                    med = {k: statistics.median(v) for k, v in times.items()}
                    row = {"seconds": med, "all": times,
                           "goloop_over_katago": med["goloop"] / med["katago"]}
                    if "goloop untuned" in med:
                        row["untuned_over_katago"] = med["goloop untuned"] / med["katago"]
                    results.setdefault(f"busy{busy}", {})[name] = row
                    line = "  ".join(f"{k} {v:6.2f} s" for k, v in med.items())
                    extra = (f", untuned {row['untuned_over_katago']:.2f}x"
                             if "untuned_over_katago" in row else "")
                    print(f"busy={busy} {name:8s} {line}  goloop/KataGo {row['goloop_over_katago']:.2f}x"
                          f"{extra}", flush=True)
            finally:
                stop_busy(procs)
    finally:
        for e in engines:
            e.close()
    print("BENCH " + json.dumps({"visits": args.visits, "reps": args.reps, "results": results}))


if __name__ == "__main__":
    main()
