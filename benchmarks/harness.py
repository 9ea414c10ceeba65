"""What the benchmarks share: worker subprocesses, waits, Kafka helpers, the table."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.dev import localkafka
from streams.dev.localkafka.ports import free_port as free_port  # the scenarios take it here


@contextlib.contextmanager
def kafka_for(work: Path) -> Iterator[str]:
    """The bootstrap servers to benchmark on: KAFKA_BOOTSTRAP_SERVERS when set, else a
    local broker started in ``work`` for the duration, and stopped after."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given is not None:
        yield given
        return
    data_dir = work / "kafka"
    started = localkafka.start(data_dir=data_dir, port=localkafka.find_free_port())
    try:
        yield started.bootstrap_servers
    finally:
        localkafka.stop(data_dir=data_dir)


def rss_kib(pid: int, field_name: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    web_port: int
    log: Path

    @property
    def status_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/ledgerlink/status"


async def start_worker(
    env: Mapping[str, str], work: Path, name: str, src: Path, *, web_port: int | None = None
) -> Worker:
    """Start a worker subprocess; ``web_port`` when its env must name the port beforehand
    (e.g. in LEDGERLINK_WEBHOOK_URL), else a free one."""
    web_port = free_port() if web_port is None else web_port
    data = work / name
    data.mkdir(parents=True, exist_ok=True)
    log = data / "worker.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams.cli",
        "worker",
        cwd=src,
        env={
            **env,
            "PYTHONPATH": str(src),
            "LEDGERLINK_DATA_DIR": str(data),
            "LEDGERLINK_WEB_PORT": str(web_port),
        },
        stdout=log.open("wb"),
        stderr=asyncio.subprocess.STDOUT,
    )
    return Worker(process=process, web_port=web_port, log=log)


async def stop_workers(workers: Iterable[Worker]) -> None:
    for worker in workers:
        if worker.process.returncode is None:
            worker.process.terminate()
    for worker in workers:
        try:
            await asyncio.wait_for(worker.process.wait(), 60)
        except TimeoutError:
            worker.process.kill()
            await worker.process.wait()


async def status_of(http: httpx.AsyncClient, worker: Worker, **params: str) -> dict[str, Any]:
    response = await http.get(worker.status_url, params=params, timeout=600)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def check_alive(workers: Iterable[Worker]) -> None:
    for worker in workers:
        if worker.process.returncode is not None:
            raise SystemExit(f"a worker exited ({worker.process.returncode}); see {worker.log}")


async def wait_for(predicate: Any, *, limit: float, every: float = 0.05) -> float | None:
    """Seconds until ``predicate()`` held, or None after ``limit`` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if await predicate():
            return time.monotonic() - started
        await asyncio.sleep(every)
    return None


async def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes, bytes]],
    *,
    acks: int | str = "all",
    batch_size: int = 5000,
) -> int:
    """Send ``messages`` (key, value) to partition 0 of ``topic``, ``batch_size`` in flight."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024, acks=acks
    )
    await producer.start()
    sent = 0
    try:
        batch = []
        for key, value in messages:
            batch.append(await producer.send(topic, key=key, value=value, partition=0))
            sent += 1
            if len(batch) >= batch_size:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)
    finally:
        await producer.stop()
    return sent


async def end_offset(bootstrap: str, topic: str) -> int:
    """Messages in one-partition ``topic``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def first_and_last_ms(bootstrap: str, topic: str) -> tuple[int, int, int]:
    """(count, timestamp of the first message, of the last), over one-partition ``topic``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        stamps = []
        for offset in (0, end - 1):
            consumer.seek(tp, offset)
            message = await consumer.getone()
            stamps.append(int(message.timestamp))
        return end, stamps[0], stamps[1]
    finally:
        await consumer.stop()


def print_table(title: str, columns: Sequence[str], rows: Mapping[str, Sequence[str]]) -> None:
    width = max([len(title), *(len(name) for name in rows)]) + 2
    cols = [max([len(c), *(len(r[i]) for r in rows.values())]) + 2 for i, c in enumerate(columns)]
    print()
    print(title.ljust(width) + "".join(c.ljust(w) for c, w in zip(columns, cols, strict=True)))
    print("-" * (width + sum(cols)))
    for name, values in rows.items():
        print(name.ljust(width) + "".join(v.ljust(w) for v, w in zip(values, cols, strict=True)))
