"""Training rows of finished games: hand-made 5x5 games whose targets are worked out by hand from
shared/spec/training-data-npz.md, each formula on its own, and consistency with KataGo's real rows.

Boards are 5x5 inside a 7x7 data tensor (pos_len 7), so every check also sees the top-left
placement and the zero padding. Moves are (x, y) with y = 0 the top row; black moves first.
"""
import math
import pathlib

import numpy as np
import pytest

from goloop.common.files.trainingdata import (
    TrainingDataBuffer,
    read_npz,
    unpack_binary_planes,
    validate_contents,
)
from goloop.common.go.board import Board
from goloop.common.go.history import History
from goloop.common.go.rules import Rules, TaxRule, parse_rules
from goloop.common.nn.features import encode
from goloop.selfplay import gamedata as G
from goloop.selfplay import rows as R
from goloop.selfplay import targets as T
from goloop.selfplay import weighting as Wt
from goloop.selfplay.gamedata import QValueTarget, TurnRecord, ValueTargets

SAMPLE = pathlib.Path(__file__).resolve().parents[3] / "shared" / "reference" / "katago_selfplay_sample.npz"
B, W = 1, 2
POS = 7
MID = POS * POS + 60          # scoreDistrN bin MID stands for score +0.5, MID-1 for -0.5
PASS = POS * POS
HASH = (0x0123456789ABCDEF, 0xFEDCBA9876543210)


def wall_game(rules, passes=True):
    """Black builds a wall on column 1, white on column 3, then both pass (12 moves)."""
    start = History(rules, 5)
    end = start.copy()
    for y in range(5):
        end.play((1, y), B)
        end.play((3, y), W)
    if passes:
        end.play(None, B)
        end.play(None, W)
    return start, end


def turn(t, weight=1.0, lead=None):
    """A turn record with simple, exactly representable numbers that depend on t."""
    return TurnRecord(
        policy_target=((None, 10 + t), ((0, 0), 3)),
        unreduced_num_visits=20 + t,
        value=ValueTargets(0.5 + 0.03125 * t, 0.5 - 0.03125 * t, 0.0, 0.25 * t, lead=lead),
        q_values=(QValueTarget((2, 4), 0.25, 1.5, 7), QValueTarget(None, -0.5, -3.0, 12)),
        nn_raw=G.NNRawStats(0.125, 2.5, 1.75),
        raw_nn_value=(0.5, 0.5, 0.0),
        policy_surprise=0.5, policy_entropy=1.25, search_entropy=0.75,
        weight=weight)


def make_game(start, end, turns=None, draw=0.5, **kw):
    n = len(end.moves) - len(start.moves)
    turns = [turn(t) for t in range(n)] if turns is None else turns
    return G.FinishedGame(start, end, turns, G.final_outcome(end, draw), HASH,
                          draw_equivalent_wins_for_white=draw, **kw)


def rows_of(game, seed=0, **kw):
    rows = list(R.game_rows(game, POS, np.random.default_rng(seed), **kw))
    buf = TrainingDataBuffer(max(len(rows), 1), POS)
    for r in rows:
        buf.add_row(r)
    if rows:
        validate_contents(buf.arrays(), "rows")
    return rows


def signed(cols_black, cols_white, pla):
    """A 7x7 plane: +1 for pla on the given columns of the 5x5 board, -1 for the opponent."""
    out = np.zeros((POS, POS), dtype=np.int8)
    mine, theirs = (cols_black, cols_white) if pla == B else (cols_white, cols_black)
    for x in mine:
        out[:5, x] = 1
    for x in theirs:
        out[:5, x] = -1
    return out


# ---------------------------------------------------------------------------------------------
# A normal area-scoring game: every channel.

