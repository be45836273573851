"""Shared by the trainer tests and tests/trainer/data/make_reference.py: small shuffled-data
directories cut from KataGo's real 9x9 selfplay sample (../shared/reference)."""
import json
import os
import pathlib

import numpy as np

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
SAMPLE = SHARED / "reference" / "katago_selfplay_sample.npz"
DATA = pathlib.Path(__file__).resolve().parent / "data"
KATAGO_PYTHON = pathlib.Path(os.environ.get("KATAGO_PYTHON", "/work/katago/src/python"))
NOAUG = pathlib.Path(__file__).resolve().parent / "katago_train_noaug.py"

# Rows of the sample used by the reference files (see data/README.md).
TRAIN_ROWS = (0, 448)      # 7 batches of 64: one lookahead sync (k = 6) and one discarded step
VAL_ROWS = (448, 768)      # 5 batches of 64


def sample_rows(start: int, end: int) -> dict:
    with np.load(SAMPLE) as z:
        return {k: z[k][start:end] for k in z.files}


def write_shuffle(data_dir, rows=TRAIN_ROWS, split="train", name="data0", total_rows=None) -> str:
    """One published shuffle: <data_dir>/<split>/<name>.npz (shuffle.py's member names) with its
    row-count json, and <data_dir>/<split>.json's range."""
    data_dir = pathlib.Path(data_dir)
    arrays = sample_rows(*rows)
    out = data_dir / split
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / f"{name}.npz", **arrays)
    n = len(arrays["globalInputNC"])
    (out / f"{name}.json").write_text(json.dumps({"num_rows": n}))
    (data_dir / f"{split}.json").write_text(json.dumps({"range": [0, total_rows or n]}))
    return str(out / f"{name}.npz")
