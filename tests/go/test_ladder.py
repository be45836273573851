"""Ladder search (goloop.common.go.ladder): hand-made positions, a brute-force oracle, and the
input planes 14/17 of real KataGo selfplay data reproduced bit for bit."""
import pathlib
import random

import numpy as np
import pytest

from goloop.common.go.board import Board
from goloop.common.go.ladder import (
    LadderError,
    is_ladder_captured,
    ladder_planes,
    ladder_working_moves,
    puts_in_inescapable_atari,
)
from goloop.common.go.pyboard import BLACK, EMPTY, PyBoard

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
SELFPLAY_NPZ = SHARED / "reference" / "katago_selfplay_sample.npz"


def board(text):
    return Board.from_ascii(text)


def with_stone(text, x, y, ch):
    rows = [list(r) for r in text.strip().splitlines()]
    assert rows[y][x] == "."
    rows[y][x] = ch
    return "\n".join("".join(r) for r in rows)


# O at (1,7) has one liberty, (2,7). Extending gives exactly two liberties, and the chase runs
# diagonally up and to the right across an empty board into the top edge.
CLASSIC = """
.........
.........
.........
.........
.........
.........
.X.......
XO.......
.XX......
"""

# The same shape one move earlier: O has two liberties, (1,6) and (2,7). Black at (1,6) starts
# the ladder; black at (2,7) lets O extend upwards to three liberties.
TWO_LIBS = """
.........
.........
.........
.........
.........
.........
.........
XO.......
.XX......
"""

# O on the first line in atari runs along the edge into the corner.
EDGE = """
.........
.........
.........
.........
.........
.........
.........
....X....
...XO....
"""


# ---------------------------------------------------------------------------------------------
# Hand-made positions.

def test_classic_ladder_works():
    assert is_ladder_captured(board(CLASSIC), (1, 7), True)


@pytest.mark.parametrize("breaker", [(5, 3), (6, 1), (7, 3), (3, 5)])
def test_white_stone_on_the_path_breaks_the_ladder(breaker):
    assert not is_ladder_captured(board(with_stone(CLASSIC, *breaker, "O")), (1, 7), True)


@pytest.mark.parametrize("bystander", [(8, 0), (4, 1)])
def test_white_stone_off_the_path_does_not_break_it(bystander):
    assert is_ladder_captured(board(with_stone(CLASSIC, *bystander, "O")), (1, 7), True)


def test_black_stone_on_the_path_keeps_the_ladder():
    assert is_ladder_captured(board(with_stone(CLASSIC, 5, 3, "X")), (1, 7), True)


def test_edge_ladder_runs_into_the_corner():
    assert is_ladder_captured(board(EDGE), (4, 8), True)


def test_edge_ladder_broken_by_stone_on_the_edge():
    assert not is_ladder_captured(board(with_stone(EDGE, 7, 8, "O")), (4, 8), True)


def test_edge_ladder_on_rectangular_boards_in_both_orientations():
    text = """
    .........
    .........
    .........
    ....X....
    ...XO....
    """
    wide = board(text)
    tall = board("\n".join("".join(col) for col in zip(*wide.to_ascii().splitlines())))
    assert (wide.x_size, wide.y_size, tall.x_size, tall.y_size) == (9, 5, 5, 9)
    assert is_ladder_captured(wide, (4, 4), True)
    assert is_ladder_captured(tall, (4, 4), True)
    for pla in (1, 2):
        lw, ww = ladder_planes(wide, pla)
        lt, wt = ladder_planes(tall, pla)
        assert lw.shape == (5, 9) and lt.shape == (9, 5)
        assert np.array_equal(lw.T, lt) and np.array_equal(ww.T, wt)
        assert lw[4, 4] == 1


def test_defender_escapes_by_capturing_a_chasing_stone_in_atari():
    # The black stone at (4,7) has one liberty, (5,7): white takes it instead of running.
    text = """
    .........
    .........
    .........
    .........
    .........
    .........
    ....O....
    ...OX....
    ..XXO....
    """
    assert not is_ladder_captured(board(text), (4, 8), True)
    # Either white stone alone leaves (4,7) with two liberties, and the edge ladder works.
    assert is_ladder_captured(board(text.replace("...OX....", "....X....")), (4, 8), True)
    assert is_ladder_captured(board(text.replace("....O....", ".........")), (4, 8), True)


