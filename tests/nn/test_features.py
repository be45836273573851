"""The V7 neural-net inputs against KataGo: real selfplay rows, GTP raw-NN positions, hand cases.

1. Golden rows: every row of KataGo's own selfplay file is rebuilt from what the row itself
   shows (stones from planes 1/2 with pla = black, rules/encore/komi from the globals, encore-2
   stones from planes 20/21) and the planes that depend only on that must equal KataGo's bit
   for bit. Rows whose predecessors in the same game are in the file are rebuilt from the
   earlier row and the moves in between, which also checks history planes, the recent-board
   ring (ladders 1 and 2 moves ago) and the simple-ko plane.
2. The GTP positions of shared/reference/rawnn_*.json, replayed move by move.
3. Hand-made cases for what neither reaches (encore planes, button, parity wave, tensors).
"""
import collections
import json
import math
import pathlib
import random
import re

import numpy as np
import pytest

from goloop.common.go.board import Board
from goloop.common.go.coords import gtp_to_point
from goloop.common.go.history import History
from goloop.common.go.rules import KoRule, Rules, ScoringRule, TaxRule, parse_rules
from goloop.common.nn.features import (
    NUM_GLOBAL_FEATURES,
    NUM_SPATIAL_FEATURES,
    FeatureError,
    encode,
    encode_batch,
)

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
REF = SHARED / "reference"
B, W = 1, 2


def points(plane):
    """The (x, y) points set in a (Y, X) plane."""
    return {(int(x), int(y)) for y, x in np.argwhere(plane)}


def enc(h, **kw):
    spatial, glob = encode(h, **kw)
    return spatial[0], glob[0]


# ---------------------------------------------------------------------------------------------
# 1. KataGo's selfplay rows.

class Sample:
    def __init__(self):
        data = np.load(REF / "katago_selfplay_sample.npz")
        self.glob = data["globalInputNC"]
        self.targets = data["globalTargetsNC"]
        n = self.glob.shape[0]
        self.planes = np.unpackbits(data["binaryInputNCHWPacked"], axis=2)[:, :, :81].reshape(n, 22, 9, 9)
        self.n = n


@pytest.fixture(scope="module")
def sample():
    return Sample()


def _rules_of(g):
    ko = KoRule.SIMPLE if g[6] == 0 else (KoRule.POSITIONAL if g[7] > 0 else KoRule.SITUATIONAL)
    scoring = ScoringRule.TERRITORY if g[9] else ScoringRule.AREA
    tax = TaxRule.NONE if not g[10] else (TaxRule.ALL if g[11] else TaxRule.SEKI)
    # An available button shows in global 17; a taken one only as bonus inside the komi, which
    # is matched below as a whole.
    return Rules(ko, scoring, tax, bool(g[8]), bool(g[17]), komi=0.0)


def _set_komi(h, base, white_total):
    """Pick komi and drawEquivalentWinsForWhite so that white's komi + bonuses + draw
    adjustment is exactly `white_total` (KataGo randomizes the draw utility per game)."""
    r = white_total - h.white_bonus_score - h.white_handicap_bonus
    if r * 2 == math.floor(r * 2):
        komi, draw = r, 0.5
    else:
        # Only komis that allow a draw get the adjustment: integers, or half-integers with the button.
        komi = math.floor(r + 0.5) if not base.has_button else math.floor(r) + 0.5
        draw = 0.5 + (r - komi)
    h.set_rules(base.with_komi(komi))
    return draw


def _board_of(sample, i, pla_color=B):
    b = Board(9, 9)
    for y in range(9):
        for x in range(9):
            if sample.planes[i, 1, y, x]:
                b.set_stone((x, y), pla_color)
            elif sample.planes[i, 2, y, x]:
                b.set_stone((x, y), 3 - pla_color)
    return b


def _history_from_row(sample, i, rules_row=None):
    g = sample.glob[i if rules_row is None else rules_row]
    encore = int(g[12]) + int(g[13])
    second = None
    if encore == 2:
        second = sample.planes[i, 20].astype(np.uint8) + 2 * sample.planes[i, 21].astype(np.uint8)
    base = _rules_of(g)
    h = History(base, 9, 9, board=_board_of(sample, i), pla=B, encore_phase=encore,
                second_encore_start=second)
    return h, base


BOARD_PLANES = [3, 4, 5, 14, 17, 18, 19, 20, 21]
RULE_GLOBALS = list(range(5, 14)) + [17, 18]


