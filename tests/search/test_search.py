"""goloop.common.search.searcher / core / math_tables: KataGo's MCTS mechanics.

Most tests use RowwiseNet, a stand-in for Evaluator whose outputs are a fixed function of each
input row alone (so batching cannot change them, unlike a real convolution on CPU); it makes
batch/separate equality and cache tests exact and keeps the file fast. The real-net agreement
with KataGo is tests/search/test_search_golden.py.
"""
from __future__ import annotations

import math
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from goloop.common.go.history import History
from goloop.common.go.rules import parse_rules
from goloop.common.search import core as search_core
from goloop.common.search import math_tables as search_math
from goloop.common.search.params import SearchParams, SearchParamsError
from goloop.common.search.searcher import Searcher, SearchError, core_for, run_batches

BLACK, WHITE = 1, 2


class RowwiseNet:
    """Evaluator stand-in: policy, value, score and ownership from each row's own features
    (stones, liberties, komi), computed row by row. Records calls and rows."""

    def __init__(self, version: int = 8, pass_logit: float = -2.0):
        m = SimpleNamespace(score_mean=20.0, score_stdev=20.0, lead=20.0, variance_time=40.0,
                            shortterm_value_error=0.25, shortterm_score_error=30.0)
        self.info = SimpleNamespace(version=version, multipliers=m, prefer_pass_alive_under_suicide=False)
        self.pass_logit = pass_logit
        self.calls = 0
        self.rows = 0

    def raw(self, spatial, global_, symmetries):
        n, _, ys, xs = spatial.shape
        self.calls += 1
        self.rows += n
        nchan = 2 if self.info.version >= 12 else 1
        policy = np.zeros((n, nchan, ys * xs + 1), np.float32)
        value = np.zeros((n, 3), np.float32)
        score = np.zeros((n, 6 if self.info.version >= 9 else 4), np.float32)
        own = np.zeros((n, ys, xs), np.float32)
        yy, xx = np.mgrid[0:ys, 0:xs]
        for i in range(n):
            on, mine, theirs = spatial[i, 0], spatial[i, 1], spatial[i, 2]
            libs1 = spatial[i, 3]
            near = np.zeros((ys, xs), np.float32)
            for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                near += np.roll(np.roll(mine + theirs, dy, 0), dx, 1)
            h = float(np.sum(mine * (xx + 3 * yy + 1)) - np.sum(theirs * (2 * xx + yy + 1)))
            wobble = np.sin(xx * 1.7 + yy * 2.3 + h * 0.37).astype(np.float32)
            centre = -((xx - (xs - 1) / 2) ** 2 + (yy - (ys - 1) / 2) ** 2) / xs
            logits = centre + 0.8 * near + 1.5 * libs1 + 0.5 * wobble
            policy[i, 0, :-1] = (logits * on).reshape(-1)
            policy[i, 0, -1] = self.pass_logit + 0.1 * math.sin(h)
            if nchan == 2:
                policy[i, 1] = policy[i, 0] * 1.1
            diff = float(np.sum(mine) - np.sum(theirs)) + float(global_[i, 5]) * 15.0
            value[i] = (0.15 * diff + 0.3 * math.sin(h), -0.15 * diff, -4.0)
            score[i, 0] = 0.05 * diff + 0.02 * math.sin(h)
            score[i, 1] = 0.5
            score[i, 2] = 0.04 * diff
            score[i, 3] = 0.1
            if score.shape[1] > 4:
                score[i, 4] = -1.0 + 0.1 * math.cos(h)
                score[i, 5] = -0.5
            own[i] = 3.0 * (mine - theirs) + 0.2 * wobble
        return policy, value, score, own


def make_history(moves=(), size=9, rules="chinese", komi=7.0, **kw):
    h = History(parse_rules(rules, komi=komi), size, **kw)
    for m in moves:
        h.play(m, h.next_player)
    return h


def gtp_params(**kw):
    base = dict(nnRandomize=False, maxVisits=60)
    base.update(kw)
    return SearchParams.for_gtp(**base)


def visits_of(analysis):
    return {m.move: (m.edge_visits, m.visits) for m in analysis.moves if m.is_symmetry_of is None and m.edge_visits > 0}


# ------------------------------------------------------------------------------------------------
# Tables and parameters


