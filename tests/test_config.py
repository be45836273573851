"""goloop.common.config: KataGo .cfg syntax, overrides, typing and error messages."""
from __future__ import annotations

import dataclasses
import enum
import pathlib
from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from goloop.common.config import (
    ConfigError,
    config_help,
    describe_config,
    load_config,
    parse_overrides,
    read_cfg_file,
    setting,
)

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared"


class Color(enum.Enum):
    BLACK = "black"
    WHITE = "white"


@dataclass(frozen=True)
class Sample:
    maxVisits: int = setting(500, "Visits per move.", min=1, max=100000)
    cpuct: float = setting(1.1, "Exploration constant.", min=0.0)
    ponder: bool = setting(False, "Think during the opponent's turn.")
    name: str = setting("goloop", "Engine name.")
    rules: Literal["chinese", "japanese", "tromp-taylor"] = setting("chinese", "Rules.")
    color: Color = setting(Color.BLACK, "A colour.")
    model: Optional[str] = setting(None, "Model file.")
    seed: Optional[int] = setting(None, "Random seed.")
    bSizes: list[int] = setting([9, 19], "Board sizes.", min=2, max=19)
    weights: tuple[float, ...] = setting((1.0,), "Weights.")
    logDir: pathlib.Path = setting(pathlib.Path("logs"), "Log folder.")
    num_threads: int = setting(1, "Search threads.", key="numSearchThreads")
    plain: int = field(default=3, metadata={"help": "Declared with dataclasses.field."})


