"""loop/stages.py: each stage's command line and generated configs, as a user would type them."""
from __future__ import annotations

import pytest

from goloop.common.config import load_config
from goloop.loop.balance import Knobs
from goloop.loop.config import LoopConfig
from goloop.loop.stages import STAGES, stage_commands, write_stage_configs
from goloop.selfplay.config import SelfplayConfig


def test_commands_carry_the_knobs_and_the_run(tmp_path):
    cfg = load_config(LoopConfig, None, [{"baseDir": str(tmp_path), "runName": "r1",
                                           "modelKind": "b4c32"}])
    configs = write_stage_configs(cfg)
    cmds = stage_commands(cfg, Knobs(17, 2.5, 640), configs)
    assert set(cmds) == set(STAGES) - {"rate"}     # rating games are set up after the export
    sp = cmds["selfplay"].argv
    assert sp[sp.index("--max-games-total") + 1] == "17"
    assert sp[sp.index("--output-dir") + 1] == str(tmp_path / "selfplay")
    tr = cmds["train"].argv
    assert tr[tr.index("--max-train-bucket-per-new-data") + 1] == "2.5"
    assert tr[tr.index("--samples-per-epoch") + 1] == "640"
    assert tr[tr.index("--model-config") + 1] == "b4c32" and "--stop-when-train-bucket-limited" in tr
    assert tr[tr.index("--pos-len") + 1] == "9"
    ex = cmds["export"].argv
    assert "--once" in ex and "--use-gating" not in ex
    assert "--once" in cmds["shuffle"].argv


def test_generated_selfplay_config_loads_in_goloop_selfplay(tmp_path):
    cfg = load_config(LoopConfig, None, [{"baseDir": str(tmp_path), "maxVisits": "40",
                                           "cheapSearchVisits": "10"}])
    configs = write_stage_configs(cfg)
    sp = load_config(SelfplayConfig, [configs["selfplay"]], [])
    assert sp.bSizes == (9,) and sp.dataBoardLen == 9
    assert sp.maxVisits == 40 and sp.cheapSearchVisits == 10


def test_one_visit_cheap_searches_are_refused_at_start(tmp_path):
    """Every search yields a policy target, which a 1-visit search on a fresh root cannot."""
    from goloop.common.config import ConfigError
    with pytest.raises(ConfigError, match="cheapSearchVisits"):
        load_config(LoopConfig, None, [{"baseDir": str(tmp_path), "cheapSearchVisits": "1"}])


def test_an_unreadable_loop_state_is_a_clear_error_and_is_kept(tmp_path, caplog):
    from goloop.loop.run import run_loop
    state = tmp_path / "loop" / "state.json"
    state.parent.mkdir()
    state.write_text("{garbage")
    cfg = load_config(LoopConfig, None, [{"baseDir": str(tmp_path), "cycles": "1"}])
    assert run_loop(cfg, progress=False) == 1
    assert "state.json: unreadable loop state" in caplog.text
    assert state.read_text() == "{garbage"          # left for the user to inspect