def test_two_liberty_chain_working_move():
    b = board(TWO_LIBS)
    assert ladder_working_moves(b, (1, 7)) == ((1, 6),)
    assert not is_ladder_captured(b, (1, 7), True)   # two liberties: defender to move is safe
    assert is_ladder_captured(b, (1, 7), False)      # attacker to move captures it
    lad, work = ladder_planes(b, BLACK)
    assert lad[7, 1] == 1
    assert np.argwhere(work).tolist() == [[6, 1]]    # (y, x) of (1,6)
    # With white to move, the white chain is pla's own: no working moves for it.
    lad_w, work_w = ladder_planes(b, 2)
    assert np.array_equal(lad_w, lad)
    assert lad_w[7, 1] == 1 and work_w[6, 1] == 0


def test_two_liberty_chain_with_breaker_has_no_working_move():
    b = board(with_stone(TWO_LIBS, 5, 3, "O"))
    assert ladder_working_moves(b, (1, 7)) == ()
    lad, work = ladder_planes(b, BLACK)
    assert lad[7, 1] == 0 and not work.any()


# White (1,4) has liberties (0,4) and (2,4). Black (0,4) would take the lone white stone (0,5)
# and make a ko; white, unable to retake at once, could only extend into (2,4) and die. KataGo
# never trusts a ladder that runs through a ko, so this does not count as laddered. With a black
# stone at (0,5) instead there is no ko and the same atari works.
KO_LADDER = """
.........
.........
OOO......
OXX......
.O.X.....
OXX......
X........
.........
.........
"""


def test_ladder_that_needs_a_ko_counts_as_escaped():
    b = board(KO_LADDER)
    assert ladder_working_moves(b, (1, 4)) == ()
    assert not is_ladder_captured(b, (1, 4), False)
    lad, work = ladder_planes(b, BLACK)
    assert lad[4, 1] == 0 and work[4, 0] == 0


def test_same_ladder_without_the_ko_works():
    b = board(KO_LADDER.replace("OXX......\nX........", "XXX......\nX........"))
    assert ladder_working_moves(b, (1, 4)) == ((0, 4),)
    lad, work = ladder_planes(b, BLACK)
    assert lad[4, 1] == 1 and work[4, 0] == 1


# White's chain (2..4,7)+(3,8) has two liberties, (2,8) and (4,8), and both are ko mouths: black
# there takes a lone white stone. White connecting at either mouth gains nothing, and no black
# stone next to the chain is in atari: KataGo's double-ko rule calls this captured.
DOUBLE_KO = """
.........
.........
.........
.........
.........
.........
..XXX....
XXOOOXX..
XO.O.OX..
"""


def test_double_ko_mouths_count_as_captured():
    b = board(DOUBLE_KO)
    assert is_ladder_captured(b, (3, 8), False)
    # Black filling one mouth first: the root lifts the ko ban, white retakes, and black is back
    # at two ko mouths, so both first moves work.
    assert ladder_working_moves(b, (3, 8)) == ((2, 8), (4, 8))


def test_double_ko_rule_needs_no_attacker_stone_in_atari():
    # O at (0,6) leaves black's (0,7),(0,8),(1,7) with one liberty: the rule no longer applies,
    # and each ko-capturing atari by itself never counts.
    b = board(with_stone(DOUBLE_KO, 0, 6, "O"))
    assert not is_ladder_captured(b, (3, 8), False)


def test_search_never_changes_the_board():
    b = board(KO_LADDER)
    b.play((0, 4), BLACK)              # takes (0,5): simple ko at (0,5) for white
    assert b.ko == (0, 5)
    before = (b.to_ascii(), b.hash, b.ko, b.captures,
              {(x, y): b.liberty_count((x, y)) for x in range(9) for y in range(9)})
    is_ladder_captured(b, (1, 4), True)
    ladder_planes(b, 2)
    puts_in_inescapable_atari(b, (2, 4), BLACK)
    after = (b.to_ascii(), b.hash, b.ko, b.captures,
             {(x, y): b.liberty_count((x, y)) for x in range(9) for y in range(9)})
    assert before == after


