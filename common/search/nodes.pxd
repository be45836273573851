# The search's shared vocabulary: the node graph, the NN cache, batch buffers, the numeric
# parameters and the small helpers every part of the search core uses. Each module of the core
# (tree, values, selection, evals, playouts, play, core) cimports this file; the inline helpers
# are compiled into each of them, so splitting the core by job costs no call overhead.
#
# Names follow KataGo's search (shared/spec/selfplay-and-search.md §4): utilities are White's
# view, a node's stats are averages over its visits, `weight` is visits scaled by uncertainty.

from libc.math cimport sqrt, log, log1p, exp
from libc.stdint cimport uint64_t, int64_t, uint8_t
from libcpp.vector cimport vector
from libcpp.memory cimport shared_ptr

from goloop.common.go.board cimport BoardState, PASS_LOC, WHITE, loc_of

# ------------------------------------------------------------------------------------------------
# Constants (KataGo's Search: values that lose every comparison, the PUCT weight offset)

cdef extern from *:
    """
    static const double GOLOOP_POLICY_ILLEGAL_SELECTION_VALUE = -1e50;
    static const double GOLOOP_FUTILE_VISITS_PRUNE_VALUE = -1e40;
    static const double GOLOOP_TOTALCHILDWEIGHT_PUCT_OFFSET = 0.01;
    """
    const double POLICY_ILLEGAL_SELECTION_VALUE "GOLOOP_POLICY_ILLEGAL_SELECTION_VALUE"
    const double FUTILE_VISITS_PRUNE_VALUE "GOLOOP_FUTILE_VISITS_PRUNE_VALUE"
    const double TOTALCHILDWEIGHT_PUCT_OFFSET "GOLOOP_TOTALCHILDWEIGHT_PUCT_OFFSET"

cdef enum:
    ST_UNEVALUATED = 0
    ST_EVALUATING = 1
    ST_EXPANDED = 2

cdef enum:
    PK_LEAF = 0          # a new node's first evaluation, with a path to back up
    PK_ROOT_REEVAL = 1   # KataGo's maybeRecomputeExistingNNOutput for a reused root
    PK_CENTER = 2        # the root eval that sets the dynamic score centre (computeRootValues)

cdef enum:
    PO_DONE = 0          # playout finished and backed up
    PO_PENDING = 1       # playout parked on a leaf waiting for the net
    PO_ABORT = 2         # hit a node another parked playout is evaluating
    PO_NOROOM = 3        # the batch is full

cdef enum:
    PHASE_IDLE = 0
    PHASE_CENTER = 1
    PHASE_REEVAL = 2
    PHASE_RUN = 3

# ------------------------------------------------------------------------------------------------
# NN outputs and their cache

# One evaluated position, KataGo's NNOutput: White's view, single precision as KataGo stores it.
cdef cppclass NNOut:
    float white_win
    float white_loss
    float no_result
    float score_mean
    float score_mean_sq
    float lead
    float var_time_left
    float st_wl_error
    float st_score_error
    int x_size
    int y_size
    # x_size*y_size + 1 probabilities, index y*x_size + x, pass last; < 0 = illegal.
    vector[float] policy
    # Root only: the policy after root temperature / Dirichlet noise (empty when unchanged).
    vector[float] noised
    # x_size*y_size tanh ownership (White's view), empty when not computed.
    vector[float] ownership


# A fixed-size table of NN outputs keyed by KataGo's NN hash (position, ko, rules, komi and the
# input flags, but not the move history), replaced by index collision like KataGo's cache.
cdef cppclass CacheCore:
    vector[uint64_t] keys
    vector[shared_ptr[NNOut]] vals
    uint64_t mask
    int64_t hits
    int64_t misses


cdef class NNCache:
    cdef CacheCore* core


cdef inline shared_ptr[NNOut] cache_get(CacheCore* c, uint64_t key, bint want_own) noexcept nogil:
    cdef uint64_t i = key & c.mask
    cdef shared_ptr[NNOut] empty
    if c.keys[i] == key and c.vals[i]:
        if not want_own or c.vals[i].get().ownership.size() > 0:
            c.hits += 1
            return c.vals[i]
    c.misses += 1
    return empty


