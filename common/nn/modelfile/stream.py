"""Token and float-array level of KataGo's model file format (model-file-format.md §1).

The decompressed file is one stream of whitespace-separated tokens (read like C++ `>>`) and
float arrays, either as text or as `@BIN@` + little-endian float32 bytes. The reader remembers
its byte offset so every error can say where the file went wrong; KataGo's own messages only
name the layer, which is little help with a file cut short.

Deliberate differences from KataGo, all stricter: integer and float tokens must be complete
numbers (C++ `>>` would read "15abc" as 15 and leave "abc" for the next read), text floats must
be plain decimal numbers (strtof also takes hex floats and ignores trailing junk).
"""
from __future__ import annotations

import math
import re
from typing import Optional

import numpy as np

# C's isspace in the "C" locale: what `>>` skips.
_WHITESPACE = b" \t\n\v\f\r"
_TOKEN = re.compile(rb"[^ \t\n\v\f\r]+")
# How many bytes the engine skips looking for the '@' of a binary float block.
MAX_BYTES_BEFORE_BIN = 100


class ModelFileError(ValueError):
    """A model file that cannot be read: truncated, corrupt, inconsistent or unsupported."""

    def __init__(self, path: str, reason: str, offset: Optional[int] = None,
                 layer: Optional[str] = None):
        self.path = path
        self.reason = reason
        self.offset = offset   # byte offset in the decompressed stream, if known
        self.layer = layer     # record (layer or block) name, if known
        where = "".join([f" layer {layer!r}" if layer else "",
                         f" at byte {offset}" if offset is not None else ""])
        super().__init__(f"{path}:{where}: {reason}" if where else f"{path}: {reason}")


