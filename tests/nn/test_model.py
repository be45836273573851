"""The PyTorch net: configs by name, parameter counts, masking, init and training-mode behaviour.

Parameter counts are KataGo's: its own `Model(config_of_name[name])` has exactly these numbers of
trainable parameters (1,004,333 for b6c96 is also stated in model-architecture.md §1).
"""
import math

import pytest
import torch

from goloop.common.nn.model import (
    MaskInfo,
    Model,
    ModelOutput,
    NormMask,
    count_parameters,
    global_pool,
)
from goloop.common.nn.modelconfigs import (
    AttentionSpec,
    FFNSpec,
    NestedBlockSpec,
    ResBlockSpec,
    config_of_name,
)


def _inputs(n, size, seed=0, board=None):
    """Random stone-like planes on a size x size tensor; the board may be a smaller corner."""
    g = torch.Generator().manual_seed(seed)
    spatial = (torch.rand(n, 22, size, size, generator=g) < 0.2).float()
    spatial[:, 0] = 0
    board = board or size
    spatial[:, 0, :board, :board] = 1
    spatial *= spatial[:, 0:1].clone()
    return spatial, torch.randn(n, 19, generator=g)


@pytest.mark.parametrize("name, params", [
    ("b6c96", 1_004_333), ("b10c128", 2_962_049), ("b6c96-bn", 1_003_821),
    ("b6c96-fson-mish-bnh", 1_034_586), ("b6c96-ih", 1_033_850), ("b6c96-rsnh", 1_004_429),
    ("b1c6nbt-bng", 2_587), ("b7c96h3tfrs", 825_837), ("b7c96h6kv3qk32v16tflrs-fson-bnh", 888_378),
])
def test_parameter_counts_match_katago(name, params):
    assert count_parameters(Model(config_of_name(name), init=False)) == params


def test_large_config_parameter_counts():
    assert count_parameters(Model(config_of_name("b15c192"), init=False)) == 9_878_613
    assert count_parameters(Model(config_of_name("b18c384nbt"), init=False)) == 26_396_325


def test_config_names_and_suffixes():
    base = config_of_name("b6c96")
    assert (base.norm_kind, base.activation, base.trunk_channels, len(base.blocks)) == ("fixup", "relu", 96, 6)
    assert [b.gpool_channels for b in base.blocks] == [0, 0, 32, 0, 32, 0]
    assert base.blocks[2] == ResBlockSpec(64, 32)
    nbt = config_of_name("b18c384nbt")
    assert isinstance(nbt.blocks[2], NestedBlockSpec)
    assert nbt.blocks[2].inner == (ResBlockSpec(128, 64), ResBlockSpec(192))
    assert sum(1 for b in nbt.blocks if b.inner[0].gpool_channels) == 5
    fson = config_of_name("b10c128-fson-mish-bnh")
    assert (fson.norm_kind, fson.bnorm_use_gamma, fson.activation) == ("fixscaleonenorm", True, "mish")
    assert (fson.trunk_tip, fson.intermediate_head_blocks) == ("bias", 10)
    assert config_of_name("b6c96-bn-silu").norm_kind == "bnorm"
    assert config_of_name("b6c96-ih").intermediate_head_blocks == 3
    hybrid = config_of_name("b10c384h6nbttflrs")
    assert hybrid.blocks[0].inner == (AttentionSpec(6, 6, 32, 32), FFNSpec(512)) * 2


@pytest.mark.parametrize("name", ["b6c96-elu", "b6c96-brn", "b6c96-bnh", "b7c200", "b6c96-mish-bn", ""])
def test_bad_config_names_are_refused(name):
    with pytest.raises(ValueError):
        config_of_name(name)


def test_output_structure():
    model = Model(config_of_name("b6c96"), pos_len=9).eval()
    spatial, glob = _inputs(2, 9)
    out = model(spatial, glob)
    assert isinstance(out, ModelOutput)
    shapes = {k: tuple(v.shape) for k, v in out._asdict().items() if v is not None}
    assert shapes == {"policy": (2, 6, 82), "value": (2, 3), "misc": (2, 10), "moremisc": (2, 8),
                      "ownership": (2, 1, 9, 9), "scoring": (2, 1, 9, 9), "futurepos": (2, 2, 9, 9),
                      "seki": (2, 4, 9, 9), "scorebelief": (2, 2 * (81 + 60))}
    assert out.intermediate is None
    # Score belief is a log-distribution over its bins.
    assert torch.allclose(out.scorebelief.exp().sum(dim=1), torch.ones(2), atol=1e-5)
    engine = model.engine_output(out)
    assert torch.equal(engine.policy, out.policy[:, [0, 5]])
    assert torch.equal(engine.score_values, torch.cat((out.misc[:, :4], out.moremisc[:, :2]), dim=1))