def test_area_game_rows_by_hand():
    start, end = wall_game(Rules(komi=0.5))
    turns = [turn(t, lead=(2.0 if t == 3 else None)) for t in range(12)]
    game = make_game(start, end, turns)
    assert game.final.value == ValueTargets(1.0, 0.0, 0.0, 0.5, lead=0.5)   # W+0.5
    rows = rows_of(game)
    assert len(rows) == 12
    hist = start.copy()
    for t, row in enumerate(rows):
        pla = B if t % 2 == 0 else W
        s = 1 if pla == W else -1
        g = row.global_targets
        # Outcome for pla, final score and the score distribution.
        assert list(g[0:4]) == ([1, 0, 0, 0.5] if pla == W else [0, 1, 0, -0.5])
        assert g[20] == 0.5 * s
        expected_sd = np.zeros(2 * POS * POS + 120, dtype=np.int8)
        expected_sd[MID if pla == W else MID - 1] = 100
        assert np.array_equal(row.score_distr, expected_sd)
        # This turn's own search, perspective-flipped.
        v = turns[t].value
        assert list(g[16:20]) == ([v.win, v.loss, 0, v.score] if pla == W else [v.loss, v.win, 0, -v.score])
        # Weights, metadata.
        assert (g[25], g[26], g[27], g[33], g[34]) == (1, 1, 1, 1, 1)
        assert g[28] == (0 if t == 11 else 1)
        assert (g[21], g[29]) == ((2.0, 1.0) if t == 3 else (0, 0))
        assert g[47] == 0.5 * s and g[48] == 1
        assert g[51] == t and g[53] == 0 and g[62] == 1 and g[63] == 3 and g[52] == 0
        assert (g[49], g[50], g[54], g[55], g[56], g[61], g[64], g[68]) == (0,) * 8
        assert (g[57], g[58], g[59], g[60]) == (0.125 * s, 2.5 * s, 1.75, 20 + t)
        assert (g[30], g[31], g[32]) == (0.5, 1.25, 0.75)
        assert list(g[41:47]) == [float(c) for c in R.game_hash_channels(*HASH)]
        flags = g[36:41]
        assert set(flags) <= {0, 1} and all(flags[k] >= flags[k + 1] for k in range(4))
        assert not g[[23, 24, 35]].any() and not g[65:].any()
        # Policy targets: this turn's, then the next turn's (all ones after the last move).
        p0 = np.zeros(PASS + 1, dtype=np.int16)
        p0[PASS], p0[0] = 10 + t, 3
        assert np.array_equal(row.policy_targets[0], p0)
        if t < 11:
            p1 = np.zeros(PASS + 1, dtype=np.int16)
            p1[PASS], p1[0] = 11 + t, 3
            assert np.array_equal(row.policy_targets[1], p1)
        else:
            assert (row.policy_targets[1] == 1).all()
        # Q values: 0.25*32000 = 8000, 1.5*60 = 90 exactly; pass at index 49; point (2, 4) at 4*7+2.
        q = row.qvalue_targets
        assert (q[0, 30], q[1, 30], q[2, 30]) == (8000 * s, 90 * s, 7)
        assert (q[0, PASS], q[1, PASS], q[2, PASS]) == (-16000 * s, -180 * s, 12)
        assert np.count_nonzero(q) == 6
        # Ownership: black owns columns 0-1, white 3-4, column 2 is dame; nothing unowned by seki.
        own = signed([0, 1], [3, 4], pla)
        assert np.array_equal(row.value_targets[0], own)
        assert not row.value_targets[1].any()
        assert np.array_equal(row.value_targets[4], 120 * own)
        # Future boards: after move t+8 and t+32 (clamped to the final board, move 12).
        for ch, d in ((2, 8), (3, 32)):
            after = min(t + d, 12)
            expected = np.zeros((POS, POS), dtype=np.int8)
            for k in range(after):
                x, y = (1 if k % 2 == 0 else 3), k // 2
                if k < 10:
                    expected[y, x] = 1 if (k % 2 == 0) == (pla == B) else -1
            assert np.array_equal(row.value_targets[ch], expected), (t, ch)
        # Inputs are goloop's V7 features of the position, bit packed.
        sp, gl = encode(hist, pos_len=POS)
        assert np.array_equal(unpack_binary_planes(row.binary_input, POS), sp[0])
        assert np.array_equal(row.global_input, gl[0])
        colour, move = end.moves[t]
        hist.play(move, colour)


def test_td_targets_and_variance_time_in_a_game():
    start, end = wall_game(Rules(komi=0.5))
    game = make_game(start, end)
    rows = rows_of(game)
    values = [t.value for t in game.turns] + [game.final.value]
    n = len(values)
    for t, row in enumerate(rows):
        pla = B if t % 2 == 0 else W
        g = row.global_targets
        for k, f in enumerate(T.td_now_factors(25)):
            # Closed form: entry i gets f(1-f)^(i-t), the final entry the remaining (1-f)^(n-1-t).
            weights = [f * (1 - f) ** (i - t) for i in range(t, n - 1)] + [(1 - f) ** (n - 1 - t)]
            win = sum(w * (v.win if pla == W else v.loss) for w, v in zip(weights, values[t:]))
            score = sum(w * v.score * (1 if pla == W else -1) for w, v in zip(weights, values[t:]))
            assert g[4 + 4 * k] == pytest.approx(win, abs=1e-6)
            assert g[7 + 4 * k] == pytest.approx(score, abs=1e-5)
            assert sum(g[4 + 4 * k:7 + 4 * k]) == pytest.approx(1, abs=1e-6)
        wl = [v.win - v.loss for v in values]
        assert g[22] == pytest.approx(sum((j - t) * (wl[j] - wl[j - 1]) ** 2 for j in range(t + 1, n)), rel=1e-6)
    # Last turn (white) by hand: its search says win 0.84375, loss 0.15625 (WL 0.6875), the
    # result is a white win (WL 1): variance time 1 * 0.3125^2; long TD win f*0.84375 + (1-f)*1.
    assert rows[-1].global_targets[22] == 0.3125 ** 2
    f = 1 / (1 + 25 * 0.176)
    assert rows[-1].global_targets[4] == pytest.approx(f * 0.84375 + (1 - f) * 1.0)


