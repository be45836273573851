# cython: language_level=3
"""A game under a rule set: KataGo's BoardHistory (shared/spec/rules.md §3-§7).

The board knows stones; the history knows everything the rules add on top: whose turn it is,
superko, passes and the button, the territory encore with its pass-for-ko and ko-recapture
marks, repetition no-result, the bonus points (chilling, button, handicap) and final scoring.

Two notions of legality are kept apart, as in KataGo (rules.md §11):
  * `is_playable` is GTP `play`'s tolerance: only occupied points and single-stone suicide are
    refused, so a GUI or server can act as the referee;
  * `is_legal` is the strict rule, used by search, selfplay and the network's legality mask.
`play` accepts any playable move and plays it under the normal mechanics (captures, suicide
removal, ko point, ko-hash history, chilling); after an ending, a further move clears the
finished state and play continues from the current counters.

Undo and rule changes replay the moves from the initial position: simple, obviously right, and
cheap next to a human's typing speed. Search copies histories instead of undoing.

The history also keeps what the neural-net inputs need beyond the board (features.pyx): the
boards 1 and 2 moves ago, how many recent moves are believable history in this phase, and the
points ever occupied (for superko bans, computed on demand rather than after every move).
"""
from libc.string cimport memcpy, memset
from libc.stdint cimport uint8_t
from goloop.common.go.board cimport (
    BoardState, Board, loc_of, loc_x, loc_y, MAX_ARR, EMPTY, BLACK, WHITE, NULL_LOC, PASS_LOC)
from goloop.common.go.area cimport calculate_area
from goloop.common.go.history_core cimport HistoryCore

import numpy as np
cimport numpy as np
from operator import index

from goloop.common.go.rules import Rules
from goloop.common.go.board import color_of


