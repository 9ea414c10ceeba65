"""The change-event envelope: stable ids, round trip, keying by connection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import orjson
import pytest

from connectors.events import (
    MAX_EVENT_BYTES,
    MAX_VALUE_CHARS,
    ChangeEvent,
    EventDecodeError,
    Op,
    Origin,
    Source,
    Writer,
)


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


# -- decoding refuses what is not a change event, naming the problem -------------------------


def edited(change: Callable[[dict[str, Any]], None]) -> bytes:
    raw = orjson.loads(event().to_bytes())
    change(raw)
    return orjson.dumps(raw)


def put(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        for key in path[:-1]:
            raw = raw[key]
        raw[path[-1]] = value

    return change


def drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda raw: raw.pop(key)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param(
            put("after", value="x"), 'after must be an object or null, got "x"', id="after-text"
        ),
        pytest.param(
            put("after", value=[1, 2]),
            "after must be an object or null, got [1,2]",
            id="after-list",
        ),
        pytest.param(
            put("before", value="x"), 'before must be an object or null, got "x"', id="before-text"
        ),
        pytest.param(
            put("source", "version", value="1"),
            'source.version must be an integer, got "1"',
            id="version-text",
        ),
        pytest.param(
            put("source", "version", value=True),
            "source.version must be an integer, got true",
            id="version-bool",
        ),
        pytest.param(
            put("source", "ts_ms", value=1.5),
            "source.ts_ms must be an integer, got 1.5",
            id="ts-float",
        ),
        pytest.param(
            put("source", "id", value=42),
            "source.id must be non-empty text, got 42",
            id="id-number",
        ),
        pytest.param(
            put("source", value=[1]), "source must be an object, got list", id="source-list"
        ),
        pytest.param(drop("source"), "source is missing", id="no-source"),
        pytest.param(drop("origin"), "origin is missing", id="no-origin"),
        pytest.param(drop("observed_ms"), "observed_ms is missing", id="no-observed-ms"),
        pytest.param(put("op", value="z"), "'z' is not a valid Op", id="unknown-op"),
        pytest.param(
            put("origin", "writer", value="robot"),
            "'robot' is not a valid Writer",
            id="unknown-writer",
        ),
        pytest.param(
            put("connection", value=""),
            'connection must be non-empty text, got ""',
            id="empty-connection",
        ),
        pytest.param(
            put("connection", value=None),
            "connection must be non-empty text, got null",
            id="null-connection",
        ),
        pytest.param(
            put("source", "version", value="9" * 100),
            'source.version must be an integer, got "' + "9" * 39 + "…",
            id="long-value-shown-cut",
        ),
    ],
)
def test_from_bytes_names_what_is_wrong(change, problem):
    with pytest.raises(EventDecodeError) as refused:
        ChangeEvent.from_bytes(edited(change))
    assert str(refused.value) == problem


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_from_bytes_says_when_it_is_not_json(data):
    with pytest.raises(EventDecodeError) as refused:
        ChangeEvent.from_bytes(data)
    assert str(refused.value).startswith("not JSON: ")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(b"[1, 2]", "not a JSON object but list", id="array"),
        pytest.param(b'"event"', "not a JSON object but str", id="string"),
        pytest.param(b"null", "not a JSON object but NoneType", id="null"),
    ],
)
def test_from_bytes_says_when_it_is_not_an_object(data, problem):
    with pytest.raises(EventDecodeError) as refused:
        ChangeEvent.from_bytes(data)
    assert str(refused.value) == problem


# -- encoding keeps every event small enough for Kafka ------------------------------------------

TWO_MIB = 2 * 1024 * 1024


def huge_event(**after: Any) -> ChangeEvent:
    return ChangeEvent(
        connection="acme",
        op=Op.UPDATE,
        source=Source("poweroffice", "Employee", "42", 5, 1700000000000),
        after={"Id": 42, "FirstName": "Åse", "LastName": "Ørnes", **after},
        before={"Id": 42, "FirstName": "Åse", "LastName": "Ørnes", **after},
        origin=Origin("poweroffice", Writer.EXTERNAL),
        observed_ms=1700000000500,
    )


def test_a_normal_event_is_encoded_unchanged():
    original = event()
    assert original.to_bytes() == orjson.dumps(asdict(original))


def test_an_event_with_a_2_mib_value_is_encoded_below_max_event_bytes():
    assert len(huge_event(FirstName="x" * TWO_MIB).to_bytes()) < MAX_EVENT_BYTES


def test_a_2_mib_value_is_cut_to_max_value_chars():
    decoded = ChangeEvent.from_bytes(huge_event(FirstName="x" * TWO_MIB).to_bytes())
    assert decoded.after is not None
    assert decoded.before is not None
    assert decoded.after["FirstName"] == "x" * MAX_VALUE_CHARS
    assert decoded.before["FirstName"] == "x" * MAX_VALUE_CHARS


def test_cutting_a_huge_value_leaves_the_rest_of_the_event_as_it_was():
    original = huge_event(FirstName="x" * TWO_MIB)
    decoded = ChangeEvent.from_bytes(original.to_bytes())
    assert decoded.after == {"Id": 42, "FirstName": "x" * MAX_VALUE_CHARS, "LastName": "Ørnes"}
    assert (decoded.source, decoded.origin, decoded.event_id) == (
        original.source,
        original.origin,
        original.event_id,
    )


def test_a_2_mib_value_nested_in_an_object_is_encoded_below_max_event_bytes():
    encoded = huge_event(BillingAddress={"Line1": "x" * TWO_MIB}).to_bytes()
    assert len(encoded) < MAX_EVENT_BYTES
