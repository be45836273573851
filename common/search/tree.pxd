# The search tree's store: the state of one search, its nodes, hashes and root. Every field of a
# search is declared here, once, for the whole class chain; the methods are cimported by
# values.pyx. See core.pyx for the chain.
from libc.stdint cimport uint64_t, int64_t, uint8_t
from libcpp.vector cimport vector
from libcpp.unordered_map cimport unordered_map
from libcpp.memory cimport shared_ptr
from goloop.common.go.board cimport BoardState, MAX_ARR
from goloop.common.go.history cimport History
from goloop.common.search.nodes cimport *


cdef class SearchTree:

    cdef SP p
    cdef object params
    cdef NNCache cache
    cdef History root_hist
    cdef History work
    cdef int root_pla
    cdef Node* root
    cdef vector[Node*] nodes
    cdef unordered_map[uint64_t, Node*] table
    cdef unordered_map[uint64_t, BiasEntry*] bias_table
    cdef Rng rng
    # model
    cdef int model_version
    cdef double score_mean_mult, score_stdev_mult, lead_mult, var_time_mult, st_value_mult, st_score_mult
    cdef bint pass_alive_suicide
    cdef bint has_optimistic
    # per search
    cdef double score_center
    cdef double sqrt_area
    cdef bint game_result_integer
    cdef uint64_t rules_hash
    cdef uint64_t root_graph_hash
    cdef uint8_t root_safe_area[MAX_ARR]
    cdef uint8_t root_sym_dup[MAX_ARR]
    cdef vector[int] root_symmetries
    cdef int search_age
    cdef int64_t num_playouts
    cdef int64_t non_playout_visits
    cdef int64_t max_visits
    cdef int64_t max_playouts
    cdef bint stop_flag
    cdef int phase
    cdef public bint always_ownership
    cdef double upper_bound_visits_left
    # batch state
    cdef vector[Pending] pending
    # Per pending eval: a cached output lacking ownership whose values and policy KataGo keeps
    # when it re-evaluates only to get the ownership (NNEvaluator::evaluate).
    cdef vector[shared_ptr[NNOut]] pending_merge
    cdef vector[PathStep] path_buf
    cdef vector[uint8_t] legal_buf
    cdef vector[PathStep] steps
    # Nodes on the current playout's path (KataGo's graphPath); paths are short, so a vector.
    cdef vector[Node*] graph_path
    cdef vector[ChildStat] stat_buf
    cdef uint8_t scratch_banned[MAX_ARR]
    # KataGo's avoidMoveUntilByLocBlack/White: a move of that player at that loc may not be a
    # new child while fewer than this many moves have been played since the root (empty = none).
    cdef vector[int] avoid_black
    cdef vector[int] avoid_white

    cdef _set_root_hist(self, History history, bint game_result_integer)
    cdef void _copy_node(self, Node* dst, Node* src) noexcept nogil
    cdef void _free_all(self) noexcept nogil
    cdef void _remove_bias(self, Node* n) noexcept nogil
    cdef void _sweep(self) noexcept nogil
    cdef void _clear_unused_bias(self) noexcept nogil
    cdef uint64_t _situation_hash(self, History h, int pla) noexcept nogil
    cdef uint64_t _state_hash(self, History h, int pla) noexcept nogil
    cdef uint64_t _graph_hash(self, uint64_t prev, History h, int pla) noexcept nogil
    cdef uint64_t _nn_hash(self, History h, int pla, bint is_root, int max_history,
                           double optimism) noexcept nogil
    cdef double _pda_for(self, int pla) noexcept nogil
    cdef uint64_t _bias_key(self, int pla, int prev_loc, int loc, const BoardState* b) noexcept nogil
    cdef uint64_t _root_graph_hash_from_scratch(self)
    cdef Node* _alloc_or_find(self, int pla, int loc, bint fnt, uint64_t gh) noexcept nogil
    cdef double _interpolate_early(self, double halflife, double early, double late) noexcept nogil
    cdef vector[int]* _avoid_of(self, int pla) noexcept nogil
    cdef bint _avoided_at_root(self, int loc) noexcept nogil
    cdef bint _allowed_root_move(self, int loc) noexcept nogil
    cdef object _move_of(self, int loc)
    cdef int _loc_of_move(self, move) except -1
