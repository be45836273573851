"""goloop.selfplay.komi: KataGo's selfplay komi randomisation and komi fitting.

The noise draws are checked statistically with seeded generators. The fitting algorithm is
checked twice: against a scripted stand-in searcher whose win-loss is a known function of komi
(so the exact komis KataGo's adjustKomiToEven would search, and its result, are known), and
with the real g170 b6c96 net on 9x9, whose fair komi must actually balance the game.
"""
from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

from goloop.common.go.history import History
from goloop.common.go.rules import parse_rules
from goloop.common.nn.evaluator import Evaluator
from goloop.common.search.params import SearchParams
from goloop.common.search.searcher import Searcher
from goloop.selfplay import komi as K
from goloop.selfplay.scheduler import run_sync

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
MODEL = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
BLACK, WHITE = 1, 2


# ------------------------------------------------------------------------------------------------
# Pure pieces


def test_round_and_clip_komi_rounds_halves_away_from_zero_and_clips():
    assert K.round_and_clip_komi(0.25, 9, 9) == 0.5
    assert K.round_and_clip_komi(-0.25, 9, 9) == -0.5
    assert K.round_and_clip_komi(0.75, 9, 9) == 1.0
    assert K.round_and_clip_komi(6.7, 9, 9) == 6.5
    assert K.round_and_clip_komi(1000.0, 9, 9) == 101.0
    assert K.round_and_clip_komi(-1000.0, 19, 19) == -381.0


def test_choose_komi_noise_scales_stdev_and_big_fraction():
    rng = np.random.default_rng(1)
    draws = [K.choose_komi_noise(rng, x_size=9, y_size=9, komiMean=7.0, komiStdev=1.0,
                                 komiBigStdevProb=0.06, komiBigStdev=12.0,
                                 komiAllowIntegerProb=0.3) for _ in range(20000)]
    stdevs = np.array([d.stdev for d in draws])
    small, big = 1.0 * 9 / 19, 12.0 * 9 / 19
    assert set(np.round(stdevs, 9)) == {round(small, 9), round(big, 9)}
    assert abs(np.mean(np.isclose(stdevs, big)) - 0.06) < 0.006
    assert abs(np.mean([d.allow_integer for d in draws]) - 0.3) < 0.015
    assert all(d.mean == 7.0 and not d.interp_zero for d in draws)


def test_choose_komi_noise_bigger_stdev_wins_over_big():
    rng = np.random.default_rng(2)
    draws = [K.choose_komi_noise(rng, x_size=19, y_size=19, komiStdev=1.0, komiBigStdevProb=1.0,
                                 komiBigStdev=12.0, komiBiggerStdevProb=0.5, komiBiggerStdev=30.0)
             for _ in range(4000)]
    stdevs = np.array([d.stdev for d in draws])
    assert set(np.round(stdevs, 9)) == {12.0, 30.0}
    assert abs(np.mean(stdevs == 30.0) - 0.5) < 0.03


def test_choose_komi_noise_rejects_bad_settings():
    rng = np.random.default_rng(0)
    with pytest.raises(K.KomiError, match="komiBigStdevProb"):
        K.choose_komi_noise(rng, x_size=9, y_size=9, komiBigStdevProb=1.5)
    with pytest.raises(K.KomiError, match="komiStdev"):
        K.choose_komi_noise(rng, x_size=9, y_size=9, komiStdev=-1.0)


def test_noised_komi_is_unbiased_half_integer_with_truncated_spread():
    rng = np.random.default_rng(3)
    noise = K.KomiNoise(mean=6.3, stdev=2.0, allow_integer=True)
    ks = np.array([K.noised_komi(noise, rng, 19, 19) for _ in range(40000)])
    assert np.all(ks * 2 == np.floor(ks * 2))
    assert abs(ks.mean() - 6.3) < 0.03
    # Normal truncated at ±3 has variance 0.9733; unbiased rounding to 0.5 adds 0.25/6 on average.
    assert abs(ks.std() - math.sqrt(4 * 0.9733 + 0.25 / 6)) < 0.03
    assert ks.min() >= 6.3 - 6.5 and ks.max() <= 6.3 + 6.5
    assert np.any(ks == np.floor(ks))      # integers allowed and occurring


def test_noised_komi_without_stdev_rounds_stochastically():
    rng = np.random.default_rng(4)
    noise = K.KomiNoise(mean=7.2, stdev=0.0, allow_integer=True)
    ks = np.array([K.noised_komi(noise, rng, 9, 9) for _ in range(20000)])
    assert set(ks) == {7.0, 7.5}
    assert abs(np.mean(ks == 7.5) - 0.4) < 0.015


def test_noised_komi_moves_integers_by_half_when_not_allowed():
    rng = np.random.default_rng(5)
    noise = K.KomiNoise(mean=7.0, stdev=0.0, allow_integer=False)
    ks = np.array([K.noised_komi(noise, rng, 9, 9) for _ in range(4000)])
    assert set(ks) == {6.5, 7.5}
    assert abs(np.mean(ks == 7.5) - 0.5) < 0.03


