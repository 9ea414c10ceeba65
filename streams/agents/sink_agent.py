"""The sink agents: one upsert command in, one write to the target system out.

A thin loop around `streams.agents.sinks.Sinks`. Commands are carried out concurrently
in lanes (`streams.agents.laned_stream`), one lane per record — (connection, target,
record) — so one slow tenant or record holds up only its own later commands, at most
``concurrency`` commands are in flight, and an offset is committed only once it and all
before it are done. Every command is checked at the edge
(`streams.sync.validation.refuse_upsert`); one that does not decode, or that this worker
must not carry out, becomes a dead letter with its reason and the agent goes on.

A write that fails for now (5xx, timeouts, 429, a key being rotated) is not retried in
place, where it would hold up every other connection on the partition: the command is
parked (`streams.sync.parking`), later commands for the same record queue behind it, and
while the target is known to fail (`Breakers`) the connection's other commands for it
are parked without a call. The retry agent tries parked records again after growing
delays; past the give-up time they become dead letters. A write the target refuses for
good becomes a dead letter at once. Every skipped command is logged with its reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping, MutableMapping
from dataclasses import replace
from typing import Any, Protocol

from connectors.exceptions import AuthenticationError, PermanentApiError, TransientApiError
from mappings import Flow
from streams.agents.breakers import Breakers
from streams.agents.laned_stream import LanedAgent, LanedStream
from streams.agents.plumbing import ConnectionLocks, Outbox, Received, refusal
from streams.agents.sinks import ChargebeeWriter, PowerOfficeWriter, SinkResult, Sinks
from streams.config.topics import TopicNames
from streams.metrics import Metrics
from streams.runtime import Runtime
from streams.sync.messages import DeadLetter, MessageError, Upsert
from streams.sync.parking import Parked, ParkingLot, first_parking
from streams.sync.validation import refuse_upsert

__all__ = ["SinkAgent", "WriterSource"]

log = logging.getLogger(__name__)


class WriterSource(Protocol):
    """The API clients of the connections this worker serves."""

    def chargebee(self, connection: str) -> ChargebeeWriter: ...

    def poweroffice(self, connection: str) -> PowerOfficeWriter: ...


class SinkAgent(LanedAgent):
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
        parked: MutableMapping[str, Any],
        locks: ConnectionLocks,
        breakers: Breakers,
        give_up_ms: int = 24 * 3600 * 1000,
        metrics: Metrics | None = None,
        concurrency: int = 32,
    ) -> None:
        """``concurrency``: the most commands in flight at once."""
        self.system = system
        self.sinks = sinks
        self.writers = writers
        self.served = served
        self.flows = flows
        self.outbox = outbox
        self.topics = topics
        self.runtime = runtime
        self.clock_ms = clock_ms
        self.lot = ParkingLot(parked)
        self.locks = locks
        self.breakers = breakers
        self.give_up_ms = give_up_ms
        self.metrics = metrics
        self.stream = LanedStream(
            name=f"{system} sink",
            limit=concurrency,
            key_of=lane_of,
            work=self.carry_out,
            done=self._done,
            give_up=self._failed_for_good,
        )

    async def _failed_for_good(self, received: Received, reason: str) -> None:
        """A command that kept raising (a bug, not an API failure): a dead letter."""
        await self._dead_letter(received, f"the {self.system} sink {reason}")

    async def carry_out(self, received: Received) -> None:
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
        await self.apply(upsert)

    async def apply(self, upsert: Upsert) -> None:
        """Write now, or park: behind this record's parked commands, or because the
        target is known to be failing, or because this write failed for now."""
        now = self.clock_ms()
        async with self.locks.lock(upsert.connection):
            parked = self.lot.get(upsert.connection, upsert.target, upsert.left_key)
            if parked is not None:
                self.lot.put(parked.queued(upsert))
                log.info(
                    "%s: %s command parked behind %d earlier one(s)",
                    upsert.left_key,
                    upsert.target,
                    len(parked.commands),
                )
                return
            until = self.breakers.open_until(upsert.connection, upsert.target, now_ms=now)
            if until is not None:
                reason = self.breakers.reason(upsert.connection, upsert.target)
                self.lot.put(
                    replace(
                        first_parking(upsert, now_ms=now, reason=reason, failed=False),
                        next_attempt_ms=until,
                    )
                )
                log.info("%s: %s command parked: %s", upsert.left_key, upsert.target, reason)
                return
        failure = await self._attempt(upsert)
        if failure is None:
            return
        async with self.locks.lock(upsert.connection):
            parked = first_parking(upsert, now_ms=self.clock_ms(), reason=failure, failed=True)
            self.lot.put(parked)
            self.breakers.trip(
                upsert.connection, upsert.target, until_ms=parked.next_attempt_ms, reason=failure
            )
        log.warning(
            "%s: %s command parked, retrying in %.0f s: %s",
            upsert.left_key,
            upsert.target,
            (parked.next_attempt_ms - parked.first_failed_ms) / 1000,
            failure,
        )

    async def retry(self, connection: str, left_key: str) -> None:
        """Try a record's parked commands again, oldest first, if they are due."""
        target = self.system
        async with self.locks.lock(connection):
            parked = self.lot.get(connection, target, left_key)
        if parked is None or parked.next_attempt_ms > self.clock_ms():
            return
        while parked is not None and parked.commands:
            upsert = parked.first
            failure = await self._attempt(upsert)
            now = self.clock_ms()
            async with self.locks.lock(connection):
                fresh = self.lot.get(connection, target, left_key)
                if fresh is None or not fresh.commands or fresh.commands[0] != upsert.to_json():
                    return  # someone else moved this record's queue on
                if failure is None:
                    self.breakers.close(connection, target)
                    parked = fresh.without_first()
                    self.lot.put(parked)
                    continue
                parked = fresh.failed(now_ms=now, reason=failure)
                if not parked.given_up(now_ms=now, give_up_ms=self.give_up_ms):
                    self.lot.put(parked)
                    self.breakers.trip(
                        connection, target, until_ms=parked.next_attempt_ms, reason=failure
                    )
                    log.warning(
                        "%s: %s still failing after %d attempt(s): %s",
                        left_key,
                        target,
                        parked.attempts,
                        failure,
                    )
                    return
                self.lot.put(replace(parked, commands=()))
            await self._give_up(parked)
            return

    async def _give_up(self, parked: Parked) -> None:
        seconds = (self.clock_ms() - parked.first_failed_ms) / 1000
        reason = f"gave up after {parked.attempts} attempt(s) over {seconds:.0f} s: {parked.reason}"
        for raw in parked.commands:
            await self._dead_letter_command(Upsert.from_json(raw), reason)
        log.warning("%s: %s", parked.left_key, reason)

    async def _dead_letter_command(self, upsert: Upsert, reason: str) -> None:
        """Count ``upsert`` as a dead letter and send it, the command inside."""
        await self.sinks.note_dead_letter(upsert, reason)
        letter = DeadLetter.for_upsert(upsert, reason, at_ms=self.clock_ms())
        await (await self.outbox.send(self.topics.deadletters, upsert.key, letter.to_bytes()))

    async def _attempt(self, upsert: Upsert) -> str | None:
        """Write once (the client retries quickly inside); the reason when it failed for
        now. A write refused for good becomes a dead letter."""
        try:
            result = await self._write(upsert)
        except (TransientApiError, AuthenticationError) as exc:
            self._count(upsert, "failed")
            return f"{upsert.target} failed for now: {exc}"
        except PermanentApiError as exc:
            self._count(upsert, "rejected")
            reason = f"{upsert.target} refused the write: {exc}"
            log.warning("dead letter %s: %s", upsert.left_key, reason)
            await self._dead_letter_command(upsert, reason)
            return None
        await self._publish(upsert, result)
        if result.dead_letter is not None:
            self._count(upsert, "rejected")
        elif result.skipped:
            self._count(upsert, "skipped")
        else:
            self._count(upsert, "written" if result.wrote else "unchanged")
        if result.skipped:
            log.info("%s: %s command skipped: %s", upsert.left_key, upsert.target, result.skipped)
        elif result.wrote:
            log.info(
                "%s: wrote %s to %s",
                upsert.left_key,
                ", ".join(result.plan.write) if result.plan else "",
                upsert.target,
            )
        return None

    def _count(self, upsert: Upsert, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.wrote(
                upsert.connection, upsert.target, outcome, source_ts_ms=upsert.source_ts_ms
            )

    async def _write(self, upsert: Upsert) -> SinkResult:
        if upsert.target == "chargebee":
            return await self.sinks.to_chargebee(upsert, self.writers.chargebee(upsert.connection))
        return await self.sinks.to_poweroffice(upsert, self.writers.poweroffice(upsert.connection))

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


def lane_of(received: Received) -> Hashable | None:
    """A command's lane: its record on its target; None for one that does not decode
    (it only becomes a dead letter, in no particular order)."""
    try:
        upsert = Upsert.from_bytes(received.value)
    except MessageError:
        return None
    return (upsert.connection, upsert.target, upsert.left_key)
