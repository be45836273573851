"""How a gating or match game starts (KataGo's GameInitializer and MatchPairer for two bots).

The board size and rules are drawn as for every game KataGo plays (common/play/gamestart.py),
with the komi at komiMean until the game's komi is fitted and noised (arena.py, with
common/play's komi pieces; spec selfplay-and-search.md §2 "Komi" and §8). What is the
gatekeeper's own is which player takes Black in each game: `deal_colours`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np

from goloop.common.go.rules import Rules
from goloop.common.play.gamestart import draw_board_size, draw_rules
from goloop.common.play.komi import round_and_clip_komi


@dataclass(frozen=True)
class GameSetup:
    """What a new game is before any net has looked at it."""

    x_size: int
    y_size: int
    rules: Rules          # komi = komiMean; replaced by the fair komi when komiAuto


def draw_setup(cfg, rng: np.random.Generator) -> GameSetup:
    """Board size, then the rules (KataGo's order of draws); komi starts at komiMean."""
    x, y = draw_board_size(cfg, rng)
    rules = draw_rules(cfg, rng, komi=round_and_clip_komi(cfg.komiMean, x, y))
    return GameSetup(x, y, rules)


def deal_colours(first_black: int, second_black: int, rng: np.random.Generator) -> List[bool]:
    """The order of `first_black` games with the first player as Black and `second_black` with
    the second as Black, dealt like KataGo's MatchPairer: rounds holding one game of each
    pairing, shuffled within the round. True = the first player is Black."""
    out: List[bool] = []
    while first_black > 0 or second_black > 0:
        rnd = ([True] if first_black > 0 else []) + ([False] if second_black > 0 else [])
        first_black -= 1
        second_black -= 1
        if len(rnd) == 2 and rng.random() < 0.5:
            rnd.reverse()
        out.extend(rnd)
    return out
