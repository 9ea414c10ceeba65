"""A Faust stream carried out in lanes: concurrent across records, in order within one,
each message acknowledged only once it and every message before it are done.

The agent iterates the stream without Faust's automatic acks (`Stream.noack`) and hands
every message to a lane (`streams.agents.lanes`) keyed by what must stay in order. When
a job ends, the finished prefix of its partition (`streams.agents.acks`) is acked and
reported done; Faust commits only acked offsets, so a SIGKILL loses nothing: every
message not yet carried out is read again from the last commit.

A job that raises (a bug, or Kafka unreachable while it sends) is not acked and not
dropped: it is logged and tried again after a growing pause, and its record's later
messages wait behind it. After ``attempts`` failures the message is handed to
``give_up`` (the sinks: a dead letter with the error) and acked once that succeeds, so
one message that always fails cannot hold its partition's commits back for ever.

When partitions are revoked, their jobs get a moment to finish and are then cancelled,
unacked, before the next owner reads them; so are all jobs when the agent stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Hashable
from typing import Any

from streams.agents.acks import InOrderAcks
from streams.agents.lanes import Lanes
from streams.agents.plumbing import Received
from streams.runtime import Runtime

__all__ = ["LanedAgent", "LanedStream"]

log = logging.getLogger(__name__)

#: Pauses before a failed job is tried again; the last one repeats.
RETRY_PAUSES = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class LanedStream:
    def __init__(
        self,
        *,
        name: str,
        limit: int,
        key_of: Callable[[Received], Hashable | None],
        work: Callable[[Received], Awaitable[None]],
        done: Callable[[Received], None],
        give_up: Callable[[Received, str], Awaitable[None]] | None = None,
        attempts: int = len(RETRY_PAUSES),
        drain_timeout: float = 10.0,
        pauses: tuple[float, ...] = RETRY_PAUSES,
    ) -> None:
        """``key_of``: the lane of a message (None: any order); ``work``: carry it out;
        ``done``: told of each message acknowledged, in offset order per partition;
        ``give_up``: what becomes of a message that failed ``attempts`` times (None:
        it is tried for ever)."""
        self.name = name
        self.lanes = Lanes(limit)
        self.acks: InOrderAcks[Any] = InOrderAcks()
        self.key_of = key_of
        self.work = work
        self.done = done
        self.give_up = give_up
        self.attempts = attempts
        self.drain_timeout = drain_timeout
        self.pauses = pauses

    async def run(self, stream: Any) -> None:
        """The Faust agent's body."""
        acking = stream.noack()
        try:
            async for event in acking.events():
                received = Received.of(event.message)
                partition = (received.topic, received.partition)
                ticket = self.acks.started(partition, received.offset, event)
                await self.lanes.submit(
                    self.key_of(received),
                    self._job(acking, event, received, ticket),
                    group=partition,
                )
        finally:
            cancelled = await self.lanes.drain(grace=self.drain_timeout)
            if cancelled:
                log.info("%s: stopped %d unfinished job(s); they run again", self.name, cancelled)

    def _job(
        self, stream: Any, event: Any, received: Received, ticket: int
    ) -> Callable[[], Awaitable[None]]:
        # The job holds the event: Faust's current_event() is a weak reference to it,
        # and the job's table writes need it to pick their changelog partition.
        return lambda: self._carry_out(stream, event, received, ticket)

    async def _carry_out(self, stream: Any, event: Any, received: Received, ticket: int) -> None:
        await self._until_done(received)
        for finished in self.acks.finished(ticket):
            self.done(Received.of(finished.message))
            await stream.ack(finished)

    async def _until_done(self, received: Received) -> None:
        failures = 0
        problem: Exception | None = None
        while True:
            try:
                if failures < self.attempts or self.give_up is None:
                    await self.work(received)
                else:
                    await self.give_up(received, f"failed {failures} times: {problem!r}")
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                problem = exc
                pause = self.pauses[min(failures, len(self.pauses) - 1)]
                failures += 1
                log.exception(
                    "%s: %s[%d]@%d failed (%d time(s)); trying again in %.1f s",
                    self.name,
                    received.topic,
                    received.partition,
                    received.offset,
                    failures,
                    pause,
                )
                await asyncio.sleep(pause)

    async def revoke(self, partitions: Collection[tuple[str, int]]) -> None:
        """Partitions are being taken away: finish or cancel their jobs, ack nothing more."""
        cancelled = await self.lanes.drain(partitions, grace=self.drain_timeout)
        self.acks.forget(partitions)
        if cancelled:
            log.info(
                "%s: cancelled %d unfinished job(s) of revoked partitions; the next owner "
                "carries them out",
                self.name,
                cancelled,
            )


class LanedAgent:
    """What the sink and retry agents share: a Faust agent whose messages run in a
    `LanedStream` (``self.stream``), each reported done to ``self.runtime``. Subclasses
    carry a message out in `carry_out`."""

    stream: LanedStream
    runtime: Runtime

    async def run(self, stream: Any) -> None:
        """The Faust agent: carry out the stream's messages, each lane's in order."""
        await self.stream.run(stream)

    async def revoke(self, partitions: Collection[tuple[str, int]]) -> None:
        """Partitions were taken away: finish or stop their messages."""
        await self.stream.revoke(partitions)

    async def handle(self, received: Received) -> None:
        """Carry out one message and count it done (messages one at a time)."""
        await self.carry_out(received)
        self._done(received)

    async def carry_out(self, received: Received) -> None:
        raise NotImplementedError

    def _done(self, received: Received) -> None:
        self.runtime.record_done(received.topic, received.partition, received.offset)
