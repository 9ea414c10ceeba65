"""The broker's process: its pid file, whether it is alive and ours, stopping it."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path

from streams.dev.localkafka.layout import BrokerLayout

__all__ = ["STOP_TIMEOUT", "alive", "read_pid_file", "running_pid", "terminate"]

log = logging.getLogger(__name__)

STOP_TIMEOUT = 60.0


def read_pid_file(pid_file: Path) -> int | None:
    """The pid recorded in a pid file, or None when there is none or it is garbage."""
    try:
        text = pid_file.read_text().strip()
    except OSError:
        return None
    if not text.isdigit() or int(text) <= 0:
        return None
    return int(text)


def alive(pid: int) -> bool:
    """Whether pid is a live process (a zombie, or our own exited child, is not)."""
    try:
        # Reap it if it is our own child that exited (test sessions start brokers themselves).
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _is_our_broker(pid: int, layout: BrokerLayout) -> bool:
    """Whether pid is the broker of this data directory (not a recycled pid)."""
    if not Path("/proc/self").exists():  # no procfs (macOS): trust the pid file
        return True
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"kafka.Kafka" in argv and str(layout.properties_file).encode() in argv


def running_pid(layout: BrokerLayout) -> int | None:
    """The pid of this data directory's running broker; a stale pid file is removed."""
    pid = read_pid_file(layout.pid_file)
    if pid is not None and alive(pid) and _is_our_broker(pid, layout):
        return pid
    if layout.pid_file.exists():
        log.info("Removing stale pid file %s", layout.pid_file)
        layout.pid_file.unlink(missing_ok=True)
    return None


def terminate(pid: int, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGTERM, wait, SIGKILL only after the timeout. True when it stopped on SIGTERM."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    log.warning("Kafka (pid %d) ignored SIGTERM for %.0f s; killing it", pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while alive(pid):
        time.sleep(0.1)
    return False