def test_noised_komi_clips_to_area_plus_20():
    rng = np.random.default_rng(6)
    assert {K.noised_komi(K.KomiNoise(500.0, 3.0, True), rng, 9, 9) for _ in range(50)} == {101.0}
    # KataGo shifts a non-allowed integer after the clip, so it can end half a point outside.
    assert {K.noised_komi(K.KomiNoise(-500.0, 0.0, False), rng, 9, 9) for _ in range(200)} \
        == {-101.5, -100.5}


def test_noised_komi_interp_zero_scales_towards_zero():
    rng = np.random.default_rng(7)
    noise = K.KomiNoise(mean=20.0, stdev=0.0, allow_integer=True, interp_zero=True)
    ks = np.array([K.noised_komi(noise, rng, 19, 19) for _ in range(20000)])
    assert ks.min() >= 0.0 and ks.max() <= 20.0
    assert abs(ks.mean() - 10.0) < 0.15


def test_base_komi_ignores_noise():
    assert K.base_komi(K.KomiNoise(6.8, 5.0, False), 9, 9) == 7.0


def test_fancy_komi_mean_spans_between_komis_plus_noise():
    rng = np.random.default_rng(8)
    ks = np.array([K.fancy_komi_mean(rng, 2.0, 12.0, 9, 9) for _ in range(40000)])
    spread = 0.75 * 9
    assert abs(ks.mean() - 7.0) < 0.1
    # Uniform over 10 points plus 6.75 * N(0,1) truncated at ±2.5 (variance 0.9113).
    assert abs(ks.std() - math.sqrt(100 / 12 + spread ** 2 * 0.9113)) < 0.1
    assert ks.min() >= 2.0 - 2.5 * spread and ks.max() <= 12.0 + 2.5 * spread


def test_netless_komi_mean_is_wide_and_centred():
    rng = np.random.default_rng(9)
    ks = np.array([K.netless_komi_mean(rng, 7.5, 19, 19) for _ in range(40000)])
    spread = 1.5 * 19
    assert abs(ks.mean() - 7.5) < 0.4
    assert abs(ks.std() - spread * math.sqrt(0.9113)) < 0.4
    assert ks.min() >= 7.5 - 2.5 * spread and ks.max() <= 7.5 + 2.5 * spread


def test_wants_fancy_komi_fractions():
    rng = np.random.default_rng(10)
    def frac(**kw):
        return np.mean([K.wants_fancy_komi(rng, fancyKomiVarying=True, **kw) for _ in range(8000)])
    assert abs(frac(extra_black=2, is_fork=False) - 0.5) < 0.03
    assert abs(frac(extra_black=0, is_fork=True) - 0.25) < 0.03
    assert frac(extra_black=0, is_fork=False) == 0.0
    state = rng.bit_generator.state
    assert not K.wants_fancy_komi(rng, fancyKomiVarying=False, extra_black=3, is_fork=True)
    assert rng.bit_generator.state == state    # nothing drawn when the option is off


def test_choose_komi_fairing():
    rng = np.random.default_rng(11)
    # komiAuto fresh games without handicap: always the empty-board fit.
    assert {K.choose_komi_fairing(rng, komiAuto=True) for _ in range(50)} == {(False, True)}
    assert {K.choose_komi_fairing(rng, komiAuto=False) for _ in range(50)} == {(False, False)}
    hc = [K.choose_komi_fairing(rng, komiAuto=True, extra_black=2, handicapCompensateKomiProb=0.5)
          for _ in range(4000)]
    assert set(hc) == {(True, False), (False, True)}
    assert abs(np.mean([f for f, _ in hc]) - 0.5) < 0.03
    forks = [K.choose_komi_fairing(rng, komiAuto=True, start="fork", forkCompensateKomiProb=0.8)
             for _ in range(4000)]
    assert not any(e for _, e in forks)
    assert abs(np.mean([f for f, _ in forks]) - 0.8) < 0.03
    # sgf defaults to the fork probability, which defaults to the handicap one.
    sgf = [K.choose_komi_fairing(rng, komiAuto=False, start="sgf", handicapCompensateKomiProb=0.3)
           for _ in range(4000)]
    assert abs(np.mean([f for f, _ in sgf]) - 0.3) < 0.03
    asym = [K.choose_komi_fairing(rng, komiAuto=True, asymmetric=True,
                                  minAsymmetricCompensateKomiProb=0.4)[0] for _ in range(4000)]
    assert abs(np.mean(asym) - 0.4) < 0.03
    with pytest.raises(K.KomiError, match="start"):
        K.choose_komi_fairing(rng, komiAuto=True, start="handicap")


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
    naive = drive(K.estimate_lead(empty_history("japanese", komi=7.0), a, 6, white_searcher=b),
                  batches)
    assert all(len(batch) == 2 for batch in batches)
    assert abs(naive - (7.0 - 10.0)) < 1e-9           # symmetric average crosses at 10
    same = ScriptedSearcher(wa, la)
    batches = []
    drive(K.estimate_lead(empty_history("japanese"), same, 6, white_searcher=same), batches)
    assert all(len(batch) == 1 for batch in batches)


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
