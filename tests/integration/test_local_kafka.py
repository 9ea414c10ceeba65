"""`ledgerlink kafka start|stop` against the real broker: data on disk survives a restart,
and starting twice or stopping twice is harmless and says so.

Each test runs a broker of its own (own port, own data directory), never the session's.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.dev import localkafka

pytestmark = pytest.mark.integration


def ledgerlink(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `ledgerlink` command, as a person would."""
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose broker is stopped after the test, whatever happened."""
    directory = tmp_path / "kafka"
    yield directory
    localkafka.stop(data_dir=directory)


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"connection-1")
    finally:
        await producer.stop()


async def consume_all(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        while len(values) < expected:
            batches = await consumer.getmany(timeout_ms=30_000)
            if not batches:
                break
            values += [m.value for records in batches.values() for m in records if m.value]
    finally:
        await consumer.stop()
    return values


async def test_messages_survive_stop_and_start(data_dir: Path, topic_name: str) -> None:
    port = localkafka.find_free_port()
    first = localkafka.start(data_dir=data_dir, port=port)
    sent = [f"invoice-{n}".encode() for n in range(50)]
    await produce(first.bootstrap_servers, topic_name, sent)

    stopped = localkafka.stop(data_dir=data_dir)
    assert stopped.startswith("Kafka stopped")
    assert not first.log_file.with_name("kafka.pid").exists()

    second = localkafka.start(data_dir=data_dir, port=port)
    assert not second.already_running
    assert second.pid != first.pid
    assert second.cluster_id == first.cluster_id
    assert await consume_all(second.bootstrap_servers, topic_name, len(sent)) == sent


def test_cli_start_twice_says_already_running(data_dir: Path) -> None:
    port = str(localkafka.find_free_port())

    started = ledgerlink("kafka", "start", "--port", port, "--data-dir", str(data_dir))
    assert started.returncode == 0, started.stderr
    assert "started in" in started.stdout
    assert f"127.0.0.1:{port}" in started.stdout
    assert localkafka.probe_broker(int(port)) is not None

    again = ledgerlink("kafka", "start", "--port", port, "--data-dir", str(data_dir))
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    pid = localkafka.read_pid_file(data_dir / "kafka.pid")
    assert f"pid {pid}," in started.stdout
    assert f"pid {pid}," in again.stdout


def test_cli_start_on_another_port_than_the_running_broker_fails(data_dir: Path) -> None:
    port = localkafka.find_free_port()
    localkafka.start(data_dir=data_dir, port=port)
    other = str(localkafka.find_free_port())

    moved = ledgerlink("kafka", "start", "--port", other, "--data-dir", str(data_dir))
    assert moved.returncode == 2, moved.stdout
    assert f"on port {port}, not on port {other}" in moved.stderr
    assert "already running" not in moved.stdout
    assert localkafka.probe_broker(port) is not None

    unasked = ledgerlink("kafka", "start", "--data-dir", str(data_dir))
    assert unasked.returncode == 0, unasked.stderr
    assert f"already running at 127.0.0.1:{port}" in unasked.stdout


def test_cli_stop_twice_says_not_running(data_dir: Path) -> None:
    port = localkafka.find_free_port()
    localkafka.start(data_dir=data_dir, port=port)

    stopped = ledgerlink("kafka", "stop", "--data-dir", str(data_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert "Kafka stopped" in stopped.stdout
    with pytest.raises(ConnectionRefusedError):
        localkafka.probe_broker(port)

    again = ledgerlink("kafka", "stop", "--data-dir", str(data_dir))
    assert again.returncode == 0, again.stderr
    assert "was not running" in again.stdout


def test_cli_start_refuses_a_port_another_program_holds(data_dir: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = str(holder.getsockname()[1])
        result = ledgerlink("kafka", "start", "--port", taken, "--data-dir", str(data_dir))
    assert result.returncode == 2
    assert f"127.0.0.1:{taken} (client port) is already in use" in result.stderr
    assert not (data_dir / "kafka.pid").exists()


def test_session_broker_answers(kafka_bootstrap: str) -> None:
    host, _, port = kafka_bootstrap.split(",")[0].rpartition(":")
    assert localkafka.probe_broker(int(port), host=host or "127.0.0.1") is not None
