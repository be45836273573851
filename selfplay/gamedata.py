"""What a selfplay game leaves behind for its training rows (KataGo's FinishedGameData).

The game loop records, for each turn, what the search found (the dataclasses below, all values
from White's view as inside KataGo); after the game it scores the end position into a
`FinalOutcome`. weighting.py turns the records into how many copies of each row to write,
targets.py has the formulas of one row's targets, and rows.py assembles the rows; the records
and the small number helpers all of them share live here, below them.

Numbers follow KataGo's C++ types: value targets are stored as float32 (`f32`, so the TD sums
see KataGo's inputs), and KataGo's rounding is C's round() (`c_round`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from goloop.common.go.area import area_map
from goloop.common.go.rules import Rules, TaxRule

Move = Optional[Tuple[int, int]]   # (x, y) with y = 0 the top row, or None for a pass

EMPTY, BLACK, WHITE = 0, 1, 2

POLICY_TARGET_MIN_MAX = 10.0       # policy targets are scaled up until their max is at least this
POLICY_TARGET_MAX = 30000.0        # ... and down so they fit int16

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


def f32(x) -> float:
    """Round a Python float to float32, as storing it in a C++ float does."""
    return float(np.float32(x))


def c_round(x: float) -> int:
    """C's round(): halves away from zero (Python's round() goes to even)."""
    a = abs(x)
    r = math.floor(a)
    if a - r >= 0.5:
        r += 1
    return int(r) if x >= 0 else -int(r)


def opp(pla: int) -> int:
    """The other colour."""
    return WHITE if pla == BLACK else BLACK


def check_pla(pla: int) -> int:
    """`pla`, which must be Black or White (a RowsError otherwise)."""
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
            object.__setattr__(self, name, f32(v))
        if self.lead is not None:
            if not math.isfinite(self.lead):
                raise RowsError(f"lead must be finite, got {self.lead!r}")
            object.__setattr__(self, "lead", f32(self.lead))


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
# Final outcome.

def white_komi_adjustment_for_draws(rules: Rules, draw_equivalent_wins_for_white: float) -> float:
    """Draw utility folded into komi: drawEquivalentWinsForWhite - 0.5 when draws are possible."""
    if rules.game_result_will_be_integer():
        return f32(draw_equivalent_wins_for_white - 0.5)
    return 0.0


def final_value_targets(white_minus_black: float, rules: Rules, draw_equivalent_wins_for_white: float,
                        no_result: bool = False) -> ValueTargets:
    """The final value entry: the winner gets 1, a draw drawEquivalentWinsForWhite; no result (0, 0, 1, 0).

    The score is the float32 final score plus the draw adjustment; lead = score.
    """
    if no_result:
        return ValueTargets(0.0, 0.0, 1.0, 0.0)
    score = f32(white_minus_black)
    win = 1.0 if score > 0 else 0.0 if score < 0 else f32(draw_equivalent_wins_for_white)
    adjusted = f32(score + white_komi_adjustment_for_draws(rules, draw_equivalent_wins_for_white))
    return ValueTargets(win, f32(1.0 - win), 0.0, adjusted, lead=adjusted)


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

