"""Cursor arithmetic: the overlap window and de-duplication that keep equal timestamps safe."""

from __future__ import annotations

import pytest

from connectors.polling.cursor import Cursor, RecordMark, advance, select_unseen, window_start


def m(rid: str, version: int, position: int | None = None) -> RecordMark:
    return RecordMark(id=rid, version=version, position=version if position is None else position)


@pytest.mark.parametrize(
    ("high_water", "overlap", "expected"),
    [(None, 10, None), (100, 0, 100), (100, 10, 90), (5, 10, -5)],
)
def test_window_start_reads_back_by_the_overlap(high_water, overlap, expected):
    assert window_start(Cursor(high_water=high_water), overlap) == expected


def test_window_start_refuses_a_negative_overlap():
    with pytest.raises(ValueError, match="overlap"):
        window_start(Cursor(high_water=1), -1)


def test_select_unseen_drops_marks_in_the_cursor_and_repeats_within_the_batch():
    cursor = Cursor(high_water=10, seen={"a@10": 10})
    marks = [m("a", 10), m("b", 10), m("b", 10), m("a", 11)]
    assert select_unseen(cursor, marks) == [m("b", 10), m("a", 11)]


def test_a_new_version_of_a_seen_record_is_not_a_duplicate():
    cursor = Cursor(high_water=10, seen={"a@10": 10})
    assert select_unseen(cursor, [m("a", 12)]) == [m("a", 12)]


def test_advance_moves_the_high_water_to_the_highest_position():
    cursor = advance(Cursor(), [m("a", 3), m("b", 7), m("c", 5)], overlap=0)
    assert cursor.high_water == 7


def test_advance_never_moves_backwards():
    cursor = advance(Cursor(high_water=50), [m("a", 3)], overlap=100)
    assert cursor.high_water == 50


def test_advance_keeps_marks_inside_the_window_and_forgets_the_rest():
    cursor = advance(Cursor(), [m("a", 1), m("b", 8), m("c", 10)], overlap=3)
    assert cursor.high_water == 10
    assert dict(cursor.seen) == {"b@8": 8, "c@10": 10}


def test_advance_prunes_old_marks_as_the_window_moves():
    cursor = Cursor(high_water=10, seen={"b@8": 8, "c@10": 10})
    cursor = advance(cursor, [m("d", 20)], overlap=3)
    assert dict(cursor.seen) == {"d@20": 20}


def test_advance_with_nothing_published_changes_nothing():
    cursor = Cursor(high_water=10, seen={"c@10": 10})
    assert advance(cursor, [], overlap=3) == cursor


def test_records_sharing_the_boundary_timestamp_are_read_again_but_published_once():
    # Page 1 ended inside a run of records sharing position 100; the poller then died.
    cursor = advance(Cursor(), [m("a", 100), m("b", 100)], overlap=1)
    since = window_start(cursor, 1)
    assert since == 99  # the strictly-greater filter returns position 100 again
    page_again = [m("a", 100), m("b", 100), m("c", 100), m("d", 101)]
    assert [x.id for x in select_unseen(cursor, page_again)] == ["c", "d"]


def test_cursor_survives_json_round_trip():
    cursor = Cursor(high_water=42, seen={"x@42": 42})
    assert Cursor.from_json(cursor.to_json()) == cursor


@pytest.mark.parametrize("data", [{"high_water": "10"}, {"seen": {"a@1": "1"}}, {"seen": [1]}])
def test_cursor_from_malformed_json_is_refused(data):
    with pytest.raises(ValueError, match="must"):
        Cursor.from_json(data)
