"""The one poll loop: read every connection's change sources, publish, repeat.

Used by the worker (with a `Runtime` that the status view reads, and the deletion watch
that finds PowerOffice Go hard deletes) and by `ledgerlink poll` (`run_polling`). A
transient failure of one source is logged and retried at the next cycle without
stopping the others; a permanent one (bad keys, a malformed answer) stops the loop with
an error that says what to fix.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

from connectors.chargebee.client import ChargebeeClient
from connectors.chargebee.poller import BusinessEntityChangeSource, CustomerChangeSource
from connectors.events import ChangeEvent
from connectors.exceptions import TransientApiError
from connectors.polling.cursor_store import CursorStore, FileCursorStore
from connectors.polling.publisher import ChangePublisher, EventSink, PublishError
from connectors.polling.runner import ChangeSource, PollResult, poll_once
from connectors.poweroffice.client import PowerOfficeClient
from connectors.poweroffice.deletions import DeletionWatch
from connectors.poweroffice.poller import poweroffice_sources
from streams.clients import chargebee_client, poweroffice_client
from streams.config import Settings
from streams.runtime import Runtime

__all__ = [
    "SYSTEMS",
    "ConnectionPoll",
    "PollLoop",
    "TrackingPublisher",
    "connection_sources",
    "run_polling",
]

log = logging.getLogger(__name__)

SYSTEMS = ("poweroffice", "chargebee")


def connection_sources(
    *,
    poweroffice: PowerOfficeClient | None,
    chargebee: ChargebeeClient | None,
    page_size: int | None = None,
) -> list[ChangeSource]:
    """One connection's change sources, business entities first: a company or department
    whose entity is already known then links at once, instead of raising an action item
    that is resolved seconds later."""
    sources: list[ChangeSource] = []
    cb_page = min(page_size or 100, 100)
    if chargebee is not None:
        sources.append(BusinessEntityChangeSource(chargebee, page_size=cb_page))
    if poweroffice is not None:
        sources.extend(poweroffice_sources(poweroffice, page_size=page_size or 1000))
    if chargebee is not None:
        sources.append(CustomerChangeSource(chargebee, page_size=cb_page))
    return sources


@dataclass
class ConnectionPoll:
    """What is polled for one connection."""

    connection: str
    sources: Sequence[ChangeSource]
    deletions: DeletionWatch | None = None


class PollLoop:
    def __init__(
        self,
        connections: Sequence[ConnectionPoll],
        *,
        store: CursorStore,
        sink: EventSink,
        interval: float,
        reconcile_interval: float | None = None,
        runtime: Runtime | None = None,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        """``owns``: whether this worker polls a connection now (it owns the connection's
        partition, `streams.ownership`); asked before every poll. None: every connection."""
        self.connections = list(connections)
        self.owns = owns
        self.store = store
        self.sink = sink
        self.interval = interval
        self.reconcile_interval = reconcile_interval
        self.runtime = runtime
        self.clock_ms = clock_ms
        self._next_reconcile = 0.0

    async def run(self, *, once: bool = False) -> list[PollResult]:
        """Poll every interval until cancelled; with ``once``, one cycle and its results."""
        while True:
            results = await self.cycle()
            if once:
                return results
            await asyncio.sleep(self.interval)

    async def cycle(self) -> list[PollResult]:
        """One pass over every connection's sources (and, when due, the deletion watch)."""
        reconcile = self.reconcile_interval is not None and time.monotonic() >= self._next_reconcile
        quiet = True
        everything: list[PollResult] = []
        for connection in self.connections:
            if self.owns is not None and not self.owns(connection.connection):
                continue
            results = await self._poll_sources(connection)
            everything.extend(results)
            if self.runtime is not None:
                self.runtime.record_polls(connection.connection, results, at_ms=self.clock_ms())
            quiet = quiet and len(results) == len(connection.sources)
            quiet = quiet and all(r.published == 0 for r in results)
            if reconcile and connection.deletions is not None:
                try:
                    deleted = await connection.deletions.check(
                        self.sink, now_ticks=time.time_ns() // 100
                    )
                    quiet = quiet and deleted == 0
                except (TransientApiError, PublishError) as exc:
                    log.warning(
                        "%s: looking for deleted records failed: %s", connection.connection, exc
                    )
                    quiet = False
                    reconcile = False
        if reconcile and self.reconcile_interval is not None:
            self._next_reconcile = time.monotonic() + self.reconcile_interval
        if self.runtime is not None:
            self.runtime.record_cycle(quiet=quiet)
        return everything

    async def _poll_sources(self, connection: ConnectionPoll) -> list[PollResult]:
        results: list[PollResult] = []
        for source in connection.sources:
            try:
                results.append(
                    await poll_once(
                        source, connection=connection.connection, store=self.store, sink=self.sink
                    )
                )
            except (TransientApiError, PublishError) as exc:
                log.warning(
                    "%s %s %s: poll failed, retrying next cycle: %s",
                    connection.connection,
                    source.system,
                    source.entity,
                    exc,
                )
        return results


class TrackingPublisher(ChangePublisher):
    """Publishes change events, remembering their offsets for the convergence check and
    showing each event to ``on_published`` (the deletion watch learns ids from them)."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        runtime: Runtime,
        *,
        on_published: Callable[[ChangeEvent], None],
    ) -> None:
        super().__init__(bootstrap_servers, topic)
        self._runtime = runtime
        self._on_published = on_published
        self._batch: Iterator[ChangeEvent] = iter(())

    def on_acknowledged(self, partition: int, offset: int) -> None:
        # Acknowledgements arrive in the order of the batch being published.
        event = next(self._batch, None)
        self._runtime.record_sent(
            self.topic,
            partition,
            offset,
            connection=event.connection if event is not None else None,
            since_ms=event.observed_ms if event is not None else None,
        )

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        self._batch = iter(events)
        await super().publish(events)
        for event in events:
            self._on_published(event)


async def run_polling(
    settings: Settings,
    *,
    once: bool = False,
    systems: Sequence[str] = SYSTEMS,
    page_size: int | None = None,
) -> list[PollResult]:
    """`ledgerlink poll`: the pollers of ``systems`` for every configured connection.

    Returns the results of the last cycle (with ``once``, of the only one).
    """
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        raise ValueError(f"unknown system(s): {', '.join(sorted(unknown))}")
    async with AsyncExitStack() as stack:
        polls: list[ConnectionPoll] = []
        for connection in settings.connections:
            po_client = cb_client = None
            if "poweroffice" in systems:
                po_client = poweroffice_client(connection.poweroffice)
                stack.push_async_callback(po_client.aclose)
            if "chargebee" in systems:
                cb_client = chargebee_client(connection.chargebee)
                stack.push_async_callback(cb_client.aclose)
            sources = connection_sources(
                poweroffice=po_client, chargebee=cb_client, page_size=page_size
            )
            polls.append(ConnectionPoll(connection.id, sources))
        publisher = ChangePublisher(settings.kafka_bootstrap_servers, settings.topics.changes)
        await publisher.start()
        stack.push_async_callback(publisher.stop)
        loop = PollLoop(
            polls,
            store=FileCursorStore(settings.cursor_dir),
            sink=publisher,
            interval=settings.poll_interval,
        )
        return await loop.run(once=once)
