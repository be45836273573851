# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Node values: utilities, leaf values and their backup up the graph.

KataGo's utility is the win/loss value plus static and dynamic score terms (White's view,
shared/spec/selfplay-and-search.md §4b); a node's statistics are weighted averages over its
visits, where nets with error heads weight each visit by its uncertainty, noise pruning
discounts children the policy did not earn, and the subtree value bias corrects repeated local
patterns (§4c). `_recompute` is KataGo's recomputeNodeStats.
"""
from libc.math cimport sqrt, pow, exp
from libc.stdint cimport int64_t
from libcpp.vector cimport vector

from goloop.common.go.board cimport BLACK, WHITE
from goloop.common.go.history cimport History
from goloop.common.search.math_tables cimport (
    expected_white_score_value, d_score_value_d_score, score_stdev, t3_cdf_table)
from goloop.common.search.nodes cimport *
from goloop.common.search.tree cimport SearchTree


cdef class ValueTree(SearchTree):
    """Utilities and value backup on top of the tree store."""

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

    cdef void _add_leaf_value(self, Node* n, double wl, double nr, double sm, double smsq,
                              double lead, double weight, bint terminal, bint assume_empty) noexcept nogil:
        cdef double u = result_utility(&self.p, wl, nr) + self._score_utility(sm, smsq)
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
            s.w_adj = child_weight(c, ev)
            s.loc = node.kid_locs[k]
            orig_total += s.w_adj
            n_good += 1
        cur_total = orig_total
        if self.p.noise_pruning and n_good > 0:
            pol = node_policy(node)
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
        u = result_utility(&self.p, wl, o.no_result) + self._score_utility(o.score_mean, o.score_mean_sq)
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
    # Recomputing every node (a new score centre)

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
                    n.util_avg = result_utility(&self.p, n.wl_avg, n.nr_avg) + self._score_utility(n.score_avg, n.score_sq_avg)
                    n.util_sq_avg = n.util_avg * n.util_avg
            else:
                self._recompute(n, 0, n == self.root)
