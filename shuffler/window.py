"""KataGo's training window: how many rows to shuffle, and which files hold them.

Pure functions of the file list and the window parameters, restating shuffle.py's rules
(spec: shuffler-and-window.md §2.4-§5), so that they can be table-tested against KataGo:

* rows are counted per file, the random net's rows capped at min-rows for the window size only;
* the window grows as a power law of the usable rows (§3);
* whole files are taken newest first until the window is full (§4);
* keep_prob samples keep-target-rows of them; an md5 of the basename splits train from val;
* the rows are spread over round(rows / rows-per-bucket) buckets (§5).

One deliberate difference: a file counts as the random net's when its model directory is named
exactly `random` (`.../random/tdata/X.npz`), where shuffle.py tests the path for the substring
`random/tdata/` and so also caps a model named `b6c96-xrandom`.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import List, NamedTuple, Optional, Sequence, Tuple

# selfplay/<model>/tdata/: the model directory of games played before any net exists
# (directory-protocol.md §1); goloop.common.nn.randomnet.RANDOM_MODEL_NAME has the same value.
RANDOM_MODEL_DIR = "random"
TDATA_DIR = "tdata"
# shuffle.sh's validation split: files whose basename hashes to [0.95, 1) are validation data
# (shuffler-and-window.md §4 and §6).
VALIDATION_MD5_LBOUND = 0.95


class DataFile(NamedTuple):
    """One selfplay npz as the window sees it."""

    path: str
    mtime: float
    num_rows: int
    is_random: bool
    pos_len: int = 0      # board tensor size (dataBoardLen); 0 = unknown


def is_random_path(path: str) -> bool:
    """Games of the random net: `<selfplay>/random/tdata/<name>.npz`, the model dir named exactly so."""
    parent, _ = os.path.split(os.path.normpath(path))
    grandparent, tdata = os.path.split(parent)
    return tdata == TDATA_DIR and os.path.basename(grandparent) == RANDOM_MODEL_DIR


def is_temp_like(basename: str) -> bool:
    """shuffle.py ignores `.npz` names containing `_` (shuffled outputs, temporaries) (§2.2)."""
    return "_" in basename


@dataclass(frozen=True)
class RowCounts:
    total: int            # every row of every good file
    random_capped: int    # random-net rows, capped at min_rows
    postrandom: int       # rows of every other model

    @property
    def usable(self) -> int:
        return self.random_capped + self.postrandom


def count_rows(files: Sequence[DataFile], min_rows: int) -> RowCounts:
    """§2.4: the tallies. The random cap only shrinks the window; it removes no file."""
    total = random_capped = postrandom = 0
    for f in files:
        if f.num_rows <= 0:
            continue
        total += f.num_rows
        if f.is_random:
            random_capped = min(random_capped + f.num_rows, min_rows)
        else:
            postrandom += f.num_rows
    return RowCounts(total, random_capped, postrandom)


def window_size(usable_rows: float, min_rows: int, taper_window_exponent: float,
                expand_window_per_row: float, taper_window_scale: Optional[float] = None,
                add_to_data_rows: float = 0.0, max_rows: Optional[int] = None) -> int:
    """§3: int((x^e - s^e) / (e s^(e-1)) r + m), x = N - m + s + a, then max(., m), min(., max_rows).

    Double precision, truncation toward zero, clamp order as KataGo (max_rows wins over
    min_rows). Where x < 0 KataGo raises (a complex power); only its dry run can get there, and
    min_rows is the answer that keeps the function total.
    """
    m = min_rows
    s = float(taper_window_scale) if taper_window_scale is not None else float(m)
    e = float(taper_window_exponent)
    if e == 0.0 or s <= 0.0:
        raise ValueError(f"the window needs taper-window-exponent != 0 and taper-window-scale > 0 "
                         f"(got {e} and {s})")
    x = usable_rows - m + s + add_to_data_rows
    if x < 0:
        window = m
    else:
        window = int((x ** e - s ** e) / (e * s ** (e - 1.0)) * expand_window_per_row + m)
    window = max(window, m)
    if max_rows is not None:
        window = min(window, max_rows)
    return window


@dataclass(frozen=True)
class Selection:
    """The window's files (newest first) and the data rows they stand for."""

    files: Tuple[DataFile, ...]
    num_rows_used: int
    start_row: int        # train.json's range
    end_row: int


def select_window(files: Sequence[DataFile], window: int, total_rows: int,
                  add_to_data_rows: float = 0.0,
                  skip_mtime_range: Optional[Tuple[float, float]] = None) -> Selection:
    """§4: whole files, newest first, until at least `window` rows (all files if they run out).

    `files` in any order; ties in mtime keep the given order (KataGo sorts stably, ascending,
    then reverses). Files inside the inclusive mtime range use no row positions.
    """
    ordered = sorted(files, key=lambda f: f.mtime)
    ordered.reverse()
    end = total_rows + int(add_to_data_rows)
    start = end
    used = 0
    chosen: List[DataFile] = []
    for f in ordered:
        if skip_mtime_range is not None and skip_mtime_range[0] <= f.mtime <= skip_mtime_range[1]:
            continue
        if f.num_rows <= 0:
            continue
        chosen.append(f)
        start -= f.num_rows
        used += f.num_rows
        if used >= window:
            break
    return Selection(tuple(chosen), used, start, end)


def keep_probability(num_rows_used: int, keep_target_rows: Optional[int]) -> float:
    """§4: the share of the window's rows kept (None = keep them all)."""
    if num_rows_used <= 0:
        return 1.0
    kept = num_rows_used if keep_target_rows is None else min(num_rows_used, keep_target_rows)
    return kept / num_rows_used


def md5_split_value(path: str) -> float:
    """§4: the basename's md5, first 13 hex digits, as a fraction of 2^52."""
    digest = hashlib.md5(os.path.basename(path).encode("utf-8")).hexdigest()
    return int(digest[:13], 16) / 2 ** 52


def split_by_md5(files: Sequence[DataFile], lbound: float, ubound: float) -> List[DataFile]:
    """Files whose md5 value lies in [lbound, ubound)."""
    return [f for f in files if lbound <= md5_split_value(f.path) < ubound]


def num_buckets(rows_to_keep: float, approx_rows_per_bucket: int) -> int:
    """§5: max(round(rows / per-bucket), 1), Python's round (half to even: 2.5 -> 2)."""
    return max(int(round(rows_to_keep / approx_rows_per_bucket)), 1)


def group_files(files: Sequence[DataFile], worker_group_size: int) -> List[List[DataFile]]:
    """§5.1: consecutive files in groups of at least worker_group_size rows (the last may be less).

    keep_prob is applied per group as round(n * keep_prob) rows, so the groups decide how the
    output total is rounded, exactly as in shuffle.py.
    """
    groups: List[List[DataFile]] = []
    current: List[DataFile] = []
    rows = 0
    for f in files:
        if f.num_rows <= 0:
            continue
        current.append(f)
        rows += f.num_rows
        if rows >= worker_group_size:
            groups.append(current)
            current, rows = [], 0
    if current:
        groups.append(current)
    return groups


def rows_kept_in_group(num_rows: int, keep_prob: float) -> int:
    """§5.2: min(n, round(n * keep_prob)) when keep_prob < 1, else n."""
    if keep_prob >= 1.0:
        return num_rows
    return min(num_rows, int(round(num_rows * keep_prob)))
