"""Rules: presets, the three text forms and kata-set-rule, checked against real KataGo output."""
import itertools
import json
import pathlib
import re

import pytest

from goloop.common.go.rules import (
    KGS_RULES,
    PRESET_ALIASES,
    PRESETS,
    KoRule,
    Rules,
    RulesError,
    ScoringRule,
    TaxRule,
    WhiteHandicapBonus,
    format_komi,
    parse_kgs_rules,
    parse_rules,
    validate_komi,
)

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
REFERENCE = SHARED / "reference"


def _reference_cases():
    """(file, item) for every record in the reference files that carries kata-get-rules output."""
    cases = []
    for path in sorted(REFERENCE.glob("*.json")):
        data = json.loads(path.read_text())
        items = data["games"] if "games" in data else [data]
        for i, item in enumerate(items):
            if "rules_json_from_kata_get_rules" in item:
                cases.append(pytest.param(item, id=f"{path.stem}[{i}]"))
    return cases


REFERENCE_CASES = _reference_cases()


def test_reference_cases_found():
    assert len(REFERENCE_CASES) >= 20


@pytest.mark.parametrize("item", REFERENCE_CASES)
def test_kata_get_rules_matches_reference(item):
    rules = parse_rules(item["rules"], komi=item["komi"])
    assert rules.to_json() == item["rules_json_from_kata_get_rules"]
    # Key order and spacing too: KataGo prints sorted keys without spaces.
    expected_text = json.dumps(item["rules_json_from_kata_get_rules"], sort_keys=True, separators=(",", ":"))
    assert rules.json_text() == expected_text
    assert list(json.loads(rules.json_text())) == sorted(item["rules_json_from_kata_get_rules"])
    assert parse_rules(rules.json_text(), komi=item["komi"]) == rules


def _showboard_rules_line(item):
    """The "Rules: ..." line of a record's showboard output (a list of lines or one string)."""
    board = item.get("showboard", item.get("final_showboard", []))
    lines = board.splitlines() if isinstance(board, str) else board
    return next((line for line in lines if line.startswith("Rules: ")), None)


SHOWBOARD_CASES = [case for case in REFERENCE_CASES if _showboard_rules_line(case.values[0]) is not None]


def test_showboard_cases_found():
    assert len(SHOWBOARD_CASES) >= 20


@pytest.mark.parametrize("item", SHOWBOARD_CASES)
def test_showboard_rules_line_matches_json_with_komi(item):
    # KataGo's showboard prints the full rules JSON (toJsonString), komi included.
    line = _showboard_rules_line(item)
    rules = parse_rules(item["rules"], komi=item["komi"])
    assert line == "Rules: " + rules.json_text(include_komi=True)


def test_exact_area_score_rules_in_reference():
    data = json.loads((REFERENCE / "rules_games.json").read_text())
    for game in data["games"]:
        if "exact_area_score_strict_rules" in game:
            strict = parse_rules(json.dumps(game["exact_area_score_strict_rules"]), komi=game["komi"])
            assert strict == parse_rules("chinese", komi=game["komi"]).with_field("friendlyPassOk", "false")


def _documented_presets():
    """The kata-set-rules preset list from KataGo's GTP extension docs."""
    text = (SHARED / "seeds" / "003_9e90f8f78937027c.txt").read_text()
    found = re.findall(r"•\s*([a-z-]+)\s*:\s*Equivalent to (\{[^}]*\})", text)
    return {name: json.loads(obj) for name, obj in found}


def test_presets_match_katago_docs():
    documented = _documented_presets()
    assert set(documented) == {
        "tromp-taylor", "chinese", "chinese-ogs", "chinese-kgs", "japanese", "korean", "stone-scoring",
        "aga", "bga", "new-zealand", "aga-button",
    }
    for name, fields in documented.items():
        if name in ("japanese", "korean"):
            # The docs say friendlyPassOk true, but KataGo v1.17.2 (reference kata-get-rules output
            # and source) has false for these two.
            fields = dict(fields, friendlyPassOk=False)
        assert parse_rules(name).to_json() == fields, name


