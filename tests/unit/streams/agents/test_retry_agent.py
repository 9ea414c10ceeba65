"""The retry agent: a wake-up tries its record again, in the record's own lane."""

from __future__ import annotations

from typing import Any, cast

from streams.agents.plumbing import Received
from streams.agents.retry_agent import RetryAgent, wake_up, wake_up_lane
from streams.runtime import Runtime

TOPIC = "upserts.retry"


class FakeSink:
    served = frozenset({"acme"})

    def __init__(self) -> None:
        self.retried: list[tuple[str, str]] = []

    async def retry(self, connection: str, left_key: str) -> None:
        self.retried.append((connection, left_key))


def agent(sink: FakeSink, runtime: Runtime) -> RetryAgent:
    return RetryAgent(sinks=cast(Any, {"chargebee": sink}), runtime=runtime)


def test_a_wake_up_s_lane_is_its_record_on_its_target() -> None:
    received = Received(TOPIC, 0, 1, b"acme", wake_up("acme", "chargebee", "poweroffice:E:7"))
    assert wake_up_lane(received) == ("acme", "chargebee", "poweroffice:E:7")


def test_a_malformed_wake_up_has_no_lane() -> None:
    assert wake_up_lane(Received(TOPIC, 0, 1, b"acme", b"{")) is None
    assert wake_up_lane(Received(TOPIC, 0, 1, b"acme", b"{}")) is None


async def test_a_wake_up_retries_its_record_and_is_counted_done() -> None:
    sink, runtime = FakeSink(), Runtime()
    value = wake_up("acme", "chargebee", "poweroffice:E:7")
    await agent(sink, runtime).handle(Received(TOPIC, 2, 5, b"acme", value))
    assert sink.retried == [("acme", "poweroffice:E:7")]
    assert runtime.done == {(TOPIC, 2): 5}


async def test_a_malformed_wake_up_retries_nothing_and_is_counted_done() -> None:
    sink, runtime = FakeSink(), Runtime()
    await agent(sink, runtime).handle(Received(TOPIC, 0, 3, b"acme", b"not json"))
    assert sink.retried == []
    assert runtime.done == {(TOPIC, 0): 3}
