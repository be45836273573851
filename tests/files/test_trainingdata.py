"""Training-data npz files against KataGo's own: the real selfplay sample, round trips, bad files,
and (when the KataGo source mirror is present) KataGo's shuffle.py and trainer data loader.
"""
import importlib.util
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
import zlib

import numpy as np
import pytest

from goloop.common.files import trainingdata as td
from goloop.common.files.trainingdata import (
    ARRAY_NAMES,
    TrainingDataBuffer,
    TrainingDataError,
    TrainingRow,
    pack_binary_planes,
    read_npz,
    unpack_binary_planes,
    write_npz,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
SAMPLE = SHARED / "reference" / "katago_selfplay_sample.npz"
KATAGO_MIRROR = pathlib.Path(os.environ.get(
    "GOLOOP_KATAGO_MIRROR", pathlib.Path(__file__).resolve().parents[3] / ".mirror" / "lightvector+KataGo" / "repo"))
N_SAMPLE = 1827


@pytest.fixture(scope="module")
def sample():
    return read_npz(SAMPLE)


def small_arrays(n=3, pos_len=5, seed=0):
    """Valid-shaped arrays of `n` rows (contents random but in range)."""
    rng = np.random.default_rng(seed)
    shapes = td.row_shapes(pos_len)
    out = {}
    for name in ARRAY_NAMES:
        dt = td.DTYPES[name]
        shape = (n,) + shapes[name]
        out[name] = (rng.random(shape).astype(dt) if dt.kind == "f" else rng.integers(0, 100, shape).astype(dt))
    return out


# ---------------------------------------------------------------------------------------------
# (a) The real file.

def test_real_sample_shapes_and_dtypes(sample):
    expected = {
        "binaryInputNCHWPacked": (np.uint8, (N_SAMPLE, 22, 11)),
        "globalInputNC": (np.float32, (N_SAMPLE, 19)),
        "policyTargetsNCMove": (np.int16, (N_SAMPLE, 2, 82)),
        "globalTargetsNC": (np.float32, (N_SAMPLE, 80)),
        "scoreDistrN": (np.int8, (N_SAMPLE, 282)),
        "valueTargetsNCHW": (np.int8, (N_SAMPLE, 5, 9, 9)),
        "qValueTargetsNCMove": (np.int16, (N_SAMPLE, 3, 82)),
    }
    assert list(sample) == list(expected)
    for name, (dtype, shape) in expected.items():
        assert sample[name].dtype == dtype, name
        assert sample[name].shape == shape, name
    assert td.read_npz_num_rows(SAMPLE) == N_SAMPLE


def test_real_sample_invariants(sample):
    td.validate_contents(sample, str(SAMPLE))
    g = sample["globalTargetsNC"]
    planes = unpack_binary_planes(sample["binaryInputNCHWPacked"], 9)
    bits = np.unpackbits(sample["binaryInputNCHWPacked"], axis=2)
    assert not bits[:, :, 81:].any()                              # padding after point 80
    assert (planes[:, 0] == 1).all()                              # every board is 9x9
    assert not (planes[:, 1] * planes[:, 2]).any()                # own and opponent stones disjoint
    assert set(np.unique(planes)) <= {0.0, 1.0}
    assert (sample["scoreDistrN"].astype(int).sum(axis=1) == 100).all()
    assert (sample["scoreDistrN"] >= 0).all()
    assert (g[:, 63] == 3).all()
    assert (g[:, 25] == 1).all()
    assert np.allclose(g[:, 0] + g[:, 1] + g[:, 2], 1, atol=1e-6)
    for k in range(4, 20, 4):                                     # each TD triple is a distribution
        assert np.allclose(g[:, k] + g[:, k + 1] + g[:, k + 2], 1, atol=1e-5)
    assert not g[:, 68:].any() and not g[:, 23].any() and not g[:, 24].any() and not g[:, 35].any()
    assert np.allclose(sample["globalInputNC"][:, 5] * 20, g[:, 47], atol=1e-5)  # komi input = C47 / 20
    q = sample["qValueTargetsNCMove"]
    assert (g[:, 60] == 1 + q[:, 2].astype(int).sum(axis=1)).all()   # root visits = 1 + children's
    policy = sample["policyTargetsNCMove"]
    assert ((policy[:, 0] > 0) <= (q[:, 2] > 0)).all()              # targets only on visited children
    dummy1 = (policy[:, 1] == 1).all(axis=1)
    assert np.array_equal(dummy1, g[:, 28] == 0)                    # missing next-move target = all ones
    v = sample["valueTargetsNCHW"]
    no_own = g[:, 27] == 0
    assert not v[no_own, :2].any()
    mid = 81 + 60
    assert (sample["scoreDistrN"][no_own][:, [mid - 1, mid]] == 50).all()
    assert not v[g[:, 33] == 0, 2:4].any()
    assert not v[g[:, 34] == 0, 4].any()
    assert (np.abs(v[:, 4]) <= 120).all() and (np.abs(v[:, :4]) <= 1).all()
    hashes = {tuple(r) for r in g[:, 41:47].astype(np.int64)}
    assert len(hashes) == 125


# ---------------------------------------------------------------------------------------------
# Bit packing.

def test_pack_bits_are_big_endian_within_bytes():
    planes = np.zeros((1, 22, 9, 9), dtype=np.float32)
    planes[0, 0, 0, 0] = 1          # element 0 -> bit 7 of byte 0
    planes[0, 1, 0, 8] = 1          # element 8 -> bit 7 of byte 1
    planes[0, 2, 8, 8] = 1          # element 80 -> bit 7 of byte 10 (the padded last byte)
    planes[0, 3, 0, 7] = 1          # element 7 -> bit 0 of byte 0
    packed = pack_binary_planes(planes)
    assert packed.shape == (1, 22, 11) and packed.dtype == np.uint8
    assert packed[0, 0, 0] == 0x80 and packed[0, 1, 1] == 0x80
    assert packed[0, 2, 10] == 0x80 and packed[0, 3, 0] == 0x01
    assert packed.sum() == 0x80 * 3 + 1


def test_pack_unpack_round_trip_and_matches_real_file(sample):
    planes = unpack_binary_planes(sample["binaryInputNCHWPacked"], 9)
    assert planes.dtype == np.float32 and planes.shape == (N_SAMPLE, 22, 9, 9)
    assert np.array_equal(pack_binary_planes(planes), sample["binaryInputNCHWPacked"])
    rng = np.random.default_rng(3)
    for pos_len in (2, 7, 8, 19):
        p = rng.integers(0, 2, (4, 22, pos_len, pos_len)).astype(np.float32)
        packed = pack_binary_planes(p)
        assert packed.shape == (4, 22, (pos_len * pos_len + 7) // 8)
        assert np.array_equal(unpack_binary_planes(packed, pos_len), p)


def test_pack_refuses_non_binary_and_bad_shapes():
    with pytest.raises(TrainingDataError, match="0 and 1"):
        pack_binary_planes(np.full((22, 5, 5), 0.5, dtype=np.float32))
    with pytest.raises(TrainingDataError, match="0 and 1"):
        pack_binary_planes(np.full((22, 5, 5), 2.0, dtype=np.float32))
    with pytest.raises(TrainingDataError, match="shape"):
        pack_binary_planes(np.zeros((21, 5, 5)))
    with pytest.raises(TrainingDataError):
        unpack_binary_planes(np.zeros((22, 3), dtype=np.uint8), 5)


# ---------------------------------------------------------------------------------------------
# (b) Round trip of the real rows through add_row and write_npz.

def _zip_entries(path):
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, i.compress_type, i.flag_bits, i.create_system, i.create_version,
                 i.extract_version, i.external_attr, i.extra, i.comment) for i in zf.infolist()]


