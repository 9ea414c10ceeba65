"""TIME of `replay --since`: ISO-8601 instants and durations back from now."""

from __future__ import annotations

import pytest

from streams.recovery import RecoveryError
from streams.recovery.timespec import parse_since

NOW = 1_800_000_000_000  # ms


@pytest.mark.parametrize(
    ("text", "seconds_back"),
    [("90m", 5400), ("1h", 3600), ("1h30m", 5400), ("2d", 172_800), ("45s", 45), ("1w", 604_800)],
)
def test_a_duration_counts_back_from_now(text, seconds_back):
    assert parse_since(text, now_ms=NOW) == NOW - seconds_back * 1000


@pytest.mark.parametrize(
    "text",
    [
        "2027-01-15T07:00:00Z",
        "2027-01-15T08:00:00+01:00",
        "2027-01-15T07:00:00",
        " 2027-01-15T07:00Z",
    ],
)
def test_an_iso_time_is_an_instant_and_utc_without_a_zone(text):
    # NOW is 2027-01-15T08:00:00Z
    assert parse_since(text, now_ms=NOW) == NOW - 3600 * 1000


@pytest.mark.parametrize("text", ["", "yesterday", "90", "1x", "0m", "2026-13-01T00:00:00Z"])
def test_anything_else_is_a_one_line_error_naming_the_flag(text):
    with pytest.raises(RecoveryError) as caught:
        parse_since(text, now_ms=NOW)
    assert "--since" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_time_in_the_future_is_refused():
    with pytest.raises(RecoveryError, match="future"):
        parse_since("2099-01-01T00:00:00Z", now_ms=NOW)
