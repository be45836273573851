# cython: language_level=3
"""Who owns each point: Benson pass-alive analysis, area maps and independent-life areas.

KataGo scores games, builds NN input planes 18/19 and ends games early from these maps, so they
must agree with it point for point, including its quirks (rules.md 6, validated on real
selfplay rows):

* regions are the maximal connected sets of points that are empty or hold opponent stones, grown
  only from empty points (an opponent chain with no liberty at all belongs to no region);
* a region is vital for a chain when all its points touch the chain, but when multi-stone suicide
  is illegal only its empty points need to (an opponent stone inside cannot be captured by filling
  the eye, so it does not spoil it);
* "internal" points (not next to any own stone) include opponent stones;
* black marks first, then white into the same map: pass-alive marking overwrites, unsafe big
  territory only fills points still unowned.

Everything runs without the GIL on the plain BoardState so search and feature code can call it.
"""
from libc.string cimport memset
from libc.stdint cimport uint8_t, int16_t
import numpy as np

from goloop.common.go.board cimport (
    BoardState, Board, MAX_ARR, EMPTY, BLACK, WHITE, loc_of,
)


cdef inline bint _touches_chain(const BoardState* b, int loc, int pla, int head) noexcept nogil:
    """Whether `loc` is next to a stone of the pla chain whose head is `head`."""
    cdef int i, a
    for i in range(4):
        a = loc + b.adj[i]
        if b.color[a] == pla and b.head[a] == head:
            return True
    return False


cdef inline bint _touches_colour(const BoardState* b, int loc, int pla) noexcept nogil:
    cdef int i
    for i in range(4):
        if b.color[loc + b.adj[i]] == pla:
            return True
    return False


