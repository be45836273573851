"""Reading and writing KataGo model files, checked against KataGo's own outputs.

The golden tests build the inputs of an empty board by hand (input-features-v7.md §2: plane 0 =
on board, no stones so every other plane is 0; globals 5-8 and 18 from komi and rules) so they
test the loader and the forward pass alone, against `kata-raw-nn 0` of the real engine.
"""
import gzip
import json
import math
import os
import pathlib
import struct

import pytest
import torch

from goloop.common.nn.model import Model
from goloop.common.nn.modelconfigs import config_of_name
from goloop.common.nn.modelfile import (
    ModelFileError,
    load_model_file,
    read_model_file,
    save_model_file,
)
from goloop.common.nn.modelfile.write import encode_model

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared"
MODELS = SHARED / "models"
G170 = MODELS / "g170-b6c96-s175395328-d26788732.bin.gz"
B10C384 = MODELS / "b10c384h6nbttflrs.bin.gz"


@pytest.fixture(scope="module")
def g170():
    return load_model_file(G170)


@pytest.fixture(scope="module")
def b10c384():
    return load_model_file(B10C384)


def _random_inputs(n=3, size=9, seed=1):
    g = torch.Generator().manual_seed(seed)
    spatial = (torch.rand(n, 22, size, size, generator=g) < 0.2).float()
    spatial[:, 0] = 1
    return spatial, torch.randn(n, 19, generator=g)


def _engine(model, spatial, glob):
    with torch.inference_mode():
        return model.engine_output(model(spatial, glob))


# ------------------------------------------------------------------------------------------------
# Real nets


def test_g170_loads_completely(g170):
    model, info = g170
    assert (info.name, info.version) == ("g170-b6c96-s175395328-d26788732", 8)
    assert info.unread_bytes == 0 and info.binary_floats
    assert (info.policy_channels, info.has_optimistic_policy, info.score_values) == (1, False, 4)
    assert info.multipliers.shortterm_score_error == 30.0 and info.multipliers.lead == 20.0
    assert info.num_parameters == 1_027_911            # KataGo's count (MODELS_NOTE.md)
    assert info.trunk_norm == "batchnorm"
    config = model.config
    assert (config.initial_conv_size, config.trunk_channels, len(config.blocks)) == (5, 96, 6)
    assert [b.gpool_channels for b in config.blocks] == [0, 0, 32, 0, 32, 0]
    assert not config.pass_hidden and config.moremisc_outputs == 0


def test_b10c384_loads_completely(b10c384):
    model, info = b10c384
    assert (info.name, info.version, info.unread_bytes) == ("b10c384h6nbttflrs", 15, 0)
    assert (info.policy_channels, info.has_optimistic_policy, info.score_values) == (2, True, 6)
    assert info.multipliers.shortterm_score_error == 150.0 and info.multipliers.variance_time == 40.0
    assert info.trunk_norm == "rmsnorm" and model.config.trunk_tip == "rmsnorm_spatial"
    assert model.config.activation == "silu"
    inner = model.config.blocks[0].inner
    assert [type(b).__name__ for b in inner] == ["AttentionSpec", "FFNSpec"] * 2
    assert (inner[0].num_heads, inner[0].num_kv_heads, inner[0].q_head_dim, inner[0].rope) == (6, 6, 32, "learnable")
    assert inner[1].ffn_channels == 512


@pytest.mark.parametrize("file, version, params", [
    ("b7c96h3tfrs-test5-cnorm.bin.gz", 17, 818_953),
    ("b7c96h6kv3qk32v16tflrs-fson-bnh.bin.gz", 17, 851_881),
])
def test_version_17_transformer_test_nets_load(file, version, params):
    model, info = load_model_file(MODELS / file)
    assert (info.version, info.num_parameters, info.unread_bytes) == (version, params, 0)
    spatial, glob = _random_inputs(2)
    out = _engine(model, spatial, glob)
    assert out.policy.shape == (2, 2, 82) and torch.isfinite(out.policy).all()


def _empty_board_inputs(size, komi, rules):
    """Empty board, black to move (input-features-v7.md §2)."""
    spatial = torch.zeros(1, 22, size, size)
    spatial[:, 0] = 1
    glob = torch.zeros(1, 19)
    self_komi = -komi                     # komi from black's view
    glob[0, 5] = self_komi / 20
    if rules == "tromp-taylor":           # positional ko, suicide allowed, area scoring
        glob[0, 6], glob[0, 7], glob[0, 8] = 1.0, 0.5, 1.0
    area = size * size
    floor = 2 * math.floor(self_komi / 2) if area % 2 == 0 else 2 * math.floor((self_komi - 1) / 2) + 1
    d = min(max(self_komi - floor, 0.0), 2.0)
    glob[0, 18] = d if d < 0.5 else (1 - d if d < 1.5 else d - 2)
    return spatial, glob


