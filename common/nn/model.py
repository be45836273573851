"""KataGo's neural network in PyTorch: residual trunk, policy head, value head, training heads.

One class, `Model`, built from a `ModelConfig` structure description, serves both nets trained
here (config from `config_of_name`) and nets read from KataGo model files (config derived from
the file by `modelfile`). Semantics follow model-architecture.md §2-§5 and, for the inference-only
structures of real files (folded batch norms, transformer sub-blocks, RMSNorm trunk tip),
model-file-format.md §4-§5.

Masking: input plane 0 is the on-board mask. Every norm multiplies its output by it, pooling
divides by the per-sample on-board count, and attention only looks at on-board keys, so a board
smaller than the tensor gives the same on-board outputs as an exactly sized tensor. Values left
off board inside the trunk are never read.

Parameter layout (relied on by `modelfile`): every norm is a `NormMask` with `beta` and optional
`gamma`; in nets read from files ("affine" norm kind) every norm has an uncentred `gamma` holding
the per-channel scale the engine would compute from the file's batch-norm record.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from goloop.common.nn.modelconfigs import (
    AttentionSpec,
    BlockSpec,
    FFNSpec,
    ModelConfig,
    NestedBlockSpec,
    ResBlockSpec,
)

NUM_SPATIAL_INPUTS = 22
NUM_GLOBAL_INPUTS = 19
# Score-belief bins extend this far beyond +-(board area) (KataGo's EXTRA_SCORE_DISTR_RADIUS).
SCORE_BELIEF_EXTRA_RADIUS = 60


class MaskInfo(NamedTuple):
    """The on-board mask and its counts, computed once per forward pass."""

    mask: Tensor    # N x 1 x H x W, 1 on board
    count: Tensor   # N x 1 x 1 x 1, on-board points per sample
    total: Tensor   # scalar, on-board points in the batch (batch-norm statistics)
    full: bool = False   # every point of every sample is on board: masking is the identity

    @staticmethod
    def of(input_spatial: Tensor) -> "MaskInfo":
        mask = input_spatial[:, 0:1].contiguous()
        return MaskInfo(mask, mask.sum(dim=(2, 3), keepdim=True), mask.sum(), _all_on_board(mask))

    def apply(self, x: Tensor) -> Tensor:
        """x * mask, skipped when it cannot change anything (x * 1 == x exactly): on a full
        board (9x9 nets trained at 9x9, 19x19 at 19x19) each skipped multiply saves a pass over
        the activations forward and another backward (~1-2% of a CPU training step, b6c96 at 9x9)."""
        return x if self.full else x * self.mask


def _all_on_board(mask: Tensor) -> bool:
    """Checked on CPU only: on a GPU the answer would cost a device sync per forward pass, and
    under torch.compile a data-dependent branch would split the graph."""
    if mask.device.type != "cpu" or torch.compiler.is_compiling():
        return False
    return bool(mask.all())


class ModelOutput(NamedTuple):
    """Raw head outputs, all from the point of view of the player to move.

    Training-only heads are None for nets read from model files (files do not carry them).
    """

    policy: Tensor               # N x P x (H*W + 1) logits, pass last; names: config.policy_channel_names
    value: Tensor                # N x 3 logits {win, loss, no result}
    misc: Tensor                 # N x (10 | 4): [0] score mean, [1] score stdev (pre-softplus), [2] lead,
                                 #   [3] variance time (pre-softplus), [4:10] long/mid TD value logits
    moremisc: Optional[Tensor]   # N x (8 | 2 | None): [0] short-term value error, [1] short-term score
                                 #   error (both pre-softplus), [2:5] short TD value logits, [5:8] TD scores
    ownership: Tensor            # N x 1 x H x W, pre-tanh
    scoring: Optional[Tensor] = None      # N x 1 x H x W
    futurepos: Optional[Tensor] = None    # N x 2 x H x W, pre-tanh
    seki: Optional[Tensor] = None         # N x 4 x H x W logits
    scorebelief: Optional[Tensor] = None  # N x 2*(pos_len^2 + 60) log-probabilities
    intermediate: Optional["ModelOutput"] = None  # heads at intermediate_head_blocks (-ih, -bnh)


class EngineOutput(NamedTuple):
    """The heads KataGo's engine reads from a model file, in the file's order (file format §7-§8)."""

    policy: Tensor        # N x K x (H*W + 1): 0 policy, 1 optimistic policy (if K > 1), [2, 3] q values
    value: Tensor         # N x 3
    score_values: Tensor  # N x (4 | 6): score mean, stdev, lead, var time, [st value err, st score err]
    ownership: Tensor     # N x 1 x H x W


# ------------------------------------------------------------------------------------------------
# Small layers


def make_activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "mish":
        return nn.Mish()
    if name == "silu":
        return nn.SiLU()
    if name == "identity":
        return nn.Identity()
    raise ValueError(f"unsupported activation {name!r}")


ACTIVATION_GAIN = {"relu": math.sqrt(2.0), "mish": math.sqrt(2.210277), "silu": math.sqrt(2.0),
                   "identity": 1.0}


def init_weights(tensor: Tensor, activation: str, scale: float, fan_in: Optional[int] = None) -> None:
    """KataGo's init: truncated normal (+-2 sigma) with std scale*gain/sqrt(fan_in), widened by
    1/0.8796 so the truncated distribution keeps the intended std. Biases pass their weight's fan-in."""
    if fan_in is None:
        fan_in = tensor.shape[1] * (tensor[0][0].numel() if tensor.dim() > 2 else 1)
    std = scale * ACTIVATION_GAIN[activation] / math.sqrt(fan_in) / 0.87962566103423978
    with torch.no_grad():
        if std < 1e-10:
            tensor.zero_()
        else:
            nn.init.trunc_normal_(tensor, mean=0.0, std=std, a=-2.0 * std, b=2.0 * std)