def test_row_copies_follow_integer_weights_and_skip_cheap_turns():
    start, end = wall_game(Rules(komi=0.5))
    weights = [1, 0, 2, 0, 0, 1, 3, 0, 0, 0, 1, 0]
    game = make_game(start, end)
    rows = rows_of(game, turn_weights=weights)
    assert [int(r.global_targets[51]) for r in rows] == [0, 2, 2, 5, 6, 6, 6, 10]
    # Copies share the position but re-roll the history flags (almost surely not all equal).
    copies = [r for r in rows_of(game, turn_weights=[0] * 6 + [50] + [0] * 5)]
    assert len(copies) == 50
    assert all(np.array_equal(c.binary_input, copies[0].binary_input) for c in copies)
    assert len({tuple(c.global_targets[36:41]) for c in copies}) > 1
    with pytest.raises(G.RowsError, match="turn weights"):
        list(R.game_rows(game, POS, np.random.default_rng(0), turn_weights=[1] * 11))


# ---------------------------------------------------------------------------------------------
# Draws, no result, territory scoring, seki, the turn limit.

def test_draw_with_integer_komi():
    start, end = wall_game(Rules(komi=0.0))
    game = make_game(start, end, draw=0.75)
    # Jigo: white gets drawEquivalentWinsForWhite, the score carries the 0.25 draw adjustment.
    assert game.final.value == ValueTargets(0.75, 0.25, 0.0, 0.25, lead=0.25)
    rows = rows_of(game)
    for t, row in enumerate(rows):
        g = row.global_targets
        sd = row.score_distr
        if t % 2 == 1:                       # white: score +0.25 -> 25% at -0.5, 75% at +0.5
            assert list(g[0:4]) == [0.75, 0.25, 0, 0.25]
            assert (sd[MID - 1], sd[MID]) == (25, 75)
            assert g[47] == 0.25             # komi 0 plus the draw adjustment
        else:                                # black: score -0.25 -> 75% at -0.5, 25% at +0.5
            assert list(g[0:4]) == [0.25, 0.75, 0, -0.25]
            assert (sd[MID - 1], sd[MID]) == (75, 25)
            assert g[47] == -0.25
        assert np.count_nonzero(sd) == 2


KO = """
.XO..
XO.O.
.XO..
.....
.....
"""


def test_no_result_game_has_no_outcome_targets():
    # Simple ko; the retakes are GTP-playable (selfplay would reach the repetition through a
    # longer legal cycle, the targets do not care how).
    start = History(parse_rules("chinese"), board=Board.from_ascii(KO), pla=B)
    end = start.copy()
    while not end.is_finished:              # take and retake until the triple repetition
        end.play((2, 1), B)
        end.play((1, 1), W)
    assert end.is_no_result
    n = len(end.moves)
    game = make_game(start, end, [turn(t, lead=1.0) for t in range(n)])
    assert game.final.value == ValueTargets(0.0, 0.0, 1.0, 0.0)
    for row in rows_of(game):
        g = row.global_targets
        assert list(g[0:4]) == [0, 0, 1, 0]
        assert (g[20], g[21], g[27], g[29], g[34]) == (0, 0, 0, 0, 0)   # no score, lead or ownership
        assert g[33] == 1 and g[62] == 1                               # future boards still known
        assert (row.score_distr[MID - 1], row.score_distr[MID]) == (50, 50)
        assert not row.value_targets[[0, 1, 4]].any()
        assert row.value_targets[2].any()


def test_territory_game_by_hand():
    # Black walls off the left and captures a white stone; white owns the right. Komi 6.5.
    board = Board.from_ascii("""
    .XO..
    .XO..
    OXO..
    .XO..
    .XO..
    """)
    start = History(parse_rules("japanese"), board=board, pla=B)
    end = start.copy()
    end.play((0, 1), B)
    end.play(None, W)
    end.play((0, 3), B)                     # captures (0, 2)
    while not end.is_finished:              # main phase, encore 1, encore 2: 6 passes
        end.play(None, end.next_player)
    assert len(end.moves) == 9
    game = make_game(start, end)
    # Territory 10 for white (columns 3-4), 3 + 1 prisoner for black, komi 6.5: W+12.5.
    assert game.final.value == ValueTargets(1.0, 0.0, 0.0, 12.5, lead=12.5)
    rows = rows_of(game)
    # Initial stones are chilled (white bonus 5 - 6 = -1), each black stone then gives white a
    # point: bonus before moves 0..8 is -1, 0, 0, 1, 1, ..., 1 and 1 at the end.
    bonus_for_pla = [-2, 1, -1, 0, 0, 0, 0, 0, 0]
    phase = [0, 0, 0, 0, 0, 1, 1, 2, 2]
    for t, row in enumerate(rows):
        pla = B if t % 2 == 0 else W
        g = row.global_targets
        assert g[61] == bonus_for_pla[t]
        assert g[48] == (1 if phase[t] == 2 else 0)       # area-like only in the second encore
        assert g[20] == (12.5 if pla == W else -12.5)
        assert row.score_distr[MID + 12 if pla == W else MID - 13] == 100   # bins for +12.5 / -12.5
        own = signed([0, 1], [2, 3, 4], pla)
        assert np.array_equal(row.value_targets[0], own)
        assert not row.value_targets[1].any()
        assert np.array_equal(row.value_targets[4], 120 * own)