cdef inline shared_ptr[NNOut] cache_peek(CacheCore* c, uint64_t key) noexcept nogil:
    cdef uint64_t i = key & c.mask
    cdef shared_ptr[NNOut] empty
    if c.keys[i] == key and c.vals[i]:
        return c.vals[i]
    return empty


cdef inline void cache_put(CacheCore* c, uint64_t key, shared_ptr[NNOut] v) noexcept nogil:
    cdef uint64_t i = key & c.mask
    c.keys[i] = key
    c.vals[i] = v


# Rows of one NN batch, filled by any number of searches before a single forward pass.
cdef class BatchBuffers:
    cdef readonly object spatial      # (capacity, 22, pos_y, pos_x) float32
    cdef readonly object global_      # (capacity, 19) float32
    cdef readonly object symmetries   # (capacity,) int64
    cdef float* sp
    cdef float* gl
    cdef long long* sym
    cdef public int n
    cdef readonly int capacity, pos_x, pos_y

# ------------------------------------------------------------------------------------------------
# The graph

cdef cppclass BiasEntry:
    double delta_sum
    double weight_sum
    int refs

cdef cppclass Node:
    int pla                    # player to move at this node
    bint force_non_terminal
    int state
    int virtual_losses
    int age                    # search number of the last root evaluation (root only)
    bint mark
    bint in_table
    uint64_t table_key
    uint64_t graph_hash
    shared_ptr[NNOut] nn
    # Children in creation order (parallel arrays); an edge's graph-hash memo saves recomputing
    # the path-dependent hash when the same parent hash descends it again.
    vector[Node*] kids
    vector[int] kid_locs
    vector[int64_t] edge_visits
    vector[uint64_t] gh_in
    vector[uint64_t] gh_out
    int64_t visits
    double weight_sum
    double weight_sq_sum
    double wl_avg
    double nr_avg
    double score_avg
    double score_sq_avg
    double lead_avg
    double util_avg
    double util_sq_avg
    BiasEntry* bias
    double last_bias_delta_sum
    double last_bias_weight

cdef struct PathStep:
    Node* node
    int idx
    bint count_edge

cdef struct Pending:
    Node* node
    int kind
    int row
    int nrows
    int path_start
    int path_len
    int legal_off
    int pla
    int x_size
    int y_size
    uint64_t nn_hash
    bint want_own
    bint store_cache
    float optimism

cdef struct BufPtrs:
    float* sp
    float* gl
    long long* sym
    int* n
    int capacity
    int pos_x
    int pos_y

cdef struct ChildStat:
    int64_t visits
    double weight_sum
    double weight_sq_sum
    double wl
    double nr
    double score
    double score_sq
    double lead
    double util
    double util_sq
    double self_util
    double w_adj
    double prior
    int loc

# The numeric search parameters, read once from SearchParams (tree.pyx, set_params).
cdef struct SP:
    int64_t max_visits, max_playouts
    int num_threads
    double search_factor_one_pass, search_factor_two_pass
    double wl_factor, static_factor, dynamic_factor, center_zero_weight, center_scale
    double no_result_util, draw_equiv
    double cpuct, cpuct_log, cpuct_base, stdev_prior, stdev_prior_weight, stdev_scale
    double fpu_red, root_fpu_red, fpu_loss, root_fpu_loss
    bint fpu_by_visited
    double fpu_pow, fpu_parent_weight
    double policy_optimism, root_policy_optimism
    double value_weight_exp
    bint noise_pruning
    double noise_prune_scale, noise_prune_cap
    bint use_uncertainty
    double unc_coeff, unc_exp, unc_max_weight
    double bias_factor, bias_free_prop, bias_weight_exp
    bint graph_search
    int rep_bound
    double catch_up_leak
    bint root_noise
    double dir_conc, dir_weight, root_temp, root_temp_early
    int root_num_syms
    bint root_sym_pruning
    double root_desired_coeff, ending_bonus
    bint prune_useless
    double wide_root_noise
    double cm_temp, cm_temp_early, cm_halflife, cm_only_below, cm_subtract, cm_prune
    bint use_lcb
    double lcb_stdevs, min_visit_prop_lcb
    bint nonbuggy_lcb
    bint conservative_pass, fill_dame, passing_hacks, more_passing_hacks
    double pda
    int pda_pla
    double nn_temp
    bint ignore_pre_root, ignore_all_history, nn_randomize
    double num_vl
    double futile_threshold

