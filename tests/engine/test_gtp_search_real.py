"""goloop.engine.gtp_search for real: the real search and the g170 net, and the pure rules beneath.

The end-to-end tests use the real search and the g170 net when both are available, and compare
GTP's replies with KataGo v1.17.2's recorded sessions (shared/reference/search_*.json). The
rule tests check gtp_policy and gtp_score, the pure functions genmove and final_score decide
with. GTP behaviour with a stand-in searcher is in test_gtp_search.py.
"""
from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest
from test_gtp_search import _wait, ok

from goloop.engine.gtp import GtpConfig, GtpEngine

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
G170 = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"


# ------------------------------------------------------------------------------------------------
# End to end with the real search and the g170 net

def _real_search_available() -> bool:
    try:
        import goloop.common.search.searcher  # noqa: F401
    except ImportError:
        return False
    return G170.exists()


needs_search = pytest.mark.skipif(not _real_search_available(),
                                  reason="goloop.common.search.searcher or the g170 net is missing")


@needs_search
def test_genmove_end_to_end_with_the_net():
    cfg = GtpConfig(model=str(G170), nnDevice="cpu", maxVisits=16, rules="chinese", defaultBoardSize=9)
    engine = GtpEngine(cfg)
    ok(engine, "komi 7")
    move = ok(engine, "genmove b")
    assert move not in ("pass", "resign")
    assert len(engine.history.moves) == 1
    reply = engine.execute("kata-genmove_analyze w interval 1000 rootInfo true")
    lines = reply.split("\n")
    assert lines[0] == "=" and lines[1].startswith("info move ") and " rootInfo visits " in lines[1]
    assert lines[2].startswith("play ") and reply.endswith("\n\n")
    assert len(engine.history.moves) == 2
    assert ok(engine, "final_score")[0] in "BW0"


def _info_rows(line: str) -> tuple[list[dict], str]:
    """An info line as one ordered dict per move (list values for the pv fields), and rootInfo."""
    body, _, root = line.partition(" rootInfo ")
    rows = []
    for chunk in body.split("info ")[1:]:
        tokens = chunk.split()
        row, i = {}, 0
        while i < len(tokens):
            key = tokens[i]
            if key in ("pv", "pvVisits", "pvEdgeVisits"):
                j = i + 1
                while j < len(tokens) and tokens[j] not in ("pv", "pvVisits", "pvEdgeVisits"):
                    j += 1
                row[key] = tokens[i + 1:j]
                i = j
            else:
                row[key] = tokens[i + 1]
                i += 2
        rows.append(row)
    return rows, root


# Symmetric copies and a pass at order 80; a ko; an end-of-game pass with PVs of passes.
REFERENCE_9X9 = ["search_9x9_1move_komi7_chinese.json", "search_9x9_ko_komi7_chinese.json",
                 "search_9x9_late_pass_komi7_chinese.json"]


@needs_search
@pytest.mark.parametrize("name", REFERENCE_9X9)
def test_kata_search_analyze_reproduces_katago(name):
    """KataGo's recorded session through our GTP: the same final info line, move for move: same
    fields in the same order, same visits, orders, symmetric copies and PVs, values equal to
    print precision. The config is gtp_example.cfg's maxVisits plus the recorded overrides."""
    import json

    from goloop.common.config import load_config
    ref = json.loads((SHARED / "reference" / name).read_text())
    overrides = {k: v for k, v in ref["config_overrides"].items()
                 if k in GtpConfig.__dataclass_fields__ and not k.startswith("log")}
    cfg = load_config(GtpConfig, None, dict(overrides, model=str(G170), nnDevice="cpu",
                                              nnDtype="fp32", maxVisits="500"))
    engine = GtpEngine(cfg)
    for command in ref["gtp_commands"]:
        ok(engine, command)
    for search in ref["searches"]:
        for command in search["commands_before"]:
            ok(engine, command)
        reply = engine.execute(search["command"]).split("\n")
        assert reply[0] == "=" and reply[2].startswith("play ") and reply[3:] == ["", ""]
        ours, our_root = _info_rows(reply[1])
        theirs, their_root = _info_rows(search["raw_final_info_line"])
        assert [list(r) for r in ours] == [list(r) for r in theirs]
        for a, b in zip(ours, theirs):
            for key in ("move", "visits", "edgeVisits", "order", "pv", "pvVisits", "pvEdgeVisits",
                        "isSymmetryOf"):
                assert a.get(key) == b.get(key), (search["max_visits"], key, a, b)
            for key in ("utility", "winrate", "scoreLead", "scoreSelfplay", "prior", "lcb", "utilityLcb"):
                assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-4, abs=5e-5), (key, a, b)
        assert our_root.split()[::2] == their_root.split()[::2]
        assert our_root.split()[1] == their_root.split()[1]  # root visits


