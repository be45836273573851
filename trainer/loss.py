"""KataGo's training loss, one pure function per term (model-architecture.md §6).

Every `*_loss` function takes predictions and targets for a batch and returns one value per row,
already multiplied by the term's own coefficient, its per-row target weight and the row weight
C25 (`global_weight`), exactly as KataGo's `metrics_pytorch.py` defines it. `head_metrics` sums
them into KataGo's metric names (`p0loss_sum`, `vloss_sum`, ..., `loss_sum`) with the
command-line scales applied in the total; `batch_metrics` adds the intermediate head and the
per-batch extras (`wsum`, `nsamp`, `ptentr_sum`, ...). There is no division by the batch size
anywhere: KataGo's learning rate is per sample.

The arithmetic follows KataGo's operation order, so with the same network outputs the terms are
equal to KataGo's bit for bit on CPU (tests/trainer check this against KataGo's own code).

Imports: torch and common.nn only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from goloop.common.nn.model import SCORE_BELIEF_EXTRA_RADIUS, ModelOutput
from goloop.common.nn.modelconfigs import OutputMultipliers


@dataclass(frozen=True)
class LossScales:
    """train.py's command-line loss scales (§6 "Default command-line scales")."""

    soft_policy_weight_scale: float = 8.0
    value_loss_scale: float = 0.6
    td_value_loss_scales: tuple = (0.6, 0.6, 0.6)
    seki_loss_scale: float = 1.0
    variance_time_loss_scale: float = 1.0
    disable_optimistic_policy: bool = False
    main_loss_scale: Optional[float] = None          # None: 1 (and no intermediate head)
    intermediate_loss_scale: Optional[float] = None  # None in validation means 1.0, as KataGo


# ------------------------------------------------------------------------------------------------
# Helpers with KataGo's exact arithmetic


def cross_entropy(logits: Tensor, target: Tensor, dim: int) -> Tensor:
    return -torch.sum(target * F.log_softmax(logits, dim=dim), dim=dim)


def huber(x: Tensor, y: Tensor, delta: float) -> Tensor:
    """0.5 d^2 within delta, linear beyond (written as KataGo writes it)."""
    d = torch.abs(x - y)
    return torch.where(d > delta, (0.5 * delta * delta) + delta * (d - delta), 0.5 * d * d)


