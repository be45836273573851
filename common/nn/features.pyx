# cython: language_level=3, boundscheck=False, wraparound=False
"""The neural net's inputs: KataGo's input features version 7 (shared/spec/input-features-v7.md).

Every current KataGo net (model versions 8..17) reads exactly these 22 spatial planes and 19
global values, and training data stores them, so they must equal KataGo's bit for bit: a net
trained by KataGo then plays the same in goloop, and goloop's data trains KataGo's nets.

Everything is from the point of view of the player the row is for ("pla"), never black/white.
The board sits in the top-left corner of a pos_x x pos_y tensor; plane 0 marks the board, so
boards of several sizes can share one batch. Symmetries are applied later by the evaluator.

The rule questions (superko bans, whether a pass would end the phase or game, the friendly-pass
suppression, the recent boards, how much history is believable) are answered by the History;
this module only lays the answers out. Nothing here writes to the History, so several threads
may encode the same one at once (fill_row_v7 runs without the GIL).
"""
from libc.string cimport memset
from libc.math cimport floorf
from libc.stdint cimport uint8_t
from goloop.common.go.board cimport BoardState, MAX_ARR, EMPTY, BLACK, WHITE, NULL_LOC, PASS_LOC, loc_of
from goloop.common.go.history cimport (History, SCORING_AREA, SCORING_TERRITORY, TAX_NONE, TAX_SEKI,
                                    TAX_ALL, KO_POSITIONAL, KO_SITUATIONAL, KO_SPIGHT)
from goloop.common.go.area cimport calculate_area, calculate_independent_life_area
from goloop.common.go.ladder cimport compute_ladder_planes

import numpy as np

from goloop.common.go.board import color_of

NUM_SPATIAL_FEATURES = NUM_SPATIAL_V7
NUM_GLOBAL_FEATURES = NUM_GLOBAL_V7

# KataGo bounds the komi input to the board area plus this many points either way.
cdef float KOMI_CLIP_RADIUS = 20.0
# Moves of history shown at most (planes 9..13, globals 0..4).
cdef int MAX_HISTORY_TURNS = 5


cdef void nn_params_default(NNParams* params) noexcept nogil:
    params.draw_equivalent_wins_for_white = 0.5
    params.playout_doubling_advantage = 0.0
    params.conservative_pass = False
    params.enable_passing_hacks = False
    params.max_history = 1000
    params.pass_alive_under_suicide_rules = False


