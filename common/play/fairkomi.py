"""Finding the komi that makes a position even, by short searches (KataGo v1.17.2 `PlayUtils`
adjustKomiToEven and computeLead).

Why: selfplay centres each game's komi on what its net thinks fair and trains the lead head on
komi fits; a gating or match game with komiAuto plays the empty board at the komi both nets
find fair. See shared/spec/selfplay-and-search.md §2 "Komi", §5 "Lead estimation" and §8.

Both are scheduler coroutines (scheduler.py): they yield lists of Searchers on which `begin`
was called and `return` their result. They search with one net or two: a selfplay game has one
searcher for both colours; a game between two bots gives both bots' searchers, searched
together and averaged, as KataGo averages botB and botW.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, Generator, List, Optional, Sequence, Tuple

import numpy as np

from goloop.common.go.rules import ScoringRule
from goloop.common.play.komi import KomiError, round_and_clip_komi

Coroutine = Generator[Sequence, None, float]


def noiseless_params(params, visits: int):
    """The params KataGo's komi, lead and scoring searches use (getNoiselessParams): the game's
    own settings, but no root noise, no root temperature or forced playouts, the root FPU of
    any other node, one root symmetry, and no search-factor shrinking after passes, so a few
    visits give a plain estimate. Threads are capped at one per 8 visits."""
    return dataclasses.replace(
        params,
        maxVisits=visits, maxPlayouts=visits,
        rootNoiseEnabled=False,
        rootPolicyTemperature=1.0, rootPolicyTemperatureEarly=1.0,
        rootFpuReductionMax=params.fpuReductionMax, rootFpuLossProp=params.fpuLossProp,
        rootDesiredPerChildVisitsCoeff=0.0,
        rootNumSymmetriesToSample=1,
        searchFactorAfterOnePass=1.0, searchFactorAfterTwoPass=1.0,
        numSearchThreads=min(params.numSearchThreads, (visits + 7) // 8),
    )


def _distinct(searchers) -> List:
    """One Searcher, or several (one per bot), each counted once."""
    if not isinstance(searchers, (list, tuple)):
        return [searchers]
    return list({id(s): s for s in searchers}.values())


class _Probe:
    """Searched (white lead, white win-loss) of the position at a given komi, cached per komi
    because the fit revisits komis (KataGo's scoreWLCache).

    Two distinct searchers (a game between two nets) are searched together and averaged, as
    KataGo averages botB and botW; the same searcher twice counts once.
    """

    def __init__(self, history, searchers, visits: int, pda: float, pda_pla: str):
        if visits < 1:
            raise KomiError(f"visits must be at least 1, got {visits}")
        self.history = history
        self.searchers = _distinct(searchers)
        if not self.searchers:
            raise KomiError("a komi search needs at least one net to search with")
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


def fair_komi(history, searchers, visits: int, rng: np.random.Generator, *,
              start_komi: Optional[float] = None,
              playoutDoublingAdvantage: float = 0.0,
              playoutDoublingAdvantagePla: str = "") -> Coroutine:
    """Coroutine: the komi that makes `history`'s position even for the side to move, from
    short searches (KataGo's adjustKomiToEven; compensateKomiVisits each, 20 by default in
    selfplay, 100 in gating and match). Returns a half-integer komi; `history` is not modified.

    The fitted real-valued komi is rounded to a neighbouring half-integer at random, in
    proportion to closeness, so that the fair komi is unbiased on average across games.

    `searchers`: the game's Searcher (selfplay: one tree for both colours), or a list of them,
    one per bot of a two-bot game: their results are averaged, and one listed twice counts
    once. They keep their game params: for these searches the params are switched to
    `noiseless_params` (root noise off etc., KataGo does the same) and restored afterwards. On
    return their trees are cleared and their position is the last probe: set_position again
    before searching the game.

    `start_komi`: where the fit starts (the history's komi if None); KataGo's selfplay starts
    from the noise-free komi when it first makes a game fair, from the current komi when it
    re-fits after the opening. playoutDoublingAdvantage/-Pla: the game's asymmetric playouts
    (PDA), told to the net during the fit as KataGo does.
    """
    probe = _Probe(history, searchers, visits, playoutDoublingAdvantage,
                   playoutDoublingAdvantagePla)
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


def estimate_lead(history, searchers, visits: int, *,
                  playoutDoublingAdvantage: float = 0.0,
                  playoutDoublingAdvantagePla: str = "") -> Coroutine:
    """Coroutine: White's lead in points in `history`'s position at its komi: its komi minus the
    komi that would make the position even (KataGo's computeLead, the lead training target;
    selfplay uses estimateLeadVisits, 6 by default). Positive means White is ahead. Unlike
    `fair_komi` the result is not rounded (KataGo's computeLead draws no random numbers),
    and for area scoring without the button the 2-point parity of results is smoothed out.

    `searchers`, params and playoutDoubling* as in `fair_komi`.
    """
    probe = _Probe(history, searchers, visits, playoutDoublingAdvantage,
                   playoutDoublingAdvantagePla)
    return (yield from probe.run(_lead(probe)))
