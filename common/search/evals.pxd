# Leaves and the net: requesting evaluations, installing their results. Declarations cimported by
# playouts.pyx; see core.pyx for the chain.
from libc.stdint cimport uint8_t
from libcpp.memory cimport shared_ptr
from goloop.common.go.history cimport History
from goloop.common.search.nodes cimport *
from goloop.common.search.selection cimport Selector


cdef class LeafEvals(Selector):
    cdef int _finish(self, bint ok) noexcept nogil
    cdef void _undo_steps(self) noexcept nogil
    cdef void _legal_mask(self, History h, int pla, uint8_t* legal) noexcept nogil
    cdef int _request_eval(self, Node* node, bint is_root, int depth, int kind, BufPtrs* bp) noexcept nogil
    cdef void _install(self, Node* node, shared_ptr[NNOut] out, int kind) noexcept nogil
    cdef void _set_center(self, double expected) noexcept nogil
    cdef shared_ptr[NNOut] _maybe_noise(self, shared_ptr[NNOut] src) noexcept nogil
    cdef void _post_row(self, NNOut* o, const float* pol, int nchan, int psize, const float* val,
                        const float* sc, int nsc, const float* own, int pos_x,
                        const uint8_t* legal, int xs, int ys, int pla, float optimism,
                        bint want_own) noexcept nogil
    cdef void _apply(self, const float* pol, int nchan, int psize, const float* val,
                     const float* sc, int nsc, const float* own, int pos_x, int pos_y) noexcept nogil
