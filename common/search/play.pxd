# Play selection: what a finished search plays and teaches. Declarations cimported by core.pyx;
# see core.pyx for the chain.
from libc.stdint cimport int64_t
from libcpp.vector cimport vector
from goloop.common.search.nodes cimport *
from goloop.common.search.playouts cimport Playouts


cdef class PlaySelection(Playouts):
    cdef double _reduced_weight(self, Node* parent, const float* pol, Node* c, int loc,
                                double scaling, int64_t ev, double best_value) noexcept nogil
    cdef void _lcb_radius(self, Node* parent, Node* c, int64_t ev, int loc, double* lcb,
                          double* radius) noexcept nogil
    cdef bint _suppress_pass(self, Node* n) noexcept nogil
    cdef bint _psv(self, Node* node, vector[int]* locs, vector[double]* vals, double scale_max,
                   bint allow_direct, bint always_lcb, bint never_lcb, double* lcb_buf,
                   double* radius_buf) noexcept nogil
