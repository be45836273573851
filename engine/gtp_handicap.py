"""Handicap and set-up stones for GTP: where they go and whether a placement is valid.

fixed_handicap uses the standard GTP points exactly as KataGo places them (3-3 points up to 12
lines, 4-4 points above; the side and centre points on the middle line), with KataGo's refusals
for small and even boards. place_free_handicap would ask the network in KataGo; without one it
places the same standard pattern whenever that is possible, and otherwise (more than 9 stones,
even or small boards) starts from the largest standard pattern that fits and adds each further
stone on the point farthest from all the stones already placed, away from the edge when the
board allows: deterministic, spread out, and never a stone without liberties.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from goloop.common.go.board import Board
from goloop.common.go.coords import Point

# KataGo places at most this many free handicap stones (and at most a quarter of the board).
MAX_FREE_HANDICAP = 30

# Which of the corner/corner/side coordinates each standard stone uses, in KataGo's order.
_PATTERN = ((0, 1), (1, 0), (0, 0), (1, 1), (2, 2), (0, 2), (1, 2), (2, 0), (2, 1))
_STONES_USED = {2: (0, 1), 3: (0, 1, 2), 4: (0, 1, 2, 3), 5: (0, 1, 2, 3, 4),
                6: (0, 1, 2, 3, 5, 6), 7: (0, 1, 2, 3, 4, 5, 6), 8: (0, 1, 2, 3, 5, 6, 7, 8),
                9: tuple(range(9))}


class HandicapError(ValueError):
    """A handicap or set-up placement that cannot be made; the message says why."""


def fixed_handicap_points(x_size: int, y_size: int, n: int) -> list[Point]:
    """The standard GTP handicap points for n stones, or HandicapError where KataGo refuses."""
    if x_size < 7 or y_size < 7:
        raise HandicapError("Board is too small for fixed handicap")
    if (x_size % 2 == 0 or y_size % 2 == 0) and n > 4:
        raise HandicapError("Fixed handicap > 4 is not allowed on boards with even dimensions")
    if (x_size <= 7 or y_size <= 7) and n > 4:
        raise HandicapError("Fixed handicap > 4 is not allowed on boards with size 7")
    if n < 2:
        raise HandicapError("Fixed handicap < 2 is not allowed")
    if n > 9:
        raise HandicapError("Fixed handicap > 9 is not allowed")
    xs, ys = _star_lines(x_size), _star_lines(y_size)
    return [(xs[_PATTERN[i][0]], ys[_PATTERN[i][1]]) for i in _STONES_USED[n]]


def _star_lines(size: int) -> tuple[int, int, int]:
    # Low corner line, high corner line, middle line.
    edge = 2 if size <= 12 else 3
    return (edge, size - 1 - edge, size // 2)


def max_free_handicap(x_size: int, y_size: int) -> int:
    return min(MAX_FREE_HANDICAP, x_size * y_size // 4)


def free_handicap_points(x_size: int, y_size: int, n: int) -> list[Point]:
    """n free handicap stones (capped at max_free_handicap, as KataGo caps them)."""
    n = min(n, max_free_handicap(x_size, y_size))
    start: list[Point] = []
    for k in range(min(n, 9), 1, -1):
        try:
            start = fixed_handicap_points(x_size, y_size, k)
            break
        except HandicapError:
            continue
    board = setup_board(x_size, y_size, [(p, 1) for p in start])
    chosen = list(start)
    candidates = [p for p in _candidates(x_size, y_size, n) if p not in start]
    while len(chosen) < n and candidates:
        best = max(candidates, key=lambda p: (_spread(p, chosen, x_size, y_size), -p[1], -p[0]))
        candidates.remove(best)
        board.set_stone(best, 1)
        if board.liberty_count(best) == 0:
            board.set_stone(best, 0)
            continue
        chosen.append(best)
    return chosen


def _candidates(x_size: int, y_size: int, n: int) -> list[Point]:
    """Points at least two lines from the edge when there is room for them, else one, else any."""
    for margin in (2, 1, 0):
        width, height = x_size - 2 * margin, y_size - 2 * margin
        if width > 0 and height > 0 and width * height >= 2 * n:
            return [(x, y) for y in range(margin, y_size - margin) for x in range(margin, x_size - margin)]
    return [(x, y) for y in range(y_size) for x in range(x_size)]


def _spread(point: Point, chosen: Sequence[Point], x_size: int, y_size: int) -> float:
    """Squared distance to the nearest chosen stone; with none yet, closeness to the centre."""
    x, y = point
    if not chosen:
        return -((2 * x - (x_size - 1)) ** 2 + (2 * y - (y_size - 1)) ** 2)
    return min((x - cx) ** 2 + (y - cy) ** 2 for cx, cy in chosen)


def setup_board(x_size: int, y_size: int, stones: Iterable[tuple[Point, int]]) -> Board:
    """A board holding exactly these stones, or HandicapError for a point given twice or a
    position with a chain that has no liberty (KataGo's setStonesFailIfNoLibs)."""
    board = Board(x_size, y_size)
    seen: set[Point] = set()
    for point, color in stones:
        if point in seen:
            raise HandicapError(f"a stone is placed twice at {point}")
        seen.add(point)
        board.set_stone(point, color)
    for point in seen:
        if board.liberty_count(point) == 0:
            raise HandicapError("a stone would have no liberties")
    return board
