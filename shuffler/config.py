"""`goloop shuffle`'s configuration: shuffle.py's and shuffle.sh's parameters under their names.

Why KataGo's names (`min-rows`, `keep-target-rows`, ...): a run's shuffle command line moves
between KataGo and goloop, and the CLI accepts KataGo's single-dash flags too. The defaults are
what a KataGo run gets from shuffle.sh (spec: shuffler-and-window.md §1 and §6): shuffle.py's own
defaults where shuffle.sh passes nothing (min-rows 250000, add-to-data-rows 0), shuffle.sh's
values where it passes one (expand-window-per-row 0.4, taper-window-exponent 0.65, keep-target-rows
20000000, approx-rows-per-out-file 70000, a 5 % validation split unless skip-validate). The
synchronous loop's values are `min-rows=100000, keep-target-rows=600000, taper-window-scale=50000,
skip-validate=true`.

goloop's own keys come last: the memory bound of the external shuffle, the daemon's
reshuffle trigger, the output compression and the cleanup of old shuffles.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from goloop.common.config import ConfigError, setting
from goloop.common.runtime import available_cores


@dataclass(frozen=True)
class ShufflerConfig:
    """Everything `goloop shuffle` reads; shuffler-and-window.md explains each KataGo key."""

    # --- Where -----------------------------------------------------------------------------------
    base_dir: str = setting("", "BASEDIR: reads <base-dir>/selfplay/**/*.npz, publishes "
                            "<base-dir>/shuffleddata/<date>/. Set with --base-dir.", key="base-dir")
    out_tmp_dir: str = setting("", "Scratch space for the intermediate shards (KataGo's "
                               "-out-tmp-dir); empty = <base-dir>/shufflescratch. A local disk is "
                               "faster than a shared one.", key="out-tmp-dir")
    summary_file: str = setting("", "Per-file row-count cache, in KataGo's summary-file layout "
                                "(readable by shuffle.py -summary-file) plus goloop's file sizes and "
                                "corrupt-file reasons; files added or replaced since it was written "
                                "are noticed. Empty = <base-dir>/selfplay.summary.json.",
                                key="summary-file")

    # --- The window (shuffler-and-window.md §3) --------------------------------------------------
    min_rows: int = setting(250000, "Smallest window, and no shuffle at all below this many rows "
                            "(goloop waits and logs instead of publishing an empty shuffle).",
                            min=1, key="min-rows")
    max_rows: Optional[int] = setting(None, "Largest window; unset = unbounded.", min=1,
                                      key="max-rows")
    keep_target_rows: str = setting("20000000", "Rows sampled from the window into the output, or "
                                    "'all' (shuffle.sh passes 20000000).", key="keep-target-rows")
    expand_window_per_row: float = setting(0.4, "Initial slope of the window per data row beyond "
                                           "min-rows (shuffle.sh's 0.4; shuffle.py alone: 1.0).",
                                           min=0.0, key="expand-window-per-row")
    taper_window_exponent: float = setting(0.65, "The window grows as rows^this (shuffle.sh's "
                                           "0.65; shuffle.py alone: 1.0).", min=1e-9,
                                           key="taper-window-exponent")
    taper_window_scale: Optional[float] = setting(None, "Scale of the power law; unset = min-rows "
                                                  "(the synchronous loop uses 50000).", min=1e-9,
                                                  key="taper-window-scale")
    add_to_data_rows: float = setting(0.0, "Count the run as having this many more (older) rows "
                                      "than are on disk, for the window and the reported range.",
                                      key="add-to-data-rows")
    skip_mtime_range_start: Optional[float] = setting(None, "With skip-mtime-range-end: files whose "
                                                      "mtime (seconds since the epoch) lies in this "
                                                      "inclusive range are left out of the window.",
                                                      key="skip-mtime-range-start")
    skip_mtime_range_end: Optional[float] = setting(None, "End of that range.",
                                                    key="skip-mtime-range-end")
    exclude: str = setting("", "Text file of npz paths to leave out, one per line (empty: none).",
                           key="exclude")
    exclude_prefix: str = setting("", "Prefix added to each line of the exclude file.",
                                  key="exclude-prefix")
    exclude_basename: bool = setting(False, "Match the exclude file's entries by basename.",
                                     key="exclude-basename")
    skip_validate: bool = setting(False, "No validation split: every window file goes to train/ "
                                  "(shuffle.sh's SKIP_VALIDATE; the synchronous loop sets it). "
                                  "Otherwise files whose basename md5 falls in [0.95, 1) go to val/.",
                                  key="skip-validate")

    # --- Output and the shuffle (§5) -------------------------------------------------------------
    approx_rows_per_out_file: int = setting(70000, "Rows per output file, about.", min=1,
                                            key="approx-rows-per-out-file")
    approx_rows_per_bucket: Optional[int] = setting(None, "Rows one merge task shuffles together; a "
                                                    "multiple of approx-rows-per-out-file; unset = "
                                                    "the same. Lowered with a warning when "
                                                    "memory-limit-mb cannot hold one bucket.",
                                                    min=1, key="approx-rows-per-bucket")
    worker_group_size: int = setting(80000, "Input files are taken in groups of at least this many "
                                     "rows; keep-target sampling rounds per group, as in shuffle.py.",
                                     min=1, key="worker-group-size")
    num_processes: Optional[int] = setting(None, "Worker processes; unset = the cores this process "
                                           "may run on (taskset/cpusets honoured).", min=1,
                                           max=1024, key="num-processes")
    num_waves: int = setting(1, "Accepted for shuffle.py compatibility and ignored: goloop's "
                             "shards are zstd-compressed and deleted per bucket, so there is "
                             "nothing for waves to bound.", min=1, key="num-waves")
    include_meta: bool = setting(False, "Also carry metadataInputNC (human-SGF data only); files "
                                 "without it are then skipped.", key="include-meta")
    exclude_qvalues: bool = setting(False, "Leave qValueTargetsNCMove out of the output (for "
                                    "trainers older than KataGo 1.16).", key="exclude-qvalues")

    # --- goloop's own --------------------------------------------------------------------------
    memory_limit_mb: int = setting(4096, "Peak memory of the shuffle, all processes together: "
                                   "fewer workers run at once, or buckets shrink, to stay under it. "
                                   "It does not grow with the window.", min=64,
                                   key="memory-limit-mb")
    output_deflate_level: int = setting(1, "Deflate level of the output npz members. 1: the "
                                        "fastest deflate (ISA-L's when the isal package is "
                                        "installed, else zlib's level 1); 2-9: zlib's levels; "
                                        "0: stored, ~6x the disk of level 1.", min=0, max=9,
                                        key="output-deflate-level")
    shard_zstd_level: int = setting(1, "zstd level of the intermediate shards (never read by "
                                    "anything but this shuffle).", min=-7, max=22,
                                    key="shard-zstd-level")
    reshuffle_min_new_rows: int = setting(1, "Daemon mode: reshuffle once this many rows arrived "
                                          "since the last published shuffle; 0 = every cycle even "
                                          "without new data, as shuffle_and_export_loop.sh.",
                                          min=0, key="reshuffle-min-new-rows")
    reshuffle_sleep_seconds: float = setting(20.0, "Daemon mode: pause after each shuffle "
                                             "(shuffle_and_export_loop.sh sleeps 20 s).",
                                             min=0.0, key="reshuffle-sleep-seconds")
    poll_seconds: float = setting(10.0, "Daemon mode: how often watchdog's polling observer "
                                  "rescans the selfplay directory (inotify misses other machines' "
                                  "writes on shared filesystems).", min=0.1, key="poll-seconds")
    cleanup_keep: int = setting(3, "Of the shuffles older than cleanup-age-seconds, the newest "
                                "this many are kept (cleanup_old_dirs.py keeps 3).", min=1,
                                key="cleanup-keep")
    cleanup_age_seconds: float = setting(7200.0, "Shuffles younger than this are never removed "
                                         "(KataGo: 2 h), so a trainer that started an epoch on "
                                         "one has that long to move on.", min=0.0,
                                         key="cleanup-age-seconds")
    seed: str = setting("", "Seed of every random choice; empty = fresh entropy each shuffle.")

    def __post_init__(self) -> None:
        keep = self.keep_target_rows.strip().lower()
        if keep != "all" and not (keep.isdigit() and int(keep) > 0):
            raise ConfigError(f"keep-target-rows must be a positive integer or 'all', got "
                              f"'{self.keep_target_rows}'")
        per_bucket = self.approx_rows_per_bucket
        if per_bucket is not None and per_bucket % self.approx_rows_per_out_file:
            raise ConfigError(f"approx-rows-per-bucket ({per_bucket}) must be a multiple of "
                              f"approx-rows-per-out-file ({self.approx_rows_per_out_file})")
        if (self.skip_mtime_range_start is None) != (self.skip_mtime_range_end is None):
            raise ConfigError("skip-mtime-range-start and skip-mtime-range-end go together")

    # Derived values, so the rest of the shuffler never re-reads the raw strings.
    @property
    def keep_target(self) -> Optional[int]:
        keep = self.keep_target_rows.strip().lower()
        return None if keep == "all" else int(keep)

    @property
    def rows_per_bucket(self) -> int:
        return self.approx_rows_per_bucket or self.approx_rows_per_out_file

    @property
    def workers(self) -> int:
        return self.num_processes or available_cores()

    @property
    def skip_mtime_range(self):
        if self.skip_mtime_range_start is None:
            return None
        return (self.skip_mtime_range_start, self.skip_mtime_range_end)

    def path(self, *parts: str) -> str:
        return os.path.join(self.base_dir, *parts)

    @property
    def selfplay_dir(self) -> str:
        return self.path("selfplay")

    @property
    def shuffled_dir(self) -> str:
        return self.path("shuffleddata")

    @property
    def scratch_dir(self) -> str:
        return self.out_tmp_dir or self.path("shufflescratch")

    @property
    def summary_path(self) -> str:
        return self.summary_file or self.path("selfplay.summary.json")
