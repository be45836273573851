#!/usr/bin/env python
"""Learning curve of the demo run: train 9x9 from zero with `goloop loop`'s defaults, and after
each cycle match the newest net against fixed opponents at equal settings. Not part of CI (an
hour or more); `make learning-curve` runs it with the defaults below.

    python bench/learning_curve.py --base-dir runs/curve --hours 1.5 [--games 10] [--visits 64]

Opponents, all on 9x9 under Chinese rules with komi 7 (goloop match, colours alternating):
  * random-init: a freshly initialised, untrained net of the run's kind, searched like the net
    under test (KataGo's "random" selfplay net has no model file to match against);
  * GNU Go --level 1 and --level 10 (`gnugo --mode gtp --chinese-rules`), when GNU Go is found.
Each point of the curve: the net, its training samples and data rows (from its name), the
cumulative selfplay NN evaluations up to it (summed from the selfplay logs) and the wall time
of the run, and the score rate with a 95% interval against each opponent. Written after every
cycle to BASEDIR/learning_curve.json and .png (so an interrupted run keeps its curve); run it
again with the same BASEDIR to extend it. The project's goal: beat GNU Go level 10 in >= 50% of
games within 2 GPU-hours from zero.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

NAME = re.compile(r"-s(\d+)-d(\d+)$")
EVALS = re.compile(r"selfplay finished .*?nn_evals=(\d+)")


def goloop(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "goloop", *map(str, args)], text=True, **kw)


def selfplay_evals(base: str) -> int:
    """NN evaluations of every finished selfplay stage of the run (its log, appended by loop)."""
    try:
        with open(os.path.join(base, "logs", "loop-selfplay.log"), encoding="utf-8") as f:
            return sum(int(m.group(1)) for m in EVALS.finditer(f.read()))
    except OSError:
        return 0


def newest_model(base: str):
    folder = os.path.join(base, "models")
    dirs = [os.path.join(folder, d) for d in os.listdir(folder)] if os.path.isdir(folder) else []
    dirs = [d for d in dirs if os.path.exists(os.path.join(d, "model.bin.gz"))]
    return max(dirs, key=os.path.getmtime) if dirs else None


def random_init_model(base: str, kind: str) -> str:
    path = os.path.join(base, "curve", f"random-init-{kind}.bin.gz")
    if not os.path.exists(path):
        import torch

        from goloop.common.nn.model import Model
        from goloop.common.nn.modelconfigs import config_of_name
        from goloop.common.nn.modelfile import save_model_file
        torch.manual_seed(0)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        save_model_file(Model(config_of_name(kind)), path, f"random-init-{kind}")
    return path


def match(base: str, cfg: str, model: str, opponent: str, name: str, games: int) -> dict:
    out = goloop("match", "--config", cfg, "--black", model, "--white", opponent, "--games", games,
                 "--white-name", name, "--base-dir", base, "--no-progress",
                 "--sgf-dir", os.path.join(base, "curve", "sgfs"),
                 capture_output=True, timeout=3600)
    for line in reversed(out.stdout.splitlines()):
        if line.startswith('{"summary"'):
            return json.loads(line)["summary"]
    raise RuntimeError(f"match against {name} gave no summary: {out.stderr[-2000:]}")


def plot(points: list, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    opponents = sorted({o for p in points for o in p["vs"]})
    for ax, (key, label) in zip(axes, (("selfplay_nn_evals", "cumulative selfplay NN evaluations"),
                                        ("wall_hours", "wall time (hours)"))):
        for o in opponents:
            xs = [p[key] for p in points if o in p["vs"]]
            ys = [p["vs"][o]["score_rate"] for p in points if o in p["vs"]]
            lo = [p["vs"][o]["score_rate_ci95"][0] for p in points if o in p["vs"]]
            hi = [p["vs"][o]["score_rate_ci95"][1] for p in points if o in p["vs"]]
            ax.plot(xs, ys, marker="o", label=o)
            ax.fill_between(xs, lo, hi, alpha=0.15)
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(label)
        ax.set_ylabel("score rate of the net")
        ax.set_ylim(-0.02, 1.02)
    axes[0].legend()
    fig.suptitle("goloop 9x9 from zero: newest net vs fixed opponents (95% intervals)")
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=100)
    os.replace(path + ".tmp.png", path)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base-dir", default="runs/learning-curve")
    p.add_argument("--hours", type=float, default=1.5, help="wall-time budget of this invocation")
    p.add_argument("--games", type=int, default=10, help="games per opponent per point")
    p.add_argument("--visits", type=int, default=64)
    p.add_argument("--gnugo", default=shutil.which("gnugo") or "/usr/games/gnugo")
    p.add_argument("--levels", default="1,10", help="GNU Go levels to play")
    p.add_argument("--loop-override", default="", help="extra `goloop loop --override` settings")
    a = p.parse_args()
    base = os.path.abspath(a.base_dir)
    os.makedirs(os.path.join(base, "curve"), exist_ok=True)
    out_json = os.path.join(base, "learning_curve.json")
    data = {"points": [], "wall_seconds": 0.0}
    if os.path.exists(out_json):
        with open(out_json, encoding="utf-8") as f:
            data = json.load(f)
    cfg = os.path.join(base, "curve", "match.cfg")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(f"maxVisits = {a.visits}\nbSizes = 9\nbSizeRelProbs = 1\nkoRules = SIMPLE\n"
                "scoringRules = AREA\ntaxRules = NONE\nmultiStoneSuicideLegals = false\n"
                f"hasButtons = false\nkomiAuto = false\nkomiMean = 7\nnumGameThreads = {a.games}\n")
    gnugo = a.gnugo if os.access(a.gnugo, os.X_OK) else None
    if gnugo is None:
        print("GNU Go not found: only the random-init opponent is played", file=sys.stderr)
    start = time.time()
    done = {pt["model"] for pt in data["points"]}
    while time.time() - start < a.hours * 3600:
        t0 = time.time()
        args = ["loop", "--base-dir", base, "--cycles", 1, "--no-progress"]
        if a.loop_override:
            args += ["--override", a.loop_override]
        r = goloop(*args, capture_output=True, timeout=7200)
        data["wall_seconds"] += time.time() - t0
        if r.returncode != 0:
            print(r.stderr[-3000:], file=sys.stderr)
            return 1
        model = newest_model(base)
        if model is None or os.path.basename(model) in done:
            continue
        with open(os.path.join(base, "loop", "state.json"), encoding="utf-8") as f:
            kind = json.load(f)["model_kind"]
        name = os.path.basename(model)
        m = NAME.search(name)
        point = dict(model=name, samples=int(m.group(1)) if m else None,
                     rows=int(m.group(2)) if m else None, selfplay_nn_evals=selfplay_evals(base),
                     wall_hours=round(data["wall_seconds"] / 3600, 3), vs={})
        mfile = os.path.join(model, "model.bin.gz")
        point["vs"]["random-init"] = match(base, cfg, mfile, random_init_model(base, kind),
                                           "random-init", a.games)
        for level in [x for x in a.levels.split(",") if x] if gnugo else []:
            opp = f"{gnugo} --mode gtp --level {level} --chinese-rules --komi 7"
            point["vs"][f"gnugo-{level}"] = match(base, cfg, mfile, opp, f"gnugo-level-{level}",
                                                  a.games)
        data["points"].append(point)
        done.add(name)
        with open(out_json + ".tmp", "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(out_json + ".tmp", out_json)
        plot(data["points"], os.path.join(base, "learning_curve.png"))
        print(f"{name}: {point['selfplay_nn_evals']} evals, {point['wall_hours']:.2f} h; "
              + ", ".join(f"{o} {v['wins']}-{v['losses']}-{v['draws']}" for o, v in point["vs"].items()),
              flush=True)
    print(f"curve: {out_json} and {os.path.join(base, 'learning_curve.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
