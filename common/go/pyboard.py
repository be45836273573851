"""Deliberately simple pure-Python Go board.

Why this exists: it is the slow, obviously-correct oracle that property tests compare the
fast Cython board against, and the pure-Python baseline of the random-playout benchmark.
So it favours readability over speed: chains and liberties are recomputed by flood fill
every time they are needed, with no incremental bookkeeping that could hide a bug.

Conventions (KataGo's): index = y * x_size + x with y = 0 the TOP row; a move is an index
or None for pass. Ko is simple ko only (one banned point for the next move).
"""

from __future__ import annotations

import random
from typing import Dict, FrozenSet, List, Optional, Tuple

EMPTY, BLACK, WHITE = 0, 1, 2

_ZOBRIST_TABLES: Dict[Tuple[int, int], List[Tuple[int, int, int]]] = {}


class BoardError(ValueError):
    """Raised for a bad board size, point, colour or a move that breaks play()'s contract."""


def _zobrist_table(x_size: int, y_size: int) -> List[Tuple[int, int, int]]:
    """Per-size table of (0, black value, white value) so hashing is a plain lookup.

    Seeded from the board size only, so it is deterministic across runs and processes;
    it is NOT the Cython board's table, so the two boards' hashes are never comparable.
    """
    key = (x_size, y_size)
    if key not in _ZOBRIST_TABLES:
        rng = random.Random(1_000_003 * x_size + y_size)
        _ZOBRIST_TABLES[key] = [(0, rng.getrandbits(64), rng.getrandbits(64))
                                for _ in range(x_size * y_size)]
    return _ZOBRIST_TABLES[key]