@pytest.mark.parametrize(
    "name, komi",
    [
        ("tromp-taylor", 7.5), ("chinese", 7.5), ("chinese-ogs", 7.5), ("chinese-kgs", 7.5),
        ("japanese", 6.5), ("korean", 6.5), ("stone-scoring", 7.5), ("ancient-area", 7.5),
        ("ancient-territory", 6.5), ("aga", 7.5), ("bga", 7.5), ("french", 7.5), ("aga-button", 7.0),
        ("nz", 7.0), ("new-zealand", 7.0), ("goe", 7.5), ("ing", 7.5),
    ],
)
def test_preset_default_komi(name, komi):
    assert parse_rules(name).komi == komi
    assert PRESETS[name].komi == komi


def test_preset_fields_from_spec():
    assert PRESETS["ancient-territory"] == Rules(
        KoRule.SIMPLE, ScoringRule.TERRITORY, TaxRule.ALL, False, False, WhiteHandicapBonus.ZERO, False, 6.5
    )
    assert PRESETS["goe"] == PRESETS["tromp-taylor"].with_field("friendlyPassOk", True)
    assert PRESETS["aga-button"].has_button and PRESETS["aga-button"].white_handicap_bonus == WhiteHandicapBonus.N_MINUS_ONE
    assert PRESETS["nz"].multi_stone_suicide_legal and PRESETS["nz"].ko_rule == KoRule.SITUATIONAL
    assert Rules() == PRESETS["tromp-taylor"]


@pytest.mark.parametrize(
    "spelling, canonical",
    [
        ("Tromp-Taylor", "tromp-taylor"), ("tromp taylor", "tromp-taylor"), ("TROMPTAYLOR", "tromp-taylor"),
        ("tromp_taylor", "tromp-taylor"), ("  Chinese  ", "chinese"), ("chineseogs", "chinese-ogs"),
        ("Chinese_KGS", "chinese-kgs"), ("StoneScoring", "stone-scoring"), ("stone scoring", "stone-scoring"),
        ("ancient_area", "ancient-area"), ("AncientTerritory", "ancient-territory"),
        ("AGA Button", "aga-button"), ("agabutton", "aga-button"), ("New Zealand", "new-zealand"),
        ("newzealand", "new-zealand"), ("new_zealand", "new-zealand"), ("NZ", "nz"), ("Ing", "ing"),
        ("KOREAN", "korean"), ("French", "french"), ("BGA", "bga"),
    ],
)
def test_preset_spellings(spelling, canonical):
    assert PRESET_ALIASES[spelling.strip().lower()] == canonical
    assert parse_rules(spelling) == PRESETS[canonical]


@pytest.mark.parametrize("bad", ["chinese ogs", "japan", "tromp--taylor", "", "   ", "aga-buttons", "new zealand rules"])
def test_unknown_names_rejected(bad):
    with pytest.raises(RulesError):
        parse_rules(bad)


def test_kgs_rules():
    assert parse_kgs_rules("chinese") == PRESETS["chinese-kgs"]
    assert parse_kgs_rules("Japanese") == PRESETS["japanese"]
    assert parse_kgs_rules("aga") == PRESETS["aga"]
    assert parse_kgs_rules("new_zealand") == PRESETS["nz"]
    assert parse_kgs_rules("chinese", komi=5.5) == PRESETS["chinese-kgs"].with_komi(5.5)
    assert set(KGS_RULES) == {"chinese", "aga", "japanese", "new_zealand"}
    for bad in ("tromp-taylor", "korean", "new-zealand", ""):
        with pytest.raises(RulesError):
            parse_kgs_rules(bad)


# --------------------------------------------------------------------------------------------
# JSON form

def test_json_defaults_are_tromp_taylor():
    assert parse_rules("{}") == PRESETS["tromp-taylor"]


def test_json_missing_tax_and_komi_are_derived():
    territory = parse_rules('{"scoring":"TERRITORY"}')
    assert territory.tax_rule == TaxRule.SEKI and territory.komi == 6.5
    assert parse_rules('{"score":"TERRITORY","tax":"NONE"}').tax_rule == TaxRule.NONE
    area = parse_rules('{"scoring":"AREA","ko":"SIMPLE"}')
    assert area.tax_rule == TaxRule.NONE and area.komi == 7.5
    button = parse_rules('{"hasButton":true}')
    assert button.komi == 7.0 and button.has_button
    assert parse_rules('{"hasButton":true,"komi":8}').komi == 8.0


