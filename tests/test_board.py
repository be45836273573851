"""The Cython board on hand-drawn positions (minigo-style ASCII fixtures).

Each fixture is a position drawn top row first ('X' black, 'O' white, '.' empty); points are
(x, y) with y = 0 the top row. The tests pin down the mechanics every other module relies on:
captures, suicide, the simple-ko point exactly as KataGo sets it, liberties, the Zobrist hash
and input checking. tests/test_board_properties.py checks the same board against the slow
PyBoard oracle on random games; these fixtures name the cases a reader should see spelled out.
"""
import copy
import textwrap

import numpy as np
import pytest

from goloop.common.board import Board, color_of

EMPTY, BLACK, WHITE = 0, 1, 2


def board(text: str) -> Board:
    return Board.from_ascii(textwrap.dedent(text))


def ascii_of(text: str) -> str:
    """A fixture in to_ascii()'s form: rows without indentation or inner spaces."""
    return "\n".join(r.strip().replace(" ", "") for r in text.strip().splitlines() if r.strip())


def assert_consistent(b: Board) -> None:
    """Incremental bookkeeping equals a recount: hash and every chain's liberty count."""
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
    assert "Board(4x3)" in repr(b)


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
        . . . . .
    """)
    assert b.liberty_count((0, 0)) == 2
    assert b.liberties((0, 0)) == {(1, 0), (0, 1)}
    assert b.liberty_count((4, 2)) == 3
    assert b.liberty_count((2, 1)) == 4
    assert b.liberties((2, 1)) == {(2, 0), (1, 1), (3, 1), (2, 2)}
    assert b.chain((1, 1)) == frozenset() and b.liberty_count((1, 1)) == 0
    assert b.liberties((1, 1)) == frozenset()


def test_chain_merging_shares_liberties():
    b = board("""
        . . . . .
        . X . X .
        . . . . .
    """)
    assert b.liberty_count((1, 1)) == 4 and b.liberty_count((3, 1)) == 4
    b.play((2, 1), BLACK)  # joins two chains: liberties recounted, (2,0)/(2,2) shared
    assert b.chain((1, 1)) == {(1, 1), (2, 1), (3, 1)} == b.chain((3, 1))
    assert b.liberties((2, 1)) == {(0, 1), (4, 1), (1, 0), (2, 0), (3, 0), (1, 2), (2, 2), (3, 2)}
    assert b.liberty_count((3, 1)) == 8
    b.play((2, 0), WHITE)
    assert b.liberty_count((1, 1)) == 7
    assert b.liberty_count((2, 0)) == 2
    b.play((1, 0), BLACK)  # joins one chain: incremental update
    assert b.liberty_count((1, 1)) == 7  # lost (1,0), gained (0,0)
    assert b.liberty_count((2, 0)) == 1
    assert_consistent(b)


def test_shared_liberty_counted_once_when_joining():
    # The new stone at (1,1) touches the chain twice round the empty (0,1)... no: its empty
    # neighbours (0,1) and (1,0) are already liberties of the chain, so only (1,2) and (2,1)
    # would be new, and (2,1) is. Checks the "already adjacent" test of the incremental path.
    b = board("""
        X . . .
        . . X .
        . . . .
    """)
    b.play((1, 0), BLACK)
    assert b.liberties((0, 0)) == {(0, 1), (1, 1), (2, 0)}
    assert b.liberty_count((0, 0)) == 3
    b.play((1, 1), BLACK)  # joins (0,0)-(1,0) and (2,1): merge of two chains
    assert b.liberty_count((2, 1)) == len(b.liberties((2, 1))) == 7
    assert_consistent(b)


# ---------------------------------------------------------------------------------------------
# Captures.

def test_capture_in_centre_edge_and_corner():
    b = board("""
        O X . . . O .
        X . . X . X O
        . . X O X . .
        . . . X . . .
    """)
    assert b.play((3, 1), BLACK) == 0  # already there? no: (3,1) is black; play elsewhere
