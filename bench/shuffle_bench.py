"""Shuffler throughput and memory: `goloop shuffle --once` against KataGo's shuffle.py, same run.

Builds a BASEDIR of many copies of KataGo's real 9x9 selfplay file (shared/reference), each
with its rows in a fresh random order and deflate-compressed as selfplay files are, then runs
both shufflers on the same files with 2 worker processes, the whole window kept, files of
70,000 rows and no validation split:

    goloop shuffle --base-dir B --once --num-processes 2 ...
    python shuffle.py B/selfplay -num-processes 2 -out-dir ... -out-tmp-dir ...

Each command is timed from start to exit, and its peak memory is the largest sum of the
resident sets of the whole process tree (parent, pool workers, forkserver), sampled from /proc
every 20 ms. shuffle.py sleeps a fixed 3 s while listing files (a filesystem-race guard);
rows/s are reported with that sleep taken out of its time, which favours KataGo.
Goal (issue 11): >= 3x shuffle.py's rows/s at <= half its peak memory.

    python bench/shuffle_bench.py [--copies 274] [--workers 2] [--katago-shuffle PATH]
                                  [--workdir DIR] [--keep]

shuffle.py needs `psutil` importable; KataGo's source is found at --katago-shuffle, else
$KATAGO_SHUFFLE, else ../katago/src/python/shuffle.py beside the repo. Without it only goloop
is measured. The last line is `BENCH {json}`.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from goloop.common.files.trainingdata import npy_header, read_npz
from goloop.shuffler.external import NpzWriter

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "reference" / "katago_selfplay_sample.npz"
KATAGO_SLEEP_S = 3.0        # shuffle.py: time.sleep(3) after listing files
PAGE = os.sysconf("SC_PAGE_SIZE")


def make_data(base: str, copies: int) -> int:
    """`copies` re-ordered copies of the sample under base/selfplay/<model>/tdata; returns rows."""
    src = read_npz(SAMPLE)
    rng = np.random.default_rng(11)
    rows = 0
    for i in range(copies):
        d = os.path.join(base, "selfplay", f"b6c96-s{i // 50}", "tdata")
        os.makedirs(d, exist_ok=True)
        perm = rng.permutation(len(src["binaryInputNCHWPacked"]))
        path = os.path.join(d, f"{rng.integers(1 << 63):016X}.npz")
        w = NpzWriter(path, 1)      # deflate, bare member names, as KataGo's selfplay writes
        for name, arr in src.items():
            a = np.ascontiguousarray(arr[perm])
            w.member(name, [npy_header(a.dtype, a.shape), memoryview(a).cast("B")])
        w.close()
        os.utime(path, (1.6e9 + i, 1.6e9 + i))
        rows += len(perm)
    return rows


def _tree_rss(root: int) -> int:
    """Bytes resident in `root` and all its descendants now."""
    children: dict = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                text = f.read()
        except OSError:
            continue
        pid = int(text.split(" ", 1)[0])
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            pass
    return total


def run_measured(cmd, log_path: str, cwd=None) -> dict:
    """Wall seconds and peak process-tree RSS of `cmd` (its output goes to log_path)."""
    peak = [0]
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss(proc.pid))
                done.wait(0.02)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        code = proc.wait()
        seconds = time.perf_counter() - start
        done.set()
        t.join()
    if code != 0:
        raise RuntimeError(f"{cmd[0:3]} exited {code}; see {log_path}:\n" + open(log_path).read()[-3000:])
    return {"seconds": seconds, "peak_rss_mb": peak[0] / 2 ** 20}


def rows_written(out_dir: str) -> int:
    return sum(json.load(open(p))["num_rows"] for p in glob.glob(os.path.join(out_dir, "data*.json")))


def find_katago(arg) -> str | None:
    for candidate in (arg, os.environ.get("KATAGO_SHUFFLE"),
                      str(ROOT.parent / "katago" / "src" / "python" / "shuffle.py")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=274, help="copies of the 1827-row sample (274: 500,598 rows)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rows-per-file", type=int, default=70000)
    ap.add_argument("--katago-shuffle", default=None, help="KataGo's python/shuffle.py")
    ap.add_argument("--no-katago", action="store_true", help="measure goloop only")
    ap.add_argument("--workdir", default=None, help="where the data and outputs go (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="shuffle_bench_", dir=args.workdir)
    try:
        base = os.path.join(work, "base")
        t0 = time.perf_counter()
        rows = make_data(base, args.copies)
        print(f"data: {args.copies} files, {rows:,} rows of 9x9 ({time.perf_counter() - t0:.1f} s to make)")
        common = ["-min-rows", "1000", "-keep-target-rows", "all", "-expand-window-per-row", "1",
                  "-taper-window-exponent", "1", "-approx-rows-per-out-file", str(args.rows_per_file),
                  "-num-processes", str(args.workers)]
        results = {}

        katago = None if args.no_katago else find_katago(args.katago_shuffle)
        if katago:
            kout = os.path.join(work, "katago")
            os.makedirs(os.path.join(kout, "tmp"))
            r = run_measured([sys.executable, katago, os.path.join(base, "selfplay"), *common,
                              "-out-dir", os.path.join(kout, "train"), "-out-tmp-dir",
                              os.path.join(kout, "tmp")], os.path.join(work, "katago.log"),
                             cwd=os.path.dirname(katago))
            r["rows_out"] = rows_written(os.path.join(kout, "train"))
            r["seconds_without_sleep"] = r["seconds"] - KATAGO_SLEEP_S
            results["katago"] = r
            shutil.rmtree(kout)
        else:
            print("KataGo's shuffle.py not found: measuring goloop only")

        r = run_measured([sys.executable, "-m", "goloop", "shuffle", "--base-dir", base, "--once",
                          "--no-progress", *common, "--override", "skip-validate=true"],
                         os.path.join(work, "goloop.log"))
        pubs = [p for p in glob.glob(os.path.join(base, "shuffleddata", "*")) if not p.endswith(".tmp")]
        if len(pubs) != 1:
            raise RuntimeError("goloop published no shuffle:\n" + open(os.path.join(work, "goloop.log")).read()[-3000:])
        pub = pubs[0]
        r["rows_out"] = rows_written(os.path.join(pub, "train"))
        results["goloop"] = r

        for name, r in results.items():
            secs = r.get("seconds_without_sleep", r["seconds"])
            r["rows_per_s"] = rows / secs
            extra = f" ({r['seconds']:.1f} s with its 3 s sleep)" if "seconds_without_sleep" in r else ""
            print(f"{name:7s} {secs:7.1f} s{extra}  {r['rows_per_s']:9,.0f} rows/s  "
                  f"peak RSS {r['peak_rss_mb']:7.0f} MB  rows out {r['rows_out']:,}")
        summary = {"rows": rows, "files": args.copies, "workers": args.workers, "results": results}
        if "katago" in results:
            k, g = results["katago"], results["goloop"]
            summary["speed_ratio"] = g["rows_per_s"] / k["rows_per_s"]
            summary["speed_ratio_with_katago_sleep"] = k["seconds"] / g["seconds"]
            summary["memory_ratio"] = g["peak_rss_mb"] / k["peak_rss_mb"]
            summary["meets_goal"] = summary["speed_ratio"] >= 3.0 and summary["memory_ratio"] <= 0.5
            print(f"goloop / shuffle.py: {summary['speed_ratio']:.2f}x rows/s "
                  f"({summary['speed_ratio_with_katago_sleep']:.2f}x counting its sleep), "
                  f"{summary['memory_ratio']:.2f}x peak memory; goal (>= 3x, <= 0.5x) "
                  f"{'met' if summary['meets_goal'] else 'NOT met'}")
            if k["rows_out"] != g["rows_out"]:
                print(f"warning: row counts differ: {k['rows_out']} vs {g['rows_out']}")
        print("BENCH " + json.dumps(summary))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
