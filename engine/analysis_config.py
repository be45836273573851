"""`goloop analysis` settings: KataGo's analysis .cfg keys, typed, plus every search parameter.

A KataGo analysis config (analysis_example.cfg, KaTrain's analysis_config.cfg) must load as is,
so the config class holds three kinds of keys:

* the analysis engine's own keys (`AnalysisEngineConfig` below, documented where declared);
* every search parameter (`SearchParams` field, KataGo's name, e.g. maxVisits, wideRootNoise,
  numSearchThreads): declared as optional keys whose unset value means "the analysis default of
  SearchParams.for_analysis()" (wideRootNoise 0.04, ignorePreRootHistory true, ...);
* keys of KataGo's GPU back ends and log files, accepted so that a KataGo config loads; they do not
  change what goloop does (each says so in its help).

A query's `overrideSettings` goes through the same typing: a search parameter or
reportAnalysisWinratesAs changes that query's search, anything else is reported back as unknown,
exactly as KataGo reports the keys its search does not read.
"""
from __future__ import annotations

import dataclasses
import enum
import pathlib
import typing
from dataclasses import dataclass
from typing import Any, Literal, Optional

from goloop.common.config import ConfigError, load_config, setting

BLACK, WHITE = 1, 2

_IGNORED = "Accepted for KataGo config compatibility; goloop ignores it."


@dataclass(frozen=True)
class AnalysisEngineConfig:
    """The analysis engine's own keys (KataGo's names), without the search parameters."""

    model: Optional[str] = setting(
        None, "KataGo model file (.bin.gz, .txt.gz, .bin, .txt); required (or --model).")
    numAnalysisThreads: int = setting(
        1, "How many positions are searched at the same time, each by its own search.",
        min=1, max=16384)
    numSearchThreadsPerAnalysisThread: Optional[int] = setting(
        None, "Search threads per position; KataGo's newer name for numSearchThreads (set at "
              "most one of the two).", min=1, max=1024)
    reportAnalysisWinratesAs: str = setting(
        "SIDETOMOVE", "Whose side winrates, scores and ownership are reported from: BLACK, WHITE "
                      "or SIDETOMOVE (any case; b and w too). KataGo's default without the key is "
                      "SIDETOMOVE; its example config sets BLACK.")
    analysisPVLen: int = setting(
        15, "Moves after the first one in each reported pv, unless a query sets analysisPVLen.",
        min=1, max=100)
    assumeMultipleStartingBlackMovesAreHandicap: bool = setting(
        True, "Count a run of black moves opening the game as handicap stones "
              "(whiteHandicapBonus).")
    preventCleanupPhase: bool = setting(
        True, "Under territory scoring, two passes end the normal phase without starting the "
              "cleanup (encore) phases; pvs stop before such a pass.")
    warnUnusedFields: bool = setting(
        True, "Warn about query fields the engine does not know (typos).")
    logAllRequests: bool = setting(False, "Log every query line received.")
    logAllResponses: bool = setting(False, "Log every response line sent.")
    logErrorsAndWarnings: bool = setting(True, "Log every error and warning sent.")
    logSearchInfo: bool = setting(False, "Log a summary of each finished search.")
    forDeterministicTesting: bool = setting(
        False, "Seed every search from fixed seeds, so a run can be repeated exactly.")
    nnMaxBatchSize: int = setting(
        64, "Most positions sent to the net in one batch, gathered from all analysis threads.",
        min=1, max=65536)
    nnDevice: str = setting(
        "auto", "Where the net runs: auto (first CUDA GPU, else CPU), cpu, cuda or cuda:N.")
    nnDtype: Literal["auto", "fp32", "bf16", "fp16"] = setting(
        "auto", "Precision of the forward pass: auto (bf16 on GPU, fp32 on CPU), fp32, bf16, fp16.")
    numEigenThreadsPerModel: Optional[int] = setting(
        None, "CPU threads running the net (KataGo's CPU-backend key; torch's intra-op threads). "
              "Unset: min(numAnalysisThreads x search threads, cores), less one core for the "
              "searches when several run at once. No effect on a GPU.", min=1, max=1024)

    # Accepted from KataGo configs (KaTrain's included); no effect in goloop.
    homeDataDir: Optional[str] = setting(None, _IGNORED + " (KaTrain passes it.)")
    logDir: Optional[str] = setting(None, _IGNORED + " Use --log-file.")
    logDirDated: Optional[str] = setting(None, _IGNORED + " Use --log-file.")
    logFile: Optional[str] = setting(None, _IGNORED + " Use --log-file.")
    logToStderr: Optional[bool] = setting(None, _IGNORED + " Logs always go to stderr.")
    logTimeStamp: Optional[bool] = setting(None, _IGNORED)
    nnCacheSizePowerOfTwo: Optional[int] = setting(
        None, "NN cache entries, as a power of two, split evenly between the analysis threads' "
              "searches (each has its own cache); unset: 2^20 in all.", min=-1, max=48)
    nnMutexPoolSizePowerOfTwo: Optional[int] = setting(None, _IGNORED, min=-1, max=24)
    maxBoardXSizeForNNBuffer: Optional[int] = setting(None, _IGNORED)
    maxBoardYSizeForNNBuffer: Optional[int] = setting(None, _IGNORED)
    requireMaxBoardSize: Optional[bool] = setting(None, _IGNORED)
    numNNServerThreadsPerModel: Optional[int] = setting(
        None, _IGNORED + " (One NN server per process; KataGo's CPU backend ignores it too.)")
    cudaDeviceToUse: Optional[int] = setting(None, _IGNORED + " Use nnDevice.")
    cudaDeviceToUseThread0: Optional[int] = setting(None, _IGNORED)
    cudaDeviceToUseThread1: Optional[int] = setting(None, _IGNORED)
    cudaDeviceToUseThread2: Optional[int] = setting(None, _IGNORED)
    cudaUseFP16: Optional[str] = setting(None, _IGNORED + " Use nnDtype.")
    cudaUseNHWC: Optional[str] = setting(None, _IGNORED)
    trtDeviceToUse: Optional[int] = setting(None, _IGNORED)
    openclDeviceToUse: Optional[int] = setting(None, _IGNORED)
    openclDeviceToUseThread0: Optional[int] = setting(None, _IGNORED)
    openclDeviceToUseThread1: Optional[int] = setting(None, _IGNORED)
    openclDeviceToUseThread2: Optional[int] = setting(None, _IGNORED)
    openclReTunePerBoardSize: Optional[bool] = setting(None, _IGNORED)
    openclUseFP16: Optional[str] = setting(None, _IGNORED)
    rocmDeviceToUse: Optional[int] = setting(None, _IGNORED)
    rocmUseFP16: Optional[str] = setting(None, _IGNORED)
    rocmUseNHWC: Optional[str] = setting(None, _IGNORED)
    onnxProvider: Optional[str] = setting(None, _IGNORED)
    onnxDeviceToUse: Optional[int] = setting(None, _IGNORED)
    mutexPoolSize: Optional[int] = setting(None, _IGNORED)


