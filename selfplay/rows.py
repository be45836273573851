"""A finished selfplay game -> training rows, with KataGo's targets (training-data-npz.md §6-§11).

The game loop records each turn (gamedata.py); after the game ends it derives the final outcome
and, with weighting.py, how many copies of each row to write, and hands the record to
`game_rows`, which yields one `TrainingRow` per copy: the position's input features, the targets
of targets.py and the metadata channels below, in KataGo's order (main-line turns, then side
positions). Each copy draws its own history flags and stochastic roundings, as KataGo's
writeGame does. Randomness comes from a numpy Generator; its stream differs from KataGo's Rand,
the distributions do not.

Not implemented because the shipped configs never use them: post-game reanalysis of cheap
searches (channels 64-67 are always 0), hint positions, tree-position recording, SGF metadata.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np

from goloop.common.files.trainingdata import (
    DATA_FORMAT_VERSION,
    NUM_BINARY_CHANNELS,
    NUM_GLOBAL_INPUTS,
    NUM_GLOBAL_TARGETS,
    TrainingRow,
    pack_binary_planes,
)
from goloop.common.go.rules import ScoringRule
from goloop.common.nn.features import encode
from goloop.selfplay.gamedata import (
    WHITE,
    FinishedGame,
    Move,
    NNRawStats,
    QValueTarget,
    RowsError,
    ValueTargets,
    opp,
)
from goloop.selfplay.targets import (
    dummy_score_distribution,
    future_board_target,
    lead_target,
    ownership_targets,
    policy_target_plane,
    qvalue_targets,
    score_distribution,
    scoring_target,
    td_now_factors,
    td_value_target,
    winloss_variance_arrival_time,
)
from goloop.selfplay.weighting import row_copies

FUTURE_BOARD_OFFSETS = (8, 32)     # valueTargetsNCHW channels 2 and 3
HISTORY_KEEP_PROB = 0.98           # chain probability of the precomputed history flags C36-40


# ---------------------------------------------------------------------------------------------
# Metadata channels.

def game_hash_channels(hash0: int, hash1: int) -> Tuple[float, ...]:
    """C41-46: the 128-bit game hash in 22, 22, 20-bit chunks of each word (exact in float32)."""
    out = []
    for h in (hash0, hash1):
        if not 0 <= h < (1 << 64):
            raise RowsError(f"game hash words must be 64-bit unsigned, got {h}")
        out += [float(h & 0x3FFFFF), float((h >> 22) & 0x3FFFFF), float((h >> 44) & 0xFFFFF)]
    return tuple(out)


def history_use_flags(rng: np.random.Generator) -> Tuple[float, ...]:
    """C36-40: whether moves 1..5 ago may be shown, a chain that stops with probability 0.02 per step."""
    flags = []
    keep = True
    for _ in range(5):
        keep = keep and rng.random() < HISTORY_KEEP_PROB
        flags.append(1.0 if keep else 0.0)
    return tuple(flags)


def nets_behind_latest(changed_neural_nets: Sequence[Tuple[str, int]], turn_idx: int) -> int:
    """C50: how many net switches happened after this turn was played (0 = played by the final net)."""
    for i, (_, switch_turn) in enumerate(changed_neural_nets):
        if switch_turn > turn_idx:
            return len(changed_neural_nets) - i
    return 0


# ---------------------------------------------------------------------------------------------
# Whole rows.

@dataclass
class _Position:
    """What one row needs about its position (main line or side position)."""

    history: object
    pla: int
    turn_idx: int
    features: Tuple[np.ndarray, np.ndarray]   # packed binary planes, global inputs
    policy0: Optional[Sequence[Tuple[Move, int]]]
    policy1: Optional[Sequence[Tuple[Move, int]]]
    white_values: Sequence[ValueTargets]
    value_idx: int
    q_values: Sequence[QValueTarget]
    nn_raw: NNRawStats
    surprises: Tuple[float, float, float]     # policy surprise, policy entropy, search entropy
    unreduced_num_visits: int
    nets_behind: int
    is_side: bool
    future: Optional[Tuple[np.ndarray, np.ndarray]]   # boards 8 and 32 turns later (main rows)


def _features(history, pla: int, pos_len: int, game: FinishedGame, pda: float) -> Tuple[np.ndarray, np.ndarray]:
    spatial = np.zeros((1, NUM_BINARY_CHANNELS, pos_len, pos_len), dtype=np.float32)
    glob = np.zeros((1, NUM_GLOBAL_INPUTS), dtype=np.float32)
    encode(history, spatial, glob, 0, next_player=pla,
           draw_equivalent_wins_for_white=game.draw_equivalent_wins_for_white,
           playout_doubling_advantage=pda,
           pass_alive_under_suicide_rules=game.pass_alive_under_suicide_rules)
    return pack_binary_planes(spatial)[0], glob[0]


def _make_row(p: _Position, game: FinishedGame, pos_len: int, rng: np.random.Generator) -> TrainingRow:
    hist = p.history
    pla = p.pla
    x_size, y_size = hist.x_size, hist.y_size
    end = game.end_history
    game_no_result = end.is_finished and end.is_no_result
    g = np.zeros(NUM_GLOBAL_TARGETS, dtype=np.float32)

    g[25] = game.training_weight
    policy = np.stack([policy_target_plane(p.policy0, x_size, y_size, pos_len),
                       policy_target_plane(p.policy1, x_size, y_size, pos_len)])
    g[26] = 0.0 if p.policy0 is None else 1.0
    g[28] = 0.0 if p.policy1 is None else 1.0

    g[0:4] = td_value_target(p.white_values, p.value_idx, pla, 0.0)
    for k, f in enumerate(td_now_factors(x_size * y_size)):
        g[4 + 4 * k:8 + 4 * k] = td_value_target(p.white_values, p.value_idx, pla, f)
    g[16:20] = td_value_target(p.white_values, p.value_idx, pla, 1.0)

    lead = lead_target(p.white_values[p.value_idx], pla)
    if lead is not None and not game_no_result:
        g[21] = lead
        g[29] = 1.0
    g[22] = winloss_variance_arrival_time(p.white_values, p.value_idx)
    g[30], g[31], g[32] = p.surprises
    g[36:41] = history_use_flags(rng)
    g[41:47] = game_hash_channels(*game.game_hash)
    g[47] = hist.self_komi(pla, game.draw_equivalent_wins_for_white)
    g[48] = 1.0 if (hist.encore_phase == 2 or hist.rules.scoring_rule == ScoringRule.AREA) else 0.0
    g[49] = 1.0 if game.changed_neural_nets else 0.0
    g[50] = p.nets_behind
    g[51] = p.turn_idx
    g[52] = 1.0 if game.hit_turn_limit else 0.0
    g[53] = len(game.start_history.moves)
    g[54] = game.num_extra_black
    g[55] = game.mode
    g[56] = game.initial_turn_number
    sign = 1.0 if pla == WHITE else -1.0
    g[57] = sign * p.nn_raw.white_win_loss
    g[58] = sign * p.nn_raw.white_score_mean
    g[59] = p.nn_raw.policy_entropy
    g[60] = p.unreduced_num_visits
    if not p.is_side:
        bonus = np.float32(end.white_bonus_score) - np.float32(hist.white_bonus_score)
        g[61] = 0.0 if bonus == 0 else sign * bonus
    g[62] = 1.0 if (not p.is_side and end.is_finished and not game.hit_turn_limit) else 0.0
    g[63] = DATA_FORMAT_VERSION
    g[68] = 1.0 if game.pass_alive_under_suicide_rules else 0.0

    value = np.zeros((5, pos_len, pos_len), dtype=np.int8)
    final = game.final
    if p.is_side or game_no_result:
        score_distr = dummy_score_distribution(pos_len)
    else:
        g[27] = 1.0
        g[20] = p.white_values[-1].score * sign
        value[0:2] = ownership_targets(final.ownership, final.full_area, pla, pos_len)
        score_distr = score_distribution(g[20], pos_len)
    if p.future is not None:
        g[33] = 1.0
        value[2] = future_board_target(p.future[0], pla, pos_len)
        value[3] = future_board_target(p.future[1], pla, pos_len)
    if not p.is_side and not game_no_result:
        g[34] = 1.0
        value[4] = scoring_target(final.white_scoring, pla, pos_len, rng)

    qvalues = qvalue_targets(p.q_values, pla, x_size, y_size, pos_len, rng)
    binary, glob = p.features
    return TrainingRow(binary, glob, policy, g, score_distr, value, qvalues)


def _check_game(game: FinishedGame, pos_len: int) -> Tuple[list, list]:
    start_moves = game.start_history.moves
    end_moves = game.end_history.moves
    if end_moves[:len(start_moves)] != start_moves:
        raise RowsError("end_history does not continue start_history")
    played = end_moves[len(start_moves):]
    if len(played) != len(game.turns):
        raise RowsError(f"{len(game.turns)} turn records for {len(played)} moves after the start")
    if game.start_history.x_size > pos_len or game.start_history.y_size > pos_len:
        raise RowsError(f"a {game.start_history.x_size}x{game.start_history.y_size} board does not fit "
                        f"a {pos_len}x{pos_len} data tensor")
    if not game.end_history.is_finished and not game.hit_turn_limit:
        raise RowsError("an unfinished game must have hit the turn limit")
    last = game.final.value
    if game.end_history.is_finished and game.end_history.is_no_result:
        if (last.win, last.loss, last.no_result) != (0.0, 0.0, 1.0):
            raise RowsError("a no-result game's final value must be (0, 0, 1)")
    return start_moves, played


def game_rows(game: FinishedGame, pos_len: int, rng: np.random.Generator,
              turn_weights: Optional[Sequence[float]] = None,
              side_weights: Optional[Sequence[float]] = None) -> Iterator[TrainingRow]:
    """The training rows of a finished game, in KataGo's order: main-line turns, then side positions.

    `turn_weights` / `side_weights` default to the records' own weights; pass the resolved
    (integer) weights after surprise weighting. A turn with weight k is written k times,
    each copy with fresh random history flags and stochastic roundings.
    """
    _, played = _check_game(game, pos_len)
    n = len(game.turns)
    weights = [t.weight for t in game.turns] if turn_weights is None else list(turn_weights)
    if len(weights) != n:
        raise RowsError(f"{len(weights)} turn weights for {n} turns")
    sides = game.side_positions
    sweights = [s.weight for s in sides] if side_weights is None else list(side_weights)
    if len(sweights) != len(sides):
        raise RowsError(f"{len(sweights)} side weights for {len(sides)} side positions")

    # Boards after each move, for the future-position targets.
    hist = game.start_history.copy()
    boards = [hist.board.stones()]
    for colour, move in played:
        if colour != hist.next_player:
            raise RowsError(f"move {move} by {colour} but {hist.next_player} is to move")
        hist.play(move, colour)
        boards.append(hist.board.stones())

    white_values = [t.value for t in game.turns] + [game.final.value]
    hist = game.start_history.copy()
    start_turn = len(game.start_history.moves)
    pda_pla, pda = game.playout_doubling_advantage_pla, game.playout_doubling_advantage
    for t, turn in enumerate(game.turns):
        copies = row_copies(weights[t], rng)
        if copies:
            pla = hist.next_player
            signed_pda = -pda if opp(pla) == pda_pla else pda
            position = _Position(
                history=hist, pla=pla, turn_idx=start_turn + t,
                features=_features(hist, pla, pos_len, game, signed_pda),
                policy0=turn.policy_target,
                policy1=game.turns[t + 1].policy_target if t + 1 < n else None,
                white_values=white_values, value_idx=t, q_values=turn.q_values, nn_raw=turn.nn_raw,
                surprises=(turn.policy_surprise, turn.policy_entropy, turn.search_entropy),
                unreduced_num_visits=turn.unreduced_num_visits,
                nets_behind=nets_behind_latest(game.changed_neural_nets, start_turn + t),
                is_side=False,
                future=tuple(boards[min(t + d, n)] for d in FUTURE_BOARD_OFFSETS))
            for _ in range(copies):
                yield _make_row(position, game, pos_len, rng)
        colour, move = played[t]
        hist.play(move, colour)

    for side, weight in zip(sides, sweights):
        copies = row_copies(weight, rng)
        if not copies:
            continue
        sh = side.history
        if sh.x_size != game.start_history.x_size or sh.y_size != game.start_history.y_size:
            raise RowsError("a side position must be on the game's board size")
        pla = sh.next_player
        position = _Position(
            history=sh, pla=pla, turn_idx=len(sh.moves),
            features=_features(sh, pla, pos_len, game, 0.0),
            policy0=side.policy_target, policy1=None,
            white_values=[side.value], value_idx=0, q_values=side.q_values, nn_raw=side.nn_raw,
            surprises=(side.policy_surprise, side.policy_entropy, side.search_entropy),
            unreduced_num_visits=side.unreduced_num_visits,
            nets_behind=len(game.changed_neural_nets) - side.num_neural_net_changes_so_far,
            is_side=True, future=None)
        for _ in range(copies):
            yield _make_row(position, game, pos_len, rng)