def test_score_value_table_close_to_the_expectation():
    z, w = np.polynomial.hermite_e.hermegauss(120)   # E[f(N(0,1))] = sum(w f(z)) / sqrt(2 pi)
    for mean, sd, centre, scale, sqa in [(3.0, 10.0, 0.0, 2.0, 9.0), (-20.0, 5.0, 3.0, 0.75, 9.0),
                                         (0.3, 0.0, 0.0, 2.0, 19.0), (100.0, 30.0, 2.0, 0.5, 13.0)]:
        f = 2 / math.pi * np.arctan((mean + sd * z - centre) / (scale * sqa))
        exact = float(np.sum(w * f) / math.sqrt(2 * math.pi))
        assert search_math.expected_score_value(mean, sd, centre, scale, sqa) == pytest.approx(exact, abs=5e-4)
    # The table is an interpolation, not the closed form: this gap is what flips KataGo's visits.
    assert search_math.expected_score_value(0.3, 0.0, 0.0, 2.0, 19.0) != 2 / math.pi * math.atan(0.3 / 38)


def test_t3_table_interpolates_the_student_t_cdf():
    for z in (-7.0, -1.3, -0.2, 0.0, 0.01, 0.7, 3.0, 20.0):
        assert search_math.t3_cdf(z) == pytest.approx(search_math.t3_cdf_closed_form(z), abs=2e-4)
    assert search_math.t3_cdf(-60) == 0.0 and search_math.t3_cdf(60) == 1.0
    assert search_math.t3_cdf(0.0) == 0.5


def test_params_constructors_and_validation():
    gtp = SearchParams.for_gtp()
    assert gtp.conservativePass and gtp.fillDameBeforePass and gtp.useNoisePruning
    assert gtp.cpuctExplorationLog == 0.45 and gtp.subtreeValueBiasFactor == 0.45
    ana = SearchParams.for_analysis()
    assert ana.wideRootNoise == 0.04 and ana.ignorePreRootHistory and ana.conservativePass
    sp = SearchParams.for_selfplay()
    assert sp.maxVisits == 600 and sp.rootNoiseEnabled and sp.rootDesiredPerChildVisitsCoeff == 2.0
    assert not sp.rootSymmetryPruning and sp.rootNumSymmetriesToSample == 4
    assert sp.replace(maxVisits=5).maxVisits == 5
    with pytest.raises(SearchParamsError):
        SearchParams(cpuctExploration=-1.0)
    with pytest.raises(SearchParamsError):
        SearchParams(maxVisits=0)


# ------------------------------------------------------------------------------------------------
# Basic searches


def test_search_reaches_max_visits_and_reports_consistently():
    net = RowwiseNet()
    s = Searcher(net, gtp_params(maxVisits=80), seed=3)
    s.set_position(make_history([(4, 4), (2, 4)]))
    a = s.search()
    assert a.root.visits == 80
    inv = s.core.debug_invariants()
    assert inv["virtual_losses"] == 0 and inv["visits_ok"] and inv["root_edge_visits"] == 79
    psv_order = [m.order for m in a.moves]
    assert psv_order == list(range(len(a.moves)))
    searched = [m for m in a.moves if m.is_symmetry_of is None and m.edge_visits > 0]
    assert sum(m.edge_visits for m in searched) == 79
    for m in a.moves:
        assert 0.0 <= m.white_winrate <= 1.0 and m.pv[0] == m.move
        assert len(m.pv) == len(m.pv_visits) == len(m.pv_edge_visits) <= 14
    assert a.policy.shape == (82,) and a.policy.max() <= 1.0
    assert s.analysis(include_pv=False).moves[0].pv == [a.moves[0].move]


def test_minmoves_rows_include_avoided_moves_on_an_asymmetric_board():
    """KataGo leaves avoided moves out of a report only when it adds symmetric rows; with
    minmoves on an asymmetric position they are listed, unvisited. Reports also carry each
    move's play selection value and child weight."""
    net = RowwiseNet()
    s = Searcher(net, gtp_params(maxVisits=40), seed=3)
    s.set_position(make_history([(4, 4), (2, 4), (3, 2)]))
    avoided = {(3, 6), (2, 5), (4, 6)}
    s.set_avoid_moves(avoid={2: {m: 1 for m in avoided}})
    s.search()
    a = s.analysis(min_moves=81)
    rows = {m.move: m for m in a.moves}
    for m in avoided:
        assert m in rows and rows[m].visits == 0 and rows[m].edge_visits == 0
    visited = [m for m in a.moves if m.edge_visits > 0]
    assert visited and all(m.move not in avoided for m in visited)
    assert all(m.play_selection_value is not None and m.child_weight is not None for m in a.moves)
    assert max(m.play_selection_value for m in visited) > 0
    assert a.root.raw_white_score_stdev is not None and a.root.raw_white_score_stdev >= 0


