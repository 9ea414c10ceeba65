"""How far this worker's agents are behind on the topics they consume: per assigned
partition, the log end minus what the agent processed (or the group committed before a
restart, or the log start after retention deleted older records).

The sweeper for stuck creates asks `CommandBacklog` first: while commands wait, a link
that is still `creating` may simply be queued behind them, and sending its create again
would only spend API calls. `/metrics` shows `partition_lag` as the consumer lag.

Offsets are read through `OffsetProbe`'s own Kafka clients, not through Faust's consumer:
Faust answers offset queries on its consumer thread between fetches, which made one
scrape of `/metrics` take seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.runtime import Runtime

__all__ = ["CommandBacklog", "OffsetProbe", "lag_of", "partition_lag"]

log = logging.getLogger(__name__)


def lag_of(
    partitions: Collection[tuple[str, int]],
    *,
    ends: Mapping[tuple[str, int], int],
    starts: Mapping[tuple[str, int], int],
    committed: Mapping[tuple[str, int], int],
    done: Mapping[tuple[str, int], int],
) -> dict[tuple[str, int], int]:
    """Records not yet processed per partition. ``done`` holds the last processed offset,
    ``committed`` the group's next offset; records before the log start are gone, not
    waiting."""
    lag: dict[tuple[str, int], int] = {}
    for key in partitions:
        processed = max(done.get(key, -1) + 1, committed.get(key, 0), starts.get(key, 0))
        lag[key] = max(0, ends.get(key, 0) - processed)
    return lag


class OffsetProbe:
    """Log start and end offsets and the group's committed offsets, through a consumer
    without a group and an admin client of its own, started on first use."""

    def __init__(self, *, bootstrap_servers: str, group_id: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None

    async def offsets(
        self, partitions: Collection[tuple[str, int]]
    ) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int], dict[tuple[str, int], int]]:
        """(log ends, log starts, committed) of ``partitions``; raises KafkaError."""
        consumer, admin = await self._clients()
        tps = [TopicPartition(topic, partition) for topic, partition in partitions]
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        group = await admin.list_consumer_group_offsets(self.group_id)
        wanted = set(partitions)
        committed = {
            (tp.topic, tp.partition): meta.offset
            for tp, meta in group.items()
            if (tp.topic, tp.partition) in wanted and meta.offset >= 0
        }
        return (
            {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()},
            {(tp.topic, tp.partition): int(offset) for tp, offset in starts.items()},
            committed,
        )

    async def _clients(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False
            )
            await consumer.start()
            self._consumer = consumer
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
            await admin.start()
            self._admin = admin
        return self._consumer, self._admin

    async def close(self) -> None:
        consumer, admin = self._consumer, self._admin
        self._consumer = self._admin = None
        if consumer is not None:
            await consumer.stop()
        if admin is not None:
            await admin.close()


async def partition_lag(
    *, app: Any, runtime: Runtime, probe: OffsetProbe, topics: Collection[str]
) -> dict[tuple[str, int], int] | None:
    """Per assigned partition of ``topics``: records not yet processed; None when Kafka
    could not tell."""
    partitions = [
        (tp.topic, tp.partition) for tp in app.consumer.assignment() if tp.topic in topics
    ]
    if not partitions:
        return {}
    try:
        ends, starts, committed = await probe.offsets(partitions)
    except KafkaError as exc:
        log.debug("cannot measure the consumer lag: %s", exc)
        return None
    return lag_of(partitions, ends=ends, starts=starts, committed=committed, done=runtime.done)


class CommandBacklog:
    def __init__(self, *, app: Any, runtime: Runtime, probe: OffsetProbe, topic: str) -> None:
        self.app = app
        self.runtime = runtime
        self.probe = probe
        self.topic = topic

    async def waiting(self) -> int | None:
        """Commands not yet processed on this worker's partitions of the topic; None when
        Kafka could not tell (then nobody should assume the topic is drained)."""
        lag = await partition_lag(
            app=self.app, runtime=self.runtime, probe=self.probe, topics=(self.topic,)
        )
        return None if lag is None else sum(lag.values())
