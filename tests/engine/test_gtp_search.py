"""goloop.engine.gtp_search: genmove and friends, clocks, params and scoring with a search.

These tests drive the GTP engine with FakeSearcher, a stand-in that honours the Searcher contract
(common/search/searcher.py) with made-up but deterministic numbers, so that GTP behaviour (what is played,
what is replied, what limits reach the search, when it resigns) is checked exactly and fast. The
end-to-end tests with the real search and the g170 net, and those of the pure rules beneath
(gtp_policy, gtp_score), are in test_gtp_search_real.py.
"""
from __future__ import annotations

import math
import pathlib
import time

import numpy as np
import pytest

from goloop.common.search.reports import Analysis, MoveInfo, RootInfo
from goloop.engine.gtp import GtpConfig, GtpEngine

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
G170 = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"


class FakeSearcher:
    """The Searcher contract with a fake tree: one visit per `playout_s` seconds, spread over the
    first legal moves in board order; values set by the test (White's view)."""

    def __init__(self, evaluator, params, seed=None) -> None:
        self.params = params
        self.history = None
        self.visits = 0
        self.calls: list[dict] = []
        self.positions = []
        self.cleared = 0
        self.cache_cleared = 0
        self.avoid = None
        self.playout_s = 0.0
        self.white_winrate = 0.5
        self.white_lead = 0.0
        self.lead_of_komi = None       # komi -> lead, for final_score
        self.ownership_value = 0.0
        self.best = None               # the move to rank first
        self.forced = "unset"          # what choose_move returns, when set (None = pass)
        self.cap = None                # most visits any search really makes

    # -- contract --
    def set_params(self, params, keep_tree=False) -> None:
        self.params = params

    def set_position(self, history) -> None:
        self.history = history
        self.positions.append(history)
        self.visits = 0

    def set_avoid_moves(self, avoid=None, allow=None) -> None:
        self.avoid = (avoid, allow)

    def clear_tree(self) -> None:
        self.cleared += 1
        self.visits = 0

    def clear_cache(self) -> None:
        self.cache_cleared += 1

    def search(self, max_visits=None, max_time=None, stop_event=None, callback=None,
               callback_interval_s=None) -> Analysis:
        limit = self.params.maxVisits if max_visits is None else max_visits
        if self.cap is not None:
            limit = min(limit, self.cap)
        self.calls.append(dict(max_visits=max_visits, max_time=max_time, params=self.params,
                               komi=self.history.rules.komi))
        start = last = time.monotonic()
        while self.visits < limit:
            if stop_event is not None and stop_event.is_set():
                break
            if max_time is not None and self.visits >= 2 and time.monotonic() - start >= max_time:
                break
            self.visits += 1
            if self.playout_s:
                time.sleep(self.playout_s)
            now = time.monotonic()
            if callback is not None and callback_interval_s is not None and now - last >= callback_interval_s:
                callback(self.analysis())
                last = now
        return self.analysis()

    def _legal(self):
        h = self.history
        pla = h.next_player
        return [(x, y) for y in range(h.y_size) for x in range(h.x_size) if h.is_legal((x, y), pla)][:3]

    def _values(self):
        if self.lead_of_komi is not None:
            lead = self.lead_of_komi(self.history.rules.komi)
            return 0.5 + 0.5 * math.tanh(lead / 3.0), lead
        return self.white_winrate, self.white_lead

    def analysis(self, include_ownership=False, include_moves_ownership=False, include_pv=True):
        h = self.history
        winrate, lead = self._values()
        moves = []
        legal = self._legal()
        if self.best is not None:
            legal = [self.best] + [m for m in legal if m != self.best]
        for order, move in enumerate(legal):
            v = max(0, self.visits - 1 - order) // (order + 1)
            moves.append(MoveInfo(
                move=move, visits=v, edge_visits=v, weight=float(v), prior=0.5 / (order + 1),
                white_utility=2 * winrate - 1, white_winrate=winrate, white_score_mean=lead,
                white_score_stdev=10.0, white_lead=lead, white_lcb=winrate - 0.1,
                white_utility_lcb=2 * winrate - 1.2, order=order, pv=[move, None],
                pv_visits=[v, 1], pv_edge_visits=[v, 1],
                ownership=np.full((h.y_size, h.x_size), self.ownership_value) if include_moves_ownership else None))
        root = None
        if self.visits > 0:
            root = RootInfo(visits=self.visits, weight=float(self.visits), white_utility=2 * winrate - 1,
                            white_winrate=winrate, white_score_mean=lead, white_score_stdev=10.0,
                            white_lead=lead, raw_white_winrate=winrate, raw_white_lead=lead,
                            raw_white_score_mean=lead, raw_no_result=0.0, raw_st_winloss_error=-1.0,
                            raw_st_score_error=-1.0, raw_var_time_left=-1.0,
                            next_player=h.next_player)
        own = np.full((h.y_size, h.x_size), self.ownership_value) if include_ownership else None
        policy = np.full(h.x_size * h.y_size + 1, 1.0 / (h.x_size * h.y_size + 1), dtype=np.float32)
        return Analysis(root=root, moves=moves, ownership=own, ownership_stdev=own, policy=policy)

    def choose_move(self):
        if self.forced != "unset":
            return self.forced
        moves = self.analysis().moves
        return moves[0].move if moves else None


