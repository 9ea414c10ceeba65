"""Which Faust event a table write belongs to, for work done after the stream moved on.

A Faust table write goes to the changelog partition (and the RocksDB) of the event Faust
holds as current (`faust.current_event`), a context variable set while the stream
iterates. An agent that handles events in batches writes an event's table entries after
it has read later events, so it names the event itself: `as_current(event)` makes
``event`` current for the writes inside the block and restores what was current before.
``None`` (an agent driven without Faust, as in the unit tests) changes nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faust.streams import _current_event

__all__ = ["as_current"]


@contextmanager
def as_current(event: Any | None) -> Iterator[None]:
    if event is None:
        yield
        return
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