def _npy_headers(path):
    with zipfile.ZipFile(path) as zf:
        return [zf.open(i).read(256) for i in zf.infolist()]


def test_round_trip_of_real_rows_is_identical(sample, tmp_path):
    planes = unpack_binary_planes(sample["binaryInputNCHWPacked"], 9)
    buf = TrainingDataBuffer(2000, 9)
    for i in range(N_SAMPLE):
        buf.add_row(TrainingRow(pack_binary_planes(planes[i]), sample["globalInputNC"][i],
                                sample["policyTargetsNCMove"][i], sample["globalTargetsNC"][i],
                                sample["scoreDistrN"][i], sample["valueTargetsNCHW"][i],
                                sample["qValueTargetsNCMove"][i]))
    assert buf.num_rows == N_SAMPLE and not buf.is_full
    out = tmp_path / "0123456789ABCDEF.npz"
    buf.write_npz(out)
    assert not (tmp_path / "0123456789ABCDEF.npz.tmp").exists()
    back = read_npz(out)
    assert list(back) == list(sample)
    for name in ARRAY_NAMES:
        assert back[name].dtype == sample[name].dtype
        assert np.array_equal(back[name], sample[name]), name
    assert _zip_entries(out) == _zip_entries(SAMPLE)
    assert _npy_headers(out) == _npy_headers(SAMPLE)
    assert _npy_headers(out)[0].startswith(b"\x93NUMPY\x01\x00\xf6\x00{'descr':'|u1','fortran_order':False,"
                                           b"'shape':(1827,22,11)}")
    # numpy itself reads the bare member names too.
    with np.load(out) as npz:
        assert sorted(npz.keys()) == sorted(ARRAY_NAMES)
        assert np.array_equal(npz["globalTargetsNC"], sample["globalTargetsNC"])


