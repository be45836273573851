# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Leaves and the net: requesting evaluations, installing their results.

A playout that reaches a node without an evaluation parks it: its features go into the shared
batch (cache hits are installed at once), and `_apply` post-processes the batch's raw outputs
as KataGo's NNEvaluator does, stores them in the NN cache, adds root noise and temperature
where they apply, and finishes the parked playouts (backing their paths up).
"""
from libc.math cimport sqrt, log, exp, expf, tanh
from libc.string cimport memcpy
from libc.stdint cimport uint64_t, uint8_t
from libcpp.vector cimport vector
from libcpp.memory cimport shared_ptr, make_shared

from goloop.common.go.board cimport BoardState, WHITE, loc_of
from goloop.common.go.history cimport History, KO_SIMPLE, SCORING_TERRITORY
from goloop.common.nn.features cimport (
    NNParams, fill_row_v7, nn_params_default, NUM_SPATIAL_V7, NUM_GLOBAL_V7)
from goloop.common.search.nodes cimport *
from goloop.common.search.selection cimport Selector


cdef class LeafEvals(Selector):
    """Evaluation requests and results on top of selection."""

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
        sd = softplus(misc[1]) * self.score_stdev_mult
        smsq = sm * sm + sd * sd
        lead = misc[2] * self.lead_mult
        vt = softplus(misc[3]) * self.var_time_mult
        sm *= 1.0 - nores
        smsq *= 1.0 - nores
        lead *= 1.0 - nores
        if self.model_version >= 14:
            stv = sqrt(softplus(misc[4] * 0.5) ** 2 * self.st_value_mult)
            sts = sqrt(softplus(misc[5] * 0.5) ** 2 * self.st_score_mult)
        elif self.model_version >= 10:
            stv = sqrt(softplus(misc[4]) * self.st_value_mult)
            sts = sqrt(softplus(misc[5]) * self.st_score_mult)
        else:
            stv = softplus(misc[4])
            sts = softplus(misc[5]) * 10.0
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
