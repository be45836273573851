"""The `goloop` command: one subcommand per daemon, all configured the same way.

Thin on purpose: a subcommand turns its options into a config (goloop.common.config), sets up
logging (goloop.common.logs), logs the effective config and hands over to its daemon module, which
is imported only then so that `goloop --help` stays fast and works without torch or a GPU.

Every daemon subcommand is declared with `daemon_command(name, "module:ConfigClass")`, which gives
it `--config FILE` (repeatable, later files win), `--override "k=v,k=v"` (repeatable, beats files),
`--log-file FILE`, `--verbose`, and a `--help` that lists every config key. KataGo's single-dash
spellings (`-config`, `-model`, `-override-config`) are accepted too, because front ends such as
KaTrain launch engines as `<exe> analysis -config X -model Y`.
"""
from __future__ import annotations

import importlib
import logging
import sys
from typing import Any, Callable

import click

from goloop import __version__
from goloop.common.config import ConfigError, config_help, describe_config, load_config
from goloop.common.logs import setup_logging
from goloop.common.runtime import environment_help, prepare_environment

# Thread-pool variables must be set before numpy or torch load (common/runtime.py); nothing
# imported above loads them (tests/test_runtime.py checks), the daemon modules come later.
prepare_environment()

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help", "-help"]}


def _resolve(spec: Any) -> Any:
    """`"package.module:Name"` -> the object, imported now (daemon modules can be heavy);
    anything else is returned as is."""
    if not isinstance(spec, str):
        return spec
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


class ConfigCommand(click.Command):
    """A daemon subcommand whose `--help` ends with the keys of its config dataclass."""

    def __init__(self, *args: Any, config_class: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config_class = config_class

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        try:
            text = config_help(_resolve(self.config_class))
        except Exception as e:  # help must still print when the daemon module cannot be imported
            text = f"(cannot list them: {type(e).__name__}: {e})"
        with formatter.section("Config keys (set with --config FILE or --override key=value,...)"):
            for line in text.splitlines():
                formatter.write(" " * formatter.current_indent + line + "\n")
        with formatter.section("Environment (thread pools; goloop sets these before numpy and "
                               "torch load)"):
            for line in environment_help().splitlines():
                formatter.write(" " * formatter.current_indent + line + "\n")


_COMMON_OPTIONS = [
    click.option("--config", "-config", "config_files", multiple=True, metavar="FILE",
                 type=click.Path(dir_okay=False),
                 help="KataGo-style .cfg file; repeat to layer files (later ones win)."),
    click.option("--override", "--override-config", "-override-config", "overrides", multiple=True,
                 metavar="KEY=VALUE,...",
                 help="Config keys overriding the files; values cannot contain commas. "
                      "An empty value restores the default."),
    click.option("--log-file", type=click.Path(dir_okay=False), default=None,
                 help="Also append log lines to this file (they always go to stderr)."),
    click.option("--verbose", is_flag=True, help="Log debug records too."),
]


def daemon_command(name: str, config_class: Any, group: click.Group | None = None,
                   **kwargs: Any) -> Callable:
    """Register a `goloop <name>` subcommand (on `group`, default `main`) configured by the
    dataclass `config_class`, given as "module:Name" so that the module is imported only when the
    command runs or prints its help. Its callback calls `start_daemon(ctx, ...)` to get the config."""
    def decorate(fn: Callable) -> click.Command:
        for option in reversed(_COMMON_OPTIONS):
            fn = option(fn)
        return (group or main).command(name, cls=ConfigCommand, config_class=config_class,
                                       **kwargs)(fn)
    return decorate


def start_daemon(ctx: click.Context, **keys: Any) -> tuple[Any, logging.Logger]:
    """Load the command's config (options in `keys` that are not None win over everything), set up
    logging and log the effective config. Config errors end the command with a clear message."""
    command = ctx.command
    assert isinstance(command, ConfigCommand)
    params = ctx.params
    overrides: list[Any] = list(params["overrides"])
    given = {k: v for k, v in keys.items() if v is not None}
    if given:
        overrides.append(given)
    try:
        config = load_config(_resolve(command.config_class), list(params["config_files"]) or None,
                             overrides)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    log = setup_logging(ctx.info_name or command.name or "goloop", params["log_file"],
                        params["verbose"])
    log.info("goloop %s starting %s", __version__, command.name)
    for line in describe_config(config).splitlines():
        log.info("config %s", line)
    return config, log


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="goloop", message="%(prog)s %(version)s")
def main() -> None:
    """goloop: KataGo's self-play training loop and engine, reimplemented Python-first."""


