"""Loopback ports: whether one is free, finding a free pair, refusing a taken one.

The broker listens on 127.0.0.1 only; the demo checks its own ports with `port_is_free`.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping

from connectors.exceptions import LocalKafkaError

__all__ = ["HOST", "ensure_ports_free", "find_free_port", "free_port", "port_is_free"]

HOST = "127.0.0.1"


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether a server could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option as the JVM's and aiohttp's server sockets, so TIME_WAIT from our last
        # run is no clash.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port the system reports free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def find_free_port() -> int:
    """A free client port P whose neighbour P+1 is free too, for the controller."""
    for _ in range(100):
        port = free_port()
        if port < 65535 and port_is_free(port + 1):
            return port
    raise LocalKafkaError(f"found no two adjacent free ports on {HOST}")


def ensure_ports_free(ports: Mapping[str, int]) -> None:
    """Refuse to start when another program holds a port the broker needs."""
    for role, port in ports.items():
        if not 0 < port < 65536:
            raise LocalKafkaError(f"the {role} port must be between 1 and 65535, not {port}")
        if port_is_free(port):
            continue
        if role == "controller":
            remedy = (
                "this data directory keeps the controller port it was formatted with: stop "
                "that program, or use another --data-dir"
            )
        else:
            remedy = "stop it or pick another port with `ledgerlink kafka start --port N`"
        raise LocalKafkaError(
            f"{HOST}:{port} ({role} port) is already in use by another program: {remedy}"
        )
