"""The demo's errors, each a `LedgerlinkError` whose message says what to do.

LedgerlinkError
 └── DemoError              the demo could not set up or finish
      ├── DataDirInUseError another demo (or its worker) holds the data directory
      └── WorkerFailed      the worker exited, did not converge, or fell short
"""

from __future__ import annotations

from connectors.exceptions import LedgerlinkError

__all__ = ["DataDirInUseError", "DemoError", "WorkerFailed"]


class DemoError(LedgerlinkError):
    """The demo could not set up or finish; the message says what to do."""


class DataDirInUseError(DemoError):
    """Another demo holds the data directory; the message names ``--data-dir``."""


class WorkerFailed(DemoError):
    """The worker exited, did not converge or fell short; the message carries its log's tail."""
