"""Advisory file locks: one that waits (commands and test sessions take turns) and one
that does not (a directory already in use is refused, not waited for)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["holder_pid", "locked", "locked_or_none"]


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """An exclusive advisory lock, so two commands or test sessions never race."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def locked_or_none(lock_file: Path) -> Iterator[int | None]:
    """Take the exclusive lock without waiting, for as long as the block runs.

    Yields the lock's file descriptor, or None when another process holds the lock. The
    holder's pid is written into the file, for `holder_pid` to name in a message.

    The lock is released by closing the file, not by unlocking it: a child given the
    descriptor with ``pass_fds`` shares the lock and keeps it for as long as it lives.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield handle.fileno()


def holder_pid(lock_file: Path) -> int | None:
    """The pid the lock's holder wrote into ``lock_file``, if it reads as one."""
    try:
        text = lock_file.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
