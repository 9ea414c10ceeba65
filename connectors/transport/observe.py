"""Who wants to hear about every HTTP attempt the connectors make (metrics, mostly).

`send_with_retries` is the one place every API request passes; it tells each observer
about every attempt: the system, the HTTP status (None when the connection failed) and
whether it will be retried. The connectors know nothing of who listens — the worker
registers its metrics here. An observer that raises is logged and ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["RequestObserver", "notify", "observe_requests"]

log = logging.getLogger(__name__)

#: (system, status or None for a failed connection, whether it will be retried)
RequestObserver = Callable[[str, int | None, bool], None]

_observers: list[RequestObserver] = []


def observe_requests(observer: RequestObserver) -> Callable[[], None]:
    """Register ``observer``; returns the function that unregisters it."""
    _observers.append(observer)

    def remove() -> None:
        if observer in _observers:
            _observers.remove(observer)

    return remove


def notify(system: str, status: int | None, retrying: bool) -> None:
    for observer in list(_observers):
        try:
            observer(system, status, retrying)
        except Exception:  # metrics must never break a request
            log.exception("request observer failed")
