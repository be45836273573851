"""Games between two players, many at once, the nets' searches batched on one device.

KataGo's gatekeeper and match run `numGameThreads` threads, each playing one game with one
`Search` per bot, and its NN server batches what the threads ask. Here a game is a generator
coroutine (as in selfplay): `play_game` reads top to bottom like KataGo's Play::runGame for two
bots, and common/play's Scheduler (with batch padding on) interleaves hundreds of them so that
every forward pass of a net carries one leaf of every game whose mover uses that net.

A game coroutine waits on `Searcher`s on which it called `begin` or on
`concurrent.futures.Future`s (GTP commands running on worker threads). Its return value is the
game's `GameResult`, or None when the daemon is stopping and the game was dropped unfinished
(as KataGo drops it).

Players: a `NetPlayer` is a model file played by goloop's search (one Evaluator and one NN cache
per net, one search tree per game and side, kept between moves as KataGo does); a `GtpPlayer` is
any GTP engine command line, one subprocess per concurrent game (gtpclient.py). The referee is
goloop's History under the game's rules: a GTP engine's illegal move forfeits the game.
All values are White's view, as inside KataGo.
"""
from __future__ import annotations

import concurrent.futures as cf
import math
from dataclasses import dataclass
from typing import Callable, Generator, List, Optional, Sequence

import numpy as np

from goloop.common.go.coords import gtp_to_point, point_to_gtp
from goloop.common.go.history import History
from goloop.common.go.sgf import GameRecord, format_result
from goloop.common.play.fairkomi import fair_komi
from goloop.common.play.komi import KomiNoise, noised_komi, round_and_clip_komi
from goloop.common.play.seeds import new_hex
from goloop.common.search import core as search_core
from goloop.common.search.searcher import Searcher
from goloop.gatekeeper.gamesetup import GameSetup
from goloop.gatekeeper.gtpclient import GtpEngine, GtpError

BLACK, WHITE = 1, 2
RESIGN = "resign"


@dataclass
class GameResult:
    """One finished game, enough for tallies, ratings and the SGF."""

    game_id: str
    black: str
    white: str
    winner: str                 # "B", "W", or "" for a draw or no result
    result: str                 # SGF RE[]: "W+3.5", "B+R", "W+F" (forfeit), "0", "Void"
    how: str                    # "score", "engine-score" (a GTP engine's final_score), "resign",
                                # "forfeit", "move-limit", "no-result"
    score: Optional[float]      # White minus Black when scored
    white_points: float         # KataGo's tally: win 1, loss 0, draw/no result as configured
    moves: int
    record: GameRecord
    reason: str = ""            # what a forfeit was for

    @property
    def black_points(self) -> float:
        return 1.0 - self.white_points


# ------------------------------------------------------------------------------------------------
# Players


class PlayerError(RuntimeError):
    """A player failed during a game (engine died, unreadable move): the game is forfeit."""


class NetPlayer:
    """A net searched by goloop: its evaluator, search params and NN cache."""

    def __init__(self, name: str, evaluator, params, cache_size_pow2: int = 21):
        self.name = name
        self.evaluator = evaluator
        self.params = params
        self.cache = search_core.NNCache(cache_size_pow2)

    def session(self, seed: int) -> "NetSession":
        return NetSession(self, seed)

    def close(self) -> None:
        pass


class NetSession:
    """One side of one game: a search tree kept from move to move."""

    def __init__(self, player: NetPlayer, seed: int):
        self.name = player.name
        self.searcher = Searcher(player.evaluator, player.params, seed=seed, nn_cache=player.cache)

    @property
    def searchers(self) -> List[Searcher]:
        return [self.searcher]

    def start(self, history: History) -> Generator:
        """A fresh tree for the game's first position (KataGo's setPosition)."""
        self.searcher.set_position(history)
        self.searcher.clear_tree()
        return
        yield

    def genmove(self, history: History, clear_tree: bool) -> Generator:
        """Coroutine: (move, White's searched win-loss, SGF comment). The tree of the previous
        move is kept when `history` extends it (KataGo's makeMove on both bots)."""
        s = self.searcher
        s.set_position(history)
        if clear_tree:
            s.clear_tree()
        s.begin()
        yield [s]
        v = s.core.root_values(False)
        wl, nr = float(v["win_loss"]), float(v["no_result"])
        # KataGo's per-move SGF comment: White's win, loss, no result, score, root visits
        comment = (f"{0.5 * (1.0 + wl - nr):.2f} {0.5 * (1.0 - wl - nr):.2f} {nr:.2f} "
                   f"{float(v['score_mean']):.1f} v={s.core.root_visits}")
        return s.choose_move(), wl, comment

    def observe(self, history: History, move, pla: int) -> Generator:
        return
        yield

    def close(self) -> None:
        pass


