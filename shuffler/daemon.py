"""`goloop shuffle`: scan, choose KataGo's window, shuffle it, publish it, clean up, wait.

Thin by design: the window math is window.py, the file summaries scan.py, the shuffle itself
external.py; this module tells the story of one cycle, as shuffle.sh does, and loops like
shuffle_and_export_loop.sh (spec: shuffler-and-window.md §6):

1. scan BASEDIR/selfplay (cached row counts; corrupt files logged once and skipped);
2. below min-rows: log and wait. KataGo publishes an empty directory there, and also after a
   crash; goloop publishes only complete shuffles;
3. build BASEDIR/shuffleddata/<date>.tmp/{train,val}/ + train.json, val.json, then rename it to
   <date> in one step, so a trainer sees all of it or nothing;
4. remove old shuffles as cleanup_old_dirs.py does (see `cleanup_old_shuffles` for why a trainer
   cannot still be reading them), and stale .tmp leftovers of killed shuffles.

The daemon then waits (watchdog's polling observer on BASEDIR/selfplay) for
`reshuffle-min-new-rows` new rows, counted from the range of the newest published shuffle, so a
restart resumes where it left off. SIGINT/SIGTERM: a shuffle in progress is discarded (never
half-published; one already complete is still published), workers are stopped, exit 0.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import threading
import time
from typing import List, Optional

import numpy as np

from goloop.common.files.heartbeat import Heartbeat
from goloop.common.logs import kv
from goloop.shuffler import external, window
from goloop.shuffler.config import ShufflerConfig
from goloop.shuffler.scan import Scanner, read_exclude_file

log = logging.getLogger(__name__)


class _Stop:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested


def _seed_sequence(seed: str) -> np.random.SeedSequence:
    if not seed:
        return np.random.SeedSequence()
    import hashlib
    return np.random.SeedSequence(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16], "little"))


def _published(shuffled_dir: str) -> List[str]:
    """Published shuffle directories, oldest first (by mtime, as the trainer picks them)."""
    out = []
    try:
        entries = list(os.scandir(shuffled_dir))
    except FileNotFoundError:
        return []
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False) and not e.name.endswith(".tmp"):
                out.append((e.stat(follow_symlinks=False).st_mtime, e.path))
        except OSError:
            continue
    return [p for _, p in sorted(out)]


def last_published_end(shuffled_dir: str) -> Optional[int]:
    """range[1] of the newest shuffle with a train.json: the data rows it already covered."""
    for path in reversed(_published(shuffled_dir)):
        try:
            with open(os.path.join(path, "train.json"), encoding="utf-8") as f:
                return int(json.load(f)["range"][1])
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue
    return None


def cleanup_old_shuffles(shuffled_dir: str, keep: int, age_seconds: float,
                         now: Optional[float] = None) -> List[str]:
    """cleanup_old_dirs.py's rule; returns the removed paths.

    Among published shuffles older than `age_seconds`, all but the newest `keep` are removed.
    So a removed shuffle has `keep` newer ones that were all published over `age_seconds` ago,
    and a trainer (which takes the newest shuffle at every epoch) reading it must have started
    that epoch more than that long ago. Unlike KataGo, `.tmp` directories never count toward the
    kept ones: a leftover of a killed shuffle is removed once nothing in it or in its
    train/ and val/ has changed for `age_seconds` (a live shuffle writes there continually).
    """
    now = time.time() if now is None else now
    removed = []
    old = [p for p in _published(shuffled_dir) if now - os.path.getmtime(p) > age_seconds]
    for path in old[:-keep] if keep else old:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    for e in os.scandir(shuffled_dir):
        if e.name.endswith(".tmp") and e.is_dir(follow_symlinks=False):
            try:
                newest = max([e.stat().st_mtime] + [s.stat().st_mtime for s in os.scandir(e.path)
                                                      if s.is_dir(follow_symlinks=False)])
            except OSError:
                continue
            if now - newest > age_seconds:
                shutil.rmtree(e.path, ignore_errors=True)
                removed.append(e.path)
    return removed


def _clean_stale_scratch(scratch: str) -> None:
    """Scratch dirs of shuffles of this host whose process is gone (a SIGKILL leaves them)."""
    host = socket.gethostname()
    try:
        entries = list(os.scandir(scratch))
    except FileNotFoundError:
        return
    for e in entries:
        head, _, pid_text = e.name.rpartition("-")
        if head.endswith("-" + host) and pid_text.isdigit():
            pid = int(pid_text)
            if pid == os.getpid():
                continue
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                shutil.rmtree(e.path, ignore_errors=True)
            except PermissionError:
                pass


def _new_name(shuffled_dir: str) -> str:
    base = time.strftime("%Y%m%d-%H%M%S")
    name, i = base, 1
    while os.path.exists(os.path.join(shuffled_dir, name)) or \
            os.path.exists(os.path.join(shuffled_dir, name + ".tmp")):
        name, i = f"{base}-{i}", i + 1
    return name


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Shuffler:
    """One BASEDIR's shuffler: the scanner's cache and the range already published."""

    def __init__(self, cfg: ShufflerConfig, stop: _Stop, progress: bool = True):
        self.cfg = cfg
        self.stop = stop
        self.progress = progress
        self.seeds = _seed_sequence(cfg.seed)
        exclude = read_exclude_file(cfg.exclude, cfg.exclude_prefix) if cfg.exclude else ()
        self.scanner = Scanner(cfg.selfplay_dir, cfg.summary_path, exclude, cfg.exclude_basename)
        self.last_end = last_published_end(cfg.shuffled_dir)
        self._warned_pos_len: set = set()
        self._waiting_for: Optional[int] = None

    def _usable(self, files: List[window.DataFile]) -> List[window.DataFile]:
        """Files of the newest file's board tensor size; others are skipped (KataGo would crash)."""
        if not files:
            return files
        pos_len = max(files, key=lambda f: f.mtime).pos_len
        out = []
        for f in files:
            if f.pos_len == pos_len:
                out.append(f)
            elif f.path not in self._warned_pos_len:
                self._warned_pos_len.add(f.path)
                log.warning("skipping file of another board size", extra=kv(
                    path=f.path, pos_len=f.pos_len, run_pos_len=pos_len))
        return out

    def cycle(self, force: bool) -> str:
        """Scan and, if due, shuffle. Returns 'shuffled', 'waiting', 'not-due' or 'failed'."""
        cfg = self.cfg
        scan = self.scanner.scan()
        files = self._usable(scan.files)
        counts = window.count_rows(files, cfg.min_rows)
        if counts.total < cfg.min_rows:
            if self._waiting_for != counts.total:
                log.info("waiting for more rows before the first shuffle", extra=kv(
                    rows=counts.total, min_rows=cfg.min_rows, files=len(files),
                    files_skipped=len(scan.bad)))
                self._waiting_for = counts.total
            return "waiting"
        self._waiting_for = None
        end = counts.total + int(cfg.add_to_data_rows)
        new_rows = None if self.last_end is None else end - self.last_end
        if not force and new_rows is not None and new_rows < cfg.reshuffle_min_new_rows:
            return "not-due"
        return self.shuffle(files, counts, len(scan.bad), new_rows)

    def shuffle(self, files, counts: window.RowCounts, bad_files: int, new_rows) -> str:
        cfg = self.cfg
        size = window.window_size(counts.usable, cfg.min_rows, cfg.taper_window_exponent,
                                  cfg.expand_window_per_row, cfg.taper_window_scale,
                                  cfg.add_to_data_rows, cfg.max_rows)
        sel = window.select_window(files, size, counts.total, cfg.add_to_data_rows, cfg.skip_mtime_range)
        keep_prob = window.keep_probability(sel.num_rows_used, cfg.keep_target)
        rng = np.random.default_rng(self.seeds.spawn(1)[0])
        chosen = list(sel.files)
        rng.shuffle(chosen)
        splits = [("train", chosen)] if cfg.skip_validate else [
            ("val", window.split_by_md5(chosen, window.VALIDATION_MD5_LBOUND, 1.0)),
            ("train", window.split_by_md5(chosen, 0.0, window.VALIDATION_MD5_LBOUND))]
        pos_len = chosen[0].pos_len
        members = external.member_names(cfg.include_meta, cfg.exclude_qvalues)
        train_rows = sum(f.num_rows for f in splits[-1][1]) * keep_prob
        buckets, files_per_bucket = external.buckets_for(train_rows, cfg.rows_per_bucket,
                                                   cfg.approx_rows_per_out_file)
        mem = external.plan_memory(train_rows, buckets, pos_len, members,
                                   max(f.num_rows for f in chosen), cfg.workers,
                                   cfg.memory_limit_mb, external.rss_mb())
        if not mem.fits:
            log.warning("memory-limit-mb is below what one worker needs for these files",
                        extra=kv(limit_mb=cfg.memory_limit_mb, estimate_mb=round(mem.estimate_mb)))
        elif mem.buckets > buckets:
            log.warning("memory-limit-mb too small for one bucket: using more, smaller output files",
                        extra=kv(buckets=mem.buckets, katago_buckets=buckets))
        log.info("shuffling", extra=kv(
            rows_total=counts.total, rows_usable=counts.usable, new_rows=new_rows, window=size,
            files=len(chosen), rows_used=sel.num_rows_used, range_start=sel.start_row,
            range_end=sel.end_row, keep_prob=round(keep_prob, 6), buckets=mem.buckets,
            files_per_bucket=files_per_bucket, workers=mem.workers,
            memory_estimate_mb=round(mem.estimate_mb), files_skipped=bad_files))

        name = _new_name(cfg.shuffled_dir)
        tmp = os.path.join(cfg.shuffled_dir, name + ".tmp")
        scratch = os.path.join(cfg.scratch_dir, f"{name}-{socket.gethostname()}-{os.getpid()}")
        start = time.monotonic()
        totals = {"rows_in": 0, "rows_out": 0, "train_rows_out": 0, "files_out": 0, "skipped": 0,
                  "worker_rss": 0.0}
        try:
            os.makedirs(tmp)
            with external.WorkerPool(mem.workers, self.stop) as pool:
                for split, split_files in splits:
                    self._shuffle_split(split, split_files, tmp, scratch, keep_prob, pos_len, members,
                                        files_per_bucket, mem, pool, rng, sel, totals)
            if totals["train_rows_out"] == 0:
                raise RuntimeError("no train rows: the window's train files could not be read")
            _fsync_dir(tmp)
            os.rename(tmp, os.path.join(cfg.shuffled_dir, name))
        except external.Interrupted:
            shutil.rmtree(tmp, ignore_errors=True)
            log.info("stopped: shuffle in progress discarded, nothing published", extra=kv(shuffle=name))
            return "stopped"
        except Exception as e:
            shutil.rmtree(tmp, ignore_errors=True)
            log.error("shuffle failed, nothing published", extra=kv(shuffle=name, error=f"{type(e).__name__}: {e}"),
                      exc_info=not isinstance(e, OSError))
            return "failed"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            self.scanner.save()
        self.last_end = sel.end_row
        log.info("published shuffle", extra=kv(
            dir=os.path.join(cfg.shuffled_dir, name), rows_in=totals["rows_in"],
            rows_out=totals["rows_out"], files_out=totals["files_out"],
            files_skipped=bad_files + totals["skipped"], range_start=sel.start_row,
            range_end=sel.end_row, seconds=round(time.monotonic() - start, 2),
            rows_per_s=round(totals["rows_in"] / max(1e-9, time.monotonic() - start)),
            peak_rss_main_mb=round(external.peak_rss_mb()),
            peak_rss_worker_mb=round(totals["worker_rss"]), workers=mem.workers))
        removed = cleanup_old_shuffles(cfg.shuffled_dir, cfg.cleanup_keep, cfg.cleanup_age_seconds)
        if removed:
            log.info("removed old shuffles", extra=kv(dirs=",".join(os.path.basename(p) for p in removed)))
        return "shuffled"

    def _shuffle_split(self, split, files, tmp, scratch, keep_prob, pos_len, members,
                       files_per_bucket, mem, pool, rng, sel, totals) -> None:
        out_dir = os.path.join(tmp, split)
        os.makedirs(out_dir)
        rows = sum(f.num_rows for f in files)
        if not files or rows <= 0:      # KataGo: "No files after filtering": no json, empty dir
            log.info("no files in this split", extra=kv(split=split))
            return
        rows_to_keep = rows * keep_prob
        buckets = max(mem.buckets if split == "train" else 1,
                      window.num_buckets(rows_to_keep, self.cfg.rows_per_bucket))
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=int(rows + rows_to_keep), unit="row", unit_scale=True,
                       desc=f"shuffle {split}", dynamic_ncols=True, leave=False)
        try:
            stats = external.shuffle_files(
                files, out_dir, os.path.join(scratch, split), keep_prob, pos_len, members, buckets,
                files_per_bucket, self.cfg.worker_group_size, pool, rng, self.cfg.shard_zstd_level,
                self.cfg.output_deflate_level, (lambda phase, n: bar.update(n)) if bar else None)
        finally:
            if bar is not None:
                bar.close()
        for path, reason, corrupt in stats.skipped:
            log.warning("skipped unreadable training file", extra=kv(path=path, reason=reason))
            if corrupt:
                self.scanner.mark_bad(path, reason)
        index = {"files": [{"name": n, "num_rows": r} for n, r in stats.outputs]}
        with open(os.path.join(out_dir, "index.json"), "w", encoding="utf-8") as f:
            json.dump(index, f)
        _fsync_dir(out_dir)
        if stats.rows_out > 0:
            with open(os.path.join(tmp, split + ".json"), "w", encoding="utf-8") as f:
                json.dump({"range": [sel.start_row, sel.end_row]}, f)
        for key, value in (("rows_in", stats.rows_in), ("rows_out", stats.rows_out),
                           ("files_out", stats.files_out), ("skipped", len(stats.skipped))):
            totals[key] += value
        if split == "train":
            totals["train_rows_out"] = stats.rows_out
        totals["worker_rss"] = max(totals["worker_rss"], stats.worker_peak_rss_mb)
        log.info("shuffled split", extra=kv(split=split, files_in=len(files), rows_in=stats.rows_in,
                                            rows_kept=stats.rows_kept, rows_out=stats.rows_out,
                                            files_out=stats.files_out, buckets=buckets,
                                            seconds=round(stats.seconds, 2),
                                            shard_seconds=round(stats.shard_seconds, 2)))


