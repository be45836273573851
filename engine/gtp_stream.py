"""Replies that outlive their command: the shared output stream and the one running background job.

Most GTP commands answer at once, but KataGo's analysis commands answer in pieces: `kata-analyze`
prints its `=` header, then an `info ...` line every interval from the searching thread, until the
controller sends anything at all (a command or a bare newline), which stops the search and ends the
reply with the blank line. `kata-search_cancellable` replies when its search ends, or `= cancelled`
when input arrives first. So two threads write to stdout (the command loop and the search), and
every write goes through one lock so that lines never interleave mid-line; and the engine keeps at
most one background job, which the loop stops before it handles the next input line.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Optional, TextIO

log = logging.getLogger(__name__)

# The name of the background job that ponders (gtp_search), which the loop treats apart.
PONDER_JOB = "ponder"


class GtpOutput:
    """Thread-safe writer of reply text. Text is sent as ASCII (anything else becomes `?`, which
    only a bug could produce), flushed at once so that a controller waiting on a line gets it.

    A closed pipe (the controller went away) is remembered in `broken` instead of raised, so that a
    search thread writing its last lines cannot crash; the loop sees the flag and ends."""

    def __init__(self, stream: TextIO, log_replies: bool = False) -> None:
        self.stream = stream
        self.log_replies = log_replies
        self.broken = False
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        if not text:
            return
        with self._lock:
            if self.broken:
                return
            try:
                self.stream.write(text.encode("ascii", "replace").decode("ascii"))
                self.stream.flush()
            except (BrokenPipeError, ValueError):  # ValueError: write to a closed file
                self.broken = True
                return
        if self.log_replies:
            log.info("Reply: %s", text.rstrip("\n"))


class BackgroundJob:
    """A command still at work after the loop moved on: one thread, told to end by `stop_event`.

    `run(stop_event)` does the work and writes whatever the command prints, including its own ending
    when it has one (a cancellable search prints its move or `cancelled`). `on_stop` is text written
    after the thread has ended when the job is stopped (an analysis ends its reply with a blank line
    then, and only then, as KataGo does); `on_error` is written if `run` fails, so that a reply the
    controller waits for still ends."""

    def __init__(self, name: str, run: Callable[[threading.Event], None], out: GtpOutput,
                 on_stop: str = "", on_error: str = "") -> None:
        self.name = name
        self.out = out
        self.on_stop = on_stop
        self.on_error = on_error
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(run,), name=f"gtp-{name}",
                                        daemon=True)

    def _main(self, run: Callable[[threading.Event], None]) -> None:
        try:
            run(self.stop_event)
        except Exception:  # the reply is already under way; a bug must not kill the session
            log.exception("background GTP command %s failed", self.name)
            self.out.write(self.on_error)

    def start(self) -> "BackgroundJob":
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the job (waiting for its thread) and write its ending."""
        self.stop_event.set()
        self._thread.join()
        self.out.write(self.on_stop)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


def header(command_id: Optional[int]) -> str:
    """The `=` line a streamed reply starts with (`=12` with an id), as KataGo prints it before the
    first analysis line."""
    return ("=" if command_id is None else f"={command_id}") + "\n"


def full_reply(command_id: Optional[int], text: str, ok: bool = True) -> str:
    """A whole one-piece reply written later by a background job (KataGo prints these without
    filtering blank lines, but the texts written this way never contain any)."""
    prefix = ("=" if ok else "?") + ("" if command_id is None else str(command_id))
    return f"{prefix} {text}\n\n"
