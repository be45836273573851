# cython: language_level=3
"""The Go board: stones, chains with liberty counts, captures, suicide, simple ko, Zobrist hash.

This is the one hot data structure of the project: search copies it once per visit and plays a
handful of moves on the copy, so every operation here works on a plain C struct without the GIL
(see board.pxd for the padded layout). Chains are circular linked lists with the liberty count
kept at the chain head; liberties are updated incrementally on the common paths (a stone that
joins at most one friendly chain) and recounted only when several chains merge.

Rules beyond the board itself (superko, passes, encore, scoring) live in history.pyx; this
module knows only single-stone-suicide (always illegal) and the multi-stone-suicide flag.
"""
from libc.string cimport memset, memcpy
from libc.stdint cimport uint64_t, int16_t, uint8_t
import numpy as np
from operator import index

# ---------------------------------------------------------------------------------------------
# Zobrist keys from a fixed splitmix64 stream, so hashes are stable across runs and machines.

cdef uint64_t _splitmix_state = 0x9E3779B97F4A7C15ULL

cdef uint64_t _splitmix64() noexcept nogil:
    global _splitmix_state
    _splitmix_state += 0x9E3779B97F4A7C15ULL
    cdef uint64_t z = _splitmix_state
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)

cdef void _init_zobrist() noexcept nogil:
    cdef int i, c
    for i in range(MAX_ARR):
        for c in range(4):
            # Slot EMPTY keys the encore's ko-recapture marks (history.pyx); WALL stays unused.
            ZOBRIST_BOARD[i][c] = _splitmix64() if c != WALL else 0
    for c in range(4):
        ZOBRIST_PLAYER[c] = _splitmix64() if (c == BLACK or c == WHITE) else 0
    for i in range(MAX_LEN + 1):
        ZOBRIST_SIZE_X[i] = _splitmix64()
        ZOBRIST_SIZE_Y[i] = _splitmix64()

_init_zobrist()

# ---------------------------------------------------------------------------------------------
# C-level operations.

cdef void board_init(BoardState* b, int x_size, int y_size) noexcept nogil:
    cdef int i, x, y
    memset(b, 0, sizeof(BoardState))
    b.x_size = x_size
    b.y_size = y_size
    b.stride = x_size + 1
    b.adj[0] = -b.stride
    b.adj[1] = -1
    b.adj[2] = 1
    b.adj[3] = b.stride
    for i in range(MAX_ARR):
        b.color[i] = WALL
    for y in range(y_size):
        for x in range(x_size):
            b.color[(x + 1) + (y + 1) * b.stride] = EMPTY
    b.ko_loc = NULL_LOC
    b.hash = ZOBRIST_SIZE_X[x_size] ^ ZOBRIST_SIZE_Y[y_size]


cdef bint is_suicide(const BoardState* b, int loc, int pla) noexcept nogil:
    """Whether a stone of `pla` on empty `loc` would have no liberties after its captures."""
    cdef int i, a, c
    cdef int o = 3 - pla
    for i in range(4):
        a = loc + b.adj[i]
        c = b.color[a]
        if c == EMPTY:
            return False
        if c == pla:
            if b.libs[b.head[a]] > 1:
                return False
        elif c == o:
            if b.libs[b.head[a]] == 1:
                return False
    return True


cdef bint is_single_stone_suicide(const BoardState* b, int loc, int pla) noexcept nogil:
    cdef int i
    for i in range(4):
        if b.color[loc + b.adj[i]] == pla:
            return False
    return is_suicide(b, loc, pla)


cdef bint is_playable(const BoardState* b, int loc, int pla) noexcept nogil:
    """GTP `play` tolerance: a pass, or an empty on-board point that is not single-stone suicide."""
    if loc == PASS_LOC:
        return True
    if not on_board(b, loc) or b.color[loc] != EMPTY:
        return False
    return not is_single_stone_suicide(b, loc, pla)


