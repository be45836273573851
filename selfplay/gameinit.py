"""What a new selfplay game looks like before its first move (KataGo's GameInitializer).

Pure draws from a numpy Generator and the config: board size and rules (common/play/gamestart.py,
shared with the gatekeeper), then selfplay's own: the per-game utility noise, handicap stones,
unequal visits ("asymmetric playouts") and which komi procedure the game gets. The searches
that act on these choices (fair komi, opening moves) live in game.py.

Why so much randomness: the net must learn every rule set, board size, komi and handicap a
user may ask for, and learn them from one run; each game draws its own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from goloop.common.go.rules import Rules
from goloop.common.play.gamestart import draw_board_size, draw_rules
from goloop.common.play.komi import KomiNoise, truncated_normal
from goloop.selfplay import komi

EMPTY, BLACK, WHITE = 0, 1, 2


def draw_utilities(cfg, rng: np.random.Generator) -> Tuple[float, float]:
    """(drawEquivalentWinsForWhite, noResultUtilityForWhite) of one game, noised around the
    configured values so the net learns their inputs rather than one fixed convention."""
    draw = cfg.drawEquivalentWinsForWhite
    if cfg.drawRandRadius > 1e-30:
        mean = draw
        while True:
            draw = mean + cfg.drawRandRadius * (rng.random() * 2 - 1)
            if 0.0 <= draw <= 1.0:
                break
    no_result = cfg.noResultUtilityForWhite
    if cfg.noResultStdev > 1e-30:
        mean = no_result
        while True:
            no_result = mean + cfg.noResultStdev * truncated_normal(rng, 3.0)
            if -1.0 <= no_result <= 1.0:
                break
    return float(draw), float(no_result)


def default_max_extra_black(sqrt_board_area: float) -> int:
    """Most handicap stones KataGo places for a board size (none up to 10x10)."""
    if sqrt_board_area <= 10.00001:
        return 0
    if sqrt_board_area <= 14.00001:
        return 1
    if sqrt_board_area <= 16.00001:
        return 2
    if sqrt_board_area <= 17.00001:
        return 3
    if sqrt_board_area <= 18.00001:
        return 4
    return 5


@dataclass
class GameStart:
    """The choices of one new game (KataGo's ExtraBlackAndKomi and OtherGameProperties)."""

    x_size: int
    y_size: int
    rules: Rules
    draw_equivalent_wins_for_white: float
    no_result_utility_for_white: float
    komi: KomiNoise                      # komi centre and noise, redrawn after each fit
    extra_black: int = 0                 # handicap stones placed from the policy before move 1
    make_fair: bool = False              # fit komi to the actual start position
    make_fair_for_empty_board: bool = False  # fit komi to the empty board (komiAuto)
    pda_pla: int = EMPTY                 # favoured player of unequal visits, or EMPTY
    pda: float = 0.0                     # log2 of the visit ratio
    end_if_all_pass_alive: bool = True   # 98% of games end once the whole board is settled
    fork: Optional[object] = None        # a queued History to start from (fork games)
    from_seki_queue: bool = False        # that History came from the seki fork queue


def draw_game_start(cfg, rng: np.random.Generator, fork_history=None) -> GameStart:
    """Everything random about a new game except what needs the net. `fork_history`: start
    from that queued position (a fork) instead of an empty board."""
    draw, no_result = draw_utilities(cfg, rng)
    if fork_history is not None:
        xs, ys = fork_history.x_size, fork_history.y_size
        rules = fork_history.rules
    else:
        xs, ys = draw_board_size(cfg, rng)
        rules = draw_rules(cfg, rng)
    extra_black = 0
    if fork_history is None:
        max_extra = default_max_extra_black(math.sqrt(xs * ys))
        if max_extra > 0 and rng.random() < cfg.handicapProb:
            extra_black = 1 + int(rng.integers(max_extra))
    noise = komi.choose_komi_noise(
        rng, x_size=xs, y_size=ys, komiMean=rules.komi if fork_history is not None else cfg.komiMean,
        komiStdev=cfg.komiStdev, komiBigStdevProb=cfg.komiBigStdevProb, komiBigStdev=cfg.komiBigStdev,
        komiBiggerStdevProb=cfg.komiBiggerStdevProb, komiBiggerStdev=cfg.komiBiggerStdev,
        komiAllowIntegerProb=cfg.komiAllowIntegerProb)
    start = GameStart(xs, ys, rules, draw, no_result, extra_black=extra_black, komi=noise,
                      fork=fork_history, end_if_all_pass_alive=bool(rng.random() < 0.98))
    if fork_history is None:
        asym_prob = cfg.handicapAsymmetricPlayoutProb if extra_black > 0 else cfg.normalAsymmetricPlayoutProb
        if asym_prob > 0 and rng.random() < asym_prob:
            start.pda = float(rng.random() * math.log(cfg.maxAsymmetricRatio) / math.log(2.0))
            start.pda_pla = WHITE if (extra_black > 0 or rng.random() < 0.5) else BLACK
    start.make_fair, start.make_fair_for_empty_board = komi.choose_komi_fairing(
        rng, komiAuto=cfg.komiAuto, start="fork" if fork_history is not None else "fresh",
        extra_black=extra_black, asymmetric=start.pda_pla != EMPTY,
        handicapCompensateKomiProb=cfg.handicapCompensateKomiProb,
        forkCompensateKomiProb=cfg.forkCompensateKomiProb,
        minAsymmetricCompensateKomiProb=cfg.minAsymmetricCompensateKomiProb)
    return start
