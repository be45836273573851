"""`GtpConfig`, the keys of `goloop gtp`: KataGo's gtp.cfg names where the concept is the same.

The board-side keys (model, rules, komi, board size, device) are `_CoreKeys`; three more
groups, so that KataGo's own gtp_example.cfg (and configs written for it) load unchanged:

* SearchKeys: KataGo's SearchParams keys as `katago gtp` reads them. Each is optional: unset means
  KataGo's GTP default for that parameter (SearchParams.for_gtp()). Ranges are KataGo's, so a value
  KataGo would refuse is refused here too. A key the goloop search does not implement is still
  accepted; setting it logs a warning that it has no effect.
* GenmoveKeys: the settings of the GTP front end itself (resignation, play-faster rules,
  analysis output and the analysis variants of the search parameters), with KataGo's defaults.
* CompatKeys: keys KataGo reads that have no meaning in goloop (log files, GPU backends, NN cache
  sizes, pattern-avoidance databases...). They take any value and warn when set, so a KataGo
  config still loads instead of failing on its first unknown key.

The KataGo rule keys (koRule, scoringRule, ...) are in CompatKeys' neighbour RuleKeys: each one
set replaces that field of `rules`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional

from goloop.common.config import setting

BIG = 1 << 50
MIN_SIZE, MAX_SIZE = 2, 19


def _f(help: str, lo: float, hi: float):
    return setting(None, help, min=lo, max=hi)


@dataclass(frozen=True)
class SearchKeys:
    """KataGo SearchParams keys (unset = KataGo's GTP default)."""

    maxVisits: Optional[int] = _f("Visits per genmove search (root visits, reused tree included). "
                                  "With none of maxVisits/maxPlayouts/maxTime set, genmove plays "
                                  "on a fast default clock (1 s + 5x5 s byo-yomi).", 1, BIG)
    maxPlayouts: Optional[int] = _f("Playouts (new visits) per genmove search.", 1, BIG)
    maxTime: Optional[float] = _f("Seconds per genmove search at most (on top of the clock).", 0.0, 1e20)
    maxVisitsPondering: Optional[int] = _f("maxVisits while pondering (ponderingEnabled); "
                                           "unlimited if unset.", 1, BIG)
    maxPlayoutsPondering: Optional[int] = _f("maxPlayouts while pondering; unlimited if unset.",
                                             1, BIG)
    maxTimePondering: Optional[float] = _f("maxTime while pondering; unlimited if unset.", 0.0, 1e20)
    lagBuffer: Optional[float] = _f("Seconds kept back on the clock for network and GUI lag "
                                    "(KataGo's default 0; its example config sets 1.0).", 0.0, 3600.0)
    searchFactorAfterOnePass: Optional[float] = _f(
        "Search budget multiplier when the opponent just passed.", 0.0, 1.0)
    searchFactorAfterTwoPass: Optional[float] = _f(
        "Search budget multiplier when both of the last two moves of the opponent were passes.", 0.0, 1.0)
    numSearchThreads: Optional[int] = _f("Search threads.", 1, 4096)
    minPlayoutsPerThread: Optional[float] = _f("Use fewer threads when the budget is small.", 0.0, 1e20)
    winLossUtilityFactor: Optional[float] = _f("Utility weight of winning.", 0.0, 1.0)
    staticScoreUtilityFactor: Optional[float] = _f("Utility weight of the score.", 0.0, 1.0)
    dynamicScoreUtilityFactor: Optional[float] = _f("Utility weight of the score around the "
                                                    "expected score.", 0.0, 1.0)
    noResultUtilityForWhite: Optional[float] = _f("Utility of a no-result for white.", -1.0, 1.0)
    drawEquivalentWinsForWhite: Optional[float] = _f(
        "What a draw is worth to white in wins (also the komi input of the net on integer komi).",
        0.0, 1.0)
    dynamicScoreCenterZeroWeight: Optional[float] = _f("Pull of the dynamic score centre to 0.", 0.0, 1.0)
    dynamicScoreCenterScale: Optional[float] = _f("Scale of the dynamic score utility.", 0.2, 5.0)
    cpuctExploration: Optional[float] = _f("PUCT exploration constant.", 0.0, 10.0)
    cpuctExplorationLog: Optional[float] = _f("Growth of exploration with visits.", 0.0, 10.0)
    cpuctExplorationBase: Optional[float] = _f("Visit scale of that growth.", 10.0, 100000.0)
    cpuctUtilityStdevPrior: Optional[float] = _f("Prior utility stdev for exploration.", 1e-8, 10.0)
    cpuctUtilityStdevPriorWeight: Optional[float] = _f("Weight of that prior.", 0.0, 100.0)
    cpuctUtilityStdevScale: Optional[float] = _f("Exploration scaling by utility stdev.", 0.0, 1.0)
    fpuReductionMax: Optional[float] = _f("First-play-urgency reduction.", 0.0, 2.0)
    fpuLossProp: Optional[float] = _f("FPU pull towards a loss.", 0.0, 1.0)
    fpuParentWeightByVisitedPolicy: Optional[bool] = setting(
        None, "Weight the parent value in FPU by the visited policy mass.")
    fpuParentWeightByVisitedPolicyPow: Optional[float] = _f("Power of that weighting.", 0.0, 5.0)
    fpuParentWeight: Optional[float] = _f("Fixed weight of the parent value in FPU.", 0.0, 1.0)
    policyOptimism: Optional[float] = _f("Optimistic policy mix below the root.", 0.0, 1.0)
    rootPolicyOptimism: Optional[float] = _f(
        "Optimistic policy mix at the root and for kata-raw-nn: logits p + (pOpt - p) * x, for nets "
        "with an optimistic policy channel (KataGo's GTP default 0.2).", 0.0, 1.0)
    valueWeightExponent: Optional[float] = _f("Value weighting by uncertainty.", 0.0, 1.0)
    useNoisePruning: Optional[bool] = setting(None, "Prune weight of noisy bad children.")
    noisePruneUtilityScale: Optional[float] = _f("Scale of noise pruning.", 0.001, 10.0)
    noisePruningCap: Optional[float] = _f("Cap of noise pruning.", 0.0, 1e50)
    useUncertainty: Optional[bool] = setting(None, "Weight playouts by the net's uncertainty.")
    uncertaintyCoeff: Optional[float] = _f("Uncertainty weighting coefficient.", 0.0001, 1.0)
    uncertaintyExponent: Optional[float] = _f("Uncertainty weighting exponent.", 0.0, 2.0)
    uncertaintyMaxWeight: Optional[float] = _f("Maximum uncertainty weight.", 1.0, 100.0)
    useGraphSearch: Optional[bool] = setting(None, "Share nodes between transpositions.")
    graphSearchRepBound: Optional[int] = _f("Repetition bound of graph search.", 3, 50)
    graphSearchCatchUpLeakProb: Optional[float] = _f("Graph search catch-up leak.", 0.0, 1.0)
    graphSearchCatchUpProp: Optional[float] = _f("Graph search catch-up proportion.", 0.0, 1.0)
    rootNoiseEnabled: Optional[bool] = setting(None, "Dirichlet noise at the root.")
    rootDirichletNoiseTotalConcentration: Optional[float] = _f("Noise concentration.", 0.001, 10000.0)
    rootDirichletNoiseWeight: Optional[float] = _f("Noise weight.", 0.0, 1.0)
    rootPolicyTemperature: Optional[float] = _f("Root policy temperature.", 0.01, 100.0)
    rootPolicyTemperatureEarly: Optional[float] = _f("Root policy temperature early.", 0.01, 100.0)
    rootFpuReductionMax: Optional[float] = _f("FPU reduction at the root.", 0.0, 2.0)
    rootFpuLossProp: Optional[float] = _f("FPU loss pull at the root.", 0.0, 1.0)
    rootNumSymmetriesToSample: Optional[int] = _f("Symmetries averaged at the root.", 1, 8)
    rootSymmetryPruning: Optional[bool] = setting(None, "Search one of symmetric root moves only.")
    rootDesiredPerChildVisitsCoeff: Optional[float] = _f("Forced playouts at the root.", 0.0, 100.0)
    chosenMoveTemperature: Optional[float] = _f("Move choice temperature late in the game.", 0.0, 5.0)
    chosenMoveTemperatureEarly: Optional[float] = _f("Move choice temperature at the start.", 0.0, 5.0)
    chosenMoveTemperatureHalflife: Optional[float] = _f("Turns (19x19) for it to halve.", 0.1, 100000.0)
    chosenMoveTemperatureOnlyBelowProb: Optional[float] = _f(
        "Apply the temperature only to moves below this probability.", 0.0, 1.0)
    chosenMoveSubtract: Optional[float] = _f("Visits subtracted before choosing.", 0.0, 1e10)
    chosenMovePrune: Optional[float] = _f("Moves with fewer visits are never chosen.", 0.0, 1e10)
    useLcbForSelection: Optional[bool] = setting(None, "Choose moves by lower confidence bound.")
    lcbStdevs: Optional[float] = _f("Stdevs of that bound.", 1.0, 12.0)
    minVisitPropForLCB: Optional[float] = _f("Visit share needed to be chosen by LCB.", 0.0, 1.0)
    useNonBuggyLcb: Optional[bool] = setting(None, "Fixed LCB selection (KataGo >= 1.8).")
    rootEndingBonusPoints: Optional[float] = _f("Bonus for ending the game properly.", -1.0, 1.0)
    rootPruneUselessMoves: Optional[bool] = setting(None, "Prune root moves in pass-alive areas.")
    conservativePass: Optional[bool] = setting(
        None, "Never assume a pass ends the game in the search (KataGo's GTP default true).")
    fillDameBeforePass: Optional[bool] = setting(None, "Fill dame before passing (GTP default true).")
    alwaysComputePassAliveUnderSuicideRules: Optional[str] = setting(
        None, "auto, true or false: pass-alive areas also under suicide rules.")
    wideRootNoise: Optional[float] = _f("Root exploration noise for genmove.", 0.0, 5.0)
    enablePassingHacks: Optional[bool] = setting(None, "Passing hacks of the search.")
    enableMorePassingHacks: Optional[bool] = setting(None, "More passing hacks of the search.")
    playoutDoublingAdvantage: Optional[float] = _f(
        "Fixed playout doubling advantage (log2 of how many times more playouts the player has); "
        "setting it turns off the dynamic one for handicap games.", -3.0, 3.0)
    playoutDoublingAdvantagePla: Optional[str] = setting(
        None, "Whose advantage playoutDoublingAdvantage is: BLACK or WHITE (unset: the mover's).")
    avoidRepeatedPatternUtility: Optional[float] = _f("Penalty for repeated patterns.", -3.0, 3.0)
    antiMirror: Optional[bool] = setting(None, "Play against mirror Go.")
    ignorePreRootHistory: Optional[bool] = setting(None, "Hide moves before the root from the net.")
    ignoreAllHistory: Optional[bool] = setting(None, "Hide every previous move from the net.")
    subtreeValueBiasFactor: Optional[float] = _f("Subtree value bias correction.", 0.0, 1.0)
    subtreeValueBiasTableNumShards: Optional[int] = _f("Shards of that table.", 1, 1 << 20)
    subtreeValueBiasFreeProp: Optional[float] = _f("Free proportion of that table.", 0.0, 1.0)
    subtreeValueBiasWeightExponent: Optional[float] = _f("Weight exponent of the bias.", 0.0, 1.0)
    useEvalCache: Optional[bool] = setting(None, "Cache deep evaluations.")
    evalCacheMinVisits: Optional[int] = _f("Visits for the eval cache.", 1, BIG)
    nodeTableShardsPowerOfTwo: Optional[int] = _f("Node table shards.", 8, 24)
    numVirtualLossesPerThread: Optional[float] = _f("Virtual losses per thread.", 0.01, 1000.0)
    treeReuseCarryOverTimeFactor: Optional[float] = _f("Credit for time spent on the reused tree.", 0.0, 1.0)
    overallocateTimeFactor: Optional[float] = _f("Multiplier of the recommended time.", 0.01, 100.0)
    midgameTimeFactor: Optional[float] = _f("Extra time in the middle game.", 0.01, 100.0)
    midgameTurnPeakTime: Optional[float] = _f("Turn of the middle-game peak.", 0.0, 1000.0)
    endgameTurnTimeDecay: Optional[float] = _f("Decay of time after the peak.", 0.0, 1000.0)
    obviousMovesTimeFactor: Optional[float] = _f("Time multiplier for obvious moves.", 0.01, 1.0)
    obviousMovesPolicyEntropyTolerance: Optional[float] = _f("Entropy scale of obvious.", 0.001, 2.0)
    obviousMovesPolicySurpriseTolerance: Optional[float] = _f("Surprise scale of obvious.", 0.001, 2.0)
    futileVisitsThreshold: Optional[float] = _f("Stop when no other move can catch up.", 0.01, 1.0)
    nnPolicyTemperature: Optional[float] = _f("Temperature of the net's policy.", 0.01, 5.0)
    nnRandomize: Optional[bool] = setting(None, "Evaluate in a random symmetry (false: symmetry 0).")
    nnRandSeed: Optional[str] = setting(None, "Seed of those symmetries (unset: random).")
    searchRandSeed: Optional[str] = setting(None, "Seed of the search's randomness (unset: random).")


@dataclass(frozen=True)
class GenmoveKeys:
    """Settings of the GTP front end's search commands, with KataGo's defaults."""

    allowResignation: Optional[bool] = setting(
        None, "Resign hopeless games (KataGo's default false); needs resignThreshold.")
    resignThreshold: Optional[float] = setting(
        None, "Resign when the win/loss value (-1..1) stays below this.", min=-1.0, max=0.0)
    resignConsecTurns: int = setting(3, "...for this many consecutive searches.", min=1, max=100)
    resignMinScoreDifference: Optional[float] = setting(
        None, "Never resign when behind by fewer points than this.", min=0.0, max=1000.0)
    resignMinMovesPerBoardArea: float = setting(
        0.0, "Never resign before this many moves per board point.", min=0.0, max=1.0)
    searchFactorWhenWinning: float = setting(
        1.0, "Search budget multiplier when the last 3 searches were all winning.", min=0.01, max=1.0)
    searchFactorWhenWinningThreshold: float = setting(
        1.0, "Win/loss value above which a search counts as winning.", min=0.0, max=1.0)
    analysisPVLen: int = setting(13, "Moves after the first in each analysis PV.", min=1, max=1000)
    reportAnalysisWinratesAs: str = setting(
        "SIDETOMOVE", "Point of view of analysis values: BLACK, WHITE or SIDETOMOVE "
                      "(any case; b and w too).")
    ponderingEnabled: bool = setting(
        False, "Keep searching in the background after genmove or play, until the next command "
               "that needs the search, so that the next genmove reuses that tree.")
    cleanupBeforePass: str = setting(
        "auto", "auto, true or false: capture dead stones before passing (auto: when friendlyPassOk "
                "is false under area scoring).")
    friendlyPass: str = setting(
        "auto", "auto, true or false: pass once nothing is left to gain (auto: when friendlyPassOk "
                "is true under area scoring).")
    ogsChatToStderr: bool = setting(False, "Print a one-line summary of each genmove to stderr.")
    dynamicPlayoutDoublingAdvantageCapPerOppLead: Optional[float] = setting(
        None, "Playout doubling advantage per point of handicap for the weaker side "
              "(KataGo's default 0.045).", min=0.0, max=0.5)
    analysisWideRootNoise: float = setting(
        0.04, "wideRootNoise for the analysis commands (kata-analyze, lz-analyze).", min=0.0, max=5.0)
    analysisIgnorePreRootHistory: bool = setting(
        True, "ignorePreRootHistory for the analysis commands.")
    genmoveAntiMirror: Optional[bool] = setting(
        None, "antiMirror for genmove (unset: antiMirror, else true).")
    delayMoveScale: float = setting(
        0.0, "Mean artificial delay before answering genmove, scaled by how unlikely the move is "
             "(seconds; 0 = none).", min=0.0, max=10000.0)
    delayMoveMax: float = setting(1000000.0, "Longest artificial delay (seconds).", min=0.0,
                                  max=1000000.0)
    logSearchInfo: bool = setting(False, "Log the search tree summary after each genmove.")
    logSearchInfoForChosenMove: bool = setting(False, "Also log the chosen move's subtree.")


@dataclass(frozen=True)
class RuleKeys:
    """KataGo's per-field rule keys, an alternative to `rules`: each one set replaces that field."""

    koRule: Optional[str] = setting(None, "SIMPLE, POSITIONAL or SITUATIONAL.")
    scoringRule: Optional[str] = setting(None, "AREA or TERRITORY.")
    taxRule: Optional[str] = setting(None, "NONE, SEKI or ALL.")
    multiStoneSuicideLegal: Optional[bool] = setting(None, "Whether multi-stone suicide is legal.")
    hasButton: Optional[bool] = setting(None, "Button Go.")
    whiteHandicapBonus: Optional[str] = setting(None, "0, N-1 or N.")
    friendlyPassOk: Optional[bool] = setting(None, "Passing before capturing dead stones is fine.")


def _compat(what: str):
    return setting(None, f"{what} Accepted for KataGo compatibility; no effect in goloop.")


@dataclass(frozen=True)
class CompatKeys:
    """KataGo keys with no meaning in goloop (accepted with a warning)."""

    logDir: Optional[str] = _compat("Log directory (goloop logs to stderr / --log-file).")
    logFile: Optional[str] = _compat("Log file.")
    logDirDated: Optional[str] = _compat("Dated log directory.")
    logToStderr: Optional[str] = _compat("Log to stderr.")
    logTimeStamp: Optional[str] = _compat("Time stamps in logs.")
    logConfigContents: Optional[str] = _compat("Log the config.")
    startupPrintMessageToStderr: Optional[str] = _compat("Start-up banner.")
    homeDataDir: Optional[str] = _compat("KataGo's data directory.")
    forDeterministicTesting: Optional[str] = _compat("KataGo's test seeding.")
    gtpForceMaxNNSize: Optional[str] = _compat("Always use a 19x19 net input.")
    nnMaxBatchSize: Optional[str] = _compat("NN batch size.")
    nnCacheSizePowerOfTwo: Optional[str] = _compat("NN cache size.")
    nnMutexPoolSizePowerOfTwo: Optional[str] = _compat("NN cache locks.")
    numNNServerThreadsPerModel: Optional[str] = _compat(
        "NN server threads (one per process in goloop; KataGo's CPU backend ignores it too).")
    cudaDeviceToUse: Optional[str] = _compat("CUDA device (see nnDevice).")
    cudaUseFP16: Optional[str] = _compat("CUDA FP16 (see nnDtype).")
    cudaUseNHWC: Optional[str] = _compat("CUDA layout.")
    trtDeviceToUse: Optional[str] = _compat("TensorRT device.")
    trtUseFP16: Optional[str] = _compat("TensorRT FP16.")
    trtTransformerNHWC: Optional[str] = _compat("TensorRT layout.")
    openclDeviceToUse: Optional[str] = _compat("OpenCL device.")
    openclUseFP16: Optional[str] = _compat("OpenCL FP16.")
    openclReTunePerBoardSize: Optional[str] = _compat("OpenCL tuning.")
    useFP16: Optional[str] = _compat("FP16 (see nnDtype).")
    useNHWC: Optional[str] = _compat("Layout.")
    avoidMYTDaggerHack: Optional[str] = _compat("An old joseki hack.")
    avoidSgfPatternUtility: Optional[str] = _compat("SGF pattern avoidance.")
    avoidSgfPatternLambda: Optional[str] = _compat("SGF pattern avoidance.")
    avoidSgfPatternMinTurnNumber: Optional[str] = _compat("SGF pattern avoidance.")
    avoidSgfPatternMaxFiles: Optional[str] = _compat("SGF pattern avoidance.")
    avoidSgfPatternAllowedNames: Optional[str] = _compat("SGF pattern avoidance.")
    avoidSgfPatternDirs: Optional[str] = _compat("SGF pattern avoidance.")
    autoAvoidRepeatDir: Optional[str] = _compat("Automatic repeat avoidance.")
    autoAvoidRepeatLambda: Optional[str] = _compat("Automatic repeat avoidance.")
    autoAvoidRepeatMaxPoses: Optional[str] = _compat("Automatic repeat avoidance.")
    autoAvoidRepeatMaxTurnNumber: Optional[str] = _compat("Automatic repeat avoidance.")
    autoAvoidRepeatMinTurnNumber: Optional[str] = _compat("Automatic repeat avoidance.")
    autoAvoidRepeatSaveChunkSize: Optional[str] = _compat("Automatic repeat avoidance.")
    autoAvoidRepeatUtility: Optional[str] = _compat("Automatic repeat avoidance.")
    humanSLProfile: Optional[str] = _compat("Human SL profile (no human model support).")
    humanSLChosenMoveProp: Optional[str] = _compat("Human SL model.")
    humanSLChosenMoveIgnorePass: Optional[str] = _compat("Human SL model.")
    humanSLChosenMovePiklLambda: Optional[str] = _compat("Human SL model.")
    humanSLCpuctExploration: Optional[str] = _compat("Human SL model.")
    humanSLCpuctPermanent: Optional[str] = _compat("Human SL model.")
    humanSLRootExploreProbWeightless: Optional[str] = _compat("Human SL model.")
    humanSLRootExploreProbWeightful: Optional[str] = _compat("Human SL model.")
    humanSLPlaExploreProbWeightless: Optional[str] = _compat("Human SL model.")
    humanSLPlaExploreProbWeightful: Optional[str] = _compat("Human SL model.")
    humanSLOppExploreProbWeightless: Optional[str] = _compat("Human SL model.")
    humanSLOppExploreProbWeightful: Optional[str] = _compat("Human SL model.")


SEARCH_KEY_NAMES = tuple(f.name for f in fields(SearchKeys))
COMPAT_KEY_NAMES = tuple(f.name for f in fields(CompatKeys))
RULE_KEY_NAMES = tuple(f.name for f in fields(RuleKeys))
# Each rule key's name for Rules.with_field (kata-set-rule's names).
RULE_KEY_FIELDS = {"koRule": "ko", "scoringRule": "scoring", "taxRule": "tax",
                   "multiStoneSuicideLegal": "suicide", "hasButton": "hasButton",
                   "whiteHandicapBonus": "whiteHandicapBonus", "friendlyPassOk": "friendlyPassOk"}


@dataclass(frozen=True)
class _CoreKeys:
    """The board-side keys of `goloop gtp`."""

    model: Optional[str] = setting(
        None, "KataGo model file (.bin.gz, .txt.gz, .bin, .txt) for the network commands "
              "(kata-raw-nn); without one the engine knows only the rules.")
    rules: str = setting(
        "tromp-taylor", "Rules at startup, until the controller changes them: a preset name "
                        "(tromp-taylor, chinese, japanese, aga, ...), rules JSON or a compact rules string.")
    komi: Optional[float] = setting(
        None, "Komi at startup, until the controller sends `komi`; unset means the rules' default.",
        min=-400, max=400)
    ignoreGTPAndForceKomi: Optional[float] = setting(
        None, "Always use this komi, ignoring `komi` commands and SGF komi.", min=-400, max=400)
    defaultBoardSize: int = setting(19, "Board size at startup, until `boardsize`.", min=MIN_SIZE,
                                    max=MAX_SIZE)
    preventCleanupPhase: bool = setting(
        True, "Under territory scoring, two passes only mark the game as past its normal end "
              "instead of starting the cleanup (encore) phases, as KataGo's GTP does by default.")
    assumeMultipleStartingBlackMovesAreHandicap: bool = setting(
        True, "Count a run of black moves opening the game as handicap stones (for the "
              "whiteHandicapBonus rule and SGF HA[]), as servers often place free handicap that way.")
    logAllGTPCommunication: bool = setting(
        False, "Log every command received and every reply sent (to the log, never stdout).")
    nnDevice: str = setting(
        "auto", "Where the net runs: auto (first CUDA GPU, else CPU), cpu, cuda or cuda:N.")
    nnDtype: str = setting(
        "auto", "Precision of the forward pass: auto (bf16 on GPU, fp32 on CPU), fp32, bf16, fp16.")
    numEigenThreadsPerModel: Optional[int] = setting(
        None, "CPU threads running the net (KataGo's CPU-backend key; torch's intra-op threads). "
              "Unset: min(numSearchThreads, cores), as KataGo. No effect on a GPU.", min=1, max=1024)


@dataclass(frozen=True)
class GtpConfig(CompatKeys, RuleKeys, GenmoveKeys, SearchKeys, _CoreKeys):
    """`goloop gtp` settings; keys are KataGo's gtp.cfg names where the concept is the same, so
    KataGo's gtp_example.cfg loads as it is (keys without meaning here warn when set)."""
