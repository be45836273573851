"""SIGINT and SIGTERM for every daemon: the first asks it to stop once its pending writes are done,
the second stops it now.

Why one class: each daemon must finish what it is writing on Ctrl-C (or the SIGTERM of a
launch script, or of the loop that started it) so that nothing another daemon reads is left half
written, and an impatient second Ctrl-C must still work. The request is a flag the daemon's loop
tests (`if stop:`), an event its waits wake up on (`stop.wait(seconds)`), and on the second
signal a KeyboardInterrupt raised where the daemon happens to be, which each daemon catches to
exit at once (its files are already whole: every write is a rename).
"""
from __future__ import annotations

import contextlib
import logging
import signal
import threading
from typing import Iterator

from goloop.common.logs import kv

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Truthy once a stop was asked for; `what` says in the log what the daemon does then."""

    def __init__(self, what: str, logger: logging.Logger):
        self.event = threading.Event()
        self.count = 0
        self.what = what
        self.log = logger

    def __call__(self, signum, frame) -> None:
        self.count += 1
        name = signal.Signals(signum).name
        if self.count >= 2:
            self.log.info("second stop request: exiting now", extra=kv(signal=name))
            raise KeyboardInterrupt
        self.log.info("stop requested: %s", self.what, extra=kv(signal=name))
        self.event.set()

    def __bool__(self) -> bool:
        return self.event.is_set()

    def request(self) -> None:
        """Ask for a stop from the program itself (a limit reached, a test)."""
        self.event.set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking at once on a stop request; True if one came."""
        return self.event.wait(seconds)

    def install(self) -> "StopRequest":
        """Route SIGINT and SIGTERM here until `restore()`. Outside the main thread (a test
        driving a daemon from a thread) signals stay as they are."""
        self._old = {}
        if threading.current_thread() is threading.main_thread():
            self._old = {s: signal.signal(s, self) for s in SIGNALS}
        return self

    def restore(self) -> None:
        for s, h in getattr(self, "_old", {}).items():
            signal.signal(s, h)
        self._old = {}


@contextlib.contextmanager
def handling_stop_signals(stop: StopRequest) -> Iterator[StopRequest]:
    """`stop.install()` for the block, `stop.restore()` after it."""
    stop.install()
    try:
        yield stop
    finally:
        stop.restore()
