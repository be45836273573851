"""A finished selfplay game -> training rows, with KataGo's targets (training-data-npz.md §6-§11).

The game loop records, for each turn, what the search found (dataclasses below, all values
from White's view as inside KataGo); after the game ends it derives the final outcome, turns
the per-turn search weights into how many copies of each row to write, and hands the record
to `game_rows`, which yields one `TrainingRow` per copy. Every target formula is a small pure
function here so each can be checked against KataGo's data on its own.

Numbers follow KataGo's C++ types: value targets are stored as float32, the TD blends are
summed in double and rounded to float32, and the stochastic roundings (scoring map, q-values,
row copies) draw Bernoulli variables exactly where KataGo does. Randomness comes from a
numpy Generator; its stream differs from KataGo's Rand, the distributions do not.

Not implemented because the shipped configs never use them: post-game reanalysis of cheap
searches (channels 64-67 are always 0), hint positions, tree-position recording, SGF metadata.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from goloop.common.files.trainingdata import (
    DATA_FORMAT_VERSION,
    EXTRA_SCORE_DISTR_RADIUS,
    NUM_BINARY_CHANNELS,
    NUM_GLOBAL_INPUTS,
    NUM_GLOBAL_TARGETS,
    TrainingRow,
    pack_binary_planes,
    score_distr_len,
)
from goloop.common.go.area import area_map
from goloop.common.go.rules import Rules, ScoringRule, TaxRule
from goloop.common.nn.features import encode

Move = Optional[Tuple[int, int]]   # (x, y) with y = 0 the top row, or None for a pass

EMPTY, BLACK, WHITE = 0, 1, 2

# KataGo caps score-like targets at its largest board area plus the score distribution's
# extra radius, whatever the data's tensor size (NNPos::MAX_BOARD_AREA = 19*19).
MAX_BOARD_AREA = 361
SCORE_TARGET_CAP = float(MAX_BOARD_AREA + EXTRA_SCORE_DISTR_RADIUS)

# TD "now factor" coefficients f = 1/(1 + boardArea*c) for the long, mid and short horizons.
TD_COEFFS = (0.176, 0.056, 0.016)
FUTURE_BOARD_OFFSETS = (8, 32)     # valueTargetsNCHW channels 2 and 3
HISTORY_KEEP_PROB = 0.98           # chain probability of the precomputed history flags C36-40
POLICY_TARGET_MIN_MAX = 10.0       # policy targets are scaled up until their max is at least this
POLICY_TARGET_MAX = 30000.0        # ... and down so they fit int16
QVALUE_RADIUS = 32000
SCORING_RADIUS = 120

# Game modes (C55).
MODE_NORMAL = 0
MODE_CLEANUP_TRAINING = 1
MODE_FORK = 2
MODE_HANDICAP = 3
MODE_SGFPOS = 4
MODE_HINTPOS = 5
MODE_HINTFORK = 6
MODE_ASYM = 7


class RowsError(ValueError):
    """A game record that cannot be turned into training rows."""


def _f32(x) -> float:
    """Round a Python float to float32, as storing it in a C++ float does."""
    return float(np.float32(x))


def c_round(x: float) -> int:
    """C's round(): halves away from zero (Python's round() goes to even)."""
    a = abs(x)
    r = math.floor(a)
    if a - r >= 0.5:
        r += 1
    return int(r) if x >= 0 else -int(r)


def _opp(pla: int) -> int:
    return WHITE if pla == BLACK else BLACK


def _check_pla(pla: int) -> int:
    if pla not in (BLACK, WHITE):
        raise RowsError(f"player must be 1 (black) or 2 (white), got {pla!r}")
    return pla


# ---------------------------------------------------------------------------------------------
# What selfplay records.

@dataclass(frozen=True)
class ValueTargets:
    """A search's root values, or the game's final outcome, from White's view (KataGo ValueTargets).

    Stored rounded to float32 like KataGo's struct, so the TD sums see the same inputs.
    """

    win: float                    # probability white wins
    loss: float                   # probability white loses
    no_result: float              # probability of no result
    score: float                  # expected final score, white minus black (draw-adjusted)
    lead: Optional[float] = None  # points that would make the game fair for white; None = not estimated

    def __post_init__(self):
        for name in ("win", "loss", "no_result", "score"):
            v = getattr(self, name)
            if not math.isfinite(v):
                raise RowsError(f"value target {name} must be finite, got {v!r}")
            object.__setattr__(self, name, _f32(v))
        if self.lead is not None:
            if not math.isfinite(self.lead):
                raise RowsError(f"lead must be finite, got {self.lead!r}")
            object.__setattr__(self, "lead", _f32(self.lead))


@dataclass(frozen=True)
class QValueTarget:
    """One visited root child (KataGo QValueTargetMove), White's view."""

    move: Move
    white_win_loss: float   # child's win - loss value
    white_score: float      # child's expected score
    visits: int             # child's visits


