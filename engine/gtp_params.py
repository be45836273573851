"""Search parameters at run time: the genmove and analysis SearchParams, and kata-*-param(s).

KataGo's GTP keeps the config as a key -> value map and rebuilds both parameter sets from it
whenever `kata-set-param` changes a key, so the same rules hold at start-up and later:

* genmove and analysis start from KataGo's GTP defaults plus every search key the config sets,
  with conservativePass and fillDameBeforePass on unless the config says otherwise;
* analysis (kata-analyze, lz-analyze) then takes `analysisWideRootNoise` (0.04) as its
  wideRootNoise and `analysisIgnorePreRootHistory` (true) as its ignorePreRootHistory, so setting
  `wideRootNoise` changes genmove only;
* genmove takes `genmoveAntiMirror`, else `antiMirror`, else true, as its antiMirror.

`kata-list-params` lists KataGo's special GTP keys, then its changeable search keys (those goloop
knows) in sorted order, as KataGo does (its JSON object is a sorted map). `kata-get-param` prints
a search key's value as JSON (`0.2`, `500`, `true`, `1e+20`) and the special keys as C++ prints
them. `kata-set-param KEY VALUE` checks the value with the config's own types and ranges; `KEY`
alone restores the default; errors start with `Could not set params: ` as in KataGo.
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Optional

from goloop.common.config import ConfigError, load_config
from goloop.engine.gtp_config import SEARCH_KEY_NAMES
from goloop.engine.gtp_protocol import GtpError

# KataGo lists these first, in this order.
SPECIAL_PARAMS = ("analysisWideRootNoise", "analysisIgnorePreRootHistory", "genmoveAntiMirror",
                  "antiMirror", "humanSLProfile", "allowResignation", "ponderingEnabled",
                  "delayMoveScale", "delayMoveMax")

# KataGo's SearchParams::changeableParametersToJson keys (numThreads is listed as numSearchThreads).
CHANGEABLE_PARAMS = (
    "winLossUtilityFactor", "staticScoreUtilityFactor", "dynamicScoreUtilityFactor",
    "dynamicScoreCenterZeroWeight", "dynamicScoreCenterScale", "noResultUtilityForWhite",
    "drawEquivalentWinsForWhite", "cpuctExploration", "cpuctExplorationLog", "cpuctExplorationBase",
    "cpuctUtilityStdevPrior", "cpuctUtilityStdevPriorWeight", "cpuctUtilityStdevScale",
    "fpuReductionMax", "fpuLossProp", "fpuParentWeightByVisitedPolicy",
    "fpuParentWeightByVisitedPolicyPow", "fpuParentWeight", "policyOptimism",
    "valueWeightExponent", "useNoisePruning", "noisePruneUtilityScale", "noisePruningCap",
    "useUncertainty", "uncertaintyCoeff", "uncertaintyExponent", "uncertaintyMaxWeight",
    "useGraphSearch", "graphSearchRepBound", "graphSearchCatchUpLeakProb", "rootNoiseEnabled",
    "rootDirichletNoiseTotalConcentration", "rootDirichletNoiseWeight", "rootPolicyTemperature",
    "rootPolicyTemperatureEarly", "rootFpuReductionMax", "rootFpuLossProp",
    "rootNumSymmetriesToSample", "rootSymmetryPruning", "rootDesiredPerChildVisitsCoeff",
    "rootPolicyOptimism", "chosenMoveTemperature", "chosenMoveTemperatureEarly",
    "chosenMoveTemperatureHalflife", "chosenMoveTemperatureOnlyBelowProb", "chosenMoveSubtract",
    "chosenMovePrune", "useLcbForSelection", "lcbStdevs", "minVisitPropForLCB", "useNonBuggyLcb",
    "rootEndingBonusPoints", "rootPruneUselessMoves", "conservativePass", "fillDameBeforePass",
    "wideRootNoise", "enablePassingHacks", "enableMorePassingHacks",
    "alwaysComputePassAliveUnderSuicideRules", "playoutDoublingAdvantage",
    "playoutDoublingAdvantagePla", "nnPolicyTemperature", "ignorePreRootHistory",
    "ignoreAllHistory", "subtreeValueBiasFactor", "subtreeValueBiasTableNumShards",
    "subtreeValueBiasFreeProp", "subtreeValueBiasWeightExponent", "numVirtualLossesPerThread",
    "numSearchThreads", "minPlayoutsPerThread", "maxVisits", "maxPlayouts", "maxTime",
    "maxVisitsPondering", "maxPlayoutsPondering", "maxTimePondering", "lagBuffer",
    "searchFactorAfterOnePass", "searchFactorAfterTwoPass", "treeReuseCarryOverTimeFactor",
    "overallocateTimeFactor", "midgameTimeFactor", "midgameTurnPeakTime", "endgameTurnTimeDecay",
    "obviousMovesTimeFactor", "obviousMovesPolicyEntropyTolerance",
    "obviousMovesPolicySurpriseTolerance", "futileVisitsThreshold",
)

# Keys kata-set-param takes besides the search keys (KataGo: read by loadParams, or marked used).
EXTRA_SETTABLE = ("analysisWideRootNoise", "analysisIgnorePreRootHistory", "genmoveAntiMirror",
                  "allowResignation", "ponderingEnabled", "delayMoveScale", "delayMoveMax",
                  "humanSLProfile")
NOT_OVERRIDABLE = ("dynamicPlayoutDoublingAdvantageCapPerOppLead", "avoidRepeatedPatternUtility")
FIXED_AFTER_START = ("nodeTableShardsPowerOfTwo", "useEvalCache", "evalCacheMinVisits")

# KataGo's GTP defaults for the few values front ends need even when no search is loaded.
FALLBACK_DEFAULTS = {"rootPolicyOptimism": 0.2, "playoutDoublingAdvantage": 0.0,
                     "drawEquivalentWinsForWhite": 0.5, "wideRootNoise": 0.0,
                     "numSearchThreads": 1, "maxVisits": 1 << 50, "maxPlayouts": 1 << 50,
                     "maxTime": 1e20, "maxVisitsPondering": 1 << 50,
                     "maxPlayoutsPondering": 1 << 50, "maxTimePondering": 1e20, "lagBuffer": 0.0,
                     "searchFactorAfterOnePass": 1.0,
                     "searchFactorAfterTwoPass": 1.0, "winLossUtilityFactor": 1.0,
                     "staticScoreUtilityFactor": 0.1, "dynamicScoreUtilityFactor": 0.3,
                     "playoutDoublingAdvantagePla": None, "antiMirror": False,
                     "conservativePass": True, "fillDameBeforePass": True,
                     "overallocateTimeFactor": 1.0, "midgameTimeFactor": 1.0,
                     "midgameTurnPeakTime": 130.0, "endgameTurnTimeDecay": 100.0,
                     "obviousMovesTimeFactor": 1.0, "obviousMovesPolicyEntropyTolerance": 0.30,
                     "obviousMovesPolicySurpriseTolerance": 0.15}


def json_number(x: float) -> str:
    """A double as nlohmann::json dumps it: the shortest round-trip digits, plain notation for
    decimal exponents -4 < n <= 15 (with `.0` on integers), else `1e+20` / `1.5e-05`."""
    if math.isnan(x) or math.isinf(x):
        return "null"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    digits, exp10 = _shortest_digits(abs(x))
    k = len(digits)
    n = k + exp10  # value = 0.d1d2...dk x 10^n
    if k <= n <= 15:
        return sign + digits + "0" * (n - k) + ".0"
    if 0 < n <= 15:
        return sign + digits[:n] + "." + digits[n:]
    if -4 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    body = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{body}e{'+' if e >= 0 else '-'}{abs(e):02d}"


def _shortest_digits(x: float) -> tuple[str, int]:
    """(digits, exponent) with x == int(digits) * 10**exponent, digits the shortest that round-trip."""
    text = repr(x)
    mantissa, _, exp = text.partition("e")
    exponent = int(exp) if exp else 0
    if "." in mantissa:
        whole, frac = mantissa.split(".")
    else:
        whole, frac = mantissa, ""
    digits = (whole + frac).lstrip("0")
    exponent -= len(frac)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return stripped or "0", exponent


def json_value(value: Any) -> str:
    """A parameter value as nlohmann::json dumps it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json_number(value)
    if value is None:
        return '"E"'
    if hasattr(value, "name") and not isinstance(value, str):  # an enum
        return json.dumps(str(value.name))
    return json.dumps(str(value))


