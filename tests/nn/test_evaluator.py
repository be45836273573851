"""The evaluator's CPU fast path (traced, frozen graphs per input shape) against the plain model."""
import pathlib

import numpy as np
import pytest

from goloop.common.nn import evaluator as evaluator_module
from goloop.common.nn import features
from goloop.common.nn.evaluator import Evaluator

MODEL = pathlib.Path(__file__).resolve().parents[3] / "shared" / "models" / \
    "g170-b6c96-s175395328-d26788732.bin.gz"


@pytest.fixture(scope="module")
def pair():
    """The same net twice: the default CPU evaluator and the plain model (no trace, direct
    convolutions)."""
    return Evaluator.from_file(MODEL), Evaluator.from_file(MODEL, jit=False, winograd=False)


def _inputs(n: int, size: int, boards: list, seed: int = 0):
    """n rows in a size x size tensor; row i holds a boards[i] x boards[i] board with random
    stones (features beyond the stones stay zero, which the net accepts)."""
    rng = np.random.default_rng(seed)
    spatial = np.zeros((n, features.NUM_SPATIAL_FEATURES, size, size), np.float32)
    glob = np.zeros((n, features.NUM_GLOBAL_FEATURES), np.float32)
    for i, b in enumerate(boards):
        spatial[i, 0, :b, :b] = 1.0
        stones = rng.random((b, b))
        spatial[i, 1, :b, :b] = stones < 0.15
        spatial[i, 2, :b, :b] = stones > 0.85
    glob[:, 5] = -0.5   # komi 7.5 / 15 for white to move, as features.encode writes it
    return spatial, glob


def _assert_same(a, b, atol=1e-4):
    for x, y, name in zip(a, b, ("policy", "value", "score", "ownership")):
        np.testing.assert_allclose(x, y, atol=atol, rtol=1e-4, err_msg=name)


def _warm(ev, spatial, glob, syms):
    """Enough calls with one shape that the evaluator traces it."""
    for _ in range(evaluator_module.TRACE_AFTER + 1):
        ev.raw(spatial, glob, syms)


def test_traced_equals_eager(pair):
    fast, eager = pair
    spatial, glob = _inputs(3, 19, [19, 19, 19], seed=1)
    _warm(fast, spatial, glob, [0, 3, 6])
    assert fast._traced, "the shape was seen often enough to be traced"
    _assert_same(fast.raw(spatial, glob, [0, 3, 6]), eager.raw(spatial, glob, [0, 3, 6]))


def test_trace_of_full_boards_does_not_serve_a_smaller_board(pair):
    """A trace made while every board filled the tensor skips the mask multiplies; a later
    batch of the same shape holding a 9x9 board in a 19x19 tensor must not reuse it."""
    fast, eager = pair
    spatial, glob = _inputs(1, 19, [19], seed=2)
    _warm(fast, spatial, glob, [0])
    small, small_glob = _inputs(1, 19, [9], seed=3)
    _assert_same(fast.raw(small, small_glob, [0]), eager.raw(small, small_glob, [0]))
    _warm(fast, small, small_glob, [0])   # now traced without the full-board shortcut
    _assert_same(fast.raw(small, small_glob, [0]), eager.raw(small, small_glob, [0]))
    _assert_same(fast.raw(spatial, glob, [0]), eager.raw(spatial, glob, [0]))


def test_mixed_board_sizes_in_one_batch(pair):
    fast, eager = pair
    spatial, glob = _inputs(3, 13, [13, 9, 7], seed=4)
    _warm(fast, spatial, glob, [0, 1, 2])
    _assert_same(fast.raw(spatial, glob, [0, 1, 2]), eager.raw(spatial, glob, [0, 1, 2]))
