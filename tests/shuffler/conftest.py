"""Shared data for the shuffler tests: BASEDIRs of tagged copies of KataGo's real selfplay file.

Every row of a made file is tagged in globalTargetsNC channels 78/79 (unused by KataGo,
training-data-npz.md §7) with its row and file number, so that rows are distinct and a content
digest over all arrays identifies one input row wherever the shuffle puts it.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
from collections import Counter

import numpy as np
import pytest

from goloop.common.files.trainingdata import read_npz, write_npz

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
SAMPLE = SHARED / "reference" / "katago_selfplay_sample.npz"
MEMBERS = ("binaryInputNCHWPacked", "globalInputNC", "policyTargetsNCMove", "globalTargetsNC",
           "scoreDistrN", "valueTargetsNCHW", "qValueTargetsNCMove")


@pytest.fixture(scope="session")
def sample():
    """KataGo's own selfplay file (1827 rows of 9x9), read once."""
    return read_npz(SAMPLE)


def tagged_rows(sample, file_index: int, rows: int, seed: int):
    """`rows` rows of the sample in a fresh order, tagged with (file_index, row)."""
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(sample["binaryInputNCHWPacked"]))[:rows]
    arrays = {k: v[pick].copy() for k, v in sample.items()}
    arrays["globalTargetsNC"][:, 79] = file_index
    arrays["globalTargetsNC"][:, 78] = np.arange(rows)
    return arrays


def write_data_file(path, arrays, mtime: float, katago_zip: bool = False) -> None:
    """KataGo's C++ zip layout (slow deflate 9) or numpy's stored npz (fast); both are inputs."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if katago_zip:
        write_npz(path, arrays)
    else:
        tmp = str(path) + ".tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    os.utime(path, (mtime, mtime))


def make_basedir(root, sample, sizes, model_of=lambda i: "b6c96-s1", start_mtime=1.0e9):
    """BASEDIR/selfplay/<model>/tdata/<16HEX>.npz, file i with sizes[i] rows, mtime increasing."""
    paths = []
    for i, n in enumerate(sizes):
        path = os.path.join(root, "selfplay", model_of(i), "tdata", f"{0xA000 + i:016X}.npz")
        write_data_file(path, tagged_rows(sample, i, n, seed=i), start_mtime + 10 * i)
        paths.append(path)
    return paths


def row_digests(arrays, members=MEMBERS) -> Counter:
    """Multiset of per-row content digests over every array (a row's identity)."""
    n = len(arrays[members[0]])
    if n == 0:
        return Counter()
    flat = [np.ascontiguousarray(arrays[m]).reshape(n, -1).view(np.uint8) for m in members]
    return Counter(hashlib.blake2b(b"".join(f[i].tobytes() for f in flat), digest_size=16).digest()
                   for i in range(n))


def read_dir(directory):
    """All rows of every npz in a shuffle output dir, read as KataGo's loader does (np.load)."""
    out = {m: [] for m in MEMBERS}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".npz"):
            with np.load(os.path.join(directory, name)) as npz:
                for m in MEMBERS:
                    out[m].append(npz[m])
    return {m: np.concatenate(v) if v else np.zeros((0,)) for m, v in out.items()}


@pytest.fixture
def helpers():
    """The module's helper functions, for the test files (which cannot import conftest)."""
    class H:
        pass
    h = H()
    for f in (tagged_rows, write_data_file, make_basedir, row_digests, read_dir):
        setattr(h, f.__name__, staticmethod(f))
    h.SAMPLE = SAMPLE
    h.MEMBERS = MEMBERS
    return h
