"""GTP `loadsgf`: an SGF file's game (or its start) as a History, the way KataGo sets it up.

Rules: the SGF's RU[] when goloop can read it, else the engine's current rules; the SGF's komi
when it has KM[]; a forced komi beats both (KataGo's getRulesOrWarn). The first player is the
first move's colour, else PL[], else white after black-only setup stones, else black
(KataGo's setupInitialBoardAndHist). Moves are replayed with GTP play's tolerance.
"""
from __future__ import annotations

import os
from typing import Callable, Optional

from sgfmill import sgf_grammar

from goloop.common.go.history import History
from goloop.common.go.rules import Rules
from goloop.common.go.sgf import GameRecord, SgfError, load_sgf
from goloop.engine.gtp_handicap import HandicapError, setup_board
from goloop.engine.gtp_protocol import GtpError

BLACK, WHITE = 1, 2

# new_history(rules, x_size, y_size, board, pla) -> History, with the engine's settings.
HistoryFactory = Callable[..., History]


def history_from_sgf(path: str, moves_to_play: Optional[int], current_rules: Rules,
                     forced_komi: Optional[float], max_size: int,
                     new_history: HistoryFactory) -> History:
    """The game in `path` after its first `moves_to_play` moves (all when None or more than it
    has); GtpError naming the problem when the file cannot be used."""
    if not os.path.isfile(path):
        # Also keeps `loadsgf /dev/zero` or a FIFO from hanging the engine.
        raise GtpError(f"Cannot load file: {path} is not a readable regular file")
    try:
        record = load_sgf(path)
    except SgfError as e:
        raise GtpError(f"Could not load sgf: {e}") from None
    except (OSError, ValueError) as e:
        raise GtpError(f"Cannot load file: {e}") from None
    if record.x_size > max_size or record.y_size > max_size:
        raise GtpError(f"Could not load sgf: board size {record.x_size}x{record.y_size} "
                       f"is larger than {max_size}")
    rules = sgf_rules(record, path, current_rules, forced_komi)
    try:
        board = setup_board(record.x_size, record.y_size,
                            [(p, BLACK) for p in record.black_setup]
                            + [(p, WHITE) for p in record.white_setup])
    except HandicapError as e:
        raise GtpError(f"Could not load sgf: initial position is invalid: {e}") from None
    history = new_history(rules, record.x_size, record.y_size, board=board, pla=first_player(record))
    moves = record.moves if moves_to_play is None else record.moves[:moves_to_play]
    for turn, (color, move) in enumerate(moves):
        try:
            history.play(move, color)
        except ValueError:
            raise GtpError(f"Could not load sgf: illegal move in {path} turn {turn}") from None
    return history


def sgf_rules(record: GameRecord, path: str, current_rules: Rules,
              forced_komi: Optional[float]) -> Rules:
    if record.rules is not None:
        rules = record.rules
    else:
        rules = current_rules
        if _has_komi(path):
            rules = rules.with_komi(record.komi)
    return rules if forced_komi is None else rules.with_komi(forced_komi)


def first_player(record: GameRecord) -> int:
    if record.moves:
        return BLACK if record.moves[0][0] == "B" else WHITE
    if record.first_player is not None:
        return BLACK if record.first_player == "B" else WHITE
    return WHITE if record.black_setup and not record.white_setup else BLACK


def _has_komi(path: str) -> bool:
    """Whether the root node has KM[]: GameRecord reports 7.5 for a missing KM, and then the
    current komi must stay."""
    try:
        with open(path, "rb") as f:
            tree = sgf_grammar.parse_sgf_game(f.read())
        return "KM" in next(iter(sgf_grammar.main_sequence_iter(tree)))
    except (OSError, ValueError):
        return False
