"""Layer and block records of KataGo's model file format (model-file-format.md §4-§5).

Each method reads one record the way KataGo's engine does (`cpp/neuralnet/desc.cpp`), stores
its weights under our `Model`'s state-dict key, and checks channel counts against neighbouring
records like the engine, plus what our model needs (e.g. transformer norms as wide as their
block). Batch-norm records are folded into a per-channel scale and bias exactly as the engine
folds them: scale / sqrt(variance + epsilon) and bias - scale * mean, so outputs match the
engine's.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from goloop.common.nn.modelconfigs import (
    AttentionSpec,
    BlockSpec,
    FFNSpec,
    NestedBlockSpec,
    ResBlockSpec,
)
from goloop.common.nn.modelfile.stream import TokenReader

ACTIVATION_TOKENS = {"ACTIVATION_IDENTITY": "identity", "ACTIVATION_RELU": "relu",
                     "ACTIVATION_MISH": "mish", "ACTIVATION_SILU": "silu"}


class Rec(NamedTuple):
    """Shape facts of one parsed layer record, kept for the channel checks."""

    name: str
    offset: int        # where the record starts
    c_in: int          # channels in (conv, matmul) or channel count (norms, biases)
    c_out: int
    size: int = 1      # conv kernel size


class RecordParser:
    """Reads records from a token stream into a state dict, counting learned weights."""

    def __init__(self, reader: TokenReader, version: int):
        self.r = reader
        self.version = version
        self.state: dict[str, torch.Tensor] = {}
        self.num_parameters = 0
        self.activations: list[tuple[str, str, int]] = []   # (layer, kind, offset)

    # -- checks -------------------------------------------------------------------------------

    def expect(self, rec: Rec, what: str, actual: int, expected: int, against: str) -> None:
        if actual != expected:
            raise self.r.error(f"{what} ({actual}) != {against} ({expected})", rec.name, rec.offset)

    def _put(self, key: str, array: np.ndarray) -> None:
        self.state[key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    def _floats(self, count: int, layer: str, learned: bool = True) -> np.ndarray:
        if learned:
            self.num_parameters += count
        return self.r.floats(count, layer)

    # -- layer records (file format §4) ----------------------------------------------------------

    def conv(self, key: str, context: str) -> Rec:
        r = self.r
        start = r.mark()
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
        return Rec(name, start, c_in, c_out, ky)

    def norm(self, key: str, context: str) -> Rec:
        """A batch-norm record, folded into our NormMask's gamma (scale) and beta."""
        r = self.r
        start = r.mark()
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
        return Rec(name, start, channels, channels)

    def activation(self, context: str) -> str:
        r = self.r
        start = r.mark()
        name = r.token(context, "activation layer name")
        kind = "relu"   # before version 11 activations carry no kind and are all ReLU
        if self.version >= 11:
            token = r.token(name, "activation kind")
            if token not in ACTIVATION_TOKENS:
                raise r.error(f"unknown activation {token!r}", name, start)
            kind = ACTIVATION_TOKENS[token]
        self.activations.append((name, kind, start))
        return kind

    def matmul(self, key: str, context: str) -> Rec:
        r = self.r
        start = r.mark()
        name = r.token(context, "matmul layer name")
        c_in = r.int(name, "matmul in channels", minimum=1)
        c_out = r.int(name, "matmul out channels", minimum=1)
        weights = self._floats(c_in * c_out, name)
        self._put(key, weights.reshape(c_in, c_out).T)   # file: in-major; torch Linear: out x in
        return Rec(name, start, c_in, c_out)

    def matbias(self, key: str, context: str) -> Rec:
        r = self.r
        start = r.mark()
        name = r.token(context, "bias layer name")
        channels = r.int(name, "bias channels", minimum=1)
        self._put(key, self._floats(channels, name))
        return Rec(name, start, channels, channels)

    def rmsnorm_tip(self, key: str, context: str) -> tuple[Rec, float, bool]:
        r = self.r
        start = r.mark()
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
        return Rec(name, start, channels, channels), eps, spatial

    def rmsnorm_lite(self, key: str, context: str, width: int) -> float:
        r = self.r
        start = r.mark()
        name = r.token(context, "transformer RMSNorm name")
        channels = r.int(name, "transformer RMSNorm channels", minimum=1)
        eps = r.float(name, "transformer RMSNorm epsilon")
        if not 0 < eps <= 1:
            raise r.error(f"RMSNorm epsilon ({eps}) must be in (0, 1]", name, start)
        self._put(key, self._floats(channels, name))
        self.expect(Rec(name, start, channels, channels), "numChannels", channels, width, "block width")
        return eps

    # -- blocks (file format §5) -------------------------------------------------------------------

    def blocks(self, prefix: str, context: str, count: int, width: int) -> tuple[BlockSpec, ...]:
        specs = []
        for i in range(count):
            start = self.r.mark()
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

    def _same_size(self, conv: Rec, reference: Rec) -> None:
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
        start = r.mark()
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
            rope_start = r.mark()
            rope_name = r.token(name, "rope frequencies name")
            rec = Rec(rope_name, rope_start, 0, 0)
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
        start = r.mark()
        name = r.token(None, "block name")
        channels = r.int(name, "FFN channels", 1)
        ffn = r.int(name, "FFN hidden channels", 1)
        swiglu = r.flag(name, "useSwiGLU")
        self.expect(Rec(name, start, channels, channels), "numChannels", channels, width, "trunk channels")
        eps = self.rmsnorm_lite(f"{key}.norm_weight", name, width)
        for layer, c_in, c_out in (("linear1", channels, ffn), ("gate", channels, ffn), ("linear2", ffn, channels)):
            if layer == "gate" and not swiglu:
                continue
            rec = self.matmul(f"{key}.{layer}.weight", name)
            self.expect(rec, f"{layer}.inChannels", rec.c_in, c_in, "expected width")
            self.expect(rec, f"{layer}.outChannels", rec.c_out, c_out, "expected width")
        return FFNSpec(ffn, swiglu, norm_eps=eps)