def fake_engine(**config) -> tuple[GtpEngine, FakeSearcher]:
    """A board engine with the search commands attached to a FakeSearcher (no net)."""
    from goloop.engine.gtp_search import SearchCommands
    cfg = GtpConfig(**config)
    engine = GtpEngine(cfg)
    holder = {}

    def factory(evaluator, params, seed=None):
        holder["s"] = FakeSearcher(evaluator, params, seed)
        return holder["s"]

    engine.search = SearchCommands(engine, cfg, None, factory)
    return engine, holder["s"]


def ok(engine, command):
    reply = engine.execute(command)
    assert reply.startswith("=") and reply.endswith("\n\n"), (command, reply)
    return reply[2:-2] if reply.startswith("= ") else reply


def fails(engine, command):
    reply = engine.execute(command)
    assert reply.startswith("? ") and reply.endswith("\n\n"), (command, reply)
    return reply[2:-2]


# ------------------------------------------------------------------------------------------------
# genmove and its variants

def test_genmove_plays_the_chosen_move():
    engine, s = fake_engine(maxVisits=20, defaultBoardSize=9)
    assert ok(engine, "genmove b") == "A9"
    assert engine.history.moves == [(1, (0, 0))]
    assert s.calls[-1]["max_visits"] == 20
    assert ok(engine, "genmove W") == "B9"
    assert len(engine.history.moves) == 2
    assert engine.execute("7 genmove b") == "=7 C9\n\n"


def test_search_variants_do_not_play():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9)
    for command in ("reg_genmove b", "kata-search b", "kata-search_debug w"):
        assert ok(engine, command) in ("A9",)
    assert engine.history.moves == []


def test_genmove_argument_errors():
    engine, _ = fake_engine(maxVisits=5, defaultBoardSize=9)
    assert fails(engine, "genmove") == "Expected one argument for genmove but got ''"
    assert fails(engine, "genmove b w") == "Expected one argument for genmove but got 'b w'"
    assert fails(engine, "genmove x") == "Could not parse color: 'x'"
    assert fails(engine, "kata-search blue") == "Could not parse color: 'blue'"


def test_genmove_for_the_player_not_to_move_searches_a_fresh_history():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9)
    ok(engine, "play b E5")
    assert ok(engine, "genmove b") == "A9"  # white was to move
    searched = s.positions[-1]
    assert searched.next_player == 1 and searched.moves == []
    assert engine.history.moves == [(1, (4, 4)), (1, (0, 0))]


def test_genmove_pass_and_illegal_choices():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9, rules="chinese")
    s.forced = None
    assert ok(engine, "genmove b") == "pass"
    assert engine.history.moves == [(1, None)]
    ok(engine, "play w E5")
    s.forced = (4, 4)  # occupied: the search went wrong, KataGo refuses to play it
    assert fails(engine, "genmove b") == "genmove returned null location or illegal move"
    assert len(engine.history.moves) == 2


