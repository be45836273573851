"""Tests for the area maps (common/go/area.pyx): hand-drawn positions, a from-the-spec oracle on random
positions, and the golden check against planes 18/19 of KataGo's own selfplay data."""

import random
from pathlib import Path

import numpy as np
import pytest

from goloop.common.go.area import area_map, independent_life_map
from goloop.common.go.board import Board

SHARED = Path(__file__).resolve().parents[3] / "shared"
SAMPLE = SHARED / "reference" / "katago_selfplay_sample.npz"

B, W = 1, 2


def grid(text: str) -> np.ndarray:
    """Expected maps drawn like boards: 'X' black, 'O' white, '.' nobody."""
    rows = [r.replace(" ", "") for r in text.strip().splitlines()]
    return np.array([[".XO".index(c) for c in row] for row in rows], dtype=np.uint8)


def pass_alive(board, suicide=False):
    """Only pass-alive stones and territory (the all-pass-alive game-end map)."""
    return area_map(board, non_pass_alive_stones=False, safe_big=False, unsafe_big=False,
                    multi_stone_suicide_legal=suicide)


def full(board, suicide=False):
    """The AREA / TAX_NONE map (all flags on)."""
    return area_map(board, multi_stone_suicide_legal=suicide)


# ---------------------------------------------------------------------------------------------
# Hand-drawn positions.

TWO_EYES = """
.X.X.
XXXXX
.....
.....
.....
"""


def test_two_eyed_group_is_pass_alive_and_big_territory_needs_a_flag():
    b = Board.from_ascii(TWO_EYES)
    alive = grid("""
        XXXXX
        XXXXX
        .....
        .....
        .....
    """)
    everything = np.full((5, 5), B, dtype=np.uint8)
    for suicide in (False, True):
        assert (pass_alive(b, suicide) == alive).all()
        # Bordered only by pass-alive stones: safe big territory.
        safe = area_map(b, non_pass_alive_stones=False, safe_big=True, unsafe_big=False,
                        multi_stone_suicide_legal=suicide)
        assert (safe == everything).all()
        unsafe = area_map(b, non_pass_alive_stones=False, safe_big=False, unsafe_big=True,
                          multi_stone_suicide_legal=suicide)
        assert (unsafe == everything).all()
        assert (full(b, suicide) == everything).all()


def test_safe_big_territory_refuses_a_region_touching_a_dead_chain_but_unsafe_takes_it():
    b = Board.from_ascii("""
        .X.X.
        XXXXX
        .....
        .....
        ..X..
    """)
    stones_only = grid("""
        XXXXX
        XXXXX
        .....
        .....
        .....
    """)
    safe = area_map(b, non_pass_alive_stones=False, safe_big=True, unsafe_big=False,
                    multi_stone_suicide_legal=False)
    assert (safe == stones_only).all()
    unsafe = area_map(b, non_pass_alive_stones=False, safe_big=False, unsafe_big=True,
                      multi_stone_suicide_legal=False)
    # The lone stone is not pass-alive and not part of any region, so only the stone is missing.
    expected = np.full((5, 5), B, dtype=np.uint8)
    expected[4, 2] = 0
    assert (unsafe == expected).all()
    assert (full(b) == np.full((5, 5), B)).all()


def test_one_eyed_group_is_not_pass_alive():
    b = Board.from_ascii("""
        .X...
        XX...
        .....
    """)
    for suicide in (False, True):
        assert not pass_alive(b, suicide).any()
        # Tromp-Taylor-like area still gives black everything.
        assert (full(b, suicide) == B).all()


def test_false_eyes_separate_chains_die_together_until_connected():
    # The middle stone shares both "eyes" with chains that have no second eye of their own.
    false_eyes = Board.from_ascii("""
        X.X.X
        XX.XX
        OOOOO
        .....
    """)
    for suicide in (False, True):
        assert not pass_alive(false_eyes, suicide).any()
        assert (full(false_eyes, suicide) == grid("""
            XXXXX
            XX.XX
            OOOOO
            OOOOO
        """)).all()
    connected = Board.from_ascii("""
        X.X.X
        XXXXX
        OOOOO
        .....
    """)
    assert (pass_alive(connected) == grid("""
        XXXXX
        XXXXX
        .....
        .....
    """)).all()


