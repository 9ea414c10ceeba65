"""A failed Kafka metadata update answers only after the client's retry backoff."""

from __future__ import annotations

import time

from aiokafka.client import AIOKafkaClient

from streams import kafka_backoff


async def test_a_failed_metadata_update_waits_the_retry_backoff():
    kafka_backoff.install()
    client = AIOKafkaClient(bootstrap_servers="127.0.0.1:9", retry_backoff_ms=300)
    started = time.monotonic()
    # No broker known: the update fails at once, which made aiokafka's sender spin.
    assert await client._metadata_update(client.cluster, set()) is False
    assert time.monotonic() - started >= 0.29
    await client.close()


def test_installing_twice_wraps_once():
    kafka_backoff.install()
    wrapped = AIOKafkaClient._metadata_update
    kafka_backoff.install()
    assert AIOKafkaClient._metadata_update is wrapped
    assert kafka_backoff.installed()
