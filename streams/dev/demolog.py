"""Where the demo process's own log goes: a file in its data directory, not the terminal.

The terminal shows the demo's progress and results; log records of the modules it runs
in-process (local Kafka, the simulators, httpx) go to ``DATA_DIR/demo.log`` beside the
worker's ``worker.log``, the previous run's kept as ``demo.log.1``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LOG_FORMAT", "logging_to_file"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def logging_to_file(log_file: Path) -> Iterator[Path]:
    """While the block runs, the root logger writes to ``log_file`` only (same level)."""
    if log_file.exists():
        log_file.replace(log_file.with_name(log_file.name + ".1"))
    root = logging.getLogger()
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    replaced = list(root.handlers)
    for old in replaced:
        root.removeHandler(old)
    root.addHandler(handler)
    try:
        yield log_file
    finally:
        root.removeHandler(handler)
        handler.close()
        for old in replaced:
            root.addHandler(old)