def test_seki_like_regions_go_to_the_difference_channel():
    # Under area scoring with TAX_SEKI, the outer columns bordered by groups that touch the dame
    # column are not counted: final ownership leaves them empty, the naive area does not.
    start, end = wall_game(Rules(komi=0.5, tax_rule=TaxRule.SEKI))
    game = make_game(start, end)
    rows = rows_of(game)
    for t, row in enumerate(rows):
        pla = B if t % 2 == 0 else W
        assert np.array_equal(row.value_targets[0], signed([1], [3], pla))
        assert np.array_equal(row.value_targets[1], signed([0], [4], pla))
        assert np.array_equal(row.value_targets[4], 120 * signed([1], [3], pla))


def test_turn_limit_game_is_scored_but_flagged():
    start, end = wall_game(Rules(komi=0.5), passes=False)
    assert not end.is_finished
    game = make_game(start, end, hit_turn_limit=True)
    assert game.final.value == ValueTargets(1.0, 0.0, 0.0, 0.5, lead=0.5)
    rows = rows_of(game)
    assert len(rows) == 10
    for row in rows:
        g = row.global_targets
        assert (g[52], g[62], g[27], g[34]) == (1, 0, 1, 1)
    with pytest.raises(G.RowsError, match="turn limit"):
        list(R.game_rows(make_game(start, end), POS, np.random.default_rng(0)))


def test_side_positions_carry_only_their_own_search():
    start, end = wall_game(Rules(komi=0.5))
    side_hist = start.copy()
    for colour, move in end.moves[:3]:
        side_hist.play(move, colour)
    side_hist.play((0, 4), W)               # white's alternative to the game move (3, 1)
    side = G.SidePositionRecord(
        history=side_hist, policy_target=(((2, 2), 12),), unreduced_num_visits=31,
        value=ValueTargets(0.25, 0.75, 0.0, -3.0, lead=-2.5), q_values=(QValueTarget((2, 2), 0.5, 1.0, 30),),
        nn_raw=G.NNRawStats(-0.5, -4.0, 2.0), policy_surprise=0.1, policy_entropy=0.2, search_entropy=0.3)
    game = make_game(start, end, side_positions=[side], playout_doubling_advantage_pla=W,
                     playout_doubling_advantage=1.0, mode=G.MODE_ASYM,
                     changed_neural_nets=(("net2", 5),))
    rows = rows_of(game)
    assert len(rows) == 13
    row = rows[-1]                          # side rows come after the game's rows
    g = row.global_targets
    # Black to move in the side position: white's values flipped, in every value channel.
    own = [0.75, 0.25, 0, 3.0]
    for k in range(0, 20, 4):
        assert list(g[k:k + 4]) == own
    assert (g[21], g[29]) == (2.5, 1)
    assert (g[20], g[22], g[27], g[28], g[33], g[34], g[61], g[62]) == (0,) * 8
    assert (g[51], g[55], g[49], g[50], g[60]) == (4, G.MODE_ASYM, 1, 1, 31)
    assert (row.policy_targets[1] == 1).all() and row.policy_targets[0][2 * POS + 2] == 12
    assert (row.score_distr[MID - 1], row.score_distr[MID]) == (50, 50)
    assert not row.value_targets.any()
    sp, gl = encode(side_hist, pos_len=POS)           # no playout doubling for side positions
    assert np.array_equal(unpack_binary_planes(row.binary_input, POS), sp[0])
    assert np.array_equal(row.global_input, gl[0])
    # Main rows: white is favoured, so black rows see -1 and white rows +1 (global 16 = 0.5x).
    assert [r.global_input[16] for r in rows[:2]] == [-0.5, 0.5]
    # The new net took over at move 5: moves 0-4 were played one net behind the game's last.
    assert [r.global_targets[50] for r in rows[:12]] == [1] * 5 + [0] * 7


def test_game_record_mismatches_are_refused():
    start, end = wall_game(Rules(komi=0.5))
    game = make_game(start, end)
    game.turns = game.turns[:-1]
    with pytest.raises(G.RowsError, match="11 turn records for 12 moves"):
        list(R.game_rows(game, POS, np.random.default_rng(0)))
    other = History(Rules(komi=0.5), 5)
    other.play((0, 0), B)
    with pytest.raises(G.RowsError, match="does not continue"):
        list(R.game_rows(make_game(other, end, turns=[turn(0)] * 12), POS, np.random.default_rng(0)))
    with pytest.raises(G.RowsError, match="does not fit"):
        list(R.game_rows(make_game(start, end), 4, np.random.default_rng(0)))


