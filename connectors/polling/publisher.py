"""Publishing change events to Kafka, returning only once the broker acknowledged them.

`ChangePublisher` wraps one aiokafka producer (acks=all, idempotent) and is the only place
pollers touch Kafka. `EventSink` is the seam a poller depends on, so unit tests can record
events without a broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from connectors.events import ChangeEvent
from connectors.exceptions import LedgerlinkError

__all__ = ["ChangePublisher", "EventSink", "PublishError"]


class PublishError(LedgerlinkError):
    """Kafka did not acknowledge change events; the cursor was not moved, nothing is lost."""


class EventSink(Protocol):
    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        """Return once every event is durably stored (acknowledged)."""


class ChangePublisher:
    def __init__(self, bootstrap_servers: str, topic: str, *, client_id: str = "ledgerlink-poller"):
        self.topic = topic
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            compression_type=None,
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
        try:
            futures = [
                await self._producer.send(self.topic, value=event.to_bytes(), key=event.key)
                for event in events
            ]
            for metadata in await asyncio.gather(*futures):
                self.on_acknowledged(metadata.partition, metadata.offset)
        except KafkaError as exc:
            raise PublishError(
                f"Kafka did not acknowledge {len(events)} change event(s) on {self.topic!r}: {exc}"
            ) from exc
