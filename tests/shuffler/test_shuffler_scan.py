"""shuffler/scan.py: which files count, the row-count cache and the memory of corrupt files."""
from __future__ import annotations

import json
import logging
import os
import shutil

import pytest

from goloop.shuffler import scan as scan_mod
from goloop.shuffler.scan import BadFile, Scanner, read_header


def test_katago_written_file_is_accepted(helpers):
    assert read_header(str(helpers.SAMPLE)) == (1827, 9)


def test_candidates_and_random_flag(tmp_path, sample, helpers):
    helpers.make_basedir(tmp_path, sample, [30, 40], model_of=lambda i: ["random", "b6c96-xrandom"][i])
    sp = tmp_path / "selfplay"
    shutil.copy(helpers.SAMPLE, sp / "random" / "tdata" / "data0_1.npz")     # `_`: shuffled output
    shutil.copy(helpers.SAMPLE, sp / "random" / "tdata" / "ABCD.npz.tmp")    # being written
    (sp / "notes.txt").write_text("x")
    result = Scanner(str(sp), None).scan()
    got = sorted((os.path.basename(os.path.dirname(os.path.dirname(f.path))), f.num_rows, f.is_random,
                  f.pos_len) for f in result.files)
    assert got == [("b6c96-xrandom", 40, False, 9), ("random", 30, True, 9)]
    assert result.bad == [] and result.newly_read == 2


def test_cache_notices_added_and_replaced_files(tmp_path, sample, helpers, monkeypatch):
    paths = helpers.make_basedir(tmp_path, sample, [30, 40, 50])
    summary = str(tmp_path / "selfplay.summary.json")
    reads = []
    real = scan_mod.read_header
    monkeypatch.setattr(scan_mod, "read_header", lambda p: reads.append(p) or real(p))

    first = Scanner(str(tmp_path / "selfplay"), summary).scan()
    assert sorted(f.num_rows for f in first.files) == [30, 40, 50] and len(reads) == 3
    # KataGo's summary layout: {abs dir: {"dir_mtime", "filename_mtime_num_rowss": [[name, mtime, rows]]}}
    data = json.load(open(summary))
    (directory, info), = data.items()
    assert os.path.isabs(directory) and sorted(r for _, _, r in info["filename_mtime_num_rowss"]) == [30, 40, 50]

    reads.clear()
    again = Scanner(str(tmp_path / "selfplay"), summary)      # a restart: the cache is reused
    assert sorted(f.num_rows for f in again.scan().files) == [30, 40, 50] and reads == []

    helpers.write_data_file(paths[1], helpers.tagged_rows(sample, 1, 45, 9), mtime=2.0e9)  # replaced
    added = os.path.join(os.path.dirname(paths[0]), "00000000000000FF.npz")
    helpers.write_data_file(added, helpers.tagged_rows(sample, 9, 25, 9), mtime=2.0e9)      # added
    os.unlink(paths[2])                                                                   # removed
    result = again.scan()
    assert sorted(f.num_rows for f in result.files) == [25, 30, 45]
    assert sorted(reads) == sorted([paths[1], added])


def test_corrupt_files_are_logged_once_skipped_and_left_alone(tmp_path, sample, helpers, caplog):
    paths = helpers.make_basedir(tmp_path, sample, [30, 40])
    truncated = paths[0]
    data = open(helpers.SAMPLE, "rb").read()
    with open(truncated, "wb") as f:
        f.write(data[: len(data) // 2])
    garbage = os.path.join(os.path.dirname(truncated), "00000000000000EE.npz")
    open(garbage, "wb").write(b"not a zip at all")
    before = {p: open(p, "rb").read() for p in (truncated, garbage)}
    summary = str(tmp_path / "s.json")

    scanner = Scanner(str(tmp_path / "selfplay"), summary)
    with caplog.at_level(logging.WARNING, logger="goloop"):
        result = scanner.scan()
    assert [f.num_rows for f in result.files] == [40]
    assert sorted(p for p, _ in result.bad) == sorted([truncated, garbage])
    warned = [r for r in caplog.records if "bad training file" in r.getMessage()]
    assert sorted(r.goloop_fields["path"] for r in warned) == sorted([truncated, garbage])
    assert all(r.goloop_fields["reason"] for r in warned)

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="goloop"):
        Scanner(str(tmp_path / "selfplay"), summary).scan()      # restart: remembered, not re-logged
        scanner.scan()
    assert not [r for r in caplog.records if "bad training file" in r.getMessage()]
    assert {p: open(p, "rb").read() for p in before} == before   # never modified

    shutil.copy(helpers.SAMPLE, truncated)                        # fixed: picked up again
    os.utime(truncated, (3e9, 3e9))
    assert sorted(f.num_rows for f in scanner.scan().files) == [40, 1827]


def test_header_checks(tmp_path, sample, helpers):
    arrays = helpers.tagged_rows(sample, 0, 20, 0)
    missing = dict(arrays)
    del missing["scoreDistrN"]
    p = tmp_path / "a" / "A.npz"
    helpers.write_data_file(p, missing, 1.0)
    with pytest.raises(BadFile, match="missing arrays scoreDistrN"):
        read_header(str(p))
    short = dict(arrays, globalInputNC=arrays["globalInputNC"][:10])
    helpers.write_data_file(p, short, 1.0)
    with pytest.raises(BadFile, match="globalInputNC"):
        read_header(str(p))
    no_q = {k: v for k, v in arrays.items() if k != "qValueTargetsNCMove"}   # pre-1.16 data
    helpers.write_data_file(p, no_q, 1.0)
    assert read_header(str(p)) == (20, 9)
