"""trainer/sgd.py against torch.optim.SGD (what KataGo trains with): the same numbers to the bit
over steps with per-group lr and weight decay and a parameter without a gradient, and state
dicts that each loads from the other."""
import pytest
import torch

from goloop.trainer.sgd import SGD


def _net(seed: int):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))


def _groups(net):
    a, b, c, d = net.parameters()
    return [{"params": [a, c], "group_name": "normal"}, {"params": [b, d], "group_name": "noreg"}]


def _train(net, opt, steps: int, start: int = 0, skip_last_at: int = -1):
    g = torch.Generator().manual_seed(99)
    for step in range(start + steps):
        x = torch.randn(16, 5, generator=g)
        if step < start:
            continue
        for i, group in enumerate(opt.param_groups):   # the schedule changes lr and wd as refresh does
            group["lr"] = 0.01 * (1 + step % 3) * (i + 1)
            group["weight_decay"] = 0.0 if i else 1e-3 * (step + 1)
        opt.zero_grad(set_to_none=True)
        net(x).square().sum().backward()
        if step == skip_last_at:
            net[2].bias.grad = None     # a parameter without a gradient is left alone
        opt.step()


def _same(a, b) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_matches_torch_sgd_bit_for_bit():
    ours, theirs = _net(1), _net(1)
    o = SGD(_groups(ours), lr=1.0, momentum=0.9)
    t = torch.optim.SGD(_groups(theirs), lr=1.0, momentum=0.9)
    _train(ours, o, 6, skip_last_at=2)
    _train(theirs, t, 6, skip_last_at=2)
    assert _same(ours, theirs)
    assert not _same(ours, _net(1))


@pytest.mark.parametrize("first", ["ours", "torch"])
def test_state_dicts_interchange(first):
    """Train 3 steps with one, move the state to the other, train 3 more: equals 6 steps of torch."""
    make = {"ours": lambda g: SGD(g, lr=1.0, momentum=0.9), "torch": lambda g: torch.optim.SGD(g, lr=1.0, momentum=0.9)}
    second = "torch" if first == "ours" else "ours"
    a = _net(2)
    opt_a = make[first](_groups(a))
    _train(a, opt_a, 3)
    sd = opt_a.state_dict()
    b = _net(0)
    b.load_state_dict(a.state_dict())
    opt_b = make[second](_groups(b))
    opt_b.load_state_dict(sd)
    _train(b, opt_b, 3, start=3)
    ref = _net(2)
    ref_opt = torch.optim.SGD(_groups(ref), lr=1.0, momentum=0.9)
    _train(ref, ref_opt, 6)
    assert _same(b, ref)
    assert [g["group_name"] for g in opt_b.state_dict()["param_groups"]] == ["normal", "noreg"]


def test_state_dict_layout_is_torchs():
    net = _net(3)
    ours, theirs = SGD(_groups(net), lr=1.0, momentum=0.9), torch.optim.SGD(_groups(_net(3)), lr=1.0, momentum=0.9)
    _train(net, ours, 1)
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    assert [sorted(g) for g in sd_o["param_groups"]] == [sorted(g) for g in sd_t["param_groups"]]
    assert [g["params"] for g in sd_o["param_groups"]] == [[0, 1], [2, 3]]
    assert sorted(sd_o["state"]) == [0, 1, 2, 3]
    assert set(sd_o["state"][0]) == {"momentum_buffer"}


def test_mismatched_state_is_refused_and_changes_nothing():
    net = _net(4)
    opt = SGD(_groups(net), lr=1.0, momentum=0.9)
    _train(net, opt, 1)
    before = {k: v.clone() for k, v in opt.buffers.items()}
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="groups"):
        opt.load_state_dict({"state": sd["state"], "param_groups": sd["param_groups"][:1]})
    bad = {"state": dict(sd["state"]), "param_groups": sd["param_groups"]}
    bad["state"][0] = {"momentum_buffer": torch.zeros(2, 2)}
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(bad)
    assert all(torch.equal(before[p], opt.buffers[p]) for p in before)