def test_cputime_counts_genmove_time_only():
    engine, s = fake_engine(maxVisits=30, defaultBoardSize=9)
    assert ok(engine, "cputime") == "0"
    s.playout_s = 0.002
    ok(engine, "kata-search b")
    spent = float(ok(engine, "gomill-cpu_time"))
    assert spent >= 0.05
    assert ok(engine, "cputime") == ok(engine, "gomill-cpu_time")


def test_clear_cache_and_stop():
    engine, s = fake_engine(maxVisits=5)
    assert ok(engine, "clear_cache") == ""
    assert s.cleared == 1 and s.cache_cleared == 1
    assert ok(engine, "stop") == ""


# ------------------------------------------------------------------------------------------------
# Resignation and the play-faster rules

def test_avoid_and_allow_reach_the_search_for_that_command_only():
    """Each search command sets KataGo's avoid lists anew: the analysis command's own, or none."""
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9)
    ok(engine, "kata-search_analyze b avoid b A9,B9 1 avoid b A9 3 allow w C3,pass 2")
    assert s.avoid == ({1: {(0, 0): 3, (1, 0): 1}}, {2: (frozenset({(2, 6), None}), 2)})
    ok(engine, "lz-genmove_analyze b allow b E5 1")
    assert s.avoid == ({}, {1: (frozenset({(4, 4)}), 1)})
    ok(engine, "genmove w")
    assert s.avoid == ({}, {})


# ------------------------------------------------------------------------------------------------
# Pondering

def _wait(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.002)


def test_pondering_runs_between_commands_until_one_needs_the_search():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9, ponderingEnabled=True)
    s.playout_s = 0.001  # unlimited pondering: it runs until stopped
    try:
        assert ok(engine, "genmove b") == "A9"
        job = engine.background
        assert engine.pondering and job.running
        _wait(lambda: len(s.calls) == 2)
        # The ponder searches the game as it now is (White to move), with no limit.
        assert s.calls[1]["max_visits"] == 1 << 50 and s.calls[1]["max_time"] == 1e20
        assert s.positions[-1].moves == [(1, (0, 0))]
        # Empty lines, unknown commands and pure queries leave it running, as in KataGo.
        assert engine.handle_line("\n") is False
        for command in ("name", "showboard", "kata-get-param maxVisits", "time_left b 60 0",
                        "is_legal w B9"):
            ok(engine, command)
        assert fails(engine, "nosuchcommand") == "unknown command"
        assert engine.background is job and job.running and len(s.calls) == 2
        # play stops it and ponders again on the new position (Black to move).
        ok(engine, "play w B9")
        assert not job.running and job.stop_event.is_set()
        _wait(lambda: len(s.calls) == 3)
        assert s.positions[-1].next_player == 1 and len(s.positions[-1].moves) == 2
        # genmove stops it, searches with its own limits, then ponders again.
        job = engine.background
        assert ok(engine, "genmove b") == "C9"
        assert not job.running and s.calls[3]["max_visits"] == 5
        assert s.calls[3]["params"] is engine.search.params.genmove  # ponder limits undone
        _wait(lambda: len(s.calls) == 5)
        # Commands that need the search stop it without pondering again.
        for command in ("kata-search w", "stop", "clear_cache", "reg_genmove w"):
            ok(engine, command)
            assert not engine.pondering, command
        ok(engine, "kata-set-param ponderingEnabled false")
        ok(engine, "play w D9")
        assert not engine.pondering
    finally:
        engine.close()
    assert engine.background is None