def _reference_engine(max_visits: int, **more) -> GtpEngine:
    """GTP with the settings of the recorded KataGo sessions (shared/reference/search_*.json)."""
    import json

    from goloop.common.config import load_config
    ref = json.loads((SHARED / "reference" / REFERENCE_9X9[0]).read_text())
    overrides = {k: v for k, v in ref["config_overrides"].items()
                 if k in GtpConfig.__dataclass_fields__ and not k.startswith("log")}
    return GtpEngine(load_config(GtpConfig, None, dict(
        overrides, model=str(G170), nnDevice="cpu", nnDtype="fp32", maxVisits=str(max_visits),
        **more)))


def _final_rows(engine, command) -> list[dict]:
    reply = engine.execute(command).split("\n")
    assert reply[0] == "=" and reply[2].startswith("play ") and reply[3:] == ["", ""], reply
    return _info_rows(reply[1])[0]


@needs_search
def test_avoid_and_allow_steer_the_real_search_as_in_katago():
    """Avoided moves never show up and `allow` leaves only the allowed moves, with the rows,
    visits and PVs real KataGo v1.17.2 printed for the same commands (recorded with the
    reference sessions' config at maxVisits 50). Without avoid, D7 and D3 lead this position.
    (Rows a minmoves fill adds are unvisited; avoided ones are left out here because root
    symmetry pruning is on, as KataGo leaves them out then.)"""
    engine = _reference_engine(50)
    for command in ("boardsize 9", "clear_board", "komi 7", "kata-set-rules chinese", "play B E5",
                    "play W C5"):
        ok(engine, command)

    rows = _final_rows(engine, "kata-search_analyze b avoid b D7,D3 1 minmoves 12")
    assert [(r["move"], int(r["visits"])) for r in rows] == [
        ("D6", 35), ("D4", 35), ("C6", 7), ("C4", 7), ("E7", 6), ("E3", 6), ("G5", 1), ("G6", 0),
        ("G4", 0), ("F3", 0), ("F7", 0)]

    # Depth 2: White may not answer with G5/G6/G4, so no PV has them second.
    rows = _final_rows(engine, "kata-search_analyze b avoid w G5,G6,G4 2")
    assert [(r["move"], int(r["visits"])) for r in rows] == [
        ("D7", 45), ("D3", 45), ("D6", 3), ("D4", 3), ("C6", 1), ("C4", 1)]
    assert all(r["pv"][1:2] in ([], ["C7"], ["C3"], ["C6"], ["C4"]) for r in rows)

    rows = _final_rows(engine, "kata-search_analyze b allow b D5,E3,F5,pass 1 noResultValue true")
    assert [(r["move"], int(r["visits"])) for r in rows] == [
        ("E3", 46), ("D5", 1), ("F5", 1), ("pass", 1)]
    assert rows[0]["pv"] == "E3 G6 D7 C3 G4 F7 C6 B6 D5".split()
    assert [r["weight"] for r in rows] == ["46", "1", "1", "1"]
    assert all(0 < float(r["noResultValue"]) < 1e-3 for r in rows)  # the net's real values

    # The next command without avoid/allow searches everything again.
    rows = _final_rows(engine, "kata-search_analyze b")
    assert [r["move"] for r in rows[:2]] == ["D7", "D3"]


