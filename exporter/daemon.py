"""`goloop export`: publish every checkpoint the trainer hands over, then wait for the next.

Thin by design: the export itself is publish.py; this module polls, handles signals and logs,
as KataGo's `while true; do export_model_for_selfplay.sh ...; sleep 10; done` loop does.
SIGINT/SIGTERM lets the export in progress finish (it is a few seconds) and exits 0; a second
signal exits at once, leaving at most a `<NAME>.exported` directory that the next run rebuilds.
"""
from __future__ import annotations

import logging

from goloop.common.files.heartbeat import Heartbeat
from goloop.common.logs import kv
from goloop.common.runtime import apply_threads, plan_threads
from goloop.common.stopsignal import StopRequest, handling_stop_signals
from goloop.exporter.publish import ExportError, export_all

log = logging.getLogger(__name__)


def run_exporter(cfg, once: bool = False) -> int:
    """Export until stopped (or, with `once`, until nothing is pending); the exit code."""
    # Folding norms into the file's scales is the only arithmetic: one CPU thread.
    apply_threads(plan_threads("cpu", None, 1), log)
    stop = StopRequest("finishing the export in progress", log)
    beat = Heartbeat(cfg.base_dir, "exporter")
    exported = 0
    try:
        with handling_stop_signals(stop):
            log.info("exporter started", extra=kv(base_dir=cfg.base_dir, gating=cfg.use_gating,
                                                  prefix=cfg.name_prefix,
                                                  version=cfg.model_version))
            while not stop:
                beat.beat(exported=exported)
                for _ in export_all(cfg.base_dir, cfg, lambda: bool(stop)):
                    exported += 1
                    beat.beat(force=True, exported=exported)
                if once:
                    break
                stop.wait(cfg.poll_seconds)
    except ExportError as e:
        log.error("%s", e)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        beat.close()
    log.info("exporter finished", extra=kv(exported=exported))
    return 0
