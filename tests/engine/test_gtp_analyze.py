"""goloop.engine.gtp_analyze and the streaming analysis commands.

The formatter is checked against every `kata-search_analyze` line KataGo printed in
shared/reference/search_*.json: fed the same numbers (as an Analysis), it must print the same
line byte for byte. Argument parsing is checked against KataGo's acceptance rules, and the
streaming commands are driven through the real command loop with a pipe as stdin, a thread
writing commands with delays, as a GUI would.
"""
from __future__ import annotations

import glob
import json
import os
import pathlib
import threading
import time

import numpy as np
import pytest

from goloop.common.go.coords import gtp_to_point
from goloop.common.go.history import History
from goloop.common.go.rules import parse_rules
from goloop.common.search.reports import Analysis, MoveInfo, RootInfo
from goloop.engine.gtp import serve
from goloop.engine.gtp_analyze import (
    AnalyzeArgs,
    cpp_double,
    format_kata_line,
    format_lz_line,
    parse_analyze_args,
    pv_length_up_to_phase_end,
)
from goloop.engine.gtp_protocol import GtpError

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
REFERENCE_FILES = sorted(glob.glob(str(SHARED / "reference" / "search_*.json")))


# ------------------------------------------------------------------------------------------------
# Building Analysis objects

def analysis_from_reference(ref: dict, search: dict) -> tuple[Analysis, int]:
    """The Analysis behind a reference search (KataGo printed side-to-move values; ours are
    White's view)."""
    n = ref["board_size"]
    pla = 1 if ref["next_player"] == "Black" else 2
    s = -1.0 if pla == 1 else 1.0

    def wr(x):
        return x if pla == 2 else 1.0 - x

    moves = []
    for m in search["move_infos"]:
        moves.append(MoveInfo(
            move=gtp_to_point(m["move"], n, n), visits=m["visits"], edge_visits=m["edgeVisits"],
            weight=m["weight"], prior=m["prior"], white_utility=s * m["utility"],
            white_winrate=wr(m["winrate"]), white_score_mean=s * m["scoreSelfplay"],
            white_score_stdev=m["scoreStdev"], white_lead=s * m["scoreLead"], white_lcb=wr(m["lcb"]),
            white_utility_lcb=s * m["utilityLcb"], order=m["order"],
            pv=[gtp_to_point(v, n, n) for v in m["pv"]], pv_visits=m["pvVisits"],
            pv_edge_visits=m["pvEdgeVisits"],
            is_symmetry_of=gtp_to_point(m["isSymmetryOf"], n, n) if "isSymmetryOf" in m else None))
    r = search["root"]
    root = RootInfo(visits=r["visits"], weight=r["weight"], white_utility=s * r["utility"],
                    white_winrate=wr(r["winrate"]), white_score_mean=s * r["scoreSelfplay"],
                    white_score_stdev=r["scoreStdev"], white_lead=s * r["scoreLead"],
                    raw_white_winrate=0.5, raw_white_lead=0.0, raw_white_score_mean=0.0,
                    raw_no_result=0.0, raw_st_winloss_error=r["rawStWrError"],
                    raw_st_score_error=r["rawStScoreError"], raw_var_time_left=r["rawVarTimeLeft"],
                    next_player=pla)
    return Analysis(root=root, moves=moves), pla


def small_analysis(size=3, white_winrate=0.75, lead=2.5) -> Analysis:
    moves = [
        MoveInfo(move=(1, 1), visits=10, edge_visits=10, weight=10.0, prior=0.5,
                 white_utility=0.4, white_winrate=white_winrate, white_score_mean=2.0,
                 white_score_stdev=5.0, white_lead=lead, white_lcb=0.7, white_utility_lcb=0.3,
                 order=0, pv=[(1, 1), (0, 0)], pv_visits=[10, 4], pv_edge_visits=[10, 3],
                 ownership=np.arange(size * size, dtype=float).reshape(size, size) / 10.0,
                 ownership_stdev=np.full((size, size), 0.25)),
        MoveInfo(move=None, visits=0, edge_visits=0, weight=0.0, prior=0.00003,
                 white_utility=-0.1, white_winrate=0.99995, white_score_mean=1.0,
                 white_score_stdev=4.0, white_lead=1.0, white_lcb=1.00004, white_utility_lcb=0.0,
                 order=1, pv=[None], pv_visits=[0], pv_edge_visits=[0],
                 ownership=np.zeros((size, size)), ownership_stdev=np.zeros((size, size))),
    ]
    root = RootInfo(visits=11, weight=11.0, white_utility=0.35, white_winrate=0.7,
                    white_score_mean=1.5, white_score_stdev=6.0, white_lead=2.0,
                    raw_white_winrate=0.6, raw_white_lead=1.0, raw_white_score_mean=1.0,
                    raw_no_result=0.0, raw_st_winloss_error=0.125, raw_st_score_error=1.5,
                    raw_var_time_left=-1.0, next_player=1)
    own = np.linspace(-1, 1, size * size).reshape(size, size)
    return Analysis(root=root, moves=moves, ownership=own, ownership_stdev=np.full((size, size), 0.5))


