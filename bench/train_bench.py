"""Training throughput: samples/s of `goloop train` against KataGo's own train.py, same run.

Both trainers train one epoch of the same shuffled data (copies of KataGo's real 9x9 selfplay
sample, ../shared/reference) at the same batch size, as a user runs them: a fresh process each,
start-up included (imports, model build, KataGo's torch.compile with its defaults, data
loading, the end-of-epoch checkpoint), timed from launch to exit. Samples are read back from
each trainer's checkpoint (`global_step_samples`), so both are counted the same way.
Steady-state rates are shown too (samples/s after the first print interval: goloop's
metrics.jsonl, KataGo's train0.log), because they answer a different question: start-up
(imports, KataGo's compile) is a fixed cost that a long run amortises.

    python bench/train_bench.py [--models b6c96,b18c384nbt] [--batch 64] [--samples 25600]
                                [--big-samples 640] [--katago-python DIR] [--skip-katago]
                                [--katago-no-compile] [--goloop-compile] [--rounds N]

The issue's reference figure (idle 2-core machine): KataGo's train.py, b6c96, batch 64, 9x9,
its defaults incl. torch.compile, trained 25,408 samples in 103 s = 247 samples/s; the goal is
at least 1.2x that. Close other heavy work first: a busy machine makes both numbers meaningless
(torch's CPU threads busy-wait, so contention hurts them disproportionately).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "reference" / "katago_selfplay_sample.npz"
SAMPLE_ROWS = 1827


def make_data(base: pathlib.Path, samples: int, batch: int) -> None:
    """Enough copies of the sample for `samples` (whole files are trained, as both trainers do)."""
    shuffle = base / "shuffleddata" / "20240101-000000"
    (shuffle / "train").mkdir(parents=True)
    files = math.ceil(samples / ((SAMPLE_ROWS // batch) * batch)) + 1
    for i in range(files):
        shutil.copyfile(SAMPLE, shuffle / "train" / f"data{i}.npz")
        (shuffle / "train" / f"data{i}.json").write_text(json.dumps({"num_rows": SAMPLE_ROWS}))
    (shuffle / "train.json").write_text(json.dumps({"range": [0, files * SAMPLE_ROWS]}))


def timed(cmd: list[str], cwd=None) -> float:
    start = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-4000:]}")
    return elapsed


def samples_in(checkpoint: pathlib.Path) -> int:
    return int(torch.load(checkpoint, map_location="cpu", weights_only=True)["train_state"]["global_step_samples"])


def _steady(intervals: list[tuple[float, float]]) -> float | None:
    """samples/s over the (samples, seconds) print intervals after the first (compile, warm-up)."""
    rest = intervals[1:]
    return sum(n for n, _ in rest) / sum(t for _, t in rest) if rest else None


def run_goloop(base: pathlib.Path, model: str, batch: int, samples: int, compile_: bool, tag: str) -> dict:
    name = f"g-{model}-{tag}"
    cmd = [sys.executable, "-m", "goloop", "train", "--base-dir", str(base), "--name", name,
           "--model-config", model, "-pos-len", "9", "-batch-size", str(batch), "-samples-per-epoch",
           str(samples), "-max-epochs-this-instance", "1", "-no-export", "--no-progress",
           "--override", f"compile={'true' if compile_ else 'auto'},print_every_batches=10"]
    seconds = timed(cmd)
    trained = samples_in(base / "train" / name / "checkpoint.ckpt")
    records = [json.loads(line) for line in (base / "train" / name / "metrics.jsonl").read_text().splitlines()]
    rates = [r["samples_per_s"] for r in records if r.get("kind") == "train" and "samples_per_s" in r]
    intervals = [(10.0 * batch, 10.0 * batch / r) for r in rates]
    return {"samples": trained, "seconds": seconds, "samples_per_s": trained / seconds,
            "steady_samples_per_s": _steady(intervals)}


def run_katago(base: pathlib.Path, katago: pathlib.Path, model: str, batch: int, samples: int,
               no_compile: bool, tag: str) -> dict:
    traindir = base / "train" / f"k-{model}-{tag}"
    cmd = [sys.executable, str(katago / "train.py"), "-traindir", str(traindir), "-latestdatadir",
           str(base / "shuffleddata"), "-pos-len", "9", "-batch-size", str(batch), "-model-kind", model,
           "-samples-per-epoch", str(samples), "-max-epochs-this-instance", "1"]
    if no_compile:
        cmd.append("-no-compile")
    seconds = timed(cmd, cwd=katago)
    trained = samples_in(traindir / "checkpoint.ckpt")
    # train.py logs the running nsamp and time_since_last_print every 100 batches; whole
    # intervals only (the end of the epoch logs the rest).
    intervals, before = [], 0.0
    for line in (traindir / "train0.log").read_text().splitlines():
        n, t = re.search(r"nsamp = ([0-9.]+)", line), re.search(r"time_since_last_print = ([0-9.]+)", line)
        if n and t:
            if float(n.group(1)) - before == 100 * batch:
                intervals.append((100.0 * batch, float(t.group(1))))
            before = float(n.group(1))
    return {"samples": trained, "seconds": seconds, "samples_per_s": trained / seconds,
            "steady_samples_per_s": _steady(intervals)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="b6c96,b18c384nbt")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--samples", type=int, default=25600, help="samples per run for b6c96-sized nets")
    ap.add_argument("--big-samples", type=int, default=640, help="samples per run for b18c384nbt (both trainers train whole files: at least 1,792 samples with the sample data)")
    ap.add_argument("--katago-python", default=os.environ.get("KATAGO_PYTHON", str(ROOT.parent / "katago" / "src" / "python")))
    ap.add_argument("--skip-katago", action="store_true")
    ap.add_argument("--katago-no-compile", action="store_true", help="pass -no-compile to KataGo")
    ap.add_argument("--goloop-compile", action="store_true", help="torch.compile goloop on CPU too")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each trainer, alternating who goes "
                    "first; ratios are the median over rounds")
    args = ap.parse_args()
    katago = pathlib.Path(args.katago_python)
    with_katago = not args.skip_katago and (katago / "train.py").exists()
    results = {}
    work = pathlib.Path(tempfile.mkdtemp(prefix="goloop_train_bench_"))
    nan = float("nan")
    try:
        for model in args.models.split(","):
            samples = args.big_samples if model.startswith("b18") else args.samples
            base = work / model
            make_data(base, samples, args.batch)
            rounds = []
            for r in range(args.rounds):
                row = {}
                # Alternate who goes first, so a machine that speeds up or slows down over the
                # run does not favour one side.
                order = ["goloop", "katago"] if r % 2 == 0 else ["katago", "goloop"]
                for who in order:
                    if who == "katago" and not with_katago:
                        continue
                    print(f"{model} round {r + 1}: {who} ...", file=sys.stderr, flush=True)
                    row[who] = (run_goloop(base, model, args.batch, samples, args.goloop_compile, str(r))
                                if who == "goloop" else
                                run_katago(base, katago, model, args.batch, samples, args.katago_no_compile, str(r)))
                g = row["goloop"]
                line = (f"{model:12s} batch {args.batch} round {r + 1}: goloop {g['samples']} samples in "
                        f"{g['seconds']:.1f} s = {g['samples_per_s']:.1f}/s (steady {g['steady_samples_per_s'] or nan:.1f}/s)")
                if with_katago:
                    k = row["katago"]
                    row["ratio"] = g["samples_per_s"] / k["samples_per_s"]
                    if g["steady_samples_per_s"] and k["steady_samples_per_s"]:
                        row["steady_ratio"] = g["steady_samples_per_s"] / k["steady_samples_per_s"]
                    line += (f" | KataGo {k['samples']} in {k['seconds']:.1f} s = {k['samples_per_s']:.1f}/s"
                             f" (steady {k['steady_samples_per_s'] or nan:.1f}/s) | ratio {row['ratio']:.2f}x"
                             f" (steady {row.get('steady_ratio', nan):.2f}x)")
                print(line, flush=True)
                rounds.append(row)
            results[model] = {"rounds": rounds}
            if with_katago:
                results[model]["ratio"] = statistics.median(r["ratio"] for r in rounds)
                steady = [r["steady_ratio"] for r in rounds if "steady_ratio" in r]
                results[model]["steady_ratio"] = statistics.median(steady) if steady else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {"batch": args.batch, "torch": torch.__version__, "cpu_count": os.cpu_count(),
               "katago_compile": with_katago and not args.katago_no_compile, "models": results,
               "goal_ratio": 1.2}
    if "b6c96" in results and "ratio" in results["b6c96"]:
        summary["meets_goal_b6c96"] = results["b6c96"]["ratio"] >= 1.2
    print("BENCH " + json.dumps(summary))


if __name__ == "__main__":
    main()
