"""Batched network evaluation: histories in, KataGo-style outputs (White's view) out.

One call encodes every position into one preallocated input tensor (features.pyx), runs the net
once per distinct symmetry in the batch, maps spatial outputs back to the normal orientation and
post-processes each row exactly as KataGo's NNEvaluator does (nnoutput.py). Search and selfplay
will drive it with hundreds of positions per call; GTP asks for one.

Precision: fp32 on CPU; on CUDA the forward runs under bf16 (or fp16) autocast, with the
post-processing in fp32/fp64 as KataGo does.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np
import torch

from goloop.common.go.rules import KoRule, ScoringRule
from goloop.common.go.symmetry import NUM_SYMMETRIES, apply_symmetry, inverse_symmetry
from goloop.common.nn import features, nnoutput
from goloop.common.nn.modelfile import load_model_file
from goloop.common.nn.winograd import use_winograd

TRACE_AFTER = 3     # calls with one input shape before it is traced
MAX_TRACES = 256    # traced shapes kept (every batch size up to nnMaxBatchSize 128, 2 board sizes)


@dataclass
class EvalRequest:
    """One position to evaluate: a History, for `next_player` (default: whoever is to move)."""

    history: object
    symmetry: int = 0
    next_player: Optional[int] = None


class Evaluator:
    """A loaded net plus everything needed to turn its heads into KataGo's numbers."""

    def __init__(self, model: torch.nn.Module, info, device: Union[str, torch.device] = "cpu",
                 dtype: Optional[str] = None, channels_last: Optional[bool] = None,
                 draw_equivalent_wins_for_white: float = 0.5, enable_passing_hacks: bool = False,
                 jit: Optional[bool] = None, winograd: Optional[bool] = None):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.info = info
        if dtype is None:
            dtype = "bf16" if self.device.type == "cuda" else "fp32"
        if dtype not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"dtype must be fp32, bf16 or fp16, not {dtype!r}")
        if dtype != "fp32" and self.device.type != "cuda":
            raise ValueError(f"{dtype} inference needs a CUDA device")
        self.autocast = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
        # Winograd 3x3 convolutions on 13x13 and larger boards: ~1.3x faster b6c96 evaluation at
        # 19x19 (bench/nn_bench.py), outputs equal to ~1e-4 (winograd.py). The evaluator owns
        # its model: the convolutions are swapped in place.
        if winograd is None:
            winograd = self.device.type == "cpu" and dtype == "fp32"
        if winograd and (self.device.type != "cpu" or dtype != "fp32"):
            raise ValueError("Winograd convolutions are for fp32 on CPU")
        if winograd:
            self.model = use_winograd(self.model)
        # channels_last is 15-30% faster for the convolutional nets on CPU with identical results
        # (to fp32 rounding, measured with bench/nn_bench.py); unmeasured on GPU, so off there.
        if channels_last is None:
            channels_last = self.device.type == "cpu"
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # TorchScript trace + freeze: 10-30% faster on CPU at small batches (fewer per-op
        # dispatches, folded constants), outputs equal to fp32 rounding. One trace per input
        # shape, made on first use. Off on GPU, where autocast does the job.
        self.jit = (self.device.type == "cpu") if jit is None else jit
        self._traced: dict = {}
        self._seen: dict = {}
        self.draw_equivalent_wins_for_white = draw_equivalent_wins_for_white
        self.enable_passing_hacks = enable_passing_hacks
        m = info.multipliers
        self.post = nnoutput.PostProcessParams(
            model_version=info.version,
            score_mean_multiplier=m.score_mean, score_stdev_multiplier=m.score_stdev,
            lead_multiplier=m.lead, variance_time_multiplier=m.variance_time,
            shortterm_value_error_multiplier=m.shortterm_value_error,
            shortterm_score_error_multiplier=m.shortterm_score_error)

    @classmethod
    def from_file(cls, path, device="cpu", **kw) -> "Evaluator":
        model, info = load_model_file(path, device=device)
        return cls(model, info, device=device, **kw)

    # -----------------------------------------------------------------------------------------

    def raw(self, spatial: np.ndarray, global_: np.ndarray, symmetries: Sequence[int]):
        """Run the net on encoded rows, row i under symmetry symmetries[i], in one forward pass.

        Inputs are transformed row by row (as KataGo does while filling its input buffer), so a
        batch mixing symmetries still costs one call. Returns numpy (policy (N, K, Y*X + 1),
        value (N, 3), score (N, S), ownership (N, Y, X)), spatial parts mapped back.
        """
        n, _, ysz, xsz = spatial.shape
        # Kept to few Python and torch calls: after a forward pass has streamed the weights
        # through the caches, each call here runs cold (~10-30 us; the whole method took
        # ~450 us per batch-1 call before, 10% of a 9x9 forward).
        transformed = any(symmetries)
        x = spatial
        if transformed:
            sym = np.asarray(symmetries)
            groups = [(int(k), np.nonzero(sym == k)[0]) for k in np.unique(sym)]
            x = np.empty_like(spatial)
            for k, rows in groups:
                x[rows] = apply_symmetry(spatial[rows], k)
        inp, glob = torch.from_numpy(x), torch.from_numpy(global_)
        if self.device.type != "cpu":
            inp, glob = inp.to(self.device), glob.to(self.device)
        if self.channels_last:
            inp = inp.contiguous(memory_format=torch.channels_last)
        full = bool(x[:, 0].all())
        with torch.inference_mode():     # fewer dispatch steps per op than without it
            if self.autocast is None:
                out = self._forward(inp, glob, full)
            else:
                with torch.autocast(self.device.type, dtype=self.autocast):
                    out = self._forward(inp, glob, full)
        if self.device.type == "cpu" and self.autocast is None:
            policy, value, score = out[0].numpy(), out[1].numpy(), out[2].numpy()
            ownership = out[3][:, 0].numpy()
        else:
            policy = out[0].float().cpu().numpy()
            value = out[1].float().cpu().numpy()
            score = out[2].float().cpu().numpy()
            ownership = out[3].float()[:, 0].cpu().numpy()
        if transformed:
            board = policy[:, :, :-1].reshape(n, policy.shape[1], ysz, xsz)
            for k, rows in groups:
                board[rows] = inverse_symmetry(board[rows], k)
                ownership[rows] = inverse_symmetry(ownership[rows], k)
            policy[:, :, :-1] = board.reshape(n, policy.shape[1], -1)
        return policy, value, score, ownership

    def _forward(self, inp: torch.Tensor, glob: torch.Tensor, full: bool):
        """(policy, value, score values, ownership) of the exported heads.

        A shape is traced only once it has been seen TRACE_AFTER times: selfplay's batch sizes
        wander over 1..nnMaxBatchSize, and tracing every passing size costs more than eager
        evaluation of the rare ones. `full` (every row's board fills the tensor) is part of the
        key: the model skips its mask multiplies on full batches, and a trace records that
        choice, so a trace made on full boards would be wrong for a smaller board in the same
        shape (mixed board sizes in selfplay or analysis)."""
        if not self.jit:
            return tuple(self.model.engine_output(self.model(inp, glob)))
        key = (tuple(inp.shape), full)
        traced = self._traced.get(key)
        if traced is None:
            seen = self._seen.get(key, 0) + 1
            self._seen[key] = seen
            if seen < TRACE_AFTER:
                return tuple(self.model.engine_output(self.model(inp, glob)))
            with torch.no_grad(), warnings.catch_warnings():
                # TorchScript is deprecated in favour of torch.compile, which on CPU needs a
                # C++ toolchain at run time and minutes of compilation; tracing still works.
                warnings.simplefilter("ignore")
                traced = torch.jit.optimize_for_inference(torch.jit.freeze(
                    torch.jit.trace(_Heads(self.model).eval(), (inp, glob), check_trace=False)))
            if len(self._traced) >= MAX_TRACES:  # keep memory bounded
                self._traced.clear()
            self._traced[key] = traced
        return traced(inp, glob)

    def evaluate(self, requests: Sequence[EvalRequest], policy_optimism: float = 0.0,
                 policy_temperature: float = 1.0, playout_doubling_advantage: float = 0.0,
                 pos_len: Optional[int] = None) -> list:
        """Evaluate positions in one batch; returns one NNOutput each (White's view).

        The tensor is the largest board's size (or `pos_len` square); smaller boards share it
        through the on-board mask.
        """
        requests = list(requests)
        if not requests:
            return []
        if not policy_temperature > 0:
            raise ValueError(f"policy temperature must be > 0, got {policy_temperature}")
        for r in requests:
            if not 0 <= r.symmetry < NUM_SYMMETRIES:
                raise ValueError(f"symmetry must be 0..7, got {r.symmetry}")
        ysz = pos_len or max(r.history.y_size for r in requests)
        xsz = pos_len or max(r.history.x_size for r in requests)
        spatial = np.zeros((len(requests), features.NUM_SPATIAL_FEATURES, ysz, xsz), np.float32)
        global_ = np.zeros((len(requests), features.NUM_GLOBAL_FEATURES), np.float32)
        for i, r in enumerate(requests):
            pla = r.history.next_player if r.next_player is None else r.next_player
            features.encode(r.history, spatial, global_, row=i, next_player=pla,
                            draw_equivalent_wins_for_white=self.draw_equivalent_wins_for_white,
                            playout_doubling_advantage=playout_doubling_advantage,
                            enable_passing_hacks=self.enable_passing_hacks,
                            pass_alive_under_suicide_rules=self.info.prefer_pass_alive_under_suicide)
        policy, value, score, ownership = self.raw(spatial, global_, [r.symmetry for r in requests])
        return [self._postprocess(r, policy[i], value[i], score[i], ownership[i],
                                  policy_optimism, policy_temperature)
                for i, r in enumerate(requests)]

    def _postprocess(self, req: EvalRequest, policy, value, score, ownership, optimism,
                     temperature) -> nnoutput.NNOutput:
        hist = req.history
        pla = hist.next_player if req.next_player is None else req.next_player
        xs, ys = hist.x_size, hist.y_size
        xsz = ownership.shape[1]
        # Crop the board out of the (possibly larger) tensor; pass stays last.
        logits = nnoutput.mix_optimism(policy, optimism)
        board_logits = logits[:-1].reshape(-1, xsz)[:ys, :xs].reshape(-1)
        logits = np.append(board_logits, logits[-1])
        probs = nnoutput.policy_probs(logits, hist.legal_mask(pla), temperature,
                                      passing_hacks=self.enable_passing_hacks)
        rules = hist.rules
        no_result_possible = (rules.ko_rule == KoRule.SIMPLE
                              or rules.scoring_rule == ScoringRule.TERRITORY)
        values = nnoutput.value_outputs(value, score, self.post, no_result_possible, pla)
        own = nnoutput.white_ownership(ownership[:ys, :xs], pla)
        return nnoutput.NNOutput(policy=probs, white_ownership=own, policy_optimism=optimism,
                                 **values)


class _Heads(torch.nn.Module):
    """The model with only the exported heads as a tuple, the form TorchScript tracing wants."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inp, glob):
        out = self.model.engine_output(self.model(inp, glob))
        return out.policy, out.value, out.score_values, out.ownership


def average_outputs(outputs: Sequence[nnoutput.NNOutput]) -> nnoutput.NNOutput:
    """Mean over symmetries of one position (KataGo averages post-processed outputs)."""
    first = outputs[0]
    scalars = {name: float(np.mean([getattr(o, name) for o in outputs]))
               for name in ("white_win", "white_loss", "no_result", "white_score_mean",
                            "white_score_mean_sq", "white_lead", "var_time_left",
                            "shortterm_winloss_error", "shortterm_score_error")}
    policy = np.mean([o.policy for o in outputs], axis=0).astype(np.float32)
    policy[first.policy < 0] = -1.0
    own = np.mean([o.white_ownership for o in outputs], axis=0).astype(np.float32)
    return nnoutput.NNOutput(policy=policy, white_ownership=own,
                             policy_optimism=first.policy_optimism, **scalars)
