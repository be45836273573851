"""A GTP engine in a subprocess, spoken to one command at a time (for `goloop match`).

Why a blocking client: arena.py runs each command on a worker thread (the pipe read releases
the GIL), so an engine thinking about its move costs the batched searches of the other games
nothing; one engine process serves one game at a time, so its commands never interleave.
The engine's stderr goes to the log (at debug level) through a reader thread, so a chatty
engine (KataGo prints its whole config) can never fill the pipe and stall.
"""
from __future__ import annotations

import logging
import shlex
import subprocess
import threading
from collections import deque
from typing import List, Optional

log = logging.getLogger(__name__)


class GtpError(RuntimeError):
    """The engine refused a command, answered nonsense, or died."""


class GtpEngine:
    """One engine process. `send` returns the reply text after '= ' (or raises GtpError)."""

    def __init__(self, command: str, name: str):
        self.command = command
        self.name = name
        argv = shlex.split(command)
        if not argv:
            raise GtpError(f"{name}: empty engine command")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, bufsize=1)
        except OSError as e:
            raise GtpError(f"{name}: cannot start {command!r}: {e.strerror or e}") from None
        self._stderr_tail: deque = deque(maxlen=20)
        self._reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._reader.start()
        self._commands: Optional[set] = None

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            self._stderr_tail.append(line)
            log.debug("%s stderr: %s", self.name, line)

    def _died(self, command: str) -> GtpError:
        code = self.proc.poll()
        tail = " | ".join(list(self._stderr_tail)[-3:])
        return GtpError(f"{self.name} ({self.command!r}) exited (code {code}) during "
                        f"{command!r}" + (f"; its last stderr lines: {tail}" if tail else ""))

    def send(self, command: str) -> str:
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died(command) from None
        lines: List[str] = []
        while True:
            line = self.proc.stdout.readline()
            if line == "":
                raise self._died(command)
            line = line.rstrip("\r\n")
            if line == "":
                if lines:
                    break
                continue
            lines.append(line)
        reply = "\n".join(lines)
        if reply.startswith("="):
            return reply[1:].strip()
        raise GtpError(f"{self.name} refused {command!r}: {reply}")

    def supports(self, command: str) -> bool:
        """Whether `list_commands` names `command` (asked once)."""
        if self._commands is None:
            try:
                self._commands = set(self.send("list_commands").split())
            except GtpError:
                self._commands = set()
        return command in self._commands

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """`quit`, then wait a little; kill it if it does not go."""
        if self.alive:
            try:
                self.send("quit")
            except GtpError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