def test_root_defender_ignores_the_simple_ko_ban():
    # Black fills one ko mouth of DOUBLE_KO, taking (1,8): white is in atari and the board bans
    # the retake. Were the ban kept, "defender to move after a ko capture" would call white
    # safe at once; the search lifts it at the root, white retakes, and dies to the double ko.
    b = board(DOUBLE_KO)
    b.play((2, 8), BLACK)
    assert b.ko == (1, 8) and b.liberty_count((3, 8)) == 1
    assert not b.is_legal((1, 8), 2)
    assert is_ladder_captured(b, (3, 8), True)
    assert ladder_planes(b, 2)[0][8, 3] == 1


def test_attackers_first_move_obeys_the_ko_ban():
    # Black has just taken a white stone at (0,1) with (0,0): white may not retake at once.
    # Retaking would also atari black (1,1) and work as a ladder, as would white at (1,2).
    b = board("""
    .OO......
    OXO......
    X.O......
    .O.......
    .........
    .........
    .........
    .........
    .........
    """)
    b.play((0, 0), BLACK)
    assert b.ko == (0, 1)
    assert ladder_working_moves(b, (1, 1)) == ((1, 2),)
    assert np.argwhere(ladder_planes(b, 2)[1]).tolist() == [[2, 1]]
    no_ko = board(b.to_ascii())
    assert set(ladder_working_moves(no_ko, (1, 1))) == {(0, 1), (1, 2)}
    assert np.argwhere(ladder_planes(no_ko, 2)[1]).tolist() == [[1, 0], [2, 1]]


def test_puts_in_inescapable_atari():
    b = board(TWO_LIBS)
    assert puts_in_inescapable_atari(b, (1, 6), BLACK)
    assert not puts_in_inescapable_atari(b, (2, 7), BLACK)   # white extends to 3 liberties
    assert not puts_in_inescapable_atari(b, (5, 5), BLACK)   # no atari at all
    assert not puts_in_inescapable_atari(b, (1, 7), BLACK)   # occupied: not a legal move
    assert not puts_in_inescapable_atari(board(with_stone(TWO_LIBS, 5, 3, "O")), (1, 6), BLACK)
    # White ataris black the same way in the colour-swapped position.
    swapped = TWO_LIBS.replace("X", "x").replace("O", "X").replace("x", "O")
    assert puts_in_inescapable_atari(board(swapped), (1, 6), 2)
    assert not puts_in_inescapable_atari(board(swapped), (1, 6), BLACK)


def test_bad_queries_raise():
    b = board(CLASSIC)
    with pytest.raises(LadderError):
        is_ladder_captured(b, (4, 4), True)       # empty point
    with pytest.raises(ValueError):
        is_ladder_captured(b, (9, 0), True)       # off the board
    with pytest.raises(LadderError):
        ladder_working_moves(b, None)
    with pytest.raises(ValueError):
        ladder_planes(b, 3)
    assert issubclass(LadderError, ValueError)


def test_chains_with_many_liberties_are_never_laddered():
    b = board(CLASSIC)
    assert not is_ladder_captured(b, (0, 7), True)   # black (0,7) has 2 liberties
    assert ladder_working_moves(b, (1, 6)) == ()     # black (1,6) has 3 liberties
    assert not is_ladder_captured(b, (1, 6), False)


# ---------------------------------------------------------------------------------------------
# A brute-force oracle: plain minimax over the same move sets and terminal rules, with none of
# the search's move ordering, bounds or pruning (those must not change any answer).

def _ko_capture_point(pb, pos, pla):
    if pb.stones[pos] != EMPTY:
        return False
    takes = []
    for n in pb._neighbours[pos]:
        if pb.stones[n] != 3 - pla:
            return False
        if len(pb.liberties(n)) == 1:
            takes.append(n)
    return len(takes) == 1 and len(pb.chain(takes[0])) == 1


