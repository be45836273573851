"""npz -> batches: history hiding as KataGo's linear history maps, the 8 symmetries, DDP row
selection, and independence from the number of loader workers."""
import itertools

import numpy as np
import pytest
import torch
from trainer_testdata import KATAGO_PYTHON, write_shuffle

from goloop.common.files.trainingdata import TrainingDataError
from goloop.trainer import data as tdata


def test_history_flags_are_a_chain():
    u = np.array([[0.1, 0.99, 0.1, 0.1, 0.1], [0.5] * 5, [0.985, 0.1, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.1, 0.98]])
    keep = tdata.history_flags(u)
    assert keep.tolist() == [[True, False, False, False, False], [True] * 5, [False] * 5,
                             [True, True, True, True, False]]
    rng = np.random.default_rng(0)
    keep = tdata.history_flags(rng.random((200000, 5), dtype=np.float32))
    assert keep[:, 0].mean() == pytest.approx(0.98, abs=0.002)
    assert keep[:, 4].mean() == pytest.approx(0.98 ** 5, abs=0.003)


def _history_map(keep):
    """out plane l = sum_i in plane i * H[i, l]: the identity, minus hidden move planes; hidden
    history makes the past-ladder planes repeat the newer one (training-data-npz.md §11)."""
    h = np.eye(22)
    for k in range(5):
        if not keep[k]:
            h[9 + k, 9 + k] = 0
    if not keep[0]:
        h[15, 15] = h[16, 16] = 0
        h[14, 15] = h[14, 16] = 1
    elif not keep[1]:
        h[16, 16] = 0
        h[15, 16] = 1
    return h


def test_hiding_history_equals_the_linear_history_map():
    rng = np.random.default_rng(3)
    patterns = [[True] * k + [False] * (5 - k) for k in range(6)]
    planes = (rng.random((6, 22, 5, 5)) < 0.4).astype(np.uint8)
    glob = rng.random((6, 19)).astype(np.float32)
    keep = np.array(patterns)
    got_planes, got_glob = tdata.hide_history(planes, glob, keep)
    for n, pattern in enumerate(patterns):
        want = np.einsum("ijk,il->ljk", planes[n].astype(np.float64), _history_map(pattern))
        assert np.array_equal(got_planes[n], want.astype(np.uint8)), pattern
        assert np.array_equal(got_glob[n, :5], glob[n, :5] * np.array(pattern))
        assert np.array_equal(got_glob[n, 5:], glob[n, 5:])


def test_symmetries_form_the_dihedral_group_and_move_targets_with_stones():
    x = np.arange(25).reshape(1, 1, 5, 5)
    images = [tdata.apply_symmetry(x, s) for s in range(8)]
    assert len({im.tobytes() for im in images}) == 8
    for s in range(8):    # closed under composition
        for t in range(8):
            comp = tdata.apply_symmetry(tdata.apply_symmetry(x, s), t)
            assert any(np.array_equal(comp, im) for im in images)
    planes = np.zeros((1, 1, 5, 5), np.uint8)
    planes[0, 0, 1, 3] = 1
    policy = np.zeros((1, 1, 26), np.int16)
    policy[0, 0, 1 * 5 + 3] = 7
    policy[0, 0, 25] = 3
    for s in range(8):
        p, q = tdata.apply_symmetry(planes, s), tdata.apply_symmetry_policy(policy, s, 5)
        assert int(np.argmax(p.reshape(-1))) == int(np.argmax(q[0, 0, :25])) and q[0, 0, 25] == 3


@pytest.mark.skipif(not (KATAGO_PYTHON / "katago").exists(), reason="KataGo's python tree is not available")
def test_symmetry_numbering_is_katagos():
    import sys
    sys.path.insert(0, str(KATAGO_PYTHON))
    from katago.train.data_processing_pytorch import apply_symmetry
    x = torch.arange(2 * 3 * 49).reshape(2, 3, 7, 7)
    for s in range(8):
        assert np.array_equal(tdata.apply_symmetry(x.numpy(), s), apply_symmetry(x, s).numpy())


def test_ranks_split_rows_exactly_like_one_bigger_batch(tmp_path):
    path = write_shuffle(tmp_path, (0, 300))
    one = tdata.FileBatches(path, 64, 1, 0, 9, seed=(5, 0))
    ranks = [tdata.FileBatches(path, 32, 2, r, 9, seed=(5, 0)) for r in (0, 1)]
    assert len(one) == len(ranks[0]) == 4                 # 300 // 64 steps; 44 rows dropped
    for i in range(len(one)):
        whole = one.batch(i)
        halves = [r.batch(i) for r in ranks]
        for k in range(6):
            assert np.array_equal(whole[k], np.concatenate([halves[0][k], halves[1][k]])), k


def test_batches_do_not_depend_on_loader_workers(tmp_path):
    files = [write_shuffle(tmp_path / f"d{i}", (i * 100, i * 100 + 200)) for i in range(2)]
    a = list(tdata.batch_loader(files, 32, 1, 0, 9, seed=11, workers=0, pin_memory=False))
    b = list(tdata.batch_loader(files, 32, 1, 0, 9, seed=11, workers=1, pin_memory=False))
    assert len(a) == len(b) == 12
    for (oa, xa), (ob, xb) in zip(a, b):
        assert int(oa) == int(ob)
        assert all(torch.equal(torch.as_tensor(p), torch.as_tensor(q)) for p, q in zip(xa, xb))
    c = list(tdata.batch_loader(files, 32, 1, 0, 9, seed=12, workers=0, pin_memory=False))
    assert any(not torch.equal(torch.as_tensor(xa[0]), torch.as_tensor(xc[0])) for (_, xa), (_, xc) in zip(a, c))


def test_to_device_makes_float_batches_and_validation_keeps_every_row(tmp_path):
    path = write_shuffle(tmp_path, (0, 100))
    fb = tdata.FileBatches(path, 64, 1, 0, 9, seed=None, augment=False, keep_partial=True)
    assert [fb.bounds[i] for i in range(len(fb))] == [(0, 64), (64, 100)]
    b = tdata.to_device(fb.batch(1), "cpu")
    assert b.binaryInputNCHW.shape == (36, 22, 9, 9) and b.binaryInputNCHW.dtype == torch.float32
    assert b.policyTargetsNCMove.shape == (36, 2, 82) and float(b.binaryInputNCHW[:, 0].min()) == 1.0


def test_bad_files_are_clear_errors(tmp_path):
    path = write_shuffle(tmp_path, (0, 100))
    with pytest.raises(ValueError, match="pos_len 19"):
        tdata.FileBatches(path, 64, 1, 0, 19, seed=(1, 0))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(open(path, "rb").read()[:5000])
    with pytest.raises(TrainingDataError, match="bad.npz"):
        tdata.FileBatches(str(bad), 64, 1, 0, 9, seed=(1, 0))


def test_all_chain_patterns_are_reachable():
    keep = tdata.history_flags(np.random.default_rng(1).random((100000, 5), dtype=np.float32))
    patterns = {tuple(r) for r in keep.tolist()}
    assert patterns == {tuple([True] * k + [False] * (5 - k)) for k in range(6)}
    assert all(a >= b for row in keep for a, b in itertools.pairwise(row))