# ---------------------------------------------------------------------------------------------
# Single formulas.

def test_td_value_target_by_hand():
    vals = [ValueTargets(0.5, 0.5, 0.0, 2.0), ValueTargets(0.25, 0.75, 0.0, -4.0), ValueTargets(1.0, 0.0, 0.0, 6.0)]
    # f = 0.5: 0.5 v0 + 0.25 v1 + 0.25 final.
    assert list(T.td_value_target(vals, 0, W, 0.5)) == [0.5625, 0.4375, 0.0, 1.5]
    assert list(T.td_value_target(vals, 0, B, 0.5)) == [0.4375, 0.5625, 0.0, -1.5]
    assert list(T.td_value_target(vals, 1, W, 0.0)) == [1.0, 0.0, 0.0, 6.0]
    assert list(T.td_value_target(vals, 1, W, 1.0)) == [0.25, 0.75, 0.0, -4.0]
    big = [ValueTargets(1.0, 0.0, 0.0, 500.0)]
    assert T.td_value_target(big, 0, W, 0.3)[3] == 421 and T.td_value_target(big, 0, B, 0.3)[3] == -421
    assert T.td_now_factors(81) == pytest.approx((1 / 15.256, 1 / 5.536, 1 / 2.296))


def test_score_distribution_by_hand():
    L = 2 * 49 + 120
    sd = T.score_distribution(3.0, POS)           # integer score: half on 2.5, half on 3.5
    assert (sd[MID + 2], sd[MID + 3], sd.sum()) == (50, 50, 100)
    sd = T.score_distribution(-7.5, POS)          # half-integer: one bin
    assert sd[MID - 8] == 100
    sd = T.score_distribution(2.25, POS)          # a draw-adjusted score: split by distance
    assert (sd[MID + 1], sd[MID + 2]) == (25, 75)     # between 1.5 and 2.5, three quarters to 2.5
    assert T.score_distribution(1000.0, POS)[L - 1] == 100
    assert T.score_distribution(-1000.0, POS)[0] == 100
    assert T.score_distribution(-109.5, POS)[0] == 100       # bin 0 stands for -108.5
    assert T.score_distribution(-108.5, POS)[0] == 100
    assert T.score_distribution(108.5, POS)[L - 1] == 100
    assert T.dummy_score_distribution(POS)[[MID - 1, MID]].tolist() == [50, 50]


def test_c_round_halves_away_from_zero():
    assert [G.c_round(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994, 2.4)] == [1, 2, 3, -1, -3, 0, 2]


def test_stochastic_rounding_is_unbiased_and_clamped():
    rng = np.random.default_rng(5)
    x = np.full(20000, 2.25, dtype=np.float32)
    r = T.stochastic_round_clamped(x, 120, rng)
    assert set(np.unique(r)) == {2, 3} and r.mean() == pytest.approx(2.25, abs=0.02)
    assert T.stochastic_round_clamped(np.array([-7.0, 119.0, 120.0]), 120, rng).tolist() == [-7, 119, 120]
    assert T.stochastic_round_clamped(np.array([130.5, -121.5, 119.5]), 120, rng)[:2].tolist() == [120, -120]
    with pytest.raises(G.RowsError):
        T.stochastic_round_clamped(np.array([np.nan]), 120, rng)


def test_scoring_map_with_group_tax_by_hand():
    stones = np.array([[0, 1, 0, 2, 0],
                       [0, 1, 0, 2, 0],
                       [0, 1, 0, 2, 2],
                       [0, 1, 0, 2, 0],
                       [0, 1, 0, 2, 0]])
    own = np.array([[1, 1, 0, 2, 2],
                    [1, 1, 0, 2, 2],
                    [1, 1, 0, 2, 2],
                    [1, 1, 0, 2, 2],
                    [1, 1, 0, 2, 2]])
    plain = G.white_scoring_map(stones, own, tax_all=False)
    assert plain.tolist() == [[-1, -1, 0, 1, 1]] * 5
    taxed = G.white_scoring_map(stones, own, tax_all=True)
    # Black's region: 5 territory points -> 3/5 each; white's: 4 non-stone points -> 2/4 each.
    assert taxed[:, 0].tolist() == pytest.approx([-0.6] * 5) and (taxed[:, 1] == -1).all()
    assert taxed[:, 4].tolist() == pytest.approx([0.5, 0.5, 1.0, 0.5, 0.5]) and (taxed[:, 3] == 1).all()
    # A region with only 2 non-stone points: the group tax takes them all (0), stones keep 1.
    two = G.white_scoring_map(np.array([[0, 1, 0]] * 3), np.array([[1, 1, 0], [1, 1, 0], [0, 1, 0]]), True)
    assert two.tolist() == [[0, -1, 0], [0, -1, 0], [0, -1, 0]]


