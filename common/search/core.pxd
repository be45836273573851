# KataGo's MCTS in C++ objects (core.pyx): the pieces other Cython modules may cimport.
#
# The node graph, the NN cache and the batch buffers are C++/C structures so that one playout
# (descent, leaf encoding, backup) runs without the GIL; Python only sees whole batches.

from libc.stdint cimport uint64_t, int64_t, uint8_t, uint32_t
from libcpp.vector cimport vector
from libcpp.memory cimport shared_ptr

# One evaluated position, KataGo's NNOutput: White's view, single precision as KataGo stores it.
cdef cppclass NNOut:
    float white_win
    float white_loss
    float no_result
    float score_mean
    float score_mean_sq
    float lead
    float var_time_left
    float st_wl_error
    float st_score_error
    int x_size
    int y_size
    # x_size*y_size + 1 probabilities, index y*x_size + x, pass last; < 0 = illegal.
    vector[float] policy
    # Root only: the policy after root temperature / Dirichlet noise (empty when unchanged).
    vector[float] noised
    # x_size*y_size tanh ownership (White's view), empty when not computed.
    vector[float] ownership


# A fixed-size table of NN outputs keyed by KataGo's NN hash (position, ko, rules, komi and the
# input flags, but not the move history), replaced by index collision like KataGo's cache.
cdef cppclass CacheCore:
    vector[uint64_t] keys
    vector[shared_ptr[NNOut]] vals
    uint64_t mask
    int64_t hits
    int64_t misses


cdef class NNCache:
    cdef CacheCore* core


# Rows of one NN batch, filled by any number of searches before a single forward pass.
cdef class BatchBuffers:
    cdef readonly object spatial      # (capacity, 22, pos_y, pos_x) float32
    cdef readonly object global_      # (capacity, 19) float32
    cdef readonly object symmetries   # (capacity,) int64
    cdef float* sp
    cdef float* gl
    cdef long long* sym
    cdef public int n
    cdef readonly int capacity, pos_x, pos_y
