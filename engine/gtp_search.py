"""The search half of KataGo's GTP: genmove and friends, the analysis commands, clocks, params.

Attached by the GtpEngine (gtp.py) when a model is loaded. Behaviour follows KataGo v1.17.2's gtp.cpp:

* `genmove C` searches with the genmove parameters and plays the move; `reg_genmove` and
  `kata-search` reply the same without playing; `kata-search_cancellable` runs in the background
  and replies `cancelled` if any input arrives first. Their `_analyze` variants print a `=` line,
  then `info` lines every interval and once at the end, then `play MOVE`; the cancellable one
  says `play cancelled` when interrupted. After the search, genmove records the root win/loss
  value, resigns by KataGo's rules when allowed, applies the friendly-pass and
  cleanup-before-pass hacks (gtp_side_search), and only then answers.
* `lz-analyze`, `kata-analyze` and Sabaki's `analyze` search with the analysis parameters in the
  background, printing a line every interval, until the next input line, then end the reply with
  a blank line. Values are converted to `reportAnalysisWinratesAs`.
* The search budget is KataGo's: maxVisits/maxPlayouts/maxTime times the search factor
  (searchFactorWhenWinning's play-faster factor times searchFactorAfterOnePass/TwoPass after
  passes), further limited by the mover's clock (`time_settings`, `kgs-time_settings`,
  `kata-time_settings`, `time_left`; timebudget's plan, made once at the start of the
  search where KataGo re-plans every 0.1 s).
* `final_score` and `final_status_list` ask the net (short searches) unless the game ended under
  rules whose result is exact; see gtp_side_search and gtp_score.
* `kata-get-param`, `kata-set-param`, `kata-list-params` (and the unlisted `kata-get-params`,
  `kata-set-params`) see gtp_params; `clear_cache`, `stop`, `cputime`/`gomill-cpu_time` (wall
  time spent in genmove-type commands), `kata-benchmark N` (gtp_side_search).

* The analysis commands' `avoid` / `allow` arguments (kata-, lz- and Sabaki flavours, genmove
  ones included) go to the search as KataGo's avoidMoveUntilByLoc: for the colour named, the
  moves listed (`avoid`), or every move but those (`allow`, pass included), may not be played at
  fewer than untilDepth plies below the root. They last for that one command: every search
  command sets them anew (to nothing for plain genmove), and a change clears the tree.

* Pondering (`ponderingEnabled`, also through kata-set-param): after `play`, after a genmove
  that played its move, and after `komi` or `time_left` once the game has moves, the position is
  searched in the background for whoever is to move, until a command that needs the search or
  changes the game (see gtp.PONDER_TRANSPARENT for those that do not) stops it; the tree is kept,
  so the next genmove starts from it. Limits are maxVisitsPondering, maxPlayoutsPondering and
  maxTimePondering (unlimited by default) times the last genmove's play-faster factor and the
  after-pass factors; no clock applies. As KataGo, the search stays "for" the engine's side
  (the colour of the last non-ponder search): a playoutDoublingAdvantage without its own colour
  is given to that side, not to the player to move. goloop does not ponder a finished game.

Not implemented: antiMirror; pattern-avoidance tables; the human SL model. A search for the
colour not to move uses KataGo's restarted history, but the move is then played on the full game
(KataGo keeps playing on the restarted one).
"""
from __future__ import annotations

import dataclasses
import inspect
import logging
import math
import sys
import time
from typing import Callable, Optional

import numpy as np

from goloop.common.go.coords import point_to_gtp
from goloop.common.go.history import History
from goloop.common.search.reports import Analysis
from goloop.common.search.searcher import SearchError
from goloop.engine import gtp_policy
from goloop.engine.gtp_analyze import AnalyzeArgs, format_analysis_line, parse_analyze_args
from goloop.engine.gtp_config import GtpConfig
from goloop.engine.gtp_params import ParamState, cpp_general, parse_set_params_json
from goloop.engine.gtp_position import history_for_player
from goloop.engine.gtp_protocol import GtpError, parse_color
from goloop.engine.gtp_side_search import (
    UNLIMITED_TIME,
    UNLIMITED_VISITS,
    SideSearches,
    replace_known,
    white_winloss,
)
from goloop.engine.gtp_stream import PONDER_JOB, BackgroundJob, full_reply, header
from goloop.engine.timebudget import (
    SearchTimeParams,
    TimeControlError,
    search_time_limit,
    uses_clock,
)
from goloop.engine.timecontrol import (
    KATA_TIME_SETTINGS_REPLY,
    TimeControls,
    debug_print_tc,
    parse_time_left,
)