@pytest.mark.parametrize("net, reference", [
    ("g170", "rawnn_9x9_empty_komi7_tromptaylor.json"),
    ("g170", "rawnn_19x19_empty_komi7.5_chinese.json"),
    ("b10c384", "rawnn_b10c384_9x9_empty_komi7_tromptaylor.json"),
])
def test_empty_board_matches_katago(net, reference, request):
    model, info = request.getfixturevalue(net)
    ref = json.loads((SHARED / "reference" / reference).read_text())
    expected = ref["outputs"]
    spatial, glob = _empty_board_inputs(ref["board_size"], ref["komi"], ref["rules"])
    out = _engine(model, spatial, glob)
    logits = out.policy[0].double()
    if info.has_optimistic_policy:
        logits = logits[0] + (logits[1] - logits[0]) * 0.2    # GTP root policy optimism
    else:
        logits = logits[0]
    policy = torch.softmax(logits, dim=0)
    assert policy[:-1].tolist() == pytest.approx(expected["policy"], abs=1e-4)
    assert policy[-1].item() == pytest.approx(expected["policyPass"], abs=1e-4)
    value = out.value[0].double()
    if ref["rules"] == "tromp-taylor":    # positional ko + area scoring: no result impossible
        value = value[:2]
    probs = torch.softmax(value, dim=0)
    # Black is to move: White wins when the net's player loses.
    assert probs[1].item() == pytest.approx(expected["whiteWin"], abs=1e-4)
    assert probs[0].item() == pytest.approx(expected["whiteLoss"], abs=1e-4)
    lead = -out.score_values[0, 2].item() * info.multipliers.lead
    assert lead == pytest.approx(expected["whiteLead"], abs=0.01)
    ownership = -torch.tanh(out.ownership[0, 0].double()).flatten()
    assert ownership.tolist() == pytest.approx(expected["whiteOwnership"], abs=1e-4)


# ------------------------------------------------------------------------------------------------
# Writing and round trips