def write(tmp_path: pathlib.Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_defaults_come_from_the_dataclass():
    c = load_config(Sample)
    assert c == Sample()
    assert c.bSizes == [9, 19] and c.model is None and c.logDir == pathlib.Path("logs")


def test_mutable_defaults_are_not_shared():
    a, b = Sample(), Sample()
    assert a.bSizes == b.bSizes and a.bSizes is not b.bSizes


def test_file_syntax_comments_quotes_and_separators(tmp_path):
    path = write(tmp_path, "a.cfg", "\n".join([
        "# a comment line",
        "",
        "   maxVisits = 800   # trailing comment",
        "cpuct=0.5",
        "ponder TRUE",
        'name = "has # hash and \\" quote"  # comment after quote',
        "rules = tromp-taylor",
        "color = white",
        "model = /models/b6 c96.bin.gz",
        "seed = -7",
        "bSizes = 9, 13 ,19,",
        "weights = 0.5,2e-1",
        "logDir = out/logs",
        "numSearchThreads = 4",
        "plain = +12",
        "\t# indented comment",
    ]) + "\n")
    c = load_config(Sample, path)
    assert c.maxVisits == 800 and c.cpuct == 0.5 and c.ponder is True
    assert c.name == 'has # hash and " quote'
    assert c.rules == "tromp-taylor" and c.color is Color.WHITE
    assert c.model == "/models/b6 c96.bin.gz" and c.seed == -7
    assert c.bSizes == [9, 13, 19] and c.weights == (0.5, 0.2)
    assert c.logDir == pathlib.Path("out/logs") and c.num_threads == 4 and c.plain == 12


def test_read_cfg_file_reads_katagos_own_selfplay_config():
    settings = read_cfg_file(SHARED / "reference" / "katago_selfplay9_cpu.cfg")
    assert settings["dataBoardLen"].value == "9"
    assert settings["logToStdout"].value == "true"
    assert settings["dataBoardLen"].source.endswith("katago_selfplay9_cpu.cfg:" + str(
        next(i for i, line in enumerate((SHARED / "reference" / "katago_selfplay9_cpu.cfg")
                                        .read_text().splitlines(), 1)
             if line.startswith("dataBoardLen"))))
    assert "startPosesProb" not in settings  # commented out in the file


@pytest.mark.parametrize("line", [
    "maxVisits",  # key without value
    "maxVisits =",  # empty value
    'maxVisits = ""',  # empty quoted value
    'name = "unterminated',
    'name = "x" junk',
    "max.Visits = 3",  # '.' is not a key character
    "= 3",
    "maxVisits# = 3",
])
def test_malformed_lines_name_file_and_line(tmp_path, line):
    path = write(tmp_path, "bad.cfg", "# first\n" + line + "\n")
    with pytest.raises(ConfigError, match=r"bad\.cfg:2"):
        load_config(Sample, path)


def test_duplicate_key_in_one_file_names_both_lines(tmp_path):
    path = write(tmp_path, "dup.cfg", "maxVisits = 1\n\nmaxVisits = 2\n")
    with pytest.raises(ConfigError, match=r"'maxVisits'.*dup\.cfg.*lines 1 and 3"):
        load_config(Sample, path)


def test_include_is_relative_to_the_including_file_and_later_lines_win(tmp_path):
    write(tmp_path, "sub/base.cfg", "maxVisits = 10\ncpuct = 2.0\n@include deeper/leaf.cfg\n")
    write(tmp_path, "sub/deeper/leaf.cfg", "name = leaf\n")
    path = write(tmp_path, "main.cfg", "cpuct = 3.0\n@include sub/base.cfg  # comment\nmaxVisits = 20\n")
    c = load_config(Sample, path)
    assert c.maxVisits == 20  # set after the include
    assert c.cpuct == 2.0  # the include came after the main file's line
    assert c.name == "leaf"


def test_include_accepts_equals_and_quotes(tmp_path):
    write(tmp_path, "b.cfg", "maxVisits = 7\n")
    path = write(tmp_path, "a.cfg", '@include = "b.cfg"\n')
    assert load_config(Sample, path).maxVisits == 7


def test_circular_include_is_an_error(tmp_path):
    write(tmp_path, "b.cfg", "@include a.cfg\n")
    path = write(tmp_path, "a.cfg", "@include b.cfg\n")
    with pytest.raises(ConfigError, match=r"a\.cfg.*more than once.*b\.cfg:1"):
        load_config(Sample, path)


def test_missing_include_names_the_including_line(tmp_path):
    path = write(tmp_path, "a.cfg", "\n@include nothere.cfg\n")
    with pytest.raises(ConfigError, match=r"nothere\.cfg' not found \(included at .*a\.cfg:2\)"):
        load_config(Sample, path)


def test_unknown_directive_is_an_error(tmp_path):
    path = write(tmp_path, "a.cfg", "@import b.cfg\n")
    with pytest.raises(ConfigError, match=r"'@import'.*a\.cfg:1"):
        load_config(Sample, path)


def test_missing_config_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.cfg"
    with pytest.raises(ConfigError, match=r"nope\.cfg' not found"):
        load_config(Sample, missing)


def test_unreadable_config_file_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read config file '.*'"):
        load_config(Sample, tmp_path)  # a directory


def test_precedence_defaults_then_files_then_overrides(tmp_path):
    first = write(tmp_path, "first.cfg", "maxVisits = 10\ncpuct = 2.0\nname = one\n")
    second = write(tmp_path, "second.cfg", "cpuct = 3.0\nponder = true\n")
    c = load_config(Sample, [first, second],
                    ["name=two, seed=5", {"seed": 6, "ponder": False}, "maxVisits = 11"])
    assert (c.maxVisits, c.cpuct, c.name, c.seed, c.ponder) == (11, 3.0, "two", 6, False)
    assert c.rules == "chinese"  # untouched default


def test_empty_override_value_restores_the_default(tmp_path):
    path = write(tmp_path, "a.cfg", "maxVisits = 10\n")
    assert load_config(Sample, path, "maxVisits=").maxVisits == 500


def test_parse_overrides_like_katago():
    pieces = parse_overrides(" a = 1 ,, b=x=y , c= ")
    assert [(p.key, p.value) for p in pieces] == [("a", "1"), ("b", "x=y"), ("c", "")]
    with pytest.raises(ConfigError, match=r"'13'.*cannot contain commas"):
        parse_overrides("bSizes=9,13")
    with pytest.raises(ConfigError, match="key is empty"):
        parse_overrides("=3")


def test_unknown_key_in_file_suggests_the_close_key(tmp_path):
    path = write(tmp_path, "a.cfg", "\n\nmaxVisit = 3\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'maxVisit' at .*a\.cfg:3; "
                                          r"did you mean 'maxVisits'\?"):
        load_config(Sample, path)


def test_unknown_key_in_override_names_the_override():
    with pytest.raises(ConfigError, match=r"unknown config key 'numSearchThread' in --override; "
                                          r"did you mean 'numSearchThreads'\?"):
        load_config(Sample, overrides="numSearchThread=2")
    with pytest.raises(ConfigError, match=r"'zzz' in --override$"):
        load_config(Sample, overrides="zzz=")


def test_field_name_is_not_a_key_when_metadata_renames_it():
    with pytest.raises(ConfigError, match="'num_threads'"):
        load_config(Sample, overrides="num_threads=2")


@pytest.mark.parametrize("key, value, expected", [
    ("maxVisits", "12.5", "int in \\[1, 100000\\]"),
    ("maxVisits", "0", "int in \\[1, 100000\\]"),
    ("maxVisits", "1_000", "int"),
    ("cpuct", "-0.1", "float >= 0"),
    ("cpuct", "nan", "float"),
    ("cpuct", "inf", "float"),
    ("ponder", "yes", "true or false"),
    ("ponder", "1", "true or false"),
    ("rules", "Chinese", "one of chinese\\|japanese\\|tromp-taylor"),
    ("color", "red", "one of black\\|white"),
    ("seed", "x", "int"),
    ("bSizes", "9,25", "list of int in \\[2, 19\\] \\(not '25'\\)"),
    ("bSizes", "9,x", "list of int in \\[2, 19\\] \\(not 'x'\\)"),
])
def test_bad_values_name_key_value_and_expected_type(tmp_path, key, value, expected):
    path = write(tmp_path, "a.cfg", f"{key} = {value}\n")
    with pytest.raises(ConfigError, match=rf"'{value}' for config key '{key}' at .*a\.cfg:1: "
                                          rf"expected .*{expected}"):
        load_config(Sample, path)
    with pytest.raises(ConfigError, match=rf"'{value}' for config key '{key}' in override"):
        load_config(Sample, overrides={key: value})  # a mapping: override strings split at commas


def test_bool_is_case_insensitive_like_katago():
    assert load_config(Sample, overrides="ponder=True").ponder is True
    assert load_config(Sample, overrides="ponder=FALSE").ponder is False


def test_enum_accepts_member_name_too():
    assert load_config(Sample, overrides="color=WHITE").color is Color.WHITE


@dataclass
class Required:
    path: str = field(metadata={"help": "Where."})
    n: int = setting(1, "How many.")


def test_required_key_missing_is_an_error():
    with pytest.raises(ConfigError, match="missing required config key.* path"):
        load_config(Required)
    assert load_config(Required, overrides={"path": "/x"}).path == "/x"


def test_unsupported_field_type_is_a_programming_error():
    @dataclass
    class Bad:
        mapping: dict = setting({}, "Not a config type.")

    with pytest.raises(TypeError, match="Bad.mapping"):
        load_config(Bad)


def test_describe_config_marks_sources_and_reads_back(tmp_path):
    path = write(tmp_path, "a.cfg", "name = \" spaced # name\"\nbSizes = 9,13\n")
    c = load_config(Sample, path, "maxVisits=42, model=m.bin.gz")
    text = describe_config(c)
    lines = text.splitlines()
    assert len(lines) == len(dataclasses.fields(Sample))
    assert "maxVisits = 42  # --override" in lines
    assert any(line.startswith('name = " spaced # name"  # ') and line.endswith("a.cfg:1")
               for line in lines)
    assert "cpuct = 1.1  # default" in lines
    assert "ponder = false  # default" in lines
    assert "# seed = (unset)  # default" in lines
    assert "numSearchThreads = 1  # default" in lines
    # The description is itself a valid config that reproduces the instance.
    again = load_config(Sample, write(tmp_path, "described.cfg", text + "\n"))
    assert again == c


def test_describe_config_without_sources():
    text = describe_config(Sample(maxVisits=3))
    assert "maxVisits = 3" in text.splitlines() and "#" not in text.replace("# model", "").replace(
        "# seed", "")


def test_config_help_lists_every_key_with_type_default_and_help():
    text = config_help(Sample)
    assert "maxVisits (int in [1, 100000]; default 500)\n    Visits per move." in text
    assert "rules (one of chinese|japanese|tromp-taylor; default chinese)" in text
    assert "model (string, optional; default unset)" in text
    assert "bSizes (comma-separated list of int in [2, 19]; default 9,19)" in text
    assert "numSearchThreads (int; default 1)" in text
    assert "plain (int; default 3)\n    Declared with dataclasses.field." in text
    assert "path (string; required)" in config_help(Required)
