"""Each KataGo loss term (model-architecture.md §6) on a tiny batch against a value worked out
by hand here, with plain math from the spec's formulas (not from trainer/loss.py)."""
import math

import pytest
import torch

from goloop.trainer import loss as L


def t(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def lse(xs):
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))


def ce(logits, target):
    z = lse(logits)
    return -sum(p * (x - z) for x, p in zip(logits, target))


def huber(x, y, d):
    a = abs(x - y)
    return 0.5 * a * a if a <= d else d * (a - d / 2)


def bce_logits(x, p):
    return max(x, 0) - x * p + math.log1p(math.exp(-abs(x)))


def approx(a, b):
    return pytest.approx(b, rel=1e-5, abs=1e-7) == float(a)


# Two rows; row 1 has row weight 0.5 (C25) and target weight 0 or 0.7.
GW = t(1.0, 0.5)


def test_policy_terms():
    logits = t([1.0, 2.0, 0.5], [0.0, -1.0, 3.0])
    target = t([0.2, 0.5, 0.3], [0.0, 0.0, 1.0])
    w = t(1.0, 0.7)
    got = L.policy_loss(logits, target, w, GW)
    for i in range(2):
        want = GW[i].item() * w[i].item() * ce(logits[i].tolist(), target[i].tolist())
        assert approx(got[i], want)
    got_opp = L.opponent_policy_loss(logits, target, w, GW)
    assert approx(got_opp[0], 0.15 * ce([1.0, 2.0, 0.5], [0.2, 0.5, 0.3]))


def test_value_and_td_value():
    logits = t([0.3, -0.2, -3.0], [1.0, 1.0, 0.0])
    target = t([0.7, 0.3, 0.0], [0.0, 1.0, 0.0])
    w = t(1.0, 1.0)
    got = L.value_loss(logits, target, w, GW)
    assert approx(got[1], 1.2 * 0.5 * ce([1.0, 1.0, 0.0], [0.0, 1.0, 0.0]))
    # TD: 1.2 x KL(target || softmax(logits)); 0 log 0 = 0.
    td_logits = torch.stack([logits, logits, logits], dim=1)
    td_target = torch.stack([target, target, target], dim=1)
    got = L.td_value_loss(td_logits, td_target, w, GW)
    p = [math.exp(x - lse([0.3, -0.2, -3.0])) for x in (0.3, -0.2, -3.0)]
    kl = 0.7 * math.log(0.7 / p[0]) + 0.3 * math.log(0.3 / p[1])
    assert got.shape == (2, 3)
    assert approx(got[0, 2], 1.2 * kl)


def test_td_score_scoremean_lead_variance_time():
    pred = t([1.0, 30.0, -5.0], [0.0, 0.0, 0.0])
    target = t([2.0, 0.0, -5.0], [13.0, 0.0, 0.0])
    w = t(1.0, 0.7)
    got = L.td_score_loss(pred, target, w, GW)
    assert approx(got[0], 0.0004 * (huber(1, 2, 12) + huber(30, 0, 12)))
    assert approx(got[1], 0.0004 * 0.5 * 0.7 * huber(0, 13, 12))
    assert approx(L.scoremean_loss(t(3.0, -20.0), t(1.0, 0.0), w, GW)[1], 0.0015 * 0.35 * huber(-20, 0, 12))
    assert approx(L.lead_loss(t(3.0, -20.0), t(1.0, 0.0), w, GW)[0], 0.006 * huber(3, 1, 8))
    assert approx(L.variance_time_loss(t(80.0, 1.0), t(0.0, 1.0), w, GW)[0], 0.0003 * huber(80, 1e-5, 50))


def _board():
    """Row 0: a full 2x2 board; row 1: a 1x2 board in the top row of the 2x2 tensor."""
    mask = t([[1.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]])
    return mask, mask.sum(dim=(1, 2))