def conv(c_in: int, c_out: int, kernel_size: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel_size, padding="same", bias=False)


def global_pool(x: Tensor, m: MaskInfo) -> Tensor:
    """Mean, size-scaled mean and max over on-board points: N x C x H x W -> N x 3C.

    The max adds -1 off board, which is safe because every activation used is >= -1 and the
    input is 0 off board."""
    mean = x.sum(dim=(2, 3)) / m.count.view(-1, 1)
    size_term = (m.count.view(-1, 1).sqrt() - 14.0) / 10.0
    peak = (x if m.full else x + (m.mask - 1.0)).flatten(2).amax(dim=2)
    return torch.cat((mean, mean * size_term, peak), dim=1)


def value_pool(x: Tensor, m: MaskInfo) -> Tensor:
    """The value head's pooling: mean, mean * (sqrt(area)-14)/10, mean * ((...)^2/100 - 0.1)."""
    mean = x.sum(dim=(2, 3)) / m.count.view(-1, 1)
    offset = m.count.view(-1, 1).sqrt() - 14.0
    return torch.cat((mean, mean * (offset / 10.0), mean * (offset * offset / 100.0 - 0.1)), dim=1)


class NormMask(nn.Module):
    """Per-channel norm: optional batch normalisation, then x * scale + beta, then the mask.

    `scale` = fixed_scale * (gamma + 1) when gamma is centred at 0 (KataGo stores it that way so
    weight decay pulls the effective scale toward 1), fixed_scale * gamma otherwise; each factor is
    left out when absent. Batch statistics use on-board points only; the running std (not the
    variance) is tracked, as KataGo does.
    """

    def __init__(self, channels: int, *, gamma: bool = False, center_1: bool = True,
                 fixed_scale: Optional[float] = None, batch: bool = False,
                 eps: float = 1e-4, momentum: float = 0.001):
        super().__init__()
        self.channels = channels
        self.center_1 = center_1
        self.fixed_scale = fixed_scale
        self.batch = batch
        self.eps = eps
        self.momentum = momentum
        self.beta = nn.Parameter(torch.zeros(channels))
        self.gamma = nn.Parameter(torch.zeros(channels) if center_1 else torch.ones(channels)) if gamma else None
        if batch:
            self.register_buffer("running_mean", torch.zeros(channels))
            self.register_buffer("running_std", torch.ones(channels))

    def effective_scale(self):
        """The multiplier applied after normalisation: a C-tensor, a float, or None (1)."""
        scale = None
        if self.gamma is not None:
            scale = self.gamma + 1.0 if self.center_1 else self.gamma
        if self.fixed_scale is not None:
            scale = self.fixed_scale if scale is None else scale * self.fixed_scale
        return scale

    def forward(self, x: Tensor, m: MaskInfo) -> Tensor:
        if self.batch:
            if self.training:
                mean = m.apply(x).sum(dim=(0, 2, 3)) / m.total
                centred = x - mean.view(1, -1, 1, 1)
                var = (m.apply(centred) ** 2).sum(dim=(0, 2, 3)) / m.total
                std = (var + self.eps).sqrt()
                with torch.no_grad():
                    self.running_mean += self.momentum * (mean.detach() - self.running_mean)
                    self.running_std += self.momentum * (std.detach() - self.running_std)
                x = centred / std.view(1, -1, 1, 1)
            else:
                x = (x - self.running_mean.view(1, -1, 1, 1)) / self.running_std.view(1, -1, 1, 1)
        scale = self.effective_scale()
        if isinstance(scale, Tensor):
            x = x * scale.view(1, -1, 1, 1)
        elif scale is not None:
            x = x * scale
        return m.apply(x + self.beta.view(1, -1, 1, 1))