def test_policy_target_counts_by_hand():
    assert G.policy_target_counts([(None, 2.0), ((0, 0), 1.0)]) == ((None, 10), ((0, 0), 5))
    assert G.policy_target_counts([((1, 1), 10.0), ((0, 0), 2.5)]) == (((1, 1), 10), ((0, 0), 3))
    assert G.policy_target_counts([((1, 1), 60000.0), (None, 15000.5)]) == (((1, 1), 30000), (None, 7500))
    with pytest.raises(G.RowsError):
        G.policy_target_counts([])
    with pytest.raises(G.RowsError):
        G.policy_target_counts([(None, -1.0)])


def test_policy_surprise_and_entropies_by_hand():
    prior = np.array([0.5, 0.25, 0.25], dtype=np.float32)      # a 2x1 board: two points, pass
    s, se, pe = G.policy_surprise_and_entropies([((0, 0), 3.0), (None, 1.0)], prior, 2, 1)
    assert s == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(1.0))
    assert se == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert pe == pytest.approx(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))
    assert G.raw_policy_entropy(np.array([0.5, 0.5, -1.0, 1e-31])) == pytest.approx(math.log(2))


def test_value_surprise_by_hand():
    vals = [ValueTargets(0.5, 0.5, 0.0, 0.0), ValueTargets(1.0, 0.0, 0.0, 1.0)]
    f = 1 / (1 + 25 * 0.016)
    win, loss = 1 + f * (0.5 - 1), f * 0.5
    expected = win * math.log(win / 0.5) + loss * math.log(loss / 0.5)
    assert Wt.value_surprise_by_turn(vals, [(0.5, 0.5, 0.0)], 25) == [pytest.approx(expected)]
    assert Wt.value_surprise_kl(1.0, 0.0, 0.0, (1e-9, 1.0, 0.0)) == 1.0           # capped
    assert Wt.value_surprise_kl(0.5, 0.5, 0.0, (0.5, 0.5, 0.0)) == 0.0


def test_surprise_weighting_by_hand():
    # Weights 1,1,0,0; policy surprise 1,3,0,8; no value surprise (so its share drops to 0).
    # Average surprise 2, threshold 3: the cheap turn with surprise 8 keeps its excess 5.
    # New weight = 0.5 w + 0.5 * prop * 2 / (1 + 3 + 0 + 5).
    new = Wt.surprise_weighted([1, 1, 0, 0], [1, 3, 0, 8], [0, 0, 0, 0])
    assert new == pytest.approx([0.5 + 1 / 9, 0.5 + 3 / 9, 0.0, 5 / 9], rel=1e-6)
    assert sum(new) == pytest.approx(2)
    assert Wt.surprise_weighted([0.5, 0.25], [1, 2], [0, 0]) == [0.5, 0.25]          # total < 1: unchanged
    assert Wt.surprise_weighted([1, 1], [1, 3], [0.2, 0.6], 0.0, 0.0) == [1, 1]
    mixed = Wt.surprise_weighted([1, 1], [1, 1], [0.2, 0.6])
    # Value share 0.1 (average value surprise 0.4 >= 0.01): 0.4 + 0.5*1 + 0.1*(v/0.8)*2.
    assert mixed == pytest.approx([0.4 + 0.5 + 0.1 * 0.25 * 2, 0.4 + 0.5 + 0.1 * 0.75 * 2], rel=1e-6)


def test_weight_resolution_and_copies():
    rng = np.random.default_rng(11)
    draws = [Wt.resolve_weight(2.3, rng) for _ in range(4000)]
    assert set(draws) == {2.0, 3.0} and np.mean(draws) == pytest.approx(2.3, abs=0.03)
    assert Wt.resolve_weight(-0.5, rng) == 0 and Wt.resolve_weight(0.0, rng) == 0 and Wt.resolve_weight(4.0, rng) == 4
    assert Wt.row_copies(3.0, rng) == 3 and Wt.row_copies(0.0, rng) == 0
    assert np.mean([Wt.row_copies(0.25, rng) for _ in range(4000)]) == pytest.approx(0.25, abs=0.03)


def test_finalize_weights_in_katago_order():
    start, end = wall_game(Rules(komi=0.5))
    weights = [1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]
    turns = [turn(t, weight=w) for t, w in enumerate(weights)]
    side = G.SidePositionRecord(start.copy(), None, 1, ValueTargets(0.5, 0.5, 0, 0), (), G.NNRawStats(0, 0, 0),
                                0, 0, 0)
    game = make_game(start, end, turns, side_positions=[side])
    rng = np.random.default_rng(4)
    # Without surprise weighting the 0/1 weights come back as they are; scaling doubles them.
    assert Wt.finalize_weights(game, rng, 0.0, 0.0) == (weights, [1.0])
    assert Wt.finalize_weights(game, rng, 0.0, 0.0, scale_data_weight=2.0) == ([2 * w for w in weights], [2.0])
    # Equal policy surprise everywhere: cheap turns get nothing, the rest keep weight 1 on average.
    draws = np.array([Wt.finalize_weights(game, rng)[0] for _ in range(300)])
    assert set(np.unique(draws)) <= {0.0, 1.0, 2.0}
    assert not draws[:, [1, 4, 8]].any()
    assert draws.sum(axis=1).mean() == pytest.approx(9, abs=0.3)


