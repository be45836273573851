"""Where finished games go: one JSON line each, and one SGF line each.

Why append-only lines: a gating test must survive a restart without losing a finished game, and
the ratings gather every game of the run. Each game is written when it finishes as one line,
with one `write` on a file opened in append mode and then fsynced, so concurrent writers (the
gatekeeper and a `goloop match --base-dir`) never interleave inside a line and a crash can at
worst leave the last line cut short. Readers skip such a line with a warning: that game was
never counted, so a resumed test simply plays it again.

BASEDIR/ratings/games.jsonl holds every gating and match game; a gating game also names its
test (`candidate`, `baseline`), which is how a restarted gatekeeper finds the games it already
has. SGFs go to `.sgfs` files, one game per line, as KataGo writes them.
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Iterator, Optional

from goloop.common.go.sgf import write_sgf

log = logging.getLogger(__name__)

RATINGS_DIR = "ratings"
GAMES_FILE = "games.jsonl"


def games_path(base_dir: str) -> str:
    return os.path.join(base_dir, RATINGS_DIR, GAMES_FILE)


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def game_line(result, source: str, **extra) -> dict:
    """The JSON record of a GameResult (arena.py). `source`: "gating" or "match"."""
    rec = result.record
    line = dict(id=result.game_id, time=utc_now(), source=source, black=result.black,
                white=result.white, winner=result.winner, result=result.result, how=result.how,
                white_points=result.white_points, moves=result.moves,
                size=f"{rec.x_size}x{rec.y_size}", rules=rec.rules.to_compact(include_komi=True))
    if result.reason:
        line["reason"] = result.reason
    line.update(extra)
    return line


def append_line(path: str, text: str) -> None:
    """Append one line (no newline inside `text`) durably, in one write."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = (text.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)


def append_json(path: str, obj: dict) -> None:
    append_line(path, json.dumps(obj, separators=(",", ":"), sort_keys=True))


def append_sgf(path: str, record) -> None:
    append_line(path, write_sgf(record))


def read_games(path: str) -> Iterator[dict]:
    """The game lines of a games.jsonl file (none if it does not exist); lines that do not read
    as a game (a line cut short by a crash) are skipped with a warning naming the line."""
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError:
        return
    with f:
        for n, text in enumerate(f, 1):
            text = text.strip()
            if not text:
                continue
            game = _parse(text)
            if game is None:
                log.warning("skipping unreadable game line %s:%d", path, n)
                continue
            yield game


def _parse(text: str) -> Optional[dict]:
    try:
        game = json.loads(text)
    except ValueError:
        return None
    if not isinstance(game, dict):
        return None
    try:
        black, white, points = str(game["black"]), str(game["white"]), float(game["white_points"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (black and white and 0.0 <= points <= 1.0):
        return None
    return game
