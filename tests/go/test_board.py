"""The Cython board on hand-drawn positions (minigo-style ASCII fixtures).

Each fixture is a position drawn top row first ('X' black, 'O' white, '.' empty); points are
(x, y) with y = 0 the top row. These tests spell out the mechanics every other module relies on:
captures, suicide, the simple-ko point exactly as KataGo sets it, liberties, the Zobrist hash
and input checking. tests/go/test_board_properties.py checks the same board against the slow
PyBoard oracle on random games; the fixtures here name the cases a reader should see drawn.
"""
import copy
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from goloop.common.go.board import Board, color_of

EMPTY, BLACK, WHITE = 0, 1, 2


def board(text: str) -> Board:
    return Board.from_ascii(textwrap.dedent(text))


def ascii_of(text: str) -> str:
    """A fixture in to_ascii()'s form: rows without indentation or inner spaces."""
    return "\n".join(r.replace(" ", "") for r in text.strip().splitlines() if r.strip())


def assert_consistent(b: Board) -> None:
    """Incremental bookkeeping equals a recount: the hash and every chain's liberty count."""
    assert b.hash == b.hash_from_scratch()
    for y in range(b.y_size):
        for x in range(b.x_size):
            if b[(x, y)] != EMPTY:
                assert b.liberty_count((x, y)) == len(b.liberties((x, y))), (x, y)


# ---------------------------------------------------------------------------------------------
# Construction, orientation, ASCII.

def test_default_and_rectangular_sizes():
    assert (Board().x_size, Board().y_size) == (19, 19)
    assert (Board(9).x_size, Board(9).y_size) == (9, 9)
    b = Board(5, 3)
    assert (b.x_size, b.y_size) == (5, 3)
    assert b.to_ascii() == ".....\n.....\n....."
    assert b.stones().shape == (3, 5) and b.stones().dtype == np.int8
    assert not b.stones().any()
    assert b.ko is None and b.captures == {BLACK: 0, WHITE: 0}
    for xs, ys in [(2, 2), (2, 19), (19, 2), (19, 19)]:
        assert Board(xs, ys).stones().shape == (ys, xs)


def test_ascii_round_trip_and_orientation():
    text = """
        X . . O
        . . . .
        . O . X
    """
    b = board(text)
    assert b.to_ascii() == ascii_of(text)
    assert (b.x_size, b.y_size) == (4, 3)
    assert b[(0, 0)] == BLACK and b.get(3, 0) == WHITE  # y = 0 is the top row
    assert b[(1, 2)] == WHITE and b[(3, 2)] == BLACK
    assert b.stones().tolist() == [[1, 0, 0, 2], [0, 0, 0, 0], [0, 2, 0, 1]]
    assert Board.from_ascii(b.to_ascii()) == b
    assert repr(b).startswith("Board(4x3)")


def test_internal_locations_follow_the_padded_layout():
    # loc = (x + 1) + (y + 1) * (x_size + 1); pass is 1 (board.pxd).
    b = Board(5, 3)
    assert b.loc((0, 0)) == 7
    assert b.loc((4, 2)) == 5 + 3 * 6
    assert b.loc(None) == 1


def test_color_names():
    assert [color_of(c) for c in (1, 2, "B", "w", "black", "WHITE")] == [1, 2, 1, 2, 1, 2]


# ---------------------------------------------------------------------------------------------
# Liberties and chains.

def test_liberties_centre_edge_corner():
    b = board("""
        X . . . .
        . . O . .
        . . . . X
        . . . . .
    """)
    assert b.liberties((0, 0)) == {(1, 0), (0, 1)} and b.liberty_count((0, 0)) == 2
    assert b.liberty_count((4, 2)) == 3
    assert b.liberties((2, 1)) == {(2, 0), (1, 1), (3, 1), (2, 2)}
    assert b.liberty_count((2, 1)) == 4
    assert b.chain((1, 1)) == frozenset() and b.liberty_count((1, 1)) == 0
    assert b.liberties((1, 1)) == frozenset()


def test_merging_two_chains_recounts_shared_liberties():
    b = board("""
        . . . . .
        . X . X .
        . . . . .
    """)
    b.play((2, 1), BLACK)
    assert b.chain((1, 1)) == {(1, 1), (2, 1), (3, 1)} == b.chain((3, 1))
    assert b.liberties((2, 1)) == {(0, 1), (4, 1), (1, 0), (2, 0), (3, 0), (1, 2), (2, 2), (3, 2)}
    assert b.liberty_count((3, 1)) == 8
    b.play((2, 0), WHITE)
    assert b.liberty_count((1, 1)) == 7 and b.liberty_count((2, 0)) == 2
    b.play((1, 0), BLACK)  # joins one chain (incremental path): loses (1,0), gains (0,0)
    assert b.liberty_count((1, 1)) == 7
    assert b.liberty_count((2, 0)) == 1
    assert_consistent(b)


