"""`goloop gatekeeper`: test each new candidate net against the latest accepted one.

KataGo's gatekeeper (cpp/command/gatekeeper.cpp; spec selfplay-and-search.md §8 and
directory-protocol.md §3), as a story of one run:

1. Poll BASEDIR/modelstobetested/ for the newest model file (by mtime); the baseline is the
   newest in models/, or KataGo's random net when there is none. A candidate whose file is
   older than the baseline's is rejected unplayed (unless noAutoRejectOldModels).
2. Play numGamesPerGating games between them, colours dealt in shuffled pairs, all at once on
   one batched search (common/play/scheduler.py). Every finished game is appended to
   ratings/games.jsonl and its SGF to gatekeepersgf/<candidate>/<hex>.sgfs as it finishes.
   The test stops early once the result cannot change.
3. Accept when the candidate scored at least requiredCandidateWinProp of the games played
   (ties go to the candidate): create selfplay/<candidate>/{sgfs,tdata,vadata}, then rename
   the candidate's directory into models/. Otherwise rename it into rejectedmodels/. One
   rename each: nothing is ever half-moved.

A restart in the middle of a test resumes it: the games already recorded for this candidate
against this baseline count, only the rest are played. SIGINT/SIGTERM drops the unfinished
games (as KataGo does), keeps every finished one and exits 0; a second signal exits at once.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from goloop.common.atomicfile import atomic_write
from goloop.common.config import describe_config
from goloop.common.files.heartbeat import Heartbeat
from goloop.common.files.modelpoll import ModelFile, latest_model
from goloop.common.logs import kv
from goloop.common.nn.randomnet import RANDOM_MODEL_NAME, RandomEvaluator
from goloop.common.play.scheduler import Scheduler
from goloop.common.play.seeds import new_hex, seed_rng
from goloop.common.runtime import apply_threads, plan_threads, resolve_device
from goloop.common.stopsignal import StopRequest, handling_stop_signals
from goloop.gatekeeper import records
from goloop.gatekeeper.arena import GameRules, NetPlayer, new_game_id, play_game
from goloop.gatekeeper.gamesetup import deal_colours, draw_setup

log = logging.getLogger(__name__)

TEST_DIR, ACCEPTED_DIR, REJECTED_DIR = "modelstobetested", "models", "rejectedmodels"
SGF_DIR, SELFPLAY_DIR = "gatekeepersgf", "selfplay"


class GatekeeperError(RuntimeError):
    """Something the gatekeeper cannot get past by itself (a rename target exists, ...)."""


@dataclass
class Test:
    candidate: ModelFile
    baseline: Optional[ModelFile]      # None: the random net

    @property
    def baseline_name(self) -> str:
        return self.baseline.name if self.baseline is not None else RANDOM_MODEL_NAME


@dataclass
class Tally:
    """A test's score so far (KataGo's numGamesTallied and win points)."""

    games: int = 0
    candidate_points: float = 0.0
    candidate_black: int = 0

    def add(self, game: dict, candidate: str) -> None:
        black = game["black"] == candidate
        points = float(game["white_points"])
        self.games += 1
        self.candidate_points += (1.0 - points) if black else points
        self.candidate_black += black

    @property
    def baseline_points(self) -> float:
        return self.games - self.candidate_points


def decided_early(t: Tally, total: int, required: float) -> bool:
    """KataGo stops a test once the candidate has enough points, or can no longer get them."""
    remaining = total - t.games
    if remaining <= 0:
        return True
    return (t.candidate_points >= total * required
            or t.candidate_points + remaining + 1e-10 < total * required)


def accepted(t: Tally, required: float) -> bool:
    """Pass iff points >= required share of the games played (ties to the candidate)."""
    return not (t.candidate_points + 1e-10 < required * t.games)


def colours_left(t: Tally, total: int, rng) -> List[bool]:
    """Whether the candidate is Black in each remaining game: the two colours as even as the
    games already played allow, dealt in shuffled pairs (KataGo's MatchPairer)."""
    left = total - t.games
    black_left = max(0, total // 2 - t.candidate_black)
    white_left = max(0, total // 2 - (t.games - t.candidate_black))
    while black_left + white_left < left:     # an odd total: the spare goes to the rarer colour
        if t.candidate_black + black_left <= t.games - t.candidate_black + white_left:
            black_left += 1
        else:
            white_left += 1
    return deal_colours(black_left, white_left, rng)[:left]


# ------------------------------------------------------------------------------------------------


def _dirs(base: str) -> dict:
    d = {k: os.path.join(base, k) for k in (TEST_DIR, ACCEPTED_DIR, REJECTED_DIR, SGF_DIR,
                                            SELFPLAY_DIR)}
    for k in (TEST_DIR, ACCEPTED_DIR, REJECTED_DIR, SGF_DIR):
        os.makedirs(d[k], exist_ok=True)
    return d


def _movable(model: ModelFile, test_dir: str) -> str:
    """What publishing moves: the model's directory when it sits in its own folder under the
    test dir, the bare file when it lies in the test dir itself (KataGo's moveModel)."""
    parent = os.path.realpath(os.path.dirname(model.path))
    root = os.path.realpath(test_dir)
    if parent == root:
        return model.path
    if parent.startswith(root + os.sep):
        return os.path.dirname(model.path)
    raise GatekeeperError(f"model {model.path} is not inside {test_dir}: cannot move it")


def move_model(model: ModelFile, test_dir: str, into: str) -> str:
    """Rename the candidate into `into` in one step; returns its new path."""
    src = _movable(model, test_dir)
    dest = os.path.join(into, os.path.basename(src))
    if os.path.lexists(dest):
        raise GatekeeperError(f"cannot move {src} to {dest}: {dest} already exists")
    try:
        os.rename(src, dest)
    except OSError as e:
        raise GatekeeperError(f"cannot move {src} to {dest}: {e.strerror or e}") from None
    return dest


def find_test(dirs: dict, cfg) -> Optional[Test]:
    """The next test, or None when nothing waits. Old candidates are rejected on the way."""
    while True:
        candidate = latest_model(dirs[TEST_DIR])
        if candidate is None:
            return None
        baseline = latest_model(dirs[ACCEPTED_DIR])
        too_old = baseline is not None and baseline.mtime > candidate.mtime
        if too_old and not cfg.noAutoRejectOldModels:
            dest = move_model(candidate, dirs[TEST_DIR], dirs[REJECTED_DIR])
            log.info("rejected unplayed: older than the newest accepted model",
                     extra=kv(candidate=candidate.name, baseline=baseline.name, moved_to=dest))
            continue
        return Test(candidate, baseline)


def _load(model: Optional[ModelFile], device: str, seed: int):
    if model is None:
        return RandomEvaluator(seed)
    from goloop.common.nn.evaluator import Evaluator
    return Evaluator.from_file(model.path, device=device)


class Gatekeeper:
    """The daemon's state across tests: config, directories, device, stop flag."""

    def __init__(self, cfg, progress: bool = True):
        if not cfg.base_dir:
            raise GatekeeperError("no base directory: give --base-dir BASEDIR")
        self.cfg = cfg
        self.progress = progress
        self.dirs = _dirs(cfg.base_dir)
        self.device = resolve_device(cfg.device)
        self.rng = seed_rng(cfg.seed)   # fresh entropy unless a seed is configured
        self.stop = StopRequest("dropping unfinished games, keeping finished ones", log)
        self.beat = Heartbeat(cfg.base_dir, "gatekeeper")

    def run(self) -> int:
        apply_threads(plan_threads(self.device, self.cfg.numEigenThreadsPerModel,
                                   self.cfg.numGameThreads * self.cfg.numSearchThreads), log)
        log.info("watching for candidates", extra=kv(dir=self.dirs[TEST_DIR]))
        while not self.stop:
            self.beat.beat(state="watching")
            test = find_test(self.dirs, self.cfg)
            if test is None:
                if self.cfg.quitIfNoNetsToTest:
                    log.info("no candidate to test: quitting")
                    break
                self._sleep(self.cfg.modelPollSeconds)
                continue
            verdict = self.run_test(test)
            if verdict is not None:
                self.publish(test, verdict)
        log.info("gatekeeper stopped", extra=kv(signal=bool(self.stop)))
        return 0

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stop and time.monotonic() < end:
            self.beat.beat(state="watching")
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))

    def recorded(self, test: Test) -> List[dict]:
        return [g for g in records.read_games(records.games_path(self.cfg.base_dir))
                if g.get("source") == "gating" and g.get("candidate") == test.candidate.name
                and g.get("baseline") == test.baseline_name]

    def run_test(self, test: Test) -> Optional[bool]:
        """Play the test to its end: True accept, False reject, None when stopped by a signal
        (the finished games stay recorded; the next run resumes)."""
        cfg, cand = self.cfg, test.candidate
        total, required = cfg.numGamesPerGating, cfg.requiredCandidateWinProp
        tally = Tally()
        for g in self.recorded(test):
            tally.add(g, cand.name)
        log.info("testing candidate", extra=kv(
            candidate=cand.name, baseline=test.baseline_name, games=total,
            already_played=tally.games, candidate_points=tally.candidate_points))
        if decided_early(tally, total, required):
            return accepted(tally, required)
        # A configured seed must not replay the games a resumed test already has: the test's
        # randomness is drawn from the seed, the test and how far it got.
        rng = seed_rng(f"{cfg.seed}/{cand.name}/{test.baseline_name}/{tally.games}") \
            if cfg.seed else self.rng
        try:
            cand_eval = _load(cand, self.device, 0)
        except (OSError, ValueError) as e:
            dest = move_model(cand, self.dirs[TEST_DIR], self.dirs[REJECTED_DIR])
            log.error("cannot load candidate: moved to rejected models",
                      extra=kv(path=cand.path, error=str(e), moved_to=dest))
            return None
        try:
            base_eval = _load(test.baseline, self.device, int(rng.integers(1 << 63)))
        except (OSError, ValueError) as e:   # an accepted model that cannot be read: stop
            raise GatekeeperError(
                f"cannot load the accepted model {test.baseline.path}: {e}") from None
        params = cfg.search_params()
        candidate = NetPlayer(cand.name, cand_eval, params, cfg.nnCacheSizePowerOfTwo)
        baseline = NetPlayer(test.baseline_name, base_eval, params, cfg.nnCacheSizePowerOfTwo)
        sgf_dir = os.path.join(self.dirs[SGF_DIR], cand.name)
        os.makedirs(sgf_dir, exist_ok=True)
        with atomic_write(os.path.join(sgf_dir, f"gatekeeper-{new_hex(rng)}.cfg"), "w") as f:
            f.write(describe_config(cfg) + "\n")
        sgf_path = os.path.join(sgf_dir, f"{new_hex(rng)}.sgfs")

        arena = Scheduler(cfg.max_board_len, cfg.nnMaxBatchSize, pad_batches=True)
        arena.name_net(cand_eval, cand.name)
        arena.name_net(base_eval, test.baseline_name)
        game_rules = GameRules.of(cfg)
        queue = colours_left(tally, total, rng)
        state = {"decided": False}

        def stopping() -> bool:
            return bool(self.stop) or state["decided"]

        bar = self._bar(total, tally.games, cand.name)
        start = time.monotonic()
        try:
            while True:
                while not stopping() and queue and len(arena) < cfg.numGameThreads:
                    cand_black = queue.pop(0)
                    black, white = (candidate, baseline) if cand_black else (baseline, candidate)
                    grng = np.random.default_rng(int(rng.integers(1 << 63)))
                    game = play_game(new_game_id(rng), draw_setup(cfg, grng),
                                     black.session(int(grng.integers(1 << 63))),
                                     white.session(int(grng.integers(1 << 63))),
                                     game_rules, grng, stopping)
                    arena.add(game, cand_black)
                if not arena.busy:
                    break
                for _, result in arena.step():
                    if result is None:
                        continue
                    line = records.game_line(result, "gating", candidate=cand.name,
                                             baseline=test.baseline_name)
                    # the SGF first: the games.jsonl line is what makes the game count
                    records.append_sgf(sgf_path, result.record)
                    records.append_json(records.games_path(cfg.base_dir), line)
                    tally.add(line, cand.name)
                    self._log_game(tally, result, cand.name, arena, start)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(score=f"{tally.candidate_points:g}-{tally.baseline_points:g}",
                                        refresh=False)
                    if not state["decided"] and decided_early(tally, total, required):
                        state["decided"] = True
                        if tally.games < total:
                            log.info("result decided early: dropping the games still running",
                                     extra=kv(games=tally.games, running=len(arena)))
        finally:
            if bar is not None:
                bar.close()
        elapsed = time.monotonic() - start
        log.info("test games done", extra=kv(
            candidate=cand.name, games=tally.games, candidate_points=tally.candidate_points,
            baseline_points=tally.baseline_points, seconds=round(elapsed, 1),
            nn_evals=arena.stats.rows_evaluated,
            nn_evals_per_s=round(arena.stats.rows_evaluated / max(elapsed, 1e-9), 1)))
        if not state["decided"]:
            return None
        return accepted(tally, required)

    def _bar(self, total: int, done: int, name: str):
        if not self.progress:
            return None
        from tqdm import tqdm
        return tqdm(total=total, initial=done, unit="game", desc=f"gating {name}",
                    dynamic_ncols=True)

    def _log_game(self, tally: Tally, result, cand: str, arena: Scheduler, start: float) -> None:
        self.beat.beat(state="testing", candidate=cand, games=tally.games)
        log.info("gating game", extra=kv(
            game=tally.games, black=result.black, white=result.white, result=result.result,
            moves=result.moves, candidate_points=tally.candidate_points,
            baseline_points=tally.baseline_points))
        if tally.games % self.cfg.logGamesEvery == 0:
            elapsed = max(1e-9, time.monotonic() - start)
            s = arena.stats
            log.info("gating progress", extra=kv(
                candidate=cand, games=tally.games, nn_evals=s.rows_evaluated,
                nn_evals_per_s=round(s.rows_evaluated / elapsed, 1),
                nn_time_pct=round(100.0 * s.nn_seconds / max(1e-9, s.total_seconds), 1)))

    def publish(self, test: Test, accept: bool) -> None:
        """Rename the candidate into models/ or rejectedmodels/ (selfplay dirs made first)."""
        name = test.candidate.name
        if accept:
            for sub in ("sgfs", "tdata", "vadata"):
                os.makedirs(os.path.join(self.dirs[SELFPLAY_DIR], name, sub), exist_ok=True)
        dest = move_model(test.candidate, self.dirs[TEST_DIR],
                          self.dirs[ACCEPTED_DIR if accept else REJECTED_DIR])
        log.info("candidate accepted" if accept else "candidate rejected",
                 extra=kv(candidate=name, baseline=test.baseline_name, moved_to=dest))


def run_gatekeeper(cfg, progress: bool = True) -> int:
    """The daemon; returns the exit code."""
    gk = Gatekeeper(cfg, progress)
    try:
        with handling_stop_signals(gk.stop):
            return gk.run()
    except KeyboardInterrupt:
        return 0                        # second stop request: finished games are recorded
    finally:
        gk.beat.close()
