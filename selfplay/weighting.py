"""How many rows each turn of a selfplay game gets: playout cap randomization and turn weights.

During the game, playout cap randomization spends fewer visits on decided positions and gives
their rows a smaller weight; after it, surprise weighting moves the game's total weight towards
the turns the net misjudged, and stochastic rounding turns weights into whole row copies, in
KataGo's order of steps (training-data-npz.md §11). Apart from the targets (targets.py) because
this decides which rows exist, not what they hold. Randomness comes from a numpy Generator; its
stream differs from KataGo's Rand, the distributions do not.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import numpy as np

from goloop.selfplay.gamedata import FinishedGame, RowsError, ValueTargets, c_round, f32
from goloop.selfplay.targets import TD_COEFFS

# ---------------------------------------------------------------------------------------------
# Playout cap randomization: reduced visits when one side is clearly winning.

def visit_reduction_proportion(recent_white_win_loss: Sequence[float], threshold: float = 0.9,
                               lookback: int = 3) -> float:
    """How far past `threshold` the last `lookback` root win-loss values all are (0 = no reduction).

    The least extreme of the recent values counts, and only if all agree on the winner; the
    result is squared so the reduction starts gently. Spending fewer visits on decided games
    buys more games per GPU hour, and their rows get a smaller weight.
    """
    if len(recent_white_win_loss) < lookback or lookback <= 0:
        return 0.0
    last = [float(v) for v in recent_white_win_loss[-lookback:]]
    signed_most_extreme = min(max(min(last), -max(last)), 1.0)
    through = signed_most_extreme - threshold
    if through <= 0:
        return 0.0
    proportion = through / (1.0 - threshold)
    return proportion * proportion


def reduced_visits(max_visits: int, proportion: float, reduced_visits_min: int) -> int:
    """Visit limit after reduction: interpolate towards reducedVisitsMin, never below it."""
    visits = c_round(max_visits + proportion * (float(reduced_visits_min) - float(max_visits)))
    return max(visits, reduced_visits_min)


def reduced_weight(weight: float, proportion: float, reduced_visits_weight: float = 0.1) -> float:
    """Row weight after reduction: interpolate towards reducedVisitsWeight (float32 like KataGo)."""
    w = f32(weight)
    return f32(w + proportion * (reduced_visits_weight - w))


# ---------------------------------------------------------------------------------------------
# Turn weights after the game.

def value_surprise_kl(win: float, loss: float, no_result: float, raw: Tuple[float, float, float]) -> float:
    """KL of an outcome distribution from the raw net's value, clamped to [0, 1]."""
    s = 0.0
    for v, r in zip((win, loss, no_result), raw):
        if v > 1e-100:
            s += v * (math.log(v) - math.log(max(float(r), 1e-100)))
    return min(max(s, 0.0), 1.0)


def value_surprise_by_turn(white_values: Sequence[ValueTargets], raw_nn_values: Sequence[Tuple[float, float, float]],
                           board_area: int) -> List[float]:
    """Per-turn value surprise: the short-horizon TD outcome, walked back from the result, vs the raw net.

    `white_values` has one entry per turn plus the final outcome last.
    """
    if len(white_values) != len(raw_nn_values) + 1:
        raise RowsError(f"{len(white_values)} value entries for {len(raw_nn_values)} turns; expected turns + 1")
    f = 1.0 / (1.0 + board_area * TD_COEFFS[2])
    last = white_values[-1]
    win, loss, nr = last.win, last.loss, last.no_result
    out = [0.0] * len(raw_nn_values)
    for i in range(len(raw_nn_values) - 1, -1, -1):
        v = white_values[i]
        win = win + f * (v.win - win)
        loss = loss + f * (v.loss - loss)
        nr = nr + f * (v.no_result - nr)
        out[i] = value_surprise_kl(win, loss, nr, raw_nn_values[i])
    return out


