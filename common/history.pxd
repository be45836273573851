# The game history on top of the board: KataGo's BoardHistory (rules.md §3-§7).

from libc.stdint cimport uint64_t, uint8_t
from libcpp.vector cimport vector
from goloop.common.board cimport BoardState, MAX_ARR

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

cdef class History:
    cdef BoardState initial
    cdef int initial_pla
    cdef BoardState cur
    cdef int pla
    cdef object _rules
    cdef int ko_rule, scoring_rule, tax_rule, whb_rule
    cdef bint multi_suicide, has_button
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

    cdef void _reset_phase(self) noexcept nogil
    cdef void _end_phase(self) noexcept nogil
    cdef void _end_and_score(self) noexcept nogil
    cdef int _loc(self, move) except -1
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
