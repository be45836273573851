"""From raw network heads to KataGo's reported numbers (model-file-format.md §7–§8).

The net speaks from the side to move and in logits; everything downstream (search, GTP,
analysis, selfplay) wants probabilities and White's point of view, exactly as KataGo's NNEvaluator
reports them, because KataGo's printed outputs are what we check ourselves against. These are pure
functions on one position's raw outputs, already mapped back from the evaluation symmetry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BLACK, WHITE = 1, 2

# Cap on the pass weight when passing hacks are on: at most 19x the board moves' total (95%).
MAX_PASS_POLICY_FACTOR = 19.0


@dataclass(frozen=True)
class PostProcessParams:
    """Per-model scalings stored in the file header (defaults are KataGo's for versions <= 12)."""

    model_version: int
    score_mean_multiplier: float = 20.0
    score_stdev_multiplier: float = 20.0
    lead_multiplier: float = 20.0
    variance_time_multiplier: float = 40.0
    shortterm_value_error_multiplier: float = 0.25
    shortterm_score_error_multiplier: float = 30.0
    output_scale_multiplier: float = 1.0


@dataclass
class NNOutput:
    """One evaluated position, from White's point of view (as KataGo's NNOutput)."""

    white_win: float
    white_loss: float
    no_result: float
    white_score_mean: float
    white_score_mean_sq: float
    white_lead: float
    var_time_left: float          # -1 for nets without the head (version < 9)
    shortterm_winloss_error: float
    shortterm_score_error: float
    policy: np.ndarray            # (X*Y + 1,) probabilities, index y*X + x, pass last; -1 = illegal
    white_ownership: np.ndarray   # (Y, X) in [-1, 1]
    policy_optimism: float


def softplus(x: float) -> float:
    # log(1 + e^x) without overflow for large x.
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


def mix_optimism(policy_logits: np.ndarray, optimism: float) -> np.ndarray:
    """Channel 0 is the policy, channel 1 (v12+) the optimistic policy: p + (pOpt - p) * optimism."""
    p = policy_logits[0]
    if optimism == 0.0 or policy_logits.shape[0] < 2:
        return p
    return p + (policy_logits[1] - p) * np.float32(optimism)


def policy_probs(logits: np.ndarray, legal: np.ndarray, temperature: float = 1.0,
                 output_scale: float = 1.0, passing_hacks: bool = False) -> np.ndarray:
    """Softmax over legal moves (board points then pass); illegal entries come back as -1."""
    scaled = np.where(legal, logits.astype(np.float32) * np.float32(output_scale / temperature),
                      np.float32(-1e30))
    weights = np.exp(scaled - scaled.max())
    if passing_hacks:
        board_sum = weights[:-1].sum()
        weights[-1] = max(1e-20, min(weights[-1], board_sum * MAX_PASS_POLICY_FACTOR))
    total = weights.sum()
    if not math.isfinite(total):
        raise FloatingPointError("non-finite policy sum from the network")
    if total <= 0:
        probs = np.where(legal, 1.0 / legal.sum(), -1.0)
    else:
        probs = np.where(legal, weights / total, -1.0)
    return probs.astype(np.float32)


def value_outputs(value_logits: np.ndarray, misc: np.ndarray, params: PostProcessParams,
                  no_result_possible: bool, next_player: int) -> dict:
    """Win/loss/no-result and score statistics, flipped to White's view.

    `no_result_possible` is False unless the ko rule is SIMPLE or scoring is TERRITORY: only
    those rules can end in no result, so the net's no-result logit is ignored otherwise.
    """
    s = params.output_scale_multiplier
    win, loss, nores = (float(v) * s for v in value_logits[:3])
    if not no_result_possible:
        nores -= 100000.0
    top = max(win, loss, nores)
    win, loss, nores = math.exp(win - top), math.exp(loss - top), math.exp(nores - top)
    if not no_result_possible:
        nores = 0.0
    total = win + loss + nores
    win, loss, nores = win / total, loss / total, nores / total

    misc = [float(v) * s for v in misc]
    misc += [0.0] * (6 - len(misc))
    score_mean = misc[0] * params.score_mean_multiplier
    stdev = softplus(misc[1]) * params.score_stdev_multiplier
    score_mean_sq = score_mean * score_mean + stdev * stdev
    lead = misc[2] * params.lead_multiplier
    var_time = softplus(misc[3]) * params.variance_time_multiplier
    # Scores are conditional on a result; a no-result counts as score 0.
    score_mean *= 1.0 - nores
    score_mean_sq *= 1.0 - nores
    lead *= 1.0 - nores
    version = params.model_version
    if version >= 14:
        st_value = math.sqrt(softplus(misc[4] * 0.5) ** 2 * params.shortterm_value_error_multiplier)
        st_score = math.sqrt(softplus(misc[5] * 0.5) ** 2 * params.shortterm_score_error_multiplier)
    elif version >= 10:
        st_value = math.sqrt(softplus(misc[4]) * params.shortterm_value_error_multiplier)
        st_score = math.sqrt(softplus(misc[5]) * params.shortterm_score_error_multiplier)
    else:
        st_value = softplus(misc[4])
        st_score = softplus(misc[5]) * 10.0
    if version < 9:
        var_time = st_value = st_score = -1.0
    sign = 1.0 if next_player == WHITE else -1.0
    return dict(
        white_win=win if next_player == WHITE else loss,
        white_loss=loss if next_player == WHITE else win,
        no_result=nores,
        white_score_mean=sign * score_mean,
        white_score_mean_sq=score_mean_sq,
        white_lead=sign * lead,
        var_time_left=var_time,
        shortterm_winloss_error=st_value,
        shortterm_score_error=st_score,
    )


def white_ownership(ownership: np.ndarray, next_player: int, output_scale: float = 1.0) -> np.ndarray:
    """tanh of the ownership head, flipped to White's view (board-sized (Y, X) input)."""
    own = np.tanh(ownership.astype(np.float64) * output_scale).astype(np.float32)
    return own if next_player == WHITE else -own