log = logging.getLogger(__name__)

BLACK, WHITE = 1, 2
NO_LIMIT = 1 << 62
GENMOVE_ERROR = "genmove returned null location or illegal move"


def parse_perspective(text: str) -> str:
    """reportAnalysisWinratesAs -> BLACK, WHITE or SIDETOMOVE (KataGo: any case, b and w too)."""
    t = text.strip().lower()
    if t in ("b", "black"):
        return "BLACK"
    if t in ("w", "white"):
        return "WHITE"
    if t == "sidetomove":
        return "SIDETOMOVE"
    raise ValueError(f"Could not parse config value for reportAnalysisWinratesAs: {text}")


def parse_enabled(text: str, key: str) -> Optional[bool]:
    """auto/true/false (any case) -> None/True/False."""
    t = text.strip().lower()
    if t in ("auto", "true", "false"):
        return None if t == "auto" else t == "true"
    raise ValueError(f"Could not parse '{text}' as bool or auto for key '{key}'")


# SearchParams fields that bound a search without changing what its tree holds.
BUDGET_FIELDS = ("maxVisits", "maxPlayouts", "maxTime", "searchFactorAfterOnePass",
                 "searchFactorAfterTwoPass")


def _only_budget_differs(old, new) -> bool:
    """Whether `new` is `old` with at most BUDGET_FIELDS changed."""
    if old is None or new is None or type(old) is not type(new):
        return False
    return replace_known(old, **{f: getattr(new, f) for f in BUDGET_FIELDS if hasattr(new, f)}) == new


def _pda_follows_root(params) -> bool:
    """Whether a playoutDoublingAdvantage is on and goes to the side searched for (no colour of
    its own)."""
    return getattr(params, "playoutDoublingAdvantage", 0.0) != 0.0 and \
        not getattr(params, "playoutDoublingAdvantagePla", "")


