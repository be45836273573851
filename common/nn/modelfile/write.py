"""Encode a `Model` as the record stream of a KataGo model file.

Version 15 (the default) is what KataGo's exporter writes for every conv config, 17 what it
writes for transformer configs; both load in KataGo v1.17.2. Layout per model-file-format.md
§3-§9: norms become batch-norm records with epsilon 1e-20 (running statistics for real batch
norms, else mean 0 and variance 1), the policy head exports its main and short-term optimistic
channels, the value head its 3 outcome logits, the first 4 misc and first 2 more-misc values and
ownership. Training-only heads and intermediate heads are not exported. Record names are our
module paths under `model.`; the engine only uses names in messages.

Nets read from older files are upgraded the way KataGo's `-export-14-as-15` does: a single-matmul
pass head becomes linear_pass (rows padded with zeros) + zero bias + identity + a selecting
linear_pass2, a net without an optimistic channel repeats its main channel, and a version-8 net
gets zero weights for the two short-term error outputs it never had. Raw outputs stay identical.

Older versions (8..14, 16) can be written too when the net fits them (a single-matmul pass head,
the engine's default multipliers for <= 12, ReLU only for <= 10); that is how the tests reach the
reader's code for every version.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from goloop.common.nn.model import (
    AttentionBlock,
    FFNBlock,
    Model,
    NestedBottleneckBlock,
    NormMask,
    ResBlock,
    RMSNormTip,
)
from goloop.common.nn.modelconfigs import LEGACY_MULTIPLIERS
from goloop.common.nn.modelfile.read import LATEST_VERSION, OLDEST_VERSION, is_valid_model_name
from goloop.common.nn.modelfile.stream import RecordWriter

BN_EPSILON = 1e-20
_ACTIVATION_TOKENS = ((nn.ReLU, "ACTIVATION_RELU"), (nn.Mish, "ACTIVATION_MISH"),
                      (nn.SiLU, "ACTIVATION_SILU"), (nn.Identity, "ACTIVATION_IDENTITY"))


def _array(t) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).numpy()


class _Encoder:
    def __init__(self, writer: RecordWriter, version: int):
        self.w = writer
        self.version = version

    def tokens(self, *values) -> None:
        for value in values:
            self.w.token(value)

    def conv(self, name: str, weight: torch.Tensor) -> None:
        c_out, c_in, ky, kx = weight.shape
        self.tokens(name, ky, kx, c_in, c_out, 1, 1)
        self.w.floats(_array(weight).transpose(2, 3, 1, 0))   # y, x, in, out

    def norm(self, name: str, norm: NormMask) -> None:
        scale = norm.effective_scale()
        self.tokens(name, norm.channels, BN_EPSILON, int(scale is not None), 1)
        if norm.batch:
            std = norm.running_std.detach().float()
            self.w.floats(_array(norm.running_mean))
            self.w.floats(_array(torch.clamp(std * std - BN_EPSILON, min=BN_EPSILON)))
        else:
            self.w.floats(np.zeros(norm.channels, np.float32))
            self.w.floats(np.full(norm.channels, 1.0 - BN_EPSILON, np.float32))
        if isinstance(scale, torch.Tensor):
            self.w.floats(_array(scale))
        elif scale is not None:
            self.w.floats(np.full(norm.channels, scale, np.float32))
        self.w.floats(_array(norm.beta))

    def activation(self, name: str, module: nn.Module) -> None:
        token = next((t for cls, t in _ACTIVATION_TOKENS if type(module) is cls), None)
        if token is None:
            raise ValueError(f"{name}: activation {type(module).__name__} cannot be exported")
        if self.version >= 11:
            self.tokens(name, token)
        elif token == "ACTIVATION_RELU":
            self.tokens(name)      # before version 11 every activation is an implicit ReLU
        else:
            raise ValueError(f"{name}: model versions before 11 only have ReLU activations")

    def matmul(self, name: str, weight) -> None:
        c_out, c_in = weight.shape
        self.tokens(name, c_in, c_out)
        self.w.floats(_array(weight).T)

    def matbias(self, name: str, bias) -> None:
        self.tokens(name, bias.shape[0])
        self.w.floats(_array(bias))

    # -- blocks ----------------------------------------------------------------------------------

    def block(self, name: str, block: nn.Module) -> None:
        if isinstance(block, ResBlock):
            self.tokens("gpool_block" if block.gpool is not None else "ordinary_block", name)
            self.norm(f"{name}.norm1", block.norm1)
            self.activation(f"{name}.act1", block.act1)
            self.conv(f"{name}.conv1", block.conv1.weight)
            if block.gpool is not None:
                self.conv(f"{name}.gpool.conv", block.gpool.conv.weight)
                self.norm(f"{name}.gpool.norm", block.gpool.norm)
                self.activation(f"{name}.gpool.act", block.gpool.act)
                self.matmul(f"{name}.gpool.linear", block.gpool.linear.weight)
            self.norm(f"{name}.norm2", block.norm2)
            self.activation(f"{name}.act2", block.act2)
            self.conv(f"{name}.conv2", block.conv2.weight)
        elif isinstance(block, NestedBottleneckBlock):
            self.tokens("nested_bottleneck_block", name, len(block.blocks))
            self.norm(f"{name}.normp", block.normp)
            self.activation(f"{name}.actp", block.actp)
            self.conv(f"{name}.convp", block.convp.weight)
            for j, inner in enumerate(block.blocks):
                self.block(f"{name}.blocks.{j}", inner)
            self.norm(f"{name}.normq", block.normq)
            self.activation(f"{name}.actq", block.actq)
            self.conv(f"{name}.convq", block.convq.weight)
        elif isinstance(block, AttentionBlock):
            self.attention(name, block)
        elif isinstance(block, FFNBlock):
            spec = block.spec
            self.tokens("transformer_ffn_block", name, block.norm_weight.shape[0], spec.ffn_channels, int(spec.swiglu))
            self.rmsnorm_lite(f"{name}.norm", block.norm_weight, spec.norm_eps)
            self.matmul(f"{name}.linear1", block.linear1.weight)
            if block.gate is not None:
                self.matmul(f"{name}.gate", block.gate.weight)
            self.matmul(f"{name}.linear2", block.linear2.weight)
        else:
            raise ValueError(f"{name}: block {type(block).__name__} cannot be exported")

    def rmsnorm_lite(self, name: str, weight, eps: float) -> None:
        self.tokens(name, weight.shape[0], eps)
        self.w.floats(_array(weight))

    def attention(self, name: str, block: AttentionBlock) -> None:
        spec = block.spec
        self.tokens("transformer_attention_block", name, spec.num_heads, spec.num_kv_heads,
                    spec.q_head_dim, spec.v_head_dim, int(spec.rope != "none"), int(spec.rope == "learnable"))
        self.rmsnorm_lite(f"{name}.norm1", block.norm_weight, spec.norm_eps)
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            self.matmul(f"{name}.{proj}", getattr(block, proj).weight)
        if spec.rope == "learnable":
            freqs = block.rope_freqs
            self.tokens(f"{name}.rope_freqs", *freqs.shape)
            self.w.floats(_array(freqs))
        elif spec.rope == "fixed":
            self.tokens(f"{name}.rope_theta", spec.rope_theta)

    def trunk(self, model: Model) -> None:
        config, tip = model.config, model.heads.norm
        # M, M - G, G, G: informational for the engine, which only requires them positive.
        regular = max(1, config.mid_channels - config.gpool_channels)
        self.tokens("model.trunk", len(model.blocks), config.trunk_channels, config.mid_channels,
                    regular, config.gpool_channels, config.gpool_channels)
        if self.version >= 15:
            self.tokens(int(isinstance(tip, RMSNormTip)), *[0] * 5)
        elif isinstance(tip, RMSNormTip):
            raise ValueError("an RMSNorm trunk tip needs model version 15 or later")
        self.conv("model.conv_spatial", model.conv_spatial.weight)
        self.matmul("model.linear_global", model.linear_global.weight)
        for i, block in enumerate(model.blocks):
            self.block(f"model.blocks.{i}", block)
        if isinstance(tip, RMSNormTip):
            self.tokens("model.norm_trunkfinal", config.trunk_channels, tip.eps, int(tip.spatial), 0)
            self.w.floats(_array(tip.gamma))
            self.w.floats(_array(tip.beta))
        else:
            self.norm("model.norm_trunkfinal", tip)
        self.activation("model.act_trunkfinal", model.heads.act)

    # -- heads -----------------------------------------------------------------------------------

    def policy_head(self, model: Model) -> None:
        head, config = model.heads.policy, model.config
        rows = _policy_rows(config.policy_channel_names, self.version)
        self.tokens("model.policy_head")
        if self.version >= 17:
            self.tokens(len(rows), 0, 0, 0)
        self.conv("model.policy_head.conv1p", head.conv1p.weight)
        self.conv("model.policy_head.conv1g", head.conv1g.weight)
        self.norm("model.policy_head.biasg", head.biasg)
        self.activation("model.policy_head.actg", head.actg)
        self.matmul("model.policy_head.linear_g", head.linear_g.weight)
        self.norm("model.policy_head.bias2", head.bias2)
        self.activation("model.policy_head.act2", head.act2)
        self.conv("model.policy_head.conv2p", head.conv2p.weight[rows])
        if self.version < 15:
            if head.linear_pass2 is not None:
                raise ValueError("a pass MLP (version 15+) cannot be written as an older version")
            self.matmul("model.policy_head.linear_pass", head.linear_pass.weight[rows])
        elif head.linear_pass2 is not None:
            self.matmul("model.policy_head.linear_pass", head.linear_pass.weight)
            self.matbias("model.policy_head.linear_pass_bias", head.linear_pass.bias)
            self.activation("model.policy_head.act_pass", head.act_pass)
            self.matmul("model.policy_head.linear_pass2", head.linear_pass2.weight[rows])
        else:
            self._upgraded_pass_head(head.linear_pass.weight, rows, config.p1_channels)

    def _upgraded_pass_head(self, legacy: torch.Tensor, rows: list[int], p1: int) -> None:
        """A single-matmul pass head as an identity "MLP" (see the module docstring)."""
        if len(rows) > p1:
            raise ValueError(f"cannot upgrade the pass head: {len(rows)} outputs > p1 ({p1})")
        first = torch.zeros(p1, legacy.shape[1])
        first[:len(rows)] = legacy.detach().float().cpu()[rows]
        select = torch.zeros(len(rows), p1)
        select[range(len(rows)), range(len(rows))] = 1.0
        self.matmul("model.policy_head.linear_pass", first)
        self.matbias("model.policy_head.linear_pass_bias", torch.zeros(p1))
        self.activation("model.policy_head.act_pass", nn.Identity())
        self.matmul("model.policy_head.linear_pass2", select)

    def value_head(self, model: Model) -> None:
        head = model.heads.value
        self.tokens("model.value_head")
        if self.version >= 17:
            self.tokens(0, 0, 0)
        self.conv("model.value_head.conv1", head.conv1.weight)
        self.norm("model.value_head.bias1", head.bias1)
        self.activation("model.value_head.act1", head.act1)
        self.matmul("model.value_head.linear2", head.linear2.weight)
        self.matbias("model.value_head.bias2", head.linear2.bias)
        self.activation("model.value_head.act2", head.act2)
        self.matmul("model.value_head.linear_valuehead", head.linear_value.weight)
        self.matbias("model.value_head.bias_valuehead", head.linear_value.bias)
        weight, bias = head.linear_misc.weight[:4].detach().cpu(), head.linear_misc.bias[:4].detach().cpu()
        if self.version >= 9:     # + short-term value and score error
            if head.linear_moremisc is not None:
                more_w = head.linear_moremisc.weight[:2].detach().cpu()
                more_b = head.linear_moremisc.bias[:2].detach().cpu()
            else:                 # nets from version-8 files never had them
                more_w, more_b = torch.zeros(2, weight.shape[1]), torch.zeros(2)
            weight, bias = torch.cat((weight, more_w)), torch.cat((bias, more_b))
        self.matmul("model.value_head.linear_miscvaluehead", weight)
        self.matbias("model.value_head.bias_miscvaluehead", bias)
        self.conv("model.value_head.conv_ownership", head.conv_ownership.weight)


def _policy_rows(names: tuple[str, ...], version: int) -> list[int]:
    """Which policy outputs become the file's channels: main, optimistic (or main again), q values."""
    main = names.index("main")
    if version <= 11:
        return [main]
    rows = [main, names.index("optimistic") if "optimistic" in names else main]
    has_q = "q_winloss" in names
    if version == 16 and not has_q:
        raise ValueError("model version 16 needs q-value policy channels")
    if has_q and version >= 16:
        rows += [names.index("q_winloss"), names.index("q_score")]
    elif has_q:
        raise ValueError("q-value policy channels can only be written as model version 16 or 17")
    return rows


def encode_model(model: Model, name: str, version: int = 15, binary_floats: bool = True) -> bytes:
    """The uncompressed model file for `model`."""
    if not OLDEST_VERSION <= version <= LATEST_VERSION:
        raise ValueError(f"can only write model versions {OLDEST_VERSION}..{LATEST_VERSION}, not {version}")
    if not is_valid_model_name(name):
        raise ValueError(f"model name {name!r} must be 1..96 characters of [A-Za-z0-9_-]")
    m = model.config.multipliers
    if version <= 12 and m != LEGACY_MULTIPLIERS:
        raise ValueError(f"model version {version} files cannot store this net's output multipliers")
    writer = RecordWriter(binary_floats)
    e = _Encoder(writer, version)
    e.tokens(name, version, 22, 19)
    if version >= 13:
        e.tokens(m.td_score, m.score_mean, m.score_stdev, m.lead, m.variance_time,
                 m.shortterm_value_error, m.shortterm_score_error)
    if version >= 15:
        e.tokens(0, 0, *[0] * 6)   # no metadata encoder, no pass-alive preference, reserved
    e.trunk(model)
    e.policy_head(model)
    e.value_head(model)
    return writer.getvalue()
