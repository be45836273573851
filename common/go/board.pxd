# The C-level board shared by every Cython module (history, area, ladders, features, search).
#
# Layout (KataGo's): a board of X x Y points lives in a padded array with row stride X+1, so
# location loc = (x+1) + (y+1)*(X+1). Row 0, row Y+1 and column 0 of every row are walls; the
# wall column doubles as the right edge of the previous row. Neighbours are loc +/-1 and
# loc +/-stride, with no bounds checks. Loc 0 is NULL_LOC and loc 1 is PASS_LOC (both walls).
#
# A BoardState is a plain struct so that search can copy it with one memcpy and work on it
# without the GIL.

from libc.stdint cimport uint64_t, int16_t, uint8_t

cdef enum:
    MAX_LEN = 19
    MAX_ARR = (MAX_LEN + 1) * (MAX_LEN + 2) + 1
    EMPTY = 0
    BLACK = 1
    WHITE = 2
    WALL = 3
    NULL_LOC = 0
    PASS_LOC = 1

cdef struct BoardState:
    int x_size
    int y_size
    int stride
    int adj[4]
    uint8_t color[MAX_ARR]
    int16_t head[MAX_ARR]        # chain head of each stone
    int16_t next_stone[MAX_ARR]  # circular list of a chain's stones
    int16_t libs[MAX_ARR]        # liberties, valid at chain heads
    int16_t csize[MAX_ARR]       # stones, valid at chain heads
    int ko_loc                   # simple-ko-banned point for the next move, or NULL_LOC
    uint64_t hash                # Zobrist hash of size + stones (not side to move, not ko)
    int captured[3]              # captured[c]: stones of colour c removed so far (suicide too)

# Zobrist keys, filled once at import.
cdef uint64_t ZOBRIST_BOARD[MAX_ARR][4]
cdef uint64_t ZOBRIST_PLAYER[4]
cdef uint64_t ZOBRIST_SIZE_X[MAX_LEN + 1]
cdef uint64_t ZOBRIST_SIZE_Y[MAX_LEN + 1]

cdef inline int opp(int pla) noexcept nogil:
    return 3 - pla

cdef inline int loc_of(const BoardState* b, int x, int y) noexcept nogil:
    return (x + 1) + (y + 1) * b.stride

cdef inline int loc_x(const BoardState* b, int loc) noexcept nogil:
    return (loc % b.stride) - 1

cdef inline int loc_y(const BoardState* b, int loc) noexcept nogil:
    return (loc // b.stride) - 1

cdef inline bint on_board(const BoardState* b, int loc) noexcept nogil:
    return loc > PASS_LOC and loc < MAX_ARR and b.color[loc] != WALL

cdef inline int adjacent_heads(const BoardState* b, int loc, int color, int* heads) noexcept nogil:
    """Write the distinct chain heads of `color` next to loc into heads[0..3]; return how many."""
    cdef int i, j, a, h, n = 0
    for i in range(4):
        a = loc + b.adj[i]
        if b.color[a] == color:
            h = b.head[a]
            for j in range(n):
                if heads[j] == h:
                    break
            else:
                heads[n] = h
                n += 1
    return n

cdef void board_init(BoardState* b, int x_size, int y_size) noexcept nogil
cdef bint is_suicide(const BoardState* b, int loc, int pla) noexcept nogil
cdef bint is_single_stone_suicide(const BoardState* b, int loc, int pla) noexcept nogil
cdef bint is_playable(const BoardState* b, int loc, int pla) noexcept nogil
cdef bint is_legal_move(const BoardState* b, int loc, int pla, bint multi_suicide_ok) noexcept nogil
cdef bint would_capture(const BoardState* b, int loc, int pla) noexcept nogil
cdef bint is_simple_eye(const BoardState* b, int loc, int pla) noexcept nogil
cdef int play_unsafe(BoardState* b, int loc, int pla) noexcept nogil
cdef void set_stone(BoardState* b, int loc, int color) noexcept nogil
cdef int chain_liberties(const BoardState* b, int head, int* out, int max_out) noexcept nogil
cdef int count_empty_adjacent(const BoardState* b, int loc) noexcept nogil

cdef class Board:
    cdef BoardState s
    cdef Board _copy(self)
    cdef int _loc(self, move) except -1
