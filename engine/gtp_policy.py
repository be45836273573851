"""The game-level decisions genmove makes around its search, as KataGo's GTP engine makes them.

All pure functions of the game and of the root win/loss values of this engine's recent searches
(White's view, in [-1, 1], one per genmove/kata-search since the game was last set up):

* resignation (`allowResignation`, `resignThreshold`, `resignConsecTurns`,
  `resignMinScoreDifference`, `resignMinMovesPerBoardArea`): resign only after the last
  `resignConsecTurns` searches all had the mover below the threshold, never in a close game, and in
  a handicap game only once White is clearly behind the schedule on which it should catch up;
* playing faster when winning (`searchFactorWhenWinning`, `searchFactorWhenWinningThreshold`):
  the search budget shrinks linearly as the least-winning of the last three values rises above
  the threshold;
* the dynamic playout doubling advantage for handicap games
  (`dynamicPlayoutDoublingAdvantageCapPerOppLead`): the weaker-by-handicap side's PDA is stepped
  by 1/8 to keep its win/loss value between -0.9 and -0.5;
* how big a handicap the game is, from the stones and komi (7 points per stone is fair).
"""
from __future__ import annotations

import math
from typing import Sequence

from goloop.common.go.rules import ScoringRule, WhiteHandicapBonus

BLACK, WHITE = 1, 2


def num_handicap_stones(history) -> int:
    """KataGo's count with assumeMultipleStartingBlackMovesAreHandicap: black stones of the initial
    position (none if it has a white stone) plus the opening run of black moves, where an isolated
    white pass does not end the run but two white moves in a row cancel it."""
    moves = history.moves
    lead = 0
    for i, (color, move) in enumerate(moves):
        if color != BLACK:
            if i + 1 < len(moves) and moves[i + 1][0] != BLACK:
                lead = 0
                break
            if move is None:
                continue
            break
        if move is not None:
            lead += 1
    stones = history.initial_board.stones()
    if (stones == WHITE).any():
        return 0
    n = int((stones == BLACK).sum()) + lead
    return n if n >= 2 else 0


def initial_black_advantage(history) -> float:
    """Points Black started ahead by: 7 - komi, plus 15 (area) or 14 (territory) per handicap stone
    beyond the first, less White's handicap bonus."""
    rules = history.rules
    n = num_handicap_stones(history)
    if n <= 1:
        return 7.0 - rules.komi
    stone_value = 15.0 if rules.scoring_rule == ScoringRule.AREA else 14.0
    bonus = {WhiteHandicapBonus.ZERO: 0.0, WhiteHandicapBonus.N_MINUS_ONE: n - 1.0,
             WhiteHandicapBonus.N: float(n)}[rules.white_handicap_bonus]
    return stone_value * (n - 1) + (7.0 - rules.komi - bonus)


def board_size_scaling(x_size: int, y_size: int) -> float:
    return (19.0 * 19.0 / (x_size * y_size)) ** 0.75


def handicap_threshold_points(x_size: int, y_size: int) -> float:
    """An initial advantage above this many points makes a game a handicap game."""
    return max(4.0 / board_size_scaling(x_size, y_size), 2.0)


def should_resign(history, pla: int, recent_winloss: Sequence[float], lead: float,
                  threshold: float, consec_turns: int, min_score_difference: float,
                  min_moves_per_board_area: float) -> bool:
    """Whether `pla` resigns now; `lead` is the root's White lead of the search just made and the
    last value of `recent_winloss` is that search's."""
    xs, ys = history.x_size, history.y_size
    area = xs * ys
    advantage = initial_black_advantage(history)
    turns = len(history.moves)
    min_turn = 0
    no_resign_when_white_lead_above = float(area)
    if advantage > 0.9 and pla == WHITE:
        min_turn = 1 + area // 5
        to_catch_up = max(0.60 * area - min_turn, 1.0)
        spent = min(max(turns - min_turn, 0.0), to_catch_up)
        resign_score = -advantage * ((to_catch_up - spent) / to_catch_up)
        resign_score -= 5.0
        resign_score -= advantage * 0.15
        no_resign_when_white_lead_above = resign_score
    if min_turn < min_moves_per_board_area * area:
        min_turn = int(min_moves_per_board_area * area)
    if turns < min_turn:
        return False
    if pla == WHITE and lead > no_resign_when_white_lead_above:
        return False
    if consec_turns > len(recent_winloss):
        return False
    if (pla == WHITE and lead > -min_score_difference) or (pla == BLACK and lead < min_score_difference):
        return False
    for value in list(recent_winloss)[len(recent_winloss) - consec_turns:]:
        loser = WHITE if value < threshold else BLACK if value > -threshold else 0
        if loser != pla:
            return False
    return True


def search_factor_when_winning(threshold: float, factor: float, win_loss_utility_factor: float,
                               recent_winloss: Sequence[float], pla: int) -> float:
    """The budget multiplier for `pla` (1.0 unless the last 3 searches all had it winning by more
    than `threshold`; then it falls linearly to `factor` at a sure win)."""
    if len(recent_winloss) < 3 or win_loss_utility_factor - threshold <= 1e-10:
        return 1.0
    least = -win_loss_utility_factor if pla == BLACK else win_loss_utility_factor
    for value in recent_winloss[-3:]:
        if pla == BLACK and value > least:
            least = value
        if pla == WHITE and value < least:
            least = value
    excess = -threshold - least if pla == BLACK else least - threshold
    if excess <= 0:
        return 1.0
    weight = excess / (win_loss_utility_factor - threshold)
    return 1.0 + weight * (factor - 1.0)


def pass_search_factor(history, after_one_pass: float, after_two_passes: float) -> float:
    """KataGo's search budget cut after passes: the last move a pass (and the one before the
    opponent's, too) means the game is likely ending."""
    moves = history.moves
    if moves and moves[-1][1] is None:
        if len(moves) >= 3 and moves[-3][1] is None:
            return after_two_passes
        return after_one_pass
    return 1.0


def update_dynamic_pda(history, cap_per_opp_lead: float, recent_winloss: Sequence[float],
                       current_for_white: float) -> float:
    """The playout doubling advantage for White to use next (Black uses its negation)."""
    if cap_per_opp_lead <= 0.0:
        return 0.0
    xs, ys = history.x_size, history.y_size
    scaling = board_size_scaling(xs, ys)
    start_points = handicap_threshold_points(xs, ys)
    black_advantage = initial_black_advantage(history)
    disadvantaged = WHITE if black_advantage >= 0 else BLACK
    advantage = abs(black_advantage)
    if advantage < start_points or xs <= 7 or ys <= 7:
        return 0.0
    pda = current_for_white if disadvantaged == WHITE else -current_for_white
    cap = min(2.75, cap_per_opp_lead * (advantage - start_points) * scaling)
    cap = _c_round(cap / 0.125) * 0.125
    no_white_stones = not (history.board.stones() == WHITE).any()
    if not recent_winloss or no_white_stones:
        pda = cap
    else:
        value = recent_winloss[-1]
        if disadvantaged == BLACK:
            value = -value
        if value < -0.9:
            pda += 0.125
        elif value > -0.5:
            pda -= 0.125
        pda = min(max(pda, 0.0), cap)
    return pda if disadvantaged == WHITE else -pda


def _c_round(x: float) -> float:
    return math.copysign(math.floor(abs(x) + 0.5), x)
