"""goloop.engine.gtp: the GTP engine's board part, checked against KataGo's own GTP replies.

The golden test replays every game of shared/reference/rules_games.json with the exact command
sequence KataGo was sent and compares every reply that does not need a neural net: play's
acceptances, final_score, showboard and printsgf. The other tests pin the protocol framing and
each command's behaviour, with KataGo's reply formats.
"""
from __future__ import annotations

import io
import json
import logging
import pathlib
import subprocess
import sys

import pytest

from goloop.engine.gtp import GtpConfig, GtpEngine, run_gtp

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
GAMES = json.loads((SHARED / "reference" / "rules_games.json").read_text())["games"]


def session(commands, config=None):
    """Run run_gtp on the commands; return (exit status, list of reply blocks)."""
    out = io.StringIO()
    status = run_gtp(config or GtpConfig(), io.StringIO("".join(c + "\n" for c in commands)), out)
    text = out.getvalue()
    assert text == "" or text.endswith("\n\n")
    return status, text[:-2].split("\n\n") if text else []


@pytest.fixture
def engine():
    return GtpEngine(GtpConfig())


def ok(engine, command):
    """Send a command that must succeed; return the reply text after '= '."""
    reply = engine.execute(command)
    assert reply.startswith("= ") and reply.endswith("\n\n"), (command, reply)
    return reply[2:-2]


def fails(engine, command):
    reply = engine.execute(command)
    assert reply.startswith("? ") and reply.endswith("\n\n"), (command, reply)
    assert len(reply) > 4, "an error reply must say what went wrong"
    return reply[2:-2]


def board_rows(engine):
    """showboard's rows (without the hash line), to check that a refused command changed nothing."""
    return ok(engine, "showboard").split("\n")[1:]


# ------------------------------------------------------------------------------------------------
# Golden: KataGo's recorded random games

def _expected_score(game):
    """The exact score of the game's final position (reference README: tromp-taylor scores are
    KataGo's own; chinese/japanese `final_score` fields are net estimates, the exact_* fields are
    the rules' count, which is what a goloop without a net must give)."""
    if game["rules"] == "tromp-taylor":
        return game["final_score"]
    if game["rules"] == "chinese":
        return game["exact_area_score_strict"]
    return game["exact_territory_score_after_encore"]


def _expected_printsgf(game):
    """KataGo's printsgf, with the result of a finished game replaced by the exact one where
    KataGo's came from its net (friendlyPassOk rules); the unfinished japanese games have none."""
    sgf = game["printsgf"]
    if game["rules"] == "chinese":
        net = game["final_score"].replace(".0", "")
        exact = game["exact_area_score_strict"].replace(".0", "")
        assert sgf.count(f"RE[{net}]") == 1 and sgf.count(f"C[result={net}]") == 1
        sgf = sgf.replace(f"RE[{net}]", f"RE[{exact}]").replace(f"C[result={net}]", f"C[result={exact}]")
    return sgf


@pytest.mark.parametrize("game", GAMES, ids=lambda g: f"{g['rules']}-{g['game_index']}")
def test_reference_games_replayed_through_gtp(game):
    size = game["board_size"]
    setup = [f"boardsize {size}", "clear_board", f"komi {game['komi']:g}", f"kata-set-rules {game['rules']}"]
    plays = [f"play {c} {v}" for c, v, _ in game["attempts"]]
    status, replies = session(setup + plays + ["final_score", "showboard", "printsgf", "kata-get-rules"])
    assert status == 0
    assert len(replies) == len(setup) + len(plays) + 4
    assert all(r == "= " for r in replies[:4])
    verdicts = [r.startswith("= ") for r in replies[4:4 + len(plays)]]
    assert verdicts == [accepted for _, _, accepted in game["attempts"]]
    assert all(r == "= " or r.startswith("? illegal move") for r in replies[4:4 + len(plays)])
    final_score, showboard, printsgf, rules = replies[-4:]
    assert final_score == "= " + _expected_score(game)
    ours = showboard[2:].split("\n")
    theirs = game["final_showboard"]
    # Line 0 is `MoveNum: N HASH: H`, and H is goloop's own hash.
    assert ours[0].split(" HASH: ")[0] == theirs[0].split(" HASH: ")[0]
    assert ours[1:] == theirs[1:]
    assert printsgf == "= " + _expected_printsgf(game)
    assert json.loads(rules[2:]) == game["rules_json_from_kata_get_rules"]


