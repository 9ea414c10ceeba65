"""What a demo run must end with: every person a Chargebee customer, every company and
department that has a business entity linked to it; anything less is named."""

from __future__ import annotations

from streams.dev.expected import ExpectedLinks, shortfall
from streams.dev.sample_data import build_sample_data

EXPECTED = ExpectedLinks(customers=3, entities=2)


def _links(customers: int, entities: int, *, other_state: int = 0) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {"flow": "employee", "state": "linked"} for _ in range(customers)
    ]
    rows += [{"flow": "department", "state": "linked"} for _ in range(entities)]
    rows += [{"flow": "contact_person", "state": "dead_letter"} for _ in range(other_state)]
    return rows


def test_the_sample_data_expects_every_person_and_every_matched_entity():
    data = build_sample_data()
    expected = ExpectedLinks.of(data)
    assert expected.customers == data.customer_count
    assert expected.entities == data.entity_count - len(data.unmatched_entity_names())


def test_every_expected_link_is_no_shortfall():
    assert shortfall(EXPECTED, _links(3, 2)) is None


def test_missing_customers_and_entities_are_named_with_their_counts():
    assert shortfall(EXPECTED, _links(1, 0)) == (
        "2 of 3 Chargebee customers and 2 of 2 business entities are not linked"
    )


def test_a_link_that_is_not_linked_does_not_count():
    assert shortfall(EXPECTED, _links(2, 2, other_state=1)) == (
        "1 of 3 Chargebee customers is not linked"
    )
