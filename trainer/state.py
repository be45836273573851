"""Everything a training run carries between steps, and where it comes from.

`Training` bundles the net, its KataGo layout, the optimizer, the EMA, the seki average and
KataGo's three bookkeeping dicts. `start` builds it the way train.py's `load()` does: resume
traindir/checkpoint.ckpt if there is one; else the initial model (a goloop/KataGo checkpoint,
loaded whole like a resume, or a KataGo model file, warm-started); else a fresh net of
`model_kind`. `checkpoint_state` turns it back into KataGo's checkpoint dict.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from goloop.common.logs import kv
from goloop.common.nn.checkpoint import (
    CheckpointError,
    is_checkpoint_file,
    model_state_from_katago,
    read_checkpoint,
)
from goloop.common.nn.model import Model
from goloop.common.nn.modelconfigs import ModelConfig, config_of_name
from goloop.common.nn.paramnames import (
    BufferName,
    ParamName,
    config_from_katago_dict,
    katago_config_dict,
    katago_layout,
)
from goloop.trainer import checkpoint as ckpt
from goloop.trainer.loss import SekiAverage
from goloop.trainer.optim import make_ema, make_optimizer, model_norms
from goloop.trainer.sgd import SGD
from goloop.trainer.warmstart import training_config_for_file, warm_start

log = logging.getLogger(__name__)


@dataclass
class Training:
    model: Model
    config_dict: dict               # KataGo's model-config dict (checkpoint "config")
    layout: list[ParamName]
    buffers: list[BufferName]
    optimizer: "SGD | torch.optim.AdamW"   # trainer/sgd.py unless -use-adamw
    ema: Optional[torch.nn.Module]  # AveragedModel, rank 0 only (KataGo's swa_model)
    seki: SekiAverage
    running_metrics: dict
    train_state: dict
    last_val_metrics: dict

    @property
    def config(self) -> ModelConfig:
        return self.model.config


def derived_seed(*parts: int) -> int:
    """A 63-bit seed for one purpose (data of a sub-epoch, file choice, init) from the run seed."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint64)[0] >> 1)


def _fresh(config: ModelConfig, pos_len: int, seed: int) -> Model:
    torch.manual_seed(derived_seed(seed, 0))
    return Model(config, pos_len)


def _norm_baselines(model: Model, layout: list[ParamName], train_state: dict) -> None:
    """KataGo's modelnorm_*_baseline: the weight norms of a freshly initialized net."""
    if "modelnorm_normal_baseline" not in train_state or "modelnorm_input_baseline" not in train_state:
        norms = model_norms(model, layout)
        train_state["modelnorm_normal_baseline"] = norms["normal"]
        train_state["modelnorm_input_baseline"] = norms["input"]


def start(cfg, device, rank: int, seed: int) -> Training:
    """Resume, warm-start or create the run (see the module docstring). `seed` is only used when
    the checkpoint has none (fresh runs, KataGo checkpoints)."""
    resume = ckpt.find_resume_checkpoint(cfg.train_dir)
    initial = cfg.initial_checkpoint or None
    if resume is None and initial is not None and not os.path.exists(initial):
        raise CheckpointError(f"{initial}: initial model not found")
    state: Optional[dict] = None
    model_file = None
    if resume is not None:
        state = read_checkpoint(resume)
        log.info("resuming", extra=kv(checkpoint=resume))
    elif initial is not None and is_checkpoint_file(initial):
        state = read_checkpoint(initial)
        log.info("starting from checkpoint", extra=kv(checkpoint=initial))
    elif initial is not None:
        model_file = initial

    train_state: dict = dict(state.get("train_state", {})) if state else {}
    seed = int(train_state.setdefault("goloop_seed", seed))
    if state is not None:
        if "config" in state:
            config = config_from_katago_dict(state["config"])
        else:
            config = config_of_name(cfg.model_kind)
    elif model_file is not None:
        config = training_config_for_file(model_file, cfg.model_kind)
    else:
        config = config_of_name(cfg.model_kind)
    model = _fresh(config, cfg.pos_len, seed)
    layout, buffers = katago_layout(model)
    _norm_baselines(model, layout, train_state)   # before any weights load, as KataGo
    if state is not None:
        where = resume or initial
        model.load_state_dict(model_state_from_katago(state["model"], model, layout, buffers, where))
    elif model_file is not None:
        fresh = warm_start(model, model_file)
        log.info("warm start from model file", extra=kv(model=model_file, fresh_count=len(fresh)))
        for name in fresh:
            log.info("starts fresh (not in the model file)", extra=kv(tensor=name))
    model.to(device)

    optimizer = make_optimizer(model, layout, cfg.use_adamw)
    optimizer_name = "AdamW" if cfg.use_adamw else "SGD"
    if state is not None and "optimizer" in state:
        old_name = train_state.get("optimizer_name", "SGD")
        if old_name != optimizer_name:
            log.warning("checkpoint optimizer differs: starting the optimizer fresh",
                        extra=kv(checkpoint=old_name, now=optimizer_name))
        else:
            try:
                optimizer.load_state_dict(ckpt.optimizer_state_from_katago(state["optimizer"], layout, model))
            except (ValueError, KeyError, IndexError) as e:
                log.warning("cannot load the optimizer state, starting it fresh", extra=kv(error=str(e)))
    train_state["optimizer_name"] = optimizer_name

    ema = None
    if rank == 0:
        ema = make_ema(model, cfg.swa_scale)
        if state is not None and "swa_model" in state:
            ema.load_state_dict(ckpt.ema_state_from_katago(state["swa_model"], ema, layout, buffers,
                                                           f"{resume or initial} (swa_model)"))
    seki = SekiAverage(device)
    if state is not None and "metrics" in state:
        seki.load_state_dict(state["metrics"])
    running = dict(state.get("running_metrics", {})) if state else {}
    running = {"sums": dict(running.get("sums", {})), "weights": dict(running.get("weights", {}))}
    for key, default in (("global_step_samples", 0), ("train_steps_since_last_reload", 0),
                         ("export_cycle_counter", 0), ("window_start_data_row_idx", 0),
                         ("total_num_data_rows", 0), ("swa_sample_accum", 0.0)):
        train_state.setdefault(key, default)
    return Training(model, katago_config_dict(config), layout, buffers, optimizer, ema, seki, running,
                    train_state, dict(state.get("last_val_metrics", {})) if state else {})


def checkpoint_state(t: Training, skip_optimizer: bool = False) -> dict:
    return ckpt.build(model=t.model, layout=t.layout, buffers=t.buffers, optimizer=t.optimizer,
                      ema=t.ema, seki=t.seki, running_metrics=t.running_metrics,
                      train_state=t.train_state, last_val_metrics=t.last_val_metrics,
                      config_dict=t.config_dict, skip_optimizer=skip_optimizer)
