"""One selfplay game as a coroutine: KataGo's Play::runGame, top to bottom.

The game yields the searches it needs (common/play/scheduler.py batches them with every other
game's) and returns a `GameOutcome`: the FinishedGame (gamedata.py) that rows.py turns into
training rows, its SGF record and the positions it wants forked into new games. Steps, in
KataGo's order:

1. the start (gameinit.py): board, rules, komi noise, handicap count, unequal visits;
2. komi: fair for the empty board (komiAuto) or for the start position, noised;
3. handicap stones and opening moves sampled from the raw policy (not recorded);
4. rarely, a territory game jumps into its encore ("cleanup training");
5. the moves: playout cap randomization (cheap / full / reduced searches), the move sampled
   with the chosen-move temperature, everything a training row needs recorded per turn,
   side positions queued;
6. after the last move: final targets, side positions searched, surprise weighting
   (weighting.py), lead estimates; then maybe a fork of this game for a future one.

All values recorded are from White's view, as inside KataGo.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import numpy as np

from goloop.common.go.history import History
from goloop.common.go.rules import ScoringRule
from goloop.common.go.sgf import GameRecord, format_result
from goloop.common.logs import kv
from goloop.common.nn.randomnet import RANDOM_MODEL_NAME
from goloop.common.play.fairkomi import estimate_lead, fair_komi
from goloop.common.play.gamestart import redraw_scoring_rules
from goloop.common.play.komi import noised_komi
from goloop.common.play.seeds import random_u64
from goloop.common.search.searcher import Searcher
from goloop.selfplay import gamedata, weighting
from goloop.selfplay import komi as komi_mod
from goloop.selfplay.gameinit import BLACK, EMPTY, WHITE, GameStart

log = logging.getLogger(__name__)

RANDOM_FORK_MOVE_PROBS = (0.70, 0.95)   # temperature-1 policy, temperature-2 policy, else uniform
SIDE_POSITION_EXTEND_PROB = 0.25
CLEANUP_TRAINING_PROB = 0.04
NET_CHECK_PROB = 0.1


@dataclass
class Net:
    """A loaded model as the games use it: its evaluator and its own NN cache."""

    name: str
    evaluator: object
    cache: object            # search_core.NNCache


@dataclass
class GameContext:
    """What every game of one process shares: config, the current net, stop flag, seeds."""

    cfg: object                                  # SelfplayConfig
    net: Net                                     # replaced by the daemon when a new model loads
    stopping: Callable[[], bool] = lambda: False

    def search_params(self, **changes):
        return self.cfg.search_params(**changes)


@dataclass
class GameOutcome:
    finished: gamedata.FinishedGame
    turn_weights: List[float]          # resolved (integer) weights of the turns
    side_weights: List[float]
    record: GameRecord
    model_name: str                    # the net the game ended with: its rows go there
    forks: List[History] = field(default_factory=list)
    seki_forks: List[History] = field(default_factory=list)
    num_cheap: int = 0
    num_full: int = 0


def _pla_name(pla: int) -> str:
    return {BLACK: "BLACK", WHITE: "WHITE"}.get(pla, "")


class _Bots:
    """The game's searchers (one tree for both colours, as KataGo's selfplay) plus a 1-visit
    searcher that stands for a raw NN evaluation (random symmetry, no noise)."""

    def __init__(self, ctx: GameContext, params, rng: np.random.Generator):
        self.ctx = ctx
        self.params = params
        self.rng = rng
        self.net: Optional[Net] = None
        self.use(ctx.net)

    def _seed(self) -> int:
        return int(self.rng.integers(1 << 63))

    def use(self, net: Net) -> None:
        self.net = net
        self.bot = Searcher(net.evaluator, self.params, seed=self._seed(), nn_cache=net.cache)
        self.raw = self.raw_searcher()

    def raw_searcher(self) -> Searcher:
        p = self.params.replace(rootNoiseEnabled=False, rootPolicyTemperature=1.0,
                                rootPolicyTemperatureEarly=1.0, rootNumSymmetriesToSample=1,
                                playoutDoublingAdvantage=0.0, playoutDoublingAdvantagePla="",
                                maxVisits=1)
        return Searcher(self.net.evaluator, p, seed=self._seed(), nn_cache=self.net.cache)


def begin_raw(searcher: Searcher, history: History) -> Searcher:
    """Start a 1-visit search of `history` on a fresh root: its root eval is the raw net."""
    if searcher.set_position(history):   # the old tree was kept: drop it
        searcher.clear_tree()
    searcher.begin(max_visits=1)
    return searcher


def raw_eval(searcher: Searcher, history: History):
    """Coroutine: the raw net output of `history` (dict of core.root_nn)."""
    yield [begin_raw(searcher, history)]
    return searcher.core.root_nn()


def _moves_and_probs(nn: dict, history: History, pla: int, allow_pass: bool, ban=None):
    """Legal moves with positive policy, and their probabilities."""
    xs, ys = history.x_size, history.y_size
    policy = nn["policy"]
    moves, probs = [], []
    for i, p in enumerate(policy):
        if not p > 0:
            continue
        move = None if i == xs * ys else (i % xs, i // xs)
        if (move is None and not allow_pass) or move == ban:
            continue
        if history.is_legal(move, pla):
            moves.append(move)
            probs.append(float(p))
    return moves, probs


def _random_legal_move(history: History, pla: int, rng, ban=None):
    moves = [m for m in history.legal_moves(pla) if m != ban]
    return moves[int(rng.integers(len(moves)))] if moves else "none"


def policy_move(searcher: Searcher, nn: dict, history: History, pla: int, temperature: float,
                allow_pass: bool, ban=None):
    """KataGo's chooseRandomPolicyMove: sample legal moves by policy^(1/T); "none" if none."""
    moves, probs = _moves_and_probs(nn, history, pla, allow_pass, ban)
    if not moves:
        return "none"
    return moves[searcher.core.choose_index(probs, temperature)]


