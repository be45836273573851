"""`goloop loop`: KataGo's synchronous loop on one machine, balancing itself as it goes.

A cycle is: gatekeeper (when gating) -> selfplay (a games cap) -> shuffle once -> train until
the train bucket is empty -> export once, each stage a `goloop` subprocess run alone, so each
gets every core the loop has (their thread plans read the affinity mask). After the cycle the
balancer (balance.py) sets the next cycle's games and training from what this one measured.

State lives in BASEDIR/loop/state.json (written atomically before each stage and after each
cycle): the cycle number, the stage in progress, the knobs and the measurements. A restart, after
SIGINT or SIGKILL, reruns the interrupted stage and goes on; every stage is itself restartable.
Ctrl-C (SIGINT) is passed to the running stage once (stages run in their own process group so
the terminal's signal does not reach them twice), the stage finishes its pending writes, and the
loop exits 0. Logs: BASEDIR/logs/loop-<stage>.log (appended), and one line per stage here.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from dataclasses import asdict, replace
from typing import Optional

from goloop.common.atomicfile import atomic_write
from goloop.common.files.trainingdata import TrainingDataError, read_npz_num_rows
from goloop.common.logs import kv
from goloop.loop import balance, stages

log = logging.getLogger(__name__)


class LoopError(RuntimeError):
    """A stage failed: the loop stops (a restart retries it) instead of building on a gap."""


def state_path(base_dir: str) -> str:
    return os.path.join(stages.config_dir(base_dir), "state.json")


def load_state(cfg) -> dict:
    try:
        with open(state_path(cfg.base_dir), encoding="utf-8") as f:
            state = json.load(f)
        state["knobs"] = balance.Knobs(**state["knobs"])
        return state
    except FileNotFoundError:
        return {"cycle": 0, "stage": None, "knobs": balance.initial_knobs(cfg), "history": [],
                "cycle_times": {}}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise LoopError(f"{state_path(cfg.base_dir)}: unreadable loop state ({e}); move it "
                        "aside to start the balancing afresh") from None


def save_state(cfg, state: dict) -> None:
    data = dict(state, knobs=asdict(state["knobs"]))
    os.makedirs(stages.config_dir(cfg.base_dir), exist_ok=True)
    with atomic_write(state_path(cfg.base_dir), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)


def new_rows_since(base_dir: str, since: float) -> int:
    """Training rows in selfplay files written since `since` (the selfplay stage's start)."""
    total = 0
    root = os.path.join(base_dir, "selfplay")
    for dirpath, _, files in os.walk(root):
        if os.path.basename(dirpath) != "tdata":
            continue
        for name in files:
            if not name.endswith(".npz"):
                continue
            path = os.path.join(dirpath, name)
            try:
                if os.path.getmtime(path) >= since:
                    total += read_npz_num_rows(path)
            except (OSError, TrainingDataError):
                continue
    return total


def epoch_for_rows(knobs, new_rows: int, batch: int) -> int:
    """The train stage's epoch: the planned one, but no larger than the bucket this cycle's rows
    add (training per row x new rows). The trainer trains whole epochs only, so a cycle whose
    games came out shorter than planned would otherwise train and export nothing."""
    if new_rows <= 0:
        return knobs.samples_per_epoch
    fits = int(knobs.train_per_data * new_rows) // batch * batch
    return max(batch, min(knobs.samples_per_epoch, fits))


def _trained_samples(base_dir: str, name: str) -> Optional[int]:
    """global_step_samples of the newest training metrics record (metrics.jsonl), if any."""
    path = os.path.join(base_dir, "train", name, "metrics.jsonl")
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        for key in ("global_step_samples", "samples"):
            if key in rec:
                return int(rec[key])
    return None


class Runner:
    """Runs one stage at a time, forwarding one SIGINT, showing its progress."""

    def __init__(self, cfg, progress: bool):
        self.cfg = cfg
        self.progress = progress
        self.child: Optional[subprocess.Popen] = None
        self.stop_requested = False

    def on_signal(self, signum, frame) -> None:
        if self.stop_requested:
            if self.child is not None and self.child.poll() is None:
                self.child.send_signal(signal.SIGTERM)
            return
        self.stop_requested = True
        log.info("stop requested: the running stage finishes its writes, then the loop exits",
                 extra=kv(signal=signal.Signals(signum).name))
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGINT)

    def run(self, stage: stages.Stage, label: str) -> int:
        logs = os.path.join(self.cfg.base_dir, "logs")
        os.makedirs(logs, exist_ok=True)
        log_path = os.path.join(logs, f"loop-{stage.name}.log")
        with open(log_path, "ab") as out:
            out.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(stage.argv)}\n".encode())
            out.flush()
            self.child = subprocess.Popen(stage.argv, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True,
                                          preexec_fn=_stop_with_parent)
            bar = None
            if self.progress:
                from tqdm import tqdm
                bar = tqdm(total=None, desc=label, bar_format="{desc} {elapsed} {postfix}",
                           dynamic_ncols=True, leave=False)
            try:
                while self.child.poll() is None:
                    time.sleep(1.0)
                    if bar is not None:
                        bar.set_postfix_str(_last_line(log_path)[:90], refresh=False)
                        bar.update(0)
            finally:
                if bar is not None:
                    bar.close()
            code = self.child.wait()
            self.child = None
        return code


