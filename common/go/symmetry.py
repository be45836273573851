"""The 8 symmetries of the board, numbered as KataGo numbers them.

Bits of k: 1 flips rows (y -> Y-1-y), 2 flips columns (x -> X-1-x), 4 transposes (x <-> y).
Inputs get the flips first and then the transpose; outputs come back through the inverse (undo
the transpose, then the flips). The two orders differ for k = 5 and 6, and KataGo's nets were
evaluated with exactly this one (shared/spec/input-features-v7.md §7), so `kata-raw-nn k` only
matches if we do the same. On a rectangular board the transpose bit is ignored.

Planes are numpy arrays or torch tensors whose last two axes are (y, x).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

NUM_SYMMETRIES = 8


def _effective(k: int, x_size: int, y_size: int) -> int:
    if not 0 <= k < NUM_SYMMETRIES:
        raise ValueError(f"symmetry must be 0..7, got {k}")
    return k if x_size == y_size else k & 3


def transform_point(point: Optional[Tuple[int, int]], k: int, x_size: int,
                    y_size: int) -> Optional[Tuple[int, int]]:
    """Where the content of `point` goes under symmetry k (None, a pass, stays a pass)."""
    if point is None:
        return None
    k = _effective(k, x_size, y_size)
    x, y = point
    if k & 2:
        x = x_size - 1 - x
    if k & 1:
        y = y_size - 1 - y
    if k & 4:
        x, y = y, x
    return x, y


def inverse_transform_point(point: Optional[Tuple[int, int]], k: int, x_size: int,
                            y_size: int) -> Optional[Tuple[int, int]]:
    """The point whose content lands on `point` under symmetry k."""
    if point is None:
        return None
    k = _effective(k, x_size, y_size)
    x, y = point
    if k & 4:
        x, y = y, x
    if k & 2:
        x = x_size - 1 - x
    if k & 1:
        y = y_size - 1 - y
    return x, y


def _flip(planes, axis: int):
    # torch tensors flip with .flip (no negative-step slicing); numpy arrays take a view.
    if hasattr(planes, "flip"):
        return planes.flip((axis,))
    return np.flip(planes, axis)


def apply_symmetry(planes, k: int):
    """Planes (..., Y, X) as the net sees them under symmetry k (flips, then transpose)."""
    y_size, x_size = planes.shape[-2], planes.shape[-1]
    k = _effective(k, x_size, y_size)
    if k & 1:
        planes = _flip(planes, -2)
    if k & 2:
        planes = _flip(planes, -1)
    if k & 4:
        planes = planes.swapaxes(-1, -2)
    return planes


def inverse_symmetry(planes, k: int):
    """Map planes produced under symmetry k back to the normal orientation."""
    y_size, x_size = planes.shape[-2], planes.shape[-1]
    k = _effective(k, x_size, y_size)
    if k & 4:
        planes = planes.swapaxes(-1, -2)
    if k & 2:
        planes = _flip(planes, -1)
    if k & 1:
        planes = _flip(planes, -2)
    return planes


def policy_permutation(k: int, x_size: int, y_size: int) -> np.ndarray:
    """perm[i] = index under symmetry k of policy entry i (pos = y*X + x; pass last, fixed).

    For a square board; with a rectangular one the transpose bit is ignored, so the transformed
    board has the same shape and the same indexing.
    """
    k = _effective(k, x_size, y_size)
    perm = np.empty(x_size * y_size + 1, dtype=np.int64)
    for y in range(y_size):
        for x in range(x_size):
            tx, ty = transform_point((x, y), k, x_size, y_size)
            perm[y * x_size + x] = ty * x_size + tx
    perm[-1] = x_size * y_size
    return perm
