"""A Kafka outage is said once when it starts and once when it ends; the rest is held back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from streams.broker_health import BrokerHealth

BROKER = "kafka.test:9092"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(
    name: str = "aiokafka",
    message: str = "Unable connect to node with id %s: %s",
    args: tuple[object, ...] = (1, "[Errno 111] Connect call failed"),
    level: int = logging.ERROR,
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def health(clock: Clock) -> BrokerHealth:
    return BrokerHealth(BROKER, grace=5.0, clock=clock, epoch_ms=lambda: int(clock.now * 1000))


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "streams.broker_health"]


def test_the_broker_counts_as_reachable_until_something_fails(health):
    assert health.reachable
    assert health.snapshot() == {"reachable": True, "since_ms": 100_000}


def test_the_first_failure_becomes_one_warning_naming_the_broker(health, clock, caplog):
    caplog.set_level(logging.INFO)
    clock.now = 130.0
    assert health.filter(record()) is False
    assert not health.reachable
    assert health.since_ms == 130_000
    (warning,) = said(caplog)
    assert warning.startswith(f"Kafka broker at {BROKER} is unreachable; retrying with backoff")
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_while_unreachable_every_kafka_warning_is_held_back(health, caplog):
    caplog.set_level(logging.INFO)
    health.filter(record())
    repeats = [
        record(message="Unable to update metadata from %s", args=([1],)),
        record("aiokafka.consumer.fetcher", "Failed fetch messages from 1: NodeNotReadyError", ()),
        record("aiokafka.producer.sender", "Got error produce response: %s", ("anything",)),
    ] * 100
    assert not any(health.filter(r) for r in repeats)
    assert health.held_back == 300
    assert len(said(caplog)) == 1


def test_info_lines_of_the_kafka_clients_pass(health):
    health.filter(record())
    assert health.filter(record(message="Discovered coordinator 1", args=(), level=logging.INFO))


def test_other_warnings_pass_while_the_broker_is_reachable(health):
    assert health.filter(record(message="Heartbeat ok but slow", args=(), level=logging.INFO))
    assert health.filter(record(message="Topic %s has no partitions yet", args=("changes",)))
    assert health.reachable


def test_back_again_is_said_once_with_what_was_held_back(health, clock, caplog):
    caplog.set_level(logging.INFO)
    health.filter(record())
    health.filter(record())
    clock.now += 15
    assert health.mark_reachable() is True
    assert health.mark_reachable() is False
    assert health.reachable
    assert health.since_ms == int(clock.now * 1000)
    assert said(caplog)[-1] == (
        f"Kafka broker at {BROKER} is reachable again after 15 s (1 log lines held back)"
    )
    assert len(said(caplog)) == 2


def test_stragglers_right_after_the_return_start_no_new_outage(health, clock, caplog):
    caplog.set_level(logging.INFO)
    health.filter(record())
    health.mark_reachable()
    clock.now += 2
    assert health.filter(record()) is False
    assert health.reachable
    clock.now += 10
    assert health.filter(record()) is False
    assert not health.reachable
    assert health.outages == 2
    assert len(said(caplog)) == 3


def test_our_own_echoes_never_start_an_outage_but_are_held_back_during_one(health):
    echo = record(
        "streams.agents.poll_loop",
        "%s %s: poll failed, retrying next cycle: %s",
        ("poweroffice", "Employees", "Kafka did not acknowledge 3 change event(s)"),
        level=logging.WARNING,
    )
    unrelated = record(
        "streams.agents.poll_loop",
        "%s %s: poll failed, retrying next cycle: %s",
        ("chargebee", "customers", "chargebee HTTP 503"),
        level=logging.WARNING,
    )
    assert health.filter(echo)
    assert health.reachable
    health.filter(record())
    assert health.filter(echo) is False
    assert health.filter(unrelated)


@pytest.fixture
def installed(health: BrokerHealth) -> Iterator[BrokerHealth]:
    health.install()
    try:
        yield health
    finally:
        health.uninstall()


def test_installed_it_filters_the_real_kafka_loggers(installed, caplog):
    caplog.set_level(logging.INFO)
    for _ in range(50):
        logging.getLogger("aiokafka").error("Unable connect to node with id 1: refused")
        logging.getLogger("aiokafka.consumer.group_coordinator").error(
            "Group Coordinator Request failed: NodeNotReadyError"
        )
    assert [r.name for r in caplog.records] == ["streams.broker_health"]


async def test_a_probe_of_a_closed_port_says_unreachable():
    health = BrokerHealth("127.0.0.1:9", probe_timeout_ms=2000)
    assert await health.probe() is False


async def test_watch_marks_the_broker_back_once_a_probe_answers(health, clock, monkeypatch):
    answers = iter([False, True])

    async def probe() -> bool:
        return next(answers)

    monkeypatch.setattr(health, "probe", probe)
    health.mark_unreachable("test")
    watcher = asyncio.create_task(health.watch(tick=0.01))
    try:
        for _ in range(500):
            if health.reachable:
                break
            clock.now += 1
            await asyncio.sleep(0.01)
    finally:
        watcher.cancel()
    assert health.reachable


@pytest.mark.parametrize(
    "message",
    [
        "Heartbeat failed for group g because it is rebalancing",
        "Marking the coordinator dead (node 1)for group g.",
        "Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError",
        "OffsetCommit failed for group g due to group error (CommitFailedError), will rejoin",
    ],
)
def test_a_rebalance_or_a_moving_coordinator_is_no_outage(health, message):
    assert health.filter(record(message=message, args=()))
    assert health.reachable
