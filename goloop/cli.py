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


@daemon_command("shuffle", "goloop.shuffler.config:ShufflerConfig",
                help="Shuffle the selfplay data of BASEDIR into training files, like KataGo's "
                     "shuffle.sh/shuffle.py: BASEDIR/selfplay/**/*.npz -> BASEDIR/shuffleddata/"
                     "<date>/. Runs until SIGINT/SIGTERM (a shuffle in progress is discarded, "
                     "never half-published), reshuffling as data arrives, or once with --once.")
@click.option("--base-dir", "-base-dir", metavar="BASEDIR", default=None,
              help="The run's directory (sets config key base-dir).")
@click.option("--once", is_flag=True, help="Shuffle once and exit (for a synchronous loop); "
                                            "below min-rows it publishes nothing and exits 0.")
@click.option("--min-rows", "-min-rows", type=int, default=None, metavar="N",
              help="Smallest window; no shuffle below it (key min-rows).")
@click.option("--max-rows", "-max-rows", type=int, default=None, metavar="N",
              help="Largest window (key max-rows).")
@click.option("--keep-target-rows", "-keep-target-rows", default=None, metavar="N|all",
              help="Rows sampled from the window (key keep-target-rows).")
@click.option("--expand-window-per-row", "-expand-window-per-row", type=float, default=None,
              metavar="X", help="Initial window growth per row (key expand-window-per-row).")
@click.option("--taper-window-exponent", "-taper-window-exponent", type=float, default=None,
              metavar="X", help="Power-law exponent of the window (key taper-window-exponent).")
@click.option("--taper-window-scale", "-taper-window-scale", type=float, default=None,
              metavar="X", help="Scale of the power law (key taper-window-scale).")
@click.option("--add-to-window", "--add-to-data-rows", "-add-to-data-rows", "add_to_data_rows",
              type=float, default=None, metavar="N",
              help="Count this many more (older) data rows (key add-to-data-rows).")
@click.option("--approx-rows-per-out-file", "-approx-rows-per-out-file", type=int, default=None,
              metavar="N", help="Rows per output file (key approx-rows-per-out-file).")
@click.option("--approx-rows-per-bucket", "-approx-rows-per-bucket", type=int, default=None,
              metavar="N", help="Rows per merge bucket (key approx-rows-per-bucket).")
@click.option("--num-processes", "-num-processes", type=int, default=None, metavar="N",
              help="Worker processes; default: the available cores (key num-processes).")
@click.option("--worker-group-size", "-worker-group-size", type=int, default=None, metavar="N",
              help="Rows per sampling group (key worker-group-size).")
@click.option("--out-tmp-dir", "-out-tmp-dir", default=None, metavar="DIR",
              help="Scratch directory (key out-tmp-dir).")
@click.option("--summary-file", "-summary-file", default=None, metavar="FILE",
              help="Row-count cache (key summary-file).")
@click.option("--no-progress", is_flag=True, help="No progress bar (log lines only).")
@click.pass_context
def shuffle(ctx: click.Context, base_dir: str | None, once: bool, no_progress: bool,
            **options: Any) -> None:
    keys = {name.replace("_", "-"): options.pop(name) for name in list(options)
            if name not in ("config_files", "overrides", "log_file", "verbose")}
    config, _ = start_daemon(ctx, **{"base-dir": base_dir}, **keys)
    if not config.base_dir:
        raise click.ClickException("no BASEDIR: give --base-dir DIR (or base-dir in the config)")
    run_shuffler = _resolve("goloop.shuffler.daemon:run_shuffler")
    ctx.exit(run_shuffler(config, once=once, progress=not no_progress))


@daemon_command("gatekeeper", "goloop.gatekeeper.config:GatekeeperConfig",
                help="Test each candidate in BASEDIR/modelstobetested/ against the newest net "
                     "of BASEDIR/models/ (the random net when there is none) and move it into "
                     "models/ or rejectedmodels/, like `katago gatekeeper`. Games go to "
                     "gatekeepersgf/<candidate>/ and ratings/games.jsonl as they finish; a "
                     "restart resumes a test. Runs until SIGINT/SIGTERM.")