@dataclass(frozen=True)
class NNRawStats:
    """The raw net's opinion of the position (unnoised single eval), for stats channels 57-59."""

    white_win_loss: float
    white_score_mean: float
    policy_entropy: float    # see raw_policy_entropy


@dataclass
class TurnRecord:
    """What one searched turn of the game leaves behind (KataGo's per-turn vectors)."""

    policy_target: Optional[Tuple[Tuple[Move, int], ...]]  # policy_target_counts of the root; None = not recorded
    unreduced_num_visits: int        # root visits of the search (C60)
    value: ValueTargets              # root values; the lead is filled in after the game if estimated
    q_values: Tuple[QValueTarget, ...]
    nn_raw: NNRawStats
    raw_nn_value: Tuple[float, float, float]  # root raw NN (win, loss, noResult), White's view: value surprise
    policy_surprise: float           # see policy_surprise_and_entropies
    policy_entropy: float
    search_entropy: float
    weight: float                    # target weight from the search limits: 0 cheap, 1 full, less if reduced
    was_cheap_search: bool = False


@dataclass
class SidePositionRecord:
    """A position off the game line (a different move was played), searched after the game."""

    history: object                  # goloop History of the side position; its player to move is the row's
    policy_target: Optional[Tuple[Tuple[Move, int], ...]]
    unreduced_num_visits: int
    value: ValueTargets
    q_values: Tuple[QValueTarget, ...]
    nn_raw: NNRawStats
    policy_surprise: float
    policy_entropy: float
    search_entropy: float
    weight: float = 1.0
    num_neural_net_changes_so_far: int = 0  # net switches in this game before the side position was made


@dataclass(frozen=True)
class FinalOutcome:
    """The game's result as training targets see it (from KataGo's end-of-game scoring)."""

    value: ValueTargets          # final value entry: win/loss by winner (draws: drawEquivalentWinsForWhite)
    ownership: np.ndarray        # (Y, X) uint8 area map of the final scoring: 0 none, 1 black, 2 white
    full_area: np.ndarray        # (Y, X) uint8 naive area (all stones alive, one-colour regions owned)
    white_scoring: np.ndarray    # (Y, X) float32 scoring map in [-1, 1], group tax included


@dataclass
class FinishedGame:
    """Everything writing a game's rows needs (KataGo's FinishedGameData)."""

    start_history: object        # History when training starts (after handicap and opening moves)
    end_history: object          # History as the game ended (before any forced scoring)
    turns: List[TurnRecord]      # one per move from start_history to end_history
    final: FinalOutcome
    game_hash: Tuple[int, int]   # two random 64-bit words identifying the game
    draw_equivalent_wins_for_white: float = 0.5
    playout_doubling_advantage_pla: int = EMPTY  # 1/2 for asymmetric-playout games, else 0
    playout_doubling_advantage: float = 0.0
    hit_turn_limit: bool = False
    num_extra_black: int = 0     # handicap stones placed after the start
    mode: int = MODE_NORMAL
    changed_neural_nets: Tuple[Tuple[str, int], ...] = ()  # (new net name, turn index of the switch)
    training_weight: float = 1.0
    side_positions: List[SidePositionRecord] = field(default_factory=list)
    initial_turn_number: int = 0
    pass_alive_under_suicide_rules: bool = False


