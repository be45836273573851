"""goloop.selfplay.komi: KataGo's selfplay komi randomisation, checked statistically with seeded
generators. (The komi arithmetic, the noised komi and the komi fit that selfplay shares with
the gatekeeper are tested in tests/play/.)
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from goloop.common.play.komi import KomiNoise
from goloop.selfplay import komi as K


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


def test_base_komi_ignores_noise():
    assert K.base_komi(KomiNoise(6.8, 5.0, False), 9, 9) == 7.0


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