class GtpPlayer:
    """A GTP engine command line; engines are started on demand and reused by later games."""

    def __init__(self, name: str, command: str, executor: cf.Executor):
        self.name = name
        self.command = command
        self.executor = executor
        self._idle: List[GtpEngine] = []
        self._all: List[GtpEngine] = []

    def session(self, seed: int) -> "GtpSession":
        engine = self._idle.pop() if self._idle else None
        if engine is None or not engine.alive:
            engine = GtpEngine(self.command, self.name)
            self._all.append(engine)
        return GtpSession(self, engine)

    def release(self, engine: GtpEngine, ok: bool) -> None:
        if ok and engine.alive:
            self._idle.append(engine)
        else:
            engine.close()

    def close(self) -> None:
        for engine in self._all:
            engine.close()
        self._all.clear()
        self._idle.clear()


class GtpSession:
    """One side of one game played by an engine process."""

    def __init__(self, player: GtpPlayer, engine: GtpEngine):
        self.name = player.name
        self.player = player
        self.engine = engine
        self.searchers: List[Searcher] = []
        self.failed = False

    def _call(self, fn, *args) -> Generator:
        future = self.player.executor.submit(fn, *args)
        yield [future]
        try:
            return future.result()
        except GtpError as e:
            self.failed = True
            raise PlayerError(str(e)) from None

    def start(self, history: History) -> Generator:
        """Board, komi and (for engines that know KataGo's command) the rules. The engine
        failing here is an error of the match, not a lost game: it is raised as GtpError."""
        xs, ys = history.x_size, history.y_size
        rules = history.rules

        def setup():
            e = self.engine
            e.send(f"boardsize {xs}" if xs == ys else f"rectangular_boardsize {xs} {ys}")
            e.send("clear_board")
            e.send(f"komi {rules.komi:g}")
            if e.supports("kata-set-rules"):
                e.send(f"kata-set-rules {rules.to_compact(include_komi=False)}")

        future = self.player.executor.submit(setup)
        yield [future]
        try:
            future.result()
        except GtpError:
            self.failed = True
            raise

    def genmove(self, history: History, clear_tree: bool) -> Generator:
        colour = "B" if history.next_player == BLACK else "W"
        reply = (yield from self._call(self.engine.send, f"genmove {colour}")).strip().lower()
        if reply == RESIGN:
            return RESIGN, None, None
        try:
            return gtp_to_point(reply, history.x_size, history.y_size), None, None
        except ValueError:
            self.failed = True
            raise PlayerError(f"{self.name} answered genmove with {reply!r}") from None

    def observe(self, history: History, move, pla: int) -> Generator:
        colour = "B" if pla == BLACK else "W"
        vertex = point_to_gtp(move, history.x_size, history.y_size)
        yield from self._call(self.engine.send, f"play {colour} {vertex}")

    def final_score(self) -> Generator:
        """The engine's own score of the finished game (White's lead), None if it has none.

        Engines such as GNU Go pass as soon as they see the game decided and leave dead stones
        on the board, expecting them to be removed at the end; scored as the stones stand
        (goloop's referee, right for nets that play the game out as KataGo does), such a game
        would go to the side whose stones are dead. The engine's `final_score` removes them."""
        if not self.engine.supports("final_score"):
            return None
        try:
            reply = (yield from self._call(self.engine.send, "final_score")).strip().upper()
        except PlayerError:
            return None
        if reply in ("0", "DRAW", "JIGO"):
            return 0.0
        try:
            value = float(reply[2:])
        except ValueError:
            return None
        return value if reply.startswith("W+") else -value if reply.startswith("B+") else None

    def close(self) -> None:
        """Back to the player's idle engines, unless it failed (then it is shut down)."""
        self.player.release(self.engine, not self.failed)


# ------------------------------------------------------------------------------------------------
# One game


@dataclass(frozen=True)
class GameRules:
    """The config keys a game reads (a GatekeeperConfig or MatchConfig has them all)."""

    maxMovesPerGame: int
    allowResignation: bool
    resignThreshold: float
    resignConsecTurns: int
    clearBotBeforeSearch: bool
    komiAuto: bool
    komiStdev: float
    compensateKomiVisits: int
    drawEquivalentWinsForWhite: float
    noResultUtilityForWhite: float

    @classmethod
    def of(cls, cfg) -> "GameRules":
        return cls(**{f: getattr(cfg, f) for f in cls.__dataclass_fields__})


def should_resign(values: Sequence[float], pla: int, threshold: float, consec: int) -> bool:
    """KataGo's rule (Play::runGame): the player who just moved resigns when each of the last
    `consec` searched win-loss values (White's view) says that player is losing."""
    if len(values) < consec:
        return False
    for v in values[-consec:]:
        losing = WHITE if v < threshold else (BLACK if v > -threshold else 0)
        if losing != pla:
            return False
    return True


def _white_points(history: History, winner: str, gr: GameRules) -> float:
    """KataGo gatekeeper's tally: a no result gives White drawEquivalentWinsForWhite, a draw
    0.5 * noResultUtilityForWhite + 0.5 (gatekeeper.cpp, as written there)."""
    if history.is_finished and history.is_no_result:
        return gr.drawEquivalentWinsForWhite
    if winner == "W":
        return 1.0
    if winner == "B":
        return 0.0
    return 0.5 * gr.noResultUtilityForWhite + 0.5


