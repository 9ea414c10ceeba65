"""Messages a running worker must survive (issue 6, defects 2, 3 and 8), on real Kafka:
change events with a valid envelope but wrong contents, forged events for a connection
the worker does not serve, garbage on the sink's topic, and a record too large for
Kafka. Each becomes one dead letter with its reason and the record key; the agents go
on at once (no crash, no restart stall), and a later edit still syncs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from connectors.events import ChangeEvent, Op, Origin, Source

from .conftest import Harness, customer_values, expected_customer_values, person

pytestmark = pytest.mark.integration

CONNECTION = "default"


def employee_event(connection: str, employee_id: str, after: Any) -> bytes:
    event = ChangeEvent(
        connection=connection,
        op=Op.UPDATE,
        source=Source("poweroffice", "Employee", employee_id, 1, 1_000),
        after={"Id": 1},
        origin=Origin("poweroffice"),
        observed_ms=1_000,
    )
    raw = orjson.loads(event.to_bytes())
    raw["after"] = after
    return orjson.dumps(raw)


async def produce(harness: Harness, topic: str, values: Sequence[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=harness.kafka_bootstrap)
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(harness.topic(topic), value=value, key=key)
    finally:
        await producer.stop()


async def test_bad_messages_become_dead_letters_and_the_agents_go_on(harness: Harness):
    first = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(3)]
    huge = harness.po_store.add_employee(
        FirstName="Å" * (2 * 1024 * 1024), LastName="Stor", EmailAddress="stor@firma.no"
    )
    await harness.start_worker()
    await harness.wait_converged(within=60)

    key = CONNECTION.encode()
    bad_changes = [
        (key, employee_event(CONNECTION, "900001", "x")),
        (key, employee_event(CONNECTION, "900002", [1, 2])),
        (key, employee_event(CONNECTION, "abc", {"FirstName": "Ola"})),
        (key, employee_event(CONNECTION, "900003", {"FirstName": 5, "LastName": "Tall"})),
        (key, b"not json at all"),
        (
            b"intruder",
            employee_event(
                "intruder", "900004", {"FirstName": "Eve", "LastName": "X", "EmailAddress": ""}
            ),
        ),
    ]
    bad_upserts = [(key, b"\x00\x01 not an upsert"), (key, orjson.dumps({"connection": "x"}))]
    started = time.monotonic()
    await produce(harness, "changes", bad_changes)
    await produce(harness, "upserts.chargebee", bad_upserts)
    later = harness.po_store.add_employee(**person(50, "firma.no"))
    await harness.wait_converged(within=30)
    took = time.monotonic() - started

    letters = await harness.read_topic("deadletters", at_least=1 + len(bad_changes) + 2)
    reasons = [letter["reason"] for letter in letters]
    expected = [
        "after must be an object or null",
        "after must be an object or null",
        "is not a PowerOffice Go id",
        "poweroffice.Employee.FirstName is of type int, not text or null",
        "not a change event: not JSON",
        "connection 'intruder' is not served by this worker",
        "not an upsert command: not JSON",
        "not an upsert command",
    ]
    for fragment in expected:
        assert sum(fragment in reason for reason in reasons) >= 1, (fragment, reasons)
    assert len(letters) == 1 + len(expected), reasons

    huge_key = f"poweroffice:Employee:{huge['Id']}"
    (huge_letter,) = [letter for letter in letters if letter["record_key"] == huge_key]
    assert "first_name is" in huge_letter["reason"], huge_letter["reason"]
    assert "at most 150" in huge_letter["reason"], huge_letter["reason"]

    assert "intruder" not in str(await harness.links())
    assert harness.cb_store.customer_count(include_deleted=True) == len(first) + 1
    links = await harness.links_by_left()
    for record in [*first, later]:
        link = links[("Employee", str(record["Id"]))]
        assert link["state"] == "linked", link
        customer = harness.cb_store.get_customer(str(link["right"]["id"]))
        assert customer is not None
        assert customer_values(customer) == expected_customer_values(record)
    log = harness.log_path.read_text(errors="replace")
    assert "Traceback" not in log, harness.log_tail(120)
    # A crashing agent is restarted by Faust after a pause of seconds per message.
    assert took < 20, f"{took:.1f} s for 8 bad messages and one edit"
