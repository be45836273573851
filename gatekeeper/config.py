"""Configs of `goloop gatekeeper` and `goloop match`: KataGo's keys, KataGo's defaults.

Why two classes with one shape: KataGo's gatekeeper and match both play games between two
bots through the same GameRunner (cpp/program/play.cpp) and read the same game keys; they
differ in defaults. Each default is the value KataGo uses when a key is absent, except where
KataGo's shipped config sets the key: `gatekeeper1.cfg` for the gatekeeper, `match_example.cfg`
for match (spec: selfplay-and-search.md §8).

Search keys are SearchParams' own fields. KataGo loads them with a different default set per
program (setup.cpp `loadParams`): SETUP_FOR_OTHER for the gatekeeper (no cpuct utility-stdev
scaling, no noise pruning, uncertainty or policy optimism unless the config turns them on),
SETUP_FOR_MATCH for match (the GTP defaults, but no root symmetry pruning and no passing hacks).
`gatekeeper_search_defaults` and `match_search_defaults` say exactly which.

What goloop leaves out: KataGo's per-bot suffixed keys (`maxVisits0`, `nnModelFile1`, ...; a
match here has its two players on the command line and one search config for both nets),
start positions from SGFs, handicap games (handicapProb must stay 0, as both shipped configs
have it) and the komi noise beyond komiStdev.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from goloop.common.config import ConfigError, setting
from goloop.common.play.gamekeys import ignored, search_keys
from goloop.common.search.params import SearchParams


def gatekeeper_search_defaults() -> SearchParams:
    """SETUP_FOR_OTHER defaults (setup.cpp) with gatekeeper1.cfg on top (spec §8)."""
    return SearchParams(
        # SETUP_FOR_OTHER where it differs from the GTP defaults of the dataclass
        cpuctUtilityStdevScale=0.0, useNoisePruning=False, rootSymmetryPruning=False,
        rootPolicyOptimism=0.0, enablePassingHacks=False, enableMorePassingHacks=False,
        # gatekeeper1.cfg
        maxVisits=150, numSearchThreads=1,
        chosenMoveTemperatureEarly=0.5, chosenMoveTemperatureHalflife=19.0,
        chosenMoveTemperature=0.2, chosenMoveSubtract=0.0, chosenMovePrune=1.0,
        useLcbForSelection=True, lcbStdevs=5.0, minVisitPropForLCB=0.15,
        winLossUtilityFactor=1.0, staticScoreUtilityFactor=0.0, dynamicScoreUtilityFactor=0.25,
        dynamicScoreCenterZeroWeight=0.25, dynamicScoreCenterScale=0.5,
        noResultUtilityForWhite=0.0, drawEquivalentWinsForWhite=0.5,
        rootEndingBonusPoints=0.5, rootPruneUselessMoves=True,
        cpuctExploration=1.1, cpuctExplorationLog=0.0,
        fpuReductionMax=0.2, rootFpuReductionMax=0.1, valueWeightExponent=0.5,
        policyOptimism=1.0, subtreeValueBiasFactor=0.35, subtreeValueBiasWeightExponent=0.8,
        useNonBuggyLcb=True, useGraphSearch=True, useUncertainty=True,
        uncertaintyExponent=1.0, uncertaintyCoeff=0.25, numVirtualLossesPerThread=1.0,
        nnRandomize=True,
    )


def match_search_defaults() -> SearchParams:
    """SETUP_FOR_MATCH defaults (the GTP ones without root symmetry pruning and passing
    hacks, setup.cpp) with match_example.cfg on top."""
    return SearchParams(
        rootSymmetryPruning=False, enablePassingHacks=False, enableMorePassingHacks=False,
        maxVisits=500, numSearchThreads=1,
        chosenMoveTemperatureEarly=0.60, chosenMoveTemperature=0.20,
    )


def _games_keys(name: str, search_defaults: SearchParams, **defaults):
    """The keys of KataGo's GameRunner and GameInitializer both programs read, with this
    program's defaults; a dataclass on top of the search keys."""
    d = defaults
    base = search_keys(name + "Search", search_defaults, "KataGo SearchParams keys.")

    @dataclass(frozen=True)
    class Games(base):
        # --- Throughput ------------------------------------------------------------------------
        numGameThreads: int = setting(d["numGameThreads"], "Games played at once; the moves of "
                                      "all of them share each net's forward passes.",
                                      min=1, max=16384)
        nnMaxBatchSize: int = setting(d["nnMaxBatchSize"], "Largest forward pass (rows).",
                                      min=8, max=65536)
        nnCacheSizePowerOfTwo: int = setting(21, "NN result cache of 2^this entries per net.",
                                             min=0, max=40)
        numEigenThreadsPerModel: Optional[int] = setting(
            None, "CPU threads running the nets (torch intra-op threads). Unset: "
                  "min(numGameThreads x numSearchThreads, cores), as KataGo.", min=1, max=1024)
        device: str = setting("auto", "Torch device for the nets: auto, cpu, cuda, cuda:N.")
        seed: str = setting("", "Seed of every random choice (game setups, searches, names); "
                            "empty = fresh.")
        logGamesEvery: int = setting(d["logGamesEvery"], "Log a summary line every this many "
                                     "games.", min=1, max=1000000)

        # --- Games -------------------------------------------------------------------------------
        maxMovesPerGame: int = setting(d["maxMovesPerGame"], "A game still running after this "
                                       "many moves is scored as it stands.", min=1, max=100000)
        allowResignation: bool = setting(True, "Resign hopeless games (saves time; a net "
                                         "searches well past its decisive moment otherwise).")
        resignThreshold: float = setting(d["resignThreshold"], "The side to move resigns when "
                                         "the last resignConsecTurns searched win-loss values "
                                         "(White's view, both players' searches) all put it "
                                         "below this.", min=-1.0, max=0.0)
        resignConsecTurns: int = setting(d["resignConsecTurns"], "How many consecutive searches "
                                         "must agree before a resignation.", min=1, max=100)
        clearBotBeforeSearch: bool = setting(False, "Search every move from a fresh tree (else "
                                             "each net keeps its tree between moves).")
        bSizes: Tuple[int, ...] = setting(d["bSizes"], "Board sizes to play.", min=2, max=19)
        bSizeRelProbs: Tuple[float, ...] = setting(d["bSizeRelProbs"], "Relative probability "
                                                   "of each of bSizes.", min=0.0)
        allowRectangleProb: float = setting(d["allowRectangleProb"], "Probability of a "
                                            "rectangular board (sides drawn from bSizes).",
                                            min=0.0, max=1.0)
        koRules: Tuple[str, ...] = setting(d["koRules"], "Ko rules, drawn uniformly.")
        scoringRules: Tuple[str, ...] = setting(("AREA", "TERRITORY"), "Scoring rules, drawn "
                                                "uniformly.")
        taxRules: Tuple[str, ...] = setting(d["taxRules"], "Tax rules, drawn uniformly "
                                            "(repeat a value to weight it).")
        multiStoneSuicideLegals: Tuple[bool, ...] = setting((False, True), "Multi-stone suicide "
                                                            "legality, drawn uniformly.")
        hasButtons: Tuple[bool, ...] = setting(d["hasButtons"], "Button Go, drawn uniformly "
                                               "(area scoring only).")
        komiAuto: bool = setting(True, "Komi made fair for the empty board of the game's size "
                                 "and rules by short searches of both nets (else komiMean).")
        komiMean: float = setting(7.5, "Komi when komiAuto is false.", min=-400.0, max=400.0)
        komiStdev: float = setting(0.0, "Gaussian komi noise (scaled by sqrt(area)/19).",
                                   min=0.0, max=60.0)
        compensateKomiVisits: int = setting(100, "Visits of each search that makes komi fair.",
                                            min=1, max=10000)
        handicapProb: float = setting(0.0, "Handicap games: not supported, must be 0.",
                                      min=0.0, max=0.0)
        handicapCompensateKomiProb: Optional[float] = ignored("no handicap games")

        # --- KataGo keys with no meaning here ----------------------------------------------------
        logSearchInfo: Optional[bool] = ignored("KataGo's per-search debug log")
        logMoves: Optional[bool] = ignored("KataGo's per-move log")
        logToStdout: Optional[bool] = ignored("goloop logs to stderr and --log-file")
        nnMutexPoolSizePowerOfTwo: Optional[int] = ignored("C++ locking")
        numNNServerThreadsPerModel: Optional[int] = ignored("one NN server per process")
        cudaUseFP16: Optional[str] = ignored("bf16 autocast on GPU")
        cudaUseNHWC: Optional[str] = ignored("torch picks the layout")
        nnRandSeed: Optional[str] = ignored("use seed")

        @property
        def max_board_len(self) -> int:
            """The tensor side every board is evaluated in (KataGo's nnXLen/nnYLen)."""
            return max(self.bSizes)

        def __post_init__(self):
            self.check_search_keys()     # search_params() and these checks: common/play/gamekeys.py
            self.check_board_sizes()
            self.check_rule_lists()
            if any(self.hasButtons) and not any(s.upper() == "AREA" for s in self.scoringRules):
                raise ConfigError("hasButtons may only be true when scoringRules includes AREA")

    Games.__name__ = Games.__qualname__ = name + "Games"
    return Games


