# Playouts and the search's round: descend, park, back up, until the budget is spent. Declarations
# cimported by play.pyx; see core.pyx for the chain.
from goloop.common.go.board cimport BoardState
from goloop.common.search.nodes cimport *
from goloop.common.search.evals cimport LeafEvals


cdef class Playouts(LeafEvals):
    cdef bint _catch_up(self, Node* node, int idx) noexcept nogil
    cdef int _playout(self, BufPtrs* bp) noexcept nogil
    cdef void _mark_sym_dup(self) noexcept nogil
    cdef void _mark_dup_at(self, const BoardState* b, int x, int y) noexcept nogil
    cdef bint _should_stop(self, int inflight) noexcept nogil
    cdef int _gather(self, BufPtrs* bp) noexcept nogil
