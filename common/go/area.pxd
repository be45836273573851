# Area maps for scoring and NN features (KataGo's calculateArea / calculateIndependentLifeArea).
#
# Every function fills a caller-provided uint8_t result[MAX_ARR] indexed by board loc, with
# EMPTY (0) for nobody, BLACK (1) or WHITE (2); off-board entries are left 0.
# `suicide_legal` is "multi-stone suicide legal for pass-alive purposes" (rules.md 6.1): it decides
# whether a vital region needs all its points or only its empty points next to the chain.

from libc.stdint cimport uint8_t
from goloop.common.go.board cimport BoardState

# Benson pass-alive analysis for one colour, marking into `result` without clearing it first
# (black then white share one map; see rules.md 6.1 for the marking order).
cdef void calculate_area_for_pla(const BoardState* b, int pla, bint safe_big_territories,
                                 bint unsafe_big_territories, bint suicide_legal,
                                 uint8_t* result) noexcept nogil

# rules.md 6.2: pass-alive stones and territory of both colours, plus optionally every remaining
# stone, safe big territories and unsafe big territories.
cdef void calculate_area(const BoardState* b, uint8_t* result, bint non_pass_alive_stones,
                         bint safe_big_territories, bint unsafe_big_territories,
                         bint is_multi_stone_suicide_legal) noexcept nogil

# rules.md 6.3: the area of components that live independently (not seki-like); returns the
# number of such components, white minus black (the TAX_ALL group count).
cdef int calculate_independent_life_area(const BoardState* b, uint8_t* result,
                                         bint keep_territories, bint keep_stones,
                                         bint is_multi_stone_suicide_legal) noexcept nogil
