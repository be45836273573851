"""`goloop validate`: a model's KataGo losses on a data set, summed over every row.

No augmentation: identity symmetry and full history, validation-mode constants (seki weight 7,
the model in eval mode, so batch norms use their running statistics). The result carries
KataGo's metric names (`p0loss_sum`, `vloss_sum`, ..., `loss_sum`, `nsamp`, `wsum`,
`pacc1_sum`, ...), each the sum over all rows, so it compares directly with KataGo's own
validation sums and does not depend on the batch size.

The model may be a goloop or KataGo checkpoint (its `model`, or with use_swa its EMA weights)
or a KataGo model file. A model file carries only the engine's heads (main and optimistic
policy, value, four or six score values, ownership), so the terms needing other heads, and the
total loss, are left out and listed under "not_computed".
"""
from __future__ import annotations

import logging
from typing import Optional

import torch

from goloop.common.logs import kv
from goloop.common.nn.checkpoint import is_checkpoint_file, load_checkpoint_model
from goloop.common.nn.model import ModelOutput
from goloop.common.nn.modelfile import load_model_file
from goloop.common.nn.paramnames import (
    intermediate_loss_scales,
)
from goloop.common.runtime import apply_threads, plan_threads, resolve_device
from goloop.trainer import data as tdata
from goloop.trainer import loss as L

log = logging.getLogger(__name__)

# What a model file lets us compute (model-file-format: engine heads only).
MODEL_FILE_METRICS = ("p0loss_sum", "vloss_sum", "oloss_sum", "smloss_sum", "leadloss_sum",
                      "vtimeloss_sum", "pacc1_sum", "vsquare_sum")


def _file_model_metrics(out: ModelOutput, b: L.Batch, mult) -> dict:
    """The terms a model file's heads allow, with the same functions and weights as training."""
    gt = b.globalTargetsNC
    gw = gt[:, 25]
    mask = b.binaryInputNCHW[:, 0].contiguous()
    mask_sum_hw = mask.sum(dim=(1, 2))
    pla = b.policyTargetsNCMove[:, 0, :]
    pla = pla / torch.sum(pla, dim=1, keepdim=True)
    misc = out.misc
    m = {
        "p0loss_sum": L.policy_loss(out.policy[:, 0], pla, gt[:, 26], gw).sum(),
        "vloss_sum": L.value_loss(out.value, gt[:, 0:3], 1.0 - gt[:, 35], gw).sum(),
        "oloss_sum": L.ownership_loss(out.ownership, b.valueTargetsNCHW[:, 0], gt[:, 27], mask, mask_sum_hw, gw).sum(),
        "smloss_sum": L.scoremean_loss(misc[:, 0] * mult.score_mean, gt[:, 3], gt[:, 27], gw).sum(),
        "leadloss_sum": L.lead_loss(misc[:, 2] * mult.lead, gt[:, 21], gt[:, 29], gw).sum(),
        "vtimeloss_sum": L.variance_time_loss(L.softplus_floor(misc[:, 3], False) * mult.variance_time,
                                              gt[:, 22], gt[:, 27], gw).sum(),
        "pacc1_sum": L.policy_accuracy(out.policy[:, 0], pla, gt[:, 26], gw),
        "vsquare_sum": L.square_value(out.value, gw),
        "wsum": gw.sum(),
        "nsamp": int(gw.shape[0]),
        "ptentr_sum": L.target_entropy(pla, gt[:, 26], gw),
    }
    return m


def run_validate(model_path: str, data: list[str], batch_size: int = 256, use_swa: bool = False,
                 device: str = "auto", pos_len: Optional[int] = None, threads: Optional[int] = None) -> dict:
    dev = torch.device(resolve_device(device))
    apply_threads(plan_threads(str(dev), threads, 1 << 20), log)
    if pos_len is None:
        pos_len = _data_pos_len(data[0])
    from_file = not is_checkpoint_file(model_path)
    if from_file:
        model, info = load_model_file(model_path)
        mult, version = info.multipliers, info.version
    else:
        model = load_checkpoint_model(model_path, use_swa, pos_len)
        mult, version = model.config.multipliers, model.config.version
    model.to(dev).eval()
    main_scale, inter_scale = (None, None) if from_file else intermediate_loss_scales(model.config, None, None)
    scales = L.LossScales(main_loss_scale=main_scale, intermediate_loss_scale=inter_scale)
    sums: dict = {}
    with torch.no_grad():
        for _, arrays in tdata.batch_loader(data, batch_size, 1, 0, pos_len, None, 0, False,
                                            augment=False, keep_partial=True):
            b = tdata.to_device(arrays, dev)
            out = model(b.binaryInputNCHW, b.globalInputNC)
            if from_file:
                m = _file_model_metrics(out, b, mult)
            else:
                m = L.batch_metrics(out, b, mult, version, scales, False, None)
            for k, v in m.items():
                sums[k] = sums.get(k, 0.0) + (float(v) if isinstance(v, torch.Tensor) else v)
    result = {k: (int(v) if k == "nsamp" else v) for k, v in sums.items()}
    if from_file:
        every = [k for k in _all_metric_names() if k not in result]
        result["not_computed"] = sorted(every)
    log.info("validated", extra=kv(model=model_path, rows=result.get("nsamp", 0), files=len(data)))
    return result


def _data_pos_len(path: str) -> int:
    """The board tensor size of a data file, from its valueTargetsNCHW header alone."""
    import zipfile

    import numpy as np
    try:
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n in ("valueTargetsNCHW", "valueTargetsNCHW.npy"))
            with z.open(name) as f:
                np.lib.format.read_magic(f)
                shape = np.lib.format.read_array_header_1_0(f)[0]
    except (OSError, zipfile.BadZipFile, StopIteration, ValueError) as e:
        raise ValueError(f"{path}: not a readable training-data file ({e})") from None
    return int(shape[2])


def _all_metric_names() -> list[str]:
    return ["p0loss_sum", "p1loss_sum", "p0softloss_sum", "p1softloss_sum", "p0lopt_sum", "p0loptw_sum",
            "p0sopt_sum", "p0soptw_sum", "vloss_sum", "tdvloss1_sum", "tdvloss2_sum", "tdvloss3_sum",
            "tdsloss_sum", "oloss_sum", "sloss_sum", "fploss_sum", "skloss_sum", "smloss_sum",
            "sbcdfloss_sum", "sbpdfloss_sum", "sdregloss_sum", "leadloss_sum", "vtimeloss_sum",
            "evstloss_sum", "esstloss_sum", "qwlloss_sum", "qscloss_sum", "loss_sum", "pacc1_sum",
            "vsquare_sum", "wsum", "nsamp", "ptentr_sum", "ptsoftentr_sum", "sekiweightscale_sum"]