def test_selfplay_rows_board_planes_and_globals_match_katago(sample):
    families = collections.Counter()
    exercised = collections.Counter()
    wrong = []
    for i in range(sample.n):
        g = sample.glob[i]
        h, base = _history_from_row(sample, i)
        # C47 is the row's self komi for pla (= black here), unclipped.
        draw = _set_komi(h, base, -float(sample.targets[i, 47]))
        spatial, glob = enc(h, draw_equivalent_wins_for_white=draw)
        families[(base.ko_rule.name, base.scoring_rule.name, base.tax_rule.name)] += 1
        exercised[f"encore{h.encore_phase}"] += 1
        exercised["button"] += bool(g[17])
        for c in BOARD_PLANES:
            exercised[f"plane{c}"] += bool(sample.planes[i, c].any())
            if not np.array_equal(spatial[c], sample.planes[i, c]):
                wrong.append((i, f"plane {c}"))
        for c in RULE_GLOBALS:
            if glob[c] != g[c]:
                wrong.append((i, f"global {c}", glob[c], g[c]))
        assert np.array_equal(spatial[0], sample.planes[i, 0])
        assert np.array_equal(spatial[1:3], sample.planes[i, 1:3])
    assert not wrong, f"{len(wrong)} mismatches, first {wrong[:10]}"
    assert sample.n == 1827
    # Every ko x scoring x tax combination is present, with these many rows.
    assert families == {
        ("POSITIONAL", "AREA", "ALL"): 56, ("POSITIONAL", "AREA", "NONE"): 45,
        ("POSITIONAL", "AREA", "SEKI"): 216, ("POSITIONAL", "TERRITORY", "ALL"): 26,
        ("POSITIONAL", "TERRITORY", "NONE"): 112, ("POSITIONAL", "TERRITORY", "SEKI"): 126,
        ("SIMPLE", "AREA", "ALL"): 48, ("SIMPLE", "AREA", "NONE"): 104,
        ("SIMPLE", "AREA", "SEKI"): 38, ("SIMPLE", "TERRITORY", "ALL"): 42,
        ("SIMPLE", "TERRITORY", "NONE"): 89, ("SIMPLE", "TERRITORY", "SEKI"): 185,
        ("SITUATIONAL", "AREA", "ALL"): 107, ("SITUATIONAL", "AREA", "NONE"): 134,
        ("SITUATIONAL", "AREA", "SEKI"): 91, ("SITUATIONAL", "TERRITORY", "ALL"): 80,
        ("SITUATIONAL", "TERRITORY", "NONE"): 168, ("SITUATIONAL", "TERRITORY", "SEKI"): 160,
    }
    assert exercised["encore1"] == 51 and exercised["encore2"] == 101
    assert exercised["button"] == 338
    # The features under test are really present in the data, not all zero.
    for c in BOARD_PLANES:
        assert exercised[f"plane{c}"] >= 30, (c, exercised[f"plane{c}"])


def _move_into(sample, i):
    """The move that led to row i as row i shows it: (x, y), None for a pass, or False when the
    row does not show its history."""
    pts = np.argwhere(sample.planes[i, 9])
    if len(pts):
        return (int(pts[0][1]), int(pts[0][0]))
    return None if sample.glob[i, 0] else False


def _rebuild_chain(sample, chain):
    """History from the first row of `chain` plus the moves to the last, or None if the rows are
    not consecutive positions of one line of play."""
    last = chain[-1]
    h, base = _history_from_row(sample, chain[0], rules_row=last)
    pla = B
    for row in chain[1:]:
        move = _move_into(sample, row)
        if move is False:
            return None
        try:
            h.play(move, pla)
        except ValueError:
            return None
        pla = 3 - pla
        want = np.where(sample.planes[row, 1] == 1, pla,
                        np.where(sample.planes[row, 2] == 1, 3 - pla, 0))
        if not np.array_equal(h.board.stones(), want):
            return None
    self_komi = float(sample.targets[last, 47])
    draw = _set_komi(h, base, self_komi if pla == W else -self_komi)
    return h, draw


