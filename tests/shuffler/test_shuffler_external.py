"""shuffler/external.py: the output holds exactly the sampled input rows, in KataGo's npz format.

Rows are identified by content digests over every array (conftest.py), so these tests see a
lost, duplicated or altered row wherever the shuffle put it.
"""
from __future__ import annotations

import json
import os
import zipfile
from collections import Counter

import numpy as np
import pytest

from goloop.common.files.trainingdata import DTYPES, read_npz, row_shapes
from goloop.shuffler import external, window
from goloop.shuffler.scan import Scanner


@pytest.fixture(scope="module")
def pool():
    with external.WorkerPool(2) as p:
        yield p


def _shuffle(files, tmp_path, pool, keep_prob=1.0, buckets=3, per_bucket=2, group=500, level=1, seed=0):
    out = tmp_path / "out"
    out.mkdir()
    stats = external.shuffle_files(files, str(out), str(tmp_path / "scratch"), keep_prob, 9,
                                   external.member_names(False, False), buckets, per_bucket, group,
                                   pool, np.random.default_rng(seed), deflate_level=level)
    assert not (tmp_path / "scratch").exists()
    return out, stats


def _inputs(paths):
    return {p: read_npz(p) for p in paths}


def test_every_row_exactly_once_and_katago_readable(tmp_path, sample, helpers, pool):
    paths = helpers.make_basedir(tmp_path / "base", sample, [300, 170, 410, 90, 260, 333])
    paths.append(str(tmp_path / "base/selfplay/m/tdata/00000000000000FF.npz"))
    helpers.write_data_file(paths[-1], helpers.tagged_rows(sample, 77, 150, 3), 5e9, katago_zip=True)
    files = Scanner(str(tmp_path / "base" / "selfplay"), None).scan().files
    out, stats = _shuffle(files, tmp_path, pool)

    want = sum((helpers.row_digests(a) for a in _inputs(paths).values()), Counter())
    got = helpers.read_dir(out)
    assert helpers.row_digests(got) == want
    assert stats.rows_in == stats.rows_kept == stats.rows_out == sum(want.values()) == 1713
    # KataGo's output layout: data<b>_<j>.npz + .json {"num_rows": n}; slices of each bucket.
    names = sorted(n for n in os.listdir(out) if n.endswith(".npz"))
    assert names == [f"data{b}_{j}.npz" for b in range(3) for j in range(2)]
    for name in names:
        rows = json.load(open(out / name.replace(".npz", ".json")))["num_rows"]
        with zipfile.ZipFile(out / name) as zf:
            assert zf.testzip() is None
            assert [i.filename for i in zf.infolist()] == [m + ".npy" for m in helpers.MEMBERS]
        with np.load(out / name) as npz:          # KataGo's loader: np.load and the bare names
            for m in helpers.MEMBERS:
                assert npz[m].dtype == DTYPES[m] and npz[m].shape == (rows,) + row_shapes(9)[m]
        read_npz(out / name)
    # Rows are mixed: each output file holds rows of most input files.
    for name in names:
        sources = set(np.load(out / name)["globalTargetsNC"][:, 79].astype(int))
        assert len(sources) >= 5


def test_keep_sampling_takes_round_n_keep_per_group(tmp_path, sample, helpers, pool):
    sizes = [300, 170, 410, 90, 260, 333, 120]
    paths = helpers.make_basedir(tmp_path / "base", sample, sizes)
    files = sorted(Scanner(str(tmp_path / "base" / "selfplay"), None).scan().files, key=lambda f: f.path)
    keep_prob = 0.37
    out, stats = _shuffle(files, tmp_path, pool, keep_prob=keep_prob, group=450, seed=5)
    got = helpers.read_dir(out)
    groups = window.group_files(files, 450)
    assert [len(g) for g in groups] == [2, 2, 2, 1]
    expected = sum(window.rows_kept_in_group(sum(f.num_rows for f in g), keep_prob) for g in groups)
    assert stats.rows_out == len(got["globalTargetsNC"]) == expected
    # Each kept row is an input row, at most once, and each group gives exactly its share.
    inputs = sum((helpers.row_digests(a) for a in _inputs(paths).values()), Counter())
    out_rows = helpers.row_digests(got)
    assert max(out_rows.values()) == 1 and not out_rows - inputs
    file_of_row = got["globalTargetsNC"][:, 79].astype(int)
    for g in groups:
        ids = [int(os.path.basename(f.path)[:-4], 16) - 0xA000 for f in g]
        n = sum(f.num_rows for f in g)
        assert np.isin(file_of_row, ids).sum() == window.rows_kept_in_group(n, keep_prob)


