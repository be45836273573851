"""Komi arithmetic every game-playing daemon shares (KataGo v1.17.2 `PlayUtils` komi helpers).

Only komis that are multiples of half a point, within the board area plus 20 of zero, are
meant for the rules and the net's komi input (`round_and_clip_komi`). A game whose komi is
noised (selfplay always, the gatekeeper with komiStdev) draws it around a centre with
`noised_komi` (KataGo's setKomiWithNoise); how selfplay picks the centre and the noise of each
game lives in selfplay/komi.py. See shared/spec/selfplay-and-search.md §2 "Komi".

Randomness uses numpy, so draws never reproduce KataGo's bit stream; the distributions and
the order of the draws are KataGo's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# KataGo's NNPos::KOMI_CLIP_RADIUS: komi is kept within boardArea + this of zero.
KOMI_CLIP_RADIUS = 20.0


class KomiError(ValueError):
    """A komi setting that cannot be used (negative stdev, probability outside [0, 1], ...)."""


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


@dataclass(frozen=True)
class KomiNoise:
    """The per-game komi settings every later re-noising reuses (KataGo's ExtraBlackAndKomi,
    komi part): a selfplay game re-draws its komi several times (after fitting it, for the
    policy-init opening) but always with the stdev and integer allowance drawn once at the
    start."""

    mean: float
    """Centre of the noise: komiMean, or the fair komi once a fit has replaced it."""
    stdev: float
    """Stdev of the added noise in points, already scaled by sqrt(boardArea)/19."""
    allow_integer: bool
    """Whether an integer komi (so a possible draw) may stand; otherwise it is moved by ±0.5."""
    interp_zero: bool = False
    """Scale the noised komi by U[0,1) (handicap/SGF games with *KomiInterpZeroProb): games
    between no komi and full komi."""


def noised_komi(noise: KomiNoise, rng: np.random.Generator, x_size: int, y_size: int) -> float:
    """A komi drawn around `noise.mean` (KataGo's setKomiWithNoise).

    Rounding to a half-integer is stochastic and linear in the remainder so that the rounding
    adds no bias. When integers are not allowed an integer result moves half a point either way
    by a fair coin, after the clip (so it may end 0.5 beyond the clip radius, as in KataGo).
    Nothing is drawn for a half-integer centre without stdev, interpolation or integer ban.
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