def forking_move(searcher: Searcher, nn: dict, history: History, pla: int, rng, ban=None):
    """A move off the game line: mostly a policy sample (temperature 1, sometimes 2), 5% of the
    time any legal move, so the net also sees refutations of wild moves."""
    r = rng.random()
    if r < RANDOM_FORK_MOVE_PROBS[0]:
        return policy_move(searcher, nn, history, pla, 1.0, True, ban)
    if r < RANDOM_FORK_MOVE_PROBS[1]:
        return policy_move(searcher, nn, history, pla, 2.0, True, ban)
    return _random_legal_move(history, pla, rng, ban)


def with_komi(history: History, komi: float) -> History:
    h = history.copy()
    h.set_rules(dataclasses.replace(h.rules, komi=float(komi)))
    return h


def _set_komi(history: History, komi: float) -> History:
    """The same game with another komi (History replays its moves under the new rules)."""
    if history.rules.komi == komi:
        return history
    return with_komi(history, komi)


def _restart_with_board(history: History, pla: int, encore_phase: int = 0) -> History:
    """A history whose initial position is `history`'s current board (KataGo's hist.clear)."""
    return History(history.rules, history.x_size, history.y_size, board=history.board, pla=pla,
                   encore_phase=encore_phase)


# ---------------------------------------------------------------------------------------------

def initialize_with_policy(bots: _Bots, history: History, rng, area_prop: float, gamma_shape: float,
                           temperature: float, end_if_all_pass_alive: bool):
    """Coroutine: play a gamma-distributed number of raw-policy moves (KataGo's
    initializeGameUsingPolicy). Returns the new history."""
    if history.is_finished:
        return history
    mean = history.x_size * history.y_size * area_prop
    if gamma_shape != 1.0:
        n = int(math.floor(rng.gamma(gamma_shape) * (mean / gamma_shape)))
    else:
        n = int(math.floor(rng.exponential() * mean))
    for _ in range(n):
        pla = history.next_player
        nn = yield from raw_eval(bots.raw, history)
        moves, probs = _moves_and_probs(nn, history, pla, True)
        if not moves:
            raise RuntimeError("opening initialization: the net gives no legal move a positive policy")
        if rng.random() < 0.0002:
            idx = int(rng.integers(len(moves)))
        else:
            w = np.power(np.asarray(probs, np.float64), 1.0 / temperature)
            idx = int(rng.choice(len(moves), p=w / w.sum()))
        history.play(moves[idx], pla)
        if end_if_all_pass_alive:
            history.end_game_if_all_pass_alive()
        if history.is_finished:
            break
    return history


def _noised(start: GameStart, history: History, rng) -> History:
    return _set_komi(history, noised_komi(start.komi, rng, history.x_size, history.y_size))


