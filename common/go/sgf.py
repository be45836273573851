"""Game records as SGF: read any reasonable Go SGF's main line, write SGF the way KataGo does.

Reading uses sgfmill's grammar layer (`sgfmill.sgf_grammar`: tokenising, escapes, variations)
but not its `Sgf_game` object model, because `Sgf_game` only knows square boards and rejects
`SZ[x:y]`, which KataGo both reads and writes. Interpreting the properties (sizes, points,
komi, rules) is therefore done here, following KataGo's reader: missing SZ means 19, "" and (on
boards with a side <= 19) "tt" are passes, setup lists may use "aa:cc" rectangles, KM must be an
integer or half-integer.

Writing is done by hand rather than with sgfmill's serialiser so the output is byte-identical
to KataGo's `printsgf` / selfplay SGFs: one line, `(;FF[4]GM[1]SZ[..]PB[..]PW[..]HA[..]KM[..]
RU[..]RE[..]AB..AW..C[..];B[..]...)`, passes as `B[]`, rules as KataGo's nice name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

from sgfmill import sgf_grammar

from goloop.common.atomicfile import atomic_write
from goloop.common.go.coords import (
    MAX_SGF_SIZE,
    CoordError,
    Point,
    point_to_sgf,
    sgf_to_point,
    sgf_to_points,
)
from goloop.common.go.rules import Rules, RulesError, format_komi, parse_rules, validate_komi

Move = Tuple[str, Optional[Point]]

# Root properties GameRecord models as fields; everything else in the root is kept verbatim in
# `extra_root_properties`. CA is consumed: text is decoded on reading and written as UTF-8.
_MODELLED_ROOT = frozenset({"FF", "GM", "SZ", "KM", "RU", "HA", "AB", "AW", "AE", "PL", "RE", "PB", "PW", "C", "CA", "B", "W"})
_COLORS = ("B", "W")


class SgfError(ValueError):
    """SGF text that cannot be read as a Go game record, or a record that cannot be written."""


@dataclass
class GameRecord:
    """The main line of one Go game, with what goloop needs to replay and score it."""

    x_size: int = 19
    """Board width (columns); SGF SZ[x] or SZ[x:y]."""
    y_size: int = 19
    """Board height (rows)."""
    komi: float = 7.5
    """Komi from KM[] (authoritative; `rules.komi` is kept equal to it by the reader)."""
    rules: Optional[Rules] = None
    """Rules from RU[], or None when RU is absent or not a rules text goloop understands."""
    unparsed_rules: Optional[str] = None
    """RU[] text kept verbatim when it could not be parsed (e.g. "Chinese, pair go"); written back."""
    handicap: int = 0
    """HA[]: the number of handicap stones the game declares (KataGo writes HA[0] for none)."""
    black_setup: list[Point] = field(default_factory=list)
    """Black stones on the board before the first move (AB); read in board order, top row first."""
    white_setup: list[Point] = field(default_factory=list)
    """White stones on the board before the first move (AW); read in board order, top row first."""
    first_player: Optional[str] = None
    """'B' or 'W' from PL[], the player to move first when the SGF says so."""
    moves: list[Move] = field(default_factory=list)
    """Main-line moves in order: (color 'B'/'W', (x, y) or None for a pass)."""
    result: Optional[str] = None
    """RE[] as written, e.g. 'W+3.5', 'B+R', '0', 'Void'; None when the game has no result."""
    black_name: str = ""
    """PB[]."""
    white_name: str = ""
    """PW[]."""
    root_comment: Optional[str] = None
    """C[] of the root node."""
    move_comments: list[Optional[str]] = field(default_factory=list)
    """C[] of each move's node, parallel to `moves`; an empty list means no comments at all."""
    extra_root_properties: dict[str, list[str]] = field(default_factory=dict)
    """Other root properties (e.g. DT, EV, AP), identifier -> values, unescaped; written back."""

    def validate(self) -> None:
        """Raise SgfError if the record cannot be written as a valid SGF."""
        if not (2 <= self.x_size <= MAX_SGF_SIZE and 2 <= self.y_size <= MAX_SGF_SIZE):
            raise SgfError(f"board size {self.x_size}x{self.y_size} is outside 2..{MAX_SGF_SIZE}")
        try:
            validate_komi(self.komi)
            for point in list(self.black_setup) + list(self.white_setup):
                point_to_sgf(point, self.x_size, self.y_size)
            for color, point in self.moves:
                if color not in _COLORS:
                    raise SgfError(f"move color must be 'B' or 'W', got {color!r}")
                point_to_sgf(point, self.x_size, self.y_size)
        except (RulesError, CoordError) as e:
            raise SgfError(str(e)) from None
        if self.first_player not in (None, "B", "W"):
            raise SgfError(f"first_player must be 'B', 'W' or None, got {self.first_player!r}")
        if self.move_comments and len(self.move_comments) != len(self.moves):
            raise SgfError(f"{len(self.move_comments)} move comments for {len(self.moves)} moves")
        for ident in self.extra_root_properties:
            if ident in _MODELLED_ROOT or not (ident.isascii() and ident.isalpha()):
                raise SgfError(f"extra root property {ident!r} is modelled by a field or is not a valid identifier")


