"""Logging for every goloop daemon: one line per record, to stderr and optionally a file.

Why stderr only: GTP and the analysis engine speak on stdout, so a stray log line there would corrupt
the protocol. Why one line per record: daemons run for days and their logs are grepped and tailed,
so a record never spans lines (newlines inside messages and tracebacks are escaped as `\\n`).

Format (UTC timestamps, logfmt-style fields after the message):

    2026-11-21T20:00:00.123Z INFO gtp ready visits=500 model="b6 c96.bin.gz"
    2026-11-21T20:00:01.456Z DEBUG gtp/engine.search searched playouts=812

The third column is the daemon name given to setup_logging, followed by `/module` for records from a
module logger (`logging.getLogger(__name__)` inside `goloop.engine.search` shows `engine.search`).
Structured fields are passed as `log.info("ready", extra=kv(visits=500))`.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, Optional

__all__ = ["setup_logging", "kv", "format_fields"]

_ROOT = "goloop"
_FIELDS_ATTR = "goloop_fields"


def kv(**fields: Any) -> dict[str, Any]:
    """`extra=` argument that attaches key=value fields to one record."""
    return {_FIELDS_ATTR: fields}


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    if escaped and not any(c in escaped for c in ' "='):
        return escaped
    return '"' + escaped.replace('"', '\\"') + '"'


def _format_field_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def format_fields(fields: dict[str, Any]) -> str:
    """`k=v k2="v with spaces"`: values are quoted only when they would not read back unambiguously."""
    return " ".join(f"{k}={_quote(_format_field_value(v))}" for k, v in fields.items())


class _LineFormatter(logging.Formatter):
    def __init__(self, daemon: str) -> None:
        super().__init__()
        self.daemon = daemon

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        stamp = f"{seconds}.{int(record.msecs):03d}Z"
        origin = self.daemon
        module = record.name[len(_ROOT) + 1:] if record.name.startswith(_ROOT + ".") else record.name
        if module and module != self.daemon:
            origin += "/" + module
        message = record.getMessage().replace("\n", "\\n").replace("\r", "\\r")
        parts = [stamp, record.levelname, origin, message]
        fields = getattr(record, _FIELDS_ATTR, None)
        if fields:
            parts.append(format_fields(fields))
        if record.exc_info:
            parts.append("exc=" + _quote(self.formatException(record.exc_info)))
        return " ".join(p for p in parts if p)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time, so redirection (tests, click) is honoured."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging(name: str, log_file: Optional[str] = None, verbose: bool = False) -> logging.Logger:
    """Route all `goloop.*` loggers to stderr (and `log_file`, appended) and return `goloop.<name>`.

    Calling it again replaces the handlers instead of duplicating them. `verbose` enables DEBUG."""
    root = logging.getLogger(_ROOT)
    for handler in list(root.handlers):
        if getattr(handler, "_goloop", False):
            root.removeHandler(handler)
            handler.close()
    formatter = _LineFormatter(name)
    handlers: list[logging.Handler] = [_StderrHandler()]
    if log_file is not None:
        parent = os.path.dirname(os.path.abspath(log_file))
        os.makedirs(parent, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a", encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._goloop = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False  # the root logger's handlers (if any) must not print records twice
    return logging.getLogger(f"{_ROOT}.{name}")
