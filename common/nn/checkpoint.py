"""Reading training checkpoints in KataGo's layout (model-architecture.md §7), for every daemon
that needs a checkpoint's network: the trainer resumes from one, the exporter turns one into a
model file, `goloop validate` scores one. Writing, rotation and optimizer state stay in trainer/.

A checkpoint is a `torch.save` dict whose `model` entry is a state dict under KataGo's parameter
names and shapes (paramnames.py maps them to ours), with `config` (KataGo's model-config dict)
and `swa_model` (the EMA as torch's `AveragedModel` saves it).
"""
from __future__ import annotations

import zipfile
from collections import OrderedDict, defaultdict
from typing import Optional

import torch

from goloop.common.nn.model import Model
from goloop.common.nn.paramnames import (
    BufferName,
    ParamName,
    config_from_katago_dict,
    katago_layout,
)

_IGNORED_KATAGO_KEYS = ("score_belief_offset_vector", "score_belief_offset_bias_vector",
                        "score_belief_parity_vector")
torch.serialization.add_safe_globals([defaultdict, float])   # KataGo's older running_metrics


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model; the message names the file."""


def _kg(t: torch.Tensor, p: ParamName) -> torch.Tensor:
    return t.detach().reshape(1, -1, 1, 1) if p.norm else t.detach()


def _strip(key: str) -> str:
    while key.startswith(("module.", "_orig_mod.")):
        key = key.split(".", 1)[1]
    return key


def model_state_to_katago(model: torch.nn.Module, layout: list[ParamName], buffers: list[BufferName]) -> OrderedDict:
    ours = model.state_dict()
    out = OrderedDict((p.katago, _kg(ours[p.ours], p)) for p in layout)
    out.update((b.katago, ours[b.ours].detach()) for b in buffers)
    return out


def model_state_from_katago(sd: dict, model: torch.nn.Module, layout: list[ParamName],
                            buffers: list[BufferName], where: str) -> dict:
    """KataGo-named state -> our names and shapes; any missing or extra tensor is an error."""
    given = {_strip(k): v for k, v in sd.items() if not any(s in k for s in _IGNORED_KATAGO_KEYS)}
    ours = model.state_dict()
    out, missing = {}, []
    for p in layout:
        if p.katago not in given:
            missing.append(p.katago)
            continue
        t = given.pop(p.katago)
        if t.numel() != ours[p.ours].numel() or (not p.norm and t.shape != ours[p.ours].shape):
            raise CheckpointError(f"{where}: {p.katago} has shape {tuple(t.shape)}, the model needs "
                                  f"{tuple(ours[p.ours].shape)} (a different model config?)")
        out[p.ours] = t.reshape(ours[p.ours].shape)
    for b in buffers:
        if b.katago in given:
            out[b.ours] = given.pop(b.katago)
        else:
            missing.append(b.katago)
    if missing or given:
        raise CheckpointError(f"{where}: does not fit the model: missing {missing[:4]}, "
                              f"unexpected {sorted(given)[:4]}")
    return out


def is_checkpoint_file(path: str) -> bool:
    """torch.save files are zip archives holding a data.pkl; KataGo model files are not."""
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("data.pkl") for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def read_checkpoint(path: str) -> dict:
    """Load a checkpoint onto the CPU with torch's safe loader; clear errors naming the file."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except Exception as e:    # torch raises many kinds for truncated or foreign files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path}: not a training checkpoint (no 'model' entry)")
    return state


def load_checkpoint_model(path: str, use_swa: bool, pos_len: int, state: Optional[dict] = None) -> Model:
    """The model (or its EMA/SWA average) of a goloop or KataGo checkpoint, on the CPU."""
    state = read_checkpoint(path) if state is None else state
    if "config" not in state:
        raise CheckpointError(f"{path}: checkpoint has no model config")
    model = Model(config_from_katago_dict(state["config"]), pos_len, init=False)
    layout, buffers = katago_layout(model)
    if use_swa:
        if "swa_model" not in state:
            raise CheckpointError(f"{path}: checkpoint has no swa_model")
        inner = {k[len("module."):]: v for k, v in state["swa_model"].items() if k.startswith("module.")}
        model.load_state_dict(model_state_from_katago(inner, model, layout, buffers, path))
    else:
        model.load_state_dict(model_state_from_katago(state["model"], model, layout, buffers, path))
    return model
