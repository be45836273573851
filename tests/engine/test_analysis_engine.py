"""The JSON analysis engine (`goloop analysis`): protocol, errors, concurrency.

The protocol tests drive AnalysisEngine in-process with a scripted searcher that returns
Analysis objects built here, so KataGo's formats (names, perspective, rounding, error texts,
terminate and priority semantics) are checked exactly and fast. The real parts (the shared net,
the config, the CLI, the g170 net in-process and in a process) are in
test_analysis_engine_real.py.
"""
from __future__ import annotations

import dataclasses
import io
import json
import pathlib
import threading
import time

import numpy as np
import pytest

from goloop.common.go.history import History
from goloop.common.go.rules import parse_rules
from goloop.common.search.reports import Analysis, MoveInfo, RootInfo
from goloop.engine.analysis_engine import AnalysisEngine
from goloop.engine.analysis_format import position_hashes, pv_length, round_dynamic
from goloop.engine.analysis_query import (
    QueryContext,
    dump_json,
    format_location,
    parse_location,
    supported_rules_for_model_version,
)

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
MODEL = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
REPO = pathlib.Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------------------
# A scripted searcher: Analysis objects built here, timing controlled by the test


@dataclasses.dataclass(frozen=True)
class Params:
    maxVisits: int = 10
    rootFpuReductionMax: float = 0.1
    rootPolicyTemperature: float = 1.0
    rootPolicyTemperatureEarly: float = 1.0


def move_info(move, order, visits, white_winrate, white_lead, pv):
    return MoveInfo(move=move, visits=visits, edge_visits=visits, weight=float(visits), prior=0.25,
                    white_utility=2 * white_winrate - 1, white_winrate=white_winrate,
                    white_score_mean=white_lead * 1.5, white_score_stdev=12.0,
                    white_lead=white_lead, white_lcb=white_winrate - 0.05,
                    white_utility_lcb=2 * white_winrate - 1.1, order=order, pv=list(pv),
                    pv_visits=[visits - i for i in range(len(pv))],
                    pv_edge_visits=[visits - i for i in range(len(pv))])


class ScriptedSearcher:
    """Searches take `seconds_per_visit * maxVisits`, stop early on the stop event, and call
    the callback at the interval asked; analyses are fixed numbers (White wins 70%)."""

    seconds_per_visit = 0.002
    started: list = []
    active = 0
    max_active = 0
    lock = threading.Lock()

    def __init__(self, index):
        self.index = index
        self.params = None
        self.history = None
        self.visits = 0
        self.cleared_caches = 0

    def set_params(self, params):
        self.params = params

    def set_position(self, history):
        self.history = history

    def clear_tree(self):
        self.visits = 0

    def clear_cache(self):
        self.cleared_caches += 1

    def search(self, stop_event=None, callback=None, callback_interval_s=None):
        cls = ScriptedSearcher
        with cls.lock:
            cls.started.append((self.history.moves, self.params.maxVisits))
            cls.active += 1
            cls.max_active = max(cls.max_active, cls.active)
        try:
            return self._search(stop_event, callback, callback_interval_s)
        finally:
            with cls.lock:
                cls.active -= 1

    def _search(self, stop_event, callback, callback_interval_s):
        start = time.monotonic()
        end = start + self.seconds_per_visit * self.params.maxVisits
        last_callback = start
        while time.monotonic() < end and not (stop_event and stop_event.is_set()):
            time.sleep(0.001)
            self.visits = min(self.params.maxVisits,
                              1 + int((time.monotonic() - start) / self.seconds_per_visit))
            if callback and time.monotonic() - last_callback >= callback_interval_s:
                last_callback = time.monotonic()
                callback(self.analysis())
        if not (stop_event and stop_event.is_set()):
            self.visits = self.params.maxVisits
        return self.analysis()

    def analysis(self, include_ownership=False, include_moves_ownership=False, include_pv=True,
                 max_pv_len=13):
        h = self.history
        xs, ys = h.x_size, h.y_size
        root = RootInfo(visits=self.visits, weight=float(self.visits), white_utility=0.4,
                        white_winrate=0.7, white_score_mean=3.0, white_score_stdev=11.0,
                        white_lead=2.0, raw_white_winrate=0.65, raw_white_lead=1.5,
                        raw_white_score_mean=2.5, raw_no_result=0.0, raw_st_winloss_error=0.3,
                        raw_st_score_error=4.0, raw_var_time_left=12.0, next_player=h.next_player)
        moves = [move_info((2, 2), 0, max(self.visits - 1, 0), 0.7, 2.0,
                           [(2, 2), (3, 3), None, None]),
                 move_info(None, 1, 1 if self.visits > 1 else 0, 0.9, 9.0, [None])]
        own = np.linspace(-1, 1, xs * ys).reshape(ys, xs) if include_ownership else None
        for mi in moves:
            if include_moves_ownership:
                mi.ownership = np.full((ys, xs), 0.5)
                mi.ownership_stdev = np.full((ys, xs), 0.1)
        policy = np.full(xs * ys + 1, 1.0 / (xs * ys + 1))
        policy[0] = -1.0
        return Analysis(root=root, moves=moves if self.visits else [], ownership=own,
                        ownership_stdev=None if own is None else np.abs(own) / 2, policy=policy)


