# KataGo's Monte-Carlo tree search (v1.17.2), per-visit work in C++ without the GIL. Declarations
# cimported by nothing (the end of the chain); see core.pyx for the chain.
from libc.stdint cimport int64_t
from libcpp.vector cimport vector
from libcpp.unordered_set cimport unordered_set
from goloop.common.search.nodes cimport NNOut, Node
from goloop.common.search.play cimport PlaySelection


cdef class SearchCore(PlaySelection):
    cdef void _pv(self, Node* node, int max_depth, vector[int]* locs, vector[int64_t]* visits,
                  vector[int64_t]* edges) noexcept nogil
    cdef dict _child_data(self, Node* c, int64_t ev, int loc, double prior, double fpu, double pu,
                          double pwl, double psm, double psd, double plead, int max_pv)
    cdef double _own_traverse(self, double min_prop, double prune_prop, double desired, Node* node,
                              unordered_set[Node*]* path, double* avg, double* sq, int area) noexcept nogil
    cdef void _own_acc(self, NNOut* o, double prop, double* avg, double* sq, int area) noexcept nogil