@click.option("--base-dir", "-base-dir", metavar="BASEDIR", default=None,
              help="The run's directory (sets config key baseDir).")
@click.option("--quit-if-no-nets-to-test", "-quit-if-no-nets-to-test", is_flag=True,
              default=None, help="Exit when no candidate waits (key quitIfNoNetsToTest).")
@click.option("--required-candidate-win-prop", "-required-candidate-win-prop", type=float,
              default=None, metavar="P", help="Share of points a candidate needs "
                                              "(key requiredCandidateWinProp).")
@click.option("--no-autoreject-old-models", "-no-autoreject-old-models", is_flag=True,
              default=None, help="Test candidates older than the newest accepted net "
                                 "(key noAutoRejectOldModels).")
@click.option("--seed", default=None, help="Seed every random choice (sets config key seed).")
@click.option("--no-progress", is_flag=True, help="No progress bar (log lines only).")
@click.pass_context
def gatekeeper(ctx: click.Context, base_dir: str | None, quit_if_no_nets_to_test: bool | None,
               required_candidate_win_prop: float | None, no_autoreject_old_models: bool | None,
               seed: str | None, no_progress: bool, **_common: Any) -> None:
    config, _ = start_daemon(ctx, baseDir=base_dir, quitIfNoNetsToTest=quit_if_no_nets_to_test,
                             requiredCandidateWinProp=required_candidate_win_prop,
                             noAutoRejectOldModels=no_autoreject_old_models, seed=seed)
    if not config.base_dir:
        raise click.ClickException("no BASEDIR: give --base-dir DIR (or baseDir in the config)")
    run_gatekeeper = _resolve("goloop.gatekeeper.daemon:run_gatekeeper")
    gatekeeper_error = _resolve("goloop.gatekeeper.daemon:GatekeeperError")
    try:
        code = run_gatekeeper(config, progress=not no_progress)
    except (gatekeeper_error, OSError) as e:   # OSError: a file that cannot be written
        raise click.ClickException(str(e)) from None
    ctx.exit(code)


@daemon_command("match", "goloop.gatekeeper.config:MatchConfig",
                help="Play a match between two players, like `katago match`: each is a model "
                     "file (searched by goloop, many games at once) or a GTP engine command "
                     "line (e.g. \"gnugo --mode gtp --level 10\"). Colours alternate, --black "
                     "starts as Black. Prints one JSON line per game and a summary.")
@click.option("--black", "-black", required=True, metavar="MODEL|COMMAND",
              help="Black in the first game: a model file or a GTP engine command line.")
@click.option("--white", "-white", required=True, metavar="MODEL|COMMAND",
              help="White in the first game: a model file or a GTP engine command line.")
@click.option("--games", "-games", type=int, default=None, metavar="N",
              help="Games to play (sets config key numGamesTotal).")
@click.option("--sgf-dir", "-sgf-output-dir", "--sgf-output-dir", "sgf_dir", default=None,
              metavar="DIR", help="Append every game's SGF to DIR/<hex>.sgfs.")
@click.option("--base-dir", "-base-dir", metavar="BASEDIR", default=None,
              help="Also record the games in BASEDIR/ratings/games.jsonl for `goloop ratings`.")
@click.option("--black-name", default=None, help="Name of the --black player in results "
                                                 "(default: model name or engine command).")
@click.option("--white-name", default=None, help="Name of the --white player in results.")
@click.option("--seed", default=None, help="Seed every random choice (sets config key seed).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def match(ctx: click.Context, black: str, white: str, games: int | None, sgf_dir: str | None,
          base_dir: str | None, black_name: str | None, white_name: str | None,
          seed: str | None, no_progress: bool, **_common: Any) -> None:
    config, _ = start_daemon(ctx, numGamesTotal=games, seed=seed)
    run_match = _resolve("goloop.gatekeeper.match:run_match")
    try:
        code = run_match(config, black, white, sgf_dir=sgf_dir, base_dir=base_dir,
                         black_name=black_name, white_name=white_name, progress=not no_progress)
    except (OSError, ValueError) as e:   # a model file that cannot be read, a full disk
        raise click.ClickException(str(e)) from None
    ctx.exit(code)