def published_models(base_dir: str) -> list:
    """Model directories in BASEDIR/models, oldest first (by publication time)."""
    folder = os.path.join(base_dir, "models")
    try:
        entries = [e for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")
                   and os.path.exists(os.path.join(e.path, "model.bin.gz"))]
    except FileNotFoundError:
        return []
    return [e.path for e in sorted(entries, key=lambda e: (e.stat().st_mtime, e.name))]


def _rating_stages(cfg, configs: dict, rated: Optional[str]) -> list:
    """The newest net against the one before it, once per new net (gating rates nets itself)."""
    if cfg.useGating or cfg.ratingGames <= 0:
        return []
    models = published_models(cfg.base_dir)
    if len(models) < 2 or os.path.basename(models[-1]) == rated:
        return []
    return stages.rating_commands(cfg, configs, models[-1], models[-2])


def _stop_with_parent() -> None:
    """In the stage's process before exec: on Linux, ask for SIGTERM when the loop dies.

    Stages run in their own session (so a terminal's Ctrl-C reaches them once, through the
    loop); without this a SIGKILLed loop would leave its stage running, and the restarted loop
    would start a second one beside it. SIGTERM is a stop request to every daemon: it finishes
    its pending writes and exits."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)      # PR_SET_PDEATHSIG
        if os.getppid() == 1:                      # the loop died before prctl
            os.kill(os.getpid(), signal.SIGTERM)
    except (OSError, AttributeError):
        pass                                       # not Linux: the stage outlives a killed loop


def _last_line(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 2048))
            lines = [x for x in f.read().decode("utf-8", "replace").splitlines() if x.strip()]
        return lines[-1].split(" ", 3)[-1] if lines else ""
    except OSError:
        return ""


def run_loop(cfg, progress: bool = True) -> int:
    """Run cycles until cfg.cycles have been done in this invocation or SIGINT; exit code."""
    try:
        state = load_state(cfg)
    except LoopError as e:
        log.error("%s", e)
        return 1
    if "model_kind" not in state:     # fixed for the run: the trainer resumes its checkpoint
        state["model_kind"] = stages.resolve_model_kind(cfg)
    elif cfg.modelKind not in ("auto", state["model_kind"]):
        problem = (f"modelKind {cfg.modelKind} differs from the run's {state['model_kind']} "
                    f"({state_path(cfg.base_dir)}); start a new BASEDIR for a new net")
        log.error("%s", problem)
        return 1
    cfg = replace(cfg, modelKind=state["model_kind"])
    runner = Runner(cfg, progress)
    old = {s: signal.signal(s, runner.on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    done_here = 0
    try:
        while cfg.cycles == 0 or done_here < cfg.cycles:
            if runner.stop_requested:
                break
            code = _one_cycle(cfg, state, runner, done_here)
            if code is None:        # stopped mid-cycle
                break
            done_here += 1
    except LoopError as e:
        log.error("%s", e)
        return 1
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    log.info("loop finished", extra=kv(cycles_this_run=done_here, cycle=state["cycle"]))
    return 0


def _one_cycle(cfg, state: dict, runner: Runner, done_here: int) -> Optional[bool]:
    """One cycle from the stage the state records; None when a stop interrupted it."""
    configs = stages.write_stage_configs(cfg)
    knobs = state["knobs"]
    cmds = stages.stage_commands(cfg, knobs, configs)
    order = [s for s in stages.STAGES if s != "gatekeeper" or cfg.useGating]
    resume = state.get("stage")
    start = order.index(resume) if resume in order else 0
    times = state.setdefault("cycle_times", {})
    if start == 0:
        times.clear()
    cycle = state["cycle"] + 1
    of = f"/{cfg.cycles}" if cfg.cycles else ""
    log.info("cycle", extra=kv(cycle=cycle, games=knobs.games_per_cycle,
                               train_per_data=knobs.train_per_data,
                               samples_per_epoch=knobs.samples_per_epoch, resumed_at=resume))
    for name in order[start:]:
        state["stage"] = name
        save_state(cfg, state)
        began = time.time()
        todo = [cmds[name]] if name in cmds else []
        if name == "train":
            times["samples_before"] = _trained_samples(cfg.base_dir, cfg.runName) or 0
            epoch = epoch_for_rows(knobs, int(times.get("rows", 0)), cfg.batchSize)
            if epoch != knobs.samples_per_epoch:
                log.info("epoch sized to this cycle's rows", extra=kv(
                    planned=knobs.samples_per_epoch, new_rows=times.get("rows"), epoch=epoch))
                todo = [stages.stage_commands(cfg, replace(knobs, samples_per_epoch=epoch),
                                              configs)["train"]]
        elif name == "rate":
            todo = _rating_stages(cfg, configs, state.get("rated"))
        code = 0
        for stage in todo:
            code = runner.run(stage, f"cycle {done_here + 1}{of} (#{cycle}) {name}")
            if code != 0 or runner.stop_requested:
                break
        elapsed = time.time() - began
        times[name] = times.get(name, 0.0) + elapsed
        if name == "selfplay":
            times["rows"] = times.get("rows", 0) + new_rows_since(cfg.base_dir, began)
            times["random_net"] = not published_models(cfg.base_dir) or bool(
                times.get("random_net"))
        if runner.stop_requested:
            log.info("stage stopped", extra=kv(stage=name, exit_code=code))
            save_state(cfg, state)
            return None
        if code != 0:
            raise LoopError(f"stage {name} exited with code {code}; its log is "
                            f"{os.path.join(cfg.base_dir, 'logs', f'loop-{name}.log')}")
        if name == "rate" and todo:
            state["rated"] = os.path.basename(published_models(cfg.base_dir)[-1])
        log.info("stage done", extra=kv(cycle=cycle, stage=name, seconds=round(elapsed, 1)))
    trained = (_trained_samples(cfg.base_dir, cfg.runName) or 0) - times.get("samples_before", 0)
    m = balance.Measure(games=knobs.games_per_cycle, rows=int(times.get("rows", 0)),
                        selfplay_seconds=times.get("selfplay", 0.0),
                        train_samples=max(0, trained), train_seconds=times.get("train", 0.0),
                        other_seconds=sum(times.get(s, 0.0) for s in ("gatekeeper", "shuffle",
                                                                       "export", "rate")),
                        random_net=bool(times.get("random_net")))
    state["history"].append(dict(cycle=cycle, **balance.summary(m)))
    log.info("cycle done", extra=kv(cycle=cycle, **balance.summary(m)))
    if cfg.balance:
        new, reasons = balance.next_knobs(cfg, knobs, m)
        for r in reasons:
            log.info("balance: %s", r)
        state["knobs"] = new
    state["cycle"] = cycle
    state["stage"] = None
    times.clear()
    save_state(cfg, state)
    return True
