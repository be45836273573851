"""`goloop match`: a net against GNU Go (a real GTP engine), net against net, and the summary."""
from __future__ import annotations

import io
import json
import logging
import pathlib
import shutil

import pytest
from click.testing import CliRunner

from goloop import cli
from goloop.common.config import load_config
from goloop.common.go.history import History
from goloop.common.go.sgf import parse_sgf
from goloop.gatekeeper import records
from goloop.gatekeeper.config import MatchConfig
from goloop.gatekeeper.match import run_match, summarize

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
G170 = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
GNUGO = shutil.which("gnugo") or shutil.which("/usr/games/gnugo")
BLACK, WHITE = 1, 2


def _hash(rec):
    """The game hash of an SGF's root comment (KataGo's key=value list)."""
    return dict(kv.split("=", 1) for kv in rec.root_comment.split(","))["gameHash"]

SMALL = dict(bSizes="7", bSizeRelProbs="1", scoringRules="AREA", taxRules="NONE",
             hasButtons="false", koRules="POSITIONAL", multiStoneSuicideLegals="false",
             maxVisits=8, compensateKomiVisits=2, maxMovesPerGame=150, numGameThreads=2,
             numEigenThreadsPerModel=1, nnMaxBatchSize=8, seed="match-test")


def _lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.skipif(GNUGO is None, reason="GNU Go is not installed (Debian package gnugo)")
def test_a_net_against_gnu_go_runs_and_records_its_games(tmp_path):
    cfg_file = tmp_path / "match.cfg"
    cfg_file.write_text("".join(f"{k} = {v}\n" for k, v in SMALL.items()))
    result = CliRunner().invoke(cli.main, [
        "match", "-config", str(cfg_file), "--black", str(G170),
        "--white", f"{GNUGO} --mode gtp --level 1", "--white-name", "gnugo-1", "--games", "3",
        "--sgf-dir", str(tmp_path / "sgf"), "--base-dir", str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout)
    games, summary = lines[:-1], lines[-1]["summary"]
    net = "g170-b6c96-s175395328-d26788732"
    assert len(games) == 3 and summary["games"] == 3
    # colours alternate, --black first
    by_index = {g["game"]: g for g in games}
    assert [by_index[i]["black"] for i in (1, 2, 3)] == [net, "gnugo-1", net]
    assert summary["players"] == [net, "gnugo-1"]
    assert summary["wins"] + summary["losses"] + summary["draws"] == 3
    # GNU Go passes with dead stones on the board: games ended by passes take its final_score
    assert all(g["how"] in ("engine-score", "resign", "move-limit") for g in games), games
    lo, hi = summary["score_rate_ci95"]
    assert 0.0 <= lo <= summary["score_rate"] <= hi <= 1.0
    # every game is in the ratings file and in the SGFs, and the SGF replays legally
    recorded = {g["id"]: g for g in records.read_games(records.games_path(str(tmp_path / "run")))}
    assert set(recorded) == {g["id"] for g in games}
    assert all(g["source"] == "match" for g in recorded.values())
    sgf_lines = [line for p in (tmp_path / "sgf").glob("*.sgfs")
                 for line in p.read_text().splitlines()]
    assert len(sgf_lines) == 3
    for line in sgf_lines:
        rec = parse_sgf(line)
        game = recorded[_hash(rec)]
        assert (rec.black_name, rec.white_name) == (game["black"], game["white"])
        assert rec.result == game["result"]
        h = History(rec.rules, rec.x_size, rec.y_size)
        for colour, move in rec.moves:
            pla = BLACK if colour == "B" else WHITE
            assert h.is_legal(move, pla)
            h.play(move, pla)
    # the engine processes are gone
    assert "gnugo" not in _children()


def _children() -> str:
    import os
    import subprocess
    out = subprocess.run(["ps", "-o", "args=", "--ppid", str(os.getpid())], capture_output=True,
                         text=True).stdout
    return out


def test_the_same_net_twice_plays_itself_with_alternating_colours(tmp_path):
    cfg = load_config(MatchConfig, None, dict(SMALL, numGamesTotal=2))
    out = io.StringIO()
    assert run_match(cfg, str(G170), str(G170), sgf_dir=str(tmp_path), out=out, progress=False) == 0
    lines = _lines(out.getvalue())
    summary = lines[-1]["summary"]
    assert summary["players"] == [f"{n} ({s})" for n, s in
                                  (("g170-b6c96-s175395328-d26788732", "A"),
                                   ("g170-b6c96-s175395328-d26788732", "B"))]
    assert summary["games"] == 2 and summary["nn_evals"] > 0
    assert {g["black"] for g in lines[:-1]} == set(summary["players"])


def test_an_engine_that_cannot_start_stops_the_match_with_a_clear_error(tmp_path):
    cfg = load_config(MatchConfig, None, dict(SMALL, numGamesTotal=2))
    out = io.StringIO()
    errors = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: errors.append(record)
    logging.getLogger("goloop.gatekeeper.match").addHandler(handler)
    try:
        code = run_match(cfg, "/bin/false", str(G170), out=out, progress=False)
    finally:
        logging.getLogger("goloop.gatekeeper.match").removeHandler(handler)
    assert code == 1
    message = str(errors[0].goloop_fields["error"])
    assert "'/bin/false'" in message and "exited (code 1)" in message
    assert _lines(out.getvalue())[-1]["summary"]["games"] == 0


class _R:
    def __init__(self, black, white, winner):
        self.black, self.white, self.winner = black, white, winner
        self.white_points = {"W": 1.0, "B": 0.0}.get(winner, 0.5)
        self.black_points = 1.0 - self.white_points


def test_summary_counts_from_the_first_players_view_with_a_wilson_interval():
    results = [_R("a", "b", "B"), _R("b", "a", "B"), _R("a", "b", ""), _R("b", "a", "W")] * 5
    s = summarize(results, "a", "b")
    assert (s["games"], s["wins"], s["losses"], s["draws"], s["score"]) == (20, 10, 5, 5, 12.5)
    assert s["score_rate"] == 0.625
    # Wilson's interval: the roots of (0.625 - p)^2 = 1.96^2 p (1 - p) / 20
    assert s["score_rate_ci95"] == pytest.approx([0.4095, 0.8002], abs=1e-4)
    assert s["elo_diff"] == pytest.approx(88.7, abs=0.1)
    assert summarize([_R("a", "b", "B")], "a", "b")["elo_diff"] is None   # 100%: unbounded