# ---------------------------------------------------------------------------------------------
# Per-turn search statistics.

def policy_target_counts(selection_values: Sequence[Tuple[Move, float]]) -> Tuple[Tuple[Move, int], ...]:
    """Root play-selection values -> the int16 policy target counts KataGo stores.

    Scaled up so the largest is at least 10 (tiny searches keep some resolution), down so it
    fits int16 (at most 30000), then each rounded half away from zero.
    """
    if not selection_values:
        raise RowsError("a policy target needs at least one move")
    values = [float(v) for _, v in selection_values]
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise RowsError(f"play selection values must be finite and non-negative: {values}")
    top = max(values)
    if top <= 0:
        raise RowsError("play selection values are all zero")
    if top < POLICY_TARGET_MIN_MAX:
        values = [v * (POLICY_TARGET_MIN_MAX / top) for v in values]
        top = max(values)
    factor = POLICY_TARGET_MAX / top if top > POLICY_TARGET_MAX else 1.0
    return tuple((move, c_round(v * factor)) for (move, _), v in zip(selection_values, values))


def _board_policy_index(move: Move, x_size: int, y_size: int) -> int:
    if move is None:
        return x_size * y_size
    x, y = move
    if not (0 <= x < x_size and 0 <= y < y_size):
        raise RowsError(f"move {move} is off a {x_size}x{y_size} board")
    return y * x_size + x


def policy_surprise_and_entropies(selection_values: Sequence[Tuple[Move, float]], prior: np.ndarray,
                                  x_size: int, y_size: int) -> Tuple[float, float, float]:
    """(policy surprise, search entropy, policy entropy) of a root (C30, C32, C31).

    Surprise = KL(search distribution || root prior), the prior being the root policy after
    noise and temperature; it drives the surprise weighting of rows. `prior` is indexed
    y*x_size + x with pass last; illegal entries may be negative (they count as zero).
    """
    prior = np.asarray(prior, dtype=np.float64)
    if prior.shape != (x_size * y_size + 1,):
        raise RowsError(f"prior must have {x_size * y_size + 1} entries, got shape {prior.shape}")
    total = sum(float(v) for _, v in selection_values)
    if not total > 0:
        raise RowsError("play selection values sum to zero")
    surprise = search_entropy = 0.0
    for move, value in selection_values:
        target = float(value) / total
        policy = max(float(np.float32(prior[_board_policy_index(move, x_size, y_size)])), 1e-100)
        if target > 1e-100:
            log_target = math.log(target)
            surprise += target * (log_target - math.log(policy))
            search_entropy += -target * log_target
    policy_entropy = 0.0
    for p in prior.astype(np.float32):
        p = float(p)
        if p > 1e-100:
            policy_entropy += -p * math.log(p)
    return max(surprise, 0.0), max(search_entropy, 0.0), max(policy_entropy, 0.0)


def raw_policy_entropy(policy: np.ndarray) -> float:
    """Entropy of the raw net policy (C59); entries below 1e-30 (and illegal -1s) are skipped."""
    total = 0.0
    for p in np.asarray(policy, dtype=np.float32).ravel():
        p = float(p)
        if p >= 1e-30:
            total += -p * math.log(p)
    return total


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
    w = _f32(weight)
    return _f32(w + proportion * (reduced_visits_weight - w))


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
    w = [_f32(x) for x in weights]
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
    return [_f32((1.0 - policy_surprise_data_weight - vsdw) * x
                 + policy_surprise_data_weight * pp * sum_w / sum_ps
                 + vsdw * vp * sum_w / sum_vs)
            for x, pp, vp in zip(w, ps_prop, vs_prop)]


