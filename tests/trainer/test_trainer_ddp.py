"""2-process DistributedDataParallel on CPU (gloo, started as torchrun would: RANK, WORLD_SIZE,
MASTER_ADDR/PORT in the environment) trains what 1 process does with the doubled batch."""
import os
import socket
import subprocess
import sys

import torch
from trainer_testdata import TRAIN_ROWS, write_shuffle

from goloop.common.config import load_config
from goloop.trainer.config import TrainConfig
from goloop.trainer.daemon import run_train

RANK_SCRIPT = """
import sys
from goloop.common.config import load_config
from goloop.trainer.config import TrainConfig
from goloop.trainer.daemon import run_train
keys = eval(sys.argv[1])
sys.exit(run_train(load_config(TrainConfig, None, keys), progress=False))
"""


def keys_for(traindir, datadir, batch):
    return dict(traindir=str(traindir), datadir=str(datadir), pos_len=9, batch_size=batch, model_kind="b2c16",
                samples_per_epoch=192, max_epochs_this_instance=1, swa_period_samples=64, seed=21,
                no_export=True, cpu_threads=1, quit_if_no_data=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_equal_one_process_with_the_doubled_batch(tmp_path):
    write_shuffle(tmp_path / "data", TRAIN_ROWS)
    assert run_train(load_config(TrainConfig, None, keys_for(tmp_path / "one", tmp_path / "data", 64)),
                     progress=False) == 0
    port = free_port()
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
        procs.append(subprocess.Popen(
            [sys.executable, "-c", RANK_SCRIPT, repr(keys_for(tmp_path / "two", tmp_path / "data", 32))],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][-3000:] + outs[1][-3000:]
    one = torch.load(tmp_path / "one" / "checkpoint.ckpt", weights_only=True)
    two = torch.load(tmp_path / "two" / "checkpoint.ckpt", weights_only=True)
    assert one["train_state"]["global_step_samples"] == two["train_state"]["global_step_samples"] == 448
    for key in ("model", "swa_model"):
        for name, want in one[key].items():
            got = two[key][name]
            assert torch.allclose(got, want, rtol=1e-5, atol=1e-7), f"{key}.{name}"
    # Momentum includes the last (discarded) step's gradients; near-zero ones are pure rounding
    # noise, so the tolerance is relative to the largest buffer.
    scale = max(float(s["momentum_buffer"].abs().max()) for s in one["optimizer"]["state"].values())
    for i, s in one["optimizer"]["state"].items():
        got, want = two["optimizer"]["state"][i]["momentum_buffer"], s["momentum_buffer"]
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6 * scale), f"momentum {i}"
    for key, value in one["metrics"].items():     # the seki average saw every rank's rows
        assert abs(two["metrics"][key] - value) <= 1e-6 * abs(value)
    for key in ("nsamp", "wsum"):
        assert two["running_metrics"]["sums"][key] == one["running_metrics"]["sums"][key]
