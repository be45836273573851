"""Selfplay end to end: the daemon's files, row by row, against the games' SGFs.

A few tiny games are played by `run_selfplay` (random net: no model in the models dir, as at
the start of a run), then every written row is checked against the position obtained by
replaying its game's SGF: input planes equal our encoder's, targets agree with the game's
result and final position, policy targets live on legal moves, weights are as configured.
"""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest

from goloop.common.config import load_config
from goloop.common.files.trainingdata import (
    ARRAY_NAMES,
    DTYPES,
    NUM_BINARY_CHANNELS,
    NUM_GLOBAL_INPUTS,
    read_npz,
    row_shapes,
    unpack_binary_planes,
)
from goloop.common.go.history import History
from goloop.common.go.sgf import parse_sgf
from goloop.common.nn.features import encode
from goloop.selfplay.config import SelfplayConfig
from goloop.selfplay.daemon import run_selfplay
from goloop.selfplay.rows import game_hash_channels

BLACK, WHITE = 1, 2
POS_LEN = 7


def _config(tmp_path, **over):
    base = dict(outputDir=str(tmp_path / "selfplay"), modelsDir=str(tmp_path / "models"),
                maxGamesTotal=6, seed="test-selfplay", bSizes="7", bSizeRelProbs="1",
                allowRectangleProb=0.0, dataBoardLen=POS_LEN, maxVisits=24, cheapSearchVisits=8,
                reducedVisitsMin=8, numGameThreads=3, nnMaxBatchSize=16, maxRowsPerTrainFile=10000,
                sidePositionProb=0.0, earlyForkGameProb=0.0, forkGameProb=0.0, estimateLeadProb=0.0,
                handicapProb=0.0, compensateKomiVisits=4)
    base.update(over)
    return load_config(SelfplayConfig, None, base)


def _games(sgf_dir):
    games = []
    for path in sorted(glob.glob(os.path.join(sgf_dir, "*.sgfs"))):
        with open(path, encoding="utf-8") as f:
            games += [parse_sgf(line) for line in f if line.strip()]
    return games


def _replay(record, upto):
    """History of the SGF's game after `upto` moves (setup stones are the initial board)."""
    from goloop.common.go.board import Board
    board = Board(record.x_size, record.y_size)
    for p in record.black_setup:
        board.set_stone(p, BLACK)
    for p in record.white_setup:
        board.set_stone(p, WHITE)
    first = BLACK if (record.first_player or "B") == "B" else WHITE
    h = History(record.rules, record.x_size, record.y_size, board=board, pla=first)
    for colour, move in record.moves[:upto]:
        h.play(move, BLACK if colour == "B" else WHITE)
    return h


def _draw_utility(g, h, pla):
    """The game's (random) drawEquivalentWinsForWhite, read back from the row's self-komi
    target C47, which includes the draw adjustment (drawEquivalentWinsForWhite - 0.5, from
    the mover's view) when the result can be a draw."""
    diff = float(g[47]) - h.self_komi(pla, 0.5)
    return 0.5 + (diff if pla == WHITE else -diff)


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sp")
    cfg = _config(tmp)
    assert run_selfplay(cfg, progress=False) == 0
    model_dir = tmp / "selfplay" / "random"
    files = sorted(glob.glob(str(model_dir / "tdata" / "*.npz")))
    return cfg, model_dir, files


def test_layout_and_arrays_are_katagos(played):
    cfg, model_dir, files = played
    assert files, "no training data written"
    for f in files:
        name = os.path.basename(f)
        assert len(name) == 20 and name[:16] == name[:16].upper() and "_" not in name
        int(name[:16], 16)
    assert not glob.glob(str(model_dir / "tdata" / "*.tmp"))
    assert glob.glob(str(model_dir / "selfplay-*.cfg"))
    shapes = row_shapes(POS_LEN)
    for f in files:
        arrays = read_npz(f)
        assert list(arrays) == list(ARRAY_NAMES)
        for k, v in arrays.items():
            assert v.dtype == DTYPES[k], k
            assert v.shape[1:] == shapes[k], k