def setup_komi_and_opening(ctx: GameContext, bots: _Bots, start: GameStart, history: History, rng):
    """Coroutine: steps 2-4 of the module docstring. Returns (history, mode)."""
    cfg = ctx.cfg
    visits = cfg.compensateKomiVisits
    pda = dict(playoutDoublingAdvantage=start.pda, playoutDoublingAdvantagePla=_pla_name(start.pda_pla))
    xs, ys = history.x_size, history.y_size
    history = _noised(start, history, rng)
    if start.make_fair_for_empty_board:
        empty = History(history.rules, xs, ys, pla=BLACK)
        fair = yield from fair_komi(empty, bots.bot, visits, rng,
                                    start_komi=komi_mod.base_komi(start.komi, xs, ys), **pda)
        start.komi = dataclasses.replace(start.komi, mean=fair)
        history = _noised(start, history, rng)
    if start.extra_black > 0 and not history.is_finished:
        for _ in range(start.extra_black):
            nn = yield from raw_eval(bots.raw, history)
            move = policy_move(bots.raw, nn, history, BLACK, cfg.handicapTemperature, allow_pass=False)
            if move == "none":
                break
            history.play(move, BLACK)
            history = _restart_with_board(history, BLACK)
    if start.make_fair:
        fair = yield from fair_komi(history, bots.bot, visits, rng,
                                    start_komi=komi_mod.base_komi(start.komi, xs, ys), **pda)
        start.komi = dataclasses.replace(start.komi, mean=fair)
        history = _noised(start, history, rng)
    elif komi_mod.wants_fancy_komi(rng, fancyKomiVarying=cfg.fancyKomiVarying,
                                   extra_black=start.extra_black, is_fork=start.fork is not None):
        current = history.rules.komi
        fair = yield from fair_komi(history, bots.bot, visits, rng,
                                    start_komi=komi_mod.base_komi(start.komi, xs, ys), **pda)
        start.komi = dataclasses.replace(
            start.komi, mean=komi_mod.fancy_komi_mean(rng, current, fair, xs, ys))
        history = _noised(start, history, rng)
    if cfg.fancyKomiVarying and bots.net.name == RANDOM_MODEL_NAME:
        start.komi = dataclasses.replace(
            start.komi, mean=komi_mod.netless_komi_mean(rng, history.rules.komi, xs, ys))
        history = _noised(start, history, rng)

    mode = gamedata.MODE_NORMAL
    if start.extra_black > 0:
        mode = gamedata.MODE_HANDICAP
    if start.pda != 0:
        mode = gamedata.MODE_ASYM
    if start.fork is not None:
        mode = gamedata.MODE_FORK

    if cfg.initGamesWithPolicy and start.fork is None and not history.is_finished and cfg.policyInitAreaProp > 0:
        # The opening is played at a separately noised komi, so that opening policies mix
        # across komis; the game's komi comes back afterwards.
        game_komi = history.rules.komi
        history = _noised(start, history, rng)
        history = yield from initialize_with_policy(
            bots, history, rng, cfg.policyInitAreaProp, cfg.policyInitGammaShape,
            cfg.policyInitAreaTemperature, start.end_if_all_pass_alive)
        history = _set_komi(history, game_komi)
        compensate = cfg.compensateAfterPolicyInitProb > 0 and rng.random() < cfg.compensateAfterPolicyInitProb
        if mode != gamedata.MODE_NORMAL:
            compensate = start.make_fair
        if compensate and not history.is_finished:
            fair = yield from fair_komi(history, bots.bot, visits, rng, **pda)
            start.komi = dataclasses.replace(start.komi, mean=fair)
            history = _noised(start, history, rng)

    if (history.rules.scoring_rule == ScoringRule.TERRITORY and history.encore_phase == 0
            and not history.is_finished and rng.random() < CLEANUP_TRAINING_PROB):
        # Some data about the encore: play well into the game, even it out, and restart the
        # history inside encore phase 1 or 2 from that board.
        history = yield from initialize_with_policy(
            bots, history, rng, 0.25, 0.8 + 0.2 * cfg.policyInitGammaShape, 2.0 / 3.0,
            start.end_if_all_pass_alive)
        if not history.is_finished:
            fair = yield from fair_komi(history, bots.bot, visits, rng, **pda)
            start.komi = dataclasses.replace(start.komi, mean=fair)
            history = _noised(start, history, rng)
            history = _restart_with_board(history, history.next_player, encore_phase=int(rng.integers(1, 3)))
            mode = gamedata.MODE_CLEANUP_TRAINING
    return history, mode


