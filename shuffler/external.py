"""The two-pass bucketed external shuffle, in worker processes, in bounded memory.

Same algorithm and randomness as KataGo's shuffle.py (spec: shuffler-and-window.md §5), so the
output is an exact uniform shuffle of an exact keep-sample:

1. shard: input files are grouped as shuffle.py groups them (>= worker-group-size rows); in
   each group round(n * keep_prob) rows are kept, chosen uniformly; each kept row goes to a
   bucket drawn uniformly and independently;
2. merge: each bucket's rows are permuted uniformly and cut into `files_per_bucket`
   contiguous output files `data<b>_<j>.npz` (+ `data<b>_<j>.json` = {"num_rows": n}).

What differs is where the bytes go, which is where shuffle.py spends its time and memory:

* shuffle.py holds a whole group and a whole bucket, every array at once, and deflates every
  intermediate shard with numpy's level 6. Here a shard task holds one input file, and a merge
  task one *array* of its bucket at a time (arrays are permuted independently with the same
  permutation, so they never need to be in memory together): the bucket's largest array, not
  the whole bucket, sets the peak. `plan_memory` turns memory-limit-mb into the number of
  workers (and, only if one worker cannot fit, more and smaller buckets).
* Shards are zstd level 1 (~450 MB/s against deflate-6's ~40), append-only record files
  `<scratch>/b<bucket>/t<task>.shard`; a shard task's groups are split further when there are
  fewer groups than workers, without changing which rows are kept (the group's keep-sample is
  drawn from the group's own seed).
* Outputs are written member by member (`NpzWriter`) with the KataGo C++ writer's 256-byte npy
  headers, `.npy` member names as numpy writes them, and fsync before the caller publishes them.
  Level 1 (the default) is ISA-L's deflate when the `isal` package is installed (~650 MB/s,
  files ~15% larger than numpy's level 6, a fifth of stored ones), else zlib's level 1
  (~120 MB/s); 0 stores.

Workers ignore SIGINT: the daemon decides, and on a stop `WorkerPool` terminates them and the
caller deletes the unpublished directories.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import resource
import shutil
import signal
import struct
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import zstandard

from goloop.common.files.trainingdata import (
    ARRAY_NAMES,
    DTYPES,
    TrainingDataError,
    npy_header,
    read_npz,
    row_shapes,
)
from goloop.shuffler.window import DataFile, group_files, num_buckets, rows_kept_in_group

try:        # ISA-L's deflate and crc32: ~5x zlib's, smaller files; optional (plain zlib otherwise)
    from isal import isal_zlib as _fast_zlib
except ImportError:     # pragma: no cover - depends on the environment
    _fast_zlib = None
_crc32 = _fast_zlib.crc32 if _fast_zlib is not None else zlib.crc32

RECORD = struct.Struct("<IIQ")          # member index, rows, compressed bytes
GATHER_BYTES = 8 << 20                  # rows gathered per write into an output member
MAX_OPEN_SHARDS = 128                   # shard files a shard task keeps open at once
WORKER_BASE_MB = 60                     # a worker's interpreter, numpy and zstd, measured ~45
TASKS_PER_WORKER = 3                    # split groups so the last tasks do not leave cores idle


class Interrupted(Exception):
    """A stop was requested while the shuffle ran; nothing it wrote may be published."""


def member_names(include_meta: bool, exclude_qvalues: bool) -> Tuple[str, ...]:
    """The arrays of every output file, in KataGo's order (§5.3)."""
    names = [n for n in ARRAY_NAMES if not (exclude_qvalues and n == "qValueTargetsNCMove")]
    if include_meta:
        names.append("metadataInputNC")
    return tuple(names)


def member_row_bytes(pos_len: int, members: Sequence[str]) -> Dict[str, int]:
    shapes = row_shapes(pos_len)
    return {m: int(np.prod(shapes[m])) * DTYPES[m].itemsize for m in members}


