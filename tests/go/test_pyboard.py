"""Tests for the pure-Python oracle board on small hand-drawn positions."""

import random

import pytest

from goloop.common.go.pyboard import BLACK, EMPTY, WHITE, BoardError, PyBoard, random_playout


def board_from(ascii_rows: str) -> PyBoard:
    """Build a board from rows top to bottom; 'X' black, 'O' white, '.' empty."""
    rows = ascii_rows.split()
    board = PyBoard(len(rows[0]), len(rows))
    board.stones = [{".": EMPTY, "X": BLACK, "O": WHITE}[c] for row in rows for c in row]
    return board


def at(board: PyBoard, x: int, y: int) -> int:
    return y * board.x_size + x


def test_empty_board_and_sizes():
    b = PyBoard(9)
    assert (b.x_size, b.y_size) == (9, 9)
    assert b.stones == [EMPTY] * 81
    assert b.ko_point is None and b.captures == {BLACK: 0, WHITE: 0}
    assert PyBoard(5, 3).to_ascii() == ".....\n.....\n....."
    for bad in [(1,), (20,), (5, 1), (2, 20)]:
        with pytest.raises(BoardError):
            PyBoard(*bad)


def test_ascii_roundtrip_and_orientation():
    text = "X..\n.O.\n..."
    b = board_from(text)
    assert b.to_ascii() == text
    assert b.stones[at(b, 0, 0)] == BLACK  # y = 0 is the top row
    assert b.stones[at(b, 1, 1)] == WHITE


def test_chain_and_liberties_corner_and_edge():
    b = board_from("""
        XX...
        X.O..
        .....
        ....O
        ....O
    """)
    assert b.chain(at(b, 0, 0)) == {at(b, 0, 0), at(b, 1, 0), at(b, 0, 1)}
    assert b.liberties(at(b, 1, 0)) == {at(b, 2, 0), at(b, 1, 1), at(b, 0, 2)}
    assert b.liberties(at(b, 2, 1)) == {at(b, 2, 0), at(b, 1, 1), at(b, 3, 1), at(b, 2, 2)}
    assert b.chain(at(b, 4, 4)) == {at(b, 4, 3), at(b, 4, 4)}
    assert b.liberties(at(b, 4, 4)) == {at(b, 4, 2), at(b, 3, 3), at(b, 3, 4)}
    assert b.chain(at(b, 3, 3)) == frozenset() and b.liberties(at(b, 3, 3)) == frozenset()


def test_capture_of_group_counts_captured_colour():
    b = board_from("""
        OO...
        XXO..
        .O...
    """)
    b.play(at(b, 0, 2), WHITE)
    assert b.to_ascii() == "OO...\n..O..\nOO..."
    assert b.captures == {BLACK: 2, WHITE: 0}
    assert b.ko_point is None  # two stones captured: never ko


def test_corner_single_stone_capture_without_ko():
    b = board_from("""
        XO.
        ...
        ...
    """)
    b.play(at(b, 0, 1), WHITE)
    assert b.to_ascii() == ".O.\nO..\n..."
    assert b.captures[BLACK] == 1
    # The capturing stone has two liberties, so recapture is impossible anyway: no ko.
    assert b.ko_point is None


def test_ko_ban_and_clearing_by_pass_or_elsewhere():
    b = board_from("""
        .XO..
        XO.O.
        .XO..
        .....
    """)
    take = at(b, 2, 1)
    b.play(take, BLACK)  # captures the white stone at (1, 1)
    assert b.captures == {BLACK: 0, WHITE: 1}
    assert b.ko_point == at(b, 1, 1)
    assert not b.is_legal(at(b, 1, 1), WHITE, True)
    assert b.is_legal(None, WHITE, False)
    assert b.is_legal(at(b, 4, 3), WHITE, False)
    before = b.copy()
    b.play(None, WHITE)
    assert b.ko_point is None and b.is_legal(at(b, 1, 1), WHITE, False)
    before.play(at(before, 4, 3), WHITE)
    assert before.ko_point is None
    # Retaking after the ban lapses is itself a ko capture of one stone.
    b.play(at(b, 4, 3), BLACK)
    b.play(at(b, 1, 1), WHITE)
    assert b.ko_point == take and b.captures == {BLACK: 1, WHITE: 1}


def test_snapback_is_not_ko():
    b = board_from("""
        ..X.
        OOX.
        XX..
    """)
    throw_in, take = at(b, 0, 0), at(b, 1, 0)
    b.play(throw_in, BLACK)  # no capture: it puts both itself and the white pair in atari
    assert b.captures == {BLACK: 0, WHITE: 0} and b.ko_point is None
    assert b.liberties(throw_in) == {take} == b.liberties(at(b, 0, 1))
    b.play(take, WHITE)  # captures one stone, but the capturing chain is three stones
    assert b.to_ascii() == ".OX.\nOOX.\nXX.."
    assert b.captures == {BLACK: 1, WHITE: 0}
    assert b.ko_point is None
    assert b.is_legal(throw_in, BLACK, False)
    b.play(throw_in, BLACK)  # the snapback: three white stones come off
    assert b.to_ascii() == "X.X.\n..X.\nXX.."
    assert b.captures == {BLACK: 1, WHITE: 3}
    assert b.ko_point is None


