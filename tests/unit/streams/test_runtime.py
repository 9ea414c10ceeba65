"""A worker's own progress after a rebalance: what moved away is no longer waited for."""

from __future__ import annotations

from connectors.polling.runner import PollResult
from streams.runtime import RefusedKeys, Runtime


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


def test_a_repeated_refusal_keeps_its_first_time_and_the_latest_next_try():
    runtime = Runtime()
    runtime.record_refused("a", "poweroffice", at_ms=1_000, retry_at_ms=301_000, message="m1")
    runtime.record_refused("a", "poweroffice", at_ms=301_500, retry_at_ms=601_500, message="m2")
    assert runtime.refused == {
        "a": {"poweroffice": RefusedKeys(since_ms=1_000, retry_at_ms=601_500, message="m2")}
    }


def test_keys_accepted_again_clear_only_that_systems_refusal():
    runtime = Runtime()
    runtime.record_refused("a", "poweroffice", at_ms=1, retry_at_ms=2, message="po")
    runtime.record_refused("a", "chargebee", at_ms=1, retry_at_ms=2, message="cb")
    runtime.record_accepted("a", "poweroffice")
    assert set(runtime.refused["a"]) == {"chargebee"}
    runtime.record_accepted("a", "chargebee")
    assert runtime.refused == {}
    runtime.record_refused("a", "chargebee", at_ms=9, retry_at_ms=10, message="cb")
    assert runtime.refused["a"]["chargebee"].since_ms == 9  # a new refusal, a new since


def test_the_refusals_of_a_connection_that_moved_away_are_forgotten():
    runtime = Runtime()
    runtime.record_refused("a", "poweroffice", at_ms=1, retry_at_ms=2, message="a")
    runtime.record_refused("b", "poweroffice", at_ms=1, retry_at_ms=2, message="b")
    runtime.keep_only({"b"}, {0})
    assert set(runtime.refused) == {"b"}
