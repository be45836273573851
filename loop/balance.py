"""The loop's self-balancing: how many games and how much training the next cycle gets.

Why: KataGo's synchronous loop fixes games per cycle and training per row, and whether those
numbers suit a machine is found out only by watching it for hours. What matters for learning is
the split of compute between selfplay and training (KataGo advises several times more on
selfplay) and that each cycle is long enough for stage start-ups (loading nets, tracing, reading
the window) to be a small share. Both are measurable after every cycle, so the loop measures
and corrects:

* games per cycle: so that a cycle lasts about `targetCycleMinutes`, given the seconds per game
  just measured and the fixed costs of the other stages;
* training per new row (the trainer's max-train-bucket-per-new-data): so that selfplay time /
  training time approaches `selfplayTrainRatio`, given the samples/s just measured;
* samples per epoch: about one epoch (so one exported net) per cycle.

A cycle whose selfplay used the random net (the first) changes only the epoch: its games cost no
network evaluation and would mislead both rates.

Each step moves at most a factor of 2 (games) or 1.5 (training per row) and stays within the
configured bounds, so one odd cycle (a model switch, a slow disk) cannot swing the run. Every
change comes with the reason, for the log. Pure functions: tested on tables of measurements.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional


@dataclass(frozen=True)
class Knobs:
    """What the loop sets for a cycle."""

    games_per_cycle: int
    train_per_data: float
    samples_per_epoch: int


@dataclass(frozen=True)
class Measure:
    """What a finished cycle took."""

    games: int
    rows: int                     # new training rows selfplay wrote
    selfplay_seconds: float
    train_samples: int            # samples trained (0 when the window was still too small)
    train_seconds: float
    other_seconds: float          # shuffle, export, gating and start-ups
    random_net: bool = False      # selfplay played with the random net (no model yet)


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _damped(old: float, new: float, factor: float) -> float:
    return _clamp(new, old / factor, old * factor)


def samples_per_epoch_for(train_per_data: float, rows_per_cycle: float, batch: int) -> int:
    """About one epoch per cycle: a little under the bucket a cycle adds, so that it fills one
    whole epoch (KataGo trains whole epochs only), in whole batches."""
    want = 0.9 * train_per_data * max(rows_per_cycle, 1.0)
    return max(batch, int(want // batch) * batch)


def initial_knobs(cfg, rows_per_game_guess: float = 20.0) -> Knobs:
    games = cfg.numGamesPerCycle
    return Knobs(games, cfg.maxTrainPerData,
                 samples_per_epoch_for(cfg.maxTrainPerData, games * rows_per_game_guess,
                                       cfg.batchSize))


def next_knobs(cfg, knobs: Knobs, m: Measure) -> tuple[Knobs, list[str]]:
    """The next cycle's knobs and, for each change, why."""
    reasons: list[str] = []
    new = knobs
    if m.games <= 0 or m.selfplay_seconds <= 0:
        return knobs, reasons
    if m.random_net:
        # The random net costs no forward pass: its games are many times faster than any
        # trained net's and say nothing about the next cycle's. Only the epoch follows the rows.
        epoch = samples_per_epoch_for(knobs.train_per_data, m.rows, cfg.batchSize)
        if epoch != knobs.samples_per_epoch:
            reasons.append(f"samples per epoch {knobs.samples_per_epoch} -> {epoch}: "
                           f"{m.rows / m.games:.1f} rows per game (games and training per row "
                           "kept: this cycle's selfplay used the random net)")
            new = replace(new, samples_per_epoch=epoch)
        return new, reasons
    seconds_per_game = m.selfplay_seconds / m.games
    rows_per_game = max(m.rows / m.games, 1e-6)
    ratio = cfg.selfplayTrainRatio
    # Time a cycle has for selfplay + training once the fixed costs are paid (at least 30% of
    # the target: a machine where start-ups dominate still trains and plays).
    budget = max(cfg.targetCycleMinutes * 60.0 - m.other_seconds, 0.3 * cfg.targetCycleMinutes * 60.0)
    selfplay_budget = budget * ratio / (ratio + 1.0)
    games = _damped(knobs.games_per_cycle, selfplay_budget / seconds_per_game, 2.0)
    games = int(round(_clamp(games, cfg.minGamesPerCycle, cfg.maxGamesPerCycle)))
    if games != knobs.games_per_cycle:
        reasons.append(
            f"games per cycle {knobs.games_per_cycle} -> {games}: a game took "
            f"{seconds_per_game:.1f} s and selfplay's share of a {cfg.targetCycleMinutes:g}-min "
            f"cycle is {selfplay_budget:.0f} s (other stages took {m.other_seconds:.0f} s)")
        new = replace(new, games_per_cycle=games)

    if m.train_samples > 0 and m.train_seconds > 0:
        samples_per_s = m.train_samples / m.train_seconds
        sp_seconds = games * seconds_per_game
        want_samples = samples_per_s * sp_seconds / ratio
        tpd = want_samples / (games * rows_per_game)
        tpd = _damped(knobs.train_per_data, tpd, 1.5)
        tpd = round(_clamp(tpd, cfg.minTrainPerData, cfg.maxTrainPerDataCap), 2)
        if not math.isclose(tpd, knobs.train_per_data, rel_tol=0.02):
            actual = m.selfplay_seconds / m.train_seconds
            reasons.append(
                f"training per new row {knobs.train_per_data:g} -> {tpd:g}: selfplay/training "
                f"time was {actual:.1f} (target {ratio:g}) at {samples_per_s:.0f} samples/s")
            new = replace(new, train_per_data=tpd)
    epoch = samples_per_epoch_for(new.train_per_data, new.games_per_cycle * rows_per_game,
                                  cfg.batchSize)
    if epoch != knobs.samples_per_epoch:
        reasons.append(f"samples per epoch {knobs.samples_per_epoch} -> {epoch}: one exported "
                       f"net per cycle at {rows_per_game:.1f} rows per game")
        new = replace(new, samples_per_epoch=epoch)
    return new, reasons


def summary(m: Optional[Measure]) -> dict:
    """Log fields of a measure."""
    if m is None:
        return {}
    ratio = m.selfplay_seconds / m.train_seconds if m.train_seconds > 0 else None
    return dict(games=m.games, rows=m.rows, selfplay_s=round(m.selfplay_seconds, 1),
                train_samples=m.train_samples, train_s=round(m.train_seconds, 1),
                other_s=round(m.other_seconds, 1),
                selfplay_train_ratio=round(ratio, 2) if ratio else None)