def _libs_after(pb, pos, pla):
    c = pb.copy()
    c.play(pos, pla)
    return len(c.liberties(pos)) if c.stones[pos] == pla else 0


def _extension_lower_bound(pb, pos, pla):
    empties = caps = best = 0
    for n in pb._neighbours[pos]:
        if pb.stones[n] == EMPTY:
            empties += 1
        elif pb.stones[n] == 3 - pla:
            caps += len(pb.liberties(n)) == 1
        else:
            best = max(best, len(pb.liberties(n)) - 1)
    return caps + max(best, empties)


class _Oracle:
    def __init__(self, pb):
        self.limit = pb.x_size * pb.y_size * 3 // 2 + 1
        # Set when a verdict hinged on the one order-dependent shortcut of KataGo's search:
        # if the defender's lone liberty also captures and there are other captures, its
        # "provably >= 3 liberties" test is applied to whichever capture is listed last, which
        # depends on the order of a chain's internal stone list.
        self.order_dependent = False

    def captured(self, pb, pos, defender_to_move, depth=0, root=True):
        d = pb.stones[pos]
        a = 3 - d
        libs = pb.liberties(pos)
        if depth >= self.limit - 1:
            return True
        if not defender_to_move:
            if len(libs) <= 1:
                return True
            if len(libs) >= 3:
                return False
            l0, l1 = sorted(libs)
            chain = pb.chain(pos)
            if (all(pb.stones[n] != EMPTY for n in pb._neighbours[l0] + pb._neighbours[l1])
                    and _ko_capture_point(pb, l0, a) and _ko_capture_point(pb, l1, a)
                    and _libs_after(pb, l0, d) <= 2 and _libs_after(pb, l1, d) <= 2
                    and not any(pb.stones[n] == a and len(pb.liberties(n)) == 1
                                for s in chain for n in pb._neighbours[s])):
                return True
            for m in (l0, l1):
                if pb.is_legal(m, a, False):
                    c = pb.copy()
                    c.play(m, a)
                    if self.captured(c, pos, True, depth + 1, False):
                        return True
            return False
        if len(libs) >= 2:
            return False
        if root:
            pb = pb.copy()
            pb.ko_point = None
        elif pb.ko_point is not None:
            return False
        captures = set()
        for s in pb.chain(pos):
            for n in pb._neighbours[s]:
                if pb.stones[n] == a and len(pb.liberties(n)) == 1:
                    captures |= pb.liberties(n)
        candidates = sorted(captures) if libs <= captures else sorted(libs)
        shortcut = {_extension_lower_bound(pb, m, d) >= 3 for m in candidates}
        if shortcut == {True}:
            return False
        for m in sorted(captures | libs):
            if pb.is_legal(m, d, False):
                c = pb.copy()
                c.play(m, d)
                if not self.captured(c, pos, False, depth + 1, False):
                    return False
        if len(shortcut) > 1:
            self.order_dependent = True
        return True

    def planes(self, pb, pla):
        lad = np.zeros((pb.y_size, pb.x_size), np.uint8)
        work = np.zeros_like(lad)
        solved = {}
        for pos, colour in enumerate(pb.stones):
            if colour == EMPTY:
                continue
            libs = pb.liberties(pos)
            if len(libs) not in (1, 2):
                continue
            key = min(pb.chain(pos))
            if key not in solved:
                if len(libs) == 1:
                    solved[key] = self.captured(pb, pos, True)
                else:
                    works = []
                    for m in sorted(libs):
                        if pb.is_legal(m, 3 - colour, False):
                            c = pb.copy()
                            c.play(m, 3 - colour)
                            if self.captured(c, pos, True):
                                works.append(m)
                    solved[key] = bool(works)
                    if colour == 3 - pla:
                        for m in works:
                            work[divmod(m, pb.x_size)] = 1
            if solved[key]:
                lad[divmod(pos, pb.x_size)] = 1
        return lad, work


