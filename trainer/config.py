"""`goloop train`'s configuration: KataGo train.py's flags as config keys, with train.py's defaults.

Why train.py's names: people move run scripts between KataGo and goloop, so every option whose
concept is the same keeps train.py's name (its `args` key: `batch_size`, `lr_scale`,
`max_train_bucket_per_new_data`, ...) and default; `goloop train` accepts both `--batch-size` and
KataGo's `-batch-size`. Keys that only goloop has (where files go, the data loader, the seed)
say so in their help. Spec: model-architecture.md §6-§7, shuffler-and-window.md §8,
directory-protocol.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from goloop.common.config import ConfigError, setting


@dataclass(frozen=True)
class TrainConfig:
    """Everything `goloop train` reads."""

    # --- Where (directory-protocol.md) -------------------------------------------------------
    base_dir: str = setting("", "BASEDIR: data from BASEDIR/shuffleddata/<newest>/, checkpoints in "
                            "BASEDIR/train/<name>/, exports to BASEDIR/torchmodels_toexport/. "
                            "Set with --base-dir.")
    name: str = setting("", "Training name (train.py's -exportprefix): exports are named "
                        "<name>-s<samples>-d<rows>. Set with --name.")
    datadir: str = setting("", "A fixed shuffled-data directory (with train/ and val/) instead of the "
                           "newest under BASEDIR/shuffleddata (train.py's -datadir).")
    traindir: str = setting("", "Checkpoint directory; empty = BASEDIR/train/<name> (train.py's -traindir).")
    exportdir: str = setting("", "Export directory; empty = BASEDIR/torchmodels_toexport "
                             "(train.py's -exportdir).")
    model_kind: str = setting("b6c96", "Model config name for a fresh net (train.py's -model-kind), "
                              "e.g. b6c96, b18c384nbt, b18c384nbt-fson-mish-rvgl-bnh without -rvgl.")
    initial_checkpoint: str = setting("", "Warm start when traindir has no checkpoint: a goloop or "
                                      "KataGo checkpoint, or a KataGo model file (.bin.gz ...). Set "
                                      "with --initial-model.")
    pos_len: int = setting(19, "Board tensor size of the data (dataBoardLen).", min=2, max=19)

    # --- Epochs and batches ------------------------------------------------------------------
    batch_size: int = setting(256, "Per-process batch size (train.py's -batch-size; KataGo's runs "
                              "use 256, its synchronous loop 128).", min=1)
    samples_per_epoch: int = setting(1000000, "Samples per epoch.", min=1)
    sub_epochs: int = setting(1, "Reload the newest data up to this many times per epoch.", min=1)
    max_epochs_this_instance: Optional[int] = setting(None, "Stop after this many epochs.", min=0)
    max_training_samples: Optional[int] = setting(None, "Stop once global_step_samples reaches this.", min=0)
    epochs_per_export: int = setting(1, "Export every this many epochs.", min=1)
    export_prob: Optional[float] = setting(None, "Export only with this probability.", min=0.0, max=1.0)
    no_export: bool = setting(False, "Never export.")
    sleep_seconds_per_epoch: float = setting(0.0, "Sleep between epochs (train.py sleeps 1 s by "
                                             "default; goloop does not need to).", min=0.0)
    max_val_samples: Optional[int] = setting(None, "At most about this many validation samples per epoch.",
                                             min=0)
    randomize_val: bool = setting(False, "Validate on the val files in random order, not sorted.")

    # --- Train bucket and data intake (shuffler-and-window.md §8) -----------------------------
    max_train_bucket_per_new_data: Optional[float] = setting(
        None, "Train at most this many samples per new data row (unset: no limit).", min=0.0)
    max_train_bucket_size: float = setting(1.0e30, "Cap of the train bucket, in samples.", min=0.0)
    max_train_steps_since_last_reload: Optional[float] = setting(
        None, "Refuse to train more than about this many samples on one shuffle.", min=0.0)
    stop_when_train_bucket_limited: bool = setting(False, "Exit instead of waiting when the bucket is "
                                                   "empty (synchronous loop).")
    no_repeat_files: bool = setting(False, "Use each shuffled file at most once, even across restarts.")
    quit_if_no_data: bool = setting(False, "Exit instead of waiting when there is no (new) data.")
    data_wait_seconds: float = setting(30.0, "How long to wait before looking for data again "
                                       "(goloop; train.py waits 30 s, or 5 min for the bucket).", min=0.0)
    bucket_wait_seconds: float = setting(300.0, "Wait while the train bucket is empty (goloop; "
                                         "train.py: 5 min).", min=0.0)

    # --- Learning rate, optimizer (model-architecture.md §7) ----------------------------------
    lr_scale: float = setting(1.0, "Multiplier on the per-sample learning rate 3e-5.", min=0.0)
    lr_scale_auto: bool = setting(False, "KataGo's built-in LR schedule by samples (8x down to 0.5x).")
    lr_scale_auto2: Optional[float] = setting(None, "KataGo's second built-in schedule, times this.", min=0.0)
    lr_schedule: str = setting("", "Piecewise-constant LR scale '(0,12.0),(20M,9.0),...' by "
                               "global_step_samples (K/M/B suffixes).")
    no_lr_warmup: bool = setting(False, "Disable the 2M-sample LR warmup.")
    head_lr_factor: float = setting(0.5, "LR factor of the output heads.", min=0.0)
    noreg_lr_factor: float = setting(1.0, "LR factor of biases and norm betas.", min=0.0)
    input_wd_factor: float = setting(1.0, "Extra factor on the input layers' weight decay.", min=0.0)
    normal_wd_factor: float = setting(1.0, "Extra factor on the trunk weights' weight decay.", min=0.0)
    gnorm_clip_scale: float = setting(1.0, "Multiplier on the gradient-norm clip threshold.", min=0.0)
    use_adamw: bool = setting(False, "AdamW instead of SGD with momentum.")
    lookahead_k: int = setting(6, "Lookahead: sync every this many steps.", min=1)
    lookahead_alpha: float = setting(0.5, "Lookahead step toward the fast weights; 1.0 disables it.",
                                     min=1e-9, max=1.0)
    swa_scale: float = setting(8.0, "The exported EMA averages about this many snapshots.", min=1.0)
    swa_period_samples: Optional[float] = setting(None, "Samples between EMA snapshots (unset: "
                                                  "samples_per_epoch // 2).", min=1.0)

    # --- Loss (model-architecture.md §6) -------------------------------------------------------
    soft_policy_weight_scale: float = setting(8.0, "Soft policy loss coefficient.", min=0.0)
    disable_optimistic_policy: bool = setting(False, "Train the optimistic policies on half weight "
                                              "instead of the optimism weights.")
    value_loss_scale: float = setting(0.6, "Value loss coefficient.", min=0.0)
    td_value_loss_scales: tuple[float, ...] = setting((0.6, 0.6, 0.6), "TD value loss coefficients "
                                                      "(long, mid, short).", min=0.0)
    seki_loss_scale: float = setting(1.0, "Seki loss coefficient.", min=0.0)
    variance_time_loss_scale: float = setting(1.0, "Variance-time loss coefficient.", min=0.0)
    main_loss_scale: Optional[float] = setting(None, "Main-head loss factor (nets with an intermediate "
                                               "head; unset: 0.5, or 0.2 for -bnh).", min=0.0)
    intermediate_loss_scale: Optional[float] = setting(None, "Intermediate-head loss factor (unset: "
                                                       "0.5, or 0.8 for -bnh).", min=0.0)

    # --- Compute (goloop) ----------------------------------------------------------------------
    device: str = setting("auto", "Torch device: auto (cuda if available), cpu, cuda, cuda:N. Under "
                          "torchrun each process takes cuda:LOCAL_RANK.")
    use_bf16: str = setting("auto", "bf16 autocast: auto (on CUDA), true, false (train.py's -use-bf16).")
    compile: str = setting("auto", "torch.compile the model: auto (only on CUDA, where it pays; on "
                           "CPU it did not, see bench/train_bench.py), true, false (-no-compile).")
    channels_last: bool = setting(True, "Convolutions in channels-last layout: faster on CPU (about "
                                  "1.25x per training step measured here) and on GPU. false computes "
                                  "KataGo's float sums exactly (for bit-exact cross-checks).")
    data_loader_workers: Optional[int] = setting(None, "Background processes preparing batches "
                                                 "(unset: 2 on CUDA, 0 on CPU).", min=0, max=64)
    cpu_threads: Optional[int] = setting(None, "torch intra-op threads on CPU (unset: cores minus "
                                         "data-loader workers).", min=1, max=1024)
    seed: Optional[int] = setting(None, "Seed of all training randomness (unset: random, kept in the "
                                  "checkpoint so a resumed run continues the same stream).", min=0)
    augment: bool = setting(True, "Random symmetry and history hiding per batch, as KataGo. false "
                            "trains on the rows as stored (for exact cross-checks with a KataGo "
                            "run patched the same way; not for real training).")
    print_every_batches: int = setting(100, "Log, TensorBoard and metrics.jsonl every this many "
                                       "batches (train.py: 100).", min=1)

    def __post_init__(self):
        if self.lr_schedule and (self.lr_scale != 1.0 or self.lr_scale_auto or self.lr_scale_auto2 is not None):
            raise ConfigError("lr_schedule excludes lr_scale, lr_scale_auto and lr_scale_auto2")
        if self.lr_scale_auto and self.lr_scale_auto2 is not None:
            raise ConfigError("give at most one of lr_scale_auto and lr_scale_auto2")
        if len(self.td_value_loss_scales) != 3:
            raise ConfigError("td_value_loss_scales needs 3 values (long, mid, short)")
        for value, key in ((self.use_bf16, "use_bf16"), (self.compile, "compile")):
            if value not in ("auto", "true", "false"):
                raise ConfigError(f"{key} must be auto, true or false, got {value!r}")

    # Paths and derived defaults --------------------------------------------------------------

    @property
    def train_dir(self) -> str:
        return self.traindir or os.path.join(self.base_dir, "train", self.name)

    @property
    def export_dir(self) -> str:
        return self.exportdir or os.path.join(self.base_dir, "torchmodels_toexport")

    @property
    def latest_data_parent(self) -> str:
        return os.path.join(self.base_dir, "shuffleddata")

    @property
    def swa_period(self) -> float:
        return self.swa_period_samples if self.swa_period_samples is not None else max(1, self.samples_per_epoch // 2)

    @property
    def lookahead_enabled(self) -> bool:
        return self.lookahead_alpha < 1.0
