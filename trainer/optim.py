"""KataGo's optimizer and schedule (model-architecture.md §7).

SGD with momentum 0.9 (or AdamW), one parameter group per KataGo reg group in KataGo's order
(trainer/paramnames.py), so checkpointed momentum buffers are interchangeable with KataGo's. The
learning rate is per sample: 3e-5 x the effective LR scale x the warmup factor x the group's
factor, divided by the lookahead alpha (the lookahead average halves the step again). Weight
decay is SGD's coupled L2 with KataGo's per-group values; the gradient norm is clipped before
the step. `refresh` recomputes LR and weight decay (at each epoch start and every 5th batch,
every 50th after 200M samples). `Lookahead` keeps the slow weights; `make_ema` the exported
average.

Pure functions of their arguments except the small classes at the end.
"""
from __future__ import annotations

import math
import re
from typing import Optional

import torch
from torch.optim.swa_utils import AveragedModel

from goloop.common.nn.paramnames import REG_GROUPS, ParamName
from goloop.trainer.sgd import SGD

PER_SAMPLE_LR = 0.00003               # §7 per-sample LR at scale 1
ADAM_LR_FACTOR = 1.33                 # KataGo's AdamW step-size match to SGD
WARMUP = ((250000, 1 / 20), (500000, 1 / 14), (750000, 1 / 10), (1000000, 1 / 7), (1250000, 1 / 5),
          (1500000, 1 / 3), (1750000, 1 / 2), (2000000, 1 / 1.4))    # §7 warmup table
REFRESH_FAST_UNTIL = 200000000        # LR/WD refresh every 5 batches until this many samples, then 50

# train.py's built-in LR schedules (-lr-scale-auto, -lr-scale-auto2): (samples below, factor).
AUTO_SCHEDULE = ((550e6, 8.0), (1400e6, 6.0), (2500e6, 4.0), (3400e6, 3.0), (4200e6, 2.0),
                 (4900e6, 1.5), (5500e6, 1.0), (6400e6, 0.7), (math.inf, 0.5))
AUTO2_SCHEDULE = ((20e6, 12.0), (40e6, 9.0), (70e6, 6.0), (100e6, 4.0), (140e6, 3.0), (180e6, 2.0),
                  (220e6, 1.5), (260e6, 1.0), (300e6, 0.7), (350e6, 0.5), (400e6, 0.35),
                  (450e6, 0.25), (500e6, 0.18), (550e6, 0.12), (600e6, 0.08), (math.inf, 0.05))


def warmup_scale(samples: int, disabled: bool = False) -> float:
    if disabled:
        return 1.0
    for limit, scale in WARMUP:
        if samples < limit:
            return scale
    return 1.0


def parse_sample_count(text: str) -> int:
    text = text.strip()
    mult = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9}.get(text[-1:].lower(), 1.0)
    if mult != 1.0:
        text = text[:-1]
    return int(round(float(text) * mult))


def parse_lr_schedule(text: str) -> list[tuple[int, float]]:
    """'(0,12.0),(20M,9.0)' -> [(0, 12.0), (20000000, 9.0)]; must start at 0, strictly increasing."""
    points = [(parse_sample_count(a), float(b)) for a, b in
              re.findall(r"\(\s*([0-9.eE+\-kKmMbBgG]+)\s*,\s*([0-9.eE+\-]+)\s*\)", text)]
    if not points or points[0][0] != 0:
        raise ValueError(f"lr_schedule {text!r} must be points '(samples,scale),...' starting at 0")
    if any(b[0] <= a[0] for a, b in zip(points, points[1:])):
        raise ValueError(f"lr_schedule {text!r}: sample counts must increase")
    return points


def lr_schedule_factor(samples: int, auto: bool, auto2: Optional[float],
                       schedule: Optional[list[tuple[int, float]]]) -> float:
    if auto:
        return next(f for limit, f in AUTO_SCHEDULE if samples < limit)
    if auto2 is not None:
        return auto2 * next(f for limit, f in AUTO2_SCHEDULE if samples < limit)
    if schedule:
        return [f for at, f in schedule if samples >= at][-1]
    return 1.0


def group_lr_factor(group: str, head_lr_factor: float, noreg_lr_factor: float) -> float:
    if group in ("input_noreg", "noreg"):
        return noreg_lr_factor
    if group == "output":
        return head_lr_factor
    if group == "output_noreg":
        return head_lr_factor * noreg_lr_factor
    return 1.0


def weight_decay(group: str, norm_kind: str, batch_total: int, effective_lr_scale: float,
                 warmup: float, adamw: bool = False, input_wd_factor: float = 1.0,
                 normal_wd_factor: float = 1.0, adaptive: float = 1.0) -> float:
    """The group's weight_decay (§7). batch_total = batch x world size; adaptive = the batch-norm
    nets' norm-keeping factor (`adaptive_wd_scale`)."""
    batch_scaling = math.sqrt(batch_total / 256.0) if adamw else batch_total / 256.0
    factor = {"input": input_wd_factor, "normal": normal_wd_factor}.get(group, 1.0)
    d = batch_scaling * factor
    if norm_kind in ("fixup", "fixscale"):
        if group in ("input", "normal", "normal_gamma", "output"):
            return (0.005 if adamw else 0.000001) * d
        return 0.00000001 * d
    lr_part = math.pow(effective_lr_scale * warmup, 0.75)
    if group in ("input", "normal", "normal_gamma"):
        if group == "normal_gamma":
            g = 0.25 if adamw else 0.125
        else:
            g = 2.0 / 3.0 if (adamw and group == "input") else 1.0
        return (0.00900 if adamw else 0.00125) * d * (lr_part * adaptive) * g
    if group == "output":
        return (0.00400 if adamw else 0.000001) * d
    if group in ("input_noreg", "noreg"):
        return 0.000001 * d * lr_part
    return (0.000001 if adamw else 0.00000001) * d