def resolve_weight(weight: float, rng: np.random.Generator) -> float:
    """Stochastic rounding of a turn weight to an integer (floor + Bernoulli(fraction)), as float32."""
    w = max(_f32(weight), 0.0)
    floored = float(math.floor(w))
    excess = _f32(w - floored)
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
    sides = [_f32(s.weight) for s in game.side_positions]
    if scale_data_weight != 1.0:
        weights = [_f32(scale_data_weight * w) for w in weights]
        sides = [_f32(scale_data_weight * w) for w in sides]
    return [resolve_weight(w, rng) for w in weights], [resolve_weight(w, rng) for w in sides]


def lead_estimation_eligible(weight: float, white_no_result: float, game_is_no_result: bool) -> bool:
    """Whether a turn may get a lead estimate (then with probability estimateLeadProb).

    Only rows that will be written, where no-result is unlikely (komi and result decouple
    there), in games that did not end without result.
    """
    return weight > 0 and white_no_result < 0.3 and not game_is_no_result


# ---------------------------------------------------------------------------------------------
# Final outcome.

def white_komi_adjustment_for_draws(rules: Rules, draw_equivalent_wins_for_white: float) -> float:
    """Draw utility folded into komi: drawEquivalentWinsForWhite - 0.5 when draws are possible."""
    if rules.game_result_will_be_integer():
        return _f32(draw_equivalent_wins_for_white - 0.5)
    return 0.0


def final_value_targets(white_minus_black: float, rules: Rules, draw_equivalent_wins_for_white: float,
                        no_result: bool = False) -> ValueTargets:
    """The final value entry: the winner gets 1, a draw drawEquivalentWinsForWhite; no result (0, 0, 1, 0).

    The score is the float32 final score plus the draw adjustment; lead = score.
    """
    if no_result:
        return ValueTargets(0.0, 0.0, 1.0, 0.0)
    score = _f32(white_minus_black)
    win = 1.0 if score > 0 else 0.0 if score < 0 else _f32(draw_equivalent_wins_for_white)
    adjusted = _f32(score + white_komi_adjustment_for_draws(rules, draw_equivalent_wins_for_white))
    return ValueTargets(win, _f32(1.0 - win), 0.0, adjusted, lead=adjusted)


def white_scoring_map(stones: np.ndarray, ownership: np.ndarray, tax_all: bool) -> np.ndarray:
    """Per-point score for white in [-1, 1] (the valueTargets channel 4 source, KataGo fillScoring).

    Owned points are +1 (white) / -1 (black). Under TAX_ALL each connected region of one
    owner spreads what it is worth after the 2-point group tax over its non-own-stone points:
    (n - 2)/n each, 0 when n <= 2, while the owner's stones keep 1.
    """
    stones = np.asarray(stones)
    ownership = np.asarray(ownership)
    if stones.shape != ownership.shape:
        raise RowsError(f"stones {stones.shape} and ownership {ownership.shape} differ in shape")
    out = np.zeros(ownership.shape, dtype=np.float32)
    out[ownership == WHITE] = 1.0
    out[ownership == BLACK] = -1.0
    if not tax_all:
        return out
    ys, xs = ownership.shape
    seen = np.zeros(ownership.shape, dtype=bool)
    for y0 in range(ys):
        for x0 in range(xs):
            owner = ownership[y0, x0]
            if seen[y0, x0] or owner not in (BLACK, WHITE):
                continue
            region = [(y0, x0)]
            seen[y0, x0] = True
            k = 0
            while k < len(region):
                y, x = region[k]
                k += 1
                for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= ny < ys and 0 <= nx < xs and not seen[ny, nx] and ownership[ny, nx] == owner:
                        seen[ny, nx] = True
                        region.append((ny, nx))
            full = np.float32(1.0 if owner == WHITE else -1.0)
            count = sum(1 for y, x in region if stones[y, x] != owner)
            value = np.float32(0.0) if count <= 2 else (full * np.float32(count - 2.0)) / np.float32(count)
            for y, x in region:
                out[y, x] = full if stones[y, x] == owner else value
    return out


