"""`goloop selfplay`'s configuration: KataGo's selfplay .cfg keys, with KataGo's defaults.

Why KataGo's key names: a run's configs move between KataGo and goloop, and KataGo's
`selfplay1.cfg` loads here unchanged (keys that only tune KataGo's C++ internals are accepted
and ignored). Defaults are those KataGo uses when a key is absent, except where its shipped
selfplay1.cfg sets a key: then that value (spec: selfplay-and-search.md §2-§3).

Search keys are SearchParams' own fields with `SearchParams.for_selfplay()` values as defaults,
so every search setting KataGo reads from a selfplay config is settable here too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from goloop.common.config import ConfigError, setting
from goloop.common.play.gamekeys import ignored, search_keys
from goloop.common.search.params import SearchParams

SelfplaySearchKeys = search_keys("SelfplaySearchKeys", SearchParams.for_selfplay(),
                                 "KataGo SearchParams keys, defaulting to selfplay1.cfg's values.")


@dataclass(frozen=True)
class SelfplayConfig(SelfplaySearchKeys):
    """Everything `goloop selfplay` reads; see selfplay-and-search.md for each technique."""

    # --- Where ---------------------------------------------------------------------------------
    output_dir: str = setting("", "Selfplay output: <output_dir>/<model>/tdata/*.npz and sgfs/ "
                              "(BASEDIR/selfplay). Set with --output-dir.", key="outputDir")
    models_dir: str = setting("", "Directory polled for the newest model (BASEDIR/models); empty "
                              "or no model in it = the random net. Set with --models-dir.",
                              key="modelsDir")
    max_games_total: int = setting(0, "Stop after this many games (0 = run until SIGINT).",
                                   min=0, key="maxGamesTotal")
    seed: str = setting("", "Seed of all randomness (games, searches, file names); empty = "
                        "fresh. A fixed seed replays the same games on the same machine.")
    device: str = setting("auto", "Torch device for the net: auto (cuda if available), cpu, "
                          "cuda, cuda:N.")

    # --- Throughput -------------------------------------------------------------------------------
    numGameThreads: int = setting(128, "Games played at once in this process; their NN queries "
                                  "share each forward pass.", min=1, max=100000)
    nnMaxBatchSize: int = setting(128, "Largest forward pass (rows).", min=8, max=65536)
    numEigenThreadsPerModel: Optional[int] = setting(
        None, "CPU threads running the net (KataGo's CPU-backend key; torch's intra-op threads). "
              "Unset: min(numGameThreads x numSearchThreads, cores), as KataGo. No effect on a GPU.",
        min=1, max=1024)
    nnCacheSizePowerOfTwo: int = setting(21, "NN result cache of 2^this entries, shared by all "
                                         "games.", min=0, max=40)
    modelPollSeconds: float = setting(20.0, "How often the models directory is checked for a "
                                      "newer model.", min=0.0, max=86400.0)

    # --- Output ---------------------------------------------------------------------------------
    dataBoardLen: int = setting(19, "Board size of the training tensors (KataGo's pos_len); "
                                "games on larger boards are refused.", min=2, max=19)
    maxRowsPerTrainFile: int = setting(10000, "Rows per .npz file.", min=1, max=100000000)
    firstFileRandMinProp: float = setting(0.15, "The first file of each model is cut at a random "
                                          "size between this proportion and all of "
                                          "maxRowsPerTrainFile, so that many selfplay processes "
                                          "started together do not write in lockstep.",
                                          min=0.0, max=1.0)
    logGamesEvery: int = setting(10, "Log a summary line every this many games.", min=1)
    writeSgfs: bool = setting(True, "Write each game's SGF to <model>/sgfs/.")

    # --- Game starts ------------------------------------------------------------------------------
    bSizes: Tuple[int, ...] = setting((7, 9, 11, 13, 15, 17, 19, 8, 10, 12, 14, 16, 18),
                                      "Board sizes to play.", min=2, max=19)
    bSizeRelProbs: Tuple[float, ...] = setting((1, 4, 3, 10, 7, 9, 35, 1, 2, 4, 6, 8, 10),
                                               "Relative probability of each of bSizes.",
                                               min=0.0)
    allowRectangleProb: float = setting(0.1, "Probability of a rectangular board (both sides "
                                        "drawn from bSizes).", min=0.0, max=1.0)
    koRules: Tuple[str, ...] = setting(("SIMPLE", "POSITIONAL", "SITUATIONAL"),
                                       "Ko rules, drawn uniformly.")
    scoringRules: Tuple[str, ...] = setting(("AREA", "TERRITORY"), "Scoring rules, drawn uniformly.")
    taxRules: Tuple[str, ...] = setting(("NONE", "NONE", "SEKI", "SEKI", "ALL"),
                                        "Tax rules, drawn uniformly (repeat to weight).")
    multiStoneSuicideLegals: Tuple[bool, ...] = setting((False, True),
                                                        "Multi-stone suicide legality, drawn uniformly.")
    hasButtons: Tuple[bool, ...] = setting((False, False, True), "Button Go, drawn uniformly "
                                           "(area scoring only).")
    maxMovesPerGame: int = setting(1600, "Games stop (and are scored) after this many moves.",
                                   min=1, max=100000)

    komiAuto: bool = setting(True, "Komi made fair for the empty board by short searches, then "
                             "noised (else komiMean).")
    komiMean: float = setting(7.5, "Base komi when komiAuto is false.", min=-150.0, max=150.0)
    komiStdev: float = setting(1.0, "Gaussian komi noise (scaled by board size).", min=0.0, max=60.0)
    komiBigStdevProb: float = setting(0.06, "Probability of the big komi noise.", min=0.0, max=1.0)
    komiBigStdev: float = setting(12.0, "The big komi noise.", min=0.0, max=60.0)
    komiBiggerStdevProb: float = setting(0.0, "Probability of the bigger komi noise.", min=0.0, max=1.0)
    komiBiggerStdev: float = setting(30.0, "The bigger komi noise.", min=0.0, max=120.0)
    komiAllowIntegerProb: float = setting(1.0, "Probability that noise may give an integer komi "
                                          "(else half-integers only).", min=0.0, max=1.0)
    handicapProb: float = setting(0.10, "Probability of a handicap game (boards larger than 10x10).",
                                  min=0.0, max=1.0)
    handicapCompensateKomiProb: float = setting(0.50, "Handicap games made komi-fair this often.",
                                                min=0.0, max=1.0)
    forkCompensateKomiProb: float = setting(0.80, "Forked games made komi-fair this often.",
                                            min=0.0, max=1.0)
    sgfCompensateKomiProb: float = setting(0.90, "Accepted for compatibility (goloop has no SGF "
                                           "start positions).", min=0.0, max=1.0)
    compensateKomiVisits: int = setting(20, "Visits of the searches that make komi fair.",
                                        min=1, max=10000)
    compensateAfterPolicyInitProb: float = setting(0.2, "Re-fit komi after the opening policy "
                                                   "moves this often.", min=0.0, max=1.0)
    fancyKomiVarying: bool = setting(True, "Spread komi between noised and fair in handicap and "
                                     "fork games, and widely for the random net.")
    handicapTemperature: float = setting(1.0, "Policy temperature of placed handicap stones.",
                                         min=0.1, max=5.0)
    initGamesWithPolicy: bool = setting(True, "Start games with moves sampled from the raw policy.")
    policyInitAreaProp: float = setting(0.04, "Mean number of those moves, as a proportion of the "
                                        "board area.", min=0.0, max=1.0)
    policyInitGammaShape: float = setting(1.0, "Shape of their gamma-distributed count "
                                          "(1 = exponential).", min=0.5, max=10.0)
    policyInitAreaTemperature: float = setting(1.0, "Policy temperature of those moves.",
                                               min=0.1, max=5.0)
    drawRandRadius: float = setting(0.5, "drawEquivalentWinsForWhite = 0.5 +- this, uniformly.",
                                    min=0.0, max=0.5)
    noResultStdev: float = setting(0.166666666, "Gaussian noise of noResultUtilityForWhite.",
                                   min=0.0, max=1.0)

    handicapAsymmetricPlayoutProb: float = setting(0.5, "Handicap games with unequal visits.",
                                                   min=0.0, max=1.0)
    normalAsymmetricPlayoutProb: float = setting(0.01, "Other games with unequal visits.",
                                                 min=0.0, max=1.0)
    maxAsymmetricRatio: float = setting(8.0, "Largest visit ratio of unequal games.", min=1.0, max=100.0)
    minAsymmetricCompensateKomiProb: float = setting(0.4, "Unequal games made komi-fair at least "
                                                     "this often.", min=0.0, max=1.0)

    earlyForkGameProb: float = setting(0.04, "After a game, fork a new game from its opening "
                                       "this often.", min=0.0, max=0.5)
    earlyForkGameExpectedMoveProp: float = setting(0.025, "Mean fork move of early forks, as a "
                                                   "proportion of the board area.", min=0.0, max=1.0)
    forkGameProb: float = setting(0.01, "Otherwise fork at a uniformly random move this often.",
                                  min=0.0, max=0.5)
    forkGameMinChoices: int = setting(3, "A fork plays the best (raw net score) of at least this "
                                      "many random legal moves.", min=1, max=100)
    earlyForkGameMaxChoices: int = setting(12, "... and at most this many (early forks).", min=1, max=100)
    forkGameMaxChoices: int = setting(36, "... and at most this many (late forks).", min=1, max=100)
    sekiForkHackProb: float = setting(0.02, "Start a game from the seki fork queue this often: "
                                      "positions near the end of games that left unowned "
                                      "points, replayed under re-drawn scoring rules.",
                                      min=0.0, max=1.0)

    # --- Search budget and recorded rows ----------------------------------------------------------
    cheapSearchProb: float = setting(0.75, "Playout cap randomization: a move gets a cheap search "
                                     "this often.", min=0.0, max=1.0)
    cheapSearchVisits: int = setting(100, "Visits of a cheap search (at least 2: see maxVisits).",
                                     min=2)
    cheapSearchTargetWeight: float = setting(0.0, "Row weight of cheap searches (0: not recorded, "
                                             "no noise, tree kept).", min=0.0, max=1.0)
    reduceVisits: bool = setting(True, "Fewer visits (and less row weight) once a side is "
                                 "clearly winning.")
    reduceVisitsThreshold: float = setting(0.9, "Winning means |win-loss| beyond this ...",
                                           min=0.0, max=0.999999)
    reduceVisitsThresholdLookback: int = setting(3, "... on this many consecutive searches.",
                                                 min=1, max=1000)
    reducedVisitsMin: int = setting(100, "Fewest visits after reduction (at least 2: see "
                                    "maxVisits).", min=2)
    reducedVisitsWeight: float = setting(0.1, "Row weight at the full reduction.", min=0.0, max=1.0)
    sidePositionProb: float = setting(0.02, "Per move, also search and record a position after a "
                                      "different (policy-sampled) move.", min=0.0, max=1.0)
    policySurpriseDataWeight: float = setting(0.5, "Share of a game's row weight moved to "
                                              "turns whose search surprised the policy.",
                                              min=0.0, max=1.0)
    valueSurpriseDataWeight: float = setting(0.1, "Share moved to turns whose outcome surprised "
                                             "the value head.", min=0.0, max=1.0)
    scaleDataWeight: float = setting(1.0, "Multiply every row weight.", min=0.01, max=10.0)
    estimateLeadProb: float = setting(0.05, "Rows that get a lead target (from extra searches).",
                                      min=0.0, max=1.0)
    estimateLeadVisits: int = setting(6, "Visits of each lead-estimation search.", min=1, max=10000)
    switchNetsMidGame: bool = setting(True, "Switch running games to a new model (else only new "
                                      "games use it).")

    # --- KataGo keys with no meaning here ----------------------------------------------------------
    logSearchInfo: Optional[bool] = ignored("KataGo's per-search debug log")
    logMoves: Optional[bool] = ignored("KataGo's per-move log")
    logToStdout: Optional[bool] = ignored("goloop logs to stderr and --log-file")
    maxDataQueueSize: Optional[int] = ignored("games are written as they finish")
    nnMutexPoolSizePowerOfTwo: Optional[int] = ignored("C++ locking")
    numNNServerThreadsPerModel: Optional[int] = ignored("one NN server per process")
    gpuToUseThread0: Optional[int] = ignored("use device = cuda:N")
    cudaUseFP16: Optional[str] = ignored("bf16 autocast on GPU")
    cudaUseNHWC: Optional[str] = ignored("torch picks the layout")
    nnRandSeed: Optional[str] = ignored("use seed")

    def __post_init__(self):
        self.check_search_keys()       # search_params() and these checks: common/play/gamekeys.py
        self.check_board_sizes()
        if max(self.bSizes) > self.dataBoardLen:
            raise ConfigError(f"bSizes has {max(self.bSizes)} but dataBoardLen is only "
                              f"{self.dataBoardLen}")
        self.check_rule_lists()
        if self.maxVisits < 2:
            # Every search, cheap ones included, yields a policy target (KataGo's
            # extractSearchTargetsThisTurn), and a 1-visit search on a fresh root has no
            # children to give one: KataGo asserts mid-game then; say it at start instead.
            raise ConfigError(f"maxVisits {self.maxVisits}: selfplay needs at least 2, because a "
                              "row's policy target is the visits of the root's children and one "
                              "visit leaves the root without any")
        if self.cheapSearchVisits > self.maxVisits:
            raise ConfigError(f"cheapSearchVisits {self.cheapSearchVisits} > maxVisits {self.maxVisits}")
        if self.reduceVisits and self.reducedVisitsMin > self.maxVisits:
            raise ConfigError(f"reducedVisitsMin {self.reducedVisitsMin} > maxVisits {self.maxVisits}")
