"""common/runtime.py and the thread plans each command applies (issue 9: no oversubscription).

The plans are pure functions of a config and a core count, tested on a table; one subprocess
per command then checks that the plan really reaches torch and the log, and that the entry
point sets the pool variables before numpy loads.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from goloop.common import runtime
from goloop.common.config import load_config
from goloop.common.runtime import ThreadPlan, plan_threads

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODEL = ROOT.parent / "shared" / "models" / "g170-b6c96-s175395328-d26788732.bin.gz"
needs_model = pytest.mark.skipif(not MODEL.exists(), reason="needs ../shared/models")


@pytest.mark.parametrize("device,requested,evals,busy,cores,intra,source", [
    ("cpu", None, 1, 0, 2, 1, "default"),      # 1 search thread: 1 net thread, as KataGo
    ("cpu", None, 1, 0, 64, 1, "default"),
    ("cpu", None, 6, 0, 2, 2, "default"),      # never more than the cores
    ("cpu", None, 6, 0, 16, 6, "default"),     # never more than concurrent evaluations
    ("cpu", None, 4, 1, 4, 3, "default"),      # a core left for searches running beside the net
    ("cpu", None, 4, 1, 1, 1, "default"),      # at least one
    ("cpu", 3, 1, 0, 2, 3, "numEigenThreadsPerModel"),   # an explicit key is used as given
    ("cuda:0", None, 128, 0, 16, 1, "gpu"),
    ("cuda:0", 8, 128, 0, 16, 1, "gpu"),       # an Eigen key has no meaning on a GPU
])
def test_plan_threads_table(device, requested, evals, busy, cores, intra, source):
    plan = plan_threads(device, requested, evals, busy, cores)
    assert plan == ThreadPlan(device, intra, 1, cores, source)


def test_plan_rejects_zero_threads():
    with pytest.raises(ValueError, match="numEigenThreadsPerModel"):
        plan_threads("cpu", 0, 1, 0, 2)


def test_available_cores_follows_the_affinity_mask():
    assert runtime.available_cores() == len(os.sched_getaffinity(0))


def test_prepare_environment_sets_only_what_is_missing():
    env = {"OPENBLAS_NUM_THREADS": "4"}
    assert runtime.prepare_environment(env) == {}
    assert env == {"OPENBLAS_NUM_THREADS": "4"}
    env = {}
    assert runtime.prepare_environment(env) == {"OPENBLAS_NUM_THREADS": "1"}


# --- each command's plan from its config --------------------------------------------------------

def gtp_plan(overrides, cores):
    from goloop.engine.gtp import GtpConfig
    from goloop.engine.gtp_nn import thread_plan
    return thread_plan(load_config(GtpConfig, None, [overrides]), "cpu", cores)


def analysis_plan(overrides, cores):
    from goloop.engine.analysis_config import AnalysisConfig, AnalysisSettings
    from goloop.engine.analysis_engine import thread_plan
    config = load_config(AnalysisConfig, None, [overrides])
    return thread_plan(config, AnalysisSettings(config), "cpu", cores)


def selfplay_plan(overrides, cores):
    from goloop.selfplay.config import SelfplayConfig
    from goloop.selfplay.daemon import thread_plan
    return thread_plan(load_config(SelfplayConfig, None, [overrides]), "cpu", cores)


@pytest.mark.parametrize("plan,overrides,cores,intra", [
    (gtp_plan, {}, 2, 1),                                      # KataGo's default: 1 search thread
    (gtp_plan, {"numSearchThreads": "4"}, 2, 2),
    (gtp_plan, {"numSearchThreads": "4"}, 8, 4),
    (gtp_plan, {"numSearchThreads": "4", "numEigenThreadsPerModel": "1"}, 8, 1),
    (analysis_plan, {}, 2, 1),
    (analysis_plan, {"numAnalysisThreads": "2"}, 2, 1),        # one core for the searches
    (analysis_plan, {"numAnalysisThreads": "4", "numSearchThreadsPerAnalysisThread": "2"}, 8, 7),
    (analysis_plan, {"numAnalysisThreads": "4", "numEigenThreadsPerModel": "2"}, 8, 2),
    (selfplay_plan, {}, 2, 2),                                 # 128 games share the cores
    (selfplay_plan, {"numGameThreads": "1"}, 16, 1),
    (selfplay_plan, {"numEigenThreadsPerModel": "1"}, 16, 1),
])
def test_command_plans(plan, overrides, cores, intra):
    p = plan(overrides, cores)
    assert (p.intra_op, p.inter_op, p.cores) == (intra, 1, cores)


# --- the plan reaches torch and the log ----------------------------------------------------------

PROBE = """
import sys, torch
from goloop.cli import main
sys.argv = ["goloop"] + sys.argv[1:]
try:
    main(standalone_mode=False)
