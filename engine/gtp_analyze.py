"""The analysis commands' arguments and `info` lines, in KataGo v1.17.2's exact formats.

GUIs (Lizzie, Sabaki, KaTrain, q5Go...) parse these lines, so the field order, the spelling and the
number formatting follow KataGo character for character:

* Numbers are printed the way C++ iostreams print a double by default: 6 significant digits, `%g`
  style (`0.480018`, `24.7058`, `6.99462e-06`, `3` for 3.0, `-1`). Counts (visits, order) are
  integers. The Sabaki flavour (`analyze`, `genmove_analyze`) sets showpoint, so every double keeps
  its trailing zeros and decimal point (`3.00000`, `0.480018`).
* `lz-analyze` prints winrate, prior and lcb as 10000 times the value rounded half away from zero,
  still as doubles (so a tiny negative LCB prints as `-0`).
* Values are from the side to move's point of view unless `reportAnalysisWinratesAs` says BLACK or
  WHITE. `scoreMean` repeats `scoreLead` (KataGo keeps the old name for old tools); the tree's mean
  score goes to `scoreSelfplay`. `lcb` is KataGo's winrate-scaled LCB, `utilityLcb` the real one.
  `weight` is the child node's whole weight (not the weight through the edge, which only the JSON
  engine prints, as edgeWeight); `noResultValue` (an undocumented key) the move's average
  no-result probability.
* A PV that contains a pass is cut after the move that would end the current game phase when
  preventCleanupPhase is on (KataGo's writePVUpToPhaseEnd); pvVisits/pvEdgeVisits follow the cut.

KataGo quirks kept on purpose: its zero-visit filter receives its list by value and so filters
nothing (moves without visits are printed when the search reports them, e.g. those `minmoves`
asks for); and the keys `rootInfo`, `ownership`... are only accepted by the kata- commands, not by
the Sabaki ones, even though the extension document says they behave like kata-analyze.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Optional

from goloop.common.go.coords import point_to_gtp
from goloop.common.search.reports import Analysis, Move, MoveInfo
from goloop.engine.gtp_protocol import GtpError, parse_vertex

BLACK, WHITE = 1, 2

# KataGo's TimeControls constants: no interval means no periodic report at all, and times a user
# can type are capped.
UNLIMITED_INTERVAL_CENTISECONDS = 1e30
MAX_USER_INPUT_TIME = 1e25
MAX_COUNT = 1_000_000_000

LZ_COMMANDS = ("lz-analyze", "lz-genmove_analyze")
KATA_COMMANDS = ("kata-analyze", "kata-genmove_analyze", "kata-search_analyze",
                 "kata-search_analyze_cancellable")
PERSPECTIVES = ("BLACK", "WHITE", "SIDETOMOVE")


@dataclass(frozen=True)
class AnalyzeArgs:
    """What an analysis command asked for (KataGo's AnalyzeArgs)."""

    style: str
    """'lz' (lz-analyze format), 'kata' (kata-analyze format) or 'sabaki' (kata format with
    showpoint, for `analyze` / `genmove_analyze`)."""
    seconds_per_report: float = UNLIMITED_INTERVAL_CENTISECONDS * 0.01
    """Interval between info lines; the first comes after one interval. Huge = never."""
    min_moves: int = 0
    """Report at least this many moves, filling with unsearched ones by policy if needed."""
    max_moves: int = 10_000_000
    """Report at most this many moves."""
    root_info: bool = False
    ownership: bool = False
    ownership_stdev: bool = False
    moves_ownership: bool = False
    moves_ownership_stdev: bool = False
    pv_visits: bool = False
    pv_edge_visits: bool = False
    no_result_value: bool = False
    """An undocumented KataGo key: also print each move's noResultValue."""
    avoid: dict = field(default_factory=dict)
    """{colour: {move: until_depth}} from `avoid`: that colour may not play the move at fewer than
    until_depth plies below the root (1 = only as the root move). The Searcher's format."""
    allow: dict = field(default_factory=dict)
    """{colour: (frozenset of moves, until_depth)} from `allow`: every other point and pass is
    avoided so for that colour. The Searcher's format."""

    @property
    def wants_ownership(self) -> bool:
        return self.ownership or self.ownership_stdev or self.moves_ownership or self.moves_ownership_stdev

    @property
    def callback_interval(self) -> Optional[float]:
        """Seconds between reports for the search callback, None when there are none (KataGo skips
        the report loop for periods of 10^7 seconds and more)."""
        return None if self.seconds_per_report >= 1e7 else self.seconds_per_report


def _parse_number(text: str) -> Optional[float]:
    """A double the way KataGo's tryStringToDouble reads it: decimal notation only (no nan, inf,
    hex or underscores)."""
    t = text.strip()
    if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", t) or len(t) > 400:
        return None
    return float(t)


def _parse_count(text: str) -> Optional[int]:
    t = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", t) or len(t.lstrip("+-")) > 10:
        return None
    value = int(t)
    return value if -2**31 <= value < 2**31 else None


def _parse_player(text: str) -> Optional[int]:
    return {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}.get(text.lower())


def _parse_bool(text: str) -> Optional[bool]:
    return {"true": True, "false": False}.get(text.strip().lower())


def _valid_interval(value: Optional[float]) -> bool:
    return value is not None and 0 <= value < MAX_USER_INPUT_TIME


def parse_analyze_args(command: str, args: list[str], default_pla: int, x_size: int,
                       y_size: int) -> tuple[int, AnalyzeArgs]:
    """(player, AnalyzeArgs) for `[player] [interval] key value ...`, as KataGo parses them.

    Raises GtpError with KataGo's message (naming the arguments) for anything it would refuse:
    a key without a value, an unknown key, a value out of range, a bad avoid/allow spec, `allow`
    twice or mixed with `avoid` for one player, or a kata-only key on another command."""
    genmove = "genmove" in command or "search" in command
    what = "genmove_analyze" if genmove else "analyze"
    failure = GtpError(f"Could not parse {what} arguments or arguments out of range: '{' '.join(args)}'")
    is_lz = command in LZ_COMMANDS
    is_kata = command in KATA_COMMANDS
    style = "lz" if is_lz else "kata" if is_kata else "sabaki"

    i = 0
    pla = default_pla
    if i < len(args) and _parse_player(args[i]) is not None:
        pla = _parse_player(args[i])
        i += 1
    interval = UNLIMITED_INTERVAL_CENTISECONDS
    if i < len(args) and _valid_interval(_parse_number(args[i])):
        interval = _parse_number(args[i])
        i += 1

    opts: dict = {}
    avoid: dict[int, dict[Move, int]] = {}
    allow: dict[int, tuple[frozenset, int]] = {}
    kata_flags = {"rootInfo": "root_info", "ownership": "ownership",
                  "ownershipStdev": "ownership_stdev", "movesOwnership": "moves_ownership",
                  "movesOwnershipStdev": "moves_ownership_stdev", "pvVisits": "pv_visits",
                  "pvEdgeVisits": "pv_edge_visits", "noResultValue": "no_result_value"}
    while i < len(args):
        key = args[i]
        if i + 1 >= len(args):
            raise failure
        value = args[i + 1]
        i += 2
        if key == "interval" and _valid_interval(_parse_number(value)):
            interval = _parse_number(value)
        elif key in ("avoid", "allow"):
            if i + 2 > len(args):
                raise failure
            moves_text, depth_text = args[i], args[i + 1]
            i += 2
            depth = _parse_count(depth_text)
            color = _parse_player(value)
            if depth is None or depth < 1 or color is None:
                raise failure
            moves = []
            for piece in moves_text.split(","):
                piece = piece.strip()
                if not piece:
                    continue
                try:
                    moves.append(parse_vertex(piece, x_size, y_size))
                except GtpError:
                    raise failure from None
            # KataGo refuses `allow` twice for one colour, and `avoid` with `allow` for one colour;
            # repeated `avoid`s add up (a later depth for the same move wins).
            if (key == "allow" and (color in avoid or color in allow)) or \
                    (key == "avoid" and color in allow):
                raise failure
            if key == "allow":
                allow[color] = (frozenset(moves), depth)
            else:
                avoid.setdefault(color, {}).update((move, depth) for move in moves)
        elif key in ("minmoves", "maxmoves") and _parse_count(value) is not None \
                and 0 <= _parse_count(value) < MAX_COUNT:
            opts["min_moves" if key == "minmoves" else "max_moves"] = _parse_count(value)
        elif is_kata and key in kata_flags and _parse_bool(value) is not None:
            opts[kata_flags[key]] = _parse_bool(value)
        else:
            raise failure
    return pla, AnalyzeArgs(style=style, seconds_per_report=interval * 0.01, avoid=avoid,
                            allow=allow, **opts)


# ------------------------------------------------------------------------------------------------
# Numbers


def cpp_double(x: float, showpoint: bool = False) -> str:
    """`x` as C++ `ostream << double` prints it by default (`%g`, 6 significant digits), or with
    std::showpoint (`%#g`). nan and inf come out as glibc prints them."""
    x = float(x)
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, "#.6g" if showpoint else ".6g")


