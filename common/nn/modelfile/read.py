"""Parse a decompressed KataGo model file into a `ModelConfig` and the weights of our `Model`.

The header, trunk and heads in the order KataGo's engine reads them (`cpp/neuralnet/desc.cpp`,
model-file-format.md §3, §6-§8); the individual layer and block records are in
`records`.

Supported: model versions 8..17 (input features V7). Refused as unsupported, with the reason:
older versions (other input features), metadata-encoder nets, dilated or non-square convs,
grouped RMSNorm, mixed activation kinds within one net.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from goloop.common.nn.model import NUM_GLOBAL_INPUTS, NUM_SPATIAL_INPUTS
from goloop.common.nn.modelconfigs import ModelConfig, OutputMultipliers, multipliers_for_version
from goloop.common.nn.modelfile.records import RecordParser
from goloop.common.nn.modelfile.stream import ModelFileError, TokenReader

OLDEST_VERSION = 8     # first version with input features V7
LATEST_VERSION = 17    # KataGo v1.17.2's latestModelVersionImplemented
MAX_NAME_LENGTH = 96


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


def is_valid_model_name(name: str) -> bool:
    """KataGo puts the name in cache file names: 1..96 characters of [A-Za-z0-9_-]."""
    return 0 < len(name) <= MAX_NAME_LENGTH and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)


def _header(r: TokenReader) -> FileHeader:
    name = r.token(None, "model name")
    if not is_valid_model_name(name):
        raise r.error(f"model name {name[:120]!r} must be 1..96 characters of [A-Za-z0-9_-]", None, 0)
    start = r.mark()
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
        start = r.mark()
        found = r.int(name, what)
        if found != expected:
            raise r.error(f"{what} is {found}, input features V7 need {expected}", name, start)
    multipliers = multipliers_for_version(version)
    if version >= 13:
        values = []
        for field in ("td_score", "score_mean", "score_stdev", "lead", "variance_time",
                      "shortterm_value_error", "shortterm_score_error"):
            start = r.mark()
            value = r.float(name, f"{field} multiplier")
            if not value > 0:
                raise r.error(f"{field} multiplier ({value}) must be positive", name, start)
            values.append(value)
        multipliers = OutputMultipliers(*values)
    meta, prefer_pass_alive = 0, False
    if version >= 15:
        start = r.mark()
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
    p = RecordParser(r, version)

    # Trunk (file format §6).
    trunk = r.token(None, "trunk name")
    num_blocks = r.int(trunk, "number of blocks", minimum=1)
    start = r.mark()
    c, mid, regular = r.int(trunk, "trunk channels"), r.int(trunk, "mid channels"), r.int(trunk, "regular channels")
    r.int(trunk, "dilated channels")   # unused by the engine
    gpool = r.int(trunk, "gpool channels")
    if min(c, mid, regular, gpool) <= 0:
        raise r.error("all numbers of channels must be positive", trunk, start)
    tip_kind = 0
    if version >= 15:
        start = r.mark()
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


def _policy_head(p: RecordParser, c: int) -> tuple[int, Optional[str], int, int]:
    """Policy head records (file format §7): (channels, pass activation, p1, g1)."""
    r, version = p.r, p.version
    name = r.token(None, "policy head name")
    if version >= 17:
        start = r.mark()
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


def _value_head(p: RecordParser, c: int) -> tuple[int, int, int]:
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


def _check_activations(p: RecordParser) -> str:
    """One activation kind for the whole net (the pass MLP's may differ); returns it."""
    name, kind, _ = p.activations[0]
    for layer, other, offset in p.activations[1:]:
        if other != kind:
            raise p.r.error(f"activation {other} differs from the net's {kind} (first at {name!r}); "
                            "mixed activations are not supported", layer, offset)
    return kind