class SearchCommands(SideSearches):
    """The search commands of one GtpEngine, sharing one Searcher; the searches beside the game
    (scoring with the net, friendly pass, kata-benchmark) come from gtp_side_search."""

    def __init__(self, engine, config, evaluator, searcher_factory: Optional[Callable] = None) -> None:
        from goloop.common.search.params import SearchParams
        self.engine = engine
        self.config = config
        self.evaluator = evaluator
        self.perspective = parse_perspective(config.reportAnalysisWinratesAs)
        self.cleanup_before_pass = parse_enabled(config.cleanupBeforePass, "cleanupBeforePass")
        self.friendly_pass = parse_enabled(config.friendlyPass, "friendlyPass")
        if self.cleanup_before_pass and self.friendly_pass:
            raise ValueError("Cannot specify both cleanupBeforePass = true and friendlyPass = true "
                             "at the same time")
        if config.allowResignation and config.resignThreshold is None:
            raise ValueError("resignThreshold must be set when allowResignation is true")
        self.resign_threshold = -1.0 if config.resignThreshold is None else config.resignThreshold
        self.resign_min_score_difference = (-1e10 if config.resignMinScoreDifference is None
                                            else config.resignMinScoreDifference)
        self.pda_cap = (0.045 if config.dynamicPlayoutDoublingAdvantageCapPerOppLead is None
                        else config.dynamicPlayoutDoublingAdvantageCapPerOppLead)
        self.params = ParamState(config, SearchParams)
        for key in self.params.unsupported_keys():
            log.warning("config key %s is accepted for KataGo compatibility but the goloop search "
                        "does not implement it; it has no effect", key)
        if searcher_factory is None:
            from goloop.common.search.searcher import Searcher
            searcher_factory = Searcher
        self.searcher = searcher_factory(evaluator, self.params.genmove)
        self.params_in_use = self.params.genmove
        self._analysis_kwargs = set(inspect.signature(self.searcher.analysis).parameters)
        self._search_kwargs = set(inspect.signature(self.searcher.search).parameters)
        no_limits = config.maxVisits is None and config.maxPlayouts is None and config.maxTime is None
        clock = TimeControls.engine_default() if no_limits else TimeControls.unlimited()
        self.clocks = {BLACK: clock, WHITE: clock}
        self.recent_winloss: list[float] = []
        self.dynamic_pda_for_white = 0.0
        self.genmove_time_sum = 0.0
        self.last_search_factor = 1.0          # KataGo's lastSearchFactor, for pondering
        self.search_is_for: Optional[int] = None  # KataGo's plaThatSearchIsFor
        self.rng = np.random.default_rng()
        engine.game_reset_listeners.append(self._game_reset)
        self._board_final_status_list = engine.cmd_final_status_list
        self._register()

    # ---- set-up ----------------------------------------------------------------------------------

    def _register(self) -> None:
        e = self.engine
        for name, handler in (
            ("genmove", lambda a: self.cmd_genmove("genmove", a, play=True)),
            ("genmove_debug", lambda a: self.cmd_genmove("genmove_debug", a, play=True, debug=True)),
            ("reg_genmove", lambda a: self.cmd_genmove("reg_genmove", a, play=False)),
            ("kata-search", lambda a: self.cmd_genmove("kata-search", a, play=False)),
            ("kata-search_debug", lambda a: self.cmd_genmove("kata-search_debug", a, play=False, debug=True)),
            ("kata-search_cancellable", self.cmd_search_cancellable),
            ("lz-genmove_analyze", lambda a: self.cmd_genmove_analyze("lz-genmove_analyze", a)),
            ("kata-genmove_analyze", lambda a: self.cmd_genmove_analyze("kata-genmove_analyze", a)),
            ("kata-search_analyze", lambda a: self.cmd_genmove_analyze("kata-search_analyze", a)),
            ("kata-search_analyze_cancellable",
             lambda a: self.cmd_genmove_analyze("kata-search_analyze_cancellable", a)),
            ("lz-analyze", lambda a: self.cmd_analyze("lz-analyze", a)),
            ("kata-analyze", lambda a: self.cmd_analyze("kata-analyze", a)),
            ("clear_cache", self.cmd_clear_cache), ("stop", self.cmd_stop),
            ("cputime", self.cmd_cputime), ("gomill-cpu_time", self.cmd_cputime),
            ("kata-benchmark", self.cmd_benchmark),
            ("kata-get-param", self.cmd_get_param), ("kata-set-param", self.cmd_set_param),
            ("kata-list-params", self.cmd_list_params),
            ("time_settings", self.cmd_time_settings),
            ("kgs-time_settings", lambda a: self.cmd_kind_time_settings(a, kata=False)),
            ("kata-time_settings", lambda a: self.cmd_kind_time_settings(a, kata=True)),
            ("kata-list_time_settings", self.cmd_list_time_settings),
            ("time_left", self.cmd_time_left),
            ("kata-debug-print-tc", self.cmd_debug_print_tc),
            ("final_score", self.cmd_final_score),
            ("final_status_list", self.cmd_final_status_list),
        ):
            e.register(name, handler)
        # Present in KataGo but missing from its list_commands / known_command.
        e.register("genmove_analyze", lambda a: self.cmd_genmove_analyze("genmove_analyze", a), listed=False)
        e.register("analyze", lambda a: self.cmd_analyze("analyze", a), listed=False)
        e.register("kata-get-params", self.cmd_get_params, listed=False)
        e.register("kata-set-params", self.cmd_set_params, listed=False)

    def _game_reset(self) -> None:
        self.recent_winloss = []
        self._update_dynamic_pda()

    # ---- helpers ---------------------------------------------------------------------------------

    @property
    def history(self) -> History:
        return self.engine.history

    def _use_params(self, params) -> None:
        """Switch the searcher to `params`. Parameters that differ only in the search budget
        keep the tree: KataGo applies its per-search factors (play faster when winning, after
        passes) inside the search without touching its parameters, where goloop hands them to
        the searcher as parameters, so this is no change to KataGo's search."""
        if params is not self.params_in_use:
            keep = _only_budget_differs(self.params_in_use, params)
            self.searcher.set_params(params, keep_tree=keep)
            self.params_in_use = params

    def _prepare(self, pla: int, params, hist: Optional[History] = None) -> History:
        """Position the searcher for `pla` to move; returns the history searched."""
        self._use_params(params)
        if hist is None:
            hist = history_for_player(self.history, pla).copy()
        if self.search_is_for not in (None, pla) and _pda_follows_root(params):
            # KataGo: the tree's values carry the doubling advantage of the side it searched
            # for; searching for the other side needs new evaluations.
            self.searcher.clear_tree()
        self.searcher.set_position(hist)
        self.search_is_for = pla
        return hist

    def _own_in_tree(self, wanted: bool) -> None:
        """KataGo's setAlwaysIncludeOwnerMap: every node keeps its ownership, so that the tree
        average the ownership reports print is exact."""
        if hasattr(self.searcher, "include_ownership_in_tree"):
            self.searcher.include_ownership_in_tree = wanted

    def _set_avoid(self, aargs: Optional[AnalyzeArgs]) -> None:
        """KataGo's setAvoidMoveUntilByLoc before every search: the command's avoid/allow, or
        none (which also lifts what an earlier analysis command asked for)."""
        if aargs is None:
            self.searcher.set_avoid_moves(avoid={}, allow={})
        else:
            self.searcher.set_avoid_moves(avoid=aargs.avoid, allow=aargs.allow)

    def _analysis(self, aargs: Optional[AnalyzeArgs]) -> Optional[Analysis]:
        """The searcher's report with what an analysis command needs; None before the search has
        anything to report (KataGo then skips the report)."""
        kwargs = {"include_pv": True, "max_pv_len": self.config.analysisPVLen}
        if aargs is not None:
            kwargs["include_ownership"] = aargs.ownership or aargs.ownership_stdev
            kwargs["include_moves_ownership"] = aargs.moves_ownership or aargs.moves_ownership_stdev
            kwargs["min_moves"] = aargs.min_moves
        kwargs = {k: v for k, v in kwargs.items() if k in self._analysis_kwargs}
        try:
            return self.searcher.analysis(**kwargs)
        except SearchError:
            return None

    def _reporter(self, aargs: AnalyzeArgs, pla: int, hist: History, out) -> Callable:
        """The periodic report: one info line, when there is something to say."""
        def report(_analysis=None) -> None:
            analysis = self._analysis(aargs)
            if analysis is None:
                return
            line = format_analysis_line(
                analysis, aargs, pla, self.perspective, hist.x_size, hist.y_size,
                hist, self.config.preventCleanupPhase, self.config.analysisPVLen)
            if line is not None:
                out.write(line + "\n")
        return report

    def _search(self, max_visits: Optional[int], max_time: Optional[float], stop_event=None,
                callback=None, interval: Optional[float] = None) -> Analysis:
        kwargs = {"max_visits": max_visits, "max_time": max_time, "stop_event": stop_event}
        if callback is not None and interval is not None:
            kwargs["callback"] = callback
            kwargs["callback_interval_s"] = interval
        for _ in range(3):
            try:
                return self.searcher.search(**kwargs)
            except SearchError as e:
                if callback is None or (stop_event is not None and stop_event.is_set()) \
                        or self._analysis(None) is not None:
                    log.debug("search ended without a report: %s", e)
                    break
                # The searcher wanted to report before the root had any value (a report interval
                # shorter than the first evaluation). KataGo waits for the first values before
                # its first report: get them without reports, then go on with the same budget.
                try:
                    self.searcher.search(max_visits=2, max_time=None, stop_event=stop_event)
                except SearchError:
                    break
        return Analysis(root=None, moves=[])

    def _update_dynamic_pda(self) -> None:
        self.dynamic_pda_for_white = gtp_policy.update_dynamic_pda(
            self.history, self.pda_cap, self.recent_winloss, self.dynamic_pda_for_white)

    def _genmove_params(self, pla: int):
        """The genmove parameters with the dynamic handicap PDA, as KataGo sets them per move."""
        params = self.params.genmove
        self._update_dynamic_pda()
        if not self.params.static_pda_takes_precedence and hasattr(params, "playoutDoublingAdvantage"):
            owner = getattr(params, "playoutDoublingAdvantagePla", "")
            for_white = self.dynamic_pda_for_white
            pda = for_white if owner == "WHITE" or (owner == "" and pla == WHITE) else -for_white
            if pda != params.playoutDoublingAdvantage:
                params = dataclasses.replace(params, playoutDoublingAdvantage=pda)
        if params == self.params_in_use:
            return self.params_in_use
        return params

    def _limits(self, params, hist: History, pla: int, search_factor: float):
        """(params, max_visits, max_time) for a genmove search, as KataGo's runWholeSearch sets
        them: maxVisits, maxPlayouts and maxTime times the search factor (play-faster-when-winning
        times the after-pass factors), and the mover's clock planned with that factor. The
        pass factors are applied here, so the searcher gets params without them."""
        factor = search_factor * gtp_policy.pass_search_factor(
            hist, params.searchFactorAfterOnePass, params.searchFactorAfterTwoPass)
        visits, playouts, max_time = params.maxVisits, params.maxPlayouts, params.maxTime
        if factor != 1.0:
            visits = int(math.ceil(min(float(NO_LIMIT), visits * factor)))
            playouts = int(math.ceil(min(float(NO_LIMIT), playouts * factor)))
            max_time = max_time * factor
        params = replace_known(params, searchFactorAfterOnePass=1.0, searchFactorAfterTwoPass=1.0,
                               maxPlayouts=max(1, min(playouts, UNLIMITED_VISITS)))
        clock = self.clocks[pla]
        if uses_clock(clock, pondering=False):
            time_params = SearchTimeParams(
                lag_buffer=self.params.value("lagBuffer") or 0.0,
                overallocate_time_factor=self.params.value("overallocateTimeFactor"),
                midgame_time_factor=self.params.value("midgameTimeFactor"),
                midgame_turn_peak_time=self.params.value("midgameTurnPeakTime"),
                endgame_turn_time_decay=self.params.value("endgameTurnTimeDecay"))
            stones = int((hist.board.stones() != 0).sum())
            try:
                limit = search_time_limit(
                    clock, board_area=hist.x_size * hist.y_size, stones_on_board=stones,
                    turn_number=len(hist.moves), time_used=0.0, params=time_params,
                    search_factor=factor)
                max_time = min(max_time, limit)
            except TimeControlError as e:
                log.warning("time control unusable, searching without it: %s", e)
        if params == self.params_in_use:
            params = self.params_in_use
        return params, visits, max_time

    # ---- genmove -----------------------------------------------------------------------------------

    def _parse_genmove_color(self, name: str, args: list[str]) -> int:
        if len(args) != 1:
            raise GtpError(f"Expected one argument for {name} but got '{' '.join(args)}'")
        try:
            return parse_color(args[0])
        except GtpError:
            raise GtpError(f"Could not parse color: '{args[0]}'") from None

    def _genmove(self, pla: int, aargs: Optional[AnalyzeArgs], play: bool, out,
                 stop_event=None, debug: bool = False):
        """Search and decide a move for `pla`. Returns (reply text, is_error, cancelled)."""
        start = time.monotonic()
        params = self._genmove_params(pla)
        search_factor = gtp_policy.search_factor_when_winning(
            self.config.searchFactorWhenWinningThreshold, self.config.searchFactorWhenWinning,
            params.winLossUtilityFactor, self.recent_winloss, pla)
        self.last_search_factor = search_factor
        hist = history_for_player(self.history, pla).copy()
        params, max_visits, max_time = self._limits(params, hist, pla, search_factor)
        hist = self._prepare(pla, params, hist)
        self._set_avoid(aargs)
        if aargs is not None:
            self._own_in_tree(aargs.wants_ownership)
        report = None
        if aargs is not None:
            report = self._reporter(aargs, pla, hist, out)
        analysis = self._search(max_visits, max_time, stop_event, report,
                                aargs.callback_interval if aargs is not None else None)
        if report is not None:
            report()  # KataGo reports once more when the search ends, even when cancelled
        if stop_event is not None and stop_event.is_set():
            return "cancelled", False, True

        legal = analysis.root is not None
        try:
            move = self.searcher.choose_move() if legal else None
        except SearchError:
            legal = False
        if not legal or (move is not None and not hist.is_legal(move, pla)):
            log.error("genmove null location or illegal move: %r for %d", move, pla)
            self.genmove_time_sum += time.monotonic() - start
            return GENMOVE_ERROR, True, False
        self._maybe_delay(analysis, move, hist)

        winloss = white_winloss(analysis)
        lead = analysis.root.white_lead
        self.recent_winloss.append(winloss)
        resigned = self.params.allow_resignation and gtp_policy.should_resign(
            hist, pla, self.recent_winloss, lead, self.resign_threshold,
            self.config.resignConsecTurns, self.resign_min_score_difference,
            self.config.resignMinMovesPerBoardArea)
        elapsed = time.monotonic() - start
        self.genmove_time_sum += elapsed
        self._log_genmove(analysis, move, pla, elapsed, debug)

        visits_for_friendly_pass = 8 + min(1000, min(params.maxVisits, params.maxPlayouts) // 10)
        move = self._maybe_friendly_pass(pla, move, hist, params, visits_for_friendly_pass)
        move = self._maybe_cleanup_before_pass(pla, move, hist)

        reply = "resign" if resigned else point_to_gtp(move, hist.x_size, hist.y_size)
        if play and not resigned:
            try:
                self.history.play(move, pla)
            except ValueError:
                raise RuntimeError(f"Engine chose move {reply} but playing it failed") from None
            self.engine.maybe_ponder = True
        return reply, False, False

    def cmd_genmove(self, name: str, args: list[str], play: bool, debug: bool = False) -> str:
        pla = self._parse_genmove_color(name, args)
        reply, error, _ = self._genmove(pla, None, play, self.engine.out, debug=debug)
        if error:
            raise GtpError(reply)
        return reply

    def cmd_search_cancellable(self, args: list[str]) -> Optional[str]:
        pla = self._parse_genmove_color("kata-search_cancellable", args)
        out, command_id = self.engine.out, self.engine.command_id

        def run(stop_event) -> None:
            reply, error, _ = self._genmove(pla, None, False, out, stop_event)
            out.write(full_reply(command_id, reply, ok=not error))

        self.engine.start_background(BackgroundJob(
            "kata-search_cancellable", run, out,
            on_error=full_reply(command_id, "internal error in the search", ok=False)))
        return None

    def cmd_genmove_analyze(self, name: str, args: list[str]) -> Optional[str]:
        xs, ys = self.engine.size
        pla, aargs = parse_analyze_args(name, args, self.history.next_player, xs, ys)
        out, command_id = self.engine.out, self.engine.command_id
        play = name in ("genmove_analyze", "lz-genmove_analyze", "kata-genmove_analyze")
        out.write(header(command_id))

        def finish(reply: str, error: bool, cancelled: bool) -> None:
            if error:  # KataGo: the header is out, so an empty line ends the reply; error to stderr
                log.error("%s: %s", name, reply)
                out.write("\n")
            else:
                out.write(f"play {reply}\n\n")

        if name == "kata-search_analyze_cancellable":
            def run(stop_event) -> None:
                finish(*self._genmove(pla, aargs, False, out, stop_event))
            self.engine.start_background(BackgroundJob(name, run, out, on_error="\n"))
            return None
        try:
            finish(*self._genmove(pla, aargs, play, out))
        except Exception:  # the `=` is out: end the reply rather than send a second one
            log.exception("%s failed", name)
            out.write("\n")
        return None

    # ---- genmove's post-search hacks --------------------------------------------------------------

    def _maybe_delay(self, analysis: Analysis, move, hist: History) -> None:
        """delayMoveScale: wait longer for moves the policy did not expect, as KataGo does."""
        scale, cap = self.params.delay_move_scale, self.params.delay_move_max
        if scale <= 0 or cap <= 0 or analysis.policy is None:
            return
        index = (hist.x_size * hist.y_size if move is None
                 else move[1] * hist.x_size + move[0])
        prob = max(0.0, float(analysis.policy[index]))
        mean_wait = 0.5 * scale / (prob + 0.10)
        wait = min(max(self.rng.gamma(2.0) * mean_wait / 2.0, 0.0001), cap)
        time.sleep(wait)

    def _log_genmove(self, analysis: Analysis, move, pla: int, elapsed: float, debug: bool) -> None:
        root = analysis.root
        xs, ys = self.engine.size
        if self.config.ogsChatToStderr:
            winrate = root.white_winrate
            lead = root.white_lead
            if self.perspective == "BLACK" or (self.perspective == "SIDETOMOVE" and pla == BLACK):
                winrate, lead = 1.0 - winrate, -lead
            pv = next((m.pv for m in analysis.moves if m.move == move), [move])
            sys.stderr.write(
                f"MALKOVICH:Visits {root.visits} Winrate {winrate * 100.0:.2f}% ScoreLead {lead:.1f} "
                f"ScoreStdev {root.white_score_stdev:.1f} PV "
                + " ".join(point_to_gtp(m, xs, ys) for m in pv[:self.config.analysisPVLen]) + "\n")
            sys.stderr.flush()
        if self.config.logSearchInfo or debug:
            lines = [f"Time taken: {elapsed:.3f}", f"Root visits: {root.visits}",
                     f"Move {point_to_gtp(move, xs, ys)}"]
            for m in analysis.moves[:10]:
                lines.append(f"  {point_to_gtp(m.move, xs, ys)} visits {m.visits} winrate(W) "
                             f"{m.white_winrate:.4f} lead(W) {m.white_lead:.2f} prior {m.prior:.4f}")
            (log.warning if debug else log.info)("\n".join(lines))

    # ---- analysis ------------------------------------------------------------------------------------

    def cmd_analyze(self, name: str, args: list[str]) -> Optional[str]:
        xs, ys = self.engine.size
        pla, aargs = parse_analyze_args(name, args, self.history.next_player, xs, ys)
        out, command_id = self.engine.out, self.engine.command_id
        params = replace_known(self.params.analysis, maxVisits=UNLIMITED_VISITS,
                               maxPlayouts=UNLIMITED_VISITS, maxTime=UNLIMITED_TIME)
        hist = self._prepare(pla, params)
        self._set_avoid(aargs)
        self._own_in_tree(aargs.wants_ownership)
        report = self._reporter(aargs, pla, hist, out)
        out.write(header(command_id))

        def run(stop_event) -> None:
            self._search(UNLIMITED_VISITS, None, stop_event, report, aargs.callback_interval)

        self.engine.start_background(BackgroundJob(name, run, out, on_stop="\n"))
        return None

    # ---- pondering ---------------------------------------------------------------------------------

    def maybe_start_pondering(self) -> None:
        """KataGo's ponder(), called by the engine after a command that asks for it: when
        pondering is enabled and nothing else runs in the background, search the current
        position (whoever is to move) until stopped or out of the pondering limits."""
        running = self.engine.background
        if not self.params.pondering_enabled or (running is not None and running.running):
            return
        hist = self.history.copy()
        if hist.is_finished:
            return
        base = self.params_in_use
        value = self.params.value
        factor = self.last_search_factor * gtp_policy.pass_search_factor(
            hist, value("searchFactorAfterOnePass"), value("searchFactorAfterTwoPass"))
        visits, playouts = value("maxVisitsPondering"), value("maxPlayoutsPondering")
        max_time = value("maxTimePondering")
        if factor != 1.0:
            visits = int(math.ceil(min(float(NO_LIMIT), visits * factor)))
            playouts = int(math.ceil(min(float(NO_LIMIT), playouts * factor)))
            max_time = max_time * factor
        changes = {}
        if _pda_follows_root(base):
            search_is_for = self.search_is_for or 3 - hist.next_player
            changes["playoutDoublingAdvantagePla"] = "BLACK" if search_is_for == BLACK else "WHITE"
        ponder_params = replace_known(base, searchFactorAfterOnePass=1.0,
                                      searchFactorAfterTwoPass=1.0,
                                      maxPlayouts=max(1, min(playouts, UNLIMITED_VISITS)), **changes)
        # Only the limits (and the PDA colour, to the same effect) differ from the parameters in
        # use: the tree stays valid both ways (KataGo's setParamsNoClearing).
        self.searcher.set_params(ponder_params, keep_tree=True)
        self.params_in_use = ponder_params
        self.searcher.set_position(hist)

        def run(stop_event) -> None:
            try:
                self._search(min(visits, UNLIMITED_VISITS), max_time, stop_event)
            finally:
                self.searcher.set_params(base, keep_tree=True)
                self.params_in_use = base

        self.engine.start_background(BackgroundJob(PONDER_JOB, run, self.engine.out))

    # ---- simple commands ---------------------------------------------------------------------------

    def cmd_clear_cache(self, args: list[str]) -> str:
        self.searcher.clear_tree()
        self.searcher.clear_cache()
        return ""

    def cmd_stop(self, args: list[str]) -> str:
        self.engine.stop_background()
        return ""

    def cmd_cputime(self, args: list[str]) -> str:
        return cpp_general(self.genmove_time_sum)

    def cmd_list_params(self, args: list[str]) -> str:
        return self.params.list_params()

    def cmd_get_param(self, args: list[str]) -> str:
        if len(args) != 1:
            raise GtpError(f"Expected one arguments for kata-get-param but got '{' '.join(args)}'")
        return self.params.get_param(args[0])

    def cmd_get_params(self, args: list[str]) -> str:
        return self.params.get_params_json()

    def _apply_params(self, settings: dict[str, str]) -> None:
        was_genmove = self.params_in_use is self.params.genmove
        self.params.set_params(settings, GtpConfig)
        self.params_in_use = None
        self._use_params(self.params.genmove if was_genmove else self.params.analysis)

    def cmd_set_param(self, args: list[str]) -> str:
        if len(args) not in (1, 2):
            raise GtpError(f"Expected one or two arguments for kata-set-param but got '{' '.join(args)}'")
        self._apply_params({args[0]: args[1] if len(args) == 2 else ""})
        return ""

    def cmd_set_params(self, args: list[str]) -> str:
        if not args:
            raise GtpError("Expected argument for kata-set-param but got ''")
        self._apply_params(parse_set_params_json(" ".join(args)))
        return ""

    # ---- clocks ----------------------------------------------------------------------------------

    def _set_clocks(self, clock: TimeControls) -> None:
        self.clocks = {BLACK: clock, WHITE: clock}

    def cmd_time_settings(self, args: list[str]) -> str:
        try:
            self._set_clocks(TimeControls.parse_time_settings(args))
        except TimeControlError as e:
            raise GtpError(str(e)) from None
        return ""

    def cmd_kind_time_settings(self, args: list[str], kata: bool) -> str:
        try:
            parse = TimeControls.parse_kata_time_settings if kata else TimeControls.parse_kgs_time_settings
            self._set_clocks(parse(args))
        except TimeControlError as e:
            raise GtpError(str(e)) from None
        return ""

    def cmd_list_time_settings(self, args: list[str]) -> str:
        return KATA_TIME_SETTINGS_REPLY

    def cmd_time_left(self, args: list[str]) -> str:
        try:
            color, seconds, stones = parse_time_left(args)
            self.clocks[color] = self.clocks[color].apply_time_left(seconds, stones)
        except TimeControlError as e:
            raise GtpError(str(e)) from None
        # A controller may send time_left before every move: keep pondering through it (KataGo).
        self.engine.maybe_ponder = len(self.history.moves) > 0
        return ""

    def cmd_debug_print_tc(self, args: list[str]) -> str:
        hist = self.history
        stones = int((hist.board.stones() != 0).sum())
        return debug_print_tc(self.clocks[BLACK], self.clocks[WHITE], hist.x_size * hist.y_size,
                              stones, self.params.value("lagBuffer") or 0.0)
