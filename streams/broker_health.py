"""Whether this process can reach its Kafka broker, said once per change instead of per retry.

While the broker is down every aiokafka client of the worker (Faust's consumer and
producer, the pollers' publisher, the topic admin) logs each failed reconnect and each
request it could not send, several of them per retry — thousands of lines a minute that
say one thing. `BrokerHealth` turns an outage into two lines::

    WARNING  Kafka broker at kafka:9092 is unreachable; retrying with backoff (<first error>)
    INFO     Kafka broker at kafka:9092 is reachable again after 15 s (2345 log lines held back)

How: `install` puts a `logging.Filter` on the Kafka client loggers (`KAFKA_LOGGERS`) and on
ours that report failed publishes (`ECHO_LOGGERS`). The first record that shows the broker
cannot be reached flips the state to unreachable and is replaced by the WARNING above;
while unreachable, every warning of those loggers is held back (counted in `held_back`).
`watch` — a coroutine the worker runs — then probes the broker with backoff (0.5 s up to
2 s) until it answers a metadata request, flips the state back and logs the INFO line. For
`grace` seconds after that, stragglers (requests that failed before the broker returned)
are held back too instead of starting a new outage.

API — one object per process; `streams.worker.run_worker` makes and installs it::

    health = BrokerHealth("kafka:9092")
    health.install()               # filter the loggers (idempotent); uninstall() undoes it
    health.reachable  -> bool      # False from the first failure until a probe answers
    health.since_ms   -> int       # epoch milliseconds when the current state began
    health.outages    -> int       # how many times the broker became unreachable
    health.held_back  -> int       # log records suppressed so far
    health.snapshot() -> {"reachable": bool, "since_ms": int}    # ready for a JSON status
    await health.watch()           # run while the worker runs; probes only when unreachable
    health.mark_unreachable(cause) / health.mark_reachable()     # True when the state changed

A status view must never report "converged" while `reachable` is False. The object is safe
to use from several threads (Faust runs its consumer in a thread of its own).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
)

__all__ = ["ECHO_LOGGERS", "KAFKA_LOGGERS", "BrokerHealth"]

log = logging.getLogger(__name__)

#: The loggers of aiokafka's modules and of Faust's Kafka transport.
KAFKA_LOGGERS = (
    "aiokafka",
    "aiokafka.admin.client",
    "aiokafka.cluster",
    "aiokafka.conn",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.producer",
    "aiokafka.producer.sender",
    "faust.transport.consumer",
    "faust.transport.producer",
    "faust.transport.drivers.aiokafka",
)
#: Our loggers that repeat a Kafka failure (a poll whose events could not be published).
#: They never start an outage; while one lasts, their lines about it are held back.
ECHO_LOGGERS = ("streams.agents.poll_loop", "streams.app", "connectors.polling.publisher")

#: Words of the messages aiokafka and Faust log when the broker does not answer. Only
#: connection failures: a rebalance or a coordinator moving is not an outage.
_OUTAGE_WORDS = (
    "unable connect",
    "unable to connect",
    "unable to bootstrap",
    "unable to update metadata",
    "unable to request metadata",
    "connect call failed",
    "connection refused",
    "connection reset",
    "kafkaconnectionerror",
    "nodenotreadyerror",
    "requesttimedouterror",
    "kafkatimeouterror",
    "did not acknowledge",
    "cannot reach kafka",
)
#: Exceptions that say the same when a record carries one.
_OUTAGE_ERRORS = (
    KafkaConnectionError,
    NodeNotReadyError,
    RequestTimedOutError,
    KafkaTimeoutError,
    ConnectionError,
)

PROBE_FIRST_DELAY = 0.5
PROBE_MAX_DELAY = 2.0


def _epoch_ms() -> int:
    return int(time.time() * 1000)


def _says_outage(record: logging.LogRecord) -> bool:
    if record.exc_info and isinstance(record.exc_info[1], _OUTAGE_ERRORS):
        return True
    try:
        text = record.getMessage().lower()
    except (TypeError, ValueError):  # a malformed record; let logging report it
        return False
    return any(word in text for word in _OUTAGE_WORDS)


class BrokerHealth(logging.Filter):
    """The broker's reachability as this process sees it; a log filter that says it once."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        grace: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        epoch_ms: Callable[[], int] = _epoch_ms,
        probe_timeout_ms: int = 5000,
    ) -> None:
        super().__init__()
        self.bootstrap_servers = bootstrap_servers
        self._grace = grace
        self._clock = clock
        self._epoch_ms = epoch_ms
        self._probe_timeout_ms = probe_timeout_ms
        self._lock = threading.Lock()
        self._reachable = True
        self._since_ms = epoch_ms()
        self._down_at = 0.0
        self._back_at: float | None = None
        self._held_back = 0
        self._held_back_at_outage = 0
        self.outages = 0
        self._installed: list[logging.Logger] = []
        self._echo = frozenset(ECHO_LOGGERS)

    # -- the state ----------------------------------------------------------------------------

    @property
    def reachable(self) -> bool:
        return self._reachable

    @property
    def since_ms(self) -> int:
        return self._since_ms

    @property
    def held_back(self) -> int:
        return self._held_back

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"reachable": self._reachable, "since_ms": self._since_ms}

    def mark_unreachable(self, cause: str = "") -> bool:
        """The broker did not answer; logs the WARNING when this starts an outage."""
        with self._lock:
            if not self._reachable:
                return False
            self._reachable = False
            self._since_ms = self._epoch_ms()
            self._down_at = self._clock()
            self._held_back_at_outage = self._held_back
            self.outages += 1
        detail = f" ({cause[:200]})" if cause else ""
        log.warning(
            "Kafka broker at %s is unreachable; retrying with backoff%s",
            self.bootstrap_servers,
            detail,
        )
        return True

    def mark_reachable(self) -> bool:
        """The broker answered; logs the INFO line when this ends an outage."""
        with self._lock:
            if self._reachable:
                return False
            self._reachable = True
            self._since_ms = self._epoch_ms()
            self._back_at = self._clock()
            seconds = self._back_at - self._down_at
            held = self._held_back - self._held_back_at_outage
        log.info(
            "Kafka broker at %s is reachable again after %.0f s (%d log lines held back)",
            self.bootstrap_servers,
            seconds,
            held,
        )
        return True

    # -- the log filter -----------------------------------------------------------------------

    def install(
        self,
        kafka_loggers: Iterable[str] = KAFKA_LOGGERS,
        echo_loggers: Iterable[str] = ECHO_LOGGERS,
    ) -> None:
        """Filter the named loggers' records through this object (once each)."""
        for name in (*kafka_loggers, *echo_loggers):
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)
                self._installed.append(logger)
        self._echo = frozenset(echo_loggers)

    def uninstall(self) -> None:
        for logger in self._installed:
            logger.removeFilter(self)
        self._installed.clear()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        outage = _says_outage(record)
        with self._lock:
            if not self._reachable or (outage and self._in_grace()):
                if outage or record.name not in self._echo:
                    self._held_back += 1
                    return False
                return True
        if not outage or record.name in self._echo:
            return True
        if not self.mark_unreachable(record.getMessage()):
            with self._lock:  # another thread started the outage meanwhile
                self._held_back += 1
        return False

    def _in_grace(self) -> bool:
        return self._back_at is not None and self._clock() - self._back_at < self._grace

    # -- probing ------------------------------------------------------------------------------

    async def probe(self) -> bool:
        """Whether the broker answers a metadata request now."""
        client = AIOKafkaClient(
            bootstrap_servers=self.bootstrap_servers,
            client_id="ledgerlink-broker-probe",
            request_timeout_ms=self._probe_timeout_ms,
        )
        try:
            await client.bootstrap()
        except (KafkaError, OSError, TimeoutError):
            return False
        finally:
            await client.close()
        return True

    async def watch(self, *, tick: float = 0.25) -> None:
        """Run until cancelled: while the broker is unreachable, probe it with backoff and
        mark it reachable once it answers."""
        delay = PROBE_FIRST_DELAY
        next_probe = 0.0
        while True:
            if self._reachable:
                delay = PROBE_FIRST_DELAY
                next_probe = self._clock() + delay
            elif self._clock() >= next_probe:
                if await self.probe():
                    self.mark_reachable()
                else:
                    delay = min(PROBE_MAX_DELAY, delay * 2)
                    next_probe = self._clock() + delay
            await asyncio.sleep(tick)
