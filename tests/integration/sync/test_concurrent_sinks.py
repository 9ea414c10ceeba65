"""Concurrent sinks (issue 7, item 2): one slow site or record no longer makes every
write of its partition wait.

One worker serves two connections (`acme`, `fjord`; the fixtures of test_connections.py)
over four partitions, which puts them on different ones. With Chargebee answering
slowly, the writes of several records and of both connections overlap — seen by the
simulators themselves, which count the per-customer requests in flight (no timing is
asserted); several edits of one record still arrive in order, each written once and
never echoed back; every link and report the sinks write lands on the changelog
partition of its own connection; and a SIGKILL in the middle of a burst loses nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from connectors.poweroffice.resources import Resource
from connectors.simkit.app import STATE_KEY
from connectors.simkit.stats import RequestStats

from . import test_connections
from .conftest import WorkerProblem, customer_values, expected_customer_values
from .test_connections import Company, ConnectionsHarness, reset_stats, sim_writes

pytestmark = pytest.mark.integration

harness = test_connections.harness  # the fixture: two connections, one worker

PARTITIONS = "4"  # acme and fjord hash to partitions 0 and 3
CUSTOMER_ROUTE = "/api/v2/customers/{id}"  # a sink's retrieve and update, never a poll
UPDATE = ("POST", CUSTOMER_ROUTE)


class Overlap:
    """Per-customer requests in flight on every watched site at once."""

    def __init__(self) -> None:
        self.in_flight: Counter[str] = Counter()
        self.most_at_once = 0
        self.most_sites_at_once = 0

    def changed(self, site: str, by: int) -> None:
        self.in_flight[site] += by
        self.most_at_once = max(self.most_at_once, sum(self.in_flight.values()))
        busy = sum(1 for n in self.in_flight.values() if n > 0)
        self.most_sites_at_once = max(self.most_sites_at_once, busy)


class WatchedStats(RequestStats):
    def __init__(self, site: str, overlap: Overlap) -> None:
        super().__init__()
        self.site, self.overlap = site, overlap

    def started(self, method: str, route: str) -> None:
        super().started(method, route)
        if route == CUSTOMER_ROUTE:
            self.overlap.changed(self.site, +1)

    def ended(self, method: str, route: str) -> None:
        super().ended(method, route)
        if route == CUSTOMER_ROUTE:
            self.overlap.changed(self.site, -1)


def watch(companies: Iterable[Company]) -> Overlap:
    """Count the sinks' requests in flight on the companies' Chargebee simulators (they
    run in this process)."""
    overlap = Overlap()
    for company in companies:
        company.cb.runner.app[STATE_KEY].stats = WatchedStats(company.site, overlap)
    return overlap


def set_latency(companies: Iterable[Company], latency_ms: int) -> None:
    for company in companies:
        company.cb.runner.app[STATE_KEY].faults.latency_ms = latency_ms


def edit(company: Company, index: int, **fields: Any) -> None:
    record = company.employees[index]
    company.employees[index] = company.po_store.edit(Resource.EMPLOYEES, record["Id"], **fields)


async def wait_sites_hold(harness: ConnectionsHarness, *, within: float = 120.0) -> None:
    """Until every company's site holds exactly its employees' current values."""
    deadline = time.monotonic() + within
    while True:
        wrong = [
            (company.connection, record["Id"])
            for company in harness.companies.values()
            for record in company.employees
            if [
                customer_values(row.data)
                for row in company.cb_store.customer_rows(include_deleted=True)
                if customer_values(row.data)["email"] == record["EmailAddress"]
            ]
            != [expected_customer_values(record)]
        ]
        if not wrong:
            return
        harness.check_alive("while the sites caught up")
        if time.monotonic() > deadline:
            raise WorkerProblem(
                f"records not on their site within {within:.0f} s: {wrong}\n{harness.log_tail()}"
            )
        await asyncio.sleep(0.1)


async def writes_of(company: Company) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """(Chargebee writes, PowerOffice Go writes) of a company since the last reset."""
    return await sim_writes(company.cb.root_url, "chargebee"), await sim_writes(
        company.po.root_url, "poweroffice"
    )


async def started(harness: ConnectionsHarness) -> list[Company]:
    harness.extra_env["LEDGERLINK_PARTITIONS"] = PARTITIONS
    await harness.start_worker()
    await harness.wait_all_converged(within=120)
    companies = list(harness.companies.values())
    await reset_stats(*(root for c in companies for root in (c.po.root_url, c.cb.root_url)))
    return companies


async def keys_by_partition(bootstrap: str, topic: str) -> list[tuple[str, int]]:
    """(key, partition) of every message on ``topic``; keys as text, JSON strings decoded."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
        assert partitions, f"no topic {topic}"
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        found: list[tuple[str, int]] = []
        while any([await consumer.position(tp) < ends[tp] for tp in assigned]):
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for record in records:
                    raw = record.key or b""
                    key = orjson.loads(raw) if raw.startswith(b'"') else raw.decode()
                    found.append((str(key), tp.partition))
        return found
    finally:
        await consumer.stop()


