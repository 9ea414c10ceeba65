"""Dead letter ids a person can pass back, choosing letters, and how they are shown."""

from __future__ import annotations

import pytest

from streams.recovery import RecoveryError
from streams.recovery.deadletters import (
    StoredLetter,
    format_letter,
    format_letters,
    letter_id,
    parse_letter_id,
    select_letters,
)


def letter(partition: int, offset: int, **fields: object) -> StoredLetter:
    body = {
        "connection": "acme",
        "reason": "email is 71 characters; chargebee allows at most 70",
        "flow": "employee",
        "record_key": "poweroffice:Employee:7",
        "event": {"after": {"EmailAddress": "kari.nordmann@fjord.no"}},
        "at_ms": 1_800_000_000_000,
        **fields,
    }
    return StoredLetter(letter_id(partition, offset), body)


def test_an_id_is_partition_and_offset_and_reads_back():
    assert letter_id(2, 17) == "2-17"
    assert parse_letter_id("2-17") == (2, 17)
    assert parse_letter_id(" 0-0 ") == (0, 0)


@pytest.mark.parametrize("text", ["", "17", "a-b", "2:17", "-1-3"])
def test_anything_else_is_not_an_id(text):
    with pytest.raises(RecoveryError, match="--id"):
        parse_letter_id(text)


def test_letters_are_chosen_by_id_or_all():
    letters = [letter(0, 1), letter(0, 2), letter(1, 0)]
    assert [x.id for x in select_letters(letters, ids=["1-0", "0-1"], every=False)] == [
        "1-0",
        "0-1",
    ]
    assert select_letters(letters, ids=[], every=True) == letters


def test_an_unknown_id_or_no_choice_is_an_error():
    with pytest.raises(RecoveryError, match="no dead letter 0-9"):
        select_letters([letter(0, 1)], ids=["0-9"], every=False)
    with pytest.raises(RecoveryError, match="--all"):
        select_letters([letter(0, 1)], ids=[], every=False)


def test_the_list_shows_id_time_record_and_reason():
    [header, row] = format_letters([letter(0, 4)])
    assert header.split() == ["id", "at", "(UTC)", "connection", "record", "reason"]
    assert row.startswith("0-4  2027-01-15 08:00:00  acme")
    assert "poweroffice:Employee:7" in row
    assert row.endswith("email is 71 characters; chargebee allows at most 70")
    assert format_letters([]) == ["no dead letters"]


def test_a_letter_in_full_masks_email_addresses():
    shown = format_letter(letter(0, 4))
    assert '"id": "0-4"' in shown
    assert "kari.nordmann@fjord.no" not in shown
    assert "@fjord.no" in shown
