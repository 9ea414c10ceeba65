"""The messages on ledgerlink's own topics: upserts read back strictly, dead letters bounded."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson
import pytest

from streams.sync.messages import DeadLetter, MessageError, Upsert

GOOD = Upsert(
    connection="acme",
    flow="contact_person",
    left_key="poweroffice:ContactPerson:7",
    target="poweroffice",
    entity="ContactPerson",
    record_id="7",
    fields={"email": "ny@fjord.no", "last_name": "Ås"},
    source_ts_ms=1_700_000_000_000,
    source_event_id="ev-1",
    create=False,
    extra={"ContactId": 12},
)


def good_json(**changes: Any) -> dict[str, Any]:
    raw = orjson.loads(GOOD.to_bytes())
    raw.update(changes)
    return dict(raw)


def without(name: str) -> bytes:
    raw = good_json()
    del raw[name]
    return orjson.dumps(raw)


def changed(**changes: Any) -> bytes:
    return orjson.dumps(good_json(**changes))


# -- Upsert.from_bytes --------------------------------------------------------------------------


def test_a_good_upsert_survives_the_round_trip():
    assert Upsert.from_bytes(GOOD.to_bytes()) == GOOD


def test_a_create_survives_the_round_trip():
    create = Upsert(
        connection="acme",
        flow="employee",
        left_key="poweroffice:Employee:7",
        target="chargebee",
        entity="customer",
        record_id="ll-1234abcd-emp-7",
        fields={},
        source_ts_ms=0,
        source_event_id="redrive-0",
        create=True,
    )
    assert Upsert.from_bytes(create.to_bytes()) == create


def test_create_and_extra_may_be_left_out():
    raw = good_json()
    del raw["create"], raw["extra"]
    upsert = Upsert.from_bytes(orjson.dumps(raw))
    assert (upsert.create, upsert.extra) == (False, {})


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(b"[1, 2]", "not a JSON object but list", id="array"),
        pytest.param(b'"upsert"', "not a JSON object but str", id="string"),
        pytest.param(b"null", "not a JSON object but NoneType", id="null"),
        pytest.param(b"42", "not a JSON object but int", id="number"),
        pytest.param(
            without("connection"), "connection must be non-empty text", id="no-connection"
        ),
        pytest.param(without("flow"), "flow must be non-empty text", id="no-flow"),
        pytest.param(changed(left_key=""), "left_key must be non-empty text", id="empty-left-key"),
        pytest.param(changed(entity=""), "entity must be non-empty text", id="empty-entity"),
        pytest.param(changed(record_id=7), "record_id must be non-empty text", id="record-id-int"),
        pytest.param(
            without("source_event_id"),
            "source_event_id must be non-empty text",
            id="no-source-event-id",
        ),
        pytest.param(changed(target=None), "target must be non-empty text", id="target-null"),
        pytest.param(
            changed(target="xero"),
            "target must be one of chargebee, poweroffice",
            id="unknown-target",
        ),
        pytest.param(
            changed(fields={"email": 5}),
            "fields must be an object of text values",
            id="field-value-int",
        ),
        pytest.param(
            changed(fields={"email": None}),
            "fields must be an object of text values",
            id="field-value-null",
        ),
        pytest.param(
            changed(fields=["email"]), "fields must be an object of text values", id="fields-list"
        ),
        pytest.param(without("fields"), "fields must be an object of text values", id="no-fields"),
        pytest.param(
            changed(source_ts_ms="5"), "source_ts_ms must be an integer", id="source-ts-text"
        ),
        pytest.param(
            changed(source_ts_ms=1.5), "source_ts_ms must be an integer", id="source-ts-float"
        ),
        pytest.param(
            changed(source_ts_ms=True), "source_ts_ms must be an integer", id="source-ts-bool"
        ),
        pytest.param(without("source_ts_ms"), "source_ts_ms must be an integer", id="no-source-ts"),
        pytest.param(changed(create="yes"), "create must be true or false", id="create-text"),
        pytest.param(changed(extra=[]), "extra must be an object", id="extra-list"),
        pytest.param(changed(priority=1), "unknown field(s) priority", id="unknown-key"),
        pytest.param(
            changed(zeta=1, alpha=2), "unknown field(s) alpha, zeta", id="unknown-keys-sorted"
        ),
    ],
)
def test_upsert_from_bytes_refuses_a_malformed_command(data, problem):
    with pytest.raises(MessageError) as refused:
        Upsert.from_bytes(data)
    assert str(refused.value) == problem


@pytest.mark.parametrize("data", [b"{not json", b"", b"\xff\xfe"])
def test_upsert_from_bytes_refuses_what_is_not_json(data):
    with pytest.raises(MessageError) as refused:
        Upsert.from_bytes(data)
    assert str(refused.value).startswith("not JSON: ")


# -- DeadLetter.to_bytes ------------------------------------------------------------------------


def letter(event: dict[str, Any], reason: str = "first_name is too long") -> DeadLetter:
    return DeadLetter(
        connection="acme",
        reason=reason,
        flow="employee",
        record_key="poweroffice:Employee:7",
        event=event,
        at_ms=1_700_000_000_000,
    )


def test_a_small_dead_letter_is_encoded_unchanged():
    small = letter({"source": {"id": "7"}, "after": {"FirstName": "Åse"}})
    assert orjson.loads(small.to_bytes()) == asdict(small)


@pytest.mark.parametrize(
    "filler",
    [
        pytest.param("x", id="ascii"),
        pytest.param("é", id="two-byte-utf8"),
        pytest.param("\U0001f600", id="four-byte-utf8"),
        pytest.param("\x01", id="control-characters"),
        pytest.param('"', id="quotes"),
        pytest.param("\\", id="backslashes"),
    ],
)
def test_a_huge_dead_letter_fits_max_bytes(filler):
    huge = letter({"after": {"FirstName": filler * 200_000}})
    assert len(huge.to_bytes()) <= DeadLetter.MAX_BYTES


def test_a_huge_dead_letter_keeps_its_reason_and_record_key():
    decoded = orjson.loads(letter({"after": {"FirstName": "x" * 2_000_000}}).to_bytes())
    assert decoded["reason"] == "first_name is too long"
    assert decoded["record_key"] == "poweroffice:Employee:7"
    assert decoded["connection"] == "acme"
    assert decoded["flow"] == "employee"


def test_a_huge_dead_letter_says_it_was_cut_and_how_big_it_was():
    event = {"after": {"FirstName": "x" * 2_000_000}}
    decoded = orjson.loads(letter(event).to_bytes())
    assert decoded["event"]["truncated"] is True
    assert decoded["event"]["bytes"] == len(orjson.dumps(event))
    assert decoded["event"]["excerpt"] == orjson.dumps(event)[: DeadLetter.MAX_BYTES // 2].decode()


def test_a_huge_reason_is_cut_to_max_text():
    reason = "r" * 1_000_000
    encoded = letter({"after": {}}, reason=reason).to_bytes()
    assert len(encoded) <= DeadLetter.MAX_BYTES
    assert orjson.loads(encoded)["reason"] == "r" * DeadLetter.MAX_TEXT