def final_outcome(end_history, draw_equivalent_wins_for_white: float = 0.5,
                  pass_alive_under_suicide_rules: bool = False) -> FinalOutcome:
    """Score the ended game as KataGo does for training targets.

    KataGo re-scores the final position (endAndScoreGameNow) even when the game already
    ended, which also force-ends a game stopped by the turn limit; the History's score_now
    and final_area are that scoring. No-result games get (0, 0, 1, 0) and empty maps.
    """
    rules = end_history.rules
    stones = end_history.board.stones()
    shape = stones.shape
    if end_history.is_finished and end_history.is_no_result:
        empty = np.zeros(shape, dtype=np.uint8)
        return FinalOutcome(final_value_targets(0.0, rules, draw_equivalent_wins_for_white, no_result=True),
                            empty, empty.copy(), np.zeros(shape, dtype=np.float32))
    ownership = np.asarray(end_history.final_area(), dtype=np.uint8)
    full_area = np.asarray(area_map(end_history.board, non_pass_alive_stones=True, safe_big=True,
                                    unsafe_big=True,
                                    multi_stone_suicide_legal=rules.multi_stone_suicide_legal
                                    or pass_alive_under_suicide_rules), dtype=np.uint8)
    value = final_value_targets(end_history.score_now(), rules, draw_equivalent_wins_for_white)
    return FinalOutcome(value, ownership, full_area,
                        white_scoring_map(stones, ownership, rules.tax_rule == TaxRule.ALL))


# ---------------------------------------------------------------------------------------------
# Value targets of one row.

def td_now_factors(board_area: int) -> Tuple[float, float, float]:
    """Now factors of the long, mid and short TD targets; they scale with the board's real area."""
    return tuple(1.0 / (1.0 + board_area * c) for c in TD_COEFFS)


def td_value_target(white_values: Sequence[ValueTargets], idx: int, pla: int, now_factor: float) -> np.ndarray:
    """(win, loss, noResult, score) for `pla`: entry i >= idx weighted f(1-f)^(i-idx), the last gets the rest.

    now_factor 0 gives the final outcome, 1 this turn's own search. Summed in double and
    capped at +-421 before rounding to float32.
    """
    _check_pla(pla)
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
    return _f32(total)


def lead_target(value: ValueTargets, pla: int) -> Optional[float]:
    """C21: the estimated lead for `pla` capped at +-421, or None when not estimated."""
    if value.lead is None:
        return None
    lead = value.lead if _check_pla(pla) == WHITE else -value.lead
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
    return np.where(colours == pla, 1, np.where(colours == _opp(pla), -1, 0)).astype(np.int8)


def ownership_targets(ownership: np.ndarray, full_area: np.ndarray, pla: int, pos_len: int) -> np.ndarray:
    """valueTargets channels 0-1 for `pla`: final ownership (+1 mine, -1 theirs) and the naive-area
    points the final scoring left unowned (seki and the like), signed by their naive owner."""
    _check_pla(pla)
    ownership = np.asarray(ownership)
    full_area = np.asarray(full_area)
    own = _signed_colours(ownership, pla)
    diff = np.where((full_area != EMPTY) & (ownership == EMPTY), _signed_colours(full_area, pla), 0)
    return np.stack([_fit(own, pos_len, np.int8), _fit(diff, pos_len, np.int8)])