def test_symmetric_root_reports_duplicate_rows():
    s = Searcher(RowwiseNet(), gtp_params(maxVisits=40), seed=1)
    s.set_position(make_history())
    a = s.search()
    by_move = {m.move: m for m in a.moves}
    dups = [m for m in a.moves if m.is_symmetry_of is not None]
    assert dups, "the empty board is symmetric: images of searched moves are reported"
    for d in dups:
        src = by_move[d.is_symmetry_of]
        assert (d.visits, d.edge_visits, d.white_utility, d.prior) == (src.visits, src.edge_visits, src.white_utility, src.prior)
    assert len(by_move) == len(a.moves)
    off = Searcher(RowwiseNet(), gtp_params(maxVisits=40, rootSymmetryPruning=False), seed=1)
    off.set_position(make_history())
    assert all(m.is_symmetry_of is None for m in off.search().moves)


def test_same_seed_same_search_even_with_randomness():
    params = SearchParams.for_selfplay(maxVisits=50)   # root noise, random symmetries, 4 root symmetries
    results = []
    for _ in range(2):
        s = Searcher(RowwiseNet(), params, seed=77)
        s.set_position(make_history([(4, 4)]))
        results.append(visits_of(s.search()))
    assert results[0] == results[1]
    s = Searcher(RowwiseNet(), params, seed=78)
    s.set_position(make_history([(4, 4)]))
    s.search()
    nn = s.core.root_nn()
    assert nn["noised_policy"] is not None and nn["noised_policy"][nn["noised_policy"] >= 0].sum() == pytest.approx(1.0, abs=1e-5)


def test_policy_target_and_choose_move():
    params = SearchParams.for_selfplay(maxVisits=120, rootNoiseEnabled=False, nnRandomize=False,
                                       chosenMoveTemperature=0.0, chosenMoveTemperatureEarly=0.0)
    s = Searcher(RowwiseNet(), params, seed=5)
    s.set_position(make_history([(4, 4), (3, 3)]))
    a = s.search()
    moves, target = s.policy_target()
    assert all(isinstance(t, int) and t >= 0 for t in target) and max(target) >= 10
    searched = {m.move: m.edge_visits for m in a.moves}
    # Forced playouts are pruned away: no move keeps more than it was searched.
    assert all(t <= searched[mv] or t == max(target) for mv, t in zip(moves, target))
    # Temperature 0: the choice is the top play-selection value, i.e. analysis order 0.
    assert s.choose_move() == a.moves[0].move
    with pytest.raises(SearchError):
        Searcher(RowwiseNet(), gtp_params()).policy_target()


# ------------------------------------------------------------------------------------------------
# Terminal positions and passes


def _endgame_5x5(rules="tromp-taylor"):
    # Black owns the left, White the right; the middle column is filled.
    moves = []
    for y in range(5):
        moves += [(1, y), (3, y)]
    return make_history(moves, size=5, rules=rules, komi=0.5, prevent_encore=True)


def test_pass_that_ends_the_game_is_a_terminal_child():
    h = _endgame_5x5()
    h.play(None, BLACK)       # black passes; white's pass would end the game
    net = RowwiseNet(pass_logit=6.0)
    for conservative in (False, True):
        s = Searcher(net, gtp_params(maxVisits=40, conservativePass=conservative), seed=2)
        s.set_position(h)
        a = s.search()
        passes = [m for m in a.moves if m.move is None]
        assert passes and passes[0].edge_visits > 0
        p = passes[0]
        final = h.copy()
        final.play(None, WHITE)
        assert final.is_finished
        if not conservative:
            # Terminal: every visit is the exact result (White's view).
            assert p.white_winrate == (1.0 if final.winner == WHITE else 0.0)
            assert p.white_score_mean == pytest.approx(final.final_score)
            assert p.white_score_stdev == pytest.approx(0.0, abs=1e-6)
        else:
            # conservativePass: our own pass at the root does not end the game.
            assert p.white_score_stdev > 0.0


def test_finished_game_root_is_still_searched():
    h = _endgame_5x5()
    h.play(None, BLACK)
    h.play(None, WHITE)
    assert h.is_finished
    s = Searcher(RowwiseNet(), gtp_params(maxVisits=30), seed=2)
    s.set_position(h)
    a = s.search()
    assert a.root.visits == 30 and a.moves


