"""Timestamps as 100-ns ticks: parsing any offset and 0-7 digits, formatting with 7 digits."""

from __future__ import annotations

import pytest

from connectors.poweroffice.timestamps import TICKS_PER_SECOND, format_timestamp, parse_timestamp

BASE = 1_697_713_500 * TICKS_PER_SECOND  # 2023-10-19T11:05:00Z


@pytest.mark.parametrize(
    ("text", "ticks"),
    [
        ("2023-10-19T11:05:00.1234567Z", BASE + 1_234_567),
        ("2023-10-19T11:05:00Z", BASE),
        ("2023-10-19T11:05:00.1Z", BASE + 1_000_000),
        ("2023-10-19T11:05:00.123456+00:00", BASE + 1_234_560),
        ("2023-10-19 11:05:00.123456+00:00", BASE + 1_234_560),
        ("2023-10-19T13:05:00.0000001+02:00", BASE + 1),
        ("2023-10-19T10:35:00.5-00:30", BASE + 5_000_000),
        ("2023-10-19T11:05:00.9999999z", BASE + 9_999_999),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.9999999Z", -1),
    ],
)
def test_parse_timestamp_reads_any_offset_and_up_to_seven_digits(text: str, ticks: int) -> None:
    assert parse_timestamp(text) == ticks


@pytest.mark.parametrize(
    ("ticks", "text"),
    [
        (BASE + 1_234_567, "2023-10-19T11:05:00.1234567Z"),
        (BASE, "2023-10-19T11:05:00.0000000Z"),
        (BASE + 1, "2023-10-19T11:05:00.0000001Z"),
        (0, "1970-01-01T00:00:00.0000000Z"),
        (-1, "1969-12-31T23:59:59.9999999Z"),
    ],
)
def test_format_timestamp_always_writes_seven_digits_in_utc(ticks: int, text: str) -> None:
    assert format_timestamp(ticks) == text


@pytest.mark.parametrize("ticks", [0, 1, BASE, BASE + 9_999_999, -12_345, 253_402_300_799 * 10**7])
def test_format_then_parse_round_trips(ticks: int) -> None:
    assert parse_timestamp(format_timestamp(ticks)) == ticks


@pytest.mark.parametrize(
    "text",
    [
        "2023-10-19T11:05:00",  # no offset: ambiguous
        "2023-10-19T11:05:00.12345678Z",  # eight digits
        "2023-13-19T11:05:00Z",
        "2023-10-19T11:05:00+25:00",
        "yesterday",
        "",
    ],
)
def test_parse_timestamp_refuses_what_is_not_a_timestamp_with_offset(text: str) -> None:
    with pytest.raises(ValueError, match=r"timestamp|offset"):
        parse_timestamp(text)
