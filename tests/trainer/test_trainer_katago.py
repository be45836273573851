"""Checkpoints both ways with KataGo's own trainer, and validation sums equal to KataGo's.

The stored references (tests/trainer/data, README there) were made by KataGo's train.py and
Metrics; the tests marked `needs_katago` run KataGo's Python code live (skipped without it).
On the machine that made the references these comparisons came out bit-exact (with one CPU
thread on both sides); the tests allow a relative 1e-6..1e-5 so that another CPU's float kernels,
or a kernel whose summation order depends on memory alignment, do not fail them.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner
from trainer_testdata import DATA, KATAGO_PYTHON, NOAUG, TRAIN_ROWS, VAL_ROWS, write_shuffle

from goloop.cli import main
from goloop.common.config import load_config
from goloop.common.nn.model import Model
from goloop.common.nn.modelconfigs import config_of_name
from goloop.trainer.config import TrainConfig
from goloop.trainer.daemon import run_train

KATAGO_A = DATA / "katago_b2c16_epoch1.ckpt"
needs_katago = pytest.mark.skipif(not (KATAGO_PYTHON / "train.py").exists(),
                                  reason="KataGo's python tree is not available")


def reference_cfg(traindir, datadir, **over) -> TrainConfig:
    """The settings of make_reference.py's KataGo runs: 1 CPU thread and KataGo's NCHW layout."""
    keys = dict(traindir=str(traindir), datadir=str(datadir), pos_len=9, batch_size=64,
                samples_per_epoch=448, max_epochs_this_instance=1, swa_period_samples=128,
                augment=False, no_export=True, cpu_threads=1, channels_last=False)
    keys.update(over)
    return load_config(TrainConfig, None, keys)


def rel_err(a, b) -> float:
    a, b = a.double().reshape(-1), b.double().reshape(-1)
    return float((a - b).norm() / max(b.norm(), 1e-30))


def assert_state_close(got: dict, want: dict, what: str, tol: float) -> int:
    """Every tensor within `tol` relative error; returns how many are bit-identical."""
    assert sorted(got) == sorted(want), what
    worst = max((rel_err(got[k], want[k]), k) for k in want)
    assert worst[0] <= tol, f"{what}: {worst[1]} off by {worst[0]:.2e}"
    return sum(torch.equal(got[k], want[k]) for k in want)


def momentum(ckpt: dict) -> dict:
    return {i: s["momentum_buffer"] for i, s in ckpt["optimizer"]["state"].items()}


def test_validate_on_a_katago_checkpoint_equals_katagos_metrics(tmp_path):
    npz = write_shuffle(tmp_path, VAL_ROWS, split="val")
    want = json.loads((DATA / "katago_b2c16_epoch1_validation.json").read_text())
    for batch in (64, 100):      # the sums must not depend on the batch size
        res = CliRunner().invoke(main, ["validate", "--model", str(KATAGO_A), "--data", npz,
                                        "--batch-size", str(batch), "--device", "cpu", "--threads", "1"])
        assert res.exit_code == 0, res.output
        got = json.loads(res.stdout.strip().splitlines()[-1])
        assert got["nsamp"] == VAL_ROWS[1] - VAL_ROWS[0]
        assert "not_computed" not in got
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_a_katago_checkpoint_resumes_in_goloop(tmp_path):
    """KataGo's train.py checkpoint after epoch 1, trained one more epoch by goloop, equals what
    KataGo's train.py itself produced from it (same batches, no augmentation on either side)."""
    write_shuffle(tmp_path / "data", TRAIN_ROWS)
    (tmp_path / "train").mkdir()
    shutil.copyfile(KATAGO_A, tmp_path / "train" / "checkpoint.ckpt")
    assert run_train(reference_cfg(tmp_path / "train", tmp_path / "data"), progress=False) == 0
    got = torch.load(tmp_path / "train" / "checkpoint.ckpt", weights_only=True)
    want = torch.load(DATA / "katago_b2c16_epoch2_expected.pt", weights_only=True)
    assert_state_close(got["model"], want["model"], "model", 1e-5)
    assert_state_close(got["swa_model"], want["swa_model"], "swa_model", 1e-5)
    assert_state_close(momentum(got), want["momentum"], "momentum", 1e-4)
    for key in ("global_step_samples", "swa_sample_accum"):
        assert got["train_state"][key] == want["train_state"][key]
    for key, value in want["metrics"].items():
        assert got["metrics"][key] == pytest.approx(value, rel=1e-6)
    assert os.path.exists(tmp_path / "train" / "checkpoint_prev0.ckpt")   # KataGo's A, rotated


