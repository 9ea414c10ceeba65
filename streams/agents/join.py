"""The join agent: one change event in, upserts, dead letters and action items out.

A thin loop around the pure `streams.sync.joiner.Joiner`. Every message is checked at the
edge (`streams.sync.validation`); one that is not a change event, or that this worker
must not act on, becomes a dead letter with its reason and the agent goes on. The
joiner plans against staged tables; the agent sends what it planned and commits the
table writes only after Kafka acknowledged every message, so a crash in between replays
the same decision (at-least-once, nothing lost).

Messages are carried out in batches (`handle_batch`, up to `BATCH_SIZE` messages or what
arrived within `BATCH_WITHIN_S`), so the wait for Kafka's acknowledgement is paid once
per batch, not once per message. Each message is joined against the tables plus the
writes planned by the messages before it in the batch (nothing is in the tables yet);
every message the batch sends is acknowledged before any of its table writes is made,
each with its own Faust event current so it reaches its changelog partition
(`streams.agents.event_scope`); the batch's messages are acked only after that.

The same agent also reads `changes.replay` (`run_replay`): change events re-driven by the
recovery commands, wrapped in a `ReplayRequest` that says whether to join them as usual
or as a resync (`streams.sync.replays`). Both loops share the connection locks, so the
two topics never interleave inside one decision.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.events import ChangeEvent, EventDecodeError
from mappings import Flow
from streams.agents.event_scope import as_current
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

#: Most messages carried out as one batch.
BATCH_SIZE = 500
#: How long a batch waits to fill before it is carried out as it is (seconds).
BATCH_WITHIN_S = 0.01


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
        batch_size: int = BATCH_SIZE,
        batch_within_s: float = BATCH_WITHIN_S,
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
        self.batch_size = batch_size
        self.batch_within_s = batch_within_s

    async def run(self, stream: Any) -> None:
        """The Faust agent: handle the `changes` stream in order, a batch at a time."""
        await self._run(stream, replay=False)

    async def run_replay(self, stream: Any) -> None:
        """The Faust agent of the `changes.replay` stream."""
        await self._run(stream, replay=True)

    async def _run(self, stream: Any, *, replay: bool) -> None:
        # Acked by hand, in offset order, once the whole batch is carried out: a batch
        # that fails is not acked, so no offset past it is committed and it is read
        # again after a restart or a rebalance.
        async for events in stream.noack_take(self.batch_size, within=self.batch_within_s):
            await self.handle_batch([(Received.of(e.message), e) for e in events], replay=replay)
            for event in events:
                await stream.ack(event)

    async def handle(self, received: Received) -> None:
        """One `changes` message on its own (a batch of one)."""
        await self.handle_batch([(received, None)], replay=False)

    async def handle_replay(self, received: Received) -> None:
        """One `changes.replay` message on its own (a batch of one)."""
        await self.handle_batch([(received, None)], replay=True)

    async def handle_batch(self, batch: Sequence[tuple[Received, Any]], *, replay: bool) -> None:
        """Carry out consecutive messages: plan each in order, each seeing the writes
        planned before it; send everything; wait for every acknowledgement; only then
        write the tables, each message's entries with its own Faust event current (its
        changelog partition). ``batch`` pairs each message with its Faust event (None
        without Faust)."""
        parsed = [self._parse(received, replay=replay) for received, _ in batch]
        connections = sorted(
            {change.connection for change, _, _ in parsed if change is not None} & self.served
        )
        async with contextlib.AsyncExitStack() as held:
            for connection in connections:
                await held.enter_async_context(self.locks.lock(connection))
            pending = _Pending(StagedMapping(self.links), StagedMapping(self.reports))
            plans = [
                await self._plan(received, event, *found, pending)
                for (received, event), found in zip(batch, parsed, strict=True)
            ]
            for plan in plans:
                await self._delivered(plan)
            for plan in plans:
                with as_current(plan.event):
                    plan.links.apply(self.links)
                    plan.reports.apply(self.reports)
        for plan in plans:
            dropped = plan.result.dropped if plan.result is not None else None
            if dropped and plan.change is not None:
                log.debug("%s %s: %s", plan.change.record_key, plan.change.op, dropped)
                if self.metrics is not None and dropped == ECHO:
                    self.metrics.echoes.labels(plan.change.connection).inc()
            received = plan.received
            self.runtime.record_done(received.topic, received.partition, received.offset)

    def _parse(
        self, received: Received, *, replay: bool
    ) -> tuple[ChangeEvent | None, bool, str | None]:
        """The change a message carries, whether to resync, and why it is refused."""
        try:
            if replay:
                request = ReplayRequest.from_bytes(received.value)
                change, resync = request.event, request.mode is ReplayMode.RESYNC
            else:
                change, resync = ChangeEvent.from_bytes(received.value), False
        except EventDecodeError as exc:
            what = "a replay request" if replay else "a change event"
            return None, False, f"not {what}: {exc}"
        return change, resync, refuse_change(change, served=self.served, flows=self.flows)

    async def _plan(
        self,
        received: Received,
        event: Any,
        change: ChangeEvent | None,
        resync: bool,
        problem: str | None,
        pending: _Pending,
    ) -> _Plan:
        """Join one message against the table plus what the batch planned before it,
        send what it asks for, and pass its writes on to the messages after it."""
        plan = _Plan(received, event, change, *pending.stage())
        if change is not None and problem is None:
            joiner = Joiner(
                self.flows,
                LinkTable(plan.links),
                ReportBook(plan.reports),
                clock_ms=self.clock_ms,
            )
            try:
                plan.result = joiner.join(change, resync=resync)
            except Exception as exc:  # a rule that cannot take this event must not stop the agent
                log.exception("join failed for %s", change.record_key)
                problem = f"join failed: {type(exc).__name__}: {exc}"
                plan.links, plan.reports = pending.stage()
            else:
                await self._send(plan, plan.result)
        if problem is not None:
            await self._send_refusal(plan, problem)
        pending.absorb(plan)
        return plan

    async def _send(self, plan: _Plan, result: JoinResult) -> None:
        assert plan.change is not None  # only a change is joined
        key = plan.change.key
        for upsert in result.upserts:
            topic = self.topics.upserts(upsert.target)
            plan.commands.append(await self.outbox.send(topic, upsert.key, upsert.to_bytes()))
        for letter in result.dead_letters:
            plan.others.append(
                await self.outbox.send(self.topics.deadletters, key, letter.to_bytes())
            )
        for item in result.actions:
            plan.others.append(await self.outbox.send(self.topics.actions, key, item.to_bytes()))

    async def _delivered(self, plan: _Plan) -> None:
        """Wait for the broker to acknowledge what ``plan`` sent; track its commands
        (consumed by our sinks) for convergence."""
        for future in plan.commands:
            delivery = await future
            assert plan.change is not None  # only a joined change sends commands
            self.runtime.record_sent(
                delivery.topic,
                delivery.partition,
                delivery.offset,
                connection=plan.change.connection,
                since_ms=plan.change.observed_ms,
            )
        for future in plan.others:
            await future

    async def _send_refusal(self, plan: _Plan, reason: str) -> None:
        received, change = plan.received, plan.change
        letter = refusal(
            received,
            reason,
            now_ms=self.clock_ms(),
            record_key=change.record_key if change is not None else "",
        )
        if change is not None and change.connection in self.served:
            ReportBook(plan.reports).dead_letter(
                change.connection, change.event_id, reason, change.record_key
            )
        key = received.key or letter.connection.encode()
        plan.others.append(await self.outbox.send(self.topics.deadletters, key, letter.to_bytes()))


@dataclass
class _Plan:
    """One message of a batch: its staged table writes and what it sent."""

    received: Received
    event: Any
    change: ChangeEvent | None
    links: StagedMapping
    reports: StagedMapping
    result: JoinResult | None = None
    commands: list[Awaitable[Delivery]] = field(default_factory=list)
    others: list[Awaitable[Delivery]] = field(default_factory=list)


@dataclass
class _Pending:
    """The writes a batch planned so far, not yet in the tables: what the next message
    of the batch joins against."""

    links: StagedMapping
    reports: StagedMapping

    def stage(self) -> tuple[StagedMapping, StagedMapping]:
        return StagedMapping(self.links), StagedMapping(self.reports)

    def absorb(self, plan: _Plan) -> None:
        plan.links.apply(self.links)
        plan.reports.apply(self.reports)
