"""Search parameters under KataGo's config key names, with KataGo's defaults per program.

Why KataGo's names: goloop reads KataGo `.cfg` files (config.py) and GTP `kata-set-param` uses the
same keys, so a field here *is* the config key. Why three constructors: KataGo fills keys that are
absent from the config with defaults that depend on the program (`Setup::loadParams` with
SETUP_FOR_GTP, SETUP_FOR_ANALYSIS or SETUP_FOR_OTHER, the latter used by selfplay), and those
differ in ways that change search results (shared/spec/selfplay-and-search.md §3, §4c).

The dataclass defaults are KataGo's SETUP_FOR_GTP defaults of `Setup::loadParams`; `for_gtp()`
adds what `katago gtp` itself changes on top (conservativePass, fillDameBeforePass), and
`for_analysis()` / `for_selfplay()` start from the dataclass defaults.
Selfplay's values are those of KataGo's `selfplay1.cfg` on top of the SETUP_FOR_OTHER defaults.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from goloop.common.config import setting

MAX_VISITS_UNLIMITED = 1 << 50
MAX_TIME_UNLIMITED = 1.0e20


class SearchParamsError(ValueError):
    """A search parameter outside the range KataGo accepts."""


@dataclass(frozen=True)
class SearchParams:
    """Everything that steers one search (KataGo's SearchParams plus nnRandomize and seeds)."""

    # --- Limits -------------------------------------------------------------------------------
    maxVisits: int = setting(MAX_VISITS_UNLIMITED, "Stop once the root has this many visits "
                             "(visits kept from tree reuse count).", min=1, max=MAX_VISITS_UNLIMITED)
    maxPlayouts: int = setting(MAX_VISITS_UNLIMITED, "Stop after this many playouts of this search "
                               "(visits kept from tree reuse do not count).", min=1,
                               max=MAX_VISITS_UNLIMITED)
    maxTime: float = setting(MAX_TIME_UNLIMITED, "Stop after this many seconds (at least 2 playouts "
                             "are always made).", min=0.0, max=MAX_TIME_UNLIMITED)
    numSearchThreads: int = setting(1, "Leaves gathered per NN batch with virtual losses "
                                    "(KataGo's search threads); 1 reproduces KataGo exactly.",
                                    min=1, max=4096)
    searchFactorAfterOnePass: float = setting(1.0, "Scale the visit/playout/time budget by this "
                                              "when the last move was a pass.", min=0.0, max=1.0)
    searchFactorAfterTwoPass: float = setting(1.0, "Scale the budget by this when the last two "
                                              "moves of the opponent were passes.", min=0.0, max=1.0)

    # --- Utility ------------------------------------------------------------------------------
    winLossUtilityFactor: float = setting(1.0, "Utility of a win minus a loss, halved.", min=0.0, max=1.0)
    staticScoreUtilityFactor: float = setting(0.1, "Weight of the score utility centred on 0.",
                                              min=0.0, max=1.0)
    dynamicScoreUtilityFactor: float = setting(0.3, "Weight of the score utility centred on the "
                                               "expected score at the start of the search.",
                                               min=0.0, max=1.0)
    dynamicScoreCenterZeroWeight: float = setting(0.2, "Move the dynamic score centre this "
                                                  "proportion of the way to 0.", min=0.0, max=1.0)
    dynamicScoreCenterScale: float = setting(0.75, "Width of the dynamic score utility in units of "
                                             "sqrt(board area).", min=0.2, max=5.0)
    noResultUtilityForWhite: float = setting(0.0, "Utility of a no-result game for white.",
                                             min=-1.0, max=1.0)
    drawEquivalentWinsForWhite: float = setting(0.5, "How many wins a draw is worth to white.",
                                                min=0.0, max=1.0)

    # --- Exploration (PUCT) -------------------------------------------------------------------
    cpuctExploration: float = setting(1.0, "PUCT exploration constant.", min=0.0, max=10.0)
    cpuctExplorationLog: float = setting(0.45, "Extra exploration growing with log(total child "
                                         "weight).", min=0.0, max=10.0)
    cpuctExplorationBase: float = setting(500.0, "Child weight at which the log term starts to "
                                          "matter.", min=10.0, max=100000.0)
    cpuctUtilityStdevPrior: float = setting(0.40, "Prior utility stdev of a node for scaling "
                                            "exploration.", min=1e-8, max=10.0)
    cpuctUtilityStdevPriorWeight: float = setting(2.0, "Weight of that prior.", min=0.0, max=100.0)
    cpuctUtilityStdevScale: float = setting(0.85, "How much the node's utility stdev scales "
                                            "exploration (0 = not at all).", min=0.0, max=1.0)
    fpuReductionMax: float = setting(0.2, "First-play-urgency reduction for unvisited children.",
                                     min=0.0, max=2.0)
    rootFpuReductionMax: float = setting(0.1, "Same, at the root (KataGo: 0 when root noise is "
                                         "on, else 0.1).", min=0.0, max=2.0)
    fpuLossProp: float = setting(0.0, "Move FPU this proportion of the way to a loss.", min=0.0, max=1.0)
    rootFpuLossProp: float = setting(0.0, "Same, at the root.", min=0.0, max=1.0)
    fpuParentWeightByVisitedPolicy: bool = setting(True, "Blend parent average and parent NN "
                                                   "utility for FPU by the visited policy mass.")
    fpuParentWeightByVisitedPolicyPow: float = setting(2.0, "Power of the visited policy mass in "
                                                       "that blend.", min=0.0, max=5.0)
    fpuParentWeight: float = setting(0.0, "Without the blend above: weight of the parent's NN "
                                     "utility in the FPU.", min=0.0, max=1.0)
    policyOptimism: float = setting(1.0, "Mix of the optimistic policy head (v12+ nets).",
                                    min=0.0, max=1.0)
    rootPolicyOptimism: float = setting(0.2, "Same, at the root.", min=0.0, max=1.0)

    # --- Value aggregation --------------------------------------------------------------------
    valueWeightExponent: float = setting(0.25, "Down-weight children with bad values by their "
                                         "Student-t CDF to this power.", min=0.0, max=1.0)
    useNoisePruning: bool = setting(True, "Prune child weight beyond its policy share when its "
                                    "value is worse than its elder siblings'.")
    noisePruneUtilityScale: float = setting(0.15, "Utility scale of noise pruning.", min=0.001, max=10.0)
    noisePruningCap: float = setting(1e50, "Most weight noise pruning removes from one child.",
                                     min=0.0, max=1e50)
    useUncertainty: bool = setting(True, "Weight NN evals by the net's short-term error (v9+ nets).")
    uncertaintyCoeff: float = setting(0.25, "Eval weight of an uncertainty of 1 utility.",
                                      min=0.0001, max=1.0)
    uncertaintyExponent: float = setting(1.0, "Eval weight falls with this power of the "
                                         "uncertainty.", min=0.0, max=2.0)
    uncertaintyMaxWeight: float = setting(8.0, "Largest weight of one eval (also of terminal "
                                          "evals when uncertainty is used).", min=1.0, max=100.0)
    subtreeValueBiasFactor: float = setting(0.45, "Correct NN utilities by the observed subtree "
                                            "bias of similar local moves.", min=0.0, max=1.0)
    subtreeValueBiasFreeProp: float = setting(0.8, "Share of a deleted node's bias contribution "
                                              "that is removed.", min=0.0, max=1.0)
    subtreeValueBiasWeightExponent: float = setting(0.85, "Bias observations weigh the subtree "
                                                    "weight to this power.", min=0.0, max=1.0)

    # --- Graph search -------------------------------------------------------------------------
    useGraphSearch: bool = setting(True, "Share nodes between transpositions.")
    graphSearchRepBound: int = setting(11, "Positions are transposable only after a move whose "
                                       "chain plus empty region exceeds this many points.",
                                       min=3, max=50)
    graphSearchCatchUpLeakProb: float = setting(0.0, "Chance to descend a transposition anyway "
                                                "instead of catching up its edge visits.",
                                                min=0.0, max=1.0)

    # --- Root ---------------------------------------------------------------------------------
    rootNoiseEnabled: bool = setting(False, "Mix Dirichlet noise into the root policy.")
    rootDirichletNoiseTotalConcentration: float = setting(10.83, "Total alpha of the root noise.",
                                                          min=0.001, max=10000.0)
    rootDirichletNoiseWeight: float = setting(0.25, "Weight of the noise in the root policy.",
                                              min=0.0, max=1.0)
    rootPolicyTemperature: float = setting(1.0, "Root policy temperature late in the game.",
                                           min=0.01, max=100.0)
    rootPolicyTemperatureEarly: float = setting(1.0, "Root policy temperature at the start.",
                                                min=0.01, max=100.0)
    rootNumSymmetriesToSample: int = setting(1, "Average the root eval over this many random "
                                             "symmetries.", min=1, max=8)
    rootSymmetryPruning: bool = setting(True, "On a symmetric root board search one move per "
                                        "symmetry orbit.")
    rootDesiredPerChildVisitsCoeff: float = setting(0.0, "Forced playouts: a root child with "
                                                    "weight < sqrt(this * policy * total) is "
                                                    "searched next.", min=0.0, max=100.0)
    rootEndingBonusPoints: float = setting(0.5, "Root penalty in points for useless or passing "
                                           "moves at the end of the game.", min=-1.0, max=1.0)
    rootPruneUselessMoves: bool = setting(True, "After 4 opponent passes, forbid moves in "
                                          "pass-alive areas at the root.")
    wideRootNoise: float = setting(0.0, "Random extra root exploration (analysis default 0.04).",
                                   min=0.0, max=5.0)

    # --- Move choice --------------------------------------------------------------------------
    chosenMoveTemperature: float = setting(0.1, "Temperature of move choice late in the game.",
                                           min=0.0, max=5.0)
    chosenMoveTemperatureEarly: float = setting(0.5, "Temperature of move choice at the start.",
                                                min=0.0, max=5.0)
    chosenMoveTemperatureHalflife: float = setting(19.0, "Moves (on 19x19, scaled by board size) "
                                                   "for the temperature to halve its distance to "
                                                   "the late value.", min=0.1, max=100000.0)
    chosenMoveTemperatureOnlyBelowProb: float = setting(1.0, "Apply the temperature only to moves "
                                                        "less likely than this.", min=0.0, max=1.0)
    chosenMoveSubtract: float = setting(0.0, "Subtract this many visits from every move before "
                                        "choosing.", min=0.0, max=1e10)
    chosenMovePrune: float = setting(1.0, "Never choose moves with fewer visits than this.",
                                     min=0.0, max=1e10)
    useLcbForSelection: bool = setting(True, "Prefer the move with the best lower confidence bound.")
    lcbStdevs: float = setting(5.0, "Width of the LCB in standard deviations.", min=1.0, max=12.0)
    minVisitPropForLCB: float = setting(0.15, "LCB may only pick moves with this share of the top "
                                        "move's weight.", min=0.0, max=1.0)
    useNonBuggyLcb: bool = setting(True, "Fix KataGo's pre-1.8 LCB quirk (first child never "
                                   "promoted).")

    # --- Passing and game-end behaviour -------------------------------------------------------
    conservativePass: bool = setting(False, "Never assume our own pass at the root ends the game.")
    fillDameBeforePass: bool = setting(False, "Territory scoring: prefer filling dame over passing.")
    enablePassingHacks: bool = setting(True, "Net input and pass prior hacks near the game end.")
    enableMorePassingHacks: bool = setting(True, "Weightless extra pass/non-pass visits when a "
                                           "pass would end the phase.")

    # --- Net inputs ---------------------------------------------------------------------------
    playoutDoublingAdvantage: float = setting(0.0, "Play as if with 2^this times the opponent's "
                                              "playouts (net input).", min=-3.0, max=3.0)
    playoutDoublingAdvantagePla: Literal["", "BLACK", "WHITE"] = setting(
        "", "Side the advantage belongs to; empty = the side the search is for.")
    nnPolicyTemperature: float = setting(1.0, "Temperature of every policy the net returns.",
                                         min=0.01, max=5.0)
    ignorePreRootHistory: bool = setting(False, "Root net input without the moves before the root.")
    ignoreAllHistory: bool = setting(False, "Net inputs never show move history.")
    nnRandomize: bool = setting(True, "Evaluate each position in a random board symmetry "
                                "(false: symmetry 0).")
    nnRandSeed: str = setting("", "Seed of the symmetry choice; empty = random.")
    searchRandSeed: str = setting("", "Seed of the search's own randomness; empty = random.")

    # --- Threads ------------------------------------------------------------------------------
    numVirtualLossesPerThread: float = setting(1.0, "Virtual losses a pending leaf puts on its "
                                               "path.", min=0.01, max=1000.0)
    futileVisitsThreshold: float = setting(0.0, "Skip root moves that cannot reach this share of "
                                           "the top move's weight in the remaining budget "
                                           "(0 = off).", min=0.0, max=1.0)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            lo, hi = f.metadata.get("min"), f.metadata.get("max")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if value != value:
                raise SearchParamsError(f"{f.name} is NaN")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise SearchParamsError(f"{f.name}={value} is outside [{lo}, {hi}]")

    # ------------------------------------------------------------------------------------------

    @classmethod
    def for_gtp(cls, **overrides) -> "SearchParams":
        """KataGo `gtp` genmove defaults (SETUP_FOR_GTP, then gtp.cpp's own defaults:
        conservativePass and fillDameBeforePass on). GTP's kata-analyze/lz-analyze params are
        these plus wideRootNoise=0.04 and ignorePreRootHistory=true."""
        base = dict(conservativePass=True, fillDameBeforePass=True)
        base.update(overrides)
        return cls(**base)

    @classmethod
    def for_analysis(cls, **overrides) -> "SearchParams":
        """KataGo analysis-engine defaults (SETUP_FOR_ANALYSIS): wide root noise, no pre-root
        history, and (analysis.cpp's own default) conservativePass."""
        base = dict(wideRootNoise=0.04, ignorePreRootHistory=True, conservativePass=True)
        base.update(overrides)
        return cls(**base)

    @classmethod
    def for_selfplay(cls, **overrides) -> "SearchParams":
        """KataGo `selfplay1.cfg` on top of the SETUP_FOR_OTHER defaults (spec §3)."""
        base = dict(
            maxVisits=600, numSearchThreads=1,
            cpuctExploration=1.1, cpuctExplorationLog=0.0, cpuctUtilityStdevScale=0.0,
            fpuReductionMax=0.2, rootFpuReductionMax=0.0,
            policyOptimism=0.0, rootPolicyOptimism=0.0,
            valueWeightExponent=0.5, useNoisePruning=False, useUncertainty=False,
            subtreeValueBiasFactor=0.30, subtreeValueBiasWeightExponent=0.8,
            rootNoiseEnabled=True, rootDirichletNoiseTotalConcentration=10.83,
            rootDirichletNoiseWeight=0.25, rootPolicyTemperature=1.1,
            rootPolicyTemperatureEarly=1.25, rootNumSymmetriesToSample=4,
            rootSymmetryPruning=False, rootDesiredPerChildVisitsCoeff=2.0,
            chosenMoveTemperature=0.15, chosenMoveTemperatureEarly=0.75,
            chosenMoveTemperatureHalflife=19.0, chosenMoveSubtract=0.0, chosenMovePrune=1.0,
            useLcbForSelection=True, lcbStdevs=5.0, minVisitPropForLCB=0.15, useNonBuggyLcb=True,
            winLossUtilityFactor=1.0, staticScoreUtilityFactor=0.0,
            dynamicScoreUtilityFactor=0.40, dynamicScoreCenterZeroWeight=0.25,
            dynamicScoreCenterScale=0.50, noResultUtilityForWhite=0.0,
            drawEquivalentWinsForWhite=0.5, rootEndingBonusPoints=0.5, rootPruneUselessMoves=True,
            enablePassingHacks=False, enableMorePassingHacks=False, wideRootNoise=0.0,
            useGraphSearch=True, numVirtualLossesPerThread=1.0, nnRandomize=True,
        )
        base.update(overrides)
        return cls(**base)

    def replace(self, **changes) -> "SearchParams":
        return dataclasses.replace(self, **changes)

    @property
    def utility_radius(self) -> float:
        """Largest |utility| a value can have: the loss value the virtual losses and FPU use."""
        return self.winLossUtilityFactor + self.staticScoreUtilityFactor + self.dynamicScoreUtilityFactor
