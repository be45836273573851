# cython: language_level=3
"""Ladder search: can a chain short of liberties be chased into capture by repeated ataris?

The network's input planes 14..17 mark laddered stones and the moves that start a working
ladder, and KataGo computes them with one particular bounded search. The net was trained on
exactly that search's answers, so this module reproduces its rules rather than solving ladders
"better" (a stronger solver would feed the net inputs it never saw):

* The defender (the chain's owner) may capture an adjacent attacker chain that is in atari, or
  extend on its own liberty. The attacker may only play on the defender's two liberties.
* Terminal positions: attacker to move with the defender at 1 liberty = captured, at >= 3 =
  escaped; defender to move with >= 2 liberties = escaped; defender to move right after the
  attacker created a simple-ko point = escaped (a ladder that needs a ko never counts), which
  also keeps the search finite. At the root, when the defender moves first, the board's own
  simple-ko ban is lifted: every ko works for the defender.
* Multi-stone suicide is never legal here (it cannot gain the defender liberties nor take any).
* 25,000 moves played per query: reaching that means "not laddered". Deeper than 1.5 x board
  area counts as captured.
* Speed-ups that KataGo also takes, kept so that the node budget runs out on the same
  positions: the defender's extension is known to escape when a cheap lower bound gives >= 3
  liberties, and known to die when it is the only move and an upper bound gives <= 1; the
  attacker skips the liberty whose partner would let the defender extend to >= 3 liberties
  (when the two liberties are not adjacent), and tries the liberty with the better "defender
  connection" score first. A defender whose two liberties are both ko mouths it cannot widen,
  with no attacker stone in atari, is counted captured (the double-ko death).
  One shortcut is not a pure speed-up: the "provably >= 3 liberties" test is made on the last
  move of the defender's list, which is the extension unless the lone liberty also captures
  and another capture is listed after it. The list follows the chain's internal stone order,
  as KataGo's does, so in that rare shape (about 1 random dense position in 1,000; never in
  the real selfplay sample) the answer can depend on how the chain was built.

Undo is done by copying: each search level keeps its own BoardState (a plain struct, one
memcpy), so the caller's board is never modified and no undo records are needed.
"""
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset
from libc.stdint cimport uint8_t
import numpy as np

from goloop.common.go.board cimport (BoardState, Board, MAX_ARR, EMPTY, BLACK, WHITE, WALL,
                                  NULL_LOC, PASS_LOC, loc_of, is_legal_move, play_unsafe,
                                  count_empty_adjacent, adjacent_heads)
from goloop.common.go.board import color_of

# Level outcomes. CAPTURED / ESCAPED are the values a finished level hands to its parent.
cdef enum:
    _ESCAPED = 0
    _CAPTURED = 1
    _OPEN = 2        # the level has a move list still to search
    _NO_MEMORY = 3   # allocation failed: the query answers "not laddered"


cdef struct _Level:
    BoardState board   # position at this level (the move leading here already played)
    int start          # this level's move list: moves[start : start + n]
    int n
    int cur            # index of the move being searched


cdef struct _Scratch:
    _Level* levels
    int level_cap
    int* moves         # all levels' move lists, stacked
    int moves_cap
    int stamp          # generation for the two `seen` arrays (no clearing between lists)
    int seen[MAX_ARR]        # seen[loc] == stamp: loc already in the list being built
    int seen_chain[MAX_ARR]  # seen_chain[head] == stamp: that chain's captures already listed


cdef void _scratch_init(_Scratch* sc) noexcept nogil:
    sc.levels = NULL
    sc.level_cap = 0
    sc.moves = NULL
    sc.moves_cap = 0
    sc.stamp = 0
    memset(sc.seen, 0, MAX_ARR * sizeof(int))
    memset(sc.seen_chain, 0, MAX_ARR * sizeof(int))


cdef void _scratch_free(_Scratch* sc) noexcept nogil:
    free(sc.levels)
    free(sc.moves)
    sc.levels = NULL
    sc.moves = NULL
    sc.level_cap = 0
    sc.moves_cap = 0


cdef bint _reserve_levels(_Scratch* sc, int n) noexcept nogil:
    """Room for n levels. Most ladders are a few dozen moves deep, so grow on demand."""
    cdef int cap
    cdef _Level* p
    if n <= sc.level_cap:
        return True
    cap = sc.level_cap * 2
    if cap < 16:
        cap = 16
    if cap < n:
        cap = n
    p = <_Level*>realloc(sc.levels, cap * sizeof(_Level))
    if p == NULL:
        return False
    sc.levels = p
    sc.level_cap = cap
    return True


