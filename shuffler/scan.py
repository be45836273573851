"""Finding the selfplay files and their row counts, without reopening every file on each scan.

Why a cache: a long run has tens of thousands of npz files and the shuffler rescans them every
cycle; reading each file's npy headers every time costs minutes on a shared filesystem. The
summary (spec: shuffler-and-window.md §7) is written in KataGo's `-summary-file` layout, so
shuffle.py can read it, with one addition KataGo ignores: per file its size, board tensor size
and, for a bad file, the reason. Unlike shuffle.py, which trusts a summary blindly (files added
later are invisible), every scan lists the directories and compares each file's (mtime, size)
with the cache, so added and replaced files are noticed and only those are opened.

A corrupt or truncated file is logged once, naming it and the reason, remembered in the cache
(so it is not retried until it changes) and skipped. Nothing here writes to, moves or deletes
a data file.

Candidates are `*.npz` whose name has no `_` (§2.2): `X.npz.tmp` (being written) and shuffled
outputs never count.
"""
from __future__ import annotations

import json
import logging
import os
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Set, Tuple

import numpy as np

from goloop.common.atomicfile import atomic_write
from goloop.common.files.trainingdata import (
    ARRAY_NAMES,
    DTYPES,
    NUM_GLOBAL_TARGETS_V2,
    row_shapes,
)
from goloop.common.logs import kv
from goloop.shuffler.window import DataFile, is_random_path, is_temp_like

log = logging.getLogger(__name__)

GOLOOP_KEY = "goloop_files"     # per directory: {name: [size, pos_len, reason]}
HEADER_THREADS = 8              # header reads wait on the filesystem more than on the CPU
REQUIRED = tuple(n for n in ARRAY_NAMES if n != "qValueTargetsNCMove")


class BadFile(Exception):
    """A file that is not a usable training-data npz; the message says why."""


@dataclass(frozen=True)
class Entry:
    mtime: float
    size: int
    num_rows: Optional[int]     # None for a bad file
    pos_len: Optional[int]
    reason: Optional[str]       # why the file is bad


def read_header(path: str) -> Tuple[int, int]:
    """(rows, pos_len) from the zip directory and each member's npy header (§2.3).

    Only the first bytes of each member are inflated. Every member must be a known array with
    a valid header, all must agree on the rows and on one board tensor size, and the six
    required arrays must be there. Raises BadFile with the reason.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            shapes = {}
            for info in zf.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if name not in DTYPES:
                    raise BadFile(f"unexpected member {info.filename!r}")
                with zf.open(info) as fp:
                    version = np.lib.format.read_magic(fp)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
                    elif version == (2, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
                    else:
                        raise BadFile(f"{info.filename}: npy version {version}")
                expected = DTYPES[name]
                if fortran or dtype.kind != expected.kind or dtype.itemsize != expected.itemsize:
                    raise BadFile(f"{info.filename}: dtype {dtype}{' fortran order' if fortran else ''}, "
                                  f"expected {expected}")
                shapes[name] = tuple(shape)
    except BadFile:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
        raise BadFile(f"{type(e).__name__}: {e}") from None
    missing = [n for n in REQUIRED if n not in shapes]
    if missing:
        raise BadFile(f"missing arrays {', '.join(missing)}")
    value = shapes["valueTargetsNCHW"]
    if len(value) != 4 or value[2] != value[3] or value[2] < 2:
        raise BadFile(f"valueTargetsNCHW has shape {value}")
    rows, pos_len = value[0], value[2]
    want = row_shapes(pos_len)
    for name, shape in shapes.items():
        ok = shape[1:] == want[name] or (name == "globalTargetsNC" and shape[1:] == (NUM_GLOBAL_TARGETS_V2,))
        if not shape or shape[0] != rows or not ok:
            raise BadFile(f"{name} has shape {shape}, expected {(rows,) + want[name]}")
    return rows, pos_len


def _load_summary(path: str) -> Dict[str, Entry]:
    """The cache as {file path: Entry}; an unreadable cache is just empty (it is rebuilt)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        log.warning("ignoring unreadable row-count summary, rescanning", extra=kv(path=path, error=str(e)))
        return {}
    entries: Dict[str, Entry] = {}
    try:
        for directory, info in data.items():
            extra = info.get(GOLOOP_KEY, {})
            for name, mtime, rows in info["filename_mtime_num_rowss"]:
                if name not in extra:
                    continue        # written by KataGo's summarizer: no size to compare, reread
                size, pos_len, reason = extra[name]
                entries[os.path.join(directory, name)] = Entry(float(mtime), int(size), rows, pos_len, reason)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        log.warning("ignoring malformed row-count summary, rescanning", extra=kv(path=path, error=str(e)))
        return {}
    return entries


