"""Poll state in Kafka (a compacted topic): it reads back in another process's store,
lands on each connection's partition, and a topic of another size is refused by name."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from connectors.exceptions import ConfigError
from connectors.polling.cursor import Cursor
from connectors.polling.kafka_state import KafkaCursorStore, KafkaIdSetStore, PollStateLog
from connectors.polling.state_codec import partition_for
from streams.topic_admin import ensure_topics

pytestmark = pytest.mark.integration

PARTITIONS = 4


async def new_log(bootstrap: str, topic: str) -> PollStateLog:
    state = PollStateLog(bootstrap, topic, partitions=PARTITIONS)
    await state.start()
    return state


async def partitions_holding(bootstrap: str, topic: str) -> dict[int, set[bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        keys: dict[int, set[bytes]] = {}
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                keys.setdefault(tp.partition, set()).update(r.key for r in records if r.key)
        return keys
    finally:
        await consumer.stop()


async def test_cursors_and_id_sets_read_back_in_another_store(kafka_bootstrap, topic_name):
    await ensure_topics(
        kafka_bootstrap, [], compacted=[topic_name], partitions=PARTITIONS, replication_factor=1
    )
    ids = {str(n) for n in range(1, 400_001)}  # more than one chunk
    first = await new_log(kafka_bootstrap, topic_name)
    try:
        cursor = Cursor(high_water=12345, seen={"7": 12345})
        await KafkaCursorStore(first).save("acme", "poweroffice", "Employee", cursor)
        await KafkaIdSetStore(first).save("acme", "Employees", ids)
        await KafkaIdSetStore(first).save("fjord", "Employees", {"1", "2"})
    finally:
        await first.stop()

    # Another worker, taking the partitions over.
    second = await new_log(kafka_bootstrap, topic_name)
    try:
        await second.load(range(PARTITIONS))
        store = KafkaCursorStore(second)
        assert await store.load("acme", "poweroffice", "Employee") == cursor
        assert await store.load("acme", "chargebee", "customer") == Cursor()
        assert await KafkaIdSetStore(second).load("acme", "Employees") == ids
        assert await KafkaIdSetStore(second).load("fjord", "Employees") == {"1", "2"}
        # A smaller set replaces the larger one whole.
        await KafkaIdSetStore(second).save("acme", "Employees", {"3"})
    finally:
        await second.stop()

    third = await new_log(kafka_bootstrap, topic_name)
    try:
        assert await KafkaIdSetStore(third).load("acme", "Employees") == {"3"}
    finally:
        await third.stop()

    keys = await partitions_holding(kafka_bootstrap, topic_name)
    for connection in ("acme", "fjord"):
        mine = keys[partition_for(connection, PARTITIONS)]
        assert f"{connection}/ids/Employees".encode() in mine


async def test_the_state_topic_is_compacted(kafka_bootstrap, topic_name):
    await ensure_topics(
        kafka_bootstrap, [], compacted=[topic_name], partitions=PARTITIONS, replication_factor=1
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic_name)]
        )
    finally:
        await admin.close()
    configs = {c[0]: c[1] for c in described.resources[0][4]}
    assert configs["cleanup.policy"] == "compact"


async def test_topics_of_another_partition_count_are_refused_naming_the_variable(
    kafka_bootstrap, topic_name
):
    await ensure_topics(kafka_bootstrap, [topic_name], partitions=2, replication_factor=1)
    with pytest.raises(ConfigError) as caught:
        await ensure_topics(kafka_bootstrap, [topic_name], partitions=12, replication_factor=1)
    assert caught.value.setting == "LEDGERLINK_PARTITIONS"
    assert "has 2 partitions" in str(caught.value)