def test_visit_reduction_by_hand():
    # Least extreme of 0.95, 0.97, 0.99 is 0.95: half-way from 0.9 to 1, squared: 0.25.
    prop = Wt.visit_reduction_proportion([0.1, 0.95, 0.97, 0.99])
    assert prop == pytest.approx(0.25)
    assert Wt.reduced_visits(600, prop, 100) == 475
    assert Wt.reduced_weight(1.0, prop, 0.1) == pytest.approx(0.775)
    assert Wt.visit_reduction_proportion([-0.95, -0.99, -0.96]) == pytest.approx(0.25)
    assert Wt.visit_reduction_proportion([0.95, -0.99, 0.96]) == 0.0        # sides disagree
    assert Wt.visit_reduction_proportion([0.95, 0.99]) == 0.0               # not enough history
    assert Wt.visit_reduction_proportion([1.0, 1.0, 1.0]) == 1.0
    assert Wt.reduced_visits(600, 1.0, 100) == 100


def test_metadata_helpers_by_hand():
    assert R.game_hash_channels(2**64 - 1, 0) == (2**22 - 1, 2**22 - 1, 2**20 - 1, 0, 0, 0)
    assert R.game_hash_channels(1 << 22, 1 << 44) == (0, 1, 0, 0, 0, 1)
    nets = (("a", 3), ("b", 7))
    assert [R.nets_behind_latest(nets, t) for t in (0, 2, 3, 6, 7, 9)] == [2, 2, 1, 1, 0, 0]
    rng = np.random.default_rng(2)
    flags = np.array([R.history_use_flags(rng) for _ in range(20000)])
    assert (np.diff(flags, axis=1) <= 0).all()
    assert flags.mean(axis=0) == pytest.approx([0.98 ** k for k in range(1, 6)], abs=0.005)
    assert T.lead_target(ValueTargets(0.5, 0.5, 0, 0, lead=-500.0), W) == -421
    assert T.lead_target(ValueTargets(0.5, 0.5, 0, 0, lead=3.5), B) == -3.5
    assert T.lead_target(ValueTargets(0.5, 0.5, 0, 0), B) is None
    assert Wt.lead_estimation_eligible(1, 0.1, False) and not Wt.lead_estimation_eligible(0, 0.1, False)
    assert not Wt.lead_estimation_eligible(1, 0.3, False) and not Wt.lead_estimation_eligible(1, 0.0, True)


def test_value_targets_are_float32():
    v = ValueTargets(0.1, 0.9, 0.0, 1 / 3)
    assert v.win == float(np.float32(0.1)) and v.score == float(np.float32(1 / 3))
    with pytest.raises(G.RowsError):
        ValueTargets(float("nan"), 0, 0, 0)


# ---------------------------------------------------------------------------------------------
# Against KataGo's real rows.

@pytest.fixture(scope="module")
def sample():
    return read_npz(SAMPLE)


def _pla_view(c):
    """A row's value channels as White-view ValueTargets, taking the row's player to be white."""
    return ValueTargets(*(float(x) for x in c))


def test_score_distribution_matches_katago(sample):
    g, sd = sample["globalTargetsNC"], sample["scoreDistrN"]
    for i in range(len(g)):
        expected = T.score_distribution(g[i, 20], 9) if g[i, 27] == 1 else T.dummy_score_distribution(9)
        assert np.array_equal(expected, sd[i]), i


def test_td_targets_match_katago_bit_for_bit(sample):
    """On a game's last turn the value list is [this turn's search, final outcome]: every value
    channel and the variance time follow exactly, in either perspective. Side positions only
    have their own search."""
    g = sample["globalTargetsNC"]
    factors = (0.0,) + T.td_now_factors(81) + (1.0,)
    last = np.flatnonzero((g[:, 62] == 1) & (g[:, 28] == 0))
    side = np.flatnonzero(g[:, 62] == 0)
    assert len(last) == 9 and len(side) == 237
    for i in last:
        white = [_pla_view(g[i, 16:20]), _pla_view(g[i, 0:4])]
        black = [ValueTargets(v.loss, v.win, v.no_result, -v.score) for v in white]
        for vals, pla in ((white, W), (black, B)):
            got = np.concatenate([T.td_value_target(vals, 0, pla, f) for f in factors])
            assert np.array_equal(got, g[i, 0:20]), i
        assert T.winloss_variance_arrival_time(white, 0) == g[i, 22]
    for i in side:
        got = np.concatenate([T.td_value_target([_pla_view(g[i, 16:20])], 0, W, f) for f in factors])
        assert np.array_equal(got, g[i, 0:20]) and g[i, 22] == 0


