"""Builds the Faust app of one worker: topics, the two tables, the join and sink agents,
the poll task and the status pages. Nothing here runs until a `faust.Worker` starts it.

State (design §3): the link table (`links`) and the report table (`reports`) are Faust
tables on RocksDB through rocksdict, changelogged to Kafka and recovered from there after
a restart or a lost disk. Every topic is keyed by the connection id, and all topics and
tables have the same number of partitions, so a connection's events, upserts and state
share one partition and one worker. No global tables.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust

from connectors.chargebee.client import ChargebeeClient
from connectors.chargebee.poller import BusinessEntityChangeSource, CustomerChangeSource
from connectors.events import ChangeEvent, EventDecodeError
from connectors.exceptions import TransientApiError
from connectors.polling.cursor_store import CursorStore
from connectors.polling.publisher import ChangePublisher, PublishError
from connectors.polling.runner import ChangeSource
from connectors.poweroffice.client import PowerOfficeClient
from connectors.poweroffice.deletions import DeletionWatch
from connectors.poweroffice.poller import poweroffice_sources
from mappings import Flow, load_flows
from streams.agents.poll_loop import poll_cycle
from streams.agents.sinks import SinkResult, Sinks
from streams.clients import chargebee_client, poweroffice_client
from streams.config import ConnectionSettings, Settings
from streams.config.topics import TopicNames
from streams.runtime import Runtime
from streams.status import links_view, status_view
from streams.sync.join import Joiner
from streams.sync.links import LinkTable
from streams.sync.messages import Upsert
from streams.sync.reports import ReportBook
from streams.sync.staging import StagedMapping

__all__ = ["Engine", "build_engine", "now_ms"]

log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class ConnectionClients:
    """The API clients of one connection, made in the worker's event loop on first use."""

    settings: ConnectionSettings
    _poweroffice: PowerOfficeClient | None = None
    _chargebee: ChargebeeClient | None = None

    @property
    def poweroffice(self) -> PowerOfficeClient:
        if self._poweroffice is None:
            self._poweroffice = poweroffice_client(self.settings.poweroffice)
        return self._poweroffice

    @property
    def chargebee(self) -> ChargebeeClient:
        if self._chargebee is None:
            self._chargebee = chargebee_client(self.settings.chargebee)
        return self._chargebee

    async def aclose(self) -> None:
        if self._poweroffice is not None:
            await self._poweroffice.aclose()
        if self._chargebee is not None:
            await self._chargebee.aclose()


@dataclass
class Engine:
    settings: Settings
    app: faust.App
    names: TopicNames
    flows: Sequence[Flow]
    runtime: Runtime = field(default_factory=Runtime)


def _broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{server.strip()}" for server in bootstrap.split(","))


