"""Board coordinates in the three notations goloop meets: GTP vertices, SGF letters, flat positions.

Everything inside goloop uses points (x, y) with x = column from the left (0 = GTP column A)
and y = row from the TOP (0 = GTP row `y_size`), which is KataGo's convention, and flat positions
pos = y * x_size + x (KataGo's NN/policy index; the pass move is index x_size * y_size there).
A pass is `None` as a point. These are the only conversions; keeping them in one place is
what stops the classic upside-down / skipped-I bugs.
"""
from __future__ import annotations

import re
from typing import Optional, Tuple

Point = Tuple[int, int]

# GTP column letters: A..Z without I (I looks like J/1). Column 25 and up use two letters,
# KataGo's extension: first letter = x // 25 - 1, second = x % 25 (AA = 25).
GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
# SGF coordinate letters: a..z then A..Z (KataGo writes up to 52 per side this way).
SGF_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_SGF_SIZE = len(SGF_LETTERS)

_GTP_VERTEX = re.compile(r"([A-Za-z]{1,2})([0-9]+)")


class CoordError(ValueError):
    """A coordinate that is malformed or lies off the board."""


def _check_size(x_size: int, y_size: int) -> None:
    if x_size < 1 or y_size < 1:
        raise CoordError(f"board size must be positive, got {x_size}x{y_size}")


def _check_on_board(point: Point, x_size: int, y_size: int) -> None:
    x, y = point
    if not (0 <= x < x_size and 0 <= y < y_size):
        raise CoordError(f"point {point} is off the {x_size}x{y_size} board")


def _gtp_letter_index(letter: str) -> int:
    index = GTP_COLUMNS.find(letter.upper())
    if index < 0:
        raise CoordError(f"{letter!r} is not a GTP column letter (A-Z without I)")
    return index


def gtp_to_point(vertex: str, x_size: int, y_size: int) -> Optional[Point]:
    """Parse a GTP vertex ("D4", "q16", "pass") into (x, y), or None for a pass.

    Case-insensitive. Also accepts KataGo's "pss" and its two-letter columns for boards wider
    than 25 ("AA1"), but not its machine form "(x,y)", which no controller sends.
    """
    _check_size(x_size, y_size)
    text = vertex.strip()
    if text.lower() in ("pass", "pss"):
        return None
    match = _GTP_VERTEX.fullmatch(text)
    if match is None:
        raise CoordError(f"malformed GTP vertex {vertex!r}")
    letters, digits = match.groups()
    if len(letters) == 1:
        x = _gtp_letter_index(letters)
    else:
        x = (_gtp_letter_index(letters[0]) + 1) * len(GTP_COLUMNS) + _gtp_letter_index(letters[1])
    # A row of thousands of digits is off any board (and too long for int() to parse).
    row = int(digits) if len(digits) <= 4 else 0
    if not (0 <= x < x_size and 1 <= row <= y_size):
        raise CoordError(f"GTP vertex {vertex!r} is off the {x_size}x{y_size} board")
    return (x, y_size - row)


