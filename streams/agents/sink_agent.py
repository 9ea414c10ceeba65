"""The sink agents: one upsert command in, one write to the target system out.

A thin loop around `streams.agents.sinks.Sinks`. Every command is checked at the edge
(`streams.sync.validation.refuse_upsert`); one that does not decode, or that this worker
must not carry out, becomes a dead letter with its reason and the agent goes on. A
write that fails for now (5xx, timeouts, 429, a key being rotated) is retried with
growing delays until it goes through: a command is never dropped. A write the target
refuses for good becomes a dead letter. Every skipped command is logged with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from connectors.exceptions import AuthenticationError, PermanentApiError, TransientApiError
from mappings import Flow
from streams.agents.plumbing import Outbox, Received, refusal
from streams.agents.sinks import ChargebeeWriter, PowerOfficeWriter, SinkResult, Sinks
from streams.config.topics import TopicNames
from streams.runtime import Runtime
from streams.sync.messages import MessageError, Upsert
from streams.sync.validation import refuse_upsert

__all__ = ["SinkAgent", "WriterSource"]

log = logging.getLogger(__name__)


class WriterSource(Protocol):
    """The API clients of the connections this worker serves."""

    def chargebee(self, connection: str) -> ChargebeeWriter: ...

    def poweroffice(self, connection: str) -> PowerOfficeWriter: ...


class SinkAgent:
    def __init__(
        self,
        *,
        system: str,
        sinks: Sinks,
        writers: WriterSource,
        served: frozenset[str],
        flows: Mapping[str, Flow],
        outbox: Outbox,
        topics: TopicNames,
        runtime: Runtime,
        clock_ms: Callable[[], int],
        retry_cap: float = 30.0,
    ) -> None:
        self.system = system
        self.sinks = sinks
        self.writers = writers
        self.served = served
        self.flows = flows
        self.outbox = outbox
        self.topics = topics
        self.runtime = runtime
        self.clock_ms = clock_ms
        self.retry_cap = retry_cap

    async def run(self, stream: Any) -> None:
        """The Faust agent: carry out every command of the stream in order."""
        async for event in stream.events():
            await self.handle(Received.of(event.message))

    async def handle(self, received: Received) -> None:
        try:
            upsert = Upsert.from_bytes(received.value)
        except MessageError as exc:
            await self._dead_letter(received, f"not an upsert command: {exc}")
            return
        problem = refuse_upsert(upsert, served=self.served, flows=self.flows)
        if problem is None and upsert.target != self.system:
            problem = f"a command for {upsert.target} on the {self.system} sink's topic"
        if problem is not None:
            await self._dead_letter(received, problem, upsert=upsert)
            return
        try:
            result = await self._until_done(upsert)
        except PermanentApiError as exc:
            reason = f"{upsert.target} refused the write: {exc}"
            await self._dead_letter(received, reason, upsert=upsert)
            return
        await self._publish(upsert, result)
        if result.skipped:
            log.info("%s: %s command skipped: %s", upsert.left_key, upsert.target, result.skipped)
        elif result.wrote:
            log.info(
                "%s: wrote %s to %s",
                upsert.left_key,
                ", ".join(result.plan.write) if result.plan else "",
                upsert.target,
            )
        self.runtime.record_done(received.topic, received.partition, received.offset)

    async def _write(self, upsert: Upsert) -> SinkResult:
        if upsert.target == "chargebee":
            return await self.sinks.to_chargebee(upsert, self.writers.chargebee(upsert.connection))
        return await self.sinks.to_poweroffice(upsert, self.writers.poweroffice(upsert.connection))

    async def _until_done(self, upsert: Upsert) -> SinkResult:
        """Retry through failures that can pass (a key being rotated is one of them)."""
        delay = 1.0
        while True:
            try:
                return await self._write(upsert)
            except (TransientApiError, AuthenticationError) as exc:
                log.warning(
                    "%s write for %s failed (%s); retrying in %.0fs",
                    upsert.target,
                    upsert.left_key,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(self.retry_cap, delay * 2)

    async def _publish(self, upsert: Upsert, result: SinkResult) -> None:
        if result.counter is not None:
            topic = self.topics.upserts(result.counter.target)
            delivery = await (
                await self.outbox.send(topic, result.counter.key, result.counter.to_bytes())
            )
            self.runtime.record_sent(delivery.topic, delivery.partition, delivery.offset)
        if result.dead_letter is not None:
            await (
                await self.outbox.send(
                    self.topics.deadletters, upsert.key, result.dead_letter.to_bytes()
                )
            )
        if result.action is not None:
            await (
                await self.outbox.send(self.topics.actions, upsert.key, result.action.to_bytes())
            )

    async def _dead_letter(
        self, received: Received, reason: str, *, upsert: Upsert | None = None
    ) -> None:
        letter = refusal(
            received,
            reason,
            now_ms=self.clock_ms(),
            record_key=upsert.left_key if upsert else "",
            flow=upsert.flow if upsert else "",
        )
        if upsert is not None and upsert.connection in self.served:
            await self.sinks.note_dead_letter(upsert, reason)
        key = received.key or letter.connection.encode()
        await (await self.outbox.send(self.topics.deadletters, key, letter.to_bytes()))
        self.runtime.record_done(received.topic, received.partition, received.offset)
