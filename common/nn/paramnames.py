"""KataGo's names for our network: parameter names, reg groups and the model-config dict.

Why this exists: a checkpoint is only shareable with KataGo's train.py and
export_model_pytorch.py if it speaks KataGo's dialect. `common/nn/model.py` names its modules
for reading (`blocks.2.gpool.conv`), KataGo names them after its classes
(`blocks.2.normactconv1.convpool.conv1g`), stores norm parameters as 1xCx1x1 and builds its
SGD parameter groups ("reg groups") in the order its `add_reg_dict` walks the net. Optimizer
state in a checkpoint is a list indexed by that order, so matching it parameter for parameter
is what lets momentum buffers travel both ways.

`katago_layout(model)` walks our model in exactly KataGo's add_reg_dict order and returns one
`ParamName` per parameter (ours, KataGo's, reg group). The model-config dict conversion
(`katago_config_dict` / `config_from_katago_dict`) covers every structure our model builds from
KataGo config names: regular and nested-bottleneck blocks (gpool or not), fixup / fixscale /
bnorm / fixscaleonenorm norms, any activation, `-ih`, `-bnh`, `-rnh`, `-rsnh` heads.
Transformer blocks are refused with a clear error (their KataGo parameter layout is not mapped).

Imports: common.nn only.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

from goloop.common.nn.model import Model, NestedBottleneckBlock, NormMask, ResBlock, RMSNormTip
from goloop.common.nn.modelconfigs import ModelConfig, NestedBlockSpec, ResBlockSpec

# KataGo's reg groups in the order its add_reg_dict creates them (model-architecture.md §7 "Reg
# groups"); torch.optim numbers parameters group by group in this order.
REG_GROUPS = ("input", "input_noreg", "normal", "normal_attn", "normal_gab", "gab_mlp", "tab_module",
              "normal_gamma", "noreg", "output", "output_noreg")


class ParamName(NamedTuple):
    ours: str       # name in goloop's Model.state_dict()
    katago: str     # name in KataGo's Model.state_dict()
    group: str      # KataGo reg group
    norm: bool      # stored 1xCx1x1 by KataGo (NormMask / BiasMask beta and gamma)


class BufferName(NamedTuple):
    ours: str
    katago: str


class LayoutError(ValueError):
    """The model has a structure whose KataGo parameter names are not mapped."""


class _Walker:
    def __init__(self):
        self.params: list[ParamName] = []
        self.buffers: list[BufferName] = []

    def add(self, ours: str, katago: str, group: str, norm: bool = False) -> None:
        self.params.append(ParamName(ours, katago, group, norm))

    def norm(self, ours: str, katago: str, module: NormMask, last: bool) -> None:
        """KataGo's NormMask/BiasMask: gamma then beta; a norm at the trunk tip (or a head bias,
        "after batchnorm") regularizes like an output layer."""
        if module.gamma is not None:
            self.add(f"{ours}.gamma", f"{katago}.gamma", "output" if last else "normal_gamma", True)
        self.add(f"{ours}.beta", f"{katago}.beta", "output_noreg" if last else "noreg", True)
        if module.batch:
            for buf in ("running_mean", "running_std"):
                self.buffers.append(BufferName(f"{ours}.{buf}", f"{katago}.{buf}"))

    def res_block(self, ours: str, katago: str, block: ResBlock) -> None:
        self.norm(f"{ours}.norm1", f"{katago}.normactconv1.norm", block.norm1, False)
        if block.gpool is None:
            self.add(f"{ours}.conv1.weight", f"{katago}.normactconv1.conv.weight", "normal")
        else:
            pool = f"{katago}.normactconv1.convpool"
            self.add(f"{ours}.conv1.weight", f"{pool}.conv1r.weight", "normal")
            self.add(f"{ours}.gpool.conv.weight", f"{pool}.conv1g.weight", "normal")
            self.norm(f"{ours}.gpool.norm", f"{pool}.normg", block.gpool.norm, False)
            self.add(f"{ours}.gpool.linear.weight", f"{pool}.linear_g.weight", "normal")
        self.norm(f"{ours}.norm2", f"{katago}.normactconv2.norm", block.norm2, False)
        self.add(f"{ours}.conv2.weight", f"{katago}.normactconv2.conv.weight", "normal")

    def nested_block(self, ours: str, katago: str, block: NestedBottleneckBlock) -> None:
        self.norm(f"{ours}.normp", f"{katago}.normactconvp.norm", block.normp, False)
        self.add(f"{ours}.convp.weight", f"{katago}.normactconvp.conv.weight", "normal")
        for j, inner in enumerate(block.blocks):
            if not isinstance(inner, ResBlock):
                raise LayoutError("transformer sub-blocks have no KataGo checkpoint mapping here")
            self.res_block(f"{ours}.blocks.{j}", f"{katago}.blockstack.{j}", inner)
        self.norm(f"{ours}.normq", f"{katago}.normactconvq.norm", block.normq, False)
        self.add(f"{ours}.convq.weight", f"{katago}.normactconvq.conv.weight", "normal")

    def tip(self, ours: str, katago: str, tip) -> None:
        if isinstance(tip, RMSNormTip):
            # KataGo: torch RMSNorm's `norm.weight` per point, its own `gamma` when spatial; both
            # the scale and the bias are "output".
            scale = f"{katago}.gamma" if tip.spatial else f"{katago}.norm.weight"
            self.add(f"{ours}.gamma", scale, "output")
            self.add(f"{ours}.beta", f"{katago}.beta", "output")
        else:
            self.norm(ours, katago, tip, True)

    def heads(self, ours: str, policy_kg: str, value_kg: str, heads) -> None:
        p, v = f"{ours}.policy", f"{ours}.value"
        for name in ("conv1p", "conv1g", "linear_g"):
            self.add(f"{p}.{name}.weight", f"{policy_kg}.{name}.weight", "output")
        self.add(f"{p}.linear_pass.weight", f"{policy_kg}.linear_pass.weight", "output")
        if heads.policy.linear_pass2 is not None:
            self.add(f"{p}.linear_pass.bias", f"{policy_kg}.linear_pass.bias", "output_noreg")
            self.add(f"{p}.linear_pass2.weight", f"{policy_kg}.linear_pass2.weight", "output")
        self.add(f"{p}.conv2p.weight", f"{policy_kg}.conv2p.weight", "output")
        self.norm(f"{p}.biasg", f"{policy_kg}.biasg", heads.policy.biasg, True)
        self.norm(f"{p}.bias2", f"{policy_kg}.bias2", heads.policy.bias2, True)

        self.add(f"{v}.conv1.weight", f"{value_kg}.conv1.weight", "output")
        for ours_name, kg_name in (("linear2", "linear2"), ("linear_value", "linear_valuehead"),
                                   ("linear_misc", "linear_miscvaluehead"),
                                   ("linear_moremisc", "linear_moremiscvaluehead")):
            self.add(f"{v}.{ours_name}.weight", f"{value_kg}.{kg_name}.weight", "output")
            self.add(f"{v}.{ours_name}.bias", f"{value_kg}.{kg_name}.bias", "output_noreg")
        for name in ("conv_ownership", "conv_scoring", "conv_futurepos", "conv_seki"):
            self.add(f"{v}.{name}.weight", f"{value_kg}.{name}.weight", "output")
        sb = f"{v}.score_belief"
        for name, bias in (("linear_s2", True), ("linear_s2off", False), ("linear_s2par", False),
                           ("linear_s3", True), ("linear_smix", True)):
            self.add(f"{sb}.{name}.weight", f"{value_kg}.{name}.weight", "output")
            if bias:
                self.add(f"{sb}.{name}.bias", f"{value_kg}.{name}.bias", "output_noreg")
        self.norm(f"{v}.bias1", f"{value_kg}.bias1", heads.value.bias1, True)


def katago_layout(model: Model) -> tuple[list[ParamName], list[BufferName]]:
    """Every parameter of `model` in KataGo's add_reg_dict order, and the batch-norm buffers.

    Raises LayoutError for structures KataGo's trainer cannot hold (nets read from model files,
    transformer blocks, nets without training heads)."""
    c = model.config
    if c.norm_kind == "affine" or not c.training_heads or c.policy_outputs not in (6, 8):
        raise LayoutError("only nets built from a KataGo config name (with training heads) have "
                          "KataGo checkpoint names; nets read from model files do not")
    w = _Walker()
    w.add("conv_spatial.weight", "conv_spatial.weight", "input")
    w.add("linear_global.weight", "linear_global.weight", "input")
    for i, block in enumerate(model.blocks):
        if isinstance(block, ResBlock):
            w.res_block(f"blocks.{i}", f"blocks.{i}", block)
        elif isinstance(block, NestedBottleneckBlock):
            w.nested_block(f"blocks.{i}", f"blocks.{i}", block)
        else:
            raise LayoutError("transformer blocks have no KataGo checkpoint mapping here")
    w.tip("heads.norm", "norm_trunkfinal", model.heads.norm)
    w.heads("heads", "policy_head", "value_head", model.heads)
    if model.intermediate_heads is not None:
        w.tip("intermediate_heads.norm", "norm_intermediate_trunkfinal", model.intermediate_heads.norm)
        w.heads("intermediate_heads", "intermediate_policy_head", "intermediate_value_head",
                model.intermediate_heads)
    ours = dict(model.named_parameters())
    if sorted(p.ours for p in w.params) != sorted(ours):
        missing = sorted(set(ours) - {p.ours for p in w.params})
        raise LayoutError(f"parameters without a KataGo name: {missing[:5]}")
    return w.params, w.buffers


# ------------------------------------------------------------------------------------------------
# Model-config dicts (KataGo's modelconfigs.py format, stored in every checkpoint's "config")


def _block_kind(spec) -> str:
    if isinstance(spec, ResBlockSpec) and spec.kernel_size == 3:
        return "regulargpool" if spec.gpool_channels else "regular"
    if (isinstance(spec, NestedBlockSpec) and spec.kernel_size == 1 and len(spec.inner) == 2
            and all(isinstance(b, ResBlockSpec) and b.kernel_size == 3 for b in spec.inner)
            and spec.inner[1].gpool_channels == 0):
        return "bottlenest2gpool" if spec.inner[0].gpool_channels else "bottlenest2"
    raise LayoutError(f"block {spec!r} has no KataGo config block kind here")


def katago_config_dict(config: ModelConfig) -> dict:
    """The dict KataGo's `modelconfigs.config_of_name[name]` gives for the name `config` came from."""
    d = {
        "version": config.version, "norm_kind": config.norm_kind,
        "bnorm_epsilon": config.bnorm_epsilon, "bnorm_running_avg_momentum": config.bnorm_momentum,
        "initial_conv_1x1": config.initial_conv_size == 1,
        "trunk_num_channels": config.trunk_channels, "mid_num_channels": config.mid_channels,
        "gpool_num_channels": config.gpool_channels, "gamma_weight_decay_center_1": True,
        "block_kind": [[f"rconv{i + 1}", _block_kind(b)] for i, b in enumerate(config.blocks)],
        "p1_num_channels": config.p1_channels, "g1_num_channels": config.g1_channels,
        "v1_num_channels": config.v1_channels, "sbv2_num_channels": config.sbv2_channels,
        "num_scorebeliefs": config.num_scorebeliefs, "v2_size": config.v2_channels,
    }
    if config.initial_conv_size not in (1, 3):
        # goloop-only key (old 5x5 nets warm-started from a file): KataGo builds a 3x3 conv and
        # refuses the checkpoint on the shape mismatch, which is the right answer.
        d["initial_conv_size"] = config.initial_conv_size
    if config.bnorm_use_gamma:
        d["bnorm_use_gamma"] = True
    if config.activation != "relu":
        d["activation"] = config.activation
    if config.intermediate_head_blocks:
        d["has_intermediate_head"] = True
        d["intermediate_head_blocks"] = config.intermediate_head_blocks
    if config.trunk_tip == "bias":
        d["trunk_normless"] = True
    elif config.trunk_tip in ("rmsnorm", "rmsnorm_spatial"):
        d["trunk_final_rmsnorm"] = True
        if config.trunk_tip == "rmsnorm_spatial":
            d["trunk_rmsnorm_spatial"] = True
    return d