def test_pass_alive_territory_claims_dead_opponent_stones():
    b = Board.from_ascii("""
        .X.X.
        XXXXX
        X.O.X
        X...X
        X...X
        XXXXX
    """)
    # The interior's only internal point is its centre; the white stone touches the wall.
    for suicide in (False, True):
        assert (pass_alive(b, suicide) == B).all()
        assert (full(b, suicide) == B).all()


def test_region_with_one_internal_point_is_territory_two_is_not():
    one = Board.from_ascii("""
        .X.X.
        XXXXX
        X...X
        X...X
        X...X
        XXXXX
    """)
    assert (pass_alive(one) == B).all()
    two = Board.from_ascii("""
        .X.X.X.
        XXXXXXX
        X.....X
        X.....X
        X.....X
        XXXXXXX
    """)
    expected = np.full((6, 7), B, dtype=np.uint8)
    expected[2:5, 1:6] = 0
    assert (pass_alive(two) == expected).all()
    assert (full(two) == B).all()


def test_opponent_stones_count_as_internal_points():
    # Interior internal points: two white stones and one empty point -> 3, so no territory, and
    # because the region holds white stones no big-territory flag can claim it either.
    b = Board.from_ascii("""
        .X.X.X.
        XXXXXXX
        X.....X
        X.O.O.X
        X.....X
        XXXXXXX
    """)
    stones = np.full((6, 7), B, dtype=np.uint8)
    stones[2:5, 1:6] = 0
    assert (pass_alive(b) == stones).all()
    with_whites = stones.copy()
    with_whites[3, 2] = with_whites[3, 4] = W
    assert (full(b) == with_whites).all()


def test_unsafe_big_territory_does_not_overwrite_opponent_pass_alive_territory():
    # Black's corner region (with two white stones) is pass-alive territory; the corner point is
    # also an empty region bordered only by white, which must not take it back.
    b = Board.from_ascii("""
        .OX.X.X
        OXXXXXX
        XX.....
    """)
    for suicide in (False, True):
        assert (full(b, suicide) == B).all()
        assert (pass_alive(b, suicide) == B).all()


def test_suicide_flag_decides_whether_opponent_stones_must_touch_a_vital_region():
    # The corner region {a1-corner point, 3 white stones} touches the black chain at its empty
    # point, but the white stone at the left edge of the bottom row does not touch it.
    b = Board.from_ascii("""
        .X.XX
        OXXXX
        OOXXX
    """)
    assert (pass_alive(b, suicide=False) == B).all()
    assert not pass_alive(b, suicide=True).any()
    assert (full(b, suicide=True) == grid("""
        .XXXX
        OXXXX
        OOXXX
    """)).all()


def test_seki_and_dame_independent_life():
    b = Board.from_ascii("""
        XX..OO
        XXXOOO
        XXXOOO
        .XXOO.
    """)
    basic = grid("""
        XX..OO
        XXXOOO
        XXXOOO
        XXXOOO
    """)
    assert (full(b) == basic).all()
    # Both sides touch the dame: every component is seki-like.
    m, count = independent_life_map(b, False, False, False)
    assert count == 0 and not m.any()
    m, count = independent_life_map(b, False, True, False)
    assert count == 0 and (m == grid("""
        XX..OO
        XXXOOO
        XXXOOO
        .XXOO.
    """)).all()
    m, count = independent_life_map(b, True, False, False)
    assert count == 0 and (m == grid("""
        ......
        ......
        ......
        X....O
    """)).all()
    m, count = independent_life_map(b, True, True, False)
    assert count == 0 and (m == basic).all()


def test_touching_dame_makes_even_pass_alive_groups_seki_like():
    b = Board.from_ascii("""
        .X.X.
        XXXXX
        .....
        OOOOO
        .O.O.
    """)
    assert (pass_alive(b) == grid("""
        XXXXX
        XXXXX
        .....
        OOOOO
        OOOOO
    """)).all()
    m, count = independent_life_map(b, False, True, False)
    assert count == 0 and (m == grid("""
        .X.X.
        XXXXX
        .....
        OOOOO
        .O.O.
    """)).all()


