"""The worker's Prometheus metrics (docs/worker.md, design §6), served at `GET /metrics`.

One `CollectorRegistry` per engine, never prometheus-client's global one, so tests can
build several engines in one process. Events are counted where they happen (the sinks,
the join agent, every HTTP attempt through `connectors.transport.observe`); gauges of
state — sync lag, poll age, consumer lag and offsets, what the tables hold — are
computed at scrape time by `_StateCollector` from the runtime and the tables.

Sync lag of a connection: the age of the oldest change this process saw (polled) and
has not yet applied to the other side — the oldest change event or upsert command sent
on but not yet done (`Runtime.pending`, timed from when the poller saw the change) and
the oldest parked command (`first_failed_ms`); 0 when nothing is in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.runtime import Runtime
from streams.sync.parking import Parked

__all__ = ["LATENCY_BUCKETS", "PREFIX", "Metrics", "TableCounts"]

PREFIX = "ledgerlink_"
#: Seconds from the change on the source side to the write on the target side.
LATENCY_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 6 * 3600, 24 * 3600)


class TableCounts:
    """What the worker's tables hold for one connection, read at scrape time."""

    def __init__(
        self,
        *,
        parked: Callable[[], Iterable[Parked]],
        dead_letters: Callable[[str], int],
        conflicts: Callable[[str], int],
        open_actions: Callable[[str], int],
    ) -> None:
        self.parked = parked
        self.dead_letters = dead_letters
        self.conflicts = conflicts
        self.open_actions = open_actions


class Metrics:
    def __init__(
        self,
        *,
        runtime: Runtime,
        served: Sequence[str],
        clock_ms: Callable[[], int],
        tables: TableCounts | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.runtime = runtime
        self.served = tuple(served)
        self.clock_ms = clock_ms
        self.tables = tables
        #: (topic, partition) -> messages not yet processed; refreshed before each scrape.
        self.consumer_lag: dict[tuple[str, int], int] = {}
        r = self.registry
        self.writes = Counter(
            PREFIX + "writes",
            "Upsert commands carried out by the sinks, by outcome: written, unchanged "
            "(the target held the values already), skipped, rejected (dead letter), "
            "failed (parked for a retry).",
            ["connection", "system", "outcome"],
            registry=r,
        )
        self.echoes = Counter(
            PREFIX + "echoes_suppressed",
            "Change events dropped by the join agent as the echo of our own write (or a replay).",
            ["connection"],
            registry=r,
        )
        self.api_requests = Counter(
            PREFIX + "api_requests",
            "HTTP attempts to the systems' APIs, by status ('error' when the connection failed).",
            ["system", "status"],
            registry=r,
        )
        self.rate_limited = Counter(
            PREFIX + "api_rate_limited",
            "HTTP 429 answers from the systems' APIs.",
            ["system"],
            registry=r,
        )
        self.retries = Counter(
            PREFIX + "api_retries",
            "HTTP attempts that are retried (429, 5xx, dropped connections).",
            ["system"],
            registry=r,
        )
        self.latency = Histogram(
            PREFIX + "sync_latency_seconds",
            "From a change on the source side (its modification time) to our write of it "
            "on the target side.",
            ["connection", "system"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        r.register(_StateCollector(self))

    def observe_request(self, system: str, status: int | None, retrying: bool) -> None:
        """A `connectors.transport.observe` observer."""
        self.api_requests.labels(system, "error" if status is None else str(status)).inc()
        if status == 429:
            self.rate_limited.labels(system).inc()
        if retrying:
            self.retries.labels(system).inc()

    def wrote(
        self, connection: str, system: str, outcome: str, *, source_ts_ms: int | None = None
    ) -> None:
        self.writes.labels(connection, system, outcome).inc()
        if outcome == "written" and source_ts_ms is not None and source_ts_ms > 0:
            seconds = max(0.0, (self.clock_ms() - source_ts_ms) / 1000)
            self.latency.labels(connection, system).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def sync_lag_seconds(self, parked: Iterable[Parked] = ()) -> dict[str, float]:
        now = self.clock_ms()
        oldest = dict(self.runtime.oldest_pending_ms())
        for entry in parked:
            if entry.commands:
                since = oldest.get(entry.connection, entry.first_failed_ms)
                oldest[entry.connection] = min(since, entry.first_failed_ms)
        return {
            conn: max(0.0, (now - oldest[conn]) / 1000) if conn in oldest else 0.0
            for conn in self.served
        }


class _StateCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.m
        parked = list(m.tables.parked()) if m.tables is not None else []
        lag = GaugeMetricFamily(
            PREFIX + "sync_lag_seconds",
            "Age of the oldest change seen but not yet applied to the other side "
            "(in flight or parked); 0 when none.",
            labels=["connection"],
        )
        for conn, seconds in m.sync_lag_seconds(parked).items():
            lag.add_metric([conn], seconds)
        yield lag

        ages = GaugeMetricFamily(
            PREFIX + "poll_age_seconds",
            "Seconds since each change source was last polled.",
            labels=["connection", "source"],
        )
        now = m.clock_ms()
        for conn in m.served:
            for source, poll in sorted(m.runtime.polls.get(conn, {}).items()):
                ages.add_metric([conn, source], max(0.0, (now - poll.last_poll_ms) / 1000))
        yield ages

        consumer = GaugeMetricFamily(
            PREFIX + "consumer_lag_messages",
            "Messages on each consumed topic partition not yet processed by this worker.",
            labels=["topic", "partition"],
        )
        for (topic, partition), waiting in sorted(m.consumer_lag.items()):
            consumer.add_metric([topic, str(partition)], waiting)
        yield consumer

        # Beside the lag, what tells a stalled consumer from a busy one (as Burrow judges
        # it): the offset stands still. Only partitions processed since the start have one.
        offsets = GaugeMetricFamily(
            PREFIX + "consumer_offset",
            "Next offset this worker will process on each consumed partition (what Faust "
            "commits for the group); absent until it processed one there since it started.",
            labels=["topic", "partition"],
        )
        for topic, partition in sorted(m.consumer_lag):
            done = m.runtime.done.get((topic, partition))
            if done is not None:
                offsets.add_metric([topic, str(partition)], done + 1)
        yield offsets

        if m.tables is None:
            return
        yield _per_connection(
            "parked_commands",
            "Upsert commands parked, waiting for their target to work again.",
            m.served,
            _count_by_connection(parked),
        )
        yield _per_connection(
            "dead_letters",
            "Dead letters recorded for the connection.",
            m.served,
            {c: m.tables.dead_letters(c) for c in m.served},
        )
        yield _per_connection(
            "conflicts",
            "Conflicts recorded for the connection (both sides changed the same field).",
            m.served,
            {c: m.tables.conflicts(c) for c in m.served},
        )
        yield _per_connection(
            "action_items_open",
            "Open action items: what a person must do for the sync to go on.",
            m.served,
            {c: m.tables.open_actions(c) for c in m.served},
        )


def _count_by_connection(parked: Iterable[Parked]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in parked:
        counts[entry.connection] = counts.get(entry.connection, 0) + len(entry.commands)
    return counts


def _per_connection(
    name: str, doc: str, served: Sequence[str], values: Mapping[str, int]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(PREFIX + name, doc, labels=["connection"])
    for conn in served:
        family.add_metric([conn], values.get(conn, 0))
    return family
