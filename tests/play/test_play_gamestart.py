"""goloop.common.play.gamestart (KataGo's GameInitializer draws), gamekeys (the config keys and
checks game-playing daemons share) and seeds."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import pytest

from goloop.common.config import ConfigError, load_config, setting
from goloop.common.go.rules import KoRule, ScoringRule, TaxRule
from goloop.common.play import gamestart as GS
from goloop.common.play.gamekeys import ignored, search_keys
from goloop.common.play.seeds import new_hex, random_u64, seed_rng
from goloop.common.search.params import SearchParams


@dataclass(frozen=True)
class Draws:
    bSizes: Tuple[int, ...] = (9, 13, 19)
    bSizeRelProbs: Tuple[float, ...] = (1.0, 2.0, 7.0)
    allowRectangleProb: float = 0.1
    koRules: Tuple[str, ...] = ("SIMPLE", "POSITIONAL", "SITUATIONAL")
    scoringRules: Tuple[str, ...] = ("AREA", "TERRITORY")
    taxRules: Tuple[str, ...] = ("NONE", "NONE", "SEKI", "SEKI", "ALL")
    multiStoneSuicideLegals: Tuple[bool, ...] = (False, True)
    hasButtons: Tuple[bool, ...] = (False, False, True)


def test_board_sizes_follow_katagos_rectangle_rule():
    sizes, probs = GS.board_size_choices((9, 13, 19), (1, 2, 7), 0.1)
    p = dict(zip(sizes, probs))
    assert len(sizes) == 9 and probs.sum() == pytest.approx(1.0)
    # A square keeps (1 - r) of its share plus r times its squared share; a rectangle gets r
    # times the product of its sides' shares (shares 0.1, 0.2, 0.7 here).
    assert p[(19, 19)] == pytest.approx(0.9 * 0.7 + 0.1 * 0.49)
    assert p[(9, 13)] == p[(13, 9)] == pytest.approx(0.1 * 0.1 * 0.2)
    squares, probs = GS.board_size_choices((9, 13, 19), (1, 2, 7), 0.0)
    assert squares == [(9, 9), (13, 13), (19, 19)] and probs == pytest.approx([0.1, 0.2, 0.7])
    with pytest.raises(ValueError, match="positive"):
        GS.board_size_choices((9,), (0.0,), 0.0)


def test_board_size_draws_match_the_probabilities():
    rng = np.random.default_rng(1)
    draws = [GS.draw_board_size(Draws(), rng) for _ in range(20000)]
    assert abs(np.mean([d == (19, 19) for d in draws]) - 0.679) < 0.01
    assert abs(np.mean([d[0] != d[1] for d in draws]) - 0.1 * (1 - 0.01 - 0.04 - 0.49)) < 0.01


def test_rules_are_drawn_in_katagos_order():
    cfg = Draws()
    for seed in range(200):
        rng, ref = np.random.default_rng(seed), np.random.default_rng(seed)
        rules = GS.draw_rules(cfg, rng)
        # ko, scoring, tax, suicide, then the button only under area scoring
        ko = cfg.koRules[int(ref.integers(3))]
        scoring = cfg.scoringRules[int(ref.integers(2))]
        tax = cfg.taxRules[int(ref.integers(5))]
        suicide = cfg.multiStoneSuicideLegals[int(ref.integers(2))]
        button = cfg.hasButtons[int(ref.integers(3))] if scoring == "AREA" else False
        assert (rules.ko_rule, rules.scoring_rule, rules.tax_rule) == \
            (KoRule[ko], ScoringRule[scoring], TaxRule[tax])
        assert (rules.multi_stone_suicide_legal, rules.has_button) == (suicide, button)
        assert rules.komi == 7.5
        assert rng.bit_generator.state == ref.bit_generator.state


def test_redrawn_scoring_rules_keep_ko_suicide_and_komi():
    cfg = Draws()
    rng = np.random.default_rng(3)
    base = GS.draw_rules(cfg, rng, komi=6.5)
    for _ in range(100):
        r = GS.redraw_scoring_rules(cfg, base, rng)
        assert (r.ko_rule, r.multi_stone_suicide_legal, r.komi) == \
            (base.ko_rule, base.multi_stone_suicide_legal, 6.5)
        assert not r.has_button or r.scoring_rule == ScoringRule.AREA


# ------------------------------------------------------------------------------------------------
# Config keys


_Search = search_keys("Search", SearchParams(maxVisits=123), "KataGo SearchParams keys.")


@dataclass(frozen=True)
class GameConfig(_Search):
    bSizes: Tuple[int, ...] = setting((9,), "Board sizes.", min=2, max=19)
    bSizeRelProbs: Tuple[float, ...] = setting((1.0,), "Relative probabilities.", min=0.0)
    koRules: Tuple[str, ...] = setting(("SIMPLE",), "Ko rules.")
    scoringRules: Tuple[str, ...] = setting(("AREA",), "Scoring rules.")
    taxRules: Tuple[str, ...] = setting(("NONE",), "Tax rules.")
    multiStoneSuicideLegals: Tuple[bool, ...] = setting((False,), "Suicide.")
    hasButtons: Tuple[bool, ...] = setting((False,), "Buttons.")
    logMoves: Optional[bool] = ignored("KataGo's per-move log")

    def __post_init__(self):
        self.check_search_keys()
        self.check_board_sizes()
        self.check_rule_lists()


def test_search_keys_are_config_keys_with_the_programs_defaults():
    cfg = load_config(GameConfig, None, dict(numSearchThreads="3"))
    assert cfg.maxVisits == 123 and cfg.numSearchThreads == 3
    assert cfg.search_params() == SearchParams(maxVisits=123, numSearchThreads=3)
    assert cfg.search_params(maxVisits=5).maxVisits == 5
    assert "no effect in goloop" in GameConfig.__dataclass_fields__["logMoves"].metadata["help"]


@pytest.mark.parametrize("keys, message", [
    (dict(cpuctExploration=float("nan")), "cpuctExploration is NaN"),
    (dict(bSizes=(9, 13)), "bSizes has 2 entries but bSizeRelProbs 1"),
    (dict(bSizeRelProbs=(0.0,)), "bSizeRelProbs must have a positive entry"),
    (dict(koRules=("SIMPLE", "FOO")), "koRules: unknown value 'FOO'"),
    (dict(hasButtons=()), "hasButtons must list at least one value"),
])
def test_game_keys_are_checked(keys, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        GameConfig(**keys)


# ------------------------------------------------------------------------------------------------
# Seeds


def test_seeds_and_names():
    a, b = seed_rng("run-1"), seed_rng("run-1")
    assert [random_u64(a) for _ in range(5)] == [random_u64(b) for _ in range(5)]
    assert random_u64(seed_rng("run-1")) != random_u64(seed_rng("run-2"))
    assert random_u64(seed_rng("")) != random_u64(seed_rng(""))       # fresh entropy
    rng = np.random.default_rng(4)
    values = [random_u64(rng) for _ in range(2000)]
    assert max(values) >= 1 << 63 and min(values) < 1 << 62 and any(v % 2 for v in values)
    assert all(0 <= v < 1 << 64 for v in values)
    names = {new_hex(rng) for _ in range(100)}
    assert len(names) == 100 and all(re.fullmatch(r"[0-9A-F]{16}", n) for n in names)
