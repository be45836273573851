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
"""
from libc.string cimport memcpy, memset
from libc.stdint cimport uint64_t, uint8_t
from goloop.common.board cimport (
    BoardState, Board, board_init, is_suicide, is_single_stone_suicide, play_unsafe,
    on_board, loc_of, loc_x, loc_y, ZOBRIST_BOARD, ZOBRIST_PLAYER,
    MAX_ARR, EMPTY, BLACK, WHITE, WALL, NULL_LOC, PASS_LOC)
from goloop.common.area cimport calculate_area, calculate_independent_life_area
import numpy as np
from operator import index

from goloop.common.rules import Rules
from goloop.common.board import color_of


cdef inline uint64_t _mark_key(int loc) noexcept nogil:
    # The EMPTY slot of the board's Zobrist table is free: it keys ko-recapture marks.
    return ZOBRIST_BOARD[loc][EMPTY]


cdef class History:
    """A game: initial position, moves, and the rule state they lead to.

    Moves are (x, y) tuples (y = 0 is the top row) or None for a pass; colours 1 = black,
    2 = white or 'B'/'W'.
    """

    def __init__(self, rules=None, int x_size=19, y_size=None, Board board=None, pla=BLACK,
                 bint prevent_encore=False, bint leading_black_moves_are_handicap=False):
        """`board` gives an initial position (handicap or set_position stones); `pla` moves first.

        `prevent_encore` is KataGo GTP's preventCleanupPhase: under territory scoring two passes
        then only mark the game as past its normal end instead of starting the encore.
        """
        cdef int ys = x_size if y_size is None else y_size
        if board is None:
            board = Board(x_size, ys)
        memcpy(&self.initial, &board.s, sizeof(BoardState))
        self.initial.ko_loc = NULL_LOC
        self.initial_pla = color_of(pla)
        self.prevent_encore = prevent_encore
        self.leading_black_moves_are_handicap = leading_black_moves_are_handicap
        self._set_rules_fields(Rules() if rules is None else rules)
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
        self.komi = rules.komi

    cdef void _reset_phase(self) noexcept nogil:
        self.consecutive_passes = 0
        self.pass_hashes_black.clear()
        self.pass_hashes_white.clear()
        memset(self.ko_recap_blocked, 0, MAX_ARR)
        self.ko_mark_hash = 0
        self.encore_ko_captures.clear()
        self.ko_hashes.clear()
        self.ko_hashes.push_back(self.ko_hash(&self.cur, self.pla))

    def _reset(self):
        """Back to the initial position with no moves."""
        cdef int x, y, l, nb = 0, nw = 0
        memcpy(&self.cur, &self.initial, sizeof(BoardState))
        self.pla = self.initial_pla
        self.move_locs.clear()
        self.move_plas.clear()
        self.encore_phase = 0
        self.button_taken = False
        self.finished = False
        self.no_result = False
        self.past_normal_phase_end = False
        self.winner = EMPTY
        self.final_score = 0.0
        self.white_bonus = 0.0
        self.white_has_moved = False
        memset(self.second_encore_start, EMPTY, MAX_ARR)
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

    cdef uint64_t ko_hash(self, const BoardState* b, int next_pla) noexcept nogil:
        """The position as the ko rule sees it (rules.md §3)."""
        cdef uint64_t h = b.hash
        if self.encore_phase > 0:
            return h ^ ZOBRIST_PLAYER[next_pla] ^ self.ko_mark_hash
        if self.ko_rule == KO_SIMPLE or self.ko_rule == KO_SITUATIONAL:
            h ^= ZOBRIST_PLAYER[next_pla]
        return h

    cdef int ko_capture_loc(self, const BoardState* b, int loc, int pla) noexcept nogil:
        """If pla at loc would take a ko (capture one stone and leave a ko point), that stone."""
        cdef BoardState tmp
        if not on_board(b, loc) or b.color[loc] != EMPTY or is_single_stone_suicide(b, loc, pla):
            return NULL_LOC
        memcpy(&tmp, b, sizeof(BoardState))
        if play_unsafe(&tmp, loc, pla) == 1 and tmp.ko_loc != NULL_LOC:
            return tmp.ko_loc
        return NULL_LOC

    cdef bint c_is_pass_for_ko(self, int loc, int pla) noexcept nogil:
        """Encore only: retaking a ko-recapture-blocked stone counts as a pass-for-ko (§5.2)."""
        cdef int o = 3 - pla
        cdef int k
        if self.encore_phase == 0 or loc == PASS_LOC or not on_board(&self.cur, loc):
            return False
        if (self.cur.color[loc] == o and self.ko_recap_blocked[loc]
                and self.cur.csize[self.cur.head[loc]] == 1
                and self.cur.libs[self.cur.head[loc]] == 1):
            return True
        k = self.ko_capture_loc(&self.cur, loc, pla)
        return k != NULL_LOC and self.ko_recap_blocked[k] and self.cur.color[k] == o

    cdef bint c_is_playable(self, int loc, int pla) noexcept nogil:
        if loc == PASS_LOC or self.c_is_pass_for_ko(loc, pla):
            return True
        if not on_board(&self.cur, loc) or self.cur.color[loc] != EMPTY:
            return False
        return not is_single_stone_suicide(&self.cur, loc, pla)

    cdef bint c_is_legal(self, int loc, int pla) noexcept nogil:
        cdef BoardState tmp
        cdef uint64_t h
        cdef size_t i
        cdef int k
        if loc == PASS_LOC:
            return True
        if self.encore_phase > 0:
            if self.c_is_pass_for_ko(loc, pla):
                return True
        elif loc == self.cur.ko_loc:
            return False
        if not on_board(&self.cur, loc) or self.cur.color[loc] != EMPTY:
            return False
        if is_suicide(&self.cur, loc, pla):
            if not self.multi_suicide or is_single_stone_suicide(&self.cur, loc, pla):
                return False
        if self.encore_phase == 0:
            if self.ko_rule == KO_SIMPLE:
                return True
            memcpy(&tmp, &self.cur, sizeof(BoardState))
            play_unsafe(&tmp, loc, pla)
            h = self.ko_hash(&tmp, 3 - pla)
            for i in range(self.ko_hashes.size()):
                if self.ko_hashes[i] == h:
                    return False
            return True
        # Encore superko: the same ko capture from the same position only once.
        k = self.ko_capture_loc(&self.cur, loc, pla)
        if k != NULL_LOC:
            for i in range(self.encore_ko_captures.size()):
                if (self.encore_ko_captures[i].pos_hash == self.cur.hash
                        and self.encore_ko_captures[i].loc == loc
                        and self.encore_ko_captures[i].pla == pla):
                    return False
        return True

    cdef void _end_phase(self) noexcept nogil:
        cdef int x, y, l
        if self.scoring_rule == SCORING_AREA or self.encore_phase >= 2:
            self._end_and_score()
            return
        if self.prevent_encore:
            self.past_normal_phase_end = True
            return
        self.encore_phase += 1
        if self.encore_phase == 2:
            for y in range(self.cur.y_size):
                for x in range(self.cur.x_size):
                    l = loc_of(&self.cur, x, y)
                    self.second_encore_start[l] = self.cur.color[l]
        self._reset_phase()

    cdef void _end_and_score(self) noexcept nogil:
        cdef uint8_t area[MAX_ARR]
        self.final_score = self.c_score_now(area)
        self.finished = True
        self.no_result = False
        if self.final_score > 0:
            self.winner = WHITE
        elif self.final_score < 0:
            self.winner = BLACK
        else:
            self.winner = EMPTY

    cdef void c_play(self, int loc, int pla) noexcept nogil:
        """Play a move that c_is_playable allows, with every rule mechanic (rules.md §3-§5)."""
        cdef bint pass_for_ko = False, spight_end = False
        cdef int k, x, y, l, count
        cdef uint64_t h, pos_hash_before = self.cur.hash
        cdef size_t i
        cdef EncoreKoCapture cap

        # Moves after an ending simply continue the game (GTP lets a GUI do this).
        self.finished = False
        self.no_result = False
        self.past_normal_phase_end = False
        self.winner = EMPTY
        self.final_score = 0.0

        if loc != PASS_LOC:
            self.consecutive_passes = 0
        elif self.has_button and self.encore_phase == 0 and not self.button_taken:
            # Taking the button: worth half a point, not an ending pass, and a fresh start for
            # every repetition record (a buttonless position differs from a buttonful one).
            self.button_taken = True
            self.white_bonus += 0.5 if pla == WHITE else -0.5
            self.consecutive_passes = 0
            self.pass_hashes_black.clear()
            self.pass_hashes_white.clear()
            self.ko_hashes.clear()
        else:
            if self._passes_clear_history():
                # Passes lift bans and restart repetition counting here; the per-player record
                # of positions passed from survives, since a repeat of one ends the phase.
                self.ko_hashes.clear()
            h = self.ko_hash(&self.cur, pla)
            if self.encore_phase == 0 and self.ko_rule == KO_SPIGHT:
                self.consecutive_passes = 0
            else:
                self.consecutive_passes += 1
            if self._passes_clear_history():
                spight_end = self._passed_from_before(pla, h)
            if pla == BLACK:
                self.pass_hashes_black.push_back(h)
            else:
                self.pass_hashes_white.push_back(h)

        if self.encore_phase > 0 and loc != PASS_LOC:
            # Retaking a ko-recapture-blocked stone is a pass-for-ko: it only lifts the block.
            k = NULL_LOC
            if self.cur.color[loc] == 3 - pla and self.ko_recap_blocked[loc]:
                k = loc
            else:
                k = self.ko_capture_loc(&self.cur, loc, pla)
                if k != NULL_LOC and not (self.ko_recap_blocked[k] and self.cur.color[k] == 3 - pla):
                    k = NULL_LOC
            if k != NULL_LOC:
                self._set_mark(k, False)
                self.cur.ko_loc = NULL_LOC
                pass_for_ko = True

        if not pass_for_ko:
            play_unsafe(&self.cur, loc, pla)
            if self.encore_phase > 0:
                if self.cur.ko_loc != NULL_LOC:
                    # A ko capture: block its recapture and remember it for encore superko;
                    # the simple ko point itself plays no further part in the encore.
                    self._set_mark(loc, True)
                    cap.pos_hash = pos_hash_before
                    cap.loc = loc
                    cap.pla = pla
                    self.encore_ko_captures.push_back(cap)
                    self.cur.ko_loc = NULL_LOC
                for y in range(self.cur.y_size):
                    for x in range(self.cur.x_size):
                        l = loc_of(&self.cur, x, y)
                        if self.ko_recap_blocked[l] and self.cur.color[l] == EMPTY:
                            self._set_mark(l, False)

        self.ko_hashes.push_back(self.ko_hash(&self.cur, 3 - pla))
        self.move_locs.push_back(loc)
        self.move_plas.push_back(pla)
        self.pla = 3 - pla

        if (self.scoring_rule == SCORING_TERRITORY and self.encore_phase <= 1
                and loc != PASS_LOC and not pass_for_ko):
            self.white_bonus += 1.0 if pla == BLACK else -1.0
        if pla == WHITE and loc != PASS_LOC:
            self.white_has_moved = True
        if self.leading_black_moves_are_handicap and not self.white_has_moved and pla == BLACK:
            self.whb_score = self._compute_handicap_bonus()

        if self.consecutive_passes >= 2 or spight_end:
            self._end_phase()

        # Long cycles under simple ko and in the encore end the game with no result.
        if loc != PASS_LOC and (self.encore_phase > 0 or self.ko_rule == KO_SIMPLE):
            h = self.ko_hashes.back()
            count = 0
            for i in range(self.ko_hashes.size()):
                if self.ko_hashes[i] == h:
                    count += 1
            if count >= 3:
                self.finished = True
                self.no_result = True
                self.winner = EMPTY
                self.final_score = 0.0

    cdef bint _passes_clear_history(self) noexcept nogil:
        return self.encore_phase > 0 or self.ko_rule == KO_SIMPLE or self.ko_rule == KO_SPIGHT

    cdef bint _passed_from_before(self, int pla, uint64_t h) noexcept nogil:
        cdef size_t i
        if pla == BLACK:
            for i in range(self.pass_hashes_black.size()):
                if self.pass_hashes_black[i] == h:
                    return True
        else:
            for i in range(self.pass_hashes_white.size()):
                if self.pass_hashes_white[i] == h:
                    return True
        return False

    cdef void _set_mark(self, int loc, bint blocked) noexcept nogil:
        if self.ko_recap_blocked[loc] != blocked:
            self.ko_recap_blocked[loc] = blocked
            self.ko_mark_hash ^= _mark_key(loc)

    # -----------------------------------------------------------------------------------------
    # Scoring (rules.md §7).

    cdef double _compute_handicap_bonus(self) noexcept nogil:
        """White's handicap compensation: 0, N-1 or N for N >= 2 handicap stones.

        N counts black stones on the initial board (none if it holds a white stone) plus, when
        asked, the run of black moves that opens the game: SGFs and servers often give free
        handicap as consecutive black moves, possibly interleaved with single white passes.
        """
        cdef int n = 0, nw = 0, x, y, l, lead = 0
        cdef size_t i, m = self.move_locs.size()
        if self.whb_rule == WHB_ZERO:
            return 0.0
        if self.leading_black_moves_are_handicap:
            for i in range(m):
                if self.move_plas[i] != BLACK:
                    if i + 1 < m and self.move_plas[i + 1] != BLACK:
                        lead = 0
                        break
                    if self.move_locs[i] == PASS_LOC:
                        continue
                    break
                if self.move_locs[i] != PASS_LOC:
                    lead += 1
        for y in range(self.initial.y_size):
            for x in range(self.initial.x_size):
                l = loc_of(&self.initial, x, y)
                if self.initial.color[l] == BLACK:
                    n += 1
                elif self.initial.color[l] == WHITE:
                    nw += 1
        if nw > 0:
            return 0.0
        n += lead
        if n <= 1:
            return 0.0
        if self.whb_rule == WHB_N_MINUS_ONE:
            return n - 1.0
        return <double>n

    cdef double c_board_score(self, uint8_t* area) noexcept nogil:
        """White-minus-black points of the final area map (stone rule applied, tax included)."""
        cdef int regions = 0, x, y, l, c
        cdef double score = 0.0
        cdef bint area_scoring = self.scoring_rule == SCORING_AREA
        if area_scoring and self.tax_rule == TAX_NONE:
            calculate_area(&self.cur, area, True, True, True, self.multi_suicide)
        elif area_scoring:
            regions = calculate_independent_life_area(&self.cur, area, False, True, self.multi_suicide)
        else:
            regions = calculate_independent_life_area(
                &self.cur, area, self.tax_rule == TAX_NONE, False, self.multi_suicide)
        for y in range(self.cur.y_size):
            for x in range(self.cur.x_size):
                l = loc_of(&self.cur, x, y)
                if not area_scoring and area[l] == EMPTY:
                    # Stone rule: a stone that stood since the start of encore 2 is its colour's.
                    c = self.cur.color[l]
                    if (c == BLACK or c == WHITE) and (
                            self.encore_phase < 2 or self.second_encore_start[l] == c):
                        area[l] = c
                if area[l] == WHITE:
                    score += 1.0
                elif area[l] == BLACK:
                    score -= 1.0
        if self.tax_rule == TAX_ALL:
            score -= 2.0 * regions
        return score

    cdef double c_score_now(self, uint8_t* area) noexcept nogil:
        cdef double score = self.c_board_score(area)
        if self.has_button and not self.button_taken:
            score += 0.5 if self.pla == WHITE else -0.5
        return score + self.white_bonus + self.whb_score + self.komi

    # -----------------------------------------------------------------------------------------
    # Python face.

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
        memcpy(&h.initial, &self.initial, sizeof(BoardState))
        memcpy(&h.cur, &self.cur, sizeof(BoardState))
        h.initial_pla = self.initial_pla
        h.pla = self.pla
        h._set_rules_fields(self._rules)
        h.prevent_encore = self.prevent_encore
        h.leading_black_moves_are_handicap = self.leading_black_moves_are_handicap
        h.move_locs = self.move_locs
        h.move_plas = self.move_plas
        h.ko_hashes = self.ko_hashes
        h.pass_hashes_black = self.pass_hashes_black
        h.pass_hashes_white = self.pass_hashes_white
        h.consecutive_passes = self.consecutive_passes
        h.encore_phase = self.encore_phase
        h.button_taken = self.button_taken
        h.white_bonus = self.white_bonus
        h.whb_score = self.whb_score
        h.white_has_moved = self.white_has_moved
        memcpy(h.ko_recap_blocked, self.ko_recap_blocked, MAX_ARR)
        h.ko_mark_hash = self.ko_mark_hash
        h.encore_ko_captures = self.encore_ko_captures
        memcpy(h.second_encore_start, self.second_encore_start, MAX_ARR)
        h.finished = self.finished
        h.no_result = self.no_result
        h.past_normal_phase_end = self.past_normal_phase_end
        h.winner = self.winner
        h.final_score = self.final_score
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
        if self.has_button and not self.button_taken:
            score += 0.5 if self.pla == WHITE else -0.5
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
