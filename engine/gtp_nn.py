"""The network's GTP commands (`kata-raw-nn`), attached to a GtpEngine when a model is given.

Output formats follow KataGo v1.17.2 to the character, since GUIs and scripts parse them:
values with 6 (probabilities) or 3 (scores) decimals, the policy as rows of `%8.6f` with `NAN`
for illegal points, ownership as rows of `%9.7f`, everything from White's point of view.
"""
from __future__ import annotations

import logging
from typing import Optional

from goloop.common.go.history import History
from goloop.common.go.rules import RulesError
from goloop.common.nn.evaluator import EvalRequest, Evaluator
from goloop.common.runtime import ThreadPlan, apply_threads, plan_threads, resolve_device
from goloop.common.search.params import SearchParams
from goloop.engine.gtp_position import history_for_player
from goloop.engine.gtp_protocol import GtpError, parse_color

log = logging.getLogger(__name__)


def thread_plan(config, device: str, cores: Optional[int] = None) -> ThreadPlan:
    """KataGo's CPU default: one net thread per search thread, up to the cores. GTP's search
    waits for each batch, so no core is kept back for it."""
    searches = config.numSearchThreads or SearchParams.for_gtp().numSearchThreads
    return plan_threads(device, config.numEigenThreadsPerModel, searches, 0, cores)


def load_evaluator(config) -> Evaluator:
    device = resolve_device(config.nnDevice)
    apply_threads(thread_plan(config, device), log)
    dtype = None if config.nnDtype == "auto" else config.nnDtype
    draw = 0.5 if config.drawEquivalentWinsForWhite is None else config.drawEquivalentWinsForWhite
    ev = Evaluator.from_file(config.model, device=device, dtype=dtype,
                             draw_equivalent_wins_for_white=draw)
    log.info("loaded model %s (version %d, %d parameters) on %s", ev.info.name, ev.info.version,
             ev.info.num_parameters, device)
    return ev


def parse_raw_nn_args(args: list[str], default_optimism: float):
    """[COLOR] SYMMETRY|all [OPTIMISM]: KataGo's argument order for kata-raw-nn."""
    i = 0
    color = None
    if args and args[0].lower() in ("b", "w", "black", "white"):
        color = parse_color(args[0])
        i = 1
    if i >= len(args):
        raise GtpError("Expected a symmetry argument 'all' or index [0-7] for kata-raw-nn")
    text = args[i].lower()
    if text == "all":
        symmetries = list(range(8))
    elif text.isdigit() and int(text) <= 7:
        symmetries = [int(text)]
    else:
        raise GtpError(f"Expected a symmetry argument 'all' or index [0-7] but got '{args[i]}'")
    i += 1
    optimism = default_optimism
    if i < len(args):
        try:
            optimism = float(args[i])
        except ValueError:
            optimism = float("nan")
        if not 0.0 <= optimism <= 1.0:
            raise GtpError(f"Expected an optimism value in [0,1] but got '{args[i]}'")
        i += 1
    if i < len(args):
        raise GtpError(f"Unexpected extra argument '{args[i]}'")
    return color, symmetries, optimism


def raw_nn_text(ev: Evaluator, history: History, symmetries, optimism: float,
                playout_doubling_advantage: float = 0.0) -> str:
    xs, ys = history.x_size, history.y_size
    pla = history.next_player
    outs = ev.evaluate([EvalRequest(history, k) for k in symmetries], policy_optimism=optimism,
                       playout_doubling_advantage=playout_doubling_advantage)
    lines = []
    for k, o in zip(symmetries, outs):
        lines += [
            f"symmetry {k}",
            f"whiteWin {o.white_win:.6f}",
            f"whiteLoss {o.white_loss:.6f}",
            f"noResult {o.no_result:.6f}",
            f"whiteLead {o.white_lead:.3f}",
            f"whiteScoreSelfplay {o.white_score_mean:.3f}",
            f"whiteScoreSelfplaySq {o.white_score_mean_sq:.3f}",
            f"varTimeLeft {o.var_time_left:.3f}",
            f"shorttermWinlossError {o.shortterm_winloss_error:.3f}",
            f"shorttermScoreError {o.shortterm_score_error:.3f}",
            "policy",
        ]
        for y in range(ys):
            row = o.policy[y * xs:(y + 1) * xs]
            lines.append("".join("    NAN " if p < 0 else f"{p:8.6f} " for p in row))
        p = o.policy[-1]
        lines.append("policyPass " + ("    NAN " if p < 0 else f"{p:8.6f} "))
        lines.append("whiteOwnership")
        for y in range(ys):
            lines.append("".join(f"{v:9.7f} " for v in o.white_ownership[y]))
    del pla
    return "\n".join(lines).strip()


def register_raw_nn(engine, config, ev: Evaluator, search) -> None:
    """Register kata-raw-nn (using the search commands' parameters when there are any) and make
    the engine refuse rules the net cannot play."""

    def check_rules(rules) -> None:
        try:
            rules.check_nn_supported()
        except RulesError as e:
            raise GtpError(f"Rules not supported by the neural net: {e}") from None

    def kata_raw_nn(args: list[str]) -> str:
        # KataGo: the genmove parameters' root optimism, the analysis parameters' PDA (signed for
        # the player evaluated when the PDA belongs to a fixed colour).
        optimism, pda, owner = _raw_nn_settings(search, config)
        color, symmetries, optimism = parse_raw_nn_args(args, optimism)
        hist = engine.history
        if color is not None:
            hist = history_for_player(hist, color)
        pla = hist.next_player
        if owner in ("BLACK", "WHITE") and owner != ("BLACK" if pla == 1 else "WHITE"):
            pda = -pda
        return raw_nn_text(ev, hist, symmetries, optimism, pda)

    engine.check_rules = check_rules
    engine.register("kata-raw-nn", kata_raw_nn)


def _raw_nn_settings(search, config):
    """(root policy optimism, playout doubling advantage, its owner) for kata-raw-nn."""
    if search is not None:
        return (search.params.value("rootPolicyOptimism"),
                search.params.analysis_value("playoutDoublingAdvantage"),
                search.params.analysis_value("playoutDoublingAdvantagePla") or "")
    optimism = 0.2 if config.rootPolicyOptimism is None else config.rootPolicyOptimism
    pda = 0.0 if config.playoutDoublingAdvantage is None else config.playoutDoublingAdvantage
    owner = (config.playoutDoublingAdvantagePla or "").strip().upper()
    owner = {"B": "BLACK", "W": "WHITE"}.get(owner, owner)
    return optimism, pda, owner