def future_board_target(stones: np.ndarray, pla: int, pos_len: int) -> np.ndarray:
    """A later board (channels 2-3) for `pla`: +1 own stone, -1 opponent stone."""
    return _fit(_signed_colours(stones, _check_pla(pla)), pos_len, np.int8)


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
    s = s if _check_pla(pla) == WHITE else -s
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
    _check_pla(pla)
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


# ---------------------------------------------------------------------------------------------
# Metadata channels.

def game_hash_channels(hash0: int, hash1: int) -> Tuple[float, ...]:
    """C41-46: the 128-bit game hash in 22, 22, 20-bit chunks of each word (exact in float32)."""
    out = []
    for h in (hash0, hash1):
        if not 0 <= h < (1 << 64):
            raise RowsError(f"game hash words must be 64-bit unsigned, got {h}")
        out += [float(h & 0x3FFFFF), float((h >> 22) & 0x3FFFFF), float((h >> 44) & 0xFFFFF)]
    return tuple(out)


def history_use_flags(rng: np.random.Generator) -> Tuple[float, ...]:
    """C36-40: whether moves 1..5 ago may be shown, a chain that stops with probability 0.02 per step."""
    flags = []
    keep = True
    for _ in range(5):
        keep = keep and rng.random() < HISTORY_KEEP_PROB
        flags.append(1.0 if keep else 0.0)
    return tuple(flags)


def nets_behind_latest(changed_neural_nets: Sequence[Tuple[str, int]], turn_idx: int) -> int:
    """C50: how many net switches happened after this turn was played (0 = played by the final net)."""
    for i, (_, switch_turn) in enumerate(changed_neural_nets):
        if switch_turn > turn_idx:
            return len(changed_neural_nets) - i
    return 0


# ---------------------------------------------------------------------------------------------
# Whole rows.

@dataclass
class _Position:
    """What one row needs about its position (main line or side position)."""

    history: object
    pla: int
    turn_idx: int
    features: Tuple[np.ndarray, np.ndarray]   # packed binary planes, global inputs
    policy0: Optional[Sequence[Tuple[Move, int]]]
    policy1: Optional[Sequence[Tuple[Move, int]]]
    white_values: Sequence[ValueTargets]
    value_idx: int
    q_values: Sequence[QValueTarget]
    nn_raw: NNRawStats
    surprises: Tuple[float, float, float]     # policy surprise, policy entropy, search entropy
    unreduced_num_visits: int
    nets_behind: int
    is_side: bool
    future: Optional[Tuple[np.ndarray, np.ndarray]]   # boards 8 and 32 turns later (main rows)


def _features(history, pla: int, pos_len: int, game: FinishedGame, pda: float) -> Tuple[np.ndarray, np.ndarray]:
    spatial = np.zeros((1, NUM_BINARY_CHANNELS, pos_len, pos_len), dtype=np.float32)
    glob = np.zeros((1, NUM_GLOBAL_INPUTS), dtype=np.float32)
    encode(history, spatial, glob, 0, next_player=pla,
           draw_equivalent_wins_for_white=game.draw_equivalent_wins_for_white,
           playout_doubling_advantage=pda,
           pass_alive_under_suicide_rules=game.pass_alive_under_suicide_rules)
    return pack_binary_planes(spatial)[0], glob[0]


