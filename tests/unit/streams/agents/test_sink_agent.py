"""The sink agent at its edge: refused commands, writes, skips, permanent and passing failures.

Driven without a broker: commands are `Received` values, the writers are fake API clients,
the outbox records what is sent, and the link and report tables are plain dicts.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import orjson
import pytest

from connectors.events import ChangeEvent, Op, Origin, Source
from connectors.exceptions import (
    AuthenticationError,
    ConflictError,
    RateLimitedError,
    TransientApiError,
)
from mappings import load_flows
from streams.agents.breakers import Breakers
from streams.agents.plumbing import ConnectionLocks, Received
from streams.agents.sink_agent import SinkAgent, lane_of
from streams.agents.sinks import Sinks
from streams.config.topics import TopicNames
from streams.runtime import Runtime
from streams.sync.ids import chargebee_customer_id
from streams.sync.joiner import Joiner
from streams.sync.links import LinkState, LinkTable
from streams.sync.messages import Upsert
from streams.sync.parking import ParkingLot, retry_delay_ms
from streams.sync.reports import ReportBook
from tests.unit.streams.agents.fakes import (
    FakeChargebee,
    FakeOutbox,
    FakePowerOffice,
    FakeWriters,
    employee_record,
)

CONN = "acme"
OTHER = "beta"
RECORD_KEY = "poweroffice:Employee:7"
FLOWS = load_flows()
CUSTOMER_ID = chargebee_customer_id(CONN, "Employee", "7")
FIELDS = {"email": "ase@fjord.no", "first_name": "Åse", "last_name": "Bjørnstad"}


def employee_event() -> ChangeEvent:
    return ChangeEvent(
        connection=CONN,
        op=Op.UPDATE,
        source=Source("poweroffice", "Employee", "7", 10_000_000, 1_000),
        after={
            "Id": 7,
            "FirstName": "Åse",
            "LastName": "Bjørnstad",
            "EmailAddress": "ase@fjord.no",
        },
        origin=Origin("poweroffice"),
        observed_ms=0,
    )


def create_command() -> Upsert:
    """The create the join sends for employee 7 (made without touching any table)."""
    return Upsert(
        connection=CONN,
        flow="employee",
        left_key=RECORD_KEY,
        target="chargebee",
        entity="customer",
        record_id=CUSTOMER_ID,
        fields=dict(FIELDS),
        source_ts_ms=1_000,
        source_event_id="ev-1",
        create=True,
    )


def poweroffice_command(**changes: Any) -> Upsert:
    command = Upsert(
        connection=CONN,
        flow="employee",
        left_key=RECORD_KEY,
        target="poweroffice",
        entity="Employee",
        record_id="7",
        fields={"last_name": "Bjørnstad-Ås"},
        source_ts_ms=5_000,
        source_event_id="ev-2",
    )
    return replace(command, **changes)


class World:
    def __init__(self) -> None:
        self.links: dict[str, Any] = {}
        self.reports: dict[str, Any] = {}
        self.link_table = LinkTable(self.links)
        self.sinks = Sinks(
            flows={flow.name: flow for flow in FLOWS},
            links=self.link_table,
            reports=ReportBook(self.reports),
            clock_ms=lambda: self.now_ms,
        )
        self.now_ms = 7_000
        self.parked: dict[str, Any] = {}
        self.locks = ConnectionLocks()
        self.breakers = Breakers()
        self.chargebee = FakeChargebee()
        self.poweroffice = FakePowerOffice({7: employee_record()})
        self.writers = FakeWriters(self.chargebee, self.poweroffice)
        self.outbox = FakeOutbox()
        self.runtime = Runtime()

    def agent(self, system: str = "chargebee", *, give_up_ms: int = 3_600_000) -> SinkAgent:
        return SinkAgent(
            system=system,
            sinks=self.sinks,
            writers=self.writers,
            served=frozenset({CONN, OTHER}),
            flows={flow.name: flow for flow in FLOWS},
            outbox=self.outbox,
            topics=TopicNames(""),
            runtime=self.runtime,
            clock_ms=lambda: self.now_ms,
            parked=self.parked,
            locks=self.locks,
            breakers=self.breakers,
            give_up_ms=give_up_ms,
        )

    def join_creates_the_link(self) -> Upsert:
        """What the join agent commits and sends for a new employee."""
        joiner = Joiner(FLOWS, self.link_table, ReportBook(self.reports), clock_ms=lambda: 1)
        [create] = joiner.join(employee_event()).upserts
        return create

    async def handle(
        self, value: bytes, *, system: str = "chargebee", offset: int = 9, key: bytes = b"acme"
    ) -> None:
        topic = f"upserts.{system}"
        await self.agent(system).handle(Received(topic, 0, offset, key, value))

    def api_calls(self) -> list[str]:
        return self.chargebee.calls + self.poweroffice.calls

    def dead_letters(self) -> list[dict[str, Any]]:
        return [orjson.loads(value) for value in self.outbox.values("deadletters")]

    def link_state(self) -> LinkState | None:
        link = self.link_table.get(CONN, RECORD_KEY)
        return link.state if link is not None else None


@pytest.fixture
def world() -> World:
    return World()


# -- refused before any API call -------------------------------------------------------------

REFUSED = [
    pytest.param(
        b"{not json",
        "chargebee",
        b"acme",
        r"not an upsert command: not JSON: .+",
        id="not-json",
    ),
    pytest.param(
        orjson.dumps({"connection": "acme", "target": "chargebee"}),
        "chargebee",
        b"acme",
        re.escape("not an upsert command: flow must be non-empty text"),
        id="missing-fields",
    ),
    pytest.param(
        replace(create_command(), connection="other").to_bytes(),
        "chargebee",
        b"other",
        re.escape("connection 'other' is not served by this worker"),
        id="connection-not-served",
    ),
    pytest.param(
        replace(create_command(), flow="retired").to_bytes(),
        "chargebee",
        b"acme",
        re.escape("unknown flow 'retired'"),
        id="unknown-flow",
    ),
    pytest.param(
        poweroffice_command(record_id="abc").to_bytes(),
        "poweroffice",
        b"acme",
        re.escape("record_id 'abc' is not a PowerOffice Go id (a number)"),
        id="poweroffice-record-id-is-not-a-number",
    ),
    pytest.param(
        replace(create_command(), fields={"email": "a@b.no", "phone": "1"}).to_bytes(),
        "chargebee",
        b"acme",
        re.escape("field(s) phone are not mapped by flow employee"),
        id="unmapped-field",
    ),
    pytest.param(
        create_command().to_bytes(),
        "poweroffice",
        b"acme",
        re.escape("a command for chargebee on the poweroffice sink's topic"),
        id="command-on-the-other-sinks-topic",
    ),
]


@pytest.mark.parametrize(("value", "system", "key", "reason"), REFUSED)
async def test_a_bad_command_becomes_exactly_one_dead_letter_naming_the_reason(
    world, value, system, key, reason
):
    world.join_creates_the_link()
    await world.handle(value, system=system, key=key)
    assert world.outbox.topics() == ["deadletters"]
    [letter] = world.dead_letters()
    assert re.fullmatch(reason, letter["reason"]), letter["reason"]
    assert world.outbox.sent[0][1] == key


@pytest.mark.parametrize(("value", "system", "key", "reason"), REFUSED)
async def test_a_bad_command_calls_no_api(world, value, system, key, reason):
    world.join_creates_the_link()
    await world.handle(value, system=system, key=key)
    assert world.api_calls() == []


@pytest.mark.parametrize(("value", "system", "key", "reason"), REFUSED)
async def test_a_bad_command_is_marked_done(world, value, system, key, reason):
    await world.handle(value, system=system, key=key, offset=9)
    assert world.runtime.done == {(f"upserts.{system}", 0): 9}


async def test_a_refused_command_of_a_served_connection_is_counted_and_stops_the_create(world):
    world.join_creates_the_link()
    await world.handle(replace(create_command(), flow="retired").to_bytes())
    assert ReportBook(world.reports).entries(CONN, "dead-letter") == [
        {"reason": "unknown flow 'retired'", "record_key": RECORD_KEY}
    ]
    assert world.link_state() is LinkState.DEAD_LETTER


async def test_a_refused_command_of_an_unserved_connection_is_not_recorded(world):
    await world.handle(replace(create_command(), connection="other").to_bytes(), key=b"other")
    assert world.reports == {}


# -- writes ----------------------------------------------------------------------------------


async def test_a_create_for_a_creating_link_makes_one_customer(world):
    create = world.join_creates_the_link()
    await world.handle(create.to_bytes())
    assert world.chargebee.writes == [("create", FIELDS)]
    assert list(world.chargebee.customers) == [CUSTOMER_ID]


async def test_a_create_that_went_through_links_the_record(world):
    create = world.join_creates_the_link()
    await world.handle(create.to_bytes())
    assert world.link_state() is LinkState.LINKED


async def test_a_written_command_sends_nothing_and_is_marked_done(world):
    create = world.join_creates_the_link()
    await world.handle(create.to_bytes(), offset=12)
    assert world.outbox.sent == []
    assert world.runtime.done == {("upserts.chargebee", 0): 12}


async def test_the_writer_is_the_one_of_the_commands_connection(world):
    create = world.join_creates_the_link()
    await world.handle(create.to_bytes())
    assert world.writers.asked == [("chargebee", CONN)]


# -- skipped ---------------------------------------------------------------------------------


def update_command() -> Upsert:
    """An update (not a create) for employee 7's customer."""
    return replace(create_command(), create=False, source_event_id="ev-2")


