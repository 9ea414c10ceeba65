"""What the demo prints: the progress line, the link table, action items, the display."""

from __future__ import annotations

import io

from streams.dev.progress import (
    Progress,
    ProgressDisplay,
    Totals,
    count_linked,
    format_action_items,
    format_dead_letters,
    format_links_table,
    format_pending,
    format_progress,
    progress_from_status,
)

TOTALS = Totals(customers=95, entities=18)

STATUS = {
    "connection": "default",
    "converged": False,
    "flows": {
        "employee": {"linked": 20, "pending": 3},
        "person_customer": {"linked": 12, "pending": 0},
        "contact_person": {"linked": 20, "pending": 5},
        "company": {"linked": 9, "pending": 1},
        "department": {"linked": 5, "pending": 0},
    },
    "polls": {},
    "dead_letters": 1,
    "conflicts": 2,
    "actions": {"open": 4, "resolved": 1},
    "action_items": [
        {
            "id": "a1",
            "kind": "create_business_entity",
            "message": "create business entity 'Nordlys Regnskap AS' in Chargebee",
        },
        {"id": "a2", "kind": "record_deleted", "message": "gone", "resolved": True},
    ],
}


def _link(flow, state, left, right, values):
    return {"flow": flow, "state": state, "left": left, "right": right, "values": values}


LINKS = [
    _link(
        "employee",
        "linked",
        {"system": "poweroffice", "entity": "Employee", "id": "10013"},
        {"system": "chargebee", "entity": "customer", "id": "default-employee-10013"},
        {"email": "kjaersti.haugen@fjellsyn.no", "first_name": "Kjærsti", "last_name": "Haugen"},
    ),
    _link(
        "company",
        "awaiting_entity",
        {"system": "poweroffice", "entity": "Customer", "id": "10003"},
        None,
        {"name": "Nordlys Regnskap AS"},
    ),
    _link(
        "contact_person",
        "dead_letter",
        {"system": "poweroffice", "entity": "ContactPerson", "id": "7"},
        None,
        {"EmailAddress": "ase.bjornstad@fjordkraft.no", "FirstName": "Åse", "LastName": "B"},
    ),
    _link(
        "company",
        "linked",
        {"system": "poweroffice", "entity": "Customer", "id": "10001"},
        {"system": "chargebee", "entity": "business_entity", "id": "fjordkraft-as"},
        {"name": "Fjordkraft AS"},
    ),
]


def test_progress_sums_customer_flows_and_entity_flows():
    progress = progress_from_status(STATUS)
    assert progress.customers == 52
    assert progress.entities == 14
    assert (progress.open_actions, progress.dead_letters, progress.conflicts) == (4, 1, 2)
    assert not progress.converged


def test_progress_line_shows_counts_against_totals_and_time():
    line = format_progress(progress_from_status(STATUS), TOTALS, 12.34)
    assert line == (
        "syncing… customers 52/95  entities 14/18  actions 4  dead letters 1  conflicts 2  [12.3 s]"
    )


def test_progress_line_says_synced_once_converged():
    line = format_progress(progress_from_status({**STATUS, "converged": True}), TOTALS, 1.0)
    assert line.startswith("synced customers 52/95")


def test_an_empty_or_partial_status_counts_as_zero_and_not_started():
    progress = progress_from_status({"flows": {"employee": {}}, "actions": None})
    assert progress == Progress(0, 0, 0, 0, 0, converged=False, seen=0)
    assert not progress.started


def test_converged_must_be_exactly_true():
    assert not progress_from_status({"converged": "yes"}).converged


def test_link_table_masks_emails():
    text = "\n".join(format_links_table(LINKS))
    assert "k***@fjellsyn.no" in text
    assert "kjaersti.haugen" not in text
    assert "ase.bjornstad" not in text


def test_link_table_has_a_header_a_rule_and_one_row_per_link():
    lines = format_links_table(LINKS)
    assert lines[0].split() == ["flow", "PowerOffice", "Go", "Chargebee", "name", "e-mail"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert len(lines) == 2 + len(LINKS)


def test_link_table_orders_entities_first_then_by_id():
    lines = format_links_table(LINKS)[2:]
    assert [line.split()[0] for line in lines] == [
        "company",
        "company",
        "contact_person",
        "employee",
    ]
    assert "Customer 10001" in lines[0]


def test_link_table_names_the_partner_or_the_state():
    lines = format_links_table(LINKS)
    partner = "customer default-employee-10013"
    assert any(partner in line and "Kjærsti Haugen" in line for line in lines)
    assert any("(awaiting entity)" in line and "Nordlys Regnskap AS" in line for line in lines)


def test_link_table_columns_line_up():
    lines = format_links_table(LINKS)
    column = lines[0].index("Chargebee")
    assert all(line[column - 2 : column] == "  " for line in lines[2:])


def test_count_linked_counts_only_linked_state_of_the_flows():
    assert count_linked(LINKS, ["company"]) == 1
    assert count_linked(LINKS, ["employee", "contact_person"]) == 1


def test_action_items_list_open_messages():
    assert format_action_items(STATUS) == [
        "- create business entity 'Nordlys Regnskap AS' in Chargebee"
    ]
    assert format_action_items({}) == []


def test_dead_letters_are_listed_with_masked_email():
    lines = format_dead_letters(LINKS)
    assert lines == ["- contact_person ContactPerson 7: Åse B a***@fjordkraft.no"]


def test_display_redraws_one_line_on_a_terminal():
    out = io.StringIO()
    display = ProgressDisplay(out, interactive=True)
    display.show("one")
    display.show("two")
    display.close()
    assert out.getvalue() == "\r\x1b[Kone\r\x1b[Ktwo\n"


def test_display_prints_plain_lines_every_few_seconds_off_a_terminal():
    now = [0.0]
    out = io.StringIO()
    display = ProgressDisplay(out, interactive=False, every=5.0, clock=lambda: now[0])
    display.show("first")
    now[0] = 2.0
    display.show("skipped")
    now[0] = 5.5
    display.show("second")
    now[0] = 6.0
    display.show("forced", force=True)
    display.close()
    assert out.getvalue() == "first\nsecond\nforced\n"


def test_pending_names_the_flows_still_waiting():
    assert format_pending(STATUS) == "company 1, contact_person 5, employee 3"
    assert format_pending({"flows": {"employee": {"linked": 3, "pending": 0}}}) == "nothing"


def test_a_worker_that_cannot_reach_its_broker_is_never_converged():
    status = {**STATUS, "converged": True, "broker": {"reachable": False}}
    progress = progress_from_status(status)
    assert not progress.converged
    assert format_progress(progress, TOTALS, 1.0).startswith("Kafka unreachable…")


def test_a_failing_broker_probe_is_never_converged():
    progress = progress_from_status({**STATUS, "converged": True}, broker_answers=False)
    assert not progress.converged
    assert "synced" not in format_progress(progress, TOTALS, 1.0)


def test_a_reachable_broker_lets_convergence_through():
    status = {**STATUS, "converged": True, "broker": {"reachable": True}}
    assert progress_from_status(status).converged
    assert progress_from_status({**STATUS, "converged": True}).converged