@main.command("ratings", context_settings=CONTEXT_SETTINGS,
              help="Fit the Bayesian Elo of the run's nets (and match players) from "
                   "BASEDIR/ratings/games.jsonl; write BASEDIR/ratings/ratings.json and a plot "
                   "of Elo against self-play visits and hours, ratings.png.")
@click.option("--base-dir", "-base-dir", metavar="BASEDIR", required=True,
              help="The run's directory.")
@click.option("--output-dir", default=None, metavar="DIR",
              help="Write ratings.json and ratings.png here (default BASEDIR/ratings).")
@click.option("--prior-stdev", type=float, default=None, metavar="ELO",
              help="Stdev of the prior on a net's Elo minus its parent's (default 347.4, the "
                   "curvature of one virtual draw).")
@click.option("--no-plot", is_flag=True, help="Write ratings.json only.")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Also append log lines to this file (they always go to stderr).")
@click.option("--verbose", is_flag=True, help="Log debug records too.")
def ratings(base_dir: str, output_dir: str | None, prior_stdev: float | None, no_plot: bool,
            log_file: str | None, verbose: bool) -> None:
    setup_logging("ratings", log_file, verbose)
    run_ratings = _resolve("goloop.gatekeeper.ladder:run_ratings")
    kwargs = {} if prior_stdev is None else {"prior_stdev": prior_stdev}
    try:
        run_ratings(base_dir, output_dir, plot=not no_plot, **kwargs)
    except (OSError, ValueError) as e:
        raise click.ClickException(str(e)) from None


# -------------------------------------------------------------------------------------------------
# goloop train / goloop validate (trainer/)

# (option, KataGo's single-dash spelling, config key, type) for train.py's options; a flag type
# of bool means "given = true".
_TRAIN_OPTIONS = [
    ("--batch-size", "-batch-size", "batch_size", int),
    ("--samples-per-epoch", "-samples-per-epoch", "samples_per_epoch", int),
    ("--sub-epochs", "-sub-epochs", "sub_epochs", int),
    ("--max-epochs-this-instance", "-max-epochs-this-instance", "max_epochs_this_instance", int),
    ("--max-training-samples", "-max-training-samples", "max_training_samples", int),
    ("--epochs-per-export", "-epochs-per-export", "epochs_per_export", int),
    ("--pos-len", "-pos-len", "pos_len", int),
    ("--lr-scale", "-lr-scale", "lr_scale", float),
    ("--lr-schedule", "-lr-schedule", "lr_schedule", str),
    ("--swa-scale", "-swa-scale", "swa_scale", float),
    ("--swa-period-samples", "-swa-period-samples", "swa_period_samples", float),
    ("--lookahead-k", "-lookahead-k", "lookahead_k", int),
    ("--lookahead-alpha", "-lookahead-alpha", "lookahead_alpha", float),
    ("--gnorm-clip-scale", "-gnorm-clip-scale", "gnorm_clip_scale", float),
    ("--max-train-bucket-per-new-data", "-max-train-bucket-per-new-data", "max_train_bucket_per_new_data", float),
    ("--max-train-bucket-size", "-max-train-bucket-size", "max_train_bucket_size", float),
    ("--max-train-steps-since-last-reload", "-max-train-steps-since-last-reload",
     "max_train_steps_since_last_reload", float),
    ("--max-val-samples", "-max-val-samples", "max_val_samples", int),
    ("--datadir", "-datadir", "datadir", str),
    ("--traindir", "-traindir", "traindir", str),
    ("--exportdir", "-exportdir", "exportdir", str),
    ("--quit-if-no-data", "-quit-if-no-data", "quit_if_no_data", bool),
    ("--no-repeat-files", "-no-repeat-files", "no_repeat_files", bool),
    ("--stop-when-train-bucket-limited", "-stop-when-train-bucket-limited", "stop_when_train_bucket_limited", bool),
    ("--no-export", "-no-export", "no_export", bool),
    ("--no-lr-warmup", "-no-lr-warmup", "no_lr_warmup", bool),
    ("--use-adamw", "-use-adamw", "use_adamw", bool),
    ("--lr-scale-auto", "-lr-scale-auto", "lr_scale_auto", bool),
    ("--disable-optimistic-policy", "-disable-optimistic-policy", "disable_optimistic_policy", bool),
    ("--randomize-val", "-randomize-val", "randomize_val", bool),
]


