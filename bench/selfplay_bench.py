"""Selfplay throughput: NN evals/s, rows/min and games/min of `goloop selfplay`'s engine.

Plays 9x9 games with a b6c96-sized net with fresh random weights (what a run's first trained
nets cost; the weights do not change the speed) through the same scheduler, games and row
writer the daemon uses, and reports where the time goes. The baseline, measured in the same
run, is the bare forward pass of the same model at the average batch size selfplay reached:
the ratio says how much of the net's throughput selfplay keeps (goal: 85% on a GPU).

    python bench/selfplay_bench.py [--games 32] [--parallel 32] [--visits 100] [--device cpu]
                                   [--threads 1] [--size 9]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch

from goloop.common.config import load_config
from goloop.common.nn.evaluator import Evaluator
from goloop.common.nn.model import Model
from goloop.common.nn.modelconfigs import config_of_name
from goloop.common.nn.modelfile import save_model_file
from goloop.common.play.scheduler import Scheduler
from goloop.common.search import core as search_core
from goloop.selfplay.config import SelfplayConfig
from goloop.selfplay.daemon import _Stats, _write
from goloop.selfplay.game import GameContext, Net, play_game
from goloop.selfplay.gameinit import draw_game_start
from goloop.selfplay.output import DataWriter


def bare_forward_rate(evaluator: Evaluator, batch: int, size: int, seconds: float = 3.0) -> float:
    """Rows/s of evaluator.raw on a ready tensor at `batch` rows (no search, no encoding)."""
    spatial = np.zeros((batch, 22, size, size), np.float32)
    spatial[:, 0] = 1.0
    glob = np.zeros((batch, 19), np.float32)
    syms = np.zeros(batch, np.int64)
    for _ in range(3):
        evaluator.raw(spatial, glob, syms)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        evaluator.raw(spatial, glob, syms)
        n += batch
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--games", type=int, default=32)
    ap.add_argument("--parallel", type=int, default=32, help="numGameThreads")
    ap.add_argument("--visits", type=int, default=100, help="maxVisits (cheap searches: visits/6)")
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "b6c96-random.bin.gz")
        save_model_file(Model(config_of_name("b6c96"), pos_len=args.size).eval(), path, "b6c96-random")
        evaluator = Evaluator.from_file(path, device=args.device)
        cheap = max(1, args.visits // 6)
        cfg = load_config(SelfplayConfig, None, dict(
            outputDir=os.path.join(tmp, "selfplay"), bSizes=str(args.size), bSizeRelProbs="1",
            allowRectangleProb=0.0, dataBoardLen=args.size, maxVisits=args.visits,
            cheapSearchVisits=cheap, reducedVisitsMin=cheap, numGameThreads=args.parallel,
            nnMaxBatchSize=max(8, args.parallel * 2), seed="bench"))
        net = Net("b6c96-random", evaluator, search_core.NNCache(cfg.nnCacheSizePowerOfTwo))
        ctx = GameContext(cfg, net)
        rng = np.random.default_rng(0)
        writer = DataWriter(cfg.output_dir, cfg.dataBoardLen, cfg.maxRowsPerTrainFile,
                            cfg.firstFileRandMinProp, rng)
        sched = Scheduler(cfg.dataBoardLen, cfg.nnMaxBatchSize)
        stats = _Stats()
        started = 0
        start = time.perf_counter()
        while started < args.games or sched.busy:
            while started < args.games and len(sched) < cfg.numGameThreads:
                sched.add(play_game(ctx, draw_game_start(cfg, rng), np.random.default_rng(started)))
                started += 1
            for _, out in sched.step():
                _write(out, writer, cfg, rng, stats)
        elapsed = time.perf_counter() - start
        writer.flush()
        s = sched.stats
        avg_batch = s.average_batch
        bare = bare_forward_rate(evaluator, max(1, int(round(avg_batch))), args.size)
        evals_per_s = s.rows_evaluated / elapsed
        print(f"selfplay {args.size}x{args.size}, b6c96 random weights, {args.games} games, "
              f"{args.parallel} at once, {args.visits}/{cheap} visits, device {args.device}, "
              f"{args.threads} torch thread(s)")
        print(f"  games/min          {60 * stats.games / elapsed:10.1f}")
        print(f"  rows/min           {60 * stats.rows / elapsed:10.1f}")
        print(f"  moves/min          {60 * stats.turns / elapsed:10.1f}")
        print(f"  NN evals/s         {evals_per_s:10.1f}   (average batch {avg_batch:.1f})")
        print(f"  time in forward    {100 * s.nn_seconds / elapsed:9.1f}%")
        print(f"  bare forward rows/s{bare:10.1f}   at batch {max(1, int(round(avg_batch)))} (baseline)")
        print(f"  ratio              {evals_per_s / bare:10.2f}   (selfplay NN evals/s / bare forward)")


if __name__ == "__main__":
    main()