@pytest.mark.parametrize("game", GAMES, ids=lambda g: f"{g['rules']}-{g['game_index']}")
def test_is_legal_matches_katago_strict_legality(game):
    engine = GtpEngine(GtpConfig())
    for command in (f"boardsize {game['board_size']}", f"komi {game['komi']:g}",
                    f"kata-set-rules {game['rules']}"):
        ok(engine, command)
    answers = []
    for color, vertex, accepted in game["attempts"]:
        answers.append(ok(engine, f"is_legal {color} {vertex}") == "1")
        engine.execute(f"play {color} {vertex}")
    assert answers == game["attempts_strict_legal"]


# ------------------------------------------------------------------------------------------------
# Framing

def test_ids_are_echoed_and_replies_end_with_a_blank_line():
    out = io.StringIO()
    run_gtp(GtpConfig(), io.StringIO("12 protocol_version\n13 nosuchcommand\n7\n"), out)
    assert out.getvalue() == "=12 2\n\n?13 unknown command\n\n?7 empty command\n\n"


def test_empty_lines_comments_and_control_characters_are_ignored():
    text = "\n   \n# a comment\n\tname # trailing comment\r\nprot\x01ocol_ver\x7fsion\n\x00\x1b\n"
    status, replies = session([text])
    assert status == 0
    assert replies == ["= goloop", "= 2"]


def test_non_ascii_is_dropped_like_katago_does():
    status, replies = session(["proto\u00e9col_vers\u2028ion", "nämé"])
    assert replies == ["= 2", "? unknown command"]  # 'nm' is no command


def test_huge_id_is_refused_without_echo():
    status, replies = session(["99999999999999999999999 name", "name"])
    assert replies[0].startswith("? ") and "id" in replies[0]
    assert replies[1] == "= goloop"


def test_quit_answers_then_stops_reading():
    status, replies = session(["5 quit", "name"])
    assert status == 0 and replies == ["=5 "]


def test_end_of_input_exits_zero():
    assert session([]) == (0, [])
    assert session(["name"]) == (0, ["= goloop"])


