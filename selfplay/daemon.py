"""`goloop selfplay`: the poll loop, signals and logging around many concurrent games.

Thin by design: games are coroutines (game.py) driven by one scheduler (common/play); this
module starts games until numGameThreads run, turns finished ones into rows (rows.py) for the
writer (output.py), queues forks, polls the models directory and reports progress. SIGINT or
SIGTERM stops starting games, drops the unfinished ones at their next move (as KataGo does),
publishes every row already produced and exits 0; a second signal exits at once after the
flush. A restart with the same directories just goes on: files are never appended to.
"""
from __future__ import annotations

import logging
import os
import time
from typing import List, Optional

import numpy as np

from goloop.common.config import describe_config
from goloop.common.files.heartbeat import Heartbeat
from goloop.common.files.modelpoll import latest_model
from goloop.common.logs import kv
from goloop.common.nn.randomnet import RANDOM_MODEL_NAME, RandomEvaluator
from goloop.common.play.scheduler import Scheduler
from goloop.common.play.seeds import seed_rng
from goloop.common.runtime import ThreadPlan, apply_threads, plan_threads, resolve_device
from goloop.common.search import core as search_core
from goloop.common.stopsignal import StopRequest
from goloop.selfplay import rows
from goloop.selfplay.game import GameContext, Net, play_game
from goloop.selfplay.gameinit import draw_game_start
from goloop.selfplay.output import DataWriter, OutputError

MAX_FORK_QUEUE = 1000

log = logging.getLogger(__name__)


def thread_plan(cfg, device: str, cores: Optional[int] = None) -> ThreadPlan:
    """KataGo's CPU default: one net thread per concurrent evaluation (games x search threads),
    up to the cores. The games are coroutines of this one thread and wait for each batch, so no
    core is kept back for them."""
    return plan_threads(device, cfg.numEigenThreadsPerModel, cfg.numGameThreads * cfg.numSearchThreads,
                        0, cores)


class NetLoader:
    """Loads the newest model of the models directory when it changes (random net if none)."""

    def __init__(self, cfg, device: str, rng: np.random.Generator):
        self.cfg = cfg
        self.device = device
        self.rng = rng
        self.current: Optional[Net] = None
        self._key = None           # (path, mtime) of the loaded file, or None for random
        self._bad = set()          # (path, mtime) that failed to load: not retried until changed
        self._last_poll = -1e30

    def poll(self, force: bool = False) -> Optional[Net]:
        """A new Net if a newer model appeared since the last load, else None."""
        now = time.monotonic()
        if not force and now - self._last_poll < self.cfg.modelPollSeconds:
            return None
        self._last_poll = now
        found = latest_model(self.cfg.models_dir)
        if found is None:
            if self.current is None:
                self.current = Net(RANDOM_MODEL_NAME, RandomEvaluator(int(self.rng.integers(1 << 63))),
                                   search_core.NNCache(self.cfg.nnCacheSizePowerOfTwo))
                log.info("no model yet: playing with the random net",
                         extra=kv(models_dir=self.cfg.models_dir or "(none)"))
                return self.current
            return None    # models disappeared: keep playing with what we have, as KataGo does
        key = (found.path, found.mtime)
        if key == self._key or key in self._bad:
            return None
        from goloop.common.nn.evaluator import Evaluator
        try:
            evaluator = Evaluator.from_file(found.path, device=self.device)
        except (OSError, ValueError) as e:
            self._bad.add(key)
            log.error("cannot load model, keeping the current one", extra=kv(path=found.path, error=str(e)))
            return None
        self._key = key
        self.current = Net(found.name, evaluator, search_core.NNCache(self.cfg.nnCacheSizePowerOfTwo))
        log.info("loaded model", extra=kv(name=found.name, path=found.path, device=self.device))
        return self.current


class _Stats:
    def __init__(self):
        self.start = time.monotonic()
        self.games = 0
        self.rows = 0
        self.turns = 0
        self.cheap = 0
        self.full = 0
        self.dropped = 0