cdef bint _reserve_moves(_Scratch* sc, int n) noexcept nogil:
    cdef int cap
    cdef int* p
    if n <= sc.moves_cap:
        return True
    cap = sc.moves_cap * 2
    if cap < 256:
        cap = 256
    if cap < n:
        cap = n
    p = <int*>realloc(sc.moves, cap * sizeof(int))
    if p == NULL:
        return False
    sc.moves = p
    sc.moves_cap = cap
    return True


# ---------------------------------------------------------------------------------------------
# Board questions the search asks.

cdef int _append_liberties(_Scratch* sc, const BoardState* b, int from_loc, int at) noexcept nogil:
    """Append the chain's liberties not yet in the current list (walking from from_loc)."""
    cdef int s = from_loc, i, a, n = 0
    while True:
        for i in range(4):
            a = s + b.adj[i]
            if b.color[a] == EMPTY and sc.seen[a] != sc.stamp:
                sc.seen[a] = sc.stamp
                sc.moves[at + n] = a
                n += 1
        s = b.next_stone[s]
        if s == from_loc:
            break
    return n


cdef int _append_capture_moves(_Scratch* sc, const BoardState* b, int loc, int at) noexcept nogil:
    """Append the points that capture an attacker chain in atari touching the chain at loc."""
    cdef int attacker = 3 - b.color[loc]
    cdef int s = loc, i, a, h, n = 0
    while True:
        for i in range(4):
            a = s + b.adj[i]
            if b.color[a] == attacker:
                h = b.head[a]
                if b.libs[h] == 1 and sc.seen_chain[h] != sc.stamp:
                    sc.seen_chain[h] = sc.stamp
                    n += _append_liberties(sc, b, a, at + n)
        s = b.next_stone[s]
        if s == loc:
            break
    return n


cdef bint _touches_chain_in_atari(const BoardState* b, int loc) noexcept nogil:
    """Whether any opposing chain next to the chain at loc has a single liberty."""
    cdef int other = 3 - b.color[loc]
    cdef int s = loc, i, a
    while True:
        for i in range(4):
            a = s + b.adj[i]
            if b.color[a] == other and b.libs[b.head[a]] == 1:
                return True
        s = b.next_stone[s]
        if s == loc:
            break
    return False


cdef void _liberty_bounds_after_play(const BoardState* b, int loc, int pla,
                                     int* lower, int* upper) noexcept nogil:
    """Cheap bounds on the liberties of pla's stone at loc, without playing it.

    Lower: each capture frees at least its adjacent point, and the new chain has at least the
    better of its own empty neighbours and the best connected chain's remaining liberties.
    Upper: everything that could possibly be a liberty, counted with repetition.
    """
    cdef int o = 3 - pla
    cdef int i, a, c, h, extra
    cdef int empties = 0, caps = 0, cap_stones = 0, conn_sum = 0, conn_max = 0
    for i in range(4):
        a = loc + b.adj[i]
        c = b.color[a]
        if c == EMPTY:
            empties += 1
        elif c == o:
            h = b.head[a]
            if b.libs[h] == 1:
                caps += 1
                cap_stones += b.csize[h]
        elif c == pla:
            extra = b.libs[b.head[a]] - 1
            conn_sum += extra
            if extra > conn_max:
                conn_max = extra
    lower[0] = caps + (conn_max if conn_max > empties else empties)
    upper[0] = empties + cap_stones + conn_sum


cdef int _liberties_after_play(const BoardState* b, int loc, int pla) noexcept nogil:
    """Exact liberties of pla's chain after playing loc (0 if it dies). Rarely needed."""
    cdef BoardState tmp
    memcpy(&tmp, b, sizeof(BoardState))
    play_unsafe(&tmp, loc, pla)
    if tmp.color[loc] != pla:
        return 0
    return tmp.libs[tmp.head[loc]]


cdef bint _would_be_ko_capture(const BoardState* b, int loc, int pla) noexcept nogil:
    """pla at loc takes exactly one lone stone, with every neighbour an opposing stone or wall."""
    cdef int o = 3 - pla
    cdef int i, a, c, victim = NULL_LOC
    if b.color[loc] != EMPTY:
        return False
    for i in range(4):
        a = loc + b.adj[i]
        c = b.color[a]
        if c != WALL and c != o:
            return False
        if c == o and b.libs[b.head[a]] == 1:
            if victim != NULL_LOC:
                return False
            victim = a
    return victim != NULL_LOC and b.csize[b.head[victim]] == 1


