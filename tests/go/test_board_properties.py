"""Property tests: the Cython board against the PyBoard oracle, and History's rule invariants.

Random games are drawn by hypothesis as a board size, a length n and a seed that expands to n
integers ("picks"); each pick chooses the next move among the points that are legal at that
moment, so every drawn game is a real game, and shrinking n shrinks a failure to the shortest
failing prefix of the same game. (Hypothesis's own lists stay short, a few elements on average,
which would leave the boards nearly empty; the explicit length makes long games common.)
Half the picks prefer "urgent" points (liberties of chains with at most two liberties) so that
captures, ko, snapback and suicide come up often even on big boards. Settings are derandomized
so CI sees the same games on every run; the whole file takes about 10 s.
"""
import random
from dataclasses import dataclass
from typing import Dict, List, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goloop.common.go.board import Board
from goloop.common.go.history import History
from goloop.common.go.pyboard import PyBoard
from goloop.common.go.rules import KoRule, ScoringRule, parse_rules

EMPTY, BLACK, WHITE = 0, 1, 2

SETTINGS = dict(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Small boards make captures, ko and suicide frequent; big ones catch layout bugs (row stride,
# walls, the 19-wide edge). Mixing the two draws both often.
SIDE = st.one_of(st.integers(2, 6), st.integers(2, 19))


@st.composite
def picks(draw, max_moves: int) -> Tuple[int, ...]:
    """n pseudo-random move choices, n drawn in 0..max_moves, long games favoured."""
    n = draw(st.one_of(st.integers(0, max_moves), st.integers(max_moves // 2, max_moves)))
    rng = random.Random(draw(st.integers(0, 2 ** 32 - 1)))
    return tuple(rng.randrange(2 ** 20) for _ in range(n))


# The everyday presets plus aga-button, the only one with the button: taking it clears the
# superko history, and undo and copy must restore whether it was taken.
PRESETS = ["tromp-taylor", "chinese", "japanese", "aga", "stone-scoring", "new-zealand",
           "aga-button"]


def choose(pick: int, legal: list, urgent: list):
    """One of `legal` (or None for a pass when it is empty); bit 0 of pick prefers `urgent`."""
    pool = urgent if (pick & 1 and urgent) else legal
    if not pool:
        return None
    return pool[(pick >> 4) % len(pool)]


# ---------------------------------------------------------------------------------------------
# Cython Board == PyBoard.

@dataclass(frozen=True)
class BoardGame:
    x_size: int
    """Columns."""
    y_size: int
    """Rows."""
    multi_suicide: bool
    """Whether moves may be multi-stone suicides (always board-legal, chosen only if True)."""
    picks: Tuple[int, ...]
    """One integer per move: which move to play and whether the same colour moves again."""


@st.composite
def board_games(draw, max_moves: int) -> BoardGame:
    return BoardGame(draw(SIDE), draw(SIDE), draw(st.booleans()), draw(picks(max_moves)))


@dataclass
class Oracle:
    """What PyBoard says about the position, in Cython-board coordinates."""
    legal: Dict[Tuple[int, bool], List[Tuple[int, int]]]
    """(colour, multi-stone suicide legal) -> the legal points in row-major order."""
    urgent: set
    """Empty points that are a liberty of some chain with at most two liberties."""


def compare(cy: Board, pb: PyBoard, seen: Dict[bytes, int], hashes: Dict[int, bytes]) -> Oracle:
    """Assert the two boards agree on everything observable; return the oracle's legal moves."""
    xs, ys = pb.x_size, pb.y_size

    def pt(i):
        return (i % xs, i // xs)

    stones = cy.stones()
    assert stones.ravel().tolist() == pb.stones, "\n" + cy.to_ascii() + "\n\n" + pb.to_ascii()
    assert cy.ko == (None if pb.ko_point is None else pt(pb.ko_point))
    assert cy.captures == pb.captures

    # Hash: incremental == recomputed == an independently built board's; equal stones <=> equal
    # hashes (64-bit keys: a collision among a few thousand positions would be a bug).
    h = cy.hash
    assert h == cy.hash_from_scratch()
    assert h == Board.from_ascii(cy.to_ascii()).hash
    key = bytes([xs, ys]) + stones.tobytes()
    assert seen.setdefault(key, h) == h
    assert hashes.setdefault(h, key) == key

    # Chains: membership, incremental liberty count at every stone, liberty sets.
    urgent = set()
    done = set()
    for i, c in enumerate(pb.stones):
        if c == EMPTY or i in done:
            continue
        chain = pb.chain(i)
        libs = pb.liberties(i)
        done |= chain
        assert cy.chain(pt(i)) == {pt(j) for j in chain}
        assert cy.liberties(pt(i)) == {pt(j) for j in libs}
        for j in chain:
            assert cy.liberty_count(pt(j)) == len(libs), pt(j)
        if len(libs) <= 2:
            urgent |= {pt(j) for j in libs}

    # Legality of every point for both colours, with and without multi-stone suicide.
    legal = {(c, m): [] for c in (BLACK, WHITE) for m in (False, True)}
    for i in range(xs * ys):
        p = pt(i)
        for c in (BLACK, WHITE):
            empty = pb.stones[i] == EMPTY
            playable = empty and not pb.is_single_stone_suicide(i, c)
            assert cy.is_playable(p, c) == playable, (p, c)
            if empty:
                assert cy.is_suicide(p, c) == pb.would_be_suicide(i, c), (p, c)
            for m in (False, True):
                ok = pb.is_legal(i, c, m)
                assert cy.is_legal(p, c, m) == ok, (p, c, m)
                if ok:
                    legal[(c, m)].append(p)
    assert cy.is_legal(None, BLACK) and cy.is_playable(None, WHITE)
    return Oracle(legal, urgent)


def play_board_game(game: BoardGame) -> Tuple[Board, int]:
    """Play `game` on both boards, comparing after every move; return the board and captures."""
    cy, pb = Board(game.x_size, game.y_size), PyBoard(game.x_size, game.y_size)
    seen: Dict[bytes, int] = {}
    hashes: Dict[int, bytes] = {}
    oracle = compare(cy, pb, seen, hashes)
    color = BLACK
    for pick in game.picks:
        legal = oracle.legal[(color, game.multi_suicide)]
        # 1 in 32: pass (clears ko); else a legal point, urgent ones preferred on odd picks.
        move = None if pick % 32 == 2 else choose(pick, legal, [p for p in legal if p in oracle.urgent])
        before = dict(pb.captures)
        n = cy.play(move, color)
        pb.play(None if move is None else move[1] * game.x_size + move[0], color)
        assert n == pb.captures[3 - color] - before[3 - color]
        oracle = compare(cy, pb, seen, hashes)
        # 1 in 8: the same colour moves again (the board does not track turns).
        if (pick >> 1) % 8 != 0:
            color = 3 - color
    return cy, sum(cy.captures.values())


@settings(max_examples=200, **SETTINGS)
@given(board_games(max_moves=250))
def test_cython_board_matches_pyboard_after_every_move(game):
    play_board_game(game)


def test_random_games_reach_the_interesting_cases():
    """The generator above really produces captures, kos and multi-stone suicides.

    Guards the property test against silently testing only quiet positions.
    """
    rng = random.Random(7)
    kos = suicides = captures = 0
    for _ in range(12):
        game = BoardGame(rng.randint(2, 6), rng.randint(2, 6), True,
                         tuple(rng.randrange(2 ** 20) for _ in range(80)))
        cy = Board(game.x_size, game.y_size)
        color = BLACK
        for pick in game.picks:
            legal = [(x, y) for y in range(game.y_size) for x in range(game.x_size)
                     if cy.is_legal((x, y), color, True)]
            urgent = [p for p in legal if any(
                cy[q] != EMPTY and cy.liberty_count(q) <= 2 for q in _neighbours(cy, p))]
            move = choose(pick, legal, urgent)
            if move is not None and cy.is_suicide(move, color):
                suicides += 1
            captures += cy.play(move, color)
            kos += cy.ko is not None
            color = 3 - color
    assert kos > 0 and suicides > 0 and captures > 50


def _neighbours(b: Board, p):
    x, y = p
    return [(a, c) for a, c in ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1))
            if 0 <= a < b.x_size and 0 <= c < b.y_size]


# ---------------------------------------------------------------------------------------------
# History: undo, copy, legality under the rule presets, superko.

@dataclass(frozen=True)
class HistoryGame:
    preset: str
    """A rules preset name for parse_rules."""
    x_size: int
    """Columns."""
    y_size: int
    """Rows."""
    picks: Tuple[int, ...]
    """One integer per move: pass (1 in 12) or which strictly legal point to play."""


@st.composite
def history_games(draw, max_moves: int, presets=tuple(PRESETS), max_side: int = 7) -> HistoryGame:
    return HistoryGame(draw(st.sampled_from(presets)), draw(st.integers(2, max_side)),
                       draw(st.integers(2, max_side)), draw(picks(max_moves)))


def urgent_points(h: History, legal) -> list:
    b = h.board
    return [p for p in legal if p is not None and any(
        b[q] != EMPTY and b.liberty_count(q) <= 2 for q in _neighbours(b, p))]


def next_move(h: History, pick: int):
    """A strictly legal move for the player to move: pass 1 in 12, else a point if any."""
    legal = h.legal_moves()
    points = [p for p in legal if p is not None]
    if pick % 12 == 5:
        return None
    return choose(pick, points, urgent_points(h, points))


def snapshot(h: History) -> dict:
    """Everything observable about a history's state."""
    b = h.board
    xs, ys = h.x_size, h.y_size
    return dict(
        stones=b.stones().tolist(), ko=b.ko, captures=b.captures, hash=b.hash,
        next_player=h.next_player, moves=h.moves,
        legal=h.legal_moves(), legal_other=h.legal_moves(3 - h.next_player),
        playable=[(x, y) for y in range(ys) for x in range(xs)
                  if h.is_playable((x, y), h.next_player)],
        score_now=h.score_now(), final_area=h.final_area().tolist(),
        encore_phase=h.encore_phase, consecutive_passes=h.consecutive_passes,
        finished=h.is_finished, no_result=h.is_no_result, final_score=h.final_score,
        winner=h.winner, result=h.result_string(), white_bonus=h.white_bonus_score,
        handicap_bonus=h.white_handicap_bonus, button=h.button_available,
        past_end=h.is_past_normal_phase_end,
        second_encore=h.second_encore_start_colors().tolist(),
        ko_blocked=[(x, y) for y in range(ys) for x in range(xs)
                    if h.is_ko_recapture_blocked((x, y))],
    )


def new_history(game: HistoryGame) -> History:
    return History(parse_rules(game.preset), game.x_size, game.y_size)


@settings(max_examples=150, **SETTINGS)
@given(history_games(max_moves=150, max_side=9), st.integers(0, 150))
def test_undo_restores_the_state_after_the_first_n_minus_k_moves(game, k):
    h = new_history(game)
    states = [snapshot(h)]
    for pick in game.picks:
        h.play(next_move(h, pick), h.next_player)
        states.append(snapshot(h))
    n = len(game.picks)
    k = min(k, n)
    for i in range(1, k + 1):
        assert h.undo()
        assert snapshot(h) == states[n - i]
    # And a fresh history that only ever played those moves agrees too.
    fresh = new_history(game)
    for color, move in states[n - k]["moves"]:
        fresh.play(move, color)
    assert snapshot(fresh) == states[n - k]
    if k == n:
        assert not h.undo() and snapshot(h) == states[0]


@settings(max_examples=100, **SETTINGS)
@given(history_games(max_moves=150, max_side=9), history_games(max_moves=60))
def test_copy_is_independent_and_faithful(game, more):
    h = new_history(game)
    for pick in game.picks:
        h.play(next_move(h, pick), h.next_player)
    before = snapshot(h)
    c = h.copy()
    assert snapshot(c) == before
    for pick in more.picks:
        c.play(next_move(c, pick), c.next_player)
    assert snapshot(h) == before
    # The copy behaves exactly as the original does when given the same moves.
    for pick in more.picks:
        h.play(next_move(h, pick), h.next_player)
    assert snapshot(h) == snapshot(c)


@settings(max_examples=150, **SETTINGS)
@given(history_games(max_moves=150))
def test_strict_legality_under_each_preset(game):
    """is_legal => is_playable everywhere; in the main phase is_legal is exactly the board's
    legality (simple ko, suicide per the rules) minus the repetitions the ko rule bans:
    positional superko bans recreating any earlier board, situational superko any earlier
    (board, player to move)."""
    rules = parse_rules(game.preset)
    h = new_history(game)
    multi = rules.multi_stone_suicide_legal
    seen = {(h.board.stones().tobytes(), h.next_player)}
    for pick in game.picks:
        b = h.board
        pla = h.next_player
        for y in range(game.y_size):
            for x in range(game.x_size):
                p = (x, y)
                for c in (BLACK, WHITE):
                    if h.is_legal(p, c):
                        assert h.is_playable(p, c), (p, c)
                    if h.encore_phase == 0:
                        assert h.is_playable(p, c) == b.is_playable(p, c), (p, c)
                if h.encore_phase > 0:
                    continue
                expected = b.is_legal(p, pla, multi)
                if expected and rules.ko_rule != KoRule.SIMPLE:
                    after = b.copy()
                    after.play(p, pla)
                    stones = after.stones().tobytes()
                    if rules.ko_rule == KoRule.POSITIONAL:
                        expected = all(s != stones for s, _ in seen)
                    else:
                        expected = (stones, 3 - pla) not in seen
                assert h.is_legal(p, pla) == expected, (p, pla)
        assert h.is_legal(None, pla) and h.is_playable(None, pla)
        button = h.button_available
        h.play(next_move(h, pick), pla)
        if button and not h.button_available:
            seen.clear()  # taking the button restarts the ko history (rules.md §3)
        seen.add((h.board.stones().tobytes(), h.next_player))
        if rules.scoring_rule == ScoringRule.AREA:
            assert h.encore_phase == 0


@settings(max_examples=150, **SETTINGS)
@given(history_games(max_moves=400, presets=("tromp-taylor",), max_side=5))
def test_positional_superko_games_never_repeat_a_position(game):
    h = new_history(game)
    seen = {h.board.stones().tobytes()}
    for pick in game.picks:
        points = [p for p in h.legal_moves() if p is not None]
        if not points:
            break
        h.play(choose(pick, points, urgent_points(h, points)), h.next_player)
        stones = h.board.stones().tobytes()
        assert stones not in seen, "\n" + h.board.to_ascii()
        seen.add(stones)


def test_a_repetition_allowed_by_simple_ko_is_banned_by_positional_superko():
    """Find a simple-ko game that repeats a position; Tromp-Taylor must refuse that move.

    Shows the superko property above can fail: without the ban the same generator repeats.
    """
    rng = random.Random(3)
    for _ in range(200):
        h = History(parse_rules("chinese"), 3, 3)
        seen = {h.board.stones().tobytes()}
        for _ in range(100):
            points = [p for p in h.legal_moves() if p is not None]
            if not points:
                break
            move = choose(rng.randrange(2 ** 20), points, urgent_points(h, points))
            pla = h.next_player
            h.play(move, pla)
            stones = h.board.stones().tobytes()
            if stones in seen:
                tt = History(parse_rules("tromp-taylor"), 3, 3)
                for color, m in h.moves[:-1]:
                    assert tt.is_legal(m, color)
                    tt.play(m, color)
                assert tt.board.stones().tolist() == _undo_copy(h).board.stones().tolist()
                assert not tt.is_legal(move, pla) and tt.is_playable(move, pla)
                assert move not in tt.legal_moves()
                return
            seen.add(stones)
    raise AssertionError("no repetition found under simple ko: generator too tame")


def _undo_copy(h: History) -> History:
    c = h.copy()
    c.undo()
    return c
