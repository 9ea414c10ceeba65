"""The sinks against fake API clients: creates, retried creates, updates, conflicts, rejects."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.events import ChangeEvent, Op, Origin, Source
from mappings import load_flows
from streams.agents.sinks import Sinks
from streams.sync.joiner import Joiner
from streams.sync.links import LinkState, LinkTable
from streams.sync.messages import Upsert
from streams.sync.reports import ReportBook
from tests.unit.streams.agents.fakes import FakeChargebee, FakePowerOffice, employee_record

CONN = "acme"
FLOWS = load_flows()


class World:
    def __init__(self) -> None:
        self.links = LinkTable({})
        self.reports = ReportBook({})
        self.joiner = Joiner(FLOWS, self.links, self.reports, clock_ms=lambda: 1)
        self.sinks = Sinks(
            flows={f.name: f for f in FLOWS},
            links=self.links,
            reports=self.reports,
            clock_ms=lambda: 1,
        )
        self.chargebee = FakeChargebee()
        self.poweroffice = FakePowerOffice({7: employee_record()})

    def po_change(self, record: dict[str, Any]) -> list[Upsert]:
        from connectors.poweroffice.timestamps import parse_timestamp

        ticks = parse_timestamp(record["LastChangedDateTimeOffset"])
        event = ChangeEvent(
            connection=CONN,
            op=Op.UPDATE,
            source=Source("poweroffice", "Employee", "7", ticks, ticks // 10_000),
            after=record,
            origin=Origin("poweroffice"),
            observed_ms=0,
        )
        return self.joiner.join(event).upserts

    def cb_change(self, record: dict[str, Any]) -> list[Upsert]:
        event = ChangeEvent(
            connection=CONN,
            op=Op.UPDATE,
            source=Source(
                "chargebee",
                "customer",
                record["id"],
                record["resource_version"],
                record["updated_at"] * 1000,
            ),
            after=record,
            origin=Origin("chargebee"),
            observed_ms=0,
        )
        return self.joiner.join(event).upserts

    async def linked(self) -> str:
        [create] = self.po_change(employee_record())
        await self.sinks.to_chargebee(create, self.chargebee)
        return create.record_id


@pytest.fixture
def world() -> World:
    return World()


async def test_a_create_makes_one_customer_and_links(world):
    customer_id = await world.linked()
    assert world.chargebee.writes == [
        ("create", {"email": "ase@fjord.no", "first_name": "Åse", "last_name": "Bjørnstad"})
    ]
    link = world.links.get(CONN, "poweroffice:Employee:7")
    assert link.state is LinkState.LINKED
    assert link.right.id == customer_id
    assert link.right.version == world.chargebee.version


async def test_a_repeated_create_does_not_make_a_second_customer(world):
    [create] = world.po_change(employee_record())
    await world.sinks.to_chargebee(create, world.chargebee)
    from dataclasses import replace

    link = world.links.get(CONN, "poweroffice:Employee:7")
    world.links.put(replace(link, state=LinkState.CREATING))  # as if the outcome was lost
    result = await world.sinks.to_chargebee(create, world.chargebee)
    assert not result.wrote
    assert len(world.chargebee.customers) == 1
    assert [kind for kind, _ in world.chargebee.writes] == ["create"]


async def test_the_echo_of_a_create_writes_nothing_back(world):
    customer_id = await world.linked()
    echo = dict(world.chargebee.customers[customer_id])
    assert world.cb_change(echo) == []


async def test_an_edit_updates_only_the_changed_field(world):
    await world.linked()
    [update] = world.po_change(employee_record(ticks=11_000_000_000, EmailAddress="ny@fjord.no"))
    result = await world.sinks.to_chargebee(update, world.chargebee)
    assert result.wrote
    assert world.chargebee.writes[-1] == ("update", {"email": "ny@fjord.no"})


async def test_a_chargebee_edit_is_patched_into_poweroffice_without_an_echo(world):
    customer_id = await world.linked()
    record = world.chargebee.customers[customer_id]
    record["last_name"] = "Bjørnstad-Ås"
    record["resource_version"] = 5_000
    record["updated_at"] = 5
    [upsert] = world.cb_change(dict(record))
    await world.sinks.to_poweroffice(upsert, world.poweroffice)
    assert world.poweroffice.patches == [
        [{"op": "replace", "path": "/LastName", "value": "Bjørnstad-Ås"}]
    ]
    assert world.po_change(dict(world.poweroffice.records[7])) == []


async def test_concurrent_edits_converge_to_the_later_one(world):
    customer_id = await world.linked()
    # PowerOffice Go edits at t=1100 s; Chargebee at t=1200 s; neither saw the other.
    po_edit = employee_record(ticks=11_000_000_000, EmailAddress="po@fjord.no")
    world.poweroffice.records[7] = dict(po_edit)
    cb = world.chargebee.customers[customer_id]
    cb.update(email="cb@fjord.no", resource_version=1_200_000, updated_at=1_200)
    to_cb = world.po_change(po_edit)
    to_po = world.cb_change(dict(cb))
    await world.sinks.to_chargebee(to_cb[0], world.chargebee)
    await world.sinks.to_poweroffice(to_po[0], world.poweroffice)
    assert world.chargebee.customers[customer_id]["email"] == "cb@fjord.no"
    assert world.poweroffice.records[7]["EmailAddress"] == "cb@fjord.no"
    # Both sinks met the same two edits: that is one conflict, reported once.
    [conflict] = world.reports.entries(CONN, "conflict")
    assert conflict["field"] == "email"
    assert {conflict["incoming_ts_ms"], conflict["target_ts_ms"]} == {1_100_000, 1_200_000}


async def test_a_refused_create_becomes_a_dead_letter(world):
    world.chargebee.reject = "email : invalid email"
    [create] = world.po_change(employee_record())
    result = await world.sinks.to_chargebee(create, world.chargebee)
    assert result.dead_letter is not None
    assert "invalid email" in result.dead_letter.reason
    assert world.links.get(CONN, "poweroffice:Employee:7").state is LinkState.DEAD_LETTER


async def test_a_customer_deleted_behind_our_back_is_unlinked_and_reported(world):
    customer_id = await world.linked()
    del world.chargebee.customers[customer_id]
    [update] = world.po_change(employee_record(ticks=11_000_000_000, EmailAddress="ny@fjord.no"))
    result = await world.sinks.to_chargebee(update, world.chargebee)
    assert result.action is not None
    assert result.action.kind == "record_deleted"
    assert world.links.get(CONN, "poweroffice:Employee:7").state is LinkState.UNLINKED


async def test_a_target_that_wins_a_conflict_sends_its_value_back(world):
    customer_id = await world.linked()
    po_edit = employee_record(ticks=11_000_000_000, EmailAddress="po@fjord.no")
    world.poweroffice.records[7] = dict(po_edit)
    cb = world.chargebee.customers[customer_id]
    cb.update(email="cb@fjord.no", resource_version=1_200_000, updated_at=1_200)
    # The Chargebee sink meets the older PowerOffice Go edit before the join has seen
    # Chargebee's own change event…
    [to_cb] = world.po_change(po_edit)
    result = await world.sinks.to_chargebee(to_cb, world.chargebee)
    assert result.counter is not None
    assert result.counter.target == "poweroffice"
    assert result.counter.fields == {"email": "cb@fjord.no"}
    # …which is then known and dropped, so the counter upsert must carry the value.
    assert world.cb_change(dict(cb)) == []
    await world.sinks.to_poweroffice(result.counter, world.poweroffice)
    assert world.poweroffice.records[7]["EmailAddress"] == "cb@fjord.no"
    assert world.chargebee.customers[customer_id]["email"] == "cb@fjord.no"


async def test_a_sink_waits_for_the_join_to_commit_the_link(world):
    # The join holds the connection's lock until Kafka acknowledged the upsert and the
    # link is committed; a sink that receives the upsert first must wait for it.
    import asyncio

    [create] = world.po_change(employee_record())
    link = world.links.get(CONN, "poweroffice:Employee:7")
    world.links._table.clear()  # not committed yet
    lock = world.sinks.lock(CONN)
    await lock.acquire()
    task = asyncio.create_task(world.sinks.to_chargebee(create, world.chargebee))
    await asyncio.sleep(0)
    world.links.put(link)  # the join commits…
    lock.release()  # …and lets go
    result = await task
    assert result.skipped is None
    assert len(world.chargebee.customers) == 1