def test_pondering_limits_factors_and_the_side_it_searches_for():
    """maxVisitsPondering / maxTimePondering times the after-pass factor; a PDA without its own
    colour stays with the engine's side (KataGo's plaThatSearchIsFor), and the ponder's
    parameters are undone once it stops."""
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9, ponderingEnabled=True,
                            maxVisitsPondering=7, maxTimePondering=30.0,
                            searchFactorAfterOnePass=0.5, playoutDoublingAdvantage=0.75)
    try:
        ok(engine, "play b E5")  # before any search "we" are the side not to move
        _wait(lambda: s.calls and not engine.background.running)
        assert s.calls[0]["max_visits"] == 7 and s.calls[0]["max_time"] == 30.0
        assert s.calls[0]["params"].playoutDoublingAdvantagePla == "BLACK"
        assert s.calls[0]["params"].playoutDoublingAdvantage == 0.75
        assert engine.search.params_in_use is engine.search.params.genmove
        ok(engine, "play w pass")
        _wait(lambda: len(s.calls) == 2 and not engine.background.running)
        assert s.calls[1]["max_visits"] == 4 and s.calls[1]["max_time"] == 15.0  # after a pass
        # A finished ponder is started again by time_left, on the same position.
        ok(engine, "time_left b 30 0")
        _wait(lambda: len(s.calls) == 3 and not engine.background.running)
        ok(engine, "play b D4")
        _wait(lambda: len(s.calls) == 4 and not engine.background.running)
        ok(engine, "genmove w")  # the engine plays White: the ponder is now for White
        _wait(lambda: len(s.calls) == 6 and not engine.background.running)
        assert s.calls[5]["params"].playoutDoublingAdvantagePla == "WHITE"
        assert s.positions[-1].next_player == 1
        # A search for the other side with such a PDA starts from a fresh tree (KataGo clears
        # when the side it searches for changes); for the same side the tree is kept.
        ok(engine, "play b F5")
        cleared = s.cleared
        ok(engine, "genmove w")
        assert s.cleared == cleared
        ok(engine, "kata-search b")
        assert s.cleared == cleared + 1
        # No ponder for a game that is over.
        ok(engine, "play b pass")
        ok(engine, "play w pass")
        assert engine.history.is_finished and not engine.pondering
    finally:
        engine.close()


def test_resigns_after_consecutive_losing_searches():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9, allowResignation=True,
                            resignThreshold=-0.9, resignConsecTurns=3)
    s.white_winrate = 0.01  # white's win/loss value -0.98: black winning
    assert ok(engine, "genmove w") != "resign"
    ok(engine, "play b pass")
    assert ok(engine, "genmove w") != "resign"
    ok(engine, "play b pass")
    assert ok(engine, "genmove w") == "resign"
    assert len(engine.history.moves) == 4  # the resigning search played nothing
    # The winning side never resigns; a new game forgets the values.
    assert ok(engine, "genmove b") != "resign"
    ok(engine, "clear_board")
    assert ok(engine, "genmove w") != "resign"


def test_no_resignation_unless_allowed_or_close():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9)
    s.white_winrate = 0.0
    for _ in range(5):
        assert ok(engine, "kata-search w") != "resign"
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9, allowResignation=True,
                            resignThreshold=-0.9, resignMinScoreDifference=10.0)
    s.white_winrate, s.white_lead = 0.0, -3.0
    for _ in range(5):
        assert ok(engine, "kata-search w") != "resign"
    s.white_lead = -30.0
    assert ok(engine, "kata-search w") == "resign"
    assert ok(engine, "kata-set-param allowResignation false") == ""
    assert ok(engine, "kata-search w") != "resign"


def test_allow_resignation_needs_a_threshold():
    from goloop.engine.gtp_search import SearchCommands
    cfg = GtpConfig(allowResignation=True)
    with pytest.raises(ValueError, match="resignThreshold"):
        SearchCommands(GtpEngine(cfg), cfg, None, FakeSearcher)


def test_search_factor_when_winning_shrinks_the_budget():
    engine, s = fake_engine(maxVisits=100, defaultBoardSize=9, searchFactorWhenWinning=0.4,
                            searchFactorWhenWinningThreshold=0.9)
    s.white_winrate = 1.0  # white sure to win: win/loss +1
    budgets = []
    for _ in range(4):
        ok(engine, "kata-search w")
        budgets.append(s.calls[-1]["max_visits"])
    assert budgets == [100, 100, 100, 40]
    ok(engine, "kata-search b")  # black is losing: full budget
    assert s.calls[-1]["max_visits"] == 100


