"""`goloop train` end to end on KataGo's 9x9 sample: the loss goes down, exports and checkpoints
land where the exporter and a restart look, metrics reach metrics.jsonl and TensorBoard; warm
start from KataGo model files; `goloop validate` on a model file."""
import json
import os

import pytest
import torch
from click.testing import CliRunner
from trainer_testdata import SHARED, write_shuffle

from goloop.cli import main
from goloop.common.nn.checkpoint import read_checkpoint as read
from goloop.common.nn.model import Model
from goloop.common.nn.modelconfigs import config_of_name
from goloop.common.nn.modelfile import load_model_file, save_model_file
from goloop.trainer.warmstart import WarmStartError, training_config_for_file, warm_start


def test_a_few_epochs_on_the_katago_sample_reduce_the_loss(tmp_path):
    shuffle = tmp_path / "shuffleddata" / "20240101-000000"
    write_shuffle(shuffle, (0, 1792), total_rows=1827)
    write_shuffle(shuffle, (0, 320), split="val", total_rows=1827)
    args = ["train", "--base-dir", str(tmp_path), "--name", "run", "--model-config", "b2c16",
            "-pos-len", "9", "-batch-size", "64", "-samples-per-epoch", "1792", "-max-epochs-this-instance", "3",
            "-lr-scale", "4", "-no-lr-warmup", "--seed", "1", "--no-progress",
            "--override", "cpu_threads=1,print_every_batches=7"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    records = [json.loads(line) for line in (tmp_path / "train" / "run" / "metrics.jsonl").read_text().splitlines()]
    val = [r["loss"] for r in records if r["kind"] == "val"]
    train = [r for r in records if r["kind"] == "train"]
    assert len(val) == 3 and val[-1] < val[0] * 0.95, val
    assert len(train) == 12 and train[-1]["loss"] < train[0]["loss"]
    for key in ("p0loss", "vloss", "oloss", "gnorm_batch", "pslr_batch", "samples_per_s", "global_step_samples"):
        assert key in train[-1]
    assert train[-1]["pslr_batch"] == pytest.approx(3e-5 * 4)
    exports = sorted(os.listdir(tmp_path / "torchmodels_toexport"))
    assert exports == ["run-s1792-d1827", "run-s3584-d1827", "run-s5376-d1827"]
    exported = read(str(tmp_path / "torchmodels_toexport" / exports[-1] / "model.ckpt"))
    assert "optimizer" not in exported and "swa_model" in exported and exported["config"]["trunk_num_channels"] == 16
    assert exported["train_state"]["global_step_samples"] == 5376
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path / "train" / "run" / "tensorboard"))
    assert sorted(f for f in os.listdir(tmp_path / "train" / "run") if f.endswith(".ckpt")) == [
        "checkpoint.ckpt", "checkpoint_prev0.ckpt", "checkpoint_prev1.ckpt"]
    # With a train bucket (as KataGo: one free epoch when it is first set) and no new rows, a
    # restart trains that one epoch, and the next restart stops at once.
    bucket_args = args[:-2] + ["-max-train-bucket-per-new-data", "1", "-stop-when-train-bucket-limited",
                               "--override", "cpu_threads=1,max_epochs_this_instance=5"]
    for expected in (7168, 7168):
        res = CliRunner().invoke(main, bucket_args)
        assert res.exit_code == 0, res.output
        state = read(str(tmp_path / "train" / "run" / "checkpoint.ckpt"))["train_state"]
        assert state["global_step_samples"] == expected and state["train_bucket_level"] == 0


def test_no_data_with_quit_if_no_data_exits_zero(tmp_path):
    res = CliRunner().invoke(main, ["train", "--base-dir", str(tmp_path), "--name", "x", "-quit-if-no-data",
                                    "--no-progress", "--override", "cpu_threads=1"])
    assert res.exit_code == 0, res.output


def _perturbed(name: str, seed: int) -> Model:
    torch.manual_seed(seed)
    model = Model(config_of_name(name), pos_len=9)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def _inputs(n=6):
    g = torch.Generator().manual_seed(4)
    spatial = (torch.rand(n, 22, 9, 9, generator=g) < 0.3).float()
    spatial[:, 0] = 1.0
    return spatial, torch.randn(n, 19, generator=g)


@pytest.mark.parametrize("name", ["b2c16", "b1c6nbt-fs"])
def test_warm_start_from_a_model_file_keeps_what_the_engine_sees(tmp_path, name):
    source = _perturbed(name, 0)
    path = str(tmp_path / "net.bin.gz")
    save_model_file(source, path, "test-net")
    model = Model(training_config_for_file(path, name), pos_len=9)
    fresh = warm_start(model, path)
    model.eval()
    x, g = _inputs()
    with torch.no_grad():
        want = source.engine_output(source(x, g))
        got = model.engine_output(model(x, g))
    for a, b in zip(got, want):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)
    # What a model file cannot carry starts fresh and is named.
    assert "heads.value.conv_seki.weight" in fresh and "heads.value.score_belief.linear_s3.weight" in fresh
    assert any(f.startswith("heads.policy.conv2p.weight channels opponent") for f in fresh)
    assert not any(n.startswith("blocks.") for n in fresh)


def test_warm_start_from_a_2019_katago_release_net():
    path = str(SHARED / "models" / "g170-b6c96-s175395328-d26788732.bin.gz")
    config = training_config_for_file(path, "b6c96")
    assert config.initial_conv_size == 5                   # kept from the file (an old 5x5 net)
    model = Model(config, pos_len=19)
    fresh = warm_start(model, path)
    file_model, _ = load_model_file(path)
    assert torch.equal(model.blocks[3].conv1.weight, file_model.blocks[3].conv1.weight)
    assert "heads.policy.linear_pass.weight" in fresh       # version 8 had no pass MLP
    with pytest.raises(WarmStartError, match="matches b6c96"):
        training_config_for_file(path, "b10c128")


def test_validate_a_model_file_computes_what_it_can(tmp_path):
    source = _perturbed("b2c16", 1)
    path = str(tmp_path / "net.bin.gz")
    save_model_file(source, path, "test-net")
    npz = write_shuffle(tmp_path, (0, 130), split="val")
    res = CliRunner().invoke(main, ["validate", "--model", path, "--data", npz, "--threads", "1",
                                    "--device", "cpu"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["nsamp"] == 130 and "loss_sum" in got["not_computed"] and "loss_sum" not in got
    assert "skloss_sum" in got["not_computed"] and got["p0loss_sum"] > 0
    from goloop.trainer import loss as L
    from goloop.trainer.data import FileBatches, to_device
    fb = FileBatches(npz, 130, 1, 0, 9, seed=None, augment=False, keep_partial=True)
    b = to_device(fb.batch(0), "cpu")
    with torch.no_grad():
        m = L.batch_metrics(source(b.binaryInputNCHW, b.globalInputNC), b, source.config.multipliers, 15,
                            L.LossScales(), False, None)
    for key in ("p0loss_sum", "vloss_sum", "oloss_sum", "smloss_sum", "leadloss_sum", "vtimeloss_sum", "pacc1_sum"):
        assert got[key] == pytest.approx(float(m[key]), rel=1e-4), key
