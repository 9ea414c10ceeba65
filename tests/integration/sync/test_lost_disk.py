"""A worker whose data directory is lost (RocksDB tables and cursors gone) recovers its
link table from the changelog in Kafka: re-reading both systems from the start makes no
second customer and no write at all."""

from __future__ import annotations

import shutil

import pytest

from .conftest import Harness, person

pytestmark = pytest.mark.integration


async def test_a_lost_data_directory_is_rebuilt_from_kafka_without_any_write(harness: Harness):
    employees = [harness.po_store.add_employee(**person(i, "firma.no")) for i in range(30)]
    await harness.start_worker()
    await harness.wait_converged(within=60)
    before = await harness.links_by_left()
    assert harness.cb_store.customer_count(include_deleted=True) == len(employees)
    await harness.stop_worker()

    shutil.rmtree(harness.data_dir)
    harness.data_dir.mkdir()
    await harness.reset_stats()
    await harness.start_worker()
    await harness.wait_converged(within=90)

    after = await harness.links_by_left()
    assert {key: link["right"] for key, link in after.items()} == {
        key: link["right"] for key, link in before.items()
    }
    assert all(link["state"] == "linked" for link in after.values())
    assert harness.cb_store.customer_count(include_deleted=True) == len(employees)
    assert await harness.writes("chargebee") == {}
    assert await harness.writes("poweroffice") == {}
    # Not even a refused create: the recovered links knew every customer already.
    attempts = [
        row
        for system in ("chargebee", "poweroffice")
        for row in await harness.sim_stats(system)
        if row["method"] != "GET" and row["route"] != "/OAuth/Token"
    ]
    assert attempts == []