def test_time_controls_limit_the_search_time():
    engine, s = fake_engine(maxVisits=1000, defaultBoardSize=9)
    ok(engine, "kata-search b")
    assert s.calls[-1]["max_time"] == pytest.approx(1e20)
    ok(engine, "time_settings 60 0 0")  # absolute: 60 s for the game
    ok(engine, "kata-search b")
    assert 0.5 < s.calls[-1]["max_time"] < 10
    ok(engine, "time_left b 6 0")
    ok(engine, "kata-search b")
    assert s.calls[-1]["max_time"] < 1.5
    ok(engine, "kata-time_settings none")
    ok(engine, "kata-search b")
    assert s.calls[-1]["max_time"] == pytest.approx(1e20)


def test_default_clock_without_any_limit():
    engine, s = fake_engine(defaultBoardSize=9)
    s.cap = 5
    ok(engine, "kata-search b")
    assert s.calls[-1]["max_time"] < 10  # KataGo's fast default byo-yomi, not unlimited


# ------------------------------------------------------------------------------------------------
# Passing hacks

WHITE_WALL = ("set_position W B1 W B2 W B3 W B4 W B5 W C1 W C3 W C5 W D1 W D2 W D3 W D4 W D5 "
              "W E1 W E2 W E3 W E4 W E5 B A1")


def test_cleanup_before_pass_captures_dead_stones_first():
    """Tromp-Taylor (friendlyPassOk false): instead of passing, white plays next to the black stone
    left inside its pass-alive area; with friendlyPassOk true it passes."""
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=5, rules="tromp-taylor")
    ok(engine, WHITE_WALL)
    s.forced = None
    assert ok(engine, "kata-search w") == "A2"
    ok(engine, "kata-set-rules chinese")
    assert ok(engine, "kata-search w") == "pass"
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=5, rules="tromp-taylor", cleanupBeforePass="false")
    ok(engine, WHITE_WALL)
    s.forced = None
    assert ok(engine, "kata-search w") == "pass"


def test_friendly_pass_answers_a_pass_when_nothing_is_left():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9, rules="chinese")
    ok(engine, "play b pass")
    assert ok(engine, "genmove w") == "pass"
    assert engine.history.moves[-1] == (2, None)
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9, rules="chinese", friendlyPass="false")
    ok(engine, "play b pass")
    assert ok(engine, "genmove w") == "A9"
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9, rules="chinese")
    ok(engine, "play b pass")
    s.ownership_value = 0.9  # white owns everything, but nothing surrounds it: keep playing
    assert ok(engine, "genmove w") == "A9"


def test_conflicting_pass_settings_are_refused():
    from goloop.engine.gtp_search import SearchCommands
    cfg = GtpConfig(friendlyPass="true", cleanupBeforePass="TRUE")
    with pytest.raises(ValueError, match="Cannot specify both"):
        SearchCommands(GtpEngine(cfg), cfg, None, FakeSearcher)
    cfg = GtpConfig(reportAnalysisWinratesAs="nobody")
    with pytest.raises(ValueError, match="reportAnalysisWinratesAs"):
        SearchCommands(GtpEngine(cfg), cfg, None, FakeSearcher)


# ------------------------------------------------------------------------------------------------
# Time settings commands

def test_time_settings_commands():
    engine, _ = fake_engine(maxVisits=5)
    assert ok(engine, "kata-list_time_settings") == "none absolute byoyomi canadian fischer fischer-capped"
    for good in ("time_settings 300 30 5", "time_settings 0 1 0", "kgs-time_settings none",
                 "kgs-time_settings absolute 600", "kgs-time_settings byoyomi 600 30 5",
                 "kgs-time_settings canadian 600 60 25", "kata-time_settings fischer 300 10.5",
                 "kata-time_settings fischer-capped 300 10 600 -1"):
        assert ok(engine, good) == "", good
    assert fails(engine, "time_settings 300 30") == "Expected int for byo-yomi overtime stones as argument 2"
    assert fails(engine, "time_settings -1 30 5") == "main time is an invalid value: -1"
    assert fails(engine, "kgs-time_settings fischer 300 10").startswith("Expected 'none', 'absolute'")
    assert fails(engine, "kata-time_settings").startswith("Expected 'none', 'absolute'")
    ok(engine, "kgs-time_settings byoyomi 600 30 5")
    assert ok(engine, "time_left b 25 3") == ""
    assert fails(engine, "time_left b 25") .startswith("Expected player and float time")
    assert fails(engine, "time_left b nan 0").startswith("Expected player and float time")
    assert fails(engine, "time_left w -11 0") == "invalid time"
    ok(engine, "kgs-time_settings absolute 600")
    assert fails(engine, "time_left w 25 3").startswith("stones left in period is > 0")
    tc = ok(engine, "kata-debug-print-tc")
    assert tc.startswith("Black originalMainTime 600") and "\nWhite " in tc