def test_every_row_matches_its_replayed_sgf_position(played):
    cfg, model_dir, files = played
    games = _games(model_dir / "sgfs")
    assert len(games) == cfg.max_games_total
    arrays = [read_npz(f) for f in files]
    cat = {k: np.concatenate([a[k] for a in arrays]) for k in arrays[0]}
    n = len(cat["globalTargetsNC"])
    assert n > 0
    planes = unpack_binary_planes(cat["binaryInputNCHWPacked"], POS_LEN)
    by_hash = {}
    for record in games:
        words = record.root_comment.split("gameHash=")[1][:32]
        by_hash[game_hash_channels(int(words[:16], 16), int(words[16:], 16))] = record
    matched = 0
    for i in range(n):
        g = cat["globalTargetsNC"][i]
        turn = int(g[51])
        assert g[33] == 1.0   # no side positions in this config: every row is on a game line
        # The row's game: the SGF whose root comment names the row's game hash (C41-46).
        record = by_hash[tuple(float(v) for v in g[41:47])]
        h = _replay(record, turn)
        pla = h.next_player
        sp = np.zeros((1, NUM_BINARY_CHANNELS, POS_LEN, POS_LEN), np.float32)
        gl = np.zeros((1, NUM_GLOBAL_INPUTS), np.float32)
        draw = _draw_utility(g, h, pla)
        encode(h, sp, gl, 0, next_player=pla, draw_equivalent_wins_for_white=draw)
        assert np.array_equal(sp[0], planes[i]), f"row {i}: input planes differ from the SGF position"
        assert np.allclose(cat["globalInputNC"][i], gl[0], atol=1e-6), f"row {i}: global inputs differ"
        found = (record, h, pla, gl[0])
        record, h, pla, gl = found
        matched += 1
        # Final outcome from the mover's view agrees with the SGF result.
        result = record.result
        if result == "Void":
            assert g[2] == 1.0
        else:
            white_won = result.startswith("W+")
            black_won = result.startswith("B+")
            mover_won = (white_won and pla == WHITE) or (black_won and pla == BLACK)
            mover_lost = (white_won and pla == BLACK) or (black_won and pla == WHITE)
            if mover_won:
                assert g[0] == 1.0 and g[1] == 0.0
            elif mover_lost:
                assert g[0] == 0.0 and g[1] == 1.0
            score = float(result[2:]) if result != "0" else 0.0
            assert abs(abs(g[20]) - score) <= 0.5 + 1e-6   # draw adjustment is within half a point
            # Ownership target: the final position's area from the mover's view.
            end = _replay(record, len(record.moves))
            area = end.final_area()
            own = cat["valueTargetsNCHW"][i, 0, :record.y_size, :record.x_size]
            expect = np.where(area == pla, 1, np.where(area == 0, 0, -1))
            assert np.array_equal(own, expect)
        # Policy target: non-negative, only on legal moves (pass included), present with weight.
        pol = cat["policyTargetsNCMove"][i, 0]
        assert (pol >= 0).all()
        if g[26] == 1.0:
            assert pol.sum() > 0
            legal = h.legal_mask(pla)
            board = pol[:-1].reshape(POS_LEN, POS_LEN)[:record.y_size, :record.x_size].reshape(-1)
            assert (board[~legal[:-1]] == 0).all()
            assert pol[:-1].reshape(POS_LEN, POS_LEN)[record.y_size:, :].sum() == 0
        # Weights: main-line rows of full or surprising searches, written a whole number of times.
        assert g[25] == 1.0
        assert g[60] > 0
    assert matched == n


def test_rows_per_game_follow_the_turn_weights(played):
    """Cheap searches are recorded with weight 0 (only surprise brings some back) and the
    written count of a game equals the sum of its integer weights: roughly a quarter of the
    searches are full at cheapSearchProb 0.75, so rows are well under the number of moves."""
    cfg, model_dir, files = played
    games = _games(model_dir / "sgfs")
    moves = sum(len(g.moves) for g in games)
    rows = sum(len(read_npz(f)["globalTargetsNC"]) for f in files)
    assert 0 < rows < moves


def test_stop_request_writes_finished_games_and_exits(tmp_path, monkeypatch):
    """A stop request (SIGINT) drops the games in flight and publishes the rest."""
    import signal
    before = signal.getsignal(signal.SIGINT)   # SIG_IGN when the suite runs in a background job
    cfg = _config(tmp_path, maxGamesTotal=0, numGameThreads=2)
    from goloop.selfplay import daemon
    real_write = daemon._write
    count = {"n": 0}

    def write_then_interrupt(*args, **kw):
        real_write(*args, **kw)
        count["n"] += 1
        if count["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(daemon, "_write", write_then_interrupt)
    assert run_selfplay(cfg, progress=False) == 0
    games = _games(tmp_path / "selfplay" / "random" / "sgfs")
    assert len(games) == 3
    assert glob.glob(str(tmp_path / "selfplay" / "random" / "tdata" / "*.npz"))
    assert signal.getsignal(signal.SIGINT) is before     # the stop handler is removed again


@pytest.mark.parametrize("name", ["selfplay_9x9.cfg", "selfplay_19x19.cfg"])
def test_shipped_configs_load(name):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "configs", name)
    cfg = load_config(SelfplayConfig, path)
    assert cfg.cheapSearchVisits < cfg.maxVisits and max(cfg.bSizes) <= cfg.dataBoardLen


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "selfplay"
    blocker.write_text("a file where the output directory should be")
    cfg = _config(tmp_path, maxGamesTotal=1)
    from goloop.selfplay.output import OutputError
    with pytest.raises(OutputError, match="selfplay"):
        run_selfplay(cfg, progress=False)


def test_bad_selfplay_config_is_refused(tmp_path):
    from goloop.common.config import ConfigError
    with pytest.raises(ConfigError, match="koRules"):
        _config(tmp_path, koRules="SIMPLE,FOO")
    with pytest.raises(ConfigError, match="bSizeRelProbs"):
        _config(tmp_path, bSizes="7,9")
    # One visit leaves the root without children, so no policy target (KataGo asserts mid-game).
    with pytest.raises(ConfigError, match="maxVisits 1"):
        _config(tmp_path, maxVisits=1, cheapSearchVisits=2, reducedVisitsMin=2)
    with pytest.raises(ConfigError, match="reducedVisitsMin"):
        _config(tmp_path, reducedVisitsMin=1)
    with pytest.raises(ConfigError, match="cheapSearchVisits"):
        _config(tmp_path, cheapSearchVisits=1)