def test_weightless_pass_visits_keep_edge_accounting():
    # After an opponent pass, enableMorePassingHacks explores our pass without counting it.
    h = make_history([(4, 4), (2, 2)], rules="chinese")
    h.play(None, BLACK)
    s = Searcher(RowwiseNet(pass_logit=-8.0), gtp_params(maxVisits=60), seed=4)
    s.set_position(h)
    a = s.search()
    inv = s.core.debug_invariants()
    assert a.root.visits == 60 and inv["root_edge_visits"] == 59 and inv["visits_ok"]
    assert any(m.move is None for m in a.moves)


# ------------------------------------------------------------------------------------------------
# Tree reuse, stopping, time


def test_tree_reuse_keeps_the_subtree():
    net = RowwiseNet()
    # (Root symmetry pruning off: on a symmetric new root KataGo drops duplicate children.)
    s = Searcher(net, gtp_params(maxVisits=100, rootSymmetryPruning=False), seed=9)
    h = make_history([(4, 4)])
    assert not s.set_position(h)
    a = s.search()
    top = a.moves[0]
    h.play(top.move, h.next_player)
    assert s.set_position(h)
    assert s.root_visits == top.visits
    b = s.search()
    assert b.root.visits == 100 and s.num_playouts == 100 - top.visits
    # Same position again: tree kept, nothing to do.
    assert s.set_position(h)
    assert s.search().root.visits == 100 and s.num_playouts == 0
    # Not an extension: cleared.
    assert not s.set_position(make_history([(2, 2)]))
    assert s.root_visits == 0


def test_tree_reuse_matches_katago_clearing_rules():
    s = Searcher(RowwiseNet(), gtp_params(maxVisits=50), seed=9)
    h = make_history([(4, 4)], prevent_encore=True)
    s.set_position(h)
    s.search()
    h.play(None, WHITE)       # now black's pass would end the phase: GTP's preventCleanupPhase clears
    assert not s.set_position(h)


def test_stop_event_and_callback():
    stop = threading.Event()
    seen = []

    def cb(analysis):
        seen.append(analysis.root.visits)
        stop.set()

    s = Searcher(RowwiseNet(), gtp_params(maxVisits=100000), seed=1)
    s.set_position(make_history([(4, 4)]))
    a = s.search(stop_event=stop, callback=cb, callback_interval_s=0.0)
    assert seen and a.root.visits < 100000
    assert s.core.debug_invariants()["virtual_losses"] == 0


def test_time_limit():
    s = Searcher(RowwiseNet(), gtp_params(maxVisits=10 ** 9, numSearchThreads=4), seed=1)
    s.set_position(make_history([(4, 4)]))
    t = time.monotonic()
    a = s.search(max_time=0.3)
    el = time.monotonic() - t
    assert 0.3 <= el < 3.0 and a.root.visits >= 2


def test_max_visits_argument_overrides_params():
    s = Searcher(RowwiseNet(), gtp_params(maxVisits=500), seed=1)
    s.set_position(make_history())
    assert s.search(max_visits=17).root.visits == 17
    s.set_params(gtp_params(maxVisits=500, maxPlayouts=5), keep_tree=True)
    assert s.search().root.visits == 22   # 17 kept + 5 playouts
    s.set_params(gtp_params(maxVisits=500, maxPlayouts=6))   # a change clears, as in KataGo
    assert s.search().root.visits == 6
    s.set_params(gtp_params(maxVisits=500, maxPlayouts=6))   # no change: tree kept
    assert s.search().root.visits == 12


def test_errors():
    s = Searcher(RowwiseNet(), gtp_params())
    with pytest.raises(SearchError):
        s.search()
    with pytest.raises(SearchError):
        s.analysis()
    with pytest.raises(ValueError):
        search_core.BatchBuffers(4, 9)
    core = core_for(RowwiseNet(), gtp_params(), search_core.NNCache(4))
    core.set_root(make_history(size=13), False)
    core.begin()
    with pytest.raises(ValueError):
        core.gather(search_core.BatchBuffers(8, 9))


# ------------------------------------------------------------------------------------------------
# Batching, virtual losses, NN cache


