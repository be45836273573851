"""The rules engine on hand-made positions: the mechanics the random reference games do not reach.

Boards are written as ASCII rows, top row first: X black, O white, . empty. Moves are (x, y)
with y = 0 the top row.
"""
import pytest

from goloop.common.go.board import Board
from goloop.common.go.history import History, format_score
from goloop.common.go.rules import parse_rules

B, W = 1, 2

# A ko in the top-left corner area: black to capture at (1, 0)... built so that black playing
# (2, 1) captures the white stone at (1, 1) and white could retake at (1, 1).
KO = """
.XO..
XO.O.
.XO..
.....
.....
"""


def _ko_history(rules, **kw):
    return History(parse_rules(rules), board=Board.from_ascii(KO), pla=B, **kw)


def test_simple_ko_ban_is_strict_but_gtp_play_tolerates_it():
    h = _ko_history("chinese")
    h.play((2, 1), B)                       # black takes the ko
    assert h.board.get(1, 1) == 0
    assert h.board.ko == (1, 1)
    assert not h.is_legal((1, 1), W)        # immediate retake: illegal under the rules
    assert h.is_playable((1, 1), W)         # ...but GTP play accepts it
    h.play((4, 4), W)
    h.play((4, 3), B)
    assert h.is_legal((1, 1), W)            # after an exchange elsewhere the ko is open


def test_triple_repetition_is_no_result_under_simple_ko():
    h = _ko_history("chinese")
    for _ in range(3):
        h.play((2, 1), B)                   # take
        h.play((1, 1), W)                   # retake (strictly illegal, GTP-playable)
        if h.is_finished:
            break
    assert h.is_finished and h.is_no_result
    assert h.result_string() == "Void"
    # A further move clears the no-result state: play just continues (rules.md §11).
    h.play((4, 4), B)
    assert not h.is_finished and not h.is_no_result


def test_positional_superko_bans_whole_board_repetition():
    h = _ko_history("tromp-taylor")
    h.play((2, 1), B)
    h.play((4, 4), W)
    h.play((4, 3), B)
    # White retaking now would recreate a position seen before only if the rest matched; it
    # does not (two new stones), so it is legal.
    assert h.is_legal((1, 1), W)
    h = _ko_history("tromp-taylor")
    h.play((2, 1), B)
    h.play(None, W)
    h.play(None, B)                          # two passes end an area game
    assert h.is_finished


def test_button_goes_to_first_passer_and_does_not_count_as_ending_pass():
    rules = parse_rules("aga-button")
    h = History(rules, 5)
    assert h.button_available
    h.play((2, 2), B)
    h.play(None, W)                          # white takes the button: +0.5 for white
    assert h.white_bonus_score == 0.5
    assert not h.button_available
    assert h.consecutive_passes == 0
    h.play(None, B)
    assert not h.is_finished
    h.play(None, W)
    assert h.is_finished
    # Black owns the whole 5x5 board: -25 + 0.5 button + 7 komi.
    assert h.final_score == -25 + 0.5 + 7.0


def test_untaken_button_goes_to_the_player_to_move_at_scoring():
    h = History(parse_rules("aga-button"), 5)
    h.play((2, 2), B)
    assert h.score_now() == -25 + 0.5 + 7.0   # white to move would take it


def test_spight_ko_passes_only_end_on_repeated_pass_position():
    rules = parse_rules("tromp-taylor").with_field("ko", "SPIGHT")
    h = History(rules, 5)
    h.play((2, 2), B)
    h.play(None, W)
    h.play(None, B)
    assert not h.is_finished                 # two passes do not end a SPIGHT game...
    h.play(None, W)                          # ...but white passing again from the same
    assert h.is_finished                     # position it passed from before does


def test_spight_like_ending_under_simple_ko():
    h = History(parse_rules("chinese"), 5)
    h.play((2, 2), B)
    h.play(None, W)
    h.play((1, 1), B)
    h.play(None, W)
    assert not h.is_finished


def test_territory_initial_stones_are_chilled():
    board = Board.from_ascii("""
    X....
    .....
    ..X..
    ...O.
    .....
    """)
    h = History(parse_rules("japanese"), board=board, pla=W)
    assert h.white_bonus_score == 2 - 1
    h.play((0, 4), W)                         # each move gives the opponent a point
    assert h.white_bonus_score == 0


def test_territory_score_counts_territory_plus_prisoners_after_encore():
    # Black walls off the left, white the right; a dead white stone sits in black's area. No
    # dame: KataGo's independent-life count gives no territory to a group that touches dame.
    rows = """
    .XO..
    .XO..
    OXO..
    .XO..
    .XO..
    """
    h = History(parse_rules("japanese"), board=Board.from_ascii(rows), pla=B)
    h.play((0, 1), B)                         # black captures nothing yet: atari on (0, 2)
    h.play(None, W)
    h.play((0, 3), B)                         # captures the white stone at (0, 2)
    assert h.board.get(0, 2) == 0
    for _ in range(6):                        # main phase, encore 1, encore 2
        if h.is_finished:
            break
        h.play(None, h.next_player)
    assert h.is_finished and h.encore_phase == 2
    # Black territory: (0,0), (0,2), (0,4) = 3 points + 1 prisoner; white: columns 3-4 = 10
    # points. Komi 6.5.
    assert h.final_score == 10 - (3 + 1) + 6.5