def run_selfplay(cfg, progress: bool = True) -> int:
    """Play games until SIGINT/SIGTERM or maxGamesTotal; returns the exit code."""
    rng = seed_rng(cfg.seed)
    device = resolve_device(cfg.device)
    apply_threads(thread_plan(cfg, device), log)
    loader = NetLoader(cfg, device, rng)
    loader.poll(force=True)
    if loader.current is None:
        raise RuntimeError("no model could be loaded and no random net was made")
    stop = StopRequest("dropping unfinished games, writing what is done", log).install()
    ctx = GameContext(cfg, loader.current, stopping=lambda: bool(stop))
    writer = DataWriter(cfg.output_dir, cfg.dataBoardLen, cfg.maxRowsPerTrainFile,
                        cfg.firstFileRandMinProp, rng, describe_config(cfg), cfg.writeSgfs)
    sched = Scheduler(cfg.dataBoardLen, cfg.nnMaxBatchSize)
    forks: List = []
    seki_forks: List = []
    stats = _Stats()
    code = 0
    started = 0
    limit = cfg.max_games_total
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=limit or None, unit="game", desc="selfplay", dynamic_ncols=True)
    # In a run's layout the output dir is BASEDIR/selfplay; BASEDIR holds the heartbeats.
    out_dir = os.path.abspath(cfg.output_dir)
    beat = Heartbeat(os.path.dirname(out_dir) if os.path.basename(out_dir) == "selfplay"
                     else out_dir, "selfplay")
    try:
        while True:
            beat.beat(games=stats.games, rows=stats.rows, model=getattr(ctx.net, "name", None))
            new_net = loader.poll()
            if new_net is not None:
                ctx.net = new_net
            while (not stop and len(sched) < cfg.numGameThreads
                   and (limit == 0 or started < limit)):
                fork, seki = _next_fork(cfg, forks, seki_forks, rng)
                start = draw_game_start(cfg, rng, fork_history=fork)
                start.from_seki_queue = seki
                sched.add(play_game(ctx, start, np.random.default_rng(int(rng.integers(1 << 63)))), started)
                started += 1
            if not sched.busy:
                break
            for _, outcome in sched.step():
                if outcome is None:
                    stats.dropped += 1
                    continue
                _write(outcome, writer, cfg, rng, stats)
                for queue, new in ((forks, outcome.forks), (seki_forks, outcome.seki_forks)):
                    for f in new:
                        if len(queue) >= MAX_FORK_QUEUE:
                            queue[int(rng.integers(len(queue)))] = f
                        else:
                            queue.append(f)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(rows=writer.rows_written + writer.pending_rows(), refresh=False)
                if stats.games % cfg.logGamesEvery == 0:
                    _log_progress(stats, sched, writer, ctx)
    except KeyboardInterrupt:
        pass                            # second stop request: write what is finished, exit
    except OutputError as e:
        # Disk full, directory gone...: what is buffered stays buffered for the flush below.
        log.error("cannot write selfplay output, stopping", extra=kv(error=str(e)))
        code = 1
    finally:
        if bar is not None:
            bar.close()
        stop.restore()
        try:
            writer.flush()
        except OutputError as e:
            log.error("rows not written", extra=kv(rows=writer.pending_rows(), error=str(e)))
            code = 1
        _log_progress(stats, sched, writer, ctx, final=True)
        beat.close()
    return code


def _next_fork(cfg, forks: List, seki_forks: List, rng):
    """(position to start from or None, whether it is a seki fork): queued forks first, then
    with probability sekiForkHackProb a seki fork (KataGo's ForkData)."""
    if forks:
        return forks.pop(int(rng.integers(len(forks)))), False
    if seki_forks and cfg.sekiForkHackProb > 0 and rng.random() < cfg.sekiForkHackProb:
        return seki_forks.pop(int(rng.integers(len(seki_forks)))), True
    return None, False


def _write(outcome, writer: DataWriter, cfg, rng, stats: _Stats) -> None:
    game = outcome.finished
    made = rows.game_rows(game, cfg.dataBoardLen, rng, outcome.turn_weights, outcome.side_weights)
    stats.rows += writer.add_game(outcome.model_name, made, outcome.record)
    stats.games += 1
    stats.turns += len(game.turns)
    stats.cheap += outcome.num_cheap
    stats.full += outcome.num_full


def _log_progress(stats: _Stats, sched: Scheduler, writer: DataWriter, ctx, final: bool = False) -> None:
    elapsed = max(1e-9, time.monotonic() - stats.start)
    s = sched.stats
    log.info("selfplay finished" if final else "selfplay progress", extra=kv(
        games=stats.games, games_per_min=round(60.0 * stats.games / elapsed, 2),
        rows=stats.rows, rows_written=writer.rows_written, files=writer.files_written,
        moves=stats.turns, cheap_searches=stats.cheap, full_searches=stats.full,
        dropped_games=stats.dropped, nn_evals=s.rows_evaluated,
        nn_evals_per_s=round(s.rows_evaluated / elapsed, 1), avg_batch=round(s.average_batch, 1),
        nn_time_pct=round(100.0 * s.nn_seconds / max(1e-9, s.total_seconds), 1),
        model=ctx.net.name, elapsed_s=round(elapsed, 1)))
