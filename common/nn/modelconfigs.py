"""Network architectures by name, as KataGo's `modelconfigs.py` names them (b6c96, b18c384nbt-fson, ...).

A `ModelConfig` is the complete structure description the model is built from. Config names and
model files both produce one, so a net trained here and a net read from a KataGo file are the same
class with the same forward pass. The block list is a tree that mirrors the model file's block
records (ordinary / gpool / nested bottleneck / transformer attention / transformer FFN) rather
than KataGo's config strings, because files can nest any block kind inside a bottleneck.

Names follow KataGo v1.17.2 (`python/katago/train/modelconfigs.py`): a base name, then optional
suffixes in this order: norm kind (`-fs`, `-bn`, `-bng`, `-fson`), activation (`-mish`, `-silu`),
head variant (`-ih`, `-bnh`, `-rnh`, `-rsnh`). KataGo's other suffixes (batch renorm, elu/gelu,
RepVGG, channel gates, residual backout, grouped RMSNorm, metadata encoder) are refused: their
layers are not implemented here, and elu/gelu cannot be exported to the engine at all.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Union

NORM_KINDS = ("fixup", "fixscale", "bnorm", "fixscaleonenorm", "affine")
ACTIVATIONS = ("relu", "mish", "silu", "identity")
TRUNK_TIPS = ("norm", "bias", "rmsnorm", "rmsnorm_spatial")
ROPE_KINDS = ("none", "fixed", "learnable")


@dataclass(frozen=True)
class ResBlockSpec:
    """Pre-activation residual block: norm, act, conv (C -> mid), norm, act, conv (mid -> C).

    With `gpool_channels` > 0 it is KataGo's global-pooling block: the first conv's output is the
    regular path (`mid_channels` = M - G) plus a G-channel path that is pooled over the board and
    added back as a per-channel bias (file kind `gpool_block`, config kind `regulargpool`).
    """

    mid_channels: int       # output channels of the first conv (the regular path in a gpool block)
    gpool_channels: int = 0  # channels of the pooled path; 0 = ordinary block
    kernel_size: int = 3    # both convs (odd)


@dataclass(frozen=True)
class NestedBlockSpec:
    """Nested bottleneck: norm, act, conv (C -> mid), inner residual blocks at width mid,
    norm, act, conv (mid -> C). KataGo's `bottlenest2` holds two ResBlocks; its hybrid
    transformer kind holds [attention, FFN, attention, FFN]."""

    mid_channels: int                     # bottleneck width; the inner blocks' trunk width
    inner: tuple["BlockSpec", ...]        # run in order, each added to the bottleneck residually
    kernel_size: int = 1                  # the two bottleneck convs


@dataclass(frozen=True)
class AttentionSpec:
    """Transformer self-attention over the on-board points (RMSNorm-lite first, no biases)."""

    num_heads: int
    num_kv_heads: int          # grouped-query attention: query head h reads KV head h // (heads/kv)
    q_head_dim: int            # query/key channels per head
    v_head_dim: int            # value channels per head
    rope: str = "learnable"    # "none" | "fixed" | "learnable" rotary position encoding
    rope_theta: float = 100.0  # base of the fixed RoPE frequencies
    norm_eps: float = 1e-6     # epsilon of the RMSNorm-lite in front


@dataclass(frozen=True)
class FFNSpec:
    """Transformer feed-forward block: RMSNorm-lite, then SwiGLU (or act) and a projection back."""

    ffn_channels: int
    swiglu: bool = True        # SiLU(n W1) * (n Wgate); False: act(n W1) (engines refuse these)
    norm_eps: float = 1e-6


BlockSpec = Union[ResBlockSpec, NestedBlockSpec, AttentionSpec, FFNSpec]


@dataclass(frozen=True)
class OutputMultipliers:
    """Scalings of the raw value-head outputs (stored in files from model version 13 on)."""

    td_score: float = 20.0
    score_mean: float = 20.0
    score_stdev: float = 20.0
    lead: float = 20.0
    variance_time: float = 40.0
    shortterm_value_error: float = 0.25
    shortterm_score_error: float = 150.0


# What the engine assumes for files of version <= 12 (they carry no multipliers).
LEGACY_MULTIPLIERS = OutputMultipliers(shortterm_score_error=30.0)
DEFAULT_MULTIPLIERS = OutputMultipliers()


def multipliers_for_version(version: int) -> OutputMultipliers:
    return LEGACY_MULTIPLIERS if version <= 12 else DEFAULT_MULTIPLIERS


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build the network. See model-architecture.md §1-§5."""

    version: int                 # KataGo model version (15 for the conv configs, 17 transformers)
    trunk_channels: int          # C
    mid_channels: int            # M, informational for blocks (each block spec carries its own)
    gpool_channels: int          # G, informational likewise
    blocks: tuple[BlockSpec, ...]
    p1_channels: int             # policy head spatial channels
    g1_channels: int             # policy head pooled channels
    v1_channels: int             # value head spatial channels
    v2_channels: int             # value head hidden layer
    sbv2_channels: int = 0       # score-belief hidden layer (training heads only)
    num_scorebeliefs: int = 0    # score-belief mixture components (training heads only)
    norm_kind: str = "fixup"     # fixup | fixscale | bnorm | fixscaleonenorm | affine (file nets)
    bnorm_use_gamma: bool = False  # every norm gets a learned scale (-bng, -fson)
    bnorm_epsilon: float = 1e-4
    bnorm_momentum: float = 0.001
    activation: str = "relu"
    initial_conv_size: int = 3   # 5 in old TF-era files
    trunk_tip: str = "norm"      # norm | bias (-bnh) | rmsnorm (-rnh) | rmsnorm_spatial (-rsnh)
    trunk_tip_eps: float = 1e-6  # RMSNorm tip epsilon
    intermediate_head_blocks: int = 0  # >0: a second set of heads after this many blocks
    policy_outputs: int = 6      # v15 training heads: 6; exported files: 1, 2 or 4
    pass_hidden: bool = True     # v15+: pass = Linear2(act(Linear(pooled))); else one Linear
    pass_activation: str = ""    # activation of the pass MLP; "" = `activation`
    misc_outputs: int = 10       # miscvalue outputs (files: 4)
    moremisc_outputs: int = 8    # moremiscvalue outputs (files: 2, or 0 before version 9)
    training_heads: bool = True  # scoring, future position, seki and score-belief heads
    multipliers: OutputMultipliers = DEFAULT_MULTIPLIERS

    def __post_init__(self):
        _require(self.norm_kind in NORM_KINDS, f"unknown norm kind {self.norm_kind!r}")
        _require(self.activation in ACTIVATIONS, f"unsupported activation {self.activation!r}")
        _require(self.pass_activation in ACTIVATIONS + ("",),
                 f"unsupported pass activation {self.pass_activation!r}")
        _require(self.trunk_tip in TRUNK_TIPS, f"unknown trunk tip {self.trunk_tip!r}")
        _require(self.initial_conv_size % 2 == 1, "the initial conv size must be odd")
        _require(len(self.blocks) >= 1, "a net needs at least one block")
        _require(0 <= self.intermediate_head_blocks <= len(self.blocks),
                 "intermediate head position is outside the trunk")
        _require(not (self.training_heads and (self.sbv2_channels <= 0 or self.num_scorebeliefs <= 0)),
                 "training heads need sbv2_channels and num_scorebeliefs")
        _require(self.misc_outputs >= 4, "the value head needs at least 4 misc outputs")
        for block in self.blocks:
            _check_block(block)

    @property
    def pass_act(self) -> str:
        return self.pass_activation or self.activation

    @property
    def uses_fixed_scale(self) -> bool:
        """fixscale-style nets multiply norms by constants derived from the block position."""
        return self.norm_kind in ("fixscale", "fixscaleonenorm")

    @property
    def policy_channel_names(self) -> tuple[str, ...]:
        """Meaning of each policy output channel (model-architecture.md §4, file format §7)."""
        if self.training_heads:
            names = ("main", "opponent", "soft", "soft_opponent", "optimistic_long", "optimistic",
                     "q_winloss", "q_score")
            return names[:self.policy_outputs]
        return ("main", "optimistic", "q_winloss", "q_score")[:self.policy_outputs]


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(f"invalid model config: {message}")


