"""`goloop gtp`: the GTP v2 engine: rules, positions, scoring, and the network commands.

Speaks standard GTP v2 plus KataGo's rule extensions (shared/seeds/003_*.txt) with KataGo
v1.17.2's behaviour and reply formats, so a controller cannot tell the difference on these
commands. Two notions of a move's validity are kept apart, as in KataGo: `play` is tolerant (it
refuses only an occupied point, single-stone suicide and malformed input, and plays ko
recaptures or multi-stone suicides the rules forbid, so the GUI or server stays the referee),
while `is_legal` (GNU Go's extension) reports strict legality under the current rules.

Commands live in a table (`GtpEngine.commands`, name -> handler taking the argument list and
returning the reply text, raising GtpError for a `?` reply) so the network work can register
genmove and the analysis commands without touching the loop. The game is `GtpEngine.history`:
play, undo and rule or komi changes update it in place, set-up commands (boardsize, clear_board,
set_position, handicaps, loadsgf) replace it through `GtpEngine.set_history`, and every new rule
set is first put to `GtpEngine.check_rules`, where a network engine refuses what its net cannot
play.

With `model` set, the engine loads the net (gtp_nn) and attaches the search half of GTP
(gtp_search: genmove, the analysis commands, clocks, params; scoring with the net and
kata-benchmark from gtp_side_search) and the net's own command, kata-raw-nn (gtp_nn).

Imports go one way: this module (the loop and the command table) imports the command groups
(gtp_search, gtp_nn, gtp_handicap, gtp_loadsgf), which import the shared helpers below them
(gtp_config, gtp_position, gtp_protocol, gtp_stream, gtp_params, ...); never the reverse.
Without one, final_score is the rules' own count of the position (see gtp_position), and
place_free_handicap uses the standard pattern (see gtp_handicap).

Some replies outlive their command: analysis streams `info` lines from the search thread until
the next input line. So the loop (`serve`) reads input in its own thread, any input line first
stops the running background job (`GtpEngine.stop_background`), and every write goes through
one locked stream (`GtpEngine.out`, gtp_stream). Pondering (gtp_search, `ponderingEnabled`) is
the one background job that is quieter about it, as in KataGo: it starts after a command that
set `maybe_ponder` (play, a genmove that played, komi or time_left once moves were played), and
only commands that need the search or change the game stop it; empty lines, unknown commands
and pure queries (PONDER_TRANSPARENT) leave it running.
"""
from __future__ import annotations

import io
import logging
import queue
import threading
from typing import Callable, Iterator, Optional, TextIO

from goloop import __version__
from goloop.common.go.history import History
from goloop.common.go.rules import (
    Rules,
    RulesError,
    format_komi,
    parse_kgs_rules,
    parse_rules,
    validate_komi,
)
from goloop.engine.gtp_config import (
    COMPAT_KEY_NAMES,
    MAX_SIZE,
    MIN_SIZE,
    RULE_KEY_FIELDS,
    GtpConfig,
)
from goloop.engine.gtp_handicap import (
    HandicapError,
    fixed_handicap_points,
    free_handicap_points,
    setup_board,
)
from goloop.engine.gtp_loadsgf import history_from_sgf
from goloop.engine.gtp_position import (
    anticipated_score,
    dead_stones,
    final_score_text,
    printsgf_text,
    showboard_text,
    stone_points,
    vertex_list,
)
from goloop.engine.gtp_protocol import (
    GtpError,
    clean_line,
    expect_args,
    format_reply,
    parse_color,
    parse_command,
    parse_float,
    parse_int,
    parse_stone_vertex,
    parse_vertex,
)
from goloop.engine.gtp_stream import PONDER_JOB, BackgroundJob, GtpOutput

log = logging.getLogger(__name__)

BLACK, WHITE = 1, 2

Handler = Callable[[list[str]], Optional[str]]
"""A command: the argument list in, the reply text out (None when the handler wrote its reply
itself through `GtpEngine.out`, as streaming commands do); GtpError for a `?` reply."""

# Commands that neither use the search nor change the game or the search settings: KataGo
# answers them without stopping a ponder (time settings only matter to a genmove's own clock).
PONDER_TRANSPARENT = frozenset((
    "protocol_version", "name", "version", "known_command", "list_commands", "showboard",
    "get_komi", "kata-get-rules", "is_legal", "printsgf", "cputime", "gomill-cpu_time",
    "kata-list-params", "kata-get-param", "kata-get-params", "kata-list_time_settings",
    "kata-debug-print-tc", "time_settings", "kgs-time_settings", "kata-time_settings",
    "time_left"))


