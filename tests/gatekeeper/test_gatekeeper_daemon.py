"""The gatekeeper daemon on a real BASEDIR: real nets, real games, verdicts, renames, restarts.

Strong vs weak is the real g170 b6c96 net against the random net KataGo plays before the first
model (baseline when models/ is empty) and against a freshly initialised b6c96 (a "random net"
as a model file, for a candidate). Games are 7x7 with a handful of visits so that each test
takes seconds; a game still running after 120 moves is scored as it stands.
"""
from __future__ import annotations

import json
import logging
import os
import pathlib
import re
import shutil
import signal

import pytest
import torch

from goloop.common.config import load_config
from goloop.common.go.history import History
from goloop.common.go.sgf import parse_sgf
from goloop.common.nn.model import Model
from goloop.common.nn.modelconfigs import config_of_name
from goloop.common.nn.modelfile import save_model_file
from goloop.gatekeeper import records
from goloop.gatekeeper.config import GatekeeperConfig
from goloop.gatekeeper.daemon import Tally, accepted, colours_left, decided_early, run_gatekeeper

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
G170 = SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
BLACK, WHITE = 1, 2


def _hash(rec):
    """The game hash of an SGF's root comment (KataGo's key=value list)."""
    return dict(kv.split("=", 1) for kv in rec.root_comment.split(","))["gameHash"]


def _config(base, **over):
    keys = dict(baseDir=str(base), bSizes="7", bSizeRelProbs="1", allowRectangleProb=0.0,
                maxVisits=4, compensateKomiVisits=2, numGamesPerGating=4, numGameThreads=4,
                maxMovesPerGame=120, numEigenThreadsPerModel=1, nnMaxBatchSize=16,
                quitIfNoNetsToTest=True, seed="gatekeeper-test")
    keys.update(over)
    return load_config(GatekeeperConfig, None, keys)


def _put_model(src, directory, mtime):
    directory.mkdir(parents=True)
    shutil.copy(src, directory / "model.bin.gz")
    os.utime(directory / "model.bin.gz", (mtime, mtime))


@pytest.fixture(scope="module")
def fresh_net(tmp_path_factory):
    """A b6c96 straight from its initialisation: it has learnt nothing."""
    torch.manual_seed(7)
    path = tmp_path_factory.mktemp("fresh") / "model.bin.gz"
    save_model_file(Model(config_of_name("b6c96")).eval(), path, "fresh-b6c96")
    return path


def _games(base):
    return list(records.read_games(records.games_path(str(base))))


def _check_games_against_sgfs(base, candidate):
    """Every recorded game has its SGF, and the SGF replays to the recorded result."""
    sgfs = {}
    for path in (base / "gatekeepersgf" / candidate).glob("*.sgfs"):
        for line in path.read_text().splitlines():
            rec = parse_sgf(line)
            sgfs[_hash(rec)] = rec
    games = [g for g in _games(base) if g["candidate"] == candidate]
    assert games and {g["id"] for g in games} == set(sgfs)
    for g in games:
        rec = sgfs[g["id"]]
        assert (rec.black_name, rec.white_name, rec.result) == (g["black"], g["white"], g["result"])
        h = History(rec.rules, rec.x_size, rec.y_size)
        for colour, move in rec.moves:
            pla = BLACK if colour == "B" else WHITE
            assert h.is_legal(move, pla)
            h.play(move, pla)
        if g["how"] == "score":
            if not h.is_finished:      # ended because the whole board became pass-alive
                assert h.end_game_if_all_pass_alive()
            assert h.result_string() == g["result"]
        elif g["how"] == "move-limit":
            assert len(rec.moves) == 120 and not h.is_finished
        elif g["how"] == "resign":
            # the side that resigns is the one that just moved
            assert g["winner"] == ("W" if rec.moves[-1][0] == "B" else "B")
        assert g["white_points"] == {"W": 1.0, "B": 0.0}.get(g["winner"], 0.5)
        # KataGo's per-move comment: White's win, loss, no result, score and the root visits
        assert len(rec.move_comments) == len(rec.moves)
        assert all(re.fullmatch(r"[01]\.\d\d [01]\.\d\d [01]\.\d\d -?\d+\.\d v=\d+( result=.*)?", c)
                   for c in rec.move_comments)
        if g["how"] != "move-limit":
            assert rec.move_comments[-1].endswith(f" result={g['result']}")
    return games


def test_accepts_a_clearly_stronger_candidate(tmp_path):
    """No accepted model yet: the baseline is the random net, the real net beats it."""
    _put_model(G170, tmp_path / "modelstobetested" / "g170", 1_000_000)
    assert run_gatekeeper(_config(tmp_path), progress=False) == 0
    assert (tmp_path / "models" / "g170" / "model.bin.gz").is_file()
    assert not any((tmp_path / "modelstobetested").iterdir())
    for sub in ("sgfs", "tdata", "vadata"):
        assert (tmp_path / "selfplay" / "g170" / sub).is_dir()
    games = _check_games_against_sgfs(tmp_path, "g170")
    assert all(g["baseline"] == "random" and g["source"] == "gating" for g in games)
    tally = Tally()
    for g in games:
        tally.add(g, "g170")
    # won every game, stopped as soon as it had half of the 4 games' points
    assert tally.candidate_points == tally.games >= 2
    assert len(list((tmp_path / "gatekeepersgf" / "g170").glob("gatekeeper-*.cfg"))) == 1