def _check_block(block: BlockSpec) -> None:
    if isinstance(block, ResBlockSpec):
        _require(block.mid_channels > 0 and block.gpool_channels >= 0, "bad residual block widths")
        _require(block.kernel_size % 2 == 1, "conv kernel sizes must be odd")
    elif isinstance(block, NestedBlockSpec):
        _require(block.mid_channels > 0 and len(block.inner) >= 1, "bad nested bottleneck block")
        _require(block.kernel_size % 2 == 1, "conv kernel sizes must be odd")
        for inner in block.inner:
            _check_block(inner)
    elif isinstance(block, AttentionSpec):
        _require(block.num_heads > 0 and block.num_kv_heads > 0, "attention needs heads")
        _require(block.num_heads % block.num_kv_heads == 0, "heads must be a multiple of KV heads")
        _require(block.q_head_dim > 0 and block.v_head_dim > 0, "attention head dims must be > 0")
        _require(block.rope in ROPE_KINDS, f"unknown rope kind {block.rope!r}")
        _require(block.rope == "none" or block.q_head_dim % 2 == 0, "RoPE needs an even head dim")
    elif isinstance(block, FFNSpec):
        _require(block.ffn_channels > 0, "FFN width must be > 0")
    else:
        raise ValueError(f"invalid model config: unknown block spec {block!r}")