finally:
    import os
    print("TORCH", torch.get_num_threads(), torch.get_num_interop_threads(),
          os.environ.get("OPENBLAS_NUM_THREADS"), file=sys.stderr)
"""


def run_probe(args, stdin, cores=None):
    env = {k: v for k, v in os.environ.items() if k not in runtime.ENV_DEFAULTS}
    preexec = (lambda: os.sched_setaffinity(0, cores)) if cores else None
    return subprocess.run([sys.executable, "-c", PROBE, *args], input=stdin, text=True,
                          capture_output=True, env=env, timeout=120, preexec_fn=preexec)


@needs_model
def test_gtp_applies_and_logs_its_plan():
    r = run_probe(["gtp", "--model", str(MODEL), "--override", "numSearchThreads=4"],
                  "name\nquit\n", cores={0})
    assert r.returncode == 0, r.stderr
    # 4 search threads but this process may use one core: one net thread.
    assert "cpu threads" in r.stderr and "intra_op_threads=1" in r.stderr
    assert "cores_available=1" in r.stderr
    assert "TORCH 1 1 1" in r.stderr


@needs_model
def test_gtp_explicit_eigen_threads_win():
    r = run_probe(["gtp", "--model", str(MODEL), "--override", "numEigenThreadsPerModel=2"],
                  "quit\n")
    assert r.returncode == 0, r.stderr
    assert "intra_op_threads=2" in r.stderr and "source=numEigenThreadsPerModel" in r.stderr
    assert "TORCH 2 1" in r.stderr


@needs_model
def test_analysis_applies_its_plan():
    r = run_probe(["analysis", "--model", str(MODEL), "--override", "numAnalysisThreads=2"], "")
    assert r.returncode == 0, r.stderr
    assert "TORCH 1 1" in r.stderr


def test_selfplay_applies_its_plan(tmp_path):
    r = run_probe(["selfplay", "--output-dir", str(tmp_path / "sp"), "--max-games-total", "1",
                   "--no-progress", "--override",
                   "numGameThreads=1,maxVisits=8,cheapSearchVisits=4,reducedVisitsMin=4,"
                   "bSizes=5,bSizeRelProbs=1,dataBoardLen=5"], "")
    assert r.returncode == 0, r.stderr
    assert "TORCH 1 1" in r.stderr


def test_entry_point_sets_pool_variables_before_numpy_loads():
    code = ("import sys, goloop.cli, os; "
            "assert 'numpy' not in sys.modules and 'torch' not in sys.modules; "
            "print(os.environ['OPENBLAS_NUM_THREADS'])")
    env = {k: v for k, v in os.environ.items() if k not in runtime.ENV_DEFAULTS}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    assert out == ["1"]


def test_help_documents_the_environment_and_the_key():
    from click.testing import CliRunner

    from goloop.cli import main
    for command in ("gtp", "analysis", "selfplay"):
        text = CliRunner().invoke(main, [command, "--help"]).output
        assert "OPENBLAS_NUM_THREADS" in text
        assert "numEigenThreadsPerModel" in text