def _train_options(fn: Callable) -> Callable:
    for long, short, key, kind in reversed(_TRAIN_OPTIONS):
        if kind is bool:
            fn = click.option(long, short, key, is_flag=True, default=None,
                              help=f"Sets config key {key} to true.")(fn)
        else:
            fn = click.option(long, short, key, type=kind, default=None,
                              help=f"Sets config key {key}.")(fn)
    return fn


@daemon_command("train", "goloop.trainer.config:TrainConfig",
                help="Train the net on the newest BASEDIR/shuffleddata/* and hand checkpoints to the "
                     "exporter, like KataGo's train.py (its options keep their names). SIGINT "
                     "finishes the step, saves a checkpoint and exits 0; a restart resumes.")
@click.option("--base-dir", "-base-dir", metavar="BASEDIR", default=None, help="Sets config key base_dir.")
@click.option("--name", "-name", "--exportprefix", "-exportprefix", "name", metavar="NAME", default=None,
              help="Training name; exports are NAME-s<samples>-d<rows> (sets config key name).")
@click.option("--model-config", "-model-kind", "--model-kind", "model_kind", metavar="NAME", default=None,
              help="Model config for a fresh net, e.g. b6c96, b18c384nbt (sets model_kind).")
@click.option("--initial-model", "-initial-checkpoint", "--initial-checkpoint", "initial_checkpoint",
              metavar="FILE", default=None,
              help="Warm start from a checkpoint or a KataGo model file (.bin.gz) when there is no "
                   "checkpoint yet (sets initial_checkpoint).")
@click.option("--seed", type=int, default=None, help="Seed of all training randomness (sets seed).")
@click.option("--device", default=None, help="Torch device (sets device).")
@click.option("--no-progress", is_flag=True, help="No progress bar (log lines only).")
@_train_options
@click.pass_context
def train(ctx: click.Context, no_progress: bool, **options: Any) -> None:
    keys = {k: v for k, v in options.items() if k not in ("config_files", "overrides", "log_file", "verbose")}
    config, _ = start_daemon(ctx, **keys)
    if not config.base_dir and not (config.traindir and config.datadir and (config.exportdir or config.no_export)):
        raise click.ClickException("no BASEDIR: give --base-dir (or --traindir, --datadir and --exportdir)")
    if not config.name and not config.no_export:
        raise click.ClickException("no training name: give --name NAME (exports are NAME-s...-d...)")
    run_train = _resolve("goloop.trainer.daemon:run_train")
    errors = (_resolve("goloop.common.nn.checkpoint:CheckpointError"),
              _resolve("goloop.common.nn.paramnames:LayoutError"),
              _resolve("goloop.trainer.warmstart:WarmStartError"),
              _resolve("goloop.common.files.trainingdata:TrainingDataError"),
              _resolve("goloop.trainer.datafiles:DataDirError"))
    try:
        code = run_train(config, progress=not no_progress)
    except errors as e:
        raise click.ClickException(str(e)) from None
    ctx.exit(code)


@main.command("validate", context_settings=CONTEXT_SETTINGS)
@click.option("--model", "-model", "model", metavar="FILE", required=True,
              help="A goloop or KataGo checkpoint (.ckpt), or a KataGo model file (.bin.gz, ...).")
@click.option("--data", "-data", "data", metavar="NPZ", multiple=True, required=True,
              help="Training-data files (repeat for several).")
@click.option("--batch-size", "-batch-size", type=int, default=256, show_default=True,
              help="Rows per forward pass (the sums do not depend on it).")
@click.option("--use-swa", is_flag=True, help="Validate a checkpoint's EMA (exported) weights.")
@click.option("--device", default="auto", show_default=True, help="Torch device.")
@click.option("--threads", type=int, default=None, metavar="N",
              help="CPU threads for torch (default: every core this process may use).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Also append log lines to this file (they always go to stderr).")
