"""The polling service: builds both systems' change sources from the settings and runs them.

`run_polling` reads every source once (`once=True`) or on every poll interval until
cancelled. A transient API failure of one source is logged and retried at the next cycle
without stopping the others; a permanent one (bad keys, a malformed answer) stops the
service with an error that says what to fix.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack

from connectors.chargebee.poller import chargebee_sources
from connectors.exceptions import TransientApiError
from connectors.polling.cursor_store import CursorStore
from connectors.polling.publisher import ChangePublisher, EventSink, PublishError
from connectors.polling.runner import ChangeSource, PollResult, poll_once
from connectors.poweroffice.poller import poweroffice_sources
from streams.clients import chargebee_client, poweroffice_client
from streams.config import Settings

__all__ = ["SYSTEMS", "poll_cycle", "run_polling"]

log = logging.getLogger(__name__)

SYSTEMS = ("poweroffice", "chargebee")


async def poll_cycle(
    sources: Sequence[ChangeSource], *, connection: str, store: CursorStore, sink: EventSink
) -> list[PollResult]:
    """Poll each source once; a transient failure of one does not stop the rest."""
    results: list[PollResult] = []
    for source in sources:
        try:
            results.append(await poll_once(source, connection=connection, store=store, sink=sink))
        except (TransientApiError, PublishError) as exc:
            log.warning(
                "%s %s: poll failed, retrying next cycle: %s", source.system, source.entity, exc
            )
    return results


async def run_polling(
    settings: Settings,
    *,
    once: bool = False,
    systems: Sequence[str] = SYSTEMS,
    page_size: int | None = None,
) -> list[PollResult]:
    """Run the pollers of ``systems`` for every configured connection.

    Returns the results of the last cycle (with ``once``, of the only one).
    """
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        raise ValueError(f"unknown system(s): {', '.join(sorted(unknown))}")
    async with AsyncExitStack() as stack:
        sources: dict[str, list[ChangeSource]] = {}
        for connection in settings.connections:
            mine = sources.setdefault(connection.id, [])
            if "poweroffice" in systems:
                po_client = poweroffice_client(connection.poweroffice)
                stack.push_async_callback(po_client.aclose)
                mine.extend(poweroffice_sources(po_client, page_size=page_size or 1000))
            if "chargebee" in systems:
                cb_client = chargebee_client(connection.chargebee)
                stack.push_async_callback(cb_client.aclose)
                mine.extend(chargebee_sources(cb_client, page_size=min(page_size or 100, 100)))
        publisher = ChangePublisher(settings.kafka_bootstrap_servers, settings.topics.changes)
        await publisher.start()
        stack.push_async_callback(publisher.stop)
        store = CursorStore(settings.cursor_dir)
        while True:
            results: list[PollResult] = []
            for connection_id, connection_sources in sources.items():
                results.extend(
                    await poll_cycle(
                        connection_sources, connection=connection_id, store=store, sink=publisher
                    )
                )
            if once:
                return results
            await asyncio.sleep(settings.poll_interval)