# ---------------------------------------------------------------------------------------------

@dataclass
class _Limits:
    visits: int
    weight: float
    cheap: bool
    clear_tree: bool
    remove_root_noise: bool
    altered: bool


def search_limits(cfg, rng, recent_white_wl: List[float], pla: int, start: GameStart) -> _Limits:
    """KataGo's getSearchLimitsThisMove: cheap or full search, reduced visits once the game is
    decided, unequal visits for asymmetric games."""
    visits = cfg.maxVisits
    weight = 1.0
    cheap = False
    clear = True
    remove_noise = False
    altered = False
    if cfg.cheapSearchProb > 0 and rng.random() < cfg.cheapSearchProb:
        altered = cheap = True
        visits = min(visits, cfg.cheapSearchVisits)
        weight *= cfg.cheapSearchTargetWeight
        if cfg.cheapSearchTargetWeight <= 0.0:
            clear = False
            remove_noise = True
    elif cfg.reduceVisits:
        prop = weighting.visit_reduction_proportion(recent_white_wl, cfg.reduceVisitsThreshold,
                                                    cfg.reduceVisitsThresholdLookback)
        if prop > 0:
            altered = True
            visits = weighting.reduced_visits(visits, prop, cfg.reducedVisitsMin)
            weight = weighting.reduced_weight(weight, prop, cfg.reducedVisitsWeight)
    if start.pda != 0.0 and start.pda_pla != EMPTY:
        f = 2.0 ** start.pda
        f = 2.0 * f / (f + 1.0) if pla == start.pda_pla else 2.0 / (f + 1.0)
        altered = True
        clear = True
        # KataGo stops the whole process when this leaves fewer than 5 visits (its own
        # 20-visit cheap searches at ratio 8 can); 5 visits keeps the game going instead.
        visits = max(5, int(gamedata.c_round(visits * f)))
    return _Limits(visits, float(np.float32(weight)), cheap, clear, remove_noise, altered)


def _move_params(base, limits: _Limits):
    if not limits.remove_root_noise:
        return base
    return base.replace(rootNoiseEnabled=False, rootPolicyTemperature=1.0,
                        rootPolicyTemperatureEarly=1.0, rootFpuLossProp=base.fpuLossProp,
                        rootFpuReductionMax=base.fpuReductionMax,
                        rootDesiredPerChildVisitsCoeff=0.0, rootNumSymmetriesToSample=1)


def _values(core) -> gamedata.ValueTargets:
    rv = core.root_values(False)
    wl, nr = rv["win_loss"], rv["no_result"]
    return gamedata.ValueTargets(win=0.5 * (wl + 1.0 - nr), loss=0.5 * (-wl + 1.0 - nr), no_result=nr,
                                 score=rv["score_mean"])


def _q_values(core) -> Tuple[gamedata.QValueTarget, ...]:
    out = []
    for d in core.analysis_data(0, 0):
        if d["visits"] > 0 and d["weight"] > 0:
            out.append(gamedata.QValueTarget(d["move"], d["win_loss"], d["score_mean"], int(d["visits"])))
    return tuple(out)


def search_targets(bot: Searcher, raw_nn: dict, history: History):
    """What a finished search leaves for the training row (KataGo's extractSearchTargetsThisTurn)."""
    core = bot.core
    xs, ys = history.x_size, history.y_size
    moves, counts = bot.policy_target()
    psv_moves, psv = core.play_selection_values(1.0, True)
    root = core.root_nn()
    prior = root["noised_policy"] if root["noised_policy"] is not None else root["policy"]
    surprise, search_entropy, policy_entropy = gamedata.policy_surprise_and_entropies(
        list(zip(psv_moves, psv)), prior, xs, ys)
    nn_raw = gamedata.NNRawStats(float(raw_nn["white_win"]) - float(raw_nn["white_loss"]),
                                 float(raw_nn["score_mean"]),
                                 gamedata.raw_policy_entropy(raw_nn["policy"]))
    return dict(policy_target=tuple(zip(moves, counts)), unreduced_num_visits=core.root_visits,
                value=_values(core), q_values=_q_values(core), nn_raw=nn_raw,
                policy_surprise=surprise, policy_entropy=policy_entropy, search_entropy=search_entropy,
                raw_nn_value=(float(root["white_win"]), float(root["white_loss"]), float(root["no_result"])))


