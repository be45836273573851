"""Bayesian Elo of the run's nets: Bradley–Terry, with a prior tying each net to its parent.

The model: player i has rating r_i (natural units; Elo = r · 400/ln 10) and scores against j
with probability σ(r_i − r_j), a draw or no result counting as half a win and half a loss. A
run plays most of its games between a candidate and its baseline, so without a prior a net
that won every game would have an infinite rating and nets far apart in the chain would not be
comparable. KataGo's public training site therefore links each net to the net it came from
(katago-server adds one virtual draw between them); here the link is a Gaussian prior on the
difference r_net − r_parent with standard deviation `prior_stdev` Elo, by default 347 Elo:
the curvature one virtual draw has at equal ratings, so the two priors agree where the data is
thin. A player without a parent (an outside engine such as GNU Go, or the first net when the
random net never played) gets a wide Gaussian prior around the anchor (`free_stdev` Elo).

The anchor (the random net when present, else the first parentless player) is fixed at Elo 0.
The ratings are the maximum of the posterior, found by Newton's method (the log posterior is
concave); the intervals are the Laplace approximation: the posterior covariance is the inverse
of minus its Hessian there, so an interval grows along the chain as evidence thins out, which
a per-player variance (katago-server's) would miss.

Pure: games and parents in, ratings out; nothing here reads files (ladder.py does).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import numpy as np

ELO_PER_NAT = 400.0 / math.log(10.0)
VIRTUAL_DRAW_STDEV_ELO = 2.0 * ELO_PER_NAT   # one virtual draw: curvature 1/4 at r_i = r_j
FREE_STDEV_ELO = 1000.0
Z95 = 1.959963984540054
RIDGE = 1e-12                                 # keeps a component with no anchor invertible

Game = Tuple[str, str, float]                 # (player a, player b, a's points: 1, 0.5 or 0)


@dataclass(frozen=True)
class Rating:
    name: str
    elo: float
    stdev: float                 # of the Elo, relative to the anchor
    low: float                   # 95% interval
    high: float
    games: int
    points: float
    parent: Optional[str]


def choose_anchor(players: List[str], parents: Mapping[str, Optional[str]],
                  preferred: str = "random") -> str:
    if preferred in players:
        return preferred
    for p in players:
        if parents.get(p) is None:
            return p
    return players[0]


def fit_ratings(games: Iterable[Game], parents: Optional[Mapping[str, Optional[str]]] = None,
                anchor: Optional[str] = None, prior_stdev: float = VIRTUAL_DRAW_STDEV_ELO,
                free_stdev: float = FREE_STDEV_ELO, max_iter: int = 200) -> Dict[str, Rating]:
    """Ratings of every player named by a game or by `parents` (name -> parent or None)."""
    parents = dict(parents or {})
    players: List[str] = []
    seen = set()

    def add(name):
        if name is not None and name not in seen:
            seen.add(name)
            players.append(name)

    for child, parent in parents.items():
        add(parent)
        add(child)
    pair_n: Dict[Tuple[int, int], float] = {}
    pair_s: Dict[Tuple[int, int], float] = {}
    game_list = list(games)
    for a, b, _ in game_list:
        add(a)
        add(b)
    if not players:
        return {}
    index = {p: i for i, p in enumerate(players)}
    games_of = np.zeros(len(players))
    points_of = np.zeros(len(players))
    for a, b, s in game_list:
        if a == b:
            continue
        i, j = index[a], index[b]
        if i > j:
            i, j, s = j, i, 1.0 - s
        pair_n[(i, j)] = pair_n.get((i, j), 0.0) + 1.0
        pair_s[(i, j)] = pair_s.get((i, j), 0.0) + s
        games_of[[i, j]] += 1
        points_of[i] += s
        points_of[j] += 1.0 - s
    anchor = anchor if anchor in index else choose_anchor(players, parents)
    a_idx = index[anchor]

    pi = np.array([k[0] for k in pair_n], dtype=np.int64)
    pj = np.array([k[1] for k in pair_n], dtype=np.int64)
    n = np.array(list(pair_n.values()))
    s = np.array([pair_s[k] for k in pair_n])
    # Gaussian priors as (i, j, precision): on r_i - r_j, with j = -1 meaning "on r_i itself".
    priors = []
    tau = prior_stdev / ELO_PER_NAT
    free = free_stdev / ELO_PER_NAT
    for p in players:
        q = parents.get(p)
        if q is not None and q in index and q != p:
            priors.append((index[p], index[q], 1.0 / tau ** 2))
        elif p != anchor:
            priors.append((index[p], -1, 1.0 / free ** 2))
    qi = np.array([t[0] for t in priors], dtype=np.int64)
    qj = np.array([t[1] for t in priors], dtype=np.int64)
    qw = np.array([t[2] for t in priors])

    m = len(players)

    def log_post(x):
        d = x[pi] - x[pj]
        ll = float(np.sum(s * _log_sigmoid(d) + (n - s) * _log_sigmoid(-d)))
        diff = x[qi] - np.where(qj >= 0, x[np.maximum(qj, 0)], 0.0)
        return ll - 0.5 * float(np.sum(qw * diff ** 2)) - 0.5 * RIDGE * float(x @ x)

    def grad_hess(x):
        g = -RIDGE * x
        h = -RIDGE * np.eye(m)
        d = x[pi] - x[pj]
        p = _sigmoid(d)
        gi = s - n * p
        np.add.at(g, pi, gi)
        np.add.at(g, pj, -gi)
        w = n * p * (1.0 - p)
        np.add.at(h, (pi, pi), -w)
        np.add.at(h, (pj, pj), -w)
        np.add.at(h, (pi, pj), w)
        np.add.at(h, (pj, pi), w)
        linked = qj >= 0
        diff = x[qi] - np.where(linked, x[np.maximum(qj, 0)], 0.0)
        np.add.at(g, qi, -qw * diff)
        np.add.at(h, (qi, qi), -qw)
        li, lj, lw = qi[linked], qj[linked], qw[linked]
        np.add.at(g, lj, lw * diff[linked])
        np.add.at(h, (lj, lj), -lw)
        np.add.at(h, (li, lj), lw)
        np.add.at(h, (lj, li), lw)
        return g, h

    free_idx = np.array([i for i in range(m) if i != a_idx], dtype=np.int64)
    x = np.zeros(m)
    value = log_post(x)
    for _ in range(max_iter):
        g, h = grad_hess(x)
        gf, hf = g[free_idx], h[np.ix_(free_idx, free_idx)]
        step = np.linalg.solve(-hf, gf)
        t = 1.0
        while True:
            trial = x.copy()
            trial[free_idx] += t * step
            new = log_post(trial)
            if new >= value - 1e-12 or t < 1e-6:
                break
            t *= 0.5
        x, improvement, value = trial, new - value, new
        if np.max(np.abs(t * step)) < 1e-10 or abs(improvement) < 1e-13:
            break
    _, h = grad_hess(x)
    cov = np.zeros((m, m))
    if len(free_idx):
        cov[np.ix_(free_idx, free_idx)] = np.linalg.inv(-h[np.ix_(free_idx, free_idx)])
    out: Dict[str, Rating] = {}
    for p in players:
        i = index[p]
        elo = float(x[i] * ELO_PER_NAT)
        sd = float(math.sqrt(max(0.0, cov[i, i])) * ELO_PER_NAT)
        out[p] = Rating(p, elo, sd, elo - Z95 * sd, elo + Z95 * sd, int(games_of[i]),
                        float(points_of[i]), parents.get(p))
    return out


def _sigmoid(d: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * d))


def _log_sigmoid(d: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -d)
