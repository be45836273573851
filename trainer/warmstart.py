"""Warm start from a KataGo model file (`.bin.gz`, ...): fine-tune a released net.

A model file holds what the engine needs: the trunk, the policy channels the engine reads (main,
optimistic, q values), value / score outputs and ownership, with every norm folded into a
per-channel scale and bias (model-file-format.md). The training net has more: four more policy
channels, the rest of the misc value outputs, the scoring, future-position, seki and score-belief
heads, and norms stored the way training keeps them (fixup betas, centred gammas, batch-norm
statistics). `warm_start` copies everything the file has into a freshly initialized training
net, unfolds each norm back into training form, and returns the names of what starts fresh
(the caller logs them). A structure mismatch (different trunk) is an error naming both nets.

Imports: common.nn only.
"""
from __future__ import annotations

import dataclasses

import torch

from goloop.common.nn.model import Model, NormMask, RMSNormTip
from goloop.common.nn.modelconfigs import ModelConfig, base_config_names, config_of_name
from goloop.common.nn.modelfile import read_model_file


class WarmStartError(ValueError):
    pass


def _same_structure(a: ModelConfig, b: ModelConfig) -> bool:
    return (a.trunk_channels, a.blocks, a.p1_channels, a.g1_channels, a.v1_channels, a.v2_channels,
            a.activation) == (b.trunk_channels, b.blocks, b.p1_channels, b.g1_channels,
                              b.v1_channels, b.v2_channels, b.activation)


def matching_names(file_config: ModelConfig) -> list[str]:
    """KataGo config base names whose trunk and heads have the file's shapes (for error hints)."""
    suffix = {"relu": "", "mish": "-mish", "silu": "-silu"}.get(file_config.activation, "")
    out = []
    for name in base_config_names():
        try:
            if _same_structure(config_of_name(name + suffix), file_config):
                out.append(name + suffix)
        except ValueError:
            continue
    return out


def training_config_for_file(path: str, model_kind: str) -> ModelConfig:
    """config_of_name(model_kind), taking the file's input-conv size (old nets used 5x5)."""
    parsed = read_model_file(path)
    config = config_of_name(model_kind)
    if not _same_structure(config, parsed.config):
        hint = matching_names(parsed.config)
        raise WarmStartError(f"{path}: its net does not have the structure of {model_kind}"
                             + (f"; it matches {', '.join(hint)}" if hint else ""))
    if parsed.config.initial_conv_size != config.initial_conv_size:
        config = dataclasses.replace(config, initial_conv_size=parsed.config.initial_conv_size)
    return config


def _unfold_norm(norm: NormMask, scale: torch.Tensor, bias: torch.Tensor, name: str, notes: list) -> None:
    """Set a training norm so that it computes x * scale + bias (at the start, in eval mode)."""
    fixed = norm.fixed_scale if norm.fixed_scale is not None else 1.0
    with torch.no_grad():
        norm.beta.copy_(bias)
        if norm.batch:
            norm.running_mean.zero_()
            norm.running_std.fill_(1.0)
            if norm.gamma is not None:
                norm.gamma.copy_(scale / fixed - 1.0)
            else:
                norm.running_std.copy_(fixed / scale)
        elif norm.gamma is not None:
            norm.gamma.copy_(scale / fixed - 1.0)
        elif not torch.allclose(scale, torch.full_like(scale, fixed), rtol=1e-5, atol=1e-6):
            notes.append(f"{name} (the file scales it, this net cannot: scale left at {fixed:g})")


def warm_start(model: Model, path: str) -> list[str]:
    """Copy the file's weights into `model` (a freshly initialized training net); returns notes
    naming every tensor (or part) that starts fresh."""
    parsed = read_model_file(path)
    file_state, file_config = parsed.state, parsed.config
    if not _same_structure(model.config, file_config):
        raise WarmStartError(f"{path}: the file's net does not have this model's structure")
    notes: list[str] = []
    norms = {n: m for n, m in model.named_modules() if isinstance(m, (NormMask, RMSNormTip))}
    norm_params = {f"{n}.{p}" for n in norms for p in ("gamma", "beta")}
    for name, module in norms.items():
        if f"{name}.beta" not in file_state:
            notes.append(name)
        elif isinstance(module, RMSNormTip):
            if f"{name}.gamma" in file_state and file_state[f"{name}.gamma"].shape == module.gamma.shape:
                with torch.no_grad():
                    module.gamma.copy_(file_state[f"{name}.gamma"])
                    module.beta.copy_(file_state[f"{name}.beta"])
            else:
                notes.append(name)
        else:
            _unfold_norm(module, file_state[f"{name}.gamma"], file_state[f"{name}.beta"], name, notes)
    file_policy = file_config.policy_channel_names
    our_policy = model.config.policy_channel_names
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in norm_params:
                continue
            src = file_state.get(name)
            if src is not None and src.shape == param.shape:
                param.copy_(src)
            elif src is not None and name.endswith(("policy.conv2p.weight", "policy.linear_pass2.weight")):
                copied = [c for c in file_policy if c in our_policy]
                for c in copied:
                    param[our_policy.index(c)] = src[file_policy.index(c)]
                fresh = [c for c in our_policy if c not in copied]
                if fresh:
                    notes.append(f"{name} channels {', '.join(fresh)}")
            elif (src is not None and ("linear_misc." in name or "linear_moremisc." in name)
                  and src.shape[1:] == param.shape[1:] and src.shape[0] < param.shape[0]):
                param[:src.shape[0]] = src
                notes.append(f"{name} outputs {src.shape[0]}..{param.shape[0] - 1}")
            else:
                notes.append(name)
    return notes