# ------------------------------------------------------------------------------------------------
# Formatting

@pytest.mark.parametrize("path", REFERENCE_FILES, ids=lambda p: pathlib.Path(p).stem)
def test_kata_lines_match_katago_reference(path):
    ref = json.loads(pathlib.Path(path).read_text())
    n = ref["board_size"]
    assert ref["perspective"] == "side_to_move"
    for search in ref["searches"]:
        analysis, pla = analysis_from_reference(ref, search)
        command = search["command"].split()
        parsed_pla, args = parse_analyze_args(command[0], command[1:], pla, n, n)
        assert parsed_pla == pla and args.root_info and args.pv_visits and args.pv_edge_visits
        line = format_kata_line(analysis, args, pla, "SIDETOMOVE", n, n)
        assert line == search["raw_final_info_line"]


def test_reference_lines_from_another_perspective():
    """BLACK/WHITE perspectives flip exactly the values KataGo flips (not stdevs, priors, weights)."""
    ref = json.loads(pathlib.Path(REFERENCE_FILES[0]).read_text())
    search = ref["searches"][0]
    analysis, pla = analysis_from_reference(ref, search)
    assert pla == 1
    args = AnalyzeArgs(style="kata", root_info=True)
    n = ref["board_size"]
    as_black = format_kata_line(analysis, args, pla, "BLACK", n, n)
    as_white = format_kata_line(analysis, args, pla, "WHITE", n, n)
    side = format_kata_line(analysis, args, pla, "SIDETOMOVE", n, n)
    assert as_black == side
    first = search["move_infos"][0]
    fields = dict(zip(as_white.split()[1:29:2], as_white.split()[2:30:2]))
    assert fields["winrate"] == cpp_double(1.0 - first["winrate"])
    assert fields["scoreLead"] == cpp_double(-first["scoreLead"]) == fields["scoreMean"]
    assert fields["scoreStdev"] == cpp_double(first["scoreStdev"])
    assert fields["prior"] == cpp_double(first["prior"])
    assert fields["utilityLcb"] == cpp_double(-first["utilityLcb"])


def test_cpp_double_formats_like_iostream():
    assert cpp_double(3.0) == "3"
    assert cpp_double(-1.0) == "-1"
    assert cpp_double(0.4801234567) == "0.480123"
    assert cpp_double(24.70584) == "24.7058"
    assert cpp_double(6.994621e-06) == "6.99462e-06"
    assert cpp_double(1234567.0) == "1.23457e+06"
    assert cpp_double(-0.0) == "-0"
    assert cpp_double(3.0, showpoint=True) == "3.00000"
    assert cpp_double(0.5, showpoint=True) == "0.500000"
    assert cpp_double(6.994621e-06, showpoint=True) == "6.99462e-06"


def test_kata_line_with_every_block():
    a = small_analysis()
    args = AnalyzeArgs(style="kata", root_info=True, ownership=True, ownership_stdev=True,
                       moves_ownership=True, moves_ownership_stdev=True, pv_visits=True,
                       pv_edge_visits=True)
    line = format_kata_line(a, args, 2, "SIDETOMOVE", 3, 3)  # white to move: no flips
    first, second = line.split(" info ")
    assert first.startswith(
        "info move B2 visits 10 edgeVisits 10 utility 0.4 winrate 0.75 scoreMean 2.5 scoreStdev 5 "
        "scoreLead 2.5 scoreSelfplay 2 prior 0.5 lcb 0.7 utilityLcb 0.3 weight 10 order 0 "
        "pv B2 A3 pvVisits 10 4 pvEdgeVisits 10 3 movesOwnership 0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 "
        "movesOwnershipStdev 0.25 0.25")
    assert second.startswith("move pass visits 0 edgeVisits 0 ")
    assert " prior 3e-05 lcb 1.00004 " in second and " order 1 pv pass pvVisits 0 pvEdgeVisits 0 " in second
    rest = second.split(" rootInfo ")[1]
    assert rest.startswith("visits 11 utility 0.35 winrate 0.7 scoreMean 2 scoreStdev 6 scoreLead 2 "
                           "scoreSelfplay 1.5 weight 11 rawStWrError 0.125 rawStScoreError 1.5 "
                           "rawVarTimeLeft -1 ownership -1 -0.75 -0.5 -0.25 0 0.25 0.5 0.75 1 "
                           "ownershipStdev 0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5")
    assert line.endswith("ownershipStdev 0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5")
    # Black's view negates ownership maps (not their stdevs) and the moves' values.
    black = format_kata_line(a, args, 2, "BLACK", 3, 3)
    assert " ownership 1 0.75 0.5 0.25 -0 -0.25 -0.5 -0.75 -1 " in black
    assert "movesOwnership -0 -0.1 -0.2" in black and "winrate 0.25 " in black