# ------------------------------------------------------------------------------------------------
# Params

def test_list_get_and_set_params():
    engine, s = fake_engine(maxVisits=500)
    listed = ok(engine, "kata-list-params").split()
    assert listed[:9] == ["analysisWideRootNoise", "analysisIgnorePreRootHistory", "genmoveAntiMirror",
                          "antiMirror", "humanSLProfile", "allowResignation", "ponderingEnabled",
                          "delayMoveScale", "delayMoveMax"]
    assert listed[9:] == sorted(listed[9:]) and "maxVisits" in listed and "numSearchThreads" in listed
    assert ok(engine, "kata-get-param maxVisits") == "500"
    assert ok(engine, "kata-get-param maxTime") == "1e+20"
    assert ok(engine, "kata-get-param rootPolicyOptimism") == "0.2"
    assert ok(engine, "kata-get-param conservativePass") == "true"
    assert ok(engine, "kata-get-param analysisWideRootNoise") == "0.04"
    assert ok(engine, "kata-get-param playoutDoublingAdvantagePla") == '"E"'
    assert fails(engine, "kata-get-param nosuch") == "Invalid parameter: nosuch"
    assert fails(engine, "kata-get-param") == "Expected one arguments for kata-get-param but got ''"

    assert ok(engine, "kata-set-param maxVisits 7") == ""
    assert ok(engine, "kata-get-param maxVisits") == "7"
    ok(engine, "kata-search b")
    assert s.calls[-1]["max_visits"] == 7
    assert ok(engine, "kata-set-param maxVisits") == ""  # back to the default
    assert ok(engine, "kata-get-param maxVisits") == str(1 << 50)
    assert fails(engine, "kata-set-param maxVisits 0").startswith("Could not set params: ")
    assert fails(engine, "kata-set-param maxVisits lots").startswith("Could not set params: ")
    assert fails(engine, "kata-set-param analysisPVLen 3") == \
        "Could not set params: Unrecognized or non-overridable parameter in kata-set-params: analysisPVLen"
    assert fails(engine, "kata-set-param avoidRepeatedPatternUtility 0.1") == \
        "Could not set params: Cannot be overridden in kata-set-param: avoidRepeatedPatternUtility"
    assert fails(engine, "kata-set-param a b c").startswith("Expected one or two arguments")
    # wideRootNoise is genmove's; the analysis commands keep analysisWideRootNoise.
    ok(engine, "kata-set-param wideRootNoise 0.5")
    assert ok(engine, "kata-get-param wideRootNoise") == "0.5"
    assert ok(engine, "kata-get-param analysisWideRootNoise") == "0.04"
    ok(engine, 'kata-set-params {"maxVisits": 9, "analysisWideRootNoise": 0.1}')
    assert ok(engine, "kata-get-param maxVisits") == "9"
    assert ok(engine, "kata-get-param analysisWideRootNoise") == "0.1"
    assert fails(engine, "kata-set-params [1]").startswith("Could not set params")
    import json
    assert json.loads(ok(engine, "kata-get-params"))["maxVisits"] == 9


def test_hidden_commands_work_but_are_not_listed():
    engine, _ = fake_engine(maxVisits=5)
    listed = ok(engine, "list_commands").split("\n")
    for name in ("genmove", "kata-analyze", "lz-analyze", "kata-search_cancellable", "time_left",
                 "kata-list-params", "kata-benchmark", "clear_cache", "stop"):
        assert name in listed and ok(engine, f"known_command {name}") == "true"
    for name in ("analyze", "genmove_analyze", "kata-get-params", "kata-set-params"):
        assert name not in listed and ok(engine, f"known_command {name}") == "false"
        assert engine.execute(f"{name} x y z")[0] in "=?"


