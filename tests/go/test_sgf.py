"""SGF reading and writing, checked against KataGo's own printsgf output."""
import json
import os
import pathlib

import pytest

from goloop.common.go.coords import gtp_to_point, point_to_gtp
from goloop.common.go.rules import PRESETS, parse_rules
from goloop.common.go.sgf import (
    GameRecord,
    SgfError,
    format_result,
    load_sgf,
    parse_sgf,
    save_sgf,
    write_sgf,
)

REFERENCE = pathlib.Path(__file__).resolve().parents[3] / "shared" / "reference"
GAMES = json.loads((REFERENCE / "rules_games.json").read_text())["games"]


@pytest.mark.parametrize("game", GAMES, ids=[f"game{g['game_index']}" for g in GAMES])
def test_katago_printsgf_parses_to_the_played_moves(game):
    record = parse_sgf(game["printsgf"])
    size = game["board_size"]
    assert (record.x_size, record.y_size) == (size, size)
    assert [[color, point_to_gtp(point, size, size)] for color, point in record.moves] == game["moves"]
    assert record.moves == [(c, gtp_to_point(m, size, size)) for c, m in game["moves"]]
    assert record.komi == game["komi"]
    assert record.rules == parse_rules(game["rules"], komi=game["komi"])
    assert record.rules.to_json() == game["rules_json_from_kata_get_rules"]
    assert record.handicap == 0 and record.black_setup == [] and record.white_setup == []
    assert record.black_name == "" and record.white_name == ""


@pytest.mark.parametrize("game", GAMES, ids=[f"game{g['game_index']}" for g in GAMES])
def test_katago_printsgf_is_rewritten_byte_for_byte(game):
    assert write_sgf(parse_sgf(game["printsgf"])) == game["printsgf"]


def test_katago_result_and_final_comment():
    game = GAMES[0]
    record = parse_sgf(game["printsgf"])
    assert record.result == "W+40"
    assert record.move_comments[-1] == "result=W+40"
    assert all(c is None for c in record.move_comments[:-1])
    japanese = next(g for g in GAMES if g["rules"] == "japanese")
    record = parse_sgf(japanese["printsgf"])
    assert record.result is None and record.move_comments == []


def _full_record(**changes):
    record = GameRecord(
        x_size=9,
        y_size=13,
        komi=-2.5,
        rules=PRESETS["aga-button"].with_komi(-2.5),
        handicap=2,
        black_setup=[(2, 2), (6, 10)],
        white_setup=[(4, 4)],
        first_player="W",
        moves=[("W", (0, 12)), ("B", None), ("W", (8, 0)), ("W", (3, 3)), ("B", None)],
        result="B+R",
        black_name="Black [1] \\ bot",
        white_name="white]",
        root_comment="root\ncomment with ] and \\",
        move_comments=[None, "pass here", None, "two\nlines", None],
        extra_root_properties={"DT": ["2024-01-02"], "GN": ["a ] game"]},
    )
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def test_full_record_round_trip():
    record = _full_record()
    text = write_sgf(record)
    assert text.startswith("(;FF[4]GM[1]SZ[9:13]PB[Black [1\\] \\\\ bot]PW[white\\]]HA[2]KM[-2.5]RU[")
    assert "RE[B+R]AB[cc][gk]AW[ee]PL[W]DT[2024-01-02]GN[a \\] game]C[root\ncomment with \\] and \\\\]" in text
    assert ";B[]C[pass here]" in text
    assert parse_sgf(text) == record
    assert write_sgf(parse_sgf(text)) == text


def test_minimal_record_round_trip():
    record = GameRecord(x_size=5, y_size=5, komi=0.0)
    text = write_sgf(record)
    assert text == "(;FF[4]GM[1]SZ[5]PB[]PW[]HA[0]KM[0])"
    assert parse_sgf(text) == record


def test_rules_written_as_katago_names():
    assert "RU[Chinese]" in write_sgf(GameRecord(rules=PRESETS["chinese"]))
    assert "RU[koPOSITIONALscoreAREAtaxNONEsui1fpok1]" in write_sgf(GameRecord(rules=PRESETS["goe"]))
    record = parse_sgf("(;SZ[9]KM[7]RU[koPOSITIONALscoreAREAtaxNONEsui1fpok1])")
    assert record.rules == PRESETS["goe"].with_komi(7)