def test_joining_stone_does_not_double_count_liberties_the_chain_already_has():
    # (1,1) joins the chain at (1,0); its empty neighbours (0,1) and (2,1) are already
    # liberties of that chain, only (1,2) is new.
    b = board("""
        X X X
        . . .
        . . .
    """)
    assert b.liberty_count((0, 0)) == 3
    b.play((1, 1), BLACK)
    assert b.liberties((1, 1)) == {(0, 1), (2, 1), (1, 2)}
    assert b.liberty_count((0, 0)) == 3
    assert_consistent(b)


# ---------------------------------------------------------------------------------------------
# Captures.

@pytest.mark.parametrize("before, move, color, after, n", [
    pytest.param("""
        O . .
        X . .
        . . .
    """, (1, 0), BLACK, """
        . X .
        X . .
        . . .
    """, 1, id="corner"),
    pytest.param("""
        . X O X .
        . . . . .
    """, (2, 1), BLACK, """
        . X . X .
        . . X . .
    """, 1, id="edge"),
    pytest.param("""
        . . . . .
        . . X . .
        . X O X .
        . . . . .
    """, (2, 3), BLACK, """
        . . . . .
        . . X . .
        . X . X .
        . . X . .
    """, 1, id="centre"),
    pytest.param("""
        O O X .
        X . . .
        . . . .
    """, (1, 1), BLACK, """
        . . X .
        X X . .
        . . . .
    """, 2, id="two-stone-chain-in-corner"),
])
def test_single_chain_captures(before, move, color, after, n):
    b = board(before)
    captured_colour = 3 - color
    assert b.play(move, color) == n
    assert b.to_ascii() == ascii_of(after)
    assert b.captures == {captured_colour: n, color: 0}
    assert b.ko is None
    assert b.hash == board(after).hash
    assert_consistent(b)


def test_one_move_captures_two_chains_in_the_corner():
    b = board("""
        . X O
        X O .
        O . .
    """)
    assert b.is_suicide((0, 0), WHITE) is False  # it captures, so it is not suicide
    assert b.play((0, 0), WHITE) == 2
    assert b.to_ascii() == ascii_of("""
        O . O
        . O .
        O . .
    """)
    assert b.captures == {BLACK: 2, WHITE: 0}
    assert b.ko is None  # two stones captured: never a ko
    assert b.liberties((0, 0)) == {(1, 0), (0, 1)}
    assert_consistent(b)


def test_one_move_captures_two_chains_in_the_centre_and_frees_liberties():
    b = board("""
        . O . O .
        O X . X O
        . O . O .
    """)
    assert b.play((2, 1), WHITE) == 2
    assert b.to_ascii() == ascii_of("""
        . O . O .
        O . O . O
        . O . O .
    """)
    assert b.liberty_count((2, 1)) == 4
    assert b.liberties((1, 0)) == {(0, 0), (2, 0), (1, 1)}
    assert b.liberty_count((0, 1)) == 3
    assert b.captures == {BLACK: 2, WHITE: 0} and b.ko is None
    assert_consistent(b)


def test_snapback_is_not_a_ko():
    b = board("""
        X O . . O X
        X O O O O X
        . X X X X .
    """)
    assert b.play((2, 0), BLACK) == 0  # throw-in: one liberty left at (3,0)
    assert b.liberty_count((2, 0)) == 1 and b.liberty_count((1, 0)) == 1
    assert b.play((3, 0), WHITE) == 1  # white takes it ...
    assert b.ko is None  # ... with a stone that joined a chain: no ko
    assert b.liberties((3, 0)) == {(2, 0)}
    assert b.is_legal((2, 0), BLACK)
    assert b.play((2, 0), BLACK) == 7  # ... and black takes back seven
    assert b.to_ascii() == ascii_of("""
        X . X . . X
        X . . . . X
        . X X X X .
    """)
    assert b.captures == {BLACK: 1, WHITE: 7}
    assert b.ko is None
    assert_consistent(b)


# ---------------------------------------------------------------------------------------------
# Simple ko, KataGo's rule: the ko point is set when a move captures exactly one stone with a
# stone that is then a chain of one stone with exactly one liberty; it lasts one move.