def test_json_full_object():
    text = (
        '{"ko":"SITUATIONAL","scoring":"AREA","tax":"ALL","suicide":false,"hasButton":true,'
        '"whiteHandicapBonus":"N-1","friendlyPassOk":true,"komi":-3.5}'
    )
    assert parse_rules(text) == Rules(
        KoRule.SITUATIONAL, ScoringRule.AREA, TaxRule.ALL, False, True, WhiteHandicapBonus.N_MINUS_ONE, True, -3.5
    )


@pytest.mark.parametrize(
    "bad",
    [
        '{"ko":"simple"}',  # values are case-sensitive in JSON
        '{"ko":"SUPER"}',
        '{"suicide":"true"}',
        '{"suicide":1}',
        '{"whiteHandicapBonus":"N-2"}',
        '{"whiteHandicapBonus":0}',
        '{"komi":7.25}',
        '{"komi":401}',
        '{"komi":"7.5"}',
        '{"komi":true}',
        '{"color":"black"}',
        '{"ko":"SIMPLE"',
        '["ko"]',
        '{"scoring":"TERRITORY","hasButton":true}',
    ],
)
def test_json_errors(bad):
    with pytest.raises(RulesError):
        parse_rules(bad)


def test_komi_argument_forbids_komi_in_text():
    assert parse_rules('{"ko":"SIMPLE"}', komi=5).komi == 5.0
    assert parse_rules("japanese", komi=0).komi == 0.0
    with pytest.raises(RulesError):
        parse_rules('{"komi":7.5}', komi=7.5)
    with pytest.raises(RulesError):
        parse_rules("koSIMPLEkomi7.5", komi=7.5)
    with pytest.raises(RulesError):
        parse_rules("chinese", komi=7.3)


# --------------------------------------------------------------------------------------------
# Compact form

def test_compact_example_from_spec():
    rules = parse_rules("koSIMPLEscoreAREAtaxNONEsui1button0whbNfpok0komi7.5")
    assert rules == Rules(KoRule.SIMPLE, ScoringRule.AREA, TaxRule.NONE, True, False, WhiteHandicapBonus.N, False, 7.5)
    assert rules.to_compact() == "koSIMPLEscoreAREAtaxNONEsui1whbNkomi7.5"


def test_compact_without_komi_uses_derived_defaults():
    assert parse_rules("koSIMPLEscoreTERRITORYsui0").komi == 6.5
    assert parse_rules("koSIMPLEscoreTERRITORYsui0").tax_rule == TaxRule.SEKI
    assert parse_rules("koSITUATIONALscoreAREAbutton1").komi == 7.0
    assert parse_rules("koSIMPLE").komi == 7.5


def test_compact_variants():
    assert parse_rules(" koSPIGHT scoringAREA taxALL sui0 whbN-1 fpok1 komi-2 ") == Rules(
        KoRule.SPIGHT, ScoringRule.AREA, TaxRule.ALL, False, False, WhiteHandicapBonus.N_MINUS_ONE, True, -2.0
    )
    assert parse_rules("komi.5koSIMPLE").komi == 0.5
    assert parse_rules("whb0").white_handicap_bonus == WhiteHandicapBonus.ZERO


@pytest.mark.parametrize(
    "bad",
    ["kosimple", "koSIMPLEscoreAREAtaxNONEsui2", "koSIMPLExyz", "koSIMPLEkomi", "koSIMPLEkomi7.25",
     "koSIMPLEkomi1_0", "koSIMPLEkomi500", "whbN-2x", "button1scoreTERRITORY", "scoreSOMETHING"],
)
def test_compact_errors(bad):
    with pytest.raises(RulesError):
        parse_rules(bad)


@pytest.mark.parametrize(
    "name, compact",
    [
        ("tromp-taylor", "koPOSITIONALscoreAREAtaxNONEsui1komi7.5"),
        ("chinese", "koSIMPLEscoreAREAtaxNONEsui0whbNfpok1komi7.5"),
        ("japanese", "koSIMPLEscoreTERRITORYtaxSEKIsui0komi6.5"),
        ("aga-button", "koSITUATIONALscoreAREAtaxNONEsui0button1whbN-1fpok1komi7"),
        ("stone-scoring", "koSIMPLEscoreAREAtaxALLsui0fpok1komi7.5"),
    ],
)
def test_to_compact(name, compact):
    assert PRESETS[name].to_compact() == compact
    assert str(PRESETS[name]) == compact
    assert PRESETS[name].to_compact(include_komi=False) == compact[: compact.index("komi")]