# ---------------------------------------------------------------------------------------------
# Memory.

def rss_mb() -> float:
    """This process's resident memory now (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass(frozen=True)
class MemoryPlan:
    workers: int
    buckets: int
    estimate_mb: float          # whole shuffle: main process + workers
    fits: bool                  # False: even one worker with the smallest buckets exceeds the limit


def _max_bucket_rows(rows: float, buckets: int) -> int:
    """A bucket's size is binomial around rows/buckets; allow four standard deviations."""
    mean = rows / buckets
    return int(mean + 4.0 * math.sqrt(mean) + 16)


def plan_memory(rows_to_keep: float, buckets: int, pos_len: int, members: Sequence[str],
                max_file_rows: int, workers: int, limit_mb: float, main_mb: float) -> MemoryPlan:
    """Workers and buckets that keep the whole shuffle under `limit_mb`.

    A shard task holds one input file (read, plus one reordered array); a merge task one array of
    its bucket plus one gather chunk. KataGo's bucket count is kept when it can be, giving up
    parallelism first; only when a single worker cannot hold one bucket array do buckets
    multiply (smaller output files, never more memory).
    """
    per_row = member_row_bytes(pos_len, members)
    biggest, total = max(per_row.values()), sum(per_row.values())
    shard_mb = max_file_rows * (total + biggest) * 1.2 / 2 ** 20

    def merge_mb(b: int) -> float:
        return (_max_bucket_rows(rows_to_keep, b) * biggest + GATHER_BYTES) * 1.1 / 2 ** 20

    def worker_mb(b: int) -> float:
        return WORKER_BASE_MB + max(shard_mb, merge_mb(b))

    fixed = main_mb + WORKER_BASE_MB        # the main process and the forkserver
    room = limit_mb - fixed
    fit = int(room // worker_mb(buckets))
    if fit >= 1:
        n = min(workers, fit)
        return MemoryPlan(n, buckets, fixed + n * worker_mb(buckets), True)
    b = buckets
    while worker_mb(b) > room and merge_mb(b) > shard_mb and _max_bucket_rows(rows_to_keep, b) > 1000:
        b = b * 2
    return MemoryPlan(1, b, fixed + worker_mb(b), worker_mb(b) <= room)


# ---------------------------------------------------------------------------------------------
# Worker side.

@dataclass(frozen=True)
class Layout:
    """What every task of one shuffle needs to know (pickled to the workers)."""

    pos_len: int
    members: Tuple[str, ...]
    keep_prob: float
    buckets: int
    files_per_bucket: int
    shard_dir: str
    out_dir: str
    zstd_level: int = 1
    deflate_level: int = 1

    def bucket_dir(self, b: int) -> str:
        return os.path.join(self.shard_dir, f"b{b}")


@dataclass(frozen=True)
class ShardTask:
    index: int
    files: Tuple[Tuple[str, int], ...]      # (path, rows expected from the scan)
    group_seed: int
    group_rows: int                         # rows of the whole group (as scanned)
    group_keep: int                         # rows kept from the whole group
    offset: int                             # rows of the group before this task's first file
    seed: int


@dataclass
class ShardResult:
    task_rows: int = 0                      # rows of the task's files as scanned (for progress)
    rows_read: int = 0
    rows_kept: int = 0
    skipped: List[Tuple[str, str, bool]] = field(default_factory=list)  # path, reason, corrupt
    peak_rss_mb: float = 0.0


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def group_keep_mask(seed: int, rows: int, keep: int) -> np.ndarray:
    """Which rows of a group are kept: `keep` of `rows`, uniformly, the same in every task."""
    if keep >= rows:
        return np.ones(rows, dtype=bool)
    mask = np.zeros(rows, dtype=bool)
    mask[np.random.default_rng(seed).choice(rows, keep, replace=False)] = True
    return mask


class _ShardFiles:
    """Append-only record files of one task, one per bucket, a bounded number open at once."""

    def __init__(self, layout: Layout, task: int):
        self.layout = layout
        self.task = task
        self.open: "OrderedDict[int, object]" = OrderedDict()
        self.cctx = zstandard.ZstdCompressor(level=layout.zstd_level)

    def append(self, bucket: int, member: int, rows: np.ndarray) -> None:
        f = self.open.pop(bucket, None)
        if f is None:
            if len(self.open) >= MAX_OPEN_SHARDS:
                self.open.popitem(last=False)[1].close()
            path = os.path.join(self.layout.bucket_dir(bucket), f"t{self.task}.shard")
            f = open(path, "ab")
        self.open[bucket] = f
        data = self.cctx.compress(memoryview(np.ascontiguousarray(rows)).cast("B"))
        f.write(RECORD.pack(member, len(rows), len(data)))
        f.write(data)

    def close(self) -> None:
        while self.open:
            self.open.popitem()[1].close()


def _read_input(path: str, rows: int, layout: Layout) -> Dict[str, np.ndarray]:
    """common.files.trainingdata.read_npz (checked, 64-wide targets padded, missing q-values as
    zeros), then what this shuffle needs. TrainingDataError: the file is corrupt; ValueError: it
    does not fit this shuffle (changed since the scan, another board size, no metadata)."""
    arrays = read_npz(path)
    n = arrays["binaryInputNCHWPacked"].shape[0]
    if n != rows:
        raise ValueError(f"has {n} rows, {rows} when scanned (replaced since?)")
    pos_len = arrays["valueTargetsNCHW"].shape[2]
    if pos_len != layout.pos_len:
        raise ValueError(f"board tensor {pos_len}, the shuffle's is {layout.pos_len}")
    if "metadataInputNC" in layout.members and "metadataInputNC" not in arrays:
        raise ValueError("no metadataInputNC (include-meta is set)")
    return arrays


def shard_task(layout: Layout, task: ShardTask) -> ShardResult:
    """Pass 1 for some files of one group: keep-sample, assign buckets, append records."""
    result = ShardResult(task_rows=sum(rows for _, rows in task.files))
    keep = group_keep_mask(task.group_seed, task.group_rows, task.group_keep)
    rng = np.random.default_rng(task.seed)
    out = _ShardFiles(layout, task.index)
    offset = task.offset
    try:
        for path, rows in task.files:
            mask = keep[offset:offset + rows]
            offset += rows
            try:
                arrays = _read_input(path, rows, layout)
            except FileNotFoundError:
                result.skipped.append((path, "vanished before it was read", False))
                continue
            except TrainingDataError as e:
                result.skipped.append((path, str(e).removeprefix(path + ": "), True))
                continue
            except ValueError as e:
                result.skipped.append((path, str(e), False))
                continue
            kept = np.flatnonzero(mask)
            bucket = rng.integers(layout.buckets, size=kept.size)
            order = kept[np.argsort(bucket, kind="stable")]
            counts = np.bincount(bucket, minlength=layout.buckets)
            starts = np.concatenate(([0], np.cumsum(counts)))
            for m, name in enumerate(layout.members):
                column = arrays.pop(name)[order]
                for b in np.flatnonzero(counts):
                    out.append(int(b), m, column[starts[b]:starts[b + 1]])
                del column
            result.rows_read += rows
            result.rows_kept += int(kept.size)
            del arrays
    finally:
        out.close()
    result.peak_rss_mb = peak_rss_mb()
    return result


@dataclass
class MergeResult:
    outputs: List[Tuple[str, int]]          # (file name, rows)
    peak_rss_mb: float = 0.0


def _shard_index(paths: Sequence[str], members: int) -> List[List[Tuple[str, int, int, int]]]:
    """Per member, the records (path, data offset, rows, bytes) in file and record order."""
    index: List[List[Tuple[str, int, int, int]]] = [[] for _ in range(members)]
    for path in paths:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            pos = 0
            while pos < size:
                m, n, nbytes = RECORD.unpack(f.read(RECORD.size))
                pos += RECORD.size
                index[m].append((path, pos, n, nbytes))
                pos += nbytes
                f.seek(pos)
    return index


def _fill_column(records, column: np.ndarray, dctx) -> None:
    flat = column.reshape(len(column), -1).view(np.uint8).reshape(-1)
    row_bytes = column[0].nbytes if len(column) else 0
    pos = 0
    current, handle = None, None
    try:
        for path, offset, n, nbytes in records:
            if path != current:
                if handle is not None:
                    handle.close()
                handle, current = open(path, "rb"), path
            handle.seek(offset)
            data = dctx.decompress(handle.read(nbytes), max_output_size=n * row_bytes)
            flat[pos:pos + len(data)] = np.frombuffer(data, dtype=np.uint8)
            pos += len(data)
    finally:
        if handle is not None:
            handle.close()
    if pos != column.nbytes:
        raise RuntimeError(f"bucket shards hold {pos} bytes, expected {column.nbytes}")


class NpzWriter:
    """A zip of `.npy` members written as a stream, one member at a time.

    zipfile cannot take another deflate implementation, and a whole output file is larger than
    the memory a merge task may hold, so members are compressed chunk by chunk and the local
    header's sizes are patched in afterwards (the file is seekable). Level 0 stores members;
    level 1 is the fastest deflate available (ISA-L's level 1 when installed, else zlib's);
    2-9 are zlib's levels. Plain zip (no zip64): a member must stay under 4 GiB.
    """

    _LOCAL = struct.Struct("<IHHHHHIIIHH")
    _CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")

    def __init__(self, path: str, level: int, fast: bool = True):
        self.path = path
        self.level = level
        self.fast = fast and _fast_zlib is not None
        self.f = open(path, "wb")
        self.central: List[bytes] = []
        lt = time.localtime()
        self.dos_time = (lt.tm_hour << 11) | (lt.tm_min << 5) | (lt.tm_sec // 2)
        self.dos_date = ((max(lt.tm_year, 1980) - 1980) << 9) | (lt.tm_mon << 5) | lt.tm_mday

    def _compressor(self):
        if self.level == 1 and self.fast:
            return _fast_zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
        return zlib.compressobj(self.level, zlib.DEFLATED, -zlib.MAX_WBITS)

    def member(self, name: str, pieces) -> None:
        """Add member `name` made of the byte buffers `pieces`, in order."""
        f = self.f
        offset = f.tell()
        fname = name.encode("ascii")
        method = 8 if self.level > 0 else 0
        f.write(self._LOCAL.pack(0x04034B50, 20, 0, method, self.dos_time, self.dos_date, 0, 0, 0,
                                 len(fname), 0))
        f.write(fname)
        comp = self._compressor() if method else None
        crc = size = csize = 0
        for piece in pieces:
            crc = _crc32(piece, crc)
            size += len(piece)
            out = comp.compress(piece) if comp else piece
            f.write(out)
            csize += len(out)
        if comp:
            out = comp.flush()
            f.write(out)
            csize += len(out)
        if max(size, csize, offset) >= 0xFFFFFFFF:
            raise ValueError(f"{self.path}: member {name} passes 4 GiB; use smaller output files")
        end = f.tell()
        f.seek(offset + 14)
        f.write(struct.pack("<III", crc, csize, size))
        f.seek(end)
        self.central.append(self._CENTRAL.pack(0x02014B50, (3 << 8) | 20, 20, 0, method,
                                               self.dos_time, self.dos_date, crc, csize, size,
                                               len(fname), 0, 0, 0, 0, 0o100644 << 16, offset) + fname)

    def close(self) -> None:
        """Write the central directory and make the file durable (fsync) before it is published."""
        f = self.f
        start = f.tell()
        cd = b"".join(self.central)
        f.write(cd)
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(self.central), len(self.central),
                            len(cd), start, 0))
        f.flush()
        os.fsync(f.fileno())
        f.close()

    def abort(self) -> None:
        self.f.close()


