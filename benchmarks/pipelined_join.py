"""A sketch of a pipelined join, for the join-stage benchmark only (never the worker).

`streams.agents.join.JoinAgent` waits for Kafka's ack of each event's commands before it
commits the event's table writes and reads the next event. This sketch keeps that order
per event but overlaps events: it joins each event against the tables plus the writes
planned by the events before it that are still waiting, sends its commands without
waiting, and only when no further event is queued (or ``limit`` are waiting) awaits every
ack, then commits each event's table writes in order, with that event current so the
writes reach its changelog partition. Faust's own ack of an event (when the stream moves
on) would let its offset be committed before its writes; the sketch holds one more
reference to each message (`Message.incref`) and acks it itself after the commit.

It measures what amortising the ack wait could give, nothing more: it leaves out
refusals, dead letters, action items, replays, join failures and the connection locks
the sinks rely on, and it has not been tested through a rebalance. A batched join was
merged once and reverted after a stall following a rebalance (3068557).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from faust.streams import _current_event

from connectors.events import ChangeEvent
from streams.agents.join import JoinAgent
from streams.agents.plumbing import Delivery
from streams.sync.joiner import Joiner
from streams.sync.links import LinkTable
from streams.sync.reports import ReportBook
from streams.sync.staging import StagedMapping

__all__ = ["PipelinedJoin"]


@contextmanager
def _current(event: Any) -> Iterator[None]:
    """Make ``event`` Faust's current event, whose partition a table write goes to."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


@dataclass
class _Waiting:
    event: Any
    change: ChangeEvent
    links: StagedMapping
    reports: StagedMapping
    sends: list[Awaitable[Delivery]]


class PipelinedJoin(JoinAgent):
    limit = 500

    async def run(self, stream: Any) -> None:
        waiting: list[_Waiting] = []
        queue = stream.channel.queue
        async for event in stream.events():
            event.message.incref()
            change = ChangeEvent.from_bytes(event.message.value)
            under: tuple[MutableMapping[str, Any], MutableMapping[str, Any]] = (
                (waiting[-1].links, waiting[-1].reports) if waiting else (self.links, self.reports)
            )
            links, reports = StagedMapping(under[0]), StagedMapping(under[1])
            result = Joiner(
                self.flows, LinkTable(links), ReportBook(reports), clock_ms=self.clock_ms
            ).join(change, resync=False)
            sends = [
                await self.outbox.send(self.topics.upserts(u.target), u.key, u.to_bytes())
                for u in result.upserts
            ]
            waiting.append(_Waiting(event, change, links, reports, sends))
            if len(waiting) >= self.limit or queue.empty():
                await self._settle(waiting)
                waiting.clear()

    async def _settle(self, waiting: list[_Waiting]) -> None:
        for item in waiting:
            for send in item.sends:
                delivery = await send
                self.runtime.record_sent(
                    delivery.topic,
                    delivery.partition,
                    delivery.offset,
                    connection=item.change.connection,
                    since_ms=item.change.observed_ms,
                )
        for item in waiting:  # oldest first; each stage lies over the one before it
            with _current(item.event):
                item.links.apply(self.links)
                item.reports.apply(self.reports)
            message = item.event.message
            self.runtime.record_done(message.topic, message.partition, message.offset)
            item.event.ack()