@needs_search
@pytest.mark.parametrize("pondering", [False, True])
def test_pondering_grows_the_tree_the_next_search_starts_from(pondering):
    """With pondering, the search goes on after `play` until the pondering limit, and the next
    genmove-type search then finds the root already past its own maxVisits: it adds no playout
    (real KataGo prints the same rootInfo visits for this sequence). Without, it searches its
    maxVisits itself. (An after-pass factor, as in gtp_example.cfg, must not cost
    the tree: goloop passes such budget factors as parameters where KataGo does not.)"""
    engine = _reference_engine(30, ponderingEnabled=str(pondering).lower(),
                               maxVisitsPondering="80", searchFactorAfterOnePass="0.5")
    searcher = engine.search.searcher
    try:
        for command in ("boardsize 9", "clear_board", "komi 7", "kata-set-rules chinese",
                        "play b E5"):
            ok(engine, command)
        assert engine.pondering == pondering
        if pondering:
            _wait(lambda: not engine.background.running, timeout=120)
            assert searcher.root_visits == 80
        # kata-search_analyze searches like genmove but plays nothing (so no ponder follows).
        rows, root = _info_rows(engine.execute("kata-search_analyze w rootInfo true").split("\n")[1])
        assert root.split()[:2] == ["visits", "80" if pondering else "30"]
        assert searcher.num_playouts == (0 if pondering else 30)
        move = ok(engine, "genmove w")
        assert move not in ("pass", "resign") and len(engine.history.moves) == 2
        assert engine.pondering == pondering  # on Black's turn now
    finally:
        engine.close()


# ------------------------------------------------------------------------------------------------
# The pure rules behind genmove (gtp_policy) and scoring (gtp_score)

def _game(size=19, rules="chinese", komi=7.5, handicap=0):
    from goloop.common.go.history import History
    from goloop.common.go.rules import parse_rules
    from goloop.engine.gtp_handicap import fixed_handicap_points, setup_board
    board = None
    pla = 1
    if handicap:
        board = setup_board(size, size, [(p, 1) for p in fixed_handicap_points(size, size, handicap)])
        pla = 2
    return History(parse_rules(rules).with_komi(komi), size, size, board=board, pla=pla,
                   leading_black_moves_are_handicap=True)


def test_handicap_advantage():
    from goloop.engine.gtp_policy import initial_black_advantage, num_handicap_stones
    even = _game()
    assert num_handicap_stones(even) == 0 and initial_black_advantage(even) == pytest.approx(-0.5)
    h4 = _game(handicap=4, komi=0.5)
    assert num_handicap_stones(h4) == 4
    assert initial_black_advantage(h4) == pytest.approx(15 * 3 + 7 - 0.5 - 4)  # chinese: bonus N
    japanese = _game(handicap=4, rules="japanese", komi=0.5)
    assert initial_black_advantage(japanese) == pytest.approx(14 * 3 + 7 - 0.5)
    # Black moves opening the game count as handicap, until white plays twice.
    h = _game(size=9)
    for move in ((2, 2), (6, 6)):
        h.play(move, 1)
    assert num_handicap_stones(h) == 2


def test_should_resign_rules():
    from goloop.engine.gtp_policy import should_resign
    even = _game(size=9, komi=7)
    losing = [-0.95, -0.97, -0.99]
    args = dict(threshold=-0.9, consec_turns=3, min_score_difference=-1e10, min_moves_per_board_area=0.0)
    assert should_resign(even, 2, losing, lead=-20, **args)
    assert not should_resign(even, 2, losing[1:], lead=-20, **args)            # too few values
    assert not should_resign(even, 2, [-0.5] + losing[1:], lead=-20, **args)    # one was fine
    assert not should_resign(even, 1, losing, lead=-20, **args)                 # black is winning
    assert should_resign(even, 1, [0.95, 0.99, 0.92], lead=20, **args)
    assert not should_resign(even, 2, losing, lead=-20, **dict(args, min_score_difference=25))
    assert not should_resign(even, 2, losing, lead=-20, **dict(args, min_moves_per_board_area=0.1))
    # White giving a big handicap plays on for a while, and only resigns when well behind.
    h9 = _game(handicap=9, komi=0.5)
    assert not should_resign(h9, 2, losing, lead=-150, **args)
    for i in range(80):
        h9.play(None, 2 - i % 2)
    assert should_resign(h9, 2, losing, lead=-150, **args)
    assert not should_resign(h9, 2, losing, lead=-30, **args)


