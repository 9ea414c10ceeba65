"""Poll state in Kafka: cursors and known-id sets on a compacted topic, one partition per
connection's partition, so that they move with the connection from worker to worker.

`PollStateLog` owns the topic (`{prefix}poll-state`, compacted: the latest record of a
key is what counts). It writes each record to the partition of its connection
(`state_codec.partition_for`), waiting for the broker's acknowledgement, and reads a
partition whole into memory when the worker takes the partition over (`load`), or on
first use. `KafkaCursorStore` and `KafkaIdSetStore` are the poll loop's and the deletion
watch's stores on top of it.

A cursor is saved only after its events were published, as with files: a worker that
takes a connection over resumes from the last saved cursor, so it may publish again what
the last owner published after its last save (harmless: the join drops versions it has
seen), and never skips a change.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Iterable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from connectors.polling.cursor import Cursor
from connectors.polling.cursor_store import CursorStoreError
from connectors.polling.publisher import RETRY_BACKOFF_MS, PublishError, durable_producer
from connectors.polling.state_codec import (
    IdSetHead,
    chunk_key,
    cursor_key,
    decode_cursor,
    decode_id_set,
    encode_cursor,
    encode_id_set,
    id_set_key,
    partition_for,
)

__all__ = ["KafkaCursorStore", "KafkaIdSetStore", "PollStateLog", "StateWriteError"]

log = logging.getLogger(__name__)


class StateWriteError(PublishError):
    """Kafka did not acknowledge poll state; the poll is tried again at the next cycle."""


class PollStateLog:
    """The latest value of every key of the state topic's loaded partitions."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        *,
        partitions: int,
        client_id: str = "ledgerlink-poll-state",
    ) -> None:
        self.topic = topic
        self.partitions = partitions
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._values: dict[int, dict[bytes, bytes]] = {}
        self._loading = asyncio.Lock()
        self._producer = durable_producer(bootstrap_servers, client_id=client_id)

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaError as exc:
            raise StateWriteError(f"cannot reach Kafka to keep poll state: {exc}") from exc

    async def stop(self) -> None:
        await self._producer.stop()

    def partition_of(self, connection: str) -> int:
        return partition_for(connection, self.partitions)

    def loaded(self) -> frozenset[int]:
        return frozenset(self._values)

    async def load(self, partitions: Collection[int]) -> None:
        """Read ``partitions`` from their beginning to their current end, replacing what
        was held of them. Raises `CursorStoreError` when Kafka cannot be read."""
        if not partitions:
            return
        async with self._loading:
            values = await self._read(sorted(partitions))
            self._values.update(values)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop what is held of ``partitions`` (another worker owns them now)."""
        for partition in partitions:
            self._values.pop(partition, None)

    async def get(self, connection: str, key: bytes) -> bytes | None:
        partition = self.partition_of(connection)
        if partition not in self._values:
            async with self._loading:
                if partition not in self._values:
                    self._values.update(await self._read([partition]))
        return self._values[partition].get(key)

    async def put(self, connection: str, records: Sequence[tuple[bytes, bytes | None]]) -> None:
        """Write ``records`` (key, value; None deletes the key) to the connection's
        partition and return once Kafka acknowledged every one."""
        partition = self.partition_of(connection)
        try:
            futures = [
                await self._producer.send(self.topic, value=value, key=key, partition=partition)
                for key, value in records
            ]
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise StateWriteError(
                f"Kafka did not acknowledge poll state of {connection!r} on {self.topic!r}: {exc}"
            ) from exc
        held = self._values.get(partition)
        if held is not None:
            for key, value in records:
                if value is None:
                    held.pop(key, None)
                else:
                    held[key] = value

    async def _read(self, partitions: Sequence[int]) -> dict[int, dict[bytes, bytes]]:
        started = time.monotonic()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group_id=None,
            enable_auto_commit=False,
            retry_backoff_ms=RETRY_BACKOFF_MS,
        )
        values: dict[int, dict[bytes, bytes]] = {p: {} for p in partitions}
        try:
            await consumer.start()
            tps = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            waiting = {tp for tp in tps if ends[tp] > 0}
            while waiting:
                batches = await consumer.getmany(*waiting, timeout_ms=1000)
                for tp, records in batches.items():
                    for record in records:
                        if record.offset >= ends[tp] or record.key is None:
                            continue
                        if record.value is None:
                            values[tp.partition].pop(record.key, None)
                        else:
                            values[tp.partition][record.key] = record.value
                for tp in list(waiting):
                    if await consumer.position(tp) >= ends[tp]:
                        waiting.discard(tp)
        except KafkaError as exc:
            raise CursorStoreError(
                f"cannot read poll state from {self.topic!r} partitions {list(partitions)}: {exc}"
            ) from exc
        finally:
            await consumer.stop()
        log.debug(
            "read poll state of partitions %s in %.2f s",
            list(partitions),
            time.monotonic() - started,
        )
        return values


class KafkaCursorStore:
    """Poll cursors in the state topic (the `CursorStore` of the worker)."""

    def __init__(self, state: PollStateLog) -> None:
        self.state = state

    async def load(self, connection: str, system: str, entity: str) -> Cursor:
        data = await self.state.get(connection, cursor_key(connection, system, entity))
        if data is None:
            return Cursor()
        try:
            return decode_cursor(data)
        except ValueError as exc:
            raise CursorStoreError(
                f"the poll cursor of {connection} {system} {entity} in {self.state.topic!r} "
                f"is corrupt ({exc})"
            ) from exc

    async def save(self, connection: str, system: str, entity: str, cursor: Cursor) -> None:
        await self.state.put(
            connection, [(cursor_key(connection, system, entity), encode_cursor(cursor))]
        )


class KafkaIdSetStore:
    """The deletion watch's known ids in the state topic, chunked (`state_codec`)."""

    def __init__(self, state: PollStateLog) -> None:
        self.state = state

    async def load(self, connection: str, resource: str) -> set[str]:
        head_bytes = await self.state.get(connection, id_set_key(connection, resource))
        if head_bytes is None:
            return set()
        try:
            head = IdSetHead.from_bytes(head_bytes)
            keys = [chunk_key(connection, resource, head.generation, i) for i in range(head.chunks)]
            chunks = [await self.state.get(connection, k) for k in keys]
            # A large set takes seconds of CPU: off the event loop (zlib frees the GIL).
            return await asyncio.to_thread(decode_id_set, head, [c for c in chunks if c])
        except ValueError as exc:
            # Known ids only find deletes: without them the next listing starts afresh,
            # and a record deleted since the last one is not reported (logged, not fatal).
            log.warning(
                "%s: the known %s ids in %r are unreadable (%s); starting from the next listing",
                connection,
                resource,
                self.state.topic,
                exc,
            )
            return set()

    async def save(self, connection: str, resource: str, ids: set[str]) -> None:
        key = id_set_key(connection, resource)
        previous = await self.state.get(connection, key)
        snapshot = frozenset(ids)  # the deletion watch adds to its set meanwhile
        head, chunks = await asyncio.to_thread(encode_id_set, snapshot, generation=time.time_ns())
        records: list[tuple[bytes, bytes | None]] = [
            (chunk_key(connection, resource, head.generation, i), chunk)
            for i, chunk in enumerate(chunks)
        ]
        await self.state.put(connection, records)
        await self.state.put(connection, [(key, head.to_bytes())])  # the head last
        if previous is not None:
            try:
                old = IdSetHead.from_bytes(previous)
            except ValueError:
                return
            if old.generation != head.generation:
                stale = [
                    (chunk_key(connection, resource, old.generation, i), None)
                    for i in range(old.chunks)
                ]
                await self.state.put(connection, stale)
