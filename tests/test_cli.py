"""goloop.cli and goloop.common.logs: the command line every daemon shares, and its log lines."""
from __future__ import annotations

import logging
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

import click
import pytest
from click.testing import CliRunner

import goloop
from goloop import cli
from goloop.common.config import config_help, setting
from goloop.common.logs import kv, setup_logging

LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) \S+ .*")


@dataclass(frozen=True)
class FakeConfig:
    n: int = setting(1, "A count.", min=0)
    label: str = setting("x", "A label.")
    model: Optional[str] = setting(None, "A model file.")


@pytest.fixture
def fake_group():
    """A group holding one daemon command built with the shared decorator; it records its config."""
    group = click.Group("goloop")
    seen = {}

    @cli.daemon_command("fake", FakeConfig, group=group, help="A fake daemon.")
    @click.option("--model", "-model", default=None)
    @click.pass_context
    def fake(ctx, model, **_common):
        config, log = cli.start_daemon(ctx, model=model)
        seen["config"] = config
        log.info("running")
        click.echo("protocol output")

    return group, seen


def test_version():
    result = CliRunner().invoke(cli.main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"goloop {goloop.__version__}\n"


def test_python_dash_m_goloop_runs_the_same_cli():
    done = subprocess.run([sys.executable, "-m", "goloop", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == f"goloop {goloop.__version__}\n"


def test_main_help_lists_gtp():
    result = CliRunner().invoke(cli.main, ["--help"])
    assert result.exit_code == 0
    assert re.search(r"^\s+gtp\s", result.stdout, re.MULTILINE)


def test_gtp_help_has_the_shared_options_and_the_config_keys():
    result = CliRunner().invoke(cli.main, ["gtp", "--help"])
    assert result.exit_code == 0
    for option in ["--config", "-config", "--override", "-override-config", "--model", "-model",
                   "--log-file", "--verbose"]:
        assert re.search(rf"(^|[\s,]){re.escape(option)}[\s,]", result.stdout), option
    assert "Config keys" in result.stdout
    try:
        from goloop.engine.gtp import GtpConfig
    except ImportError:
        assert "cannot list them: ModuleNotFoundError" in result.stdout
    else:
        for line in config_help(GtpConfig).splitlines():
            assert line.strip() in result.stdout


def test_daemon_help_lists_config_keys(fake_group):
    group, _ = fake_group
    result = CliRunner().invoke(group, ["fake", "--help"])
    assert result.exit_code == 0
    assert "n (int >= 0; default 1)" in result.stdout and "A count." in result.stdout
    assert "model (string, optional; default unset)" in result.stdout


def test_daemon_config_precedence_and_katago_spellings(fake_group, tmp_path):
    group, seen = fake_group
    first = tmp_path / "a.cfg"
    first.write_text("n = 5\nlabel = from-a\nmodel = cfg.bin.gz\n")
    second = tmp_path / "b.cfg"
    second.write_text("label = from-b\n")
    result = CliRunner().invoke(group, [
        "fake", "-config", str(first), "--config", str(second),
        "-override-config", "n=7", "--override", "model=ov.bin.gz", "-model", "flag.bin.gz"])
    assert result.exit_code == 0, result.output
    assert seen["config"] == FakeConfig(n=7, label="from-b", model="flag.bin.gz")


def test_daemon_logs_go_to_stderr_only(fake_group, tmp_path):
    group, _ = fake_group
    log_file = tmp_path / "logs" / "fake.log"
    result = CliRunner().invoke(group, ["fake", "--override", "n=2", "--log-file", str(log_file)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "protocol output\n"
    lines = result.stderr.splitlines()
    assert lines and all(LINE.fullmatch(line) for line in lines), lines
    assert any(line.endswith(" INFO fake config n = 2  # --override") for line in lines)
    assert any(line.endswith(" INFO fake config label = x  # default") for line in lines)
    assert log_file.read_text().splitlines() == lines


def test_daemon_config_errors_exit_with_a_clear_message(fake_group, tmp_path):
    group, _ = fake_group
    runner = CliRunner()
    result = runner.invoke(group, ["fake", "--override", "count=2"])
    assert result.exit_code == 1
    assert "unknown config key 'count' in --override" in result.stderr
    assert result.stdout == ""
    result = runner.invoke(group, ["fake", "--config", str(tmp_path / "missing.cfg")])
    assert result.exit_code == 1
    assert "missing.cfg' not found" in result.stderr
    result = runner.invoke(group, ["fake", "--override", "n=-1"])
    assert result.exit_code == 1 and "'n'" in result.stderr and "int >= 0" in result.stderr


def test_gtp_runs_run_gtp_with_the_loaded_config(monkeypatch):
    gtp_module = pytest.importorskip("goloop.engine.gtp")
    calls = []

    def fake_run_gtp(config, stdin, stdout):
        calls.append(config)
        return 3

    monkeypatch.setattr(gtp_module, "run_gtp", fake_run_gtp)
    result = CliRunner().invoke(cli.main, ["gtp", "-model", "some.bin.gz"])
    assert result.exit_code == 3, result.output
    assert isinstance(calls[0], gtp_module.GtpConfig) and calls[0].model == "some.bin.gz"
    assert result.stdout == ""


def test_log_line_format_fields_and_escaping(capsys):
    log = setup_logging("unit")
    log.info("hello\nworld", extra=kv(visits=5, ok=True, path="a b", ratio=0.5))
    logging.getLogger("goloop.engine.search").debug("hidden")
    err = capsys.readouterr().err
    assert capsys.readouterr().out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and LINE.fullmatch(lines[0])
    assert lines[0].endswith(' INFO unit hello\\nworld visits=5 ok=true path="a b" ratio=0.5')


def test_verbose_module_loggers_and_single_line_tracebacks(capsys):
    setup_logging("unit")
    log = setup_logging("unit", verbose=True)  # a second call replaces, never duplicates
    logging.getLogger("goloop.engine.search").debug("visible")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(LINE.fullmatch(line) for line in lines)
    assert lines[0].endswith(" DEBUG unit/engine.search visible")
    assert " ERROR unit failed exc=" in lines[1] and "ValueError: boom" in lines[1]
