"""KataGo's search for GTP, the analysis engine and selfplay: the Python side of core.pyx.

Why two layers: the tree, the playouts and the per-leaf NN post-processing run in C++ without
the GIL (core.pyx); what stays in Python is what happens once per batch (the forward
pass) or once per search (budgets, time, callbacks, building reports). `Searcher` is one search
tree with the contract API front-ends use; `run_batches` drives many SearchCores through shared
batches for selfplay.

Reports are common/search/reports.py's dataclasses, White's view.
"""
from __future__ import annotations

import math
import os
import threading
import time
from typing import Callable, Optional, Sequence

import numpy as np

from goloop.common.search import core as search_core
from goloop.common.search.params import SearchParams
from goloop.common.search.reports import Analysis, MoveInfo, RootInfo

BLACK, WHITE = 1, 2
DEFAULT_PV_LEN = 13   # KataGo GTP's analysisPVLen: moves after the first in a pv


class SearchError(ValueError):
    """A search asked for something it cannot do (no position, bad board size, ...)."""


def _seed_of(seed) -> int:
    if seed is None or seed == "":
        return int.from_bytes(os.urandom(8), "little")
    if isinstance(seed, int):
        return seed & 0xFFFFFFFFFFFFFFFF
    import hashlib
    return int.from_bytes(hashlib.sha256(str(seed).encode()).digest()[:8], "little")


def core_for(evaluator, params: SearchParams, cache: "search_core.NNCache", seed=None,
             always_ownership: bool = False) -> "search_core.SearchCore":
    """A SearchCore set up for `evaluator`'s net (model version, output multipliers)."""
    info = evaluator.info
    m = info.multipliers
    names = getattr(getattr(getattr(evaluator, "model", None), "config", None), "policy_channel_names", None)
    has_optimistic = "optimistic" in names if names else info.version >= 12
    return search_core.SearchCore(
        params, cache, info.version,
        (m.score_mean, m.score_stdev, m.lead, m.variance_time, m.shortterm_value_error,
         m.shortterm_score_error),
        info.prefer_pass_alive_under_suicide, has_optimistic, _seed_of(seed), always_ownership)


def run_batches(evaluator, searches: Sequence, buffers: "search_core.BatchBuffers",
                until_done: bool = True) -> int:
    """Drive already-begun searches (SearchCores, or Searchers after `begin`) with shared
    forward passes: each gathers its leaves into `buffers`, one `evaluator.raw` call, each
    applies. The gathering order rotates so that a batch smaller than the demand starves
    nobody. Returns the number of forward passes; until_done=False runs one round.
    """
    cores = [getattr(s, "core", s) for s in searches]
    passes = 0
    start = 0
    while True:
        live = [c for c in cores if not c.done]
        if not live:
            return passes
        buffers.reset()
        k = start % len(live)
        order = live[k:] + live[:k]
        start += 1
        for c in order:
            c.gather(buffers)
            if buffers.n >= buffers.capacity:
                break
        n = buffers.n
        if n:
            out = evaluator.raw(buffers.spatial[:n], buffers.global_[:n], buffers.symmetries[:n])
            for c in order:
                c.apply(buffers, *out)
            passes += 1
        if not until_done:
            return passes


def _loc(move, x_size: int) -> int:
    if move is None:
        return 1
    return (move[0] + 1) + (move[1] + 1) * (x_size + 1)


