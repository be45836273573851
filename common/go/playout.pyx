# cython: language_level=3
"""Uniformly random playouts on the C board: the board's speed benchmark (bench/board_bench.py).

A playout never fills its own simple eye and never plays multi-stone suicide, so games end by
two passes. Candidate points are drawn from an array of empty points kept in step with the
board (rebuilt only after a capture), so a move costs O(1) expected work plus the board update.
"""
from libc.stdint cimport uint64_t
from goloop.common.go.board cimport (BoardState, board_init, is_legal_move, is_simple_eye,
                                  play_unsafe, loc_of, MAX_ARR, EMPTY, BLACK, PASS_LOC)


cdef inline uint64_t _xorshift(uint64_t* s) noexcept nogil:
    s[0] ^= s[0] << 13
    s[0] ^= s[0] >> 7
    s[0] ^= s[0] << 17
    return s[0]


cdef int _rebuild_empty(const BoardState* b, int* empties) noexcept nogil:
    cdef int n = 0, x, y, l
    for y in range(b.y_size):
        for x in range(b.x_size):
            l = loc_of(b, x, y)
            if b.color[l] == EMPTY:
                empties[n] = l
                n += 1
    return n


cdef long _playout(BoardState* b, uint64_t* rng, int max_moves) noexcept nogil:
    cdef int empties[MAX_ARR]
    cdef int n = _rebuild_empty(b, empties)
    cdef int pla = BLACK, passes = 0, moves = 0, played = 0
    cdef int tries, i, loc, tmp, captured
    while passes < 2 and moves < max_moves:
        loc = PASS_LOC
        tries = n
        while tries > 0:
            i = <int>(_xorshift(rng) % <uint64_t>tries)
            tmp = empties[i]
            if is_legal_move(b, tmp, pla, False) and not is_simple_eye(b, tmp, pla):
                loc = tmp
                # Remove it from the empty list by swapping in the last entry.
                n -= 1
                empties[i] = empties[n]
                empties[n] = tmp
                break
            # Move the rejected point out of the sampling range for this turn.
            tries -= 1
            empties[i] = empties[tries]
            empties[tries] = tmp
        if loc == PASS_LOC:
            passes += 1
            play_unsafe(b, PASS_LOC, pla)
        else:
            passes = 0
            captured = play_unsafe(b, loc, pla)
            played += 1
            if captured > 0:
                n = _rebuild_empty(b, empties)
        moves += 1
        pla = 3 - pla
    return played


def random_playouts(int x_size, int y_size, int games, unsigned long long seed=1, int max_moves=1000):
    """Play `games` random games from the empty board; return the total number of stones played."""
    cdef BoardState b
    cdef uint64_t rng = seed * 0x9E3779B97F4A7C15ULL + 1
    cdef long total = 0
    cdef int g
    with nogil:
        for g in range(games):
            board_init(&b, x_size, y_size)
            total += _playout(&b, &rng, max_moves)
    return total
