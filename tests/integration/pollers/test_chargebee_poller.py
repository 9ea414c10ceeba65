"""Chargebee pollers against the simulator over HTTP and the real Kafka broker."""

from __future__ import annotations

import pytest

from connectors.events import Op
from streams.agents.poll_loop import run_polling

from .conftest import Simulators, read_topic, settings_for

pytestmark = pytest.mark.integration


async def test_customers_and_business_entities_reach_the_changes_topic(
    simulators: Simulators, kafka_bootstrap, topic_name, tmp_path
):
    store = simulators.cb_store
    store.add_business_entity("be_fjord", "Fjordkraft AS")
    customers = store.seed_customers(250, updated_at=1_764_000_000)  # all in one second
    store.rename_business_entity("be_fjord", "Fjordkraft Øst AS")
    settings = settings_for(simulators, kafka_bootstrap, tmp_path, f"{topic_name}.")

    results = await run_polling(settings, once=True, systems=["chargebee"])

    assert {r.entity: r.published for r in results} == {"customer": 250, "business_entity": 2}
    events = await read_topic(kafka_bootstrap, settings.topics.changes, at_least=252)
    assert {e.source.id for e in events if e.source.entity == "customer"} == {
        c["id"] for c in customers
    }
    entity_events = [e for e in events if e.source.entity == "business_entity"]
    assert [(e.op, e.after["name"] if e.after else None) for e in entity_events] == [
        (Op.CREATE, "Fjordkraft AS"),
        (Op.UPDATE, "Fjordkraft Øst AS"),
    ]


async def test_a_deleted_customer_arrives_as_a_delete_and_nothing_repeats(
    simulators: Simulators, kafka_bootstrap, topic_name, tmp_path
):
    store = simulators.cb_store
    store.seed_customers(3)
    settings = settings_for(simulators, kafka_bootstrap, tmp_path, f"{topic_name}.")
    await run_polling(settings, once=True, systems=["chargebee"])
    store.delete_customer("cus_seed_00001")

    results = await run_polling(settings, once=True, systems=["chargebee"])

    assert {r.entity: r.published for r in results} == {"customer": 1, "business_entity": 0}
    events = await read_topic(kafka_bootstrap, settings.topics.changes, at_least=4)
    assert len(events) == 4
    assert events[-1].op is Op.DELETE
    assert events[-1].source.id == "cus_seed_00001"