class RMSNormTip(nn.Module):
    """RMSNorm at the trunk tip: x * r * gamma + beta, masked; gamma is used as stored.

    spatial: one r per sample over all on-board points and channels; else one r per point."""

    def __init__(self, channels: int, spatial: bool, eps: float = 1e-6):
        super().__init__()
        self.spatial = spatial
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, m: MaskInfo) -> Tensor:
        if self.spatial:
            mean_sq = m.apply(x * x).sum(dim=(1, 2, 3), keepdim=True) / (m.count * x.shape[1])
        else:
            mean_sq = (x * x).mean(dim=1, keepdim=True)
        x = x * torch.rsqrt(mean_sq + self.eps)
        return m.apply(x * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1))


class _Layers:
    """Makes norms and activations the way the config's norm kind wants them (architecture §3)."""

    def __init__(self, config: ModelConfig):
        self.config = config

    def norm(self, channels: int, *, gamma: bool = False, fixed_scale: Optional[float] = None,
             trunk_final: bool = False) -> NormMask:
        """`gamma`: this position carries a learned scale in fixup-style nets (before each block's
        last conv); `trunk_final`: the one real batch norm of -fson nets."""
        c = self.config
        if c.norm_kind == "affine":
            return NormMask(channels, gamma=True, center_1=False)
        fixup_style = c.norm_kind in ("fixup", "fixscale", "fixscaleonenorm")
        return NormMask(
            channels,
            gamma=c.bnorm_use_gamma or (fixup_style and gamma),
            fixed_scale=fixed_scale if c.uses_fixed_scale else None,
            batch=c.norm_kind == "bnorm" or (c.norm_kind == "fixscaleonenorm" and trunk_final),
            eps=c.bnorm_epsilon, momentum=c.bnorm_momentum)

    def bias(self, channels: int, fixed_scale: Optional[float] = None) -> NormMask:
        """Bias-only norm of the heads (KataGo's BiasMask)."""
        if self.config.norm_kind == "affine":
            return NormMask(channels, gamma=True, center_1=False)
        return NormMask(channels, fixed_scale=fixed_scale if self.config.uses_fixed_scale else None)

    def act(self, name: str = "") -> nn.Module:
        return make_activation(name or self.config.activation)


# ------------------------------------------------------------------------------------------------
# Trunk blocks. Each returns the residual; the caller adds it.


class GPoolBias(nn.Module):
    """The pooled path of a gpool block: conv, norm, act, pool, linear -> per-channel bias."""

    def __init__(self, c_in: int, c_gpool: int, c_out: int, kernel_size: int, layers: _Layers):
        super().__init__()
        self.conv = conv(c_in, c_gpool, kernel_size)
        self.norm = layers.norm(c_gpool)
        self.act = layers.act()
        self.linear = nn.Linear(3 * c_gpool, c_out, bias=False)

    def forward(self, a: Tensor, m: MaskInfo) -> Tensor:
        g = self.act(self.norm(self.conv(a), m))
        return self.linear(global_pool(g, m))[:, :, None, None]