def test_corrupt_data_is_skipped_and_reported(tmp_path, sample, helpers, pool):
    paths = helpers.make_basedir(tmp_path / "base", sample, [200, 200, 200])
    bad = paths[1]
    helpers.write_data_file(bad, helpers.tagged_rows(sample, 1, 200, 1), 1e9, katago_zip=True)
    with zipfile.ZipFile(bad) as zf:
        info = zf.getinfo("qValueTargetsNCMove")
    raw = bytearray(open(bad, "rb").read())
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    raw[middle:middle + 64] = bytes(64)
    open(bad, "wb").write(bytes(raw))
    files = Scanner(str(tmp_path / "base" / "selfplay"), None).scan().files
    assert len(files) == 3                          # the headers are still fine
    out, stats = _shuffle(files, tmp_path, pool, buckets=1, per_bucket=1)
    assert [(p, corrupt) for p, _, corrupt in stats.skipped] == [(bad, True)]
    assert "qValueTargetsNCMove" in stats.skipped[0][1]
    good = sum((helpers.row_digests(read_npz(p)) for p in (paths[0], paths[2])), Counter())
    assert helpers.row_digests(helpers.read_dir(out)) == good


@pytest.mark.parametrize("level,fast", [(0, True), (1, True), (1, False), (6, True)])
def test_npz_writer_levels(tmp_path, sample, helpers, level, fast):
    arrays = helpers.tagged_rows(sample, 0, 500, 0)
    path = str(tmp_path / "x.npz")
    w = external.NpzWriter(path, level, fast=fast)
    for m in helpers.MEMBERS:
        w.member(m + ".npy", external._gathered(
            external.npy_header(arrays[m].dtype, arrays[m].shape), arrays[m],
            np.arange(len(arrays[m])), 0, len(arrays[m]), 77))
    w.close()
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED if level == 0
                                                            else zipfile.ZIP_DEFLATED}
    back = read_npz(path)
    assert all(np.array_equal(back[m], arrays[m]) for m in helpers.MEMBERS)


def test_memory_plan_bounds_the_peak():
    members = external.member_names(False, False)
    roomy = external.plan_memory(20e6, 286, 19, members, 10_000, 8, 64_000, 80)
    assert roomy.workers == 8 and roomy.buckets == 286 and roomy.fits
    tight = external.plan_memory(20e6, 286, 19, members, 10_000, 8, 700, 80)
    assert 1 <= tight.workers < 8 and tight.buckets == 286 and tight.estimate_mb <= 700
    tiny = external.plan_memory(20e6, 286, 19, members, 10_000, 8, 330, 80)
    assert tiny.workers == 1 and tiny.buckets == 572 and tiny.fits and tiny.estimate_mb <= 330
    # Below one input file's needs no bucket count helps: said so, never a runaway split.
    hopeless = external.plan_memory(20e6, 286, 19, members, 10_000, 8, 200, 80)
    assert not hopeless.fits and hopeless.workers == 1 and hopeless.buckets <= 1144
    # Independent of the window: a 10x bigger window needs the same memory per worker.
    big = external.plan_memory(200e6, 2860, 19, members, 10_000, 8, 700, 80)
    assert big.workers == tight.workers
