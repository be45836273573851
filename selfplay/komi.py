"""How a selfplay game gets its komi (KataGo v1.17.2 `PlayUtils` komi helpers, `Play::runGame`).

Why komi is randomised at all: a net that only ever sees one komi learns nothing about how
komi moves the result, and its score head gets no signal away from an even game. KataGo
therefore centres each game's komi on the value its own net thinks fair (for the empty board,
or for the actual start position of forks/handicap/SGF games), adds noise whose size scales
with the board, and now and then draws a far-off komi. See shared/spec/selfplay-and-search.md
§2 "Komi" and §5 "Lead estimation".

Two kinds of pieces live here:
  * pure draws (numpy Generator in, komi out): the per-game noise settings, the noisy komi,
    the fancyKomiVarying and net-less re-centring, the make-fair decision;
  * scheduler coroutines (see selfplay/scheduler.py) for what needs searches: `fair_komi`
    (KataGo's adjustKomiToEven) and `estimate_lead` (computeLead). They yield lists of
    Searchers on which `begin` was called and `return` their result.

Randomness uses numpy, so draws never reproduce KataGo's bit stream; the distributions and
the order of decisions are KataGo's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Generator, List, Optional, Sequence, Tuple

import numpy as np

from goloop.common.go.rules import ScoringRule

# KataGo's NNPos::KOMI_CLIP_RADIUS: komi is kept within boardArea + this of zero.
KOMI_CLIP_RADIUS = 20.0

Coroutine = Generator[Sequence, None, float]


class KomiError(ValueError):
    """A komi setting that cannot be used (negative stdev, probability outside [0, 1], ...)."""


# ------------------------------------------------------------------------------------------------
# Pure pieces


def _round_half_away(v: float) -> float:
    """C's round(): halves go away from zero (Python's round() goes to even, which would shift
    e.g. komi 0.25 to 0 where KataGo gives 0.5)."""
    return math.copysign(math.floor(abs(v) + 0.5), v)


def round_and_clip_komi(komi: float, x_size: int, y_size: int) -> float:
    """Nearest multiple of 0.5 within ±(area + 20) (KataGo's roundAndClipKomi): the only komis
    the rules and the net's komi input are meant for."""
    radius = KOMI_CLIP_RADIUS + x_size * y_size
    komi = min(max(float(komi), -radius), radius)
    return 0.5 * _round_half_away(2.0 * komi) + 0.0   # + 0.0: no -0.0 komi in rules text


def truncated_normal(rng: np.random.Generator, bound: float) -> float:
    """Standard normal redrawn until within ±bound (KataGo's nextGaussianTruncated: the tails are
    cut off, not piled onto the bound)."""
    if bound < 0.1:
        raise KomiError(f"truncation bound must be at least 0.1, got {bound}")
    while True:
        d = float(rng.standard_normal())
        if -bound <= d <= bound:
            return d


def _check_prob(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise KomiError(f"{name} must be within [0, 1], got {p}")


@dataclass(frozen=True)
class KomiNoise:
    """The per-game komi settings every later re-noising reuses (KataGo's ExtraBlackAndKomi,
    komi part): a game re-draws its komi several times (after fitting it, for the policy-init
    opening) but always with the stdev and integer allowance drawn once at the start."""

    mean: float
    """Centre of the noise: komiMean, or the fair komi once a fit has replaced it."""
    stdev: float
    """Stdev of the added noise in points, already scaled by sqrt(boardArea)/19."""
    allow_integer: bool
    """Whether an integer komi (so a possible draw) may stand; otherwise it is moved by ±0.5."""
    interp_zero: bool = False
    """Scale the noised komi by U[0,1) (handicap/SGF games with *KomiInterpZeroProb): games
    between no komi and full komi."""


def choose_komi_noise(rng: np.random.Generator, *, x_size: int, y_size: int,
                      komiMean: float = 7.5, komiStdev: float = 0.0,
                      komiBigStdevProb: float = 0.0, komiBigStdev: float = 10.0,
                      komiBiggerStdevProb: float = 0.0, komiBiggerStdev: float = 30.0,
                      komiAllowIntegerProb: float = 1.0, interp_zero: bool = False) -> KomiNoise:
    """Draw a game's komi noise settings (the komi half of KataGo's chooseExtraBlackAndKomi;
    defaults are KataGo's when a key is absent from the config).

    The big and bigger stdevs replace, not add to, the normal one, the later winning. Scaling by
    sqrt(area)/19 keeps small boards from getting 19x19-sized komi swings. With komiAuto the
    caller passes the rules' komi as komiMean; a fit replaces it before use anyway.
    """
    for name, p in (("komiBigStdevProb", komiBigStdevProb),
                    ("komiBiggerStdevProb", komiBiggerStdevProb),
                    ("komiAllowIntegerProb", komiAllowIntegerProb)):
        _check_prob(name, p)
    for name, s in (("komiStdev", komiStdev), ("komiBigStdev", komiBigStdev),
                    ("komiBiggerStdev", komiBiggerStdev)):
        if s < 0 or not math.isfinite(s):
            raise KomiError(f"{name} must be a finite number >= 0, got {s}")
    stdev = komiStdev
    if komiBigStdev > 0 and rng.random() < komiBigStdevProb:
        stdev = komiBigStdev
    if komiBiggerStdev > 0 and komiBiggerStdevProb > 0 and rng.random() < komiBiggerStdevProb:
        stdev = komiBiggerStdev
    stdev *= math.sqrt(x_size * y_size) / 19.0
    allow_integer = bool(rng.random() < komiAllowIntegerProb)
    return KomiNoise(float(komiMean), float(stdev), allow_integer, bool(interp_zero))


def base_komi(noise: KomiNoise, x_size: int, y_size: int) -> float:
    """The noise-free komi (KataGo's setKomiWithoutNoise): where a fit starts from, so that the
    search for the fair komi does not start from an arbitrarily noised one. Ignores the
    integer allowance, as KataGo does."""
    return round_and_clip_komi(noise.mean, x_size, y_size)


def noised_komi(noise: KomiNoise, rng: np.random.Generator, x_size: int, y_size: int) -> float:
    """A komi drawn around `noise.mean` (KataGo's setKomiWithNoise).

    Rounding to a half-integer is stochastic and linear in the remainder so that the rounding
    adds no bias. When integers are not allowed an integer result moves half a point either way
    by a fair coin, after the clip (so it may end 0.5 beyond the clip radius, as in KataGo).
    """
    komi = noise.mean
    if noise.stdev > 0:
        komi += noise.stdev * truncated_normal(rng, 3.0)
    if noise.interp_zero:
        komi *= float(rng.random())
    lower = math.floor(komi * 2.0) / 2.0
    upper = math.ceil(komi * 2.0) / 2.0
    if upper > lower:
        komi = upper if rng.random() < (komi - lower) / (upper - lower) else lower
    komi = round_and_clip_komi(komi, x_size, y_size)
    if not noise.allow_integer and komi == math.floor(komi):
        komi += -0.5 if rng.random() < 0.5 else 0.5
    return komi


def wants_fancy_komi(rng: np.random.Generator, *, fancyKomiVarying: bool, extra_black: int,
                     is_fork: bool) -> bool:
    """Whether a game that was not made fair gets the fancyKomiVarying treatment: half of the
    handicap games and a quarter of the forks (runGame). Nothing is drawn for other games."""
    if not fancyKomiVarying or not (extra_black > 0 or is_fork):
        return False
    return bool(rng.random() < (0.5 if extra_black > 0 else 0.25))


def fancy_komi_mean(rng: np.random.Generator, current_komi: float, fair: float,
                    x_size: int, y_size: int) -> float:
    """The new noise centre for a fancyKomiVarying game: uniform between the komi the game has
    and the fair one, plus 0.75·sqrt(area)·N(0,1) cut at ±2.5. Handicap and fork games otherwise
    never see the large score margins they can reach. The caller then re-noises with it
    (`noised_komi(replace(noise, mean=...))`)."""
    lo, hi = min(current_komi, fair), max(current_komi, fair)
    komi = lo + float(rng.random()) * (hi - lo)
    return komi + 0.75 * math.sqrt(x_size * y_size) * truncated_normal(rng, 2.5)


def netless_komi_mean(rng: np.random.Generator, current_komi: float,
                      x_size: int, y_size: int) -> float:
    """The noise centre when both players are random (no neural net, KataGo's
    isNeuralNetLess with fancyKomiVarying): komi + 1.5·sqrt(area)·N(0,1) cut at ±2.5, a wide
    spread so the first nets learn how komi moves the result. Re-noise with it afterwards."""
    return current_komi + 1.5 * math.sqrt(x_size * y_size) * truncated_normal(rng, 2.5)


def choose_komi_fairing(rng: np.random.Generator, *, komiAuto: bool, start: str = "fresh",
                        extra_black: int = 0, asymmetric: bool = False,
                        handicapCompensateKomiProb: float = 0.0,
                        forkCompensateKomiProb: Optional[float] = None,
                        sgfCompensateKomiProb: Optional[float] = None,
                        minAsymmetricCompensateKomiProb: float = 0.0) -> Tuple[bool, bool]:
    """(make_fair, make_fair_for_empty_board) for a new game (GameInitializer::createGame).

    `start`: "fresh" (empty board, maybe handicap), "sgf" (a start/hint position) or "fork"
    (a position forked from another game). make_fair fits the komi to the actual start
    position; otherwise komiAuto fits it to the empty board. Forks never take the empty-board
    fit: their komi comes from the game they were forked from. The unset fork/sgf probabilities
    default as in KataGo: fork to handicap's, sgf to fork's. `asymmetric`: the game was given
    unequal playouts (PDA), which KataGo makes fair at least minAsymmetricCompensateKomiProb
    of the time (not for forks, whose setup returns before that step).
    """
    if forkCompensateKomiProb is None:
        forkCompensateKomiProb = handicapCompensateKomiProb
    if sgfCompensateKomiProb is None:
        sgfCompensateKomiProb = forkCompensateKomiProb
    for name, p in (("handicapCompensateKomiProb", handicapCompensateKomiProb),
                    ("forkCompensateKomiProb", forkCompensateKomiProb),
                    ("sgfCompensateKomiProb", sgfCompensateKomiProb),
                    ("minAsymmetricCompensateKomiProb", minAsymmetricCompensateKomiProb)):
        _check_prob(name, p)
    if start == "fork":
        return bool(rng.random() < forkCompensateKomiProb), False
    if start == "sgf":
        prob = sgfCompensateKomiProb
    elif start == "fresh":
        prob = handicapCompensateKomiProb if extra_black > 0 else 0.0
    else:
        raise KomiError(f"start must be 'fresh', 'sgf' or 'fork', got {start!r}")
    if asymmetric:
        prob = max(prob, minAsymmetricCompensateKomiProb)
    make_fair = bool(rng.random() < prob) if prob > 0 else False
    return make_fair, (komiAuto and not make_fair)


# ------------------------------------------------------------------------------------------------
# Searches: finding the komi that makes a position even


def noiseless_params(params, visits: int):
    """The params KataGo's komi and lead searches use (getNoiselessParams): the game's own
    settings, but no root noise, no root temperature or forced playouts, the root FPU of any
    other node, one root symmetry, and no search-factor shrinking after passes, so a few
    visits give a plain estimate. Threads are capped at one per 8 visits."""
    return params.replace(
        maxVisits=visits, maxPlayouts=visits,
        rootNoiseEnabled=False,
        rootPolicyTemperature=1.0, rootPolicyTemperatureEarly=1.0,
        rootFpuReductionMax=params.fpuReductionMax, rootFpuLossProp=params.fpuLossProp,
        rootDesiredPerChildVisitsCoeff=0.0,
        rootNumSymmetriesToSample=1,
        searchFactorAfterOnePass=1.0, searchFactorAfterTwoPass=1.0,
        numSearchThreads=min(params.numSearchThreads, (visits + 7) // 8),
    )


class _Probe:
    """Searched (white lead, white win-loss) of the position at a given komi, cached per komi
    because the fit revisits komis (KataGo's scoreWLCache).

    Two distinct searchers (a game between two nets) are searched together and averaged, as
    KataGo averages botB and botW; the same searcher twice counts once.
    """

    def __init__(self, history, searchers: List, visits: int, pda: float, pda_pla: str):
        if visits < 1:
            raise KomiError(f"visits must be at least 1, got {visits}")
        self.history = history
        self.searchers = searchers
        self.visits = visits
        self.pda = pda
        self.pda_pla = pda_pla
        self.cache: Dict[float, Tuple[float, float]] = {}

    def at(self, komi: float) -> Generator[Sequence, None, Tuple[float, float]]:
        komi = round_and_clip_komi(komi, self.history.x_size, self.history.y_size)
        if komi in self.cache:
            return self.cache[komi]
        h = self.history.copy()
        h.set_rules(h.rules.with_komi(komi))
        for s in self.searchers:
            s.set_position(h)
            s.clear_tree()   # KataGo's setPosition always starts from a fresh tree
            s.begin(max_visits=self.visits)
        yield list(self.searchers)
        leads, wls = [], []
        for s in self.searchers:
            v = s.core.root_values(False)   # the root node's own averages (getRootValues)
            if v is None:
                raise RuntimeError("komi search finished without root values")
            leads.append(v["lead"])
            wls.append(v["win_loss"])
        result = (sum(leads) / len(leads), sum(wls) / len(wls))
        self.cache[komi] = result
        return result

    def win_loss(self, komi: float) -> Generator[Sequence, None, float]:
        return (yield from self.at(komi))[1]

    def run(self, body):
        """Run coroutine `body` with every searcher switched to noiseless params, restoring each
        one's own params afterwards even if the coroutine is abandoned."""
        saved = [s.params for s in self.searchers]
        try:
            for s, p in zip(self.searchers, saved):
                q = noiseless_params(p, self.visits)
                if self.pda != 0.0 and self.pda_pla:
                    # The game's asymmetry is told to the net but not applied to the visits,
                    # so the fitted komi is fair for the unequal game about to be played.
                    q = q.replace(playoutDoublingAdvantage=self.pda,
                                  playoutDoublingAdvantagePla=self.pda_pla)
                s.set_params(q)
            return (yield from body)
        finally:
            for s, p in zip(self.searchers, saved):
                s.set_params(p)


def _searchers(searcher, white_searcher) -> List:
    if white_searcher is None or white_searcher is searcher:
        return [searcher]
    return [searcher, white_searcher]


def _naive_even_komi(probe: _Probe, komi: float) -> Generator[Sequence, None, float]:
    """The unrounded komi at which White's searched win-loss crosses zero (KataGo's
    getNaiveEvenKomiHelper).

    First up to three jumps by the searched lead, the cheap way to get near when the position
    is lopsided: each jump no larger than the one before, undone by half if it made things
    worse. Then a window of ±1, 2, 4 .. 32 points around that komi brackets the zero crossing
    of the win-loss value, bisection narrows it to half a point, and the crossing is linearly
    interpolated inside.
    """
    size = (probe.history.x_size, probe.history.y_size)
    last_shift = last_wl = last_lead = 0.0
    for i in range(3):
        lead, wl = yield from probe.at(komi)
        if i > 0 and ((last_lead > 0 and lead > last_lead + 5 and wl < 0.75)
                      or (last_lead < 0 and lead < last_lead - 5 and wl > -0.75)
                      or (last_wl > 0 and wl > last_wl + 0.1)
                      or (last_wl < 0 and wl < last_wl - 0.1)):
            komi = round_and_clip_komi(komi - last_shift * 0.5, *size)
            break
        last_lead, last_wl = lead, wl
        shift = -lead
        if i > 0 and abs(shift) > abs(last_shift):
            shift = math.copysign(abs(last_shift), shift)
        last_shift = shift
        # White behind on score yet winning: score and winrate disagree, jumping is unsafe.
        # (KataGo's mirror-image test compares the lead, not the win-loss, so it can never
        # fire; leaving it out keeps the same behaviour.)
        if shift > 0 and wl > 0:
            break
        komi = round_and_clip_komi(komi + shift, *size)
        if abs(shift) < 16.0:
            break

    wl0 = yield from probe.win_loss(komi)
    if wl0 < 0:
        lo, lo_wl = 0.0, wl0
        for i in range(6):
            hi = float(2 ** i)
            hi_wl = yield from probe.win_loss(komi + hi)
            if hi_wl >= 0:
                break
    else:
        hi, hi_wl = 0.0, wl0
        for i in range(6):
            lo = -float(2 ** i)
            lo_wl = yield from probe.win_loss(komi + lo)
            if lo_wl <= 0:
                break
    # Windows are whole powers of two, so halving lands exactly on a 0.5-point gap.
    while hi - lo > 0.50001:
        mid = 0.5 * (lo + hi)
        mid_wl = yield from probe.win_loss(komi + mid)
        if mid_wl < 0:
            lo, lo_wl = mid, mid_wl
        else:
            hi, hi_wl = mid, mid_wl

    if lo_wl >= hi_wl - 1e-30:        # crossed by search noise: take the middle
        delta = 0.5 * (lo + hi)
    elif hi_wl <= 0:                  # never reached zero (window too small): nearest end
        delta = hi
    elif lo_wl >= 0:
        delta = lo
    else:
        delta = lo + (hi - lo) * (0.0 - lo_wl) / (hi_wl - lo_wl)
    return komi + delta


def fair_komi(history, searcher, visits: int, rng: np.random.Generator, *,
              white_searcher=None, start_komi: Optional[float] = None,
              playoutDoublingAdvantage: float = 0.0,
              playoutDoublingAdvantagePla: str = "") -> Coroutine:
    """Coroutine: the komi that makes `history`'s position even for the side to move, from the
    searcher's short searches (KataGo's adjustKomiToEven; selfplay uses compensateKomiVisits,
    20 by default). Returns a half-integer komi; `history` is not modified.

    The fitted real-valued komi is rounded to a neighbouring half-integer at random, in
    proportion to closeness, so that the fair komi is unbiased on average across games.

    `start_komi`: where the fit starts (the history's komi if None); KataGo starts from the
    noise-free komi (`base_komi`) when it first makes a game fair, from the current komi when
    it re-fits after the opening.

    The searcher is the caller's game searcher with its game params (selfplay: the bot of the
    player to move, nothing special needed): for these searches its params are switched to
    `noiseless_params` (root noise off etc., KataGo does the same) and restored afterwards. On
    return its tree is cleared and its position is the last probe: set_position again before
    searching the game. `white_searcher`: a second net (games between two bots), whose results
    are averaged with the first's. playoutDoublingAdvantage/-Pla: the game's asymmetric
    playouts (PDA), told to the net during the fit as KataGo does.
    """
    probe = _Probe(history, _searchers(searcher, white_searcher), visits,
                   playoutDoublingAdvantage, playoutDoublingAdvantagePla)
    komi0 = history.rules.komi if start_komi is None else start_komi
    naive = yield from probe.run(_naive_even_komi(probe, komi0))
    lower = math.floor(naive * 2.0) * 0.5
    komi = lower + 0.5 if rng.random() < (naive - lower) / 0.5 else lower
    return round_and_clip_komi(komi, history.x_size, history.y_size)


def _lead(probe: _Probe) -> Generator[Sequence, None, float]:
    old = probe.history.rules.komi
    naive = yield from _naive_even_komi(probe, old)
    rules = probe.history.rules
    coarse = rules.scoring_rule == ScoringRule.AREA and not rules.has_button
    if not coarse or naive == math.floor(naive):
        return old - naive
    # Area scoring without the button moves the result in steps of two points (a dame filled
    # changes both areas), so the win-loss against komi is a staircase: the value at each
    # komi is averaged with the one a point away to take the parity wobble out before
    # interpolating.
    lower = math.floor(naive * 2.0) * 0.5
    upper = lower + 0.5
    lower_wl = 0.5 * ((yield from probe.win_loss(upper)) + (yield from probe.win_loss(lower - 0.5)))
    upper_wl = 0.5 * ((yield from probe.win_loss(upper + 0.5)) + (yield from probe.win_loss(lower)))
    if lower_wl >= upper_wl - 1e-30:
        result = 0.5 * (lower + upper)
    else:
        result = lower + (upper - lower) * (0.0 - lower_wl) / (upper_wl - lower_wl)
        result = min(max(result, lower - 0.5), upper + 0.5)
    return old - result


def estimate_lead(history, searcher, visits: int, *, white_searcher=None,
                  playoutDoublingAdvantage: float = 0.0,
                  playoutDoublingAdvantagePla: str = "") -> Coroutine:
    """Coroutine: White's lead in points in `history`'s position at its komi: its komi minus the
    komi that would make the position even (KataGo's computeLead, the lead training target;
    selfplay uses estimateLeadVisits, 6 by default). Positive means White is ahead. Unlike
    `fair_komi` the result is not rounded (KataGo's computeLead draws no random numbers),
    and for area scoring without the button the 2-point parity of results is smoothed out.

    Searcher, params and `white_searcher` / playoutDoubling* as in `fair_komi`.
    """
    probe = _Probe(history, _searchers(searcher, white_searcher), visits,
                   playoutDoublingAdvantage, playoutDoublingAdvantagePla)
    return (yield from probe.run(_lead(probe)))
