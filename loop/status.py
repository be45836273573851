"""`goloop status`: one screen on a run, read from BASEDIR alone.

Daemons of a run may live on several machines and share nothing but BASEDIR, so everything here
comes from files they already write: the models directories, selfplay's npz files (row counts
from their headers only) and SGF files, the newest shuffle's train.json, the trainer's
metrics.jsonl, the Elo ladder's ratings.json, the loop's state.json and the heartbeat files.
Reading never writes, so it is safe while the run goes on.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from typing import Optional

from goloop.common.files.heartbeat import read_heartbeats
from goloop.common.files.trainingdata import TrainingDataError, read_npz_num_rows

MODEL_DIRS = ("models", "modelstobetested", "rejectedmodels")


def _subdirs(path: str) -> list[os.DirEntry]:
    try:
        return sorted((e for e in os.scandir(path) if e.is_dir() and not e.name.startswith(".")),
                      key=lambda e: e.stat().st_mtime)
    except FileNotFoundError:
        return []


def _age(t: float, now: float) -> str:
    s = max(0.0, now - t)
    return f"{s:.0f}s" if s < 120 else f"{s / 60:.0f}m" if s < 7200 else f"{s / 3600:.1f}h"


def _selfplay_counts(base_dir: str) -> list[tuple[str, int, int, float]]:
    """(model, games, rows, newest file time) per selfplay/<model>/, oldest model first."""
    out = []
    for d in _subdirs(os.path.join(base_dir, "selfplay")):
        games = rows = 0
        newest = 0.0
        for sub, suffix in (("tdata", ".npz"), ("sgfs", ".sgfs")):
            folder = os.path.join(d.path, sub)
            try:
                names = [n for n in os.listdir(folder) if n.endswith(suffix)]
            except FileNotFoundError:
                continue
            for n in names:
                path = os.path.join(folder, n)
                try:
                    newest = max(newest, os.path.getmtime(path))
                    if suffix == ".npz":
                        rows += read_npz_num_rows(path)
                    else:
                        with open(path, "rb") as f:
                            games += sum(1 for line in f if line.strip())
                except (OSError, TrainingDataError):
                    continue
        out.append((d.name, games, rows, newest))
    return out


def _json(path: str) -> Optional[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _last_metrics(base_dir: str) -> Optional[tuple[str, dict]]:
    best = None
    for d in _subdirs(os.path.join(base_dir, "train")):
        path = os.path.join(d.path, "metrics.jsonl")
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 65536))
                lines = f.read().decode("utf-8", "replace").splitlines()
            mtime = os.path.getmtime(path)
        except OSError:
            continue
        for line in reversed(lines):
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("kind", "train") == "train" and (best is None or mtime > best[0]):
                best = (mtime, d.name, rec)
            break
    return None if best is None else (best[1], best[2])


def _du(path: str) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for n in files:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_size
            except OSError:
                pass
    return total


def status_text(base_dir: str, now: Optional[float] = None) -> str:
    now = time.time() if now is None else now
    if not os.path.isdir(base_dir):
        raise FileNotFoundError(f"{base_dir}: no such run directory")
    out = [f"run {os.path.abspath(base_dir)}"]
    state = _json(os.path.join(base_dir, "loop", "state.json"))
    if state:
        k = state.get("knobs", {})
        out.append(f"loop: {state.get('cycle', 0)} cycles done, in stage "
                   f"{state.get('stage') or '-'}; next: {k.get('games_per_cycle')} games, "
                   f"{k.get('train_per_data')} samples per row")
    for d in MODEL_DIRS:
        models = _subdirs(os.path.join(base_dir, d))
        if models or d == "models":
            latest = f", newest {models[-1].name} ({_age(models[-1].stat().st_mtime, now)} ago)" \
                if models else ""
            out.append(f"{d}: {len(models)}{latest}")
    counts = _selfplay_counts(base_dir)
    if counts:
        out.append("selfplay (model: games, rows, last write):")
        for name, games, rows, newest in counts[-8:]:
            out.append(f"  {name}: {games} games, {rows} rows, {_age(newest, now)} ago"
                       if newest else f"  {name}: nothing yet")
        if len(counts) > 8:
            out.append(f"  ... and {len(counts) - 8} older models")
    shuffles = [d for d in _subdirs(os.path.join(base_dir, "shuffleddata"))
                if not d.name.endswith(".tmp")]
    if shuffles:
        rng = (_json(os.path.join(shuffles[-1].path, "train.json")) or {}).get("range")
        out.append(f"shuffle: newest {shuffles[-1].name}, data rows {rng}")
    metrics = _last_metrics(base_dir)
    if metrics:
        name, rec = metrics
        keys = ("loss", "p0loss", "vloss", "samples_per_s", "train_bucket_level")
        vals = ", ".join(f"{k} {rec[k]:.4g}" for k in keys if isinstance(rec.get(k), (int, float)))
        out.append(f"train {name}: {rec.get('global_step_samples', '?')} samples; {vals}")
    ratings = _json(os.path.join(base_dir, "ratings", "ratings.json"))
    players = (ratings or {}).get("players")
    if isinstance(players, list) and players:
        nets = [p for p in players if p.get("kind") in ("accepted", "pending", "rejected", "random")]
        last = sorted(nets or players, key=lambda p: p.get("wall_hours") or 0.0)[-3:]
        out.append("elo: " + ", ".join(f"{p.get('name')} {p.get('elo', 0):.0f}"
                                       f"±{p.get('stdev', 0):.0f}" for p in last)
                   + f" ({ratings.get('games', 0)} games; goloop ratings refreshes it)")
    beats = read_heartbeats(base_dir, now)
    if beats:
        out.append("daemons:")
        for b in beats:
            state_txt = " ".join(f"{k}={v}" for k, v in sorted((b.get("state") or {}).items()))
            out.append(f"  {b['daemon']} on {b['host']} pid {b['pid']}: "
                       f"{'alive' if b['alive'] else 'DEAD'} (seen {_age(b['updated'], now)} ago)"
                       f" {state_txt}".rstrip())
    else:
        out.append("daemons: no heartbeats (none running, or all stopped cleanly)")
    sizes = sorted(((_du(e.path), e.name) for e in _subdirs(base_dir)), reverse=True)
    total = sum(s for s, _ in sizes)
    free = shutil.disk_usage(base_dir).free
    out.append(f"disk: {total / 2**20:.0f} MiB in the run ("
               + ", ".join(f"{n} {s / 2**20:.0f}" for s, n in sizes[:5])
               + f"), {free / 2**30:.1f} GiB free")
    return "\n".join(out)


def finish_text(base_dir: str, run_name: str) -> str:
    """What a user wants after `goloop loop` (or `make demo`) returns: where everything is and
    what to type next."""
    base = os.path.abspath(base_dir)
    models = [d for d in _subdirs(os.path.join(base, "models"))
              if os.path.exists(os.path.join(d.path, "model.bin.gz"))]
    models.sort(key=lambda d: d.stat().st_mtime)
    state = _json(os.path.join(base, "loop", "state.json")) or {}
    lines = [f"Run {base}: {state.get('cycle', 0)} cycles, {len(models)} models."]
    if models:
        newest = os.path.join(models[-1].path, "model.bin.gz")
        lines.append(f"  newest model     {newest}")
    lines.append(f"  selfplay games   {os.path.join(base, 'selfplay', '<model>', 'sgfs')}/*.sgfs")
    lines.append(f"  training logs    tensorboard --logdir "
                 f"{os.path.join(base, 'train', run_name, 'tensorboard')}")
    plot = os.path.join(base, "ratings", "ratings.png")
    if os.path.exists(plot):
        lines.append(f"  Elo plot         {plot}")
    else:
        lines.append("  Elo plot         (after the second model: rating games start then)")
    lines.append(f"  run status       goloop status --base-dir {base}")
    if models:
        lines.append(f"Play the newest net:  goloop gtp --model {newest}")
    lines.append(f"Continue the run:     goloop loop --base-dir {base}   (or make demo again)")
    return "\n".join(lines)
