"""Evaluator throughput: positions/s for b6c96 (the real g170 net) on 9x9 and 19x19.

For each board size and batch size it times (a) the bare forward pass of the model on a ready
tensor — the baseline, measured in the same run — and (b) the whole Evaluator.evaluate (feature
encoding, forward, symmetry mapping, KataGo's post-processing with the legality mask), and prints
positions/s and the evaluator's share of the bare forward speed. On CPU it also times the same
Evaluator with direct convolutions only (`winograd=False`, the state before the Winograd path;
common/nn/winograd.py), alternating with the default one, and prints the speed-up. KataGo's own Eigen backend
(1 thread, this kind of machine) does about 320 positions/s on 9x9 and 140/s on 19x19 at batch 1
by the issue's figures; with `--katago PATH` a real KataGo binary is timed in the same run and the
ratio is against it instead.

    python bench/nn_bench.py [--threads N] [--device cpu|cuda] [--dtype fp32|bf16]
                             [--batches 1,8,64] [--model PATH] [--channels-last]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import random
import time

import numpy as np
import torch

from goloop.common.go.history import History
from goloop.common.go.rules import parse_rules
from goloop.common.nn import features
from goloop.common.nn.evaluator import EvalRequest, Evaluator

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT.parent / "shared" / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
KATAGO_EIGEN_1THREAD = {9: 320, 19: 140}   # the figures for this kind of machine


def katago_rate(katago: str, model: str, size: int) -> float:
    """Positions/s of a real KataGo binary (Eigen, 1 thread) via GTP `kata-raw-nn 0`.

    Timed as the difference between sessions of 1,100 and 100 evaluations, so start-up and
    model loading cancel out; what remains includes KataGo's own GTP formatting.
    """
    import subprocess
    import tempfile
    cfg = tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False)
    cfg.write("logAllGTPCommunication = false\nlogSearchInfo = false\nlogToStderr = false\n"
              "rules = tromp-taylor\nmaxVisits = 10\nnumSearchThreads = 1\n"
              "numEigenThreadsPerModel = 1\nnnRandomize = false\n")
    cfg.close()
    times = {}
    for n in (100, 1100):
        session = f"boardsize {size}\n" + "kata-raw-nn 0\n" * n + "quit\n"
        start = time.perf_counter()
        subprocess.run([katago, "gtp", "-model", model, "-config", cfg.name], input=session,
                       capture_output=True, text=True, check=True)
        times[n] = time.perf_counter() - start
    return 1000 / (times[1100] - times[100])


def midgame(size: int, moves: int, seed: int) -> History:
    """A position after `moves` random legal moves (no eye-filling), for realistic inputs."""
    rng = random.Random(seed)
    h = History(parse_rules("chinese"), size)
    for _ in range(moves):
        legal = [m for m in h.legal_moves() if m is not None]
        if not legal:
            break
        h.play(rng.choice(legal), h.next_player)
    return h


def best_rate(fn, n_positions: int, min_time: float = 1.0, reps: int = 3) -> float:
    return best_rates([fn], n_positions, min_time, reps)[0]


def best_rates(fns, n_positions: int, min_time: float = 1.0, reps: int = 3) -> list:
    """Best rate of each function over `reps` rounds that alternate between them, so that all
    see the same machine (its speed drifts by 10-20% over minutes)."""
    for fn in fns:
        for _ in range(3):   # warm up: the evaluator traces a shape on its third call
            fn()
    best = [0.0] * len(fns)
    for _ in range(reps):
        for i, fn in enumerate(fns):
            count, start = 0, time.perf_counter()
            while True:
                fn()
                count += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_time / reps:
                    break
            best[i] = max(best[i], count * n_positions / elapsed)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default=None, help="fp32 (CPU default), bf16 or fp16 (CUDA)")
    ap.add_argument("--batches", default="1,8,64")
    ap.add_argument("--sizes", default="9,19")
    ap.add_argument("--channels-last", type=int, choices=(0, 1), default=None,
                    help="force the memory format (default: the Evaluator's choice)")
    ap.add_argument("--seconds", type=float, default=1.5, help="time per measurement")
    ap.add_argument("--katago", default=None,
                    help="path to a KataGo binary: also time it (batch 1) as a same-run baseline")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ev = Evaluator.from_file(args.model, device=args.device, dtype=args.dtype,
                             channels_last=None if args.channels_last is None else bool(args.channels_last))
    plain = None
    if ev.device.type == "cpu" and ev.autocast is None:
        plain = Evaluator.from_file(args.model, winograd=False, channels_last=ev.channels_last)
    print(f"nn_bench: {ev.info.name} (v{ev.info.version}) on {args.device}, "
          f"{args.threads} thread(s), dtype {args.dtype or 'default'}, "
          f"channels_last {ev.channels_last}")
    print("forward = bare eager forward on a ready tensor (baseline); evaluate = the whole "
          "Evaluator (features, traced forward, post-processing)")
    print(f"{'board':>6} {'batch':>6} {'forward pos/s':>14} {'evaluate pos/s':>15} "
          f"{'eval/forward':>13} {'vs KataGo b1':>13} {'direct convs':>13} {'Winograd gain':>14}")
    results = {}
    katago = {}
    for size in (int(s) for s in args.sizes.split(",")):
        if args.katago:
            katago[size] = katago_rate(args.katago, args.model, size)
            print(f"{size:>4}x{size:<2}{1:>6}   KataGo (Eigen, 1 thread, same run): "
                  f"{katago[size]:,.0f} pos/s")
        for batch in (int(b) for b in args.batches.split(",")):
            hists = [midgame(size, size * size // 3, seed=i) for i in range(batch)]
            sp = np.zeros((batch, 22, size, size), np.float32)
            gl = np.zeros((batch, 19), np.float32)
            for i, h in enumerate(hists):
                features.encode(h, sp, gl, row=i)
            x = torch.from_numpy(sp).to(ev.device)
            g = torch.from_numpy(gl).to(ev.device)
            if ev.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)

            def forward():
                with torch.inference_mode(), torch.autocast(ev.device.type, dtype=ev.autocast,
                                                            enabled=ev.autocast is not None):
                    out = ev.model.engine_output(ev.model(x, g))
                    if ev.device.type == "cuda":
                        torch.cuda.synchronize()
                    return out

            requests = [EvalRequest(h, i % 8) for i, h in enumerate(hists)]

            def evaluate():
                ev.evaluate(requests)

            def evaluate_direct():
                plain.evaluate(requests)

            fwd = best_rate(forward, batch, args.seconds)
            if plain is None:
                full, direct = best_rate(evaluate, batch, args.seconds), None
            else:
                full, direct = best_rates([evaluate, evaluate_direct], batch, args.seconds)
            ref = katago.get(size) or KATAGO_EIGEN_1THREAD.get(size)
            vs = f"{full / ref:.2f}x" if (ref and batch == 1) else ""
            gain = f"{full / direct:.2f}x" if direct else ""
            print(f"{size:>4}x{size:<2}{batch:>6} {fwd:>14,.0f} {full:>15,.0f} {full / fwd:>12.0%} "
                  f"{vs:>13} {direct or 0:>13,.0f} {gain:>14}")
            results[f"{size}x{size}_b{batch}"] = {"forward_pos_per_s": round(fwd, 1),
                                                   "evaluate_pos_per_s": round(full, 1),
                                                   "evaluate_direct_convs_pos_per_s":
                                                       round(direct, 1) if direct else None}
    print("BENCH " + json.dumps({"bench": "nn", "threads": args.threads, "device": args.device,
                                 "results": results, "katago_same_run_b1": katago,
                                 "katago_issue_figures_b1": KATAGO_EIGEN_1THREAD}))


if __name__ == "__main__":
    main()
