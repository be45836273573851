# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Playouts and the search's round: descend, park, back up, until the budget is spent.

`begin` prepares a search (root evaluation, dynamic score centre, root symmetries and noise);
`gather` runs playouts until numSearchThreads leaves are parked in the batch (virtual losses
spread them), `apply` installs the net's answers; `done` says when the visit or playout budget
is spent. With one leaf per batch and nnRandomize off this is KataGo's single-threaded search.
"""
from libc.math cimport ceil
from libc.string cimport memset
from libc.stdint cimport uint64_t, int64_t

from goloop.common.go.board cimport BoardState, MAX_ARR, BLACK, NULL_LOC, PASS_LOC, loc_of
from goloop.common.go.area cimport calculate_area
from goloop.common.search.nodes cimport *
from goloop.common.search.evals cimport LeafEvals

import numpy as np


cdef class Playouts(LeafEvals):
    """Playouts and the gather/apply round on top of leaf evaluations."""

    cdef bint _catch_up(self, Node* node, int idx) noexcept nogil:
        cdef int64_t cv = node.kids[idx].visits, ev = node.edge_visits[idx]
        if self.p.catch_up_leak > 0.0 and ev < cv and rng_double(&self.rng) < self.p.catch_up_leak:
            return False
        if ev >= cv:
            return False
        node.edge_visits[idx] = ev + 1
        return True

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
            if on_path(&self.graph_path, child):
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
    # Root symmetries (duplicate moves under the board's symmetries)

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

    # -------------------------------------------------------------------------------------------
    # A search's round: begin, then gather/apply until done

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
    def pending_rows(self):
        cdef size_t k
        cdef int n = 0
        for k in range(self.pending.size()):
            n += self.pending[k].nrows
        return n