def test_kata_line_weight_is_the_child_weight_and_no_result_value_is_the_moves():
    """KataGo prints the child node's whole weight as `weight` (the edge weight differs for a
    transposition) and, with noResultValue true, each move's own no-result value."""
    a = small_analysis()
    a.moves[0].child_weight = 12.5
    a.moves[0].no_result_value = 4.196e-05
    a.moves[1].child_weight = 0.0
    a.moves[1].no_result_value = 0.0
    line = format_kata_line(a, AnalyzeArgs(style="kata", no_result_value=True), 2, "SIDETOMOVE", 3, 3)
    first, second = line.split(" info ")
    assert " scoreSelfplay 2 noResultValue 4.196e-05 prior 0.5 " in first
    assert " utilityLcb 0.3 weight 12.5 order 0 " in first
    assert " noResultValue 0 prior 3e-05 " in second and " weight 0 order 1 " in second
    # Without the flag, or from a searcher that did not say, the key is left out.
    assert "noResultValue" not in format_kata_line(a, AnalyzeArgs(style="kata"), 2, "SIDETOMOVE", 3, 3)
    plain = small_analysis()
    line = format_kata_line(plain, AnalyzeArgs(style="kata", no_result_value=True), 2, "SIDETOMOVE", 3, 3)
    assert "noResultValue" not in line and " weight 10 order 0 " in line


def test_sabaki_format_keeps_decimal_points():
    a = small_analysis()
    line = format_kata_line(a, AnalyzeArgs(style="sabaki"), 2, "SIDETOMOVE", 3, 3)
    assert line.startswith("info move B2 visits 10 edgeVisits 10 utility 0.400000 winrate 0.750000 "
                           "scoreMean 2.50000 scoreStdev 5.00000 scoreLead 2.50000 scoreSelfplay "
                           "2.00000 prior 0.500000 lcb 0.700000 utilityLcb 0.300000 weight 10.0000 "
                           "order 0 pv B2 A3 info move pass")


def test_lz_format():
    a = small_analysis()
    line = format_lz_line(a, AnalyzeArgs(style="lz"), 1, "SIDETOMOVE", 3, 3)
    assert line == ("info move B2 visits 10 winrate 2500 prior 5000 lcb 3000 order 0 pv B2 A3 "
                    "info move pass visits 0 winrate 0 prior 0 lcb -0 order 1 pv pass")
    white = format_lz_line(a, AnalyzeArgs(style="lz"), 1, "WHITE", 3, 3)
    assert white.startswith("info move B2 visits 10 winrate 7500 prior 5000 lcb 7000 ")
    assert "winrate 10000 prior 0 lcb 10000 " in white


def test_max_moves_and_nothing_to_report():
    a = small_analysis()
    line = format_kata_line(a, AnalyzeArgs(style="kata", max_moves=1), 2, "WHITE", 3, 3)
    assert line.count("info ") == 1
    assert format_kata_line(a, AnalyzeArgs(style="kata", max_moves=0), 2, "WHITE", 3, 3) is None
    assert format_kata_line(Analysis(root=None, moves=a.moves), AnalyzeArgs(style="kata"), 2,
                            "WHITE", 3, 3) is None
    assert format_lz_line(Analysis(root=None, moves=[]), AnalyzeArgs(style="lz"), 2, "WHITE", 3, 3) is None