def test_file_bytes_equal_katagos_apart_from_timestamps(sample, tmp_path):
    """Same deflate settings as libzip: with the zlib KataGo's file was made with, every byte matches."""
    with zipfile.ZipFile(SAMPLE) as zf:
        stamp = time.mktime(zf.infolist()[0].date_time + (0, 0, -1))
    out = tmp_path / "x.npz"
    write_npz(out, sample, mtime=stamp)
    ours, theirs = out.read_bytes(), SAMPLE.read_bytes()
    if ours != theirs and zlib.ZLIB_RUNTIME_VERSION != "1.2.13":
        pytest.skip(f"zlib {zlib.ZLIB_RUNTIME_VERSION} deflates differently from KataGo's 1.2.13 build")
    assert ours == theirs


def test_write_npz_replaces_atomically_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "A.npz"
    write_npz(path, small_arrays(2))
    before = path.read_bytes()
    calls = []

    def failing(header, data):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(header, data)

    real = td._deflate_member
    monkeypatch.setattr(td, "_deflate_member", failing)
    with pytest.raises(OSError, match="disk full"):
        write_npz(path, small_arrays(5))
    assert path.read_bytes() == before                       # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A.npz"]
    monkeypatch.undo()
    write_npz(path, small_arrays(5))
    assert read_npz(path)["globalInputNC"].shape == (5, 19)


# ---------------------------------------------------------------------------------------------
# The buffer.

def test_buffer_checks_rows_and_capacity(tmp_path):
    buf = TrainingDataBuffer(2, 5)
    assert buf.is_empty
    arrays = small_arrays(3)
    row = TrainingRow(*(arrays[n][0] for n in ARRAY_NAMES))
    buf.add_row(row)
    buf.add_row(row)
    assert buf.is_full and buf.num_rows == 2
    with pytest.raises(TrainingDataError, match="full"):
        buf.add_row(row)
    buf.clear()
    assert buf.is_empty
    with pytest.raises(TrainingDataError, match="no rows"):
        buf.write_npz(tmp_path / "e.npz")
    bad = TrainingRow(*(arrays[n][0] for n in ARRAY_NAMES[:-1]), np.zeros((3, 25), dtype=np.int16))
    with pytest.raises(TrainingDataError, match="qValueTargetsNCMove"):
        buf.add_row(bad)
    overflow = TrainingRow(*(arrays[n][0] for n in ARRAY_NAMES[:2]), np.full((2, 26), 40000),
                           *(arrays[n][0] for n in ARRAY_NAMES[3:]))
    with pytest.raises(TrainingDataError, match="policyTargetsNCMove.*range"):
        buf.add_row(overflow)
    fractional = TrainingRow(*(arrays[n][0] for n in ARRAY_NAMES[:4]), np.full(170, 0.5),
                             *(arrays[n][0] for n in ARRAY_NAMES[5:]))
    with pytest.raises(TrainingDataError, match="scoreDistrN.*integers"):
        buf.add_row(fractional)
    assert buf.is_empty                                       # failed rows leave nothing behind
    with pytest.raises(TrainingDataError, match="do not fit"):
        buf.add_rows(arrays)
    with pytest.raises(TrainingDataError):
        TrainingDataBuffer(0, 5)
    with pytest.raises(TrainingDataError):
        TrainingDataBuffer(10, 1)


