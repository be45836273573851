"""A search's Analysis as the JSON analysis engine's response object, field for field as KataGo.

Separate from the engine loop because this is the part front ends parse: names, perspective,
rounding and array layouts must match KataGo v1.17.2 (Search::getAnalysisJson) exactly:

* Values come from the search in White's view; they are reported for Black when
  reportAnalysisWinratesAs is BLACK, or is SIDETOMOVE and Black is to move, else for White:
  winrate, lcb -> 1 - x; utility, utilityLcb, scoreMean/scoreLead/scoreSelfplay -> -x.
  Stdevs, visits, priors and no-result probabilities have no side.
* `scoreMean` carries the lead (legacy tools read it), `scoreSelfplay` the score mean.
* A move's `weight` is its child node's whole weight, `edgeWeight` the weight through the root
  edge (they differ only for transpositions); `playSelectionValue` is what the move choice
  samples. Keys whose value the searcher did not provide are left out.
* Numbers are rounded to 8 significant digits (KataGo's roundDynamic); ownership to 1e-6.
* Ownership and policy are row-major from the top-left point (A19 on 19x19), policy with the pass
  last and -1 for illegal moves.
* Each pv is the move plus up to analysisPVLen replies, cut before a pass that would end the
  phase under territory scoring when the cleanup phase is prevented (as KataGo cuts it).
* `thisHash` / `symHash` identify the position (stones, player to move, simple-ko point) as 32
  hex digits; symHash is the smallest over the 8 symmetries. Being goloop's own hashes, their
  values differ from KataGo's, but equal positions get equal strings, which is their contract.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any, Optional

import numpy as np

from goloop.common.go.rules import ScoringRule
from goloop.common.go.symmetry import apply_symmetry
from goloop.engine.analysis_query import BLACK, WHITE, format_location

OUTPUT_PRECISION = 8


def round_dynamic(x: float, precision: int = OUTPUT_PRECISION) -> float:
    """KataGo's Global::roundDynamic: keep about `precision` significant digits."""
    x = float(x)
    if not math.isfinite(x) or abs(x) <= 1e-60:
        return x
    magnitude = math.floor(math.log10(abs(x)))
    rounding = magnitude - precision
    if rounding >= 0:
        return float(_round_half_away(x))
    scale = 10.0 ** -rounding
    return _round_half_away(x * scale) / scale


def round_static(x: float, inverse_scale: float) -> float:
    """KataGo's Global::roundStatic: round to a multiple of 1 / inverse_scale."""
    return _round_half_away(float(x) * inverse_scale) / inverse_scale


def _round_half_away(x: float) -> float:
    # C's round(): halves go away from zero (Python's round() goes to even).
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def reports_for_black(perspective: Optional[int], root_player: int) -> bool:
    """Whether values are reported from Black's side (perspective None = side to move)."""
    return perspective == BLACK or (perspective is None and root_player == BLACK)


def position_hashes(history) -> tuple[str, str]:
    """(thisHash, symHash): 128-bit hashes of stones + simple-ko point + player to move."""
    board = history.board
    planes = board.stones().astype(np.int8)
    ko = board.ko
    if ko is not None:
        planes[ko[1], ko[0]] = 3
    player = bytes([history.next_player])
    digests = []
    for k in range(8):
        sym = np.ascontiguousarray(apply_symmetry(planes, k))
        h = hashlib.blake2b(digest_size=16)
        h.update(np.asarray(sym.shape, dtype=np.int32).tobytes())
        h.update(sym.tobytes())
        h.update(player)
        digests.append(h.hexdigest().upper())
    return digests[0], min(digests)


def pv_length(history, pv: list, prevent_encore: bool) -> int:
    """How much of `pv` KataGo reports: all of it, except that with the cleanup phase prevented a
    territory-scoring pv stops before the pass that would end the phase (KataGo's
    getPVLenUpToPhaseEnd, applied only to pvs containing a pass)."""
    if (not prevent_encore or None not in pv
            or history.rules.scoring_rule != ScoringRule.TERRITORY):
        return len(pv)
    h = history.copy()
    pla = h.next_player
    for j, move in enumerate(pv):
        if move is None and h.encore_phase < 2 and h.pass_would_end_phase(pla):
            return j
        if not h.is_playable(move, pla):
            return len(pv)  # not a sequence this history can follow; report it as the search did
        h.play(move, pla)
        pla = BLACK + WHITE - pla
    return len(pv)


def _flat(array, flip: bool, scale: float = 1e6) -> list:
    values = np.asarray(array, dtype=np.float64).reshape(-1)
    if flip:
        values = -values
    return [round_static(v, scale) for v in values]