_GatekeeperGames = _games_keys(
    "Gatekeeper", gatekeeper_search_defaults(),
    numGameThreads=128, nnMaxBatchSize=128, logGamesEvery=10, maxMovesPerGame=1600,
    resignThreshold=-0.90, resignConsecTurns=5,
    bSizes=(9, 11, 13, 15, 17, 19, 10, 12, 14, 16, 18),
    bSizeRelProbs=(2, 3, 10, 7, 9, 35, 2, 4, 6, 8, 10), allowRectangleProb=0.10,
    koRules=("SIMPLE", "POSITIONAL", "SITUATIONAL"),
    taxRules=("NONE", "NONE", "SEKI", "SEKI", "ALL"),
    hasButtons=(False, False, True))

_MatchGames = _games_keys(
    "Match", match_search_defaults(),
    numGameThreads=8, nnMaxBatchSize=32, logGamesEvery=50, maxMovesPerGame=1200,
    resignThreshold=-0.95, resignConsecTurns=6,
    bSizes=(19, 13, 9), bSizeRelProbs=(90, 5, 5), allowRectangleProb=0.0,
    koRules=("SIMPLE", "POSITIONAL", "SITUATIONAL"), taxRules=("NONE", "SEKI", "ALL"),
    hasButtons=(False, True))