cdef int _connection_score_x2(const BoardState* b, int loc, int pla) noexcept nogil:
    """Twice the liberties pla's neighbouring chains would bring if pla connected at loc, minus
    1.5 per chain: a guess at how dangerous it is to leave loc to the defender."""
    cdef int i, a, libs, score = 0
    for i in range(4):
        a = loc + b.adj[i]
        if b.color[a] == pla:
            libs = b.libs[b.head[a]]
            if libs > 1:
                score += libs * 2 - 3
    return score


cdef inline bint _adjacent(const BoardState* b, int a, int c) noexcept nogil:
    return a == c - 1 or a == c + 1 or a == c - b.stride or a == c + b.stride


# ---------------------------------------------------------------------------------------------
# The search.

cdef int _open_level(_Scratch* sc, int depth, int loc, bint is_def, int stack_limit) noexcept nogil:
    """Decide level `depth` at once if it is terminal, else build its move list (_OPEN)."""
    cdef _Level* lv = &sc.levels[depth]
    cdef BoardState* b = &lv.board
    cdef int defender = b.color[loc]
    cdef int attacker = 3 - defender
    cdef int libs, n, start, a0, a1, e0, e1, lower, upper
    if depth >= stack_limit - 1:
        return _CAPTURED
    libs = b.libs[b.head[loc]]
    if not is_def:
        if libs <= 1:
            return _CAPTURED
        if libs >= 3:
            return _ESCAPED
    else:
        if libs >= 2:
            return _ESCAPED
        if b.ko_loc != NULL_LOC:
            return _ESCAPED
    start = lv.start
    # A list never holds more distinct points than the board has.
    if not _reserve_moves(sc, start + b.x_size * b.y_size + 4):
        return _NO_MEMORY
    sc.stamp += 1
    if is_def:
        n = _append_capture_moves(sc, b, loc, start)
        n += _append_liberties(sc, b, loc, start + n)
        # The last entry is the extension (unless it also captures and was listed earlier).
        _liberty_bounds_after_play(b, sc.moves[start + n - 1], defender, &lower, &upper)
        if lower >= 3:
            return _ESCAPED
        if n == 1 and upper <= 1:
            return _CAPTURED
    else:
        n = _append_liberties(sc, b, loc, start)
        if n != 2:
            return _ESCAPED  # cannot happen: the tracked liberty count said 2
        a0 = sc.moves[start]
        a1 = sc.moves[start + 1]
        e0 = count_empty_adjacent(b, a0)
        e1 = count_empty_adjacent(b, a1)
        if (e0 == 0 and e1 == 0
                and _would_be_ko_capture(b, a0, attacker) and _would_be_ko_capture(b, a1, attacker)
                and _liberties_after_play(b, a0, defender) <= 2
                and _liberties_after_play(b, a1, defender) <= 2
                and not _touches_chain_in_atari(b, loc)):
            return _CAPTURED  # double ko death: the defender cannot fight both kos
        if not _adjacent(b, a0, a1):
            if e0 >= 3 and e1 >= 3:
                return _ESCAPED
            elif e0 >= 3:
                n = 1  # must fill a0, or the defender extends there to >= 3 liberties
            elif e1 >= 3:
                sc.moves[start] = a1
                n = 1
        if n == 2:
            if (e1 * 2 + _connection_score_x2(b, a1, defender)
                    > e0 * 2 + _connection_score_x2(b, a0, defender)):
                sc.moves[start] = a1
                sc.moves[start + 1] = a0
    lv.n = n
    lv.cur = 0
    return _OPEN