cdef bint is_legal_move(const BoardState* b, int loc, int pla, bint multi_suicide_ok) noexcept nogil:
    """Board-level legality: playable, not the simple-ko point, multi-stone suicide per flag."""
    cdef int i
    cdef bint has_friend = False
    if loc == PASS_LOC:
        return True
    if not on_board(b, loc) or b.color[loc] != EMPTY or loc == b.ko_loc:
        return False
    if not is_suicide(b, loc, pla):
        return True
    if not multi_suicide_ok:
        return False
    for i in range(4):
        if b.color[loc + b.adj[i]] == pla:
            has_friend = True
    return has_friend


cdef bint would_capture(const BoardState* b, int loc, int pla) noexcept nogil:
    cdef int i, a
    cdef int o = 3 - pla
    for i in range(4):
        a = loc + b.adj[i]
        if b.color[a] == o and b.libs[b.head[a]] == 1:
            return True
    return False


cdef bint is_simple_eye(const BoardState* b, int loc, int pla) noexcept nogil:
    """Every on-board neighbour is pla's: filling it is almost never right (playouts skip it)."""
    cdef int i, c
    for i in range(4):
        c = b.color[loc + b.adj[i]]
        if c != pla and c != WALL:
            return False
    return True


cdef int count_empty_adjacent(const BoardState* b, int loc) noexcept nogil:
    cdef int i, n = 0
    for i in range(4):
        if b.color[loc + b.adj[i]] == EMPTY:
            n += 1
    return n


cdef inline bint _adjacent_to_chain(const BoardState* b, int loc, int head) noexcept nogil:
    cdef int i, a
    for i in range(4):
        a = loc + b.adj[i]
        if b.color[a] != EMPTY and b.color[a] != WALL and b.head[a] == head:
            return True
    return False


cdef int chain_liberties(const BoardState* b, int head, int* out, int max_out) noexcept nogil:
    """Write up to max_out distinct liberties of the chain at `head`; return how many were found."""
    cdef uint8_t seen[MAX_ARR]
    cdef int n = 0, s = head, i, a
    memset(seen, 0, MAX_ARR)
    while True:
        for i in range(4):
            a = s + b.adj[i]
            if b.color[a] == EMPTY and not seen[a]:
                seen[a] = 1
                if n < max_out:
                    out[n] = a
                n += 1
        s = b.next_stone[s]
        if s == head:
            break
    return n if n < max_out else max_out


cdef int _count_liberties(const BoardState* b, int head) noexcept nogil:
    cdef uint8_t seen[MAX_ARR]
    cdef int n = 0, s = head, i, a
    memset(seen, 0, MAX_ARR)
    while True:
        for i in range(4):
            a = s + b.adj[i]
            if b.color[a] == EMPTY and not seen[a]:
                seen[a] = 1
                n += 1
        s = b.next_stone[s]
        if s == head:
            break
    return n


cdef int _remove_chain(BoardState* b, int head) noexcept nogil:
    """Take a chain off the board, giving liberties back to the neighbouring chains."""
    cdef int col = b.color[head]
    cdef int o = 3 - col
    cdef int s = head, i, j, a, h, n = 0
    cdef int seen_heads[4]
    cdef int nseen
    while True:
        b.color[s] = EMPTY
        b.hash ^= ZOBRIST_BOARD[s][col]
        n += 1
        s = b.next_stone[s]
        if s == head:
            break
    s = head
    while True:
        nseen = adjacent_heads(b, s, o, seen_heads)
        for j in range(nseen):
            b.libs[seen_heads[j]] += 1
        s = b.next_stone[s]
        if s == head:
            break
    b.captured[col] += n
    return n


cdef void _merge_into(BoardState* b, int keep, int other) noexcept nogil:
    """Relabel chain `other` as part of chain `keep` and splice the two stone rings."""
    cdef int s = other
    cdef int tmp
    while True:
        b.head[s] = keep
        s = b.next_stone[s]
        if s == other:
            break
    tmp = b.next_stone[keep]
    b.next_stone[keep] = b.next_stone[other]
    b.next_stone[other] = tmp
    b.csize[keep] += b.csize[other]