def _make_row(p: _Position, game: FinishedGame, pos_len: int, rng: np.random.Generator) -> TrainingRow:
    hist = p.history
    pla = p.pla
    x_size, y_size = hist.x_size, hist.y_size
    end = game.end_history
    game_no_result = end.is_finished and end.is_no_result
    g = np.zeros(NUM_GLOBAL_TARGETS, dtype=np.float32)

    g[25] = game.training_weight
    policy = np.stack([policy_target_plane(p.policy0, x_size, y_size, pos_len),
                       policy_target_plane(p.policy1, x_size, y_size, pos_len)])
    g[26] = 0.0 if p.policy0 is None else 1.0
    g[28] = 0.0 if p.policy1 is None else 1.0

    g[0:4] = td_value_target(p.white_values, p.value_idx, pla, 0.0)
    for k, f in enumerate(td_now_factors(x_size * y_size)):
        g[4 + 4 * k:8 + 4 * k] = td_value_target(p.white_values, p.value_idx, pla, f)
    g[16:20] = td_value_target(p.white_values, p.value_idx, pla, 1.0)

    lead = lead_target(p.white_values[p.value_idx], pla)
    if lead is not None and not game_no_result:
        g[21] = lead
        g[29] = 1.0
    g[22] = winloss_variance_arrival_time(p.white_values, p.value_idx)
    g[30], g[31], g[32] = p.surprises
    g[36:41] = history_use_flags(rng)
    g[41:47] = game_hash_channels(*game.game_hash)
    g[47] = hist.self_komi(pla, game.draw_equivalent_wins_for_white)
    g[48] = 1.0 if (hist.encore_phase == 2 or hist.rules.scoring_rule == ScoringRule.AREA) else 0.0
    g[49] = 1.0 if game.changed_neural_nets else 0.0
    g[50] = p.nets_behind
    g[51] = p.turn_idx
    g[52] = 1.0 if game.hit_turn_limit else 0.0
    g[53] = len(game.start_history.moves)
    g[54] = game.num_extra_black
    g[55] = game.mode
    g[56] = game.initial_turn_number
    sign = 1.0 if pla == WHITE else -1.0
    g[57] = sign * p.nn_raw.white_win_loss
    g[58] = sign * p.nn_raw.white_score_mean
    g[59] = p.nn_raw.policy_entropy
    g[60] = p.unreduced_num_visits
    if not p.is_side:
        bonus = np.float32(end.white_bonus_score) - np.float32(hist.white_bonus_score)
        g[61] = 0.0 if bonus == 0 else sign * bonus
    g[62] = 1.0 if (not p.is_side and end.is_finished and not game.hit_turn_limit) else 0.0
    g[63] = DATA_FORMAT_VERSION
    g[68] = 1.0 if game.pass_alive_under_suicide_rules else 0.0

    value = np.zeros((5, pos_len, pos_len), dtype=np.int8)
    final = game.final
    if p.is_side or game_no_result:
        score_distr = dummy_score_distribution(pos_len)
    else:
        g[27] = 1.0
        g[20] = p.white_values[-1].score * sign
        value[0:2] = ownership_targets(final.ownership, final.full_area, pla, pos_len)
        score_distr = score_distribution(g[20], pos_len)
    if p.future is not None:
        g[33] = 1.0
        value[2] = future_board_target(p.future[0], pla, pos_len)
        value[3] = future_board_target(p.future[1], pla, pos_len)
    if not p.is_side and not game_no_result:
        g[34] = 1.0
        value[4] = scoring_target(final.white_scoring, pla, pos_len, rng)

    qvalues = qvalue_targets(p.q_values, pla, x_size, y_size, pos_len, rng)
    binary, glob = p.features
    return TrainingRow(binary, glob, policy, g, score_distr, value, qvalues)


def _check_game(game: FinishedGame, pos_len: int) -> Tuple[list, list]:
    start_moves = game.start_history.moves
    end_moves = game.end_history.moves
    if end_moves[:len(start_moves)] != start_moves:
        raise RowsError("end_history does not continue start_history")
    played = end_moves[len(start_moves):]
    if len(played) != len(game.turns):
        raise RowsError(f"{len(game.turns)} turn records for {len(played)} moves after the start")
    if game.start_history.x_size > pos_len or game.start_history.y_size > pos_len:
        raise RowsError(f"a {game.start_history.x_size}x{game.start_history.y_size} board does not fit "
                        f"a {pos_len}x{pos_len} data tensor")
    if not game.end_history.is_finished and not game.hit_turn_limit:
        raise RowsError("an unfinished game must have hit the turn limit")
    last = game.final.value
    if game.end_history.is_finished and game.end_history.is_no_result:
        if (last.win, last.loss, last.no_result) != (0.0, 0.0, 1.0):
            raise RowsError("a no-result game's final value must be (0, 0, 1)")
    return start_moves, played


