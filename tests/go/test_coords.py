"""Coordinates: GTP vertices, SGF letters and flat positions, including KataGo's own output."""
import json
import pathlib

import pytest

from goloop.common.go.coords import (
    GTP_COLUMNS,
    CoordError,
    gtp_to_point,
    point_to_gtp,
    point_to_pos,
    point_to_sgf,
    policy_index,
    policy_index_to_point,
    pos_to_point,
    sgf_to_point,
    sgf_to_points,
)

REFERENCE = pathlib.Path(__file__).resolve().parents[3] / "shared" / "reference"


def test_gtp_letters_skip_i():
    assert GTP_COLUMNS == "ABCDEFGHJKLMNOPQRSTUVWXYZ"
    assert len(GTP_COLUMNS) == 25


@pytest.mark.parametrize(
    "vertex, size, point",
    [
        ("A1", 19, (0, 18)), ("T19", 19, (18, 0)), ("A19", 19, (0, 0)), ("T1", 19, (18, 18)),
        ("J1", 19, (8, 18)), ("H9", 9, (7, 0)), ("J9", 9, (8, 0)), ("D4", 19, (3, 15)), ("Q16", 19, (15, 3)),
        ("d4", 19, (3, 15)), (" q16 ", 19, (15, 3)), ("Z25", 25, (24, 0)), ("K10", 19, (9, 9)),
    ],
)
def test_gtp_known_vertices(vertex, size, point):
    assert gtp_to_point(vertex, size, size) == point
    assert point_to_gtp(point, size, size) == vertex.strip().upper()


@pytest.mark.parametrize("text", ["pass", "PASS", "Pass", "pss", " pass "])
def test_gtp_pass(text):
    assert gtp_to_point(text, 19, 19) is None


def test_point_to_gtp_pass():
    assert point_to_gtp(None, 9, 9) == "pass"


@pytest.mark.parametrize("x_size, y_size", [(9, 9), (19, 19), (25, 25), (7, 13), (13, 7), (2, 25), (30, 3)])
def test_gtp_round_trip_every_point(x_size, y_size):
    seen = set()
    for y in range(y_size):
        for x in range(x_size):
            vertex = point_to_gtp((x, y), x_size, y_size)
            assert gtp_to_point(vertex, x_size, y_size) == (x, y)
            assert gtp_to_point(vertex.lower(), x_size, y_size) == (x, y)
            seen.add(vertex)
    assert len(seen) == x_size * y_size


def test_gtp_rectangular_rows_count_from_bottom():
    # 7 wide, 13 tall: row 1 is the bottom row y = 12, column G the last column.
    assert gtp_to_point("A1", 7, 13) == (0, 12)
    assert gtp_to_point("G13", 7, 13) == (6, 0)
    with pytest.raises(CoordError):
        gtp_to_point("H1", 7, 13)
    with pytest.raises(CoordError):
        gtp_to_point("A14", 7, 13)


def test_gtp_wide_board_extended_columns():
    # KataGo's two-letter columns beyond Z: AA is column 25.
    assert point_to_gtp((25, 0), 30, 3) == "AA3"
    assert gtp_to_point("AA3", 30, 3) == (25, 0)
    assert gtp_to_point("ab1", 30, 3) == (26, 2)


@pytest.mark.parametrize(
    "bad, size",
    [("I5", 19), ("i5", 19), ("K10", 9), ("A0", 9), ("A10", 9), ("A20", 19), ("", 19), ("A", 19), ("1A", 19),
     ("AAA1", 19), ("A1.5", 19), ("A-1", 19), ("(1,1)", 19), ("resign", 19), ("AA1", 25), ("A１", 19)],
)
def test_gtp_bad_vertices(bad, size):
    with pytest.raises(CoordError):
        gtp_to_point(bad, size, size)


def test_gtp_errors_are_value_errors_with_a_message():
    with pytest.raises(ValueError, match="off the 9x9 board"):
        gtp_to_point("K10", 9, 9)
    with pytest.raises(ValueError, match="malformed"):
        gtp_to_point("A", 9, 9)
    with pytest.raises(ValueError, match="off the"):
        point_to_gtp((9, 0), 9, 9)
    with pytest.raises(ValueError):
        gtp_to_point("A1", 0, 9)


