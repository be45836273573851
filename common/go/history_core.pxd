# The rules engine of a game history: every field of KataGo's BoardHistory and the C-level
# methods that play, judge legality and score without the GIL (rules.md §3-§7). history.pxd
# adds the Python face; modules that need the engine cimport `History` from there.

from libc.stdint cimport uint64_t, uint8_t
from libcpp.vector cimport vector
from goloop.common.go.board cimport BoardState, MAX_ARR

cdef enum:
    KO_SIMPLE = 0
    KO_POSITIONAL = 1
    KO_SITUATIONAL = 2
    KO_SPIGHT = 3
    SCORING_AREA = 0
    SCORING_TERRITORY = 1
    TAX_NONE = 0
    TAX_SEKI = 1
    TAX_ALL = 2
    WHB_ZERO = 0
    WHB_N_MINUS_ONE = 1
    WHB_N = 2

cdef struct EncoreKoCapture:
    uint64_t pos_hash
    int loc
    int pla

cdef class HistoryCore:
    cdef BoardState initial
    cdef int initial_pla
    cdef BoardState cur
    cdef int pla
    cdef object _rules
    cdef int ko_rule, scoring_rule, tax_rule, whb_rule
    cdef bint multi_suicide, has_button, friendly_pass_ok
    cdef double komi
    cdef public bint prevent_encore
    cdef public bint leading_black_moves_are_handicap
    cdef vector[int] move_locs
    cdef vector[int] move_plas
    cdef vector[uint64_t] ko_hashes
    cdef vector[uint64_t] pass_hashes_black
    cdef vector[uint64_t] pass_hashes_white
    cdef int consecutive_passes
    cdef int encore_phase
    cdef bint button_taken
    cdef double white_bonus
    cdef double whb_score
    cdef bint white_has_moved
    cdef uint8_t ko_recap_blocked[MAX_ARR]
    cdef uint64_t ko_mark_hash
    cdef vector[EncoreKoCapture] encore_ko_captures
    cdef uint8_t second_encore_start[MAX_ARR]
    cdef bint finished, no_result, past_normal_phase_end
    cdef int winner
    cdef double final_score
    # Encore phase the history starts in (KataGo's initialEncorePhase) and, when that is 2, the
    # colours recorded as the start of encore 2 (by default the initial board's).
    cdef int initial_encore_phase
    cdef uint8_t initial_second_encore_start[MAX_ARR]
    # The boards 1 and 2 moves ago (KataGo's recentBoards, for the past-ladder input planes): a
    # two-slot ring, recent[recent_idx] is 1 move ago. Both hold the initial board at the start.
    cdef BoardState recent[2]
    cdef int recent_idx
    # KataGo's numApproxValidTurnsThisPhase: how many of the last moves the net may see as
    # history (reset by a phase change, capped at 1 after an ending).
    cdef int num_approx_valid_turns
    # KataGo's wasEverOccupiedOrPlayed: a point never occupied cannot recreate an old position.
    cdef uint8_t ever_occupied[MAX_ARR]

    cdef void _reset_phase(self) noexcept nogil
    cdef void _end_phase(self) noexcept nogil
    cdef void _end_and_score(self) noexcept nogil
    cdef uint64_t ko_hash(self, const BoardState* b, int next_pla) noexcept nogil
    cdef int ko_capture_loc(self, const BoardState* b, int loc, int pla) noexcept nogil
    cdef bint c_is_pass_for_ko(self, int loc, int pla) noexcept nogil
    cdef bint c_is_legal(self, int loc, int pla) noexcept nogil
    cdef bint c_is_playable(self, int loc, int pla) noexcept nogil
    cdef void c_play(self, int loc, int pla) noexcept nogil
    cdef double _compute_handicap_bonus(self) noexcept nogil
    cdef bint _passes_clear_history(self) noexcept nogil
    cdef bint _passed_from_before(self, int pla, uint64_t h) noexcept nogil
    cdef void _set_mark(self, int loc, bint blocked) noexcept nogil
    cdef double c_board_score(self, uint8_t* area) noexcept nogil
    cdef double c_score_now(self, uint8_t* area) noexcept nogil
    cdef void _take_button_at_scoring(self) noexcept nogil

    # What the neural-net inputs read (input-features-v7.md §1, rules.md §4 and §9).
    cdef const BoardState* c_recent_board(self, int moves_ago) noexcept nogil
    cdef int c_new_consecutive_passes_after_pass(self) noexcept nogil
    cdef bint c_would_be_spight_ending_pass(self, int pla) noexcept nogil
    cdef bint c_pass_would_end_phase(self, int pla) noexcept nogil
    cdef bint c_pass_would_end_game(self, int pla) noexcept nogil
    cdef bint c_should_suppress_end_game_from_friendly_pass(self, int pla) noexcept nogil
    cdef bint c_button_available(self) noexcept nogil
    cdef float c_self_komi(self, int pla, double draw_equivalent_wins_for_white) noexcept nogil
    cdef uint64_t _board_hash_after_move(self, int loc, int pla) noexcept nogil
    cdef void c_superko_banned(self, uint8_t* out) noexcept nogil
    # Become a copy of `other` (which must share this history's rules) without the GIL.
    cdef void c_copy_from(self, HistoryCore other) noexcept nogil
