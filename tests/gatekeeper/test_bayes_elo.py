"""The Bayesian Elo fit (gatekeeper/ratings.py) on synthetic results with known ratings."""
from __future__ import annotations

import math

import numpy as np
import pytest

from goloop.gatekeeper.ratings import ELO_PER_NAT, VIRTUAL_DRAW_STDEV_ELO, fit_ratings

TRUE = [0.0, 150.0, 260.0, 400.0, 430.0, 600.0, 700.0, 900.0]
NAMES = ["random"] + [f"net{i}" for i in range(1, len(TRUE))]
CHAIN = {NAMES[i]: (NAMES[i - 1] if i else None) for i in range(len(TRUE))}


def _win_prob(a: float, b: float) -> float:
    return 1.0 / (1.0 + 10.0 ** ((b - a) / 400.0))


def _games(rng, per_link=100, random_pairs=200):
    """Gating-like games between neighbours plus a few between any two nets."""
    games = []
    for k in range(1, len(TRUE)):
        for _ in range(per_link):
            won = rng.random() < _win_prob(TRUE[k], TRUE[k - 1])
            games.append((NAMES[k], NAMES[k - 1], float(won)))
    for _ in range(random_pairs):
        i, j = rng.choice(len(TRUE), 2, replace=False)
        games.append((NAMES[i], NAMES[j], float(rng.random() < _win_prob(TRUE[i], TRUE[j]))))
    return games


def test_known_ratings_are_recovered_within_their_intervals():
    """Over 30 synthetic runs the 95% intervals hold the true ratings about 95% of the time,
    and no estimate is ever wildly off."""
    rng = np.random.default_rng(2024)
    inside = total = 0
    for _ in range(30):
        fit = fit_ratings(_games(rng), CHAIN)
        assert fit["random"].elo == 0.0 and fit["random"].stdev == 0.0       # the anchor
        for name, true in zip(NAMES[1:], TRUE[1:]):
            r = fit[name]
            total += 1
            inside += r.low <= true <= r.high
            assert abs(r.elo - true) < 4.0 * r.stdev
    assert 0.88 <= inside / total <= 0.99, inside / total


def test_intervals_shrink_with_more_games_and_grow_along_the_chain():
    rng = np.random.default_rng(5)
    few = fit_ratings(_games(rng, per_link=40, random_pairs=0), CHAIN)
    many = fit_ratings(_games(rng, per_link=400, random_pairs=0), CHAIN)
    for name in NAMES[1:]:
        assert many[name].stdev < 0.5 * few[name].stdev
    sds = [many[n].stdev for n in NAMES[1:]]
    assert all(b > a for a, b in zip(sds, sds[1:]))       # evidence accumulates from the anchor


def test_the_prior_alone_ties_a_net_to_its_parent():
    """A net without games sits on its parent's rating, one prior width away; the next one
    sqrt(2) widths."""
    games = [("a", "random", 1.0)] * 30 + [("a", "random", 0.0)] * 10
    fit = fit_ratings(games, {"random": None, "a": "random", "b": "a", "c": "b"})
    assert fit["b"].elo == pytest.approx(fit["a"].elo, abs=1e-6)
    assert fit["c"].elo == pytest.approx(fit["a"].elo, abs=1e-6)
    var_a, tau2 = fit["a"].stdev ** 2, VIRTUAL_DRAW_STDEV_ELO ** 2
    assert fit["b"].stdev ** 2 == pytest.approx(var_a + tau2, rel=1e-6)
    assert fit["c"].stdev ** 2 == pytest.approx(var_a + 2 * tau2, rel=1e-6)
    # 30 of 40 against the anchor: near 400 log10(3) = 191 Elo, pulled a little towards 0
    assert 150.0 < fit["a"].elo < 191.0


def test_a_perfect_record_stays_finite_and_draws_count_half():
    fit = fit_ratings([("a", "random", 1.0)] * 20, {"a": "random"})
    assert math.isfinite(fit["a"].elo) and fit["a"].elo > 300.0
    even = fit_ratings([("a", "random", 0.5)] * 50, {"a": "random"})
    assert even["a"].elo == pytest.approx(0.0, abs=1e-6)
    split = fit_ratings([("a", "random", 1.0), ("a", "random", 0.0)] * 25, {"a": "random"})
    assert split["a"].elo == pytest.approx(0.0, abs=1e-6)
    assert split["a"].stdev < fit_ratings([], {"a": "random"})["a"].stdev


def test_an_outside_engine_is_rated_against_the_chain():
    """GNU Go has no parent: only its games place it."""
    rng = np.random.default_rng(9)
    games = _games(rng, per_link=80, random_pairs=0)
    for _ in range(300):
        k = int(rng.integers(len(TRUE)))
        games.append(("gnugo", NAMES[k], float(rng.random() < _win_prob(500.0, TRUE[k]))))
    fit = fit_ratings(games, CHAIN)
    assert fit["gnugo"].parent is None and fit["gnugo"].games == 300
    assert fit["gnugo"].low <= 500.0 <= fit["gnugo"].high
    assert fit["gnugo"].stdev < 60.0


def test_elo_units():
    assert ELO_PER_NAT == pytest.approx(173.7178, abs=1e-4)
    assert VIRTUAL_DRAW_STDEV_ELO == pytest.approx(347.4356, abs=1e-4)