def test_owner_stone_in_atari_makes_its_component_seki_like():
    b = Board.from_ascii("""
        XXO..
        .XO..
        XXO..
    """)
    white_area = grid("""
        ..OOO
        ..OOO
        ..OOO
    """)
    m, count = independent_life_map(b, False, False, False)
    assert count == 1 and (m == white_area).all()
    m, count = independent_life_map(b, False, True, False)
    expected = white_area.copy()
    expected[[0, 0, 1, 2, 2], [0, 1, 1, 0, 1]] = B
    assert count == 1 and (m == expected).all()
    m, count = independent_life_map(b, True, False, False)
    expected = white_area.copy()
    expected[1, 0] = B
    assert count == 1 and (m == expected).all()


def test_independent_regions_are_counted_per_component_white_minus_black():
    b = Board.from_ascii(TWO_EYES)
    m, count = independent_life_map(b, False, False, False)
    assert count == -1 and (m == B).all()
    # The mirror image for white (here with suicide legal): one white region, counted +1.
    w = Board.from_ascii("""
        .O.O.
        OOOOO
        .....
    """)
    m, count = independent_life_map(w, False, False, True)
    assert count == 1 and (m == W).all()


def test_empty_board_has_no_area():
    for xs, ys in [(9, 9), (19, 19), (2, 2), (5, 3)]:
        b = Board(xs, ys)
        for suicide in (False, True):
            assert full(b, suicide).shape == (ys, xs)
            assert not full(b, suicide).any()
            assert not pass_alive(b, suicide).any()
            m, count = independent_life_map(b, True, True, suicide)
            assert count == 0 and not m.any()


def test_rectangular_boards_keep_orientation():
    # 2 wide, 5 tall: black's two-eyed column-pair at the top, white's at the bottom.
    b = Board.from_ascii("""
        .X
        XX
        X.
        OO
        .O
    """)
    m = pass_alive(b)
    assert m.shape == (5, 2)
    assert not m.any()  # each side has only one eye
    tall = Board.from_ascii("""
        X.X
        .XX
        XXX
        ...
        ...
        ...
        ...
    """)
    expected = np.zeros((7, 3), dtype=np.uint8)
    expected[:3] = B
    assert (pass_alive(tall) == expected).all()
    wide = Board.from_ascii("""
        X.X......
        .XX......
        XX.......
    """)
    expected = np.zeros((3, 9), dtype=np.uint8)
    expected[0, :3] = expected[1, :3] = expected[2, :2] = B
    assert (pass_alive(wide) == expected).all()


def test_wrappers_reject_non_boards():
    with pytest.raises(TypeError):
        area_map([[0]], multi_stone_suicide_legal=False)
    with pytest.raises(TypeError):
        independent_life_map("board", False, False, False)


# ---------------------------------------------------------------------------------------------
# Oracle: rules.md section 6 transcribed with sets, compared on random positions.

def _neighbours(x, y, xs, ys):
    for dx, dy in ((0, -1), (-1, 0), (1, 0), (0, 1)):
        if 0 <= x + dx < xs and 0 <= y + dy < ys:
            yield x + dx, y + dy


def _flood(start, inside, xs, ys):
    seen, todo = {start}, [start]
    while todo:
        p = todo.pop()
        for q in _neighbours(*p, xs, ys):
            if q not in seen and inside(q):
                seen.add(q)
                todo.append(q)
    return frozenset(seen)


def _oracle_for_pla(col, xs, ys, pla, safe, unsafe, suicide, out):
    opp = 3 - pla
    pts = [(x, y) for y in range(ys) for x in range(xs)]
    chains = {}
    for p in pts:
        if col[p] == pla and p not in chains:
            c = _flood(p, lambda q: col[q] == pla, xs, ys)
            for q in c:
                chains[q] = c
    regions = []
    in_region = set()
    for p in pts:
        if col[p] == 0 and p not in in_region:
            r = _flood(p, lambda q: col[q] in (0, opp), xs, ys)
            in_region |= r
            regions.append(r)

    def touches(p, chain):
        return any(q in chain for q in _neighbours(*p, xs, ys))

    all_chains = set(chains.values())
    vital = []
    for r in regions:
        checked = [p for p in r if suicide or col[p] == 0]
        vital.append({c for c in all_chains if all(touches(p, c) for p in checked)})
    dead, borders_dead = set(), [False] * len(regions)
    while True:
        newly = [c for c in all_chains - dead
                 if sum(1 for i, v in enumerate(vital) if c in v and not borders_dead[i]) < 2]
        if not newly:
            break
        dead |= set(newly)
        for i, r in enumerate(regions):
            if any(touches(p, c) for p in r for c in newly):
                borders_dead[i] = True
    for c in all_chains - dead:
        for p in c:
            out[p] = pla
    has_pla = bool(all_chains)
    for i, r in enumerate(regions):
        internal = sum(1 for p in r if not any(col[q] == pla for q in _neighbours(*p, xs, ys)))
        contains_opp = any(col[p] == opp for p in r)
        if has_pla and not borders_dead[i] and (internal <= 1 or (safe and not contains_opp)):
            for p in r:
                out[p] = pla
        elif unsafe and has_pla and not contains_opp:
            for p in r:
                if out[p] == 0:
                    out[p] = pla