# ------------------------------------------------------------------------------------------------
# Reading

def parse_sgf(text: Union[str, bytes]) -> GameRecord:
    """Read the first game in `text` (its main line: first variation at each branch).

    `text` may be str (CA[] is then irrelevant) or bytes (decoded per CA[], see _encoding_of).
    Raises SgfError naming the problem for anything that is not a readable Go game.
    Comments on nodes that hold neither a move nor the root are not kept.
    """
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    try:
        tree = sgf_grammar.parse_sgf_game(data)
    except ValueError as e:
        raise SgfError(f"malformed SGF: {e}") from None
    nodes = list(sgf_grammar.main_sequence_iter(tree))
    root = nodes[0]
    encoding = "utf-8" if isinstance(text, str) else _encoding_of(root, data)

    def simple(node: dict, ident: str) -> Optional[str]:
        values = node.get(ident)
        if values is None:
            return None
        if len(values) != 1:
            raise SgfError(f"SGF property {ident} must have exactly one value, has {len(values)}")
        return _decode(sgf_grammar.simpletext_value(values[0]), encoding, ident)

    def texts(node: dict, ident: str) -> list[str]:
        return [_decode(sgf_grammar.text_value(v), encoding, ident) for v in node.get(ident, [])]

    def points(node: dict, ident: str) -> list[str]:
        return [_decode(v, encoding, ident).strip() for v in node.get(ident, [])]

    game_type = simple(root, "GM")
    if game_type is not None and game_type.strip() != "1":
        raise SgfError(f"not a Go game: GM[{game_type}]")
    x_size, y_size = _parse_size(simple(root, "SZ"))
    record = GameRecord(x_size=x_size, y_size=y_size)

    km = simple(root, "KM")
    if km is not None:
        try:
            record.komi = validate_komi(float(km))
        except (ValueError, RulesError) as e:
            raise SgfError(f"bad komi KM[{km}]: {e}") from None
    ru = simple(root, "RU")
    if ru is not None:
        try:
            rules = parse_rules(ru)
        except RulesError:
            record.unparsed_rules = ru
        else:
            if km is None:
                record.komi = rules.komi
            record.rules = rules.with_komi(record.komi)

    ha = simple(root, "HA")
    if ha is not None:
        try:
            record.handicap = int(ha.strip())
        except ValueError:
            raise SgfError(f"bad handicap HA[{ha}]") from None
        if record.handicap < 0:
            raise SgfError(f"negative handicap HA[{ha}]")
    pl = simple(root, "PL")
    if pl is not None:
        player = pl.strip().lower()
        if player not in ("b", "black", "w", "white"):
            raise SgfError(f"bad player to move PL[{pl}]")
        record.first_player = "B" if player.startswith("b") else "W"
    record.result = simple(root, "RE")
    record.black_name = simple(root, "PB") or ""
    record.white_name = simple(root, "PW") or ""
    root_comments = texts(root, "C")
    record.root_comment = "".join(root_comments) if root_comments else None
    for ident, values in root.items():
        if ident not in _MODELLED_ROOT:
            record.extra_root_properties[ident] = texts(root, ident)

    setup = {"B": [], "W": []}
    comments: list[Optional[str]] = []
    try:
        for index, node in enumerate(nodes):
            if any(ident in node for ident in ("AB", "AW", "AE")):
                if record.moves:
                    raise SgfError("setup stones (AB/AW/AE) after the first move are not supported")
                _apply_setup(setup, node, points, x_size, y_size)
            node_moves = [
                (color, sgf_to_point(value, x_size, y_size)) for color in _COLORS for value in points(node, color)
            ]
            if node_moves:
                record.moves.extend(node_moves)
                comment = "".join(texts(node, "C")) if (index > 0 and "C" in node) else None
                comments.extend([None] * (len(node_moves) - 1) + [comment])
    except CoordError as e:
        raise SgfError(f"bad point in SGF: {e}") from None
    # Setup stones are a set; board order (row by row from the top) is KataGo's writing order,
    # so a record read back from write_sgf compares equal.
    record.black_setup = sorted(setup["B"], key=_board_order)
    record.white_setup = sorted(setup["W"], key=_board_order)
    if any(c is not None for c in comments):
        record.move_comments = comments
    return record


