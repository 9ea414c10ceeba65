"""How poll state is written to Kafka: the partition of a connection, the record keys, and
the encodings of a cursor and of a set of known ids. Pure functions, no I/O.

Every ledgerlink topic is keyed by the connection id with the producer's default
partitioner, so a connection lives on partition ``murmur2(id) % partitions`` of every
topic (`partition_for`, the same arithmetic as Kafka's Java client and aiokafka). Poll
state goes to that same partition of the state topic, so it moves with the connection.

An id set can be large (a company with a million customers), larger than one Kafka
message may be (the broker's `message.max.bytes`, 1 MiB by default). It is written as
a small *head* record and compressed *chunks* of at most `CHUNK_BYTES` each; the chunk
keys carry a generation, so a reader never mixes the chunks of two writes: it takes the
generation the head names, which is written last.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson
from aiokafka.partitioner import murmur2

from connectors.polling.cursor import Cursor

__all__ = [
    "CHUNK_BYTES",
    "IdSetHead",
    "chunk_key",
    "cursor_key",
    "decode_cursor",
    "decode_id_set",
    "encode_cursor",
    "encode_id_set",
    "id_set_key",
    "partition_for",
]

#: Half of Kafka's default message and request size limits (1 MiB), leaving room for the
#: key, headers and batch overhead.
CHUNK_BYTES = 512 * 1024


def partition_for(connection: str, partitions: int) -> int:
    """The partition the default partitioner gives the key ``connection`` (its UTF-8 bytes):
    ``(murmur2(key) & 0x7fffffff) % partitions``, as Kafka's Java client computes it."""
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    hashed: int = murmur2(connection.encode())
    return (hashed & 0x7FFFFFFF) % partitions


def cursor_key(connection: str, system: str, entity: str) -> bytes:
    return f"{connection}/cursor/{system}/{entity}".encode()


def id_set_key(connection: str, resource: str) -> bytes:
    """The key of an id set's head record."""
    return f"{connection}/ids/{resource}".encode()


def chunk_key(connection: str, resource: str, generation: int, index: int) -> bytes:
    return f"{connection}/ids/{resource}/{generation}/{index}".encode()


def encode_cursor(cursor: Cursor) -> bytes:
    return orjson.dumps(cursor.to_json())


def decode_cursor(data: bytes) -> Cursor:
    """Raises `ValueError` for bytes that are not a cursor."""
    try:
        return Cursor.from_json(orjson.loads(data))
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from exc


@dataclass(frozen=True, slots=True)
class IdSetHead:
    generation: int
    chunks: int
    count: int

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {"generation": self.generation, "chunks": self.chunks, "count": self.count}
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> IdSetHead:
        """Raises `ValueError` for bytes that are not a head record."""
        try:
            raw = orjson.loads(data)
            head = cls(int(raw["generation"]), int(raw["chunks"]), int(raw["count"]))
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"not an id set head: {exc}") from exc
        if head.chunks < 0 or head.count < 0:
            raise ValueError(f"not an id set head: {raw}")
        return head


def encode_id_set(
    ids: Iterable[str], *, generation: int, chunk_bytes: int = CHUNK_BYTES
) -> tuple[IdSetHead, list[bytes]]:
    """The head and the chunks that hold ``ids``: the ids sorted (shortest first, so
    numbers are in numeric order and compress well), one per line, zlib-compressed, cut
    into pieces of at most ``chunk_bytes``."""
    ordered = sorted(set(ids), key=lambda i: (len(i), i))
    if any("\n" in i for i in ordered):
        raise ValueError("an id contains a line break")
    packed = zlib.compress("\n".join(ordered).encode(), 6)
    chunks = [packed[at : at + chunk_bytes] for at in range(0, len(packed), chunk_bytes)]
    return IdSetHead(generation=generation, chunks=len(chunks), count=len(ordered)), chunks


def decode_id_set(head: IdSetHead, chunks: Sequence[bytes]) -> set[str]:
    """The ids of ``head`` from its chunks in order. Raises `ValueError` when a chunk is
    missing or the data do not match the head."""
    if len(chunks) != head.chunks:
        raise ValueError(f"{len(chunks)} of {head.chunks} chunk(s)")
    try:
        text = zlib.decompress(b"".join(chunks)).decode()
    except (zlib.error, UnicodeDecodeError) as exc:
        raise ValueError(f"corrupt id set: {exc}") from exc
    ids = set(text.split("\n")) if text else set()
    if len(ids) != head.count:
        raise ValueError(f"{len(ids)} ids where the head says {head.count}")
    return ids