async def _until_done(
    what: str, attempt: Callable[[], Awaitable[SinkResult]], *, cap: float = 30.0
) -> SinkResult:
    """Retry a sink write through transient failures: a command is never dropped."""
    delay = 1.0
    while True:
        try:
            return await attempt()
        except TransientApiError as exc:
            log.warning("%s failed (%s); retrying in %.0fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(cap, delay * 2)


def build_engine(settings: Settings, *, flows: Sequence[Flow] | None = None) -> Engine:
    flows = list(flows) if flows is not None else load_flows()
    names = TopicNames(settings.topic_prefix)
    partitions = settings.partitions
    app = faust.App(
        names.app_id,
        broker=_broker_url(settings.kafka_bootstrap_servers),
        store="rocksdb://",
        datadir=str(settings.data_dir / "faust"),
        topic_partitions=partitions,
        topic_replication_factor=settings.replication_factor,
        web_enabled=True,
        web_bind="127.0.0.1",
        web_port=settings.web_port,
        web_host="127.0.0.1",
        broker_commit_interval=1.0,
        # A worker that died (SIGKILL, lost host) leaves the group after 10 s instead of
        # 60, so a restarted worker takes its partitions over quickly.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        stream_wait_empty=False,  # every effect is idempotent; shutdown need not drain
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        table_standby_replicas=0,
    )
    engine = Engine(settings=settings, app=app, names=names, flows=flows)

    def topic(name: str) -> Any:
        return app.topic(
            name,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
        )

    changes = topic(names.changes)
    upserts_cb = topic(names.upserts_chargebee)
    upserts_po = topic(names.upserts_poweroffice)
    deadletters = topic(names.deadletters)
    actions = topic(names.actions)
    # Keys are text and values JSON objects (the app's default JSON serializer); RocksDB
    # through rocksdict, named so that an installed python-rocksdb is never picked instead.
    # (Faust pops the driver out of the options it is given: one dict per table.)
    links_table = app.Table(
        "links", partitions=partitions, key_type=str, options={"driver": "rocksdict"}
    )
    reports_table = app.Table(
        "reports", partitions=partitions, key_type=str, options={"driver": "rocksdict"}
    )
    links = LinkTable(links_table)
    reports = ReportBook(reports_table)
    flow_map = {flow.name: flow for flow in flows}
    sinks = Sinks(flows=flow_map, links=links, reports=reports, clock_ms=now_ms)
    clients = {c.id: ConnectionClients(c) for c in settings.connections}
    runtime = engine.runtime

    async def send(target: Any, key: bytes, value: bytes) -> Any:
        return await target.send(key=key, value=value)

    @app.agent(changes, name="ledgerlink.join")
    async def join(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            try:
                change = ChangeEvent.from_bytes(event.value)
            except EventDecodeError as exc:
                log.error(
                    "skipping a message that is not a change event at %s: %s", message.offset, exc
                )
                continue
            async with sinks.lock(change.connection):
                staged_links = StagedMapping(links_table)
                staged_reports = StagedMapping(reports_table)
                joiner = Joiner(
                    flows, LinkTable(staged_links), ReportBook(staged_reports), clock_ms=now_ms
                )
                result = joiner.join(change)
                commands = []  # consumed by our sinks: tracked for convergence
                reports_sent = []
                for upsert in result.upserts:
                    target = upserts_cb if upsert.target == "chargebee" else upserts_po
                    commands.append(await send(target, upsert.key, upsert.to_bytes()))
                for letter in result.dead_letters:
                    reports_sent.append(await send(deadletters, change.key, letter.to_bytes()))
                for item in result.actions:
                    reports_sent.append(await send(actions, change.key, item.to_bytes()))
                for future in commands:
                    metadata = await future
                    runtime.record_sent(metadata.topic, metadata.partition, metadata.offset)
                for future in reports_sent:
                    await future
                staged_links.commit()
                staged_reports.commit()
            if result.dropped:
                log.debug("%s %s: %s", change.record_key, change.op, result.dropped)
            runtime.record_done(message.topic, message.partition, message.offset)

    async def write(upsert: Upsert) -> SinkResult:
        connection = clients.get(upsert.connection)
        if connection is None:
            log.error("upsert for unknown connection %r skipped", upsert.connection)
            return SinkResult(skipped="unknown connection")
        if upsert.target == "chargebee":
            return await sinks.to_chargebee(upsert, connection.chargebee)
        return await sinks.to_poweroffice(upsert, connection.poweroffice)

    async def sink_loop(stream: Any, system: str) -> None:
        async for event in stream.events():
            message = event.message
            upsert = Upsert.from_bytes(event.value)
            result = await _until_done(
                f"{system} write for {upsert.left_key}", functools.partial(write, upsert)
            )
            if result.counter is not None:
                back = upserts_cb if result.counter.target == "chargebee" else upserts_po
                metadata = await (await send(back, result.counter.key, result.counter.to_bytes()))
                runtime.record_sent(metadata.topic, metadata.partition, metadata.offset)
            if result.dead_letter is not None:
                await (await send(deadletters, upsert.key, result.dead_letter.to_bytes()))
            if result.action is not None:
                await (await send(actions, upsert.key, result.action.to_bytes()))
            if result.wrote:
                log.info(
                    "%s: wrote %s to %s",
                    upsert.left_key,
                    ", ".join(result.plan.write) if result.plan else "",
                    system,
                )
            runtime.record_done(message.topic, message.partition, message.offset)

    @app.agent(upserts_cb, name="ledgerlink.sink.chargebee")
    async def sink_chargebee(stream: Any) -> None:
        await sink_loop(stream, "chargebee")

    @app.agent(upserts_po, name="ledgerlink.sink.poweroffice")
    async def sink_poweroffice(stream: Any) -> None:
        await sink_loop(stream, "poweroffice")

    async def poll() -> None:
        # Per connection, business entities first: a company or department whose entity
        # is already known links at once, instead of raising an action item that is
        # resolved seconds later.
        sources: dict[str, list[ChangeSource]] = {
            conn: [
                BusinessEntityChangeSource(api.chargebee),
                *poweroffice_sources(api.poweroffice),
                CustomerChangeSource(api.chargebee),
            ]
            for conn, api in clients.items()
        }
        deletions = {
            conn: DeletionWatch(api.poweroffice, settings.cursor_dir, conn)
            for conn, api in clients.items()
        }
        publisher = TrackingPublisher(
            settings.kafka_bootstrap_servers,
            names.changes,
            runtime,
            on_published=lambda event: deletions[event.connection].saw(event),
        )
        await publisher.start()
        store = CursorStore(settings.cursor_dir)
        next_reconcile = 0.0
        try:
            while True:
                quiet = True
                reconcile = time.monotonic() >= next_reconcile
                for conn, conn_sources in sources.items():
                    results = await poll_cycle(
                        conn_sources, connection=conn, store=store, sink=publisher
                    )
                    runtime.record_polls(conn, results, at_ms=now_ms())
                    quiet = quiet and len(results) == len(conn_sources)
                    quiet = quiet and all(r.published == 0 for r in results)
                    if reconcile:
                        try:
                            deleted = await deletions[conn].check(
                                publisher, now_ticks=time.time_ns() // 100
                            )
                            quiet = quiet and deleted == 0
                        except (TransientApiError, PublishError) as exc:
                            log.warning("%s: looking for deleted records failed: %s", conn, exc)
                            quiet = False
                            reconcile = False
                if reconcile:
                    next_reconcile = time.monotonic() + settings.reconcile_interval
                runtime.record_cycle(quiet=quiet)
                await asyncio.sleep(settings.poll_interval)
        finally:
            await publisher.stop()
            for api in clients.values():
                await api.aclose()

    app.task(poll)

    def _connection(web: Any, request: Any) -> tuple[str | None, Any]:
        conn = request.query.get("connection") or settings.connection_id
        if conn not in clients:
            known = ", ".join(clients)
            return None, web.json(
                {"error": f"unknown connection {conn!r}; this worker serves {known}"},
                status=404,
            )
        return conn, None

    @app.page("/ledgerlink/status")
    async def status_page(web: Any, request: Any) -> Any:
        conn, refused = _connection(web, request)
        if conn is None:
            return refused
        return web.json(
            status_view(
                connection=conn,
                flow_names=flow_map,
                links=links.links(conn),
                actions=reports.actions(conn),
                dead_letters=len(reports.entries(conn, "dead-letter")),
                conflicts=len(reports.entries(conn, "conflict")),
                runtime=runtime,
            )
        )

    @app.page("/ledgerlink/links")
    async def links_page(web: Any, request: Any) -> Any:
        conn, refused = _connection(web, request)
        if conn is None:
            return refused
        return web.json(links_view(links.links(conn)))

    return engine


class TrackingPublisher(ChangePublisher):
    """Publishes change events, remembering their offsets for the convergence check and
    showing each event to ``on_published`` (the deletion watch learns ids from them)."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        runtime: Runtime,
        *,
        on_published: Callable[[ChangeEvent], None],
    ) -> None:
        super().__init__(bootstrap_servers, topic)
        self._runtime = runtime
        self._on_published = on_published

    def on_acknowledged(self, partition: int, offset: int) -> None:
        self._runtime.record_sent(self.topic, partition, offset)

    async def publish(self, events: Sequence[ChangeEvent]) -> None:
        await super().publish(events)
        for event in events:
            self._on_published(event)
