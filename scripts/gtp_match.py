"""A small GTP referee: play two engines against each other, alternating colours, save SGFs.

Used to check that goloop plays sensible Go against a real peer (GNU Go), e.g.

    python scripts/gtp_match.py --games 20 --size 9 --komi 7 --rules chinese \
        --a "goloop gtp --model ../shared/models/g170-b6c96-s175395328-d26788732.bin.gz \
             --override maxVisits=400" \
        --b "/usr/games/gnugo --mode gtp --level 10 --chinese-rules" \
        --sgf-dir runs/match

The referee keeps its own copy of the game (goloop's rules engine) and only forwards moves that
are legal under the rules; a side that answers an illegal move loses. A finished game (two
passes) is scored by the engine named with --scorer (default: the second engine, e.g. GNU Go's
`final_score`, which removes dead stones), resignations by the resigner's loss.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from typing import Optional

from goloop.common.go.coords import gtp_to_point, point_to_gtp
from goloop.common.go.history import History
from goloop.common.go.rules import parse_rules
from goloop.common.go.sgf import GameRecord, save_sgf


class Engine:
    """One GTP subprocess, spoken to line by line."""

    def __init__(self, command: str, name: str):
        self.name = name
        self.proc = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)

    def send(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if line == "":
                raise RuntimeError(f"{self.name} exited during {command!r}")
            line = line.rstrip("\r\n")
            if line == "" and lines:
                break
            if line or lines:
                lines.append(line)
        reply = "\n".join(lines)
        if not reply.startswith("="):
            raise RuntimeError(f"{self.name} refused {command!r}: {reply}")
        return reply[1:].strip()

    def close(self) -> None:
        try:
            self.send("quit")
        except (RuntimeError, OSError):
            pass
        self.proc.wait(timeout=10)


def score_value(text: str) -> Optional[float]:
    """'W+3.5' / 'B+1' / '0' -> white minus black."""
    text = text.strip().upper()
    if text in ("0", "DRAW"):
        return 0.0
    if len(text) > 2 and text[1] == "+" and text[0] in "BW":
        try:
            value = float(text[2:])
        except ValueError:
            return None
        return value if text[0] == "W" else -value
    return None


def play_game(black: Engine, white: Engine, scorer: Engine, args) -> dict:
    rules = parse_rules(args.rules, komi=args.komi)
    hist = History(rules, args.size)
    for e in {id(black): black, id(white): white}.values():
        e.send(f"boardsize {args.size}")
        e.send("clear_board")
        e.send(f"komi {args.komi}")
    players = {1: black, 2: white}
    result, reason = None, ""
    start = time.time()
    while len(hist.moves) < args.max_moves:
        pla = hist.next_player
        color = "B" if pla == 1 else "W"
        reply = players[pla].send(f"genmove {color}").lower()
        if reply == "resign":
            result, reason = ("W+R" if pla == 1 else "B+R"), f"{color} resigned"
            break
        try:
            move = gtp_to_point(reply, args.size, args.size)
        except ValueError:
            result, reason = ("W+F" if pla == 1 else "B+F"), f"{color} answered {reply!r}"
            break
        if not hist.is_legal(move, pla):
            result, reason = ("W+F" if pla == 1 else "B+F"), f"{color} played illegal {reply}"
            break
        hist.play(move, pla)
        players[3 - pla].send(f"play {color} {point_to_gtp(move, args.size, args.size)}")
        if scorer is not black and scorer is not white:
            scorer.send(f"play {color} {point_to_gtp(move, args.size, args.size)}")
        if hist.is_finished:
            break
    if result is None:
        text = scorer.send("final_score")
        value = score_value(text)
        result, reason = text, f"scored by {scorer.name}"
        if value is None:
            result = "?"
    winner = result[0] if result and result[0] in "BW" else None
    return dict(result=result, reason=reason, winner=winner, moves=hist.moves,
                seconds=round(time.time() - start, 1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="command of engine A (e.g. goloop gtp ...)")
    ap.add_argument("--b", required=True, help="command of engine B (e.g. gnugo --mode gtp)")
    ap.add_argument("--name-a", default="A")
    ap.add_argument("--name-b", default="B")
    ap.add_argument("--games", type=int, default=20)
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--komi", type=float, default=7.0)
    ap.add_argument("--rules", default="chinese")
    ap.add_argument("--max-moves", type=int, default=400)
    ap.add_argument("--scorer", choices=("a", "b"), default="b",
                    help="which engine's final_score decides finished games")
    ap.add_argument("--sgf-dir", default=None)
    args = ap.parse_args()
    a, b = Engine(args.a, args.name_a), Engine(args.b, args.name_b)
    scorer = a if args.scorer == "a" else b
    wins = {args.name_a: 0, args.name_b: 0}
    records = []
    try:
        for g in range(args.games):
            a_is_black = g % 2 == 0
            black, white = (a, b) if a_is_black else (b, a)
            out = play_game(black, white, scorer, args)
            winner = None
            if out["winner"] == "B":
                winner = black.name
            elif out["winner"] == "W":
                winner = white.name
            if winner:
                wins[winner] += 1
            line = dict(game=g + 1, black=black.name, white=white.name, result=out["result"],
                        winner=winner, reason=out["reason"], moves=len(out["moves"]),
                        seconds=out["seconds"])
            records.append(line)
            print(json.dumps(line), flush=True)
            if args.sgf_dir:
                os.makedirs(args.sgf_dir, exist_ok=True)
                rec = GameRecord(x_size=args.size, y_size=args.size, komi=args.komi,
                                 rules=parse_rules(args.rules, komi=args.komi),
                                 moves=[("B" if c == 1 else "W", m) for c, m in out["moves"]],
                                 result=out["result"], black_name=black.name,
                                 white_name=white.name)
                save_sgf(rec, os.path.join(args.sgf_dir, f"game{g + 1:03d}.sgf"))
    finally:
        a.close()
        b.close()
    print(json.dumps({"summary": wins, "games": args.games}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
