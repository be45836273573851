"""Scoring with the net, as KataGo's GTP does for `final_score` and `final_status_list`.

Unless the game is over under rules whose end is exact (a finished territory game, or area
scoring without friendlyPassOk), KataGo does not count the board: it asks the search.

* final_score: the lead is found as the komi that makes the game even. Searches of a fixed number
  of visits at different komis (cached per komi) first shift the komi by the predicted lead a few
  times, then bisect the win/loss value's sign change over a window of half-point komis and
  interpolate. Under area scoring without a button, where only every other half point changes
  the result, the two neighbouring komis are averaged to smooth the 2-point granularity. The
  reply rounds the lead to the game's result granularity (an integer, or a half-integer).
* final_status_list: one search's tree-averaged ownership; a chain is dead if its average
  ownership is below 0.2 for its own colour, or any of its stones is below -0.6.

Both are pure here: the search is passed in as a function, so the numerical procedure can be
checked without a net.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from goloop.common.go.rules import ScoringRule

BLACK, WHITE = 1, 2
KOMI_CLIP_RADIUS = 20.0  # KataGo's NNPos::KOMI_CLIP_RADIUS
ALIVE_AVERAGE = 0.2
ALIVE_WORST = -0.6

# (lead, winloss) of a search at a komi, both White's view.
KomiEval = Callable[[float], tuple[float, float]]


def c_round(x: float) -> float:
    """C's round(): half away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def round_and_clip_komi(unrounded: float, x_size: int, y_size: int) -> float:
    """The nearest half-integer komi, clipped to what the net can be told."""
    limit = KOMI_CLIP_RADIUS + x_size * y_size
    unrounded = min(max(unrounded, -limit), limit)
    return float(np.float32(0.5 * c_round(2.0 * unrounded)))


class _KomiSearch:
    """The searches at each komi, each made once."""

    def __init__(self, evaluate: KomiEval, x_size: int, y_size: int) -> None:
        self.evaluate = evaluate
        self.x_size, self.y_size = x_size, y_size
        self.cache: dict[float, tuple[float, float]] = {}

    def at(self, komi: float) -> tuple[float, float]:
        komi = round_and_clip_komi(komi, self.x_size, self.y_size)
        if komi not in self.cache:
            self.cache[komi] = self.evaluate(komi)
        return self.cache[komi]

    def winloss(self, komi: float) -> float:
        return self.at(komi)[1]


def _naive_even_komi(search: _KomiSearch, komi: float) -> float:
    """The komi at which White's win/loss value crosses zero (KataGo's getNaiveEvenKomiHelper)."""
    last_shift = last_winloss = last_lead = 0.0
    for i in range(3):
        lead, winloss = search.at(komi)
        if i > 0 and ((last_lead > 0 and lead > last_lead + 5 and winloss < 0.75)
                      or (last_lead < 0 and lead < last_lead - 5 and winloss > -0.75)
                      or (last_winloss > 0 and winloss > last_winloss + 0.1)
                      or (last_winloss < 0 and winloss < last_winloss - 0.1)):
            # The last shift made things worse: take half of it back and stop.
            komi = round_and_clip_komi(komi - last_shift * 0.5, search.x_size, search.y_size)
            break
        last_lead, last_winloss = lead, winloss
        shift = -lead
        if i > 0 and abs(shift) > abs(last_shift):
            shift = math.copysign(abs(last_shift), shift) if shift != 0 else 0.0
        last_shift = shift
        if (shift > 0 and winloss > 0) or (shift < 0 and lead < 0):
            break
        komi = round_and_clip_komi(komi + shift, search.x_size, search.y_size)
        if abs(shift) < 16.0:
            break

    def winloss_at(delta: float) -> float:
        return search.winloss(komi + delta)

    zero = winloss_at(0.0)
    if zero < 0:
        lower, lower_wl = 0.0, zero
        for i in range(6):
            upper = c_round(2.0 ** i)
            upper_wl = winloss_at(upper)
            if upper_wl >= 0:
                break
    else:
        upper, upper_wl = 0.0, zero
        for i in range(6):
            lower = -c_round(2.0 ** i)
            lower_wl = winloss_at(lower)
            if lower_wl <= 0:
                break
    while upper - lower > 0.50001:
        mid = 0.5 * (lower + upper)
        mid_wl = winloss_at(mid)
        if mid_wl < 0:
            lower, lower_wl = mid, mid_wl
        else:
            upper, upper_wl = mid, mid_wl
    if lower_wl >= upper_wl - 1e-30:
        delta = 0.5 * (lower + upper)
    elif upper_wl <= 0:
        delta = upper
    elif lower_wl >= 0:
        delta = lower
    else:
        delta = lower + (upper - lower) * (0 - lower_wl) / (upper_wl - lower_wl)
    return komi + delta


