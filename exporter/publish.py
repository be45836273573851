"""Turn one training checkpoint into a published model directory (KataGo's
export_model_for_selfplay.sh, spec: directory-protocol.md §1-§3).

A model directory `<NAME>/` holds `model.bin.gz` (the net the engines load), `model.ckpt` (the
checkpoint without optimizer, metrics and data bookkeeping: clean_checkpoint.py), `metadata.json`
(training counters and loss statistics, as export_model_pytorch.py writes) and `log.txt`. It is
built under `torchmodels_toexport/<NAME>.exported/` and published by one rename into
`models/` (no gating) or `modelstobetested/` (gating), so selfplay and the gatekeeper see all of
it or nothing.

Where goloop differs from the shell script, for crash safety: the checkpoint directory is
removed only after the rename (a kill in between leaves a checkpoint already published, which
the next pass recognises and removes instead of losing an export), and a checkpoint that cannot
be read is moved to `torchmodels_failed/` with a log line instead of stopping the loop.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from typing import Iterator, Optional

import torch

from goloop.common.logs import kv
from goloop.common.nn.checkpoint import CheckpointError, load_checkpoint_model, read_checkpoint
from goloop.common.nn.modelfile import save_model_file
from goloop.common.nn.modelfile.read import is_valid_model_name

log = logging.getLogger(__name__)

# (source under BASEDIR, where it publishes with gating, without gating): KataGo's "extra"
# training runs export to models_extra/, never read by selfplay, whatever the gating.
SOURCES = (("torchmodels_toexport", "modelstobetested", "models"),
           ("torchmodels_toexport_extra", "models_extra", "models_extra"))
# A NAME existing in any of these is taken (export_model_for_selfplay.sh's collision check).
TAKEN_IN = ("modelstobetested", "rejectedmodels", "models", "models_extra", "modelsuploaded")
FAILED_DIR = "torchmodels_failed"
MODEL_FILE = "model.bin.gz"
CHECKPOINT = "model.ckpt"
# What clean_checkpoint.py drops: optimizer state, running metrics, data-file bookkeeping.
_DROPPED = ("optimizer", "running_metrics", "metrics", "last_val_metrics")
_DROPPED_TRAIN_STATE = ("old_train_data_dirs", "data_files_used", "rev_data_files_remaining")


class ExportError(RuntimeError):
    """The run's directories cannot be written (the loop stops: nothing would get exported)."""


@dataclass(frozen=True)
class Pending:
    name: str
    path: str          # torchmodels_toexport[_extra]/<NAME>
    target_dir: str    # where the model directory goes


def pending_exports(base_dir: str, use_gating: bool) -> list[Pending]:
    """Checkpoint directories waiting for export, oldest first (by mtime, as KataGo's loop)."""
    out = []
    for source, gated, ungated in SOURCES:
        folder = os.path.join(base_dir, source)
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for e in entries:
            if e.name.startswith(".") or e.name.endswith((".tmp", ".exported")):
                continue
            try:
                if not e.is_dir():
                    continue
                mtime = e.stat().st_mtime
            except OSError:
                continue
            target = os.path.join(base_dir, gated if use_gating else ungated)
            out.append((mtime, e.name, Pending(e.name, e.path, target)))
    return [p for _, _, p in sorted(out)]


def taken_by(base_dir: str, name: str) -> Optional[str]:
    """The directory where a model called `name` already exists, if any."""
    for d in TAKEN_IN:
        path = os.path.join(base_dir, d, name)
        if os.path.exists(path):
            return path
    return None


def cleaned_checkpoint(state: dict) -> dict:
    """clean_checkpoint.py: the checkpoint without what only training needs."""
    out = {k: v for k, v in state.items() if k not in _DROPPED}
    if isinstance(out.get("train_state"), dict):
        out["train_state"] = {k: v for k, v in out["train_state"].items()
                              if k not in _DROPPED_TRAIN_STATE}
    return out


def metadata(state: dict) -> dict:
    """export_model_pytorch.py's metadata.json: counters, and the loss statistics without the
    short- and long-term optimistic policy terms."""
    train_state = state.get("train_state") or {}
    data = {k: train_state[k] for k in ("global_step_samples", "total_num_data_rows")
            if k in train_state}
    running = state.get("running_metrics")
    if isinstance(running, dict) and {"sums", "weights"} <= set(running):
        def keep(d):
            return {k: v for k, v in d.items() if "sopt" not in k and "lopt" not in k}
        data["extra_stats"] = {"sums": keep(running["sums"]), "weights": keep(running["weights"])}
        last = state.get("last_val_metrics")
        if isinstance(last, dict) and {"sums", "weights"} <= set(last):
            data["extra_stats"]["last_val_metrics"] = {"sums": keep(last["sums"]),
                                                       "weights": keep(last["weights"])}
    return data


