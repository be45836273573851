"""Searches beside the game: the GTP answers that need a short search of another position.

KataGo answers some questions with a search that is not the game's own: `final_score` and
`final_status_list`, where the rules alone cannot score the position, search it with noiseless
parameters (KataGo's getNoiselessParams; final_score at several komis); genmove's friendly pass
searches the positions after a pass and after its move before it gives the move up; and
`kata-benchmark` searches a fresh game. Each clears the tree, searches with parameters of its own
and then puts the searcher back as genmove wants it (`_restore_after_side_searches`). Cleanup
before pass, friendly pass's opposite (it reads pass-alive territory, without a search), sits
beside it. These live apart from gtp_search so that the genmove and analysis paths can be read
without them: gtp_search's SearchCommands inherits `SideSearches` and registers the commands.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Optional

import numpy as np

from goloop.common.go.area import area_map
from goloop.common.go.coords import point_to_gtp
from goloop.common.go.history import History
from goloop.common.go.rules import ScoringRule, parse_rules
from goloop.common.play.fairkomi import noiseless_params
from goloop.common.search.reports import Analysis
from goloop.engine import gtp_score
from goloop.engine.gtp_protocol import GtpError, expect_args
from goloop.engine.gtp_stream import header

BLACK, WHITE = 1, 2
# What "no limit" is in SearchParams (analysis searches until interrupted, like KataGo's).
UNLIMITED_VISITS = 1 << 50
UNLIMITED_TIME = 1e20


def replace_known(params, **changes):
    """dataclasses.replace for the fields `params` has: KataGo keys the goloop search does not
    have (antiMirror, say) are left out."""
    names = {f.name for f in dataclasses.fields(params)}
    return dataclasses.replace(params, **{k: v for k, v in changes.items() if k in names})


def white_winloss(analysis: Analysis) -> float:
    """The root's win minus loss, White's view."""
    return 2.0 * analysis.root.white_winrate - 1.0


class SideSearches:
    """The side searches of gtp_search.SearchCommands, which inherits them: they run on its
    searcher and search loop (`searcher`, `params`, `_use_params`, `_search`, `_set_avoid`,
    `_own_in_tree`)."""

    def _side_search(self, params, hist: History, visits: int, ownership: bool = False) -> Analysis:
        """A fresh fixed-visit search of `hist` (scoring questions); the caller restores state."""
        self._use_params(params)
        self.searcher.clear_tree()
        self.searcher.set_position(hist)
        self.search_is_for = hist.next_player
        self._set_avoid(None)
        result = self._search(visits, None)
        if ownership:
            result = self.searcher.analysis(include_ownership=True, include_moves_ownership=False,
                                            include_pv=False)
        return result

    def _restore_after_side_searches(self) -> None:
        self._own_in_tree(False)
        self.searcher.clear_tree()
        self._use_params(self.params.genmove)

    def _scoring_params(self, visits: int):
        params = replace_known(self.params.genmove, playoutDoublingAdvantage=0.0,
                               conservativePass=True, antiMirror=False)
        return noiseless_params(params, visits)

    def _anticipated_alive(self, hist: History, visits: int) -> tuple[np.ndarray, np.ndarray]:
        """(alive map, ownership) from one scoring search; the caller restores the searcher."""
        params = self._scoring_params(visits)
        self._own_in_tree(True)
        analysis = self._side_search(params, hist.copy(), visits, ownership=True)
        return gtp_score.alive_from_ownership(hist.board, analysis.ownership), analysis.ownership

    def _maybe_friendly_pass(self, pla: int, move, hist: History, params, visits: int):
        """KataGo's friendly pass: under area scoring with friendlyPassOk, answer the opponent's
        pass with a pass when the board is settled and the move would gain nothing."""
        if self.cleanup_before_pass is True or move is None:
            return move
        rules = hist.rules
        area = rules.scoring_rule == ScoringRule.AREA
        do_it = self.friendly_pass if self.friendly_pass is not None else (rules.friendly_pass_ok and area)
        moves = hist.moves
        if not (do_it and area and not rules.has_button and hist.pass_would_end_phase(pla)
                and moves and moves[-1][0] == 3 - pla and moves[-1][1] is None):
            return move
        try:
            alive, ownership = self._anticipated_alive(hist, visits)
            clean = hist.board.copy()
            stones = clean.stones()
            for y, x in zip(*np.nonzero((stones != 0) & ~alive)):
                clean.set_stone((int(x), int(y)), 0)
            owner = area_map(clean, multi_stone_suicide_legal=rules.multi_stone_suicide_legal)
            own = np.asarray(ownership, dtype=np.float64).reshape(hist.y_size, hist.x_size)
            unsurrounded = bool(((own > 0.75) & (owner != WHITE)).any()
                                or ((own < -0.75) & (owner != BLACK)).any())
            if unsurrounded or _adjacent_to(clean, move, 3 - pla) or _would_capture(clean, move, 3 - pla):
                return move
            scoring = replace_known(noiseless_params(params, visits), playoutDoublingAdvantagePla="",
                                    playoutDoublingAdvantage=0.0, conservativePass=True)
            after_pass = hist.copy()
            after_pass.play(None, pla)
            after_move = hist.copy()
            after_move.play(move, pla)
            a_pass = self._side_search(scoring, after_pass, visits)
            a_move = self._side_search(scoring, after_move, visits)
        finally:
            self._restore_after_side_searches()
        p, m = a_pass.root, a_move.root
        if pla == WHITE and p.white_utility > m.white_utility - 0.1 and \
                p.white_score_mean > m.white_score_mean - 0.25 and p.white_lead > m.white_lead - 0.25:
            return None
        if pla == BLACK and p.white_utility < m.white_utility + 0.1 and \
                p.white_score_mean < m.white_score_mean + 0.25 and p.white_lead < m.white_lead + 0.25:
            return None
        return move

    def _maybe_cleanup_before_pass(self, pla: int, move, hist: History):
        """KataGo's cleanup before pass: where passing with dead stones left on the board would
        cost points (area scoring without friendlyPassOk, or when configured), play a move next to
        an opponent stone inside our pass-alive territory instead of passing."""
        if self.friendly_pass is True or move is not None:
            return move
        rules = hist.rules
        do_it = (self.cleanup_before_pass if self.cleanup_before_pass is not None
                 else (not rules.friendly_pass_ok and rules.scoring_rule == ScoringRule.AREA))
        final_phase = rules.scoring_rule == ScoringRule.AREA or hist.encore_phase >= 2
        if not (do_it and final_phase and not rules.has_button):
            return move
        board = hist.board
        safe = area_map(board, non_pass_alive_stones=False, safe_big=False, unsafe_big=False,
                        multi_stone_suicide_legal=rules.multi_stone_suicide_legal)
        stones = board.stones()
        choice = None
        for y in range(hist.y_size):
            for x in range(hist.x_size):
                if choice is None and stones[y, x] == 0 and safe[y, x] == pla and \
                        _adjacent_to(board, (x, y), 3 - pla) and hist.is_legal((x, y), pla):
                    choice = (x, y)
        return choice

    # ---- scoring ---------------------------------------------------------------------------------

    def cmd_final_score(self, args: list[str]) -> str:
        expect_args("final_score", args, 0)
        hist = self.history
        if gtp_score.exact_end(hist):
            return self.engine.cmd_final_score(args)
        visits = max(50, self.params.genmove.numSearchThreads * 10)
        params = self._scoring_params(visits)

        def evaluate(komi: float) -> tuple[float, float]:
            h = hist.copy()
            h.set_rules(hist.rules.with_komi(komi))
            analysis = self._side_search(params, h, visits)
            return analysis.root.white_lead, white_winloss(analysis)

        try:
            lead = gtp_score.compute_lead(evaluate, hist.rules.komi, hist.x_size, hist.y_size,
                                          gtp_score.coarse_komi_granularity(hist.rules))
        finally:
            self._restore_after_side_searches()
        return gtp_score.final_score_reply(
            gtp_score.round_lead(lead, hist.rules.game_result_will_be_integer()))

    def cmd_final_status_list(self, args: list[str]) -> str:
        expect_args("final_status_list", args, 1, "alive, seki or dead")
        status = args[0]
        if status not in ("alive", "seki", "dead") or gtp_score.exact_end(self.history):
            return self._board_final_status_list(args)
        if status == "seki":
            return ""
        hist = self.history
        visits = max(100, self.params.genmove.numSearchThreads * 20)
        try:
            alive, _ = self._anticipated_alive(hist, visits)
        finally:
            self._restore_after_side_searches()
        stones = hist.board.stones()
        want_alive = status == "alive"
        points = [(x, y) for y in range(hist.y_size) for x in range(hist.x_size)
                  if stones[y, x] != 0 and bool(alive[y, x]) == want_alive]
        return " ".join(point_to_gtp(p, hist.x_size, hist.y_size) for p in points)

    # ---- benchmark -----------------------------------------------------------------------------------

    def cmd_benchmark(self, args: list[str]) -> Optional[str]:
        if len(args) != 1:
            raise GtpError(f"Expected one argument for kata-benchmark but got '{' '.join(args)}'")
        text = args[0].strip()
        if not text.lstrip("+-").isdigit() or len(text) > 19:
            raise GtpError(f"Could not parse number of visits: {args[0]}")
        visits = int(text)
        if visits < 1:
            raise GtpError(f"Could not parse number of visits: {args[0]}")
        xs, ys = self.engine.size
        if xs != ys:
            raise GtpError(f"Current board size is {xs}x{ys}, no built-in benchmarks for rectangular boards")
        out = self.engine.out
        out.write(header(self.engine.command_id))
        params = replace_known(self.params.genmove, maxVisits=visits, maxPlayouts=UNLIMITED_VISITS,
                               maxTime=UNLIMITED_TIME)
        positions = 10
        hist = History(parse_rules("tromp-taylor"), xs, ys)
        total_visits = 0
        total_seconds = 0.0
        try:
            for _ in range(positions):
                self.searcher.clear_cache()
                start = time.monotonic()
                analysis = self._side_search(params, hist.copy(), visits)
                total_seconds += time.monotonic() - start
                total_visits += analysis.root.visits if analysis.root is not None else 0
                move = self.searcher.choose_move()
                if hist.is_finished or (move is not None and not hist.is_legal(move, hist.next_player)):
                    break
                hist.play(move, hist.next_player)
        finally:
            self._restore_after_side_searches()
        rate = total_visits / total_seconds if total_seconds > 0 else 0.0
        out.write(f"numSearchThreads = {params.numSearchThreads:2d}: {positions} / {positions} positions,"
                  f" visits/s = {rate:.2f} ({total_seconds:.1f} secs)\n\n")
        return None


def _neighbours(board, point):
    x, y = point
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nx, ny = x + dx, y + dy
        if 0 <= nx < board.x_size and 0 <= ny < board.y_size:
            yield nx, ny


def _adjacent_to(board, point, color: int) -> bool:
    stones = board.stones()
    return any(stones[ny, nx] == color for nx, ny in _neighbours(board, point))


def _would_capture(board, point, color: int) -> bool:
    """Whether `color` playing at `point` captures (KataGo's wouldBeCapture: an adjacent opponent
    chain in atari)."""
    stones = board.stones()
    opp = 3 - color
    return any(stones[ny, nx] == opp and board.liberty_count((nx, ny)) == 1
               for nx, ny in _neighbours(board, point))
