"""SGD with momentum, step for step and byte for byte torch.optim.SGD as KataGo configures it
(momentum 0.9, no dampening, no Nesterov, coupled weight decay), but not a torch Optimizer.

Why not torch.optim.SGD: every torch Optimizer imports torch._dynamo the first time one of its
methods runs (they are wrapped to keep torch.compile out), and that import alone is ~4 s on a
2-core CPU: a fifth of the trainer's start-up, paid again by each cycle of the synchronous loop.
This class has the same `param_groups` (lists of dicts, lr and weight_decay set by
optim.refresh), the same update, and a `state_dict` in torch's layout, so KataGo's train.py
loads its checkpoints into torch.optim.SGD and back (tests/trainer/test_sgd.py checks both).
"""
from __future__ import annotations

from typing import Iterable

import torch

# What torch.optim.SGD stores in every param group; saved so KataGo's loader sees its own keys.
_TORCH_DEFAULTS = {"dampening": 0, "nesterov": False, "maximize": False,
                   "foreach": None, "differentiable": False, "fused": None}


class SGD:
    def __init__(self, groups: Iterable[dict], lr: float, momentum: float = 0.9):
        self.param_groups: list[dict] = []
        for g in groups:
            group = {"lr": lr, "momentum": momentum, "weight_decay": 0.0, **_TORCH_DEFAULTS}
            group.update(g)
            group["params"] = list(g["params"])
            self.param_groups.append(group)
        self.buffers: dict[torch.Tensor, torch.Tensor] = {}

    def _params(self) -> list[torch.Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._params():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """grad + wd * p -> buffer (a copy the first time, else momentum * buffer + it) -> p -= lr * buffer,
        the order of torch's single-tensor SGD, so the results are the same to the bit."""
        for group in self.param_groups:
            lr, wd, momentum = group["lr"], group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad if wd == 0 else p.grad.add(p, alpha=wd)
                buf = self.buffers.get(p)
                if buf is None:
                    buf = self.buffers[p] = torch.clone(grad).detach()
                else:
                    buf.mul_(momentum).add_(grad)
                p.add_(buf, alpha=-lr)

    def state_dict(self) -> dict:
        """torch.optim.SGD's layout: parameters numbered group after group."""
        state, groups, index = {}, [], 0
        for g in self.param_groups:
            numbers = []
            for p in g["params"]:
                if p in self.buffers:
                    state[index] = {"momentum_buffer": self.buffers[p]}
                numbers.append(index)
                index += 1
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": numbers})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, sd: dict) -> None:
        """As torch's: the saved group settings replace ours, buffers move to each parameter's
        dtype and device; a different group structure is an error and changes nothing."""
        saved = sd["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(f"optimizer state has {len(saved)} parameter groups, this net {len(self.param_groups)}")
        for mine, theirs in zip(self.param_groups, saved):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError(f"optimizer state group {theirs.get('group_name', '?')} has "
                                 f"{len(theirs['params'])} parameters, this net {len(mine['params'])}")
        by_index = {}
        for mine, theirs in zip(self.param_groups, saved):
            by_index.update(zip(theirs["params"], mine["params"]))
        buffers = {}
        for idx, entry in sd["state"].items():
            p = by_index[int(idx)]
            buf = entry.get("momentum_buffer")
            if buf is not None:
                if buf.shape != p.shape:
                    raise ValueError(f"momentum buffer {idx} has shape {tuple(buf.shape)}, parameter {tuple(p.shape)}")
                buffers[p] = buf.detach().to(dtype=p.dtype, device=p.device).clone()
        for mine, theirs in zip(self.param_groups, saved):
            mine.update({k: v for k, v in theirs.items() if k != "params"})
        self.buffers = buffers
