"""What the GTP engine says about a position: showboard text, scores, stone statuses, SGF records.

Pure functions of a History, so the later network engine can reuse them unchanged. Formats follow
KataGo v1.17.2's GTP replies (shared/reference/rules_games.json holds real ones):

* showboard: `MoveNum: N HASH: H`, a column header, one row per line with the stones of the last
  three moves marked 1..3 (oldest first, the digit taking the place of the separating space), then
  the next player, the encore phase when in one, the rules JSON with komi, the handicap bonus when
  not zero, and the captured stones of each colour. H is goloop's own 64-bit Zobrist hash;
* final_score: `W+40.0` / `B+3.5` / `0`, one decimal as KataGo prints it;
* printsgf: KataGo's one-line SGF (common/sgf.write_sgf), RE[] and a `result=` comment on the
  last move only for a finished game, HA[] counted as KataGo does for SGFs, an encore
  pass-for-ko written as a pass with TR[] on the point played.

Without a network the anticipated score is the rules' own count of the position as it stands,
i.e. what the game would score if it ended now (KataGo's end-of-game count: stones plus
territory, with stones inside the opponent's pass-alive territory counted for the opponent); for a
finished game it is the recorded result. Statuses agree with that count.
"""
from __future__ import annotations

from typing import Optional

from goloop.common.go.board import Board
from goloop.common.go.coords import GTP_COLUMNS, Point, point_to_gtp, point_to_sgf
from goloop.common.go.history import History
from goloop.common.go.sgf import GameRecord, format_result, write_sgf

_STONE_CHARS = ".XO"
_COLOR_LETTERS = {1: "B", 2: "W"}
_PLAYER_NAMES = {1: "Black", 2: "White"}


# ------------------------------------------------------------------------------------------------
# showboard

def showboard_text(history) -> str:
    """KataGo's `showboard` reply for the current position."""
    board = history.board
    xs, ys = board.x_size, board.y_size
    moves = history.moves
    recent = [move for _, move in moves[-3:]]
    stones = board.stones()
    lines = [f"MoveNum: {len(moves)} HASH: {board.hash:016X}",
             "  " + "".join(" " + _column_label(x) for x in range(xs))]
    for y in range(ys):
        row = [f"{ys - y:2d} "]
        for x in range(xs):
            row.append(_STONE_CHARS[stones[y, x]])
            mark = next((i + 1 for i, move in enumerate(recent) if move == (x, y)), None)
            if mark is not None:
                row.append(str(mark))
            elif x < xs - 1:
                row.append(" ")
        lines.append("".join(row))
    lines.append(f"Next player: {_PLAYER_NAMES[history.next_player]}")
    if history.encore_phase > 0:
        lines.append(f"Game phase: {history.encore_phase}")
    lines.append(f"Rules: {history.rules.json_text(include_komi=True)}")
    bonus = history.white_handicap_bonus
    if bonus != 0:
        lines.append(f"Handicap bonus score: {bonus:g}")
    captures = board.captures
    lines.append(f"B stones captured: {captures[1]}")
    lines.append(f"W stones captured: {captures[2]}")
    return "\n".join(lines)


def _column_label(x: int) -> str:
    # KataGo's header: one letter up to column 25, then 'A' + letter.
    return GTP_COLUMNS[x] if x < len(GTP_COLUMNS) else "A" + GTP_COLUMNS[x - len(GTP_COLUMNS)]


# ------------------------------------------------------------------------------------------------
# Scores and statuses

def anticipated_score(history) -> float:
    """White minus black: the recorded result of a finished game (0 for no result), else the
    rules' count of the position as it stands."""
    if history.is_finished:
        return 0.0 if history.is_no_result else history.final_score
    return history.score_now()


def final_score_text(white_minus_black: float) -> str:
    """GTP final_score reply as KataGo prints it: 'W+7.0', 'B+0.5', '0'."""
    if white_minus_black > 0:
        return f"W+{white_minus_black:.1f}"
    if white_minus_black < 0:
        return f"B+{-white_minus_black:.1f}"
    return "0"


def dead_stones(history) -> set[Point]:
    """Stones the rules' count gives to the opponent (none after a no-result ending)."""
    if history.is_finished and history.is_no_result:
        return set()
    stones = history.board.stones()
    area = history.final_area()
    ys, xs = stones.shape
    return {(x, y) for y in range(ys) for x in range(xs)
            if stones[y, x] != 0 and area[y, x] != stones[y, x]}


def stone_points(history) -> list[Point]:
    """Every stone on the board, in KataGo's reporting order (top row first, left to right)."""
    stones = history.board.stones()
    ys, xs = stones.shape
    return [(x, y) for y in range(ys) for x in range(xs) if stones[y, x] != 0]