def test_unknown_rules_kept_verbatim():
    record = parse_sgf("(;GM[1]SZ[19]KM[6.5]RU[Chinese, pair go];B[pd])")
    assert record.rules is None and record.unparsed_rules == "Chinese, pair go"
    assert "RU[Chinese, pair go]" in write_sgf(record)


def test_komi_sources():
    # KM wins over a komi inside RU (KataGo reads rules from RU and komi from KM).
    record = parse_sgf("(;SZ[9]KM[5]RU[koSIMPLEscoreAREAkomi7.5])")
    assert record.komi == 5.0 and record.rules.komi == 5.0
    # No KM: the rules' komi.
    assert parse_sgf("(;SZ[9]RU[Japanese])").komi == 6.5
    assert parse_sgf("(;SZ[9])").komi == 7.5
    assert parse_sgf("(;SZ[9]KM[ 3.5 ])").komi == 3.5


def test_defaults_when_properties_are_missing():
    record = parse_sgf("(;;B[pd];W[dp])")
    assert (record.x_size, record.y_size) == (19, 19)
    assert record.moves == [("B", (15, 3)), ("W", (3, 15))]
    assert record.rules is None and record.result is None and record.first_player is None


def test_passes_and_tt():
    record = parse_sgf("(;SZ[9];B[tt];W[];B[aa])")
    assert record.moves == [("B", None), ("W", None), ("B", (0, 0))]
    assert write_sgf(record).endswith(";B[];W[];B[aa])")


def test_main_line_only():
    text = "(;SZ[9];B[aa](;W[bb];B[cc])(;W[dd]))"
    assert parse_sgf(text).moves == [("B", (0, 0)), ("W", (1, 1)), ("B", (2, 2))]


def test_setup_stones_with_rectangles_and_ae():
    text = "(;SZ[9]AB[aa:bb][ii]AW[cc]HA[4];AE[bb]AW[ab];B[ee])"
    record = parse_sgf(text)
    assert record.black_setup == [(0, 0), (1, 0), (8, 8)]
    assert record.white_setup == [(0, 1), (2, 2)]
    assert record.handicap == 4
    assert record.moves == [("B", (4, 4))]
    assert "AB[aa][ba][ii]AW[ab][cc]" in write_sgf(record)


def test_first_player_spellings():
    assert parse_sgf("(;SZ[9]PL[B])").first_player == "B"
    assert parse_sgf("(;SZ[9]PL[white])").first_player == "W"


def test_root_comment_and_extra_properties():
    record = parse_sgf("(;FF[4]CA[UTF-8]AP[KataGo:1.17.2]SZ[9]C[startTurnIdx=0]EV[Test \\] event];B[aa]C[v=100])")
    assert record.root_comment == "startTurnIdx=0"
    assert record.extra_root_properties == {"AP": ["KataGo:1.17.2"], "EV": ["Test ] event"]}
    assert record.move_comments == ["v=100"]


def test_non_ascii_text():
    record = GameRecord(x_size=9, y_size=9, black_name="黒", white_name="Weiß")
    text = write_sgf(record)
    assert text.startswith("(;FF[4]GM[1]CA[UTF-8]SZ[9]")
    assert parse_sgf(text) == record
    assert parse_sgf(text.encode("utf-8")) == record
    latin = "(;CA[ISO-8859-1]SZ[9]PB[Weiß])".encode("latin-1")
    assert parse_sgf(latin).black_name == "Weiß"
    # Without CA: UTF-8 if the bytes are UTF-8, else the SGF default ISO-8859-1.
    assert parse_sgf("(;SZ[9]PB[Weiß])".encode("utf-8")).black_name == "Weiß"
    assert parse_sgf("(;SZ[9]PB[Weiß])".encode("latin-1")).black_name == "Weiß"


def test_bytes_input_and_leading_junk():
    assert parse_sgf(b"some header\n(;SZ[9];B[aa])\n").moves == [("B", (0, 0))]