_UNSUPPORTED_KEYS = ("metadata_encoder", "use_repvgg_init", "use_repvgg_linear",
                     "use_repvgg_learning_rate", "use_trunk_channel_gate",
                     "use_trunk_residual_backout", "rmsnorm_spatial_cgroup_size",
                     "predict_q_values", "use_rw_registers")


def config_from_katago_dict(d: dict) -> ModelConfig:
    """Our ModelConfig for a KataGo model-config dict (e.g. a checkpoint's "config")."""
    for key in _UNSUPPORTED_KEYS:
        if d.get(key):
            raise LayoutError(f"KataGo model config option {key!r} is not supported")
    if d["norm_kind"] not in ("fixup", "fixscale", "bnorm", "fixscaleonenorm"):
        raise LayoutError(f"norm kind {d['norm_kind']!r} is not supported")
    if not d.get("gamma_weight_decay_center_1", False):
        raise LayoutError("configs without gamma_weight_decay_center_1 (pre-2023 checkpoints) are "
                          "not supported; migrate them with KataGo's migrate_gamma_weight_decay_center_1.py")
    if int(d["version"]) not in (12, 13, 14, 15):
        raise LayoutError(f"model version {d['version']} is not supported for training (12..15)")
    mid, gpool = d["mid_num_channels"], d["gpool_num_channels"]
    blocks = []
    for _, kind in d["block_kind"]:
        pooled = kind.endswith("gpool")
        base = kind[:-5] if pooled else kind
        g = gpool if pooled else 0
        if base == "regular":
            blocks.append(ResBlockSpec(mid - g, g))
        elif base == "bottlenest2":
            blocks.append(NestedBlockSpec(mid, (ResBlockSpec(mid - g, g), ResBlockSpec(mid))))
        else:
            raise LayoutError(f"KataGo block kind {kind!r} is not supported for training")
    tip = "norm"
    if d.get("trunk_normless"):
        tip = "bias"
    elif d.get("trunk_final_rmsnorm"):
        tip = "rmsnorm_spatial" if d.get("trunk_rmsnorm_spatial") else "rmsnorm"
    return ModelConfig(
        version=int(d["version"]), trunk_channels=d["trunk_num_channels"], mid_channels=mid,
        gpool_channels=gpool, blocks=tuple(blocks), p1_channels=d["p1_num_channels"],
        g1_channels=d["g1_num_channels"], v1_channels=d["v1_num_channels"], v2_channels=d["v2_size"],
        sbv2_channels=d["sbv2_num_channels"], num_scorebeliefs=d["num_scorebeliefs"],
        norm_kind=d["norm_kind"], bnorm_use_gamma=bool(d.get("bnorm_use_gamma", False)),
        bnorm_epsilon=d["bnorm_epsilon"], bnorm_momentum=d["bnorm_running_avg_momentum"],
        activation=d.get("activation", "relu"), initial_conv_size=d.get("initial_conv_size", 1 if d["initial_conv_1x1"] else 3),
        trunk_tip=tip, pass_hidden=int(d["version"]) >= 15, intermediate_head_blocks=int(d.get("intermediate_head_blocks", 0))
        if d.get("has_intermediate_head") else 0)


def intermediate_loss_scales(config: ModelConfig, main: Optional[float],
                             intermediate: Optional[float]) -> tuple[Optional[float], Optional[float]]:
    """train.py's defaults for nets with an intermediate head: 0.2 main / 0.8 intermediate for
    normless-trunk (-bnh) nets, 0.5 / 0.5 otherwise; both None (main unscaled) without one."""
    if not config.intermediate_head_blocks:
        if intermediate is not None:
            raise ValueError("intermediate_loss_scale needs a model with an intermediate head")
        return main, None
    if main is None and intermediate is None:
        return (0.2, 0.8) if config.trunk_tip == "bias" else (0.5, 0.5)
    if intermediate is None:
        raise ValueError("give both main_loss_scale and intermediate_loss_scale, or neither")
    return main, intermediate
