"""The change-event envelope: stable ids, round trip, keying by connection."""

from __future__ import annotations

import pytest

from connectors.events import ChangeEvent, EventDecodeError, Op, Origin, Source, Writer


def event(version: int = 5, connection: str = "acme", **kw) -> ChangeEvent:
    return ChangeEvent(
        connection=connection,
        op=kw.pop("op", Op.UPDATE),
        source=Source("poweroffice", "Employee", "42", version, 1700000000000),
        after={"Id": 42, "FirstName": "Åse", "LastName": "Ørnes"},
        origin=Origin("poweroffice", Writer.EXTERNAL),
        observed_ms=1700000000500,
        **kw,
    )


def test_the_event_survives_serialisation():
    original = event()
    assert ChangeEvent.from_bytes(original.to_bytes()) == original


def test_the_same_record_version_always_gets_the_same_id():
    assert event().event_id == event().event_id


def test_another_version_gets_another_id():
    assert event(version=5).event_id != event(version=6).event_id


def test_the_id_depends_on_the_connection():
    assert event(connection="a").event_id != event(connection="b").event_id


def test_the_key_is_the_connection_so_a_connection_stays_on_one_partition():
    assert event(connection="acme").key == b"acme"


def test_record_key_carries_the_entity_type():
    assert event().record_key == "poweroffice:Employee:42"


@pytest.mark.parametrize("payload", [b"not json", b"{}", b'{"op": "x"}'])
def test_garbage_is_refused_with_a_decode_error(payload):
    with pytest.raises(EventDecodeError):
        ChangeEvent.from_bytes(payload)
