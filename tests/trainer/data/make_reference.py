"""Regenerate the KataGo reference files in this folder (see README.md). Needs KataGo's python
tree ($KATAGO_PYTHON, default /work/katago/src/python) and runs only KataGo's own code:

    nice -n 19 python tests/trainer/data/make_reference.py
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from trainer_testdata import (  # noqa: E402
    DATA,
    KATAGO_PYTHON,
    NOAUG,
    TRAIN_ROWS,
    VAL_ROWS,
    sample_rows,
    write_shuffle,
)

TRAIN_ARGS = ["-pos-len", "9", "-batch-size", "64", "-model-kind", "b2c16", "-samples-per-epoch", "448",
              "-max-epochs-this-instance", "1", "-no-compile", "-swa-period-samples", "128"]


def katago_epoch(traindir: str, datadir: str) -> None:
    # One CPU thread: torch's reductions then sum in one fixed order, which the tests repeat.
    subprocess.run([sys.executable, str(NOAUG), "-traindir", traindir, "-datadir", datadir] + TRAIN_ARGS,
                   check=True, cwd=str(KATAGO_PYTHON), env=dict(os.environ, OMP_NUM_THREADS="1"))


def validation_sums(checkpoint: str) -> dict:
    """KataGo's Metrics (validation mode) over VAL_ROWS, identity symmetry, full history."""
    sys.path.insert(0, str(KATAGO_PYTHON))
    from katago.train.load_model import load_model
    from katago.train.metrics_pytorch import Metrics

    model, _, _ = load_model(checkpoint, use_swa=False, device="cpu", pos_len=9)
    model.eval()
    metrics = Metrics(1, model)
    a = sample_rows(*VAL_ROWS)
    planes = np.unpackbits(a["binaryInputNCHWPacked"], axis=2)[:, :, :81].reshape(-1, 22, 9, 9)
    sums = {}
    with torch.no_grad():
        for s in range(0, len(planes), 64):
            b = dict(binaryInputNCHW=torch.from_numpy(planes[s:s + 64].astype(np.float32)),
                     globalInputNC=torch.from_numpy(a["globalInputNC"][s:s + 64]),
                     policyTargetsNCMove=torch.from_numpy(a["policyTargetsNCMove"][s:s + 64].astype(np.float32)),
                     globalTargetsNC=torch.from_numpy(a["globalTargetsNC"][s:s + 64]),
                     scoreDistrN=torch.from_numpy(a["scoreDistrN"][s:s + 64].astype(np.float32)),
                     valueTargetsNCHW=torch.from_numpy(a["valueTargetsNCHW"][s:s + 64].astype(np.float32)))
            out = model.postprocess_output(model(b["binaryInputNCHW"], b["globalInputNC"]))
            m = metrics.metrics_dict_batchwise(
                model, out, None, b, is_training=False, soft_policy_weight_scale=8.0,
                disable_optimistic_policy=False, meta_kata_only_soft_policy=False, value_loss_scale=0.6,
                td_value_loss_scales=[0.6, 0.6, 0.6], seki_loss_scale=1.0, variance_time_loss_scale=1.0,
                main_loss_scale=None, intermediate_loss_scale=None, include_model_norms=False)
            for k, v in m.items():
                sums[k] = sums.get(k, 0.0) + float(v)
    return sums


def main() -> None:
    torch.set_num_threads(1)
    work = pathlib.Path(tempfile.mkdtemp(prefix="goloop_trainer_ref_"))
    try:
        datadir, traindir = work / "data", work / "train"
        write_shuffle(datadir, TRAIN_ROWS)
        katago_epoch(str(traindir), str(datadir))                       # fresh net, epoch 1: A
        a_path = DATA / "katago_b2c16_epoch1.ckpt"
        shutil.copyfile(traindir / "checkpoint.ckpt", a_path)
        katago_epoch(str(traindir), str(datadir))                       # resumed, epoch 2: B
        b = torch.load(traindir / "checkpoint.ckpt", map_location="cpu", weights_only=True)
        after = {"model": b["model"], "swa_model": b["swa_model"], "metrics": b["metrics"],
                 "momentum": {i: s["momentum_buffer"] for i, s in b["optimizer"]["state"].items()},
                 "train_state": {k: b["train_state"][k] for k in
                                 ("global_step_samples", "swa_sample_accum", "export_cycle_counter")}}
        torch.save(after, DATA / "katago_b2c16_epoch2_expected.pt")
        sums = validation_sums(str(a_path))
        (DATA / "katago_b2c16_epoch1_validation.json").write_text(json.dumps(sums, indent=1, sort_keys=True) + "\n")
        print("wrote", sorted(os.listdir(DATA)))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