cdef void calculate_area_for_pla(const BoardState* b, int pla, bint safe_big_territories,
                                 bint unsafe_big_territories, bint suicide_legal,
                                 uint8_t* result) noexcept nogil:
    cdef int opp = 3 - pla
    # Regions: region_of[loc] (-1 for none); each region's points lie contiguously in points[]
    # from region_start[r] to region_start[r + 1].
    cdef int16_t region_of[MAX_ARR]
    cdef int16_t points[MAX_ARR]
    cdef int region_start[MAX_ARR + 1]
    # Up to 4 chain heads the region is vital for (a subset of the seed point's neighbours).
    cdef int16_t vital[MAX_ARR][4]
    cdef uint8_t n_vital[MAX_ARR]
    cdef uint8_t internal[MAX_ARR]      # points touching no pla stone, capped at 2
    cdef uint8_t has_opp[MAX_ARR]
    cdef uint8_t borders_dead[MAX_ARR]  # touches a pla chain found not pass-alive
    cdef int16_t vital_count[MAX_ARR]   # by chain head
    cdef int16_t heads[MAX_ARR]
    cdef uint8_t dead[MAX_ARR]          # by index into heads
    cdef int n_regions = 0, n_points = 0, n_heads = 0
    cdef bint pla_on_board = False
    cdef int x, y, loc, a, i, j, k, r, h, nv, keep, qi, s
    cdef bint killed

    memset(region_of, -1, sizeof(region_of))

    for y in range(b.y_size):
        for x in range(b.x_size):
            loc = loc_of(b, x, y)
            if b.color[loc] == pla:
                pla_on_board = True
                if b.head[loc] == loc:
                    heads[n_heads] = loc
                    dead[n_heads] = 0
                    vital_count[loc] = 0
                    n_heads += 1
                continue
            if b.color[loc] != EMPTY or region_of[loc] != -1:
                continue
            # New region seeded at an empty point: candidate vital chains are its neighbours.
            r = n_regions
            n_regions += 1
            region_start[r] = n_points
            internal[r] = 0
            has_opp[r] = 0
            borders_dead[r] = 0
            nv = 0
            for i in range(4):
                a = loc + b.adj[i]
                if b.color[a] == pla:
                    h = b.head[a]
                    for j in range(nv):
                        if vital[r][j] == h:
                            break
                    else:
                        vital[r][nv] = h
                        nv += 1
            region_of[loc] = r
            points[n_points] = loc
            n_points += 1
            qi = region_start[r]
            while qi < n_points:
                s = points[qi]
                qi += 1
                if nv > 0 and (suicide_legal or b.color[s] == EMPTY):
                    keep = 0
                    for j in range(nv):
                        if _touches_chain(b, s, pla, vital[r][j]):
                            vital[r][keep] = vital[r][j]
                            keep += 1
                    nv = keep
                if internal[r] < 2 and not _touches_colour(b, s, pla):
                    internal[r] += 1
                if b.color[s] == opp:
                    has_opp[r] = 1
                for i in range(4):
                    a = s + b.adj[i]
                    if (b.color[a] == EMPTY or b.color[a] == opp) and region_of[a] == -1:
                        region_of[a] = r
                        points[n_points] = a
                        n_points += 1
            n_vital[r] = nv
    region_start[n_regions] = n_points

    for r in range(n_regions):
        for j in range(n_vital[r]):
            vital_count[vital[r][j]] += 1

    # Benson: drop chains with fewer than two vital regions; their regions stop being vital.
    killed = True
    while killed:
        killed = False
        for i in range(n_heads):
            if dead[i]:
                continue
            h = heads[i]
            if vital_count[h] >= 2:
                continue
            dead[i] = 1
            killed = True
            s = h
            while True:
                for k in range(4):
                    r = region_of[s + b.adj[k]]
                    if r >= 0 and not borders_dead[r]:
                        borders_dead[r] = 1
                        for j in range(n_vital[r]):
                            vital_count[vital[r][j]] -= 1
                s = b.next_stone[s]
                if s == h:
                    break

    for i in range(n_heads):
        if not dead[i]:
            h = heads[i]
            s = h
            while True:
                result[s] = pla
                s = b.next_stone[s]
                if s == h:
                    break

    for r in range(n_regions):
        if pla_on_board and not borders_dead[r] and (
                internal[r] <= 1 or (safe_big_territories and not has_opp[r])):
            for qi in range(region_start[r], region_start[r + 1]):
                result[points[qi]] = pla
        elif unsafe_big_territories and pla_on_board and not has_opp[r]:
            for qi in range(region_start[r], region_start[r + 1]):
                if result[points[qi]] == EMPTY:
                    result[points[qi]] = pla


cdef void calculate_area(const BoardState* b, uint8_t* result, bint non_pass_alive_stones,
                         bint safe_big_territories, bint unsafe_big_territories,
                         bint is_multi_stone_suicide_legal) noexcept nogil:
    cdef int x, y, loc
    memset(result, 0, MAX_ARR)
    calculate_area_for_pla(b, BLACK, safe_big_territories, unsafe_big_territories,
                           is_multi_stone_suicide_legal, result)
    calculate_area_for_pla(b, WHITE, safe_big_territories, unsafe_big_territories,
                           is_multi_stone_suicide_legal, result)
    if non_pass_alive_stones:
        for y in range(b.y_size):
            for x in range(b.x_size):
                loc = loc_of(b, x, y)
                if result[loc] == EMPTY:
                    result[loc] = b.color[loc]