def cpp_round(x: float) -> float:
    """C's round(): half away from zero, keeping the sign of zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


# ------------------------------------------------------------------------------------------------
# Lines


def flips_to_black(perspective: str, pla: int) -> bool:
    """Whether values (stored from White's view) are printed negated: for BLACK, or for
    SIDETOMOVE when Black is to move."""
    return perspective == "BLACK" or (perspective not in ("BLACK", "WHITE") and pla == BLACK)


def pv_length_up_to_phase_end(pv: list, history) -> int:
    """How many PV moves KataGo prints when preventCleanupPhase is on and the PV holds a pass:
    up to and including the move that changes the game phase (as the search's own, non-preventing
    history sees it)."""
    if history is None or all(m is not None for m in pv):
        return len(pv)
    h = history.copy()
    h.prevent_encore = False
    phase = h.encore_phase
    pla = h.next_player
    for j, move in enumerate(pv):
        try:
            h.play(move, pla)
        except ValueError:  # a PV move the rules refuse: KataGo plays it blindly, so keep it
            return len(pv)
        pla = 3 - pla
        if h.encore_phase != phase:
            return j + 1
    return len(pv)


def _vertex(move: Move, x_size: int, y_size: int) -> str:
    return point_to_gtp(move, x_size, y_size)


def _cut_pv(info: MoveInfo, history, prevent_encore: bool, pv_len: Optional[int]) -> int:
    n = len(info.pv)
    if pv_len is not None:
        n = min(n, 1 + pv_len)
    if prevent_encore and any(m is None for m in info.pv[:n]):
        n = min(n, pv_length_up_to_phase_end(info.pv[:n], history))
    return n


def format_lz_line(analysis: Analysis, args: AnalyzeArgs, pla: int, perspective: str,
                   x_size: int, y_size: int, history=None, prevent_encore: bool = True,
                   pv_len: Optional[int] = None) -> Optional[str]:
    """One `lz-analyze` output line (without newline), None when there is nothing to report."""
    moves = analysis.moves[:args.max_moves]
    if not moves:
        return None
    flip = flips_to_black(perspective, pla)
    parts = []
    for info in moves:
        winrate = info.white_winrate
        lcb = info.white_lcb
        if flip:
            winrate, lcb = 1.0 - winrate, 1.0 - lcb
        n = _cut_pv(info, history, prevent_encore, pv_len)
        fields = [
            "info", "move", _vertex(info.move, x_size, y_size),
            "visits", str(info.visits),
            "winrate", cpp_double(cpp_round(winrate * 10000.0)),
            "prior", cpp_double(cpp_round(info.prior * 10000.0)),
            "lcb", cpp_double(cpp_round(lcb * 10000.0)),
            "order", str(info.order),
            "pv", " ".join(_vertex(m, x_size, y_size) for m in info.pv[:n]),
        ]
        if args.pv_visits:
            fields += ["pvVisits", " ".join(str(v) for v in info.pv_visits[:n])]
        if args.pv_edge_visits:
            fields += ["pvEdgeVisits", " ".join(str(v) for v in info.pv_edge_visits[:n])]
        parts.append(" ".join(fields))
    return " ".join(parts)


def format_kata_line(analysis: Analysis, args: AnalyzeArgs, pla: int, perspective: str,
                     x_size: int, y_size: int, history=None, prevent_encore: bool = True,
                     pv_len: Optional[int] = None) -> Optional[str]:
    """One `kata-analyze` (or Sabaki `analyze`) output line without newline; None when KataGo
    would print nothing (no root values yet, or no move to report)."""
    if analysis.root is None:
        return None
    moves = analysis.moves[:args.max_moves]
    if not moves:
        return None
    showpoint = args.style == "sabaki"
    flip = flips_to_black(perspective, pla)
    sign = -1.0 if flip else 1.0

    def d(x: float) -> str:
        return cpp_double(x, showpoint)

    def grid(values) -> str:
        return " ".join(d(v) for v in _row_major(values, x_size, y_size))

    out = []
    for info in moves:
        winrate = info.white_winrate
        lcb = info.white_lcb
        if flip:
            winrate, lcb = 1.0 - winrate, 1.0 - lcb
        lead = sign * info.white_lead
        n = _cut_pv(info, history, prevent_encore, pv_len)
        fields = [
            "info", "move", _vertex(info.move, x_size, y_size),
            "visits", str(info.visits),
            "edgeVisits", str(info.edge_visits),
            "utility", d(sign * info.white_utility),
            "winrate", d(winrate),
            "scoreMean", d(lead),
            "scoreStdev", d(info.white_score_stdev),
            "scoreLead", d(lead),
            "scoreSelfplay", d(sign * info.white_score_mean),
        ]
        if args.no_result_value and info.no_result_value is not None:
            fields += ["noResultValue", d(info.no_result_value)]
        fields += [
            "prior", d(info.prior),
            "lcb", d(lcb),
            "utilityLcb", d(sign * info.white_utility_lcb),
            "weight", d(info.weight if info.child_weight is None else info.child_weight),
        ]
        if info.is_symmetry_of is not None:
            fields += ["isSymmetryOf", _vertex(info.is_symmetry_of, x_size, y_size)]
        fields += ["order", str(info.order),
                   "pv", " ".join(_vertex(m, x_size, y_size) for m in info.pv[:n])]
        if args.pv_visits:
            fields += ["pvVisits", " ".join(str(v) for v in info.pv_visits[:n])]
        if args.pv_edge_visits:
            fields += ["pvEdgeVisits", " ".join(str(v) for v in info.pv_edge_visits[:n])]
        if args.moves_ownership:
            own = info.ownership
            fields += ["movesOwnership", grid(sign * _array(own, x_size, y_size))]
        if args.moves_ownership_stdev:
            fields += ["movesOwnershipStdev", grid(_array(info.ownership_stdev, x_size, y_size))]
        out.append(" ".join(fields))
    line = " ".join(out)

    if args.root_info:
        root = analysis.root
        winrate = root.white_winrate if not flip else 1.0 - root.white_winrate
        lead = sign * root.white_lead
        fields = [
            "rootInfo",
            "visits", str(root.visits),
            "utility", d(sign * root.white_utility),
            "winrate", d(winrate),
            "scoreMean", d(lead),
            "scoreStdev", d(root.white_score_stdev),
            "scoreLead", d(lead),
            "scoreSelfplay", d(sign * root.white_score_mean),
            "weight", d(root.weight),
            "rawStWrError", d(root.raw_st_winloss_error),
            "rawStScoreError", d(root.raw_st_score_error),
            "rawVarTimeLeft", d(root.raw_var_time_left),
        ]
        line += " " + " ".join(fields)
    if args.ownership:
        line += " ownership " + grid(sign * _array(analysis.ownership, x_size, y_size))
    if args.ownership_stdev:
        line += " ownershipStdev " + grid(_array(analysis.ownership_stdev, x_size, y_size))
    return line


def format_analysis_line(analysis: Analysis, args: AnalyzeArgs, pla: int, perspective: str,
                         x_size: int, y_size: int, history=None, prevent_encore: bool = True,
                         pv_len: Optional[int] = None) -> Optional[str]:
    """The line for `args.style` (lz or kata/sabaki)."""
    if args.style == "lz":
        return format_lz_line(analysis, args, pla, perspective, x_size, y_size, history,
                              prevent_encore, pv_len)
    return format_kata_line(analysis, args, pla, perspective, x_size, y_size, history,
                            prevent_encore, pv_len)


def _array(values, x_size: int, y_size: int):
    """A (Y, X) map as a numpy array; zeros when the search did not provide one (KataGo always
    has it when asked; a missing map is a search bug and must not crash the report)."""
    import numpy as np
    if values is None:
        return np.zeros((y_size, x_size))
    return np.asarray(values, dtype=np.float64).reshape(y_size, x_size)


def _row_major(values, x_size: int, y_size: int):
    return [float(v) for v in values.reshape(-1)[: x_size * y_size]]