def test_g170_round_trip(g170, tmp_path):
    model, _ = g170
    path = tmp_path / "g170.bin.gz"
    save_model_file(model, path, "g170-again")
    again, info = load_model_file(path)
    assert (info.version, info.policy_channels, info.score_values, info.unread_bytes) == (15, 2, 6, 0)
    spatial, glob = _random_inputs()
    before, after = _engine(model, spatial, glob), _engine(again, spatial, glob)
    torch.testing.assert_close(after.policy[:, :1], before.policy, atol=1e-5, rtol=1e-5)
    # No optimistic channel: the first is written twice (equal up to the conv kernel's rounding,
    # which with one thread may differ between output channels).
    torch.testing.assert_close(after.policy[:, 0], after.policy[:, 1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(after.value, before.value, atol=1e-6, rtol=0)
    torch.testing.assert_close(after.score_values[:, :4], before.score_values, atol=1e-6, rtol=0)
    torch.testing.assert_close(after.ownership, before.ownership, atol=1e-6, rtol=0)
    # Writing the reloaded net again gives the same bytes (deterministic gzip, stable records).
    save_model_file(again, tmp_path / "g170b.bin.gz", "g170-again")
    assert (tmp_path / "g170b.bin.gz").read_bytes() == path.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["g170.bin.gz", "g170b.bin.gz"]   # no temp files left


@pytest.mark.parametrize("version", [8, 9, 10, 11, 12, 13, 14, 17])
def test_g170_through_every_version_layout(g170, version, tmp_path):
    """The writer can express g170 in each version's layout (activation kinds from 11, optimistic
    channel from 12, multipliers from 13, pass MLP from 15, reserved fields at 17), so this
    reaches the reader's code for each one."""
    model, _ = g170
    path = tmp_path / "g170.bin"
    save_model_file(model, path, "g170", version=version)
    again, info = load_model_file(path)
    assert (info.version, info.unread_bytes) == (version, 0)
    assert info.policy_channels == (1 if version <= 11 else 2)
    assert info.score_values == (4 if version == 8 else 6)
    assert info.multipliers.shortterm_score_error == 30.0
    spatial, glob = _random_inputs()
    before, after = _engine(model, spatial, glob), _engine(again, spatial, glob)
    torch.testing.assert_close(after.policy[:, :1], before.policy, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(after.value, before.value)
    torch.testing.assert_close(after.score_values[:, :4], before.score_values)
    torch.testing.assert_close(after.ownership, before.ownership)


def _perturbed(name, seed=0):
    """A freshly initialised net with every weight and statistic moved off its init value."""
    torch.manual_seed(seed)
    model = Model(config_of_name(name))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        for buffer_name, b in model.named_buffers():
            if buffer_name.endswith("running_std"):
                b.copy_(torch.rand_like(b) + 0.5)
            elif buffer_name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.1)
    return model.eval()


@pytest.mark.parametrize("name, file, version", [
    ("b6c96", "net.bin.gz", 15),
    ("b6c96", "net.bin", 17),
    ("b2c16-bn-mish", "net.txt", 15),
    ("b2c16-fson-silu-bnh", "net.txt.gz", 15),
    ("b1c6nbt-fs", "net.gz", 15),
    ("b7c96h3tfrs", "net.bin", 17),
])
def test_our_nets_round_trip(name, file, version, tmp_path):
    model = _perturbed(name)
    save_model_file(model, tmp_path / file, "roundtrip", version=version)
    again, info = load_model_file(tmp_path / file)
    assert (info.version, info.unread_bytes, info.binary_floats) == (version, 0, ".txt" not in file)
    spatial, glob = _random_inputs()
    before, after = _engine(model, spatial, glob), _engine(again, spatial, glob)
    for a, b in zip(after, before):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=2e-5)


def _tokens_without_floats(data: bytes) -> list[str]:
    """Token skeleton of a text-float file: float arrays are the lines holding spaces."""
    return [line for line in data.decode("ascii").split("\n") if line and " " not in line]


def test_writer_emits_the_documented_b6c96_stream():
    """model-file-format.md §9: the v15 record stream KataGo's exporter writes for b6c96."""
    tokens = _tokens_without_floats(encode_model(Model(config_of_name("b6c96")), "net", 15, False))
    assert tokens[:19] == ["net", "15", "22", "19", "20.0", "20.0", "20.0", "20.0", "40.0", "0.25",
                           "150.0", "0", "0", "0", "0", "0", "0", "0", "0"]
    assert tokens[19:32] == ["model.trunk", "6", "96", "96", "64", "32", "32", "0", "0", "0", "0", "0", "0"]
    kinds = [t for t in tokens if t.endswith("_block")]
    assert kinds == ["ordinary_block", "ordinary_block", "gpool_block", "ordinary_block", "gpool_block",
                     "ordinary_block"]
    def record(name):
        i = tokens.index(name)
        return tokens[i + 1:i + 5]
    assert record("model.blocks.0.norm1") == ["96", "1e-20", "0", "1"]
    assert record("model.blocks.0.norm2") == ["96", "1e-20", "1", "1"]
    assert record("model.blocks.2.conv1") == ["3", "3", "96", "64"]
    assert record("model.blocks.2.gpool.conv") == ["3", "3", "96", "32"]
    assert record("model.blocks.2.gpool.linear")[:2] == ["96", "64"]
    assert record("model.norm_trunkfinal") == ["96", "1e-20", "0", "1"]
    assert record("model.policy_head.conv2p") == ["1", "1", "32", "2"]
    assert record("model.policy_head.linear_pass")[:2] == ["96", "32"]
    assert record("model.policy_head.act_pass")[:1] == ["ACTIVATION_RELU"]
    assert record("model.policy_head.linear_pass2")[:2] == ["32", "2"]
    assert record("model.value_head.linear_miscvaluehead")[:2] == ["64", "6"]
    assert tokens[-7:] == ["model.value_head.conv_ownership", "1", "1", "32", "1", "1", "1"]


def test_bad_save_requests(tmp_path):
    model = Model(config_of_name("b2c16"))
    for name in ("has.dot", "", "x" * 97, "spa ce"):
        with pytest.raises(ValueError):
            save_model_file(model, tmp_path / "n.bin.gz", name)
    with pytest.raises(ValueError):
        save_model_file(model, tmp_path / "n.zip", "ok")
    for version in (7, 14, 16, 18):   # too old; no pass MLP before 15; 16 needs q values; too new
        with pytest.raises(ValueError):
            save_model_file(model, tmp_path / "n.bin", "ok", version=version)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------------------------
# Broken files


@pytest.fixture(scope="module")
def tiny():
    """An uncompressed binary file of a small net, to damage."""
    return encode_model(_perturbed("b2c16"), "tiny", 15, True)


def _load_error(tmp_path, data: bytes, name="bad.bin") -> ModelFileError:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ModelFileError) as caught:
        load_model_file(path)
    assert str(path) in str(caught.value)
    return caught.value