def play_game(game_id: str, setup: GameSetup, black, white, gr: GameRules,
              rng: np.random.Generator, stopping: Callable[[], bool] = lambda: False,
              root_comment: str = "") -> Generator:
    """Coroutine: one game, Black's session first (KataGo's GameRunner::runGame + Play::runGame
    without training data). Returns a GameResult, or None when `stopping()` turned true. The
    sessions are closed when the game ends, however it ends."""
    try:
        return (yield from _play(game_id, setup, black, white, gr, rng, stopping, root_comment))
    finally:
        black.close()
        white.close()


def _play(game_id, setup, black, white, gr, rng, stopping, root_comment) -> Generator:
    xs, ys = setup.x_size, setup.y_size
    rules = setup.rules
    komi = rules.komi
    if gr.komiAuto:
        searchers = list({id(s): s for p in (black, white) for s in p.searchers}.values())
        if searchers:
            empty = History(rules, xs, ys)
            komi = yield from fair_komi(empty, searchers, gr.compensateKomiVisits, rng)
    if gr.komiStdev > 0:
        # KataGo's setKomiWithNoise with komiStdev scaled by sqrt(area)/19, integers allowed
        noise = KomiNoise(komi, gr.komiStdev * math.sqrt(xs * ys) / 19.0, allow_integer=True)
        komi = noised_komi(noise, rng, xs, ys)
    komi = round_and_clip_komi(komi, xs, ys)
    rules = rules.with_komi(komi)
    history = History(rules, xs, ys)
    yield from black.start(history)
    yield from white.start(history)

    sides = {BLACK: black, WHITE: white}
    values: List[float] = []
    comments: List[Optional[str]] = []
    winner, how, reason = "", "", ""
    min_turn_for_resignation = 1 + (xs * ys) // 5
    for turn in range(gr.maxMovesPerGame):
        history.end_game_if_all_pass_alive()
        if history.is_finished:
            break
        if stopping():
            return None
        pla = history.next_player
        opp = WHITE if pla == BLACK else BLACK
        colour, opp_colour = ("B", "W") if pla == BLACK else ("W", "B")
        try:
            move, wl, comment = yield from sides[pla].genmove(history, gr.clearBotBeforeSearch)
        except PlayerError as e:
            winner, how, reason = opp_colour, "forfeit", str(e)
            break
        if move == RESIGN:
            winner, how = opp_colour, "resign"
            break
        if not history.is_legal(move, pla):
            winner, how = opp_colour, "forfeit"
            reason = f"{colour} played illegal {point_to_gtp(move, xs, ys)}"
            break
        history.play(move, pla)
        comments.append(comment)
        try:
            yield from sides[opp].observe(history, move, pla)
        except PlayerError as e:
            winner, how, reason = colour, "forfeit", str(e)
            break
        if gr.allowResignation and wl is not None:
            values.append(wl)
            if turn >= min_turn_for_resignation and should_resign(
                    values, pla, gr.resignThreshold, gr.resignConsecTurns):
                winner, how = opp_colour, "resign"
                break

    score = None
    if how == "resign":
        result = format_result(resigned_winner=winner)
    elif how == "forfeit":
        result = f"{winner}+F"
    elif history.is_finished and history.is_no_result:
        how, result = "no-result", format_result(no_result=True)
    else:
        if history.is_finished:
            how, score = "score", float(history.final_score)
            for side in (black, white):
                ask = getattr(side, "final_score", None)
                engine_score = (yield from ask()) if ask is not None else None
                if engine_score is not None:
                    if engine_score != score:
                        root_comment = ((root_comment + ",") if root_comment else "") + \
                            f"refereeScore={score:g},scoredBy={side.name}"
                    how, score = "engine-score", engine_score
                    break
        else:
            how, score = "move-limit", float(history.score_now())
        winner = "W" if score > 0 else ("B" if score < 0 else "")
        result = format_result(score)
    white_points = _white_points(history, winner, gr)
    # KataGo's root comment keys, so that tools reading KataGo's gatekeeper SGFs read these
    comment = f"startTurnIdx=0,initTurnNum=0,gameHash={game_id},gtype=normal"
    if root_comment:
        comment += f",{root_comment}"
    if reason:
        comment += ",forfeit=" + reason.replace(",", ";").replace("=", ":")
    if comments and how != "move-limit":
        comments[-1] = (comments[-1] + " " if comments[-1] else "") + f"result={result}"
    record = GameRecord(x_size=xs, y_size=ys, komi=komi, rules=rules, result=result,
                        moves=[("B" if c == BLACK else "W", m) for c, m in history.moves],
                        black_name=black.name, white_name=white.name, root_comment=comment,
                        move_comments=comments if any(comments) else [])
    return GameResult(game_id, black.name, white.name, winner, result, how, score, white_points,
                      len(history.moves), record, reason)


def new_game_id(rng: np.random.Generator) -> str:
    """32 upper-case hex digits: a 128-bit game hash, as KataGo's SGF root comments carry."""
    return new_hex(rng) + new_hex(rng)
