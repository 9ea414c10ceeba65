"""How many commands still wait on a topic for this worker's agent: the lag between the
topic's end and what the agent processed (or the group committed before a restart).

The sweeper for stuck creates asks this first: while commands wait, a link that is
still `creating` may simply be queued behind them, and sending its create again would
only spend API calls.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.runtime import Runtime

__all__ = ["CommandBacklog", "partition_lag"]

log = logging.getLogger(__name__)


class CommandBacklog:
    def __init__(
        self, *, app: Any, runtime: Runtime, bootstrap_servers: str, group_id: str, topic: str
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self.topic = topic

    async def waiting(self) -> int | None:
        """Commands not yet processed on this worker's partitions of the topic; None when
        Kafka could not tell (then nobody should assume the topic is drained)."""
        partitions = [tp for tp in self.app.consumer.assignment() if tp.topic == self.topic]
        if not partitions:
            return 0
        try:
            ends = await self.app.consumer.highwaters(*partitions)
            starts = await self.app.consumer.earliest_offsets(*partitions)
            committed = await self._committed()
        except KafkaError as exc:
            log.debug("cannot measure the backlog of %s: %s", self.topic, exc)
            return None
        waiting = 0
        for tp in partitions:
            done = self.runtime.done.get((tp.topic, tp.partition), -1) + 1
            # Records deleted from the topic's start (retention) are not waiting either.
            processed = max(done, committed.get((tp.topic, tp.partition), 0), int(starts[tp]))
            waiting += max(0, int(ends[tp]) - processed)
        return waiting

    async def _committed(self) -> dict[tuple[str, int], int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(self.group_id)
        finally:
            await admin.close()
        return {
            (tp.topic, tp.partition): meta.offset
            for tp, meta in offsets.items()
            if tp.topic == self.topic and meta.offset >= 0
        }


async def partition_lag(
    *, app: Any, runtime: Runtime, bootstrap_servers: str, group_id: str, topics: frozenset[str]
) -> dict[tuple[str, int], int] | None:
    """Per assigned partition of ``topics``: the log end offset minus what this worker
    processed (or the group committed); None when Kafka could not tell."""
    partitions = [tp for tp in app.consumer.assignment() if tp.topic in topics]
    if not partitions:
        return {}
    try:
        ends = await app.consumer.highwaters(*partitions)
        starts = await app.consumer.earliest_offsets(*partitions)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group_id)
        finally:
            await admin.close()
    except KafkaError as exc:
        log.debug("cannot measure the consumer lag: %s", exc)
        return None
    committed = {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}
    lag: dict[tuple[str, int], int] = {}
    for tp in partitions:
        key = (tp.topic, tp.partition)
        processed = max(runtime.done.get(key, -1) + 1, committed.get(key, 0), int(starts[tp]))
        lag[key] = max(0, int(ends[tp]) - processed)
    return lag