def test_ownership_scoring_futurepos():
    mask, count = _board()
    pre = t([[[0.5, -1.0], [2.0, 0.0]]], [[[1.0, 1.0], [9.0, 9.0]]])   # N x 1 x 2 x 2
    own = t([[1.0, -1.0], [0.0, 1.0]], [[-1.0, 1.0], [0.0, 0.0]])
    w = t(1.0, 1.0)
    got = L.ownership_loss(pre, own, w, mask, count, GW)
    want0 = 1.5 * sum(bce_logits(2 * x, (1 + o) / 2) for x, o in zip((0.5, -1.0, 2.0, 0.0), (1, -1, 0, 1))) / 4
    want1 = 1.5 * 0.5 * sum(bce_logits(2 * x, (1 + o) / 2) for x, o in zip((1.0, 1.0), (-1, 1))) / 2
    assert approx(got[0], want0) and approx(got[1], want1)

    target = t([[1.0, 0.0], [0.0, 0.0]], [[0.5, 0.5], [0.0, 0.0]])
    got = L.scoring_loss(pre, target, w, mask, count, GW)
    m0 = ((0.5 - 1) ** 2 + 1 + 4 + 0) / 4
    assert approx(got[0], 4 * (math.sqrt(0.5 * m0 + 1) - 1))
    m1 = (0.25 + 0.25) / 2
    assert approx(got[1], 0.5 * 4 * (math.sqrt(0.5 * m1 + 1) - 1))

    fp_pre = torch.stack([pre[:, 0], -pre[:, 0]], dim=1)          # N x 2 x 2 x 2
    fp_target = torch.stack([own, own], dim=1)
    got = L.futurepos_loss(fp_pre, fp_target, w, mask, count, GW)
    s = sum((math.tanh(x) - o) ** 2 + 0.25 * (math.tanh(-x) - o) ** 2
            for x, o in zip((1.0, 1.0), (-1, 1)))
    assert approx(got[1], 0.25 * 0.5 * s / math.sqrt(2))


def test_seki_and_its_running_average():
    mask, count = _board()
    logits = torch.zeros(2, 4, 2, 2)
    logits[0, 0] = 1.0
    logits[0, 3] = t([[2.0, -1.0], [0.0, 0.5]])
    seki = t([[1.0, 0.0], [-1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]])
    own = t([[1.0, -1.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]])
    w = t(1.0, 1.0)
    got = L.seki_loss(logits, seki, own, w, mask, count, GW, 7.0)
    sign = 0.0
    neutral = 0.0
    for pos in range(4):
        y, x = divmod(pos, 2)
        s, o = seki[0, y, x].item(), own[0, y, x].item()
        l3 = [logits[0, c, y, x].item() for c in range(3)]
        sign += ce(l3, [1 - s * s, max(s, 0), max(-s, 0)])
        neutral += ce([logits[0, 3, y, x].item(), 0.0], [1 - o * o, o * o])
    assert approx(got[0], 7.0 * (sign + 0.5 * neutral) / 4)

    # Unowned proportion: sum(1 - own^2) / (1 + count), mean over rows of (that x C27).
    prop = L.unowned_proportion(own, t(1.0, 0.0), mask, count)
    assert approx(prop, ((2 / 5) * 1.0 + 0.0) / 2)
    avg = L.SekiAverage()
    avg.update(torch.tensor(0.2))
    assert approx(avg.weight_scale(), 8 * 0.005 / (0.005 + 0.2))   # first batch: exactly its own value
    avg.update(torch.tensor(0.1))
    ema = (0.998 * 0.2 + 0.1) / (0.998 + 1.0)
    assert approx(avg.weight_scale(), 8 * 0.005 / (0.005 + ema))


def test_score_belief_terms_and_stdev_regularizer():
    logits = t(0.0, 1.0, -1.0, 0.5)
    target = t(0.0, 0.5, 0.5, 0.0)
    w = t(1.0)
    gw = t(1.0)
    p = [math.exp(x - lse(logits.tolist())) for x in logits.tolist()]
    cdf_p = [sum(p[:i + 1]) for i in range(4)]
    cdf_t = [0.0, 0.5, 1.0, 1.0]
    assert approx(L.scorebelief_cdf_loss(logits[None], target[None], w, gw)[0],
                  0.02 * sum((a - b) ** 2 for a, b in zip(cdf_p, cdf_t)))
    assert approx(L.scorebelief_pdf_loss(logits[None], target[None], w, gw)[0], 0.02 * ce(logits.tolist(), [0, .5, .5, 0]))
    offsets = t(-1.5, -0.5, 0.5, 1.5)
    mean = sum(pi * o for pi, o in zip(p, (-1.5, -0.5, 0.5, 1.5)))
    sd = math.sqrt(0.001 + sum(pi * (o - mean) ** 2 for pi, o in zip(p, (-1.5, -0.5, 0.5, 1.5))))
    assert approx(L.scorestdev_loss(t(30.0), logits[None], offsets, gw)[0], 0.001 * huber(30, sd, 10))


