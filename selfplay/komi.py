"""How a selfplay game gets its komi (KataGo v1.17.2 `PlayUtils` komi helpers, `Play::runGame`).

Why komi is randomised at all: a net that only ever sees one komi learns nothing about how
komi moves the result, and its score head gets no signal away from an even game. KataGo
therefore centres each game's komi on the value its own net thinks fair (for the empty board,
or for the actual start position of forks/handicap/SGF games), adds noise whose size scales
with the board, and now and then draws a far-off komi. See shared/spec/selfplay-and-search.md
§2 "Komi".

Here are selfplay's own draws (numpy Generator in, komi settings out): the per-game noise
settings, the fancyKomiVarying and net-less re-centring, the make-fair decision. What every
game-playing daemon shares is in common/play: the komi arithmetic and `noised_komi`
(common/play/komi.py), and the searches that find the fair komi and the lead
(common/play/fairkomi.py).

Randomness uses numpy, so draws never reproduce KataGo's bit stream; the distributions and
the order of decisions are KataGo's.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from goloop.common.play.komi import KomiError, KomiNoise, round_and_clip_komi, truncated_normal


def _check_prob(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise KomiError(f"{name} must be within [0, 1], got {p}")


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