def test_truncated_files(tiny, tmp_path):
    for cut in (0, 3, 10, 60, len(tiny) // 3, len(tiny) // 2, len(tiny) - 2):
        error = _load_error(tmp_path, tiny[:cut])
        assert error.offset is not None and error.offset <= cut, (cut, error)
        assert "ends" in error.reason, (cut, error)
    error = _load_error(tmp_path, tiny[:len(tiny) // 2])
    assert error.layer is not None
    text = encode_model(_perturbed("b2c16"), "tiny", 15, False)
    assert "ends" in _load_error(tmp_path, text[:len(text) // 2], "bad.txt").reason
    gz = gzip.compress(tiny)
    error = _load_error(tmp_path, gz[:len(gz) // 2], "bad.bin.gz")
    assert "truncated" in error.reason and error.offset > 0
    corrupt = bytearray(gz)
    corrupt[len(gz) // 2:len(gz) // 2 + 8] = b"\xff" * 8
    assert "gzip" in _load_error(tmp_path, bytes(corrupt), "bad.bin.gz").reason


@pytest.mark.parametrize("old, new, words", [
    (b"tiny\n15\n", b"tiny\n99\n", "newer"),
    (b"tiny\n15\n", b"tiny\n7\n", "older than V7"),
    (b"tiny\n15\n22\n", b"tiny\n15\n23\n", "numInputChannels"),
    (b"tiny\n15\n22\n19\n20.0", b"tiny\n15\n22\n19\nnan", "not finite"),
    (b"tiny\n15\n22\n19\n20.0", b"tiny\n15\n22\n19\n-1.0", "must be positive"),
    (b"150.0\n0\n", b"150.0\n1\n", "metadata encoder"),
    (b"150.0\n0\n0\n0\n", b"150.0\n0\n0\n1\n", "must be 0"),
    (b"tiny\n", b"bad.name\n", "model name"),
    (b"ordinary_block", b"mystery_block", "unknown block kind"),
    (b"ACTIVATION_RELU", b"ACTIVATION_MISH", "mixed activations"),
    (b"ACTIVATION_RELU", b"ACTIVATION_GELU", "unknown activation"),
    (b"model.blocks.1.gpool.conv\n3\n3\n16\n8\n", b"model.blocks.1.gpool.conv\n3\n3\n8\n16\n",
     "gpoolConv.inChannels (8) != preBN.numChannels (16)"),
    (b"model.norm_trunkfinal\n16\n1e-20", b"model.norm_trunkfinal\n16\n0.0", "epsilon"),
    (b"model.blocks.0.conv1\n3\n3", b"model.blocks.0.conv1\n2\n2", "odd"),
])
def test_damaged_headers_and_records(tiny, tmp_path, old, new, words):
    assert old in tiny
    error = _load_error(tmp_path, tiny.replace(old, new, 1))
    assert words in str(error)
    assert error.offset is not None or error.layer is not None


def test_non_finite_weight_names_layer_and_offset(tiny, tmp_path):
    record = b"model.blocks.0.norm2\n16\n1e-20\n1\n1\n"
    start = tiny.index(record) + len(record)
    assert tiny[start:start + 5] == b"@BIN@"
    value = start + 5 + 4 * 3                       # the 4th mean value
    data = tiny[:value] + struct.pack("<f", float("nan")) + tiny[value + 4:]
    error = _load_error(tmp_path, data)
    assert (error.layer, error.offset) == ("model.blocks.0.norm2", value)
    assert "not finite" in error.reason


def test_trailing_bytes_are_reported_not_fatal(tiny, tmp_path):
    path = tmp_path / "extra.bin"
    path.write_bytes(tiny + b"junk\n")
    assert load_model_file(path)[1].unread_bytes == 4


def test_file_kinds_by_name(tiny, tmp_path):
    text = encode_model(_perturbed("b2c16"), "tiny", 15, False)
    (tmp_path / "t.gz").write_bytes(gzip.compress(text))       # ambiguous .gz: binary, then text
    assert read_model_file(tmp_path / "t.gz").binary_floats is False
    (tmp_path / "T.BIN").write_bytes(tiny)                     # suffixes are case-insensitive
    assert read_model_file(tmp_path / "T.BIN").binary_floats is True
    error = _load_error(tmp_path, tiny, "model.zip")
    assert "must end with" in error.reason
    error = _load_error(tmp_path, gzip.compress(b"tiny\n15\n22\n19\nnonsense"), "both.gz")
    assert "neither binary nor text" in error.reason
    assert "binary file read as text" in _load_error(tmp_path, tiny, "binary.txt").reason