def test_selfplay_rows_rebuilt_from_earlier_rows_match_history_and_past_ladders(sample):
    games = collections.defaultdict(list)
    for i in range(sample.n):
        games[tuple(sample.targets[i, 41:47])].append(i)
    checked = collections.Counter()
    wrong = []
    for rows in games.values():
        for i in rows:
            turn, encore = sample.targets[i, 51], sample.glob[i, 12] + sample.glob[i, 13]
            same = [j for j in rows if sample.glob[j, 12] + sample.glob[j, 13] == encore]
            before = {k: [j for j in same if sample.targets[j, 51] == turn - k] for k in (1, 2)}
            chains = {2: [[j, i] for j in before[1]],
                      3: [[k, j, i] for j in before[1] for k in before[2]]}
            for length, candidates in chains.items():
                for chain in candidates:
                    built = _rebuild_chain(sample, chain)
                    if built is None:
                        continue
                    h, draw = built
                    spatial, glob = enc(h, draw_equivalent_wins_for_white=draw)
                    planes = [1, 2, 3, 4, 5, 9, 14, 15, 17, 18, 19, 20, 21]
                    globs = [0] + RULE_GLOBALS
                    if length == 3:
                        planes += [10, 16]
                        globs += [1]
                    if sample.glob[i, 6] == 0 and encore == 0:
                        planes.append(6)          # simple ko: plane 6 is the ko point alone
                        checked["ko plane"] += 1
                        checked["ko point set"] += bool(sample.planes[i, 6].any())
                    wrong += [(chain, f"plane {c}") for c in planes
                              if not np.array_equal(spatial[c], sample.planes[i, c])]
                    wrong += [(chain, f"global {c}") for c in globs if glob[c] != sample.glob[i, c]]
                    checked[length] += 1
                    checked[f"past ladder differs {length}"] += not np.array_equal(
                        sample.planes[i, 14], sample.planes[i, 13 + length])
                    checked[f"pass {length}"] += bool(sample.glob[i, 0])
                    break
    assert not wrong, f"{len(wrong)} mismatches, first {wrong[:10]}"
    assert checked[2] == 398 and checked[3] == 110
    # Planes 15/16 differ from plane 14 in many of them, some moves were passes, and under
    # simple ko one row has a ko point.
    assert checked["past ladder differs 2"] == 146 and checked["past ladder differs 3"] == 48
    assert checked["pass 2"] == 6
    assert checked["ko plane"] == 145 and checked["ko point set"] == 1


# ---------------------------------------------------------------------------------------------
# 2. KataGo GTP raw-NN positions.

RAWNN = sorted(REF.glob("rawnn_*.json"))


def replay_gtp(doc, rules=None):
    """The History KataGo's GTP built from the file's commands (preventCleanupPhase as in GTP)."""
    size = doc["board_size"]
    if rules is None:
        rules = parse_rules(doc["rules"], komi=doc["komi"])
    h = History(rules, size, prevent_encore=True)
    for cmd in doc["gtp_commands"]:
        name, *args = cmd.split()
        if name == "play":
            h.play(gtp_to_point(args[1], size, size), args[0])
    return h


def _showboard_stones(doc):
    size = doc["board_size"]
    rows = [line for line in doc["showboard"] if re.match(r"^\s*\d+ ", line)]
    assert len(rows) == size
    out = np.zeros((size, size), dtype=np.int8)
    for y, line in enumerate(rows):
        # Move-number markers follow the stone ("X3O2."), so drop digits after the row label.
        cells = re.sub(r"[\d\s]", "", line.strip().split(" ", 1)[1])
        assert len(cells) == size
        for x, ch in enumerate(cells):
            out[y, x] = {"X": B, "O": W, ".": 0}[ch]
    return out