class GtpConfigError(ValueError):
    """A GtpConfig the engine cannot start with."""


class GtpEngine:
    """GTP state (the game as a History) and the command table."""

    def __init__(self, config: GtpConfig) -> None:
        try:
            rules = parse_rules(config.rules)
            for key, field in RULE_KEY_FIELDS.items():
                value = getattr(config, key)
                if value is not None:
                    rules = rules.with_field(field, ("true" if value else "false")
                                             if isinstance(value, bool) else value)
            komi = config.ignoreGTPAndForceKomi if config.ignoreGTPAndForceKomi is not None else config.komi
            if komi is not None:
                rules = rules.with_komi(validate_komi(komi))
        except RulesError as e:
            raise GtpConfigError(f"bad rules or komi in the config: {e}") from None
        self.config = config
        self.quit_requested = False
        self.history = self.new_history(rules, config.defaultBoardSize, config.defaultBoardSize)
        self.commands: dict[str, Handler] = {}
        self.unlisted: set[str] = set()
        self.out = GtpOutput(io.StringIO())
        self.command_id: Optional[int] = None
        self.background: Optional[BackgroundJob] = None
        self.maybe_ponder = False  # set by a command after which KataGo (re)starts pondering
        self.game_reset_listeners: list[Callable[[], None]] = []
        self.close_listeners: list[Callable[[], None]] = []
        for name, handler in (
            ("protocol_version", self.cmd_protocol_version), ("name", self.cmd_name),
            ("version", self.cmd_version), ("known_command", self.cmd_known_command),
            ("list_commands", self.cmd_list_commands), ("quit", self.cmd_quit),
            ("boardsize", self.cmd_boardsize), ("rectangular_boardsize", self.cmd_boardsize),
            ("clear_board", self.cmd_clear_board), ("set_position", self.cmd_set_position),
            ("komi", self.cmd_komi), ("get_komi", self.cmd_get_komi), ("play", self.cmd_play),
            ("undo", self.cmd_undo), ("is_legal", self.cmd_is_legal),
            ("kata-get-rules", self.cmd_kata_get_rules), ("kata-set-rule", self.cmd_kata_set_rule),
            ("kata-set-rules", self.cmd_kata_set_rules), ("kgs-rules", self.cmd_kgs_rules),
            ("showboard", self.cmd_showboard), ("fixed_handicap", self.cmd_fixed_handicap),
            ("place_free_handicap", self.cmd_place_free_handicap),
            ("set_free_handicap", self.cmd_set_free_handicap),
            ("final_score", self.cmd_final_score), ("final_status_list", self.cmd_final_status_list),
            ("loadsgf", self.cmd_loadsgf), ("printsgf", self.cmd_printsgf),
        ):
            self.register(name, handler)
        for key in COMPAT_KEY_NAMES:
            if getattr(config, key) is not None:
                log.warning("config key %s is accepted for KataGo compatibility but has no effect "
                            "in goloop", key)
        self.evaluator = None
        self.search = None  # the search commands (gtp_search.SearchCommands) when a net is loaded
        if config.model is not None:
            # torch is imported only when a net is used
            from goloop.engine import gtp_nn, gtp_search
            try:
                self.evaluator = gtp_nn.load_evaluator(config)
            except (OSError, ValueError) as e:
                raise GtpConfigError(f"cannot load model {config.model!r}: {e}") from None
            try:
                self.search = gtp_search.SearchCommands(self, config, self.evaluator)
            except ValueError as e:
                raise GtpConfigError(str(e)) from None
            gtp_nn.register_raw_nn(self, config, self.evaluator, self.search)
            try:
                self.check_rules(rules)
            except GtpError as e:
                raise GtpConfigError(str(e)) from None

    # --------------------------------------------------------------------------------------------
    # Extension points

    def register(self, name: str, handler: Handler, listed: bool = True) -> None:
        """Add or replace a command: handler(args) returns the reply text or raises GtpError.
        An unlisted command works but is absent from list_commands and known_command, like
        KataGo's Sabaki-only `analyze` and `genmove_analyze`."""
        self.commands[name] = handler
        if listed:
            self.unlisted.discard(name)
        else:
            self.unlisted.add(name)

    def start_background(self, job: BackgroundJob) -> None:
        """Run `job` until the next input line (the loop stops it first thing)."""
        self.stop_background()
        self.background = job.start()

    def stop_background(self) -> None:
        """Stop the running background job, if any, and let it write its ending."""
        job, self.background = self.background, None
        if job is not None:
            job.stop()

    def close(self) -> None:
        """End of the session: stop any background work and release what listeners hold."""
        self.stop_background()
        for listener in self.close_listeners:
            listener()

    def game_reset(self) -> None:
        """Tell listeners that the game was set up anew (KataGo's setPositionAndRules: board set-up,
        undo, a rules change), e.g. so that genmove forgets the values behind its resignation."""
        for listener in self.game_reset_listeners:
            listener()

    def check_rules(self, rules: Rules) -> None:
        """Raise GtpError for rules this engine cannot play. Without a network, all rules can be;
        the network engine refuses what its net does not support."""

    def set_history(self, history: History) -> None:
        """Make `history` the current game (the one place the position is replaced)."""
        self.history = history
        self.game_reset()

    def new_history(self, rules: Rules, x_size: int, y_size: int, board=None, pla: int = BLACK) -> History:
        """A game from an initial position, with this engine's cleanup and handicap settings."""
        return History(rules, x_size, y_size, board=board, pla=pla,
                       prevent_encore=self.config.preventCleanupPhase,
                       leading_black_moves_are_handicap=self.config.assumeMultipleStartingBlackMovesAreHandicap)

    # --------------------------------------------------------------------------------------------
    # Dispatch

    def execute(self, raw_line: str) -> Optional[str]:
        """The full reply for one input line, or None for a line GTP ignores.

        For tests and embedding: everything the command writes is collected, and a background job
        it leaves running (an analysis) is stopped at once so that the reply is complete; the
        command loop (run_gtp) lets such jobs run until the next line instead. A ponder, which
        prints nothing, is left running either way (`close` ends it)."""
        sink = io.StringIO()
        previous, self.out = self.out, GtpOutput(sink)
        try:
            replied = self.handle_line(raw_line)
            if not self.pondering:  # a ponder writes nothing: it may go on
                self.stop_background()
        finally:
            self.out = previous
        return sink.getvalue() if replied else None

    @property
    def pondering(self) -> bool:
        return self.background is not None and self.background.name == PONDER_JOB

    def _keeps_pondering(self, line: str) -> bool:
        """Whether `line` leaves a running ponder alone (KataGo stops it only in the handlers
        that use the search or change the game)."""
        if not self.pondering or not line:
            return self.pondering
        _, command, _ = parse_command(line)
        return command is None or command.name not in self.commands or \
            command.name in PONDER_TRANSPARENT

    def handle_line(self, raw_line: str) -> bool:
        """Carry out one input line, writing the reply to `out`; False for a line GTP ignores.

        As in KataGo, any line at all (even an empty one) first stops the running background job,
        except a ponder, which only commands that need the search or change the game stop; and
        after a command that asks for it, pondering starts (when enabled)."""
        line = clean_line(raw_line)
        if not self._keeps_pondering(line):
            self.stop_background()
        if not line:
            return False
        if self.config.logAllGTPCommunication:
            log.info("Controller: %s", line)
        self.maybe_ponder = False
        self.out.write(self._reply(line))
        if self.maybe_ponder and self.search is not None:
            self.search.maybe_start_pondering()
        return True

    def _reply(self, line: str) -> str:
        """The reply block for a cleaned, non-empty line ("" when the handler wrote it itself)."""
        command_id, command, error = parse_command(line)
        if command is None:
            return format_reply(command_id, error or "empty command", ok=False)
        handler = self.commands.get(command.name)
        if handler is None:
            return format_reply(command_id, "unknown command", ok=False)
        self.command_id = command_id
        try:
            text = handler(list(command.args))
            return "" if text is None else format_reply(command_id, text, ok=True)
        except GtpError as e:
            return format_reply(command_id, str(e), ok=False)
        except Exception as e:  # a bug must cost one command, never the session
            log.exception("internal error in GTP command %r", line)
            return format_reply(command_id, f"internal error: {type(e).__name__}: {e}", ok=False)

    # --------------------------------------------------------------------------------------------
    # Helpers

    @property
    def size(self) -> tuple[int, int]:
        return self.history.x_size, self.history.y_size

    def _no_args(self, name: str, args: list[str]) -> None:
        expect_args(name, args, 0)

    def _board_is_empty(self) -> bool:
        return not self.history.board.stones().any()

    def _replace_rules(self, rules: Rules) -> None:
        self.check_rules(rules)
        self.history.set_rules(rules)
        self.game_reset()  # KataGo replays the game under the new rules

    def _handicap_game(self, points) -> str:
        """Start a game from black stones at `points`, white to move; reply with the vertices."""
        xs, ys = self.size
        try:
            board = setup_board(xs, ys, [(p, BLACK) for p in points])
        except HandicapError as e:
            raise GtpError(f"Handicap placement is invalid: {e}") from None
        self.set_history(self.new_history(self.history.rules, xs, ys, board=board, pla=WHITE))
        return vertex_list(points, xs, ys)

    def _handicap_count(self, name: str, args: list[str]) -> int:
        expect_args(name, args, 1, "number of stones")
        n = parse_int(args[0], "number of handicap stones")
        if n < 2:
            raise GtpError(f"Number of handicap stones less than 2: '{args[0]}'")
        if not self._board_is_empty():
            raise GtpError("Board is not empty")
        return n

    # --------------------------------------------------------------------------------------------
    # Administrative commands

    def cmd_protocol_version(self, args: list[str]) -> str:
        self._no_args("protocol_version", args)
        return "2"

    def cmd_name(self, args: list[str]) -> str:
        self._no_args("name", args)
        return "goloop"

    def cmd_version(self, args: list[str]) -> str:
        self._no_args("version", args)
        return __version__

    def cmd_known_command(self, args: list[str]) -> str:
        expect_args("known_command", args, 1, "command name")
        return "true" if args[0] in self.commands and args[0] not in self.unlisted else "false"

    def cmd_list_commands(self, args: list[str]) -> str:
        self._no_args("list_commands", args)
        return "\n".join(name for name in self.commands if name not in self.unlisted)

    def cmd_quit(self, args: list[str]) -> str:
        self.quit_requested = True
        return ""

    # --------------------------------------------------------------------------------------------
    # Board set-up

    def cmd_boardsize(self, args: list[str]) -> str:
        """`boardsize N`, `boardsize X Y` or `boardsize X:Y` (KataGo's extensions), clears the board."""
        if len(args) == 1 and ":" in args[0]:
            args = args[0].split(":")
        if len(args) not in (1, 2):
            raise GtpError(f"Expected int argument for boardsize or pair of ints but got '{' '.join(args)}'")
        sizes = [parse_int(a, "board size") for a in args]
        xs, ys = sizes[0], sizes[-1]
        if not (MIN_SIZE <= xs <= MAX_SIZE and MIN_SIZE <= ys <= MAX_SIZE):
            raise GtpError("unacceptable size")
        self.set_history(self.new_history(self.history.rules, xs, ys))
        return ""

    def cmd_clear_board(self, args: list[str]) -> str:
        self._no_args("clear_board", args)
        xs, ys = self.size
        self.set_history(self.new_history(self.history.rules, xs, ys))
        return ""

    def cmd_set_position(self, args: list[str]) -> str:
        """Replace the board by COLOR VERTEX pairs, black to move, no history."""
        if len(args) % 2:
            raise GtpError(f"Expected a space-separated sequence of <COLOR> <VERTEX> pairs but got '{' '.join(args)}'")
        xs, ys = self.size
        stones = [(parse_stone_vertex(args[i + 1], xs, ys), parse_color(args[i]))
                  for i in range(0, len(args), 2)]
        try:
            board = setup_board(xs, ys, stones)
        except HandicapError as e:
            raise GtpError(f"Illegal stone placements - {e}") from None
        self.set_history(self.new_history(self.history.rules, xs, ys, board=board, pla=BLACK))
        return ""

    def cmd_fixed_handicap(self, args: list[str]) -> str:
        n = self._handicap_count("fixed_handicap", args)
        try:
            points = fixed_handicap_points(*self.size, n)
        except HandicapError as e:
            raise GtpError(f"{e}, try place_free_handicap") from None
        return self._handicap_game(points)

    def cmd_place_free_handicap(self, args: list[str]) -> str:
        n = self._handicap_count("place_free_handicap", args)
        return self._handicap_game(free_handicap_points(*self.size, n))

    def cmd_set_free_handicap(self, args: list[str]) -> str:
        if not self._board_is_empty():
            raise GtpError("Board is not empty")
        xs, ys = self.size
        if not 2 <= len(args) < xs * ys:
            raise GtpError(f"Handicap placement is invalid: expected 2 to {xs * ys - 1} vertices, got {len(args)}")
        points = []
        for text in args:
            try:
                points.append(parse_stone_vertex(text, xs, ys))
            except GtpError:
                raise GtpError(f"Invalid handicap location: {text}") from None
        self._handicap_game(points)
        return ""

    def cmd_loadsgf(self, args: list[str]) -> str:
        """`loadsgf FILE [MOVENUM]`: the game in FILE up to just before move MOVENUM (1-based)."""
        if len(args) not in (1, 2):
            raise GtpError(f"Expected one or two arguments for loadsgf but got '{' '.join(args)}'")
        limit = None
        if len(args) == 2:
            try:
                limit = parse_int(args[1], "move number") - 1
            except GtpError:
                limit = -1
            if not 0 <= limit <= 10_000_000:
                raise GtpError("Invalid value for moveNumber for loadsgf")
        self.set_history(history_from_sgf(
            args[0], limit, self.history.rules, self.config.ignoreGTPAndForceKomi, MAX_SIZE,
            self._checked_new_history))
        return ""

    def _checked_new_history(self, rules: Rules, *args, **kwargs) -> History:
        self.check_rules(rules)
        return self.new_history(rules, *args, **kwargs)

    # --------------------------------------------------------------------------------------------
    # Moves

    def cmd_play(self, args: list[str]) -> str:
        expect_args("play", args, 2, "color and vertex")
        color = parse_color(args[0])
        move = parse_vertex(args[1], *self.size)
        self.maybe_ponder = True  # KataGo: even after refusing the move
        try:
            self.history.play(move, color)
        except ValueError:
            raise GtpError("illegal move") from None
        return ""

    def cmd_undo(self, args: list[str]) -> str:
        self._no_args("undo", args)
        if not self.history.undo():
            raise GtpError("cannot undo")
        self.game_reset()  # KataGo replays the game from its start
        return ""

    def cmd_is_legal(self, args: list[str]) -> str:
        expect_args("is_legal", args, 2, "color and vertex")
        color = parse_color(args[0])
        move = parse_vertex(args[1], *self.size)
        return "1" if self.history.is_legal(move, color) else "0"

    # --------------------------------------------------------------------------------------------
    # Rules and komi

    def cmd_komi(self, args: list[str]) -> str:
        expect_args("komi", args, 1, "komi")
        komi = parse_float(args[0], "komi")
        try:
            komi = validate_komi(komi)
        except RulesError:
            if abs(komi) > 400:
                raise GtpError("unacceptable komi") from None
            raise GtpError("komi must be an integer or half-integer") from None
        if self.config.ignoreGTPAndForceKomi is not None:
            komi = self.config.ignoreGTPAndForceKomi
        if komi != self.history.rules.komi:
            self.history.set_rules(self.history.rules.with_komi(komi))
        # A controller may send komi before every move: keep pondering through it (KataGo).
        self.maybe_ponder = len(self.history.moves) > 0
        return ""

    def cmd_get_komi(self, args: list[str]) -> str:
        self._no_args("get_komi", args)
        return format_komi(self.history.rules.komi)

    def cmd_kata_get_rules(self, args: list[str]) -> str:
        self._no_args("kata-get-rules", args)
        return self.history.rules.json_text()

    def cmd_kata_set_rules(self, args: list[str]) -> str:
        text = " ".join(args)
        try:
            rules = parse_rules(text, komi=self.history.rules.komi)
        except RulesError as e:
            raise GtpError(f"Unknown rules '{text}', {e}") from None
        except RecursionError:  # json.loads on absurdly nested input
            raise GtpError(f"Unknown rules '{text[:40]}...', JSON nested too deeply") from None
        self._replace_rules(rules)
        return ""

    def cmd_kata_set_rule(self, args: list[str]) -> str:
        expect_args("kata-set-rule", args, 2, "rule name and value")
        try:
            rules = self.history.rules.with_field(args[0], args[1])
        except RulesError as e:
            raise GtpError(str(e)) from None
        self._replace_rules(rules)
        return ""

    def cmd_kgs_rules(self, args: list[str]) -> str:
        expect_args("kgs-rules", args, 1, "chinese, aga, japanese or new_zealand")
        try:
            rules = parse_kgs_rules(args[0], komi=self.history.rules.komi)
        except RulesError as e:
            raise GtpError(str(e)) from None
        self._replace_rules(rules)
        return ""

    # --------------------------------------------------------------------------------------------
    # Reports

    def cmd_showboard(self, args: list[str]) -> str:
        self._no_args("showboard", args)
        return showboard_text(self.history)

    def cmd_final_score(self, args: list[str]) -> str:
        self._no_args("final_score", args)
        return final_score_text(anticipated_score(self.history))

    def cmd_final_status_list(self, args: list[str]) -> str:
        """alive / dead per the rules' count; seki is always empty, as in KataGo (whose alive list
        includes stones in seki)."""
        expect_args("final_status_list", args, 1, "alive, seki or dead")
        status = args[0]
        if status not in ("alive", "seki", "dead"):
            raise GtpError("Argument to final_status_list must be 'alive' or 'seki' or 'dead'")
        if status == "seki":
            return ""
        dead = dead_stones(self.history)
        wanted = [p for p in stone_points(self.history) if (p in dead) == (status == "dead")]
        return vertex_list(wanted, *self.size)

    def cmd_printsgf(self, args: list[str]) -> str:
        """`printsgf` or `printsgf -`: the SGF as the reply; `printsgf FILE`: written to FILE."""
        if len(args) > 1:
            raise GtpError(f"Expected zero or one argument for printsgf but got '{' '.join(args)}'")
        text = printsgf_text(self.history)
        if not args or args[0] == "-":
            return text
        try:
            with open(args[0], "w", encoding="utf-8") as f:
                f.write(text)
        except (OSError, ValueError) as e:
            raise GtpError(f"Could not open or write to file: {args[0]} ({e})") from None
        return ""