@dataclass(frozen=True)
class GatekeeperConfig(_GatekeeperGames):
    """Everything `goloop gatekeeper` reads (KataGo's gatekeeper, gatekeeper1.cfg defaults)."""

    base_dir: str = setting("", "The run's BASEDIR: candidates in modelstobetested/, accepted "
                            "in models/, rejected in rejectedmodels/, games in gatekeepersgf/ "
                            "and ratings/games.jsonl. Set with --base-dir.", key="baseDir")
    numGamesPerGating: int = setting(200, "Games of one test (fewer when the result is decided "
                                     "early).", min=1, max=1 << 24)
    requiredCandidateWinProp: float = setting(0.5, "The candidate is accepted when it scores at "
                                              "least this share of the games played (ties go "
                                              "to the candidate); KataGo's "
                                              "-required-candidate-win-prop.", min=0.0, max=1.0)
    noAutoRejectOldModels: bool = setting(False, "Also test candidates whose file is older than "
                                          "the newest accepted model (KataGo's "
                                          "-no-autoreject-old-models); else they are rejected "
                                          "unplayed.")
    quitIfNoNetsToTest: bool = setting(False, "Exit when nothing is waiting in "
                                       "modelstobetested/ (KataGo's -quit-if-no-nets-to-test).")
    modelPollSeconds: float = setting(4.0, "How often modelstobetested/ is checked when idle "
                                      "(KataGo: 4 s).", min=0.0, max=86400.0)


@dataclass(frozen=True)
class MatchConfig(_MatchGames):
    """Everything `goloop match` reads (KataGo's match, match_example.cfg defaults)."""

    numGamesTotal: int = setting(1000000, "Games to play (KataGo's match_example.cfg: "
                                 "1000000, i.e. until SIGINT); the two players alternate "
                                 "colours. Set with --games.", min=1, max=1 << 40)
    numBots: Optional[int] = ignored("the two players are --black and --white")
    botName: Optional[str] = ignored("use --black-name / --white-name")
    nnModelFile: Optional[str] = ignored("the players are --black and --white")
