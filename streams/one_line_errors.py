"""Logging an expected failure as one line, without a traceback.

A `LedgerlinkError` already says what a person should do; a traceback under it only hides
that. `OneLineErrors` is a filter for log handlers: it drops the traceback (not the
message) of any record whose exception is a `LedgerlinkError`. Once such an error has
been seen, Faust is stopping because of it, and the tracebacks its services log while
they shut down (e.g. "Event loop is closed") are dropped as well. Any other exception
keeps its traceback: that is a bug, and the traceback is how it gets fixed.
"""

from __future__ import annotations

import logging

from connectors.exceptions import LedgerlinkError

__all__ = ["OneLineErrors"]


class OneLineErrors(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.stopping = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            if isinstance(record.exc_info[1], LedgerlinkError):
                self.stopping = True
            if self.stopping:
                record.exc_info = None
                record.exc_text = None
        return True

    def install(self, logger: logging.Logger) -> None:
        """Filter every handler of ``logger`` (the root logger, once Faust set it up)."""
        for handler in logger.handlers:
            if self not in handler.filters:
                handler.addFilter(self)