class _SoftPlusFloor(torch.autograd.Function):
    """softplus (or softplus(x/2)^2) whose backward gradient never drops below `floor`.

    KataGo's variance-like heads use it so a prediction stuck far in the flat tail still moves."""

    @staticmethod
    def forward(ctx, x, floor: float, square: bool):
        ctx.save_for_backward(x)
        ctx.floor = floor
        return torch.square(F.softplus(0.5 * x)) if square else F.softplus(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (ctx.floor + (1.0 - ctx.floor) / (1.0 + torch.exp(-x))), None, None


def softplus_floor(x: Tensor, square: bool) -> Tensor:
    return _SoftPlusFloor.apply(x, 0.05, square)


# ------------------------------------------------------------------------------------------------
# Predictions and targets


class Predictions(NamedTuple):
    """The post-processed head outputs (§5 table), as KataGo's postprocess_output orders them."""

    policy: Tensor        # N x P x moves, logits
    value: Tensor         # N x 3 logits
    td_value: Tensor      # N x 3 (long, mid, short) x 3 logits
    td_score: Tensor      # N x 3
    ownership: Tensor     # N x 1 x H x W pre-tanh
    scoring: Tensor       # N x 1 x H x W
    futurepos: Tensor     # N x 2 x H x W pre-tanh
    seki: Tensor          # N x 4 x H x W logits
    scoremean: Tensor     # N
    scorestdev: Tensor    # N
    lead: Tensor          # N
    variance_time: Tensor  # N
    st_value_error: Tensor  # N
    st_score_error: Tensor  # N
    scorebelief: Tensor   # N x L log-probabilities


def postprocess(out: ModelOutput, mult: OutputMultipliers, version: int) -> Predictions:
    misc, more = out.misc, out.moremisc
    square = version >= 14
    return Predictions(
        policy=out.policy, value=out.value,
        td_value=torch.stack((misc[:, 4:7], misc[:, 7:10], more[:, 2:5]), dim=1),
        td_score=more[:, 5:8] * mult.td_score,
        ownership=out.ownership, scoring=out.scoring, futurepos=out.futurepos, seki=out.seki,
        scoremean=misc[:, 0] * mult.score_mean,
        scorestdev=softplus_floor(misc[:, 1], False) * mult.score_stdev,
        lead=misc[:, 2] * mult.lead,
        variance_time=softplus_floor(misc[:, 3], False) * mult.variance_time,
        st_value_error=softplus_floor(more[:, 0], square) * mult.shortterm_value_error,
        st_score_error=softplus_floor(more[:, 1], square) * mult.shortterm_score_error,
        scorebelief=out.scorebelief)


class Batch(NamedTuple):
    """One batch as tensors under KataGo's names (trainer/data.py builds it)."""

    binaryInputNCHW: Tensor      # N x 22 x H x W float
    globalInputNC: Tensor        # N x 19
    policyTargetsNCMove: Tensor  # N x 2 x (H*W + 1) float
    globalTargetsNC: Tensor      # N x 80
    scoreDistrN: Tensor          # N x L float
    valueTargetsNCHW: Tensor     # N x 5 x H x W float


# ------------------------------------------------------------------------------------------------
# One function per term. All return per-row values (N), or N x 3 for the TD values.


def policy_loss(logits: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    """Player policy (and its soft / optimistic variants): CE against the target distribution."""
    return global_weight * weight * cross_entropy(logits, target, dim=1)


def opponent_policy_loss(logits: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    """Opponent's reply policy: 0.15 x CE."""
    return 0.15 * global_weight * weight * cross_entropy(logits, target, dim=1)


def value_loss(logits: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    """Game outcome {win, loss, no result}: 1.2 x CE."""
    return 1.20 * global_weight * weight * cross_entropy(logits, target, dim=1)


def td_value_loss(logits: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    """TD values (long, mid, short): 1.2 x KL = CE minus the target's entropy (N x 3)."""
    loss = cross_entropy(logits, target, dim=2) - cross_entropy(torch.log(target + 1.0e-30), target, dim=2)
    return 1.20 * global_weight.unsqueeze(1) * weight.unsqueeze(1) * loss


def td_score_loss(pred: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    return 0.0004 * global_weight * weight * torch.sum(huber(pred, target, 12.0), dim=1)


def ownership_loss(pretanh: Tensor, target: Tensor, weight: Tensor, mask: Tensor, mask_sum_hw: Tensor,
                   global_weight: Tensor) -> Tensor:
    """1.5 x mean over on-board points of BCE(2 x pretanh, (1 + own) / 2): every row counts the same
    whatever its board size."""
    area = target.shape[1] * target.shape[2]
    logits = pretanh.view(-1, area) * 2.0
    probs = (1.0 + target.view(-1, area)) / 2.0
    bce = F.binary_cross_entropy_with_logits(logits, probs, reduction="none")
    return 1.5 * global_weight * weight * torch.sum(bce * mask.view(-1, area), dim=1) / mask_sum_hw


def scoring_loss(pred: Tensor, target: Tensor, weight: Tensor, mask: Tensor, mask_sum_hw: Tensor,
                 global_weight: Tensor) -> Tensor:
    """Final scoring map: mean squared error through 4 (sqrt(0.5 m + 1) - 1) (tamed for outliers)."""
    loss = torch.sum(torch.square(pred.squeeze(1) - target) * mask, dim=(1, 2)) / mask_sum_hw
    loss = 4.0 * (torch.sqrt(loss * 0.5 + 1.0) - 1.0)
    return global_weight * weight * loss


def futurepos_loss(pretanh: Tensor, target: Tensor, weight: Tensor, mask: Tensor, mask_sum_hw: Tensor,
                   global_weight: Tensor) -> Tensor:
    """Board 8 and 32 moves ahead: squared tanh error, weights (1, 0.25), over sqrt(area)."""
    loss = torch.square(torch.tanh(pretanh) - target) * mask.unsqueeze(1)
    loss = loss * torch.tensor([1.0, 0.25], dtype=loss.dtype, device=loss.device).view(1, 2, 1, 1)
    loss = torch.sum(loss, dim=(1, 2, 3)) / torch.sqrt(mask_sum_hw)
    return 0.25 * global_weight * weight * loss


def unowned_proportion(ownership: Tensor, weight: Tensor, mask: Tensor, mask_sum_hw: Tensor) -> Tensor:
    """The batch's mean weighted share of unowned points (the seki EMA's per-batch input);
    note the +1 in the denominator (§6 "Seki")."""
    unowned = 1.0 - torch.square(ownership)
    return torch.mean(torch.sum(unowned * mask, dim=(1, 2)) / (1.0 + mask_sum_hw) * weight)


def seki_loss(logits: Tensor, target: Tensor, ownership: Tensor, weight: Tensor, mask: Tensor,
              mask_sum_hw: Tensor, global_weight: Tensor, weight_scale) -> Tensor:
    """Sign of seki points (3-way softmax) plus 0.5 x 'nobody owns it' (softmax of [ch 3, 0])."""
    owned = torch.square(ownership)
    unowned = 1.0 - owned
    sign_target = torch.stack((1.0 - torch.square(target), F.relu(target), F.relu(-target)), dim=1)
    loss_sign = torch.sum(cross_entropy(logits[:, 0:3], sign_target, dim=1) * mask, dim=(1, 2))
    neutral_logits = torch.stack((logits[:, 3], torch.zeros_like(ownership)), dim=1)
    neutral_target = torch.stack((unowned, owned), dim=1)
    loss_neutral = torch.sum(cross_entropy(neutral_logits, neutral_target, dim=1) * mask, dim=(1, 2))
    loss = (loss_sign + 0.5 * loss_neutral) / mask_sum_hw
    return global_weight * weight_scale * weight * loss


def scoremean_loss(pred: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    return 0.0015 * global_weight * weight * huber(pred, target, 12.0)


def scorebelief_cdf_loss(logits: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    pred_cdf = torch.cumsum(F.softmax(logits, dim=1), dim=1)
    target_cdf = torch.cumsum(target, dim=1)
    return 0.020 * global_weight * weight * torch.sum(torch.square(pred_cdf - target_cdf), dim=1)


def scorebelief_pdf_loss(logits: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    return 0.020 * global_weight * weight * cross_entropy(logits, target, dim=1)


def scorestdev_loss(pred: Tensor, belief_logits: Tensor, offsets: Tensor, global_weight: Tensor) -> Tensor:
    """Regularizes the score stdev head toward the stdev of the score belief (not detached)."""
    probs = F.softmax(belief_logits, dim=1)
    mean = torch.sum(probs * offsets.view(1, -1), dim=1, keepdim=True)
    stdev = torch.sqrt(0.001 + torch.sum(probs * torch.square(offsets.view(1, -1) - mean), dim=1))
    return 0.001 * global_weight * huber(pred, stdev, 10.0)


def lead_loss(pred: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    return 0.0060 * global_weight * weight * huber(pred, target, 8.0)


def variance_time_loss(pred: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    return 0.0003 * global_weight * weight * huber(pred, target + 1.0e-5, 50.0)


def shortterm_value_error_loss(pred: Tensor, td_value_logits: Tensor, td_value_target: Tensor,
                               weight: Tensor, global_weight: Tensor) -> Tensor:
    """Predicts the squared error of the (detached) short-term value against its target."""
    probs = torch.softmax(td_value_logits[:, 2, :], dim=1)
    predvalue = (probs[:, 0] - probs[:, 1]).detach()
    realvalue = td_value_target[:, 2, 0] - td_value_target[:, 2, 1]
    sqerror = torch.square(predvalue - realvalue) + 1.0e-8
    return 2.0 * global_weight * weight * huber(pred, sqerror, 0.4)


def shortterm_score_error_loss(pred: Tensor, td_score_pred: Tensor, td_score_target: Tensor,
                               weight: Tensor, global_weight: Tensor) -> Tensor:
    sqerror = torch.square(td_score_pred[:, 2].detach() - td_score_target[:, 2]) + 1.0e-4
    return 0.00002 * global_weight * weight * huber(pred, sqerror, 100.0)


def longterm_optimistic_weight(gt: Tensor, scoremean: Tensor, scorestdev: Tensor) -> Tensor:
    """lambda_long x C26 x C27: rows where the game was won (squared, so draws count less) or the
    final score beat the prediction by about 1.5 sigma."""
    win_squared = torch.square(gt[:, 0] + 0.5 * gt[:, 2])
    excess = (gt[:, 3] - scoremean.detach()) / torch.sqrt(torch.square(scorestdev.detach()) + 0.25)
    w = torch.clamp(win_squared + torch.sigmoid((excess - 1.5) * 3.0), min=0.0, max=1.0)
    return w * gt[:, 26] * gt[:, 27]


def shortterm_optimistic_weight(gt: Tensor, td_value: Tensor, td_score: Tensor, st_value_error: Tensor,
                                st_score_error: Tensor) -> Tensor:
    """lambda_short x C26 x C27: the short-term value or score came out ~1.5 sigma better than
    predicted."""
    actual = gt[:, 12] - gt[:, 13]
    probs = F.softmax(td_value[:, 2, :].detach(), dim=1)
    value_excess = (actual - (probs[:, 0] - probs[:, 1])) / torch.sqrt(st_value_error.detach() + 0.0001)
    score_excess = (gt[:, 15] - td_score[:, 2].detach()) / torch.sqrt(st_score_error.detach() + 0.25)
    w = torch.clamp(torch.sigmoid((value_excess - 1.5) * 3.0) + torch.sigmoid((score_excess - 1.5) * 3.0),
                    min=0.0, max=1.0)
    return w * gt[:, 26] * gt[:, 27]


def policy_accuracy(logits: Tensor, target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    return torch.sum(global_weight * weight * (torch.argmax(logits, dim=1) == torch.argmax(target, dim=1)))


def target_entropy(target: Tensor, weight: Tensor, global_weight: Tensor) -> Tensor:
    return torch.sum(global_weight * weight * -torch.sum(target * torch.log(target + 1e-30), dim=-1))


def square_value(value_logits: Tensor, global_weight: Tensor) -> Tensor:
    wl = torch.tensor([1.0, -1.0, 0.0], dtype=global_weight.dtype, device=global_weight.device)
    return torch.sum(global_weight * torch.square(torch.sum(torch.softmax(value_logits, dim=1) * wl, dim=1)))


# ------------------------------------------------------------------------------------------------
# The seki weight's running average


class SekiAverage:
    """The bias-corrected 0.998-decayed average of the unowned proportion (§6 "Seki"), kept as
    device tensors (no host sync per step). Saved as KataGo's checkpoint `metrics` entry."""

    def __init__(self, device="cpu"):
        self.sum = torch.zeros([], dtype=torch.float32, device=device)
        self.weight = torch.zeros([], dtype=torch.float32, device=device)

    def update(self, proportion: Tensor) -> None:
        with torch.no_grad():
            self.sum.mul_(0.998).add_(proportion.detach())
            self.weight.mul_(0.998).add_(1.0)

    def weight_scale(self) -> Tensor:
        return 8.0 * 0.005 / (0.005 + self.sum / self.weight)

    def state_dict(self) -> dict:
        return dict(moving_unowned_proportion_sum=float(self.sum.item()),
                    moving_unowned_proportion_weight=float(self.weight.item()))

    def load_state_dict(self, state: dict) -> None:
        self.sum.fill_(float(state["moving_unowned_proportion_sum"]))
        self.weight.fill_(float(state["moving_unowned_proportion_weight"]))


# ------------------------------------------------------------------------------------------------
# Assembling the metrics


def _policy_scales(version: int) -> tuple[float, float, float]:
    """(main, long-optimistic, short-optimistic) policy scales by model version (§6)."""
    if version <= 11:
        return 1.0, 0.0, 0.0
    return 0.930, 0.100, 0.200


def head_metrics(p: Predictions, b: Batch, version: int, scales: LossScales, training: bool,
                 seki: Optional[SekiAverage], update_seki: bool, unowned_mean: Optional[Tensor] = None
                 ) -> dict:
    """KataGo's metrics of one set of heads, each summed over the batch, plus `loss_sum`.

    training: seki weight from the running average (updated first when update_seki), else the
    validation constant 7. unowned_mean: the batch's unowned proportion when the caller computed
    it over more rows than this batch (DDP: every rank's rows); None = this batch's own."""
    spatial, gt, policy_t, value_t = b.binaryInputNCHW, b.globalTargetsNC, b.policyTargetsNCMove, b.valueTargetsNCHW
    mask = spatial[:, 0, :, :].contiguous()
    mask_sum_hw = torch.sum(mask, dim=(1, 2))
    n, h, w = spatial.shape[0], spatial.shape[2], spatial.shape[3]
    policymask = torch.cat((mask.view(n, h * w), mask.new_ones((n, 1))), dim=1)

    pla = policy_t[:, 0, :]
    pla = pla / torch.sum(pla, dim=1, keepdim=True)
    opp = policy_t[:, 1, :]
    opp = opp / torch.sum(opp, dim=1, keepdim=True)
    pla_soft = torch.pow((pla + 1e-7) * policymask, 0.25)
    pla_soft = pla_soft / torch.sum(pla_soft, dim=1, keepdim=True)
    opp_soft = torch.pow((opp + 1e-7) * policymask, 0.25)
    opp_soft = opp_soft / torch.sum(opp_soft, dim=1, keepdim=True)

    gw = gt[:, 25]
    w_pla, w_opp, w_own = gt[:, 26], gt[:, 28], gt[:, 27]
    td_target = torch.stack((gt[:, 4:7], gt[:, 8:11], gt[:, 12:15]), dim=1)
    td_score_target = torch.cat((gt[:, 7:8], gt[:, 11:12], gt[:, 15:16]), dim=1)
    own_t, seki_t = value_t[:, 0, :, :], value_t[:, 1, :, :]
    main_scale, long_scale, short_scale = _policy_scales(version)

    m = {}
    m["p0loss_sum"] = policy_loss(p.policy[:, 0, :], pla, w_pla, gw).sum()
    m["p1loss_sum"] = opponent_policy_loss(p.policy[:, 1, :], opp, w_opp, gw).sum()
    m["p0softloss_sum"] = policy_loss(p.policy[:, 2, :], pla_soft, w_pla, gw).sum()
    m["p1softloss_sum"] = opponent_policy_loss(p.policy[:, 3, :], opp_soft, w_opp, gw).sum()
    if version <= 11:
        w_long = w_short = torch.zeros_like(gw)
        m["p0lopt_sum"] = m["p0sopt_sum"] = torch.zeros_like(m["p0loss_sum"])
    else:
        if scales.disable_optimistic_policy:
            w_long = w_short = w_pla * 0.5
        else:
            w_long = longterm_optimistic_weight(gt, p.scoremean, p.scorestdev)
            w_short = shortterm_optimistic_weight(gt, p.td_value, p.td_score, p.st_value_error, p.st_score_error)
        m["p0lopt_sum"] = policy_loss(p.policy[:, 4, :], pla, w_long, gw).sum()
        m["p0sopt_sum"] = policy_loss(p.policy[:, 5, :], pla, w_short, gw).sum()
    m["p0loptw_sum"] = (gw * w_long).sum()
    m["p0soptw_sum"] = (gw * w_short).sum()
    m["vloss_sum"] = value_loss(p.value, gt[:, 0:3], 1.0 - gt[:, 35], gw).sum()
    td = td_value_loss(p.td_value, td_target, 1.0 - gt[:, 24], gw)
    m["tdvloss1_sum"], m["tdvloss2_sum"], m["tdvloss3_sum"] = td[:, 0].sum(), td[:, 1].sum(), td[:, 2].sum()
    m["tdsloss_sum"] = td_score_loss(p.td_score, td_score_target, w_own, gw).sum()
    m["oloss_sum"] = ownership_loss(p.ownership, own_t, w_own, mask, mask_sum_hw, gw).sum()
    m["sloss_sum"] = scoring_loss(p.scoring, value_t[:, 4, :, :] / 120.0, gt[:, 34], mask, mask_sum_hw, gw).sum()
    m["fploss_sum"] = futurepos_loss(p.futurepos, value_t[:, 2:4, :, :], gt[:, 33], mask, mask_sum_hw, gw).sum()
    if training:
        if update_seki:
            seki.update(unowned_proportion(own_t, w_own, mask, mask_sum_hw) if unowned_mean is None
                        else unowned_mean)
        seki_scale = seki.weight_scale()
    else:
        seki_scale = 7.0
    m["skloss_sum"] = seki_loss(p.seki, seki_t, own_t, w_own, mask, mask_sum_hw, gw, seki_scale).sum()
    m["smloss_sum"] = scoremean_loss(p.scoremean, gt[:, 3], w_own, gw).sum()
    score_distr = b.scoreDistrN / 100.0
    m["sbcdfloss_sum"] = scorebelief_cdf_loss(p.scorebelief, score_distr, w_own, gw).sum()
    m["sbpdfloss_sum"] = scorebelief_pdf_loss(p.scorebelief, score_distr, w_own, gw).sum()
    m["sdregloss_sum"] = scorestdev_loss(p.scorestdev, p.scorebelief, score_belief_offsets(h, p.scorebelief), gw).sum()
    m["leadloss_sum"] = lead_loss(p.lead, gt[:, 21], gt[:, 29], gw).sum()
    m["vtimeloss_sum"] = variance_time_loss(p.variance_time, gt[:, 22], w_own, gw).sum()
    m["evstloss_sum"] = shortterm_value_error_loss(p.st_value_error, p.td_value, td_target, w_own, gw).sum()
    m["esstloss_sum"] = shortterm_score_error_loss(p.st_score_error, p.td_score, td_score_target, w_own, gw).sum()
    m["qwlloss_sum"] = torch.zeros_like(m["p0loss_sum"])
    m["qscloss_sum"] = torch.zeros_like(m["p0loss_sum"])
    m["loss_sum"] = (
        m["p0loss_sum"] * main_scale
        + m["p1loss_sum"]
        + m["p0softloss_sum"] * scales.soft_policy_weight_scale
        + m["p1softloss_sum"] * scales.soft_policy_weight_scale
        + m["p0lopt_sum"] * long_scale
        + m["p0sopt_sum"] * short_scale
        + m["vloss_sum"] * scales.value_loss_scale
        + m["tdvloss1_sum"] * scales.td_value_loss_scales[0]
        + m["tdvloss2_sum"] * scales.td_value_loss_scales[1]
        + m["tdvloss3_sum"] * scales.td_value_loss_scales[2]
        + m["tdsloss_sum"]
        + m["oloss_sum"]
        + m["sloss_sum"] * 0.25
        + m["fploss_sum"]
        + m["skloss_sum"] * scales.seki_loss_scale
        + m["smloss_sum"]
        + m["sbcdfloss_sum"]
        + m["sbpdfloss_sum"]
        + m["sdregloss_sum"]
        + m["leadloss_sum"]
        + m["vtimeloss_sum"] * scales.variance_time_loss_scale
        + m["evstloss_sum"]
        + m["esstloss_sum"]
        + m["qwlloss_sum"]
        + m["qscloss_sum"])
    m["pacc1_sum"] = policy_accuracy(p.policy[:, 0, :], pla, w_pla, gw)
    m["vsquare_sum"] = square_value(p.value, gw)
    m["_seki_scale"] = seki_scale
    m["_targets"] = (pla, pla_soft, w_pla, gw)
    return m


_OFFSETS: dict = {}


def score_belief_offsets(pos_len: int, like: Tensor) -> Tensor:
    """o_i = (i - mid) + 0.5 for the score belief bins (§5), cached per size and device."""
    key = (pos_len, like.device, like.dtype)
    if key not in _OFFSETS:
        mid = pos_len * pos_len + SCORE_BELIEF_EXTRA_RADIUS
        _OFFSETS[key] = (torch.arange(2 * mid, dtype=torch.float64) - mid + 0.5).to(like.device, like.dtype)
    return _OFFSETS[key]


def batch_metrics(out: ModelOutput, b: Batch, mult: OutputMultipliers, version: int, scales: LossScales,
                  training: bool, seki: Optional[SekiAverage], world_size: int = 1,
                  unowned_mean: Optional[Tensor] = None) -> dict:
    """All of KataGo's per-batch metrics: the main heads, the intermediate heads ("I" prefix,
    scaled into `loss_sum`), `wsum`, `nsamp`, `ptentr_sum`, `ptsoftentr_sum`,
    `sekiweightscale_sum`. Everything but `loss_sum` is detached."""
    m = head_metrics(postprocess(out, mult, version), b, version, scales, training, seki, True, unowned_mean)
    seki_scale = m.pop("_seki_scale")
    pla, pla_soft, w_pla, gw = m.pop("_targets")
    if scales.main_loss_scale is not None:
        m["loss_sum"] = scales.main_loss_scale * m["loss_sum"]
    if out.intermediate is not None:
        inter_scale = scales.intermediate_loss_scale
        if inter_scale is None:
            if training:
                raise ValueError("training a net with an intermediate head needs intermediate_loss_scale")
            inter_scale = 1.0
        im = head_metrics(postprocess(out.intermediate, mult, version), b, version, scales, training,
                          seki, False)
        im.pop("_seki_scale")
        im.pop("_targets")
        for key, value in im.items():
            if key != "loss_sum":
                m["I" + key] = value
        m["loss_sum"] = m["loss_sum"] + inter_scale * im["loss_sum"]
    weight = gw.sum()
    m["wsum"] = weight * world_size
    m["nsamp"] = int(gw.shape[0]) * world_size
    m["ptentr_sum"] = target_entropy(pla, w_pla, gw)
    m["ptsoftentr_sum"] = target_entropy(pla_soft, w_pla, gw)
    m["sekiweightscale_sum"] = seki_scale * weight
    return {k: (v if k == "loss_sum" or not isinstance(v, Tensor) else v.detach()) for k, v in m.items()}
