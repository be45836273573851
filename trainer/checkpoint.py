"""Checkpoints in KataGo's layout, both ways (model-architecture.md §7 "Checkpoints").

A checkpoint is a `torch.save` dict with KataGo's keys: `model` (state dict under KataGo's
parameter names and shapes), `optimizer` (torch's optimizer state; parameter indices follow
KataGo's reg-group order, norm buffers reshaped to KataGo's 1xCx1x1), `metrics` (the seki
average), `running_metrics`, `train_state` (KataGo's counters and file bookkeeping, plus
`goloop_seed`, the run's seed, which makes a resume continue the same random streams),
`last_val_metrics`, `config` (KataGo's model-config dict) and `swa_model` (the EMA as
`AveragedModel` saves it). So KataGo's train.py resumes a goloop checkpoint,
export_model_pytorch.py exports it, and goloop resumes KataGo's.

Files: `<traindir>/checkpoint.ckpt`, written to a temporary name and renamed; the previous one
is kept as checkpoint_prev0 (prev0..prev2 shift to prev1..prev3). Exports go to
`<exportdir>/<NAME>.tmp/model.ckpt`, then the directory is renamed to `<NAME>`, so the exporter
never sees half a checkpoint.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from collections import OrderedDict
from typing import Optional

import torch

from goloop.common.atomicfile import atomic_write
from goloop.common.logs import kv
from goloop.common.nn.checkpoint import (
    model_state_from_katago,
    model_state_to_katago,
)
from goloop.common.nn.paramnames import REG_GROUPS, BufferName, ParamName

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.ckpt"
NUM_PREVIOUS = 4                      # checkpoint_prev0..3, as KataGo keeps


def _ordered(layout: list[ParamName]) -> list[ParamName]:
    """Parameters in torch's optimizer numbering: group by group in KataGo's order."""
    return [p for g in REG_GROUPS for p in layout if p.group == g]


def _convert_optimizer(sd: dict, layout: list[ParamName], to_katago: bool, model=None) -> dict:
    ordered = _ordered(layout)
    shapes = dict(model.named_parameters()) if model is not None else {}
    state = {}
    for idx, entry in sd["state"].items():
        p = ordered[int(idx)]
        conv = {}
        for k, v in entry.items():
            if isinstance(v, torch.Tensor) and v.dim() > 0 and p.norm:
                v = v.reshape(1, -1, 1, 1) if to_katago else v.reshape(shapes[p.ours].shape)
            conv[k] = v
        state[idx] = conv
    return {"state": state, "param_groups": sd["param_groups"]}


def optimizer_state_to_katago(sd: dict, layout: list[ParamName]) -> dict:
    return _convert_optimizer(sd, layout, True)


def optimizer_state_from_katago(sd: dict, layout: list[ParamName], model) -> dict:
    return _convert_optimizer(sd, layout, False, model)


def ema_state_to_katago(ema, layout: list[ParamName], buffers: list[BufferName]) -> OrderedDict:
    out = OrderedDict({"n_averaged": ema.n_averaged.detach().clone()})
    for k, v in model_state_to_katago(ema.module, layout, buffers).items():
        out["module." + k] = v
    return out


def ema_state_from_katago(sd: dict, ema, layout: list[ParamName], buffers: list[BufferName], where: str) -> dict:
    inner = {k[len("module."):]: v for k, v in sd.items() if k.startswith("module.")}
    out = {"module." + k: v for k, v in model_state_from_katago(inner, ema.module, layout, buffers, where).items()}
    out["n_averaged"] = sd["n_averaged"]
    return out


def plain(obj):
    """Copy of nested dicts/lists with defaultdicts as dicts (KataGo's loader only trusts plain types)."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


def build(*, model, layout, buffers, optimizer, ema, seki, running_metrics: dict, train_state: dict,
          last_val_metrics: dict, config_dict: dict, skip_optimizer: bool = False) -> dict:
    state = {"model": model_state_to_katago(model, layout, buffers)}
    if not skip_optimizer and optimizer is not None:
        state["optimizer"] = optimizer_state_to_katago(optimizer.state_dict(), layout)
    state["metrics"] = seki.state_dict()
    state["running_metrics"] = plain(running_metrics)
    state["train_state"] = plain(train_state)
    state["last_val_metrics"] = plain(last_val_metrics)
    state["config"] = plain(config_dict)
    if ema is not None:
        state["swa_model"] = ema_state_to_katago(ema, layout, buffers)
    return state


def _save(state: dict, path: str) -> None:
    with atomic_write(path) as f:
        torch.save(state, f)


def save_rotating(train_dir: str, state: dict) -> str:
    """Write train_dir/checkpoint.ckpt, keeping the previous ones as checkpoint_prev0..3."""
    os.makedirs(train_dir, exist_ok=True)
    path = os.path.join(train_dir, CHECKPOINT)
    prev = [os.path.join(train_dir, f"checkpoint_prev{i}.ckpt") for i in range(NUM_PREVIOUS)]
    for i in reversed(range(NUM_PREVIOUS - 1)):
        if os.path.exists(prev[i]):
            os.replace(prev[i], prev[i + 1])
    if os.path.exists(path):
        tmp = prev[0] + ".tmp"
        try:
            os.link(path, tmp)          # cheap, and checkpoint.ckpt never disappears meanwhile
        except OSError:
            shutil.copyfile(path, tmp)
        os.replace(tmp, prev[0])
    _save(state, path)
    return path


LONGTERM_SECONDS = 12 * 3600         # directory-protocol.md §1: longterm_checkpoints every 12 h


def last_longterm_time(train_dir: str, now: float) -> float:
    """When the last long-term checkpoint was written (now if there is none), as KataGo counts."""
    folder = os.path.join(train_dir, "longterm_checkpoints")
    try:
        times = [os.path.getmtime(os.path.join(folder, f)) for f in os.listdir(folder) if f.endswith(".ckpt")]
    except FileNotFoundError:
        times = []
    return min([now, max(times)]) if times else now


def save_longterm(train_dir: str, state: dict) -> str:
    """longterm_checkpoints/<UTC date>.ckpt: a permanent snapshot (without optimizer state)."""
    folder = os.path.join(train_dir, "longterm_checkpoints")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + ".ckpt")
    _save(state, path)
    return path


def export(export_dir: str, name: str, state: dict) -> Optional[str]:
    """Publish <export_dir>/<name>/model.ckpt for the exporter; None if <name> already exists."""
    final = os.path.join(export_dir, name)
    if os.path.exists(final):
        log.info("not exporting: already exists", extra=kv(path=final))
        return None
    tmp = final + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)              # litter of a killed earlier attempt
    os.makedirs(tmp)
    torch.save(state, os.path.join(tmp, "model.ckpt"))
    os.rename(tmp, final)
    return final


def find_resume_checkpoint(train_dir: str) -> Optional[str]:
    """checkpoint.ckpt, else the newest checkpoint_prev* (a crash between rotation steps)."""
    path = os.path.join(train_dir, CHECKPOINT)
    if os.path.exists(path):
        return path
    for i in range(NUM_PREVIOUS):
        prev = os.path.join(train_dir, f"checkpoint_prev{i}.ckpt")
        if os.path.exists(prev):
            log.warning("no checkpoint.ckpt: resuming from the previous one", extra=kv(path=prev))
            return prev
    return None


