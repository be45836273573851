"""Board speed: random-playout moves per second, Cython board against the pure-Python baseline.

Why: search and selfplay spend most of their CPU time copying boards and playing moves on the
copies, and the project's target is at least 1,000,000 random-playout moves per second on 19x19
on one core. Both boards play the same policy (uniformly random legal move that does not fill
the mover's own simple eye, no multi-stone suicide, two passes end the game), so their
moves-per-second figures are comparable. The baseline is measured in the same run, on the same
machine, so the ratio does not depend on how fast the machine is.

Each measurement is repeated and the best repetition reported: the best is the least disturbed
by other processes, and every repetition does identical work (same seeds). Also timed, for
reference, the Python-level costs a caller of the Cython classes pays: Board.copy() plus one
play, and History.play per move.

Run: `python bench/board_bench.py` (or `make bench`); takes about 15 s on an idle core. The last line is a
machine-readable summary: `BENCH {json}`.
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, List, Optional, Tuple

from goloop.common.go.board import Board
from goloop.common.go.history import History
from goloop.common.go.playout import random_playouts
from goloop.common.go.pyboard import PyBoard, random_playout
from goloop.common.go.rules import parse_rules

TARGET_19X19_MOVES_PER_S = 1_000_000
MAX_MOVES = 1000  # per game; random games with long ko cycles are cut off here


@dataclass(frozen=True)
class Rate:
    """Best of several timed repetitions of the same work."""
    moves: int
    """Moves (stones placed; passes not counted) in one repetition."""
    best_s: float
    """Wall time of the fastest repetition, seconds."""
    reps: int
    """How many repetitions were timed."""

    @property
    def per_s(self) -> float:
        return self.moves / self.best_s


def best_of(reps: int, work: Callable[[], int]) -> Rate:
    """Time `work` (which returns a move count) `reps` times; keep the fastest."""
    best, moves = float("inf"), 0
    for _ in range(reps):
        start = time.perf_counter()
        moves = work()
        best = min(best, time.perf_counter() - start)
    return Rate(moves, best, reps)


def cython_playouts(side: int, games: int) -> Callable[[], int]:
    return lambda: random_playouts(side, side, games, 12345, MAX_MOVES)


def python_playouts(side: int, games: int) -> Callable[[], int]:
    def work() -> int:
        rng = random.Random(12345)
        return sum(random_playout(PyBoard(side), rng, MAX_MOVES) for _ in range(games))
    return work


def games_for(seconds: float, side: int) -> int:
    """How many Cython playouts take about `seconds` here (so fast machines are not timed for
    a few milliseconds only, and slow ones do not take minutes)."""
    n, elapsed = 4, 0.0
    while elapsed < 0.05:
        n *= 4
        start = time.perf_counter()
        random_playouts(side, side, n, 999, MAX_MOVES)
        elapsed = time.perf_counter() - start
    return max(1, int(n * seconds / elapsed))


def midgame_board(side: int, moves: int, seed: int) -> Tuple[Board, List[Tuple[Optional[tuple], int]]]:
    """A board after `moves` random playout-policy moves, and the moves themselves."""
    rng = random.Random(seed)
    b, color, played = Board(side), 1, []
    for _ in range(moves):
        legal = [(x, y) for y in range(side) for x in range(side)
                 if b.is_legal((x, y), color) and not _own_eye(b, (x, y), color)]
        move = rng.choice(legal) if legal else None
        b.play(move, color)
        played.append((move, color))
        color = 3 - color
    return b, played


def _own_eye(b: Board, p: tuple, color: int) -> bool:
    x, y = p
    return all(b[(a, c)] == color for a, c in ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1))
               if 0 <= a < b.x_size and 0 <= c < b.y_size)


def time_copy_and_play(reps: int) -> float:
    """Seconds per Board.copy() + one play() from Python on a 19x19 middle-game board."""
    b, _ = midgame_board(19, 150, 7)
    color = 1
    move = next((x, y) for y in range(19) for x in range(19) if b.is_legal((x, y), color))
    n = 100_000

    def work() -> int:
        for _ in range(n):
            b.copy().play(move, color)
        return n
    return best_of(reps, work).best_s / n


def time_history_play(reps: int, preset: str) -> Tuple[float, int]:
    """Seconds per History.play() from Python over random 19x19 games (a new History per game).

    Under simple ko every move also scans the ko-hash list for a third repetition, so that
    cost grows with the game; positional superko checks repetitions in is_legal instead.
    """
    _, game = midgame_board(19, 400, 11)
    rules = parse_rules(preset)
    games = 500

    def work() -> int:
        for _ in range(games):
            h = History(rules, 19)
            for move, color in game:
                h.play(move, color)
        return games * len(game)
    rate = best_of(reps, work)
    return rate.best_s / rate.moves, len(game)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions (best kept)")
    args = parser.parse_args(argv)
    reps = max(1, args.reps)
    print(f"board_bench: Python {platform.python_version()} on {cpu_name()}, "
          f"one core, best of {reps}")

    # The Python baseline is thousands of times slower: 24 9x9 games per repetition, and two
    # full 19x19 games (a second or more each) timed twice.
    rows = []
    for side, cy_seconds, py_games, py_reps in ((9, 1.0, 24, reps), (19, 1.0, 2, min(reps, 2))):
        cy = best_of(reps, cython_playouts(side, games_for(cy_seconds, side)))
        py = best_of(py_reps, python_playouts(side, py_games))
        rows.append((side, cy, py))

    copy_play_s = time_copy_and_play(reps)
    history = {preset: time_history_play(reps, preset) for preset in ("tromp-taylor", "chinese")}

    print()
    print(f"{'board':>7} {'Cython moves/s':>16} {'PyBoard moves/s':>16} {'ratio':>9}")
    for side, cy, py in rows:
        print(f"{side:>4}x{side:<2} {cy.per_s:>16,.0f} {py.per_s:>16,.0f} {cy.per_s / py.per_s:>8,.0f}x")
    print()
    print(f"Board.copy() + play() from Python, 19x19 midgame: {copy_play_s * 1e9:,.0f} ns/op")
    for preset, (seconds, moves) in history.items():
        print(f"History.play() from Python, 19x19 {preset} game of {moves} moves: "
              f"{seconds * 1e6:,.3f} us/move")
    cy19 = rows[1][1].per_s
    verdict = "meets" if cy19 >= TARGET_19X19_MOVES_PER_S else "MISSES"
    print(f"target: >= {TARGET_19X19_MOVES_PER_S:,} random-playout moves/s on 19x19, one core: "
          f"{verdict} it ({cy19:,.0f})")

    summary = {
        "cython_9x9_moves_per_s": round(rows[0][1].per_s),
        "cython_19x19_moves_per_s": round(cy19),
        "pyboard_9x9_moves_per_s": round(rows[0][2].per_s),
        "pyboard_19x19_moves_per_s": round(rows[1][2].per_s),
        "ratio_9x9": round(rows[0][1].per_s / rows[0][2].per_s),
        "ratio_19x19": round(cy19 / rows[1][2].per_s),
        "copy_play_ns": round(copy_play_s * 1e9),
        "history_play_us_per_move": {p: round(s * 1e6, 4) for p, (s, _) in history.items()},
        "target_19x19_moves_per_s": TARGET_19X19_MOVES_PER_S,
        "meets_target": cy19 >= TARGET_19X19_MOVES_PER_S,
        "reps": reps,
        "detail": {f"{kind}_{side}x{side}": asdict(rate)
                   for side, cy, py in rows for kind, rate in (("cython", cy), ("pyboard", py))},
    }
    print("BENCH " + json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