def point_to_gtp(point: Optional[Point], x_size: int, y_size: int) -> str:
    """Format (x, y) as a GTP vertex in KataGo's spelling (upper case, "pass" for None)."""
    _check_size(x_size, y_size)
    if point is None:
        return "pass"
    _check_on_board(point, x_size, y_size)
    x, y = point
    n = len(GTP_COLUMNS)
    if x < n:
        column = GTP_COLUMNS[x]
    elif x < n * (n + 1):
        column = GTP_COLUMNS[x // n - 1] + GTP_COLUMNS[x % n]
    else:
        raise CoordError(f"column {x} is too wide for GTP letters")
    return f"{column}{y_size - y}"


def _sgf_letter_index(letter: str) -> int:
    index = SGF_LETTERS.find(letter)
    if index < 0:
        raise CoordError(f"{letter!r} is not an SGF coordinate letter (a-z, A-Z)")
    return index


def sgf_to_point(text: str, x_size: int, y_size: int) -> Optional[Point]:
    """Parse an SGF point ("dd"; "aa" is the top-left corner) into (x, y), or None for a pass.

    "" is a pass; "tt" is also a pass when either side is at most 19, the old FF[3] convention,
    as KataGo reads it.
    """
    _check_size(x_size, y_size)
    if text == "" or (text == "tt" and (x_size <= 19 or y_size <= 19)):
        return None
    if len(text) != 2:
        raise CoordError(f"malformed SGF point {text!r} (expected two letters)")
    point = (_sgf_letter_index(text[0]), _sgf_letter_index(text[1]))
    x, y = point
    if not (x < x_size and y < y_size):
        raise CoordError(f"SGF point {text!r} is off the {x_size}x{y_size} board")
    return point


def point_to_sgf(point: Optional[Point], x_size: int, y_size: int) -> str:
    """Format (x, y) as SGF letters; a pass is "" (KataGo writes B[], never B[tt])."""
    _check_size(x_size, y_size)
    if x_size > MAX_SGF_SIZE or y_size > MAX_SGF_SIZE:
        raise CoordError(f"SGF coordinates go up to {MAX_SGF_SIZE} per side, board is {x_size}x{y_size}")
    if point is None:
        return ""
    _check_on_board(point, x_size, y_size)
    x, y = point
    return SGF_LETTERS[x] + SGF_LETTERS[y]


def sgf_to_points(text: str, x_size: int, y_size: int) -> list[Point]:
    """Parse an SGF point-list element, a single point or a "compressed" rectangle "aa:cc".

    Used for setup stones (AB/AW/AE), where rectangles are legal; order is column by column
    (KataGo's order). A pass is not a valid setup point.
    """
    if ":" in text:
        corner1, sep, corner2 = text.partition(":")
        if len(corner1) != 2 or len(corner2) != 2:
            raise CoordError(f"malformed SGF point rectangle {text!r}")
        p1 = _setup_point(corner1, x_size, y_size, text)
        p2 = _setup_point(corner2, x_size, y_size, text)
        if p1[0] > p2[0] or p1[1] > p2[1]:
            raise CoordError(f"SGF point rectangle {text!r} is not top-left:bottom-right")
        return [(x, y) for x in range(p1[0], p2[0] + 1) for y in range(p1[1], p2[1] + 1)]
    return [_setup_point(text, x_size, y_size, text)]


def _setup_point(text: str, x_size: int, y_size: int, whole: str) -> Point:
    if len(text) != 2:
        raise CoordError(f"malformed SGF point {whole!r} (expected two letters)")
    point = (_sgf_letter_index(text[0]), _sgf_letter_index(text[1]))
    if not (point[0] < x_size and point[1] < y_size):
        raise CoordError(f"SGF point {whole!r} is off the {x_size}x{y_size} board")
    return point


def point_to_pos(point: Point, x_size: int) -> int:
    """Flat position of (x, y): y * x_size + x (rows from the top, KataGo's NN layout)."""
    x, y = point
    return y * x_size + x


def pos_to_point(pos: int, x_size: int) -> Point:
    """Inverse of point_to_pos."""
    return (pos % x_size, pos // x_size)


def policy_index(point: Optional[Point], x_size: int, y_size: int) -> int:
    """Index of a move in KataGo's policy vector: point_to_pos, or x_size * y_size for a pass."""
    if point is None:
        return x_size * y_size
    _check_on_board(point, x_size, y_size)
    return point_to_pos(point, x_size)


def policy_index_to_point(index: int, x_size: int, y_size: int) -> Optional[Point]:
    """Inverse of policy_index (None for the pass index)."""
    if index == x_size * y_size:
        return None
    if not 0 <= index < x_size * y_size:
        raise CoordError(f"policy index {index} is out of range for a {x_size}x{y_size} board")
    return pos_to_point(index, x_size)
