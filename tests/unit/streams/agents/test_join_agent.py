"""The join agent at its edge: what it sends for good events, and how it refuses bad ones.

Driven without a broker: messages are `Received` values, the outbox records what is sent,
and the link and report tables are plain dicts.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict
from typing import Any

import orjson
import pytest

from connectors.events import ChangeEvent, Op, Origin, Source
from mappings import load_flows
from streams.agents.join import JoinAgent
from streams.agents.plumbing import ConnectionLocks, Received
from streams.config.topics import TopicNames
from streams.runtime import Runtime
from streams.sync.ids import chargebee_customer_id
from streams.sync.links import Link, LinkState, LinkTable, SideState
from streams.sync.reports import ReportBook
from tests.unit.streams.agents.fakes import FakeOutbox

CONN = "acme"
RECORD_KEY = "poweroffice:Employee:7"
TWO_MIB = 2 * 1024 * 1024
KAFKA_DEFAULT_MAX_BYTES = 1024 * 1024


def employee_event(connection: str = CONN, rid: str = "7", **changes: Any) -> ChangeEvent:
    record: dict[str, Any] = {
        "Id": 7,
        "FirstName": "Åse",
        "LastName": "Bjørnstad",
        "EmailAddress": "ase@fjord.no",
    }
    record.update(changes)
    return ChangeEvent(
        connection=connection,
        op=Op.UPDATE,
        source=Source("poweroffice", "Employee", rid, 10_000_000, 1_000),
        after=record,
        origin=Origin("poweroffice"),
        observed_ms=2_000,
    )


def uncut(event: ChangeEvent) -> bytes:
    """The event as JSON without `to_bytes` cutting huge values."""
    return orjson.dumps(asdict(event))


def edited(**top_level: Any) -> bytes:
    """A valid employee event's JSON with some top-level keys replaced."""
    raw = orjson.loads(employee_event().to_bytes())
    raw.update(top_level)
    return orjson.dumps(raw)


def with_source_id(source_id: str) -> bytes:
    raw = orjson.loads(employee_event().to_bytes())
    raw["source"]["id"] = source_id
    return orjson.dumps(raw)


def received(value: bytes, *, offset: int = 41, key: bytes = b"acme") -> Received:
    return Received(topic="changes", partition=0, offset=offset, key=key, value=value)


class World:
    def __init__(self) -> None:
        self.links: dict[str, Any] = {}
        self.reports: dict[str, Any] = {}
        self.outbox = FakeOutbox()
        self.runtime = Runtime()
        self.agent = JoinAgent(
            flows=load_flows(),
            links=self.links,
            reports=self.reports,
            outbox=self.outbox,
            topics=TopicNames(""),
            locks=ConnectionLocks(),
            runtime=self.runtime,
            served={"acme"},
            clock_ms=lambda: 5_000,
        )

    async def handle(self, value: bytes, *, offset: int = 41, key: bytes = b"acme") -> None:
        await self.agent.handle(received(value, offset=offset, key=key))

    def dead_letters(self) -> list[dict[str, Any]]:
        return [orjson.loads(value) for value in self.outbox.values("deadletters")]

    def upserts(self) -> list[dict[str, Any]]:
        return [orjson.loads(value) for value in self.outbox.values("upserts.chargebee")]


@pytest.fixture
def world() -> World:
    return World()


# -- a good event ----------------------------------------------------------------------------


async def test_a_new_employee_becomes_one_create_on_the_chargebee_upserts_topic(world):
    event = employee_event()
    await world.handle(event.to_bytes())
    assert world.outbox.topics() == ["upserts.chargebee"]
    [(_, key, _)] = world.outbox.sent
    assert key == b"acme"
    assert world.upserts() == [
        {
            "connection": "acme",
            "flow": "employee",
            "left_key": RECORD_KEY,
            "target": "chargebee",
            "entity": "customer",
            "record_id": chargebee_customer_id(CONN, "Employee", "7"),
            "fields": {"email": "ase@fjord.no", "first_name": "Åse", "last_name": "Bjørnstad"},
            "source_ts_ms": 1_000,
            "source_event_id": event.event_id,
            "create": True,
            "extra": {},
        }
    ]


