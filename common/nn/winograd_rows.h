// The 1-D transforms of Winograd's F(4x4, 3x3), applied elementwise to rows of c channels.
// Plain C++ so that the pointers can be declared __restrict__: without it the compiler must
// assume the 6 input and 6 output rows overlap and leaves the channel loops unvectorised
// (measured: the input transform ran 4x slower). target_clones adds an AVX2 copy chosen at load
// time on CPUs that have it (input transform of a 96-channel 19x19 board: 47 -> 28 us), while
// the default copy keeps the module loadable anywhere. Used by winograd_tiles.pyx.
#pragma once
#include <cstddef>

// o = B^T (d0..d5)
__attribute__((target_clones("avx2", "default")))
static void goloop_rows_bt(const float* __restrict__ d0, const float* __restrict__ d1,
                                  const float* __restrict__ d2, const float* __restrict__ d3,
                                  const float* __restrict__ d4, const float* __restrict__ d5,
                                  float* __restrict__ o0, float* __restrict__ o1,
                                  float* __restrict__ o2, float* __restrict__ o3,
                                  float* __restrict__ o4, float* __restrict__ o5, std::ptrdiff_t c) {
    for (std::ptrdiff_t k = 0; k < c; ++k) {
        const float a1 = d1[k], a2 = d2[k], a3 = d3[k], a4 = d4[k];
        o0[k] = 4.0f * d0[k] - 5.0f * a2 + a4;
        o1[k] = a3 + a4 - 4.0f * (a1 + a2);
        o2[k] = 4.0f * (a1 - a2) + a4 - a3;
        o3[k] = 2.0f * (a3 - a1) + a4 - a2;
        o4[k] = 2.0f * (a1 - a3) + a4 - a2;
        o5[k] = 4.0f * a1 - 5.0f * a3 + d5[k];
    }
}

// o = A^T (m0..m5)
__attribute__((target_clones("avx2", "default")))
static void goloop_rows_at(const float* __restrict__ m0, const float* __restrict__ m1,
                                  const float* __restrict__ m2, const float* __restrict__ m3,
                                  const float* __restrict__ m4, const float* __restrict__ m5,
                                  float* __restrict__ o0, float* __restrict__ o1,
                                  float* __restrict__ o2, float* __restrict__ o3, std::ptrdiff_t c) {
    for (std::ptrdiff_t k = 0; k < c; ++k) {
        const float s12 = m1[k] + m2[k], d12 = m1[k] - m2[k];
        const float s34 = m3[k] + m4[k], d34 = m3[k] - m4[k];
        o0[k] = m0[k] + s12 + s34;
        o1[k] = d12 + 2.0f * d34;
        o2[k] = s12 + 4.0f * s34;
        o3[k] = d12 + 8.0f * d34 + m5[k];
    }
}