def oracle_area(col, xs, ys, stones, safe, unsafe, suicide):
    out = {p: 0 for p in col}
    _oracle_for_pla(col, xs, ys, B, safe, unsafe, suicide, out)
    _oracle_for_pla(col, xs, ys, W, safe, unsafe, suicide, out)
    if stones:
        for p in out:
            if out[p] == 0:
                out[p] = col[p]
    return out


def oracle_independent_life(col, xs, ys, keep_territories, keep_stones, suicide):
    basic = oracle_area(col, xs, ys, True, True, True, suicide)
    out = {p: 0 for p in col}
    count = 0
    done = set()
    for p in sorted(basic, key=lambda q: (q[1], q[0])):
        owner = basic[p]
        if owner == 0 or p in done:
            continue
        comp = _flood(p, lambda q: basic[q] == owner, xs, ys)
        done |= comp
        seki = any(
            (col[q] == owner and len(_liberties(col, q, xs, ys)) == 1)
            or any(col[n] == 0 and basic[n] == 0 for n in _neighbours(*q, xs, ys))
            for q in comp)
        if not seki:
            count += 1 if owner == W else -1
            for q in comp:
                out[q] = owner
    for p, owner in basic.items():
        if owner == 0:
            continue
        if col[p] == owner and keep_stones:
            out[p] = owner
        elif col[p] != owner and keep_territories:
            out[p] = owner
    return out, count


def _liberties(col, p, xs, ys):
    chain = _flood(p, lambda q: col[q] == col[p], xs, ys)
    return {n for q in chain for n in _neighbours(*q, xs, ys) if col[n] == 0}


def random_position(xs, ys, rng):
    """A random game position: random legal moves, mostly not filling one's own simple eyes, so
    that groups with eyes (and pass-alive ones) appear often."""
    b = Board(xs, ys)
    pla = B
    for _ in range(rng.randrange(xs * ys * 3)):
        empties = [(x, y) for y in range(ys) for x in range(xs) if b.get(x, y) == 0]
        rng.shuffle(empties)
        for p in empties:
            own_eye = all(b.get(*q) == pla for q in _neighbours(*p, xs, ys))
            if b.is_playable(p, pla) and (not own_eye or rng.random() < 0.05):
                b.play(p, pla)
                break
        pla = 3 - pla
    return b


def _as_dict(arr):
    return {(x, y): int(arr[y, x]) for y in range(arr.shape[0]) for x in range(arr.shape[1])}


SIZES = [(9, 9), (7, 11), (13, 5), (2, 2), (3, 19), (19, 19), (5, 5), (4, 6)]


@pytest.mark.parametrize("size", SIZES)
def test_matches_the_spec_oracle_on_random_positions(size):
    xs, ys = size
    rng = random.Random(1000 * xs + ys)
    flags = [(s, sb, ub) for s in (0, 1) for sb in (0, 1) for ub in (0, 1)]
    n_alive = 0
    for _ in range(12 if xs * ys < 200 else 4):
        b = random_position(xs, ys, rng)
        col = _as_dict(b.stones())
        for suicide in (False, True):
            for stones, safe, unsafe in flags:
                got = area_map(b, non_pass_alive_stones=bool(stones), safe_big=bool(safe),
                               unsafe_big=bool(unsafe), multi_stone_suicide_legal=suicide)
                assert _as_dict(got) == oracle_area(col, xs, ys, stones, safe, unsafe, suicide)
            n_alive += int(pass_alive(b, suicide).any())
            for kt in (False, True):
                for ks in (False, True):
                    got, count = independent_life_map(b, kt, ks, suicide)
                    want, want_count = oracle_independent_life(col, xs, ys, kt, ks, suicide)
                    assert (_as_dict(got), count) == (want, want_count)
    if xs * ys >= 25:
        assert n_alive > 0  # the positions do exercise Benson, not just trivial maps