@pytest.mark.parametrize(
    "bad, message",
    [
        ("", "malformed SGF"),
        ("not an sgf", "malformed SGF"),
        ("(;SZ[9];B[aa]", "malformed SGF"),
        ("(;SZ[9]GM[2])", "not a Go game"),
        ("(;SZ[1])", "board size"),
        ("(;SZ[53])", "board size"),
        ("(;SZ[9:x])", "board size"),
        ("(;SZ[9:9:9])", "board size"),
        ("(;SZ[9]KM[7.3])", "komi"),
        ("(;SZ[9]KM[abc])", "komi"),
        ("(;SZ[9]KM[1000])", "komi"),
        ("(;SZ[9]HA[two])", "handicap"),
        ("(;SZ[9]HA[-1])", "handicap"),
        ("(;SZ[9]PL[X])", "player"),
        ("(;SZ[9];B[jj])", "bad point"),
        ("(;SZ[9];B[a])", "bad point"),
        ("(;SZ[9]AB[ba:aa])", "bad point"),
        ("(;SZ[9];B[aa];AB[bb])", "setup"),
        ("(;SZ[9]KM[1][2])", "exactly one value"),
        (b"(;CA[no-such-charset]SZ[9])", "character set"),
        (b"(;CA[UTF-8]SZ[9]PB[\xff])", "not valid UTF-8"),
    ],
)
def test_malformed_input(bad, message):
    with pytest.raises(SgfError, match=message):
        parse_sgf(bad)


def test_sgf_error_is_value_error():
    assert issubclass(SgfError, ValueError)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(x_size=1), "board size"),
        (dict(komi=7.3), "komi"),
        (dict(moves=[("X", (0, 0))]), "color"),
        (dict(moves=[("B", (9, 0))], move_comments=[]), "off the"),
        (dict(black_setup=[(0, 13)]), "off the"),
        (dict(first_player="b"), "first_player"),
        (dict(move_comments=["only one"]), "move comments"),
        (dict(extra_root_properties={"KM": ["7"]}), "extra root property"),
        (dict(extra_root_properties={"bad id": ["7"]}), "extra root property"),
    ],
)
def test_unwritable_records(changes, message):
    with pytest.raises(SgfError, match=message):
        write_sgf(_full_record(**changes))


def test_save_and_load(tmp_path):
    path = tmp_path / "game.sgf"
    record = _full_record()
    save_sgf(record, path)
    assert path.read_text(encoding="utf-8") == write_sgf(record) + "\n"
    assert load_sgf(path) == record
    # Overwrite in place; no temporary files are left behind.
    save_sgf(GameRecord(x_size=9, y_size=9), str(path))
    assert load_sgf(path) == GameRecord(x_size=9, y_size=9)
    assert os.listdir(tmp_path) == ["game.sgf"]


def test_save_failure_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "game.sgf"
    save_sgf(GameRecord(x_size=9, y_size=9), path)
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        save_sgf(_full_record(), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["game.sgf"]
    monkeypatch.undo()
    with pytest.raises(SgfError):
        save_sgf(_full_record(komi=0.1), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["game.sgf"]


def test_load_error_names_the_file(tmp_path):
    path = tmp_path / "broken.sgf"
    path.write_text("(;SZ[9];B[zz])")
    with pytest.raises(SgfError, match="broken.sgf"):
        load_sgf(path)


def test_format_result():
    assert format_result(40.0) == "W+40"
    assert format_result(-14.0) == "B+14"
    assert format_result(3.5) == "W+3.5"
    assert format_result(0.0) == "0"
    assert format_result(resigned_winner="B") == "B+R"
    assert format_result(no_result=True) == "Void"
    with pytest.raises(ValueError):
        format_result()
    with pytest.raises(ValueError):
        format_result(resigned_winner="X")


def test_reference_results_match_format_result():
    for game in GAMES:
        record = parse_sgf(game["printsgf"])
        if record.result is not None:
            sign = 1 if record.result.startswith("W+") else -1
            assert format_result(sign * float(record.result[2:])) == record.result
