"""The optimizer's schedule values against model-architecture.md §7, worked out by hand; the
lookahead and EMA rules; SGD groups in KataGo's order; AdamW trains."""
import math

import pytest
import torch
from trainer_testdata import write_shuffle

from goloop.common.config import load_config
from goloop.common.nn.model import Model
from goloop.common.nn.modelconfigs import config_of_name
from goloop.common.nn.paramnames import katago_layout
from goloop.trainer import optim
from goloop.trainer.config import TrainConfig
from goloop.trainer.daemon import run_train


@pytest.mark.parametrize("samples, scale", [(0, 1 / 20), (249999, 1 / 20), (250000, 1 / 14), (999999, 1 / 7),
                                            (1000000, 1 / 5), (1749999, 1 / 2), (1999999, 1 / 1.4),
                                            (2000000, 1.0), (10 ** 9, 1.0)])
def test_warmup_table(samples, scale):
    assert optim.warmup_scale(samples) == scale
    assert optim.warmup_scale(samples, disabled=True) == 1.0


def test_lr_schedules():
    points = optim.parse_lr_schedule("(0,12.0),(20M,9.0);(1.5B,0.5)")
    assert points == [(0, 12.0), (20_000_000, 9.0), (1_500_000_000, 0.5)]
    assert optim.lr_schedule_factor(19_999_999, False, None, points) == 12.0
    assert optim.lr_schedule_factor(20_000_000, False, None, points) == 9.0
    assert optim.lr_schedule_factor(0, True, None, None) == 8.0
    assert optim.lr_schedule_factor(6_400_000_000, True, None, None) == 0.5
    assert optim.lr_schedule_factor(45_000_000, False, 2.0, None) == 12.0
    assert optim.lr_schedule_factor(1, False, None, None) == 1.0
    with pytest.raises(ValueError):
        optim.parse_lr_schedule("(5,1.0)")


def test_weight_decay_values():
    # fixup, batch 256: 1e-6 for weights, 1e-8 for biases; B/256 and the command-line factors scale them
    assert optim.weight_decay("normal", "fixup", 256, 1.0, 1 / 20) == pytest.approx(1e-6)
    assert optim.weight_decay("output_noreg", "fixup", 128, 1.0, 1.0) == pytest.approx(0.5e-8)
    assert optim.weight_decay("input", "fixscale", 512, 1.0, 1.0, input_wd_factor=3.0) == pytest.approx(6e-6)
    # batch norm: 0.00125 x (lr scale x warmup)^0.75 x adaptive x group factor
    got = optim.weight_decay("normal_gamma", "bnorm", 256, 2.0, 0.5, adaptive=1.5)
    assert got == pytest.approx(0.00125 * 1.0 ** 0.75 * 1.5 * 0.125)
    assert optim.weight_decay("noreg", "fixscaleonenorm", 512, 4.0, 1.0) == pytest.approx(2e-6 * 4.0 ** 0.75)
    assert optim.weight_decay("output", "bnorm", 256, 4.0, 1.0) == pytest.approx(1e-6)
    assert optim.weight_decay("normal", "fixup", 1024, 1.0, 1.0, adamw=True) == pytest.approx(0.005 * 2.0)
    assert optim.adaptive_wd_scale(None, 3.0) == 1.0
    assert optim.adaptive_wd_scale(3.0, 3.0) == pytest.approx(1.0)
    assert optim.adaptive_wd_scale(6.0, 3.0) == pytest.approx(2 ** (2 * math.tanh(3 * math.log(2))))


def test_gradient_clip_threshold():
    assert optim.gnorm_cap("fixup", False, 1.0, 256, 1.0) == 2500.0
    assert optim.gnorm_cap("fixscaleonenorm", False, 2.0, 64, 0.25) == pytest.approx(2500 * 2 * 0.5 / 0.5)
    assert optim.gnorm_cap("bnorm", False, 1.0, 1024, 1.0) == pytest.approx(11000.0)
    assert optim.gnorm_cap("fixup", True, 1.0, 256, 1.0) == 11000.0


class _Cfg:
    no_lr_warmup = False
    use_adamw = False
    head_lr_factor = 0.5
    noreg_lr_factor = 0.25
    lookahead_enabled = True
    lookahead_alpha = 0.5
    input_wd_factor = 1.0
    normal_wd_factor = 1.0


def test_groups_follow_katagos_order_and_get_their_learning_rates():
    model = Model(config_of_name("b2c16"), pos_len=9, init=False)
    layout, _ = katago_layout(model)
    opt = optim.make_optimizer(model, layout, adamw=False)
    names = [g["group_name"] for g in opt.param_groups]
    assert names == ["input", "normal", "normal_gamma", "noreg", "output", "output_noreg"]
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))
    pslr, wd = optim.refresh(opt, samples=300_000, lr_factor=2.0, cfg=_Cfg(), norm_kind="fixup",
                             batch_total=128, norms={}, baselines={"normal": 1.0, "input": 1.0})
    assert pslr == pytest.approx(3e-5 * 2.0 / 14)
    lr = {g["group_name"]: g["lr"] for g in opt.param_groups}
    assert lr["normal"] == pytest.approx(3e-5 * 2.0 / 14 / 0.5)          # divided by lookahead alpha
    assert lr["output"] == pytest.approx(lr["normal"] * 0.5)
    assert lr["noreg"] == pytest.approx(lr["normal"] * 0.25)
    assert lr["output_noreg"] == pytest.approx(lr["normal"] * 0.125)
    assert wd == pytest.approx(1e-6 * 0.5)


def test_lookahead_syncs_every_k_steps_and_discards_the_rest():
    p = torch.nn.Parameter(torch.zeros(2))
    la = optim.Lookahead([p], k=3, alpha=0.5)
    steps = []
    for i in range(1, 5):
        with torch.no_grad():
            p.add_(1.0)
        steps.append(la.step())
        if i == 3:
            assert torch.equal(p.detach(), torch.full((2,), 1.5))   # slow 0 -> 0 + 0.5 * (3 - 0)
    assert steps == [False, False, True, False]
    assert torch.equal(p.detach(), torch.full((2,), 2.5))
    la.discard()
    assert torch.equal(p.detach(), torch.full((2,), 1.5))


def test_ema_moves_one_eighth_toward_the_weights():
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(8.0)
    ema = optim.make_ema(model, 8.0)
    ema.update_parameters(model)                   # the first snapshot copies
    with torch.no_grad():
        model.weight.fill_(16.0)
    ema.update_parameters(model)
    assert float(ema.module.weight.detach()) == pytest.approx(8.0 + (16.0 - 8.0) / 8)


def test_adamw_trains(tmp_path):
    write_shuffle(tmp_path / "data", (0, 256))
    cfg = load_config(TrainConfig, None, dict(traindir=str(tmp_path / "t"), datadir=str(tmp_path / "data"),
                                              pos_len=9, batch_size=64, samples_per_epoch=256, model_kind="b1c6nbt",
                                              max_epochs_this_instance=1, use_adamw=True, no_export=True,
                                              cpu_threads=1, seed=1))
    assert run_train(cfg, progress=False) == 0
    state = torch.load(tmp_path / "t" / "checkpoint.ckpt", weights_only=True)
    assert state["train_state"]["optimizer_name"] == "AdamW"
    assert "exp_avg" in next(iter(state["optimizer"]["state"].values()))
