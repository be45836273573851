"""Heartbeat files: which daemons of a run are alive, seen from the shared BASEDIR alone.

Daemons run on several machines that share only the filesystem, so `goloop status` cannot ask
them; each process instead rewrites BASEDIR/heartbeats/<daemon>-<host>-<pid>.json every
`interval` seconds (atomically, like every file another process reads) with what it is doing.
A file not refreshed for three intervals belongs to a process that died or hangs; a clean exit
removes its file. Writing is best effort: a daemon never stops because a heartbeat could not
be written (a full disk is reported by the writes that matter).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Any, Optional

from goloop.common.atomicfile import atomic_write

log = logging.getLogger(__name__)

HEARTBEAT_DIR = "heartbeats"
DEAD_AFTER_INTERVALS = 3


class Heartbeat:
    """One process's heartbeat file; call `beat(**state)` as often as convenient."""

    def __init__(self, base_dir: str, daemon: str, interval: float = 30.0):
        self.daemon = daemon
        self.interval = interval
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started = time.time()
        self.path = os.path.join(base_dir, HEARTBEAT_DIR, f"{daemon}-{self.host}-{self.pid}.json")
        self._last = -1e30
        self._warned = False

    def beat(self, force: bool = False, **state: Any) -> None:
        now = time.time()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        record = dict(daemon=self.daemon, host=self.host, pid=self.pid, started=self.started,
                      updated=now, interval=self.interval, state=state)
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with atomic_write(self.path, "w", encoding="utf-8") as f:
                json.dump(record, f, sort_keys=True)
        except OSError as e:
            if not self._warned:
                log.warning("cannot write heartbeat %s: %s", self.path, e)
                self._warned = True

    def close(self) -> None:
        try:
            os.remove(self.path)
        except OSError:
            pass


def read_heartbeats(base_dir: str, now: Optional[float] = None) -> list[dict]:
    """Every heartbeat of the run, newest first, each with `alive` and `age_s` added.

    A process on this machine that no longer exists is dead whatever its file says."""
    now = time.time() if now is None else now
    folder = os.path.join(base_dir, HEARTBEAT_DIR)
    out = []
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    host = socket.gethostname()
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                rec = json.load(f)
            age = now - float(rec["updated"])
            alive = age <= DEAD_AFTER_INTERVALS * float(rec.get("interval", 30.0))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if alive and rec.get("host") == host and not _pid_exists(int(rec.get("pid", -1))):
            alive = False
        rec["age_s"] = age
        rec["alive"] = alive
        out.append(rec)
    out.sort(key=lambda r: -float(r["updated"]))
    return out


def _pid_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