KO = """
    . X O . .
    X O . O .
    . X O . .
"""


def test_ko_point_is_set_by_a_single_stone_capture_and_bans_the_retake():
    b = board(KO)
    assert b.play((2, 1), BLACK) == 1
    assert b.ko == (1, 1)
    assert not b.is_legal((1, 1), WHITE)
    assert not b.is_legal((1, 1), WHITE, multi_stone_suicide_legal=True)
    assert b.is_playable((1, 1), WHITE)  # GTP `play` tolerance: ko is the referee's business
    assert b.is_legal((4, 0), WHITE)
    assert_consistent(b)


def test_ko_point_clears_after_a_move_elsewhere():
    b = board(KO)
    b.play((2, 1), BLACK)
    b.play((4, 0), WHITE)
    assert b.ko is None
    assert b.is_legal((1, 1), WHITE)


def test_ko_point_clears_after_a_pass():
    b = board(KO)
    b.play((2, 1), BLACK)
    assert b.play(None, WHITE) == 0
    assert b.ko is None
    assert b.is_legal((1, 1), WHITE)


def test_ko_retake_through_play_moves_the_ko_point():
    b = board(KO)
    b.play((2, 1), BLACK)
    assert b.play((1, 1), WHITE) == 1  # allowed by play(), which only refuses unplayable moves
    assert b.to_ascii() == ascii_of(KO)
    assert b.ko == (2, 1)
    assert b.captures == {BLACK: 1, WHITE: 1}
    assert b.hash == board(KO).hash


def test_no_ko_when_the_capturing_stone_has_two_liberties():
    b = board("""
        . X O . .
        X O . O .
        . X . . .
    """)
    assert b.play((2, 1), BLACK) == 1
    assert b.liberties((2, 1)) == {(1, 1), (2, 2)}
    assert b.ko is None


def test_no_ko_when_the_capturing_stone_joins_a_chain_with_one_liberty():
    b = board("""
        . X O . .
        X O . O .
        O X X O .
        . O O . .
    """)
    assert b.play((2, 1), BLACK) == 1
    assert b.liberties((2, 1)) == {(1, 1)}
    assert b.chain((2, 1)) == {(2, 1), (1, 2), (2, 2)}
    assert b.ko is None
    assert b.is_legal((1, 1), WHITE)
    assert b.play((1, 1), WHITE) == 3


def test_no_ko_when_a_single_stone_with_one_liberty_captures_two_stones():
    b = board("""
        X O O . O X
        . X X O O .
        . . . . . .
    """)
    assert b.play((3, 0), BLACK) == 2
    assert b.liberties((3, 0)) == {(2, 0)}
    assert b.ko is None


# ---------------------------------------------------------------------------------------------
# Suicide.

SUICIDE = """
    X . O .
    O O . .
    . . . .
"""


def test_multi_stone_suicide_is_legal_only_with_the_flag_and_is_carried_out():
    b = board(SUICIDE)
    assert b.is_suicide((1, 0), BLACK)
    assert not b.is_legal((1, 0), BLACK)
    assert b.is_legal((1, 0), BLACK, multi_stone_suicide_legal=True)
    assert b.is_playable((1, 0), BLACK)
    assert b.play((1, 0), BLACK) == 0  # return value counts the opponent's stones only
    after = """
        . . O .
        O O . .
        . . . .
    """
    assert b.to_ascii() == ascii_of(after)
    assert b.captures == {BLACK: 2, WHITE: 0}
    assert b.ko is None
    assert b.hash == board(after).hash
    assert b.liberties((0, 1)) == {(0, 0), (1, 0), (0, 2), (1, 2), (2, 1)}
    assert b.liberty_count((0, 1)) == 5 and b.liberty_count((2, 0)) == 3
    assert_consistent(b)


def test_single_stone_suicide_is_refused():
    b = board("""
        . X .
        X . .
        . . .
    """)
    before = (b.to_ascii(), b.hash, b.captures)
    assert b.is_suicide((0, 0), WHITE)
    assert not b.is_playable((0, 0), WHITE)
    assert not b.is_legal((0, 0), WHITE)
    assert not b.is_legal((0, 0), WHITE, multi_stone_suicide_legal=True)
    with pytest.raises(ValueError, match="suicide"):
        b.play((0, 0), WHITE)
    assert (b.to_ascii(), b.hash, b.captures) == before
    assert b.is_legal((0, 0), BLACK) and not b.is_suicide((0, 0), BLACK)