# ------------------------------------------------------------------------------------------------
# KataGo's base configs (facts from KataGo v1.17.2 modelconfigs.py). Block layouts are written as
# KataGo's config kinds and expanded into specs below.


@dataclass(frozen=True)
class _Base:
    version: int
    c: int            # trunk
    mid: int
    gpool: int
    kinds: tuple[str, ...]
    p1: int
    g1: int
    v1: int
    v2: int
    sbv2: int
    scorebeliefs: int
    ffn: int = 0      # transformer FFN width
    heads: int = 0
    kv_heads: int = 0
    q_dim: int = 0    # 0 = width // heads
    v_dim: int = 0
    learnable_rope: bool = False


def _layout(n: int, gpool_at: tuple[int, ...], kind: str) -> tuple[str, ...]:
    """n blocks of `kind`, with the 1-based positions in `gpool_at` using global pooling."""
    return tuple(kind + ("gpool" if i + 1 in gpool_at else "") for i in range(n))


_BASES: dict[str, _Base] = {
    "b1c6nbt": _Base(15, 6, 4, 4, _layout(1, (), "bottlenest2"), 4, 4, 4, 6, 4, 2),
    "b2c16": _Base(15, 16, 16, 8, _layout(2, (2,), "regular"), 8, 8, 8, 12, 12, 2),
    "b4c32": _Base(15, 32, 32, 16, _layout(4, (3,), "regular"), 12, 12, 12, 24, 24, 4),
    "b6c96": _Base(15, 96, 96, 32, _layout(6, (3, 5), "regular"), 32, 32, 32, 64, 48, 4),
    "b10c128": _Base(15, 128, 128, 32, _layout(10, (5, 8), "regular"), 32, 32, 32, 80, 64, 6),
    "b15c192": _Base(15, 192, 192, 64, _layout(15, (7, 12), "regular"), 32, 32, 32, 96, 80, 8),
    "b20c256": _Base(15, 256, 256, 64, _layout(20, (7, 12, 17), "regular"), 48, 48, 48, 112, 96, 8),
    "b40c256": _Base(15, 256, 256, 64, _layout(40, (6, 11, 16, 21, 26, 31, 36), "regular"),
                     48, 48, 96, 128, 112, 8),
    "b5c192nbt": _Base(15, 192, 96, 32, _layout(5, (2, 4), "bottlenest2"), 32, 32, 32, 80, 64, 6),
    "b10c256nbt": _Base(15, 256, 128, 64, _layout(10, (3, 6, 9), "bottlenest2"),
                        32, 32, 32, 96, 80, 8),
    "b10c384nbt": _Base(15, 384, 192, 64, _layout(10, (3, 6, 9), "bottlenest2"),
                        48, 48, 48, 112, 96, 8),
    "b18c384nbt": _Base(15, 384, 192, 64, _layout(18, (3, 6, 9, 12, 15), "bottlenest2"),
                        48, 48, 96, 128, 112, 8),
    "b28c512nbt": _Base(15, 512, 256, 64, _layout(28, (3, 6, 9, 12, 15, 18, 21, 24, 27), "bottlenest2"),
                        64, 64, 128, 144, 128, 8),
    # Transformers (version 17 in KataGo).
    "b7c96h3tfrs": _Base(17, 96, 96, 32, ("attnrope", "ffnsg") * 7, 32, 32, 32, 64, 48, 4,
                         ffn=256, heads=3, kv_heads=3),
    "b7c96h6kv3qk32v16tflrs": _Base(17, 96, 96, 32, ("attnrope", "ffnsg") * 7, 32, 32, 32, 64, 48, 4,
                                    ffn=256, heads=6, kv_heads=3, q_dim=32, v_dim=16,
                                    learnable_rope=True),
    "b4c256h4nbttflrs": _Base(17, 256, 128, 32, _layout(4, (), "bottlenest2transformerropesg"),
                              32, 32, 32, 80, 64, 6, ffn=384, heads=4, kv_heads=4,
                              learnable_rope=True),
    "b10c384h6nbttflrs": _Base(17, 384, 192, 48, _layout(10, (), "bottlenest2transformerropesg"),
                               48, 48, 96, 96, 96, 8, ffn=512, heads=6, kv_heads=6,
                               learnable_rope=True),
}


