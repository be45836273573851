"""goloop.common.play.fairkomi: KataGo's komi fit (adjustKomiToEven) and lead estimate
(computeLead), with one searcher (selfplay) or two (a game between two nets).

The fitting algorithm is checked twice: against a scripted stand-in searcher whose win-loss is
a known function of komi (so the exact komis KataGo's adjustKomiToEven would search, and its
result, are known), and with the real g170 b6c96 net on 9x9, whose fair komi must actually
balance the game.
"""
from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

from goloop.common.go.history import History
from goloop.common.go.rules import parse_rules
from goloop.common.nn.evaluator import Evaluator
from goloop.common.play import fairkomi as K
from goloop.common.play.scheduler import run_sync
from goloop.common.search.params import SearchParams
from goloop.common.search.searcher import Searcher

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
MODEL = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
BLACK, WHITE = 1, 2


# ------------------------------------------------------------------------------------------------
# The fit, against a scripted searcher


class _ScriptedCore:
    done = True

    def __init__(self, owner):
        self.owner = owner

    def root_values(self, pruned=True):
        assert pruned is False
        k = self.owner.komi
        return dict(lead=self.owner.lead(k), win_loss=self.owner.wl(k))


class ScriptedSearcher:
    """Searcher stand-in: White's lead and win-loss are given functions of komi. Records the
    komi and params of every search begun."""

    def __init__(self, wl, lead, params=None):
        self.wl, self.lead = wl, lead
        self.params = params if params is not None else SearchParams.for_selfplay()
        self.komi = None
        self.searched = []
        self.core = _ScriptedCore(self)

    def set_params(self, params):
        self.params = params

    def set_position(self, history):
        self.komi = history.rules.komi

    def clear_tree(self):
        pass

    def begin(self, max_visits=None):
        self.searched.append((self.komi, self.params, max_visits))
        return self.core


def drive(coroutine, batches=None):
    """Run a coroutine whose searches finish at once; `batches` collects each yielded list."""
    try:
        while True:
            yielded = next(coroutine)
            if batches is not None:
                batches.append(list(yielded))
    except StopIteration as stop:
        return stop.value


def smooth(centre):
    return (lambda k: math.tanh((k - centre) / 4.0)), (lambda k: k - centre)


def empty_history(rules_name="chinese", komi=7.0, size=9):
    return History(parse_rules(rules_name).with_komi(komi), size)


def test_fit_searches_the_komis_katago_would_and_interpolates():
    wl, lead = smooth(10.3)
    s = ScriptedSearcher(wl, lead)
    h = empty_history()
    naive = 10.0 + 0.5 * (0 - wl(10.0)) / (wl(10.5) - wl(10.0))
    results = [drive(K.fair_komi(h, s, 20, np.random.default_rng(seed))) for seed in range(2000)]
    # One lead jump 7 -> 10.5, bracket [9.5, 10.5], bisect at 10, each komi searched once.
    assert [k for k, _, _ in s.searched[:4]] == [7.0, 10.5, 9.5, 10.0]
    assert len(s.searched) == 4 * 2000
    assert set(results) == {10.0, 10.5}
    assert abs(np.mean(results) - naive) < 0.02       # unbiased stochastic rounding
    assert h.rules.komi == 7.0


def test_fit_takes_capped_lead_jumps_for_lopsided_positions():
    wl, lead = smooth(50.3)
    s = ScriptedSearcher(wl, lead)
    fk = drive(K.fair_komi(empty_history(), s, 20, np.random.default_rng(0)))
    assert fk in (50.0, 50.5)
    assert [k for k, _, _ in s.searched[:3]] == [7.0, 50.5, 49.5]


def test_fit_reverts_half_a_jump_that_made_things_worse():
    s = ScriptedSearcher(lambda k: math.tanh((k - 30.0) / 4.0),
                         lambda k: -40.0 if k < 40 else -50.0)
    fk = drive(K.fair_komi(empty_history(), s, 20, np.random.default_rng(0)))
    # 7 -> 47 (lead got worse by > 5 points) -> back to 27, bracket up by 1, 2, 4, bisect.
    assert [k for k, _, _ in s.searched] == [7.0, 47.0, 27.0, 28.0, 29.0, 31.0, 30.0, 29.5]
    assert fk == 30.0