def game_rows(game: FinishedGame, pos_len: int, rng: np.random.Generator,
              turn_weights: Optional[Sequence[float]] = None,
              side_weights: Optional[Sequence[float]] = None) -> Iterator[TrainingRow]:
    """The training rows of a finished game, in KataGo's order: main-line turns, then side positions.

    `turn_weights` / `side_weights` default to the records' own weights; pass the resolved
    (integer) weights after surprise weighting. A turn with weight k is written k times,
    each copy with fresh random history flags and stochastic roundings.
    """
    _, played = _check_game(game, pos_len)
    n = len(game.turns)
    weights = [t.weight for t in game.turns] if turn_weights is None else list(turn_weights)
    if len(weights) != n:
        raise RowsError(f"{len(weights)} turn weights for {n} turns")
    sides = game.side_positions
    sweights = [s.weight for s in sides] if side_weights is None else list(side_weights)
    if len(sweights) != len(sides):
        raise RowsError(f"{len(sweights)} side weights for {len(sides)} side positions")

    # Boards after each move, for the future-position targets.
    hist = game.start_history.copy()
    boards = [hist.board.stones()]
    for colour, move in played:
        if colour != hist.next_player:
            raise RowsError(f"move {move} by {colour} but {hist.next_player} is to move")
        hist.play(move, colour)
        boards.append(hist.board.stones())

    white_values = [t.value for t in game.turns] + [game.final.value]
    hist = game.start_history.copy()
    start_turn = len(game.start_history.moves)
    pda_pla, pda = game.playout_doubling_advantage_pla, game.playout_doubling_advantage
    for t, turn in enumerate(game.turns):
        copies = row_copies(weights[t], rng)
        if copies:
            pla = hist.next_player
            signed_pda = -pda if _opp(pla) == pda_pla else pda
            position = _Position(
                history=hist, pla=pla, turn_idx=start_turn + t,
                features=_features(hist, pla, pos_len, game, signed_pda),
                policy0=turn.policy_target,
                policy1=game.turns[t + 1].policy_target if t + 1 < n else None,
                white_values=white_values, value_idx=t, q_values=turn.q_values, nn_raw=turn.nn_raw,
                surprises=(turn.policy_surprise, turn.policy_entropy, turn.search_entropy),
                unreduced_num_visits=turn.unreduced_num_visits,
                nets_behind=nets_behind_latest(game.changed_neural_nets, start_turn + t),
                is_side=False,
                future=tuple(boards[min(t + d, n)] for d in FUTURE_BOARD_OFFSETS))
            for _ in range(copies):
                yield _make_row(position, game, pos_len, rng)
        colour, move = played[t]
        hist.play(move, colour)

    for side, weight in zip(sides, sweights):
        copies = row_copies(weight, rng)
        if not copies:
            continue
        sh = side.history
        if sh.x_size != game.start_history.x_size or sh.y_size != game.start_history.y_size:
            raise RowsError("a side position must be on the game's board size")
        pla = sh.next_player
        position = _Position(
            history=sh, pla=pla, turn_idx=len(sh.moves),
            features=_features(sh, pla, pos_len, game, 0.0),
            policy0=side.policy_target, policy1=None,
            white_values=[side.value], value_idx=0, q_values=side.q_values, nn_raw=side.nn_raw,
            surprises=(side.policy_surprise, side.policy_entropy, side.search_entropy),
            unreduced_num_visits=side.unreduced_num_visits,
            nets_behind=len(game.changed_neural_nets) - side.num_neural_net_changes_so_far,
            is_side=True, future=None)
        for _ in range(copies):
            yield _make_row(position, game, pos_len, rng)
