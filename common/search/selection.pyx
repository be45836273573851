# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Selection: which child a playout descends into (KataGo's selectBestChildToDescend).

PUCT with KataGo's refinements: exploration scaled by the utility stdev, first-play urgency
from the parent's value and the visited policy mass, forced playouts and root ending bonuses,
wide root noise, avoid/allow lists at the root (§4).
"""
from libc.math cimport sqrt, pow, fabs
from libc.string cimport memset
from libc.stdint cimport int64_t, uint8_t
from libcpp.vector cimport vector
from cython.operator cimport dereference as deref

from goloop.common.go.board cimport BoardState, MAX_ARR, WHITE, NULL_LOC, PASS_LOC, would_capture
from goloop.common.go.history cimport SCORING_AREA, SCORING_TERRITORY
from goloop.common.search.nodes cimport *
from goloop.common.search.values cimport ValueTree


cdef class Selector(ValueTree):
    """PUCT child selection on top of value backup."""

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
        radius = utility_radius(&self.p)
        fpu = pu - red if pla == WHITE else pu + red
        loss = -radius if pla == WHITE else radius
        return fpu + (loss - fpu) * loss_prop

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
            cw = child_weight(child, ev)
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
            vlu = -utility_radius(&self.p) if parent.pla == WHITE else utility_radius(&self.p)
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
        return explore_value(scaling, p, cw, cu, parent.pla)

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
        return explore_value(scaling, p, 0.0, cu, parent.pla)

    cdef void _select(self, Node* node, bint is_root, int* best_idx, int* best_loc,
                      bint* count_edge) noexcept nogil:
        """KataGo's selectBestChildToDescend (no human-SL, hint, avoid or anti-mirror)."""
        cdef const float* pol = node_policy(node)
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
            cw = child_weight(node.kids[i], node.edge_visits[i])
            total_w += cw
            if cw > max_w:
                max_w = cw
            total_ev += node.edge_visits[i]
        count_edge[0] = True
        fpu = self._fpu(node, node.pla, is_root, mass, &pu, &pwpv, &sdf)
        scaling = explore_scaling(&self.p, total_w, sdf)
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