@daemon_command("gtp", "goloop.engine.gtp:GtpConfig",
                help="Play Go over GTP on stdin/stdout, like `katago gtp`.")
@click.option("--model", "-model", metavar="FILE", default=None,
              help="Neural net model file (sets config key `model`, beating files and overrides).")
@click.pass_context
def gtp(ctx: click.Context, model: str | None, **_common: Any) -> None:
    config, _ = start_daemon(ctx, model=model)
    run_gtp = _resolve("goloop.engine.gtp:run_gtp")
    ctx.exit(run_gtp(config, sys.stdin, sys.stdout))


@daemon_command("analysis", "goloop.engine.analysis_config:AnalysisConfig",
                help="KataGo's JSON analysis engine on stdin/stdout, like `katago analysis`.")
@click.option("--model", "-model", metavar="FILE", default=None,
              help="Neural net model file (sets config key `model`, beating files and overrides).")
@click.option("--human-model", "-human-model", metavar="FILE", default=None,
              help="Accepted for KataGo compatibility; goloop has no human SL model support and "
                   "ignores it (with a warning).")
@click.option("--analysis-threads", "-analysis-threads", "analysis_threads", type=int,
              default=None, metavar="N",
              help="Positions analyzed in parallel (sets config key numAnalysisThreads).")
@click.option("--quit-without-waiting", "-quit-without-waiting", is_flag=True,
              help="When stdin closes, stop at once instead of finishing the queued queries.")
@click.pass_context
def analysis(ctx: click.Context, model: str | None, human_model: str | None,
             analysis_threads: int | None, quit_without_waiting: bool, **_common: Any) -> None:
    config, log = start_daemon(ctx, model=model, numAnalysisThreads=analysis_threads)
    if human_model is not None:
        log.warning("ignoring -human-model %s: human SL models are not supported", human_model)
    run_analysis = _resolve("goloop.engine.analysis_engine:run_analysis")
    ctx.exit(run_analysis(config, sys.stdin, sys.stdout, quit_without_waiting=quit_without_waiting))


@daemon_command("selfplay", "goloop.selfplay.config:SelfplayConfig",
                help="Play selfplay games and write KataGo training data, like `katago selfplay`. "
                     "Runs until SIGINT/SIGTERM (unfinished games are dropped, finished rows "
                     "written) or --max-games-total games.")
@click.option("--output-dir", "-output-dir", metavar="DIR", default=None,
              help="Where data goes: DIR/<model>/tdata/*.npz and DIR/<model>/sgfs/ "
                   "(BASEDIR/selfplay; sets config key outputDir).")
@click.option("--models-dir", "-models-dir", metavar="DIR", default=None,
              help="Polled for the newest model (BASEDIR/models); with none the random net "
                   "plays (sets config key modelsDir).")
@click.option("--max-games-total", "-max-games-total", type=int, default=None, metavar="N",
              help="Stop after N games (sets maxGamesTotal; default: run until stopped).")
@click.option("--seed", default=None, help="Seed every random choice (sets config key seed).")
@click.option("--no-progress", is_flag=True, help="No progress bar (log lines only).")
@click.pass_context
def selfplay(ctx: click.Context, output_dir: str | None, models_dir: str | None,
             max_games_total: int | None, seed: str | None, no_progress: bool, **_common: Any) -> None:
    config, _ = start_daemon(ctx, outputDir=output_dir, modelsDir=models_dir,
                             maxGamesTotal=max_games_total, seed=seed)
    if not config.output_dir:
        raise click.ClickException("no output directory: give --output-dir DIR (or outputDir in the config)")
    run_selfplay = _resolve("goloop.selfplay.daemon:run_selfplay")
    output_error = _resolve("goloop.selfplay.output:OutputError")
    try:
        code = run_selfplay(config, progress=not no_progress)
    except output_error as e:
        raise click.ClickException(str(e)) from None
    ctx.exit(code)
