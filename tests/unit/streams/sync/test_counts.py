"""Counts kept as the tables are written: they must always equal a count from scratch."""

from __future__ import annotations

import random
from collections.abc import Iterator, MutableMapping
from typing import Any

from streams.sync.counts import (
    CountedMapping,
    Tally,
    link_buckets,
    link_group,
    report_buckets,
)


def link_value(flow: str, state: str) -> dict[str, Any]:
    return {"flow": flow, "state": state, "connection": "c"}


def counted() -> tuple[dict[str, Any], Tally, CountedMapping]:
    base: dict[str, Any] = {}
    tally = Tally(link_buckets, kinds=("link",))
    tally.rebuild(base.items())
    return base, tally, CountedMapping(base, tally)


def test_states_fall_into_the_status_groups():
    assert [link_group(s) for s in ("linked", "creating", "awaiting_entity")] == [
        "linked",
        "pending",
        "pending",
    ]
    assert [link_group(s) for s in ("dead_letter", "unlinked")] == ["dead_letter", "unlinked"]


def test_a_link_counts_in_its_flow_and_a_creating_one_also_as_creating():
    _, tally, table = counted()
    table["c|link|poweroffice:Employee:1"] = link_value("employee", "creating")
    assert tally.of("c") == {("flow", "employee", "pending"): 1, ("creating",): 1}


def test_a_state_change_moves_the_count_from_the_old_group_to_the_new():
    _, tally, table = counted()
    table["c|link|a"] = link_value("employee", "creating")
    table["c|link|a"] = link_value("employee", "linked")
    table["c|link|a"] = link_value("employee", "unlinked")
    assert tally.of("c") == {("flow", "employee", "unlinked"): 1}


def test_writing_the_same_value_again_counts_nothing_twice():
    _, tally, table = counted()
    for _ in range(3):  # a replayed event rewrites what is there
        table["c|link|a"] = link_value("employee", "linked")
    assert tally.of("c") == {("flow", "employee", "linked"): 1}


def test_a_deleted_entry_stops_counting():
    _, tally, table = counted()
    table["c|link|a"] = link_value("employee", "linked")
    del table["c|link|a"]
    assert tally.of("c") == {}


def test_connections_are_counted_apart():
    _, tally, table = counted()
    table["acme|link|a"] = link_value("employee", "linked")
    table["fjord|link|a"] = link_value("employee", "creating")
    assert tally.of("acme") == {("flow", "employee", "linked"): 1}
    assert tally.of("fjord")[("flow", "employee", "pending")] == 1
    assert tally.total(("creating",)) == 1
    assert tally.of("nobody") == {}


def test_other_kinds_of_key_are_neither_counted_nor_read():
    reads: list[str] = []

    class Spy(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            reads.append(key)
            return super().get(key, default)

    base = Spy()
    tally = Tally(link_buckets, kinds=("link",))
    tally.rebuild(())
    table = CountedMapping(base, tally)
    table["c|right|chargebee:customer:x"] = "poweroffice:Employee:1"
    table["c|link|a"] = link_value("employee", "linked")
    assert reads == ["c|link|a"]
    assert tally.of("c") == {("flow", "employee", "linked"): 1}


def test_an_invalid_tally_ignores_writes_until_rebuilt_from_the_table():
    base, tally, table = counted()
    table["c|link|a"] = link_value("employee", "linked")
    tally.invalidate()  # a rebalance: recovery writes into the store, unseen
    base["c|link|b"] = link_value("employee", "creating")
    table["c|link|a"] = link_value("employee", "unlinked")
    assert not tally.valid
    tally.rebuild(base.items())
    assert tally.of("c") == {
        ("flow", "employee", "unlinked"): 1,
        ("flow", "employee", "pending"): 1,
        ("creating",): 1,
    }


def test_after_any_writes_the_counts_equal_a_count_from_scratch():
    base, tally, table = counted()
    rng = random.Random(7)
    states = ("linked", "creating", "awaiting_entity", "dead_letter", "unlinked")
    for _ in range(2000):
        key = f"{rng.choice('ab')}|link|{rng.randrange(40)}"
        if rng.random() < 0.1:
            if key in table:
                del table[key]
        else:
            table[key] = link_value(rng.choice(("employee", "company")), rng.choice(states))
    fresh = Tally(link_buckets, kinds=("link",))
    fresh.rebuild(base.items())
    assert tally.of("a") == fresh.of("a")
    assert tally.of("b") == fresh.of("b")
    assert sum(tally.of("a").values()) > 0


def test_reports_count_dead_letters_conflicts_and_actions_by_openness():
    base: dict[str, Any] = {}
    tally = Tally(report_buckets, kinds=("dead-letter", "conflict", "action"))
    tally.rebuild(base.items())
    table = CountedMapping(base, tally)
    table["c|dead-letter|e1"] = {"reason": "too long"}
    table["c|conflict|x1"] = {"field": "email"}
    table["c|action|a1"] = {"id": "a1", "resolved": False}
    table["c|action|a2"] = {"id": "a2", "resolved": False}
    table["c|action|a2"] = {"id": "a2", "resolved": True}
    assert tally.of("c") == {
        ("dead-letter",): 1,
        ("conflict",): 1,
        ("action", "open"): 1,
        ("action", "resolved"): 1,
        ("open-action", "a1"): 1,
    }


def test_the_counted_mapping_reads_and_iterates_like_its_table():
    base, _, table = counted()
    table["c|link|a"] = link_value("employee", "linked")
    assert "c|link|a" in table
    assert table.get("missing") is None
    assert list(table) == ["c|link|a"]
    assert len(table) == 1
    assert dict(table.items()) == base


class _Counting(MutableMapping[str, Any]):
    """A table that counts its full scans, to show a status read does none."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.scans = 0

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        self.scans += 1
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def test_reading_valid_counts_never_scans_the_table():
    base = _Counting()
    tally = Tally(link_buckets, kinds=("link",))
    tally.rebuild(())
    table = CountedMapping(base, tally)
    for n in range(100):
        table[f"c|link|{n}"] = link_value("employee", "linked")
    assert tally.of("c")[("flow", "employee", "linked")] == 100
    assert base.scans == 0