def test_search_agrees_with_brute_force_on_random_positions():
    rng = random.Random(20240611)
    compared = with_ladders = with_ko = ko_mattered = order_dependent = 0
    for game in range(200):
        size = rng.choice([5, 6, 7, 9])
        pb = PyBoard(size)
        b = Board(size)
        colour = BLACK
        for move in range(rng.randrange(8, size * size * 2)):
            legal = [p for p in range(size * size)
                     if pb.stones[p] == EMPTY and pb.is_legal(p, colour, False)]
            if not legal:
                break
            p = rng.choice(legal)
            pb.play(p, colour)
            b.play((p % size, p // size), colour)
            colour = 3 - colour
            if move % 12 and b.ko is None:
                continue
            assert b.ko == (None if pb.ko_point is None else (pb.ko_point % size,
                                                              pb.ko_point // size))
            pla = rng.choice([1, 2])
            oracle = _Oracle(pb)
            want = oracle.planes(pb, pla)
            if oracle.order_dependent:
                order_dependent += 1
                continue
            got = ladder_planes(b, pla)
            assert np.array_equal(got[0], want[0]), f"laddered differs\n{pb.to_ascii()}"
            assert np.array_equal(got[1], want[1]), f"working differs\n{pb.to_ascii()}"
            compared += 1
            with_ladders += bool(want[0].any())
            if pb.ko_point is not None:
                with_ko += 1
                no_ko = ladder_planes(board(b.to_ascii()), pla)
                ko_mattered += not (np.array_equal(no_ko[0], got[0])
                                    and np.array_equal(no_ko[1], got[1]))
    assert compared >= 500 and with_ladders >= 300 and with_ko >= 50 and ko_mattered >= 2
    assert order_dependent <= compared // 100


# ---------------------------------------------------------------------------------------------
# Real KataGo selfplay rows: planes 14 (laddered stones) and 17 (working moves for pla).

def _selfplay_planes():
    data = np.load(SELFPLAY_NPZ)
    packed = data["binaryInputNCHWPacked"]
    n = packed.shape[0]
    return np.unpackbits(packed, axis=2)[:, :, :81].reshape(n, 22, 9, 9)


def _symmetry(m, k):
    if k & 1:
        m = m[::-1]
    if k & 2:
        m = m[:, ::-1]
    if k & 4:
        m = m.T
    return m


def _board_from_planes(own, other):
    """pla's stones as black: the planes are pla-relative and ladders are colour-blind."""
    return board("\n".join("".join("X" if own[y, x] else "O" if other[y, x] else "."
                                   for x in range(own.shape[1])) for y in range(own.shape[0])))


def test_ladder_planes_match_katago_selfplay_rows():
    planes = _selfplay_planes()
    assert planes.shape == (1827, 22, 9, 9) and planes[:, 0].all()
    mismatched = []
    for r in range(planes.shape[0]):
        lad, work = ladder_planes(_board_from_planes(planes[r, 1], planes[r, 2]), BLACK)
        if not (np.array_equal(lad, planes[r, 14]) and np.array_equal(work, planes[r, 17])):
            mismatched.append(r)
    assert mismatched == []
    # The sample is rich enough for the comparison to mean something.
    assert (planes[:, 14].sum(axis=(1, 2)) > 0).sum() > 1000
    assert (planes[:, 17].sum(axis=(1, 2)) > 0).sum() > 300


def test_ladder_planes_match_katago_rows_under_board_symmetries():
    # Reflected and transposed boards build their chains in other orders, which exercises the
    # search's move ordering; the answers must not change.
    planes = _selfplay_planes()
    mismatched = []
    for r in range(planes.shape[0]):
        k = 1 + r % 7
        lad, work = ladder_planes(_board_from_planes(_symmetry(planes[r, 1], k),
                                                     _symmetry(planes[r, 2], k)), BLACK)
        if not (np.array_equal(lad, _symmetry(planes[r, 14], k))
                and np.array_equal(work, _symmetry(planes[r, 17], k))):
            mismatched.append((r, k))
    assert mismatched == []
