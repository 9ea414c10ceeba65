"""A worker's own progress after a rebalance: what moved away is no longer waited for."""

from __future__ import annotations

from connectors.polling.runner import PollResult
from streams.runtime import Runtime


def poll_result() -> PollResult:
    return PollResult(
        system="poweroffice", entity="Employee", pages=1, read=1, published=1, high_water=5
    )


def test_a_partition_that_moved_away_is_no_longer_waited_for():
    runtime = Runtime()
    runtime.record_sent("changes", 0, 10, connection="acme", since_ms=1)
    runtime.record_sent("changes", 3, 7, connection="fjord", since_ms=2)
    runtime.record_done("changes", 0, 10)
    assert not runtime.caught_up()
    assert runtime.oldest_pending_ms() == {"fjord": 2}

    runtime.keep_only({"acme"}, {0})

    assert runtime.caught_up()
    assert runtime.oldest_pending_ms() == {}


def test_a_message_sent_after_its_partition_moved_away_is_not_waited_for():
    """A poll under way during a rebalance publishes for a connection that moved away;
    the worker that lost it must not wait for that message for ever (it never sees it
    done) nor count it as that connection's lag."""
    runtime = Runtime()
    runtime.keep_only({"acme"}, {0})

    runtime.record_sent("changes", 3, 7, connection="fjord", since_ms=2)
    runtime.record_sent("changes", 0, 10, connection="acme", since_ms=1)

    assert not runtime.caught_up()
    assert runtime.oldest_pending_ms() == {"acme": 1}
    runtime.record_done("changes", 0, 10)
    assert runtime.caught_up()
    assert runtime.oldest_pending_ms() == {}


def test_the_polls_of_a_connection_that_moved_away_are_forgotten():
    runtime = Runtime()
    runtime.record_polls("acme", [poll_result()], at_ms=1)
    runtime.record_polls("fjord", [poll_result()], at_ms=1)
    runtime.keep_only({"acme"}, {0})
    assert set(runtime.polls) == {"acme"}