@pytest.mark.parametrize("path", RAWNN, ids=lambda p: p.stem)
def test_rawnn_position_replays_and_illegal_points_are_stones_or_ko_bans(path):
    doc = json.loads(path.read_text())
    h = replay_gtp(doc)
    assert h.rules.to_json() == doc["rules_json_from_kata_get_rules"]
    assert h.next_player == {"B": B, "W": W}[doc["next_player"]]
    assert np.array_equal(h.board.stones(), _showboard_stones(doc))
    spatial, glob = enc(h)
    size = doc["board_size"]
    # KataGo prints NAN (null) exactly on the points its legality mask removes: here (no
    # suicide points arise) stones and ko/superko bans, i.e. planes 1, 2 and 6 together.
    null = {(i % size, i // size) for i, v in enumerate(doc["outputs"]["policy"]) if v is None}
    assert null == points(spatial[1]) | points(spatial[2]) | points(spatial[6])
    # Self komi: no bonus in these games except japanese chilling (1 point per move to the
    # opponent of the mover).
    chill = 0
    if h.rules.scoring_rule == ScoringRule.TERRITORY:
        chill = sum(1 if c == B else -1 for c, m in h.moves if m is not None)
    self_komi = doc["komi"] + chill
    if h.next_player == B:
        self_komi = -self_komi
    assert glob[5] == np.float32(self_komi) / np.float32(20)


@pytest.mark.parametrize("path", RAWNN, ids=lambda p: p.stem)
def test_rawnn_history_planes_show_the_last_five_moves(path):
    doc = json.loads(path.read_text())
    h = replay_gtp(doc)
    spatial, glob = enc(h)
    size = doc["board_size"]
    moves = doc["moves"]
    for k in range(1, 6):
        shown = points(spatial[8 + k])
        if k > len(moves):
            assert not shown and glob[k - 1] == 0
            continue
        vertex = moves[-k][1]
        if vertex == "pass":
            assert not shown and glob[k - 1] == 1
        else:
            assert shown == {gtp_to_point(vertex, size, size)} and glob[k - 1] == 0


def _doc(name):
    return json.loads((REF / f"rawnn_{name}.json").read_text())


def test_rawnn_ko_position_bans_the_immediate_recapture():
    doc = _doc("9x9_ko_komi7_tromptaylor")
    h = replay_gtp(doc)
    spatial, glob = enc(h)
    d5 = gtp_to_point("D5", 9, 9)
    assert points(spatial[6]) == {d5}
    assert doc["outputs"]["policy"][d5[1] * 9 + d5[0]] is None
    assert h.board.ko == d5
    # Positional superko, suicide allowed, area scoring, 9x9 (odd) with komi 7 for white.
    assert list(glob[5:12]) == [np.float32(0.35), 1, 0.5, 1, 0, 0, 0]
    assert glob[18] == 0


def test_rawnn_japanese_white_pass_is_history_and_a_pass_would_end_the_phase():
    h = replay_gtp(_doc("19x19_komi6.5_japanese_withpass"))
    spatial, glob = enc(h)
    assert glob[0] == 1                          # white passed 1 turn ago
    assert spatial[10].sum() == 1                # black R10 2 turns ago
    # Simple ko, no suicide, territory scoring with seki tax, main phase.
    assert list(glob[6:14]) == [0, 0, 0, 1, 1, 0, 0, 0]
    assert glob[14] == 1                         # black passing now ends the main phase
    assert glob[18] == 0                         # no parity wave before encore 2
    assert not spatial[18:22].any()              # no area planes under territory yet
    assert glob[5] == np.float32(-(6.5 + 1)) / np.float32(20)   # 3 black - 2 white moves chilled


def test_rawnn_empty_boards_globals():
    _, g9 = enc(replay_gtp(_doc("9x9_empty_komi7_tromptaylor")))
    assert list(g9) == pytest.approx([0] * 5 + [-0.35, 1, 0.5, 1] + [0] * 10)
    s19, g19 = enc(replay_gtp(_doc("19x19_empty_komi7.5_chinese")))
    assert g19[5] == np.float32(-0.375) and g19[18] == np.float32(-0.5)
    assert list(g19[6:9]) == [0, 0, 0]           # chinese: simple ko, no suicide
    assert s19[0].sum() == 361 and not s19[1:].any()


def test_rawnn_capture_position():
    doc = _doc("9x9_capture_komi7_chinese")
    h = replay_gtp(doc)
    spatial, glob = enc(h)
    a1, b1 = gtp_to_point("A1", 9, 9), gtp_to_point("B1", 9, 9)
    assert h.board[a1] == 0 and h.board[b1] == 0
    assert points(spatial[9]) == {gtp_to_point("G5", 9, 9)}
    assert points(spatial[11]) == {gtp_to_point("C1", 9, 9)}     # the capture, 3 turns ago
    assert glob[5] == np.float32(0.35) and glob[18] == 0          # white: komi 7 on 81 points
    # Area scoring without tax: the area planes cover at least every stone.
    assert points(spatial[1]) <= points(spatial[18]) and points(spatial[2]) <= points(spatial[19])


def _opening_then_black_pass(preset, komi=7.0):
    doc = _doc("9x9_opening_komi7_tromptaylor")
    h = replay_gtp(doc, rules=parse_rules(preset, komi=komi))
    h.play(None, B)
    return h


def test_friendly_pass_rules_hide_history_when_a_pass_would_end_the_game():
    # input-features-v7.md §1: checked against KataGo.
    h = _opening_then_black_pass("chinese")
    assert h.pass_would_end_game() and h.should_suppress_end_game_from_friendly_pass()
    spatial, glob = enc(h)
    assert not spatial[9:14].any() and not glob[0:5].any() and glob[14] == 0
    h = _opening_then_black_pass("tromp-taylor")
    assert h.pass_would_end_game() and not h.should_suppress_end_game_from_friendly_pass()
    spatial, glob = enc(h)
    assert glob[0] == 1 and glob[14] == 1
    assert all(spatial[c].sum() == 1 for c in range(10, 14)) and not spatial[9].any()
    # The root's conservative pass hides it too; passing hacks only when ending now would not
    # be a win for the player to move (white: komi 7 wins here, komi -50 does not).
    spatial, glob = enc(h, conservative_pass=True)
    assert not glob[0:5].any() and not spatial[9:14].any() and glob[14] == 0
    spatial, glob = enc(h, enable_passing_hacks=True)
    assert glob[0] == 1 and glob[14] == 1
    losing = _opening_then_black_pass("tromp-taylor", komi=-50)
    spatial, glob = enc(losing, enable_passing_hacks=True)
    assert not glob[0:5].any() and not spatial[9:14].any() and glob[14] == 0


KO = """
    .XO..
    XO.O.
    .XO..
    .....
    .....
"""


def test_friendly_pass_does_not_hide_a_spight_like_ending_pass():
    # Chinese (simple ko): a ko taken and retaken brings back the position white passed from.
    # White passing there again would end the game Spight-like, and that is not suppressed.
    h = History(parse_rules("chinese"), board=Board.from_ascii(KO), pla=W)
    h.play(None, W)
    h.play((2, 1), B)                # black takes the ko
    h.play((1, 1), W)                # white retakes (GTP play tolerates it)
    h.play(None, B)
    assert np.array_equal(h.board.stones(), Board.from_ascii(KO).stones()) and h.next_player == W
    assert h.pass_would_end_game() and not h.should_suppress_end_game_from_friendly_pass()
    spatial, glob = enc(h)
    assert glob[0] == 1 and glob[14] == 1 and points(spatial[10]) == {(1, 1)}
    # Without white's earlier pass the same last moves are an ordinary second pass: hidden.
    h = History(parse_rules("chinese"), board=Board.from_ascii(KO), pla=B)
    h.play((2, 1), B)
    h.play((1, 1), W)
    h.play(None, B)
    assert h.pass_would_end_game() and h.should_suppress_end_game_from_friendly_pass()
    spatial, glob = enc(h)
    assert not glob[:5].any() and not spatial[9:14].any() and glob[14] == 0


# ---------------------------------------------------------------------------------------------
# 3. Hand-made cases.

def test_history_planes_follow_strict_alternation_and_show_passes():
    h = History(parse_rules("tromp-taylor"), 9)
    h.play((0, 0), B)
    h.play(None, W)
    h.play((2, 2), B)
    h.play((3, 3), W)
    h.play((4, 4), B)
    h.play((5, 5), B)                # out of turn: black twice
    spatial, glob = enc(h)           # white to move
    # 1 ago is black's (5, 5): shown; 2 ago should be white's but is black's: stop there.
    assert points(spatial[9]) == {(5, 5)} and not spatial[10:14].any() and not glob[:5].any()
    spatial, glob = enc(h, next_player=B)
    # For black, 1 ago should be white's: nothing at all is shown.
    assert not spatial[9:14].any()
    h.play(None, W)
    spatial, glob = enc(h)           # black to move: pass, (5,5), ... stop at (4,4) by black
    assert glob[0] == 1 and points(spatial[10]) == {(5, 5)} and not spatial[11:14].any()


def test_history_is_limited_to_five_moves_and_by_max_history():
    h = History(parse_rules("tromp-taylor"), 9)
    moves = [(x, 0) for x in range(7)]
    for i, m in enumerate(moves):
        h.play(m, B if i % 2 == 0 else W)
    spatial, glob = enc(h)
    for k in range(1, 6):
        assert points(spatial[8 + k]) == {moves[-k]}
    spatial, _ = enc(h, max_history=2)
    assert spatial[9].any() and spatial[10].any() and not spatial[11:14].any()


def test_history_restarts_at_each_encore_phase_and_after_an_ending():
    h = History(parse_rules("japanese"), 5)
    h.play((2, 2), B)
    h.play((1, 1), W)
    h.play(None, B)
    h.play(None, W)                  # main phase over: encore 1 starts with no history
    assert h.encore_phase == 1 and h.num_approx_valid_turns_this_phase == 0
    spatial, glob = enc(h)
    assert not glob[:5].any() and not spatial[9:14].any() and glob[12] == 1 and glob[13] == 0
    h.play(None, B)
    spatial, glob = enc(h)
    assert glob[0] == 1 and glob[1] == 0 and glob[14] == 1
    # GTP's preventCleanupPhase: two passes only end the "normal" phase; one move stays shown.
    h = History(parse_rules("japanese"), 5, prevent_encore=True)
    for m, c in [((2, 2), B), ((1, 1), W), (None, B), (None, W)]:
        h.play(m, c)
    assert h.is_past_normal_phase_end and h.num_approx_valid_turns_this_phase == 1
    spatial, glob = enc(h)
    assert list(glob[:2]) == [1, 0]
    h.play((3, 3), B)                # play goes on: the ending pass plus this move
    assert h.num_approx_valid_turns_this_phase == 2
    _, glob = enc(h)
    assert glob[1] == 1
    # A finished area game shows only the ending pass.
    h = History(parse_rules("tromp-taylor"), 5)
    for m, c in [((2, 2), B), (None, W), (None, B)]:
        h.play(m, c)
    assert h.is_finished
    spatial, glob = enc(h)
    assert list(glob[:3]) == [1, 0, 0] and glob[14] == 1


def test_recent_boards_ring_and_past_ladder_planes():
    # White (4, 4) has two liberties and black can ladder it from either side.
    ladder = Board.from_ascii("""
        .........
        .........
        .........
        .....X...
        ...XO....
        ....X....
        .........
        .........
        .........
    """)
    h = History(parse_rules("tromp-taylor"), board=ladder, pla=B)
    assert h.recent_board(1) == ladder and h.recent_board(2) == ladder
    spatial, _ = enc(h)
    assert points(spatial[14]) == {(4, 4)} and points(spatial[17]) == {(4, 3), (5, 4)}
    h.play((4, 3), B)                # atari: the ladder works
    atari = h.board
    h.play((7, 7), W)                # a ladder breaker
    assert h.recent_board(0) == h.board
    assert h.recent_board(1) == atari and h.recent_board(2) == ladder
    spatial, _ = enc(h)              # black to move
    assert (4, 4) not in points(spatial[14])       # broken now
    assert (4, 4) in points(spatial[15])           # captured 1 move ago (1 liberty)
    assert (4, 4) in points(spatial[16])           # and 2 moves ago (2 liberties)
    assert not spatial[17].any()                   # working moves are for 2-liberty chains
    # Without the history shown, planes 15 and 16 repeat the more recent board's.
    spatial0, _ = enc(h, max_history=0)
    assert np.array_equal(spatial0[15], spatial0[14]) and np.array_equal(spatial0[16], spatial0[14])
    spatial1, _ = enc(h, max_history=1)
    assert np.array_equal(spatial1[15], spatial[15]) and np.array_equal(spatial1[16], spatial1[15])
    # Copies keep the ring; undo rebuilds it.
    assert np.array_equal(enc(h.copy())[0], spatial)
    h.play((0, 0), B)
    h.undo()
    assert np.array_equal(enc(h)[0], spatial)


def _random_game(rules, size, n, seed, pass_prob=0.05):
    rng = random.Random(seed)
    h = History(rules, size)
    yield h
    for _ in range(n):
        legal = h.legal_moves()
        move = None if rng.random() < pass_prob else rng.choice(legal)
        h.play(move, h.next_player)
        yield h


@pytest.mark.parametrize("preset", ["tromp-taylor", "aga", "chinese", "new-zealand"])
def test_ko_plane_is_exactly_the_rule_bans_of_the_player_to_move(preset):
    # Main phase: an empty point that is not an illegal suicide is strictly illegal exactly when
    # it is the simple-ko point or superko-banned, which is what plane 6 shows.
    rules = parse_rules(preset)
    multi = rules.multi_stone_suicide_legal
    ko_points = superko_bans = 0
    for seed in range(6):
        for h in _random_game(rules, 4 + seed % 2, 120, seed):
            spatial, _ = enc(h)
            b, pla = h.board, h.next_player
            banned = set()
            for y in range(h.y_size):
                for x in range(h.x_size):
                    p = (x, y)
                    illegal_suicide = b.is_suicide(p, pla) and not b.is_legal(p, pla, multi)
                    if b.get(x, y) == 0 and not illegal_suicide and not h.is_legal(p, pla):
                        banned.add(p)
            assert points(spatial[6]) == banned
            assert points(h.superko_banned()) == banned - {b.ko}
            ko_points += b.ko is not None
            superko_bans += len(banned - {b.ko})
    assert ko_points > 0
    # The games really reach superko bans (none can exist under simple ko).
    assert (superko_bans > 0) == (rules.ko_rule != KoRule.SIMPLE)


def test_encore_ko_planes_and_second_encore_stones():
    ko = Board.from_ascii("""
        .XO..
        XO.O.
        .XO..
        .....
        .....
    """)
    h = History(parse_rules("japanese"), board=ko, pla=B)
    h.play(None, B)
    h.play(None, W)
    assert h.encore_phase == 1
    h.play((2, 1), B)                # black takes the ko: its stone is recapture-blocked
    spatial, glob = enc(h)
    assert points(spatial[7]) == {(2, 1)} and not spatial[6].any()
    h.play((1, 1), W)                # white's pass-for-ko lifts the block
    spatial, _ = enc(h)
    assert not spatial[7].any()
    h.play(None, B)
    h.play((1, 1), W)                # white takes back: the position black captured from
    spatial, _ = enc(h)
    assert points(spatial[7]) == {(1, 1)}
    # Black already captured at (2, 1) from exactly this position: KataGo marks it in plane 6
    # (here the move is still legal as a pass-for-ko, and the plane marks it regardless).
    assert points(spatial[6]) == {(2, 1)}
    assert h.is_pass_for_ko((2, 1), B)
    assert not spatial[20:22].any() and not spatial[18:20].any() and glob[18] == 0
    h.play(None, B)
    h.play(None, W)
    assert h.encore_phase == 2
    start = h.board.stones()
    spatial, glob = enc(h)           # black to move
    assert points(spatial[20]) == points(start == B) and points(spatial[21]) == points(start == W)
    assert glob[12] == 1 and glob[13] == 1 and not spatial[6:8].any()
    assert spatial[18:20].any()      # territory area appears in encore 2
    h.play((2, 1), B)                # captures white (1, 1) in encore 2
    spatial, _ = enc(h)              # white to move: planes 20/21 still the start colours
    assert points(spatial[21]) == points(start == B) and points(spatial[20]) == points(start == W)
    assert (1, 1) in points(spatial[20]) and h.board.get(1, 1) == 0


def test_history_started_in_encore_two():
    board = Board.from_ascii("""
        .XO..
        XXO..
        .XO..
        .XO..
        .XO..
    """)
    start = board.stones().copy()
    start[0, 0] = W                  # a white stone captured since encore 2 began
    h = History(parse_rules("japanese"), board=board, pla=W, encore_phase=2,
                second_encore_start=start)
    assert np.array_equal(h.second_encore_start_colors(), start)
    spatial, glob = enc(h)
    assert (0, 0) in points(spatial[20]) and glob[13] == 1
    h.set_rules(parse_rules("japanese", komi=0.5))
    assert np.array_equal(h.second_encore_start_colors(), start) and h.encore_phase == 2
    with pytest.raises(ValueError):
        History(parse_rules("chinese"), 5, encore_phase=1)
    with pytest.raises(ValueError):
        History(parse_rules("japanese"), 5, encore_phase=1, second_encore_start=np.zeros((5, 5)))
    with pytest.raises(ValueError):
        History(parse_rules("japanese"), 5, encore_phase=2, second_encore_start=np.zeros((4, 5)))
    with pytest.raises(ValueError):
        h.set_rules(parse_rules("chinese"))


def test_button_global_and_komi():
    h = History(parse_rules("aga-button"), 9)
    _, glob = enc(h)
    # komi 7 with the button: the result cannot be an integer, no draw adjustment.
    assert glob[17] == 1 and glob[5] == np.float32(-7 / 20)
    _, glob = enc(h, draw_equivalent_wins_for_white=1.0)
    assert glob[5] == np.float32(-7 / 20)
    h.play((4, 4), B)
    h.play(None, W)                  # white takes the button: +0.5 for white
    _, glob = enc(h)
    assert glob[17] == 0 and glob[5] == np.float32(-7.5 / 20)
    assert glob[14] == 0             # that pass was not an ending pass


def test_untaken_button_is_handed_out_when_all_is_pass_alive():
    board = Board.from_ascii("""
        .X.XX
        XXXXX
        XXXXX
        XXXXX
        XXXXX
    """)
    h = History(Rules(has_button=True, komi=7.0), board=board, pla=B)
    assert h.end_game_if_all_pass_alive()
    assert h.final_score == -25 - 0.5 + 7
    # As in KataGo the button is gone now, in the bonus and in the inputs.
    assert not h.button_available and h.white_bonus_score == -0.5
    _, glob = enc(h)
    assert glob[17] == 0 and glob[5] == np.float32(-6.5 / 20)


@pytest.mark.parametrize("x_size, y_size, komi, pla, wave", [
    (9, 9, 7.0, W, 0.0), (9, 9, 7.0, B, 0.0), (9, 9, 7.5, W, 0.5), (9, 9, 7.5, B, -0.5),
    (9, 9, 6.5, W, -0.5), (9, 9, 8.0, W, 0.0),
    (8, 8, 7.0, W, 0.0), (8, 8, 7.5, W, -0.5), (8, 8, 6.5, W, 0.5), (8, 8, 8.0, W, 0.0),
    (8, 8, 7.0, B, 0.0), (8, 8, 6.5, B, -0.5), (19, 19, 7.5, B, -0.5), (7, 11, 0.5, W, -0.5),
])
def test_parity_wave(x_size, y_size, komi, pla, wave):
    h = History(parse_rules("tromp-taylor", komi=komi), x_size, y_size)
    _, glob = enc(h, next_player=pla)
    assert glob[18] == pytest.approx(wave)
    assert glob[5] == np.float32(komi if pla == W else -komi) / np.float32(20)


def test_parity_wave_follows_the_draw_adjusted_komi():
    h = History(parse_rules("tromp-taylor", komi=7.0), 9)
    # A draw worth 0.75 wins to white: komi 7 counts as 7.25.
    _, glob = enc(h, next_player=W, draw_equivalent_wins_for_white=0.75)
    assert glob[5] == np.float32(7.25) / np.float32(20) and glob[18] == np.float32(0.25)
    # Territory scoring: no wave before encore 2.
    _, glob = enc(History(parse_rules("japanese"), 9))
    assert glob[18] == 0


def test_komi_is_clipped_to_the_board_area_plus_twenty():
    h = History(parse_rules("tromp-taylor", komi=150.0), 9)
    _, glob = enc(h, next_player=W)
    assert glob[5] == np.float32(101) / np.float32(20)
    _, glob = enc(h, next_player=B)
    assert glob[5] == np.float32(-101) / np.float32(20)


def test_playout_doubling_advantage():
    h = History(parse_rules("tromp-taylor"), 9)
    _, glob = enc(h)
    assert glob[15] == 0 and glob[16] == 0
    _, glob = enc(h, playout_doubling_advantage=-1.5)
    assert glob[15] == 1 and glob[16] == np.float32(-0.75)


def test_rectangular_board_inside_a_larger_tensor():
    rules = parse_rules("tromp-taylor")
    h = History(rules, 7, 11)
    for m, c in [((0, 0), B), ((6, 10), W), ((1, 0), B), ((0, 1), W), ((3, 5), B)]:
        h.play(m, c)
    own_s, own_g = enc(h)
    assert own_s.shape == (22, 11, 7)
    big_s, big_g = encode(h, pos_len=19)
    big_s, big_g = big_s[0], big_g[0]
    assert big_s.shape == (22, 19, 19)
    assert big_s[0].sum() == 77 and points(big_s[0]) == {(x, y) for x in range(7) for y in range(11)}
    assert np.array_equal(big_s[:, :11, :7], own_s)
    assert not big_s[:, 11:, :].any() and not big_s[:, :, 7:].any()
    assert np.array_equal(big_g, own_g)
    assert points(big_s[9]) == {(3, 5)} and points(big_s[2]) == {(0, 0), (1, 0), (3, 5)}


def test_encode_writes_into_a_given_row_and_batches_mix_sizes():
    h9 = History(parse_rules("chinese"), 9)
    h9.play((4, 4), B)
    h5 = History(parse_rules("japanese"), 5)
    out_s = np.full((3, 22, 19, 19), 7.0, dtype=np.float32)
    out_g = np.full((3, 19), 7.0, dtype=np.float32)
    ret_s, ret_g = encode(h9, out_s, out_g, row=1)
    assert ret_s is out_s and ret_g is out_g
    assert (out_s[0] == 7).all() and (out_s[2] == 7).all() and (out_g[2] == 7).all()
    assert out_s[1, 0].sum() == 81 and out_s[1, 2, 4, 4] == 1 and not out_s[1, :, 9:, :].any()
    batch_s, batch_g = encode_batch([h9, h5])
    assert batch_s.shape == (2, 22, 9, 9) and batch_g.shape == (2, 19)
    assert np.array_equal(batch_s[0], enc(h9)[0]) and np.array_equal(batch_g[1], enc(h5)[1])
    assert np.array_equal(batch_s[1, :, :5, :5], enc(h5)[0]) and batch_s[1, 0].sum() == 25
    assert NUM_SPATIAL_FEATURES == 22 and NUM_GLOBAL_FEATURES == 19
    with pytest.raises(FeatureError):
        encode(h9, pos_len=7)
    with pytest.raises(FeatureError):
        encode(h9, np.zeros((1, 22, 9, 9), np.float64), np.zeros((1, 19), np.float32))
    with pytest.raises(FeatureError):
        encode(h9, np.zeros((1, 22, 9, 9), np.float32), np.zeros((1, 19), np.float32), row=1)
    with pytest.raises(FeatureError):
        encode(h9, np.zeros((1, 22, 5, 5), np.float32), np.zeros((1, 19), np.float32))
    with pytest.raises(FeatureError):
        encode_batch([h9, "not a history"])
    with pytest.raises(ValueError):
        encode(h9, next_player=0)
