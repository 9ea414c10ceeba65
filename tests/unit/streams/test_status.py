"""The status view: counts per flow, convergence, action items; and its text rendering."""

from __future__ import annotations

import time

from connectors.polling.runner import PollResult
from streams.cli.inspect import format_links, format_status
from streams.runtime import LaneStatus, Runtime
from streams.status import links_view, status_view
from streams.sync.links import Link, LinkState, LinkTable, SideState
from streams.sync.messages import ActionItem
from streams.sync.reports import ReportBook
from streams.table_counts import TableTallies


def link(flow: str, state: LinkState, rid: int) -> Link:
    return Link(
        connection="c",
        flow=flow,
        state=state,
        left=SideState("poweroffice", "Employee", str(rid), values={"email": "kari@fjord.no"}),
        right=SideState("chargebee", "customer", f"ll-x-emp-{rid}"),
        synced={"email": "kari@fjord.no", "first_name": "Kari"},
    )


def idle_runtime() -> Runtime:
    runtime = Runtime()
    runtime.record_polls("c", [PollResult("poweroffice", "Employee", 1, 3, 0, 10)], at_ms=1)
    runtime.record_cycle(quiet=True)
    return runtime


def view(links, runtime, actions=(), broker=None, parked=0, flow_names=("employee", "company")):
    """The status of connection "c" with ``links``, ``actions``, one dead letter and two
    conflicts, counted as the worker counts them: by tallies kept as the tables are written."""
    tallies = TableTallies({}, {})
    tallies.rebuild()
    table = LinkTable(tallies.links)
    for item in links:
        table.put(item)
    book = ReportBook(tallies.reports)
    book.dead_letter("c", "e1", "too long", "poweroffice:Employee:1")
    book.conflict("c", "x1", {"field": "email"})
    book.conflict("c", "x2", {"field": "email"})
    for item in actions:
        book.put_action(item)
    reports = tallies.reports_of("c")
    return status_view(
        connection="c",
        flow_names=flow_names,
        links=tallies.links_of("c"),
        reports=reports,
        open_actions=tallies.open_actions("c", reports),
        runtime=runtime,
        broker=broker,
        parked=parked,
    )


def test_links_are_counted_per_flow_and_state():
    status = view(
        [
            link("employee", LinkState.LINKED, 1),
            link("employee", LinkState.CREATING, 2),
            link("company", LinkState.AWAITING_ENTITY, 3),
            link("employee", LinkState.UNLINKED, 4),
        ],
        idle_runtime(),
    )
    assert status["flows"]["employee"] == {
        "linked": 1,
        "pending": 1,
        "dead_letter": 0,
        "unlinked": 1,
    }
    assert status["flows"]["company"]["pending"] == 1


def test_converged_needs_an_idle_cycle_nothing_in_flight_and_no_create_pending():
    assert view([link("employee", LinkState.LINKED, 1)], idle_runtime())["converged"]
    assert not view([link("employee", LinkState.CREATING, 1)], idle_runtime())["converged"]
    busy = idle_runtime()
    busy.record_sent("upserts.chargebee", 0, 5)
    assert not view([], busy)["converged"]
    busy.record_done("upserts.chargebee", 0, 5)
    assert view([], busy)["converged"]
    assert not view([], Runtime())["converged"]


def test_nothing_is_converged_while_the_broker_is_unreachable():
    away = {"reachable": False, "since_ms": 5}
    status = view([link("employee", LinkState.LINKED, 1)], idle_runtime(), broker=away)
    assert status["converged"] is False
    assert status["broker"] == away
    back = {"reachable": True, "since_ms": 9}
    assert view([], idle_runtime(), broker=back)["converged"] is True


def test_a_business_entity_waiting_for_a_person_does_not_block_convergence():
    assert view([link("company", LinkState.AWAITING_ENTITY, 3)], idle_runtime())["converged"]