def test_fit_uses_noiseless_params_and_restores_the_callers():
    params = SearchParams.for_selfplay(numSearchThreads=4)
    wl, lead = smooth(8.0)
    s = ScriptedSearcher(wl, lead, params)
    drive(K.fair_komi(empty_history(), s, 20, np.random.default_rng(0),
                      playoutDoublingAdvantage=1.5, playoutDoublingAdvantagePla="WHITE"))
    assert s.params is params
    for _, p, visits in s.searched:
        assert visits == 20 and p.maxVisits == 20 and p.maxPlayouts == 20
        assert not p.rootNoiseEnabled
        assert p.rootPolicyTemperature == p.rootPolicyTemperatureEarly == 1.0
        assert p.rootFpuReductionMax == params.fpuReductionMax
        assert p.rootDesiredPerChildVisitsCoeff == 0.0 and p.rootNumSymmetriesToSample == 1
        assert p.numSearchThreads == 3                 # one per 8 visits, rounded up
        assert p.playoutDoublingAdvantage == 1.5 and p.playoutDoublingAdvantagePla == "WHITE"
        assert p.cpuctExploration == params.cpuctExploration


def test_fit_restores_params_when_abandoned():
    params = SearchParams.for_selfplay()
    wl, lead = smooth(8.0)
    s = ScriptedSearcher(wl, lead, params)
    co = K.fair_komi(empty_history(), s, 20, np.random.default_rng(0))
    next(co)
    assert s.params != params
    co.close()
    assert s.params is params


def test_fit_averages_two_distinct_searchers_searched_together():
    wa, la = smooth(9.0)
    wb, lb = smooth(11.0)
    a, b = ScriptedSearcher(wa, la), ScriptedSearcher(wb, lb)
    batches = []
    naive = drive(K.estimate_lead(empty_history("japanese", komi=7.0), [a, b], 6),
                  batches)
    assert all(len(batch) == 2 for batch in batches)
    assert abs(naive - (7.0 - 10.0)) < 1e-9           # symmetric average crosses at 10
    same = ScriptedSearcher(wa, la)
    batches = []
    drive(K.estimate_lead(empty_history("japanese"), [same, same], 6), batches)
    assert all(len(batch) == 1 for batch in batches)


def test_fit_with_two_nets_searches_both_together_and_restores_both():
    # A gating game between two nets: each komi is searched by both bots at once and their
    # values averaged (KataGo's botB and botW); the averaged win-loss crosses zero at 10.
    wa, la = smooth(9.0)
    wb, lb = smooth(11.0)
    pa, pb = SearchParams(numSearchThreads=2), SearchParams(numSearchThreads=4)
    a, b = ScriptedSearcher(wa, la, pa), ScriptedSearcher(wb, lb, pb)
    batches = []
    fk = drive(K.fair_komi(empty_history(), [a, b], 100, np.random.default_rng(0)), batches)
    assert fk == 10.0
    assert all(len(batch) == 2 for batch in batches)
    assert [k for k, _, _ in a.searched] == [k for k, _, _ in b.searched] == [7.0, 10.0, 9.0, 9.5]
    assert a.params is pa and b.params is pb
    assert {p.maxVisits for _, p, _ in a.searched + b.searched} == {100}


def test_fit_needs_a_net():
    with pytest.raises(K.KomiError, match="at least one net"):
        next(K.fair_komi(empty_history(), [], 20, np.random.default_rng(0)))


def test_noiseless_params_are_katagos():
    params = SearchParams.for_gtp(numSearchThreads=16, rootNoiseEnabled=True,
                                  rootPolicyTemperature=1.3, rootFpuReductionMax=0.0,
                                  rootNumSymmetriesToSample=8, searchFactorAfterOnePass=0.5)
    p = K.noiseless_params(params, 30)
    assert (p.maxVisits, p.maxPlayouts, p.numSearchThreads) == (30, 30, 4)
    assert not p.rootNoiseEnabled and p.rootPolicyTemperature == 1.0
    assert p.rootFpuReductionMax == params.fpuReductionMax
    assert p.rootFpuLossProp == params.fpuLossProp
    assert p.rootNumSymmetriesToSample == 1 and p.rootDesiredPerChildVisitsCoeff == 0.0
    assert p.searchFactorAfterOnePass == p.searchFactorAfterTwoPass == 1.0
    assert p.conservativePass and p.cpuctExploration == params.cpuctExploration
    assert K.noiseless_params(SearchParams(numSearchThreads=2), 500).numSearchThreads == 2


def test_lead_without_smoothing_for_territory_scoring():
    wl, lead = smooth(10.3)
    s = ScriptedSearcher(wl, lead)
    naive = 10.0 + 0.5 * (0 - wl(10.0)) / (wl(10.5) - wl(10.0))
    got = drive(K.estimate_lead(empty_history("japanese", komi=7.0), s, 6))
    assert got == pytest.approx(7.0 - naive, abs=1e-12)
    assert {k for k, _, _ in s.searched} == {7.0, 10.5, 9.5, 10.0}