def compute_lead(evaluate: KomiEval, komi: float, x_size: int, y_size: int,
                 coarse_granularity: bool) -> float:
    """White's lead in points: komi minus the even komi (KataGo's PlayUtils::computeLead).

    `coarse_granularity` is area scoring without a button, where the result only changes every
    other half point of komi, so the crossing is averaged over neighbouring komis."""
    search = _KomiSearch(evaluate, x_size, y_size)
    naive = _naive_even_komi(search, komi)
    if not coarse_granularity or naive == c_round(naive):
        return float(np.float32(komi - naive))
    lower = math.floor(naive * 2.0) * 0.5
    upper = lower + 0.5
    lower_wl = 0.5 * (search.winloss(upper) + search.winloss(lower - 0.5))
    upper_wl = 0.5 * (search.winloss(upper + 0.5) + search.winloss(lower))
    if lower_wl >= upper_wl - 1e-30:
        result = 0.5 * (lower + upper)
    else:
        result = lower + (upper - lower) * (0 - lower_wl) / (upper_wl - lower_wl)
        result = min(max(result, lower - 0.5), upper + 0.5)
    return float(np.float32(komi - result))


def round_lead(lead: float, integer_result: bool) -> float:
    """The lead as a final score: nearest integer, or nearest half-integer (x.5)."""
    return c_round(lead) if integer_result else c_round(lead + 0.5) - 0.5


def alive_from_ownership(board, white_ownership: np.ndarray) -> np.ndarray:
    """(Y, X) bool map: which stones the net's ownership says survive; False on empty points."""
    stones = board.stones()
    ys, xs = stones.shape
    own = np.asarray(white_ownership, dtype=np.float64).reshape(ys, xs)
    alive = np.zeros((ys, xs), dtype=bool)
    solved = np.zeros((ys, xs), dtype=bool)
    for y in range(ys):
        for x in range(xs):
            color = stones[y, x]
            if color == 0 or solved[y, x]:
                continue
            chain = board.chain((x, y))
            values = [own[cy, cx] for cx, cy in chain]
            average = sum(values) / len(values)
            if color == WHITE:
                lives = average > ALIVE_AVERAGE and min(values) > ALIVE_WORST
            else:
                lives = average < -ALIVE_AVERAGE and max(values) < -ALIVE_WORST
            for cx, cy in chain:
                alive[cy, cx] = lives
                solved[cy, cx] = True
    return alive


def exact_end(history) -> bool:
    """Whether the game is over under rules whose end result is exact, so KataGo reports the
    rules' own count and statuses instead of asking the net."""
    rules = history.rules
    return history.is_finished and (
        (rules.scoring_rule == ScoringRule.AREA and not rules.friendly_pass_ok)
        or rules.scoring_rule == ScoringRule.TERRITORY)


def final_score_reply(white_minus_black: float) -> str:
    """`W+3.5`, `B+0.5` or `0`."""
    if white_minus_black > 0:
        return f"W+{white_minus_black:.1f}"
    if white_minus_black < 0:
        return f"B+{-white_minus_black:.1f}"
    return "0"


def coarse_komi_granularity(rules) -> bool:
    """Whether compute_lead should smooth the area-scoring granularity."""
    return rules.scoring_rule == ScoringRule.AREA and not rules.has_button
