# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The search tree's store: the state of one search, its nodes, hashes and root.

First link of the search core's class chain (tree -> values -> selection -> evals -> playouts ->
play -> core, each module one job, each class adding its methods to the one below). This one
holds every field of a search (declared in tree.pxd), reads SearchParams into the numeric SP
struct, keeps the node graph (KataGo's node table for graph search, the subtree value bias
table) across moves, and computes KataGo's hashes: situation, graph and NN-cache keys.
"""
from libc.math cimport sqrt, pow
from libc.stdint cimport uint64_t, int64_t
from libcpp.vector cimport vector
from libcpp.unordered_map cimport unordered_map
from cython.operator cimport dereference as deref, preincrement as inc

from goloop.common.go.board cimport (
    BoardState, MAX_ARR, EMPTY, BLACK, WHITE, NULL_LOC, PASS_LOC, ZOBRIST_PLAYER, loc_of)
from goloop.common.go.history cimport History, KO_SIMPLE
from goloop.common.search.nodes cimport *


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


cdef class SearchTree:
    """The state of one search and its node graph; see SearchCore for how to drive it."""

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
    # The node store (graph search's node table)

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

    cdef double _interpolate_early(self, double halflife, double early, double late) noexcept nogil:
        cdef double raw = <double>self.root_hist.move_locs.size() / halflife
        cdef double halflives = raw * 19.0 / self.sqrt_area
        return late + (early - late) * pow(0.5, halflives)

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

    @property
    def num_playouts(self):
        return self.num_playouts

    @property
    def root_visits(self):
        return self.root.visits if self.root != NULL else 0

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

    @property
    def root_symmetries(self):
        return [s for s in self.root_symmetries]

    def sym_move(self, move, int sym):
        """KataGo's getSymLoc on a root move (None = pass)."""
        cdef int ox, oy
        if move is None:
            return None
        sym_xy(move[0], move[1], self.root_hist.cur.x_size, self.root_hist.cur.y_size, sym, &ox, &oy)
        return (ox, oy)