cdef inline int _pos(const BoardState* b, int loc, int pos_x) noexcept nogil:
    return ((loc // b.stride) - 1) * pos_x + (loc % b.stride) - 1


cdef void _ladder_plane(const BoardState* b, float* plane, int pos_x, uint8_t* laddered,
                        uint8_t* scratch, int pla) noexcept nogil:
    """Plane of the stones in ladder-capturable chains of b; `laddered` gets the loc map."""
    cdef int x, y
    compute_ladder_planes(b, laddered, scratch, pla)
    for y in range(b.y_size):
        for x in range(b.x_size):
            if laddered[loc_of(b, x, y)]:
                plane[y * pos_x + x] = 1.0


cdef void _copy_plane(const BoardState* b, const float* src, float* dst, int pos_x) noexcept nogil:
    cdef int x, y
    for y in range(b.y_size):
        for x in range(b.x_size):
            dst[y * pos_x + x] = src[y * pos_x + x]


cdef void fill_row_v7(History hist, int next_pla, NNParams* params, float* spatial,
                      float* global_, int pos_x, int pos_y) noexcept nogil:
    cdef const BoardState* b = &hist.cur
    cdef const BoardState* prev
    cdef const BoardState* prev_prev
    cdef int pla = next_pla
    cdef int opp = 3 - pla
    cdef int area_t = pos_x * pos_y
    cdef int x, y, l, p, c, k, n, libs, amount, included, expected
    cdef uint8_t banned[MAX_ARR]
    cdef uint8_t area[MAX_ARR]
    cdef uint8_t laddered[MAX_ARR]
    cdef uint8_t working[MAX_ARR]
    cdef bint has_area = False, keep_territories = False, keep_stones = False
    cdef bint territory = hist.scoring_rule == SCORING_TERRITORY
    cdef bint suicide_legal = hist.multi_suicide or params.pass_alive_under_suicide_rules
    cdef bint not_win = False, suppress = False
    cdef int board_score = 0, max_turns
    cdef float self_komi, b_area, komi_floor, delta, wave

    memset(spatial, 0, NUM_SPATIAL_V7 * area_t * sizeof(float))
    memset(global_, 0, NUM_GLOBAL_V7 * sizeof(float))

    # Planes 0..5: board, stones, chains with 1/2/3 liberties.
    for y in range(b.y_size):
        for x in range(b.x_size):
            p = y * pos_x + x
            l = loc_of(b, x, y)
            spatial[p] = 1.0
            c = b.color[l]
            if c == pla:
                spatial[area_t + p] = 1.0
            elif c == opp:
                spatial[2 * area_t + p] = 1.0
            if c == BLACK or c == WHITE:
                libs = b.libs[b.head[l]]
                if 1 <= libs <= 3:
                    spatial[(2 + libs) * area_t + p] = 1.0

    # Planes 6, 7: ko bans (simple ko + superko in the main phase; encore capture-once bans and
    # ko-recapture blocks in the encore). The bans are the history's player-to-move's.
    hist.c_superko_banned(banned)
    if hist.encore_phase == 0:
        if b.ko_loc != NULL_LOC:
            spatial[6 * area_t + _pos(b, b.ko_loc, pos_x)] = 1.0
        for y in range(b.y_size):
            for x in range(b.x_size):
                if banned[loc_of(b, x, y)]:
                    spatial[6 * area_t + y * pos_x + x] = 1.0
    else:
        for y in range(b.y_size):
            for x in range(b.x_size):
                l = loc_of(b, x, y)
                if banned[l]:
                    spatial[6 * area_t + y * pos_x + x] = 1.0
                if hist.ko_recap_blocked[l]:
                    spatial[7 * area_t + y * pos_x + x] = 1.0

    # Planes 18, 19: the area the current scoring rule would count now (input-features §4);
    # territory rules show it only once encore 2 has frozen the stones that count.
    if hist.scoring_rule == SCORING_AREA and hist.tax_rule == TAX_NONE:
        has_area = True
        calculate_area(b, area, True, True, True, suicide_legal)
    else:
        if hist.scoring_rule == SCORING_AREA:
            has_area, keep_territories, keep_stones = True, False, True
        elif hist.encore_phase >= 2:
            has_area, keep_territories, keep_stones = True, hist.tax_rule == TAX_NONE, False
        if has_area:
            k = calculate_independent_life_area(b, area, keep_territories, keep_stones,
                                                suicide_legal)
            if hist.tax_rule == TAX_ALL:
                board_score = -2 * k if pla == WHITE else 2 * k
    if has_area:
        for y in range(b.y_size):
            for x in range(b.x_size):
                l = loc_of(b, x, y)
                p = y * pos_x + x
                c = area[l]
                if c == EMPTY and territory:
                    # Territory stone rule: stones standing since encore 2 began count.
                    if b.color[l] == hist.second_encore_start[l]:
                        c = b.color[l]
                if c == pla:
                    spatial[18 * area_t + p] = 1.0
                    board_score += 1
                elif c == opp:
                    spatial[19 * area_t + p] = 1.0
                    board_score -= 1
        # Only the passing hacks read this: would ending the game now be a loss or a draw?
        self_komi = hist.c_self_komi(pla, params.draw_equivalent_wins_for_white)
        if <float>board_score + self_komi <= 0.0:
            not_win = True

    # Planes 9..13 and globals 0..4: the last moves, as far as they are believable history.
    max_turns = MAX_HISTORY_TURNS
    if hist.c_pass_would_end_game(next_pla) and (
            params.conservative_pass
            or hist.c_should_suppress_end_game_from_friendly_pass(next_pla)
            or (params.enable_passing_hacks and not_win)):
        # Search behaves as if a pass would not end the game: the net must not see the passes
        # that say it would.
        max_turns = 0
        suppress = True
    elif hist.finished or hist.past_normal_phase_end:
        max_turns = 1
    if params.max_history < max_turns:
        max_turns = params.max_history
    amount = max_turns if max_turns < hist.num_approx_valid_turns else hist.num_approx_valid_turns
    n = <int>hist.move_locs.size()
    included = 0
    expected = opp
    for k in range(1, amount + 1):
        if k > n or hist.move_plas[n - k] != expected:
            break
        included = k
        l = hist.move_locs[n - k]
        if l == PASS_LOC:
            global_[k - 1] = 1.0
        elif l != NULL_LOC:
            spatial[(8 + k) * area_t + _pos(b, l, pos_x)] = 1.0
        expected = 3 - expected

    # Planes 14..17: ladders now, 1 and 2 moves ago (the older boards only when that history is
    # shown, else the more recent board again), and the working first moves against opp.
    compute_ladder_planes(b, laddered, working, pla)
    for y in range(b.y_size):
        for x in range(b.x_size):
            l = loc_of(b, x, y)
            p = y * pos_x + x
            if laddered[l]:
                spatial[14 * area_t + p] = 1.0
            if working[l]:
                spatial[17 * area_t + p] = 1.0
    prev = b if included < 1 else hist.c_recent_board(1)
    if prev == b:
        _copy_plane(b, spatial + 14 * area_t, spatial + 15 * area_t, pos_x)
    else:
        _ladder_plane(prev, spatial + 15 * area_t, pos_x, laddered, working, pla)
    prev_prev = prev if included < 2 else hist.c_recent_board(2)
    if prev_prev == prev:
        _copy_plane(b, spatial + 15 * area_t, spatial + 16 * area_t, pos_x)
    else:
        _ladder_plane(prev_prev, spatial + 16 * area_t, pos_x, laddered, working, pla)

    # Planes 20, 21: the stones at the start of encore 2.
    if hist.encore_phase >= 2:
        for y in range(b.y_size):
            for x in range(b.x_size):
                c = hist.second_encore_start[loc_of(b, x, y)]
                if c == pla:
                    spatial[20 * area_t + y * pos_x + x] = 1.0
                elif c == opp:
                    spatial[21 * area_t + y * pos_x + x] = 1.0

    # Globals 5..18.
    self_komi = hist.c_self_komi(pla, params.draw_equivalent_wins_for_white)
    b_area = <float>(b.x_size * b.y_size)
    if self_komi > b_area + KOMI_CLIP_RADIUS:
        self_komi = b_area + KOMI_CLIP_RADIUS
    if self_komi < -b_area - KOMI_CLIP_RADIUS:
        self_komi = -b_area - KOMI_CLIP_RADIUS
    global_[5] = self_komi / <float>20.0

    if hist.ko_rule == KO_POSITIONAL or hist.ko_rule == KO_SPIGHT:
        global_[6] = 1.0
        global_[7] = 0.5
    elif hist.ko_rule == KO_SITUATIONAL:
        global_[6] = 1.0
        global_[7] = -0.5
    if hist.multi_suicide:
        global_[8] = 1.0
    if territory:
        global_[9] = 1.0
    if hist.tax_rule == TAX_SEKI or hist.tax_rule == TAX_ALL:
        global_[10] = 1.0
    if hist.tax_rule == TAX_ALL:
        global_[11] = 1.0
    if hist.encore_phase > 0:
        global_[12] = 1.0
    if hist.encore_phase > 1:
        global_[13] = 1.0
    if not suppress and hist.c_pass_would_end_phase(next_pla):
        global_[14] = 1.0
    if params.playout_doubling_advantage != 0:
        global_[15] = 1.0
        global_[16] = <float>(0.5 * params.playout_doubling_advantage)
    if hist.c_button_available():
        global_[17] = 1.0

    # Global 18: a triangle wave in komi of period 2 that peaks just above the komis that allow
    # a draw on this board (their parity is the board area's). Must stay the last global.
    if hist.scoring_rule == SCORING_AREA or hist.encore_phase >= 2:
        if (b.x_size * b.y_size) % 2 == 0:
            komi_floor = floorf(self_komi / <float>2.0) * <float>2.0
        else:
            komi_floor = floorf((self_komi - <float>1.0) / <float>2.0) * <float>2.0 + <float>1.0
        delta = self_komi - komi_floor
        if delta < 0.0:
            delta = 0.0
        if delta > 2.0:
            delta = 2.0
        if delta < 0.5:
            wave = delta
        elif delta < 1.5:
            wave = <float>1.0 - delta
        else:
            wave = delta - <float>2.0
        global_[18] = wave


# ---------------------------------------------------------------------------------------------
# Python face.

class FeatureError(ValueError):
    """Arrays or options that cannot hold or describe a feature row."""


cdef void _params_from(NNParams* params, double draw_equivalent_wins_for_white,
                       double playout_doubling_advantage, bint conservative_pass,
                       bint enable_passing_hacks, int max_history,
                       bint pass_alive_under_suicide_rules):
    nn_params_default(params)
    params.draw_equivalent_wins_for_white = draw_equivalent_wins_for_white
    params.playout_doubling_advantage = playout_doubling_advantage
    params.conservative_pass = conservative_pass
    params.enable_passing_hacks = enable_passing_hacks
    params.max_history = max_history
    params.pass_alive_under_suicide_rules = pass_alive_under_suicide_rules


def _tensor_shape(pos_len, int x_size, int y_size):
    """(pos_y, pos_x) of the tensor: the board's own size, or a square pos_len."""
    if pos_len is None:
        return y_size, x_size
    pos_len = int(pos_len)
    if pos_len < x_size or pos_len < y_size:
        raise FeatureError(f"a {x_size}x{y_size} board does not fit a {pos_len}x{pos_len} tensor")
    return pos_len, pos_len


def _check_out(out_spatial, out_global, int row, int x_size, int y_size):
    if out_spatial.ndim != 4 or out_spatial.shape[1] != NUM_SPATIAL_V7:
        raise FeatureError(f"out_spatial must have shape (N, {NUM_SPATIAL_V7}, Y, X), "
                           f"got {out_spatial.shape}")
    if out_global.ndim != 2 or out_global.shape[1] != NUM_GLOBAL_V7:
        raise FeatureError(f"out_global must have shape (N, {NUM_GLOBAL_V7}), got {out_global.shape}")
    if not (0 <= row < out_spatial.shape[0] and row < out_global.shape[0]):
        raise FeatureError(f"row {row} is outside the output arrays "
                           f"({out_spatial.shape[0]} and {out_global.shape[0]} rows)")
    if out_spatial.shape[2] < y_size or out_spatial.shape[3] < x_size:
        raise FeatureError(f"a {x_size}x{y_size} board does not fit planes of "
                           f"{out_spatial.shape[3]}x{out_spatial.shape[2]} (X x Y)")


def encode(History history, out_spatial=None, out_global=None, int row=0, pos_len=None,
           next_player=None, double draw_equivalent_wins_for_white=0.5,
           double playout_doubling_advantage=0.0, bint conservative_pass=False,
           bint enable_passing_hacks=False, int max_history=1000,
           bint pass_alive_under_suicide_rules=False):
    """The V7 inputs of `history` for `next_player` (default: the player to move).

    Writes row `row` of `out_spatial` (N, 22, Y, X) and `out_global` (N, 19), C-contiguous
    float32, when given; else allocates one row with a square `pos_len` tensor (default: the
    board's own Y x X). Returns (spatial, global). See NNParams in features.pxd for the options;
    `playout_doubling_advantage` is already from the row's player's side and
    `conservative_pass` belongs to the search root only.
    """
    cdef NNParams params
    cdef float[:, :, :, ::1] sp
    cdef float[:, ::1] gl
    cdef int pla = history.pla if next_player is None else color_of(next_player)
    cdef int x_size = history.cur.x_size, y_size = history.cur.y_size
    if pla != BLACK and pla != WHITE:
        raise FeatureError(f"features are for black or white, not {next_player!r}")
    if (out_spatial is None) != (out_global is None):
        raise FeatureError("give both out_spatial and out_global, or neither")
    if out_spatial is None:
        pos_y, pos_x = _tensor_shape(pos_len, x_size, y_size)
        out_spatial = np.zeros((1, NUM_SPATIAL_V7, pos_y, pos_x), dtype=np.float32)
        out_global = np.zeros((1, NUM_GLOBAL_V7), dtype=np.float32)
        row = 0
    else:
        _check_out(out_spatial, out_global, row, x_size, y_size)
        if pos_len is not None and (out_spatial.shape[2] != pos_len or out_spatial.shape[3] != pos_len):
            raise FeatureError(f"pos_len {pos_len} disagrees with out_spatial's shape {out_spatial.shape}")
    try:
        sp = out_spatial
        gl = out_global
    except (ValueError, TypeError) as e:
        raise FeatureError(f"output arrays must be C-contiguous float32 and writable: {e}") from None
    _params_from(&params, draw_equivalent_wins_for_white, playout_doubling_advantage,
                 conservative_pass, enable_passing_hacks, max_history,
                 pass_alive_under_suicide_rules)
    with nogil:
        fill_row_v7(history, pla, &params, &sp[row, 0, 0, 0], &gl[row, 0],
                    <int>sp.shape[3], <int>sp.shape[2])
    return out_spatial, out_global


def encode_batch(histories, pos_len=None, double draw_equivalent_wins_for_white=0.5,
                 double playout_doubling_advantage=0.0, bint conservative_pass=False,
                 bint enable_passing_hacks=False, int max_history=1000,
                 bint pass_alive_under_suicide_rules=False):
    """Rows for several histories (each for its player to move) in one (N, 22, P, P) tensor.

    `pos_len` defaults to the largest board side among them; smaller boards sit in the
    top-left corner with plane 0 marking them.
    """
    cdef NNParams params
    cdef float[:, :, :, ::1] sp
    cdef float[:, ::1] gl
    cdef History h
    cdef int i, p
    histories = list(histories)
    for i, obj in enumerate(histories):
        if not isinstance(obj, History):
            raise FeatureError(f"histories[{i}] is a {type(obj).__name__}, not a History")
    if pos_len is None:
        p = max([max(h.cur.x_size, h.cur.y_size) for h in histories], default=0)
    else:
        p = int(pos_len)
    out_spatial = np.zeros((len(histories), NUM_SPATIAL_V7, p, p), dtype=np.float32)
    out_global = np.zeros((len(histories), NUM_GLOBAL_V7), dtype=np.float32)
    sp = out_spatial
    gl = out_global
    _params_from(&params, draw_equivalent_wins_for_white, playout_doubling_advantage,
                 conservative_pass, enable_passing_hacks, max_history,
                 pass_alive_under_suicide_rules)
    for i, h in enumerate(histories):
        if h.cur.x_size > p or h.cur.y_size > p:
            raise FeatureError(f"a {h.cur.x_size}x{h.cur.y_size} board does not fit a {p}x{p} tensor")
        with nogil:
            fill_row_v7(h, h.pla, &params, &sp[i, 0, 0, 0], &gl[i, 0], p, p)
    return out_spatial, out_global
