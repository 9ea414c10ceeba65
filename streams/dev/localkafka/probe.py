"""The Kafka protocol, just enough to know the broker answers clients."""

from __future__ import annotations

import socket
import struct

from streams.dev.localkafka.ports import HOST

__all__ = ["bootstrap_answers", "probe_broker"]


def _kafka_request(sock: socket.socket, api_key: int, version: int, body: bytes) -> bytes:
    client_id = b"ledgerlink-probe"
    header = struct.pack(">hhih", api_key, version, 1, len(client_id)) + client_id
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", _recv_exactly(sock, 4))[0]
    response = _recv_exactly(sock, size)
    if struct.unpack(">i", response[:4])[0] != 1:
        raise OSError("Kafka answered with a wrong correlation id")
    return response[4:]


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise OSError("Kafka closed the connection")
        chunks += chunk
    return bytes(chunks)


def probe_broker(port: int, *, host: str = HOST, timeout: float = 2.0) -> str | None:
    """Ask the broker for its metadata over the real protocol; its cluster id, or None.

    ApiVersions v0 first (every broker answers it), then Metadata v8, which lists the
    brokers: one that lists itself is registered, unfenced and serving clients.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        versions = _kafka_request(sock, 18, 0, b"")
        error, count = struct.unpack(">hi", versions[:6])
        if error != 0:
            raise OSError(f"ApiVersions failed with error code {error}")
        supported = {
            key: (low, high)
            for key, low, high in struct.iter_unpack(">hhh", versions[6 : 6 + 6 * count])
        }
        low, high = supported.get(3, (0, -1))
        if not low <= 8 <= high:
            raise OSError(f"the broker does not offer Metadata v8 (offers v{low}..v{high})")
        # topics: empty array (no topics), allow_auto_topic_creation, two authorised-ops flags
        metadata = _kafka_request(sock, 3, 8, struct.pack(">i???", 0, False, False, False))
    offset = 4  # throttle_time_ms
    (brokers,) = struct.unpack_from(">i", metadata, offset)
    offset += 4
    for _ in range(brokers):
        offset += 4  # node_id
        (host_len,) = struct.unpack_from(">h", metadata, offset)
        offset += 2 + host_len + 4  # host, port
        (rack_len,) = struct.unpack_from(">h", metadata, offset)
        offset += 2 + max(rack_len, 0)
    if brokers < 1:
        raise OSError("the broker lists no brokers yet")
    (id_len,) = struct.unpack_from(">h", metadata, offset)
    if id_len < 0:
        return None
    return metadata[offset + 2 : offset + 2 + id_len].decode()


def bootstrap_answers(bootstrap: str, *, timeout: float = 2.0) -> bool:
    """Whether any broker of a ``host:port[,host:port…]`` list answers clients now.

    Speaks plaintext Kafka, as the local broker does; a TLS or SASL listener counts as
    not answering.
    """
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if not port.isdigit():
            continue
        try:
            probe_broker(int(port), host=host.strip("[]") or HOST, timeout=timeout)
        except (OSError, struct.error, ValueError):
            continue
        return True
    return False