def test_filling_own_last_liberty_next_to_a_chain_with_other_liberties_is_not_suicide():
    b = board("""
        . O .
        O . .
        . . .
    """)
    assert not b.is_suicide((0, 0), WHITE)
    b.play((0, 0), WHITE)
    assert b.chain((0, 0)) == {(0, 0), (1, 0), (0, 1)}
    assert b.liberty_count((0, 0)) == 3


# ---------------------------------------------------------------------------------------------
# Rectangular boards.

@pytest.mark.parametrize("transpose", [False, True], ids=["2x19", "19x2"])
def test_long_strip_capture_of_a_whole_line(transpose):
    def p(x, y):
        return (y, x) if transpose else (x, y)
    b = Board(19, 2) if transpose else Board(2, 19)
    for y in range(19):
        b.play(p(0, y), BLACK)
    for y in range(18):
        b.play(p(1, y), WHITE)
    assert len(b.chain(p(0, 0))) == 19 and b.liberties(p(0, 0)) == {p(1, 18)}
    assert len(b.chain(p(1, 0))) == 18 and b.liberty_count(p(1, 17)) == 1
    assert b.play(p(1, 18), WHITE) == 19
    assert b.captures == {BLACK: 19, WHITE: 0}
    assert b.liberty_count(p(1, 0)) == 19 and len(b.chain(p(1, 5))) == 19
    assert int((b.stones() == WHITE).sum()) == 19 and not (b.stones() == BLACK).any()
    assert b.ko is None
    with pytest.raises(ValueError):
        b.play(p(2, 0), BLACK)
    with pytest.raises(ValueError):
        b.play(p(0, 19), BLACK)
    assert_consistent(b)


# ---------------------------------------------------------------------------------------------
# Zobrist hash: a function of the stones and the board size only.

def test_equal_positions_by_different_move_orders_hash_equal():
    a, b = Board(9), Board(9)
    for move, color in [((2, 2), BLACK), ((6, 6), WHITE), ((2, 6), BLACK), ((6, 2), WHITE)]:
        a.play(move, color)
    for move, color in [((6, 2), WHITE), ((2, 6), BLACK), ((6, 6), WHITE), ((2, 2), BLACK)]:
        b.play(move, color)
    assert a.hash == b.hash == a.hash_from_scratch()
    assert a == b
    assert hash(a) == hash(b)


def test_hash_ignores_captures_and_history_but_not_stones_colours_or_size():
    captured = board("""
        O . .
        X . .
        . . .
    """)
    captured.play((1, 0), BLACK)
    drawn = board("""
        . X .
        X . .
        . . .
    """)
    assert captured.hash == drawn.hash
    assert captured.captures != drawn.captures and captured != drawn
    swapped = board("""
        . O .
        O . .
        . . .
    """)
    assert swapped.hash != drawn.hash
    moved = board("""
        . . X
        X . .
        . . .
    """)
    assert moved.hash != drawn.hash
    assert Board(5, 3).hash != Board(3, 5).hash
    assert Board(9).hash != Board(19).hash
    assert Board(9).hash == Board(9, 9).hash


def test_hash_returns_to_the_empty_board_value_when_the_board_empties_again():
    b = Board(3)
    empty = b.hash
    b.play((0, 0), BLACK)
    b.play((1, 0), WHITE)
    assert b.play((0, 1), WHITE) == 1
    assert b.to_ascii() == ".O.\nO..\n..."
    assert b.hash == b.hash_from_scratch() != empty
    b.set_stone((1, 0), EMPTY)
    b.set_stone((0, 1), EMPTY)
    assert b.hash == empty and b.hash_from_scratch() == empty


# ---------------------------------------------------------------------------------------------
# Copies and setup.

@pytest.mark.parametrize("make_copy", [Board.copy, copy.copy, copy.deepcopy],
                         ids=["copy", "copy.copy", "copy.deepcopy"])
def test_copy_is_independent(make_copy):
    b = board(KO)
    b.play((2, 1), BLACK)  # ko set, one capture
    snapshot = (b.to_ascii(), b.hash, b.ko, b.captures)
    c = make_copy(b)
    assert c == b and c is not b
    assert (c.to_ascii(), c.hash, c.ko, c.captures) == snapshot
    c.play((4, 0), WHITE)
    c.play((1, 1), WHITE)
    c.play((4, 2), BLACK)
    assert (b.to_ascii(), b.hash, b.ko, b.captures) == snapshot
    assert c != b
    b.play((3, 2), WHITE)
    assert c[(3, 2)] == EMPTY
    assert_consistent(b)
    assert_consistent(c)