cdef bint _search(_Scratch* sc, const BoardState* src, int loc, bint defender_first) noexcept nogil:
    """Depth-first minimax over the ladder moves; True if the chain at loc is captured."""
    cdef int defender, attacker, libs, depth, status, mover, stack_limit
    cdef int nodes = 0
    cdef bint is_def
    cdef _Level* lv
    cdef _Level* child
    if loc <= PASS_LOC or loc >= MAX_ARR:
        return False
    defender = src.color[loc]
    if defender != BLACK and defender != WHITE:
        return False
    libs = src.libs[src.head[loc]]
    if libs > 2 or (defender_first and libs > 1):
        return False
    attacker = 3 - defender
    stack_limit = src.x_size * src.y_size * 3 // 2 + 1
    if not _reserve_levels(sc, 1):
        return False
    memcpy(&sc.levels[0].board, src, sizeof(BoardState))
    if defender_first:
        sc.levels[0].board.ko_loc = NULL_LOC
    sc.levels[0].start = 0
    depth = 0
    status = _open_level(sc, 0, loc, defender_first, stack_limit)
    while True:
        if status == _NO_MEMORY:
            return False
        if status != _OPEN:
            # Level `depth` is decided: hand its result to the parent.
            depth -= 1
            if depth < 0:
                return status == _CAPTURED
            is_def = ((depth & 1) == 0) == defender_first
            if is_def != (status == _CAPTURED):
                continue  # defender found an escape / attacker found a capture: parent decided
            sc.levels[depth].cur += 1
        lv = &sc.levels[depth]
        is_def = ((depth & 1) == 0) == defender_first
        mover = defender if is_def else attacker
        # An illegal move simply fails for whoever tried it.
        while lv.cur < lv.n and not is_legal_move(&lv.board, sc.moves[lv.start + lv.cur],
                                                  mover, False):
            lv.cur += 1
        if lv.cur >= lv.n:
            status = _CAPTURED if is_def else _ESCAPED
            continue
        if not _reserve_levels(sc, depth + 2):
            return False
        lv = &sc.levels[depth]
        child = &sc.levels[depth + 1]
        memcpy(&child.board, &lv.board, sizeof(BoardState))
        play_unsafe(&child.board, sc.moves[lv.start + lv.cur], mover)
        nodes += 1
        if nodes >= LADDER_NODE_BUDGET:
            return False
        child.start = lv.start + lv.n
        depth += 1
        status = _open_level(sc, depth, loc, not is_def, stack_limit)


cdef int _two_liberties(const BoardState* b, int loc, int* out) noexcept nogil:
    """Up to two liberties of the chain at loc, in the order a walk from loc meets them."""
    cdef int s = loc, i, a, n = 0
    while True:
        for i in range(4):
            a = s + b.adj[i]
            if b.color[a] == EMPTY and (n == 0 or out[0] != a):
                out[n] = a
                n += 1
                if n == 2:
                    return n
        s = b.next_stone[s]
        if s == loc:
            break
    return n


cdef bint _attacker_first_2_libs(_Scratch* sc, const BoardState* b, int loc,
                                 int* working_moves, int* n_working) noexcept nogil:
    cdef BoardState tmp
    cdef int libs_at[2]
    cdef int i, attacker
    n_working[0] = 0
    if loc <= PASS_LOC or loc >= MAX_ARR:
        return False
    if b.color[loc] != BLACK and b.color[loc] != WHITE:
        return False
    if b.libs[b.head[loc]] != 2 or _two_liberties(b, loc, libs_at) != 2:
        return False
    attacker = 3 - b.color[loc]
    for i in range(2):
        # The opening atari obeys the board's simple-ko ban (whoever is to move).
        if not is_legal_move(b, libs_at[i], attacker, False):
            continue
        memcpy(&tmp, b, sizeof(BoardState))
        play_unsafe(&tmp, libs_at[i], attacker)
        if _search(sc, &tmp, loc, True):
            working_moves[n_working[0]] = libs_at[i]
            n_working[0] += 1
    return n_working[0] > 0


cdef bint search_is_ladder_captured(const BoardState* b, int loc, bint defender_first) noexcept nogil:
    cdef _Scratch sc
    cdef bint r
    _scratch_init(&sc)
    r = _search(&sc, b, loc, defender_first)
    _scratch_free(&sc)
    return r


cdef bint search_is_ladder_captured_attacker_first_2_libs(
        const BoardState* b, int loc, int* working_moves, int* n_working) noexcept nogil:
    cdef _Scratch sc
    cdef bint r
    _scratch_init(&sc)
    r = _attacker_first_2_libs(&sc, b, loc, working_moves, n_working)
    _scratch_free(&sc)
    return r


