"""The targets of one training row, each a small pure function (training-data-npz.md §6-§10).

Value targets (TD blends of the game's values, lead, score distribution), ownership, future
boards, the scoring map, the policy target planes and the q-value targets, all from the row
player's view and in the data tensor's layout. Apart from rows.py, which assembles the rows, so
that each formula can be checked against KataGo's data on its own. The TD blends are summed in
double and rounded to float32, and the stochastic roundings (scoring map, q-values) draw
Bernoulli variables exactly where KataGo does; randomness comes from a numpy Generator, whose
stream differs from KataGo's Rand while the distributions do not.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from goloop.common.files.trainingdata import EXTRA_SCORE_DISTR_RADIUS, score_distr_len
from goloop.selfplay.gamedata import (
    EMPTY,
    WHITE,
    Move,
    QValueTarget,
    RowsError,
    ValueTargets,
    c_round,
    check_pla,
    f32,
    opp,
)

# KataGo caps score-like targets at its largest board area plus the score distribution's
# extra radius, whatever the data's tensor size (NNPos::MAX_BOARD_AREA = 19*19).
MAX_BOARD_AREA = 361
SCORE_TARGET_CAP = float(MAX_BOARD_AREA + EXTRA_SCORE_DISTR_RADIUS)

# TD "now factor" coefficients f = 1/(1 + boardArea*c) for the long, mid and short horizons.
TD_COEFFS = (0.176, 0.056, 0.016)
QVALUE_RADIUS = 32000
SCORING_RADIUS = 120


def td_now_factors(board_area: int) -> Tuple[float, float, float]:
    """Now factors of the long, mid and short TD targets; they scale with the board's real area."""
    return tuple(1.0 / (1.0 + board_area * c) for c in TD_COEFFS)


def td_value_target(white_values: Sequence[ValueTargets], idx: int, pla: int, now_factor: float) -> np.ndarray:
    """(win, loss, noResult, score) for `pla`: entry i >= idx weighted f(1-f)^(i-idx), the last gets the rest.

    now_factor 0 gives the final outcome, 1 this turn's own search. Summed in double and
    capped at +-421 before rounding to float32.
    """
    check_pla(pla)
    n = len(white_values)
    if not 0 <= idx < n:
        raise RowsError(f"value index {idx} outside 0..{n - 1}")
    win = loss = nr = score = 0.0
    left = 1.0
    for i in range(idx, n):
        if i == n - 1:
            w, left = left, 0.0
        else:
            w = left * now_factor
            left *= 1.0 - now_factor
        v = white_values[i]
        win += w * (v.win if pla == WHITE else v.loss)
        loss += w * (v.loss if pla == WHITE else v.win)
        nr += w * v.no_result
        score += w * (v.score if pla == WHITE else -v.score)
    score = min(max(score, -SCORE_TARGET_CAP), SCORE_TARGET_CAP)
    return np.array([win, loss, nr, score], dtype=np.float32)


def winloss_variance_arrival_time(white_values: Sequence[ValueTargets], idx: int) -> float:
    """C22: sum over later entries j of (j - idx) * (WL_j - WL_{j-1})^2, WL = win - loss in float32.

    A hint of how far ahead the game's decisive swings happen.
    """
    total = 0.0
    for i in range(idx + 1, len(white_values)):
        prev = float(np.float32(white_values[i - 1].win) - np.float32(white_values[i - 1].loss))
        nxt = float(np.float32(white_values[i].win) - np.float32(white_values[i].loss))
        total += (i - idx) * (nxt - prev) * (nxt - prev)
    return f32(total)


def lead_target(value: ValueTargets, pla: int) -> Optional[float]:
    """C21: the estimated lead for `pla` capped at +-421, or None when not estimated."""
    if value.lead is None:
        return None
    lead = value.lead if check_pla(pla) == WHITE else -value.lead
    return min(max(lead, -SCORE_TARGET_CAP), SCORE_TARGET_CAP)


def score_distribution(score: float, pos_len: int) -> np.ndarray:
    """One-hot-ish final score target: 100 split over the bins either side of `score` (pla's view).

    Bin i stands for (i - mid) + 0.5 with mid = A + 60. Half-integer scores fill one bin;
    integer scores (draws possible) split between the two bins at +-0.5. Out-of-range scores
    pile onto the end bins.
    """
    length = score_distr_len(pos_len)
    mid = pos_len * pos_len + EXTRA_SCORE_DISTR_RADIUS
    out = np.zeros(length, dtype=np.int8)
    s = np.float32(score)
    center = c_round(float(s))
    lower, upper = center + mid - 1, center + mid
    if upper <= 0:
        out[0] = 100
    elif lower >= length - 1:
        out[length - 1] = 100
    else:
        lam = s - np.float32(np.float32(center) - np.float32(0.5))
        upper_prop = c_round(float(np.float32(lam * np.float32(100.0))))
        out[lower] = 100 - upper_prop
        out[upper] = upper_prop
    return out


def dummy_score_distribution(pos_len: int) -> np.ndarray:
    """The placeholder used when a row has no score target (C27 = 0): 50/50 around zero."""
    out = np.zeros(score_distr_len(pos_len), dtype=np.int8)
    mid = pos_len * pos_len + EXTRA_SCORE_DISTR_RADIUS
    out[mid - 1] = 50
    out[mid] = 50
    return out