def vertex_list(points, x_size: int, y_size: int) -> str:
    """Points as space-separated GTP vertices in board order (top row first)."""
    ordered = sorted(points, key=lambda p: (p[1], p[0]))
    return " ".join(point_to_gtp(p, x_size, y_size) for p in ordered)


# ------------------------------------------------------------------------------------------------
# printsgf

def handicap_stones_for_sgf(initial_board: Board, moves) -> int:
    """KataGo's HA[] count: black setup stones plus the run of black moves that opens the game.

    An isolated white pass inside the run does not end it (servers interleave them with free
    handicap placements); two white moves in a row mean a set-up problem, not a handicap; any
    white setup stone means no handicap; a single black stone or move is an ordinary first move.
    """
    black_turns = 0
    for i, (color, move) in enumerate(moves):
        if color != 1:
            if i + 1 < len(moves) and moves[i + 1][0] != 1:
                black_turns = 0
                break
            if move is None:
                continue
            break
        if move is not None:
            black_turns += 1
    stones = initial_board.stones()
    if (stones == 2).any():
        return 0
    advantage = int((stones == 1).sum()) + black_turns
    return advantage if advantage > 1 else 0


def printsgf_text(history) -> str:
    """KataGo's printsgf: one line of SGF (no player names, no PL[]); a pass-for-ko is a pass
    marked TR[] at the point played, with the comment "Pass for ko"."""
    record, pass_for_ko = game_record(history)
    text = write_sgf(record)
    if not pass_for_ko:
        return text
    # GameRecord has no per-move markup, so TR[] goes in here. Splitting at ';' is safe: this
    # record carries no text that could contain one (no names, root comment or unknown rules).
    nodes = text.split(";")
    xs, ys = record.x_size, record.y_size
    for i, point in pass_for_ko.items():
        color = record.moves[i][0]
        head = f"{color}[]"
        if nodes[2 + i].startswith(head):
            nodes[2 + i] = head + f"TR[{point_to_sgf(point, xs, ys)}]" + nodes[2 + i][len(head):]
    return ";".join(nodes)


def game_record(history) -> tuple[GameRecord, dict[int, Point]]:
    """The game as a GameRecord, and the passes-for-ko among its moves (index -> point played)."""
    initial = history.initial_board
    stones = initial.stones()
    ys, xs = stones.shape
    moves = history.moves
    record = GameRecord(
        x_size=xs, y_size=ys, komi=history.rules.komi, rules=history.rules,
        handicap=handicap_stones_for_sgf(initial, moves),
        black_setup=[(x, y) for y in range(ys) for x in range(xs) if stones[y, x] == 1],
        white_setup=[(x, y) for y in range(ys) for x in range(xs) if stones[y, x] == 2],
    )
    comments: list[Optional[str]] = [None] * len(moves)
    flags = _pass_for_ko_flags(history) if history.encore_phase > 0 else [False] * len(moves)
    pass_for_ko = {i: move for i, ((_, move), flag) in enumerate(zip(moves, flags)) if flag}
    for i, (color, move) in enumerate(moves):
        record.moves.append((_COLOR_LETTERS[color], None if i in pass_for_ko else move))
        if i in pass_for_ko:
            comments[i] = "Pass for ko"
    if history.is_finished:
        record.result = format_result(anticipated_score(history), no_result=history.is_no_result)
        if moves:
            note = "result=" + record.result
            comments[-1] = note if comments[-1] is None else comments[-1] + " " + note
    if any(c is not None for c in comments):
        record.move_comments = comments
    return record, pass_for_ko


def _pass_for_ko_flags(history) -> list[bool]:
    """Replay the game to find which moves were passes-for-ko (only possible in an encore)."""
    replay = History(history.rules, history.x_size, history.y_size, board=history.initial_board,
                     pla=history.first_player, prevent_encore=history.prevent_encore,
                     leading_black_moves_are_handicap=history.leading_black_moves_are_handicap)
    flags = []
    for color, move in history.moves:
        flags.append(replay.is_pass_for_ko(move, color))
        replay.play(move, color)
    return flags


# ------------------------------------------------------------------------------------------------
# Another player to move

def history_for_player(history: History, pla: int) -> History:
    """KataGo evaluates another player to move by restarting the history from this board."""
    if pla == history.next_player:
        return history
    return History(history.rules, board=history.board, pla=pla,
                   prevent_encore=history.prevent_encore,
                   leading_black_moves_are_handicap=history.leading_black_moves_are_handicap,
                   encore_phase=history.encore_phase,
                   second_encore_start=history.second_encore_start_colors()
                   if history.encore_phase >= 2 else None)
