# Selection: which child a playout descends into (KataGo's selectBestChildToDescend). Declarations
# cimported by evals.pyx; see core.pyx for the chain.
from libc.stdint cimport int64_t
from goloop.common.search.nodes cimport *
from goloop.common.search.values cimport ValueTree


cdef class Selector(ValueTree):
    cdef double _ending_bonus(self, Node* parent, int loc) noexcept nogil
    cdef double _fpu(self, Node* node, int pla, bint is_root, double mass, double* parent_util,
                     double* parent_wpv, double* stdev_factor) noexcept nogil
    cdef void _wide_root_noise(self, double* cu, float* p, int pla) noexcept nogil
    cdef double _child_value(self, Node* parent, const float* pol, Node* child, int loc,
                             double scaling, double total_w, int64_t ev, double fpu,
                             double parent_wpv, bint during_search, double max_w,
                             bint count_edge) noexcept nogil
    cdef double _new_child_value(self, Node* parent, double scaling, float p, double fpu,
                                 double parent_wpv, double max_w, bint count_edge) noexcept nogil
    cdef void _select(self, Node* node, bint is_root, int* best_idx, int* best_loc,
                      bint* count_edge) noexcept nogil
