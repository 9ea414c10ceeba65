"""A worker SIGKILLed again and again during an initial load (issue 6, defect 1): every
PowerOffice Go employee ends with exactly one Chargebee customer, and no link is left
`creating` — a create command lost to a crash is driven again by the worker itself."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from .conftest import Harness, assert_one_customer_per_record, person

pytestmark = pytest.mark.integration

TOTAL = 1_000
KILLS = 6
#: Short, so that a create lost to a crash is driven again within the test's patience.
CREATE_TIMEOUT_S = 8


async def writing_again(harness: Harness, *, since: int, within: float = 60.0) -> None:
    """Return once the (re)started worker created customers again: the kill that follows
    lands among its writes, not in its start-up."""
    deadline = time.monotonic() + within
    while harness.cb_store.customer_count(include_deleted=True) < since + 10:
        harness.check_alive("before writing again")
        assert time.monotonic() < deadline, f"no new customer within {within:.0f} s"
        await asyncio.sleep(0.05)


async def test_a_worker_killed_six_times_during_the_initial_load_leaves_no_record_behind(
    harness: Harness,
):
    employees = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(TOTAL)]
    harness.extra_env["LEDGERLINK_CREATE_TIMEOUT"] = str(CREATE_TIMEOUT_S)
    # Slow enough that the load outlasts six kills although the sink writes up to
    # LEDGERLINK_SINK_CONCURRENCY (32) customers at once: each kill lands among writes
    # in flight, acknowledged out of order.
    await harness.set_faults("chargebee", {"latency_ms": 600})
    rng = random.Random(6)
    for kill in range(KILLS):
        await harness.start_worker()
        before = harness.cb_store.customer_count(include_deleted=True)
        await writing_again(harness, since=before)
        await asyncio.sleep(rng.uniform(0.5, 2.5))
        harness.check_alive(f"before kill #{kill + 1}")
        await harness.kill_worker()
        held = harness.cb_store.customer_count(include_deleted=True)
        assert held < TOTAL, f"the load finished before kill #{kill + 1}"
        print(f"kill #{kill + 1}: {before} -> {held} customers")

    await harness.set_faults("chargebee", {})
    await harness.start_worker()
    status = await harness.wait_converged(within=180)

    pending = {name: counts["pending"] for name, counts in status["flows"].items()}
    assert set(pending.values()) == {0}, status
    await assert_one_customer_per_record(harness, employees)


async def test_create_commands_lost_from_the_topic_are_driven_again(harness: Harness):
    """The worst case, made on purpose: the join made 20 links `creating` and sent their
    create commands, then the commands vanished (deleted from the topic while the worker
    was down). The restarted worker must notice the links waiting past the timeout and
    create the customers — once each."""
    employees = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(20)]
    # Chargebee slow (3 s a call): the sink gets through a command or two, the others stay
    # on the topic unconsumed (a failing site would get them parked instead).
    await harness.set_faults("chargebee", {"latency_ms": 3_000})
    await harness.start_worker()
    deadline = time.monotonic() + 60
    while True:
        states = [link["state"] for link in await harness.links()]
        if states.count("creating") == len(employees):
            break
        assert time.monotonic() < deadline, states
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # let the join commit its offsets: its events are not replayed
    await harness.kill_worker()
    assert harness.cb_store.customer_count(include_deleted=True) < len(employees) // 2

    admin = AIOKafkaAdminClient(bootstrap_servers=harness.kafka_bootstrap)
    await admin.start()
    try:
        topic = harness.topic("upserts.chargebee")
        partitions = (await admin.describe_topics([topic]))[0]["partitions"]
        consumer = AIOKafkaConsumer(bootstrap_servers=harness.kafka_bootstrap)
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p["partition"]) for p in partitions]
            ends = await consumer.end_offsets(tps)
        finally:
            await consumer.stop()
        assert sum(ends.values()) >= len(employees)
        await admin.delete_records({tp: RecordsToDelete(ends[tp]) for tp in tps})
    finally:
        await admin.close()

    await harness.set_faults("chargebee", {})
    harness.extra_env["LEDGERLINK_CREATE_TIMEOUT"] = "5"
    await harness.start_worker()
    await harness.wait_converged(within=60)

    await assert_one_customer_per_record(harness, employees)
    assert "still being created after 5 s" in harness.log_path.read_text(errors="replace")