def read_exclude_file(path: str, prefix: str = "") -> Set[str]:
    """shuffle.py's -exclude: one npz path per line, each given `prefix`."""
    with open(path, encoding="utf-8") as f:
        return {prefix + line.strip() for line in f if line.strip()}


@dataclass
class ScanResult:
    files: List[DataFile]           # good files with rows, any order
    bad: List[Tuple[str, str]]      # (path, reason) of every known bad file
    newly_read: int                 # headers read by this scan
    excluded: int


class Scanner:
    """Lists `root` recursively and keeps the row-count summary at `summary_path` up to date."""

    def __init__(self, root: str, summary_path: Optional[str], exclude: Iterable[str] = (),
                 exclude_basename: bool = False):
        self.root = os.path.abspath(root)
        self.summary_path = summary_path
        self.exclude = set(exclude)
        if exclude_basename:
            self.exclude |= {os.path.basename(p) for p in self.exclude}
        self.exclude_basename = exclude_basename
        self._entries: Dict[str, Entry] = _load_summary(summary_path) if summary_path else {}
        self._dirty = False
        self._save_failed = False

    def _excluded(self, path: str) -> bool:
        if not self.exclude:
            return False
        return (os.path.basename(path) if self.exclude_basename else path) in self.exclude

    def _list(self) -> Tuple[Dict[str, os.stat_result], int]:
        found: Dict[str, os.stat_result] = {}
        excluded = 0
        for dirpath, _dirnames, filenames in os.walk(self.root, followlinks=True):
            for name in filenames:
                if not name.endswith(".npz") or is_temp_like(name):
                    continue
                path = os.path.join(dirpath, name)
                if self._excluded(path):
                    excluded += 1
                    continue
                try:
                    st = os.stat(path)
                except OSError:
                    continue            # renamed or removed since the listing
                found[path] = st
        return found, excluded

    def scan(self) -> ScanResult:
        found, excluded = self._list()
        gone = [p for p in self._entries if p not in found]
        for p in gone:
            del self._entries[p]
        self._dirty |= bool(gone)
        stale = [p for p, st in found.items()
                 if (e := self._entries.get(p)) is None or (e.mtime, e.size) != (st.st_mtime, st.st_size)]
        if stale:
            with ThreadPoolExecutor(HEADER_THREADS) as pool:
                for path, entry in zip(stale, pool.map(lambda p: self._read(p, found[p]), stale)):
                    if entry is None:
                        continue
                    self._entries[path] = entry
                    if entry.reason is not None:
                        log.warning("skipping bad training file (remembered until it changes)",
                                    extra=kv(path=path, reason=entry.reason))
            self._dirty = True
        files, bad = [], []
        for path, e in self._entries.items():
            if e.reason is not None:
                bad.append((path, e.reason))
            elif e.num_rows:
                files.append(DataFile(path, e.mtime, e.num_rows, is_random_path(path), e.pos_len))
        self.save()
        return ScanResult(files, bad, len(stale), excluded)

    @staticmethod
    def _read(path: str, st: os.stat_result) -> Optional[Entry]:
        try:
            rows, pos_len = read_header(path)
        except FileNotFoundError:
            return None
        except BadFile as e:
            return Entry(st.st_mtime, st.st_size, None, None, str(e))
        return Entry(st.st_mtime, st.st_size, rows, pos_len, None)

    def mark_bad(self, path: str, reason: str) -> None:
        """Remember a file the shuffle could not read (its headers were fine, its data not)."""
        try:
            st = os.stat(path)
        except OSError:
            self._entries.pop(path, None)
            return
        self._entries[path] = Entry(st.st_mtime, st.st_size, None, None, reason)
        self._dirty = True

    def save(self) -> None:
        """Write the summary (atomically) if it changed; a read-only BASEDIR only costs speed."""
        if not self.summary_path or not self._dirty:
            return
        by_dir: Dict[str, dict] = {}
        for path in sorted(self._entries):
            e = self._entries[path]
            directory, name = os.path.split(path)
            d = by_dir.setdefault(directory, {"dir_mtime": 0.0, "filename_mtime_num_rowss": [],
                                              GOLOOP_KEY: {}})
            d["filename_mtime_num_rowss"].append([name, e.mtime, e.num_rows])
            d[GOLOOP_KEY][name] = [e.size, e.pos_len, e.reason]
        for directory, d in by_dir.items():
            try:
                d["dir_mtime"] = os.path.getmtime(directory)
            except OSError:
                pass
        try:
            with atomic_write(self.summary_path, "w", encoding="utf-8") as f:
                json.dump(by_dir, f)
            self._dirty = False
        except OSError as e:
            if not self._save_failed:
                log.warning("cannot write the row-count summary; every restart will reread headers",
                            extra=kv(path=self.summary_path, error=str(e)))
            self._save_failed = True