def test_katago_example_config_loads(tmp_path):
    from goloop.common.config import load_config
    text = "\n".join([
        "logDir = gtp_logs", "logAllGTPCommunication = true", "logSearchInfo = true",
        "logToStderr = false", "rules = tromp-taylor", "allowResignation = true",
        "resignThreshold = -0.90", "resignConsecTurns = 3", "maxVisits = 500",
        "ponderingEnabled = false", "maxTimePondering = 60.0", "lagBuffer = 1.0",
        "numSearchThreads = 6", "searchFactorAfterOnePass = 0.50", "searchFactorAfterTwoPass = 0.25",
        "searchFactorWhenWinning = 0.40", "searchFactorWhenWinningThreshold = 0.95",
        "nnCacheSizePowerOfTwo = 20", "koRule = SIMPLE"])
    (tmp_path / "gtp.cfg").write_text(text)
    cfg = load_config(GtpConfig, tmp_path / "gtp.cfg")
    assert cfg.maxVisits == 500 and cfg.resignThreshold == -0.9 and cfg.lagBuffer == 1.0
    engine = GtpEngine(cfg)
    assert '"ko":"SIMPLE"' in engine.execute("kata-get-rules")


# ------------------------------------------------------------------------------------------------
# Scoring with the search

def test_final_score_asks_the_search_for_the_even_komi():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9, rules="japanese")
    ok(engine, "komi 6.5")
    ok(engine, "play b E5")
    s.lead_of_komi = lambda komi: komi - 9.0  # white leads by komi - 9: black is 2.5 ahead at 6.5
    assert ok(engine, "final_score") == "B+2.5"
    assert all(c["max_visits"] == 50 for c in s.calls)
    assert len({c["komi"] for c in s.calls}) > 2
    s.lead_of_komi = lambda komi: komi + 3.2
    assert ok(engine, "final_score") == "W+9.5"


def test_final_score_of_an_exactly_finished_game_is_counted():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=5, rules="tromp-taylor")
    ok(engine, "komi 0.5")
    for move in ("b C3", "w pass", "b pass"):
        ok(engine, f"play {move}")
    assert ok(engine, "final_score") == "B+24.5"
    assert s.calls == []


def test_final_status_list_uses_the_ownership():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=5, rules="chinese")
    ok(engine, "play b C3")
    ok(engine, "play w D4")
    s.ownership_value = -0.9  # black owns everything: the white stone is dead
    assert ok(engine, "final_status_list dead") == "D4"
    assert ok(engine, "final_status_list alive") == "C3"
    assert ok(engine, "final_status_list seki") == ""
    assert s.calls[-1]["max_visits"] == 100
    fails(engine, "final_status_list nonsense")


# ------------------------------------------------------------------------------------------------
# Cancellable search through the real loop

def test_cancellable_search_is_cancelled_by_input():
    from test_gtp_analyze import PipeSession
    engine_factory = lambda: fake_engine(maxVisits=10**9, defaultBoardSize=9)  # noqa: E731
    with PipeSession(engine_factory, playout_s=0.001) as session:
        session.send("1 kata-search_cancellable b")
        time.sleep(0.2)
        session.send("2 name")
        session.wait_for("=2 goloop\n\n")
    assert session.output == "=1 cancelled\n\n=2 goloop\n\n"


def test_cancellable_search_replies_when_done():
    from test_gtp_analyze import PipeSession
    with PipeSession(lambda: fake_engine(maxVisits=20, defaultBoardSize=9)) as session:
        session.send("kata-search_cancellable w")
        session.wait_for("= A9\n\n")
        session.send("name")
        session.wait_for("= goloop\n\n")
    assert session.output == "= A9\n\n= goloop\n\n"


def test_benchmark_prints_a_summary():
    engine, s = fake_engine(maxVisits=5, defaultBoardSize=9)
    reply = engine.execute("kata-benchmark 20")
    assert reply.startswith("=\nnumSearchThreads =  1: 10 / 10 positions, visits/s = ")
    assert reply.endswith(" secs)\n\n")
    assert fails(engine, "kata-benchmark x") == "Could not parse number of visits: x"
    ok(engine, "rectangular_boardsize 9 7")
    assert "rectangular" in fails(engine, "kata-benchmark 10")
