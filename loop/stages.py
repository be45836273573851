"""Each stage of a cycle as the command line a user would type, and the configs it reads.

Why command lines: the loop runs the same daemons an asynchronous run starts by hand (`goloop
selfplay`, `goloop shuffle --once`, `goloop train --stop-when-train-bucket-limited`, `goloop
export --once`, `goloop gatekeeper --quit-if-no-nets-to-test`), each in its own process, so
a stage's memory and thread pools end with it and what the loop does can be replayed stage by
stage from its log. Pure functions of the config and the knobs, so they are tested without
running anything (spec: directory-protocol.md §4, KataGo's synchronous_loop.sh).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from goloop.loop.balance import Knobs

STAGES = ("gatekeeper", "selfplay", "shuffle", "train", "export", "rate")


@dataclass(frozen=True)
class Stage:
    name: str
    argv: list


def selfplay_cfg_text(cfg) -> str:
    """The loop's selfplay settings as a KataGo selfplay .cfg (a user's file layers on top)."""
    n = cfg.boardSize
    lines = [
        "# Written by goloop loop from its config; edit the loop's config, not this file.",
        f"bSizes = {n}", "bSizeRelProbs = 1", "allowRectangleProb = 0.0", f"dataBoardLen = {n}",
        f"maxVisits = {cfg.maxVisits}", f"cheapSearchVisits = {cfg.cheapSearchVisits}",
        f"reducedVisitsMin = {cfg.cheapSearchVisits}",
        f"numGameThreads = {cfg.numGameThreads}",
        f"nnMaxBatchSize = {max(8, cfg.numGameThreads)}",
        # Small files reach the shuffler sooner in a small run (KataGo writes up to 25000).
        "maxRowsPerTrainFile = 2000",
        "handicapProb = 0.0",
        # KataGo makes each game's komi fair by asking the net (komiAuto, and for forks): the
        # first nets of a run cannot judge komi (their lead barely moves with it), the fit
        # drifts to komi -25 and worse, games are decided before a move and end in passes, and
        # the nets learn to pass. A small run plays komi 7 with KataGo's noise around it.
        "komiAuto = false", "komiMean = 7.0", "forkCompensateKomiProb = 0.0",
        f"device = {cfg.device}",
    ]
    return "\n".join(lines) + "\n"


def gatekeeper_cfg_text(cfg) -> str:
    n = cfg.boardSize
    lines = [
        "# Written by goloop loop from its config; edit the loop's config, not this file.",
        f"numGamesPerGating = {cfg.gatekeeperGames}", f"maxVisits = {cfg.gatekeeperVisits}",
        f"bSizes = {n}", "bSizeRelProbs = 1", "allowRectangleProb = 0.0",
        f"numGameThreads = {cfg.gatekeeperGames}",
        f"device = {cfg.device}",
    ]
    return "\n".join(lines) + "\n"


def resolve_model_kind(cfg) -> str:
    """The run's net: cfg.modelKind, or for `auto` the one that suits the device."""
    if cfg.modelKind != "auto":
        return cfg.modelKind
    from goloop.common.runtime import resolve_device
    return "b4c32" if resolve_device(cfg.device) == "cpu" else "b6c96"


def rating_cfg_text(cfg) -> str:
    """Rating games: KataGo's match settings under Chinese rules (komi 7) on the run's board."""
    n = cfg.boardSize
    lines = [
        "# Written by goloop loop from its config; edit the loop's config, not this file.",
        f"maxVisits = {cfg.gatekeeperVisits}", f"bSizes = {n}", "bSizeRelProbs = 1",
        "allowRectangleProb = 0.0", "koRules = SIMPLE", "scoringRules = AREA", "taxRules = NONE",
        "multiStoneSuicideLegals = false", "hasButtons = false", "komiAuto = false",
        "komiMean = 7", f"numGameThreads = {max(1, cfg.ratingGames)}", f"device = {cfg.device}",
    ]
    return "\n".join(lines) + "\n"


def rating_commands(cfg, configs: dict, newer: str, older: str) -> list:
    """Stages that play `newer` against `older` (model dirs) and refit the ratings."""
    b = cfg.base_dir
    return [
        Stage("rate", _goloop(
            "match", "--config", configs["rating"], "--black", os.path.join(newer, "model.bin.gz"),
            "--white", os.path.join(older, "model.bin.gz"), "--games", cfg.ratingGames,
            "--black-name", os.path.basename(newer), "--white-name", os.path.basename(older),
            "--base-dir", b, "--sgf-dir", os.path.join(b, "ratings", "sgfs"), "--no-progress")),
        Stage("rate", _goloop("ratings", "--base-dir", b)),
    ]


def config_dir(base_dir: str) -> str:
    return os.path.join(base_dir, "loop")


def write_stage_configs(cfg) -> dict:
    """Write the generated stage configs under BASEDIR/loop/; returns name -> path."""
    d = config_dir(cfg.base_dir)
    os.makedirs(d, exist_ok=True)
    out = {}
    for name, text in (("selfplay", selfplay_cfg_text(cfg)), ("gatekeeper", gatekeeper_cfg_text(cfg)),
                       ("rating", rating_cfg_text(cfg))):
        path = os.path.join(d, f"{name}.cfg")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        out[name] = path
    return out


def _goloop(*args) -> list:
    return [sys.executable, "-m", "goloop", *map(str, args)]


def stage_commands(cfg, knobs: Knobs, configs: dict) -> dict:
    """name -> Stage for one cycle."""
    b = cfg.base_dir
    user_sp = ["--config", cfg.selfplayConfig] if cfg.selfplayConfig else []
    user_gk = ["--config", cfg.gatekeeperConfig] if cfg.gatekeeperConfig else []
    return {
        "gatekeeper": Stage("gatekeeper", _goloop(
            "gatekeeper", "--base-dir", b, "--config", configs["gatekeeper"], *user_gk,
            "--quit-if-no-nets-to-test", "--no-progress")),
        "selfplay": Stage("selfplay", _goloop(
            "selfplay", "--config", configs["selfplay"], *user_sp,
            "--output-dir", os.path.join(b, "selfplay"), "--models-dir", os.path.join(b, "models"),
            "--max-games-total", knobs.games_per_cycle, "--no-progress")),
        "shuffle": Stage("shuffle", _goloop(
            "shuffle", "--base-dir", b, "--once", "--min-rows", cfg.shuffleMinRows,
            "--keep-target-rows", cfg.shuffleKeepRows, "--taper-window-scale", cfg.taperWindowScale,
            "--override", "skip-validate=true", "--no-progress")),
        "train": Stage("train", _goloop(
            "train", "--base-dir", b, "--name", cfg.runName, "--model-config", cfg.modelKind,
            "--pos-len", cfg.boardSize, "--batch-size", cfg.batchSize,
            "--samples-per-epoch", knobs.samples_per_epoch,
            "--swa-period-samples", cfg.numTrainSamplesPerSwa, "--lr-scale", cfg.lrScale,
            "--max-train-bucket-per-new-data", knobs.train_per_data,
            "--max-train-bucket-size", cfg.maxTrainSamplesPerCycle,
            # Files may repeat within a shuffle (KataGo's loop passes --no-repeat-files): early
            # in a small run the window holds fewer rows than a cycle should train.
            "--quit-if-no-data", "--stop-when-train-bucket-limited",
            *([] if cfg.lrWarmup else ["--no-lr-warmup"]),
            "--device", cfg.device, "--no-progress")),
        "export": Stage("export", _goloop(
            "export", "--base-dir", b, "--name-prefix", cfg.runName, "--once",
            *(["--use-gating"] if cfg.useGating else []))),
    }
