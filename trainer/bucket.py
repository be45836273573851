"""The train bucket: how many samples the trainer may still train before it needs new data.

Why: in a self-play loop the trainer must not run ahead of selfplay and overfit a window that
no longer moves. KataGo meters it with a bucket of samples (shuffler-and-window.md §8): each new
data row the shuffler reports adds `max_train_bucket_per_new_data` samples, capped at
max(`max_train_bucket_size`, one epoch); each epoch takes one epoch's worth out, and an epoch
starts only when the bucket holds more than 99 % of one. The state lives in KataGo's
`train_state` keys, so it survives restarts and moves with a checkpoint between KataGo and goloop.

Pure functions over the `train_state` dict; they return what happened for the log.
"""
from __future__ import annotations

from typing import Optional


def init_bucket(train_state: dict, per_new_data: Optional[float], samples_per_epoch: int) -> None:
    """A fresh run (or a checkpoint without a bucket) starts with one free epoch."""
    if per_new_data is not None and "train_bucket_level" not in train_state:
        train_state["train_bucket_level"] = samples_per_epoch


def refill(train_state: dict, total_rows: int, per_new_data: Optional[float], max_size: float,
           samples_per_epoch: int) -> dict:
    """Credit the rows added since the last refill (call when a new shuffle is seen).

    The first shuffle seen earns nothing (existing data is not new); rows going backwards (data
    deleted, or a net moved to another run) reset the mark without credit."""
    if per_new_data is None:
        return {}
    if "train_bucket_level_at_row" not in train_state:
        train_state["train_bucket_level_at_row"] = total_rows
    at_row = train_state["train_bucket_level_at_row"]
    if total_rows > at_row:
        new_rows = total_rows - at_row
        train_state["train_bucket_level_at_row"] = total_rows
        level = train_state["train_bucket_level"] + new_rows * per_new_data
        train_state["train_bucket_level"] = min(level, max(max_size, samples_per_epoch))
        return {"new_rows": new_rows, "bucket": train_state["train_bucket_level"]}
    if total_rows < at_row:
        train_state["train_bucket_level_at_row"] = total_rows
        return {"rows_went_back_from": at_row, "to": total_rows}
    return {}


def take_epoch(train_state: dict, per_new_data: Optional[float], samples_per_epoch: int) -> bool:
    """Take one epoch out of the bucket if it holds enough (> 0.99 epochs); False = wait for data."""
    if per_new_data is None:
        return True
    if train_state["train_bucket_level"] > 0.99 * samples_per_epoch:
        train_state["train_bucket_level"] -= samples_per_epoch
        return True
    return False


def refund(train_state: dict, per_new_data: Optional[float], samples: float) -> None:
    """Give back the samples of an epoch that was stopped early (SIGINT), so that a restart can
    train a whole epoch again."""
    if per_new_data is not None and samples > 0:
        train_state["train_bucket_level"] += samples


def reload_limited(train_state: dict, max_since_reload: Optional[float], samples_per_epoch: int,
                   sub_epochs: int) -> bool:
    """True when `max_train_steps_since_last_reload` forbids another sub-epoch on this shuffle."""
    if max_since_reload is None:
        return False
    return train_state["train_steps_since_last_reload"] + 0.99 * samples_per_epoch / sub_epochs > max_since_reload