def run_shuffler(cfg: ShufflerConfig, once: bool = False, progress: bool = True) -> int:
    """Shuffle once (`once`) or forever until SIGINT/SIGTERM; returns the exit code."""
    if not cfg.base_dir:
        raise ValueError("no BASEDIR: give --base-dir")
    for d in (cfg.selfplay_dir, cfg.shuffled_dir, cfg.scratch_dir):
        os.makedirs(d, exist_ok=True)
    _clean_stale_scratch(cfg.scratch_dir)
    stop = _Stop()
    wake = threading.Event()

    def on_signal(signum, frame):
        stop.requested = True
        wake.set()
        log.info("stop requested", extra=kv(signal=signal.Signals(signum).name))

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    observer = None
    beat = Heartbeat(cfg.base_dir, "shuffler")
    try:
        beat.beat(state="starting")
        shuffler = Shuffler(cfg, stop, progress)
        if cfg.num_waves > 1:
            log.warning("num-waves is ignored: goloop's zstd shards need no waves",
                        extra=kv(num_waves=cfg.num_waves))
        log.info("shuffler ready", extra=kv(base_dir=cfg.base_dir, workers=cfg.workers,
                                            last_range_end=shuffler.last_end))
        if once:
            result = shuffler.cycle(force=True)
            return 1 if result == "failed" else 0
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers.polling import PollingObserver

        class _OnChange(FileSystemEventHandler):
            def on_any_event(self, event):
                wake.set()

        observer = PollingObserver(timeout=cfg.poll_seconds)
        observer.schedule(_OnChange(), cfg.selfplay_dir, recursive=True)
        observer.start()
        wake.set()
        next_allowed = 0.0
        while not stop():
            while not stop() and (time.monotonic() < next_allowed or
                                  not (wake.is_set() or cfg.reshuffle_min_new_rows == 0)):
                beat.beat(state="waiting", last_range_end=shuffler.last_end)
                wake.wait(min(1.0, max(0.05, next_allowed - time.monotonic())))
            if stop():
                break
            wake.clear()
            beat.beat(force=True, state="shuffling", last_range_end=shuffler.last_end)
            result = shuffler.cycle(force=cfg.reshuffle_min_new_rows == 0)
            if result == "failed":
                wake.set()          # retry after the pause even if no new file arrives
            if result in ("shuffled", "failed") or cfg.reshuffle_min_new_rows == 0:
                next_allowed = time.monotonic() + cfg.reshuffle_sleep_seconds
        return 0
    finally:
        if observer is not None:
            observer.stop()
            observer.join()
        for s, h in old.items():
            signal.signal(s, h)
        beat.close()
        log.info("shuffler stopped")
