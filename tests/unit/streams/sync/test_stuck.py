"""Links left `creating` too long: which create commands creates_to_redrive sends again."""

from __future__ import annotations

from dataclasses import replace

import pytest

from connectors.events import ChangeEvent, Op, Origin, Source
from mappings import load_flows
from streams.sync.ids import chargebee_customer_id
from streams.sync.joiner import Joiner
from streams.sync.links import Link, LinkState, LinkTable
from streams.sync.messages import Upsert
from streams.sync.reports import ReportBook
from streams.sync.stuck import creates_to_redrive

CONN = "acme"
FLOWS = {flow.name: flow for flow in load_flows()}
TIMEOUT = 60_000
MADE_AT = 1_000_000  # when the join made the link


def creating_link(connection: str = CONN, rid: int = 7) -> Link:
    """The `creating` link the join makes for a new employee."""
    table = LinkTable({})
    joiner = Joiner(list(FLOWS.values()), table, ReportBook({}), clock_ms=lambda: MADE_AT)
    joiner.join(
        ChangeEvent(
            connection=connection,
            op=Op.UPDATE,
            source=Source("poweroffice", "Employee", str(rid), 10_000_000 + rid, 1_234),
            after={
                "Id": rid,
                "FirstName": "Åse",
                "LastName": "Bjørnstad",
                "EmailAddress": "ase@fjord.no",
                "JobTitle": "not mapped",
            },
            origin=Origin("poweroffice"),
            observed_ms=0,
        )
    )
    [link] = table.links()
    assert link.state is LinkState.CREATING
    return link


def redrive(links: list[Link], now_ms: int, redriven: dict[str, int] | None = None):
    return creates_to_redrive(
        links,
        FLOWS,
        now_ms=now_ms,
        timeout_ms=TIMEOUT,
        redriven={} if redriven is None else redriven,
    )


@pytest.mark.parametrize(
    ("state", "age_ms", "driven"),
    [
        pytest.param(LinkState.CREATING, TIMEOUT + 1, True, id="creating-past-the-timeout"),
        pytest.param(LinkState.CREATING, 10 * TIMEOUT, True, id="creating-long-past"),
        pytest.param(LinkState.CREATING, TIMEOUT - 1, False, id="creating-within-the-timeout"),
        pytest.param(LinkState.CREATING, 0, False, id="creating-just-made"),
        pytest.param(LinkState.LINKED, 10 * TIMEOUT, False, id="linked"),
        pytest.param(LinkState.DEAD_LETTER, 10 * TIMEOUT, False, id="dead-letter"),
        pytest.param(LinkState.AWAITING_ENTITY, 10 * TIMEOUT, False, id="awaiting-entity"),
        pytest.param(LinkState.UNLINKED, 10 * TIMEOUT, False, id="unlinked"),
    ],
)
def test_only_creating_links_older_than_the_timeout_are_driven_again(state, age_ms, driven):
    link = replace(creating_link(), state=state)
    commands = redrive([link], now_ms=MADE_AT + age_ms)
    assert [c.left_key for c in commands] == (["poweroffice:Employee:7"] if driven else [])


def test_a_creating_link_without_a_partner_is_not_driven():
    link = replace(creating_link(), right=None)
    assert redrive([link], now_ms=MADE_AT + 10 * TIMEOUT) == []


def test_a_link_of_an_unknown_flow_is_not_driven():
    link = replace(creating_link(), flow="retired")
    assert redrive([link], now_ms=MADE_AT + 10 * TIMEOUT) == []


def test_the_command_is_the_create_the_join_sent_with_its_deterministic_id():
    link = creating_link()
    [command] = redrive([link], now_ms=MADE_AT + TIMEOUT + 1)
    assert command == Upsert(
        connection=CONN,
        flow="employee",
        left_key="poweroffice:Employee:7",
        target="chargebee",
        entity="customer",
        record_id=chargebee_customer_id(CONN, "Employee", "7"),
        fields={"email": "ase@fjord.no", "first_name": "Åse", "last_name": "Bjørnstad"},
        source_ts_ms=1_234,
        source_event_id="redrive-10000007",
        create=True,
    )


def test_a_driven_link_is_remembered_by_connection_and_record():
    redriven: dict[str, int] = {}
    redrive([creating_link()], now_ms=MADE_AT + TIMEOUT + 1, redriven=redriven)
    assert redriven == {"acme|poweroffice:Employee:7": MADE_AT + TIMEOUT + 1}


@pytest.mark.parametrize(
    ("since_last_drive", "driven"),
    [
        pytest.param(0, False, id="same-moment"),
        pytest.param(TIMEOUT - 1, False, id="within-another-timeout"),
        pytest.param(TIMEOUT + 1, True, id="after-another-timeout"),
    ],
)
def test_a_link_is_driven_again_only_after_another_timeout(since_last_drive, driven):
    link = creating_link()
    redriven: dict[str, int] = {}
    first = MADE_AT + TIMEOUT + 1
    assert len(redrive([link], now_ms=first, redriven=redriven)) == 1
    again = redrive([link], now_ms=first + since_last_drive, redriven=redriven)
    assert len(again) == (1 if driven else 0)


def test_the_same_record_in_two_connections_is_driven_for_each():
    links = [creating_link("acme"), creating_link("globex")]
    commands = redrive(links, now_ms=MADE_AT + TIMEOUT + 1)
    assert [(c.connection, c.record_id) for c in commands] == [
        ("acme", chargebee_customer_id("acme", "Employee", "7")),
        ("globex", chargebee_customer_id("globex", "Employee", "7")),
    ]


def test_only_the_stuck_links_among_many_are_driven():
    stuck = creating_link(rid=1)
    fresh = replace(creating_link(rid=2), updated_ms=MADE_AT + TIMEOUT)
    linked = replace(creating_link(rid=3), state=LinkState.LINKED)
    commands = redrive([stuck, fresh, linked], now_ms=MADE_AT + TIMEOUT + 1)
    assert [c.left_key for c in commands] == ["poweroffice:Employee:1"]


def test_a_link_whose_create_is_parked_is_waiting_not_lost():
    """Its target fails for now and the create waits in the parking lot: sending it again
    every timeout would only queue copies behind it."""
    link = creating_link()
    assert link.right is not None
    asked: list[tuple[str, str, str]] = []

    def parked(connection: str, target: str, left_key: str) -> bool:
        asked.append((connection, target, left_key))
        return True

    commands = creates_to_redrive(
        [link],
        FLOWS,
        now_ms=MADE_AT + TIMEOUT + 1,
        timeout_ms=TIMEOUT,
        redriven={},
        parked=parked,
    )
    assert commands == []
    assert asked == [(CONN, "chargebee", link.left.key)]
