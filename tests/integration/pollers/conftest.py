"""Fixtures for the poller tests: simulators on real HTTP, settings that point at them,
and reading a topic back from the real broker."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.events import ChangeEvent
from streams.config import Settings, load_settings
from tests.integration.simulators import SimulatorPair, start_simulator_pair

PO_KEYS = {
    "application_key": "poller-test-app",
    "client_key": "poller-test-client",
    "subscription_key": "poller-test-sub",
}
CB_SITE = "poller-test"
CB_KEY = "test_poller_key"


Simulators = SimulatorPair


@pytest.fixture
async def simulators() -> AsyncIterator[Simulators]:
    pair = await start_simulator_pair(
        application_key=PO_KEYS["application_key"],
        client_key=PO_KEYS["client_key"],
        subscription_key=PO_KEYS["subscription_key"],
        po_rate_limit=10,
        site=CB_SITE,
        api_key=CB_KEY,
        cb_rate_limit_per_minute=0,
    )
    yield pair
    await pair.stop()


def worker_env(sims: Simulators, kafka: str, data_dir: Path, prefix: str) -> dict[str, str]:
    """The environment a ledgerlink process needs to poll these simulators into Kafka."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "LEDGERLINK_DATA_DIR": str(data_dir),
        "LEDGERLINK_TOPIC_PREFIX": prefix,
        "POWEROFFICE_BASE_URL": f"{sims.po.root_url}/v2",
        "POWEROFFICE_TOKEN_URL": f"{sims.po.root_url}/OAuth/Token",
        "POWEROFFICE_APPLICATION_KEY": PO_KEYS["application_key"],
        "POWEROFFICE_CLIENT_KEY": PO_KEYS["client_key"],
        "POWEROFFICE_SUBSCRIPTION_KEY": PO_KEYS["subscription_key"],
        "CHARGEBEE_SITE": CB_SITE,
        "CHARGEBEE_API_KEY": CB_KEY,
        "CHARGEBEE_BASE_URL": f"{sims.cb.root_url}/api/v2",
        "CHARGEBEE_REQUESTS_PER_MINUTE": "6000",
    }


def settings_for(sims: Simulators, kafka: str, data_dir: Path, prefix: str) -> Settings:
    return load_settings({**os.environ, **worker_env(sims, kafka, data_dir, prefix)})


async def read_topic(
    bootstrap: str, topic: str, *, at_least: int, wait_seconds: float = 60.0
) -> list[ChangeEvent]:
    """Every event on ``topic`` from the beginning, once at least ``at_least`` arrived
    and the end of the topic was reached."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + wait_seconds
        partitions: set[int] | None = None
        while not partitions:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await consumer._client.force_metadata_update()
                if time.monotonic() > deadline:
                    raise AssertionError(f"topic {topic} never appeared")
                await asyncio.sleep(0.2)
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        events: list[ChangeEvent] = []
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                events.extend(ChangeEvent.from_bytes(r.value) for r in records)
            if len(events) >= at_least:
                ends = await consumer.end_offsets(assigned)
                if all(await asyncio.gather(*[_at(consumer, tp, ends[tp]) for tp in assigned])):
                    return events
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(events)} of {at_least} events on {topic}")
    finally:
        await consumer.stop()


async def _at(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> bool:
    return bool(await consumer.position(tp) >= end)