def test_pv_length_and_phase_end_cut():
    a = small_analysis()
    a.moves[0].pv = [(1, 1), (0, 0), (2, 2), (0, 2)]
    a.moves[0].pv_visits = [10, 4, 2, 1]
    line = format_kata_line(a, AnalyzeArgs(style="kata", pv_visits=True), 2, "WHITE", 3, 3, pv_len=2)
    assert " pv B2 A3 C1 pvVisits 10 4 2 info " in line
    # Territory scoring: the second pass ends the main phase; KataGo prints up to that pass.
    hist = History(parse_rules("japanese"), 5, 5, prevent_encore=True)
    pv = [(2, 2), None, None, (1, 1), None]
    assert pv_length_up_to_phase_end(pv, hist) == 3
    # Area scoring has no encore: the PV is printed whole.
    assert pv_length_up_to_phase_end(pv, History(parse_rules("chinese"), 5, 5)) == 5
    assert pv_length_up_to_phase_end([(0, 0), (1, 1)], hist) == 2


# ------------------------------------------------------------------------------------------------
# Argument parsing

def test_parse_defaults_and_positional_arguments():
    pla, args = parse_analyze_args("kata-analyze", [], 1, 19, 19)
    assert pla == 1 and args.style == "kata" and args.callback_interval is None
    assert args.min_moves == 0 and args.max_moves == 10_000_000 and not args.root_info
    pla, args = parse_analyze_args("lz-analyze", ["W", "50"], 1, 19, 19)
    assert pla == 2 and args.style == "lz" and args.seconds_per_report == pytest.approx(0.5)
    pla, args = parse_analyze_args("analyze", ["b", "interval", "10", "minmoves", "3", "maxmoves", "4"], 2, 9, 9)
    assert pla == 1 and args.style == "sabaki" and args.callback_interval == pytest.approx(0.1)
    assert (args.min_moves, args.max_moves) == (3, 4)
    _, args = parse_analyze_args("kata-analyze", ["100", "ownership", "TRUE", "ownershipStdev", "true",
                                                  "movesOwnership", "false", "movesOwnershipStdev", "true",
                                                  "pvVisits", "true", "pvEdgeVisits", "true",
                                                  "rootInfo", "true"], 1, 19, 19)
    assert args.ownership and args.ownership_stdev and not args.moves_ownership
    assert args.moves_ownership_stdev and args.pv_visits and args.pv_edge_visits and args.root_info


def test_parse_avoid_and_allow():
    """The Searcher's formats: avoid {colour: {move: depth}}, allow {colour: (moves, depth)}."""
    _, args = parse_analyze_args("kata-analyze", ["avoid", "b", "D4,Q16,pass", "3", "avoid", "w", "C3", "1"], 1, 19, 19)
    assert args.avoid == {1: {(3, 15): 3, (15, 3): 3, None: 3}, 2: {(2, 16): 1}}
    assert args.allow == {}
    _, args = parse_analyze_args("kata-analyze", ["allow", "white", "A1,B1", "2"], 1, 2, 2)
    assert args.allow == {2: (frozenset({(0, 1), (1, 1)}), 2)} and args.avoid == {}
    # Repeated avoids for one colour add up, a later depth for the same move winning; empty
    # pieces of the list are skipped; avoid for one colour and allow for the other is fine.
    _, args = parse_analyze_args("lz-analyze", ["B", "50", "avoid", "b", "D4,,E5", "2", "avoid", "b",
                                                "D4", "5", "allow", "w", "pass", "1"], 2, 9, 9)
    assert args.avoid == {1: {(3, 5): 5, (4, 4): 2}}
    assert args.allow == {2: (frozenset({None}), 1)}
    _, args = parse_analyze_args("kata-genmove_analyze", ["w", "allow", "w", "A1", "4"], 1, 9, 9)
    assert args.allow == {2: (frozenset({(0, 8)}), 4)}