async def test_the_creating_link_is_committed_to_the_links_table(world):
    await world.handle(employee_event().to_bytes())
    link = LinkTable(world.links).get(CONN, RECORD_KEY)
    assert link is not None
    assert link.state is LinkState.CREATING
    assert link.right is not None
    assert link.right.id == chargebee_customer_id(CONN, "Employee", "7")


async def test_the_sent_upsert_is_tracked_for_convergence(world):
    await world.handle(employee_event().to_bytes())
    assert world.runtime.sent == {("upserts.chargebee", 0): 0}


# -- refused at the edge ---------------------------------------------------------------------

REFUSED = [
    pytest.param(
        edited(after="x"),
        b"acme",
        re.escape('not a change event: after must be an object or null, got "x"'),
        "",
        id="after-is-text",
    ),
    pytest.param(
        edited(after=[1, 2]),
        b"acme",
        re.escape("not a change event: after must be an object or null, got [1,2]"),
        "",
        id="after-is-a-list",
    ),
    pytest.param(
        with_source_id("abc"),
        b"acme",
        re.escape("source.id 'abc' is not a PowerOffice Go id (a number)"),
        "poweroffice:Employee:abc",
        id="poweroffice-id-is-not-a-number",
    ),
    pytest.param(
        b"{this is not json",
        b"acme",
        r"not a change event: not JSON: .+",
        "",
        id="not-json",
    ),
    pytest.param(
        b"[1, 2, 3]",
        b"acme",
        re.escape("not a change event: not a JSON object but list"),
        "",
        id="json-array",
    ),
    pytest.param(
        employee_event(connection="other").to_bytes(),
        b"other",
        re.escape("connection 'other' is not served by this worker"),
        RECORD_KEY,
        id="connection-not-served",
    ),
    pytest.param(
        employee_event(FirstName=42).to_bytes(),
        b"acme",
        re.escape("poweroffice.Employee.FirstName is of type int, not text or null"),
        RECORD_KEY,
        id="first-name-is-a-number",
    ),
    pytest.param(
        employee_event(ContactId="12").to_bytes(),
        b"acme",
        re.escape("Employee.ContactId must be a number, got str"),
        RECORD_KEY,
        id="contact-id-is-text",
    ),
]


@pytest.mark.parametrize(("value", "key", "reason", "record_key"), REFUSED)
async def test_a_bad_message_becomes_exactly_one_dead_letter_naming_the_reason(
    world, value, key, reason, record_key
):
    await world.handle(value, key=key)
    assert world.outbox.topics() == ["deadletters"]
    [letter] = world.dead_letters()
    assert re.fullmatch(reason, letter["reason"]), letter["reason"]
    assert letter["record_key"] == record_key
    assert letter["connection"] == key.decode()
    assert letter["event"]["offset"] == 41
    assert world.outbox.sent[0][1] == key


@pytest.mark.parametrize(("value", "key", "reason", "record_key"), REFUSED)
async def test_a_bad_message_makes_no_link(world, value, key, reason, record_key):
    await world.handle(value, key=key)
    assert list(LinkTable(world.links).links()) == []


@pytest.mark.parametrize(("value", "key", "reason", "record_key"), REFUSED)
async def test_after_a_bad_message_the_next_good_event_is_handled(
    world, value, key, reason, record_key
):
    await world.handle(value, key=key, offset=41)
    await world.handle(employee_event().to_bytes(), offset=42)
    assert world.outbox.topics() == ["deadletters", "upserts.chargebee"]
    [upsert] = world.upserts()
    assert upsert["create"] is True
    assert upsert["left_key"] == RECORD_KEY


