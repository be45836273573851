"""Shuffled npz files to training batches, straight from disk (training-data-npz.md §11).

Per file: the arrays are read once (common/files/trainingdata.py checks every shape and dtype
and names the file on any problem); this process's rows are selected as KataGo's trainer does
under DDP (rows of step s, rank r: [s*W*B + r*B, s*W*B + (r+1)*B)); the trailing rows that do
not fill a step for every rank are dropped.

Per batch, as KataGo's `read_npz_training_data`: the bits are unpacked; history is hidden per
row (moves 1..5 ago kept as a chain that stops with probability 0.02 at each step; hidden move
planes and pass features zeroed, the past-ladder planes rewritten so they never reveal hidden
history); one random symmetry of 8 is applied to the inputs, the policy targets (pass excluded)
and the spatial value targets. The result is exactly what KataGo's 22x22 history matrices give
(0/1 data, so no rounding is involved); it is computed with numpy slicing instead of an einsum.

Randomness: every draw for a file comes from `numpy.random.default_rng([seed, ordinal])`, drawn
for all rows of all ranks alike, so the batches depend only on the seed and the file's place in
the sub-epoch: a resumed run, a different worker count and 2 DDP ranks x B rows all see the same
symmetries and history masks as one process with 2B rows.

Batches travel in compact dtypes (uint8 planes, int16 policy, int8 targets) and become float32
on the device, so worker processes and pinned-memory copies move 4-8x fewer bytes.
"""
from __future__ import annotations

import signal
from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from goloop.common.files.trainingdata import read_npz
from goloop.trainer.loss import Batch

HISTORY_KEEP_PROB = 0.98      # training-data-npz.md §11: each older move stays visible with this
NUM_HISTORY_MOVES = 5
MOVE_PLANES = 9               # planes 9..13: where the moves 1..5 ago were played
LADDER_NOW, LADDER_1, LADDER_2 = 14, 15, 16


def apply_symmetry(x: np.ndarray, symm: int) -> np.ndarray:
    """One of the 8 board symmetries on the last two axes, numbered as KataGo's trainer numbers them."""
    t = np.swapaxes(x, -2, -1)
    if symm == 0:
        return x
    if symm == 1:
        return np.flip(t, -2)
    if symm == 2:
        return np.flip(np.flip(x, -1), -2)
    if symm == 3:
        return np.flip(t, -1)
    if symm == 4:
        return t
    if symm == 5:
        return np.flip(x, -1)
    if symm == 6:
        return np.flip(np.flip(t, -1), -2)
    return np.flip(x, -2)


def apply_symmetry_policy(policy: np.ndarray, symm: int, pos_len: int) -> np.ndarray:
    """The symmetry on N x C x (A + 1) policy-like targets; the pass entry stays last."""
    n, c = policy.shape[:2]
    board = apply_symmetry(policy[:, :, :-1].reshape(n, c, pos_len, pos_len), symm)
    return np.concatenate((board.reshape(n, c, pos_len * pos_len), policy[:, :, -1:]), axis=2)


def history_flags(uniforms: np.ndarray) -> np.ndarray:
    """N x 5 bool: move k ago stays visible iff none of the draws 0..k stopped the chain."""
    return np.cumsum(uniforms >= HISTORY_KEEP_PROB, axis=1) == 0


def hide_history(planes: np.ndarray, global_input: np.ndarray, keep: np.ndarray) -> tuple:
    """Apply the history flags to N x 22 x H x W planes (any dtype) and N x 19 globals (float32).

    Past-ladder planes describe earlier positions, so hidden history reads as 'nothing changed':
    without move 1, planes 15 and 16 copy plane 14; with move 1 but not move 2, 16 copies 15."""
    planes = planes.copy()
    for k in range(NUM_HISTORY_MOVES):
        planes[~keep[:, k], MOVE_PLANES + k] = 0
    no1, no2 = ~keep[:, 0], keep[:, 0] & ~keep[:, 1]
    planes[no1, LADDER_1] = planes[no1, LADDER_NOW]
    planes[no1, LADDER_2] = planes[no1, LADDER_NOW]
    planes[no2, LADDER_2] = planes[no2, LADDER_1]
    mult = np.ones_like(global_input)
    mult[:, :NUM_HISTORY_MOVES] = keep
    return planes, global_input * mult


