"""The one configuration mechanism of every goloop daemon: KataGo `.cfg` files plus overrides.

Why KataGo's format: users move configs (and muscle memory, and KaTrain launch lines) between KataGo
and goloop, so a goloop config file is read with the same rules KataGo's ConfigParser applies:

* Each line is trimmed. Blank lines and lines starting with `#` are skipped.
* `key = value`, `key=value` and `key value` all set a key. A key is made of letters, digits, `_`
  and `-`. An unquoted value runs up to the first `#` (the rest is a comment) and is trimmed.
* A value starting with `"` is quoted: it ends at the next unescaped `"`, a backslash makes the next
  character literal (so `"a \\" # b"` is `a " # b`), and only a comment may follow the quote.
* A key without a value, an empty value (`key =` or `key = ""`) or junk after a quote is an error.
* `@include other.cfg` (or `@include = "other.cfg"`) reads another file at that point; a relative
  path is taken from the directory of the file that contains the line. Reading one file twice in
  one load (a cycle, or a diamond) is an error, as in KataGo.
* A key set twice in the same file is an error naming both lines. A key from an included file may
  be set again by the including file (or vice versa): the line read last wins, as in KataGo.
* Several config files may be given; later files override earlier ones.
* Overrides (`--override "key=value, key=value"`, KataGo's `-override-config`) are split at commas,
  so a value given there cannot contain a comma. Each piece is trimmed; empty pieces are ignored. An
  empty value (`key=`) removes the key, restoring its default.

Precedence: dataclass defaults < config files (in order) < overrides (in order).

Unlike KataGo, which only warns about unused keys, an unknown key is an error with a did-you-mean
suggestion: goloop's keys are declared up front, so a typo can be caught before a daemon runs.

Declaring a daemon's config: a dataclass whose fields are its keys. The metadata convention is:

    @dataclass(frozen=True)
    class SearchConfig:
        maxVisits: int = setting(500, "Visits per move.", min=1)
        rules: Literal["chinese", "japanese"] = setting("chinese", "Scoring rules.")
        model: Optional[str] = setting(None, "Model file; unset means none is loaded.")

`setting(default, help, *, min=None, max=None, key=None)` is shorthand for
`dataclasses.field(default=..., metadata={"help": ..., "min": ..., "max": ..., "key": ...})`; a plain
`field(metadata=...)` with the same keys is equivalent. Metadata keys:

* `help` (str): one or two sentences shown by `config_help` (every field should have one).
* `min`, `max` (numbers, inclusive): bounds for int/float keys, applied to each element of a list.
* `key` (str): the name used in `.cfg` files when it differs from the field name (e.g. a KataGo
  camelCase key on a snake_case field). Without it the key is the field name.

Field types understood (after resolving string annotations): `str`, `int`, `float`, `bool`,
`pathlib.Path`, `Literal[...]` (value must equal one choice as written), an `enum.Enum` subclass
(member value or name), `Optional[T]` / `T | None` (unset unless given; there is no spelling for
None in a file, also as in KataGo), and `list[T]` / `tuple[T, ...]` of the scalar types
(comma-separated, each element trimmed, empty elements dropped). Booleans accept `true`/`false` in
any case and nothing else, exactly like KataGo (`1`, `yes` are rejected so a config behaves the same
in both programs). Integers and floats are plain decimal numbers; `nan` and `inf` are rejected.
A field without a default is a required key. Fields with `init=False` are not config keys.
"""
from __future__ import annotations

import dataclasses
import difflib
import enum
import os
import pathlib
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping, Optional, Sequence, Union

__all__ = [
    "ConfigError",
    "RawSetting",
    "setting",
    "read_cfg_file",
    "parse_overrides",
    "load_config",
    "describe_config",
    "config_help",
]


class ConfigError(ValueError):
    """A config file, override or value is wrong; the message names the key and where it came from."""


@dataclass(frozen=True)
class RawSetting:
    """One `key = value` as read, before typing: `source` says where, for error messages and logs."""

    key: str
    value: str
    source: str  # "path/file.cfg:12", "--override" or "override"


def setting(default: Any = dataclasses.MISSING, help: str = "", *, min: Optional[float] = None,
            max: Optional[float] = None, key: Optional[str] = None) -> Any:
    """Declare a config field with its help next to it; mutable defaults are copied per instance."""
    metadata: dict[str, Any] = {"help": help}
    if min is not None:
        metadata["min"] = min
    if max is not None:
        metadata["max"] = max
    if key is not None:
        metadata["key"] = key
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


