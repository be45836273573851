"""How a gating or match game starts (KataGo's GameInitializer and runGame for two bots).

Pure draws from a numpy Generator and the config (board size, rules, colours) plus one
scheduler coroutine, `fair_komi`, that searches the empty board with both nets to find the komi
that makes it even (KataGo's adjustKomiToEven with botB and botW; spec selfplay-and-search.md
§2 "Komi" and §8).

Why this is not shared with selfplay: daemons import only common/. selfplay/gameinit.py and
selfplay/komi.py hold the same size/rules draws and a one-net komi fit; the pieces here are the
two-net subset a gating game needs, written for it. (They would be one module in common/ if
the selfplay ones moved there.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generator, List, Sequence, Tuple

import numpy as np

from goloop.common.go.rules import KoRule, Rules, ScoringRule, TaxRule

KOMI_CLIP_RADIUS = 20.0   # KataGo's NNPos::KOMI_CLIP_RADIUS: |komi| <= area + 20


@dataclass(frozen=True)
class GameSetup:
    """What a new game is before any net has looked at it."""

    x_size: int
    y_size: int
    rules: Rules          # komi = komiMean; replaced by the fair komi when komiAuto


# ------------------------------------------------------------------------------------------------
# Pure draws


def board_sizes(sizes: Sequence[int], rel_probs: Sequence[float],
                rectangle_prob: float) -> Tuple[List[Tuple[int, int]], np.ndarray]:
    """Every (x, y) board and its probability (GameInitializer::initShared): a square keeps
    (1 - r) of its share plus r times its squared share, a rectangle gets r times the product
    of its sides' shares."""
    total = float(sum(rel_probs))
    out, probs = [], []
    for x, px in zip(sizes, rel_probs):
        for y, py in zip(sizes, rel_probs):
            if x == y:
                w = (1.0 - rectangle_prob) * px / total + rectangle_prob * px * py / total ** 2
            elif rectangle_prob > 0:
                w = rectangle_prob * px * py / total ** 2
            else:
                continue
            out.append((int(x), int(y)))
            probs.append(w)
    p = np.asarray(probs, np.float64)
    return out, p / p.sum()


def _uniform(values, rng: np.random.Generator):
    return values[int(rng.integers(len(values)))]


def draw_setup(cfg, rng: np.random.Generator) -> GameSetup:
    """Board size, then each rule uniformly from its list; the button only under area scoring
    (createRulesUnsynchronized). Komi starts at komiMean."""
    sizes, probs = board_sizes(cfg.bSizes, cfg.bSizeRelProbs, cfg.allowRectangleProb)
    x, y = sizes[int(rng.choice(len(sizes), p=probs))]
    scoring = ScoringRule[_uniform(cfg.scoringRules, rng).upper()]
    rules = Rules(
        ko_rule=KoRule[_uniform(cfg.koRules, rng).upper()],
        scoring_rule=scoring,
        tax_rule=TaxRule[_uniform(cfg.taxRules, rng).upper()],
        multi_stone_suicide_legal=bool(_uniform(cfg.multiStoneSuicideLegals, rng)),
        has_button=bool(_uniform(cfg.hasButtons, rng)) if scoring == ScoringRule.AREA else False,
        komi=round_and_clip_komi(cfg.komiMean, x, y))
    return GameSetup(x, y, rules)


def deal_colours(first_black: int, second_black: int, rng: np.random.Generator) -> List[bool]:
    """The order of `first_black` games with the first player as Black and `second_black` with
    the second as Black, dealt like KataGo's MatchPairer: rounds holding one game of each
    pairing, shuffled within the round. True = the first player is Black."""
    out: List[bool] = []
    while first_black > 0 or second_black > 0:
        rnd = ([True] if first_black > 0 else []) + ([False] if second_black > 0 else [])
        first_black -= 1
        second_black -= 1
        if len(rnd) == 2 and rng.random() < 0.5:
            rnd.reverse()
        out.extend(rnd)
    return out


def _round_half_away(v: float) -> float:
    return math.copysign(math.floor(abs(v) + 0.5), v)


def round_and_clip_komi(komi: float, x_size: int, y_size: int) -> float:
    """Nearest half-integer within ±(area + 20) (KataGo's roundAndClipKomi; C rounding)."""
    radius = KOMI_CLIP_RADIUS + x_size * y_size
    komi = min(max(float(komi), -radius), radius)
    return 0.5 * _round_half_away(2.0 * komi) + 0.0


def noised_komi(mean: float, stdev: float, rng: np.random.Generator, x_size: int,
                y_size: int) -> float:
    """KataGo's setKomiWithNoise for a game with komiStdev and integer komi allowed: Gaussian
    noise scaled by sqrt(area)/19 (cut at 3 sigma), then rounded to a half-integer at random in
    proportion to closeness, so that the rounding adds no bias."""
    komi = mean
    if stdev > 0:
        while True:
            d = float(rng.standard_normal())
            if -3.0 <= d <= 3.0:
                break
        komi += stdev * math.sqrt(x_size * y_size) / 19.0 * d
    lower = math.floor(komi * 2.0) / 2.0
    if komi > lower:
        komi = lower + 0.5 if rng.random() < (komi - lower) / 0.5 else lower
    return round_and_clip_komi(komi, x_size, y_size)


# ------------------------------------------------------------------------------------------------
# The komi search (a coroutine for arena.py's scheduler: it yields begun Searchers)


