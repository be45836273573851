"""Fixtures every test gets."""
from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def restore_goloop_logger():
    """Commands run in-process (click's CliRunner) call setup_logging, which reconfigures the
    shared `goloop` logger (its own handlers, no propagation); put it back after each test so
    that later tests' log capture sees records whatever ran before them."""
    root = logging.getLogger("goloop")
    saved = (list(root.handlers), root.level, root.propagate)
    yield
    for handler in list(root.handlers):
        if handler not in saved[0]:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved[1])
    root.propagate = saved[2]
