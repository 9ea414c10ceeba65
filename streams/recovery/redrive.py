"""Publishing on `changes.replay` and following what the join made of it.

A `Redrive` is one command run against the running worker: it notes where the topics
the join answers on (`upserts.*`, `deadletters`) end, publishes `ReplayRequest`s keyed by
the connection (so they land on the partition of the worker that owns it), waits until
the worker's consumer group has committed past them, and then reads the join's answers
to count them (`Summary.count`). Kafka's errors are translated here, once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.config import TopicNames
from streams.recovery import RecoveryError
from streams.recovery.summary import Summary
from streams.sync.replays import ReplayRequest

__all__ = [
    "Channel",
    "Progress",
    "Redrive",
    "kafka_unreachable",
    "not_at_end",
    "open_consumer",
    "read_range",
    "topic_partitions",
]

#: Where long work reports how far it got (a line each time).
Progress = Callable[[str], None]

CONNECT_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Channel:
    """How a command re-drives: the broker and topic names, where progress lines go, and
    how long to wait for the worker's join to read what was published."""

    bootstrap: str
    names: TopicNames
    progress: Progress
    wait_seconds: float


def kafka_unreachable(bootstrap: str, exc: BaseException) -> RecoveryError:
    return RecoveryError(
        f"cannot reach Kafka at {bootstrap} ({type(exc).__name__}); check "
        "KAFKA_BOOTSTRAP_SERVERS and that the broker runs"
    )


async def open_consumer(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer without a group (it commits nothing), started or `RecoveryError`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=10_000
    )
    try:
        await asyncio.wait_for(consumer.start(), CONNECT_TIMEOUT)
    except (KafkaError, TimeoutError, OSError) as exc:
        await consumer.stop()
        raise kafka_unreachable(bootstrap, exc) from exc
    return consumer


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic``; `RecoveryError` when the topic does not exist."""
    await consumer._client.force_metadata_update()
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise RecoveryError(
            f"topic {topic!r} does not exist; start the worker once (it creates its topics) "
            "and check LEDGERLINK_TOPIC_PREFIX"
        )
    return [TopicPartition(topic, p) for p in sorted(partitions)]


async def not_at_end(consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]) -> bool:
    """Whether the consumer has yet to read up to ``ends`` on any of those partitions."""
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


async def read_range(
    consumer: AIOKafkaConsumer,
    starts: Mapping[TopicPartition, int],
    ends: Mapping[TopicPartition, int],
) -> AsyncIterator[list[tuple[TopicPartition, ConsumerRecord[bytes, bytes]]]]:
    """The records of each partition from ``starts`` up to (not including) ``ends``, one
    fetched batch at a time, in partition order within a batch."""
    todo = [tp for tp in starts if starts[tp] < ends[tp]]
    if not todo:
        return
    consumer.assign(todo)
    for tp in todo:
        consumer.seek(tp, starts[tp])
    while await not_at_end(consumer, {tp: ends[tp] for tp in todo}):
        batch = await consumer.getmany(*todo, timeout_ms=500)
        yield [
            (tp, record)
            for tp, records in sorted(batch.items())
            for record in records
            if record.offset < ends[tp]
        ]


class Redrive:
    def __init__(self, channel: Channel, connection: str, *, run: str = "") -> None:
        self.bootstrap = channel.bootstrap
        self.names = channel.names
        self.connection = connection
        self.progress = channel.progress
        self.wait_seconds = channel.wait_seconds
        self.run = run or f"run-{int(time.time() * 1000)}"
        self.published: list[str] = []  # event ids
        self._last: dict[int, int] = {}  # replay partition → last offset published
        self._starts: dict[TopicPartition, int] = {}
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def _answer_topics(self) -> tuple[str, ...]:
        return (
            self.names.upserts_chargebee,
            self.names.upserts_poweroffice,
            self.names.deadletters,
        )

    async def __aenter__(self) -> Redrive:
        self._consumer = await open_consumer(self.bootstrap)
        try:
            await topic_partitions(self._consumer, self.names.changes_replay)
            answers: list[TopicPartition] = []
            for topic in self._answer_topics:
                answers += await topic_partitions(self._consumer, topic)
            self._starts = dict(await self._consumer.end_offsets(answers))
            self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
            await asyncio.wait_for(self._producer.start(), CONNECT_TIMEOUT)
        except (KafkaError, TimeoutError, OSError) as exc:
            await self._close()
            raise kafka_unreachable(self.bootstrap, exc) from exc
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._close()

    async def _close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        if self._consumer is not None:
            await self._consumer.stop()

    async def publish(self, request: ReplayRequest) -> None:
        assert self._producer is not None, "use Redrive in `async with`"
        request = ReplayRequest(mode=request.mode, event=request.event, run=self.run)
        try:
            meta = await self._producer.send_and_wait(
                self.names.changes_replay, request.to_bytes(), key=request.key
            )
        except KafkaError as exc:
            raise kafka_unreachable(self.bootstrap, exc) from exc
        self._last[meta.partition] = max(self._last.get(meta.partition, -1), meta.offset)
        self.published.append(request.event.event_id)

    async def finish(self, *, read: int, skipped: int = 0) -> Summary:
        """Wait (at most the channel's ``wait_seconds``) for the join to read what was
        published, then count its answers."""
        joined = await self._wait_joined(self.wait_seconds)
        upserts: list[dict[str, Any]] = []
        letters: list[dict[str, Any]] = []
        for topic, value in await self._answers():
            (letters if topic == self.names.deadletters else upserts).append(value)
        return Summary.count(
            read=read,
            published=self.published,
            upserts=upserts,
            dead_letters=letters,
            joined=joined,
            skipped=skipped,
        )

    async def _wait_joined(self, wait_seconds: float) -> bool:
        if not self._last:
            return True
        wanted = {
            TopicPartition(self.names.changes_replay, p): offset + 1
            for p, offset in self._last.items()
        }
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        deadline = time.monotonic() + wait_seconds
        shown = 0.0
        try:
            await admin.start()
            while True:
                committed = await admin.list_consumer_group_offsets(
                    self.names.app_id, partitions=list(wanted)
                )
                behind = sum(
                    max(0, end - (committed[tp].offset if tp in committed else 0))
                    for tp, end in wanted.items()
                )
                if behind == 0:
                    return True
                if time.monotonic() >= deadline:
                    return False
                if time.monotonic() - shown >= 5.0:
                    self.progress(f"waiting for the worker's join: {behind} still to read")
                    shown = time.monotonic()
                await asyncio.sleep(0.5)
        except KafkaError as exc:
            raise kafka_unreachable(self.bootstrap, exc) from exc
        finally:
            await admin.close()

    async def _answers(self) -> list[tuple[str, dict[str, Any]]]:
        assert self._consumer is not None
        consumer = self._consumer
        partitions = list(self._starts)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[str, dict[str, Any]]] = []
        async for batch in read_range(consumer, {tp: self._starts[tp] for tp in partitions}, ends):
            found.extend((tp.topic, value) for tp, r in batch for value in _json_values([r.value]))
        return found


def _json_values(raw: Iterable[bytes | None]) -> list[dict[str, Any]]:
    values = []
    for data in raw:
        try:
            value = orjson.loads(data or b"")
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            values.append(value)
    return values