def test_nothing_is_converged_while_the_counts_are_recovering():
    settled = view([link("employee", LinkState.LINKED, 1)], idle_runtime())
    assert (settled["converged"], settled["recovering"]) == (True, False)
    recovering = status_view(
        connection="c",
        flow_names=["employee"],
        links={},
        reports={},
        open_actions=[],
        runtime=idle_runtime(),
        recovering=True,
    )
    assert (recovering["converged"], recovering["recovering"]) == (False, True)


def test_only_open_action_items_are_listed():
    items = [
        ActionItem("c", "a", "create_business_entity", "create 'A'", "company", "k1"),
        ActionItem(
            "c", "b", "create_business_entity", "create 'B'", "company", "k2", resolved=True
        ),
    ]
    status = view([], idle_runtime(), items)
    assert status["actions"] == {"open": 1, "resolved": 1}
    assert [a["message"] for a in status["action_items"]] == ["create 'A'"]


def test_the_text_status_names_flows_polls_and_actions():
    runtime = idle_runtime()
    runtime.polls["c"]["poweroffice:Employee"].last_poll_ms = int(time.time() * 1000) - 2000
    items = [ActionItem("c", "a", "create_business_entity", "create 'Økonomi'", "d", "k")]
    text = format_status(view([link("employee", LinkState.LINKED, 1)], runtime, items))
    assert "converged" in text
    assert "employee" in text
    assert "poweroffice:Employee" in text
    assert "s ago" in text
    assert "action: create 'Økonomi'" in text


def test_parked_commands_show_in_the_status_and_hold_off_convergence():
    status = view([], idle_runtime(), parked=3, flow_names=("employee",))
    assert (status["parked"], status["converged"]) == (3, False)
    assert "parked 3" in format_status(status)


def test_the_links_table_masks_emails():
    text = format_links(links_view([link("employee", LinkState.LINKED, 1)]))
    assert "k***@fjord.no" in text
    assert "kari@fjord.no" not in text
    assert "1 link(s)" in text


def test_the_status_shows_each_systems_poll_cycle_and_prints_it():
    runtime = idle_runtime()
    runtime.record_schedule("c", "poweroffice", LaneStatus(11.2, 11.1, "idle"))
    runtime.record_schedule("other", "poweroffice", LaneStatus(1.0, 1.0, "active"))
    status = view([], runtime)
    assert status["schedule"] == {
        "poweroffice": {"cycle_seconds": 11.2, "target_seconds": 11.1, "mode": "idle"}
    }
    text = format_status(status)
    assert "poll cycle poweroffice" in text
    assert "11.2 s (target 11.1 s, idle)" in text


def test_a_connection_whose_keys_were_refused_shows_it_and_is_not_converged():
    runtime = idle_runtime()
    now_ms = int(time.time() * 1000)
    runtime.record_refused(
        "c",
        "poweroffice",
        at_ms=now_ms - 60_000,
        retry_at_ms=now_ms + 240_000,
        message="connection 'c': PowerOffice Go refused the keys: check C_POWEROFFICE_CLIENT_KEY",
    )
    runtime.record_refused("other", "chargebee", at_ms=1, retry_at_ms=2, message="other's")
    status = view([link("employee", LinkState.LINKED, 1)], runtime)
    assert status["converged"] is False
    assert status["refused"] == {
        "poweroffice": {
            "since_ms": now_ms - 60_000,
            "retry_at_ms": now_ms + 240_000,
            "message": "connection 'c': PowerOffice Go refused the keys: "
            "check C_POWEROFFICE_CLIENT_KEY",
        }
    }
    lines = format_status(status).splitlines()
    assert lines[0] == "connection c: keys refused by poweroffice"
    shown = [line for line in lines if line.startswith("keys refused poweroffice")]
    assert len(shown) == 1, lines
    assert "since 60 s ago" in shown[0]
    assert "next try in 24" in shown[0]  # 240 s, give or take the time this test takes
    assert "check C_POWEROFFICE_CLIENT_KEY" in shown[0]
    runtime.record_accepted("c", "poweroffice")
    cleared = view([link("employee", LinkState.LINKED, 1)], runtime)
    assert (cleared["converged"], cleared["refused"]) == (True, {})
    assert "keys refused" not in format_status(cleared)