async def test_an_update_without_a_link_is_skipped_without_api_call_or_dead_letter(world):
    await world.handle(update_command().to_bytes())
    assert world.api_calls() == []
    assert world.outbox.sent == []


async def test_a_skipped_command_is_logged_with_the_reason(world, caplog):
    caplog.set_level(logging.INFO, logger="streams.agents.sink_agent")
    await world.handle(update_command().to_bytes())
    assert [r.getMessage() for r in caplog.records if r.name == "streams.agents.sink_agent"] == [
        f"{RECORD_KEY}: chargebee command skipped: no live link"
    ]


async def test_a_skipped_command_is_marked_done(world):
    await world.handle(update_command().to_bytes(), offset=13)
    assert world.runtime.done == {("upserts.chargebee", 0): 13}


async def test_a_create_whose_link_was_lost_creates_and_links_from_the_command(world, caplog):
    """The join sends a create before it commits the link; a crash in between used to
    leave the command skipped and the link, written later from a stale changelog,
    `creating` for ever (issue 6, defect 1)."""
    caplog.set_level(logging.WARNING, logger="streams.agents.sinks")
    await world.handle(create_command().to_bytes())
    assert world.chargebee.calls == ["create_customer"]
    assert world.link_state() is LinkState.LINKED
    link = world.link_table.get(CONN, RECORD_KEY)
    assert link is not None
    assert link.right is not None
    assert link.right.id == CUSTOMER_ID
    assert link.synced == dict(FIELDS)
    assert "create command without its link" in caplog.text


