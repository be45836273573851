"""Which shuffled files the trainer reads, in what order (shuffler-and-window.md §8).

* `latest_data_dir`: the newest published shuffle under BASEDIR/shuffleddata (by mtime, `*.tmp`
  ignored), and its `train.json` range.
* `FileQueue`: KataGo's file bookkeeping in its own `train_state` keys (`data_files_used`,
  `rev_data_files_remaining`, `old_train_data_dirs`), so the order survives restarts and moves
  between KataGo and goloop: files are served in a shuffled order; with `no_repeat_files` a file
  is never used twice, otherwise an exhausted directory is reshuffled so that no file comes back
  within about a third of the dataset of its previous use.
* `files_for_subepoch`: files worth `samples_per_epoch / sub_epochs` batches; a file that would
  overshoot is skipped with the probability of the overshoot, so epochs are the right size on
  average.

Randomness comes from a `random.Random` the caller seeds (the daemon derives it from the run
seed and the sample count), so a resumed run picks the same files as an uninterrupted one.
"""
from __future__ import annotations

import json
import os
import random
from typing import Optional

from goloop.common.files.trainingdata import TrainingDataError, read_npz_num_rows

MAX_OLD_DATA_DIRS = 20   # directories whose used-file lists are remembered


class DataDirError(ValueError):
    """A shuffled-data directory or one of its json files is unreadable."""


def latest_data_dir(parent: str) -> Optional[str]:
    """The subdirectory of `parent` with the newest mtime, ignoring names ending in .tmp."""
    try:
        names = os.listdir(parent)
    except FileNotFoundError:
        return None
    best, best_mtime = None, None
    for name in names:
        path = os.path.realpath(os.path.join(parent, name))
        if name.endswith(".tmp") or not os.path.isdir(path):
            continue
        try:
            mtime = os.path.getmtime(path)
        except OSError:   # deleted by the shuffler's cleanup while we looked
            continue
        if best_mtime is None or mtime > best_mtime:
            best, best_mtime = path, mtime
    return best


