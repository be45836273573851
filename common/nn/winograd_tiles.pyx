# cython: boundscheck=False, wraparound=False, initializedcheck=False
"""The data transforms of Winograd's F(4x4, 3x3) convolution, on channels-last activations.

A 3x3 'same' convolution is computed tile by tile: each 6x6 input patch d (stride 4, one point
of zero padding around the board) becomes V = B^T d B, the channel mixing is 36 independent
matrix products M[k] = V[k] @ U[k] (done by torch.bmm in winograd.py), and each 4x4 output
block is Y = A^T M A. These two loops are the B^T.B and A^T.A parts. Every transform is a few
additions per point, so the loops run over channels innermost, where the data is contiguous and
the compiler vectorises them (winograd_rows.h); the matrices' coefficients (Lavin & Gray 2016, points 0, +-1, +-2,
infinity) are written out rather than multiplied as matrices.

Layouts: x is N x H x W x C; v and m are 36 x T x C with T = N * th * tw tiles, tile index
(n * th + ty) * tw + tx, and row k = 6a + b of the 6x6 transform; y is N x H x W x C.
"""
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset


cdef extern from "winograd_rows.h" nogil:
    void _rows_bt "goloop_rows_bt"(const float* d0, const float* d1, const float* d2,
                                   const float* d3, const float* d4, const float* d5, float* o0,
                                   float* o1, float* o2, float* o3, float* o4, float* o5,
                                   Py_ssize_t c)
    void _rows_at "goloop_rows_at"(const float* m0, const float* m1, const float* m2,
                                   const float* m3, const float* m4, const float* m5, float* o0,
                                   float* o1, float* o2, float* o3, Py_ssize_t c)


def input_transform(const float[:, :, :, ::1] x, float[:, :, ::1] v, int th, int tw):
    """v[6a+b, tile, :] = (B^T d B)[a, b] for the zero-padded 6x6 patch d of every tile."""
    cdef Py_ssize_t n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
    cdef Py_ssize_t tiles = v.shape[1]
    if v.shape[0] != 36 or v.shape[2] != c or tiles != n * th * tw or 4 * th < h or 4 * tw < w:
        raise ValueError(f"input_transform: v {tuple(v.shape)} does not fit x {tuple(x.shape)} "
                         f"in {th}x{tw} tiles")
    cdef float* zero = <float*>malloc(c * sizeof(float))
    cdef float* tmp = <float*>malloc(36 * c * sizeof(float))
    cdef const float* d[36]
    cdef float* out
    cdef Py_ssize_t b, ty, tx, i, j, yy, xx, t, k, stride = tiles * c
    if zero == NULL or tmp == NULL:
        free(zero)
        free(tmp)
        raise MemoryError()
    with nogil:
        memset(zero, 0, c * sizeof(float))
        for b in range(n):
            for ty in range(th):
                for tx in range(tw):
                    for i in range(6):
                        yy = 4 * ty - 1 + i
                        for j in range(6):
                            xx = 4 * tx - 1 + j
                            if 0 <= yy < h and 0 <= xx < w:
                                d[6 * i + j] = &x[b, yy, xx, 0]
                            else:
                                d[6 * i + j] = zero
                    # Columns first: tmp[6a + j] = sum_i B^T[a, i] d[i, j] ...
                    for j in range(6):
                        _rows_bt(d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j],
                                 tmp + j * c, tmp + (6 + j) * c, tmp + (12 + j) * c,
                                 tmp + (18 + j) * c, tmp + (24 + j) * c, tmp + (30 + j) * c, c)
                    # ... then rows: v[6a + b] = sum_j tmp[6a + j] B^T[b, j].
                    t = (b * th + ty) * tw + tx
                    out = &v[0, t, 0]
                    for k in range(6):
                        _rows_bt(tmp + 6 * k * c, tmp + (6 * k + 1) * c, tmp + (6 * k + 2) * c,
                                 tmp + (6 * k + 3) * c, tmp + (6 * k + 4) * c,
                                 tmp + (6 * k + 5) * c,
                                 out + (6 * k) * stride, out + (6 * k + 1) * stride,
                                 out + (6 * k + 2) * stride, out + (6 * k + 3) * stride,
                                 out + (6 * k + 4) * stride, out + (6 * k + 5) * stride, c)
    free(zero)
    free(tmp)


def output_transform(const float[:, :, ::1] m, float[:, :, :, ::1] y, int th, int tw):
    """y[4ty+p, 4tx+q, :] = (A^T M A)[p, q] for every tile's 6x6 block M, cropped to y."""
    cdef Py_ssize_t n = y.shape[0], h = y.shape[1], w = y.shape[2], c = y.shape[3]
    cdef Py_ssize_t tiles = m.shape[1]
    if m.shape[0] != 36 or m.shape[2] != c or tiles != n * th * tw or 4 * th < h or 4 * tw < w:
        raise ValueError(f"output_transform: m {tuple(m.shape)} does not fit y {tuple(y.shape)} "
                         f"in {th}x{tw} tiles")
    cdef float* tmp = <float*>malloc(24 * c * sizeof(float))
    cdef float* blk = <float*>malloc(16 * c * sizeof(float))
    cdef const float* src
    cdef Py_ssize_t b, ty, tx, p, q, k, t, yy, xx, stride = tiles * c
    if tmp == NULL or blk == NULL:
        free(tmp)
        free(blk)
        raise MemoryError()
    with nogil:
        for b in range(n):
            for ty in range(th):
                for tx in range(tw):
                    t = (b * th + ty) * tw + tx
                    src = &m[0, t, 0]
                    # Columns: tmp[6p + k] = sum_a A^T[p, a] M[a, k] ...
                    for k in range(6):
                        _rows_at(src + k * stride, src + (6 + k) * stride,
                                 src + (12 + k) * stride, src + (18 + k) * stride,
                                 src + (24 + k) * stride, src + (30 + k) * stride,
                                 tmp + k * c, tmp + (6 + k) * c, tmp + (12 + k) * c,
                                 tmp + (18 + k) * c, c)
                    # ... then rows: blk[4p + q] = sum_k tmp[6p + k] A^T[q, k].
                    for p in range(4):
                        _rows_at(tmp + 6 * p * c, tmp + (6 * p + 1) * c, tmp + (6 * p + 2) * c,
                                 tmp + (6 * p + 3) * c, tmp + (6 * p + 4) * c,
                                 tmp + (6 * p + 5) * c, blk + 4 * p * c,
                                 blk + (4 * p + 1) * c, blk + (4 * p + 2) * c,
                                 blk + (4 * p + 3) * c, c)
                    for p in range(4):
                        yy = 4 * ty + p
                        if yy >= h:
                            break
                        for q in range(4):
                            xx = 4 * tx + q
                            if xx >= w:
                                break
                            memcpy(&y[b, yy, xx, 0], blk + (4 * p + q) * c, c * sizeof(float))
    free(tmp)
    free(blk)