def test_rejects_a_clearly_weaker_candidate(tmp_path, fresh_net):
    _put_model(G170, tmp_path / "models" / "g170", 1_000_000)
    _put_model(fresh_net, tmp_path / "modelstobetested" / "fresh", 2_000_000)
    assert run_gatekeeper(_config(tmp_path), progress=False) == 0
    assert (tmp_path / "rejectedmodels" / "fresh" / "model.bin.gz").is_file()
    assert (tmp_path / "models" / "g170" / "model.bin.gz").is_file()
    assert not (tmp_path / "selfplay" / "fresh").exists()
    games = _check_games_against_sgfs(tmp_path, "fresh")
    tally = Tally()
    for g in games:
        tally.add(g, "fresh")
    assert all(g["baseline"] == "g170" for g in games)
    # lost every game, stopped once 2 of 4 points were out of reach
    assert tally.baseline_points == tally.games >= 3 and not accepted(tally, 0.5)


def test_candidate_older_than_the_baseline_is_rejected_unplayed(tmp_path):
    _put_model(G170, tmp_path / "models" / "g170", 2_000_000)
    _put_model(G170, tmp_path / "modelstobetested" / "old", 1_000_000)
    assert run_gatekeeper(_config(tmp_path), progress=False) == 0
    assert (tmp_path / "rejectedmodels" / "old" / "model.bin.gz").is_file()
    assert _games(tmp_path) == []


class _InterruptAfter(logging.Handler):
    """Sends this process SIGINT when the daemon logs its n-th finished game."""

    def __init__(self, n):
        super().__init__()
        self.n, self.seen = n, 0

    def emit(self, record):
        if record.getMessage() == "gating game":
            self.seen += 1
            if self.seen == self.n:
                os.kill(os.getpid(), signal.SIGINT)


def test_a_restart_in_the_middle_of_a_test_keeps_its_finished_games(tmp_path, caplog):
    _put_model(G170, tmp_path / "modelstobetested" / "g170", 1_000_000)
    cfg = _config(tmp_path, numGamesPerGating=8, numGameThreads=2)
    daemon_log = logging.getLogger("goloop.gatekeeper.daemon")
    stopper = _InterruptAfter(2)
    daemon_log.addHandler(stopper)
    try:
        with caplog.at_level(logging.INFO, logger="goloop.gatekeeper.daemon"):
            assert run_gatekeeper(cfg, progress=False) == 0      # SIGINT: a clean exit
    finally:
        daemon_log.removeHandler(stopper)
    assert stopper.seen >= 2
    caplog.clear()
    first = _games(tmp_path)
    assert len(first) >= 2
    assert (tmp_path / "modelstobetested" / "g170" / "model.bin.gz").is_file()   # undecided
    text_after_first = records.games_path(str(tmp_path))
    saved = pathlib.Path(text_after_first).read_text()

    with caplog.at_level(logging.INFO, logger="goloop.gatekeeper.daemon"):
        assert run_gatekeeper(cfg, progress=False) == 0
    resumed = [r for r in caplog.records if r.getMessage() == "testing candidate"]
    assert resumed[0].goloop_fields["already_played"] == len(first)
    assert pathlib.Path(text_after_first).read_text().startswith(saved)   # nothing rewritten
    every = _games(tmp_path)
    second = every[len(first):]
    assert len({g["id"] for g in every}) == len(every)      # no game played twice
    # Resumed, not restarted: 4 points were needed in all, the first run's games count.
    assert 1 <= len(second) < 4
    assert (tmp_path / "models" / "g170" / "model.bin.gz").is_file()
    _check_games_against_sgfs(tmp_path, "g170")


def test_a_torn_last_line_is_a_game_to_play_again(tmp_path):
    path = tmp_path / "ratings" / "games.jsonl"
    path.parent.mkdir()
    good = dict(id="A", black="x", white="y", white_points=1.0, source="gating")
    path.write_text(json.dumps(good) + "\n" + '{"id": "B", "black": "x", "whi')
    assert [g["id"] for g in records.read_games(str(path))] == ["A"]


def test_verdict_and_early_stop_follow_katago():
    t = Tally(games=6, candidate_points=3.0)
    assert accepted(t, 0.5)                                   # ties go to the candidate
    assert not accepted(Tally(games=6, candidate_points=2.5), 0.5)
    assert decided_early(Tally(games=5, candidate_points=5.0), 10, 0.5)        # has 5 of 10
    assert not decided_early(Tally(games=5, candidate_points=4.5), 10, 0.5)
    assert decided_early(Tally(games=6, candidate_points=0.5), 10, 0.5)        # 0.5 + 4 < 5
    assert not decided_early(Tally(games=6, candidate_points=1.0), 10, 0.5)    # 1 + 4 = 5


def test_colours_are_dealt_evenly_around_the_games_already_played():
    import numpy as np
    rng = np.random.default_rng(0)
    fresh = colours_left(Tally(), 200, rng)
    assert len(fresh) == 200 and sum(fresh) == 100
    # dealt in pairs: every prefix of even length is balanced
    assert all(sum(fresh[:k]) == k // 2 for k in range(0, 200, 2))
    resumed = colours_left(Tally(games=7, candidate_points=4.0, candidate_black=5), 20, rng)
    assert len(resumed) == 13 and 5 + sum(resumed) == 10
    odd = colours_left(Tally(), 7, rng)
    assert len(odd) == 7 and sum(odd) in (3, 4)
