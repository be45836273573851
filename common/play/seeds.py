"""Where a game-playing process gets its randomness, and KataGo's random names.

Why one seed string: every random choice of a run (game setups, searches, file names) comes
from one numpy Generator made here, so a configured seed replays the same games on the same
machine, and an empty one gives fresh entropy.
"""
from __future__ import annotations

import hashlib

import numpy as np


def seed_rng(seed: str) -> np.random.Generator:
    """A Generator from a config seed string (empty: fresh entropy from the OS)."""
    if not seed:
        return np.random.default_rng()
    digest = hashlib.sha256(seed.encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def random_u64(rng: np.random.Generator) -> int:
    """A uniform 64-bit unsigned integer (KataGo's nextUInt64: file names, game hashes)."""
    return int(rng.integers(1 << 63)) * 2 + int(rng.integers(2))


def new_hex(rng: np.random.Generator) -> str:
    """16 upper-case hex digits, as KataGo names its output files."""
    return f"{random_u64(rng):016X}"
