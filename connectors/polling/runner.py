"""The poll loop every change source shares.

A `ChangeSource` knows one entity of one system: how to read pages of records changed
after a position, how to mark a record for the cursor, and how to turn it into a
`ChangeEvent`. `poll_once` owns the loop around it: load the cursor, read from the overlap
window, publish only unseen record versions, and move the durable cursor after each page
the broker acknowledged — never before. A poller killed at any point therefore re-reads
at most the pages whose cursor was not saved, and misses nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.events import ChangeEvent
from connectors.polling.cursor import RecordMark, advance, select_unseen, window_start
from connectors.polling.cursor_store import CursorStore
from connectors.polling.publisher import EventSink

__all__ = ["ChangeSource", "PollResult", "poll_once"]

log = logging.getLogger(__name__)

Record = Mapping[str, Any]


class ChangeSource(Protocol):
    """One entity of one system, read incrementally."""

    @property
    def system(self) -> str: ...

    @property
    def entity(self) -> str: ...

    @property
    def overlap(self) -> int:
        """How far behind the high-water mark each read starts, in the position's unit."""
        ...

    def read_pages(self, since: int | None) -> AsyncIterator[Sequence[Record]]:
        """Pages of records whose position is strictly greater than ``since``."""
        ...

    def mark(self, record: Record) -> RecordMark: ...

    def to_event(self, record: Record, *, connection: str, observed_ms: int) -> ChangeEvent: ...


@dataclass(frozen=True, slots=True)
class PollResult:
    system: str
    entity: str
    pages: int
    read: int
    published: int
    high_water: int | None


async def poll_once(
    source: ChangeSource,
    *,
    connection: str,
    store: CursorStore,
    sink: EventSink,
    clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> PollResult:
    """Read everything new for ``source`` once, publishing each unseen record version."""
    cursor = await store.load(connection, source.system, source.entity)
    since = window_start(cursor, source.overlap)
    pages = read = published = 0
    async for page in source.read_pages(since):
        pages += 1
        read += len(page)
        by_token: dict[str, Record] = {}
        marks: list[RecordMark] = []
        for record in page:
            mark = source.mark(record)
            marks.append(mark)
            by_token.setdefault(mark.token, record)
        fresh = select_unseen(cursor, marks)
        if not fresh:
            continue
        observed = clock_ms()
        events = [
            source.to_event(by_token[mark.token], connection=connection, observed_ms=observed)
            for mark in fresh
        ]
        await sink.publish(events)
        cursor = advance(cursor, fresh, source.overlap)
        await store.save(connection, source.system, source.entity, cursor)
        published += len(events)
    if published:
        log.info(
            "%s %s: published %d change(s) from %d record(s) in %d page(s)",
            source.system,
            source.entity,
            published,
            read,
            pages,
        )
    return PollResult(
        system=source.system,
        entity=source.entity,
        pages=pages,
        read=read,
        published=published,
        high_water=cursor.high_water,
    )