def test_set_stone_places_and_removes_without_captures():
    b = board("""
        X X X
        . . .
        . . .
    """)
    b.set_stone((1, 0), EMPTY)  # splits the chain in two
    assert b.chain((0, 0)) == {(0, 0)} and b.chain((2, 0)) == {(2, 0)}
    assert b.liberty_count((0, 0)) == 2
    b.set_stone((0, 1), WHITE)
    b.set_stone((1, 0), WHITE)  # leaves black (0,0) with no liberty: setup does not capture
    assert b[(0, 0)] == BLACK and b.liberty_count((0, 0)) == 0
    assert b.captures == {BLACK: 0, WHITE: 0}
    b.set_stone((1, 1), "W")
    assert b.chain((1, 1)) == {(0, 1), (1, 1), (1, 0)}
    assert_consistent(b)


def test_set_stone_clears_the_ko_point():
    b = board(KO)
    b.play((2, 1), BLACK)
    b.set_stone((4, 2), WHITE)
    assert b.ko is None


# ---------------------------------------------------------------------------------------------
# Bad input.

@pytest.mark.parametrize("size", [(1,), (20,), (0,), (-3,), (19, 20), (5, 1), (1, 5), (20, 2)])
def test_bad_board_sizes(size):
    with pytest.raises(ValueError, match="size"):
        Board(*size)


@pytest.mark.parametrize("point", [(5, 0), (0, 3), (-1, 0), (0, -1), (19, 19)])
def test_off_board_points(point):
    b = Board(5, 3)
    for call in (lambda: b.play(point, BLACK), lambda: b.is_legal(point, BLACK),
                 lambda: b.is_playable(point, WHITE), lambda: b.is_suicide(point, BLACK),
                 lambda: b.set_stone(point, BLACK), lambda: b.chain(point),
                 lambda: b.liberty_count(point), lambda: b.liberties(point),
                 lambda: b.loc(point), lambda: b[point]):
        with pytest.raises(ValueError, match="off"):
            call()
    assert not b.stones().any()


@pytest.mark.parametrize("color", [0, 3, -1, "red", "", None])
def test_bad_colours(color):
    b = Board(5)
    for call in (lambda: b.play((0, 0), color), lambda: b.is_legal((0, 0), color),
                 lambda: b.is_playable((0, 0), color), lambda: b.is_suicide((0, 0), color)):
        with pytest.raises(ValueError, match="colour"):
            call()
    with pytest.raises(ValueError, match="colour"):
        b.set_stone((0, 0), "red")
    with pytest.raises(ValueError, match="colour"):
        b.set_stone((0, 0), 3)
    assert not b.stones().any()


def test_play_on_an_occupied_point_or_set_stone_on_pass():
    b = Board(5)
    b.play((2, 2), BLACK)
    with pytest.raises(ValueError, match="occupied"):
        b.play((2, 2), WHITE)
    assert not b.is_playable((2, 2), WHITE) and not b.is_legal((2, 2), BLACK)
    with pytest.raises(ValueError, match="pass"):
        b.set_stone(None, BLACK)


@pytest.mark.parametrize("move", [5, "C3", (1, 2, 3), (1,), ("1", 2)])
def test_malformed_moves_are_value_errors(move):
    # A move is (x, y) or None; anything else is bad input and must say so as a ValueError.
    b = Board(5)
    with pytest.raises(ValueError):
        b.play(move, BLACK)


def test_non_integer_coordinates_are_refused():
    # Truncating (0.5, 1.9) to (0, 1) would silently play where the caller did not mean.
    b = Board(5)
    for call in (lambda: b.play((0.5, 1.9), BLACK), lambda: b.is_legal((2.7, 0), BLACK),
                 lambda: b.loc((1.5, 0))):
        with pytest.raises(ValueError):
            call()
    assert not b.stones().any()


@pytest.mark.parametrize("text", ["X.\n.", "X?\n..", "X" * 20 + "\n" + "." * 20, "X.", "X\nO"])
def test_bad_ascii(text):
    with pytest.raises(ValueError):
        Board.from_ascii(text)


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_empty_ascii_is_a_value_error_not_a_crash(text):
    # Run in a child interpreter: the failure mode being guarded against is a segfault.
    code = (
        "from goloop.common.go.board import Board\n"
        "try:\n"
        f"    Board.from_ascii({text!r})\n"
        "except ValueError:\n"
        "    print('ValueError')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, "ValueError"), result.stderr
