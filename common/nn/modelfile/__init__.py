"""Read and write KataGo model files (`.bin.gz`, `.txt.gz`, `.bin`, `.txt`, other `.gz`).

`load_model_file` gives our `Model` (eval mode) plus a `ModelInfo` with the header facts an
evaluator needs to post-process raw outputs (model-file-format.md §7-§8). `save_model_file`
writes what KataGo's engine loads (version 15 by default), atomically.

The record-level work lives in `read` (parsing, channel checks, folding batch norms),
`write` (encoding), `records` (record layouts) and `stream` (tokens, float blocks, byte offsets).
"""
from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from goloop.common.atomicfile import atomic_write
from goloop.common.nn.model import Model
from goloop.common.nn.modelconfigs import OutputMultipliers
from goloop.common.nn.modelfile.read import ParsedModel, parse_model
from goloop.common.nn.modelfile.stream import ModelFileError
from goloop.common.nn.modelfile.write import encode_model

__all__ = ["ModelFileError", "ModelInfo", "load_model_file", "save_model_file", "read_model_file"]

PathLike = Union[str, os.PathLike]
_GZIP_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about its net beyond the weights."""

    path: str
    name: str                             # model name from the header
    version: int                          # model version (8..17)
    multipliers: OutputMultipliers        # score/lead/variance-time/error scalings (defaults if v <= 12)
    policy_channels: int                  # policy channels in the file: 1, 2 (with optimistic) or 4 (+ q values)
    has_optimistic_policy: bool           # channel 1 is the short-term optimistic policy
    score_values: int                     # value-head score outputs: 4 (version 8) or 6
    meta_encoder_version: int             # 0: no SGF-metadata inputs
    prefer_pass_alive_under_suicide: bool  # compute pass-alive area as if suicide were legal
    trunk_norm: str                       # "batchnorm" or "rmsnorm" record at the trunk tip
    num_parameters: int                   # learned weights, counted as KataGo counts them
    binary_floats: bool                   # weights were @BIN@ blocks (else text)
    unread_bytes: int                     # non-whitespace bytes after the value head (normally 0)


def _decompress(raw: bytes, path: str) -> bytes:
    """gunzip, reporting how much came out before a corrupt or truncated spot."""
    out: list[bytes] = []
    total = 0
    data = raw
    while True:
        stream = zlib.decompressobj(wbits=31)
        for start in range(0, len(data), _GZIP_CHUNK):
            try:
                chunk = stream.decompress(data[start:start + _GZIP_CHUNK])
            except zlib.error as e:
                raise ModelFileError(path, f"corrupt gzip data ({e})", offset=total) from None
            out.append(chunk)
            total += len(chunk)
            if stream.eof:
                break
        if not stream.eof:
            raise ModelFileError(path, "gzip stream is truncated", offset=total)
        data = stream.unused_data
        if not data:
            return b"".join(out)
        if not data.startswith(b"\x1f\x8b"):
            raise ModelFileError(path, f"{len(data)} bytes of garbage after the gzip data", offset=total)


def _modes(path: str) -> tuple[bool, tuple[bool, ...]]:
    """(gzipped, binary-float modes to try) from the file name, as KataGo decides (format §1)."""
    lower = path.lower()
    if lower.endswith(".txt"):
        return False, (False,)
    if lower.endswith(".bin"):
        return False, (True,)
    if lower.endswith(".txt.gz"):
        return True, (False,)
    if lower.endswith(".bin.gz"):
        return True, (True,)
    if lower.endswith(".gz"):
        return True, (True, False)   # ambiguous: binary first, then text
    raise ModelFileError(path, "a model file name must end with .bin.gz, .txt.gz, .bin, .txt or .gz")


def read_model_file(path: PathLike) -> ParsedModel:
    """Parse a model file without building the torch model."""
    path = os.fspath(path)
    gzipped, modes = _modes(path)
    raw = Path(path).read_bytes()
    data = _decompress(raw, path) if gzipped else raw
    try:
        return parse_model(data, path, modes[0])
    except ModelFileError as binary_error:
        if len(modes) == 1:
            raise
        try:
            return parse_model(data, path, modes[1])
        except ModelFileError as text_error:
            raise ModelFileError(path, f"neither binary nor text floats parse: as binary: "
                                 f"{binary_error}; as text: {text_error}") from None


def load_model_file(path: PathLike, device="cpu") -> tuple[Model, ModelInfo]:
    """The net in a KataGo model file, in eval mode on `device`, and its header facts."""
    parsed = read_model_file(path)
    model = Model(parsed.config, init=False)
    model.load_state_dict(parsed.state, strict=True)
    model.eval()
    model.to(device)
    header = parsed.header
    info = ModelInfo(
        path=os.fspath(path), name=header.name, version=header.version,
        multipliers=header.multipliers, policy_channels=parsed.policy_channels,
        has_optimistic_policy=parsed.policy_channels >= 2, score_values=parsed.score_values,
        meta_encoder_version=header.meta_encoder_version,
        prefer_pass_alive_under_suicide=header.prefer_pass_alive_under_suicide,
        trunk_norm="rmsnorm" if parsed.trunk_norm_kind == 1 else "batchnorm",
        num_parameters=parsed.num_parameters,
        binary_floats=parsed.binary_floats, unread_bytes=parsed.unread_bytes)
    return model, info


def save_model_file(model: Model, path: PathLike, name: str, version: int = 15) -> None:
    """Write `model` as a KataGo model file: text floats for .txt/.txt.gz names, else binary;
    gzipped when the name ends in .gz. Written to a temporary name, then renamed into place."""
    path = os.fspath(path)
    try:
        gzipped, modes = _modes(path)
    except ModelFileError as e:
        raise ValueError(str(e)) from None
    data = encode_model(model, name, version, binary_floats=modes[0])
    if gzipped:
        data = gzip.compress(data, compresslevel=6, mtime=0)
    with atomic_write(path) as f:
        f.write(data)