class PyBoard:
    EMPTY, BLACK, WHITE = EMPTY, BLACK, WHITE

    def __init__(self, x_size: int, y_size: Optional[int] = None) -> None:
        if y_size is None:
            y_size = x_size
        for name, size in (("x_size", x_size), ("y_size", y_size)):
            if not isinstance(size, int) or not 2 <= size <= 19:
                raise BoardError(f"{name} must be an int in 2..19, got {size!r}")
        self.x_size: int = x_size
        self.y_size: int = y_size
        # Colour of each point, index y * x_size + x (y = 0 is the top row).
        self.stones: List[int] = [EMPTY] * (x_size * y_size)
        # Point the next move may not be played on because of simple ko, else None.
        self.ko_point: Optional[int] = None
        # Stones of each colour removed from the board so far (suicide included).
        self.captures: Dict[int, int] = {BLACK: 0, WHITE: 0}
        # On-board orthogonal neighbours of every point, computed once for readability.
        self._neighbours: List[Tuple[int, ...]] = [
            tuple(ny * x_size + nx
                  for nx, ny in ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1))
                  if 0 <= nx < x_size and 0 <= ny < y_size)
            for y in range(y_size) for x in range(x_size)
        ]

    def copy(self) -> "PyBoard":
        other = PyBoard(self.x_size, self.y_size)
        other.stones = list(self.stones)
        other.ko_point = self.ko_point
        other.captures = dict(self.captures)
        return other

    # ---- validation -------------------------------------------------------------------

    def _check_pos(self, pos: int) -> None:
        if not isinstance(pos, int) or not 0 <= pos < len(self.stones):
            raise BoardError(f"point {pos!r} is not on a {self.x_size}x{self.y_size} board")

    @staticmethod
    def _check_color(color: int) -> None:
        if color not in (BLACK, WHITE):
            raise BoardError(f"colour must be BLACK (1) or WHITE (2), got {color!r}")

    # ---- chains -----------------------------------------------------------------------

    def chain(self, pos: int) -> FrozenSet[int]:
        """All stones connected to pos by same-coloured orthogonal steps (flood fill)."""
        self._check_pos(pos)
        color = self.stones[pos]
        if color == EMPTY:
            return frozenset()
        seen = {pos}
        todo = [pos]
        while todo:
            for n in self._neighbours[todo.pop()]:
                if n not in seen and self.stones[n] == color:
                    seen.add(n)
                    todo.append(n)
        return frozenset(seen)

    def liberties(self, pos: int) -> FrozenSet[int]:
        return frozenset(n for p in self.chain(pos) for n in self._neighbours[p]
                         if self.stones[n] == EMPTY)

    # ---- legality ---------------------------------------------------------------------

    def would_be_suicide(self, pos: int, color: int) -> bool:
        """True if the stone at empty pos would leave its own chain libertyless after captures.

        The new stone has a liberty iff it touches an empty point, captures an opponent chain
        (whose only liberty is pos), or joins a friendly chain with a liberty besides pos.
        """
        self._check_pos(pos)
        self._check_color(color)
        if self.stones[pos] != EMPTY:
            raise BoardError(f"point {pos} is occupied")
        for n in self._neighbours[pos]:
            stone = self.stones[n]
            if stone == EMPTY:
                return False
            libs = self.liberties(n)
            if stone == color and libs != {pos}:
                return False
            if stone != color and libs == {pos}:
                return False
        return True

    def is_single_stone_suicide(self, pos: int, color: int) -> bool:
        return (self.would_be_suicide(pos, color)
                and all(self.stones[n] != color for n in self._neighbours[pos]))

    def is_legal(self, pos: Optional[int], color: int, multi_stone_suicide_legal: bool) -> bool:
        self._check_color(color)
        if pos is None:
            return True
        self._check_pos(pos)
        if self.stones[pos] != EMPTY or pos == self.ko_point:
            return False
        if not self.would_be_suicide(pos, color):
            return True
        if self.is_single_stone_suicide(pos, color):
            return False
        return multi_stone_suicide_legal

    # ---- playing ----------------------------------------------------------------------

    def _remove(self, stones: FrozenSet[int]) -> None:
        for p in stones:
            self.captures[self.stones[p]] += 1
            self.stones[p] = EMPTY

    def play(self, pos: Optional[int], color: int) -> None:
        """Play without checking ko; pos must be empty and not a single-stone suicide."""
        self._check_color(color)
        if pos is None:
            self.ko_point = None
            return
        self._check_pos(pos)
        if self.stones[pos] != EMPTY:
            raise BoardError(f"cannot play on occupied point {pos}")
        if self.is_single_stone_suicide(pos, color):
            raise BoardError(f"point {pos} is a single-stone suicide")
        self.stones[pos] = color
        captured: set = set()
        for n in self._neighbours[pos]:
            if self.stones[n] not in (EMPTY, color) and n not in captured \
                    and not self.liberties(n):
                captured |= self.chain(n)
        self._remove(frozenset(captured))
        own = self.chain(pos)
        own_libs = self.liberties(pos)
        if not own_libs:
            self._remove(own)
        if len(captured) == 1 and len(own) == 1 and len(own_libs) == 1:
            self.ko_point = next(iter(captured))
        else:
            self.ko_point = None

    # ---- output -----------------------------------------------------------------------

    def zobrist_hash(self) -> int:
        """XOR of per-(point, colour) 64-bit values; NOT comparable with the Cython board's."""
        table = _zobrist_table(self.x_size, self.y_size)
        h = 0
        for pos, color in enumerate(self.stones):
            h ^= table[pos][color]
        return h

    def to_ascii(self) -> str:
        """Rows top (y = 0) to bottom joined by newlines: 'X' black, 'O' white, '.' empty."""
        chars = {EMPTY: ".", BLACK: "X", WHITE: "O"}
        return "\n".join(
            "".join(chars[c] for c in self.stones[y * self.x_size:(y + 1) * self.x_size])
            for y in range(self.y_size))

    def _is_simple_eye(self, pos: int, color: int) -> bool:
        """Empty point whose on-board neighbours are all color: filling it only hurts color."""
        return self.stones[pos] == EMPTY and all(
            self.stones[n] == color for n in self._neighbours[pos])


def random_playout(board: PyBoard, rng: random.Random, max_moves: int) -> int:
    """Play uniformly random legal non-eye-filling moves, Black first; return moves played.

    Each turn the candidates are the empty points, in ascending index order, that are legal
    with multi-stone suicide disallowed and are not a simple eye of the mover; one is picked
    with rng.choice, or the mover passes if there are none. Stops after two consecutive
    passes or once max_moves non-pass moves have been played (passes do not count).
    """
    if max_moves < 0:
        raise BoardError(f"max_moves must be >= 0, got {max_moves}")
    color, passes, moves = BLACK, 0, 0
    while passes < 2 and moves < max_moves:
        candidates = [p for p in range(len(board.stones))
                      if board.stones[p] == EMPTY and not board._is_simple_eye(p, color)
                      and board.is_legal(p, color, False)]
        if candidates:
            board.play(rng.choice(candidates), color)
            moves += 1
            passes = 0
        else:
            board.play(None, color)
            passes += 1
        color = WHITE if color == BLACK else BLACK
    return moves