def test_buffer_writes_only_the_rows_added(tmp_path):
    buf = TrainingDataBuffer(100, 5)
    arrays = small_arrays(7)
    buf.add_rows(arrays)
    buf.write_npz(tmp_path / "B.npz")
    back = read_npz(tmp_path / "B.npz")
    for name in ARRAY_NAMES:
        assert np.array_equal(back[name], arrays[name])
    assert td.read_npz_num_rows(tmp_path / "B.npz") == 7


# ---------------------------------------------------------------------------------------------
# Reading other spellings and bad files.

def test_reads_numpy_spelling_old_formats(tmp_path):
    arrays = small_arrays(4)
    p = tmp_path / "np.npz"
    np.savez_compressed(p, **arrays)                          # members named *.npy, numpy headers
    back = read_npz(p)
    for name in ARRAY_NAMES:
        assert np.array_equal(back[name], arrays[name])
    old = dict(arrays)
    del old["qValueTargetsNCMove"]
    old["globalTargetsNC"] = arrays["globalTargetsNC"][:, :64].copy()
    np.savez_compressed(p, **old)
    back = read_npz(p)
    assert back["globalTargetsNC"].shape == (4, 80)
    assert np.array_equal(back["globalTargetsNC"][:, :64], old["globalTargetsNC"])
    assert not back["globalTargetsNC"][:, 64:].any()
    assert back["qValueTargetsNCMove"].shape == (4, 3, 26) and not back["qValueTargetsNCMove"].any()


