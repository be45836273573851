# Ladder search on the C board (KataGo's `searchIsLadderCaptured*` semantics), for the
# neural-net input planes 14..17 and for move heuristics. Everything works on a scratch copy of
# the BoardState and never touches the caller's board. See ladder.pyx for the search rules.

from libc.stdint cimport uint8_t
from goloop.common.go.board cimport BoardState

cdef enum:
    LADDER_NODE_BUDGET = 25000   # moves played per query; reaching it means "not laddered"

# Chain at `loc` (1 liberty if defender_first, 1 or 2 otherwise) cannot escape a ladder.
# defender_first: the chain's owner moves first (the existing simple-ko ban is then ignored).
cdef bint search_is_ladder_captured(const BoardState* b, int loc, bint defender_first) noexcept nogil

# Chain at `loc` has exactly 2 liberties and the attacker can ladder it by filling one of them.
# working_moves (room for 2) receives the liberties that work, in liberty order; *n_working their
# count (0 when the answer is False). The attacker's first move obeys b.ko_loc.
cdef bint search_is_ladder_captured_attacker_first_2_libs(
    const BoardState* b, int loc, int* working_moves, int* n_working) noexcept nogil

# Planes 14 and 17 as loc-indexed maps (MAX_ARR entries each, zeroed here): laddered[loc] = 1 on
# every stone of a chain with 1 or 2 liberties that is ladder-captured (1 liberty: defender to
# move; 2 liberties: attacker to move); working_moves_for_pla[loc] = 1 on the working first moves
# against opp(pla)'s laddered 2-liberty chains.
cdef void compute_ladder_planes(const BoardState* b, uint8_t* laddered,
                                uint8_t* working_moves_for_pla, int pla) noexcept nogil

# `pla` playing the legal move `loc` leaves some adjacent opponent chain in atari from which it
# cannot escape by ladder (defender to move, as search_is_ladder_captured(..., True)).
cdef bint move_puts_in_inescapable_atari(const BoardState* b, int loc, int pla) noexcept nogil
