"""Where training metrics go: KataGo's running averages, TensorBoard, metrics.jsonl, log lines.

KataGo's conventions (katago/train/metrics_logging.py): a `*_sum` metric is reported as a
0.999-decayed average per sample; a `*_batch` metric as the mean per batch since the last
report; anything else (`nsamp`, `wsum`) as a running total. `running_metrics` keeps the sums and
weights in KataGo's checkpoint format, so a resumed run (in either trainer) keeps its averages.

Per step the metrics stay on the device (one stacked tensor, accumulated without a host sync);
they are read back only every `print_every_batches` steps.

Every report becomes one TensorBoard scalar per value (`train/<name>`) and one JSON line in
`<traindir>/metrics.jsonl` with the same values plus `loss` (the average total loss per sample),
`global_step_samples`, `samples_per_s` and `time`.
"""
from __future__ import annotations

import json
import math
import os
import time
from typing import Optional

import torch

SUM_DECAY = 0.999


def value_of(x) -> float:
    return float(x.item()) if isinstance(x, torch.Tensor) else float(x)


class DeviceAccumulator:
    """KataGo's accumulation into `running_metrics` ("sums"/"weights"), with the `_sum` metrics
    kept as device tensors between reports (no host sync per step)."""

    def __init__(self, running: dict):
        self.running = running
        running.setdefault("sums", {})
        running.setdefault("weights", {})
        self.keys: Optional[list] = None
        self.sums = None
        self.weights = None
        self.other: dict = {}      # *_batch (mean per batch) and totals, since the last report

    def add(self, metrics: dict, batch_size: int) -> None:
        keys = sorted(k for k, v in metrics.items() if k.endswith("_sum") and isinstance(v, torch.Tensor))
        vec = torch.stack([metrics[k].detach().float().reshape(()) for k in keys])
        if self.keys != keys:
            self._sync()
            sums, weights = self.running["sums"], self.running["weights"]
            self.keys = keys
            self.sums = torch.tensor([sums.get(k, 0.0) for k in keys], device=vec.device)
            self.weights = torch.tensor([weights.get(k, 0.0) for k in keys], device=vec.device)
        self.sums.mul_(SUM_DECAY).add_(vec)
        self.weights.mul_(SUM_DECAY).add_(float(batch_size))
        for k, v in metrics.items():
            if k in keys or k.endswith("_sum"):
                continue
            s, n = self.other.get(k, (0.0, 0))
            self.other[k] = (s + v, n + (1 if k.endswith("_batch") else batch_size))

    def _sync(self) -> None:
        if self.keys is not None:
            for k, s, w in zip(self.keys, self.sums.tolist(), self.weights.tolist()):
                self.running["sums"][k], self.running["weights"][k] = s, w

    def flush(self) -> None:
        """Bring running_metrics up to date (before a checkpoint): the device sums and the
        running totals; per-batch means stay pending for the next report."""
        self._sync()
        sums, weights = self.running["sums"], self.running["weights"]
        for k in [k for k in self.other if not k.endswith("_batch")]:
            s, n = self.other.pop(k)
            sums[k] = sums.get(k, 0.0) + value_of(s)
            weights[k] = weights.get(k, 0.0) + n

    def report(self) -> dict:
        """Flush, then the values KataGo would print: `_sum` metrics as averages per sample,
        `_batch` metrics as means since the last report, totals as totals."""
        self.flush()
        sums, weights = self.running["sums"], self.running["weights"]
        out = {}
        for k in self.keys or []:
            out[k[:-4]] = sums[k] / weights[k] if weights[k] else math.nan
        for k in ("nsamp", "wsum"):
            if k in sums:
                out[k] = sums[k]
        for k, (s, n) in self.other.items():
            out[k] = value_of(s) / n
        self.other = {}
        return out


class Reporter:
    """TensorBoard + metrics.jsonl + one log line per report (rank 0 only)."""

    def __init__(self, train_dir: str, enabled: bool):
        self.enabled = enabled
        self.writer = None
        self.jsonl = None
        self.last_time = time.perf_counter()
        self.last_samples: Optional[int] = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter
            os.makedirs(train_dir, exist_ok=True)
            self.writer = SummaryWriter(os.path.join(train_dir, "tensorboard"))
            self.jsonl = open(os.path.join(train_dir, "metrics.jsonl"), "a", encoding="utf-8")

    def report(self, values: dict, samples: int, kind: str = "train") -> dict:
        now = time.perf_counter()
        record = {k: v for k, v in values.items() if isinstance(v, (int, float)) and math.isfinite(v)}
        if kind == "train" and self.last_samples is not None and now > self.last_time:
            record["samples_per_s"] = (samples - self.last_samples) / (now - self.last_time)
        if kind == "train":
            self.last_time, self.last_samples = now, samples
        record["loss"] = values.get("loss", math.nan)
        record.update(kind=kind, global_step_samples=samples, time=time.time())
        if self.enabled:
            for k, v in record.items():
                if isinstance(v, (int, float)) and k not in ("time", "global_step_samples"):
                    self.writer.add_scalar(f"{kind}/{k}", v, samples)
            self.writer.flush()
            self.jsonl.write(json.dumps(record) + "\n")
            self.jsonl.flush()
        return record

    def mark(self, samples: int) -> None:
        """Restart the samples/s clock (after waiting for data, validation, export...)."""
        self.last_time, self.last_samples = time.perf_counter(), samples

    def close(self) -> None:
        if self.enabled:
            self.writer.close()
            self.jsonl.close()
