"""Gating throughput: how long a 9x9 gating test takes, and how much of the net's speed it keeps.

Plays N games at once between two copies of the real g170 b6c96 net (two Evaluators, as a
candidate and its baseline are two nets) with the gatekeeper's own pieces: KataGo's gating
settings (gatekeeper1.cfg: 150 visits, tree reuse, fair komi from 100-visit searches of both
nets, resignation), the game coroutines and the batched arena. The baseline, measured in the
same run, is the bare forward pass of the same net at the average batch size the arena reached
(rounded up to the arena's padded size); the ratio says how much of the net's throughput the
games keep.

    python bench/gatekeeper_bench.py [--games 16] [--visits 150] [--size 9] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from selfplay_bench import bare_forward_rate  # bench/ is on sys.path when run as a script

from goloop.common.config import load_config
from goloop.common.nn.evaluator import Evaluator
from goloop.common.play.scheduler import Scheduler, padded_batch
from goloop.gatekeeper.arena import GameRules, NetPlayer, new_game_id, play_game
from goloop.gatekeeper.config import GatekeeperConfig
from goloop.gatekeeper.gamesetup import draw_setup

G170 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "models",
                    "g170-b6c96-s175395328-d26788732.bin.gz")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--games", type=int, default=16, help="games, all played at once")
    ap.add_argument("--visits", type=int, default=150, help="maxVisits (KataGo gating: 150)")
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--model", default=G170)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(GatekeeperConfig, None, dict(
        bSizes=str(args.size), bSizeRelProbs="1", allowRectangleProb=0.0, maxVisits=args.visits,
        numGameThreads=args.games, seed="bench"))
    candidate = Evaluator.from_file(args.model)
    baseline = Evaluator.from_file(args.model)
    players = [NetPlayer("candidate", candidate, cfg.search_params()),
               NetPlayer("baseline", baseline, cfg.search_params())]
    arena = Scheduler(cfg.max_board_len, cfg.nnMaxBatchSize, pad_batches=True)
    arena.name_net(candidate, "candidate")
    arena.name_net(baseline, "baseline")
    rng = np.random.default_rng(0)
    gr = GameRules.of(cfg)
    start = time.perf_counter()
    for g in range(args.games):
        black, white = players if g % 2 == 0 else players[::-1]
        grng = np.random.default_rng(int(rng.integers(1 << 63)))
        arena.add(play_game(new_game_id(rng), draw_setup(cfg, grng), black.session(g),
                            white.session(1000 + g), gr, grng))
    results = []
    while arena.busy:
        results += [r for _, r in arena.step()]
    seconds = time.perf_counter() - start
    s = arena.stats
    evals, passes = s.rows_evaluated, s.forward_passes
    avg_batch = evals / max(1, passes)
    padded = padded_batch(int(round(avg_batch)), cfg.nnMaxBatchSize)
    bare = bare_forward_rate(candidate, padded, args.size, seconds=5.0)
    rate = evals / seconds
    moves = sum(r.moves for r in results)
    hows = {h: sum(1 for r in results if r.how == h) for h in {r.how for r in results}}
    out = dict(games=len(results), moves=moves, visits=args.visits, size=args.size,
               threads=args.threads, seconds=round(seconds, 1),
               seconds_per_game=round(seconds / max(1, len(results)), 2),
               seconds_per_200_games_est=round(200 * seconds / max(1, len(results)), 0),
               nn_evals=evals, nn_evals_per_s=round(rate, 1),
               nn_evals_per_move=round(evals / max(1, moves), 1),
               avg_batch=round(avg_batch, 1), padded_batch=padded,
               nn_time_pct=round(100 * s.nn_seconds / max(1e-9, s.total_seconds), 1),
               bare_forward_evals_per_s=round(bare, 1), ratio_vs_bare=round(rate / bare, 3),
               endings=hows)
    for k, v in out.items():
        print(f"{k:>26}: {v}")
    print("BENCH " + json.dumps(dict(name="gatekeeper", **out)))


if __name__ == "__main__":
    main()