def _games(g):
    return np.unique(g[:, 41:47].astype(np.int64), axis=0, return_inverse=True)[1].ravel()


def test_rows_of_a_game_share_outcome_and_metadata(sample):
    g = sample["globalTargetsNC"]
    gid = _games(g)
    runs = 1 + np.count_nonzero(np.diff(gid))
    assert runs == len(np.unique(gid)) == 125                # a game's rows are contiguous
    for game in np.unique(gid):
        rows = np.flatnonzero(gid == game)
        main = rows[g[rows, 62] == 1]
        side = rows[g[rows, 62] == 0]
        assert (np.diff(g[main, 51]) >= 0).all()            # main rows in turn order, sides last
        if len(main) and len(side):
            assert main.max() < side.min()
        for c in (25, 41, 42, 43, 44, 45, 46, 53, 54, 55, 56):
            assert len(set(g[rows, c])) == 1
        first = g[main[0]] if len(main) else None
        for i in main:
            same = (g[i, 51] - first[51]) % 2 == 0           # no handicap here: parity = player
            expected = first[0:4] if same else [first[1], first[0], first[2], -first[3]]
            assert np.array_equal(g[i, 0:4], np.asarray(expected, dtype=np.float32))
            assert g[i, 20] == (first[20] if same else -first[20])


def test_ownership_and_future_targets_match_katago_conventions(sample):
    g, v = sample["globalTargetsNC"], sample["valueTargetsNCHW"]
    planes = unpack_binary_planes(sample["binaryInputNCHWPacked"], 9)
    gid = _games(g)
    index = {(gid[i], g[i, 51]): i for i in range(len(g)) if g[i, 62] == 1}
    checked = 0
    for i in range(len(g)):
        if g[i, 27] == 1:
            # Rebuild colour maps with the row's player as black, then re-derive both channels.
            own = np.where(v[i, 0] == 1, B, np.where(v[i, 0] == -1, W, 0))
            full = np.where(own != 0, own, np.where(v[i, 1] == 1, B, np.where(v[i, 1] == -1, W, 0)))
            assert np.array_equal(T.ownership_targets(own, full, B, 9), v[i, :2])
            assert np.array_equal(T.ownership_targets(own, full, W, 9), -v[i, :2])
        if g[i, 62] != 1:
            continue
        for ch, d in zip((2, 3), R.FUTURE_BOARD_OFFSETS):
            j = index.get((gid[i], g[i, 51] + d))
            if j is None:
                continue
            # Row j's stones (own = plane 1, opponent = plane 2) with row j's player as black.
            stones = np.where(planes[j, 1] == 1, B, np.where(planes[j, 2] == 1, W, 0))
            pla_i = B if d % 2 == 0 else W
            assert np.array_equal(T.future_board_target(stones, pla_i, 9), v[i, ch])
            checked += 1
    assert checked > 400


def test_group_tax_scoring_matches_katago(sample):
    """Under TAX_ALL KataGo's scoring channel holds fractions of 120: rebuild the map from the
    final board (channel 3 of a game's latest row) and its ownership, every row must be one of
    the two stochastic roundings of it."""
    g, v = sample["globalTargetsNC"], sample["valueTargetsNCHW"]
    gid = _games(g)
    rng = np.random.default_rng(0)
    taxed = sorted({gid[i] for i in range(len(g)) if not np.isin(v[i, 4], (0, 120, -120)).all()})
    assert len(taxed) >= 10
    for game in taxed:
        rows = [i for i in np.flatnonzero(gid == game) if g[i, 62] == 1]
        last = max(rows, key=lambda i: g[i, 51])
        final = np.where(v[last, 3] == 1, B, np.where(v[last, 3] == -1, W, 0))
        own = np.where(v[last, 0] == 1, B, np.where(v[last, 0] == -1, W, 0))
        white_scoring = G.white_scoring_map(final, own, tax_all=True)   # last row's player as black
        for i in rows:
            pla = B if (g[i, 51] - g[last, 51]) % 2 == 0 else W
            x = (white_scoring if pla == W else -white_scoring).astype(np.float32) * np.float32(120)
            lo = np.floor(x)
            assert ((v[i, 4] == lo) | (v[i, 4] == lo + 1)).all(), (game, i)
            assert ((x != lo) | (v[i, 4] == x)).all()
            drawn = T.scoring_target(white_scoring, pla, 9, rng)
            assert ((drawn == lo) | (drawn == lo + 1)).all()


def test_game_hash_channels_round_trip_on_katago_rows(sample):
    g = sample["globalTargetsNC"]
    for row in g[::50]:
        c = row[41:47].astype(np.int64)
        h0 = int(c[0]) | int(c[1]) << 22 | int(c[2]) << 44
        h1 = int(c[3]) | int(c[4]) << 22 | int(c[5]) << 44
        assert np.array_equal(np.asarray(R.game_hash_channels(h0, h1), dtype=np.float32), row[41:47])