def cpp_general(x: float) -> str:
    """KataGo's Global::doubleToString: C++ default stream formatting."""
    return format(float(x), ".6g")


def _player_name(text: Optional[str]) -> str:
    """playoutDoublingAdvantagePla as SearchParams takes it: BLACK, WHITE or "" (the mover)."""
    t = (text or "").strip().lower()
    return "BLACK" if t in ("b", "black") else "WHITE" if t in ("w", "white") else ""


# Search keys the GTP front end itself uses (time planning, pondering limits), so they are not
# "without effect" even though SearchParams has no such field.
GTP_HANDLED_KEYS = ("lagBuffer", "overallocateTimeFactor", "midgameTimeFactor",
                    "midgameTurnPeakTime", "endgameTurnTimeDecay", "maxVisitsPondering",
                    "maxPlayoutsPondering", "maxTimePondering")


class ParamState:
    """The config's search-related values as they are now (start-up config plus kata-set-param)."""

    def __init__(self, config, search_params_cls=None) -> None:
        self.config = config
        self.cls = search_params_cls
        self.values: dict[str, Any] = {}
        for name in SEARCH_KEY_NAMES + EXTRA_SETTABLE:
            value = getattr(config, name, None)
            if value is not None:
                self.values[name] = value
        self.allow_resignation = bool(config.allowResignation)
        self.pondering_enabled = bool(config.ponderingEnabled)
        self.delay_move_scale = config.delayMoveScale
        self.delay_move_max = config.delayMoveMax
        self.genmove, self.analysis = self.build()
        self.initial = (self.genmove, self.analysis)

    # ---- values -----------------------------------------------------------------------------

    def search_default(self, name: str) -> Any:
        base = self.cls.for_gtp() if self.cls is not None else None
        if base is not None and hasattr(base, name):
            return getattr(base, name)
        return FALLBACK_DEFAULTS.get(name)

    def value(self, name: str) -> Any:
        """The effective genmove value of a search key (config/set-param value, else default)."""
        if self.genmove is not None and hasattr(self.genmove, name):
            return getattr(self.genmove, name)
        if name in self.values:
            return self.values[name]
        if name in ("conservativePass", "fillDameBeforePass"):
            return True
        return self.search_default(name)

    def analysis_value(self, name: str) -> Any:
        if self.analysis is not None and hasattr(self.analysis, name):
            return getattr(self.analysis, name)
        if name == "wideRootNoise":
            return self.values.get("analysisWideRootNoise", 0.04)
        if name == "ignorePreRootHistory":
            return self.values.get("analysisIgnorePreRootHistory", True)
        if name == "antiMirror":
            return self.values.get("antiMirror", False)
        return self.value(name)

    def unsupported_keys(self) -> list[str]:
        """Search keys that are set but that the goloop search does not have."""
        if self.cls is None:
            return []
        names = {f.name for f in dataclasses.fields(self.cls)}
        return [k for k in self.values
                if k in SEARCH_KEY_NAMES and k not in names and k not in GTP_HANDLED_KEYS]

    # ---- SearchParams --------------------------------------------------------------------------

    def build(self):
        """(genmove, analysis) SearchParams from the current values; (None, None) without a search."""
        if self.cls is None:
            return None, None
        base = self.cls.for_gtp()
        names = {f.name for f in dataclasses.fields(base)}
        changes = {}
        for name, value in self.values.items():
            if name in SEARCH_KEY_NAMES and name in names:
                changes[name] = self._typed(name, value, base)
        for name in ("conservativePass", "fillDameBeforePass"):
            if name in names and name not in self.values:
                changes[name] = True
        params = dataclasses.replace(base, **changes)
        genmove_anti = self.values.get("genmoveAntiMirror", self.values.get("antiMirror", True))
        genmove = _replace_known(params, antiMirror=genmove_anti)
        analysis = _replace_known(
            params, wideRootNoise=self.values.get("analysisWideRootNoise", 0.04),
            ignorePreRootHistory=self.values.get("analysisIgnorePreRootHistory", True))
        return genmove, analysis

    @staticmethod
    def _typed(name: str, value: Any, base) -> Any:
        current = getattr(base, name)
        if name == "playoutDoublingAdvantagePla":
            return _player_name(value)
        if isinstance(current, bool) or current is None or isinstance(value, bool):
            return value
        if isinstance(current, int) and isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(current, float) and isinstance(value, int):
            return float(value)
        return value

    # ---- GTP commands ----------------------------------------------------------------------------

    def list_params(self) -> str:
        known = [k for k in CHANGEABLE_PARAMS if self._has(k)]
        return " ".join(list(SPECIAL_PARAMS) + sorted(known))

    def _has(self, name: str) -> bool:
        if name in GTP_HANDLED_KEYS:
            return True
        if self.cls is not None:
            return any(f.name == name for f in dataclasses.fields(self.cls))
        return name in FALLBACK_DEFAULTS

    def get_param(self, name: str) -> str:
        if name == "analysisWideRootNoise":
            return cpp_general(self.analysis_value("wideRootNoise"))
        if name == "analysisIgnorePreRootHistory":
            return _bool(self.analysis_value("ignorePreRootHistory"))
        if name == "genmoveAntiMirror":
            return _bool(self.genmove.antiMirror if _has_attr(self.genmove, "antiMirror")
                         else self.values.get("genmoveAntiMirror", self.values.get("antiMirror", True)))
        if name == "antiMirror":
            return _bool(self.analysis_value("antiMirror"))
        if name == "humanSLProfile":
            return self.values.get("humanSLProfile", "")
        if name == "allowResignation":
            return _bool(self.allow_resignation)
        if name == "ponderingEnabled":
            return _bool(self.pondering_enabled)
        if name == "delayMoveScale":
            return cpp_general(self.delay_move_scale)
        if name == "delayMoveMax":
            return cpp_general(self.delay_move_max)
        if name not in CHANGEABLE_PARAMS or not self._has(name):
            raise GtpError(f"Invalid parameter: {name}")
        if name == "playoutDoublingAdvantagePla":  # KataGo prints the player short: B, W or E
            return json.dumps({"BLACK": "B", "WHITE": "W"}.get(self.value(name) or "", "E"))
        return json_value(self.value(name))

    def get_params_json(self) -> str:
        """`kata-get-params`: every changeable value plus the special ones, as one JSON object."""
        out = {k: json.loads(self.get_param(k)) for k in CHANGEABLE_PARAMS if self._has(k)}
        for k in SPECIAL_PARAMS:
            out[k] = self.get_param(k)
        return json.dumps(dict(sorted(out.items())), separators=(",", ":"))

    def set_params(self, settings: dict[str, str], config_cls) -> None:
        """Apply kata-set-param(s); raises GtpError('Could not set params: ...') and changes
        nothing when any key or value is refused."""
        for key in settings:
            if key in NOT_OVERRIDABLE:
                raise GtpError(f"Could not set params: Cannot be overridden in kata-set-param: {key}")
            if key not in SEARCH_KEY_NAMES and key not in EXTRA_SETTABLE:
                raise GtpError("Could not set params: Unrecognized or non-overridable parameter "
                               f"in kata-set-params: {key}")
        try:
            parsed = load_config(config_cls, None, {k: v for k, v in settings.items() if v != ""})
        except ConfigError as e:
            raise GtpError(f"Could not set params: {e}") from None
        new_values = dict(self.values)
        for key, text in settings.items():
            if text == "":
                new_values.pop(key, None)
            else:
                new_values[key] = getattr(parsed, key)
        old_values, self.values = self.values, new_values
        try:
            genmove, analysis = self.build()
            for name in FIXED_AFTER_START:
                if genmove is not None and getattr(genmove, name, None) != getattr(self.initial[0], name, None):
                    raise GtpError(f"Could not set params: Cannot change {name} after initialization")
        except (GtpError, ValueError, TypeError) as e:
            self.values = old_values
            raise e if isinstance(e, GtpError) else GtpError(f"Could not set params: {e}") from None
        self.genmove, self.analysis = genmove, analysis
        if "allowResignation" in settings:
            self.allow_resignation = bool(new_values.get("allowResignation", self.config.allowResignation))
        if "ponderingEnabled" in settings:
            self.pondering_enabled = bool(new_values.get("ponderingEnabled", self.config.ponderingEnabled))
        if "delayMoveScale" in settings:
            self.delay_move_scale = new_values.get("delayMoveScale", self.config.delayMoveScale)
        if "delayMoveMax" in settings:
            self.delay_move_max = new_values.get("delayMoveMax", self.config.delayMoveMax)

    @property
    def static_pda_takes_precedence(self) -> bool:
        """KataGo: a configured playoutDoublingAdvantage wins over the dynamic one unless
        dynamicPlayoutDoublingAdvantageCapPerOppLead is configured too."""
        return ("playoutDoublingAdvantage" in self.values
                and self.config.dynamicPlayoutDoublingAdvantageCapPerOppLead is None)


def _bool(value: Any) -> str:
    return "true" if value else "false"


def _has_attr(obj, name: str) -> bool:
    return obj is not None and hasattr(obj, name)


def _replace_known(params, **changes):
    """dataclasses.replace with only the fields `params` has."""
    names = {f.name for f in dataclasses.fields(params)}
    return dataclasses.replace(params, **{k: v for k, v in changes.items() if k in names})


def parse_set_params_json(text: str) -> dict[str, str]:
    """`kata-set-params {json object}`: values as strings (strings as they are, others as JSON)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise GtpError(f"Could not set params: {e}") from None
    if not isinstance(data, dict):
        raise GtpError("Could not set params: Argument to kata-set-params must be a json object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
