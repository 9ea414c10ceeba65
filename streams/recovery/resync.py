"""`ledgerlink resync`: both systems listed from the start, compared with the links.

Every record of the connection is read as its system holds it now (full listings, no
cursor: the pollers' change sources asked for everything) and re-driven as a resync, so
the join compares it with the values both sides agreed on: a side changed behind
ledgerlink's back (a restored backup, a bulk import) is written back where it differs,
and nothing is written where it agrees. Records gone behind our back are reported as the
worker reports them anyway (deleted Chargebee customers are listed as deleted; the
worker's deletion watch finds PowerOffice Go's hard deletes).

Business entities are only known from Chargebee's events, so only each entity's latest
event is re-driven: an older one would teach the join an outdated name.
"""

from __future__ import annotations

import time

from connectors.events import ChangeEvent
from streams.agents.poll_loop import connection_sources
from streams.clients import ConnectionClients
from streams.config import ConnectionSettings
from streams.recovery.redrive import Channel, Redrive
from streams.recovery.summary import Summary
from streams.sync.replays import ReplayMode, ReplayRequest

__all__ = ["latest_per_record", "resync"]


def latest_per_record(events: list[ChangeEvent]) -> list[ChangeEvent]:
    """The newest event of each record, in the order the records were first seen."""
    newest: dict[str, ChangeEvent] = {}
    for event in events:
        known = newest.get(event.record_key)
        if known is None or event.source.version >= known.source.version:
            newest[event.record_key] = event
    return list(newest.values())


async def resync(connection: ConnectionSettings, channel: Channel) -> Summary:
    clients = ConnectionClients(connection)
    read = 0
    try:
        # The pollers' sources, entities first: a company whose entity is known links at once.
        sources = connection_sources(poweroffice=clients.poweroffice, chargebee=clients.chargebee)
        async with Redrive(channel, connection.id) as redrive:
            for source in sources:
                label = f"{source.system} {source.entity}"
                held: list[ChangeEvent] = []
                count = 0
                async for page in source.read_pages(None):
                    now_ms = int(time.time() * 1000)
                    events = [
                        source.to_event(record, connection=connection.id, observed_ms=now_ms)
                        for record in page
                    ]
                    count += len(events)
                    if source.entity == "business_entity":
                        held += events
                    else:
                        for event in events:
                            await redrive.publish(
                                ReplayRequest(mode=ReplayMode.RESYNC, event=event)
                            )
                    channel.progress(f"{label}: read {count}")
                for event in latest_per_record(held):
                    await redrive.publish(ReplayRequest(mode=ReplayMode.RESYNC, event=event))
                read += count
            channel.progress(f"read {read}; waiting for the worker's join")
            return await redrive.finish(read=read)
    finally:
        await clients.aclose()
