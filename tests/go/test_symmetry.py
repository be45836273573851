"""The 8 symmetries: KataGo's numbering and order, point and plane forms agreeing."""
import numpy as np
import pytest

from goloop.common.go.symmetry import (
    apply_symmetry,
    inverse_symmetry,
    inverse_transform_point,
    policy_permutation,
    transform_point,
)


@pytest.mark.parametrize("k", range(8))
@pytest.mark.parametrize("size", [(9, 9), (7, 11), (19, 19), (2, 5)])
def test_points_and_planes_agree_and_invert(k, size):
    x_size, y_size = size
    planes = np.arange(2 * x_size * y_size).reshape(2, y_size, x_size)
    out = apply_symmetry(planes, k)
    for y in range(y_size):
        for x in range(x_size):
            tx, ty = transform_point((x, y), k, x_size, y_size)
            assert out[0, ty, tx] == planes[0, y, x]
            assert inverse_transform_point((tx, ty), k, x_size, y_size) == (x, y)
    assert np.array_equal(inverse_symmetry(out, k), planes)
    perm = policy_permutation(k, x_size, y_size)
    flat = np.append(planes[0].reshape(-1), -1)
    moved = np.empty_like(flat)
    moved[perm] = flat
    assert np.array_equal(moved[:-1].reshape(out.shape[1:]), out[0])
    assert transform_point(None, k, x_size, y_size) is None


def test_katago_order_flips_then_transpose():
    # k = 5 (flip rows + transpose): the content of (x=1, y=0) on a 3x3 goes to row-flipped
    # (1, 2), then transposed to (2, 1). The other order would give (0, 1).
    assert transform_point((1, 0), 5, 3, 3) == (2, 1)
    assert transform_point((1, 0), 6, 3, 3) == (0, 1)
    assert transform_point((2, 0), 1, 3, 3) == (2, 2)
    assert transform_point((2, 0), 2, 3, 3) == (0, 0)
    assert transform_point((2, 0), 4, 3, 3) == (0, 2)


def test_transpose_ignored_on_rectangular_boards():
    for k in range(4):
        assert transform_point((1, 2), k, 5, 7) == transform_point((1, 2), k + 4, 5, 7)


def test_symmetry_group_is_closed():
    pts = [(x, y) for x in range(5) for y in range(5)]
    images = {tuple(transform_point(p, k, 5, 5) for p in pts) for k in range(8)}
    assert len(images) == 8
    with pytest.raises(ValueError):
        transform_point((0, 0), 8, 5, 5)