def surprise_weighted(weights: Sequence[float], policy_surprises: Sequence[float],
                      value_surprises: Sequence[float], policy_surprise_data_weight: float = 0.5,
                      value_surprise_data_weight: float = 0.1) -> List[float]:
    """Redistribute a game's total turn weight towards surprising turns (KataGo's surprise weighting).

    Half the weight (policySurpriseDataWeight) follows policy surprise and a tenth
    (valueSurpriseDataWeight, less when the game hardly surprised the value head) follows
    value surprise; the total is kept. Cheap-search turns (weight 0) share only in surprise
    above 1.5x the game's average, so they are written only when the net badly misjudged them.
    """
    n = len(weights)
    if len(policy_surprises) != n or len(value_surprises) != n:
        raise RowsError("weights and surprises must have one entry per turn")
    w = [f32(x) for x in weights]
    if any(not 0.0 <= x <= 1.0 for x in w):
        raise RowsError(f"turn weights before surprise weighting must be in [0, 1]: {weights}")
    if policy_surprise_data_weight <= 0 and value_surprise_data_weight <= 0:
        return w
    sum_w = sum(w)
    if sum_w < 1:
        return w
    avg_ps = sum(p * x for p, x in zip(policy_surprises, w)) / sum_w
    avg_vs = sum(v * x for v, x in zip(value_surprises, w)) / sum_w
    vsdw = value_surprise_data_weight
    if avg_vs < 0.010:
        vsdw *= avg_vs / 0.010
    threshold = avg_ps * 1.5
    ps_prop = [x * p + (1 - x) * max(0.0, p - threshold) for x, p in zip(w, policy_surprises)]
    vs_prop = [x * v for x, v in zip(w, value_surprises)]
    sum_ps = max(sum(ps_prop), 1e-10)
    sum_vs = max(sum(vs_prop), 1e-10)
    return [f32((1.0 - policy_surprise_data_weight - vsdw) * x
                + policy_surprise_data_weight * pp * sum_w / sum_ps
                + vsdw * vp * sum_w / sum_vs)
            for x, pp, vp in zip(w, ps_prop, vs_prop)]


def resolve_weight(weight: float, rng: np.random.Generator) -> float:
    """Stochastic rounding of a turn weight to an integer (floor + Bernoulli(fraction)), as float32."""
    w = max(f32(weight), 0.0)
    floored = float(math.floor(w))
    excess = f32(w - floored)
    return floored + 1.0 if rng.random() < excess else floored


def row_copies(weight: float, rng: np.random.Generator) -> int:
    """How many times a row with this (resolved) weight is written: KataGo's writeGame loop.

    Each whole unit writes one copy; a fractional remainder writes one more with that
    probability (only matters for weights that were not resolved to integers).
    """
    copies = 0
    w = float(weight)
    while w > 0.0:
        if w >= 1.0 or rng.random() < w:
            copies += 1
        w -= 1.0
    return copies


def finalize_weights(game: "FinishedGame", rng: np.random.Generator, policy_surprise_data_weight: float = 0.5,
                     value_surprise_data_weight: float = 0.1,
                     scale_data_weight: float = 1.0) -> Tuple[List[float], List[float]]:
    """(turn weights, side-position weights) to write, in KataGo's order of steps.

    Value surprise against the game's outcome, surprise weighting of the turns, the
    scaleDataWeight factor on everything, then stochastic rounding to integers. Lead
    estimation (lead_estimation_eligible) comes after this, on the rounded weights.
    """
    values = [t.value for t in game.turns] + [game.final.value]
    area = game.start_history.x_size * game.start_history.y_size
    value_surprises = value_surprise_by_turn(values, [t.raw_nn_value for t in game.turns], area)
    weights = surprise_weighted([t.weight for t in game.turns], [t.policy_surprise for t in game.turns],
                                value_surprises, policy_surprise_data_weight, value_surprise_data_weight)
    sides = [f32(s.weight) for s in game.side_positions]
    if scale_data_weight != 1.0:
        weights = [f32(scale_data_weight * w) for w in weights]
        sides = [f32(scale_data_weight * w) for w in sides]
    return [resolve_weight(w, rng) for w in weights], [resolve_weight(w, rng) for w in sides]


def lead_estimation_eligible(weight: float, white_no_result: float, game_is_no_result: bool) -> bool:
    """Whether a turn may get a lead estimate (then with probability estimateLeadProb).

    Only rows that will be written, where no-result is unlikely (komi and result decouple
    there), in games that did not end without result.
    """
    return weight > 0 and white_no_result < 0.3 and not game_is_no_result