@pytest.mark.parametrize("name", ["b6c96", "b6c96-bn", "b1c6nbt-fson-silu", "b7c96h3tfrs", "b6c96-rsnh"])
def test_small_board_in_large_tensor_matches_exact_tensor(name):
    """Masking: a 7x7 board in the corner of a 9x9 tensor gives the same on-board outputs."""
    torch.manual_seed(3)
    model = Model(config_of_name(name), pos_len=9)
    with torch.no_grad():   # move weights off their init so every layer matters
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.eval()
    big_in, glob = _inputs(2, 9, seed=4, board=7)
    small_in = big_in[:, :, :7, :7].contiguous()
    big, small = model(big_in, glob), model(small_in, glob)
    big_policy = big.policy[:, :, :81].unflatten(2, (9, 9))[:, :, :7, :7].flatten(2)
    torch.testing.assert_close(big_policy, small.policy[:, :, :49], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(big.policy[:, :, 81], small.policy[:, :, 49], atol=1e-4, rtol=1e-4)
    assert big.policy[:, :, :81].unflatten(2, (9, 9))[:, :, 8, :].max() < -1000   # off board
    for field in ("value", "misc", "moremisc"):
        torch.testing.assert_close(getattr(big, field), getattr(small, field), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(big.ownership[:, :, :7, :7], small.ownership, atol=1e-4, rtol=1e-4)
    assert big.ownership[:, :, 7:, :].abs().max() == 0


def test_global_pool_uses_on_board_points_only():
    spatial, _ = _inputs(1, 5, board=3)
    m = MaskInfo.of(spatial)
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, :3, :3] = torch.arange(9.0).view(3, 3)
    pooled = global_pool(x, m)[0]
    assert pooled[0] == pytest.approx(4.0)                              # mean over 9 points
    assert pooled[1] == pytest.approx(4.0 * (3.0 - 14.0) / 10.0)
    assert pooled[2] == pytest.approx(8.0)


def test_fixup_init_makes_every_block_an_identity():
    """Fixup zero-initialises each block's last conv, so the trunk starts as the input embedding."""
    torch.manual_seed(0)
    model = Model(config_of_name("b6c96"))
    spatial, glob = _inputs(2, 9)
    m = MaskInfo.of(spatial)
    x = torch.randn(2, 96, 9, 9)
    for block in model.blocks:
        assert block(x, m).abs().max() == 0
    # Input conv std: 0.8 * sqrt(2) / sqrt(fan_in), fan_in = 22 * 3 * 3.
    expected = 0.8 * math.sqrt(2.0) / math.sqrt(22 * 9)
    assert model.conv_spatial.weight.std().item() == pytest.approx(expected, rel=0.05)
    assert model.conv_spatial.weight.abs().max().item() <= 2 * expected / 0.8796 + 1e-6
    assert torch.all(model.blocks[0].norm2.effective_scale() == 1.0)   # centred gamma starts at 1


def test_batch_norm_statistics_ignore_off_board_points():
    spatial, _ = _inputs(2, 6, board=4)
    m = MaskInfo.of(spatial)
    x = torch.randn(2, 3, 6, 6) * 2 + 1
    junk = torch.where(m.mask > 0, x, torch.full_like(x, 50.0))
    norms = [NormMask(3, batch=True, gamma=True).train() for _ in range(2)]
    out_clean, out_junk = norms[0](x * m.mask, m), norms[1](junk, m)
    torch.testing.assert_close(out_clean, out_junk)
    torch.testing.assert_close(norms[0].running_mean, norms[1].running_mean)
    on_board = x.permute(1, 0, 2, 3)[:, m.mask[:, 0] > 0]           # C x points
    torch.testing.assert_close(norms[0].running_mean, 0.001 * on_board.mean(dim=1))
    std = on_board.var(dim=1, unbiased=False).add(1e-4).sqrt()
    torch.testing.assert_close(norms[0].running_std, 1 + 0.001 * (std - 1))
    # Eval mode uses the running statistics.
    norm = norms[0].eval()
    expected = (x - norm.running_mean.view(1, -1, 1, 1)) / norm.running_std.view(1, -1, 1, 1) * m.mask
    torch.testing.assert_close(norm(x, m), expected)


def test_intermediate_heads():
    model = Model(config_of_name("b2c16-fson-bnh"), pos_len=9).train()
    spatial, glob = _inputs(2, 9)
    out = model(spatial, glob)
    assert out.intermediate is not None and out.intermediate.intermediate is None
    assert out.intermediate.policy.shape == out.policy.shape
    assert model.intermediate_heads.norm.batch and not model.heads.norm.batch
    assert model.heads.norm.fixed_scale == pytest.approx(1 / math.sqrt(3))


def test_backward_reaches_every_parameter():
    model = Model(config_of_name("b1c6nbt-bng"), pos_len=5).train()
    spatial, glob = _inputs(3, 5)
    out = model(spatial, glob)
    loss = sum(t.float().pow(2).mean() for t in out if isinstance(t, torch.Tensor))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []


@pytest.mark.parametrize("name", ["b6c96", "b10c128-bn"])
def test_full_board_skips_the_mask_without_changing_a_bit(name, monkeypatch):
    """A batch of full boards skips the multiplies by the all-ones mask (a CPU speed-up): the
    outputs and gradients are identical to the masked computation; a smaller board keeps it."""
    spatial, glob = _inputs(4, 7)
    assert MaskInfo.of(spatial).full
    corner, _ = _inputs(4, 7, board=5)
    assert not MaskInfo.of(corner).full

    def run(force_masking: bool):
        if force_masking:
            monkeypatch.setattr(MaskInfo, "of", staticmethod(lambda s: MaskInfo(
                s[:, 0:1].contiguous(), s[:, 0:1].sum(dim=(2, 3), keepdim=True), s[:, 0:1].sum(), False)))
        else:
            monkeypatch.undo()
        torch.manual_seed(3)
        model = Model(config_of_name(name), 7).train()
        for p in model.parameters():       # away from the init's exact zeros, so every term matters
            p.data.add_(torch.randn_like(p) * 0.05)
        out = model(spatial, glob)
        tensors = [t for t in out if isinstance(t, torch.Tensor)]
        sum((t * torch.linspace(-1, 1, t.numel()).view(t.shape)).sum() for t in tensors).backward()
        return [t.detach() for t in tensors] + [p.grad for p in model.parameters()]

    masked, skipped = run(True), run(False)
    assert all(torch.equal(a, b) for a, b in zip(masked, skipped))