def test_single_stone_suicide_is_illegal_always():
    b = board_from("""
        .O.
        O..
        ...
    """)
    corner = at(b, 0, 0)
    assert b.would_be_suicide(corner, BLACK)
    assert b.is_single_stone_suicide(corner, BLACK)
    assert not b.is_legal(corner, BLACK, True)
    assert not b.is_legal(corner, BLACK, False)
    assert b.is_legal(corner, WHITE, False)  # filling own eye is not suicide here
    with pytest.raises(BoardError):
        b.play(corner, BLACK)


def test_multi_stone_suicide_removes_own_chain():
    b = board_from("""
        X.XO.
        OOOO.
        .....
    """)
    move = at(b, 1, 0)
    assert b.would_be_suicide(move, BLACK)
    assert not b.is_single_stone_suicide(move, BLACK)
    assert not b.is_legal(move, BLACK, False)
    assert b.is_legal(move, BLACK, True)
    b.play(move, BLACK)
    assert b.to_ascii().splitlines()[0] == "...O."
    assert b.captures == {BLACK: 3, WHITE: 0}
    assert b.ko_point is None


def test_capture_beats_suicide_and_removes_several_chains():
    b = board_from("""
        XO.
        .XO
        XO.
    """)
    centre_left = at(b, 0, 1)
    # For White the point has no empty neighbour but captures three black stones at once.
    assert not b.would_be_suicide(centre_left, WHITE)
    # For Black the same point joins three chains that then have no liberty: multi-stone suicide.
    assert b.would_be_suicide(centre_left, BLACK)
    assert not b.is_single_stone_suicide(centre_left, BLACK)
    b.play(centre_left, WHITE)
    assert b.to_ascii() == ".O.\nO.O\n.O."
    assert b.captures == {BLACK: 3, WHITE: 0}
    assert b.ko_point is None


def _random_valid_position(rng: random.Random) -> PyBoard:
    """Random fill of a small board, kept only if every chain has a liberty."""
    while True:
        b = PyBoard(rng.randrange(2, 6), rng.randrange(2, 6))
        b.stones = [rng.choice((EMPTY, EMPTY, BLACK, WHITE)) for _ in b.stones]
        if all(b.liberties(p) for p, c in enumerate(b.stones) if c != EMPTY):
            return b


def test_would_be_suicide_agrees_with_playing_on_a_copy():
    rng = random.Random(7)
    suicides = 0
    for _ in range(300):
        b = _random_valid_position(rng)
        for pos in range(len(b.stones)):
            if b.stones[pos] != EMPTY:
                continue
            for color in (BLACK, WHITE):
                expected_suicide = b.would_be_suicide(pos, color)
                if b.is_single_stone_suicide(pos, color):
                    assert expected_suicide
                    continue
                trial = b.copy()
                trial.play(pos, color)
                assert (trial.stones[pos] == EMPTY) == expected_suicide
                suicides += expected_suicide
                # After any move every chain left on the board has a liberty.
                assert all(trial.liberties(p) for p, c in enumerate(trial.stones) if c != EMPTY)
                removed = sum(trial.captures.values()) - sum(b.captures.values())
                assert sum(c != EMPTY for c in trial.stones) == \
                    sum(c != EMPTY for c in b.stones) + 1 - removed
    assert suicides > 0  # the generator really exercises multi-stone suicide


def test_play_rejects_occupied_and_bad_input():
    b = board_from("X..\n...\n...")
    with pytest.raises(BoardError):
        b.play(0, WHITE)
    with pytest.raises(BoardError):
        b.play(9, WHITE)
    with pytest.raises(BoardError):
        b.play(1, 3)
    assert not b.is_legal(0, WHITE, True)


def test_copy_is_independent():
    b = board_from("X..\n.O.\n...")
    c = b.copy()
    c.play(2, BLACK)
    assert b.stones[2] == EMPTY and c.stones[2] == BLACK


def test_zobrist_hash_tracks_position_not_history():
    a, b = PyBoard(5), PyBoard(5)
    assert a.zobrist_hash() == 0
    a.play(3, BLACK)
    a.play(7, WHITE)
    b.play(7, WHITE)
    b.play(3, BLACK)
    assert a.zobrist_hash() == b.zobrist_hash() != 0
    b.play(12, BLACK)
    assert a.zobrist_hash() != b.zobrist_hash()
    assert PyBoard(5).copy().zobrist_hash() == 0


def test_random_playout_is_deterministic_and_respects_rules():
    b1, b2 = PyBoard(9), PyBoard(9)
    n1 = random_playout(b1, random.Random(123), 1000)
    n2 = random_playout(b2, random.Random(123), 1000)
    assert n1 == n2 and b1.stones == b2.stones
    assert 0 < n1 < 1000  # ended by two passes
    # Every chain left on the board has a liberty.
    for pos, color in enumerate(b1.stones):
        if color != EMPTY:
            assert b1.liberties(pos)
    # The last passer saw the final board (ko cleared by the first pass) and had no move.
    def has_move(color):
        return any(stone == EMPTY and b1.is_legal(pos, color, False)
                   and not all(b1.stones[n] == color for n in b1._neighbours[pos])
                   for pos, stone in enumerate(b1.stones))
    assert b1.ko_point is None
    assert not (has_move(BLACK) and has_move(WHITE))


def test_random_playout_max_moves_limit():
    b = PyBoard(9)
    assert random_playout(b, random.Random(1), 10) == 10
    assert sum(s != EMPTY for s in b.stones) <= 10
    assert random_playout(PyBoard(9), random.Random(1), 0) == 0
