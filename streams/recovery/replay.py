"""`ledgerlink replay --since TIME`: a connection's change events from a point in time,
through the join again.

Kafka's offsets-for-times finds, per partition of `changes`, the first event at or after
TIME; every event of the connection from there to the end the topic had when the command
started is copied to `changes.replay` as a plain replay. The join applies its usual
rules, so a version it already applied makes no write.
"""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from connectors.events import ChangeEvent, EventDecodeError
from streams.recovery.redrive import (
    Channel,
    Redrive,
    kafka_unreachable,
    open_consumer,
    read_range,
    topic_partitions,
)
from streams.recovery.summary import Summary
from streams.sync.replays import ReplayMode, ReplayRequest

__all__ = ["replay_since"]


async def replay_since(since_ms: int, connection: str, channel: Channel) -> Summary:
    key = connection.encode()
    read = skipped = 0
    names, progress = channel.names, channel.progress
    consumer = await open_consumer(channel.bootstrap)
    try:
        async with Redrive(channel, connection) as redrive:
            partitions = await topic_partitions(consumer, names.changes)
            try:
                found = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
                ends = await consumer.end_offsets(partitions)
            except KafkaError as exc:
                raise kafka_unreachable(channel.bootstrap, exc) from exc
            starts: dict[TopicPartition, int] = {
                tp: (found[tp].offset if found.get(tp) is not None else ends[tp])
                for tp in partitions
            }
            total = sum(ends[tp] - starts[tp] for tp in partitions)
            progress(f"{total} change events on {names.changes} since then (all connections)")
            scanned = 0
            async for batch in read_range(consumer, starts, ends):
                for _, record in batch:
                    scanned += 1
                    if record.key != key:
                        continue
                    read += 1
                    try:
                        event = ChangeEvent.from_bytes(record.value or b"")
                    except EventDecodeError:
                        skipped += 1  # the join dead-lettered it when it first came
                        continue
                    if event.connection != connection:
                        skipped += 1
                        continue
                    await redrive.publish(ReplayRequest(mode=ReplayMode.REPLAY, event=event))
                progress(f"scanned {scanned} of {total}; re-driven {len(redrive.published)}")
            return await redrive.finish(read=read, skipped=skipped)
    finally:
        await consumer.stop()