def _all_rules():
    for ko, scoring, tax, sui, button, whb, fpok in itertools.product(
        KoRule, ScoringRule, TaxRule, (False, True), (False, True), WhiteHandicapBonus, (False, True)
    ):
        if button and scoring == ScoringRule.TERRITORY:
            continue
        yield Rules(ko, scoring, tax, sui, button, whb, fpok, -12.5)


def test_every_combination_round_trips_through_all_text_forms():
    count = 0
    for rules in _all_rules():
        count += 1
        assert parse_rules(rules.to_compact()) == rules
        assert parse_rules(rules.to_compact(include_komi=False), komi=rules.komi) == rules
        assert parse_rules(rules.json_text(include_komi=True)) == rules
        assert parse_rules(rules.json_text(), komi=rules.komi) == rules
        assert parse_rules(rules.json_text(include_komi=True, omit_defaults=True)) == rules
        assert parse_rules(rules.sgf_name(), komi=rules.komi) == rules
    assert count == 4 * 3 * 2 * 3 * 2 * (2 + 1)


def test_omit_defaults_json():
    assert PRESETS["tromp-taylor"].json_text(omit_defaults=True) == (
        '{"ko":"POSITIONAL","scoring":"AREA","suicide":true,"tax":"NONE"}'
    )
    assert PRESETS["chinese"].to_json(omit_defaults=True) == {
        "ko": "SIMPLE", "scoring": "AREA", "tax": "NONE", "suicide": False, "whiteHandicapBonus": "N", "friendlyPassOk": True,
    }
    assert PRESETS["aga-button"].to_json(include_komi=True)["komi"] == 7.0


# --------------------------------------------------------------------------------------------
# SGF names

@pytest.mark.parametrize(
    "name, sgf_name",
    [
        ("tromp-taylor", "TrompTaylor"), ("japanese", "Japanese"), ("korean", "Japanese"),
        ("chinese", "Chinese"), ("chinese-ogs", "Chinese-OGS"), ("chinese-kgs", "Chinese-OGS"),
        ("aga", "AGA"), ("bga", "AGA"), ("french", "AGA"), ("stone-scoring", "StoneScoring"),
        ("ancient-area", "StoneScoring"), ("nz", "NewZealand"), ("new-zealand", "NewZealand"),
        ("aga-button", "koSITUATIONALscoreAREAtaxNONEsui0button1whbN-1fpok1"),
        ("goe", "koPOSITIONALscoreAREAtaxNONEsui1fpok1"),
        ("ancient-territory", "koSIMPLEscoreTERRITORYtaxALLsui0"),
    ],
)
def test_sgf_name(name, sgf_name):
    assert PRESETS[name].sgf_name() == sgf_name
    assert PRESETS[name].with_komi(0).sgf_name() == sgf_name


def test_sgf_names_in_reference_printsgf():
    data = json.loads((REFERENCE / "rules_games.json").read_text())
    for game in data["games"]:
        ru = re.search(r"RU\[([^\]]*)\]", game["printsgf"]).group(1)
        assert parse_rules(game["rules"]).sgf_name() == ru


# --------------------------------------------------------------------------------------------
# kata-set-rule

def test_with_field_text_values():
    base = PRESETS["tromp-taylor"]
    assert base.with_field("ko", "simple").ko_rule == KoRule.SIMPLE
    assert base.with_field("ko", " SITUATIONAL ").ko_rule == KoRule.SITUATIONAL
    assert base.with_field("suicide", "FALSE").multi_stone_suicide_legal is False
    assert base.with_field("whiteHandicapBonus", "n-1").white_handicap_bonus == WhiteHandicapBonus.N_MINUS_ONE
    assert base.with_field("whiteHandicapBonus", "N").white_handicap_bonus == WhiteHandicapBonus.N
    assert base.with_field("whiteHandicapBonus", "0").white_handicap_bonus == WhiteHandicapBonus.ZERO
    assert base.with_field("hasButton", "true").has_button is True
    assert base.with_field("friendlyPassOk", "True").friendly_pass_ok is True
    assert base.with_field("tax", "seki").tax_rule == TaxRule.SEKI
    # Changing scoring does not re-derive tax or komi (KataGo's updateRules).
    territory = base.with_field("scoring", "TERRITORY")
    assert territory.tax_rule == TaxRule.NONE and territory.komi == 7.5
    assert base.with_field("score", "territory").scoring_rule == ScoringRule.TERRITORY
    assert base.with_field("ko", KoRule.SPIGHT).ko_rule == KoRule.SPIGHT
    assert base.with_field("suicide", False).multi_stone_suicide_legal is False
    assert base == PRESETS["tromp-taylor"]  # unchanged


