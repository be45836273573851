"""Training throughput: samples/s of `goloop train` against KataGo's own train.py, same run.

Both trainers train one epoch of the same shuffled data (copies of KataGo's real 9x9 selfplay
sample, ../shared/reference) at the same batch size, as a user runs them: a fresh process each,
start-up included (imports, model build, KataGo's torch.compile with its defaults, data
loading, the end-of-epoch checkpoint), timed from launch to exit. Samples are read back from
each trainer's checkpoint (`global_step_samples`), so both are counted the same way. goloop's
steady-state rate (from its metrics.jsonl) is shown too.

    python bench/train_bench.py [--models b6c96,b18c384nbt] [--batch 64] [--samples 25600]
                                [--big-samples 640] [--katago-python DIR] [--skip-katago]
                                [--katago-no-compile] [--goloop-compile]

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
import shutil
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


def run_goloop(base: pathlib.Path, model: str, batch: int, samples: int, compile_: bool) -> dict:
    name = f"g-{model}"
    cmd = [sys.executable, "-m", "goloop", "train", "--base-dir", str(base), "--name", name,
           "--model-config", model, "-pos-len", "9", "-batch-size", str(batch), "-samples-per-epoch",
           str(samples), "-max-epochs-this-instance", "1", "-no-export", "--no-progress",
           "--override", f"compile={'true' if compile_ else 'auto'},print_every_batches=10"]
    seconds = timed(cmd)
    trained = samples_in(base / "train" / name / "checkpoint.ckpt")
    records = [json.loads(line) for line in (base / "train" / name / "metrics.jsonl").read_text().splitlines()]
    steady = [r["samples_per_s"] for r in records if r.get("kind") == "train" and "samples_per_s" in r][1:]
    return {"samples": trained, "seconds": seconds, "samples_per_s": trained / seconds,
            "steady_samples_per_s": sum(steady) / len(steady) if steady else None}


def run_katago(base: pathlib.Path, katago: pathlib.Path, model: str, batch: int, samples: int,
               no_compile: bool) -> dict:
    traindir = base / "train" / f"k-{model}"
    cmd = [sys.executable, str(katago / "train.py"), "-traindir", str(traindir), "-latestdatadir",
           str(base / "shuffleddata"), "-pos-len", "9", "-batch-size", str(batch), "-model-kind", model,
           "-samples-per-epoch", str(samples), "-max-epochs-this-instance", "1"]
    if no_compile:
        cmd.append("-no-compile")
    seconds = timed(cmd, cwd=katago)
    trained = samples_in(traindir / "checkpoint.ckpt")
    return {"samples": trained, "seconds": seconds, "samples_per_s": trained / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="b6c96,b18c384nbt")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--samples", type=int, default=25600, help="samples per run for b6c96-sized nets")
    ap.add_argument("--big-samples", type=int, default=640, help="samples per run for b18c384nbt")
    ap.add_argument("--katago-python", default=os.environ.get("KATAGO_PYTHON", str(ROOT.parent / "katago" / "src" / "python")))
    ap.add_argument("--skip-katago", action="store_true")
    ap.add_argument("--katago-no-compile", action="store_true", help="pass -no-compile to KataGo")
    ap.add_argument("--goloop-compile", action="store_true", help="torch.compile goloop on CPU too")
    args = ap.parse_args()
    katago = pathlib.Path(args.katago_python)
    with_katago = not args.skip_katago and (katago / "train.py").exists()
    results = {}
    work = pathlib.Path(tempfile.mkdtemp(prefix="goloop_train_bench_"))
    try:
        for model in args.models.split(","):
            samples = args.big_samples if model.startswith("b18") else args.samples
            base = work / model
            make_data(base, samples, args.batch)
            print(f"{model}: goloop ...", file=sys.stderr, flush=True)
            row = {"goloop": run_goloop(base, model, args.batch, samples, args.goloop_compile)}
            if with_katago:
                print(f"{model}: KataGo train.py ...", file=sys.stderr, flush=True)
                row["katago"] = run_katago(base, katago, model, args.batch, samples, args.katago_no_compile)
                row["ratio"] = row["goloop"]["samples_per_s"] / row["katago"]["samples_per_s"]
            results[model] = row
            g = row["goloop"]
            line = (f"{model:12s} batch {args.batch}: goloop {g['samples']} samples in {g['seconds']:.1f} s "
                    f"= {g['samples_per_s']:.1f}/s (steady {g['steady_samples_per_s'] or float('nan'):.1f}/s)")
            if with_katago:
                k = row["katago"]
                line += (f" | KataGo {k['samples']} in {k['seconds']:.1f} s = {k['samples_per_s']:.1f}/s"
                         f" | ratio {row['ratio']:.2f}x")
            print(line, flush=True)
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
