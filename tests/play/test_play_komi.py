"""goloop.common.play.komi: KataGo's komi rounding and clip and its noised komi
(setKomiWithNoise), shared by selfplay and the gatekeeper; the noise is checked statistically
with seeded generators.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from goloop.common.play import komi as K


def test_round_and_clip_komi_rounds_halves_away_from_zero_and_clips():
    assert K.round_and_clip_komi(0.25, 9, 9) == 0.5
    assert K.round_and_clip_komi(-0.25, 9, 9) == -0.5
    assert K.round_and_clip_komi(0.75, 9, 9) == 1.0
    assert K.round_and_clip_komi(6.7, 9, 9) == 6.5
    assert K.round_and_clip_komi(1000.0, 9, 9) == 101.0
    assert K.round_and_clip_komi(-1000.0, 19, 19) == -381.0


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


def test_truncated_normal_cuts_the_tails_and_rejects_tiny_bounds():
    rng = np.random.default_rng(12)
    d = np.array([K.truncated_normal(rng, 1.0) for _ in range(20000)])
    assert d.min() >= -1.0 and d.max() <= 1.0
    # N(0,1) cut at ±1 has variance 1 - 2 phi(1) / (2 Phi(1) - 1) = 0.2911
    assert abs(d.var() - 0.2911) < 0.01
    with pytest.raises(K.KomiError, match="bound"):
        K.truncated_normal(rng, 0.05)


def test_gatekeeper_noise_draws_nothing_at_a_half_integer_without_stdev():
    # A gating game with komiStdev = 0 keeps its fitted komi and its random stream untouched.
    rng = np.random.default_rng(13)
    state = rng.bit_generator.state
    assert K.noised_komi(K.KomiNoise(6.5, 0.0, True), rng, 9, 9) == 6.5
    assert rng.bit_generator.state == state