@pytest.mark.parametrize(
    "name, value",
    [("ko", "superko"), ("suicide", "1"), ("suicide", "yes"), ("komi", "7.5"), ("Ko", "SIMPLE"),
     ("whiteHandicapBonus", "2"), ("tax", 1), ("rules", "chinese")],
)
def test_with_field_errors(name, value):
    with pytest.raises(RulesError):
        PRESETS["chinese"].with_field(name, value)


def test_with_field_refuses_button_under_territory():
    with pytest.raises(RulesError, match="button"):
        PRESETS["japanese"].with_field("hasButton", "true")
    with pytest.raises(RulesError, match="button"):
        PRESETS["aga-button"].with_field("scoring", "TERRITORY")


# --------------------------------------------------------------------------------------------
# Construction and komi

def test_integer_codes_are_coerced_to_enums():
    rules = Rules(0, 1, 1, False, False, 0, False, 6.5)
    assert rules == PRESETS["japanese"]
    assert isinstance(rules.ko_rule, KoRule) and isinstance(rules.white_handicap_bonus, WhiteHandicapBonus)
    assert rules.komi == 6.5 and isinstance(Rules(komi=7).komi, float)
    assert hash(rules) == hash(PRESETS["japanese"])


def test_integer_codes_are_fixed():
    assert [int(k) for k in KoRule] == [0, 1, 2, 3]
    assert (ScoringRule.AREA, ScoringRule.TERRITORY) == (0, 1)
    assert (TaxRule.NONE, TaxRule.SEKI, TaxRule.ALL) == (0, 1, 2)
    assert (WhiteHandicapBonus.ZERO, WhiteHandicapBonus.N_MINUS_ONE, WhiteHandicapBonus.N) == (0, 1, 2)


@pytest.mark.parametrize(
    "kwargs",
    [dict(ko_rule=4), dict(scoring_rule=2), dict(tax_rule=-1), dict(white_handicap_bonus=3), dict(ko_rule="SIMPLE"),
     dict(ko_rule=True), dict(has_button=1), dict(multi_stone_suicide_legal="true"), dict(friendly_pass_ok=None),
     dict(komi=7.2), dict(komi=float("nan")), dict(komi=float("inf")), dict(komi=400.5), dict(komi="7.5"),
     dict(scoring_rule=ScoringRule.TERRITORY, has_button=True)],
)
def test_invalid_rules_rejected(kwargs):
    with pytest.raises(RulesError):
        Rules(**kwargs)


def test_rules_error_is_value_error():
    assert issubclass(RulesError, ValueError)


def test_validate_komi():
    assert validate_komi(400) == 400.0
    assert validate_komi(-400.0) == -400.0
    assert validate_komi(-0.5) == -0.5
    for bad in (400.5, -401, 0.25, 1e300, True, None):
        with pytest.raises(RulesError):
            validate_komi(bad)


def test_format_komi_like_cpp():
    assert [format_komi(k) for k in (7.0, 7.5, -0.5, 0.0, 400.0, -12.5)] == ["7", "7.5", "-0.5", "0", "400", "-12.5"]


def test_game_result_integrality():
    assert Rules(komi=7.0).game_result_will_be_integer()
    assert not Rules(komi=7.5).game_result_will_be_integer()
    assert not PRESETS["aga-button"].game_result_will_be_integer()  # komi 7 + button 0.5
    assert PRESETS["aga-button"].with_komi(7.5).game_result_will_be_integer()


def test_check_nn_supported():
    PRESETS["japanese"].check_nn_supported()
    with pytest.raises(RulesError, match="SPIGHT"):
        Rules(ko_rule=KoRule.SPIGHT).check_nn_supported()


def test_equals_ignoring_komi():
    assert PRESETS["chinese"].equals_ignoring_komi(PRESETS["chinese"].with_komi(0))
    assert not PRESETS["chinese"].equals_ignoring_komi(PRESETS["chinese-ogs"])