def test_lead_smooths_area_parity():
    # Area scoring without the button moves results in 2-point steps, so the searched win-loss
    # wobbles with the parity of the komi. Averaging values one point apart cancels a period-2
    # wobble exactly, leaving the underlying crossing; territory scoring takes the naive fit.
    def wl(k):
        return 0.05 * (k - 10.3) + 0.03 * (1 if math.floor(k) % 2 == 0 else -1)
    s = ScriptedSearcher(wl, lambda k: k - 10.3)
    lead = drive(K.estimate_lead(empty_history("chinese", komi=7.0), s, 6))
    assert lead == pytest.approx(7.0 - 10.3, abs=1e-9)
    assert {k for k, _, _ in s.searched} == {7.0, 10.5, 9.5, 10.0, 9.0}
    t = ScriptedSearcher(wl, lambda k: k - 10.3)
    territory = drive(K.estimate_lead(empty_history("japanese", komi=7.0), t, 6))
    naive = 9.5 + 0.5 * (0 - wl(9.5)) / (wl(10.0) - wl(9.5))
    assert territory == pytest.approx(7.0 - naive, abs=1e-9)
    assert abs(territory - lead) > 0.3


# ------------------------------------------------------------------------------------------------
# The fit with the real g170 b6c96 net on 9x9


@pytest.fixture(scope="module")
def evaluator():
    return Evaluator.from_file(MODEL)


def game_searcher(evaluator, seed=1):
    return Searcher(evaluator, SearchParams.for_selfplay(maxVisits=600), seed=seed)


def searched_win_loss(evaluator, history, komi, visits=20):
    s = Searcher(evaluator, K.noiseless_params(SearchParams.for_selfplay(), visits), seed=5)
    h = history.copy()
    h.set_rules(h.rules.with_komi(komi))
    s.set_position(h)
    s.search(max_visits=visits)
    return s.core.root_values(False)["win_loss"]


def black_three_free_moves(komi=7.0):
    h = empty_history(komi=komi)
    for move, color in [((4, 4), BLACK), (None, WHITE), ((2, 6), BLACK), (None, WHITE),
                        ((6, 2), BLACK), (None, WHITE)]:
        h.play(move, color)
    return h


def test_real_net_fair_komi_of_empty_9x9_balances_the_game(evaluator):
    h = empty_history(komi=7.0)
    s = game_searcher(evaluator)
    before = s.params
    fk = run_sync(K.fair_komi(h, s, 20, np.random.default_rng(0)), evaluator, pos_len=9)
    assert 5.5 <= fk <= 8.5 and fk * 2 == math.floor(fk * 2)
    assert h.rules.komi == 7.0 and s.params == before
    at = abs(searched_win_loss(evaluator, h, fk))
    assert at < 0.1
    assert at < abs(searched_win_loss(evaluator, h, fk - 3.0))
    assert at < abs(searched_win_loss(evaluator, h, fk + 3.0))


def test_real_net_black_ahead_needs_much_more_komi(evaluator):
    s = game_searcher(evaluator)
    even = run_sync(K.fair_komi(empty_history(), s, 20, np.random.default_rng(0)),
                    evaluator, pos_len=9)
    h = black_three_free_moves()
    fk = run_sync(K.fair_komi(h, s, 20, np.random.default_rng(0)), evaluator, pos_len=9)
    assert fk > even + 20
    at = abs(searched_win_loss(evaluator, h, fk))
    assert at < 0.15 and at < abs(searched_win_loss(evaluator, h, fk - 4.0))


def test_real_net_lead_agrees_with_fair_komi(evaluator):
    h = black_three_free_moves(komi=7.0)
    fits = [run_sync(K.fair_komi(h, game_searcher(evaluator, seed=2), 20, np.random.default_rng(r)),
                     evaluator, pos_len=9) for r in range(2)]
    lead = run_sync(K.estimate_lead(h, game_searcher(evaluator, seed=2), 20), evaluator, pos_len=9)
    # White's lead is negative (Black ahead) and is the komi minus the fair komi.
    assert lead < -20
    assert all(abs(lead - (7.0 - fk)) <= 1.0 for fk in fits)
    # The selfplay setting, 6 visits, is noisier but must agree in size.
    lead6 = run_sync(K.estimate_lead(h, game_searcher(evaluator), 6), evaluator, pos_len=9)
    assert abs(lead6 - lead) < 8.0
    assert h.rules.komi == 7.0
