"""Resync re-drives only each business entity's latest event: an older one would teach
the join an outdated name."""

from __future__ import annotations

from connectors.events import ChangeEvent, Op, Origin, Source
from streams.recovery.resync import latest_per_record


def entity_event(entity_id: str, version: int, name: str) -> ChangeEvent:
    return ChangeEvent(
        connection="acme",
        op=Op.UPDATE,
        source=Source("chargebee", "business_entity", entity_id, version, version),
        after={"id": entity_id, "name": name},
        origin=Origin("chargebee"),
        observed_ms=0,
    )


def test_only_the_newest_event_of_each_record_is_kept_in_first_seen_order():
    events = [
        entity_event("be-1", 1, "Fjord"),
        entity_event("be-2", 2, "Vik"),
        entity_event("be-1", 3, "Fjord AS"),
        entity_event("be-2", 1, "Vik (late, older)"),
    ]
    kept = latest_per_record(events)
    assert [(e.source.id, e.after["name"] if e.after else None) for e in kept] == [
        ("be-1", "Fjord AS"),
        ("be-2", "Vik"),
    ]


def test_nothing_in_nothing_out():
    assert latest_per_record([]) == []