# ---------------------------------------------------------------------------------------------
# Reading .cfg text


_KEY_AND_REST = re.compile(r"([A-Za-z0-9_-]+)\s*(?:=\s*|\s+)(.*)\Z", re.DOTALL)


def _parse_value(rest: str) -> Optional[str]:
    """The value part of a line after `key =`; None when the line is malformed."""
    if rest.startswith('"'):
        chars: list[str] = []
        i = 1
        while i < len(rest):
            c = rest[i]
            if c == "\\":
                if i + 1 >= len(rest):
                    return None
                chars.append(rest[i + 1])
                i += 2
                continue
            if c == '"':
                break
            chars.append(c)
            i += 1
        else:
            return None  # no closing quote
        remainder = rest[i + 1:].strip()
        if remainder and not remainder.startswith("#"):
            return None
        value = "".join(chars)
    else:
        value = rest.split("#", 1)[0].strip()
    return value or None


def _parse_line(line: str) -> Optional[tuple[str, str]]:
    """(key, value) for a setting line, None for a blank or comment line.

    Raises _LineError (not ConfigError) for a malformed line: only the caller knows the location."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    m = _KEY_AND_REST.match(line)
    if m is None:
        raise _LineError("expected 'key = value'")
    value = _parse_value(m.group(2))
    if value is None:
        raise _LineError("expected 'key = value' with a non-empty value (quoted values need a "
                         "closing quote and only a comment after it)")
    return m.group(1), value


class _LineError(Exception):
    pass


class _Reader:
    """Reads files and their includes into one ordered key -> RawSetting map."""

    def __init__(self) -> None:
        self.settings: dict[str, RawSetting] = {}
        self.seen: set[str] = set()

    def read(self, path: str, included_from: Optional[str] = None) -> None:
        real = os.path.realpath(path)
        if real in self.seen:
            raise ConfigError(f"config file '{path}' is included more than once "
                              f"(circular or repeated @include){_at(included_from)}")
        self.seen.add(real)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise ConfigError(f"config file '{path}' not found{_at(included_from)}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read config file '{path}'{_at(included_from)}: {e}") from None

        lines_of_key: dict[str, int] = {}
        for number, line in enumerate(text.split("\n"), start=1):  # only \n ends a line, as in KataGo
            where = f"{path}:{number}"
            stripped = line.strip()
            if stripped.startswith("@"):
                self.read(self._include_target(stripped, path, where), included_from=where)
                continue
            try:
                parsed = _parse_line(line)
            except _LineError as e:
                raise ConfigError(f"cannot parse {where}: {e}, got: {stripped}") from None
            if parsed is None:
                continue
            key, value = parsed
            if key in lines_of_key:
                raise ConfigError(f"key '{key}' is set twice in '{path}' (lines "
                                  f"{lines_of_key[key]} and {number}); delete one of them")
            lines_of_key[key] = number
            self.settings.pop(key, None)  # keep the map in the order keys were last set
            self.settings[key] = RawSetting(key, value, where)

    @staticmethod
    def _include_target(line: str, path: str, where: str) -> str:
        directive = line.split("#", 1)[0].strip()
        m = re.match(r"(@\S*?)(?:[\s=]+(.*))?\Z", directive)
        name = m.group(1) if m else directive
        if name != "@include":
            raise ConfigError(f"unsupported directive '{name}' at {where}; only @include exists")
        target = (m.group(2) or "").strip().strip("'").strip('"')
        if not target:
            raise ConfigError(f"@include without a file name at {where}")
        return os.path.join(os.path.dirname(path), target)


def _at(where: Optional[str]) -> str:
    return f" (included at {where})" if where else ""


PathArg = Union[str, os.PathLike]


def read_cfg_file(paths: Union[PathArg, Sequence[PathArg]]) -> dict[str, RawSetting]:
    """Untyped settings of one or more `.cfg` files (later files override earlier ones).

    Useful on its own for reading KataGo's configs, whose keys goloop may not all declare."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    reader = _Reader()
    for p in paths:
        reader.read(os.fspath(p))
    return reader.settings


def parse_overrides(text: str, source: str = "--override") -> list[RawSetting]:
    """Split `"key=value, key=value"` the way KataGo splits `-override-config`."""
    result = []
    for piece in text.split(","):
        piece = piece.strip()
        if not piece:
            continue
        if "=" not in piece:
            raise ConfigError(f"cannot parse {source} piece '{piece}': expected key=value (values "
                              f"given in {source} cannot contain commas; put such values in a config file)")
        key, value = piece.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"cannot parse {source} piece '{piece}': the key is empty")
        result.append(RawSetting(key, value.strip(), source))
    return result