def set_param(params, name, value):
    if name in {f.name for f in dataclasses.fields(params)}:
        return dataclasses.replace(params, **{name: value})
    return params


def override(settings):
    known = {"maxVisits", "wideRootNoise", "reportAnalysisWinratesAs"}
    params = Params()
    perspective = None
    if "maxVisits" in settings:
        try:
            params = dataclasses.replace(params, maxVisits=int(settings["maxVisits"]))
        except ValueError:
            raise ValueError(f"bad maxVisits {settings['maxVisits']}") from None
    if settings.get("reportAnalysisWinratesAs", "").upper() == "BLACK":
        perspective = 1
    return params, perspective, sorted(k for k in settings if k not in known)


class Harness:
    """An in-process engine whose output lines are collected as parsed JSON."""

    def __init__(self, threads=2, perspective=None, **ctx_kw):
        self.out = io.StringIO()
        ctx = QueryContext(default_params=Params(), default_perspective=perspective,
                           override=override, set_param=set_param,
                           supported_rules=supported_rules_for_model_version(8), **ctx_kw)
        ScriptedSearcher.started = []
        ScriptedSearcher.max_active = 0
        self.engine = AnalysisEngine(ctx, ScriptedSearcher, self.out, num_threads=threads,
                                     log_errors_and_warnings=False)

    def send(self, obj):
        self.engine.handle_line(obj if isinstance(obj, str) else json.dumps(obj))

    def finish(self):
        self.engine.finish()
        return [json.loads(line) for line in self.out.getvalue().splitlines()]

    def lines(self):
        return [json.loads(line) for line in self.out.getvalue().splitlines()]

    def wait_until_searching(self, count=1, timeout=5.0):
        end = time.monotonic() + timeout
        while len(ScriptedSearcher.started) < count:
            assert time.monotonic() < end, "no search started"
            time.sleep(0.002)

    def wait_for(self, predicate, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(predicate(r) for r in self.lines()):
                return
            time.sleep(0.005)
        raise AssertionError(f"timed out; output so far: {self.lines()}")


def query(id="q", **fields):
    q = {"id": id, "moves": [], "rules": "tromp-taylor", "komi": 7.5, "boardXSize": 9,
         "boardYSize": 9}
    q.update(fields)
    return q


# ------------------------------------------------------------------------------------------------
# Locations, rounding, hashes


def test_parse_location_follows_katago():
    assert parse_location("D4", 19, 19) == (True, (3, 15))
    assert parse_location(" q16 ", 19, 19) == (True, (15, 3))
    assert parse_location("PASS", 19, 19) == (True, None)
    assert parse_location("pss", 9, 9) == (True, None)
    assert parse_location("(0,13)", 19, 19) == (True, (0, 13))
    for bad in ["", "D", "I5", "Z4", "D20", "D0", "(19,0)", "(1,2,3)", "(a,b)", "D4x", "D 4",
                "4D", "(1,2", "\u0661\u0662"]:
        assert parse_location(bad, 19, 19) == (False, None), bad
    assert format_location((3, 15), 19, 19) == "D4"
    assert format_location(None, 19, 19) == "pass"


def test_round_dynamic_keeps_eight_digits_after_the_leading_one_like_katago():
    assert round_dynamic(0.123456789123) == 0.123456789
    assert round_dynamic(-123.456789123) == -123.456789
    assert round_dynamic(0.5000000005) == 0.500000001  # C's round: halves away from zero
    assert round_dynamic(1234567891234.5) == 1234567891235.0
    assert round_dynamic(0.0) == 0.0
    assert round_dynamic(2.5e-9) == 2.5e-9


def test_position_hashes_are_32_hex_digits_and_symmetric():
    h = History(parse_rules("chinese"), 9, 9)
    h.play((2, 2), 1)
    mirrored = History(parse_rules("chinese"), 9, 9)
    mirrored.play((6, 2), 1)
    this1, sym1 = position_hashes(h)
    this2, sym2 = position_hashes(mirrored)
    assert len(this1) == 32 and all(c in "0123456789ABCDEF" for c in this1)
    assert this1 != this2 and sym1 == sym2
    h.play(None, 2)  # the player to move is part of the position
    assert position_hashes(h)[0] != this1


def test_pv_stops_before_the_pass_that_ends_the_phase_under_territory_rules():
    japanese = History(parse_rules("japanese"), 9, 9, prevent_encore=True)
    assert pv_length(japanese, [(2, 2), None, None, (3, 3)], True) == 2
    assert pv_length(japanese, [(2, 2), None, None, (3, 3)], False) == 4
    chinese = History(parse_rules("chinese"), 9, 9, prevent_encore=True)
    assert pv_length(chinese, [(2, 2), None, None], True) == 3


# ------------------------------------------------------------------------------------------------
# Responses


def test_round_trip_fields_and_turns():
    hx = Harness()
    hx.send(query("a", moves=[["B", "C7"], ["W", "G3"]], analyzeTurns=[0, 2, 1],
                  includeOwnership=True, includePolicy=True, includePVVisits=True,
                  includeMovesOwnership=True, includeOwnershipStdev=True))
    out = hx.finish()
    assert sorted(r["turnNumber"] for r in out) == [0, 1, 2]
    by_turn = {r["turnNumber"]: r for r in out}
    r = by_turn[1]  # white to move, reported for the side to move: values as the search gave them
    assert r["id"] == "a" and r["isDuringSearch"] is False
    assert r["rootInfo"]["currentPlayer"] == "W"
    assert r["rootInfo"]["winrate"] == 0.7 and r["rootInfo"]["scoreLead"] == 2.0
    assert r["rootInfo"]["rawStWrError"] == 0.15  # KataGo halves the net's error
    best = r["moveInfos"][0]
    assert best["move"] == "C7" and best["order"] == 0
    assert best["scoreMean"] == best["scoreLead"] == 2.0 and best["scoreSelfplay"] == 3.0
    assert best["pv"] == ["C7", "D6", "pass", "pass"]
    assert best["pvVisits"] == [9, 8, 7, 6] and best["pvEdgeVisits"] == [9, 8, 7, 6]
    assert len(best["ownership"]) == 81 and "ownershipStdev" not in best  # not asked for
    assert len(r["ownership"]) == 81 and r["ownership"][0] == -1.0 and r["ownership"][80] == 1.0
    assert len(r["ownershipStdev"]) == 81 and r["ownershipStdev"][0] == 0.5
    assert len(r["policy"]) == 82 and r["policy"][0] == -1
    for turn in (0, 2):  # black to move: every side-dependent value flips
        rb = by_turn[turn]
        assert rb["rootInfo"]["currentPlayer"] == "B"
        assert rb["rootInfo"]["winrate"] == pytest.approx(0.3)
        assert rb["rootInfo"]["scoreLead"] == -2.0 and rb["rootInfo"]["rawLead"] == -1.5
        assert rb["ownership"][0] == 1.0
        assert rb["moveInfos"][0]["lcb"] == pytest.approx(0.35)
        assert rb["moveInfos"][0]["utility"] == pytest.approx(-0.4)


def test_weights_play_selection_and_no_result_values_use_katagos_keys():
    """`weight` is the child's whole weight, `edgeWeight` the weight through the edge (they
    differ for a transposition); playSelectionValue and rawScoreSelfplayStdev appear when the
    search gives them, noResultValue only when asked; none of them has a side."""
    from goloop.engine.analysis_format import move_info_json, root_info_json
    from goloop.engine.analysis_query import QueryOptions
    h = History(parse_rules("chinese"), 9, 9)
    mi = move_info((2, 2), 0, 4, 0.6, 1.0, [(2, 2)])
    options = QueryOptions(params=Params(), perspective=None, analysis_pv_len=5)
    plain = move_info_json(mi, h, True, options, True)
    assert plain["weight"] == plain["edgeWeight"] == 4.0
    assert "playSelectionValue" not in plain and "noResultValue" not in plain
    mi.child_weight, mi.play_selection_value, mi.no_result_value = 10.0, 1.25, 3.5e-05
    out = move_info_json(mi, h, True, dataclasses.replace(options, include_no_result_value=True), True)
    assert (out["weight"], out["edgeWeight"]) == (10.0, 4.0)
    assert (out["playSelectionValue"], out["noResultValue"]) == (1.25, 3.5e-05)
    assert "noResultValue" not in move_info_json(mi, h, True, options, True)
    root = ScriptedSearcher(0)
    root.history, root.visits = h, 5
    info = root.analysis().root
    assert "rawScoreSelfplayStdev" not in root_info_json(info, h, True)
    info.raw_white_score_stdev = 13.104185
    assert root_info_json(info, h, True)["rawScoreSelfplayStdev"] == 13.104185


def test_report_perspective_black_and_white():
    for perspective, expected in ((1, 0.3), (2, 0.7)):
        hx = Harness(perspective=perspective)
        hx.send(query("p"))  # black to move
        (r,) = hx.finish()
        assert r["rootInfo"]["winrate"] == pytest.approx(expected)
    hx = Harness()
    hx.send(query("o", overrideSettings={"reportAnalysisWinratesAs": "BLACK"},
                  moves=[["B", "E5"]]))
    (r,) = hx.finish()
    assert r["rootInfo"]["currentPlayer"] == "W" and r["rootInfo"]["winrate"] == pytest.approx(0.3)


def test_output_is_katago_json_one_object_per_line_keys_sorted():
    hx = Harness()
    hx.send(query("k"))
    hx.engine.finish()
    (line,) = hx.out.getvalue().splitlines()
    obj = json.loads(line)
    assert line == dump_json(obj)
    assert list(obj) == sorted(obj)
    assert dump_json({"b": float("nan"), "a": "é"}) == '{"a":"é","b":null}'


def test_analysis_pv_len_and_max_visits_reach_the_search():
    hx = Harness(threads=1)
    hx.send(query("v", maxVisits=7, analysisPVLen=1))
    (r,) = hx.finish()
    assert r["rootInfo"]["visits"] == 7
    assert r["moveInfos"][0]["pv"] == ["C7", "D6"]


def test_initial_player_and_initial_stones():
    hx = Harness()
    hx.send(query("h", initialStones=[["B", "C3"], ["B", "G7"]]))  # handicap: white first
    hx.send(query("i", initialStones=[["B", "C3"]], initialPlayer="W"))
    hx.send(query("j", initialStones=[["B", "C3"], ["W", "G7"]]))  # not handicap: black first
    out = {r["id"]: r for r in hx.finish()}
    assert out["h"]["rootInfo"]["currentPlayer"] == "W"
    assert out["i"]["rootInfo"]["currentPlayer"] == "W"
    assert out["j"]["rootInfo"]["currentPlayer"] == "B"


def test_report_during_search_then_exactly_one_final():
    hx = Harness(threads=1)
    hx.send(query("d", maxVisits=300, reportDuringSearchEvery=0.04))
    out = hx.finish()
    assert [r["isDuringSearch"] for r in out].count(False) == 1
    assert out[-1]["isDuringSearch"] is False and out[-1]["rootInfo"]["visits"] == 300
    partial = [r for r in out if r["isDuringSearch"]]
    # How many reports fit depends on machine speed; at least one must come before the end.
    assert len(partial) >= 1
    assert all(r["rootInfo"]["visits"] < 300 for r in partial)
    visits = [r["rootInfo"]["visits"] for r in partial]
    assert visits == sorted(visits)


# ------------------------------------------------------------------------------------------------
# Errors and warnings: KataGo's texts


ERRORS = [
    ("not json", None, "could not parse input line as json request: not json"),
    ('{"id":"x",', None, "could not parse input line as json request"),
    ("[1,2]", None, "Request line was valid json but was not an object, ignoring: [1,2]"),
    ('"text"', None, 'Request line was valid json but was not an object, ignoring: "text"'),
    ('{"moves":[]}', None, 'Request must have a string "id" field'),
    ('{"id":5}', None, 'Request must have a string "id" field'),
    ('{"id":"x","action":"fly"}', None,
     "'action' field must be 'query_version' or 'query_models' or 'clear_cache' or 'terminate' "
     "or 'terminate_all'"),
    ('{"id":"x","action":"terminate"}', "terminateId",
     'Requests for a terminate action must have a string "terminateId" field'),
    ('{"id":"x","action":"terminate_all","turnNumbers":"1"}', "turnNumbers",
     "If provided, must be an array of integers indicating turns to terminate"),
    ('{"id":"x","moves":[],"rules":"chinese","boardYSize":9}', "boardXSize",
     "Must provide an integer from 2 to 19"),
    ('{"id":"x","moves":[],"rules":"chinese","boardXSize":20,"boardYSize":9}', "boardXSize",
     "Must provide an integer from 2 to 19"),
    ('{"id":"x","moves":[],"rules":"chinese","boardXSize":9,"boardYSize":100000000000000000000}',
     "boardYSize", "Must provide an integer from 2 to 19"),
    ('{"id":"x","moves":[],"rules":"chinese","boardXSize":9.0,"boardYSize":9}', "boardXSize",
     "Must provide an integer from 2 to 19"),
    ('{"id":"x","rules":"chinese","boardXSize":9,"boardYSize":9}', "moves",
     "Must specify an array of [player,location] pairs"),
    ('{"id":"x","moves":"D4","rules":"chinese","boardXSize":9,"boardYSize":9}', "moves",
     'Must be an array of pairs of the form: ["b" or "w", GTP board vertex]'),
    ('{"id":"x","moves":[["B","D4","x"]],"rules":"chinese","boardXSize":9,"boardYSize":9}',
     "moves", 'Must be an array of pairs of the form: ["b" or "w", GTP board vertex]'),
    ('{"id":"x","moves":[["X","D4"]],"rules":"chinese","boardXSize":9,"boardYSize":9}', "moves",
     "Could not parse player: X"),
    ('{"id":"x","moves":[["B","K10"]],"rules":"chinese","boardXSize":9,"boardYSize":9}', "moves",
     "Could not parse board location: K10"),
    ('{"id":"x","moves":[["B","D4"],["W","D4"]],"rules":"chinese","boardXSize":9,'
     '"boardYSize":9}', "moves", "Illegal move 1: D4"),
    ('{"id":"x","initialStones":[["B","pass"]],"moves":[],"rules":"chinese","boardXSize":9,'
     '"boardYSize":9}', "initialStones", "Could not parse board location: pass"),
    ('{"id":"x","moves":[],"initialPlayer":"red","rules":"chinese","boardXSize":9,'
     '"boardYSize":9}', "initialPlayer", 'Must be "b" or "w"'),
    ('{"id":"x","moves":[],"analyzeTurns":[1],"rules":"chinese","boardXSize":9,"boardYSize":9}',
     "analyzeTurns", "Invalid turn number: 1"),
    ('{"id":"x","moves":[],"analyzeTurns":0,"rules":"chinese","boardXSize":9,"boardYSize":9}',
     "analyzeTurns", "Must specify an array of integers indicating turns to analyze"),
    ('{"id":"x","moves":[],"priorities":[1],"rules":"chinese","boardXSize":9,"boardYSize":9}',
     "priorities", "Can only specify when also specifying analyzeTurns"),
    ('{"id":"x","moves":[],"analyzeTurns":[0],"priorities":[1,2],"rules":"chinese",'
     '"boardXSize":9,"boardYSize":9}', "priorities", "Must be of matching length to analyzeTurns"),
    ('{"id":"x","moves":[],"boardXSize":9,"boardYSize":9}', "rules",
     'Must specify rules string, such as "chinese" or "tromp-taylor", or a JSON object with '
     'detailed rules parameters.'),
    ('{"id":"x","moves":[],"rules":"nonsense","boardXSize":9,"boardYSize":9}', "rules",
     "Could not parse rules: nonsense"),
    ('{"id":"x","moves":[],"rules":{"ko":"BAD"},"boardXSize":9,"boardYSize":9}', "rules",
     'Could not parse rules: {"ko":"BAD"}'),
    ('{"id":"x","moves":[],"rules":7,"boardXSize":9,"boardYSize":9}', "rules",
     'Must specify rules string, such as "chinese" or "tromp-taylor", or a JSON object with '
     'detailed rules parameters.'),
    ('{"id":"x","moves":[],"rules":"chinese","komi":7.25,"boardXSize":9,"boardYSize":9}', "komi",
     "Must be a integer or half-integer from -400.0 to 400.0"),
    ('{"id":"x","moves":[],"rules":"chinese","komi":"7.5","boardXSize":9,"boardYSize":9}', "komi",
     "Must be a integer or half-integer from -400.0 to 400.0"),
    ('{"id":"x","moves":[],"rules":"chinese","komi":1e400,"boardXSize":9,"boardYSize":9}',
     "komi", "Must be a integer or half-integer from -400.0 to 400.0"),
    ('{"id":"x","moves":[],"rules":"chinese","whiteHandicapBonus":"M","boardXSize":9,'
     '"boardYSize":9}', "whiteHandicapBonus",
     "Rules::parseWhiteHandicapBonusRule: Invalid whiteHandicapBonus rule: M"),
    ('{"id":"x","moves":[],"rules":"chinese","overrideSettings":[],"boardXSize":9,'
     '"boardYSize":9}', "overrideSettings", "Must be an object"),
    ('{"id":"x","moves":[],"rules":"chinese","overrideSettings":{"maxVisits":"many"},'
     '"boardXSize":9,"boardYSize":9}', "overrideSettings", "Could not set settings: bad maxVisits"),
    ('{"id":"x","moves":[],"rules":"chinese","maxVisits":0,"boardXSize":9,"boardYSize":9}',
     "maxVisits", "Must be an integer from 1 to 2^50"),
    ('{"id":"x","moves":[],"rules":"chinese","analysisPVLen":1001,"boardXSize":9,'
     '"boardYSize":9}', "analysisPVLen", "Must be an integer from 1 to 1000"),
    ('{"id":"x","moves":[],"rules":"chinese","rootPolicyTemperature":0,"boardXSize":9,'
     '"boardYSize":9}', "rootPolicyTemperature", "Must be a number from 0.01 to 100.0"),
    ('{"id":"x","moves":[],"rules":"chinese","includePolicy":1,"boardXSize":9,"boardYSize":9}',
     "includePolicy", "Must be a boolean"),
    ('{"id":"x","moves":[],"rules":"chinese","reportDuringSearchEvery":0,"boardXSize":9,'
     '"boardYSize":9}', "reportDuringSearchEvery",
     "Must be number of seconds from 0.001 to 1000000.0"),
    ('{"id":"x","moves":[],"analyzeTurns":[0],"priorities":[1],"priority":2,"rules":"chinese",'
     '"boardXSize":9,"boardYSize":9}', "priority", "Cannot specify both priority and priorities"),
    ('{"id":"x","moves":[],"rules":"chinese","avoidMoves":[],"allowMoves":[],"boardXSize":9,'
     '"boardYSize":9}', "allowMoves", "Cannot specify both allowMoves and avoidMoves"),
    ('{"id":"x","moves":[],"rules":"chinese","avoidMoves":[{"player":"B"}],"boardXSize":9,'
     '"boardYSize":9}', "avoidMoves",
     "Must be a list of dicts with subfields 'player', 'moves', 'untilDepth'"),
    ('{"id":"x","moves":[],"rules":"chinese","avoidMoves":[{"player":"B","moves":["Z9"],'
     '"untilDepth":1}],"boardXSize":9,"boardYSize":9}', "moves",
     "Could not parse board location: Z9"),
    ('{"id":"x","moves":[],"rules":"chinese","avoidMoves":[{"player":"B","moves":["A1"],'
     '"untilDepth":0}],"boardXSize":9,"boardYSize":9}', "untilDepth", "Must be a positive integer"),
    ('{"id":"x","moves":[],"rules":"chinese","allowMoves":[{"player":"B","moves":["A1"],'
     '"untilDepth":1},{"player":"b","moves":["A2"],"untilDepth":1}],"boardXSize":9,'
     '"boardYSize":9}', "allowMoves",
     "Cannot specify allowMoves more than once for the same player"),
]


@pytest.mark.parametrize("line,field,message", ERRORS)
def test_malformed_queries_get_katago_errors(line, field, message):
    hx = Harness(threads=1)
    hx.send(line)
    out = hx.finish()
    errors = [r for r in out if "error" in r]
    assert len(errors) == 1 and len(out) == len(errors) + sum("warning" in r for r in out), out
    (err,) = errors
    assert message in err["error"]
    if field is None:
        assert set(err) == {"error"}
    else:
        assert err["field"] == field and err["id"] == "x" and set(err) == {"error", "field", "id"}


def test_warnings_do_not_stop_the_query():
    hx = Harness(threads=1)
    hx.send(query("w", rules="tromp-taylor", overrideSettings={"maxVisits": 3, "noSuchParam": 1,
                                                               "alsoUnknown": True},
                  zzz=1, aaa=2))
    out = hx.finish()
    assert out[0] == {"field": "overrideSettings", "id": "w",
                      "warning": "Unknown config params: alsoUnknown,noSuchParam"}
    unused = ("Unexpected or unused field, do you have a typo? (set warnUnusedFields=false in "
              "the config to disable this warning)")
    assert out[1:3] == [{"field": "aaa", "id": "w", "warning": unused},
                        {"field": "zzz", "id": "w", "warning": unused}]
    assert out[3]["rootInfo"]["visits"] == 3
    hx = Harness(threads=1, warn_unused_fields=False)
    hx.send(query("w2", zzz=1))
    assert [set(r) >= {"moveInfos"} for r in hx.finish()] == [True]


def test_unsupported_rules_are_replaced_with_a_warning():
    hx = Harness(threads=1)
    hx.send(query("s", rules={"ko": "SPIGHT", "scoring": "AREA", "tax": "NONE", "suicide": True}))
    out = hx.finish()
    assert out[0] == {"field": "rules", "id": "s", "warning":
                      "Rules koSPIGHTscoreAREAtaxNONEsui1komi7.5 not supported by neural net, "
                      "using koSITUATIONALscoreAREAtaxNONEsui1komi7.5 instead"}
    assert "moveInfos" in out[1]


# ------------------------------------------------------------------------------------------------
# Actions, terminate, priorities, concurrency


def test_actions_echo_the_query():
    hx = Harness()
    hx.send('{"id":"v","action":"query_version","extra":[1]}')
    hx.send('{"id":"c","action":"clear_cache"}')
    hx.send('{"id":"m","action":"query_models"}')
    hx.send('{"id":"t","action":"terminate_all","turnNumbers":[3]}')
    out = hx.finish()
    assert out[0] == {"action": "query_version", "extra": [1], "git_hash": "<omitted>", "id": "v",
                      "version": "1.17.2"}
    assert out[1] == {"action": "clear_cache", "id": "c"}
    assert out[2] == {"action": "query_models", "id": "m", "models": []}
    assert out[3] == {"action": "terminate_all", "id": "t", "turnNumbers": [3]}


def test_clear_cache_reaches_every_searcher_before_its_next_search():
    hx = Harness(threads=2)
    hx.send('{"id":"c","action":"clear_cache"}')
    hx.send(query("a"))
    hx.send(query("b"))
    hx.finish()
    assert sum(s.cleared_caches for s in hx.engine._searchers) >= 1


def test_terminate_queued_and_running_queries():
    hx = Harness(threads=1)
    hx.send(query("long", maxVisits=100000, reportDuringSearchEvery=0.02))
    hx.send(query("queued", moves=[["B", "E5"], ["W", "C3"]], analyzeTurns=[0, 1, 2]))
    hx.wait_for(lambda r: r.get("isDuringSearch"))
    hx.send('{"id":"t1","action":"terminate","terminateId":"queued","turnNumbers":[0,2]}')
    hx.send('{"id":"t2","action":"terminate","terminateId":"long"}')
    out = hx.finish()
    assert {"id": "queued", "isDuringSearch": False, "noResults": True, "turnNumber": 0} in out
    assert {"id": "queued", "isDuringSearch": False, "noResults": True, "turnNumber": 2} in out
    assert [r["turnNumber"] for r in out if r.get("id") == "queued" and "moveInfos" in r] == [1]
    final = [r for r in out if r.get("id") == "long" and r.get("isDuringSearch") is False]
    assert len(final) == 1 and 0 < final[0]["rootInfo"]["visits"] < 100000
    assert {"action": "terminate", "id": "t2", "terminateId": "long"} in out


def test_terminate_all_stops_everything():
    hx = Harness(threads=2)
    for i in range(4):
        hx.send(query(f"q{i}", maxVisits=100000))
    hx.wait_until_searching(2)
    hx.send('{"id":"all","action":"terminate_all"}')
    start = time.monotonic()
    out = hx.finish()
    assert time.monotonic() - start < 5
    finals = [r for r in out if r.get("id", "").startswith("q")]
    assert sorted(r["id"] for r in finals) == ["q0", "q1", "q2", "q3"]
    assert all(r["isDuringSearch"] is False for r in finals)
    assert sum(r.get("noResults", False) for r in finals) == 2  # the two still queued


def test_priority_then_arrival_order():
    hx = Harness(threads=1)
    hx.send(query("first", maxVisits=60))  # occupies the only worker
    hx.wait_until_searching()
    hx.send(query("low", priority=-1, moves=[["B", "A1"]]))
    hx.send(query("mid1", moves=[["B", "B1"]]))
    hx.send(query("high", priority=5, moves=[["B", "C1"]]))
    hx.send(query("mid2", moves=[["B", "D1"]]))
    hx.send(query("turns", moves=[["B", "E1"], ["W", "F1"]], analyzeTurns=[1, 2],
                  priorities=[10, -5]))
    out = hx.finish()
    order = [(r["id"], r["turnNumber"]) for r in out]
    assert order == [("first", 0), ("turns", 1), ("high", 1), ("mid1", 1), ("mid2", 1),
                     ("low", 1), ("turns", 2)]


def test_several_queries_in_flight_are_searched_concurrently():
    hx = Harness(threads=3)
    for i in range(3):
        hx.send(query(f"c{i}", maxVisits=1000000))
    hx.wait_until_searching(3)
    assert ScriptedSearcher.max_active == 3
    hx.send('{"id":"t","action":"terminate_all"}')
    out = hx.finish()
    assert sorted(r["id"] for r in out if "moveInfos" in r) == ["c0", "c1", "c2"]


def test_quit_without_waiting_drops_queued_work():
    hx = Harness(threads=1)
    for i in range(3):
        hx.send(query(f"z{i}", maxVisits=100000))
    hx.wait_until_searching()
    start = time.monotonic()
    hx.engine.finish(wait=False)
    assert time.monotonic() - start < 5
    assert hx.out.getvalue() == ""


def test_a_failing_search_reports_an_error_and_the_engine_carries_on():
    hx = Harness(threads=1)

    def broken_search(**kwargs):
        raise RuntimeError("search exploded")

    hx.engine._searchers[0].search = broken_search
    hx.send(query("bad"))
    hx.wait_for(lambda r: "error" in r)
    del hx.engine._searchers[0].search
    hx.send(query("good"))
    out = hx.finish()
    assert out[0] == {"error": "Internal error analyzing turn 0: RuntimeError: search exploded",
                      "field": "analyzeTurns", "id": "bad"}
    assert out[1]["id"] == "good" and "moveInfos" in out[1]


def test_avoid_moves_need_a_searcher_hook():
    hx = Harness(threads=1)
    hx.send(query("no", avoidMoves=[{"player": "W", "moves": ["E5"], "untilDepth": 1}]))
    assert hx.finish() == [{"error": "avoidMoves is not supported by goloop's search yet",
                            "field": "avoidMoves", "id": "no"}]
    hx = Harness(threads=1)
    seen = []
    hx.engine._searchers[0].set_avoid_moves = lambda avoid, allow: seen.append((avoid, allow))
    hx.send(query("av", avoidMoves=[{"player": "W", "moves": ["E5", "pass"], "untilDepth": 3},
                                    {"player": "b", "moves": ["(0,0)"], "untilDepth": 1}]))
    hx.send(query("al", allowMoves=[{"player": "B", "moves": ["C3", "D4"], "untilDepth": 2}]))
    out = hx.finish()
    assert all("moveInfos" in r for r in out)
    assert seen[0] == ({2: {(4, 4): 3, None: 3}, 1: {(0, 0): 1}}, {})
    assert seen[1] == ({}, {1: ({(2, 6), (3, 5)}, 2)})
