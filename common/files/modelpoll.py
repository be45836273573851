"""Which model a daemon should be using: the newest file in a models directory.

KataGo's selfplay and gatekeeper find "the latest model" the same way (directory-protocol.md
§3): scan the directory recursively for model files, take the one with the newest mtime, and
name it after its directory when the file name is generic (`model.bin.gz`), so that
`models/<NAME>/model.bin.gz` is the model `<NAME>`. No model file means the random net.
Directories being written (`*.tmp`, `*.exported`) are skipped: the exporter renames a
finished directory into place.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

MODEL_SUFFIXES = (".bin.gz", ".bin", "model.txt.gz", "model.txt")
GENERIC_NAMES = ("model.bin.gz", "model.bin", "model.txt.gz", "model.txt")
SKIPPED_DIR_SUFFIXES = (".tmp", ".exported")


@dataclass(frozen=True)
class ModelFile:
    path: str
    name: str
    mtime: float


def model_name(path: str) -> str:
    """The name KataGo gives the model in `path`: its directory's for generic file names."""
    base = os.path.basename(path)
    if base in GENERIC_NAMES:
        return os.path.basename(os.path.dirname(os.path.abspath(path)))
    for suffix in MODEL_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)].rstrip(".") or base
    return base


def latest_model(models_dir: Optional[str]) -> Optional[ModelFile]:
    """The newest model file under `models_dir`, or None (no directory, or no model in it).

    Files that vanish while scanning (a gatekeeper moving a directory) are skipped."""
    if not models_dir or not os.path.isdir(models_dir):
        return None
    best: Optional[ModelFile] = None
    for root, dirs, files in os.walk(models_dir):
        dirs[:] = sorted(d for d in dirs if not d.endswith(SKIPPED_DIR_SUFFIXES) and not d.startswith("."))
        for f in files:
            if not f.endswith(MODEL_SUFFIXES) or f.startswith("."):
                continue
            path = os.path.join(root, f)
            try:
                mtime = os.stat(path).st_mtime
            except FileNotFoundError:
                continue
            if best is None or mtime > best.mtime or (mtime == best.mtime and path > best.path):
                best = ModelFile(path, model_name(path), mtime)
    return best