def test_shortterm_errors_and_optimism_weights():
    td_logits = torch.zeros(1, 3, 3)
    td_logits[0, 2] = t(1.0, 0.0, -1.0)
    e = [math.exp(x) for x in (1.0, 0.0, -1.0)]
    pred_wl = (e[0] - e[1]) / sum(e)
    td_target = torch.zeros(1, 3, 3)
    td_target[0, 2] = t(0.1, 0.9, 0.0)
    w, gw = t(1.0), t(1.0)
    sq = (pred_wl - (0.1 - 0.9)) ** 2 + 1e-8
    assert approx(L.shortterm_value_error_loss(t(0.5), td_logits, td_target, w, gw)[0], 2.0 * huber(0.5, sq, 0.4))
    td_score = t([0.0, 0.0, 4.0])
    td_score_target = t([0.0, 0.0, -6.0])   # both 1 x 3
    assert approx(L.shortterm_score_error_loss(t(50.0), td_score, td_score_target, w, gw)[0],
                  0.00002 * huber(50, 100 + 1e-4, 100))

    gt = torch.zeros(1, 80)
    gt[0, 0], gt[0, 2], gt[0, 3] = 0.3, 0.2, 10.0
    gt[0, 26], gt[0, 27] = 1.0, 1.0
    z = (10.0 - 2.0) / math.sqrt(4.0 ** 2 + 0.25)
    want = min(1.0, (0.3 + 0.1) ** 2 + 1 / (1 + math.exp(-3 * (z - 1.5))))
    assert approx(L.longterm_optimistic_weight(gt, t(2.0), t(4.0))[0], want)
    gt[0, 12], gt[0, 13], gt[0, 15] = 0.2, 0.7, -6.0
    zv = ((0.2 - 0.7) - pred_wl) / math.sqrt(0.09 + 1e-4)
    zs = (-6.0 - 4.0) / math.sqrt(25.0 + 0.25)
    want = min(1.0, 1 / (1 + math.exp(-3 * (zv - 1.5))) + 1 / (1 + math.exp(-3 * (zs - 1.5))))
    got = L.shortterm_optimistic_weight(gt, td_logits, td_score, t(0.09), t(25.0))
    assert approx(got[0], want)
    gt[0, 27] = 0.0                                   # side positions never train optimism
    assert float(L.longterm_optimistic_weight(gt, t(2.0), t(4.0))[0]) == 0.0


def test_softplus_floor_gradient_and_squared_form():
    x = torch.tensor([-20.0, 0.0, 3.0], requires_grad=True)
    y = L.softplus_floor(x, False)
    y.sum().backward()
    sig = [1 / (1 + math.exp(20)), 0.5, 1 / (1 + math.exp(-3))]
    assert all(approx(g, 0.05 + 0.95 * s) for g, s in zip(x.grad, sig))
    assert approx(L.softplus_floor(t(2.0), True), math.log1p(math.exp(1.0)) ** 2)


def test_total_applies_the_command_line_scales():
    """loss_sum = sum of the terms with §6's factors: 0.93 / 8 / 0.1 / 0.2 / 0.6 / 0.25 ..."""
    torch.manual_seed(0)
    from goloop.common.nn.model import Model
    from goloop.common.nn.modelconfigs import config_of_name
    model = Model(config_of_name("b2c16"), pos_len=3)
    n = 4
    spatial = (torch.rand(n, 22, 3, 3) < 0.3).float()
    spatial[:, 0] = 1.0
    gt = torch.rand(n, 80)
    gt[:, [24, 35]] = 0.0
    b = L.Batch(spatial, torch.randn(n, 19), torch.rand(n, 2, 10) + 0.01, gt,
                torch.softmax(torch.randn(n, 2 * (9 + 60)), 1) * 100, torch.randint(-1, 2, (n, 5, 3, 3)).float())
    scales = L.LossScales(soft_policy_weight_scale=3.0, value_loss_scale=2.0, seki_loss_scale=0.5)
    m = L.batch_metrics(model(b.binaryInputNCHW, b.globalInputNC), b, model.config.multipliers, 15,
                        scales, False, None)
    total = (0.93 * m["p0loss_sum"] + m["p1loss_sum"] + 3.0 * (m["p0softloss_sum"] + m["p1softloss_sum"])
             + 0.1 * m["p0lopt_sum"] + 0.2 * m["p0sopt_sum"] + 2.0 * m["vloss_sum"]
             + 0.6 * (m["tdvloss1_sum"] + m["tdvloss2_sum"] + m["tdvloss3_sum"]) + m["tdsloss_sum"]
             + m["oloss_sum"] + 0.25 * m["sloss_sum"] + m["fploss_sum"] + 0.5 * m["skloss_sum"]
             + m["smloss_sum"] + m["sbcdfloss_sum"] + m["sbpdfloss_sum"] + m["sdregloss_sum"]
             + m["leadloss_sum"] + m["vtimeloss_sum"] + m["evstloss_sum"] + m["esstloss_sum"])
    assert float(m["loss_sum"].detach()) == pytest.approx(float(total), rel=1e-5)
    assert m["nsamp"] == n and float(m["sekiweightscale_sum"]) == pytest.approx(7.0 * float(gt[:, 25].sum()), rel=1e-6)
