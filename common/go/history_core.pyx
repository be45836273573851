# cython: language_level=3
"""The rules engine under `History`: playing a move, legality, ko and superko, passes and the
button, the territory encore, repetition no-result and scoring, all in C without the GIL.

Split from history.pyx so that each file holds one job: this one is what search and selfplay
run millions of times (they cimport History, which inherits these methods); history.pyx is
the Python face (construction, replay, properties, undo) and says what a history means.
"""
from libc.string cimport memcpy, memset
from libc.stdint cimport uint64_t, uint8_t
from goloop.common.go.board cimport (
    BoardState, is_suicide, is_single_stone_suicide, play_unsafe, adjacent_heads, on_board, loc_of,
    ZOBRIST_BOARD, ZOBRIST_PLAYER, MAX_ARR, EMPTY, BLACK, WHITE, NULL_LOC, PASS_LOC)
from goloop.common.go.area cimport calculate_area, calculate_independent_life_area
cimport numpy as np



cdef inline uint64_t _mark_key(int loc) noexcept nogil:
    # The EMPTY slot of the board's Zobrist table is free: it keys ko-recapture marks.
    return ZOBRIST_BOARD[loc][EMPTY]


cdef class HistoryCore:
    """Every field of a game history and the rules applied to them (see history.pyx)."""

    cdef void _reset_phase(self) noexcept nogil:
        self.consecutive_passes = 0
        self.num_approx_valid_turns = 0
        self.pass_hashes_black.clear()
        self.pass_hashes_white.clear()
        memset(self.ko_recap_blocked, 0, MAX_ARR)
        self.ko_mark_hash = 0
        self.encore_ko_captures.clear()
        self.ko_hashes.clear()
        self.ko_hashes.push_back(self.ko_hash(&self.cur, self.pla))

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
            # Only the ending pass itself stays believable as history for the net.
            if self.num_approx_valid_turns > 1:
                self.num_approx_valid_turns = 1
            return
        self.encore_phase += 1
        if self.encore_phase == 2:
            for y in range(self.cur.y_size):
                for x in range(self.cur.x_size):
                    l = loc_of(&self.cur, x, y)
                    self.second_encore_start[l] = self.cur.color[l]
        self._reset_phase()

    cdef void _take_button_at_scoring(self) noexcept nogil:
        # KataGo hands an untaken button to the player to move when it scores, and it is then
        # gone for good (play may continue after an ending): the bonus moves into white_bonus.
        if self.has_button and not self.button_taken and self.encore_phase == 0:
            self.button_taken = True
            self.white_bonus += 0.5 if self.pla == WHITE else -0.5

    cdef void _end_and_score(self) noexcept nogil:
        cdef uint8_t area[MAX_ARR]
        self._take_button_at_scoring()
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

        # Moves after an ending simply continue the game (GTP lets a GUI do this); of the
        # moves before, only the one that ended it is still believable as history for the net.
        if (self.finished or self.past_normal_phase_end) and self.num_approx_valid_turns > 1:
            self.num_approx_valid_turns = 1
        self.recent_idx ^= 1
        memcpy(&self.recent[self.recent_idx], &self.cur, sizeof(BoardState))
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
        self.num_approx_valid_turns += 1
        if loc != PASS_LOC:
            self.ever_occupied[loc] = 1

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
    # What the neural-net inputs read (input-features-v7.md §1-§2). These answer questions about
    # the present without changing anything, so search can ask them of any copied history.

    cdef const BoardState* c_recent_board(self, int moves_ago) noexcept nogil:
        """The board 0, 1 or 2 moves ago; before the first moves, the initial board."""
        if moves_ago <= 0:
            return &self.cur
        if moves_ago == 1:
            return &self.recent[self.recent_idx]
        return &self.recent[self.recent_idx ^ 1]

    cdef int c_new_consecutive_passes_after_pass(self) noexcept nogil:
        """The ending-pass count a pass now would leave (KataGo ignores the button here: while
        it is available no pass has been counted yet, so the answer is at most 1 anyway)."""
        if self.encore_phase == 0 and self.ko_rule == KO_SPIGHT:
            return 0
        return self.consecutive_passes + 1

    cdef bint c_would_be_spight_ending_pass(self, int pla) noexcept nogil:
        if not self._passes_clear_history():
            return False
        return self._passed_from_before(pla, self.ko_hash(&self.cur, pla))

    cdef bint c_pass_would_end_phase(self, int pla) noexcept nogil:
        return (self.c_new_consecutive_passes_after_pass() >= 2
                or self.c_would_be_spight_ending_pass(pla))

    cdef bint c_pass_would_end_game(self, int pla) noexcept nogil:
        return self.c_pass_would_end_phase(pla) and (
            self.scoring_rule == SCORING_AREA or self.encore_phase >= 2)

    cdef bint c_should_suppress_end_game_from_friendly_pass(self, int pla) noexcept nogil:
        """Friendly-pass rules (rules.md §9): search wants a third pass, unless Spight-like."""
        return (self.friendly_pass_ok and self.scoring_rule == SCORING_AREA
                and self.c_new_consecutive_passes_after_pass() == 2
                and not self.c_would_be_spight_ending_pass(pla))

    cdef bint c_button_available(self) noexcept nogil:
        return self.has_button and not self.button_taken and self.encore_phase == 0

    cdef float c_self_komi(self, int pla, double draw_equivalent_wins_for_white) noexcept nogil:
        """Komi plus bonuses from pla's side, with draws folded in (input-features-v7.md §2).

        Single precision and KataGo's order of additions, so that the net's komi input is
        bit-identical to KataGo's.
        """
        cdef float w = <float>self.white_bonus
        cdef float adj = 0.0
        if (self.komi == <double>(<long long>self.komi)) != self.has_button:
            adj = <float>(draw_equivalent_wins_for_white - 0.5)
        w = w + <float>self.whb_score
        w = w + <float>self.komi
        w = w + adj
        return w if pla == WHITE else -w

    cdef uint64_t _board_hash_after_move(self, int loc, int pla) noexcept nogil:
        """The board hash after pla plays the empty point loc (captures and suicide included),
        without playing it: only the stones that change are hashed."""
        cdef const BoardState* b = &self.cur
        cdef uint64_t h = b.hash
        cdef int heads[4]
        cdef int n, i, s, o = 3 - pla
        if is_suicide(b, loc, pla):
            # The new stone and the friendly chains it joins all disappear.
            n = adjacent_heads(b, loc, pla, heads)
            for i in range(n):
                s = heads[i]
                while True:
                    h ^= ZOBRIST_BOARD[s][pla]
                    s = b.next_stone[s]
                    if s == heads[i]:
                        break
            return h
        h ^= ZOBRIST_BOARD[loc][pla]
        n = adjacent_heads(b, loc, o, heads)
        for i in range(n):
            if b.libs[heads[i]] == 1:
                s = heads[i]
                while True:
                    h ^= ZOBRIST_BOARD[s][o]
                    s = b.next_stone[s]
                    if s == heads[i]:
                        break
        return h

    cdef void c_superko_banned(self, uint8_t* out) noexcept nogil:
        """KataGo's superKoBanned for the player to move: out[loc] = 1 where a move is banned by
        superko (main phase) or by the once-per-position encore ko-capture rule.

        Main phase, non-SIMPLE ko only; points that are occupied, illegal suicides, the
        simple-ko point, or never occupied nor played (and not suicide, so the move makes a
        position with a stone where none ever stood) are never marked. KataGo computes this after
        every move; computing it on demand gives the same answer without a per-move cost.
        """
        cdef int x, y, l, p = self.pla
        cdef uint64_t h
        cdef size_t i, n
        memset(out, 0, MAX_ARR)
        if self.encore_phase > 0:
            for i in range(self.encore_ko_captures.size()):
                if (self.encore_ko_captures[i].pos_hash == self.cur.hash
                        and self.encore_ko_captures[i].pla == p):
                    out[self.encore_ko_captures[i].loc] = 1
            return
        if self.ko_rule == KO_SIMPLE or self.move_locs.size() == 0:
            return
        n = self.ko_hashes.size()
        for y in range(self.cur.y_size):
            for x in range(self.cur.x_size):
                l = loc_of(&self.cur, x, y)
                if self.cur.color[l] != EMPTY or l == self.cur.ko_loc:
                    continue
                if is_suicide(&self.cur, l, p):
                    if not self.multi_suicide or is_single_stone_suicide(&self.cur, l, p):
                        continue
                elif not self.ever_occupied[l]:
                    continue
                h = self._board_hash_after_move(l, p)
                if self.ko_rule == KO_SITUATIONAL:
                    h ^= ZOBRIST_PLAYER[3 - p]
                for i in range(n):
                    if self.ko_hashes[i] == h:
                        out[l] = 1
                        break

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

    cdef void c_copy_from(self, HistoryCore other) noexcept nogil:
        """Become `other` (same rules object assumed) without the GIL: search resets its working
        history to the root once per playout, so this must not allocate Python objects."""
        memcpy(&self.initial, &other.initial, sizeof(BoardState))
        memcpy(&self.cur, &other.cur, sizeof(BoardState))
        self.initial_pla = other.initial_pla
        self.pla = other.pla
        self.ko_rule = other.ko_rule
        self.scoring_rule = other.scoring_rule
        self.tax_rule = other.tax_rule
        self.whb_rule = other.whb_rule
        self.multi_suicide = other.multi_suicide
        self.has_button = other.has_button
        self.friendly_pass_ok = other.friendly_pass_ok
        self.komi = other.komi
        self.prevent_encore = other.prevent_encore
        self.leading_black_moves_are_handicap = other.leading_black_moves_are_handicap
        self.move_locs = other.move_locs
        self.move_plas = other.move_plas
        self.ko_hashes = other.ko_hashes
        self.pass_hashes_black = other.pass_hashes_black
        self.pass_hashes_white = other.pass_hashes_white
        self.consecutive_passes = other.consecutive_passes
        self.encore_phase = other.encore_phase
        self.button_taken = other.button_taken
        self.white_bonus = other.white_bonus
        self.whb_score = other.whb_score
        self.white_has_moved = other.white_has_moved
        memcpy(self.ko_recap_blocked, other.ko_recap_blocked, MAX_ARR)
        self.ko_mark_hash = other.ko_mark_hash
        self.encore_ko_captures = other.encore_ko_captures
        memcpy(self.second_encore_start, other.second_encore_start, MAX_ARR)
        self.finished = other.finished
        self.no_result = other.no_result
        self.past_normal_phase_end = other.past_normal_phase_end
        self.winner = other.winner
        self.final_score = other.final_score
        self.initial_encore_phase = other.initial_encore_phase
        memcpy(self.initial_second_encore_start, other.initial_second_encore_start, MAX_ARR)
        memcpy(self.recent, other.recent, sizeof(self.recent))
        self.recent_idx = other.recent_idx
        self.num_approx_valid_turns = other.num_approx_valid_turns
        memcpy(self.ever_occupied, other.ever_occupied, MAX_ARR)