@click.option("--verbose", is_flag=True, help="Log debug records too.")
def validate(model: str, data: tuple, batch_size: int, use_swa: bool, device: str, threads: int | None,
             log_file: str | None, verbose: bool) -> None:
    """The model's KataGo losses on DATA with no augmentation, summed over every row, printed as
    one JSON object (KataGo's metric names; terms the model cannot compute are listed under
    "not_computed")."""
    setup_logging("validate", log_file, verbose)
    run_validate = _resolve("goloop.trainer.validate:run_validate")
    try:
        result = run_validate(model, list(data), batch_size=batch_size, use_swa=use_swa, device=device,
                              threads=threads)
    except (OSError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    import json
    click.echo(json.dumps(result, sort_keys=True))


@daemon_command("export", "goloop.exporter.config:ExporterConfig",
                help="Turn the trainer's checkpoints (BASEDIR/torchmodels_toexport/) into KataGo "
                     "model directories in BASEDIR/models/ (or modelstobetested/ with gating), "
                     "like KataGo's export loop. Runs until SIGINT/SIGTERM, or once with --once.")
@click.option("--base-dir", "-base-dir", metavar="BASEDIR", default=None,
              help="The run's directory (sets config key baseDir).")
@click.option("--name-prefix", "-name-prefix", metavar="RUN", default=None,
              help="Run name: the name inside each model file is RUN-<NAME> (key namePrefix).")
@click.option("--use-gating/--no-gating", default=None,
              help="Publish into modelstobetested/ for the gatekeeper (key useGating).")
@click.option("--once", is_flag=True, help="Export what is pending and exit (synchronous loop).")
@click.option("--no-progress", is_flag=True, help="Accepted for symmetry with the other daemons "
                                                  "(the exporter logs lines only).")
@click.pass_context
def export(ctx: click.Context, base_dir: str | None, name_prefix: str | None,
           use_gating: bool | None, once: bool, no_progress: bool, **_common: Any) -> None:
    config, _ = start_daemon(ctx, baseDir=base_dir, namePrefix=name_prefix, useGating=use_gating)
    if not config.base_dir:
        raise click.ClickException("no BASEDIR: give --base-dir DIR (or baseDir in the config)")
    run_exporter = _resolve("goloop.exporter.daemon:run_exporter")
    ctx.exit(run_exporter(config, once=once))


@daemon_command("loop", "goloop.loop.config:LoopConfig",
                help="Train a Go net from zero on this machine: KataGo's synchronous loop "
                     "(selfplay -> shuffle -> train -> export, gating if enabled), each stage a "
                     "goloop subprocess, games and training per cycle balanced from measured "
                     "times. Run again with the same BASEDIR to continue.")
@click.option("--base-dir", "-base-dir", metavar="BASEDIR", default=None,
              help="The run's directory (sets config key baseDir).")
@click.option("--cycles", type=int, default=None, metavar="N",
              help="Cycles to run now (key cycles; 0: until SIGINT).")
@click.option("--no-progress", is_flag=True, help="No progress line (log lines only).")
@click.pass_context
def loop(ctx: click.Context, base_dir: str | None, cycles: int | None, no_progress: bool,
         **_common: Any) -> None:
    config, _ = start_daemon(ctx, baseDir=base_dir, cycles=cycles)
    if not config.base_dir:
        raise click.ClickException("no BASEDIR: give --base-dir DIR (or baseDir in the config)")
    run_loop = _resolve("goloop.loop.run:run_loop")
    code = run_loop(config, progress=not no_progress)
    if code == 0:
        finish_text = _resolve("goloop.loop.status:finish_text")
        click.echo(finish_text(config.base_dir, config.runName))
    ctx.exit(code)


@main.command("status", context_settings=CONTEXT_SETTINGS)
@click.option("--base-dir", "-base-dir", metavar="BASEDIR", required=True,
              help="The run's directory.")
def status(base_dir: str) -> None:
    """One screen on a run: models, selfplay games and rows per model, the newest shuffle,
    training losses, Elo, which daemons are alive (heartbeat files) and disk use."""
    status_text = _resolve("goloop.loop.status:status_text")
    try:
        click.echo(status_text(base_dir))
    except OSError as e:
        raise click.ClickException(str(e)) from None