class Searcher:
    """One KataGo search tree over a History, reusing its tree as the game goes on."""

    def __init__(self, evaluator, params: Optional[SearchParams] = None, seed=None,
                 nn_cache: Optional["search_core.NNCache"] = None, nn_cache_size_pow2: int = 20,
                 include_ownership_in_tree: bool = False):
        """`include_ownership_in_tree`: keep every node's ownership (KataGo's
        alwaysIncludeOwnerMap), needed for exact tree-averaged ownership in reports; otherwise
        ownership reports average only over the root and nodes that happen to have it."""
        self._evaluator = evaluator
        self._params = params if params is not None else SearchParams.for_gtp()
        if seed is None and self._params.searchRandSeed:
            seed = self._params.searchRandSeed
        self._cache = nn_cache if nn_cache is not None else search_core.NNCache(nn_cache_size_pow2)
        self._core = core_for(evaluator, self._params, self._cache, seed, include_ownership_in_tree)
        self._history = None
        self._buf = None
        self._searched = False
        self._elapsed = 0.0

    # -- configuration ----------------------------------------------------------------------

    @property
    def params(self) -> SearchParams:
        return self._params

    @params.setter
    def params(self, params: SearchParams) -> None:
        self.set_params(params)

    def set_params(self, params: SearchParams, keep_tree: bool = False) -> None:
        """New parameters from the next search on. Different parameters clear the tree, as
        KataGo's setParams does (GTP calls it only on a change, e.g. kata-set-param);
        keep_tree=True is KataGo's setParamsNoClearing."""
        changed = params != self._params
        self._params = params
        self._core.set_params(params)
        if changed and not keep_tree:
            self.clear_tree()

    @property
    def include_ownership_in_tree(self) -> bool:
        return self._core.always_ownership

    @include_ownership_in_tree.setter
    def include_ownership_in_tree(self, value: bool) -> None:
        self._core.always_ownership = bool(value)

    @property
    def evaluator(self):
        """The net this tree's evaluations come from (a scheduler batches per net)."""
        return self._evaluator

    @property
    def nn_cache(self):
        return self._cache

    # -- position -----------------------------------------------------------------------------

    def set_position(self, history) -> bool:
        """Search `history` next (it is copied). When it extends the previous position by moves
        of alternating colour, the subtree under those moves is kept (KataGo's makeMove);
        otherwise the tree is cleared. Returns whether the tree was kept."""
        rules = history.rules
        gri = rules.game_result_will_be_integer()
        old = self._history
        kept = False
        if old is not None and self._reusable(old, history):
            extra = history.moves[len(old.moves):]
            if not extra:
                self._core.set_root_keep_tree(history, gri)
                kept = True
            else:
                kept = self._core.advance(history, [_loc(m, history.x_size) for _, m in extra], gri)
        else:
            self._core.set_root(history, gri)
        self._history = history.copy()
        if self._buf is None or (self._buf.pos_x, self._buf.pos_y) != (history.x_size, history.y_size):
            self._make_buffers()
        return kept

    def _reusable(self, old, new) -> bool:
        """Whether KataGo's makeMove would carry the tree from `old` to `new`."""
        if old.rules != new.rules or (old.x_size, old.y_size) != (new.x_size, new.y_size):
            return False
        if old.initial_board != new.initial_board or old.first_player != new.first_player:
            return False
        if old.initial_encore_phase != new.initial_encore_phase:
            return False
        om, nm = old.moves, new.moves
        if len(nm) < len(om) or nm[:len(om)] != om:
            return False
        # KataGo clears when a move is not by the player to move, when the handicap bonus
        # changes, when conservativePass meets a game-ending pass, and (GTP preventCleanupPhase)
        # when a pass would end the phase: checked after every move, as makeMove does.
        tmp = old.copy()
        for color, move in nm[len(om):]:
            if color != tmp.next_player:
                return False
            bonus = tmp.white_handicap_bonus
            tmp.play(move, color)
            if tmp.white_handicap_bonus != bonus:
                return False
            if self._params.conservativePass and tmp.pass_would_end_game():
                return False
            if new.prevent_encore and tmp.pass_would_end_phase():
                return False
        return True

    def _make_buffers(self) -> None:
        h = self._history
        cap = max(8, self._params.numSearchThreads)
        self._buf = search_core.BatchBuffers(cap, h.x_size, h.y_size)

    def clear_tree(self) -> None:
        self._core.clear_tree()
        if self._history is not None:
            self._core.set_root(self._history, self._history.rules.game_result_will_be_integer())
        self._searched = False

    def set_avoid_moves(self, avoid: Optional[dict] = None, allow: Optional[dict] = None) -> None:
        """KataGo's avoidMoves / allowMoves (analysis engine; GTP kata-analyze avoid/allow).

        avoid: {player: {move: until_depth}}: that player may not play the move at fewer than
        until_depth moves below the root. allow: {player: (moves, until_depth)}: every other
        move of that player, pass included, is avoided so. A change clears the tree.
        """
        if self._history is None:
            raise SearchError("no position: call set_position first")
        per = {BLACK: {}, WHITE: {}}
        for pla, moves in (avoid or {}).items():
            per[int(pla)].update(moves)
        h = self._history
        for pla, (moves, depth) in (allow or {}).items():
            allowed = set(moves)
            every = [(x, y) for y in range(h.y_size) for x in range(h.x_size)] + [None]
            per[int(pla)].update({m: depth for m in every if m not in allowed})
        self._core.set_avoid_moves(list(per[BLACK].items()) or None, list(per[WHITE].items()) or None)

    def clear_cache(self) -> None:
        """Empty the NN cache (GTP clear_cache also clears the tree: call both)."""
        self._cache.clear()

    # -- searching ------------------------------------------------------------------------------

    def search(self, max_visits: Optional[int] = None, max_time: Optional[float] = None,
               stop_event: Optional[threading.Event] = None,
               callback: Optional[Callable[[Analysis], None]] = None,
               callback_interval_s: Optional[float] = None) -> Analysis:
        """Search the current position; returns the final analysis.

        Budgets: max_visits / max_time override the params' maxVisits / maxTime; maxPlayouts
        always applies. Root visits kept from tree reuse count toward maxVisits (KataGo). The
        time limit needs at least 2 playouts; stop_event and the time are checked between
        batches.
        """
        if self._history is None:
            raise SearchError("no position: call set_position first")
        p = self._params
        start = time.monotonic()
        if p.numSearchThreads > self._buf.capacity:
            self._make_buffers()
        factor = self._core.begin(max_visits=max_visits, max_playouts=None)
        limit = (p.maxTime if max_time is None else max_time) * factor
        has_time = limit < 1.0e12
        interval = callback_interval_s if callback_interval_s is not None else 1.0
        next_cb = start + interval
        core, buf, ev = self._core, self._buf, self._evaluator
        stalls = 0
        while not core.done:
            buf.reset()
            before = core.num_playouts
            n = core.gather(buf)
            if n:
                core.apply(buf, *ev.raw(buf.spatial[:n], buf.global_[:n], buf.symmetries[:n]))
                stalls = 0
            elif core.num_playouts == before:
                stalls += 1
                if stalls > 100:
                    raise RuntimeError("search made no progress")
            now = time.monotonic()
            if stop_event is not None and stop_event.is_set():
                core.stop()
            if has_time and core.num_playouts >= 2 and now - start >= limit:
                core.stop()
            if callback is not None and now >= next_cb and core.root_visits > 0:
                self._elapsed = now - start
                self._searched = True
                callback(self.analysis())
                next_cb = now + interval
        self._elapsed = time.monotonic() - start
        self._searched = True
        return self.analysis()

    def begin(self, max_visits: Optional[int] = None):
        """Start a search that `run_batches` drives together with others (selfplay); the
        analysis and move choice read it once it is done. Returns the SearchCore."""
        if self._history is None:
            raise SearchError("no position: call set_position first")
        self._core.begin(max_visits=max_visits, max_playouts=None)
        self._searched = True
        self._elapsed = 0.0
        return self._core

    @property
    def root_visits(self) -> int:
        return self._core.root_visits

    @property
    def num_playouts(self) -> int:
        """Playouts of the last search (visits kept from tree reuse excluded)."""
        return self._core.num_playouts

    @property
    def core(self):
        return self._core

    # -- reading results ------------------------------------------------------------------------

    def analysis(self, include_ownership: bool = False, include_moves_ownership: bool = False,
                 include_pv: bool = True, max_pv_len: int = DEFAULT_PV_LEN,
                 min_moves: int = 0) -> Analysis:
        """The current tree as KataGo's analysis (moves ordered as KataGo orders them, rows
        for symmetric duplicates added when root symmetry pruning found symmetries)."""
        core = self._core
        h = self._history
        if h is None:
            raise SearchError("no position: call set_position first")
        rv = core.root_values(True)
        nn = core.root_nn()
        if rv is None or nn is None:
            raise SearchError("nothing searched yet")
        p = self._params
        pla = h.next_player
        data = core.analysis_data(max_pv_len if include_pv else 0, min_moves)
        syms = core.root_symmetries if (p.rootSymmetryPruning and len(core.root_symmetries) > 1) else [0]
        radius = p.utility_radius
        lcb_factor = 0.5 * p.winLossUtilityFactor / (radius + 1e-20)
        moves = []
        done = set()
        for d in data:
            for s in syms:
                mv = core.sym_move(d["move"], s)
                # KataGo leaves avoided moves out only when it adds symmetric rows; otherwise
                # (minmoves filling) they appear as unvisited rows.
                if mv in done or (len(syms) > 1 and core.avoided_at_root(mv)):
                    continue
                done.add(mv)
                winrate = 0.5 * (1.0 + d["win_loss"])
                lcb = winrate - d["radius"] * lcb_factor if pla == WHITE else winrate + d["radius"] * lcb_factor
                info = MoveInfo(
                    move=mv, visits=int(d["visits"]), edge_visits=int(d["edge_visits"]),
                    weight=float(d["weight"]), prior=float(d["prior"]),
                    white_utility=float(d["utility"]), white_winrate=winrate,
                    white_score_mean=float(d["score_mean"]), white_score_stdev=float(d["score_stdev"]),
                    white_lead=float(d["lead"]), white_lcb=lcb,
                    white_utility_lcb=float(d["utility_lcb"]), order=len(moves),
                    pv=[core.sym_move(m, s) for m in d["pv"]] if include_pv else [mv],
                    pv_visits=list(d["pv_visits"]) if include_pv else [int(d["visits"])],
                    pv_edge_visits=list(d["pv_edge_visits"]) if include_pv else [int(d["edge_visits"])],
                    is_symmetry_of=d["move"] if s != 0 else None,
                    play_selection_value=float(d.get("play_selection_value", 0.0)),
                    no_result_value=float(d.get("no_result", 0.0)),
                    child_weight=float(d.get("child_weight", 0.0)))
                if include_moves_ownership and d["child_index"] >= 0:
                    own = core.tree_ownership(d["child_index"])
                    if own is not None:
                        info.ownership, info.ownership_stdev = (self._sym_map(a, s) for a in own)
                moves.append(info)
        root = RootInfo(
            visits=int(rv["visits"]), weight=float(rv["weight"]), white_utility=float(rv["utility"]),
            white_winrate=0.5 * (1.0 + rv["win_loss"]), white_score_mean=float(rv["score_mean"]),
            white_score_stdev=float(rv["score_stdev"]), white_lead=float(rv["lead"]),
            raw_white_winrate=0.5 * (1.0 + float(nn["white_win"]) - float(nn["white_loss"])),
            raw_white_lead=float(nn["lead"]), raw_white_score_mean=float(nn["score_mean"]),
            raw_no_result=float(nn["no_result"]), raw_st_winloss_error=float(nn["st_wl_error"]),
            raw_st_score_error=float(nn["st_score_error"]),
            raw_var_time_left=float(nn["var_time_left"]), next_player=pla,
            raw_white_score_stdev=math.sqrt(max(0.0, float(nn["score_mean_sq"]) - float(nn["score_mean"]) ** 2)))
        result = Analysis(root=root, moves=moves, policy=nn["policy"], elapsed_s=self._elapsed)
        if include_ownership:
            own = core.tree_ownership()
            if own is not None:
                result.ownership, result.ownership_stdev = own
        return result

    def _sym_map(self, arr: np.ndarray, sym: int) -> np.ndarray:
        """Ownership of a searched move shown for its symmetric duplicate."""
        if sym == 0:
            return arr
        out = np.empty_like(arr)
        ys, xs = arr.shape
        for y in range(ys):
            for x in range(xs):
                sx, sy = self._core.sym_move((x, y), sym)
                out[sy, sx] = arr[y, x]
        return out

    def play_selection_values(self, scale_max_to_at_least: float = 0.0,
                              allow_direct_policy_moves: bool = True):
        """KataGo's getPlaySelectionValues at the root: (moves, values)."""
        return self._core.play_selection_values(scale_max_to_at_least, allow_direct_policy_moves)

    def policy_target(self):
        """KataGo selfplay's extractPolicyTarget: (moves, int16-ready values), max scaled to at
        least 10 and capped at 30000 (needs rootSymmetryPruning off, as KataGo asserts)."""
        if self._params.rootSymmetryPruning:
            raise SearchError("policy targets need rootSymmetryPruning=false")
        moves, vals = self._core.play_selection_values(10.0, False)
        if not moves:
            raise SearchError("no policy target: the root has no children")
        mx = max(vals)
        factor = 30000.0 / mx if mx > 30000.0 else 1.0
        return moves, [int(round(v * factor)) for v in vals]

    def choose_move(self):
        """KataGo's getChosenMoveLoc: sample the play selection values with the chosen-move
        temperature (argmax when it is ~0). None is a pass."""
        if not self._searched:
            raise SearchError("nothing searched yet")
        moves, vals = self._core.play_selection_values(0.0, True)
        if not moves:
            raise SearchError("no move to choose")
        t = self._core.chosen_move_temperature()
        i = self._core.choose_index(vals, t, self._params.chosenMoveTemperatureOnlyBelowProb)
        return moves[i]