cdef void compute_ladder_planes(const BoardState* b, uint8_t* laddered,
                                uint8_t* working_moves_for_pla, int pla) noexcept nogil:
    cdef _Scratch sc
    cdef signed char solved[MAX_ARR]   # by chain head: -1 not yet searched, else 0/1
    cdef int working[2]
    cdef int n_working, x, y, l, h, libs, c, j
    cdef int o = 3 - pla
    memset(laddered, 0, MAX_ARR)
    memset(working_moves_for_pla, 0, MAX_ARR)
    memset(solved, -1, MAX_ARR)
    _scratch_init(&sc)
    for y in range(b.y_size):
        for x in range(b.x_size):
            l = loc_of(b, x, y)
            c = b.color[l]
            if c != BLACK and c != WHITE:
                continue
            h = b.head[l]
            libs = b.libs[h]
            if libs != 1 and libs != 2:
                continue
            if solved[h] < 0:
                if libs == 1:
                    solved[h] = _search(&sc, b, l, True)
                else:
                    solved[h] = _attacker_first_2_libs(&sc, b, l, working, &n_working)
                    if c == o:
                        for j in range(n_working):
                            working_moves_for_pla[working[j]] = 1
            if solved[h]:
                laddered[l] = 1
    _scratch_free(&sc)


cdef bint move_puts_in_inescapable_atari(const BoardState* b, int loc, int pla) noexcept nogil:
    cdef BoardState tmp
    cdef _Scratch sc
    cdef int heads[4]
    cdef int nheads = 0
    cdef int i, j, a, h
    cdef int o = 3 - pla
    cdef bint found = False
    if loc == PASS_LOC or not is_legal_move(b, loc, pla, False):
        return False
    memcpy(&tmp, b, sizeof(BoardState))
    play_unsafe(&tmp, loc, pla)
    _scratch_init(&sc)
    nheads = adjacent_heads(&tmp, loc, o, heads)
    for j in range(nheads):
        if tmp.libs[heads[j]] == 1 and _search(&sc, &tmp, heads[j], True):
            found = True
            break
    _scratch_free(&sc)
    return found


# ---------------------------------------------------------------------------------------------
# Python face: points are (x, y) with y = 0 the top row, colours 1/2 or 'b'/'w'.

class LadderError(ValueError):
    """A ladder query about a point that holds no stone."""


cdef int _stone_loc(Board board, point) except -1:
    cdef int loc
    if point is None:
        raise LadderError("a ladder query needs a point, not a pass")
    loc = board._loc(point)
    if board.s.color[loc] != BLACK and board.s.color[loc] != WHITE:
        raise LadderError(f"no stone at {point}")
    return loc


def is_ladder_captured(Board board, point, bint defender_first):
    """Whether the chain at `point` is ladder-captured (False if it has too many liberties:
    more than 1 with the defender to move, more than 2 with the attacker to move)."""
    cdef int loc = _stone_loc(board, point)
    cdef bint r
    with nogil:
        r = search_is_ladder_captured(&board.s, loc, defender_first)
    return r


def ladder_working_moves(Board board, point):
    """The liberties where the attacker's first atari ladders the 2-liberty chain at `point`
    (empty if none works or the chain does not have exactly 2 liberties)."""
    cdef int loc = _stone_loc(board, point)
    cdef int moves[2]
    cdef int n = 0
    with nogil:
        search_is_ladder_captured_attacker_first_2_libs(&board.s, loc, moves, &n)
    stride = board.s.stride
    return tuple((moves[i] % stride - 1, moves[i] // stride - 1) for i in range(n))


def ladder_planes(Board board, pla):
    """(laddered, working) as uint8 arrays of shape (y_size, x_size): input planes 14 and 17
    for `pla` to move."""
    cdef int p = color_of(pla)
    cdef uint8_t lad[MAX_ARR]
    cdef uint8_t work[MAX_ARR]
    cdef int x, y, l
    with nogil:
        compute_ladder_planes(&board.s, lad, work, p)
    laddered = np.zeros((board.s.y_size, board.s.x_size), dtype=np.uint8)
    working = np.zeros((board.s.y_size, board.s.x_size), dtype=np.uint8)
    cdef uint8_t[:, :] lv = laddered
    cdef uint8_t[:, :] wv = working
    for y in range(board.s.y_size):
        for x in range(board.s.x_size):
            l = loc_of(&board.s, x, y)
            lv[y, x] = lad[l]
            wv[y, x] = work[l]
    return laddered, working


def puts_in_inescapable_atari(Board board, point, pla):
    """Whether `pla` playing `point` (a legal move; False otherwise) leaves an adjacent opponent
    chain in atari that cannot escape by ladder with the opponent to move."""
    cdef int p = color_of(pla)
    cdef int loc = board._loc(point)
    cdef bint r
    with nogil:
        r = move_puts_in_inescapable_atari(&board.s, loc, p)
    return r
