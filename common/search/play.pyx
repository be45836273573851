# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Play selection: what a finished search plays and teaches.

KataGo's getPlaySelectionValues (visits with LCB selection, pruned forced playouts, the
passing rules of conservativePass and fillDameBeforePass), the chosen-move temperature and
the sampling of the move to play; also the policy targets of selfplay.
"""
from libc.math cimport sqrt, log, exp, ceil
from libc.stdint cimport int64_t
from libcpp.vector cimport vector
from cython.operator cimport dereference as deref

from goloop.common.go.board cimport BoardState, MAX_ARR, BLACK, WHITE, PASS_LOC, on_board
from goloop.common.go.history cimport SCORING_TERRITORY
from goloop.common.search.nodes cimport *
from goloop.common.search.playouts cimport Playouts


cdef class PlaySelection(Playouts):
    """Play selection values and move choice on top of the playouts."""

    cdef double _reduced_weight(self, Node* parent, const float* pol, Node* c, int loc,
                                double scaling, int64_t ev, double best_value) noexcept nogil:
        """KataGo's getReducedPlaySelectionWeight: the weight at which this child's PUCT value
        would have matched the best child's (policy-target pruning)."""
        cdef float p = pol[loc_to_pos(&self.root_hist.cur, loc)]
        cdef double cw = child_weight(c, ev), cu, bonus, value, comp, wanted
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
        cdef double rr = utility_radius(&self.p), ws, wsq, ess, prior, usq, u, bonus, self_u, var
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
        cw = child_weight(pass_node, pass_ev)
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
        pol = node_policy(node)
        suppress = self._suppress_pass(node)
        for k in range(nk):
            loc = node.kid_locs[k]
            cw = child_weight(node.kids[k], node.edge_visits[k])
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
            scaling = explore_scaling(&self.p, total_w, sdf)
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
