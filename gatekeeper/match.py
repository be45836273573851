"""`goloop match`: two players, N games, alternating colours, many games at once.

KataGo's `match` plays bots named in its config; here the two players come from the command
line and each is either a model file (searched by goloop with the config's search keys, every
concurrent game's leaves sharing the net's forward passes, as in the gatekeeper) or any GTP
engine command line (`gnugo --mode gtp --level 10`, `katago gtp -model M -config C`, `goloop
gtp --model M`), one engine process per concurrent game. The player given as --black is Black
in the first game; colours then alternate. Board sizes, rules, komi, resignation and the move
limit are KataGo's match keys (config.py). With komiAuto the fair komi comes from the searches
of the nets among the players (both averaged, as KataGo does; the one net against an engine);
two engines play at komiMean. An engine that knows `kata-set-rules` is told the game's rules;
any other plays under its own idea of them, refereed by goloop's (so area scoring, e.g.
`scoringRules = AREA`, suits GNU Go best). Every finished game is printed as one JSON line,
its SGF appended to <sgf-dir>/<hex>.sgfs, and with --base-dir recorded in
BASEDIR/ratings/games.jsonl for `goloop ratings`; the last line is a summary with a 95%
interval on the score and on the Elo difference.

A game the players end by passing is scored by goloop's referee under the game's rules (stones
on the board count as they stand, KataGo-style: nets play until the dead stones are captured),
unless a GTP engine that knows `final_score` took part: engines such as GNU Go pass while dead
stones are still on the board and expect them removed, so their own score is used (how =
"engine-score"; the referee's, when it differs, stays in the SGF root comment).
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import math
import os
import shlex
import sys
import time
from typing import List, Optional, TextIO

import numpy as np

from goloop.common.files.modelpoll import MODEL_SUFFIXES, model_name
from goloop.common.logs import kv
from goloop.common.play.scheduler import Scheduler
from goloop.common.play.seeds import new_hex, seed_rng
from goloop.common.runtime import apply_threads, plan_threads, resolve_device
from goloop.common.stopsignal import StopRequest
from goloop.gatekeeper import records
from goloop.gatekeeper.arena import GameRules, GtpPlayer, NetPlayer, new_game_id, play_game
from goloop.gatekeeper.gamesetup import draw_setup
from goloop.gatekeeper.gtpclient import GtpError

log = logging.getLogger(__name__)
Z95 = 1.959963984540054


def is_model_file(spec: str) -> bool:
    """A player spec naming an existing model file (else it is a GTP command line)."""
    return os.path.isfile(spec) and spec.endswith(MODEL_SUFFIXES)


def default_name(spec: str) -> str:
    """A model's KataGo name, or the engine's program name with its arguments."""
    if is_model_file(spec):
        return model_name(spec)
    argv = shlex.split(spec)
    return " ".join([os.path.basename(argv[0])] + argv[1:]) if argv else spec


def summarize(results: List, a: str, b: str) -> dict:
    """Wins, losses and draws of player `a` against `b`, its score rate with a 95% Wilson
    interval (draws and no results count half), and the Elo difference that rate means."""
    def winner(r):
        return r.black if r.winner == "B" else r.white if r.winner == "W" else None

    wins = sum(1 for r in results if winner(r) == a)
    losses = sum(1 for r in results if winner(r) == b)
    n = len(results)
    score = sum(r.black_points if r.black == a else r.white_points for r in results)
    out = dict(players=[a, b], games=n, wins=wins, losses=losses, draws=n - wins - losses,
               score=score)
    if n:
        p = score / n
        z2 = Z95 * Z95
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        lo, hi = max(0.0, centre - half), min(1.0, centre + half)
        out.update(score_rate=round(p, 4), score_rate_ci95=[round(lo, 4), round(hi, 4)],
                   elo_diff=_elo(p), elo_diff_ci95=[_elo(lo), _elo(hi)])
    return out


def _elo(p: float) -> Optional[float]:
    """Elo difference of a score rate (None at 0 or 1: unbounded)."""
    if p <= 0.0 or p >= 1.0:
        return None
    return round(400.0 * math.log10(p / (1.0 - p)), 1)


class _Players:
    """The two players, nets loaded once per file, GTP engines started on demand."""

    def __init__(self, cfg, specs: List[str], names: List[str], device: str):
        self.executor = cf.ThreadPoolExecutor(max_workers=2 * cfg.numGameThreads + 2,
                                              thread_name_prefix="gtp")
        evaluators: dict = {}
        self.players = []
        for spec, name in zip(specs, names):
            if is_model_file(spec):
                key = os.path.realpath(spec)
                if key not in evaluators:
                    from goloop.common.nn.evaluator import Evaluator
                    evaluators[key] = Evaluator.from_file(spec, device=device)
                self.players.append(NetPlayer(name, evaluators[key], cfg.search_params(),
                                              cfg.nnCacheSizePowerOfTwo))
            else:
                self.players.append(GtpPlayer(name, spec, self.executor))

    @property
    def has_net(self) -> bool:
        return any(isinstance(p, NetPlayer) for p in self.players)

    def close(self) -> None:
        for p in self.players:
            p.close()
        self.executor.shutdown(wait=True, cancel_futures=True)


def run_match(cfg, black: str, white: str, sgf_dir: Optional[str] = None,
              base_dir: Optional[str] = None, black_name: Optional[str] = None,
              white_name: Optional[str] = None, out: Optional[TextIO] = None,
              progress: bool = True) -> int:
    """Play the match; returns the exit code (0, or 1 when an engine cannot be set up).
    Game lines and the summary go to `out` (default: stdout)."""
    out = sys.stdout if out is None else out
    names = [black_name or default_name(black), white_name or default_name(white)]
    if names[0] == names[1]:
        names = [names[0] + " (A)", names[1] + " (B)"]
    device = resolve_device(cfg.device)
    rng = seed_rng(cfg.seed)
    players = _Players(cfg, [black, white], names, device)
    if players.has_net:
        apply_threads(plan_threads(device, cfg.numEigenThreadsPerModel,
                                   cfg.numGameThreads * cfg.numSearchThreads), log)
    sgf_path = None
    if sgf_dir:
        os.makedirs(sgf_dir, exist_ok=True)
        sgf_path = os.path.join(sgf_dir, f"{new_hex(rng)}.sgfs")
    stop = StopRequest("dropping unfinished games", log).install()
    arena = Scheduler(cfg.max_board_len, cfg.nnMaxBatchSize, pad_batches=True)
    for p in players.players:
        if isinstance(p, NetPlayer):
            arena.name_net(p.evaluator, p.name)
    game_rules = GameRules.of(cfg)
    results: list = []
    started, code = 0, 0
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.numGamesTotal, unit="game", desc="match", dynamic_ncols=True,
                   file=sys.stderr)
    t0 = time.monotonic()
    try:
        while True:
            while not stop and started < cfg.numGamesTotal and len(arena) < cfg.numGameThreads:
                a, b = players.players if started % 2 == 0 else players.players[::-1]
                grng = np.random.default_rng(int(rng.integers(1 << 63)))
                game = play_game(new_game_id(rng), draw_setup(cfg, grng),
                                 a.session(int(grng.integers(1 << 63))),
                                 b.session(int(grng.integers(1 << 63))), game_rules, grng,
                                 lambda: bool(stop))
                arena.add(game, started)
                started += 1
            if not arena.busy:
                break
            for index, result in arena.step():
                if result is None:
                    continue
                results.append(result)
                line = records.game_line(result, "match")
                print(json.dumps(dict(game=index + 1, **line)), file=out, flush=True)
                if sgf_path:
                    records.append_sgf(sgf_path, result.record)
                if base_dir:
                    records.append_json(records.games_path(base_dir), line)
                if bar is not None:
                    bar.update(1)
                if len(results) % cfg.logGamesEvery == 0:
                    log.info("match progress", extra=kv(
                        games=len(results), nn_evals=arena.stats.rows_evaluated,
                        seconds=round(time.monotonic() - t0, 1)))
    except GtpError as e:
        log.error("a GTP engine could not be set up: stopping the match", extra=kv(error=str(e)))
        code = 1
    except KeyboardInterrupt:
        pass                            # second stop request: summarize what finished
    finally:
        if bar is not None:
            bar.close()
        stop.restore()
        players.close()
    summary = summarize(results, names[0], names[1])
    elapsed = time.monotonic() - t0
    summary.update(seconds=round(elapsed, 1), nn_evals=arena.stats.rows_evaluated,
                   nn_evals_per_s=round(arena.stats.rows_evaluated / max(elapsed, 1e-9), 1))
    print(json.dumps({"summary": summary}), file=out, flush=True)
    log.info("match finished",
             extra=kv(**{k: v for k, v in summary.items() if not isinstance(v, list)}))
    return code
