# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The search's shared pieces that are not inline: the NN cache and batch buffers (Python
classes too), the random draws of root noise, and two board reads of KataGo's search.

nodes.pxd declares everything here together with the node graph and the inline helpers.
"""
from libc.math cimport sqrt, pow, log, cos, M_PI
from libc.string cimport memset
from libc.stdint cimport uint8_t

from goloop.common.go.board cimport BoardState, MAX_ARR, EMPTY, NULL_LOC, PASS_LOC
from goloop.common.nn.features cimport NUM_SPATIAL_V7, NUM_GLOBAL_V7

import numpy as np

# ------------------------------------------------------------------------------------------------
# NN cache and batch buffers

cdef class NNCache:
    """KataGo's NN cache: outputs by NN hash in 2^size_pow2 slots, newest wins a slot. Share one
    between searches that use the same net (and the same policy temperature)."""

    def __cinit__(self, int size_pow2=20):
        if not 0 <= size_pow2 <= 30:
            raise ValueError(f"NN cache size power of two must be 0..30, got {size_pow2}")
        self.core = new CacheCore()
        self.core.keys.resize(1 << size_pow2, 0)
        self.core.vals.resize(1 << size_pow2)
        self.core.mask = (1 << size_pow2) - 1

    def __dealloc__(self):
        del self.core

    def clear(self):
        cdef size_t i
        for i in range(self.core.vals.size()):
            self.core.vals[i].reset()
            self.core.keys[i] = 0

    @property
    def hits(self):
        return self.core.hits

    @property
    def misses(self):
        return self.core.misses

    def __len__(self):
        cdef size_t i, n = 0
        for i in range(self.core.vals.size()):
            if self.core.vals[i]:
                n += 1
        return n


cdef class BatchBuffers:
    """Input rows of one forward pass, shared by every search gathering into it."""

    def __cinit__(self, int capacity, int pos_x, pos_y=None):
        cdef int py = pos_x if pos_y is None else pos_y
        if capacity < 8:
            raise ValueError("batch capacity must be at least 8 (a root may need 8 symmetries)")
        if not (2 <= pos_x <= 19 and 2 <= py <= 19):
            raise ValueError(f"batch board size must be 2..19, got {pos_x}x{py}")
        self.capacity = capacity
        self.pos_x = pos_x
        self.pos_y = py
        self.spatial = np.zeros((capacity, NUM_SPATIAL_V7, py, pos_x), np.float32)
        self.global_ = np.zeros((capacity, NUM_GLOBAL_V7), np.float32)
        self.symmetries = np.zeros(capacity, np.int64)
        cdef float[:, :, :, ::1] sp = self.spatial
        cdef float[:, ::1] gl = self.global_
        cdef long long[::1] sy = self.symmetries
        self.sp = &sp[0, 0, 0, 0]
        self.gl = &gl[0, 0]
        self.sym = &sy[0]
        self.n = 0

    def reset(self):
        self.n = 0


# ------------------------------------------------------------------------------------------------
# Random draws (Dirichlet noise needs gammas, wide root noise gaussians)

cdef double rng_gauss(Rng* r) noexcept nogil:
    cdef double u1, u2, rad
    if r.has_gauss:
        r.has_gauss = False
        return r.gauss
    u1 = rng_double(r)
    while u1 <= 1e-300:
        u1 = rng_double(r)
    u2 = rng_double(r)
    rad = sqrt(-2.0 * log(u1))
    r.gauss = rad * cos(2.0 * M_PI * u2 + M_PI / 2.0)
    r.has_gauss = True
    return rad * cos(2.0 * M_PI * u2)

cdef double rng_gamma(Rng* r, double a) noexcept nogil:
    """Marsaglia-Tsang; a < 1 via the a+1 boost."""
    cdef double d, c, x, v, u
    if a <= 0:
        return 0.0
    if a < 1.0:
        u = rng_double(r)
        while u <= 1e-300:
            u = rng_double(r)
        return rng_gamma(r, a + 1.0) * pow(u, 1.0 / a)
    d = a - 1.0 / 3.0
    c = 1.0 / sqrt(9.0 * d)
    while True:
        x = rng_gauss(r)
        v = 1.0 + c * x
        if v <= 0:
            continue
        v = v * v * v
        u = rng_double(r)
        if u < 1.0 - 0.0331 * x * x * x * x:
            return d * v
        if log(u) < 0.5 * x * x + d * (1.0 - v + log(v)):
            return d * v


# ------------------------------------------------------------------------------------------------
# Board helpers

cdef bint _count_empty(const BoardState* b, uint8_t* counted, int start, int* count, int bound,
                       int* stack) noexcept nogil:
    """Flood the empty region of `start`, adding its size to count; True once count > bound."""
    cdef int n_left = 0, n_done = 0, loc, a, i
    if counted[start]:
        return False
    count[0] += 1
    counted[start] = 1
    if count[0] > bound:
        return True
    stack[n_left] = start
    n_left += 1
    while n_done < n_left:
        loc = stack[n_done]
        n_done += 1
        for i in range(4):
            a = loc + b.adj[i]
            if b.color[a] == EMPTY and not counted[a]:
                count[0] += 1
                counted[a] = 1
                if count[0] > bound:
                    return True
                stack[n_left] = a
                n_left += 1
    return False


cdef bint rep_bound_gt(const BoardState* b, int loc, int bound) noexcept nogil:
    """KataGo's simpleRepetitionBoundGt: does the last move's chain plus the empty regions around
    it exceed `bound` points? Only then is the position hashed path-independently."""
    cdef uint8_t counted[MAX_ARR]
    cdef int stack[MAX_ARR]
    cdef int count = 0, cur, i, lib, head
    if loc == NULL_LOC or loc == PASS_LOC:
        return False
    if b.color[loc] != EMPTY:
        head = b.head[loc]
        count += b.csize[head]
        if count + b.libs[head] > bound:
            return True
    memset(counted, 0, MAX_ARR)
    if b.color[loc] == EMPTY:
        return _count_empty(b, counted, loc, &count, bound, stack)
    cur = loc
    while True:
        for i in range(4):
            lib = cur + b.adj[i]
            if b.color[lib] == EMPTY:
                if _count_empty(b, counted, lib, &count, bound, stack):
                    return True
        cur = b.next_stone[cur]
        if cur == loc:
            break
    return False


cdef bint non_pass_alive_self_connection(const BoardState* b, int loc, int pla,
                                         const uint8_t* area) noexcept nogil:
    """KataGo's isNonPassAliveSelfConnection: an empty point joining a non-pass-alive chain of
    pla to another chain of pla."""
    cdef int i, a, head = NULL_LOC
    if b.color[loc] != EMPTY or area[loc] == pla:
        return False
    for i in range(4):
        a = loc + b.adj[i]
        if b.color[a] == pla and area[a] == EMPTY:
            head = b.head[a]
            break
    if head == NULL_LOC:
        return False
    for i in range(4):
        a = loc + b.adj[i]
        if b.color[a] == pla and b.head[a] != head:
            return True
    return False