class ResBlock(nn.Module):
    """Ordinary or global-pooling residual block (architecture §3)."""

    def __init__(self, spec: ResBlockSpec, channels: int, layers: _Layers, first_norm_scale: float):
        super().__init__()
        k, mid = spec.kernel_size, spec.mid_channels
        self.norm1 = layers.norm(channels, fixed_scale=first_norm_scale)
        self.act1 = layers.act()
        self.conv1 = conv(channels, mid, k)
        self.gpool = GPoolBias(channels, spec.gpool_channels, mid, k, layers) if spec.gpool_channels else None
        self.norm2 = layers.norm(mid, gamma=True)
        self.act2 = layers.act()
        self.conv2 = conv(mid, channels, k)

    def forward(self, x: Tensor, m: MaskInfo) -> Tensor:
        a = self.act1(self.norm1(x, m))
        h = self.conv1(a)
        if self.gpool is not None:
            h = h + self.gpool(a, m)
        return self.conv2(self.act2(self.norm2(h, m)))

    def initialize(self, kind: str, activation: str, fixup_scale: float) -> None:
        """fixup: first conv at fixup_scale, last conv zero; otherwise both at scale 1."""
        scale = fixup_scale if kind == "fixup" else 1.0
        if self.gpool is None:
            init_weights(self.conv1.weight, activation, scale)
        elif kind in ("fixup", "fixscale", "fixscaleonenorm"):
            # Variances of the regular and pooled paths add up to the intended total.
            init_weights(self.conv1.weight, activation, scale * 0.8)
            init_weights(self.gpool.conv.weight, activation, math.sqrt(scale) * math.sqrt(0.6))
            init_weights(self.gpool.linear.weight, activation, math.sqrt(scale) * math.sqrt(0.6))
        else:
            init_weights(self.conv1.weight, activation, scale * 0.8)
            init_weights(self.gpool.conv.weight, activation, math.sqrt(scale))
            init_weights(self.gpool.linear.weight, activation, math.sqrt(scale) * 0.6)
        init_weights(self.conv2.weight, activation, 0.0 if kind == "fixup" else 1.0)


def _internal_length(spec: NestedBlockSpec) -> int:
    """Depth of a nested bottleneck for init and fixed scales: an attention+FFN pair counts once."""
    return sum(1 for inner in spec.inner if not isinstance(inner, FFNSpec))


class NestedBottleneckBlock(nn.Module):
    """Nested bottleneck: 1x1 conv down, inner residual blocks, 1x1 conv up (architecture §3)."""

    def __init__(self, spec: NestedBlockSpec, channels: int, layers: _Layers, first_norm_scale: float):
        super().__init__()
        mid, k = spec.mid_channels, spec.kernel_size
        self.normp = layers.norm(channels, fixed_scale=first_norm_scale)
        self.actp = layers.act()
        self.convp = conv(channels, mid, k)
        self.blocks = nn.ModuleList(build_block(inner, mid, layers, 1.0 / math.sqrt(j + 1.0))
                                    for j, inner in enumerate(spec.inner))
        self.depth = _internal_length(spec)
        self.normq = layers.norm(mid, gamma=True, fixed_scale=1.0 / math.sqrt(self.depth + 1.0))
        self.actq = layers.act()
        self.convq = conv(mid, channels, k)

    def forward(self, x: Tensor, m: MaskInfo) -> Tensor:
        h = self.convp(self.actp(self.normp(x, m)))
        for block in self.blocks:
            h = h + block(h, m)
        return self.convq(self.actq(self.normq(h, m)))

    def initialize(self, kind: str, activation: str, fixup_scale: float) -> None:
        inner_scale = fixup_scale ** (1.0 / (1.0 + self.depth))
        if kind == "fixup":
            init_weights(self.convp.weight, activation, inner_scale)
            for block in self.blocks:
                _initialize_block(block, kind, activation, inner_scale)
            init_weights(self.convq.weight, activation, 0.0)
        else:
            init_weights(self.convp.weight, activation, 1.0)
            for block in self.blocks:
                _initialize_block(block, kind, activation, 1.0)
            init_weights(self.convq.weight, activation, 1.0)


