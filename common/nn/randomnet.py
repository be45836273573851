"""The "random" net KataGo plays with before the first model exists.

Why not a freshly initialised network: KataGo's selfplay and gatekeeper start a run with no
model file at all (models dir empty) and use noise in place of a net, so the first data is
uniform-ish play at no forward-pass cost. This evaluator has the same `raw` interface as
`Evaluator`, so the searches cannot tell the difference: Gaussian policy logits (unit
variance, board points and pass), value logits, score and ownership with 0.2 standard
deviation, as KataGo's debugSkipNeuralNet path draws them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from goloop.common.nn.modelconfigs import DEFAULT_MULTIPLIERS, OutputMultipliers

RANDOM_MODEL_NAME = "random"


@dataclass(frozen=True)
class RandomNetInfo:
    """The fields of ModelInfo the search reads."""

    name: str = RANDOM_MODEL_NAME
    version: int = 15
    multipliers: OutputMultipliers = DEFAULT_MULTIPLIERS
    prefer_pass_alive_under_suicide: bool = False
    path: str = os.devnull


class RandomEvaluator:
    """Noise in the shape of a net's raw outputs."""

    def __init__(self, seed=None):
        self.info = RandomNetInfo()
        self.device = "cpu"
        self._rng = np.random.default_rng(seed)

    def raw(self, spatial: np.ndarray, global_: np.ndarray, symmetries):
        n, _, ys, xs = spatial.shape
        r = self._rng
        m = self.info.multipliers
        policy = r.standard_normal((n, 1, ys * xs + 1)).astype(np.float32)
        value = (0.2 * r.standard_normal((n, 3))).astype(np.float32)
        score = np.zeros((n, 6), np.float32)
        # Scaled so the post-processed score mean and lead have KataGo's 0.2 deviation; the
        # variance-time channel gives the 0.5 * area KataGo reports.
        score[:, 0] = 0.2 * r.standard_normal(n) / m.score_mean
        score[:, 1] = -5.0
        score[:, 2] = score[:, 0] * m.score_mean / m.lead
        # Points off the real board (a smaller board in a larger tensor) have no on-board
        # flag: give them no opinion, as a net's masked outputs would.
        on_board = spatial[:, 0] > 0
        target = 0.5 * on_board.sum(axis=(1, 2)) / m.variance_time
        score[:, 3] = np.log(np.expm1(np.minimum(target, 30.0))) + np.maximum(target - 30.0, 0.0)
        score[:, 4] = -10.0
        score[:, 5] = -10.0
        own = (0.2 * r.standard_normal((n, ys, xs))).astype(np.float32)
        own[~on_board] = 0.0
        policy[:, 0, :-1][~on_board.reshape(n, -1)] = -1e9
        return policy, value, score, own