# ---------------------------------------------------------------------------------------------
# Typing: declared fields and string -> value coercion


@dataclass(frozen=True)
class _Key:
    name: str  # key in .cfg files
    field: str  # dataclass attribute
    type: Any
    required: bool
    default: Any  # dataclasses.MISSING when required
    help: str
    min: Optional[float]
    max: Optional[float]


_SCALARS = (str, int, float, bool, pathlib.Path)


def _is_scalar(tp: Any) -> bool:
    return (tp in _SCALARS or typing.get_origin(tp) is Literal
            or (isinstance(tp, type) and issubclass(tp, enum.Enum)))


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _element_type(tp: Any) -> Optional[Any]:
    """The element type of list[T] / tuple[T, ...], else None."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is list and len(args) == 1:
        return args[0]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


def _keys(cls: type) -> list[_Key]:
    """The config keys a dataclass declares; TypeError for a type this module cannot read."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass class")
    hints = typing.get_type_hints(cls, include_extras=False)
    keys = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = hints[f.name]
        inner, _ = _unwrap_optional(tp)
        element = _element_type(inner)
        if not (_is_scalar(inner) or (element is not None and _is_scalar(element))):
            raise TypeError(f"config field {cls.__name__}.{f.name} has unsupported type {tp!r}")
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        keys.append(_Key(name=f.metadata.get("key", f.name), field=f.name, type=tp,
                         required=default is dataclasses.MISSING, default=default,
                         help=f.metadata.get("help", ""), min=f.metadata.get("min"),
                         max=f.metadata.get("max")))
    return keys


_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


class _BadValue(Exception):
    pass


def _coerce_scalar(tp: Any, text: str, key: _Key) -> Any:
    """`text` as a `tp`; strings keep their spaces (a quoted value may mean them)."""
    if tp is str:
        return text
    if tp is pathlib.Path:
        return pathlib.Path(text)
    text = text.strip()
    if tp is bool:
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        raise _BadValue("true or false")
    if tp is int:
        if not _INT.match(text):
            raise _BadValue(_describe_type(int, key))
        value: Any = int(text)
    elif tp is float:
        if not _FLOAT.match(text):
            raise _BadValue(_describe_type(float, key))
        value = float(text)
    elif typing.get_origin(tp) is Literal:
        for choice in typing.get_args(tp):
            if _format_scalar(choice) == text:
                return choice
        raise _BadValue(_describe_type(tp, key))
    else:  # Enum
        for member in tp:
            if _format_scalar(member.value) == text or member.name == text:
                return member
        raise _BadValue(_describe_type(tp, key))
    if (key.min is not None and value < key.min) or (key.max is not None and value > key.max):
        raise _BadValue(_describe_type(tp, key))
    return value


def _coerce(key: _Key, text: str) -> Any:
    tp, _ = _unwrap_optional(key.type)
    element = _element_type(tp)
    if element is None:
        return _coerce_scalar(tp, text, key)
    values = []
    for piece in text.split(","):
        piece = piece.strip()
        if piece:
            try:
                values.append(_coerce_scalar(element, piece, key))
            except _BadValue as e:
                raise _BadValue(f"a comma-separated list of {e} (not '{piece}')") from None
    return values if typing.get_origin(tp) is list else tuple(values)


def _bounds(key: _Key) -> str:
    if key.min is not None and key.max is not None:
        return f" in [{_format_scalar(key.min)}, {_format_scalar(key.max)}]"
    if key.min is not None:
        return f" >= {_format_scalar(key.min)}"
    if key.max is not None:
        return f" <= {_format_scalar(key.max)}"
    return ""


def _describe_type(tp: Any, key: _Key) -> str:
    inner, optional = _unwrap_optional(tp)
    element = _element_type(inner)
    if element is not None:
        text = f"comma-separated list of {_describe_type(element, key)}"
    elif inner is bool:
        text = "bool (true/false)"
    elif inner in (int, float):
        text = inner.__name__ + _bounds(key)
    elif inner is str:
        text = "string"
    elif inner is pathlib.Path:
        text = "path"
    elif typing.get_origin(inner) is Literal:
        text = "one of " + "|".join(_format_scalar(c) for c in typing.get_args(inner))
    else:
        text = "one of " + "|".join(_format_scalar(m.value) for m in inner)
    return text + (", optional" if optional else "")