# ------------------------------------------------------------------------------------------------
# The loop

def _input_lines(stdin: TextIO) -> Iterator[str]:
    """Lines of the controller's input. A real stream is read as bytes so that binary junk cannot
    raise a decoding error (every non-ASCII byte is dropped by clean_line anyway)."""
    binary = getattr(stdin, "buffer", None)
    if binary is not None:
        for raw in iter(binary.readline, b""):
            yield raw.decode("latin-1")
    else:
        yield from iter(stdin.readline, "")


def _read_lines(stdin: TextIO, lines: "queue.Queue[Optional[str]]") -> None:
    """Reader thread: every input line into the queue, then None at end of input."""
    try:
        for raw in _input_lines(stdin):
            lines.put(raw)
    except (OSError, ValueError) as e:  # stdin closed or broken under us
        log.warning("GTP input ended: %s", e)
    finally:
        lines.put(None)


def run_gtp(config: GtpConfig, stdin: TextIO, stdout: TextIO) -> int:
    """Serve GTP until `quit` or end of input (exit status 0); 1 if the engine cannot start."""
    try:
        engine = GtpEngine(config)
    except GtpConfigError as e:
        log.error("%s", e)
        return 1
    return serve(engine, stdin, stdout)


def serve(engine: GtpEngine, stdin: TextIO, stdout: TextIO) -> int:
    """The command loop of a ready engine (exit status 0).

    Input is read by its own thread so that a line can arrive while an analysis is streaming from
    the search thread: the loop takes each line as it comes, stops the analysis (which ends its
    reply) and then handles the line. A command that searches in the foreground (genmove and its
    analyze variants) holds the loop, and lines sent meanwhile wait their turn, as in KataGo."""
    out = GtpOutput(stdout, log_replies=engine.config.logAllGTPCommunication)
    engine.out = out
    log.info("GTP ready, rules %s, board %dx%d", engine.history.rules.sgf_name(), *engine.size)
    lines: "queue.Queue[Optional[str]]" = queue.Queue()
    threading.Thread(target=_read_lines, args=(stdin, lines), name="gtp-stdin", daemon=True).start()
    try:
        while not out.broken:
            raw = lines.get()
            if raw is None:
                break
            engine.handle_line(raw)
            if engine.quit_requested:
                log.info("Quit requested by controller")
                break
    finally:
        engine.close()  # end of input during an analysis still ends its reply
    return 0