# --------------------------------------------------------------------------------------------
# SGF

@pytest.mark.parametrize(
    "text, size, point",
    [("aa", 19, (0, 0)), ("ss", 19, (18, 18)), ("dp", 19, (3, 15)), ("ia", 9, (8, 0)), ("ai", 9, (0, 8)),
     ("tt", 21, (19, 19)), ("Aa", 30, (26, 0)), ("ZZ", 52, (51, 51))],
)
def test_sgf_known_points(text, size, point):
    assert sgf_to_point(text, size, size) == point
    assert point_to_sgf(point, size, size) == text


def test_sgf_pass_forms():
    assert sgf_to_point("", 19, 19) is None
    assert sgf_to_point("tt", 19, 19) is None
    assert sgf_to_point("tt", 9, 9) is None
    assert sgf_to_point("tt", 19, 25) is None  # either side <= 19, as KataGo reads it
    assert sgf_to_point("tt", 20, 20) == (19, 19)
    assert point_to_sgf(None, 19, 19) == ""


@pytest.mark.parametrize("x_size, y_size", [(9, 9), (19, 19), (7, 13), (52, 2)])
def test_sgf_round_trip_every_point(x_size, y_size):
    for y in range(y_size):
        for x in range(x_size):
            assert sgf_to_point(point_to_sgf((x, y), x_size, y_size), x_size, y_size) == (x, y)


@pytest.mark.parametrize("bad, size", [("a", 19), ("aaa", 19), ("ja", 9), ("aj", 9), ("a1", 19), ("??", 19), ("uu", 19)])
def test_sgf_bad_points(bad, size):
    with pytest.raises(CoordError):
        sgf_to_point(bad, size, size)


def test_sgf_point_to_sgf_limits():
    with pytest.raises(CoordError):
        point_to_sgf((0, 0), 53, 53)
    with pytest.raises(CoordError):
        point_to_sgf((0, 9), 9, 9)


def test_sgf_rectangles():
    assert sgf_to_points("bc", 9, 9) == [(1, 2)]
    assert sgf_to_points("aa:bc", 9, 9) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert sgf_to_points("dd:dd", 9, 9) == [(3, 3)]
    for bad in ("bc:aa", "aa:", "aa:jj", "a:bb", "", "tt"):
        with pytest.raises(CoordError):
            sgf_to_points(bad, 9, 9)


# --------------------------------------------------------------------------------------------
# Flat positions

def test_positions():
    assert point_to_pos((0, 0), 19) == 0
    assert point_to_pos((3, 2), 9) == 21
    assert point_to_pos((6, 12), 7) == 90
    for pos in range(7 * 13):
        assert point_to_pos(pos_to_point(pos, 7), 7) == pos
    assert policy_index(None, 9, 9) == 81
    assert policy_index((8, 8), 9, 9) == 80
    assert policy_index_to_point(81, 9, 9) is None
    assert policy_index_to_point(10, 9, 9) == (1, 1)
    with pytest.raises(CoordError):
        policy_index_to_point(82, 9, 9)
    with pytest.raises(CoordError):
        policy_index((9, 0), 9, 9)


def test_convention_matches_katago_nn_output():
    # In this KataGo position white's ko recapture at D5 is illegal and occupied points are NaN
    # (null) in the policy; the null indices must be exactly those points under our convention.
    data = json.loads((REFERENCE / "rawnn_9x9_ko_komi7_tromptaylor.json").read_text())
    size = data["board_size"]
    nulls = {i for i, p in enumerate(data["outputs"]["policy"]) if p is None}
    occupied = {policy_index(gtp_to_point(m, size, size), size, size) for _, m in data["moves"]}
    occupied.discard(policy_index(gtp_to_point("D5", size, size), size, size))  # captured by E5
    ko_point = policy_index(gtp_to_point("D5", size, size), size, size)
    assert nulls == occupied | {ko_point}
    # And the showboard text places the last move (E5, marked "3") in row 5 from the bottom.
    row5 = next(line for line in data["showboard"] if line.startswith(" 5 "))
    x, y = gtp_to_point("E5", size, size)
    assert y == size - 5 and row5[3 + 2 * x] == "X"
