"""Run KataGo's own train.py with its data augmentation switched off, for exact cross-checks.

`python katago_train_noaug.py <train.py arguments>` runs KataGo's train.py (imported from
$KATAGO_PYTHON, default /work/katago/src/python; nothing of KataGo is copied here) with every
batch left as stored: identity symmetry and full history. `goloop train` with augment=false
trains on exactly the same batches, so the two trainers can be compared bit for bit.
"""
import os
import runpy
import sys

KATAGO_PYTHON = os.environ.get("KATAGO_PYTHON", "/work/katago/src/python")


def main() -> None:
    sys.path.insert(0, KATAGO_PYTHON)
    import torch
    from katago.train import data_processing_pytorch as dp

    original = dp.read_npz_training_data

    def without_symmetries(*args, **kwargs):
        kwargs["randomize_symmetries"] = False
        return original(*args, **kwargs)

    dp.read_npz_training_data = without_symmetries
    # The history mask draws torch.rand_like(...) >= 0.98 per row; zeros keep every move.
    torch.rand_like = lambda t, *a, **k: torch.zeros_like(t)
    sys.argv = [os.path.join(KATAGO_PYTHON, "train.py")] + sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
