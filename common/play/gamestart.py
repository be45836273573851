"""The draws that start a game before any net looks at it (KataGo's GameInitializer, shared by
its selfplay, gatekeeper and match): the board size and the rules.

Pure draws from a numpy Generator and a config that has KataGo's keys (bSizes,
bSizeRelProbs, allowRectangleProb, koRules, scoringRules, taxRules, multiStoneSuicideLegals,
hasButtons). Randomness uses numpy, so draws never reproduce KataGo's bit stream; the
distributions and the order of the draws are KataGo's.

Why draw rules at all: a net must learn every rule set and board size a user may ask for, and
a gating test should judge the candidate on the same mix it was trained on.
"""
from __future__ import annotations

import dataclasses
from typing import List, Sequence, Tuple

import numpy as np

from goloop.common.go.rules import KoRule, Rules, ScoringRule, TaxRule


def board_size_choices(sizes: Sequence[int], rel_probs: Sequence[float],
                       allow_rectangle_prob: float) -> Tuple[List[Tuple[int, int]], np.ndarray]:
    """Every (x, y) size and its probability (GameInitializer::initShared): squares keep
    (1 - r) of their weight plus r times their squared share, rectangles get r times the
    product of their sides' shares. The arithmetic is KataGo's, term for term."""
    total = float(sum(rel_probs))
    if not total > 0:
        raise ValueError("bSizeRelProbs must have a positive entry")
    r = allow_rectangle_prob
    out, probs = [], []
    for x, px in zip(sizes, rel_probs):
        for y, py in zip(sizes, rel_probs):
            if x == y:
                w = (1.0 - r) * px / total + r * px * py / total / total
            elif r > 0:
                w = r * px * py / total / total
            else:
                continue
            out.append((int(x), int(y)))
            probs.append(w)
    p = np.asarray(probs, dtype=np.float64)
    return out, p / p.sum()


def draw_board_size(cfg, rng: np.random.Generator) -> Tuple[int, int]:
    sizes, probs = board_size_choices(cfg.bSizes, cfg.bSizeRelProbs, cfg.allowRectangleProb)
    return sizes[int(rng.choice(len(sizes), p=probs))]


def _pick(values, rng: np.random.Generator):
    return values[int(rng.integers(len(values)))]


def draw_rules(cfg, rng: np.random.Generator, komi: float = 7.5) -> Rules:
    """Each rule uniformly from its list, in KataGo's order (ko, scoring, tax, suicide, then the
    button, which only exists under area scoring: createRulesUnsynchronized). `komi`: the
    rules' komi until the game sets its own (KataGo's Rules default is 7.5)."""
    ko = KoRule[_pick(cfg.koRules, rng).upper()]
    scoring = ScoringRule[_pick(cfg.scoringRules, rng).upper()]
    tax = TaxRule[_pick(cfg.taxRules, rng).upper()]
    suicide = bool(_pick(cfg.multiStoneSuicideLegals, rng))
    button = bool(_pick(cfg.hasButtons, rng)) if scoring == ScoringRule.AREA else False
    return Rules(ko_rule=ko, scoring_rule=scoring, tax_rule=tax, multi_stone_suicide_legal=suicide,
                 has_button=button, komi=komi)


def redraw_scoring_rules(cfg, rules: Rules, rng: np.random.Generator) -> Rules:
    """`rules` with scoring, tax and button drawn again (selfplay's seki forks)."""
    scoring = ScoringRule[_pick(cfg.scoringRules, rng).upper()]
    tax = TaxRule[_pick(cfg.taxRules, rng).upper()]
    button = bool(_pick(cfg.hasButtons, rng)) if scoring == ScoringRule.AREA else False
    return dataclasses.replace(rules, scoring_rule=scoring, tax_rule=tax, has_button=button)
