"""The join agent: one change event in, upserts, dead letters and action items out.

A thin loop around the pure `streams.sync.joiner.Joiner`. Every message is checked at the
edge (`streams.sync.validation`); one that is not a change event, or that this worker
must not act on, becomes a dead letter with its reason and the agent goes on. The
joiner plans against staged tables; the agent sends what it planned and commits the
table writes only after Kafka acknowledged every message, so a crash in between replays
the same decision (at-least-once, nothing lost).

The same agent also reads `changes.replay` (`run_replay`): change events re-driven by the
recovery commands, wrapped in a `ReplayRequest` that says whether to join them as usual
or as a resync (`streams.sync.replays`). Both loops share the connection locks, so the
two topics never interleave inside one decision.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, MutableMapping, Sequence
from typing import Any

from connectors.events import ChangeEvent, EventDecodeError
from mappings import Flow
from streams.agents.plumbing import ConnectionLocks, Delivery, Outbox, Received, refusal
from streams.config.topics import TopicNames
from streams.metrics import Metrics
from streams.runtime import Runtime
from streams.sync.joiner import ECHO, Joiner, JoinResult
from streams.sync.links import LinkTable
from streams.sync.replays import ReplayMode, ReplayRequest
from streams.sync.reports import ReportBook
from streams.sync.staging import StagedMapping
from streams.sync.validation import refuse_change

__all__ = ["JoinAgent"]

log = logging.getLogger(__name__)


class JoinAgent:
    def __init__(
        self,
        *,
        flows: Sequence[Flow],
        links: MutableMapping[str, Any],
        reports: MutableMapping[str, Any],
        outbox: Outbox,
        topics: TopicNames,
        locks: ConnectionLocks,
        runtime: Runtime,
        served: Collection[str],
        clock_ms: Callable[[], int],
        metrics: Metrics | None = None,
    ) -> None:
        self.flows = list(flows)
        self.links = links
        self.reports = reports
        self.outbox = outbox
        self.topics = topics
        self.locks = locks
        self.runtime = runtime
        self.served = frozenset(served)
        self.clock_ms = clock_ms
        self.metrics = metrics

    async def run(self, stream: Any) -> None:
        """The Faust agent: handle every event of the `changes` stream in order."""
        async for event in stream.events():
            await self.handle(Received.of(event.message))

    async def run_replay(self, stream: Any) -> None:
        """The Faust agent of the `changes.replay` stream."""
        async for event in stream.events():
            await self.handle_replay(Received.of(event.message))

    async def handle(self, received: Received) -> None:
        try:
            change = ChangeEvent.from_bytes(received.value)
        except EventDecodeError as exc:
            await self._refuse(received, f"not a change event: {exc}")
            return
        await self._handle_change(received, change, resync=False)

    async def handle_replay(self, received: Received) -> None:
        try:
            request = ReplayRequest.from_bytes(received.value)
        except EventDecodeError as exc:
            await self._refuse(received, f"not a replay request: {exc}")
            return
        await self._handle_change(received, request.event, resync=request.mode is ReplayMode.RESYNC)

    async def _handle_change(
        self, received: Received, change: ChangeEvent, *, resync: bool
    ) -> None:
        problem = refuse_change(change, served=self.served, flows=self.flows)
        if problem is not None:
            await self._refuse(received, problem, change=change)
            return
        async with self.locks.lock(change.connection):
            staged_links = StagedMapping(self.links)
            staged_reports = StagedMapping(self.reports)
            joiner = Joiner(
                self.flows,
                LinkTable(staged_links),
                ReportBook(staged_reports),
                clock_ms=self.clock_ms,
            )
            failure: str | None = None
            try:
                result = joiner.join(change, resync=resync)
            except Exception as exc:  # a rule that cannot take this event must not stop the agent
                log.exception("join failed for %s", change.record_key)
                failure = f"join failed: {type(exc).__name__}: {exc}"
            else:
                await self._send(change, result)
                staged_links.commit()
                staged_reports.commit()
        if failure is not None:
            await self._refuse(received, failure, change=change)
            return
        if result.dropped:
            log.debug("%s %s: %s", change.record_key, change.op, result.dropped)
            if self.metrics is not None and result.dropped == ECHO:
                self.metrics.echoes.labels(change.connection).inc()
        self.runtime.record_done(received.topic, received.partition, received.offset)

    async def _send(self, change: ChangeEvent, result: JoinResult) -> None:
        commands: list[Awaitable[Delivery]] = []  # consumed by our sinks: tracked for convergence
        reports: list[Awaitable[Delivery]] = []
        for upsert in result.upserts:
            topic = self.topics.upserts(upsert.target)
            commands.append(await self.outbox.send(topic, upsert.key, upsert.to_bytes()))
        for letter in result.dead_letters:
            reports.append(
                await self.outbox.send(self.topics.deadletters, change.key, letter.to_bytes())
            )
        for item in result.actions:
            reports.append(await self.outbox.send(self.topics.actions, change.key, item.to_bytes()))
        for future in commands:
            delivery = await future
            self.runtime.record_sent(
                delivery.topic,
                delivery.partition,
                delivery.offset,
                connection=change.connection,
                since_ms=change.observed_ms,
            )
        for future in reports:
            await future

    async def _refuse(
        self, received: Received, reason: str, *, change: ChangeEvent | None = None
    ) -> None:
        letter = refusal(
            received,
            reason,
            now_ms=self.clock_ms(),
            record_key=change.record_key if change is not None else "",
        )
        if change is not None and change.connection in self.served:
            async with self.locks.lock(change.connection):
                ReportBook(self.reports).dead_letter(
                    change.connection, change.event_id, reason, change.record_key
                )
        key = received.key or letter.connection.encode()
        await (await self.outbox.send(self.topics.deadletters, key, letter.to_bytes()))
        self.runtime.record_done(received.topic, received.partition, received.offset)