async def test_a_create_whose_link_was_lost_and_then_replayed_creates_once(world):
    await world.handle(create_command().to_bytes())
    await world.handle(create_command().to_bytes())
    assert world.chargebee.calls.count("create_customer") == 1
    assert world.link_state() is LinkState.LINKED


# -- failures --------------------------------------------------------------------------------


async def test_a_write_refused_for_good_becomes_a_dead_letter(world):
    create = world.join_creates_the_link()
    world.chargebee.failures = [ConflictError("in use", system="chargebee", status=409)]
    await world.handle(create.to_bytes())
    [letter] = world.dead_letters()
    assert letter["reason"] == "chargebee refused the write: chargebee HTTP 409: in use"
    assert letter["record_key"] == RECORD_KEY
    assert letter["flow"] == "employee"


async def test_a_write_refused_for_good_is_not_retried_and_stops_the_create(world):
    create = world.join_creates_the_link()
    world.chargebee.failures = [ConflictError("in use", system="chargebee", status=409)]
    await world.handle(create.to_bytes(), offset=14)
    assert world.chargebee.calls == ["create_customer"]
    assert world.parked == {}
    assert world.link_state() is LinkState.DEAD_LETTER
    assert world.runtime.done == {("upserts.chargebee", 0): 14}


FOR_NOW = [
    pytest.param(TransientApiError("bad gateway", system="chargebee", status=502), id="5xx"),
    pytest.param(
        RateLimitedError("slow down", system="chargebee", retry_after=1.0), id="rate-limit"
    ),
    pytest.param(
        AuthenticationError("key rotated", system="chargebee", status=401), id="key-rotated"
    ),
]


@pytest.mark.parametrize("failure", FOR_NOW)
async def test_a_write_that_fails_for_now_is_parked_not_retried_in_place(world, failure):
    create = world.join_creates_the_link()
    world.chargebee.failures = [failure]
    await world.handle(create.to_bytes(), offset=21)
    assert world.chargebee.calls == ["create_customer"]
    assert world.chargebee.writes == []
    assert world.outbox.sent == []
    assert world.runtime.done == {("upserts.chargebee", 0): 21}
    parked = ParkingLot(world.parked).get(CONN, "chargebee", RECORD_KEY)
    assert parked is not None
    assert parked.commands == (create.to_json(),)
    assert parked.attempts == 1
    assert parked.next_attempt_ms == 7_000 + retry_delay_ms(1)
    assert world.link_state() is LinkState.CREATING


