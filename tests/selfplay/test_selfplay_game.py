"""One selfplay game (selfplay/game.py) and the techniques it applies, game by game."""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from goloop.common.config import load_config
from goloop.common.go.rules import ScoringRule
from goloop.common.nn.randomnet import RandomEvaluator
from goloop.common.play.komi import KomiNoise
from goloop.common.play.scheduler import Scheduler, run_sync
from goloop.common.search import core as search_core
from goloop.selfplay import game as game_mod
from goloop.selfplay import gamedata, rows, targets
from goloop.selfplay.config import SelfplayConfig
from goloop.selfplay.game import GameContext, Net, play_game, search_limits
from goloop.selfplay.gameinit import BLACK, WHITE, GameStart, draw_game_start

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
G170 = os.path.join(SHARED, "models", "g170-b6c96-s175395328-d26788732.bin.gz")


def _cfg(**over):
    base = dict(bSizes="9", bSizeRelProbs="1", allowRectangleProb=0.0, dataBoardLen=9,
                maxVisits=16, cheapSearchVisits=4, reducedVisitsMin=4, compensateKomiVisits=4,
                estimateLeadVisits=2, earlyForkGameProb=0.0, forkGameProb=0.0)
    base.update(over)
    return load_config(SelfplayConfig, None, base)


def _random_net(seed=1):
    return Net("random", RandomEvaluator(seed), search_core.NNCache(14))


def _play(cfg, net, seed, start=None):
    ctx = GameContext(cfg, net)
    rng = np.random.default_rng(seed)
    start = start or draw_game_start(cfg, rng)
    return run_sync(play_game(ctx, start, rng), pos_len=cfg.dataBoardLen)


@pytest.fixture(scope="module")
def g170_net():
    from goloop.common.nn.evaluator import Evaluator
    return Net("g170", Evaluator.from_file(G170), search_core.NNCache(16))


def test_rows_carry_the_recorded_search(g170_net):
    cfg = _cfg(sidePositionProb=0.3, estimateLeadProb=0.5)
    out = _play(cfg, g170_net, seed=3)
    g = out.finished
    assert g.end_history.is_finished
    assert out.record.result is not None and len(g.turns) > 10
    assert out.num_cheap + out.num_full == len(g.turns)
    # Cheap searches are recorded with weight 0, full ones with weight (0, 1].
    for t in g.turns:
        assert (t.weight == 0.0) == t.was_cheap_search
        counts = dict(t.policy_target)
        assert min(counts.values()) >= 0 and max(counts.values()) >= 10
        assert t.unreduced_num_visits >= 1
    leads = [t for t in g.turns if t.value.lead is not None]
    assert leads, "estimateLeadProb=0.5 gave no lead estimate"
    assert g.side_positions, "sidePositionProb=0.3 gave no side position"
    rng = np.random.default_rng(0)
    made = list(rows.game_rows(g, 9, rng, out.turn_weights, out.side_weights))
    assert len(made) == int(sum(out.turn_weights) + sum(out.side_weights))
    main = [r for r in made if r.global_targets[33] == 1.0]
    side = [r for r in made if r.global_targets[33] == 0.0]
    assert len(main) == int(sum(out.turn_weights)) and len(side) == int(sum(out.side_weights))
    start = len(g.start_history.moves)
    for r in main:
        t = g.turns[int(r.global_targets[51]) - start]
        expect = targets.policy_target_plane(t.policy_target, 9, 9, 9)
        assert np.array_equal(r.policy_targets[0], expect)
        assert r.global_targets[60] == t.unreduced_num_visits
        assert (r.global_targets[29] == 1.0) == (t.value.lead is not None)


def test_search_limits_follow_playout_cap_randomization():
    cfg = _cfg(maxVisits=600, cheapSearchVisits=100, reducedVisitsMin=100)
    start = GameStart(9, 9, None, 0.5, 0.0, komi=KomiNoise(7.0, 0.0, True))
    rng = np.random.default_rng(1)
    lims = [search_limits(cfg, rng, [], BLACK, start) for _ in range(4000)]
    cheap = [l for l in lims if l.cheap]
    assert abs(len(cheap) / len(lims) - 0.75) < 0.03
    assert all(l.visits == 100 and l.weight == 0.0 and not l.clear_tree and l.remove_root_noise for l in cheap)
    assert all(l.visits == 600 and l.weight == 1.0 and l.clear_tree for l in lims if not l.cheap)
    # Clearly won games get fewer visits and less weight (white winning: all win-loss > 0.9).
    full = [search_limits(dataclasses.replace(cfg, cheapSearchProb=0.0), rng,
                          [0.95, 0.97, 0.99], WHITE, start) for _ in range(3)]
    t = (0.95 - 0.9) / 0.1
    assert full[0].visits == round(600 + t * t * (100 - 600))
    assert full[0].weight == pytest.approx(1 + t * t * (0.1 - 1), rel=1e-6)
    # Unequal visits: the favoured side gets 2f/(f+1) of them.
    start.pda, start.pda_pla = 2.0, WHITE
    nc = dataclasses.replace(cfg, cheapSearchProb=0.0, reduceVisits=False)
    assert search_limits(nc, rng, [], WHITE, start).visits == round(600 * 2 * 4 / 5)
    assert search_limits(nc, rng, [], BLACK, start).visits == round(600 * 2 / 5)