# ------------------------------------------------------------------------------------------------
# Node statistics and PUCT terms (KataGo's Search::getExploreScaling, getExploreSelectionValue)

cdef inline double child_weight(Node* c, int64_t edge_visits) noexcept nogil:
    """The child's weight through one edge: its weight scaled by the edge's share of visits."""
    return c.weight_sum * (<double>edge_visits / <double>(c.visits if c.visits > 1 else 1))

cdef inline const float* node_policy(Node* n) noexcept nogil:
    """The node's policy, with root noise and temperature when they were applied."""
    cdef NNOut* o = n.nn.get()
    if o.noised.size() > 0:
        return &o.noised[0]
    return &o.policy[0]

cdef inline double result_utility(const SP* p, double wl, double nr) noexcept nogil:
    return wl * p.wl_factor + nr * p.no_result_util

cdef inline double utility_radius(const SP* p) noexcept nogil:
    return p.wl_factor + p.static_factor + p.dynamic_factor

cdef inline double explore_scaling(const SP* p, double total_w, double stdev_factor) noexcept nogil:
    return ((p.cpuct + p.cpuct_log * log((total_w + p.cpuct_base) / p.cpuct_base))
            * sqrt(total_w + TOTALCHILDWEIGHT_PUCT_OFFSET) * stdev_factor)

cdef inline double explore_value(double scaling, double p, double cw, double cu,
                                 int pla) noexcept nogil:
    if p < 0:
        return POLICY_ILLEGAL_SELECTION_VALUE
    return scaling * p / (1.0 + cw) + (cu if pla == WHITE else -cu)

cdef inline bint on_path(vector[Node*]* path, Node* n) noexcept nogil:
    """Is n on the current playout's path (KataGo's graphPath)? Paths are short: a scan."""
    cdef size_t i
    for i in range(path.size()):
        if path[0][i] == n:
            return True
    return False

cdef inline double softplus(double x) noexcept nogil:
    if x > 0:
        return x + log1p(exp(-x))
    return log1p(exp(x))

# ------------------------------------------------------------------------------------------------
# Random numbers (the search's own: symmetries, noise, wide root noise, move choice)

cdef struct Rng:
    uint64_t s
    bint has_gauss
    double gauss

cdef inline uint64_t rng_next(Rng* r) noexcept nogil:
    r.s += <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t z = r.s
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)

cdef inline double rng_double(Rng* r) noexcept nogil:
    return (rng_next(r) >> 11) * (1.0 / 9007199254740992.0)

cdef inline int rng_int(Rng* r, int n) noexcept nogil:
    return <int>(rng_next(r) % <uint64_t>n)

cdef double rng_gauss(Rng* r) noexcept nogil
cdef double rng_gamma(Rng* r, double a) noexcept nogil

# ------------------------------------------------------------------------------------------------
# Board helpers

cdef bint rep_bound_gt(const BoardState* b, int loc, int bound) noexcept nogil
cdef bint non_pass_alive_self_connection(const BoardState* b, int loc, int pla,
                                         const uint8_t* area) noexcept nogil

cdef inline bint adjacent_to(const BoardState* b, int loc, int color) noexcept nogil:
    cdef int i
    for i in range(4):
        if b.color[loc + b.adj[i]] == color:
            return True
    return False

cdef inline int sym_xy(int x, int y, int xs, int ys, int sym, int* ox, int* oy) noexcept nogil:
    """KataGo's getSymLoc on coordinates: flip x, flip y, then transpose."""
    if sym & 2:
        x = xs - x - 1
    if sym & 1:
        y = ys - y - 1
    if sym & 4:
        ox[0] = y
        oy[0] = x
    else:
        ox[0] = x
        oy[0] = y
    return 0

cdef inline int loc_to_pos(const BoardState* b, int loc) noexcept nogil:
    if loc == PASS_LOC:
        return b.x_size * b.y_size
    return ((loc // b.stride) - 1) * b.x_size + (loc % b.stride) - 1

cdef inline int pos_to_loc(const BoardState* b, int pos) noexcept nogil:
    if pos >= b.x_size * b.y_size:
        return PASS_LOC
    return loc_of(b, pos % b.x_size, pos // b.x_size)