class FileBatches:
    """The batches of one file for one rank (see the module docstring)."""

    def __init__(self, path: str, batch_size: int, world_size: int, rank: int, pos_len: int,
                 seed: Optional[Sequence[int]], augment: bool = True, keep_partial: bool = False):
        arrays = read_npz(path)
        rows = arrays["globalInputNC"].shape[0]
        tensor_len = arrays["valueTargetsNCHW"].shape[2]
        if tensor_len != pos_len:
            raise ValueError(f"{path}: data is {tensor_len}x{tensor_len}, the trainer expects "
                             f"pos_len {pos_len}")
        step = batch_size * world_size
        self.steps = rows // step
        used = self.steps * step
        self.pos_len = pos_len
        self.batch_size = batch_size
        self.augment = augment
        names = ("binaryInputNCHWPacked", "globalInputNC", "policyTargetsNCMove", "globalTargetsNC",
                 "scoreDistrN", "valueTargetsNCHW")

        def mine(a: np.ndarray) -> np.ndarray:
            a = a[:used].reshape((self.steps, world_size, batch_size) + a.shape[1:])[:, rank]
            return a.reshape((self.steps * batch_size,) + a.shape[2:])
        if keep_partial and world_size == 1 and used < rows:   # validation: every row counts
            self.arrays = {n: arrays[n] for n in names}
            self.bounds = [(s, min(s + batch_size, rows)) for s in range(0, rows, batch_size)]
        else:
            self.arrays = {n: mine(arrays[n]) for n in names}
            self.bounds = [(s * batch_size, (s + 1) * batch_size) for s in range(self.steps)]
        if augment:
            rng = np.random.default_rng(list(seed))
            self.symmetries = rng.integers(0, 8, size=self.steps)
            uniforms = rng.random((used, NUM_HISTORY_MOVES), dtype=np.float32)
            self.keep = history_flags(mine(uniforms))

    def __len__(self) -> int:
        return len(self.bounds)

    def batch(self, i: int) -> tuple:
        """Batch i as numpy arrays in compact dtypes, in `Batch` field order."""
        start, end = self.bounds[i]
        a = {n: v[start:end] for n, v in self.arrays.items()}
        area = self.pos_len * self.pos_len
        packed = a["binaryInputNCHWPacked"]
        planes = np.unpackbits(packed, axis=2)[:, :, :area].reshape(len(packed), -1, self.pos_len, self.pos_len)
        glob = a["globalInputNC"]
        policy, value = a["policyTargetsNCMove"], a["valueTargetsNCHW"]
        if self.augment:
            planes, glob = hide_history(planes, glob, self.keep[start:end])
            symm = int(self.symmetries[i])
            planes = apply_symmetry(planes, symm)
            policy = apply_symmetry_policy(policy, symm, self.pos_len)
            value = apply_symmetry(value, symm)
        return tuple(np.ascontiguousarray(x) for x in
                     (planes, glob, policy, a["globalTargetsNC"], a["scoreDistrN"], value))

    def __iter__(self) -> Iterator[tuple]:
        for i in range(len(self)):
            yield self.batch(i)


class EpochData(IterableDataset):
    """The batches of a sub-epoch's files; with DataLoader workers, worker w reads files w, w+W, ..."""

    def __init__(self, files: Sequence[str], batch_size: int, world_size: int, rank: int, pos_len: int,
                 seed: Optional[int], augment: bool = True, keep_partial: bool = False):
        super().__init__()
        self.files = list(files)
        self.args = (batch_size, world_size, rank, pos_len)
        self.seed = seed
        self.augment = augment
        self.keep_partial = keep_partial

    def __iter__(self) -> Iterator[tuple]:
        info = get_worker_info()
        workers, me = (1, 0) if info is None else (info.num_workers, info.id)
        for ordinal in range(me, len(self.files), workers):
            seed = None if self.seed is None else (self.seed, ordinal)
            for arrays in FileBatches(self.files[ordinal], *self.args, seed=seed, augment=self.augment,
                                      keep_partial=self.keep_partial):
                yield ordinal, arrays


def _worker_init(_worker_id: int) -> None:
    """Workers leave SIGINT to the trainer, which finishes its step and stops them itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def batch_loader(files: Sequence[str], batch_size: int, world_size: int, rank: int, pos_len: int,
                 seed: Optional[int], workers: int, pin_memory: bool, augment: bool = True,
                 keep_partial: bool = False) -> DataLoader:
    """A DataLoader yielding (file ordinal, compact-dtype tensors) per batch (`to_device` makes
    the Batch)."""
    dataset = EpochData(files, batch_size, world_size, rank, pos_len, seed, augment, keep_partial)
    extra = dict(prefetch_factor=4, worker_init_fn=_worker_init) if workers > 0 else {}
    return DataLoader(dataset, batch_size=None, num_workers=workers, pin_memory=pin_memory, **extra)


def to_device(arrays, device, channels_last: bool = False) -> Batch:
    """Compact tensors -> float32 Batch on `device` (copies overlap compute when pinned)."""
    def f(x):
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        return x.to(device, non_blocking=True).float()
    planes, glob, policy, gt, score, value = (f(x) for x in arrays)
    if channels_last:
        planes = planes.contiguous(memory_format=torch.channels_last)
    return Batch(planes, glob, policy, gt, score, value)