def test_batched_searches_sharing_a_buffer_equal_separate_searches():
    positions = [make_history(m) for m in ([], [(4, 4)], [(4, 4), (2, 6)], [(3, 3), (5, 5), (6, 2)])]
    params = gtp_params(maxVisits=70)
    separate = []
    for h in positions:
        s = Searcher(RowwiseNet(), params, seed=11)
        s.set_position(h)
        separate.append(s.search())
    net = RowwiseNet()
    searchers = [Searcher(net, params, seed=11) for _ in positions]
    for s, h in zip(searchers, positions):
        s.set_position(h)
        s.begin()
    buf = search_core.BatchBuffers(16, 9)
    passes = run_batches(net, searchers, buf)
    assert passes < sum(1 for _ in positions) * 70   # rows were shared
    assert net.rows > passes
    for s, ref in zip(searchers, separate):
        got = s.analysis()
        assert [(m.move, m.visits, m.edge_visits, m.white_utility, m.white_lcb) for m in got.moves] == \
               [(m.move, m.visits, m.edge_visits, m.white_utility, m.white_lcb) for m in ref.moves]


def test_batch_capacity_smaller_than_demand_still_finishes():
    net = RowwiseNet()
    cores = []
    for i in range(12):
        c = core_for(net, gtp_params(maxVisits=25), search_core.NNCache(10), seed=i)
        c.set_root(make_history([(i % 9, 4)]), False)
        c.begin()
        cores.append(c)
    run_batches(net, cores, search_core.BatchBuffers(8, 9))
    assert all(c.root_visits == 25 for c in cores)


def test_virtual_losses_gather_several_leaves_per_batch():
    net = RowwiseNet()
    s = Searcher(net, gtp_params(maxVisits=300, numSearchThreads=8), seed=1)
    s.set_position(make_history([(4, 4), (4, 2)]))
    a = s.search()
    assert a.root.visits == 300
    assert net.calls < 300 / 3 and net.rows / net.calls > 3
    inv = s.core.debug_invariants()
    assert inv["virtual_losses"] == 0 and inv["visits_ok"]


def test_nn_cache_reuses_evaluations():
    net = RowwiseNet()
    s = Searcher(net, gtp_params(maxVisits=50), seed=1)
    h = make_history([(4, 4), (2, 2)])
    s.set_position(h)
    first = s.search()
    rows = net.rows
    s.clear_tree()
    second = s.search()
    assert net.rows == rows, "every position is in the NN cache"
    assert visits_of(first) == visits_of(second)
    s.clear_tree()
    s.clear_cache()
    s.search()
    assert net.rows > rows
    shared = search_core.NNCache(12)
    a = Searcher(net, gtp_params(maxVisits=30), seed=1, nn_cache=shared)
    b = Searcher(net, gtp_params(maxVisits=30), seed=1, nn_cache=shared)
    a.set_position(h)
    a.search()
    rows = net.rows
    b.set_position(h)
    b.search()
    assert net.rows == rows and shared.hits > 0


def test_uncertainty_weights_and_optimism_for_new_nets():
    old = Searcher(RowwiseNet(version=8), gtp_params(maxVisits=40), seed=1)
    new = Searcher(RowwiseNet(version=15), gtp_params(maxVisits=40), seed=1)
    h = make_history([(4, 4)])
    for s in (old, new):
        s.set_position(h)
    assert old.search().root.weight == 40.0            # every eval weighs 1
    w = new.search().root.weight
    assert w != 40.0 and 0 < w < 40 * SearchParams().uncertaintyMaxWeight


def test_ownership_reports():
    s = Searcher(RowwiseNet(), gtp_params(maxVisits=40), seed=1, include_ownership_in_tree=True)
    s.set_position(make_history([(4, 4), (2, 2)]))
    s.search()
    a = s.analysis(include_ownership=True, include_moves_ownership=True)
    assert a.ownership.shape == (9, 9) and a.ownership_stdev.shape == (9, 9)
    assert np.all(np.abs(a.ownership) <= 1.0) and np.all(a.ownership_stdev >= 0)
    assert a.ownership[4, 4] < -0.9   # black stone, White's view
    assert all(m.ownership is not None for m in a.moves if m.edge_visits > 0)


def test_avoid_and_allow_moves():
    s = Searcher(RowwiseNet(), gtp_params(maxVisits=60, rootSymmetryPruning=False), seed=1)
    h = make_history([(4, 4)])
    s.set_position(h)
    first = s.search()
    top = first.moves[0].move
    s.set_avoid_moves(avoid={WHITE: {top: 1}})
    assert s.root_visits == 0, "a change of avoided moves clears the tree"
    a = s.search()
    assert top not in {m.move for m in a.moves}
    allowed = [(2, 2), (6, 6)]
    s.set_avoid_moves(allow={WHITE: (allowed, 1)})
    b = s.search()
    assert {m.move for m in b.moves} <= set(allowed)
    s.set_avoid_moves()
    assert top in {m.move for m in s.search().moves}