cdef int play_unsafe(BoardState* b, int loc, int pla) noexcept nogil:
    """Play a stone that is_playable allows (or a pass). Returns the number of stones captured.

    Multi-stone suicide is carried out (the chain is removed), since GTP `play` accepts it and
    rules that allow it need it; callers that must forbid it check is_legal_move first.
    """
    cdef int o = 3 - pla
    cdef int i, j, a, h, k
    cdef int heads[4]
    cdef int nheads = 0
    cdef int captured = 0, captured_loc = NULL_LOC, n
    cdef int own = -1
    cdef int nown = 0
    cdef int own_heads[4]

    if loc == PASS_LOC:
        b.ko_loc = NULL_LOC
        return 0

    b.color[loc] = pla
    b.hash ^= ZOBRIST_BOARD[loc][pla]
    b.head[loc] = loc
    b.next_stone[loc] = loc
    b.csize[loc] = 1
    b.libs[loc] = 0

    # Each distinct neighbouring opponent chain loses this point as a liberty.
    nheads = adjacent_heads(b, loc, o, heads)
    for j in range(nheads):
        b.libs[heads[j]] -= 1
    for j in range(nheads):
        h = heads[j]
        if b.libs[h] == 0:
            n = _remove_chain(b, h)
            captured += n
            if n == 1:
                captured_loc = h

    # Join friendly chains (the new stone is its own head, not yet one of them).
    nown = adjacent_heads(b, loc, pla, own_heads)
    if nown == 0:
        b.libs[loc] = count_empty_adjacent(b, loc)
        h = loc
    elif nown == 1:
        h = own_heads[0]
        # The new stone filled one liberty of h and adds its empty neighbours not already on h.
        k = b.libs[h] - 1
        for i in range(4):
            a = loc + b.adj[i]
            if b.color[a] == EMPTY and not _adjacent_to_chain(b, a, h):
                k += 1
        _merge_into(b, h, loc)
        b.libs[h] = k
    else:
        # Keep the biggest chain's head to relabel the fewest stones.
        h = own_heads[0]
        for j in range(1, nown):
            if b.csize[own_heads[j]] > b.csize[h]:
                h = own_heads[j]
        _merge_into(b, h, loc)
        for j in range(nown):
            if own_heads[j] != h:
                _merge_into(b, h, own_heads[j])
        b.libs[h] = _count_liberties(b, h)

    b.ko_loc = NULL_LOC
    if b.libs[h] == 0:
        _remove_chain(b, h)
    elif captured == 1 and b.csize[h] == 1 and b.libs[h] == 1:
        b.ko_loc = captured_loc
    return captured


cdef void set_stone(BoardState* b, int loc, int color) noexcept nogil:
    """Put or remove one stone with no captures, then rebuild chains (setup positions only)."""
    cdef int x, y, l, i, a, h, j
    cdef int own_heads[4]
    cdef int nown
    cdef int old = b.color[loc]
    if old == BLACK or old == WHITE:
        b.hash ^= ZOBRIST_BOARD[loc][old]
    b.color[loc] = color
    if color == BLACK or color == WHITE:
        b.hash ^= ZOBRIST_BOARD[loc][color]
    # Rebuild every chain from scratch: rare operation, simplest correct thing.
    for y in range(b.y_size):
        for x in range(b.x_size):
            l = (x + 1) + (y + 1) * b.stride
            b.head[l] = l
            b.next_stone[l] = l
            b.csize[l] = 1
            b.libs[l] = 0
    for y in range(b.y_size):
        for x in range(b.x_size):
            l = (x + 1) + (y + 1) * b.stride
            if b.color[l] != BLACK and b.color[l] != WHITE:
                continue
            for i in range(2):  # up and left neighbours are already processed
                a = l + b.adj[i]
                if b.color[a] == b.color[l] and b.head[a] != b.head[l]:
                    h = b.head[a]
                    if b.csize[h] >= b.csize[b.head[l]]:
                        _merge_into(b, h, b.head[l])
                    else:
                        _merge_into(b, b.head[l], h)
    for y in range(b.y_size):
        for x in range(b.x_size):
            l = (x + 1) + (y + 1) * b.stride
            if (b.color[l] == BLACK or b.color[l] == WHITE) and b.head[l] == l:
                b.libs[l] = _count_liberties(b, l)
    b.ko_loc = NULL_LOC