def test_territory_group_touching_dame_earns_no_territory():
    # KataGo's territory scoring needs dame filled (that is what the encore is for): a group
    # next to an unowned empty point is "seki-like" and its territory does not count.
    rows = """
    .X.O.
    .X.O.
    .X.O.
    .X.O.
    .X.O.
    """
    h = History(parse_rules("japanese"), board=Board.from_ascii(rows), pla=B)
    for _ in range(6):
        if h.is_finished:
            break
        h.play(None, h.next_player)
    assert h.is_finished
    # Stones count (5 each) and are cancelled by the initial chilling: only komi remains.
    assert h.final_score == 6.5


def test_encore_ko_recapture_is_a_pass_for_ko():
    h = _ko_history("japanese")
    h.play(None, B)
    h.play(None, W)
    assert h.encore_phase == 1
    h.play((2, 1), B)                         # black takes the ko in the encore
    assert h.is_ko_recapture_blocked((2, 1))
    assert h.board.ko is None                 # the simple ko point plays no part in the encore
    assert h.is_legal((1, 1), W)              # white's retake is legal: a pass-for-ko
    before = h.board.stones()
    h.play((1, 1), W)
    assert (h.board.stones() == before).all()  # ...which leaves the board alone
    assert not h.is_ko_recapture_blocked((2, 1))
    assert h.next_player == B
    # Now black could retake? No: black's stone still stands; white may capture it next turn.
    h.play((4, 4), B)
    assert h.is_legal((1, 1), W)
    h.play((1, 1), W)                         # a real capture this time
    assert h.board.get(2, 1) == 0 and h.board.get(1, 1) == W
    assert h.is_ko_recapture_blocked((1, 1))


def test_encore_repeated_ko_capture_from_same_position_is_banned():
    h = _ko_history("japanese")
    h.play(None, B)
    h.play(None, W)
    start = h.board.stones().tolist()
    h.play((2, 1), B)                         # capture from the start position
    h.play((1, 1), W)                         # pass-for-ko: lifts the block
    h.play(None, B)
    h.play((1, 1), W)                         # a real capture: back to the start position
    assert h.board.stones().tolist() == start
    h.play((2, 1), B)                         # pass-for-ko (white's stone is blocked)
    assert h.board.stones().tolist() == start
    h.play(None, W)
    assert h.next_player == B and not h.is_finished
    # Black taking the ko again from the same position is the same encore ko capture: banned.
    assert not h.is_legal((2, 1), B)
    assert h.is_playable((2, 1), B)
    assert h.is_legal((4, 4), B)


def test_handicap_bonus_counts_initial_stones_and_leading_black_moves():
    board = Board.from_ascii("""
    .......
    .......
    ..X....
    .......
    ....X..
    .......
    .......
    """)
    assert History(parse_rules("chinese"), board=board, pla=W).white_handicap_bonus == 2
    assert History(parse_rules("aga"), board=board, pla=W).white_handicap_bonus == 1
    assert History(parse_rules("japanese"), board=board, pla=W).white_handicap_bonus == 0
    h = History(parse_rules("chinese"), 7, leading_black_moves_are_handicap=True)
    h.play((2, 2), B)
    assert h.white_handicap_bonus == 0         # one black move: an ordinary game
    h.play((4, 4), B)
    h.play((2, 4), B)
    assert h.white_handicap_bonus == 3
    h.play((3, 3), W)
    h.play((4, 2), B)
    assert h.white_handicap_bonus == 3         # frozen once white has moved
    plain = History(parse_rules("chinese"), 7)
    plain.play((2, 2), B)
    plain.play((4, 4), B)
    assert plain.white_handicap_bonus == 0     # KataGo's default: moves are not handicap


def test_end_game_if_all_pass_alive():
    # A pass-alive black group, but room below for white to live: not over.
    rows = """
    .X.X.
    XXXXX
    .....
    .....
    .....
    """
    h = History(parse_rules("chinese"), board=Board.from_ascii(rows), pla=W)
    assert not h.end_game_if_all_pass_alive()
    assert not h.is_finished
    # Two pass-alive black groups; the row between them has no internal point, so no white
    # group could ever live there: the whole board is settled.
    rows = """
    .X.X.
    XXXXX
    .....
    XXXXX
    .X.X.
    """
    h = History(parse_rules("chinese"), board=Board.from_ascii(rows), pla=W)
    assert h.end_game_if_all_pass_alive()
    # Chinese rules give white N points for N black stones on an all-black initial board.
    assert h.is_finished and h.final_score == -25 + 7.5 + 14


def test_undo_and_set_rules_replay_the_game():
    h = _ko_history("chinese")
    h.play((2, 1), B)
    h.play((4, 4), W)
    snapshot = (h.board.stones().tolist(), h.next_player, h.board.ko)
    h.play((4, 3), B)
    assert h.undo()
    assert (h.board.stones().tolist(), h.next_player, h.board.ko) == snapshot
    h.set_rules(parse_rules("tromp-taylor"))
    assert h.rules.ko_rule.name == "POSITIONAL"
    assert (h.board.stones().tolist(), h.next_player) == snapshot[:2]
    while h.undo():
        pass
    assert not h.undo()
    assert h.board.to_ascii() == Board.from_ascii(KO).to_ascii()


def test_format_score():
    assert format_score(3.5) == "W+3.5"
    assert format_score(-1.0) == "B+1"
    assert format_score(0.0) == "0"
    assert format_score(-40.5) == "B+40.5"


def test_bad_moves_raise_and_leave_the_game_alone():
    h = _ko_history("chinese")
    before = h.board.stones().tolist()
    with pytest.raises(ValueError, match="occupied"):
        h.play((1, 0), W)
    with pytest.raises(ValueError, match="off"):
        h.play((9, 9), W)
    with pytest.raises(ValueError):
        h.play((1, 1), "purple")
    assert h.board.stones().tolist() == before and h.moves == []