@pytest.mark.parametrize("command,args", [
    ("kata-analyze", ["interval"]),                      # key without a value
    ("kata-analyze", ["interval", "-1"]),
    ("kata-analyze", ["interval", "nan"]),
    ("kata-analyze", ["interval", "1e30"]),
    ("kata-analyze", ["bogus", "1"]),
    ("kata-analyze", ["minmoves", "-1"]),
    ("kata-analyze", ["maxmoves", "1.5"]),
    ("kata-analyze", ["ownership", "yes"]),
    ("lz-analyze", ["ownership", "true"]),              # kata-only keys
    ("analyze", ["rootInfo", "true"]),
    ("kata-analyze", ["avoid", "b", "D4"]),             # missing depth
    ("kata-analyze", ["avoid", "b", "D4", "0"]),
    ("kata-analyze", ["avoid", "x", "D4", "1"]),
    ("kata-analyze", ["avoid", "b", "Z99", "1"]),
    ("kata-analyze", ["allow", "b", "D4", "1", "allow", "b", "D5", "1"]),
    ("kata-analyze", ["avoid", "b", "D4", "1", "allow", "b", "D5", "1"]),
    ("kata-analyze", ["allow", "b", "D4", "1", "avoid", "b", "D5", "1"]),
    ("kata-analyze", ["b", "w"]),
])
def test_parse_refusals(command, args):
    with pytest.raises(GtpError) as e:
        parse_analyze_args(command, args, 1, 19, 19)
    assert str(e.value) == f"Could not parse analyze arguments or arguments out of range: '{' '.join(args)}'"


def test_genmove_analyze_refusal_message():
    with pytest.raises(GtpError, match="^Could not parse genmove_analyze arguments"):
        parse_analyze_args("kata-genmove_analyze", ["x", "y"], 1, 19, 19)


def test_analyze_commands_reply_with_question_mark_on_bad_arguments():
    from test_gtp_search import fake_engine
    engine, _ = fake_engine(maxVisits=5, defaultBoardSize=9)
    for command in ("kata-analyze interval", "lz-analyze ownership true", "analyze bogus 1",
                    "kata-genmove_analyze b minmoves x", "kata-search_analyze_cancellable avoid b A1"):
        reply = engine.execute(command)
        assert reply.startswith("? Could not parse "), (command, reply)
    assert engine.history.moves == []


# ------------------------------------------------------------------------------------------------
# Streaming through the command loop

