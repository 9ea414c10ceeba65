"""Publishing change events to Kafka, returning only once the broker acknowledged them.

`ChangePublisher` wraps one aiokafka producer (acks=all, idempotent) and is the only place
pollers touch Kafka. `EventSink` is the seam a poller depends on, so unit tests can record
events without a broker.

While Kafka is down the publisher backs off twice over: its producer retries a request
every ``retry_backoff_ms`` (1 s, not aiokafka's 100 ms), and after a publish failed the next
one waits (`Backoff`: 1 s, 2 s, 4 s ... 30 s) before it tries, so a poll loop that keeps
calling does not keep hammering the broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from connectors.events import ChangeEvent
from connectors.exceptions import LedgerlinkError
from connectors.polling.backoff import Backoff

__all__ = [
    "RETRY_BACKOFF_MS",
    "ChangePublisher",
    "EventSink",
    "PublishError",
    "durable_producer",
]

#: How long the producer waits between retries of a request (aiokafka's default is 100 ms).
RETRY_BACKOFF_MS = 1000


class PublishError(LedgerlinkError):
    """Kafka did not acknowledge change events; the cursor was not moved, nothing is lost."""


class EventSink(Protocol):
    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        """Return once every event is durably stored (acknowledged)."""


def durable_producer(
    bootstrap_servers: str, *, client_id: str, retry_backoff_ms: int = RETRY_BACKOFF_MS
) -> AIOKafkaProducer:
    """A producer whose sends count only once every in-sync replica has them (acks=all),
    without duplicates on its own retries (idempotent): for what a cursor depends on."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        compression_type=None,
        retry_backoff_ms=retry_backoff_ms,
    )


class ChangePublisher:
    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        *,
        client_id: str = "ledgerlink-poller",
        retry_backoff_ms: int = RETRY_BACKOFF_MS,
        backoff: Backoff | None = None,
    ):
        self.topic = topic
        self._backoff = backoff if backoff is not None else Backoff()
        self._producer = durable_producer(
            bootstrap_servers, client_id=client_id, retry_backoff_ms=retry_backoff_ms
        )

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaError as exc:
            raise PublishError(f"cannot reach Kafka to publish to {self.topic!r}: {exc}") from exc

    async def stop(self) -> None:
        await self._producer.stop()

    async def __aenter__(self) -> ChangePublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def on_acknowledged(self, partition: int, offset: int) -> None:
        """Called for every acknowledged event; a hook for progress tracking."""

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        if not events:
            return
        await self._backoff.wait()
        try:
            futures = [
                await self._producer.send(self.topic, value=event.to_bytes(), key=event.key)
                for event in events
            ]
            acknowledged = await asyncio.gather(*futures)
        except KafkaError as exc:
            self._backoff.failed()
            raise PublishError(
                f"Kafka did not acknowledge {len(events)} change event(s) on {self.topic!r}: {exc}"
            ) from exc
        self._backoff.succeeded()
        for metadata in acknowledged:
            self.on_acknowledged(metadata.partition, metadata.offset)
