"""What the configs of every game-playing daemon share: KataGo's search keys, and the checks of
the game-start keys (board sizes and rule lists) that GameInitializer reads.

Why only this much: the keys themselves (numGameThreads, bSizes, komiMean, ...) are declared
by each daemon's config, because KataGo gives them a different default per program (its
shipped selfplay1.cfg, gatekeeper1.cfg and match_example.cfg) and each daemon's --help lists
them in its own order. What is the same in all of them, the search keys built from
SearchParams' own fields and the checks, lives here once.
"""
from __future__ import annotations

import dataclasses
import typing

from goloop.common.config import ConfigError, setting
from goloop.common.go.rules import KoRule, ScoringRule, TaxRule
from goloop.common.search.params import SearchParams


class GameKeys:
    """Methods of a game-playing daemon's config (a subclass of a `search_keys` class that also
    declares bSizes, bSizeRelProbs, koRules, scoringRules, taxRules, multiStoneSuicideLegals and
    hasButtons). Its `__post_init__` calls the checks it needs, in its own order."""

    def search_params(self, **changes) -> SearchParams:
        """The SearchParams these keys describe."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(SearchParams)}
        values.update(changes)
        return SearchParams(**values)

    def check_search_keys(self) -> None:
        """SearchParams' own checks, as config errors."""
        try:
            SearchParams.__post_init__(self)
        except ValueError as e:
            raise ConfigError(str(e)) from None

    def check_board_sizes(self) -> None:
        if len(self.bSizes) != len(self.bSizeRelProbs):
            raise ConfigError(f"bSizes has {len(self.bSizes)} entries but bSizeRelProbs "
                              f"{len(self.bSizeRelProbs)}")
        if not sum(self.bSizeRelProbs) > 0:
            raise ConfigError("bSizeRelProbs must have a positive entry")

    def check_rule_lists(self) -> None:
        """Every rule name known, every list non-empty (each game draws one of each)."""
        for key, enum in (("koRules", KoRule), ("scoringRules", ScoringRule),
                          ("taxRules", TaxRule)):
            for name in getattr(self, key):
                if name.upper() not in enum.__members__:
                    raise ConfigError(f"{key}: unknown value {name!r} (choose from "
                                      f"{', '.join(enum.__members__)})")
        for key in ("koRules", "scoringRules", "taxRules", "multiStoneSuicideLegals", "hasButtons"):
            if not getattr(self, key):
                raise ConfigError(f"{key} must list at least one value")


def search_keys(name: str, defaults: SearchParams, doc: str) -> type:
    """A frozen dataclass (with GameKeys' methods) whose fields are SearchParams' own, as config
    keys defaulting to `defaults`' values: every search setting KataGo reads from a config is
    settable, with the defaults of the program it stands for."""
    hints = typing.get_type_hints(SearchParams)
    fields = [(f.name, hints[f.name], dataclasses.field(default=getattr(defaults, f.name),
                                                       metadata=f.metadata))
              for f in dataclasses.fields(SearchParams)]
    cls = dataclasses.make_dataclass(name, fields, bases=(GameKeys,), frozen=True)
    cls.__doc__ = doc
    return cls


def ignored(what: str):
    """A KataGo key accepted so that KataGo's configs load unchanged, with no effect here."""
    return setting(None, f"Accepted for KataGo config compatibility; no effect in goloop ({what}).")
