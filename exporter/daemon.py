"""`goloop export`: publish every checkpoint the trainer hands over, then wait for the next.

Thin by design: the export itself is publish.py; this module polls, handles signals and logs,
as KataGo's `while true; do export_model_for_selfplay.sh ...; sleep 10; done` loop does.
SIGINT/SIGTERM lets the export in progress finish (it is a few seconds) and exits 0; a second
signal exits at once, leaving at most a `<NAME>.exported` directory that the next run rebuilds.
"""
from __future__ import annotations

import logging
import signal
import threading

from goloop.common.files.heartbeat import Heartbeat
from goloop.common.logs import kv
from goloop.common.runtime import apply_threads, plan_threads
from goloop.exporter.publish import ExportError, export_all

log = logging.getLogger(__name__)


def run_exporter(cfg, once: bool = False) -> int:
    """Export until stopped (or, with `once`, until nothing is pending); the exit code."""
    # Folding norms into the file's scales is the only arithmetic: one CPU thread.
    apply_threads(plan_threads("cpu", None, 1), log)
    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("stop requested: finishing the export in progress",
                 extra=kv(signal=signal.Signals(signum).name))
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    beat = Heartbeat(cfg.base_dir, "exporter")
    exported = 0
    try:
        log.info("exporter started", extra=kv(base_dir=cfg.base_dir, gating=cfg.use_gating,
                                              prefix=cfg.name_prefix, version=cfg.model_version))
        while not stop.is_set():
            beat.beat(exported=exported)
            for _ in export_all(cfg.base_dir, cfg, stop.is_set):
                exported += 1
                beat.beat(force=True, exported=exported)
            if once:
                break
            stop.wait(cfg.poll_seconds)
    except ExportError as e:
        log.error("%s", e)
        return 1
    except KeyboardInterrupt:
        log.info("second stop request: exiting now")
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        beat.close()
    log.info("exporter finished", extra=kv(exported=exported))
    return 0
