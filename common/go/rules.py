"""KataGo's rule set: one value object plus every text form KataGo reads and writes.

KataGo names rules in four ways and goloop must accept and produce all of them byte-for-byte,
because they travel between programs: preset names (GTP `kata-set-rules chinese`), a JSON object
(GTP `kata-get-rules` / `kata-set-rules {...}`, analysis queries), a compact legacy string
(`koSIMPLEscoreAREAtaxNONEsui0whbNfpok1komi7.5`, SGF `RU[]` of non-preset rules, log lines) and
"nice" names in SGF (`RU[Chinese]`). The spellings accepted and the defaults filled in for
missing fields follow KataGo v1.17.2 (`cpp/game/rules.cpp`), see `shared/spec/rules.md` §1.

Deliberate differences from KataGo, all stricter:
  * komi must always be an integer or half-integer within [-400, 400] (KataGo enforces this for
    JSON and user input but lets the legacy compact form through with any finite komi);
  * TERRITORY scoring with the button is refused at construction: KataGo parses it but no net
    supports it (GTP refuses it when the rules reach the net), so it can never be played.
SPIGHT ko is kept (the board history defines it); `check_nn_supported` refuses it the way
KataGo's model-version >= 7 nets do.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Optional


class RulesError(ValueError):
    """Rules text that cannot be parsed, an unknown field or value, or an unsupported combination."""


class KoRule(enum.IntEnum):
    SIMPLE = 0
    POSITIONAL = 1
    SITUATIONAL = 2
    SPIGHT = 3


class ScoringRule(enum.IntEnum):
    AREA = 0
    TERRITORY = 1


class TaxRule(enum.IntEnum):
    NONE = 0
    SEKI = 1
    ALL = 2


class WhiteHandicapBonus(enum.IntEnum):
    # NOTE: these codes are goloop's own (as fixed by the project brief); KataGo's C++ numbers
    # them WHB_N=1, WHB_N_MINUS_ONE=2. The code never leaves the process (no file format stores
    # it), only the text forms "0"/"N-1"/"N" do, so the difference is invisible outside.
    ZERO = 0
    N_MINUS_ONE = 1
    N = 2


# Text form of each white-handicap-bonus value in KataGo's JSON and compact strings.
_WHB_TEXT = {WhiteHandicapBonus.ZERO: "0", WhiteHandicapBonus.N_MINUS_ONE: "N-1", WhiteHandicapBonus.N: "N"}
_WHB_OF_TEXT = {text: whb for whb, text in _WHB_TEXT.items()}

MIN_USER_KOMI = -400.0
MAX_USER_KOMI = 400.0
# Komi of a default-constructed KataGo Rules and of presets / forms that do not fix it.
DEFAULT_KOMI = 7.5


def validate_komi(komi: Any) -> float:
    """Return komi as a float, or raise RulesError unless it is a finite (half-)integer in [-400, 400].

    Half-integer steps are what keep final scores on the grid KataGo's value/score targets assume;
    the bound is KataGo's MIN/MAX_USER_KOMI.
    """
    if isinstance(komi, bool) or not isinstance(komi, (int, float)):
        raise RulesError(f"komi must be a number, got {komi!r}")
    value = float(komi)
    if not math.isfinite(value) or value * 2 != math.floor(value * 2):
        raise RulesError(f"komi {komi!r} is not an integer or half-integer")
    if not MIN_USER_KOMI <= value <= MAX_USER_KOMI:
        raise RulesError(f"komi {komi!r} is outside [{MIN_USER_KOMI:g}, {MAX_USER_KOMI:g}]")
    return value


def format_komi(komi: float) -> str:
    """Komi as C++ iostream prints a float (KataGo's SGF KM[] and compact string): 7, 7.5, -0.5."""
    return f"{komi:g}"


@dataclass(frozen=True)
class Rules:
    """One complete rule set, immutable so it can be shared between games and used as a dict key.

    Defaults are KataGo's default-constructed Rules (Tromp-Taylor-like, komi 7.5).
    """

    ko_rule: KoRule = KoRule.POSITIONAL
    """Which repetitions are banned (simple ko only, or positional/situational superko)."""
    scoring_rule: ScoringRule = ScoringRule.AREA
    """Area (stones + territory) or territory (territory + prisoners, with encore phases)."""
    tax_rule: TaxRule = TaxRule.NONE
    """Points removed for seki eyes (SEKI) or for two eyes of every group (ALL)."""
    multi_stone_suicide_legal: bool = True
    """Whether a suicide of more than one stone is legal; single-stone suicide never is."""
    has_button: bool = False
    """Whether the first passer collects a 0.5-point button (area scoring only)."""
    white_handicap_bonus: WhiteHandicapBonus = WhiteHandicapBonus.ZERO
    """Extra points white receives per black handicap stone: 0, N-1 or N."""
    friendly_pass_ok: bool = False
    """Informational: passing before dead stones are captured is acceptable (search behaviour only)."""
    komi: float = DEFAULT_KOMI
    """Points added to white's score; an integer or half-integer in [-400, 400]."""

    def __post_init__(self) -> None:
        # Coerce plain ints to the enums (callers and the Cython side pass codes) and validate,
        # so a Rules that exists is always a usable one.
        for name, enum_type in (
            ("ko_rule", KoRule),
            ("scoring_rule", ScoringRule),
            ("tax_rule", TaxRule),
            ("white_handicap_bonus", WhiteHandicapBonus),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise RulesError(f"{name} must be a {enum_type.__name__}, got {value!r}")
            try:
                object.__setattr__(self, name, enum_type(value))
            except ValueError:
                raise RulesError(f"{name}: no {enum_type.__name__} has code {value!r}") from None
        for name in ("multi_stone_suicide_legal", "has_button", "friendly_pass_ok"):
            if not isinstance(getattr(self, name), bool):
                raise RulesError(f"{name} must be a bool, got {getattr(self, name)!r}")
        object.__setattr__(self, "komi", validate_komi(self.komi))
        if self.has_button and self.scoring_rule != ScoringRule.AREA:
            raise RulesError("the button (hasButton) is only supported with AREA scoring")

    # ----------------------------------------------------------------------------------------
    # Derived facts

    def equals_ignoring_komi(self, other: "Rules") -> bool:
        return dataclasses.replace(self, komi=other.komi) == other

    def with_komi(self, komi: float) -> "Rules":
        return dataclasses.replace(self, komi=komi)

    def game_result_will_be_integer(self) -> bool:
        """Whether the final score is an integer (so a draw is possible): integer komi XOR button."""
        return (self.komi == math.floor(self.komi)) != self.has_button

    def check_nn_supported(self) -> None:
        """Raise RulesError for rules KataGo nets of model version >= 7 cannot play (SPIGHT ko).

        KataGo's GTP refuses such rules when it hands them to the net; TERRITORY with the button,
        the other case, cannot even be constructed here.
        """
        if self.ko_rule == KoRule.SPIGHT:
            raise RulesError("SPIGHT ko is not supported by the neural nets (use SITUATIONAL)")

    # ----------------------------------------------------------------------------------------
    # Text forms

    def to_json(self, include_komi: bool = False, omit_defaults: bool = False) -> dict:
        """The dict KataGo builds for its JSON forms.

        include_komi=False, omit_defaults=False is what GTP `kata-get-rules` prints.
        omit_defaults drops hasButton/whiteHandicapBonus/friendlyPassOk when they have their
        Tromp-Taylor value (KataGo's compact form for analysis output).
        """
        out: dict = {
            "ko": self.ko_rule.name,
            "scoring": self.scoring_rule.name,
            "tax": self.tax_rule.name,
            "suicide": self.multi_stone_suicide_legal,
        }
        if not omit_defaults or self.has_button:
            out["hasButton"] = self.has_button
        if not omit_defaults or self.white_handicap_bonus != WhiteHandicapBonus.ZERO:
            out["whiteHandicapBonus"] = _WHB_TEXT[self.white_handicap_bonus]
        if not omit_defaults or self.friendly_pass_ok:
            out["friendlyPassOk"] = self.friendly_pass_ok
        if include_komi:
            out["komi"] = self.komi
        return out

    def json_text(self, include_komi: bool = False, omit_defaults: bool = False) -> str:
        """KataGo's JSON string: keys sorted, no spaces (nlohmann::json's dump of a std::map)."""
        return json.dumps(self.to_json(include_komi, omit_defaults), sort_keys=True, separators=(",", ":"))

    def to_compact(self, include_komi: bool = True) -> str:
        """KataGo's legacy compact string, e.g. `koSIMPLEscoreAREAtaxNONEsui0whbNfpok1komi7.5`.

        Button, whb and fpok appear only when they differ from Tromp-Taylor, as KataGo writes it.
        """
        parts = [
            f"ko{self.ko_rule.name}",
            f"score{self.scoring_rule.name}",
            f"tax{self.tax_rule.name}",
            f"sui{int(self.multi_stone_suicide_legal)}",
        ]
        if self.has_button:
            parts.append("button1")
        if self.white_handicap_bonus != WhiteHandicapBonus.ZERO:
            parts.append(f"whb{_WHB_TEXT[self.white_handicap_bonus]}")
        if self.friendly_pass_ok:
            parts.append("fpok1")
        if include_komi:
            parts.append(f"komi{format_komi(self.komi)}")
        return "".join(parts)

    def sgf_name(self) -> str:
        """What KataGo writes in SGF RU[]: a nice preset name when one matches, else the compact form.

        Komi is ignored (it goes in KM[]). The order of the checks matters: it decides which of
        two presets with equal rules gives the name (e.g. japanese and korean -> "Japanese").
        """
        for nice_name in _NICE_NAMES:
            if self.equals_ignoring_komi(_preset(nice_name)):
                return nice_name
        return self.to_compact(include_komi=False)

    def __str__(self) -> str:
        return self.to_compact(include_komi=True)

    # ----------------------------------------------------------------------------------------
    # GTP kata-set-rule

    def with_field(self, name: str, value: Any) -> "Rules":
        """A copy with one field changed, with GTP `kata-set-rule NAME VALUE` semantics.

        NAME is a kata-get-rules JSON key (ko, scoring or score, tax, suicide, hasButton,
        whiteHandicapBonus, friendlyPassOk). VALUE is KataGo's text (case-insensitive, e.g.
        "simple", "true", "n-1") or the Python value (enum member, bool). Like KataGo, changing
        scoring does not re-derive tax, and komi is not settable this way.
        """
        key = name.strip()
        if key == "ko":
            return dataclasses.replace(self, ko_rule=_enum_value(KoRule, value, key))
        if key in ("scoring", "score"):
            return dataclasses.replace(self, scoring_rule=_enum_value(ScoringRule, value, key))
        if key == "tax":
            return dataclasses.replace(self, tax_rule=_enum_value(TaxRule, value, key))
        if key == "suicide":
            return dataclasses.replace(self, multi_stone_suicide_legal=_bool_value(value, key))
        if key == "hasButton":
            return dataclasses.replace(self, has_button=_bool_value(value, key))
        if key == "whiteHandicapBonus":
            if isinstance(value, WhiteHandicapBonus):
                whb = value
            elif isinstance(value, str) and value.strip().upper() in _WHB_OF_TEXT:
                whb = _WHB_OF_TEXT[value.strip().upper()]
            else:
                raise RulesError(f"whiteHandicapBonus must be one of 0, N-1, N; got {value!r}")
            return dataclasses.replace(self, white_handicap_bonus=whb)
        if key == "friendlyPassOk":
            return dataclasses.replace(self, friendly_pass_ok=_bool_value(value, key))
        raise RulesError(f"unknown rules option: {name!r}")


def _enum_value(enum_type, value: Any, key: str):
    if isinstance(value, enum_type):
        return value
    if isinstance(value, str) and value.strip().upper() in enum_type.__members__:
        return enum_type[value.strip().upper()]
    choices = ", ".join(enum_type.__members__)
    raise RulesError(f"{key} must be one of {choices}; got {value!r}")


def _bool_value(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RulesError(f"{key} must be true or false; got {value!r}")


# ------------------------------------------------------------------------------------------------
# Presets

def _r(ko, scoring, tax, suicide, whb=WhiteHandicapBonus.ZERO, button=False, fpok=False, komi=7.5) -> Rules:
    return Rules(ko, scoring, tax, suicide, button, whb, fpok, komi)


_K, _S, _T, _W = KoRule, ScoringRule, TaxRule, WhiteHandicapBonus
_JAPANESE = _r(_K.SIMPLE, _S.TERRITORY, _T.SEKI, False, komi=6.5)
_CHINESE = _r(_K.SIMPLE, _S.AREA, _T.NONE, False, _W.N, fpok=True)
_CHINESE_SUPERKO = _r(_K.POSITIONAL, _S.AREA, _T.NONE, False, _W.N, fpok=True)
_STONE_SCORING = _r(_K.SIMPLE, _S.AREA, _T.ALL, False, fpok=True)
_ANCIENT_TERRITORY = _r(_K.SIMPLE, _S.TERRITORY, _T.ALL, False, komi=6.5)
_AGA = _r(_K.SITUATIONAL, _S.AREA, _T.NONE, False, _W.N_MINUS_ONE, fpok=True)
_AGA_BUTTON = _r(_K.SITUATIONAL, _S.AREA, _T.NONE, False, _W.N_MINUS_ONE, button=True, fpok=True, komi=7.0)
_NZ = _r(_K.SITUATIONAL, _S.AREA, _T.NONE, True, fpok=True, komi=7.0)
_TROMP_TAYLOR = _r(_K.POSITIONAL, _S.AREA, _T.NONE, True)
_GOE = _r(_K.POSITIONAL, _S.AREA, _T.NONE, True, fpok=True)

# Canonical preset names (lower case) -> rules, komi included (the preset's default komi).
PRESETS: dict[str, Rules] = {
    "tromp-taylor": _TROMP_TAYLOR,
    "chinese": _CHINESE,
    "chinese-ogs": _CHINESE_SUPERKO,
    "chinese-kgs": _CHINESE_SUPERKO,
    "japanese": _JAPANESE,
    "korean": _JAPANESE,
    "stone-scoring": _STONE_SCORING,
    "ancient-area": _STONE_SCORING,
    "ancient-territory": _ANCIENT_TERRITORY,
    "aga": _AGA,
    "bga": _AGA,
    "french": _AGA,
    "aga-button": _AGA_BUTTON,
    "nz": _NZ,
    "new-zealand": _NZ,
    "goe": _GOE,
    "ing": _GOE,
}

# Every spelling KataGo accepts (after trimming and lower-casing) -> canonical preset name.
# KataGo lists spellings one by one rather than normalising separators, so e.g. "chinese ogs"
# (with a space) is not a name; the table reproduces exactly its list.
PRESET_ALIASES: dict[str, str] = {name: name for name in PRESETS}
for _canonical, _words, _seps in (
    ("chinese-ogs", ("chinese", "ogs"), ("", "_", "-")),
    ("chinese-kgs", ("chinese", "kgs"), ("", "_", "-")),
    ("ancient-area", ("ancient", "area"), ("", "-", "_", " ")),
    ("stone-scoring", ("stone", "scoring"), ("", "-", "_", " ")),
    ("ancient-territory", ("ancient", "territory"), ("", "-", "_", " ")),
    ("aga-button", ("aga", "button"), ("", "-", "_", " ")),
    ("new-zealand", ("new", "zealand"), ("", " ", "-", "_")),
    ("tromp-taylor", ("tromp", "taylor"), ("-", "_", " ", "")),
):
    for _sep in _seps:
        PRESET_ALIASES[_sep.join(_words)] = _canonical
del _canonical, _words, _seps, _sep

# Nice SGF names in KataGo's order of preference (toStringNoKomiMaybeNice).
_NICE_NAMES = ("TrompTaylor", "Japanese", "Chinese", "Chinese-OGS", "AGA", "StoneScoring", "NewZealand")

# KGS `kgs-rules` names -> preset; KGS's "chinese" means positional superko.
KGS_RULES: dict[str, str] = {
    "chinese": "chinese-kgs",
    "aga": "aga",
    "japanese": "japanese",
    "new_zealand": "new-zealand",
}


def _preset(name: str) -> Rules:
    return PRESETS[PRESET_ALIASES[name.strip().lower()]]


# ------------------------------------------------------------------------------------------------
# Parsing

def parse_rules(text: str, komi: Optional[float] = None) -> Rules:
    """Parse any rules text KataGo accepts: a preset name, a JSON object or the compact form.

    komi=None: the komi is the one in the text, else the default for that text (the preset's
    komi; for JSON/compact forms 6.5 with territory scoring, 7.0 with the button, else 7.5).
    komi given: that komi is used and the text must not contain one (KataGo's
    parseRulesWithoutKomi, i.e. GTP `kata-set-rules`, where komi is set separately).
    A missing tax is SEKI under territory scoring, NONE under area scoring.
    """
    if not isinstance(text, str):
        raise RulesError(f"rules must be text, got {type(text).__name__}")
    allow_komi = komi is None
    lowered = text.strip().lower()
    if lowered in PRESET_ALIASES:
        rules = PRESETS[PRESET_ALIASES[lowered]]
    elif text.startswith("{"):
        rules = _parse_json(text, allow_komi)
    else:
        rules = _parse_compact(text, allow_komi)
    return rules if komi is None else rules.with_komi(komi)


def parse_kgs_rules(text: str, komi: Optional[float] = None) -> Rules:
    """Parse a KGS `kgs-rules` name (chinese, aga, japanese, new_zealand); chinese -> chinese-kgs."""
    name = text.strip().lower() if isinstance(text, str) else None
    if name not in KGS_RULES:
        raise RulesError(f"unknown KGS rules {text!r}; expected one of {', '.join(KGS_RULES)}")
    rules = PRESETS[KGS_RULES[name]]
    return rules if komi is None else rules.with_komi(komi)


# Field setters for the JSON form: key -> (Rules field, converter of the JSON value).
def _json_text(enum_parse):
    def convert(value, key):
        if not isinstance(value, str):
            raise RulesError(f"rules JSON: {key} must be a string, got {value!r}")
        return enum_parse(value, key)
    return convert


def _json_bool(value, key):
    if not isinstance(value, bool):
        raise RulesError(f"rules JSON: {key} must be true or false, got {value!r}")
    return value


def _exact_member(enum_type):
    # JSON values are case-sensitive in KataGo ("SIMPLE", not "simple").
    def parse(value, key):
        if value not in enum_type.__members__:
            raise RulesError(f"rules JSON: invalid {key} {value!r}; expected one of {', '.join(enum_type.__members__)}")
        return enum_type[value]
    return parse


def _exact_whb(value, key):
    if value not in _WHB_OF_TEXT:
        raise RulesError(f"rules JSON: invalid {key} {value!r}; expected one of 0, N-1, N")
    return _WHB_OF_TEXT[value]


_JSON_FIELDS = {
    "ko": ("ko_rule", _json_text(_exact_member(KoRule))),
    "scoring": ("scoring_rule", _json_text(_exact_member(ScoringRule))),
    "score": ("scoring_rule", _json_text(_exact_member(ScoringRule))),
    "tax": ("tax_rule", _json_text(_exact_member(TaxRule))),
    "suicide": ("multi_stone_suicide_legal", _json_bool),
    "hasButton": ("has_button", _json_bool),
    "whiteHandicapBonus": ("white_handicap_bonus", _json_text(_exact_whb)),
    "friendlyPassOk": ("friendly_pass_ok", _json_bool),
}


def _parse_json(text: str, allow_komi: bool) -> Rules:
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise RulesError(f"could not parse rules JSON {text[:80]!r}: {e}") from None
    if not isinstance(obj, dict):
        raise RulesError(f"rules JSON must be an object: {text!r}")
    fields: dict = {}
    for key, value in obj.items():
        if key == "komi":
            if not allow_komi:
                raise RulesError("unknown rules option: komi (komi is set separately here)")
            fields["komi"] = validate_komi(value)
        elif key in _JSON_FIELDS:
            field_name, convert = _JSON_FIELDS[key]
            fields[field_name] = convert(value, key)
        else:
            raise RulesError(f"unknown rules option: {key!r}")
    return _with_derived_defaults(fields)


def _with_derived_defaults(fields: dict) -> Rules:
    """Fill what the JSON/compact text left out: Tromp-Taylor values, then KataGo's derived tax/komi."""
    scoring = fields.get("scoring_rule", ScoringRule.AREA)
    fields.setdefault("tax_rule", TaxRule.SEKI if scoring == ScoringRule.TERRITORY else TaxRule.NONE)
    if "komi" not in fields:
        if scoring == ScoringRule.TERRITORY:
            fields["komi"] = 6.5
        elif fields.get("has_button", False):
            fields["komi"] = 7.0
    return dataclasses.replace(_TROMP_TAYLOR, **fields)


# Compact-form keys in the order KataGo tries them ("komi" before "ko", "scoring" before
# "score", "N-1" before "N"), each with its accepted values (case-sensitive).
_COMPACT_FIELDS = (
    ("ko", "ko_rule", tuple((m.name, m) for m in KoRule)),
    ("scoring", "scoring_rule", tuple((m.name, m) for m in ScoringRule)),
    ("score", "scoring_rule", tuple((m.name, m) for m in ScoringRule)),
    ("tax", "tax_rule", tuple((m.name, m) for m in TaxRule)),
    ("sui", "multi_stone_suicide_legal", (("1", True), ("0", False))),
    ("button", "has_button", (("1", True), ("0", False))),
    ("whb", "white_handicap_bonus", (("0", _W.ZERO), ("N-1", _W.N_MINUS_ONE), ("N", _W.N))),
    ("fpok", "friendly_pass_ok", (("1", True), ("0", False))),
)


_KOMI_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")


def _parse_compact(text: str, allow_komi: bool) -> Rules:
    rest = text.strip()
    if not rest:
        raise RulesError("empty rules text")
    fields: dict = {}
    while rest:
        if rest.startswith("komi"):
            if not allow_komi:
                raise RulesError(f"rules {text!r} contain a komi, but komi is set separately here")
            rest = rest[4:].strip()
            end = 0
            while end < len(rest) and not rest[end].isalpha() and not rest[end].isspace():
                end += 1
            if not _KOMI_NUMBER.fullmatch(rest[:end]):
                raise RulesError(f"could not parse rules {text!r}: bad komi {rest[:end]!r}")
            try:
                fields["komi"] = validate_komi(float(rest[:end]))
            except RulesError as e:
                raise RulesError(f"rules {text!r}: {e}") from None
            rest = rest[end:].strip()
            continue
        for prefix, field_name, values in _COMPACT_FIELDS:
            if rest.startswith(prefix):
                rest = rest[len(prefix):].strip()
                for value_text, value in values:
                    if rest.startswith(value_text):
                        fields[field_name] = value
                        rest = rest[len(value_text):].strip()
                        break
                else:
                    raise RulesError(f"could not parse rules {text!r}: bad value for {prefix!r} at {rest!r}")
                break
        else:
            raise RulesError(f"unknown rules {text!r}: not a preset name, JSON object or compact rules string")
    return _with_derived_defaults(fields)
