"""The exporter: checkpoints from torchmodels_toexport/ become model directories, published whole
by one rename, named as KataGo names them; an unreadable checkpoint is moved aside.

The checkpoint used is a real one written by KataGo's train.py (tests/trainer/data), so these
tests also show that a KataGo checkpoint exports to a model file whose net equals the
checkpoint's EMA weights.
"""
import json
import logging
import os
import pathlib
import shutil

import pytest
import torch
from click.testing import CliRunner

from goloop.cli import main
from goloop.common.config import load_config
from goloop.common.logs import _FIELDS_ATTR as FIELDS
from goloop.common.nn.checkpoint import load_checkpoint_model, read_checkpoint
from goloop.common.nn.modelfile import load_model_file
from goloop.exporter import publish
from goloop.exporter.config import ExporterConfig
from goloop.exporter.daemon import run_exporter

KATAGO_CKPT = pathlib.Path(__file__).resolve().parents[1] / "trainer" / "data" / "katago_b2c16_epoch1.ckpt"


def _stage(base, name, source=KATAGO_CKPT, mtime=None, folder="torchmodels_toexport"):
    """What the trainer hands over: <folder>/<name>/model.ckpt."""
    d = base / folder / name
    d.mkdir(parents=True)
    shutil.copyfile(source, d / "model.ckpt")
    if mtime is not None:
        os.utime(d, (mtime, mtime))
    return d


def _checkpoint_with_distinct_ema(path):
    """The KataGo checkpoint with its EMA moved off the raw weights (after one averaging step the
    two are equal), so a test can tell which one was exported."""
    state = torch.load(KATAGO_CKPT, map_location="cpu", weights_only=True)
    g = torch.Generator().manual_seed(5)
    for k, v in state["swa_model"].items():
        if k.startswith("module.") and v.dtype.is_floating_point and "running_var" not in k:
            v.add_(0.05 * torch.randn(v.shape, generator=g))
    torch.save(state, path)
    return path


def _cfg(base, **keys):
    return load_config(ExporterConfig, None, dict(baseDir=str(base), **keys))


def _inputs(n=4, size=9, seed=3):
    g = torch.Generator().manual_seed(seed)
    spatial = (torch.rand(n, 22, size, size, generator=g) < 0.25).float()
    spatial[:, 0] = 1
    return spatial, torch.randn(n, 19, generator=g)


def _engine(model, spatial, glob):
    with torch.inference_mode():
        return model.engine_output(model.eval()(spatial, glob))


