"""Parse a decompressed KataGo model file into a `ModelConfig` and the weights of our `Model`.

Record by record as KataGo's engine reads it (`cpp/neuralnet/desc.cpp`, model-file-format.md
§3-§8), checking every channel count against its neighbours the way the engine does, plus the
few extra things our model needs (e.g. transformer norms as wide as their block). Batch-norm
records are folded into a per-channel scale and bias exactly as the engine folds them
(scale / sqrt(variance + epsilon), bias - scale * mean), so outputs match the engine's.

Supported: model versions 8..17 (input features V7). Refused as unsupported, with the reason:
older versions (other input features), metadata-encoder nets, dilated or non-square convs,
grouped RMSNorm, mixed activation kinds within one net.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np
import torch

from .model import NUM_GLOBAL_INPUTS, NUM_SPATIAL_INPUTS
from .modelconfigs import (AttentionSpec, BlockSpec, FFNSpec, ModelConfig, NestedBlockSpec,
                           OutputMultipliers, ResBlockSpec, multipliers_for_version)
from .modelfile_stream import ModelFileError, TokenReader

OLDEST_VERSION = 8     # first version with input features V7
LATEST_VERSION = 17    # KataGo v1.17.2's latestModelVersionImplemented
MAX_NAME_LENGTH = 96

ACTIVATION_TOKENS = {"ACTIVATION_IDENTITY": "identity", "ACTIVATION_RELU": "relu",
                     "ACTIVATION_MISH": "mish", "ACTIVATION_SILU": "silu"}


@dataclass(frozen=True)
class FileHeader:
    """The fields in front of the trunk (file format §3)."""

    name: str
    version: int
    multipliers: OutputMultipliers     # from the file for version >= 13, else the engine's defaults
    meta_encoder_version: int          # 0: no SGF-metadata encoder
    prefer_pass_alive_under_suicide: bool


@dataclass(frozen=True)
class ParsedModel:
    header: FileHeader
    config: ModelConfig
    state: dict                        # state dict for Model(config)
    num_parameters: int                # as KataGo counts them (batch-norm statistics excluded)
    policy_channels: int               # policy output channels in the file (1, 2 or 4)
    score_values: int                  # value-head score outputs (4 before version 9, else 6)
    trunk_norm_kind: int               # 0: batch-norm record at the trunk tip, 1: RMSNorm
    unread_bytes: int                  # non-whitespace bytes after the value head
    binary_floats: bool                # weights were @BIN@ blocks (else text)


class _Rec(NamedTuple):
    """Shape facts of one parsed layer record, kept for the channel checks."""

    name: str
    offset: int        # where the record starts
    c_in: int          # channels in (conv, matmul) or channel count (norms, biases)
    c_out: int
    size: int = 1      # conv kernel size


def is_valid_model_name(name: str) -> bool:
    """KataGo puts the name in cache file names: 1..96 characters of [A-Za-z0-9_-]."""
    return 0 < len(name) <= MAX_NAME_LENGTH and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)


class _Parser:
    def __init__(self, reader: TokenReader, version: int):
        self.r = reader
        self.version = version
        self.state: dict[str, torch.Tensor] = {}
        self.num_parameters = 0
        self.activations: list[tuple[str, str, int]] = []   # (layer, kind, offset)

    # -- checks -------------------------------------------------------------------------------

    def expect(self, rec: _Rec, what: str, actual: int, expected: int, against: str) -> None:
        if actual != expected:
            raise self.r.error(f"{what} ({actual}) != {against} ({expected})", rec.name, rec.offset)

    def _put(self, key: str, array: np.ndarray) -> None:
        self.state[key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    def _floats(self, count: int, layer: str, learned: bool = True) -> np.ndarray:
        if learned:
            self.num_parameters += count
        return self.r.floats(count, layer)

    # -- layer records (file format §4) ----------------------------------------------------------

    def conv(self, key: str, context: str) -> _Rec:
        r = self.r
        start = r._peek_start()
        name = r.token(context, "conv layer name")
        ky, kx = r.int(name, "conv y size"), r.int(name, "conv x size")
        c_in, c_out = r.int(name, "conv in channels"), r.int(name, "conv out channels")
        dy, dx = r.int(name, "conv y dilation"), r.int(name, "conv x dilation")
        if ky <= 0 or kx <= 0 or ky % 2 == 0 or kx % 2 == 0:
            raise r.error(f"convolution sizes must be odd and positive, found {ky}x{kx}", name, start)
        if c_in <= 0 or c_out <= 0:
            raise r.error("numbers of in and out channels must be positive", name, start)
        if dy <= 0 or dx <= 0:
            raise r.error("dilation factors must be positive", name, start)
        if (dy, dx) != (1, 1):
            raise r.error(f"dilated convolutions ({dy}x{dx}) are not supported", name, start)
        if ky != kx:
            raise r.error(f"non-square convolutions ({ky}x{kx}) are not supported", name, start)
        weights = self._floats(ky * kx * c_in * c_out, name)
        # File order y, x, in, out (out fastest); torch wants out, in, y, x.
        self._put(key, weights.reshape(ky, kx, c_in, c_out).transpose(3, 2, 0, 1))
        return _Rec(name, start, c_in, c_out, ky)

    def norm(self, key: str, context: str) -> _Rec:
        """A batch-norm record, folded into our NormMask's gamma (scale) and beta."""
        r = self.r
        start = r._peek_start()
        name = r.token(context, "batch norm layer name")
        channels = r.int(name, "batch norm channels", minimum=1)
        eps = r.float(name, "batch norm epsilon")
        if not np.float32(eps) > 0:
            raise r.error(f"batch norm epsilon ({eps}) is not positive", name, start)
        has_scale, has_bias = r.flag(name, "hasScale"), r.flag(name, "hasBias")
        mean = self._floats(channels, name, learned=False)
        variance = self._floats(channels, name, learned=False)
        scale = self._floats(channels, name) if has_scale else np.ones(channels, np.float32)
        bias = self._floats(channels, name) if has_bias else np.zeros(channels, np.float32)
        merged_scale = scale / np.sqrt(variance + np.float32(eps))
        self._put(key + ".gamma", merged_scale)
        self._put(key + ".beta", bias - merged_scale * mean)
        return _Rec(name, start, channels, channels)

    def activation(self, context: str) -> str:
        r = self.r
        start = r._peek_start()
        name = r.token(context, "activation layer name")
        kind = "relu"   # before version 11 activations carry no kind and are all ReLU
        if self.version >= 11:
            token = r.token(name, "activation kind")
            if token not in ACTIVATION_TOKENS:
                raise r.error(f"unknown activation {token!r}", name, start)
            kind = ACTIVATION_TOKENS[token]
        self.activations.append((name, kind, start))
        return kind

    def matmul(self, key: str, context: str) -> _Rec:
        r = self.r
        start = r._peek_start()
        name = r.token(context, "matmul layer name")
        c_in = r.int(name, "matmul in channels", minimum=1)
        c_out = r.int(name, "matmul out channels", minimum=1)
        weights = self._floats(c_in * c_out, name)
        self._put(key, weights.reshape(c_in, c_out).T)   # file: in-major; torch Linear: out x in
        return _Rec(name, start, c_in, c_out)

    def matbias(self, key: str, context: str) -> _Rec:
        r = self.r
        start = r._peek_start()
        name = r.token(context, "bias layer name")
        channels = r.int(name, "bias channels", minimum=1)
        self._put(key, self._floats(channels, name))
        return _Rec(name, start, channels, channels)

    def rmsnorm_tip(self, key: str, context: str) -> tuple[_Rec, float, bool]:
        r = self.r
        start = r._peek_start()
        name = r.token(context, "RMSNorm layer name")
        channels = r.int(name, "RMSNorm channels", minimum=1)
        eps = r.float(name, "RMSNorm epsilon")
        if not 0 < eps <= 1:
            raise r.error(f"RMSNorm epsilon ({eps}) must be in (0, 1]", name, start)
        spatial = r.flag(name, "RMSNorm spatial flag")
        if r.int(name, "RMSNorm channel group size") != 0:
            raise r.error("grouped spatial RMSNorm (cgroupSize != 0) is not supported", name, start)
        self._put(key + ".gamma", self._floats(channels, name))
        self._put(key + ".beta", self._floats(channels, name))
        return _Rec(name, start, channels, channels), eps, spatial

    def rmsnorm_lite(self, key: str, context: str, width: int) -> float:
        r = self.r
        start = r._peek_start()
        name = r.token(context, "transformer RMSNorm name")
        channels = r.int(name, "transformer RMSNorm channels", minimum=1)
        eps = r.float(name, "transformer RMSNorm epsilon")
        if not 0 < eps <= 1:
            raise r.error(f"RMSNorm epsilon ({eps}) must be in (0, 1]", name, start)
        self._put(key, self._floats(channels, name))
        self.expect(_Rec(name, start, channels, channels), "numChannels", channels, width, "block width")
        return eps

    # -- blocks (file format §5) -------------------------------------------------------------------

    def blocks(self, prefix: str, context: str, count: int, width: int) -> tuple[BlockSpec, ...]:
        specs = []
        for i in range(count):
            start = self.r._peek_start()
            kind = self.r.token(context, "block kind")
            key = f"{prefix}.{i}"
            if kind in ("ordinary_block", "gpool_block"):
                specs.append(self.res_block(key, width, kind == "gpool_block"))
            elif kind == "nested_bottleneck_block":
                specs.append(self.nested_block(key, width))
            elif kind == "transformer_attention_block":
                specs.append(self.attention_block(key, width))
            elif kind == "transformer_ffn_block":
                specs.append(self.ffn_block(key, width))
            else:
                raise self.r.error(f"unknown block kind {kind[:60]!r}", context, start)
        return tuple(specs)

    def res_block(self, key: str, width: int, gpool: bool) -> ResBlockSpec:
        name = self.r.token(None, "block name")
        pre = self.norm(f"{key}.norm1", name)
        self.activation(name)
        regular = self.conv(f"{key}.conv1.weight", name)
        self.expect(regular, "regularConv.inChannels", regular.c_in, pre.c_in, "preBN.numChannels")
        gpool_channels = 0
        if gpool:
            gconv = self.conv(f"{key}.gpool.conv.weight", name)
            self.expect(gconv, "gpoolConv.inChannels", gconv.c_in, pre.c_in, "preBN.numChannels")
            gnorm = self.norm(f"{key}.gpool.norm", name)
            self.expect(gnorm, "gpoolBN.numChannels", gnorm.c_in, gconv.c_out, "gpoolConv.outChannels")
            self.activation(name)
            to_bias = self.matmul(f"{key}.gpool.linear.weight", name)
            self.expect(to_bias, "gpoolToBiasMul.inChannels", to_bias.c_in, 3 * gnorm.c_in,
                        "gpoolBN.numChannels*3")
            self.expect(to_bias, "gpoolToBiasMul.outChannels", to_bias.c_out, regular.c_out,
                        "regularConv.outChannels")
            self._same_size(gconv, regular)
            gpool_channels = gconv.c_out
        mid = self.norm(f"{key}.norm2", name)
        self.expect(mid, "midBN.numChannels", mid.c_in, regular.c_out, "regularConv.outChannels")
        self.activation(name)
        final = self.conv(f"{key}.conv2.weight", name)
        self.expect(final, "finalConv.inChannels", final.c_in, mid.c_in, "midBN.numChannels")
        self.expect(pre, "preBN.numChannels", pre.c_in, width, "trunk channels")
        self.expect(final, "finalConv.outChannels", final.c_out, width, "trunk channels")
        self._same_size(final, regular)
        return ResBlockSpec(regular.c_out, gpool_channels, regular.size)

    def _same_size(self, conv: _Rec, reference: _Rec) -> None:
        if conv.size != reference.size:
            raise self.r.error(f"convs of one block with different sizes ({conv.size} vs "
                               f"{reference.size}) are not supported", conv.name, conv.offset)

    def nested_block(self, key: str, width: int) -> NestedBlockSpec:
        name = self.r.token(None, "block name")
        count = self.r.int(name, "number of inner blocks", minimum=1)
        pre = self.norm(f"{key}.normp", name)
        self.activation(name)
        down = self.conv(f"{key}.convp.weight", name)
        self.expect(down, "preConv.inChannels", down.c_in, pre.c_in, "preBN.numChannels")
        inner = self.blocks(f"{key}.blocks", name, count, down.c_out)
        post = self.norm(f"{key}.normq", name)
        self.expect(post, "postBN.numChannels", post.c_in, down.c_out, "preConv.outChannels")
        self.activation(name)
        up = self.conv(f"{key}.convq.weight", name)
        self.expect(up, "postConv.inChannels", up.c_in, post.c_in, "postBN.numChannels")
        self.expect(pre, "preBN.numChannels", pre.c_in, width, "trunk channels")
        self.expect(up, "postConv.outChannels", up.c_out, width, "trunk channels")
        self._same_size(up, down)
        return NestedBlockSpec(down.c_out, inner, down.size)

    def attention_block(self, key: str, width: int) -> AttentionSpec:
        r = self.r
        start = r._peek_start()
        name = r.token(None, "block name")
        heads, kv_heads = r.int(name, "numHeads", 1), r.int(name, "numKVHeads", 1)
        q_dim, v_dim = r.int(name, "qHeadDim", 1), r.int(name, "vHeadDim", 1)
        use_rope, learnable = r.flag(name, "useRope"), r.flag(name, "learnableRope")
        if heads % kv_heads:
            raise r.error("numHeads must be divisible by numKVHeads", name, start)
        if use_rope and q_dim % 2:
            raise r.error(f"qHeadDim ({q_dim}) must be even when RoPE is used", name, start)
        eps = self.rmsnorm_lite(f"{key}.norm_weight", name, width)
        shapes = (("q_proj", heads * q_dim, "numHeads*qHeadDim"), ("k_proj", kv_heads * q_dim, "numKVHeads*qHeadDim"),
                  ("v_proj", kv_heads * v_dim, "numKVHeads*vHeadDim"))
        for proj, out, against in shapes:
            rec = self.matmul(f"{key}.{proj}.weight", name)
            self.expect(rec, f"{proj}.outChannels", rec.c_out, out, against)
            self.expect(rec, f"{proj}.inChannels", rec.c_in, width, "trunk channels")
        out_proj = self.matmul(f"{key}.out_proj.weight", name)
        self.expect(out_proj, "outProj.inChannels", out_proj.c_in, heads * v_dim, "numHeads*vHeadDim")
        self.expect(out_proj, "outProj.outChannels", out_proj.c_out, width, "trunk channels")
        rope, theta = "none", 100.0
        if use_rope and learnable:
            rope = "learnable"
            rope_start = r._peek_start()
            rope_name = r.token(name, "rope frequencies name")
            rec = _Rec(rope_name, rope_start, 0, 0)
            self.expect(rec, "ropeNumKVHeads", r.int(rope_name, "rope KV heads"), kv_heads, "numKVHeads")
            self.expect(rec, "ropeNumPairs", r.int(rope_name, "rope pairs"), q_dim // 2, "qHeadDim/2")
            self.expect(rec, "rope freq dim2", r.int(rope_name, "rope freq dim2"), 2, "2")
            freqs = self._floats(kv_heads * (q_dim // 2) * 2, rope_name)
            self._put(f"{key}.rope_freqs", freqs.reshape(kv_heads, q_dim // 2, 2))
        elif use_rope:
            rope = "fixed"
            rope_name = r.token(name, "rope theta name")
            theta = r.float(rope_name, "rope theta")
            if not theta > 0:
                raise r.error(f"rope theta ({theta}) must be positive", rope_name)
        return AttentionSpec(heads, kv_heads, q_dim, v_dim, rope=rope, rope_theta=theta, norm_eps=eps)

    def ffn_block(self, key: str, width: int) -> FFNSpec:
        r = self.r
        start = r._peek_start()
        name = r.token(None, "block name")
        channels = r.int(name, "FFN channels", 1)
        ffn = r.int(name, "FFN hidden channels", 1)
        swiglu = r.flag(name, "useSwiGLU")
        self.expect(_Rec(name, start, channels, channels), "numChannels", channels, width, "trunk channels")
        eps = self.rmsnorm_lite(f"{key}.norm_weight", name, width)
        for layer, c_in, c_out in (("linear1", channels, ffn), ("gate", channels, ffn), ("linear2", ffn, channels)):
            if layer == "gate" and not swiglu:
                continue
            rec = self.matmul(f"{key}.{layer}.weight", name)
            self.expect(rec, f"{layer}.inChannels", rec.c_in, c_in, "expected width")
            self.expect(rec, f"{layer}.outChannels", rec.c_out, c_out, "expected width")
        return FFNSpec(ffn, swiglu, norm_eps=eps)


def _header(r: TokenReader) -> FileHeader:
    name = r.token(None, "model name")
    if not is_valid_model_name(name):
        raise r.error(f"model name {name[:120]!r} must be 1..96 characters of [A-Za-z0-9_-]", None, 0)
    start = r._peek_start()
    version = r.int(name, "model version")
    if version < 3:
        raise r.error(f"model version {version} is invalid or too old for KataGo", name, start)
    if version < OLDEST_VERSION:
        raise r.error(f"model version {version} uses input features older than V7; only versions "
                      f"{OLDEST_VERSION}..{LATEST_VERSION} are supported", name, start)
    if version > LATEST_VERSION:
        raise r.error(f"model version {version} is newer than the latest supported "
                      f"({LATEST_VERSION})", name, start)
    for what, expected in (("numInputChannels", NUM_SPATIAL_INPUTS), ("numInputGlobalChannels", NUM_GLOBAL_INPUTS)):
        start = r._peek_start()
        found = r.int(name, what)
        if found != expected:
            raise r.error(f"{what} is {found}, input features V7 need {expected}", name, start)
    multipliers = multipliers_for_version(version)
    if version >= 13:
        values = []
        for field in ("td_score", "score_mean", "score_stdev", "lead", "variance_time",
                      "shortterm_value_error", "shortterm_score_error"):
            start = r._peek_start()
            value = r.float(name, f"{field} multiplier")
            if not value > 0:
                raise r.error(f"{field} multiplier ({value}) must be positive", name, start)
            values.append(value)
        multipliers = OutputMultipliers(*values)
    meta, prefer_pass_alive = 0, False
    if version >= 15:
        start = r._peek_start()
        meta = r.int(name, "metaEncoderVersion")
        if meta < 0 or meta > 1:
            raise r.error(f"metaEncoderVersion {meta} is not implemented", name, start)
        if meta:
            raise r.error("nets with an SGF-metadata encoder are not supported", name, start)
        prefer_pass_alive = r.flag(name, "preferPassAliveUnderSuicideRules")
        for i in range(6):
            r.reserved_zero(name, f"reserved header field {i + 1}")
    return FileHeader(name, version, multipliers, meta, prefer_pass_alive)


def parse_model(data: bytes, path: str, binary_floats: bool) -> ParsedModel:
    """Parse one decompressed model file. Raises ModelFileError naming the layer and byte offset."""
    r = TokenReader(data, path, binary_floats)
    header = _header(r)
    version = header.version
    p = _Parser(r, version)

    # Trunk (file format §6).
    trunk = r.token(None, "trunk name")
    num_blocks = r.int(trunk, "number of blocks", minimum=1)
    start = r._peek_start()
    c, mid, regular = r.int(trunk, "trunk channels"), r.int(trunk, "mid channels"), r.int(trunk, "regular channels")
    r.int(trunk, "dilated channels")   # unused by the engine
    gpool = r.int(trunk, "gpool channels")
    if min(c, mid, regular, gpool) <= 0:
        raise r.error("all numbers of channels must be positive", trunk, start)
    tip_kind = 0
    if version >= 15:
        start = r._peek_start()
        tip_kind = r.int(trunk, "trunk norm kind")
        if tip_kind not in (0, 1):
            raise r.error(f"unknown trunk norm kind {tip_kind}", trunk, start)
        for i in range(5):
            r.reserved_zero(trunk, f"reserved trunk field {i + 1}")
    initial = p.conv("conv_spatial.weight", trunk)
    p.expect(initial, "initialConv.inChannels", initial.c_in, NUM_SPATIAL_INPUTS, "numInputChannels")
    p.expect(initial, "initialConv.outChannels", initial.c_out, c, "trunkNumChannels")
    initial_global = p.matmul("linear_global.weight", trunk)
    p.expect(initial_global, "initialMatMul.inChannels", initial_global.c_in, NUM_GLOBAL_INPUTS, "numInputGlobalChannels")
    p.expect(initial_global, "initialMatMul.outChannels", initial_global.c_out, c, "trunkNumChannels")
    blocks = p.blocks("blocks", trunk, num_blocks, c)
    trunk_tip, tip_eps = "norm", 1e-6
    if tip_kind == 0:
        tip = p.norm("heads.norm", trunk)
    else:
        tip, tip_eps, spatial = p.rmsnorm_tip("heads.norm", trunk)
        trunk_tip = "rmsnorm_spatial" if spatial else "rmsnorm"
    p.expect(tip, "trunk tip numChannels", tip.c_in, c, "trunkNumChannels")
    p.activation(trunk)

    policy_channels, pass_activation, p1, g1 = _policy_head(p, c)
    v1, v2, score_values = _value_head(p, c)
    activation = _check_activations(p)
    try:
        config = ModelConfig(
            version=version, trunk_channels=c, mid_channels=mid, gpool_channels=gpool,
            blocks=blocks, p1_channels=p1, g1_channels=g1, v1_channels=v1, v2_channels=v2,
            norm_kind="affine", activation=activation, initial_conv_size=initial.size,
            trunk_tip=trunk_tip, trunk_tip_eps=tip_eps, policy_outputs=policy_channels,
            pass_hidden=version >= 15, pass_activation=pass_activation or "",
            misc_outputs=4, moremisc_outputs=score_values - 4, training_heads=False,
            multipliers=header.multipliers)
    except ValueError as e:
        raise ModelFileError(path, f"unsupported structure: {e}") from None
    return ParsedModel(header, config, p.state, p.num_parameters, policy_channels, score_values,
                       tip_kind, r.unread_bytes(), binary_floats)


def _policy_head(p: _Parser, c: int) -> tuple[int, Optional[str], int, int]:
    """Policy head records (file format §7): (channels, pass activation, p1, g1)."""
    r, version = p.r, p.version
    name = r.token(None, "policy head name")
    if version >= 17:
        start = r._peek_start()
        channels = r.int(name, "policyOutChannels")
        if channels not in (2, 4):
            raise r.error(f"invalid policyOutChannels {channels}", name, start)
        for i in range(3):
            r.reserved_zero(name, f"reserved policy field {i + 1}")
    else:
        channels = 4 if version == 16 else 2 if version >= 12 else 1
    key = "heads.policy"
    p1 = p.conv(f"{key}.conv1p.weight", name)
    g1 = p.conv(f"{key}.conv1g.weight", name)
    g1_norm = p.norm(f"{key}.biasg", name)
    p.activation(name)
    to_bias = p.matmul(f"{key}.linear_g.weight", name)
    p1_norm = p.norm(f"{key}.bias2", name)
    p.activation(name)
    p2 = p.conv(f"{key}.conv2p.weight", name)
    for rec in (p1, g1, p2):
        if rec.size != 1:
            raise r.error(f"{rec.size}x{rec.size} policy head convs are not supported (1x1 only)",
                          rec.name, rec.offset)
    p.expect(p1, "p1Conv.inChannels", p1.c_in, c, "trunkNumChannels")
    p.expect(g1, "g1Conv.inChannels", g1.c_in, c, "trunkNumChannels")
    p.expect(p1_norm, "p1BN.numChannels", p1_norm.c_in, p1.c_out, "p1Conv.outChannels")
    p.expect(g1_norm, "g1BN.numChannels", g1_norm.c_in, g1.c_out, "g1Conv.outChannels")
    p.expect(to_bias, "gpoolToBiasMul.inChannels", to_bias.c_in, 3 * g1.c_out, "g1BN.numChannels*3")
    p.expect(to_bias, "gpoolToBiasMul.outChannels", to_bias.c_out, p1.c_out, "p1BN.numChannels")
    p.expect(p2, "p2Conv.inChannels", p2.c_in, p1.c_out, "p1BN.numChannels")
    p.expect(p2, "p2Conv.outChannels", p2.c_out, channels, "policy channels")
    to_pass = p.matmul(f"{key}.linear_pass.weight", name)
    p.expect(to_pass, "gpoolToPassMul.inChannels", to_pass.c_in, 3 * g1.c_out, "g1BN.numChannels*3")
    pass_activation = None
    if version >= 15:
        pass_bias = p.matbias(f"{key}.linear_pass.bias", name)
        pass_activation = p.activation(name)
        p.activations.pop()   # checked separately: v14-as-15 exports use identity here
        to_pass2 = p.matmul(f"{key}.linear_pass2.weight", name)
        p.expect(to_pass, "gpoolToPassMul.outChannels", to_pass.c_out, pass_bias.c_in, "gpoolToPassBias.numChannels")
        p.expect(to_pass2, "gpoolToPassMul2.inChannels", to_pass2.c_in, to_pass.c_out, "gpoolToPassMul.outChannels")
        p.expect(to_pass, "gpoolToPassMul.outChannels", to_pass.c_out, p1.c_out, "p1Conv.outChannels")
        p.expect(to_pass2, "gpoolToPassMul2.outChannels", to_pass2.c_out, channels, "policy channels")
    else:
        p.expect(to_pass, "gpoolToPassMul.outChannels", to_pass.c_out, channels, "policy channels")
    return channels, pass_activation, p1.c_out, g1.c_out


def _value_head(p: _Parser, c: int) -> tuple[int, int, int]:
    """Value head records (file format §8): (v1, v2, number of score values)."""
    r, version = p.r, p.version
    name = r.token(None, "value head name")
    if version >= 17:
        for i in range(3):
            r.reserved_zero(name, f"reserved value field {i + 1}")
    key = "heads.value"
    v1 = p.conv(f"{key}.conv1.weight", name)
    v1_norm = p.norm(f"{key}.bias1", name)
    p.activation(name)
    v2 = p.matmul(f"{key}.linear2.weight", name)
    v2_bias = p.matbias(f"{key}.linear2.bias", name)
    p.activation(name)
    v3 = p.matmul(f"{key}.linear_value.weight", name)
    v3_bias = p.matbias(f"{key}.linear_value.bias", name)
    sv3_w = p.matmul(f"{key}.sv3.weight", name)
    sv3_b = p.matbias(f"{key}.sv3.bias", name)
    own = p.conv(f"{key}.conv_ownership.weight", name)
    for rec in (v1, own):
        if rec.size != 1:
            raise r.error(f"{rec.size}x{rec.size} value head convs are not supported (1x1 only)",
                          rec.name, rec.offset)
    p.expect(v1, "v1Conv.inChannels", v1.c_in, c, "trunkNumChannels")
    p.expect(v1_norm, "v1BN.numChannels", v1_norm.c_in, v1.c_out, "v1Conv.outChannels")
    p.expect(v2, "v2Mul.inChannels", v2.c_in, 3 * v1.c_out, "v1BN.numChannels*3")
    p.expect(v2_bias, "v2Bias.numChannels", v2_bias.c_in, v2.c_out, "v2Mul.outChannels")
    p.expect(v3, "v3Mul.inChannels", v3.c_in, v2.c_out, "v2Mul.outChannels")
    p.expect(v3, "v3Mul.outChannels", v3.c_out, 3, "3")
    p.expect(v3_bias, "v3Bias.numChannels", v3_bias.c_in, 3, "3")
    p.expect(sv3_w, "sv3Mul.inChannels", sv3_w.c_in, v2.c_out, "v2Mul.outChannels")
    score_values = 6 if version >= 9 else 4
    p.expect(sv3_w, "sv3Mul.outChannels", sv3_w.c_out, score_values, str(score_values))
    p.expect(sv3_b, "sv3Bias.numChannels", sv3_b.c_in, score_values, str(score_values))
    p.expect(own, "vOwnershipConv.inChannels", own.c_in, v1.c_out, "v1Conv.outChannels")
    p.expect(own, "vOwnershipConv.outChannels", own.c_out, 1, "1")
    # Score values 0..3 are KataGo's miscvalue outputs, 4..5 its moremiscvalue outputs.
    weight, bias = p.state.pop(f"{key}.sv3.weight"), p.state.pop(f"{key}.sv3.bias")
    p.state[f"{key}.linear_misc.weight"] = weight[:4].contiguous()
    p.state[f"{key}.linear_misc.bias"] = bias[:4].contiguous()
    if score_values > 4:
        p.state[f"{key}.linear_moremisc.weight"] = weight[4:].contiguous()
        p.state[f"{key}.linear_moremisc.bias"] = bias[4:].contiguous()
    return v1.c_out, v2.c_out, score_values


def _check_activations(p: _Parser) -> str:
    """One activation kind for the whole net (the pass MLP's may differ); returns it."""
    name, kind, _ = p.activations[0]
    for layer, other, offset in p.activations[1:]:
        if other != kind:
            raise p.r.error(f"activation {other} differs from the net's {kind} (first at {name!r}); "
                            "mixed activations are not supported", layer, offset)
    return kind