# ---------------------------------------------------------------------------------------------
# Formatting values back into .cfg syntax


def _format_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _format_scalar(value.value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _format_value(value: Any) -> str:
    """A value as it would be written in a .cfg file, quoted when it would not read back as is."""
    if isinstance(value, (list, tuple)):
        return ",".join(_format_scalar(v) for v in value)
    text = _format_scalar(value)
    if not text or text != text.strip() or "#" in text or text.startswith('"') or "\n" in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


# ---------------------------------------------------------------------------------------------
# Public entry points


Overrides = Union[None, str, Mapping[str, Any], Iterable[Union[str, Mapping[str, Any]]]]

_SOURCES_ATTR = "_config_sources_"


def _override_settings(overrides: Overrides) -> list[RawSetting]:
    if overrides is None:
        return []
    if isinstance(overrides, (str, Mapping)):
        overrides = [overrides]
    result: list[RawSetting] = []
    for item in overrides:
        if isinstance(item, str):
            result.extend(parse_overrides(item))
        else:
            for k, v in item.items():
                text = v if isinstance(v, str) else _format_value(v)
                result.append(RawSetting(str(k), text, "override"))
    return result


def _where(source: str) -> str:
    """'at a.cfg:3' for a file line, 'in --override' for an override."""
    return f"in {source}" if source.startswith("--") or source == "override" else f"at {source}"


def _unknown_key(name: str, source: str, known: Iterable[str]) -> ConfigError:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return ConfigError(f"unknown config key '{name}' {_where(source)}{hint}")


def load_config(cls: type, path: Union[None, PathArg, Sequence[PathArg]] = None,
                overrides: Overrides = None) -> Any:
    """Build `cls` from its defaults, then `.cfg` file(s) at `path`, then `overrides`.

    `overrides` is a KataGo-style "k=v,k=v" string, a mapping (values may be typed or strings), or
    a list of those applied in order. Raises ConfigError naming the key and its source for unknown
    keys, bad values and missing required keys, and naming the path for unreadable files."""
    keys = {k.name: k for k in _keys(cls)}
    raw: dict[str, RawSetting] = dict(read_cfg_file(path)) if path is not None else {}
    for item in _override_settings(overrides):
        raw.pop(item.key, None)
        if item.value != "":
            raw[item.key] = item
        elif item.key not in keys:
            raise _unknown_key(item.key, item.source, keys)

    kwargs: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, item in raw.items():
        key = keys.get(name)
        if key is None:
            raise _unknown_key(name, item.source, keys)
        try:
            kwargs[key.field] = _coerce(key, item.value)
        except _BadValue as e:
            raise ConfigError(f"bad value '{item.value}' for config key '{name}' "
                              f"{_where(item.source)}: expected {e}") from None
        sources[key.field] = item.source
    missing = [k.name for k in keys.values() if k.required and k.field not in kwargs]
    if missing:
        raise ConfigError(f"missing required config key(s) {', '.join(missing)}: set them in a "
                          f"config file or an override")
    instance = cls(**kwargs)
    try:
        object.__setattr__(instance, _SOURCES_ATTR, sources)
    except AttributeError:  # a slots dataclass: describe_config just cannot mark sources
        pass
    return instance


def describe_config(instance: Any) -> str:
    """The effective config, one `key = value` line per key in declaration order (valid .cfg text).

    Lines are marked with where the value came from (`# a.cfg:3`, `# --override`, `# default`)
    when `instance` came from load_config. Unset optional keys are written commented out."""
    keys = _keys(type(instance))
    sources: Optional[dict[str, str]] = getattr(instance, _SOURCES_ATTR, None)
    lines = []
    for key in keys:
        value = getattr(instance, key.field)
        mark = "" if sources is None else f"  # {sources.get(key.field, 'default')}"
        if value is None:
            lines.append(f"# {key.name} = (unset){mark}")
        else:
            lines.append(f"{key.name} = {_format_value(value)}{mark}")
    return "\n".join(lines)


def config_help(cls: type) -> str:
    """Every key of `cls` with its type, default and help, for `--help` epilogues."""
    lines = []
    for key in _keys(cls):
        if key.required:
            default = "required"
        elif key.default is None:
            default = "default unset"
        else:
            default = f"default {_format_value(key.default)}"
        lines.append(f"{key.name} ({_describe_type(key.type, key)}; {default})")
        if key.help:
            lines.append(f"    {key.help}")
    return "\n".join(lines)