def _attention(base: _Base, width: int) -> AttentionSpec:
    q_dim = base.q_dim or width // base.heads
    v_dim = base.v_dim or width // base.heads
    return AttentionSpec(base.heads, base.kv_heads, q_dim, v_dim,
                         rope="learnable" if base.learnable_rope else "fixed")


def _expand(kind: str, base: _Base) -> BlockSpec:
    """One KataGo config block kind as a block spec (model-architecture.md §3)."""
    gpool = base.gpool if kind.endswith("gpool") else 0
    kind = kind[:-5] if gpool else kind
    if kind == "regular":
        return ResBlockSpec(base.mid - gpool, gpool)
    if kind == "bottlenest2":
        return NestedBlockSpec(base.mid, (ResBlockSpec(base.mid - gpool, gpool), ResBlockSpec(base.mid)))
    if kind == "bottlenest2transformerropesg":
        pair = (_attention(base, base.mid), FFNSpec(base.ffn))
        return NestedBlockSpec(base.mid, pair * 2)
    if kind == "attnrope":
        return _attention(base, base.c)
    if kind == "ffnsg":
        return FFNSpec(base.ffn)
    raise ValueError(f"unknown KataGo block kind {kind!r}")


def _base_config(base: _Base) -> ModelConfig:
    return ModelConfig(
        version=base.version, trunk_channels=base.c, mid_channels=base.mid,
        gpool_channels=base.gpool, blocks=tuple(_expand(k, base) for k in base.kinds),
        p1_channels=base.p1, g1_channels=base.g1, v1_channels=base.v1, v2_channels=base.v2,
        sbv2_channels=base.sbv2, num_scorebeliefs=base.scorebeliefs,
    )


_NORM_SUFFIXES = {
    "": dict(norm_kind="fixup"),
    "-fs": dict(norm_kind="fixscale"),
    "-bn": dict(norm_kind="bnorm"),
    "-bng": dict(norm_kind="bnorm", bnorm_use_gamma=True),
    "-fson": dict(norm_kind="fixscaleonenorm", bnorm_use_gamma=True),
}
_ACT_SUFFIXES = {"": "relu", "-mish": "mish", "-silu": "silu"}
_HEAD_SUFFIXES = ("", "-ih", "-bnh", "-rnh", "-rsnh")
_REFUSED = ("-brn", "-fbrn", "-brng", "-fbrng", "-elu", "-gelu", "-rvgi", "-rvgl", "-rvglr",
            "-tcg", "-trb", "-trbnr", "-rgnh", "-meta")

_NAME_RE = re.compile(
    r"^(?P<base>[a-z0-9]+)(?P<norm>-fson|-fs|-bng|-bn)?(?P<act>-mish|-silu)?"
    r"(?P<head>-ih|-bnh|-rnh|-rsnh)?$")


def config_of_name(name: str) -> ModelConfig:
    """The config KataGo's `config_of_name[name]` describes, e.g. "b18c384nbt-fson-mish-bnh"."""
    match = _NAME_RE.match(name)
    if match is None or match["base"] not in _BASES:
        refused = [s for s in _REFUSED if s + "-" in name + "-"]
        if refused:
            raise ValueError(f"model config {name!r}: suffix {refused[0]} is not supported")
        raise ValueError(f"unknown model config name {name!r}")
    config = _base_config(_BASES[match["base"]])
    changes: dict = dict(_NORM_SUFFIXES[match["norm"] or ""])
    changes["activation"] = _ACT_SUFFIXES[match["act"] or ""]
    head = match["head"] or ""
    num_blocks = len(config.blocks)
    if head == "-ih":
        changes["intermediate_head_blocks"] = num_blocks // 2
    elif head == "-bnh":
        # Only meaningful with some batch norm: the main head skips the trunk's final norm.
        if "norm" not in changes["norm_kind"]:
            raise ValueError(f"model config {name!r}: -bnh needs a batch-norm kind (-bn, -fson, ...)")
        changes.update(intermediate_head_blocks=num_blocks, trunk_tip="bias")
    elif head == "-rnh":
        changes["trunk_tip"] = "rmsnorm"
    elif head == "-rsnh":
        changes["trunk_tip"] = "rmsnorm_spatial"
    return dataclasses.replace(config, **changes)


def base_config_names() -> tuple[str, ...]:
    return tuple(_BASES)