class TokenReader:
    """Reads tokens and float arrays from a decompressed model file, tracking the byte offset."""

    def __init__(self, data: bytes, path: str, binary_floats: bool):
        self.data = data
        self.path = path
        self.binary_floats = binary_floats
        self.pos = 0

    def error(self, reason: str, layer: Optional[str] = None, offset: Optional[int] = None) -> ModelFileError:
        return ModelFileError(self.path, reason, self.pos if offset is None else offset, layer)

    def _skip_whitespace(self) -> None:
        data, pos = self.data, self.pos
        while pos < len(data) and data[pos] in _WHITESPACE:
            pos += 1
        self.pos = pos

    def token(self, layer: Optional[str], what: str) -> str:
        self._skip_whitespace()
        match = _TOKEN.match(self.data, self.pos)
        if match is None:
            raise self.error(f"file ends where {what} was expected", layer)
        try:
            text = match.group().decode("ascii")
        except UnicodeDecodeError:
            raise self.error(f"{what}: non-ASCII bytes in a token (corrupt file?)", layer) from None
        self.pos = match.end()
        return text

    def int(self, layer: Optional[str], what: str, minimum: Optional[int] = None) -> int:
        start = self.mark()
        text = self.token(layer, what)
        try:
            value = int(text)
        except ValueError:
            raise self.error(f"{what}: expected an integer, found {text[:40]!r}", layer, start) from None
        if minimum is not None and value < minimum:
            raise self.error(f"{what} must be at least {minimum}, found {value}", layer, start)
        return value

    def flag(self, layer: Optional[str], what: str) -> bool:
        start = self.mark()
        text = self.token(layer, what)
        if text not in ("0", "1"):
            raise self.error(f"{what}: expected 0 or 1, found {text[:40]!r}", layer, start)
        return text == "1"

    def reserved_zero(self, layer: Optional[str], what: str) -> None:
        start = self.mark()
        value = self.int(layer, what)
        if value != 0:
            raise self.error(f"{what} must be 0 (unknown option {value})", layer, start)

    def float(self, layer: Optional[str], what: str) -> float:
        start = self.mark()
        text = self.token(layer, what)
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"{what}: expected a number, found {text[:40]!r}", layer, start) from None
        if not math.isfinite(value):
            raise self.error(f"{what} is not finite ({text})", layer, start)
        return value

    def mark(self) -> int:
        """Offset of the next token (where the next record starts)."""
        self._skip_whitespace()
        return self.pos

    def floats(self, count: int, layer: str) -> np.ndarray:
        """`count` float32 values, which must all be finite."""
        values = self._binary_floats(count, layer) if self.binary_floats else self._text_floats(count, layer)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            index = int(bad[0])
            offset = self._value_offset(index) if self.binary_floats else None
            raise self.error(f"weight {index} of {count} is not finite ({values[index]})", layer, offset)
        return values

    def _binary_floats(self, count: int, layer: str) -> np.ndarray:
        data, pos = self.data, self.pos
        skipped = 0
        while True:
            if pos >= len(data):
                raise self.error(f"file ends before the float block of {count} weights", layer, pos)
            if data[pos] == ord("@"):
                break
            skipped += 1
            pos += 1
            if skipped > MAX_BYTES_BEFORE_BIN:
                raise self.error("no '@BIN@' float block where one was expected (a text-float file "
                                 "read as binary?)", layer, self.pos)
        if data[pos:pos + 5] != b"@BIN@":
            raise self.error("expected the '@BIN@' header of a binary float block", layer, pos)
        start = pos + 5
        need = 4 * count
        if start + need > len(data):
            raise self.error(f"file ends inside a float block: {count} weights need {need} bytes, "
                             f"{len(data) - start} remain", layer, start)
        self.pos = start + need
        self._block_start = start
        return np.frombuffer(data, dtype="<f4", count=count, offset=start).astype(np.float32)

    def _value_offset(self, index: int) -> int:
        return self._block_start + 4 * index

    def _text_floats(self, count: int, layer: str) -> np.ndarray:
        tokens = []
        for match in _TOKEN.finditer(self.data, self.pos):
            if len(tokens) == count:
                break
            tokens.append(match)
        try:
            values = np.array([m.group() for m in tokens], dtype=np.bytes_).astype(np.float32)
        except ValueError:
            values = None
        if values is None:   # find the culprit for the message
            for m in tokens:
                try:
                    float(m.group())
                except ValueError:
                    raise self.error(f"expected a float weight, found {m.group()[:40]!r} (a binary "
                                     "file read as text?)", layer, m.start()) from None
        if len(tokens) < count:
            raise self.error(f"file ends inside a float array: {count} weights expected, "
                             f"{len(tokens)} found", layer, len(self.data))
        if count:
            self.pos = tokens[-1].end()
        return values.reshape(count)

    def unread_bytes(self) -> int:
        """Bytes left after the last record, not counting whitespace."""
        return len(self.data[self.pos:].translate(None, _WHITESPACE))


class RecordWriter:
    """Writes tokens one per line and float arrays as `@BIN@` blocks or text, as KataGo's exporter."""

    def __init__(self, binary_floats: bool = True):
        self.binary_floats = binary_floats
        self.parts: list[bytes] = []

    def token(self, value) -> None:
        text = str(value)
        if not text or any(ch.isspace() for ch in text) or not text.isascii():
            raise ValueError(f"cannot write {text!r} as a model file token")
        self.parts.append(text.encode("ascii") + b"\n")

    def floats(self, values) -> None:
        array = np.ascontiguousarray(np.asarray(values, dtype=np.float32).reshape(-1))
        if not np.all(np.isfinite(array)):
            raise ValueError("cannot write non-finite weights (KataGo refuses them)")
        if self.binary_floats:
            self.parts.append(b"@BIN@" + array.astype("<f4").tobytes() + b"\n")
        else:
            # 9 significant digits round-trip every float32 exactly.
            self.parts.append(" ".join(f"{v:.9g}" for v in array.tolist()).encode("ascii") + b"\n")

    def getvalue(self) -> bytes:
        return b"".join(self.parts)