def test_search_factor_and_pass_factor():
    from goloop.engine.gtp_policy import pass_search_factor, search_factor_when_winning
    assert search_factor_when_winning(0.95, 0.4, 1.0, [1.0, 1.0], 2) == 1.0
    assert search_factor_when_winning(0.95, 0.4, 1.0, [1.0, 1.0, 1.0], 2) == pytest.approx(0.4)
    assert search_factor_when_winning(0.9, 0.4, 1.0, [0.95, 1.0, 1.0], 2) == pytest.approx(0.7)
    assert search_factor_when_winning(0.9, 0.4, 1.0, [-1.0, -1.0, -1.0], 1) == pytest.approx(0.4)
    assert search_factor_when_winning(1.0, 0.4, 1.0, [1.0, 1.0, 1.0], 2) == 1.0
    h = _game(size=9)
    assert pass_search_factor(h, 0.5, 0.25) == 1.0
    h.play(None, 1)
    assert pass_search_factor(h, 0.5, 0.25) == 0.5
    h.play((4, 4), 2)
    h.play(None, 1)
    assert pass_search_factor(h, 0.5, 0.25) == 0.25


def test_dynamic_pda_for_handicap_games():
    from goloop.engine.gtp_policy import update_dynamic_pda
    assert update_dynamic_pda(_game(), 0.045, [], 0.0) == 0.0
    h4 = _game(handicap=4, komi=0.5)
    start = update_dynamic_pda(h4, 0.045, [], 0.0)
    assert start > 0 and start % 0.125 == 0  # white, the weaker side by handicap, gets the cap
    h4.play((9, 9), 2)
    assert update_dynamic_pda(h4, 0.045, [-0.3], start) == start - 0.125  # doing well: less
    assert update_dynamic_pda(h4, 0.045, [-0.95], start) == start  # at the cap already
    assert update_dynamic_pda(h4, 0.0, [-0.95], start) == 0.0


def test_compute_lead_finds_the_even_komi():
    from goloop.engine.gtp_score import compute_lead, round_and_clip_komi, round_lead
    for even_komi, coarse in ((9.0, True), (9.0, False), (-3.5, False), (12.3, False)):
        calls = []

        def evaluate(komi, even_komi=even_komi):
            calls.append(komi)
            lead = komi - even_komi
            return lead, math.tanh(lead / 4.0)

        lead = compute_lead(evaluate, 7.5, 19, 19, coarse)
        assert lead == pytest.approx(7.5 - even_komi, abs=0.05), (even_komi, coarse)
        assert len(calls) == len(set(calls)) < 20  # each komi searched once
        assert all(k == round_and_clip_komi(k, 19, 19) for k in calls)
    assert round_lead(2.3, True) == 2.0 and round_lead(2.3, False) == 2.5
    assert round_lead(-2.6, True) == -3.0 and round_lead(-0.2, False) == -0.5
    assert round_and_clip_komi(1000.0, 9, 9) == 101.0 and round_and_clip_komi(0.26, 9, 9) == 0.5


def test_alive_from_ownership():
    from goloop.common.go.board import Board
    from goloop.engine.gtp_score import alive_from_ownership
    board = Board(5)
    for move, color in (((0, 0), 1), ((1, 0), 1), ((4, 4), 2), ((3, 4), 2)):
        board.play(move, color)
    own = np.zeros((5, 5))
    own[0, 0], own[0, 1] = -0.9, 0.1      # black chain: average -0.4, worst +0.1: alive
    own[4, 4], own[4, 3] = 0.9, -0.7      # white chain: one stone below -0.6: dead
    alive = alive_from_ownership(board, own)
    assert alive[0, 0] and alive[0, 1] and not alive[4, 4] and not alive[4, 3]
    assert not alive[2, 2]
