"""Winograd F(4x4, 3x3) convolution for CPU inference: the 3x3 convolutions of the trunk with
2.25x fewer multiplications than the direct method, for the boards where that pays.

Why: on a CPU a small net's batch-1 forward is almost all 3x3 convolutions, and oneDNN's direct
kernels already run near the core's peak, so the arithmetic itself has to shrink. Winograd's
method computes each 4x4 block of outputs from a 6x6 patch with 36 multiplications per channel
pair instead of 144; the rest is cheap transforms (winograd_tiles.pyx) and 36 matrix products
(torch.bmm). KataGo's OpenCL backend uses the same F(4x4, 3x3).

Where it pays is measured, not assumed (bench/nn_bench.py): with few tiles per board the 36
products are small, the transformed kernels (4x the bytes of the plain ones) cost more to read
than the multiplies saved, and padding each board side to a multiple of 4 is wasted work, so
small boards keep the direct convolution (see `winograd_pays`). The choice depends on the board
only, never on the batch, so a position gets the same outputs alone or in a batch.

Accuracy: outputs differ from the direct convolution by rounding, about 10x the direct method's
own rounding (policy logits up to ~1e-4 on real nets; the KataGo golden tests pass unchanged).

The convolution runs as the registered op `goloop::winograd_conv3x3`, so that TorchScript traces
of the model (evaluator.py) call it like any other op.
"""
from __future__ import annotations

import threading
from typing import Optional

import torch
from torch import Tensor, nn

from goloop.common.nn import winograd_tiles

# G of F(4x4, 3x3): U = G g G^T turns a 3x3 kernel into its 6x6 transform.
_G = torch.tensor([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                   [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
                  dtype=torch.float64)

# The smallest board side at which the Winograd path is faster (bench/nn_bench.py, its "Winograd
# gain" column: 9x9 loses at batch 1 and breaks even at batch 16).
MIN_SIDE = 13
# Tiles transformed and multiplied at a time (see winograd_conv3x3).
CHUNK_TILES = 200


def winograd_pays(height: int, width: int) -> bool:
    return min(height, width) >= MIN_SIDE


def transform_weights(weight: Tensor) -> Tensor:
    """Co x Ci x 3 x 3 kernels -> 36 x Ci x Co transformed kernels (computed in float64)."""
    if weight.dim() != 4 or tuple(weight.shape[2:]) != (3, 3):
        raise ValueError(f"a 3x3 kernel is Co x Ci x 3 x 3, not {tuple(weight.shape)}")
    co, ci = weight.shape[:2]
    u = torch.einsum("ai,oqij,bj->abqo", _G, weight.detach().to("cpu", torch.float64), _G)
    return u.reshape(36, ci, co).float().contiguous()


def winograd_conv3x3(x: Tensor, u: Tensor) -> Tensor:
    """The 'same' 3x3 convolution of x (N x C x H x W) with transformed kernels u; the result is
    N x Co x H x W in channels-last memory.

    Rows go through in chunks of about CHUNK_TILES tiles: the transformed data is 4x the input,
    and whole large batches of it fall out of the caches (one 96-channel conv, 19x19, batch 64:
    46 ms chunked, 53 ms whole; 13x13 batch 64 and 19x19 batch 16 within noise either way)."""
    n, c, h, w = x.shape
    th, tw = (h + 3) // 4, (w + 3) // 4
    co = u.shape[2]
    xh = x.permute(0, 2, 3, 1).contiguous().numpy()     # no copy for a channels-last x
    y = torch.empty((n, h, w, co))
    yh = y.numpy()
    rows = max(1, CHUNK_TILES // (th * tw))
    for start in range(0, n, rows):      # numpy slices: cheaper than torch's at batch 1
        k = min(rows, n - start)
        v, m = _scratch("v", (36, k * th * tw, c)), _scratch("m", (36, k * th * tw, co))
        winograd_tiles.input_transform(xh[start:start + k], v.numpy(), th, tw)
        torch.bmm(v, u, out=m)
        winograd_tiles.output_transform(m.numpy(), yh[start:start + k], th, tw)
    return y.permute(0, 3, 1, 2)


_local = threading.local()


def _scratch(role: str, shape: tuple) -> Tensor:
    """A reusable buffer per thread, role and shape (v and m must never share one): fresh
    ~350 KB buffers for every convolution cost page faults (2-5% of a 19x19 batch-1 forward)."""
    cache = getattr(_local, "buffers", None)
    if cache is None:
        cache = _local.buffers = {}
    buf = cache.get((role, shape))
    if buf is None:
        if len(cache) >= 16:
            cache.clear()
        with torch.inference_mode(False):    # usable inside and outside inference mode
            buf = cache[role, shape] = torch.empty(shape)
    return buf


_LIBRARY = torch.library.Library("goloop", "DEF")
_LIBRARY.define("winograd_conv3x3(Tensor x, Tensor u) -> Tensor")
_LIBRARY.impl("winograd_conv3x3", winograd_conv3x3, "CPU")


class WinogradConv3x3(nn.Module):
    """Inference-only stand-in for a bias-free 3x3 'same' nn.Conv2d (frozen weights).

    The transformed kernels take 4x the memory of the plain ones (b6c96: +14 MB; b18c384nbt:
    ~+380 MB), so they are made on the first board that uses them: a process that only sees
    small boards never holds them."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.conv = conv          # the direct path, traced exactly as before the swap
        self.u: Optional[Tensor] = None

    def forward(self, x: Tensor) -> Tensor:
        # A Python branch on the shape: a trace (one per input shape) keeps only the path taken.
        if x.dtype == torch.float32 and winograd_pays(int(x.shape[2]), int(x.shape[3])):
            if self.u is None:
                if torch.jit.is_tracing():
                    raise RuntimeError("WinogradConv3x3: run the model once untraced on a board "
                                       "this large before tracing it (the transformed kernels "
                                       "are made on first use)")
                self.u = transform_weights(self.conv.weight)
            return torch.ops.goloop.winograd_conv3x3(x, self.u)
        return self.conv(x)


def _replaceable(module: nn.Module) -> bool:
    return (isinstance(module, nn.Conv2d) and module.kernel_size == (3, 3) and module.bias is None
            and module.groups == 1 and module.stride == (1, 1) and module.dilation == (1, 1)
            and module.padding in ("same", (1, 1)))


def use_winograd(model: nn.Module) -> nn.Module:
    """Swap every 3x3 convolution of `model` (in place) for a WinogradConv3x3; returns the model.
    For inference on CPU: the new modules have no gradients."""
    for name, child in list(model.named_children()):
        if _replaceable(child):
            setattr(model, name, WinogradConv3x3(child))
        else:
            use_winograd(child)
    return model
