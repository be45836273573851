"""What a search reports: the shared vocabulary of search, GTP analysis and the JSON engine.

The search fills these from its tree; front-ends (GTP `kata-analyze` and friends, the JSON
analysis engine, selfplay records) format them. Everything here is from White's point of view,
as inside KataGo; front-ends convert to the side to move or to Black when they print
(`reportAnalysisWinratesAs`). Moves are (x, y) with y = 0 the top row, or None for a pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

Move = Optional[Tuple[int, int]]


@dataclass
class MoveInfo:
    """One root child, as KataGo's `info move ...` row / `moveInfos` entry reports it."""

    move: Move
    visits: int                  # visits of the child node
    edge_visits: int             # visits through this root edge (differs under transpositions)
    weight: float                # weight through this root edge (KataGo's weightSum, JSON `edgeWeight`)
    prior: float                 # root policy after root temperature/noise
    white_utility: float         # average utility of the child, White's view
    white_winrate: float         # (1 + win - loss) / 2, White's view, in [0, 1]
    white_score_mean: float      # tree score mean ("scoreSelfplay"), White's view
    white_score_stdev: float
    white_lead: float            # tree lead, White's view
    white_lcb: float             # lower confidence bound on winrate, for the player to move converted to White's view
    white_utility_lcb: float
    order: int                   # rank in the move-choice ordering (0 = best)
    pv: list = field(default_factory=list)            # principal variation, starting with `move`
    pv_visits: list = field(default_factory=list)     # visits of each pv node
    pv_edge_visits: list = field(default_factory=list)
    is_symmetry_of: Move = None  # set on rows copied from a symmetric move (root symmetry pruning)
    ownership: Optional[np.ndarray] = None        # (Y, X) White's view, when movesOwnership asked
    ownership_stdev: Optional[np.ndarray] = None
    # None below = the search did not say; front-ends then leave the key out.
    play_selection_value: Optional[float] = None  # what the move choice samples (visits, LCB-adjusted
    #                                               when useLcbForSelection); 0 for unvisited rows
    no_result_value: Optional[float] = None       # average no-result probability below the move
    child_weight: Optional[float] = None          # the child node's whole weight (childWeightSum),
    #                                               printed as `weight`; equals `weight` unless the
    #                                               child is a transposition also reached another way


@dataclass
class RootInfo:
    """The root's tree statistics plus its raw network evaluation (`rootInfo`)."""

    visits: int
    weight: float
    white_utility: float
    white_winrate: float
    white_score_mean: float      # tree score mean ("scoreSelfplay")
    white_score_stdev: float
    white_lead: float
    raw_white_winrate: float     # raw NN at the root
    raw_white_lead: float
    raw_white_score_mean: float
    raw_no_result: float
    raw_st_winloss_error: float  # -1 if the net has no such head
    raw_st_score_error: float
    raw_var_time_left: float
    next_player: int             # 1 black, 2 white: who moves at the root
    sym_hash: str = ""           # position identity for front-ends (thisHash/symHash), optional
    raw_white_score_stdev: Optional[float] = None  # raw NN score stdev (rawScoreSelfplayStdev)


@dataclass
class Analysis:
    """A snapshot of one search: root, ordered root children, maps."""

    root: RootInfo
    moves: list                                   # MoveInfo, in `order`
    ownership: Optional[np.ndarray] = None        # (Y, X) tree-averaged ownership, White's view
    ownership_stdev: Optional[np.ndarray] = None
    policy: Optional[np.ndarray] = None           # raw root policy (Y*X + 1), -1 = illegal
    human_policy: Optional[np.ndarray] = None
    elapsed_s: float = 0.0