@pytest.mark.parametrize(("value", "key", "reason", "record_key"), REFUSED)
async def test_a_bad_message_is_marked_done_so_convergence_is_not_blocked(
    world, value, key, reason, record_key
):
    await world.handle(value, key=key, offset=41)
    assert world.runtime.done == {("changes", 0): 41}


async def test_every_handled_message_is_marked_done(world):
    await world.handle(employee_event().to_bytes(), offset=3)
    assert world.runtime.done == {("changes", 0): 3}
    await world.handle(b"not json", offset=4)
    assert world.runtime.done == {("changes", 0): 4}
    await world.handle(employee_event().to_bytes(), offset=5)
    assert world.runtime.done == {("changes", 0): 5}


# -- a huge value ----------------------------------------------------------------------------

HUGE = "x" * TWO_MIB


@pytest.mark.parametrize(
    ("value", "key", "reason"),
    [
        pytest.param(
            employee_event(FirstName=HUGE).to_bytes(),
            b"acme",
            "first_name is 16384 characters; chargebee allows at most 150",
            id="as-the-poller-sends-it",
        ),
        pytest.param(
            uncut(employee_event(FirstName=HUGE)),
            b"acme",
            f"first_name is {TWO_MIB} characters; chargebee allows at most 150",
            id="uncut",
        ),
        pytest.param(
            uncut(employee_event(connection="other", FirstName=HUGE)),
            b"other",
            "connection 'other' is not served by this worker",
            id="refused-at-the-edge",
        ),
    ],
)
async def test_a_2_mib_first_name_becomes_a_sendable_dead_letter_with_reason_and_key(
    world, value, key, reason
):
    await world.handle(value, key=key)
    assert world.outbox.topics() == ["deadletters"]
    [(_, _, encoded)] = world.outbox.sent
    assert len(encoded) < KAFKA_DEFAULT_MAX_BYTES
    letter = orjson.loads(encoded)
    assert letter["reason"] == reason
    assert letter["record_key"] == RECORD_KEY


# -- reports ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(
            employee_event(FirstName=42).to_bytes(),
            "poweroffice.Employee.FirstName is of type int, not text or null",
            id="refused-at-the-edge",
        ),
        pytest.param(
            employee_event(FirstName="Å" * 151).to_bytes(),
            "first_name is 151 characters; chargebee allows at most 150",
            id="refused-by-the-join",
        ),
    ],
)
async def test_a_dead_letter_of_a_served_connection_is_counted(world, value, reason):
    await world.handle(value)
    assert ReportBook(world.reports).entries(CONN, "dead-letter") == [
        {"reason": reason, "record_key": RECORD_KEY}
    ]


async def test_a_dead_letter_of_an_unserved_connection_is_not_recorded(world):
    await world.handle(employee_event(connection="other", FirstName=42).to_bytes(), key=b"other")
    assert world.reports == {}


async def test_a_message_that_is_not_a_change_event_is_not_recorded(world):
    await world.handle(b"not json")
    assert world.reports == {}


# -- a join that fails ------------------------------------------------------------------------


async def test_a_join_that_raises_becomes_a_dead_letter_and_the_agent_goes_on(world):
    # A link of a flow that was since removed from the mappings: the join cannot look it up.
    LinkTable(world.links).put(
        Link(
            connection=CONN,
            flow="retired",
            state=LinkState.LINKED,
            left=SideState("poweroffice", "Employee", "7", version=1),
            right=SideState("chargebee", "customer", "cus_7", version=1),
        )
    )
    change = ChangeEvent(
        connection=CONN,
        op=Op.UPDATE,
        source=Source("chargebee", "customer", "cus_7", 5, 5),
        after={"id": "cus_7", "email": "ny@fjord.no"},
        origin=Origin("chargebee"),
        observed_ms=0,
    )
    await asyncio.wait_for(world.handle(change.to_bytes()), timeout=1)
    [letter] = world.dead_letters()
    assert letter["reason"] == "join failed: KeyError: 'retired'"
    assert world.runtime.done == {("changes", 0): 41}