class _Capture:
    """stdout for the loop: thread-safe, readable while it is written."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        with self._lock:
            return "".join(self._parts)


class PipeSession:
    """The GTP loop on a real pipe, in a thread; the test writes lines and reads the output."""

    def __init__(self, engine_factory, playout_s: float = 0.0) -> None:
        self.engine, self.searcher = engine_factory()
        self.searcher.playout_s = playout_s
        read_fd, write_fd = os.pipe()
        self._stdin = os.fdopen(read_fd, "r")
        self._writer = os.fdopen(write_fd, "w")
        self._out = _Capture()
        self.status = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.status = serve(self.engine, self._stdin, self._out)

    def __enter__(self) -> "PipeSession":
        self._thread.start()
        return self

    def send(self, line: str) -> None:
        self._writer.write(line + "\n")
        self._writer.flush()

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self._out.getvalue():
            assert time.monotonic() < deadline, f"timed out waiting for {text!r}; got {self._out.getvalue()!r}"
            time.sleep(0.005)
        return self._out.getvalue()

    @property
    def output(self) -> str:
        return self._out.getvalue()

    def __exit__(self, *exc) -> None:
        if not self._writer.closed:
            self._writer.close()  # end of input
        self._thread.join(timeout=20)
        assert not self._thread.is_alive(), "the GTP loop did not end"
        self._stdin.close()


def _analysis_engine():
    from test_gtp_search import fake_engine
    return fake_engine(maxVisits=1000, defaultBoardSize=9)


def _info_lines(block: str) -> list[str]:
    return [line for line in block.split("\n") if line.startswith("info ")]


def test_kata_analyze_streams_until_the_next_command():
    with PipeSession(_analysis_engine, playout_s=0.001) as session:
        session.send("5 kata-analyze interval 2")
        session.wait_for("\ninfo move ")
        time.sleep(0.1)
        session.send("6 name")
        out = session.wait_for("=6 goloop\n\n")
    analysis, rest = out.split("\n\n", 1)
    assert analysis.startswith("=5\ninfo move A9 visits ")
    lines = _info_lines(analysis)
    assert len(lines) >= 2 and len(analysis.split("\n")) == len(lines) + 1
    visits = [int(line.split()[4]) for line in lines]
    assert visits == sorted(visits)  # later reports have more visits
    assert rest == "=6 goloop\n\n"


def test_a_blank_line_stops_the_analysis_and_gets_no_reply():
    with PipeSession(_analysis_engine, playout_s=0.001) as session:
        session.send("lz-analyze b 1")
        session.wait_for("\ninfo move ")
        session.send("")
        out = session.wait_for("\n\n")
        time.sleep(0.1)
        assert session.output == out  # nothing more is printed once stopped
        session.send("protocol_version")
        session.wait_for("= 2\n\n")
    analysis = session.output.split("\n\n")[0]
    assert analysis.startswith("=\ninfo move A9 visits ")
    assert " winrate 5000 prior 5000 lcb 6000 order 0 pv A9 pass" in analysis
    assert session.output.endswith("\n\n= 2\n\n")


def test_analysis_without_interval_prints_nothing_until_stopped():
    with PipeSession(_analysis_engine, playout_s=0.001) as session:
        session.send("kata-analyze")
        time.sleep(0.2)
        session.send("quit")
        session.wait_for("= \n\n")
    assert session.output == "=\n\n= \n\n"
    assert session.status == 0


def test_end_of_input_ends_the_analysis_reply():
    with PipeSession(_analysis_engine, playout_s=0.001) as session:
        session.send("analyze w 1")
        session.wait_for("\ninfo ")
    assert session.output.endswith("\n\n") and session.output.count("\n\n") == 1
    assert "winrate 0.500000" in session.output  # Sabaki's format


def test_analysis_commands_queue_while_genmove_analyze_runs():
    with PipeSession(lambda: __import__("test_gtp_search").fake_engine(maxVisits=60, defaultBoardSize=9),
                     playout_s=0.002) as session:
        session.send("kata-genmove_analyze b interval 3 ownership true")
        session.send("name")  # must not interrupt the genmove
        session.wait_for("= goloop\n\n")
    first, second = session.output.split("\n\n")[:2]
    lines = first.split("\n")
    assert lines[0] == "=" and lines[-1] == "play A9"
    infos = _info_lines(first)
    assert len(infos) >= 2 and " ownership " in infos[-1]
    assert int(infos[-1].split()[4]) == 59  # the final report, at the end of the search (60 visits)
    assert second == "= goloop"


def test_kata_search_analyze_cancellable():
    with PipeSession(lambda: __import__("test_gtp_search").fake_engine(maxVisits=10**9, defaultBoardSize=9),
                     playout_s=0.001) as session:
        session.send("3 kata-search_analyze_cancellable w interval 5")
        session.wait_for("\ninfo ")
        session.send("4 name")
        session.wait_for("=4 goloop\n\n")
    first = session.output.split("\n\n")[0]
    assert first.startswith("=3\ninfo ") and first.endswith("\nplay cancelled")
    assert session.searcher.history is not None and session.engine.history.moves == []


def test_run_gtp_streams_real_analysis_and_stops_on_input():
    """The whole path with the real search and the g170 net: run_gtp on a pipe, kata-analyze
    streaming lines from the search thread, a command interrupting it."""
    try:
        import goloop.common.search.searcher  # noqa: F401
    except ImportError:
        pytest.skip("goloop.common.search.searcher is missing")
    model = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
    from goloop.engine.gtp import GtpConfig, run_gtp
    config = GtpConfig(model=str(model), nnDevice="cpu", maxVisits=50, defaultBoardSize=9,
                       rules="chinese", komi=7.0)
    read_fd, write_fd = os.pipe()
    stdin, writer = os.fdopen(read_fd, "r"), os.fdopen(write_fd, "w")
    out = _Capture()
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("status", run_gtp(config, stdin, out)),
                              daemon=True)
    thread.start()

    def wait_for(text, timeout=60.0):
        deadline = time.monotonic() + timeout
        while text not in out.getvalue():
            assert time.monotonic() < deadline, out.getvalue()[-500:]
            time.sleep(0.01)

    writer.write("1 play b E5\n2 kata-analyze w interval 5 ownership true rootInfo true\n")
    writer.flush()
    wait_for("=1 \n\n=2\ninfo move ")
    deadline = time.monotonic() + 60
    while out.getvalue().count("\ninfo move ") < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    writer.write("3 genmove w\n4 quit\n")
    writer.flush()
    wait_for("=4 \n\n")
    thread.join(timeout=60)
    assert result.get("status") == 0
    writer.close()
    stdin.close()
    blocks = out.getvalue()[:-2].split("\n\n")
    assert blocks[0] == "=1 " and blocks[2].startswith("=3 ") and blocks[3] == "=4 "
    analysis = blocks[1].split("\n")
    assert analysis[0] == "=2" and all(line.startswith("info move ") for line in analysis[1:])
    last = analysis[-1]
    assert " rootInfo visits " in last and last.count(" ownership ") == 1
    assert len(last.split(" ownership ")[1].split()) == 81
