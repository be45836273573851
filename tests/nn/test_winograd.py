"""Winograd F(4x4, 3x3) convolutions (common/nn/winograd.py) against the direct convolution."""
import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from goloop.common.nn import winograd, winograd_tiles
from goloop.common.nn.model import Model
from goloop.common.nn.modelconfigs import config_of_name


def _reference(x, weight):
    """The exact convolution, in float64."""
    return F.conv2d(x.double(), weight.double(), padding=1)


@pytest.mark.parametrize("n, c_in, c_out, h, w", [
    (1, 96, 96, 19, 19),    # 5x5 tiles, the last row and column of tiles cropped
    (1, 8, 5, 4, 4),        # exactly one tile
    (2, 7, 3, 5, 9),        # odd channel counts, rectangular, crops on both axes
    (3, 16, 32, 13, 13),
    (1, 4, 4, 1, 1),        # a 1x1 board: only the kernel's centre sees data
])
def test_equals_the_direct_convolution(n, c_in, c_out, h, w):
    g = torch.Generator().manual_seed(n * 1000 + c_in * 10 + h)
    x = torch.randn(n, c_in, h, w, generator=g)
    weight = torch.randn(c_out, c_in, 3, 3, generator=g) / (3 * c_in ** 0.5)
    got = winograd.winograd_conv3x3(x, winograd.transform_weights(weight))
    assert got.shape == (n, c_out, h, w)
    want = _reference(x, weight)
    scale = want.abs().max().item()
    assert (got.double() - want).abs().max().item() <= 2e-5 * max(scale, 1.0)


def test_batches_go_through_in_chunks(monkeypatch):
    """Rows split across chunks give the same result as one chunk, bit for bit."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(7, 6, 10, 11, generator=g).contiguous(memory_format=torch.channels_last)
    u = winograd.transform_weights(torch.randn(4, 6, 3, 3, generator=g))
    whole = winograd.winograd_conv3x3(x, u)
    monkeypatch.setattr(winograd, "CHUNK_TILES", 20)    # 9 tiles per row: 2 rows per chunk
    assert torch.equal(winograd.winograd_conv3x3(x, u), whole)


def test_transform_refuses_mismatched_buffers():
    x = np.zeros((1, 9, 9, 4), np.float32)
    with pytest.raises(ValueError, match="does not fit"):
        winograd_tiles.input_transform(x, np.zeros((36, 8, 4), np.float32), 3, 3)
    with pytest.raises(ValueError, match="does not fit"):
        winograd_tiles.output_transform(np.zeros((36, 9, 4), np.float32),
                                        np.zeros((1, 13, 13, 4), np.float32), 3, 3)
    with pytest.raises(ValueError, match="3x3 kernel"):
        winograd.transform_weights(torch.zeros(4, 4, 5, 5))


def _inputs(n, size, board):
    g = torch.Generator().manual_seed(size * 10 + board)
    spatial = torch.zeros(n, 22, size, size)
    spatial[:, 0, :board, :board] = 1.0
    stones = torch.rand(n, board, board, generator=g)
    spatial[:, 1, :board, :board] = (stones < 0.15).float()
    spatial[:, 2, :board, :board] = (stones > 0.85).float()
    return spatial, torch.zeros(n, 19)


def test_model_swap():
    """Only bias-free 3x3 convolutions are swapped; the model computes the same function (to
    rounding) on boards that use Winograd and exactly the same on boards that do not."""
    torch.manual_seed(0)
    plain = Model(config_of_name("b2c16"), pos_len=19).eval()
    fast = winograd.use_winograd(copy.deepcopy(plain))
    swapped = [m for m in fast.modules() if isinstance(m, winograd.WinogradConv3x3)]
    threes = [m for m in plain.modules()
              if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(swapped) == len(threes) > 0
    assert all(m.u is None for m in swapped)    # nothing transformed before a large board
    assert isinstance(fast.heads.policy.conv1p, torch.nn.Conv2d)    # 1x1 convolutions stay
    with torch.inference_mode():
        for size, board, exact in ((9, 9, True), (19, 19, False), (19, 9, False)):
            spatial, glob = _inputs(2, size, board)
            a, b = plain(spatial, glob), fast(spatial, glob)
            for name in ("policy", "value", "misc", "ownership"):
                if exact:
                    assert torch.equal(getattr(a, name), getattr(b, name)), name
                    assert all(m.u is None for m in swapped)    # still not needed
                else:
                    torch.testing.assert_close(getattr(b, name), getattr(a, name),
                                               atol=1e-4, rtol=1e-4)


def test_traces_call_the_op_only_where_it_pays():
    model = winograd.use_winograd(Model(config_of_name("b2c16"), pos_len=19).eval())
    model.requires_grad_(False)
    spatial, glob = _inputs(1, 19, 19)
    with pytest.raises(RuntimeError, match="once untraced"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(lambda s, g: model(s, g).policy, (spatial, glob), check_trace=False)
    for size, used in ((19, True), (13, True), (9, False)):
        spatial, glob = _inputs(1, size, size)
        with torch.no_grad():
            model(spatial, glob)        # the transformed kernels are made here, untraced
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")    # the tracer's notes on shapes it fixes
            graph = str(torch.jit.trace(lambda s, g: model(s, g).policy, (spatial, glob),
                                        check_trace=False).graph)
        assert ("goloop::winograd_conv3x3" in graph) == used, size


def test_scratch_buffers_work_in_and_out_of_inference_mode():
    """The per-thread scratch buffers are shared by every call of one shape: made inside
    inference mode they must still serve a call outside it, and the other way round."""
    g = torch.Generator().manual_seed(9)
    x = torch.randn(1, 12, 17, 17, generator=g)
    u = winograd.transform_weights(torch.randn(12, 12, 3, 3, generator=g))
    with torch.inference_mode():
        inside = winograd.winograd_conv3x3(x, u)
    outside = winograd.winograd_conv3x3(x, u)
    with torch.inference_mode():
        again = winograd.winograd_conv3x3(x, u)
    assert torch.equal(inside, outside) and torch.equal(outside, again)