@pytest.mark.parametrize("size", [(9, 9), (7, 11), (19, 19)])
def test_colours_are_symmetric(size):
    xs, ys = size
    rng = random.Random(7 * xs + ys)
    for _ in range(6):
        b = random_position(xs, ys, rng)
        swapped = Board(xs, ys)
        for y in range(ys):
            for x in range(xs):
                if b.get(x, y):
                    swapped.set_stone((x, y), 3 - b.get(x, y))
        swap = np.array([0, W, B], dtype=np.uint8)
        for suicide in (False, True):
            assert (swap[full(b, suicide)] == full(swapped, suicide)).all()
            assert (swap[pass_alive(b, suicide)] == pass_alive(swapped, suicide)).all()
            m, c = independent_life_map(b, False, True, suicide)
            m2, c2 = independent_life_map(swapped, False, True, suicide)
            assert (swap[m] == m2).all() and c == -c2


# ---------------------------------------------------------------------------------------------
# Golden: planes 18/19 of real KataGo selfplay rows (input-features-v7.md section 4).

def _sample_rows():
    data = np.load(SAMPLE)
    packed = data["binaryInputNCHWPacked"]
    n = packed.shape[0]
    planes = np.unpackbits(packed, axis=2)[:, :, :81].reshape(n, 22, 9, 9)
    return planes, data["globalInputNC"]


def _board_from_planes(planes, pla):
    b = Board(9, 9)
    for y, x in zip(*np.nonzero(planes[1])):
        b.set_stone((int(x), int(y)), pla)
    for y, x in zip(*np.nonzero(planes[2])):
        b.set_stone((int(x), int(y)), 3 - pla)
    return b


def expected_area_planes(planes, g, pla):
    """Planes 18/19 rebuilt from the stones and the rules in the global inputs, or None when the
    rules show no area (territory scoring before the second encore)."""
    suicide = g[8] == 1
    territory, taxed, encore2 = g[9] == 1, g[10] == 1, g[13] == 1
    b = _board_from_planes(planes, pla)
    if not territory and not taxed:
        m = full(b, suicide)
    elif not territory:
        m, _ = independent_life_map(b, False, True, suicide)
    elif encore2:
        m, _ = independent_life_map(b, not taxed, False, suicide)
        # Territory stone rule: unowned stones present since the start of encore 2 count.
        stones = b.stones()
        m[(m == 0) & (stones == pla) & (planes[20] == 1)] = pla
        m[(m == 0) & (stones == 3 - pla) & (planes[21] == 1)] = 3 - pla
    else:
        return None
    return (m == pla).astype(np.uint8), (m == 3 - pla).astype(np.uint8)


def test_golden_planes_18_19_match_katago_selfplay_rows():
    planes, g = _sample_rows()
    assert planes.shape[0] == 1827 and (planes[:, 0] == 1).all()
    kinds = {"area_none": 0, "area_taxed": 0, "territory_encore2": 0, "no_feature": 0}
    mismatches = []
    for i in range(planes.shape[0]):
        p = planes[i]
        # The rows do not say which colour pla is; the maps must not depend on it.
        for pla in (B, W):
            want = expected_area_planes(p, g[i], pla)
            if want is None:
                assert not p[18].any() and not p[19].any()
                continue
            if not ((want[0] == p[18]).all() and (want[1] == p[19]).all()):
                mismatches.append((i, pla))
        if g[i][9] == 1:
            kinds["territory_encore2" if g[i][13] == 1 else "no_feature"] += 1
        else:
            kinds["area_taxed" if g[i][10] == 1 else "area_none"] += 1
    assert mismatches == []
    # Every applicable row was checked: 940 of the 1,827 carry an area feature.
    assert kinds == {"area_none": 283, "area_taxed": 556, "territory_encore2": 101,
                     "no_feature": 887}
