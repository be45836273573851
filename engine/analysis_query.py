"""One line of the JSON analysis protocol in, a validated query (or KataGo's exact error) out.

Why a module of its own: the protocol's value to front ends is that every malformed field gets
the same error object KataGo would send, in the same order KataGo checks the fields, and that no
input whatsoever can take the engine down. Keeping the parsing pure (no threads, no search) makes
both properties testable line by line.

The checks follow KataGo v1.17.2's analysis engine (cpp/command/analysis.cpp, docs/
Analysis_Engine.md), field by field:

* a line that is not JSON, not an object or has no string `id` gets a general error
  `{"error": ...}`; every later problem names its field: `{"error", "field", "id"}`;
* `action` (when a string) makes the line a special action: query_version, query_models,
  clear_cache, terminate (needs `terminateId`), terminate_all;
* otherwise the fields are checked in KataGo's order: board size, initialStones, moves,
  initialPlayer, analyzeTurns, priorities, rules, komi, whiteHandicapBonus, overrideSettings,
  maxVisits, analysisPVLen, rootFpuReductionMax, rootPolicyTemperature, the include* flags,
  reportDuringSearchEvery, firstReportDuringSearchAfter, priority, allowMoves/avoidMoves;
  then the game is replayed and an unplayable move is an error naming the turn.
* warnings (`{"warning", "field", "id"}`) never stop the query: unknown overrideSettings keys,
  rules the net cannot play (replaced by the nearest it can), fields KataGo does not know.

Deliberate differences, all stricter or safer than KataGo: the `(x,y)` location form is bounds
checked (KataGo reads out of its board for an off-board pair); integer arrays (analyzeTurns,
turnNumbers, priorities) accept integral numbers only (KataGo's JSON library truncates 1.5 and
reads `true` as 1); a JSON parse error's text after the position is Python's wording, not
nlohmann's.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from goloop.common.go.board import Board
from goloop.common.go.coords import GTP_COLUMNS, Point
from goloop.common.go.history import History
from goloop.common.go.rules import (
    KoRule,
    Rules,
    RulesError,
    ScoringRule,
    TaxRule,
    WhiteHandicapBonus,
    parse_rules,
)

BLACK, WHITE = 1, 2
PASS = None
MAX_BOARD_LEN = 19  # KataGo's default compile-time Board::MAX_LEN; goloop's boards stop there too
MAX_PRIORITY = 0x3FFFFFFFFFFFFFFF

# KataGo's expected query keys: anything else draws an "unused field" warning.
EXPECTED_KEYS = frozenset({
    "id", "action", "terminateId", "turnNumbers", "boardXSize", "boardYSize", "initialStones",
    "moves", "initialPlayer", "analyzeTurns", "priorities", "rules", "komi", "whiteHandicapBonus",
    "overrideSettings", "maxVisits", "analysisPVLen", "rootFpuReductionMax",
    "rootPolicyTemperature", "includeMovesOwnership", "includeMovesOwnershipStdev",
    "includeOwnership", "includeOwnershipStdev", "includePolicy", "includePVVisits",
    "includeNoResultValue", "reportDuringSearchEvery", "firstReportDuringSearchAfter", "priority",
    "allowMoves", "avoidMoves",
})
ACTIONS = ("query_version", "query_models", "clear_cache", "terminate", "terminate_all")

_MOVES_PAIRS = 'Must be an array of pairs of the form: ["b" or "w", GTP board vertex]'
_BOARD_SIZE = f"Must provide an integer from 2 to {MAX_BOARD_LEN}"
_RULES_NEEDED = ('Must specify rules string, such as "chinese" or "tromp-taylor", or a JSON object '
                 'with detailed rules parameters.')
_KOMI = "Must be a integer or half-integer from -400.0 to 400.0"
_AVOID_SHAPE = "Must be a list of dicts with subfields 'player', 'moves', 'untilDepth'"
_TURNS_TO_TERMINATE = "If provided, must be an array of integers indicating turns to terminate"


class QueryError(ValueError):
    """A query KataGo would refuse: `message`, and for field errors the query's `id` and `field`."""

    def __init__(self, message: str, id: Optional[str] = None, field: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.id = id
        self.field = field

    def to_json(self) -> dict:
        """KataGo's error object: {"error"} alone, or with "field" and "id"."""
        if self.id is None:
            return {"error": self.message}
        return {"error": self.message, "field": self.field, "id": self.id}


def warning_json(id: str, field: str, message: str) -> dict:
    return {"field": field, "id": id, "warning": message}


# ------------------------------------------------------------------------------------------------
# JSON text


class _NonStandardConstant(ValueError):
    pass


def _refuse_constant(name: str):
    # NaN / Infinity are not JSON; Python's decoder would accept them, KataGo's does not.
    raise _NonStandardConstant(f"invalid literal; last read: '{name}'")


def parse_line(line: str) -> dict:
    """The JSON object on one input line (already trimmed, not empty), or a general QueryError."""
    try:
        value = json.loads(line, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise QueryError(f"[json.exception.parse_error.101] parse error at line {e.lineno}, "
                         f"column {e.colno}: syntax error while parsing value - {e.msg}"
                         f" - could not parse input line as json request: {line}") from None
    except (_NonStandardConstant, ValueError, RecursionError) as e:
        # ValueError: e.g. an integer literal longer than Python's digit limit.
        raise QueryError(f"[json.exception.parse_error.101] parse error: {e}"
                         f" - could not parse input line as json request: {line}") from None
    if not isinstance(value, dict):
        raise QueryError("Request line was valid json but was not an object, ignoring: "
                         + dump_json(value))
    if not isinstance(value.get("id"), str):
        raise QueryError('Request must have a string "id" field')
    return value


def dump_json(value: Any) -> str:
    """KataGo's `json.dump()`: keys sorted, no spaces, UTF-8 kept, non-finite numbers as null."""
    return json.dumps(_finite(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------------
# Scalars


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_list(value: Any) -> Optional[list]:
    """A JSON array of integers (integral floats allowed) as ints, else None."""
    if not isinstance(value, list):
        return None
    out = []
    for v in value:
        if _is_int(v):
            out.append(v)
        elif isinstance(v, float) and math.isfinite(v) and v == int(v):
            out.append(int(v))
        else:
            return None
    return out


def parse_player(text: Any) -> Optional[int]:
    """KataGo's player spellings (b, black, w, white in any case), else None."""
    if not isinstance(text, str):
        return None
    return {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}.get(text.lower())


def _letter_index(c: str) -> Optional[int]:
    # GTP letters without I, either case; KataGo's two-letter columns build on these.
    index = GTP_COLUMNS.find(c.upper()) if c.isascii() and c.isalpha() else -1
    return index if index >= 0 else None


def _c_int(text: str) -> Optional[int]:
    """KataGo's tryStringToInt: optional sign, decimal digits, nothing else (no spaces)."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit() or len(body) > 10:
        return None
    value = int(text)
    return value if -2**31 <= value < 2**31 else None


def parse_location(text: str, x_size: int, y_size: int) -> tuple[bool, Optional[Point]]:
    """KataGo's Location::tryOfString: (True, point or None for a pass), or (False, None).

    Accepts `pass`/`pss` in any case, GTP vertices with one or two column letters in either case
    (`D4`, `aa1`), and the machine form `(x,y)` with y counted from the top."""
    s = text.strip()
    if len(s) < 2:
        return False, None
    if s.lower() in ("pass", "pss"):
        return True, PASS
    if s[0] == "(":
        if s[-1] != ")":
            return False, None
        pieces = s[1:-1].split(",")
        if len(pieces) != 2:
            return False, None
        x, y = _c_int(pieces[0]), _c_int(pieces[1])
        if x is None or y is None or not (0 <= x < x_size and 0 <= y < y_size):
            return False, None
        return True, (x, y)
    x = _letter_index(s[0])
    if x is None:
        return False, None
    rest = s[1:]
    if s[1].isascii() and s[1].isalpha():
        x1 = _letter_index(s[1])
        if x1 is None:
            return False, None
        x = (x + 1) * len(GTP_COLUMNS) + x1
        rest = s[2:]
    row = _c_int(rest)
    if row is None:
        return False, None
    y = y_size - row
    if not (0 <= x < x_size and 0 <= y < y_size):
        return False, None
    return True, (x, y)


def format_location(point: Optional[Point], x_size: int, y_size: int) -> str:
    """KataGo's Location::toString: `pass`, `D4`, or two letters past column 25."""
    if point is None:
        return "pass"
    x, y = point
    n = len(GTP_COLUMNS)
    column = GTP_COLUMNS[x] if x < n else GTP_COLUMNS[x // n - 1] + GTP_COLUMNS[x % n]
    return f"{column}{y_size - y}"


# ------------------------------------------------------------------------------------------------
# What a parsed query holds


@dataclass
class QueryOptions:
    """Everything in a query that applies to each of its turns, defaults from the config."""

    params: Any                      # SearchParams for this query (config + overrides + fields)
    perspective: Optional[int]       # BLACK, WHITE, or None for the side to move
    analysis_pv_len: int             # moves after the first one in each reported pv
    include_ownership: bool = False
    include_ownership_stdev: bool = False
    include_moves_ownership: bool = False
    include_moves_ownership_stdev: bool = False
    include_policy: bool = False
    include_pv_visits: bool = False
    include_no_result_value: bool = False
    report_every: Optional[float] = None      # seconds between isDuringSearch reports, None = off
    first_report_after: Optional[float] = None
    priority: int = 0
    # player -> {point or None (pass): depth before which the search may not play it}
    avoid_moves: dict = field(default_factory=dict)
    # player -> (set of allowed points, depth before which only those may be played)
    allow_moves: dict = field(default_factory=dict)


@dataclass
class TurnRequest:
    """One position of a query to analyze: the game up to `turn_number` moves."""

    id: str
    turn_number: int
    priority: int
    history: History
    options: QueryOptions


@dataclass
class ParsedQuery:
    """An analysis query: its positions (in turn order) and the warnings to send before them."""

    id: str
    turns: list
    warnings: list                   # warning objects, in KataGo's order


@dataclass
class ParsedAction:
    """A special action line (`action` is one of ACTIONS); `query` is the whole object to echo."""

    id: str
    action: str
    query: dict
    terminate_id: Optional[str] = None
    turn_numbers: Optional[set] = None   # None: every turn


@dataclass
class QueryContext:
    """What parsing needs from the engine: its defaults and how to apply query-level settings.

    `override` turns an overrideSettings map (values as strings, as KataGo converts them) into
    (params, perspective, unknown keys) or raises ValueError with the reason. `supported_rules`
    maps rules to the nearest ones the net can play: (rules, were they supported). `set_param`
    returns params with one search parameter replaced (query fields like maxVisits)."""

    default_params: Any
    default_perspective: Optional[int]
    analysis_pv_len: int = 15
    assume_multiple_starting_black_moves_are_handicap: bool = True
    prevent_encore: bool = True
    warn_unused_fields: bool = True
    override: Optional[Callable[[dict], tuple]] = None
    supported_rules: Callable[[Rules], tuple] = lambda rules: (rules, True)
    set_param: Callable[[Any, str, Any], Any] = lambda params, name, value: params


# ------------------------------------------------------------------------------------------------
# Parsing


def parse_query(line: str, ctx: QueryContext):
    """A ParsedAction or ParsedQuery for one trimmed, non-empty line; QueryError otherwise.

    A QueryError raised after some warnings were found carries them in `.warnings` so the engine
    can send them first, as KataGo does."""
    obj = parse_line(line)
    qid = obj["id"]
    if "action" in obj and isinstance(obj["action"], str):
        return _parse_action(obj, qid)
    p = _FieldParser(obj, qid)
    warnings: list = []
    try:
        return _parse_analysis(obj, qid, p, ctx, warnings)
    except QueryError as e:
        e.warnings = warnings
        raise


def _parse_action(obj: dict, qid: str) -> ParsedAction:
    action = obj["action"]
    if action not in ACTIONS:
        raise QueryError("'action' field must be 'query_version' or 'query_models' or "
                         "'clear_cache' or 'terminate' or 'terminate_all'")
    parsed = ParsedAction(qid, action, obj)
    if action == "terminate":
        if not isinstance(obj.get("terminateId"), str):
            raise QueryError('Requests for a terminate action must have a string "terminateId" '
                             'field', qid, "terminateId")
        parsed.terminate_id = obj["terminateId"]
    if action in ("terminate", "terminate_all") and "turnNumbers" in obj:
        turns = _int_list(obj["turnNumbers"])
        if turns is None:
            raise QueryError(_TURNS_TO_TERMINATE, qid, "turnNumbers")
        parsed.turn_numbers = set(turns)
    return parsed


class _FieldParser:
    """KataGo's per-field checks, each raising the field's QueryError."""

    def __init__(self, obj: dict, qid: str):
        self.obj = obj
        self.id = qid

    def fail(self, field_name: str, message: str) -> QueryError:
        return QueryError(message, self.id, field_name)

    def integer(self, d: dict, name: str, lo: int, hi: int, message: str) -> int:
        v = d.get(name)
        if not _is_int(v) or not lo <= v <= hi:
            raise self.fail(name, message)
        return v

    def number(self, d: dict, name: str, lo: float, hi: float, message: str) -> float:
        v = d.get(name)
        if not _is_number(v) or not math.isfinite(v) or not lo <= v <= hi:
            raise self.fail(name, message)
        return float(v)

    def boolean(self, d: dict, name: str) -> bool:
        v = d.get(name)
        if not isinstance(v, bool):
            raise self.fail(name, "Must be a boolean")
        return v

    def player(self, d: dict, name: str) -> int:
        pla = parse_player(d.get(name))
        if pla is None:
            raise self.fail(name, 'Must be "b" or "w"')
        return pla

    def locations(self, d: dict, name: str, xs: int, ys: int) -> list:
        v = d.get(name)
        if not isinstance(v, list):
            raise self.fail(name, "Must be an array of GTP board vertices")
        out = []
        for elt in v:
            if not isinstance(elt, str):
                raise self.fail(name, "Must be an array of GTP board vertices")
            ok, point = parse_location(elt, xs, ys)
            if not ok:
                raise self.fail(name, "Could not parse board location: " + elt)
            out.append(point)
        return out

    def moves(self, name: str, xs: int, ys: int, allow_pass: bool) -> list:
        v = self.obj[name]
        if not isinstance(v, list):
            raise self.fail(name, _MOVES_PAIRS)
        out = []
        for elt in v:
            if not isinstance(elt, list) or len(elt) != 2:
                raise self.fail(name, _MOVES_PAIRS)
            if not isinstance(elt[0], str) or not isinstance(elt[1], str):
                raise self.fail(name, _MOVES_PAIRS)
            pla = parse_player(elt[0])
            if pla is None:
                raise self.fail(name, "Could not parse player: " + elt[0])
            ok, point = parse_location(elt[1], xs, ys)
            if not ok or (point is PASS and not allow_pass):
                raise self.fail(name, "Could not parse board location: " + elt[1])
            out.append((pla, point))
        return out


def _parse_analysis(obj: dict, qid: str, p: _FieldParser, ctx: QueryContext,
                    warnings: list) -> ParsedQuery:
    for name in ("boardXSize", "boardYSize"):
        if name not in obj:
            raise p.fail(name, _BOARD_SIZE)
    xs = p.integer(obj, "boardXSize", 2, MAX_BOARD_LEN, _BOARD_SIZE)
    ys = p.integer(obj, "boardYSize", 2, MAX_BOARD_LEN, _BOARD_SIZE)

    placements = p.moves("initialStones", xs, ys, False) if "initialStones" in obj else []
    if "moves" not in obj:
        raise p.fail("moves", "Must specify an array of [player,location] pairs")
    moves = p.moves("moves", xs, ys, True)
    initial_player = p.player(obj, "initialPlayer") if "initialPlayer" in obj else None

    num_turns = len(moves) + 1
    if "analyzeTurns" in obj:
        analyze_turns = _int_list(obj["analyzeTurns"])
        if analyze_turns is None:
            raise p.fail("analyzeTurns", "Must specify an array of integers indicating turns to "
                                         "analyze")
        for turn in analyze_turns:
            if not 0 <= turn < num_turns:
                raise p.fail("analyzeTurns", f"Invalid turn number: {turn}")
    else:
        analyze_turns = [num_turns - 1]

    priorities: dict = {}
    if "priorities" in obj:
        values = _int_list(obj["priorities"])
        if values is None:
            raise p.fail("priorities", "Must specify an array of integers indicating priorities")
        if "analyzeTurns" not in obj:
            raise p.fail("priorities", "Can only specify when also specifying analyzeTurns")
        if len(values) != len(analyze_turns):
            raise p.fail("priorities", "Must be of matching length to analyzeTurns")
        for turn, priority in zip(analyze_turns, values):
            if not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
                raise p.fail("priorities", f"Invalid priority: {priority}")
            priorities[turn] = priority

    rules = _parse_query_rules(obj, p)
    options = QueryOptions(params=ctx.default_params, perspective=ctx.default_perspective,
                           analysis_pv_len=ctx.analysis_pv_len)
    _parse_settings(obj, p, ctx, options, warnings)
    _parse_avoid_allow(obj, p, xs, ys, options)

    board = Board(xs, ys)
    for pla, point in placements:
        board.set_stone(point, pla)
    if initial_player is None:
        if moves:
            initial_player = moves[0][0]
        else:
            initial_player = WHITE if _handicap_stones_on_board(board) > 0 else BLACK

    supported, ok = ctx.supported_rules(rules)
    if not ok:
        warnings.append(warning_json(qid, "rules", f"Rules {rules} not supported by neural net, "
                                                   f"using {supported} instead"))
        rules = supported

    if ctx.warn_unused_fields:
        for key in sorted(obj):
            if key not in EXPECTED_KEYS:
                warnings.append(warning_json(
                    qid, key, "Unexpected or unused field, do you have a typo? (set "
                              "warnUnusedFields=false in the config to disable this warning)"))

    return ParsedQuery(qid, _replay(qid, board, initial_player, rules, moves, set(analyze_turns),
                                    priorities, options, ctx), warnings)


def _parse_query_rules(obj: dict, p: _FieldParser) -> Rules:
    """rules, then komi and whiteHandicapBonus on top, with KataGo's messages."""
    if "rules" not in obj:
        raise p.fail("rules", _RULES_NEEDED)
    value = obj["rules"]
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict):
        text = dump_json(value)
    else:
        raise p.fail("rules", _RULES_NEEDED)
    try:
        rules = parse_rules(text)
    except RulesError:
        raise p.fail("rules", "Could not parse rules: " + text) from None
    # KataGo checks komi and whiteHandicapBonus right after the rules, before any setting.
    if "komi" in obj:
        komi = p.number(obj, "komi", -400.0, 400.0, _KOMI)
        komi = float(np.float32(komi))  # KataGo keeps komi in a float
        if komi * 2 != math.floor(komi * 2):
            raise p.fail("komi", _KOMI)
        rules = rules.with_komi(komi)
    if "whiteHandicapBonus" in obj:
        text = obj["whiteHandicapBonus"]
        if not isinstance(text, str):
            raise p.fail("whiteHandicapBonus", "Must be a string")
        whb = {"0": WhiteHandicapBonus.ZERO, "N": WhiteHandicapBonus.N,
               "N-1": WhiteHandicapBonus.N_MINUS_ONE}.get(text)
        if whb is None:
            raise p.fail("whiteHandicapBonus", "Rules::parseWhiteHandicapBonusRule: Invalid "
                                               "whiteHandicapBonus rule: " + text)
        rules = dataclasses.replace(rules, white_handicap_bonus=whb)
    return rules


def _parse_settings(obj: dict, p: _FieldParser, ctx: QueryContext, options: QueryOptions,
                    warnings: list) -> None:
    if "overrideSettings" in obj:
        settings = obj["overrideSettings"]
        if not isinstance(settings, dict):
            raise p.fail("overrideSettings", "Must be an object")
        if settings:
            as_text = {k: v if isinstance(v, str) else dump_json(v) for k, v in settings.items()}
            if ctx.override is None:
                unknown = sorted(as_text)
            else:
                try:
                    options.params, options.perspective, unknown = ctx.override(as_text)
                except ValueError as e:
                    raise p.fail("overrideSettings", f"Could not set settings: {e}") from None
            if unknown:
                warnings.append(warning_json(p.id, "overrideSettings",
                                             "Unknown config params: " + ",".join(unknown)))

    if "maxVisits" in obj:
        visits = p.integer(obj, "maxVisits", 1, 1 << 50, "Must be an integer from 1 to 2^50")
        options.params = ctx.set_param(options.params, "maxVisits", visits)
    if "analysisPVLen" in obj:
        options.analysis_pv_len = p.integer(obj, "analysisPVLen", 1, 1000,
                                            "Must be an integer from 1 to 1000")
    if "rootFpuReductionMax" in obj:
        value = p.number(obj, "rootFpuReductionMax", 0.0, 2.0, "Must be a number from 0.0 to 2.0")
        options.params = ctx.set_param(options.params, "rootFpuReductionMax", value)
    if "rootPolicyTemperature" in obj:
        value = p.number(obj, "rootPolicyTemperature", 0.01, 100.0,
                         "Must be a number from 0.01 to 100.0")
        options.params = ctx.set_param(options.params, "rootPolicyTemperature", value)
        options.params = ctx.set_param(options.params, "rootPolicyTemperatureEarly", value)
    for name, attr in (("includeMovesOwnership", "include_moves_ownership"),
                       ("includeMovesOwnershipStdev", "include_moves_ownership_stdev"),
                       ("includeOwnership", "include_ownership"),
                       ("includeOwnershipStdev", "include_ownership_stdev"),
                       ("includePolicy", "include_policy"),
                       ("includePVVisits", "include_pv_visits"),
                       ("includeNoResultValue", "include_no_result_value")):
        if name in obj:
            setattr(options, attr, p.boolean(obj, name))
    seconds = "Must be number of seconds from 0.001 to 1000000.0"
    if "reportDuringSearchEvery" in obj:
        options.report_every = p.number(obj, "reportDuringSearchEvery", 0.001, 1e6, seconds)
        options.first_report_after = options.report_every
    if "firstReportDuringSearchAfter" in obj:
        options.first_report_after = p.number(obj, "firstReportDuringSearchAfter", 0.001, 1e6,
                                              seconds)
        if options.report_every is None:
            options.report_every = 1e30  # KataGo: one report after the first delay, then none
    if "priority" in obj:
        if "priorities" in obj:
            raise p.fail("priority", "Cannot specify both priority and priorities")
        options.priority = p.integer(obj, "priority", -MAX_PRIORITY, MAX_PRIORITY,
                                     "Must be a number between -2^62 and 2^62")


def _parse_avoid_allow(obj: dict, p: _FieldParser, xs: int, ys: int,
                       options: QueryOptions) -> None:
    has_allow, has_avoid = "allowMoves" in obj, "avoidMoves" in obj
    if not (has_allow or has_avoid):
        return
    if has_allow and has_avoid:
        raise p.fail("allowMoves", "Cannot specify both allowMoves and avoidMoves")
    name = "allowMoves" if has_allow else "avoidMoves"
    entries = obj[name]
    if not isinstance(entries, list):
        raise p.fail(name, _AVOID_SHAPE)
    if has_allow and len(entries) > 2:
        raise p.fail(name, "Currently allowMoves only allows at most one entry per player")
    for entry in entries:
        if not isinstance(entry, dict) or not {"moves", "untilDepth", "player"} <= entry.keys():
            raise p.fail(name, _AVOID_SHAPE)
        pla = p.player(entry, "player")
        points = p.locations(entry, "moves", xs, ys)
        depth = p.integer(entry, "untilDepth", 1, 1_000_000_000, "Must be a positive integer")
        if has_allow:
            if pla in options.allow_moves:
                raise p.fail(name, "Cannot specify allowMoves more than once for the same player")
            options.allow_moves[pla] = (set(points), depth)
        else:
            per_player = options.avoid_moves.setdefault(pla, {})
            for point in points:
                per_player[point] = depth


def _handicap_stones_on_board(board: Board) -> int:
    """KataGo's count: black stones of a setup without white ones, when there are at least two."""
    stones = board.stones()
    if (stones == WHITE).any():
        return 0
    black = int((stones == BLACK).sum())
    return black if black > 1 else 0


def restart_history(history: History, pla: int, rules: Rules, assume_handicap: bool,
                    prevent_encore: bool) -> History:
    """KataGo's hist.clear(board, pla, ...): the game restarts from the current board with `pla`
    to move (what happens when a query's moves do not alternate)."""
    return History(rules, board=history.board, pla=pla, prevent_encore=prevent_encore,
                   leading_black_moves_are_handicap=assume_handicap,
                   encore_phase=history.encore_phase,
                   second_encore_start=history.second_encore_start_colors()
                   if history.encore_phase >= 2 else None)


def _replay(qid: str, board: Board, initial_player: int, rules: Rules, moves: list,
            analyze: set, priorities: dict, options: QueryOptions, ctx: QueryContext) -> list:
    """Play the moves, keeping a copy of the game at each turn to analyze."""
    assume = ctx.assume_multiple_starting_black_moves_are_handicap
    history = History(rules, board=board, pla=initial_player, prevent_encore=ctx.prevent_encore,
                      leading_black_moves_are_handicap=assume)
    turns = []
    for turn in range(len(moves) + 1):
        if turn in analyze:
            turns.append(TurnRequest(qid, turn, priorities.get(turn, options.priority),
                                     history.copy(), options))
        if turn == len(moves):
            break
        pla, point = moves[turn]
        if pla != history.next_player:
            history = restart_history(history, pla, rules, assume, ctx.prevent_encore)
        if not history.is_playable(point, pla):
            raise QueryError(f"Illegal move {turn}: "
                             f"{format_location(point, board.x_size, board.y_size)}", qid, "moves")
        history.play(point, pla)
    return turns


def supported_rules_for_model_version(version: int) -> Callable[[Rules], tuple]:
    """KataGo's ModelDesc::getSupportedRules: nets before version 7 know only area scoring with
    superko and no tax or button; later nets lack only Spight ko."""
    def convert(rules: Rules) -> tuple:
        changes: dict = {}
        if version <= 6:
            if rules.ko_rule in (KoRule.SIMPLE, KoRule.SPIGHT):
                changes["ko_rule"] = KoRule.SITUATIONAL
            if rules.scoring_rule == ScoringRule.TERRITORY:
                changes["scoring_rule"] = ScoringRule.AREA
            if rules.tax_rule != TaxRule.NONE:
                changes["tax_rule"] = TaxRule.NONE
            if rules.has_button:
                changes["has_button"] = False
        elif rules.ko_rule == KoRule.SPIGHT:
            changes["ko_rule"] = KoRule.SITUATIONAL
        if not changes:
            return rules, True
        return dataclasses.replace(rules, **changes), False
    return convert