def choose_selfplay_move(bot: Searcher):
    """The move to play: play selection values without the LCB bonus (KataGo switches LCB off
    for the move but keeps it for the policy target), sampled with the move temperature."""
    core = bot.core
    moves, vals = core.play_selection_values(0.0, True, True)
    if not moves:
        raise RuntimeError("search found no move to play")
    t = core.chosen_move_temperature()
    return moves[core.choose_index(vals, t, bot.params.chosenMoveTemperatureOnlyBelowProb)]


def play_game(ctx: GameContext, start: GameStart, rng: np.random.Generator):
    """Coroutine: one whole selfplay game. Returns a GameOutcome, or None when the process is
    stopping (an unfinished game is dropped, as KataGo drops it)."""
    cfg = ctx.cfg
    base_params = ctx.search_params(drawEquivalentWinsForWhite=start.draw_equivalent_wins_for_white,
                                    noResultUtilityForWhite=start.no_result_utility_for_white)
    bots = _Bots(ctx, base_params, rng)
    xs, ys = start.x_size, start.y_size
    if start.fork is not None:
        history = start.fork.copy()
    else:
        history = History(start.rules, xs, ys, pla=BLACK)
    history, mode = yield from setup_komi_and_opening(ctx, bots, start, history, rng)
    start_history = history.copy()
    game_params = base_params.replace(playoutDoublingAdvantage=start.pda,
                                      playoutDoublingAdvantagePla=_pla_name(start.pda_pla))
    bots.bot.set_params(game_params)
    changed_nets: List[Tuple[str, int]] = []
    turns: List[gamedata.TurnRecord] = []
    recent_wl: List[float] = []
    side_queue: List[Tuple[History, int]] = []
    num_cheap = num_full = 0

    for _ in range(cfg.maxMovesPerGame):
        if start.end_if_all_pass_alive:
            history.end_game_if_all_pass_alive()
        if history.is_finished:
            break
        if ctx.stopping():
            return None
        pla = history.next_player
        limits = search_limits(cfg, rng, recent_wl, pla, start)
        bot = bots.bot
        bot.set_params(_move_params(game_params, limits), keep_tree=True)
        bot.set_position(history)
        if limits.clear_tree:
            bot.clear_tree()
        begin_raw(bots.raw, history)
        if limits.altered and limits.clear_tree and limits.visits > 10:
            # A 10-visit search first gives the dynamic score utility a sensible centre.
            bot.begin(max_visits=10)
            yield [bot, bots.raw]
        bot.begin(max_visits=limits.visits)
        yield [bot, bots.raw]
        move = choose_selfplay_move(bot)
        if not history.is_legal(move, pla):
            raise RuntimeError(f"search chose illegal move {move} for player {pla}")
        targets = search_targets(bot, bots.raw.core.root_nn(), history)
        turns.append(gamedata.TurnRecord(weight=limits.weight, was_cheap_search=limits.cheap, **targets))
        num_cheap += limits.cheap
        num_full += not limits.cheap
        if cfg.sidePositionProb > 0 and rng.random() < cfg.sidePositionProb:
            alt = forking_move(bot, bot.core.root_nn(), history, pla, rng, ban=move)
            if alt != "none":
                side = history.copy()
                side.play(alt, pla)
                if not side.is_finished:
                    side_queue.append((side, len(changed_nets)))
        recent_wl.append(float(bot.core.root_values(False)["win_loss"]))
        bot.set_params(game_params, keep_tree=True)
        history.play(move, pla)
        if cfg.switchNetsMidGame and rng.random() < NET_CHECK_PROB and ctx.net is not bots.net:
            bots.use(ctx.net)
            bots.bot.set_params(game_params)
            changed_nets.append((ctx.net.name, len(history.moves)))

    hit_turn_limit = not history.is_finished
    final = gamedata.final_outcome(history, start.draw_equivalent_wins_for_white,
                                   bots.net.evaluator.info.prefer_pass_alive_under_suicide)

    # Side positions: searched now, with the game's plain params (no unequal visits).
    side_records: List[gamedata.SidePositionRecord] = []
    bots.bot.set_params(base_params)
    i = 0
    while i < len(side_queue):
        if ctx.stopping():
            return None
        side, _ = side_queue[i]
        i += 1
        bot = bots.bot
        bot.set_position(side)
        bot.clear_tree()
        begin_raw(bots.raw, side)
        bot.begin(max_visits=cfg.maxVisits)
        yield [bot, bots.raw]
        targets = search_targets(bot, bots.raw.core.root_nn(), side)
        targets.pop("raw_nn_value")
        side_records.append(gamedata.SidePositionRecord(history=side.copy(), weight=1.0,
                                                        num_neural_net_changes_so_far=len(changed_nets),
                                                        **targets))
        if rng.random() < SIDE_POSITION_EXTEND_PROB:
            reply = choose_selfplay_move(bot)
            side2 = side.copy()
            side2.play(reply, side2.next_player)
            if not side2.is_finished:
                nn = yield from raw_eval(bots.raw, side2)
                alt = forking_move(bots.raw, nn, side2, side2.next_player, rng)
                if alt != "none":
                    side2.play(alt, side2.next_player)
                    if not side2.is_finished:
                        side_queue.append((side2, len(changed_nets)))

    game = gamedata.FinishedGame(
        start_history=start_history, end_history=history, turns=turns, final=final,
        game_hash=(random_u64(rng), random_u64(rng)),
        draw_equivalent_wins_for_white=start.draw_equivalent_wins_for_white,
        playout_doubling_advantage_pla=start.pda_pla, playout_doubling_advantage=start.pda,
        hit_turn_limit=hit_turn_limit, num_extra_black=start.extra_black, mode=mode,
        changed_neural_nets=tuple(changed_nets), side_positions=side_records,
        pass_alive_under_suicide_rules=bool(bots.net.evaluator.info.prefer_pass_alive_under_suicide))
    turn_weights, side_weights = weighting.finalize_weights(
        game, rng, cfg.policySurpriseDataWeight, cfg.valueSurpriseDataWeight, cfg.scaleDataWeight)

    # Lead targets for a few written rows, from komi searches on the position.
    if cfg.estimateLeadProb > 0:
        no_result_game = history.is_finished and history.is_no_result
        h = start_history.copy()
        played = history.moves[len(start_history.moves):]
        for t, turn in enumerate(turns):
            if (weighting.lead_estimation_eligible(turn_weights[t], turn.value.no_result, no_result_game)
                    and rng.random() < cfg.estimateLeadProb):
                if ctx.stopping():
                    return None
                lead = yield from estimate_lead(h, bots.bot, cfg.estimateLeadVisits)
                turn.value = dataclasses.replace(turn.value, lead=lead)
            h.play(played[t][1], played[t][0])
        for s, side in enumerate(side_records):
            if (weighting.lead_estimation_eligible(side_weights[s], side.value.no_result, no_result_game)
                    and rng.random() < cfg.estimateLeadProb):
                lead = yield from estimate_lead(side.history, bots.bot, cfg.estimateLeadVisits)
                side.value = dataclasses.replace(side.value, lead=lead)

    forks = yield from maybe_fork(cfg, bots, start_history, history, rng)
    seki = [] if start.from_seki_queue else seki_forks(cfg, start_history, history, final.ownership, rng)
    record = sgf_record(start, start_history, history, bots.net.name, game.game_hash)
    return GameOutcome(game, turn_weights, side_weights, record, bots.net.name, forks, seki,
                       num_cheap, num_full)