cdef class History(HistoryCore):
    """A game: initial position, moves, and the rule state they lead to.

    Moves are (x, y) tuples (y = 0 is the top row) or None for a pass; colours 1 = black,
    2 = white or 'B'/'W'.
    """

    def __init__(self, rules=None, int x_size=19, y_size=None, Board board=None, pla=BLACK,
                 bint prevent_encore=False, bint leading_black_moves_are_handicap=False,
                 int encore_phase=0, second_encore_start=None):
        """`board` gives an initial position (handicap or set_position stones); `pla` moves first.

        `prevent_encore` is KataGo GTP's preventCleanupPhase: under territory scoring two passes
        then only mark the game as past its normal end instead of starting the encore.
        `encore_phase` starts a territory game directly in encore 1 or 2 (KataGo's cleanup
        training positions); in encore 2 the stones present at its start default to the initial
        board, or are given as a (y, x) array of colours in `second_encore_start` (a position
        restored from a record that was already inside encore 2).
        """
        cdef int ys = x_size if y_size is None else y_size
        cdef int x, y
        if board is None:
            board = Board(x_size, ys)
        memcpy(&self.initial, &board.s, sizeof(BoardState))
        self.initial.ko_loc = NULL_LOC
        self.initial_pla = color_of(pla)
        self.prevent_encore = prevent_encore
        self.leading_black_moves_are_handicap = leading_black_moves_are_handicap
        rules = Rules() if rules is None else rules
        if encore_phase not in (0, 1, 2):
            raise ValueError(f"encore phase must be 0, 1 or 2, got {encore_phase}")
        self._set_rules_fields(rules)
        if encore_phase > 0 and self.scoring_rule != SCORING_TERRITORY:
            raise ValueError("an encore phase exists only under TERRITORY scoring")
        self.initial_encore_phase = encore_phase
        memcpy(self.initial_second_encore_start, self.initial.color, MAX_ARR)
        if second_encore_start is not None:
            if encore_phase != 2:
                raise ValueError("second_encore_start is only meaningful when starting in encore 2")
            colors = np.asarray(second_encore_start)
            if colors.shape != (self.initial.y_size, self.initial.x_size):
                raise ValueError(f"second_encore_start has shape {colors.shape}, expected "
                                 f"{(self.initial.y_size, self.initial.x_size)}")
            if not np.isin(colors, (EMPTY, BLACK, WHITE)).all():
                raise ValueError("second_encore_start may only hold 0 (empty), 1 (black), 2 (white)")
            for y in range(self.initial.y_size):
                for x in range(self.initial.x_size):
                    self.initial_second_encore_start[loc_of(&self.initial, x, y)] = colors[y, x]
        self._reset()

    def _set_rules_fields(self, rules):
        if not isinstance(rules, Rules):
            raise TypeError(f"rules must be a Rules, got {type(rules).__name__}")
        self._rules = rules
        self.ko_rule = int(rules.ko_rule)
        self.scoring_rule = int(rules.scoring_rule)
        self.tax_rule = int(rules.tax_rule)
        self.whb_rule = int(rules.white_handicap_bonus)
        self.multi_suicide = rules.multi_stone_suicide_legal
        self.has_button = rules.has_button
        self.friendly_pass_ok = rules.friendly_pass_ok
        self.komi = rules.komi

    def _reset(self):
        """Back to the initial position with no moves."""
        cdef int x, y, l, nb = 0, nw = 0
        memcpy(&self.cur, &self.initial, sizeof(BoardState))
        self.pla = self.initial_pla
        self.move_locs.clear()
        self.move_plas.clear()
        self.encore_phase = self.initial_encore_phase
        self.button_taken = False
        self.finished = False
        self.no_result = False
        self.past_normal_phase_end = False
        self.winner = EMPTY
        self.final_score = 0.0
        self.white_bonus = 0.0
        self.white_has_moved = False
        if self.encore_phase == 2:
            memcpy(self.second_encore_start, self.initial_second_encore_start, MAX_ARR)
        else:
            memset(self.second_encore_start, EMPTY, MAX_ARR)
        memcpy(&self.recent[0], &self.initial, sizeof(BoardState))
        memcpy(&self.recent[1], &self.initial, sizeof(BoardState))
        self.recent_idx = 0
        for l in range(MAX_ARR):
            self.ever_occupied[l] = self.cur.color[l] == BLACK or self.cur.color[l] == WHITE
        if self.scoring_rule == SCORING_TERRITORY:
            # Chilling of the stones already on the board (rules.md §5.1): territory scoring
            # counts stones as area at the end, so each one starts out paid for.
            for y in range(self.cur.y_size):
                for x in range(self.cur.x_size):
                    l = loc_of(&self.cur, x, y)
                    if self.cur.color[l] == BLACK:
                        nb += 1
                    elif self.cur.color[l] == WHITE:
                        nw += 1
            self.white_bonus += nb - nw
            self.white_bonus -= self.cur.captured[WHITE] - self.cur.captured[BLACK]
        self.whb_score = self._compute_handicap_bonus()
        self._reset_phase()

    def _replay(self, moves):
        self._reset()
        for loc, pla in moves:
            self.c_play(loc, pla)

    def _move_pairs(self):
        return [(self.move_locs[i], self.move_plas[i]) for i in range(self.move_locs.size())]

    # -----------------------------------------------------------------------------------------
    # Rule mechanics (C level, no GIL: search will call these per visit).

    cdef int _loc(self, move) except -1:
        if move is None:
            return PASS_LOC
        try:
            x, y = move
            x, y = index(x), index(y)
        except (TypeError, ValueError):
            raise ValueError(f"not a move: {move!r} (expected (x, y) or None)") from None
        if not (0 <= x < self.cur.x_size and 0 <= y < self.cur.y_size):
            raise ValueError(f"point {move} is off a {self.cur.x_size}x{self.cur.y_size} board")
        return loc_of(&self.cur, x, y)

    def _move_of(self, int loc):
        if loc == PASS_LOC:
            return None
        return (loc_x(&self.cur, loc), loc_y(&self.cur, loc))

    @property
    def rules(self):
        return self._rules

    def set_rules(self, rules):
        """Change the rules (komi included) and replay the game under them."""
        if (self.initial_encore_phase > 0 and isinstance(rules, Rules)
                and rules.scoring_rule != SCORING_TERRITORY):
            raise ValueError("this game starts in an encore phase, which needs TERRITORY scoring")
        moves = self._move_pairs()
        self._set_rules_fields(rules)
        self._replay(moves)

    @property
    def x_size(self):
        return self.cur.x_size

    @property
    def y_size(self):
        return self.cur.y_size

    @property
    def board(self):
        """A copy of the current board."""
        cdef Board b = Board.__new__(Board)
        memcpy(&b.s, &self.cur, sizeof(BoardState))
        return b

    @property
    def initial_board(self):
        cdef Board b = Board.__new__(Board)
        memcpy(&b.s, &self.initial, sizeof(BoardState))
        return b

    @property
    def first_player(self):
        return self.initial_pla

    @property
    def next_player(self):
        return self.pla

    @property
    def moves(self):
        """[(colour, (x, y) or None)] in order."""
        return [(self.move_plas[i], self._move_of(self.move_locs[i]))
                for i in range(self.move_locs.size())]

    @property
    def encore_phase(self):
        return self.encore_phase

    @property
    def consecutive_passes(self):
        return self.consecutive_passes

    @property
    def is_finished(self):
        return self.finished

    @property
    def is_no_result(self):
        return self.no_result

    @property
    def is_past_normal_phase_end(self):
        return self.past_normal_phase_end

    @property
    def winner(self):
        """1 black, 2 white, 0 for a draw, no result or a game not finished."""
        return self.winner

    @property
    def final_score(self):
        """White minus black at the last ending (0 for no result), or None if never ended."""
        if not self.finished:
            return None
        return self.final_score

    @property
    def white_bonus_score(self):
        """Chilling and button points credited to white so far."""
        return self.white_bonus

    @property
    def white_handicap_bonus(self):
        """Handicap compensation credited to white (whiteHandicapBonus rule)."""
        return self.whb_score

    @property
    def button_available(self):
        return self.has_button and not self.button_taken and self.encore_phase == 0

    def second_encore_start_colors(self):
        """(y, x) colours at the start of encore 2 (all 0 before it)."""
        out = np.zeros((self.cur.y_size, self.cur.x_size), dtype=np.uint8)
        for y in range(self.cur.y_size):
            for x in range(self.cur.x_size):
                out[y, x] = self.second_encore_start[loc_of(&self.cur, x, y)]
        return out

    @property
    def initial_encore_phase(self):
        return self.initial_encore_phase

    @property
    def num_approx_valid_turns_this_phase(self):
        """How many of the latest moves the net may see as history (KataGo's
        numApproxValidTurnsThisPhase): 0 at each phase start, at most 1 after an ending."""
        return self.num_approx_valid_turns

    def recent_board(self, int moves_ago):
        """A copy of the board 0, 1 or 2 moves ago (the initial board before there were moves)."""
        cdef Board b
        if not 0 <= moves_ago <= 2:
            raise ValueError(f"only the boards 0..2 moves ago are kept, not {moves_ago}")
        b = Board.__new__(Board)
        memcpy(&b.s, self.c_recent_board(moves_ago), sizeof(BoardState))
        return b

    def superko_banned(self):
        """(y, x) uint8 map of KataGo's superKoBanned for the player to move (see the C method)."""
        cdef uint8_t banned[MAX_ARR]
        self.c_superko_banned(banned)
        out = np.zeros((self.cur.y_size, self.cur.x_size), dtype=np.uint8)
        for y in range(self.cur.y_size):
            for x in range(self.cur.x_size):
                out[y, x] = banned[loc_of(&self.cur, x, y)]
        return out

    def pass_would_end_phase(self, color=None):
        """Whether a pass by `color` (default: the player to move) now would end the phase."""
        return self.c_pass_would_end_phase(self.pla if color is None else color_of(color))

    def pass_would_end_game(self, color=None):
        """Whether a pass now would end the whole game (final phase and the phase would end)."""
        return self.c_pass_would_end_game(self.pla if color is None else color_of(color))

    def should_suppress_end_game_from_friendly_pass(self, color=None):
        """Whether search should not treat a game-ending pass now as ending (rules.md §9)."""
        return self.c_should_suppress_end_game_from_friendly_pass(
            self.pla if color is None else color_of(color))

    def self_komi(self, color=None, double draw_equivalent_wins_for_white=0.5):
        """Komi + bonuses (+ draw adjustment) from `color`'s side, in KataGo's float32."""
        return self.c_self_komi(self.pla if color is None else color_of(color),
                                draw_equivalent_wins_for_white)

    def is_pass_for_ko(self, move, color):
        """Whether `color` at `move` now would be an encore pass-for-ko (SGF records a pass)."""
        return self.c_is_pass_for_ko(self._loc(move), color_of(color))

    def is_ko_recapture_blocked(self, move):
        return bool(self.ko_recap_blocked[self._loc(move)])

    def is_playable(self, move, color):
        """What GTP `play` accepts: not an occupied point, not a single-stone suicide."""
        return self.c_is_playable(self._loc(move), color_of(color))

    def is_legal(self, move, color):
        """Strict legality under the rules, for `color` moving now (whoever's turn it is)."""
        return self.c_is_legal(self._loc(move), color_of(color))

    def legal_moves(self, color=None):
        """Every strictly legal point for `color` (default: the player to move), then pass."""
        cdef int pla = self.pla if color is None else color_of(color)
        out = []
        for y in range(self.cur.y_size):
            for x in range(self.cur.x_size):
                if self.c_is_legal(loc_of(&self.cur, x, y), pla):
                    out.append((x, y))
        out.append(None)
        return out

    def legal_mask(self, color=None):
        """Strict legality as the policy sees it: bool array (Y*X + 1,), index y*X + x, pass last."""
        cdef int pla = self.pla if color is None else color_of(color)
        cdef int x, y, xs = self.cur.x_size, ys = self.cur.y_size
        out = np.zeros(xs * ys + 1, dtype=np.bool_)
        cdef np.npy_bool[::1] view = out
        with nogil:
            for y in range(ys):
                for x in range(xs):
                    view[y * xs + x] = self.c_is_legal(loc_of(&self.cur, x, y), pla)
            view[xs * ys] = True
        return out

    def play(self, move, color):
        """Play a move GTP would accept (ko and superko repetitions included); else ValueError."""
        cdef int loc = self._loc(move)
        cdef int pla = color_of(color)
        if not self.c_is_playable(loc, pla):
            if self.cur.color[loc] != EMPTY:
                raise ValueError(f"illegal move {move}: point is occupied")
            raise ValueError(f"illegal move {move}: single-stone suicide")
        self.c_play(loc, pla)

    def undo(self):
        """Take back the last move; False if there is none."""
        moves = self._move_pairs()
        if not moves:
            return False
        self._replay(moves[:-1])
        return True

    def copy(self):
        cdef History h = History.__new__(History)
        h._set_rules_fields(self._rules)   # the Python rules object; c_copy_from does the rest
        h.c_copy_from(self)
        return h

    def __copy__(self):
        return self.copy()

    def score_now(self):
        """White-minus-black score if the game were scored now, every stone counted alive."""
        cdef uint8_t area[MAX_ARR]
        return self.c_score_now(area)

    def final_area(self):
        """(y, x) owner map of the final scoring (the ownership target): 0 none, 1 B, 2 W."""
        cdef uint8_t area[MAX_ARR]
        self.c_board_score(area)
        out = np.zeros((self.cur.y_size, self.cur.x_size), dtype=np.uint8)
        for y in range(self.cur.y_size):
            for x in range(self.cur.x_size):
                out[y, x] = area[loc_of(&self.cur, x, y)]
        return out

    def end_game_if_all_pass_alive(self):
        """End now if every point is pass-alive stone or territory (rules.md §7); True if ended."""
        cdef uint8_t area[MAX_ARR]
        cdef int x, y, l
        cdef double score = 0.0
        calculate_area(&self.cur, area, False, False, False, self.multi_suicide)
        for y in range(self.cur.y_size):
            for x in range(self.cur.x_size):
                l = loc_of(&self.cur, x, y)
                if area[l] == EMPTY:
                    return False
                score += 1.0 if area[l] == WHITE else -1.0
        if self.tax_rule == TAX_ALL:
            self._end_and_score()
            return True
        self._take_button_at_scoring()
        self.final_score = score + self.white_bonus + self.whb_score + self.komi
        self.finished = True
        self.no_result = False
        self.winner = WHITE if self.final_score > 0 else (BLACK if self.final_score < 0 else EMPTY)
        return True

    def result_string(self):
        """GTP/SGF style result of the last ending: 'B+3.5', 'W+1', '0', 'Void', or None."""
        if not self.finished:
            return None
        if self.no_result:
            return "Void"
        return format_score(self.final_score)
def format_score(double white_minus_black):
    """GTP final_score text: 'W+3.5', 'B+1', or '0' for a draw."""
    if white_minus_black == 0:
        return "0"
    side = "W" if white_minus_black > 0 else "B"
    value = abs(white_minus_black)
    text = f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return f"{side}+{text}"