def _zip_of(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy_bytes(arr):
    return td.npy_header(arr.dtype, arr.shape) + arr.tobytes()


@pytest.mark.parametrize("case, message", [
    ("missing_file", "no such file"),
    ("not_zip", "not a readable zip"),
    ("truncated", "zip|truncated|corrupt"),
    ("corrupt_data", "corrupt or truncated"),
    ("missing_member", "missing arrays: scoreDistrN"),
    ("wrong_dtype", "globalInputNC has dtype float64"),
    ("row_mismatch", "policyTargetsNCMove has shape"),
    ("wrong_pos_len", "binaryInputNCHWPacked has shape"),
    ("unexpected_member", "unexpected member"),
    ("both_spellings", "appears twice"),
    ("short_payload", "truncated"),
    ("long_payload", "beyond its shape"),
    ("fortran", "Fortran"),
])
def test_bad_files_raise_naming_file_and_problem(tmp_path, case, message):
    path = tmp_path / f"{case}.npz"
    arrays = small_arrays(3)
    members = {n: _npy_bytes(a) for n, a in arrays.items()}
    if case == "not_zip":
        path.write_bytes(b"hello, not a zip")
    elif case in ("truncated", "corrupt_data"):
        write_npz(path, arrays)
        data = bytearray(path.read_bytes())
        if case == "truncated":
            data = data[:len(data) // 2]
        else:
            with zipfile.ZipFile(path) as zf:
                info = zf.getinfo("globalTargetsNC")
            start = info.header_offset + 30 + len("globalTargetsNC")
            for k in range(start + 5, start + 25):
                data[k] ^= 0x5A
        path.write_bytes(bytes(data))
    elif case != "missing_file":
        if case == "missing_member":
            del members["scoreDistrN"]
        elif case == "wrong_dtype":
            members["globalInputNC"] = _npy_bytes(arrays["globalInputNC"].astype(np.float64))
        elif case == "row_mismatch":
            members["policyTargetsNCMove"] = _npy_bytes(arrays["policyTargetsNCMove"][:2])
        elif case == "wrong_pos_len":
            members["binaryInputNCHWPacked"] = _npy_bytes(np.zeros((3, 22, 11), dtype=np.uint8))
        elif case == "unexpected_member":
            members["extra"] = b"x"
        elif case == "both_spellings":
            members["scoreDistrN.npy"] = members["scoreDistrN"]
        elif case == "short_payload":
            members["scoreDistrN"] = members["scoreDistrN"][:-7]
        elif case == "long_payload":
            members["scoreDistrN"] = members["scoreDistrN"] + b"\0"
        elif case == "fortran":
            header = td.npy_header(np.dtype(np.int8), (3, 170))
            header = header.replace(b"'fortran_order':False", b"'fortran_order':True ")
            members["scoreDistrN"] = header + arrays["scoreDistrN"].tobytes()
        _zip_of(path, members)
    with pytest.raises(TrainingDataError, match=message) as info:
        read_npz(path)
    assert str(path) in str(info.value)


def test_validate_contents_catches_broken_rows():
    base = read_npz(SAMPLE)

    def broken(name, fn):
        arrays = {k: v.copy() for k, v in base.items()}
        fn(arrays[name])
        return arrays

    cases = [
        (broken("scoreDistrN", lambda a: a.__setitem__((5, 0), 1)), "row 5 .*sum to 100"),
        (broken("globalTargetsNC", lambda a: a.__setitem__((7, 63), 2.0)), "row 7 .*version 3"),
        (broken("binaryInputNCHWPacked", lambda a: a.__setitem__((9, 3, 10), 0x01)), "row 9 .*padding"),
        (broken("binaryInputNCHWPacked", lambda a: a.__setitem__((4, 0, 10), 0x00)), "row 4 .*top-left"),
        (broken("policyTargetsNCMove", lambda a: a.__setitem__((2, 0), 0)), "row 2 .*sums to zero"),
        (broken("valueTargetsNCHW", lambda a: a.__setitem__((3, 4, 0, 0), 121)), "row 3 .*channel 4"),
        (broken("globalTargetsNC", lambda a: a.__setitem__((6, 27), -1.0)), "row 6 .*weight"),
    ]
    for arrays, message in cases:
        with pytest.raises(TrainingDataError, match=message):
            td.validate_contents(arrays, "sample")


def test_file_naming_helpers():
    assert td.data_file_name(0xAB) == "00000000000000AB.npz"
    assert td.data_file_name(2**64 - 1) == "FFFFFFFFFFFFFFFF.npz"
    with pytest.raises(TrainingDataError):
        td.data_file_name(2**64)
    assert td.first_file_max_rows(10000, 0.15, 0.0) == 10000
    assert td.first_file_max_rows(10000, 0.15, 0.5) == 10000 - 4250
    assert td.first_file_max_rows(10000, 0.15, 0.999999) == 1501
    assert td.first_file_max_rows(10000, 1.0, 0.7) == 10000
    with pytest.raises(TrainingDataError):
        td.first_file_max_rows(10000, 1.5, 0.1)


# ---------------------------------------------------------------------------------------------
# (c) KataGo's own Python tools read our files (only where the KataGo source mirror exists).

LOADER = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from katago.train import modelconfigs
from katago.train.data_processing_pytorch import read_npz_training_data
cfg = dict(modelconfigs.config_of_name["b6c96"])
cfg["version"] = 16          # a q-value-predicting model, so the loader reads qValueTargetsNCMove too
out = {}
for name in ("policyTargetsNCMove", "globalTargetsNC", "scoreDistrN", "valueTargetsNCHW",
             "qValueTargetsNCMove", "binaryInputNCHW", "globalInputNC"):
    out[name] = []
for batch in read_npz_training_data([sys.argv[2]], 16, 1, 0, int(sys.argv[3]), "cpu", False, False, cfg):
    for name in out:
        out[name].append(batch[name].numpy())
np.savez(sys.argv[4], **{k: np.concatenate(v) for k, v in out.items()})
"""

PSUTIL_SHIM = r'''
"""Stand-in for psutil, which shuffle.py imports only to log its memory use."""
import os
class _Mem:
    def __init__(self, rss):
        self.rss = rss
class Process:
    def __init__(self, pid):
        self.pid = pid
    def memory_info(self):
        with open(f"/proc/{self.pid}/statm") as f:
            return _Mem(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
'''


@pytest.fixture(scope="module")
def katago_python(tmp_path_factory):
    if not (KATAGO_MIRROR / "HEAD").exists() or shutil.which("git") is None:
        pytest.skip("KataGo source mirror (or git) not present")
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch not installed")
    root = tmp_path_factory.mktemp("katago")
    tar = subprocess.run(["git", "-C", str(KATAGO_MIRROR), "archive", "HEAD", "python"],
                         capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(root, filter="data")
    return root / "python"


def _our_file(sample, path):
    """The real rows re-written by goloop's writer."""
    buf = TrainingDataBuffer(2000, 9)
    buf.add_rows(sample)
    buf.write_npz(path)


def test_katago_trainer_loader_reads_our_file(katago_python, sample, tmp_path):
    ours = tmp_path / "00000000000000AA.npz"
    _our_file(sample, ours)
    script = tmp_path / "loader.py"
    script.write_text(LOADER)
    result = tmp_path / "loaded.npz"
    subprocess.run([sys.executable, str(script), str(katago_python), str(ours), "9", str(result)],
                   check=True, capture_output=True, cwd=tmp_path)
    loaded = np.load(result)
    n = (N_SAMPLE // 16) * 16                                  # the loader drops the partial batch
    for name in ("policyTargetsNCMove", "globalTargetsNC", "scoreDistrN", "valueTargetsNCHW",
                 "qValueTargetsNCMove"):
        assert np.array_equal(loaded[name], sample[name][:n].astype(np.float32)), name
    planes = unpack_binary_planes(sample["binaryInputNCHWPacked"][:n], 9)
    # History masking (planes 9-16, globals 0-4) is redrawn by the loader; the rest is untouched.
    keep = [c for c in range(22) if not 9 <= c <= 16]
    assert np.array_equal(loaded["binaryInputNCHW"][:, keep], planes[:, keep])
    assert np.array_equal(loaded["globalInputNC"][:, 5:], sample["globalInputNC"][:n, 5:])


def test_katago_shuffle_reads_our_file(katago_python, sample, tmp_path):
    indir, outdir, scratch = tmp_path / "in", tmp_path / "out", tmp_path / "tmp"
    for d in (indir, outdir, scratch):
        d.mkdir()
    _our_file(sample, indir / "00000000000000AA.npz")
    env = dict(os.environ)
    if importlib.util.find_spec("psutil") is None:
        shim = tmp_path / "shim"
        shim.mkdir()
        (shim / "psutil.py").write_text(PSUTIL_SHIM)
        env["PYTHONPATH"] = str(shim) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, str(katago_python / "shuffle.py"), str(indir),
                           "-min-rows", "100", "-keep-target-rows", "all", "-out-dir", str(outdir),
                           "-out-tmp-dir", str(scratch), "-num-processes", "1",
                           "-approx-rows-per-out-file", "1000"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    outs = sorted(outdir.glob("*.npz"))
    assert outs
    shuffled = [read_npz(p) for p in outs]

    def rows(list_of_arrays):
        return sorted(b"".join(a[name][i].tobytes() for name in ARRAY_NAMES)
                      for a in list_of_arrays for i in range(a["globalTargetsNC"].shape[0]))

    assert rows(shuffled) == rows([sample])                    # shuffling only permutes our rows