def noiseless(params, visits: int):
    """KataGo's getNoiselessParams: the game's params with the root treated like any node and
    a fixed visit budget, so a few visits give a plain estimate."""
    return params.replace(
        maxVisits=visits, maxPlayouts=visits, rootNoiseEnabled=False,
        rootPolicyTemperature=1.0, rootPolicyTemperatureEarly=1.0,
        rootFpuReductionMax=params.fpuReductionMax, rootFpuLossProp=params.fpuLossProp,
        rootDesiredPerChildVisitsCoeff=0.0, rootNumSymmetriesToSample=1,
        searchFactorAfterOnePass=1.0, searchFactorAfterTwoPass=1.0,
        numSearchThreads=min(params.numSearchThreads, (visits + 7) // 8))


class _KomiProbe:
    """(white lead, white win-loss) at a komi, averaged over the searchers and cached per komi
    (KataGo's evalKomi and its scoreWLCache)."""

    def __init__(self, history, searchers: Sequence, visits: int):
        self.history = history
        self.searchers = list(searchers)
        self.visits = visits
        self.cache: dict = {}

    def at(self, komi: float) -> Generator:
        komi = round_and_clip_komi(komi, self.history.x_size, self.history.y_size)
        if komi not in self.cache:
            h = self.history.copy()
            h.set_rules(h.rules.with_komi(komi))
            for s in self.searchers:
                s.set_position(h)
                s.clear_tree()
                s.begin(max_visits=self.visits)
            yield list(self.searchers)
            values = [s.core.root_values(False) for s in self.searchers]
            self.cache[komi] = (sum(v["lead"] for v in values) / len(values),
                                sum(v["win_loss"] for v in values) / len(values))
        return self.cache[komi]


def _even_komi(probe: _KomiProbe, komi: float) -> Generator:
    """The real-valued komi at which White's searched win-loss crosses zero (KataGo's
    getNaiveEvenKomiHelper): up to three jumps by the searched lead (each no larger than the
    last, half undone if it made things worse), then a window of 1, 2, 4 .. 32 points brackets
    the crossing, bisection narrows it to half a point and it is interpolated inside."""
    xs, ys = probe.history.x_size, probe.history.y_size
    last_shift = last_wl = last_lead = 0.0
    for i in range(3):
        lead, wl = yield from probe.at(komi)
        if i > 0 and ((last_lead > 0 and lead > last_lead + 5 and wl < 0.75)
                      or (last_lead < 0 and lead < last_lead - 5 and wl > -0.75)
                      or (last_wl > 0 and wl > last_wl + 0.1)
                      or (last_wl < 0 and wl < last_wl - 0.1)):
            komi = round_and_clip_komi(komi - 0.5 * last_shift, xs, ys)
            break
        last_lead, last_wl = lead, wl
        shift = -lead
        if i > 0 and abs(shift) > abs(last_shift):
            shift = math.copysign(abs(last_shift), shift)
        last_shift = shift
        if shift > 0 and wl > 0:      # score and winrate disagree: jumping is unsafe
            break
        komi = round_and_clip_komi(komi + shift, xs, ys)
        if abs(shift) < 16.0:
            break

    def wl_at(delta):
        return (yield from probe.at(komi + delta))[1]

    wl0 = yield from wl_at(0.0)
    if wl0 < 0:
        lo, lo_wl = 0.0, wl0
        for i in range(6):
            hi = float(2 ** i)
            hi_wl = yield from wl_at(hi)
            if hi_wl >= 0:
                break
    else:
        hi, hi_wl = 0.0, wl0
        for i in range(6):
            lo = -float(2 ** i)
            lo_wl = yield from wl_at(lo)
            if lo_wl <= 0:
                break
    while hi - lo > 0.50001:
        mid = 0.5 * (lo + hi)
        mid_wl = yield from wl_at(mid)
        if mid_wl < 0:
            lo, lo_wl = mid, mid_wl
        else:
            hi, hi_wl = mid, mid_wl
    if lo_wl >= hi_wl - 1e-30:
        delta = 0.5 * (lo + hi)
    elif hi_wl <= 0:
        delta = hi
    elif lo_wl >= 0:
        delta = lo
    else:
        delta = lo + (hi - lo) * (0.0 - lo_wl) / (hi_wl - lo_wl)
    return komi + delta


def fair_komi(history, searchers: Sequence, visits: int,
              rng: np.random.Generator) -> Generator[Sequence, None, float]:
    """Coroutine: the half-integer komi that makes `history` (the empty board) even, from
    `visits`-visit searches of every searcher given (one per net; averaged, as KataGo averages
    botB and botW), rounded up or down at random in proportion to closeness.

    Each searcher runs with `noiseless` params for the probes and gets its own params back;
    its tree is left on the last probe, so set_position again before the game."""
    if not searchers:
        raise ValueError("fair_komi needs at least one net to search with")
    saved = [s.params for s in searchers]
    try:
        for s, p in zip(searchers, saved):
            s.set_params(noiseless(p, visits))
        naive = yield from _even_komi(_KomiProbe(history, searchers, visits), history.rules.komi)
    finally:
        for s, p in zip(searchers, saved):
            s.set_params(p)
    lower = math.floor(naive * 2.0) * 0.5
    komi = lower + 0.5 if rng.random() < (naive - lower) / 0.5 else lower
    return round_and_clip_komi(komi, history.x_size, history.y_size)