ENGINE_KEYS = frozenset(f.name for f in dataclasses.fields(AnalysisEngineConfig))

# What overrideSettings may change besides search parameters (KataGo reloads only these).
OVERRIDABLE_ENGINE_KEYS = frozenset({"reportAnalysisWinratesAs"})


def parse_perspective(text: str) -> Optional[int]:
    """reportAnalysisWinratesAs -> BLACK, WHITE or None (side to move); ValueError otherwise."""
    low = text.lower()
    if low in ("b", "black"):
        return BLACK
    if low in ("w", "white"):
        return WHITE
    if low == "sidetomove":
        return None
    raise ValueError(f"Could not parse config value for reportAnalysisWinratesAs: {text}")


# ------------------------------------------------------------------------------------------------
# Search parameters as config keys

_SCALARS = (str, int, float, bool, pathlib.Path)


def _config_type(tp: Any) -> Optional[Any]:
    """`tp` as the config module can read it, made optional; None when it cannot be read."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is getattr(__import__("types"), "UnionType", None):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            return None
        tp = args[0]
    ok = (tp in _SCALARS or typing.get_origin(tp) is Literal
          or (isinstance(tp, type) and issubclass(tp, enum.Enum)))
    if not ok and typing.get_origin(tp) in (list, tuple):
        args = typing.get_args(tp)
        ok = bool(args) and args[0] in _SCALARS
    return Optional[tp] if ok else None


def search_key_fields(search_params_cls: type) -> list:
    """(name, type, field) for each SearchParams field a config file can set: unset by default."""
    hints = typing.get_type_hints(search_params_cls)
    out = []
    for f in dataclasses.fields(search_params_cls):
        if not f.init or f.name in ENGINE_KEYS:
            continue
        tp = _config_type(hints[f.name])
        if tp is None:
            continue
        meta = dict(f.metadata)
        help_text = meta.get("help") or "Search parameter (KataGo's key of the same name)."
        meta["help"] = help_text + " Unset: SearchParams.for_analysis()'s value."
        out.append((f.name, tp, dataclasses.field(default=None, metadata=meta)))
    return out


def build_config_class(search_params_cls: Optional[type]) -> type:
    """The `goloop analysis` config: engine keys plus the search parameters as optional keys."""
    fields = search_key_fields(search_params_cls) if search_params_cls is not None else []
    cls = dataclasses.make_dataclass("AnalysisConfig", fields, bases=(AnalysisEngineConfig,),
                                     frozen=True)
    cls.__module__ = __name__
    cls.__doc__ = ("`goloop analysis` settings: AnalysisEngineConfig's keys plus every "
                   "SearchParams field as an optional key.")
    cls.search_keys = frozenset(name for name, _, _ in fields)
    return cls


def _search_params_class() -> Optional[type]:
    try:
        from goloop.common.search.params import SearchParams
    except ImportError:
        return None
    return SearchParams


AnalysisConfig = build_config_class(_search_params_class())


# ------------------------------------------------------------------------------------------------
# From a loaded config to search parameters


class AnalysisSettings:
    """The engine's defaults from its config, and how a query's overrideSettings change them."""

    def __init__(self, config: Any, search_params_cls: Optional[type] = None):
        if search_params_cls is None:
            search_params_cls = _search_params_class()
        if search_params_cls is None:
            raise ConfigError("goloop.common.search.params is not available: the analysis engine "
                              "needs the search")
        self.config = config
        self.search_params_cls = search_params_cls
        self.search_keys = getattr(type(config), "search_keys", frozenset())
        self._override_class = dataclasses.make_dataclass(
            "AnalysisOverrides",
            [("reportAnalysisWinratesAs", Optional[str],
              dataclasses.field(default=None, metadata={"help": ""}))]
            + search_key_fields(search_params_cls), frozen=True)
        if (config.numSearchThreadsPerAnalysisThread is not None
                and getattr(config, "numSearchThreads", None) is not None):
            raise ConfigError("set numSearchThreadsPerAnalysisThread or its alias "
                              "numSearchThreads, not both")
        try:
            self.default_perspective = parse_perspective(config.reportAnalysisWinratesAs)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        values = {k: getattr(config, k) for k in self.search_keys if getattr(config, k) is not None}
        if config.numSearchThreadsPerAnalysisThread is not None:
            values["numSearchThreads"] = config.numSearchThreadsPerAnalysisThread
        self._config_values = values
        try:
            self.default_params = self._params(values)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"bad search parameters in the config: {e}") from None

    def _params(self, values: dict) -> Any:
        base = self.search_params_cls.for_analysis()
        known = {f.name for f in dataclasses.fields(base)}
        changes = {k: v for k, v in values.items() if k in known}
        if "conservativePass" in known and "conservativePass" not in changes:
            changes["conservativePass"] = True  # KataGo's analysis engine default
        return dataclasses.replace(base, **changes)

    def override(self, settings: dict) -> tuple:
        """overrideSettings (values as strings) -> (params, perspective, unknown keys, sorted).

        Raises ValueError naming the key for a value of the wrong type."""
        known = self.search_keys | OVERRIDABLE_ENGINE_KEYS
        usable = {k: v for k, v in settings.items() if k in known}
        unknown = sorted(k for k in settings if k not in known)
        if "numSearchThreadsPerAnalysisThread" in settings:  # KataGo's alias, a search key there
            unknown.remove("numSearchThreadsPerAnalysisThread")
            usable["numSearchThreads"] = settings["numSearchThreadsPerAnalysisThread"]
        try:
            typed = load_config(self._override_class, overrides=usable)
        except ConfigError as e:
            raise ValueError(str(e)) from None
        perspective = self.default_perspective
        if typed.reportAnalysisWinratesAs is not None:
            perspective = parse_perspective(typed.reportAnalysisWinratesAs)
        values = dict(self._config_values)
        values.update({k: getattr(typed, k) for k in self.search_keys
                       if getattr(typed, k) is not None})
        try:
            return self._params(values), perspective, unknown
        except (TypeError, ValueError) as e:
            raise ValueError(str(e)) from None

    def set_param(self, params: Any, name: str, value: Any) -> Any:
        """params with one field replaced; unchanged when SearchParams has no such field."""
        if name not in {f.name for f in dataclasses.fields(params)}:
            return params
        return dataclasses.replace(params, **{name: value})