def move_info_json(mi, history, flip: bool, options, prevent_encore: bool) -> dict:
    """One `moveInfos` entry."""
    xs, ys = history.x_size, history.y_size
    sign = -1.0 if flip else 1.0
    winrate = 1.0 - mi.white_winrate if flip else mi.white_winrate
    lcb = 1.0 - mi.white_lcb if flip else mi.white_lcb
    out: dict[str, Any] = {
        "move": format_location(mi.move, xs, ys),
        "visits": int(mi.visits),
        "weight": round_dynamic(mi.weight if mi.child_weight is None else mi.child_weight),
        "utility": round_dynamic(sign * mi.white_utility),
        "winrate": round_dynamic(winrate),
        "scoreMean": round_dynamic(sign * mi.white_lead),
        "scoreSelfplay": round_dynamic(sign * mi.white_score_mean),
        "scoreLead": round_dynamic(sign * mi.white_lead),
        "scoreStdev": round_dynamic(mi.white_score_stdev),
        "prior": round_dynamic(mi.prior),
        "lcb": round_dynamic(lcb),
        "utilityLcb": round_dynamic(sign * mi.white_utility_lcb),
        "order": int(mi.order),
        "edgeVisits": int(mi.edge_visits),
    }
    out["edgeWeight"] = round_dynamic(mi.weight)
    if mi.play_selection_value is not None:
        out["playSelectionValue"] = round_dynamic(mi.play_selection_value)
    if options.include_no_result_value and mi.no_result_value is not None:
        out["noResultValue"] = round_dynamic(mi.no_result_value)
    if mi.is_symmetry_of is not None:
        out["isSymmetryOf"] = format_location(mi.is_symmetry_of, xs, ys)

    pv = list(mi.pv)[:options.analysis_pv_len + 1]
    n = pv_length(history, pv, prevent_encore)
    out["pv"] = [format_location(m, xs, ys) for m in pv[:n]]
    if options.include_pv_visits:
        out["pvVisits"] = [int(v) for v in list(mi.pv_visits)[:n]]
        out["pvEdgeVisits"] = [int(v) for v in list(mi.pv_edge_visits)[:n]]
    if options.include_moves_ownership and mi.ownership is not None:
        out["ownership"] = _flat(mi.ownership, flip)
    if options.include_moves_ownership_stdev and mi.ownership_stdev is not None:
        out["ownershipStdev"] = _flat(mi.ownership_stdev, False)
    return out


def root_info_json(root, history, flip: bool) -> dict:
    """The `rootInfo` object."""
    sign = -1.0 if flip else 1.0
    this_hash, sym_hash = position_hashes(history)
    out: dict[str, Any] = {
        "visits": int(root.visits),
        "weight": float(root.weight),
        "winrate": round_dynamic(1.0 - root.white_winrate if flip else root.white_winrate),
        "scoreSelfplay": round_dynamic(sign * root.white_score_mean),
        "scoreLead": round_dynamic(sign * root.white_lead),
        "scoreStdev": round_dynamic(root.white_score_stdev),
        "utility": round_dynamic(sign * root.white_utility),
        "rawWinrate": round_dynamic(1.0 - root.raw_white_winrate if flip
                                    else root.raw_white_winrate),
        "rawLead": round_dynamic(sign * root.raw_white_lead),
        "rawScoreSelfplay": round_dynamic(sign * root.raw_white_score_mean),
        "rawNoResultProb": round_dynamic(root.raw_no_result),
        "rawStWrError": round_dynamic(root.raw_st_winloss_error * 0.5),
        "rawStScoreError": round_dynamic(root.raw_st_score_error),
        "rawVarTimeLeft": round_dynamic(root.raw_var_time_left),
        "thisHash": this_hash,
        "symHash": sym_hash,
        "currentPlayer": "B" if root.next_player == BLACK else "W",
    }
    if root.raw_white_score_stdev is not None:
        out["rawScoreSelfplayStdev"] = round_dynamic(root.raw_white_score_stdev)
    return out


def has_results(analysis) -> bool:
    """Whether a search produced anything to report (KataGo: a root with an evaluation)."""
    return analysis is not None and analysis.root is not None and analysis.root.visits > 0


def analysis_json(request, analysis, is_during_search: bool, prevent_encore: bool) -> dict:
    """The response for one analyzed turn (the caller checks has_results first)."""
    options = request.options
    history = request.history
    flip = reports_for_black(options.perspective, analysis.root.next_player)
    out: dict[str, Any] = {
        "id": request.id,
        "turnNumber": request.turn_number,
        "isDuringSearch": is_during_search,
        "moveInfos": [move_info_json(mi, history, flip, options, prevent_encore)
                      for mi in analysis.moves],
        "rootInfo": root_info_json(analysis.root, history, flip),
    }
    if options.include_policy and analysis.policy is not None:
        out["policy"] = [round_dynamic(p) for p in np.asarray(analysis.policy, np.float64)]
    if options.include_policy and analysis.human_policy is not None:
        out["humanPolicy"] = [round_dynamic(p) for p in np.asarray(analysis.human_policy,
                                                                    np.float64)]
    if options.include_ownership and analysis.ownership is not None:
        out["ownership"] = _flat(analysis.ownership, flip)
    if options.include_ownership_stdev and analysis.ownership_stdev is not None:
        out["ownershipStdev"] = _flat(analysis.ownership_stdev, False)
    return out


def no_results_json(request_id: str, turn_number: int) -> dict:
    """What a query terminated before any analysis reports."""
    return {"id": request_id, "isDuringSearch": False, "noResults": True,
            "turnNumber": turn_number}
