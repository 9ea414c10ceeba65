"""What every agent shares: the message it received, where it sends, and its locks.

`Received` is the part of a Kafka message an agent reads, so agents can be driven
without a broker. `Outbox` sends to ledgerlink's output topics by name and hands back
the delivery to await (Faust's topics in the worker, a list in unit tests).
`ConnectionLocks` orders link-table work of one connection between the join and the
sinks. They stay per connection although the sinks write concurrently: they are held
only around table reads and writes (never around an API call), and the join holds its
connection's lock until its command is acknowledged, so that a sink never misses a link
being made; per-record order is the sinks' lanes' job (`streams.agents.lanes`). `refusal` turns a
message an agent will not act on into a dead letter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from streams.sync.messages import DeadLetter

__all__ = ["ConnectionLocks", "Delivery", "Outbox", "Received", "refusal"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes

    @classmethod
    def of(cls, message: Any) -> Received:
        """From a Faust message (`event.message`)."""
        value = message.value
        return cls(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=value if isinstance(value, bytes) else bytes(value or b""),
        )

    @property
    def connection(self) -> str:
        """The message key as text: every topic is keyed by the connection."""
        return (self.key or b"").decode("utf-8", errors="replace")[:200] or "?"


class Delivery(Protocol):
    topic: str
    partition: int
    offset: int


class Outbox(Protocol):
    async def send(self, topic: str, key: bytes, value: bytes) -> Awaitable[Delivery]:
        """Hand the message to the producer; awaiting the result waits for the broker."""


@dataclass
class ConnectionLocks:
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def lock(self, connection: str) -> asyncio.Lock:
        return self._locks.setdefault(connection, asyncio.Lock())


def refusal(
    received: Received, reason: str, *, now_ms: int, record_key: str = "", flow: str = ""
) -> DeadLetter:
    """A dead letter for a message an agent will not act on, carrying what it said."""
    log.warning(
        "dead letter from %s[%d]@%d: %s",
        received.topic,
        received.partition,
        received.offset,
        reason,
    )
    return DeadLetter(
        connection=received.connection,
        reason=reason,
        flow=flow,
        record_key=record_key,
        event={
            "topic": received.topic,
            "partition": received.partition,
            "offset": received.offset,
            "message": received.value[: DeadLetter.MAX_BYTES // 2].decode("utf-8", "replace"),
        },
        at_ms=now_ms,
    )