def adaptive_wd_scale(norm_now: Optional[float], baseline: float) -> float:
    """2^(2 tanh(3 ln r)), r = group norm / its norm at creation: pulls a batch-norm net's
    weight norm back toward where it started (1 until a norm has been measured)."""
    if norm_now is None:
        return 1.0
    return math.pow(2.0, 2.0 * math.tanh(math.log(norm_now / (baseline + 1e-30) + 1e-30) * 3.0))


def gnorm_cap(norm_kind: str, adamw: bool, clip_scale: float, batch_total: int,
              effective_lr_scale: float) -> float:
    """Global gradient-norm clip threshold; it loosens as the LR scale drops."""
    if adamw:
        cap = 11000.0
    elif norm_kind in ("fixup", "fixscale", "fixscaleonenorm"):
        cap = 2500.0
    else:
        cap = 5500.0
    cap *= clip_scale * math.sqrt(batch_total / 256.0)
    return cap / math.sqrt(max(0.0000001, effective_lr_scale))


def param_groups(model: torch.nn.Module, layout: list[ParamName]) -> list[dict]:
    """torch param groups in KataGo's order, tagged as KataGo tags them (checkpoints carry the tags)."""
    params = dict(model.named_parameters())
    groups = []
    for name in REG_GROUPS:
        members = [params[p.ours] for p in layout if p.group == name]
        if members:
            groups.append({"params": members, "group_name": name, "weight_decay": 0.0,
                           "use_muon": name in ("normal", "normal_attn", "normal_gab", "gab_mlp", "tab_module")})
    return groups


def make_optimizer(model: torch.nn.Module, layout: list[ParamName], adamw: bool):
    """trainer/sgd.py's SGD (torch.optim.SGD's update without its 4 s import of torch._dynamo);
    torch's AdamW for KataGo's AdamW option, which pays that import."""
    groups = param_groups(model, layout)
    if adamw:
        return torch.optim.AdamW(groups, lr=1.0)
    return SGD(groups, lr=1.0, momentum=0.9)


def model_norms(model: torch.nn.Module, layout: list[ParamName]) -> dict[str, float]:
    """sqrt of the summed squares of each reg group (KataGo's `get_model_norms`)."""
    params = dict(model.named_parameters())
    out = {}
    with torch.no_grad():
        for name in REG_GROUPS:
            members = [params[p.ours] for p in layout if p.group == name]
            if members:
                total = torch.zeros([], dtype=torch.float32, device=members[0].device)
                for t in members:
                    total += torch.sum(t * t)
                out[name] = torch.sqrt(total).item()
    return out


def refresh(optimizer, *, samples: int, lr_factor: float, cfg, norm_kind: str,
            batch_total: int, norms: dict, baselines: dict) -> tuple[float, float]:
    """Set every group's lr and weight_decay for the current sample count; returns (per-sample LR
    x warmup, normal group's weight decay) for the metrics. lr_factor = effective LR scale."""
    warm = warmup_scale(samples, cfg.no_lr_warmup)
    per_sample = (ADAM_LR_FACTOR * PER_SAMPLE_LR if cfg.use_adamw else PER_SAMPLE_LR) * lr_factor
    normal_wd = 0.0
    for group in optimizer.param_groups:
        name = group["group_name"]
        lr = per_sample * warm * group_lr_factor(name, cfg.head_lr_factor, cfg.noreg_lr_factor)
        if cfg.lookahead_enabled:
            lr = lr / cfg.lookahead_alpha
        if cfg.use_adamw:
            lr *= math.sqrt(batch_total / 256.0)
        key = "input" if name == "input" else "normal"
        adaptive = adaptive_wd_scale(norms.get(f"norm_{key}_batch"), baselines[key])
        group["lr"] = lr
        group["weight_decay"] = weight_decay(name, norm_kind, batch_total, lr_factor, warm, cfg.use_adamw,
                                             cfg.input_wd_factor, cfg.normal_wd_factor, adaptive)
        if name == "normal":
            normal_wd = group["weight_decay"]
    return per_sample * warm, normal_wd


class Lookahead:
    """Slow weights: every k steps slow += alpha (fast - slow) and fast := slow (momentum kept).

    The slow copy starts from the weights when training starts (not checkpointed); `discard` ends
    an epoch by throwing away the fast progress since the last sync."""

    def __init__(self, params, k: int, alpha: float):
        self.params = list(params)
        self.slow = [p.detach().clone() for p in self.params]
        self.k, self.alpha, self.counter = k, alpha, 0

    @torch.no_grad()
    def step(self) -> bool:
        """Count one optimizer step; True when this step synced (slow == fast now)."""
        self.counter += 1
        if self.counter < self.k:
            return False
        for p, s in zip(self.params, self.slow):
            s.add_(p.detach() - s, alpha=self.alpha)
            p.copy_(s)
        self.counter = 0
        return True

    @torch.no_grad()
    def discard(self) -> None:
        for p, s in zip(self.params, self.slow):
            p.copy_(s)


def make_ema(model: torch.nn.Module, swa_scale: float) -> AveragedModel:
    """The exported weights: avg += (current - avg) / swa_scale at each snapshot; parameters only."""
    new_factor = 1.0 / swa_scale

    def ema(avg, current, n_averaged):
        return avg + new_factor * (current - avg)
    return AveragedModel(model, avg_fn=ema)
