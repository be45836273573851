"""Search throughput: visits/s of one search, and NN evals/s of many searches sharing batches.

Single search: KataGo's GTP genmove parameters, 1 search thread, torch on 1 CPU thread, the g170
b6c96 net, `--visits` (400) visits from the empty 9x9 and 19x19 boards, fresh tree and empty NN
cache each repetition (best kept). KataGo's Eigen backend on 1 thread does about 330-390
visits/s on 9x9 and 140-157 on 19x19 on this kind of machine; with `--katago PATH` the real
binary runs the same searches (`kata-search_analyze`, maxVisits, clear_cache) in the same run
and the ratio is against it.

Batched: `--searches` (64) searches from different openings, 1 leaf each per batch (KataGo's
selfplay shape), all sharing one BatchBuffers and one forward pass per round until every search
has `--batch-visits` visits. Reported: NN rows evaluated per second and the share of wall time
spent outside `Evaluator.raw` (gathering leaves, encoding features, post-processing, backups and
Python), and that outside the torch forward itself.

    python bench/search_bench.py [--katago PATH] [--visits 400] [--searches 64]
                                 [--batch-visits 100] [--device cpu|cuda] [--reps 3]

Timings taken while other work competes for the CPU are meaningless (torch's thread pool in
particular degrades badly under contention).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import random
import subprocess
import tempfile
import time

import torch

from goloop.common.go.history import History
from goloop.common.go.rules import parse_rules
from goloop.common.nn.evaluator import Evaluator
from goloop.common.search import core as search_core
from goloop.common.search.params import SearchParams
from goloop.common.search.searcher import Searcher, run_batches

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT.parent / "shared" / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
KATAGO_EIGEN_1THREAD = {9: (330, 390), 19: (140, 157)}   # visits/s, the figures


class Timed:
    """Wraps an evaluator, accumulating the time of raw() and of the forward pass inside it
    (Evaluator._forward: the net, traced or not, on a ready tensor)."""

    def __init__(self, ev):
        self.ev = ev
        self.info = ev.info
        self.model = ev.model
        self.raw_s = 0.0
        self.forward_s = 0.0
        self.rows = 0
        self.calls = 0
        inner = ev._forward

        def forward(*a):
            t = time.perf_counter()
            out = inner(*a)
            self.forward_s += time.perf_counter() - t
            return out
        ev._forward = forward

    def raw(self, spatial, global_, symmetries):
        t = time.perf_counter()
        out = self.ev.raw(spatial, global_, symmetries)
        self.raw_s += time.perf_counter() - t
        self.rows += len(spatial)
        self.calls += 1
        return out

    def reset(self):
        self.raw_s = self.forward_s = 0.0
        self.rows = self.calls = 0


def single_search(ev: Timed, size: int, visits: int, reps: int) -> dict:
    params = SearchParams.for_gtp(maxVisits=visits, nnRandomize=False)
    h = History(parse_rules("chinese", komi=7.5 if size == 19 else 7.0), size)
    s = Searcher(ev, params, seed=1)
    s.set_position(h)
    s.search()   # warm-up (torch allocations for this shape)
    best = None
    for _ in range(reps):
        s.clear_tree()
        s.clear_cache()
        ev.reset()
        t = time.perf_counter()
        a = s.search()
        el = time.perf_counter() - t
        row = dict(visits=a.root.visits, seconds=el, visits_per_s=a.root.visits / el,
                   nn_evals=ev.rows, nn_share=ev.raw_s / el, forward_share=ev.forward_s / el)
        if best is None or row["visits_per_s"] > best["visits_per_s"]:
            best = row
    return best


def katago_search(katago: str, model: str, size: int, visits: int, reps: int) -> float:
    """Visits/s of the real binary: the wall time of kata-search_analyze on a cleared tree."""
    cfg = tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False)
    cfg.write("logAllGTPCommunication = false\nlogSearchInfo = false\nlogToStderr = false\n"
              f"rules = chinese\nmaxVisits = {visits}\nnumSearchThreads = 1\n"
              "numEigenThreadsPerModel = 1\nnnRandomize = false\nponderingEnabled = false\n")
    cfg.close()
    p = subprocess.Popen([katago, "gtp", "-model", model, "-config", cfg.name], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def send(cmd):
        p.stdin.write(cmd + "\n")
        p.stdin.flush()
        lines = []
        while True:
            line = p.stdout.readline()
            if not line:
                raise RuntimeError("katago exited")
            if line.strip() == "" and lines:
                return lines
            if line.strip():
                lines.append(line)

    send(f"boardsize {size}")
    send(f"komi {7.5 if size == 19 else 7}")
    best = 0.0
    for _ in range(reps + 1):
        send("clear_cache")
        t = time.perf_counter()
        send("kata-search_analyze interval 100000")
        best = max(best, visits / (time.perf_counter() - t))
    send("quit")
    p.wait()
    return best


def batched(ev: Timed, size: int, searches: int, visits: int, device: str, warm: bool = False) -> dict:
    rng = random.Random(7)
    params = SearchParams.for_gtp(maxVisits=visits, nnRandomize=True, numSearchThreads=1)
    cache = search_core.NNCache(18)
    runs = []
    for i in range(searches):
        h = History(parse_rules("chinese", komi=7.0), size)
        for _ in range(rng.randrange(0, 8)):
            legal = [m for m in h.legal_moves() if m is not None]
            h.play(rng.choice(legal), h.next_player)
        s = Searcher(ev, params, seed=i, nn_cache=cache)
        s.set_position(h)
        runs.append(s)
    for s in runs:
        s.begin()
    buf = search_core.BatchBuffers(max(8, searches), size)
    ev.reset()
    t = time.perf_counter()
    passes = run_batches(ev, runs, buf)
    el = time.perf_counter() - t
    if not warm:
        # The evaluator traces the net once per batch shape; time a second identical run.
        return batched(ev, size, searches, visits, device, warm=True)
    return dict(searches=searches, visits_each=visits, seconds=el, forward_passes=passes,
                nn_evals=ev.rows, nn_evals_per_s=ev.rows / el, mean_batch=ev.rows / max(1, passes),
                outside_raw_share=1.0 - ev.raw_s / el, outside_forward_share=1.0 - ev.forward_s / el,
                device=device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--katago", default=None, help="a KataGo binary to time in the same run")
    ap.add_argument("--visits", type=int, default=400)
    ap.add_argument("--searches", type=int, default=64)
    ap.add_argument("--batch-visits", type=int, default=100)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (KataGo's figures are 1)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", default="9,19")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ev = Timed(Evaluator.from_file(args.model, device=args.device))
    result = {"single": {}, "katago": {}, "batched": {}}
    print(f"single search, {args.visits} visits, 1 search thread, torch threads {args.threads}, {args.device}")
    for size in [int(x) for x in args.sizes.split(",")]:
        row = single_search(ev, size, args.visits, args.reps)
        result["single"][size] = row
        lo, hi = KATAGO_EIGEN_1THREAD.get(size, (None, None))
        line = (f"  {size}x{size}: {row['visits_per_s']:7.1f} visits/s ({row['nn_evals']} NN evals, "
                f"{row['nn_share'] * 100:.0f}% in Evaluator.raw, {row['forward_share'] * 100:.0f}% in the forward)")
        if args.katago:
            kv = katago_search(args.katago, args.model, size, args.visits, args.reps)
            result["katago"][size] = kv
            line += f"; KataGo {kv:.1f} visits/s, ratio {row['visits_per_s'] / kv:.2f}"
        elif lo:
            line += f"; KataGo Eigen 1 thread ~{lo}-{hi}, ratio {row['visits_per_s'] / hi:.2f}-{row['visits_per_s'] / lo:.2f}"
        print(line)
    print(f"batched: {args.searches} searches x {args.batch_visits} visits, 1 leaf each per batch")
    for size in [int(x) for x in args.sizes.split(",")]:
        row = batched(ev, size, args.searches, args.batch_visits, args.device)
        result["batched"][size] = row
        print(f"  {size}x{size}: {row['nn_evals_per_s']:8.1f} NN evals/s, mean batch {row['mean_batch']:.1f}, "
              f"{row['outside_raw_share'] * 100:.1f}% of wall time outside Evaluator.raw, "
              f"{row['outside_forward_share'] * 100:.1f}% outside the forward")
    print("BENCH " + json.dumps(result))


if __name__ == "__main__":
    main()