def seki_forks(cfg, start_history: History, end_history: History, ownership: np.ndarray, rng) -> List[History]:
    """KataGo's seki fork hack: a scored game that left some point owned by nobody (a seki,
    or dame) is replayed from two points near its end under re-drawn scoring, tax and button
    rules, so that the net sees how each rule set scores such endings. (KataGo also keeps
    games that began in encore 1; goloop skips every game that began in an encore, since its
    history cannot restart area-scored games there.)"""
    if cfg.sekiForkHackProb <= 0 or not end_history.is_finished or end_history.is_no_result:
        return []
    if start_history.initial_encore_phase != 0 or not (np.asarray(ownership) == EMPTY).any():
        return []
    moves = end_history.moves
    out = []
    for _ in range(2):
        idx = int(math.floor(len(moves) * (1.0 - 0.10 * rng.exponential()) - 1.0))
        idx = min(max(idx, 0), len(moves))
        rules = redraw_scoring_rules(cfg, end_history.rules, rng)
        h = History(rules, end_history.x_size, end_history.y_size, board=end_history.initial_board,
                    pla=end_history.first_player)
        try:
            for colour, move in moves[:idx]:
                if h.is_finished:
                    break
                h.play(move, colour)
        except ValueError as e:
            # Seen once on 7x7 (a move replayed onto an occupied point); the cause is not found
            # yet. The fork is optional extra data: drop it rather than stop selfplay.
            log.warning("seki fork dropped: the game does not replay under the re-drawn rules",
                        extra=kv(error=str(e), rules=rules.to_compact(include_komi=True),
                                 original=end_history.rules.to_compact(include_komi=True)))
            continue
        if not h.is_finished:
            out.append(h)
    return out


