"""GTP framing and argument parsing: everything about the wire, nothing about Go positions.

Input lines are cleaned the way KataGo's GTP loop does it (a superset of the GTP v2 spec): every
character outside printable ASCII is dropped except tab (so control characters, CR and any
non-ASCII byte vanish), a `#` starts a comment, tabs become spaces, and the line is trimmed; a line
left empty is ignored without a reply. A leading run of digits is the command id, echoed in the
reply (`=12 ...` / `?12 ...`). Replies are `=` or `?`, the id, one space, the text, then a blank
line; a blank line inside the text would end the reply early for the controller, so it is removed.

Argument parsers raise GtpError, whose message becomes the `? message` reply: a malformed command
must never crash or hang the engine. Numbers are parsed with explicit patterns rather than
Python's int()/float(), which accept '1_000', 'nan', 'inf' and fail on 5000-digit strings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from goloop.common.go.coords import Point, gtp_to_point

# Ids are echoed back; KataGo keeps them in a C int, so larger ones are refused the same way.
MAX_ID = 2**31 - 1

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_COLORS = {"b": 1, "black": 1, "w": 2, "white": 2}


class GtpError(ValueError):
    """A command that cannot be carried out; the message is sent as the `? message` reply."""


@dataclass(frozen=True)
class Command:
    """One parsed input line."""

    id: Optional[int]
    """The numeric id the controller put before the command, echoed in the reply; None if absent."""
    name: str
    """The command name, case-sensitive as GTP requires (e.g. 'play')."""
    args: tuple[str, ...]
    """The arguments, split on runs of spaces."""


def clean_line(raw: str) -> str:
    """The line as GTP sees it: printable ASCII and tabs only, comment removed, tabs as spaces."""
    kept = "".join(c for c in raw if " " <= c <= "~" or c == "\t")
    return kept.split("#", 1)[0].replace("\t", " ").strip()


def parse_command(line: str) -> tuple[Optional[int], Optional[Command], Optional[str]]:
    """Split a cleaned, non-empty line into (id, command, error).

    Exactly one of command and error is set; the id is returned either way (when it parsed) so that
    even the error reply carries it.
    """
    digits = 0
    while digits < len(line) and line[digits].isdigit():
        digits += 1
    command_id: Optional[int] = None
    if digits:
        text = line[:digits]
        if len(text) > len(str(MAX_ID)) or int(text) > MAX_ID:
            return None, None, f"GTP id '{text}' is too large (at most {MAX_ID})"
        command_id = int(text)
    pieces = line[digits:].split()
    if not pieces:
        return command_id, None, "empty command"
    return command_id, Command(command_id, pieces[0], tuple(pieces[1:])), None


def format_reply(command_id: Optional[int], text: str, ok: bool) -> str:
    """The reply block: `=ID text` (or `= text`) ending with a blank line, KataGo's spacing."""
    lines = [line for line in text.replace("\r", "").split("\n") if line != ""]
    body = "\n".join(lines)
    prefix = ("=" if ok else "?") + ("" if command_id is None else str(command_id))
    return f"{prefix} {body}\n\n"


# ------------------------------------------------------------------------------------------------
# Arguments

def expect_args(name: str, args: Sequence[str], count: int, usage: str = "") -> None:
    """Raise unless there are exactly `count` arguments."""
    if len(args) != count:
        what = f" ({usage})" if usage else ""
        raise GtpError(f"{name} expects {count} argument{'s' if count != 1 else ''}{what} "
                       f"but got {len(args)}: '{' '.join(args)}'")


def parse_int(text: str, what: str) -> int:
    """A decimal integer that fits in 9 digits (larger ones are out of every range GTP uses)."""
    if not _INT.fullmatch(text):
        raise GtpError(f"could not parse {what}: '{text}' is not an integer")
    if len(text.lstrip("+-")) > 9:
        raise GtpError(f"{what} '{text}' is out of range")
    return int(text)


def parse_float(text: str, what: str) -> float:
    """A finite decimal number (no nan/inf, no underscores)."""
    if not _FLOAT.fullmatch(text) or len(text) > 64:
        raise GtpError(f"could not parse {what}: '{text}' is not a number")
    return float(text)


def parse_color(text: str) -> int:
    """'b'/'black'/'w'/'white' in any case -> 1 or 2."""
    color = _COLORS.get(text.lower())
    if color is None:
        raise GtpError(f"could not parse color: '{text}'")
    return color


def parse_vertex(text: str, x_size: int, y_size: int) -> Optional[Point]:
    """A GTP vertex on the current board -> (x, y), or None for pass."""
    try:
        return gtp_to_point(text, x_size, y_size)
    except ValueError:  # CoordError, or int() refusing a row of thousands of digits
        raise GtpError(f"could not parse vertex: '{text}'") from None


def parse_stone_vertex(text: str, x_size: int, y_size: int) -> Point:
    """A vertex that must be a point (stone placements): pass is refused."""
    point = parse_vertex(text, x_size, y_size)
    if point is None:
        raise GtpError(f"could not parse vertex: '{text}' (a stone cannot be placed on pass)")
    return point