@needs_katago
def test_a_goloop_checkpoint_resumes_in_katago_train_py(tmp_path):
    """goloop's checkpoint, continued one epoch by KataGo's train.py and by goloop: the same; and
    KataGo's exporter exports goloop's checkpoint."""
    write_shuffle(tmp_path / "data", TRAIN_ROWS)
    goloop_dir, katago_dir = tmp_path / "g", tmp_path / "k"
    goloop_dir.mkdir()
    shutil.copyfile(KATAGO_A, goloop_dir / "checkpoint.ckpt")
    run_train(reference_cfg(goloop_dir, tmp_path / "data"), progress=False)     # written by goloop
    shutil.copytree(goloop_dir, katago_dir)
    run_train(reference_cfg(goloop_dir, tmp_path / "data"), progress=False)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, str(NOAUG), "-traindir", str(katago_dir), "-datadir", str(tmp_path / "data"),
                        "-pos-len", "9", "-batch-size", "64", "-samples-per-epoch", "448",
                        "-max-epochs-this-instance", "1", "-no-compile", "-swa-period-samples", "128",
                        "-no-export"], cwd=str(KATAGO_PYTHON), capture_output=True, text=True, env=env)
    log = r.stdout + r.stderr
    assert r.returncode == 0, log[-3000:]
    assert "Global step: 896 samples" in log                 # it resumed goloop's counters
    assert "Failed to load optimizer" not in log and "Optimizer not found" not in log
    g = torch.load(goloop_dir / "checkpoint.ckpt", weights_only=True)
    k = torch.load(katago_dir / "checkpoint.ckpt", weights_only=True)
    # Usually bit-identical; a kernel's summation order can depend on how memory happens to be
    # aligned in each process, so the last bits of a gradient may differ (seen in momentum).
    assert_state_close(g["model"], k["model"], "model", 1e-6)
    assert_state_close(g["swa_model"], k["swa_model"], "swa_model", 1e-6)
    assert_state_close(momentum(g), momentum(k), "momentum", 1e-5)
    assert g["metrics"] == pytest.approx(k["metrics"], rel=1e-6)
    assert g["train_state"]["global_step_samples"] == k["train_state"]["global_step_samples"] == 1344
    check_katago_exports(goloop_dir / "checkpoint.ckpt", tmp_path / "export")


def check_katago_exports(ckpt, out_dir):
    """KataGo's export_model_pytorch.py turns a goloop checkpoint's EMA into a model file whose
    net computes what goloop's EMA computes."""
    from goloop.common.nn.checkpoint import load_checkpoint_model
    from goloop.common.nn.modelfile import load_model_file
    r = subprocess.run([sys.executable, str(KATAGO_PYTHON / "export_model_pytorch.py"), "-checkpoint", str(ckpt),
                        "-export-dir", str(out_dir), "-model-name", "goloop-test", "-filename-prefix", "model",
                        "-use-swa"], cwd=str(KATAGO_PYTHON), capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    exported, info = load_model_file(out_dir / "model.bin")
    ema = load_checkpoint_model(str(ckpt), use_swa=True, pos_len=9).eval()
    torch.manual_seed(0)
    spatial = (torch.rand(8, 22, 9, 9) < 0.3).float()
    spatial[:, 0] = 1.0
    glob = torch.randn(8, 19)
    with torch.no_grad():
        a = ema.engine_output(ema(spatial, glob))
        b = exported.engine_output(exported(spatial, glob))
    for x, y in zip(a, b):
        assert torch.allclose(x, y, rtol=1e-4, atol=1e-4)
    assert info.version == 15




@needs_katago
@pytest.mark.parametrize("name", ["b6c96", "b1c6nbt", "b2c16-fson-mish-bnh", "b2c16-ih", "b2c16-rnh",
                                  "b2c16-rsnh", "b2c16-bn", "b2c16-fs", "b1c6nbt-bng-silu"])
def test_names_reg_groups_and_config_dicts_match_katago(name):
    sys.path.insert(0, str(KATAGO_PYTHON))
    from katago.train import modelconfigs as kg_configs
    from katago.train.model_pytorch import Model as KataGoModel

    from goloop.common.nn.paramnames import (
        config_from_katago_dict,
        katago_config_dict,
        katago_layout,
    )
    kg_dict = kg_configs.config_of_name[name]
    kg = KataGoModel(kg_dict, 9)
    reg: dict = {}
    kg.add_reg_dict(reg)
    names = {id(p): n for n, p in kg.named_parameters()}
    want = [(g, names[id(p)]) for g in reg for p in reg[g]]
    ours = Model(config_of_name(name), 9, init=False)
    layout, buffers = katago_layout(ours)
    order = list(reg)
    got = sorted([(p.group, p.katago) for p in layout], key=lambda x: order.index(x[0]))
    assert got == want
    kg_state = kg.state_dict()
    assert sorted(b.katago for b in buffers) == sorted(k for k in kg_state if "running_" in k)
    ours_state = ours.state_dict()
    for p in layout:
        assert kg_state[p.katago].numel() == ours_state[p.ours].numel()
    assert katago_config_dict(config_of_name(name)) == kg_dict
    assert config_from_katago_dict(kg_dict) == config_of_name(name)