def load_sgf(path: Union[str, os.PathLike]) -> GameRecord:
    """Read an SGF file (see parse_sgf); the error names the file."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return parse_sgf(data)
    except SgfError as e:
        raise SgfError(f"{os.fspath(path)}: {e}") from None


def _encoding_of(root: dict, data: bytes) -> str:
    """The charset to decode a byte SGF with: CA[] if given, else UTF-8 when the bytes are valid
    UTF-8 (what nearly every modern program writes), else ISO-8859-1 (the SGF FF[4] default)."""
    values = root.get("CA")
    if not values:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return "iso-8859-1"
        return "utf-8"
    name = sgf_grammar.simpletext_value(values[0]).decode("ascii", "replace").strip()
    try:
        "".encode(name)
    except LookupError:
        raise SgfError(f"unknown character set CA[{name}]") from None
    return name


def _decode(raw: bytes, encoding: str, ident: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise SgfError(f"property {ident} is not valid {encoding} text") from None


def _parse_size(sz: Optional[str]) -> Tuple[int, int]:
    if sz is None:
        return 19, 19
    pieces = sz.split(":")
    try:
        if len(pieces) == 1:
            x_size = y_size = int(pieces[0])
        elif len(pieces) == 2:
            x_size, y_size = int(pieces[0]), int(pieces[1])
        else:
            raise ValueError
    except ValueError:
        raise SgfError(f"could not parse board size SZ[{sz}]") from None
    if not (2 <= x_size <= MAX_SGF_SIZE and 2 <= y_size <= MAX_SGF_SIZE):
        raise SgfError(f"board size SZ[{sz}] is outside 2..{MAX_SGF_SIZE}")
    return x_size, y_size


def _board_order(point: Point) -> Tuple[int, int]:
    return (point[1], point[0])


def _apply_setup(setup: dict, node: dict, points, x_size: int, y_size: int) -> None:
    """Apply one node's AB/AW/AE to the setup lists (in that order, as KataGo does)."""
    for ident, color in (("AB", "B"), ("AW", "W"), ("AE", None)):
        for value in points(node, ident):
            for point in sgf_to_points(value, x_size, y_size):
                for stones in setup.values():
                    if point in stones:
                        stones.remove(point)
                if color is not None:
                    setup[color].append(point)


# ------------------------------------------------------------------------------------------------
# Writing

def write_sgf(record: GameRecord) -> str:
    """The record as one line of SGF, in KataGo's layout (no trailing newline)."""
    record.validate()
    xs, ys = record.x_size, record.y_size
    out = ["(;FF[4]GM[1]"]
    out.append(f"SZ[{xs}]" if xs == ys else f"SZ[{xs}:{ys}]")
    out.append(f"PB[{_escape(record.black_name)}]PW[{_escape(record.white_name)}]")
    out.append(f"HA[{record.handicap}]KM[{format_komi(record.komi)}]")
    if record.rules is not None:
        out.append(f"RU[{_escape(record.rules.sgf_name())}]")
    elif record.unparsed_rules is not None:
        out.append(f"RU[{_escape(record.unparsed_rules)}]")
    if record.result is not None:
        out.append(f"RE[{_escape(record.result)}]")
    for ident, stones in (("AB", record.black_setup), ("AW", record.white_setup)):
        if stones:
            ordered = sorted(set(stones), key=_board_order)
            out.append(ident + "".join(f"[{point_to_sgf(p, xs, ys)}]" for p in ordered))
    if record.first_player is not None:
        out.append(f"PL[{record.first_player}]")
    for ident, values in record.extra_root_properties.items():
        out.append(ident + "".join(f"[{_escape(v)}]" for v in values))
    if record.root_comment is not None:
        out.append(f"C[{_escape(record.root_comment)}]")
    for i, (color, point) in enumerate(record.moves):
        out.append(f";{color}[{point_to_sgf(point, xs, ys)}]")
        if record.move_comments and record.move_comments[i] is not None:
            out.append(f"C[{_escape(record.move_comments[i])}]")
    out.append(")")
    text = "".join(out)
    if not text.isascii():
        # Only non-ASCII text needs a declared charset; KataGo's plain output has none.
        text = text.replace("(;FF[4]GM[1]", "(;FF[4]GM[1]CA[UTF-8]", 1)
    return text


def save_sgf(record: GameRecord, path: Union[str, os.PathLike]) -> None:
    """Write the record to `path` atomically: readers see the old file or the whole new one."""
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(write_sgf(record) + "\n")


def _escape(text: str) -> str:
    """Escape a property value: backslash and ']' are the only characters SGF requires escaped."""
    return text.replace("\\", "\\\\").replace("]", "\\]")


def format_result(
    white_minus_black: Optional[float] = None,
    *,
    resigned_winner: Optional[str] = None,
    no_result: bool = False,
) -> str:
    """RE[] text for a finished game, as KataGo writes it.

    'Void' for no result, 'B+R'/'W+R' for a resignation, else from the final score
    (white minus black): 'W+3.5', 'B+12', or '0' for a draw (6 significant digits, like C++).
    """
    if no_result:
        return "Void"
    if resigned_winner is not None:
        if resigned_winner not in _COLORS:
            raise ValueError(f"resigned_winner must be 'B' or 'W', got {resigned_winner!r}")
        return f"{resigned_winner}+R"
    if white_minus_black is None:
        raise ValueError("a scored result needs white_minus_black")
    if white_minus_black > 0:
        return f"W+{white_minus_black:g}"
    if white_minus_black < 0:
        return f"B+{-white_minus_black:g}"
    return "0"