def rms_norm_lite(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    """Per point over channels: x / sqrt(mean(x^2) + eps) * weight (x is N x S x C)."""
    return x * torch.rsqrt((x * x).mean(dim=-1, keepdim=True) + eps) * weight


def _rotate_pairs(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate interleaved channel pairs (2p, 2p+1) of each head: x is N x S x heads x 2P,
    cos/sin broadcast to N x S x heads x P."""
    pairs = x.unflatten(-1, (-1, 2))
    a, b = pairs[..., 0], pairs[..., 1]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)


class AttentionBlock(nn.Module):
    """Transformer attention over on-board points with 2D rotary positions (file format §5)."""

    def __init__(self, spec: AttentionSpec, channels: int):
        super().__init__()
        self.spec = spec
        self.norm_weight = nn.Parameter(torch.ones(channels))
        self.q_proj = nn.Linear(channels, spec.num_heads * spec.q_head_dim, bias=False)
        self.k_proj = nn.Linear(channels, spec.num_kv_heads * spec.q_head_dim, bias=False)
        self.v_proj = nn.Linear(channels, spec.num_kv_heads * spec.v_head_dim, bias=False)
        self.out_proj = nn.Linear(spec.num_heads * spec.v_head_dim, channels, bias=False)
        pairs = spec.q_head_dim // 2
        # Learnable RoPE: per KV head and pair, angular frequency along x and along y.
        self.rope_freqs = (nn.Parameter(torch.zeros(spec.num_kv_heads, pairs, 2))
                           if spec.rope == "learnable" else None)

    def _rope_angles(self, height: int, width: int, device) -> Tensor:
        """Rotation angle per point, KV head (or 1 shared) and pair: S x (Hkv | 1) x P."""
        pos = torch.arange(height * width, device=device)
        x = (pos % width).float()[:, None, None]
        y = (pos // width).float()[:, None, None]
        if self.rope_freqs is not None:
            return x * self.rope_freqs[None, :, :, 0] + y * self.rope_freqs[None, :, :, 1]
        pairs = self.spec.q_head_dim // 2
        half = pairs // 2
        p = torch.arange(pairs, device=device)
        per_axis = torch.where(p < half, p, p - half)   # first half of the pairs: y, then x
        freq = 1.0 / torch.pow(torch.tensor(self.spec.rope_theta, dtype=torch.float32, device=device),
                               (2 * per_axis).float() / pairs)
        return torch.where(p < half, y * freq, x * freq)

    def forward(self, x: Tensor, m: MaskInfo) -> Tensor:
        spec = self.spec
        n_batch, channels, height, width = x.shape
        mask = m.mask.flatten(2).transpose(1, 2)                      # N x S x 1
        h = rms_norm_lite(x.flatten(2).transpose(1, 2), self.norm_weight, spec.norm_eps) * mask
        q = self.q_proj(h).unflatten(-1, (spec.num_heads, spec.q_head_dim))
        k = self.k_proj(h).unflatten(-1, (spec.num_kv_heads, spec.q_head_dim))
        v = self.v_proj(h).unflatten(-1, (spec.num_kv_heads, spec.v_head_dim))
        group = spec.num_heads // spec.num_kv_heads
        if spec.rope != "none":
            angles = self._rope_angles(height, width, x.device)
            cos, sin = angles.cos(), angles.sin()
            k = _rotate_pairs(k, cos, sin)
            if cos.shape[1] > 1:   # query head h uses the frequencies of KV head h // group
                cos, sin = cos.repeat_interleave(group, dim=1), sin.repeat_interleave(group, dim=1)
            q = _rotate_pairs(q, cos, sin)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if group > 1:
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        on_board_keys = (mask.view(n_batch, 1, 1, -1) > 0)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=on_board_keys,
                                           scale=1.0 / math.sqrt(spec.q_head_dim))
        out = self.out_proj(a.transpose(1, 2).flatten(2)) * mask
        return out.transpose(1, 2).reshape(n_batch, channels, height, width)

    def initialize(self) -> None:
        """Projections keep torch's default init (as KataGo); RoPE frequencies are drawn
        log-uniformly between 1/50 and 1 radian per point, with random signs."""
        if self.rope_freqs is not None:
            with torch.no_grad():
                log_freq = torch.empty_like(self.rope_freqs).uniform_(math.log(1.0 / 50.0), 0.0)
                sign = torch.randint(0, 2, self.rope_freqs.shape).float() * 2.0 - 1.0
                self.rope_freqs.copy_(log_freq.exp() * sign)


class FFNBlock(nn.Module):
    """Transformer feed-forward: SwiGLU with SiLU on linear1 (or act(linear1) without gating)."""

    def __init__(self, spec: FFNSpec, channels: int, activation: str):
        super().__init__()
        self.spec = spec
        self.norm_weight = nn.Parameter(torch.ones(channels))
        self.linear1 = nn.Linear(channels, spec.ffn_channels, bias=False)
        self.gate = nn.Linear(channels, spec.ffn_channels, bias=False) if spec.swiglu else None
        self.act = nn.SiLU() if spec.swiglu else make_activation(activation)
        self.linear2 = nn.Linear(spec.ffn_channels, channels, bias=False)

    def forward(self, x: Tensor, m: MaskInfo) -> Tensor:
        n_batch, channels, height, width = x.shape
        mask = m.mask.flatten(2).transpose(1, 2)
        h = rms_norm_lite(x.flatten(2).transpose(1, 2), self.norm_weight, self.spec.norm_eps)
        hidden = self.act(self.linear1(h))
        if self.gate is not None:
            hidden = hidden * self.gate(h)
        out = self.linear2(hidden) * mask
        return out.transpose(1, 2).reshape(n_batch, channels, height, width)


def build_block(spec: BlockSpec, channels: int, layers: _Layers, first_norm_scale: float) -> nn.Module:
    """The module for one block spec at trunk width `channels`. `first_norm_scale` is the
    fixscale constant of the block's first norm (1/sqrt(position+1))."""
    if isinstance(spec, ResBlockSpec):
        return ResBlock(spec, channels, layers, first_norm_scale)
    if isinstance(spec, NestedBlockSpec):
        return NestedBottleneckBlock(spec, channels, layers, first_norm_scale)
    if isinstance(spec, AttentionSpec):
        return AttentionBlock(spec, channels)
    if isinstance(spec, FFNSpec):
        return FFNBlock(spec, channels, layers.config.activation)
    raise ValueError(f"unknown block spec {spec!r}")


def _initialize_block(block: nn.Module, kind: str, activation: str, fixup_scale: float) -> None:
    if isinstance(block, (ResBlock, NestedBottleneckBlock)):
        block.initialize(kind, activation, fixup_scale)
    elif isinstance(block, AttentionBlock):
        block.initialize()


# ------------------------------------------------------------------------------------------------
# Heads


class PolicyHead(nn.Module):
    """Policy logits per point plus pass (architecture §4; legacy single-matmul pass before v15)."""

    def __init__(self, config: ModelConfig, layers: _Layers):
        super().__init__()
        c, p1, g1, k = config.trunk_channels, config.p1_channels, config.g1_channels, config.policy_outputs
        self.conv1p = conv(c, p1, 1)
        self.conv1g = conv(c, g1, 1)
        self.biasg = layers.bias(g1)
        self.actg = layers.act()
        self.linear_g = nn.Linear(3 * g1, p1, bias=False)
        if config.pass_hidden:
            self.linear_pass = nn.Linear(3 * g1, p1, bias=True)
            self.act_pass = layers.act(config.pass_act)
            self.linear_pass2 = nn.Linear(p1, k, bias=False)
        else:
            self.linear_pass = nn.Linear(3 * g1, k, bias=False)
            self.act_pass = None
            self.linear_pass2 = None
        self.bias2 = layers.bias(p1)
        self.act2 = layers.act()
        self.conv2p = conv(p1, k, 1)

    def forward(self, t: Tensor, m: MaskInfo) -> Tensor:
        # conv1p before conv1g, as KataGo: the order sets how autograd sums t's gradient, so
        # training matches KataGo's bit for bit.
        p = self.conv1p(t)
        pooled = global_pool(self.actg(self.biasg(self.conv1g(t), m)), m)
        passing = self.linear_pass(pooled)
        if self.linear_pass2 is not None:
            passing = self.linear_pass2(self.act_pass(passing))
        p = p + self.linear_g(pooled)[:, :, None, None]
        p = self.conv2p(self.act2(self.bias2(p, m)))
        p = p - 5000.0 * (1.0 - m.mask)   # off-board points vanish in any softmax
        return torch.cat((p.flatten(2), passing[:, :, None]), dim=2)

    def initialize(self, activation: str) -> None:
        init_weights(self.conv1p.weight, activation, 0.8)
        init_weights(self.conv1g.weight, activation, 1.0)
        init_weights(self.linear_g.weight, activation, 0.6)
        if self.linear_pass2 is not None:
            init_weights(self.linear_pass.weight, activation, 1.0)
            init_weights(self.linear_pass.bias, activation, 0.2, fan_in=self.linear_pass.in_features)
            init_weights(self.linear_pass2.weight, "identity", 0.3)
        else:
            init_weights(self.linear_pass.weight, "identity", 0.3)
        init_weights(self.conv2p.weight, "identity", 0.3)


class ScoreBeliefHead(nn.Module):
    """Distribution over final score differences as a mixture of softmaxes (architecture §5)."""

    def __init__(self, config: ModelConfig, pos_len: int):
        super().__init__()
        v1x3, sbv2, k = 3 * config.v1_channels, config.sbv2_channels, config.num_scorebeliefs
        self.linear_s2 = nn.Linear(v1x3, sbv2, bias=True)
        self.linear_s2off = nn.Linear(1, sbv2, bias=False)
        self.linear_s2par = nn.Linear(1, sbv2, bias=False)
        self.linear_s3 = nn.Linear(sbv2, k, bias=True)
        self.linear_smix = nn.Linear(v1x3, k, bias=True)
        mid = pos_len * pos_len + SCORE_BELIEF_EXTRA_RADIUS
        i = torch.arange(2 * mid, dtype=torch.float32) - mid
        self.register_buffer("offsets", i + 0.5, persistent=False)                  # o_i
        # 0.05 * o_i rounded once from double, as KataGo builds it: bit-equal score beliefs.
        self.register_buffer("offset_inputs", (0.05 * (i.double() + 0.5)).float(), persistent=False)
        self.register_buffer("parity", 0.5 - torch.remainder(i, 2.0), persistent=False)

    def forward(self, pooled: Tensor, input_global: Tensor, activation: nn.Module) -> Tensor:
        h = (self.linear_s2(pooled)[:, None, :]
             + self.linear_s2off(self.offset_inputs[:, None])[None]
             + self.linear_s2par((self.parity[None, :] * input_global[:, -1:])[:, :, None]))
        logits = self.linear_s3(activation(h))                       # N x L x K
        mixture = F.log_softmax(self.linear_smix(pooled), dim=1)     # N x K
        return torch.logsumexp(F.log_softmax(logits, dim=1) + mixture[:, None, :], dim=2)

    def initialize(self, activation: str) -> None:
        fan_in = self.linear_s2.in_features
        init_weights(self.linear_s2.weight, activation, 1.0)
        init_weights(self.linear_s2.bias, activation, 1.0, fan_in=fan_in)
        init_weights(self.linear_s2off.weight, activation, 1.0, fan_in=fan_in)
        init_weights(self.linear_s2par.weight, activation, 1.0, fan_in=fan_in)
        init_weights(self.linear_s3.weight, "identity", 0.5)
        init_weights(self.linear_s3.bias, "identity", 0.5 * 0.2, fan_in=self.linear_s3.in_features)
        init_weights(self.linear_smix.weight, "identity", 1.0)
        init_weights(self.linear_smix.bias, "identity", 0.2, fan_in=self.linear_smix.in_features)


class ValueHead(nn.Module):
    """Game outcome, score statistics, ownership and the training-only spatial heads (§5)."""

    def __init__(self, config: ModelConfig, layers: _Layers, pos_len: int):
        super().__init__()
        c, v1, v2 = config.trunk_channels, config.v1_channels, config.v2_channels
        self.conv1 = conv(c, v1, 1)
        self.bias1 = layers.bias(v1)
        self.act1 = layers.act()
        self.linear2 = nn.Linear(3 * v1, v2, bias=True)
        self.act2 = layers.act()
        self.linear_value = nn.Linear(v2, 3, bias=True)
        self.linear_misc = nn.Linear(v2, config.misc_outputs, bias=True)
        self.linear_moremisc = nn.Linear(v2, config.moremisc_outputs, bias=True) if config.moremisc_outputs else None
        self.conv_ownership = conv(v1, 1, 1)
        self.training_heads = config.training_heads
        if config.training_heads:
            self.conv_scoring = conv(v1, 1, 1)
            self.conv_futurepos = conv(c, 2, 1)
            self.conv_seki = conv(c, 4, 1)
            self.score_belief = ScoreBeliefHead(config, pos_len)

    def forward(self, t: Tensor, m: MaskInfo, input_global: Tensor) -> dict:
        v1 = self.act1(self.bias1(self.conv1(t), m))
        pooled = value_pool(v1, m)
        v2 = self.act2(self.linear2(pooled))
        out = dict(value=self.linear_value(v2), misc=self.linear_misc(v2),
                   moremisc=self.linear_moremisc(v2) if self.linear_moremisc is not None else None,
                   ownership=self.conv_ownership(v1) * m.mask)
        if self.training_heads:
            out.update(scoring=self.conv_scoring(v1) * m.mask,
                       futurepos=self.conv_futurepos(t) * m.mask,
                       seki=self.conv_seki(t) * m.mask,
                       scorebelief=self.score_belief(pooled, input_global, self.act2))
        return out

    def initialize(self, activation: str) -> None:
        init_weights(self.conv1.weight, activation, 1.0)
        init_weights(self.linear2.weight, activation, 1.0)
        init_weights(self.linear2.bias, activation, 0.2, fan_in=self.linear2.in_features)
        for linear in (self.linear_value, self.linear_misc, self.linear_moremisc):
            if linear is not None:
                init_weights(linear.weight, "identity", 1.0)
                init_weights(linear.bias, "identity", 0.2, fan_in=linear.in_features)
        init_weights(self.conv_ownership.weight, "identity", 0.2)
        if self.training_heads:
            for spatial in (self.conv_scoring, self.conv_futurepos, self.conv_seki):
                init_weights(spatial.weight, "identity", 0.2)
            self.score_belief.initialize(activation)


class Heads(nn.Module):
    """Trunk-tip norm + activation and the policy and value heads that read it."""

    def __init__(self, config: ModelConfig, layers: _Layers, tip: nn.Module, pos_len: int):
        super().__init__()
        self.norm = tip
        self.act = layers.act()
        self.policy = PolicyHead(config, layers)
        self.value = ValueHead(config, layers, pos_len)

    def forward(self, x: Tensor, m: MaskInfo, input_global: Tensor) -> ModelOutput:
        t = self.act(self.norm(x, m))
        if torch.is_autocast_enabled(t.device.type):
            # Under mixed precision the heads still run in float32, as KataGo's do: score
            # beliefs and large logits need the range.
            with torch.autocast(t.device.type, enabled=False):
                m32 = MaskInfo(m.mask.float(), m.count.float(), m.total.float(), m.full)
                return self._heads(t.float(), m32, input_global.float())
        return self._heads(t, m, input_global)

    def _heads(self, t: Tensor, m: MaskInfo, input_global: Tensor) -> ModelOutput:
        return ModelOutput(policy=self.policy(t, m), **self.value(t, m, input_global))


def _trunk_tip(config: ModelConfig, layers: _Layers) -> nn.Module:
    final_scale = 1.0 / math.sqrt(len(config.blocks) + 1.0)
    if config.trunk_tip == "norm":
        return layers.norm(config.trunk_channels, fixed_scale=final_scale, trunk_final=True)
    if config.trunk_tip == "bias":
        return layers.bias(config.trunk_channels, fixed_scale=final_scale)
    return RMSNormTip(config.trunk_channels, config.trunk_tip == "rmsnorm_spatial", config.trunk_tip_eps)


# ------------------------------------------------------------------------------------------------


class Model(nn.Module):
    """KataGo's net. Input: spatial N x 22 x H x W (plane 0 = on-board mask) and global N x 19.

    `pos_len` only sizes the score-belief head (its bins cover +-(pos_len^2 + 60) points), so
    train on boards of at most pos_len x pos_len. `init=False` skips KataGo's initialisation
    (used when every weight is about to be loaded).
    """

    def __init__(self, config: ModelConfig, pos_len: int = 19, init: bool = True):
        super().__init__()
        self.config = config
        self.pos_len = pos_len
        layers = _Layers(config)
        c = config.trunk_channels
        self.conv_spatial = conv(NUM_SPATIAL_INPUTS, c, config.initial_conv_size)
        self.linear_global = nn.Linear(NUM_GLOBAL_INPUTS, c, bias=False)
        self.blocks = nn.ModuleList(build_block(spec, c, layers, 1.0 / math.sqrt(i + 1.0))
                                    for i, spec in enumerate(config.blocks))
        self.heads = Heads(config, layers, _trunk_tip(config, layers), pos_len)
        self.intermediate_heads = None
        if config.intermediate_head_blocks:
            tip = layers.norm(c, trunk_final=True)
            self.intermediate_heads = Heads(config, layers, tip, pos_len)
        if init:
            self.initialize()

    def forward(self, input_spatial: Tensor, input_global: Tensor) -> ModelOutput:
        m = MaskInfo.of(input_spatial)
        x = self.conv_spatial(input_spatial) + self.linear_global(input_global)[:, :, None, None]
        intermediate = None
        for i, block in enumerate(self.blocks):
            x = x + block(x, m)
            if i + 1 == self.config.intermediate_head_blocks:
                intermediate = self.intermediate_heads(x, m, input_global)
        return self.heads(x, m, input_global)._replace(intermediate=intermediate)

    def initialize(self) -> None:
        """KataGo's initialisation (architecture §3 'Initialization')."""
        kind, activation = self.config.norm_kind, self.config.activation
        init_weights(self.conv_spatial.weight, activation, 0.8)
        init_weights(self.linear_global.weight, activation, 0.6)
        fixup_scale = 1.0 / math.sqrt(len(self.blocks))
        for block in self.blocks:
            _initialize_block(block, kind, activation, fixup_scale)
        for heads in (self.heads, self.intermediate_heads):
            if heads is not None:
                heads.policy.initialize(activation)
                heads.value.initialize(activation)

    def engine_output(self, out: ModelOutput) -> EngineOutput:
        """Select the heads a model file exports (policy channels main + optimistic, 6 score
        values), so evaluators treat nets from files and nets built here alike."""
        names = self.config.policy_channel_names
        wanted = ["main", "optimistic"] + [q for q in ("q_winloss", "q_score") if q in names]
        policy = out.policy[:, [names.index(n) for n in wanted if n in names]]
        score = out.misc[:, :4]
        if out.moremisc is not None:
            score = torch.cat((score, out.moremisc[:, :2]), dim=1)
        return EngineOutput(policy, out.value, score, out.ownership)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
