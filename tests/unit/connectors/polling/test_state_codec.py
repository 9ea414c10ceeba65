"""Poll state's encoding in Kafka: the partition of a connection, cursors, chunked id sets."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner

from connectors.polling.cursor import Cursor
from connectors.polling.state_codec import (
    CHUNK_BYTES,
    IdSetHead,
    decode_cursor,
    decode_id_set,
    encode_cursor,
    encode_id_set,
    partition_for,
)

#: murmur2 of these keys as Kafka's Java client computes it (its UtilsTest), signed.
JAVA_MURMUR2 = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}

#: Kafka's broker and producer refuse messages over 1 MiB by default.
KAFKA_DEFAULT_MESSAGE_LIMIT = 1024 * 1024


@pytest.mark.parametrize(("key", "java_hash"), sorted(JAVA_MURMUR2.items()))
def test_a_connection_lands_where_kafkas_java_client_puts_its_key(key, java_hash):
    for partitions in (1, 2, 3, 12, 100):
        assert partition_for(key, partitions) == (java_hash & 0x7FFFFFFF) % partitions


def test_a_connection_lands_where_the_poll_publisher_puts_its_events():
    partitioner = DefaultPartitioner()
    every = list(range(12))
    for n in range(200):
        connection = f"tenant-{n}"
        assert partition_for(connection, 12) == partitioner(connection.encode(), every, every)


def test_there_is_no_partition_without_partitions():
    with pytest.raises(ValueError, match="partitions"):
        partition_for("acme", 0)


def test_a_cursor_reads_back_as_written():
    cursor = Cursor(high_water=638_000_000_000_000_000, seen={"7:3": 638_000_000_000_000_000})
    assert decode_cursor(encode_cursor(cursor)) == cursor


def test_bytes_that_are_not_a_cursor_are_refused():
    with pytest.raises(ValueError, match="not JSON"):
        decode_cursor(b"not json")


def test_an_id_set_reads_back_as_written():
    ids = {"3", "10", "2", "1000000"}
    head, chunks = encode_id_set(ids, generation=7)
    assert head == IdSetHead(generation=7, chunks=1, count=4)
    assert decode_id_set(IdSetHead.from_bytes(head.to_bytes()), chunks) == ids


def test_an_empty_id_set_reads_back_empty():
    head, chunks = encode_id_set(set(), generation=1)
    assert decode_id_set(head, chunks) == set()


def test_a_million_ids_fit_in_messages_kafka_accepts():
    ids = {str(n) for n in range(10_000_000, 11_000_000)}
    head, chunks = encode_id_set(ids, generation=1)
    assert all(len(chunk) <= CHUNK_BYTES < KAFKA_DEFAULT_MESSAGE_LIMIT for chunk in chunks)
    assert decode_id_set(head, chunks) == ids


def test_a_large_id_set_is_cut_into_chunks_in_order():
    ids = {f"{n:08d}-{n * 7919 % 100_003}" for n in range(50_000)}
    head, chunks = encode_id_set(ids, generation=2, chunk_bytes=4096)
    assert head.chunks == len(chunks) > 1
    assert decode_id_set(head, chunks) == ids
    with pytest.raises(ValueError, match="corrupt"):
        decode_id_set(head, list(reversed(chunks)))


def test_a_missing_chunk_is_an_error_not_a_smaller_set():
    ids = {str(n) for n in range(100_000)}
    head, chunks = encode_id_set(ids, generation=3, chunk_bytes=1024)
    with pytest.raises(ValueError, match="chunk"):
        decode_id_set(head, chunks[:-1])


def test_a_head_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="not an id set head"):
        IdSetHead.from_bytes(b'{"generation": 1}')