def _fit(plane: np.ndarray, pos_len: int, dtype) -> np.ndarray:
    ys, xs = plane.shape
    if ys > pos_len or xs > pos_len:
        raise RowsError(f"a {xs}x{ys} board does not fit a {pos_len}x{pos_len} data tensor")
    out = np.zeros((pos_len, pos_len), dtype=dtype)
    out[:ys, :xs] = plane
    return out


def _signed_colours(colours: np.ndarray, pla: int) -> np.ndarray:
    colours = np.asarray(colours)
    return np.where(colours == pla, 1, np.where(colours == opp(pla), -1, 0)).astype(np.int8)


def ownership_targets(ownership: np.ndarray, full_area: np.ndarray, pla: int, pos_len: int) -> np.ndarray:
    """valueTargets channels 0-1 for `pla`: final ownership (+1 mine, -1 theirs) and the naive-area
    points the final scoring left unowned (seki and the like), signed by their naive owner."""
    check_pla(pla)
    ownership = np.asarray(ownership)
    full_area = np.asarray(full_area)
    own = _signed_colours(ownership, pla)
    diff = np.where((full_area != EMPTY) & (ownership == EMPTY), _signed_colours(full_area, pla), 0)
    return np.stack([_fit(own, pos_len, np.int8), _fit(diff, pos_len, np.int8)])


def future_board_target(stones: np.ndarray, pla: int, pos_len: int) -> np.ndarray:
    """A later board (channels 2-3) for `pla`: +1 own stone, -1 opponent stone."""
    return _fit(_signed_colours(stones, check_pla(pla)), pos_len, np.int8)


def stochastic_round_clamped(x, radius: int, rng: np.random.Generator) -> np.ndarray:
    """Round float32 values to floor(x) or floor(x)+1 with the fraction as probability, clamped to
    +-radius: the int8/int16 targets keep the exact expectation (KataGo clampToRadius*)."""
    x = np.asarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise RowsError("values to round must be finite")
    low = np.floor(x)
    frac = (x - low).astype(np.float32)
    up = rng.random(x.shape) < frac
    out = low.astype(np.int64) + up
    out = np.where(low < -radius, -radius, out)
    out = np.where(low + 1 > radius, radius, out)
    return out.astype(np.int64)


def scoring_target(white_scoring: np.ndarray, pla: int, pos_len: int, rng: np.random.Generator) -> np.ndarray:
    """Channel 4: the scoring map for `pla` times 120, stochastically rounded to int8."""
    s = np.asarray(white_scoring, dtype=np.float32)
    if np.any(np.abs(s) > 1):
        raise RowsError("scoring map values must lie in [-1, 1]")
    s = s if check_pla(pla) == WHITE else -s
    return _fit(stochastic_round_clamped(s * np.float32(SCORING_RADIUS), SCORING_RADIUS, rng), pos_len, np.int8)


def tensor_pos(move: Move, x_size: int, y_size: int, pos_len: int) -> int:
    """Policy index of a move in the data tensor: y*pos_len + x, pass = pos_len^2."""
    if move is None:
        return pos_len * pos_len
    x, y = move
    if not (0 <= x < x_size and 0 <= y < y_size):
        raise RowsError(f"move {move} is off a {x_size}x{y_size} board")
    return y * pos_len + x


def policy_target_plane(counts: Optional[Sequence[Tuple[Move, int]]], x_size: int, y_size: int,
                        pos_len: int) -> np.ndarray:
    """One policyTargetsNCMove channel; a missing target is all ones so normalizing never divides by 0."""
    size = pos_len * pos_len + 1
    if counts is None:
        return np.ones(size, dtype=np.int16)
    out = np.zeros(size, dtype=np.int16)
    for move, count in counts:
        if not 0 <= count <= 32767:
            raise RowsError(f"policy target count {count} for {move} does not fit int16")
        out[tensor_pos(move, x_size, y_size, pos_len)] = count
    return out


def qvalue_targets(q_values: Sequence[QValueTarget], pla: int, x_size: int, y_size: int, pos_len: int,
                   rng: np.random.Generator) -> np.ndarray:
    """(3, A+1) for `pla`: child win-loss x32000 and score (capped +-421) x60, stochastically rounded,
    and visits clipped to [0, 32000]; unvisited moves stay 0."""
    check_pla(pla)
    out = np.zeros((3, pos_len * pos_len + 1), dtype=np.int16)
    if not q_values:
        return out
    sign = np.float32(1.0 if pla == WHITE else -1.0)
    cap = np.float32(SCORE_TARGET_CAP)
    wl = np.array([q.white_win_loss for q in q_values], dtype=np.float32) * sign
    score = np.clip(np.array([q.white_score for q in q_values], dtype=np.float32) * sign, -cap, cap)
    pos = [tensor_pos(q.move, x_size, y_size, pos_len) for q in q_values]
    out[0, pos] = stochastic_round_clamped(wl * np.float32(32000.0), QVALUE_RADIUS, rng)
    out[1, pos] = stochastic_round_clamped(score * np.float32(60.0), QVALUE_RADIUS, rng)
    out[2, pos] = [min(max(int(q.visits), 0), QVALUE_RADIUS) for q in q_values]
    return out