@pytest.mark.parametrize("failure", FOR_NOW)
async def test_a_parked_record_is_written_once_when_retried_after_its_delay(world, failure):
    create = world.join_creates_the_link()
    world.chargebee.failures = [failure]
    agent = world.agent()
    await agent.handle(Received("upserts.chargebee", 0, 9, b"acme", create.to_bytes()))
    await agent.retry(CONN, RECORD_KEY)  # not due yet: nothing happens
    assert world.chargebee.calls == ["create_customer"]
    world.now_ms += retry_delay_ms(1)
    await agent.retry(CONN, RECORD_KEY)
    assert world.chargebee.writes == [("create", FIELDS)]
    assert world.parked == {}
    assert world.link_state() is LinkState.LINKED
    assert world.breakers.open_until(CONN, "chargebee", now_ms=world.now_ms) is None


async def test_a_later_command_for_a_parked_record_waits_behind_it_in_order(world):
    create = world.join_creates_the_link()
    update = replace(create, create=False, fields={"last_name": "Ny"}, source_event_id="ev-9")
    world.chargebee.failures = [TransientApiError("down", system="chargebee", status=503)]
    agent = world.agent()
    await agent.handle(Received("upserts.chargebee", 0, 9, b"acme", create.to_bytes()))
    world.now_ms += 100_000  # past the breaker: only the queue holds the update back
    await agent.handle(Received("upserts.chargebee", 0, 10, b"acme", update.to_bytes()))
    assert world.chargebee.calls == ["create_customer"]
    parked = ParkingLot(world.parked).get(CONN, "chargebee", RECORD_KEY)
    assert parked is not None
    assert parked.commands == (create.to_json(), update.to_json())
    await agent.retry(CONN, RECORD_KEY)
    assert world.chargebee.writes == [("create", FIELDS), ("update", {"last_name": "Ny"})]
    assert world.parked == {}


async def test_while_a_target_fails_other_records_of_the_connection_park_without_a_call(world):
    create = world.join_creates_the_link()
    other = replace(create, left_key="poweroffice:Employee:8", record_id="ll-x-emp-8")
    world.chargebee.failures = [TransientApiError("down", system="chargebee", status=503)]
    agent = world.agent()
    await agent.handle(Received("upserts.chargebee", 0, 9, b"acme", create.to_bytes()))
    await agent.handle(Received("upserts.chargebee", 0, 10, b"acme", other.to_bytes()))
    assert world.chargebee.calls == ["create_customer"]
    assert ParkingLot(world.parked).count(CONN) == 2


async def test_another_connection_is_not_held_back_by_a_failing_one(world):
    create = world.join_creates_the_link()
    world.chargebee.failures = [TransientApiError("down", system="chargebee", status=503)]
    agent = world.agent()
    await agent.handle(Received("upserts.chargebee", 0, 9, b"acme", create.to_bytes()))
    theirs = replace(create, connection=OTHER, record_id="ll-other-emp-7")
    await agent.handle(Received("upserts.chargebee", 0, 10, OTHER.encode(), theirs.to_bytes()))
    assert world.chargebee.calls == ["create_customer", "create_customer"]
    assert world.chargebee.writes == [("create", FIELDS)]
    assert ParkingLot(world.parked).count(OTHER) == 0


async def test_a_record_still_failing_after_the_give_up_time_becomes_a_dead_letter(world):
    create = world.join_creates_the_link()
    failure = TransientApiError("down", system="chargebee", status=503)
    world.chargebee.failures = [failure] * 5
    agent = world.agent(give_up_ms=60_000)
    await agent.handle(Received("upserts.chargebee", 0, 9, b"acme", create.to_bytes()))
    world.now_ms += 61_000
    await agent.retry(CONN, RECORD_KEY)
    [letter] = world.dead_letters()
    assert letter["reason"].startswith("gave up after 2 attempt(s) over 61 s: chargebee failed")
    assert letter["record_key"] == RECORD_KEY
    assert world.parked == {}
    assert world.link_state() is LinkState.DEAD_LETTER


def test_a_command_s_lane_is_its_record_on_its_target() -> None:
    command = create_command()
    received = Received("upserts.chargebee", 0, 1, b"acme", command.to_bytes())
    assert lane_of(received) == (CONN, "chargebee", RECORD_KEY)
    other = replace(command, left_key="poweroffice:Employee:8")
    assert lane_of(Received("upserts.chargebee", 0, 2, b"acme", other.to_bytes())) != lane_of(
        received
    )


def test_a_command_that_does_not_decode_has_no_lane() -> None:
    assert lane_of(Received("upserts.chargebee", 0, 1, b"acme", b"not json")) is None
