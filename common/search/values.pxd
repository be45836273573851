# Node values: utilities, leaf values and their backup up the graph. Declarations cimported by
# selection.pyx; see core.pyx for the chain.
from goloop.common.go.history cimport History
from goloop.common.search.nodes cimport *
from goloop.common.search.tree cimport SearchTree


cdef class ValueTree(SearchTree):
    cdef double _score_utility(self, double mean, double mean_sq) noexcept nogil
    cdef double _score_utility_diff(self, double mean, double mean_sq, double delta) noexcept nogil
    cdef double _utility_from_nn(self, NNOut* nn) noexcept nogil
    cdef double _nn_weight(self, NNOut* nn) noexcept nogil
    cdef void _add_leaf_value(self, Node* n, double wl, double nr, double sm, double smsq,
                              double lead, double weight, bint terminal, bint assume_empty) noexcept nogil
    cdef void _add_nn_leaf(self, Node* n, bint assume_empty) noexcept nogil
    cdef void _add_terminal_leaf(self, Node* n, History h) noexcept nogil
    cdef double _prune_noise(self, int n, double total) noexcept nogil
    cdef void _downweight(self, int n, double current_total, double desired_total,
                          double amount_to_subtract, double amount_to_prune) noexcept nogil
    cdef void _recompute(self, Node* node, int num_visits_to_add, bint is_root) noexcept nogil
    cdef void _recompute_recursive(self) noexcept nogil