def maybe_fork(cfg, bots: _Bots, start_history: History, end_history: History, rng):
    """Coroutine: KataGo's maybeForkGame. Early forks (near the opening) add opening variety,
    late forks replay a game from anywhere with an odd move; the move is the best, by the raw
    net's score, of a few random legal moves. Returns the positions to queue."""
    if start_history.encore_phase != 0:
        return []
    early = rng.random() < cfg.earlyForkGameProb
    late = (not early) and cfg.forkGameProb > 0 and rng.random() < cfg.forkGameProb
    if not (early or late):
        return []
    moves = end_history.moves
    if early:
        idx = int(math.floor(rng.exponential() * cfg.earlyForkGameExpectedMoveProp
                             * start_history.x_size * start_history.y_size))
    else:
        idx = int(rng.integers(len(moves))) if moves else 0
    first = len(start_history.moves)
    # Replay the game's moves (opening included) up to the fork point, from its first position.
    h = start_history.copy()
    while len(h.moves) > 0 and len(h.moves) > min(idx, first):
        h.undo()
    for colour, move in moves[len(h.moves):idx]:
        if h.is_finished:
            break
        h.play(move, colour)
    if h.is_finished:
        return []
    pla = h.next_player
    max_choices = cfg.earlyForkGameMaxChoices if early else cfg.forkGameMaxChoices
    n = int(rng.integers(cfg.forkGameMinChoices, max(cfg.forkGameMinChoices, max_choices) + 1))
    legal = h.legal_moves(pla)
    if not legal:
        return []
    candidates = [legal[int(rng.integers(len(legal)))] for _ in range(n)]
    searchers, positions = [], []
    for m in candidates:
        c = h.copy()
        c.play(m, pla)
        s = bots.raw_searcher()
        s.set_position(c)
        s.begin(max_visits=1)
        searchers.append(s)
        positions.append(c)
    yield searchers
    best, best_score = None, 0.0
    for m, s in zip(candidates, searchers):
        score = float(s.core.root_nn()["score_mean"])
        if best is None or (pla == WHITE and score > best_score) or (pla == BLACK and score < best_score):
            best, best_score = m, score
    h.play(best, pla)
    return [] if h.is_finished else [h]


def sgf_record(start: GameStart, start_history: History, end_history: History, model_name: str,
               game_hash: Tuple[int, int]) -> GameRecord:
    """The game for sgfs/: initial stones, every move (opening included), rules, komi, result.
    The root comment names the game hash its training rows carry (globalTargetsNC 41-46), so
    rows can be traced to their game."""
    initial = end_history.initial_board
    stones = initial.stones()
    black = [(x, y) for y in range(stones.shape[0]) for x in range(stones.shape[1]) if stones[y, x] == BLACK]
    white = [(x, y) for y in range(stones.shape[0]) for x in range(stones.shape[1]) if stones[y, x] == WHITE]
    moves = [("B" if c == BLACK else "W", m) for c, m in end_history.moves]
    if end_history.is_finished:
        result = "Void" if end_history.is_no_result else format_result(end_history.final_score)
    else:
        result = None
    first = "B" if end_history.first_player == BLACK else "W"
    comment = (f"gameHash={game_hash[0]:016X}{game_hash[1]:016X},startTurnIdx={len(start_history.moves)},"
               f"extraBlack={start.extra_black},pda={start.pda:.3f}")
    return GameRecord(x_size=end_history.x_size, y_size=end_history.y_size,
                      komi=end_history.rules.komi, rules=end_history.rules,
                      handicap=len(black) if start.extra_black > 0 else 0,
                      black_setup=black, white_setup=white,
                      first_player=first if (black or white or first != "B") else None,
                      moves=moves, result=result, black_name=model_name, white_name=model_name,
                      root_comment=comment)