# ---------------------------------------------------------------------------------------------
# Python face. Colours are 1 = black, 2 = white; points are (x, y) with y = 0 the top row.

_COLOR_NAMES = {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}


def color_of(value):
    """Accept 1/2 or 'B'/'W'/'black'/'white' and return 1 or 2."""
    if isinstance(value, str):
        c = _COLOR_NAMES.get(value.lower())
        if c is None:
            raise ValueError(f"not a colour: {value!r}")
        return c
    if value in (BLACK, WHITE):
        return int(value)
    raise ValueError(f"not a colour: {value!r}")


cdef class Board:
    """A Go board of 2..19 x 2..19 points. Moves are (x, y) tuples or None for a pass."""

    def __init__(self, int x_size=19, y_size=None):
        cdef int ys = x_size if y_size is None else y_size
        if not (2 <= x_size <= MAX_LEN and 2 <= ys <= MAX_LEN):
            raise ValueError(f"board size {x_size}x{ys} not supported (2..{MAX_LEN} each way)")
        board_init(&self.s, x_size, ys)

    cdef Board _copy(self):
        cdef Board other = Board.__new__(Board)
        memcpy(&other.s, &self.s, sizeof(BoardState))
        return other

    def copy(self):
        return self._copy()

    def __copy__(self):
        return self._copy()

    def __deepcopy__(self, memo):
        return self._copy()

    @property
    def x_size(self):
        return self.s.x_size

    @property
    def y_size(self):
        return self.s.y_size

    @property
    def hash(self):
        """Zobrist hash of the stones (and board size): equal positions hash equal."""
        return self.s.hash

    @property
    def ko(self):
        """The point banned by simple ko for the next move, or None."""
        if self.s.ko_loc == NULL_LOC:
            return None
        return (loc_x(&self.s, self.s.ko_loc), loc_y(&self.s, self.s.ko_loc))

    @property
    def captures(self):
        """{1: black stones removed so far, 2: white stones removed so far}."""
        return {BLACK: self.s.captured[BLACK], WHITE: self.s.captured[WHITE]}

    cdef int _loc(self, move) except -1:
        if move is None:
            return PASS_LOC
        try:
            x, y = move
            x, y = index(x), index(y)   # refuse 1.5 rather than truncate it
            if not (0 <= x < self.s.x_size and 0 <= y < self.s.y_size):
                raise IndexError
        except (TypeError, ValueError):
            raise ValueError(f"not a move: {move!r} (expected (x, y) or None)") from None
        except IndexError:
            raise ValueError(f"point {move} is off a {self.s.x_size}x{self.s.y_size} board")
        return loc_of(&self.s, x, y)

    def loc(self, move):
        """The internal location of (x, y) (or PASS_LOC for None): for tests and Cython callers."""
        return self._loc(move)

    def get(self, int x, int y):
        return self.s.color[self._loc((x, y))]

    def __getitem__(self, move):
        return self.s.color[self._loc(move)]

    def is_playable(self, move, color):
        """GTP `play` tolerance: empty and not single-stone suicide (ko and superko allowed)."""
        return is_playable(&self.s, self._loc(move), color_of(color))

    def is_legal(self, move, color, bint multi_stone_suicide_legal=False):
        """Board-level legality: playable, not the simple-ko point, suicide per the flag."""
        return is_legal_move(&self.s, self._loc(move), color_of(color), multi_stone_suicide_legal)

    def is_suicide(self, move, color):
        cdef int loc = self._loc(move)
        if loc == PASS_LOC or self.s.color[loc] != EMPTY:
            return False
        return is_suicide(&self.s, loc, color_of(color))

    def play(self, move, color):
        """Play a move GTP would accept; raise ValueError otherwise. Returns stones captured."""
        cdef int loc = self._loc(move)
        cdef int pla = color_of(color)
        if not is_playable(&self.s, loc, pla):
            if self.s.color[loc] != EMPTY:
                raise ValueError(f"illegal move {move}: point is occupied")
            raise ValueError(f"illegal move {move}: single-stone suicide")
        return play_unsafe(&self.s, loc, pla)

    def set_stone(self, move, color):
        """Place (color 1/2) or remove (color 0) a stone without captures: for setup positions."""
        cdef int loc = self._loc(move)
        if loc == PASS_LOC:
            raise ValueError("cannot place a stone on pass")
        if color not in (EMPTY, BLACK, WHITE):
            color = color_of(color)
        set_stone(&self.s, loc, color)

    def chain(self, move):
        """The points of the chain at `move` (empty set for an empty point)."""
        cdef int loc = self._loc(move)
        cdef int s
        if self.s.color[loc] not in (BLACK, WHITE):
            return frozenset()
        out = []
        s = loc
        while True:
            out.append((loc_x(&self.s, s), loc_y(&self.s, s)))
            s = self.s.next_stone[s]
            if s == loc:
                break
        return frozenset(out)

    def liberty_count(self, move):
        """Liberties of the chain at `move` as the board tracks them incrementally."""
        cdef int loc = self._loc(move)
        if self.s.color[loc] not in (BLACK, WHITE):
            return 0
        return self.s.libs[self.s.head[loc]]

    def liberties(self, move):
        """The liberty points of the chain at `move`, recomputed from the stones."""
        cdef int loc = self._loc(move)
        cdef int buf[MAX_ARR]
        cdef int n, i
        if self.s.color[loc] not in (BLACK, WHITE):
            return frozenset()
        n = chain_liberties(&self.s, self.s.head[loc], buf, MAX_ARR)
        return frozenset((loc_x(&self.s, buf[i]), loc_y(&self.s, buf[i])) for i in range(n))

    def stones(self):
        """The board as a (y_size, x_size) int8 array: 0 empty, 1 black, 2 white."""
        out = np.zeros((self.s.y_size, self.s.x_size), dtype=np.int8)
        cdef signed char[:, :] view = out
        cdef int x, y
        for y in range(self.s.y_size):
            for x in range(self.s.x_size):
                view[y, x] = self.s.color[loc_of(&self.s, x, y)]
        return out

    def hash_from_scratch(self):
        """Recompute the Zobrist hash from the stones: the incremental one must equal it."""
        cdef uint64_t h = ZOBRIST_SIZE_X[self.s.x_size] ^ ZOBRIST_SIZE_Y[self.s.y_size]
        cdef int x, y, l
        for y in range(self.s.y_size):
            for x in range(self.s.x_size):
                l = loc_of(&self.s, x, y)
                if self.s.color[l] == BLACK or self.s.color[l] == WHITE:
                    h ^= ZOBRIST_BOARD[l][self.s.color[l]]
        return h

    def __eq__(self, other):
        if not isinstance(other, Board):
            return NotImplemented
        return (self.x_size == other.x_size and self.y_size == other.y_size
                and self.ko == other.ko and self.captures == other.captures
                and bool((self.stones() == other.stones()).all()))

    def __hash__(self):
        return hash((self.s.hash, self.s.ko_loc))

    def to_ascii(self):
        """Rows top to bottom: 'X' black, 'O' white, '.' empty."""
        chars = ".XO"
        rows = []
        for y in range(self.s.y_size):
            rows.append("".join(chars[self.s.color[loc_of(&self.s, x, y)]]
                                for x in range(self.s.x_size)))
        return "\n".join(rows)

    @staticmethod
    def from_ascii(text):
        """Build a position from rows of 'X'/'O'/'.' (whitespace between points ignored)."""
        rows = [r.replace(" ", "") for r in text.strip().splitlines() if r.strip()]
        if not rows:
            raise ValueError("empty board diagram")
        b = Board(len(rows[0]), len(rows))
        for y, row in enumerate(rows):
            if len(row) != b.x_size:
                raise ValueError(f"row {y} has {len(row)} points, expected {b.x_size}")
            for x, ch in enumerate(row):
                if ch in "Xx":
                    set_stone(&b.s, loc_of(&b.s, x, y), BLACK)
                elif ch in "Oo":
                    set_stone(&b.s, loc_of(&b.s, x, y), WHITE)
                elif ch not in ".+":
                    raise ValueError(f"unexpected {ch!r} in board row {y}")
        return b

    def __repr__(self):
        return f"Board({self.s.x_size}x{self.s.y_size})\n" + self.to_ascii()