def export_one(base_dir: str, p: Pending, name_prefix: str, model_version: int, use_swa: bool,
               use_gating: bool, publish_delay: float = 0.0) -> Optional[str]:
    """Export and publish one checkpoint; returns the published directory, or None when it was
    skipped (name taken, unreadable checkpoint moved aside)."""
    taken = taken_by(base_dir, p.name)
    if taken:
        if os.path.exists(os.path.join(taken, MODEL_FILE)) and os.path.exists(
                os.path.join(taken, "metadata.json")):
            # Our own earlier export, killed before it removed its source: finish the job.
            log.info("already exported, removing its checkpoint", extra=kv(name=p.name, at=taken))
            shutil.rmtree(p.path, ignore_errors=True)
        else:
            log.warning("not exporting: the name is taken", extra=kv(name=p.name, by=taken))
        return None
    model_name = f"{name_prefix}-{p.name}" if name_prefix else p.name
    if not is_valid_model_name(model_name):
        _move_aside(base_dir, p, f"model name {model_name!r} is not 1..96 characters of "
                                 "[A-Za-z0-9_-]")
        return None
    src = os.path.join(p.path, CHECKPOINT)
    try:
        state = read_checkpoint(src)
        # An average of no snapshot yet holds the initial weights (AveragedModel copies the net
        # when made): export the trained weights then, not the random init.
        swa = state.get("swa_model")
        has_swa = isinstance(swa, dict) and int(swa.get("n_averaged", 0)) > 0
        model = load_checkpoint_model(src, use_swa=use_swa and has_swa, pos_len=19, state=state)
    except CheckpointError as e:
        _move_aside(base_dir, p, str(e))
        return None
    work = p.path + ".exported"
    shutil.rmtree(work, ignore_errors=True)      # litter of a killed earlier export
    try:
        os.makedirs(work)
        started = time.time()
        save_model_file(model, os.path.join(work, MODEL_FILE), model_name, model_version)
        torch.save(cleaned_checkpoint(state), os.path.join(work, CHECKPOINT))
        with open(os.path.join(work, "metadata.json"), "w", encoding="utf-8") as f:
            json.dump(metadata(state), f)
        weights = "EMA/SWA" if use_swa and has_swa else "training"
        now = datetime.datetime.now(datetime.timezone.utc)
        with open(os.path.join(work, "log.txt"), "w", encoding="utf-8") as f:
            f.write(f"exported {src}\nmodel name {model_name}, version {model_version}, "
                    f"{weights} weights\n{now:%Y-%m-%d %H:%M:%S} UTC, "
                    f"{time.time() - started:.1f} s\n")
        os.makedirs(p.target_dir, exist_ok=True)
        if not use_gating and os.path.basename(p.target_dir) == "models":
            # Selfplay writes here as soon as it sees the model; made first, as KataGo does, so
            # that concurrent selfplay processes do not race to create it.
            for sub in ("sgfs", "tdata"):
                os.makedirs(os.path.join(base_dir, "selfplay", p.name, sub), exist_ok=True)
        if publish_delay > 0:
            time.sleep(publish_delay)
        final = os.path.join(p.target_dir, p.name)
        os.rename(work, final)
    except OSError as e:
        shutil.rmtree(work, ignore_errors=True)
        raise ExportError(f"cannot export {p.path}: {e}") from None
    shutil.rmtree(p.path, ignore_errors=True)
    log.info("exported", extra=kv(name=p.name, model=model_name, to=final, weights=weights,
                                  version=model_version))
    return final


def _move_aside(base_dir: str, p: Pending, reason: str) -> None:
    dest_dir = os.path.join(base_dir, FAILED_DIR)
    dest = os.path.join(dest_dir, p.name)
    n = 1
    while os.path.exists(dest):
        dest = os.path.join(dest_dir, f"{p.name}-{n}")
        n += 1
    try:
        os.makedirs(dest_dir, exist_ok=True)
        os.rename(p.path, dest)
    except OSError as e:
        raise ExportError(f"cannot move the unreadable checkpoint {p.path} aside: {e}") from None
    log.error("checkpoint not exported, moved aside", extra=kv(name=p.name, reason=reason,
                                                               moved_to=dest))


def export_all(base_dir: str, cfg, stop=lambda: False) -> Iterator[str]:
    """Export every pending checkpoint (oldest first) until none is left or `stop()`."""
    for p in pending_exports(base_dir, cfg.use_gating):
        if stop():
            return
        done = export_one(base_dir, p, cfg.name_prefix, cfg.model_version, cfg.use_swa,
                          cfg.use_gating, cfg.publish_delay_seconds)
        if done:
            yield done
