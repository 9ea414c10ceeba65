"""Which finished messages may be acknowledged: only each partition's finished prefix."""

from __future__ import annotations

from streams.agents.acks import InOrderAcks

P0 = ("upserts.chargebee", 0)
P1 = ("upserts.chargebee", 1)


def test_a_message_finished_first_in_line_is_acknowledged_at_once() -> None:
    acks: InOrderAcks[str] = InOrderAcks()
    ticket = acks.started(P0, 10, "m10")
    assert acks.finished(ticket) == ["m10"]
    assert acks.waiting(P0) == 0


def test_a_message_finished_behind_an_unfinished_one_waits_for_it() -> None:
    acks: InOrderAcks[str] = InOrderAcks()
    first = acks.started(P0, 10, "m10")
    second = acks.started(P0, 11, "m11")
    third = acks.started(P0, 12, "m12")
    assert acks.finished(third) == []
    assert acks.finished(second) == []
    assert acks.finished(first) == ["m10", "m11", "m12"]


def test_only_the_prefix_up_to_the_next_unfinished_message_is_acknowledged() -> None:
    acks: InOrderAcks[int] = InOrderAcks()
    tickets = {offset: acks.started(P0, offset, offset) for offset in range(5)}
    assert acks.finished(tickets[1]) == []
    assert acks.finished(tickets[3]) == []
    assert acks.finished(tickets[0]) == [0, 1]
    assert acks.waiting(P0) == 3
    assert acks.finished(tickets[2]) == [2, 3]
    assert acks.finished(tickets[4]) == [4]


def test_partitions_are_independent() -> None:
    acks: InOrderAcks[str] = InOrderAcks()
    slow = acks.started(P0, 10, "p0@10")
    fast = acks.started(P1, 3, "p1@3")
    assert acks.finished(fast) == ["p1@3"]
    assert acks.waiting(P0) == 1
    assert acks.finished(slow) == ["p0@10"]


def test_offsets_started_out_of_order_are_still_acknowledged_in_offset_order() -> None:
    acks: InOrderAcks[int] = InOrderAcks()
    later = acks.started(P0, 7, 7)
    earlier = acks.started(P0, 5, 5)
    assert acks.finished(later) == []
    assert acks.finished(earlier) == [5, 7]


def test_nothing_of_a_forgotten_partition_is_acknowledged() -> None:
    acks: InOrderAcks[str] = InOrderAcks()
    revoked = acks.started(P0, 10, "p0@10")
    kept = acks.started(P1, 10, "p1@10")
    acks.forget([P0])
    assert acks.finished(revoked) == []
    assert acks.waiting(P0) == 0
    assert acks.finished(kept) == ["p1@10"]


def test_after_forgetting_a_partition_its_messages_start_a_new_line() -> None:
    acks: InOrderAcks[str] = InOrderAcks()
    acks.started(P0, 10, "old")
    acks.forget([P0])
    again = acks.started(P0, 8, "again")
    assert acks.finished(again) == ["again"]