def merge_task(layout: Layout, bucket: int, seed: int) -> MergeResult:
    """Pass 2 for one bucket: permute its rows and write its output files, one array at a time."""
    directory = layout.bucket_dir(bucket)
    paths = sorted(os.path.join(directory, n) for n in os.listdir(directory)) if os.path.isdir(directory) else []
    index = _shard_index(paths, len(layout.members))
    totals = {sum(r[2] for r in records) for records in index}
    if len(totals) != 1:
        raise RuntimeError(f"bucket {bucket}: arrays disagree on the rows: {sorted(totals)}")
    rows = totals.pop()
    if rows == 0:
        shutil.rmtree(directory, ignore_errors=True)
        return MergeResult([], peak_rss_mb())
    perm = np.random.default_rng(seed).permutation(rows)
    k = layout.files_per_bucket
    cuts = [(j * rows) // k for j in range(k + 1)]
    spans = [(f"data{bucket}_{j}", cuts[j], cuts[j + 1]) for j in range(k) if cuts[j + 1] > cuts[j]]
    writers = [NpzWriter(os.path.join(layout.out_dir, n + ".npz"), layout.deflate_level)
               for n, _, _ in spans]
    try:
        dctx = zstandard.ZstdDecompressor()
        shapes = row_shapes(layout.pos_len)
        for m, name in enumerate(layout.members):
            column = np.empty((rows,) + shapes[name], dtype=DTYPES[name])
            _fill_column(index[m], column, dctx)
            chunk = max(1, GATHER_BYTES // max(1, column[0].nbytes))
            for w, (_, a, b) in zip(writers, spans):
                header = npy_header(column.dtype, (b - a,) + shapes[name])
                w.member(name + ".npy", _gathered(header, column, perm, a, b, chunk))
            del column
        for w in writers:
            w.close()
    except BaseException:
        for w in writers:
            w.abort()
        raise
    outputs = []
    for n, a, b in spans:
        with open(os.path.join(layout.out_dir, n + ".json"), "w") as f:
            f.write('{"num_rows": %d}' % (b - a))
        outputs.append((n + ".npz", b - a))
    shutil.rmtree(directory, ignore_errors=True)
    return MergeResult(outputs, peak_rss_mb())


def _gathered(header: bytes, column: np.ndarray, perm: np.ndarray, a: int, b: int, chunk: int):
    yield header
    for c in range(a, b, chunk):
        yield memoryview(column[perm[c:min(b, c + chunk)]]).cast("B")


# ---------------------------------------------------------------------------------------------
# Main-process side.

class WorkerPool:
    """A process pool whose waits give up as soon as `should_stop()` says so.

    forkserver, not fork: the daemon has threads (watchdog's observer), and forking a process
    with threads can copy a held lock into the child.
    """

    def __init__(self, processes: int, should_stop: Callable[[], bool] = lambda: False):
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        self.processes = processes
        self.should_stop = should_stop
        self._pool = ctx.Pool(processes, initializer=_init_worker)

    def run(self, fn: Callable, arglist: Sequence[tuple], on_result: Callable) -> None:
        pending = [self._pool.apply_async(fn, args) for args in arglist]
        while pending:
            if self.should_stop():
                raise Interrupted()
            waiting = []
            for r in pending:
                if r.ready():
                    on_result(r.get())
                else:
                    waiting.append(r)
            pending = waiting
            if pending:
                pending[0].wait(0.05)

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class ShuffleStats:
    rows_in: int = 0
    rows_kept: int = 0
    rows_out: int = 0
    files_out: int = 0
    outputs: List[Tuple[str, int]] = field(default_factory=list)
    skipped: List[Tuple[str, str, bool]] = field(default_factory=list)
    worker_peak_rss_mb: float = 0.0
    seconds: float = 0.0
    shard_seconds: float = 0.0


def shard_tasks(files: Sequence[DataFile], keep_prob: float, worker_group_size: int,
                min_tasks: int, rng: np.random.Generator) -> List[ShardTask]:
    """shuffle.py's groups, each split into enough tasks to keep `min_tasks` workers busy."""
    groups = group_files(files, worker_group_size)
    parts = max(1, -(-min_tasks // max(1, len(groups))))
    tasks: List[ShardTask] = []
    for group in groups:
        rows = sum(f.num_rows for f in group)
        group_seed = int(rng.integers(1 << 63))
        n = min(parts, len(group))
        bounds = [round(i * len(group) / n) for i in range(n + 1)]
        offset = 0
        for i in range(n):
            chunk = group[bounds[i]:bounds[i + 1]]
            tasks.append(ShardTask(len(tasks), tuple((f.path, f.num_rows) for f in chunk), group_seed,
                                   rows, rows_kept_in_group(rows, keep_prob), offset,
                                   int(rng.integers(1 << 63))))
            offset += sum(f.num_rows for f in chunk)
    return tasks


def shuffle_files(files: Sequence[DataFile], out_dir: str, scratch_dir: str, keep_prob: float,
                  pos_len: int, members: Sequence[str], buckets: int, files_per_bucket: int,
                  worker_group_size: int, pool: WorkerPool, rng: np.random.Generator,
                  zstd_level: int = 1, deflate_level: int = 1,
                  progress: Optional[Callable[[str, int], None]] = None) -> ShuffleStats:
    """Shuffle `files` (already in shuffle.py's random order) into `out_dir`, using `scratch_dir`.

    `out_dir` must exist; `scratch_dir` is created and removed. Raises Interrupted on a stop.
    Files that cannot be read are skipped and listed in the result.
    """
    start = time.monotonic()
    stats = ShuffleStats()
    layout = Layout(pos_len, tuple(members), keep_prob, buckets, files_per_bucket, scratch_dir,
                    out_dir, zstd_level, deflate_level)
    try:
        for b in range(buckets):
            os.makedirs(layout.bucket_dir(b), exist_ok=True)
        tasks = shard_tasks(files, keep_prob, worker_group_size,
                            TASKS_PER_WORKER * pool.processes, rng)

        def on_shard(r: ShardResult) -> None:
            stats.rows_in += r.rows_read
            stats.rows_kept += r.rows_kept
            stats.skipped.extend(r.skipped)
            stats.worker_peak_rss_mb = max(stats.worker_peak_rss_mb, r.peak_rss_mb)
            if progress:
                progress("shard", r.task_rows)

        pool.run(shard_task, [(layout, t) for t in tasks], on_shard)
        stats.shard_seconds = time.monotonic() - start

        def on_merge(r: MergeResult) -> None:
            stats.outputs.extend(r.outputs)
            rows = sum(n for _, n in r.outputs)
            stats.rows_out += rows
            stats.worker_peak_rss_mb = max(stats.worker_peak_rss_mb, r.peak_rss_mb)
            if progress:
                progress("merge", rows)

        seeds = [int(s) for s in rng.integers(1 << 63, size=buckets)]
        pool.run(merge_task, [(layout, b, seeds[b]) for b in range(buckets)], on_merge)
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    stats.outputs.sort()
    stats.files_out = len(stats.outputs)
    stats.seconds = time.monotonic() - start
    return stats


def buckets_for(rows_to_keep: float, rows_per_bucket: int, rows_per_out_file: int) -> Tuple[int, int]:
    """§5: (buckets, output files per bucket) as shuffle.py chooses them."""
    return num_buckets(rows_to_keep, rows_per_bucket), max(1, rows_per_bucket // rows_per_out_file)