def test_binary_input_stream_with_invalid_utf8():
    data = b"\xff\xfe\x80name\xc3\n\xe2\x82protocol_version\n"
    out = io.StringIO()
    assert run_gtp(GtpConfig(), io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"), out) == 0
    assert out.getvalue() == "= goloop\n\n= 2\n\n"


def test_multiline_replies_contain_no_blank_line(engine):
    reply = engine.execute("list_commands")
    assert "\n\n" not in reply[:-2]


# ------------------------------------------------------------------------------------------------
# Administrative commands

REQUIRED = """protocol_version name version known_command list_commands boardsize rectangular_boardsize
clear_board komi get_komi play undo showboard set_position fixed_handicap place_free_handicap
set_free_handicap final_score final_status_list quit loadsgf printsgf is_legal kata-get-rules
kata-set-rules kata-set-rule kgs-rules""".split()


def test_list_and_known_commands(engine):
    listed = ok(engine, "list_commands").split("\n")
    assert sorted(listed) == sorted(REQUIRED)
    for name in REQUIRED:
        assert ok(engine, f"known_command {name}") == "true"
    assert ok(engine, "known_command genmove") == "false"
    fails(engine, "known_command")
    fails(engine, "known_command a b")


def test_identity(engine):
    import goloop
    assert ok(engine, "protocol_version") == "2"
    assert ok(engine, "name") == "goloop"
    assert ok(engine, "version") == goloop.__version__
    fails(engine, "name extra")


def test_commands_can_be_registered(engine):
    engine.register("echo", lambda args: " ".join(args))
    assert ok(engine, "echo a b") == "a b"
    assert "echo" in ok(engine, "list_commands").split("\n")
    assert ok(engine, "known_command echo") == "true"


def test_internal_error_costs_one_command_not_the_session(engine, caplog):
    def broken(args):
        raise KeyError("boom")
    engine.register("broken", broken)
    with caplog.at_level(logging.ERROR, logger="goloop"):
        assert "internal error" in fails(engine, "broken")
    assert ok(engine, "protocol_version") == "2"


# ------------------------------------------------------------------------------------------------
# Board size, komi, rules

def test_boardsize(engine):
    ok(engine, "play B D4")
    ok(engine, "boardsize 9")
    rows = board_rows(engine)
    assert rows[0] == "   A B C D E F G H J"
    assert all(set(r[3:]) <= {".", " "} for r in rows[1:10])
    assert ok(engine, "final_score") == "W+7.5"
    ok(engine, "boardsize 2")
    ok(engine, "boardsize 19")
    for bad in ("1", "20", "0", "-3", "99999999999999999999"):
        assert fails(engine, f"boardsize {bad}") in ("unacceptable size", "board size '99999999999999999999' is out of range")
    for bad in ("", "x", "9 9 9", "9.5"):
        fails(engine, f"boardsize {bad}")
    assert fails(engine, "boardsize 20") == "unacceptable size"


def test_rectangular_boardsize(engine):
    ok(engine, "rectangular_boardsize 7 3")
    assert board_rows(engine)[:4] == ["   A B C D E F G", " 3 . . . . . . .", " 2 . . . . . . .", " 1 . . . . . . ."]
    ok(engine, "boardsize 4:5")
    assert len(board_rows(engine)) == 1 + 5 + 4
    assert fails(engine, "rectangular_boardsize 7 20") == "unacceptable size"


def test_clear_board_keeps_size_rules_and_komi(engine):
    ok(engine, "boardsize 9")
    ok(engine, "komi 6")
    ok(engine, "kata-set-rules japanese")
    ok(engine, "play B E5")
    ok(engine, "clear_board")
    assert ok(engine, "get_komi") == "6"
    assert json.loads(ok(engine, "kata-get-rules"))["scoring"] == "TERRITORY"
    assert fails(engine, "undo") == "cannot undo"
    assert len(board_rows(engine)) == 1 + 9 + 4


def test_komi(engine):
    for text, shown in (("6.5", "6.5"), ("7", "7"), ("-0.5", "-0.5"), ("0", "0"), ("400", "400"), ("1e1", "10")):
        ok(engine, f"komi {text}")
        assert ok(engine, "get_komi") == shown
    for bad in ("7.3", "abc", "nan", "inf", "1e999", "401", "", "7 7", "0x10", "1_0"):
        fails(engine, f"komi {bad}")
    assert ok(engine, "get_komi") == "10"


def test_forced_komi_ignores_controller():
    engine = GtpEngine(GtpConfig(ignoreGTPAndForceKomi=5.5))
    ok(engine, "komi 7")
    assert ok(engine, "get_komi") == "5.5"


def test_config_rules_and_komi():
    engine = GtpEngine(GtpConfig(rules="japanese", defaultBoardSize=13))
    assert ok(engine, "get_komi") == "6.5"
    assert len(board_rows(engine)) == 1 + 13 + 4
    engine = GtpEngine(GtpConfig(rules="chinese", komi=5.0))
    assert ok(engine, "get_komi") == "5"


def test_kata_get_and_set_rules(engine):
    assert ok(engine, "kata-get-rules") == (
        '{"friendlyPassOk":false,"hasButton":false,"ko":"POSITIONAL","scoring":"AREA",'
        '"suicide":true,"tax":"NONE","whiteHandicapBonus":"0"}')
    ok(engine, "komi 6")
    ok(engine, "kata-set-rules chinese")
    assert ok(engine, "kata-get-rules") == (
        '{"friendlyPassOk":true,"hasButton":false,"ko":"SIMPLE","scoring":"AREA",'
        '"suicide":false,"tax":"NONE","whiteHandicapBonus":"N"}')
    assert ok(engine, "get_komi") == "6", "changing rules keeps the komi"
    ok(engine, 'kata-set-rules {"ko":"SITUATIONAL","scoring":"TERRITORY"}')
    rules = json.loads(ok(engine, "kata-get-rules"))
    assert (rules["ko"], rules["scoring"], rules["tax"]) == ("SITUATIONAL", "TERRITORY", "SEKI")
    ok(engine, "kata-set-rules koSIMPLEscoreAREAtaxNONEsui1")
    assert json.loads(ok(engine, "kata-get-rules"))["ko"] == "SIMPLE"
    before = ok(engine, "kata-get-rules")
    for bad in ("", "nonsense", '{"ko":', '{"ko":"simple"}', '{"komi":7}', '{"bogus":1}', "[1]",
                '{"a":' + "[" * 50000):
        assert fails(engine, f"kata-set-rules {bad}")
    assert ok(engine, "kata-get-rules") == before
    assert ok(engine, "get_komi") == "6"


def test_kata_set_rule(engine):
    ok(engine, "kata-set-rule ko SIMPLE")
    ok(engine, "kata-set-rule scoring territory")
    ok(engine, "kata-set-rule whiteHandicapBonus N-1")
    rules = json.loads(ok(engine, "kata-get-rules"))
    assert (rules["ko"], rules["scoring"], rules["whiteHandicapBonus"]) == ("SIMPLE", "TERRITORY", "N-1")
    assert rules["tax"] == "NONE", "like KataGo, setting scoring alone does not re-derive tax"
    for bad in ("ko", "ko BOGUS", "komi 7", "nosuch true", "suicide maybe", "hasButton true", "ko SIMPLE x"):
        fails(engine, f"kata-set-rule {bad}")
    assert json.loads(ok(engine, "kata-get-rules")) == rules


def test_kgs_rules(engine):
    ok(engine, "komi 0.5")
    ok(engine, "kgs-rules chinese")
    rules = json.loads(ok(engine, "kata-get-rules"))
    assert (rules["ko"], rules["scoring"], rules["whiteHandicapBonus"]) == ("POSITIONAL", "AREA", "N")
    ok(engine, "kgs-rules new_zealand")
    assert json.loads(ok(engine, "kata-get-rules"))["ko"] == "SITUATIONAL"
    ok(engine, "kgs-rules japanese")
    assert json.loads(ok(engine, "kata-get-rules"))["scoring"] == "TERRITORY"
    assert ok(engine, "get_komi") == "0.5"
    fails(engine, "kgs-rules tromp-taylor")
    fails(engine, "kgs-rules")


def test_rule_change_replays_the_game(engine):
    """Changing rules keeps the position and the moves (they are replayed) and rescores them."""
    ok(engine, "boardsize 5")
    ok(engine, "komi 0")
    for move in ("B C3", "W D3", "B D2", "W pass", "B E3", "W pass", "B D4"):  # black captures D3
        ok(engine, f"play {move}")
    before = ok(engine, "showboard").split("\n")
    assert ok(engine, "final_score") == "B+25.0"
    ok(engine, "kata-set-rules japanese")
    after = ok(engine, "showboard").split("\n")
    assert after[0].split(" HASH")[0] == "MoveNum: 7"
    assert after[1:7] == before[1:7] and after[-2:] == before[-2:] == ["B stones captured: 0", "W stones captured: 1"]
    # Territory: 21 empty points + 1 prisoner; KataGo counts it as area with each side's moves
    # paid back (chilling): 25 - 4 black moves + 1 white move.
    assert ok(engine, "final_score") == "B+22.0"


# ------------------------------------------------------------------------------------------------
# play, undo, is_legal

KO_SETUP = ["boardsize 5", "play B B3", "play W C3", "play B C4", "play W D4", "play B C2",
            "play W D2", "play B pass", "play W E3", "play B D3"]  # black D3 takes the ko stone at C3


def test_play_is_tolerant_of_ko_recapture(engine):
    for command in KO_SETUP:
        ok(engine, command)
    assert ok(engine, "is_legal W C3") == "0"
    ok(engine, "play W C3")  # retaking the ko at once: refused by the rules, played by GTP
    rows = board_rows(engine)
    assert rows[3] == " 3 . X O3.2O1"  # marks of E3, D3 (now empty) and C3
    assert ok(engine, "is_legal B D3") == "0"


def test_play_is_tolerant_of_multi_stone_suicide():
    engine = GtpEngine(GtpConfig(rules="chinese"))
    ok(engine, "set_position B A2 W B2 W A3 W B1")
    assert ok(engine, "is_legal B A1") == "0"  # two-stone suicide, illegal under chinese
    ok(engine, "play B A1")
    assert ok(engine, "showboard").split("\n")[-1] == "W stones captured: 0"
    assert "B stones captured: 2" in ok(engine, "showboard")
    ok(engine, "kata-set-rules tromp-taylor")
    assert ok(engine, "is_legal B A1") == "1"


def test_play_refusals_leave_the_board_unchanged(engine):
    ok(engine, "boardsize 5")
    ok(engine, "play B A2")
    ok(engine, "play B B1")
    before = ok(engine, "showboard")
    assert fails(engine, "play W A1") == "illegal move"  # single-stone suicide
    assert fails(engine, "play W A2") == "illegal move"  # occupied
    assert fails(engine, "play B A2") == "illegal move"
    for bad in ("play", "play B", "play B A2 A3", "play X A1", "play B Z1", "play B A6", "play B I3",
                "play B A0", "play B 3A", "play B resign", "play B A99999999999999999999999999"):
        fails(engine, bad)
    assert ok(engine, "showboard") == before
    assert ok(engine, "is_legal W A1") == "0"
    assert ok(engine, "is_legal W A2") == "0"
    assert ok(engine, "is_legal W pass") == "1"
    assert ok(engine, "is_legal white e5") == "1"
    fails(engine, "is_legal W")
    fails(engine, "is_legal green A1")


def test_either_colour_may_move_and_passes_count(engine):
    ok(engine, "boardsize 5")
    ok(engine, "play W C3")
    ok(engine, "play W pass")
    ok(engine, "play white PASS")
    assert "Next player: Black" in ok(engine, "showboard")
    assert ok(engine, "final_score") == "W+32.5"  # 25 points of area + 7.5 komi


def test_undo(engine):
    ok(engine, "boardsize 5")
    empty = board_rows(engine)
    ok(engine, "play B C3")
    one = board_rows(engine)
    ok(engine, "play W D3")
    ok(engine, "undo")
    assert board_rows(engine) == one
    ok(engine, "undo")
    assert board_rows(engine) == empty
    assert fails(engine, "undo") == "cannot undo"
    fails(engine, "undo 1")


def test_undo_keeps_handicap_stones(engine):
    ok(engine, "boardsize 9")
    ok(engine, "fixed_handicap 2")
    ok(engine, "play W E5")
    ok(engine, "undo")
    assert fails(engine, "undo") == "cannot undo"
    assert "Next player: White" in ok(engine, "showboard")
    assert ok(engine, "final_status_list alive") == "G7 C3"


# ------------------------------------------------------------------------------------------------
# showboard

def test_showboard_layout_and_recent_move_marks(engine):
    ok(engine, "boardsize 5")
    ok(engine, "komi 0")
    for move in ("B A1", "W E5", "B C3", "W D3", "B pass"):
        ok(engine, f"play {move}")
    lines = ok(engine, "showboard").split("\n")
    assert lines[0].startswith("MoveNum: 5 HASH: ")
    assert lines[1:] == [
        "   A B C D E",
        " 5 . . . . O",
        " 4 . . . . .",
        " 3 . . X1O2.",  # the last three moves are C3, D3 and a pass: marks 1 and 2
        " 2 . . . . .",
        " 1 X . . . .",
        "Next player: White",
        'Rules: {"friendlyPassOk":false,"hasButton":false,"ko":"POSITIONAL","komi":0.0,'
        '"scoring":"AREA","suicide":true,"tax":"NONE","whiteHandicapBonus":"0"}',
        "B stones captured: 0",
        "W stones captured: 0",
    ]


def test_showboard_mark_at_the_end_of_a_row_and_handicap_bonus():
    engine = GtpEngine(GtpConfig(rules="chinese"))
    ok(engine, "boardsize 7")
    ok(engine, "fixed_handicap 3")
    ok(engine, "play W G1")
    lines = ok(engine, "showboard").split("\n")
    assert lines[8] == " 1 . . . . . . O1"
    assert "Handicap bonus score: 3" in lines


def test_showboard_game_phase_in_the_encore():
    engine = GtpEngine(GtpConfig(rules="japanese", preventCleanupPhase=False))
    ok(engine, "boardsize 5")
    ok(engine, "play B pass")
    ok(engine, "play W pass")
    assert "Game phase: 1" in ok(engine, "showboard").split("\n")


# ------------------------------------------------------------------------------------------------
# set_position and handicaps

def test_set_position(engine):
    ok(engine, "boardsize 5")
    ok(engine, "play W E5")
    ok(engine, "set_position B A1 W b2 black C3")
    lines = ok(engine, "showboard").split("\n")
    assert lines[0].startswith("MoveNum: 0 ")
    assert lines[4:7] == [" 3 . . X . .", " 2 . O . . .", " 1 X . . . ."]
    assert "Next player: Black" in lines
    assert fails(engine, "undo") == "cannot undo"
    before = ok(engine, "showboard")
    for bad in ("B A1 W A1", "B A1 B", "B pass", "X A1", "B A9", "B A1 W A2 W B1",
                "W A1 B A2 B B1 B B2"):
        fails(engine, f"set_position {bad}")
    assert ok(engine, "showboard") == before
    ok(engine, "set_position")
    assert ok(engine, "final_status_list alive") == ""


FIXED_19 = {2: "Q16 D4", 3: "Q16 D4 D16" , 4: "D16 Q16 D4 Q4", 5: "D16 Q16 K10 D4 Q4",
            6: "D16 Q16 D10 Q10 D4 Q4", 7: "D16 Q16 D10 K10 Q10 D4 Q4",
            8: "D16 K16 Q16 D10 Q10 D4 K4 Q4", 9: "D16 K16 Q16 D10 K10 Q10 D4 K4 Q4"}


@pytest.mark.parametrize("n", range(2, 10))
def test_fixed_handicap_19(engine, n):
    reply = ok(engine, f"fixed_handicap {n}")
    assert sorted(reply.split()) == sorted(FIXED_19[n].split())
    assert "Next player: White" in ok(engine, "showboard")
    sgf = ok(engine, "printsgf")
    assert f"HA[{n}]" in sgf and "AB[" in sgf


def test_fixed_handicap_reply_is_in_board_order(engine):
    assert ok(engine, "fixed_handicap 9") == "D16 K16 Q16 D10 K10 Q10 D4 K4 Q4"
    ok(engine, "boardsize 9")
    assert ok(engine, "fixed_handicap 2") == "G7 C3"


def test_fixed_handicap_refusals(engine):
    for bad in ("", "1", "10", "x", "2 3", "-5"):
        fails(engine, f"fixed_handicap {bad}")
    ok(engine, "boardsize 6")
    assert "too small" in fails(engine, "fixed_handicap 2")
    ok(engine, "boardsize 8")
    assert "even" in fails(engine, "fixed_handicap 5")
    ok(engine, "fixed_handicap 4")
    assert fails(engine, "fixed_handicap 2") == "Board is not empty"
    ok(engine, "boardsize 7")
    assert "size 7" in fails(engine, "fixed_handicap 5")


def test_place_free_handicap(engine):
    assert sorted(ok(engine, "place_free_handicap 4").split()) == sorted(FIXED_19[4].split())
    ok(engine, "clear_board")
    stones = ok(engine, "place_free_handicap 12").split()
    assert len(set(stones)) == 12 and set(FIXED_19[9].split()) <= set(stones)
    assert "Next player: White" in ok(engine, "showboard")
    ok(engine, "clear_board")
    assert len(ok(engine, "place_free_handicap 100").split()) == 30  # KataGo's cap
    for size, n in ((5, 6), (3, 2), (8, 7), (2, 2)):
        ok(engine, f"boardsize {size}")
        stones = ok(engine, f"place_free_handicap {n}").split()
        assert len(set(stones)) == min(n, size * size // 4)
        assert ok(engine, "final_status_list alive").split() == stones
    assert fails(engine, "place_free_handicap 2") == "Board is not empty"
    fails(engine, "place_free_handicap 1")


def test_set_free_handicap(engine):
    ok(engine, "boardsize 9")
    assert ok(engine, "set_free_handicap C3 g7 E5") == ""
    assert ok(engine, "final_status_list alive") == "G7 E5 C3"
    assert "Next player: White" in ok(engine, "showboard")
    assert fails(engine, "set_free_handicap D4 D5") == "Board is not empty"
    ok(engine, "clear_board")
    for bad in ("", "C3", "C3 C3", "C3 pass", "C3 Z9", "C3 C10"):
        fails(engine, f"set_free_handicap {bad}")
    ok(engine, "boardsize 2")
    fails(engine, "set_free_handicap A1 A2 B1 B2")  # a full board: too many, and no liberties
    ok(engine, "set_free_handicap A1 B2")


# ------------------------------------------------------------------------------------------------
# Scoring

def test_final_score_formats(engine):
    ok(engine, "boardsize 9")
    ok(engine, "komi 7")
    assert ok(engine, "final_score") == "W+7.0"
    ok(engine, "play B E5")
    assert ok(engine, "final_score") == "B+74.0"
    ok(engine, "komi 81")
    assert ok(engine, "final_score") == "0"
    ok(engine, "komi 80.5")
    assert ok(engine, "final_score") == "B+0.5"
    fails(engine, "final_score now")


def test_final_score_of_a_finished_game_and_no_result():
    engine = GtpEngine(GtpConfig(rules="tromp-taylor"))
    ok(engine, "boardsize 5")
    ok(engine, "komi 0.5")
    ok(engine, "play B C3")
    ok(engine, "play W pass")
    ok(engine, "play B pass")
    assert ok(engine, "final_score") == "B+24.5"
    sgf = ok(engine, "printsgf")
    assert sgf == "(;FF[4]GM[1]SZ[5]PB[]PW[]HA[0]KM[0.5]RU[TrompTaylor]RE[B+24.5];B[cc];W[];B[]C[result=B+24.5])"


def test_final_status_list(engine):
    ok(engine, "boardsize 5")
    # White owns the whole board with two eyes (pass-alive); the black stone at A1 is inside it.
    ok(engine, "set_position W B1 W B2 W B3 W B4 W B5 W C1 W C3 W C5 W D1 W D2 W D3 W D4 W D5 "
               "W E1 W E2 W E3 W E4 W E5 B A1")
    assert ok(engine, "final_status_list dead") == "A1"
    alive = ok(engine, "final_status_list alive").split()
    assert len(alive) == 18 and "A1" not in alive
    assert ok(engine, "final_status_list seki") == ""
    assert ok(engine, "final_score") == "W+32.5"  # the dead stone's point counts for white
    for bad in ("", "ALIVE", "dead alive", "unknown"):
        fails(engine, f"final_status_list {bad}")


# ------------------------------------------------------------------------------------------------
# SGF

def test_printsgf_and_loadsgf_round_trip(engine, tmp_path):
    ok(engine, "boardsize 9")
    ok(engine, "komi 6")
    ok(engine, "kata-set-rules japanese")
    ok(engine, "fixed_handicap 3")
    for move in ("W E5", "B D5", "W pass", "B E6"):
        ok(engine, f"play {move}")
    sgf = ok(engine, "printsgf")
    assert sgf == ("(;FF[4]GM[1]SZ[9]PB[]PW[]HA[3]KM[6]RU[Japanese]AB[cc][gc][cg]"
                   ";W[ee];B[de];W[];B[ed])")
    path = tmp_path / "game.sgf"
    ok(engine, f"printsgf {path}")
    assert path.read_text() == sgf
    assert ok(engine, "printsgf -") == sgf
    board = board_rows(engine)

    other = GtpEngine(GtpConfig())
    ok(other, f"loadsgf {path}")
    assert ok(other, "printsgf") == sgf
    assert board_rows(other) == board
    assert ok(other, "get_komi") == "6"
    ok(other, f"loadsgf {path} 3")  # the position before move 3: two moves played
    assert ok(other, "showboard").split("\n")[0].startswith("MoveNum: 2 ")
    assert "Next player: White" in ok(other, "showboard")
    ok(other, f"loadsgf {path} 1")
    assert "Next player: White" in ok(other, "showboard")  # handicap stones, white first
    ok(other, f"loadsgf {path} 1000")
    assert board_rows(other) == board


def test_loadsgf_without_rules_keeps_current_rules_and_komi(engine, tmp_path):
    path = tmp_path / "plain.sgf"
    path.write_text("(;GM[1]SZ[7];B[dd];W[cc])")
    ok(engine, "kata-set-rules chinese")
    ok(engine, "komi 3")
    ok(engine, f"loadsgf {path}")
    assert ok(engine, "get_komi") == "3"
    assert json.loads(ok(engine, "kata-get-rules"))["ko"] == "SIMPLE"
    assert len(board_rows(engine)) == 1 + 7 + 4
    path.write_text("(;GM[1]SZ[7]KM[0.5];B[dd])")
    ok(engine, f"loadsgf {path}")
    assert ok(engine, "get_komi") == "0.5"


def test_loadsgf_errors_leave_the_game_alone(engine, tmp_path):
    ok(engine, "play B D4")
    before = ok(engine, "showboard")
    bad_sgf = tmp_path / "bad.sgf"
    bad_sgf.write_text("(;GM[1]SZ[9];B[ee];W[ee])")  # the second move is on an occupied point
    big = tmp_path / "big.sgf"
    big.write_text("(;GM[1]SZ[25];B[aa])")
    junk = tmp_path / "junk.sgf"
    junk.write_bytes(b"\x00\xff not an sgf")
    for command in (f"loadsgf {bad_sgf}", f"loadsgf {big}", f"loadsgf {junk}", f"loadsgf {tmp_path}",
                    f"loadsgf {tmp_path / 'missing.sgf'}", "loadsgf", f"loadsgf {bad_sgf} 0",
                    f"loadsgf {bad_sgf} x", f"loadsgf {bad_sgf} 1 2", "loadsgf /dev/zero"):
        fails(engine, command)
    assert ok(engine, "showboard") == before


def test_printsgf_writes_an_encore_pass_for_ko_as_katago_does():
    engine = GtpEngine(GtpConfig(rules="japanese", preventCleanupPhase=False))
    for command in KO_SETUP + ["play W pass", "play B pass", "play W C3"]:
        ok(engine, command)  # two passes start the encore; white takes the ko back
    stones = ok(engine, "final_status_list alive")
    ok(engine, "play B D3")  # retaking a stone just taken in the encore: a pass-for-ko
    assert ok(engine, "final_status_list alive") == stones, "a pass-for-ko places no stone"
    assert ok(engine, "printsgf").endswith(";W[];B[];W[cc];B[]TR[dc]C[Pass for ko])")
    assert "Game phase: 1" in ok(engine, "showboard")


def test_printsgf_errors(engine, tmp_path):
    fails(engine, f"printsgf {tmp_path / 'no' / 'such' / 'dir.sgf'}")
    fails(engine, "printsgf a b")


# ------------------------------------------------------------------------------------------------
# Start-up and the real binary

def test_missing_model_file_is_refused_clearly(caplog, tmp_path):
    out = io.StringIO()
    missing = tmp_path / "net.bin.gz"
    with caplog.at_level(logging.ERROR, logger="goloop"):
        assert run_gtp(GtpConfig(model=str(missing)), io.StringIO("name\n"), out) == 1
    assert out.getvalue() == ""
    assert "net.bin.gz" in caplog.text


def test_bad_config_rules_are_refused():
    assert run_gtp(GtpConfig(rules="nonsense"), io.StringIO("name\n"), io.StringIO()) == 1


def test_log_all_gtp_communication(caplog):
    with caplog.at_level(logging.INFO, logger="goloop"):
        session(["name"], GtpConfig(logAllGTPCommunication=True))
    assert "Controller: name" in caplog.text and "= goloop" in caplog.text


def test_goloop_gtp_binary_starts_answers_and_quits():
    exe = pathlib.Path(sys.executable).with_name("goloop")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "goloop"]
    result = subprocess.run(command + ["gtp", "--override", "defaultBoardSize=9"],
                            input="1 protocol_version\n2 name\n3 play B E5\n4 final_score\n5 quit\n6 name\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "=1 2\n\n=2 goloop\n\n=3 \n\n=4 B+73.5\n\n=5 \n\n"