def read_range(data_dir: str) -> Optional[tuple[int, int]]:
    """(window_start_data_row_idx, total_num_data_rows) from train.json, None while it is missing."""
    path = os.path.join(data_dir, "train.json")
    try:
        with open(path) as f:
            start, end = json.load(f)["range"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataDirError(f"{path}: not a shuffle range file ({e})") from None
    return int(start), int(end)


class RowCounts:
    """Rows per npz: from the directory's index.json, else <file>.json, else the npz headers."""

    def __init__(self):
        self._index: dict = {}

    def __call__(self, path: str) -> int:
        directory, base = os.path.split(path)
        if directory not in self._index:
            index_path = os.path.join(directory, "index.json")
            index = None
            if os.path.exists(index_path):
                try:
                    with open(index_path) as f:
                        index = {e["name"]: int(e["num_rows"]) for e in json.load(f)["files"]}
                except (OSError, ValueError, KeyError, TypeError) as e:
                    raise DataDirError(f"{index_path}: unreadable index ({e})") from None
            self._index[directory] = index
        index = self._index[directory]
        if index is not None and base in index:
            return index[base]
        json_path = os.path.splitext(path)[0] + ".json"
        try:
            with open(json_path) as f:
                return int(json.load(f)["num_rows"])
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DataDirError(f"{json_path}: unreadable row count ({e})") from None
        try:
            return read_npz_num_rows(path)
        except TrainingDataError as e:
            raise DataDirError(str(e)) from None


def _interleave(a: list, b: list, rng: random.Random) -> list:
    """Merge keeping each list's order, spreading b's items uniformly among a's."""
    out, i, j = [], 0, 0
    while i < len(a) or j < len(b):
        if rng.random() < (len(a) - i) / ((len(a) - i) + (len(b) - j)):
            out.append(a[i])
            i += 1
        else:
            out.append(b[j])
            j += 1
    return out


class FileQueue:
    """The order files are served in, kept in `train_state` (see the module docstring)."""

    def __init__(self, train_state: dict, no_repeat_files: bool):
        self.state = train_state
        self.no_repeat = no_repeat_files
        if isinstance(train_state.get("data_files_used"), set):   # KataGo's older checkpoints
            train_state["data_files_used"] = sorted(train_state["data_files_used"])
        train_state.setdefault("data_files_used", [])
        train_state.setdefault("rev_data_files_remaining", [])
        train_state.setdefault("old_train_data_dirs", [])
        self.all_files: list[str] = []

    def set_dir(self, train_dir: str, rng: random.Random) -> bool:
        """Serve from `train_dir` (a shuffle's train/); False when it has nothing left to serve."""
        try:
            files = sorted(os.path.join(train_dir, f) for f in os.listdir(train_dir) if f.endswith(".npz"))
        except FileNotFoundError:
            return False
        present = set(files)
        used = set(self.state["data_files_used"])
        unused = [f for f in files if f not in used]
        queued = [f for f in self.state["rev_data_files_remaining"] if f in present]
        queued_set = set(queued)
        fresh = [f for f in unused if f not in queued_set]
        rng.shuffle(fresh)
        queued = _interleave(queued, fresh, rng)
        if not files or (self.no_repeat and not queued):
            return False
        self.all_files = files
        self.state["rev_data_files_remaining"] = queued
        dirs = self.state["old_train_data_dirs"]
        if train_dir not in dirs:
            dirs.append(train_dir)
        while len(dirs) > MAX_OLD_DATA_DIRS:
            old = dirs.pop(0)
            self.state["data_files_used"] = [f for f in self.state["data_files_used"] if not f.startswith(old)]
        return True

    def _reshuffled(self, rng: random.Random) -> list:
        """A new pass over the directory: new files anywhere, but a file used in the last third of
        the previous pass only becomes eligible once about a third of the pass has gone by."""
        present = set(self.all_files)
        prev = [f for f in self.state["data_files_used"] if f in present]
        prev_set = set(prev)
        fresh = [f for f in self.all_files if f not in prev_set]
        rng.shuffle(fresh)
        k = (len(prev) * 2 + 1) // 3
        pool = fresh + prev[:k]
        order = []
        for nxt in prev[k:]:
            i = rng.randrange(len(pool))
            pool[i], pool[-1] = pool[-1], pool[i]
            order.append(pool.pop())
            pool.append(nxt)
        rng.shuffle(pool)
        return order + pool

    def _refill(self, rng: random.Random) -> None:
        if self.state["rev_data_files_remaining"] or self.no_repeat or not self.all_files:
            return
        order = self._reshuffled(rng)
        order.reverse()
        self.state["rev_data_files_remaining"] = order
        self.state["data_files_used"] = []

    def peek(self, rng: random.Random) -> Optional[str]:
        self._refill(rng)
        remaining = self.state["rev_data_files_remaining"]
        return remaining[-1] if remaining else None

    def pop(self, rng: random.Random) -> Optional[str]:
        self._refill(rng)
        remaining = self.state["rev_data_files_remaining"]
        if not remaining:
            return None
        path = remaining.pop()
        self.state["data_files_used"].append(path)
        return path

    def give_back(self, paths: list[str]) -> None:
        """Return files taken for an epoch that stopped before reading them (SIGINT)."""
        for path in reversed(paths):
            used = self.state["data_files_used"]
            if used and used[-1] == path:
                used.pop()
            self.state["rev_data_files_remaining"].append(path)


def files_for_subepoch(queue: FileQueue, rows_of: RowCounts, batch_size: int, samples_per_epoch: int,
                       sub_epochs: int, rng: random.Random) -> Optional[list[tuple[str, int]]]:
    """(path, rows) of the files for one sub-epoch, or None when there are not enough."""
    target = int(round(samples_per_epoch / batch_size)) / sub_epochs
    chosen: list[tuple[str, int]] = []
    batches = 0
    while True:
        path = queue.peek(rng)
        if path is None:
            return None
        rows = rows_of(path)
        file_batches = rows // batch_size
        if file_batches <= 0:
            queue.pop(rng)        # too small to make one batch: used up
            continue
        if batches + file_batches > target and batches > 0:
            if rng.random() <= (batches + file_batches - target) / file_batches:
                return chosen     # left for the next sub-epoch
        queue.pop(rng)
        chosen.append((path, rows))
        batches += file_batches
        if batches >= target or len(chosen) > 100000:
            return chosen
