# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""KataGo's Monte-Carlo tree search (v1.17.2), per-visit work in C++ without the GIL.

Why this shape: selfplay runs hundreds of searches that must share one NN batch, and GTP wants
KataGo's exact visit counts. So a search here is a resumable state machine: `gather` descends
the tree (virtual losses spread several descents of one search), writes the features of every
leaf that needs the net into a shared batch buffer and parks it; `apply` post-processes the
net's raw outputs for those rows and backs the leaves up. Python runs the forward pass between
the two and touches whole batches only. With one leaf per batch and nnRandomize=false the
sequence of evaluations and backups is exactly KataGo's single-threaded search.

The core is a chain of classes, one module per job: tree (state, node store, hashes) ->
values (utilities, backup) -> selection (PUCT) -> evals (the net's results) -> playouts (the
gather/apply round) -> play (play selection) -> this module, SearchCore: the reports a search
gives (analysis rows, principal variations, root values, ownership). The rules of the search
are shared/spec/selfplay-and-search.md §4, §4b, §4c; names follow KataGo's (utilities are
White's view, "self" values the player to move's).
"""
from libc.math cimport sqrt, pow, fabs
from libc.stdint cimport int64_t
from libcpp.vector cimport vector
from libcpp.unordered_set cimport unordered_set

from goloop.common.go.board cimport BoardState, MAX_ARR, BLACK, NULL_LOC
from goloop.common.search.math_tables cimport score_stdev
from goloop.common.search.nodes cimport (
    NNOut, Node, POLICY_ILLEGAL_SELECTION_VALUE, child_weight, loc_to_pos, node_policy, pos_to_loc,
    result_utility, utility_radius)

from goloop.common.search.play cimport PlaySelection

import numpy as np

# The core's Python face also offers the cache and batch buffers every search user builds.
from goloop.common.search.nodes import BatchBuffers, NNCache  # noqa: F401


cdef class SearchCore(PlaySelection):
    """One search tree with KataGo's rules. Drive it with begin() then alternate gather()/apply()
    around forward passes until done; searcher.py does that for one or many searches."""

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
            d.update(utility=c.util_avg, result_utility=result_utility(&self.p, c.wl_avg, c.nr_avg),
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
            zr = 2.0 * utility_radius(&self.p) * self.p.lcb_stdevs
            for i in range(nk):
                lcb[i] = -zr
                rad[i] = zr
        pol = node_policy(root)
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
            uu = (result_utility(&self.p, <double>o.white_win - <double>o.white_loss, o.no_result)
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
            cw = child_weight(node.kids[i], node.edge_visits[i])
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