def test_handicap_games_place_black_stones_and_may_be_asymmetric():
    # Unequal visits can cut a side's budget to 2/9 of it: no cheap 4-visit searches here.
    cfg = _cfg(bSizes="11", dataBoardLen=11, handicapProb=1.0, handicapAsymmetricPlayoutProb=1.0,
               initGamesWithPolicy=False, cheapSearchProb=0.0, maxVisits=24, reducedVisitsMin=24)
    rng = np.random.default_rng(5)
    start = draw_game_start(cfg, rng)
    assert start.extra_black == 1 and start.pda_pla == WHITE and start.pda > 0
    out = _play(cfg, _random_net(), seed=5, start=start)
    g = out.finished
    assert g.mode == gamedata.MODE_ASYM
    stones = g.start_history.initial_board.stones()
    assert (stones == BLACK).sum() == 1 and (stones == WHITE).sum() == 0
    assert g.start_history.next_player == BLACK        # black still moves first
    assert out.record.black_setup and out.record.handicap == 1
    assert g.playout_doubling_advantage == start.pda


def test_forks_start_later_games():
    cfg = _cfg(earlyForkGameProb=0.5, initGamesWithPolicy=False, scoringRules="AREA")  # no encore jumps
    forks = []
    for seed in range(6):
        forks += _play(cfg, _random_net(seed), seed=seed).forks
    assert forks, "earlyForkGameProb=0.5 over 6 games gave no fork"
    fork = forks[0]
    rng = np.random.default_rng(9)
    start = draw_game_start(cfg, rng, fork_history=fork)
    out = _play(cfg, _random_net(), seed=9, start=start)
    g = out.finished
    assert g.mode == gamedata.MODE_FORK
    assert g.start_history.moves[:len(fork.moves)] == fork.moves


def test_cleanup_training_starts_territory_games_in_the_encore(monkeypatch):
    monkeypatch.setattr(game_mod, "CLEANUP_TRAINING_PROB", 1.0)
    cfg = _cfg(scoringRules="TERRITORY", initGamesWithPolicy=False)
    out = _play(cfg, _random_net(), seed=4)
    g = out.finished
    assert g.start_history.rules.scoring_rule == ScoringRule.TERRITORY
    assert g.mode == gamedata.MODE_CLEANUP_TRAINING
    assert g.start_history.encore_phase in (1, 2)


def test_games_switch_to_a_new_net_mid_game(monkeypatch):
    monkeypatch.setattr(game_mod, "NET_CHECK_PROB", 1.0)
    cfg = _cfg(initGamesWithPolicy=False)
    ctx = GameContext(cfg, _random_net(1))
    rng = np.random.default_rng(2)
    sched = Scheduler(9, 16)
    sched.add(play_game(ctx, draw_game_start(cfg, rng), rng))
    for _ in range(20):
        sched.step()
    new = Net("second", RandomEvaluator(2), search_core.NNCache(12))
    ctx.net = new
    results = []
    while sched.busy:
        results += sched.step()
    out = results[0][1]
    assert out.model_name == "second"
    assert out.finished.changed_neural_nets and out.finished.changed_neural_nets[0][0] == "second"


def test_stopping_drops_the_game():
    cfg = _cfg()
    ctx = GameContext(cfg, _random_net(), stopping=lambda: True)
    rng = np.random.default_rng(0)
    assert run_sync(play_game(ctx, draw_game_start(cfg, rng), rng), pos_len=9) is None


def test_seki_forks_replay_the_end_of_games_that_left_unowned_points():
    cfg = _cfg(scoringRules="AREA,TERRITORY", taxRules="NONE,SEKI,ALL")
    out = _play(cfg, _random_net(3), seed=3)
    g = out.finished
    end = g.end_history
    assert end.is_finished and not end.is_no_result
    rng = np.random.default_rng(0)
    settled = np.full(g.final.ownership.shape, BLACK, np.uint8)
    assert game_mod.seki_forks(cfg, g.start_history, end, settled, rng) == []
    unowned = settled.copy()
    unowned[0, 0] = 0
    forks = game_mod.seki_forks(cfg, g.start_history, end, unowned, rng)
    assert 1 <= len(forks) <= 2
    for f in forks:
        assert f.moves == end.moves[:len(f.moves)]
        assert len(f.moves) >= len(end.moves) * 0.5 and not f.is_finished
        assert f.rules.ko_rule == end.rules.ko_rule and f.rules.komi == end.rules.komi
        assert f.rules.has_button is False or f.rules.scoring_rule == ScoringRule.AREA
