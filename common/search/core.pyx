# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""KataGo's Monte-Carlo tree search (v1.17.2), per-visit work in C++ without the GIL.

Why this shape: selfplay runs hundreds of searches that must share one NN batch, and GTP wants
KataGo's exact visit counts. So a search here is a resumable state machine: `gather` descends
the tree (virtual losses spread several descents of one search), writes the features of every
leaf that needs the net into a shared batch buffer and parks it; `apply` post-processes the
net's raw outputs for those rows and backs the leaves up. Python runs the forward pass between
the two and touches whole batches only. With one leaf per batch and nnRandomize=false the
sequence of evaluations and backups is exactly KataGo's single-threaded search.

The rules of the search are shared/spec/selfplay-and-search.md §4, §4b, §4c; names follow
KataGo's (utilities are White's view, "self" values the player to move's).
"""
from libc.math cimport sqrt, pow, log, log1p, exp, expf, fabs, ceil, floor, tanh, cos, M_PI
from libc.string cimport memcpy, memset
from libc.stdint cimport uint64_t, int64_t, uint8_t, uint32_t, int16_t
from libcpp.vector cimport vector
from libcpp.unordered_map cimport unordered_map
from libcpp.unordered_set cimport unordered_set
from libcpp.memory cimport shared_ptr, make_shared
from libcpp.utility cimport pair
from cython.operator cimport dereference as deref, preincrement as inc

from goloop.common.go.board cimport (BoardState, MAX_ARR, EMPTY, BLACK, WHITE, WALL, NULL_LOC,
                                  PASS_LOC, ZOBRIST_PLAYER, loc_of, on_board, would_capture,
                                  is_suicide, is_single_stone_suicide)
from goloop.common.go.history cimport (History, KO_SIMPLE, SCORING_AREA, SCORING_TERRITORY)
from goloop.common.nn.features cimport NNParams, fill_row_v7, nn_params_default, NUM_SPATIAL_V7, NUM_GLOBAL_V7
from goloop.common.go.area cimport calculate_area
from goloop.common.search.math_tables cimport (expected_white_score_value, d_score_value_d_score,
                                        score_stdev, t3_cdf_table)

import numpy as np

# ------------------------------------------------------------------------------------------------
# Constants

cdef double POLICY_ILLEGAL_SELECTION_VALUE = -1e50
cdef double FUTILE_VISITS_PRUNE_VALUE = -1e40
cdef double TOTALCHILDWEIGHT_PUCT_OFFSET = 0.01

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
# Hash keys (our own; only equality of hashes matters, never KataGo's numeric values)

cdef inline uint64_t splitmix(uint64_t x) noexcept nogil:
    x += <uint64_t>0x9E3779B97F4A7C15
    x = (x ^ (x >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    x = (x ^ (x >> 27)) * <uint64_t>0x94D049BB133111EB
    return x ^ (x >> 31)

cdef uint64_t Z_KO[MAX_ARR]
cdef uint64_t Z_KOMARK[MAX_ARR]
cdef uint64_t Z_SECOND[MAX_ARR][3]
cdef uint64_t Z_ENCORE[3]
cdef uint64_t Z_MOVE[MAX_ARR][2]
cdef uint64_t Z_KOBAN[MAX_ARR]
cdef uint64_t Z_PAT[4 * 25]
cdef uint64_t Z_ATARI[25]
cdef uint64_t Z_PAT_PLA[3]
cdef uint64_t Z_PASS_ENDS_PHASE, Z_GAME_OVER, Z_BUTTON, Z_CONSERVATIVE, Z_FRIENDLY, Z_HACKS
cdef uint64_t Z_ZERO_HISTORY, Z_FORCE_NON_TERMINAL, Z_OPTIMISM, Z_PDA, Z_TEMP
cdef uint64_t CONSEC_MULT = <uint64_t>2862933555777941757


cdef void _init_keys() noexcept nogil:
    global Z_PASS_ENDS_PHASE, Z_GAME_OVER, Z_BUTTON, Z_CONSERVATIVE, Z_FRIENDLY, Z_HACKS
    global Z_ZERO_HISTORY, Z_FORCE_NON_TERMINAL, Z_OPTIMISM, Z_PDA, Z_TEMP
    cdef uint64_t s = <uint64_t>0x5EA4C4C0DE
    cdef int i, j
    for i in range(MAX_ARR):
        s = splitmix(s); Z_KO[i] = s
        s = splitmix(s); Z_KOMARK[i] = s
        for j in range(3):
            s = splitmix(s); Z_SECOND[i][j] = s
        for j in range(2):
            s = splitmix(s); Z_MOVE[i][j] = s
        s = splitmix(s); Z_KOBAN[i] = s
    for i in range(3):
        s = splitmix(s); Z_ENCORE[i] = s
        s = splitmix(s); Z_PAT_PLA[i] = s
    for i in range(100):
        s = splitmix(s); Z_PAT[i] = s
    for i in range(25):
        s = splitmix(s); Z_ATARI[i] = s
    s = splitmix(s); Z_PASS_ENDS_PHASE = s
    s = splitmix(s); Z_GAME_OVER = s
    s = splitmix(s); Z_BUTTON = s
    s = splitmix(s); Z_CONSERVATIVE = s
    s = splitmix(s); Z_FRIENDLY = s
    s = splitmix(s); Z_HACKS = s
    s = splitmix(s); Z_ZERO_HISTORY = s
    s = splitmix(s); Z_FORCE_NON_TERMINAL = s
    s = splitmix(s); Z_OPTIMISM = s
    s = splitmix(s); Z_PDA = s
    s = splitmix(s); Z_TEMP = s

_init_keys()

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

cdef double rng_gauss(Rng* r) noexcept nogil:
    cdef double u1, u2, rad
    if r.has_gauss:
        r.has_gauss = False
        return r.gauss
    u1 = rng_double(r)
    while u1 <= 1e-300:
        u1 = rng_double(r)
    u2 = rng_double(r)
    rad = sqrt(-2.0 * log(u1))
    r.gauss = rad * cos(2.0 * M_PI * u2 + M_PI / 2.0)
    r.has_gauss = True
    return rad * cos(2.0 * M_PI * u2)

cdef double rng_gamma(Rng* r, double a) noexcept nogil:
    """Marsaglia-Tsang; a < 1 via the a+1 boost."""
    cdef double d, c, x, v, u
    if a <= 0:
        return 0.0
    if a < 1.0:
        u = rng_double(r)
        while u <= 1e-300:
            u = rng_double(r)
        return rng_gamma(r, a + 1.0) * pow(u, 1.0 / a)
    d = a - 1.0 / 3.0
    c = 1.0 / sqrt(9.0 * d)
    while True:
        x = rng_gauss(r)
        v = 1.0 + c * x
        if v <= 0:
            continue
        v = v * v * v
        u = rng_double(r)
        if u < 1.0 - 0.0331 * x * x * x * x:
            return d * v
        if log(u) < 0.5 * x * x + d * (1.0 - v + log(v)):
            return d * v

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

cdef inline double _softplus(double x) noexcept nogil:
    if x > 0:
        return x + log1p(exp(-x))
    return log1p(exp(x))

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

# The numeric search parameters, read once from SearchParams (KataGo's key names in comments).
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
# Board helpers

cdef bint _count_empty(const BoardState* b, uint8_t* counted, int start, int* count, int bound,
                       int* stack) noexcept nogil:
    """Flood the empty region of `start`, adding its size to count; True once count > bound."""
    cdef int n_left = 0, n_done = 0, loc, a, i
    if counted[start]:
        return False
    count[0] += 1
    counted[start] = 1
    if count[0] > bound:
        return True
    stack[n_left] = start
    n_left += 1
    while n_done < n_left:
        loc = stack[n_done]
        n_done += 1
        for i in range(4):
            a = loc + b.adj[i]
            if b.color[a] == EMPTY and not counted[a]:
                count[0] += 1
                counted[a] = 1
                if count[0] > bound:
                    return True
                stack[n_left] = a
                n_left += 1
    return False


cdef bint rep_bound_gt(const BoardState* b, int loc, int bound) noexcept nogil:
    """KataGo's simpleRepetitionBoundGt: does the last move's chain plus the empty regions around
    it exceed `bound` points? Only then is the position hashed path-independently."""
    cdef uint8_t counted[MAX_ARR]
    cdef int stack[MAX_ARR]
    cdef int count = 0, cur, i, lib, head
    if loc == NULL_LOC or loc == PASS_LOC:
        return False
    if b.color[loc] != EMPTY:
        head = b.head[loc]
        count += b.csize[head]
        if count + b.libs[head] > bound:
            return True
    memset(counted, 0, MAX_ARR)
    if b.color[loc] == EMPTY:
        return _count_empty(b, counted, loc, &count, bound, stack)
    cur = loc
    while True:
        for i in range(4):
            lib = cur + b.adj[i]
            if b.color[lib] == EMPTY:
                if _count_empty(b, counted, lib, &count, bound, stack):
                    return True
        cur = b.next_stone[cur]
        if cur == loc:
            break
    return False


cdef inline bint adjacent_to(const BoardState* b, int loc, int color) noexcept nogil:
    cdef int i
    for i in range(4):
        if b.color[loc + b.adj[i]] == color:
            return True
    return False


cdef bint non_pass_alive_self_connection(const BoardState* b, int loc, int pla,
                                         const uint8_t* area) noexcept nogil:
    """KataGo's isNonPassAliveSelfConnection: an empty point joining a non-pass-alive chain of
    pla to another chain of pla."""
    cdef int i, a, head = NULL_LOC
    if b.color[loc] != EMPTY or area[loc] == pla:
        return False
    for i in range(4):
        a = loc + b.adj[i]
        if b.color[a] == pla and area[a] == EMPTY:
            head = b.head[a]
            break
    if head == NULL_LOC:
        return False
    for i in range(4):
        a = loc + b.adj[i]
        if b.color[a] == pla and b.head[a] != head:
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


# ------------------------------------------------------------------------------------------------
# NN cache and batch buffers

cdef class NNCache:
    """KataGo's NN cache: outputs by NN hash in 2^size_pow2 slots, newest wins a slot. Share one
    between searches that use the same net (and the same policy temperature)."""

    def __cinit__(self, int size_pow2=20):
        if not 0 <= size_pow2 <= 30:
            raise ValueError(f"NN cache size power of two must be 0..30, got {size_pow2}")
        self.core = new CacheCore()
        self.core.keys.resize(1 << size_pow2, 0)
        self.core.vals.resize(1 << size_pow2)
        self.core.mask = (1 << size_pow2) - 1

    def __dealloc__(self):
        del self.core

    def clear(self):
        cdef size_t i
        for i in range(self.core.vals.size()):
            self.core.vals[i].reset()
            self.core.keys[i] = 0

    @property
    def hits(self):
        return self.core.hits

    @property
    def misses(self):
        return self.core.misses

    def __len__(self):
        cdef size_t i, n = 0
        for i in range(self.core.vals.size()):
            if self.core.vals[i]:
                n += 1
        return n


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


cdef class BatchBuffers:
    """Input rows of one forward pass, shared by every search gathering into it."""

    def __cinit__(self, int capacity, int pos_x, pos_y=None):
        cdef int py = pos_x if pos_y is None else pos_y
        if capacity < 8:
            raise ValueError("batch capacity must be at least 8 (a root may need 8 symmetries)")
        if not (2 <= pos_x <= 19 and 2 <= py <= 19):
            raise ValueError(f"batch board size must be 2..19, got {pos_x}x{py}")
        self.capacity = capacity
        self.pos_x = pos_x
        self.pos_y = py
        self.spatial = np.zeros((capacity, NUM_SPATIAL_V7, py, pos_x), np.float32)
        self.global_ = np.zeros((capacity, NUM_GLOBAL_V7), np.float32)
        self.symmetries = np.zeros(capacity, np.int64)
        cdef float[:, :, :, ::1] sp = self.spatial
        cdef float[:, ::1] gl = self.global_
        cdef long long[::1] sy = self.symmetries
        self.sp = &sp[0, 0, 0, 0]
        self.gl = &gl[0, 0]
        self.sym = &sy[0]
        self.n = 0

    def reset(self):
        self.n = 0


# ------------------------------------------------------------------------------------------------
# The search

cdef class SearchCore:
    """One search tree with KataGo's rules. Drive it with begin() then alternate gather()/apply()
    around forward passes until done; search.py does that for one or many searches."""

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

    def __cinit__(self):
        self.root = NULL
        self.phase = PHASE_IDLE

    def __init__(self, params, NNCache cache, int model_version, multipliers=(20.0, 20.0, 20.0, 40.0, 0.25, 30.0),
                 bint pass_alive_under_suicide=False, bint has_optimistic_policy=False, seed=0,
                 bint always_ownership=False):
        self.cache = cache
        self.model_version = model_version
        (self.score_mean_mult, self.score_stdev_mult, self.lead_mult, self.var_time_mult,
         self.st_value_mult, self.st_score_mult) = [float(m) for m in multipliers]
        self.pass_alive_suicide = pass_alive_under_suicide
        self.has_optimistic = has_optimistic_policy
        self.rng.s = <uint64_t>(int(seed) & 0xFFFFFFFFFFFFFFFF)
        self.always_ownership = always_ownership
        self.set_params(params)
        self.stat_buf.resize(MAX_ARR)

    def __dealloc__(self):
        self._free_all()

    # -------------------------------------------------------------------------------------------
    # Parameters and positions

    def set_params(self, p):
        """Read a SearchParams; the tree is kept (callers clear it when a change needs that)."""
        cdef SP* s = &self.p
        self.params = p
        s.max_visits = min(int(p.maxVisits), 1 << 62)
        s.max_playouts = min(int(p.maxPlayouts), 1 << 62)
        s.num_threads = p.numSearchThreads
        s.search_factor_one_pass = p.searchFactorAfterOnePass
        s.search_factor_two_pass = p.searchFactorAfterTwoPass
        s.wl_factor = p.winLossUtilityFactor
        s.static_factor = p.staticScoreUtilityFactor
        s.dynamic_factor = p.dynamicScoreUtilityFactor
        s.center_zero_weight = p.dynamicScoreCenterZeroWeight
        s.center_scale = p.dynamicScoreCenterScale
        s.no_result_util = p.noResultUtilityForWhite
        s.draw_equiv = p.drawEquivalentWinsForWhite
        s.cpuct = p.cpuctExploration
        s.cpuct_log = p.cpuctExplorationLog
        s.cpuct_base = p.cpuctExplorationBase
        s.stdev_prior = p.cpuctUtilityStdevPrior
        s.stdev_prior_weight = p.cpuctUtilityStdevPriorWeight
        s.stdev_scale = p.cpuctUtilityStdevScale
        s.fpu_red = p.fpuReductionMax
        s.root_fpu_red = p.rootFpuReductionMax
        s.fpu_loss = p.fpuLossProp
        s.root_fpu_loss = p.rootFpuLossProp
        s.fpu_by_visited = p.fpuParentWeightByVisitedPolicy
        s.fpu_pow = p.fpuParentWeightByVisitedPolicyPow
        s.fpu_parent_weight = p.fpuParentWeight
        s.policy_optimism = p.policyOptimism
        s.root_policy_optimism = p.rootPolicyOptimism
        s.value_weight_exp = p.valueWeightExponent
        s.noise_pruning = p.useNoisePruning
        s.noise_prune_scale = p.noisePruneUtilityScale
        s.noise_prune_cap = p.noisePruningCap
        s.use_uncertainty = p.useUncertainty
        s.unc_coeff = p.uncertaintyCoeff
        s.unc_exp = p.uncertaintyExponent
        s.unc_max_weight = p.uncertaintyMaxWeight
        s.bias_factor = p.subtreeValueBiasFactor
        s.bias_free_prop = p.subtreeValueBiasFreeProp
        s.bias_weight_exp = p.subtreeValueBiasWeightExponent
        s.graph_search = p.useGraphSearch
        s.rep_bound = p.graphSearchRepBound
        s.catch_up_leak = p.graphSearchCatchUpLeakProb
        s.root_noise = p.rootNoiseEnabled
        s.dir_conc = p.rootDirichletNoiseTotalConcentration
        s.dir_weight = p.rootDirichletNoiseWeight
        s.root_temp = p.rootPolicyTemperature
        s.root_temp_early = p.rootPolicyTemperatureEarly
        s.root_num_syms = p.rootNumSymmetriesToSample
        s.root_sym_pruning = p.rootSymmetryPruning
        s.root_desired_coeff = p.rootDesiredPerChildVisitsCoeff
        s.ending_bonus = p.rootEndingBonusPoints
        s.prune_useless = p.rootPruneUselessMoves
        s.wide_root_noise = p.wideRootNoise
        s.cm_temp = p.chosenMoveTemperature
        s.cm_temp_early = p.chosenMoveTemperatureEarly
        s.cm_halflife = p.chosenMoveTemperatureHalflife
        s.cm_only_below = p.chosenMoveTemperatureOnlyBelowProb
        s.cm_subtract = p.chosenMoveSubtract
        s.cm_prune = p.chosenMovePrune
        s.use_lcb = p.useLcbForSelection
        s.lcb_stdevs = p.lcbStdevs
        s.min_visit_prop_lcb = p.minVisitPropForLCB
        s.nonbuggy_lcb = p.useNonBuggyLcb
        s.conservative_pass = p.conservativePass
        s.fill_dame = p.fillDameBeforePass
        s.passing_hacks = p.enablePassingHacks
        s.more_passing_hacks = p.enableMorePassingHacks
        s.pda = p.playoutDoublingAdvantage
        s.pda_pla = {"": 0, "BLACK": BLACK, "WHITE": WHITE}[p.playoutDoublingAdvantagePla]
        s.nn_temp = p.nnPolicyTemperature
        s.ignore_pre_root = p.ignorePreRootHistory
        s.ignore_all_history = p.ignoreAllHistory
        s.nn_randomize = p.nnRandomize
        s.num_vl = p.numVirtualLossesPerThread
        s.futile_threshold = p.futileVisitsThreshold

    def set_root(self, History history, bint game_result_integer):
        """Make `history` (copied) the root position and drop the tree."""
        self._free_all()
        self._set_root_hist(history, game_result_integer)

    cdef _set_root_hist(self, History history, bint game_result_integer):
        self.root_hist = history.copy()
        self.work = history.copy()
        self.root_pla = self.root_hist.pla
        self.game_result_integer = game_result_integer
        self.sqrt_area = sqrt(<double>(self.root_hist.cur.x_size * self.root_hist.cur.y_size))

    def advance(self, History history, moves, bint game_result_integer):
        """KataGo's makeMove for each of `moves` (locs, already played into `history`): keep the
        subtree under the last one as the new root, else drop the tree. Returns whether the
        tree was kept."""
        cdef Node* node = self.root
        cdef Node* child
        cdef Node* new_root
        cdef int loc
        cdef size_t i
        for move_loc in moves:
            loc = move_loc
            child = NULL
            if node != NULL:
                for i in range(node.kids.size()):
                    if node.kid_locs[i] == loc:
                        child = node.kids[i]
                        break
            if child != NULL and not child.nn:
                child = NULL
            node = child
            if node == NULL:
                break
        if node == NULL or node == self.root:
            self._free_all()
            self._set_root_hist(history, game_result_integer)
            return False
        self._set_root_hist(history, game_result_integer)
        new_root = new Node()
        self._copy_node(new_root, node)
        new_root.force_non_terminal = self.root_hist.finished
        new_root.in_table = False
        new_root.bias = NULL
        new_root.last_bias_delta_sum = 0.0
        new_root.last_bias_weight = 0.0
        new_root.virtual_losses = 0
        self.nodes.push_back(new_root)
        self.root = new_root
        self._sweep()
        return True

    def set_root_keep_tree(self, History history, bint game_result_integer):
        """Replace the root history by an identical position, keeping the tree."""
        self._set_root_hist(history, game_result_integer)

    def clear_tree(self):
        self._free_all()

    def set_avoid_moves(self, black, white):
        """KataGo's setAvoidMoveUntilByLoc: per player, None or a list of (move, until_depth);
        a change clears the tree (as KataGo does). Returns whether it changed."""
        cdef vector[int] vb, vw
        cdef const BoardState* b = &self.root_hist.cur
        if black:
            vb.assign(MAX_ARR, 0)
            for move, depth in black:
                vb[self._loc_of_move(move)] = int(depth)
        if white:
            vw.assign(MAX_ARR, 0)
            for move, depth in white:
                vw[self._loc_of_move(move)] = int(depth)
        if vb == self.avoid_black and vw == self.avoid_white:
            return False
        self.avoid_black = vb
        self.avoid_white = vw
        self._free_all()
        return True

    def avoided_at_root(self, move):
        return self._avoided_at_root(self._loc_of_move(move))

    cdef void _copy_node(self, Node* dst, Node* src) noexcept nogil:
        dst.pla = src.pla
        dst.force_non_terminal = src.force_non_terminal
        dst.state = src.state
        dst.virtual_losses = src.virtual_losses
        dst.age = src.age
        dst.mark = False
        dst.in_table = src.in_table
        dst.table_key = src.table_key
        dst.graph_hash = src.graph_hash
        dst.nn = src.nn
        dst.kids = src.kids
        dst.kid_locs = src.kid_locs
        dst.edge_visits = src.edge_visits
        dst.gh_in = src.gh_in
        dst.gh_out = src.gh_out
        dst.visits = src.visits
        dst.weight_sum = src.weight_sum
        dst.weight_sq_sum = src.weight_sq_sum
        dst.wl_avg = src.wl_avg
        dst.nr_avg = src.nr_avg
        dst.score_avg = src.score_avg
        dst.score_sq_avg = src.score_sq_avg
        dst.lead_avg = src.lead_avg
        dst.util_avg = src.util_avg
        dst.util_sq_avg = src.util_sq_avg
        dst.bias = src.bias
        dst.last_bias_delta_sum = src.last_bias_delta_sum
        dst.last_bias_weight = src.last_bias_weight

    cdef void _free_all(self) noexcept nogil:
        cdef size_t i
        for i in range(self.nodes.size()):
            del self.nodes[i]
        self.nodes.clear()
        self.table.clear()
        cdef unordered_map[uint64_t, BiasEntry*].iterator it = self.bias_table.begin()
        while it != self.bias_table.end():
            del deref(it).second
            inc(it)
        self.bias_table.clear()
        self.root = NULL
        self.pending.clear()
        self.pending_merge.clear()
        self.path_buf.clear()
        self.legal_buf.clear()
        self.phase = PHASE_IDLE

    cdef void _remove_bias(self, Node* n) noexcept nogil:
        if n.bias != NULL:
            n.bias.delta_sum -= n.last_bias_delta_sum * self.p.bias_free_prop
            n.bias.weight_sum -= n.last_bias_weight * self.p.bias_free_prop
            n.bias.refs -= 1
            n.bias = NULL

    cdef void _sweep(self) noexcept nogil:
        """Delete every node the root cannot reach (KataGo's deleteAllOldOrAllNewTableNodes)."""
        cdef vector[Node*] stack
        cdef vector[Node*] kept
        cdef Node* n
        cdef size_t i
        for i in range(self.nodes.size()):
            self.nodes[i].mark = False
        if self.root != NULL:
            self.root.mark = True
            stack.push_back(self.root)
        while stack.size() > 0:
            n = stack.back()
            stack.pop_back()
            for i in range(n.kids.size()):
                if not n.kids[i].mark:
                    n.kids[i].mark = True
                    stack.push_back(n.kids[i])
        for i in range(self.nodes.size()):
            n = self.nodes[i]
            if n.mark:
                kept.push_back(n)
            else:
                if n.in_table:
                    if self.table.count(n.table_key) and self.table[n.table_key] == n:
                        self.table.erase(n.table_key)
                self._remove_bias(n)
                del n
        self.nodes.swap(kept)

    cdef void _clear_unused_bias(self) noexcept nogil:
        cdef unordered_map[uint64_t, BiasEntry*].iterator it = self.bias_table.begin()
        while it != self.bias_table.end():
            if deref(it).second.refs <= 0:
                del deref(it).second
                it = self.bias_table.erase(it)
            else:
                inc(it)

    # -------------------------------------------------------------------------------------------
    # Hashes

    cdef uint64_t _situation_hash(self, History h, int pla) noexcept nogil:
        """KataGo's getSituationRulesAndKoHash: stones, player, ko/superko bans, encore state,
        komi (as the mover sees it), rules and the button."""
        cdef const BoardState* b = &h.cur
        cdef uint64_t hh = b.hash ^ ZOBRIST_PLAYER[pla] ^ Z_ENCORE[h.encore_phase]
        cdef int x, y, l
        cdef float komi
        cdef int64_t kd
        if h.encore_phase == 0:
            if b.ko_loc != NULL_LOC:
                hh ^= Z_KO[b.ko_loc]
            if h.ko_rule != KO_SIMPLE and h.move_locs.size() > 0:
                h.c_superko_banned(self.scratch_banned)
                for y in range(b.y_size):
                    for x in range(b.x_size):
                        l = loc_of(b, x, y)
                        if self.scratch_banned[l] and l != b.ko_loc:
                            hh ^= Z_KO[l]
        else:
            h.c_superko_banned(self.scratch_banned)
            for y in range(b.y_size):
                for x in range(b.x_size):
                    l = loc_of(b, x, y)
                    if self.scratch_banned[l]:
                        hh ^= Z_KO[l]
                    if h.ko_recap_blocked[l]:
                        hh ^= Z_KOMARK[l]
            if h.encore_phase == 2:
                for y in range(b.y_size):
                    for x in range(b.x_size):
                        l = loc_of(b, x, y)
                        if h.second_encore_start[l] != EMPTY:
                            hh ^= Z_SECOND[l][h.second_encore_start[l]]
        komi = h.c_self_komi(pla, self.p.draw_equiv)
        kd = <int64_t>(komi * 256.0)
        hh ^= splitmix(<uint64_t>kd ^ <uint64_t>0x4B4F4D49)
        hh ^= self.rules_hash
        if h.has_button and not h.button_taken:
            hh ^= Z_BUTTON
        return hh

    cdef uint64_t _state_hash(self, History h, int pla) noexcept nogil:
        """KataGo's GraphHash::getStateHash."""
        cdef uint64_t hh = self._situation_hash(h, pla)
        if h.c_pass_would_end_phase(pla):
            hh ^= Z_PASS_ENDS_PHASE
        if h.finished:
            hh ^= Z_GAME_OVER
        hh += CONSEC_MULT * <uint64_t>h.consecutive_passes
        return hh

    cdef uint64_t _graph_hash(self, uint64_t prev, History h, int pla) noexcept nogil:
        """KataGo's getGraphHash: path-independent after a move whose chain and surrounding empty
        region exceed graphSearchRepBound, else chained onto the parent's hash."""
        cdef int prev_loc = NULL_LOC
        if h.move_locs.size() > 0:
            prev_loc = h.move_locs.back()
        if prev_loc == NULL_LOC or rep_bound_gt(&h.cur, prev_loc, self.p.rep_bound):
            return self._state_hash(h, pla)
        return splitmix(prev ^ <uint64_t>0xC0FFEE) + self._state_hash(h, pla)

    cdef uint64_t _nn_hash(self, History h, int pla, bint is_root, int max_history,
                           double optimism) noexcept nogil:
        """KataGo's NNInputs::getHash: the NN cache key. No move history in it, as in KataGo."""
        cdef uint64_t hh = self._situation_hash(h, pla)
        cdef double pda
        if h.c_pass_would_end_phase(pla):
            hh ^= Z_PASS_ENDS_PHASE
            if self.p.conservative_pass and is_root:
                hh ^= Z_CONSERVATIVE
            if h.c_should_suppress_end_game_from_friendly_pass(pla):
                hh ^= Z_FRIENDLY
            if self.p.passing_hacks:
                hh ^= Z_HACKS
        if h.finished or h.past_normal_phase_end:
            hh ^= Z_GAME_OVER
        if max_history <= 0:
            hh += Z_ZERO_HISTORY
        pda = self._pda_for(pla)
        if pda != 0:
            hh = splitmix(hh ^ Z_PDA) + <uint64_t>(<int64_t>(pda * 256.0))
        if self.p.nn_temp != 1.0:
            hh = splitmix(hh ^ Z_TEMP) + <uint64_t>(<int64_t>(self.p.nn_temp * 2048.0))
        if optimism > 0:
            hh = splitmix(hh ^ Z_OPTIMISM) + <uint64_t>(<int64_t>(optimism * 1024.0))
        return hh

    cdef double _pda_for(self, int pla) noexcept nogil:
        cdef int adv_pla
        if self.p.pda == 0:
            return 0.0
        adv_pla = self.p.pda_pla if self.p.pda_pla != 0 else self.root_pla
        return -self.p.pda if (3 - pla) == adv_pla else self.p.pda

    cdef uint64_t _bias_key(self, int pla, int prev_loc, int loc, const BoardState* b) noexcept nogil:
        """KataGo's SubtreeValueBiasTable key: mover, previous move, move, and the 5x5 window
        (colours and atari flags, clipped at the edges) plus ko point of the board before it."""
        cdef uint64_t hh = Z_MOVE[prev_loc][0] ^ Z_MOVE[loc][1] ^ Z_PAT_PLA[pla]
        cdef int x = (loc % b.stride) - 1, y = (loc // b.stride) - 1
        cdef int dxmin = -2, dxmax = 2, dymin = -2, dymax = 2, dx, dy, l2, xy2, c
        if x < 2:
            dxmin = -x
        elif x >= b.x_size - 2:
            dxmax = b.x_size - 1 - x
        if y < 2:
            dymin = -y
        elif y >= b.y_size - 2:
            dymax = b.y_size - 1 - y
        for dy in range(dymin, dymax + 1):
            for dx in range(dxmin, dxmax + 1):
                l2 = loc + dx + dy * b.stride
                xy2 = (dy + 2) * 5 + dx + 2
                c = b.color[l2]
                hh ^= Z_PAT[c * 25 + xy2]
                if (c == BLACK or c == WHITE) and b.libs[b.head[l2]] == 1:
                    hh ^= Z_ATARI[xy2]
        if b.ko_loc != NULL_LOC:
            hh ^= Z_KOBAN[b.ko_loc]
        return hh

    def _compute_rules_hash(self):
        h = self.root_hist
        r = h.rules
        key = (int(r.ko_rule), int(r.scoring_rule), int(r.tax_rule), bool(r.multi_stone_suicide_legal),
               bool(r.friendly_pass_ok),
               bool(self.pass_alive_suicide and not r.multi_stone_suicide_legal))
        v = 0x1234567
        for k in key:
            v = (v * 1000003 + int(k) + 7) & 0xFFFFFFFFFFFFFFFF
        self.rules_hash = splitmix(<uint64_t>v)

    cdef uint64_t _root_graph_hash_from_scratch(self):
        """KataGo's getGraphHashFromScratch: the chain over every position of the game."""
        cdef History h = self.root_hist.copy()
        cdef vector[int] locs = self.root_hist.move_locs
        cdef vector[int] plas = self.root_hist.move_plas
        cdef uint64_t gh = 0
        cdef size_t i
        h._reset()
        for i in range(locs.size()):
            gh = self._graph_hash(gh, h, plas[i])
            h.c_play(locs[i], plas[i])
        return self._graph_hash(gh, h, self.root_pla)

    # -------------------------------------------------------------------------------------------
    # Utilities

    cdef inline double _result_utility(self, double wl, double nr) noexcept nogil:
        return wl * self.p.wl_factor + nr * self.p.no_result_util

    cdef double _score_utility(self, double mean, double mean_sq) noexcept nogil:
        cdef double sd = score_stdev(mean, mean_sq)
        cdef double sv_static = expected_white_score_value(mean, sd, 0.0, 2.0, self.sqrt_area)
        cdef double sv_dyn = expected_white_score_value(mean, sd, self.score_center,
                                                        self.p.center_scale, self.sqrt_area)
        return sv_static * self.p.static_factor + sv_dyn * self.p.dynamic_factor

    cdef double _score_utility_diff(self, double mean, double mean_sq, double delta) noexcept nogil:
        cdef double sd = score_stdev(mean, mean_sq)
        cdef double s_diff = (expected_white_score_value(mean + delta, sd, 0.0, 2.0, self.sqrt_area)
                              - expected_white_score_value(mean, sd, 0.0, 2.0, self.sqrt_area))
        cdef double d_diff = (expected_white_score_value(mean + delta, sd, self.score_center,
                                                         self.p.center_scale, self.sqrt_area)
                              - expected_white_score_value(mean, sd, self.score_center,
                                                           self.p.center_scale, self.sqrt_area))
        return s_diff * self.p.static_factor + d_diff * self.p.dynamic_factor

    cdef double _utility_from_nn(self, NNOut* nn) noexcept nogil:
        # KataGo subtracts the float probabilities in float here (getResultUtilityFromNN).
        cdef float wl = nn.white_win - nn.white_loss
        return (<double>wl * self.p.wl_factor + <double>nn.no_result * self.p.no_result_util
                + self._score_utility(nn.score_mean, nn.score_mean_sq))

    cdef double _nn_weight(self, NNOut* nn) noexcept nogil:
        """KataGo's computeWeightFromNNOutput: uncertainty weighting for nets with error heads."""
        cdef double deriv, unc, powered
        if not self.p.use_uncertainty or self.model_version < 9:
            return 1.0
        deriv = (d_score_value_d_score(nn.score_mean, 0.0, 2.0, self.sqrt_area) * self.p.static_factor
                 + d_score_value_d_score(nn.score_mean, self.score_center, self.p.center_scale,
                                         self.sqrt_area) * self.p.dynamic_factor)
        unc = self.p.wl_factor * nn.st_wl_error + deriv * nn.st_score_error
        if self.p.unc_exp == 1.0:
            powered = unc
        elif self.p.unc_exp == 0.5:
            powered = sqrt(unc)
        else:
            powered = pow(unc, self.p.unc_exp)
        return self.p.unc_coeff / (powered + self.p.unc_coeff / self.p.unc_max_weight)

    cdef inline double _utility_radius(self) noexcept nogil:
        return self.p.wl_factor + self.p.static_factor + self.p.dynamic_factor

    cdef double _interpolate_early(self, double halflife, double early, double late) noexcept nogil:
        cdef double raw = <double>self.root_hist.move_locs.size() / halflife
        cdef double halflives = raw * 19.0 / self.sqrt_area
        return late + (early - late) * pow(0.5, halflives)

    cdef inline const float* _policy(self, Node* n) noexcept nogil:
        cdef NNOut* o = n.nn.get()
        if o.noised.size() > 0:
            return &o.noised[0]
        return &o.policy[0]

    # -------------------------------------------------------------------------------------------
    # Node statistics

    cdef inline double _child_weight(self, Node* c, int64_t edge_visits) noexcept nogil:
        return c.weight_sum * (<double>edge_visits / <double>(c.visits if c.visits > 1 else 1))

    cdef void _add_leaf_value(self, Node* n, double wl, double nr, double sm, double smsq,
                              double lead, double weight, bint terminal, bint assume_empty) noexcept nogil:
        cdef double u = self._result_utility(wl, nr) + self._score_utility(sm, smsq)
        cdef double old_w, new_w
        if self.p.bias_factor != 0 and not terminal and n.bias != NULL:
            if n.bias.weight_sum > 0.001:
                u += self.p.bias_factor * n.bias.delta_sum / n.bias.weight_sum
        cdef double usq = u * u
        cdef double wsq = weight * weight
        if assume_empty:
            n.wl_avg = wl
            n.nr_avg = nr
            n.score_avg = sm
            n.score_sq_avg = smsq
            n.lead_avg = lead
            n.util_avg = u
            n.util_sq_avg = usq
            n.weight_sq_sum = wsq
            n.weight_sum = weight
            n.visits += 1
        else:
            old_w = n.weight_sum
            new_w = old_w + weight
            n.wl_avg = (n.wl_avg * old_w + wl * weight) / new_w
            n.nr_avg = (n.nr_avg * old_w + nr * weight) / new_w
            n.score_avg = (n.score_avg * old_w + sm * weight) / new_w
            n.score_sq_avg = (n.score_sq_avg * old_w + smsq * weight) / new_w
            n.lead_avg = (n.lead_avg * old_w + lead * weight) / new_w
            n.util_avg = (n.util_avg * old_w + u * weight) / new_w
            n.util_sq_avg = (n.util_sq_avg * old_w + usq * weight) / new_w
            n.weight_sq_sum = n.weight_sq_sum + wsq
            n.weight_sum = new_w
            n.visits += 1

    cdef void _add_nn_leaf(self, Node* n, bint assume_empty) noexcept nogil:
        cdef NNOut* o = n.nn.get()
        self._add_leaf_value(n, <double>o.white_win - <double>o.white_loss, o.no_result,
                             o.score_mean, o.score_mean_sq, o.lead, self._nn_weight(o), False,
                             assume_empty)

    cdef void _add_terminal_leaf(self, Node* n, History h) noexcept nogil:
        cdef double weight = self.p.unc_max_weight if (self.p.use_uncertainty and self.model_version >= 9) else 1.0
        cdef double fs, wl, sm, smsq, lo, hi
        if h.no_result:
            self._add_leaf_value(n, 0.0, 1.0, 0.0, 0.0, 0.0, weight, True, False)
            return
        if h.winner == WHITE:
            wl = 1.0
        elif h.winner == BLACK:
            wl = -1.0
        else:
            wl = 2.0 * self.p.draw_equiv - 1.0
        fs = h.final_score
        sm = fs + (<float>(self.p.draw_equiv - 0.5) if self.game_result_integer else 0.0)
        if <int>fs == fs:
            lo = fs - 0.5
            hi = fs + 0.5
            smsq = lo * lo + (hi * hi - lo * lo) * self.p.draw_equiv
        else:
            smsq = fs * fs
        self._add_leaf_value(n, wl, 0.0, sm, smsq, sm, weight, True, False)

    cdef double _prune_noise(self, int n, double total) noexcept nogil:
        """KataGo's pruneNoiseWeight: take weight from children that did worse than their elder
        siblings by more than their policy share would justify."""
        cdef double usum = 0, wsum = 0, psum = 0, u, oldw, neww, rp, gap, share, excess, sub
        cdef int i
        cdef ChildStat* s
        if n <= 1 or total <= 0.00001:
            return total
        for i in range(n):
            s = &self.stat_buf[i]
            u = s.self_util
            oldw = s.w_adj
            rp = s.prior
            neww = oldw
            if wsum > 0 and psum > 0:
                gap = usum / wsum - u
                if gap > 0:
                    share = 2.0 * (wsum * rp / psum)
                    if oldw > share:
                        excess = oldw - share
                        sub = excess * (1.0 - exp(-gap / self.p.noise_prune_scale))
                        if sub > self.p.noise_prune_cap:
                            sub = self.p.noise_prune_cap
                        neww = oldw - sub
                        s.w_adj = neww
            usum += u * neww
            wsum += neww
            psum += rp
        return wsum

    cdef void _downweight(self, int n, double current_total, double desired_total,
                          double amount_to_subtract, double amount_to_prune) noexcept nogil:
        """KataGo's downweightBadChildrenAndNormalizeWeight: Student-t value weighting."""
        cdef int i
        cdef double simple_sum = 0, simple, total_new = 0, w, prec, z, pr, factor, nw
        cdef double stdevs[400]
        cdef ChildStat* s
        if n <= 0 or current_total <= 0.0:
            return
        if self.p.value_weight_exp == 0:
            for i in range(n):
                s = &self.stat_buf[i]
                if s.w_adj < amount_to_prune:
                    current_total -= s.w_adj
                    s.w_adj = 0.0
                    continue
                nw = s.w_adj - amount_to_subtract
                if nw <= 0:
                    current_total -= s.w_adj
                    s.w_adj = 0.0
                else:
                    current_total -= amount_to_subtract
                    s.w_adj = nw
            if current_total != desired_total:
                factor = desired_total / current_total
                for i in range(n):
                    self.stat_buf[i].w_adj *= factor
            return
        for i in range(n):
            s = &self.stat_buf[i]
            if s.visits == 0:
                continue
            w = s.w_adj
            prec = 1.5 * sqrt(w)
            stdevs[i] = sqrt(0.00000001 + 1.0 / prec)
            simple_sum += s.self_util * w
        simple = simple_sum / current_total
        for i in range(n):
            s = &self.stat_buf[i]
            if s.visits == 0:
                continue
            if s.w_adj < amount_to_prune:
                current_total -= s.w_adj
                s.w_adj = 0.0
                continue
            nw = s.w_adj - amount_to_subtract
            if nw <= 0:
                current_total -= s.w_adj
                s.w_adj = 0.0
            else:
                current_total -= amount_to_subtract
                s.w_adj = nw
            z = (s.self_util - simple) / stdevs[i]
            pr = t3_cdf_table(z) + 0.0001
            s.w_adj *= pow(pr, self.p.value_weight_exp)
            total_new += s.w_adj
        factor = desired_total / total_new
        for i in range(n):
            self.stat_buf[i].w_adj *= factor

    cdef void _recompute(self, Node* node, int num_visits_to_add, bint is_root) noexcept nogil:
        """KataGo's recomputeNodeStats: the node's averages from its children and its own eval."""
        cdef int n_good = 0, i
        cdef size_t k
        cdef Node* c
        cdef int64_t ev
        cdef ChildStat* s
        cdef double orig_total = 0, cur_total, max_w, sub, prn
        cdef double wl_s = 0, nr_s = 0, sm_s = 0, smsq_s = 0, lead_s = 0, u_s = 0, usq_s = 0, wsq_s = 0
        cdef double w_s, desired, scaling
        cdef const float* pol
        cdef NNOut* o
        cdef double u, wt, wl, util_children, bw, bd, ed, ew
        for k in range(node.kids.size()):
            c = node.kids[k]
            ev = node.edge_visits[k]
            if c.visits <= 0 or c.weight_sum <= 0.0 or ev <= 0:
                continue
            s = &self.stat_buf[n_good]
            s.visits = c.visits
            s.weight_sum = c.weight_sum
            s.weight_sq_sum = c.weight_sq_sum
            s.wl = c.wl_avg
            s.nr = c.nr_avg
            s.score = c.score_avg
            s.score_sq = c.score_sq_avg
            s.lead = c.lead_avg
            s.util = c.util_avg
            s.util_sq = c.util_sq_avg
            s.self_util = c.util_avg if node.pla == WHITE else -c.util_avg
            s.w_adj = self._child_weight(c, ev)
            s.loc = node.kid_locs[k]
            orig_total += s.w_adj
            n_good += 1
        cur_total = orig_total
        if self.p.noise_pruning and n_good > 0:
            pol = self._policy(node)
            for i in range(n_good):
                s = &self.stat_buf[i]
                s.prior = max(1e-30, <double>pol[loc_to_pos(&self.root_hist.cur, s.loc)])
            cur_total = self._prune_noise(n_good, cur_total)
        sub = 0.0
        prn = 0.0
        if is_root and self.p.root_noise and not self.p.noise_pruning:
            max_w = 0.0
            for i in range(n_good):
                if self.stat_buf[i].w_adj > max_w:
                    max_w = self.stat_buf[i].w_adj
            sub = min(self.p.cm_subtract, max_w / 64.0)
            prn = min(self.p.cm_prune, max_w / 64.0)
        self._downweight(n_good, cur_total, cur_total, sub, prn)
        w_s = cur_total
        for i in range(n_good):
            s = &self.stat_buf[i]
            desired = s.w_adj
            scaling = desired / s.weight_sum
            wl_s += desired * s.wl
            nr_s += desired * s.nr
            sm_s += desired * s.score
            smsq_s += desired * s.score_sq
            lead_s += desired * s.lead
            u_s += desired * s.util
            usq_s += desired * s.util_sq
            wsq_s += scaling * scaling * s.weight_sq_sum
        o = node.nn.get()
        wl = <double>o.white_win - <double>o.white_loss
        u = self._result_utility(wl, o.no_result) + self._score_utility(o.score_mean, o.score_mean_sq)
        if self.p.bias_factor != 0 and node.bias != NULL:
            if cur_total > 1e-10:
                util_children = u_s / cur_total
                bw = pow(orig_total, self.p.bias_weight_exp)
                bd = (util_children - u) * bw
                node.bias.delta_sum += bd - node.last_bias_delta_sum
                node.bias.weight_sum += bw - node.last_bias_weight
                node.last_bias_delta_sum = bd
                node.last_bias_weight = bw
            ed = node.bias.delta_sum
            ew = node.bias.weight_sum
            if ew > 0.001:
                u += self.p.bias_factor * ed / ew
        wt = self._nn_weight(o)
        wl_s += wl * wt
        nr_s += <double>o.no_result * wt
        sm_s += <double>o.score_mean * wt
        smsq_s += <double>o.score_mean_sq * wt
        lead_s += <double>o.lead * wt
        u_s += u * wt
        usq_s += u * u * wt
        wsq_s += wt * wt
        w_s += wt
        node.wl_avg = wl_s / w_s
        node.nr_avg = nr_s / w_s
        node.score_avg = sm_s / w_s
        node.score_sq_avg = smsq_s / w_s
        node.lead_avg = lead_s / w_s
        node.util_avg = u_s / w_s
        node.util_sq_avg = usq_s / w_s
        node.weight_sq_sum = wsq_s
        node.weight_sum = w_s
        node.visits += num_visits_to_add

    # -------------------------------------------------------------------------------------------
    # Child selection (PUCT)

    cdef double _ending_bonus(self, Node* parent, int loc) noexcept nogil:
        """KataGo's getEndingWhiteScoreBonus: root-only score penalties (in points) for moves into
        settled territory and for passing while the button is up (area) / at all (territory)."""
        cdef NNOut* o
        cdef const BoardState* b = &self.root_hist.cur
        cdef bint area_ish
        cdef double extreme = 0.95, tail = 0.05, extra = 0.0, own
        cdef int pla = self.root_pla
        if parent != self.root or loc == NULL_LOC or not parent.nn:
            return 0.0
        o = parent.nn.get()
        if o.ownership.size() == 0:
            return 0.0
        area_ish = (self.root_hist.scoring_rule == SCORING_AREA
                    or (self.root_hist.scoring_rule == SCORING_TERRITORY and self.root_hist.encore_phase >= 2))
        if area_ish:
            if loc != PASS_LOC and b.ko_loc == NULL_LOC:
                own = o.ownership[loc_to_pos(b, loc)]
                if pla != WHITE:
                    own = -own
                if own <= -extreme:
                    if not would_capture(b, loc, pla):
                        extra -= self.p.ending_bonus * ((-extreme - own) / tail)
                elif own >= extreme:
                    if not adjacent_to(b, loc, 3 - pla) and not non_pass_alive_self_connection(b, loc, pla, self.root_safe_area):
                        extra -= self.p.ending_bonus * ((own - extreme) / tail)
            if loc == PASS_LOC and self.root_hist.has_button and not self.root_hist.button_taken:
                extra -= self.p.ending_bonus * 0.5
        else:
            if loc == PASS_LOC:
                extra -= self.p.ending_bonus * (2.0 / 3.0)
            elif b.ko_loc == NULL_LOC:
                own = o.ownership[loc_to_pos(b, loc)]
                if pla != WHITE:
                    own = -own
                if own <= -extreme:
                    extra -= self.p.ending_bonus * ((-extreme - own) / tail)
                elif own >= extreme:
                    if not adjacent_to(b, loc, 3 - pla) and not non_pass_alive_self_connection(b, loc, pla, self.root_safe_area):
                        extra -= self.p.ending_bonus * ((own - extreme) / tail)
        return extra if pla == WHITE else -extra

    cdef vector[int]* _avoid_of(self, int pla) noexcept nogil:
        cdef vector[int]* v = &self.avoid_black if pla == BLACK else &self.avoid_white
        return v if v.size() > 0 else NULL

    cdef bint _avoided_at_root(self, int loc) noexcept nogil:
        cdef vector[int]* v = self._avoid_of(self.root_pla)
        return v != NULL and deref(v)[loc] > 0

    cdef bint _allowed_root_move(self, int loc) noexcept nogil:
        """KataGo's isAllowedRootMove: rootPruneUselessMoves and root symmetry pruning."""
        cdef size_t last, n = self.root_hist.move_locs.size()
        cdef int o = 3 - self.root_pla
        if self.p.prune_useless and n > 0 and loc != PASS_LOC:
            last = n - 1
            if (last >= 6
                    and self.root_hist.move_locs[last] == PASS_LOC and self.root_hist.move_locs[last - 2] == PASS_LOC
                    and self.root_hist.move_locs[last - 4] == PASS_LOC and self.root_hist.move_locs[last - 6] == PASS_LOC
                    and self.root_hist.move_plas[last] == o and self.root_hist.move_plas[last - 2] == o
                    and self.root_hist.move_plas[last - 4] == o and self.root_hist.move_plas[last - 6] == o
                    and (self.root_safe_area[loc] == o or self.root_safe_area[loc] == self.root_pla)):
                return False
        if self.p.root_sym_pruning and loc != PASS_LOC and self.root_sym_dup[loc]:
            return False
        return True

    cdef double _fpu(self, Node* node, int pla, bint is_root, double mass, double* parent_util,
                     double* parent_wpv, double* stdev_factor) noexcept nogil:
        """KataGo's getFpuValueForChildrenAssumeVisited (also the parent-utility-stdev factor)."""
        cdef double visits = node.visits, wsum = node.weight_sum, u = node.util_avg, usq = node.util_sq_avg
        cdef double var_prior = self.p.stdev_prior * self.p.stdev_prior
        cdef double pw = self.p.stdev_prior_weight, sd, u2, avg_w, pu, red, loss_prop, radius, fpu, loss
        parent_wpv[0] = wsum / visits
        parent_util[0] = u
        if visits <= 0 or wsum <= 1:
            sd = self.p.stdev_prior
        else:
            u2 = u * u
            if usq < u2:
                usq = u2
            sd = sqrt(max(0.0, ((u2 + var_prior) * pw + usq * wsum) / (pw + wsum - 1.0) - u2))
        stdev_factor[0] = 1.0 + self.p.stdev_scale * (sd / self.p.stdev_prior - 1.0)
        pu = u
        if self.p.fpu_by_visited:
            avg_w = min(1.0, pow(mass, self.p.fpu_pow))
            pu = avg_w * u + (1.0 - avg_w) * self._utility_from_nn(node.nn.get())
        elif self.p.fpu_parent_weight > 0.0:
            pu = self.p.fpu_parent_weight * self._utility_from_nn(node.nn.get()) + (1.0 - self.p.fpu_parent_weight) * u
        red = (self.p.root_fpu_red if is_root else self.p.fpu_red) * sqrt(mass)
        loss_prop = self.p.root_fpu_loss if is_root else self.p.fpu_loss
        radius = self._utility_radius()
        fpu = pu - red if pla == WHITE else pu + red
        loss = -radius if pla == WHITE else radius
        return fpu + (loss - fpu) * loss_prop

    cdef inline double _explore_scaling(self, double total_w, double stdev_factor) noexcept nogil:
        return ((self.p.cpuct + self.p.cpuct_log * log((total_w + self.p.cpuct_base) / self.p.cpuct_base))
                * sqrt(total_w + TOTALCHILDWEIGHT_PUCT_OFFSET) * stdev_factor)

    cdef inline double _explore_value(self, double scaling, double p, double cw, double cu,
                                      int pla) noexcept nogil:
        if p < 0:
            return POLICY_ILLEGAL_SELECTION_VALUE
        return scaling * p / (1.0 + cw) + (cu if pla == WHITE else -cu)

    cdef void _wide_root_noise(self, double* cu, float* p, int pla) noexcept nogil:
        cdef double bonus
        p[0] = <float>pow(p[0], 1.0 / (4.0 * self.p.wide_root_noise + 1.0))
        if rng_double(&self.rng) < 0.5:
            bonus = self.p.wide_root_noise * fabs(rng_gauss(&self.rng))
            if pla == WHITE:
                cu[0] += bonus
            else:
                cu[0] -= bonus

    cdef double _child_value(self, Node* parent, const float* pol, Node* child, int loc,
                             double scaling, double total_w, int64_t ev, double fpu,
                             double parent_wpv, bint during_search, double max_w,
                             bint count_edge) noexcept nogil:
        """KataGo's getExploreSelectionValueOfChild."""
        cdef float p = pol[loc_to_pos(&self.root_hist.cur, loc)]
        cdef int vl = child.virtual_losses
        cdef double cw, cu, bonus, vlw, vlu, frac, req_w, avg_vpw, est
        if count_edge:
            cw = self._child_weight(child, ev)
        else:
            cw = child.weight_sum
        if child.visits <= 0 or cw <= 0.0:
            cu = fpu
        else:
            cu = child.util_avg
            bonus = self._ending_bonus(parent, loc)
            if bonus != 0:
                cu += self._score_utility_diff(child.score_avg, child.score_sq_avg, bonus)
        if vl > 0:
            vlw = vl * self.p.num_vl
            vlu = -self._utility_radius() if parent.pla == WHITE else self._utility_radius()
            frac = vlw / (vlw + max(0.25, cw))
            cu = cu + (vlu - cu) * frac
            cw += vlw
        if during_search and parent == self.root and count_edge:
            if self.p.futile_threshold > 0:
                req_w = self.p.futile_threshold * max_w
                avg_vpw = (ev + 1.0) / (cw + parent_wpv)
                est = req_w * avg_vpw
                if child.visits + self.upper_bound_visits_left < est:
                    return FUTILE_VISITS_PRUNE_VALUE
            if self.p.root_desired_coeff > 0.0:
                if p > 0 and cw < sqrt(p * total_w * self.p.root_desired_coeff):
                    return 1e20
            if self.p.wide_root_noise > 0.0 and p >= 0:
                self._wide_root_noise(&cu, &p, parent.pla)
        return self._explore_value(scaling, p, cw, cu, parent.pla)

    cdef double _new_child_value(self, Node* parent, double scaling, float p, double fpu,
                                 double parent_wpv, double max_w, bint count_edge) noexcept nogil:
        cdef double cu = fpu, req_w, est
        if parent == self.root and count_edge:
            if self.p.futile_threshold > 0:
                req_w = self.p.futile_threshold * max_w
                est = req_w / parent_wpv
                if self.upper_bound_visits_left < est:
                    return FUTILE_VISITS_PRUNE_VALUE
            if self.p.wide_root_noise > 0.0:
                self._wide_root_noise(&cu, &p, parent.pla)
        return self._explore_value(scaling, p, 0.0, cu, parent.pla)

    cdef void _select(self, Node* node, bint is_root, int* best_idx, int* best_loc,
                      bint* count_edge) noexcept nogil:
        """KataGo's selectBestChildToDescend (no human-SL, hint, avoid or anti-mirror)."""
        cdef const float* pol = self._policy(node)
        cdef const BoardState* b = &self.root_hist.cur
        cdef double mass = 0, max_w = 0, total_w = 0, cw, fpu, pu, pwpv, sdf, scaling, v
        cdef double max_v = POLICY_ILLEGAL_SELECTION_VALUE
        cdef int64_t total_ev = 0
        cdef size_t i, nk = node.kids.size()
        cdef int pos, loc, area = b.x_size * b.y_size, best_new_loc = NULL_LOC
        cdef float p, best_new_p = -1.0
        cdef uint8_t has_kid[MAX_ARR]
        cdef bint has_pass, has_non_pass
        cdef vector[int]* avoid = self._avoid_of(node.pla)
        cdef int depth = <int>(self.work.move_locs.size() - self.root_hist.move_locs.size())
        for i in range(nk):
            p = pol[loc_to_pos(b, node.kid_locs[i])]
            if p < 0:
                continue
            mass += p
            cw = self._child_weight(node.kids[i], node.edge_visits[i])
            total_w += cw
            if cw > max_w:
                max_w = cw
            total_ev += node.edge_visits[i]
        count_edge[0] = True
        fpu = self._fpu(node, node.pla, is_root, mass, &pu, &pwpv, &sdf)
        scaling = self._explore_scaling(total_w, sdf)
        best_idx[0] = -1
        best_loc[0] = NULL_LOC
        memset(has_kid, 0, area + 1)
        for i in range(nk):
            loc = node.kid_locs[i]
            v = self._child_value(node, pol, node.kids[i], loc, scaling, total_w,
                                  node.edge_visits[i], fpu, pwpv, True, max_w, True)
            if v > max_v:
                max_v = v
                best_idx[0] = <int>i
                best_loc[0] = loc
            has_kid[loc_to_pos(b, loc)] = 1
        for pos in range(area + 1):
            if has_kid[pos]:
                continue
            p = pol[pos]
            if p < 0:
                continue
            loc = pos_to_loc(b, pos)
            if is_root and not self._allowed_root_move(loc):
                continue
            if avoid != NULL and depth < deref(avoid)[loc]:
                continue
            if p > best_new_p:
                best_new_p = p
                best_new_loc = loc
        if best_new_loc != NULL_LOC:
            v = self._new_child_value(node, scaling, best_new_p, fpu, pwpv, max_w, True)
            if v > max_v:
                max_v = v
                best_idx[0] = <int>nk
                best_loc[0] = best_new_loc
        if (total_ev >= 2 and self.p.more_passing_hacks and avoid == NULL
                and self.work.c_pass_would_end_phase(node.pla)):
            has_pass = False
            has_non_pass = False
            for i in range(nk):
                if node.kid_locs[i] == PASS_LOC:
                    has_pass = True
                else:
                    has_non_pass = True
            if not has_pass and best_loc[0] != PASS_LOC and best_loc[0] != NULL_LOC:
                best_idx[0] = <int>nk
                best_loc[0] = PASS_LOC
                count_edge[0] = False
            elif (not has_non_pass and best_loc[0] == PASS_LOC and best_new_loc != PASS_LOC
                  and best_new_loc != NULL_LOC):
                best_idx[0] = <int>nk
                best_loc[0] = best_new_loc
                count_edge[0] = False

    # -------------------------------------------------------------------------------------------
    # Playouts

    cdef Node* _alloc_or_find(self, int pla, int loc, bint fnt, uint64_t gh) noexcept nogil:
        """KataGo's allocateOrFindNode: share the node of a transposition, else make one (with
        its subtree-value-bias entry)."""
        cdef uint64_t key
        cdef unordered_map[uint64_t, Node*].iterator it
        cdef Node* child
        cdef uint64_t bkey
        cdef BiasEntry* e
        cdef size_t nm
        cdef unordered_map[uint64_t, BiasEntry*].iterator it2
        if self.p.graph_search:
            key = gh ^ (Z_FORCE_NON_TERMINAL if fnt else 0)
            while True:
                it = self.table.find(key)
                if it == self.table.end():
                    break
                if deref(it).second.pla != pla:
                    key = rng_next(&self.rng)
                    continue
                return deref(it).second
        else:
            key = rng_next(&self.rng)
        child = new Node()
        child.pla = pla
        child.force_non_terminal = fnt
        child.state = ST_UNEVALUATED
        child.graph_hash = gh
        child.table_key = key
        child.in_table = self.p.graph_search
        if self.p.bias_factor != 0:
            nm = self.work.move_locs.size()
            if nm >= 2 and loc != PASS_LOC:
                bkey = self._bias_key(3 - pla, self.work.move_locs[nm - 2], loc, self.work.c_recent_board(1))
                it2 = self.bias_table.find(bkey)
                if it2 == self.bias_table.end():
                    e = new BiasEntry()
                    e.delta_sum = 0.0
                    e.weight_sum = 0.0
                    e.refs = 0
                    self.bias_table[bkey] = e
                else:
                    e = deref(it2).second
                e.refs += 1
                child.bias = e
        self.nodes.push_back(child)
        if self.p.graph_search:
            self.table[key] = child
        return child

    cdef bint _catch_up(self, Node* node, int idx) noexcept nogil:
        cdef int64_t cv = node.kids[idx].visits, ev = node.edge_visits[idx]
        if self.p.catch_up_leak > 0.0 and ev < cv and rng_double(&self.rng) < self.p.catch_up_leak:
            return False
        if ev >= cv:
            return False
        node.edge_visits[idx] = ev + 1
        return True

    cdef int _finish(self, bint ok) noexcept nogil:
        """Back up self.steps from the leaf to the root (KataGo's unwinding of playoutDescend)."""
        cdef int k
        cdef PathStep st
        for k in range(<int>self.steps.size() - 1, -1, -1):
            st = self.steps[k]
            ok = ok and st.count_edge
            if ok:
                st.node.edge_visits[st.idx] += 1
                self._recompute(st.node, 1, st.node == self.root)
            st.node.kids[st.idx].virtual_losses -= 1
        if ok:
            self.num_playouts += 1
        self.steps.clear()
        return PO_DONE

    cdef void _undo_steps(self) noexcept nogil:
        cdef size_t k
        for k in range(self.steps.size()):
            self.steps[k].node.kids[self.steps[k].idx].virtual_losses -= 1
        self.steps.clear()

    cdef inline bint _on_path(self, Node* n) noexcept nogil:
        cdef size_t i
        for i in range(self.graph_path.size()):
            if self.graph_path[i] == n:
                return True
        return False

    cdef int _playout(self, BufPtrs* bp) noexcept nogil:
        """One descent from the root (KataGo's runSinglePlayout / playoutDescend, iteratively)."""
        cdef Node* node = self.root
        cdef Node* child
        cdef bint is_root = True, count_edge, can_force, fnt
        cdef int pla = self.root_pla, depth = 0, idx, loc, r
        cdef size_t nk
        cdef uint64_t gh = self.root_graph_hash, gh_in
        cdef PathStep st
        cdef size_t k
        self.work.c_copy_from(self.root_hist)
        # KataGo plays search moves with preventEncore off whatever the game (GTP) uses.
        self.work.prevent_encore = False
        self.graph_path.clear()
        self.steps.clear()
        while True:
            if self.work.finished and not node.force_non_terminal:
                self._add_terminal_leaf(node, self.work)
                return self._finish(True)
            if node.state == ST_UNEVALUATED:
                r = self._request_eval(node, is_root, depth, PK_LEAF, bp)
                if r == PO_DONE:
                    return self._finish(True)
                if r == PO_PENDING:
                    node.state = ST_EVALUATING
                    self.pending.back().path_start = <int>self.path_buf.size()
                    self.pending.back().path_len = <int>self.steps.size()
                    for k in range(self.steps.size()):
                        self.path_buf.push_back(self.steps[k])
                    self.steps.clear()
                    return PO_PENDING
                self._undo_steps()
                return PO_NOROOM
            if node.state == ST_EVALUATING:
                self._undo_steps()
                return PO_ABORT
            self._select(node, is_root, &idx, &loc, &count_edge)
            if idx < 0 or not self.work.c_is_legal(loc, pla):
                self._add_nn_leaf(node, False)
                return self._finish(True)
            nk = node.kids.size()
            if idx >= <int>nk:
                can_force = loc == PASS_LOC and self.work.c_should_suppress_end_game_from_friendly_pass(pla)
                gh_in = gh
                self.work.c_play(loc, pla)
                pla = 3 - pla
                if self.p.graph_search:
                    gh = self._graph_hash(gh, self.work, pla)
                fnt = loc == PASS_LOC and self.work.finished and (
                    (self.p.conservative_pass and is_root) or can_force)
                child = self._alloc_or_find(pla, loc, fnt, gh)
                node.kids.push_back(child)
                node.kid_locs.push_back(loc)
                node.edge_visits.push_back(0)
                node.gh_in.push_back(gh_in)
                node.gh_out.push_back(gh)
                idx = <int>nk
                child.virtual_losses += 1
                if count_edge and self._catch_up(node, idx):
                    self._recompute(node, 1, is_root)
                    child.virtual_losses -= 1
                    return self._finish(True)
            else:
                child = node.kids[idx]
                child.virtual_losses += 1
                if count_edge and self._catch_up(node, idx):
                    self._recompute(node, 1, is_root)
                    child.virtual_losses -= 1
                    return self._finish(True)
                self.work.c_play(loc, pla)
                pla = 3 - pla
                if self.p.graph_search:
                    if node.gh_in[idx] == gh:
                        gh = node.gh_out[idx]
                    else:
                        gh_in = gh
                        gh = self._graph_hash(gh, self.work, pla)
                        node.gh_in[idx] = gh_in
                        node.gh_out[idx] = gh
            if self._on_path(child):
                if count_edge:
                    node.edge_visits[idx] += 1
                    self._recompute(node, 1, is_root)
                child.virtual_losses -= 1
                return self._finish(count_edge)
            self.graph_path.push_back(child)
            st.node = node
            st.idx = idx
            st.count_edge = count_edge
            self.steps.push_back(st)
            node = child
            is_root = False
            depth += 1

    # -------------------------------------------------------------------------------------------
    # Evaluations

    cdef void _legal_mask(self, History h, int pla, uint8_t* legal) noexcept nogil:
        cdef const BoardState* b = &h.cur
        cdef int x, y
        for y in range(b.y_size):
            for x in range(b.x_size):
                legal[y * b.x_size + x] = h.c_is_legal(loc_of(b, x, y), pla)
        legal[b.x_size * b.y_size] = 1

    cdef int _request_eval(self, Node* node, bint is_root, int depth, int kind, BufPtrs* bp) noexcept nogil:
        """Evaluate self.work at `node`: from the NN cache at once, or parked in the batch."""
        cdef int pla = node.pla, max_hist, nsym, row, i, j, t, area
        cdef float optimism = <float>(self.p.root_policy_optimism if is_root else self.p.policy_optimism)
        cdef bint want_own = is_root or self.always_ownership
        cdef uint64_t key
        cdef shared_ptr[NNOut] out
        cdef NNParams prm
        cdef Pending pd
        cdef int syms[8]
        cdef size_t stride = NUM_SPATIAL_V7 * bp.pos_x * bp.pos_y
        if self.p.ignore_all_history:
            max_hist = 0
        elif self.p.ignore_pre_root:
            max_hist = 0 if is_root else depth
        else:
            max_hist = 1000
        nsym = self.p.root_num_syms if (is_root and kind != PK_CENTER) else 1
        key = self._nn_hash(self.work, pla, is_root, max_hist, optimism)
        if nsym == 1:
            out = cache_get(self.cache.core, key, want_own)
            if out:
                self._install(node, out, kind)
                return PO_DONE
        if bp.n[0] + nsym > bp.capacity:
            return PO_NOROOM
        nn_params_default(&prm)
        prm.draw_equivalent_wins_for_white = self.p.draw_equiv
        prm.playout_doubling_advantage = self._pda_for(pla)
        prm.conservative_pass = self.p.conservative_pass and is_root
        prm.enable_passing_hacks = self.p.passing_hacks
        prm.max_history = max_hist
        prm.pass_alive_under_suicide_rules = self.pass_alive_suicide
        row = bp.n[0]
        fill_row_v7(self.work, pla, &prm, bp.sp + row * stride, bp.gl + row * NUM_GLOBAL_V7,
                    bp.pos_x, bp.pos_y)
        if nsym > 1:
            for i in range(8):
                syms[i] = i
            for i in range(nsym):
                j = i + rng_int(&self.rng, 8 - i)
                t = syms[i]
                syms[i] = syms[j]
                syms[j] = t
            for i in range(nsym):
                bp.sym[row + i] = syms[i]
                if i > 0:
                    memcpy(bp.sp + (row + i) * stride, bp.sp + row * stride, stride * sizeof(float))
                    memcpy(bp.gl + (row + i) * NUM_GLOBAL_V7, bp.gl + row * NUM_GLOBAL_V7,
                           NUM_GLOBAL_V7 * sizeof(float))
        else:
            bp.sym[row] = rng_int(&self.rng, 8) if self.p.nn_randomize else 0
        area = self.work.cur.x_size * self.work.cur.y_size
        pd.legal_off = <int>self.legal_buf.size()
        self.legal_buf.resize(self.legal_buf.size() + area + 1)
        self._legal_mask(self.work, pla, &self.legal_buf[pd.legal_off])
        pd.node = node
        pd.kind = kind
        pd.row = row
        pd.nrows = nsym
        pd.path_start = 0
        pd.path_len = 0
        pd.pla = pla
        pd.x_size = self.work.cur.x_size
        pd.y_size = self.work.cur.y_size
        pd.nn_hash = key
        pd.want_own = want_own
        pd.store_cache = nsym == 1
        pd.optimism = optimism
        self.pending.push_back(pd)
        if nsym == 1 and want_own:
            self.pending_merge.push_back(cache_peek(self.cache.core, key))
        else:
            self.pending_merge.push_back(shared_ptr[NNOut]())
        bp.n[0] = row + nsym
        return PO_PENDING

    cdef void _install(self, Node* node, shared_ptr[NNOut] out, int kind) noexcept nogil:
        if kind == PK_CENTER:
            self._set_center(out.get().score_mean)
            return
        if node == self.root:
            out = self._maybe_noise(out)
            node.age = self.search_age
        node.nn = out
        if kind == PK_LEAF:
            node.state = ST_EXPANDED
            self._add_nn_leaf(node, True)

    cdef void _set_center(self, double expected) noexcept nogil:
        cdef double cap = sqrt(<double>(self.root_hist.cur.x_size * self.root_hist.cur.y_size)) * self.p.center_scale
        self.score_center = expected * (1.0 - self.p.center_zero_weight)
        if self.score_center > expected + cap:
            self.score_center = expected + cap
        if self.score_center < expected - cap:
            self.score_center = expected - cap

    cdef shared_ptr[NNOut] _maybe_noise(self, shared_ptr[NNOut] src) noexcept nogil:
        """KataGo's maybeAddPolicyNoiseAndTemp: a root copy with tempered / noised policy."""
        cdef shared_ptr[NNOut] out
        cdef NNOut* o
        cdef int n, i, legal_count = 0
        cdef double temp, maxv = 0.0, logmax, inv_t, total = 0.0, log_sum = 0.0, log_mean, prop_sum = 0.0
        cdef double r_sum = 0.0, uniform, pr
        cdef float pf
        cdef vector[double] alpha
        if not self.p.root_noise and self.p.root_temp == 1.0 and self.p.root_temp_early == 1.0:
            return src
        if src.get().noised.size() > 0:
            return src
        out = make_shared[NNOut]()
        o = out.get()
        o[0] = src.get()[0]
        o.noised = o.policy
        n = <int>o.noised.size()
        if self.p.root_temp != 1.0 or self.p.root_temp_early != 1.0:
            temp = self._interpolate_early(self.p.cm_halflife, self.p.root_temp_early, self.p.root_temp)
            for i in range(n):
                if o.noised[i] > maxv:
                    maxv = o.noised[i]
            logmax = log(maxv)
            inv_t = 1.0 / temp
            for i in range(n):
                if o.noised[i] > 0:
                    pf = <float>exp((log(<double>o.noised[i]) - logmax) * inv_t)
                    o.noised[i] = pf
                    total += pf
            for i in range(n):
                if o.noised[i] >= 0:
                    o.noised[i] = <float>(o.noised[i] / total)
        if self.p.root_noise:
            alpha.resize(n)
            for i in range(n):
                if o.noised[i] >= 0:
                    legal_count += 1
            for i in range(n):
                if o.noised[i] >= 0:
                    alpha[i] = log(min(0.01, <double>o.noised[i]) + 1e-20)
                    log_sum += alpha[i]
            log_mean = log_sum / legal_count
            for i in range(n):
                if o.noised[i] >= 0:
                    alpha[i] = max(0.0, alpha[i] - log_mean)
                    prop_sum += alpha[i]
            uniform = 1.0 / legal_count
            for i in range(n):
                if o.noised[i] >= 0:
                    if prop_sum <= 0.0:
                        alpha[i] = uniform
                    else:
                        alpha[i] = 0.5 * (alpha[i] / prop_sum + uniform)
            for i in range(n):
                if o.noised[i] >= 0:
                    alpha[i] = rng_gamma(&self.rng, alpha[i] * self.p.dir_conc)
                    r_sum += alpha[i]
                else:
                    alpha[i] = 0.0
            for i in range(n):
                if o.noised[i] >= 0:
                    pr = alpha[i] / r_sum
                    o.noised[i] = <float>(pr * self.p.dir_weight + o.noised[i] * (1.0 - self.p.dir_weight))
        return out

    cdef void _post_row(self, NNOut* o, const float* pol, int nchan, int psize, const float* val,
                        const float* sc, int nsc, const float* own, int pos_x,
                        const uint8_t* legal, int xs, int ys, int pla, float optimism,
                        bint want_own) noexcept nogil:
        """One row of raw heads to KataGo's NNOutput (nnoutput.py's formulas, KataGo's float32
        policy arithmetic: masked softmax summed in order, pass capped under passing hacks)."""
        cdef int area = xs * ys, i, idx, x, y
        cdef float scale = <float>(1.0 / self.p.nn_temp), maxp = -1e25, v, l0, l1, total = 0.0, e
        cdef bint mix = self.has_optimistic and nchan >= 2 and optimism != 0
        cdef double win, loss, nores, top, tot, misc[6], sm, sd, smsq, lead, vt, stv, sts, sign
        cdef bint nr_possible = self.root_hist.ko_rule == KO_SIMPLE or self.root_hist.scoring_rule == SCORING_TERRITORY
        o.x_size = xs
        o.y_size = ys
        o.policy.resize(area + 1)
        for i in range(area + 1):
            if legal[i]:
                idx = psize - 1 if i == area else (i // xs) * pos_x + (i % xs)
                l0 = pol[idx]
                if mix:
                    l1 = pol[psize + idx]
                    l0 = l0 + (l1 - l0) * optimism
                v = l0 * scale
            else:
                v = -1e30
            o.policy[i] = v
            if v > maxp:
                maxp = v
        if self.p.passing_hacks:
            for i in range(area):
                e = expf(o.policy[i] - maxp)
                o.policy[i] = e
                total += e
            e = expf(o.policy[area] - maxp)
            if total * <float>19.0 < e:
                e = total * <float>19.0
            if e < <float>1e-20:
                e = <float>1e-20
            o.policy[area] = e
            total += e
        else:
            for i in range(area + 1):
                e = expf(o.policy[i] - maxp)
                o.policy[i] = e
                total += e
        if total <= 0.0:
            e = 0
            for i in range(area + 1):
                if legal[i]:
                    e += 1
            for i in range(area + 1):
                o.policy[i] = (<float>1.0 / e) if legal[i] else <float>-1.0
        else:
            for i in range(area + 1):
                o.policy[i] = (o.policy[i] / total) if legal[i] else <float>-1.0
        # Values (nnoutput.value_outputs).
        win = val[0]
        loss = val[1]
        nores = val[2]
        if not nr_possible:
            nores -= 100000.0
        top = max(win, max(loss, nores))
        win = exp(win - top)
        loss = exp(loss - top)
        nores = exp(nores - top)
        if not nr_possible:
            nores = 0.0
        tot = win + loss + nores
        win /= tot
        loss /= tot
        nores /= tot
        for i in range(6):
            misc[i] = sc[i] if i < nsc else 0.0
        sm = misc[0] * self.score_mean_mult
        sd = _softplus(misc[1]) * self.score_stdev_mult
        smsq = sm * sm + sd * sd
        lead = misc[2] * self.lead_mult
        vt = _softplus(misc[3]) * self.var_time_mult
        sm *= 1.0 - nores
        smsq *= 1.0 - nores
        lead *= 1.0 - nores
        if self.model_version >= 14:
            stv = sqrt(_softplus(misc[4] * 0.5) ** 2 * self.st_value_mult)
            sts = sqrt(_softplus(misc[5] * 0.5) ** 2 * self.st_score_mult)
        elif self.model_version >= 10:
            stv = sqrt(_softplus(misc[4]) * self.st_value_mult)
            sts = sqrt(_softplus(misc[5]) * self.st_score_mult)
        else:
            stv = _softplus(misc[4])
            sts = _softplus(misc[5]) * 10.0
        if self.model_version < 9:
            vt = -1.0
            stv = -1.0
            sts = -1.0
        sign = 1.0 if pla == WHITE else -1.0
        o.white_win = <float>(win if pla == WHITE else loss)
        o.white_loss = <float>(loss if pla == WHITE else win)
        o.no_result = <float>nores
        o.score_mean = <float>(sign * sm)
        o.score_mean_sq = <float>smsq
        o.lead = <float>(sign * lead)
        o.var_time_left = <float>vt
        o.st_wl_error = <float>stv
        o.st_score_error = <float>sts
        if want_own:
            o.ownership.resize(area)
            for y in range(ys):
                for x in range(xs):
                    o.ownership[y * xs + x] = <float>(sign * tanh(<double>own[y * pos_x + x]))

    cdef void _apply(self, const float* pol, int nchan, int psize, const float* val,
                     const float* sc, int nsc, const float* own, int pos_x, int pos_y) noexcept nogil:
        cdef size_t k, j
        cdef int r, i, n
        cdef Pending pd
        cdef shared_ptr[NNOut] out
        cdef shared_ptr[NNOut] part
        cdef NNOut* o
        cdef NNOut* q
        cdef int plen = nchan * psize
        for k in range(self.pending.size()):
            pd = self.pending[k]
            out = make_shared[NNOut]()
            o = out.get()
            self._post_row(o, pol + pd.row * plen, nchan, psize, val + pd.row * 3, sc + pd.row * nsc,
                           nsc, own + pd.row * pos_x * pos_y, pos_x, &self.legal_buf[pd.legal_off],
                           pd.x_size, pd.y_size, pd.pla, pd.optimism, pd.want_own)
            if pd.nrows > 1:
                # KataGo's NNOutput(vector of symmetries): the plain average.
                part = make_shared[NNOut]()
                q = part.get()
                n = pd.nrows
                for r in range(1, n):
                    self._post_row(q, pol + (pd.row + r) * plen, nchan, psize, val + (pd.row + r) * 3,
                                   sc + (pd.row + r) * nsc, nsc, own + (pd.row + r) * pos_x * pos_y,
                                   pos_x, &self.legal_buf[pd.legal_off], pd.x_size, pd.y_size,
                                   pd.pla, pd.optimism, pd.want_own)
                    o.white_win += q.white_win
                    o.white_loss += q.white_loss
                    o.no_result += q.no_result
                    o.score_mean += q.score_mean
                    o.score_mean_sq += q.score_mean_sq
                    o.lead += q.lead
                    o.var_time_left += q.var_time_left
                    o.st_wl_error += q.st_wl_error
                    o.st_score_error += q.st_score_error
                    for j in range(o.policy.size()):
                        o.policy[j] += q.policy[j]
                    for j in range(o.ownership.size()):
                        o.ownership[j] += q.ownership[j]
                o.white_win /= n
                o.white_loss /= n
                o.no_result /= n
                o.score_mean /= n
                o.score_mean_sq /= n
                o.lead /= n
                o.var_time_left /= n
                o.st_wl_error /= n
                o.st_score_error /= n
                for j in range(o.policy.size()):
                    o.policy[j] = o.policy[j] / n if o.policy[j] >= 0 else <float>-1.0
                for j in range(o.ownership.size()):
                    o.ownership[j] /= n
            if self.pending_merge[k]:
                part = self.pending_merge[k]
                q = part.get()
                o.white_win = q.white_win
                o.white_loss = q.white_loss
                o.no_result = q.no_result
                o.score_mean = q.score_mean
                o.score_mean_sq = q.score_mean_sq
                o.lead = q.lead
                o.var_time_left = q.var_time_left
                o.st_wl_error = q.st_wl_error
                o.st_score_error = q.st_score_error
                o.policy = q.policy
            if pd.store_cache:
                cache_put(self.cache.core, pd.nn_hash, out)
            if pd.kind == PK_LEAF:
                self._install(pd.node, out, PK_LEAF)
                self.steps.clear()
                for i in range(pd.path_len):
                    self.steps.push_back(self.path_buf[pd.path_start + i])
                self._finish(True)
            else:
                self._install(pd.node, out, pd.kind)
                if pd.kind == PK_CENTER or pd.kind == PK_ROOT_REEVAL:
                    self.phase = PHASE_RUN
        self.pending.clear()
        self.pending_merge.clear()
        self.path_buf.clear()
        self.legal_buf.clear()

    # -------------------------------------------------------------------------------------------
    # Search control

    cdef void _mark_sym_dup(self) noexcept nogil:
        """KataGo's SymmetryHelpers::markDuplicateMoveLocs for the root board."""
        cdef const BoardState* b = &self.root_hist.cur
        cdef int xs = b.x_size, ys = b.y_size, sym, x, y, sx, sy, l, sl, ub, k
        cdef bint ok
        memset(self.root_sym_dup, 0, MAX_ARR)
        self.root_symmetries.clear()
        self.root_symmetries.push_back(0)
        if b.ko_loc != NULL_LOC:
            return
        self.root_hist.c_superko_banned(self.scratch_banned)
        for y in range(ys):
            for x in range(xs):
                if self.scratch_banned[loc_of(b, x, y)]:
                    return
        ub = 8 if xs == ys else 4
        for sym in range(1, ub):
            ok = True
            for y in range(ys):
                for x in range(xs):
                    l = loc_of(b, x, y)
                    sym_xy(x, y, xs, ys, sym, &sx, &sy)
                    sl = loc_of(b, sx, sy)
                    if b.color[l] != b.color[sl]:
                        ok = False
                    elif self.root_hist.encore_phase > 0 and self.root_hist.ko_recap_blocked[l] != self.root_hist.ko_recap_blocked[sl]:
                        ok = False
                    elif self.root_hist.encore_phase == 2 and self.root_hist.second_encore_start[l] != self.root_hist.second_encore_start[sl]:
                        ok = False
                    if not ok:
                        break
                if not ok:
                    break
            if ok:
                self.root_symmetries.push_back(sym)
        if self.root_pla == BLACK:
            for x in range(xs - 1, -1, -1):
                for y in range(ys):
                    self._mark_dup_at(b, x, y)
        else:
            for x in range(xs):
                for y in range(ys - 1, -1, -1):
                    self._mark_dup_at(b, x, y)

    cdef void _mark_dup_at(self, const BoardState* b, int x, int y) noexcept nogil:
        cdef size_t k
        cdef int sx, sy, l = loc_of(b, x, y), sl
        if self._avoided_at_root(l):
            return
        for k in range(self.root_symmetries.size()):
            if self.root_symmetries[k] == 0:
                continue
            sym_xy(x, y, b.x_size, b.y_size, self.root_symmetries[k], &sx, &sy)
            sl = loc_of(b, sx, sy)
            if not self.root_sym_dup[l] and l != sl:
                self.root_sym_dup[sl] = 1

    cdef void _recompute_recursive(self) noexcept nogil:
        """KataGo's recursivelyRecomputeStats: post-order over the graph, each node once, so
        every utility follows the new score centre."""
        cdef vector[Node*] stack
        cdef vector[size_t] next_kid
        cdef Node* n
        cdef Node* c
        cdef size_t i
        for i in range(self.nodes.size()):
            self.nodes[i].mark = False
        self.root.mark = True
        stack.push_back(self.root)
        next_kid.push_back(0)
        while stack.size() > 0:
            n = stack.back()
            i = next_kid.back()
            if i < n.kids.size():
                next_kid[next_kid.size() - 1] = i + 1
                c = n.kids[i]
                if not c.mark:
                    c.mark = True
                    stack.push_back(c)
                    next_kid.push_back(0)
                continue
            stack.pop_back()
            next_kid.pop_back()
            if n.kids.size() == 0:
                if n.weight_sum > 0.0:
                    n.util_avg = self._result_utility(n.wl_avg, n.nr_avg) + self._score_utility(n.score_avg, n.score_sq_avg)
                    n.util_sq_avg = n.util_avg * n.util_avg
            else:
                self._recompute(n, 0, n == self.root)

    def begin(self, max_visits=None, max_playouts=None):
        """KataGo's beginSearch plus the budget of runWholeSearch. Budgets default to the params'
        maxVisits/maxPlayouts (visits include the reused tree's, playouts do not)."""
        cdef Node* n
        cdef size_t i, good
        cdef bint any_filtered = False, need_center = True
        cdef int64_t new_visits
        cdef const BoardState* b
        cdef double factor = 1.0
        cdef size_t nm
        if self.root_hist is None:
            raise ValueError("no position: call set_root first")
        b = &self.root_hist.cur
        self.pending.clear()
        self.pending_merge.clear()
        self.path_buf.clear()
        self.legal_buf.clear()
        self.stop_flag = False
        self._compute_rules_hash()
        calculate_area(b, self.root_safe_area, False, False, False,
                       self.root_hist.multi_suicide or self.pass_alive_suicide)
        if self.root != NULL and self.root.visits > 0 and self.root.weight_sum > 0:
            self._set_center(self.root.score_avg)
            need_center = False
        if self.p.root_sym_pruning:
            self._mark_sym_dup()
        else:
            memset(self.root_sym_dup, 0, MAX_ARR)
            self.root_symmetries.clear()
            self.root_symmetries.push_back(0)
        self.root_graph_hash = self._root_graph_hash_from_scratch() if self.p.graph_search else 0
        if self.root == NULL:
            n = new Node()
            n.pla = self.root_pla
            n.force_non_terminal = self.root_hist.finished
            n.state = ST_UNEVALUATED
            n.graph_hash = self.root_graph_hash
            self.nodes.push_back(n)
            self.root = n
        else:
            n = self.root
            good = 0
            for i in range(n.kids.size()):
                if self.root_hist.c_is_legal(n.kid_locs[i], self.root_pla) and self._allowed_root_move(n.kid_locs[i]):
                    n.kids[good] = n.kids[i]
                    n.kid_locs[good] = n.kid_locs[i]
                    n.edge_visits[good] = n.edge_visits[i]
                    n.gh_in[good] = n.gh_in[i]
                    n.gh_out[good] = n.gh_out[i]
                    good += 1
                else:
                    any_filtered = True
            if any_filtered:
                n.kids.resize(good)
                n.kid_locs.resize(good)
                n.edge_visits.resize(good)
                n.gh_in.resize(good)
                n.gh_out.resize(good)
                new_visits = 1
                for i in range(good):
                    new_visits += n.edge_visits[i]
                n.visits = new_visits
                if n.nn:
                    self._recompute(n, 0, True)
            if n.nn and (self.p.dynamic_factor != 0 or self.p.bias_factor != 0):
                self._recompute_recursive()
            if any_filtered:
                self._sweep()
        self._clear_unused_bias()
        self.search_age += 1
        self.phase = PHASE_CENTER if need_center else PHASE_RUN
        if not need_center and self.root.state == ST_EXPANDED and self.root.age != self.search_age:
            if (self.root.nn.get().ownership.size() == 0
                    or (self.p.conservative_pass and self.root_hist.c_pass_would_end_game(self.root_pla))
                    or self.p.root_num_syms > 1
                    or self.p.root_policy_optimism != self.p.policy_optimism
                    or (self.p.ignore_pre_root and not self.p.ignore_all_history)):
                self.phase = PHASE_REEVAL
            else:
                self.root.nn = self._maybe_noise(self.root.nn)
                self.root.age = self.search_age
        self.num_playouts = 0
        self.non_playout_visits = self.root.visits
        self.max_visits = self.p.max_visits if max_visits is None else min(int(max_visits), 1 << 62)
        self.max_playouts = self.p.max_playouts if max_playouts is None else min(int(max_playouts), 1 << 62)
        nm = self.root_hist.move_locs.size()
        if nm >= 1 and self.root_hist.move_locs[nm - 1] == PASS_LOC:
            if nm >= 3 and self.root_hist.move_locs[nm - 3] == PASS_LOC:
                factor = self.p.search_factor_two_pass
            else:
                factor = self.p.search_factor_one_pass
        if factor != 1.0:
            self.max_visits = <int64_t>ceil(min(<double>(1 << 62), self.max_visits * factor))
            self.max_playouts = <int64_t>ceil(min(<double>(1 << 62), self.max_playouts * factor))
        return factor

    cdef bint _should_stop(self, int inflight) noexcept nogil:
        if self.stop_flag:
            return True
        if self.num_playouts + inflight >= self.max_playouts:
            return True
        if self.num_playouts + inflight + self.non_playout_visits >= self.max_visits:
            return True
        return False

    cdef int _gather(self, BufPtrs* bp) noexcept nogil:
        cdef int start = bp.n[0], r, leaves = 0, quick = 0
        if self.phase == PHASE_IDLE or self.pending.size() > 0:
            return 0
        if self.phase == PHASE_CENTER:
            self.work.c_copy_from(self.root_hist)
            r = self._request_eval(self.root, True, 0, PK_CENTER, bp)
            if r != PO_DONE:
                return bp.n[0] - start
            self.phase = PHASE_RUN
        if self.phase == PHASE_REEVAL:
            self.work.c_copy_from(self.root_hist)
            r = self._request_eval(self.root, True, 0, PK_ROOT_REEVAL, bp)
            if r != PO_DONE:
                return bp.n[0] - start
            self.phase = PHASE_RUN
        while not self._should_stop(leaves):
            if leaves >= self.p.num_threads:
                break
            self.upper_bound_visits_left = min(<double>(self.max_playouts - self.num_playouts),
                                               <double>(self.max_visits - self.num_playouts - self.non_playout_visits))
            r = self._playout(bp)
            if r == PO_PENDING:
                leaves += 1
            elif r == PO_ABORT or r == PO_NOROOM:
                break
            else:
                quick += 1
                if quick >= 4096:
                    break
        return bp.n[0] - start

    def gather(self, BatchBuffers buf):
        """Run playouts until this search parks numSearchThreads leaves in `buf` (or stops);
        returns the rows it added."""
        cdef BufPtrs bp
        cdef int added
        if self.root_hist.cur.x_size > buf.pos_x or self.root_hist.cur.y_size > buf.pos_y:
            raise ValueError(f"board {self.root_hist.cur.x_size}x{self.root_hist.cur.y_size} does not fit "
                             f"a {buf.pos_x}x{buf.pos_y} batch")
        bp.sp = buf.sp
        bp.gl = buf.gl
        bp.sym = buf.sym
        bp.n = &buf.n
        bp.capacity = buf.capacity
        bp.pos_x = buf.pos_x
        bp.pos_y = buf.pos_y
        with nogil:
            added = self._gather(&bp)
        return added

    def apply(self, BatchBuffers buf, policy, value, score, ownership):
        """Take the net's raw outputs for the whole batch (Evaluator.raw's arrays, spatial parts
        already mapped back from the row symmetries) and back up this search's parked leaves."""
        if self.pending.size() == 0:
            return
        cdef float[:, :, ::1] pol = np.ascontiguousarray(policy, dtype=np.float32)
        cdef float[:, ::1] val = np.ascontiguousarray(value, dtype=np.float32)
        cdef float[:, ::1] sc = np.ascontiguousarray(score, dtype=np.float32)
        cdef float[:, :, ::1] own = np.ascontiguousarray(ownership, dtype=np.float32)
        if pol.shape[2] != buf.pos_x * buf.pos_y + 1 or own.shape[1] != buf.pos_y or own.shape[2] != buf.pos_x:
            raise ValueError("net outputs do not match the batch's board size")
        with nogil:
            self._apply(&pol[0, 0, 0], <int>pol.shape[1], <int>pol.shape[2], &val[0, 0], &sc[0, 0],
                        <int>sc.shape[1], &own[0, 0, 0], buf.pos_x, buf.pos_y)

    def stop(self):
        """End the search after the leaves already parked are applied."""
        self.stop_flag = True

    @property
    def done(self):
        return (self.phase == PHASE_RUN and self.pending.size() == 0 and self._should_stop(0)) or self.phase == PHASE_IDLE

    @property
    def num_playouts(self):
        return self.num_playouts

    @property
    def root_visits(self):
        return self.root.visits if self.root != NULL else 0

    @property
    def pending_rows(self):
        cdef size_t k
        cdef int n = 0
        for k in range(self.pending.size()):
            n += self.pending[k].nrows
        return n

    @property
    def num_nodes(self):
        return self.nodes.size()

    @property
    def score_center(self):
        return self.score_center

    # -------------------------------------------------------------------------------------------
    # Reading the tree

    cdef object _move_of(self, int loc):
        cdef const BoardState* b = &self.root_hist.cur
        if loc == PASS_LOC:
            return None
        return ((loc % b.stride) - 1, (loc // b.stride) - 1)

    cdef int _loc_of_move(self, move) except -1:
        cdef const BoardState* b = &self.root_hist.cur
        if move is None:
            return PASS_LOC
        return loc_of(b, move[0], move[1])

    def debug_invariants(self):
        """Tree facts tests check: total virtual losses (0 when idle), node count, whether every
        node's visits are at least 1 + its children's edge visits, and the root's edge sum."""
        cdef size_t i, k
        cdef Node* n
        cdef int64_t vl = 0, esum
        cdef bint visits_ok = True
        for i in range(self.nodes.size()):
            n = self.nodes[i]
            vl += n.virtual_losses
            esum = 0
            for k in range(n.kids.size()):
                esum += n.edge_visits[k]
            if n.visits > 0 and n.visits < 1 + esum:
                visits_ok = False
        esum = 0
        if self.root != NULL:
            for k in range(self.root.kids.size()):
                esum += self.root.edge_visits[k]
        return dict(virtual_losses=vl, nodes=self.nodes.size(), visits_ok=visits_ok,
                    root_edge_visits=esum, table=self.table.size(), bias_entries=self.bias_table.size())

    cdef double _reduced_weight(self, Node* parent, const float* pol, Node* c, int loc,
                                double scaling, int64_t ev, double best_value) noexcept nogil:
        """KataGo's getReducedPlaySelectionWeight: the weight at which this child's PUCT value
        would have matched the best child's (policy-target pruning)."""
        cdef float p = pol[loc_to_pos(&self.root_hist.cur, loc)]
        cdef double cw = self._child_weight(c, ev), cu, bonus, value, comp, wanted
        if c.visits <= 0 or cw <= 0.0:
            return 0.0
        cu = c.util_avg
        bonus = self._ending_bonus(parent, loc)
        if bonus != 0:
            cu += self._score_utility_diff(c.score_avg, c.score_sq_avg, bonus)
        if p < 0:
            wanted = 0.0
        else:
            value = cu if parent.pla == WHITE else -cu
            comp = best_value - value
            if comp <= 0:
                wanted = 1e100
            else:
                wanted = scaling * p / comp - 1.0
                if wanted < 0:
                    wanted = 0.0
        if cw > wanted:
            return wanted
        return cw

    cdef void _lcb_radius(self, Node* parent, Node* c, int64_t ev, int loc, double* lcb,
                          double* radius) noexcept nogil:
        """KataGo's getSelfUtilityLCBAndRadius (with its small-sample prior)."""
        cdef double rr = self._utility_radius(), ws, wsq, ess, prior, usq, u, bonus, self_u, var
        cdef double denom = <double>(c.visits if c.visits > 1 else 1)
        radius[0] = 2.0 * rr * self.p.lcb_stdevs
        lcb[0] = -radius[0]
        ws = c.weight_sum * (<double>ev / denom)
        wsq = c.weight_sq_sum * (<double>ev / denom)
        if c.visits <= 0 or ws <= 0.0 or wsq <= 0.0:
            return
        u = c.util_avg
        ess = ws * ws / wsq
        prior = ws / (ess * ess * ess)
        usq = max(c.util_sq_avg, u * u + 1e-8)
        usq = (usq * ws + (usq + rr * rr) * prior) / (ws + prior)
        ws += prior
        wsq += prior * prior
        ess = ws * ws / wsq
        bonus = self._ending_bonus(parent, loc)
        self_u = u + self._score_utility_diff(c.score_avg, c.score_sq_avg, bonus)
        if parent.pla != WHITE:
            self_u = -self_u
        var = usq - u * u
        radius[0] = sqrt(var / ess) * self.p.lcb_stdevs
        lcb[0] = self_u - radius[0]

    cdef bint _suppress_pass(self, Node* n) noexcept nogil:
        """KataGo's shouldSuppressPass (fillDameBeforePass, territory scoring, root only)."""
        cdef NNOut* o
        cdef Node* pass_node = NULL
        cdef Node* c
        cdef int64_t pass_ev = 0, ev
        cdef size_t i
        cdef int j, loc, adj
        cdef double pass_w, pass_u, pass_sm, pass_lead, own, cw, extreme = 0.95
        cdef bint opp_owned, adj_owned
        cdef const BoardState* b = &self.root_hist.cur
        if not self.p.fill_dame or n == NULL or n != self.root:
            return False
        if self.root_hist.scoring_rule != SCORING_TERRITORY or self.root_hist.encore_phase > 0:
            return False
        if not n.nn or n.nn.get().ownership.size() == 0:
            return False
        o = n.nn.get()
        for i in range(n.kids.size()):
            if n.kid_locs[i] == PASS_LOC:
                pass_node = n.kids[i]
                pass_ev = n.edge_visits[i]
                break
        if pass_node == NULL:
            return False
        cw = self._child_weight(pass_node, pass_ev)
        if pass_node.visits <= 0 or cw <= 1e-10:
            return False
        pass_w = cw
        pass_u = pass_node.util_avg
        pass_sm = pass_node.score_avg
        pass_lead = pass_node.lead_avg
        for i in range(n.kids.size()):
            loc = n.kid_locs[i]
            if loc == PASS_LOC:
                continue
            c = n.kids[i]
            own = o.ownership[loc_to_pos(b, loc)]
            if self.root_pla != WHITE:
                own = -own
            opp_owned = own < -extreme
            adj_owned = False
            for j in range(4):
                adj = loc + b.adj[j]
                if on_board(b, adj):
                    own = o.ownership[loc_to_pos(b, adj)]
                    if self.root_pla != WHITE:
                        own = -own
                    if own > extreme:
                        adj_owned = True
                        break
            if opp_owned and not adj_owned:
                continue
            ev = n.edge_visits[i]
            cw = c.weight_sum * (<double>ev / <double>(c.visits if c.visits > 1 else 1))
            if (ev <= 500 and cw <= 2 * sqrt(pass_w)) or cw <= 1e-10:
                continue
            if (self.root_pla == WHITE and c.util_avg > pass_u - 0.1 and c.score_avg > pass_sm - 0.5
                    and c.lead_avg > pass_lead - 0.5):
                return True
            if (self.root_pla == BLACK and c.util_avg < pass_u + 0.1 and c.score_avg < pass_sm + 0.5
                    and c.lead_avg < pass_lead + 0.5):
                return True
        return False

    cdef bint _psv(self, Node* node, vector[int]* locs, vector[double]* vals, double scale_max,
                   bint allow_direct, bint always_lcb, bint never_lcb, double* lcb_buf,
                   double* radius_buf) noexcept nogil:
        """KataGo's getPlaySelectionValues: weights pruned of forced/excess playouts (root),
        LCB-promoted, small ones zeroed; the basis of move choice, policy targets and PVs."""
        cdef const BoardState* b = &self.root_hist.cur
        cdef const float* pol
        cdef double total_w = 0, cw, w, g, max_good = -1e30, nonlcb_w = -1e30, fpu, pu, pwpv, sdf
        cdef double scaling, best_val, best_lcb = -1e10, adjusted, excess, rf, lb, maxv, sub, prn
        cdef int nonlcb_idx = 0, best_lcb_idx = -1, n, i, pos, loc
        cdef size_t nk = node.kids.size(), k
        cdef bint suppress, obey
        cdef double ev, p
        locs.clear()
        vals.clear()
        if not node.nn:
            return False
        pol = self._policy(node)
        suppress = self._suppress_pass(node)
        for k in range(nk):
            loc = node.kid_locs[k]
            cw = self._child_weight(node.kids[k], node.edge_visits[k])
            locs.push_back(loc)
            total_w += cw
            if (suppress and loc == PASS_LOC) or pol[loc_to_pos(b, loc)] < 0:
                vals.push_back(0.0)
            else:
                vals.push_back(cw)
        n = <int>nk
        for i in range(n):
            w = deref(vals)[i]
            ev = <double>node.edge_visits[i]
            p = pol[loc_to_pos(b, node.kid_locs[i])]
            g = w * max(0.0, ev - 1.0) / max(1.0, ev) + 2.0 * p
            if g > max_good:
                max_good = g
                nonlcb_w = w
                nonlcb_idx = i
        if node == self.root and n > 0:
            fpu = self._fpu(node, self.root_pla, True, 1.0, &pu, &pwpv, &sdf)
            scaling = self._explore_scaling(total_w, sdf)
            best_val = self._child_value(node, pol, node.kids[nonlcb_idx], node.kid_locs[nonlcb_idx],
                                         scaling, total_w, node.edge_visits[nonlcb_idx], fpu, pwpv,
                                         False, nonlcb_w, True)
            for i in range(n):
                loc = node.kid_locs[i]
                if suppress and loc == PASS_LOC:
                    deref(vals)[i] = 0
                    continue
                if i != nonlcb_idx:
                    deref(vals)[i] = ceil(self._reduced_weight(node, pol, node.kids[i], loc, scaling,
                                                               node.edge_visits[i], best_val))
        if not never_lcb and (always_lcb or (self.p.use_lcb and n > 0)):
            for i in range(n):
                self._lcb_radius(node, node.kids[i], node.edge_visits[i], node.kid_locs[i],
                                 &lcb_buf[i], &radius_buf[i])
                w = deref(vals)[i]
                if w > 0 and w >= self.p.min_visit_prop_lcb * nonlcb_w:
                    if lcb_buf[i] > best_lcb:
                        best_lcb = lcb_buf[i]
                        best_lcb_idx = i
            if self.p.use_lcb and n > 0 and ((best_lcb_idx >= 0) if self.p.nonbuggy_lcb else (best_lcb_idx > 0)):
                adjusted = deref(vals)[best_lcb_idx]
                for i in range(n):
                    if i != best_lcb_idx:
                        excess = best_lcb - lcb_buf[i]
                        if excess < 0:
                            continue
                        rf = (radius_buf[i] + excess) / (radius_buf[i] + 0.20 * excess)
                        lb = rf * rf * deref(vals)[i]
                        if lb > adjusted:
                            adjusted = lb
                deref(vals)[best_lcb_idx] = adjusted
        if n == 0:
            if node != self.root or not allow_direct:
                return False
            obey = True
            while True:
                for pos in range(b.x_size * b.y_size + 1):
                    loc = pos_to_loc(b, pos)
                    p = pol[pos]
                    if not self.root_hist.c_is_legal(loc, self.root_pla) or p < 0:
                        continue
                    if obey and not self._allowed_root_move(loc):
                        continue
                    if self._avoided_at_root(loc):
                        continue
                    if suppress and loc == PASS_LOC:
                        p = 0.0
                    locs.push_back(loc)
                    vals.push_back(p)
                    n += 1
                if n == 0 and obey:
                    obey = False
                    continue
                break
        if n == 0:
            return False
        maxv = 0.0
        for i in range(n):
            if deref(vals)[i] > maxv:
                maxv = deref(vals)[i]
        if maxv <= 1e-50:
            for i in range(n):
                deref(vals)[i] = max(0.0, <double>pol[loc_to_pos(b, deref(locs)[i])])
            for i in range(n):
                if deref(vals)[i] > maxv:
                    maxv = deref(vals)[i]
            if maxv <= 1e-50:
                return False
        sub = min(self.p.cm_subtract, maxv / 64.0)
        prn = min(self.p.cm_prune, maxv / 64.0)
        for i in range(n):
            if deref(vals)[i] < prn:
                deref(vals)[i] = 0.0
            else:
                deref(vals)[i] = deref(vals)[i] - sub
                if deref(vals)[i] <= 0.0:
                    deref(vals)[i] = 0.0
        maxv = 0.0
        for i in range(n):
            if deref(vals)[i] > maxv:
                maxv = deref(vals)[i]
        if maxv < scale_max:
            for i in range(n):
                deref(vals)[i] = deref(vals)[i] * (scale_max / maxv)
        return True

    cdef void _pv(self, Node* node, int max_depth, vector[int]* locs, vector[int64_t]* visits,
                  vector[int64_t]* edges) noexcept nogil:
        """KataGo's appendPV: follow the best play-selection value down from `node`."""
        cdef vector[int] sl
        cdef vector[double] sv
        cdef double lcb[MAX_ARR]
        cdef double rad[MAX_ARR]
        cdef double best
        cdef int depth, i, bi, bl
        for depth in range(max_depth):
            if node == NULL or not self._psv(node, &sl, &sv, 1.0, True, False, False, lcb, rad):
                return
            best = POLICY_ILLEGAL_SELECTION_VALUE
            bi = -1
            bl = NULL_LOC
            for i in range(<int>sv.size()):
                if sv[i] > best:
                    best = sv[i]
                    bi = i
                    bl = sl[i]
            if bi < 0 or bl == NULL_LOC:
                return
            if bi >= <int>node.kids.size():
                locs.push_back(bl)
                visits.push_back(0)
                edges.push_back(0)
                return
            edges.push_back(node.edge_visits[bi])
            node = node.kids[bi]
            locs.push_back(bl)
            visits.push_back(node.visits)

    def play_selection_values(self, double scale_max_to_at_least=0.0, bint allow_direct_policy_moves=True,
                              bint never_use_lcb=False):
        """Root (moves, values) as KataGo's getPlaySelectionValues; ([], []) when there are none."""
        cdef vector[int] locs
        cdef vector[double] vals
        cdef double lcb[MAX_ARR]
        cdef double rad[MAX_ARR]
        if self.root == NULL:
            return [], []
        if not self._psv(self.root, &locs, &vals, scale_max_to_at_least, allow_direct_policy_moves,
                         False, never_use_lcb, lcb, rad):
            return [], []
        return [self._move_of(l) for l in locs], [v for v in vals]

    def chosen_move_temperature(self):
        """KataGo's interpolateEarly for chosenMoveTemperature at the root's turn number."""
        return self._interpolate_early(self.p.cm_halflife, self.p.cm_temp_early, self.p.cm_temp)

    cdef dict _child_data(self, Node* c, int64_t ev, int loc, double prior, double fpu, double pu,
                          double pwl, double psm, double psd, double plead, int max_pv):
        """KataGo's getAnalysisDataOfSingleChild (White's view)."""
        cdef vector[int] pl
        cdef vector[int64_t] pv_v, pv_e
        cdef double ws = 0, wsq = 0, cws = 0, su, wl, u
        cdef int64_t cv = 0
        cdef double denom
        if c != NULL:
            cv = c.visits
            denom = <double>(cv if cv > 1 else 1)
            ws = c.weight_sum * (<double>ev / denom)
            wsq = c.weight_sq_sum * (<double>ev / denom)
            cws = c.weight_sum
        d = {"loc": loc, "move": self._move_of(loc), "edge_visits": ev, "visits": cv, "prior": prior,
             "child_weight": cws}
        if cv <= 0 or cws <= 1e-30:
            su = self._score_utility(psm, psm * psm + psd * psd)
            wl = pwl + (fpu - pu) if self.p.wl_factor == 1.0 else 0.0
            wl = min(1.0, max(-1.0, wl))
            d.update(utility=fpu, result_utility=fpu - su, score_utility=su, win_loss=wl, no_result=0.0,
                     score_mean=psm, score_stdev=psd, lead=plead, ess=0.0, weight=0.0, weight_sq=0.0,
                     utility_sq=fpu * fpu)
        else:
            d.update(utility=c.util_avg, result_utility=self._result_utility(c.wl_avg, c.nr_avg),
                     score_utility=self._score_utility(c.score_avg, c.score_sq_avg), win_loss=c.wl_avg,
                     no_result=c.nr_avg, score_mean=c.score_avg,
                     score_stdev=score_stdev(c.score_avg, c.score_sq_avg), lead=c.lead_avg,
                     ess=ws * ws / max(1e-8, wsq), weight=ws, weight_sq=wsq, utility_sq=c.util_sq_avg)
        pl.push_back(loc)
        pv_v.push_back(cv)
        pv_e.push_back(ev)
        self._pv(c, max_pv, &pl, &pv_v, &pv_e)
        d["pv"] = [self._move_of(l) for l in pl]
        d["pv_visits"] = [v for v in pv_v]
        d["pv_edge_visits"] = [v for v in pv_e]
        return d

    def analysis_data(self, int max_pv_len=13, int min_moves=0):
        """KataGo's getAnalysisData for the root, sorted as KataGo sorts it, before symmetry
        duplication (see `root_symmetries`). Each entry is a dict of White's-view numbers; a pv
        holds the move plus up to max_pv_len replies."""
        cdef Node* root = self.root
        cdef vector[int] locs
        cdef vector[double] vals
        cdef double lcb[MAX_ARR]
        cdef double rad[MAX_ARR]
        cdef const float* pol
        cdef const BoardState* b = &self.root_hist.cur
        cdef double mass = 0, pwl, psm, psd, plead, fpu, pu, pwpv, sdf, zr
        cdef size_t i, nk
        cdef bint got
        if root == NULL or not root.nn or root.weight_sum <= 0:
            return []
        nk = root.kids.size()
        if nk == 0 and min_moves <= 0:
            return []
        got = self._psv(root, &locs, &vals, 1.0, False, True, False, lcb, rad)
        if not got:
            vals.assign(nk, 0.0)
            zr = 2.0 * self._utility_radius() * self.p.lcb_stdevs
            for i in range(nk):
                lcb[i] = -zr
                rad[i] = zr
        pol = self._policy(root)
        for i in range(nk):
            mass += max(0.0, <double>pol[loc_to_pos(b, root.kid_locs[i])])
        pwl = root.wl_avg
        psm = root.score_avg
        psd = score_stdev(root.score_avg, root.score_sq_avg)
        plead = root.lead_avg
        fpu = self._fpu(root, root.pla, True, mass, &pu, &pwpv, &sdf)
        out = []
        for i in range(nk):
            d = self._child_data(root.kids[i], root.edge_visits[i], root.kid_locs[i],
                                 pol[loc_to_pos(b, root.kid_locs[i])], fpu, pu, pwl, psm, psd, plead,
                                 max_pv_len)
            d["play_selection_value"] = vals[i]
            d["utility_lcb"] = -lcb[i] if root.pla == BLACK else lcb[i]
            d["radius"] = rad[i]
            d["child_index"] = i
            out.append(d)
        while len(out) < min_moves:
            used = {d["loc"] for d in out}
            best_pos, best_p = -1, -1.0
            for pos in range(b.x_size * b.y_size + 1):
                if pol[pos] < best_p:
                    continue
                if pos_to_loc(b, pos) in used:
                    continue
                best_pos, best_p = pos, pol[pos]
            if best_pos < 0 or best_p < 0:
                break
            d = self._child_data(NULL, 0, pos_to_loc(b, best_pos), best_p, fpu, pu, pwl, psm, psd,
                                 plead, max_pv_len)
            d["play_selection_value"] = 0.0
            d["utility_lcb"] = 0.0
            d["radius"] = 0.0
            d["child_index"] = -1
            out.append(d)
        import functools
        out.sort(key=functools.cmp_to_key(_analysis_cmp))
        return out

    @property
    def root_symmetries(self):
        return [s for s in self.root_symmetries]

    def root_values(self, bint pruned=True):
        """Root statistics (White's view): KataGo's getPrunedRootValues (weights = play selection
        values without LCB, as GTP and the analysis engine report them) or getRootValues."""
        cdef Node* n = self.root
        cdef vector[int] locs
        cdef vector[double] vals
        cdef size_t i
        cdef Node* c
        cdef NNOut* o
        cdef double wl = 0, nr = 0, sm = 0, smsq = 0, lead = 0, u = 0, w = 0, wt, cw
        if n == NULL or n.weight_sum <= 0.0 or not n.nn:
            return None
        if pruned and self._psv(n, &locs, &vals, 1.0, False, False, True, NULL, NULL):
            for i in range(n.kids.size()):
                c = n.kids[i]
                if c.visits <= 0 or c.weight_sum <= 0.0 or n.edge_visits[i] <= 0:
                    continue
                cw = vals[i]
                wl += cw * c.wl_avg
                nr += cw * c.nr_avg
                sm += cw * c.score_avg
                smsq += cw * c.score_sq_avg
                lead += cw * c.lead_avg
                u += cw * c.util_avg
                w += cw
            o = n.nn.get()
            wt = self._nn_weight(o)
            uu = (self._result_utility(<double>o.white_win - <double>o.white_loss, o.no_result)
                  + self._score_utility(o.score_mean, o.score_mean_sq))
            wl += (<double>o.white_win - <double>o.white_loss) * wt
            nr += <double>o.no_result * wt
            sm += <double>o.score_mean * wt
            smsq += <double>o.score_mean_sq * wt
            lead += <double>o.lead * wt
            u += uu * wt
            w += wt
            wl /= w
            nr /= w
            sm /= w
            smsq /= w
            lead /= w
            u /= w
        else:
            wl, nr, sm, smsq, lead, u = n.wl_avg, n.nr_avg, n.score_avg, n.score_sq_avg, n.lead_avg, n.util_avg
        wl = min(1.0, max(-1.0, wl))
        nr = min(1.0 - fabs(wl), max(0.0, nr))
        return dict(visits=n.visits, weight=n.weight_sum, win_loss=wl, no_result=nr, score_mean=sm,
                    score_stdev=score_stdev(sm, smsq), lead=lead, utility=u)

    def root_nn(self):
        """The root's NN output (the root evaluation: root optimism, ownership) as a dict."""
        cdef NNOut* o
        if self.root == NULL or not self.root.nn:
            return None
        o = self.root.nn.get()
        xs, ys = o.x_size, o.y_size
        d = dict(white_win=o.white_win, white_loss=o.white_loss, no_result=o.no_result,
                 score_mean=o.score_mean, score_mean_sq=o.score_mean_sq, lead=o.lead,
                 var_time_left=o.var_time_left, st_wl_error=o.st_wl_error, st_score_error=o.st_score_error,
                 policy=np.array([v for v in o.policy], np.float32),
                 noised_policy=(np.array([v for v in o.noised], np.float32) if o.noised.size() else None),
                 ownership=(np.array([v for v in o.ownership], np.float32).reshape(ys, xs)
                            if o.ownership.size() else None))
        return d

    cdef double _own_traverse(self, double min_prop, double prune_prop, double desired, Node* node,
                              unordered_set[Node*]* path, double* avg, double* sq, int area) noexcept nogil:
        """KataGo's traverseTreeForOwnership; returns 1 when it accumulated, 0 when the node has
        no ownership (the caller keeps that share)."""
        cdef NNOut* o
        cdef size_t i, nk = node.kids.size()
        cdef double parent_w, rel_sum = 0, sum_w = 0, from_kids, self_prop, cw, from_kid
        cdef vector[double] cws
        if not node.nn or node.nn.get().ownership.size() == 0:
            return 0
        o = node.nn.get()
        if desired < min_prop or nk == 0 or path.count(node):
            self._own_acc(o, desired, avg, sq, area)
            return 1
        path.insert(node)
        parent_w = max(self._nn_weight(o), 1e-10)
        for i in range(nk):
            cw = self._child_weight(node.kids[i], node.edge_visits[i])
            cws.push_back(cw)
            rel_sum += cw * cw
            sum_w += cw
        from_kids = desired * sum_w / (sum_w + parent_w)
        self_prop = desired * parent_w / (sum_w + parent_w)
        if from_kids <= 0.0 or rel_sum <= 0.0:
            self_prop += from_kids
        else:
            for i in range(nk):
                from_kid = cws[i] * cws[i] / rel_sum * from_kids
                if from_kid < prune_prop:
                    self_prop += from_kid
                elif self._own_traverse(min_prop, prune_prop, from_kid, node.kids[i], path, avg, sq, area) == 0:
                    self_prop += from_kid
        path.erase(node)
        self._own_acc(o, self_prop, avg, sq, area)
        return 1

    cdef void _own_acc(self, NNOut* o, double prop, double* avg, double* sq, int area) noexcept nogil:
        cdef int i
        cdef double v
        for i in range(area):
            v = o.ownership[i]
            avg[i] += prop * v
            sq[i] += prop * v * v

    def tree_ownership(self, child_index=None):
        """KataGo's getAverageAndStandardDeviationTreeOwnership of the root (or of a root child):
        (mean, stdev), (Y, X) arrays, White's view; None without ownership."""
        cdef Node* n = self.root
        cdef unordered_set[Node*] path
        cdef double min_prop, prune
        cdef int area
        if n == NULL:
            return None
        if child_index is not None:
            n = n.kids[<size_t>child_index]
        if not n.nn or n.nn.get().ownership.size() == 0:
            return None
        xs, ys = n.nn.get().x_size, n.nn.get().y_size
        area = xs * ys
        avg = np.zeros(area, np.float64)
        sq = np.zeros(area, np.float64)
        cdef double[::1] av = avg
        cdef double[::1] sv = sq
        min_prop = 0.5 / pow(max(1.0, <double>n.visits), 0.75)
        prune = min_prop * 0.01
        self._own_traverse(min_prop, prune, 1.0, n, &path, &av[0], &sv[0], area)
        sd = np.sqrt(np.maximum(sq - avg * avg, 0.0))
        return avg.reshape(ys, xs), sd.reshape(ys, xs)

    def sym_move(self, move, int sym):
        """KataGo's getSymLoc on a root move (None = pass)."""
        cdef int ox, oy
        if move is None:
            return None
        sym_xy(move[0], move[1], self.root_hist.cur.x_size, self.root_hist.cur.y_size, sym, &ox, &oy)
        return (ox, oy)

    def choose_index(self, values, double temperature, double only_below_prob=1.0):
        """KataGo's chooseIndexWithTemperature with this search's random numbers."""
        cdef int n = len(values), i, best = 0
        cdef double mx = 0, sm = 0, lmx, lsum, lob, thr, lr, r, acc
        if n == 0:
            raise ValueError("no values to choose from")
        probs = [0.0] * n
        for i in range(n):
            sm += max(0.0, values[i])
            if values[i] > mx:
                mx = values[i]
        if not (mx > 0 and sm > 0):
            raise ValueError("no positive value to choose from")
        if temperature <= 1.0e-4 and only_below_prob >= 1.0:
            for i in range(1, n):
                if values[i] > values[best]:
                    best = i
            return best
        lmx = log(mx)
        lsum = log(sm)
        lob = log(max(1e-50, only_below_prob))
        acc = 0
        for i in range(n):
            if values[i] <= 0.0:
                probs[i] = 0.0
            else:
                lr = log(values[i]) - lmx
                thr = min(0.0, lob + lsum - lmx)
                probs[i] = exp(lr if lr > thr else (lr - thr) / temperature + thr)
            acc += probs[i]
        r = rng_double(&self.rng) * acc
        for i in range(n):
            r -= probs[i]
            if r < 0 and probs[i] > 0:
                return i
        for i in range(n - 1, -1, -1):
            if probs[i] > 0:
                return i
        return 0


def _analysis_cmp(a, b):
    """KataGo's AnalysisData ordering: visited first, play selection value, visits, policy."""
    if a["edge_visits"] > 0 and b["edge_visits"] == 0:
        return -1
    if b["edge_visits"] > 0 and a["edge_visits"] == 0:
        return 1
    if a["play_selection_value"] != b["play_selection_value"]:
        return -1 if a["play_selection_value"] > b["play_selection_value"] else 1
    if a["edge_visits"] != b["edge_visits"]:
        return -1 if a["edge_visits"] > b["edge_visits"] else 1
    if a["prior"] > b["prior"]:
        return -1
    if b["prior"] > a["prior"]:
        return 1
    return 0

