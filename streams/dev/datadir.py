"""The demo's data directory: claiming it for one demo, and clearing the last run's state.

A demo holds an OS lock (``fcntl.flock`` on ``DATA_DIR/demo.lock``) for its whole life and
passes it on to its worker, so a second demo started on the same directory is refused
before it deletes anything — it would otherwise remove the RocksDB files under the first
one's running worker, and share (then lose) the first one's broker.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from streams.dev.errors import DataDirInUseError, DemoError
from streams.dev.localkafka.lock import holder_pid, locked_or_none

__all__ = ["LOCK_FILE", "claim_data_dir", "prepare_data_dir"]

LOCK_FILE = "demo.lock"
_MARKER = ".ledgerlink-demo"


@contextlib.contextmanager
def claim_data_dir(data_dir: Path) -> Iterator[int]:
    """Hold ``data_dir`` for one demo; yields the lock's file descriptor.

    Raises `DataDirInUseError` at once when another demo (or the worker it started) holds it.
    """
    lock_file = data_dir / LOCK_FILE
    with locked_or_none(lock_file) as descriptor:
        if descriptor is None:
            pid = holder_pid(lock_file)
            by = f" (pid {pid}, or the worker it started)" if pid else ""
            raise DataDirInUseError(
                f"{data_dir} is in use by another `ledgerlink demo`{by}; "
                "stop that one or pick another directory with --data-dir"
            )
        yield descriptor


def prepare_data_dir(data_dir: Path) -> Path:
    """Forget the previous demo worker's state in ``data_dir`` (which must be claimed).

    The simulators start empty on every run, so the last run's cursors and link table
    describe records that no longer exist. A directory that holds worker state but was
    not made by the demo is refused rather than emptied.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    marker = data_dir / _MARKER
    state_dirs = [data_dir / "cursors", data_dir / "faust"]
    if not marker.exists() and any(path.exists() for path in state_dirs):
        raise DemoError(
            f"{data_dir} holds a worker's state but is not a demo directory; "
            "pick another with --data-dir"
        )
    marker.write_text("This directory belongs to `ledgerlink demo`; it may empty it.\n")
    for path in state_dirs:
        shutil.rmtree(path, ignore_errors=True)
    return data_dir