cdef int calculate_independent_life_area(const BoardState* b, uint8_t* result,
                                         bint keep_territories, bint keep_stones,
                                         bint is_multi_stone_suicide_legal) noexcept nogil:
    cdef uint8_t basic[MAX_ARR]
    cdef uint8_t seki[MAX_ARR]
    cdef int16_t queue[MAX_ARR]
    cdef int x, y, loc, a, i, owner, qh, qt, s
    cdef int white_minus_black = 0
    cdef bint seki_like

    calculate_area(b, basic, True, True, True, is_multi_stone_suicide_legal)
    memset(result, 0, MAX_ARR)
    memset(seki, 0, MAX_ARR)

    # Seki-like components: an owner stone in atari, or any point next to dame (an empty point
    # nobody owns). The whole same-owner component is flagged.
    for y in range(b.y_size):
        for x in range(b.x_size):
            loc = loc_of(b, x, y)
            owner = basic[loc]
            if owner == EMPTY or seki[loc]:
                continue
            seki_like = b.color[loc] == owner and b.libs[b.head[loc]] == 1
            if not seki_like:
                for i in range(4):
                    a = loc + b.adj[i]
                    if b.color[a] == EMPTY and basic[a] == EMPTY:
                        seki_like = True
                        break
            if not seki_like:
                continue
            seki[loc] = 1
            queue[0] = loc
            qh = 0
            qt = 1
            while qh < qt:
                s = queue[qh]
                qh += 1
                for i in range(4):
                    a = s + b.adj[i]
                    if basic[a] == owner and not seki[a]:
                        seki[a] = 1
                        queue[qt] = a
                        qt += 1

    # Every other owned component lives independently: copy it and count it once.
    for y in range(b.y_size):
        for x in range(b.x_size):
            loc = loc_of(b, x, y)
            owner = basic[loc]
            if owner == EMPTY or seki[loc] or result[loc] == owner:
                continue
            white_minus_black += 1 if owner == WHITE else -1
            result[loc] = owner
            queue[0] = loc
            qh = 0
            qt = 1
            while qh < qt:
                s = queue[qh]
                qh += 1
                for i in range(4):
                    a = s + b.adj[i]
                    if basic[a] == owner and result[a] != owner:
                        result[a] = owner
                        queue[qt] = a
                        qt += 1

    if keep_territories or keep_stones:
        for y in range(b.y_size):
            for x in range(b.x_size):
                loc = loc_of(b, x, y)
                owner = basic[loc]
                if owner == EMPTY:
                    continue
                if b.color[loc] == owner:
                    if keep_stones:
                        result[loc] = owner
                elif keep_territories:
                    result[loc] = owner
    return white_minus_black


# ---------------------------------------------------------------------------------------------
# Python face: maps as (y_size, x_size) uint8 arrays, 0 nobody, 1 black, 2 white.

cdef object _to_array(const BoardState* b, const uint8_t* result):
    out = np.zeros((b.y_size, b.x_size), dtype=np.uint8)
    cdef uint8_t[:, :] view = out
    cdef int x, y
    for y in range(b.y_size):
        for x in range(b.x_size):
            view[y, x] = result[loc_of(b, x, y)]
    return out


cdef Board _as_board(board):
    if not isinstance(board, Board):
        raise TypeError(f"expected a goloop.common.go.board.Board, got {type(board).__name__}")
    return <Board>board


def area_map(board, *, bint non_pass_alive_stones=True, bint safe_big=True,
             bint unsafe_big=True, bint multi_stone_suicide_legal):
    """calculate_area on a Board. All flags on = the AREA/TAX_NONE map (Tromp-Taylor area with
    pass-alive territory claiming dead stones inside it); all off = only pass-alive stones and
    territory (the all-pass-alive game end test)."""
    cdef Board bd = _as_board(board)
    cdef uint8_t result[MAX_ARR]
    calculate_area(&bd.s, result, non_pass_alive_stones, safe_big, unsafe_big,
                   multi_stone_suicide_legal)
    return _to_array(&bd.s, result)


def independent_life_map(board, bint keep_territories, bint keep_stones,
                         bint multi_stone_suicide_legal):
    """calculate_independent_life_area on a Board: (map, white-minus-black independent regions)."""
    cdef Board bd = _as_board(board)
    cdef uint8_t result[MAX_ARR]
    cdef int count = calculate_independent_life_area(&bd.s, result, keep_territories, keep_stones,
                                                     multi_stone_suicide_legal)
    return _to_array(&bd.s, result), count