def test_publishes_ema_net_as_katago_model_dir(tmp_path):
    source = _checkpoint_with_distinct_ema(tmp_path / "source.ckpt")
    _stage(tmp_path, "b2c16-s448-d448", source)
    assert run_exporter(_cfg(tmp_path, namePrefix="run1"), once=True) == 0
    out = tmp_path / "models" / "b2c16-s448-d448"
    assert sorted(os.listdir(out)) == ["log.txt", "metadata.json", "model.bin.gz", "model.ckpt"]
    assert not (tmp_path / "torchmodels_toexport" / "b2c16-s448-d448").exists()
    # KataGo pre-creates the selfplay output of an ungated model.
    assert (tmp_path / "selfplay" / "b2c16-s448-d448" / "tdata").is_dir()
    assert (tmp_path / "selfplay" / "b2c16-s448-d448" / "sgfs").is_dir()

    model, info = load_model_file(out / "model.bin.gz")
    assert (info.name, info.version) == ("run1-b2c16-s448-d448", 15)
    ema = load_checkpoint_model(str(source), use_swa=True, pos_len=19)
    raw = load_checkpoint_model(str(source), use_swa=False, pos_len=19)
    spatial, glob = _inputs()
    got, want, other = _engine(model, spatial, glob), _engine(ema, spatial, glob), _engine(raw, spatial, glob)
    torch.testing.assert_close(got.value, want.value, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got.policy[:, :1], want.policy[:, :1], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(got.ownership, want.ownership, atol=1e-5, rtol=1e-5)
    assert (got.value - other.value).abs().max() > 1e-3          # it is the EMA, not the raw net

    # clean_checkpoint.py's cut: what the engines and a later fine-tune need, not the optimizer.
    cleaned = read_checkpoint(str(out / "model.ckpt"))
    assert "optimizer" not in cleaned and "running_metrics" not in cleaned
    assert {"model", "config", "swa_model", "train_state"} <= set(cleaned)
    meta = json.loads((out / "metadata.json").read_text())
    state = read_checkpoint(str(KATAGO_CKPT))
    assert meta["global_step_samples"] == state["train_state"]["global_step_samples"]
    assert not any("sopt" in k or "lopt" in k for k in meta.get("extra_stats", {}).get("sums", {}))


def test_gating_publishes_for_the_gatekeeper_oldest_first(tmp_path, caplog):
    _stage(tmp_path, "newer", mtime=2_000_000_000)
    _stage(tmp_path, "older", mtime=1_000_000_000)
    order = [p.name for p in publish.pending_exports(str(tmp_path), use_gating=True)]
    assert order == ["older", "newer"]
    done = list(publish.export_all(str(tmp_path), _cfg(tmp_path, useGating=True)))
    assert [os.path.basename(d) for d in done] == ["older", "newer"]
    assert sorted(os.listdir(tmp_path / "modelstobetested")) == ["newer", "older"]
    assert not (tmp_path / "models").exists() and not (tmp_path / "selfplay").exists()


def test_extra_exports_go_to_models_extra(tmp_path):
    _stage(tmp_path, "side", folder="torchmodels_toexport_extra")
    list(publish.export_all(str(tmp_path), _cfg(tmp_path, useGating=True)))
    assert (tmp_path / "models_extra" / "side" / "model.bin.gz").exists()


@pytest.mark.parametrize("where", ["models", "modelstobetested", "rejectedmodels"])
def test_a_taken_name_is_not_exported(tmp_path, where, caplog):
    _stage(tmp_path, "m1")
    (tmp_path / where / "m1").mkdir(parents=True)
    caplog.set_level(logging.WARNING)
    assert list(publish.export_all(str(tmp_path), _cfg(tmp_path))) == []
    assert os.listdir(tmp_path / where / "m1") == []                  # untouched
    assert (tmp_path / "torchmodels_toexport" / "m1" / "model.ckpt").exists()   # kept, not lost
    (record,) = [r for r in caplog.records if "the name is taken" in r.getMessage()]
    assert vars(record)[FIELDS]["name"] == "m1"


def test_corrupt_checkpoint_is_moved_aside_and_the_rest_exported(tmp_path, caplog):
    bad = _stage(tmp_path, "bad", mtime=1_000_000_000)
    data = (bad / "model.ckpt").read_bytes()
    (bad / "model.ckpt").write_bytes(data[: len(data) // 3])           # truncated
    _stage(tmp_path, "good", mtime=2_000_000_000)
    caplog.set_level(logging.ERROR)
    done = list(publish.export_all(str(tmp_path), _cfg(tmp_path)))
    assert [os.path.basename(d) for d in done] == ["good"]
    moved = tmp_path / "torchmodels_failed" / "bad" / "model.ckpt"
    assert moved.read_bytes() == data[: len(data) // 3]               # moved, not modified
    (record,) = [r for r in caplog.records if "moved aside" in r.getMessage()]
    fields = vars(record)[FIELDS]
    assert fields["name"] == "bad" and "model.ckpt" in fields["reason"]
    assert not (tmp_path / "models" / "bad").exists()


def test_a_failed_export_publishes_nothing_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    _stage(tmp_path, "m1")

    def full_disk(model, path, *a, **k):
        with open(path, "wb") as f:
            f.write(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "save_model_file", full_disk)
    with pytest.raises(publish.ExportError, match="No space left"):
        list(publish.export_all(str(tmp_path), _cfg(tmp_path)))
    assert not (tmp_path / "models" / "m1").exists()
    assert os.listdir(tmp_path / "torchmodels_toexport") == ["m1"]     # no .exported litter
    assert (tmp_path / "torchmodels_toexport" / "m1" / "model.ckpt").read_bytes() == KATAGO_CKPT.read_bytes()


def test_a_kill_between_publish_and_cleanup_is_finished_on_restart(tmp_path):
    """Killed after the rename but before the checkpoint was removed: the next pass sees its own
    export in models/ and removes the leftover checkpoint instead of reporting a clash."""
    _stage(tmp_path, "m1")
    list(publish.export_all(str(tmp_path), _cfg(tmp_path)))
    published = (tmp_path / "models" / "m1" / "model.bin.gz").read_bytes()
    _stage(tmp_path, "m1")                                              # as if never removed
    (tmp_path / "torchmodels_toexport" / "m1.exported").mkdir()         # and a stale work dir
    assert list(publish.export_all(str(tmp_path), _cfg(tmp_path))) == []
    assert not (tmp_path / "torchmodels_toexport" / "m1").exists()
    assert (tmp_path / "models" / "m1" / "model.bin.gz").read_bytes() == published


def test_cli_export_once(tmp_path):
    _stage(tmp_path, "m1")
    result = CliRunner().invoke(main, ["export", "--base-dir", str(tmp_path), "--name-prefix",
                                       "demo", "--use-gating", "--once"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "modelstobetested" / "m1" / "model.bin.gz").exists()
    bad = CliRunner().invoke(main, ["export", "--base-dir", str(tmp_path), "--name-prefix",
                                    "bad name", "--once"])
    assert bad.exit_code != 0 and "namePrefix" in bad.output


def test_an_average_of_no_snapshot_exports_the_trained_weights(tmp_path):
    """AveragedModel starts as a copy of the initial net: before the first snapshot the EMA is
    the random init, and exporting it would throw the training away."""
    state = torch.load(_checkpoint_with_distinct_ema(tmp_path / "s.ckpt"), weights_only=True)
    state["swa_model"]["n_averaged"] = torch.tensor(0)
    torch.save(state, tmp_path / "fresh.ckpt")
    _stage(tmp_path, "m1", tmp_path / "fresh.ckpt")
    list(publish.export_all(str(tmp_path), _cfg(tmp_path)))
    model, _ = load_model_file(tmp_path / "models" / "m1" / "model.bin.gz")
    raw = load_checkpoint_model(str(tmp_path / "fresh.ckpt"), use_swa=False, pos_len=19)
    spatial, glob = _inputs()
    torch.testing.assert_close(_engine(model, spatial, glob).value, _engine(raw, spatial, glob).value,
                               atol=1e-5, rtol=1e-5)
    assert "training weights" in (tmp_path / "models" / "m1" / "log.txt").read_text()
