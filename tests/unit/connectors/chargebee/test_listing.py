"""The simulator's list semantics: strict after/before, inclusive between, keyset offsets."""

from __future__ import annotations

import pytest

from connectors.chargebee.forms import decode_form
from connectors.chargebee.listing import (
    Kind,
    ListingError,
    Row,
    compile_filters,
    paginate,
    parse_limit,
    parse_sort,
)

FIELDS: dict[str, Kind] = {"id": "string", "updated_at": "timestamp"}
ROWS = [Row(seq, {"id": f"c{seq}", "updated_at": 100 + seq // 2}) for seq in range(1, 8)]


def ids(rows):
    return [row["id"] for row in rows]


def matching(query):
    predicates = compile_filters(decode_form(query), FIELDS)
    return [row.data for row in ROWS if all(p(row.data) for p in predicates)]


def test_updated_at_after_is_strict():
    assert ids(matching([("updated_at[after]", "101")])) == ["c4", "c5", "c6", "c7"]


def test_updated_at_before_is_strict():
    assert ids(matching([("updated_at[before]", "101")])) == ["c1"]


def test_updated_at_between_includes_both_ends():
    assert ids(matching([("updated_at[between]", "[101,102]")])) == ["c2", "c3", "c4", "c5"]


def test_id_starts_with_and_in():
    assert ids(matching([("id[in]", '["c1","c7","zz"]')])) == ["c1", "c7"]
    assert ids(matching([("id[starts_with]", "c7")])) == ["c7"]


def test_a_record_without_updated_at_never_matches_an_updated_at_filter():
    predicates = compile_filters({"updated_at": {"after": "0"}}, FIELDS)
    assert not predicates[0]({"id": "old"})


def test_an_unknown_operator_is_refused():
    with pytest.raises(ListingError):
        compile_filters({"updated_at": {"is": "1"}}, FIELDS)


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_a_limit_outside_1_to_100_is_refused(limit):
    with pytest.raises(ListingError):
        parse_limit(limit)


def test_the_default_limit_is_ten():
    assert parse_limit(None) == 10


def test_sort_by_names_direction_and_attribute():
    allowed = frozenset({"updated_at"})
    assert parse_sort({"asc": "updated_at"}, allowed=allowed, default=("x", "desc")) == (
        "updated_at",
        "asc",
    )


def test_paging_visits_every_row_once_across_equal_timestamps():
    seen: list[str] = []
    offset = None
    while True:
        items, offset = paginate(ROWS, sort=("updated_at", "asc"), limit=2, offset=offset)
        seen.extend(ids(items))
        if offset is None:
            break
    assert seen == [f"c{i}" for i in range(1, 8)]


def test_the_last_page_has_no_next_offset():
    _, offset = paginate(ROWS, sort=("updated_at", "asc"), limit=7, offset=None)
    assert offset is None


def test_a_forged_offset_is_refused():
    with pytest.raises(ListingError):
        paginate(ROWS, sort=("updated_at", "asc"), limit=2, offset="garbage")
