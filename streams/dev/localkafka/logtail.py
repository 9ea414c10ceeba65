"""The last lines of a tool's output or of the broker's log, quoted in error messages."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LOG_TAIL_LINES", "log_tail", "tail_text"]

LOG_TAIL_LINES = 40


def tail_text(text: str, lines: int) -> str:
    """The last `lines` lines of text."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def log_tail(log_file: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file (reading at most its last 64 KiB)."""
    try:
        with log_file.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log written)"
    return tail_text(text, lines) or "(log is empty)"