async def committed_to_the_end(harness: ConnectionsHarness, topic: str, *, within: float) -> None:
    """Until the worker's consumer group has committed every message of ``topic``: the
    sinks' acks reach Faust's commits (or a restart would carry everything out again)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=harness.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=harness.kafka_bootstrap)
    await admin.start()
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while True:
            await consumer._client.force_metadata_update()
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            ends = await consumer.end_offsets(tps)
            committed = await admin.list_consumer_group_offsets(harness.topic("ledgerlink"))
            behind = {
                tp.partition: (committed[tp].offset if tp in committed else None, end)
                for tp, end in ends.items()
                if end > 0 and (tp not in committed or committed[tp].offset < end)
            }
            if tps and not behind:
                return
            harness.check_alive("while its commits caught up")
            assert time.monotonic() < deadline, f"{topic}: (committed, end) {behind}"
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()
        await admin.close()


async def test_writes_for_several_records_and_both_connections_overlap(
    harness: ConnectionsHarness,
):
    companies = await started(harness)
    overlap = watch(companies)
    # acme's site is slow enough that its writes are still under way when fjord's
    # commands arrive (the pollers publish one connection's changes after the other).
    set_latency([harness.companies["acme"]], 1500)
    set_latency([harness.companies["fjord"]], 250)
    edits = 0
    for company in companies:
        for index, record in enumerate(list(company.employees)):
            edit(company, index, LastName=f"{record['LastName']}-Ny")
            edits += 1

    await wait_sites_hold(harness)
    await harness.wait_all_converged(within=120)

    print(f"{edits} edits; at most {overlap.most_at_once} customer requests in flight at once")
    assert overlap.most_sites_at_once == 2, "the two connections' writes never overlapped"
    assert overlap.most_at_once >= 4, f"at most {overlap.most_at_once} request(s) at once"
    for company in companies:
        cb_writes, po_writes = await writes_of(company)
        assert cb_writes == Counter({UPDATE: len(company.employees)}), (
            f"{company.connection}: one update per edit expected, got {dict(cb_writes)}"
        )
        assert not po_writes, f"{company.connection}: echo writes {dict(po_writes)}"
    await committed_to_the_end(harness, harness.topic("upserts.chargebee"), within=30)


async def test_several_edits_of_one_record_arrive_in_order_on_its_own_partition(
    harness: ConnectionsHarness,
):
    companies = await started(harness)
    fjord = harness.companies["fjord"]
    set_latency([fjord], 400)  # each command takes a while: the next ones queue behind it
    for version in range(5):
        edit(fjord, 0, LastName=f"Versjon{version}")
        edit(fjord, 1 + version % 3, FirstName=f"Annen{version}")  # other records between
        await asyncio.sleep(1.0)  # about a poll apart: mostly one command per edit

    await wait_sites_hold(harness)
    await harness.wait_all_converged(within=120)

    record_key = f"poweroffice:Employee:{fjord.employees[0]['Id']}"
    edits = [
        command
        for command in await harness.read_topic("upserts.chargebee")
        if command["connection"] == "fjord" and not command.get("create")
    ]
    of_record = [command for command in edits if command["left_key"] == record_key]
    assert len(of_record) >= 2, f"the edits reached the sink as {len(of_record)} command(s)"
    assert of_record[-1]["fields"]["last_name"] == "Versjon4"
    cb_writes, po_writes = await writes_of(fjord)
    assert cb_writes == Counter({UPDATE: len(edits)}), (
        f"one update per command expected ({len(edits)}), got {dict(cb_writes)}"
    )
    assert not po_writes, f"echo writes {dict(po_writes)}"

    # Every link (and report, parked command) lands on its connection's partition.
    home = {
        key: partition
        for key, partition in await keys_by_partition(
            harness.kafka_bootstrap, harness.topic("changes")
        )
    }
    assert {home["acme"], home["fjord"]} == {0, 3}, home
    entries = await keys_by_partition(
        harness.kafka_bootstrap, harness.topic("ledgerlink-links-changelog")
    )
    assert {home[key.split("|", 1)[0]] for key, _ in entries} == {0, 3}, entries[:5]
    for table in ("links", "reports", "parked"):
        entries = await keys_by_partition(
            harness.kafka_bootstrap, harness.topic(f"ledgerlink-{table}-changelog")
        )
        astray = [
            (key, partition)
            for key, partition in entries
            if partition != home[key.split("|", 1)[0]]
        ]
        assert not astray, f"{table} entries off their connection's partition: {astray[:5]}"
    assert len(companies) == 2


async def test_a_worker_killed_in_a_burst_of_slow_writes_loses_no_edit(
    harness: ConnectionsHarness,
):
    companies = await started(harness)
    acme, fjord = harness.companies["acme"], harness.companies["fjord"]
    set_latency([acme], 100)
    set_latency([fjord], 3000)  # fjord's writes are still under way when acme's are done
    for company in companies:
        for index, record in enumerate(list(company.employees)):
            edit(company, index, EmailAddress=f"ny.{record['EmailAddress']}")
    deadline = time.monotonic() + 60
    while (await writes_of(acme))[0][UPDATE] < len(acme.employees):
        assert time.monotonic() < deadline, "acme's edits were not written within 60 s"
        await asyncio.sleep(0.05)
    unfinished = len(fjord.employees) - (await writes_of(fjord))[0][UPDATE]
    print(f"SIGKILL with {unfinished} of fjord's {len(fjord.employees)} writes unfinished")
    assert unfinished > 0, "fjord's writes were done before the kill"
    await harness.kill_worker()
    set_latency(companies, 0)
    await harness.start_worker()

    await wait_sites_hold(harness)
    await harness.wait_all_converged(within=120)
    for company in companies:
        cb_writes, po_writes = await writes_of(company)
        assert not po_writes, f"{company.connection}: echo writes {dict(po_writes)}"
        assert cb_writes[UPDATE] >= len(company.employees), dict(cb_writes)
