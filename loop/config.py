"""`goloop loop`'s configuration: KataGo's synchronous_loop.sh variables, sized for one machine.

Why one config for the whole loop: a user of KataGo's loop edits a dozen variables at the top of
synchronous_loop.sh and three config files; most runs get them wrong in the same ways (too much
training per game, too little data before the first shuffle). Here every stage's essential
settings are keys of one dataclass with defaults that learn on a 2-core CPU (a 9x9 board, a
small net, few visits), and the loop writes each stage's own config from them. A full KataGo
selfplay or gatekeeper .cfg can still be layered on top (`selfplayConfig`, `gatekeeperConfig`).

Names follow synchronous_loop.sh's variables in camelCase (NUM_GAMES_PER_CYCLE ->
numGamesPerCycle, ...) where the concept is the same (spec: directory-protocol.md §4).
"""
from __future__ import annotations

from dataclasses import dataclass

from goloop.common.config import ConfigError, setting


@dataclass(frozen=True)
class LoopConfig:
    """Everything `goloop loop` reads."""

    # --- The run ------------------------------------------------------------------------------
    base_dir: str = setting("", "The run's BASEDIR (every stage reads and writes only there). Set "
                            "with --base-dir.", key="baseDir")
    runName: str = setting("demo", "Training name and model-name prefix: models are "
                           "<runName>-s<samples>-d<rows>.")
    cycles: int = setting(0, "Cycles to run in this invocation (0: until SIGINT). A restart "
                          "continues the count.", min=0)
    boardSize: int = setting(9, "Board size of the run (square).", min=5, max=19)
    modelKind: str = setting("auto", "Net of the run (goloop train --model-config). auto: b4c32 on "
                             "a CPU (trains ~5x faster than b6c96 there), b6c96 on a GPU. Fixed "
                             "for the run at its first cycle (BASEDIR/loop/state.json).")
    device: str = setting("auto", "Torch device for selfplay, training and gating: auto (cuda if "
                          "available), cpu, cuda, cuda:N.")
    useGating: bool = setting(False, "Test each new net against the current one before selfplay "
                              "uses it (KataGo's USEGATING; costs a gating match per cycle).")

    # --- Selfplay -------------------------------------------------------------------------------
    numGamesPerCycle: int = setting(80, "Selfplay games in the first cycle; the balancer adjusts "
                                    "it afterwards (KataGo: NUM_GAMES_PER_CYCLE=500).", min=1)
    maxVisits: int = setting(64, "Visits of a full (recorded) search.", min=2)
    cheapSearchVisits: int = setting(16, "Visits of a cheap search (playout cap randomization: "
                                     "3 moves in 4 are cheap and not recorded; at least 2, "
                                     "which a policy target needs).", min=2)
    numGameThreads: int = setting(32, "Games played at once (their NN queries share batches).",
                                  min=1)
    selfplayConfig: str = setting("", "A KataGo selfplay .cfg layered over the loop's own "
                                  "settings (keys it sets win).")

    # --- Shuffle --------------------------------------------------------------------------------
    shuffleMinRows: int = setting(2000, "No training before this many rows (KataGo: "
                                  "SHUFFLE_MINROWS=100000).", min=1)
    shuffleKeepRows: int = setting(200000, "Rows sampled from the window per shuffle (KataGo: "
                                   "SHUFFLE_KEEPROWS=600000).", min=1)
    taperWindowScale: int = setting(20000, "Scale of the window's power law (KataGo: "
                                    "TAPER_WINDOW_SCALE=50000).", min=1)

    # --- Train ----------------------------------------------------------------------------------
    batchSize: int = setting(128, "Training batch (KataGo: BATCHSIZE=128).", min=1)
    maxTrainPerData: float = setting(4.0, "Samples trained per new data row in the first cycle; "
                                     "the balancer adjusts it within [minTrainPerData, "
                                     "maxTrainPerDataCap] (KataGo: MAX_TRAIN_PER_DATA=8).",
                                     min=0.1)
    maxTrainSamplesPerCycle: int = setting(500000, "Cap of the train bucket (KataGo: "
                                           "MAX_TRAIN_SAMPLES_PER_CYCLE=500000).", min=1)
    numTrainSamplesPerSwa: int = setting(1024, "Samples between snapshots into the EMA that is "
                                         "exported (KataGo: NUM_TRAIN_SAMPLES_PER_SWA=80000 with "
                                         "100000-sample epochs; a small run trains a few "
                                         "thousand samples per cycle, so snapshots come more "
                                         "often).", min=1)
    lrScale: float = setting(1.0, "Multiplier on KataGo's per-sample learning rate.", min=0.0)
    lrWarmup: bool = setting(False, "KataGo's learning-rate warmup (1/20 of the rate for the first "
                             "250k samples, full rate at 2M). Off by default: a small run trains "
                             "fewer samples than the warmup lasts and would learn at 1/20 speed.")

    # --- Gating ---------------------------------------------------------------------------------
    gatekeeperGames: int = setting(20, "Games of a gating test.", min=1)
    gatekeeperVisits: int = setting(64, "Visits per move in gating games.", min=1)
    gatekeeperConfig: str = setting("", "A KataGo gatekeeper .cfg layered over the loop's own "
                                    "gating settings.")

    # --- Rating ---------------------------------------------------------------------------------
    ratingGames: int = setting(10, "Games of each new net against the one before it (Chinese "
                               "rules, gatekeeperVisits visits), recorded for `goloop ratings`, "
                               "which then redraws BASEDIR/ratings/ratings.png. 0: none. Not "
                               "played with gating, whose games serve the same purpose.", min=0)

    # --- Balance --------------------------------------------------------------------------------
    balance: bool = setting(True, "Adjust games per cycle and training per row after each "
                            "cycle from measured times (see loop/balance.py).")
    selfplayTrainRatio: float = setting(4.0, "Target ratio of selfplay time to training time "
                                        "(KataGo advises several times more on selfplay).",
                                        min=0.1, max=100.0)
    targetCycleMinutes: float = setting(4.0, "Cycle length the games per cycle aim at: long "
                                        "enough that stage start-ups are a small share.",
                                        min=0.5)
    minTrainPerData: float = setting(1.0, "Least training per new row the balancer allows.",
                                     min=0.1)
    maxTrainPerDataCap: float = setting(16.0, "Most training per new row the balancer allows "
                                        "(more overfits a small window).", min=0.1)
    minGamesPerCycle: int = setting(8, "Fewest games per cycle the balancer allows.", min=1)
    maxGamesPerCycle: int = setting(5000, "Most games per cycle the balancer allows.", min=1)

    def __post_init__(self):
        if self.cheapSearchVisits > self.maxVisits:
            raise ConfigError(f"cheapSearchVisits {self.cheapSearchVisits} > maxVisits "
                              f"{self.maxVisits}")
        if self.minTrainPerData > self.maxTrainPerDataCap:
            raise ConfigError("minTrainPerData > maxTrainPerDataCap")
        if self.minGamesPerCycle > self.maxGamesPerCycle:
            raise ConfigError("minGamesPerCycle > maxGamesPerCycle")
        if not self.runName or not all(c.isalnum() or c in "_-" for c in self.runName):
            raise ConfigError(f"runName {self.runName!r}: letters, digits, '_' and '-' only")
